//! The typed outcome of a finished run: everything a verdict judges, in
//! simulated times, enums and numbers. The world produces it at the end of
//! a run (`world/outcome.rs`); expectations, pairs, sweeps and chaos's
//! verdicts judge it; `report::summary` renders it as the `Summary` that
//! `summary.json`, `cascade run --json` and every report show.
//!
//! Owns: [`Outcome`] and its parts, the calendar [`Day`], and the closed
//! sets the verdicts name ([`IncidentKind`], [`Surface`],
//! [`AuthFailureCause`], [`NotConvergedReason`]). May import the model's
//! and the plant's vocabulary; never a driver, a report, the expectations
//! or the scenario, so that every one of them can depend on it.

use crate::checks::{Finding, Rule};
use crate::model::agent::Guard;
use crate::model::monitoring::DetectionSource;
use crate::model::responder::IncidentCause;
use crate::model::rollout::HaltCause;
use crate::plant::workload::ChangeKind;
use crate::protocol::{AnswerKind, ClusterId, PoolName};
use crate::types::{Env, RestoreMethod};
use cascade_sim::{Epoch, RunOutcome, SimTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A UTC calendar day, as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The day `t` of a run that began at `epoch` falls on.
    pub fn of(epoch: Epoch, t: SimTime) -> Day {
        Day((epoch.unix_secs + t.as_secs() as i64).div_euclid(86_400))
    }

    /// Reads `YYYY-MM-DD`; refuses anything that does not write back the
    /// same (a 31st of February is no day).
    pub fn parse(text: &str) -> Result<Day, String> {
        let err = || format!("expected YYYY-MM-DD, found {text:?}");
        if text.len() != 10 {
            return Err(err());
        }
        let e = Epoch::parse(&format!("{text}T00:00Z")).map_err(|_| err())?;
        let day = Day(e.unix_secs.div_euclid(86_400));
        if day.to_string() == text {
            Ok(day)
        } else {
            Err(err())
        }
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Epoch::from_unix_secs(self.0 * 86_400).date(SimTime::ZERO))
    }
}

/// A customer surface: Astro UI and API need auth; the Airflow UI and API
/// also need a working cluster.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    AstroUi,
    AstroApi,
    AirflowUi,
    AirflowApi,
}

impl Surface {
    /// In report order.
    pub const ALL: [Surface; 4] = [
        Surface::AstroUi,
        Surface::AstroApi,
        Surface::AirflowUi,
        Surface::AirflowApi,
    ];

    /// Stable name in summaries (`airflow_ui`).
    pub fn name(self) -> &'static str {
        match self {
            Surface::AstroUi => "astro_ui",
            Surface::AstroApi => "astro_api",
            Surface::AirflowUi => "airflow_ui",
            Surface::AirflowApi => "airflow_api",
        }
    }

    /// Whether it also needs the customer's cluster (system and airflow
    /// pools), not just auth.
    pub fn needs_cluster(self) -> bool {
        matches!(self, Surface::AirflowUi | Surface::AirflowApi)
    }
}

/// Why a legitimate auth attempt failed. Closed set: expectations name one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailureCause {
    /// The auth component could not take the request in time: its queue was
    /// full (503), or the request waited in it until the client gave up,
    /// while its CPU was the limit.
    Saturation,
    /// The same, while every worker slot was held by a vendor call waiting
    /// on a slow or unreachable vendor: the component starved by its
    /// dependency rather than by its own capacity.
    WorkersBlocked,
    /// The vendor answered 429.
    #[serde(rename = "vendor_429")]
    Vendor429,
    /// The call never reached the vendor (the path was down or lossy).
    VendorUnreachable,
    /// The vendor answered after the client's deadline.
    VendorTimeout,
    /// The edge limited it (per-client limit or global cap): a mitigation's
    /// collateral.
    RateLimited,
    /// The open circuit breaker failed it fast.
    CircuitOpen,
    /// The client's own adaptive throttle rejected it.
    ClientThrottled,
}

impl AuthFailureCause {
    pub const ALL: [AuthFailureCause; 8] = [
        AuthFailureCause::Saturation,
        AuthFailureCause::WorkersBlocked,
        AuthFailureCause::Vendor429,
        AuthFailureCause::VendorUnreachable,
        AuthFailureCause::VendorTimeout,
        AuthFailureCause::RateLimited,
        AuthFailureCause::CircuitOpen,
        AuthFailureCause::ClientThrottled,
    ];

    /// Stable name in summaries and reports.
    pub fn name(self) -> &'static str {
        match self {
            AuthFailureCause::Saturation => "saturation",
            AuthFailureCause::WorkersBlocked => "workers_blocked",
            AuthFailureCause::Vendor429 => "vendor_429",
            AuthFailureCause::VendorUnreachable => "vendor_unreachable",
            AuthFailureCause::VendorTimeout => "vendor_timeout",
            AuthFailureCause::RateLimited => "rate_limited",
            AuthFailureCause::CircuitOpen => "circuit_open",
            AuthFailureCause::ClientThrottled => "client_throttled",
        }
    }
}

/// Failed legitimate auth attempts by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthFailures {
    pub saturation: u64,
    pub workers_blocked: u64,
    pub vendor_429: u64,
    pub vendor_unreachable: u64,
    pub vendor_timeout: u64,
    pub rate_limited: u64,
    pub circuit_open: u64,
    pub client_throttled: u64,
}

impl AuthFailures {
    pub fn get(&self, cause: AuthFailureCause) -> u64 {
        match cause {
            AuthFailureCause::Saturation => self.saturation,
            AuthFailureCause::WorkersBlocked => self.workers_blocked,
            AuthFailureCause::Vendor429 => self.vendor_429,
            AuthFailureCause::VendorUnreachable => self.vendor_unreachable,
            AuthFailureCause::VendorTimeout => self.vendor_timeout,
            AuthFailureCause::RateLimited => self.rate_limited,
            AuthFailureCause::CircuitOpen => self.circuit_open,
            AuthFailureCause::ClientThrottled => self.client_throttled,
        }
    }

    pub fn total(&self) -> u64 {
        AuthFailureCause::ALL.iter().map(|&c| self.get(c)).sum()
    }

    /// Share of the failures due to `cause` (0 when nothing failed).
    pub fn share(&self, cause: AuthFailureCause) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            self.get(cause) as f64 / total as f64
        }
    }

    pub fn add(&mut self, o: &AuthFailures) {
        self.saturation += o.saturation;
        self.workers_blocked += o.workers_blocked;
        self.vendor_429 += o.vendor_429;
        self.vendor_unreachable += o.vendor_unreachable;
        self.vendor_timeout += o.vendor_timeout;
        self.rate_limited += o.rate_limited;
        self.circuit_open += o.circuit_open;
        self.client_throttled += o.client_throttled;
    }

    /// "saturation 71 %, vendor 429 24 %, …", largest first, causes with
    /// no failure left out.
    pub fn describe(&self) -> String {
        let mut parts: Vec<(u64, AuthFailureCause)> = AuthFailureCause::ALL
            .iter()
            .map(|&c| (self.get(c), c))
            .filter(|(n, _)| *n > 0)
            .collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        if parts.is_empty() {
            return "none".into();
        }
        parts
            .iter()
            .map(|&(n, c)| {
                format!(
                    "{} {:.0} % ({n})",
                    c.name().replace('_', " "),
                    self.share(c) * 100.0
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// p50 / p90 / max of a duration sample, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Percentiles {
    pub count: u32,
    pub p50_s: f64,
    pub p90_s: f64,
    pub max_s: f64,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Percentiles {
        v.sort_by(f64::total_cmp);
        Percentiles {
            count: v.len() as u32,
            p50_s: rank(&v, 0.5),
            p90_s: rank(&v, 0.9),
            max_s: v.last().copied().unwrap_or(0.0),
        }
    }
}

/// p50 / p99 / max of a latency, seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    pub count: u32,
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `v`.
    pub fn of(mut v: Vec<f64>) -> Latency {
        v.sort_by(f64::total_cmp);
        Latency {
            count: v.len() as u32,
            p50_s: rank(&v, 0.5),
            p99_s: rank(&v, 0.99),
            max_s: v.last().copied().unwrap_or(0.0),
        }
    }
}

/// The value at quantile `p` of sorted `v` (rounded rank; 0 when empty).
fn rank(v: &[f64], p: f64) -> f64 {
    match v.len() {
        0 => 0.0,
        n => v[((n - 1) as f64 * p).round() as usize],
    }
}

/// Time-to-converge after a heal: from the heal to each cluster that was
/// not fully converged then being converged again, seen once a minute.
#[derive(Clone, Debug, PartialEq)]
pub struct Convergence {
    pub healed_at: SimTime,
    /// Clusters not fully converged at the heal.
    pub clusters: u32,
    /// Of those, still not converged when the run ended.
    pub not_converged_at_end: u32,
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
}

impl Convergence {
    /// Percentiles of `after_s` (nearest rank); `pending`: never converged.
    pub fn of(healed_at: SimTime, after_s: Vec<f64>, pending: u32) -> Convergence {
        let l = Latency::of(after_s);
        Convergence {
            healed_at,
            clusters: l.count + pending,
            not_converged_at_end: pending,
            p50_s: l.p50_s,
            p99_s: l.p99_s,
            max_s: l.max_s,
        }
    }
}

/// What an incident is about: an auth incident (monitoring's), or a pool
/// incident the responders opened, with their own cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncidentKind {
    Auth,
    Pool(IncidentCause),
}

impl IncidentKind {
    /// Stable name in summaries (`auth`, `pool_loss`, `agents_in_hold`).
    pub fn name(self) -> &'static str {
        match self {
            IncidentKind::Auth => "auth",
            IncidentKind::Pool(c) => c.name(),
        }
    }

    /// Every kind, for reading a name back.
    pub const ALL: [IncidentKind; 3] = [
        IncidentKind::Auth,
        IncidentKind::Pool(IncidentCause::PoolLoss),
        IncidentKind::Pool(IncidentCause::AgentsInHold),
    ];

    /// Pool incidents (pool loss, agents in hold) are numbered together.
    pub fn is_pool(self) -> bool {
        matches!(self, IncidentKind::Pool(_))
    }
}

impl Serialize for IncidentKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for IncidentKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        IncidentKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown incident kind {name:?}")))
    }
}

impl Default for IncidentKind {
    fn default() -> Self {
        IncidentKind::Pool(IncidentCause::PoolLoss)
    }
}

/// An incident as monitoring saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub kind: IncidentKind,
    /// Pool incidents are numbered 1, 2, … in order; auth incidents are
    /// numbered among themselves.
    pub number: u32,
    pub started_at: SimTime,
    pub detected_at: Option<SimTime>,
    pub detected_by: Option<DetectionSource>,
    /// Auth incidents: success back above the threshold. Pool incidents:
    /// the bad route reverted.
    pub mitigated_at: Option<SimTime>,
    /// Pool incidents: the last cluster to start losing pools.
    pub last_loss_at: Option<SimTime>,
    pub clusters_affected: u32,
    pub restore_completed_at: Option<SimTime>,
    /// At decision time: hours manual repair would need for the clusters at risk.
    pub projected_manual_hours: Option<f64>,
    /// Hours from the hotfix start to its last wave.
    pub hotfix_rollout_hours: Option<f64>,
    /// Time-to-converge once the incident healed (`None`: it never healed).
    pub converge: Option<Convergence>,
}

impl Incident {
    /// An incident of `kind` that began at `started_at`, nothing else known.
    pub fn new(kind: IncidentKind, number: u32, started_at: SimTime) -> Incident {
        Incident {
            kind,
            number,
            started_at,
            detected_at: None,
            detected_by: None,
            mitigated_at: None,
            last_loss_at: None,
            clusters_affected: 0,
            restore_completed_at: None,
            projected_manual_hours: None,
            hotfix_rollout_hours: None,
            converge: None,
        }
    }

    pub fn time_to_detect_s(&self) -> Option<f64> {
        self.detected_at
            .map(|d| (d - self.started_at).as_secs_f64())
    }

    pub fn time_to_mitigate_s(&self) -> Option<f64> {
        self.mitigated_at
            .map(|t| (t - self.started_at).as_secs_f64())
    }

    /// Hours from detection to every cluster restored.
    pub fn restore_hours_after_detection(&self) -> Option<f64> {
        match (self.detected_at, self.restore_completed_at) {
            (Some(d), Some(r)) => Some((r - d).as_secs_f64() / 3_600.0),
            _ => None,
        }
    }
}

/// A change as change management recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedChange {
    pub id: String,
    pub target: Env,
    pub applied_to: Env,
    pub emergency: bool,
    /// Meant for staging, applied to prod.
    pub leaked: bool,
    pub during_freeze: bool,
    pub at: SimTime,
}

/// One wave of the agent fix's rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutWave {
    pub wave: u32,
    pub clusters: u32,
    pub started_at: SimTime,
}

/// One rollout of the agent fix.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutOutcome {
    pub started_at: SimTime,
    pub emergency: bool,
    pub waves: Vec<RolloutWave>,
    pub completed_at: Option<SimTime>,
    pub halted: bool,
    /// What halted it, while it is halted.
    pub halted_by: Option<HaltCause>,
    /// Clusters told to upgrade.
    pub upgraded: u32,
}

impl RolloutOutcome {
    /// Halted by its own health gate (not by an outside alarm).
    pub fn halted_by_health_gate(&self) -> bool {
        matches!(self.halted_by, Some(HaltCause::WaveHealth(_)))
    }
}

/// Auth figures over the whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthOutcome {
    pub legit_attempts: u64,
    pub legit_ok: u64,
    pub legit_success_ratio: f64,
    pub vendor_429: u64,
    pub shed: u64,
    pub timeouts: u64,
    pub latency_p99_ms_max: f64,
    pub replicas_max: u32,
    /// Attempts over unique legitimate requests.
    pub retry_amplification: f64,
    /// Autoscaler direction changes per hour, worst hour.
    pub autoscaler_flaps_per_hour_max: u32,
    /// SLO budget (99.9 % over 30 days) spent by this run, as a fraction.
    pub slo_budget_spent_ratio: f64,
    /// Burn-rate alerts fired: when, and which.
    pub burn_rate_alerts: Vec<(SimTime, String)>,
    pub replicas_pending_max: u32,
    pub nodes_max: u32,
    /// Why legitimate requests failed, over the run and per day.
    pub failures: AuthFailures,
    pub failures_by_day: BTreeMap<Day, AuthFailures>,
    pub bot_client_limited: u64,
    /// Legitimate success per hour of the run: the hour's start, the ratio.
    pub success_by_hour: Vec<(SimTime, f64)>,
    /// Minutes with legitimate success below 99 %, the first 2,000 (a
    /// bound on memory however long the outage).
    pub bad_minutes: Vec<SimTime>,
}

/// Why a cluster is not fully converged at the end (a cluster can have
/// several reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotConvergedReason {
    Pools,
    AgentDown,
    InHold,
    StaleGeneration,
    LastPollFailed,
}

impl NotConvergedReason {
    /// Stable name in summaries (`agent_down`).
    pub fn name(self) -> &'static str {
        match self {
            NotConvergedReason::Pools => "pools",
            NotConvergedReason::AgentDown => "agent_down",
            NotConvergedReason::InHold => "in_hold",
            NotConvergedReason::StaleGeneration => "stale_generation",
            NotConvergedReason::LastPollFailed => "last_poll_failed",
        }
    }
}

/// A customer change carried out late, or a removal collected late.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LateChange {
    pub cluster: ClusterId,
    pub pool: PoolName,
    pub kind: ChangeKind,
    pub issued_at: SimTime,
    pub carried_at: Option<SimTime>,
    /// Late in its collection (a soft delete's real delete), not its carrying out.
    pub collect: bool,
    pub collected_at: Option<SimTime>,
}

impl LateChange {
    /// `2025-03-22T10:00:00Z cluster 3 add p2: carried out 2025-…`.
    pub fn describe(&self, epoch: Epoch) -> String {
        let at = |t: Option<SimTime>, what: &str, never: &str| {
            t.map_or(never.to_string(), |t| format!("{what} {}", epoch.format(t)))
        };
        if self.collect {
            format!(
                "{} cluster {} remove {}: {}, {}",
                epoch.format(self.issued_at),
                self.cluster,
                self.pool,
                at(self.carried_at, "scaled to zero", "never scaled to zero"),
                at(self.collected_at, "collected", "never collected"),
            )
        } else {
            format!(
                "{} cluster {} {} {}: {}",
                epoch.format(self.issued_at),
                self.cluster,
                self.kind.name(),
                self.pool,
                at(self.carried_at, "carried out", "never carried out"),
            )
        }
    }
}

/// The customers' pool changes and how fast the fleet carried them out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerChanges {
    pub issued: u32,
    pub carried_out: u32,
    pub superseded: u32,
    pub pending_at_end: u32,
    /// Past their deadline with the cluster undisturbed (liveness L1).
    pub late: u32,
    pub collected: u32,
    /// Removals collected past their deadline (liveness L3).
    pub collect_late: u32,
    /// Issue to carried out, per kind's name (`add`, `remove`), seconds.
    pub latency_by_kind: BTreeMap<&'static str, Latency>,
    /// The first late changes (bounded).
    pub first_late: Vec<LateChange>,
}

/// Findings of the run: every one counted, the first kept in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FindingsOutcome {
    pub total: u64,
    pub by_rule: BTreeMap<Rule, u64>,
    /// The first findings in full (bounded).
    pub first: Vec<Finding>,
}

impl FindingsOutcome {
    /// Findings of `rule`.
    pub fn of(&self, rule: Rule) -> u64 {
        self.by_rule.get(&rule).copied().unwrap_or(0)
    }
}

/// Mean unavailable minutes per customer of one day: `[surface][cloud]`,
/// surfaces in [`Surface::ALL`] order, clouds in `Cloud::ALL` order and
/// then every cloud.
pub type SurfaceMinutes = [[f64; 4]; 4];

/// What a finished run shows, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub epoch: Epoch,
    /// How the simulation stopped, its trace hash and event count.
    pub run: RunOutcome,
    pub clusters: u32,
    pub findings: FindingsOutcome,
    /// The narrative, in time order.
    pub key_events: Vec<(SimTime, String)>,
    pub clusters_lost_pools_by_day: BTreeMap<Day, u32>,
    /// Loss episodes over the run (a cluster can lose pools twice).
    pub clusters_lost_pools_total: u32,
    pub first_pool_loss_at: Option<SimTime>,
    pub lost_pools_peak: u32,
    pub lost_pool_cluster_hours: f64,
    pub down_cluster_hours: f64,
    pub clusters_not_converged_at_end: u32,
    pub not_converged_by_reason: BTreeMap<NotConvergedReason, u32>,
    /// How many times the run reached each interesting state, by name.
    pub coverage: BTreeMap<String, u64>,
    /// Time to settle after the timeline's `healed` marker.
    pub settle: Option<Convergence>,
    pub surface_unavailable_minutes_by_day: BTreeMap<Day, SurfaceMinutes>,
    /// Every incident, in order of start.
    pub incidents: Vec<Incident>,
    /// Loss to restore time per cluster by method, seconds.
    pub restore_by_method: BTreeMap<RestoreMethod, Percentiles>,
    pub changes_applied: Vec<AppliedChange>,
    pub rollouts: Vec<RolloutOutcome>,
    pub auth: AuthOutcome,
    pub blocked_by_guard: Vec<(Guard, u64)>,
    pub answers: Vec<(AnswerKind, u64)>,
    pub agents_died: u64,
    pub holds_entered: u64,
    pub agents_in_hold_at_end: u32,
    pub cloud_rate_limited_calls: u64,
    pub customer_changes: CustomerChanges,
}

impl Outcome {
    /// The outcome of a run of no clusters that saw nothing, from `epoch`
    /// (a base for hand-built outcomes).
    pub fn empty(epoch: Epoch) -> Outcome {
        Outcome {
            epoch,
            run: RunOutcome {
                reason: cascade_sim::StopReason::TimeLimit,
                events_handled: 0,
                now: SimTime::ZERO,
                trace_hash: 0,
            },
            clusters: 0,
            findings: FindingsOutcome::default(),
            key_events: Vec::new(),
            clusters_lost_pools_by_day: BTreeMap::new(),
            clusters_lost_pools_total: 0,
            first_pool_loss_at: None,
            lost_pools_peak: 0,
            lost_pool_cluster_hours: 0.0,
            down_cluster_hours: 0.0,
            clusters_not_converged_at_end: 0,
            not_converged_by_reason: BTreeMap::new(),
            coverage: BTreeMap::new(),
            settle: None,
            surface_unavailable_minutes_by_day: BTreeMap::new(),
            incidents: Vec::new(),
            restore_by_method: BTreeMap::new(),
            changes_applied: Vec::new(),
            rollouts: Vec::new(),
            auth: AuthOutcome::default(),
            blocked_by_guard: Vec::new(),
            answers: Vec::new(),
            agents_died: 0,
            holds_entered: 0,
            agents_in_hold_at_end: 0,
            cloud_rate_limited_calls: 0,
            customer_changes: CustomerChanges::default(),
        }
    }

    /// Pool incidents (pool loss, agents in hold), in order.
    pub fn pool_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| i.kind.is_pool())
    }

    /// Pool incident number `n` (from 1).
    pub fn pool_incident(&self, n: u32) -> Option<&Incident> {
        self.pool_incidents().find(|i| i.number == n)
    }

    /// The pool-loss incident whose first loss falls on `day`.
    pub fn pool_incident_on(&self, day: Day) -> Option<&Incident> {
        self.incidents.iter().find(|i| {
            i.kind == IncidentKind::Pool(IncidentCause::PoolLoss) && self.day(i.started_at) == day
        })
    }

    /// The calendar day `t` falls on.
    pub fn day(&self, t: SimTime) -> Day {
        Day::of(self.epoch, t)
    }

    /// `t` as Unix seconds, to compare with a time a scenario wrote.
    pub fn unix_secs(&self, t: SimTime) -> i64 {
        self.epoch.unix_secs + t.as_secs() as i64
    }

    /// Degraded cluster-hours: lost pools while the agent was up.
    pub fn degraded_cluster_hours(&self) -> f64 {
        (self.lost_pool_cluster_hours - self.down_cluster_hours).max(0.0)
    }
}

/// What a paired run (a variant of a scenario, same seed) showed, beside
/// what it changed.
#[derive(Clone, Debug, PartialEq)]
pub struct PairRun {
    /// What the variant is, in words.
    pub variant: String,
    /// What differs from the base run.
    pub changes: Vec<String>,
    pub outcome: Outcome,
}

impl PairRun {
    /// Clusters lost per pool incident, in incident order.
    pub fn clusters_lost_by_incident(&self) -> Vec<u32> {
        self.outcome
            .pool_incidents()
            .map(|i| i.clusters_affected)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_reads_and_writes_the_same_text() {
        let d = Day::parse("2025-03-23").unwrap();
        assert_eq!(d.to_string(), "2025-03-23");
        assert!(Day::parse("2025-02-31").is_err());
        assert!(Day::parse("2025-3-23").is_err());
        let e = Epoch::parse("2025-03-22T23:30:00Z").unwrap();
        assert_eq!(Day::of(e, SimTime::from_secs(1_800)), d);
        assert_eq!(
            Day::of(e, SimTime::from_secs(1_799)).to_string(),
            "2025-03-22"
        );
    }
}
