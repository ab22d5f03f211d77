//! The agent driver: one async task that runs the fleet tier's own
//! [`Agent`] state machine against real HTTP.
//!
//! The task sleeps until the agent's next timer, calls
//! [`Agent::handle_timer`], and carries out what comes back: a
//! `FetchDesired` becomes `GET /v1/clusters/{id}/desired-state` through the
//! edge, then `GET …/node-pools` on the cloud for the agent's view of its
//! cluster, and both feed [`Agent::handle_answer`]; create, delete and
//! scale calls become cloud requests, sent together as the fleet tier makes
//! them in one instant. Every decision (what a 404 means, backoff, hold,
//! guards) stays in the state machine; the driver only maps bytes to
//! [`DesiredAnswer`]s (see [`api::desired_answer`]) and outputs to requests.
//!
//! When the cloud list fails, the poll counts as failed (timeout or
//! connection error) so that no decision is ever taken on a stale view.

use super::api::{self, CallOutcome, Exchange, NodePoolsDoc};
use super::clock::Clock;
use super::http::exchange;
use super::net::Transport;
use super::observe::Observer;
use crate::model::agent::{Agent, AgentConfig, AgentOutput, AgentTimer, Guards};
use crate::plant::cloud::CloudCall;
use crate::plant::AgentPhase;
use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredAnswer, PoolState, POOLS};
use cascade_sim::SimTime;
use std::rc::Rc;
use std::time::Duration;

/// Where one agent talks to and how.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    pub cluster: ClusterId,
    pub token: String,
    /// `host:port` of the control plane's public endpoint (the edge).
    pub control_plane: String,
    /// `host:port` of the cloud node-pool API.
    pub cloud: String,
    /// Each request's end-to-end timeout, in runtime time.
    pub request_timeout: Duration,
    pub agent: AgentConfig,
    pub guards: Guards,
    /// Report safe hold to the control plane (`PUT …/agent-status`, the
    /// black-box tier's monitoring); off where no server takes it.
    pub report_hold: bool,
}

/// Pending agent timers. The agent keeps one poll chain, so a handful is
/// plenty; more is a bug in the state machine or the driver.
const TIMERS_MAX: usize = 8;

/// Runs one agent until its task is dropped (the host lost) or it asks for
/// no timer at all.
pub async fn run_agent<T: Transport>(
    transport: T,
    clock: Clock,
    cfg: DriverConfig,
    phase: AgentPhase,
    observer: Rc<dyn Observer>,
) {
    let c = cfg.cluster;
    let mut agent = Agent::new(cfg.guards, phase.first_full_resync_at, phase.grid);
    let mut timers: Vec<SimTime> = vec![phase.first_poll_at];
    let mut out: Vec<AgentOutput> = Vec::with_capacity(16);
    let mut calls: Vec<(PoolName, CloudCall)> = Vec::with_capacity(POOLS);
    let mut actual = [PoolState::Absent; POOLS];
    loop {
        let Some(i) = (0..timers.len()).min_by_key(|&i| timers[i]) else {
            return;
        };
        let at = timers.swap_remove(i);
        clock.sleep_until(at).await;
        let now = clock.now();
        out.clear();
        agent.handle_timer(now, AgentTimer::Poll, &cfg.agent, &mut out);
        let fetch = out.contains(&AgentOutput::FetchDesired);
        take_outputs(now, c, &out, &mut timers, &mut calls, observer.as_ref());
        if !fetch {
            continue;
        }
        let (answer, desired, listed) = observe_cluster(&transport, &cfg, &mut actual).await;
        let now = clock.now();
        observer.poll(now, c, &desired, &listed, &answer);
        observer.answer(now, c, &answer);
        out.clear();
        agent.handle_answer(now, answer, &actual, &cfg.agent, &mut out);
        observer.agent_status(now, c, agent.status());
        take_outputs(now, c, &out, &mut timers, &mut calls, observer.as_ref());
        if cfg.report_hold {
            report_hold(&transport, &cfg, &out).await;
        }
        if call_cloud(&transport, &clock, &cfg, &calls, &observer).await {
            // The agent runs on its system pool: draining it ends the agent,
            // as in the fleet tier (`World::on_pool_deleting`).
            agent.handle_host_lost();
            observer.agent_status(clock.now(), c, agent.status());
            return;
        }
    }
}

/// Tells monitoring that the agent entered or left safe hold, when an
/// output says so (what the agent-hold alert counts).
async fn report_hold<T: Transport>(transport: &T, cfg: &DriverConfig, out: &[AgentOutput]) {
    let in_hold = match out
        .iter()
        .rev()
        .find(|o| matches!(o, AgentOutput::EnteredHold | AgentOutput::LeftHold))
    {
        Some(AgentOutput::EnteredHold) => true,
        Some(_) => false,
        None => return,
    };
    let body = serde_json::to_string(&api::AgentStatusDoc { in_hold }).unwrap_or_default();
    let path = api::agent_status_path(cfg.cluster);
    let token = Some(cfg.token.as_str());
    let _ = exchange(
        transport,
        &cfg.control_plane,
        "PUT",
        &path,
        token,
        Some(body),
        cfg.request_timeout,
    )
    .await;
}

/// Files timers and cloud calls; reports everything to the observer.
fn take_outputs(
    now: SimTime,
    c: ClusterId,
    out: &[AgentOutput],
    timers: &mut Vec<SimTime>,
    calls: &mut Vec<(PoolName, CloudCall)>,
    observer: &dyn Observer,
) {
    calls.clear();
    for o in out {
        observer.agent_output(now, c, o);
        match *o {
            AgentOutput::SetTimer {
                at,
                timer: AgentTimer::Poll,
            } => {
                assert!(
                    timers.len() < TIMERS_MAX,
                    "agent {c} asked for more than {TIMERS_MAX} pending timers"
                );
                timers.push(at.max(now));
            }
            AgentOutput::CreatePool { pool, nodes } => {
                calls.push((pool, CloudCall::Create { nodes }));
            }
            AgentOutput::DeletePool { pool } => calls.push((pool, CloudCall::Delete)),
            AgentOutput::ScaleToZero { pool } => calls.push((pool, CloudCall::ScaleToZero)),
            // The wire tier installs no defective release: no agent
            // exits by itself there.
            AgentOutput::FetchDesired
            | AgentOutput::Blocked { .. }
            | AgentOutput::EnteredHold
            | AgentOutput::LeftHold
            | AgentOutput::Exited { .. } => {}
        }
    }
}

/// Fetches the desired state, then the cloud's list of the cluster's pools
/// into `actual`; returns what the agent is to act on, with the two
/// exchanges it came from.
async fn observe_cluster<T: Transport>(
    transport: &T,
    cfg: &DriverConfig,
    actual: &mut [PoolState; POOLS],
) -> (DesiredAnswer, Exchange, Exchange) {
    let c = cfg.cluster;
    let desired = exchange(
        transport,
        &cfg.control_plane,
        "GET",
        &api::desired_state_path(c),
        Some(&cfg.token),
        None,
        cfg.request_timeout,
    )
    .await;
    let answer = api::desired_answer(&desired);
    let listed = exchange(
        transport,
        &cfg.cloud,
        "GET",
        &api::node_pools_path(c),
        Some(&cfg.token),
        None,
        cfg.request_timeout,
    )
    .await;
    let answer = match &listed {
        Exchange::Reply {
            status: 200, body, ..
        } => match serde_json::from_slice::<NodePoolsDoc>(body)
            .ok()
            .and_then(|d| d.to_pools().ok())
        {
            Some(pools) => {
                *actual = pools;
                answer
            }
            None => DesiredAnswer::ServerError,
        },
        Exchange::Reply { .. } => DesiredAnswer::ServerError,
        Exchange::Timeout => DesiredAnswer::Timeout,
        Exchange::ConnectionError => DesiredAnswer::ConnectionError,
    };
    (answer, desired, listed)
}

/// Sends one reconcile's cloud calls at once and waits for them all.
/// Returns whether a delete of the agent's own `system` pool was accepted.
async fn call_cloud<T: Transport>(
    transport: &T,
    clock: &Clock,
    cfg: &DriverConfig,
    calls: &[(PoolName, CloudCall)],
    observer: &Rc<dyn Observer>,
) -> bool {
    let mut pending = Vec::with_capacity(calls.len());
    for &(pool, call) in calls {
        let (method, path) = api::cloud_call_route(cfg.cluster, pool, call);
        let body = match call {
            CloudCall::Create { nodes } => {
                Some(serde_json::to_string(&api::CreatePoolDoc { nodes }).unwrap_or_default())
            }
            _ => None,
        };
        let (t, clock, observer) = (transport.clone(), *clock, observer.clone());
        let (c, authority, token, timeout) = (
            cfg.cluster,
            cfg.cloud.clone(),
            cfg.token.clone(),
            cfg.request_timeout,
        );
        // Separate tasks so all calls are on the wire in the same instant;
        // they finish, and are reported, even if this agent's task is
        // dropped meanwhile (its host lost), as requests already sent do.
        pending.push(tokio::task::spawn_local(async move {
            let x = exchange(&t, &authority, method, &path, Some(&token), body, timeout).await;
            let outcome = CallOutcome::of(&x);
            observer.agent_call(clock.now(), c, pool, call, outcome);
            pool == PoolName::System
                && call == CloudCall::Delete
                && outcome == CallOutcome::Accepted
        }));
    }
    let mut host_lost = false;
    for h in pending {
        // A call task only ends by finishing: nothing aborts it.
        host_lost |= h.await.unwrap_or(false);
    }
    host_lost
}
