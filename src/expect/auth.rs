//! The auth path: legitimate success per hour and per minute, why
//! logins failed, retries, the autoscaler.

use super::*;

/// Legitimate auth success is at least `min` in every hour of `date`
/// (optionally only hours `from_hour..=to_hour`, UTC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSuccessEveryHour {
    pub date: String,
    pub min: f64,
    #[serde(default)]
    pub from_hour: Option<u32>,
    #[serde(default)]
    pub to_hour: Option<u32>,
}

impl Check for AuthSuccessEveryHour {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AuthSuccessEveryHour {
            date: d,
            min,
            from_hour,
            to_hour,
        } = self;
        check_ratio("min", *min)?;
        for (field, hour) in [("from_hour", from_hour), ("to_hour", to_hour)] {
            if let Some(h) = hour {
                check_range(field, *h, 0, 23)?;
            }
        }
        check_ordered(
            ("from_hour", from_hour.unwrap_or(0)),
            ("to_hour", to_hour.unwrap_or(23)),
        )?;
        date(d)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let e = o.epoch;
        let AuthSuccessEveryHour {
            date,
            min,
            from_hour,
            to_hour,
        } = self;
        let (lo, hi) = (from_hour.unwrap_or(0), to_hour.unwrap_or(23));
        let d = day(date);
        let hours: Vec<(SimTime, f64)> = o
            .auth
            .success_by_hour
            .iter()
            .copied()
            .filter(|&(t, _)| {
                let h = e.hour_of_day(t);
                o.day(t) == d && h >= lo && h <= hi
            })
            .collect();
        let worst = hours.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
        let worst_hour = hours
            .iter()
            .find(|(_, v)| *v == worst)
            .map_or("-".into(), |(t, _)| e.hour(*t));
        (
            format!("legitimate auth success >= {min} every hour of {date} ({lo:02}-{hi:02} UTC)"),
            !hours.is_empty() && worst >= *min,
            format!("worst hour {worst_hour}: {worst:.4}"),
            (!hours.is_empty()).then(|| Measured::ratio(worst)),
        )
    }
}

/// Every minute from `at` (UTC) on has legitimate auth success of at least 99 %.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthGoodAfter {
    pub at: String,
}

impl Check for AuthGoodAfter {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AuthGoodAfter { at } = self;
        Epoch::parse(at).map(|_| ()).map_err(|e| format!("at: {e}"))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let e = o.epoch;
        let AuthGoodAfter { at } = self;
        let prefix: String = at.chars().take(16).collect();
        let from_minute = unix_secs(at).div_euclid(60);
        let bad: Vec<String> = o
            .auth
            .bad_minutes
            .iter()
            .filter(|&&t| o.unix_secs(t).div_euclid(60) >= from_minute)
            .map(|&t| e.format_minute(t))
            .collect();
        (
            format!("legitimate auth success >= 99 % every minute from {prefix}"),
            bad.is_empty(),
            match bad.first() {
                None => "no bad minute".into(),
                Some(first) => format!("{} bad minutes, first {first}", bad.len()),
            },
            Some(Measured::count(bad.len() as f64)),
        )
    }
}

/// The autoscaler changes direction at most `max` times in any hour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerFlapsMax {
    pub max: u32,
}

impl Check for AutoscalerFlapsMax {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AutoscalerFlapsMax { max } = self;
        check_at_most("max", *max, ("one a second", FLAPS_PER_HOUR_MAX))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let AutoscalerFlapsMax { max } = self;
        (
            format!("autoscaler flaps at most {max} times an hour"),
            o.auth.autoscaler_flaps_per_hour_max <= *max,
            format!(
                "worst hour {} direction changes",
                o.auth.autoscaler_flaps_per_hour_max
            ),
            Some(Measured::count(f64::from(
                o.auth.autoscaler_flaps_per_hour_max,
            ))),
        )
    }
}

/// Retry amplification (attempts per fresh legitimate request) over the run lies in [min, max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthRetryAmplification {
    pub min: f64,
    pub max: f64,
}

impl Check for AuthRetryAmplification {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AuthRetryAmplification { min, max } = self;
        let most = ("the most attempts a request makes", ATTEMPTS_MAX);
        check_range("min", *min, 1.0, most)?;
        check_range("max", *max, 1.0, most)?;
        check_ordered(("min", *min), ("max", *max))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let AuthRetryAmplification { min, max } = self;
        let v = o.auth.retry_amplification;
        (
            format!("auth retry amplification {min}..{max}"),
            v >= *min && v <= *max,
            format!("{v:.3} attempts per request"),
            Some(Measured::ratio(v)),
        )
    }
}

/// Failed legitimate auth attempts due to `cause` (on `date`, or over
/// the run) number in [min, max] and make up a share of all failed
/// attempts in [share_min, share_max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthFailures {
    #[serde(default)]
    pub date: Option<String>,
    pub cause: AuthFailureCause,
    #[serde(default)]
    pub min: u64,
    #[serde(default = "u64_max")]
    pub max: u64,
    #[serde(default)]
    pub share_min: f64,
    #[serde(default = "one")]
    pub share_max: f64,
}

impl Check for AuthFailures {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AuthFailures {
            date: d,
            min,
            max,
            share_min,
            share_max,
            ..
        } = self;
        check_ordered(("min", *min), ("max", *max))?;
        check_ratio("share_min", *share_min)?;
        check_ratio("share_max", *share_max)?;
        check_ordered(("share_min", *share_min), ("share_max", *share_max))?;
        d.as_deref().map_or(Ok(()), date)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let AuthFailures {
            date,
            cause,
            min,
            max,
            share_min,
            share_max,
        } = self;
        let none = outcome::AuthFailures::default();
        let f = match date {
            Some(d) => o.auth.failures_by_day.get(&day(d)).unwrap_or(&none),
            None => &o.auth.failures,
        };
        let (n, share) = (f.get(*cause), f.share(*cause));
        let when = date.as_deref().unwrap_or("the run");
        let mut bounds = Vec::new();
        if *max != u64::MAX {
            bounds.push(format!("{min}..{max}"));
        } else if *min > 0 {
            bounds.push(format!("at least {min}"));
        }
        if *share_min > 0.0 || *share_max < 1.0 {
            bounds.push(format!("share {share_min}..{share_max}"));
        }
        (
            format!(
                "failed logins by {} on {when}: {}",
                cause.name().replace('_', " "),
                bounds.join(", ")
            ),
            n >= *min && n <= *max && share >= *share_min && share <= *share_max,
            format!(
                "{n} of {} failed ({:.1} %); all causes: {}",
                f.total(),
                share * 100.0,
                f.describe()
            ),
            Some(if *share_min > 0.0 || *share_max < 1.0 {
                Measured::ratio(share)
            } else {
                Measured::count(n as f64)
            }),
        )
    }
}

/// Legitimate auth success falls below `below` in at least `hours_min` hours of `date`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSuccessDegraded {
    pub date: String,
    pub below: f64,
    pub hours_min: u32,
}

impl Check for AuthSuccessDegraded {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AuthSuccessDegraded {
            date: d,
            below,
            hours_min,
        } = self;
        check_ratio("below", *below)?;
        check_range("hours_min", *hours_min, 0, 24)?;
        date(d)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let AuthSuccessDegraded {
            date,
            below,
            hours_min,
        } = self;
        let d = day(date);
        let n = o
            .auth
            .success_by_hour
            .iter()
            .filter(|&&(t, v)| o.day(t) == d && v < *below)
            .count() as u32;
        (
            format!("legitimate auth success below {below} for at least {hours_min} h on {date}"),
            n >= *hours_min,
            format!("{n} hours below"),
            Some(Measured::seconds(f64::from(n) * 3_600.0)),
        )
    }
}
