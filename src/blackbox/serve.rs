//! The black-box tier's HTTP surfaces on loopback: the control plane
//! through the edge (`{control_plane_url}`), the desired-state service
//! directly (`{service_url}`, the script's), and the cloud's node-pool API
//! (`{cloud_url}`), with the wire tier's paths, documents and tokens
//! ([`crate::wire::api`]). Each request is turned into a [`Input`] and
//! served by the [`Host`] at the clock's now; what the world answers goes
//! back as the wire tier's servers would send it.
//!
//! Tokens: a cluster's own token on its own paths (an agent), the
//! recovery token on any cluster's (the script); anything else 401 or
//! 403, never served and never recorded. A request of an agent whose host
//! the world has taken down gets 503 and is not recorded either: a dead
//! process makes no requests, and its in-flight ones die with it.

use super::history::{By, Http, Via};
use super::host::{Host, Input};
use crate::plant::cloud::CloudCall;
use crate::protocol::ClusterId;
use crate::wire::api::{self, Caller, CloudPath, CreatePoolDoc, TokenKey};
use crate::wire::clock::Clock;
use crate::wire::http::{Handler, Req, Resp};
use hyper::Method;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Handler wall times kept at most (later ones are counted, not kept).
pub const LATENCY_SAMPLES_MAX: usize = 1_000_000;

/// What the servers share with the driver.
pub struct State {
    /// The world; taken by the driver when the run ends (later requests
    /// get 503).
    pub host: Option<Host>,
    pub clock: Clock,
    pub key: TokenKey,
    pub recovery_token: String,
    pub clusters: u32,
    /// How long a request the world "times out" is held before its 504
    /// (wall time: longer than any sane client waits).
    pub timeout_hold: Duration,
    /// Handler wall times, microseconds.
    pub latency_us: Vec<u32>,
    pub requests: u64,
    /// Desired-state reads of agents served.
    pub polls: u64,
    /// Requests of agents whose host was down (503, not served).
    pub refused_down: u64,
    /// Requests with no valid token (401/403).
    pub refused_token: u64,
}

/// Who is asking about `cluster`.
fn who(s: &State, cluster: ClusterId, req: &Req) -> Result<By, Resp> {
    let bearer = req.bearer.as_deref();
    if bearer.is_some_and(|t| api::token_matches(t, &s.recovery_token)) {
        return Ok(By::Script);
    }
    match api::check_cluster_token(&s.key, cluster, bearer) {
        Caller::Owner => Ok(By::Agent),
        Caller::OtherCluster => Err(Resp::error(403, "token of another cluster")),
        Caller::Unknown => Err(Resp::error(401, "missing or unknown token")),
    }
}

/// Who is asking about `cluster`, counted when refused; a cluster past
/// the fleet is 404 (after the token check, so that nobody without one
/// can count the fleet).
fn caller(s: &mut State, cluster: ClusterId, req: &Req) -> Result<By, Resp> {
    let by = who(s, cluster, req).inspect_err(|_| s.refused_token += 1)?;
    if cluster >= s.clusters {
        return Err(Resp::error(404, "unknown cluster"));
    }
    Ok(by)
}

/// Serves `input` now, timing the handler; `None` when the agent is down
/// or the run is over.
fn serve(s: &mut State, input: Input, by: By, cluster: ClusterId) -> Option<Http> {
    let now = s.clock.now();
    let host = s.host.as_mut()?;
    if by == By::Agent && !host.world().agent_alive(cluster) {
        s.refused_down += 1;
        return None;
    }
    #[allow(clippy::disallowed_methods)] // the live tier measures its own wall time
    let started = Instant::now();
    if matches!(input, Input::Poll(_)) {
        s.polls += 1;
    }
    let http = host.serve(now, input);
    s.requests += 1;
    if s.latency_us.len() < LATENCY_SAMPLES_MAX {
        let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        s.latency_us.push(us);
    }
    Some(http)
}

/// An answer of the world as an HTTP response: a `Retry-After` in
/// simulated seconds becomes wall seconds (at least one).
fn to_resp(http: Http, scale: u32) -> Resp {
    let body = if http.body.is_null() {
        String::new()
    } else {
        http.body.to_string()
    };
    Resp {
        status: http.status,
        body,
        retry_after_s: http.retry_after_s.map(|s| s.div_ceil(scale.max(1)).max(1)),
    }
}

/// An agent whose host is down, or a request after the run's end.
fn down() -> Resp {
    Resp::error(503, "this cluster's agent host is down, or the run is over")
}

/// The edge: `GET /v1/clusters/{id}/desired-state` (agents, and the
/// script's preflight), and `GET /admin/status`.
pub fn edge_handler(state: Rc<RefCell<State>>, scenario: String, seed: u64) -> Handler {
    Rc::new(move |req: Req| {
        let state = state.clone();
        let scenario = scenario.clone();
        Box::pin(async move {
            if req.path == "/admin/status" {
                let s = state.borrow();
                let now = s.clock.now();
                let Some(host) = s.host.as_ref() else {
                    return down();
                };
                let status = api::StatusDoc {
                    sim_time_us: now.as_micros(),
                    sim_time: host.world().epoch().format(now),
                    time_scale: s.clock.scale(),
                    scenario: scenario.clone(),
                    seed,
                };
                return Resp::json(200, &status);
            }
            if let Some(c) = api::parse_agent_status_path(&req.path) {
                return agent_status(&state, &req, c);
            }
            desired(&state, &req, Via::Edge).await
        })
    })
}

/// `PUT /v1/clusters/{id}/agent-status`: an agent reports its hold.
fn agent_status(state: &Rc<RefCell<State>>, req: &Req, c: ClusterId) -> Resp {
    let mut s = state.borrow_mut();
    if req.method != Method::PUT {
        return Resp::error(405, "PUT only");
    }
    match caller(&mut s, c, req) {
        Ok(By::Agent) => {}
        Ok(By::Script) => return Resp::error(403, "only the cluster's agent reports its status"),
        Err(r) => return r,
    }
    let doc: api::AgentStatusDoc = match serde_json::from_slice(&req.body) {
        Ok(d) => d,
        Err(e) => return Resp::error(400, &format!("bad body: {e}")),
    };
    let scale = s.clock.scale();
    match serve(&mut s, Input::Status(c, doc.in_hold), By::Agent, c) {
        Some(http) => to_resp(http, scale),
        None => down(),
    }
}

/// The desired-state service, directly: the script's reads.
pub fn service_handler(state: Rc<RefCell<State>>) -> Handler {
    Rc::new(move |req: Req| {
        let state = state.clone();
        Box::pin(async move { desired(&state, &req, Via::Service).await })
    })
}

async fn desired(state: &Rc<RefCell<State>>, req: &Req, via: Via) -> Resp {
    let (http, hold, scale) = {
        let mut s = state.borrow_mut();
        let Some(c) = api::parse_desired_state_path(&req.path) else {
            return Resp::error(404, "no such path");
        };
        if req.method != Method::GET {
            return Resp::error(405, "GET only");
        }
        let by = match caller(&mut s, c, req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let input = match (by, via) {
            (By::Agent, Via::Edge) => Input::Poll(c),
            (By::Agent, Via::Service) => {
                return Resp::error(403, "the service is internal: agents go through the edge")
            }
            (By::Script, v) => Input::Probe(c, v),
        };
        let Some(http) = serve(&mut s, input, by, c) else {
            return down();
        };
        (http, s.timeout_hold, s.clock.scale())
    };
    if http.status == 504 {
        // The world timed this request out: hold it past any client's wait.
        tokio::time::sleep(hold).await;
    }
    to_resp(http, scale)
}

/// The cloud: listings and mutating calls, by agents and the script.
pub fn cloud_handler(state: Rc<RefCell<State>>) -> Handler {
    Rc::new(move |req: Req| {
        let state = state.clone();
        Box::pin(async move {
            let mut s = state.borrow_mut();
            let Some(path) = api::parse_cloud_path(&req.path) else {
                return Resp::error(404, "no such path");
            };
            let c = match path {
                CloudPath::List(c) | CloudPath::Pool(c, _) | CloudPath::ScaleToZero(c, _) => c,
            };
            let by = match caller(&mut s, c, &req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let input = match (path, &req.method) {
                (CloudPath::List(_), &Method::GET) => Input::Listing(c, by),
                (CloudPath::Pool(_, p), &Method::PUT) => {
                    match serde_json::from_slice::<CreatePoolDoc>(&req.body) {
                        Ok(d) => Input::Cloud(c, p, CloudCall::Create { nodes: d.nodes }, by),
                        Err(e) => return Resp::error(400, &format!("bad body: {e}")),
                    }
                }
                (CloudPath::Pool(_, p), &Method::DELETE) => {
                    Input::Cloud(c, p, CloudCall::Delete, by)
                }
                (CloudPath::ScaleToZero(_, p), &Method::POST) => {
                    Input::Cloud(c, p, CloudCall::ScaleToZero, by)
                }
                _ => return Resp::error(405, "method not allowed"),
            };
            let scale = s.clock.scale();
            match serve(&mut s, input, by, c) {
                Some(http) => to_resp(http, scale),
                None => down(),
            }
        })
    })
}
