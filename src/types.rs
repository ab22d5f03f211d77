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
