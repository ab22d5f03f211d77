//! The wire vocabulary every side shares: cluster ids, pool names, pool
//! sets, the desired state the control plane serves, the answers an agent
//! can get for it, and pool states as the cloud reports them.
//!
//! The agent, the fleet, the cloud API, the desired-state service and the
//! wire tier's HTTP documents all speak these types; none of them needs to
//! import another's module to do so.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a data-plane cluster (0..clusters).
pub type ClusterId = u32;

/// A node pool of a cluster. `System` hosts the agent itself.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
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

/// Number of pool slots per cluster (system, airflow, worker-default, 3 extra).
pub const POOLS: usize = PoolName::COUNT_MAX;

/// A set of pools as a bitmask over [`PoolName::index`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolSet(pub u8);

impl PoolSet {
    pub const EMPTY: PoolSet = PoolSet(0);
    pub const fn contains(self, p: PoolName) -> bool {
        self.0 & (1 << p.index()) != 0
    }
    pub fn insert(&mut self, p: PoolName) {
        self.0 |= 1 << p.index();
    }
    pub fn remove(&mut self, p: PoolName) {
        self.0 &= !(1 << p.index());
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }
    pub fn iter(self) -> impl Iterator<Item = PoolName> {
        (0..POOLS)
            .filter(move |i| self.0 & (1 << i) != 0)
            .map(PoolName::from_index)
    }
}

/// The desired state of one cluster as the control plane serves it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// Only grows on the service side; an agent must never go back (G3).
    pub generation: u64,
    /// Pools that should exist.
    pub pools: PoolSet,
    /// Node count per pool slot (meaningful where `pools` contains the slot).
    pub nodes: [u16; POOLS],
    /// Pools with an explicit delete intent (tombstone).
    pub tombstones: PoolSet,
    /// The service says, authoritatively, "this cluster wants no pools".
    pub empty_explicit: bool,
}

/// What the agent's desired-state request came back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesiredAnswer {
    /// 200 with a body.
    Ok(DesiredState),
    /// 404, e.g. from a default backend after a misroute.
    NotFound,
    /// 5xx.
    ServerError,
    /// 429 with a reset after so many seconds.
    TooManyRequests { retry_after_s: u32 },
    /// No answer within the client timeout.
    Timeout,
    /// Connection refused or reset.
    ConnectionError,
}

impl DesiredAnswer {
    pub fn is_authoritative(&self) -> bool {
        matches!(self, DesiredAnswer::Ok(_))
    }
    pub fn kind(&self) -> AnswerKind {
        match self {
            DesiredAnswer::Ok(_) => AnswerKind::Ok,
            DesiredAnswer::NotFound => AnswerKind::NotFound,
            DesiredAnswer::ServerError => AnswerKind::ServerError,
            DesiredAnswer::TooManyRequests { .. } => AnswerKind::TooManyRequests,
            DesiredAnswer::Timeout => AnswerKind::Timeout,
            DesiredAnswer::ConnectionError => AnswerKind::ConnectionError,
        }
    }
    /// Short stable name for traces and reports.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// The kinds of [`DesiredAnswer`], for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnswerKind {
    Ok,
    NotFound,
    ServerError,
    TooManyRequests,
    Timeout,
    ConnectionError,
}

impl AnswerKind {
    /// In report order.
    pub const ALL: [AnswerKind; 6] = [
        AnswerKind::Ok,
        AnswerKind::NotFound,
        AnswerKind::ServerError,
        AnswerKind::TooManyRequests,
        AnswerKind::Timeout,
        AnswerKind::ConnectionError,
    ];

    /// Short stable name for traces and reports (`404`, `timeout`).
    pub fn name(self) -> &'static str {
        match self {
            AnswerKind::Ok => "200",
            AnswerKind::NotFound => "404",
            AnswerKind::ServerError => "5xx",
            AnswerKind::TooManyRequests => "429",
            AnswerKind::Timeout => "timeout",
            AnswerKind::ConnectionError => "connection_error",
        }
    }
}

/// Answers counted by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerCounts([u64; AnswerKind::ALL.len()]);

impl AnswerCounts {
    pub fn add(&mut self, answer: &DesiredAnswer) {
        self.0[answer.kind() as usize] += 1;
    }
    /// `n` answers like `answer` (quiet polls skipped by the fast-forward).
    pub fn add_n(&mut self, answer: &DesiredAnswer, n: u64) {
        self.0[answer.kind() as usize] += n;
    }
    /// Each kind with its count, in report order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (AnswerKind, u64)> + '_ {
        AnswerKind::ALL.iter().map(|&k| (k, self.0[k as usize]))
    }
}

impl std::ops::Index<AnswerKind> for AnswerCounts {
    type Output = u64;
    fn index(&self, k: AnswerKind) -> &u64 {
        &self.0[k as usize]
    }
}

/// A pool as the cloud reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PoolState {
    #[default]
    Absent,
    Creating,
    Present {
        nodes: u16,
    },
    Deleting,
}

impl PoolState {
    /// Present with nodes: the pool serves.
    pub fn is_running(self) -> bool {
        matches!(self, PoolState::Present { nodes } if nodes > 0)
    }

    /// Gone for a removal's purposes: absent, being deleted, or scaled to
    /// zero awaiting collection (G8); not running and not being created.
    pub fn is_gone(self) -> bool {
        !self.is_running() && self != PoolState::Creating
    }
}
