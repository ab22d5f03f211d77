//! Chaos profiles: which fault kinds a seed may draw, in what ranges, on top
//! of which base scenario.
//!
//! ```json
//! { "name": "fixed-400", "base": "../scenarios/chaos/_base-400.json",
//!   "swarm_ratio": 0.5, "fault_window_h": 24, "quiet_h": 12,
//!   "faults": { "edge_misroute": { "count_max": 2, "duration": ["10m", "6h"], "magnitude": [0.05, 0.5] } } }
//! ```

use crate::model::agent::ReleaseDefect;
use crate::scenario::ScenarioError;
use cascade_sim::parse_duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The longest fault window and quiet period, in hours (60 days).
pub const HOURS_MAX: f64 = 24.0 * 60.0;
/// Anchored mode's largest move of an event, in hours: ten days covers any
/// timeline the model runs.
pub const JITTER_H_MAX: f64 = 240.0;
/// Anchored mode's largest resize, a fraction: below 1, a size never
/// reaches 0 nor doubles past the original.
pub const SIZE_JITTER_MAX: f64 = 0.95;
/// Most autoscaler direction changes a profile may allow in an hour: the
/// autoscaler syncs at most once a second.
pub const FLAPS_PER_HOUR_MAX: u32 = 3_600;
/// A fault's longest duration, in hours: ten days.
pub const DURATION_H_MAX: f64 = 240.0;
/// Most faults of one kind a seed may draw.
pub const COUNT_MAX: u32 = 20;
/// Most seeds of a nightly sweep: one invocation's worth.
pub const NIGHTLY_SEEDS_MAX: u64 = 1_000_000;

/// Every fault kind chaos can draw.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Auth → vendor path blackholed (magnitude unused).
    VendorBlackhole,
    /// Auth → vendor path losing `magnitude` of the calls.
    VendorLoss,
    /// Vendor `magnitude` times slower.
    VendorSlowdown,
    /// Vendor answers 429 to everything.
    #[serde(rename = "vendor_429_storm")]
    Vendor429Storm,
    /// Bot traffic at `magnitude` times legitimate traffic.
    BotSurge,
    /// `magnitude` auth replicas crash (duration unused).
    ReplicaCrash,
    /// An edge change misroutes `magnitude` of the clusters to a 404 backend.
    EdgeMisroute,
    /// A staging change leaks into prod, misrouting `magnitude` of the clusters.
    StagingLeak,
    /// The desired-state service answers 5xx to `magnitude` of the requests.
    #[serde(rename = "service_5xx")]
    Service5xx,
    /// The desired-state service times out on `magnitude` of the requests.
    ServiceTimeouts,
    /// The desired-state service serves the previous generation.
    GenerationRegression,
    /// The desired-state service leaves an extra pool out of `magnitude` of the answers.
    PartialDesiredState,
    /// Cloud pool operations `magnitude` times slower.
    CloudLatency,
    /// Cloud mutating calls limited to `magnitude` per second per account.
    CloudRateLimit,
    /// `magnitude` of the cloud pool creations fail.
    CloudCreateFailures,
    /// On-call acknowledges `magnitude` times slower.
    OperatorDelay,
    /// A rollout alarm halts a running rollout.
    RolloutAlarm,
    /// The agents of `magnitude` of the clusters crash (or lose their
    /// `system` node to preemption) and restart as fresh processes when
    /// the fault ends.
    AgentCrash,
    /// The cloud listing lags the truth by up to `magnitude` seconds.
    ListingLag,
    /// Bot traffic that rises and falls, up to `magnitude` times legitimate
    /// traffic: a square or sine wave of 2 to 7 periods over the fault's
    /// duration (shape and period fixed by the fault's start, a draw of the
    /// seed).
    BotOscillation,
    /// Bot traffic in short spikes up to `magnitude` times legitimate
    /// traffic: a spike of 30 s to 3 min every 5 to 30 min (fixed by the
    /// fault's start), each of its own height.
    BotBursts,
    /// The build the base's rollout ships is bad, drawn shortly before it
    /// starts; the team finds it and rolls it back at the fault's end.
    /// `magnitude` picks the defect by its whole part: [0, 1) `crash_loop`, [1, 2) `slow_leak`, [2, 3]
    /// `breaks_behind_misroute` ([`FaultKind::release_defect`]).
    BadRelease,
}

impl FaultKind {
    /// Every kind, in declaration order (the schema test checks it is
    /// complete).
    pub const ALL: [FaultKind; 22] = [
        FaultKind::VendorBlackhole,
        FaultKind::VendorLoss,
        FaultKind::VendorSlowdown,
        FaultKind::Vendor429Storm,
        FaultKind::BotSurge,
        FaultKind::ReplicaCrash,
        FaultKind::EdgeMisroute,
        FaultKind::StagingLeak,
        FaultKind::Service5xx,
        FaultKind::ServiceTimeouts,
        FaultKind::GenerationRegression,
        FaultKind::PartialDesiredState,
        FaultKind::CloudLatency,
        FaultKind::CloudRateLimit,
        FaultKind::CloudCreateFailures,
        FaultKind::OperatorDelay,
        FaultKind::RolloutAlarm,
        FaultKind::AgentCrash,
        FaultKind::ListingLag,
        FaultKind::BotOscillation,
        FaultKind::BotBursts,
        FaultKind::BadRelease,
    ];

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    /// The values `magnitude` may take: those of the timeline action the
    /// kind becomes (`None`: the kind has no magnitude).
    pub fn magnitude_range(self) -> Option<(f64, f64)> {
        use crate::timeline::{CALLS_PER_S_MIN, FACTOR_MAX, FACTOR_MIN};
        match self {
            FaultKind::VendorBlackhole
            | FaultKind::Vendor429Storm
            | FaultKind::GenerationRegression
            | FaultKind::RolloutAlarm => None,
            FaultKind::VendorLoss
            | FaultKind::EdgeMisroute
            | FaultKind::StagingLeak
            | FaultKind::Service5xx
            | FaultKind::ServiceTimeouts
            | FaultKind::PartialDesiredState
            | FaultKind::CloudCreateFailures
            | FaultKind::AgentCrash => Some((0.0, 1.0)),
            FaultKind::VendorSlowdown | FaultKind::CloudLatency | FaultKind::OperatorDelay => {
                Some((FACTOR_MIN, FACTOR_MAX))
            }
            FaultKind::BotSurge | FaultKind::BotOscillation | FaultKind::BotBursts => {
                Some((0.0, 10_000.0))
            }
            FaultKind::ReplicaCrash => Some((0.0, 1_000.0)),
            FaultKind::ListingLag => Some((0.0, 86_400.0)),
            FaultKind::CloudRateLimit => Some((CALLS_PER_S_MIN, 1_000_000.0)),
            FaultKind::BadRelease => Some((0.0, 3.0)),
        }
    }

    /// The defect a `bad_release` fault of `magnitude` ships: its whole
    /// part indexes the defective kinds of [`ReleaseDefect::ALL`] (3.0,
    /// the range's top, is the last).
    pub fn release_defect(magnitude: f64) -> ReleaseDefect {
        let bad = &ReleaseDefect::ALL[1..];
        let i = (magnitude.max(0.0) as usize).min(bad.len() - 1);
        bad[i]
    }

    /// Kinds whose effect is on the auth path (for the auth liveness check).
    pub fn is_auth(self) -> bool {
        matches!(
            self,
            FaultKind::VendorBlackhole
                | FaultKind::VendorLoss
                | FaultKind::VendorSlowdown
                | FaultKind::Vendor429Storm
                | FaultKind::BotSurge
                | FaultKind::ReplicaCrash
                | FaultKind::BotOscillation
                | FaultKind::BotBursts
        )
    }
}

/// The range a fault kind is drawn from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRange {
    /// At most this many faults of the kind per seed (at least one when enabled).
    pub count_max: u32,
    /// Shortest and longest duration, e.g. `["10m", "6h"]`.
    pub duration: [String; 2],
    /// Smallest and largest magnitude (meaning depends on the kind).
    pub magnitude: [f64; 2],
}

impl Default for FaultRange {
    fn default() -> Self {
        FaultRange {
            count_max: 1,
            duration: ["10m".into(), "2h".into()],
            magnitude: [0.1, 0.5],
        }
    }
}

/// A chaos profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The JSON Schema the file follows (`cascade schema profile`), for
    /// editors; not read.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The base scenario (relative to the profile file): model and start.
    pub base: String,
    /// Each fault kind is enabled for a seed with this probability (swarm testing).
    #[serde(default = "half")]
    pub swarm_ratio: f64,
    /// Faults start within this many hours after the start (after a 1 h warm-up).
    #[serde(default = "day")]
    pub fault_window_h: f64,
    /// Liveness bound: the run ends this long after the last fault heals, and
    /// by then every cluster must have converged.
    #[serde(default = "half_day")]
    pub quiet_h: f64,
    /// Anchored mode: keep the base's timeline, jittering its times by up to
    /// `jitter_h` and its sizes by up to `size_jitter` (a fraction).
    #[serde(default)]
    pub anchored: bool,
    #[serde(default)]
    pub jitter_h: f64,
    #[serde(default)]
    pub size_jitter: f64,
    /// Most autoscaler direction changes allowed in an hour (flapping).
    #[serde(default = "six")]
    pub flaps_per_hour_max: u32,
    /// The statistical liveness gate: over a sweep, the p99 of the seeds'
    /// time-to-converge after the last fault heals must not exceed this
    /// many hours (a seed that never converges counts as infinite). Default
    /// `quiet_h`, which only repeats the per-seed bound; a tighter figure
    /// fails a sweep whose tail drifts even when every seed still passes.
    #[serde(default)]
    pub converge_p99_h_max: Option<f64>,
    /// Seeds the nightly sweep runs of this profile (split over its shards;
    /// `.github/scripts/nightly-chaos.sh`).
    #[serde(default = "thousand")]
    pub nightly_seeds: u64,
    /// What a sweep of this profile should find: `pass` (no failing seed),
    /// or `fail` for a profile of a system known to be broken (the March
    /// 2025 agent), whose nightly sweep checks the harness still catches it.
    #[serde(default)]
    pub expected: SweepExpected,
    /// The interesting states this profile's ranges are meant to reach
    /// (`crate::coverage::Reached`); a sweep that reaches one on no seed
    /// says so in its closing lines (a coverage finding, not a failure:
    /// a short sweep may miss a rare state).
    #[serde(default)]
    pub should_reach: Vec<crate::coverage::Reached>,
    /// Rules the base's system breaks by design (the historical agent's
    /// I1, whose deletes a recovery profile's script must clean up after):
    /// their findings do not fail a seed; every other rule's still do.
    #[serde(default)]
    pub tolerated_rules: Vec<crate::checks::Rule>,
    pub faults: BTreeMap<FaultKind, FaultRange>,
}

impl Profile {
    /// The liveness gate's bound on the sweep's p99 time-to-converge, in hours.
    pub fn converge_p99_h_bound(&self) -> f64 {
        self.converge_p99_h_max.unwrap_or(self.quiet_h)
    }
}

/// What a sweep of a profile should find.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SweepExpected {
    /// No seed fails.
    #[default]
    Pass,
    /// Failures are found: the profile runs a system known to be broken.
    Fail,
}

fn thousand() -> u64 {
    1_000
}

fn half() -> f64 {
    0.5
}
fn day() -> f64 {
    24.0
}
fn half_day() -> f64 {
    12.0
}
fn six() -> u32 {
    6
}

/// A loaded profile and where its base lives.
#[derive(Clone, Debug)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub path: PathBuf,
    pub base_path: PathBuf,
}

fn err(file: &Path, path: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_path_buf(),
        path: path.to_string(),
        message: message.into(),
    }
}

/// The JSON Schema of a chaos profile file (`cascade schema profile`).
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Profile).to_value();
    schema["title"] = serde_json::Value::from("cascade chaos profile");
    schema
}

/// Loads and checks a profile file.
pub fn load(path: &Path) -> Result<LoadedProfile, ScenarioError> {
    let text = crate::files::read_to_string_capped(path, crate::files::SCENARIO_BYTES_MAX)
        .map_err(|m| err(path, "", m))?;
    parse(path, &text)
}

/// Parses and checks a profile's text as if read from `path` (its `base`
/// resolves beside it; the base is not read here).
pub fn parse(path: &Path, text: &str) -> Result<LoadedProfile, ScenarioError> {
    // Not JSON, or a key named twice (kept once, silently, by the typed
    // parse below): refused first, as in a scenario file.
    crate::scenario::parse_text(path, text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let profile: Profile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let p = e.path().to_string();
        err(
            path,
            if p == "." { "" } else { &p },
            e.into_inner().to_string(),
        )
    })?;
    // The name becomes a folder under reports/chaos/.
    crate::files::check_path_name(&profile.name).map_err(|m| err(path, "name", m))?;
    if !(0.0..=1.0).contains(&profile.swarm_ratio) {
        return Err(err(
            path,
            "swarm_ratio",
            format!(
                "expected a fraction in [0, 1], found {}",
                profile.swarm_ratio
            ),
        ));
    }
    for (field, v) in [
        ("fault_window_h", profile.fault_window_h),
        ("quiet_h", profile.quiet_h),
    ] {
        if !(v > 0.0 && v <= HOURS_MAX) {
            return Err(err(
                path,
                field,
                format!("expected hours in (0, 1440], found {v}"),
            ));
        }
    }
    for (field, v, hi) in [
        ("jitter_h", profile.jitter_h, JITTER_H_MAX),
        ("size_jitter", profile.size_jitter, SIZE_JITTER_MAX),
    ] {
        if !(0.0..=hi).contains(&v) {
            return Err(err(path, field, format!("expected 0 to {hi}, found {v}")));
        }
    }
    if let Some(v) = profile.converge_p99_h_max {
        if !(v > 0.0 && v <= profile.quiet_h) {
            return Err(err(
                path,
                "converge_p99_h_max",
                format!(
                    "expected hours in (0, quiet_h = {}], found {v}",
                    profile.quiet_h
                ),
            ));
        }
    }
    if !(1..=NIGHTLY_SEEDS_MAX).contains(&profile.nightly_seeds) {
        return Err(err(
            path,
            "nightly_seeds",
            format!("expected 1 to 1000000, found {}", profile.nightly_seeds),
        ));
    }
    if !(1..=FLAPS_PER_HOUR_MAX).contains(&profile.flaps_per_hour_max) {
        return Err(err(
            path,
            "flaps_per_hour_max",
            format!("expected 1 to 3600, found {}", profile.flaps_per_hour_max),
        ));
    }
    if profile.faults.is_empty() {
        return Err(err(path, "faults", "expected at least one fault kind"));
    }
    for (kind, r) in &profile.faults {
        let at = format!("faults.{}", kind.name());
        let d0 = parse_duration(&r.duration[0])
            .map_err(|m| err(path, &format!("{at}.duration[0]"), m))?;
        let d1 = parse_duration(&r.duration[1])
            .map_err(|m| err(path, &format!("{at}.duration[1]"), m))?;
        if d0 > d1 {
            return Err(err(
                path,
                &format!("{at}.duration"),
                "expected [shortest, longest]",
            ));
        }
        // With every field at its maximum, the generated scenarios of the
        // committed bases still fit the longest span a scenario may have.
        if d1.as_secs_f64() > DURATION_H_MAX * 3_600.0 {
            return Err(err(
                path,
                &format!("{at}.duration[1]"),
                format!(
                    "expected a duration of at most ten days ({DURATION_H_MAX}h), found {:?}",
                    r.duration[1]
                ),
            ));
        }
        if !(r.magnitude[0] <= r.magnitude[1] && r.magnitude[0] >= 0.0) {
            return Err(err(
                path,
                &format!("{at}.magnitude"),
                "expected [smallest, largest], both >= 0",
            ));
        }
        if let Some((lo, hi)) = kind.magnitude_range() {
            if !(r.magnitude[0] >= lo && r.magnitude[1] <= hi) {
                return Err(err(
                    path,
                    &format!("{at}.magnitude"),
                    format!(
                        "expected values within [{lo}, {hi}] for {}, found [{}, {}]",
                        kind.name(),
                        r.magnitude[0],
                        r.magnitude[1]
                    ),
                ));
            }
        }
        if r.count_max == 0 || r.count_max > COUNT_MAX {
            return Err(err(
                path,
                &format!("{at}.count_max"),
                format!("expected 1 to 20, found {}", r.count_max),
            ));
        }
    }
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&profile.base);
    Ok(LoadedProfile {
        profile,
        path: path.to_path_buf(),
        base_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_lasts_at_most_ten_days() {
        let with = |longest: &str| {
            let text = format!(
                r#"{{"name": "p", "base": "b.json",
                    "faults": {{"vendor_loss": {{"duration": ["1m", "{longest}"]}}}}}}"#
            );
            parse(Path::new("p.profile.json"), &text).map(|_| ())
        };
        assert_eq!(with("240h"), Ok(()));
        let e = with("241h").unwrap_err();
        assert_eq!(e.path, "faults.vendor_loss.duration[1]");
        assert_eq!(
            e.message,
            "expected a duration of at most ten days (240h), found \"241h\""
        );
    }
}
