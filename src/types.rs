//! Domain vocabulary beyond the wire protocol: clouds, environments, and
//! the validation helpers of the config sections.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Display;

/// Cloud of a cluster's data plane (the control plane is always in Azure).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Gcp, Cloud::Azure];
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }
}

/// An index (or a count such as a day number) below `u32::MAX`, or none,
/// in 4 bytes where `Option<usize>` takes 16 and `Option<u32>` 8: the
/// per-cluster books keep several, and at a million clusters every byte
/// is a megabyte.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Index32(u32);

impl Index32 {
    pub const NONE: Index32 = Index32(u32::MAX);

    /// `i`, which must be below `u32::MAX`.
    pub fn of(i: usize) -> Index32 {
        match u32::try_from(i) {
            Ok(i) if i != u32::MAX => Index32(i),
            _ => panic!("index {i} does not fit below u32::MAX"),
        }
    }
    pub fn get(self) -> Option<usize> {
        (self != Index32::NONE).then_some(self.0 as usize)
    }
    /// The index, leaving none.
    pub fn take(&mut self) -> Option<usize> {
        std::mem::take(self).get()
    }
}

impl Default for Index32 {
    fn default() -> Self {
        Index32::NONE
    }
}

impl std::fmt::Debug for Index32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Deployment environment.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Staging,
    Prod,
}

impl Env {
    pub fn name(self) -> &'static str {
        match self {
            Env::Staging => "staging",
            Env::Prod => "prod",
        }
    }
}

/// Overrides a scenario may take at once (command line or paired variant).
pub const OVERRIDES_MAX: usize = 64;

/// How a cluster got its pools back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RestoreMethod {
    Manual,
    Script,
    /// The agent itself (alive, only non-system pools lost).
    Agent,
}

impl RestoreMethod {
    /// Stable name in summaries (`manual`).
    pub fn name(self) -> &'static str {
        match self {
            RestoreMethod::Manual => "manual",
            RestoreMethod::Script => "script",
            RestoreMethod::Agent => "agent",
        }
    }
}

// ----- validation -------------------------------------------------------
//
// Every config section's `validate()` speaks one dialect, made here:
// `field: expected <what>, found <value>`, the field relative to the
// section (`ModelConfig::validate` prefixes `model.<section>.`; see
// [`in_section`]). A bound is a number or a named one, `("backoff_cap_s",
// 600.0)`, read as `backoff_cap_s (600)`. Every check of a float rejects
// NaN and the infinities.

/// A number a config field holds: an integer or a float.
pub trait Num: Copy + PartialOrd + Display {
    const ZERO: Self;
    /// False for NaN and the infinities.
    fn is_finite(self) -> bool;
    /// The number as a bound reads in a message: whole numbers with
    /// thousands separators (`1,000`), other floats as they print.
    fn bound(self) -> String;
    /// The value found, as a message shows it: as it prints, but a float
    /// far from 1 in exponent form (`1e300`, not three hundred digits).
    fn found(self) -> String;
}

/// `digits` (an optional `-` and ASCII digits) with a comma every three
/// digits from the right.
fn thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let mut out = String::from(sign);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

macro_rules! num_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0;
            fn is_finite(self) -> bool {
                true
            }
            fn bound(self) -> String {
                thousands(&self.to_string())
            }
            fn found(self) -> String {
                self.to_string()
            }
        }
    )*};
}
num_int!(u8, u16, u32, u64, usize, i32, i64);

impl Num for f64 {
    const ZERO: Self = 0.0;
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn found(self) -> String {
        let a = self.abs();
        if a.is_finite() && (a >= 1e15 || (a != 0.0 && a < 1e-6)) {
            format!("{self:e}")
        } else {
            self.to_string()
        }
    }
    fn bound(self) -> String {
        if self.fract() == 0.0 && self.abs() < 1e15 {
            thousands(&format!("{self:.0}"))
        } else {
            self.to_string()
        }
    }
}

/// A bound of a check: a number (`64`), or a named one (`("ack_median_day_min",
/// 15.0)`: another field, or a unit such as `("7 days", 604_800)`).
pub trait Limit<T> {
    fn value(&self) -> T;
    /// How the bound reads in a message: `64`, `ack_median_day_min (15)`.
    fn describe(&self) -> String;
}

impl<T: Num> Limit<T> for T {
    fn value(&self) -> T {
        *self
    }
    fn describe(&self) -> String {
        self.bound()
    }
}

impl<T: Num> Limit<T> for (&str, T) {
    fn value(&self) -> T {
        self.1
    }
    fn describe(&self) -> String {
        format!("{} ({})", self.0, self.1.bound())
    }
}

/// The root of the family: `Err("field: expected <expected>, found <found>")`
/// unless `ok`. For a rule no other helper states.
pub fn expect(
    ok: bool,
    field: &str,
    expected: impl Display,
    found: impl Display,
) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{field}: expected {expected}, found {found}"))
    }
}

/// `v` must be a finite number above zero.
pub fn check_positive<T: Num>(field: &str, v: T) -> Result<(), String> {
    expect(
        v.is_finite() && v > T::ZERO,
        field,
        "a positive number",
        v.found(),
    )
}

/// `v` must be a fraction in [0, 1].
pub fn check_ratio(field: &str, v: f64) -> Result<(), String> {
    expect(
        (0.0..=1.0).contains(&v),
        field,
        "a fraction in [0, 1]",
        v.found(),
    )
}

/// `v` must lie in [`lo`, `hi`]: `expected 1 to 64`.
pub fn check_range<T: Num>(
    field: &str,
    v: T,
    lo: impl Limit<T>,
    hi: impl Limit<T>,
) -> Result<(), String> {
    let ok = v.is_finite() && v >= lo.value() && v <= hi.value();
    expect(
        ok,
        field,
        format!("{} to {}", lo.describe(), hi.describe()),
        v.found(),
    )
}

/// `v` must be at least `lo`: `expected at least 1`.
pub fn check_at_least<T: Num>(field: &str, v: T, lo: impl Limit<T>) -> Result<(), String> {
    let ok = v.is_finite() && v >= lo.value();
    expect(ok, field, format!("at least {}", lo.describe()), v.found())
}

/// `v` must be at most `hi`: `expected at most 1,000`.
pub fn check_at_most<T: Num>(field: &str, v: T, hi: impl Limit<T>) -> Result<(), String> {
    let ok = v.is_finite() && v <= hi.value();
    expect(ok, field, format!("at most {}", hi.describe()), v.found())
}

/// `v` must be above `lo`: `expected above request_local_ms (100)`.
pub fn check_above<T: Num>(field: &str, v: T, lo: impl Limit<T>) -> Result<(), String> {
    let ok = v.is_finite() && v > lo.value();
    expect(ok, field, format!("above {}", lo.describe()), v.found())
}

/// `v` must be below `hi`: `expected below 1`.
pub fn check_below<T: Num>(field: &str, v: T, hi: impl Limit<T>) -> Result<(), String> {
    let ok = v.is_finite() && v < hi.value();
    expect(ok, field, format!("below {}", hi.describe()), v.found())
}

/// A nested section's message, `field: …`, as its parent's:
/// `section.field: …`.
pub fn in_section(section: &str, checked: Result<(), String>) -> Result<(), String> {
    checked.map_err(|e| format!("{section}.{e}"))
}

/// The night hours (UTC): when customers are slower to notice a broken
/// cluster and on-call engineers are woken by a page. One definition for
/// every model that cares (monitoring's customer reports, the operators'
/// acknowledgement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NightHours {
    /// \[A] First night hour (22:00).
    pub start_hour: u32,
    /// \[A] First day hour after the night (07:00); the night wraps past
    /// midnight when it is below `start_hour`, and is empty when equal.
    pub end_hour: u32,
}

impl Default for NightHours {
    fn default() -> Self {
        NightHours {
            start_hour: 22,
            end_hour: 7,
        }
    }
}

impl NightHours {
    pub fn validate(&self) -> Result<(), String> {
        check_range("start_hour", self.start_hour, 0, 23)?;
        check_range("end_hour", self.end_hour, 0, 23)
    }

    /// Whether `hour` (0..24) is a night hour.
    pub fn contains_hour(&self, hour: u32) -> bool {
        let (start, end) = (self.start_hour, self.end_hour);
        if start <= end {
            (start..end).contains(&hour)
        } else {
            hour >= start || hour < end
        }
    }

    /// Whether simulated time `now` falls in the night, on `epoch`'s calendar.
    pub fn is_night(&self, epoch: &cascade_sim::Epoch, now: cascade_sim::SimTime) -> bool {
        self.contains_hour(epoch.hour_of_day(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index32_is_an_option_in_four_bytes() {
        assert_eq!(std::mem::size_of::<Index32>(), 4);
        let mut i = Index32::default();
        assert_eq!(i.get(), None);
        i = Index32::of(0);
        assert_eq!(format!("{i:?}"), "Some(0)");
        assert_eq!((i.take(), i.take()), (Some(0), None));
        assert_eq!(
            Index32::of(u32::MAX as usize - 1).get(),
            Some(u32::MAX as usize - 1)
        );
        for bad in [u32::MAX as usize, u32::MAX as usize + 1] {
            assert!(
                std::panic::catch_unwind(|| Index32::of(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn validation_helpers_speak_one_dialect() {
        assert_eq!(check_range("engineers", 6u32, 1, 64), Ok(()));
        assert_eq!(
            check_range("engineers", 0u32, 1, 64).unwrap_err(),
            "engineers: expected 1 to 64, found 0"
        );
        assert_eq!(
            check_at_most("resumes_max", 5000u32, 1_000).unwrap_err(),
            "resumes_max: expected at most 1,000, found 5000"
        );
        assert_eq!(
            check_at_least("queue_max", 0u64, 1).unwrap_err(),
            "queue_max: expected at least 1, found 0"
        );
        assert_eq!(
            check_ratio("failure_ratio", 2.0).unwrap_err(),
            "failure_ratio: expected a fraction in [0, 1], found 2"
        );
        assert_eq!(
            check_positive("diagnose_min", f64::NAN).unwrap_err(),
            "diagnose_min: expected a positive number, found NaN"
        );
        assert_eq!(
            check_positive("tick_ms", 0u64).unwrap_err(),
            "tick_ms: expected a positive number, found 0"
        );
        assert_eq!(
            check_at_least("ack_p99_day_min", 10.0, ("ack_median_day_min", 15.0)).unwrap_err(),
            "ack_p99_day_min: expected at least ack_median_day_min (15), found 10"
        );
        assert_eq!(
            check_range("bake_time_s", 0u64, 1, ("7 days", 7 * 86_400)).unwrap_err(),
            "bake_time_s: expected 1 to 7 days (604,800), found 0"
        );
        assert_eq!(
            check_below("slo_target", 1.0, 1.0).unwrap_err(),
            "slo_target: expected below 1, found 1"
        );
        assert_eq!(
            check_above("client_timeout_ms", 100u64, ("request_local_ms", 100)).unwrap_err(),
            "client_timeout_ms: expected above request_local_ms (100), found 100"
        );
        // Every float check turns NaN and the infinities away, whatever
        // the comparison alone would let through.
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check_at_least("x", v, 1.0).is_err(), "{v}");
            assert!(check_at_most("x", v, 1.0).is_err(), "{v}");
            assert!(check_above("x", v, 0.0).is_err(), "{v}");
            assert!(check_below("x", v, 1.0).is_err(), "{v}");
            assert!(check_range("x", v, 0.0, 1.0).is_err(), "{v}");
            assert!(check_ratio("x", v).is_err(), "{v}");
            assert!(check_positive("x", v).is_err(), "{v}");
        }
        assert_eq!(
            check_at_most("x", 1e20, 0.5).unwrap_err(),
            "x: expected at most 0.5, found 1e20"
        );
        assert_eq!(
            in_section("component", check_at_least("replicas_min", 0u32, 1)).unwrap_err(),
            "component.replicas_min: expected at least 1, found 0"
        );
    }

    #[test]
    fn night_wraps_past_midnight_and_can_be_empty() {
        let n = NightHours::default();
        let night: Vec<u32> = (0..24).filter(|&h| n.contains_hour(h)).collect();
        assert_eq!(night, vec![0, 1, 2, 3, 4, 5, 6, 22, 23]);
        let day_shift = NightHours {
            start_hour: 1,
            end_hour: 5,
        };
        assert_eq!((0..24).filter(|&h| day_shift.contains_hour(h)).count(), 4);
        let none = NightHours {
            start_hour: 3,
            end_hour: 3,
        };
        assert!((0..24).all(|h| !none.contains_hour(h)));
        assert!(NightHours {
            start_hour: 24,
            end_hour: 7
        }
        .validate()
        .is_err());
    }
}
