//! The servers: the control plane's desired-state API, the edge proxy with
//! its default backend, and the cloud node-pool API.
//!
//! Each wraps the fleet tier's own model of the component
//! ([`DesiredService`], [`Edge`], [`CloudApi`]) behind HTTP, so both tiers
//! decide the same way; what this module adds is only the wire: paths,
//! tokens, status codes, proxying and the cloud's completion timers.

use super::api::{
    self, cloud_reply_status, Caller, CloudPath, CreatePoolDoc, DesiredStateDoc, Exchange,
    FaultsDoc, FixDoc, NodePoolsDoc, RoutingDoc, RoutingVersionDoc,
};
use super::clock::Clock;
use super::http::{exchange, Handler, Req, Resp};
use super::net::Transport;
use super::observe::Observer;
use crate::plant::cloud::{CloudApi, CloudCall, CloudReply, Completion};
use crate::plant::control::{DesiredService, Edge, EdgeVersion, ServiceFaults};
use crate::protocol::DesiredAnswer;
use crate::protocol::{ClusterId, PoolName};
use cascade_sim::{SimDuration, Stream};
use hyper::Method;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn admin_ok(req: &Req, admin: &str) -> bool {
    req.bearer
        .as_deref()
        .is_some_and(|t| api::token_matches(t, admin))
}

fn token_error(caller: Caller) -> Option<Resp> {
    match caller {
        Caller::Owner => None,
        Caller::OtherCluster => Some(Resp::error(403, "token of another cluster")),
        Caller::Unknown => Some(Resp::error(401, "missing or unknown token")),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(req: &Req) -> Result<T, Resp> {
    serde_json::from_slice(&req.body).map_err(|e| Resp::error(400, &format!("bad body: {e}")))
}

/// The desired-state service's server state.
pub struct ControlPlane {
    pub service: DesiredService,
    /// Fault draws (the fleet tier's `desired-service` stream).
    pub rng: Stream,
    pub key: api::TokenKey,
    pub clock: Clock,
    pub observer: Rc<dyn Observer>,
}

/// How long a request the service "times out" on is held before it gets a
/// 504: longer than any client waits, so the client sees a timeout.
const SERVICE_TIMEOUT_HOLD: SimDuration = SimDuration::from_secs(120);

/// `GET /v1/clusters/{id}/desired-state`, `PUT /admin/faults`.
pub fn control_plane_handler(state: Rc<RefCell<ControlPlane>>) -> Handler {
    Rc::new(move |req: Req| {
        let state = state.clone();
        Box::pin(async move {
            let (answer, hold) = {
                let mut s = state.borrow_mut();
                let s = &mut *s;
                let admin = api::admin_token(&s.key);
                if req.path == "/admin/faults" {
                    if req.method != Method::PUT {
                        return Resp::error(405, "PUT only");
                    }
                    if !admin_ok(&req, &admin) {
                        return Resp::error(401, "admin token required");
                    }
                    let f: FaultsDoc = match parse_body(&req) {
                        Ok(f) => f,
                        Err(r) => return r,
                    };
                    s.service.faults = ServiceFaults {
                        server_error_ratio: f.server_error_ratio.clamp(0.0, 1.0),
                        timeout_ratio: f.timeout_ratio.clamp(0.0, 1.0),
                        generation_regression: f.generation_regression,
                        partial_ratio: f.partial_ratio.clamp(0.0, 1.0),
                    };
                    s.observer.faults(s.clock.now(), &s.service.faults);
                    // What was applied, clamped, not what was asked.
                    let applied = &s.service.faults;
                    return Resp::json(
                        200,
                        &FaultsDoc {
                            server_error_ratio: applied.server_error_ratio,
                            timeout_ratio: applied.timeout_ratio,
                            generation_regression: applied.generation_regression,
                            partial_ratio: applied.partial_ratio,
                        },
                    );
                }
                let Some(c) = api::parse_desired_state_path(&req.path) else {
                    return Resp::error(404, "no such path");
                };
                if req.method != Method::GET {
                    return Resp::error(405, "GET only");
                }
                // The token first: without one, every cluster id looks alike.
                if let Some(r) =
                    token_error(api::check_cluster_token(&s.key, c, req.bearer.as_deref()))
                {
                    return r;
                }
                if c as usize >= s.service.len() {
                    return Resp::error(404, "unknown cluster");
                }
                let answer = s.service.answer(c, &mut s.rng);
                let hold = s.clock.runtime_duration(SERVICE_TIMEOUT_HOLD);
                ((c, answer), hold)
            };
            match answer.1 {
                DesiredAnswer::Ok(ds) => {
                    Resp::json(200, &DesiredStateDoc::from_state(answer.0, &ds))
                }
                DesiredAnswer::Timeout => {
                    tokio::time::sleep(hold).await;
                    Resp::error(504, "timed out")
                }
                DesiredAnswer::TooManyRequests { retry_after_s } => Resp {
                    retry_after_s: Some(retry_after_s),
                    ..Resp::error(429, "too many requests")
                },
                DesiredAnswer::NotFound => Resp::error(404, "not found"),
                DesiredAnswer::ServerError | DesiredAnswer::ConnectionError => {
                    Resp::error(500, "internal error")
                }
            }
        })
    })
}

/// The default backend: whatever reaches it, 404.
pub fn default_backend_handler() -> Handler {
    Rc::new(|_req: Req| Box::pin(async { Resp::new(404, "default backend - 404") }))
}

/// The edge's state: the routing table and its two upstreams.
pub struct EdgeProxy<T: Transport> {
    pub edge: Edge,
    pub transport: T,
    /// `host:port` of the desired-state service.
    pub control_plane: String,
    /// `host:port` of the default backend.
    pub default_backend: String,
    /// The edge gives up on an upstream after this (runtime time); longer
    /// than the agents' own timeout, as a proxy's route timeout usually is.
    pub upstream_timeout: Duration,
    pub key: api::TokenKey,
    pub clock: Clock,
    pub observer: Rc<dyn Observer>,
}

fn version_doc(v: &EdgeVersion) -> RoutingVersionDoc {
    RoutingVersionDoc {
        version: v.version,
        misroute_ratio: v.misroute_ratio,
        misroute_salt: v.misroute_salt,
        misroute_cells: v.misroute_cells,
        set_by: v.set_by.clone(),
    }
}

/// Routes the desired-state path per cluster; `/admin/routing` switches it.
pub fn edge_handler<T: Transport>(state: Rc<RefCell<EdgeProxy<T>>>) -> Handler {
    Rc::new(move |req: Req| {
        let state = state.clone();
        Box::pin(async move {
            let (upstream, transport, timeout) = {
                let mut s = state.borrow_mut();
                let s = &mut *s;
                let admin = api::admin_token(&s.key);
                match req.path.as_str() {
                    "/admin/routing" | "/admin/routing/fix" if !admin_ok(&req, &admin) => {
                        return Resp::error(401, "admin token required");
                    }
                    "/admin/routing" if req.method == Method::GET => {
                        return Resp::json(200, &version_doc(s.edge.current()));
                    }
                    "/admin/routing" if req.method == Method::PUT => {
                        let d: RoutingDoc = match parse_body(&req) {
                            Ok(d) => d,
                            Err(r) => return r,
                        };
                        if !(0.0..=1.0).contains(&d.misroute_ratio) {
                            return Resp::error(400, "misroute_ratio: expected 0 to 1");
                        }
                        let now = s.clock.now();
                        s.edge.apply_routing(
                            now,
                            d.misroute_ratio,
                            d.misroute_salt,
                            d.misroute_cells,
                            &api::printable(&d.set_by),
                        );
                        s.observer.routing(now, s.edge.current());
                        return Resp::json(200, &version_doc(s.edge.current()));
                    }
                    "/admin/routing/fix" if req.method == Method::POST => {
                        let d: FixDoc = if req.body.is_empty() {
                            FixDoc::default()
                        } else {
                            match parse_body(&req) {
                                Ok(d) => d,
                                Err(r) => return r,
                            }
                        };
                        let now = s.clock.now();
                        let by = if d.set_by.is_empty() {
                            "admin".to_string()
                        } else {
                            api::printable(&d.set_by)
                        };
                        s.edge.fix(now, &by);
                        s.observer.routing(now, s.edge.current());
                        return Resp::json(200, &version_doc(s.edge.current()));
                    }
                    "/admin/routing" | "/admin/routing/fix" => {
                        return Resp::error(405, "method not allowed");
                    }
                    _ => {}
                }
                let upstream = match api::parse_desired_state_path(&req.path) {
                    Some(c) if !s.edge.misroutes(c) => s.control_plane.clone(),
                    // A misrouted cluster, or any path the table does not
                    // know: the default backend answers.
                    _ => s.default_backend.clone(),
                };
                (upstream, s.transport.clone(), s.upstream_timeout)
            };
            let x = exchange(
                &transport,
                &upstream,
                req.method.as_str(),
                &req.path,
                req.bearer.as_deref(),
                (!req.body.is_empty()).then(|| String::from_utf8_lossy(&req.body).into_owned()),
                timeout,
            )
            .await;
            match x {
                Exchange::Reply {
                    status,
                    retry_after_s,
                    body,
                } => Resp {
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    retry_after_s,
                },
                Exchange::Timeout => Resp::new(504, "upstream timed out"),
                Exchange::ConnectionError => Resp::new(502, "upstream unreachable"),
            }
        })
    })
}

/// The cloud node-pool API's state.
pub struct CloudServer {
    pub api: CloudApi,
    /// Clusters the API knows (ids below this).
    pub clusters: u32,
    pub key: api::TokenKey,
    pub clock: Clock,
    pub observer: Rc<dyn Observer>,
}

/// List, create, scale to zero and delete node pools.
pub fn cloud_handler(state: Rc<RefCell<CloudServer>>) -> Handler {
    Rc::new(move |req: Req| {
        let state = state.clone();
        Box::pin(async move { cloud_request(&state, req) })
    })
}

fn cloud_request(state: &Rc<RefCell<CloudServer>>, req: Req) -> Resp {
    let Some(path) = api::parse_cloud_path(&req.path) else {
        return Resp::error(404, "no such path");
    };
    let (c, pool, call) = {
        let s = state.borrow();
        let c = match path {
            CloudPath::List(c) | CloudPath::Pool(c, _) | CloudPath::ScaleToZero(c, _) => c,
        };
        // The token first: without one, every cluster id looks alike.
        if let Some(r) = token_error(api::check_cluster_token(&s.key, c, req.bearer.as_deref())) {
            return r;
        }
        if c >= s.clusters {
            return Resp::error(404, "unknown cluster");
        }
        match (path, &req.method) {
            (CloudPath::List(_), &Method::GET) => {
                return Resp::json(200, &NodePoolsDoc::from_pools(c, s.api.pools(c)));
            }
            (CloudPath::Pool(_, p), &Method::PUT) => match parse_body::<CreatePoolDoc>(&req) {
                Ok(d) => (c, p, CloudCall::Create { nodes: d.nodes }),
                Err(r) => return r,
            },
            (CloudPath::Pool(_, p), &Method::DELETE) => (c, p, CloudCall::Delete),
            (CloudPath::ScaleToZero(_, p), &Method::POST) => (c, p, CloudCall::ScaleToZero),
            _ => return Resp::error(405, "method not allowed"),
        }
    };
    let (reply, now, clock) = {
        let mut s = state.borrow_mut();
        let now = s.clock.now();
        let reply = s.api.call(now, c, pool, call);
        s.observer.cloud_call(now, c, pool, call, &reply);
        (reply, now, s.clock)
    };
    if let CloudReply::Accepted { done_at, op } = reply {
        let state = state.clone();
        tokio::task::spawn_local(async move {
            clock.sleep_until(done_at).await;
            complete(&state, c, pool, op);
        });
    }
    let (status, body) = cloud_reply_status(&reply);
    let mut resp = Resp::new(status, body);
    if let CloudReply::RateLimited { retry_at } = reply {
        let wait = retry_at
            .saturating_since(now)
            .as_micros()
            .div_ceil(1_000_000);
        resp.retry_after_s = Some(u32::try_from(wait).unwrap_or(u32::MAX).max(1));
    }
    resp
}

fn complete(state: &Rc<RefCell<CloudServer>>, c: ClusterId, pool: PoolName, op: u32) {
    let mut s = state.borrow_mut();
    let now = s.clock.now();
    let done = s.api.complete(c, pool, op);
    if done != Completion::Stale {
        s.observer.cloud_done(now, c, pool, done);
    }
}
