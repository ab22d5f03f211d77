//! End-of-run accounting: what the world hands to the summary.

use super::books::Shared;
use super::workload_side::judge_pending_changes;
use super::World;
use crate::summary::{
    AuthFailures, AuthSummary, ChangeJson, Convergence, Incident, KeyEvent, MetricsSummary,
    RolloutJson, WaveJson,
};
use cascade_sim::Sim;
use cascade_sim::SimTime;

impl World {
    /// Closes the books at the end of the run.
    pub fn finish(&mut self, sim: &mut Sim<super::Ev>) {
        let now = sim.now();
        let mut sh = Shared {
            cfg: &self.cfg,
            plant: &mut self.plant,
            books: &mut self.books,
            sim,
        };
        self.fleet.wake_all_at_end(&mut sh, now);
        self.fleet.tallies.verify(&self.fleet.agents, sh.plant);
        judge_pending_changes(&mut sh, &self.fleet.agents, now);
        // I8: the recovery script's attempts stay within its retry budget.
        let st = self.response.recovery.stats();
        if let Some(v) = crate::checks::recovery_within_budget(
            st.attempts,
            st.admitted,
            self.cfg.recovery.retries_max,
        ) {
            self.books.findings.add(v.at(sim.now(), None));
        }
    }

    /// The narrative, in time order.
    pub fn key_events(&self) -> Vec<KeyEvent> {
        let mut v: Vec<&(cascade_sim::SimTime, String)> = self.books.key_events.iter().collect();
        v.sort_by_key(|(t, _)| *t);
        v.into_iter()
            .map(|(t, what)| KeyEvent {
                at: self.epoch.format(*t),
                what: what.clone(),
            })
            .collect()
    }

    /// Fills the parts of the summary only the world knows.
    pub fn fill_summary(&self, m: &mut MetricsSummary) {
        let e = self.epoch;
        for inc in self.response.responder.incidents() {
            let ttd = inc.detected_at.map(|d| (d - inc.started_at).as_secs_f64());
            let hotfix_h = match (inc.hotfix_started_at, self.response.rollout.completed_at()) {
                (Some(s), Some(c)) if c >= s => Some((c - s).as_secs_f64() / 3_600.0),
                _ => None,
            };
            m.incidents.push(Incident {
                kind: inc.cause.name().into(),
                number: inc.id + 1,
                started_at: e.format(inc.started_at),
                detected_at: inc.detected_at.map(|t| e.format(t)),
                time_to_detect_s: ttd,
                detected_by: inc.detected_by.map(|d| d.name().to_string()),
                mitigated_at: inc.mitigated_at.map(|t| e.format(t)),
                time_to_mitigate_s: inc.mitigated_at.map(|t| (t - inc.started_at).as_secs_f64()),
                last_loss_at: inc.last_loss_at.map(|t| e.format(t)),
                clusters_affected: inc.clusters_affected,
                restore_completed_at: inc.restore_completed_at.map(|t| e.format(t)),
                restore_hours_after_detection: match (inc.detected_at, inc.restore_completed_at) {
                    (Some(d), Some(r)) => Some((r - d).as_secs_f64() / 3_600.0),
                    _ => None,
                },
                projected_manual_hours: inc.projected_manual_hours,
                hotfix_rollout_hours: hotfix_h,
                converge: self
                    .books
                    .metrics
                    .convergence_watches
                    .iter()
                    .find(|w| w.incident == inc.id)
                    .map(|w| {
                        Convergence::of(
                            e.format(w.healed_at),
                            w.converged_after_s.clone(),
                            w.pending.len() as u32,
                        )
                    }),
            });
        }
        for r in self.response.changes.log() {
            m.changes_applied.push(ChangeJson {
                id: self
                    .response
                    .change_names
                    .get(r.id as usize - 1)
                    .cloned()
                    .unwrap_or_else(|| r.description.clone()),
                target: r.target.name().into(),
                applied_to: r.env.name().into(),
                emergency: r.emergency,
                leaked: r.leaked,
                during_freeze: r.during_freeze,
                at: e.format(r.at),
            });
        }
        if let Some(start) = self.response.rollout.started_at() {
            m.rollouts.push(RolloutJson {
                started_at: e.format(start),
                emergency: self.response.rollout.emergency(),
                waves: self
                    .response
                    .rollout
                    .waves()
                    .iter()
                    .map(|w| WaveJson {
                        wave: w.wave,
                        clusters: w.clusters.len() as u32,
                        started_at: e.format(w.started),
                    })
                    .collect(),
                completed_at: self.response.rollout.completed_at().map(|t| e.format(t)),
                halted: self.response.rollout.is_halted(),
                halted_by: self
                    .response
                    .rollout
                    .halted_by()
                    .filter(|_| self.response.rollout.is_halted())
                    .map(|c| c.describe()),
                upgraded: self.response.rollout.upgraded() as u32,
            });
        }
        self.fill_auth_summary(m);
    }

    pub(super) fn fill_auth_summary(&self, m: &mut MetricsSummary) {
        let b = &self.auth.book;
        let e = self.epoch;
        for (h, (ok, d)) in &b.hours {
            let ratio = if *d == 0 { 1.0 } else { *ok as f64 / *d as f64 };
            m.auth_legit_success_ratio_by_hour
                .insert(e.hour(SimTime::from_secs(h * 3_600)), ratio);
        }
        let t = self.auth.system.totals();
        let decided: u64 = b.minutes.iter().map(|x| x.legit_decided as u64).sum();
        let ok: u64 = b.minutes.iter().map(|x| x.legit_ok as u64).sum();
        let run_days = (b.minutes.len() as f64 / 1_440.0).max(1e-9);
        // Budget of a 30-day window, scaled from this run's request volume.
        let budget_30d = (1.0 - self.cfg.monitoring.slo_target) * decided as f64 * 30.0 / run_days;
        m.auth = AuthSummary {
            legit_attempts: t.legit_attempts,
            legit_ok: t.legit_ok,
            legit_success_ratio: if decided == 0 {
                1.0
            } else {
                ok as f64 / decided as f64
            },
            vendor_429: t.vendor_429,
            shed: b.shed,
            timeouts: b.timeouts,
            latency_p99_ms_max: b.latency_p99_ms_max,
            replicas_max: b.replicas_max,
            retry_amplification: self.auth.system.retry_amplification(),
            autoscaler_flaps_per_hour_max: b.flaps_per_hour_max,
            slo_budget_spent_ratio: if budget_30d > 0.0 {
                (decided - ok) as f64 / budget_30d
            } else {
                0.0
            },
            burn_rate_alerts: b
                .alerts
                .iter()
                .map(|(t, w)| format!("{} {w}", e.format(*t)))
                .collect(),
            replicas_pending_max: b.replicas_pending_max,
            nodes_max: b.nodes_max,
            failures: b
                .failures_by_day
                .values()
                .fold(AuthFailures::default(), |mut a, f| {
                    a.add(f);
                    a
                }),
            failures_by_day: b
                .failures_by_day
                .iter()
                .map(|(d, f)| (e.date(SimTime::from_secs(d * 86_400)), *f))
                .collect(),
            bot_client_limited: b.bot_client_limited,
        };
        for (k, inc) in self.response.monitoring.auth_incidents().iter().enumerate() {
            m.incidents.push(Incident {
                kind: "auth".into(),
                number: k as u32 + 1,
                started_at: e.format(inc.started_at),
                detected_at: inc.detected_at.map(|t| e.format(t)),
                time_to_detect_s: inc.detected_at.map(|t| (t - inc.started_at).as_secs_f64()),
                detected_by: inc.detected_by.map(|d| d.name().to_string()),
                mitigated_at: inc.ended_at.map(|t| e.format(t)),
                time_to_mitigate_s: inc.ended_at.map(|t| (t - inc.started_at).as_secs_f64()),
                ..Incident::default()
            });
        }
        // Surfaces: mean unavailable minutes per customer.
        let surfaces = crate::summary::Surface::ALL.map(|s| s.name());
        let clouds = ["aws", "gcp", "azure", "all"];
        let per_cloud = self.auth.customers_per_cloud;
        let total_customers: u32 = per_cloud.iter().sum();
        for (day, rows) in &b.surface_minutes {
            let date = e.date(SimTime::from_secs(day * 86_400));
            for (s, row) in rows.iter().enumerate() {
                for (k, v) in row.iter().enumerate() {
                    let n = if k == 3 {
                        total_customers
                    } else {
                        per_cloud[k]
                    };
                    let mean = if n == 0 { 0.0 } else { v / n as f64 };
                    m.surface_unavailable_minutes_by_day
                        .entry(date.clone())
                        .or_default()
                        .entry(surfaces[s].to_string())
                        .or_default()
                        .insert(clouds[k].to_string(), mean);
                    *m.surface_unavailable_minutes
                        .entry(surfaces[s].to_string())
                        .or_default()
                        .entry(clouds[k].to_string())
                        .or_insert(0.0) += mean;
                }
            }
        }
        m.incidents.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    }
}
