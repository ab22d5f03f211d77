//! The wire tier against the fleet tier: the same windows, the same seeds,
//! the same per-agent phases; the same clusters must lose pools.
//!
//! Each scenario starts at its window, so both tiers draw every agent's
//! phases from the same point. The fleet tier runs the whole 2,000-cluster
//! fleet; the wire tier runs 30 of its clusters (half of them hit by the
//! misroute) over real HTTP in turmoil, five agents per host to keep the
//! test fast. The fleet tier's responders are kept idle (no pool-loss
//! alert, support never escalates), since the wire tier replays the
//! timeline only.

use cascade::model::agent::Guards;
use cascade::plant::agent_phase;
use cascade::protocol::{AnswerKind, ClusterId};
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario::{load_str, Scenario};
use cascade::sim::{Seed, SimDuration, SimTime};
use cascade::wire::{
    run_slice, InitialPools, NetFault, NetFaultKind, Side, SliceRule, Window, WireOptions,
    WireResult,
};
use std::collections::BTreeSet;
use std::path::Path;

const IDLE_RESPONDERS: &str =
    r#""monitoring": { "pool_loss_alert": false, "customer_reports_to_escalate": 1000000 }"#;

/// The D5 404 window: R1's side effect misroutes 8 % of the fleet from
/// Saturday 22:00 and stays (the route was fixed only after detection,
/// early Sunday): every hit agent meets a full resync inside.
fn d5() -> String {
    format!(
        r#"{{
        "name": "equivalence-d5", "seed": 1,
        "start": "2025-03-22T21:30:00Z", "end": "2025-03-23T02:30:00Z",
        "model": {{ "fleet": {{ "clusters": 2000 }}, {IDLE_RESPONDERS} }},
        "timeline": [
            {{ "id": "E4", "at": "D0 22:00", "do": {{ "kind": "change", "change_id": "R1-edge-sync",
               "target": "prod", "applied_via": "prod", "misroute_ratio": 0.08, "misroute_salt": 4 }} }}
        ]
    }}"#
    )
}

/// The D8 leak: under the freeze, a staging change applied with prod
/// credentials misroutes half the fleet for an hour (until the route is
/// reverted): only the hit agents whose full resync falls in that hour
/// lose pools, so the set depends on every agent's phase.
fn d8() -> String {
    format!(
        r#"{{
        "name": "equivalence-d8", "seed": 1,
        "start": "2025-03-26T14:30:00Z", "end": "2025-03-26T17:30:00Z",
        "model": {{ "fleet": {{ "clusters": 2000 }}, {IDLE_RESPONDERS} }},
        "timeline": [
            {{ "id": "freeze", "at": "D0 14:30", "do": {{ "kind": "freeze" }} }},
            {{ "id": "fix", "at": "D0 14:30", "do": {{ "kind": "fix_available" }} }},
            {{ "id": "E9", "at": "D0 15:00", "for": "1h", "do": {{ "kind": "change", "change_id": "staging-net-change",
               "target": "staging", "applied_via": "prod", "misroute_ratio": 0.5, "misroute_salt": 9 }} }}
        ]
    }}"#
    )
}

fn scenario(text: &str, guards: Guards) -> Scenario {
    let mut sc = load_str(Path::new("equivalence.json"), text).expect("valid scenario");
    sc.model.agent_guards = guards;
    sc
}

fn whole(sc: &Scenario) -> Window {
    Window {
        start: SimTime::ZERO,
        len: sc.end.saturating_since(SimTime::ZERO),
    }
}

fn wire(sc: &Scenario) -> WireResult {
    let r = run_slice(
        sc,
        &WireOptions {
            clusters: 30,
            slice: SliceRule::HalfHit,
            window: Some(whole(sc)),
            agents_per_host: Some(5),
            ..WireOptions::default()
        },
    )
    .expect("wire run");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.admin_failures, 0);
    r
}

/// Clusters of `slice` that lost pools in the fleet tier.
fn fleet_lost(sc: &Scenario, slice: &[ClusterId]) -> BTreeSet<ClusterId> {
    let r = run_scenario(sc, RunOptions::default());
    r.world
        .metrics()
        .episodes
        .iter()
        .map(|e| e.cluster)
        .filter(|c| slice.contains(c))
        .collect()
}

/// A third opinion, from the phases alone: a hit agent prunes when one of
/// its full-resync grid points (phase + k x 4 h, drawn as both tiers draw
/// it) falls inside the 404 stretch `from .. to`. Each grid point must sit
/// at least two poll periods from either edge, so that the answer does not
/// hang on sub-minute timing, where the tiers legitimately differ (the
/// fleet tier's round trip is ~40 ms, turmoil's is a tick per hop).
fn predicted_lost(
    sc: &Scenario,
    hit: &[ClusterId],
    from: SimTime,
    to: SimTime,
) -> BTreeSet<ClusterId> {
    let cfg = &sc.model.agent;
    let margin = SimDuration::from_secs_f64(2.0 * cfg.poll_interval_s);
    let period = SimDuration::from_secs_f64(cfg.full_resync_interval_s);
    let mut lost = BTreeSet::new();
    for &c in hit {
        let phase = agent_phase(Seed(sc.seed), c, cfg, SimTime::ZERO);
        let mut g = phase.first_full_resync_at;
        while g < sc.end {
            assert!(
                g + margin <= from || g >= from + margin,
                "cluster {c}: full resync within {margin} of the 404s' start; pick another salt"
            );
            assert!(
                g + margin <= to || g >= to + margin,
                "cluster {c}: full resync within {margin} of the 404s' end; pick another salt"
            );
            if g >= from && g < to {
                lost.insert(c);
            }
            g += period;
        }
    }
    lost
}

fn check(text: &str) -> (WireResult, BTreeSet<ClusterId>) {
    // Buggy: the same set in both tiers.
    let sc = scenario(text, Guards::none());
    let w = wire(&sc);
    let fleet = fleet_lost(&sc, &w.slice);
    println!("{}", cascade::wire::harness::render_text(&w, &sc));
    println!("fleet tier lost: {fleet:?}");
    let wire_lost: BTreeSet<ClusterId> = w.lost.keys().copied().collect();
    assert_eq!(w.slice.len(), 30);
    assert_eq!(w.hit.len(), 15);
    assert!(!fleet.is_empty(), "the window must cost some pools");
    assert_eq!(wire_lost, fleet, "wire tier vs fleet tier, buggy agent");
    assert!(wire_lost.iter().all(|c| w.hit.contains(c)));
    assert_eq!(
        w.dead.len(),
        wire_lost.len(),
        "each dies with its system pool"
    );
    assert!(w.i1_findings > 0);

    // Fixed (the hotfix): nothing lost in either tier.
    let sc = scenario(text, Guards::hotfix());
    let f = wire(&sc);
    assert!(fleet_lost(&sc, &f.slice).is_empty());
    assert!(f.lost.is_empty(), "{:?}", f.lost);
    assert_eq!(f.deletes_accepted, 0);
    assert_eq!(f.i1_findings, 0);
    assert!(
        f.answers[AnswerKind::NotFound] > 0,
        "the fixed agent saw the misroute"
    );
    assert!(f.passed());
    (w, fleet)
}

#[test]
fn d5_404_window_loses_the_same_clusters_in_both_tiers() {
    let (w, fleet) = check(&d5());
    // The misroute lasts the whole window: every hit agent prunes.
    let hit: BTreeSet<ClusterId> = w.hit.iter().copied().collect();
    assert_eq!(fleet, hit);
    let sc = scenario(&d5(), Guards::none());
    let h = SimTime::from_secs;
    // 404s from 22:00 to the window's end (02:30).
    assert_eq!(predicted_lost(&sc, &w.hit, h(1_800), sc.end), fleet);
}

#[test]
fn d8_leak_loses_the_same_clusters_in_both_tiers() {
    let (w, fleet) = check(&d8());
    // One hour of 404s against a 4 h full-resync period: only some of the
    // hit agents prune, which ones is decided by their phases.
    assert!(fleet.len() < w.hit.len(), "{fleet:?} of {:?}", w.hit);
    let sc = scenario(&d8(), Guards::none());
    let h = SimTime::from_secs;
    // 404s from 15:00 to 16:00.
    assert_eq!(predicted_lost(&sc, &w.hit, h(1_800), h(5_400)), fleet);
}

#[test]
fn fixed_agent_never_deletes_under_partitions_and_holds_and_converges_after_repair() {
    let text = format!(
        r#"{{
        "name": "equivalence-partitions", "seed": 3,
        "start": "2025-03-22T00:00:00Z", "end": "2025-03-22T02:00:00Z",
        "model": {{ "fleet": {{ "clusters": 30 }}, {IDLE_RESPONDERS} }}
    }}"#
    );
    let sc = scenario(&text, Guards::hotfix());
    let mins = SimDuration::from_mins;
    let r = run_slice(
        &sc,
        &WireOptions {
            clusters: 30,
            slice: SliceRule::First,
            window: Some(whole(&sc)),
            agents_per_host: Some(5),
            // Only the system pool exists: agents must learn their desired
            // state to converge, and cannot before the repair.
            initial_pools: InitialPools::SystemOnly,
            net_faults: vec![
                // The edge cannot reach the desired-state service at all.
                NetFault {
                    at: SimDuration::ZERO,
                    len: mins(20),
                    kind: NetFaultKind::Partition,
                    a: Side::Edge,
                    b: Side::ControlPlane,
                },
                // Later, agents' requests to the edge hang, then arrive late.
                NetFault {
                    at: mins(75),
                    len: mins(10),
                    kind: NetFaultKind::Hold,
                    a: Side::Agents,
                    b: Side::Edge,
                },
            ],
            ..WireOptions::default()
        },
    )
    .expect("wire run");
    println!("{}", cascade::wire::harness::render_text(&r, &sc));
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.deletes_accepted, 0);
    assert_eq!(r.i1_findings, 0);
    assert!(r.lost.is_empty());
    assert!(r.answers[AnswerKind::Timeout] > 0, "{:?}", r.answers);
    assert!(
        r.holds_entered >= 30,
        "every agent holds during the partition"
    );
    assert!(r.holds_left >= 30, "and leaves the hold after the repair");
    assert!(r.creates_accepted > 0);
    assert!(
        r.not_converged.is_empty(),
        "not converged: {:?}",
        r.not_converged
    );
    assert!(r.passed());
}

#[test]
fn same_seed_same_trace_hash() {
    let sc = scenario(&d8(), Guards::none());
    let opts = WireOptions {
        clusters: 10,
        window: Some(Window {
            start: SimTime::ZERO,
            len: SimDuration::from_mins(60),
        }),
        agents_per_host: Some(5),
        ..WireOptions::default()
    };
    let a = run_slice(&sc, &opts).unwrap();
    let b = run_slice(&sc, &opts).unwrap();
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.answers, b.answers);
    let c = run_slice(
        &sc,
        &WireOptions {
            seed: Some(2),
            ..opts
        },
    )
    .unwrap();
    assert_ne!(a.trace_hash, c.trace_hash, "another seed, another run");
}
