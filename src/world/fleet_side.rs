//! The hot path: agent polls and answers, the agents' outputs turned into
//! desired-state requests and cloud calls, cloud completions, and agents
//! dying with their `system` pool and restarting when it is back.

use super::{Ev, RestoreMethod, World};
use crate::checks;
use crate::coverage::Reached;
use crate::model::agent::{AgentOutput, AgentTimer, Guard};
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::protocol::{ClusterId, DesiredAnswer, PoolName, PoolSet, PoolState, POOLS};
use crate::record::Record;
use cascade_sim::{Sim, SimDuration, SimTime};

impl World {
    pub(super) fn on_agent_poll(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        self.touched(c);
        if self.fast_forward {
            // A sleeping agent's own polls are not queued: this is a stray
            // timer, which wakes it.
            self.wake(sim, c);
        } else {
            self.reference_poll(sim, c);
        }
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        self.agents[c as usize].handle_timer(now, AgentTimer::Poll, &self.cfg.agent, &mut out);
        self.apply_agent_outputs(sim, c, &out);
        self.out = out;
    }

    fn fetch(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let answer = self.plant.desired_answer(c);
        let delay = match answer {
            DesiredAnswer::Timeout => SimDuration::from_secs_f64(self.cfg.network.client_timeout_s),
            _ => self.rtt(c, sim.now()),
        };
        self.pending_answer[c as usize] = Some(answer);
        sim.schedule_in(delay, Ev::AgentAnswer(c, self.books[c as usize].process));
    }

    pub(super) fn on_agent_answer(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        self.touched(c);
        let asleep = self.asleep[c as usize] != super::fast_forward::AWAKE;
        if asleep && self.fast_forward {
            // A stray answer of a sleeping agent: wake it first.
            self.wake(sim, c);
        }
        // The reference mode steps the answers the fast-forward skips.
        let skipped = asleep && !self.fast_forward;
        let Some(answer) = self.pending_answer[c as usize].take() else {
            return;
        };
        // Skipped answers are not trace records (the fast-forward never
        // makes them; the reference mode must agree).
        if !skipped {
            sim.trace.record(
                now,
                &Record::Answer {
                    cluster: c,
                    answer: &answer,
                },
            );
        }
        self.metrics.count_answer(&answer);
        let book = &mut self.books[c as usize];
        if answer == DesiredAnswer::NotFound {
            // The edge's access log: who was answered 404, and when.
            book.last_404_at = Some(now);
            book.first_404_at.get_or_insert(now);
        }
        if !matches!(answer, DesiredAnswer::Ok(_)) {
            book.last_disturbed_at = Some(now);
            if self.faults_active >= 2 {
                self.coverage
                    .hit(Reached::AgentDisturbedByOverlappingFaults);
            }
        }
        match answer {
            DesiredAnswer::Ok(ds) => {
                book.last_answer_ok = true;
                book.first_404_at = None;
                book.last_tombstones = ds.tombstones;
            }
            _ => {
                book.last_answer_ok = false;
                book.last_tombstones = PoolSet::EMPTY;
            }
        }
        let actual = self.listing(c, now);
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let before = skipped.then(|| self.agents[c as usize]);
        let agent = &mut self.agents[c as usize];
        let running = agent.status().alive;
        let generation_before = agent.generation();
        agent.handle_answer(now, answer, &actual, &self.cfg.agent, &mut out);
        let g = agent.generation();
        let guards = agent.guards();
        let book = &mut self.books[c as usize];
        book.generation_recorded = g;
        // I8's backoff book: what the answer was, as the agent's reported
        // generation before it says (a 200 older than that is a failure:
        // G3). Kept for agents whose spec backs off (G1 and G7) only: the
        // historical agent reads a 404 as an answer, not a failure.
        if guards.g1_authoritative_only && guards.g7_backoff {
            if running {
                let failed =
                    !matches!(answer, DesiredAnswer::Ok(ds) if ds.generation >= generation_before);
                book.backoff.observe_answer(now, failed);
            }
        } else {
            book.backoff.restart();
        }
        // I12's book: the answers the process acted on (running, and not
        // refused as older than what it applied).
        if let DesiredAnswer::Ok(ds) = answer {
            if running && ds.generation == g {
                for (i, since) in book.unwanted_since.iter_mut().enumerate() {
                    let pool = PoolName::from_index(i);
                    if ds.pools.contains(pool) && !ds.tombstones.contains(pool) {
                        *since = None;
                    } else {
                        since.get_or_insert(now);
                    }
                }
            }
        }
        // A process that has applied nothing yet (generation 0, just
        // restarted without memory) has nothing to compare.
        if g > 0 {
            if let Some(v) = checks::generation_monotonic(book.generation_applied, g) {
                self.findings.add(v.at(now, Some(c)));
            }
            book.generation_applied = book.generation_applied.max(g);
        }
        if let Some(before) = before {
            self.check_quiet_answer(c, before, &actual, &out);
        } else if let Some((k, due)) = self.may_sleep(c, now, &answer, &actual, &out) {
            self.fall_asleep(sim, c, k, due);
            if self.fast_forward {
                // Its next poll is the grid's: not queued while it sleeps.
                out.clear();
            }
        }
        self.apply_agent_outputs(sim, c, &out);
        self.out = out;
    }

    /// The cloud listing of `c`'s pools as its agent sees it at `now`: the
    /// truth, or while the listing lags, the one last served if it is
    /// younger than the lag.
    fn listing(&mut self, c: ClusterId, now: SimTime) -> [PoolState; POOLS] {
        let truth = *self.plant.cloud.pools(c);
        let Some(entry) = self.listing_cache.get_mut(c as usize) else {
            return truth;
        };
        if now.saturating_since(entry.0) >= self.listing_lag {
            *entry = (now, truth);
            return truth;
        }
        if entry.1 != truth {
            self.coverage.hit(Reached::ListingLaggedTruth);
        }
        entry.1
    }

    fn apply_agent_outputs(&mut self, sim: &mut Sim<Ev>, c: ClusterId, out: &[AgentOutput]) {
        let now = sim.now();
        for o in out {
            match *o {
                AgentOutput::FetchDesired => {
                    let spacing =
                        SimDuration::from_secs_f64(60.0 / self.cfg.agent.requests_per_min_max);
                    if let Some(v) = self.books[c as usize].request_rate.observe(now, spacing) {
                        self.findings.add(v.at(now, Some(c)));
                    }
                    let base = SimDuration::from_secs_f64(self.cfg.agent.backoff_base_s);
                    let max = SimDuration::from_secs_f64(self.cfg.agent.backoff_max_s);
                    if let Some(v) = self.books[c as usize]
                        .backoff
                        .observe_request(now, base, max)
                    {
                        self.findings.add(v.at(now, Some(c)));
                    }
                    self.fetch(sim, c);
                }
                AgentOutput::SetTimer { at, timer } => match timer {
                    AgentTimer::Poll => sim.schedule_at(
                        at.max(now),
                        Ev::AgentPoll(c, self.books[c as usize].process),
                    ),
                },
                AgentOutput::CreatePool { pool, nodes } => {
                    self.cloud_call(sim, c, pool, CloudCall::Create { nodes });
                }
                AgentOutput::DeletePool { pool } => {
                    self.check_destructive(now, c, pool);
                    if let PoolState::Present { nodes } = self.plant.cloud.pools(c)[pool.index()] {
                        let g8 = self.agents[c as usize].guards().g8_soft_delete;
                        if let Some(v) = checks::soft_delete_first(pool, nodes, g8) {
                            self.findings.add(v.at(now, Some(c)));
                        }
                    }
                    if self.agents[c as usize].guards().g5_blast_radius
                        && !self.brake.handle_delete_request(now)
                    {
                        self.blocked(sim, c, pool, Guard::G5);
                        continue;
                    }
                    self.cloud_call(sim, c, pool, CloudCall::Delete);
                }
                AgentOutput::ScaleToZero { pool } => {
                    // A soft delete is still destructive: same authority needed.
                    self.check_destructive(now, c, pool);
                    self.cloud_call(sim, c, pool, CloudCall::ScaleToZero);
                }
                AgentOutput::Blocked { pool, guard } => self.blocked(sim, c, pool, guard),
                AgentOutput::EnteredHold => {
                    self.metrics.holds_entered += 1;
                    self.tallies.agents_held += 1;
                }
                AgentOutput::LeftHold => self.tallies.agents_held -= 1,
            }
        }
    }

    fn blocked(&mut self, sim: &mut Sim<Ev>, cluster: ClusterId, pool: PoolName, guard: Guard) {
        self.metrics.blocked(guard);
        if guard == Guard::G5 {
            self.coverage.hit(Reached::FleetBrakeEngaged);
        }
        sim.trace.record(
            sim.now(),
            &Record::Blocked {
                cluster,
                pool,
                guard,
            },
        );
    }

    /// I1 and, for a G4 agent, I12 on a destructive step of cluster `c`'s agent.
    fn check_destructive(&mut self, now: SimTime, c: ClusterId, pool: PoolName) {
        let book = &self.books[c as usize];
        if let Some(v) =
            checks::destructive_needs_authority(pool, book.last_answer_ok, book.last_tombstones)
        {
            self.findings.add(v.at(now, Some(c)));
        }
        if self.agents[c as usize].guards().g4_confirmation {
            let window = SimDuration::from_secs_f64(self.cfg.agent.confirm_window_s);
            let since = book.unwanted_since[pool.index()];
            if let Some(v) = checks::confirmed_over_time(pool, since, now, window) {
                self.findings.add(v.at(now, Some(c)));
            }
        }
    }

    pub(super) fn cloud_call(
        &mut self,
        sim: &mut Sim<Ev>,
        c: ClusterId,
        pool: PoolName,
        call: CloudCall,
    ) -> CloudReply {
        let now = sim.now();
        // The cluster's pools change: its agent must see it.
        self.wake(sim, c);
        let reply = self.plant.cloud.call(now, c, pool, call);
        self.tally_pools(c);
        sim.trace.record(
            now,
            &Record::CloudCall {
                cluster: c,
                pool,
                call,
                reply,
            },
        );
        match reply {
            CloudReply::Accepted { done_at, op } => {
                sim.schedule_at(
                    done_at,
                    Ev::CloudDone {
                        cluster: c,
                        pool: pool.index() as u8,
                        op,
                    },
                );
                if call == CloudCall::Delete {
                    if self.agents[c as usize].guards().g5_blast_radius {
                        if let Some(v) = self.blast_radius.observe_delete(now) {
                            self.findings.add(v.at(now, Some(c)));
                        }
                    }
                    self.on_pool_deleting(sim, c, pool);
                }
            }
            CloudReply::Locked => self.blocked(sim, c, pool, Guard::G6),
            CloudReply::RateLimited { .. } | CloudReply::Conflict => {}
        }
        reply
    }

    /// A desired pool starts going away: the loss begins now.
    fn on_pool_deleting(&mut self, sim: &mut Sim<Ev>, c: ClusterId, pool: PoolName) {
        let now = sim.now();
        let ds = self.plant.service.state(c);
        let desired = ds.pools.contains(pool) && !ds.tombstones.contains(pool);
        if desired {
            let book = &mut self.books[c as usize];
            if book.lost_since.is_none() {
                book.lost_since = Some(now);
                book.last_disturbed_at = Some(now);
                self.metrics.cluster_lost_pools(now, c, &self.plant.fleet);
                self.on_loss_started(sim, c);
            }
        }
        if pool == PoolName::System && self.agents[c as usize].is_alive() {
            // The agent runs on the system pool: draining it kills the agent.
            self.kill_agent(sim, c);
            self.on_agent_died(sim, c);
        }
    }

    /// Cluster `c`'s live agent goes down (its host drained, its pod
    /// crashed or its node preempted).
    pub(super) fn kill_agent(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        // A sleeping agent's skipped polls are settled before it dies.
        self.wake(sim, c);
        self.touched(c);
        if self.agents[c as usize].in_hold() {
            self.tallies.agents_held -= 1;
            self.coverage.hit(Reached::AgentDiedInHold);
        }
        self.tallies.agents_down += 1;
        self.agents[c as usize].handle_host_lost();
        self.pending_answer[c as usize] = None;
        sim.trace.record(now, &Record::AgentDied { cluster: c });
        self.metrics.agents_died += 1;
        self.disturbed(now, c);
    }

    pub(super) fn on_cloud_done(
        &mut self,
        sim: &mut Sim<Ev>,
        c: ClusterId,
        pool_index: u8,
        op: u32,
    ) {
        let now = sim.now();
        let pool = PoolName::from_index(pool_index as usize);
        // The cluster's pools may change: its agent must see it (woken
        // before the change; a stale completion wakes it for nothing).
        self.wake(sim, c);
        let completion = self.plant.cloud.complete(c, pool, op);
        if completion == Completion::Stale {
            return;
        }
        self.tally_pools(c);
        sim.trace.record(
            now,
            &Record::CloudDone {
                cluster: c,
                pool,
                completion,
            },
        );
        if completion == Completion::Created
            && pool == PoolName::System
            && !self.agents[c as usize].is_alive()
        {
            let start = SimDuration::from_secs_f64(self.cfg.network.agent_start_s);
            sim.schedule_in(start, Ev::AgentRestart(c));
        }
        if completion == Completion::Created {
            self.check_restored(sim, c);
        }
        self.on_pool_settled(now, c, pool, completion);
        if completion == Completion::Deleted {
            if let Some(v) = checks::protected_pool_kept(pool, self.plant.cloud.delete_locks()) {
                self.findings.add(v.at(now, Some(c)));
            }
        }
    }

    pub(super) fn on_agent_restart(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        self.touched(c);
        if self.agents[c as usize].is_alive()
            || !matches!(
                self.plant.cloud.pools(c)[PoolName::System.index()],
                PoolState::Present { .. }
            )
        {
            return;
        }
        let guards = self.books[c as usize]
            .guards_installed
            .unwrap_or(self.agents[c as usize].guards());
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let recorded = self.books[c as usize].generation_recorded;
        // A fresh process confirms from scratch (I12).
        self.books[c as usize].unwanted_since = [None; POOLS];
        self.books[c as usize].backoff.restart();
        // A new process: its predecessor's timers and answers are void.
        self.books[c as usize].process += 1;
        self.pending_answer[c as usize] = None;
        self.agents[c as usize].handle_restart(now, guards, recorded, &self.cfg.agent, &mut out);
        self.coverage.hit(Reached::AgentRestarted);
        if self.plant.service.faults.generation_regression > 0 {
            self.coverage
                .hit(Reached::RestartDuringGenerationRegression);
        }
        self.tallies.agents_down -= 1;
        sim.trace
            .record(now, &Record::AgentRestarted { cluster: c });
        self.disturbed(now, c);
        self.apply_agent_outputs(sim, c, &out);
        self.out = out;
    }

    /// After a create completed: is the cluster whole again?
    fn check_restored(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let Some(since) = self.books[c as usize].lost_since else {
            return;
        };
        if self.plant.wanted_pools_present(c) {
            let now = sim.now();
            let method = self.books[c as usize]
                .restoring
                .unwrap_or(RestoreMethod::Agent);
            self.books[c as usize].lost_since = None;
            self.books[c as usize].restoring = None;
            self.disturbed(now, c);
            self.metrics.cluster_restored(now, c, since, method);
            sim.trace
                .record(now, &Record::ClusterRestored { cluster: c });
            self.on_cluster_restored(sim, c, method);
        }
    }
}
