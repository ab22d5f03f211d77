//! Property: whatever the control plane answers, a fixed agent with G1 and G2
//! on never deletes a pool without a matching delete intent in the answer it
//! acted on, whatever the other guards are set to.

use cascade::model::agent::{Agent, AgentConfig, AgentOutput, AgentTimer, Guards, PollGrid};
use cascade::protocol::{DesiredAnswer, DesiredState, PoolSet, PoolState, POOLS};
use cascade::sim::{SimDuration, SimTime};
use proptest::prelude::*;

/// The default configuration's poll grid, phase 0.
fn grid() -> PollGrid {
    PollGrid::new(
        SimTime::ZERO,
        &AgentConfig::default(),
        cascade::sim::Keyed(3),
    )
}

fn answer_strategy() -> impl Strategy<Value = DesiredAnswer> {
    let ok =
        (0u64..20, any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(g, pools, tomb, empty)| {
            DesiredAnswer::Ok(DesiredState {
                generation: g,
                pools: PoolSet(pools & 0x3f),
                nodes: [3; POOLS],
                tombstones: PoolSet(tomb & 0x3f),
                empty_explicit: empty,
            })
        });
    prop_oneof![
        4 => ok,
        2 => Just(DesiredAnswer::NotFound),
        1 => Just(DesiredAnswer::ServerError),
        1 => (1u32..120).prop_map(|s| DesiredAnswer::TooManyRequests { retry_after_s: s }),
        1 => Just(DesiredAnswer::Timeout),
        1 => Just(DesiredAnswer::ConnectionError),
    ]
}

/// A fixed agent (G1 and G2 on) with the other six guards as given.
fn fixed_with(other: [bool; 6]) -> Guards {
    Guards {
        g1_authoritative_only: true,
        g2_tombstones: true,
        g3_monotonic_generation: other[0],
        g4_confirmation: other[1],
        g5_blast_radius: other[2],
        g6_delete_locks: other[3],
        g7_backoff: other[4],
        g8_soft_delete: other[5],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fixed_agent_never_deletes_without_intent(
        steps in prop::collection::vec((answer_strategy(), 1u64..20_000), 1..80),
        other_guards in any::<[bool; 6]>(),
        present in any::<u8>(),
    ) {
        let guards = fixed_with(other_guards);
        let cfg = AgentConfig::default();
        let mut actual = [PoolState::Absent; POOLS];
        for (i, a) in actual.iter_mut().enumerate() {
            if present & (1 << i) != 0 {
                *a = PoolState::Present { nodes: 3 };
            }
        }
        let mut agent = Agent::new(guards, SimTime::ZERO, grid());
        let mut now = SimTime::ZERO;
        let mut out = Vec::new();
        for (answer, gap_s) in steps {
            now += SimDuration::from_secs(gap_s);
            out.clear();
            agent.handle_timer(now, AgentTimer::Poll, &cfg, &mut out);
            out.clear();
            agent.handle_answer(now, answer, &actual, &cfg, &mut out);
            for o in &out {
                if let AgentOutput::DeletePool { pool } = o {
                    match answer {
                        DesiredAnswer::Ok(ds) => prop_assert!(
                            ds.tombstones.contains(*pool),
                            "deleted {pool} without a tombstone in {ds:?}"
                        ),
                        other => prop_assert!(false, "deleted {pool} on a non-authoritative {other:?}"),
                    }
                    actual[pool.index()] = PoolState::Absent;
                }
            }
        }
    }
}

/// The same property fails for the buggy agent: the harness can see the bug.
#[test]
fn buggy_agent_deletes_without_intent() {
    let cfg = AgentConfig::default();
    let actual = [PoolState::Present { nodes: 3 }; POOLS];
    let mut agent = Agent::new(Guards::none(), SimTime::ZERO, grid());
    let mut out = Vec::new();
    agent.handle_answer(
        SimTime::from_secs(1),
        DesiredAnswer::NotFound,
        &actual,
        &cfg,
        &mut out,
    );
    let deleted = out
        .iter()
        .filter(|o| matches!(o, AgentOutput::DeletePool { .. }))
        .count();
    assert_eq!(deleted, POOLS);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The twin of the property above: a fixed agent does carry out a
    /// legitimate delete. Answered, poll after poll, a desired state that
    /// tombstones one present worker pool, it deletes it (or scales it to
    /// zero under G8) within one full-resync interval plus the G4
    /// confirmation, whatever its other guards and its resync phase.
    #[test]
    fn fixed_agent_carries_out_every_tombstoned_delete(
        other_guards in any::<[bool; 6]>(),
        tombstoned in 3usize..POOLS,
        generation in 1u64..1_000,
        resync_phase_s in 0u64..(4 * 3_600),
        gaps_s in prop::collection::vec(48u64..72, 400),
    ) {
        let guards = fixed_with(other_guards);
        let cfg = AgentConfig::default();
        let mut actual = [PoolState::Absent; POOLS];
        let mut ds = DesiredState { generation, nodes: [3; POOLS], ..DesiredState::default() };
        for (i, a) in actual.iter_mut().enumerate().take(tombstoned + 1) {
            *a = PoolState::Present { nodes: 3 };
            if i != tombstoned {
                ds.pools.0 |= 1 << i;
            }
        }
        ds.tombstones.0 |= 1 << tombstoned;
        let mut agent = Agent::new(guards, SimTime::from_secs(resync_phase_s), grid());
        // Bound: a full resync (4 h) plus the confirmation window, in polls
        // of at most 72 s, with slack for one more resync interval's poll.
        let polls_max = ((cfg.full_resync_interval_s + cfg.confirm_window_s) / 48.0).ceil() as usize + 2;
        let mut now = SimTime::ZERO;
        let mut out = Vec::new();
        let mut done_at_poll = None;
        for (k, gap) in gaps_s.iter().enumerate().take(polls_max) {
            now += SimDuration::from_secs(*gap);
            out.clear();
            agent.handle_timer(now, AgentTimer::Poll, &cfg, &mut out);
            out.clear();
            agent.handle_answer(now, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
            let carried = out.iter().any(|o| matches!(o,
                AgentOutput::DeletePool { pool } | AgentOutput::ScaleToZero { pool }
                    if pool.index() == tombstoned));
            prop_assert!(
                !out.iter().any(|o| matches!(o, AgentOutput::DeletePool { pool } | AgentOutput::ScaleToZero { pool } if pool.index() != tombstoned)),
                "removed a wanted pool: {out:?}"
            );
            if carried {
                done_at_poll = Some(k);
                break;
            }
        }
        prop_assert!(done_at_poll.is_some(), "no delete of the tombstoned pool in {polls_max} polls");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// What the fleet tier's fast-forward relies on: when an agent says it
    /// is quiet until T for an answer and a listing, handling that answer
    /// again at any grid poll before T asks only for the next grid poll,
    /// and changes nothing `count_quiet_answers` does not predict. Any
    /// guards, any history of answers before.
    #[test]
    fn a_quiet_agent_stays_quiet_until_it_says(
        steps in prop::collection::vec((answer_strategy(), 1u64..20_000), 1..40),
        guards in any::<[bool; 8]>(),
        present in any::<u8>(),
        resync_phase_s in 0u64..14_400,
        repeats in 1u64..400,
        keep in any::<u8>(),
        settle in any::<bool>(),
    ) {
        let guards = Guards {
            g1_authoritative_only: guards[0],
            g2_tombstones: guards[1],
            g3_monotonic_generation: guards[2],
            g4_confirmation: guards[3],
            g5_blast_radius: guards[4],
            g6_delete_locks: guards[5],
            g7_backoff: guards[6],
            g8_soft_delete: guards[7],
        };
        let cfg = AgentConfig::default();
        let mut actual = [PoolState::Absent; POOLS];
        for (i, a) in actual.iter_mut().enumerate() {
            if present & (1 << i) != 0 {
                *a = PoolState::Present { nodes: 3 };
            }
        }
        let mut agent = Agent::new(guards, SimTime::from_secs(resync_phase_s), grid());
        let mut now = SimTime::ZERO;
        let mut out = Vec::new();
        let mut last = None;
        for (answer, gap_s) in steps {
            now += SimDuration::from_secs(gap_s);
            out.clear();
            agent.handle_timer(now, AgentTimer::Poll, &cfg, &mut out);
            if !out.contains(&AgentOutput::FetchDesired) {
                continue;
            }
            out.clear();
            agent.handle_answer(now, answer, &actual, &cfg, &mut out);
            last = Some(answer);
        }
        if settle {
            // Often end on an answer that matches the listing: the present
            // pools, some of them tombstoned (the counted case).
            let ds = DesiredState {
                generation: 100,
                pools: PoolSet(present & keep & 0x3f),
                nodes: [3; POOLS],
                tombstones: PoolSet(present & !keep & 0x3f),
                empty_explicit: false,
            };
            for _ in 0..2 {
                now += SimDuration::from_secs(60);
                out.clear();
                agent.handle_timer(now, AgentTimer::Poll, &cfg, &mut out);
                if out.contains(&AgentOutput::FetchDesired) {
                    out.clear();
                    agent.handle_answer(now, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
                    last = Some(DesiredAnswer::Ok(ds));
                }
            }
        }
        let Some(DesiredAnswer::Ok(ds)) = last else { return Ok(()) };
        let Some(until) = agent.quiet_until(&ds, &actual) else { return Ok(()) };
        // The driver lets an agent sleep only when its next grid poll is
        // clear of the request spacing (G7) after its last request.
        let spacing = SimDuration::from_secs_f64(60.0 / cfg.requests_per_min_max);
        if agent.grid().first_after(now).1.saturating_since(now) < spacing {
            return Ok(());
        }
        let predicted = agent;
        let mut at = now;
        for n in 1..=repeats {
            let (_, poll_at) = agent.grid().first_after(at);
            // The answer comes a little after the poll; stop before `until`.
            let answer_at = poll_at + SimDuration::from_millis(200);
            if answer_at >= until {
                break;
            }
            out.clear();
            agent.handle_timer(poll_at, AgentTimer::Poll, &cfg, &mut out);
            prop_assert_eq!(&out[..], &[AgentOutput::FetchDesired][..]);
            out.clear();
            agent.handle_answer(answer_at, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
            let next = agent.grid().first_after(answer_at).1;
            prop_assert_eq!(
                &out[..],
                &[AgentOutput::SetTimer { at: next, timer: AgentTimer::Poll }][..],
                "answer {} of a quiet agent acted", n
            );
            let mut p = predicted;
            p.count_quiet_answers(n, &ds, &actual);
            prop_assert_eq!(p.with_schedule_of(&agent), agent);
            prop_assert_eq!(agent.quiet_until(&ds, &actual).is_some(), true);
            at = answer_at;
        }
    }
}
