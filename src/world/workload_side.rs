//! The customers' workload in the fleet tier: their pool changes go to the
//! desired-state service, and the books follow each change until the cloud
//! has carried it out (liveness: [`crate::checks::change_late`]).

use super::{Ev, World};
use crate::coverage::Reached;
use crate::metrics::CustomerChange;
use crate::plant::cloud::Completion;
use crate::plant::workload::{pick_change, ChangeKind, EXTRA_WORKER_SLOTS};
use crate::protocol::{ClusterId, PoolName, PoolState};
use cascade_sim::{Sim, SimDuration, SimTime};

/// Changes a run books at most; beyond it customers stop (bounded memory).
pub const CHANGES_MAX: usize = 1_000_000;

/// The slot of an extra worker pool in a cluster's pending-change array.
fn slot(pool: PoolName) -> Option<usize> {
    EXTRA_WORKER_SLOTS.iter().position(|&p| p == pool)
}

impl World {
    /// Schedules the next customer change, if the workload is on and it
    /// falls before customers go quiet.
    pub(super) fn schedule_customer_change(&mut self, sim: &mut Sim<Ev>) {
        let customers = self.plant.fleet.customers;
        let Some(gap_s) = self
            .cfg
            .workload
            .next_gap_s(customers, &mut self.rng.workload)
        else {
            return;
        };
        let at = sim.now() + SimDuration::from_secs_f64(gap_s);
        if at < self.customers_quiet_at {
            sim.schedule_at(at, Ev::CustomerChange);
        }
    }

    /// A customer changes a pool of a cluster drawn at random.
    pub(super) fn on_customer_change(&mut self, sim: &mut Sim<Ev>) {
        let now = sim.now();
        self.schedule_customer_change(sim);
        if self.metrics.changes.len() >= CHANGES_MAX {
            return;
        }
        let n = self.plant.fleet.len() as u64;
        let c = self.rng.workload.below(n) as ClusterId;
        if self.faults_active > 0 {
            self.coverage.hit(Reached::CustomerChangeDuringFault);
        }
        let ds = *self.plant.service.state(c);
        let Some((pool, kind, nodes)) =
            pick_change(&self.cfg.workload, &ds, &mut self.rng.workload)
        else {
            return;
        };
        // The cluster's desired state changes: its agent must see it.
        self.wake(sim, c);
        match kind {
            ChangeKind::Add => {
                let nodes = self.plant.fleet.nodes_per_pool;
                self.plant.service.set_pool(c, pool, nodes);
            }
            ChangeKind::Resize => self.plant.service.set_pool(c, pool, nodes),
            ChangeKind::Remove => self.plant.service.tombstone(c, pool),
        }
        let i = slot(pool).expect("customers change extra worker slots only");
        // A newer change on the same pool supersedes the pending one.
        if let Some(k) = self.books[c as usize].pending_change[i].take() {
            self.metrics.changes[k as usize].superseded = true;
        }
        // A pool the customer wants again (or resized) is no longer due
        // for collection.
        self.books[c as usize].pending_collect[i] = None;
        self.books[c as usize].pending_change[i] = Some(self.metrics.changes.len() as u32);
        self.metrics.changes.push(CustomerChange {
            cluster: c,
            pool,
            kind,
            issued_at: now,
            carried_at: None,
            superseded: false,
            late: false,
            collected_at: None,
            collect_late: false,
        });
        // An already satisfied change (e.g. removing a pool the agent never
        // created) is carried out at once.
        self.check_change_carried(now, c, pool);
    }

    /// A cloud operation on `pool` of `c` completed: does it carry out the
    /// customer's pending change?
    pub(super) fn on_pool_settled(
        &mut self,
        now: SimTime,
        c: ClusterId,
        pool: PoolName,
        done: Completion,
    ) {
        // Every outcome counts: a failed create of a pool the customer has
        // removed since leaves it absent, which carries out the removal.
        if done != Completion::Stale {
            self.check_change_carried(now, c, pool);
            self.check_removal_collected(now, c, pool);
        }
    }

    /// L3: a removal carried out by a soft delete is finished when the
    /// pool is really deleted.
    fn check_removal_collected(&mut self, now: SimTime, c: ClusterId, pool: PoolName) {
        let Some(i) = slot(pool) else { return };
        let Some(k) = self.books[c as usize].pending_collect[i] else {
            return;
        };
        if self.plant.cloud.pools(c)[pool.index()] != PoolState::Absent {
            return;
        }
        self.books[c as usize].pending_collect[i] = None;
        self.coverage.hit(Reached::SoftDeleteCollected);
        self.note_ongoing_disturbance(now, c);
        let late = self.collect_late(now, c, &self.metrics.changes[k as usize]);
        let rec = &mut self.metrics.changes[k as usize];
        rec.collected_at = Some(now);
        rec.collect_late = late;
    }

    /// Whether the soft-deleted pool of `change` (a removal carried out at
    /// its scale-to-zero) is, at `now`, past its collection deadline: the
    /// agent's grace period plus the removal's own deadline (the delete
    /// waits for a full resync after the grace period, as the first step
    /// waited for one), from the scale-to-zero or from the end of a
    /// disturbance plus the grace period, as for L1.
    fn collect_late(&self, now: SimTime, c: ClusterId, change: &CustomerChange) -> bool {
        let Some(zeroed_at) = change.carried_at else {
            return false;
        };
        let deadline_s =
            self.cfg.agent.soft_delete_collect_after_s + self.cfg.workload.delete_deadline_s;
        let from = self.deadline_start(now, c, zeroed_at);
        crate::checks::change_late(now.saturating_since(from).as_secs_f64(), deadline_s)
    }

    fn check_change_carried(&mut self, now: SimTime, c: ClusterId, pool: PoolName) {
        let Some(i) = slot(pool) else { return };
        let Some(k) = self.books[c as usize].pending_change[i] else {
            return;
        };
        let state = self.plant.cloud.pools(c)[pool.index()];
        let change = self.metrics.changes[k as usize];
        let nodes = self.plant.service.state(c).nodes[pool.index()];
        let carried = match change.kind {
            // Running with the node count asked for.
            ChangeKind::Add | ChangeKind::Resize => state == PoolState::Present { nodes },
            ChangeKind::Remove => state.is_gone(),
        };
        if !carried {
            return;
        }
        self.books[c as usize].pending_change[i] = None;
        self.note_ongoing_disturbance(now, c);
        let late = self.change_late(now, c, &change);
        let rec = &mut self.metrics.changes[k as usize];
        rec.carried_at = Some(now);
        rec.late = late;
        if change.kind == ChangeKind::Remove {
            if state == PoolState::Absent {
                rec.collected_at = Some(now);
            } else {
                // Scaled to zero (or being deleted): the real delete is due.
                self.books[c as usize].pending_collect[i] = Some(k);
            }
        }
    }

    /// Whether `change` of `c`, judged at `now`, is past its deadline. The
    /// deadline counts from the change, or from the end of a disturbance of
    /// the cluster or of a timeline fault, plus the grace period, when that
    /// is later.
    fn change_late(&self, now: SimTime, c: ClusterId, change: &CustomerChange) -> bool {
        let w = &self.cfg.workload;
        let deadline_s = match change.kind {
            ChangeKind::Add => w.create_deadline_s,
            ChangeKind::Resize => w.resize_deadline_s,
            ChangeKind::Remove => w.delete_deadline_s,
        };
        let from = self.deadline_start(now, c, change.issued_at);
        crate::checks::change_late(now.saturating_since(from).as_secs_f64(), deadline_s)
    }

    /// Where a deadline judged at `now` counts from: `since`, or the end of
    /// the cluster's last disturbance or of the last timeline fault plus
    /// the grace period, whichever is later.
    fn deadline_start(&self, now: SimTime, c: ClusterId, since: SimTime) -> SimTime {
        let grace = SimDuration::from_secs_f64(self.cfg.workload.grace_after_disturbance_s);
        let mut from = since;
        let last_fault = if self.faults_active > 0 {
            Some(now)
        } else {
            self.last_fault_edge_at
        };
        for d in [self.books[c as usize].last_disturbed_at, last_fault]
            .into_iter()
            .flatten()
        {
            from = from.max(d + grace);
        }
        from
    }

    /// The cluster is disturbed now (a failed poll, its agent dead, in hold
    /// or back, pools lost or restored): deadlines restart after it.
    pub(super) fn disturbed(&mut self, now: SimTime, c: ClusterId) {
        self.books[c as usize].last_disturbed_at = Some(now);
    }

    /// A disturbance that gives no signal while it lasts (a dead agent does
    /// not poll; a lost cluster stays lost) counts as happening now.
    fn note_ongoing_disturbance(&mut self, now: SimTime, c: ClusterId) {
        let a = &self.agents[c as usize];
        if !a.is_alive() || a.in_hold() || self.books[c as usize].lost_since.is_some() {
            self.disturbed(now, c);
        }
    }

    /// At the end: every change still pending is judged against its deadline.
    pub(super) fn judge_pending_changes(&mut self, now: SimTime) {
        for c in 0..self.plant.fleet.len() as ClusterId {
            self.note_ongoing_disturbance(now, c);
            for i in 0..EXTRA_WORKER_SLOTS.len() {
                if let Some(k) = self.books[c as usize].pending_change[i] {
                    let change = self.metrics.changes[k as usize];
                    self.metrics.changes[k as usize].late = self.change_late(now, c, &change);
                }
                if let Some(k) = self.books[c as usize].pending_collect[i] {
                    let change = self.metrics.changes[k as usize];
                    self.metrics.changes[k as usize].collect_late =
                        self.collect_late(now, c, &change);
                }
            }
        }
    }
}
