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

pub fn shrink(chaos: &Chaos, case: &Case, original: &Verdict) -> Shrunk {
    let mut best = case.clone();
    let mut best_verdict = original.clone();
    let mut attempts = 0usize;
    let try_case = |candidate: &Case, attempts: &mut usize| -> Option<Verdict> {
        if *attempts >= ATTEMPTS_MAX {
            return None;
        }
        *attempts += 1;
        let doc = chaos.document(candidate);
        match chaos.run_document(&doc) {
            Ok((v, _)) if v.signature == original.signature => Some(v),
            _ => None,
        }
    };
    loop {
        let mut changed = false;
        // Drop faults, last first.
        let mut i = best.faults.len();
        while i > 0 {
            i -= 1;
            let mut c = best.clone();
            c.faults.remove(i);
            if let Some(v) = try_case(&c, &mut attempts) {
                best = c;
                best_verdict = v;
                changed = true;
            }
        }
        // Drop base items (anchored mode).
        let mut i = best.base_items.len();
        while i > 0 {
            i -= 1;
            let mut c = best.clone();
            c.base_items.remove(i);
            if let Some(v) = try_case(&c, &mut attempts) {
                best = c;
                best_verdict = v;
                changed = true;
            }
        }
        // Shorten windows.
        for i in 0..best.faults.len() {
            if best.faults[i].duration_s < 1_200 {
                continue;
            }
            let mut c = best.clone();
            c.faults[i].duration_s /= 2;
            if let Some(v) = try_case(&c, &mut attempts) {
                best = c;
                best_verdict = v;
                changed = true;
            }
        }
        // Shrink the fleet.
        if best.clusters >= 20 {
            let mut c = best.clone();
            c.clusters /= 2;
            if let Some(v) = try_case(&c, &mut attempts) {
                best = c;
                best_verdict = v;
                changed = true;
            }
        }
        if !changed || attempts >= ATTEMPTS_MAX {
            break;
        }
    }
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
