//! From a seed to a whole fault schedule (swarm testing): the seed picks a
//! random subset of the profile's fault kinds, then each fault's count,
//! start, duration and magnitude, as typed timeline items. The result is an
//! ordinary scenario document, so every chaos run can be written out and rerun with `cascade run`.

use super::profile::{FaultKind, LoadedProfile};
use crate::plant::control::EDGE_CELLS_MAX;
use crate::plant::streams;
use crate::scenario::parse_time;
use crate::timeline::{Action, ItemDoc, PathState};
use crate::types::Env;
use cascade_sim::{parse_duration, Epoch, Seed, SimDuration, Stream};

/// One drawn fault, before it becomes a timeline item.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnFault {
    pub kind: FaultKind,
    pub start_s: u64,
    pub duration_s: u64,
    pub magnitude: f64,
}

impl DrawnFault {
    pub fn describe(&self) -> String {
        format!(
            "{} at +{} for {} magnitude {:.3}",
            self.kind.name(),
            SimDuration::from_secs(self.start_s),
            SimDuration::from_secs(self.duration_s),
            self.magnitude
        )
    }

    /// The timeline action of this fault; `n` makes change ids and
    /// misroute salts unique.
    pub fn action(&self, n: usize) -> Action {
        let m = self.magnitude;
        match self.kind {
            FaultKind::VendorBlackhole => Action::VendorPath {
                state: PathState::Blackholed,
                loss_ratio: 0.0,
            },
            FaultKind::VendorLoss => Action::VendorPath {
                state: PathState::Lossy,
                loss_ratio: m.min(1.0),
            },
            FaultKind::VendorSlowdown => Action::VendorSlowdown {
                factor: m.max(0.01),
            },
            FaultKind::Vendor429Storm => Action::Vendor429Storm,
            FaultKind::BotSurge => Action::BotSurge { multiplier: m },
            FaultKind::ReplicaCrash => Action::ReplicaCrash {
                count: m.round() as u32,
            },
            FaultKind::EdgeMisroute => Action::Change {
                change_id: format!("chaos-edge-{n}"),
                target: Env::Prod,
                applied_via: Env::Prod,
                emergency: false,
                misroute_ratio: m.min(1.0),
                misroute_salt: n as u64,
                route_defect_cells: 0,
                via_pipeline: false,
            },
            FaultKind::StagingLeak => Action::Change {
                change_id: format!("chaos-leak-{n}"),
                target: Env::Staging,
                applied_via: Env::Prod,
                emergency: false,
                misroute_ratio: m.min(1.0),
                misroute_salt: 1000 + n as u64,
                route_defect_cells: 0,
                via_pipeline: false,
            },
            FaultKind::Service5xx => Action::ServiceFaults {
                server_error_ratio: m.min(1.0),
                timeout_ratio: 0.0,
                generation_regression: 0,
            },
            FaultKind::ServiceTimeouts => Action::ServiceFaults {
                server_error_ratio: 0.0,
                timeout_ratio: m.min(1.0),
                generation_regression: 0,
            },
            FaultKind::GenerationRegression => Action::ServiceFaults {
                server_error_ratio: 0.0,
                timeout_ratio: 0.0,
                generation_regression: 1,
            },
            FaultKind::PartialDesiredState => Action::PartialDesiredState { ratio: m.min(1.0) },
            FaultKind::CloudLatency => Action::CloudLatency {
                factor: m.max(0.01),
            },
            FaultKind::CloudRateLimit => Action::CloudRateLimit {
                calls_per_s: m.max(0.01),
            },
            FaultKind::CloudCreateFailures => Action::CloudFaults {
                create_failure_ratio: m.min(1.0),
            },
            FaultKind::OperatorDelay => Action::OperatorDelay {
                factor: m.max(0.01),
            },
            FaultKind::RolloutAlarm => Action::RolloutAlarm,
            FaultKind::ListingLag => Action::ListingLag {
                lag_s: m.clamp(0.0, 86_400.0),
            },
            FaultKind::AgentCrash => Action::AgentCrash {
                ratio: m.min(1.0),
                salt: 2000 + n as u64,
            },
            FaultKind::BadRelease => Action::BadRelease {
                defect: FaultKind::release_defect(m),
            },
            FaultKind::BotOscillation | FaultKind::BotBursts => self.wave(n),
        }
    }

    /// A bot wave's action. Its shape and period are not drawn from the
    /// kind's stream (that would add draws to `draw`'s loop) but taken
    /// from a hash of the fault's start, itself a draw of the seed: the
    /// same fault always makes the same wave, and halving its duration
    /// (the shrinker's step) keeps its number of periods.
    fn wave(&self, n: usize) -> Action {
        use crate::model::auth::wave::mix64;
        use crate::model::auth::WaveShape;
        let h = mix64(self.start_s);
        let duration_s = self.duration_s.max(1) as f64;
        let (shape, period_s, duty) = if self.kind == FaultKind::BotOscillation {
            let periods = 2 + h % 6;
            let shape = if (h >> 8) & 1 == 0 {
                WaveShape::Square
            } else {
                WaveShape::Sine
            };
            (shape, (duration_s / periods as f64).max(60.0), 0.5)
        } else {
            let period_s = 300 + (h >> 8) % 1_501;
            let spike_s = 30 + (h >> 24) % 151;
            (
                WaveShape::Bursts,
                period_s as f64,
                spike_s as f64 / period_s as f64,
            )
        };
        Action::BotWave {
            shape,
            multiplier: self.magnitude,
            period_s,
            duty,
            salt: 3000 + n as u64,
        }
    }

    /// The timeline item of this fault; `n` makes its id unique.
    pub fn to_item(&self, n: usize) -> ItemDoc {
        let instant = self.is_instant();
        ItemDoc {
            id: format!("F{n}-{}", self.kind.name()),
            at: format!("+{}s", self.start_s),
            duration: (!instant).then(|| format!("{}s", self.duration_s.max(1))),
            action: self.action(n),
            note: format!("chaos: {}", self.describe()),
        }
    }

    /// A fault without a duration: it happens at its start.
    fn is_instant(&self) -> bool {
        matches!(self.kind, FaultKind::ReplicaCrash | FaultKind::RolloutAlarm)
    }

    pub fn end_s(&self) -> u64 {
        if self.is_instant() {
            self.start_s
        } else {
            self.start_s + self.duration_s
        }
    }
}

/// No fault starts in the first hour: the fleet settles first.
pub(crate) const WARMUP_S: u64 = 3_600;

/// Where an agent crash starts: a third land around the rollout (agents
/// down when their wave upgrades them), a third inside a fault drawn
/// before it (a restart while the service lags, a route misroutes, ...:
/// what a process without memory meets when it starts), the rest anywhere
/// in the window. Aimed this way, the seeded bug
/// `forgets_generation_on_restart` (a crash during a generation regression
/// brings it out) is found within 68 seeds in each of 10 ranges of
/// fixed-400; with uniform starts, 6 seeds of the first 500 had it.
fn crash_start(
    krng: &mut Stream,
    rollout_at_s: Option<u64>,
    earlier: &[DrawnFault],
    window_s: u64,
) -> u64 {
    let u = krng.unit();
    match rollout_at_s {
        Some(r) if u < 1.0 / 3.0 => return r.saturating_sub(30 * 60) + krng.below(110 * 60),
        _ => {}
    }
    if u < 2.0 / 3.0 && !earlier.is_empty() {
        let f = &earlier[krng.below(earlier.len() as u64) as usize];
        return f.start_s + krng.below(f.end_s() - f.start_s + 1);
    }
    WARMUP_S + krng.below(window_s.max(1))
}

/// The latest a fault drawn for `p` can end, in seconds after the start:
/// the latest start (the window's end, or 80 minutes past the rollout for
/// an alarm or a crash aimed at it), then the longest duration, once for
/// the fault and once for each agent crash of a chain, each starting
/// inside the fault before it.
pub fn latest_fault_end_s(p: &LoadedProfile, rollout_at_s: Option<u64>) -> u64 {
    let window_s = (p.profile.fault_window_h * 3_600.0) as u64;
    let start = (WARMUP_S + window_s).max(rollout_at_s.map_or(0, |r| r + 80 * 60));
    let longest = p
        .profile
        .faults
        .values()
        .map(|r| {
            parse_duration(&r.duration[1])
                .map_or(7_200, |d| d.as_secs())
                .max(1)
        })
        .max()
        .unwrap_or(0);
    let crashes = p
        .profile
        .faults
        .get(&FaultKind::AgentCrash)
        .map_or(0, |r| u64::from(r.count_max));
    start + longest * (1 + crashes)
}

/// Draws the fault schedule of `seed` (swarm: a random subset of kinds).
pub fn draw(p: &LoadedProfile, seed: u64, rollout_at_s: Option<u64>) -> Vec<DrawnFault> {
    let mut rng: Stream = Seed(seed).fork(streams::CHAOS, 0);
    let prof = &p.profile;
    let window_s = (prof.fault_window_h * 3_600.0) as u64;
    let mut faults = Vec::new();
    for (kind, range) in &prof.faults {
        // Every kind draws the same numbers whether or not it is enabled, so
        // enabling one kind does not reshuffle the others.
        let mut krng = Seed(seed).fork(streams::CHAOS_KIND, *kind as u64);
        let enabled = rng.bernoulli(prof.swarm_ratio);
        let count = 1 + krng.below(range.count_max as u64) as u32;
        let d0 = parse_duration(&range.duration[0]).map_or(600, |d| d.as_secs());
        let d1 = parse_duration(&range.duration[1]).map_or(7_200, |d| d.as_secs());
        for _ in 0..count {
            let start = match (kind, rollout_at_s) {
                // An alarm only matters while a rollout runs.
                (FaultKind::RolloutAlarm, Some(r)) => r + krng.below(80 * 60),
                // A bad build is chosen before its rollout ships it.
                (FaultKind::BadRelease, Some(r)) => r.saturating_sub(60 + krng.below(30 * 60)),
                (FaultKind::AgentCrash, _) => {
                    crash_start(&mut krng, rollout_at_s, &faults, window_s)
                }
                _ => WARMUP_S + krng.below(window_s.max(1)),
            };
            let duration = d0 + krng.below(d1 - d0 + 1);
            // A range of one value draws within a hair above it: kept at
            // the largest, which the profile holds within the action's range.
            let magnitude = krng
                .uniform(
                    range.magnitude[0],
                    range.magnitude[1].max(range.magnitude[0] + 1e-9),
                )
                .min(range.magnitude[1]);
            if enabled {
                faults.push(DrawnFault {
                    kind: *kind,
                    start_s: start,
                    duration_s: duration,
                    magnitude,
                });
            }
        }
    }
    faults.sort_by_key(|f| (f.start_s, f.kind));
    faults
}

/// Anchored mode: jitters the base timeline's times and sizes (the March
/// 2025 events moved by up to `jitter_h`, their misroute ratios and surge
/// multipliers scaled by up to `size_jitter`).
pub fn jitter_base(
    items: &mut [ItemDoc],
    p: &LoadedProfile,
    seed: u64,
    epoch: &Epoch,
) -> Vec<String> {
    let mut rng = Seed(seed).fork(streams::CHAOS_ANCHOR, 0);
    let mut chosen = Vec::new();
    let jitter_s = (p.profile.jitter_h * 3_600.0) as i64;
    for item in items.iter_mut() {
        let shift = if jitter_s > 0 {
            rng.below(2 * jitter_s as u64 + 1) as i64 - jitter_s
        } else {
            0
        };
        let scale = 1.0 + p.profile.size_jitter * (2.0 * rng.unit() - 1.0);
        if let Ok(at) = parse_time(epoch, &item.at) {
            let moved = (at.as_secs() as i64 + shift).max(0);
            item.at = format!("+{moved}s");
        }
        match &mut item.action {
            Action::Change {
                misroute_ratio,
                route_defect_cells,
                ..
            } => {
                *misroute_ratio = (*misroute_ratio * scale).clamp(0.0, 1.0);
                if *route_defect_cells > 0 {
                    let cells = (f64::from(*route_defect_cells) * scale).round();
                    *route_defect_cells = (cells as u32).clamp(1, EDGE_CELLS_MAX);
                }
            }
            Action::BotSurge { multiplier } => *multiplier = (*multiplier * scale).max(0.0),
            _ => {}
        }
        chosen.push(format!(
            "{} moved {:+} min, sizes x{:.2}",
            item.id,
            shift / 60,
            scale
        ));
    }
    chosen
}
