//! Determinism is the product: the same scenario and seed give the same
//! trace hash, byte for byte; another seed gives another one.

use cascade::run::{run_scenario, RunOptions};
use cascade::scenario;
use std::path::Path;

fn hash_of(path: &str, seed: u64) -> (String, u64) {
    let sc =
        scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("scenario loads");
    let r = run_scenario(
        &sc,
        RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    );
    (r.summary.trace_hash, r.summary.events)
}

#[test]
fn same_scenario_and_seed_give_the_same_trace_hash() {
    let a = hash_of("scenarios/focused/d5-pool-loss.json", 1);
    let b = hash_of("scenarios/focused/d5-pool-loss.json", 1);
    assert_eq!(a, b);
    let c = hash_of("scenarios/focused/d5-pool-loss.json", 2);
    assert_ne!(a.0, c.0, "another seed must give another trace");
    assert_eq!(a.0.len(), 16, "16 hex digits");
}

#[test]
fn events_jsonl_sink_does_not_change_the_hash() {
    let sc = scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/focused/d0-azure-outage.json"),
    )
    .expect("scenario loads");
    let plain = run_scenario(&sc, RunOptions::default()).summary.trace_hash;
    let kinds = ["action", "detected", "auth_minute"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    struct W(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let with_sink = run_scenario(
        &sc,
        RunOptions {
            events_sink: Some(Box::new(W(buf.clone()))),
            events_kinds: Some(kinds),
            ..RunOptions::default()
        },
    )
    .summary
    .trace_hash;
    assert_eq!(plain, with_sink);
    let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // 1,440 minutes of auth records plus the action's begin and end.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("\"auth_minute\""))
            .count(),
        1_440
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("\"kind\":\"action\""))
            .count(),
        2
    );
    for l in &lines {
        serde_json::from_str::<serde_json::Value>(l).expect("every line is JSON");
    }
}
