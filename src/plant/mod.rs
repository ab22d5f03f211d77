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
//!
//! Here, in this file: [`Plant`], the one constructor that the fleet world,
//! the wire harness and the live tier all build their infrastructure with;
//! [`agent_phase`], the agent's phase draws in one place; and
//! [`pools_converged`], the one convergence predicate.

pub mod cloud;
pub mod control;
pub mod fleet;
pub mod streams;

use crate::model::agent::AgentConfig;
use crate::protocol::{ClusterId, DesiredAnswer, DesiredState, PoolName, PoolState, POOLS};
use cascade_sim::{Seed, SimDuration, SimTime, Stream};
use cloud::{CloudApi, CloudConfig};
use control::{DesiredService, Edge};
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
    pub fn build(fleet: &FleetConfig, cloud: &CloudConfig, seed: Seed) -> Plant {
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
            edge: Edge::new(),
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

    /// Whether every pool `cluster` should have is present (see [`pools_converged`]).
    pub fn pools_converged(&self, cluster: ClusterId) -> bool {
        pools_converged(self.service.state(cluster), self.cloud.pools(cluster))
    }
}

/// The one convergence predicate on pools: every desired pool without a
/// tombstone is present with nodes. Both tiers and every report use it.
pub fn pools_converged(desired: &DesiredState, pools: &[PoolState; POOLS]) -> bool {
    (0..POOLS).all(|i| {
        let p = PoolName::from_index(i);
        let wanted = desired.pools.contains(p) && !desired.tombstones.contains(p);
        !wanted || matches!(pools[i], PoolState::Present { nodes } if nodes > 0)
    })
}

/// When an agent first polls and first prunes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentPhase {
    pub first_full_resync_at: SimTime,
    pub first_poll_at: SimTime,
}

/// Agent `cluster`'s phases, drawn from its own stream: first the
/// full-resync phase, then the poll phase. From a run's start (`from` =
/// 0) they are the fleet tier's; a window starting at `from` continues
/// them: the full-resync grid keeps its phase, the first poll lands its
/// phase after `from`. Returns the stream positioned after the draws, so
/// later jitter draws match in every tier.
pub fn agent_phase(
    seed: Seed,
    cluster: ClusterId,
    cfg: &AgentConfig,
    from: SimTime,
) -> (AgentPhase, Stream) {
    let mut rng = seed.fork(streams::AGENT, cluster as u64);
    let resync_phase = rng.uniform(0.0, cfg.full_resync_interval_s);
    let period = SimDuration::from_secs_f64(cfg.full_resync_interval_s);
    let mut resync = SimTime::ZERO + SimDuration::from_secs_f64(resync_phase);
    // Bounded: a scenario spans at most 366 days and `period` is positive.
    while resync < from {
        resync += period;
    }
    let poll_phase = rng.uniform(0.0, cfg.poll_interval_s);
    (
        AgentPhase {
            first_full_resync_at: resync,
            first_poll_at: from + SimDuration::from_secs_f64(poll_phase),
        },
        rng,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_match_the_fleet_tier_and_keep_the_resync_grid() {
        let cfg = AgentConfig::default();
        let seed = Seed(11);
        let (p0, _) = agent_phase(seed, 7, &cfg, SimTime::ZERO);
        // The draws in their order: full-resync phase, then poll phase.
        let mut rng = seed.fork(streams::AGENT, 7);
        let r = rng.uniform(0.0, cfg.full_resync_interval_s);
        let p = rng.uniform(0.0, cfg.poll_interval_s);
        assert_eq!(
            p0.first_full_resync_at,
            SimTime::ZERO + SimDuration::from_secs_f64(r)
        );
        assert_eq!(
            p0.first_poll_at,
            SimTime::ZERO + SimDuration::from_secs_f64(p)
        );
        let from = SimTime::from_secs(10 * 3_600);
        let (p1, _) = agent_phase(seed, 7, &cfg, from);
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
