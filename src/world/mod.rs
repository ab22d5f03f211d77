//! The world: every component wired to the kernel's event loop.
//!
//! [`World`] owns the fleet, the agents (one [`Agent`] state machine each), the
//! cloud API, the control plane (desired-state service and edge), the auth
//! path, change management, rollout, operators, recovery script, monitoring,
//! checks and metrics. It implements [`Model`], so `Sim::run` drives it one
//! event at a time; the hot events (agent polls, answers, cloud completions)
//! carry only small ids, and per-agent output buffers are reused, so the
//! steady state allocates nothing.
//!
//! Event flow of one agent poll: `AgentPoll` → the agent asks to fetch → the
//! edge either misroutes (default backend: 404) or the service answers → the
//! answer is parked in `pending_answer[cluster]` and `AgentAnswer` fires after
//! the round trip → the agent reconciles → cloud calls → `CloudDone` events.

use crate::checks::{Finding, Findings, Rule};
use crate::config::ModelConfig;
use crate::metrics::Metrics;
use crate::model::agent::{Agent, AgentOutput, AgentTimer, Guard, Guards};
use crate::model::change::{ChangeManager, ChangePayload};
use crate::model::operators::{Operators, OpsTimer};
use crate::model::recovery::{Recovery, RecoveryTimer};
use crate::model::rollout::{Rollout, RolloutTimer};
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::plant::{agent_phase, streams, InitialPools, Plant};
use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredAnswer, PoolState};
use crate::timeline::Timeline;
use cascade_sim::{Epoch, FaultEdge, Model, Seed, Sim, SimDuration, SimTime, Stream};

mod auth_side;
pub use auth_side::{AuthBook, AuthIncident, AuthMinute};
mod outcome;
mod record;
mod response;
pub use record::Record;
pub use response::PoolIncident;

/// Every event of the world. Small and `Copy`: the queue moves them around.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ev {
    AgentPoll(ClusterId),
    AgentAnswer(ClusterId),
    AgentRestart(ClusterId),
    CloudDone {
        cluster: ClusterId,
        pool: u8,
        op: u32,
    },
    /// A repair's cloud call that was rate-limited, tried again.
    RepairCall(ClusterId),
    /// A timeline item begins or ends (the edge's index is the item's).
    Timeline(FaultEdge),
    /// The once-a-minute bookkeeping: SLIs, alerts, metrics.
    Minute,
    /// An incident-response step of pool-loss incident `incident` is due.
    Response {
        incident: u32,
        step: ResponseStep,
    },
    /// A customer whose cluster lost pools reports it to support.
    CustomerReport(ClusterId),
    /// The pool-loss alert evaluates the loss that began at its scheduling.
    PoolLossAlertCheck(ClusterId),
    /// One auth aggregation tick.
    AuthTick,
    OpsTimer(OpsTimer),
    RolloutTimer(RolloutTimer),
    RecoveryTimer(RecoveryTimer),
}

/// Steps of the scripted incident response (see `ResponseConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStep {
    /// Decide between manual repair and an emergency hotfix.
    Decide,
    /// Diagnosis done: revert the route that answers 404.
    Diagnosed,
    /// Resume a rollout halted by an alarm.
    ResumeRollout,
}

/// How a cluster got its pools back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RestoreMethod {
    Manual,
    Script,
    /// The agent itself (alive, only non-system pools lost).
    Agent,
}

/// Per-cluster bookkeeping the world keeps beside the agent.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterBook {
    /// When the cluster first lost a desired pool in the current loss episode.
    pub lost_since: Option<SimTime>,
    /// The agent version to run at the next (re)start.
    pub guards_installed: Option<Guards>,
    /// The last answer this agent acted on was authoritative (for I1).
    pub last_answer_ok: bool,
    /// Tombstones in the last answer (for I1).
    pub last_tombstones: u8,
    /// Restoration queued or in progress, and by what.
    pub restoring: Option<RestoreMethod>,
    /// Highest generation applied (for I4).
    pub generation_applied: u64,
    /// Previous desired-state request (for I8).
    pub last_fetch: Option<SimTime>,
    /// Requests in a row that came faster than the rate limit allows (I8).
    pub fast_fetches: u32,
}

/// The whole simulated world.
pub struct World {
    pub cfg: ModelConfig,
    pub epoch: Epoch,
    /// Fleet, cloud, desired-state service and edge.
    pub plant: Plant,
    pub agents: Vec<Agent>,
    agent_rng: Vec<Stream>,
    /// Each agent's first poll, scheduled by `start`.
    first_poll: Vec<SimTime>,
    pub books: Vec<ClusterBook>,
    pending_answer: Vec<Option<DesiredAnswer>>,
    net_rng: Stream,
    out: Vec<AgentOutput>,
    pub timeline: Timeline,
    pub findings: Findings,
    pub metrics: Metrics,
    pub changes: ChangeManager<ChangePayload>,
    pub rollout: Rollout,
    pub operators: Operators,
    pub recovery: Recovery,
    ops_rng: Stream,
    customer_rng: Stream,
    rollout_rng: Stream,
    recovery_rng: Stream,
    /// Pool-loss incidents, oldest first; the last may be open.
    pub incidents: Vec<PoolIncident>,
    /// The agent fix is built (E8) and may ship.
    pub fix_available: bool,
    /// Timed key events for the narrative (bounded).
    pub key_events: Vec<(SimTime, String)>,
    pub monitoring_pool_loss_alert: bool,
    pub restore_with: crate::timeline::RestoreBy,
    /// Since when enough agents have been in safe hold (agent-hold alert).
    hold_since: Option<SimTime>,
    /// Fleet-wide brake (G5): start times of recent deletes across the fleet.
    fleet_deletes: std::collections::VecDeque<SimTime>,
    /// Accepted deletes by G5 agents in the last hour (I2's own count).
    g5_deletes: std::collections::VecDeque<SimTime>,
    next_change_id: u32,
    /// Change names by id - 1 (change ids are dense from 1).
    change_names: Vec<String>,
    /// Reused buffer of operator outputs.
    ops_out: Vec<crate::model::operators::OpsOutput>,
    pub auth: crate::model::auth::AuthSystem,
    auth_rng: Stream,
    pub auth_book: AuthBook,
    /// Customers per cloud (AWS, GCP, Azure), for per-customer means.
    pub customers_per_cloud: [u32; 3],
}

impl World {
    /// Builds the world at t = 0 with every desired pool present.
    pub fn new(cfg: ModelConfig, timeline: Timeline, epoch: Epoch, seed: Seed) -> World {
        let mut plant = Plant::build(&cfg.fleet, &cfg.cloud, seed);
        plant
            .cloud
            .set_delete_locks(cfg.agent_guards.g6_delete_locks);
        plant.provision_all(InitialPools::Desired);
        let n = plant.fleet.len();
        let mut agents = Vec::with_capacity(n);
        let mut agent_rng = Vec::with_capacity(n);
        let mut first_poll = Vec::with_capacity(n);
        for c in 0..n as ClusterId {
            let (phase, rng) = agent_phase(seed, c, &cfg.agent, SimTime::ZERO);
            agents.push(Agent::new(cfg.agent_guards, phase.first_full_resync_at));
            agent_rng.push(rng);
            first_poll.push(phase.first_poll_at);
        }
        let metrics = Metrics::new(&plant.fleet, epoch);
        // Configs were validated when the scenario loaded; a failure here is a bug.
        let changes = ChangeManager::new(cfg.change.clone()).expect("validated change config");
        let rollout = Rollout::new(cfg.rollout.clone()).expect("validated rollout config");
        let operators = Operators::new(cfg.operators.clone()).expect("validated operators config");
        let recovery = Recovery::new(cfg.recovery.clone()).expect("validated recovery config");
        let mut customers_per_cloud = [0u32; 3];
        for c in &plant.fleet.customer_clouds {
            customers_per_cloud[match c {
                crate::types::Cloud::Aws => 0,
                crate::types::Cloud::Gcp => 1,
                crate::types::Cloud::Azure => 2,
            }] += 1;
        }
        let auth = crate::model::auth::AuthSystem::new(&cfg.auth);
        World {
            auth,
            auth_rng: seed.fork(streams::AUTH, 0),
            auth_book: AuthBook::default(),
            customers_per_cloud,
            changes,
            rollout,
            operators,
            recovery,
            ops_rng: seed.fork(streams::OPERATORS, 0),
            customer_rng: seed.fork(streams::CUSTOMERS, 0),
            rollout_rng: seed.fork(streams::ROLLOUT, 0),
            recovery_rng: seed.fork(streams::RECOVERY, 0),
            incidents: Vec::new(),
            fix_available: false,
            key_events: Vec::new(),
            monitoring_pool_loss_alert: cfg.monitoring.pool_loss_alert,
            restore_with: cfg.response.restore_with,
            hold_since: None,
            fleet_deletes: std::collections::VecDeque::new(),
            g5_deletes: std::collections::VecDeque::new(),
            next_change_id: 1,
            change_names: Vec::new(),
            ops_out: Vec::new(),
            epoch,
            agents,
            agent_rng,
            first_poll,
            books: vec![ClusterBook::default(); n],
            pending_answer: vec![None; n],
            net_rng: seed.fork(streams::NETWORK, 0),
            out: Vec::with_capacity(16),
            timeline,
            findings: Findings::new(1_000),
            metrics,
            plant,
            cfg,
        }
    }

    /// Schedules the first events: agent phases, the timeline, the minute tick.
    pub fn start(&mut self, sim: &mut Sim<Ev>) {
        for (c, at) in std::mem::take(&mut self.first_poll).into_iter().enumerate() {
            sim.schedule_at(at, Ev::AgentPoll(c as ClusterId));
        }
        self.timeline.faults().arm(sim, Ev::Timeline);
        sim.schedule_at(SimTime::from_secs(60), Ev::Minute);
        sim.schedule_at(SimTime::ZERO, Ev::AuthTick);
    }

    fn rtt(&mut self) -> SimDuration {
        let ms = self.net_rng.lognormal(
            self.cfg.network.agent_rtt_median_ms,
            self.cfg.network.agent_rtt_p99_ms,
        );
        SimDuration::from_secs_f64(ms / 1e3)
    }

    fn on_agent_poll(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        self.agents[c as usize].handle_timer(
            now,
            AgentTimer::Poll,
            &self.cfg.agent,
            &mut self.agent_rng[c as usize],
            &mut out,
        );
        self.apply_agent_outputs(sim, c, &out);
        self.out = out;
    }

    fn fetch(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let answer = self.plant.desired_answer(c);
        let delay = match answer {
            DesiredAnswer::Timeout => SimDuration::from_secs_f64(self.cfg.network.client_timeout_s),
            _ => self.rtt(),
        };
        self.pending_answer[c as usize] = Some(answer);
        sim.schedule_in(delay, Ev::AgentAnswer(c));
    }

    fn on_agent_answer(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        let Some(answer) = self.pending_answer[c as usize].take() else {
            return;
        };
        sim.trace.record(
            now,
            &Record::Answer {
                cluster: c,
                answer: &answer,
            },
        );
        self.metrics.count_answer(&answer);
        let book = &mut self.books[c as usize];
        match answer {
            DesiredAnswer::Ok(ds) => {
                book.last_answer_ok = true;
                book.last_tombstones = ds.tombstones.0;
            }
            _ => {
                book.last_answer_ok = false;
                book.last_tombstones = 0;
            }
        }
        let actual = *self.plant.cloud.pools(c);
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let agent = &mut self.agents[c as usize];
        agent.handle_answer(
            now,
            answer,
            &actual,
            &self.cfg.agent,
            &mut self.agent_rng[c as usize],
            &mut out,
        );
        // I4: applied generations never decrease.
        let g = agent.generation();
        let book = &mut self.books[c as usize];
        if g < book.generation_applied {
            self.findings.add(Finding {
                at: now,
                cluster: Some(c),
                rule: Rule::I4GenerationMonotonic,
                guard: Some(Guard::G3),
                detail: format!("generation {g} after {}", book.generation_applied),
            });
        }
        book.generation_applied = g;
        self.apply_agent_outputs(sim, c, &out);
        self.out = out;
    }

    fn apply_agent_outputs(&mut self, sim: &mut Sim<Ev>, c: ClusterId, out: &[AgentOutput]) {
        let now = sim.now();
        for o in out {
            match *o {
                AgentOutput::FetchDesired => {
                    self.check_request_rate(now, c);
                    self.fetch(sim, c);
                }
                AgentOutput::SetTimer { at, timer } => match timer {
                    AgentTimer::Poll => sim.schedule_at(at.max(now), Ev::AgentPoll(c)),
                },
                AgentOutput::CreatePool { pool, nodes } => {
                    self.cloud_call(sim, c, pool, CloudCall::Create { nodes });
                }
                AgentOutput::DeletePool { pool } => {
                    self.check_destructive(now, c, pool);
                    if self.agents[c as usize].guards().g5_blast_radius
                        && !self.fleet_brake_allows(now)
                    {
                        self.metrics.blocked(Guard::G5);
                        sim.trace.record(
                            now,
                            &Record::Blocked {
                                cluster: c,
                                pool,
                                guard: Guard::G5,
                            },
                        );
                        continue;
                    }
                    self.cloud_call(sim, c, pool, CloudCall::Delete);
                }
                AgentOutput::ScaleToZero { pool } => {
                    // A soft delete is still destructive: same authority needed.
                    self.check_destructive(now, c, pool);
                    self.cloud_call(sim, c, pool, CloudCall::ScaleToZero);
                }
                AgentOutput::Blocked { pool, guard } => {
                    self.metrics.blocked(guard);
                    sim.trace.record(
                        now,
                        &Record::Blocked {
                            cluster: c,
                            pool,
                            guard,
                        },
                    );
                }
                AgentOutput::EnteredHold => self.metrics.holds_entered += 1,
                AgentOutput::LeftHold => {}
            }
        }
    }

    /// I1: a delete needs an authoritative answer carrying a delete intent.
    fn check_destructive(&mut self, now: SimTime, c: ClusterId, pool: PoolName) {
        let book = self.books[c as usize];
        let intent = book.last_tombstones & (1 << pool.index()) != 0;
        if !(book.last_answer_ok && intent) {
            let guard = if book.last_answer_ok {
                Guard::G2
            } else {
                Guard::G1
            };
            self.findings.add(Finding {
                at: now,
                cluster: Some(c),
                rule: Rule::I1DestructiveNeedsAuthority,
                guard: Some(guard),
                detail: format!(
                    "delete of {pool} after {} without a delete intent",
                    if book.last_answer_ok {
                        "a 200"
                    } else {
                        "a non-authoritative answer"
                    }
                ),
            });
        }
    }

    pub(crate) fn cloud_call(
        &mut self,
        sim: &mut Sim<Ev>,
        c: ClusterId,
        pool: PoolName,
        call: CloudCall,
    ) -> CloudReply {
        let now = sim.now();
        let reply = self.plant.cloud.call(now, c, pool, call);
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
                    self.check_blast_radius(now, c);
                    self.on_pool_deleting(sim, c, pool);
                }
            }
            CloudReply::Locked => {
                self.metrics.blocked(Guard::G6);
                sim.trace.record(
                    now,
                    &Record::Blocked {
                        cluster: c,
                        pool,
                        guard: Guard::G6,
                    },
                );
            }
            CloudReply::RateLimited { .. } | CloudReply::Conflict => {}
        }
        reply
    }

    /// A desired pool starts going away: the loss begins now.
    fn on_pool_deleting(&mut self, sim: &mut Sim<Ev>, c: ClusterId, pool: PoolName) {
        let now = sim.now();
        let desired = self.plant.fleet.clusters[c as usize]
            .desired_pools
            .contains(pool)
            && !self.plant.service.state(c).tombstones.contains(pool);
        if desired {
            let book = &mut self.books[c as usize];
            if book.lost_since.is_none() {
                book.lost_since = Some(now);
                self.metrics.cluster_lost_pools(now, c, &self.plant.fleet);
                self.on_loss_started(sim, c);
            }
        }
        if pool == PoolName::System && self.agents[c as usize].is_alive() {
            // The agent runs on the system pool: draining it kills the agent.
            self.agents[c as usize].handle_host_lost();
            self.pending_answer[c as usize] = None;
            sim.trace.record(now, &Record::AgentDied { cluster: c });
            self.metrics.agents_died += 1;
            self.on_agent_died(sim, c);
        }
    }

    fn on_cloud_done(&mut self, sim: &mut Sim<Ev>, c: ClusterId, pool_index: u8, op: u32) {
        let now = sim.now();
        let pool = PoolName::from_index(pool_index as usize);
        let completion = self.plant.cloud.complete(c, pool, op);
        if completion == Completion::Stale {
            return;
        }
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
        if completion == Completion::Deleted {
            self.check_protected(now, c, pool);
        }
    }

    fn on_agent_restart(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
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
        self.agents[c as usize].handle_restart(now, guards, &mut out);
        // A restarted agent starts from generation 0 by design (no memory).
        self.books[c as usize].generation_applied = 0;
        sim.trace
            .record(now, &Record::AgentRestarted { cluster: c });
        self.apply_agent_outputs(sim, c, &out);
        self.out = out;
    }

    /// I8: an agent's requests stay within its rate limit (its retry budget).
    fn check_request_rate(&mut self, now: SimTime, c: ClusterId) {
        let spacing = SimDuration::from_secs_f64(60.0 / self.cfg.agent.requests_per_min_max);
        let book = &mut self.books[c as usize];
        if let Some(last) = book.last_fetch {
            // One request early is jitter; a run of them is a retry storm.
            if now.saturating_since(last) < spacing.mul_f64(0.5) {
                book.fast_fetches += 1;
                if book.fast_fetches == 10 {
                    self.findings.add(Finding {
                        at: now,
                        cluster: Some(c),
                        rule: Rule::I8RetryBudget,
                        guard: Some(Guard::G7),
                        detail: format!(
                            "10 requests less than {:.0} s apart: retries beyond the rate limit",
                            spacing.as_secs_f64() / 2.0
                        ),
                    });
                }
            } else {
                book.fast_fetches = 0;
            }
        }
        self.books[c as usize].last_fetch = Some(now);
    }

    /// I9: every queue stays within its bound (checked once a minute).
    fn check_bounds(&mut self, sim: &Sim<Ev>) {
        let now = sim.now();
        let checks = [
            ("pending events", sim.pending(), sim.limits().pending_max),
            (
                "repair queue",
                self.operators.queue_len(),
                self.cfg.operators.queue_max,
            ),
            (
                "recovery queue",
                self.recovery.queue_len(),
                self.cfg.recovery.queue_max,
            ),
            (
                "auth queue",
                self.auth_book.queue_len_max_minute as usize,
                self.cfg.auth.component.queue_max_requests as usize,
            ),
        ];
        for (what, len, max) in checks {
            if len > max {
                self.findings.add(Finding {
                    at: now,
                    cluster: None,
                    rule: Rule::I9QueuesBounded,
                    guard: None,
                    detail: format!("{what} holds {len}, bound {max}"),
                });
            }
        }
    }

    /// I2: with G5, accepted deletes across the fleet stay within the brake.
    fn check_blast_radius(&mut self, now: SimTime, c: ClusterId) {
        if !self.agents[c as usize].guards().g5_blast_radius {
            return;
        }
        let hour = SimDuration::from_hours(1);
        self.g5_deletes.push_back(now);
        while self
            .g5_deletes
            .front()
            .is_some_and(|t| now.saturating_since(*t) >= hour)
        {
            self.g5_deletes.pop_front();
        }
        let cap = self.cfg.agent.fleet_deletes_per_hour_max as usize;
        if self.g5_deletes.len() > cap {
            self.findings.add(Finding {
                at: now,
                cluster: Some(c),
                rule: Rule::I2BlastRadius,
                guard: Some(Guard::G5),
                detail: format!(
                    "{} deletes in the last hour, cap {cap}",
                    self.g5_deletes.len()
                ),
            });
        }
    }

    /// Whether every pool `c` should have is present.
    pub fn converged(&self, c: ClusterId) -> bool {
        self.plant.pools_converged(c)
    }

    fn check_restored(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let Some(since) = self.books[c as usize].lost_since else {
            return;
        };
        if self.converged(c) {
            let now = sim.now();
            let method = self.books[c as usize]
                .restoring
                .unwrap_or(RestoreMethod::Agent);
            self.books[c as usize].lost_since = None;
            self.books[c as usize].restoring = None;
            self.metrics.cluster_restored(now, c, since, method);
            sim.trace
                .record(now, &Record::ClusterRestored { cluster: c });
            self.on_cluster_restored(sim, c, method);
        }
    }

    fn on_minute(&mut self, sim: &mut Sim<Ev>) {
        let now = sim.now();
        let lost = self.metrics.lost_now;
        let down = self.agents.iter().filter(|a| !a.is_alive()).count() as u32;
        self.metrics.minute(now, lost, down);
        self.auth_minute(sim);
        self.check_agent_hold_alert(sim);
        self.check_bounds(sim);
        sim.schedule_in(SimDuration::from_mins(1), Ev::Minute);
    }
}

impl Model<Ev> for World {
    fn handle(&mut self, sim: &mut Sim<Ev>, ev: Ev) {
        match ev {
            Ev::AgentPoll(c) => self.on_agent_poll(sim, c),
            Ev::AgentAnswer(c) => self.on_agent_answer(sim, c),
            Ev::AgentRestart(c) => self.on_agent_restart(sim, c),
            Ev::CloudDone { cluster, pool, op } => self.on_cloud_done(sim, cluster, pool, op),
            Ev::RepairCall(c) => self.restore_cluster(sim, c),
            Ev::Timeline(FaultEdge::Begin(i)) => self.on_action(sim, i, true),
            Ev::Timeline(FaultEdge::End(i)) => self.on_action(sim, i, false),
            Ev::Minute => self.on_minute(sim),
            Ev::Response { incident, step } => self.on_response(sim, incident, step),
            Ev::CustomerReport(c) => self.on_customer_report(sim, c),
            Ev::PoolLossAlertCheck(c) => self.on_pool_loss_alert_check(sim, c),
            Ev::AuthTick => self.on_auth_tick(sim),
            Ev::OpsTimer(t) => self.on_ops_timer(sim, t),
            Ev::RolloutTimer(t) => self.on_rollout_timer(sim, t),
            Ev::RecoveryTimer(t) => self.on_recovery_timer(sim, t),
        }
    }
}

/// Builds the world, runs it to `end`, and returns it with the outcome.
pub fn simulate(
    cfg: ModelConfig,
    timeline: Timeline,
    epoch: Epoch,
    seed: Seed,
    end: SimTime,
    events_max: u64,
) -> (World, cascade_sim::RunOutcome) {
    let mut sim = Sim::new(cascade_sim::RunLimits {
        events_max,
        time_end: end,
        pending_max: 10_000_000,
    });
    let mut world = World::new(cfg, timeline, epoch, seed);
    world.start(&mut sim);
    let outcome = sim.run(&mut world);
    (world, outcome)
}
