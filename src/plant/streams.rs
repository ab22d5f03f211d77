//! The names of the run's seeded random streams, in one registry.
//!
//! Every component draws from `seed.fork(NAME, id)`: a stream keyed only by
//! (seed, name, id), so adding a component or an agent leaves everyone
//! else's draws where they were. Renaming a stream reshuffles that
//! component's draws and changes every trace hash that depends on them, so
//! names live here once instead of as literals in each driver.

/// One per cluster (id = cluster id): the agent's full-resync and poll
/// phases (two draws at its start).
pub const AGENT: &str = "agent";
/// One per cluster (id = cluster id), counter-based (`Seed::keyed`): the
/// agent's poll grid jitter (draw k for poll k) and its backoff jitter
/// (keyed by the failure's time).
pub const AGENT_POLLS: &str = "agent-polls";
/// The generated fleet's shape.
pub const FLEET: &str = "fleet";
/// The cloud node-pool API's latencies and failures.
pub const CLOUD: &str = "cloud";
/// The desired-state service's faults (5xx, timeouts, partial answers).
pub const DESIRED_SERVICE: &str = "desired-service";
/// The fleet tier's agent round trips: one counter-based stream per
/// cluster (`Seed::keyed`), the draw keyed by the request's time.
pub const NETWORK: &str = "network";
/// The auth path's traffic and vendor draws.
pub const AUTH: &str = "auth";
/// Hands-on repair times.
pub const OPERATORS: &str = "operators";
/// One per pool incident (id = incident id): the on-call's acknowledgement
/// delay. Its own stream so that two runs paired on a seed (common random
/// numbers) acknowledge incident k after the same delay, whatever repairs
/// drew before it.
pub const ON_CALL: &str = "on-call";
/// Probes of desired-state URLs that responders and the recovery script
/// send through the edge (their share of the service's fault draws).
pub const PROBES: &str = "probes";
/// The customers' own pool changes (when, where, what).
pub const WORKLOAD: &str = "workload";
/// When customers report a lost cluster.
pub const CUSTOMERS: &str = "customers";
/// The rollout's shuffled wave order.
pub const ROLLOUT: &str = "rollout";
/// The recovery script's retries and backoff.
pub const RECOVERY: &str = "recovery";
/// The wire and live tiers' token secret (`Seed::derive`, not a stream).
pub const WIRE_TOKENS: &str = "wire-tokens";
/// The edge's cell layout and which cells a route defect hits
/// (`Seed::derive`, not a stream: every tier computes the same).
pub const EDGE_CELLS: &str = "edge-cells";
/// turmoil's own network randomness in the wire tier.
pub const TURMOIL: &str = "turmoil";
/// A chaos seed's global choices (which kinds, the window).
pub const CHAOS: &str = "chaos";
/// A chaos fault kind's own draws (id = the kind), so enabling one kind
/// does not reshuffle another's faults.
pub const CHAOS_KIND: &str = "chaos-kind";
/// The anchored chaos profile's jitter of the March events.
pub const CHAOS_ANCHOR: &str = "chaos-anchor";
/// The recovery script's reads in the black-box tier (its preflight
/// through the edge, its reads of the service), so a script process's
/// requests never shift the world's own draws.
pub const BLACKBOX_PROBES: &str = "blackbox-probes";
/// Guided chaos exploration's choices (which corpus entry, which
/// mutation), apart from the seeds' own draws.
pub const CHAOS_GUIDED: &str = "chaos-guided";

/// Every name above, for the test that they are distinct.
pub const ALL: [&str; 22] = [
    AGENT,
    AGENT_POLLS,
    FLEET,
    CLOUD,
    DESIRED_SERVICE,
    NETWORK,
    AUTH,
    OPERATORS,
    ON_CALL,
    PROBES,
    WORKLOAD,
    CUSTOMERS,
    ROLLOUT,
    RECOVERY,
    WIRE_TOKENS,
    EDGE_CELLS,
    TURMOIL,
    CHAOS,
    CHAOS_KIND,
    CHAOS_ANCHOR,
    BLACKBOX_PROBES,
    CHAOS_GUIDED,
];

#[cfg(test)]
mod tests {
    #[test]
    fn stream_names_are_distinct() {
        let mut names = super::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::ALL.len());
    }
}
