//! Request counts per traffic class, and the fixed-size rings the tick loop
//! keeps them in.
//!
//! A class is "legitimate, attempt k" (k = 1..=ATTEMPTS_LIMIT) or "bot".
//! Legitimate requests carry their attempt number so that a failure knows
//! whether the retry budget allows another attempt; bots do not retry
//! (their rate is set by the driver and already includes whatever they do).
//! Splitting a group of counts is proportional with stochastic rounding, so
//! fractions survive at small counts and totals are exact.

use cascade_sim::Stream;

/// Upper bound of `retry_attempts_max`: fixes the size of [`Classes`].
pub const ATTEMPTS_LIMIT: usize = 8;
/// Index of the bot class in [`Classes`].
pub const BOT: usize = ATTEMPTS_LIMIT;
/// Number of classes: one per legitimate attempt number, plus bots.
pub const CLASSES: usize = ATTEMPTS_LIMIT + 1;

/// Counts per class: `[legit attempt 1, …, legit attempt 8, bot]`.
pub type Classes = [u64; CLASSES];
pub const NONE: Classes = [0; CLASSES];
// `total` and `legit` spell the classes out.
const _: () = assert!(CLASSES == 9 && BOT == 8);

// The helpers below run dozens of times a tick on arrays that were just
// written one element at a time; spelled out with constant indices they
// stay in scalar registers (as iterator chains they became vector loads of
// freshly stored elements, about a fifth of the tick).
#[inline(always)]
pub fn total(c: &Classes) -> u64 {
    c[0] + c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7] + c[8]
}

#[inline(always)]
pub fn legit(c: &Classes) -> u64 {
    c[0] + c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7]
}

#[inline(always)]
pub fn add(dst: &mut Classes, src: &Classes) {
    for i in 0..CLASSES {
        dst[i] += src[i];
    }
}

/// Adds only the legitimate classes of `src`.
#[inline(always)]
pub fn add_legit(dst: &mut Classes, src: &Classes) {
    for i in 0..BOT {
        dst[i] += src[i];
    }
}

/// 2^53: every `f64` from here up is a whole number.
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;

/// `x as u64` (truncation, 0 below 0 and for NaN, saturating above), below
/// 2^53 through the signed cast: one instruction where the unsigned one is
/// about ten on x86-64, which converts signed integers only.
#[inline(always)]
pub fn floor_u64(x: f64) -> u64 {
    if x < TWO_POW_53 {
        (x as i64).max(0) as u64
    } else {
        x as u64
    }
}

/// `x` rounded down or up at random so that the expectation is `x`.
pub fn sround(x: f64, rng: &mut Stream) -> u64 {
    if x <= 0.0 {
        return 0;
    }
    if x < TWO_POW_53 {
        // `x.floor()` without a libm call (the default x86-64 target has no
        // rounding instruction; this runs several times a tick): for
        // 0 < x < 2^53 the cast truncates, which is the floor, and back in
        // f64 it is exact. The signed cast is one instruction each way
        // where the unsigned one is about ten (x86-64 converts signed
        // integers only): the same values, a twentieth of the tick's
        // instructions fewer (callgrind, issue 31).
        let whole = x as i64;
        let frac = x - whole as f64;
        return whole as u64 + u64::from(frac > 0.0 && rng.unit() < frac);
    }
    // Every float from 2^53 up is whole (the cast saturates past u64); NaN
    // is 0. No draw, as before.
    x as u64
}

/// Removes `n` requests from `src` in proportion to its classes and returns
/// them. Each class gets its conditional share, stochastically rounded and
/// clamped so that the total taken is exactly `n` (at most `total(src)`).
///
/// A tick calls this about ten times, mostly to take nothing or everything;
/// those two cases draw nothing and are answered inline, the split itself is
/// out of line.
#[inline(always)]
pub fn take(src: &mut Classes, n: u64, rng: &mut Stream) -> Classes {
    if n == 0 {
        return NONE;
    }
    let rest_total = total(src);
    if n >= rest_total {
        return std::mem::replace(src, NONE);
    }
    split(src, n, rest_total, rng)
}

/// The proportional split of [`take`] for `0 < want < rest_total`.
#[inline(never)]
fn split(src: &mut Classes, mut want: u64, mut rest_total: u64, rng: &mut Stream) -> Classes {
    let mut out = NONE;
    for (s, o) in src.iter_mut().zip(out.iter_mut()) {
        if want == 0 {
            break;
        }
        if *s == 0 {
            continue;
        }
        let others = rest_total - *s;
        let lo = want.saturating_sub(others);
        let hi = want.min(*s);
        let share = want as f64 * (*s as f64) / rest_total as f64;
        let t = sround(share, rng).clamp(lo, hi);
        rest_total -= *s;
        *s -= t;
        *o = t;
        want -= t;
    }
    out
}

/// [`take`] from a group whose requests are all in one class, as a count:
/// removes `n` (at most all) from `have` and returns it, with the draws
/// `take` makes. The split of a single class draws only when `n · have`
/// passes 2^53 and the share stops being whole; the clamp keeps `n` then.
#[inline(always)]
pub fn take_one(have: &mut u64, n: u64, rng: &mut Stream) -> u64 {
    if n == 0 {
        return 0;
    }
    if n >= *have {
        return std::mem::take(have);
    }
    let share = n as f64 * (*have as f64) / *have as f64;
    sround(share, rng);
    *have -= n;
    n
}

/// Sums of two counters over a sliding window of ticks, kept incrementally.
#[derive(Clone, Debug)]
pub struct Window {
    ring: Vec<(u64, u64)>,
    head: usize,
    sum: (u64, u64),
}

impl Window {
    pub fn new(ticks: usize) -> Self {
        Window {
            ring: vec![(0, 0); ticks.max(1)],
            head: 0,
            sum: (0, 0),
        }
    }

    /// Adds one tick's pair, dropping the pair that falls out of the window.
    pub fn push(&mut self, a: u64, b: u64) {
        let old = std::mem::replace(&mut self.ring[self.head], (a, b));
        self.sum.0 = self.sum.0 - old.0 + a;
        self.sum.1 = self.sum.1 - old.1 + b;
        self.head += 1;
        if self.head == self.ring.len() {
            self.head = 0;
        }
    }

    /// Sums over the window: (first counter, second counter).
    pub fn sums(&self) -> (u64, u64) {
        self.sum
    }

    pub fn clear(&mut self) {
        self.ring.fill((0, 0));
        self.sum = (0, 0);
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::Seed;

    #[test]
    fn take_is_exact_and_proportional() {
        let mut rng = Seed(1).fork("counts", 0);
        let mut taken_first = 0;
        for _ in 0..1_000 {
            let mut src = NONE;
            src[0] = 30;
            src[1] = 10;
            src[BOT] = 60;
            let t = take(&mut src, 50, &mut rng);
            assert_eq!(total(&t), 50);
            assert_eq!(total(&src), 50);
            taken_first += t[0];
        }
        // 30 % of 50 on average.
        assert!((14_500..=15_500).contains(&taken_first), "{taken_first}");
    }

    #[test]
    fn window_sums_slide() {
        let mut w = Window::new(3);
        for i in 1..=5 {
            w.push(i, 1);
        }
        assert_eq!(w.sums(), (3 + 4 + 5, 3));
    }
}
