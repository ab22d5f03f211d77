//! Simulated time: integer microseconds since the run's epoch.
//!
//! Resolution is one microsecond because (a) network latencies in the model go
//! down to fractions of a millisecond and must not collapse to zero, and (b) the
//! Chrome/Perfetto trace format stamps events in microseconds, so reports need no
//! conversion. A `u64` of microseconds spans 584,000 years, so overflow is only
//! possible through a bug, and arithmetic saturates rather than wrapping.
//!
//! Calendar formatting is done against an [`Epoch`] (the UTC instant of
//! `SimTime::ZERO`), with a hand-written proleptic Gregorian conversion: the
//! kernel must never read the wall clock, and a date library would be a large
//! dependency for two functions.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

/// An instant in simulated time: microseconds since the run's epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A span of simulated time in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_micros(us: u64) -> Self {
        SimTime(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms * 1_000)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * 1_000_000)
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    /// Index of the whole minute this instant falls in (minute 0 starts at the epoch).
    pub const fn minute_index(self) -> u64 {
        self.0 / 60_000_000
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1_000_000)
    }
    pub const fn from_mins(m: u64) -> Self {
        SimDuration(m * 60_000_000)
    }
    pub const fn from_hours(h: u64) -> Self {
        SimDuration(h * 3_600_000_000)
    }
    /// Rounds to the nearest microsecond; negative and NaN inputs give zero.
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            return SimDuration(0);
        }
        // `+ 0.5` then truncation rounds half up like `f64::round` does for
        // positive values, without a libm call on the hot path.
        let us = s * 1e6 + 0.5;
        if us >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            SimDuration(us as u64)
        }
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn mul_f64(self, k: f64) -> Self {
        SimDuration::from_secs_f64(self.as_secs_f64() * k)
    }
    pub const fn saturating_mul(self, k: u64) -> Self {
        SimDuration(self.0.saturating_mul(k))
    }
}

/// An instant or none, in 8 bytes where `Option<SimTime>` takes 16: the
/// per-cluster books and agents keep a dozen or more each, and at a million
/// clusters every word saved is 8 MB. `SimTime::MAX` stands for none, so it
/// cannot be stamped (nothing that happened happened at the end of time).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp(u64);

impl Stamp {
    pub const NONE: Stamp = Stamp(u64::MAX);

    /// `t`, which must not be `SimTime::MAX`.
    pub fn at(t: SimTime) -> Stamp {
        assert!(t != SimTime::MAX, "the end of time is not a stamp");
        Stamp(t.0)
    }
    pub fn get(self) -> Option<SimTime> {
        (self != Stamp::NONE).then_some(SimTime(self.0))
    }
    pub fn is_some(self) -> bool {
        self != Stamp::NONE
    }
    pub fn is_none(self) -> bool {
        self == Stamp::NONE
    }
    /// The instant, leaving none.
    pub fn take(&mut self) -> Option<SimTime> {
        std::mem::take(self).get()
    }
    /// The instant, stamping `t` first if there was none.
    pub fn get_or_insert(&mut self, t: SimTime) -> SimTime {
        if self.is_none() {
            *self = Stamp::at(t);
        }
        SimTime(self.0)
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp::NONE
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Saturating: an earlier minus a later instant is zero, never a wrap.
    fn sub(self, rhs: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(rhs.0))
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(d.0))
    }
}
impl Mul<u64> for SimDuration {
    type Output = SimDuration;
    /// `n` periods of this length (saturating, as the sums are).
    fn mul(self, n: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(n))
    }
}

impl fmt::Display for SimDuration {
    /// Human form: `45m`, `1h30m`, `2.5s`, `350ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            return write!(f, "0s");
        }
        if us < 1_000_000 {
            return if us.is_multiple_of(1_000) {
                write!(f, "{}ms", us / 1_000)
            } else {
                write!(f, "{}us", us)
            };
        }
        let total_s = us / 1_000_000;
        let frac_ms = (us % 1_000_000) / 1_000;
        let (d, h, m, s) = (
            total_s / 86_400,
            (total_s / 3_600) % 24,
            (total_s / 60) % 60,
            total_s % 60,
        );
        let mut out = String::new();
        if d > 0 {
            out.push_str(&format!("{d}d"));
        }
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 || frac_ms > 0 {
            if frac_ms > 0 {
                out.push_str(&format!("{s}.{frac_ms:03}s"));
            } else {
                out.push_str(&format!("{s}s"));
            }
        }
        f.write_str(&out)
    }
}

/// Parses a human duration: one or more `<number><unit>` parts with units
/// `d`, `h`, `m`, `s`, `ms`, `us` (e.g. `45m`, `1h30m`, `2.5s`, `500ms`).
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(
            "expected a duration such as \"45m\" or \"1h30m\", found an empty string".into(),
        );
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_us: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "expected a duration such as \"45m\" or \"1h30m\", found {text:?}"
            ));
        }
        let number: f64 = s[start..i]
            .parse()
            .map_err(|_| format!("bad number {:?} in duration {text:?}", &s[start..i]))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_us = match &s[ustart..i] {
            "d" => 86_400e6,
            "h" => 3_600e6,
            "m" | "min" => 60e6,
            "s" => 1e6,
            "ms" => 1e3,
            "us" => 1.0,
            "" => {
                return Err(format!(
                    "duration {text:?} lacks a unit (d, h, m, s, ms or us)"
                ))
            }
            u => {
                return Err(format!(
                    "unknown unit {u:?} in duration {text:?} (expected d, h, m, s, ms or us)"
                ))
            }
        };
        total_us += number * unit_us;
    }
    if !total_us.is_finite() || total_us >= u64::MAX as f64 {
        return Err(format!("duration {text:?} is too large"));
    }
    Ok(SimDuration::from_micros(total_us.round() as u64))
}

/// The UTC instant of `SimTime::ZERO`, as seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epoch {
    pub unix_secs: i64,
}

impl Epoch {
    pub const fn from_unix_secs(unix_secs: i64) -> Self {
        Epoch { unix_secs }
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS]Z` (or with a space instead of `T`).
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_utc(text).map(Epoch::from_unix_secs)
    }

    /// Simulated time of a UTC calendar instant; errors if it lies before the epoch.
    pub fn time_of(&self, utc: &str) -> Result<SimTime, String> {
        let unix = parse_utc(utc)?;
        if unix < self.unix_secs {
            return Err(format!(
                "{utc} lies before the run's start {}",
                format_unix(self.unix_secs)
            ));
        }
        // Years are bounded to 1..=9999, so any span fits the microsecond
        // clock; checked anyway, because a panic here was a fuzz finding.
        (unix - self.unix_secs)
            .checked_mul(1_000_000)
            .and_then(|us| u64::try_from(us).ok())
            .map(SimTime::from_micros)
            .ok_or_else(|| format!("{utc} lies too far after the run's start"))
    }

    /// `2025-03-18T17:30:00Z` form of a simulated instant (whole seconds).
    pub fn format(&self, t: SimTime) -> String {
        format_unix(self.unix_secs + t.as_secs() as i64)
    }

    /// `2025-03-18T17:30` form (minute resolution), for summaries.
    pub fn format_minute(&self, t: SimTime) -> String {
        let mut s = self.format(t);
        s.truncate(16);
        s
    }

    /// `2025-03-18` of a simulated instant.
    pub fn date(&self, t: SimTime) -> String {
        let mut s = self.format(t);
        s.truncate(10);
        s
    }

    /// `2025-03-18T17` of a simulated instant.
    pub fn hour(&self, t: SimTime) -> String {
        let mut s = self.format(t);
        s.truncate(13);
        s
    }

    /// `D3 13:00` form relative to the epoch's day, as the model spec writes times.
    pub fn day_clock(&self, t: SimTime) -> String {
        let secs = t.as_secs();
        let (d, h, m) = (secs / 86_400, (secs / 3_600) % 24, (secs / 60) % 60);
        format!("D{d} {h:02}:{m:02}")
    }

    /// Hour of day (0..24) in UTC of a simulated instant.
    pub fn hour_of_day(&self, t: SimTime) -> u32 {
        ((self.unix_secs + t.as_secs() as i64).rem_euclid(86_400) / 3_600) as u32
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn format_unix(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn parse_utc(text: &str) -> Result<i64, String> {
    let err = || format!("expected a UTC time such as \"2025-03-18T17:30:00Z\", found {text:?}");
    let s = text.trim();
    let s = s.strip_suffix('Z').ok_or_else(err)?;
    let (date, clock) = s.split_once(['T', ' ']).ok_or_else(err)?;
    let mut dp = date.split('-');
    let y: i64 = dp.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
    let mo: u32 = dp.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
    let d: u32 = dp.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
    // Four-digit years only (RFC 3339): a larger year would overflow the
    // microsecond clock (`u64` holds about 584,000 years) and means a typo.
    if dp.next().is_some()
        || !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return Err(err());
    }
    let mut cp = clock.split(':');
    let h: i64 = cp.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
    let mi: i64 = cp.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
    let sec: i64 = match cp.next() {
        Some(v) => v.parse().map_err(|_| err())?,
        None => 0,
    };
    if cp.next().is_some()
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..60).contains(&sec)
    {
        return Err(err());
    }
    // Reject dates such as 2025-02-30 by round-tripping.
    let days = days_from_civil(y, mo, d);
    if civil_from_days(days) != (y, mo, d) {
        return Err(format!("{text:?} is not a calendar date"));
    }
    Ok(days * 86_400 + h * 3_600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trip() {
        let e = Epoch::parse("2025-03-18T00:00:00Z").unwrap();
        assert_eq!(e.unix_secs, 1_742_256_000);
        let t = e.time_of("2025-03-23T05:00:00Z").unwrap();
        assert_eq!(t.as_secs(), 5 * 86_400 + 5 * 3_600);
        assert_eq!(e.format(t), "2025-03-23T05:00:00Z");
        assert_eq!(e.day_clock(t), "D5 05:00");
        assert_eq!(e.date(t), "2025-03-23");
        assert_eq!(e.hour(t), "2025-03-23T05");
        assert_eq!(
            e.format(SimTime::from_secs(86_400 * 14)),
            "2025-04-01T00:00:00Z"
        );
        assert!(e.time_of("2025-03-17T23:59:59Z").is_err());
        assert!(Epoch::parse("2025-02-30T00:00Z").is_err());
        assert!(Epoch::parse("2025-03-18").is_err());
        // A fuzz finding (CI, 2026-12-02): a year with many digits overflowed
        // the microsecond clock in `time_of` (a panic, not an error).
        assert!(e.time_of("99999999999-01-01T00:00:00Z").is_err());
        assert!(e.time_of("9999999999999999-01-01T00:00:00Z").is_err());
        assert!(Epoch::parse("-5-01-01T00:00:00Z").is_err());
        assert_eq!(
            e.time_of("9999-12-31T23:59:59Z").unwrap().as_secs(),
            253_402_300_799 - 1_742_256_000
        );
        assert_eq!(
            Epoch::parse("2024-02-29 12:00Z").unwrap().unix_secs,
            1_709_208_000
        );
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("45m").unwrap(), SimDuration::from_mins(45));
        assert_eq!(parse_duration("1h30m").unwrap(), SimDuration::from_mins(90));
        assert_eq!(
            parse_duration("2.5s").unwrap(),
            SimDuration::from_millis(2_500)
        );
        assert_eq!(parse_duration("350ms").unwrap().as_micros(), 350_000);
        assert!(parse_duration("45").unwrap_err().contains("lacks a unit"));
        assert!(parse_duration("4x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("").is_err());
        assert_eq!(SimDuration::from_mins(90).to_string(), "1h30m");
        assert_eq!(SimDuration::from_millis(2_500).to_string(), "2.500s");
        assert_eq!(SimDuration::from_millis(350).to_string(), "350ms");
        assert_eq!(SimDuration::from_hours(49).to_string(), "2d1h");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            SimTime::from_secs(1) - SimTime::from_secs(2),
            SimDuration::ZERO
        );
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(0.0000015).as_micros(), 2);
    }

    #[test]
    fn a_stamp_is_an_option_in_one_word() {
        assert_eq!(std::mem::size_of::<Stamp>(), 8);
        assert_eq!(std::mem::size_of::<Option<SimTime>>(), 16);
        let t = SimTime::from_secs(7);
        let mut s = Stamp::default();
        assert_eq!((s.get(), s.is_none(), s.is_some()), (None, true, false));
        assert_eq!(s.get_or_insert(t), t);
        assert_eq!(s.get_or_insert(SimTime::from_secs(9)), t, "kept");
        assert_eq!(format!("{s:?}"), format!("{:?}", Some(t)));
        assert_eq!(s.take(), Some(t));
        assert_eq!((s, s.take()), (Stamp::NONE, None));
        let max = std::panic::catch_unwind(|| Stamp::at(SimTime::MAX));
        assert!(max.is_err(), "the end of time cannot be stamped");
    }
}
