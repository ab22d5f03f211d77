//! Expectations: what a scenario says its run must show, checked against the
//! run's typed [`Outcome`]. Each is typed, so a typo in a scenario is a load error,
//! not a silently passing check.

use crate::checks::Rule;
use crate::model::responder::INCIDENTS_MAX;
use crate::outcome::{AuthFailureCause, AuthFailures, Day, Incident, Outcome, Surface};
use crate::types::{
    check_at_most, check_range, check_ratio, expect, Cloud, Env, Num, OVERRIDES_MAX,
};
use cascade_sim::{Epoch, SimTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The longest scenario, in days (the loader refuses a longer span): no
/// time a run measures is longer.
pub const SPAN_DAYS_MAX: u32 = 366;
const SPAN_H_MAX: f64 = SPAN_DAYS_MAX as f64 * 24.0;
const SPAN_S_MAX: f64 = SPAN_H_MAX * 3_600.0;
/// Clusters in the largest fleet (`model.fleet.clusters`).
const CLUSTERS_MAX: u32 = 1_000_000;
/// Customer changes a run books at most (the workload stops there).
const CUSTOMER_CHANGES_MAX: u32 = 1_000_000;
/// Attempts a legitimate request makes at most, the first included (the
/// limit of `model.auth.traffic.retry_attempts_max`).
const ATTEMPTS_MAX: f64 = 8.0;
/// Direction changes of the autoscaler in an hour: it decides at most once
/// a second.
const FLAPS_PER_HOUR_MAX: u32 = 3_600;

/// One expectation of a scenario (`{"kind": "...", ...}` in the file).
///
/// Every numeric field is checked at load against the range its meaning
/// allows (fractions in [0, 1], hours of the day 0 to 23, times up to the
/// longest scenario, counts of clusters up to the largest fleet) and every
/// pair of bounds must be in order: an expectation no run could meet is a
/// load error, not a check that always fails. `cascade schema` states each
/// field's range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// Mean unavailable minutes per customer of `surface` (or every surface)
    /// on `date` for customers on `cloud` (or every cloud) lie in [min, max].
    SurfaceUnavailableMinutes {
        date: String,
        #[serde(default)]
        surface: Option<Surface>,
        #[serde(default)]
        cloud: Option<Cloud>,
        min: f64,
        max: f64,
    },
    /// Clusters that lost at least one pool on `date` (or over the whole
    /// run when no date is given) lie in [min, max].
    ClustersLostPools {
        #[serde(default)]
        date: Option<String>,
        min: u32,
        max: u32,
    },
    /// No cluster loses a pool before `at`.
    NoPoolLossBefore { at: String },
    /// More clusters lose pools on `date` than on `than`.
    MoreLossOn { date: String, than: String },
    /// Clusters not fully converged at the end (pools, or the agent down,
    /// in hold, behind on generation or failing its polls) lie in
    /// [min, max]; `min` above 0 states a non-convergence the harness found.
    NotConvergedAtEnd {
        #[serde(default)]
        min: u32,
        max: u32,
    },
    /// Legitimate auth success is at least `min` in every hour of `date`
    /// (optionally only hours `from_hour..=to_hour`, UTC).
    AuthSuccessEveryHour {
        date: String,
        min: f64,
        #[serde(default)]
        from_hour: Option<u32>,
        #[serde(default)]
        to_hour: Option<u32>,
    },
    /// At most `max` agents are still in safe hold at the end (liveness).
    AgentsInHoldMax { max: u32 },
    /// Every minute from `at` (UTC) on has legitimate auth success of at least 99 %.
    AuthGoodAfter { at: String },
    /// The autoscaler changes direction at most `max` times in any hour.
    AutoscalerFlapsMax { max: u32 },
    /// Retry amplification (attempts per fresh legitimate request) over the run lies in [min, max].
    AuthRetryAmplification { min: f64, max: f64 },
    /// Failed legitimate auth attempts due to `cause` (on `date`, or over
    /// the run) number in [min, max] and make up a share of all failed
    /// attempts in [share_min, share_max].
    AuthFailures {
        #[serde(default)]
        date: Option<String>,
        cause: AuthFailureCause,
        #[serde(default)]
        min: u64,
        #[serde(default = "u64_max")]
        max: u64,
        #[serde(default)]
        share_min: f64,
        #[serde(default = "one")]
        share_max: f64,
    },
    /// Legitimate auth success falls below `below` in at least `hours_min` hours of `date`.
    AuthSuccessDegraded {
        date: String,
        below: f64,
        hours_min: u32,
    },
    /// The pool incident selected by `incident` (or the pool-loss incident
    /// that starts on `date`) is detected within [min_s, max_s].
    TimeToDetect {
        #[serde(default)]
        date: Option<String>,
        #[serde(default)]
        incident: Option<IncidentSel>,
        min_s: f64,
        max_s: f64,
    },
    /// Every cluster of the selected incident is restored by `by` (UTC).
    RestoredBy {
        #[serde(default)]
        date: Option<String>,
        #[serde(default)]
        incident: Option<IncidentSel>,
        by: String,
    },
    /// Restoring the selected incident takes at most `max_h` hours from detection.
    RestoreHoursMax {
        #[serde(default)]
        date: Option<String>,
        #[serde(default)]
        incident: Option<IncidentSel>,
        max_h: f64,
    },
    /// More clusters lose pools in pool incident `incident` than in `than`
    /// (incidents, not calendar days: an incident may straddle midnight).
    MoreLossInIncident {
        incident: IncidentSel,
        than: IncidentSel,
    },
    /// Clusters that lose pools in the selected pool incident lie in [min, max].
    IncidentClustersLost {
        incident: IncidentSel,
        min: u32,
        max: u32,
    },
    /// Findings of `rule` (or any rule) lie in [min, max].
    Findings {
        #[serde(default)]
        rule: Option<Rule>,
        #[serde(default)]
        min: u64,
        max: u64,
    },
    /// Ordinary (non-emergency, non-leaked) prod changes applied during a freeze: at most `max`.
    FreezeHolds { max: u32 },
    /// Changes meant for staging that were applied to prod lie in [min, max].
    ChangesLeaked { min: u32, max: u32 },
    /// Customer changes (liveness L1 and L3): at most `late_max` are
    /// carried out past their deadline, or still pending past it at the
    /// end, with the cluster undisturbed; a removal carried out by a soft
    /// delete counts as late too when its pool is not really deleted
    /// within the grace period plus the removal's deadline (L3); at least
    /// `issued_min` were issued (so the check cannot pass on a run without
    /// customers).
    CustomerChanges {
        #[serde(default)]
        late_max: u32,
        #[serde(default)]
        issued_min: u32,
    },
    /// The run's rollout of the agent told `upgraded_min..=upgraded_max`
    /// clusters to upgrade; `halted_by_health_gate`, when given, says
    /// whether it ended halted by its own health gate.
    Rollout {
        #[serde(default)]
        upgraded_min: u32,
        upgraded_max: u32,
        #[serde(default)]
        halted_by_health_gate: Option<bool>,
    },
    /// A paired run: the same scenario with the changes of `variant` (same
    /// seed, so per-entity streams keep both runs aligned), and `metric`
    /// compared between the two. Passes when this run's metric is lower
    /// than the variant's by at least `less_by_min` (0 up to the metric's
    /// largest value), and/or at most `ratio_max` (0 to 1,000; a fraction
    /// for "better by this factor") times the variant's.
    Paired {
        /// What the variant is, in words (the summary shows it).
        variant: String,
        /// Overrides of this scenario (`{"timeline.E9.misroute_ratio": 0.25}`,
        /// `{"model.response.restore_with": "manual"}`).
        #[serde(default)]
        set: BTreeMap<String, Value>,
        /// Timeline items the variant drops, by id.
        #[serde(default)]
        timeline_remove: Vec<String>,
        metric: PairMetric,
        /// The pool incident the metric is about (whole run when absent,
        /// where the metric allows).
        #[serde(default)]
        incident: Option<IncidentSel>,
        /// How much lower this run's metric must be, in the metric's unit.
        /// Valid: 0 to the metric's largest value: the largest fleet
        /// (1,000,000) for clusters, the changes a run books (1,000,000)
        /// for changes, 366 days (8,784 h, 31,622,400 s) for times.
        #[serde(default)]
        less_by_min: Option<f64>,
        /// At most this fraction of the variant's value.
        #[serde(default)]
        ratio_max: Option<f64>,
    },
}

/// What a paired expectation compares between the two runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairMetric {
    /// Clusters that lost pools (in the incident, or over the run).
    ClustersLost,
    /// Hours from detection to every cluster restored (needs an incident).
    RestoreHours,
    /// Clusters not fully converged at the end of the run.
    NotConvergedAtEnd,
    /// p99 time-to-converge after the incident healed, seconds (needs an incident).
    ConvergeP99S,
    /// Customer changes carried out late or still pending past their deadline.
    ChangesLate,
}

impl PairMetric {
    fn name(self) -> &'static str {
        match self {
            PairMetric::ClustersLost => "clusters lost",
            PairMetric::RestoreHours => "restore hours",
            PairMetric::NotConvergedAtEnd => "clusters not converged at the end",
            PairMetric::ConvergeP99S => "p99 time-to-converge (s)",
            PairMetric::ChangesLate => "customer changes late",
        }
    }

    fn needs_incident(self) -> bool {
        matches!(self, PairMetric::RestoreHours | PairMetric::ConvergeP99S)
    }

    /// The largest value the metric takes, named: a run cannot be lower
    /// than its variant by more.
    fn largest(self) -> (&'static str, f64) {
        match self {
            PairMetric::ClustersLost | PairMetric::NotConvergedAtEnd => {
                ("the largest fleet", f64::from(CLUSTERS_MAX))
            }
            PairMetric::RestoreHours => ("366 days", SPAN_H_MAX),
            PairMetric::ConvergeP99S => ("366 days", SPAN_S_MAX),
            PairMetric::ChangesLate => ("the changes a run books", f64::from(CUSTOMER_CHANGES_MAX)),
        }
    }

    /// The metric in `s`; `None` when it does not exist there (no such
    /// incident, not restored, never healed).
    pub fn of(self, o: &Outcome, incident: Option<&IncidentSel>) -> Option<f64> {
        let inc = incident.map(|sel| sel.find(o));
        match (self, inc) {
            (PairMetric::ClustersLost, None) => Some(o.clusters_lost_pools_total as f64),
            (PairMetric::ClustersLost, Some(i)) => i.map(|i| i.clusters_affected as f64),
            (PairMetric::RestoreHours, Some(i)) => {
                i.and_then(|i| i.restore_hours_after_detection())
            }
            (PairMetric::ConvergeP99S, Some(i)) => {
                i.and_then(|i| i.converge.as_ref()).map(|c| c.p99_s)
            }
            (PairMetric::NotConvergedAtEnd, _) => Some(o.clusters_not_converged_at_end as f64),
            (PairMetric::ChangesLate, _) => Some(o.customer_changes.late as f64),
            (PairMetric::RestoreHours | PairMetric::ConvergeP99S, None) => None,
        }
    }
}

/// The changes a paired expectation's variant makes, in a stable form (the
/// key that runs each distinct variant once).
#[derive(Clone, Debug, PartialEq)]
pub struct VariantSpec<'a> {
    pub about: &'a str,
    pub set: &'a BTreeMap<String, Value>,
    pub timeline_remove: &'a [String],
}

impl VariantSpec<'_> {
    /// `timeline_remove E8; model.x=1`: what differs from the base run.
    pub fn changes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .timeline_remove
            .iter()
            .map(|id| format!("without timeline item {id}"))
            .collect();
        v.extend(self.set.iter().map(|(k, x)| format!("{k}={x}")));
        v
    }
}

/// Which pool incident an expectation is about: its number in the summary
/// (`"incident": 2`), or the first that began in a window
/// (`"incident": {"began_after": "...", "began_before": "..."}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IncidentSel {
    Number(u32),
    Window {
        began_after: String,
        began_before: String,
    },
}

impl IncidentSel {
    /// Checks the selector written as `field` (`incident`, `than`):
    /// incidents count from 1, a window's ends in order.
    fn validate(&self, field: &str) -> Result<(), String> {
        match self {
            IncidentSel::Number(n) => check_range(
                field,
                *n,
                1,
                ("the most incidents a run opens", INCIDENTS_MAX as u32),
            ),
            IncidentSel::Window {
                began_after,
                began_before,
            } => {
                let a =
                    Epoch::parse(began_after).map_err(|e| format!("{field}.began_after: {e}"))?;
                let b =
                    Epoch::parse(began_before).map_err(|e| format!("{field}.began_before: {e}"))?;
                expect(
                    a.unix_secs < b.unix_secs,
                    &format!("{field}.began_before"),
                    format!("after began_after ({began_after})"),
                    began_before,
                )
            }
        }
    }

    /// The selected incident of `o`.
    pub fn find<'a>(&self, o: &'a Outcome) -> Option<&'a Incident> {
        match self {
            IncidentSel::Number(n) => o.pool_incident(*n),
            IncidentSel::Window {
                began_after,
                began_before,
            } => {
                let (a, b) = (unix_secs(began_after), unix_secs(began_before));
                o.pool_incidents().find(|i| {
                    let t = o.unix_secs(i.started_at);
                    t >= a && t < b
                })
            }
        }
    }

    /// How a report names it.
    pub fn describe(&self) -> String {
        match self {
            IncidentSel::Number(n) => format!("incident {n}"),
            IncidentSel::Window {
                began_after,
                began_before,
            } => format!("the incident begun in {began_after}..{began_before}"),
        }
    }
}

/// A time the scenario wrote (`2025-03-26T15:00Z`), as Unix seconds;
/// validated at load, so unreadable only in a hand-built expectation,
/// which then selects nothing before the end of time.
fn unix_secs(t: &str) -> i64 {
    Epoch::parse(t).map_or(i64::MAX, |x| x.unix_secs)
}

/// A date the scenario wrote, validated at load (an unreadable one in a
/// hand-built expectation names no day of any run).
fn day(d: &str) -> Day {
    Day::parse(d).unwrap_or(Day(i64::MIN))
}

/// The incident an expectation names by `incident` or, failing that, by
/// the date its pool loss began; and how to call it.
fn selected<'a>(
    o: &'a Outcome,
    date: &Option<String>,
    incident: &Option<IncidentSel>,
) -> (Option<&'a Incident>, String) {
    match (incident, date) {
        (Some(sel), _) => (sel.find(o), sel.describe()),
        (None, Some(d)) => (o.pool_incident_on(day(d)), format!("the pool loss of {d}")),
        (None, None) => (None, "no incident".into()),
    }
}

/// Load-time check of a `date` / `incident` pair: exactly one is given.
fn one_selector(
    date: &Option<String>,
    incident: &Option<IncidentSel>,
    check_date: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    match (date, incident) {
        (Some(_), Some(_)) => Err("expected `date` or `incident`, not both".into()),
        (None, None) => Err("expected `incident` (a number from 1, or a window) or `date`".into()),
        (Some(d), None) => check_date(d),
        (None, Some(sel)) => sel.validate("incident"),
    }
}

/// `lo` must not exceed `hi`, the two bounds of one range: a range no
/// value falls in fails every run.
/// The largest `ratio_max` of a pair: a run at most a thousand times its
/// variant's value is already no claim about the change.
const PAIR_RATIO_MAX: f64 = 1_000.0;

fn check_ordered<T: Num>(lo: (&str, T), hi: (&str, T)) -> Result<(), String> {
    expect(
        lo.1 <= hi.1,
        lo.0,
        format!("at most {}", hi.0),
        format!("{} ({} is {})", lo.1.found(), hi.0, hi.1.found()),
    )
}

/// `min` and `max` of a count of clusters: each 0 to the largest fleet,
/// in order.
fn check_clusters(min: u32, max: u32) -> Result<(), String> {
    let fleet = ("the largest fleet", CLUSTERS_MAX);
    check_range("min", min, 0, fleet)?;
    check_range("max", max, 0, fleet)?;
    check_ordered(("min", min), ("max", max))
}

/// The outcome of one expectation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExpectationResult {
    pub name: String,
    pub passed: bool,
    pub detail: String,
    /// The tuned fields this expectation was fitted with (the scenario's
    /// `tuned` entries that name its kind in `affects`): empty when the
    /// model produces the fact without calibration to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibrated_by: Vec<String>,
}

impl ExpectationResult {
    /// `calibrated (field, ...)` or `emergent`: whether the scenario fitted
    /// a figure to meet this fact.
    pub fn provenance(&self) -> String {
        if self.calibrated_by.is_empty() {
            "emergent".into()
        } else {
            format!("calibrated ({})", self.calibrated_by.join(", "))
        }
    }
}

fn is_date(s: &str) -> bool {
    Day::parse(s).is_ok()
}

impl Expectation {
    /// Checks the expectation's own fields at load time: each number in
    /// its range, each pair of bounds in order, dates and times readable.
    /// The error reads `field: expected …, found …`.
    pub fn validate(&self, epoch: &Epoch) -> Result<(), String> {
        let date_of = |field: &str, d: &str| {
            if is_date(d) {
                Ok(())
            } else {
                Err(format!("{field}: expected YYYY-MM-DD, found {d:?}"))
            }
        };
        let date = |d: &str| date_of("date", d);
        let span_s = ("366 days", SPAN_S_MAX);
        match self {
            Expectation::SurfaceUnavailableMinutes {
                date: d, min, max, ..
            } => {
                let day = ("a day's minutes", 1_440.0);
                check_range("min", *min, 0.0, day)?;
                check_range("max", *max, 0.0, day)?;
                check_ordered(("min", *min), ("max", *max))?;
                date(d)
            }
            Expectation::ClustersLostPools { date: d, min, max } => {
                check_clusters(*min, *max)?;
                d.as_deref().map_or(Ok(()), date)
            }
            Expectation::NoPoolLossBefore { at } => epoch
                .time_of(at)
                .map(|_| ())
                .map_err(|e| format!("at: {e}")),
            Expectation::MoreLossOn { date: a, than } => {
                date(a)?;
                date_of("than", than)?;
                expect(a != than, "than", "a date other than `date`", than)
            }
            Expectation::NotConvergedAtEnd { min, max } => check_clusters(*min, *max),
            Expectation::AuthSuccessEveryHour {
                date: d,
                min,
                from_hour,
                to_hour,
            } => {
                check_ratio("min", *min)?;
                for (field, hour) in [("from_hour", from_hour), ("to_hour", to_hour)] {
                    if let Some(h) = hour {
                        check_range(field, *h, 0, 23)?;
                    }
                }
                check_ordered(
                    ("from_hour", from_hour.unwrap_or(0)),
                    ("to_hour", to_hour.unwrap_or(23)),
                )?;
                date(d)
            }
            Expectation::AuthSuccessDegraded {
                date: d,
                below,
                hours_min,
            } => {
                check_ratio("below", *below)?;
                check_range("hours_min", *hours_min, 0, 24)?;
                date(d)
            }
            Expectation::AgentsInHoldMax { max } => {
                check_range("max", *max, 0, ("the largest fleet", CLUSTERS_MAX))
            }
            Expectation::AutoscalerFlapsMax { max } => {
                check_at_most("max", *max, ("one a second", FLAPS_PER_HOUR_MAX))
            }
            Expectation::AuthRetryAmplification { min, max } => {
                let most = ("the most attempts a request makes", ATTEMPTS_MAX);
                check_range("min", *min, 1.0, most)?;
                check_range("max", *max, 1.0, most)?;
                check_ordered(("min", *min), ("max", *max))
            }
            Expectation::AuthFailures {
                date: d,
                min,
                max,
                share_min,
                share_max,
                ..
            } => {
                check_ordered(("min", *min), ("max", *max))?;
                check_ratio("share_min", *share_min)?;
                check_ratio("share_max", *share_max)?;
                check_ordered(("share_min", *share_min), ("share_max", *share_max))?;
                d.as_deref().map_or(Ok(()), date)
            }
            Expectation::TimeToDetect {
                date: d,
                incident,
                min_s,
                max_s,
            } => {
                check_range("min_s", *min_s, 0.0, span_s)?;
                check_range("max_s", *max_s, 0.0, span_s)?;
                check_ordered(("min_s", *min_s), ("max_s", *max_s))?;
                one_selector(d, incident, date)
            }
            Expectation::RestoreHoursMax {
                date: d,
                incident,
                max_h,
            } => {
                check_range("max_h", *max_h, 0.0, ("366 days", SPAN_H_MAX))?;
                one_selector(d, incident, date)
            }
            Expectation::RestoredBy {
                date: d,
                incident,
                by,
            } => {
                one_selector(d, incident, date)?;
                Epoch::parse(by).map(|_| ()).map_err(|e| format!("by: {e}"))
            }
            Expectation::MoreLossInIncident { incident, than } => {
                incident.validate("incident")?;
                than.validate("than")?;
                expect(
                    incident != than,
                    "than",
                    "an incident other than `incident`",
                    than.describe(),
                )
            }
            Expectation::IncidentClustersLost { incident, min, max } => {
                incident.validate("incident")?;
                check_clusters(*min, *max)
            }
            Expectation::Findings { min, max, .. } => check_ordered(("min", *min), ("max", *max)),
            Expectation::ChangesLeaked { min, max } => check_ordered(("min", *min), ("max", *max)),
            Expectation::CustomerChanges {
                late_max,
                issued_min,
            } => {
                let booked = ("the changes a run books", CUSTOMER_CHANGES_MAX);
                check_at_most("late_max", *late_max, booked)?;
                check_at_most("issued_min", *issued_min, booked)
            }
            Expectation::Rollout {
                upgraded_min,
                upgraded_max,
                ..
            } => {
                let fleet = ("the largest fleet", CLUSTERS_MAX);
                check_range("upgraded_min", *upgraded_min, 0, fleet)?;
                check_range("upgraded_max", *upgraded_max, 0, fleet)?;
                check_ordered(
                    ("upgraded_min", *upgraded_min),
                    ("upgraded_max", *upgraded_max),
                )
            }
            Expectation::AuthGoodAfter { at } => {
                Epoch::parse(at).map(|_| ()).map_err(|e| format!("at: {e}"))
            }
            Expectation::Paired {
                set,
                timeline_remove,
                metric,
                incident,
                less_by_min,
                ratio_max,
                ..
            } => {
                if let Some(sel) = incident {
                    sel.validate("incident")?;
                } else if metric.needs_incident() {
                    return Err(format!(
                        "incident: the metric {:?} is about one incident; expected `incident`",
                        metric.name()
                    ));
                }
                if less_by_min.is_none() && ratio_max.is_none() {
                    return Err("expected `less_by_min` or `ratio_max` (or both)".into());
                }
                if let Some(d) = less_by_min {
                    check_range("less_by_min", *d, 0.0, metric.largest())?;
                }
                // Above 1 it is a weaker claim (this run at most N times
                // the variant's), one a run can still fail: not a fraction.
                if let Some(r) = ratio_max {
                    check_range("ratio_max", *r, 0.0, PAIR_RATIO_MAX)?;
                }
                if set.is_empty() && timeline_remove.is_empty() {
                    return Err(
                        "expected `set` or `timeline_remove` (the variant must differ)".into(),
                    );
                }
                if set.len() + timeline_remove.len() > OVERRIDES_MAX {
                    return Err(format!(
                        "expected at most {OVERRIDES_MAX} changes in a variant"
                    ));
                }
                Ok(())
            }
            // An upper bound on the prod changes of a freeze may be any
            // count: every value is a bound some run meets.
            Expectation::FreezeHolds { .. } => Ok(()),
        }
    }

    /// Its `kind` as scenario files spell it (`time_to_detect`).
    pub fn kind_name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }

    /// The variant a paired expectation runs against.
    pub fn variant(&self) -> Option<VariantSpec<'_>> {
        match self {
            Expectation::Paired {
                variant,
                set,
                timeline_remove,
                ..
            } => Some(VariantSpec {
                about: variant,
                set,
                timeline_remove,
            }),
            _ => None,
        }
    }

    /// Evaluates against a run's outcome (`variant`: the paired run's, for
    /// a paired expectation).
    pub fn check(&self, o: &Outcome, variant: Option<&Outcome>) -> ExpectationResult {
        let e = o.epoch;
        let (name, passed, detail) = match self {
            Expectation::SurfaceUnavailableMinutes {
                date,
                surface,
                cloud,
                min,
                max,
            } => {
                let surfaces: Vec<Surface> = surface.map_or(Surface::ALL.to_vec(), |x| vec![x]);
                let clouds: Vec<Cloud> = cloud.map_or(Cloud::ALL.to_vec(), |x| vec![x]);
                let minutes = o.surface_unavailable_minutes_by_day.get(&day(date));
                let mut worst = Vec::new();
                for &sf in &surfaces {
                    for &c in &clouds {
                        let (si, ci) = (sf as usize, c as usize);
                        let v = minutes.map_or(0.0, |m| m[si][ci]);
                        worst.push((format!("{}/{}", sf.name(), c.name()), v));
                    }
                }
                let bad: Vec<String> = worst
                    .iter()
                    .filter(|(_, v)| *v < *min || *v > *max)
                    .map(|(k, v)| format!("{k} {v:.1}"))
                    .collect();
                let range = worst
                    .iter()
                    .map(|(_, v)| *v)
                    .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
                (
                    format!(
                        "{} unavailable {min}..{max} min on {date} ({})",
                        surface.map_or("every surface", Surface::name),
                        cloud.map_or("every cloud", Cloud::name)
                    ),
                    bad.is_empty(),
                    if bad.is_empty() {
                        format!(
                            "{:.1}..{:.1} min across {} series",
                            range.0,
                            range.1,
                            worst.len()
                        )
                    } else {
                        format!("out of range: {}", bad.join(", "))
                    },
                )
            }
            Expectation::ClustersLostPools { date, min, max } => {
                let v = match date {
                    Some(d) => o
                        .clusters_lost_pools_by_day
                        .get(&day(d))
                        .copied()
                        .unwrap_or(0),
                    None => o.clusters_lost_pools_total,
                };
                (
                    format!(
                        "clusters losing pools {}: {min}..{max}",
                        date.as_deref()
                            .map_or("in the run".to_string(), |d| format!("on {d}"))
                    ),
                    v >= *min && v <= *max,
                    format!("{v} clusters"),
                )
            }
            Expectation::NoPoolLossBefore { at } => {
                let first = o.first_pool_loss_at;
                let ok = first.is_none_or(|f| o.unix_secs(f) >= unix_secs(at));
                (
                    format!("no pool lost before {at}"),
                    ok,
                    format!(
                        "first loss {}",
                        first.map_or("never".into(), |f| e.format(f))
                    ),
                )
            }
            Expectation::MoreLossOn { date, than } => {
                let lost = |d: &str| o.clusters_lost_pools_by_day.get(&day(d)).copied();
                let (a, b) = (lost(date).unwrap_or(0), lost(than).unwrap_or(0));
                (
                    format!("more clusters lose pools on {date} than on {than}"),
                    a > b,
                    format!("{a} vs {b}"),
                )
            }
            Expectation::NotConvergedAtEnd { min, max } => {
                let v = o.clusters_not_converged_at_end;
                let mut reasons: Vec<(&str, u32)> = o
                    .not_converged_by_reason
                    .iter()
                    .map(|(k, n)| (k.name(), *n))
                    .collect();
                reasons.sort();
                let why: Vec<String> = reasons
                    .iter()
                    .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
                    .collect();
                (
                    if *min == 0 {
                        format!("at most {max} clusters not converged at the end")
                    } else {
                        format!("{min}..{max} clusters not converged at the end")
                    },
                    v >= *min && v <= *max,
                    if why.is_empty() {
                        format!("{v} not converged")
                    } else {
                        format!("{v} not converged ({})", why.join(", "))
                    },
                )
            }
            Expectation::AuthSuccessEveryHour {
                date,
                min,
                from_hour,
                to_hour,
            } => {
                let (lo, hi) = (from_hour.unwrap_or(0), to_hour.unwrap_or(23));
                let d = day(date);
                let hours: Vec<(SimTime, f64)> = o
                    .auth
                    .success_by_hour
                    .iter()
                    .copied()
                    .filter(|&(t, _)| {
                        let h = e.hour_of_day(t);
                        o.day(t) == d && h >= lo && h <= hi
                    })
                    .collect();
                let worst = hours.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
                let worst_hour = hours
                    .iter()
                    .find(|(_, v)| *v == worst)
                    .map_or("-".into(), |(t, _)| e.hour(*t));
                (
                    format!("legitimate auth success >= {min} every hour of {date} ({lo:02}-{hi:02} UTC)"),
                    !hours.is_empty() && worst >= *min,
                    format!("worst hour {worst_hour}: {worst:.4}"),
                )
            }
            Expectation::AgentsInHoldMax { max } => (
                format!("at most {max} agents still in safe hold at the end"),
                o.agents_in_hold_at_end <= *max,
                format!("{} in hold", o.agents_in_hold_at_end),
            ),
            Expectation::AuthGoodAfter { at } => {
                let prefix: String = at.chars().take(16).collect();
                let from_minute = unix_secs(at).div_euclid(60);
                let bad: Vec<String> = o
                    .auth
                    .bad_minutes
                    .iter()
                    .filter(|&&t| o.unix_secs(t).div_euclid(60) >= from_minute)
                    .map(|&t| e.format_minute(t))
                    .collect();
                (
                    format!("legitimate auth success >= 99 % every minute from {prefix}"),
                    bad.is_empty(),
                    match bad.first() {
                        None => "no bad minute".into(),
                        Some(first) => format!("{} bad minutes, first {first}", bad.len()),
                    },
                )
            }
            Expectation::AutoscalerFlapsMax { max } => (
                format!("autoscaler flaps at most {max} times an hour"),
                o.auth.autoscaler_flaps_per_hour_max <= *max,
                format!(
                    "worst hour {} direction changes",
                    o.auth.autoscaler_flaps_per_hour_max
                ),
            ),
            Expectation::AuthFailures {
                date,
                cause,
                min,
                max,
                share_min,
                share_max,
            } => {
                let none = AuthFailures::default();
                let f = match date {
                    Some(d) => o.auth.failures_by_day.get(&day(d)).unwrap_or(&none),
                    None => &o.auth.failures,
                };
                let (n, share) = (f.get(*cause), f.share(*cause));
                let when = date.as_deref().unwrap_or("the run");
                let mut bounds = Vec::new();
                if *max != u64::MAX {
                    bounds.push(format!("{min}..{max}"));
                } else if *min > 0 {
                    bounds.push(format!("at least {min}"));
                }
                if *share_min > 0.0 || *share_max < 1.0 {
                    bounds.push(format!("share {share_min}..{share_max}"));
                }
                (
                    format!(
                        "failed logins by {} on {when}: {}",
                        cause.name().replace('_', " "),
                        bounds.join(", ")
                    ),
                    n >= *min && n <= *max && share >= *share_min && share <= *share_max,
                    format!(
                        "{n} of {} failed ({:.1} %); all causes: {}",
                        f.total(),
                        share * 100.0,
                        f.describe()
                    ),
                )
            }
            Expectation::AuthRetryAmplification { min, max } => {
                let v = o.auth.retry_amplification;
                (
                    format!("auth retry amplification {min}..{max}"),
                    v >= *min && v <= *max,
                    format!("{v:.3} attempts per request"),
                )
            }
            Expectation::AuthSuccessDegraded {
                date,
                below,
                hours_min,
            } => {
                let d = day(date);
                let n = o
                    .auth
                    .success_by_hour
                    .iter()
                    .filter(|&&(t, v)| o.day(t) == d && v < *below)
                    .count() as u32;
                (
                    format!("legitimate auth success below {below} for at least {hours_min} h on {date}"),
                    n >= *hours_min,
                    format!("{n} hours below"),
                )
            }
            Expectation::TimeToDetect {
                date,
                incident,
                min_s,
                max_s,
            } => {
                let (inc, what) = selected(o, date, incident);
                let v = inc.and_then(Incident::time_to_detect_s);
                (
                    format!("{what} detected within {min_s}..{max_s} s"),
                    v.is_some_and(|v| v >= *min_s && v <= *max_s),
                    v.map_or("not detected".into(), |v| format!("{v:.0} s")),
                )
            }
            Expectation::RestoredBy { date, incident, by } => {
                let (inc, what) = selected(o, date, incident);
                let done = inc.and_then(|i| i.restore_completed_at);
                let ok = done.is_some_and(|d| o.unix_secs(d) <= unix_secs(by));
                (
                    format!("clusters of {what} restored by {by}"),
                    ok,
                    format!("restored {}", done.map_or("never".into(), |d| e.format(d))),
                )
            }
            Expectation::RestoreHoursMax {
                date,
                incident,
                max_h,
            } => {
                let (inc, what) = selected(o, date, incident);
                let h = inc.and_then(Incident::restore_hours_after_detection);
                (
                    format!("restoration of {what} takes at most {max_h} h after detection"),
                    h.is_some_and(|h| h <= *max_h),
                    h.map_or("not restored".into(), |h| format!("{h:.1} h")),
                )
            }
            Expectation::CustomerChanges {
                late_max,
                issued_min,
            } => {
                let ch = &o.customer_changes;
                (
                    format!("customer changes carried out in time: at most {late_max} late (of at least {issued_min})"),
                    ch.late + ch.collect_late <= *late_max && ch.issued >= *issued_min,
                    format!(
                        "{} issued, {} carried out, {} late, {} removals collected, {} collected late{}",
                        ch.issued,
                        ch.carried_out,
                        ch.late,
                        ch.collected,
                        ch.collect_late,
                        ch.first_late
                            .first()
                            .map(|l| format!("; first late: {}", l.describe(e)))
                            .unwrap_or_default()
                    ),
                )
            }
            Expectation::MoreLossInIncident { incident, than } => {
                let lost = |sel: &IncidentSel| sel.find(o).map(|i| i.clusters_affected);
                let (a, b) = (lost(incident), lost(than));
                let show =
                    |v: Option<u32>| v.map_or("no such incident".to_string(), |v| v.to_string());
                (
                    format!(
                        "more clusters lose pools in {} than in {}",
                        incident.describe(),
                        than.describe()
                    ),
                    matches!((a, b), (Some(a), Some(b)) if a > b),
                    format!("{} vs {}", show(a), show(b)),
                )
            }
            Expectation::IncidentClustersLost { incident, min, max } => {
                let v = incident.find(o).map(|i| i.clusters_affected);
                (
                    format!(
                        "clusters losing pools in {}: {min}..{max}",
                        incident.describe()
                    ),
                    v.is_some_and(|v| v >= *min && v <= *max),
                    v.map_or("no such incident".into(), |v| format!("{v} clusters")),
                )
            }
            Expectation::Findings { rule, min, max } => {
                let v = match rule {
                    Some(r) => o.findings.of(*r),
                    None => o.findings.total,
                };
                (
                    format!(
                        "findings {}: {min}..{max}",
                        rule.map_or("(any rule)", Rule::id)
                    ),
                    v >= *min && v <= *max,
                    format!("{v} findings"),
                )
            }
            Expectation::FreezeHolds { max } => {
                let v = o
                    .changes_applied
                    .iter()
                    .filter(|c| {
                        c.during_freeze && !c.emergency && !c.leaked && c.applied_to == Env::Prod
                    })
                    .count() as u32;
                (
                    format!("at most {max} ordinary prod changes during the freeze"),
                    v <= *max,
                    format!("{v} ordinary changes applied during the freeze"),
                )
            }
            Expectation::ChangesLeaked { min, max } => {
                let v = o.changes_applied.iter().filter(|c| c.leaked).count() as u32;
                (
                    format!("staging changes leaked to prod: {min}..{max}"),
                    v >= *min && v <= *max,
                    format!("{v} leaked"),
                )
            }
            Expectation::Rollout {
                upgraded_min,
                upgraded_max,
                halted_by_health_gate,
            } => {
                let r = o.rollouts.last();
                let upgraded = r.map_or(0, |r| r.upgraded);
                let by_gate = r.is_some_and(|r| r.halted_by_health_gate());
                let gate_ok = halted_by_health_gate.is_none_or(|want| want == by_gate);
                let gate_text = match halted_by_health_gate {
                    Some(true) => ", halted by its health gate",
                    Some(false) => ", not halted by its health gate",
                    None => "",
                };
                (
                    format!(
                        "the rollout upgrades {upgraded_min}..{upgraded_max} clusters{gate_text}"
                    ),
                    r.is_some()
                        && upgraded >= *upgraded_min
                        && upgraded <= *upgraded_max
                        && gate_ok,
                    match r {
                        None => "no rollout".into(),
                        Some(r) => format!(
                            "{upgraded} upgraded; {}",
                            match (&r.halted_by, r.completed_at) {
                                (Some(b), _) if r.halted => format!("halted by {}", b.describe()),
                                (_, Some(at)) => format!("completed {}", e.format(at)),
                                _ => "still running".into(),
                            }
                        ),
                    },
                )
            }
            Expectation::Paired {
                variant: about,
                set,
                timeline_remove,
                metric,
                incident,
                less_by_min,
                ratio_max,
            } => {
                let spec = VariantSpec {
                    about,
                    set,
                    timeline_remove,
                };
                let what = incident
                    .as_ref()
                    .map_or("the run".to_string(), IncidentSel::describe);
                let mut want = Vec::new();
                if let Some(d) = less_by_min {
                    want.push(format!("at least {d} lower"));
                }
                if let Some(r) = ratio_max {
                    want.push(format!("at most {r}x"));
                }
                let name = format!(
                    "{} in {what}: {} than {about}",
                    metric.name(),
                    want.join(" and ")
                );
                let this = metric.of(o, incident.as_ref());
                let other = variant.and_then(|v| metric.of(v, incident.as_ref()));
                let (passed, detail) = match (this, other, variant) {
                    (_, _, None) => (false, "the variant did not run".to_string()),
                    (Some(a), Some(b), Some(v)) => {
                        let ok = less_by_min.is_none_or(|d| a <= b - d)
                            && ratio_max.is_none_or(|r| a <= r * b);
                        (
                            ok,
                            format!(
                                "{a:.2} vs {b:.2} (difference {:.2}, ratio {}); variant: {}; variant trace {}",
                                b - a,
                                if b > 0.0 { format!("{:.2}", a / b) } else { "-".into() },
                                spec.changes().join(", "),
                                format_args!("{:016x}", v.run.trace_hash)
                            ),
                        )
                    }
                    (a, b, Some(_)) => (
                        false,
                        format!(
                            "not measured: this run {}, the variant {}",
                            a.map_or("none".into(), |a| format!("{a:.2}")),
                            b.map_or("none".into(), |b| format!("{b:.2}"))
                        ),
                    ),
                };
                (name, passed, detail)
            }
        };
        ExpectationResult {
            name,
            passed,
            detail,
            calibrated_by: Vec::new(),
        }
    }
}

/// Serde default of an open upper count bound.
fn u64_max() -> u64 {
    u64::MAX
}

/// Serde default of an upper share bound.
fn one() -> f64 {
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(lost: &[u32], restore_h: &[f64]) -> Outcome {
        let mut o = Outcome::empty(Epoch::parse("2025-03-18T00:00Z").unwrap());
        for (k, (&n, &h)) in lost.iter().zip(restore_h).enumerate() {
            let started = SimTime::from_secs((4 + 4 * k as u64) * 86_400 + 15 * 3_600);
            o.incidents.push(Incident {
                clusters_affected: n,
                detected_at: Some(started),
                restore_completed_at: Some(
                    started + cascade_sim::SimDuration::from_secs_f64(h * 3_600.0),
                ),
                ..Incident::new(
                    crate::outcome::IncidentKind::Pool(
                        crate::model::responder::IncidentCause::PoolLoss,
                    ),
                    k as u32 + 1,
                    started,
                )
            });
        }
        o.clusters_lost_pools_total = lost.iter().sum();
        o
    }

    fn paired(metric: PairMetric, less_by_min: Option<f64>, ratio_max: Option<f64>) -> Expectation {
        Expectation::Paired {
            variant: "without the fix".into(),
            set: BTreeMap::new(),
            timeline_remove: vec!["E8".into()],
            metric,
            incident: Some(IncidentSel::Number(2)),
            less_by_min,
            ratio_max,
        }
    }

    #[test]
    fn a_pair_compares_the_two_measured_runs() {
        let with_fix = summary(&[157, 215], &[10.0, 5.0]);
        let without = summary(&[157, 265], &[10.0, 9.0]);
        let e = paired(PairMetric::ClustersLost, Some(30.0), None);
        let r = e.check(&with_fix, Some(&without));
        assert!(r.passed, "{}", r.detail);
        assert!(
            r.detail.starts_with("215.00 vs 265.00 (difference 50.00"),
            "{}",
            r.detail
        );
        // Not enough difference, no difference, or the wrong way: fail.
        assert!(
            !paired(PairMetric::ClustersLost, Some(60.0), None)
                .check(&with_fix, Some(&without))
                .passed
        );
        assert!(!e.check(&without, Some(&without)).passed);
        assert!(!e.check(&without, Some(&with_fix)).passed);
        // A ratio: 5 h against 9 h.
        let r = paired(PairMetric::RestoreHours, None, Some(0.6)).check(&with_fix, Some(&without));
        assert!(r.passed, "{}", r.detail);
        assert!(
            !paired(PairMetric::RestoreHours, None, Some(0.5))
                .check(&with_fix, Some(&without))
                .passed
        );
        // Unmeasured (no variant run, or no such incident): fail, never pass.
        assert!(!e.check(&with_fix, None).passed);
        let one = summary(&[157], &[10.0]);
        let r = e.check(&with_fix, Some(&one));
        assert!(
            !r.passed && r.detail.starts_with("not measured"),
            "{}",
            r.detail
        );
    }

    #[test]
    fn the_limits_repeat_the_models() {
        // Limits the model enforces elsewhere, repeated here for the
        // expectations' words: a change there must show here.
        let mut m = crate::config::ModelConfig::default();
        m.fleet.clusters = CLUSTERS_MAX;
        assert_eq!(m.fleet.validate(), Ok(()));
        m.fleet.clusters += 1;
        assert!(m.fleet.validate().is_err());
        m.auth.traffic.retry_attempts_max = ATTEMPTS_MAX as u32;
        assert_eq!(m.auth.validate(), Ok(()));
        m.auth.traffic.retry_attempts_max += 1;
        assert!(m.auth.validate().is_err());
    }

    #[test]
    fn incidents_are_selected_by_number_or_window_not_by_calendar_day() {
        let s = summary(&[157, 112], &[10.0, 5.0]);
        let more = Expectation::MoreLossInIncident {
            incident: IncidentSel::Number(2),
            than: IncidentSel::Number(1),
        };
        let r = more.check(&s, None);
        assert!(!r.passed);
        assert_eq!(r.detail, "112 vs 157");
        let window = IncidentSel::Window {
            began_after: "2025-03-26T00:00Z".into(),
            began_before: "2025-03-27T00:00Z".into(),
        };
        assert_eq!(window.find(&s).map(|i| i.number), Some(2));
        assert!(IncidentSel::Number(3).find(&s).is_none());
        assert!(IncidentSel::Number(0).validate("incident").is_err());
        let backwards = IncidentSel::Window {
            began_after: "2025-03-27T00:00Z".into(),
            began_before: "2025-03-26T00:00Z".into(),
        };
        assert!(backwards.validate("incident").is_err());
    }
}
