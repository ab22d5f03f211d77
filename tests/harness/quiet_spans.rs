//! Auth quiet spans (`model.auth.quiet_span_ticks_max`, 10 by default)
//! in whole runs: the same events at the same instants as stepping every
//! tick, the same verdicts, and auth figures within the spans' spread
//! (their unit tests, `src/model/auth/tests.rs`, compare the draws).

use cascade::report::Summary;
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario::{self, Override};
use std::path::PathBuf;

fn run(file: &str, spans: bool) -> Summary {
    run_with(file, spans, &[])
}

fn run_with(file: &str, spans: bool, set: &[&str]) -> Summary {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut overrides: Vec<Override> = set.iter().map(|o| o.parse().expect("parses")).collect();
    // Spans on is the default; stepped sets them off.
    if !spans {
        overrides.push("model.auth.quiet_span_ticks_max=0".parse().expect("parses"));
    }
    let sc = scenario::load_with(&path, &overrides).expect("scenario loads");
    run_scenario(&sc, RunOptions::default()).summary
}

#[test]
fn a_run_in_quiet_spans_keeps_its_events_verdicts_and_auth_figures() {
    // The flagship: spans change the auth path's draws,
    // so the trace hash, but every event is still handled at its instant
    // (the same count), its expectations hold as stepped, and the nine
    // days' auth figures agree: the success ratio within 0.002 (its
    // incidents are busy ticks, stepped either way), attempts within
    // 0.5 %.
    let stepped = run("scenarios/march-2025.json", false);
    let spanned = run("scenarios/march-2025.json", true);
    assert_ne!(stepped.trace_hash, spanned.trace_hash);
    assert_eq!(stepped.events, spanned.events);
    assert!(stepped.passed(), "{:?}", stepped.expectations);
    assert!(spanned.passed(), "{:?}", spanned.expectations);
    let (a, b) = (&stepped.metrics.auth, &spanned.metrics.auth);
    assert!(
        (a.legit_success_ratio - b.legit_success_ratio).abs() < 0.002,
        "{} against {}",
        a.legit_success_ratio,
        b.legit_success_ratio
    );
    let attempts = b.legit_attempts as f64 / a.legit_attempts as f64;
    assert!((attempts - 1.0).abs() < 0.005, "{attempts}");
    assert_eq!(a.replicas_max, b.replicas_max);
}

#[test]
fn spans_run_ahead_of_the_fleet_but_not_past_a_timeline_edge() {
    // Spans run ahead of the clock past the fleet's events, but stop
    // before the next minute and the next timeline edge: the world
    // asserts at each that the auth path has not run past it (a span
    // that ignored the edges panics here). The flagship's edges all fall
    // on whole minutes, which stop spans anyway; here the rollout starts
    // 30 s into a minute, on the quiet base.
    let set = ["timeline.rollout.at=+21630s"];
    let file = "scenarios/chaos/_base-400-fixed.json";
    let stepped = run_with(file, false, &set);
    let spanned = run_with(file, true, &set);
    assert_ne!(stepped.trace_hash, spanned.trace_hash);
    assert_eq!((stepped.events, spanned.events), (182_056, 182_056));
    assert!(stepped.passed() && spanned.passed());
}
