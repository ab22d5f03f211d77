//! The model's parameters: every assumed figure of the world in one
//! serializable tree, each field with its default and a one-line basis.
//! Scenario files override any part of it (see `scenario`).

use crate::agent::{AgentConfig, Guards};
use crate::cloud::CloudConfig;
use crate::fleet::FleetConfig;
use crate::types::check_positive;
use serde::{Deserialize, Serialize};

/// Network figures between agents and the control plane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Median round trip agent → edge → service → agent. [A]
    pub agent_rtt_median_ms: f64,
    /// 99th percentile of that round trip. [A]
    pub agent_rtt_p99_ms: f64,
    /// Agent HTTP client timeout. [A]
    pub client_timeout_s: f64,
    /// Time for the agent pod to start once its system pool is back. [A]
    pub agent_start_s: f64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            agent_rtt_median_ms: 40.0,
            agent_rtt_p99_ms: 200.0,
            client_timeout_s: 10.0,
            agent_start_s: 120.0,
        }
    }
}

impl NetworkConfig {
    pub fn validate(&self) -> Result<(), String> {
        check_positive("agent_rtt_median_ms", self.agent_rtt_median_ms)?;
        if self.agent_rtt_p99_ms < self.agent_rtt_median_ms {
            return Err(format!(
                "agent_rtt_p99_ms: expected at least agent_rtt_median_ms ({}), found {}",
                self.agent_rtt_median_ms, self.agent_rtt_p99_ms
            ));
        }
        check_positive("client_timeout_s", self.client_timeout_s)?;
        check_positive("agent_start_s", self.agent_start_s)
    }
}

/// Every parameter of the world.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub fleet: FleetConfig,
    pub agent: AgentConfig,
    /// The agent version deployed at the start (historical: no guard).
    pub agent_guards: Guards,
    /// The version the hotfix ships.
    pub hotfix_guards: Guards,
    pub cloud: CloudConfig,
    pub network: NetworkConfig,
}

impl ModelConfig {
    /// Checks every section; the error names the section and field.
    pub fn validate(&self) -> Result<(), String> {
        self.fleet
            .validate()
            .map_err(|e| format!("model.fleet.{e}"))?;
        self.agent
            .validate()
            .map_err(|e| format!("model.agent.{e}"))?;
        self.cloud
            .validate()
            .map_err(|e| format!("model.cloud.{e}"))?;
        self.network
            .validate()
            .map_err(|e| format!("model.network.{e}"))?;
        Ok(())
    }
}
