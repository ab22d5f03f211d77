//! Recovery script: automated restore of a set of clusters with a
//! concurrency cap, retries with jittered exponential backoff, a bounded
//! retry budget and pacing under the cloud API's rate limit.
//!
//! Why it is modelled: the post-incident write-up plans such a script as a
//! follow-up \[fact], and one counterfactual of the spec is that it restores
//! faster than manual repair. Its figures (25 clusters at a time, 2 % of
//! attempts failing) are assumptions \[A: spec §3].
//!
//! Shape \[A]: like a script with `concurrency_max` workers. A worker takes the
//! next cluster from a bounded FIFO queue and keeps it (and its slot) until
//! the cluster is restored or given up, sleeping through its own backoff.
//! The per-cluster work is the caller's cloud calls: [`RecoveryOutput::StartRestore`]
//! asks for them; the caller answers with `handle_restore_done` (the calls
//! succeeded; the script's own verification then fails with probability
//! `failure_ratio`), `handle_restore_failed` (a cloud error), or
//! `handle_cloud_rate_limited` (HTTP 429). A failure is retried after
//! `backoff_base_s × 2^k`, jittered, up to `retries_max` retries. A 429 is
//! not the cluster's fault, so it spends a separate budget (`throttles_max`)
//! and pauses every worker: the script backs off as a whole, as a client of
//! a shared account limit should. Every attempt start is also paced to
//! `starts_max_per_s`, so bursts of create calls stay under the limit to begin
//! with.
//!
//! Architecture invariant: clusters holding a worker never exceed
//! `concurrency_max`; attempt starts are at least `1 / starts_max_per_s`
//! apart; no cluster is attempted more than `1 + retries_max + throttles_max`
//! times.

pub use crate::model::bugs::RecoveryBug;
use crate::model::responder::probe_says_route_broken;
use crate::protocol::{ClusterId, DesiredAnswer};
use crate::sim::{SimDuration, SimTime, Stream};
use crate::types::{
    check_at_least, check_at_most, check_below, check_positive, check_range, check_ratio,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Settings of the recovery script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryConfig {
    /// \[A] Clusters restored at once (spec §3: 25).
    pub concurrency_max: u32,
    /// \[A] Share of attempts that fail and are retried (spec §3: 2 %).
    pub failure_ratio: f64,
    /// \[A] Retries after the first attempt before the script gives a cluster up.
    pub retries_max: u32,
    /// \[A] Delay before the first retry; doubles with each further one.
    pub backoff_base_s: f64,
    /// \[A] Cap on one backoff or rate-limit pause.
    pub backoff_cap_s: f64,
    /// \[A] Each delay is spread by ± this share so workers do not retry in lockstep.
    pub backoff_jitter_ratio: f64,
    /// \[A] Attempt starts per second: a restore makes up to 6 create calls and an
    /// account allows 10 mutating calls/s (spec §3), so 1/s stays below it.
    pub starts_max_per_s: f64,
    /// \[A] Rate-limited (429) attempts tolerated per cluster before giving it up.
    pub throttles_max: u32,
    /// \[A] First script-wide pause after a 429; doubles on consecutive 429s.
    pub throttle_backoff_base_s: f64,
    /// \[A] Clusters waiting for a worker; above the canonical fleet of 2,000.
    pub queue_max: usize,
    /// \[A] Highest cluster id + 1 accepted; sizes the per-cluster table.
    pub clusters_max: u32,
    /// \[A] Wait before the preflight probes a cluster's route again after
    /// it answered 404: the route comes back with a revert or the hotfix,
    /// hours away, so two minutes loses no real time and keeps probes rare.
    pub preflight_recheck_s: f64,
    /// A deliberately seeded bug (chaos catalogue); none in real runs.
    pub seeded_bug: Option<RecoveryBug>,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            concurrency_max: 25,
            failure_ratio: 0.02,
            retries_max: 5,
            backoff_base_s: 30.0,
            backoff_cap_s: 600.0,
            backoff_jitter_ratio: 0.5,
            starts_max_per_s: 1.0,
            throttles_max: 20,
            throttle_backoff_base_s: 5.0,
            queue_max: 4_096,
            clusters_max: 100_000,
            preflight_recheck_s: 120.0,
            seeded_bug: None,
        }
    }
}

impl RecoveryConfig {
    /// Checks every field; the error names the field and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        check_range("concurrency_max", self.concurrency_max, 1, 10_000)?;
        check_ratio("failure_ratio", self.failure_ratio)?;
        check_at_most("retries_max", self.retries_max, 100)?;
        check_positive("backoff_cap_s", self.backoff_cap_s)?;
        check_at_most("backoff_cap_s", self.backoff_cap_s, ("1 day", 86_400.0))?;
        for (name, v) in [
            ("backoff_base_s", self.backoff_base_s),
            ("throttle_backoff_base_s", self.throttle_backoff_base_s),
        ] {
            check_positive(name, v)?;
            check_at_most(name, v, ("backoff_cap_s", self.backoff_cap_s))?;
        }
        check_at_least("backoff_jitter_ratio", self.backoff_jitter_ratio, 0.0)?;
        check_below("backoff_jitter_ratio", self.backoff_jitter_ratio, 1.0)?;
        check_at_least("starts_max_per_s", self.starts_max_per_s, 0.001)?;
        check_at_most("throttles_max", self.throttles_max, 1_000)?;
        check_range("queue_max", self.queue_max, 1, 1_000_000)?;
        check_range("clusters_max", self.clusters_max, 1, 10_000_000)?;
        check_positive("preflight_recheck_s", self.preflight_recheck_s)?;
        check_at_most(
            "preflight_recheck_s",
            self.preflight_recheck_s,
            ("1 day", 86_400.0),
        )
    }
}

/// Where the preflight probes a cluster's desired-state URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreflightVia {
    /// Through the edge, the way the agent's requests go.
    Edge,
    /// The desired-state service directly, past the edge's routing.
    Service,
}

/// A wake-up for a sleeping worker; stale ones (cancelled clusters) are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecoveryTimer {
    pub cluster: ClusterId,
    gen: u32,
}

/// Why a cluster was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// `retries_max` retries failed.
    Failures,
    /// More than `throttles_max` attempts were rate limited.
    Throttled,
}

/// What the script asks of its driver.
#[derive(Clone, Debug, PartialEq)]
pub enum RecoveryOutput {
    /// Issue the cloud calls restoring `cluster`; `attempt` counts from 1.
    StartRestore {
        cluster: ClusterId,
        attempt: u32,
    },
    SetTimer {
        at: SimTime,
        timer: RecoveryTimer,
    },
    Done {
        cluster: ClusterId,
        attempts: u32,
    },
    GaveUp {
        cluster: ClusterId,
        attempts: u32,
        why: GiveUp,
    },
    /// The preflight found `cluster`'s route answering 404: look at it
    /// again at `at` (its worker stays with it).
    Recheck {
        cluster: ClusterId,
        at: SimTime,
    },
}

/// Result of asking for a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Queued at 0-based `position` (it may have started at once).
    Queued {
        position: usize,
    },
    /// Already queued or held by a worker.
    AlreadyActive,
    QueueFull,
    /// Cluster id at or above `clusters_max`.
    OutOfRange,
}

/// Counters for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    pub admitted: u64,
    pub attempts: u64,
    pub failures: u64,
    pub throttled: u64,
    pub done: u64,
    pub gave_up: u64,
    pub cancelled: u64,
    pub workers_busy_peak: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum State {
    #[default]
    Idle,
    Queued,
    /// Holds a worker, asleep until its timer (backoff, pause or pacing).
    Sleeping,
    /// Holds a worker, cloud calls in flight.
    Running,
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    state: State,
    attempts: u32,
    failures: u32,
    throttles: u32,
    /// Preflight probes that found the route answering 404 (for the seeded
    /// bug that stops believing them).
    preflight_404s: u32,
    /// Bumped whenever a timer is armed or the cluster is cancelled, so older timers are stale.
    gen: u32,
}

/// The recovery script's state.
#[derive(Clone, Debug)]
pub struct Recovery {
    config: RecoveryConfig,
    queue: VecDeque<ClusterId>,
    entries: Vec<Entry>,
    busy: u32,
    /// Earliest time the next attempt may start (pacing reservation).
    next_start_at: SimTime,
    /// No attempt starts before this (script-wide 429 pause).
    pause_until: SimTime,
    /// Consecutive 429s without a restore in between; sets the pause length.
    throttle_streak: u32,
    pace: SimDuration,
    stats: RecoveryStats,
}

impl Recovery {
    pub fn new(config: RecoveryConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Recovery {
            queue: VecDeque::with_capacity(config.queue_max),
            entries: Vec::new(),
            busy: 0,
            next_start_at: SimTime::ZERO,
            pause_until: SimTime::ZERO,
            throttle_streak: 0,
            pace: SimDuration::from_secs_f64(1.0 / config.starts_max_per_s),
            stats: RecoveryStats::default(),
            config,
        })
    }

    pub fn stats(&self) -> RecoveryStats {
        self.stats
    }
    /// Clusters holding a worker (running or sleeping between attempts).
    pub fn busy(&self) -> u32 {
        self.busy
    }
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }
    /// Nothing queued and no worker busy.
    pub fn is_idle(&self) -> bool {
        self.busy == 0 && self.queue.is_empty()
    }

    /// Asks for `cluster` to be restored (once; a restored cluster may be asked again).
    pub fn restore(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        out: &mut Vec<RecoveryOutput>,
    ) -> Admit {
        if cluster >= self.config.clusters_max {
            return Admit::OutOfRange;
        }
        let i = cluster as usize;
        if i >= self.entries.len() {
            self.entries.resize(i + 1, Entry::default());
        }
        if self.entries[i].state != State::Idle {
            return Admit::AlreadyActive;
        }
        if self.queue.len() >= self.config.queue_max {
            return Admit::QueueFull;
        }
        let e = &mut self.entries[i];
        *e = Entry {
            state: State::Queued,
            gen: e.gen,
            ..Entry::default()
        };
        self.queue.push_back(cluster);
        self.stats.admitted += 1;
        let position = self.queue.len() - 1;
        self.fill(now, out);
        Admit::Queued { position }
    }

    /// Stops working on `cluster` (it healed another way). Returns whether it was active.
    pub fn cancel(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        out: &mut Vec<RecoveryOutput>,
    ) -> bool {
        let Some(e) = self.entries.get_mut(cluster as usize) else {
            return false;
        };
        let was = e.state;
        e.state = State::Idle;
        e.gen = e.gen.wrapping_add(1);
        match was {
            State::Idle => false,
            State::Queued => {
                self.queue.retain(|&c| c != cluster);
                self.stats.cancelled += 1;
                true
            }
            State::Sleeping | State::Running => {
                self.busy -= 1;
                self.stats.cancelled += 1;
                self.fill(now, out);
                true
            }
        }
    }

    /// Whether the script probes a cluster's route before restoring it: it
    /// does when the cluster's agent runs a version with the 404 bug (the
    /// deployment listing says so), since restoring such a cluster while
    /// its route answers 404 only feeds its agent pools to delete again.
    pub fn preflight_probes(&self, agent_has_404_bug: bool) -> bool {
        agent_has_404_bug
    }

    /// Where the preflight sends its probe: through the edge, as the agent's
    /// own requests go, since only the edge can misroute them.
    pub fn preflight_via(&self) -> PreflightVia {
        if self.config.seeded_bug == Some(RecoveryBug::ProbesServiceNotEdge) {
            PreflightVia::Service
        } else {
            PreflightVia::Edge
        }
    }

    /// The preflight probe of `cluster`'s route came back (`probe`: its
    /// answer through the edge; a 404 says the route is broken). Returns whether
    /// the restore goes ahead; while the route answers 404 it waits for the
    /// route (or the hotfix), holding the worker, and asks to look again
    /// after `preflight_recheck_s`.
    pub fn handle_preflight(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        probe: &DesiredAnswer,
        out: &mut Vec<RecoveryOutput>,
    ) -> bool {
        if !probe_says_route_broken(probe) {
            return true;
        }
        if let Some(e) = self.entries.get_mut(cluster as usize) {
            e.preflight_404s += 1;
            if e.preflight_404s > 1
                && self.config.seeded_bug == Some(RecoveryBug::TrustsTheWaitOverTheProbe)
            {
                return true;
            }
        }
        let wait = SimDuration::from_secs_f64(self.config.preflight_recheck_s);
        out.push(RecoveryOutput::Recheck {
            cluster,
            at: now + wait,
        });
        false
    }

    /// The caller's cloud calls for `cluster` succeeded; the script verifies,
    /// and that fails with probability `failure_ratio`. Returns false for a
    /// cluster with no attempt running (e.g. cancelled meanwhile).
    pub fn handle_restore_done(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<RecoveryOutput>,
    ) -> bool {
        if !self.is_running(cluster) {
            return false;
        }
        if rng.bernoulli(self.config.failure_ratio) {
            self.fail(now, cluster, rng, out);
            return true;
        }
        let e = &mut self.entries[cluster as usize];
        e.state = State::Idle;
        let attempts = e.attempts;
        self.busy -= 1;
        self.throttle_streak = 0;
        self.stats.done += 1;
        out.push(RecoveryOutput::Done { cluster, attempts });
        self.fill(now, out);
        true
    }

    /// The caller's cloud calls for `cluster` failed: retry within budget.
    pub fn handle_restore_failed(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<RecoveryOutput>,
    ) -> bool {
        if !self.is_running(cluster) {
            return false;
        }
        self.fail(now, cluster, rng, out);
        true
    }

    /// The cloud answered 429 to `cluster`'s calls: pause the whole script and
    /// retry the cluster after the pause, within its throttle budget.
    pub fn handle_cloud_rate_limited(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<RecoveryOutput>,
    ) -> bool {
        if !self.is_running(cluster) {
            return false;
        }
        self.stats.throttled += 1;
        let e = &mut self.entries[cluster as usize];
        e.throttles += 1;
        if e.throttles > self.config.throttles_max {
            self.give_up(now, cluster, GiveUp::Throttled, out);
            return true;
        }
        // A 429 during a running pause answers a call made before the pause:
        // it joins the pause. Only a 429 after the pause lengthens the next one,
        // so one burst of 25 throttled workers does not jump to the cap.
        if now >= self.pause_until {
            self.throttle_streak = self.throttle_streak.saturating_add(1);
            let pause = self.backoff(
                self.config.throttle_backoff_base_s,
                self.throttle_streak,
                rng,
            );
            self.pause_until = now + pause;
        }
        self.sleep_until(now, cluster, self.pause_until, out);
        true
    }

    /// A worker's timer fired: it starts its next attempt unless a pause began meanwhile.
    pub fn handle_timer(
        &mut self,
        now: SimTime,
        timer: RecoveryTimer,
        out: &mut Vec<RecoveryOutput>,
    ) {
        let Some(e) = self.entries.get(timer.cluster as usize) else {
            return;
        };
        if e.state != State::Sleeping || e.gen != timer.gen {
            return; // cancelled or superseded
        }
        if now < self.pause_until {
            // A 429 arrived after this worker reserved its start: wait out the pause.
            self.sleep_until(now, timer.cluster, now, out);
        } else {
            self.begin(timer.cluster, out);
        }
    }

    fn is_running(&self, cluster: ClusterId) -> bool {
        self.entries
            .get(cluster as usize)
            .is_some_and(|e| e.state == State::Running)
    }

    /// Hands queued clusters to free workers.
    fn fill(&mut self, now: SimTime, out: &mut Vec<RecoveryOutput>) {
        while self.busy < self.config.concurrency_max {
            let Some(cluster) = self.queue.pop_front() else {
                return;
            };
            self.busy += 1;
            self.stats.workers_busy_peak = self.stats.workers_busy_peak.max(self.busy);
            self.sleep_until(now, cluster, now, out);
        }
        assert!(
            self.busy <= self.config.concurrency_max,
            "recovery workers {} above concurrency_max {}",
            self.busy,
            self.config.concurrency_max
        );
    }

    /// Reserves the next start slot at or after `earliest` (and after any
    /// pause); starts now if that slot is now, else sleeps until it.
    fn sleep_until(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        earliest: SimTime,
        out: &mut Vec<RecoveryOutput>,
    ) {
        let at = now
            .max(earliest)
            .max(self.pause_until)
            .max(self.next_start_at);
        self.next_start_at = at + self.pace;
        let e = &mut self.entries[cluster as usize];
        if at == now {
            self.begin(cluster, out);
        } else {
            e.state = State::Sleeping;
            e.gen = e.gen.wrapping_add(1);
            out.push(RecoveryOutput::SetTimer {
                at,
                timer: RecoveryTimer {
                    cluster,
                    gen: e.gen,
                },
            });
        }
    }

    /// A worker whose reserved start slot has come starts its attempt.
    fn begin(&mut self, cluster: ClusterId, out: &mut Vec<RecoveryOutput>) {
        let e = &mut self.entries[cluster as usize];
        e.state = State::Running;
        e.attempts += 1;
        self.stats.attempts += 1;
        out.push(RecoveryOutput::StartRestore {
            cluster,
            attempt: e.attempts,
        });
    }

    fn fail(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<RecoveryOutput>,
    ) {
        self.stats.failures += 1;
        let e = &mut self.entries[cluster as usize];
        e.failures += 1;
        if e.failures > self.config.retries_max {
            self.give_up(now, cluster, GiveUp::Failures, out);
            return;
        }
        let failures = e.failures;
        let delay = self.backoff(self.config.backoff_base_s, failures, rng);
        self.sleep_until(now, cluster, now + delay, out);
    }

    fn give_up(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        why: GiveUp,
        out: &mut Vec<RecoveryOutput>,
    ) {
        let e = &mut self.entries[cluster as usize];
        e.state = State::Idle;
        let attempts = e.attempts;
        self.busy -= 1;
        self.stats.gave_up += 1;
        out.push(RecoveryOutput::GaveUp {
            cluster,
            attempts,
            why,
        });
        self.fill(now, out);
    }

    /// `base × 2^(n-1)`, capped, spread by ± `backoff_jitter_ratio`.
    fn backoff(&self, base_s: f64, n: u32, rng: &mut Stream) -> SimDuration {
        let c = &self.config;
        let exp = base_s * 2f64.powi(n.saturating_sub(1).min(60) as i32);
        let s = rng.jitter(exp.min(c.backoff_cap_s), c.backoff_jitter_ratio);
        SimDuration::from_secs_f64(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Seed;
    use std::collections::BTreeMap;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        Timer(RecoveryTimer),
        Done(ClusterId),
        Failed(ClusterId),
        RateLimited(ClusterId),
        Admit(ClusterId),
        Cancel(ClusterId),
    }

    /// What a run looked like from the outside, built only from outputs.
    #[derive(Default)]
    struct Seen {
        starts: Vec<(SimTime, ClusterId, u32)>,
        done: BTreeMap<ClusterId, (SimTime, u32)>,
        gave_up: BTreeMap<ClusterId, (u32, GiveUp)>,
        busy_peak: usize,
        end: SimTime,
    }

    /// Drives the script with a random cloud: each attempt answers after a
    /// random latency with success, failure or 429 in the given shares.
    /// Cancels and late admissions are interleaved at random times.
    fn drive(
        config: RecoveryConfig,
        clusters: u32,
        fail_p: f64,
        throttle_p: f64,
        seed: u64,
    ) -> (Recovery, Seen) {
        let cap = config.concurrency_max as usize;
        let mut rec = Recovery::new(config).unwrap();
        let mut rng = Seed(seed).fork("recovery", 0);
        let mut cloud = Seed(seed).fork("cloud", 0);
        let mut events: BTreeMap<(SimTime, u64), Ev> = BTreeMap::new();
        let mut seq = 0u64;
        let mut push = |events: &mut BTreeMap<(SimTime, u64), Ev>, at: SimTime, ev: Ev| {
            events.insert((at, seq), ev);
            seq += 1;
        };
        // Half the clusters at once, the rest later; some cancelled along the way.
        for c in 0..clusters {
            let at = if c % 2 == 0 {
                SimTime::ZERO
            } else {
                SimTime::from_secs(cloud.below(3_600))
            };
            push(&mut events, at, Ev::Admit(c));
            if cloud.bernoulli(0.05) {
                push(
                    &mut events,
                    SimTime::from_secs(cloud.below(7_200)),
                    Ev::Cancel(c),
                );
            }
        }
        let mut seen = Seen::default();
        let mut holding: std::collections::BTreeSet<ClusterId> = Default::default();
        let mut out = Vec::new();
        while let Some(((now, _), ev)) = events.pop_first() {
            // Bounded: a script that never gives up (a failure not
            // counted) fails here instead of hanging the test.
            assert!(
                now < SimTime::from_secs(30 * 86_400),
                "seed {seed}: the script still works after 30 days"
            );
            match ev {
                Ev::Timer(t) => rec.handle_timer(now, t, &mut out),
                Ev::Done(c) => {
                    rec.handle_restore_done(now, c, &mut rng, &mut out);
                }
                Ev::Failed(c) => {
                    rec.handle_restore_failed(now, c, &mut rng, &mut out);
                }
                Ev::RateLimited(c) => {
                    rec.handle_cloud_rate_limited(now, c, &mut rng, &mut out);
                }
                Ev::Admit(c) => {
                    rec.restore(now, c, &mut out);
                }
                Ev::Cancel(c) => {
                    if rec.cancel(now, c, &mut out) {
                        holding.remove(&c);
                    }
                }
            }
            for o in out.drain(..) {
                match o {
                    RecoveryOutput::StartRestore { cluster, attempt } => {
                        holding.insert(cluster);
                        seen.starts.push((now, cluster, attempt));
                        let latency = SimDuration::from_secs_f64(cloud.uniform(30.0, 600.0));
                        let u = cloud.unit();
                        let ev = if u < throttle_p {
                            Ev::RateLimited(cluster)
                        } else if u < throttle_p + fail_p {
                            Ev::Failed(cluster)
                        } else {
                            Ev::Done(cluster)
                        };
                        push(&mut events, now + latency, ev);
                    }
                    RecoveryOutput::SetTimer { at, timer } => {
                        assert!(at > now, "timers lie in the future");
                        holding.insert(timer.cluster);
                        push(&mut events, at, Ev::Timer(timer));
                    }
                    RecoveryOutput::Done { cluster, attempts } => {
                        holding.remove(&cluster);
                        seen.done.insert(cluster, (now, attempts));
                    }
                    RecoveryOutput::Recheck { .. } => {
                        unreachable!("this driver runs no preflight")
                    }
                    RecoveryOutput::GaveUp {
                        cluster,
                        attempts,
                        why,
                    } => {
                        holding.remove(&cluster);
                        seen.gave_up.insert(cluster, (attempts, why));
                    }
                }
            }
            // Observed from outputs alone, independently of `busy()`.
            assert!(
                holding.len() <= cap,
                "seed {seed}: {} clusters held by workers, cap {cap}",
                holding.len()
            );
            assert_eq!(holding.len(), rec.busy() as usize, "seed {seed}");
            seen.busy_peak = seen.busy_peak.max(holding.len());
            seen.end = now;
        }
        (rec, seen)
    }

    #[test]
    fn never_exceeds_its_concurrency_cap_over_random_interleavings() {
        let mut rng = Seed(99).fork("recovery-test", 0);
        let mut total = RecoveryStats::default();
        for seed in 0..300 {
            let config = RecoveryConfig {
                concurrency_max: 1 + rng.below(30) as u32,
                retries_max: rng.below(6) as u32,
                throttles_max: rng.below(6) as u32,
                failure_ratio: rng.uniform(0.0, 0.3),
                starts_max_per_s: rng.uniform(0.05, 5.0),
                ..RecoveryConfig::default()
            };
            let pace = SimDuration::from_secs_f64(1.0 / config.starts_max_per_s);
            let attempts_max = 1 + config.retries_max + config.throttles_max;
            let cap = config.concurrency_max as usize;
            let (rec, seen) = drive(
                config,
                80,
                rng.uniform(0.0, 0.3),
                rng.uniform(0.0, 0.2),
                seed,
            );
            assert!(rec.is_idle(), "seed {seed}: work left over");
            assert!(seen.busy_peak <= cap);
            // Every cluster not cancelled ends restored or given up, once.
            let s = rec.stats();
            assert_eq!(s.admitted, s.done + s.gave_up + s.cancelled, "seed {seed}");
            assert_eq!(s.done as usize, seen.done.len());
            // Starts are paced and each cluster's attempts stay within budget.
            for w in seen.starts.windows(2) {
                assert!(
                    w[1].0 >= w[0].0 + pace,
                    "seed {seed}: starts {w:?} closer than {pace}"
                );
            }
            assert!(
                seen.starts.iter().all(|s| s.2 <= attempts_max),
                "seed {seed}"
            );
            total.failures += s.failures;
            total.throttled += s.throttled;
            total.gave_up += s.gave_up;
            total.cancelled += s.cancelled;
            total.done += s.done;
        }
        // The interleavings really exercised every path, not just the happy one.
        assert!(total.failures > 1_000, "{total:?}");
        assert!(total.throttled > 1_000, "{total:?}");
        assert!(total.gave_up > 100, "{total:?}");
        assert!(total.cancelled > 100, "{total:?}");
        assert!(total.done > 10_000, "{total:?}");
    }

    #[test]
    fn the_preflight_probes_only_a_buggy_agent_and_waits_out_a_404() {
        let mut rec = Recovery::new(RecoveryConfig {
            preflight_recheck_s: 90.0,
            ..RecoveryConfig::default()
        })
        .unwrap();
        assert!(rec.preflight_probes(true));
        assert!(!rec.preflight_probes(false));
        let now = SimTime::from_secs(1_000);
        let mut out = Vec::new();
        assert!(rec.handle_preflight(now, 7, &DesiredAnswer::Timeout, &mut out));
        assert!(out.is_empty(), "a route that answers goes ahead: {out:?}");
        assert!(!rec.handle_preflight(now, 7, &DesiredAnswer::NotFound, &mut out));
        assert_eq!(
            out,
            [RecoveryOutput::Recheck {
                cluster: 7,
                at: SimTime::from_secs(1_090),
            }]
        );
    }

    #[test]
    fn the_bug_that_trusts_the_wait_heeds_the_first_404_and_not_the_second() {
        // The seeded bug of the catalogue: a script that, having waited
        // once, restores whatever its second look says. Its first 404
        // still waits; the fixed script waits every time.
        let looks = |seeded_bug| {
            let mut rec = Recovery::new(RecoveryConfig {
                seeded_bug,
                ..RecoveryConfig::default()
            })
            .unwrap();
            let mut out = Vec::new();
            rec.restore(SimTime::ZERO, 7, &mut out);
            [1_000, 1_090, 1_180].map(|s| {
                rec.handle_preflight(SimTime::from_secs(s), 7, &DesiredAnswer::NotFound, &mut out)
            })
        };
        assert_eq!(looks(None), [false, false, false]);
        assert_eq!(
            looks(Some(RecoveryBug::TrustsTheWaitOverTheProbe)),
            [false, true, true]
        );
    }

    #[test]
    fn cap_of_25_is_reached_and_held_for_a_large_batch() {
        let (rec, seen) = drive(RecoveryConfig::default(), 400, 0.0, 0.0, 7);
        assert_eq!(seen.busy_peak, 25);
        assert_eq!(rec.stats().workers_busy_peak, 25);
    }

    #[test]
    fn failures_are_retried_with_growing_backoff() {
        // A script that fails verification twice, then succeeds: drive one
        // cluster by hand so the retry times are visible.
        let config = RecoveryConfig {
            failure_ratio: 0.0,
            backoff_jitter_ratio: 0.0,
            ..RecoveryConfig::default()
        };
        let mut rec = Recovery::new(config).unwrap();
        let mut rng = Seed(1).fork("recovery", 0);
        let mut out = Vec::new();
        rec.restore(SimTime::ZERO, 7, &mut out);
        assert_eq!(
            out,
            vec![RecoveryOutput::StartRestore {
                cluster: 7,
                attempt: 1
            }]
        );
        out.clear();
        // Attempt 1 fails at 100 s: retry after 30 s.
        rec.handle_restore_failed(SimTime::from_secs(100), 7, &mut rng, &mut out);
        let [RecoveryOutput::SetTimer { at, timer }] = out[..] else {
            panic!("expected a backoff timer, got {out:?}");
        };
        assert_eq!(at, SimTime::from_secs(130));
        out.clear();
        rec.handle_timer(at, timer, &mut out);
        assert_eq!(
            out,
            vec![RecoveryOutput::StartRestore {
                cluster: 7,
                attempt: 2
            }]
        );
        out.clear();
        // Attempt 2 fails at 200 s: retry after 60 s.
        rec.handle_restore_failed(SimTime::from_secs(200), 7, &mut rng, &mut out);
        let [RecoveryOutput::SetTimer { at, timer }] = out[..] else {
            panic!("expected a backoff timer, got {out:?}");
        };
        assert_eq!(at, SimTime::from_secs(260));
        out.clear();
        rec.handle_timer(at, timer, &mut out);
        rec.handle_restore_done(SimTime::from_secs(300), 7, &mut rng, &mut out);
        assert_eq!(
            out,
            vec![
                RecoveryOutput::StartRestore {
                    cluster: 7,
                    attempt: 3
                },
                RecoveryOutput::Done {
                    cluster: 7,
                    attempts: 3
                }
            ]
        );
        assert_eq!((rec.stats().failures, rec.stats().attempts), (2, 3));
        assert!(rec.is_idle());
    }

    #[test]
    fn the_default_2_percent_failures_are_retried_to_success() {
        let (rec, seen) = drive(RecoveryConfig::default(), 2_000, 0.0, 0.0, 11);
        let s = rec.stats();
        // 2 % of ~2,000 first attempts fail verification and are retried.
        assert!((20..=70).contains(&s.failures), "failures {}", s.failures);
        assert_eq!(s.gave_up, 0);
        assert_eq!(s.done + s.cancelled, 2_000);
        assert!(seen.done.values().any(|&(_, attempts)| attempts >= 2));
    }

    #[test]
    fn gives_up_after_the_retry_budget() {
        let config = RecoveryConfig {
            failure_ratio: 1.0,
            retries_max: 3,
            ..RecoveryConfig::default()
        };
        let (rec, seen) = drive(config, 10, 0.0, 0.0, 5);
        let s = rec.stats();
        assert_eq!(s.done, 0);
        assert_eq!(s.gave_up + s.cancelled, 10);
        for (&c, &(attempts, why)) in &seen.gave_up {
            assert_eq!((attempts, why), (4, GiveUp::Failures), "cluster {c}");
            assert_eq!(seen.starts.iter().filter(|s| s.1 == c).count(), 4);
        }
    }

    #[test]
    fn rate_limit_pauses_every_worker_and_spends_its_own_budget() {
        let config = RecoveryConfig {
            concurrency_max: 3,
            backoff_jitter_ratio: 0.0,
            throttles_max: 1,
            failure_ratio: 0.0,
            ..RecoveryConfig::default()
        };
        let mut rec = Recovery::new(config).unwrap();
        let mut rng = Seed(1).fork("recovery", 0);
        let mut out = Vec::new();
        for c in 0..3 {
            rec.restore(SimTime::ZERO, c, &mut out);
        }
        // Paced 1 s apart: cluster 0 now, 1 at 1 s, 2 at 2 s.
        assert_eq!(
            out[0],
            RecoveryOutput::StartRestore {
                cluster: 0,
                attempt: 1
            }
        );
        let timers: Vec<(SimTime, RecoveryTimer)> = out
            .iter()
            .filter_map(|o| match o {
                RecoveryOutput::SetTimer { at, timer } => Some((*at, *timer)),
                _ => None,
            })
            .collect();
        assert_eq!(
            timers.iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![SimTime::from_secs(1), SimTime::from_secs(2)]
        );
        out.clear();
        rec.handle_timer(timers[0].0, timers[0].1, &mut out);
        assert_eq!(
            out,
            vec![RecoveryOutput::StartRestore {
                cluster: 1,
                attempt: 1
            }]
        );
        out.clear();
        // A 429 for cluster 0 at 1.5 s pauses the script for 5 s (to 6.5 s)...
        let t = SimTime::from_millis(1_500);
        rec.handle_cloud_rate_limited(t, 0, &mut rng, &mut out);
        let [RecoveryOutput::SetTimer { at, timer: retry0 }] = out[..] else {
            panic!("expected a pause timer, got {out:?}");
        };
        assert_eq!(at, SimTime::from_millis(6_500));
        out.clear();
        // A 429 for cluster 1 during that pause joins it rather than doubling it:
        // cluster 1 takes the next start slot after cluster 0's (7.5 s).
        rec.handle_cloud_rate_limited(SimTime::from_secs(2), 1, &mut rng, &mut out);
        let [RecoveryOutput::SetTimer { at: at1, .. }] = out[..] else {
            panic!("expected cluster 1 to wait, got {out:?}");
        };
        assert_eq!(at1, SimTime::from_millis(7_500));
        out.clear();
        // ...and cluster 2's reserved start at 2 s waits for the pause, after both.
        rec.handle_timer(timers[1].0, timers[1].1, &mut out);
        let [RecoveryOutput::SetTimer { at: at2, .. }] = out[..] else {
            panic!("expected cluster 2 to wait, got {out:?}");
        };
        assert_eq!(at2, SimTime::from_millis(8_500));
        out.clear();
        // A second 429 on cluster 0 exceeds throttles_max = 1: given up.
        rec.handle_timer(at, retry0, &mut out);
        out.clear();
        rec.handle_cloud_rate_limited(SimTime::from_secs(7), 0, &mut rng, &mut out);
        assert_eq!(
            out,
            vec![RecoveryOutput::GaveUp {
                cluster: 0,
                attempts: 2,
                why: GiveUp::Throttled
            }]
        );
        assert_eq!(
            rec.stats().failures,
            0,
            "429s do not spend the failure budget"
        );
    }

    #[test]
    fn queue_dedupes_is_bounded_and_cancel_makes_results_stale() {
        let config = RecoveryConfig {
            concurrency_max: 1,
            queue_max: 2,
            ..RecoveryConfig::default()
        };
        let mut rec = Recovery::new(config).unwrap();
        let mut rng = Seed(1).fork("recovery", 0);
        let mut out = Vec::new();
        let t0 = SimTime::ZERO;
        assert!(rec.is_idle());
        assert_eq!(rec.restore(t0, 1, &mut out), Admit::Queued { position: 0 });
        // Cluster 1 holds the one worker and nothing waits: busy, not idle.
        assert_eq!((rec.busy(), rec.queue_len(), rec.is_idle()), (1, 0, false));
        assert_eq!(rec.restore(t0, 1, &mut out), Admit::AlreadyActive);
        assert_eq!(rec.restore(t0, 2, &mut out), Admit::Queued { position: 0 });
        assert_eq!(rec.restore(t0, 3, &mut out), Admit::Queued { position: 1 });
        assert_eq!(rec.restore(t0, 4, &mut out), Admit::QueueFull);
        // The bound I9 reads: two wait behind the worker.
        assert_eq!((rec.busy(), rec.queue_len()), (1, 2));
        assert_eq!(rec.restore(t0, 100_000, &mut out), Admit::OutOfRange);
        out.clear();
        assert!(rec.cancel(SimTime::from_secs(5), 1, &mut out));
        // Cluster 2 takes the freed worker; 1's late result is ignored.
        assert!(!rec.handle_restore_done(SimTime::from_secs(6), 1, &mut rng, &mut out));
        assert_eq!(out.len(), 1);
        assert!(matches!(
            out[0],
            RecoveryOutput::StartRestore { cluster: 2, .. }
        ));
        assert_eq!(rec.busy(), 1);
    }

    #[test]
    fn a_cancelled_sleepers_old_timer_does_not_start_it_after_readmission() {
        // A re-admitted cluster's timers must not count from 0 again:
        // the old timer of a cancelled sleeper would then match the new
        // one and start the attempt before its paced slot.
        let mut rec = Recovery::new(RecoveryConfig::default()).unwrap();
        let mut out = Vec::new();
        let t0 = SimTime::ZERO;
        rec.restore(t0, 1, &mut out);
        rec.restore(t0, 2, &mut out);
        // Cluster 1 starts now; 2 sleeps until its paced slot.
        let stale = out
            .iter()
            .find_map(|o| match o {
                RecoveryOutput::SetTimer { at, timer } if timer.cluster == 2 => Some((*at, *timer)),
                _ => None,
            })
            .expect("cluster 2 sleeps until its slot");
        let half = SimTime::ZERO + SimDuration::from_secs_f64(stale.0.as_secs_f64() / 2.0);
        assert!(rec.cancel(half, 2, &mut out));
        assert_eq!(
            rec.restore(half, 2, &mut out),
            Admit::Queued { position: 0 }
        );
        out.clear();
        rec.handle_timer(stale.0, stale.1, &mut out);
        assert!(
            !out.iter()
                .any(|o| matches!(o, RecoveryOutput::StartRestore { cluster: 2, .. })),
            "{out:?}"
        );
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = RecoveryConfig {
            failure_ratio: 1.5,
            ..RecoveryConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .starts_with("failure_ratio: expected a fraction in [0, 1], found 1.5"));
        let bad = RecoveryConfig {
            concurrency_max: 0,
            ..RecoveryConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .starts_with("concurrency_max: expected 1 to 10,000, found 0"));
        let bad = RecoveryConfig {
            backoff_base_s: 700.0,
            ..RecoveryConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .starts_with("backoff_base_s: expected at most backoff_cap_s (600), found 700"));
        let parsed: RecoveryConfig = serde_json::from_str(r#"{"retries_max": 2}"#).unwrap();
        assert_eq!((parsed.retries_max, parsed.concurrency_max), (2, 25));
    }
}
