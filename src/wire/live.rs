//! The live tier: the wire tier's servers and agent driver on real sockets.
//!
//! [`Servers::start`] runs the desired-state service, the edge (with its
//! default backend and admin routing switch) and the cloud API on a thread
//! of their own, bound to loopback unless told otherwise. [`run_agent`]
//! runs one real agent against them. Time is the wall clock, sped up by an
//! integer `time_scale` (at 600, a simulated minute passes in 100 ms), so a
//! demo or a test sees polls, pool creations and full resyncs in seconds
//! with the model's own parameters.
//!
//! Everything is on the current thread inside a `LocalSet`, like a turmoil
//! host: the servers share the same `Rc` state code as the wire tier.

use super::api::{self, Exchange};
use super::clock::Clock;
use super::driver::{self, DriverConfig};
use super::harness::InitialPools;
use super::http::{exchange, serve_with, ServerLimits};
use super::net::RealNet;
use super::observe::Observer;
use super::servers::{
    cloud_handler, control_plane_handler, default_backend_handler, edge_handler, CloudServer,
    ControlPlane, EdgeProxy,
};
use crate::model::agent::{AgentConfig, AgentOutput, Guards};
use crate::plant::agent_phase;
use crate::plant::cloud::{CloudCall, CloudConfig, CloudReply, Completion};
use crate::plant::control::{EdgeVersion, ServiceFaults};
use crate::plant::fleet::FleetConfig;
use crate::plant::Plant;
use crate::protocol::DesiredAnswer;
use crate::protocol::{ClusterId, PoolName};
use crate::wire::api::CallOutcome;
use cascade_sim::{Seed, SimTime};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What `cascade serve` starts.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The edge: the control plane's public address.
    pub listen: SocketAddr,
    /// The cloud API.
    pub cloud_listen: SocketAddr,
    pub clusters: u32,
    /// Fleet shape and cloud draws.
    pub seed: u64,
    /// Every token derives from it: random unless given (`--token-file`).
    pub token_key: api::TokenKey,
    /// Connections and timeouts each server grants.
    pub limits: ServerLimits,
    /// Simulated seconds per wall second.
    pub time_scale: u32,
    pub initial_pools: InitialPools,
    /// Cloud delete locks on `system` and `airflow` (G6).
    pub delete_locks: bool,
    /// Print every routing switch and cloud call.
    pub verbose: bool,
}

/// Running servers; dropping them stops them.
pub struct Servers {
    pub edge: SocketAddr,
    pub cloud: SocketAddr,
    /// Not behind the edge: its `/admin/faults` is reachable only here.
    pub control_plane: SocketAddr,
    pub default_backend: SocketAddr,
    pub key: api::TokenKey,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

/// The edge's route timeout, wall time: above any agent's own timeout.
const EDGE_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(15);

impl Servers {
    /// Binds every server, then serves on a thread of its own.
    pub fn start(cfg: ServeConfig) -> io::Result<Servers> {
        if cfg.clusters == 0 || cfg.time_scale == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "clusters and time scale must be at least 1",
            ));
        }
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("cascade-serve".into())
            .spawn(move || -> io::Result<()> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    let bound = bind_all(&cfg).await;
                    let (listeners, addrs) = match bound {
                        Ok(x) => x,
                        Err(e) => {
                            let _ = addr_tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                            return Err(e);
                        }
                    };
                    let _ = addr_tx.send(Ok(addrs));
                    start_servers(&cfg, listeners, addrs);
                    // Serve until stopped (or until the handle is dropped).
                    let _ = stop_rx.await;
                    Ok(())
                })
            })?;
        let addrs = addr_rx
            .recv()
            .map_err(|_| io::Error::other("server thread ended before binding"))??;
        Ok(Servers {
            edge: addrs.edge,
            cloud: addrs.cloud,
            control_plane: addrs.control_plane,
            default_backend: addrs.default_backend,
            key: addrs.token_key,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn admin_token(&self) -> String {
        api::admin_token(&self.key)
    }

    pub fn token(&self, cluster: ClusterId) -> String {
        api::cluster_token(&self.key, cluster)
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

#[derive(Clone, Copy)]
struct Addrs {
    edge: SocketAddr,
    cloud: SocketAddr,
    control_plane: SocketAddr,
    default_backend: SocketAddr,
    token_key: api::TokenKey,
}

struct Listeners {
    edge: tokio::net::TcpListener,
    cloud: tokio::net::TcpListener,
    control_plane: tokio::net::TcpListener,
    default_backend: tokio::net::TcpListener,
}

async fn bind_all(cfg: &ServeConfig) -> io::Result<(Listeners, Addrs)> {
    use tokio::net::TcpListener;
    // The internal servers are never exposed: loopback, any free port.
    let internal = SocketAddr::from(([127, 0, 0, 1], 0));
    let l = Listeners {
        edge: TcpListener::bind(cfg.listen).await?,
        cloud: TcpListener::bind(cfg.cloud_listen).await?,
        control_plane: TcpListener::bind(internal).await?,
        default_backend: TcpListener::bind(internal).await?,
    };
    let a = Addrs {
        edge: l.edge.local_addr()?,
        cloud: l.cloud.local_addr()?,
        control_plane: l.control_plane.local_addr()?,
        default_backend: l.default_backend.local_addr()?,
        token_key: cfg.token_key,
    };
    Ok((l, a))
}

fn start_servers(cfg: &ServeConfig, l: Listeners, a: Addrs) {
    let seed = Seed(cfg.seed);
    let key = cfg.token_key;
    let clock = Clock::start(SimTime::ZERO, cfg.time_scale);
    let observer: Rc<dyn Observer> = Rc::new(Printer {
        clock,
        verbose: cfg.verbose,
    });
    let mut plant = Plant::build(
        &FleetConfig {
            clusters: cfg.clusters,
            ..FleetConfig::default()
        },
        &CloudConfig::default(),
        crate::config::NetworkConfig::default().edge_cells,
        seed,
    );
    plant.cloud.set_delete_locks(cfg.delete_locks);
    plant.provision_all(cfg.initial_pools);
    let Plant {
        cloud,
        service,
        service_rng,
        edge,
        ..
    } = plant;
    let control = Rc::new(RefCell::new(ControlPlane {
        service,
        rng: service_rng,
        key,
        clock,
        observer: observer.clone(),
    }));
    let edge = Rc::new(RefCell::new(EdgeProxy {
        edge,
        transport: RealNet,
        control_plane: a.control_plane.to_string(),
        default_backend: a.default_backend.to_string(),
        upstream_timeout: EDGE_UPSTREAM_TIMEOUT,
        key,
        clock,
        observer: observer.clone(),
    }));
    let cloud = Rc::new(RefCell::new(CloudServer {
        api: cloud,
        clusters: cfg.clusters,
        key,
        clock,
        observer,
    }));
    let limits = cfg.limits;
    tokio::task::spawn_local(serve_with(
        l.control_plane,
        control_plane_handler(control),
        limits,
    ));
    tokio::task::spawn_local(serve_with(
        l.default_backend,
        default_backend_handler(),
        limits,
    ));
    tokio::task::spawn_local(serve_with(l.edge, edge_handler(edge), limits));
    tokio::task::spawn_local(serve_with(l.cloud, cloud_handler(cloud), limits));
}

/// Whole seconds since the clock's origin, as `+1h2m3s`.
fn stamp(t: SimTime) -> String {
    let whole = cascade_sim::SimDuration::from_secs(t.as_secs());
    format!("+{whole}")
}

/// Prints what happens, with the scenario clock.
struct Printer {
    clock: Clock,
    verbose: bool,
}

impl Printer {
    fn say(&self, what: std::fmt::Arguments) {
        if self.verbose {
            println!("[{:>10}] {what}", stamp(self.clock.now()));
        }
    }
}

impl Observer for Printer {
    fn cloud_call(
        &self,
        _now: SimTime,
        cluster: ClusterId,
        pool: PoolName,
        call: CloudCall,
        reply: &CloudReply,
    ) {
        let what = match call {
            CloudCall::Create { nodes } => format!("create {pool} ({nodes} nodes)"),
            CloudCall::Delete => format!("DELETE {pool}"),
            CloudCall::ScaleToZero => format!("scale {pool} to zero"),
        };
        let answer = match reply {
            CloudReply::Accepted { done_at, .. } => {
                format!("202 accepted, done at {}", stamp(*done_at))
            }
            CloudReply::RateLimited { .. } => "429 rate limited".into(),
            CloudReply::Locked => "409 locked".into(),
            CloudReply::Conflict => "409 conflict".into(),
        };
        self.say(format_args!("cloud: cluster {cluster} {what}: {answer}"));
    }
    fn cloud_done(&self, _now: SimTime, cluster: ClusterId, pool: PoolName, c: Completion) {
        self.say(format_args!("cloud: cluster {cluster} {pool} {c:?}"));
    }
    fn routing(&self, _now: SimTime, v: &EdgeVersion) {
        self.say(format_args!(
            "edge: routing v{} misroutes {:.0} % (salt {}, by {})",
            v.version,
            v.misroute_ratio * 100.0,
            v.misroute_salt,
            v.set_by
        ));
    }
    fn faults(&self, _now: SimTime, f: &ServiceFaults) {
        self.say(format_args!("control plane: faults now {f:?}"));
    }
}

/// Polls refused (401 or 403) after which a live agent none of whose polls
/// was ever accepted stops: the server does not take its token, and no
/// number of retries changes that. One refusal is not enough: a first poll
/// can race a server that is still starting.
pub const REFUSED_POLLS_TO_STOP: u64 = 3;

/// What became of one poll of a live agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollVerdict {
    /// Both answers 200 and readable: the agent saw its desired state.
    Accepted,
    /// 401 or 403: the server does not take the token (for this cluster).
    Refused(Refusal),
    /// Any other status, a timeout, a connection error, an unreadable
    /// answer; in words (`500 Internal Server Error from the control plane`).
    Failed(String),
}

/// A poll the server refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 401 or 403.
    pub status: u16,
    /// In words: `401 Unauthorized from the control plane`.
    pub what: String,
}

/// An HTTP status with its reason phrase when it has one (`404 Not Found`).
pub fn status_words(status: u16) -> String {
    match hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// Judges one poll from its two exchanges and the answer they made.
pub fn poll_verdict(desired: &Exchange, listed: &Exchange, answer: &DesiredAnswer) -> PollVerdict {
    if matches!(answer, DesiredAnswer::Ok(_)) {
        return PollVerdict::Accepted;
    }
    let sides = [(desired, "the control plane"), (listed, "the cloud API")];
    for (x, who) in sides {
        if let Exchange::Reply {
            status: status @ (401 | 403),
            ..
        } = *x
        {
            return PollVerdict::Refused(Refusal {
                status,
                what: format!("{} from {who}", status_words(status)),
            });
        }
    }
    for (x, who) in sides {
        if let Exchange::Reply { status, .. } = *x {
            if status != 200 {
                return PollVerdict::Failed(format!("{} from {who}", status_words(status)));
            }
        }
    }
    for (x, who) in sides {
        match x {
            Exchange::Timeout => {
                return PollVerdict::Failed(format!("no answer in time from {who}"))
            }
            Exchange::ConnectionError => {
                return PollVerdict::Failed(format!("no connection to {who}"))
            }
            Exchange::Reply { .. } => {}
        }
    }
    let who = if matches!(api::desired_answer(desired), DesiredAnswer::Ok(_)) {
        "the cloud API"
    } else {
        "the control plane"
    };
    PollVerdict::Failed(format!("an unreadable 200 from {who}"))
}

/// What a live agent has done so far (shared with whoever watches it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentStatus {
    /// Answers acted on, by kind.
    pub answers: BTreeMap<String, u64>,
    /// Polls made; of them accepted (see [`PollVerdict`]) and refused.
    pub polls: u64,
    pub accepted: u64,
    pub refused: u64,
    /// Polls not accepted, by what came back (`401 Unauthorized from the
    /// control plane`, `no answer in time from the cloud API`).
    pub failed: BTreeMap<String, u64>,
    /// Set when the agent stopped early: refused [`REFUSED_POLLS_TO_STOP`]
    /// times with no poll ever accepted; the last refusal.
    pub stopped_refused: Option<Refusal>,
    pub in_hold: bool,
    pub holds_entered: u64,
    pub creates_asked: u64,
    pub deletes_asked: u64,
    /// Agent cloud calls by outcome.
    pub calls: BTreeMap<String, u64>,
    /// The agent deleted its own system pool and died with it.
    pub host_lost: bool,
}

impl AgentStatus {
    /// Counts one poll; true when the agent is to stop because its token is
    /// refused. Failures of any other kind (5xx, 404, timeouts) never stop
    /// it: they may pass, and an agent keeps polling through them. Nor do
    /// refusals once a poll was accepted (the token was good then).
    pub fn count_poll(&mut self, verdict: PollVerdict) -> bool {
        self.polls += 1;
        match verdict {
            PollVerdict::Accepted => {
                self.accepted += 1;
                false
            }
            PollVerdict::Failed(what) => {
                *self.failed.entry(what).or_default() += 1;
                false
            }
            PollVerdict::Refused(r) => {
                self.refused += 1;
                *self.failed.entry(r.what.clone()).or_default() += 1;
                let stop = self.accepted == 0 && self.refused >= REFUSED_POLLS_TO_STOP;
                if stop {
                    self.stopped_refused = Some(r);
                }
                stop
            }
        }
    }
}

/// Feeds an [`AgentStatus`] and optionally prints.
pub struct AgentWatch {
    pub status: Arc<Mutex<AgentStatus>>,
    pub clock: Clock,
    pub verbose: bool,
    /// Notified when the agent is to stop: its token is refused.
    pub refused: Rc<tokio::sync::Notify>,
}

impl AgentWatch {
    fn with(&self, f: impl FnOnce(&mut AgentStatus)) {
        // A poisoned lock means a watcher panicked: keep counting anyway.
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
    }
    fn say(&self, now: SimTime, what: std::fmt::Arguments) {
        if self.verbose {
            println!("[{:>10}] {what}", stamp(now));
        }
    }
}

impl Observer for AgentWatch {
    fn poll(
        &self,
        now: SimTime,
        cluster: ClusterId,
        desired: &Exchange,
        listed: &Exchange,
        answer: &DesiredAnswer,
    ) {
        let verdict = poll_verdict(desired, listed, answer);
        let detail = match (&verdict, answer) {
            (_, DesiredAnswer::Ok(ds)) => {
                format!(" (generation {}, {} pools)", ds.generation, ds.pools.len())
            }
            (PollVerdict::Refused(r), _) => format!(" ({}: refused)", r.what),
            (PollVerdict::Failed(what), _) => format!(" ({what})"),
            (PollVerdict::Accepted, _) => String::new(),
        };
        self.say(
            now,
            format_args!("agent {cluster}: desired state {}{detail}", answer.name()),
        );
        let mut stop = false;
        self.with(|s| stop = s.count_poll(verdict));
        if stop {
            self.refused.notify_one();
        }
    }
    fn answer(&self, _now: SimTime, _cluster: ClusterId, answer: &DesiredAnswer) {
        self.with(|s| *s.answers.entry(answer.name().into()).or_default() += 1);
    }
    fn agent_output(&self, now: SimTime, cluster: ClusterId, out: &AgentOutput) {
        match *out {
            AgentOutput::CreatePool { pool, nodes } => {
                self.with(|s| s.creates_asked += 1);
                self.say(
                    now,
                    format_args!("agent {cluster}: create {pool} ({nodes} nodes)"),
                );
            }
            AgentOutput::DeletePool { pool } => {
                self.with(|s| s.deletes_asked += 1);
                self.say(now, format_args!("agent {cluster}: DELETE {pool}"));
            }
            AgentOutput::ScaleToZero { pool } => {
                self.say(now, format_args!("agent {cluster}: scale {pool} to zero"));
            }
            AgentOutput::Blocked { pool, guard } => {
                self.say(
                    now,
                    format_args!("agent {cluster}: {} blocked removing {pool}", guard.name()),
                );
            }
            AgentOutput::EnteredHold => {
                self.with(|s| {
                    s.in_hold = true;
                    s.holds_entered += 1;
                });
                self.say(now, format_args!("agent {cluster}: safe hold"));
            }
            AgentOutput::LeftHold => {
                self.with(|s| s.in_hold = false);
                self.say(now, format_args!("agent {cluster}: hold left"));
            }
            AgentOutput::Exited { ran_for } => {
                self.say(now, format_args!("agent {cluster}: exited after {ran_for}"));
            }
            AgentOutput::FetchDesired | AgentOutput::SetTimer { .. } => {}
        }
    }
    fn agent_call(
        &self,
        _now: SimTime,
        _cluster: ClusterId,
        pool: PoolName,
        call: CloudCall,
        outcome: CallOutcome,
    ) {
        self.with(|s| {
            *s.calls.entry(outcome.name().into()).or_default() += 1;
            if pool == PoolName::System
                && call == CloudCall::Delete
                && outcome == CallOutcome::Accepted
            {
                s.host_lost = true;
            }
        });
    }
}

/// One live agent.
#[derive(Clone, Debug)]
pub struct AgentRunConfig {
    /// `host:port` of the control plane (the edge).
    pub control_plane: String,
    /// `host:port` of the cloud API.
    pub cloud: String,
    pub cluster: ClusterId,
    pub token: String,
    pub guards: Guards,
    pub agent: AgentConfig,
    /// Phases, as in the other tiers.
    pub seed: u64,
    pub time_scale: u32,
    /// Per request, wall time.
    pub request_timeout: Duration,
    /// Stop after this much wall time (`None`: run until killed).
    pub run_for: Option<Duration>,
    pub verbose: bool,
    /// Report safe hold (`PUT …/agent-status`; `cascade blackbox` takes it).
    pub report_hold: bool,
}

/// Runs one agent on the current thread until `run_for` elapses or `stop`
/// fires (`None` for both: until the process ends), or until its token is
/// refused on [`REFUSED_POLLS_TO_STOP`] polls with none accepted
/// ([`AgentStatus::stopped_refused`]).
pub fn run_agent(
    cfg: AgentRunConfig,
    status: Arc<Mutex<AgentStatus>>,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> io::Result<()> {
    if cfg.time_scale == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "time scale must be at least 1",
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let clock = Clock::start(SimTime::ZERO, cfg.time_scale);
        let phase = agent_phase(Seed(cfg.seed), cfg.cluster, &cfg.agent, SimTime::ZERO);
        let refused = Rc::new(tokio::sync::Notify::new());
        let watch: Rc<dyn Observer> = Rc::new(AgentWatch {
            status,
            clock,
            verbose: cfg.verbose,
            refused: refused.clone(),
        });
        let d = DriverConfig {
            cluster: cfg.cluster,
            token: cfg.token,
            control_plane: cfg.control_plane,
            cloud: cfg.cloud,
            request_timeout: cfg.request_timeout,
            agent: cfg.agent,
            guards: cfg.guards,
            report_hold: cfg.report_hold,
        };
        let mut task = tokio::task::spawn_local(driver::run_agent(RealNet, clock, d, phase, watch));
        let stopped = async move {
            match stop {
                Some(rx) => {
                    let _ = rx.await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        // The agent also ends by itself when it deletes its own system pool.
        let abort = task.abort_handle();
        let ended = async move {
            tokio::select! {
                biased;
                _ = stopped => {}
                _ = refused.notified() => {}
                _ = &mut task => {}
            }
        };
        match cfg.run_for {
            Some(d) => {
                let _ = tokio::time::timeout(d, ended).await;
            }
            None => ended.await,
        }
        abort.abort();
    });
    Ok(())
}

/// A live agent on a thread of its own (tests, demos); dropping it stops it.
pub struct AgentThread {
    pub status: Arc<Mutex<AgentStatus>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl AgentThread {
    /// Starts `cfg` (which must carry a `run_for`, its upper bound) on a new thread.
    pub fn spawn(cfg: AgentRunConfig) -> io::Result<AgentThread> {
        if cfg.run_for.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a spawned agent needs run_for",
            ));
        }
        let status = Arc::new(Mutex::new(AgentStatus::default()));
        let s = status.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("cascade-agent-{}", cfg.cluster))
            .spawn(move || run_agent(cfg, s, Some(stop_rx)))?;
        Ok(AgentThread {
            status,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn status(&self) -> AgentStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the agent and waits for its thread.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| io::Error::other("agent panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for AgentThread {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// One blocking HTTP request (CLI helpers and tests).
pub fn call(
    authority: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<String>,
    timeout: Duration,
) -> io::Result<Exchange> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(exchange(
        &RealNet, authority, method, path, bearer, body, timeout,
    )))
}

/// `http://host:port[/…]` to `host:port`.
pub fn authority_of(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url:?}: expected an http:// URL (the live tier speaks plain HTTP on loopback)")
    })?;
    let auth = rest.split('/').next().unwrap_or("");
    if auth.is_empty() || !auth.contains(':') {
        return Err(format!("{url:?}: expected http://host:port"));
    }
    Ok(auth.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16) -> Exchange {
        Exchange::Reply {
            status,
            retry_after_s: None,
            body: Vec::new(),
        }
    }

    #[test]
    fn polls_are_judged_by_what_came_back() {
        let ok_list = reply(200);
        let failed = |what: &str| PollVerdict::Failed(what.into());
        let refused = |status, what: &str| {
            PollVerdict::Refused(Refusal {
                status,
                what: what.into(),
            })
        };
        let v = |d: &Exchange, l: &Exchange| poll_verdict(d, l, &DesiredAnswer::ServerError);
        assert_eq!(
            v(&reply(401), &reply(401)),
            refused(401, "401 Unauthorized from the control plane")
        );
        assert_eq!(
            v(&reply(200), &reply(403)),
            refused(403, "403 Forbidden from the cloud API")
        );
        // A refusal is named before any other failure.
        assert_eq!(
            v(&Exchange::Timeout, &reply(401)),
            refused(401, "401 Unauthorized from the cloud API")
        );
        assert_eq!(
            v(&reply(500), &ok_list),
            failed("500 Internal Server Error from the control plane")
        );
        assert_eq!(
            v(&reply(404), &ok_list),
            failed("404 Not Found from the control plane")
        );
        assert_eq!(
            v(&reply(599), &ok_list),
            failed("599 from the control plane")
        );
        assert_eq!(
            v(&Exchange::Timeout, &ok_list),
            failed("no answer in time from the control plane")
        );
        assert_eq!(
            v(&ok_list, &Exchange::ConnectionError),
            failed("no connection to the cloud API")
        );
        assert_eq!(
            v(&reply(200), &ok_list),
            failed("an unreadable 200 from the control plane")
        );
    }

    #[test]
    fn only_refusals_with_nothing_accepted_stop_an_agent() {
        let refusal = || {
            PollVerdict::Refused(Refusal {
                status: 401,
                what: "401 Unauthorized from the control plane".into(),
            })
        };
        let failure =
            || PollVerdict::Failed("500 Internal Server Error from the control plane".into());
        // Failures that may pass never stop it, however many.
        let mut s = AgentStatus::default();
        for _ in 0..1_000 {
            assert!(!s.count_poll(failure()));
        }
        // Refusals do, at the threshold, even among failures.
        for k in 1..REFUSED_POLLS_TO_STOP {
            assert!(!s.count_poll(refusal()), "refusal {k}");
            assert!(!s.count_poll(failure()));
        }
        assert!(s.count_poll(refusal()));
        assert_eq!(s.refused, REFUSED_POLLS_TO_STOP);
        assert_eq!(s.stopped_refused.as_ref().map(|r| r.status), Some(401));
        assert_eq!(
            s.failed["401 Unauthorized from the control plane"],
            REFUSED_POLLS_TO_STOP
        );
        // Once a poll was accepted, refusals are retried as any failure.
        let mut s = AgentStatus::default();
        assert!(!s.count_poll(PollVerdict::Accepted));
        for _ in 0..100 {
            assert!(!s.count_poll(refusal()));
        }
        assert_eq!((s.polls, s.accepted, s.refused), (101, 1, 100));
        assert_eq!(s.stopped_refused, None);
    }

    #[test]
    fn urls_give_authorities() {
        assert_eq!(
            authority_of("http://127.0.0.1:8080/").unwrap(),
            "127.0.0.1:8080"
        );
        assert!(authority_of("https://x:1").is_err());
        assert!(authority_of("http://x").is_err());
    }
}
