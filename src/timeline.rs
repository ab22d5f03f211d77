//! The scenario's timeline: typed actions at simulated times.
//!
//! In a scenario file an item reads
//! `{"id": "E1", "at": "D0 17:30", "for": "45m", "do": {"kind": "vendor_path", "state": "blackholed"}, "note": "…"}`.
//! An action with a duration is undone at its end (`vendor_path` returns to
//! `up`, `bot_surge` to 1x, `freeze` lifts, a misrouting `change` is
//! reverted); actions without one stay until another action changes them.

use crate::model::responder::RestoreBy;
use crate::types::{check_at_most, check_range, check_ratio, expect, Env};
use cascade_sim::{FaultSchedule, SimDuration, SimTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// State of the cloud network path from the auth component to its vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PathState {
    Up,
    Lossy,
    Blackholed,
}

/// One thing the scenario makes happen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The auth component's path to its vendor changes state (E1).
    VendorPath {
        state: PathState,
        #[serde(default)]
        loss_ratio: f64,
    },
    /// Automated auth traffic at `multiplier` times legitimate traffic (E2).
    BotSurge { multiplier: f64 },
    /// Automated auth traffic that rises and falls: `shape` repeated every
    /// `period_s` seconds, up to `multiplier` times legitimate traffic
    /// (on top of any `bot_surge`). `duty` is the share of each period at
    /// the peak (square) or spiking (bursts); `salt` picks the bursts'
    /// heights. Stops at the item's end.
    BotWave {
        shape: crate::model::auth::WaveShape,
        multiplier: f64,
        period_s: f64,
        #[serde(default = "half_duty")]
        duty: f64,
        #[serde(default)]
        salt: u64,
    },
    /// Auth mitigations switched on (E3): per-client rate limit and global
    /// cap, client-side adaptive throttling, circuit breaker on vendor calls.
    AuthMitigation {
        #[serde(default)]
        rate_limit: bool,
        #[serde(default)]
        adaptive_throttling: bool,
        #[serde(default)]
        circuit_breaker: bool,
        #[serde(default)]
        caching: bool,
    },
    /// Auth replicas crash.
    ReplicaCrash { count: u32 },
    /// A network change submitted through change management. Applied to
    /// prod, its route rule misses the desired-state path in
    /// `route_defect_cells` edge cells (the seed picks which; their
    /// clusters get 404s), and/or (a fault injection) sends
    /// `misroute_ratio` of the clusters to the default backend. With
    /// `via_pipeline` it reaches the cells through the edge configuration
    /// pipeline (soak, nightly window: `model.network`); otherwise at once
    /// (applied by hand, as the leaked staging change was).
    Change {
        change_id: String,
        target: Env,
        /// The environment the applier's credentials point at (the E9 gap:
        /// meant for staging, applied with prod access).
        applied_via: Env,
        #[serde(default)]
        emergency: bool,
        #[serde(default)]
        misroute_ratio: f64,
        /// Picks which clusters the misroute hits; every value is as good
        /// as another.
        #[serde(default)]
        misroute_salt: u64,
        #[serde(default)]
        route_defect_cells: u32,
        #[serde(default)]
        via_pipeline: bool,
    },
    /// Routing corrected by hand.
    EdgeFix,
    /// Change freeze on prod (lifted at the item's end, if it has one).
    Freeze,
    /// Environment isolation (staging changes need staging credentials).
    Isolation { on: bool },
    /// The node-pool-loss alert exists from now on ("enhanced monitoring").
    PoolLossAlert { enabled: bool },
    /// The agent fix is built; it ships when the freeze review ends or in an
    /// emergency hotfix.
    FixAvailable,
    /// A rollout of the fix starts.
    Rollout {
        #[serde(default)]
        emergency: bool,
    },
    /// On-call engineers available for manual repair from now on.
    Engineers { count: u32 },
    /// How lost clusters are restored from now on.
    RestoreWith { method: RestoreBy },
    /// The desired-state service misbehaves.
    ServiceFaults {
        #[serde(default)]
        server_error_ratio: f64,
        #[serde(default)]
        timeout_ratio: f64,
        #[serde(default)]
        generation_regression: u64,
    },
    /// The cloud API misbehaves.
    CloudFaults {
        #[serde(default)]
        create_failure_ratio: f64,
    },
    /// The vendor answers `factor` times slower.
    VendorSlowdown { factor: f64 },
    /// The vendor answers 429 to everything (resets at a window's end).
    #[serde(rename = "vendor_429_storm")]
    Vendor429Storm,
    /// The desired-state service leaves one extra worker pool out of the
    /// answer for `ratio` of the requests (a pagination-style bug): only
    /// tombstones authorise deletes, so a fixed agent must not act on it.
    PartialDesiredState { ratio: f64 },
    /// Cloud pool operations take `factor` times longer.
    CloudLatency { factor: f64 },
    /// The cloud's mutating-call budget per account drops to `calls_per_s`.
    CloudRateLimit { calls_per_s: f64 },
    /// On-call acknowledges `factor` times slower.
    OperatorDelay { factor: f64 },
    /// A rollout alarm: a running rollout halts; responders resume it after
    /// `ResponseConfig::rollout_resume_after_min`.
    RolloutAlarm,
    /// The agents of `ratio` of the clusters (a deterministic choice by
    /// `salt`) go down at the item's start: their pod crash-loops, or the
    /// `system` pool node it runs on is preempted and replaced. Each comes
    /// back at the item's end (plus the agent's start time) as a fresh
    /// process: no memory, the version installed by then, a full resync on
    /// its first answer. Without a duration the agents stay down.
    AgentCrash {
        ratio: f64,
        #[serde(default)]
        salt: u64,
    },
    /// The cloud's pool listing lags the truth by up to `lag_s` seconds
    /// (an eventually consistent list API): an agent may see a pool it
    /// just created as absent, or one just deleted as still there.
    ListingLag { lag_s: f64 },
    /// The next build a rollout ships has `defect` (a rollout already
    /// under way keeps its build): the what-if "the release itself is
    /// bad", chosen per chaos seed by the `bad_release` fault kind. With a
    /// duration, the team finds the bad build by the item's end: every
    /// cluster running it is rolled back to the previous version, and
    /// later waves ship a sound build.
    BadRelease {
        defect: crate::model::agent::ReleaseDefect,
    },
    /// Only a marker in the report.
    Note,
    /// Marks the moment the last fault has healed: from here the run
    /// measures how long the fleet takes to settle, each cluster not fully
    /// converged then until it is seen converged (once a minute). The
    /// chaos generator puts one at the end of every schedule; its figure
    /// is the sweep's time-to-converge. A later marker replaces an earlier.
    Healed,
}

fn half_duty() -> f64 {
    0.5
}

/// Longest period of a `bot_wave`, in seconds: a day (a slower swing is
/// the diurnal cycle's business).
pub const WAVE_PERIOD_S_MAX: f64 = 86_400.0;

/// Range of a timeline action's `factor` (a multiple of a nominal time).
pub const FACTOR_MIN: f64 = 0.01;
pub const FACTOR_MAX: f64 = 1_000.0;
/// Smallest cloud call budget a `cloud_rate_limit` may set.
pub const CALLS_PER_S_MIN: f64 = 0.001;

/// What an action is, by what it does to the system under test: the one
/// answer to "is this a fault?". The report draws a fault with a duration
/// as a band; a chaos profile generates only faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionClass {
    /// Something goes wrong that the system must cope with: a path,
    /// service, cloud, vendor, agent or change misbehaving, or an alarm
    /// or slowness injected.
    Fault,
    /// A change freeze: it holds changes back and acts on nothing itself.
    Freeze,
    /// What people decide while responding, or how they are set up to:
    /// mitigations, the route fix, isolation, alerting, staff, the
    /// restore method.
    Response,
    /// The agent fix is built or rolled out.
    Release,
    /// Marks a moment and changes nothing (a note, the all-healed mark).
    Marker,
}

impl ActionClass {
    /// Whether an action of this class acts on the fleet while it lasts:
    /// everything but a freeze and a marker. Chaos waits for the last such
    /// action to end before it measures how long the fleet takes to settle.
    pub fn acts_on_the_fleet(self) -> bool {
        !matches!(self, ActionClass::Freeze | ActionClass::Marker)
    }
}

impl Action {
    /// This action's class (see [`ActionClass`]).
    pub fn class(&self) -> ActionClass {
        match self {
            Action::VendorPath { .. }
            | Action::BotSurge { .. }
            | Action::BotWave { .. }
            | Action::ReplicaCrash { .. }
            | Action::Change { .. }
            | Action::ServiceFaults { .. }
            | Action::CloudFaults { .. }
            | Action::VendorSlowdown { .. }
            | Action::Vendor429Storm
            | Action::PartialDesiredState { .. }
            | Action::CloudLatency { .. }
            | Action::CloudRateLimit { .. }
            | Action::OperatorDelay { .. }
            | Action::RolloutAlarm
            | Action::AgentCrash { .. }
            | Action::ListingLag { .. }
            | Action::BadRelease { .. } => ActionClass::Fault,
            Action::Freeze => ActionClass::Freeze,
            Action::AuthMitigation { .. }
            | Action::EdgeFix
            | Action::Isolation { .. }
            | Action::PoolLossAlert { .. }
            | Action::Engineers { .. }
            | Action::RestoreWith { .. } => ActionClass::Response,
            Action::FixAvailable | Action::Rollout { .. } => ActionClass::Release,
            Action::Note | Action::Healed => ActionClass::Marker,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            Action::VendorPath { .. } => "vendor_path",
            Action::BotSurge { .. } => "bot_surge",
            Action::BotWave { .. } => "bot_wave",
            Action::AuthMitigation { .. } => "auth_mitigation",
            Action::ReplicaCrash { .. } => "replica_crash",
            Action::Change { .. } => "change",
            Action::EdgeFix => "edge_fix",
            Action::Freeze => "freeze",
            Action::Isolation { .. } => "isolation",
            Action::PoolLossAlert { .. } => "pool_loss_alert",
            Action::FixAvailable => "fix_available",
            Action::Rollout { .. } => "rollout",
            Action::Engineers { .. } => "engineers",
            Action::RestoreWith { .. } => "restore_with",
            Action::ServiceFaults { .. } => "service_faults",
            Action::CloudFaults { .. } => "cloud_faults",
            Action::VendorSlowdown { .. } => "vendor_slowdown",
            Action::Vendor429Storm => "vendor_429_storm",
            Action::PartialDesiredState { .. } => "partial_desired_state",
            Action::CloudLatency { .. } => "cloud_latency",
            Action::CloudRateLimit { .. } => "cloud_rate_limit",
            Action::OperatorDelay { .. } => "operator_delay",
            Action::RolloutAlarm => "rollout_alarm",
            Action::AgentCrash { .. } => "agent_crash",
            Action::ListingLag { .. } => "listing_lag",
            Action::BadRelease { .. } => "bad_release",
            Action::Note => "note",
            Action::Healed => "healed",
        }
    }

    /// Checks the action's own numbers; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Action::VendorPath { loss_ratio, .. } => check_ratio("loss_ratio", *loss_ratio),
            Action::BotSurge { multiplier } => {
                check_range("multiplier", *multiplier, 0.0, 10_000.0)
            }
            Action::BotWave {
                multiplier,
                period_s,
                duty,
                ..
            } => {
                check_range("multiplier", *multiplier, 0.0, 10_000.0)?;
                check_range("period_s", *period_s, 1.0, WAVE_PERIOD_S_MAX)?;
                check_range("duty", *duty, 0.001, 1.0)
            }
            Action::Change {
                misroute_ratio,
                route_defect_cells,
                ..
            } => {
                check_ratio("misroute_ratio", *misroute_ratio)?;
                check_at_most(
                    "route_defect_cells",
                    *route_defect_cells,
                    crate::plant::control::EDGE_CELLS_MAX,
                )
            }
            Action::ServiceFaults {
                server_error_ratio,
                timeout_ratio,
                generation_regression,
            } => {
                check_ratio("server_error_ratio", *server_error_ratio)?;
                check_ratio("timeout_ratio", *timeout_ratio)?;
                // Generations the answer goes back (it stops at 0, so a
                // larger value only means "the first generation").
                check_at_most("generation_regression", *generation_regression, 1_000_000)
            }
            Action::CloudFaults {
                create_failure_ratio,
            } => check_ratio("create_failure_ratio", *create_failure_ratio),
            Action::Engineers { count } => {
                expect(*count <= 1_000, "count", "at most 1,000 engineers", count)
            }
            Action::ReplicaCrash { count } => {
                expect(*count <= 1_000, "count", "at most 1,000 replicas", count)
            }
            // Factors: a slowdown of 0 would answer in no time (and divide
            // by it); past 1,000 times every figure is off any scale the
            // model was built for.
            Action::VendorSlowdown { factor }
            | Action::CloudLatency { factor }
            | Action::OperatorDelay { factor } => {
                check_range("factor", *factor, FACTOR_MIN, FACTOR_MAX)
            }
            Action::PartialDesiredState { ratio } | Action::AgentCrash { ratio, .. } => {
                check_ratio("ratio", *ratio)
            }
            // Up to a day: beyond, the listing is simply frozen.
            Action::ListingLag { lag_s } => check_range("lag_s", *lag_s, 0.0, 86_400.0),
            // A budget of 0 calls would never let a call through: say
            // `cloud_faults` with `create_failure_ratio: 1` for that.
            Action::CloudRateLimit { calls_per_s } => {
                check_range("calls_per_s", *calls_per_s, CALLS_PER_S_MIN, 1_000_000.0)
            }
            _ => Ok(()),
        }
    }
}

/// A timeline item as a scenario file writes it (times and durations as
/// text, read against the scenario's epoch when it loads). Tools that write
/// scenarios, such as the chaos generator, build these typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemDoc {
    pub id: String,
    /// `D3 13:00`, `+3600s` or a UTC time.
    pub at: String,
    /// `45m`, `4h`; none for an action that stays.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(rename = "do")]
    pub action: Action,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// An action with its time, optional duration and note.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineItem {
    /// Stable id from the scenario (e.g. "E4").
    pub id: String,
    pub at: SimTime,
    pub duration: Option<SimDuration>,
    pub action: Action,
    pub note: String,
}

/// The timeline, ordered by time (ties in file order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub items: Vec<TimelineItem>,
}

impl Timeline {
    pub fn get(&self, id: &str) -> Option<&TimelineItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The items as the kernel's fault schedule (the action is the item's
    /// index): its `edges` are the begin/end order every driver follows.
    pub fn faults(&self) -> FaultSchedule<u32> {
        let mut f = FaultSchedule::new();
        for (i, it) in self.items.iter().enumerate() {
            f.add(it.at, it.duration, i as u32);
        }
        f
    }
}
