//! `cascade`: the simulated world of the March 2025 incident chain, its
//! scenarios, checks and reports, and the `cascade` command.
//!
//! Map of the modules:
//! - [`types`]: domain vocabulary (clusters, clouds, pools, environments).
//! - [`agent`]: the Harmony client as a sans-IO state machine, buggy or fixed
//!   (guards G1 to G8, each switchable).

pub use cascade_sim as sim;

pub mod agent;
pub mod types;
