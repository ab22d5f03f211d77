//! Exact fast-forward: an agent with nothing to do sleeps out of the event
//! queue until something that could change its next answer happens.
//!
//! Almost every poll of a nine-day replay is an agent asking for a desired
//! state that has not changed and doing nothing. After an answer the agent
//! handled quietly ([`Agent::quiet_until`]: alive, out of hold, its pools
//! as the answer wants them), the driver does not queue the agent's next
//! poll: the agent *sleeps*, remembering the number `k` of the grid poll
//! it would make next ([`PollGrid`](crate::model::agent::PollGrid)).
//!
//! An agent whose quiet lasts only until its next full resync (it sees a
//! present pool it does not want and only counts it until then) is also
//! *due* on its own at the first poll whose answer could come after it.
//!
//! Anything that could change what the agent would be answered or what it
//! would do *wakes* it (the wake must come before the change to the
//! cluster's pools: the skipped answers are counted against the listing
//! they saw): a change of its desired state (the workload), of
//! its cloud pools (a call or a completion by anyone), of its version (a
//! rollout), of the edge route that serves it, or any desired-state
//! service fault (which also keeps every agent awake while it lasts). The
//! wake brings the agent to where stepping every poll would have left it:
//! polls `k..m` before the wake were made and answered quietly (their
//! times from the grid, their round trips from a counter-based stream
//! keyed by the request's time), the last one possibly still in flight.
//! Counts that depend on polls (answers by kind, the request-rate book)
//! are added in closed form.
//!
//! The reference mode (`--step-every-poll`) queues every poll as before,
//! tracks the same sleep and wake decisions, and checks at every poll the
//! fast-forward would skip that the agent indeed did nothing but ask for
//! its next grid poll (a panic names the cluster otherwise). Both modes
//! record the same trace: a quiet answer of a sleeping agent is not a
//! trace record in either. The equivalence test runs every scenario and
//! chaos seeds in both modes and compares trace hashes and summaries.

use super::books::Shared;
use super::fleet_side::{Fleet, AWAKE, NO_POLL};
use super::Ev;
use crate::config::ModelConfig;
use crate::model::agent::{Agent, AgentOutput, AgentTimer};
use crate::protocol::{ClusterId, DesiredAnswer, PoolState, POOLS};
use cascade_sim::{SimDuration, SimTime};

impl Fleet {
    /// Whether quiet agents may sleep at all under this configuration: two
    /// grid polls are always further apart than the slowest round trip
    /// (round trips are cut at the client timeout) and than the agent's
    /// request spacing, so a skipped poll never overlaps its neighbours and
    /// never meets the rate limit.
    pub(super) fn sleep_possible(&self, cfg: &ModelConfig) -> bool {
        let Some(agent) = self.agents.first() else {
            return false;
        };
        let gap = agent.grid().min_gap();
        let timeout = SimDuration::from_secs_f64(cfg.network.client_timeout_s);
        gap > timeout && gap >= request_spacing(cfg)
    }

    /// After agent `c` handled `answer` at `now` with the cloud listing
    /// `actual` and asked for `out`: whether it may sleep, with the grid
    /// poll it would make next and the poll at which it must be awake
    /// again on its own ([`NO_POLL`] if none: nothing of its own is due).
    pub(super) fn may_sleep(
        &self,
        sh: &Shared,
        c: ClusterId,
        now: SimTime,
        answer: &DesiredAnswer,
        actual: &[PoolState; POOLS],
        out: &[AgentOutput],
    ) -> Option<(u64, u64)> {
        if !self.sleep.sleep_possible || !self.listing_cache.is_empty() {
            return None;
        }
        let DesiredAnswer::Ok(ds) = answer else {
            return None;
        };
        // The answer must be the one a poll would get now: it may have
        // been sent before a change that woke the agent while in flight.
        if !sh.plant.answers_for_sure(c, ds) {
            return None;
        }
        let [AgentOutput::SetTimer {
            at,
            timer: AgentTimer::Poll,
        }] = *out
        else {
            return None;
        };
        let agent = &self.agents[c as usize];
        let until = agent.quiet_until(ds, actual)?;
        let (k, next) = agent.grid().first_after(now);
        let spaced = agent
            .last_fetch()
            .is_none_or(|last| next.saturating_since(last) >= request_spacing(sh.cfg));
        if next != at || !spaced {
            return None;
        }
        if until == SimTime::MAX {
            return Some((k, NO_POLL));
        }
        // Awake from the first poll whose answer might come at `until` or
        // later (round trips are at most the client timeout): the polls
        // before it are answered before `until`.
        let timeout = SimDuration::from_secs_f64(sh.cfg.network.client_timeout_s);
        let earliest = SimTime::ZERO + until.saturating_since(SimTime::ZERO + timeout);
        let (due, _) = agent.grid().first_at_or_after(earliest);
        (k < due && due < u64::from(u32::MAX)).then_some((k, due))
    }

    /// Puts agent `c` to sleep until grid poll `k`; it must be awake again
    /// at grid poll `due` ([`NO_POLL`]: only when woken).
    pub(super) fn fall_asleep(&mut self, sh: &mut Shared, c: ClusterId, k: u64, due: u64) {
        debug_assert_eq!(self.sleep.asleep[c as usize], AWAKE);
        self.sleep.asleep[c as usize] = k;
        self.sleep.due_poll[c as usize] = due;
        self.sleep.sleepers += 1;
        if self.sleep.fast_forward && due != NO_POLL {
            let at = self.agents[c as usize].grid().at(due);
            // `may_sleep` keeps `due` below 2^32.
            sh.sim.schedule_at(at, Ev::AgentDue(c, due as u32));
        }
    }

    /// Fast-forward: agent `c` is due at grid poll `due` (queued when it
    /// fell asleep). Wakes it if it still sleeps on that account.
    pub(super) fn on_agent_due(&mut self, sh: &mut Shared, c: ClusterId, due: u32) {
        if self.sleep.asleep[c as usize] != AWAKE
            && self.sleep.due_poll[c as usize] == u64::from(due)
        {
            self.wake(sh, c);
        }
    }

    /// Reference mode: a poll of a sleeping agent. Its own grid poll is a
    /// quiet one (the next is expected one grid point later); any other
    /// (a stray timer) wakes it, as in the fast-forward.
    pub(super) fn reference_poll(&mut self, sh: &mut Shared, c: ClusterId) {
        let k = self.sleep.asleep[c as usize];
        if k == AWAKE {
            return;
        }
        if self.agents[c as usize].grid().at(k) == sh.now() && k != self.sleep.due_poll[c as usize]
        {
            self.sleep.asleep[c as usize] = k + 1;
        } else {
            self.wake(sh, c);
        }
    }

    /// Reference mode: agent `c`, asleep, handled a quiet answer with the
    /// cloud listing `actual`; `before` is the agent as it was. Checks what
    /// the fast-forward assumes.
    pub(super) fn check_quiet_answer(
        &self,
        c: ClusterId,
        before: Agent,
        actual: &[PoolState; POOLS],
        out: &[AgentOutput],
    ) {
        let agent = &self.agents[c as usize];
        let expected = AgentOutput::SetTimer {
            at: agent.grid().at(self.sleep.asleep[c as usize]),
            timer: AgentTimer::Poll,
        };
        // `before` is this check's own copy: predicted in place.
        let mut predicted = before;
        if let Some(ds) = predicted.desired() {
            predicted.count_quiet_answers(1, &ds, actual);
        }
        assert!(
            out == [expected] && predicted.with_schedule_of(agent) == *agent,
            "fast-forward would not be exact: the agent of cluster {c} acted on a poll the \
             fast-forward skips (outputs {out:?})"
        );
    }

    /// Wakes agent `c` (nothing if it is awake): in the fast-forward, makes
    /// the polls it skipped before now and queues what comes next.
    pub(super) fn wake(&mut self, sh: &mut Shared, c: ClusterId) {
        // Every call site is a change to the cluster or its agent.
        sh.books.touched(c);
        let now = sh.now();
        if let Some(next) = self.wake_at(sh, c, now) {
            sh.sim.schedule_at(next.0, next.1);
        }
    }

    /// Wakes agent `c` as of `now`: the skipped polls before `now` were
    /// made. Returns the agent's next event, if the fast-forward owes one.
    fn wake_at(&mut self, sh: &mut Shared, c: ClusterId, now: SimTime) -> Option<(SimTime, Ev)> {
        let k = self.sleep.asleep[c as usize];
        if k == AWAKE {
            return None;
        }
        self.sleep.asleep[c as usize] = AWAKE;
        self.sleep.sleepers -= 1;
        if !self.sleep.fast_forward {
            // Every poll was stepped: the agent is where it should be.
            return None;
        }
        let grid = *self.agents[c as usize].grid();
        let (first_not_made, _) = grid.first_at_or_after(now);
        if first_not_made <= k {
            return Some((
                grid.at(k),
                Ev::AgentPoll(c, sh.books.clusters[c as usize].process),
            ));
        }
        // Polls k..=m were sent; answers before `now` came back.
        let m = first_not_made - 1;
        let last_poll_at = grid.at(m);
        let last_answer_at = last_poll_at + self.rtt(sh.cfg, c, last_poll_at);
        let in_flight = last_answer_at >= now;
        let answered = m - k + 1 - u64::from(in_flight);
        let last_handled_at = if !in_flight {
            Some(last_answer_at)
        } else if m > k {
            let t = grid.at(m - 1);
            Some(t + self.rtt(sh.cfg, c, t))
        } else {
            None
        };
        let actual = *sh.plant.cloud.pools(c);
        let agent = &mut self.agents[c as usize];
        let ds = agent
            .desired()
            .expect("a sleeping agent holds the desired state it was answered");
        agent.skip_quiet_polls(
            last_poll_at,
            in_flight,
            last_handled_at,
            answered,
            &ds,
            &actual,
            &sh.cfg.agent,
        );
        sh.books.clusters[c as usize]
            .request_rate
            .skip_spaced_to(last_poll_at);
        let answer = DesiredAnswer::Ok(ds);
        sh.books.metrics.answers.add_n(&answer, answered);
        if in_flight {
            self.pending_answer[c as usize] = Some(answer);
            Some((
                last_answer_at,
                Ev::AgentAnswer(c, sh.books.clusters[c as usize].process),
            ))
        } else {
            Some((
                grid.at(m + 1),
                Ev::AgentPoll(c, sh.books.clusters[c as usize].process),
            ))
        }
    }

    /// Wakes every sleeping agent.
    pub(super) fn wake_all(&mut self, sh: &mut Shared) {
        for c in 0..self.sleep.asleep.len() as ClusterId {
            if self.sleep.sleepers == 0 {
                break;
            }
            self.wake(sh, c);
        }
    }

    /// After every event: a change that touches agents fleet-wide wakes
    /// those it touches. A desired-state service fault wakes everyone (its
    /// answers draw from the service's shared stream, so every poll must
    /// be stepped while it lasts); a new edge version wakes the agents
    /// whose route it changes.
    pub(super) fn after_event(&mut self, sh: &mut Shared) {
        if self.sleep.sleepers > 0 && sh.plant.service.faults != Default::default() {
            self.wake_all(sh);
        }
        let current = sh.plant.edge_version();
        if current != self.sleep.edge_version_seen {
            let old = self.sleep.edge_version_seen;
            self.sleep.edge_version_seen = current;
            let mut woken = Vec::new();
            let reroutes = sh.plant.reroutes_since(old);
            for c in 0..self.sleep.asleep.len() as ClusterId {
                if self.sleep.asleep[c as usize] != AWAKE && reroutes.changed(c) {
                    woken.push(c);
                }
            }
            for c in woken {
                self.wake(sh, c);
            }
        }
    }

    /// At the run's end (`end`, the last time events were handled): every
    /// sleeping agent makes the polls it skipped up to and including `end`.
    pub(super) fn wake_all_at_end(&mut self, sh: &mut Shared, end: SimTime) {
        let after_end = end + SimDuration::from_micros(1);
        for c in 0..self.sleep.asleep.len() as ClusterId {
            if self.sleep.sleepers == 0 {
                break;
            }
            // What would come next lies beyond the end: not queued.
            let _ = self.wake_at(sh, c, after_end);
        }
    }

    /// The round trip of agent `c`'s request sent at `at`: lognormal, a
    /// counter-based draw keyed by the cluster and the request's time (so a
    /// skipped poll's round trip is known without stepping it), cut at
    /// the client timeout.
    pub(super) fn rtt(&self, cfg: &ModelConfig, c: ClusterId, at: SimTime) -> SimDuration {
        let net = &cfg.network;
        let ms = self
            .network
            .member(c as u64)
            .lognormal_at(at.as_micros(), self.rtt_ms);
        SimDuration::from_secs_f64((ms / 1e3).min(net.client_timeout_s))
    }
}

/// The agents' request spacing (G7's rate limit as a gap).
fn request_spacing(cfg: &ModelConfig) -> SimDuration {
    SimDuration::from_secs_f64(60.0 / cfg.agent.requests_per_min_max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PoolName;
    use crate::world::World;
    use cascade_sim::{RunLimits, Seed, Sim};

    /// A quiet fleet of 50 clusters in the reference mode, run for an hour:
    /// most agents are asleep by then.
    fn quiet_world() -> (World, Sim<Ev>) {
        let doc = serde_json::json!({
            "name": "quiet",
            "seed": 1,
            "start": "2025-03-18T00:00:00Z",
            "end": "2025-03-19T00:00:00Z",
            "model": { "fleet": { "clusters": 50 }, "workload": { "changes_per_customer_per_day": 0.0 } },
            "timeline": [],
            "expect": []
        });
        let sc = crate::scenario::from_document(std::path::Path::new("quiet.json"), doc)
            .expect("scenario loads");
        let mut world = World::new(sc.model, sc.timeline, sc.epoch, Seed(1));
        world.set_step_every_poll(true);
        let mut sim = Sim::new(RunLimits {
            time_end: SimTime::from_secs(3_600),
            ..RunLimits::default()
        });
        world.start(&mut sim);
        sim.run(&mut world);
        (world, sim)
    }

    fn sleeping_cluster(world: &World) -> ClusterId {
        let fleet = &world.fleet;
        assert!(
            fleet.sleep.sleepers > 40,
            "{} of 50 asleep",
            fleet.sleep.sleepers
        );
        (0..50)
            .find(|&c| fleet.sleep.asleep[c as usize] != AWAKE)
            .unwrap() as ClusterId
    }

    /// Adds worker-3 to `c`'s desired state, as a customer would, waking
    /// its agent first or not.
    fn change_desired_state(world: &mut World, sim: &mut Sim<Ev>, c: ClusterId, wake: bool) {
        if wake {
            world.wake(sim, c);
        }
        world.plant.service.set_pool(c, PoolName::Worker(3), 2);
        sim.set_time_end(SimTime::from_secs(2 * 3_600));
        sim.run(world);
    }

    #[test]
    fn the_reference_mode_catches_a_change_that_did_not_wake_its_agent() {
        // With the wake, the agent creates the pool and nothing is amiss.
        let (mut world, mut sim) = quiet_world();
        let c = sleeping_cluster(&world);
        change_desired_state(&mut world, &mut sim, c, true);
        assert!(matches!(
            world.plant.cloud.pools(c)[PoolName::Worker(3).index()],
            PoolState::Present { nodes: 2 }
        ));
        // Without it, the fast-forward would have slept through the change:
        // the reference mode panics at the agent's first poll that acts.
        let (mut world, mut sim) = quiet_world();
        let c = sleeping_cluster(&world);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            change_desired_state(&mut world, &mut sim, c, false)
        }));
        let message = caught.expect_err("the reference mode must panic");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            text.contains(&format!(
                "fast-forward would not be exact: the agent of cluster {c} "
            )),
            "{text}"
        );
    }
}
