//! The exact fast-forward: a run where quiet agents sleep out of the event
//! queue (the default) and the reference mode that steps every poll
//! (`--step-every-poll`) give the same trace hash and the same summary,
//! counts included; only the number of events handled differs.
//!
//! Scope: the flagship, every scenario under `scenarios/counterfactuals/`,
//! `scenarios/focused/` and `scenarios/regressions/` on its own seed, and
//! the first seeds of each chaos profile. In `cargo test` the files run on
//! at most 500 clusters (the flagship too) and 6 seeds of each profile are
//! compared; the nightly workflow runs the full scope,
//! every file on its own fleet and 50 seeds (`CASCADE_EQUIVALENCE_FULL=1`).
//! The reference mode also asserts, at every poll the fast-forward skips,
//! that the agent did nothing but ask for its next grid poll.

use cascade::chaos::Chaos;
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario::{self, Override, Scenario};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The summary as JSON, without the event count (what the modes may differ in).
fn summary_json(sc: &Scenario, step_every_poll: bool) -> (serde_json::Value, u64) {
    let r = run_scenario(
        sc,
        RunOptions {
            step_every_poll,
            ..RunOptions::default()
        },
    );
    let events = r.summary.events;
    let mut v = serde_json::to_value(&r.summary).expect("summary serialises");
    v.as_object_mut()
        .expect("summary is an object")
        .remove("events");
    (v, events)
}

/// Runs `sc` both ways and asserts they agree; returns (fast, reference) events.
fn assert_same(what: &str, sc: &Scenario) -> (u64, u64) {
    let (fast, fast_events) = summary_json(sc, false);
    let (reference, reference_events) = summary_json(sc, true);
    assert_eq!(
        fast["trace_hash"], reference["trace_hash"],
        "{what}: trace hashes differ"
    );
    if fast != reference {
        let f = serde_json::to_string_pretty(&fast).unwrap();
        let r = serde_json::to_string_pretty(&reference).unwrap();
        let first = f
            .lines()
            .zip(r.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("fast: {a}\nreference: {b}"));
        panic!("{what}: summaries differ; first difference:\n{first:?}");
    }
    (fast_events, reference_events)
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("scenario folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn assert_files(dir: &str) {
    assert_files_part(dir, 0, 1);
}

/// Part `part` of `parts` of the files in `dir` (every `parts`-th file): a
/// folder of long runs is split over several tests so that the test
/// threads share it.
fn assert_files_part(dir: &str, part: usize, parts: usize) {
    let files = files_in(dir);
    assert!(files.len() >= 3, "{dir}: {} files", files.len());
    for f in files.into_iter().skip(part).step_by(parts) {
        assert_same(&f.display().to_string(), &load_capped(&f));
    }
}

/// The scenario file `f`, on at most [`clusters_cap`] clusters.
fn load_capped(f: &Path) -> Scenario {
    let sc = scenario::load(f).expect("scenario loads");
    match clusters_cap().filter(|&cap| sc.model.fleet.clusters > cap) {
        None => sc,
        Some(cap) => {
            let fewer: Override = format!("model.fleet.clusters={cap}")
                .parse()
                .expect("override parses");
            scenario::load_with(f, &[fewer]).expect("scenario loads on fewer clusters")
        }
    }
}

/// Whether this is the nightly's full scope (`CASCADE_EQUIVALENCE_FULL=1`).
fn full_scope() -> bool {
    // The test's scope, not the simulated world's: no run reads it.
    #[allow(clippy::disallowed_methods)]
    match std::env::var("CASCADE_EQUIVALENCE_FULL").as_deref() {
        Err(_) | Ok("0") => false,
        Ok("1") => true,
        Ok(v) => panic!("CASCADE_EQUIVALENCE_FULL: expected 0 or 1, found {v:?}"),
    }
}

/// The fleet the files run on in `cargo test`: at most 500 clusters, a
/// quarter of the nine-day files' 2,000. The reference mode steps every
/// poll of every agent, so a run costs about the fleet's size (measured on
/// `counterfactuals/fixed-agent.json`, step-every-poll: 13.6 s on 2,000
/// clusters, 3.9 s on 500), while a divergence of the fast-forward shows
/// on any fleet that meets the same timeline. The full scope runs each
/// file on its own fleet.
fn clusters_cap() -> Option<u32> {
    (!full_scope()).then_some(500)
}

#[test]
fn flagship_is_the_same_with_and_without_fast_forward_and_skips_most_events() {
    let sc = load_capped(&root().join("scenarios/march-2025.json"));
    let (fast, reference) = assert_same("flagship", &sc);
    // The point of it: the fast-forward handles a small share of the events.
    assert!(
        fast * 10 < reference,
        "fast-forward handled {fast} events, the reference {reference}"
    );
}

// The counterfactuals and the anchored seeds are the longest runs (a
// reference run of a nine-day file is 10 to 15 s on its own 2,000
// clusters, 3 to 4 s on the 500 of `cargo test`); they are split into
// several tests so that the two test threads stay busy to the end.
#[test]
fn counterfactuals_1_of_5_are_the_same_with_and_without_fast_forward() {
    assert_files_part("scenarios/counterfactuals", 0, 5);
}

#[test]
fn counterfactuals_2_of_5_are_the_same_with_and_without_fast_forward() {
    assert_files_part("scenarios/counterfactuals", 1, 5);
}

#[test]
fn counterfactuals_3_of_5_are_the_same_with_and_without_fast_forward() {
    assert_files_part("scenarios/counterfactuals", 2, 5);
}

#[test]
fn counterfactuals_4_of_5_are_the_same_with_and_without_fast_forward() {
    assert_files_part("scenarios/counterfactuals", 3, 5);
}

#[test]
fn counterfactuals_5_of_5_are_the_same_with_and_without_fast_forward() {
    assert_files_part("scenarios/counterfactuals", 4, 5);
}

#[test]
fn focused_scenarios_are_the_same_with_and_without_fast_forward() {
    assert_files("scenarios/focused");
}

#[test]
fn regressions_are_the_same_with_and_without_fast_forward() {
    assert_files("scenarios/regressions");
}

#[test]
fn five_times_the_fleet_is_not_five_times_the_events() {
    // The fast-forward's point: events follow what changes, not the fleet.
    // A change that wakes agents for nothing shows up here first. Measured
    // when written: 1,191,648 events at 2,000 clusters, 2,607,200 at 10,000.
    let events = |file: &str| {
        let sc = scenario::load(&root().join(file)).expect("loads");
        run_scenario(&sc, RunOptions::default()).summary.events
    };
    let small = events("scenarios/scale/march-2025-2k.json");
    let large = events("scenarios/scale/march-2025-10k.json");
    assert!(
        large < 3 * small && large < 4_000_000,
        "{small} events at 2,000 clusters, {large} at 10,000"
    );
}

/// Seeds of each chaos profile compared: `CASCADE_EQUIVALENCE_SEEDS`
/// (1 to 1,000), else 50 in the full scope and 6 in `cargo test` (one for
/// each of the anchored profile's six tests). They catch a divergence of
/// the agents' wake-ups: with the wake on a customer's change removed,
/// every profile's test but one failed within its first seeds.
fn chaos_seeds() -> u64 {
    // The test's scope, not the simulated world's: no run reads it.
    #[allow(clippy::disallowed_methods)]
    std::env::var("CASCADE_EQUIVALENCE_SEEDS")
        .ok()
        .map(|v| {
            v.parse::<u64>()
                .ok()
                .filter(|n| (1..=1_000).contains(n))
                .unwrap_or_else(|| {
                    panic!("CASCADE_EQUIVALENCE_SEEDS: expected 1 to 1000, found {v:?}")
                })
        })
        .unwrap_or(if full_scope() { 50 } else { 6 })
}

fn assert_chaos(profile: &str, seeds: impl IntoIterator<Item = u64>) {
    let c = Chaos::load(&root().join(profile)).expect("profile loads");
    for seed in seeds {
        let doc = c.document(&c.case(seed, None));
        let sc = scenario::from_document(&c.profile.base_path, doc).expect("case loads");
        let what = format!("{profile} seed {seed}");
        // A check inside the reference run panics without naming the seed.
        let ran = std::panic::catch_unwind(|| assert_same(&what, &sc));
        if let Err(e) = ran {
            let text = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: {text}");
        }
    }
}

#[test]
fn chaos_fixed_400_seeds_are_the_same_with_and_without_fast_forward() {
    assert_chaos("scenarios/chaos/fixed-400.profile.json", 1..=chaos_seeds());
}

#[test]
fn chaos_historical_seeds_are_the_same_with_and_without_fast_forward() {
    assert_chaos(
        "scenarios/chaos/historical-404.profile.json",
        1..=chaos_seeds(),
    );
}

/// The anchored profile's seeds, the `part`-th of `parts` (every
/// `parts`-th seed; at least one).
fn assert_anchored_part(part: u64, parts: u64) {
    assert!(
        chaos_seeds() > part,
        "part {part} of {parts} would compare no seed"
    );
    assert_chaos(
        "scenarios/chaos/anchored-march.profile.json",
        (1..=chaos_seeds())
            .skip(part as usize)
            .step_by(parts as usize),
    );
}

#[test]
fn chaos_anchored_march_seeds_1_of_6_are_the_same_with_and_without_fast_forward() {
    assert_anchored_part(0, 6);
}

#[test]
fn chaos_anchored_march_seeds_2_of_6_are_the_same_with_and_without_fast_forward() {
    assert_anchored_part(1, 6);
}

#[test]
fn chaos_anchored_march_seeds_3_of_6_are_the_same_with_and_without_fast_forward() {
    assert_anchored_part(2, 6);
}

#[test]
fn chaos_anchored_march_seeds_4_of_6_are_the_same_with_and_without_fast_forward() {
    assert_anchored_part(3, 6);
}

#[test]
fn chaos_anchored_march_seeds_5_of_6_are_the_same_with_and_without_fast_forward() {
    assert_anchored_part(4, 6);
}

#[test]
fn chaos_anchored_march_seeds_6_of_6_are_the_same_with_and_without_fast_forward() {
    assert_anchored_part(5, 6);
}

#[test]
fn chaos_recovery_400_seeds_are_the_same_with_and_without_fast_forward() {
    assert_chaos(
        "scenarios/chaos/recovery-400.profile.json",
        1..=chaos_seeds(),
    );
}

#[test]
fn chaos_rollout_400_seeds_are_the_same_with_and_without_fast_forward() {
    assert_chaos(
        "scenarios/chaos/rollout-400.profile.json",
        1..=chaos_seeds(),
    );
}

#[test]
fn chaos_auth_400_seeds_are_the_same_with_and_without_fast_forward() {
    assert_chaos("scenarios/chaos/auth-400.profile.json", 1..=chaos_seeds());
}
