//! The wire tier and the live tier: the same agent state machine and the
//! same component models as the fleet tier, behind real HTTP.
//!
//! The fleet tier models the network; this tier proves that the real
//! asynchronous client (timeouts, status handling, connection errors) makes
//! the same decisions when bytes cross a network that drops, delays and
//! misroutes them. In the wire tier everything runs inside turmoil, with
//! simulated time and a seeded network; in the live tier the same servers
//! and agents run on real loopback sockets.
//!
//! Map of the modules:
//! - [`api`]: paths, JSON documents, per-cluster tokens, and the mapping of
//!   HTTP outcomes to the agent's `DesiredAnswer`.
//! - [`clock`]: the runtime's clock mapped onto the scenario's calendar.
//! - [`net`]: the two transports (turmoil's simulated TCP, real sockets).
//! - [`http`]: hyper's HTTP/1 server loop and the client's bounded exchange.
//! - [`servers`]: desired-state API, edge proxy with its 404 default
//!   backend and runtime routing switch, cloud node-pool API.
//! - [`driver`]: the task that runs `agent::Agent` against those servers.
//! - [`observe`]: what servers and driver report as they run.
//! - [`plan`]: the scenario's network-side timeline steps, the window and
//!   the slice of the fleet a wire run covers.
//! - [`harness`]: a wire run in turmoil (`cascade wire`), its result and
//!   summary; `hosts` adds each host to the simulation, `book` is what the
//!   run observes (trace, counts, I1).
//! - [`live`]: the same servers and agent on loopback (`cascade serve`,
//!   `cascade agent`); [`keyfile`] is their token key file, kept private.
//! - [`openapi`]: the OpenAPI 3.1 document of these HTTP APIs, from the
//!   wire types (`cascade schema --openapi`, `docs/openapi.json`).
//!
//! Architecture invariant: no agent logic lives here. Decisions are
//! `agent::Agent`'s, the service, edge and cloud are `control` and `cloud`;
//! this module only carries bytes and time.
//!
//! Architecture invariant: the wire tier reads no wall clock and no OS
//! randomness: tokio's clock is turmoil's paused, simulated one, turmoil is
//! seeded from the run seed, nothing uses `tokio::select!` (whose branch
//! order is random without `--cfg tokio_unstable`), and hyper's `Date`
//! header is off. The live tier reads the wall clock, on purpose.

pub mod api;
mod book;
pub mod clock;
pub mod driver;
pub mod harness;
mod hosts;
pub mod http;
pub mod keyfile;
pub mod live;
pub mod net;
pub mod observe;
pub mod openapi;
pub mod plan;
pub mod servers;

pub use harness::{run_slice, InitialPools, NetFault, NetFaultKind, Side, WireOptions, WireResult};
pub use plan::{SliceRule, Window};
