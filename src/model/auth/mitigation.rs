//! Stateful mitigations: client-side adaptive throttling and the circuit
//! breaker on vendor calls. (The edge rate limits are plain token buckets,
//! see [`super::vendor::TokenBucket`].)

use cascade_sim::{SimDuration, SimTime};

use super::config::MitigationConfig;
use super::counts::Window;

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
