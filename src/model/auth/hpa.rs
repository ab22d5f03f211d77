//! The auth component's pods and the horizontal pod autoscaler that sizes
//! them, following the Kubernetes replica calculator and default behaviour:
//!
//! - every sync, utilisation = CPU work done / CPU capacity of ready pods
//!   over the sync period, so a saturated component reports at most 100 %
//!   and the recommendation grows by at most 1/target per sync: this is the
//!   lag the E2 write-up describes;
//! - while pods are warming, a scale-up is recomputed with them at 0 %
//!   usage and skipped if that no longer asks for more (Kubernetes treats
//!   unready pods this way so that warm-up is not mistaken for under-sizing);
//! - scale-up is limited to max(+pods, ×factor) over the replicas at the
//!   start of the policy period; scale-down uses the highest recommendation
//!   of the stabilisation window;
//! - a Deployment replaces crashed pods at once, but they warm up again;
//! - the CPU figure each sync reads is an average over the metric window
//!   (metrics-server), not the last sync period, which adds lag;
//! - pods need room on the component's node pool: a pod with no room stays
//!   Pending, the cluster autoscaler asks for nodes (up to `nodes_max`)
//!   that take pods after `node_provision_s`, and removes a node no pod
//!   needs after `node_unneeded_s`. Packing is by count (no fragmentation).

use cascade_sim::{SimDuration, SimTime};

use super::config::{AutoscalerConfig, ComponentConfig};
use crate::model::bugs::AuthBug;

/// One change of the replica count decided by the autoscaler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
}

/// One sync of the autoscaler: the replicas it found, what the replica
/// calculator recommended, and what it decided after stabilisation and the
/// scale-up policy (equal to `current` when it changed nothing). The world
/// checks each against its own record of the recommendations (I16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HpaSync {
    pub at: SimTime,
    pub current: u32,
    pub recommendation: u32,
    pub desired: u32,
}

#[derive(Clone, Debug)]
pub struct Autoscaler {
    cfg: AutoscalerConfig,
    seeded_bug: Option<AuthBug>,
    replicas_min: u32,
    replicas_max: u32,
    warmup: SimDuration,
    sync: SimDuration,
    ready: u32,
    /// Ready-at instants of pods still warming up.
    warming: Vec<SimTime>,
    /// Pods the Deployment wants that no node has room for.
    pending: u32,
    pods_per_node: u32,
    nodes_min: u32,
    nodes_max: u32,
    node_provision: SimDuration,
    node_unneeded: SimDuration,
    /// Nodes that take pods.
    nodes: u32,
    /// Ready-at instants of nodes being provisioned.
    nodes_coming: Vec<SimTime>,
    /// Since when one node fewer would hold every placed pod.
    unneeded_since: Option<SimTime>,
    next_sync: SimTime,
    /// (CPU work done, CPU capacity of ready pods) per tick, a ring covering
    /// the metric window.
    metric: Vec<(f64, f64)>,
    metric_head: usize,
    /// Recent recommendations (instant, replicas), a ring covering the
    /// scale-down window.
    recs: Vec<(SimTime, u32)>,
    recs_head: usize,
    events: Vec<ScaleEvent>,
    events_dropped: u64,
    direction_changes: u64,
}

impl Autoscaler {
    /// `tick_ms`: the driver's tick, so the metric ring covers its window.
    pub fn new(
        cfg: &AutoscalerConfig,
        comp: &ComponentConfig,
        tick_ms: u64,
        seeded_bug: Option<AuthBug>,
    ) -> Self {
        let longest = cfg.hpa_scale_down_window_s.max(cfg.hpa_scale_up_window_s);
        let ring = (longest / cfg.hpa_sync_s) as usize + 2;
        let metric_ticks = (cfg.hpa_metric_window_s * 1_000).div_ceil(tick_ms).max(1) as usize;
        Autoscaler {
            cfg: cfg.clone(),
            seeded_bug,
            replicas_min: comp.replicas_min,
            replicas_max: comp.replicas_max,
            warmup: SimDuration::from_secs(comp.warmup_s),
            sync: SimDuration::from_secs(cfg.hpa_sync_s),
            // A run starts at steady state: the floor, all warm.
            ready: comp.replicas_min,
            warming: Vec::with_capacity(comp.replicas_max as usize),
            pending: 0,
            pods_per_node: comp.pods_per_node,
            nodes_min: comp.nodes_initial,
            nodes_max: comp.nodes_max,
            node_provision: SimDuration::from_secs(comp.node_provision_s),
            node_unneeded: SimDuration::from_secs(comp.node_unneeded_s),
            nodes: comp.nodes_initial,
            nodes_coming: Vec::with_capacity(comp.nodes_max as usize),
            unneeded_since: None,
            next_sync: SimTime::ZERO + SimDuration::from_secs(cfg.hpa_sync_s),
            metric: vec![(0.0, 0.0); metric_ticks],
            metric_head: 0,
            recs: vec![(SimTime::ZERO, comp.replicas_min); ring],
            recs_head: 0,
            events: Vec::with_capacity(cfg.scale_events_kept_max),
            events_dropped: 0,
            direction_changes: 0,
        }
    }

    pub fn ready(&self) -> u32 {
        self.ready
    }

    /// Pods the Deployment has: ready, warming and Pending.
    pub fn total(&self) -> u32 {
        self.placed() + self.pending
    }

    /// Pods on a node (ready or warming).
    fn placed(&self) -> u32 {
        self.ready + self.warming.len() as u32
    }

    /// Pods waiting for room on a node.
    pub fn pending(&self) -> u32 {
        self.pending
    }

    /// Nodes of the pool that take pods.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    pub fn events(&self) -> &[ScaleEvent] {
        &self.events
    }

    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Reversals of scaling direction since the start.
    pub fn direction_changes(&self) -> u64 {
        self.direction_changes
    }

    /// Reversals among the kept events within `window` before `now`.
    pub fn direction_changes_within(&self, window: SimDuration, now: SimTime) -> u32 {
        let recent = self
            .events
            .iter()
            .rev()
            .take_while(|e| now.saturating_since(e.at) <= window);
        let mut changes = 0;
        let mut last_up = None;
        for e in recent {
            let up = e.to > e.from;
            if last_up.is_some_and(|l| l != up) {
                changes += 1;
            }
            last_up = Some(up);
        }
        changes
    }

    /// Once per tick: nodes that finished provisioning take Pending pods,
    /// pods whose warm-up is over start serving, and the cluster autoscaler
    /// asks for nodes or removes one no pod needs.
    #[inline(always)]
    pub fn promote(&mut self, now: SimTime) {
        if !self.is_steady() {
            self.promote_changes(now);
        }
    }

    /// Nothing coming, warming or Pending, and no node to give back: then
    /// [`Self::promote`] changes nothing (most ticks), until a sync.
    pub fn is_steady(&self) -> bool {
        self.nodes_coming.is_empty()
            && self.warming.is_empty()
            && self.pending == 0
            && self.unneeded_since.is_none()
            && !(self.nodes > self.nodes_min
                && self.placed() <= (self.nodes - 1) * self.pods_per_node)
    }

    /// When the next sync is due: the first tick at or after it runs one.
    pub fn next_sync(&self) -> SimTime {
        self.next_sync
    }

    fn promote_changes(&mut self, now: SimTime) {
        let before = self.nodes_coming.len();
        self.nodes_coming.retain(|&t| t > now);
        self.nodes += (before - self.nodes_coming.len()) as u32;

        let before = self.warming.len();
        self.warming.retain(|&t| t > now);
        self.ready += (before - self.warming.len()) as u32;

        let room = (self.nodes * self.pods_per_node).saturating_sub(self.placed());
        let scheduled = self.pending.min(room);
        self.pending -= scheduled;
        for _ in 0..scheduled {
            self.warming.push(now + self.warmup);
        }

        if self.pending > 0 {
            self.unneeded_since = None;
            let wanted = self.pending.div_ceil(self.pods_per_node);
            let coming = self.nodes_coming.len() as u32;
            let can = self.nodes_max.saturating_sub(self.nodes + coming);
            for _ in 0..wanted.saturating_sub(coming).min(can) {
                self.nodes_coming.push(now + self.node_provision);
            }
        } else if self.nodes > self.nodes_min
            && self.placed() <= (self.nodes - 1) * self.pods_per_node
        {
            let since = *self.unneeded_since.get_or_insert(now);
            if now.saturating_since(since) >= self.node_unneeded {
                self.nodes -= 1;
                self.unneeded_since = None;
            }
        } else {
            self.unneeded_since = None;
        }
    }

    /// `n` placed pods crash (ready ones first); the Deployment recreates
    /// them at once on the same node and they warm up again. Returns how
    /// many ready pods were lost.
    pub fn crash(&mut self, n: u32, now: SimTime) -> u32 {
        let n = n.min(self.placed());
        let lost_ready = n.min(self.ready);
        self.ready -= lost_ready;
        let restarted_warming = (n - lost_ready) as usize;
        for t in self.warming.iter_mut().take(restarted_warming) {
            *t = now + self.warmup;
        }
        for _ in 0..lost_ready {
            self.warming.push(now + self.warmup);
        }
        lost_ready
    }

    /// One tick's CPU work done and CPU capacity of ready pods.
    pub fn observe(&mut self, used: f64, capacity: f64) {
        self.metric[self.metric_head] = (used, capacity);
        self.metric_head += 1;
        if self.metric_head == self.metric.len() {
            self.metric_head = 0;
        }
    }

    /// Runs the HPA if a sync is due at `now` (a check every tick, a sync
    /// every `hpa_sync_s`); returns the sync's decision.
    #[inline(always)]
    pub fn sync_if_due(&mut self, now: SimTime) -> Option<HpaSync> {
        (now >= self.next_sync).then(|| self.sync(now))
    }

    fn sync(&mut self, now: SimTime) -> HpaSync {
        // Next point of the sync grid (multiples of the period since the
        // epoch), even if the driver started late or skipped ticks.
        let period = self.sync.as_micros();
        self.next_sync = SimTime::from_micros((now.as_micros() / period + 1) * period);
        let current = self.total();
        let rec = self.recommend(current);
        self.recs[self.recs_head] = (now, rec);
        self.recs_head = (self.recs_head + 1) % self.recs.len();

        let desired = if rec > current {
            // Scale-up stabilisation: the lowest recommendation of the
            // window (this one included; a 0 s window is this one alone).
            let window = SimDuration::from_secs(self.cfg.hpa_scale_up_window_s);
            let up = self
                .recs
                .iter()
                .filter(|(at, _)| *at == now || now.saturating_since(*at) < window)
                .map(|&(_, r)| r)
                .min()
                .unwrap_or(rec);
            up.max(current).min(self.scale_up_limit(now, current))
        } else {
            let window = SimDuration::from_secs(self.cfg.hpa_scale_down_window_s);
            // Recommendations strictly after now − window, as Kubernetes
            // compares timestamps with `After(cutoff)`.
            let down = self
                .recs
                .iter()
                .filter(|(at, _)| now.saturating_since(*at) < window)
                .map(|&(_, r)| r)
                .max()
                .unwrap_or(rec);
            if self.seeded_bug == Some(AuthBug::IgnoresScaleDownStabilisation) {
                rec.min(current)
            } else {
                down.min(current)
            }
        };
        self.apply(desired, now);
        HpaSync {
            at: now,
            current,
            recommendation: rec,
            desired,
        }
    }

    /// The replica calculator's recommendation, clamped to min..=max.
    fn recommend(&self, current: u32) -> u32 {
        let (used, capacity) = self
            .metric
            .iter()
            .fold((0.0, 0.0), |(u, c), &(du, dc)| (u + du, c + dc));
        if capacity <= 0.0 || self.ready == 0 {
            // No ready pod reported a metric: Kubernetes takes no action.
            return current;
        }
        let target = self.cfg.hpa_cpu_target_fraction;
        let tol = self.cfg.hpa_tolerance_fraction;
        let ratio = used / capacity / target;
        let ready = self.ready as f64;
        let rec = if (ratio - 1.0).abs() <= tol {
            current
        } else if ratio > 1.0 && current > self.ready {
            // Unready pods (warming or Pending) count as 0 % usage when
            // scaling up.
            let diluted = ratio * ready / current as f64;
            if diluted <= 1.0 + tol {
                current
            } else {
                (diluted * current as f64).ceil() as u32
            }
        } else {
            (ratio * ready).ceil() as u32
        };
        rec.clamp(self.replicas_min, self.replicas_max)
    }

    /// max(start + pods, start × factor), start being the replicas at the
    /// beginning of the policy period (current minus net additions since).
    fn scale_up_limit(&self, now: SimTime, current: u32) -> u32 {
        let period = SimDuration::from_secs(self.cfg.hpa_scale_up_period_s);
        let mut start = i64::from(current);
        for e in self.events.iter().rev() {
            // Events strictly inside (now − period, now].
            if now.saturating_since(e.at) >= period {
                break;
            }
            start -= i64::from(e.to) - i64::from(e.from);
        }
        let start = start.max(0) as f64;
        let by_pods = start + f64::from(self.cfg.hpa_scale_up_pods);
        let by_factor = (start * self.cfg.hpa_scale_up_factor).ceil();
        by_pods.max(by_factor) as u32
    }

    fn apply(&mut self, desired: u32, now: SimTime) {
        let current = self.total();
        if desired == current {
            return;
        }
        if desired > current {
            // New pods wait for a node; `promote` places them next tick.
            self.pending += desired - current;
        } else {
            let mut remove = current - desired;
            // Pending pods go first, then warming ones newest first: they
            // serve nothing yet.
            let unplaced = remove.min(self.pending);
            self.pending -= unplaced;
            remove -= unplaced;
            self.warming.sort_unstable();
            while remove > 0 && self.warming.pop().is_some() {
                remove -= 1;
            }
            self.ready -= remove;
        }
        let event = ScaleEvent {
            at: now,
            from: current,
            to: desired,
        };
        if let Some(last) = self.events.last() {
            if (last.to > last.from) != (event.to > event.from) {
                self.direction_changes += 1;
            }
        }
        if self.events.len() == self.cfg.scale_events_kept_max {
            // Dropping half at once keeps this amortised O(1) without
            // reallocating.
            let half = self.events.len() / 2;
            self.events.drain(..half);
            self.events_dropped += half as u64;
        }
        self.events.push(event);
    }
}
