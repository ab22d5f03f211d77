//! Rollout controller: ships a new agent version across the fleet in waves
//! (canary, then cumulative shares such as 1 %, 10 %, 50 %, 100 %), baking
//! each wave before the next and halting on an alarm.
//!
//! Why it is modelled: the fix of E8 and the emergency hotfix of E10 reach the
//! fleet only through a rollout, and its pace (waves × bake time) decides how
//! many clusters still run the buggy agent when 404s return on D8 \[A]. The
//! bake is the safety net: an alarm during a bake halts the rollout before the
//! next, larger wave.
//!
//! The controller is sans-IO: it says which slice of the cluster order to
//! upgrade (a range into [`Rollout::order`], so no per-wave allocation) and
//! asks for a timer per bake; the driver upgrades agents and raises alarms.
//!
//! Semantics chosen here \[A]: wave shares are cumulative shares of the fleet;
//! a wave that would add no cluster (small fleets) is skipped; the last wave
//! bakes too, so `Completed` means every wave was watched for a full bake.
//! A halted wave's clusters stay upgraded (rollback is not modelled); resuming
//! re-bakes the halted wave from scratch, since the interrupted bake proved
//! nothing.
//!
//! Health gate \[A]: during a bake the controller also halts by itself on
//! what it can observe of the wave. Every `health_check_interval_s` (and at
//! the bake's end) the driver hands it a [`WaveHealth`] built from the
//! agents' own status reports: of the clusters that were healthy when the
//! wave started, how many of the new cohort and of the
//! baseline (every cluster outside the wave, so the last wave has one too)
//! stopped reporting healthy since (agent gone or crash-looping).
//! The wave halts when the cohort's share exceeds the baseline's by
//! `health_excess_share_min` with at least `health_failed_min` clusters:
//! a canary analysis against the same-time baseline, so a fleet-wide fault
//! (D8's 404s kill the old agents) does not halt the fix that stops it.
//! Poll errors and safe hold are not gate signals: a guarded agent holding
//! behind 404s is the fix working, while the old version reads the same
//! 404s as success, so comparing error rates would halt the very hotfix
//! that stops the loss.
//!
//! Architecture invariant: at most one wave is unbaked at any time, and it is
//! the last one started ([`Rollout::check_invariants`]).

pub use super::bugs::RolloutBug;
use crate::protocol::ClusterId;
use crate::sim::{SimDuration, SimTime, Stream};
use crate::types::{check_above, check_at_most, check_range, expect};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Most waves after the canary a rollout may have.
pub const WAVES_MAX: usize = 16;

/// Settings of the rollout controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    /// \[A] Clusters in the canary wave; 0 skips the canary.
    pub canary_clusters: u32,
    /// \[A] Cumulative share of the fleet upgraded at the end of each wave after the canary (spec §3).
    pub wave_fractions: Vec<f64>,
    /// \[A] Watch time after each wave before the next one starts (spec §3: 15 min).
    pub bake_time_s: u64,
    /// \[A] Bake time in emergency mode (spec §3: 5 min), used for the D8 hotfix.
    pub bake_time_emergency_s: u64,
    /// \[A] Halts a rollout may be resumed from before a human must start a new one.
    pub resumes_max: u32,
    /// \[A] Largest fleet a rollout accepts (the canonical replay has 2,000 clusters).
    pub clusters_max: u32,
    /// \[A] Halt a wave by itself on its observed health (see the module
    /// doc); off leaves only alarms from outside (the timeline, chaos).
    pub health_gate: bool,
    /// \[A] Health checks during a bake (1 min: a typical canary-analysis step).
    pub health_check_interval_s: u64,
    /// \[A] Cohort clusters that must have turned unhealthy before a halt
    /// (2: one lost canary can be noise; a crash loop fails them all).
    pub health_failed_min: u32,
    /// \[A] How far the cohort's turned-unhealthy share must exceed the
    /// baseline's (0.2: well above the few percent a fleet-wide fault
    /// spreads over both cohorts alike).
    pub health_excess_share_min: f64,
    /// \[A] When the health gate halts a wave, roll every upgraded cluster
    /// back to the previous version (what automated canary analysis does
    /// on a failed analysis: Argo Rollouts, Spinnaker). Off: the upgraded
    /// clusters keep the broken version until a human ships a new build.
    pub roll_back_on_gate_halt: bool,
    /// A deliberately seeded bug (chaos catalogue); none in real runs.
    pub seeded_bug: Option<RolloutBug>,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            canary_clusters: 1,
            wave_fractions: vec![0.01, 0.10, 0.50, 1.0],
            bake_time_s: 15 * 60,
            bake_time_emergency_s: 5 * 60,
            resumes_max: 10,
            clusters_max: 100_000,
            health_gate: true,
            health_check_interval_s: 60,
            health_failed_min: 2,
            health_excess_share_min: 0.2,
            roll_back_on_gate_halt: false,
            seeded_bug: None,
        }
    }
}

impl RolloutConfig {
    /// Checks every field; the error names the field and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        check_at_most(
            "canary_clusters",
            self.canary_clusters,
            ("clusters_max", self.clusters_max),
        )?;
        let n = self.wave_fractions.len();
        expect(
            (1..=WAVES_MAX).contains(&n),
            "wave_fractions",
            format!("1 to {WAVES_MAX} shares"),
            n,
        )?;
        let mut previous = 0.0;
        for (i, &f) in self.wave_fractions.iter().enumerate() {
            let field = format!("wave_fractions[{i}]");
            check_above(&field, f, ("the previous share", previous))?;
            check_at_most(&field, f, 1.0)?;
            previous = f;
        }
        expect(
            previous == 1.0,
            "wave_fractions",
            "a last share of 1 (the whole fleet)",
            previous,
        )?;
        for (name, v) in [
            ("bake_time_s", self.bake_time_s),
            ("bake_time_emergency_s", self.bake_time_emergency_s),
        ] {
            check_range(name, v, 1, ("7 days", 7 * 86_400))?;
        }
        check_at_most("resumes_max", self.resumes_max, 1_000)?;
        check_range(
            "health_check_interval_s",
            self.health_check_interval_s,
            1,
            ("1 day", 86_400),
        )?;
        check_range("health_failed_min", self.health_failed_min, 1, 1_000_000)?;
        check_above("health_excess_share_min", self.health_excess_share_min, 0.0)?;
        check_at_most("health_excess_share_min", self.health_excess_share_min, 1.0)?;
        check_range("clusters_max", self.clusters_max, 1, 10_000_000)
    }
}

/// A bake timer (its end, or a health check during it); stale ones (after
/// a halt) are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RolloutTimer {
    token: u32,
    bake_end: bool,
}

/// What the driver observed of the baking wave since it started, from the
/// agents' status reports: clusters healthy at the wave's start, and how
/// many of them no longer report healthy (agent gone or crash-looping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaveHealth {
    /// The wave's clusters (the new version).
    pub cohort: u32,
    pub cohort_failed: u32,
    /// Every cluster outside the wave, over the same window (mostly the old
    /// version; earlier waves too, so the last wave has a baseline).
    pub baseline: u32,
    pub baseline_failed: u32,
}

impl WaveHealth {
    fn share(failed: u32, of: u32) -> f64 {
        if of == 0 {
            0.0
        } else {
            failed as f64 / of as f64
        }
    }
    pub fn cohort_share(&self) -> f64 {
        Self::share(self.cohort_failed, self.cohort)
    }
    pub fn baseline_share(&self) -> f64 {
        Self::share(self.baseline_failed, self.baseline)
    }
}

/// Why a wave halted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HaltCause {
    /// An alarm from outside the controller (timeline, chaos).
    Alarm,
    /// The health gate saw the wave fail more than its baseline.
    WaveHealth(WaveHealth),
}

impl HaltCause {
    /// For the summary: `alarm`, or the gate's counts.
    pub fn describe(&self) -> String {
        match self {
            HaltCause::Alarm => "alarm".into(),
            HaltCause::WaveHealth(h) => format!(
                "health gate: {} of {} upgraded agents stopped reporting healthy, against {} of {} outside the wave",
                h.cohort_failed, h.cohort, h.baseline_failed, h.baseline
            ),
        }
    }
}

/// What the controller asks of its driver, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum RolloutOutput {
    /// Wave `wave` (0 = canary) begins; `share` is the cumulative fleet share after it.
    WaveStarted {
        wave: u32,
        at: SimTime,
        share: f64,
    },
    /// Upgrade the clusters at `order()[clusters]`.
    Upgrade {
        wave: u32,
        clusters: Range<usize>,
    },
    SetTimer {
        at: SimTime,
        timer: RolloutTimer,
    },
    /// The wave baked without alarm.
    Baked {
        wave: u32,
        at: SimTime,
    },
    /// An alarm or the health gate stopped the rollout during the wave's bake.
    Halted {
        wave: u32,
        at: SimTime,
        cause: HaltCause,
    },
    /// The health gate halted the rollout and it rolls back: the clusters
    /// at `order()[clusters]` (every one upgraded so far) get the previous
    /// version again. The rollout stays halted.
    RolledBack {
        clusters: Range<usize>,
    },
    /// The halted wave bakes again.
    Resumed {
        wave: u32,
        at: SimTime,
    },
    /// The last wave baked: the whole fleet runs the new version.
    Completed {
        at: SimTime,
    },
}

/// One planned wave: its index in the plan (0 = canary), cumulative share, and clusters.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedWave {
    pub wave: u32,
    pub share: f64,
    pub clusters: Range<usize>,
}

/// How a bake ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BakeEnd {
    Baking,
    Baked(SimTime),
    Halted(SimTime),
}

/// One bake of a wave, for the report. A resumed wave gets a new record with
/// `attempt` one higher.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveRecord {
    pub wave: u32,
    pub share: f64,
    pub clusters: Range<usize>,
    pub attempt: u32,
    pub started: SimTime,
    pub bake: SimDuration,
    pub end: BakeEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    /// `plan_idx` is baking until its timer fires.
    Baking {
        plan_idx: usize,
        token: u32,
    },
    Halted {
        plan_idx: usize,
    },
    Completed {
        at: SimTime,
    },
}

/// Wave-by-wave rollout with bake and halt.
#[derive(Clone, Debug)]
pub struct Rollout {
    config: RolloutConfig,
    emergency: bool,
    order: Vec<ClusterId>,
    plan: Vec<PlannedWave>,
    phase: Phase,
    history: Vec<WaveRecord>,
    resumes: u32,
    /// Bakes started so far: the next bake's token (four bytes keep the
    /// timer, and so every queued event, small).
    next_token: u32,
    started_at: Option<SimTime>,
    halted_by: Option<HaltCause>,
}

impl Rollout {
    pub fn new(config: RolloutConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Rollout {
            emergency: false,
            order: Vec::new(),
            plan: Vec::with_capacity(WAVES_MAX + 1),
            phase: Phase::Idle,
            history: Vec::new(),
            resumes: 0,
            next_token: 0,
            started_at: None,
            halted_by: None,
            config,
        })
    }

    pub fn config(&self) -> &RolloutConfig {
        &self.config
    }
    /// The cluster order waves slice into.
    pub fn order(&self) -> &[ClusterId] {
        &self.order
    }
    /// The waves of the current rollout (empty ones already skipped).
    pub fn plan(&self) -> &[PlannedWave] {
        &self.plan
    }
    /// Every bake so far, in order.
    pub fn waves(&self) -> &[WaveRecord] {
        &self.history
    }
    pub fn emergency(&self) -> bool {
        self.emergency
    }
    pub fn started_at(&self) -> Option<SimTime> {
        self.started_at
    }
    /// The cause of the last halt.
    pub fn halted_by(&self) -> Option<HaltCause> {
        self.halted_by
    }
    pub fn is_halted(&self) -> bool {
        matches!(self.phase, Phase::Halted { .. })
    }
    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Baking { .. })
    }
    pub fn completed_at(&self) -> Option<SimTime> {
        match self.phase {
            Phase::Completed { at } => Some(at),
            _ => None,
        }
    }
    /// Clusters told to upgrade so far (a prefix of `order()`).
    pub fn upgraded(&self) -> usize {
        self.history.last().map_or(0, |r| r.clusters.end)
    }
    /// Waves started and not (yet) baked: 0 or 1 by construction.
    pub fn unbaked_waves(&self) -> usize {
        self.history
            .iter()
            .filter(|r| !matches!(r.end, BakeEnd::Baked(_)))
            .filter(|r| {
                // A halted bake that was later resumed is superseded by its retry.
                !self
                    .history
                    .iter()
                    .any(|s| s.wave == r.wave && s.attempt > r.attempt)
            })
            .count()
    }

    /// Switches the bake time of later bakes (emergency: `bake_time_emergency_s`).
    pub fn set_emergency(&mut self, on: bool) {
        self.emergency = on;
    }

    /// Starts a rollout over `order`, a permutation of clusters chosen by the caller.
    pub fn start(
        &mut self,
        now: SimTime,
        order: Vec<ClusterId>,
        emergency: bool,
        out: &mut Vec<RolloutOutput>,
    ) -> Result<(), String> {
        if matches!(self.phase, Phase::Baking { .. } | Phase::Halted { .. }) {
            return Err("a rollout is already in progress; resume or finish it first".into());
        }
        if order.is_empty() || order.len() > self.config.clusters_max as usize {
            return Err(format!(
                "rollout order must hold 1 to {} clusters, found {}",
                self.config.clusters_max,
                order.len()
            ));
        }
        let mut seen = vec![false; order.iter().max().map_or(0, |&m| m as usize + 1)];
        for &c in &order {
            if std::mem::replace(&mut seen[c as usize], true) {
                return Err(format!("rollout order lists cluster {c} twice"));
            }
        }
        self.order = order;
        self.emergency = emergency;
        self.history.clear();
        self.resumes = 0;
        self.started_at = Some(now);
        self.build_plan();
        self.start_wave(now, 0, out);
        Ok(())
    }

    /// Starts a rollout over clusters `0..clusters` in an order shuffled by `rng`.
    pub fn start_shuffled(
        &mut self,
        now: SimTime,
        clusters: u32,
        rng: &mut Stream,
        emergency: bool,
        out: &mut Vec<RolloutOutput>,
    ) -> Result<(), String> {
        let mut order: Vec<ClusterId> = (0..clusters).collect();
        // Fisher-Yates, drawing only from the caller's stream.
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        self.start(now, order, emergency, out)
    }

    /// Whether the driver must gather a [`WaveHealth`] for `timer` (the
    /// gate is on and the timer is live): counting is O(fleet), so only then.
    pub fn wants_health(&self, timer: RolloutTimer) -> bool {
        self.config.health_gate
            && matches!(self.phase, Phase::Baking { token, .. } if token == timer.token)
    }

    /// A bake timer fired; `health` is what the driver observed of the
    /// wave (ignored when [`Rollout::wants_health`] is false).
    pub fn handle_timer(
        &mut self,
        now: SimTime,
        timer: RolloutTimer,
        health: WaveHealth,
        out: &mut Vec<RolloutOutput>,
    ) {
        let Phase::Baking { plan_idx, token } = self.phase else {
            return;
        };
        if token != timer.token {
            return; // a bake interrupted by a halt
        }
        if self.config.health_gate && self.wave_failed(&health) {
            self.halt(now, HaltCause::WaveHealth(health), out);
            if self.config.roll_back_on_gate_halt {
                out.push(RolloutOutput::RolledBack {
                    clusters: 0..self.upgraded(),
                });
            }
            return;
        }
        if !timer.bake_end {
            self.next_health_check(now, token, out);
            return;
        }
        self.baked(now, plan_idx, out);
    }

    /// The wave of `plan_idx` is baked at `now`: the next wave starts, or
    /// the rollout is complete.
    fn baked(&mut self, now: SimTime, plan_idx: usize, out: &mut Vec<RolloutOutput>) {
        let wave = self.plan[plan_idx].wave;
        let record = self.history.last_mut().expect("a baking wave has a record");
        record.end = BakeEnd::Baked(now);
        out.push(RolloutOutput::Baked { wave, at: now });
        if plan_idx + 1 == self.plan.len() {
            self.phase = Phase::Completed { at: now };
            out.push(RolloutOutput::Completed { at: now });
        } else {
            self.start_wave(now, plan_idx + 1, out);
        }
    }

    /// The gate's rule (module doc): enough cohort clusters failed, and a
    /// clearly larger share than of the baseline over the same window.
    fn wave_failed(&self, h: &WaveHealth) -> bool {
        h.cohort_failed >= self.config.health_failed_min
            && h.cohort_share() - h.baseline_share() >= self.config.health_excess_share_min
    }

    /// An alarm fired. Halts the rollout if a wave is baking; returns whether it did.
    pub fn handle_alarm(&mut self, now: SimTime, out: &mut Vec<RolloutOutput>) -> bool {
        let Phase::Baking { plan_idx, .. } = self.phase else {
            return false;
        };
        if self.config.seeded_bug == Some(RolloutBug::IgnoresAlarmInEarlyWaves)
            && self.plan[plan_idx].wave < 1
        {
            // The seeded bug: "alarms before the first wave are noise"
            // meant before wave 0 had started, and compares with 1.
            return false;
        }
        self.halt(now, HaltCause::Alarm, out);
        true
    }

    fn halt(&mut self, now: SimTime, cause: HaltCause, out: &mut Vec<RolloutOutput>) {
        let Phase::Baking { plan_idx, .. } = self.phase else {
            unreachable!("only a baking wave halts");
        };
        let record = self.history.last_mut().expect("a baking wave has a record");
        record.end = BakeEnd::Halted(now);
        self.phase = Phase::Halted { plan_idx };
        self.halted_by = Some(cause);
        out.push(RolloutOutput::Halted {
            wave: self.plan[plan_idx].wave,
            at: now,
            cause,
        });
    }

    /// The next health check of the bake `token`, if it falls before its end.
    fn next_health_check(&self, now: SimTime, token: u32, out: &mut Vec<RolloutOutput>) {
        if !self.config.health_gate {
            return;
        }
        let record = self.history.last().expect("a baking wave has a record");
        let at = now + SimDuration::from_secs(self.config.health_check_interval_s);
        if at < record.started + record.bake {
            out.push(RolloutOutput::SetTimer {
                at,
                timer: RolloutTimer {
                    token,
                    bake_end: false,
                },
            });
        }
    }

    /// Resumes a halted rollout: the halted wave bakes again from `now`.
    pub fn resume(&mut self, now: SimTime, out: &mut Vec<RolloutOutput>) -> Result<(), String> {
        let Phase::Halted { plan_idx } = self.phase else {
            return Err("the rollout is not halted".into());
        };
        if self.resumes >= self.config.resumes_max {
            return Err(format!(
                "the rollout was already resumed {} times (rollout.resumes_max)",
                self.resumes
            ));
        }
        self.resumes += 1;
        let attempt = self.history.last().map_or(0, |r| r.attempt + 1);
        out.push(RolloutOutput::Resumed {
            wave: self.plan[plan_idx].wave,
            at: now,
        });
        if self.config.seeded_bug == Some(RolloutBug::SkipsBakeAfterAlarm) {
            // The seeded bug: the halted wave counts as baked now.
            self.baked(now, plan_idx, out);
            return Ok(());
        }
        self.bake(now, plan_idx, attempt, out);
        Ok(())
    }

    /// Checks that at most one wave is unbaked and that it is the last one started.
    pub fn check_invariants(&self) -> Result<(), String> {
        let unbaked = self.unbaked_waves();
        if unbaked > 1 {
            return Err(format!("{unbaked} rollout waves are unbaked at once"));
        }
        if let Some(last) = self.history.last() {
            for r in &self.history[..self.history.len() - 1] {
                if r.clusters.end > last.clusters.end {
                    return Err(format!(
                        "wave {} upgraded past the last wave started ({})",
                        r.wave, last.wave
                    ));
                }
            }
        }
        Ok(())
    }

    fn build_plan(&mut self) {
        self.plan.clear();
        let n = self.order.len();
        let mut done = 0usize;
        let canary = (self.config.canary_clusters as usize).min(n);
        if canary > 0 {
            self.plan.push(PlannedWave {
                wave: 0,
                share: canary as f64 / n as f64,
                clusters: 0..canary,
            });
            done = canary;
        }
        for (i, &f) in self.config.wave_fractions.iter().enumerate() {
            // Rounded up so a 1 % wave of a 50-cluster fleet still upgrades one.
            let end = ((f * n as f64).ceil() as usize).clamp(done, n);
            if end > done {
                self.plan.push(PlannedWave {
                    wave: i as u32 + 1,
                    share: f,
                    clusters: done..end,
                });
                done = end;
            }
        }
        assert_eq!(
            done, n,
            "the last wave share is 1, so the plan covers the fleet"
        );
    }

    fn start_wave(&mut self, now: SimTime, plan_idx: usize, out: &mut Vec<RolloutOutput>) {
        let p = &self.plan[plan_idx];
        out.push(RolloutOutput::WaveStarted {
            wave: p.wave,
            at: now,
            share: p.share,
        });
        out.push(RolloutOutput::Upgrade {
            wave: p.wave,
            clusters: p.clusters.clone(),
        });
        self.bake(now, plan_idx, 0, out);
    }

    fn bake(&mut self, now: SimTime, plan_idx: usize, attempt: u32, out: &mut Vec<RolloutOutput>) {
        let bake = SimDuration::from_secs(if self.emergency {
            self.config.bake_time_emergency_s
        } else {
            self.config.bake_time_s
        });
        let p = &self.plan[plan_idx];
        self.history.push(WaveRecord {
            wave: p.wave,
            share: p.share,
            clusters: p.clusters.clone(),
            attempt,
            started: now,
            bake,
            end: BakeEnd::Baking,
        });
        self.next_token += 1;
        let token = self.next_token;
        self.phase = Phase::Baking { plan_idx, token };
        out.push(RolloutOutput::SetTimer {
            at: now + bake,
            timer: RolloutTimer {
                token,
                bake_end: true,
            },
        });
        self.next_health_check(now, token, out);
        debug_assert!(self.check_invariants().is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Seed;

    /// Drives a rollout to completion, firing each timer when it is due and
    /// raising alarms at the given times; returns every output with its time.
    fn drive(
        rollout: &mut Rollout,
        out: Vec<RolloutOutput>,
        alarms: &[SimTime],
    ) -> Vec<(SimTime, RolloutOutput)> {
        drive_with_health(rollout, out, alarms, |_, _| WaveHealth::default())
    }

    /// [`drive`] with the wave health `health(now, wave_size)` observed at each timer.
    fn drive_with_health(
        rollout: &mut Rollout,
        mut out: Vec<RolloutOutput>,
        alarms: &[SimTime],
        health: impl Fn(SimTime, usize) -> WaveHealth,
    ) -> Vec<(SimTime, RolloutOutput)> {
        let mut log = Vec::new();
        let mut timers: Vec<(SimTime, RolloutTimer)> = Vec::new();
        let mut alarms: Vec<SimTime> = alarms.to_vec();
        let mut now = SimTime::ZERO;
        loop {
            for o in out.drain(..) {
                if let RolloutOutput::SetTimer { at, timer } = o {
                    timers.push((at, timer));
                }
                log.push((now, o));
            }
            rollout.check_invariants().unwrap();
            timers.sort();
            alarms.sort();
            let next_timer = timers.first().map(|t| t.0);
            let next_alarm = alarms.first().copied();
            match (next_timer, next_alarm) {
                (None, None) => return log,
                (Some(t), a) if a.is_none_or(|a| t < a) => {
                    let (at, timer) = timers.remove(0);
                    now = at;
                    let wave = rollout.waves().last().map_or(0, |w| w.clusters.len());
                    let h = health(now, wave);
                    rollout.handle_timer(now, timer, h, &mut out);
                }
                _ => {
                    now = alarms.remove(0);
                    rollout.handle_alarm(now, &mut out);
                }
            }
        }
    }

    fn mins(m: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_mins(m)
    }

    fn started(log: &[(SimTime, RolloutOutput)]) -> Vec<(u32, SimTime, Range<usize>)> {
        let mut waves = Vec::new();
        for (_, o) in log {
            if let RolloutOutput::WaveStarted { wave, at, .. } = o {
                waves.push((*wave, *at, 0..0));
            }
            if let RolloutOutput::Upgrade { clusters, .. } = o {
                waves.last_mut().unwrap().2 = clusters.clone();
            }
        }
        waves
    }

    #[test]
    fn waves_of_a_2000_cluster_fleet_with_15_minute_bakes() {
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        let mut rng = Seed(1).fork("rollout", 0);
        r.start_shuffled(SimTime::ZERO, 2_000, &mut rng, false, &mut out)
            .unwrap();
        let log = drive(&mut r, out, &[]);
        assert_eq!(
            started(&log),
            vec![
                (0, mins(0), 0..1),
                (1, mins(15), 1..20),
                (2, mins(30), 20..200),
                (3, mins(45), 200..1_000),
                (4, mins(60), 1_000..2_000),
            ]
        );
        // The whole fleet is told to upgrade after 4 bakes; the last wave
        // bakes too, so the rollout completes after 5.
        assert_eq!(r.completed_at(), Some(mins(75)));
        assert_eq!(r.upgraded(), 2_000);
        // Nothing is unbaked once it completes, and an ordinary rollout is
        // not an emergency one (the driver's watch of bake times reads
        // both; no expectation does).
        assert_eq!(r.unbaked_waves(), 0);
        assert!(!r.emergency());
        assert!(r
            .waves()
            .iter()
            .all(|w| matches!(w.end, BakeEnd::Baked(_)) && w.attempt == 0));
        // The order is a permutation of the fleet.
        let mut sorted = r.order().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..2_000).collect::<Vec<_>>());
    }

    #[test]
    fn emergency_bakes_take_5_minutes() {
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(mins(100), (0..2_000).collect(), true, &mut out)
            .unwrap();
        let log = drive(&mut r, out, &[]);
        let starts: Vec<SimTime> = started(&log).iter().map(|w| w.1).collect();
        assert_eq!(
            starts,
            vec![mins(100), mins(105), mins(110), mins(115), mins(120)]
        );
        assert_eq!(r.completed_at(), Some(mins(125)));
    }

    #[test]
    fn switching_to_emergency_mid_rollout_shortens_the_later_bakes() {
        // The March replay switches to emergency bakes mid-rollout and no
        // expectation checks that the switch takes. The first wave keeps
        // its 15 minutes.
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        r.set_emergency(true);
        assert!(r.emergency());
        let log = drive(&mut r, out, &[]);
        let starts: Vec<SimTime> = started(&log).iter().map(|w| w.1).collect();
        assert_eq!(
            starts,
            vec![mins(0), mins(15), mins(20), mins(25), mins(30)]
        );
        assert_eq!(r.completed_at(), Some(mins(35)));
    }

    #[test]
    fn alarm_during_bake_halts_and_resume_rebakes() {
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        // Alarm 5 min into the 10 % wave's bake (it started at 30 min).
        let log = drive(&mut r, out, &[mins(35)]);
        assert!(r.is_halted());
        assert_eq!(r.completed_at(), None);
        assert_eq!(r.upgraded(), 200, "the 50 % wave never started");
        assert!(log.iter().any(|(_, o)| *o
            == RolloutOutput::Halted {
                wave: 2,
                at: mins(35),
                cause: HaltCause::Alarm,
            }));
        // The stale bake timer of the halted wave (due at 45 min) did nothing.
        assert!(!log.iter().any(|(t, _)| *t == mins(45)));
        assert_eq!(r.waves()[2].end, BakeEnd::Halted(mins(35)));
        assert_eq!(r.unbaked_waves(), 1);
        // An alarm while halted changes nothing.
        let mut out = Vec::new();
        assert!(!r.handle_alarm(mins(36), &mut out));
        assert!(out.is_empty());

        r.resume(mins(60), &mut out).unwrap();
        assert_eq!(
            out[0],
            RolloutOutput::Resumed {
                wave: 2,
                at: mins(60)
            }
        );
        let log = drive(&mut r, out, &[]);
        // Re-bake 60..75, then 50 % at 75, 100 % at 90, done at 105.
        assert_eq!(
            started(&log).iter().map(|w| (w.0, w.1)).collect::<Vec<_>>(),
            vec![(3, mins(75)), (4, mins(90))]
        );
        assert_eq!(r.completed_at(), Some(mins(105)));
        assert_eq!(r.waves()[3].attempt, 1);
        // The resumed wave is not upgraded twice.
        assert_eq!(
            log.iter()
                .filter(|(_, o)| matches!(o, RolloutOutput::Upgrade { wave: 2, .. }))
                .count(),
            0
        );
    }

    #[test]
    fn small_fleet_skips_empty_waves() {
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..50).collect(), false, &mut out)
            .unwrap();
        // Canary 1; 1 % of 50 rounds up to 1, already covered: skipped.
        let plan: Vec<(u32, Range<usize>)> = r
            .plan()
            .iter()
            .map(|p| (p.wave, p.clusters.clone()))
            .collect();
        assert_eq!(plan, vec![(0, 0..1), (2, 1..5), (3, 5..25), (4, 25..50)]);
    }

    #[test]
    fn start_rejects_duplicates_and_a_second_rollout() {
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        assert!(r
            .start(SimTime::ZERO, vec![3, 1, 3], false, &mut out)
            .unwrap_err()
            .contains("cluster 3 twice"));
        r.start(SimTime::ZERO, vec![0, 1], false, &mut out).unwrap();
        assert!(r.start(SimTime::ZERO, vec![0, 1], false, &mut out).is_err());
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = RolloutConfig {
            wave_fractions: vec![0.1, 0.05, 1.0],
            ..RolloutConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "wave_fractions[1]: expected above the previous share (0.1), found 0.05"
        );
        let bad = RolloutConfig {
            wave_fractions: vec![0.1, 0.5],
            ..RolloutConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "wave_fractions: expected a last share of 1 (the whole fleet), found 0.5"
        );
        let bad = RolloutConfig {
            bake_time_s: 0,
            ..RolloutConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "bake_time_s: expected 1 to 7 days (604,800), found 0"
        );
        let parsed: RolloutConfig = serde_json::from_str(r#"{"bake_time_s": 600}"#).unwrap();
        assert_eq!(
            (parsed.bake_time_s, parsed.bake_time_emergency_s),
            (600, 300)
        );
    }

    /// A wave whose agents crash-loop: every cohort cluster fails once upgraded.
    /// (The rest of the fleet: earlier waves already failed before this
    /// wave started, so they do not count as turning unhealthy.)
    fn crash_looping(wave: usize) -> WaveHealth {
        WaveHealth {
            cohort: wave as u32,
            cohort_failed: wave as u32,
            baseline: (2_000 - wave) as u32,
            baseline_failed: 0,
        }
    }

    #[test]
    fn the_health_gate_halts_a_crash_looping_release_at_the_first_wave_it_can_judge() {
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        let log = drive_with_health(&mut r, out, &[], |_, up| crash_looping(up));
        // The canary alone (1 failed) is below health_failed_min (2): it
        // bakes; the 1 % wave (19 clusters) halts at its first check.
        assert!(r.is_halted());
        assert_eq!(r.upgraded(), 20);
        let halts: Vec<_> = log
            .iter()
            .filter_map(|(_, o)| match o {
                RolloutOutput::Halted { wave, at, cause } => Some((*wave, *at, *cause)),
                _ => None,
            })
            .collect();
        assert_eq!(
            halts,
            vec![(1, mins(16), HaltCause::WaveHealth(crash_looping(19)))]
        );
        // A health halt is final for the controller: nothing is scheduled.
        assert_eq!(log.last().unwrap().0, mins(16));
    }

    #[test]
    fn the_health_gate_compares_with_the_baseline_and_can_be_switched_off() {
        // A fleet-wide fault fails both cohorts alike (30 %): no halt.
        let alike = |_: SimTime, wave: usize| {
            let cohort = wave as u32;
            let baseline = (2_000 - wave) as u32;
            WaveHealth {
                cohort,
                cohort_failed: cohort * 3 / 10,
                baseline,
                baseline_failed: baseline * 3 / 10,
            }
        };
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        let log = drive_with_health(&mut r, out, &[], alike);
        assert_eq!(r.completed_at(), Some(mins(75)));
        // 14 health checks per 15-minute bake, 5 bakes.
        let checks = log
            .iter()
            .filter(|(_, o)| matches!(o, RolloutOutput::SetTimer { timer, .. } if !timer.bake_end))
            .count();
        assert_eq!(checks, 5 * 14);

        // With the gate off, a crash-looping release reaches the whole fleet
        // and no health check is scheduled.
        let mut r = Rollout::new(RolloutConfig {
            health_gate: false,
            ..RolloutConfig::default()
        })
        .unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        let log = drive_with_health(&mut r, out, &[], |_, up| crash_looping(up));
        assert_eq!(r.completed_at(), Some(mins(75)));
        assert_eq!(r.upgraded(), 2_000);
        assert!(!log
            .iter()
            .any(|(_, o)| matches!(o, RolloutOutput::SetTimer { timer, .. } if !timer.bake_end)));
    }

    #[test]
    fn the_seeded_bug_ignores_alarms_in_the_canary_only() {
        let bugged = RolloutConfig {
            seeded_bug: Some(RolloutBug::IgnoresAlarmInEarlyWaves),
            ..RolloutConfig::default()
        };
        // An alarm 5 min into the canary: the bug goes on to wave 1.
        let mut r = Rollout::new(bugged.clone()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        let log = drive(&mut r, out, &[mins(5)]);
        assert_eq!(r.completed_at(), Some(mins(75)));
        assert!(!log
            .iter()
            .any(|(_, o)| matches!(o, RolloutOutput::Halted { .. })));
        // The sound controller halts the canary.
        let mut r = Rollout::new(RolloutConfig::default()).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        drive(&mut r, out, &[mins(5)]);
        assert!(r.is_halted());
        assert_eq!(r.upgraded(), 1);
        // From wave 1 on, the bug halts like the sound controller.
        let mut r = Rollout::new(bugged).unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        drive(&mut r, out, &[mins(20)]);
        assert!(r.is_halted());
        assert_eq!(r.upgraded(), 20);
    }

    #[test]
    fn a_gate_halt_rolls_back_every_upgraded_cluster_when_asked_to() {
        let mut r = Rollout::new(RolloutConfig {
            roll_back_on_gate_halt: true,
            ..RolloutConfig::default()
        })
        .unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        let log = drive_with_health(&mut r, out, &[], |_, up| crash_looping(up));
        let tail: Vec<_> = log
            .iter()
            .rev()
            .take(2)
            .map(|(t, o)| (*t, o.clone()))
            .collect();
        assert_eq!(
            tail,
            vec![
                (mins(16), RolloutOutput::RolledBack { clusters: 0..20 }),
                (
                    mins(16),
                    RolloutOutput::Halted {
                        wave: 1,
                        at: mins(16),
                        cause: HaltCause::WaveHealth(crash_looping(19))
                    }
                ),
            ]
        );
        // An alarm's halt does not roll back: the team checks and resumes.
        let mut r = Rollout::new(RolloutConfig {
            roll_back_on_gate_halt: true,
            ..RolloutConfig::default()
        })
        .unwrap();
        let mut out = Vec::new();
        r.start(SimTime::ZERO, (0..2_000).collect(), false, &mut out)
            .unwrap();
        let log = drive(&mut r, out, &[mins(5)]);
        assert!(!log
            .iter()
            .any(|(_, o)| matches!(o, RolloutOutput::RolledBack { .. })));
    }
}
