//! A wire run: a scenario slice in turmoil.
//!
//! Hosts, in the order turmoil steps them:
//! - `control-plane` (`:8080`): the desired-state service;
//! - `edge` (`:80`, the agents' control-plane URL) with its default backend
//!   (`:8081`, answers 404);
//! - `cloud` (`:80`): the node-pool API;
//! - `agents-N`: one agent per host by default; above
//!   [`AGENTS_ONE_PER_HOST_MAX`] agents, they are grouped so that at most
//!   about that many agent hosts exist (turmoil scans every link of its
//!   full mesh on every tick, so its cost grows with the square of the
//!   hosts);
//! - `director` (a turmoil client): replays the window's timeline steps
//!   through the admin endpoints at their times and ends the run at the
//!   window's end.
//!
//! Simulated time `t` after the start maps onto the scenario's calendar at
//! `window.start + t`. turmoil is seeded from the run seed; each tick every
//! host runs for `tick` of simulated time, so a message hop takes one tick.
//! Between ticks the harness applies the run's network faults (partitions
//! and holds) and takes down the agents whose `system` pool the cloud has
//! started deleting (the agent runs on it).

use super::api::{self, FaultsDoc, FixDoc, RoutingDoc};
use super::clock::Clock;
use super::driver::{run_agent, DriverConfig};
use super::http::{exchange, serve};
use super::net::SimNet;
use super::observe::Observer;
use super::plan::{self, NotModelled, SliceRule, Step, StepKind, Window};
use super::servers::{
    cloud_handler, control_plane_handler, default_backend_handler, edge_handler, CloudServer,
    ControlPlane, EdgeProxy,
};
use crate::model::agent::{AgentOutput, Guard, Guards};
use crate::plant::agent_phase;
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::plant::control::{EdgeVersion, ServiceFaults};
pub use crate::plant::InitialPools;
use crate::plant::{pools_converged, streams, Plant};
use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredAnswer, PoolSet};
use crate::record::Record;
use crate::scenario::Scenario;
use crate::wire::api::CallOutcome;
use cascade_sim::{Epoch, FaultEdge, FaultSchedule, Seed, SimDuration, SimTime, Trace};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;
use tokio::task::AbortHandle;

/// Agents beyond this share hosts (see the module doc).
pub const AGENTS_ONE_PER_HOST_MAX: u32 = 40;
/// Host names and ports.
pub const CONTROL_PLANE: &str = "control-plane";
pub const EDGE: &str = "edge";
pub const CLOUD: &str = "cloud";
pub const DIRECTOR: &str = "director";
const CONTROL_PLANE_PORT: u16 = 8080;
const EDGE_PORT: u16 = 80;
const DEFAULT_BACKEND_PORT: u16 = 8081;
const CLOUD_PORT: u16 = 80;
/// Tries per admin call of the director (each bounded by the client timeout).
const ADMIN_TRIES_MAX: u32 = 3;
/// turmoil's per-socket buffer and listen backlog. A kernel drops SYNs past
/// its backlog; turmoil panics instead, and a hold releases every SYN that
/// piled up at once (agents x retries), so the backlog is far above that.
const TCP_CAPACITY: usize = 1 << 16;
/// The edge's route timeout: longer than the agents' own, as proxies' are.
const EDGE_UPSTREAM_TIMEOUT_S: f64 = 15.0;

/// Which hosts a network fault cuts or holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Agents,
    Edge,
    ControlPlane,
    Cloud,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetFaultKind {
    /// Messages are dropped.
    Partition,
    /// Messages wait and are delivered at the end.
    Hold,
}

/// A turmoil partition or hold between two sides, window-relative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetFault {
    pub at: SimDuration,
    pub len: SimDuration,
    pub kind: NetFaultKind,
    pub a: Side,
    pub b: Side,
}

/// Options of a wire run beyond the scenario.
#[derive(Clone, Debug)]
pub struct WireOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Clusters in the slice.
    pub clusters: u32,
    pub slice: SliceRule,
    /// `None`: the default window around the first misroute.
    pub window: Option<Window>,
    /// `None`: one per host up to [`AGENTS_ONE_PER_HOST_MAX`] agents.
    pub agents_per_host: Option<u32>,
    /// Simulated time per turmoil step.
    pub tick: Duration,
    pub initial_pools: InitialPools,
    pub net_faults: Vec<NetFault>,
    /// The agent version, overriding the scenario's `agent_guards`.
    pub guards: Option<Guards>,
}

impl Default for WireOptions {
    fn default() -> Self {
        WireOptions {
            seed: None,
            clusters: 30,
            slice: SliceRule::HalfHit,
            window: None,
            agents_per_host: None,
            tick: Duration::from_millis(100),
            initial_pools: InitialPools::Desired,
            net_faults: Vec::new(),
            guards: None,
        }
    }
}

/// A wire run's outcome.
#[derive(Clone, Debug)]
pub struct WireResult {
    pub seed: u64,
    pub epoch: Epoch,
    pub window: Window,
    pub guards: Guards,
    /// The slice's cluster ids, ascending.
    pub slice: Vec<ClusterId>,
    /// Slice clusters the window's first misroute sends to the default backend.
    pub hit: Vec<ClusterId>,
    /// The first misroute: when, which item, what ratio.
    pub misroute: Option<(SimTime, String, f64)>,
    pub hosts: u32,
    pub agents_per_host: u32,
    pub steps: u64,
    /// Clusters that started losing a desired pool, with the time.
    pub lost: BTreeMap<ClusterId, SimTime>,
    /// Agents taken down with their `system` pool, with the time.
    pub dead: BTreeMap<ClusterId, SimTime>,
    /// Answers agents acted on, by kind (`200`, `404`, …).
    pub answers: BTreeMap<&'static str, u64>,
    /// Agent cloud calls by outcome (`accepted`, `rate_limited`, …).
    pub calls: BTreeMap<&'static str, u64>,
    pub deletes_accepted: u64,
    pub creates_accepted: u64,
    pub blocked_by_guard: [u64; 8],
    pub holds_entered: u64,
    pub holds_left: u64,
    /// I1 findings: deletes without an authoritative answer carrying intent.
    pub i1_findings: u64,
    /// Timeline steps enacted in the window, with their times.
    pub enacted: Vec<(SimTime, String)>,
    /// Timeline effects in the window that this tier does not carry out.
    pub not_modelled: Vec<NotModelled>,
    pub admin_failures: u32,
    /// Slice clusters without every desired pool present at the end.
    pub not_converged: Vec<ClusterId>,
    pub trace_hash: u64,
    /// turmoil stopped with this error (a host's software failed).
    pub error: Option<String>,
}

impl WireResult {
    /// A fixed agent (G1) must never lose a desired pool nor delete
    /// without authority; the buggy agent's losses are findings, not
    /// failures. A run whose simulation broke fails.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.admin_failures == 0
            && (self.guards.is_buggy() || (self.lost.is_empty() && self.i1_findings == 0))
    }
}

/// A harness error (bad options), as opposed to what happens in the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

/// Everything the run observes, shared by the hosts (one thread).
struct Book {
    trace: Trace,
    /// Desired pools per cluster id (the whole fleet), for "lost".
    desired: Vec<PoolSet>,
    /// Per cluster: the last answer was authoritative, and its tombstones (I1).
    last_answer: BTreeMap<ClusterId, (bool, PoolSet)>,
    answers: BTreeMap<&'static str, u64>,
    calls: BTreeMap<&'static str, u64>,
    lost: BTreeMap<ClusterId, SimTime>,
    dead: BTreeMap<ClusterId, SimTime>,
    /// Agents to take down after this tick.
    kills: Vec<ClusterId>,
    deletes_accepted: u64,
    creates_accepted: u64,
    blocked: [u64; 8],
    holds_entered: u64,
    holds_left: u64,
    i1: u64,
    enacted: Vec<(SimTime, String)>,
    admin_failures: u32,
}

#[derive(Clone)]
struct BookObserver(Rc<RefCell<Book>>);

impl Observer for BookObserver {
    fn answer(&self, now: SimTime, cluster: ClusterId, answer: &DesiredAnswer) {
        let mut b = self.0.borrow_mut();
        b.trace.record(now, &Record::Answer { cluster, answer });
        *b.answers.entry(answer.name()).or_default() += 1;
        let last = match answer {
            DesiredAnswer::Ok(ds) => (true, ds.tombstones),
            _ => (false, PoolSet::EMPTY),
        };
        b.last_answer.insert(cluster, last);
    }

    fn agent_output(&self, now: SimTime, cluster: ClusterId, out: &AgentOutput) {
        let mut b = self.0.borrow_mut();
        match *out {
            AgentOutput::DeletePool { pool } => {
                // I1, as the fleet tier checks it: authority and intent.
                let (ok, tombstones) = b
                    .last_answer
                    .get(&cluster)
                    .copied()
                    .unwrap_or((false, PoolSet::EMPTY));
                if !(ok && tombstones.contains(pool)) {
                    b.i1 += 1;
                }
            }
            AgentOutput::Blocked { pool, guard } => {
                b.blocked[guard as usize] += 1;
                b.trace.record(
                    now,
                    &Record::Blocked {
                        cluster,
                        pool,
                        guard,
                    },
                );
            }
            AgentOutput::EnteredHold => b.holds_entered += 1,
            AgentOutput::LeftHold => b.holds_left += 1,
            _ => {}
        }
    }

    fn agent_call(
        &self,
        _now: SimTime,
        _cluster: ClusterId,
        _pool: PoolName,
        _call: CloudCall,
        outcome: CallOutcome,
    ) {
        *self.0.borrow_mut().calls.entry(outcome.name()).or_default() += 1;
    }

    fn cloud_call(
        &self,
        now: SimTime,
        cluster: ClusterId,
        pool: PoolName,
        call: CloudCall,
        reply: &CloudReply,
    ) {
        let mut b = self.0.borrow_mut();
        b.trace.record(
            now,
            &Record::CloudCall {
                cluster,
                pool,
                call,
                reply: *reply,
            },
        );
        if let CloudReply::Locked = reply {
            b.blocked[Guard::G6 as usize] += 1;
        }
        if !matches!(reply, CloudReply::Accepted { .. }) {
            return;
        }
        match call {
            CloudCall::Create { .. } => b.creates_accepted += 1,
            CloudCall::ScaleToZero => {}
            CloudCall::Delete => {
                b.deletes_accepted += 1;
                if b.desired[cluster as usize].contains(pool) {
                    b.lost.entry(cluster).or_insert(now);
                }
                // The agent runs on the system pool: draining it takes the
                // agent down, as in the fleet tier.
                if pool == PoolName::System && !b.dead.contains_key(&cluster) {
                    b.dead.insert(cluster, now);
                    b.kills.push(cluster);
                    b.trace.record(now, &Record::AgentDied { cluster });
                }
            }
        }
    }

    fn cloud_done(&self, now: SimTime, cluster: ClusterId, pool: PoolName, completion: Completion) {
        self.0.borrow_mut().trace.record(
            now,
            &Record::CloudDone {
                cluster,
                pool,
                completion,
            },
        );
    }

    fn routing(&self, now: SimTime, v: &EdgeVersion) {
        let text = format!(
            "edge v{} misroute {} salt {} by {}",
            v.version, v.misroute_ratio, v.misroute_salt, v.set_by
        );
        let mut b = self.0.borrow_mut();
        b.trace.record(now, &Record::Note { text: &text });
    }

    fn faults(&self, now: SimTime, f: &ServiceFaults) {
        let mut text = format!(
            "service faults 5xx {} timeout {} regression {}",
            f.server_error_ratio, f.timeout_ratio, f.generation_regression
        );
        // Only when set, so traces from before partial answers reached this
        // tier keep their hashes.
        if f.partial_ratio > 0.0 {
            text.push_str(&format!(" partial {}", f.partial_ratio));
        }
        let mut b = self.0.borrow_mut();
        b.trace.record(now, &Record::Note { text: &text });
    }
}

fn bind_addr(port: u16) -> (IpAddr, u16) {
    (IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

fn authority(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

/// Runs a slice of `scenario` in turmoil.
pub fn run_slice(scenario: &Scenario, opts: &WireOptions) -> Result<WireResult, WireError> {
    let seed_value = opts.seed.unwrap_or(scenario.seed);
    let seed = Seed(seed_value);
    let model = &scenario.model;
    let guards = opts.guards.unwrap_or(model.agent_guards);
    if opts.clusters == 0 {
        return Err(WireError("--clusters: expected at least 1".into()));
    }
    if opts.tick < Duration::from_millis(1) || opts.tick > Duration::from_secs(1) {
        return Err(WireError("tick: expected 1 ms to 1 s".into()));
    }
    let plan = plan::plan(&scenario.timeline, model);
    let steps = plan.steps;
    let window = opts
        .window
        .unwrap_or_else(|| plan::default_window(&steps, scenario.end));
    if window.len == SimDuration::ZERO || window.end() > scenario.end {
        return Err(WireError(format!(
            "window: expected a non-empty stretch within the scenario (it ends {})",
            scenario.epoch.format(scenario.end)
        )));
    }
    let first = plan::first_misroute(&steps);
    let first_version = first.and_then(plan::version_of);
    // The components, in the state the window starts with.
    let mut plant = Plant::build(&model.fleet, &model.cloud, seed);
    plant.cloud.set_delete_locks(guards.g6_delete_locks);
    let slice = plan::slice(
        &plant.fleet,
        opts.clusters,
        &opts.slice,
        first_version.as_ref(),
    )
    .map_err(WireError)?;
    for &c in &slice {
        plant.provision(c, opts.initial_pools);
    }
    let hit: Vec<ClusterId> = slice
        .iter()
        .copied()
        .filter(|&c| {
            first_version
                .as_ref()
                .is_some_and(|v| crate::plant::control::misrouted(v, c))
        })
        .collect();
    let per_host = opts
        .agents_per_host
        .unwrap_or_else(|| {
            let k = slice.len() as u32;
            if k <= AGENTS_ONE_PER_HOST_MAX {
                1
            } else {
                k.div_ceil(AGENTS_ONE_PER_HOST_MAX)
            }
        })
        .max(1);

    let n = plant.fleet.len();
    let secret = seed.derive(streams::WIRE_TOKENS, 0).0;
    let desired_pools: Vec<PoolSet> = plant
        .fleet
        .clusters
        .iter()
        .map(|c| c.desired_pools)
        .collect();
    let Plant {
        cloud,
        mut service,
        service_rng,
        mut edge,
        ..
    } = plant;
    let (before, during): (Vec<&Step>, Vec<&Step>) = steps
        .iter()
        .filter(|s| s.at < window.end())
        .partition(|s| s.at < window.start);
    for s in before {
        match &s.kind {
            StepKind::Routing {
                ratio,
                salt,
                set_by,
            } => {
                edge.apply(s.at, *ratio, *salt, set_by);
            }
            StepKind::Fix { set_by } => {
                edge.fix(s.at, set_by);
            }
            StepKind::Faults(f) => service.faults = *f,
        }
    }
    let script: Vec<Step> = during.into_iter().cloned().collect();

    let book = Rc::new(RefCell::new(Book {
        trace: Trace::new(),
        desired: desired_pools,
        last_answer: BTreeMap::new(),
        answers: BTreeMap::new(),
        calls: BTreeMap::new(),
        lost: BTreeMap::new(),
        dead: BTreeMap::new(),
        kills: Vec::new(),
        deletes_accepted: 0,
        creates_accepted: 0,
        blocked: [0; 8],
        holds_entered: 0,
        holds_left: 0,
        i1: 0,
        enacted: Vec::new(),
        admin_failures: 0,
    }));
    let observer: Rc<dyn Observer> = Rc::new(BookObserver(book.clone()));

    let mut sim = turmoil::Builder::new()
        .rng_seed(seed.derive(streams::TURMOIL, 0).0)
        .tick_duration(opts.tick)
        .tcp_capacity(TCP_CAPACITY)
        .simulation_duration(Duration::from_micros(window.len.as_micros()) + opts.tick * 10)
        // Every hop lands on the next tick: latency well below a tick.
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(opts.tick.mul_f64(0.5).max(Duration::from_millis(1)))
        .build();

    // The servers' state lives outside the hosts: it is the harness's to read
    // at the end, and would survive a bounce as a database would.
    let control = Rc::new(RefCell::new(None::<Rc<RefCell<ControlPlane>>>));
    let service_cell = Rc::new(RefCell::new(Some((service, service_rng))));
    {
        let (observer, control, service_cell) =
            (observer.clone(), control.clone(), service_cell.clone());
        sim.host(CONTROL_PLANE, move || {
            let (observer, control, service_cell) =
                (observer.clone(), control.clone(), service_cell.clone());
            async move {
                let clock = Clock::start(window.start, 1);
                let state = match control.borrow().clone() {
                    Some(s) => s,
                    None => {
                        let (service, rng) = service_cell
                            .borrow_mut()
                            .take()
                            .expect("service state taken once");
                        Rc::new(RefCell::new(ControlPlane {
                            service,
                            rng,
                            secret,
                            clock,
                            observer,
                        }))
                    }
                };
                *control.borrow_mut() = Some(state.clone());
                let l = turmoil::net::TcpListener::bind(bind_addr(CONTROL_PLANE_PORT)).await?;
                serve(l, control_plane_handler(state)).await?;
                Ok(())
            }
        });
    }
    let edge_cell = Rc::new(RefCell::new(Some(edge)));
    let agent_timeout = Duration::from_secs_f64(model.network.client_timeout_s);
    {
        let (observer, edge_cell) = (observer.clone(), edge_cell.clone());
        sim.host(EDGE, move || {
            let (observer, edge_cell) = (observer.clone(), edge_cell.clone());
            async move {
                let clock = Clock::start(window.start, 1);
                let state = Rc::new(RefCell::new(EdgeProxy {
                    edge: edge_cell.borrow_mut().take().unwrap_or_default(),
                    transport: SimNet,
                    control_plane: authority(CONTROL_PLANE, CONTROL_PLANE_PORT),
                    default_backend: authority(EDGE, DEFAULT_BACKEND_PORT),
                    upstream_timeout: Duration::from_secs_f64(EDGE_UPSTREAM_TIMEOUT_S),
                    secret,
                    clock,
                    observer,
                }));
                let backend =
                    turmoil::net::TcpListener::bind(bind_addr(DEFAULT_BACKEND_PORT)).await?;
                tokio::task::spawn_local(serve(backend, default_backend_handler()));
                let l = turmoil::net::TcpListener::bind(bind_addr(EDGE_PORT)).await?;
                serve(l, edge_handler(state)).await?;
                Ok(())
            }
        });
    }
    let cloud_state = Rc::new(RefCell::new(None::<Rc<RefCell<CloudServer>>>));
    let cloud_cell = Rc::new(RefCell::new(Some(cloud)));
    {
        let (observer, cloud_state, cloud_cell) =
            (observer.clone(), cloud_state.clone(), cloud_cell.clone());
        sim.host(CLOUD, move || {
            let (observer, cloud_state, cloud_cell) =
                (observer.clone(), cloud_state.clone(), cloud_cell.clone());
            async move {
                let clock = Clock::start(window.start, 1);
                let state = match cloud_state.borrow().clone() {
                    Some(s) => s,
                    None => Rc::new(RefCell::new(CloudServer {
                        api: cloud_cell.borrow_mut().take().expect("cloud taken once"),
                        clusters: n as u32,
                        secret,
                        clock,
                        observer,
                    })),
                };
                *cloud_state.borrow_mut() = Some(state.clone());
                let l = turmoil::net::TcpListener::bind(bind_addr(CLOUD_PORT)).await?;
                serve(l, cloud_handler(state)).await?;
                Ok(())
            }
        });
    }

    // Agents, grouped onto hosts.
    let aborts: Rc<RefCell<BTreeMap<ClusterId, AbortHandle>>> = Rc::default();
    let mut agent_hosts = Vec::new();
    for (h, group) in slice.chunks(per_host as usize).enumerate() {
        let name = format!("agents-{h}");
        agent_hosts.push(name.clone());
        let group: Vec<ClusterId> = group.to_vec();
        let (observer, aborts) = (observer.clone(), aborts.clone());
        let agent_cfg = model.agent.clone();
        sim.host(name, move || {
            let (observer, aborts, group, agent_cfg) = (
                observer.clone(),
                aborts.clone(),
                group.clone(),
                agent_cfg.clone(),
            );
            async move {
                let clock = Clock::start(window.start, 1);
                for c in group {
                    let (phase, rng) = agent_phase(seed, c, &agent_cfg, window.start);
                    let cfg = DriverConfig {
                        cluster: c,
                        token: api::cluster_token(secret, c),
                        control_plane: authority(EDGE, EDGE_PORT),
                        cloud: authority(CLOUD, CLOUD_PORT),
                        request_timeout: agent_timeout,
                        agent: agent_cfg.clone(),
                        guards,
                    };
                    let task = tokio::task::spawn_local(run_agent(
                        SimNet,
                        clock,
                        cfg,
                        phase,
                        rng,
                        observer.clone(),
                    ));
                    aborts.borrow_mut().insert(c, task.abort_handle());
                }
                // The host stays up; its agents run as tasks.
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }

    // The director replays the window's timeline steps through the admin API.
    {
        let book = book.clone();
        sim.client(DIRECTOR, async move {
            let clock = Clock::start(window.start, 1);
            let admin = api::admin_token(secret);
            for step in script {
                clock.sleep_until(step.at).await;
                let (host, method, path, body, what) = match &step.kind {
                    StepKind::Routing {
                        ratio,
                        salt,
                        set_by,
                    } => (
                        authority(EDGE, EDGE_PORT),
                        "PUT",
                        "/admin/routing",
                        serde_json::to_string(&RoutingDoc {
                            misroute_ratio: *ratio,
                            misroute_salt: *salt,
                            set_by: set_by.clone(),
                        })?,
                        format!("{}: routing misroutes {:.0} %", step.item, ratio * 100.0),
                    ),
                    StepKind::Fix { set_by } => (
                        authority(EDGE, EDGE_PORT),
                        "POST",
                        "/admin/routing/fix",
                        serde_json::to_string(&FixDoc {
                            set_by: set_by.clone(),
                        })?,
                        format!("{}: routing fixed ({set_by})", step.item),
                    ),
                    StepKind::Faults(f) => (
                        authority(CONTROL_PLANE, CONTROL_PLANE_PORT),
                        "PUT",
                        "/admin/faults",
                        serde_json::to_string(&FaultsDoc {
                            server_error_ratio: f.server_error_ratio,
                            timeout_ratio: f.timeout_ratio,
                            generation_regression: f.generation_regression,
                            partial_ratio: f.partial_ratio,
                        })?,
                        format!("{}: service faults {f:?}", step.item),
                    ),
                };
                let mut done = false;
                for _ in 0..ADMIN_TRIES_MAX {
                    let x = exchange(
                        &SimNet,
                        &host,
                        method,
                        path,
                        Some(&admin),
                        Some(body.clone()),
                        agent_timeout,
                    )
                    .await;
                    if matches!(x, api::Exchange::Reply { status: 200, .. }) {
                        done = true;
                        break;
                    }
                }
                let mut b = book.borrow_mut();
                if done {
                    b.enacted.push((clock.now(), what));
                } else {
                    b.admin_failures += 1;
                    b.enacted.push((clock.now(), format!("{what} FAILED")));
                }
            }
            clock.sleep_until(window.end()).await;
            Ok(())
        });
    }

    // The loop: faults between ticks, agents taken down with their pool.
    let hosts_of = |side: Side| -> Vec<String> {
        match side {
            Side::Agents => agent_hosts.clone(),
            Side::Edge => vec![EDGE.into()],
            Side::ControlPlane => vec![CONTROL_PLANE.into()],
            Side::Cloud => vec![CLOUD.into()],
        }
    };
    // Window-relative times; begin/end order as every driver's (the kernel's).
    let mut schedule = FaultSchedule::new();
    for f in &opts.net_faults {
        schedule.add(SimTime::ZERO + f.at, Some(f.len), *f);
    }
    let fault_edges = schedule.edges();
    let mut next_fault = 0;
    let steps_max = window.len.as_micros() / opts.tick.as_micros().max(1) as u64 + 1_000;
    let mut steps_taken = 0u64;
    let mut error = None;
    loop {
        let elapsed = SimDuration::from_micros(sim.elapsed().as_micros() as u64);
        while next_fault < fault_edges.len() && fault_edges[next_fault].0 <= SimTime::ZERO + elapsed
        {
            let (_, edge) = fault_edges[next_fault];
            let (i, begin) = match edge {
                FaultEdge::Begin(i) => (i, true),
                FaultEdge::End(i) => (i, false),
            };
            let f = schedule.get(i).action;
            for a in hosts_of(f.a) {
                for b in hosts_of(f.b) {
                    let (a, b) = (a.as_str(), b.as_str());
                    match (f.kind, begin) {
                        (NetFaultKind::Partition, true) => sim.partition(a, b),
                        (NetFaultKind::Partition, false) => sim.repair(a, b),
                        (NetFaultKind::Hold, true) => sim.hold(a, b),
                        (NetFaultKind::Hold, false) => sim.release(a, b),
                    }
                }
            }
            next_fault += 1;
        }
        if steps_taken >= steps_max {
            error = Some(format!("step limit {steps_max} reached"));
            break;
        }
        steps_taken += 1;
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
        let kills = std::mem::take(&mut book.borrow_mut().kills);
        for c in kills {
            if let Some(h) = aborts.borrow_mut().remove(&c) {
                h.abort();
            }
        }
    }

    // The end state.
    let cloud_now = cloud_state.borrow().clone();
    let control_now = control.borrow().clone();
    let not_converged = match (cloud_now, control_now) {
        (Some(cloud), Some(control)) => {
            let (cloud, control) = (cloud.borrow(), control.borrow());
            slice
                .iter()
                .copied()
                .filter(|&c| !pools_converged(control.service.state(c), cloud.api.pools(c)))
                .collect()
        }
        _ => slice.clone(),
    };
    drop(sim);
    let b = book.borrow();
    Ok(WireResult {
        seed: seed_value,
        epoch: scenario.epoch,
        window,
        guards,
        hit,
        misroute: first.map(|s| {
            let ratio = match s.kind {
                StepKind::Routing { ratio, .. } => ratio,
                _ => 0.0,
            };
            (s.at, s.item.clone(), ratio)
        }),
        hosts: 4 + agent_hosts.len() as u32,
        agents_per_host: per_host,
        steps: steps_taken,
        lost: b.lost.clone(),
        dead: b.dead.clone(),
        answers: b.answers.clone(),
        calls: b.calls.clone(),
        deletes_accepted: b.deletes_accepted,
        creates_accepted: b.creates_accepted,
        blocked_by_guard: b.blocked,
        holds_entered: b.holds_entered,
        holds_left: b.holds_left,
        i1_findings: b.i1,
        enacted: b.enacted.clone(),
        not_modelled: plan
            .not_modelled
            .into_iter()
            .filter(|n| n.at >= window.start && n.at < window.end())
            .collect(),
        admin_failures: b.admin_failures,
        not_converged,
        trace_hash: b.trace.hash(),
        error,
        slice,
    })
}

/// The terminal summary of a wire run (the caller prints `SEED=` before it
/// and the reproduction line after it).
pub fn render_text(r: &WireResult, scenario: &Scenario) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let e = &r.epoch;
    let _ = writeln!(
        o,
        "scenario  {} ({})",
        scenario.name,
        scenario.source.display()
    );
    let _ = writeln!(
        o,
        "tier      wire: turmoil, {} hosts ({} agent{} per host), {} steps",
        r.hosts,
        r.agents_per_host,
        if r.agents_per_host == 1 { "" } else { "s" },
        r.steps
    );
    let _ = writeln!(
        o,
        "window    {} .. {} ({})",
        e.format(r.window.start),
        e.format(r.window.end()),
        r.window.len
    );
    let version = if r.guards.is_buggy() {
        "buggy (404 read as \"no pools\")".to_string()
    } else {
        let on: Vec<&str> = Guard::ALL
            .iter()
            .filter(|g| guard_on(&r.guards, **g))
            .map(|g| g.name())
            .collect();
        format!("fixed ({})", on.join(" "))
    };
    let _ = writeln!(o, "agent     {version}");
    match &r.misroute {
        Some((at, item, ratio)) => {
            let _ = writeln!(
                o,
                "slice     {} of {} clusters; {} hit by the first misroute ({item} at {}, {:.0} % of the fleet)",
                r.slice.len(),
                scenario.model.fleet.clusters,
                r.hit.len(),
                e.format(*at),
                ratio * 100.0
            );
        }
        None => {
            let _ = writeln!(
                o,
                "slice     {} of {} clusters; the timeline misroutes none",
                r.slice.len(),
                scenario.model.fleet.clusters
            );
        }
    }
    let _ = writeln!(o, "\nTimeline steps enacted through the admin API");
    if r.enacted.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for (at, what) in &r.enacted {
        let _ = writeln!(o, "  {}  {what}", e.format(*at));
    }
    if !r.not_modelled.is_empty() {
        let _ = writeln!(
            o,
            "\nTimeline effects in the window this tier does not model (the fleet tier's)"
        );
        for n in &r.not_modelled {
            let _ = writeln!(o, "  {}  {}: {}", e.format(n.at), n.item, n.effect);
        }
    }
    let _ = writeln!(o, "\nOutcome");
    let ids = |m: &BTreeMap<ClusterId, SimTime>| {
        m.keys()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        o,
        "  clusters that lost pools  {:>4}  [{}]",
        r.lost.len(),
        ids(&r.lost)
    );
    let _ = writeln!(
        o,
        "  agents dead               {:>4}  [{}]",
        r.dead.len(),
        ids(&r.dead)
    );
    let _ = writeln!(
        o,
        "  not converged at the end  {:>4}",
        r.not_converged.len()
    );
    let kinds = ["200", "404", "5xx", "429", "timeout", "connection_error"];
    let answers: Vec<String> = kinds
        .iter()
        .map(|k| format!("{k} {}", r.answers.get(k).copied().unwrap_or(0)))
        .collect();
    let _ = writeln!(o, "  answers by kind           {}", answers.join(", "));
    let calls: Vec<String> = r.calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        o,
        "  agent cloud calls         {}",
        if calls.is_empty() {
            "none".to_string()
        } else {
            calls.join(", ")
        }
    );
    let _ = writeln!(
        o,
        "  deletes accepted {}, creates accepted {}, holds entered {} / left {}",
        r.deletes_accepted, r.creates_accepted, r.holds_entered, r.holds_left
    );
    let blocked: Vec<String> = Guard::ALL
        .iter()
        .filter(|g| r.blocked_by_guard[**g as usize] > 0)
        .map(|g| format!("{} {}", g.name(), r.blocked_by_guard[*g as usize]))
        .collect();
    let _ = writeln!(
        o,
        "  blocked by guard          {}",
        if blocked.is_empty() {
            "none".to_string()
        } else {
            blocked.join(", ")
        }
    );
    let _ = writeln!(
        o,
        "  I1 findings               {:>4}{}",
        r.i1_findings,
        if r.guards.is_buggy() && r.i1_findings > 0 {
            "  (the buggy agent's deletes without authority: expected)"
        } else {
            ""
        }
    );
    if let Some(err) = &r.error {
        let _ = writeln!(o, "  simulation error: {err}");
    }
    let _ = writeln!(o, "\ntrace hash {:016x}", r.trace_hash);
    let _ = writeln!(
        o,
        "result    {}",
        if r.passed() {
            "ok"
        } else if r.error.is_some() || r.admin_failures > 0 {
            "FAILED: the simulation did not run its course"
        } else {
            "FAILED: the fixed agent lost pools or deleted without authority"
        }
    );
    o
}

fn guard_on(g: &Guards, guard: Guard) -> bool {
    match guard {
        Guard::G1 => g.g1_authoritative_only,
        Guard::G2 => g.g2_tombstones,
        Guard::G3 => g.g3_monotonic_generation,
        Guard::G4 => g.g4_confirmation,
        Guard::G5 => g.g5_blast_radius,
        Guard::G6 => g.g6_delete_locks,
        Guard::G7 => g.g7_backoff,
        Guard::G8 => g.g8_soft_delete,
    }
}

/// The copy-paste line that reproduces a wire run.
pub fn reproduction_line(scenario_path: &str, seed: u64, clusters: u32, window: Window) -> String {
    format!(
        "cargo run --release -- wire {scenario_path} --seed {seed} --clusters {clusters} --from +{} --for {}   # at commit {}",
        SimDuration::from_micros(window.start.as_micros()),
        window.len,
        env!("CASCADE_COMMIT")
    )
}
