//! Poisson counts by table lookup: the auth path's arrivals, drawn every
//! simulated second.
//!
//! `rand_distr`'s sampler is built for one-off means: below 12 it multiplies
//! λ + 1 uniforms (Knuth), above it runs a rejection loop with a log-gamma
//! per try. The auth path asks for a new mean every tick (a diurnal curve
//! times a bot multiplier), so neither a per-mean table nor the one-off
//! samplers suit it. [`PoissonTables`] splits the mean: λ = n + δ with n an
//! integer and 0 ≤ δ < 1, and a Poisson(λ) count is a Poisson(n) count plus
//! an independent Poisson(δ) count (sums of independent Poisson variables
//! are Poisson). The Poisson(n) part is one uniform looked up in a
//! cumulative table built once per n and kept; the Poisson(δ) part is one
//! uniform and a short inversion (its mean is below 1, so it is 0 two times
//! in five or more). Two uniforms, one `exp`, no loop that depends on λ.
//!
//! Tables are kept for n up to [`PoissonTables::TABLE_MEAN_MAX`]; larger
//! means go to `rand_distr`'s rejection sampler, whose cost does not grow
//! with λ. Memory is bounded: at most that many tables, each about
//! 20·√n + 40 entries.

use crate::rng::Stream;

/// Cumulative tables of Poisson(n) for integer n, built when first asked for.
#[derive(Clone, Debug, Default)]
pub struct PoissonTables {
    /// `tables[n]`: the table of Poisson(n), if built.
    tables: Vec<Option<Table>>,
}

/// One mean's cumulative distribution with a guide for the search.
#[derive(Clone, Debug)]
struct Table {
    /// The smallest count with any mass kept (below it, mass < 1e-20).
    first: u32,
    /// `cdf[i]` = P(X ≤ first + i), the last entry exactly 1.
    cdf: Box<[f64]>,
    /// `guide[j]`: the first index i with `cdf[i] > j / guide.len()`, so a
    /// search for u starts at `guide[⌊u · len⌋]` and moves a step or two.
    guide: Box<[u32]>,
}

/// Mass below which the table's tails are cut, far under the 2⁻⁵³
/// resolution of a uniform draw.
const TAIL_MASS: f64 = 1e-20;

impl Table {
    fn new(n: u32) -> Table {
        // Weights relative to the mode (pmf(n) = pmf(n-1)), by the ratio
        // pmf(k) / pmf(k-1) = n / k in both directions: no exp(-n), which
        // underflows past n = 745, and no log-gamma.
        let mean = f64::from(n);
        let mut upper = vec![1.0f64];
        let mut k = n;
        let mut w = 1.0;
        loop {
            k += 1;
            w *= mean / f64::from(k);
            if w < TAIL_MASS {
                break;
            }
            upper.push(w);
        }
        let mut lower = Vec::new();
        let mut k = n;
        let mut w = 1.0;
        while k > 0 {
            w *= f64::from(k) / mean;
            k -= 1;
            if w < TAIL_MASS {
                break;
            }
            lower.push(w);
        }
        let first = n - lower.len() as u32;
        let weights: Vec<f64> = lower.into_iter().rev().chain(upper).collect();
        let total: f64 = weights.iter().sum();
        let mut cdf = Vec::with_capacity(weights.len());
        let mut acc = 0.0;
        for w in &weights {
            acc += w;
            cdf.push(acc / total);
        }
        *cdf.last_mut().expect("the mode is always kept") = 1.0;
        let len = cdf.len();
        let mut guide = Vec::with_capacity(len);
        let mut i = 0usize;
        for j in 0..len {
            let at = j as f64 / len as f64;
            while cdf[i] <= at {
                i += 1;
            }
            guide.push(i as u32);
        }
        Table {
            first,
            cdf: cdf.into_boxed_slice(),
            guide: guide.into_boxed_slice(),
        }
    }

    /// The count for a uniform `u` in [0, 1): the smallest k with P(X ≤ k) > u.
    #[inline]
    fn count(&self, u: f64) -> u64 {
        let len = self.cdf.len();
        // 0 <= u * len < len: through i64, one instruction where the
        // unsigned cast is about ten on x86-64 (the same value).
        let mut i = self.guide[((u * len as f64) as i64 as usize).min(len - 1)] as usize;
        // The last entry is 1 > u: the scan stops inside the table.
        while self.cdf[i] <= u {
            i += 1;
        }
        u64::from(self.first) + i as u64
    }
}

impl PoissonTables {
    /// Means whose integer part is above this go to `rand_distr`.
    pub const TABLE_MEAN_MAX: u32 = 256;

    /// A Poisson count with mean `lambda` (0 for a non-positive or NaN
    /// mean). Draws two uniforms from `rng` when `lambda` ≤
    /// [`Self::TABLE_MEAN_MAX`] + 1 (one when it is below 1 or an integer).
    pub fn sample(&mut self, rng: &mut Stream, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        // floor(λ) > 256 exactly when λ ≥ 257; below, the cast truncates a
        // positive λ, which is its floor (without a libm `floor` call: the
        // default x86-64 target has no rounding instruction).
        if lambda >= f64::from(Self::TABLE_MEAN_MAX + 1) {
            return rng.poisson(lambda);
        }
        let n = lambda as u32;
        let whole = f64::from(n);
        let mut count = 0;
        if n > 0 {
            let at = n as usize;
            if self.tables.len() <= at {
                self.tables.resize(at + 1, None);
            }
            let table = self.tables[at].get_or_insert_with(|| Table::new(n));
            count += table.count(rng.unit());
        }
        let rest = lambda - whole;
        if rest > 0.0 {
            count += small_mean_count(rest, rng.unit());
        }
        count
    }
}

/// Poisson(δ) for 0 < δ < 1 by inversion of one uniform: the count stops
/// at the first k whose cumulative probability passes `u`.
fn small_mean_count(mean: f64, u: f64) -> u64 {
    // e^-δ >= 1 - δ: below that bound the count is 0 without the `exp`
    // (the same answer the loop gives, for a fraction 1 - δ of draws).
    if u < 1.0 - mean {
        return 0;
    }
    let mut k = 0u64;
    let mut p = (-mean).exp();
    let mut cdf = p;
    // The mass past k = 30 at δ < 1 is below 1e-32: the cap only guards
    // against a cumulative sum that rounds short of u near 1.
    while cdf <= u && k < 30 {
        k += 1;
        p *= mean / k as f64;
        cdf += p;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;

    /// ln P(X = k) for X ~ Poisson(λ), by summing logs (test use only).
    fn ln_pmf(lambda: f64, k: u64) -> f64 {
        let ln_fact: f64 = (1..=k).map(|i| (i as f64).ln()).sum();
        -lambda + k as f64 * lambda.ln() - ln_fact
    }

    /// Draw 200,000 counts and compare them with the exact distribution:
    /// the mean and variance within 1.5 %, and a chi-square over the cells
    /// with an expected count of at least 20 below the 0.999 quantile of
    /// its degrees of freedom (Wilson–Hilferty).
    fn poisson_fit(
        lambda: f64,
        mut draw: impl FnMut(&mut PoissonTables, &mut Stream) -> u64,
    ) -> Result<(), String> {
        let mut tables = PoissonTables::default();
        let mut rng = Seed(11).fork("poisson-test", lambda.to_bits());
        let n = 200_000u64;
        let mut seen = std::collections::BTreeMap::<u64, u64>::new();
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..n {
            let k = draw(&mut tables, &mut rng);
            *seen.entry(k).or_default() += 1;
            sum += k as f64;
            sum_sq += (k * k) as f64;
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        if (mean / lambda - 1.0).abs() >= 0.015 || (var / lambda - 1.0).abs() >= 0.015 {
            return Err(format!("λ {lambda}: mean {mean}, variance {var}"));
        }
        let (mut chi2, mut cells, mut rest_seen, mut rest_expected) = (0.0, 0u32, 0.0, 0.0);
        let top = (lambda + 10.0 * lambda.sqrt() + 20.0) as u64;
        for k in 0..=top {
            let expected = n as f64 * ln_pmf(lambda, k).exp();
            let got = seen.get(&k).copied().unwrap_or(0) as f64;
            if expected >= 20.0 {
                chi2 += (got - expected).powi(2) / expected;
                cells += 1;
            } else {
                rest_seen += got;
                rest_expected += expected;
            }
        }
        let tail: u64 = seen.range(top + 1..).map(|(_, c)| c).sum();
        rest_seen += tail as f64;
        if rest_expected >= 20.0 {
            chi2 += (rest_seen - rest_expected).powi(2) / rest_expected;
            cells += 1;
        }
        let df = f64::from(cells - 1);
        let z = 3.09; // the 0.999 quantile of N(0, 1)
        let bound = df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3);
        if chi2 >= bound {
            return Err(format!(
                "λ {lambda}: chi-square {chi2:.1} over {df} df, bound {bound:.1}"
            ));
        }
        Ok(())
    }

    #[test]
    fn counts_follow_the_poisson_law_below_at_and_above_the_table_range() {
        for lambda in [0.05, 0.7, 1.0, 3.3, 11.9, 20.0, 27.45, 143.2, 256.5, 900.0] {
            let fit = poisson_fit(lambda, |t, rng| t.sample(rng, lambda));
            assert_eq!(fit, Ok(()));
        }
    }

    #[test]
    fn the_fit_check_catches_small_slips() {
        // The check above can fail: a sampler that drops a small fractional
        // part (0.3 of 20.3) fails it, and so does one whose table is cut
        // one entry short at the top.
        let dropped = poisson_fit(20.3, |t, rng| t.sample(rng, 20.0));
        assert!(dropped.is_err(), "{dropped:?}");
        let cut = poisson_fit(4.0, |t, rng| t.sample(rng, 4.0).min(9));
        assert!(cut.is_err(), "{cut:?}");
    }

    #[test]
    fn tables_span_the_mass_and_are_kept() {
        let t = Table::new(1000);
        assert_eq!(*t.cdf.last().unwrap(), 1.0);
        assert!(t.first > 650 && t.first < 750, "first {}", t.first);
        assert!(t.cdf.len() < 20 * 32 + 40, "len {}", t.cdf.len());
        assert_eq!(Table::new(1).first, 0);
        let mut tables = PoissonTables::default();
        let mut rng = Seed(1).fork("poisson-test", 2);
        assert_eq!(tables.sample(&mut rng, 0.0), 0);
        assert_eq!(tables.sample(&mut rng, f64::NAN), 0);
        tables.sample(&mut rng, 20.5);
        assert_eq!(tables.tables.iter().flatten().count(), 1);
        tables.sample(&mut rng, 20.9);
        assert_eq!(tables.tables.iter().flatten().count(), 1);
        tables.sample(&mut rng, 5000.0);
        assert_eq!(tables.tables.len(), 21, "large means build no table");
    }
}
