//! A wire run: a scenario slice in turmoil. [`run_slice`] reads as its
//! steps: `prepare` (options, plan, window, slice, plant), the plant as
//! the window finds it, the hosts (`hosts`), `drive` (turmoil stepped,
//! faults between ticks), and the end state as a [`WireResult`].
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

use super::book::{Book, BookObserver};
use super::hosts::{self, AgentHosts, HostContext};
pub use super::hosts::{CLOUD, CONTROL_PLANE, DIRECTOR, EDGE};
use super::plan::{self, NotModelled, SliceRule, Step, StepKind, Window};
use crate::model::agent::{AgentStatus, Guard, GuardCounts, Guards};
use crate::plant::control::misrouted;
pub use crate::plant::InitialPools;
use crate::plant::{convergence, streams, Plant};
use crate::protocol::{AnswerCounts, ClusterId, PoolSet};
use crate::scenario::Scenario;
use cascade_sim::{Epoch, FaultEdge, FaultSchedule, Seed, SimDuration, SimTime};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Agents beyond this share hosts (see the module doc).
pub const AGENTS_ONE_PER_HOST_MAX: u32 = 40;
/// turmoil's per-socket buffer and listen backlog. A kernel drops SYNs past
/// its backlog; turmoil panics instead, and a hold releases every SYN that
/// piled up at once (agents x retries), so the backlog is far above that.
const TCP_CAPACITY: usize = 1 << 16;

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
    /// Answers agents acted on, by kind.
    pub answers: AnswerCounts,
    /// Agent cloud calls by outcome (`accepted`, `rate_limited`, …).
    pub calls: BTreeMap<&'static str, u64>,
    pub deletes_accepted: u64,
    pub creates_accepted: u64,
    pub blocked_by_guard: GuardCounts,
    pub holds_entered: u64,
    pub holds_left: u64,
    /// I1 findings: deletes without an authoritative answer carrying intent.
    pub i1_findings: u64,
    /// Timeline steps enacted in the window, with their times.
    pub enacted: Vec<(SimTime, String)>,
    /// Timeline effects in the window that this tier does not carry out.
    pub not_modelled: Vec<NotModelled>,
    pub admin_failures: u32,
    /// Slice clusters not fully converged at the end (pools, or the agent
    /// down, in hold, behind on generation or failing its polls).
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

/// Runs a slice of `scenario` in turmoil.
pub fn run_slice(scenario: &Scenario, opts: &WireOptions) -> Result<WireResult, WireError> {
    let setup = prepare(scenario, opts)?;
    let Setup {
        seed,
        guards,
        window,
        slice,
        hit,
        per_host,
        ..
    } = setup;
    let n = setup.plant.fleet.len() as u32;
    let desired: Vec<PoolSet> = setup
        .plant
        .fleet
        .clusters
        .iter()
        .map(|c| c.desired_pools)
        .collect();
    let (start, script) = state_at_window_start(setup.plant, &setup.plan.steps, window);
    let book = Rc::new(RefCell::new(Book::new(desired)));
    let ctx = HostContext {
        window,
        key: super::api::TokenKey::from_seed(seed),
        observer: Rc::new(BookObserver(book.clone())),
        agent_timeout: Duration::from_secs_f64(scenario.model.network.client_timeout_s),
    };

    let mut sim = turmoil::Builder::new()
        .rng_seed(seed.derive(streams::TURMOIL, 0).0)
        .tick_duration(opts.tick)
        .tcp_capacity(TCP_CAPACITY)
        .simulation_duration(Duration::from_micros(window.len.as_micros()) + opts.tick * 10)
        // Every hop lands on the next tick: latency well below a tick.
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(opts.tick.mul_f64(0.5).max(Duration::from_millis(1)))
        .build();
    let control = hosts::add_control_plane(&mut sim, &ctx, start.service, start.service_rng);
    hosts::add_edge(&mut sim, &ctx, start.edge);
    let cloud = hosts::add_cloud(&mut sim, &ctx, start.cloud, n);
    let agents = hosts::add_agents(
        &mut sim,
        &ctx,
        &slice,
        per_host,
        &scenario.model.agent,
        guards,
        seed,
    );
    hosts::add_director(&mut sim, &ctx, script, book.clone());

    let steps_max = window.len.as_micros() / opts.tick.as_micros().max(1) as u64 + 1_000;
    let (steps, error) = drive(&mut sim, &opts.net_faults, &agents, &book, steps_max);

    // The end state: the servers' state as the run left it.
    let cloud_now = cloud.borrow().clone();
    let control_now = control.borrow().clone();
    // An agent that never reported is not known to be settled.
    let never_reported = AgentStatus {
        alive: false,
        in_hold: false,
        generation: 0,
        last_poll_ok: false,
    };
    let not_converged = match (cloud_now, control_now) {
        (Some(cloud), Some(control)) => {
            let (cloud, control, b) = (cloud.borrow(), control.borrow(), book.borrow());
            slice
                .iter()
                .copied()
                .filter(|&c| {
                    let agent = b.agent_status.get(&c).copied().unwrap_or(never_reported);
                    convergence(control.service.state(c), cloud.api.pools(c), agent).any()
                })
                .collect()
        }
        _ => slice.clone(),
    };
    drop(sim);
    let b = book.borrow();
    Ok(WireResult {
        seed: seed.0,
        epoch: scenario.epoch,
        window,
        guards,
        hit,
        misroute: plan::first_misroute(&setup.plan.steps).map(|s| {
            // The share of the fleet it misroutes, measured (by cell or by share).
            let share = plan::version_of(s).map_or(0.0, |v| {
                (0..n).filter(|&c| misrouted(&v, c)).count() as f64 / f64::from(n.max(1))
            });
            (s.at, s.item.clone(), share)
        }),
        hosts: 4 + agents.names.len() as u32,
        agents_per_host: per_host,
        steps,
        lost: b.lost.clone(),
        dead: b.dead.clone(),
        answers: b.answers,
        calls: b.calls.clone(),
        deletes_accepted: b.deletes_accepted,
        creates_accepted: b.creates_accepted,
        blocked_by_guard: b.blocked,
        holds_entered: b.holds_entered,
        holds_left: b.holds_left,
        i1_findings: b.i1,
        enacted: b.enacted.clone(),
        not_modelled: setup
            .plan
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

/// What a wire run is set up from: the options checked, the timeline's
/// plan, the window, the slice, and the plant built from the scenario.
struct Setup {
    seed: Seed,
    guards: Guards,
    plan: plan::Plan,
    window: Window,
    slice: Vec<ClusterId>,
    /// Slice clusters the first misroute hits.
    hit: Vec<ClusterId>,
    per_host: u32,
    plant: Plant,
}

/// Checks the options and builds the plant (slice clusters provisioned).
fn prepare(scenario: &Scenario, opts: &WireOptions) -> Result<Setup, WireError> {
    let seed = Seed(opts.seed.unwrap_or(scenario.seed));
    let model = &scenario.model;
    let guards = opts.guards.unwrap_or(model.agent_guards);
    if opts.clusters == 0 {
        return Err(WireError("--clusters: expected at least 1".into()));
    }
    if opts.tick < Duration::from_millis(1) || opts.tick > Duration::from_secs(1) {
        return Err(WireError("tick: expected 1 ms to 1 s".into()));
    }
    let plan = plan::plan(&scenario.timeline, model, seed, scenario.epoch);
    let window = opts
        .window
        .unwrap_or_else(|| plan::default_window(&plan.steps, scenario.end));
    if window.len == SimDuration::ZERO || window.end() > scenario.end {
        return Err(WireError(format!(
            "window: expected a non-empty stretch within the scenario (it ends {})",
            scenario.epoch.format(scenario.end)
        )));
    }
    let first_version = plan::first_misroute(&plan.steps).and_then(plan::version_of);
    let mut plant = Plant::build(&model.fleet, &model.cloud, model.network.edge_cells, seed);
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
        .filter(|&c| first_version.as_ref().is_some_and(|v| misrouted(v, c)))
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
    Ok(Setup {
        seed,
        guards,
        plan,
        window,
        slice,
        hit,
        per_host,
        plant,
    })
}

/// The plant as the window finds it (the steps before it applied), and
/// the steps inside it, for the director.
fn state_at_window_start(mut plant: Plant, steps: &[Step], window: Window) -> (Plant, Vec<Step>) {
    let mut script = Vec::new();
    for s in steps.iter().filter(|s| s.at < window.end()) {
        if s.at >= window.start {
            script.push(s.clone());
            continue;
        }
        match &s.kind {
            StepKind::Routing {
                ratio,
                salt,
                cells_mask,
                set_by,
                ..
            } => {
                plant
                    .edge
                    .apply_routing(s.at, *ratio, *salt, *cells_mask, set_by);
            }
            StepKind::Fix { set_by } => {
                plant.edge.fix(s.at, set_by);
            }
            StepKind::Faults(f) => plant.service.faults = *f,
        }
    }
    (plant, script)
}

/// Steps turmoil to the end: network faults applied between ticks, agents
/// taken down with their `system` pool. Returns the steps taken and the
/// error that stopped the run early, if any.
fn drive(
    sim: &mut turmoil::Sim<'_>,
    net_faults: &[NetFault],
    agents: &AgentHosts,
    book: &Rc<RefCell<Book>>,
    steps_max: u64,
) -> (u64, Option<String>) {
    let hosts_of = |side: Side| -> Vec<String> {
        match side {
            Side::Agents => agents.names.clone(),
            Side::Edge => vec![EDGE.into()],
            Side::ControlPlane => vec![CONTROL_PLANE.into()],
            Side::Cloud => vec![CLOUD.into()],
        }
    };
    // Window-relative times; begin/end order as every driver's (the kernel's).
    let mut schedule = FaultSchedule::new();
    for f in net_faults {
        schedule.add(SimTime::ZERO + f.at, Some(f.len), *f);
    }
    let fault_edges = schedule.edges();
    let mut next_fault = 0;
    let mut steps_taken = 0u64;
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
            return (steps_taken, Some(format!("step limit {steps_max} reached")));
        }
        steps_taken += 1;
        match sim.step() {
            Ok(true) => return (steps_taken, None),
            Ok(false) => {}
            Err(e) => return (steps_taken, Some(e.to_string())),
        }
        let kills = std::mem::take(&mut book.borrow_mut().kills);
        for c in kills {
            if let Some(h) = agents.aborts.borrow_mut().remove(&c) {
                h.abort();
            }
        }
    }
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
    let answers: Vec<String> = r
        .answers
        .iter()
        .map(|(k, n)| format!("{} {n}", k.name()))
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
    let blocked: Vec<String> = r
        .blocked_by_guard
        .nonzero()
        .map(|(g, n)| format!("{} {n}", g.name()))
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
