//! The books every part of the world writes: per-cluster bookkeeping, the
//! invariant findings, the metrics, the narrative's key events, the
//! coverage counters, the timeline's fault edges and the convergence
//! watches, and [`Shared`], what
//! each part's handler is handed besides the parts it calls.
//!
//! Owns: [`Books`] and [`ClusterBook`]. Touches nothing else: the books are
//! written by the parts (`fleet_side`, `response`, `workload_side`,
//! `auth_side`) and read by the end-of-run accounting.

use super::{Ev, RestoreMethod};
use crate::checks::{BackoffWatch, Findings, RequestRate};
use crate::config::ModelConfig;
use crate::coverage::Coverage;
use crate::metrics::{ConvergenceWatch, Metrics};
use crate::model::agent::Agent;
use crate::model::agent::Guards;
use crate::model::responder::PoolIncident;
use crate::plant::Plant;
use crate::protocol::{ClusterId, POOLS};
use crate::types::Index32;
use cascade_sim::{Epoch, Sim, SimTime, Stamp};

/// Key events kept for the narrative (bounded).
const KEY_EVENTS_MAX: usize = 200;

/// Per-cluster bookkeeping the world keeps beside the agent.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterBook {
    /// When the cluster first lost a desired pool in the current loss episode.
    pub lost_since: Stamp,
    /// The last time the edge answered this cluster's agent 404 (the edge's
    /// access log, which responders may read).
    pub last_404_at: Stamp,
    /// The first 404 of the agent's current run of answers without an
    /// authoritative one (the same access log): when its 404s began.
    pub first_404_at: Stamp,
    /// The last time the cluster was disturbed (a failed poll, its agent
    /// dead, held or restarted, pools lost or restored).
    pub last_disturbed_at: Stamp,
    /// Per extra worker slot: the customer's change not yet carried out
    /// (an index into the metrics' changes).
    pub pending_change: [Index32; 3],
    /// Per extra worker slot: a removal carried out by a soft delete (the
    /// pool scaled to zero, G8) whose real delete is still due (L3).
    pub pending_collect: [Index32; 3],
    /// The agent version to run at the next (re)start.
    pub guards_installed: Option<Guards>,
    /// Exits of the agent's process within 10 min of its start, in a row
    /// (its restart back-off doubles with each; CrashLoopBackOff).
    pub quick_exits: u8,
    /// The last answer this agent acted on was authoritative (for I1).
    pub last_answer_ok: bool,
    /// Tombstones in the last answer (for I1).
    pub last_tombstones: crate::protocol::PoolSet,
    /// Restoration queued or in progress, and by what.
    pub restoring: Option<RestoreMethod>,
    /// Highest generation any of the cluster's agent processes applied
    /// (for I4, which spans restarts).
    pub generation_applied: u64,
    /// The generation the cluster's status records as last applied: what
    /// the agent writes with each apply and reads when it starts again.
    pub generation_recorded: u64,
    /// Desired-state requests against the rate limit (I8).
    pub request_rate: RequestRate,
    /// Failed answers in a row against G7's backoff (I8).
    pub backoff: BackoffWatch,
    /// The number of the agent's current process (0 at the start, one
    /// more at each restart): its timers and requests carry it.
    pub process: u32,
    /// Per pool slot: since when the answers the agent's current process
    /// acted on have not wanted the pool, without a break (for I12).
    pub unwanted_since: [Stamp; POOLS],
    /// The last restore that recreated a pool while the route answered
    /// 404, until an authoritative answer reaches the agent (for I14).
    pub restored_into_404: Option<crate::checks::RestoreIntoBrokenRoute>,
}

/// The books the parts share.
pub(super) struct Books {
    pub epoch: Epoch,
    /// Per cluster, by id.
    pub clusters: Vec<ClusterBook>,
    pub findings: Findings,
    pub metrics: Metrics,
    /// Timed key events for the narrative (bounded).
    pub key_events: Vec<(SimTime, String)>,
    /// Interesting states reached (measurement only: no decision reads it).
    pub coverage: Coverage,
    /// Timeline faults (items with a duration) in progress, and the last
    /// time one began or ended (customer-change deadlines restart there).
    pub faults_active: u32,
    pub last_fault_edge_at: Option<SimTime>,
    /// Per cluster: not touched (no poll, answer, restart, cloud or
    /// desired-state change, upgrade or wake) since the convergence
    /// watches last found it not converged: it still is not.
    pub unchanged_since_watch: Vec<bool>,
}

impl Books {
    pub fn new(clusters: usize, metrics: Metrics, epoch: Epoch) -> Books {
        Books {
            epoch,
            clusters: vec![ClusterBook::default(); clusters],
            findings: Findings::new(1_000),
            metrics,
            key_events: Vec::new(),
            coverage: Coverage::default(),
            faults_active: 0,
            last_fault_edge_at: None,
            unchanged_since_watch: vec![false; clusters],
        }
    }

    /// Adds a line to the narrative (and to `-v` logs).
    pub fn key_event(&mut self, at: SimTime, what: String) {
        // Logs carry simulated calendar time, never the wall clock.
        tracing::info!(target: "cascade::world", "{} {}", self.epoch.format(at), what);
        if self.key_events.len() < KEY_EVENTS_MAX {
            self.key_events.push((at, what));
        }
    }

    /// Something happened to cluster `c` that may change its convergence.
    pub fn touched(&mut self, c: ClusterId) {
        self.unchanged_since_watch[c as usize] = false;
    }

    /// Once a minute: starts a convergence watch for each pool incident that
    /// has just healed (its route reverted, or its clusters restored), and
    /// checks the clusters each watch still waits for. Bounded by the
    /// clusters not converged at a heal.
    pub fn watch_convergence(
        &mut self,
        plant: &Plant,
        agents: &[Agent],
        fast_forward: bool,
        incidents: &[PoolIncident],
        now: SimTime,
    ) {
        let started = self.metrics.convergence_watches.len();
        for inc in incidents.iter().skip(started) {
            let Some(healed_at) = inc.mitigated_at.or(inc.restore_completed_at) else {
                break;
            };
            let pending = (0..plant.fleet.len() as ClusterId)
                .filter(|&c| !converged(plant, agents, c))
                .collect();
            self.metrics.convergence_watches.push(ConvergenceWatch {
                incident: inc.id,
                healed_at,
                pending,
                converged_after_s: Vec::new(),
            });
        }
        let mut watches = std::mem::take(&mut self.metrics.convergence_watches);
        for w in &mut watches {
            self.step_watch(plant, agents, fast_forward, w, now);
        }
        self.metrics.convergence_watches = watches;
        if let Some(mut w) = self.metrics.settle_watch.take() {
            self.step_watch(plant, agents, fast_forward, &mut w, now);
            self.metrics.settle_watch = Some(w);
        }
    }

    /// The timeline's `healed` marker: from `now`, every cluster not fully
    /// converged is watched until it is (a later marker starts afresh).
    pub fn watch_settling(&mut self, plant: &Plant, agents: &[Agent], now: SimTime) {
        let pending = (0..plant.fleet.len() as ClusterId)
            .filter(|&c| !converged(plant, agents, c))
            .collect();
        self.metrics.settle_watch = Some(ConvergenceWatch {
            incident: u32::MAX,
            healed_at: now,
            pending,
            converged_after_s: Vec::new(),
        });
    }

    /// One minute of a convergence watch: the clusters it waits for that
    /// are converged now leave it, with their time since the heal.
    /// `fast_forward`: whether quiet agents sleep (the reference mode checks
    /// the untouched-cluster shortcut).
    fn step_watch(
        &mut self,
        plant: &Plant,
        agents: &[Agent],
        fast_forward: bool,
        w: &mut ConvergenceWatch,
        now: SimTime,
    ) {
        let mut k = 0;
        while k < w.pending.len() {
            let c = w.pending[k];
            // Untouched since last found not converged: still not (the
            // reference mode checks this shortcut too).
            if self.unchanged_since_watch[c as usize] {
                assert!(
                    fast_forward || !converged(plant, agents, c),
                    "cluster {c} converged without an event touching it"
                );
                k += 1;
                continue;
            }
            if converged(plant, agents, c) {
                w.converged_after_s
                    .push(now.saturating_since(w.healed_at).as_secs_f64());
                w.pending.swap_remove(k);
            } else {
                // Only a "not converged" may be remembered: the cluster
                // may be pending in another watch too.
                self.unchanged_since_watch[c as usize] = true;
                k += 1;
            }
        }
    }

    /// The cluster is disturbed now (a failed poll, its agent dead, in hold
    /// or back, pools lost or restored): deadlines restart after it.
    pub fn disturbed(&mut self, now: SimTime, c: ClusterId) {
        self.clusters[c as usize].last_disturbed_at = Stamp::at(now);
    }
}

/// Whether cluster `c` is fully converged (see [`crate::plant::convergence`]).
fn converged(plant: &Plant, agents: &[Agent], c: ClusterId) -> bool {
    !plant.convergence(c, agents[c as usize].status()).any()
}

/// What every part's handler is handed: the configuration, the plant, the
/// shared books and the scheduler. The parts it calls into are passed
/// beside it, so each handler's reach is visible in its signature.
pub(super) struct Shared<'a> {
    pub cfg: &'a ModelConfig,
    pub plant: &'a mut Plant,
    pub books: &'a mut Books,
    pub sim: &'a mut Sim<Ev>,
}

impl Shared<'_> {
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterBook;
    use crate::metrics::CustomerChange;
    use crate::model::agent::Agent;
    use std::mem::size_of;

    /// A million clusters keep a million of each: these sizes are the
    /// per-cluster memory budget (issue 31), so a field that grows one
    /// shows up here first. Before the compaction, in bytes: agent 304,
    /// book 304, change 56 (1,057 MB at 1,000,000 clusters).
    #[test]
    fn per_cluster_state_keeps_its_size() {
        assert_eq!(size_of::<Agent>(), 272);
        assert_eq!(size_of::<ClusterBook>(), 184);
        assert_eq!(size_of::<CustomerChange>(), 40);
        // Every pending event is one of these beside its time (32 bytes
        // while two timers carried a u64).
        assert_eq!(size_of::<(u64, super::super::Ev)>(), 24);
    }
}
