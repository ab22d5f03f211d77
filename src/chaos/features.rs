//! The coverage features of one chaos run, finer than the states of
//! [`crate::coverage::Reached`], computed from the run's case (its fault
//! schedule) and its summary, for guided exploration ([`super::guided`]):
//! what a coverage-guided fuzzer calls edges and hit counts.
//!
//! - each state reached, and its count in AFL's power-of-two buckets;
//! - each state reached × each fault kind of the schedule;
//! - each fault's kind × its phase of the incident: before, during or after
//!   the rollout;
//! - each fault's kind × the third of its magnitude range it lies in (a
//!   rate limit of 0.3 calls/s refuses what one of 1.8 lets through: a
//!   fuzzer's value profile);
//! - each pair of kinds active at once, and each kind whose fault ended
//!   (an agent restarted, an instant fault struck) inside another's;
//! - which guard blocked destructive steps (and how often, bucketed), ×
//!   each fault kind of the schedule;
//! - answers by kind, bucketed; how a rollout ended; agents died and holds
//!   entered, bucketed; the verdict's signature.

use super::generate::DrawnFault;
use super::profile::FaultKind;
use super::{Case, Chaos, Verdict};
use crate::report::Summary;
use crate::scenario::parse_time;
use std::collections::BTreeSet;

/// AFL's hit-count bucket of `n` (> 0): 1, 2, 3, 4-7, 8-15, ...
pub fn bucket(n: u64) -> u32 {
    match n {
        0..=3 => n as u32,
        _ => 2 + n.ilog2(),
    }
}

/// Whether instant `t` falls inside `g`'s active window.
fn inside(t: u64, g: &DrawnFault) -> bool {
    g.start_s < t && t < g.end_s()
}

/// The feature "a fault of kind `a` ended (a crashed agent restarted, an
/// instant fault struck) while one of kind `b` was active".
pub fn end_inside(a: FaultKind, b: FaultKind) -> String {
    format!("end_inside:{}@{}", a.name(), b.name())
}

/// Where a fault lies against the rollout.
fn phase(f: &DrawnFault, rollout: Option<(u64, u64)>) -> &'static str {
    match rollout {
        None => "no_rollout",
        Some((start, _)) if f.end_s() < start => "before_rollout",
        Some((_, end)) if f.start_s > end => "after_rollout",
        Some(_) => "during_rollout",
    }
}

/// The rollout's start and end, in seconds after the run's start: its
/// start from the summary, its end when it completed (else the run's end).
fn rollout_span(chaos: &Chaos, s: &Summary) -> Option<(u64, u64)> {
    let r = s.metrics.rollouts.first()?;
    let at = |t: &str| parse_time(&chaos.epoch, t).ok().map(|t| t.as_secs());
    let start = at(&r.started_at)?;
    let end = r.completed_at.as_deref().and_then(at).unwrap_or(u64::MAX);
    Some((start, end))
}

/// The features of a run: its case, its verdict and (when it finished)
/// its summary.
pub fn of_run(
    chaos: &Chaos,
    case: &Case,
    verdict: &Verdict,
    summary: Option<&Summary>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(format!("verdict:{}", verdict.signature));
    let mut kinds: Vec<String> = case.faults.iter().map(|f| f.kind.name()).collect();
    kinds.sort();
    kinds.dedup();
    for (state, &n) in verdict.coverage.iter().filter(|(_, &n)| n > 0) {
        out.insert(format!("state:{state}"));
        out.insert(format!("state:{state}:{}", bucket(n)));
        for k in &kinds {
            out.insert(format!("state:{state}&kind:{k}"));
        }
    }
    for (i, f) in case.faults.iter().enumerate() {
        for (j, g) in case.faults.iter().enumerate() {
            if i != j && g.start_s <= f.end_s() && f.start_s <= g.end_s() && f.kind <= g.kind {
                out.insert(format!("overlap:{}+{}", f.kind.name(), g.kind.name()));
            }
            if i != j && inside(f.end_s(), g) {
                out.insert(end_inside(f.kind, g.kind));
            }
        }
    }
    for f in &case.faults {
        if let Some(r) = chaos.profile.profile.faults.get(&f.kind) {
            let [lo, hi] = r.magnitude;
            if hi > lo {
                let third = (3.0 * (f.magnitude - lo) / (hi - lo)).clamp(0.0, 2.0) as u32;
                out.insert(format!("magnitude:{}:{third}", f.kind.name()));
            }
        }
    }
    let Some(s) = summary else {
        return out;
    };
    let rollout = rollout_span(chaos, s);
    for f in &case.faults {
        out.insert(format!("kind:{}@{}", f.kind.name(), phase(f, rollout)));
    }
    let m = &s.metrics;
    for (guard, &n) in m.blocked_by_guard.iter().filter(|(_, &n)| n > 0) {
        out.insert(format!("guard:{guard}:{}", bucket(n)));
        for k in &kinds {
            out.insert(format!("guard:{guard}&kind:{k}"));
        }
    }
    for (answer, &n) in m.answers.iter().filter(|(_, &n)| n > 0) {
        out.insert(format!("answer:{answer}:{}", bucket(n)));
    }
    for r in &m.rollouts {
        let how = match (&r.halted_by, &r.completed_at) {
            (Some(by), _) => by.split_whitespace().next().unwrap_or("halted").to_string(),
            (None, Some(_)) => "completed".into(),
            (None, None) => "running".into(),
        };
        out.insert(format!("rollout:{how}"));
    }
    if m.agents_died > 0 {
        out.insert(format!("agents_died:{}", bucket(m.agents_died)));
    }
    if m.holds_entered > 0 {
        out.insert(format!("holds_entered:{}", bucket(m.holds_entered)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn hit_counts_fall_in_power_of_two_buckets() {
        let got: Vec<u32> = [1, 2, 3, 4, 7, 8, 15, 16, 1000].map(bucket).to_vec();
        assert_eq!(got, vec![1, 2, 3, 4, 4, 5, 5, 6, 11]);
    }
}
