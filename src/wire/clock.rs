//! The runtime's clock mapped onto the scenario's calendar.
//!
//! Under turmoil every host runs a paused tokio runtime that the simulation
//! advances tick by tick, so `tokio::time::Instant` is simulated time: the
//! wire tier's clock is `origin + elapsed` and reads no wall clock at all.
//! The live tier runs on a real runtime, where the same clock reads the
//! (monotonic) wall clock, optionally sped up by an integer `scale` so that
//! minutes of the model pass in a fraction of a second.

use cascade_sim::{SimDuration, SimTime};
use std::time::Duration;
use tokio::time::Instant;

/// Maps runtime instants to scenario time and back.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: SimTime,
    start: Instant,
    scale: u32,
}

impl Clock {
    /// A clock that reads `origin` now and advances `scale` times faster than
    /// the runtime's time (1 under turmoil).
    pub fn start(origin: SimTime, scale: u32) -> Clock {
        assert!(scale >= 1, "clock scale must be at least 1");
        Clock {
            origin,
            // Allowed: under turmoil this is the paused, simulated runtime
            // clock; in the live tier reading the wall clock is the point.
            #[allow(clippy::disallowed_methods)]
            start: Instant::now(),
            scale,
        }
    }

    /// Scenario time now.
    pub fn now(&self) -> SimTime {
        #[allow(clippy::disallowed_methods)] // see `start`
        let elapsed = Instant::now().saturating_duration_since(self.start);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.origin + SimDuration::from_micros(us.saturating_mul(self.scale as u64))
    }

    /// The runtime instant at which scenario time reaches `t` (never before `t`).
    pub fn instant_of(&self, t: SimTime) -> Instant {
        let us = t.saturating_since(self.origin).as_micros();
        self.start + Duration::from_micros(us.div_ceil(self.scale as u64))
    }

    /// A scenario duration in runtime time.
    pub fn runtime_duration(&self, d: SimDuration) -> Duration {
        Duration::from_micros(d.as_micros().div_ceil(self.scale as u64))
    }

    /// Sleeps until scenario time `t`.
    pub async fn sleep_until(&self, t: SimTime) {
        tokio::time::sleep_until(self.instant_of(t)).await;
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }
}
