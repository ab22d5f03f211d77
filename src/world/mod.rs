//! The fleet tier's driver: the plant and every machine on the kernel's
//! event loop, and the routing between them.
//!
//! [`World`] holds the plant (fleet, cloud, desired-state service, edge), the
//! machines of `model` (one agent per cluster, change management, rollout,
//! operators, recovery script, monitoring, responder, the G5 brake, auth)
//! in its parts, their random streams, and the books (per-cluster
//! bookkeeping, findings, metrics, key events). It decides nothing itself: each handler feeds a
//! machine what happened and routes the machine's outputs to the plant, to
//! other machines or to the queue. It implements [`Model`], so `Sim::run`
//! drives it one event at a time; hot events (agent polls, answers, cloud
//! completions) carry only small ids, and output buffers are reused, so the
//! steady state allocates nothing.
//!
//! `World` is a composition: it holds the configuration, the timeline, the
//! plant, the shared books and four parts, each a struct owning its fields
//! with its own `impl`, and dispatches each event to the part it concerns.
//! A part's handler is handed `books::Shared` (configuration, plant,
//! shared books, scheduler) and the other parts it calls, so its reach is
//! in its signature.
//!
//! Map of the modules:
//! - this file: the event enum, the composition, construction, dispatch,
//!   the once-a-minute bookkeeping;
//! - `books`: the books the parts share (per-cluster books, findings,
//!   metrics, key events, coverage, convergence watches) and `Shared`;
//! - `fleet_side`: the fleet part, the hot path: agent polls and answers,
//!   agent outputs to cloud calls, cloud completions, agent deaths and
//!   restarts;
//! - `fast_forward`: the fleet part's sleep: quiet agents sleep out of
//!   the queue until something that could change their answer wakes them
//!   (exact; a reference mode steps every poll and checks it);
//! - `tallies`: the fleet part's fleet-wide counts kept as things happen
//!   (agents down or held, customers whose Airflow is down), checked by a
//!   scan at the end;
//! - `response`: the response part: the timeline's effects, change
//!   management, rollout, monitoring, responder, operators, recovery
//!   script and restorations;
//! - `auth_side`: the auth part: auth ticks, the per-minute auth books
//!   and surfaces;
//! - `workload_side`: the workload part: the customers' pool changes and
//!   their books;
//! - `outcome`: end-of-run accounting for the summary.
//!
//! Event flow of one agent poll: `AgentPoll` → the agent asks to fetch → the
//! plant answers (the edge's 404 or the service's answer) → the answer is
//! parked in `pending_answer[cluster]` and `AgentAnswer` fires after the
//! round trip → the agent reconciles → cloud calls → `CloudDone` events.

use crate::checks::BlastRadius;
use crate::config::ModelConfig;
use crate::coverage::Reached;
use crate::metrics::Metrics;
use crate::model::agent::Agent;
use crate::model::brake::FleetBrake;
use crate::model::change::ChangeManager;
use crate::model::monitoring::{Monitoring, MonitoringTimer};
use crate::model::operators::{Operators, OpsTimer};
use crate::model::recovery::{Recovery, RecoveryTimer};
use crate::model::responder::{PoolIncident, Responder, ResponderTimer};
use crate::model::rollout::{Rollout, RolloutTimer};
use crate::plant::cloud::{CloudCall, CloudReply};
use crate::plant::{agent_phase, streams, InitialPools, NotConverged, Plant};
use crate::protocol::{ClusterId, DesiredAnswer, PoolName, PoolState, POOLS};
use crate::timeline::Timeline;
use crate::types::Cloud;
use auth_side::AuthSide;
use books::{Books, Shared};
use cascade_sim::rng::Lognormal;
use cascade_sim::{Epoch, FaultEdge, Model, Seed, Sim, SimDuration, SimTime};
use fleet_side::Fleet;
use response::{Response, ResponseStreams};
use workload_side::Workload;

mod auth_side;
mod books;
mod external;
mod fast_forward;
mod fleet_side;
mod outcome;
mod processes;
mod response;
mod tallies;
mod workload_side;
pub use auth_side::{AuthBook, AuthMinute};
pub use books::ClusterBook;
pub use external::{AgentCommand, ProbeVia, StopCause};

/// Every event of the world. Small and `Copy`: the queue moves them around.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ev {
    /// An agent's poll timer, set by its process number `.1` (see
    /// [`ClusterBook::process`]).
    AgentPoll(ClusterId, u32),
    /// The answer to a desired-state request of process number `.1`.
    AgentAnswer(ClusterId, u32),
    AgentRestart(ClusterId),
    /// A sleeping agent's own business is due at this grid poll (the
    /// fast-forward's timer; see `fast_forward`).
    AgentDue(ClusterId, u32),
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
    /// One auth aggregation tick.
    AuthTick,
    Monitoring(MonitoringTimer),
    Responder(ResponderTimer),
    OpsTimer(OpsTimer),
    RolloutTimer(RolloutTimer),
    RecoveryTimer(RecoveryTimer),
    /// A customer changes a pool (the workload's next change).
    CustomerChange,
    /// The edge configuration pipeline deploys a change to the cells
    /// (index into the world's pending deploys).
    EdgeDeploy(u32),
}

pub use crate::types::RestoreMethod;

/// The world's minute: `Ev::Minute` comes at every multiple of it.
const MINUTE: SimDuration = SimDuration::from_mins(1);

/// The whole simulated world: its parts and what they share.
pub struct World {
    cfg: ModelConfig,
    epoch: Epoch,
    timeline: Timeline,
    /// Fleet, cloud, desired-state service and edge.
    plant: Plant,
    books: Books,
    fleet: Fleet,
    response: Response,
    auth: AuthSide,
    workload: Workload,
}

fn cloud_index(c: Cloud) -> usize {
    match c {
        Cloud::Aws => 0,
        Cloud::Gcp => 1,
        Cloud::Azure => 2,
    }
}

impl World {
    /// Builds the world at t = 0 with every desired pool present.
    pub fn new(cfg: ModelConfig, timeline: Timeline, epoch: Epoch, seed: Seed) -> World {
        let mut plant = Plant::build(&cfg.fleet, &cfg.cloud, cfg.network.edge_cells, seed);
        plant
            .cloud
            .set_delete_locks(cfg.agent_guards.g6_delete_locks);
        plant.provision_all(InitialPools::Desired);
        let n = plant.fleet.len();
        let mut agents = Vec::with_capacity(n);
        let mut first_poll = Vec::with_capacity(n);
        for c in 0..n as ClusterId {
            let phase = agent_phase(seed, c, &cfg.agent, SimTime::ZERO);
            agents.push(Agent::new(
                cfg.agent_guards,
                phase.first_full_resync_at,
                phase.grid,
            ));
            first_poll.push(phase.first_poll_at);
        }
        let customers = plant.fleet.customers as usize;
        let mut customers_per_cloud = [0u32; 3];
        for c in &plant.fleet.customer_clouds {
            customers_per_cloud[cloud_index(*c)] += 1;
        }
        // Configs were validated when the scenario loaded; a failure here is a bug.
        let changes = ChangeManager::new(cfg.change.clone()).expect("validated change config");
        let rollout = Rollout::new(cfg.rollout.clone()).expect("validated rollout config");
        let operators = Operators::new(cfg.operators.clone())
            .expect("validated operators config")
            .with_night(cfg.night, epoch);
        let recovery = Recovery::new(cfg.recovery.clone()).expect("validated recovery config");
        let fleet = Fleet::new(
            agents,
            first_poll,
            FleetBrake::new(cfg.agent.fleet_deletes_per_hour_max),
            BlastRadius::new(cfg.agent.fleet_deletes_per_hour_max),
            tallies::Tallies::new(n, customers),
            seed.keyed_family(streams::NETWORK),
            Lognormal::from_median_p99(
                cfg.network.agent_rtt_median_ms,
                cfg.network.agent_rtt_p99_ms,
            ),
        );
        let response = Response::new(
            changes,
            rollout,
            operators,
            recovery,
            Monitoring::new(cfg.monitoring.clone(), cfg.night, epoch),
            Responder::new(
                cfg.response.clone(),
                cfg.monitoring.customer_reports_to_escalate,
            ),
            ResponseStreams {
                seed,
                operators: seed.fork(streams::OPERATORS, 0),
                probes: seed.fork(streams::PROBES, 0),
                customers: seed.fork(streams::CUSTOMERS, 0),
                rollout: seed.fork(streams::ROLLOUT, 0),
                recovery: seed.fork(streams::RECOVERY, 0),
            },
        )
        .with_release_defect(cfg.hotfix_defect);
        World {
            books: Books::new(n, Metrics::new(&plant.fleet, epoch), epoch),
            fleet,
            response,
            auth: AuthSide::new(
                &cfg,
                seed.fork(streams::AUTH, 0),
                customers_per_cloud,
                timeline.faults().edges().into_iter().map(|e| e.0).collect(),
            ),
            workload: Workload::new(seed.fork(streams::WORKLOAD, 0)),
            epoch,
            timeline,
            plant,
            cfg,
        }
    }

    /// The run ends at `end`: customers go quiet the workload's
    /// `quiet_before_end_h` before it, and no auth span runs past it. Call
    /// before [`World::start`].
    pub fn set_run_end(&mut self, end: SimTime) {
        self.auth.set_run_end(end);
        let quiet = SimDuration::from_secs_f64(self.cfg.workload.quiet_before_end_h * 3_600.0);
        self.workload.quiet_at = SimTime::ZERO + end.saturating_since(SimTime::ZERO + quiet);
    }

    /// Steps every agent poll (the reference mode) instead of letting
    /// quiet agents sleep; the trace and the summary are the same.
    pub fn set_step_every_poll(&mut self, on: bool) {
        self.fleet.sleep.fast_forward = !on;
    }

    /// Schedules the first events: agent phases, the timeline, the minute tick.
    pub fn start(&mut self, sim: &mut Sim<Ev>) {
        self.fleet.sleep.sleep_possible = self.fleet.sleep_possible(&self.cfg);
        self.fleet.sleep.edge_version_seen = self.plant.edge_version();
        for (c, at) in std::mem::take(&mut self.fleet.first_poll)
            .into_iter()
            .enumerate()
        {
            sim.schedule_at(at, Ev::AgentPoll(c as ClusterId, 0));
        }
        self.timeline.faults().arm(sim, Ev::Timeline);
        let mut sh = Shared {
            cfg: &self.cfg,
            plant: &mut self.plant,
            books: &mut self.books,
            sim,
        };
        self.workload.schedule_customer_change(&mut sh);
        sim.schedule_at(SimTime::ZERO + MINUTE, Ev::Minute);
        sim.schedule_at(SimTime::ZERO, Ev::AuthTick);
    }

    /// Closes the books at the end of the run (see `outcome`).
    pub fn finish(&mut self, sim: &mut Sim<Ev>) {
        outcome::finish(self, sim)
    }

    /// What the finished run shows, typed; `run`: how the simulation
    /// stopped (see `outcome`).
    pub fn outcome(&self, run: cascade_sim::RunOutcome) -> crate::outcome::Outcome {
        outcome::build(self, run)
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    pub fn plant(&self) -> &Plant {
        &self.plant
    }
    pub fn rollout(&self) -> &Rollout {
        &self.response.rollout
    }
    pub fn monitoring(&self) -> &Monitoring {
        &self.response.monitoring
    }
    pub fn metrics(&self) -> &Metrics {
        &self.books.metrics
    }
    pub fn auth_book(&self) -> &AuthBook {
        &self.auth.book
    }
    /// Pool-loss (and agent-hold) incidents, oldest first.
    pub fn incidents(&self) -> &[PoolIncident] {
        self.response.responder.incidents()
    }

    /// What `c` misses of full convergence (see [`crate::plant::convergence`]).
    pub fn convergence(&self, c: ClusterId) -> NotConverged {
        self.plant
            .convergence(c, self.fleet.agents[c as usize].status())
    }

    /// Whether `c` is fully converged: pools as desired, its agent alive,
    /// out of hold, on the latest generation, its last poll answered.
    pub fn converged(&self, c: ClusterId) -> bool {
        !self.convergence(c).any()
    }

    // ---- the black-box tier: agents that are processes ----------------------

    /// From now on the agents are processes (see `external`): the model's
    /// agents hand over, and with `script` the recovery script is a
    /// process too. Their requests come in through the `serve_*` calls,
    /// each at the clock's now; the driver runs the queue up to that time
    /// first ([`Sim::advance_to`]).
    pub fn hand_over_to_processes(&mut self, sim: &mut Sim<Ev>, script: bool, seed: Seed) {
        let probes = seed.fork(streams::BLACKBOX_PROBES, 0);
        self.with_fleet(sim, |fleet, sh, _| fleet.hand_over(sh, script, probes));
    }

    /// Cluster `c`'s process asks for its desired state through the edge.
    pub fn serve_poll(&mut self, sim: &mut Sim<Ev>, c: ClusterId) -> DesiredAnswer {
        self.with_fleet(sim, |fleet, sh, _| fleet.external_poll(sh, c))
    }

    /// Cluster `c`'s pools as the cloud lists them (to its agent or the script).
    pub fn serve_listing(&mut self, sim: &mut Sim<Ev>, c: ClusterId) -> [PoolState; POOLS] {
        self.with_fleet(sim, |fleet, sh, _| fleet.external_listing(sh, c))
    }

    /// A cloud call on cluster `c`'s `pool`, by its agent or `by_script`.
    pub fn serve_cloud_call(
        &mut self,
        sim: &mut Sim<Ev>,
        c: ClusterId,
        pool: PoolName,
        call: CloudCall,
        by_script: bool,
    ) -> CloudReply {
        self.with_fleet(sim, |fleet, sh, response| {
            fleet.external_cloud_call(sh, response, c, pool, call, by_script)
        })
    }

    /// The recovery script reads cluster `c`'s desired state `via` the edge
    /// or the service.
    pub fn serve_probe(&mut self, sim: &mut Sim<Ev>, c: ClusterId, via: ProbeVia) -> DesiredAnswer {
        self.with_fleet(sim, |fleet, sh, _| fleet.external_probe(sh, c, via))
    }

    /// Cluster `c`'s agent process reports whether it is in safe hold.
    pub fn serve_status(&mut self, sim: &mut Sim<Ev>, c: ClusterId, in_hold: bool) {
        self.with_fleet(sim, |fleet, sh, _| fleet.external_status(sh, c, in_hold))
    }

    /// Cluster `c`'s agent process exited on its own.
    pub fn agent_exited(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        self.with_fleet(sim, |fleet, sh, _| fleet.external_exited(sh, c))
    }

    /// The recovery script's process, handed `clusters`, ended (`exit` says how).
    pub fn script_exited(&mut self, sim: &mut Sim<Ev>, clusters: &[ClusterId], exit: &str) {
        self.with_fleet(sim, |fleet, sh, response| {
            response.on_script_exited(sh, fleet, clusters, exit)
        })
    }

    /// Whether cluster `c`'s agent runs (its host is up), as the world
    /// keeps it for an agent process.
    pub fn agent_alive(&self, c: ClusterId) -> bool {
        self.fleet.agents[c as usize].is_alive()
    }

    /// What the world asks of the processes' driver since it last asked.
    pub fn take_commands(&mut self) -> Vec<AgentCommand> {
        self.fleet
            .external
            .as_mut()
            .map(|x| std::mem::take(&mut x.commands))
            .unwrap_or_default()
    }

    /// Runs `f` on the fleet part as an event handler would, then the
    /// fleet's after-event bookkeeping.
    fn with_fleet<T>(
        &mut self,
        sim: &mut Sim<Ev>,
        f: impl FnOnce(&mut Fleet, &mut Shared, &mut Response) -> T,
    ) -> T {
        let mut sh = Shared {
            cfg: &self.cfg,
            plant: &mut self.plant,
            books: &mut self.books,
            sim,
        };
        let out = f(&mut self.fleet, &mut sh, &mut self.response);
        self.fleet.after_event(&mut sh);
        out
    }

    /// Wakes agent `c` as a change to its cluster would (tests make such
    /// changes by hand).
    #[cfg(test)]
    fn wake(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let mut sh = Shared {
            cfg: &self.cfg,
            plant: &mut self.plant,
            books: &mut self.books,
            sim,
        };
        self.fleet.wake(&mut sh, c);
    }

    fn on_minute(&mut self, sim: &mut Sim<Ev>) {
        let now = sim.now();
        let lost = self.books.metrics.lost_now;
        self.books
            .metrics
            .minute(now, lost, self.fleet.tallies.agents_down);
        let mut sh = Shared {
            cfg: &self.cfg,
            plant: &mut self.plant,
            books: &mut self.books,
            sim,
        };
        self.auth
            .auth_minute(&mut sh, &mut self.response, &mut self.fleet);
        self.response.agent_hold_minute(&mut sh, &mut self.fleet);
        self.books.watch_convergence(
            &self.plant,
            &self.fleet.agents,
            self.fleet.sleep.fast_forward,
            self.response.responder.incidents(),
            now,
        );
        if self.fleet.tallies.agents_held > 0 && self.plant.service.faults.generation_regression > 0
        {
            self.books
                .coverage
                .hit(Reached::HoldDuringGenerationRegression);
        }
        self.check_bounds(sim);
        sim.schedule_in(MINUTE, Ev::Minute);
    }

    /// Hands an event (but the minute's) to the part it concerns.
    fn dispatch(&mut self, sim: &mut Sim<Ev>, ev: Ev) {
        let World {
            cfg,
            timeline,
            plant,
            books,
            fleet,
            response,
            auth,
            workload,
            ..
        } = self;
        if let Ev::AgentPoll(c, p) | Ev::AgentAnswer(c, p) = ev {
            // A dead process's timers and connections die with it: what it
            // set or asked for does not reach its successor.
            if p != books.clusters[c as usize].process {
                return;
            }
        }
        let sh = &mut Shared {
            cfg,
            plant,
            books,
            sim,
        };
        match ev {
            Ev::AgentPoll(c, _) => fleet.on_agent_poll(sh, response, c),
            Ev::AgentAnswer(c, _) => fleet.on_agent_answer(sh, response, c),
            Ev::AgentRestart(c) => fleet.on_agent_restart(sh, response, c),
            Ev::AgentDue(c, due) => fleet.on_agent_due(sh, c, due),
            Ev::CloudDone { cluster, pool, op } => {
                fleet.on_cloud_done(sh, response, workload, cluster, pool, op)
            }
            Ev::RepairCall(c) => response.on_repair_call(sh, fleet, c),
            Ev::Timeline(edge) => {
                auth.assert_not_ahead(sh.now(), sh.cfg, false);
                let (i, begins) = match edge {
                    FaultEdge::Begin(i) => (i, true),
                    FaultEdge::End(i) => (i, false),
                };
                response.on_action(sh, fleet, &mut auth.system, timeline, i, begins)
            }
            Ev::Minute => unreachable!("the minute is the world's own"),
            Ev::AuthTick => auth.on_auth_tick(sh),
            Ev::Monitoring(t) => response.on_monitoring_timer(sh, fleet, t),
            Ev::Responder(t) => response.on_responder_timer(sh, fleet, t),
            Ev::OpsTimer(t) => response.on_ops_timer(sh, fleet, t),
            Ev::RolloutTimer(t) => response.on_rollout_timer(sh, fleet, t),
            Ev::RecoveryTimer(t) => response.on_recovery_timer(sh, fleet, t),
            Ev::CustomerChange => workload.on_customer_change(sh, fleet),
            Ev::EdgeDeploy(i) => response.on_edge_deploy(sh, i),
        }
    }

    /// I9: every queue stays within its bound (checked once a minute).
    fn check_bounds(&mut self, sim: &Sim<Ev>) {
        let now = sim.now();
        let checks = [
            ("pending events", sim.pending(), sim.limits().pending_max),
            (
                "repair queue",
                self.response.operators.queue_len(),
                self.cfg.operators.queue_max,
            ),
            (
                "recovery queue",
                self.response.recovery.queue_len(),
                self.cfg.recovery.queue_max,
            ),
            (
                "auth queue",
                self.auth.book.queue_len_max_minute as usize,
                self.cfg.auth.component.queue_max_requests as usize,
            ),
        ];
        for (what, len, max) in checks {
            if let Some(v) = crate::checks::queue_bounded(what, len, max) {
                self.books.findings.add(v.at(now, None));
            }
        }
    }
}

impl Model<Ev> for World {
    fn handle(&mut self, sim: &mut Sim<Ev>, ev: Ev) {
        if ev == Ev::Minute {
            self.on_minute(sim);
        } else {
            self.dispatch(sim, ev);
        }
        let mut sh = Shared {
            cfg: &self.cfg,
            plant: &mut self.plant,
            books: &mut self.books,
            sim,
        };
        self.fleet.after_event(&mut sh);
    }
}
