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
//!
//! # Example
//!
//! The smallest world: two actors pass a token back and forth, each
//! holding it for a random time drawn from its own stream. The caller
//! owns the state and implements [`Model`]; [`Sim`] owns the clock, the
//! pending events and the trace. Two runs on the same seed record the same
//! trace, so their hashes are equal; another seed gives another run.
//!
//! ```rust
//! use cascade_sim::{
//!     Model, RunLimits, Seed, Sim, SimDuration, SimTime, StopReason, Stream, TraceRecord, Words,
//! };
//!
//! /// The one event: actor `to` receives the token.
//! struct Pass {
//!     to: u64,
//! }
//!
//! /// What goes into the trace (and so into its hash).
//! impl TraceRecord for Pass {
//!     fn kind_code(&self) -> u16 {
//!         1
//!     }
//!     fn kind_name(&self) -> &'static str {
//!         "pass"
//!     }
//!     fn encode(&self, words: &mut Words) {
//!         words.u64(self.to);
//!     }
//! }
//!
//! struct Actors {
//!     streams: [Stream; 2],
//!     passes: u64,
//! }
//!
//! impl Model<Pass> for Actors {
//!     fn handle(&mut self, sim: &mut Sim<Pass>, event: Pass) {
//!         let now = sim.now();
//!         sim.trace.record(now, &event);
//!         self.passes += 1;
//!         // The holder keeps the token for ~30 s, then passes it on.
//!         let held_s = self.streams[event.to as usize].exponential(30.0);
//!         let to = 1 - event.to;
//!         sim.schedule_in(SimDuration::from_secs_f64(held_s), Pass { to });
//!     }
//! }
//!
//! /// One simulated hour on `seed`: the trace hash and the passes.
//! fn run(seed: u64) -> (String, u64) {
//!     let seed = Seed(seed);
//!     let mut actors = Actors {
//!         // One stream per actor, keyed by (seed, kind, id): adding a
//!         // third actor would not change these two.
//!         streams: [seed.fork("actor", 0), seed.fork("actor", 1)],
//!         passes: 0,
//!     };
//!     let mut sim = Sim::new(RunLimits {
//!         time_end: SimTime::from_secs(3_600),
//!         ..RunLimits::default()
//!     });
//!     sim.schedule_at(SimTime::ZERO, Pass { to: 0 });
//!     let out = sim.run(&mut actors);
//!     assert_eq!(out.reason, StopReason::TimeLimit);
//!     assert_eq!(out.events_handled, actors.passes);
//!     (sim.trace.hash_hex(), actors.passes)
//! }
//!
//! assert_eq!(run(1), run(1));
//! assert_ne!(run(1).0, run(2).0);
//! ```

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
pub use time::{parse_duration, Epoch, SimDuration, SimTime, Stamp};
pub use trace::{json_escape_into, Trace, TraceRecord, Words};
pub use window::SlidingCount;
