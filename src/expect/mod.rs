//! Expectations: what a scenario says its run must show, checked against the
//! run's typed [`Outcome`] (never the summary's text). Each is typed, so a
//! typo in a scenario is a load error, not a silently passing check.
//!
//! [`Expectation`] is the file format (`{"kind": "...", ...}`; the
//! scenario schema is generated from it). Each kind is a struct of its own
//! behind the [`Check`] trait (its load-time validation and its check),
//! dispatched from the enum in one place ([`Expectation::kind`]).
//!
//! Map of the modules:
//! - this file: the enum, [`ExpectationResult`], the shared limits and
//!   bound checks;
//! - `damage`: pools lost (per day, in the run, the first loss),
//!   customer surfaces, convergence and agents in hold at the end;
//! - `auth`: legitimate auth success, failure causes, retries, the
//!   autoscaler;
//! - `incident`: one pool incident (detection, restoration, size) and
//!   [`IncidentSel`];
//! - `change`: the freeze, leaks, the customers' changes, the rollout;
//! - `findings`: invariant findings;
//! - `paired`: paired runs, [`PairMetric`], [`VariantSpec`].

mod auth;
mod change;
mod damage;
mod findings;
mod incident;
mod paired;

pub use auth::{
    AuthFailures, AuthGoodAfter, AuthRetryAmplification, AuthSuccessDegraded, AuthSuccessEveryHour,
    AutoscalerFlapsMax,
};
pub use change::{ChangesLeaked, CustomerChanges, FreezeHolds, Rollout};
pub use damage::{
    AgentsInHoldMax, ClustersLostPools, MoreLossOn, NoPoolLossBefore, NotConvergedAtEnd,
    SurfaceUnavailableMinutes,
};
pub use findings::Findings;
pub use incident::{
    IncidentClustersLost, IncidentSel, MoreLossInIncident, RestoreHoursMax, RestoredBy,
    TimeToDetect,
};
pub use paired::{HoldsOver, PairMetric, Paired, VariantSpec};

use crate::checks::Rule;
use crate::model::responder::INCIDENTS_MAX;
use crate::outcome::{self, AuthFailureCause, Day, Incident, Outcome, Surface};
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
    SurfaceUnavailableMinutes(SurfaceUnavailableMinutes),
    ClustersLostPools(ClustersLostPools),
    NoPoolLossBefore(NoPoolLossBefore),
    MoreLossOn(MoreLossOn),
    NotConvergedAtEnd(NotConvergedAtEnd),
    AuthSuccessEveryHour(AuthSuccessEveryHour),
    AgentsInHoldMax(AgentsInHoldMax),
    AuthGoodAfter(AuthGoodAfter),
    AutoscalerFlapsMax(AutoscalerFlapsMax),
    AuthRetryAmplification(AuthRetryAmplification),
    AuthFailures(AuthFailures),
    AuthSuccessDegraded(AuthSuccessDegraded),
    TimeToDetect(TimeToDetect),
    RestoredBy(RestoredBy),
    RestoreHoursMax(RestoreHoursMax),
    MoreLossInIncident(MoreLossInIncident),
    IncidentClustersLost(IncidentClustersLost),
    Findings(Findings),
    FreezeHolds(FreezeHolds),
    ChangesLeaked(ChangesLeaked),
    CustomerChanges(CustomerChanges),
    Rollout(Rollout),
    Paired(Paired),
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
    /// The figure the bounds apply to, as a number (what the sensitivity
    /// runs of `cascade run --provenance` compare); absent when there is
    /// nothing to measure (no such incident, never restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
    /// How the fact is reached, found by the sensitivity runs of `cascade
    /// run --provenance` (absent without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<Found>,
}

/// A measured figure in one of four units: durations in seconds, instants
/// in seconds from the run's start, counts, and dimensionless ratios and
/// fractions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measured {
    pub value: f64,
    pub unit: MeasureUnit,
}

/// The unit of a [`Measured`] figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeasureUnit {
    /// A duration (time to detect, hours to restore, minutes unavailable).
    Seconds,
    /// An instant, as seconds from the run's start (first loss, restored
    /// by). It has no scale of its own: how far it is from the start says
    /// nothing about how much a move of it matters.
    Instant,
    Count,
    Ratio,
}

/// How a fact is reached, as the sensitivity runs of
/// [`crate::provenance`] find it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Scripted,
    Calibrated,
    Emergent,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Scripted => "scripted",
            Class::Calibrated => "calibrated",
            Class::Emergent => "emergent",
        }
    }
}

/// The provenance the sensitivity runs found for one expectation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Found {
    pub class: Class,
    /// The inputs that set it one for one (scripted), or the tuned fields
    /// it moves with (calibrated), by name; empty when emergent.
    pub by: Vec<String>,
    /// Every perturbation its figure moves with, with the figure's change
    /// (`E1.for +22.5 min (+22.5 min)`).
    pub moves_with: Vec<Moved>,
}

/// One perturbation a fact's figure moved with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Moved {
    /// The input: `E1.for`, `without E9`, `tuned model.x`.
    pub input: String,
    /// The perturbation: `E1.for +22.5 min`.
    pub perturbation: String,
    /// The figure's change: `+22.5 min`, `+18`, `no longer measured`.
    pub change: String,
}

impl Found {
    /// `scripted by E1.for`, `emergent; moves with R1.at +60.0 min (+2)`.
    pub fn describe(&self) -> String {
        let mut s = self.class.name().to_string();
        if !self.by.is_empty() {
            s += &format!(" by {}", self.by.join(", "));
        }
        // The perturbations of inputs already named above are not repeated.
        let others: Vec<String> = self
            .moves_with
            .iter()
            .filter(|m| !self.by.contains(&m.input))
            .map(|m| format!("{} ({})", m.perturbation, m.change))
            .collect();
        if !others.is_empty() {
            s += &format!("; moves with {}", others.join(", "));
        }
        s
    }
}

impl Measured {
    pub fn seconds(value: f64) -> Measured {
        Measured {
            value,
            unit: MeasureUnit::Seconds,
        }
    }
    /// An instant, `secs` from the run's start.
    pub fn instant(secs: f64) -> Measured {
        Measured {
            value: secs,
            unit: MeasureUnit::Instant,
        }
    }
    pub fn count(value: f64) -> Measured {
        Measured {
            value,
            unit: MeasureUnit::Count,
        }
    }
    pub fn ratio(value: f64) -> Measured {
        Measured {
            value,
            unit: MeasureUnit::Ratio,
        }
    }
}

impl ExpectationResult {
    /// How the fact is reached: what the sensitivity runs found when they
    /// ran, else `calibrated (field, ...)` or `emergent` as the scenario's
    /// `tuned` entries declare.
    pub fn provenance(&self) -> String {
        if let Some(f) = &self.found {
            return f.describe();
        }
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

/// One kind of expectation: its load-time validation and its check.
pub trait Check {
    /// Checks its own fields at load time: each number in its range, each
    /// pair of bounds in order, dates and times readable. The error reads
    /// `field: expected …, found …`.
    fn validate(&self, epoch: &Epoch) -> Result<(), String>;

    /// Judges a run's outcome (`variant`: the paired run's, for a paired
    /// expectation).
    fn check(&self, o: &Outcome, variant: Option<&Outcome>) -> Judged;
}

/// What a check says: the expectation in words, whether it held, what
/// was measured in words, and as the figure its bounds apply to.
pub type Judged = (String, bool, String, Option<Measured>);

/// Largest time a run measures, named (the range of a time field).
const SPAN_S: (&str, f64) = ("366 days", SPAN_S_MAX);

/// A date field written as `YYYY-MM-DD`.
fn date_of(field: &str, d: &str) -> Result<(), String> {
    if is_date(d) {
        Ok(())
    } else {
        Err(format!("{field}: expected YYYY-MM-DD, found {d:?}"))
    }
}

/// The `date` field.
fn date(d: &str) -> Result<(), String> {
    date_of("date", d)
}

impl Expectation {
    /// The kind behind the file's `kind`: the one place the enum meets
    /// the trait.
    pub fn kind(&self) -> &dyn Check {
        match self {
            Expectation::SurfaceUnavailableMinutes(k) => k,
            Expectation::ClustersLostPools(k) => k,
            Expectation::NoPoolLossBefore(k) => k,
            Expectation::MoreLossOn(k) => k,
            Expectation::NotConvergedAtEnd(k) => k,
            Expectation::AuthSuccessEveryHour(k) => k,
            Expectation::AgentsInHoldMax(k) => k,
            Expectation::AuthGoodAfter(k) => k,
            Expectation::AutoscalerFlapsMax(k) => k,
            Expectation::AuthRetryAmplification(k) => k,
            Expectation::AuthFailures(k) => k,
            Expectation::AuthSuccessDegraded(k) => k,
            Expectation::TimeToDetect(k) => k,
            Expectation::RestoredBy(k) => k,
            Expectation::RestoreHoursMax(k) => k,
            Expectation::MoreLossInIncident(k) => k,
            Expectation::IncidentClustersLost(k) => k,
            Expectation::Findings(k) => k,
            Expectation::FreezeHolds(k) => k,
            Expectation::ChangesLeaked(k) => k,
            Expectation::CustomerChanges(k) => k,
            Expectation::Rollout(k) => k,
            Expectation::Paired(k) => k,
        }
    }

    /// Checks the expectation's own fields at load time (see [`Check::validate`]).
    pub fn validate(&self, epoch: &Epoch) -> Result<(), String> {
        self.kind().validate(epoch)
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
            Expectation::Paired(p) => Some(p.spec()),
            _ => None,
        }
    }

    /// Evaluates against a run's outcome (`variant`: the paired run's, for
    /// a paired expectation).
    pub fn check(&self, o: &Outcome, variant: Option<&Outcome>) -> ExpectationResult {
        let (name, passed, detail, measured) = self.kind().check(o, variant);
        ExpectationResult {
            name,
            passed,
            detail,
            calibrated_by: Vec::new(),
            measured,
            found: None,
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

    fn outcome_of(lost: &[u32], restore_h: &[f64]) -> Outcome {
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
        Expectation::Paired(Paired {
            variant: "without the fix".into(),
            set: BTreeMap::new(),
            timeline_remove: vec!["E8".into()],
            metric,
            incident: Some(IncidentSel::Number(2)),
            less_by_min,
            ratio_max,
            holds_over: None,
        })
    }

    #[test]
    fn a_pair_compares_the_two_measured_runs() {
        let with_fix = outcome_of(&[157, 215], &[10.0, 5.0]);
        let without = outcome_of(&[157, 265], &[10.0, 9.0]);
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
        let one = outcome_of(&[157], &[10.0]);
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
        let s = outcome_of(&[157, 112], &[10.0, 5.0]);
        let more = Expectation::MoreLossInIncident(MoreLossInIncident {
            incident: IncidentSel::Number(2),
            than: IncidentSel::Number(1),
        });
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
