//! Domain vocabulary beyond the wire protocol: clouds, environments, and
//! the validation helpers of the config sections.

use serde::{Deserialize, Serialize};

/// Cloud of a cluster's data plane (the control plane is always in Azure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// Deployment environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// Validation helper: `v` must be a finite number above zero.
pub fn check_positive(field: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{field}: expected a positive number, found {v}"))
    }
}

/// Validation helper: `v` must be a fraction in [0, 1].
pub fn check_ratio(field: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{field}: expected a fraction in [0, 1], found {v}"))
    }
}

/// The night hours (UTC): when customers are slower to notice a broken
/// cluster and on-call engineers are woken by a page. One definition for
/// every model that cares (monitoring's customer reports, the operators'
/// acknowledgement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
        for (field, h) in [("start_hour", self.start_hour), ("end_hour", self.end_hour)] {
            if h > 23 {
                return Err(format!("{field}: expected an hour 0 to 23, found {h}"));
            }
        }
        Ok(())
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
