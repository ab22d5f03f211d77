//! The customers' workload in the fleet tier: their pool changes go to the
//! desired-state service, and the books follow each change until the cloud
//! has carried it out (liveness: [`crate::checks::change_late`]).
//!
//! Owns: [`Workload`] (the customers' stream and when they go quiet).
//! Touches: the plant's desired-state service, the shared books (the
//! pending changes per cluster, the metrics' changes), and wakes the
//! fleet part's agent of a changed cluster; reads the agents' liveness.

use super::books::{Books, Shared};
use super::fleet_side::{Fleet, PoolSettled};
use super::Ev;
use crate::config::ModelConfig;
use crate::coverage::Reached;
use crate::metrics::CustomerChange;
use crate::model::agent::Agent;
use crate::plant::cloud::Completion;
use crate::plant::workload::{pick_change, ChangeKind, EXTRA_WORKER_SLOTS};
use crate::protocol::{ClusterId, PoolName, PoolState};
use crate::types::Index32;
use cascade_sim::{SimDuration, SimTime, Stamp, Stream};

/// Changes a run books at most; beyond it customers stop (bounded memory).
pub const CHANGES_MAX: usize = 1_000_000;

/// The slot of an extra worker pool in a cluster's pending-change array.
fn slot(pool: PoolName) -> Option<usize> {
    EXTRA_WORKER_SLOTS.iter().position(|&p| p == pool)
}

/// The customers' side of the world.
pub(super) struct Workload {
    /// The customers' pool changes.
    stream: Stream,
    /// Customers make no change from here on (see `World::set_run_end`).
    pub quiet_at: SimTime,
}

impl Workload {
    pub fn new(stream: Stream) -> Workload {
        Workload {
            stream,
            quiet_at: SimTime::MAX,
        }
    }

    /// Schedules the next customer change, if the workload is on and it
    /// falls before customers go quiet.
    pub(super) fn schedule_customer_change(&mut self, sh: &mut Shared) {
        let customers = sh.plant.fleet.customers;
        let Some(gap_s) = sh.cfg.workload.next_gap_s(customers, &mut self.stream) else {
            return;
        };
        let at = sh.now() + SimDuration::from_secs_f64(gap_s);
        if at < self.quiet_at {
            sh.sim.schedule_at(at, Ev::CustomerChange);
        }
    }

    /// A customer changes a pool of a cluster drawn at random.
    pub(super) fn on_customer_change(&mut self, sh: &mut Shared, fleet: &mut Fleet) {
        let now = sh.now();
        self.schedule_customer_change(sh);
        if sh.books.metrics.changes.len() >= CHANGES_MAX {
            return;
        }
        let n = sh.plant.fleet.len() as u64;
        let c = self.stream.below(n) as ClusterId;
        if sh.books.faults_active > 0 {
            sh.books.coverage.hit(Reached::CustomerChangeDuringFault);
        }
        let ds = *sh.plant.service.state(c);
        let Some((pool, kind, nodes)) = pick_change(&sh.cfg.workload, &ds, &mut self.stream) else {
            return;
        };
        // The cluster's desired state changes: its agent must see it.
        fleet.wake(sh, c);
        match kind {
            ChangeKind::Add => {
                let nodes = sh.plant.fleet.nodes_per_pool;
                sh.plant.service.set_pool(c, pool, nodes);
            }
            ChangeKind::Resize => sh.plant.service.set_pool(c, pool, nodes),
            ChangeKind::Remove => sh.plant.service.tombstone(c, pool),
        }
        let i = slot(pool).expect("customers change extra worker slots only");
        // A newer change on the same pool supersedes the pending one.
        if let Some(k) = sh.books.clusters[c as usize].pending_change[i].take() {
            sh.books.metrics.changes[k].superseded = true;
        }
        // A pool the customer wants again (or resized) is no longer due
        // for collection.
        sh.books.clusters[c as usize].pending_collect[i] = Index32::NONE;
        sh.books.clusters[c as usize].pending_change[i] =
            Index32::of(sh.books.metrics.changes.len());
        sh.books.metrics.changes.push(CustomerChange {
            cluster: c,
            pool,
            kind,
            issued_at: now,
            carried_at: Stamp::NONE,
            superseded: false,
            late: false,
            collected_at: Stamp::NONE,
            collect_late: false,
        });
        // An already satisfied change (e.g. removing a pool the agent never
        // created) is carried out at once.
        check_change_carried(sh, &fleet.agents, now, c, pool);
    }
}

/// L3: a removal carried out by a soft delete is finished when the
/// pool is really deleted.
fn check_removal_collected(
    sh: &mut Shared,
    agents: &[Agent],
    now: SimTime,
    c: ClusterId,
    pool: PoolName,
) {
    let Some(i) = slot(pool) else { return };
    let Some(k) = sh.books.clusters[c as usize].pending_collect[i].get() else {
        return;
    };
    if sh.plant.cloud.pools(c)[pool.index()] != PoolState::Absent {
        return;
    }
    sh.books.clusters[c as usize].pending_collect[i] = Index32::NONE;
    sh.books.coverage.hit(Reached::SoftDeleteCollected);
    note_ongoing_disturbance(sh.books, agents, now, c);
    let late = collect_late(sh.cfg, sh.books, now, c, &sh.books.metrics.changes[k]);
    let rec = &mut sh.books.metrics.changes[k];
    rec.collected_at = Stamp::at(now);
    rec.collect_late = late;
}

/// Whether the soft-deleted pool of `change` (a removal carried out at
/// its scale-to-zero) is, at `now`, past its collection deadline: the
/// agent's grace period plus the removal's own deadline (the delete
/// waits for a full resync after the grace period, as the first step
/// waited for one), from the scale-to-zero or from the end of a
/// disturbance plus the grace period, as for L1.
fn collect_late(
    cfg: &ModelConfig,
    books: &Books,
    now: SimTime,
    c: ClusterId,
    change: &CustomerChange,
) -> bool {
    let Some(zeroed_at) = change.carried_at.get() else {
        return false;
    };
    let deadline_s = cfg.agent.soft_delete_collect_after_s + cfg.workload.delete_deadline_s;
    let from = deadline_start(cfg, books, now, c, zeroed_at);
    crate::checks::change_late(now.saturating_since(from).as_secs_f64(), deadline_s)
}

fn check_change_carried(
    sh: &mut Shared,
    agents: &[Agent],
    now: SimTime,
    c: ClusterId,
    pool: PoolName,
) {
    let Some(i) = slot(pool) else { return };
    let Some(k) = sh.books.clusters[c as usize].pending_change[i].get() else {
        return;
    };
    let state = sh.plant.cloud.pools(c)[pool.index()];
    let change = sh.books.metrics.changes[k];
    let nodes = sh.plant.service.state(c).nodes[pool.index()];
    let carried = match change.kind {
        // Running with the node count asked for.
        ChangeKind::Add | ChangeKind::Resize => state == PoolState::Present { nodes },
        ChangeKind::Remove => state.is_gone(),
    };
    if !carried {
        return;
    }
    sh.books.clusters[c as usize].pending_change[i] = Index32::NONE;
    note_ongoing_disturbance(sh.books, agents, now, c);
    let late = change_late(sh.cfg, sh.books, now, c, &change);
    let rec = &mut sh.books.metrics.changes[k];
    rec.carried_at = Stamp::at(now);
    rec.late = late;
    if change.kind == ChangeKind::Remove {
        if state == PoolState::Absent {
            rec.collected_at = Stamp::at(now);
        } else {
            // Scaled to zero (or being deleted): the real delete is due.
            sh.books.clusters[c as usize].pending_collect[i] = Index32::of(k);
        }
    }
}

/// Whether `change` of `c`, judged at `now`, is past its deadline. The
/// deadline counts from the change, or from the end of a disturbance of
/// the cluster or of a timeline fault, plus the grace period, when that
/// is later.
fn change_late(
    cfg: &ModelConfig,
    books: &Books,
    now: SimTime,
    c: ClusterId,
    change: &CustomerChange,
) -> bool {
    let w = &cfg.workload;
    let deadline_s = match change.kind {
        ChangeKind::Add => w.create_deadline_s,
        ChangeKind::Resize => w.resize_deadline_s,
        ChangeKind::Remove => w.delete_deadline_s,
    };
    let from = deadline_start(cfg, books, now, c, change.issued_at);
    crate::checks::change_late(now.saturating_since(from).as_secs_f64(), deadline_s)
}

/// Where a deadline judged at `now` counts from: `since`, or the end of
/// the cluster's last disturbance or of the last timeline fault plus
/// the grace period, whichever is later.
fn deadline_start(
    cfg: &ModelConfig,
    books: &Books,
    now: SimTime,
    c: ClusterId,
    since: SimTime,
) -> SimTime {
    let grace = SimDuration::from_secs_f64(cfg.workload.grace_after_disturbance_s);
    let mut from = since;
    let last_fault = if books.faults_active > 0 {
        Some(now)
    } else {
        books.last_fault_edge_at
    };
    for d in [
        books.clusters[c as usize].last_disturbed_at.get(),
        last_fault,
    ]
    .into_iter()
    .flatten()
    {
        from = from.max(d + grace);
    }
    from
}

/// A disturbance that gives no signal while it lasts (a dead agent does
/// not poll; a lost cluster stays lost) counts as happening now.
fn note_ongoing_disturbance(books: &mut Books, agents: &[Agent], now: SimTime, c: ClusterId) {
    let a = &agents[c as usize];
    if !a.is_alive() || a.in_hold() || books.clusters[c as usize].lost_since.is_some() {
        books.disturbed(now, c);
    }
}

/// At the end: every change still pending is judged against its deadline.
pub(super) fn judge_pending_changes(sh: &mut Shared, agents: &[Agent], now: SimTime) {
    for c in 0..sh.plant.fleet.len() as ClusterId {
        note_ongoing_disturbance(sh.books, agents, now, c);
        for i in 0..EXTRA_WORKER_SLOTS.len() {
            if let Some(k) = sh.books.clusters[c as usize].pending_change[i].get() {
                let change = sh.books.metrics.changes[k];
                sh.books.metrics.changes[k].late = change_late(sh.cfg, sh.books, now, c, &change);
            }
            if let Some(k) = sh.books.clusters[c as usize].pending_collect[i].get() {
                let change = sh.books.metrics.changes[k];
                sh.books.metrics.changes[k].collect_late =
                    collect_late(sh.cfg, sh.books, now, c, &change);
            }
        }
    }
}

impl PoolSettled for Workload {
    /// A cloud operation on `pool` of `c` completed: does it carry out the
    /// customer's pending change?
    fn on_pool_settled(
        &mut self,
        sh: &mut Shared,
        agents: &[Agent],
        now: SimTime,
        c: ClusterId,
        pool: PoolName,
        done: Completion,
    ) {
        // Every outcome counts: a failed create of a pool the customer has
        // removed since leaves it absent, which carries out the removal.
        if done != Completion::Stale {
            check_change_carried(sh, agents, now, c, pool);
            check_removal_collected(sh, agents, now, c, pool);
        }
    }
}
