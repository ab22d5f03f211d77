//! The decisions of a chaos sweep over its seeds' verdicts, without
//! running any: which failures are shrunk, how the sweep is totalled, and
//! the time-to-converge gate.

use cascade::chaos::explore::{to_shrink, SeedOutcome, SettleSpread, Tally};
use cascade::chaos::{FailureClass, Verdict};

fn outcome(seed: u64, class: Option<FailureClass>, signature: &str) -> SeedOutcome {
    SeedOutcome {
        seed,
        verdict: Verdict {
            class,
            signature: signature.to_string(),
            details: Vec::new(),
            trace_hash: format!("{seed:016x}"),
            events: 0,
            time_to_converge_s: None,
            coverage: Default::default(),
        },
        deterministic: true,
        chosen: Vec::new(),
    }
}

fn sweep() -> Vec<SeedOutcome> {
    use FailureClass::*;
    vec![
        outcome(1, None, "pass"),
        outcome(2, Some(Safety), "safety:I1"),
        outcome(3, Some(Safety), "safety:I1"),
        outcome(4, Some(Liveness), "liveness:not_converged"),
        outcome(5, None, "pass"),
        outcome(6, Some(Safety), "safety:I4"),
        outcome(7, Some(Panic), "panic:src/x.rs:1"),
    ]
}

#[test]
fn the_first_seed_of_each_signature_is_shrunk_before_a_second_of_any() {
    let outcomes = sweep();
    let seeds = |n: usize| -> Vec<u64> { to_shrink(&outcomes, n).iter().map(|o| o.seed).collect() };
    assert_eq!(seeds(10), vec![2, 4, 6, 7, 3]);
    assert_eq!(seeds(3), vec![2, 4, 6]);
    assert_eq!(seeds(0), Vec::<u64>::new());
}

#[test]
fn the_tally_counts_each_class_and_signature() {
    let mut outcomes = sweep();
    outcomes[0].deterministic = false;
    let t = Tally::of(&outcomes);
    assert_eq!(
        (t.failed, t.safety, t.liveness, t.panic, t.incomplete),
        (5, 3, 1, 1, 0)
    );
    assert_eq!(t.nondeterministic, 1);
    assert_eq!(t.by_signature.get("safety:I1"), Some(&2));
    assert_eq!(t.by_signature.len(), 4);
}

#[test]
fn the_p99_gate_fails_when_a_seed_never_converges_at_that_rank() {
    // 100 seeds: 99 settle within an hour, one never.
    let mut times: Vec<Option<f64>> = (1..=99).map(|i| Some(f64::from(i) * 36.0)).collect();
    times.push(None);
    let s = SettleSpread::of(times.iter().copied(), 1.0);
    assert_eq!(s.never, 1);
    assert_eq!(s.p50_s, 50.0 * 36.0);
    assert_eq!(s.p99_s, 99.0 * 36.0);
    assert!(s.holds(), "{}", s.line());
    times.push(None);
    let s = SettleSpread::of(times.into_iter(), 1.0);
    assert!(s.p99_s.is_infinite());
    assert!(!s.holds());
    assert!(s.line().contains("EXCEEDED"), "{}", s.line());
}
