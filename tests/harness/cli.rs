//! The `cascade` command as a user meets it: exit codes, seed first,
//! reproduction line last, clear errors on bad input.

use std::process::Command;

fn cascade(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_prints_seed_first_and_reproduction_last() {
    let (code, out, _) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--seed",
        "7",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().next(), Some("SEED=7"));
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with(
            "reproduce: cargo run --release -- run scenarios/focused/d0-azure-outage.json --seed 7"
        ),
        "{last}"
    );
    assert!(out.contains("trace hash "));
    assert!(out.contains("7 passed, 0 failed"));
}

#[test]
fn json_has_the_promised_fields() {
    let (code, out, _) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--json",
        "--no-report",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    for key in [
        "scenario",
        "seed",
        "trace_hash",
        "events",
        "expectations",
        "metrics",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let m = &v["metrics"];
    for key in [
        "clusters_lost_pools_by_day",
        "clusters_not_converged_at_end",
        "surface_unavailable_minutes",
        "auth_legit_success_ratio_by_hour",
        "incidents",
        "changes_applied",
    ] {
        assert!(m.get(key).is_some(), "missing metrics.{key}");
    }
    assert_eq!(v["trace_hash"].as_str().unwrap().len(), 16);
    let e = &v["expectations"][0];
    assert!(e["name"].is_string() && e["passed"].is_boolean() && e["detail"].is_string());
    let minutes = m["surface_unavailable_minutes"]["astro_ui"]["aws"]
        .as_f64()
        .unwrap();
    assert!((43.0..=47.0).contains(&minutes), "{minutes}");
}

#[test]
fn failed_expectation_exits_1() {
    let dir = std::env::temp_dir().join(format!("cascade-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/focused/d0-azure-outage.json");
    let text = std::fs::read_to_string(base)
        .unwrap()
        .replace("\"min\": 43, \"max\": 47", "\"min\": 0, \"max\": 1");
    let p = dir.join("bad-expect.json");
    std::fs::write(&p, text).unwrap();
    let (code, out, _) = cascade(&["run", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_2_with_file_and_field() {
    let dir = std::env::temp_dir().join(format!("cascade-cli2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("typo.json");
    std::fs::write(
        &p,
        r#"{"name": "x", "seed": 1, "start": "2025-03-18T00:00:00Z", "end": "2025-03-19T00:00:00Z",
            "model": {"agent": {"poll_interval_s": "soon"}}}"#,
    )
    .unwrap();
    let (code, _, err) = cascade(&["run", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("typo.json"), "{err}");
    assert!(err.contains("model.agent.poll_interval_s"), "{err}");
    assert!(err.contains("expected f64"), "{err}");
    let (code, _, err) = cascade(&["run", "no/such/file.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, _) = cascade(&["frobnicate"]);
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wire_prints_seed_first_a_stable_hash_and_reproduction_last() {
    let args = [
        "wire",
        "scenarios/focused/d8-leak-and-hotfix.json",
        "--seed",
        "3",
        "--clusters",
        "6",
        "--for",
        "40m",
        "--agents-per-host",
        "3",
    ];
    let (code, out, err) = cascade(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().next(), Some("SEED=3"));
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with(
            "reproduce: cargo run --release -- wire scenarios/focused/d8-leak-and-hotfix.json --seed 3 --clusters 6 --from +14h30m --for 40m"
        ),
        "{last}"
    );
    for key in ["clusters that lost pools", "agents dead", "answers by kind"] {
        assert!(out.contains(key), "missing {key}: {out}");
    }
    let hash = |o: &str| {
        o.lines()
            .find(|l| l.starts_with("trace hash "))
            .map(str::to_string)
    };
    let (_, again, _) = cascade(&args);
    assert!(hash(&out).is_some());
    assert_eq!(hash(&out), hash(&again), "same seed, same trace hash");
    // --json: one object with the same hash.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let (code, js, _) = cascade(&json_args);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&js).expect("one JSON object");
    let text_hash = hash(&out).unwrap();
    assert!(
        text_hash.ends_with(v["trace_hash"].as_str().unwrap()),
        "{text_hash}"
    );
    assert_eq!(v["seed"], 3);
    assert!(v["clusters_lost"].is_object() && v["passed"].is_boolean());
}

#[test]
fn wire_bad_input_exits_2() {
    let (code, _, err) = cascade(&["wire", "no/such/file.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = cascade(&[
        "wire",
        "scenarios/focused/d8-leak-and-hotfix.json",
        "--for",
        "soon",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--for"), "{err}");
    let (code, _, err) = cascade(&[
        "wire",
        "scenarios/focused/d8-leak-and-hotfix.json",
        "--for",
        "30d",
    ]);
    assert_eq!(code, 2, "a window past the scenario's end");
    assert!(err.contains("window"), "{err}");
}

#[test]
fn wire_takes_partitions_and_holds_from_the_command_line() {
    let args = [
        "wire",
        "scenarios/counterfactuals/fixed-agent.json",
        "--clusters",
        "6",
        "--for",
        "1h",
        "--partition",
        "edge-control-plane@10m/15m",
        "--hold",
        "agents-edge@40m/5m",
        "--json",
    ];
    let (code, out, err) = cascade(&args);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["clusters_lost"].as_object().unwrap().len(),
        0,
        "fixed agents delete nothing"
    );
    assert!(
        v["answers"]["5xx"].as_u64().unwrap() > 0,
        "the partition shows as 502s: {v}"
    );
    assert!(v["reproduce"]
        .as_str()
        .unwrap()
        .contains("--partition edge-control-plane@10m/15m --hold agents-edge@40m/5m"));
    let (code, _, err) = cascade(&[
        "wire",
        "scenarios/counterfactuals/fixed-agent.json",
        "--hold",
        "edge@1m",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--hold"), "{err}");
}

#[test]
fn a_seed_sweep_reports_each_expectation_per_seed_and_fails_when_one_does() {
    let (code, out, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--seeds",
        "1..4",
        "--jobs",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().next(), Some("SEED=1"));
    assert_eq!(out.matches("| 3/3 |").count(), 7, "{out}");
    assert!(out.contains("every expectation holds on all 3 seeds"));
    assert!(out
        .lines()
        .last()
        .unwrap()
        .contains("--seeds 1..4 --jobs 2"));
    // An expectation that no seed meets: the sweep fails and says where.
    let dir = std::env::temp_dir().join(format!("cascade-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tight.json");
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/focused/d0-azure-outage.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"extends": "{}", "name": "tight",
                "expect": [{{"kind": "clusters_lost_pools", "min": 1, "max": 5}}]}}"#,
            base.display()
        ),
    )
    .unwrap();
    let (code, out, _) = cascade(&["run", file.to_str().unwrap(), "--seeds", "1..3"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("| 0/2 | 1 ("), "{out}");
    let (code, _, err) = cascade(&["run", file.to_str().unwrap(), "--seeds", "5..5"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cascade(&["run", file.to_str().unwrap(), "--seeds", "1..999999999"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at most 10000 seeds"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The record's "more loss on D8 than on D5" compares incidents, not
/// calendar days: with the D8 misroute share at 0.25 (a one-line override)
/// the D8 incident loses fewer clusters than D5's, and the check fails,
/// although D8's day still loses more than D5's second calendar day.
#[test]
fn more_loss_by_incident_fails_when_d8_is_smaller_than_d5() {
    let expect = r#"expect=[{"kind": "more_loss_in_incident", "incident": 2, "than": 1},
                           {"kind": "more_loss_on", "date": "2025-03-26", "than": "2025-03-23"}]"#;
    let (code, out, err) = cascade(&[
        "run",
        "scenarios/march-2025.json",
        "--no-report",
        "--set",
        "timeline.E9.route_defect_cells=6",
        "--set",
        expect,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL more clusters lose pools in incident 2 than in incident 1"),
        "{out}"
    );
    assert!(
        out.contains("PASS more clusters lose pools on 2025-03-26 than on 2025-03-23"),
        "{out}"
    );
    // The fact is marked as calibrated by the tuned fields that affect it.
    assert!(
        out.contains(
            "(calibrated: timeline.R1.route_defect_cells, timeline.E9.route_defect_cells)"
        ),
        "{out}"
    );
    // The reproduction line carries the overrides.
    let last = out.lines().last().unwrap();
    assert!(
        last.contains("--set 'timeline.E9.route_defect_cells=6'"),
        "{last}"
    );
}

/// A paired verdict measures both runs: when the responders never choose
/// the hotfix, the run "with the fix" is the run without it, and the pair
/// that credits the hotfix with fewer lost clusters fails.
#[test]
fn the_hotfix_pair_fails_when_the_hotfix_never_ships() {
    let (code, out, _) = cascade(&[
        "run",
        "scenarios/focused/d8-leak-and-hotfix.json",
        "--no-report",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Paired runs"), "{out}");
    let (code, out, _) = cascade(&[
        "run",
        "scenarios/focused/d8-leak-and-hotfix.json",
        "--no-report",
        "--set",
        "model.response.hotfix_when_manual_exceeds_h=1000",
    ]);
    assert_eq!(code, 1, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("clusters lost in incident 1"))
        .expect("the paired expectation");
    assert!(line.starts_with("  FAIL"), "{line}");
    assert!(line.contains("difference 0.00"), "{line}");
}

#[test]
fn set_takes_key_value_and_refuses_what_does_not_apply() {
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--no-report",
        "--set",
        "timeline.NOPE.at=D0 01:00",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no timeline item with id \"NOPE\""), "{err}");
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--no-report",
        "--set",
        "model.agent.poll_interval_s=-5",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("poll_interval_s"), "{err}");
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--set",
        "nokey",
    ]);
    assert_eq!(code, 2, "{err}");
}

const FIXED_400: &str = "scenarios/chaos/fixed-400.profile.json";

#[test]
fn chaos_arguments_are_checked_before_anything_runs() {
    for (args, expected) in [
        (
            vec!["--seeds", "1..18446744073709551615"],
            "at most 1000000 per invocation",
        ),
        (
            vec!["--seeds", "1..3000000001", "--shard", "0/1000"],
            "3000000 seeds asked for",
        ),
        (
            vec!["--seed", "18446744073709551615", "--count", "2"],
            "ends past the largest seed",
        ),
        (vec!["--count", "0"], "--count"),
        (vec!["--jobs", "0"], "--jobs"),
        (vec!["--jobs", "257"], "--jobs"),
        (vec!["--seeds", "1..3", "--shard", "5/8"], "no seed of 1..3"),
    ] {
        let mut all = vec!["chaos", FIXED_400];
        all.extend(args.iter().copied());
        let (code, stdout, stderr) = cascade(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stdout.contains("seeds run"), "{args:?} ran: {stdout}");
    }
}

#[test]
fn chaos_gives_every_seed_hash_and_a_digest_that_shards_add_up_to() {
    let sweep = |extra: &[&str]| {
        let mut all = vec![
            "chaos", FIXED_400, "--seeds", "1..7", "--json", "--jobs", "2",
        ];
        all.extend(extra.iter().copied());
        let (code, stdout, stderr) = cascade(&all);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is the JSON alone");
        assert!(
            stderr.starts_with("SEED="),
            "the seed comes first: {stderr}"
        );
        v
    };
    let hashes = |v: &serde_json::Value| -> Vec<(u64, String)> {
        v["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| {
                let h = r["trace_hash"].as_str().expect("hash").to_string();
                assert_eq!(h.len(), 16, "{h}");
                (r["seed"].as_u64().expect("seed"), h)
            })
            .collect()
    };
    let whole = sweep(&[]);
    let all = hashes(&whole);
    assert_eq!(
        all.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let mut union = hashes(&sweep(&["--shard", "0/2"]));
    union.extend(hashes(&sweep(&["--shard", "1/2"])));
    union.sort();
    assert_eq!(
        union, all,
        "two shards run the seeds of the whole, with its hashes"
    );

    // The text output names the same digest, and the reproduction line last.
    let (code, stdout, _) = cascade(&["chaos", FIXED_400, "--seeds", "1..7", "--jobs", "2"]);
    assert_eq!(code, 0);
    let digest = whole["digest"].as_str().expect("digest");
    assert!(
        stdout.contains(&format!("trace hashes: digest {digest} over 6 seeds")),
        "{stdout}"
    );
    assert!(stdout
        .trim_end()
        .lines()
        .last()
        .unwrap()
        .starts_with("reproduce: "));
}

#[test]
fn names_and_sizes_of_inputs_are_bounded() {
    let dir = std::env::temp_dir().join(format!("cascade-cli-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A name that would climb out of reports/ is refused before anything runs.
    let p = dir.join("climb.json");
    std::fs::write(
        &p,
        r#"{"name": "../../../x", "seed": 1, "start": "2025-03-18T00:00:00Z", "end": "2025-03-18T01:00:00Z"}"#,
    )
    .unwrap();
    let (code, _, err) = cascade(&["run", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("climb.json"), "{err}");
    assert!(err.contains("at `name`"), "{err}");
    assert!(err.contains("\"../../../x\""), "{err}");
    // A chaos profile's magnitudes must be values its actions take.
    let p = dir.join("zero-slowdown.profile.json");
    std::fs::write(
        &p,
        r#"{"name": "z", "base": "none.json", "fault_window_h": 1, "quiet_h": 1,
            "faults": {"vendor_slowdown": {"count_max": 1, "duration": ["1m", "2m"], "magnitude": [0, 5]}}}"#,
    )
    .unwrap();
    let (code, _, err) = cascade(&["chaos", p.to_str().unwrap(), "--count", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("at `faults.vendor_slowdown.magnitude`: expected values within [0.01, 1000] for vendor_slowdown, found [0, 5]"),
        "{err}"
    );
    // A file without an end is read up to its cap, not until memory runs out.
    let (code, _, err) = cascade(&["check", "/dev/zero"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/dev/zero"), "{err}");
    assert!(err.contains("larger than 4194304 bytes"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_folders_are_rewritten_whole_and_a_write_failure_has_its_own_exit_code() {
    let dir = std::env::temp_dir().join(format!("cascade-cli-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("run");
    let out_arg = out.to_str().unwrap();
    let scenario = "scenarios/focused/d0-azure-outage.json";
    let files = |d: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let (code, _, err) = cascade(&["run", scenario, "--out", out_arg]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        files(&out),
        [
            "events.jsonl",
            "report.html",
            "series.json",
            "summary.json",
            "summary.md",
            "trace.json"
        ]
    );
    // Again without events: the first run's events do not stay behind to
    // pass for the second's.
    let (code, _, err) = cascade(&["run", scenario, "--out", out_arg, "--events", "none"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.join("events.jsonl").exists());
    // A file that cannot be replaced (here a folder in its place): exit 6,
    // and no summary, so the folder does not pass for a finished run.
    std::fs::remove_file(out.join("report.html")).unwrap();
    std::fs::create_dir_all(out.join("report.html/in-the-way")).unwrap();
    let (code, _, err) = cascade(&["run", scenario, "--out", out_arg]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("cannot write the run folder"), "{err}");
    assert!(err.contains("report.html"), "{err}");
    assert!(!out.join("summary.json").exists());
    let (code, _, err) = cascade(&["compare", out_arg, out_arg]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a finished run folder"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn work_is_budgeted_up_front_and_a_run_stopped_short_gives_no_verdict() {
    // A million clusters polling every 0.1 s for nine days: refused before
    // anything is allocated, with where the figure comes from.
    // (--events-max keeps the test short should the budget ever let it run.)
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/scale/march-2025-1m.json",
        "--set",
        "model.agent.poll_interval_s=0.1",
        "--no-report",
        "--events-max",
        "100000",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the command implies about 7.78e12 agent polls and auth ticks (1000000 clusters × 777600 s ÷ poll_interval_s 0.1 s"),
        "{err}"
    );
    assert!(err.contains("--work-max"), "{err}");
    // The flag sets the budget: lowered, it refuses even a day of 2,000.
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--work-max",
        "1000",
        "--no-report",
        "--events-max",
        "100000",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("above the budget of 1.00e3"), "{err}");

    // Stopped by the event limit: exit 7, the reason and the instant, and
    // a folder without summary (and without leftovers).
    let dir = std::env::temp_dir().join(format!("cascade-cli-short-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--events-max",
        "1000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 7, "{out}{err}");
    assert!(
        err.contains("the run stopped before its end: event limit reached at 2025-03-18T00:00:20Z (1000 events)"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_live_tier_refuses_to_be_exposed_by_accident() {
    let (code, _, err) = cascade(&["serve", "--listen", "0.0.0.0:0", "--for", "1s"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--listen 0.0.0.0:0 is not a loopback address"),
        "{err}"
    );
    assert!(err.contains("--allow-remote"), "{err}");
    let (code, _, err) = cascade(&["serve", "--clusters", "4294967295", "--for", "1s"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--clusters"), "{err}");
    // An agent needs its token: none is derived from the seed any more.
    let (code, _, err) = cascade(&[
        "agent",
        "--control-plane",
        "http://127.0.0.1:9",
        "--cluster",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--token"), "{err}");
    // An agent that never reaches its control plane fails.
    let (code, out, err) = cascade(&[
        "agent",
        "--control-plane",
        "http://127.0.0.1:9",
        "--cluster",
        "0",
        "--token",
        "x",
        "--time-scale",
        "600",
        "--for",
        "1s",
        "--timeout-ms",
        "100",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("never reached the control plane at http://127.0.0.1:9"),
        "{err}"
    );
}

#[test]
fn a_run_killed_at_any_point_leaves_no_folder_that_looks_finished() {
    // The flagship takes about a second: killed at points through it (and
    // through its writing), the folder either has no summary.json or has
    // every file of one run, each parseable. Bounded: eight kills.
    let dir = std::env::temp_dir().join(format!("cascade-cli-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("run");
    for (k, after_ms) in [30u64, 120, 300, 500, 800, 1_100, 1_500, 2_500]
        .into_iter()
        .enumerate()
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
            .args(["run", "scenarios/march-2025.json", "--seed"])
            .arg((k + 1).to_string())
            .arg("--out")
            .arg(&out)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("runs");
        std::thread::sleep(std::time::Duration::from_millis(after_ms));
        let _ = child.kill();
        let _ = child.wait();
        let summary = out.join("summary.json");
        if summary.exists() {
            let s: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
            for f in [
                "summary.md",
                "trace.json",
                "report.html",
                "series.json",
                "events.jsonl",
            ] {
                assert!(out.join(f).is_file(), "kill {k}: summary.json without {f}");
            }
            let series: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("series.json")).unwrap())
                    .unwrap();
            // The series is the same run's as the summary.
            assert_eq!(series["seed"], s["seed"], "kill {k}");
        }
    }
    // A run that finishes clears what the killed ones left behind.
    let (code, _, err) = cascade(&[
        "run",
        "scenarios/focused/d0-azure-outage.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "events.jsonl",
            "report.html",
            "series.json",
            "summary.json",
            "summary.md",
            "trace.json"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_committed_schemas_are_what_cascade_schema_prints() {
    // Editors read the committed copies: they must be today's.
    for (format, file) in [
        ("scenario", "scenarios/scenario.schema.json"),
        ("profile", "scenarios/chaos/profile.schema.json"),
    ] {
        let (code, out, err) = cascade(&["schema", format]);
        assert_eq!(code, 0, "{err}");
        let committed = std::fs::read_to_string(file).expect("committed schema");
        assert!(
            out == committed,
            "{file} is stale: run `cargo run --release -- schema {format} --out {file}`"
        );
        let schema: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(
            schema["additionalProperties"], false,
            "{format}: unknown keys refused"
        );
    }
    // Every numeric field states its range, in the loader's words; only
    // the salts (of a misroute, of a bot wave, of an agent crash) take any
    // value.
    let scenario = std::fs::read_to_string("scenarios/scenario.schema.json").unwrap();
    assert!(scenario.contains("Valid: 0.1 to one day (86,400)."));
    assert!(
        scenario.contains("Valid: 0.01 to 1,000."),
        "a timeline factor"
    );
    assert_eq!(scenario.matches("not range-checked").count(), 3);
    let profile = std::fs::read_to_string("scenarios/chaos/profile.schema.json").unwrap();
    assert!(
        profile.contains("Valid: a fraction in [0, 1]."),
        "swarm_ratio"
    );
    assert!(!profile.contains("not range-checked"));
}

#[test]
fn files_may_name_their_schema() {
    let dir = std::env::temp_dir().join(format!("cascade-schema-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("with-schema.json");
    std::fs::write(
        &scenario,
        r#"{ "$schema": "./scenario.schema.json", "name": "with-schema", "seed": 1,
             "start": "2025-03-18T00:00:00Z", "end": "2025-03-18T01:00:00Z" }"#,
    )
    .unwrap();
    let (code, out, err) = cascade(&["check", scenario.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    // Any other unknown key is still refused, naming it.
    std::fs::write(
        &scenario,
        r#"{ "$schemas": "x", "name": "with-schema", "seed": 1,
             "start": "2025-03-18T00:00:00Z", "end": "2025-03-18T01:00:00Z" }"#,
    )
    .unwrap();
    let (code, _, err) = cascade(&["check", scenario.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("$schemas"), "{err}");
    let profile = std::fs::read_to_string("scenarios/chaos/fixed-400.profile.json").unwrap();
    let profile = profile.replacen('{', r#"{ "$schema": "./profile.schema.json","#, 1);
    let loaded: cascade::chaos::profile::Profile =
        serde_json::from_str(&profile).expect("a profile with $schema parses");
    assert_eq!(loaded.schema.as_deref(), Some("./profile.schema.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_panic_inside_a_run_is_a_verdict_with_its_own_exit_code_and_the_sweep_goes_on() {
    // Change management with a planted bug (isolation asserts instead of
    // rejecting): the E9 leak meets isolation and the change manager
    // panics.
    let base = [
        "run",
        "scenarios/chaos/_base-march-400-hotfix.json",
        "--set",
        "model.fleet.clusters=20",
        "--no-report",
    ];
    let bug = [
        "--set",
        "model.change.seeded_bug=isolation_asserts_instead_of_rejecting",
    ];
    let (code, out, _) = cascade(&base);
    assert_eq!(code, 0, "without the bug the file passes: {out}");
    let with_bug: Vec<&str> = base.iter().chain(&bug).copied().collect();
    let (code, out, err) = cascade(&with_bug);
    assert_eq!(code, 8, "{out}{err}");
    assert_eq!(out.lines().next(), Some("SEED=1"));
    assert!(
        err.contains("seed 1: the run panicked at src/model/change.rs:")
            && err.contains("leaked from staging to prod with isolation on")
            && err.contains("verdict: panic"),
        "{err}"
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("reproduce: cargo run --release -- run scenarios/chaos/_base-march-400-hotfix.json --set")
            && last.contains("isolation_asserts_instead_of_rejecting")
            && last.contains("--seed 1"),
        "{last}"
    );
    // Over seeds: each panicking seed is named, none stops the others.
    let sweep: Vec<&str> = with_bug
        .iter()
        .copied()
        .chain(["--seeds", "1..3", "--jobs", "2"])
        .collect();
    let (code, out, _) = cascade(&sweep);
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("seed 1: verdict panic: the run panicked at src/model/change.rs:"));
    assert!(out.contains("seed 2: verdict panic: the run panicked at src/model/change.rs:"));
    assert!(out.contains("2 seed(s) panicked"), "{out}");
    // A chaos sweep: a panic is a failing seed (class panic, exit 8), the
    // sweep runs every seed.
    let (code, out, err) = cascade(&[
        "chaos",
        "scenarios/chaos/anchored-march.profile.json",
        "--count",
        "2",
        "--bug",
        "isolation_asserts_instead_of_rejecting",
        "--no-shrink",
    ]);
    assert_eq!(code, 8, "{out}{err}");
    assert!(out.contains("| 2 | 0 | 2 | 0 | 0 | not checked |"), "{out}");
    assert!(out.contains("seed 2: panic:src/model/change.rs:"), "{out}");
}

#[test]
fn the_sweep_reports_time_to_converge_and_its_p99_gate_can_fail() {
    let dir = std::env::temp_dir().join(format!("cascade-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let profile = |bound_h: f64| {
        let mut p: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("scenarios/chaos/fixed-400.profile.json")).unwrap(),
        )
        .unwrap();
        p["base"] = root
            .join("scenarios/chaos/_base-400-fixed.json")
            .display()
            .to_string()
            .into();
        p["converge_p99_h_max"] = bound_h.into();
        let path = dir.join(format!("gate-{bound_h}.profile.json"));
        std::fs::write(&path, serde_json::to_string(&p).unwrap()).unwrap();
        path.display().to_string()
    };
    let sweep = |path: &str| {
        cascade(&[
            "chaos",
            path,
            "--count",
            "4",
            "--jobs",
            "2",
            "--no-shrink",
            "--json",
        ])
    };
    // Seeds 1 to 4 pass and settle well within 6 h: the gate holds.
    let (code, out, err) = sweep(&profile(6.0));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = &v["time_to_converge"];
    assert_eq!(t["seeds"], 4);
    assert_eq!(t["never"], 0);
    assert_eq!(t["gate_holds"], true);
    let p99 = t["p99_s"].as_f64().unwrap();
    assert!(p99 > 0.0 && p99 < 6.0 * 3_600.0, "{t}");
    assert!(err.contains("time to converge after the last fault heals, 4 seeds: p50 "));
    // The same seeds against a bound below their p99: every seed passes,
    // the sweep fails on the tail (liveness, exit 4).
    let tight = p99 / 3_600.0 / 2.0;
    let (code, out, err) = sweep(&profile(tight));
    assert_eq!(code, 4, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["counts"]["passed"], 4);
    assert_eq!(v["time_to_converge"]["gate_holds"], false);
    assert!(err.contains("EXCEEDED"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_closing_lines_give_state_coverage_and_name_an_unreached_state() {
    // fixed-400 names restart_during_generation_regression among the
    // states it should reach; about 1 seed in 100 does (6 of 500), none of
    // the first 3, so the sweep reports the gap.
    let (code, out, err) = cascade(&[
        "chaos",
        "scenarios/chaos/fixed-400.profile.json",
        "--count",
        "3",
        "--jobs",
        "2",
        "--no-shrink",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("| state reached | seeds | first run |"),
        "{err}"
    );
    assert!(
        err.contains("| customer_change_during_fault | 3 / 3 | 1 |"),
        "{err}"
    );
    assert!(
        err.contains(
            "coverage finding: the profile should reach restart_during_generation_regression but no seed of 3 did"
        ),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["coverage"]["restart_during_generation_regression"], 0);
    assert_eq!(v["coverage"]["customer_change_during_fault"], 3);
    assert_eq!(
        v["coverage"].as_object().unwrap().len(),
        cascade::coverage::Reached::ALL.len()
    );
}
