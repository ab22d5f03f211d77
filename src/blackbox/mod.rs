//! The black-box tier: a team's own agent and recovery script, as
//! processes, against the simulated world's HTTP surfaces on loopback, with
//! a recorded history and verdicts that the fleet tier's checks give, again
//! offline (`cascade blackbox`, `cascade verdict`).
//!
//! Map of the modules:
//! - [`host`]: the world of a run and the one door its inputs come
//!   through (requests, exits, time), each recorded;
//! - [`history`]: `history.jsonl`, its lines and how answers are written;
//! - [`serve`]: the edge, the desired-state service and the cloud over HTTP;
//! - [`procs`]: command templates and the supervisor of the processes;
//! - [`live`]: a run on the wall clock (servers, processes, the loop);
//! - [`replay`]: a history replayed into a fresh world (`cascade verdict`);
//! - [`judge`]: which checks judge a black-box run.
//!
//! Architecture invariant: the black-box tier decides nothing about the
//! world. Every input reaches the world through [`host::Host`], which the
//! live run and the replay share, and the world's own parts (change
//! management, rollout, monitoring, responders, operators, workload) run
//! in process as in the fleet tier.

pub mod history;
pub mod host;
pub mod judge;
pub mod live;
pub mod procs;
pub mod replay;
pub mod serve;
