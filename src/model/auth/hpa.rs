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
//! - a Deployment replaces crashed pods at once, but they warm up again.

use cascade_sim::{SimDuration, SimTime};

use super::config::{AutoscalerConfig, ComponentConfig};

/// One change of the replica count decided by the autoscaler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
}

#[derive(Clone, Debug)]
pub struct Autoscaler {
    cfg: AutoscalerConfig,
    replicas_min: u32,
    replicas_max: u32,
    warmup: SimDuration,
    sync: SimDuration,
    ready: u32,
    /// Ready-at instants of pods still warming up.
    warming: Vec<SimTime>,
    next_sync: SimTime,
    cpu_used: f64,
    cpu_capacity: f64,
    /// Recent recommendations (instant, replicas), a ring covering the
    /// scale-down window.
    recs: Vec<(SimTime, u32)>,
    recs_head: usize,
    events: Vec<ScaleEvent>,
    events_dropped: u64,
    direction_changes: u64,
}

impl Autoscaler {
    pub fn new(cfg: &AutoscalerConfig, comp: &ComponentConfig) -> Self {
        let ring = (cfg.hpa_scale_down_window_s / cfg.hpa_sync_s) as usize + 2;
        Autoscaler {
            cfg: cfg.clone(),
            replicas_min: comp.replicas_min,
            replicas_max: comp.replicas_max,
            warmup: SimDuration::from_secs(comp.warmup_s),
            sync: SimDuration::from_secs(cfg.hpa_sync_s),
            // A run starts at steady state: the floor, all warm.
            ready: comp.replicas_min,
            warming: Vec::with_capacity(comp.replicas_max as usize),
            next_sync: SimTime::ZERO + SimDuration::from_secs(cfg.hpa_sync_s),
            cpu_used: 0.0,
            cpu_capacity: 0.0,
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

    pub fn total(&self) -> u32 {
        self.ready + self.warming.len() as u32
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

    /// Pods whose warm-up is over start serving.
    pub fn promote(&mut self, now: SimTime) {
        let before = self.warming.len();
        self.warming.retain(|&t| t > now);
        self.ready += (before - self.warming.len()) as u32;
    }

    /// `n` pods crash (ready ones first); the Deployment recreates them at
    /// once and they warm up again. Returns how many ready pods were lost.
    pub fn crash(&mut self, n: u32, now: SimTime) -> u32 {
        let n = n.min(self.total());
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
        self.cpu_used += used;
        self.cpu_capacity += capacity;
    }

    /// Runs the HPA if a sync is due at `now`.
    pub fn sync_if_due(&mut self, now: SimTime) {
        if now < self.next_sync {
            return;
        }
        // Next point of the sync grid (multiples of the period since the
        // epoch), even if the driver started late or skipped ticks.
        let period = self.sync.as_micros();
        self.next_sync = SimTime::from_micros((now.as_micros() / period + 1) * period);
        let current = self.total();
        let rec = self.recommend(current);
        self.recs[self.recs_head] = (now, rec);
        self.recs_head = (self.recs_head + 1) % self.recs.len();
        self.cpu_used = 0.0;
        self.cpu_capacity = 0.0;

        let desired = if rec > current {
            rec.min(self.scale_up_limit(now, current))
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
            down.min(current)
        };
        self.apply(desired, now);
    }

    /// The replica calculator's recommendation, clamped to min..=max.
    fn recommend(&self, current: u32) -> u32 {
        if self.cpu_capacity <= 0.0 {
            // No ready pod reported a metric: Kubernetes takes no action.
            return current;
        }
        let target = self.cfg.hpa_cpu_target_fraction;
        let tol = self.cfg.hpa_tolerance_fraction;
        let ratio = self.cpu_used / self.cpu_capacity / target;
        let ready = self.ready as f64;
        let rec = if (ratio - 1.0).abs() <= tol {
            current
        } else if ratio > 1.0 && !self.warming.is_empty() {
            // Unready pods count as 0 % usage when scaling up.
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
            for _ in current..desired {
                self.warming.push(now + self.warmup);
            }
        } else {
            let mut remove = current - desired;
            // Warming pods go first, newest first: they serve nothing yet.
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
