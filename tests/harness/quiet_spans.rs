//! Auth quiet spans (`model.auth.quiet_span_ticks_max`, off by default)
//! in whole runs: the same events at the same instants as stepping every
//! tick, the same verdicts, and auth figures within the spans' spread
//! (their unit tests, `src/model/auth/tests.rs`, compare the draws).

use cascade::report::Summary;
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario::{self, Override};
use std::path::PathBuf;

fn run(file: &str, spans: bool) -> Summary {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut overrides: Vec<Override> = Vec::new();
    if spans {
        overrides.push(
            "model.auth.quiet_span_ticks_max=10"
                .parse()
                .expect("parses"),
        );
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
