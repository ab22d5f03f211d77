//! The logic's integration tests: one test binary, so that the test build
//! links the library into it once instead of once a file (issue 31). These
//! are the fast ones that judge the logic under test, and the mutation
//! run's test command (`.cargo/mutants.toml`: `--lib --test scenarios
//! --test model`); `cargo test --test model chaos::` runs one module.
//!
//! - `action_class`: every timeline action has one class.
//! - `agent_props`: properties of the fixed agent against any answers.
//! - `chaos`: chaos exploration finds the catalogue's bugs, shrinks them,
//!   and stays quiet on the fixed agent.
//! - `chaos_explore`: a sweep's decisions over its seeds' verdicts.
//! - `determinism`: the same scenario and seed give the same bytes.
//! - `expectations`: expectations are checked at load like model fields.
//! - `generators`: chaos generators stay inside their scenario.
//! - `response_params`: the response playbook's figures are parameters.
//! - `world`: the world as a whole, small fleets, specific outcomes.

mod action_class;
mod agent_props;
mod chaos;
mod chaos_explore;
mod determinism;
mod expectations;
mod generators;
mod response_params;
mod world;
