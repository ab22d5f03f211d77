//! End-of-run accounting: what the world hands to the summary.

use super::World;
use crate::summary::{
    ChangeJson, Convergence, Incident, KeyEvent, MetricsSummary, RolloutJson, WaveJson,
};
use cascade_sim::Sim;

impl World {
    /// Closes the books at the end of the run.
    pub fn finish(&mut self, sim: &mut Sim<super::Ev>) {
        self.wake_all_at_end(sim.now());
        self.verify_tallies();
        self.judge_pending_changes(sim.now());
        // I8: the recovery script's attempts stay within its retry budget.
        let st = self.recovery.stats();
        if let Some(v) = crate::checks::recovery_within_budget(
            st.attempts,
            st.admitted,
            self.cfg.recovery.retries_max,
        ) {
            self.findings.add(v.at(sim.now(), None));
        }
    }

    /// The narrative, in time order.
    pub fn key_events(&self) -> Vec<KeyEvent> {
        let mut v: Vec<&(cascade_sim::SimTime, String)> = self.key_events.iter().collect();
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
        for inc in self.responder.incidents() {
            let ttd = inc.detected_at.map(|d| (d - inc.started_at).as_secs_f64());
            let hotfix_h = match (inc.hotfix_started_at, self.rollout.completed_at()) {
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
        for r in self.changes.log() {
            m.changes_applied.push(ChangeJson {
                id: self
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
        if let Some(start) = self.rollout.started_at() {
            m.rollouts.push(RolloutJson {
                started_at: e.format(start),
                emergency: self.rollout.emergency(),
                waves: self
                    .rollout
                    .waves()
                    .iter()
                    .map(|w| WaveJson {
                        wave: w.wave,
                        clusters: w.clusters.len() as u32,
                        started_at: e.format(w.started),
                    })
                    .collect(),
                completed_at: self.rollout.completed_at().map(|t| e.format(t)),
                halted: self.rollout.is_halted(),
                halted_by: self
                    .rollout
                    .halted_by()
                    .filter(|_| self.rollout.is_halted())
                    .map(|c| c.describe()),
                upgraded: self.rollout.upgraded() as u32,
            });
        }
        self.fill_auth_summary(m);
    }
}
