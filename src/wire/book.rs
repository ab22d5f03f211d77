//! What a wire run observes: the servers and the agent drivers report to
//! one [`BookObserver`] (every host runs on one thread), which keeps the
//! trace (the same records as the fleet tier's), counts answers and calls,
//! checks I1 with the fleet tier's predicate, and notes the agents to take
//! down with their `system` pool.

use super::api::CallOutcome;
use super::observe::Observer;
use crate::checks;
use crate::model::agent::{AgentOutput, AgentStatus, Guard, GuardCounts};
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::plant::control::{EdgeVersion, ServiceFaults};
use crate::protocol::{AnswerCounts, ClusterId, DesiredAnswer, PoolName, PoolSet};
use crate::record::Record;
use cascade_sim::{SimTime, Trace};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Everything the run observes, shared by the hosts (one thread).
pub(super) struct Book {
    pub(super) trace: Trace,
    /// Desired pools per cluster id (the whole fleet), for "lost".
    pub(super) desired: Vec<PoolSet>,
    /// Per cluster: the last answer was authoritative, and its tombstones (I1).
    pub(super) last_answer: BTreeMap<ClusterId, (bool, PoolSet)>,
    /// Each agent's last self-report (for full convergence at the end).
    pub(super) agent_status: BTreeMap<ClusterId, AgentStatus>,
    pub(super) answers: AnswerCounts,
    pub(super) calls: BTreeMap<&'static str, u64>,
    pub(super) lost: BTreeMap<ClusterId, SimTime>,
    pub(super) dead: BTreeMap<ClusterId, SimTime>,
    /// Agents to take down after this tick.
    pub(super) kills: Vec<ClusterId>,
    pub(super) deletes_accepted: u64,
    pub(super) creates_accepted: u64,
    pub(super) blocked: GuardCounts,
    pub(super) holds_entered: u64,
    pub(super) holds_left: u64,
    pub(super) i1: u64,
    pub(super) enacted: Vec<(SimTime, String)>,
    pub(super) admin_failures: u32,
}

#[derive(Clone)]
pub(super) struct BookObserver(pub(super) Rc<RefCell<Book>>);

impl Observer for BookObserver {
    fn answer(&self, now: SimTime, cluster: ClusterId, answer: &DesiredAnswer) {
        let mut b = self.0.borrow_mut();
        b.trace.record(now, &Record::Answer { cluster, answer });
        b.answers.add(answer);
        let last = match answer {
            DesiredAnswer::Ok(ds) => (true, ds.tombstones),
            _ => (false, PoolSet::EMPTY),
        };
        b.last_answer.insert(cluster, last);
    }

    fn agent_status(&self, _now: SimTime, cluster: ClusterId, status: AgentStatus) {
        self.0.borrow_mut().agent_status.insert(cluster, status);
    }

    fn agent_output(&self, now: SimTime, cluster: ClusterId, out: &AgentOutput) {
        let mut b = self.0.borrow_mut();
        match *out {
            AgentOutput::DeletePool { pool } | AgentOutput::ScaleToZero { pool } => {
                // I1, the predicate the fleet tier checks: authority and intent.
                let (ok, tombstones) = b
                    .last_answer
                    .get(&cluster)
                    .copied()
                    .unwrap_or((false, PoolSet::EMPTY));
                if checks::destructive_needs_authority(pool, ok, tombstones).is_some() {
                    b.i1 += 1;
                }
            }
            AgentOutput::Blocked { pool, guard } => {
                b.blocked.add(guard);
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
            b.blocked.add(Guard::G6);
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

impl Book {
    /// An empty book; `desired` holds every cluster's desired pools.
    pub(super) fn new(desired: Vec<PoolSet>) -> Book {
        Book {
            trace: Trace::new(),
            desired,
            last_answer: BTreeMap::new(),
            agent_status: BTreeMap::new(),
            answers: AnswerCounts::default(),
            calls: BTreeMap::new(),
            lost: BTreeMap::new(),
            dead: BTreeMap::new(),
            kills: Vec::new(),
            deletes_accepted: 0,
            creates_accepted: 0,
            blocked: GuardCounts::default(),
            holds_entered: 0,
            holds_left: 0,
            i1: 0,
            enacted: Vec::new(),
            admin_failures: 0,
        }
    }
}
