//! Seeded random streams.
//!
//! One root seed decides a run. Each component asks for its own stream with
//! [`Seed::fork`]`(kind, id)`; the stream's ChaCha key is derived only from
//! (root seed, kind, id), so adding a component, an agent or a draw somewhere
//! else never shifts anyone else's numbers. Distributions the model needs are
//! methods on [`Stream`], so call sites read as `rng.lognormal(median, p99)`.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Normal, Poisson};

/// The root seed of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seed(pub u64);

/// SplitMix64's finaliser: a strong, cheap 64-bit mixer.
pub const fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of a component kind name (FNV-1a then mixed); stable
/// across platforms and compiler versions, unlike `std`'s `DefaultHasher`.
pub const fn kind_hash(kind: &str) -> u64 {
    let bytes = kind.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    mix64(h)
}

impl Seed {
    /// An independent stream for component `kind` number `id`.
    pub fn fork(self, kind: &str, id: u64) -> Stream {
        let k = kind_hash(kind);
        let mut key = [0u8; 32];
        let words = [
            mix64(self.0 ^ k),
            mix64(self.0.rotate_left(17) ^ id ^ k.rotate_left(31)),
            mix64(id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.0),
            mix64(k ^ id.rotate_left(29) ^ 0x5EED),
        ];
        for (chunk, w) in key.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        Stream {
            rng: ChaCha8Rng::from_seed(key),
        }
    }

    /// A counter-based stream for component `kind` number `id`: draw `n`
    /// is a pure function of (seed, kind, id, n), so any draw can be read
    /// without the ones before it.
    pub fn keyed(self, kind: &str, id: u64) -> Keyed {
        self.keyed_family(kind).member(id)
    }

    /// The counter-based streams of every component of kind `kind`, with
    /// the kind's hash taken once: `keyed_family(kind).member(id)` is
    /// `keyed(kind, id)`, for call sites that pick a member per draw.
    pub fn keyed_family(self, kind: &str) -> KeyedFamily {
        KeyedFamily(self.0 ^ kind_hash(kind))
    }

    /// A derived seed (e.g. for a sub-run of a chaos sweep).
    pub fn derive(self, kind: &str, id: u64) -> Seed {
        Seed(mix64(self.0 ^ kind_hash(kind) ^ mix64(id)))
    }
}

/// z such that P(N(0,1) <= z) = 0.99.
pub const Z_P99: f64 = 2.326_347_874_040_841;

/// Parameters (mu, sigma) of a lognormal with the given median and 99th percentile.
pub fn lognormal_params(median: f64, p99: f64) -> (f64, f64) {
    assert!(
        median > 0.0 && p99 >= median,
        "lognormal needs 0 < median <= p99, got median {median}, p99 {p99}"
    );
    (median.ln(), (p99 / median).ln() / Z_P99)
}

/// A lognormal given by its median and p99, its parameters computed once
/// (per-draw call sites would otherwise take two logarithms per draw).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lognormal {
    mu: f64,
    sigma: f64,
}

impl Lognormal {
    pub fn from_median_p99(median: f64, p99: f64) -> Lognormal {
        let (mu, sigma) = lognormal_params(median, p99);
        Lognormal { mu, sigma }
    }

    /// The value at standard-normal quantile `z`.
    #[inline]
    pub fn at_z(self, z: f64) -> f64 {
        (self.mu + self.sigma * z).exp()
    }
}

/// The counter-based streams of one component kind (see [`Seed::keyed_family`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyedFamily(u64);

impl KeyedFamily {
    /// Component `id`'s stream: the same as `Seed::keyed(kind, id)`.
    #[inline]
    pub fn member(self, id: u64) -> Keyed {
        Keyed(mix64(self.0 ^ mix64(id)))
    }
}

/// A counter-based random stream: draw `n` is SplitMix64's output at
/// position `n` of the key, a pure function of (key, n). The fleet driver
/// reads per-poll draws (an agent's poll jitter, a round trip) by the
/// poll's number or time, so it can skip quiet polls and still land on the
/// draws a run that stepped every poll would have made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyed(pub u64);

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Keyed {
    /// Draw `n` as 64 random bits.
    #[inline]
    pub fn u64_at(self, n: u64) -> u64 {
        mix64(self.0.wrapping_add(n.wrapping_mul(GAMMA)))
    }

    /// Draw `n`, uniform in [0, 1) (53 bits).
    #[inline]
    pub fn unit_at(self, n: u64) -> f64 {
        (self.u64_at(n) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Draw `n` from a standard normal: the inverse normal distribution
    /// function at the draw's uniform, taken at the middle of its 2⁻⁵³
    /// cell so that it lies in (0, 1). One draw and, for 85 % of draws, no
    /// transcendental function (Box–Muller takes two draws, a logarithm, a
    /// square root and a cosine).
    #[inline]
    pub fn normal_at(self, n: u64) -> f64 {
        let u = ((self.u64_at(n) >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
        inverse_normal_cdf(u)
    }

    /// Draw `n` from a lognormal.
    #[inline]
    pub fn lognormal_at(self, n: u64, shape: Lognormal) -> f64 {
        shape.at_z(self.normal_at(n))
    }
}

/// The standard normal quantile function, Wichura's algorithm AS 241
/// (PPND16, Applied Statistics 37 (1988) 477–484): rational approximations
/// with a relative error below 1e-16 over (0, 1). `p` must lie in (0, 1).
// The coefficients are the published ones, digit for digit.
#[allow(clippy::excessive_precision)]
pub fn inverse_normal_cdf(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q
            * (((((((2_509.080_928_730_122_7 * r + 33_430.575_583_588_128) * r
                + 67_265.770_927_008_700)
                * r
                + 45_921.953_931_549_871)
                * r
                + 13_731.693_765_509_461)
                * r
                + 1_971.590_950_306_551_3)
                * r
                + 133.141_667_891_784_38)
                * r
                + 3.387_132_872_796_366_5)
            / (((((((5_226.495_278_852_545_4 * r + 28_729.085_735_721_943) * r
                + 39_307.895_800_092_710)
                * r
                + 21_213.794_301_586_595)
                * r
                + 5_394.196_021_424_751_1)
                * r
                + 687.187_007_492_057_91)
                * r
                + 42.313_330_701_600_911)
                * r
                + 1.0);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let z = if r <= 5.0 {
        let r = r - 1.6;
        (((((((7.745_450_142_783_414_1e-4 * r + 0.022_723_844_989_269_184) * r
            + 0.241_780_725_177_450_61)
            * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691_4)
            * r
            + 4.630_337_846_156_545_3)
            * r
            + 1.423_437_110_749_683_5)
            / (((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_344_9e-4) * r
                + 0.015_198_666_563_616_457)
                * r
                + 0.148_103_976_427_480_07)
                * r
                + 0.689_767_334_985_100_0)
                * r
                + 1.676_384_830_183_803_8)
                * r
                + 2.053_191_626_637_758_8)
                * r
                + 1.0)
    } else {
        let r = r - 5.0;
        (((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r
            + 0.001_242_660_947_388_078_4)
            * r
            + 0.026_532_189_526_576_123)
            * r
            + 0.296_560_571_828_504_89)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114_4)
            * r
            + 6.657_904_643_501_103_8)
            / (((((((2.044_263_103_389_939_7e-15 * r + 1.421_511_758_316_446_0e-7) * r
                + 1.846_318_317_510_054_8e-5)
                * r
                + 7.868_691_311_456_132_6e-4)
                * r
                + 0.014_875_361_290_850_615)
                * r
                + 0.136_929_880_922_735_81)
                * r
                + 0.599_832_206_555_887_94)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -z
    } else {
        z
    }
}

/// One component's random stream with the model's distributions.
#[derive(Clone, Debug)]
pub struct Stream {
    rng: ChaCha8Rng,
}

impl Stream {
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// Uniform integer in [0, n); `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.random_range(0..n)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// `base * (1 ± fraction)`, uniformly: poll jitter.
    pub fn jitter(&mut self, base: f64, fraction: f64) -> f64 {
        base * (1.0 + fraction * (2.0 * self.unit() - 1.0))
    }

    pub fn bernoulli(&mut self, p: f64) -> bool {
        p >= 1.0 || (p > 0.0 && self.unit() < p)
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        Exp::new(1.0 / mean)
            .expect("positive rate")
            .sample(&mut self.rng)
    }

    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        Normal::new(mean, sd.max(0.0))
            .expect("finite normal parameters")
            .sample(&mut self.rng)
    }

    /// Lognormal described the way operators talk about latency: median and p99.
    pub fn lognormal(&mut self, median: f64, p99: f64) -> f64 {
        let (mu, sigma) = lognormal_params(median, p99);
        (mu + sigma * self.normal(0.0, 1.0)).exp()
    }

    /// Poisson count with mean `lambda` (0 for a non-positive mean).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 || lambda.is_nan() {
            return 0;
        }
        Poisson::new(lambda)
            .expect("positive mean")
            .sample(&mut self.rng) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_kinds_differ() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(7).fork("agent", 3), |s, _| Some(s.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(7).fork("agent", 3), |s, _| Some(s.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(7).fork("agent", 4), |s, _| Some(s.next_u64()))
            .collect();
        let d: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(7).fork("vendor", 3), |s, _| Some(s.next_u64()))
            .collect();
        let e: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(8).fork("agent", 3), |s, _| Some(s.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_ne!(a, e);
    }

    #[test]
    fn the_inverse_normal_cdf_gives_known_quantiles() {
        // Published quantiles of N(0, 1), one or more in each of AS 241's
        // three regions (central, r <= 5, r > 5), both signs.
        let known = [
            (0.5, 0.0),
            (0.3, -0.524_400_512_708_041),
            (0.9, 1.281_551_565_544_601),
            (0.975, 1.959_963_984_540_054),
            (0.99, Z_P99),
            (1e-3, -3.090_232_306_167_813),
            (1e-10, -6.361_340_902_404_056),
            (1e-20, -9.262_340_089_798_408),
        ];
        for (p, z) in known {
            let got = inverse_normal_cdf(p);
            assert!(
                (got - z).abs() <= 1e-12 * z.abs().max(1.0),
                "p {p}: {got}, not {z}"
            );
            if p >= 1e-3 {
                // (1 - p is exact enough to test the upper side here.)
                let upper = inverse_normal_cdf(1.0 - p);
                assert!((upper + got).abs() < 1e-12, "p {p}: {upper} against {got}");
            }
        }
    }

    #[test]
    fn keyed_draws_are_pure_functions_of_key_and_counter() {
        let k = Seed(7).keyed("agent-polls", 3);
        assert_eq!(k.u64_at(41), Seed(7).keyed("agent-polls", 3).u64_at(41));
        assert_ne!(k.u64_at(41), k.u64_at(42));
        assert_ne!(k.u64_at(41), Seed(7).keyed("agent-polls", 4).u64_at(41));
        // Uniform enough: the mean of 100,000 draws is within 0.005 of 1/2,
        // and a standard normal's mean and variance come out near 0 and 1.
        let n = 100_000;
        let mean = (0..n).map(|i| k.unit_at(i)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        let z: Vec<f64> = (0..n).map(|i| k.normal_at(i)).collect();
        let m = z.iter().sum::<f64>() / n as f64;
        let v = z.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(
            m.abs() < 0.02 && (v - 1.0).abs() < 0.02,
            "mean {m}, variance {v}"
        );
        let l = k.lognormal_at(5, Lognormal::from_median_p99(40.0, 200.0));
        assert!(l > 0.0 && l.is_finite());
        assert_eq!(
            Seed(7).keyed_family("agent-polls").member(3),
            k,
            "a family's member is the keyed stream"
        );
    }
}
