//! Mutation of fault schedules, for guided exploration ([`super::guided`]):
//! shift a fault, widen or narrow it, duplicate, add or drop it, change its
//! magnitude, splice two schedules by kind, or reshape a schedule by a
//! coverage state's recipe ([`super::aim`]). Every operator keeps a schedule
//! inside what the profile could have drawn ([`Bounds`]): starts inside the
//! window the generator uses for the kind, durations and magnitudes inside
//! the kind's ranges, at most `count_max` faults of a kind. So a mutant is a
//! case the random sweep might have drawn, only aimed.

use super::aim::Shape;
use super::generate::{DrawnFault, WARMUP_S};
use super::profile::{FaultKind, LoadedProfile};
use crate::coverage::Reached;
use cascade_sim::{parse_duration, Stream};
use std::collections::BTreeMap;

/// A mutation operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// Move a fault: three times in four so that it starts or ends inside another
    /// fault's active window (the pair drawn by the rarity of that
    /// combination so far), else by up to two hours or anywhere in its
    /// window.
    Shift,
    /// Lengthen a fault (up to its kind's longest duration).
    Widen,
    /// Shorten a fault (down to its kind's shortest duration).
    Narrow,
    /// Copy a fault to start inside itself or elsewhere (up to `count_max`).
    Duplicate,
    /// Remove a fault.
    Drop,
    /// Run the same schedule against another world: a new seed for the
    /// world's own randomness (customers' changes, poll jitter, which
    /// agents a crash takes). The guide applies it; the schedule is left
    /// as it is.
    Reseed,
    /// Add faults of the kinds the schedule lacks, each by a coin (at
    /// least one; else one of a kind with room), drawn from the kinds'
    /// ranges: the schedule as a richer swarm would have drawn it.
    Add,
    /// Draw a fault's magnitude again, or scale it.
    Magnitude,
    /// Take each fault kind from one of two parents.
    Splice,
    /// Reshape the schedule by the recipe of a state no run (or few) has
    /// reached ([`super::aim::recipe`]).
    Aim(Reached),
}

impl Operator {
    /// The operators of one parent, in the order they are drawn from.
    pub const UNARY: [Operator; 7] = [
        Operator::Shift,
        Operator::Widen,
        Operator::Narrow,
        Operator::Duplicate,
        Operator::Drop,
        Operator::Magnitude,
        Operator::Add,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::Shift => "shift",
            Operator::Widen => "widen",
            Operator::Narrow => "narrow",
            Operator::Duplicate => "duplicate",
            Operator::Drop => "drop",
            Operator::Add => "add",
            Operator::Reseed => "reseed",
            Operator::Magnitude => "magnitude",
            Operator::Splice => "splice",
            Operator::Aim(_) => "aim",
        }
    }
}

/// An instant strictly inside `g`'s active window (its start when it has
/// none): where an aligned fault starts or ends.
fn instant_inside(g: &DrawnFault, rng: &mut Stream) -> u64 {
    g.start_s + 1 + rng.below((g.end_s() - g.start_s).max(2) - 1)
}

/// Kinds without a duration: the fault is one instant.
fn is_instant(kind: FaultKind) -> bool {
    matches!(kind, FaultKind::ReplicaCrash | FaultKind::RolloutAlarm)
}

/// What a profile lets a fault of each kind be, as the generator draws it.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// Per kind: start range `[lo, hi)`, duration range `[lo, hi]` in
    /// seconds, magnitude range `[lo, hi]`, most faults of the kind.
    kinds: BTreeMap<FaultKind, KindBounds>,
    /// When the base's rollout starts, if it has one.
    rollout_at_s: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct KindBounds {
    start_s: (u64, u64),
    duration_s: (u64, u64),
    magnitude: (f64, f64),
    count_max: u32,
}

impl Bounds {
    /// The bounds of `p`'s kinds; `rollout_at_s` places rollout alarms
    /// and the agent crashes aimed at the rollout, as the generator does.
    pub fn new(p: &LoadedProfile, rollout_at_s: Option<u64>) -> Bounds {
        let prof = &p.profile;
        let window_end = WARMUP_S + ((prof.fault_window_h * 3_600.0) as u64).max(1);
        let longest = prof
            .faults
            .values()
            .map(|r| parse_duration(&r.duration[1]).map_or(7_200, |d| d.as_secs()))
            .max()
            .unwrap_or(0)
            .max(1);
        let crashes = prof
            .faults
            .get(&FaultKind::AgentCrash)
            .map_or(0, |r| u64::from(r.count_max));
        let kinds = prof
            .faults
            .iter()
            .map(|(&kind, r)| {
                let start_s = match (kind, rollout_at_s) {
                    (FaultKind::RolloutAlarm, Some(at)) => (at, at + 80 * 60),
                    // Aimed at the rollout, or inside an earlier fault
                    // (a chain of crashes each inside the one before).
                    (FaultKind::AgentCrash, r) => (
                        r.map_or(WARMUP_S, |at| WARMUP_S.min(at.saturating_sub(30 * 60))),
                        window_end.max(r.map_or(0, |at| at + 80 * 60)) + longest * crashes,
                    ),
                    _ => (WARMUP_S, window_end),
                };
                let d0 = parse_duration(&r.duration[0]).map_or(600, |d| d.as_secs());
                let d1 = parse_duration(&r.duration[1]).map_or(7_200, |d| d.as_secs());
                let bounds = KindBounds {
                    start_s,
                    duration_s: (d0, d1.max(d0)),
                    magnitude: (r.magnitude[0], r.magnitude[1].max(r.magnitude[0])),
                    count_max: r.count_max,
                };
                (kind, bounds)
            })
            .collect();
        Bounds {
            kinds,
            rollout_at_s,
        }
    }

    /// Most faults of `kind` in one schedule (0: not in the profile).
    pub fn count_max(&self, kind: FaultKind) -> u32 {
        self.kinds.get(&kind).map_or(0, |b| b.count_max)
    }

    /// Whether every fault lies inside its kind's ranges and no kind has
    /// more than `count_max` faults: what every mutant keeps.
    pub fn hold(&self, faults: &[DrawnFault]) -> Result<(), String> {
        let mut counts: BTreeMap<FaultKind, u32> = BTreeMap::new();
        for f in faults {
            let Some(b) = self.kinds.get(&f.kind) else {
                return Err(format!("{}: not in the profile", f.describe()));
            };
            let n = counts.entry(f.kind).or_insert(0);
            *n += 1;
            let start_ok = (b.start_s.0..b.start_s.1).contains(&f.start_s);
            let dur_ok = (b.duration_s.0..=b.duration_s.1).contains(&f.duration_s);
            let mag_ok = f.magnitude >= b.magnitude.0 && f.magnitude <= b.magnitude.1;
            if !start_ok || !dur_ok || !mag_ok || *n > b.count_max {
                return Err(format!(
                    "{} outside start {:?} s, duration {:?} s, magnitude {:?}, count {}",
                    f.describe(),
                    b.start_s,
                    b.duration_s,
                    b.magnitude,
                    b.count_max
                ));
            }
        }
        Ok(())
    }

    /// Moves `f` back inside its kind's ranges.
    fn clamp(&self, f: &mut DrawnFault) {
        if let Some(b) = self.kinds.get(&f.kind) {
            f.start_s = f
                .start_s
                .clamp(b.start_s.0, b.start_s.1.max(b.start_s.0 + 1) - 1);
            f.duration_s = f.duration_s.clamp(b.duration_s.0, b.duration_s.1);
            f.magnitude = f.magnitude.clamp(b.magnitude.0, b.magnitude.1);
        }
    }

    /// Applies `op` to `faults` (Splice takes `other`'s faults too). False
    /// when the operator could change nothing (no fault it applies to):
    /// the caller draws another.
    /// `rarity(a, b)` weighs aiming a fault of kind `a` to end inside one
    /// of kind `b` (the guidance gives rarer combinations more).
    pub fn mutate(
        &self,
        op: Operator,
        faults: &mut Vec<DrawnFault>,
        other: &[DrawnFault],
        rng: &mut Stream,
        rarity: &dyn Fn(FaultKind, FaultKind) -> f64,
    ) -> bool {
        let before = faults.clone();
        match op {
            Operator::Splice => self.splice(faults, other, rng),
            Operator::Drop if !faults.is_empty() => {
                faults.remove(rng.below(faults.len() as u64) as usize);
            }
            Operator::Duplicate => self.duplicate(faults, rng),
            Operator::Add => self.add(faults, rng),
            Operator::Aim(state) => {
                for &step in super::aim::recipe(state) {
                    self.shape(faults, step, rng);
                }
            }
            Operator::Shift if faults.len() > 1 && rng.bernoulli(0.75) => {
                self.align(faults, rng, rarity)
            }
            Operator::Shift | Operator::Widen | Operator::Narrow | Operator::Magnitude => {
                self.reshape(op, faults, rng)
            }
            Operator::Drop | Operator::Reseed => {}
        }
        faults.sort_by_key(|f| (f.start_s, f.kind));
        *faults != before
    }

    /// The profile's kinds of which `faults` has fewer than `count_max`,
    /// in the kinds' order.
    fn kinds_with_room(&self, faults: &[DrawnFault]) -> Vec<FaultKind> {
        self.kinds
            .iter()
            .filter(|(&k, b)| faults.iter().filter(|f| f.kind == k).count() < b.count_max as usize)
            .map(|(&k, _)| k)
            .collect()
    }

    /// A fault of `kind` drawn from its ranges (None: not in the profile).
    fn fresh(&self, kind: FaultKind, rng: &mut Stream) -> Option<DrawnFault> {
        let b = self.kinds.get(&kind)?;
        let duration_s = if is_instant(kind) {
            b.duration_s.0
        } else {
            b.duration_s.0 + rng.below(b.duration_s.1 - b.duration_s.0 + 1)
        };
        let (lo, hi) = b.magnitude;
        Some(DrawnFault {
            kind,
            start_s: b.start_s.0 + rng.below((b.start_s.1 - b.start_s.0).max(1)),
            duration_s,
            magnitude: rng.uniform(lo, hi.max(lo + 1e-9)).min(hi),
        })
    }

    /// Adds faults of absent kinds, each by a coin, at least one; a fault
    /// of a kind with room when no kind is absent.
    fn add(&self, faults: &mut Vec<DrawnFault>, rng: &mut Stream) {
        let absent: Vec<FaultKind> = self
            .kinds
            .keys()
            .copied()
            .filter(|&k| faults.iter().all(|f| f.kind != k))
            .collect();
        let room = self.kinds_with_room(faults);
        let from = if absent.is_empty() { &room } else { &absent };
        if from.is_empty() {
            return;
        }
        let first = from[rng.below(from.len() as u64) as usize];
        for &k in from {
            if k == first || (!absent.is_empty() && rng.bernoulli(0.5)) {
                faults.extend(self.fresh(k, rng));
            }
        }
    }

    /// Index of a fault of `kind`, one added when the schedule has none
    /// (None: the kind is not in the profile).
    fn one_of(
        &self,
        faults: &mut Vec<DrawnFault>,
        kind: FaultKind,
        rng: &mut Stream,
    ) -> Option<usize> {
        let of: Vec<usize> = (0..faults.len())
            .filter(|&i| faults[i].kind == kind)
            .collect();
        if !of.is_empty() {
            return Some(of[rng.below(of.len() as u64) as usize]);
        }
        faults.push(self.fresh(kind, rng)?);
        Some(faults.len() - 1)
    }

    /// Whether the profile has what `step` needs: its kinds, and a
    /// rollout when it aims at one.
    pub fn allows(&self, step: Shape) -> bool {
        step.kinds()
            .iter()
            .flatten()
            .all(|k| self.kinds.contains_key(k))
            && (!step.needs_rollout() || self.rollout_at_s.is_some())
    }

    /// Makes `faults` hold `step` of a recipe ([`super::aim`]); false when
    /// the profile lacks a kind it needs or a rollout it needs.
    pub fn shape(&self, faults: &mut Vec<DrawnFault>, step: Shape, rng: &mut Stream) -> bool {
        if !self.allows(step) {
            return false;
        }
        let rollout_s = self.rollout_at_s.unwrap_or(0);
        match step {
            Shape::Has(k) => {
                self.one_of(faults, k, rng);
            }
            Shape::MagnitudeIn(k, lo, hi) => {
                if let Some(i) = self.one_of(faults, k, rng) {
                    faults[i].magnitude = rng.uniform(lo, hi);
                    self.clamp(&mut faults[i]);
                }
            }
            Shape::EndsInside(a, b) | Shape::StartsInside(a, b) => {
                let (Some(j), Some(i)) = (self.one_of(faults, b, rng), self.one_of(faults, a, rng))
                else {
                    return false;
                };
                let at = instant_inside(&faults[j], rng);
                let f = &mut faults[i];
                if matches!(step, Shape::EndsInside(..)) {
                    // Ends at `at`: starts its length before, or as late
                    // as its kind may start and shortened to end there.
                    f.start_s = at.saturating_sub(f.duration_s);
                    self.clamp(f);
                    if f.end_s() > at && f.start_s < at {
                        f.duration_s = at - f.start_s;
                        self.clamp(f);
                    }
                } else {
                    f.start_s = at;
                    self.clamp(f);
                }
            }
            Shape::SpansRollout(k) => {
                if let Some(i) = self.one_of(faults, k, rng) {
                    let b = self.kinds[&k];
                    let f = &mut faults[i];
                    f.duration_s = b.duration_s.1;
                    f.start_s = rollout_s.saturating_sub(rng.below(f.duration_s / 4 + 1));
                    self.clamp(f);
                }
            }
            Shape::Overlap => {
                let lasting = |fs: &[DrawnFault]| -> Vec<usize> {
                    (0..fs.len()).filter(|&i| !is_instant(fs[i].kind)).collect()
                };
                for _ in 0..2 {
                    let mut room = self.kinds_with_room(faults);
                    room.retain(|&k| !is_instant(k));
                    if lasting(faults).len() >= 2 || room.is_empty() {
                        break;
                    }
                    let k = room[rng.below(room.len() as u64) as usize];
                    faults.extend(self.fresh(k, rng));
                }
                let of = lasting(faults);
                if of.len() < 2 {
                    return false;
                }
                let j = of[rng.below(of.len() as u64) as usize];
                let others: Vec<usize> = of.into_iter().filter(|&i| i != j).collect();
                let i = others[rng.below(others.len() as u64) as usize];
                faults[i].start_s = instant_inside(&faults[j], rng);
                self.clamp(&mut faults[i]);
            }
            Shape::AtRolloutStart(k) => {
                if let Some(i) = self.one_of(faults, k, rng) {
                    faults[i].start_s = rollout_s + 1 + rng.below(5 * 60);
                    self.clamp(&mut faults[i]);
                }
            }
        }
        true
    }

    /// Shift, widen, narrow or re-magnitude one fault it applies to.
    fn reshape(&self, op: Operator, faults: &mut [DrawnFault], rng: &mut Stream) {
        let fits = |f: &DrawnFault| match op {
            Operator::Widen | Operator::Narrow => !is_instant(f.kind),
            Operator::Magnitude => f.kind.magnitude_range().is_some(),
            _ => true,
        };
        let candidates: Vec<usize> = (0..faults.len()).filter(|&i| fits(&faults[i])).collect();
        if candidates.is_empty() {
            return;
        }
        let i = candidates[rng.below(candidates.len() as u64) as usize];
        let Some(b) = self.kinds.get(&faults[i].kind).copied() else {
            return;
        };
        match op {
            Operator::Shift => {
                let start = self.shifted_start(i, faults, b, rng);
                faults[i].start_s = start;
            }
            Operator::Widen => {
                let f = &mut faults[i];
                f.duration_s = (f.duration_s as f64 * rng.uniform(1.25, 2.0)) as u64;
            }
            Operator::Narrow => {
                let f = &mut faults[i];
                f.duration_s = (f.duration_s as f64 * rng.uniform(0.3, 0.8)) as u64;
            }
            _ => {
                let (lo, hi) = b.magnitude;
                let f = &mut faults[i];
                f.magnitude = if rng.bernoulli(0.5) {
                    rng.uniform(lo, hi.max(lo + 1e-9)).min(hi)
                } else {
                    f.magnitude * rng.uniform(0.5, 1.5)
                };
            }
        }
        self.clamp(&mut faults[i]);
    }

    /// A new start for fault `i`: half the time anywhere in its window,
    /// else within two hours of where it was.
    fn shifted_start(
        &self,
        i: usize,
        faults: &[DrawnFault],
        b: KindBounds,
        rng: &mut Stream,
    ) -> u64 {
        if rng.bernoulli(0.5) {
            return b.start_s.0 + rng.below((b.start_s.1 - b.start_s.0).max(1));
        }
        let delta = rng.below(4 * 3_600 + 1) as i64 - 2 * 3_600;
        (faults[i].start_s as i64 + delta).max(0) as u64
    }

    /// Moves one fault so that it ends (half the time: starts) inside
    /// another's active window: an agent restarting, an alarm striking,
    /// a fault beginning while another lasts. The pair is drawn in
    /// proportion to `rarity` of its kinds.
    fn align(
        &self,
        faults: &mut [DrawnFault],
        rng: &mut Stream,
        rarity: &dyn Fn(FaultKind, FaultKind) -> f64,
    ) {
        let mut pairs = Vec::new();
        for (i, f) in faults.iter().enumerate() {
            for (j, g) in faults.iter().enumerate() {
                if i != j && g.end_s() > g.start_s {
                    pairs.push((i, j, rarity(f.kind, g.kind).max(1e-9)));
                }
            }
        }
        let total: f64 = pairs.iter().map(|p| p.2).sum();
        let mut x = rng.unit() * total;
        let Some(&(i, j, _)) = pairs.iter().find(|p| {
            x -= p.2;
            x < 0.0
        }) else {
            return;
        };
        let at = instant_inside(&faults[j], rng);
        let f = &mut faults[i];
        let length = f.end_s() - f.start_s;
        f.start_s = if rng.bernoulli(0.5) {
            at.saturating_sub(length)
        } else {
            at
        };
        self.clamp(f);
    }

    /// Copies a fault whose kind has room, starting inside the original
    /// (the same fault again, a second time) or anywhere in its window.
    fn duplicate(&self, faults: &mut Vec<DrawnFault>, rng: &mut Stream) {
        let room = self.kinds_with_room(faults);
        let candidates: Vec<usize> = (0..faults.len())
            .filter(|&i| room.contains(&faults[i].kind))
            .collect();
        if candidates.is_empty() {
            return;
        }
        let mut copy = faults[candidates[rng.below(candidates.len() as u64) as usize]].clone();
        let Some(b) = self.kinds.get(&copy.kind).copied() else {
            return;
        };
        copy.start_s = if rng.bernoulli(0.5) {
            copy.start_s + rng.below(copy.end_s() - copy.start_s + 1)
        } else {
            b.start_s.0 + rng.below((b.start_s.1 - b.start_s.0).max(1))
        };
        self.clamp(&mut copy);
        faults.push(copy);
    }

    /// Each kind of either parent comes whole from one of them, by a coin
    /// (swarm testing's subset of kinds, taken from two schedules): counts
    /// stay within `count_max`, since each parent's do.
    fn splice(&self, faults: &mut Vec<DrawnFault>, other: &[DrawnFault], rng: &mut Stream) {
        let mut kinds: Vec<FaultKind> = faults.iter().chain(other).map(|f| f.kind).collect();
        kinds.sort();
        kinds.dedup();
        let mut out = Vec::new();
        for k in kinds {
            let from: &[DrawnFault] = if rng.bernoulli(0.5) { faults } else { other };
            out.extend(from.iter().filter(|f| f.kind == k).cloned());
        }
        for f in &mut out {
            self.clamp(f);
        }
        let mut counts: BTreeMap<FaultKind, u32> = BTreeMap::new();
        out.retain(|f| {
            let n = counts.entry(f.kind).or_insert(0);
            *n += 1;
            *n <= self.count_max(f.kind)
        });
        *faults = out;
    }
}
