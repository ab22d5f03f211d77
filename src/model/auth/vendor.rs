//! The vendor side: reachability of the path, the token bucket that answers
//! 429, and the lognormal latency with its quantiles.

use super::counts::floor_u64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The network path from the auth component to the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VendorPath {
    Up,
    /// Each call is lost (and times out) with this probability.
    Lossy(f64),
    /// Every call is lost: the Azure outage of E1.
    Blackholed,
}

/// A token bucket evaluated once per tick.
///
/// Within a tick of length `dt` a continuously refilled bucket can grant at
/// most its level at the tick start plus `rate·dt` (requests spread over the
/// tick use tokens as they arrive), and never holds more than `burst`.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    level: f64,
    rate_per_s: f64,
    burst: f64,
}

impl TokenBucket {
    pub fn new(rate_per_s: f64, burst: f64) -> Self {
        TokenBucket {
            level: burst,
            rate_per_s,
            burst,
        }
    }

    /// Grants up to `want` tokens this tick; returns how many.
    pub fn grant(&mut self, want: u64, dt_s: f64) -> u64 {
        let available = self.level + self.rate_per_s * dt_s;
        // The floor (and 0 below 0) without a libm call.
        let granted = want.min(floor_u64(available));
        self.level = (available - granted as f64).min(self.burst);
        granted
    }

    /// Whether `ticks` grants of at most `want_max` each, one a tick of
    /// `dt_s`, are all granted in full, with a token to spare for
    /// rounding: the level may drain by what the ticks take beyond the
    /// refill, and must still cover the last.
    pub fn grants_all(&self, want_max: f64, ticks: usize, dt_s: f64) -> bool {
        let refill = self.rate_per_s * dt_s;
        let drain = (want_max - refill).max(0.0);
        self.level - ticks.saturating_sub(1) as f64 * drain + refill - want_max >= 1.0
    }

    /// Tokens at the start of the next grant, and what a tick of `dt_s`
    /// adds: a grant of at most `refill` never drops the level.
    pub fn level_and_refill(&self, dt_s: f64) -> (f64, f64) {
        (self.level, self.rate_per_s * dt_s)
    }

    /// Seconds until the next token, as a 429's reset header would say.
    pub fn reset_s(&self) -> f64 {
        ((1.0 - self.level) / self.rate_per_s).max(0.0)
    }

    /// New rate and burst (runtime mitigation change); the level is kept.
    pub fn set_limits(&mut self, rate_per_s: f64, burst: f64) {
        self.rate_per_s = rate_per_s;
        self.burst = burst;
        self.level = self.level.min(burst);
    }
}

/// Vendor latency: lognormal from median and p99, scaled by a slowdown
/// factor, cut by the call timeout. The derived figures are cached because
/// they change only when the slowdown does.
#[derive(Clone, Debug)]
pub struct VendorLatency {
    median_ms: f64,
    sigma: f64,
    timeout_ms: f64,
    slowdown: f64,
    /// P(latency > timeout) at the current slowdown.
    timeout_fraction: f64,
    /// Mean latency of the calls that answer, in ms (capped at the timeout).
    mean_ms: f64,
}

impl VendorLatency {
    pub fn new(median_ms: f64, p99_ms: f64, timeout_ms: f64) -> Self {
        let (_, sigma) = cascade_sim::rng::lognormal_params(median_ms, p99_ms);
        let mut v = VendorLatency {
            median_ms,
            sigma,
            timeout_ms,
            slowdown: 1.0,
            timeout_fraction: 0.0,
            mean_ms: 0.0,
        };
        v.set_slowdown(1.0);
        v
    }

    pub fn set_slowdown(&mut self, k: f64) {
        self.slowdown = k;
        let median = self.median_ms * k;
        let z = (self.timeout_ms / median).ln() / self.sigma;
        self.timeout_fraction = 1.0 - normal_cdf(z);
        // Lognormal mean is median·exp(σ²/2).
        self.mean_ms = (median * (self.sigma * self.sigma / 2.0).exp()).min(self.timeout_ms);
    }

    pub fn timeout_fraction(&self) -> f64 {
        self.timeout_fraction
    }

    pub fn mean_ms(&self) -> f64 {
        self.mean_ms
    }

    /// The `u`-quantile (0 < u < 1) of latency in ms, capped at the timeout.
    pub fn quantile_ms(&self, u: f64) -> f64 {
        let z = inverse_normal_cdf(u.clamp(U_MIN, 1.0 - U_MIN));
        (self.median_ms * self.slowdown * (self.sigma * z).exp()).min(self.timeout_ms)
    }
}

/// Probability bounds for quantile look-ups: the normal quantile is infinite
/// at 0 and 1.
const U_MIN: f64 = 1e-9;

/// Standard normal CDF via erfc (Numerical Recipes' `erfcc`, Chebyshev
/// fit, fractional error < 1.2e-7 everywhere).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Coefficients of the Chebyshev fit (Numerical Recipes, 2nd ed., §6.2).
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = C.iter().rev().fold(0.0, |acc, c| c + t * acc);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Standard normal quantile (Acklam's rational approximation, relative
/// error < 1.15e-9), for 0 < p < 1.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    // Break-points between the tail and central approximations.
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_match_tables() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(cascade_sim::rng::Z_P99) - 0.99).abs() < 1e-6);
        assert!((inverse_normal_cdf(0.99) - cascade_sim::rng::Z_P99).abs() < 1e-6);
        assert!((inverse_normal_cdf(0.001) + 3.090_232).abs() < 1e-5);
    }

    #[test]
    fn latency_quantiles_follow_the_parameters() {
        let v = VendorLatency::new(120.0, 600.0, 10_000.0);
        assert!((v.quantile_ms(0.5) - 120.0).abs() < 1e-6);
        assert!((v.quantile_ms(0.99) - 600.0).abs() < 1e-3);
        assert!(v.timeout_fraction() < 1e-9);
        let mut slow = v.clone();
        // ×50: median 6 s, so P(> 10 s) = 1 − Φ(ln(10/6)/σ) ≈ 0.23.
        slow.set_slowdown(50.0);
        assert!(
            (slow.timeout_fraction() - 0.23).abs() < 0.01,
            "{}",
            slow.timeout_fraction()
        );
    }

    #[test]
    fn bucket_grants_level_plus_refill() {
        let mut b = TokenBucket::new(100.0, 100.0);
        assert_eq!(b.grant(300, 1.0), 200);
        assert_eq!(b.grant(300, 1.0), 100);
        assert_eq!(b.grant(50, 1.0), 50);
        // 50 left over, capped at the burst next tick.
        assert_eq!(b.grant(0, 1.0), 0);
        assert_eq!(b.grant(1_000, 1.0), 200);
    }
}
