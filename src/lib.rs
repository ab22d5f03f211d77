//! `cascade`: the simulated world of the March 2025 incident chain, its
//! scenarios, checks and reports, and the `cascade` command.
//!
//! Map of the modules:
//! - [`types`]: domain vocabulary (clusters, clouds, pools, environments).
//! - [`agent`]: the Harmony client as a sans-IO state machine, buggy or fixed
//!   (guards G1 to G8, each switchable).
//! - [`fleet`]: the generated clusters (cloud, region, customer, desired pools).
//! - [`cloud`]: the cloud node-pool API (latencies, per-account rate limit,
//!   delete locks).
//! - [`control`]: the desired-state service and the versioned edge routing
//!   that can misroute it to a 404-answering default backend.
//! - [`config`]: every model parameter in one serializable tree.
//! - [`timeline`]: the scenario's typed actions at simulated times.
//! - [`world`]: all components wired to the kernel's event loop.
//! - [`checks`]: invariants I1 to I10 and the findings they produce.
//! - [`metrics`]: counters, per-minute series, loss episodes.

pub use cascade_sim as sim;

pub mod agent;
pub mod checks;
pub mod cloud;
pub mod config;
pub mod control;
pub mod fleet;
pub mod metrics;
pub mod timeline;
pub mod types;
pub mod world;
