//! The fleet tier's driver: the plant and every machine on the kernel's
//! event loop, and the routing between them.
//!
//! [`World`] owns the plant (fleet, cloud, desired-state service, edge), the
//! machines of `model` (one agent per cluster, change management, rollout,
//! operators, recovery script, monitoring, responder, the G5 brake, auth),
//! their random streams, and the books (per-cluster bookkeeping, findings,
//! metrics, key events). It decides nothing itself: each handler feeds a
//! machine what happened and routes the machine's outputs to the plant, to
//! other machines or to the queue. It implements [`Model`], so `Sim::run`
//! drives it one event at a time; hot events (agent polls, answers, cloud
//! completions) carry only small ids, and output buffers are reused, so the
//! steady state allocates nothing.
//!
//! Map of the modules:
//! - this file: the event enum, the world's state, construction, dispatch;
//! - [`fleet_side`]: the hot path: agent polls and answers, agent outputs
//!   to cloud calls, cloud completions, agent deaths and restarts;
//! - [`fast_forward`]: quiet agents sleep out of the queue until something
//!   that could change their answer wakes them (exact; a reference mode
//!   steps every poll and checks it);
//! - [`response`]: the timeline's effects, change management, rollout,
//!   monitoring, responder, operators, recovery script and restorations;
//! - [`auth_side`]: auth ticks, the per-minute auth books and surfaces;
//! - [`workload_side`]: the customers' pool changes and their books;
//! - [`outcome`]: end-of-run accounting for the summary;
//! - [`tallies`]: fleet-wide counts kept as things happen (agents down or
//!   held, customers whose Airflow is down), checked by a scan at the end.
//!
//! Event flow of one agent poll: `AgentPoll` → the agent asks to fetch → the
//! plant answers (the edge's 404 or the service's answer) → the answer is
//! parked in `pending_answer[cluster]` and `AgentAnswer` fires after the
//! round trip → the agent reconciles → cloud calls → `CloudDone` events.

use crate::checks::{BackoffWatch, BlastRadius, Findings, RequestRate};
use crate::config::ModelConfig;
use crate::coverage::{Coverage, Reached};
use crate::metrics::{ConvergenceWatch, Metrics};
use crate::model::agent::{Agent, AgentOutput, Guards};
use crate::model::auth::AuthSystem;
use crate::model::brake::FleetBrake;
use crate::model::change::{ChangeManager, ChangePayload};
use crate::model::monitoring::{Monitoring, MonitoringTimer};
use crate::model::operators::{Operators, OpsOutput, OpsTimer};
use crate::model::recovery::{Recovery, RecoveryTimer};
use crate::model::responder::{PoolIncident, Responder, ResponderTimer, RoutingChangeSeen};
use crate::model::rollout::{Rollout, RolloutTimer};
use crate::plant::{agent_phase, streams, InitialPools, NotConverged, Plant};
use crate::protocol::{ClusterId, DesiredAnswer, POOLS};
use crate::timeline::Timeline;
use crate::types::Cloud;
use cascade_sim::rng::{KeyedFamily, Lognormal};
use cascade_sim::{Epoch, FaultEdge, Model, Seed, Sim, SimDuration, SimTime, Stream};

mod auth_side;
mod fast_forward;
mod fleet_side;
mod outcome;
mod response;
mod tallies;
mod workload_side;
pub use auth_side::{AuthBook, AuthMinute};

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

/// A routing change on its way to the edge cells.
#[derive(Clone, Debug)]
struct EdgeDeploy {
    name: String,
    ratio: f64,
    salt: u64,
    cells_mask: u64,
}

pub use crate::types::RestoreMethod;

/// Per-cluster bookkeeping the world keeps beside the agent.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterBook {
    /// When the cluster first lost a desired pool in the current loss episode.
    pub lost_since: Option<SimTime>,
    /// The last time the edge answered this cluster's agent 404 (the edge's
    /// access log, which responders may read).
    pub last_404_at: Option<SimTime>,
    /// The first 404 of the agent's current run of answers without an
    /// authoritative one (the same access log): when its 404s began.
    pub first_404_at: Option<SimTime>,
    /// The last time the cluster was disturbed (a failed poll, its agent
    /// dead, held or restarted, pools lost or restored).
    pub last_disturbed_at: Option<SimTime>,
    /// Per extra worker slot: the customer's change not yet carried out
    /// (an index into the metrics' changes).
    pub pending_change: [Option<u32>; 3],
    /// Per extra worker slot: a removal carried out by a soft delete (the
    /// pool scaled to zero, G8) whose real delete is still due (L3).
    pub pending_collect: [Option<u32>; 3],
    /// The agent version to run at the next (re)start.
    pub guards_installed: Option<Guards>,
    /// The last answer this agent acted on was authoritative (for I1).
    pub last_answer_ok: bool,
    /// Tombstones in the last answer (for I1).
    pub last_tombstones: crate::protocol::PoolSet,
    /// Restoration queued or in progress, and by what.
    pub restoring: Option<RestoreMethod>,
    /// Highest generation any of the cluster's agent processes applied
    /// (for I4, which spans restarts).
    pub generation_applied: u64,
    /// The generation the cluster's status records as last applied: what
    /// the agent writes with each apply and reads when it starts again.
    pub generation_recorded: u64,
    /// Desired-state requests against the rate limit (I8).
    pub request_rate: RequestRate,
    /// Failed answers in a row against G7's backoff (I8).
    pub backoff: BackoffWatch,
    /// The number of the agent's current process (0 at the start, one
    /// more at each restart): its timers and requests carry it.
    pub process: u32,
    /// Per pool slot: since when the answers the agent's current process
    /// acted on have not wanted the pool, without a break (for I12).
    pub unwanted_since: [Option<SimTime>; POOLS],
}

/// The random streams of the world's machines, one each (see
/// [`streams`] for the names).
struct Streams {
    operators: Stream,
    /// The run's seed, for per-entity streams forked on demand.
    seed: Seed,
    /// Probes that responders and the script send through the edge.
    probes: Stream,
    /// The customers' pool changes.
    workload: Stream,
    customers: Stream,
    rollout: Stream,
    recovery: Stream,
    auth: Stream,
    /// The agents' round trips: keyed by cluster and request time.
    network: KeyedFamily,
    /// Their lognormal, from `model.network`'s median and p99.
    rtt_ms: Lognormal,
}

/// Lost clusters a diagnosis probes through the edge, at most.
const PROBES_PER_DIAGNOSIS: usize = 20;

/// Key events kept for the narrative (bounded).
const KEY_EVENTS_MAX: usize = 200;

/// The whole simulated world.
pub struct World {
    cfg: ModelConfig,
    epoch: Epoch,
    timeline: Timeline,
    /// Fleet, cloud, desired-state service and edge.
    plant: Plant,

    // The machines under test.
    agents: Vec<Agent>,
    changes: ChangeManager<ChangePayload>,
    rollout: Rollout,
    /// The bake under way as the driver saw it start (its start and the
    /// bake time then in force), to check each `Baked` against (I7).
    bake_watch: Option<(SimTime, SimDuration)>,
    /// How far the cloud listing agents see may lag the truth (zero: it
    /// does not), and per cluster the listing last served and when
    /// (allocated only while a lag is in force).
    listing_lag: SimDuration,
    listing_cache: Vec<(
        SimTime,
        [crate::protocol::PoolState; crate::protocol::POOLS],
    )>,
    /// Agents reporting healthy when the baking wave started (the health
    /// gate's before-picture); empty until a rollout starts.
    healthy_at_wave_start: Vec<bool>,
    /// Edge changes in the configuration pipeline, by `Ev::EdgeDeploy` index.
    edge_deploys: Vec<EdgeDeploy>,
    /// Routing changes applied to prod as the change log and the pipeline
    /// record them (what diagnosis reads; at most `change.log_max`).
    routing_changes: Vec<RoutingChangeSeen>,
    /// Per incident: the team's finished restorations (hands-on repairs
    /// plus script restores) when on-call acknowledged it.
    restorations_at_ack: Vec<u64>,
    operators: Operators,
    recovery: Recovery,
    monitoring: Monitoring,
    responder: Responder,
    brake: FleetBrake,
    auth: AuthSystem,
    rng: Streams,

    // The books.
    books: Vec<ClusterBook>,
    findings: Findings,
    /// I2's own count of accepted G5 deletes.
    blast_radius: BlastRadius,
    metrics: Metrics,
    auth_book: AuthBook,
    /// Timed key events for the narrative (bounded).
    key_events: Vec<(SimTime, String)>,
    /// Change names by id - 1 (change ids are dense from 1).
    change_names: Vec<String>,
    /// Customers per cloud (AWS, GCP, Azure), for per-customer means.
    customers_per_cloud: [u32; 3],
    /// Customers make no change from here on (see `set_run_end`).
    customers_quiet_at: SimTime,
    /// Timeline faults (items with a duration) in progress, and the last
    /// time one began or ended (customer-change deadlines restart there).
    faults_active: u32,
    last_fault_edge_at: Option<SimTime>,
    /// Interesting states reached (measurement only: no decision reads it).
    coverage: Coverage,

    // Plumbing.
    /// Each agent's first poll, scheduled by `start`.
    first_poll: Vec<SimTime>,
    /// An answer waits here for its round trip (events carry ids only).
    pending_answer: Vec<Option<DesiredAnswer>>,
    /// Per agent: the grid poll a sleeping agent would make next, or
    /// `fast_forward::AWAKE` (see [`fast_forward`]).
    asleep: Vec<u64>,
    /// Per sleeping agent: the grid poll at which it must be awake again
    /// on its own account, or `fast_forward::NO_POLL`.
    due_poll: Vec<u64>,
    /// Agents asleep now.
    sleepers: u32,
    /// Skip sleeping agents' polls (false: the reference mode, which steps
    /// every poll and checks that the skipped ones would be quiet).
    fast_forward: bool,
    /// This configuration lets quiet agents sleep at all.
    sleep_possible: bool,
    /// The edge version agents' sleep was last checked against.
    edge_version_seen: u32,
    /// Per cluster: not touched (no poll, answer, restart, cloud or
    /// desired-state change, upgrade or wake) since the convergence
    /// watches last found it not converged: it still is not.
    unchanged_since_watch: Vec<bool>,
    tallies: tallies::Tallies,
    /// Reused buffers of agent and operator outputs.
    out: Vec<AgentOutput>,
    ops_out: Vec<OpsOutput>,
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
        World {
            metrics: Metrics::new(&plant.fleet, epoch),
            auth: AuthSystem::new(&cfg.auth),
            monitoring: Monitoring::new(cfg.monitoring.clone(), cfg.night, epoch),
            responder: Responder::new(
                cfg.response.clone(),
                cfg.monitoring.customer_reports_to_escalate,
            ),
            brake: FleetBrake::new(cfg.agent.fleet_deletes_per_hour_max),
            blast_radius: BlastRadius::new(cfg.agent.fleet_deletes_per_hour_max),
            rng: Streams {
                operators: seed.fork(streams::OPERATORS, 0),
                seed,
                probes: seed.fork(streams::PROBES, 0),
                workload: seed.fork(streams::WORKLOAD, 0),
                customers: seed.fork(streams::CUSTOMERS, 0),
                rollout: seed.fork(streams::ROLLOUT, 0),
                recovery: seed.fork(streams::RECOVERY, 0),
                auth: seed.fork(streams::AUTH, 0),
                network: seed.keyed_family(streams::NETWORK),
                rtt_ms: Lognormal::from_median_p99(
                    cfg.network.agent_rtt_median_ms,
                    cfg.network.agent_rtt_p99_ms,
                ),
            },
            auth_book: AuthBook::default(),
            customers_per_cloud,
            customers_quiet_at: SimTime::MAX,
            faults_active: 0,
            last_fault_edge_at: None,
            coverage: Coverage::default(),
            changes,
            rollout,
            bake_watch: None,
            listing_lag: SimDuration::ZERO,
            listing_cache: Vec::new(),
            healthy_at_wave_start: Vec::new(),
            edge_deploys: Vec::new(),
            routing_changes: Vec::new(),
            restorations_at_ack: Vec::new(),
            operators,
            recovery,
            key_events: Vec::new(),
            change_names: Vec::new(),
            ops_out: Vec::new(),
            epoch,
            agents,
            first_poll,
            books: vec![ClusterBook::default(); n],
            pending_answer: vec![None; n],
            asleep: vec![fast_forward::AWAKE; n],
            due_poll: vec![fast_forward::NO_POLL; n],
            sleepers: 0,
            fast_forward: true,
            sleep_possible: false,
            edge_version_seen: 0,
            unchanged_since_watch: vec![false; n],
            tallies: tallies::Tallies::new(n, customers),
            out: Vec::with_capacity(16),
            timeline,
            findings: Findings::new(1_000),
            plant,
            cfg,
        }
    }

    /// Schedules the first events: agent phases, the timeline, the minute tick.
    /// The run ends at `end`: customers go quiet the workload's
    /// `quiet_before_end_h` before it. Call before [`World::start`].
    pub fn set_run_end(&mut self, end: SimTime) {
        let quiet = SimDuration::from_secs_f64(self.cfg.workload.quiet_before_end_h * 3_600.0);
        self.customers_quiet_at = SimTime::ZERO + end.saturating_since(SimTime::ZERO + quiet);
    }

    /// Steps every agent poll (the reference mode) instead of letting
    /// quiet agents sleep; the trace and the summary are the same.
    pub fn set_step_every_poll(&mut self, on: bool) {
        self.fast_forward = !on;
    }

    pub fn start(&mut self, sim: &mut Sim<Ev>) {
        self.sleep_possible = self.sleep_possible();
        self.edge_version_seen = self.plant.edge_version();
        for (c, at) in std::mem::take(&mut self.first_poll).into_iter().enumerate() {
            sim.schedule_at(at, Ev::AgentPoll(c as ClusterId, 0));
        }
        self.timeline.faults().arm(sim, Ev::Timeline);
        self.schedule_customer_change(sim);
        sim.schedule_at(SimTime::from_secs(60), Ev::Minute);
        sim.schedule_at(SimTime::ZERO, Ev::AuthTick);
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
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }
    pub fn rollout(&self) -> &Rollout {
        &self.rollout
    }
    pub fn monitoring(&self) -> &Monitoring {
        &self.monitoring
    }
    pub fn findings(&self) -> &Findings {
        &self.findings
    }
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    pub fn auth_book(&self) -> &AuthBook {
        &self.auth_book
    }
    /// Pool-loss (and agent-hold) incidents, oldest first.
    pub fn incidents(&self) -> &[PoolIncident] {
        self.responder.incidents()
    }

    /// The interesting states this run reached.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// What `c` misses of full convergence (see [`crate::plant::convergence`]).
    pub fn convergence(&self, c: ClusterId) -> NotConverged {
        self.plant.convergence(c, self.agents[c as usize].status())
    }

    /// Whether `c` is fully converged: pools as desired, its agent alive,
    /// out of hold, on the latest generation, its last poll answered.
    pub fn converged(&self, c: ClusterId) -> bool {
        !self.convergence(c).any()
    }

    /// Once a minute: starts a convergence watch for each pool incident that
    /// has just healed (its route reverted, or its clusters restored), and
    /// checks the clusters each watch still waits for. Bounded by the
    /// clusters not converged at a heal.
    fn watch_convergence(&mut self, now: SimTime) {
        let started = self.metrics.convergence_watches.len();
        for inc in self.responder.incidents().iter().skip(started) {
            let Some(healed_at) = inc.mitigated_at.or(inc.restore_completed_at) else {
                break;
            };
            let pending = (0..self.plant.fleet.len() as ClusterId)
                .filter(|&c| !self.converged(c))
                .collect();
            self.metrics.convergence_watches.push(ConvergenceWatch {
                incident: inc.id,
                healed_at,
                pending,
                converged_after_s: Vec::new(),
            });
        }
        let mut watches = std::mem::take(&mut self.metrics.convergence_watches);
        for w in &mut watches {
            self.step_watch(w, now);
        }
        self.metrics.convergence_watches = watches;
        if let Some(mut w) = self.metrics.settle_watch.take() {
            self.step_watch(&mut w, now);
            self.metrics.settle_watch = Some(w);
        }
    }

    /// The timeline's `healed` marker: from `now`, every cluster not fully
    /// converged is watched until it is (a later marker starts afresh).
    fn watch_settling(&mut self, now: SimTime) {
        let pending = (0..self.plant.fleet.len() as ClusterId)
            .filter(|&c| !self.converged(c))
            .collect();
        self.metrics.settle_watch = Some(ConvergenceWatch {
            incident: u32::MAX,
            healed_at: now,
            pending,
            converged_after_s: Vec::new(),
        });
    }

    /// One minute of a convergence watch: the clusters it waits for that
    /// are converged now leave it, with their time since the heal.
    fn step_watch(&mut self, w: &mut ConvergenceWatch, now: SimTime) {
        let mut k = 0;
        while k < w.pending.len() {
            let c = w.pending[k];
            // Untouched since last found not converged: still not (the
            // reference mode checks this shortcut too).
            if self.unchanged_since_watch[c as usize] {
                assert!(
                    self.fast_forward || !self.converged(c),
                    "cluster {c} converged without an event touching it"
                );
                k += 1;
                continue;
            }
            if self.converged(c) {
                w.converged_after_s
                    .push(now.saturating_since(w.healed_at).as_secs_f64());
                w.pending.swap_remove(k);
            } else {
                // Only a "not converged" may be remembered: the cluster
                // may be pending in another watch too.
                self.unchanged_since_watch[c as usize] = true;
                k += 1;
            }
        }
    }

    /// Something happened to cluster `c` that may change its convergence.
    fn touched(&mut self, c: ClusterId) {
        self.unchanged_since_watch[c as usize] = false;
    }

    /// Adds a line to the narrative (and to `-v` logs).
    fn key_event(&mut self, at: SimTime, what: String) {
        // Logs carry simulated calendar time, never the wall clock.
        tracing::info!(target: "cascade::world", "{} {}", self.epoch.format(at), what);
        if self.key_events.len() < KEY_EVENTS_MAX {
            self.key_events.push((at, what));
        }
    }

    fn on_minute(&mut self, sim: &mut Sim<Ev>) {
        let now = sim.now();
        let lost = self.metrics.lost_now;
        self.metrics.minute(now, lost, self.tallies.agents_down);
        self.auth_minute(sim);
        self.agent_hold_minute(sim);
        self.watch_convergence(now);
        if self.tallies.agents_held > 0 && self.plant.service.faults.generation_regression > 0 {
            self.coverage.hit(Reached::HoldDuringGenerationRegression);
        }
        self.check_bounds(sim);
        sim.schedule_in(SimDuration::from_mins(1), Ev::Minute);
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
            if let Some(v) = crate::checks::queue_bounded(what, len, max) {
                self.findings.add(v.at(now, None));
            }
        }
    }
}

impl Model<Ev> for World {
    fn handle(&mut self, sim: &mut Sim<Ev>, ev: Ev) {
        match ev {
            // A dead process's timers and connections die with it: what it
            // set or asked for does not reach its successor. Before, a
            // restarted agent polled early on its predecessor's timer (I8's
            // backoff watch found it: fixed-400 seed 6000022).
            Ev::AgentPoll(c, p) if p != self.books[c as usize].process => {}
            Ev::AgentAnswer(c, p) if p != self.books[c as usize].process => {}
            Ev::AgentPoll(c, _) => self.on_agent_poll(sim, c),
            Ev::AgentAnswer(c, _) => self.on_agent_answer(sim, c),
            Ev::AgentRestart(c) => self.on_agent_restart(sim, c),
            Ev::AgentDue(c, due) => self.on_agent_due(sim, c, due),
            Ev::CloudDone { cluster, pool, op } => self.on_cloud_done(sim, cluster, pool, op),
            Ev::RepairCall(c) => self.restore_cluster(sim, c),
            Ev::Timeline(FaultEdge::Begin(i)) => self.on_action(sim, i, true),
            Ev::Timeline(FaultEdge::End(i)) => self.on_action(sim, i, false),
            Ev::Minute => self.on_minute(sim),
            Ev::AuthTick => self.on_auth_tick(sim),
            Ev::Monitoring(t) => self.on_monitoring_timer(sim, t),
            Ev::Responder(t) => self.on_responder_timer(sim, t),
            Ev::OpsTimer(t) => self.on_ops_timer(sim, t),
            Ev::RolloutTimer(t) => self.on_rollout_timer(sim, t),
            Ev::RecoveryTimer(t) => self.on_recovery_timer(sim, t),
            Ev::CustomerChange => self.on_customer_change(sim),
            Ev::EdgeDeploy(i) => self.on_edge_deploy(sim, i),
        }
        self.after_event(sim);
    }
}
