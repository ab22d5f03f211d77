//! Domain vocabulary shared by every component of the world.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a data-plane cluster (0..clusters).
pub type ClusterId = u32;

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

/// A node pool of a cluster. `System` hosts the agent itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PoolName {
    System,
    Airflow,
    WorkerDefault,
    /// Extra worker pool 1..=3.
    Worker(u8),
}

impl PoolName {
    /// Dense index 0..6 for per-cluster arrays.
    pub const fn index(self) -> usize {
        match self {
            PoolName::System => 0,
            PoolName::Airflow => 1,
            PoolName::WorkerDefault => 2,
            PoolName::Worker(n) => 2 + n as usize,
        }
    }
    pub const fn from_index(i: usize) -> PoolName {
        match i {
            0 => PoolName::System,
            1 => PoolName::Airflow,
            2 => PoolName::WorkerDefault,
            n => PoolName::Worker((n - 2) as u8),
        }
    }
    pub const COUNT_MAX: usize = 6;
    /// Protected by cloud delete locks under guard G6.
    pub const fn is_protected(self) -> bool {
        matches!(self, PoolName::System | PoolName::Airflow)
    }
}

impl fmt::Display for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolName::System => write!(f, "system"),
            PoolName::Airflow => write!(f, "airflow"),
            PoolName::WorkerDefault => write!(f, "worker-default"),
            PoolName::Worker(n) => write!(f, "worker-{n}"),
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
