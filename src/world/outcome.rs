//! End-of-run accounting: closing the books, and the typed [`Outcome`]
//! the world hands to verdicts and reports.

use super::World;
use crate::outcome::{
    AppliedChange, Convergence, CustomerChanges, FindingsOutcome, Incident, IncidentKind,
    LateChange, Latency, NotConvergedReason, Outcome, Percentiles, RolloutOutcome, RolloutWave,
};
use cascade_sim::{RunOutcome, Sim};
use std::collections::BTreeMap;

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

    /// What the finished run shows; `run`: how the simulation stopped.
    pub fn outcome(&self, run: RunOutcome) -> Outcome {
        let m = &self.metrics;
        let clusters = self.plant.fleet.len() as u32;
        let mut key_events = self.key_events.clone();
        key_events.sort_by_key(|(t, _)| *t);
        let mut restore: BTreeMap<_, Vec<f64>> = BTreeMap::new();
        for e in &m.episodes {
            if let (Some(done), Some(method)) = (e.restored_at, e.method) {
                restore
                    .entry(method)
                    .or_default()
                    .push((done - e.lost_at).as_secs_f64());
            }
        }
        let mut incidents = self.pool_incidents();
        incidents.extend(self.auth_incidents());
        incidents.sort_by_key(|i| i.started_at);
        Outcome {
            epoch: self.epoch,
            run,
            clusters,
            findings: FindingsOutcome {
                total: self.findings.total(),
                by_rule: self.findings.by_rule.clone(),
                first: self.findings.kept.iter().take(20).cloned().collect(),
            },
            key_events,
            clusters_lost_pools_by_day: m.clusters_lost_pools_by_day.clone(),
            clusters_lost_pools_total: m.episodes.len() as u32,
            first_pool_loss_at: m.episodes.first().map(|e| e.lost_at),
            lost_pools_peak: m.lost_per_minute.iter().copied().max().unwrap_or(0),
            lost_pool_cluster_hours: m.lost_per_minute.iter().map(|&x| x as f64).sum::<f64>()
                / 60.0,
            down_cluster_hours: m.down_per_minute.iter().map(|&x| x as f64).sum::<f64>() / 60.0,
            clusters_not_converged_at_end: (0..clusters).filter(|&c| !self.converged(c)).count()
                as u32,
            not_converged_by_reason: self.not_converged_by_reason(),
            coverage: self.coverage.by_name(),
            settle: m.settle_watch.as_ref().map(|w| {
                Convergence::of(
                    w.healed_at,
                    w.converged_after_s.clone(),
                    w.pending.len() as u32,
                )
            }),
            surface_unavailable_minutes_by_day: self.surface_unavailable_minutes(),
            incidents,
            restore_by_method: restore
                .into_iter()
                .map(|(k, v)| (k, Percentiles::of(v)))
                .collect(),
            changes_applied: self.changes_applied(),
            rollouts: self.rollout_outcome().into_iter().collect(),
            auth: self.auth_outcome(),
            blocked_by_guard: m.blocked_by_guard.nonzero().collect(),
            answers: m.answers.iter().filter(|&(_, n)| n > 0).collect(),
            agents_died: m.agents_died,
            holds_entered: m.holds_entered,
            agents_in_hold_at_end: self
                .agents()
                .iter()
                .filter(|a| a.is_alive() && a.in_hold())
                .count() as u32,
            cloud_rate_limited_calls: self.plant.cloud.rate_limited_calls,
            customer_changes: self.customer_changes(),
        }
    }

    /// Clusters not fully converged at the end, per reason.
    fn not_converged_by_reason(&self) -> BTreeMap<NotConvergedReason, u32> {
        let mut by = BTreeMap::new();
        for c in 0..self.plant.fleet.len() as u32 {
            let n = self.convergence(c);
            for (why, miss) in [
                (NotConvergedReason::Pools, n.pools),
                (NotConvergedReason::AgentDown, n.agent_down),
                (NotConvergedReason::InHold, n.in_hold),
                (NotConvergedReason::StaleGeneration, n.stale_generation),
                (NotConvergedReason::LastPollFailed, n.last_poll_failed),
            ] {
                if miss {
                    *by.entry(why).or_insert(0) += 1;
                }
            }
        }
        by
    }

    /// The responders' incidents.
    fn pool_incidents(&self) -> Vec<Incident> {
        let rollout_done = self.rollout.completed_at();
        self.responder
            .incidents()
            .iter()
            .map(|inc| Incident {
                detected_at: inc.detected_at,
                detected_by: inc.detected_by,
                mitigated_at: inc.mitigated_at,
                last_loss_at: inc.last_loss_at,
                clusters_affected: inc.clusters_affected,
                restore_completed_at: inc.restore_completed_at,
                projected_manual_hours: inc.projected_manual_hours,
                hotfix_rollout_hours: match (inc.hotfix_started_at, rollout_done) {
                    (Some(s), Some(c)) if c >= s => Some((c - s).as_secs_f64() / 3_600.0),
                    _ => None,
                },
                converge: self
                    .metrics
                    .convergence_watches
                    .iter()
                    .find(|w| w.incident == inc.id)
                    .map(|w| {
                        Convergence::of(
                            w.healed_at,
                            w.converged_after_s.clone(),
                            w.pending.len() as u32,
                        )
                    }),
                ..Incident::new(IncidentKind::Pool(inc.cause), inc.id + 1, inc.started_at)
            })
            .collect()
    }

    /// Change management's log, each change by the name the timeline gave it.
    fn changes_applied(&self) -> Vec<AppliedChange> {
        self.changes
            .log()
            .iter()
            .map(|r| AppliedChange {
                id: self
                    .change_names
                    .get(r.id as usize - 1)
                    .cloned()
                    .unwrap_or_else(|| r.description.clone()),
                target: r.target,
                applied_to: r.env,
                emergency: r.emergency,
                leaked: r.leaked,
                during_freeze: r.during_freeze,
                at: r.at,
            })
            .collect()
    }

    /// The agent fix's rollout, if one started.
    fn rollout_outcome(&self) -> Option<RolloutOutcome> {
        let r = &self.rollout;
        Some(RolloutOutcome {
            started_at: r.started_at()?,
            emergency: r.emergency(),
            waves: r
                .waves()
                .iter()
                .map(|w| RolloutWave {
                    wave: w.wave,
                    clusters: w.clusters.len() as u32,
                    started_at: w.started,
                })
                .collect(),
            completed_at: r.completed_at(),
            halted: r.is_halted(),
            halted_by: r.halted_by().filter(|_| r.is_halted()),
            upgraded: r.upgraded() as u32,
        })
    }

    /// The customers' changes, from the world's books.
    fn customer_changes(&self) -> CustomerChanges {
        let changes = &self.metrics.changes;
        let mut by_kind: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
        let mut out = CustomerChanges {
            issued: changes.len() as u32,
            ..CustomerChanges::default()
        };
        for ch in changes {
            match (ch.carried_at, ch.superseded) {
                (Some(at), _) => {
                    out.carried_out += 1;
                    by_kind
                        .entry(ch.kind.name())
                        .or_default()
                        .push((at - ch.issued_at).as_secs_f64());
                }
                (None, true) => out.superseded += 1,
                (None, false) => out.pending_at_end += 1,
            }
            if ch.collected_at.is_some() {
                out.collected += 1;
            }
            let late = |collect| LateChange {
                cluster: ch.cluster,
                pool: ch.pool,
                kind: ch.kind,
                issued_at: ch.issued_at,
                carried_at: ch.carried_at,
                collect,
                collected_at: ch.collected_at,
            };
            if ch.collect_late {
                out.collect_late += 1;
                if out.first_late.len() < 20 {
                    out.first_late.push(late(true));
                }
            }
            if ch.late {
                out.late += 1;
                if out.first_late.len() < 20 {
                    out.first_late.push(late(false));
                }
            }
        }
        out.latency_by_kind = by_kind
            .into_iter()
            .map(|(k, v)| (k, Latency::of(v)))
            .collect();
        out
    }
}
