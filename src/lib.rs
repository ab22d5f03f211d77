//! `cascade`: the simulated world of the March 2025 incident chain, its
//! scenarios, checks and reports, and the `cascade` command.
//!
//! Map of the modules:
//! - [`protocol`]: the wire vocabulary every side shares (cluster ids, pool
//!   names and sets, desired state, answers, pool states).
//! - [`types`]: clouds, environments, validation helpers.
//! - [`agent`]: the Harmony client as a sans-IO state machine, buggy or fixed
//!   (guards G1 to G8, each switchable).
//! - [`fleet`]: the generated clusters (cloud, region, customer, desired pools).
//! - [`cloud`]: the cloud node-pool API (latencies, per-account rate limit,
//!   delete locks).
//! - [`control`]: the desired-state service and the versioned edge routing
//!   that can misroute it to a 404-answering default backend.
//! - [`auth`]: the authentication path (traffic, auth component, HPA, Auth0
//!   vendor, mitigations), aggregated per tick (incidents E1 to E3).
//! - [`chaos`]: chaos exploration: seeds to fault schedules, safety and
//!   liveness verdicts, shrinking to a minimal scenario.
//! - [`change`]: change management: staging/prod, the prod freeze, the
//!   isolation switch whose absence let the E9 leak through.
//! - [`rollout`]: ships an agent version in waves with bake time and halt on alarm.
//! - [`operators`]: on-call paging (slower at night) and manual repair by a
//!   team of engineers through a bounded queue.
//! - [`recovery`]: the automated restore script: concurrency cap, retries
//!   with jittered backoff, pacing and pause under cloud rate limits.
//! - [`config`]: every model parameter in one serializable tree.
//! - [`timeline`]: the scenario's typed actions at simulated times.
//! - [`world`]: all components wired to the kernel's event loop.
//! - [`checks`]: invariants I1 to I10 and the findings they produce.
//! - [`metrics`]: counters, per-minute series, loss episodes.
//! - [`scenario`]: scenario files (JSON, `extends`, clear errors).
//! - [`expect`]: typed expectations checked against a run's summary.
//! - [`summary`]: the run summary behind `--json`, `summary.json` and reports.
//! - [`run`]: runs a scenario with a seed and checks its expectations.
//! - [`report`]: the summary builder and the terminal text.
//! - [`wire`]: the wire tier (the agent and servers behind real HTTP in
//!   turmoil) and the live tier (the same on loopback sockets).

pub use cascade_sim as sim;

pub mod chaos;
pub mod checks;
pub mod config;
pub mod effects;
pub mod expect;
pub mod metrics;
pub mod model;
pub mod plant;
pub mod protocol;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod summary;
pub mod timeline;
pub mod types;
pub mod wire;
pub mod world;
