//! `cascade-sim`: the deterministic discrete-event kernel under `cascade`.
//!
//! It is domain-free: nothing here knows about auth, clusters or node pools.
//! One seed and one event order decide a whole run.
//!
//! Map of the modules:
//! - [`time`]: `SimTime` / `SimDuration` (integer microseconds), calendar
//!   formatting against a run's UTC [`time::Epoch`], human durations (`45m`).
//! - [`queue`]: the pending-event queue, ordered by (time, sequence): the
//!   timer wheel the kernel uses ([`queue::EventQueue`]), and a radix queue
//!   and a binary heap behind the same trait, measured against it.
//! - [`rng`]: the root [`rng::Seed`] and per-component streams from
//!   `fork(kind, id)`, with the distributions the model draws from; and
//!   counter-based streams from `keyed(kind, id)` ([`rng::Keyed`]), whose
//!   draw n is read without the ones before it.
//! - [`poisson`]: Poisson counts for a mean that changes every draw, from
//!   cumulative tables kept per integer mean ([`poisson::PoissonTables`]).
//! - [`fault`]: timed fault actions with start and duration, armed into the
//!   queue; the one definition of begin/end order ([`fault::FaultSchedule::edges`]).
//! - [`trace`]: structured records folded into a rolling 64-bit hash over a
//!   canonical word encoding, with an optional JSON Lines sink.
//! - [`window`]: a sliding-window counter over simulated time.
//! - [`run`]: the event loop [`run::Sim`] with its [`run::RunLimits`] and the
//!   [`run::Model`] trait the caller's world implements.
//!
//! Architecture invariant: this crate never reads the wall clock, the
//! environment, files or an OS random source, and never iterates a hash map
//! (clippy's `disallowed_types`/`disallowed_methods` enforce it).

pub mod fault;
pub mod poisson;
pub mod queue;
pub mod rng;
pub mod run;
pub mod time;
pub mod trace;
pub mod window;

pub use fault::{Fault, FaultEdge, FaultSchedule};
pub use poisson::PoissonTables;
pub use queue::{EventQueue, HeapQueue, PendingEvents, RadixQueue, WheelQueue};
pub use rng::{Keyed, Seed, Stream};
pub use run::{Model, RunLimits, RunOutcome, Sim, StopReason};
pub use time::{parse_duration, Epoch, SimDuration, SimTime};
pub use trace::{json_escape_into, Trace, TraceRecord, Words};
pub use window::SlidingCount;
