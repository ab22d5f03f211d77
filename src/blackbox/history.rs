//! The recorded history of a black-box run (`history.jsonl`): one JSON
//! object a line, the header first, then every request the processes made
//! with the simulated time it was served at and the answer they got, every
//! process exit, every command the world gave, and the end.
//!
//! The requests and exits are the world's inputs: replayed in order at
//! their times against a world built from the header, they give the same
//! world, so `cascade verdict` re-judges a history offline. The answers are
//! outputs, kept for the reader and compared on replay (a difference says
//! the history was edited or the build differs).
//!
//! Answers are written as the wire carried them: an HTTP status and the
//! JSON body the servers send ([`desired_http`], [`cloud_http`]), so the
//! history reads like the requests a team's agent saw.

use crate::plant::cloud::{CloudCall, CloudReply};
use crate::protocol::{ClusterId, DesiredAnswer, PoolState, POOLS};
use crate::wire::api::{self, DesiredStateDoc, NodePoolsDoc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the history format (the header's `format`).
pub const FORMAT: u32 = 1;

/// Longest line a history may hold (a header with its commands is the
/// longest by far).
pub const LINE_BYTES_MAX: usize = 64 * 1024;

/// What a run's history starts with: everything needed to build its world
/// again. The scenario itself is `scenario.json` beside the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: u32,
    /// The build that wrote it (`git describe`).
    pub commit: String,
    /// The scenario file the run was given (for the reader; the world is
    /// built from the copy `scenario.json`).
    pub scenario: String,
    /// `--set` overrides, `--clusters` among them, as `KEY=VALUE`.
    pub overrides: Vec<String>,
    pub seed: u64,
    /// When the processes took over from the model's agents, and the end.
    pub from_us: u64,
    pub end_us: u64,
    /// Where the scenario file ends (`--for` may end the run before it).
    pub scenario_end_us: u64,
    /// The recovery script was a process.
    pub script: bool,
    /// Wall-clock facts of the run (not inputs of the world).
    pub time_scale: u32,
    pub agent_cmd: String,
    #[serde(default)]
    pub agent_cmd_after_fix: Option<String>,
    #[serde(default)]
    pub recovery_cmd: Option<String>,
}

/// Who made a cloud call or read desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Agent,
    Script,
}

/// Where the script read desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Edge,
    Service,
}

/// An answer as the wire carried it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub body: Value,
}

/// A mutating cloud call, as its method says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// `PUT …/node-pools/{pool}` (its `nodes` beside it).
    Create,
    /// `POST …/node-pools/{pool}/scale-to-zero`.
    ScaleToZero,
    /// `DELETE …/node-pools/{pool}`.
    Delete,
}

impl Call {
    /// The call and, for a create, its node count.
    pub fn of(c: CloudCall) -> (Call, Option<u16>) {
        match c {
            CloudCall::Create { nodes } => (Call::Create, Some(nodes)),
            CloudCall::ScaleToZero => (Call::ScaleToZero, None),
            CloudCall::Delete => (Call::Delete, None),
        }
    }
    /// The cloud's call; a create without `nodes` is not one.
    pub fn cloud(self, nodes: Option<u16>) -> Option<CloudCall> {
        match self {
            Call::Create => nodes.map(|nodes| CloudCall::Create { nodes }),
            Call::ScaleToZero => Some(CloudCall::ScaleToZero),
            Call::Delete => Some(CloudCall::Delete),
        }
    }
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    Header(Header),
    /// An agent's `GET …/desired-state` through the edge.
    Poll {
        t_us: u64,
        cluster: ClusterId,
        answer: Http,
    },
    /// `GET …/node-pools`.
    Listing {
        t_us: u64,
        cluster: ClusterId,
        by: By,
        answer: Http,
    },
    /// A mutating cloud call.
    Cloud {
        t_us: u64,
        cluster: ClusterId,
        pool: String,
        call: Call,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<u16>,
        by: By,
        answer: Http,
    },
    /// The script's read of desired state.
    Probe {
        t_us: u64,
        cluster: ClusterId,
        via: Via,
        answer: Http,
    },
    /// An agent's report of its own status (`PUT …/status`).
    Status {
        t_us: u64,
        cluster: ClusterId,
        in_hold: bool,
    },
    /// An agent process ended without being asked to.
    AgentExited {
        t_us: u64,
        cluster: ClusterId,
        exit: String,
    },
    /// A recovery script run ended.
    ScriptExited {
        t_us: u64,
        run: u32,
        clusters: Vec<ClusterId>,
        exit: String,
    },
    /// A command of the world to the processes' driver (an output).
    Command {
        t_us: u64,
        command: String,
    },
    /// The run's end.
    End {
        t_us: u64,
    },
}

impl Line {
    /// The simulated time of a line (the header's: zero).
    pub fn t_us(&self) -> u64 {
        match self {
            Line::Header(_) => 0,
            Line::Poll { t_us, .. }
            | Line::Listing { t_us, .. }
            | Line::Cloud { t_us, .. }
            | Line::Probe { t_us, .. }
            | Line::Status { t_us, .. }
            | Line::AgentExited { t_us, .. }
            | Line::ScriptExited { t_us, .. }
            | Line::Command { t_us, .. }
            | Line::End { t_us } => *t_us,
        }
    }
}

/// How the servers answer a desired-state read: the status, and the body.
pub fn desired_http(cluster: ClusterId, answer: &DesiredAnswer) -> Http {
    let error = |status: u16, what: &str| Http {
        status,
        retry_after_s: None,
        body: serde_json::json!({ "error": what }),
    };
    match answer {
        DesiredAnswer::Ok(ds) => Http {
            status: 200,
            retry_after_s: None,
            body: serde_json::to_value(DesiredStateDoc::from_state(cluster, ds))
                .unwrap_or(Value::Null),
        },
        DesiredAnswer::NotFound => error(404, "not found"),
        DesiredAnswer::ServerError => error(500, "internal error"),
        DesiredAnswer::TooManyRequests { retry_after_s } => Http {
            retry_after_s: Some(*retry_after_s),
            ..error(429, "too many requests")
        },
        DesiredAnswer::Timeout => error(504, "timed out"),
        DesiredAnswer::ConnectionError => error(502, "bad gateway"),
    }
}

/// How the cloud answers a listing.
pub fn listing_http(cluster: ClusterId, pools: &[PoolState; POOLS]) -> Http {
    Http {
        status: 200,
        retry_after_s: None,
        body: serde_json::to_value(NodePoolsDoc::from_pools(cluster, pools)).unwrap_or(Value::Null),
    }
}

/// How the cloud answers a call at `now_us`: the wire tier's status and
/// body ([`api::cloud_reply_status`]), and for a 429 the wait in simulated
/// seconds (the server turns it into wall seconds).
pub fn cloud_http(reply: &CloudReply, now_us: u64) -> Http {
    let (status, body) = api::cloud_reply_status(reply);
    let retry_after_s = match reply {
        CloudReply::RateLimited { retry_at } => Some(
            u32::try_from(
                retry_at
                    .as_micros()
                    .saturating_sub(now_us)
                    .div_ceil(1_000_000),
            )
            .unwrap_or(u32::MAX)
            .max(1),
        ),
        _ => None,
    };
    Http {
        status,
        retry_after_s,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_json() {
        let lines = vec![
            Line::Poll {
                t_us: 5,
                cluster: 3,
                answer: desired_http(3, &DesiredAnswer::NotFound),
            },
            Line::Cloud {
                t_us: 7,
                cluster: 3,
                pool: "system".into(),
                call: Call::Create,
                nodes: Some(3),
                by: By::Script,
                answer: Http {
                    status: 409,
                    retry_after_s: None,
                    body: serde_json::json!({"error": "locked"}),
                },
            },
            Line::End { t_us: 9 },
        ];
        for l in lines {
            let text = serde_json::to_string(&l).unwrap();
            let back: Line = serde_json::from_str(&text).unwrap();
            assert_eq!(back, l, "{text}");
        }
        let text = r#"{"kind":"cloud","t_us":1,"cluster":2,"pool":"airflow","call":"delete","by":"agent","answer":{"status":202}}"#;
        let l: Line = serde_json::from_str(text).unwrap();
        assert!(matches!(
            l,
            Line::Cloud {
                call: Call::Delete,
                ..
            }
        ));
    }
}
