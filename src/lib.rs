//! `cascade`: the world model and command line (filled in by later issues).
pub use cascade_sim as sim;
