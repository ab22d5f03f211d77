//! The control plane's authentication path: traffic, the auth component and
//! its autoscaler, the identity vendor (Auth0), and the mitigations, as one
//! sans-IO state machine driven once per tick (incidents E1, E2, E3).
//!
//! Map of the submodules:
//! - [`config`]: [`AuthConfig`] and its sections; every assumed figure is a
//!   named field with its basis, checked by [`AuthConfig::validate`].
//! - `counts`: request counts per class (legitimate attempt k, bot),
//!   proportional splitting, sliding-window sums.
//! - `vendor`: [`VendorPath`], the token bucket behind 429s, lognormal
//!   vendor latency and its quantiles.
//! - `hpa`: pods with warm-up and crashes, the Kubernetes HPA reading a
//!   windowed CPU average, and the node pool behind it (Pending pods,
//!   cluster-autoscaler nodes) ([`ScaleEvent`]s are kept for checks).
//! - [`wave`]: bot traffic that rises and falls ([`BotWave`]).
//! - `mitigation`: client-side adaptive throttling, the vendor circuit
//!   breaker ([`BreakerState`]) and the edge's per-client limiter, which
//!   sees client populations and rates, never a request's class.
//! - this file: [`AuthSystem`], the per-tick pipeline and [`AuthTick`]
//!   (the world judges success per minute, `world::auth_side`).
//!
//! # Modelling choice: aggregated per tick
//!
//! Auth traffic is tens to hundreds of requests per second for nine days
//! (about 10^8 requests); an event per request would dominate the run. The
//! model therefore moves *counts* through the pipeline once per tick
//! (`tick_ms`, 1 s by default): Poisson arrivals per class, client-side
//! throttling, edge rate limits, a FIFO queue of per-tick cohorts that
//! carries over between ticks and is bounded twice (length: overflow shed as
//! 503; age: cohorts older than the client timeout are abandoned), service
//! limited by CPU (`replica_capacity_rps` per ready replica) *and* by
//! in-flight slots (`replica_inflight_max`), vendor calls against a token
//! bucket, and retries scheduled into a ring of future ticks.
//!
//! Why this still produces saturation, 429s and tail latency:
//! - saturation: service per tick is min(queue, CPU budget, slot budget);
//!   when demand exceeds it the queue grows to its bound and the excess is
//!   shed, so throughput flattens at capacity exactly as in a per-request
//!   model (the queue is a fluid approximation of an M/D/c queue, which is
//!   accurate when the queue is either empty or long, the two regimes the
//!   incidents exercise);
//! - vendor 429s: the bucket is evaluated with the continuous-time bound
//!   (level at tick start + refill during the tick), so 300 req/s against
//!   100 req/s gives 200 req/s of 429s, as per request;
//! - capacity collapse under a blackhole: a call that cannot reach the vendor
//!   holds its slot until the client timeout (a ring of release ticks), so
//!   slots run out and even requests that need no vendor call wait;
//! - tail latency: each served cohort knows its age, so queueing delay is
//!   resolved to the tick; p50/p99 combine the served cohorts' waits, local
//!   work, the lognormal vendor latency (analytic quantiles) and an atom at
//!   the client timeout for calls that time out or requests abandoned in the
//!   queue. Waits and vendor latency are added quantile by quantile (the
//!   comonotone sum): exact when either part is degenerate, which is the
//!   case in both regimes that matter (empty queue; long queue), and an
//!   upper bound in between.
//!
//! What is deliberately approximate: within-tick queueing when arrivals are
//! close to capacity is ignored (waits are whole ticks); outcomes of calls
//! that answer are counted in the tick they are served, timeouts at the
//! deadline; in-flight requests of a crashed pod keep their outcome.
//!
//! # Time and randomness
//!
//! `SimTime::ZERO` is midnight UTC (the run's epoch, 2025-03-18T00:00Z), so
//! the hour of day for the diurnal cycle is `now` modulo one day. The driver
//! calls [`AuthSystem::handle_tick`] once per `tick_ms`; every random draw
//! comes from the `Stream` it passes. No clock, no OS randomness, no hash
//! maps, no allocation per tick (rings are sized at construction).
//!
//! # Accounting
//!
//! `legit_attempts` counts requests sent this tick (fresh + retries);
//! `legit_ok`/`legit_failed` count outcomes the client learnt this tick.
//! A failed attempt that is retried and succeeds is one failure and one
//! success: availability is per attempt, the retry amplification
//! (attempts / fresh requests) is reported separately.

pub mod config;
mod counts;
mod hpa;
mod mitigation;
mod vendor;
pub mod wave;

#[cfg(test)]
mod tests;

use std::mem;

use cascade_sim::{PoissonTables, SimDuration, SimTime, Stream};

pub use config::{
    AuthConfig, AutoscalerConfig, ComponentConfig, MitigationConfig, TrafficConfig, VendorConfig,
};
pub use hpa::{HpaSync, ScaleEvent};
pub use mitigation::BreakerState;
pub use vendor::VendorPath;
pub use wave::{BotWave, WaveShape};

use counts::{
    add, add_legit, floor_u64, legit, sround, take, take_one, total, Classes, Window, BOT, NONE,
};
use hpa::Autoscaler;
use mitigation::{AdaptiveThrottle, Breaker, PerClientLimiter};
use vendor::{TokenBucket, VendorLatency};

const MICROS_PER_DAY: u64 = 86_400_000_000;
/// The client populations' places in the per-client limiter, in the order
/// `try_new` hands their client counts over (the world's bookkeeping; the
/// limiter treats them alike).
const LEGIT_LIGHT: usize = 0;
const LEGIT_HEAVY: usize = 1;
const BOT_HEAVY: usize = 2;
const BOT_LIGHT: usize = 3;
const MICROS_PER_HOUR: f64 = 3_600_000_000.0;
const HOURS_PER_DAY: f64 = 24.0;
const MS_PER_S: f64 = 1_000.0;
/// Quantile levels reported per tick.
const P50: f64 = 0.50;
const P99: f64 = 0.99;

/// What one tick of the auth path did. Counts are per tick.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AuthTick {
    pub at: SimTime,
    /// New legitimate requests (first attempts).
    pub legit_fresh: u32,
    /// Legitimate attempts this tick: fresh + retries.
    pub legit_attempts: u32,
    /// Retries among `legit_attempts`.
    pub retries: u32,
    pub legit_ok: u32,
    /// Sum of the `legit_*` failure causes below.
    pub legit_failed: u32,
    /// 429 from the edge's global cap.
    pub legit_shed_rate_limit: u32,
    /// 429 from the edge's per-client limit: the collateral of limiting by
    /// client (heavy legitimate clients, such as CI systems, are limited
    /// like any other client).
    pub legit_client_limited: u32,
    /// 503: the queue was full.
    pub legit_shed_queue_full: u32,
    /// The vendor answered 429.
    pub legit_vendor_429: u32,
    /// The vendor answered after the deadline (reported at the deadline).
    pub legit_vendor_timeout: u32,
    /// The call never reached the vendor (path blackholed or lossy),
    /// reported at the deadline.
    pub legit_vendor_unreachable: u32,
    /// Failed fast by the open circuit breaker.
    pub legit_circuit_open: u32,
    /// Waited in the queue until the client gave up.
    pub legit_client_timeout: u32,
    /// Rejected locally by client-side adaptive throttling.
    pub legit_client_throttled: u32,
    /// Failed attempts that will not be retried (attempts or budget used up).
    pub legit_abandoned: u32,
    pub bot_attempts: u32,
    pub bot_ok: u32,
    pub bot_failed: u32,
    /// Automated requests the per-client limit stopped.
    pub bot_client_limited: u32,
    /// Calls the component made to the vendor (lost ones included).
    pub vendor_calls: u32,
    /// Vendor calls answered 429.
    pub vendor_429: u32,
    /// Vendor calls whose deadline passed this tick.
    pub vendor_timeouts: u32,
    /// Legitimate latency percentiles over the requests answered or timed out
    /// this tick (edge rejections and local throttling excluded: they answer
    /// at once and would hide the tail); 0 when `latency_samples` is 0.
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    /// Legitimate requests the percentiles describe.
    pub latency_samples: u32,
    pub replicas_ready: u32,
    pub replicas_total: u32,
    /// Pods the HPA asked for that no node had room for.
    pub replicas_pending: u32,
    /// Nodes of the component's pool taking pods.
    pub nodes: u32,
    /// Service this tick was limited by free worker slots (held by vendor
    /// calls) rather than by CPU: saturation caused by the dependency.
    pub served_bound_by_slots: bool,
    pub queue_len: u32,
    /// In-flight slots held across ticks by slow or lost vendor calls.
    pub slots_held: u32,
    /// CPU capacity of ready replicas.
    pub capacity_rps: f64,
    /// Requests offered to the component's edge (after client throttling).
    pub demand_rps: f64,
    pub breaker: BreakerState,
    /// The autoscaler's sync of this tick, if one was due (for I16).
    pub hpa_sync: Option<HpaSync>,
}

/// Running totals since the start, for amplification and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthTotals {
    pub ticks: u64,
    pub legit_fresh: u64,
    pub legit_attempts: u64,
    pub legit_ok: u64,
    pub legit_failed: u64,
    pub legit_abandoned: u64,
    pub bot_attempts: u64,
    pub vendor_calls: u64,
    pub vendor_429: u64,
}

/// What a quiet span of ticks did ([`AuthSystem::handle_quiet_span`]):
/// the figures the world folds into its minute, summed or at their most.
/// No legitimate request fails within a span (a slow call fails at its
/// deadline, a tick stepped after the span).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuietSpan {
    pub ticks: u32,
    pub legit_attempts: u64,
    pub legit_ok: u64,
    pub vendor_calls: u64,
    /// Each tick's demand per second, summed over the ticks.
    pub demand_rps_sum: f64,
    /// Each tick's capacity per second (the same in every tick).
    pub capacity_rps: f64,
    pub latency_p99_ms_max: f64,
    pub replicas_ready: u32,
    pub replicas_total: u32,
    pub replicas_pending: u32,
    pub nodes: u32,
    /// The autoscaler's sync, at the span's last tick, if one was due.
    pub hpa_sync: Option<HpaSync>,
}

/// Legitimate outcome masses of one tick, for the latency percentiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LatencyMix {
    /// Answered without a vendor round trip (cache hit or breaker open).
    local: u64,
    /// Answered by the vendor (ok or 429).
    vendor: u64,
    /// Reached the client deadline.
    timeouts: u64,
}

/// What the middle of a tick hands to [`AuthSystem::close_tick`].
struct TickEnd {
    /// Legitimate failures that may retry, by attempt.
    retryable: Classes,
    /// Legitimate vendor 429s, by attempt: they retry after the reset.
    retryable_429: Classes,
    fresh: u64,
    retries: u64,
    legit_attempts: u64,
    bots: u64,
    bot_ok: u64,
    bot_failed: u64,
    /// Vendor calls answered (ok or 429).
    answered: u64,
    /// Requests served (taken from the queue).
    served: u64,
    /// CPU budget of the tick, in requests.
    cpu_capacity: f64,
    ready: u32,
    lat: LatencyMix,
}

/// What [`AuthSystem::service`] allows a tick to serve.
struct Service {
    /// Share of served requests that need a vendor call.
    share: f64,
    ready: u32,
    /// CPU budget of the tick, in requests.
    cpu_capacity: f64,
    /// Requests served this tick.
    n: u64,
    /// The in-flight slots, not the CPU, set the bound.
    bound_by_slots: bool,
}

/// Entries of [`LatencyMemo`]: a power of two, large enough for the mixes
/// a quiet path repeats (tens of requests a tick split three ways).
const LATENCY_MEMO_ENTRIES: usize = 256;
const _: () = assert!(LATENCY_MEMO_ENTRIES.is_power_of_two());

/// The latency percentiles (p50, p99) of mixes seen before with no request
/// served after a wait. Then the percentiles depend only on the mix and the
/// vendor latency, and most ticks repeat a mix seen a few ticks earlier, so
/// recalling them saves two normal quantiles a tick. A recalled value is
/// the very `f64` computed the first time: the cache changes no result.
/// Emptied when the vendor latency changes.
#[derive(Clone, Debug)]
struct LatencyMemo {
    entries: Box<[Option<(LatencyMix, f64, f64)>; LATENCY_MEMO_ENTRIES]>,
}

impl LatencyMemo {
    fn new() -> Self {
        LatencyMemo {
            entries: Box::new([None; LATENCY_MEMO_ENTRIES]),
        }
    }

    fn slot(mix: &LatencyMix) -> usize {
        let h = mix
            .local
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(mix.vendor.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
            .wrapping_add(mix.timeouts.wrapping_mul(0x1656_67B1_9E37_79F9));
        // The top bits: as many as index the entries.
        (h >> (64 - LATENCY_MEMO_ENTRIES.trailing_zeros())) as usize
    }

    fn get(&self, mix: &LatencyMix) -> Option<(f64, f64)> {
        match self.entries[Self::slot(mix)] {
            Some((m, p50, p99)) if m == *mix => Some((p50, p99)),
            _ => None,
        }
    }

    fn put(&mut self, mix: LatencyMix, p50: f64, p99: f64) {
        self.entries[Self::slot(&mix)] = Some((mix, p50, p99));
    }

    fn clear(&mut self) {
        self.entries.fill(None);
    }
}

/// The auth path. See the module documentation for the model.
#[derive(Clone, Debug)]
pub struct AuthSystem {
    cfg: AuthConfig,
    dt_s: f64,
    local_s: f64,
    timeout_s: f64,
    /// Client timeout in ticks; rings indexed by tick have one more entry.
    timeout_ticks: usize,
    tick_no: u64,
    /// Queue slot of this tick's cohort: `tick_no` modulo the ring, kept
    /// by counting rather than dividing (so is `retry_here`).
    here: usize,
    /// Slot of the retry ring this tick takes retries from: `tick_no`
    /// modulo its length.
    retry_here: usize,
    last_now: SimTime,

    bot_multiplier: f64,
    /// The step surges' share of `bot_multiplier` (what the last
    /// `set_bot_multiplier` set); a wave adds to it.
    bot_step: f64,
    /// A bot surge shaped as a wave, and when it started: while set, it
    /// sets `bot_multiplier` at every tick.
    bot_wave: Option<(SimTime, BotWave)>,
    path: VendorPath,
    storm: bool,
    pending_crashes: u32,

    vendor_bucket: TokenBucket,
    latency: VendorLatency,
    per_client: PerClientLimiter,
    global: TokenBucket,
    throttle: AdaptiveThrottle,
    breaker: Breaker,
    /// (fresh requests, retries scheduled) per tick.
    retry_window: Window,
    hpa: Autoscaler,

    /// Waiting cohorts by arrival tick.
    queue: Vec<Classes>,
    queue_total: u64,
    /// Vendor calls reaching their deadline, by tick.
    timeouts_due: Vec<Classes>,
    /// Of those, legitimate calls lost on the path, by tick.
    unreachable_due: Vec<u64>,
    /// In-flight slots released, by tick.
    slot_release: Vec<u64>,
    slots_held: u64,
    /// Legitimate retries by tick; the class is the retry's attempt number.
    retry_due: Vec<Classes>,
    /// Scratch: legitimate requests served this tick by queue age (ticks).
    served_by_age: Vec<u64>,
    /// Scratch: whether a legitimate request served this tick had waited.
    served_after_wait: bool,
    latency_memo: LatencyMemo,
    /// Run every tick through [`Self::busy_tick`], quiet or not: the tests
    /// set it to compare the quiet path with the general one.
    busy_ticks_only: bool,
    /// [`Self::answer_hold_ticks`] at the current vendor latency.
    answer_hold: Option<u64>,
    /// The legitimate rate at each tick of a day, filled as ticks first
    /// reach it (NaN until then); empty when ticks do not divide a day.
    rate_of_day: Vec<f64>,
    /// Arrival counts: a new mean every tick, so tables per integer mean.
    poisson: PoissonTables,
    totals: AuthTotals,
}

impl AuthSystem {
    /// Builds the system at steady state (replicas at the floor, buckets
    /// full). Panics with the validation message on a bad config: load
    /// scenarios through [`AuthConfig::validate`] or use [`Self::try_new`].
    pub fn new(cfg: &AuthConfig) -> Self {
        Self::try_new(cfg).unwrap_or_else(|e| panic!("invalid auth config: {e}"))
    }

    pub fn try_new(cfg: &AuthConfig) -> Result<Self, String> {
        cfg.validate()?;
        let ticks = |ms: u64| ms.div_ceil(cfg.tick_ms).max(1) as usize;
        let c = &cfg.component;
        let t = &cfg.traffic;
        let v = &cfg.vendor;
        let m = &cfg.mitigations;
        let timeout_ticks = ticks(c.client_timeout_ms);
        // The longest retry delay is the longer of the backoff ceiling and a
        // storm's reset wait, stretched by the largest jitter (×2).
        let delay_max_ms = t
            .retry_backoff_max_ms
            .max(v.vendor_storm_reset_window_s * 1_000);
        let retry_ring = ticks(2 * delay_max_ms) + 2;
        let mut sys = AuthSystem {
            dt_s: cfg.tick_ms as f64 / MS_PER_S,
            local_s: c.request_local_ms as f64 / MS_PER_S,
            timeout_s: c.client_timeout_ms as f64 / MS_PER_S,
            timeout_ticks,
            tick_no: 0,
            here: 0,
            retry_here: 0,
            last_now: SimTime::ZERO,
            bot_multiplier: 0.0,
            bot_step: 0.0,
            bot_wave: None,
            path: VendorPath::Up,
            storm: false,
            pending_crashes: 0,
            vendor_bucket: TokenBucket::new(v.vendor_rate_rps, v.vendor_burst_requests),
            latency: VendorLatency::new(
                v.vendor_latency_median_ms,
                v.vendor_latency_p99_ms,
                c.client_timeout_ms as f64,
            ),
            per_client: PerClientLimiter::new(
                [
                    t.clients.legit_light_clients,
                    t.clients.legit_heavy_clients,
                    t.clients.bot_heavy_clients,
                    t.clients.bot_light_clients,
                ],
                m,
            ),
            global: TokenBucket::new(m.global_cap_rps, m.global_cap_burst_requests),
            throttle: AdaptiveThrottle::new(ticks(m.client_throttle_window_s * 1_000)),
            breaker: Breaker::new(ticks(m.breaker_window_s * 1_000)),
            retry_window: Window::new(ticks(t.retry_budget_window_s * 1_000)),
            hpa: Autoscaler::new(&cfg.autoscaler, c, cfg.tick_ms, cfg.seeded_bug),
            queue: vec![NONE; timeout_ticks + 1],
            queue_total: 0,
            timeouts_due: vec![NONE; timeout_ticks + 1],
            unreachable_due: vec![0; timeout_ticks + 1],
            slot_release: vec![0; timeout_ticks + 1],
            slots_held: 0,
            retry_due: vec![NONE; retry_ring],
            served_by_age: vec![0; timeout_ticks + 1],
            served_after_wait: false,
            latency_memo: LatencyMemo::new(),
            busy_ticks_only: false,
            answer_hold: None,
            rate_of_day: if MICROS_PER_DAY.is_multiple_of(cfg.tick_ms * 1_000) {
                vec![f64::NAN; (MICROS_PER_DAY / (cfg.tick_ms * 1_000)) as usize]
            } else {
                Vec::new()
            },
            poisson: PoissonTables::default(),
            totals: AuthTotals::default(),
            cfg: cfg.clone(),
        };
        sys.answer_hold = sys.answer_hold_ticks();
        Ok(sys)
    }

    // ----- driver inputs -------------------------------------------------

    /// Reachability of the vendor from the auth component.
    pub fn set_vendor_path(&mut self, path: VendorPath) {
        if let VendorPath::Lossy(p) = path {
            assert!(
                (0.0..=1.0).contains(&p),
                "VendorPath::Lossy needs a probability in 0..=1, got {p}"
            );
        }
        self.path = path;
    }

    /// Automated traffic as a multiple of the current legitimate rate.
    pub fn set_bot_multiplier(&mut self, k: f64) {
        assert!(
            k.is_finite() && k >= 0.0,
            "bot multiplier must be finite and >= 0, got {k}"
        );
        self.bot_multiplier = k;
        self.bot_step = k;
    }

    /// Automated traffic shaped as a wave from `now` on, on top of any step
    /// surge (`None`: the wave ends, the step surge stays).
    pub fn set_bot_wave(&mut self, now: SimTime, wave: Option<BotWave>) {
        if let Some(w) = wave {
            assert!(
                w.peak.is_finite() && w.peak >= 0.0 && w.period_s > 0.0 && w.duty > 0.0,
                "bot wave needs a finite peak >= 0, a period and a duty > 0, got {w:?}"
            );
        }
        self.bot_wave = wave.map(|w| (now, w));
        if wave.is_none() {
            self.bot_multiplier = self.bot_step;
        }
    }

    /// Ticks handled so far (the first, at 0, is number 1).
    pub fn ticks_handled(&self) -> u64 {
        self.tick_no
    }

    /// Whether a bot wave is running.
    pub fn bot_wave_active(&self) -> bool {
        self.bot_wave.is_some()
    }

    /// Switches mitigations at runtime. Limiter levels and breaker state
    /// carry over; windows whose length changes start empty.
    pub fn set_mitigations(&mut self, m: MitigationConfig) -> Result<(), String> {
        m.validate(self.cfg.component.client_timeout_ms)?;
        let tick_ms = self.cfg.tick_ms;
        let ticks = |s: u64| (s * 1_000).div_ceil(tick_ms).max(1) as usize;
        self.per_client.set_limits(&m);
        self.global
            .set_limits(m.global_cap_rps, m.global_cap_burst_requests);
        if self.throttle.window_len() != ticks(m.client_throttle_window_s) {
            self.throttle = AdaptiveThrottle::new(ticks(m.client_throttle_window_s));
        }
        if self.breaker.window_len() != ticks(m.breaker_window_s) {
            self.breaker = Breaker::new(ticks(m.breaker_window_s));
        }
        self.cfg.mitigations = m;
        Ok(())
    }

    /// `n` replicas crash at the next tick; the Deployment recreates them
    /// and they warm up again.
    pub fn crash_replicas(&mut self, n: u32) {
        self.pending_crashes += n;
    }

    /// Multiplies vendor latency (1 = nominal).
    pub fn set_vendor_slowdown(&mut self, k: f64) {
        assert!(
            k.is_finite() && k > 0.0,
            "vendor slowdown must be finite and > 0, got {k}"
        );
        self.latency.set_slowdown(k);
        self.latency_memo.clear();
        self.answer_hold = self.answer_hold_ticks();
    }

    /// Forces the vendor to answer every call with 429, its reset pointing
    /// at the end of the current `vendor_storm_reset_window_s` window.
    pub fn set_vendor_429_storm(&mut self, on: bool) {
        self.storm = on;
    }

    // ----- observation -----------------------------------------------------

    pub fn config(&self) -> &AuthConfig {
        &self.cfg
    }

    pub fn totals(&self) -> &AuthTotals {
        &self.totals
    }

    /// Legitimate attempts per fresh request since the start (1 = no retry).
    pub fn retry_amplification(&self) -> f64 {
        if self.totals.legit_fresh == 0 {
            1.0
        } else {
            self.totals.legit_attempts as f64 / self.totals.legit_fresh as f64
        }
    }

    /// Autoscaler decisions, oldest first (bounded; see `events_dropped`).
    pub fn scale_events(&self) -> &[ScaleEvent] {
        self.hpa.events()
    }

    pub fn scale_events_dropped(&self) -> u64 {
        self.hpa.events_dropped()
    }

    /// Reversals of scaling direction since the start (flapping).
    pub fn direction_changes(&self) -> u64 {
        self.hpa.direction_changes()
    }

    /// Reversals of scaling direction within `window` before `now`.
    pub fn direction_changes_within(&self, window: SimDuration, now: SimTime) -> u32 {
        self.hpa.direction_changes_within(window, now)
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Mean legitimate rate at `now` (diurnal sinusoid, peak at
    /// `diurnal_peak_hour_utc`).
    pub fn legit_rate_rps(&self, now: SimTime) -> f64 {
        Self::diurnal_rate_rps(&self.cfg.traffic, now)
    }

    /// [`Self::legit_rate_rps`] at a tick: recalled from the day's table
    /// when the tick's time of day was seen before (the very `f64` computed
    /// then, so exact), which saves a cosine a tick after the first day.
    fn legit_rate_at_tick_rps(&mut self, now: SimTime) -> f64 {
        let of_day = now.as_micros() % MICROS_PER_DAY;
        let tick_us = self.cfg.tick_ms * 1_000;
        let slot = (of_day / tick_us) as usize;
        if !of_day.is_multiple_of(tick_us) || slot >= self.rate_of_day.len() {
            return Self::diurnal_rate_rps(&self.cfg.traffic, now);
        }
        let known = self.rate_of_day[slot];
        if !known.is_nan() {
            return known;
        }
        let rate = Self::diurnal_rate_rps(&self.cfg.traffic, now);
        self.rate_of_day[slot] = rate;
        rate
    }

    fn diurnal_rate_rps(t: &TrafficConfig, now: SimTime) -> f64 {
        let hour = (now.as_micros() % MICROS_PER_DAY) as f64 / MICROS_PER_HOUR;
        let phase = std::f64::consts::TAU * (hour - t.diurnal_peak_hour_utc) / HOURS_PER_DAY;
        t.legit_rps * (1.0 + t.diurnal_amplitude_fraction * phase.cos())
    }

    // ----- the tick ----------------------------------------------------------

    /// Advances the auth path by one tick ending at `now`.
    pub fn handle_tick(&mut self, now: SimTime, rng: &mut Stream) -> AuthTick {
        assert!(
            now >= self.last_now,
            "auth ticks must not go back in time ({:?} after {:?})",
            now,
            self.last_now
        );
        self.last_now = now;
        if let Some((start, w)) = self.bot_wave {
            let since_s = now.saturating_since(start).as_secs_f64();
            self.bot_multiplier = self.bot_step + w.multiplier_at(since_s);
        }
        let retry_here = self.retry_here;
        debug_assert_eq!(self.here as u64, self.tick_no % self.queue.len() as u64);
        debug_assert_eq!(
            retry_here as u64,
            self.tick_no % self.retry_due.len() as u64
        );
        if self.next_tick_is_quiet() && !self.busy_ticks_only {
            self.quiet_tick(now, retry_here, rng)
        } else {
            self.busy_tick(now, retry_here, rng)
        }
    }

    /// How many ticks, the first at `first` and the others one period
    /// apart, may run as one quiet span ([`Self::handle_quiet_span`]); 0
    /// when the next tick must be stepped on its own. A span needs, for
    /// all its ticks, what makes a tick quiet (nothing queued or due, no
    /// crash, no bots), and more: the vendor up and no mitigation that
    /// could bind (the throttle off, the breaker closed with no failure in
    /// its window, the edge's buckets able to pass the span's most), no
    /// autoscaler change
    /// under way and a sync at most at its last tick, no slot held, and
    /// room for the most arrivals a span can draw (the CPU, the slots, the
    /// vendor's refill per tick, checked for the span returned: a shorter
    /// span puts more in each tick at worst). It is at most `at_most` and
    /// `quiet_span_ticks_max` ticks; its slow calls land in its last
    /// client timeout's ticks, so that their deadlines fall after it.
    pub fn quiet_span_ticks(&self, first: SimTime, at_most: u32) -> u32 {
        let m = &self.cfg.mitigations;
        let max = self.cfg.quiet_span_ticks_max as usize;
        if max < 2
            || self.busy_ticks_only
            || first < self.last_now
            || self.pending_crashes != 0
            || self.queue_total != 0
            || self.bot_multiplier != 0.0
            || self.bot_wave.is_some()
            || self.path != VendorPath::Up
            || self.storm
            || self.answer_hold.is_some()
            || self.slots_held != 0
            || m.client_throttle_enabled
            || (m.breaker_enabled && !self.breaker.is_quiet())
            || self.cfg.seeded_bug.is_some()
            || !self.hpa.is_steady()
        {
            return 0;
        }
        let tick_us = self.cfg.tick_ms * 1_000;
        let until_sync = self
            .hpa
            .next_sync()
            .as_micros()
            .saturating_sub(first.as_micros())
            .div_ceil(tick_us) as usize;
        let mut k = max
            .min(at_most as usize)
            .min(self.retry_due.len() - 1)
            .min(until_sync + 1);
        // The deadlines' ring holds a client timeout's ticks: a span longer
        // than it finds every slot within its first `ring` ticks (what is
        // set during the span falls due after it).
        let ring = self.queue.len();
        for i in 0..k {
            let retry_slot = ring_add(self.retry_here, i, self.retry_due.len());
            let due = total(&self.retry_due[retry_slot]) != 0
                || (i < ring && {
                    let slot = ring_add(self.here, i, ring);
                    total(&self.timeouts_due[slot]) != 0
                        || self.unreachable_due[slot] != 0
                        || self.slot_release[slot] != 0
                });
            if due {
                k = i;
                break;
            }
        }
        if k < 2 {
            return 0;
        }
        let per_tick = self.span_arrivals_max(k) as f64 / k as f64 + 1.0;
        let dt = self.dt_s;
        let ready = self.hpa.ready();
        let cpu_capacity = f64::from(ready) * self.cfg.component.replica_capacity_rps * dt;
        let slots = u64::from(ready) * u64::from(self.cfg.component.replica_inflight_max);
        let share = self.vendor_share();
        let slot_budget = slots as f64 * dt / self.slot_cost_s(share);
        let (level, refill) = self.vendor_bucket.level_and_refill(dt);
        if per_tick > cpu_capacity.floor()
            || per_tick > slot_budget
            || level < 0.0
            || refill < per_tick * share + 2.0
        {
            return 0;
        }
        // The edge's limits pass everything (the heavy clients' share is
        // one rounding: at most one more).
        let heavy_max = per_tick * self.cfg.traffic.clients.legit_heavy_share_fraction + 1.0;
        if (m.global_cap_enabled && !self.global.grants_all(per_tick, k, dt))
            || (m.per_client_limit_enabled
                && !(self.per_client.admits_all(LEGIT_LIGHT, per_tick, k, dt)
                    && self.per_client.admits_all(LEGIT_HEAVY, heavy_max, k, dt)))
        {
            return 0;
        }
        k as u32
    }

    /// The most arrivals a span of `k` ticks draws: the mean at the peak of
    /// the day plus eight standard deviations and 20. A Poisson count
    /// beyond it (a chance below 10^-15) is cut to it.
    fn span_arrivals_max(&self, k: usize) -> u64 {
        let t = &self.cfg.traffic;
        let mean = t.legit_rps * (1.0 + t.diurnal_amplitude_fraction) * self.dt_s * k as f64;
        (mean + 8.0 * mean.sqrt() + 20.0) as u64
    }

    /// The share of requests that call the vendor.
    fn vendor_share(&self) -> f64 {
        if self.cfg.mitigations.caching_enabled {
            self.cfg.vendor.vendor_share_cached_fraction
        } else {
            self.cfg.vendor.vendor_share_uncached_fraction
        }
    }

    /// Advances the auth path by `k` quiet ticks at once, the first at
    /// `first`, as [`Self::quiet_span_ticks`] allowed: the span's arrivals
    /// are one Poisson count of the ticks' summed means, its vendor calls
    /// and slow calls one stochastic rounding each, spread evenly over the
    /// ticks (the first ticks take the remainder; the slow calls, rare,
    /// land on one tick drawn at random among the last client timeout's,
    /// so that their deadline falls after the span). Each tick then does what a quiet
    /// tick does with them: the vendor's bucket, the deadlines of slow
    /// calls, the latency percentiles, the breaker's, retry budget's and
    /// throttle's windows, the autoscaler's metric and sync.
    ///
    /// Exact: every count over the span (arrivals, calls, successes) has the
    /// distribution the ticks give, as has every state carried out of it.
    /// Approximate: how they spread over the span's ticks (evenly, where
    /// ticks would vary), hence a tick's latency percentiles and the
    /// autoscaler's per-tick metric; `tests.rs` bounds the difference.
    pub fn handle_quiet_span(&mut self, first: SimTime, k: u32, rng: &mut Stream) -> QuietSpan {
        let k = k as usize;
        debug_assert!(k >= 2 && self.quiet_span_ticks(first, k as u32) == k as u32);
        let dt = self.dt_s;
        let period = SimDuration::from_millis(self.cfg.tick_ms);
        let at = |i: usize| first + period * i as u64;
        let mut mean = 0.0;
        for i in 0..k {
            mean += self.legit_rate_at_tick_rps(at(i)) * dt;
        }
        // A sum of independent Poisson counts is one: means above the
        // tables' are drawn in parts that each have one (a span's mean is
        // a few hundred; `rand_distr`'s sampler, built per call, costs more
        // than the rest of the span).
        let part = f64::from(PoissonTables::TABLE_MEAN_MAX);
        let mut arrivals = 0;
        while mean > part {
            arrivals += self.poisson.sample(rng, part);
            mean -= part;
        }
        arrivals += self.poisson.sample(rng, mean);
        let arrivals = arrivals.min(self.span_arrivals_max(k));
        let share = self.vendor_share();
        let calls = sround(arrivals as f64 * share, rng).min(arrivals);
        let slow = sround(calls as f64 * self.latency.timeout_fraction(), rng).min(calls);
        // The slow calls land on a tick of the span's last client timeout,
        // so that their deadline falls after it (a span may be longer).
        let slow_tick = if slow > 0 {
            let last = k.min(self.timeout_ticks);
            k - last + rng.below(last as u64) as usize
        } else {
            k
        };
        debug_assert!(
            slow_tick + self.timeout_ticks >= k,
            "a deadline inside the span"
        );
        let ready = self.hpa.ready();
        let cpu_capacity = f64::from(ready) * self.cfg.component.replica_capacity_rps * dt;
        let ring = self.queue.len();
        let mut span = QuietSpan {
            ticks: k as u32,
            legit_attempts: arrivals,
            vendor_calls: calls,
            capacity_rps: f64::from(ready) * self.cfg.component.replica_capacity_rps,
            ..QuietSpan::default()
        };
        self.served_by_age.fill(0);
        self.served_after_wait = false;
        let spread = |n: u64, i: usize| n / k as u64 + u64::from((i as u64) < n % k as u64);
        let mut last_mix: Option<(LatencyMix, f64)> = None;
        for i in 0..k {
            let now = at(i);
            let here = self.here;
            let a = spread(arrivals, i);
            let c = spread(calls, i);
            // The slow calls of a tick with fewer calls are dropped (one
            // slow call in some 10^5 spans, on a tick without calls).
            let s = if i == slow_tick { slow.min(c) } else { 0 };
            let granted = self.vendor_bucket.grant(c, dt);
            debug_assert_eq!(granted, c, "the span's vendor refill covers its calls");
            if s > 0 {
                let deadline = ring_add(here, self.timeout_ticks, ring);
                self.timeouts_due[deadline][0] += s;
                self.slot_release[deadline] += s;
                self.slots_held += s;
            }
            let ok = a - s;
            span.legit_ok += ok;
            self.served_by_age[0] = a;
            let lat = LatencyMix {
                local: a - c,
                vendor: c - s,
                timeouts: 0,
            };
            // Nobody waits in a span, so the percentiles are a function of
            // the mix, and evenly spread ticks repeat theirs: the last one
            // is kept (the memo would give the same, at more cost).
            let p99 = match last_mix {
                Some((mix, p99)) if mix == lat => p99,
                _ => {
                    let (_, p99) = self.latency_percentiles_ms(&lat);
                    last_mix = Some((lat, p99));
                    p99
                }
            };
            span.latency_p99_ms_max = span.latency_p99_ms_max.max(p99);
            span.demand_rps_sum += a as f64 / dt;
            // The edge's limits pass everything (`quiet_span_ticks`); their
            // buckets move as a tick moves them.
            let m = &self.cfg.mitigations;
            if m.per_client_limit_enabled {
                let heavy = sround(
                    a as f64 * self.cfg.traffic.clients.legit_heavy_share_fraction,
                    rng,
                )
                .min(a);
                let passed = self.per_client.admit(LEGIT_LIGHT, a - heavy, dt)
                    + self.per_client.admit(LEGIT_HEAVY, heavy, dt);
                debug_assert_eq!(passed, a, "the span's clients are within their limits");
                self.per_client.admit(BOT_HEAVY, 0, dt);
                self.per_client.admit(BOT_LIGHT, 0, dt);
            }
            if m.global_cap_enabled {
                let granted = self.global.grant(a, dt);
                debug_assert_eq!(granted, a, "the span is within the global cap");
            }
            self.breaker.record(c - s, 0, now, &self.cfg.mitigations);
            self.retry_window.push(a, 0);
            self.throttle.record(a, ok);
            self.hpa.observe(a as f64, cpu_capacity);
            if let Some(sync) = self.hpa.sync_if_due(now) {
                span.hpa_sync = Some(sync);
            }
            self.tick_no += 1;
            self.here = ring_add(here, 1, ring);
            self.retry_here = ring_add(self.retry_here, 1, self.retry_due.len());
        }
        self.last_now = at(k - 1);
        span.replicas_ready = self.hpa.ready();
        span.replicas_total = self.hpa.total();
        span.replicas_pending = self.hpa.pending();
        span.nodes = self.hpa.nodes();
        let tot = &mut self.totals;
        tot.ticks += k as u64;
        tot.legit_fresh += arrivals;
        tot.legit_attempts += arrivals;
        tot.legit_ok += span.legit_ok;
        tot.vendor_calls += calls;
        span
    }

    /// Whether the next tick starts from nothing carried over: no crash to
    /// apply, nobody waiting, no retry and no deadline due, no bots. Then
    /// every group of requests in it is legitimate first attempts, which
    /// [`Self::quiet_tick`] follows as plain counts.
    fn next_tick_is_quiet(&self) -> bool {
        let (here, retry_here) = (self.here, self.retry_here);
        self.pending_crashes == 0
            && self.queue_total == 0
            && self.bot_multiplier == 0.0 // finite and >= 0 (set_bot_multiplier)
            && total(&self.retry_due[retry_here]) == 0
            && total(&self.timeouts_due[here]) == 0
            && self.unreachable_due[here] == 0
    }

    /// [`Self::busy_tick`] for a tick that [`Self::is_quiet`]: the same
    /// steps, the same draws in the same order and the same results, with
    /// each group of requests a single count (all legitimate first
    /// attempts) instead of counts per class. Nine ticks in ten are quiet,
    /// and this is about half the cost. The auth tests run every scenario
    /// through both and compare every tick, so the two cannot drift apart
    /// unseen; change them together.
    fn quiet_tick(&mut self, now: SimTime, retry_here: usize, rng: &mut Stream) -> AuthTick {
        let dt = self.dt_s;
        let ring = self.queue.len() as u64;
        let here = self.here;
        let deadline_slot = ring_add(here, self.timeout_ticks, ring as usize);
        let mut tick = AuthTick {
            at: now,
            ..AuthTick::default()
        };
        // Legitimate failures that may retry (all first attempts), vendor
        // 429s apart.
        let mut retryable = 0;
        let mut lat = LatencyMix::default();

        // 1. Pods: warm-ups end (no crash is pending).
        self.hpa.promote(now);

        // 2. Slots come back; no deadline is due.
        self.slots_held = self.slots_held.saturating_sub(self.slot_release[here]);
        self.slot_release[here] = 0;
        debug_assert_eq!(total(&self.retry_due[retry_here]), 0);

        // 3. Arrivals: fresh legitimate only.
        let legit_rate = self.legit_rate_at_tick_rps(now);
        let fresh = self.poisson.sample(rng, legit_rate * dt);
        let mut arrivals = fresh;

        // 4. Client-side adaptive throttling.
        let m = &self.cfg.mitigations;
        // With no attempt, the throttle rejects none and draws nothing.
        if m.client_throttle_enabled {
            let p = self.throttle.reject_probability(m.client_throttle_k);
            let n = sround(fresh as f64 * p, rng);
            take_one(&mut arrivals, n, rng);
            tick.legit_client_throttled = c32(n);
        }
        tick.demand_rps = arrivals as f64 / dt;

        // 5. Edge: per-client limit (bots: none), then the global cap.
        if self.cfg.mitigations.per_client_limit_enabled {
            let pop = &self.cfg.traffic.clients;
            let mut light = arrivals;
            let heavy_n = sround(light as f64 * pop.legit_heavy_share_fraction, rng);
            let mut heavy = take_one(&mut light, heavy_n, rng);
            let mut limited = 0;
            for (p, group) in [(LEGIT_LIGHT, &mut light), (LEGIT_HEAVY, &mut heavy)] {
                let want = *group;
                let passed = self.per_client.admit(p, want, dt);
                limited += take_one(group, want - passed, rng);
            }
            // The bot populations' buckets refill all the same.
            self.per_client.admit(BOT_HEAVY, 0, dt);
            self.per_client.admit(BOT_LIGHT, 0, dt);
            arrivals = light + heavy;
            tick.legit_client_limited = c32(limited);
            retryable += limited;
        }
        if self.cfg.mitigations.global_cap_enabled {
            let want = arrivals;
            let granted = self.global.grant(want, dt);
            let shed = take_one(&mut arrivals, want - granted, rng);
            tick.legit_shed_rate_limit = c32(shed);
            retryable += shed;
        }

        // 6. Nobody waited, so no cohort expires. 7. Enqueue.
        debug_assert_eq!(total(&self.queue[here]), 0, "queue slot reused early");
        self.queue_total = arrivals;
        let mut waiting = arrivals;

        // 8. Serve this tick's cohort, within the CPU and slot budgets.
        let Service {
            share,
            ready,
            cpu_capacity,
            n,
            bound_by_slots,
        } = self.service(0, rng);
        tick.served_bound_by_slots = bound_by_slots;
        self.served_by_age.fill(0);
        self.served_after_wait = false;
        let mut served = take_one(&mut waiting, n, rng);
        self.served_by_age[0] = served;
        self.queue_total -= n;

        // 9. Outcomes.
        let mut calls = take_one(&mut served, sround(n as f64 * share, rng), rng);
        tick.legit_ok = c32(served);
        lat.local += served;

        let want = calls;
        let allowed = self.breaker.allow(want, now, &self.cfg.mitigations);
        let open = take_one(&mut calls, want - allowed, rng);
        tick.legit_circuit_open = c32(open);
        retryable += open;
        lat.local += open;
        tick.vendor_calls = c32(calls);

        let lost_n = match self.path {
            VendorPath::Up => 0,
            VendorPath::Lossy(p) => sround(calls as f64 * p, rng),
            VendorPath::Blackholed => calls,
        };
        let mut deadline_bound = take_one(&mut calls, lost_n, rng);
        self.unreachable_due[deadline_slot] += deadline_bound;

        let reached = calls;
        let granted = if self.storm {
            self.vendor_bucket.grant(0, dt)
        } else {
            self.vendor_bucket.grant(reached, dt)
        };
        let rejected = take_one(&mut calls, reached - granted, rng);
        tick.vendor_429 = c32(rejected);
        tick.legit_vendor_429 = c32(rejected);
        lat.vendor += rejected;

        let slow_n = sround(granted as f64 * self.latency.timeout_fraction(), rng);
        deadline_bound += take_one(&mut calls, slow_n, rng);
        tick.legit_ok += c32(calls);
        lat.vendor += calls;
        let answered = calls + rejected;

        self.timeouts_due[deadline_slot][0] += deadline_bound;
        self.slot_release[deadline_slot] += deadline_bound;
        self.slots_held += deadline_bound;
        if let Some(hold) = self.answer_hold {
            let slot = ring_add(here, hold as usize, ring as usize);
            self.slot_release[slot] += answered;
            self.slots_held += answered;
        }

        // 10. Tail-drop what the bounded queue cannot keep.
        let over = self
            .queue_total
            .saturating_sub(self.cfg.component.queue_max_requests);
        let shed = take_one(&mut waiting, over, rng);
        self.queue_total -= shed;
        tick.legit_shed_queue_full = c32(shed);
        retryable += shed;
        self.queue[here][0] = waiting;

        let mut retryable_by_class = NONE;
        retryable_by_class[0] = retryable;
        let mut rejected_by_class = NONE;
        rejected_by_class[0] = rejected;
        self.close_tick(
            tick,
            TickEnd {
                retryable: retryable_by_class,
                retryable_429: rejected_by_class,
                fresh,
                retries: 0,
                legit_attempts: fresh,
                bots: 0,
                bot_ok: 0,
                bot_failed: 0,
                answered,
                served: n,
                cpu_capacity,
                ready,
                lat,
            },
            rng,
        )
    }

    /// Step 8's budget, quiet or busy: how many queued requests this tick
    /// serves, within the CPU (one draw: its stochastic rounding) and the
    /// free in-flight slots.
    /// `bots_waiting`: the automated requests in the queue (none on a
    /// quiet tick, which holds first attempts only).
    fn service(&self, bots_waiting: u64, rng: &mut Stream) -> Service {
        let dt = self.dt_s;
        let share = self.vendor_share();
        let ready = self.hpa.ready();
        let cpu_capacity = f64::from(ready) * self.cfg.component.replica_capacity_rps * dt;
        let cpu_budget = sround(cpu_capacity, rng);
        let slots = u64::from(ready) * u64::from(self.cfg.component.replica_inflight_max);
        let free_slot_s = slots.saturating_sub(self.slots_held) as f64 * dt;
        // Bots call the vendor in their own share: a queue holding them
        // costs the mix of the two in slot time.
        let mix_share = if bots_waiting == 0 {
            share
        } else {
            let legit_waiting = self.queue_total - bots_waiting;
            (legit_waiting as f64 * share
                + bots_waiting as f64 * self.cfg.vendor.bot_vendor_share_fraction)
                / self.queue_total as f64
        };
        let slot_budget = floor_u64(free_slot_s / self.slot_cost_s(mix_share));
        Service {
            share,
            ready,
            cpu_capacity,
            n: self.queue_total.min(cpu_budget).min(slot_budget),
            bound_by_slots: slot_budget < cpu_budget,
        }
    }

    /// One tick in general: requests of every class, whatever carried over.
    fn busy_tick(&mut self, now: SimTime, retry_here: usize, rng: &mut Stream) -> AuthTick {
        let dt = self.dt_s;
        let ring = self.queue.len() as u64;
        let here = self.here;
        let deadline_slot = ring_add(here, self.timeout_ticks, ring as usize);
        let mut tick = AuthTick {
            at: now,
            ..AuthTick::default()
        };
        // Legitimate failures that may retry, by attempt; vendor 429s apart
        // because their clients wait for the reset.
        let mut retryable = NONE;
        let mut retryable_429 = NONE;
        let mut bot_failed = 0;
        let mut lat = LatencyMix::default();

        // 1. Pods: warm-ups end, crashes land.
        self.hpa.promote(now);
        self.crash(now);

        // 2. Calls whose deadline is now: slots come back, timeouts report.
        self.slots_held = self.slots_held.saturating_sub(self.slot_release[here]);
        self.slot_release[here] = 0;
        let due = mem::replace(&mut self.timeouts_due[here], NONE);
        let unreachable = mem::take(&mut self.unreachable_due[here]);
        tick.legit_vendor_unreachable = c32(unreachable);
        tick.legit_vendor_timeout = c32(legit(&due) - unreachable);
        tick.vendor_timeouts = c32(total(&due));
        bot_failed += due[BOT];
        add_legit(&mut retryable, &due);
        lat.timeouts += legit(&due);

        // 3. Arrivals: fresh legitimate, due retries, bots.
        let legit_rate = self.legit_rate_at_tick_rps(now);
        let fresh = self.poisson.sample(rng, legit_rate * dt);
        let mut arrivals = mem::replace(&mut self.retry_due[retry_here], NONE);
        let retries = legit(&arrivals);
        arrivals[0] += fresh;
        let legit_attempts = fresh + retries;
        // A zero mean draws nothing (no bots, no draw).
        let bots = self
            .poisson
            .sample(rng, self.bot_multiplier * legit_rate * dt);

        // 4. Client-side adaptive throttling (legitimate clients only).
        let m = &self.cfg.mitigations;
        // With no attempt, the throttle rejects none and draws nothing.
        if m.client_throttle_enabled {
            let p = self.throttle.reject_probability(m.client_throttle_k);
            let n = sround(legit_attempts as f64 * p, rng);
            take(&mut arrivals, n, rng);
            tick.legit_client_throttled = c32(n);
        }
        arrivals[BOT] = bots;
        tick.demand_rps = total(&arrivals) as f64 / dt;

        // 5. Edge: per-client limit, then the global cap. The world splits
        //    the arrivals into the client populations they come from; the
        //    limiter judges each population by its clients' rates alone.
        if self.cfg.mitigations.per_client_limit_enabled {
            let limited = self.limit_per_client(&mut arrivals, rng);
            tick.legit_client_limited = c32(legit(&limited));
            tick.bot_client_limited = c32(limited[BOT]);
            bot_failed += limited[BOT];
            add_legit(&mut retryable, &limited);
        }
        if self.cfg.mitigations.global_cap_enabled {
            let want = total(&arrivals);
            let granted = self.global.grant(want, dt);
            let shed = take(&mut arrivals, want - granted, rng);
            tick.legit_shed_rate_limit = c32(legit(&shed));
            bot_failed += shed[BOT];
            add_legit(&mut retryable, &shed);
        }

        // 6. The cohort that has waited a whole client timeout is abandoned.
        let oldest = ring_add(here, 1, ring as usize);
        let expired = mem::replace(&mut self.queue[oldest], NONE);
        self.queue_total -= total(&expired);
        tick.legit_client_timeout = c32(legit(&expired));
        bot_failed += expired[BOT];
        add_legit(&mut retryable, &expired);
        lat.timeouts += legit(&expired);

        // 7. Enqueue this tick's admitted arrivals.
        debug_assert_eq!(total(&self.queue[here]), 0, "queue slot reused early");
        self.queue_total += total(&arrivals);
        self.queue[here] = arrivals;

        // 8. Serve oldest first, within the CPU and in-flight slot budgets.
        let Service {
            share,
            ready,
            cpu_capacity,
            n,
            bound_by_slots,
        } = self.service(self.queue.iter().map(|c| c[BOT]).sum(), rng);
        tick.served_bound_by_slots = bound_by_slots;
        let mut served = NONE;
        self.served_by_age.fill(0);
        self.served_after_wait = false;
        let mut left = n;
        let mut older = OlderCohorts::behind(self.queue_total, total(&self.queue[here]));
        for age in (0..self.timeout_ticks).rev() {
            if left == 0 {
                break;
            }
            if older.all_empty(age) {
                continue;
            }
            let idx = self.cohort(age);
            let waiting = total(&self.queue[idx]);
            if waiting == 0 {
                continue;
            }
            older.leave(age, waiting);
            let got = take(&mut self.queue[idx], left, rng);
            left -= total(&got);
            self.served_by_age[age] = legit(&got);
            self.served_after_wait |= served_after_waiting(age, self.served_by_age[age]);
            add(&mut served, &got);
        }
        debug_assert_eq!(left, 0, "served more than the queue held");
        self.queue_total -= n;

        // 9. Outcomes. Requests that need no vendor call succeed: each
        //    class calls the vendor in its own share (bots apart).
        let legit_calls = sround(legit(&served) as f64 * share, rng);
        let mut bot_served = mem::take(&mut served[BOT]);
        let bot_calls = sround(
            bot_served as f64 * self.cfg.vendor.bot_vendor_share_fraction,
            rng,
        );
        let mut calls = take(&mut served, legit_calls, rng);
        calls[BOT] = take_one(&mut bot_served, bot_calls, rng);
        served[BOT] = bot_served;
        tick.legit_ok = c32(legit(&served));
        let mut bot_ok = served[BOT];
        lat.local += legit(&served);

        // The breaker fails vendor-needing requests fast while open.
        let want = total(&calls);
        let allowed = self.breaker.allow(want, now, &self.cfg.mitigations);
        let open = take(&mut calls, want - allowed, rng);
        tick.legit_circuit_open = c32(legit(&open));
        bot_failed += open[BOT];
        add_legit(&mut retryable, &open);
        lat.local += legit(&open);
        tick.vendor_calls = c32(total(&calls));

        // Lost on the path: they hold a slot until the deadline.
        let lost_n = match self.path {
            VendorPath::Up => 0,
            VendorPath::Lossy(p) => sround(total(&calls) as f64 * p, rng),
            VendorPath::Blackholed => total(&calls),
        };
        let mut deadline_bound = take(&mut calls, lost_n, rng);
        self.unreachable_due[deadline_slot] += legit(&deadline_bound);

        // The vendor's bucket answers the rest, or 429.
        let reached = total(&calls);
        let granted = if self.storm {
            self.vendor_bucket.grant(0, dt)
        } else {
            self.vendor_bucket.grant(reached, dt)
        };
        let rejected = take(&mut calls, reached - granted, rng);
        tick.vendor_429 = c32(total(&rejected));
        tick.legit_vendor_429 = c32(legit(&rejected));
        bot_failed += rejected[BOT];
        add_legit(&mut retryable_429, &rejected);
        lat.vendor += legit(&rejected);

        // Answers slower than the deadline are timeouts too.
        let slow_n = sround(granted as f64 * self.latency.timeout_fraction(), rng);
        let slow = take(&mut calls, slow_n, rng);
        add(&mut deadline_bound, &slow);
        tick.legit_ok += c32(legit(&calls));
        bot_ok += calls[BOT];
        lat.vendor += legit(&calls);
        let answered = total(&calls) + total(&rejected);

        let bound = total(&deadline_bound);
        add(&mut self.timeouts_due[deadline_slot], &deadline_bound);
        self.slot_release[deadline_slot] += bound;
        self.slots_held += bound;
        // Answers slower than a tick (vendor slowdown) hold slots across ticks.
        if let Some(hold) = self.answer_hold {
            let slot = ring_add(here, hold as usize, ring as usize);
            self.slot_release[slot] += answered;
            self.slots_held += answered;
        }

        // 10. Tail-drop what the bounded queue cannot keep (newest first).
        let queue_max = self.cfg.component.queue_max_requests;
        let mut over = self.queue_total.saturating_sub(queue_max);
        for age in 0..self.timeout_ticks {
            if over == 0 {
                break;
            }
            let idx = self.cohort(age);
            let shed = take(&mut self.queue[idx], over, rng);
            over -= total(&shed);
            self.queue_total -= total(&shed);
            tick.legit_shed_queue_full += c32(legit(&shed));
            bot_failed += shed[BOT];
            add_legit(&mut retryable, &shed);
        }

        self.close_tick(
            tick,
            TickEnd {
                retryable,
                retryable_429,
                fresh,
                retries,
                legit_attempts,
                bots,
                bot_ok,
                bot_failed,
                answered,
                served: n,
                cpu_capacity,
                ready,
                lat,
            },
            rng,
        )
    }

    /// Steps 11 and 12 of a tick, quiet or busy: the feedback loops
    /// (breaker, retries, client throttle, autoscaler), then the report.
    fn close_tick(&mut self, mut tick: AuthTick, end: TickEnd, rng: &mut Stream) -> AuthTick {
        let now = tick.at;
        let TickEnd {
            retryable,
            retryable_429,
            fresh,
            retries,
            legit_attempts,
            bots,
            bot_ok,
            bot_failed,
            answered,
            served: n,
            cpu_capacity,
            ready,
            lat,
        } = end;
        // 11. Feedback loops: breaker, retries, client throttle, autoscaler.
        self.breaker.record(
            answered,
            u64::from(tick.vendor_timeouts),
            now,
            &self.cfg.mitigations,
        );
        let reset_s = if self.storm {
            self.storm_reset_s(now)
        } else {
            self.vendor_bucket.reset_s()
        };
        let (sched_a, dropped_a) = self.schedule_retries(&retryable, 0.0, fresh, 0, rng);
        let (sched_b, dropped_b) =
            self.schedule_retries(&retryable_429, reset_s, fresh, sched_a, rng);
        self.retry_window.push(fresh, sched_a + sched_b);
        self.throttle
            .record(legit_attempts, u64::from(tick.legit_ok));
        self.hpa.observe(n as f64, cpu_capacity);
        tick.hpa_sync = self.hpa.sync_if_due(now);

        // 12. Report.
        tick.legit_fresh = c32(fresh);
        tick.retries = c32(retries);
        tick.legit_attempts = c32(legit_attempts);
        tick.legit_abandoned = c32(dropped_a + dropped_b);
        tick.legit_failed = tick.legit_shed_rate_limit
            + tick.legit_client_limited
            + tick.legit_shed_queue_full
            + tick.legit_vendor_429
            + tick.legit_vendor_timeout
            + tick.legit_vendor_unreachable
            + tick.legit_circuit_open
            + tick.legit_client_timeout
            + tick.legit_client_throttled;
        tick.bot_attempts = c32(bots);
        tick.bot_ok = c32(bot_ok);
        tick.bot_failed = c32(bot_failed);
        (tick.latency_p50_ms, tick.latency_p99_ms) = self.latency_percentiles_ms(&lat);
        tick.latency_samples = c32(lat.local + lat.vendor + lat.timeouts);
        tick.replicas_ready = self.hpa.ready();
        tick.replicas_total = self.hpa.total();
        tick.replicas_pending = self.hpa.pending();
        tick.nodes = self.hpa.nodes();
        tick.queue_len = c32(self.queue_total);
        tick.slots_held = c32(self.slots_held);
        tick.capacity_rps = f64::from(ready) * self.cfg.component.replica_capacity_rps;
        tick.breaker = self.breaker.state();

        let tot = &mut self.totals;
        tot.ticks += 1;
        tot.legit_fresh += fresh;
        tot.legit_attempts += legit_attempts;
        tot.legit_ok += u64::from(tick.legit_ok);
        tot.legit_failed += u64::from(tick.legit_failed);
        tot.legit_abandoned += u64::from(tick.legit_abandoned);
        tot.bot_attempts += bots;
        tot.vendor_calls += u64::from(tick.vendor_calls);
        tot.vendor_429 += u64::from(tick.vendor_429);
        self.tick_no += 1;
        self.here = ring_add(self.here, 1, self.queue.len());
        self.retry_here = ring_add(self.retry_here, 1, self.retry_due.len());
        tick
    }

    /// Splits `arrivals` into the client populations they come from (the
    /// world's truth), lets each population through the per-client limiter,
    /// and returns what it limited. Retries of a limited request are split
    /// afresh next time, so a heavy client's retry may come back as a light
    /// one's: this slightly understates the collateral.
    fn limit_per_client(&mut self, arrivals: &mut Classes, rng: &mut Stream) -> Classes {
        let pop = &self.cfg.traffic.clients;
        let dt = self.dt_s;
        let bots = mem::take(&mut arrivals[BOT]);
        let mut light = *arrivals;
        let heavy_n = sround(legit(&light) as f64 * pop.legit_heavy_share_fraction, rng);
        let mut heavy = take(&mut light, heavy_n, rng);
        let bot_heavy = sround(bots as f64 * pop.bot_heavy_share_fraction, rng).min(bots);
        let bot_light = bots - bot_heavy;

        let mut limited = NONE;
        for (p, group) in [(LEGIT_LIGHT, &mut light), (LEGIT_HEAVY, &mut heavy)] {
            let want = total(group);
            let passed = self.per_client.admit(p, want, dt);
            add(&mut limited, &take(group, want - passed, rng));
        }
        let bot_passed = self.per_client.admit(BOT_HEAVY, bot_heavy, dt)
            + self.per_client.admit(BOT_LIGHT, bot_light, dt);
        limited[BOT] = bots - bot_passed;

        *arrivals = light;
        add(arrivals, &heavy);
        arrivals[BOT] = bot_passed;
        limited
    }

    /// Queue slot of the cohort that arrived `age` ticks ago.
    fn cohort(&self, age: usize) -> usize {
        let ring = self.queue.len();
        let here = self.here;
        if here >= age {
            here - age
        } else {
            here + ring - age
        }
    }

    /// Applies pending crashes: ready pods are lost and the slots their
    /// in-flight calls held go with them.
    fn crash(&mut self, now: SimTime) {
        if self.pending_crashes == 0 {
            return;
        }
        let before = self.hpa.ready();
        self.hpa.crash(mem::take(&mut self.pending_crashes), now);
        if before == 0 {
            return; // no ready pod, no call in flight
        }
        // A crash that hit warming pods only keeps every slot: scaling by
        // 1 is exact.
        let keep = f64::from(self.hpa.ready()) / f64::from(before);
        for r in &mut self.slot_release {
            *r = (*r as f64 * keep).floor() as u64;
        }
        self.slots_held = self.slot_release.iter().sum();
    }

    /// Expected slot-seconds a served request uses within this tick.
    fn slot_cost_s(&self, share: f64) -> f64 {
        let m = &self.cfg.mitigations;
        let calls_share = if m.breaker_enabled && self.breaker.state() == BreakerState::Open {
            0.0
        } else {
            share
        };
        let lost = match self.path {
            VendorPath::Up => 0.0,
            VendorPath::Lossy(p) => p,
            VendorPath::Blackholed => 1.0,
        };
        let q = self.latency.timeout_fraction();
        let answer_s = self.latency.mean_ms() / MS_PER_S;
        let vendor_s =
            lost * self.timeout_s + (1.0 - lost) * (q * self.timeout_s + (1.0 - q) * answer_s);
        (1.0 - calls_share) * self.local_s + calls_share * (self.local_s + vendor_s).min(self.dt_s)
    }

    /// Seconds from `now` to the end of the vendor's fixed storm window.
    fn storm_reset_s(&self, now: SimTime) -> f64 {
        let window = SimDuration::from_secs(self.cfg.vendor.vendor_storm_reset_window_s);
        let into = now.as_micros() % window.as_micros();
        SimDuration::from_micros(window.as_micros() - into).as_secs_f64()
    }

    /// Ticks an answered call holds its slot beyond this one, if any: a
    /// function of the vendor latency, so kept in `answer_hold` and worked
    /// out again when the latency changes.
    fn answer_hold_ticks(&self) -> Option<u64> {
        let hold_s = self.local_s + self.latency.mean_ms() / MS_PER_S;
        let ticks = (hold_s / self.dt_s).round() as u64;
        (ticks >= 1).then(|| ticks.min(self.timeout_ticks as u64))
    }

    /// Schedules retries of `failed` (legitimate, by attempt) no earlier than
    /// `min_delay_s`, within the attempt limit and the retry budget. Returns
    /// (scheduled, abandoned). `fresh` and `already` are this tick's fresh
    /// requests and retries scheduled so far (not yet in the window).
    #[inline(always)]
    fn schedule_retries(
        &mut self,
        failed: &Classes,
        min_delay_s: f64,
        fresh: u64,
        already: u64,
        rng: &mut Stream,
    ) -> (u64, u64) {
        // Most ticks fail nothing: nothing to schedule, abandon or draw.
        if legit(failed) == 0 {
            return (0, 0);
        }
        self.schedule_failed(failed, min_delay_s, fresh, already, rng)
    }

    /// [`Self::schedule_retries`] for a tick with legitimate failures.
    #[inline(never)]
    fn schedule_failed(
        &mut self,
        failed: &Classes,
        min_delay_s: f64,
        fresh: u64,
        already: u64,
        rng: &mut Stream,
    ) -> (u64, u64) {
        let t = &self.cfg.traffic;
        let last_retrying = t.retry_attempts_max as usize - 1;
        let mut eligible = NONE;
        eligible[..last_retrying].copy_from_slice(&failed[..last_retrying]);
        let mut abandoned = legit(failed) - total(&eligible);
        let want = total(&eligible);
        if want == 0 {
            return (0, abandoned);
        }
        let (fresh_w, retries_w) = self.retry_window.sums();
        let budget_f = (t.retry_ratio_max * (fresh_w + fresh) as f64).floor() as u64;
        let budget = budget_f.saturating_sub(retries_w + already);
        // Within the budget this takes nothing (and draws nothing).
        abandoned += total(&take(&mut eligible, want.saturating_sub(budget), rng));
        let ring = self.retry_due.len() as u64;
        let last_offset = ring - 1;
        let jitter = t.retry_jitter_fraction;
        let mut scheduled = 0;
        for (attempt_idx, &count) in eligible[..BOT].iter().enumerate() {
            if count == 0 {
                continue;
            }
            let backoff_ms = (t.retry_backoff_base_ms as f64
                * t.retry_backoff_factor.powi(attempt_idx as i32))
            .min(t.retry_backoff_max_ms as f64);
            let delay_s = (backoff_ms / MS_PER_S).max(min_delay_s);
            // Jitter spreads the wait, but a client never retries before the
            // reset it was given.
            let reset_ticks = (min_delay_s / self.dt_s).ceil() as u64;
            let lo = ((delay_s * (1.0 - jitter) / self.dt_s).round() as u64)
                .max(reset_ticks)
                .clamp(1, last_offset);
            let hi = ((delay_s * (1.0 + jitter) / self.dt_s).round() as u64).clamp(lo, last_offset);
            // Spread evenly over lo..=hi (all on `lo` without jitter: the
            // synchronised wave). The `rem` retries left over go to `rem`
            // ticks in a row, wrapping round, from a random one: tick k
            // takes one when k turned by a random offset is below `rem`.
            // (Turned forward, not back: `(k + span - start) % span` gave
            // the same distribution, and so did its mutant `+ start`.) A
            // remainder needs two ticks or more (count % 1 is 0), so a
            // one-tick spread draws nothing either.
            let span = hi - lo + 1;
            let (each, rem) = (count / span, count % span);
            let turn = if rem > 0 { rng.below(span) } else { 0 };
            for k in 0..span {
                let extra = u64::from((k + turn) % span < rem);
                let slot = ((self.tick_no + lo + k) % ring) as usize;
                self.retry_due[slot][attempt_idx + 1] += each + extra;
            }
            scheduled += count;
        }
        (scheduled, abandoned)
    }

    /// The p50 and p99 of legitimate latency this tick, in ms.
    fn latency_percentiles_ms(&mut self, lat: &LatencyMix) -> (f64, f64) {
        if self.served_after_wait {
            return (
                self.latency_quantile_ms(P50, lat),
                self.latency_quantile_ms(P99, lat),
            );
        }
        if let Some(known) = self.latency_memo.get(lat) {
            return known;
        }
        let (p50, p99) = (
            self.latency_quantile_ms(P50, lat),
            self.latency_quantile_ms(P99, lat),
        );
        self.latency_memo.put(*lat, p50, p99);
        (p50, p99)
    }

    /// The `p` quantile of legitimate latency this tick, in ms.
    fn latency_quantile_ms(&self, p: f64, lat: &LatencyMix) -> f64 {
        let answered = lat.local + lat.vendor;
        let all = answered + lat.timeouts;
        let timeout_ms = self.timeout_s * MS_PER_S;
        if all == 0 {
            return 0.0;
        }
        let rank = p * all as f64;
        if rank > answered as f64 {
            return timeout_ms;
        }
        // Quantile level among the answered requests.
        let q = rank / answered as f64;
        // The wait at level q among the served requests by age (nobody
        // served: the first age, no wait, at once).
        let waited: u64 = self.served_by_age.iter().sum();
        let target = q * waited as f64;
        let mut wait_ms = 0.0;
        let mut cum = 0;
        for (age, &c) in self.served_by_age.iter().enumerate() {
            cum += c;
            if cum as f64 >= target {
                wait_ms = age as f64 * self.dt_s * MS_PER_S;
                break;
            }
        }
        let s = lat.vendor as f64 / answered as f64;
        let vendor_ms = if q > 1.0 - s {
            self.latency.quantile_ms((q - (1.0 - s)) / s)
        } else {
            0.0
        };
        (wait_ms + self.local_s * MS_PER_S + vendor_ms).min(timeout_ms)
    }
}

/// `(slot + k) % ring` for `slot < ring` and `k < ring`, without a
/// division (a tick takes several ring slots).
#[inline(always)]
fn ring_add(slot: usize, k: usize, ring: usize) -> usize {
    debug_assert!(slot < ring && k < ring);
    let s = slot + k;
    if s >= ring {
        s - ring
    } else {
        s
    }
}

/// Per-tick counts fit a `u32` by orders of magnitude; saturate rather than
/// wrap if a scenario ever says otherwise.
fn c32(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// The requests still waiting in cohorts older than this tick's, as the
/// busy tick's oldest-first walk goes. Usually none: then every older
/// cohort is empty, and the walk goes straight to age 0. A shortcut only:
/// taking from an empty cohort draws nothing, so walking them gives the
/// same result (a mutant that skips less is equivalent, and excluded in
/// `.cargo/mutants.toml`; one that skips more serves too few and fails the
/// auth tests).
struct OlderCohorts(u64);

impl OlderCohorts {
    /// The queue's `queued` requests, of which `this_tick` arrived now.
    fn behind(queued: u64, this_tick: u64) -> Self {
        OlderCohorts(queued - this_tick)
    }

    /// Whether every cohort of `age` ticks and older is empty.
    fn all_empty(&self, age: usize) -> bool {
        age > 0 && self.0 == 0
    }

    /// The walk reached the cohort of `age`, holding `waiting` requests.
    fn leave(&mut self, age: usize, waiting: u64) {
        if age > 0 {
            self.0 -= waiting;
        }
    }
}

/// Whether legitimate requests served from the cohort of `age` ticks had
/// waited: their latency then depends on the wait, and the latency memo
/// (keyed by the outcome mix alone) must not answer. Saying so when it is
/// not needed only recomputes the same percentiles (those mutants are
/// equivalent and excluded); not saying so when it is recalls a wrong one,
/// which the auth tests' memo-against-afresh comparison catches.
fn served_after_waiting(age: usize, served_legit: u64) -> bool {
    age > 0 && served_legit > 0
}
