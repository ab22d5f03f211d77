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

pub mod cloud;
pub mod control;
pub mod fleet;
