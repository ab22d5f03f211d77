//! Fleet-wide counts kept as things happen, so the once-a-minute books
//! read them in O(1) instead of scanning the fleet (at 100,000 clusters a
//! scan a minute was most of a run's time). Each count is checked against
//! a scan of the fleet at the end of every run.
//!
//! Owns: [`Tallies`], a part of the fleet part. Touches nothing: it reads
//! the plant's cloud listing and fleet layout it is handed.

use super::cloud_index;
use crate::model::agent::Agent;
use crate::plant::Plant;
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

/// Whether cluster `c`'s Airflow runs (its `system` and `airflow` pools
/// both running), as the cloud lists them.
fn airflow_runs(plant: &Plant, c: ClusterId) -> bool {
    let p = plant.cloud.pools(c);
    p[PoolName::System.index()].is_running() && p[PoolName::Airflow.index()].is_running()
}

impl Tallies {
    /// After cluster `c`'s pools may have changed.
    pub fn tally_pools(&mut self, plant: &Plant, c: ClusterId) {
        let down = !airflow_runs(plant, c);
        if self.airflow_down[c as usize] == down {
            return;
        }
        self.airflow_down[c as usize] = down;
        let cluster = &plant.fleet.clusters[c as usize];
        let n = &mut self.down_clusters[cluster.customer as usize];
        let cloud = cloud_index(cluster.cloud);
        if down {
            *n += 1;
            if *n == 1 {
                self.customers_down[cloud] += 1;
            }
        } else {
            *n -= 1;
            if *n == 0 {
                self.customers_down[cloud] -= 1;
            }
        }
    }

    /// Checks every count against a scan of the fleet (at the run's end):
    /// a mismatch is a bug of the driver, not of the model.
    pub fn verify(&self, agents: &[Agent], plant: &Plant) {
        let down = agents.iter().filter(|a| !a.is_alive()).count() as u32;
        let held = agents
            .iter()
            .filter(|a| a.is_alive() && a.in_hold())
            .count() as u32;
        let mut seen = vec![false; plant.fleet.customers as usize];
        let mut customers_down = [0u32; 3];
        for c in &plant.fleet.clusters {
            if !airflow_runs(plant, c.id) && !seen[c.customer as usize] {
                seen[c.customer as usize] = true;
                customers_down[cloud_index(c.cloud)] += 1;
            }
        }
        assert_eq!(
            (self.agents_down, self.agents_held, self.customers_down),
            (down, held, customers_down),
            "fleet tallies (agents down, agents held, customers down by cloud) drifted from a scan"
        );
    }
}
