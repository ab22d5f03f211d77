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

#[test]
fn run_folder_has_every_file_and_they_parse() {
    let r = run("scenarios/focused/d0-azure-outage.json");
    let dir = std::env::temp_dir().join(format!("cascade-report-{}", std::process::id()));
    folder::write_run_folder(&dir, &r.summary, &r.series, "reproduce line").unwrap();
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
