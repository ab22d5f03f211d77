//! The black-box tier's side of the fleet part: agents that are real
//! processes. The world serves their requests (desired state through the
//! edge, the cloud listing, cloud calls) with the same plant and the same
//! books as the model's agents, and tells the driver which processes to
//! start and stop through [`AgentCommand`]s.
//!
//! Each cluster keeps its [`Agent`](crate::model::agent::Agent) as the
//! world's *record* of the process (alive, the last answer it was served):
//! it decides nothing, so full convergence and every check read the same
//! status in both tiers. Every check that a black box can show runs here as
//! it runs for a model agent: I1 on each destructive call (the last answer
//! served must be a 200 whose tombstones name the pool), the request rate,
//! I8's backoff and I12's confirmation for a version whose spec promises
//! them, soft delete first for a G8 version, protected pools kept.
//!
//! This file holds the types; [`processes`](super::processes) serves the
//! requests. Owns: [`ExternalAgents`] (the commands for the driver, whether
//! the recovery script is a process too, per-cluster exit counts and the
//! stream of the script's probes).

use crate::protocol::ClusterId;
use cascade_sim::Stream;

/// What the world asks of the driver that runs the processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentCommand {
    /// Start cluster `cluster`'s agent process: its pod is scheduled (the
    /// run starts, its `system` pool is back, a crash is over), running the
    /// fixed version when `after_fix`.
    Start { cluster: ClusterId, after_fix: bool },
    /// Stop it: its host is gone or a new version replaces it.
    Stop {
        cluster: ClusterId,
        cause: StopCause,
    },
    /// The responders chose the recovery script for `cluster`: hand it to
    /// the script process.
    Restore { cluster: ClusterId },
}

/// Why the world stops an agent process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// Its `system` pool is draining, or a crash fault took its pod.
    HostLost,
    /// The rollout installs the new version (a start follows).
    Upgrade,
}

/// Where a probe of desired state goes: through the edge (what agents
/// see) or to the desired-state service directly (the script's read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeVia {
    Edge,
    Service,
}

/// The black-box tier's state in the fleet part.
pub(super) struct ExternalAgents {
    /// Commands not yet taken by the driver, oldest first.
    pub commands: Vec<AgentCommand>,
    /// The recovery script is a process too (otherwise the model's runs).
    pub script: bool,
    /// Per cluster: how often its process exited on its own (the restart
    /// delay doubles with each, as a crash-looping pod's does).
    pub exits: Vec<u32>,
    /// The script's probes (its own stream: probing never shifts the
    /// world's draws).
    pub probes: Stream,
}
