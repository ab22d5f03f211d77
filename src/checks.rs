//! Invariants I1 to I10 of the model spec, and I11 to I16 added by us: the pure predicates that both
//! tiers call (the fleet world as it runs, the wire tier's observer), and
//! the findings they produce.
//!
//! A violation is a [`Finding`] (time, cluster, rule, guard), never a crash:
//! the historical buggy agent violates I1 by design, and the report counts it.
//!
//! Where each rule is checked:
//! - I1 [`destructive_needs_authority`]: every delete or scale-to-zero an
//!   agent asks for (fleet world; wire observer).
//! - I2 [`BlastRadius`]: every delete the cloud accepts from a G5 agent.
//! - I3 [`protected_pool_kept`]: every delete the cloud completes.
//! - I4 [`generation_monotonic`]: every answer an agent acts on.
//! - I5 [`isolation_holds`], I6 [`freeze_holds`]: every applied change.
//! - I7 [`one_unbaked_wave`]: after every rollout step; [`bake_watched`]:
//!   every wave the rollout reports baked, against the start the driver saw.
//! - I8 [`RequestRate`]: every desired-state request; [`BackoffWatch`]:
//!   every request of a G1 and G7 agent after failed answers; and
//!   [`recovery_within_budget`] at the end of the run.
//! - I9 [`queue_bounded`]: once a simulated minute.
//! - I11 [`soft_delete_first`]: every delete a G8 agent asks for, against
//!   the cloud's listing of the pool.
//! - I12 [`confirmed_over_time`]: every delete or scale-to-zero a G4 agent
//!   asks for, against the answers the world gave its process (fleet
//!   world). Without it nothing any check could see depends on G4: an
//!   off-by-one in its confirmation would pass every other rule.
//! - I13 [`restore_into_broken_route`]: every pool the recovery script
//!   recreates (the model's script and a script process alike).
//! - I14 [`restore_undone`]: every delete or scale-to-zero an agent asks
//!   for, against the cluster's last restore (by hand or by the script)
//!   made while its route answered 404 with no authoritative answer since.
//!   Without it a restore into a broken route is invisible: the cluster is
//!   lost again, comes back after the route is reverted, and every other
//!   rule passes.
//! - I15 [`halted_on_alarm`]: every rollout alarm, after the controller
//!   handled it; [`halted_on_wave_health`]: every health check of a bake.
//! - I16 [`AutoscalerWatch`]: every sync of the auth autoscaler, against
//!   the world's own record of its recommendations and scale changes.
//! - I10 (every pool in exactly one state) holds by construction: a pool's
//!   state is one value of the `PoolState` enum, so there is nothing to check.
//!
//! Liveness rules, checked as expectations on the summary:
//! - L1 [`change_late`]: every customer change is carried out in the cloud
//!   within its deadline, counted from the change or from the end of a
//!   disturbance of the cluster plus a grace period (world's workload books;
//!   `customer_changes` expectation).
//! - L2 full convergence at the end ([`crate::plant::convergence`];
//!   `not_converged_at_end`).
//! - L3 [`change_late`] again: a customer's removal carried out by a soft
//!   delete (scaled to zero, G8) is finished only when the pool is really
//!   deleted, within the agent's grace period plus the removal's deadline
//!   (world's workload books; counted as late by the same
//!   `customer_changes` expectation). Without it an agent that never
//!   collects would pass every check: its scale-to-zero already counts as
//!   carrying the removal out.

use crate::model::agent::Guard;
use crate::model::change::Applied;
use crate::protocol::{ClusterId, PoolName, PoolSet};
use crate::types::Env;
use cascade_sim::{SimDuration, SimTime, SlidingCount, Stamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The invariants of the model spec, section 6. In files and summaries a
/// rule is its id (`"I1"`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Rule {
    /// I1: no destructive action without an authoritative answer and a delete intent.
    #[serde(rename = "I1")]
    I1DestructiveNeedsAuthority,
    /// I2: blast-radius caps hold.
    #[serde(rename = "I2")]
    I2BlastRadius,
    /// I3: protected pools are never absent while delete locks are on.
    #[serde(rename = "I3")]
    I3ProtectedPoolsKept,
    /// I4: applied generations never decrease.
    #[serde(rename = "I4")]
    I4GenerationMonotonic,
    /// I5: nothing aimed at staging is applied to prod with isolation on.
    #[serde(rename = "I5")]
    I5IsolationHolds,
    /// I6: only emergency changes are applied during a freeze.
    #[serde(rename = "I6")]
    I6FreezeHolds,
    /// I7: at most one rollout wave runs unbaked.
    #[serde(rename = "I7")]
    I7OneUnbakedWave,
    /// I8: retries stay within budget.
    #[serde(rename = "I8")]
    I8RetryBudget,
    /// I9: every queue is bounded.
    #[serde(rename = "I9")]
    I9QueuesBounded,
    /// I10: every pool is in exactly one state.
    #[serde(rename = "I10")]
    I10PoolStateUnique,
    /// I11: with soft delete (G8) on, a pool is deleted only once it runs
    /// no node (scaled to zero first), so that a wrong delete stays
    /// reversible for the grace period.
    #[serde(rename = "I11")]
    I11SoftDeleteFirst,
    /// I12: with confirmation (G4) on, a pool is removed only after the
    /// answers the agent acted on have not wanted it for the whole
    /// confirmation window, without a break.
    #[serde(rename = "I12")]
    I12ConfirmedOverTime,
    /// I13: the recovery script never recreates a pool of a cluster whose
    /// desired-state route answers 404 while the deployment listing shows
    /// its agent with the 404 bug: the agent would delete it again.
    #[serde(rename = "I13")]
    I13NoRestoreIntoBrokenRoute,
    /// I14: recovery work is not undone by the cause it recovers from: a
    /// pool a restore (by hand or by the script) recreated while the
    /// cluster's route answered 404 is not deleted again by its agent
    /// before any authoritative answer reached it.
    #[serde(rename = "I14")]
    I14RestoreNotUndone,
    /// I15: an alarm during any wave of a running rollout (started, not
    /// completed, not halted), or the health gate's own finding on the
    /// baking wave, halts it at once.
    #[serde(rename = "I15")]
    I15AlarmHaltsRollout,
    /// I16: the auth autoscaler keeps its own stabilisation: it never
    /// scales down below the highest recommendation of its scale-down
    /// window, nor up beyond its scale-up policy's limit or the lowest
    /// recommendation of its scale-up window.
    #[serde(rename = "I16")]
    I16AutoscalerStabilised,
}

impl Rule {
    /// Every rule, in id order.
    pub const ALL: [Rule; 16] = [
        Rule::I1DestructiveNeedsAuthority,
        Rule::I2BlastRadius,
        Rule::I3ProtectedPoolsKept,
        Rule::I4GenerationMonotonic,
        Rule::I5IsolationHolds,
        Rule::I6FreezeHolds,
        Rule::I7OneUnbakedWave,
        Rule::I8RetryBudget,
        Rule::I9QueuesBounded,
        Rule::I10PoolStateUnique,
        Rule::I11SoftDeleteFirst,
        Rule::I12ConfirmedOverTime,
        Rule::I13NoRestoreIntoBrokenRoute,
        Rule::I14RestoreNotUndone,
        Rule::I15AlarmHaltsRollout,
        Rule::I16AutoscalerStabilised,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::I1DestructiveNeedsAuthority => "I1",
            Rule::I2BlastRadius => "I2",
            Rule::I3ProtectedPoolsKept => "I3",
            Rule::I4GenerationMonotonic => "I4",
            Rule::I5IsolationHolds => "I5",
            Rule::I6FreezeHolds => "I6",
            Rule::I7OneUnbakedWave => "I7",
            Rule::I8RetryBudget => "I8",
            Rule::I9QueuesBounded => "I9",
            Rule::I10PoolStateUnique => "I10",
            Rule::I11SoftDeleteFirst => "I11",
            Rule::I12ConfirmedOverTime => "I12",
            Rule::I13NoRestoreIntoBrokenRoute => "I13",
            Rule::I14RestoreNotUndone => "I14",
            Rule::I15AlarmHaltsRollout => "I15",
            Rule::I16AutoscalerStabilised => "I16",
        }
    }
}

/// One invariant violation.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub at: SimTime,
    pub cluster: Option<ClusterId>,
    pub rule: Rule,
    /// The guard that would have prevented it, where one applies.
    pub guard: Option<Guard>,
    pub detail: String,
}

/// Findings collected during a run: every one counted, the first
/// `kept_max` kept in full (bounded memory however buggy the run).
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub kept: Vec<Finding>,
    pub by_rule: BTreeMap<Rule, u64>,
    pub kept_max: usize,
}

impl Findings {
    pub fn new(kept_max: usize) -> Self {
        Findings {
            kept: Vec::new(),
            by_rule: BTreeMap::new(),
            kept_max,
        }
    }

    pub fn add(&mut self, f: Finding) {
        *self.by_rule.entry(f.rule).or_insert(0) += 1;
        if self.kept.len() < self.kept_max {
            self.kept.push(f);
        }
    }

    pub fn total(&self) -> u64 {
        self.by_rule.values().sum()
    }

    pub fn count(&self, rule: Rule) -> u64 {
        self.by_rule.get(&rule).copied().unwrap_or(0)
    }
}

/// A violation before it is stamped with a time and a cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub rule: Rule,
    pub guard: Option<Guard>,
    pub detail: String,
}

impl Violation {
    pub fn at(self, at: SimTime, cluster: Option<ClusterId>) -> Finding {
        Finding {
            at,
            cluster,
            rule: self.rule,
            guard: self.guard,
            detail: self.detail,
        }
    }
}

/// I1: a delete (or scale to zero) of `pool` needs the last answer to be
/// authoritative (`last_answer_ok`) and to carry a delete intent for it.
pub fn destructive_needs_authority(
    pool: PoolName,
    last_answer_ok: bool,
    tombstones: PoolSet,
) -> Option<Violation> {
    if last_answer_ok && tombstones.contains(pool) {
        return None;
    }
    Some(Violation {
        rule: Rule::I1DestructiveNeedsAuthority,
        guard: Some(if last_answer_ok { Guard::G2 } else { Guard::G1 }),
        detail: format!(
            "delete of {pool} after {} without a delete intent",
            if last_answer_ok {
                "a 200"
            } else {
                "a non-authoritative answer"
            }
        ),
    })
}

/// I11: a G8 agent's delete of a pool that still runs `nodes` nodes skips
/// the soft delete (and its grace period).
pub fn soft_delete_first(pool: PoolName, nodes: u16, soft_delete: bool) -> Option<Violation> {
    (soft_delete && nodes > 0).then(|| Violation {
        rule: Rule::I11SoftDeleteFirst,
        guard: Some(Guard::G8),
        detail: format!("delete of {pool} while it runs {nodes} nodes: not scaled to zero first"),
    })
}

/// I13: the recovery script recreates `pool` of `cluster` while the edge
/// misroutes the cluster (its route answers 404: what the script's own
/// preflight probe would see) and its agent runs a version with the 404
/// bug. A verdict, so it may read the edge's routing table; the world's
/// decisions never do (`tests/harness/architecture.rs`).
pub fn restore_into_broken_route(
    pool: PoolName,
    edge: &crate::plant::control::Edge,
    cluster: ClusterId,
    agent_has_404_bug: bool,
) -> Option<Violation> {
    (agent_has_404_bug && edge.misroutes(cluster)).then(|| Violation {
        rule: Rule::I13NoRestoreIntoBrokenRoute,
        guard: None,
        detail: format!(
            "recovery script recreated {pool} while the route answered 404 to an agent with the 404 bug: it will be deleted again"
        ),
    })
}

/// A restore that recreated a pool while the cluster's route answered 404
/// (the edge misrouted it), kept until an authoritative answer reaches the
/// cluster's agent: until then, a delete by the agent undoes the restore
/// for the very cause it recovered from (I14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreIntoBrokenRoute {
    pub at: SimTime,
    pub method: crate::types::RestoreMethod,
    pub pool: PoolName,
}

/// I14's book of a restore: `Some` when the restore of `pool` by `method`
/// at `at` recreates it while the edge misroutes `cluster` (its route
/// answers 404). A verdict's book, so it may read the routing table.
pub fn restore_into_404(
    edge: &crate::plant::control::Edge,
    cluster: ClusterId,
    at: SimTime,
    method: crate::types::RestoreMethod,
    pool: PoolName,
) -> Option<RestoreIntoBrokenRoute> {
    edge.misroutes(cluster)
        .then_some(RestoreIntoBrokenRoute { at, method, pool })
}

/// I14: cluster `c`'s agent deletes (or scales to zero) `pool` at `now`
/// while `restore` (its last restore into a route answering 404, with no
/// authoritative answer since) stands: the recovery work was wasted, and
/// the cluster is lost again to the same cause.
pub fn restore_undone(
    pool: PoolName,
    restore: Option<RestoreIntoBrokenRoute>,
    now: SimTime,
) -> Option<Violation> {
    let r = restore?;
    Some(Violation {
        rule: Rule::I14RestoreNotUndone,
        guard: None,
        detail: format!(
            "agent removed {pool} {} after a {} restore recreated {} while the route answered 404: the restore was undone by the cause it recovered from",
            now.saturating_since(r.at),
            r.method.name(),
            r.pool
        ),
    })
}

/// I12: a G4 agent's delete or scale-to-zero of `pool` at `now`, when the
/// answers its process acted on have not wanted the pool since
/// `unwanted_since` (`None`: the last one wanted it), needs that run to
/// span `window`. Only the window is checked, not G4's observation count:
/// at the spec's figures (3 observations, 5 min, a poll a minute) the
/// window is what binds.
pub fn confirmed_over_time(
    pool: PoolName,
    unwanted_since: Option<SimTime>,
    now: SimTime,
    window: SimDuration,
) -> Option<Violation> {
    let run = unwanted_since.map(|t| now.saturating_since(t));
    if run.is_some_and(|r| r >= window) {
        return None;
    }
    Some(Violation {
        rule: Rule::I12ConfirmedOverTime,
        guard: Some(Guard::G4),
        detail: match run {
            Some(r) => format!(
                "removal of {pool} after {:.0} s of answers without it, window {:.0} s",
                r.as_secs_f64(),
                window.as_secs_f64()
            ),
            None => format!("removal of {pool} while the last answer wanted it"),
        },
    })
}

/// I2: accepted deletes by G5 agents across the fleet, in the last hour,
/// stay within the brake's cap.
#[derive(Clone, Debug)]
pub struct BlastRadius {
    cap: usize,
    recent: SlidingCount,
}

impl BlastRadius {
    pub fn new(deletes_per_hour_max: u32) -> Self {
        BlastRadius {
            cap: deletes_per_hour_max as usize,
            recent: SlidingCount::new(SimDuration::from_hours(1)),
        }
    }

    /// A G5 agent's delete was accepted at `now`.
    pub fn observe_delete(&mut self, now: SimTime) -> Option<Violation> {
        self.recent.push(now);
        let n = self.recent.count(now);
        (n > self.cap).then(|| Violation {
            rule: Rule::I2BlastRadius,
            guard: Some(Guard::G5),
            detail: format!("{n} deletes in the last hour, cap {}", self.cap),
        })
    }
}

/// I3: a protected pool must not disappear while delete locks are on.
pub fn protected_pool_kept(pool: PoolName, delete_locks: bool) -> Option<Violation> {
    (pool.is_protected() && delete_locks).then(|| Violation {
        rule: Rule::I3ProtectedPoolsKept,
        guard: Some(Guard::G6),
        detail: format!("{pool} deleted with delete locks on"),
    })
}

/// I4: the generation an agent has applied never decreases.
pub fn generation_monotonic(previous: u64, now: u64) -> Option<Violation> {
    (now < previous).then(|| Violation {
        rule: Rule::I4GenerationMonotonic,
        guard: Some(Guard::G3),
        detail: format!("generation {now} after {previous}"),
    })
}

/// I5: with isolation on, nothing meant for staging lands in prod.
pub fn isolation_holds<P>(change: &Applied<P>, name: &str, isolation: bool) -> Option<Violation> {
    (change.env == Env::Prod && change.leaked && isolation).then(|| Violation {
        rule: Rule::I5IsolationHolds,
        guard: None,
        detail: format!("change {name} meant for staging applied to prod with isolation on"),
    })
}

/// I6: during a prod freeze only emergency changes land in prod.
pub fn freeze_holds<P>(change: &Applied<P>, name: &str, frozen: bool) -> Option<Violation> {
    (change.env == Env::Prod && frozen && !change.emergency).then(|| Violation {
        rule: Rule::I6FreezeHolds,
        guard: None,
        detail: format!(
            "non-emergency change {name} applied to prod during the freeze{}",
            if change.leaked {
                " (meant for staging)"
            } else {
                ""
            }
        ),
    })
}

/// I7: at most one rollout wave runs unbaked (the rollout states its own
/// invariants; this turns a broken one into a finding).
pub fn one_unbaked_wave(rollout_invariants: Result<(), String>) -> Option<Violation> {
    rollout_invariants.err().map(|detail| Violation {
        rule: Rule::I7OneUnbakedWave,
        guard: None,
        detail,
    })
}

/// I7 as the driver sees it: a wave reported baked `baked_for` after its
/// bake started must have been watched for the whole bake time `bake`
/// (the rollout's own bookkeeping could be the thing that is wrong).
pub fn bake_watched(wave: u32, baked_for: SimDuration, bake: SimDuration) -> Option<Violation> {
    (baked_for < bake).then(|| Violation {
        rule: Rule::I7OneUnbakedWave,
        guard: None,
        detail: format!(
            "wave {wave} reported baked after {:.0} s of its {:.0} s bake",
            baked_for.as_secs_f64(),
            bake.as_secs_f64()
        ),
    })
}

/// I15: an alarm fired while the rollout was running (`running`: a wave
/// started, the rollout neither completed nor halted) in wave `wave`;
/// `halted` is whether the rollout is halted once the controller has
/// handled it. What an SRE calls a defect: a release that keeps going
/// after an alarm, in whichever wave, the canary above all (it exists to
/// stop a bad build at its first clusters). Whether the wave's clusters
/// were still being upgraded or already baking makes no difference: an
/// alarm stops the rollout either way (the model upgrades a wave in one
/// instant, so an alarm meets a wave baking). An alarm while no rollout
/// runs (none started, halted, completed) asks for nothing.
pub fn halted_on_alarm(running: bool, wave: u32, halted: bool) -> Option<Violation> {
    (running && !halted).then(|| Violation {
        rule: Rule::I15AlarmHaltsRollout,
        guard: None,
        detail: format!("an alarm during wave {wave} left the rollout running"),
    })
}

/// I15 for the health gate: the wave's health as the driver counted it
/// fails the gate's rule (at least `gate.0` cohort clusters turned
/// unhealthy, and a share at least `gate.1` above the baseline's), yet
/// the rollout is not halted after the controller saw it. A verdict,
/// so it restates the rule from the settings instead of asking the
/// controller.
pub fn halted_on_wave_health(
    h: &crate::model::rollout::WaveHealth,
    gate: (u32, f64),
    halted: bool,
) -> Option<Violation> {
    let failed = h.cohort_failed >= gate.0 && h.cohort_share() - h.baseline_share() >= gate.1;
    (failed && !halted).then(|| Violation {
        rule: Rule::I15AlarmHaltsRollout,
        guard: None,
        detail: format!(
            "the health gate saw {} of {} upgraded agents turn unhealthy (against {} of {} outside the wave) and the rollout kept going",
            h.cohort_failed, h.cohort, h.baseline_failed, h.baseline
        ),
    })
}

/// I8 for one agent under failure (G7): after `k` failed answers in a
/// row (an error, a timeout, a 404, or a 200 older than the generation
/// the agent reported it had applied), its next request waits at least
/// half of `backoff_base · 2^(k−1)`, capped at `backoff_max` (half: the
/// low end of the jitter). A backoff that the wrong answer resets, or no
/// backoff at all, asks again too soon. The book is the answers the
/// driver gave, not the agent's own counter.
#[derive(Clone, Copy, Debug, Default)]
pub struct BackoffWatch {
    failed_in_a_row: u32,
    last_failed_at: Stamp,
}

impl BackoffWatch {
    /// The agent acted on an answer at `now`.
    pub fn observe_answer(&mut self, now: SimTime, failed: bool) {
        if failed {
            self.failed_in_a_row = self.failed_in_a_row.saturating_add(1);
            self.last_failed_at = Stamp::at(now);
        } else {
            *self = BackoffWatch::default();
        }
    }

    /// A fresh process: its backoff starts over.
    pub fn restart(&mut self) {
        *self = BackoffWatch::default();
    }

    /// A request at `now`, G7's base and cap as given.
    pub fn observe_request(
        &self,
        now: SimTime,
        base: SimDuration,
        max: SimDuration,
    ) -> Option<Violation> {
        let at = self.last_failed_at.get()?;
        let k = self.failed_in_a_row;
        let backoff = base.mul_f64(f64::from(1u32 << (k - 1).min(16))).min(max);
        let least = backoff.mul_f64(0.5);
        (now.saturating_since(at) < least).then(|| Violation {
            rule: Rule::I8RetryBudget,
            guard: Some(Guard::G7),
            detail: format!(
                "request {:.2} s after {k} failed answers in a row: backoff at least {:.2} s",
                now.saturating_since(at).as_secs_f64(),
                least.as_secs_f64()
            ),
        })
    }
}

/// I8 for one agent: its desired-state requests stay within its rate
/// limit. One request early is jitter; ten in a row is a retry storm.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestRate {
    last: Stamp,
    fast_in_a_row: u32,
}

/// Requests in a row under half the spacing that make a finding.
const FAST_REQUESTS_IN_A_ROW: u32 = 10;

impl RequestRate {
    /// A request at `now`; `spacing` is the agent's rate limit as a gap.
    pub fn observe(&mut self, now: SimTime, spacing: SimDuration) -> Option<Violation> {
        let mut v = None;
        if let Some(last) = self.last.get() {
            if now.saturating_since(last) < spacing.mul_f64(0.5) {
                self.fast_in_a_row += 1;
                if self.fast_in_a_row == FAST_REQUESTS_IN_A_ROW {
                    v = Some(Violation {
                        rule: Rule::I8RetryBudget,
                        guard: Some(Guard::G7),
                        detail: format!(
                            "10 requests less than {:.0} s apart: retries beyond the rate limit",
                            spacing.as_secs_f64() / 2.0
                        ),
                    });
                }
            } else {
                self.fast_in_a_row = 0;
            }
        }
        self.last = Stamp::at(now);
        v
    }

    /// Requests, the last at `last`, each at least `spacing` after the one
    /// before (quiet polls skipped by the fast-forward): none was fast.
    pub fn skip_spaced_to(&mut self, last: SimTime) {
        self.last = Stamp::at(last);
        self.fast_in_a_row = 0;
    }
}

/// I8 for the recovery script: its attempts stay within its budget. An
/// attempt the cloud refused with a 429 is retried after a pause and
/// counts against the throttle budget (`throttles_max` per cluster, given
/// up past it), every other attempt against the retry budget (one attempt
/// and `retries_max` retries per cluster admitted).
pub fn recovery_within_budget(
    attempts: u64,
    throttled: u64,
    admitted: u64,
    retries_max: u32,
    throttles_max: u32,
) -> Option<Violation> {
    let budget = admitted * (1 + retries_max as u64);
    let throttle_budget = admitted * (1 + throttles_max as u64);
    let unthrottled = attempts.saturating_sub(throttled);
    let detail = if unthrottled > budget {
        format!("recovery script made {unthrottled} attempts the cloud did not throttle, budget {budget}")
    } else if throttled > throttle_budget {
        format!("recovery script made {throttled} throttled attempts, budget {throttle_budget}")
    } else {
        return None;
    };
    Some(Violation {
        rule: Rule::I8RetryBudget,
        guard: None,
        detail,
    })
}

/// L1: a customer change whose clock has run `elapsed_s` is late when that
/// exceeds its deadline.
pub fn change_late(elapsed_s: f64, deadline_s: f64) -> bool {
    elapsed_s > deadline_s
}

/// I9: a queue stays within its bound.
pub fn queue_bounded(what: &str, len: usize, max: usize) -> Option<Violation> {
    (len > max).then(|| Violation {
        rule: Rule::I9QueuesBounded,
        guard: None,
        detail: format!("{what} holds {len}, bound {max}"),
    })
}

/// I16: one autoscaler decision (`current` → `desired`) against the
/// bounds its configuration promises: a scale-down no lower than
/// `down_window_max` (the highest recommendation of the scale-down
/// window), a scale-up no higher than `up_limit` (the scale-up policy) nor
/// than `up_window_min` (the lowest recommendation of the scale-up window).
///
/// Why this and not "the replica count flaps": under load that swings
/// more slowly than the window, following it up and down is what an HPA is
/// for (the profile's `flaps_per_hour_max` bounds the rate as a liveness
/// figure). What an SRE pages on is a controller that breaks its own
/// contract: replicas removed while the window still holds a higher
/// recommendation are removed in every dip of an oscillation and missed at
/// the next crest, exactly what stabilisation exists to prevent.
pub fn autoscaler_decision_stable(
    current: u32,
    desired: u32,
    down_window_max: u32,
    up_window_min: u32,
    up_limit: u32,
) -> Option<Violation> {
    let detail = if desired < current && desired < down_window_max {
        format!(
            "scaled down {current} -> {desired} below the window's highest recommendation {down_window_max}"
        )
    } else if desired > current && desired > up_limit {
        format!("scaled up {current} -> {desired} beyond the policy's limit {up_limit}")
    } else if desired > current && desired > up_window_min {
        format!(
            "scaled up {current} -> {desired} beyond the up window's lowest recommendation {up_window_min}"
        )
    } else {
        return None;
    };
    Some(Violation {
        rule: Rule::I16AutoscalerStabilised,
        guard: None,
        detail,
    })
}

/// I16's watch over the auth autoscaler: the recommendations and scale
/// changes the world saw, kept for the longest window, from which it
/// computes the bounds of [`autoscaler_decision_stable`] itself, without
/// asking the autoscaler.
#[derive(Clone, Debug)]
pub struct AutoscalerWatch {
    cfg: crate::model::auth::AutoscalerConfig,
    /// (instant, recommendation) of recent syncs.
    recs: std::collections::VecDeque<(SimTime, u32)>,
    /// (instant, net change of replicas) of recent scale changes.
    changes: std::collections::VecDeque<(SimTime, i64)>,
}

impl AutoscalerWatch {
    pub fn new(cfg: &crate::model::auth::AutoscalerConfig) -> Self {
        AutoscalerWatch {
            cfg: cfg.clone(),
            recs: Default::default(),
            changes: Default::default(),
        }
    }

    /// Checks one sync and records it.
    pub fn observe(&mut self, s: &crate::model::auth::HpaSync) -> Option<Violation> {
        let c = &self.cfg;
        let secs = SimDuration::from_secs;
        let keep = secs(c.hpa_scale_down_window_s.max(c.hpa_scale_up_window_s));
        while self
            .recs
            .front()
            .is_some_and(|&(at, _)| s.at.saturating_since(at) >= keep)
        {
            self.recs.pop_front();
        }
        let period = secs(c.hpa_scale_up_period_s);
        while self
            .changes
            .front()
            .is_some_and(|&(at, _)| s.at.saturating_since(at) >= period)
        {
            self.changes.pop_front();
        }
        self.recs.push_back((s.at, s.recommendation));
        // Recommendations strictly after now − window (this one included).
        let within = |w: u64| {
            self.recs
                .iter()
                .filter(move |&&(at, _)| at == s.at || s.at.saturating_since(at) < secs(w))
                .map(|&(_, r)| r)
        };
        let down_max = within(c.hpa_scale_down_window_s).max().unwrap_or(0);
        let up_min = within(c.hpa_scale_up_window_s)
            .min()
            .unwrap_or(u32::MAX)
            .max(s.current);
        // The policy counts from the replicas at the period's start.
        let start = (i64::from(s.current) - self.changes.iter().map(|c| c.1).sum::<i64>()).max(0);
        let start = start as f64;
        let by_pods = start + f64::from(c.hpa_scale_up_pods);
        let by_factor = (start * c.hpa_scale_up_factor).ceil();
        let up_limit = by_pods.max(by_factor) as u32;
        if s.desired != s.current {
            self.changes
                .push_back((s.at, i64::from(s.desired) - i64::from(s.current)));
        }
        autoscaler_decision_stable(s.current, s.desired, down_max, up_min, up_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_all_lists_every_rule_once_in_id_order() {
        // An exhaustive match: a new rule does not compile until it is placed here.
        let position = |r: Rule| match r {
            Rule::I1DestructiveNeedsAuthority => 1,
            Rule::I2BlastRadius => 2,
            Rule::I3ProtectedPoolsKept => 3,
            Rule::I4GenerationMonotonic => 4,
            Rule::I5IsolationHolds => 5,
            Rule::I6FreezeHolds => 6,
            Rule::I7OneUnbakedWave => 7,
            Rule::I8RetryBudget => 8,
            Rule::I9QueuesBounded => 9,
            Rule::I10PoolStateUnique => 10,
            Rule::I11SoftDeleteFirst => 11,
            Rule::I12ConfirmedOverTime => 12,
            Rule::I13NoRestoreIntoBrokenRoute => 13,
            Rule::I14RestoreNotUndone => 14,
            Rule::I15AlarmHaltsRollout => 15,
            Rule::I16AutoscalerStabilised => 16,
        };
        let positions: Vec<u32> = Rule::ALL.into_iter().map(position).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        for r in Rule::ALL {
            assert_eq!(r.id(), format!("I{}", position(r)));
        }
    }

    #[test]
    fn a_restore_into_a_broken_route_is_undone_only_while_it_stands() {
        let at = SimTime::from_secs(100);
        let r = RestoreIntoBrokenRoute {
            at,
            method: crate::types::RestoreMethod::Manual,
            pool: PoolName::System,
        };
        let v = restore_undone(PoolName::Airflow, Some(r), SimTime::from_secs(700)).unwrap();
        assert_eq!(v.rule, Rule::I14RestoreNotUndone);
        assert!(v.detail.contains("10m"), "{}", v.detail);
        assert!(
            v.detail.contains("manual restore recreated system"),
            "{}",
            v.detail
        );
        assert_eq!(
            restore_undone(PoolName::Airflow, None, SimTime::from_secs(700)),
            None
        );
    }

    #[test]
    fn findings_are_counted_beyond_what_is_kept() {
        let mut f = Findings::new(2);
        for i in 0..5 {
            f.add(Finding {
                at: SimTime::from_secs(i),
                cluster: Some(i as u32),
                rule: Rule::I1DestructiveNeedsAuthority,
                guard: Some(Guard::G1),
                detail: String::new(),
            });
        }
        assert_eq!(f.kept.len(), 2);
        assert_eq!(f.count(Rule::I1DestructiveNeedsAuthority), 5);
        assert_eq!(f.total(), 5);
        assert_eq!(f.count(Rule::I5IsolationHolds), 0);
    }

    #[test]
    fn each_predicate_fails_on_its_violation_and_passes_otherwise() {
        let mut tomb = PoolSet::EMPTY;
        tomb.insert(PoolName::Worker(1));
        assert!(destructive_needs_authority(PoolName::Worker(1), true, tomb).is_none());
        let v = destructive_needs_authority(PoolName::System, false, tomb).unwrap();
        assert_eq!(
            (v.rule, v.guard),
            (Rule::I1DestructiveNeedsAuthority, Some(Guard::G1))
        );
        let v = destructive_needs_authority(PoolName::Airflow, true, tomb).unwrap();
        assert_eq!(v.guard, Some(Guard::G2));

        let mut b = BlastRadius::new(2);
        let t = SimTime::from_secs;
        assert!(b.observe_delete(t(0)).is_none());
        assert!(b.observe_delete(t(1)).is_none());
        assert_eq!(b.observe_delete(t(2)).unwrap().rule, Rule::I2BlastRadius);
        assert!(b.observe_delete(t(3_601)).is_none(), "an hour later");

        assert!(protected_pool_kept(PoolName::System, true).is_some());
        assert!(protected_pool_kept(PoolName::System, false).is_none());
        assert!(protected_pool_kept(PoolName::WorkerDefault, true).is_none());

        assert!(generation_monotonic(5, 4).is_some());
        assert!(generation_monotonic(5, 5).is_none());

        // I16: (current, desired, down window's max, up window's min, limit).
        assert!(autoscaler_decision_stable(10, 8, 8, 20, 20).is_none());
        assert!(autoscaler_decision_stable(10, 7, 8, 20, 20).is_some());
        assert!(autoscaler_decision_stable(10, 10, 12, 20, 20).is_none());
        assert!(autoscaler_decision_stable(4, 8, 3, 20, 8).is_none());
        assert!(autoscaler_decision_stable(4, 9, 3, 20, 8).is_some());
        assert!(autoscaler_decision_stable(4, 8, 3, 6, 8).is_some());
        // The watch: a policy period's start is the replicas before the
        // changes inside it (4 + 4 pods: 8; 8 then 9 breaks it).
        let mut w = AutoscalerWatch::new(&crate::model::auth::AutoscalerConfig::default());
        let sync = |at, current, recommendation, desired| crate::model::auth::HpaSync {
            at: t(at),
            current,
            recommendation,
            desired,
        };
        assert!(w.observe(&sync(15, 4, 20, 8)).is_none());
        let v = w.observe(&sync(30, 8, 20, 17)).unwrap();
        assert_eq!(v.detail, "scaled up 8 -> 17 beyond the policy's limit 8");
        assert!(w.observe(&sync(90, 17, 20, 20)).is_none(), "a new period");
        // Down: the window's highest (20, at 90 s) holds until 390 s.
        assert!(w.observe(&sync(375, 20, 3, 15)).is_some());
        assert!(w.observe(&sync(390, 20, 3, 3)).is_none());

        // I8 under failure: half of base · 2^(k−1), capped.
        let mut b = BackoffWatch::default();
        let (base, max) = (SimDuration::from_secs(10), SimDuration::from_secs(600));
        assert!(
            b.observe_request(t(1), base, max).is_none(),
            "no failure yet"
        );
        b.observe_answer(t(100), true);
        assert!(b.observe_request(t(105), base, max).is_none());
        assert!(b
            .observe_request(SimTime::from_micros(104_999_999), base, max)
            .is_some());
        b.observe_answer(t(105), true);
        b.observe_answer(t(115), true);
        // 3 in a row: at least 20 s after the last.
        assert!(b.observe_request(t(135), base, max).is_none());
        let v = b.observe_request(t(134), base, max).unwrap();
        assert_eq!((v.rule, v.guard), (Rule::I8RetryBudget, Some(Guard::G7)));
        assert_eq!(
            v.detail,
            "request 19.00 s after 3 failed answers in a row: backoff at least 20.00 s"
        );
        for k in 0..40 {
            b.observe_answer(t(200 + k), true);
        }
        assert!(
            b.observe_request(t(539), base, max).is_none(),
            "capped at 600 s"
        );
        assert!(b.observe_request(t(538), base, max).is_some());
        b.observe_answer(t(600), false);
        assert!(
            b.observe_request(t(600), base, max).is_none(),
            "a success resets it"
        );
        b.observe_answer(t(700), true);
        b.restart();
        assert!(
            b.observe_request(t(700), base, max).is_none(),
            "so does a restart"
        );

        // I12: the whole window, not a microsecond less.
        let w5 = SimDuration::from_secs(300);
        let p = PoolName::Worker(1);
        assert!(confirmed_over_time(p, Some(t(100)), t(400), w5).is_none());
        let v =
            confirmed_over_time(p, Some(t(100)), SimTime::from_micros(399_999_999), w5).unwrap();
        assert_eq!(
            (v.rule, v.guard),
            (Rule::I12ConfirmedOverTime, Some(Guard::G4))
        );
        assert_eq!(
            v.detail,
            "removal of worker-1 after 300 s of answers without it, window 300 s"
        );
        let v = confirmed_over_time(p, None, t(400), w5).unwrap();
        assert!(
            v.detail.ends_with("while the last answer wanted it"),
            "{}",
            v.detail
        );

        let leak = Applied {
            id: 1,
            env: Env::Prod,
            at: t(0),
            leaked: true,
            emergency: false,
            payload: (),
        };
        assert!(isolation_holds(&leak, "x", true).is_some());
        assert!(isolation_holds(&leak, "x", false).is_none());
        let v = freeze_holds(&leak, "x", true).unwrap();
        assert!(v.detail.ends_with("(meant for staging)"));
        let emergency = Applied {
            emergency: true,
            ..leak.clone()
        };
        assert!(freeze_holds(&emergency, "x", true).is_none());

        assert!(one_unbaked_wave(Err("2 waves".into())).is_some());
        assert!(one_unbaked_wave(Ok(())).is_none());
        let bake = SimDuration::from_secs(900);
        let v = bake_watched(2, SimDuration::from_secs(0), bake).unwrap();
        assert_eq!(v.rule, Rule::I7OneUnbakedWave);
        assert_eq!(
            v.detail,
            "wave 2 reported baked after 0 s of its 900 s bake"
        );
        assert!(bake_watched(2, bake, bake).is_none());

        let w = PoolName::Worker(1);
        let v = soft_delete_first(w, 3, true).unwrap();
        assert_eq!(
            (v.rule, v.guard),
            (Rule::I11SoftDeleteFirst, Some(Guard::G8))
        );
        assert!(soft_delete_first(w, 0, true).is_none());
        // Without G8 a direct delete is the design, not a violation.
        assert!(soft_delete_first(w, 3, false).is_none());

        let mut r = RequestRate::default();
        let spacing = SimDuration::from_secs(10);
        let found: Vec<bool> = (0..12)
            .map(|k| r.observe(t(k), spacing).is_some())
            .collect();
        // The 11th request is the 10th early one in a row.
        assert_eq!(found.iter().position(|&f| f), Some(10));

        // I15: a running rollout must be halted after an alarm; an alarm
        // while none runs asks for nothing.
        let v = halted_on_alarm(true, 0, false).unwrap();
        assert_eq!(v.rule, Rule::I15AlarmHaltsRollout);
        assert_eq!(v.detail, "an alarm during wave 0 left the rollout running");
        assert!(halted_on_alarm(true, 0, true).is_none());
        assert!(halted_on_alarm(false, 3, false).is_none());
        let sick = crate::model::rollout::WaveHealth {
            cohort: 19,
            cohort_failed: 19,
            baseline: 1_981,
            baseline_failed: 0,
        };
        assert!(halted_on_wave_health(&sick, (2, 0.2), false).is_some());
        assert!(halted_on_wave_health(&sick, (2, 0.2), true).is_none());
        assert!(
            halted_on_wave_health(&sick, (20, 0.2), false).is_none(),
            "too few"
        );
        let alike = crate::model::rollout::WaveHealth {
            baseline_failed: 1_900,
            ..sick
        };
        assert!(
            halted_on_wave_health(&alike, (2, 0.2), false).is_none(),
            "fleet-wide"
        );

        assert!(recovery_within_budget(31, 0, 10, 2, 5).is_some());
        assert!(recovery_within_budget(30, 0, 10, 2, 5).is_none());
        // Throttled attempts have their own budget (seen in recovery-400
        // seed 5: 8 attempts for one cluster, 2 of them throttled).
        assert!(recovery_within_budget(8, 2, 1, 5, 20).is_none());
        assert!(recovery_within_budget(8, 1, 1, 5, 20).is_some());
        assert!(recovery_within_budget(60, 22, 1, 50, 20).is_some());
        assert!(queue_bounded("q", 5, 4).is_some());
        assert!(queue_bounded("q", 4, 4).is_none());
    }
}
