//! What a run measures, for the reports: counters, per-minute series and
//! per-cluster loss episodes. Derived figures (percentiles, per-day tables)
//! are computed once at the end by `report`.

use crate::model::agent::{Guard, GuardCounts};
use crate::outcome::Day;
use crate::plant::fleet::Fleet;
use crate::protocol::ClusterId;
use crate::protocol::{AnswerCounts, DesiredAnswer};
use crate::types::Index32;
use crate::types::RestoreMethod;
use cascade_sim::{Epoch, SimTime, Stamp};
use std::collections::BTreeMap;

/// One cluster's loss of pools and its restoration.
#[derive(Clone, Debug, PartialEq)]
pub struct LossEpisode {
    pub cluster: ClusterId,
    pub lost_at: SimTime,
    pub restored_at: Option<SimTime>,
    pub method: Option<RestoreMethod>,
}

/// Time-to-converge after an incident heals: the clusters not fully
/// converged when it healed, watched once a minute until each converges.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergenceWatch {
    /// The incident's id (its index among the responders' incidents).
    pub incident: u32,
    pub healed_at: SimTime,
    /// Not yet converged.
    pub pending: Vec<ClusterId>,
    /// Per converged cluster: seconds from the heal to the minute its
    /// convergence was seen (one-minute resolution).
    pub converged_after_s: Vec<f64>,
}

/// A customer's pool change and when the cloud carried it out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CustomerChange {
    pub cluster: ClusterId,
    pub pool: crate::protocol::PoolName,
    pub kind: crate::plant::workload::ChangeKind,
    pub issued_at: SimTime,
    pub carried_at: Stamp,
    /// A newer change on the same pool replaced it before it was carried out.
    pub superseded: bool,
    /// Carried out (or still pending at the end) past its deadline, with
    /// the cluster undisturbed (liveness L1).
    pub late: bool,
    /// A removal: when the pool was really deleted (at once, or after a
    /// soft delete's grace period under G8).
    pub collected_at: Stamp,
    /// A removal carried out by a soft delete whose real delete came (or is
    /// still due at the end) past its deadline (liveness L3).
    pub collect_late: bool,
}

/// Everything counted during a run.
#[derive(Clone, Debug)]
pub struct Metrics {
    epoch: Epoch,
    /// Answers agents received, by kind (200, 404, 5xx, 429, timeout, conn).
    pub answers: AnswerCounts,
    /// Destructive steps blocked, by guard.
    pub blocked_by_guard: GuardCounts,
    pub holds_entered: u64,
    pub agents_died: u64,
    /// UTC date -> clusters that lost at least one pool that day.
    pub clusters_lost_pools_by_day: BTreeMap<Day, u32>,
    last_loss_day: Vec<Index32>,
    pub episodes: Vec<LossEpisode>,
    open_episode: Vec<Index32>,
    /// Per minute: clusters with lost pools, clusters whose agent is down.
    pub lost_per_minute: Vec<u32>,
    /// Clusters with lost pools right now.
    pub lost_now: u32,
    pub down_per_minute: Vec<u32>,
    /// One per healed pool incident, in incident order.
    pub convergence_watches: Vec<ConvergenceWatch>,
    /// Time-to-settle after the timeline's `healed` marker (its `incident`
    /// is unused).
    pub settle_watch: Option<ConvergenceWatch>,
    /// The customers' pool changes, in order (bounded by the workload).
    pub changes: Vec<CustomerChange>,
}

impl Metrics {
    pub fn new(fleet: &Fleet, epoch: Epoch) -> Self {
        Metrics {
            epoch,
            answers: AnswerCounts::default(),
            blocked_by_guard: GuardCounts::default(),
            holds_entered: 0,
            agents_died: 0,
            clusters_lost_pools_by_day: BTreeMap::new(),
            last_loss_day: vec![Index32::NONE; fleet.len()],
            episodes: Vec::new(),
            open_episode: vec![Index32::NONE; fleet.len()],
            lost_per_minute: Vec::new(),
            lost_now: 0,
            down_per_minute: Vec::new(),
            convergence_watches: Vec::new(),
            settle_watch: None,
            changes: Vec::new(),
        }
    }

    pub fn count_answer(&mut self, a: &DesiredAnswer) {
        self.answers.add(a);
    }

    pub fn blocked(&mut self, g: Guard) {
        self.blocked_by_guard.add(g);
    }

    /// `c` started losing a desired pool at `now` (a new episode).
    pub fn cluster_lost_pools(&mut self, now: SimTime, c: ClusterId, _fleet: &Fleet) {
        let day = (now.as_secs() / 86_400) as usize;
        if self.last_loss_day[c as usize].get() != Some(day) {
            self.last_loss_day[c as usize] = Index32::of(day);
            *self
                .clusters_lost_pools_by_day
                .entry(Day::of(self.epoch, now))
                .or_insert(0) += 1;
        }
        self.lost_now += 1;
        self.open_episode[c as usize] = Index32::of(self.episodes.len());
        self.episodes.push(LossEpisode {
            cluster: c,
            lost_at: now,
            restored_at: None,
            method: None,
        });
    }

    pub fn cluster_restored(
        &mut self,
        now: SimTime,
        c: ClusterId,
        _since: SimTime,
        method: RestoreMethod,
    ) {
        self.lost_now = self.lost_now.saturating_sub(1);
        if let Some(i) = self.open_episode[c as usize].take() {
            self.episodes[i].restored_at = Some(now);
            self.episodes[i].method = Some(method);
        }
    }

    pub fn minute(&mut self, _now: SimTime, lost: u32, down: u32) {
        self.lost_per_minute.push(lost);
        self.down_per_minute.push(down);
    }
}
