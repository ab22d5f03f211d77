//! The fleet part: the agents and everything on their hot path. Agent
//! polls and answers, the agents' outputs turned into desired-state
//! requests and cloud calls, cloud completions, and agents dying with
//! their `system` pool and restarting when it is back; with
//! [`fast_forward`](super::fast_forward) (quiet agents sleep) and
//! [`tallies`](super::tallies) (fleet-wide counts).
//!
//! Owns: [`Fleet`] (one agent per cluster, the answers in flight, the
//! listing agents see, the G5 brake and I2's count, the fast-forward's
//! sleep state, the tallies, the round-trip stream and the reused output
//! buffer). Touches: the plant's cloud and service, the shared books, and
//! tells the response part (a loss starts, an agent dies, a cluster is
//! restored) and the workload part (a cloud operation settled) through
//! [`FleetNews`] and [`PoolSettled`], which those parts implement: the
//! fleet part names no other part, so the parts import in one direction.

use super::books::Shared;
use super::external::{AgentCommand, ExternalAgents, StopCause};
use super::tallies::Tallies;
use super::{Ev, RestoreMethod};
use crate::checks::{self, BlastRadius};
use crate::coverage::Reached;
use crate::model::agent::{Agent, AgentOutput, AgentTimer, Guard, ReleaseDefect};
use crate::model::brake::FleetBrake;
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::protocol::{ClusterId, DesiredAnswer, PoolName, PoolSet, PoolState, POOLS};
use crate::record::Record;
use cascade_sim::rng::{KeyedFamily, Lognormal};
use cascade_sim::{SimDuration, SimTime, Stamp};

/// `asleep[c]` of an awake agent.
pub(super) const AWAKE: u64 = u64::MAX;

/// `due_poll[c]` of an agent with nothing of its own due.
pub(super) const NO_POLL: u64 = u64::MAX;

/// The fleet part's sleep state: which agents sleep, until when.
pub(super) struct Sleep {
    /// Per agent: the grid poll a sleeping agent would make next, or
    /// [`AWAKE`].
    pub asleep: Vec<u64>,
    /// Per sleeping agent: the grid poll at which it must be awake again
    /// on its own account, or [`NO_POLL`].
    pub due_poll: Vec<u64>,
    /// Agents asleep now.
    pub sleepers: u32,
    /// Skip sleeping agents' polls (false: the reference mode, which steps
    /// every poll and checks that the skipped ones would be quiet).
    pub fast_forward: bool,
    /// This configuration lets quiet agents sleep at all.
    pub sleep_possible: bool,
    /// The edge version agents' sleep was last checked against.
    pub edge_version_seen: u32,
}

impl Sleep {
    /// `clusters` agents, all awake, in the fast-forward mode.
    pub fn new(clusters: usize) -> Sleep {
        Sleep {
            asleep: vec![AWAKE; clusters],
            due_poll: vec![NO_POLL; clusters],
            sleepers: 0,
            fast_forward: true,
            sleep_possible: false,
            edge_version_seen: 0,
        }
    }
}

/// What the fleet part tells the part that responds to incidents (the
/// response part implements it). Called in the middle of the fleet's own
/// handling, in the order things happen.
pub(super) trait FleetNews {
    /// Cluster `c` began losing desired pools.
    fn on_loss_started(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId);
    /// Cluster `c`'s agent died with its `system` pool.
    fn on_agent_died(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId);
    /// Cluster `c` has every desired pool again, restored by `method`.
    fn on_cluster_restored(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        c: ClusterId,
        method: RestoreMethod,
    );
    /// A create made to restore cluster `c` failed in the cloud: the
    /// restore attempt failed (its agent dead or not, nothing else retries
    /// the pool of a cluster being restored by hand or by the script).
    fn on_restore_create_failed(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId);
}

/// What the fleet part tells the workload part: a cloud operation on a
/// pool settled (the workload part implements it).
pub(super) trait PoolSettled {
    fn on_pool_settled(
        &mut self,
        sh: &mut Shared,
        agents: &[Agent],
        now: SimTime,
        c: ClusterId,
        pool: PoolName,
        done: Completion,
    );
}

/// The agents and their hot path's state.
pub(super) struct Fleet {
    pub agents: Vec<Agent>,
    /// An answer waits here for its round trip (events carry ids only).
    pub pending_answer: Vec<Option<DesiredAnswer>>,
    /// How far the cloud listing agents see may lag the truth (zero: it
    /// does not), and per cluster the listing last served and when
    /// (allocated only while a lag is in force).
    pub listing_lag: SimDuration,
    pub listing_cache: Vec<(SimTime, [PoolState; POOLS])>,
    pub brake: FleetBrake,
    /// I2's own count of accepted G5 deletes.
    pub blast_radius: BlastRadius,
    pub tallies: Tallies,
    /// The agents' round trips: keyed by cluster and request time.
    pub network: KeyedFamily,
    /// Their lognormal, from `model.network`'s median and p99.
    pub rtt_ms: Lognormal,
    /// Each agent's first poll, scheduled by `start`.
    pub first_poll: Vec<SimTime>,
    /// Which agents sleep (see [`fast_forward`](super::fast_forward)).
    pub sleep: Sleep,
    /// Reused buffer of agent outputs.
    out: Vec<AgentOutput>,
    /// `Some` when the agents are processes (the black-box tier; see
    /// [`external`](super::external)).
    pub(super) external: Option<ExternalAgents>,
}

impl Fleet {
    /// The fleet with `agents`, each first polling at its `first_poll`.
    pub fn new(
        agents: Vec<Agent>,
        first_poll: Vec<SimTime>,
        brake: FleetBrake,
        blast_radius: BlastRadius,
        tallies: Tallies,
        network: KeyedFamily,
        rtt_ms: Lognormal,
    ) -> Fleet {
        let n = agents.len();
        Fleet {
            agents,
            pending_answer: vec![None; n],
            listing_lag: SimDuration::ZERO,
            listing_cache: Vec::new(),
            brake,
            blast_radius,
            tallies,
            network,
            rtt_ms,
            first_poll,
            sleep: Sleep::new(n),
            out: Vec::with_capacity(16),
            external: None,
        }
    }

    pub(super) fn on_agent_poll(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
    ) {
        let now = sh.now();
        sh.books.touched(c);
        if self.sleep.fast_forward {
            // A sleeping agent's own polls are not queued: this is a stray
            // timer, which wakes it.
            self.wake(sh, c);
        } else {
            self.reference_poll(sh, c);
        }
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        self.agents[c as usize].handle_timer(now, AgentTimer::Poll, &sh.cfg.agent, &mut out);
        self.apply_agent_outputs(sh, response, c, &out);
        self.out = out;
    }

    fn fetch(&mut self, sh: &mut Shared, c: ClusterId) {
        let answer = sh.plant.desired_answer(c);
        let delay = match answer {
            DesiredAnswer::Timeout => SimDuration::from_secs_f64(sh.cfg.network.client_timeout_s),
            _ => self.rtt(sh.cfg, c, sh.now()),
        };
        self.pending_answer[c as usize] = Some(answer);
        sh.sim.schedule_in(
            delay,
            Ev::AgentAnswer(c, sh.books.clusters[c as usize].process),
        );
    }

    pub(super) fn on_agent_answer(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
    ) {
        let now = sh.now();
        sh.books.touched(c);
        let asleep = self.sleep.asleep[c as usize] != AWAKE;
        if asleep && self.sleep.fast_forward {
            // A stray answer of a sleeping agent: wake it first.
            self.wake(sh, c);
        }
        // The reference mode steps the answers the fast-forward skips.
        let skipped = asleep && !self.sleep.fast_forward;
        let Some(answer) = self.pending_answer[c as usize].take() else {
            return;
        };
        self.book_answer_received(sh, c, now, &answer, skipped);
        let actual = self.listing(sh, c, now);
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let before = skipped.then(|| self.agents[c as usize]);
        let agent = &mut self.agents[c as usize];
        let running = agent.status().alive;
        let generation_before = agent.generation();
        agent.handle_answer(now, answer, &actual, &sh.cfg.agent, &mut out);
        self.book_answer_applied(sh, c, now, &answer, running, generation_before);
        if let Some(before) = before {
            self.check_quiet_answer(c, before, &actual, &out);
        } else if let Some((k, due)) = self.may_sleep(sh, c, now, &answer, &actual, &out) {
            self.fall_asleep(sh, c, k, due);
            if self.sleep.fast_forward {
                // Its next poll is the grid's: not queued while it sleeps.
                out.clear();
            }
        }
        self.apply_agent_outputs(sh, response, c, &out);
        self.out = out;
    }

    /// The books of an answer as it reaches cluster `c`'s agent: the
    /// trace (unless `skipped` by the reference mode), the edge's access
    /// log, and what I1 reads (the last answer and its tombstones).
    pub(super) fn book_answer_received(
        &mut self,
        sh: &mut Shared,
        c: ClusterId,
        now: SimTime,
        answer: &DesiredAnswer,
        skipped: bool,
    ) {
        // Skipped answers are not trace records (the fast-forward never
        // makes them; the reference mode must agree).
        if !skipped {
            sh.sim
                .trace
                .record(now, &Record::Answer { cluster: c, answer });
        }
        sh.books.metrics.count_answer(answer);
        let book = &mut sh.books.clusters[c as usize];
        if *answer == DesiredAnswer::NotFound {
            // The edge's access log: who was answered 404, and when.
            book.last_404_at = Stamp::at(now);
            book.first_404_at.get_or_insert(now);
        }
        if !matches!(answer, DesiredAnswer::Ok(_)) {
            book.last_disturbed_at = Stamp::at(now);
            if sh.books.faults_active >= 2 {
                sh.books
                    .coverage
                    .hit(Reached::AgentDisturbedByOverlappingFaults);
            }
        }
        let book = &mut sh.books.clusters[c as usize];
        match answer {
            DesiredAnswer::Ok(ds) => {
                book.last_answer_ok = true;
                book.first_404_at = Stamp::NONE;
                // The route served it: a restore made before stands on its own.
                book.restored_into_404 = None;
                book.last_tombstones = ds.tombstones;
            }
            _ => {
                book.last_answer_ok = false;
                book.last_tombstones = PoolSet::EMPTY;
            }
        }
    }

    /// The books of an answer once cluster `c`'s agent has handled it:
    /// `running` (the agent was alive), and the generation it had applied
    /// before. I8's backoff, I12's confirmation and the generation checks.
    pub(super) fn book_answer_applied(
        &mut self,
        sh: &mut Shared,
        c: ClusterId,
        now: SimTime,
        answer: &DesiredAnswer,
        running: bool,
        generation_before: u64,
    ) {
        let agent = &self.agents[c as usize];
        let g = agent.generation();
        let guards = agent.guards();
        let book = &mut sh.books.clusters[c as usize];
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
                        *since = Stamp::NONE;
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
                sh.books.findings.add(v.at(now, Some(c)));
            }
            book.generation_applied = book.generation_applied.max(g);
        }
    }

    /// The cloud listing of `c`'s pools as its agent sees it at `now`: the
    /// truth, or while the listing lags, the one last served if it is
    /// younger than the lag.
    pub(super) fn listing(
        &mut self,
        sh: &mut Shared,
        c: ClusterId,
        now: SimTime,
    ) -> [PoolState; POOLS] {
        let truth = *sh.plant.cloud.pools(c);
        let Some(entry) = self.listing_cache.get_mut(c as usize) else {
            return truth;
        };
        if now.saturating_since(entry.0) >= self.listing_lag {
            *entry = (now, truth);
            return truth;
        }
        if entry.1 != truth {
            sh.books.coverage.hit(Reached::ListingLaggedTruth);
        }
        entry.1
    }

    fn apply_agent_outputs(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
        out: &[AgentOutput],
    ) {
        let now = sh.now();
        for o in out {
            match *o {
                AgentOutput::FetchDesired => {
                    self.book_fetch(sh, c, now);
                    self.fetch(sh, c);
                }
                AgentOutput::SetTimer { at, timer } => match timer {
                    AgentTimer::Poll => sh.sim.schedule_at(
                        at.max(now),
                        Ev::AgentPoll(c, sh.books.clusters[c as usize].process),
                    ),
                },
                AgentOutput::CreatePool { pool, nodes } => {
                    self.cloud_call(sh, response, c, pool, CloudCall::Create { nodes });
                }
                AgentOutput::DeletePool { pool } => {
                    self.check_destructive(sh, now, c, pool);
                    self.check_soft_delete(sh, now, c, pool);
                    if self.agents[c as usize].guards().g5_blast_radius
                        && !self.brake.handle_delete_request(now)
                    {
                        self.blocked(sh, c, pool, Guard::G5);
                        continue;
                    }
                    self.cloud_call(sh, response, c, pool, CloudCall::Delete);
                }
                AgentOutput::ScaleToZero { pool } => {
                    // A soft delete is still destructive: same authority needed.
                    self.check_destructive(sh, now, c, pool);
                    self.cloud_call(sh, response, c, pool, CloudCall::ScaleToZero);
                }
                AgentOutput::Blocked { pool, guard } => self.blocked(sh, c, pool, guard),
                AgentOutput::EnteredHold => {
                    sh.books.metrics.holds_entered += 1;
                    self.tallies.agents_held += 1;
                }
                AgentOutput::LeftHold => self.tallies.agents_held -= 1,
                AgentOutput::Exited { ran_for } => self.on_agent_exited(sh, c, ran_for),
            }
        }
    }

    fn blocked(&mut self, sh: &mut Shared, cluster: ClusterId, pool: PoolName, guard: Guard) {
        sh.books.metrics.blocked(guard);
        if guard == Guard::G5 {
            sh.books.coverage.hit(Reached::FleetBrakeEngaged);
        }
        sh.sim.trace.record(
            sh.now(),
            &Record::Blocked {
                cluster,
                pool,
                guard,
            },
        );
    }

    /// I1 and, for a G4 agent, I12 on a destructive step of cluster `c`'s agent.
    pub(super) fn check_destructive(
        &mut self,
        sh: &mut Shared,
        now: SimTime,
        c: ClusterId,
        pool: PoolName,
    ) {
        let book = &mut sh.books.clusters[c as usize];
        let undone = checks::restore_undone(pool, book.restored_into_404.take(), now);
        if let Some(v) =
            checks::destructive_needs_authority(pool, book.last_answer_ok, book.last_tombstones)
        {
            sh.books.findings.add(v.at(now, Some(c)));
        }
        if let Some(v) = undone {
            sh.books.findings.add(v.at(now, Some(c)));
        }
        let book = &sh.books.clusters[c as usize];
        if self.agents[c as usize].guards().g4_confirmation {
            let window = SimDuration::from_secs_f64(sh.cfg.agent.confirm_window_s);
            let since = book.unwanted_since[pool.index()].get();
            if let Some(v) = checks::confirmed_over_time(pool, since, now, window) {
                sh.books.findings.add(v.at(now, Some(c)));
            }
        }
    }

    /// I11 on a delete of cluster `c`'s `pool`, for a G8 version.
    pub(super) fn check_soft_delete(
        &mut self,
        sh: &mut Shared,
        now: SimTime,
        c: ClusterId,
        pool: PoolName,
    ) {
        if let PoolState::Present { nodes } = sh.plant.cloud.pools(c)[pool.index()] {
            let g8 = self.agents[c as usize].guards().g8_soft_delete;
            if let Some(v) = checks::soft_delete_first(pool, nodes, g8) {
                sh.books.findings.add(v.at(now, Some(c)));
            }
        }
    }

    /// The books of a fetch: the request rate and I8's spacing.
    pub(super) fn book_fetch(&mut self, sh: &mut Shared, c: ClusterId, now: SimTime) {
        let spacing = SimDuration::from_secs_f64(60.0 / sh.cfg.agent.requests_per_min_max);
        if let Some(v) = sh.books.clusters[c as usize]
            .request_rate
            .observe(now, spacing)
        {
            sh.books.findings.add(v.at(now, Some(c)));
        }
        let base = SimDuration::from_secs_f64(sh.cfg.agent.backoff_base_s);
        let max = SimDuration::from_secs_f64(sh.cfg.agent.backoff_max_s);
        if let Some(v) = sh.books.clusters[c as usize]
            .backoff
            .observe_request(now, base, max)
        {
            sh.books.findings.add(v.at(now, Some(c)));
        }
    }

    pub(super) fn cloud_call(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
        pool: PoolName,
        call: CloudCall,
    ) -> CloudReply {
        let now = sh.now();
        // The cluster's pools change: its agent must see it.
        self.wake(sh, c);
        let reply = sh.plant.cloud.call(now, c, pool, call);
        self.tallies.tally_pools(sh.plant, c);
        sh.sim.trace.record(
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
                sh.sim.schedule_at(
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
                            sh.books.findings.add(v.at(now, Some(c)));
                        }
                    }
                    self.on_pool_deleting(sh, response, c, pool);
                }
            }
            CloudReply::Locked => self.blocked(sh, c, pool, Guard::G6),
            CloudReply::RateLimited { .. } | CloudReply::Conflict => {}
        }
        reply
    }

    /// A desired pool starts going away: the loss begins now.
    fn on_pool_deleting(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
        pool: PoolName,
    ) {
        let now = sh.now();
        let ds = sh.plant.service.state(c);
        let desired = ds.pools.contains(pool) && !ds.tombstones.contains(pool);
        if desired {
            let book = &mut sh.books.clusters[c as usize];
            if book.lost_since.is_none() {
                book.lost_since = Stamp::at(now);
                book.last_disturbed_at = Stamp::at(now);
                sh.books.metrics.cluster_lost_pools(now, c, &sh.plant.fleet);
                response.on_loss_started(sh, self, c);
            }
        }
        if pool == PoolName::System && self.agents[c as usize].is_alive() {
            // The agent runs on the system pool: draining it kills the agent.
            self.kill_agent(sh, c);
            response.on_agent_died(sh, self, c);
        }
    }

    /// Cluster `c`'s agent process exited by itself after running
    /// `ran_for` (its release's defect): it is down, and the kubelet
    /// starts it again in place after a back-off that doubles with each
    /// exit soon after a start (CrashLoopBackOff, `process_restart_s` up
    /// to 5 min).
    fn on_agent_exited(&mut self, sh: &mut Shared, c: ClusterId, ran_for: SimDuration) {
        let reached = match self.agents[c as usize].defect() {
            ReleaseDefect::SlowLeak => Some(Reached::LeakingAgentKilled),
            ReleaseDefect::BreaksBehindMisroute => Some(Reached::ReleaseBrokeBehindMisroute),
            ReleaseDefect::None | ReleaseDefect::CrashLoop => None,
        };
        if let Some(r) = reached {
            sh.books.coverage.hit(r);
        }
        let book = &mut sh.books.clusters[c as usize];
        book.quick_exits = if ran_for < SimDuration::from_mins(10) {
            book.quick_exits.saturating_add(1)
        } else {
            0
        };
        let doublings = u32::from(book.quick_exits.saturating_sub(1)).min(5);
        let delay_s = (sh.cfg.network.process_restart_s * f64::from(1u32 << doublings)).min(300.0);
        self.kill_agent(sh, c);
        sh.sim
            .schedule_in(SimDuration::from_secs_f64(delay_s), Ev::AgentRestart(c));
    }

    /// Cluster `c`'s crash-looping agent was rolled back to a sound
    /// version: it counts as down until its pod starts as that version.
    pub(super) fn restart_rolled_back(&mut self, sh: &mut Shared, c: ClusterId) {
        self.tallies.agents_down += 1;
        if self.agents[c as usize].in_hold() {
            // Upgraded while in hold; the new process starts out of it.
            self.tallies.agents_held -= 1;
        }
        sh.books.clusters[c as usize].quick_exits = 0;
        let start = SimDuration::from_secs_f64(sh.cfg.network.agent_start_s);
        sh.sim.schedule_in(start, Ev::AgentRestart(c));
    }

    /// Cluster `c`'s live agent goes down (its host drained, its pod
    /// crashed or its node preempted).
    pub(super) fn kill_agent(&mut self, sh: &mut Shared, c: ClusterId) {
        let now = sh.now();
        // A sleeping agent's skipped polls are settled before it dies.
        self.wake(sh, c);
        sh.books.touched(c);
        if self.agents[c as usize].in_hold() {
            self.tallies.agents_held -= 1;
            sh.books.coverage.hit(Reached::AgentDiedInHold);
        }
        self.tallies.agents_down += 1;
        self.agents[c as usize].handle_host_lost();
        self.pending_answer[c as usize] = None;
        sh.sim.trace.record(now, &Record::AgentDied { cluster: c });
        sh.books.metrics.agents_died += 1;
        sh.books.disturbed(now, c);
        self.command(AgentCommand::Stop {
            cluster: c,
            cause: StopCause::HostLost,
        });
    }

    pub(super) fn on_cloud_done(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        workload: &mut impl PoolSettled,
        c: ClusterId,
        pool_index: u8,
        op: u32,
    ) {
        let now = sh.now();
        let pool = PoolName::from_index(pool_index as usize);
        // The cluster's pools may change: its agent must see it (woken
        // before the change; a stale completion wakes it for nothing).
        self.wake(sh, c);
        let completion = sh.plant.cloud.complete(c, pool, op);
        if completion == Completion::Stale {
            return;
        }
        self.tallies.tally_pools(sh.plant, c);
        sh.sim.trace.record(
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
            let start = SimDuration::from_secs_f64(sh.cfg.network.agent_start_s);
            sh.sim.schedule_in(start, Ev::AgentRestart(c));
        }
        if completion == Completion::Created {
            self.check_restored(sh, response, c);
        }
        if completion == Completion::CreateFailed {
            response.on_restore_create_failed(sh, self, c);
        }
        workload.on_pool_settled(sh, &self.agents, now, c, pool, completion);
        if completion == Completion::Deleted {
            if let Some(v) = checks::protected_pool_kept(pool, sh.plant.cloud.delete_locks()) {
                sh.books.findings.add(v.at(now, Some(c)));
            }
        }
    }

    pub(super) fn on_agent_restart(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
    ) {
        let now = sh.now();
        sh.books.touched(c);
        if self.agents[c as usize].is_alive()
            || !matches!(
                sh.plant.cloud.pools(c)[PoolName::System.index()],
                PoolState::Present { .. }
            )
        {
            return;
        }
        let guards = sh.books.clusters[c as usize]
            .guards_installed
            .unwrap_or(self.agents[c as usize].guards());
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let recorded = sh.books.clusters[c as usize].generation_recorded;
        // A fresh process confirms from scratch (I12).
        sh.books.clusters[c as usize].unwanted_since = [Stamp::NONE; POOLS];
        sh.books.clusters[c as usize].backoff.restart();
        // A new process: its predecessor's timers and answers are void.
        sh.books.clusters[c as usize].process += 1;
        self.pending_answer[c as usize] = None;
        self.agents[c as usize].handle_restart(now, guards, recorded, &sh.cfg.agent, &mut out);
        sh.books.coverage.hit(Reached::AgentRestarted);
        if sh.plant.service.faults.generation_regression > 0 {
            sh.books
                .coverage
                .hit(Reached::RestartDuringGenerationRegression);
        }
        self.tallies.agents_down -= 1;
        sh.sim
            .trace
            .record(now, &Record::AgentRestarted { cluster: c });
        sh.books.disturbed(now, c);
        if self.is_external() {
            // The process decides for itself: the record's outputs are void.
            let after_fix = sh.books.clusters[c as usize].guards_installed.is_some();
            self.command(AgentCommand::Start {
                cluster: c,
                after_fix,
            });
        } else {
            self.apply_agent_outputs(sh, response, c, &out);
        }
        self.out = out;
    }

    /// After a create completed: is the cluster whole again?
    fn check_restored(&mut self, sh: &mut Shared, response: &mut impl FleetNews, c: ClusterId) {
        let Some(since) = sh.books.clusters[c as usize].lost_since.get() else {
            return;
        };
        if sh.plant.wanted_pools_present(c) {
            let now = sh.now();
            let method = sh.books.clusters[c as usize]
                .restoring
                .unwrap_or(RestoreMethod::Agent);
            sh.books.clusters[c as usize].lost_since = Stamp::NONE;
            sh.books.clusters[c as usize].restoring = None;
            sh.books.disturbed(now, c);
            sh.books.metrics.cluster_restored(now, c, since, method);
            sh.sim
                .trace
                .record(now, &Record::ClusterRestored { cluster: c });
            response.on_cluster_restored(sh, self, c, method);
        }
    }
}
