//! `cascade`: the simulated world of the March 2025 incident chain, its
//! scenarios, checks and reports, and the `cascade` command.
//!
//! Map of the modules, by room:
//!
//! The logic under test and what it runs on:
//! - [`protocol`]: the wire vocabulary every side shares (cluster ids, pool
//!   names and sets, desired state, answers, pool states).
//! - [`types`]: clouds, environments, night hours, validation helpers.
//! - [`model`]: the logic under test, each piece a sans-IO state machine:
//!   agent, auth, change management, rollout, operators, recovery script,
//!   monitoring, responder, the G5 fleet brake.
//! - [`plant`]: the simulated infrastructure both tiers serve: fleet,
//!   cloud node-pool API, desired-state service and edge, one constructor,
//!   the random streams' names.
//!
//! Shared by the drivers:
//! - [`effects`]: the timeline interpreter (an item's begin or end as typed
//!   effects).
//! - [`checks`]: invariants I1 to I9, I11 and I12 as pure predicates, and
//!   findings (I10, one state per pool, holds by construction).
//! - [`coverage`]: interesting states a run reached ("sometimes" checks),
//!   counted by the world, reported per seed by `cascade chaos`.
//! - [`record`]: the trace records (the trace hash depends on them).
//!
//! The drivers:
//! - [`world`]: the fleet tier: plant and machines on the kernel's event
//!   loop, and the routing between them.
//! - [`blackbox`]: the black-box tier: a team's own agent and recovery
//!   script as processes against the world over HTTP on loopback, the
//!   recorded history, and `cascade verdict` (the history judged again).
//! - [`wire`]: the wire tier (the agent and servers behind real HTTP in
//!   turmoil) and the live tier (the same on loopback sockets).
//!
//! Inputs, verdicts and outputs:
//! - [`config`]: every model parameter in one serializable tree.
//! - [`timeline`]: the scenario's typed actions at simulated times.
//! - [`scenario`]: scenario files (JSON, `extends`, clear errors).
//! - [`schema`]: the JSON Schemas of scenario and profile files, each model
//!   field's range read off the loader (`cascade schema`).
//! - [`outcome`]: the typed outcome of a run (sim times, enums, numbers):
//!   what every verdict judges.
//! - [`expect`]: typed expectations checked against a run's outcome.
//! - [`run`]: runs a scenario with a seed and checks its expectations.
//! - [`provenance`]: how each fact is reached (scripted, calibrated,
//!   emergent), found by perturbing every input once (`run --provenance`).
//! - [`pool`]: the one thread pool that runs seeds and scenarios (`run
//!   --seeds`, `compare`, `chaos`), results in the jobs' order.
//! - [`sweep`]: one scenario over many seeds: expectations' share of seeds,
//!   key figures' spread.
//! - [`metrics`]: counters, per-minute series, loss episodes.
//! - [`report`]: the summary (the outcome written out, behind `--json`,
//!   `summary.json` and every report), terminal text, run folders, pages.
//! - [`chaos`]: chaos exploration: seeds to fault schedules, safety and
//!   liveness verdicts, shrinking to a minimal scenario.
//! - [`files`]: capped reads, atomic writes, names that become paths.
//! - [`exit`]: the exit codes of every command and verdict, defined once.
//! - [`cli`]: the `cascade` command, one module per subcommand.
//!
//! # Driving cascade from Rust
//!
//! The `cascade` command is a thin layer over this library. `cascade run`
//! loads a scenario file ([`scenario::load`], or [`scenario::load_with`]
//! for `--set` overrides), runs it with [`run::run_scenario`], and prints
//! the result's summary. The types of a run:
//! - [`scenario::Scenario`]: a loaded, validated file: model, timeline,
//!   expectations, seed.
//! - [`run::RunOptions`]: the seed and the other options of one run
//!   (`RunOptions::default()` runs on the scenario's own seed).
//! - [`run::RunResult`]: the finished run: its typed [`outcome::Outcome`]
//!   (what every verdict judges), its [`report::summary::Summary`] (the
//!   outcome written out with the expectations' results, what
//!   `cascade run --json` prints), and the outcomes of the paired variants.
//!
//! The March 2025 replay on seed 1, its 21 expectations checked:
//!
//! ```rust
//! use cascade::run::{run_scenario, RunOptions};
//! use cascade::scenario;
//! use std::path::Path;
//!
//! // The repository's own scenario file; from your crate, give its path.
//! let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/march-2025.json");
//! let sc = scenario::load(&path).expect("the scenario loads");
//!
//! let opts = RunOptions {
//!     seed: Some(1),
//!     ..RunOptions::default()
//! };
//! let result = run_scenario(&sc, opts);
//!
//! // The run and its paired variant reached the scenario's end: there is a verdict.
//! assert_eq!(result.stopped_short(&sc.epoch), None);
//! let summary = &result.summary;
//! assert!(summary.passed());
//! assert_eq!(summary.expectations.iter().filter(|e| e.passed).count(), 21);
//! // The trace hash `cascade run` prints: the same seed gives the same run.
//! assert_eq!(summary.trace_hash, "4e3e58863acd8739");
//!
//! // Clusters that lost node pools, per incident; the paired variant (the
//! // same run without the D8 hotfix) ran on the same seed.
//! let incidents = result.outcome.pool_incidents();
//! let lost: Vec<u32> = incidents.map(|i| i.clusters_affected).collect();
//! assert_eq!(lost, [190, 294]);
//! assert_eq!(result.pairs[0].clusters_lost_by_incident(), [190, 1016]);
//! ```
//!
//! [`run::run_scenario`] writes no file except to an events sink you give
//! it. Around it, `cascade run` also refuses a scenario whose work is too
//! large before running it ([`run::check_work_budget`]), turns a panic of
//! the logic under test into a verdict ([`run::catch_panic`]) and writes
//! the run folder ([`report::folder`]). The deterministic kernel alone,
//! with its event loop, seeds and trace hash, is the `cascade-sim` crate,
//! re-exported as [`sim`].

pub use cascade_sim as sim;

pub mod blackbox;
pub mod chaos;
pub mod checks;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod effects;
pub mod exit;
pub mod expect;
pub mod files;
pub mod metrics;
pub mod model;
pub mod outcome;
pub mod plant;
pub mod pool;
pub mod protocol;
pub mod provenance;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod sweep;
pub mod timeline;
pub mod types;
pub mod wire;
pub mod world;
