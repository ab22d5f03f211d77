//! End-of-run accounting: closing the books, and the typed [`Outcome`]
//! the world hands to verdicts and reports.
//!
//! Owns nothing: `World::finish` and `World::outcome` (in `mod.rs`) call
//! the two entry points here, which read each part's state through the
//! part; each helper is handed only the part it reads.

use super::books::Shared;
use super::response::Response;
use super::workload_side::judge_pending_changes;
use super::World;
use crate::metrics::Metrics;
use crate::model::monitoring::Monitoring;
use crate::model::rollout::Rollout;
use crate::outcome::{
    AppliedChange, Convergence, CustomerChanges, FindingsOutcome, Incident, IncidentKind,
    LateChange, Latency, NotConvergedReason, Outcome, Percentiles, RolloutOutcome, RolloutWave,
};
use cascade_sim::{RunOutcome, Sim};
use std::collections::BTreeMap;

/// Closes the books at the end of the run.
pub(super) fn finish(w: &mut World, sim: &mut Sim<super::Ev>) {
    let now = sim.now();
    let mut sh = Shared {
        cfg: &w.cfg,
        plant: &mut w.plant,
        books: &mut w.books,
        sim,
    };
    w.fleet.wake_all_at_end(&mut sh, now);
    w.fleet.tallies.verify(&w.fleet.agents, sh.plant);
    judge_pending_changes(&mut sh, &w.fleet.agents, now);
    // I8: the recovery script's attempts stay within its retry budget.
    let st = w.response.recovery.stats();
    let rc = &w.cfg.recovery;
    if let Some(v) = crate::checks::recovery_within_budget(
        st.attempts,
        st.throttled,
        st.admitted,
        rc.retries_max,
        rc.throttles_max,
    ) {
        w.books.findings.add(v.at(now, None));
    }
}

/// What the finished run shows; `run`: how the simulation stopped.
pub(super) fn build(w: &World, run: RunOutcome) -> Outcome {
    let m = &w.books.metrics;
    let clusters = w.plant.fleet.len() as u32;
    let mut key_events = w.books.key_events.clone();
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
    let mut incidents = pool_incidents(&w.response, &w.books.metrics);
    incidents.extend(auth_incidents(&w.response.monitoring));
    incidents.sort_by_key(|i| i.started_at);
    Outcome {
        epoch: w.epoch,
        run,
        clusters,
        findings: FindingsOutcome {
            total: w.books.findings.total(),
            by_rule: w.books.findings.by_rule.clone(),
            // In time order: a quiet auth span's sync is judged ahead of
            // the clock (world/auth_side.rs), so it may be kept before a
            // finding of an earlier instant.
            first: {
                let mut first: Vec<_> = w.books.findings.kept.iter().collect();
                first.sort_by_key(|f| f.at);
                first.into_iter().take(20).cloned().collect()
            },
        },
        key_events,
        clusters_lost_pools_by_day: m.clusters_lost_pools_by_day.clone(),
        clusters_lost_pools_total: m.episodes.len() as u32,
        first_pool_loss_at: m.episodes.first().map(|e| e.lost_at),
        lost_pools_peak: m.lost_per_minute.iter().copied().max().unwrap_or(0),
        lost_pool_cluster_hours: m.lost_per_minute.iter().map(|&x| x as f64).sum::<f64>() / 60.0,
        down_cluster_hours: m.down_per_minute.iter().map(|&x| x as f64).sum::<f64>() / 60.0,
        clusters_not_converged_at_end: (0..clusters).filter(|&c| !w.converged(c)).count() as u32,
        not_converged_by_reason: not_converged_by_reason(w),
        coverage: w.books.coverage.by_name(),
        settle: m.settle_watch.as_ref().map(|w| {
            Convergence::of(
                w.healed_at,
                w.converged_after_s.clone(),
                w.pending.len() as u32,
            )
        }),
        surface_unavailable_minutes_by_day: w.auth.surface_unavailable_minutes(w.epoch),
        incidents,
        restore_by_method: restore
            .into_iter()
            .map(|(k, v)| (k, Percentiles::of(v)))
            .collect(),
        changes_applied: changes_applied(&w.response),
        rollouts: rollout_outcome(&w.response.rollout).into_iter().collect(),
        auth: w.auth.auth_outcome(w.epoch, &w.cfg),
        blocked_by_guard: m.blocked_by_guard.nonzero().collect(),
        answers: m.answers.iter().filter(|&(_, n)| n > 0).collect(),
        agents_died: m.agents_died,
        holds_entered: m.holds_entered,
        agents_in_hold_at_end: w
            .fleet
            .agents
            .iter()
            .filter(|a| a.is_alive() && a.in_hold())
            .count() as u32,
        cloud_rate_limited_calls: w.plant.cloud.rate_limited_calls,
        customer_changes: customer_changes(&w.books.metrics),
    }
}

/// Clusters not fully converged at the end, per reason.
fn not_converged_by_reason(w: &World) -> BTreeMap<NotConvergedReason, u32> {
    let mut by = BTreeMap::new();
    for c in 0..w.plant.fleet.len() as u32 {
        let n = w.convergence(c);
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
fn pool_incidents(response: &Response, metrics: &Metrics) -> Vec<Incident> {
    let rollout_done = response.rollout.completed_at();
    response
        .responder
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
            converge: metrics
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
fn changes_applied(response: &Response) -> Vec<AppliedChange> {
    response
        .changes
        .log()
        .iter()
        .map(|r| AppliedChange {
            id: response
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
fn rollout_outcome(r: &Rollout) -> Option<RolloutOutcome> {
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
fn customer_changes(metrics: &Metrics) -> CustomerChanges {
    let changes = &metrics.changes;
    let mut by_kind: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut out = CustomerChanges {
        issued: changes.len() as u32,
        ..CustomerChanges::default()
    };
    for ch in changes {
        match (ch.carried_at.get(), ch.superseded) {
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
            carried_at: ch.carried_at.get(),
            collect,
            collected_at: ch.collected_at.get(),
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

/// Monitoring's auth incidents, numbered among themselves.
fn auth_incidents(monitoring: &Monitoring) -> Vec<Incident> {
    monitoring
        .auth_incidents()
        .iter()
        .enumerate()
        .map(|(k, inc)| Incident {
            detected_at: inc.detected_at,
            detected_by: inc.detected_by,
            mitigated_at: inc.ended_at,
            ..Incident::new(IncidentKind::Auth, k as u32 + 1, inc.started_at)
        })
        .collect()
}
