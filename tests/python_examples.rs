//! The Python reference agent and recovery script under `examples/` pass
//! their own tests (`examples/tests`, a fake control plane and cloud on
//! loopback), so `cargo test` catches a change that breaks the code users
//! are told to start from.
//!
//! The tests wait on the wall clock (an agent polls for a second or
//! three of real time) and barely use the CPU: run one after another they
//! took 37 s of wall time and 4 s of CPU (issue 31). Each runs in its own
//! `python3 -m unittest` process, `PROCESSES_AT_ONCE` at a time; every
//! fake server binds 127.0.0.1:0 and every scratch folder is a fresh
//! temporary one, so they cannot meet.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The tests examples/tests holds when this was written.
const TESTS_MIN: usize = 15;

/// How many test processes run at once. They sleep most of the time; the
/// timing checks inside them allow 50 ms of scheduler lateness, which a
/// handful of mostly idle processes on two cores stays far inside.
const PROCESSES_AT_ONCE: usize = 6;

/// Prints the id of every test unittest discovers in examples/tests, one a
/// line (a module that fails to import is listed as a failing test, so it
/// fails below like any other).
const LIST_TESTS: &str = "\
import unittest
def ids(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from ids(t)
        else:
            yield t.id()
for i in ids(unittest.defaultTestLoader.discover('.')):
    print(i)
";

fn python(args: &[&str]) -> Output {
    let tests = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tests");
    Command::new("python3")
        .args(args)
        .current_dir(tests)
        .output()
        .unwrap_or_else(|e| {
            panic!("expected python3 (3.8 or newer) on the PATH to run examples/tests: {e}")
        })
}

fn text(out: &Output) -> String {
    // unittest reports on stderr; both streams help when it fails.
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_python_examples_pass_their_tests() {
    let listed = python(&["-c", LIST_TESTS]);
    assert!(
        listed.status.success(),
        "listing the tests failed:\n{}",
        text(&listed)
    );
    let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    // Guards against discovery finding nothing, or a part of the suite.
    assert!(
        ids.len() >= TESTS_MIN,
        "expected at least {TESTS_MIN} tests, found {}: {ids:?}",
        ids.len()
    );
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PROCESSES_AT_ONCE {
            s.spawn(|| loop {
                let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return;
                };
                let out = python(&["-m", "unittest", "-v", id]);
                let ran_one = String::from_utf8_lossy(&out.stderr).contains("Ran 1 test");
                if !out.status.success() || !ran_one {
                    let report = format!("{id} ({}):\n{}", out.status, text(&out));
                    failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(report);
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    assert!(
        failed.is_empty(),
        "{} of {} tests in examples/tests failed (each: python3 -m unittest -v ID, \
         in examples/tests):\n{}",
        failed.len(),
        ids.len(),
        failed.join("\n")
    );
}
