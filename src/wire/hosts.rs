//! The hosts of a wire run, added to the turmoil simulation one function
//! each: the control plane's desired-state service, the edge with its 404
//! default backend, the cloud node-pool API, the agents (grouped onto
//! hosts), and the director that replays the window's timeline steps
//! through the admin endpoints.
//!
//! The servers' state lives outside the hosts (in a [`Shared`] cell): it is
//! the harness's to read at the end, and would survive a bounce as a
//! database would.

use super::api::{self, FaultsDoc, FixDoc, RoutingDoc};
use super::book::Book;
use super::clock::Clock;
use super::driver::{run_agent, DriverConfig};
use super::http::{exchange, serve};
use super::net::SimNet;
use super::observe::Observer;
use super::plan::{Step, StepKind, Window};
use super::servers::{
    cloud_handler, control_plane_handler, default_backend_handler, edge_handler, CloudServer,
    ControlPlane, EdgeProxy,
};
use crate::model::agent::{AgentConfig, Guards};
use crate::plant::agent_phase;
use crate::plant::cloud::CloudApi;
use crate::plant::control::{DesiredService, Edge};
use crate::protocol::ClusterId;
use cascade_sim::{Seed, Stream};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;
use tokio::task::AbortHandle;

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
/// The edge's route timeout: longer than the agents' own, as proxies' are.
const EDGE_UPSTREAM_TIMEOUT_S: f64 = 15.0;

/// A server's state, once its host has started.
pub(super) type Shared<T> = Rc<RefCell<Option<Rc<RefCell<T>>>>>;

/// What every host needs.
#[derive(Clone)]
pub(super) struct HostContext {
    pub window: Window,
    /// Tokens derive from it (admin and per-cluster).
    pub key: api::TokenKey,
    pub observer: Rc<dyn Observer>,
    /// The agents' (and the director's) request timeout.
    pub agent_timeout: Duration,
}

/// The agent hosts: their names, and each agent's task to abort when its
/// `system` pool goes.
pub(super) struct AgentHosts {
    pub names: Vec<String>,
    pub aborts: Rc<RefCell<BTreeMap<ClusterId, AbortHandle>>>,
}

fn bind_addr(port: u16) -> (IpAddr, u16) {
    (IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

fn authority(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

/// The control plane's desired-state service (`:8080`).
pub(super) fn add_control_plane(
    sim: &mut turmoil::Sim<'_>,
    ctx: &HostContext,
    service: DesiredService,
    rng: Stream,
) -> Shared<ControlPlane> {
    let HostContext {
        window,
        key,
        observer,
        ..
    } = ctx.clone();
    let control = Rc::new(RefCell::new(None::<Rc<RefCell<ControlPlane>>>));
    let service_cell = Rc::new(RefCell::new(Some((service, rng))));
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
                            key,
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
    control
}

/// The edge (`:80`, the agents' control-plane URL) and its default
/// backend (`:8081`, answers 404).
pub(super) fn add_edge(sim: &mut turmoil::Sim<'_>, ctx: &HostContext, edge: Edge) {
    let HostContext {
        window,
        key,
        observer,
        ..
    } = ctx.clone();
    let edge_cell = Rc::new(RefCell::new(Some(edge)));
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
                    key,
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
}

/// The cloud node-pool API (`:80`) for a fleet of `clusters`.
pub(super) fn add_cloud(
    sim: &mut turmoil::Sim<'_>,
    ctx: &HostContext,
    cloud: CloudApi,
    clusters: u32,
) -> Shared<CloudServer> {
    let HostContext {
        window,
        key,
        observer,
        ..
    } = ctx.clone();
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
                        clusters,
                        key,
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

    cloud_state
}

/// The agents of `slice`, `per_host` to a host, each started with the
/// phases the fleet tier gives it, continued to the window.
pub(super) fn add_agents(
    sim: &mut turmoil::Sim<'_>,
    ctx: &HostContext,
    slice: &[ClusterId],
    per_host: u32,
    agent_cfg: &AgentConfig,
    guards: Guards,
    seed: Seed,
) -> AgentHosts {
    let HostContext {
        window,
        key,
        observer,
        agent_timeout,
    } = ctx.clone();
    // Agents, grouped onto hosts.
    let aborts: Rc<RefCell<BTreeMap<ClusterId, AbortHandle>>> = Rc::default();
    let mut agent_hosts = Vec::new();
    for (h, group) in slice.chunks(per_host as usize).enumerate() {
        let name = format!("agents-{h}");
        agent_hosts.push(name.clone());
        let group: Vec<ClusterId> = group.to_vec();
        let (observer, aborts) = (observer.clone(), aborts.clone());
        let agent_cfg = agent_cfg.clone();
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
                    let phase = agent_phase(seed, c, &agent_cfg, window.start);
                    let cfg = DriverConfig {
                        cluster: c,
                        token: api::cluster_token(&key, c),
                        control_plane: authority(EDGE, EDGE_PORT),
                        cloud: authority(CLOUD, CLOUD_PORT),
                        request_timeout: agent_timeout,
                        agent: agent_cfg.clone(),
                        guards,
                        report_hold: false,
                    };
                    let task = tokio::task::spawn_local(run_agent(
                        SimNet,
                        clock,
                        cfg,
                        phase,
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

    AgentHosts {
        names: agent_hosts,
        aborts,
    }
}

/// The director (a turmoil client): replays `script` through the admin
/// endpoints at the steps' times and ends the run at the window's end.
pub(super) fn add_director(
    sim: &mut turmoil::Sim<'_>,
    ctx: &HostContext,
    script: Vec<Step>,
    book: Rc<RefCell<Book>>,
) {
    let HostContext {
        window,
        key,
        agent_timeout,
        ..
    } = ctx.clone();
    // The director replays the window's timeline steps through the admin API.
    {
        let book = book.clone();
        sim.client(DIRECTOR, async move {
            let clock = Clock::start(window.start, 1);
            let admin = api::admin_token(&key);
            for step in script {
                clock.sleep_until(step.at).await;
                let (host, method, path, body, what) = match &step.kind {
                    StepKind::Routing {
                        ratio,
                        salt,
                        cells_mask,
                        set_by,
                        ..
                    } => (
                        authority(EDGE, EDGE_PORT),
                        "PUT",
                        "/admin/routing",
                        serde_json::to_string(&RoutingDoc {
                            misroute_ratio: *ratio,
                            misroute_salt: *salt,
                            misroute_cells: *cells_mask,
                            set_by: set_by.clone(),
                        })?,
                        if *cells_mask == 0 {
                            format!("{}: routing misroutes {:.0} %", step.item, ratio * 100.0)
                        } else {
                            format!(
                                "{}: routing misses the path in {} cells",
                                step.item,
                                cells_mask.count_ones()
                            )
                        },
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
}
