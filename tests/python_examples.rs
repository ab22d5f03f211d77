//! The Python reference agent and recovery script under `examples/` pass
//! their own tests (`examples/tests`, a fake control plane and cloud on
//! loopback), so `cargo test` catches a change that breaks the code users
//! are told to start from.

use std::process::Command;

#[test]
fn the_python_examples_pass_their_tests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "examples/tests", "-v"])
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| {
            panic!("expected python3 (3.8 or newer) on the PATH to run examples/tests: {e}")
        });
    // unittest reports on stderr; both streams help when it fails.
    assert!(
        out.status.success(),
        "python3 -m unittest discover -s examples/tests failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stderr);
    // Guards against discovery finding nothing, or a part of the suite.
    let ran: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("expected unittest's \"Ran N tests\" line:\n{report}"));
    assert!(
        ran >= TESTS_MIN,
        "expected at least {TESTS_MIN} tests, ran {ran}:\n{report}"
    );
}

/// The tests examples/tests holds when this was written.
const TESTS_MIN: usize = 15;
