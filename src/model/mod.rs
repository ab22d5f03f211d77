//! The logic under test: every decision-making piece whose behaviour the
//! harness verifies, each a sans-IO state machine (`handle_*(now, …)` in,
//! outputs returned, time passed in), testable without a world.
//!
//! Map of the modules:
//! - [`agent`]: the Harmony client, buggy or fixed (guards G1 to G8, each
//!   switchable), and its seeded bugs.
//! - [`bugs`]: the seeded-bug catalogue, every component's planted bugs.
//! - [`auth`]: the authentication path (traffic, auth component, HPA, Auth0
//!   vendor, mitigations), aggregated per tick.
//! - [`brake`]: G5's fleet-wide delete brake.
//! - [`change`]: change management: staging/prod, the prod freeze, the
//!   isolation switch whose absence let the E9 leak through.
//! - [`rollout`]: ships an agent version in waves with bake time and halt
//!   on alarm.
//! - [`operators`]: on-call paging (slower at night) and manual repair by
//!   a team of engineers through a bounded queue.
//! - [`recovery`]: the automated restore script: concurrency cap, retries
//!   with jittered backoff, pacing and pause under cloud rate limits.
//! - [`monitoring`]: customer reports, the pool-loss and agent-hold alerts,
//!   burn-rate alerts and auth incidents.
//! - [`responder`]: the incident-response playbook: detection and paging,
//!   restorations, diagnosis, the repair-or-hotfix decision, resolution.
//!
//! Architecture invariant: nothing here imports a driver (`world`, `wire`),
//! the reports, tokio, hyper or turmoil; `tests/harness/architecture.rs` reads the
//! sources and fails if one does. A machine sees only what it is handed.

pub mod agent;
pub mod auth;
pub mod brake;
pub mod bugs;
pub mod change;
pub mod monitoring;
pub mod operators;
pub mod recovery;
pub mod responder;
pub mod rollout;
