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
        r#", "name": "panics", "model": {"change": {"seeded_bug": "isolation_asserts_instead_of_rejecting"}}"#,
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
        vec!["--clusters", "1000", "--agents-per-host", "1"],
    ] {
        let mut args = vec!["wire", D0];
        args.extend(flags.iter().copied());
        let (code, _, err) = cascade_in(root(), &args, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("{flags:?} hung"));
        assert_eq!(code, 2, "{flags:?}: {err}");
    }
}

mod random_argument_vectors {
    //! Every subcommand driven with random argument vectors drawn from its
    //! own flags (and some it does not have) and a pool of hostile values:
    //! whatever the words, the command ends by itself with one of the
    //! documented exit codes, never Rust's 101 nor a panic's 8.
    use super::*;
    use proptest::prelude::*;

    /// What a flag takes, so that most values are of the right kind and
    /// reach the code past the parser.
    #[derive(Clone, Copy)]
    enum Kind {
        Switch,
        Number,
        Range,
        Shard,
        Set,
        File,
        Time,
        Span,
        Events,
        NetFault,
        Text,
    }
    use Kind::*;

    /// Each command's flags, an unknown one among them.
    const COMMANDS: &[(&str, &[(&str, Kind)])] = &[
        (
            "run",
            &[
                ("--seed", Number),
                ("--seeds", Range),
                ("--jobs", Number),
                ("--json", Switch),
                ("--out", File),
                ("--no-report", Switch),
                ("--events", Events),
                ("--set", Set),
                ("--set", Set),
                ("-v", Switch),
                ("--step-every-poll", Switch),
                ("--work-max", Number),
                ("--events-max", Number),
                ("--nope", Text),
            ],
        ),
        (
            "chaos",
            &[
                ("--seed", Number),
                ("--count", Number),
                ("--seeds", Range),
                ("--jobs", Number),
                ("--shard", Shard),
                ("--check-determinism", Switch),
                ("--bug", Text),
                ("--out", File),
                ("--no-shrink", Switch),
                ("--shrink-max", Number),
                ("--promote", File),
                ("--stop-on-failure", Switch),
                ("-v", Switch),
                ("--json", Switch),
            ],
        ),
        (
            "compare",
            &[
                ("--out", File),
                ("--work-max", Number),
                ("--events-max", Number),
            ],
        ),
        ("check", &[("--strict", Switch)]),
        ("schema", &[("--out", File)]),
        (
            "wire",
            &[
                ("--seed", Number),
                ("--clusters", Number),
                ("--from", Time),
                ("--for", Span),
                ("--agents-per-host", Number),
                ("--tick-ms", Number),
                ("--json", Switch),
                ("--partition", NetFault),
                ("--hold", NetFault),
            ],
        ),
        (
            "serve",
            &[
                ("--clusters", Number),
                ("--seed", Number),
                ("--token-file", File),
                ("--time-scale", Number),
                ("--empty-cloud", Switch),
                ("--delete-locks", Switch),
            ],
        ),
        (
            "agent",
            &[
                ("--cluster", Number),
                ("--token", Text),
                ("--token-file", File),
                ("--guards", Text),
                ("--seed", Number),
                ("--time-scale", Number),
                ("--poll-interval-s", Number),
            ],
        ),
    ];

    /// Values of each kind: at and past their limits, backwards, with
    /// escapes, huge; paths to files of each kind.
    fn pool(kind: Kind, dir: &str) -> Vec<String> {
        let words: &[&str] = match kind {
            Switch => &[],
            Number => &[
                "0",
                "1",
                "2",
                "3",
                "-1",
                "1000",
                "18446744073709551615",
                "18446744073709551616",
                "NaN",
                "inf",
                "1e309",
                "0.5",
            ],
            Range => &[
                "1..3",
                "3..1",
                "0..0",
                "1..2",
                "18446744073709551614..18446744073709551615",
                "1...3",
                "..3",
            ],
            Shard => &["0/2", "2/0", "1/2", "2/2", "0/18446744073709551615", "x/y"],
            Set => &[
                "timeline=[]",
                "timeline.N=1",
                "timeline.N.at=+30m",
                "timeline.N.id=M",
                "timeline.X.at=+1m",
                "seed=2",
                "name=renamed",
                "model.fleet.clusters=3",
                "model.fleet.clusters=0",
                "model={}",
                "model={\"fleet\": {\"clusters\": 2}}",
                "model.fleet.clusters={\"a\":1,\"a\":2}",
                "expect=[]",
                "expect=[{\"kind\": \"findings\", \"max\": -1}]",
                "extends=\"tiny.json\"",
                "end=\"2025-03-18T01:00:00Z\"",
                "end=\"99999999999-01-01T00:00:00Z\"",
                "x=1",
                "model.\u{1b}[2J=1",
                "=1",
                "a..b=1",
            ],
            // Never a real device: a regression would replace the
            // machine's own /dev/null (it did, once, on the code before
            // this test). A fifo and a link stand for the other kinds.
            File => &[
                "fifo",
                "link",
                "/",
                "tiny.json",
                "sub",
                "out",
                "key",
                "missing/deeper/x",
            ],
            Time => &[
                "D0 00:30",
                "+1h",
                "+0s",
                "D999 00:00",
                "2025-03-18T01:00:00Z",
                "D0 25:00",
                "-1h",
            ],
            Span => &["1h", "0s", "-5m", "1000000d", "30m", "1"],
            Events => &[
                "all",
                "none",
                "action",
                "action,detected",
                "all,action",
                "nope",
            ],
            NetFault => &[
                "edge-cloud@1m/1m",
                "agents-agents@0s/1s",
                "edge-control-plane@0s/1000000h",
                "x-y@1m/1m",
                "edge-cloud@-1m/1m",
            ],
            Text => &[
                "hotfix",
                "all",
                "buggy",
                "deletes_on_5xx",
                "isolation_never_rejects",
                "x",
            ],
        };
        let mut v: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        if matches!(kind, File) {
            v = v
                .into_iter()
                .map(|w| {
                    if w.starts_with('/') {
                        w
                    } else {
                        format!("{dir}/{w}")
                    }
                })
                .collect();
        }
        v
    }

    /// Any kind's wrong values: empty, escapes, huge, a flag's look.
    fn hostile() -> Vec<String> {
        let mut v: Vec<String> = ["", "-", "--", "\u{1b}[31m", "-x", "💥", "1 2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push("x".repeat(5_000));
        v
    }

    /// A scenario of five clusters over two hours, and a chaos profile on it.
    fn lay_out(dir: &Path) {
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let made = Command::new("mkfifo").arg(dir.join("fifo")).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        std::os::unix::fs::symlink(dir.join("tiny.json"), dir.join("link")).unwrap();
        std::fs::write(
            dir.join("tiny.json"),
            r#"{"name": "tiny", "seed": 1, "start": "2025-03-18T00:00:00Z", "end": "2025-03-18T02:00:00Z",
               "model": {"fleet": {"clusters": 5}},
               "timeline": [{"id": "N", "at": "+1h", "do": {"kind": "note"}}],
               "expect": [{"kind": "findings", "max": 0},
                          {"kind": "paired", "variant": "no note", "timeline_remove": ["N"], "metric": "clusters_lost", "ratio_max": 1}]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("tiny.profile.json"),
            r#"{"name": "tiny", "base": "tiny.json", "fault_window_h": 1, "quiet_h": 1,
               "faults": {"service_5xx": {"count_max": 1, "duration": ["1m", "10m"], "magnitude": [0.1, 1.0]}}}"#,
        )
        .unwrap();
    }

    /// How many argument vectors to try: HOSTILE_CASES, or 64. The test
    /// process reads it; no simulated world does.
    #[allow(clippy::disallowed_methods)]
    fn cases() -> u32 {
        std::env::var("HOSTILE_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(64)
    }

    /// The seed of the draws: HOSTILE_SEED, or 1, so that `cargo test`
    /// tries the same command lines every time (the nightly job passes a
    /// new seed each night, and a failure prints its shrunk command line).
    #[allow(clippy::disallowed_methods)]
    fn seed() -> u64 {
        std::env::var("HOSTILE_SEED")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1)
    }

    /// (command, flags as (flag, value, hostile?), extra positional words)
    type Drawn = (usize, Vec<(usize, usize, bool)>, Vec<usize>);

    fn argv() -> impl Strategy<Value = Drawn> {
        (
            0..COMMANDS.len(),
            proptest::collection::vec(
                (0..32usize, 0..64usize, proptest::bool::weighted(0.15)),
                0..5,
            ),
            proptest::collection::vec(0..64usize, 0..2),
        )
    }

    proptest! {
        // HOSTILE_CASES raises the count for a longer hunt (600 cases found
        // the panic of the code before this test at case 315).
        #![proptest_config(ProptestConfig {
            cases: cases(),
            rng_seed: proptest::test_runner::RngSeed::Fixed(seed()),
            failure_persistence: None,
            .. ProptestConfig::default()
        })]
        #[test]
        fn no_command_panics_or_hangs((cmd, flags, positional) in argv()) {
            static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let case = CASE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let dir = scratch(&format!("argv-{case}"));
            lay_out(&dir);
            let root_words = dir.display().to_string();
            let (name, known) = COMMANDS[cmd];
            let mut args: Vec<String> = vec![name.to_string()];
            // The thing each command reads first, most of the time valid.
            let first = match name {
                "chaos" => format!("{root_words}/tiny.profile.json"),
                "run" | "compare" | "check" | "wire" => format!("{root_words}/tiny.json"),
                _ => String::new(),
            };
            if !first.is_empty() {
                args.push(first);
            }
            // More positional words only where a command takes several.
            if matches!(name, "compare" | "check") {
                let any = pool(File, &root_words);
                for p in positional {
                    args.push(any[p % any.len()].clone());
                }
            }
            for (f, x, wrong) in flags {
                let (flag, kind) = known[f % known.len()];
                args.push(flag.to_string());
                if matches!(kind, Switch) {
                    continue;
                }
                let values = if wrong { hostile() } else { pool(kind, &root_words) };
                args.push(values[x % values.len()].clone());
            }
            // Servers and agents end by themselves, on loopback only.
            match name {
                "serve" => args.extend(["--for", "1s", "--listen", "127.0.0.1:0", "--cloud-listen", "127.0.0.1:0"].map(String::from)),
                "agent" => args.extend(["--for", "1s", "--control-plane", "http://127.0.0.1:9"].map(String::from)),
                _ => {}
            }
            let words: Vec<&str> = args.iter().map(String::as_str).collect();
            let ran = cascade_in(&dir, &words, Duration::from_secs(120));
            let _ = std::fs::remove_dir_all(&dir);
            let (code, _, err) = ran.unwrap_or_else(|| panic!("hung: {words:?}"));
            prop_assert!(
                (0..=7).contains(&code),
                "exit {code} for {words:?}: {err}"
            );
            prop_assert!(!err.contains("panicked"), "{words:?}: {err}");
        }
    }
}

#[test]
fn a_fifo_where_a_file_is_read_is_refused_without_waiting() {
    let dir = scratch("fifo-input");
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let fifo = fifo.display().to_string();
    for args in [
        vec!["check", fifo.as_str()],
        vec!["compare", D0, fifo.as_str()],
        vec!["run", fifo.as_str(), "--no-report"],
        vec!["chaos", fifo.as_str()],
    ] {
        let (code, _, err) = cascade_in(root(), &args, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("{args:?} hung on a fifo"));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("not valid JSON"), "{args:?}: {err}");
    }
}

#[test]
fn chaos_bounds_its_work_and_each_run() {
    // fixed-400: 400 clusters over at most ~35 days of scenario per seed.
    let profile = "scenarios/chaos/fixed-400.profile.json";
    let (code, _, err) = cascade(&[
        "chaos",
        profile,
        "--count",
        "100000",
        "--work-max",
        "1000000000",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the sweep implies up to"), "{err}");
    // A seed stopped by the event budget has no verdict but `incomplete`.
    let (code, out, err) = cascade(&[
        "chaos",
        profile,
        "--count",
        "1",
        "--events-max",
        "5000",
        "--no-shrink",
    ]);
    assert_eq!(code, 7, "{out}{err}");
    assert!(out.contains("seed 1: incomplete:event_limit"), "{out}");
    assert!(
        out.contains("--events-max 5000"),
        "the reproduction line keeps the budget: {out}"
    );
}
