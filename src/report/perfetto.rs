//! `trace.json`: the run in the Chrome trace-event format, which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open. Timestamps are simulated
//! microseconds since the run's start, so the UI's clock reads simulated time.
//!
//! Tracks: faults and freezes, incidents, rollout waves (complete events);
//! cluster repairs (async slices, which may overlap); counters for auth
//! demand and capacity, replicas, vendor 429s and clusters with lost pools.

use super::series::Series;
use super::Summary;
use serde_json::{json, Value};

const PID: u32 = 1;
const TID_FAULTS: u32 = 1;
const TID_INCIDENTS: u32 = 2;
const TID_ROLLOUT: u32 = 3;
const TID_MARKERS: u32 = 4;

fn us(min: f64) -> u64 {
    (min * 60e6).round().max(0.0) as u64
}

/// Builds the trace-event document.
pub fn trace_json(summary: &Summary, s: &Series) -> Value {
    let mut ev: Vec<Value> = Vec::new();
    ev.push(json!({"name": "process_name", "ph": "M", "pid": PID,
        "args": {"name": format!("cascade {} seed {} ({})", summary.scenario, summary.seed, summary.start)}}));
    for (tid, name) in [
        (TID_FAULTS, "faults and freezes"),
        (TID_INCIDENTS, "incidents"),
        (TID_ROLLOUT, "rollout waves"),
        (TID_MARKERS, "detections and actions"),
    ] {
        ev.push(json!({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": name}}));
    }
    for b in &s.bands {
        let tid = if b.kind == "incident" {
            TID_INCIDENTS
        } else {
            TID_FAULTS
        };
        ev.push(
            json!({"name": b.label, "cat": b.kind, "ph": "X", "pid": PID, "tid": tid,
            "ts": us(b.start_min), "dur": us(b.end_min).saturating_sub(us(b.start_min)).max(1)}),
        );
    }
    let end = us(s.minutes as f64);
    for (i, w) in s.waves.iter().enumerate() {
        let next = s
            .waves
            .get(i + 1)
            .map_or(end.min(us(w.start_min + 60.0)), |n| us(n.start_min));
        ev.push(json!({"name": format!("wave {} (+{} clusters)", w.wave, w.clusters), "cat": "rollout", "ph": "X",
            "pid": PID, "tid": TID_ROLLOUT, "ts": us(w.start_min), "dur": next.saturating_sub(us(w.start_min)).max(1),
            "args": {"clusters_upgraded": w.clusters_cumulative}}));
    }
    for m in &s.markers {
        ev.push(json!({"name": m.label, "ph": "i", "s": "t", "pid": PID, "tid": TID_MARKERS, "ts": us(m.at_min)}));
    }
    for r in &s.repairs {
        let name = format!("cluster {} ({})", r.cluster, r.method);
        let id = format!("0x{:x}", r.lost_us ^ ((r.cluster as u64) << 40));
        ev.push(json!({"name": name, "cat": "repair", "ph": "b", "id": id, "pid": PID, "ts": r.lost_us}));
        ev.push(json!({"name": name, "cat": "repair", "ph": "e", "id": id, "pid": PID, "ts": r.restored_us.unwrap_or(end)}));
    }
    // Counters: one sample per minute where the value changed.
    let mut counter = |name: &str, key: &str, values: &mut dyn Iterator<Item = f64>| {
        let mut last = f64::NAN;
        for (i, v) in values.enumerate() {
            if v != last {
                ev.push(json!({"name": name, "ph": "C", "pid": PID, "ts": us(i as f64), "args": {key: v}}));
                last = v;
            }
        }
    };
    counter(
        "clusters with lost pools",
        "clusters",
        &mut s.lost.iter().map(|x| *x as f64),
    );
    counter(
        "auth demand (req/s)",
        "demand",
        &mut s.auth_demand_rps.iter().map(|x| (*x as f64).round()),
    );
    counter(
        "auth capacity (req/s)",
        "capacity",
        &mut s.auth_capacity_rps.iter().map(|x| (*x as f64).round()),
    );
    counter(
        "auth replicas",
        "replicas",
        &mut s.replicas.iter().map(|x| *x as f64),
    );
    counter(
        "vendor 429 per minute",
        "429s",
        &mut s.vendor_429.iter().map(|x| *x as f64),
    );
    json!({"traceEvents": ev, "displayTimeUnit": "ms",
        "otherData": {"scenario": summary.scenario, "seed": summary.seed, "trace_hash": summary.trace_hash,
                      "commit": summary.commit, "time": "simulated microseconds since the run's start"}})
}
