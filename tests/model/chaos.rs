//! Chaos exploration: the harness finds known bugs, shrinks them, and stays
//! quiet on the fixed agent.

use cascade::chaos::shrink::shrink;
use cascade::chaos::{Chaos, FailureClass};
use cascade::model::bugs::Bug;
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario;
use std::path::Path;

fn chaos(profile: &str) -> Chaos {
    Chaos::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(profile)).expect("profile loads")
}

fn first_failure(
    c: &Chaos,
    seeds: std::ops::Range<u64>,
    bug: Option<Bug>,
) -> Option<(u64, cascade::chaos::Verdict)> {
    seeds.into_iter().find_map(|seed| {
        let case = c.case(seed, bug);
        let (v, _) = c
            .run_document(&c.document(&case))
            .expect("generated scenario loads");
        v.class.map(|_| (seed, v))
    })
}

#[test]
fn historical_agent_fails_safety_within_20_seeds_and_shrinks_to_at_most_2_faults() {
    let c = chaos("scenarios/chaos/historical-404.profile.json");
    let (seed, v) = first_failure(&c, 1..21, None).expect("a safety failure within 20 seeds");
    assert_eq!(v.class, Some(FailureClass::Safety));
    assert_eq!(v.signature, "safety:I1");
    let case = c.case(seed, None);
    let shrunk = shrink(&c, &case, &v);
    assert!(
        shrunk.case.faults.len() <= 2,
        "{} faults left",
        shrunk.case.faults.len()
    );
    assert_eq!(shrunk.verdict.signature, "safety:I1");
    // The minimal file is an ordinary scenario that fails the same way.
    let sc = scenario::from_document(Path::new("minimal.json"), shrunk.document.clone()).unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    assert!(!r.summary.passed());
    assert!(r.summary.findings.by_rule.contains_key("I1"));
}

#[test]
fn every_seeded_bug_is_found_by_the_rule_it_breaks() {
    let c = chaos("scenarios/chaos/fixed-400.profile.json");
    // The first failing seed of 1..41 and its signature, per bug (the
    // seeds-to-find table of docs/src/chaos.md has 10 ranges of 500). Change
    // management's bug panics; it has its own test below.
    let expected = [
        (Bug::DeletesOn5xx, 1, "safety:I1"),
        (Bug::AcceptsGenerationRegression, 1, "safety:I4"),
        // It skips G4 too: I12 sees that first (I1 when a partial answer
        // drops a pool without a tombstone, seed 5 on).
        (Bug::IgnoresTombstones, 1, "safety:I12"),
        (Bug::RetriesWithoutBackoff, 1, "safety:I8"),
        (Bug::NeverLeavesHold, 1, "liveness:not_converged"),
        // Caught only by liveness L3 (before it, by nothing at all).
        (Bug::NeverCollects, 1, "liveness:removal_not_collected"),
        (Bug::StaleTombstoneAfterReadd, 1, "safety:I1"),
        (Bug::LeavesHoldOnStaleAnswer, 1, "safety:I4"),
        // Caught by I11 (soft delete first): a refused scale-to-zero is rare.
        (Bug::GraceFromRefusedScaleDown, 4, "safety:I11"),
        // Needs an agent crash during a generation regression: the fixed
        // agent's own bug until the agent_crash fault kind found it.
        (Bug::ForgetsGenerationOnRestart, 26, "safety:I4"),
        // Caught by I12 (G4's window, checked by the world against the
        // answers it gave): before I12, G4 protected nothing any check saw.
        (Bug::ConfirmationNeverResets, 5, "safety:I12"),
        // Caught by I8's backoff watch (the world's count of failed
        // answers in a row, a stale 200 among them): before it, I8 only
        // saw retries under half the rate limit's spacing.
        (Bug::BackoffResetByStaleAnswer, 1, "safety:I8"),
        // Caught by the driver's watch of bake times (the rollout's own
        // bookkeeping agrees with itself).
        (Bug::SkipsBakeAfterAlarm, 1, "safety:I7"),
        // Caught by I15 (every alarm of a running rollout halts it): needs
        // an alarm during the canary's 15 minutes.
        (Bug::IgnoresAlarmInEarlyWaves, 3, "safety:I15"),
    ];
    let listed: Vec<Bug> = expected.iter().map(|e| e.0).collect();
    let others: Vec<Bug> = Bug::ALL
        .into_iter()
        .filter(|b| matches!(b.section(), "agent" | "rollout"))
        .collect();
    assert_eq!(
        listed, others,
        "every agent and rollout bug has a row (auth's: auth-400's test)"
    );
    for (bug, seed, signature) in expected {
        let (found, v) = first_failure(&c, 1..41, Some(bug))
            .unwrap_or_else(|| panic!("seeded bug {} not found in 40 seeds", bug.name()));
        assert_eq!(
            (found, v.signature.as_str()),
            (seed, signature),
            "{}",
            bug.name()
        );
    }
}

#[test]
fn the_auth_profile_finds_the_broken_stabilisation_by_i16_and_passes_without_it() {
    let c = chaos("scenarios/chaos/auth-400.profile.json");
    // Seen failing: with the window's highest recommendation ignored,
    // the first seed's oscillating surge breaks the window at once.
    let bug = Bug::IgnoresScaleDownStabilisation;
    let (seed, v) = first_failure(&c, 1..11, Some(bug)).expect("found within 10 seeds");
    assert_eq!((seed, v.signature.as_str()), (1, "safety:I16"));
    assert!(
        v.details[0].contains("below the window's highest recommendation"),
        "{:?}",
        v.details
    );
    // Without it the same seeds pass (500 of 500 did when this was written).
    assert_eq!(first_failure(&c, 1..11, None), None);
}

#[test]
fn the_hand_made_wave_scenario_fails_i16_only_with_the_bug_planted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/focused/a1-bot-waves.json");
    let mut doc = scenario::resolve_file(&path).unwrap();
    let i16 = |doc: &serde_json::Value| {
        let sc = scenario::from_document(&path, doc.clone()).unwrap();
        let r = run_scenario(&sc, RunOptions::default());
        (
            r.summary.passed(),
            r.summary.findings.by_rule.get("I16").copied().unwrap_or(0),
        )
    };
    assert_eq!(i16(&doc), (true, 0));
    Bug::IgnoresScaleDownStabilisation.plant_in(&mut doc["model"]);
    assert_eq!(i16(&doc), (false, 63));
}

#[test]
fn fixed_agent_with_all_guards_passes_and_runs_are_deterministic() {
    let c = chaos("scenarios/chaos/fixed-400.profile.json");
    for seed in 1..9 {
        let case = c.case(seed, None);
        let doc = c.document(&case);
        let (v1, s) = c.run_document(&doc).unwrap();
        let s = s.expect("the run did not panic");
        assert_eq!(
            v1.class, None,
            "seed {seed}: {:?} {:?}",
            v1.signature, v1.details
        );
        assert!(s.expectations.len() >= 5);
        let (v2, _) = c.run_document(&doc).unwrap();
        assert_eq!(
            v1.trace_hash, v2.trace_hash,
            "seed {seed} is not deterministic"
        );
    }
}

#[test]
fn a_seed_always_draws_the_same_schedule_and_different_seeds_differ() {
    let c = chaos("scenarios/chaos/fixed-400.profile.json");
    let a = c.case(7, None);
    let b = c.case(7, None);
    assert_eq!(a.faults, b.faults);
    let d = c.case(8, None);
    assert_ne!(a.faults, d.faults);
    // Swarm testing: seeds enable different subsets of kinds.
    let kinds = |s: u64| {
        let mut k: Vec<_> = c.case(s, None).faults.iter().map(|f| f.kind).collect();
        k.dedup();
        k
    };
    assert!(
        (1..20)
            .map(kinds)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 10
    );
}

#[test]
fn anchored_mode_jitters_the_march_events_and_the_fixed_system_holds() {
    let c = chaos("scenarios/chaos/anchored-march.profile.json");
    let case = c.case(2, None);
    assert!(
        case.chosen.iter().any(|l| l.starts_with("R1 moved")),
        "{:?}",
        case.chosen
    );
    assert_ne!(
        c.case(2, None).base_items,
        c.case(3, None).base_items,
        "seeds move events differently"
    );
    let (v, s) = c.run_document(&c.document(&case)).unwrap();
    let s = s.expect("the run did not panic");
    assert_eq!(v.class, None, "{:?}", v.details);
    // The agent-hold alert, not pool loss, is what pages on the misroutes.
    assert!(s
        .metrics
        .incidents
        .iter()
        .any(|i| i.kind.name() == "agents_in_hold"));
    assert_eq!(s.metrics.clusters_lost_pools_total, 0);
}

#[test]
fn a_leak_that_isolation_lets_through_is_found_by_i5() {
    // Isolation that never rejects: the anchored profile's E9 leak reaches
    // prod with isolation on. No component notices; the world's I5 does.
    let c = chaos("scenarios/chaos/anchored-march.profile.json");
    let bug = Some(Bug::IsolationNeverRejects);
    let (seed, v) = first_failure(&c, 1..2, bug).expect("seed 1 fails");
    assert_eq!((seed, v.signature.as_str()), (1, "safety:I5"));
    assert!(
        v.details[0].contains("meant for staging applied to prod with isolation on"),
        "{:?}",
        v.details
    );
    // Without it the same seed holds.
    assert_eq!(first_failure(&c, 1..2, None), None);
    // The hand-made scenario of the leak (isolation on, E9 applied with
    // staging's credentials): one I5 with the bug, none without.
    let i5 = |bug: Option<&str>| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/counterfactuals/isolation.json");
        let set: Vec<scenario::Override> = bug
            .map(|b| format!("model.change.seeded_bug={b}").parse().unwrap())
            .into_iter()
            .collect();
        let sc = scenario::load_with(&path, &set).unwrap();
        let r = run_scenario(&sc, RunOptions::default());
        r.summary.findings.by_rule.get("I5").copied().unwrap_or(0)
    };
    assert_eq!(i5(Some("isolation_never_rejects")), 1);
    assert_eq!(i5(None), 0);
}

#[test]
fn a_panic_is_a_failing_seed_that_shrinks_to_the_item_that_triggers_it() {
    // Change management whose isolation asserts instead of rejecting: the
    // anchored profile's E9 leak meets isolation, and the change manager
    // panics. The sweep sees a failing seed.
    let c = chaos("scenarios/chaos/anchored-march.profile.json");
    let bug = Some(Bug::IsolationAssertsInsteadOfRejecting);
    let (seed, v) = first_failure(&c, 1..2, bug).expect("seed 1 panics");
    assert_eq!(seed, 1);
    assert_eq!(v.class, Some(FailureClass::Panic));
    assert!(
        v.signature.starts_with("panic:src/model/change.rs:"),
        "{}",
        v.signature
    );
    assert!(
        v.details[0].contains("leaked from staging to prod with isolation on"),
        "{:?}",
        v.details
    );
    let shrunk = shrink(&c, &c.case(seed, bug), &v);
    assert_eq!(shrunk.verdict.signature, v.signature);
    // What is left is the leak itself (E9, a base item), on a small fleet.
    assert_eq!(shrunk.case.faults.len(), 0, "{:?}", shrunk.case.chosen);
    assert_eq!(shrunk.case.base_items.len(), 1);
    assert!(shrunk.case.clusters < 20, "{}", shrunk.case.clusters);
    // Without the bug the same seed holds: the verdict comes from the bug.
    assert_eq!(first_failure(&c, 1..2, None), None);
}

#[test]
fn state_coverage_counts_what_the_seeds_reached_and_shows_what_none_did() {
    let reached = |profile: &str, seeds: std::ops::Range<u64>, state: &str| {
        let c = chaos(profile);
        seeds
            .filter(|&seed| {
                let (v, _) = c.run_document(&c.document(&c.case(seed, None))).unwrap();
                v.coverage.get(state).is_some_and(|&n| n > 0)
            })
            .count()
    };
    let fixed = "scenarios/chaos/fixed-400.profile.json";
    // Rollout alarms halt the fixed profile's rollout on some seeds, not all.
    let halted = reached(fixed, 1..11, "rollout_halted");
    assert!((1..10).contains(&halted), "{halted} of 10 seeds");
    // The March 2025 agent dies on its 404s and comes back when restored.
    let historical = "scenarios/chaos/historical-404.profile.json";
    assert!(reached(historical, 1..6, "agent_restarted") >= 1);
    // Agent crashes restart fixed agents too (before that fault kind, no
    // seed of the fixed profile ever did: the gap the closing lines showed).
    assert_eq!(reached(fixed, 1..11, "agent_restarted"), 4);
    assert_eq!(reached(fixed, 1..11, "upgraded_while_down"), 2);
    assert_eq!(reached(fixed, 1..11, "listing_lagged_truth"), 5);
    // A soft delete's collection is reached (and judged, liveness L3) on
    // every seed: the fixed base's grace period fits inside a chaos run.
    assert_eq!(reached(fixed, 1..11, "soft_delete_collected"), 10);
    // The bases turn no auth breaker on: no seed reaches it.
    assert_eq!(reached(fixed, 1..11, "auth_breaker_open"), 0);
    // The auth base does (with caching and the limiter), and its waves
    // make the autoscaler scale down in their troughs.
    let auth = "scenarios/chaos/auth-400.profile.json";
    assert_eq!(reached(auth, 1..11, "auth_breaker_open"), 2);
    assert_eq!(
        reached(auth, 1..11, "autoscaler_scaled_down_under_oscillation"),
        7
    );
}

/// The recovery profile: the March 2025 agent (with the fleet brake) loses
/// clusters, the recovery script restores them. The agent's own I1 is
/// tolerated; the script is judged.
const RECOVERY: &str = "scenarios/chaos/recovery-400.profile.json";

#[test]
fn the_recovery_profile_passes_with_the_agents_i1_tolerated_and_reaches_its_states() {
    let c = chaos(RECOVERY);
    let mut rate_limited = Vec::new();
    let mut braked = 0;
    for seed in 1..21 {
        let (v, s) = c.run_document(&c.document(&c.case(seed, None))).unwrap();
        let s = s.expect("the run did not panic");
        assert_eq!(
            v.class, None,
            "seed {seed}: {} {:?}",
            v.signature, v.details
        );
        if seed == 1 {
            // The agent deleted without authority (tolerated), and nothing
            // else was found: the script restored into no broken route.
            assert!(s.findings.by_rule.get("I1").is_some_and(|&n| n > 0));
            assert_eq!(s.findings.by_rule.len(), 1, "{:?}", s.findings.by_rule);
        }
        if v.coverage
            .get("recovery_paused_by_rate_limit")
            .is_some_and(|&n| n > 0)
        {
            rate_limited.push(seed);
        }
        braked += usize::from(
            v.coverage
                .get("fleet_brake_engaged")
                .is_some_and(|&n| n > 0),
        );
    }
    // No profile reached these before this one (500 seeds of each).
    assert_eq!(rate_limited, [3, 5, 17]);
    assert_eq!(braked, 17);
}

#[test]
fn the_recovery_scripts_seeded_bugs_restore_into_broken_routes_and_are_caught_by_i13_and_i14() {
    use cascade::model::bugs::Bug;
    let c = chaos(RECOVERY);
    for bug in [Bug::TrustsTheWaitOverTheProbe, Bug::ProbesServiceNotEdge] {
        let (seed, v) = first_failure(&c, 1..11, Some(bug)).expect("found within 10 seeds");
        assert_eq!(
            (seed, v.signature.as_str()),
            (1, "safety:I13"),
            "{}",
            bug.name()
        );
        // The restores were undone by the agent's next 404 (I14), not only
        // made into a broken route (I13).
        let undone = v.details.iter().any(|d| d.contains("\"I14\""));
        assert!(undone, "{}: {:?}", bug.name(), v.details);
    }
}

#[test]
fn rollout_400_finds_the_rollout_bugs_and_passes_its_first_seeds_without_them() {
    let c = chaos("scenarios/chaos/rollout-400.profile.json");
    // The first failing seed and its signature, per rollout bug (docs/src/chaos.md's
    // seeds-to-find table has 10 ranges of 500).
    for (bug, seed, signature) in [
        (Bug::IgnoresAlarmInEarlyWaves, 3, "safety:I15"),
        (Bug::SkipsBakeAfterAlarm, 1, "safety:I7"),
    ] {
        let (found, v) = first_failure(&c, 1..21, Some(bug))
            .unwrap_or_else(|| panic!("seeded bug {} not found in 20 seeds", bug.name()));
        assert_eq!(
            (found, v.signature.as_str()),
            (seed, signature),
            "{}",
            bug.name()
        );
    }
    // Without a bug the first seeds pass (the sweep of 1..500 does too),
    // bad builds of every kind among them.
    let mut defects = std::collections::BTreeSet::new();
    for seed in 1..13 {
        let case = c.case(seed, None);
        for f in &case.faults {
            if let cascade::timeline::Action::BadRelease { defect } = f.action(0) {
                defects.insert(defect.name());
            }
        }
        let (v, _) = c.run_document(&c.document(&case)).unwrap();
        assert_eq!(
            v.class, None,
            "seed {seed}: {:?} {:?}",
            v.signature, v.details
        );
    }
    assert_eq!(
        defects.into_iter().collect::<Vec<_>>(),
        ["breaks_behind_misroute", "crash_loop", "slow_leak"]
    );
}

#[test]
fn i15_fails_on_the_hand_made_canary_alarm_and_passes_without_the_bug() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/focused/rollout-alarm-in-canary.json");
    let sc = scenario::load(&path).unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    assert!(r.summary.passed(), "the file expects its one I15 finding");
    assert_eq!(r.summary.findings.by_rule.get("I15"), Some(&1));
    assert_eq!(r.summary.findings.by_rule.len(), 1);
    let mut doc = scenario::resolve_file(&path).unwrap();
    doc["model"]["rollout"]["seeded_bug"] = serde_json::Value::Null;
    let sc = scenario::from_document(&path, doc).unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    assert!(
        r.summary.findings.by_rule.is_empty(),
        "{:?}",
        r.summary.findings.by_rule
    );
    // The alarm halted the canary at 10:05; resumed 30 min later (a
    // second bake of wave 0 from 10:35), it baked again until 10:50, when
    // the 1 % wave started (10:15 with the bug).
    let starts: Vec<(u32, u64)> = r.outcome.rollouts[0]
        .waves
        .iter()
        .take(3)
        .map(|w| (w.wave, w.started_at.as_secs()))
        .collect();
    assert_eq!(starts, [(0, 36_000), (0, 38_100), (1, 39_000)]);
}

#[test]
fn every_coverage_state_is_named_by_some_profile() {
    // A state no profile names is a path no sweep is asked to exercise
    // (recovery_paused_by_rate_limit, fleet_brake_engaged and
    // auth_breaker_open were, until the recovery and auth profiles).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chaos");
    let mut named = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        if path.to_string_lossy().ends_with(".profile.json") {
            named.extend(Chaos::load(&path).unwrap().profile.profile.should_reach);
        }
    }
    let unnamed: Vec<_> = cascade::coverage::Reached::ALL
        .into_iter()
        .filter(|s| !named.contains(s))
        .map(|s| s.name())
        .collect();
    assert_eq!(unnamed, Vec::<&str>::new());
}
