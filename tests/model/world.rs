//! The world as a whole: small fleets, specific outcomes.

use cascade::run::{run_scenario, RunOptions};
use cascade::scenario::load_str;
use std::path::Path;

fn scenario(guards: &str, misroute: f64) -> String {
    format!(
        r#"{{
        "name": "world-test", "seed": 5,
        "start": "2025-03-18T00:00:00Z", "end": "2025-03-18T12:00:00Z",
        "model": {{ "fleet": {{ "clusters": 50 }}, "agent_guards": {guards},
                    "monitoring": {{ "customer_reports_to_escalate": 1000 }} }},
        "timeline": [
            {{ "id": "M", "at": "D0 01:00", "for": "6h",
               "do": {{ "kind": "change", "change_id": "m", "target": "prod", "applied_via": "prod",
                        "misroute_ratio": {misroute} }} }}
        ],
        "expect": [ {{ "kind": "not_converged_at_end", "max": 50 }} ]
    }}"#
    )
}

#[test]
fn buggy_agents_answered_404_delete_every_pool_and_their_clusters_go_down() {
    let sc = load_str(Path::new("world-test.json"), &scenario("{}", 1.0)).unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    let m = &r.summary.metrics;
    // Every agent meets a full resync within the 6 h window (4 h period).
    assert_eq!(m.agents_died, 50);
    assert_eq!(m.clusters_lost_pools_by_day.get("2025-03-18"), Some(&50));
    // No pool-loss alert and support never escalates: still down at noon.
    assert_eq!(m.clusters_not_converged_at_end, 50);
    assert!(
        r.summary.findings.by_rule["I1"] >= 150,
        "{:?}",
        r.summary.findings
    );
}

#[test]
fn fixed_agents_answered_404_delete_nothing_and_hold() {
    let guards =
        r#"{ "g1_authoritative_only": true, "g3_monotonic_generation": true, "g7_backoff": true }"#;
    let sc = load_str(Path::new("world-test.json"), &scenario(guards, 1.0)).unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    let m = &r.summary.metrics;
    assert_eq!(m.agents_died, 0);
    assert_eq!(m.clusters_lost_pools_total, 0);
    assert_eq!(
        m.holds_entered, 50,
        "every agent enters safe hold during 6 h of 404s"
    );
    assert_eq!(r.summary.findings.total, 0);
    assert!(m.answers["404"] > 0);
}

#[test]
fn a_misroute_of_a_fraction_hits_about_that_fraction() {
    let sc = load_str(
        Path::new("world-test.json"),
        &scenario("{}", 0.2).replace("\"clusters\": 50", "\"clusters\": 1000"),
    )
    .unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    let lost = r.summary.metrics.clusters_lost_pools_total;
    assert!(
        (150..=250).contains(&lost),
        "{lost} of 1,000 clusters lost pools at a 20 % misroute"
    );
}

#[test]
fn agent_hold_alert_pages_and_the_route_is_reverted() {
    let guards =
        r#"{ "g1_authoritative_only": true, "g3_monotonic_generation": true, "g7_backoff": true }"#;
    // A misroute with no end: only responders can fix it.
    let text = scenario(guards, 0.3)
        .replace("\"for\": \"6h\",", "")
        .replace(
            "\"customer_reports_to_escalate\": 1000",
            "\"customer_reports_to_escalate\": 1000, \"agent_hold_alert\": true",
        );
    let sc = load_str(Path::new("world-test.json"), &text).unwrap();
    let r = run_scenario(&sc, RunOptions::default());
    let m = &r.summary.metrics;
    let inc = m
        .incidents
        .iter()
        .find(|i| i.kind.name() == "agents_in_hold")
        .expect("the alert opened an incident");
    assert_eq!(inc.detected_by.as_deref(), Some("agent_hold_alert"));
    assert!(
        inc.restore_completed_at.is_some(),
        "route reverted, incident closed"
    );
    assert_eq!(m.agents_in_hold_at_end, 0);
    assert!(m
        .changes_applied
        .iter()
        .any(|c| c.id == "revert-route" && c.emergency));
    // Without the alert the agents would still be holding at noon.
    let silent = load_str(
        Path::new("world-test.json"),
        &scenario(guards, 0.3).replace("\"for\": \"6h\",", ""),
    )
    .unwrap();
    let r2 = run_scenario(&silent, RunOptions::default());
    assert!(r2.summary.metrics.agents_in_hold_at_end > 0);
}

/// `scenario` with a `healed` marker at `at`.
fn with_healed_marker(text: &str, at: &str) -> String {
    text.replace(
        "\"timeline\": [",
        &format!("\"timeline\": [ {{ \"id\": \"H\", \"at\": \"{at}\", \"do\": {{ \"kind\": \"healed\" }} }},"),
    )
}

#[test]
fn the_healed_marker_measures_how_long_the_fleet_takes_to_settle() {
    let guards =
        r#"{ "g1_authoritative_only": true, "g3_monotonic_generation": true, "g7_backoff": true }"#;
    let settle = |text: &str| {
        let sc = load_str(Path::new("world-test.json"), text).unwrap();
        run_scenario(&sc, RunOptions::default())
            .summary
            .metrics
            .settle
    };
    // A 6 h misroute of every cluster (01:00 to 07:00): fixed agents hold,
    // then leave hold once answered again. Marked healed at 07:00.
    let s = settle(&with_healed_marker(&scenario(guards, 1.0), "D0 07:00")).expect("a figure");
    assert_eq!(s.healed_at, "2025-03-18T07:00:00Z");
    // Every agent was in hold at the heal, and each settled afterwards.
    assert_eq!(s.clusters, 50, "{s:?}");
    assert_eq!(s.not_converged_at_end, 0, "{s:?}");
    assert!(s.max_s > 0.0 && s.max_s <= 5.0 * 3_600.0, "{s:?}");
    // Marked before any fault: nothing to wait for.
    let s = settle(&with_healed_marker(&scenario(guards, 1.0), "D0 00:30")).expect("a figure");
    assert_eq!((s.clusters, s.max_s), (0, 0.0), "{s:?}");
    // The March 2025 agent deletes its pools and nobody restores them: the
    // figure says so instead of a time.
    let s = settle(&with_healed_marker(&scenario("{}", 1.0), "D0 07:00")).expect("a figure");
    assert_eq!(s.not_converged_at_end, 50, "{s:?}");
    // No marker, no figure.
    assert_eq!(settle(&scenario(guards, 1.0)), None);
}

/// A 40 h run of 50 clusters with every guard on, the customer workload at
/// its default and a soft delete's grace period of 3 h, with `extra` added
/// to the agent's section and the timeline.
fn guarded_run(agent_extra: &str, timeline: &str) -> cascade::report::Summary {
    let text = format!(
        r#"{{
        "name": "world-test", "seed": 5,
        "start": "2025-03-18T00:00:00Z", "end": "2025-03-19T16:00:00Z",
        "model": {{ "fleet": {{ "clusters": 50 }}, "agent_guards": {{ "g1_authoritative_only": true, "g2_tombstones": true,
                        "g3_monotonic_generation": true, "g4_confirmation": true, "g5_blast_radius": true,
                        "g6_delete_locks": true, "g7_backoff": true, "g8_soft_delete": true }},
                    "agent": {{ "soft_delete_collect_after_s": 10800 {agent_extra} }} }},
        "timeline": [ {timeline} ],
        "expect": [ {{ "kind": "customer_changes", "late_max": 0, "issued_min": 1 }} ]
    }}"#
    );
    let sc = load_str(Path::new("world-test.json"), &text).unwrap();
    run_scenario(&sc, RunOptions::default()).summary
}

#[test]
fn a_removal_is_finished_only_when_its_soft_deleted_pool_is_collected() {
    // Liveness L3. Seen failing: an agent whose soft-deleted pools are
    // never collected passed every check, because the scale-to-zero
    // already counts as carrying the removal out.
    let ok = guarded_run("", "");
    let ch = &ok.metrics.customer_changes;
    assert!(ok.passed(), "{:?}", ok.expectations);
    assert_eq!((ch.late, ch.collect_late), (0, 0));
    assert!(ch.collected >= 1, "{ch:?}");
    assert!(ok.metrics.coverage["soft_delete_collected"] >= 1);

    let bug = guarded_run(r#", "seeded_bug": "never_collects""#, "");
    let ch = &bug.metrics.customer_changes;
    assert!(!bug.passed());
    assert_eq!(ch.late, 0, "the removals themselves were carried out");
    assert!(ch.collect_late >= 1, "{ch:?}");
    assert_eq!(bug.metrics.coverage["soft_delete_collected"], 0);
}

#[test]
fn crashed_agents_restart_as_fresh_processes_and_the_fleet_converges() {
    let crash = r#"{ "id": "C", "at": "D0 02:00", "for": "30m",
                     "do": { "kind": "agent_crash", "ratio": 0.5, "salt": 7 } }"#;
    let s = guarded_run("", crash);
    let m = &s.metrics;
    let picked = (0..50)
        .filter(|&c| cascade::plant::control::picked(0.5, 7, c))
        .count() as u64;
    assert_eq!(m.agents_died, picked);
    assert_eq!(m.coverage["agent_restarted"], picked);
    assert_eq!(m.clusters_not_converged_at_end, 0);
    assert_eq!(s.findings.total, 0);
    assert!(s.passed(), "{:?}", s.expectations);
}

/// The flagship's hotfix pair ("the fix saves at least 350 clusters on
/// D8") rests on an assumption the write-up does not record: how long the
/// audit and revert of the leaked, unrecorded change take
/// (`model.response.revert_unrecorded_change_h`, 6 h). The pair states the
/// range over which it holds (`holds_over`, from a sweep over 0-9 h on
/// seeds 1-20). Checked here from what the file states: it holds at both
/// edges and fails 0.75 h below the lower one (the revert ends D8's
/// losses before manual repair falls far behind), on two seeds.
#[test]
fn the_hotfix_pair_holds_over_the_range_the_flagship_states() {
    use cascade::expect::Expectation;
    use cascade::scenario::{load, load_with, Override};
    let path = Path::new("scenarios/march-2025.json");
    let range = load(path)
        .unwrap()
        .expectations
        .iter()
        .find_map(|e| match e {
            Expectation::Paired(p) => p.holds_over.clone(),
            _ => None,
        })
        .expect("the hotfix pair states its range");
    assert_eq!(range.field, "model.response.revert_unrecorded_change_h");
    assert_eq!((range.min, range.max), (1.75, 9.0));
    let pair_holds = |h: f64, seed: u64| {
        let sc = load_with(
            path,
            &[
                Override {
                    key: range.field.clone(),
                    value: h.into(),
                },
                Override {
                    key: "seed".into(),
                    value: seed.into(),
                },
            ],
        )
        .unwrap();
        let r = run_scenario(&sc, RunOptions::default());
        let e = r
            .summary
            .expectations
            .iter()
            .find(|e| e.name.contains("at least 350 lower"))
            .expect("the hotfix pair");
        e.passed
    };
    let below = range.min - 0.75;
    let table: Vec<(f64, u64, bool)> = [below, range.min, range.max]
        .into_iter()
        .flat_map(|h| [1, 2].map(|seed| (h, seed, pair_holds(h, seed))))
        .collect();
    assert_eq!(
        table,
        [
            (below, 1, false),
            (below, 2, false),
            (range.min, 1, true),
            (range.min, 2, true),
            (range.max, 1, true),
            (range.max, 2, true),
        ]
    );
}

// ---- Directions (issue 30): when an input grows, the outcome moves the
// way first principles say. Each threshold is from a measured run (the
// figures in each test's comment), each test was seen failing on a
// planted bug (the closing note of issue 30 lists them).

/// The outcome of `path` on `seed` with `overrides` (`KEY`, JSON value).
fn outcome_with(
    path: &str,
    seed: u64,
    overrides: &[(&str, serde_json::Value)],
) -> cascade::outcome::Outcome {
    use cascade::scenario::{load_with, Override};
    let mut all: Vec<Override> = overrides
        .iter()
        .map(|(k, v)| Override {
            key: (*k).into(),
            value: v.clone(),
        })
        .collect();
    all.push(Override {
        key: "seed".into(),
        value: seed.into(),
    });
    let sc = load_with(Path::new(path), &all).unwrap();
    run_scenario(&sc, RunOptions::default()).outcome
}

fn pool_incident(o: &cascade::outcome::Outcome, n: u32) -> &cascade::outcome::Incident {
    o.incidents
        .iter()
        .find(|i| matches!(i.kind, cascade::outcome::IncidentKind::Pool(_)) && i.number == n)
        .expect("the pool incident")
}

const D5: &str = "scenarios/focused/d5-pool-loss.json";

/// Restore hours of incident 1, a run that never restored it counting as
/// longer than any that did.
fn restore_h(o: &cascade::outcome::Outcome) -> f64 {
    pool_incident(o, 1)
        .restore_hours_after_detection()
        .unwrap_or(f64::INFINITY)
}

#[test]
fn more_engineers_restore_sooner() {
    // Measured (d5-pool-loss): 3, 6, 12 engineers restore seed 1's 190
    // clusters in never (by the end), 13.0 h, 7.8 h; seed 2's 144 in
    // 17.3 h, 9.5 h, 5.4 h.
    for seed in [1, 2] {
        let h: Vec<f64> = [3, 6, 12]
            .map(|e| {
                restore_h(&outcome_with(
                    D5,
                    seed,
                    &[("model.operators.engineers", e.into())],
                ))
            })
            .to_vec();
        assert!(h[0] > h[1] && h[1] > h[2], "seed {seed}: {h:?}");
        assert!(
            h[2] <= 0.7 * h[1],
            "seed {seed}: twice the engineers, {h:?}"
        );
    }
}

#[test]
fn a_larger_leak_loses_more_clusters() {
    // Measured (d8-leak-and-hotfix): E9 misrouting 6, 12, 18 of 24 cells
    // loses 111, 262, 379 clusters on seed 1 and 133, 266, 400 on seed 2.
    for seed in [1, 2] {
        let lost: Vec<u32> = [6, 12, 18]
            .map(|c| {
                outcome_with(
                    "scenarios/focused/d8-leak-and-hotfix.json",
                    seed,
                    &[("timeline.E9.route_defect_cells", c.into())],
                )
                .clusters_lost_pools_total
            })
            .to_vec();
        assert!(
            lost[0] < lost[1] && lost[1] < lost[2],
            "seed {seed}: {lost:?}"
        );
        assert!(
            lost[2] >= 2 * lost[0],
            "seed {seed}: three times the cells, {lost:?}"
        );
    }
}

#[test]
fn a_later_reconfiguration_moves_the_first_loss_with_it() {
    // Measured (d5-pool-loss): R1 at D0 22:00, D1 04:00, D1 10:00 gives
    // the first pool loss at 79,350 s, 100,838 s, 122,428 s on seed 1 and
    // 79,304 s, 101,266 s, 122,503 s on seed 2: 6 h later each time,
    // give or take the agents' next full resync.
    for seed in [1, 2] {
        let first: Vec<i64> = ["D0 22:00", "D1 04:00", "D1 10:00"]
            .map(|at| {
                outcome_with(D5, seed, &[("timeline.R1.at", at.into())])
                    .first_pool_loss_at
                    .expect("pools lost")
                    .as_secs() as i64
            })
            .to_vec();
        for w in first.windows(2) {
            let moved_s = w[1] - w[0];
            assert!(
                (6 * 3_600 - 15 * 60..=6 * 3_600 + 15 * 60).contains(&moved_s),
                "seed {seed}: R1 6 h later moved the first loss {moved_s} s ({first:?})"
            );
        }
    }
}

#[test]
fn a_larger_fleet_loses_more_and_restores_later() {
    // Measured (d5-pool-loss): 1,000, 2,000, 4,000 clusters lose 91, 190,
    // 359 (restored in 7.6 h, 13.0 h, never) on seed 1 and 76, 144, 299
    // (5.6 h, 9.5 h, 17.8 h) on seed 2: the same share of a larger fleet,
    // for the same six engineers.
    for seed in [1, 2] {
        let runs: Vec<_> = [1_000, 2_000, 4_000]
            .map(|n| outcome_with(D5, seed, &[("model.fleet.clusters", n.into())]))
            .into_iter()
            .collect();
        let lost: Vec<u32> = runs
            .iter()
            .map(|o| pool_incident(o, 1).clusters_affected)
            .collect();
        let h: Vec<f64> = runs.iter().map(restore_h).collect();
        assert!(
            lost[0] < lost[1] && lost[1] < lost[2],
            "seed {seed}: {lost:?}"
        );
        assert!(
            10 * lost[2] >= 16 * lost[1],
            "seed {seed}: twice the fleet, {lost:?}"
        );
        assert!(h[0] < h[1] && h[1] < h[2], "seed {seed}: {h:?}");
    }
}

/// D3's worst hour of legitimate success, and its hours below 99 %, on
/// d3-bot-surge with the auth component's node pool and HPA ceiling set.
fn d3_on(seed: u64, nodes_max: u32, replicas_max: u32) -> (f64, usize, u64) {
    let o = outcome_with(
        "scenarios/focused/d3-bot-surge.json",
        seed,
        &[
            ("model.auth.component.nodes_max", nodes_max.into()),
            ("model.auth.component.replicas_max", replicas_max.into()),
        ],
    );
    let hours = &o.auth.success_by_hour;
    let worst = hours.iter().map(|(_, r)| *r).fold(1.0, f64::min);
    let below = hours.iter().filter(|(_, r)| *r < 0.99).count();
    let f = &o.auth.failures;
    (worst, below, f.vendor_429)
}

#[test]
fn more_auth_capacity_raises_d3_success_and_shortens_the_outage() {
    // Issue 30: the write-up's cause (the surge overwhelmed the component's
    // scaling) drives D3. Measured on d3-bot-surge (worst hour, hours
    // below 99 %): seed 1 4 nodes / HPA 20 (16 pods) 29.1 %, 2 h; the node
    // pool doubled (8 nodes, the HPA's ceiling raised to 40 so that the
    // pool binds) 47.7 %, 2 h; 15 nodes / 60 pods absorb the surge after
    // scaling: 57.3 %, 1 h below. Doubling the nodes alone gives 20 pods
    // (the HPA's 20 binds at 5 nodes): 34.9 %. Seed 2 within 0.2 points.
    // Seen failing with every automated request a vendor call
    // (bot_vendor_share_fraction 1.0, the model before issue 30).
    for seed in [1, 2] {
        let (base, base_hours, base_429) = d3_on(seed, 4, 20);
        let (doubled, doubled_hours, _) = d3_on(seed, 8, 40);
        let (nodes_only, ..) = d3_on(seed, 8, 20);
        let (big, big_hours, _) = d3_on(seed, 15, 60);
        let points = 100.0 * (doubled - base);
        assert!(points >= 10.0, "seed {seed}: {base} -> {doubled}");
        assert!(
            base < nodes_only && nodes_only < doubled && doubled < big,
            "seed {seed}"
        );
        assert_eq!(
            (base_hours, doubled_hours, big_hours),
            (2, 2, 1),
            "seed {seed}"
        );
        // The vendor does not bind at the historical size.
        assert_eq!(base_429, 0, "seed {seed}");
    }
}

/// Provenance found by the sensitivity runs (issue 30): D0's surface
/// minutes are E1's `for: 45m` read back (scripted), and D3's "below 99 %
/// for at least 2 h" is the surge's start and the mitigation's time
/// (scripted by E2.at and E3.at), not the auth component's capacity.
/// Seen failing with the one-for-one rule disabled (every fact emergent).
#[test]
fn provenance_finds_the_scripted_facts() {
    use cascade::provenance::{find, Class};
    use cascade::scenario::load;
    let found = |path: &str| {
        let sc = load(Path::new(path)).unwrap();
        let r = run_scenario(&sc, RunOptions::default());
        let base: Vec<_> = r.summary.expectations.iter().map(|e| e.measured).collect();
        let p = find(&sc, sc.seed, &base, 2);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        r.summary
            .expectations
            .iter()
            .zip(p.found)
            .map(|(e, f)| (e.name.clone(), f))
            .collect::<Vec<_>>()
    };
    let d0 = found("scenarios/focused/d0-azure-outage.json");
    let surface: Vec<_> = d0
        .iter()
        .filter(|(n, _)| n.starts_with("every surface unavailable"))
        .collect();
    assert_eq!(surface.len(), 3);
    for (name, f) in surface {
        assert_eq!(
            (f.class, f.by.clone()),
            (Class::Scripted, vec!["E1.for".to_string()]),
            "{name}"
        );
    }
    let d3 = found("scenarios/focused/d3-bot-surge.json");
    let (_, degraded) = d3
        .iter()
        .find(|(n, _)| n.starts_with("legitimate auth success below"))
        .unwrap();
    assert_eq!(degraded.class, Class::Scripted, "{}", degraded.describe());
    assert!(
        degraded.by.contains(&"E3.at".to_string()),
        "{}",
        degraded.describe()
    );
    // The customers' changes move with no input of the scenario.
    let (_, changes) = d0
        .iter()
        .find(|(n, _)| n.starts_with("customer changes"))
        .unwrap();
    assert_eq!(changes.class, Class::Emergent, "{}", changes.describe());
}
