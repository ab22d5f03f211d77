//! The harness's own integration tests: the command line, the files it
//! reads and writes, the documentation, the tiers' equivalences and guided
//! exploration. One test binary, so that the test build links the library
//! into it once instead of once a file (issue 31); `cargo test --test
//! harness cli::` runs one module. Tests that pace real processes by the
//! wall clock (blackbox, blackbox_procs, live_key, live_loopback,
//! python_examples) stay binaries of their own, run one after another, so
//! that no CPU-bound test shares the machine with them.
//!
//! - `architecture`: architecture invariants read off the sources.
//! - `cli`: the `cascade` command as a user meets it.
//! - `docs`: README and the book's commands run, their links resolve.
//! - `fast_forward`: the exact fast-forward against step-every-poll.
//! - `guided`: guided chaos exploration.
//! - `hostile`: hostile input where features meet.
//! - `loader_fuzz`: the scenario loader against hostile input.
//! - `openapi`: the committed OpenAPI document.
//! - `outputs`: what cascade writes never costs a file it did not write.
//! - `reports`: the files a run leaves behind.
//! - `wire_equivalence`: the wire tier against the fleet tier.

mod architecture;
mod cli;
mod docs;
mod fast_forward;
mod guided;
mod hostile;
mod loader_fuzz;
mod openapi;
mod outputs;
mod quiet_spans;
mod reports;
mod wire_equivalence;
