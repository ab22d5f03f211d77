//! The run summary: one serializable object with everything a report shows.
//! `cascade run --json` prints it; `summary.json` stores it; expectations
//! are checked against it. Built from a finished world by `report::summarize`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub expectations: Vec<crate::expect::ExpectationResult>,
    /// The paired runs behind paired expectations: what each changes.
    pub pairs: Vec<Pair>,
    pub findings: FindingsSummary,
    pub key_events: Vec<KeyEvent>,
    pub metrics: MetricsSummary,
}

impl Summary {
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }

    /// The pool-loss incident whose first loss falls on `date`.
    pub fn pool_incident_on(&self, date: &str) -> Option<&Incident> {
        self.metrics
            .incidents
            .iter()
            .find(|i| i.kind == "pool_loss" && i.started_at.starts_with(date))
    }

    /// Pool incidents (pool loss, agents in hold), in order.
    pub fn pool_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.metrics.incidents.iter().filter(|i| i.kind != "auth")
    }

    /// Pool incident number `n` (from 1).
    pub fn pool_incident(&self, n: u32) -> Option<&Incident> {
        self.pool_incidents().find(|i| i.number == n)
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
    pub kind: String,
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
    /// Percentiles of `after_s` (nearest rank); `pending`: never converged.
    pub fn of(healed_at: String, after_s: Vec<f64>, pending: u32) -> Convergence {
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
