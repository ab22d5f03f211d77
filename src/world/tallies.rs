//! Fleet-wide counts kept as things happen, so the once-a-minute books
//! read them in O(1) instead of scanning the fleet (at 100,000 clusters a
//! scan a minute was most of a run's time). Each count is checked against
//! a scan of the fleet at the end of every run.

use super::{cloud_index, World};
use crate::protocol::{ClusterId, PoolName};

/// The counts, and what they need to notice changes.
#[derive(Clone, Debug, Default)]
pub(super) struct Tallies {
    /// Agents not alive (their `system` pool lost).
    pub agents_down: u32,
    /// Agents alive and in safe hold.
    pub agents_held: u32,
    /// Per cluster: its Airflow does not run (`system` or `airflow` pool
    /// not running).
    airflow_down: Vec<bool>,
    /// Per customer: its clusters whose Airflow does not run.
    down_clusters: Vec<u32>,
    /// Customers with at least one such cluster, by cloud.
    pub customers_down: [u32; 3],
}

impl Tallies {
    pub fn new(clusters: usize, customers: usize) -> Tallies {
        Tallies {
            airflow_down: vec![false; clusters],
            down_clusters: vec![0; customers],
            ..Tallies::default()
        }
    }
}

impl World {
    /// Whether cluster `c`'s Airflow runs (its `system` and `airflow`
    /// pools both running), as the cloud lists them.
    fn airflow_runs(&self, c: ClusterId) -> bool {
        let p = self.plant.cloud.pools(c);
        p[PoolName::System.index()].is_running() && p[PoolName::Airflow.index()].is_running()
    }

    /// After cluster `c`'s pools may have changed.
    pub(super) fn tally_pools(&mut self, c: ClusterId) {
        let down = !self.airflow_runs(c);
        let t = &mut self.tallies;
        if t.airflow_down[c as usize] == down {
            return;
        }
        t.airflow_down[c as usize] = down;
        let cluster = &self.plant.fleet.clusters[c as usize];
        let n = &mut t.down_clusters[cluster.customer as usize];
        let cloud = cloud_index(cluster.cloud);
        if down {
            *n += 1;
            if *n == 1 {
                t.customers_down[cloud] += 1;
            }
        } else {
            *n -= 1;
            if *n == 0 {
                t.customers_down[cloud] -= 1;
            }
        }
    }

    /// Checks every count against a scan of the fleet (at the run's end):
    /// a mismatch is a bug of the driver, not of the model.
    pub(super) fn verify_tallies(&self) {
        let down = self.agents.iter().filter(|a| !a.is_alive()).count() as u32;
        let held = self
            .agents
            .iter()
            .filter(|a| a.is_alive() && a.in_hold())
            .count() as u32;
        let mut seen = vec![false; self.plant.fleet.customers as usize];
        let mut customers_down = [0u32; 3];
        for c in &self.plant.fleet.clusters {
            if !self.airflow_runs(c.id) && !seen[c.customer as usize] {
                seen[c.customer as usize] = true;
                customers_down[cloud_index(c.cloud)] += 1;
            }
        }
        let t = &self.tallies;
        assert_eq!(
            (t.agents_down, t.agents_held, t.customers_down),
            (down, held, customers_down),
            "fleet tallies (agents down, agents held, customers down by cloud) drifted from a scan"
        );
    }
}
