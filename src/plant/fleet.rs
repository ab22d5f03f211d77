//! The fleet: data-plane clusters, their clouds, regions, owners and the
//! node pools they should have.

use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredState, PoolSet, POOLS};
use crate::types::{check_at_least, check_range, check_ratio, expect, Cloud};
use cascade_sim::{Seed, Stream};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Fleet parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// Data-plane clusters. \[A] 2,000 for the canonical replay (400 was the
    /// publicly stated fleet in 2023).
    pub clusters: u32,
    /// Share of clusters on AWS. \[A]
    pub aws_ratio: f64,
    /// Share of clusters on GCP (Azure takes the rest). \[A]
    pub gcp_ratio: f64,
    /// Regions per cloud. \[A]
    pub regions_per_cloud: u32,
    /// Mean clusters per customer (each customer is one cloud account). \[A]
    pub clusters_per_customer_mean: f64,
    /// Mean number of extra worker pools, Poisson, capped at 3. \[A]
    pub extra_worker_pools_mean: f64,
    /// Nodes per pool. \[A]
    pub nodes_per_pool: u16,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            clusters: 2_000,
            aws_ratio: 0.5,
            gcp_ratio: 0.25,
            regions_per_cloud: 4,
            clusters_per_customer_mean: 1.5,
            extra_worker_pools_mean: 0.7,
            nodes_per_pool: 3,
        }
    }
}

impl FleetConfig {
    pub fn validate(&self) -> Result<(), String> {
        check_range("clusters", self.clusters, 1, 1_000_000)?;
        check_ratio("aws_ratio", self.aws_ratio)?;
        check_ratio("gcp_ratio", self.gcp_ratio)?;
        expect(
            self.aws_ratio + self.gcp_ratio <= 1.0,
            "gcp_ratio",
            format!(
                "a share summing with aws_ratio ({}) to at most 1",
                self.aws_ratio
            ),
            self.gcp_ratio,
        )?;
        check_at_least("regions_per_cloud", self.regions_per_cloud, 1)?;
        check_at_least(
            "clusters_per_customer_mean",
            self.clusters_per_customer_mean,
            1.0,
        )?;
        check_range(
            "extra_worker_pools_mean",
            self.extra_worker_pools_mean,
            0.0,
            3.0,
        )?;
        check_at_least("nodes_per_pool", self.nodes_per_pool, 1)
    }
}

/// One data-plane cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub id: ClusterId,
    pub cloud: Cloud,
    pub region: u32,
    /// Owning customer; also the cloud account the node-pool API rate-limits by.
    pub customer: u32,
    /// The pools this cluster should have.
    pub desired_pools: PoolSet,
}

/// The generated fleet.
#[derive(Clone, Debug)]
pub struct Fleet {
    pub clusters: Vec<Cluster>,
    pub customers: u32,
    /// Cloud of each customer's account (all its clusters run there).
    pub customer_clouds: Vec<Cloud>,
    pub nodes_per_pool: u16,
}

impl Fleet {
    /// Generates the fleet from its own stream, so fleet shape does not move
    /// when other components draw differently.
    pub fn generate(cfg: &FleetConfig, seed: Seed) -> Fleet {
        let mut rng: Stream = seed.fork(super::streams::FLEET, 0);
        let mut clusters = Vec::with_capacity(cfg.clusters as usize);
        let mut customer = 0u32;
        let mut left_for_customer = 0u32;
        let mut cloud = Cloud::Aws;
        let mut customer_clouds = Vec::new();
        for id in 0..cfg.clusters {
            if left_for_customer == 0 {
                if id > 0 {
                    customer += 1;
                }
                // 1 + Poisson(mean - 1) clusters per customer, all in the
                // customer's one cloud account.
                left_for_customer = 1 + rng.poisson(cfg.clusters_per_customer_mean - 1.0) as u32;
                let u = rng.unit();
                cloud = if u < cfg.aws_ratio {
                    Cloud::Aws
                } else if u < cfg.aws_ratio + cfg.gcp_ratio {
                    Cloud::Gcp
                } else {
                    Cloud::Azure
                };
                customer_clouds.push(cloud);
            }
            left_for_customer -= 1;
            let region = rng.below(cfg.regions_per_cloud as u64) as u32;
            let mut pools = PoolSet::EMPTY;
            pools.insert(PoolName::System);
            pools.insert(PoolName::Airflow);
            pools.insert(PoolName::WorkerDefault);
            let extra = rng.poisson(cfg.extra_worker_pools_mean).min(3) as u8;
            for n in 1..=extra {
                pools.insert(PoolName::Worker(n));
            }
            clusters.push(Cluster {
                id,
                cloud,
                region,
                customer,
                desired_pools: pools,
            });
        }
        Fleet {
            clusters,
            customers: customer + 1,
            customer_clouds,
            nodes_per_pool: cfg.nodes_per_pool,
        }
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The desired state the control plane starts with for `cluster`.
    pub fn initial_desired(&self, cluster: ClusterId) -> DesiredState {
        let c = &self.clusters[cluster as usize];
        let mut nodes = [0u16; POOLS];
        for p in c.desired_pools.iter() {
            nodes[p.index()] = self.nodes_per_pool;
        }
        DesiredState {
            generation: 1,
            pools: c.desired_pools,
            nodes,
            tombstones: PoolSet::EMPTY,
            empty_explicit: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_shape_follows_its_parameters() {
        let f = Fleet::generate(&FleetConfig::default(), Seed(1));
        assert_eq!(f.len(), 2_000);
        let aws = f.clusters.iter().filter(|c| c.cloud == Cloud::Aws).count();
        let gcp = f.clusters.iter().filter(|c| c.cloud == Cloud::Gcp).count();
        assert!((aws as f64 / 2_000.0 - 0.5).abs() < 0.05, "aws {aws}");
        assert!((gcp as f64 / 2_000.0 - 0.25).abs() < 0.05, "gcp {gcp}");
        assert!(f
            .clusters
            .iter()
            .all(|c| f.customer_clouds[c.customer as usize] == c.cloud));
        let pools: u32 = f.clusters.iter().map(|c| c.desired_pools.len()).sum();
        // 3 base pools + E[min(Poisson(0.7), 3)] ~ 0.69 extra.
        let mean = pools as f64 / 2_000.0;
        assert!((mean - 3.69).abs() < 0.08, "mean pools {mean}");
        assert!(f
            .clusters
            .iter()
            .all(|c| c.desired_pools.contains(PoolName::System)));
        let per_customer = 2_000.0 / f.customers as f64;
        assert!(
            (per_customer - 1.5).abs() < 0.1,
            "clusters per customer {per_customer}"
        );
        // Deterministic.
        let g = Fleet::generate(&FleetConfig::default(), Seed(1));
        assert_eq!(f.clusters, g.clusters);
    }
}
