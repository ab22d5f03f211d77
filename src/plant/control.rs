//! The control plane's desired-state service (Harmony) and the edge routing
//! in front of it.
//!
//! The service holds each cluster's desired state with a generation that only
//! grows, explicit empties and delete intents (tombstones). The edge holds a
//! versioned routing table; a version may misroute the desired-state path to
//! the default backend, which answers 404, for every cluster or for a
//! deterministic fraction of them (a cluster is hit when a hash of its id and
//! the version's salt falls below the fraction, so the same clusters are hit
//! on every run and by every tier).

use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredAnswer, DesiredState};
use cascade_sim::rng::mix64;
use cascade_sim::{SimTime, Stream};

/// Faults the desired-state service can be put into (chaos and focused scenarios).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServiceFaults {
    /// Share of requests answered 5xx.
    pub server_error_ratio: f64,
    /// Share of requests that time out.
    pub timeout_ratio: f64,
    /// Serve a generation this many steps old (a lagging replica), with the
    /// pools it had then; 0 = off.
    pub generation_regression: u64,
    /// Share of answers that leave out the cluster's highest extra worker pool.
    pub partial_ratio: f64,
}

/// The desired-state service.
pub struct DesiredService {
    states: Vec<DesiredState>,
    /// Desired state as of the previous generation, for regressions.
    previous: Vec<DesiredState>,
    pub faults: ServiceFaults,
}

impl DesiredService {
    pub fn new(initial: Vec<DesiredState>) -> Self {
        DesiredService {
            previous: initial.clone(),
            states: initial,
            faults: ServiceFaults::default(),
        }
    }

    /// Clusters the service holds a state for (ids `0..len`).
    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    pub fn state(&self, cluster: ClusterId) -> &DesiredState {
        &self.states[cluster as usize]
    }

    /// A customer adds `pool` with `nodes` nodes (clearing a tombstone left
    /// by an earlier removal), or resizes a pool it has to `nodes`.
    pub fn set_pool(&mut self, cluster: ClusterId, pool: PoolName, nodes: u16) {
        let c = cluster as usize;
        self.previous[c] = self.states[c];
        let s = &mut self.states[c];
        s.pools.insert(pool);
        s.tombstones.remove(pool);
        s.nodes[pool.index()] = nodes;
        s.generation += 1;
    }

    /// Records a delete intent for `pool` (a customer removes a worker pool).
    pub fn tombstone(&mut self, cluster: ClusterId, pool: PoolName) {
        let c = cluster as usize;
        self.previous[c] = self.states[c];
        let s = &mut self.states[c];
        s.pools.remove(pool);
        s.tombstones.insert(pool);
        s.generation += 1;
    }

    /// Answers a request that reached the service.
    pub fn answer(&self, cluster: ClusterId, rng: &mut Stream) -> DesiredAnswer {
        let f = self.faults;
        if f.server_error_ratio > 0.0 && rng.bernoulli(f.server_error_ratio) {
            return DesiredAnswer::ServerError;
        }
        if f.timeout_ratio > 0.0 && rng.bernoulli(f.timeout_ratio) {
            return DesiredAnswer::Timeout;
        }
        let c = cluster as usize;
        if f.partial_ratio > 0.0 && rng.bernoulli(f.partial_ratio) {
            let mut partial = self.states[c];
            if let Some(p) = partial
                .pools
                .iter()
                .filter(|p| matches!(p, PoolName::Worker(_)))
                .last()
            {
                partial.pools.remove(p);
            }
            return DesiredAnswer::Ok(partial);
        }
        if f.generation_regression > 0 {
            let mut old = self.previous[c];
            old.generation = self.states[c]
                .generation
                .saturating_sub(f.generation_regression);
            return DesiredAnswer::Ok(old);
        }
        DesiredAnswer::Ok(self.states[c])
    }
}

/// One version of the edge routing table.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeVersion {
    pub version: u32,
    /// Share of clusters whose desired-state path goes to the default backend.
    pub misroute_ratio: f64,
    /// Salt of the deterministic choice of misrouted clusters.
    pub misroute_salt: u64,
    /// What set this version (a change id or a note).
    pub set_by: String,
    pub at: SimTime,
}

/// The edge: versioned routing in front of the control plane.
pub struct Edge {
    history: Vec<EdgeVersion>,
}

impl Default for Edge {
    fn default() -> Self {
        Edge::new()
    }
}

impl Edge {
    pub fn new() -> Self {
        Edge {
            history: vec![EdgeVersion {
                version: 1,
                misroute_ratio: 0.0,
                misroute_salt: 0,
                set_by: "initial".into(),
                at: SimTime::ZERO,
            }],
        }
    }

    pub fn current(&self) -> &EdgeVersion {
        self.history.last().expect("edge has a version")
    }

    pub fn history(&self) -> &[EdgeVersion] {
        &self.history
    }

    /// Applies a new routing version; returns its number.
    pub fn apply(
        &mut self,
        now: SimTime,
        misroute_ratio: f64,
        misroute_salt: u64,
        set_by: &str,
    ) -> u32 {
        let version = self.current().version + 1;
        self.history.push(EdgeVersion {
            version,
            misroute_ratio: misroute_ratio.clamp(0.0, 1.0),
            misroute_salt,
            set_by: set_by.to_string(),
            at: now,
        });
        version
    }

    /// Rolls back to a correct routing (a new version without misroute).
    pub fn fix(&mut self, now: SimTime, set_by: &str) -> u32 {
        self.apply(now, 0.0, 0, set_by)
    }

    /// Whether `cluster`'s desired-state requests reach the default backend.
    pub fn misroutes(&self, cluster: ClusterId) -> bool {
        misrouted(self.current(), cluster)
    }
}

/// The deterministic choice of misrouted clusters for a routing version.
pub fn misrouted(v: &EdgeVersion, cluster: ClusterId) -> bool {
    if v.misroute_ratio <= 0.0 {
        return false;
    }
    if v.misroute_ratio >= 1.0 {
        return true;
    }
    let h = mix64(cluster as u64 ^ mix64(v.misroute_salt));
    (h as f64 / u64::MAX as f64) < v.misroute_ratio
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::Seed;

    #[test]
    fn misroute_fraction_is_deterministic_and_close_to_its_ratio() {
        let mut edge = Edge::new();
        assert!(!edge.misroutes(7));
        edge.apply(SimTime::from_secs(10), 0.15, 42, "R1");
        let hit: Vec<u32> = (0..2_000).filter(|&c| edge.misroutes(c)).collect();
        assert!(
            (hit.len() as f64 / 2_000.0 - 0.15).abs() < 0.02,
            "{}",
            hit.len()
        );
        let again: Vec<u32> = (0..2_000).filter(|&c| edge.misroutes(c)).collect();
        assert_eq!(hit, again);
        edge.fix(SimTime::from_secs(20), "revert R1");
        assert!((0..2_000).all(|c| !edge.misroutes(c)));
        assert_eq!(edge.current().version, 3);
    }

    #[test]
    fn generations_only_grow_and_tombstones_are_served() {
        let mut ds = DesiredState {
            generation: 1,
            ..DesiredState::default()
        };
        ds.pools.insert(PoolName::System);
        ds.pools.insert(PoolName::Worker(1));
        let mut svc = DesiredService::new(vec![ds]);
        svc.tombstone(0, PoolName::Worker(1));
        let mut rng = Seed(1).fork("svc", 0);
        let DesiredAnswer::Ok(a) = svc.answer(0, &mut rng) else {
            panic!()
        };
        assert_eq!(a.generation, 2);
        assert!(a.tombstones.contains(PoolName::Worker(1)));
        assert!(!a.pools.contains(PoolName::Worker(1)));
        svc.faults.generation_regression = 1;
        let DesiredAnswer::Ok(old) = svc.answer(0, &mut rng) else {
            panic!()
        };
        assert_eq!(old.generation, 1);
        assert!(old.pools.contains(PoolName::Worker(1)));
    }
}
