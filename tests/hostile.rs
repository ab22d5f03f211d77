//! Hostile input where features meet (issue 26): overrides and paired
//! variants are scenarios like any other, every run honours the budgets,
//! conflicting flags are refused, no command ends in Rust's exit 101, and
//! what the user typed is echoed safely.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cascade` from the project root with a time bound; `None` when it
/// had to be killed (a hang is a failure of its own).
fn cascade_in(dir: &Path, args: &[&str], bound: Duration) -> Option<(i32, String, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Drain both pipes on threads so a chatty command cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).ok();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).ok();
        s
    });
    // The bound on a child process is wall time, outside any simulated world.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("waits") {
            break Some(st);
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = String::from_utf8_lossy(&out_t.join().expect("joins")).into_owned();
    let err = String::from_utf8_lossy(&err_t.join().expect("joins")).into_owned();
    status.map(|st| (st.code().unwrap_or(-1), out, err))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cascade(args: &[&str]) -> (i32, String, String) {
    cascade_in(root(), args, Duration::from_secs(300)).expect("finishes within 5 minutes")
}

/// A scratch folder of this test, new each time.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cascade-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Writes a scenario that extends `base` (relative to the project root)
/// with `more` (JSON members, comma-led), and returns its path.
fn extending(dir: &Path, file: &str, base: &str, more: &str) -> String {
    let path = dir.join(file);
    let base = root().join(base);
    std::fs::write(
        &path,
        format!("{{\"extends\": {:?}{more}}}", base.display().to_string()),
    )
    .expect("writes");
    path.display().to_string()
}

const D0: &str = "scenarios/focused/d0-azure-outage.json";

#[test]
fn a_bare_timeline_override_is_refused_not_a_panic() {
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/march-2025.json",
        "--set",
        "timeline=[]",
        "--no-report",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected timeline.ID.FIELD"), "{err}");
    // The same through a paired variant, in `check`.
    let dir = scratch("variant-timeline");
    let file = extending(
        &dir,
        "v.json",
        D0,
        r#", "expect": [{"kind": "paired", "variant": "v", "set": {"timeline": []}, "metric": "clusters_lost", "less_by_min": 0}]"#,
    );
    let (code, _, err) = cascade(&["check", &file]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at `expect[0].set`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn compare_reports_a_panicking_run_as_a_panic() {
    let dir = scratch("compare-panic");
    let file = extending(
        &dir,
        "panics.json",
        "scenarios/counterfactuals/isolation.json",
        r#", "name": "panics", "model": {"change": {"seeded_bug": "isolation_never_rejects"}}"#,
    );
    let page = dir.join("c.html").display().to_string();
    let (code, _, err) = cascade(&["compare", &file, D0, "--out", &page]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("panicked at src/model/change.rs"), "{err}");
    assert!(
        err.contains("reproduce: cargo run --release -- compare"),
        "{err}"
    );
    assert!(
        !Path::new(&page).exists(),
        "no page for runs that did not finish"
    );
}

#[test]
fn the_work_budget_counts_paired_variants_and_seeds() {
    // One flagship run is about 2.7e7 polls and ticks; with its variant 5.3e7.
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/march-2025.json",
        "--work-max",
        "30000000",
        "--events-max",
        "1",
        "--no-report",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("with its 1 paired variant(s)"), "{err}");
    // One d0 run is about 2.97e6; two seeds twice that.
    let (code, _, err) = cascade(&["run", D0, "--seeds", "1..3", "--work-max", "3000000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("× 2 runs"), "{err}");
    let (code, _, err) = cascade(&["compare", D0, D0, "--work-max", "3000000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("above the budget"), "{err}");
}

#[test]
fn every_run_of_a_sweep_honours_the_event_budget() {
    let (code, out, err) = cascade(&["run", D0, "--seeds", "1..3", "--events-max", "1000"]);
    assert_eq!(code, 7, "{out}{err}");
    assert!(
        out.contains("seed 1: no verdict: the run stopped before its end"),
        "{out}"
    );
    assert!(out.contains("2 seed(s) stopped before their end"), "{out}");
    assert!(
        out.contains("--events-max 1000"),
        "the reproduction line keeps the budget: {out}"
    );
}

#[test]
fn a_pair_whose_variant_stopped_short_gives_no_verdict() {
    // The variant has four times the fleet, so it needs more events than
    // its parent (142,214 against 101,768 on seed 1): a budget between the
    // two stops the variant only.
    let dir = scratch("pair-short");
    let file = extending(
        &dir,
        "pair.json",
        D0,
        r#", "expect": [{"kind": "paired", "variant": "four times the fleet", "set": {"model.fleet.clusters": 8000}, "metric": "clusters_lost", "ratio_max": 10}]"#,
    );
    let (code, out, err) = cascade(&["run", &file, "--events-max", "120000", "--no-report"]);
    assert_eq!(code, 7, "{out}{err}");
    assert!(
        err.contains("the paired variant \"four times the fleet\""),
        "{err}"
    );
    assert!(!out.contains("passed, "), "no verdict printed: {out}");
}

#[test]
fn overrides_that_cannot_take_effect_are_refused() {
    let dir = scratch("ineffective");
    let seeded = extending(
        &dir,
        "seeded.json",
        D0,
        r#", "expect": [{"kind": "paired", "variant": "v", "set": {"seed": 2}, "metric": "clusters_lost", "ratio_max": 1}]"#,
    );
    let (code, _, err) = cascade(&["check", &seeded]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("parent's seed"), "{err}");
    for (flags, words) in [
        (
            vec!["--set", r#"model.fleet={"clusters": 5, "clusters": 6}"#],
            "twice",
        ),
        (
            vec!["--set", "seed=3", "--seed", "4"],
            "conflicts with --seed",
        ),
        (
            vec![
                "--set",
                "model.fleet.clusters=5",
                "--set",
                "model.fleet.clusters=6",
            ],
            "set twice",
        ),
        (vec!["--set", "extends=\"x.json\""], "resolved before"),
        (vec!["--jobs", "2"], "--seeds"),
        (vec!["--out", "/tmp/x"], "cannot be used with"),
    ] {
        let mut args = vec!["run", D0, "--no-report"];
        args.extend(flags.iter().copied());
        let (code, _, err) = cascade(&args);
        assert_eq!(code, 2, "{flags:?}: {err}");
        assert!(err.contains(words), "{flags:?}: {err}");
    }
}

#[test]
fn a_valid_long_name_still_derives_valid_names() {
    let dir = scratch("long-name");
    let name = format!("n{}", "x".repeat(99));
    let file = extending(
        &dir,
        "long.json",
        D0,
        &format!(
            r#", "name": "{name}", "expect": [{{"kind": "paired", "variant": "v", "timeline_remove": ["E1"], "metric": "clusters_lost", "ratio_max": 10}}]"#
        ),
    );
    let (code, out, err) = cascade(&["check", &file]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn timeline_ids_are_unique_after_extends() {
    let dir = scratch("ids");
    let file = extending(
        &dir,
        "ids.json",
        D0,
        r#", "timeline": [{"id": "X", "at": "+1h", "do": {"kind": "note"}}, {"id": "X", "at": "+2h", "do": {"kind": "note"}}]"#,
    );
    let (code, _, err) = cascade(&["check", &file]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("at `timeline[1].id`") && err.contains("timeline[0]"),
        "{err}"
    );
}

#[test]
fn chaos_refuses_conflicting_flags_and_json_is_json_alone() {
    let profile = "scenarios/chaos/fixed-400.profile.json";
    for flags in [
        vec!["--seeds", "1..2", "--count", "1000000"],
        vec!["--seeds", "1..2", "--seed", "5"],
        vec!["--no-shrink", "--shrink-max", "2"],
        vec!["--no-shrink", "--promote", "/tmp/x"],
    ] {
        let mut args = vec!["chaos", profile];
        args.extend(flags.iter().copied());
        let (code, _, err) = cascade(&args);
        assert_eq!(code, 2, "{flags:?}: {err}");
    }
    let dir = scratch("chaos-json");
    let (out_dir, promote) = (dir.join("out"), dir.join("promoted"));
    let (code, out, err) = cascade(&[
        "chaos",
        "scenarios/chaos/historical-404.profile.json",
        "--seeds",
        "1..2",
        "--json",
        "--out",
        &out_dir.display().to_string(),
        "--promote",
        &promote.display().to_string(),
    ]);
    assert_eq!(code, 3, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON document");
    assert_eq!(doc["counts"]["safety"], 1);
    assert!(err.contains("promoted to"), "{err}");
}

#[test]
fn echoed_keys_and_paths_cannot_drive_the_terminal() {
    let dir = scratch("escape");
    let file = dir.join("esc.json");
    std::fs::write(
        &file,
        "{\"name\": \"t\", \"seed\": 1, \"start\": \"2025-03-18T00:00:00Z\", \"end\": \"2025-03-19T00:00:00Z\", \"\\u001b]0;owned\\u0007\\u001b[31m\": 1}",
    )
    .unwrap();
    let (code, _, err) = cascade(&["check", &file.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("\\u{1b}]0;owned\\u{7}"), "{err}");
    let (code, _, err) = cascade(&["run", D0, "--set", "model.\u{1b}[2J=1", "--no-report"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn wire_bounds_its_slice_and_its_sides() {
    for flags in [
        vec!["--clusters", "4000000000"],
        vec!["--agents-per-host", "0"],
        vec!["--tick-ms", "0"],
        vec!["--partition", "edge-edge@0s/1h"],
    ] {
        let mut args = vec!["wire", D0];
        args.extend(flags.iter().copied());
        let (code, _, err) = cascade_in(root(), &args, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("{flags:?} hung"));
        assert_eq!(code, 2, "{flags:?}: {err}");
    }
}
