//! The run summary: the typed [`crate::outcome::Outcome`] written out, with
//! the run's metadata (scenario, seed, commit, trace hash, overrides) and
//! its expectations' results. `cascade run --json` prints it;
//! `summary.json` stores it; every report renders it. No verdict reads it:
//! they judge the outcome.

use crate::expect::ExpectationResult;
use crate::outcome::{self, IncidentKind};
pub use crate::outcome::{AuthFailureCause, AuthFailures, Latency, Percentiles, Surface};
use cascade_sim::Epoch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A run written out: its metadata (scenario, seed, commit, trace hash,
/// overrides), its expectations' results and its figures. What `cascade
/// run --json` prints and `summary.json` stores; built from the run's
/// [`crate::outcome::Outcome`] by [`summarize`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub scenario: String,
    pub description: String,
    pub source: String,
    pub seed: u64,
    /// The commit the binary was built from (`unknown` outside a git checkout).
    pub commit: String,
    /// Rolling hash of the trace, 16 hex digits.
    pub trace_hash: String,
    pub events: u64,
    pub stop_reason: String,
    pub start: String,
    pub end: String,
    pub clusters: u32,
    /// Overrides applied to the scenario file (`--set`), as `KEY=VALUE`.
    pub overrides: Vec<String>,
    pub expectations: Vec<ExpectationResult>,
    /// The paired runs behind paired expectations: what each changes.
    pub pairs: Vec<Pair>,
    pub findings: FindingsSummary,
    pub key_events: Vec<KeyEvent>,
    pub metrics: MetricsSummary,
}

impl Summary {
    /// Whether every expectation held (true when there are none).
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }

    /// Pool incidents (pool loss, agents in hold), in order.
    pub fn pool_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.metrics.incidents.iter().filter(|i| i.kind.is_pool())
    }
}

/// A paired run: the variant of this scenario that a paired expectation
/// compares against, with the same seed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pair {
    /// What the variant is, in words.
    pub variant: String,
    /// What differs from this run (items removed, overrides).
    pub changes: Vec<String>,
    pub seed: u64,
    pub trace_hash: String,
    pub clusters_lost_total: u32,
    /// Clusters lost per pool incident, in incident order.
    pub clusters_lost_by_incident: Vec<u32>,
    pub not_converged_at_end: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FindingsSummary {
    pub total: u64,
    pub by_rule: BTreeMap<String, u64>,
    /// The first findings in full (bounded).
    pub first: Vec<FindingJson>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingJson {
    pub at: String,
    pub cluster: Option<u32>,
    pub rule: String,
    pub guard: Option<String>,
    pub detail: String,
}

/// A line of the narrative: what happened when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyEvent {
    pub at: String,
    pub what: String,
}

/// An incident as monitoring saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Incident {
    /// `auth`, `pool_loss` or `agents_in_hold`.
    pub kind: IncidentKind,
    /// Pool incidents (`pool_loss`, `agents_in_hold`) are numbered 1, 2, …
    /// in order; expectations select them with `"incident": N`. Auth
    /// incidents are numbered among themselves.
    pub number: u32,
    pub started_at: String,
    pub detected_at: Option<String>,
    pub time_to_detect_s: Option<f64>,
    /// How it was detected (`burn_rate_alert`, `pool_loss_alert`, `customer_reports`).
    pub detected_by: Option<String>,
    /// Auth incidents: success back above the threshold. Pool incidents:
    /// the bad route reverted.
    pub mitigated_at: Option<String>,
    pub time_to_mitigate_s: Option<f64>,
    /// Pool incidents: the last cluster to start losing pools, i.e. when
    /// the losses stopped (the hotfix can stop them before the revert).
    pub last_loss_at: Option<String>,
    pub clusters_affected: u32,
    pub restore_completed_at: Option<String>,
    pub restore_hours_after_detection: Option<f64>,
    /// At decision time: hours manual repair would need for the clusters at risk.
    pub projected_manual_hours: Option<f64>,
    /// Hours from the hotfix start to its last wave.
    pub hotfix_rollout_hours: Option<f64>,
    /// Time-to-converge once the incident healed (`None`: it never healed).
    pub converge: Option<Convergence>,
}

/// Time-to-converge after an incident heals: from the heal (its route
/// reverted, or else its clusters restored) to each cluster that was not
/// fully converged then being converged again, seen once a minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Convergence {
    pub healed_at: String,
    /// Clusters not fully converged when the incident healed.
    pub clusters: u32,
    /// Of those, still not converged when the run ended.
    pub not_converged_at_end: u32,
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
}

impl Convergence {
    /// `c` with its heal time written in UTC.
    pub fn of(c: &outcome::Convergence, epoch: Epoch) -> Convergence {
        Convergence {
            healed_at: epoch.format(c.healed_at),
            clusters: c.clusters,
            not_converged_at_end: c.not_converged_at_end,
            p50_s: c.p50_s,
            p99_s: c.p99_s,
            max_s: c.max_s,
        }
    }
}

/// A change as change management recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeJson {
    pub id: String,
    pub target: String,
    pub applied_to: String,
    pub emergency: bool,
    /// Meant for staging, applied to prod.
    pub leaked: bool,
    pub during_freeze: bool,
    pub at: String,
}

/// One rollout of the agent fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutJson {
    pub started_at: String,
    pub emergency: bool,
    pub waves: Vec<WaveJson>,
    pub completed_at: Option<String>,
    pub halted: bool,
    /// What halted it (`alarm`, or the health gate with its counts).
    #[serde(default)]
    pub halted_by: Option<String>,
    /// Clusters told to upgrade.
    #[serde(default)]
    pub upgraded: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaveJson {
    pub wave: u32,
    pub clusters: u32,
    pub started_at: String,
}

/// Auth figures over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSummary {
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
    pub burn_rate_alerts: Vec<String>,
    /// Pods the HPA asked for that no node had room for, most at once.
    pub replicas_pending_max: u32,
    /// Nodes of the auth component's pool, most at once.
    pub nodes_max: u32,
    /// Why legitimate requests failed, over the run and per day (UTC).
    pub failures: AuthFailures,
    pub failures_by_day: BTreeMap<String, AuthFailures>,
    /// Automated requests the per-client limit stopped.
    pub bot_client_limited: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsSummary {
    pub clusters_lost_pools_by_day: BTreeMap<String, u32>,
    /// Loss episodes over the run (a cluster can lose pools twice).
    pub clusters_lost_pools_total: u32,
    pub first_pool_loss_at: Option<String>,
    pub lost_pools_peak: u32,
    pub lost_pool_cluster_hours: f64,
    pub down_cluster_hours: f64,
    pub degraded_cluster_hours: f64,
    /// Clusters not fully converged at the end: pools not as desired, or
    /// the agent down, in hold, behind on generation or failing its polls.
    pub clusters_not_converged_at_end: u32,
    /// Why, per reason (`pools`, `agent_down`, `in_hold`,
    /// `stale_generation`, `last_poll_failed`; a cluster can have several).
    pub not_converged_by_reason: BTreeMap<String, u32>,
    /// How many times the run reached each interesting state
    /// ([`crate::coverage::Reached`]; every state, zeros included).
    pub coverage: BTreeMap<String, u64>,
    /// Time to settle after the timeline's `healed` marker (every chaos
    /// case has one after its last fault); `None` without a marker.
    pub settle: Option<Convergence>,
    /// surface -> cloud (or `all`) -> mean unavailable minutes per customer over the run.
    pub surface_unavailable_minutes: BTreeMap<String, BTreeMap<String, f64>>,
    /// date -> surface -> cloud (or `all`) -> mean unavailable minutes per customer.
    pub surface_unavailable_minutes_by_day:
        BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
    /// `YYYY-MM-DDTHH` -> legitimate auth success ratio.
    pub auth_legit_success_ratio_by_hour: BTreeMap<String, f64>,
    pub incidents: Vec<Incident>,
    /// Detection-to-restore time per cluster by method (manual, script, agent).
    pub restore_by_method: BTreeMap<String, Percentiles>,
    pub changes_applied: Vec<ChangeJson>,
    pub rollouts: Vec<RolloutJson>,
    pub auth: AuthSummary,
    pub blocked_by_guard: BTreeMap<String, u64>,
    pub answers: BTreeMap<String, u64>,
    pub agents_died: u64,
    pub holds_entered: u64,
    /// Agents still in safe hold when the run ends (a liveness problem).
    pub agents_in_hold_at_end: u32,
    /// Minutes (UTC, `YYYY-MM-DDTHH:MM`) with legitimate auth success below
    /// 99 %, the first 2,000.
    pub auth_bad_minutes: Vec<String>,
    pub cloud_rate_limited_calls: u64,
    /// The customers' own pool changes.
    pub customer_changes: ChangesSummary,
}

/// The customers' pool changes and how fast the fleet carried them out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangesSummary {
    pub issued: u32,
    pub carried_out: u32,
    /// Replaced by a newer change on the same pool before being carried out.
    pub superseded: u32,
    /// Still pending at the end (within their deadline or not).
    pub pending_at_end: u32,
    /// Past their deadline with the cluster undisturbed (liveness L1).
    pub late: u32,
    /// Removals whose pool was really deleted (at once, or collected after
    /// a soft delete's grace period).
    pub collected: u32,
    /// Removals carried out by a soft delete whose pool was collected past
    /// its deadline, or is still uncollected past it at the end (liveness
    /// L3), with the cluster undisturbed.
    pub collect_late: u32,
    /// Issue to carried out, per kind (`add`, `remove`), seconds.
    pub latency_by_kind: BTreeMap<String, Latency>,
    /// The first late changes, in full (bounded).
    pub first_late: Vec<String>,
}

/// The summary of a run: `o` written out, with the run's metadata.
/// Expectations and pairs are filled by the caller, which runs them.
pub fn summarize(o: &outcome::Outcome, scenario: &crate::scenario::Scenario, seed: u64) -> Summary {
    let epoch = o.epoch;
    Summary {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        source: scenario.source.display().to_string(),
        seed,
        commit: env!("CASCADE_COMMIT").to_string(),
        trace_hash: format!("{:016x}", o.run.trace_hash),
        events: o.run.events_handled,
        stop_reason: o.run.reason.to_string(),
        start: epoch.format(cascade_sim::SimTime::ZERO),
        end: epoch.format(scenario.end),
        clusters: o.clusters,
        overrides: scenario.overrides.clone(),
        expectations: Vec::new(),
        pairs: Vec::new(),
        findings: findings(&o.findings, epoch),
        key_events: o
            .key_events
            .iter()
            .map(|(t, what)| KeyEvent {
                at: epoch.format(*t),
                what: what.clone(),
            })
            .collect(),
        metrics: metrics(o),
    }
}

/// A paired run as the summary lists it.
pub fn pair(p: &outcome::PairRun, seed: u64) -> Pair {
    Pair {
        variant: p.variant.clone(),
        changes: p.changes.clone(),
        seed,
        trace_hash: format!("{:016x}", p.outcome.run.trace_hash),
        clusters_lost_total: p.outcome.clusters_lost_pools_total,
        clusters_lost_by_incident: p.clusters_lost_by_incident(),
        not_converged_at_end: p.outcome.clusters_not_converged_at_end,
    }
}

fn findings(f: &outcome::FindingsOutcome, epoch: Epoch) -> FindingsSummary {
    FindingsSummary {
        total: f.total,
        by_rule: f
            .by_rule
            .iter()
            .map(|(r, n)| (r.id().to_string(), *n))
            .collect(),
        first: f
            .first
            .iter()
            .map(|f| FindingJson {
                at: epoch.format(f.at),
                cluster: f.cluster,
                rule: f.rule.id().to_string(),
                guard: f.guard.map(|g| g.name().to_string()),
                detail: f.detail.clone(),
            })
            .collect(),
    }
}

fn metrics(o: &outcome::Outcome) -> MetricsSummary {
    let e = o.epoch;
    let (by_day, whole_run) = surface_minutes(o);
    MetricsSummary {
        clusters_lost_pools_by_day: o
            .clusters_lost_pools_by_day
            .iter()
            .map(|(d, n)| (d.to_string(), *n))
            .collect(),
        clusters_lost_pools_total: o.clusters_lost_pools_total,
        first_pool_loss_at: o.first_pool_loss_at.map(|t| e.format(t)),
        lost_pools_peak: o.lost_pools_peak,
        lost_pool_cluster_hours: o.lost_pool_cluster_hours,
        down_cluster_hours: o.down_cluster_hours,
        degraded_cluster_hours: o.degraded_cluster_hours(),
        clusters_not_converged_at_end: o.clusters_not_converged_at_end,
        not_converged_by_reason: o
            .not_converged_by_reason
            .iter()
            .map(|(r, n)| (r.name().to_string(), *n))
            .collect(),
        coverage: o.coverage.clone(),
        settle: o.settle.as_ref().map(|c| Convergence::of(c, e)),
        surface_unavailable_minutes: whole_run,
        surface_unavailable_minutes_by_day: by_day,
        auth_legit_success_ratio_by_hour: o
            .auth
            .success_by_hour
            .iter()
            .map(|(t, r)| (e.hour(*t), *r))
            .collect(),
        incidents: o.incidents.iter().map(|i| incident(i, e)).collect(),
        restore_by_method: o
            .restore_by_method
            .iter()
            .map(|(m, p)| (m.name().to_string(), p.clone()))
            .collect(),
        changes_applied: o
            .changes_applied
            .iter()
            .map(|c| ChangeJson {
                id: c.id.clone(),
                target: c.target.name().into(),
                applied_to: c.applied_to.name().into(),
                emergency: c.emergency,
                leaked: c.leaked,
                during_freeze: c.during_freeze,
                at: e.format(c.at),
            })
            .collect(),
        rollouts: o.rollouts.iter().map(|r| rollout(r, e)).collect(),
        auth: auth(&o.auth, e),
        blocked_by_guard: o
            .blocked_by_guard
            .iter()
            .map(|(g, n)| (g.name().to_string(), *n))
            .collect(),
        answers: o
            .answers
            .iter()
            .map(|(k, n)| (k.name().to_string(), *n))
            .collect(),
        agents_died: o.agents_died,
        holds_entered: o.holds_entered,
        agents_in_hold_at_end: o.agents_in_hold_at_end,
        auth_bad_minutes: o
            .auth
            .bad_minutes
            .iter()
            .map(|t| e.format_minute(*t))
            .collect(),
        cloud_rate_limited_calls: o.cloud_rate_limited_calls,
        customer_changes: customer_changes(&o.customer_changes, e),
    }
}

/// Date -> surface -> cloud (or `all`) -> mean unavailable minutes per
/// customer, and the same summed over the run.
type ByCloud = BTreeMap<String, f64>;
type BySurface = BTreeMap<String, ByCloud>;

fn surface_minutes(o: &outcome::Outcome) -> (BTreeMap<String, BySurface>, BySurface) {
    let clouds = ["aws", "gcp", "azure", "all"];
    let mut by_day: BTreeMap<String, BySurface> = BTreeMap::new();
    let mut whole: BySurface = BTreeMap::new();
    for (day, rows) in &o.surface_unavailable_minutes_by_day {
        for (s, row) in rows.iter().enumerate() {
            let surface = Surface::ALL[s].name();
            for (k, mean) in row.iter().enumerate() {
                by_day
                    .entry(day.to_string())
                    .or_default()
                    .entry(surface.to_string())
                    .or_default()
                    .insert(clouds[k].to_string(), *mean);
                *whole
                    .entry(surface.to_string())
                    .or_default()
                    .entry(clouds[k].to_string())
                    .or_insert(0.0) += mean;
            }
        }
    }
    (by_day, whole)
}

fn incident(i: &outcome::Incident, e: Epoch) -> Incident {
    Incident {
        kind: i.kind,
        number: i.number,
        started_at: e.format(i.started_at),
        detected_at: i.detected_at.map(|t| e.format(t)),
        time_to_detect_s: i.time_to_detect_s(),
        detected_by: i.detected_by.map(|d| d.name().to_string()),
        mitigated_at: i.mitigated_at.map(|t| e.format(t)),
        time_to_mitigate_s: i.time_to_mitigate_s(),
        last_loss_at: i.last_loss_at.map(|t| e.format(t)),
        clusters_affected: i.clusters_affected,
        restore_completed_at: i.restore_completed_at.map(|t| e.format(t)),
        restore_hours_after_detection: i.restore_hours_after_detection(),
        projected_manual_hours: i.projected_manual_hours,
        hotfix_rollout_hours: i.hotfix_rollout_hours,
        converge: i.converge.as_ref().map(|c| Convergence::of(c, e)),
    }
}

fn rollout(r: &outcome::RolloutOutcome, e: Epoch) -> RolloutJson {
    RolloutJson {
        started_at: e.format(r.started_at),
        emergency: r.emergency,
        waves: r
            .waves
            .iter()
            .map(|w| WaveJson {
                wave: w.wave,
                clusters: w.clusters,
                started_at: e.format(w.started_at),
            })
            .collect(),
        completed_at: r.completed_at.map(|t| e.format(t)),
        halted: r.halted,
        halted_by: r.halted_by.map(|c| c.describe()),
        upgraded: r.upgraded,
    }
}

fn auth(a: &outcome::AuthOutcome, e: Epoch) -> AuthSummary {
    AuthSummary {
        legit_attempts: a.legit_attempts,
        legit_ok: a.legit_ok,
        legit_success_ratio: a.legit_success_ratio,
        vendor_429: a.vendor_429,
        shed: a.shed,
        timeouts: a.timeouts,
        latency_p99_ms_max: a.latency_p99_ms_max,
        replicas_max: a.replicas_max,
        retry_amplification: a.retry_amplification,
        autoscaler_flaps_per_hour_max: a.autoscaler_flaps_per_hour_max,
        slo_budget_spent_ratio: a.slo_budget_spent_ratio,
        burn_rate_alerts: a
            .burn_rate_alerts
            .iter()
            .map(|(t, w)| format!("{} {w}", e.format(*t)))
            .collect(),
        replicas_pending_max: a.replicas_pending_max,
        nodes_max: a.nodes_max,
        failures: a.failures,
        failures_by_day: a
            .failures_by_day
            .iter()
            .map(|(d, f)| (d.to_string(), *f))
            .collect(),
        bot_client_limited: a.bot_client_limited,
    }
}

fn customer_changes(c: &outcome::CustomerChanges, e: Epoch) -> ChangesSummary {
    ChangesSummary {
        issued: c.issued,
        carried_out: c.carried_out,
        superseded: c.superseded,
        pending_at_end: c.pending_at_end,
        late: c.late,
        collected: c.collected,
        collect_late: c.collect_late,
        latency_by_kind: c
            .latency_by_kind
            .iter()
            .map(|(k, l)| (k.to_string(), l.clone()))
            .collect(),
        first_late: c.first_late.iter().map(|l| l.describe(e)).collect(),
    }
}
