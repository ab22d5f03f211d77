//! The model's parameters: every assumed figure of the world in one
//! serializable tree, each field with its default and a one-line basis.
//! Scenario files override any part of it (see `scenario`).

use crate::model::agent::{AgentConfig, Guards, ReleaseDefect};
use crate::model::auth::AuthConfig;
use crate::model::change::ChangeConfig;
use crate::model::monitoring::MonitoringConfig;
use crate::model::operators::OperatorsConfig;
use crate::model::recovery::RecoveryConfig;
use crate::model::responder::ResponseConfig;
use crate::model::rollout::RolloutConfig;
use crate::plant::cloud::CloudConfig;
use crate::plant::control::EDGE_CELLS_MAX;
use crate::plant::fleet::FleetConfig;
use crate::plant::workload::WorkloadConfig;
use crate::types::{
    check_at_least, check_at_most, check_positive, check_range, in_section, NightHours,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Network figures between agents and the control plane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Median round trip agent → edge → service → agent. \[A]
    pub agent_rtt_median_ms: f64,
    /// 99th percentile of that round trip. \[A]
    pub agent_rtt_p99_ms: f64,
    /// Agent HTTP client timeout. \[A]
    pub client_timeout_s: f64,
    /// Time for the agent pod to start once its system pool is back. \[A]
    pub agent_start_s: f64,
    /// First restart delay of an agent process that exited by itself (a
    /// release's defect), doubling with each exit within 10 min of its
    /// start up to 5 min. \[A] 10 s and 5 min: Kubernetes' CrashLoopBackOff
    /// (the container restarts in place, its image cached).
    pub process_restart_s: f64,
    /// Cells of the edge, each with its own copy of the route rules. \[A]
    /// 24: a few per region across three clouds; with 2,000 clusters a
    /// cell serves ~83, so R1's two-cell defect is ~8 % of the fleet.
    pub edge_cells: u32,
    /// Hours an edge configuration change soaks (staging, a canary cell)
    /// before the pipeline deploys it to prod cells. \[A] a day, the usual
    /// soak of network configuration.
    pub edge_config_soak_h: f64,
    /// Hour (UTC) of the nightly window in which the pipeline deploys edge
    /// configuration. \[A] 22:00 UTC, low traffic across US and EU; with
    /// the soak it puts R1 (D3 15:05) on the cells at D4 22:00, when the
    /// record's 404s began.
    pub edge_config_window_hour_utc: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            agent_rtt_median_ms: 40.0,
            agent_rtt_p99_ms: 200.0,
            client_timeout_s: 10.0,
            agent_start_s: 120.0,
            process_restart_s: 10.0,
            edge_cells: 24,
            edge_config_soak_h: 24.0,
            edge_config_window_hour_utc: 22,
        }
    }
}

impl NetworkConfig {
    pub fn validate(&self) -> Result<(), String> {
        check_positive("agent_rtt_median_ms", self.agent_rtt_median_ms)?;
        check_at_least(
            "agent_rtt_p99_ms",
            self.agent_rtt_p99_ms,
            ("agent_rtt_median_ms", self.agent_rtt_median_ms),
        )?;
        check_positive("client_timeout_s", self.client_timeout_s)?;
        check_positive("agent_start_s", self.agent_start_s)?;
        check_range(
            "process_restart_s",
            self.process_restart_s,
            0.1,
            ("5 min", 300.0),
        )?;
        check_range("edge_cells", self.edge_cells, 1, EDGE_CELLS_MAX)?;
        check_at_least("edge_config_soak_h", self.edge_config_soak_h, 0.0)?;
        check_at_most(
            "edge_config_soak_h",
            self.edge_config_soak_h,
            ("30 days", 720.0),
        )?;
        check_at_most(
            "edge_config_window_hour_utc",
            self.edge_config_window_hour_utc,
            23,
        )
    }
}

/// Every parameter of the world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub fleet: FleetConfig,
    /// The customers' own pool changes.
    pub workload: WorkloadConfig,
    pub agent: AgentConfig,
    /// The agent version deployed at the start (historical: no guard).
    pub agent_guards: Guards,
    /// The version the hotfix ships. [fact: the 404 bug fixed] default G1,
    /// G3 and G7; the other guards are later hardening.
    #[serde(default = "Guards::hotfix")]
    pub hotfix_guards: Guards,
    /// \[A] What-if: the hotfix build is broken (default none, as in the
    /// record); what the rollout's health gate is there to stop. A
    /// `bad_release` timeline item changes it for the rollouts started
    /// after it.
    pub hotfix_defect: ReleaseDefect,
    pub cloud: CloudConfig,
    pub network: NetworkConfig,
    pub change: ChangeConfig,
    pub rollout: RolloutConfig,
    pub operators: OperatorsConfig,
    pub recovery: RecoveryConfig,
    pub monitoring: MonitoringConfig,
    pub response: ResponseConfig,
    pub auth: AuthConfig,
    /// When customers and on-call engineers are asleep. \[A]
    pub night: NightHours,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            fleet: FleetConfig::default(),
            workload: WorkloadConfig::default(),
            agent: AgentConfig::default(),
            agent_guards: Guards::none(),
            hotfix_guards: Guards::hotfix(),
            hotfix_defect: ReleaseDefect::None,
            cloud: CloudConfig::default(),
            network: NetworkConfig::default(),
            change: ChangeConfig::default(),
            rollout: RolloutConfig::default(),
            operators: OperatorsConfig::default(),
            recovery: RecoveryConfig::default(),
            monitoring: MonitoringConfig::default(),
            response: ResponseConfig::default(),
            auth: AuthConfig::default(),
            night: NightHours::default(),
        }
    }
}

impl ModelConfig {
    /// Checks every section; the error reads `model.section.field: what was expected`.
    pub fn validate(&self) -> Result<(), String> {
        let sections: [(&str, Result<(), String>); 13] = [
            ("auth", self.auth.validate()),
            ("fleet", self.fleet.validate()),
            ("workload", self.workload.validate()),
            ("agent", self.agent.validate()),
            ("cloud", self.cloud.validate()),
            ("network", self.network.validate()),
            ("change", self.change.validate()),
            ("rollout", self.rollout.validate()),
            ("operators", self.operators.validate()),
            ("recovery", self.recovery.validate()),
            ("monitoring", self.monitoring.validate()),
            ("response", self.response.validate()),
            ("night", self.night.validate()),
        ];
        for (section, result) in sections {
            in_section(&format!("model.{section}"), result)?;
        }
        let clusters_max = self
            .rollout
            .clusters_max
            .min(self.operators.clusters_max)
            .min(self.recovery.clusters_max);
        check_at_most(
            "model.fleet.clusters",
            self.fleet.clusters,
            (
                "the rollout, operators and recovery clusters_max",
                clusters_max,
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_field_reads_model_section_field_expected_found() {
        assert_eq!(ModelConfig::default().validate(), Ok(()));
        let error_with = |spoil: fn(&mut ModelConfig)| {
            let mut m = ModelConfig::default();
            spoil(&mut m);
            m.validate().unwrap_err()
        };
        assert_eq!(
            error_with(|m| m.operators.engineers = 0),
            "model.operators.engineers: expected 1 to 64, found 0"
        );
        assert_eq!(
            error_with(|m| m.rollout.bake_time_s = 0),
            "model.rollout.bake_time_s: expected 1 to 7 days (604,800), found 0"
        );
        assert_eq!(
            error_with(|m| m.auth.component.replicas_max = 1),
            "model.auth.component.replicas_max: expected at least replicas_min (3), found 1"
        );
        assert_eq!(
            error_with(|m| m.network.agent_rtt_p99_ms = f64::NAN),
            "model.network.agent_rtt_p99_ms: expected at least agent_rtt_median_ms (40), found NaN"
        );
        assert_eq!(
            error_with(|m| m.fleet.clusters = 200_000),
            "model.fleet.clusters: expected at most the rollout, operators and recovery \
             clusters_max (100,000), found 200000"
        );
    }
}
