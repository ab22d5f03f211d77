//! Stateful mitigations: client-side adaptive throttling, the circuit
//! breaker on vendor calls, and the edge's per-client limiter. (The global
//! cap is a plain [`super::vendor::TokenBucket`].) Each acts on what it can
//! observe: the throttle on accepts, the breaker on timeouts, the limiter on
//! client identities and their rates.

use cascade_sim::{SimDuration, SimTime};

use super::config::MitigationConfig;
use super::counts::Window;
use super::vendor::TokenBucket;

/// Google SRE client-side throttling over a sliding window of ticks.
#[derive(Clone, Debug)]
pub struct AdaptiveThrottle {
    /// (requests, accepts) per tick.
    window: Window,
}

impl AdaptiveThrottle {
    pub fn new(window_ticks: usize) -> Self {
        AdaptiveThrottle {
            window: Window::new(window_ticks),
        }
    }

    /// max(0, (requests − K·accepts) / (requests + 1)) over the window.
    pub fn reject_probability(&self, k: f64) -> f64 {
        let (requests, accepts) = self.window.sums();
        let r = requests as f64;
        ((r - k * accepts as f64) / (r + 1.0)).max(0.0)
    }

    /// One tick: requests the clients attempted (locally rejected included)
    /// and how many the backend accepted.
    pub fn record(&mut self, requests: u64, accepts: u64) {
        self.window.push(requests, accepts);
    }

    pub fn window_len(&self) -> usize {
        self.window.len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BreakerState {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

/// A count-window circuit breaker. Failures are vendor timeouts and lost
/// calls, reported when the caller's deadline passes; a 429 is an answer
/// (the vendor is reachable, it is backpressure) and counts as a success.
#[derive(Clone, Debug)]
pub struct Breaker {
    state: BreakerState,
    open_until: SimTime,
    probes_sent: u64,
    probes_answered: u64,
    /// (calls completed, failures) per tick.
    window: Window,
}

impl Breaker {
    pub fn new(window_ticks: usize) -> Self {
        Breaker {
            state: BreakerState::Closed,
            open_until: SimTime::ZERO,
            probes_sent: 0,
            probes_answered: 0,
            window: Window::new(window_ticks),
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Closed with no failure in its window: calls that all succeed keep
    /// it closed (a success can open it only by bringing the window up to
    /// its minimum of calls beside failures already there).
    pub fn is_quiet(&self) -> bool {
        self.state == BreakerState::Closed && self.window.sums().1 == 0
    }

    /// How many of `want` vendor calls may go out this tick.
    pub fn allow(&mut self, want: u64, now: SimTime, m: &MitigationConfig) -> u64 {
        if !m.breaker_enabled {
            return want;
        }
        if self.state == BreakerState::Open && now >= self.open_until {
            self.state = BreakerState::HalfOpen;
            self.probes_sent = 0;
            self.probes_answered = 0;
        }
        match self.state {
            BreakerState::Closed => want,
            BreakerState::Open => 0,
            BreakerState::HalfOpen => {
                let probes = want.min(m.breaker_probe_calls.saturating_sub(self.probes_sent));
                self.probes_sent += probes;
                probes
            }
        }
    }

    /// One tick's completed calls: `answered` (ok or 429) and `failed`
    /// (timed out or lost).
    pub fn record(&mut self, answered: u64, failed: u64, now: SimTime, m: &MitigationConfig) {
        self.window.push(answered + failed, failed);
        if !m.breaker_enabled {
            self.state = BreakerState::Closed;
            return;
        }
        match self.state {
            BreakerState::Closed => {
                let (calls, failures) = self.window.sums();
                if calls >= m.breaker_calls_min
                    && failures as f64 >= m.breaker_open_error_fraction * calls as f64
                {
                    self.open(now, m);
                }
            }
            BreakerState::HalfOpen => {
                // Only probes are in flight while half-open (the cool-down
                // outlasts the client timeout), so any failure is a probe's.
                if failed > 0 {
                    self.open(now, m);
                } else {
                    self.probes_answered += answered;
                    if self.probes_answered >= m.breaker_probe_calls {
                        self.state = BreakerState::Closed;
                        self.window.clear();
                    }
                }
            }
            BreakerState::Open => {}
        }
    }

    fn open(&mut self, now: SimTime, m: &MitigationConfig) {
        self.state = BreakerState::Open;
        self.open_until = now + SimDuration::from_secs(m.breaker_cooldown_s);
    }
}

/// Client populations the edge sees, in a fixed order: light legitimate
/// clients, heavy legitimate clients, heavy automated sources, the light
/// automated tail. The order is the world's bookkeeping; the limiter treats
/// every population alike.
pub const POPULATIONS: usize = 4;

/// Per-client token buckets at the edge, keyed on the client (client id,
/// token or source-address bucket). A population of `n` clients that send
/// at equal rates, each limited to `r` req/s with burst `b`, behaves as one
/// bucket of `n·r` with burst `n·b` (a fluid approximation: exact when its
/// clients send evenly). The limiter sees how many clients a population has
/// and how many requests they send, never whether they are legitimate.
#[derive(Clone, Debug)]
pub struct PerClientLimiter {
    clients: [u32; POPULATIONS],
    buckets: [TokenBucket; POPULATIONS],
}

impl PerClientLimiter {
    pub fn new(clients: [u32; POPULATIONS], m: &MitigationConfig) -> Self {
        let bucket = |n: u32| {
            TokenBucket::new(
                m.per_client_limit_rps * f64::from(n),
                m.per_client_burst_requests * f64::from(n),
            )
        };
        PerClientLimiter {
            clients,
            buckets: clients.map(bucket),
        }
    }

    /// New per-client rate and burst; bucket levels are kept.
    pub fn set_limits(&mut self, m: &MitigationConfig) {
        for (b, &n) in self.buckets.iter_mut().zip(&self.clients) {
            b.set_limits(
                m.per_client_limit_rps * f64::from(n),
                m.per_client_burst_requests * f64::from(n),
            );
        }
    }

    /// Whether population `p`'s clients pass in full for `ticks` ticks
    /// of at most `want_max` requests each ([`TokenBucket::grants_all`]).
    pub fn admits_all(&self, p: usize, want_max: f64, ticks: usize, dt_s: f64) -> bool {
        self.buckets[p].grants_all(want_max, ticks, dt_s)
    }

    /// Admits up to `requests` sent this tick by population `p`'s clients;
    /// returns how many pass.
    pub fn admit(&mut self, p: usize, requests: u64, dt_s: f64) -> u64 {
        self.buckets[p].grant(requests, dt_s)
    }
}
