//! Shrinking a failing chaos case to a minimal one that fails the same way.
//!
//! Hand-rolled delta debugging rather than proptest's shrinker: the failing
//! input is a schedule that our own seed produced, and the output must be an
//! ordinary scenario file. Re-expressing the generator as proptest strategies
//! would give up "seed → schedule" reproduction and still need this
//! conversion; the loop below is short and each step is one normal run.
//!
//! Steps, repeated until none helps (bounded by `ATTEMPTS_MAX` runs): drop
//! each fault; drop each base timeline item; halve each fault's duration;
//! halve the fleet. A step is kept when the run still fails with the same
//! signature (class and first rule, e.g. `safety:I1`).

use super::{Case, Chaos, Verdict};
use serde_json::Value;

/// Upper bound on shrinking runs.
pub const ATTEMPTS_MAX: usize = 150;

/// The shrunk case, its document, and how many runs it took.
pub struct Shrunk {
    pub case: Case,
    pub document: Value,
    pub verdict: Verdict,
    pub attempts: usize,
}

/// The search's state: the smallest case that still fails the same way,
/// its verdict, and the runs spent.
struct Search<'a> {
    chaos: &'a Chaos,
    signature: &'a str,
    best: Case,
    best_verdict: Verdict,
    attempts: usize,
}

impl Search<'_> {
    /// Runs `best` with `edit` applied; keeps it if it still fails with
    /// the same signature. False without a run once the budget is spent.
    fn step(&mut self, edit: impl FnOnce(&mut Case)) -> bool {
        if self.attempts >= ATTEMPTS_MAX {
            return false;
        }
        self.attempts += 1;
        let mut candidate = self.best.clone();
        edit(&mut candidate);
        match self.chaos.run_document(&self.chaos.document(&candidate)) {
            Ok((v, _)) if v.signature == self.signature => {
                self.best = candidate;
                self.best_verdict = v;
                true
            }
            _ => false,
        }
    }

    /// One pass of every step; true if any was kept.
    fn pass(&mut self) -> bool {
        let mut changed = false;
        // Drop faults, last first (the earlier indices stay valid).
        for i in (0..self.best.faults.len()).rev() {
            changed |= self.step(|c| {
                c.faults.remove(i);
            });
        }
        // Drop base items (anchored mode).
        for i in (0..self.best.base_items.len()).rev() {
            changed |= self.step(|c| {
                c.base_items.remove(i);
            });
        }
        // Shorten windows.
        for i in 0..self.best.faults.len() {
            if self.best.faults[i].duration_s >= 1_200 {
                changed |= self.step(|c| c.faults[i].duration_s /= 2);
            }
        }
        // Shrink the fleet.
        if self.best.clusters >= 20 {
            changed |= self.step(|c| c.clusters /= 2);
        }
        changed
    }
}

pub fn shrink(chaos: &Chaos, case: &Case, original: &Verdict) -> Shrunk {
    let mut search = Search {
        chaos,
        signature: &original.signature,
        best: case.clone(),
        best_verdict: original.clone(),
        attempts: 0,
    };
    while search.pass() && search.attempts < ATTEMPTS_MAX {}
    let Search {
        mut best,
        best_verdict,
        attempts,
        ..
    } = search;
    best.chosen = best
        .faults
        .iter()
        .map(super::generate::DrawnFault::describe)
        .collect();
    let mut document = chaos.document(&best);
    document["name"] = Value::from(format!(
        "{}-minimal",
        document["name"].as_str().unwrap_or("chaos")
    ));
    Shrunk {
        case: best,
        document,
        verdict: best_verdict,
        attempts,
    }
}
