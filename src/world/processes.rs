//! The fleet part serving agents that are processes (the black-box tier;
//! the types and the reasons are in [`external`](super::external)): their
//! requests go through the same books and checks as a model agent's fetch,
//! answer and destructive step.

use super::books::Shared;
use super::external::{AgentCommand, ExternalAgents, ProbeVia, StopCause};
use super::fleet_side::{Fleet, FleetNews};
use super::Ev;
use crate::plant::cloud::{CloudCall, CloudReply};
use crate::protocol::{ClusterId, DesiredAnswer, PoolName, PoolSet, PoolState, POOLS};
use crate::types::RestoreMethod;
use cascade_sim::{SimDuration, Stream};

/// Doublings of the restart delay at most (a crash-looping pod waits up to
/// 32 × `agent_start_s`, as Kubernetes' back-off caps).
const RESTART_DOUBLINGS_MAX: u32 = 5;

impl Fleet {
    /// Whether the agents are processes (the black-box tier).
    pub(super) fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// Whether the recovery script is a process too.
    pub(super) fn script_is_a_process(&self) -> bool {
        self.external.as_ref().is_some_and(|x| x.script)
    }

    /// The rollout installed the new version on cluster `c`: a live
    /// process is replaced by the new version's.
    pub(super) fn upgraded(&mut self, c: ClusterId) {
        if self.is_external() && self.agents[c as usize].is_alive() {
            self.command(AgentCommand::Stop {
                cluster: c,
                cause: StopCause::Upgrade,
            });
            self.command(AgentCommand::Start {
                cluster: c,
                after_fix: true,
            });
        }
    }

    pub(super) fn command(&mut self, c: AgentCommand) {
        if let Some(x) = self.external.as_mut() {
            x.commands.push(c);
        }
    }

    /// Cluster `c`'s process asks for its desired state now: the same
    /// checks and books as a model agent's fetch and answer, the answer
    /// served at once (the real network carries it).
    pub(super) fn external_poll(&mut self, sh: &mut Shared, c: ClusterId) -> DesiredAnswer {
        let now = sh.now();
        sh.books.touched(c);
        self.book_fetch(sh, c, now);
        let answer = sh.plant.desired_answer(c);
        self.book_answer_received(sh, c, now, &answer, false);
        let agent = &mut self.agents[c as usize];
        let running = agent.is_alive();
        let generation_before = agent.generation();
        if running {
            agent.observe_served(&answer);
        }
        self.book_answer_applied(sh, c, now, &answer, running, generation_before);
        answer
    }

    /// Cluster `c`'s pools as the cloud lists them now.
    pub(super) fn external_listing(&mut self, sh: &mut Shared, c: ClusterId) -> [PoolState; POOLS] {
        let now = sh.now();
        self.listing(sh, c, now)
    }

    /// A cloud call on cluster `c`'s `pool` by its agent process or, when
    /// `by_script`, by the recovery script: the checks of a model agent's
    /// destructive step (I1, I12, soft delete first) for an agent's, I1
    /// for any destructive call of the script, I13 for its creates; then
    /// the cloud.
    pub(super) fn external_cloud_call(
        &mut self,
        sh: &mut Shared,
        response: &mut impl FleetNews,
        c: ClusterId,
        pool: PoolName,
        call: CloudCall,
        by_script: bool,
    ) -> CloudReply {
        let now = sh.now();
        sh.books.touched(c);
        let destructive = matches!(call, CloudCall::Delete | CloudCall::ScaleToZero);
        if destructive && by_script {
            // No answer gives the script authority to remove anything.
            let v = crate::checks::destructive_needs_authority(pool, false, PoolSet::EMPTY);
            if let Some(v) = v {
                sh.books.findings.add(v.at(now, Some(c)));
            }
        } else if destructive {
            self.check_destructive(sh, now, c, pool);
        } else if by_script {
            self.check_restore_create(sh, c, pool, RestoreMethod::Script);
        }
        if call == CloudCall::Delete {
            self.check_soft_delete(sh, now, c, pool);
        }
        self.cloud_call(sh, response, c, pool, call)
    }

    /// A restore (by hand or by the script, `method`) recreates `pool` of
    /// cluster `c`: I13 for the script, and I14's book of a restore made
    /// while the route answers 404.
    pub(super) fn check_restore_create(
        &mut self,
        sh: &mut Shared,
        c: ClusterId,
        pool: PoolName,
        method: RestoreMethod,
    ) {
        let edge = &sh.plant.edge;
        if let Some(r) = crate::checks::restore_into_404(edge, c, sh.now(), method, pool) {
            sh.books.clusters[c as usize].restored_into_404 = Some(r);
        }
        if method != RestoreMethod::Script {
            return;
        }
        let buggy = sh.books.clusters[c as usize]
            .guards_installed
            .unwrap_or(self.agents[c as usize].guards())
            .is_buggy();
        if let Some(v) = crate::checks::restore_into_broken_route(pool, edge, c, buggy) {
            sh.books.findings.add(v.at(sh.now(), Some(c)));
        }
    }

    /// The recovery script reads cluster `c`'s desired state `via` the
    /// edge (its preflight) or the service.
    pub(super) fn external_probe(
        &mut self,
        sh: &mut Shared,
        c: ClusterId,
        via: ProbeVia,
    ) -> DesiredAnswer {
        let Some(x) = self.external.as_mut() else {
            return DesiredAnswer::ServerError;
        };
        match via {
            ProbeVia::Edge => sh.plant.probe(c, &mut x.probes),
            ProbeVia::Service => sh.plant.service.answer(c, &mut x.probes),
        }
    }

    /// Cluster `c`'s process reports whether it is in safe hold: the
    /// fleet's hold count (what the agent-hold alert watches) follows.
    pub(super) fn external_status(&mut self, sh: &mut Shared, c: ClusterId, in_hold: bool) {
        sh.books.touched(c);
        if !self.agents[c as usize].report_hold(in_hold) {
            return;
        }
        if in_hold {
            sh.books.metrics.holds_entered += 1;
            self.tallies.agents_held += 1;
        } else {
            self.tallies.agents_held -= 1;
        }
    }

    /// Cluster `c`'s process exited on its own (a crash, a bad command, a
    /// process that gives up): its pod is down until the restart, which
    /// waits longer with each exit.
    pub(super) fn external_exited(&mut self, sh: &mut Shared, c: ClusterId) {
        if !self.agents[c as usize].is_alive() {
            return;
        }
        self.kill_agent(sh, c);
        let Some(x) = self.external.as_mut() else {
            return;
        };
        let exits = &mut x.exits[c as usize];
        *exits = exits.saturating_add(1);
        let doublings = (*exits - 1).min(RESTART_DOUBLINGS_MAX);
        let start = sh.cfg.network.agent_start_s * f64::from(1u32 << doublings);
        sh.sim
            .schedule_in(SimDuration::from_secs_f64(start), Ev::AgentRestart(c));
    }

    /// The model's agents hand over to processes now: every pending timer
    /// and answer of theirs is void, none sleeps again, none is in hold (a
    /// process reports no hold), and each live one's process starts.
    pub(super) fn hand_over(&mut self, sh: &mut Shared, script: bool, probes: Stream) {
        self.wake_all(sh);
        self.sleep.sleep_possible = false;
        let n = self.agents.len();
        self.external = Some(ExternalAgents {
            commands: Vec::with_capacity(n),
            script,
            exits: vec![0; n],
            probes,
        });
        for c in 0..n as ClusterId {
            // The model's process ends here; its successor is the real one.
            sh.books.clusters[c as usize].process += 1;
            self.pending_answer[c as usize] = None;
            if self.agents[c as usize].hand_over_to_process() {
                self.tallies.agents_held -= 1;
            }
            if self.agents[c as usize].is_alive() {
                let after_fix = sh.books.clusters[c as usize].guards_installed.is_some();
                self.command(AgentCommand::Start {
                    cluster: c,
                    after_fix,
                });
            }
        }
    }
}
