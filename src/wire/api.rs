//! The HTTP API shared by the servers and the agent driver: paths, JSON
//! documents, per-cluster bearer tokens and the mapping from HTTP outcomes to
//! the agent's [`DesiredAnswer`].
//!
//! Control plane (behind the edge):
//! - `GET /v1/clusters/{id}/desired-state` with `Authorization: Bearer <token
//!   of cluster id>` answers a [`DesiredStateDoc`]; a token of another cluster
//!   gets 403, a missing or unknown one 401 (checked before whether the
//!   cluster exists, so without a token nobody can count the fleet), so no
//!   agent ever reads another cluster's state.
//! - `PUT /admin/faults` (admin token) sets the service faults.
//!
//! Edge: the same desired-state path, routed per cluster; `GET`/`PUT
//! /admin/routing` and `POST /admin/routing/fix` (admin token) read and switch
//! the routing table at run time. Every other path goes to the default
//! backend, which answers 404.
//!
//! Cloud: `GET /v1/clusters/{id}/node-pools`, `PUT …/node-pools/{pool}`
//! (create, body `{"nodes": n}`), `POST …/node-pools/{pool}/scale-to-zero`,
//! `DELETE …/node-pools/{pool}`; 202 when accepted, 429 with `Retry-After`
//! past the account's rate, 409 `locked` or `conflict`.

use crate::plant::cloud::{CloudCall, CloudReply};
use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{DesiredAnswer, DesiredState, PoolSet, PoolState, POOLS};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest request or response body either side accepts.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// The key every bearer token derives from. The simulated wire tier derives
/// it from the run's seed ([`TokenKey::from_seed`]: reproducible, and the
/// network is simulated); the live tier draws it at random when it starts
/// ([`TokenKey::random`]) or reads it from a file, because there tokens
/// guard real sockets: no token, nor the seed, reveals the key or another
/// cluster's token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    // Never printed by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// The key of a simulated run seeded `seed`.
    pub fn from_seed(seed: cascade_sim::Seed) -> TokenKey {
        let mut key = [0u8; 32];
        for (k, chunk) in key.chunks_exact_mut(8).enumerate() {
            let word = seed.derive(crate::plant::streams::WIRE_TOKENS, k as u64).0;
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        TokenKey(key)
    }

    /// A key from the operating system's randomness (the live tier).
    // The one use of OS randomness: a secret must not follow from anything
    // a user can see, and it never enters a simulated world.
    #[allow(clippy::disallowed_methods)]
    pub fn random() -> Result<TokenKey, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness for the token key: {e}"))?;
        Ok(TokenKey(key))
    }

    /// The key as 64 hex digits (what `--token-file` holds).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// A key written as 64 hex digits (surrounding white space ignored).
    /// Errors never quote the text: it is meant to be a secret.
    pub fn from_hex(text: &str) -> Result<TokenKey, String> {
        let t = text.trim();
        let chars = t.chars().count();
        if chars != 64 {
            return Err(format!(
                "expected a token key of 64 hex digits, found {chars} characters"
            ));
        }
        if let Some(at) = t.chars().position(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "expected a token key of 64 hex digits, found a character that is not a hex digit at position {}",
                at + 1
            ));
        }
        let mut key = [0u8; 32];
        for (k, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&t[2 * k..2 * k + 2], 16).expect("checked hex");
        }
        Ok(TokenKey(key))
    }

    /// HMAC-SHA256 of `message` under the key, its first 16 bytes in hex.
    fn tag(&self, message: &[u8]) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(message);
        hex(&mac.finalize().into_bytes()[..16])
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Longest `set_by` the edge keeps.
pub const SET_BY_CHARS_MAX: usize = 80;

/// `text` from a client made safe to keep and print on a terminal: control
/// characters (escape sequences, new lines) written as escapes, cut to
/// [`SET_BY_CHARS_MAX`] characters.
pub fn printable(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(SET_BY_CHARS_MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Compares a presented token with the expected one in time that does not
/// depend on where they differ.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The bearer token of `cluster` under `key`: `c<id>.<tag>`.
pub fn cluster_token(key: &TokenKey, cluster: ClusterId) -> String {
    let mut message = b"cascade cluster token ".to_vec();
    message.extend_from_slice(&cluster.to_le_bytes());
    format!("c{cluster}.{}", key.tag(&message))
}

/// The admin token under `key` (routing switches, service faults).
pub fn admin_token(key: &TokenKey) -> String {
    format!("admin.{}", key.tag(b"cascade admin token"))
}

/// The recovery token under `key` (the black-box tier's script: every
/// cluster's desired state and cloud pools).
pub fn recovery_token(key: &TokenKey) -> String {
    format!("recovery.{}", key.tag(b"cascade recovery token"))
}

/// Who presented `bearer` when asking for `cluster`'s data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The cluster's own token.
    Owner,
    /// A valid token of another cluster: 403.
    OtherCluster,
    /// Missing or unknown: 401.
    Unknown,
}

/// Checks a bearer token against `cluster`, in constant time.
pub fn check_cluster_token(key: &TokenKey, cluster: ClusterId, bearer: Option<&str>) -> Caller {
    let Some(t) = bearer else {
        return Caller::Unknown;
    };
    if token_matches(t, &cluster_token(key, cluster)) {
        return Caller::Owner;
    }
    let other = t
        .strip_prefix('c')
        .and_then(|r| r.split_once('.'))
        .and_then(|(id, _)| id.parse::<ClusterId>().ok());
    match other {
        Some(o) if token_matches(t, &cluster_token(key, o)) => Caller::OtherCluster,
        _ => Caller::Unknown,
    }
}

/// The pool's name on the wire (`system`, `worker-default`, `worker-2`).
pub fn pool_name(p: PoolName) -> String {
    p.to_string()
}

/// Parses a pool name of the wire.
pub fn parse_pool(s: &str) -> Option<PoolName> {
    match s {
        "system" => Some(PoolName::System),
        "airflow" => Some(PoolName::Airflow),
        "worker-default" => Some(PoolName::WorkerDefault),
        _ => {
            let n: u8 = s.strip_prefix("worker-")?.parse().ok()?;
            (1..=3).contains(&n).then_some(PoolName::Worker(n))
        }
    }
}

/// One pool of a desired state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesiredPoolDoc {
    /// The pool's name (`system`, `airflow`, `worker-default`,
    /// `worker-1` to `worker-3`).
    pub name: String,
    /// Nodes the pool should have (a count).
    pub nodes: u16,
}

/// `GET /v1/clusters/{id}/desired-state`: the pools a cluster should have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesiredStateDoc {
    /// The cluster's id (the `{id}` of the path).
    pub cluster: ClusterId,
    /// Version of the desired state; it only grows unless the service is
    /// faulted to regress it (a count, no unit).
    pub generation: u64,
    /// The pools the cluster should have, each named once.
    pub pools: Vec<DesiredPoolDoc>,
    /// Names of pools deleted on purpose: the agent removes them.
    pub tombstones: Vec<String>,
    /// True when an empty `pools` list is meant (the cluster should have no
    /// pools); false with an empty list is not an instruction to delete.
    pub empty_explicit: bool,
}

impl DesiredStateDoc {
    pub fn from_state(cluster: ClusterId, ds: &DesiredState) -> Self {
        DesiredStateDoc {
            cluster,
            generation: ds.generation,
            pools: ds
                .pools
                .iter()
                .map(|p| DesiredPoolDoc {
                    name: pool_name(p),
                    nodes: ds.nodes[p.index()],
                })
                .collect(),
            tombstones: ds.tombstones.iter().map(pool_name).collect(),
            empty_explicit: ds.empty_explicit,
        }
    }

    /// The state the agent sees; an unknown pool name or a duplicate is an
    /// error (the answer is then not authoritative).
    pub fn to_state(&self) -> Result<DesiredState, String> {
        let mut ds = DesiredState {
            generation: self.generation,
            empty_explicit: self.empty_explicit,
            ..DesiredState::default()
        };
        for p in &self.pools {
            let pool = parse_pool(&p.name).ok_or_else(|| format!("unknown pool {:?}", p.name))?;
            if ds.pools.contains(pool) {
                return Err(format!("pool {:?} listed twice", p.name));
            }
            ds.pools.insert(pool);
            ds.nodes[pool.index()] = p.nodes;
        }
        let mut tombstones = PoolSet::EMPTY;
        for t in &self.tombstones {
            tombstones.insert(parse_pool(t).ok_or_else(|| format!("unknown pool {t:?}"))?);
        }
        ds.tombstones = tombstones;
        Ok(ds)
    }
}

/// One pool as the cloud lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolStateDoc {
    /// The pool's name (`system`, `airflow`, `worker-default`,
    /// `worker-1` to `worker-3`).
    pub name: String,
    /// `absent`, `creating`, `present` or `deleting`.
    #[schemars(extend("enum" = ["absent", "creating", "present", "deleting"]))]
    pub state: String,
    /// Nodes of a present pool (a count); 0 in any other state.
    pub nodes: u16,
}

/// `GET /v1/clusters/{id}/node-pools`: every pool slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodePoolsDoc {
    /// The cluster's id (the `{id}` of the path).
    pub cluster: ClusterId,
    /// One entry per pool slot, absent ones included.
    pub pools: Vec<PoolStateDoc>,
}

impl NodePoolsDoc {
    pub fn from_pools(cluster: ClusterId, pools: &[PoolState; POOLS]) -> Self {
        NodePoolsDoc {
            cluster,
            pools: pools
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (state, nodes) = match *s {
                        PoolState::Absent => ("absent", 0),
                        PoolState::Creating => ("creating", 0),
                        PoolState::Present { nodes } => ("present", nodes),
                        PoolState::Deleting => ("deleting", 0),
                    };
                    PoolStateDoc {
                        name: pool_name(PoolName::from_index(i)),
                        state: state.into(),
                        nodes,
                    }
                })
                .collect(),
        }
    }

    pub fn to_pools(&self) -> Result<[PoolState; POOLS], String> {
        let mut out = [PoolState::Absent; POOLS];
        for p in &self.pools {
            let pool = parse_pool(&p.name).ok_or_else(|| format!("unknown pool {:?}", p.name))?;
            out[pool.index()] = match p.state.as_str() {
                "absent" => PoolState::Absent,
                "creating" => PoolState::Creating,
                "present" => PoolState::Present { nodes: p.nodes },
                "deleting" => PoolState::Deleting,
                other => return Err(format!("unknown pool state {other:?}")),
            };
        }
        Ok(out)
    }
}

/// Body of a create call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePoolDoc {
    /// Nodes the pool gets (a count).
    pub nodes: u16,
}

/// Body of an accepted (202) cloud call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptedDoc {
    /// The operation's number (an id, no unit).
    pub op: u32,
    /// When the operation completes, in microseconds of the scenario's clock
    /// (since the run's epoch, the scenario's start).
    pub done_at_us: u64,
}

/// Body of an error answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDoc {
    /// What went wrong, in words (`locked`, `conflict`, `rate_limited`,
    /// `missing or unknown token`, `bad body: …`).
    pub error: String,
}

/// `PUT /admin/routing`: a new routing version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingDoc {
    /// Share of clusters (0 to 1, a ratio) whose desired-state requests go
    /// to the default backend.
    #[serde(default)]
    pub misroute_ratio: f64,
    /// Picks which clusters the ratio hits (a hash salt, no unit).
    #[serde(default)]
    pub misroute_salt: u64,
    /// Cells whose route misses the desired-state path (bit k = cell k).
    #[serde(default)]
    pub misroute_cells: u64,
    /// Who made the switch, kept to 80 printable characters.
    #[serde(default)]
    pub set_by: String,
}

/// `GET /admin/routing` and the answer to a switch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingVersionDoc {
    /// The routing version's number; each switch adds one (a count).
    pub version: u32,
    /// Share of clusters (0 to 1, a ratio) misrouted to the default backend.
    pub misroute_ratio: f64,
    /// Picks which clusters the ratio hits (a hash salt, no unit).
    pub misroute_salt: u64,
    /// Cells whose route misses the desired-state path (bit k = cell k).
    #[serde(default)]
    pub misroute_cells: u64,
    /// Who made the switch (`admin` for a fix without a name).
    pub set_by: String,
}

/// `POST /admin/routing/fix`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixDoc {
    /// Who made the fix, kept to 80 printable characters; empty or left out
    /// means `admin`.
    #[serde(default)]
    pub set_by: String,
}

/// `PUT /admin/faults` on the desired-state service (not behind the edge):
/// the faults asked for, and the answer, as applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsDoc {
    /// Share of desired-state answers (0 to 1, a ratio; clamped) that are a 500.
    pub server_error_ratio: f64,
    /// Share of desired-state requests (0 to 1, a ratio; clamped) held for
    /// 120 s of the scenario's clock and then answered 504.
    pub timeout_ratio: f64,
    /// Serve a generation this many steps old (a lagging replica), with
    /// the pools it had then (a count of generations; 0: off).
    pub generation_regression: u64,
    /// Share of answers (0 to 1, a ratio; clamped) that leave out the
    /// highest extra worker pool.
    pub partial_ratio: f64,
}

/// `GET /admin/status` of the black-box tier: where the simulated world's
/// clock stands and what it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusDoc {
    /// The scenario's clock, in microseconds since the run's epoch (the
    /// scenario's start).
    pub sim_time_us: u64,
    /// The same instant on the scenario's calendar, RFC 3339 (UTC).
    pub sim_time: String,
    /// Simulated seconds per wall-clock second (a factor, no unit).
    pub time_scale: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
}

/// `PUT /v1/clusters/{id}/agent-status` (the black-box tier): what an
/// agent reports of itself, as monitoring scrapes it; an agent that never
/// reports is never counted in safe hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStatusDoc {
    /// The agent is in safe hold: it stopped acting on answers it cannot
    /// trust (the agent-hold alert counts these).
    pub in_hold: bool,
}

/// The path `/v1/clusters/{id}/agent-status`.
pub fn agent_status_path(cluster: ClusterId) -> String {
    format!("/v1/clusters/{cluster}/agent-status")
}

/// The cluster id of an agent-status path, if `path` is one.
pub fn parse_agent_status_path(path: &str) -> Option<ClusterId> {
    let rest = path.strip_prefix("/v1/clusters/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail == "agent-status").then(|| id.parse().ok()).flatten()
}

/// The path `/v1/clusters/{id}/desired-state`.
pub fn desired_state_path(cluster: ClusterId) -> String {
    format!("/v1/clusters/{cluster}/desired-state")
}

/// The cluster id of a desired-state path, if `path` is one.
pub fn parse_desired_state_path(path: &str) -> Option<ClusterId> {
    let rest = path.strip_prefix("/v1/clusters/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail == "desired-state").then(|| id.parse().ok()).flatten()
}

/// The path `/v1/clusters/{id}/node-pools`.
pub fn node_pools_path(cluster: ClusterId) -> String {
    format!("/v1/clusters/{cluster}/node-pools")
}

/// Method and path of a mutating cloud call.
pub fn cloud_call_route(
    cluster: ClusterId,
    pool: PoolName,
    call: CloudCall,
) -> (&'static str, String) {
    let base = format!("{}/{}", node_pools_path(cluster), pool_name(pool));
    match call {
        CloudCall::Create { .. } => ("PUT", base),
        CloudCall::Delete => ("DELETE", base),
        CloudCall::ScaleToZero => ("POST", format!("{base}/scale-to-zero")),
    }
}

/// A cloud path: the cluster, and the pool and action when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudPath {
    List(ClusterId),
    Pool(ClusterId, PoolName),
    ScaleToZero(ClusterId, PoolName),
}

pub fn parse_cloud_path(path: &str) -> Option<CloudPath> {
    let rest = path.strip_prefix("/v1/clusters/")?;
    let mut parts = rest.split('/');
    let id: ClusterId = parts.next()?.parse().ok()?;
    if parts.next()? != "node-pools" {
        return None;
    }
    let out = match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => CloudPath::List(id),
        (Some(p), None, _) => CloudPath::Pool(id, parse_pool(p)?),
        (Some(p), Some("scale-to-zero"), None) => CloudPath::ScaleToZero(id, parse_pool(p)?),
        _ => return None,
    };
    Some(out)
}

/// The outcome of one HTTP exchange as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exchange {
    /// A response with its status, `Retry-After` seconds and body.
    Reply {
        status: u16,
        retry_after_s: Option<u32>,
        body: Vec<u8>,
    },
    /// No complete response within the client timeout.
    Timeout,
    /// Refused, reset or broken before a complete response.
    ConnectionError,
}

/// What a desired-state exchange means to the agent. Only a 200 whose body
/// parses is authoritative; a 200 with a body that does not parse (a default
/// backend answering 200 with an HTML page, say) counts as a server error.
/// Statuses the agent has no word for (401, 403, 400) count as server
/// errors too: none of them may ever be read as "no desired pools".
pub fn desired_answer(x: &Exchange) -> DesiredAnswer {
    match x {
        Exchange::Timeout => DesiredAnswer::Timeout,
        Exchange::ConnectionError => DesiredAnswer::ConnectionError,
        Exchange::Reply {
            status,
            retry_after_s,
            body,
        } => match *status {
            200 => serde_json::from_slice::<DesiredStateDoc>(body)
                .ok()
                .and_then(|d| d.to_state().ok())
                .map_or(DesiredAnswer::ServerError, DesiredAnswer::Ok),
            404 => DesiredAnswer::NotFound,
            429 => DesiredAnswer::TooManyRequests {
                retry_after_s: retry_after_s.unwrap_or(0),
            },
            _ => DesiredAnswer::ServerError,
        },
    }
}

/// What the agent's view of a cloud call came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Accepted,
    RateLimited,
    Locked,
    Conflict,
    /// Another status, a timeout or a connection error.
    Failed,
}

impl CallOutcome {
    pub fn of(x: &Exchange) -> CallOutcome {
        match x {
            Exchange::Reply { status, body, .. } => match *status {
                202 => CallOutcome::Accepted,
                429 => CallOutcome::RateLimited,
                409 if serde_json::from_slice::<ErrorDoc>(body)
                    .is_ok_and(|e| e.error == "locked") =>
                {
                    CallOutcome::Locked
                }
                409 => CallOutcome::Conflict,
                _ => CallOutcome::Failed,
            },
            _ => CallOutcome::Failed,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            CallOutcome::Accepted => "accepted",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::Locked => "locked",
            CallOutcome::Conflict => "conflict",
            CallOutcome::Failed => "failed",
        }
    }
}

/// The HTTP status and body a cloud reply is sent as.
pub fn cloud_reply_status(reply: &CloudReply) -> (u16, String) {
    match reply {
        CloudReply::Accepted { done_at, op } => (
            202,
            serde_json::to_string(&AcceptedDoc {
                op: *op,
                done_at_us: done_at.as_micros(),
            })
            .unwrap_or_default(),
        ),
        CloudReply::RateLimited { .. } => (429, error_json("rate_limited")),
        CloudReply::Locked => (409, error_json("locked")),
        CloudReply::Conflict => (409, error_json("conflict")),
    }
}

pub fn error_json(what: &str) -> String {
    serde_json::to_string(&ErrorDoc { error: what.into() }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_clusters_apart() {
        let k7 = TokenKey::from_seed(cascade_sim::Seed(7));
        let k8 = TokenKey::from_seed(cascade_sim::Seed(8));
        let t3 = cluster_token(&k7, 3);
        assert_eq!(check_cluster_token(&k7, 3, Some(&t3)), Caller::Owner);
        assert_eq!(check_cluster_token(&k7, 4, Some(&t3)), Caller::OtherCluster);
        assert_eq!(check_cluster_token(&k8, 3, Some(&t3)), Caller::Unknown);
        assert_eq!(check_cluster_token(&k7, 3, None), Caller::Unknown);
        assert_eq!(check_cluster_token(&k7, 3, Some("c3.x")), Caller::Unknown);
        assert_ne!(admin_token(&k7), admin_token(&k8));
        // One byte off anywhere: unknown.
        let mut near = t3.clone().into_bytes();
        let last = near.len() - 1;
        near[last] = if near[last] == b'0' { b'1' } else { b'0' };
        let near = String::from_utf8(near).unwrap();
        assert_eq!(check_cluster_token(&k7, 3, Some(&near)), Caller::Unknown);
    }

    #[test]
    fn what_clients_say_is_kept_printable_and_short() {
        assert_eq!(printable("alice"), "alice");
        assert_eq!(printable("x\u{1b}[2Jy\nz"), "x\\u{1b}[2Jy\\nz");
        assert_eq!(
            printable(&"é".repeat(200)).chars().count(),
            SET_BY_CHARS_MAX
        );
    }

    #[test]
    fn token_keys_are_random_round_trip_as_hex_and_are_never_printed() {
        let a = TokenKey::random().unwrap();
        let b = TokenKey::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(
            TokenKey::from_hex(&format!("  {}\n", a.to_hex())).unwrap(),
            a
        );
        assert_eq!(a.to_hex().len(), 64);
        assert_eq!(format!("{a:?}"), "TokenKey(..)");
        assert_eq!(
            TokenKey::from_hex("abc").unwrap_err(),
            "expected a token key of 64 hex digits, found 3 characters"
        );
        assert_eq!(
            TokenKey::from_hex(&format!("{}g", &a.to_hex()[..63])).unwrap_err(),
            "expected a token key of 64 hex digits, found a character that is not a hex digit at position 64"
        );
        assert_eq!(
            TokenKey::from_hex(&"é".repeat(64)).unwrap_err(),
            "expected a token key of 64 hex digits, found a character that is not a hex digit at position 1"
        );
        // A token is the key's HMAC: 128 bits of tag, nothing of the key.
        let t = cluster_token(&a, 12);
        assert!(t.starts_with("c12.") && t.len() == 4 + 32, "{t}");
        assert!(!t.contains(&a.to_hex()[..8]));
    }

    #[test]
    fn desired_state_round_trips_through_json() {
        let mut ds = DesiredState {
            generation: 9,
            ..DesiredState::default()
        };
        for (p, n) in [(PoolName::System, 3), (PoolName::Worker(2), 5)] {
            ds.pools.insert(p);
            ds.nodes[p.index()] = n;
        }
        ds.tombstones.insert(PoolName::Worker(1));
        let doc = DesiredStateDoc::from_state(4, &ds);
        let text = serde_json::to_vec(&doc).unwrap();
        let x = Exchange::Reply {
            status: 200,
            retry_after_s: None,
            body: text,
        };
        assert_eq!(desired_answer(&x), DesiredAnswer::Ok(ds));
    }

    #[test]
    fn only_a_parsed_200_is_authoritative() {
        let reply = |status, body: &str| Exchange::Reply {
            status,
            retry_after_s: Some(30),
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            desired_answer(&reply(200, "<html>default backend</html>")),
            DesiredAnswer::ServerError
        );
        assert_eq!(desired_answer(&reply(404, "")), DesiredAnswer::NotFound);
        assert_eq!(desired_answer(&reply(403, "")), DesiredAnswer::ServerError);
        assert_eq!(desired_answer(&reply(503, "")), DesiredAnswer::ServerError);
        assert_eq!(
            desired_answer(&reply(429, "")),
            DesiredAnswer::TooManyRequests { retry_after_s: 30 }
        );
        assert_eq!(desired_answer(&Exchange::Timeout), DesiredAnswer::Timeout);
        assert_eq!(
            desired_answer(&Exchange::ConnectionError),
            DesiredAnswer::ConnectionError
        );
    }

    #[test]
    fn paths_parse() {
        assert_eq!(parse_desired_state_path(&desired_state_path(12)), Some(12));
        assert_eq!(
            parse_desired_state_path("/v1/clusters/x/desired-state"),
            None
        );
        assert_eq!(parse_desired_state_path("/v1/clusters/3/other"), None);
        let (m, p) = cloud_call_route(5, PoolName::Worker(3), CloudCall::ScaleToZero);
        assert_eq!(m, "POST");
        assert_eq!(
            parse_cloud_path(&p),
            Some(CloudPath::ScaleToZero(5, PoolName::Worker(3)))
        );
        assert_eq!(
            parse_cloud_path("/v1/clusters/5/node-pools"),
            Some(CloudPath::List(5))
        );
        assert_eq!(
            parse_cloud_path("/v1/clusters/5/node-pools/system"),
            Some(CloudPath::Pool(5, PoolName::System))
        );
        assert_eq!(parse_cloud_path("/v1/clusters/5/node-pools/worker-4"), None);
    }
}
