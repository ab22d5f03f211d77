//! The trace records of the world: the significant steps, each with a stable
//! kind code and a canonical encoding (the trace hash depends on them).

use crate::model::agent::Guard;
use crate::plant::cloud::{CloudCall, CloudReply, Completion};
use crate::protocol::DesiredAnswer;
use crate::protocol::{ClusterId, PoolName};
use cascade_sim::{TraceRecord, Words};
use std::fmt::Write as _;

/// What the trace records: the significant steps, each with a stable code.
#[derive(Clone, Copy, Debug)]
pub enum Record<'a> {
    Answer {
        cluster: ClusterId,
        answer: &'a DesiredAnswer,
    },
    CloudCall {
        cluster: ClusterId,
        pool: PoolName,
        call: CloudCall,
        reply: CloudReply,
    },
    CloudDone {
        cluster: ClusterId,
        pool: PoolName,
        completion: Completion,
    },
    AgentDied {
        cluster: ClusterId,
    },
    AgentRestarted {
        cluster: ClusterId,
    },
    Blocked {
        cluster: ClusterId,
        pool: PoolName,
        guard: Guard,
    },
    Action {
        index: u32,
        begin: bool,
    },
    Detected {
        incident: u32,
    },
    Note {
        text: &'a str,
    },
    ClusterRestored {
        cluster: ClusterId,
    },
    AuthMinute {
        legit_ok: u32,
        legit_decided: u32,
        vendor_429: u32,
        replicas: u32,
    },
}

impl TraceRecord for Record<'_> {
    fn kind_code(&self) -> u16 {
        match self {
            Record::Answer { .. } => 1,
            Record::CloudCall { .. } => 2,
            Record::CloudDone { .. } => 3,
            Record::AgentDied { .. } => 4,
            Record::AgentRestarted { .. } => 5,
            Record::Blocked { .. } => 6,
            Record::Action { .. } => 7,
            Record::Detected { .. } => 8,
            Record::Note { .. } => 9,
            Record::ClusterRestored { .. } => 10,
            Record::AuthMinute { .. } => 11,
        }
    }
    fn kind_name(&self) -> &'static str {
        match self {
            Record::Answer { .. } => "answer",
            Record::CloudCall { .. } => "cloud_call",
            Record::CloudDone { .. } => "cloud_done",
            Record::AgentDied { .. } => "agent_died",
            Record::AgentRestarted { .. } => "agent_restarted",
            Record::Blocked { .. } => "blocked",
            Record::Action { .. } => "action",
            Record::Detected { .. } => "detected",
            Record::Note { .. } => "note",
            Record::ClusterRestored { .. } => "cluster_restored",
            Record::AuthMinute { .. } => "auth_minute",
        }
    }
    fn encode(&self, w: &mut Words) {
        match *self {
            Record::Answer { cluster, answer } => {
                w.u64(cluster as u64);
                match answer {
                    DesiredAnswer::Ok(ds) => {
                        w.u64(0);
                        w.u64(ds.generation);
                        w.u64(ds.pools.0 as u64 | (ds.tombstones.0 as u64) << 8);
                    }
                    DesiredAnswer::NotFound => w.u64(1),
                    DesiredAnswer::ServerError => w.u64(2),
                    DesiredAnswer::TooManyRequests { retry_after_s } => {
                        w.u64(3);
                        w.u64(*retry_after_s as u64)
                    }
                    DesiredAnswer::Timeout => w.u64(4),
                    DesiredAnswer::ConnectionError => w.u64(5),
                }
            }
            Record::CloudCall {
                cluster,
                pool,
                call,
                reply,
            } => {
                w.u64(cluster as u64);
                w.u64(pool.index() as u64);
                w.u64(match call {
                    CloudCall::Create { nodes } => 1 << 16 | nodes as u64,
                    CloudCall::Delete => 2 << 16,
                    CloudCall::ScaleToZero => 3 << 16,
                });
                match reply {
                    CloudReply::Accepted { done_at, op } => {
                        w.u64(1);
                        w.u64(done_at.as_micros());
                        w.u64(op as u64);
                    }
                    CloudReply::RateLimited { retry_at } => {
                        w.u64(2);
                        w.u64(retry_at.as_micros());
                    }
                    CloudReply::Locked => w.u64(3),
                    CloudReply::Conflict => w.u64(4),
                }
            }
            Record::CloudDone {
                cluster,
                pool,
                completion,
            } => {
                w.u64(cluster as u64);
                w.u64(pool.index() as u64);
                w.u64(completion as u64);
            }
            Record::AgentDied { cluster }
            | Record::AgentRestarted { cluster }
            | Record::ClusterRestored { cluster } => w.u64(cluster as u64),
            Record::Blocked {
                cluster,
                pool,
                guard,
            } => {
                w.u64(cluster as u64);
                w.u64(pool.index() as u64);
                w.u64(guard as u64);
            }
            Record::Action { index, begin } => {
                w.u64(index as u64);
                w.bool(begin);
            }
            Record::Detected { incident } => w.u64(incident as u64),
            Record::Note { text } => w.str(text),
            Record::AuthMinute {
                legit_ok,
                legit_decided,
                vendor_429,
                replicas,
            } => {
                w.u64((legit_ok as u64) << 32 | legit_decided as u64);
                w.u64((vendor_429 as u64) << 32 | replicas as u64);
            }
        }
    }
    fn write_json_fields(&self, out: &mut String) {
        match *self {
            Record::Answer { cluster, answer } => {
                let _ = write!(
                    out,
                    ",\"cluster\":{cluster},\"answer\":\"{}\"",
                    answer.name()
                );
                if let DesiredAnswer::Ok(ds) = answer {
                    let _ = write!(out, ",\"generation\":{}", ds.generation);
                }
            }
            Record::CloudCall {
                cluster,
                pool,
                call,
                reply,
            } => {
                let call = match call {
                    CloudCall::Create { .. } => "create",
                    CloudCall::Delete => "delete",
                    CloudCall::ScaleToZero => "scale_to_zero",
                };
                let reply = match reply {
                    CloudReply::Accepted { .. } => "accepted",
                    CloudReply::RateLimited { .. } => "rate_limited",
                    CloudReply::Locked => "locked",
                    CloudReply::Conflict => "conflict",
                };
                let _ = write!(
                    out,
                    ",\"cluster\":{cluster},\"pool\":\"{pool}\",\"call\":\"{call}\",\"reply\":\"{reply}\""
                );
            }
            Record::CloudDone {
                cluster,
                pool,
                completion,
            } => {
                let _ = write!(
                    out,
                    ",\"cluster\":{cluster},\"pool\":\"{pool}\",\"completion\":\"{completion:?}\""
                );
            }
            Record::AgentDied { cluster }
            | Record::AgentRestarted { cluster }
            | Record::ClusterRestored { cluster } => {
                let _ = write!(out, ",\"cluster\":{cluster}");
            }
            Record::Blocked {
                cluster,
                pool,
                guard,
            } => {
                let _ = write!(
                    out,
                    ",\"cluster\":{cluster},\"pool\":\"{pool}\",\"guard\":\"{}\"",
                    guard.name()
                );
            }
            Record::Action { index, begin } => {
                let _ = write!(out, ",\"index\":{index},\"begin\":{begin}");
            }
            Record::Detected { incident } => {
                let _ = write!(out, ",\"incident\":{incident}");
            }
            Record::AuthMinute {
                legit_ok,
                legit_decided,
                vendor_429,
                replicas,
            } => {
                let _ = write!(
                    out,
                    ",\"legit_ok\":{legit_ok},\"legit_decided\":{legit_decided},\"vendor_429\":{vendor_429},\"replicas\":{replicas}"
                );
            }
            Record::Note { text } => {
                out.push_str(",\"text\":\"");
                cascade_sim::json_escape_into(out, text);
                out.push('"');
            }
        }
    }
}
