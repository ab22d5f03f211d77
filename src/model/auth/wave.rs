//! Automated traffic that rises and falls: a bot surge shaped as a wave
//! over its duration instead of a step. A step function only ever asks the
//! autoscaler to grow once and shrink once; a wave makes it scale down in
//! every trough and up at every crest, which is what exercises its
//! stabilisation windows, its scale-up policy and the node pool's churn.
//!
//! The shape is a pure function of the time since the wave started (no
//! draw): the same wave gives the same multiplier at the same instant, so
//! a run stays a function of its seed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the bot multiplier moves within one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaveShape {
    /// The peak for the first `duty` of each period, then nothing.
    Square,
    /// From nothing up to the peak at mid-period and back (a raised cosine).
    Sine,
    /// Short spikes: the first `duty` of each period at a height between
    /// half the peak and the peak (a different one each period, fixed by
    /// `salt`), nothing in between.
    Bursts,
}

/// A bot surge shaped as a wave (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BotWave {
    pub shape: WaveShape,
    /// The highest multiple of legitimate traffic the wave reaches.
    pub peak: f64,
    /// Length of one period, in seconds (> 0).
    pub period_s: f64,
    /// Share of a period at the peak (square) or spiking (bursts), in (0, 1].
    pub duty: f64,
    /// Picks the bursts' heights; every value is as good as another.
    pub salt: u64,
}

impl BotWave {
    /// The bot multiplier `since_s` seconds after the wave started.
    pub fn multiplier_at(&self, since_s: f64) -> f64 {
        let since_s = since_s.max(0.0);
        let cycle = (since_s / self.period_s).floor();
        let phase = since_s / self.period_s - cycle;
        match self.shape {
            WaveShape::Square if phase < self.duty => self.peak,
            WaveShape::Sine => self.peak * (1.0 - (std::f64::consts::TAU * phase).cos()) / 2.0,
            WaveShape::Bursts if phase < self.duty => {
                let h = mix64(self.salt ^ (cycle as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                // Top 53 bits as a fraction in [0, 1).
                let u = (h >> 11) as f64 / (1u64 << 53) as f64;
                self.peak * (0.5 + 0.5 * u)
            }
            _ => 0.0,
        }
    }
}

/// SplitMix64's finaliser: a fixed, well-mixed hash of one word.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
