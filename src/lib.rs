//! `cascade`: the simulated world of the March 2025 incident chain, its
//! scenarios, checks and reports, and the `cascade` command.
//!
//! Map of the modules:
//! - [`types`]: domain vocabulary (clusters, clouds, pools, environments).

pub use cascade_sim as sim;

pub mod types;
