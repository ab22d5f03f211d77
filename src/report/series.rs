//! Per-minute series of a run: what the charts and the Perfetto counters
//! draw. Written beside the summary as `series.json` so that `cascade
//! compare` can overlay finished runs without running them again.

use crate::timeline::ActionClass;
use crate::world::{RestoreMethod, World};
use cascade_sim::SimTime;
use serde::{Deserialize, Serialize};

/// A shaded interval on the timeline: a fault, an incident phase, a freeze.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub label: String,
    /// `fault`, `incident`, `freeze`, `response`.
    pub kind: String,
    pub start_min: f64,
    pub end_min: f64,
}

/// A point event on the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub at_min: f64,
    pub label: String,
}

/// One rollout wave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaveMark {
    pub wave: u32,
    pub start_min: f64,
    pub clusters: u32,
    /// Clusters upgraded once this wave started (cumulative).
    pub clusters_cumulative: u32,
}

/// One cluster's loss and repair, for the Perfetto repair tracks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repair {
    pub cluster: u32,
    pub lost_us: u64,
    pub restored_us: Option<u64>,
    pub method: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub scenario: String,
    pub seed: u64,
    /// UTC start of minute 0.
    pub start: String,
    pub clusters: u32,
    pub minutes: u32,
    pub lost: Vec<u32>,
    pub down: Vec<u32>,
    pub astro_available: Vec<f32>,
    pub airflow_available: Vec<f32>,
    pub auth_success: Vec<f32>,
    pub auth_demand_rps: Vec<f32>,
    pub auth_capacity_rps: Vec<f32>,
    pub vendor_429: Vec<u32>,
    pub replicas: Vec<u32>,
    /// Cumulative loss episodes begun and restored, per minute.
    pub lost_cumulative: Vec<u32>,
    pub restored_cumulative: Vec<u32>,
    pub bands: Vec<Band>,
    pub markers: Vec<Marker>,
    pub waves: Vec<WaveMark>,
    pub repairs: Vec<Repair>,
}

fn minutes_of(t: SimTime) -> f64 {
    t.as_micros() as f64 / 60e6
}

impl Series {
    /// Collects the series of a finished world.
    pub fn from_world(world: &World, scenario: &str, seed: u64, end: SimTime) -> Series {
        let m = &world.metrics();
        let b = &world.auth_book();
        let minutes = m.lost_per_minute.len();
        let mut s = Series {
            scenario: scenario.to_string(),
            seed,
            start: world.epoch().format(SimTime::ZERO),
            clusters: world.plant().fleet.len() as u32,
            minutes: minutes as u32,
            lost: m.lost_per_minute.clone(),
            down: m.down_per_minute.clone(),
            astro_available: b.surface_available.iter().map(|x| x[0]).collect(),
            airflow_available: b.surface_available.iter().map(|x| x[1]).collect(),
            auth_success: b.minutes.iter().map(|x| x.success_ratio() as f32).collect(),
            auth_demand_rps: b.minutes.iter().map(|x| x.demand_rps).collect(),
            auth_capacity_rps: b.minutes.iter().map(|x| x.capacity_rps).collect(),
            vendor_429: b.minutes.iter().map(|x| x.vendor_429).collect(),
            replicas: b.minutes.iter().map(|x| x.replicas_ready_max).collect(),
            ..Series::default()
        };
        let mut lost_at = vec![0u32; minutes + 1];
        let mut restored_at = vec![0u32; minutes + 1];
        for e in &m.episodes {
            let i = (e.lost_at.minute_index() as usize).min(minutes);
            lost_at[i] += 1;
            if let Some(r) = e.restored_at {
                restored_at[(r.minute_index() as usize).min(minutes)] += 1;
            }
            s.repairs.push(Repair {
                cluster: e.cluster,
                lost_us: e.lost_at.as_micros(),
                restored_us: e.restored_at.map(|t| t.as_micros()),
                method: match e.method {
                    Some(RestoreMethod::Manual) => "manual",
                    Some(RestoreMethod::Script) => "script",
                    Some(RestoreMethod::Agent) => "agent",
                    None => "not restored",
                }
                .to_string(),
            });
        }
        let (mut a, mut r) = (0, 0);
        for i in 0..minutes {
            a += lost_at[i];
            r += restored_at[i];
            s.lost_cumulative.push(a);
            s.restored_cumulative.push(r);
        }
        let end_min = minutes_of(end);
        for item in &world.timeline().items {
            let kind = match item.action.class() {
                ActionClass::Freeze => "freeze",
                ActionClass::Fault => "fault",
                ActionClass::Response | ActionClass::Release | ActionClass::Marker => "",
            };
            let start = minutes_of(item.at);
            match (kind, item.duration) {
                ("", _) => s.markers.push(Marker {
                    at_min: start,
                    label: format!("{} {}", item.id, item.action.kind_name()),
                }),
                (k, Some(d)) => s.bands.push(Band {
                    label: item.id.clone(),
                    kind: k.into(),
                    start_min: start,
                    end_min: minutes_of(item.at + d),
                }),
                ("freeze", None) => s.bands.push(Band {
                    label: item.id.clone(),
                    kind: "freeze".into(),
                    start_min: start,
                    end_min,
                }),
                (_, None) => s.markers.push(Marker {
                    at_min: start,
                    label: item.id.clone(),
                }),
            }
        }
        for inc in world.incidents() {
            let end = inc.restore_completed_at.map_or(end_min, minutes_of);
            s.bands.push(Band {
                label: "pool loss".into(),
                kind: "incident".into(),
                start_min: minutes_of(inc.started_at),
                end_min: end,
            });
            if let Some(d) = inc.detected_at {
                s.markers.push(Marker {
                    at_min: minutes_of(d),
                    label: format!(
                        "detected ({})",
                        inc.detected_by.map_or("?", |d| d.name()).replace('_', " ")
                    ),
                });
            }
        }
        for inc in world.monitoring().auth_incidents() {
            s.bands.push(Band {
                label: "auth failing".into(),
                kind: "incident".into(),
                start_min: minutes_of(inc.started_at),
                end_min: inc.ended_at.map_or(end_min, minutes_of),
            });
        }
        let mut cumulative = 0;
        for w in world.rollout().waves() {
            if w.attempt > 1 {
                continue;
            }
            cumulative = cumulative.max(w.clusters.end as u32);
            s.waves.push(WaveMark {
                wave: w.wave,
                start_min: minutes_of(w.started),
                clusters: w.clusters.len() as u32,
                clusters_cumulative: cumulative,
            });
        }
        s
    }
}
