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
        Keyed(self.derive(kind, id).0)
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

    /// Draw `n` from a standard normal (Box-Muller on draws 2n and 2n + 1).
    pub fn normal_at(self, n: u64) -> f64 {
        // 1 - unit is in (0, 1]: the logarithm stays finite.
        let u1 = 1.0 - self.unit_at(n.wrapping_mul(2));
        let u2 = self.unit_at(n.wrapping_mul(2).wrapping_add(1));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Draw `n` from a lognormal given by its median and p99.
    pub fn lognormal_at(self, n: u64, median: f64, p99: f64) -> f64 {
        let (mu, sigma) = lognormal_params(median, p99);
        (mu + sigma * self.normal_at(n)).exp()
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
        let l = k.lognormal_at(5, 40.0, 200.0);
        assert!(l > 0.0 && l.is_finite());
    }
}
