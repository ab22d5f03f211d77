//! The files a run leaves behind: present, parseable, self-contained.

use cascade::report::{folder, html};
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario;
use std::path::Path;

fn run(path: &str) -> cascade::run::RunResult {
    let sc = scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    run_scenario(&sc, RunOptions::default())
}

fn assert_self_contained(page: &str) {
    let lower = page.to_lowercase();
    for banned in [
        "http:", "https:", "<script", " src=", "url(", "@import", "<link", "//fonts",
    ] {
        assert!(!lower.contains(banned), "page refers to {banned:?}");
    }
}

/// A scratch folder for one test, empty.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cascade-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opens `dir` for writing once no other writer holds it. The lock goes
/// with the open file: a test elsewhere in this binary that starts a
/// process (fork, then exec) holds a copy of every open file for that
/// instant, so a lock just released may still be held for a moment
/// (seen once, with `cli` spawning beside this test). Bounded: 5 s.
fn open_when_free(dir: &Path) -> folder::RunFolder {
    for _ in 0..500 {
        match folder::RunFolder::open(dir) {
            Ok(f) => return f,
            Err(e) if e.contains("another cascade run is writing this folder") => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("{}: still held after 5 s", dir.display())
}

#[test]
fn a_run_folder_is_finished_only_when_its_summary_is_written_last() {
    let r = run("scenarios/focused/d0-azure-outage.json");
    let dir = scratch("folder-marker").join("run");
    folder::RunFolder::open(&dir)
        .unwrap()
        .finish(&r.summary, &r.series, "first", false)
        .unwrap();
    assert!(folder::load_run_folder(&dir).is_ok());

    // A second run starts: the folder stops looking finished at once, and
    // a third writer is refused while the second holds it.
    let second = open_when_free(&dir);
    assert!(!dir.join(folder::SUMMARY_FILE).exists());
    let busy = folder::RunFolder::open(&dir).err().unwrap();
    assert!(
        busy.contains("another cascade run is writing this folder"),
        "{busy}"
    );
    let e = folder::load_run_folder(&dir).unwrap_err();
    assert!(
        e.ends_with("not a finished run folder (no summary.json)"),
        "{e}"
    );
    // Killed before it finished: still not finished, and the folder is free.
    drop(second);
    assert!(folder::load_run_folder(&dir).is_err());
    let third = open_when_free(&dir);
    // The folder vanishes before the end: an error, not a summary.
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(third.finish(&r.summary, &r.series, "third", false).is_err());
    assert!(!dir.exists());
}

#[test]
fn reports_latest_replaces_only_its_own_link() {
    let reports = scratch("latest").join("reports");
    let runs = reports.join("runs");
    for run in ["a", "b"] {
        std::fs::create_dir_all(runs.join(run)).unwrap();
    }
    folder::point_latest(&reports, &runs.join("a")).unwrap();
    folder::point_latest(&reports, &runs.join("b")).unwrap();
    let latest = reports.join("latest");
    assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("runs/b"));
    // A user's own folder named `latest` survives, with its contents.
    std::fs::remove_file(&latest).unwrap();
    std::fs::create_dir_all(latest.join("mine")).unwrap();
    let e = folder::point_latest(&reports, &runs.join("a")).unwrap_err();
    assert!(e.to_string().contains("not a link the harness made"), "{e}");
    assert!(latest.join("mine").is_dir());
    // A run written into `latest` itself leaves it alone.
    folder::point_latest(&reports, &latest).unwrap();
    assert!(latest.join("mine").is_dir());
    std::fs::remove_dir_all(reports.parent().unwrap()).unwrap();
}

#[test]
fn run_folder_has_every_file_and_they_parse() {
    let r = run("scenarios/focused/d0-azure-outage.json");
    let dir = std::env::temp_dir().join(format!("cascade-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    folder::RunFolder::open(&dir)
        .unwrap()
        .finish(&r.summary, &r.series, "reproduce line", false)
        .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // No temporary file, no lock left behind.
    assert_eq!(
        names,
        [
            "report.html",
            "series.json",
            "summary.json",
            "summary.md",
            "trace.json"
        ]
    );
    for f in [
        "summary.json",
        "summary.md",
        "trace.json",
        "report.html",
        "series.json",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["trace_hash"], r.summary.trace_hash);

    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("trace.json")).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().expect("traceEvents array");
    // The E1 band starts at 17:30 of the first day: simulated microseconds.
    let e1 = events
        .iter()
        .find(|e| e["name"] == "E1" && e["ph"] == "X")
        .expect("E1 as a complete event");
    assert_eq!(
        e1["ts"].as_u64(),
        Some(17 * 3_600_000_000 + 30 * 60_000_000)
    );
    assert_eq!(e1["dur"].as_u64(), Some(45 * 60_000_000));
    assert!(events
        .iter()
        .any(|e| e["ph"] == "C" && e["name"] == "auth replicas"));
    let max_ts = events
        .iter()
        .filter_map(|e| e["ts"].as_u64())
        .max()
        .unwrap();
    assert!(
        max_ts <= 86_400_000_000,
        "timestamps stay inside the simulated day"
    );

    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&page);
    for title in [
        "Incident timeline",
        "Customer surface availability",
        "Clusters with lost node pools",
        "Auth: demand against capacity",
        "Rollout of the agent fix",
        "Restoration progress",
    ] {
        assert!(page.contains(title), "chart {title:?} missing");
    }
    assert!(page.matches("<svg").count() >= 7);
    assert!(page.contains("<h2>Expectations</h2>"));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("7 of 7 expectations hold"), "{md}");
    let (s2, series2) = folder::load_run_folder(&dir).unwrap();
    assert_eq!(s2, r.summary);
    assert_eq!(series2.minutes, 1_440);
    // Every per-minute series covers the whole run, and E1 shows as 45
    // minutes without the Astro surfaces.
    assert_eq!(series2.astro_available.len(), 1_440);
    assert_eq!(series2.auth_success.len(), 1_440);
    let down = series2
        .astro_available
        .iter()
        .filter(|&&x| x == 0.0)
        .count();
    assert!((44..=46).contains(&down), "{down} minutes without Astro UI");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_overlays_both_runs_on_the_lost_pools_chart() {
    let a = run("scenarios/focused/d5-pool-loss.json");
    let mut b_sc = scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/focused/d5-pool-loss.json"),
    )
    .unwrap();
    b_sc.name = "d5-fixed-agent".into();
    b_sc.model.agent_guards = cascade::model::agent::Guards::hotfix();
    let b = run_scenario(&b_sc, RunOptions::default());
    assert!(a.series.lost.iter().any(|&x| x > 0));
    assert!(b.series.lost.iter().all(|&x| x == 0));
    let page = html::render_compare(&[(a.summary, a.series), (b.summary, b.series)]);
    assert_self_contained(&page);
    let chart_start = page.find("Clusters with lost node pools").unwrap();
    let chart = &page[chart_start..chart_start + page[chart_start..].find("</svg>").unwrap()];
    assert!(
        chart.contains("<title>focused-d5-pool-loss</title>"),
        "first run's line"
    );
    assert!(
        chart.contains("<title>d5-fixed-agent</title>"),
        "second run's line"
    );
    assert!(page.contains("<h2>Differences</h2>"));
}
