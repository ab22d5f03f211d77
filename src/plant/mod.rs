//! What the logic under test runs on: the simulated infrastructure that
//! both tiers serve. The fleet tier calls it directly; the wire and live
//! tiers put HTTP servers in front of the same types.
//!
//! Map of the modules:
//! - [`fleet`]: the generated clusters (cloud, region, customer, desired
//!   pools).
//! - [`cloud`]: the cloud node-pool API (latencies, per-account rate limit,
//!   delete locks).
//! - [`control`]: the desired-state service and the versioned edge routing
//!   that can misroute it to a 404-answering default backend.
//! - [`streams`]: the names of the run's seeded random streams.
//! - [`workload`]: the customers' own pool changes (adds and removals).
//!
//! Here, in this file: [`Plant`], the one constructor that the fleet world,
//! the wire harness and the live tier all build their infrastructure with;
//! [`agent_phase`], the agent's phase draws in one place; and
//! [`convergence`], the one convergence predicate (pools and agent), with
//! [`pools_converged`] its pool half.

pub mod cloud;
pub mod control;
pub mod fleet;
pub mod streams;
pub mod workload;

use crate::model::agent::{AgentConfig, AgentStatus, PollGrid};
use crate::protocol::{ClusterId, DesiredAnswer, DesiredState, PoolName, PoolState, POOLS};
use cascade_sim::{Seed, SimDuration, SimTime, Stream};
use cloud::{CloudApi, CloudConfig};
use control::{CellLayout, DesiredService, Edge, ServiceFaults};
use fleet::{Fleet, FleetConfig};

/// Which pools a provisioned cluster starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialPools {
    /// Every desired pool present (the fleet tier's start).
    Desired,
    /// Only the `system` pool (where the agent runs): agents must create the
    /// rest, so convergence is visible.
    SystemOnly,
}

/// The simulated infrastructure of one run: the fleet, its cloud node-pool
/// API, the desired-state service and the edge in front of it.
pub struct Plant {
    pub fleet: Fleet,
    pub cloud: CloudApi,
    pub service: DesiredService,
    /// The service's own stream (its faults draw from it).
    pub service_rng: Stream,
    pub edge: Edge,
}

impl Plant {
    /// Builds the plant from its config sections: the fleet generated from
    /// `seed`, the desired-state service holding each cluster's initial
    /// desired state, correct routing, and a cloud with no pool yet (see
    /// [`Plant::provision`]) and delete locks off.
    pub fn build(fleet: &FleetConfig, cloud: &CloudConfig, edge_cells: u32, seed: Seed) -> Plant {
        let fleet = Fleet::generate(fleet, seed);
        let account_of: Vec<u32> = fleet.clusters.iter().map(|c| c.customer).collect();
        let cloud = CloudApi::new(
            cloud.clone(),
            account_of,
            fleet.customers,
            seed.fork(streams::CLOUD, 0),
        );
        let desired = (0..fleet.len() as ClusterId)
            .map(|c| fleet.initial_desired(c))
            .collect();
        Plant {
            fleet,
            cloud,
            service: DesiredService::new(desired),
            service_rng: seed.fork(streams::DESIRED_SERVICE, 0),
            edge: Edge::new(cell_layout(edge_cells, seed)),
        }
    }

    /// Puts `cluster`'s starting pools in the cloud, without calls.
    pub fn provision(&mut self, cluster: ClusterId, initial: InitialPools) {
        let ds = *self.service.state(cluster);
        for p in ds.pools.iter() {
            if initial == InitialPools::Desired || p == PoolName::System {
                self.cloud.provision(cluster, p, ds.nodes[p.index()]);
            }
        }
    }

    /// Provisions every cluster of the fleet.
    pub fn provision_all(&mut self, initial: InitialPools) {
        for c in 0..self.fleet.len() as ClusterId {
            self.provision(c, initial);
        }
    }

    /// What an agent's desired-state request gets: the default backend's
    /// 404 when the edge misroutes its cluster, else the service's answer.
    pub fn desired_answer(&mut self, cluster: ClusterId) -> DesiredAnswer {
        if self.edge.misroutes(cluster) {
            DesiredAnswer::NotFound
        } else {
            self.service.answer(cluster, &mut self.service_rng)
        }
    }

    /// A probe of `cluster`'s desired-state URL sent through the edge, as a
    /// script or an engineer would send it: the same answer an agent would
    /// get (404 when misrouted, the service's faults otherwise), with the
    /// prober's own stream for the faults so probing never shifts the
    /// agents' draws.
    pub fn probe(&self, cluster: ClusterId, rng: &mut Stream) -> DesiredAnswer {
        if self.edge.misroutes(cluster) {
            DesiredAnswer::NotFound
        } else {
            self.service.answer(cluster, rng)
        }
    }

    /// Whether a desired-state request of `cluster` would now be answered
    /// `Ok(ds)` for sure: routed to the service, which holds `ds` and has
    /// no fault. For the fleet driver's fast-forward (whether an agent may
    /// sleep), never for a decision under test.
    pub fn answers_for_sure(&self, cluster: ClusterId, ds: &DesiredState) -> bool {
        self.service.faults == ServiceFaults::default()
            && self.service.state(cluster) == ds
            && !self.edge.misroutes(cluster)
    }

    /// The edge's current routing version (for the fast-forward).
    pub fn edge_version(&self) -> u32 {
        self.edge.current().version
    }

    /// The route changes between edge version `old` and the current one.
    /// For the fast-forward: which sleeping agents a new version must wake.
    pub fn reroutes_since(&self, old: u32) -> Reroutes<'_> {
        Reroutes {
            old: self.edge.history().iter().find(|v| v.version == old),
            new: self.edge.current(),
        }
    }

    /// What `cluster` misses of full convergence, given its agent's status.
    pub fn convergence(&self, cluster: ClusterId, agent: AgentStatus) -> NotConverged {
        convergence(
            self.service.state(cluster),
            self.cloud.pools(cluster),
            agent,
        )
    }

    /// Whether every pool `cluster` should have is present (see
    /// [`wanted_pools_present`]): the cluster is restored.
    pub fn wanted_pools_present(&self, cluster: ClusterId) -> bool {
        wanted_pools_present(self.service.state(cluster), self.cloud.pools(cluster))
    }
}

/// Every desired pool without a tombstone is present with nodes: the
/// cluster works again (restoration ends here; convergence asks more).
pub fn wanted_pools_present(desired: &DesiredState, pools: &[PoolState; POOLS]) -> bool {
    (0..POOLS).all(|i| {
        let p = PoolName::from_index(i);
        let wanted = desired.pools.contains(p) && !desired.tombstones.contains(p);
        !wanted || pools[i].is_running()
    })
}

/// The one convergence predicate on pools: every desired pool without a
/// tombstone is present with nodes, and every tombstoned pool is gone (or
/// going, or scaled to zero awaiting collection under G8). Both tiers and
/// every report use it.
pub fn pools_converged(desired: &DesiredState, pools: &[PoolState; POOLS]) -> bool {
    (0..POOLS).all(|i| {
        let p = PoolName::from_index(i);
        let wanted = desired.pools.contains(p) && !desired.tombstones.contains(p);
        if wanted {
            pools[i].is_running()
        } else if desired.tombstones.contains(p) {
            pools[i].is_gone()
        } else {
            true
        }
    })
}

/// Which parts of convergence a cluster misses (empty: converged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotConverged {
    /// A desired pool is missing or empty.
    pub pools: bool,
    /// The agent is down.
    pub agent_down: bool,
    /// The agent is in safe hold.
    pub in_hold: bool,
    /// The agent has not applied the latest generation.
    pub stale_generation: bool,
    /// The agent's last poll failed.
    pub last_poll_failed: bool,
}

impl NotConverged {
    pub fn any(self) -> bool {
        self != NotConverged::default()
    }
}

/// The one full convergence predicate: the pools match the desired state
/// (tombstones honoured, [`pools_converged`]) and the agent is alive, out of
/// hold, has applied the latest generation and its last poll succeeded. An
/// agent stuck in hold cannot carry out the next change, so pools that
/// happen to match are not enough.
pub fn convergence(
    desired: &DesiredState,
    pools: &[PoolState; POOLS],
    agent: AgentStatus,
) -> NotConverged {
    NotConverged {
        pools: !pools_converged(desired, pools),
        agent_down: !agent.alive,
        in_hold: agent.alive && agent.in_hold,
        stale_generation: agent.alive && agent.generation != desired.generation,
        last_poll_failed: agent.alive && !agent.in_hold && !agent.last_poll_ok,
    }
}

/// Two edge versions, to tell whose desired-state route changed.
pub struct Reroutes<'a> {
    old: Option<&'a control::EdgeVersion>,
    new: &'a control::EdgeVersion,
}

impl Reroutes<'_> {
    /// Whether `cluster`'s route differs (true if the old version is unknown).
    pub fn changed(&self, cluster: ClusterId) -> bool {
        self.old.is_none_or(|old| {
            control::misrouted(old, cluster) != control::misrouted(self.new, cluster)
        })
    }
}

/// When an agent first polls and first prunes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentPhase {
    pub first_full_resync_at: SimTime,
    pub first_poll_at: SimTime,
    /// Its poll schedule while all is well.
    pub grid: PollGrid,
}

/// Agent `cluster`'s phases, drawn from its own stream: first the
/// full-resync phase, then the poll phase. From a run's start (`from` =
/// 0) they are the fleet tier's; a window starting at `from` continues
/// them: the full-resync grid keeps its phase, the first poll lands its
/// grid point at or after `from`. The agent needs no stream after these
/// draws: its poll jitter and backoff are counter-based draws keyed by the
/// agent (see [`PollGrid`]), the same in every tier.
pub fn agent_phase(seed: Seed, cluster: ClusterId, cfg: &AgentConfig, from: SimTime) -> AgentPhase {
    let mut rng = seed.fork(streams::AGENT, cluster as u64);
    let resync_phase = rng.uniform(0.0, cfg.full_resync_interval_s);
    let period = SimDuration::from_secs_f64(cfg.full_resync_interval_s);
    let mut resync = SimTime::ZERO + SimDuration::from_secs_f64(resync_phase);
    // Bounded: a scenario spans at most 366 days and `period` is positive.
    while resync < from {
        resync += period;
    }
    let poll_phase = rng.uniform(0.0, cfg.poll_interval_s);
    let grid = PollGrid::new(
        SimTime::ZERO + SimDuration::from_secs_f64(poll_phase),
        cfg,
        seed.keyed(streams::AGENT_POLLS, cluster as u64),
    );
    AgentPhase {
        first_full_resync_at: resync,
        first_poll_at: grid.first_at_or_after(from).1,
        grid,
    }
}

/// The edge's cell layout of a run (the seed chooses it).
pub fn cell_layout(edge_cells: u32, seed: Seed) -> CellLayout {
    CellLayout {
        cells: edge_cells,
        salt: seed.derive(streams::EDGE_CELLS, 0).0,
    }
}

/// The cells the route defect of change `name` hits in this run: which
/// ones is what nobody knew in advance, so the seed chooses.
pub fn defect_cells(edge_cells: u32, seed: Seed, name: &str, n: u32) -> u64 {
    control::defect_mask(
        edge_cells,
        n,
        seed.derive(streams::EDGE_CELLS, 1).0 ^ control::name_hash(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PoolSet;

    #[test]
    fn convergence_asks_for_pools_and_a_settled_agent() {
        let mut desired = DesiredState {
            generation: 4,
            ..DesiredState::default()
        };
        desired.pools.insert(PoolName::System);
        desired.nodes[PoolName::System.index()] = 3;
        let mut pools = [PoolState::Absent; POOLS];
        pools[PoolName::System.index()] = PoolState::Present { nodes: 3 };
        let ok = AgentStatus {
            alive: true,
            in_hold: false,
            generation: 4,
            last_poll_ok: true,
        };
        assert!(!convergence(&desired, &pools, ok).any());
        // Each missing part on its own makes the cluster unconverged.
        let held = AgentStatus {
            in_hold: true,
            last_poll_ok: false,
            ..ok
        };
        assert_eq!(
            convergence(&desired, &pools, held),
            NotConverged {
                in_hold: true,
                ..NotConverged::default()
            }
        );
        let behind = AgentStatus {
            generation: 3,
            ..ok
        };
        assert!(convergence(&desired, &pools, behind).stale_generation);
        let failing = AgentStatus {
            last_poll_ok: false,
            ..ok
        };
        assert!(convergence(&desired, &pools, failing).last_poll_failed);
        let dead = AgentStatus { alive: false, ..ok };
        assert_eq!(
            convergence(&desired, &pools, dead),
            NotConverged {
                agent_down: true,
                ..NotConverged::default()
            }
        );
        let mut lost = pools;
        lost[PoolName::System.index()] = PoolState::Absent;
        assert!(convergence(&desired, &lost, ok).pools);
        // A tombstoned pool is not wanted: its absence is convergence.
        desired.pools = PoolSet::EMPTY;
        desired.pools.insert(PoolName::System);
        desired.tombstones.insert(PoolName::System);
        assert!(!convergence(&desired, &lost, ok).any());
    }

    #[test]
    fn phases_match_the_fleet_tier_and_keep_the_resync_grid() {
        let cfg = AgentConfig::default();
        let seed = Seed(11);
        let p0 = agent_phase(seed, 7, &cfg, SimTime::ZERO);
        // The draws in their order: full-resync phase, then poll phase.
        let mut rng = seed.fork(streams::AGENT, 7);
        let r = rng.uniform(0.0, cfg.full_resync_interval_s);
        let p = rng.uniform(0.0, cfg.poll_interval_s);
        assert_eq!(
            p0.first_full_resync_at,
            SimTime::ZERO + SimDuration::from_secs_f64(r)
        );
        // The first poll is the grid's first point: its phase plus a
        // one-sided jitter below `poll_jitter_ratio` of the period.
        let phase = SimTime::ZERO + SimDuration::from_secs_f64(p);
        assert!(p0.first_poll_at >= phase);
        assert!(
            p0.first_poll_at.saturating_since(phase)
                < SimDuration::from_secs_f64(cfg.poll_interval_s * cfg.poll_jitter_ratio)
        );
        assert_eq!(p0.first_poll_at, p0.grid.at(0));
        let from = SimTime::from_secs(10 * 3_600);
        let p1 = agent_phase(seed, 7, &cfg, from);
        // A window starting later polls on the same grid.
        assert_eq!(p1.grid, p0.grid);
        let (k, at) = p0.grid.first_at_or_after(from);
        assert_eq!(p1.first_poll_at, at);
        assert!(at >= from && p0.grid.at(k - 1) < from);
        assert!(p1.first_full_resync_at >= from);
        let period = SimDuration::from_secs_f64(cfg.full_resync_interval_s);
        assert!(p1.first_full_resync_at.saturating_since(from) < period);
        let k =
            (p1.first_full_resync_at - p0.first_full_resync_at).as_micros() / period.as_micros();
        assert_eq!(
            p0.first_full_resync_at + period.saturating_mul(k),
            p1.first_full_resync_at
        );
    }
}
