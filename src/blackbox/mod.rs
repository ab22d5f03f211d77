//! The black-box tier: the user's own agent and recovery script, run as
//! processes against a simulated world served over loopback HTTP.
//! [`procs`] starts, watches, logs and ends those processes.

pub mod procs;
