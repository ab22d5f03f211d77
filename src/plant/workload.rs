//! The customers' own workload: worker pools added and removed through the
//! control plane during the run, so that the harness can tell a correct
//! fix from one that never deletes, or never acts.
//!
//! Changes arrive as one Poisson process over the fleet (the sum of every
//! customer's process), each on a cluster drawn uniformly. A change adds
//! an extra worker pool slot the cluster does not want yet (re-adding a
//! tombstoned one clears its tombstone), resizes one it wants (a new node
//! count), or removes one it wants (writing a tombstone); the system,
//! airflow and default worker pools are never touched. Every change bumps
//! the cluster's generation.
//!
//! The world books each change and when the cloud carried it out; the
//! liveness rule I10 ([`crate::checks`]) holds it to [`WorkloadConfig`]'s
//! deadlines.

use crate::protocol::{DesiredState, PoolName};
use crate::types::{check_at_least, check_below, check_positive, check_range, check_ratio};
use cascade_sim::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Extra worker pool slots customers add and remove.
pub const EXTRA_WORKER_SLOTS: [PoolName; 3] = [
    PoolName::Worker(1),
    PoolName::Worker(2),
    PoolName::Worker(3),
];

/// The customers' change rates and the bounds a change must be carried out in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Pool changes per customer per day (Poisson). \[A] a team adjusting
    /// its worker pools a few times a week; 0 turns the workload off.
    pub changes_per_customer_per_day: f64,
    /// Share of changes that remove a pool. \[A]
    pub delete_share: f64,
    /// Share of changes that resize a pool (the rest add one). \[A] teams
    /// scale worker pools about as often as they add or remove them.
    pub resize_share: f64,
    /// A resize picks a new node count in 1..=this. \[A] small teams' pools.
    pub resize_nodes_max: u16,
    /// An added pool must exist within this time. \[A] an hour: two polls
    /// (2 min) plus three times the cloud's create p99 (20 min), because
    /// the create latency's lognormal tail runs past its p99 (one create in
    /// ~10^7 takes longer).
    pub create_deadline_s: f64,
    /// A resized pool must have its new node count within this time. \[A]
    /// half an hour: two polls (2 min) plus the cloud's scaling tail and a
    /// retry when another operation holds the pool (a create in flight).
    pub resize_deadline_s: f64,
    /// A removed pool must be gone (or scaled to zero under G8) within
    /// this time. \[A] agents prune only on a full resync (every 4 h), after
    /// the G4 confirmation window (5 min), plus two polls and the cloud's
    /// delete p99 (10 min), rounded up.
    pub delete_deadline_s: f64,
    /// Customers make no change in the last hours of a run, so that every
    /// change has its whole deadline inside the run. \[A]
    pub quiet_before_end_h: f64,
    /// After the cluster was disturbed (its agent failed a poll, died or
    /// held, or it lost pools) the deadline counts from the disturbance's
    /// end plus this grace. \[A] one full-resync interval.
    pub grace_after_disturbance_s: f64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            changes_per_customer_per_day: 0.5,
            delete_share: 0.35,
            resize_share: 0.3,
            resize_nodes_max: 10,
            create_deadline_s: 3_600.0,
            resize_deadline_s: 1_800.0,
            delete_deadline_s: 16_200.0,
            quiet_before_end_h: 6.0,
            grace_after_disturbance_s: 4.0 * 3_600.0,
        }
    }
}

impl WorkloadConfig {
    pub fn validate(&self) -> Result<(), String> {
        check_at_least(
            "changes_per_customer_per_day",
            self.changes_per_customer_per_day,
            0.0,
        )?;
        check_below(
            "changes_per_customer_per_day",
            self.changes_per_customer_per_day,
            1_000.0,
        )?;
        for (name, share) in [
            ("delete_share", self.delete_share),
            ("resize_share", self.resize_share),
        ] {
            check_ratio(name, share)?;
        }
        if self.delete_share + self.resize_share > 1.0 {
            return Err(format!(
                "resize_share: expected at most 1 - delete_share ({}), found {}",
                1.0 - self.delete_share,
                self.resize_share
            ));
        }
        check_range("resize_nodes_max", self.resize_nodes_max, 2, 1_000)?;
        check_positive("create_deadline_s", self.create_deadline_s)?;
        check_positive("resize_deadline_s", self.resize_deadline_s)?;
        check_positive("delete_deadline_s", self.delete_deadline_s)?;
        check_at_least("quiet_before_end_h", self.quiet_before_end_h, 0.0)?;
        check_at_least(
            "grace_after_disturbance_s",
            self.grace_after_disturbance_s,
            0.0,
        )
    }

    /// Seconds until the next change anywhere in a fleet of `customers`,
    /// or `None` when the workload is off.
    pub fn next_gap_s(&self, customers: u32, rng: &mut Stream) -> Option<f64> {
        let per_s = self.changes_per_customer_per_day * f64::from(customers) / 86_400.0;
        (per_s > 0.0).then(|| rng.exponential(1.0 / per_s))
    }
}

/// What a customer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Resize,
    Remove,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Resize => "resize",
            ChangeKind::Remove => "remove",
        }
    }
}

/// Picks a change for a cluster whose desired state is `ds`: a removal
/// (with probability `delete_share`) or a resize (`resize_share`) of an
/// extra pool it wants, or an addition (when it has a free slot). Falls
/// back to what is possible; `None` when nothing is. A resize comes with
/// its new node count, never the current one.
pub fn pick_change(
    cfg: &WorkloadConfig,
    ds: &DesiredState,
    rng: &mut Stream,
) -> Option<(PoolName, ChangeKind, u16)> {
    let wanted = |p: PoolName| ds.pools.contains(p) && !ds.tombstones.contains(p);
    let present: Vec<PoolName> = EXTRA_WORKER_SLOTS
        .into_iter()
        .filter(|&p| wanted(p))
        .collect();
    let free: Vec<PoolName> = EXTRA_WORKER_SLOTS
        .into_iter()
        .filter(|&p| !wanted(p))
        .collect();
    let u = rng.unit();
    let on_present = if u < cfg.delete_share {
        Some(ChangeKind::Remove)
    } else if u < cfg.delete_share + cfg.resize_share {
        Some(ChangeKind::Resize)
    } else {
        None
    };
    let (from, kind) = match (on_present, present.is_empty(), free.is_empty()) {
        (Some(kind), false, _) => (present, kind),
        (None, false, true) => (present, ChangeKind::Remove),
        (_, _, false) => (free, ChangeKind::Add),
        (_, true, true) => return None,
    };
    let pool = from[rng.below(from.len() as u64) as usize];
    let nodes = match kind {
        ChangeKind::Resize => {
            // 1..=max without the current count.
            let current = ds.nodes[pool.index()];
            let n = 1 + rng.below(u64::from(cfg.resize_nodes_max) - 1) as u16;
            if n >= current {
                n + 1
            } else {
                n
            }
        }
        _ => 0,
    };
    Some((pool, kind, nodes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::Seed;

    #[test]
    fn changes_touch_extra_worker_slots_only_and_follow_the_shares() {
        let cfg = WorkloadConfig::default();
        let mut rng = Seed(3).fork("workload", 0);
        let mut ds = DesiredState::default();
        for p in [PoolName::System, PoolName::Airflow, PoolName::WorkerDefault] {
            ds.pools.insert(p);
        }
        let (mut adds, mut removes, mut resizes) = (0, 0, 0);
        for _ in 0..2_000 {
            let (p, kind, nodes) = pick_change(&cfg, &ds, &mut rng).expect("a change is possible");
            assert!(EXTRA_WORKER_SLOTS.contains(&p));
            match kind {
                ChangeKind::Add => {
                    adds += 1;
                    ds.pools.insert(p);
                    ds.tombstones.remove(p);
                    ds.nodes[p.index()] = 3;
                }
                ChangeKind::Resize => {
                    resizes += 1;
                    assert!(ds.pools.contains(p) && !ds.tombstones.contains(p));
                    assert!((1..=10).contains(&nodes) && nodes != ds.nodes[p.index()]);
                    ds.nodes[p.index()] = nodes;
                }
                ChangeKind::Remove => {
                    removes += 1;
                    ds.pools.remove(p);
                    ds.tombstones.insert(p);
                }
            }
        }
        // Removals need a pool to remove, so they run at most even with
        // adds; resizes near their 30 % share.
        assert!(
            removes > 500 && removes <= adds && (500..700).contains(&resizes),
            "{adds} adds, {removes} removes, {resizes} resizes"
        );
        let off = WorkloadConfig {
            changes_per_customer_per_day: 0.0,
            ..cfg.clone()
        };
        assert_eq!(off.next_gap_s(100, &mut rng), None);
        let gap = cfg.next_gap_s(1_000, &mut rng).unwrap();
        assert!(gap > 0.0 && gap < 3_600.0, "{gap}");
        assert!(WorkloadConfig {
            delete_share: 1.5,
            ..cfg
        }
        .validate()
        .is_err());
    }
}
