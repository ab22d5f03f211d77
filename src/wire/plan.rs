//! What a wire run replays from a scenario: the network-side steps of its
//! timeline, the window of the calendar it covers, and the slice of the
//! fleet it runs.
//!
//! The timeline is read the way the fleet tier reads it: the kernel's edge
//! order ([`Timeline::faults`]), each edge turned into effects by the shared
//! interpreter ([`effects::interpret`]), changes through the same
//! [`ChangeManager`], so a change held by the freeze, rejected by isolation
//! or leaked into prod lands, or not, exactly as it does there. What comes
//! out are routing switches, routing fixes and desired-state service faults
//! (partial answers included); every other effect (auth, rollouts,
//! engineers, cloud faults) is listed by name in [`Plan::not_modelled`]:
//! the wire tier replays faults and decisions, never the simulated
//! responders, so a slice should end before responders would act, or be
//! compared with a fleet run whose responders stay idle.

use crate::config::ModelConfig;
use crate::effects::land_route_change;
use crate::effects::{self, Effect};
use crate::model::change::{Change, ChangeManager, ChangePayload, Decision};
use crate::plant::cell_layout;
use crate::plant::control::{misrouted, CellLayout, EdgeVersion, ServiceFaults};
use crate::plant::fleet::Fleet;
use crate::protocol::ClusterId;
use crate::timeline::Timeline;
use crate::types::Env;
use cascade_sim::{Epoch, FaultEdge, Seed, SimDuration, SimTime};

/// One network-side step of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: SimTime,
    /// The timeline item's id.
    pub item: String,
    pub kind: StepKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// A change applied to prod sets a new routing version.
    Routing {
        ratio: f64,
        salt: u64,
        /// Cells whose route misses the desired-state path (bit k = cell k).
        cells_mask: u64,
        /// The run's cell layout (so a step alone says whom it misroutes).
        layout: CellLayout,
        set_by: String,
    },
    /// Routing corrected (an `edge_fix`, or a change reverted at its end).
    Fix { set_by: String },
    /// The desired-state service's faults change.
    Faults(ServiceFaults),
}

/// A timeline effect this tier does not carry out (auth, rollouts,
/// responders, cloud faults): named, so a reader of a wire run sees what
/// the slice leaves to the fleet tier.
#[derive(Clone, Debug, PartialEq)]
pub struct NotModelled {
    pub at: SimTime,
    /// The timeline item's id.
    pub item: String,
    /// The effect's name ([`Effect::name`]); `agent_fix_rollout` for the
    /// agent fix that change management applied.
    pub effect: &'static str,
}

/// What a wire run replays from a timeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The network-side steps, in the order the fleet tier enacts them.
    pub steps: Vec<Step>,
    pub not_modelled: Vec<NotModelled>,
}

/// Reads `timeline` through the shared interpreter ([`effects::interpret`])
/// in the kernel's edge order, with changes going through a
/// [`ChangeManager`] of its own.
/// A routing change through the edge configuration pipeline lands at its
/// deploy time, as in the fleet tier; the steps are in time order.
pub fn plan(timeline: &Timeline, model: &ModelConfig, seed: Seed, epoch: Epoch) -> Plan {
    let layout = cell_layout(model.network.edge_cells, seed);
    let mut cm: ChangeManager<ChangePayload> = match ChangeManager::new(model.change.clone()) {
        Ok(cm) => cm,
        // Validated when the scenario loaded.
        Err(e) => panic!("change config: {e}"),
    };
    let mut next_id = 1u32;
    let mut plan = Plan::default();
    let mut faults = ServiceFaults::default();
    let mut decisions = Vec::new();
    let mut effects = Vec::new();
    for (at, edge) in timeline.faults().edges() {
        let (i, begin) = match edge {
            FaultEdge::Begin(i) => (i, true),
            FaultEdge::End(i) => (i, false),
        };
        let it = &timeline.items[i as usize];
        let step = |kind| Step {
            at,
            item: it.id.clone(),
            kind,
        };
        effects.clear();
        effects::interpret(it, begin, model, &mut effects);
        for e in effects.drain(..) {
            match e {
                // The wire tier measures no convergence times.
                Effect::Narrate(_) | Effect::FixAvailable | Effect::WatchSettling => {}
                Effect::SubmitChange(req) => {
                    let id = next_id;
                    next_id += 1;
                    decisions.push(cm.submit(
                        at,
                        Change {
                            id,
                            description: req.name,
                            target: req.target,
                            applied_via: req.applied_via,
                            emergency: req.emergency,
                            payload: req.payload,
                        },
                    ));
                }
                Effect::FixRouting { set_by } => plan.steps.push(step(StepKind::Fix { set_by })),
                Effect::Freeze => cm.freeze(at),
                Effect::LiftFreeze => cm.lift_freeze(at, &mut decisions),
                Effect::Isolation(on) => cm.set_isolation(on),
                Effect::ServiceFaults {
                    server_error_ratio,
                    timeout_ratio,
                    generation_regression,
                } => {
                    faults.server_error_ratio = server_error_ratio;
                    faults.timeout_ratio = timeout_ratio;
                    faults.generation_regression = generation_regression;
                    plan.steps.push(step(StepKind::Faults(faults)));
                }
                Effect::PartialDesiredState { ratio } => {
                    faults.partial_ratio = ratio;
                    plan.steps.push(step(StepKind::Faults(faults)));
                }
                other => plan.not_modelled.push(NotModelled {
                    at,
                    item: it.id.clone(),
                    effect: other.name(),
                }),
            }
        }
        for d in decisions.drain(..) {
            let Decision::Applied(a) = d else { continue };
            if a.env != Env::Prod {
                continue;
            }
            match a.payload {
                ChangePayload::Edge(change) => {
                    let landing = land_route_change(&model.network, seed, epoch, change, at);
                    plan.steps.push(Step {
                        at: landing.at,
                        item: it.id.clone(),
                        kind: StepKind::Routing {
                            ratio: landing.change.misroute_ratio,
                            salt: landing.change.misroute_salt,
                            cells_mask: landing.cells_mask,
                            layout,
                            set_by: landing.change.name,
                        },
                    });
                }
                ChangePayload::EdgeFix => plan.steps.push(step(StepKind::Fix {
                    set_by: it.id.clone(),
                })),
                ChangePayload::AgentFix => plan.not_modelled.push(NotModelled {
                    at,
                    item: it.id.clone(),
                    effect: "agent_fix_rollout",
                }),
            }
        }
    }
    // Pipeline deploys land later than their item (stable: ties keep order).
    plan.steps.sort_by_key(|s| s.at);
    plan
}

/// The first step that sends some clusters to the default backend.
pub fn first_misroute(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .find(|s| {
            matches!(s.kind, StepKind::Routing { ratio, cells_mask, .. } if ratio > 0.0 || cells_mask != 0)
        })
}

/// The routing version a misroute step sets (for `misrouted`).
pub fn version_of(step: &Step) -> Option<EdgeVersion> {
    match &step.kind {
        StepKind::Routing {
            ratio,
            salt,
            cells_mask,
            layout,
            set_by,
        } => Some(EdgeVersion {
            version: 0,
            misroute_ratio: *ratio,
            misroute_salt: *salt,
            misroute_cells: *cells_mask,
            layout: *layout,
            set_by: set_by.clone(),
            at: step.at,
        }),
        _ => None,
    }
}

/// A stretch of the scenario's calendar, `start .. start + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: SimTime,
    pub len: SimDuration,
}

impl Window {
    pub fn end(&self) -> SimTime {
        self.start + self.len
    }
}

/// Lead of the default window before the first misroute.
pub const WINDOW_LEAD: SimDuration = SimDuration::from_mins(30);
/// Default window length: the lead plus one 4 h full-resync period and a
/// margin, so every agent the misroute hits meets one full resync inside.
pub const WINDOW_LEN: SimDuration = SimDuration::from_mins(5 * 60);

/// The default window: from `WINDOW_LEAD` before the first misroute (or the
/// scenario's start), `WINDOW_LEN` long, within the scenario.
pub fn default_window(steps: &[Step], end: SimTime) -> Window {
    let start = first_misroute(steps)
        .map(|s| SimTime::ZERO + s.at.saturating_since(SimTime::ZERO + WINDOW_LEAD))
        .unwrap_or(SimTime::ZERO);
    let len = end.saturating_since(start).min(WINDOW_LEN);
    Window { start, len }
}

/// How a run picks its clusters from the scenario's fleet. Cluster ids are
/// kept, so each cluster's misroute fate, phases and cloud account are the
/// ones it has in the fleet tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SliceRule {
    /// Half of the slice from the clusters the first misroute hits (lowest
    /// ids first), the rest from the lowest ids it spares: a small slice
    /// sees both fates even when the misroute hits a few percent.
    HalfHit,
    /// The lowest ids.
    First,
    /// Exactly these clusters.
    Ids(Vec<ClusterId>),
}

/// The slice's cluster ids, ascending. `hit` is the first misroute's version.
pub fn slice(
    fleet: &Fleet,
    k: u32,
    rule: &SliceRule,
    hit: Option<&EdgeVersion>,
) -> Result<Vec<ClusterId>, String> {
    let n = fleet.len() as u32;
    let mut ids: Vec<ClusterId> = match rule {
        SliceRule::Ids(ids) => {
            if let Some(bad) = ids.iter().find(|&&c| c >= n) {
                return Err(format!("cluster {bad}: the fleet has {n} clusters"));
            }
            ids.clone()
        }
        SliceRule::First => (0..k.min(n)).collect(),
        SliceRule::HalfHit => {
            let is_hit = |c: &ClusterId| hit.is_some_and(|v| misrouted(v, *c));
            let want_hit = k.div_ceil(2) as usize;
            let mut v: Vec<ClusterId> = (0..n).filter(is_hit).take(want_hit).collect();
            let rest = k.min(n) as usize - v.len();
            v.extend((0..n).filter(|c| !is_hit(c)).take(rest));
            v
        }
    };
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err("the slice is empty".into());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use std::path::Path;

    const SC: &str = r#"{
        "name": "t", "seed": 1,
        "start": "2025-03-22T00:00:00Z", "end": "2025-03-27T00:00:00Z",
        "model": {"fleet": {"clusters": 200}},
        "timeline": [
            {"id": "E4", "at": "D0 22:00", "do": {"kind": "change", "change_id": "R1", "target": "prod", "applied_via": "prod", "misroute_ratio": 0.08, "misroute_salt": 4}},
            {"id": "FIX", "at": "D1 06:00", "do": {"kind": "edge_fix"}},
            {"id": "F", "at": "D1 18:00", "do": {"kind": "freeze"}},
            {"id": "HELD", "at": "D2 10:00", "do": {"kind": "change", "change_id": "ordinary", "target": "prod", "applied_via": "prod", "misroute_ratio": 0.3}},
            {"id": "E9", "at": "D4 15:00", "for": "1h", "do": {"kind": "change", "change_id": "leak", "target": "staging", "applied_via": "prod", "misroute_ratio": 0.5, "misroute_salt": 9}}
        ]
    }"#;

    #[test]
    fn changes_pass_through_change_management_as_in_the_fleet_tier() {
        let sc = load_str(Path::new("t.json"), SC).unwrap();
        let s = plan(&sc.timeline, &sc.model, Seed(sc.seed), sc.epoch).steps;
        let kinds: Vec<(&str, String)> = s
            .iter()
            .map(|s| {
                (
                    s.item.as_str(),
                    match &s.kind {
                        StepKind::Routing { ratio, .. } => format!("route {ratio}"),
                        StepKind::Fix { .. } => "fix".into(),
                        StepKind::Faults(_) => "faults".into(),
                    },
                )
            })
            .collect();
        // HELD waits for the freeze; the leak is applied to prod and reverted.
        assert_eq!(
            kinds,
            vec![
                ("E4", "route 0.08".to_string()),
                ("FIX", "fix".into()),
                ("E9", "route 0.5".into()),
                ("E9", "fix".into()),
            ]
        );
        let w = default_window(&s, sc.end);
        assert_eq!(w.start, SimTime::from_secs(21 * 3_600 + 1_800));
        assert_eq!(w.len, WINDOW_LEN);
    }

    #[test]
    fn partial_answers_reach_the_wire_and_the_rest_is_named() {
        let sc = load_str(
            Path::new("t.json"),
            r#"{
            "name": "t", "seed": 1,
            "start": "2025-03-22T00:00:00Z", "end": "2025-03-23T00:00:00Z",
            "model": {"fleet": {"clusters": 20}},
            "timeline": [
                {"id": "P", "at": "D0 01:00", "for": "1h", "do": {"kind": "partial_desired_state", "ratio": 0.25}},
                {"id": "S", "at": "D0 01:30", "for": "10m", "do": {"kind": "service_faults", "server_error_ratio": 0.5}},
                {"id": "ENG", "at": "D0 02:00", "do": {"kind": "engineers", "count": 3}},
                {"id": "B", "at": "D0 03:00", "for": "1h", "do": {"kind": "bot_surge", "multiplier": 5}}
            ]
        }"#,
        )
        .unwrap();
        let p = plan(&sc.timeline, &sc.model, Seed(sc.seed), sc.epoch);
        let faults: Vec<(u64, f64, f64)> = p
            .steps
            .iter()
            .filter_map(|s| match s.kind {
                StepKind::Faults(f) => {
                    Some((s.at.as_secs(), f.partial_ratio, f.server_error_ratio))
                }
                _ => None,
            })
            .collect();
        // The 5xx window keeps the partial answers on, and P's end keeps
        // nothing of S (which ended before it).
        assert_eq!(
            faults,
            vec![
                (3_600, 0.25, 0.0),
                (5_400, 0.25, 0.5),
                (6_000, 0.25, 0.0),
                (7_200, 0.0, 0.0)
            ]
        );
        let named: Vec<(&str, &str)> = p
            .not_modelled
            .iter()
            .map(|n| (n.item.as_str(), n.effect))
            .collect();
        assert_eq!(
            named,
            vec![
                ("ENG", "engineers"),
                ("B", "bot_multiplier"),
                ("B", "bot_multiplier")
            ]
        );
    }

    #[test]
    fn half_hit_slice_mixes_both_fates() {
        let sc = load_str(Path::new("t.json"), SC).unwrap();
        let fleet = Fleet::generate(&sc.model.fleet, cascade_sim::Seed(1));
        let s = plan(&sc.timeline, &sc.model, Seed(sc.seed), sc.epoch).steps;
        let v = version_of(first_misroute(&s).unwrap()).unwrap();
        let ids = slice(&fleet, 10, &SliceRule::HalfHit, Some(&v)).unwrap();
        assert_eq!(ids.len(), 10);
        let hit = ids.iter().filter(|&&c| misrouted(&v, c)).count();
        assert_eq!(hit, 5);
        assert_eq!(
            slice(&fleet, 3, &SliceRule::First, None).unwrap(),
            vec![0, 1, 2]
        );
        assert!(slice(&fleet, 3, &SliceRule::Ids(vec![500]), None).is_err());
    }
}
