//! What the servers and the agent driver report as they run. The wire tier
//! folds it into its book and trace; the live tier prints it.

use crate::model::agent::{AgentOutput, AgentStatus};
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::plant::control::{EdgeVersion, ServiceFaults};
use crate::protocol::DesiredAnswer;
use crate::protocol::{ClusterId, PoolName};
use crate::wire::api::{CallOutcome, Exchange};
use cascade_sim::SimTime;

/// Hooks called at scenario time `now`; every one defaults to nothing.
pub trait Observer {
    /// The agent of `cluster` polled: how its desired-state request
    /// (`desired`) and its cloud listing (`listed`) came back, and the
    /// answer they make (reported next to [`Observer::answer`]).
    fn poll(
        &self,
        _now: SimTime,
        _cluster: ClusterId,
        _desired: &Exchange,
        _listed: &Exchange,
        _answer: &DesiredAnswer,
    ) {
    }
    /// The agent of `cluster` is about to act on `answer`.
    fn answer(&self, _now: SimTime, _cluster: ClusterId, _answer: &DesiredAnswer) {}
    /// The agent's self-report after it handled an answer or lost its host.
    fn agent_status(&self, _now: SimTime, _cluster: ClusterId, _status: AgentStatus) {}
    /// The agent asked for `out` (before the driver carries it out).
    fn agent_output(&self, _now: SimTime, _cluster: ClusterId, _out: &AgentOutput) {}
    /// The agent's cloud call came back as `outcome`.
    fn agent_call(
        &self,
        _now: SimTime,
        _cluster: ClusterId,
        _pool: PoolName,
        _call: CloudCall,
        _outcome: CallOutcome,
    ) {
    }
    /// The cloud server decided a mutating call.
    fn cloud_call(
        &self,
        _now: SimTime,
        _cluster: ClusterId,
        _pool: PoolName,
        _call: CloudCall,
        _reply: &CloudReply,
    ) {
    }
    /// An accepted cloud operation completed.
    fn cloud_done(
        &self,
        _now: SimTime,
        _cluster: ClusterId,
        _pool: PoolName,
        _completion: Completion,
    ) {
    }
    /// The edge switched to a new routing version.
    fn routing(&self, _now: SimTime, _version: &EdgeVersion) {}
    /// The desired-state service's faults changed.
    fn faults(&self, _now: SimTime, _faults: &ServiceFaults) {}
}

/// Observes nothing.
pub struct Quiet;

impl Observer for Quiet {}
