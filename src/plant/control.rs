//! The control plane's desired-state service (Harmony) and the edge routing
//! in front of it.
//!
//! The service holds each cluster's desired state with a generation that only
//! grows, explicit empties and delete intents (tombstones). The edge holds a
//! versioned routing table; a version may misroute the desired-state path to
//! the default backend, which answers 404:
//! - **by cell** (the mechanism of the replay): the edge serves clusters
//!   from `network.edge_cells` cells, each with its own copy of the route
//!   rules \[A]; a change whose route rule does not match the desired-state
//!   path in some cells (`route_defect_cells`) misroutes every cluster of
//!   those cells. Which cells the defect hits and which cell serves which
//!   cluster are what nobody knew in advance: the run seed chooses them
//!   ([`CellLayout`], [`defect_mask`]).
//! - **by share** (a fault injection for chaos and the live tier's admin
//!   API): a cluster is hit when a hash of its id and the version's salt
//!   falls below `misroute_ratio`.
//!
//! Both are pure functions of the version and the cluster, so every tier
//! computes the same set. How a change reaches the cells in time is
//! [`pipeline_deploy_at`]: the edge configuration pipeline soaks a change
//! and deploys it in a nightly window \[A], so R1 (D3 15:05) reaches the
//! cells on D4 22:00.

use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredAnswer, DesiredState};
use cascade_sim::rng::mix64;
use cascade_sim::{Epoch, SimDuration, SimTime, Stream};

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

/// A routing change applied to prod, as it lands on the edge: when it
/// reaches the cells, and which cells its route defect hits.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteLanding {
    pub change: crate::model::change::RouteChange,
    /// At once, or at the edge configuration pipeline's deploy.
    pub at: SimTime,
    /// Cells whose route misses the desired-state path (bit k = cell k).
    pub cells_mask: u64,
}

/// One version of the edge routing table.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeVersion {
    pub version: u32,
    /// Share of clusters whose desired-state path goes to the default backend.
    pub misroute_ratio: f64,
    /// Salt of the deterministic choice of misrouted clusters.
    pub misroute_salt: u64,
    /// Cells whose route rule misses the desired-state path (bit k = cell k).
    pub misroute_cells: u64,
    /// Which cell serves which cluster.
    pub layout: CellLayout,
    /// What set this version (a change id or a note).
    pub set_by: String,
    pub at: SimTime,
}

/// Most edge cells (a version's defect is a 64-bit mask).
pub const EDGE_CELLS_MAX: u32 = 64;

/// How clusters are spread over the edge's cells: `cells` cells, a
/// cluster's cell from a hash of its id and the run's `salt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellLayout {
    pub cells: u32,
    pub salt: u64,
}

impl CellLayout {
    /// The cell serving `cluster` (0 when the edge has no cells).
    pub fn cell_of(&self, cluster: ClusterId) -> u32 {
        if self.cells == 0 {
            return 0;
        }
        (mix64(cluster as u64 ^ self.salt) % self.cells as u64) as u32
    }
}

/// The cells a route defect hits: `n` distinct cells of `cells`, chosen by
/// `salt` (the run seed and the change's name). Pure, so every tier agrees.
pub fn defect_mask(cells: u32, n: u32, salt: u64) -> u64 {
    let cells = cells.min(EDGE_CELLS_MAX);
    let n = n.min(cells);
    let mut mask = 0u64;
    let mut i = 0u64;
    // Each draw hits a free cell with probability >= 1/64: bounded in practice,
    // and a hard cap keeps it bounded in theory (then the lowest free cells).
    while mask.count_ones() < n && i < 100_000 {
        mask |= 1 << (mix64(salt ^ mix64(i)) % cells as u64);
        i += 1;
    }
    let mut k = 0;
    while mask.count_ones() < n {
        mask |= 1 << k;
        k += 1;
    }
    mask
}

/// A stable hash of a change's name (FNV-1a), to key its defect's cells.
pub fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// When a change applied to prod at `applied_at` through the edge
/// configuration pipeline reaches the edge cells: after `soak_h` (it soaks
/// in staging and a canary first), at the next nightly window starting at
/// `window_hour_utc` \[A].
pub fn pipeline_deploy_at(
    applied_at: SimTime,
    epoch: Epoch,
    soak_h: f64,
    window_hour_utc: u32,
) -> SimTime {
    let ready = applied_at + SimDuration::from_secs_f64(soak_h * 3_600.0);
    // Whole hours from `ready` to the window (0..24), then to the hour's start.
    let secs = (epoch.unix_secs + ready.as_secs() as i64).rem_euclid(86_400) as u64;
    let into_hour = secs % 3_600;
    let hour = (secs / 3_600) as u32;
    if hour == window_hour_utc && into_hour == 0 {
        return ready;
    }
    let hours_ahead = (window_hour_utc + 24 - hour - 1) % 24;
    ready + SimDuration::from_secs(3_600 - into_hour + hours_ahead as u64 * 3_600)
}

/// The edge: versioned routing in front of the control plane.
pub struct Edge {
    history: Vec<EdgeVersion>,
    layout: CellLayout,
}

impl Default for Edge {
    fn default() -> Self {
        Edge::new(CellLayout::default())
    }
}

impl Edge {
    pub fn new(layout: CellLayout) -> Self {
        Edge {
            history: vec![EdgeVersion {
                version: 1,
                misroute_ratio: 0.0,
                misroute_salt: 0,
                misroute_cells: 0,
                layout,
                set_by: "initial".into(),
                at: SimTime::ZERO,
            }],
            layout,
        }
    }

    pub fn layout(&self) -> CellLayout {
        self.layout
    }

    pub fn current(&self) -> &EdgeVersion {
        self.history.last().expect("edge has a version")
    }

    pub fn history(&self) -> &[EdgeVersion] {
        &self.history
    }

    /// Applies a new routing version misrouting a share; returns its number.
    pub fn apply(
        &mut self,
        now: SimTime,
        misroute_ratio: f64,
        misroute_salt: u64,
        set_by: &str,
    ) -> u32 {
        self.apply_routing(now, misroute_ratio, misroute_salt, 0, set_by)
    }

    /// Applies a new routing version: a misrouted share (`ratio`, `salt`)
    /// and/or cells whose route misses the path (`cells_mask`).
    pub fn apply_routing(
        &mut self,
        now: SimTime,
        misroute_ratio: f64,
        misroute_salt: u64,
        cells_mask: u64,
        set_by: &str,
    ) -> u32 {
        let version = self.current().version + 1;
        self.history.push(EdgeVersion {
            version,
            misroute_ratio: misroute_ratio.clamp(0.0, 1.0),
            misroute_salt,
            misroute_cells: cells_mask,
            layout: self.layout,
            set_by: set_by.to_string(),
            at: now,
        });
        version
    }

    /// Applies a routing change as it lands: a new version set by the
    /// change's name.
    pub fn apply_route(&mut self, landing: &RouteLanding) -> u32 {
        let c = &landing.change;
        self.apply_routing(
            landing.at,
            c.misroute_ratio,
            c.misroute_salt,
            landing.cells_mask,
            &c.name,
        )
    }

    /// Rolls back to a correct routing (a new version without misroute).
    pub fn fix(&mut self, now: SimTime, set_by: &str) -> u32 {
        self.apply_routing(now, 0.0, 0, 0, set_by)
    }

    /// Whether `cluster`'s desired-state requests reach the default backend.
    pub fn misroutes(&self, cluster: ClusterId) -> bool {
        misrouted(self.current(), cluster)
    }
}

/// The deterministic choice of misrouted clusters for a routing version.
pub fn misrouted(v: &EdgeVersion, cluster: ClusterId) -> bool {
    if v.misroute_cells != 0 && v.misroute_cells >> v.layout.cell_of(cluster) & 1 == 1 {
        return true;
    }
    picked(v.misroute_ratio, v.misroute_salt, cluster)
}

/// Whether `cluster` is among the `ratio` share of the fleet that `salt`
/// picks: a deterministic choice, the same in every run and every tier.
pub fn picked(ratio: f64, salt: u64, cluster: ClusterId) -> bool {
    if ratio <= 0.0 {
        return false;
    }
    if ratio >= 1.0 {
        return true;
    }
    let h = mix64(cluster as u64 ^ mix64(salt));
    (h as f64 / u64::MAX as f64) < ratio
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::Seed;

    #[test]
    fn the_pipeline_deploys_after_the_soak_in_the_next_nightly_window() {
        let epoch = Epoch::parse("2025-03-18T00:00:00Z").unwrap();
        let at = |d: u64, h: u64, m: u64| SimTime::from_secs(d * 86_400 + h * 3_600 + m * 60);
        // (applied, soak h, window hour, deployed)
        let cases = [
            // R1 on D3 15:05: ready D4 15:05, deployed D4 22:00 (the record's 404s).
            (at(3, 15, 5), 24.0, 22, at(4, 22, 0)),
            // A day later, a day later.
            (at(4, 15, 5), 24.0, 22, at(5, 22, 0)),
            // Ready exactly at the window: that window; a minute past: the next.
            (at(3, 22, 0), 24.0, 22, at(4, 22, 0)),
            (at(3, 22, 1), 24.0, 22, at(5, 22, 0)),
            // No soak, window at midnight.
            (at(0, 23, 59), 0.0, 0, at(1, 0, 0)),
        ];
        for (applied, soak_h, hour, deployed) in cases {
            assert_eq!(
                pipeline_deploy_at(applied, epoch, soak_h, hour),
                deployed,
                "{applied:?}"
            );
        }
        // The window is UTC: an epoch at 06:00 UTC shifts the day clock.
        let e6 = Epoch::parse("2025-03-18T06:00:00Z").unwrap();
        assert_eq!(pipeline_deploy_at(at(0, 0, 0), e6, 0.0, 22), at(0, 16, 0));
    }

    #[test]
    fn a_route_defect_hits_whole_cells_chosen_by_the_salt() {
        let layout = CellLayout {
            cells: 24,
            salt: 77,
        };
        let mask = defect_mask(24, 2, 5);
        assert_eq!(mask.count_ones(), 2);
        assert_eq!(defect_mask(24, 2, 5), mask, "pure");
        assert_ne!(defect_mask(24, 2, 6), mask, "another salt, other cells");
        assert_eq!(defect_mask(24, 24, 5), (1 << 24) - 1, "every cell");
        assert_eq!(defect_mask(24, 99, 5), (1 << 24) - 1, "at most every cell");
        let mut edge = Edge::new(layout);
        edge.apply_routing(SimTime::from_secs(1), 0.0, 0, mask, "R1");
        let hit: Vec<u32> = (0..2_000).filter(|&c| edge.misroutes(c)).collect();
        // Exactly the clusters of the two cells (~1/12 of the fleet).
        assert!(hit.iter().all(|&c| mask >> layout.cell_of(c) & 1 == 1));
        assert_eq!(
            hit.len(),
            (0..2_000)
                .filter(|&c| mask >> layout.cell_of(c) & 1 == 1)
                .count()
        );
        assert!((120..220).contains(&hit.len()), "{}", hit.len());
        // Another layout (another seed) puts other clusters in those cells.
        let other = Edge::new(CellLayout {
            cells: 24,
            salt: 78,
        });
        let mut other = other;
        other.apply_routing(SimTime::from_secs(1), 0.0, 0, mask, "R1");
        let hit2: Vec<u32> = (0..2_000).filter(|&c| other.misroutes(c)).collect();
        assert_ne!(hit, hit2);
        edge.fix(SimTime::from_secs(2), "revert");
        assert!((0..2_000).all(|c| !edge.misroutes(c)));
    }

    #[test]
    fn misroute_fraction_is_deterministic_and_close_to_its_ratio() {
        let mut edge = Edge::default();
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
