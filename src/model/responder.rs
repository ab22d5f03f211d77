//! The responders: the incident-response playbook the simulated on-call
//! team follows for node-pool incidents, as a sans-IO machine.
//!
//! In: what monitoring reports (customer reports, the pool-loss alert, the
//! agent-hold alert), the on-call's acknowledgement, the timers it asked
//! for, what diagnosis and the fleet's state show at decision time, and
//! restored or re-broken clusters. Out: detections and pages, restorations
//! to queue, changes to submit (the route revert, the emergency hotfix),
//! rollout resumes, resolutions, and the narrative.
//!
//! The playbook \[A, after the write-up]: support escalates to on-call
//! after `customer_reports_to_escalate` reports (or an alert pages
//! directly); once on-call acknowledges, every lost cluster is queued for
//! restoration, diagnosis finds and reverts the bad route after
//! `diagnose_min`, and after `decide_min` the team projects manual repair
//! of the clusters at risk and ships the fix as an emergency hotfix when
//! that projection exceeds `hotfix_when_manual_exceeds_h` (D8: "efforts to
//! apply manual fixes were taking too long"). An incident is resolved when
//! its clusters are restored and its route is fixed.
//!
//! The machine decides from what it is handed; which facts the driver
//! hands it (e.g. whether the route still misroutes) is the driver's part.

use crate::model::change::{ChangePayload, ChangeRequest};
use crate::model::monitoring::DetectionSource;
use crate::model::rollout::HaltCause;
use crate::protocol::ClusterId;
use crate::sim::{SimDuration, SimTime};
use crate::types::{check_positive, Env};
use serde::{Deserialize, Serialize};

/// How lost clusters are restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreBy {
    /// On-call engineers, one cluster at a time each.
    Manual,
    /// The automated recovery script.
    Script,
}

/// The incident-response playbook the simulated responders follow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    /// From acknowledgement to finding and reverting the bad route. [A]
    pub diagnose_min: f64,
    /// From acknowledgement to the repair-or-hotfix decision. [A]
    pub decide_min: f64,
    /// How lost clusters are restored. [fact] manual in March 2025; the
    /// recovery script is the planned follow-up.
    pub restore_with: RestoreBy,
    /// Ship the fix as an emergency hotfix when manual repair of the clusters
    /// at risk is projected to take longer than this. [A]
    pub hotfix_when_manual_exceeds_h: f64,
    /// From a rollout alarm to the responders resuming the rollout. [A]
    pub rollout_resume_after_min: f64,
    /// How far back responders read the edge's access log for 404s (at
    /// diagnosis, and when counting clusters at risk). [A] a dashboard's
    /// usual "last 10 minutes"; agents poll every minute, so a misrouted
    /// live agent shows up in it.
    pub edge_log_window_min: f64,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            diagnose_min: 45.0,
            decide_min: 15.0,
            restore_with: RestoreBy::Manual,
            hotfix_when_manual_exceeds_h: 6.0,
            rollout_resume_after_min: 30.0,
            edge_log_window_min: 10.0,
        }
    }
}

impl ResponseConfig {
    pub fn validate(&self) -> Result<(), String> {
        check_positive("diagnose_min", self.diagnose_min)?;
        check_positive("decide_min", self.decide_min)?;
        check_positive(
            "hotfix_when_manual_exceeds_h",
            self.hotfix_when_manual_exceeds_h,
        )?;
        check_positive("rollout_resume_after_min", self.rollout_resume_after_min)?;
        check_positive("edge_log_window_min", self.edge_log_window_min)
    }
}

/// What opened an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCause {
    /// A cluster lost desired pools.
    PoolLoss,
    /// Fixed agents holding on a broken route, seen by the agent-hold alert.
    AgentsInHold,
}

impl IncidentCause {
    /// Stable name in summaries.
    pub fn name(self) -> &'static str {
        match self {
            IncidentCause::PoolLoss => "pool_loss",
            IncidentCause::AgentsInHold => "agents_in_hold",
        }
    }
}

/// An incident from its start (the first loss, or the start of the hold)
/// to its resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolIncident {
    pub id: u32,
    pub cause: IncidentCause,
    pub started_at: SimTime,
    pub detected_at: Option<SimTime>,
    pub detected_by: Option<DetectionSource>,
    pub acked_at: Option<SimTime>,
    /// The bad route was reverted.
    pub mitigated_at: Option<SimTime>,
    pub clusters_affected: u32,
    /// Clusters lost and not yet restored.
    pub open_clusters: u32,
    pub reports: u32,
    /// Resolved: every cluster restored and the route fixed.
    pub restore_completed_at: Option<SimTime>,
    pub projected_manual_hours: Option<f64>,
    pub hotfix_started_at: Option<SimTime>,
}

/// Timers the responders ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponderTimer {
    /// Decide between manual repair and an emergency hotfix.
    Decide { incident: u32 },
    /// Diagnosis done: revert the route that answers 404.
    Diagnosed { incident: u32 },
    /// Resume a rollout halted by an alarm.
    ResumeRollout,
}

/// What the team sees when it decides (the driver gathers it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecisionInputs {
    /// Clusters lost, plus intact ones that will break if nothing changes.
    pub clusters_at_risk: u32,
    /// The repair team's throughput by hand.
    pub clusters_per_hour: f64,
    /// The fix already reached the whole fleet.
    pub rollout_completed: bool,
}

/// What the responders do, for the driver to enact.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponderOutput {
    SetTimer {
        at: SimTime,
        timer: ResponderTimer,
    },
    /// A line of the run's narrative.
    Narrate {
        at: SimTime,
        text: String,
    },
    /// Incident `incident` is detected (by `by`).
    Detected {
        incident: u32,
        by: DetectionSource,
    },
    /// Page the on-call for `incident`.
    Page {
        incident: u32,
    },
    /// Queue `cluster` for restoration by `by`.
    Restore {
        cluster: ClusterId,
        by: RestoreBy,
    },
    /// Submit a change (the route revert, the emergency hotfix).
    SubmitChange(ChangeRequest),
    /// Resume the halted rollout.
    ResumeRollout,
    /// Incident `incident` is resolved: the on-call stands down.
    Resolved {
        incident: u32,
    },
    /// The agent-hold alert's incident is over: the alert watches afresh.
    ResetHoldAlert,
}

/// Incidents a run may open; the chain has a handful.
pub const INCIDENTS_MAX: usize = 10_000;

/// The responders.
#[derive(Clone, Debug)]
pub struct Responder {
    cfg: ResponseConfig,
    reports_to_escalate: u32,
    restore_with: RestoreBy,
    fix_available: bool,
    /// Oldest first; only the last may be open.
    incidents: Vec<PoolIncident>,
}

impl Responder {
    /// `reports_to_escalate`: customer reports before support pages on-call.
    pub fn new(cfg: ResponseConfig, reports_to_escalate: u32) -> Self {
        Responder {
            restore_with: cfg.restore_with,
            fix_available: false,
            incidents: Vec::new(),
            reports_to_escalate,
            cfg,
        }
    }

    pub fn incidents(&self) -> &[PoolIncident] {
        &self.incidents
    }

    /// The open incident, if any.
    pub fn open_incident(&self) -> Option<&PoolIncident> {
        self.incidents
            .last()
            .filter(|i| i.restore_completed_at.is_none())
    }

    fn open_mut(&mut self) -> Option<&mut PoolIncident> {
        self.incidents
            .last_mut()
            .filter(|i| i.restore_completed_at.is_none())
    }

    /// Whether the open incident has been acknowledged (restorations run).
    pub fn engaged(&self) -> bool {
        self.open_incident().is_some_and(|i| i.acked_at.is_some())
    }

    /// The agent fix is built: it may ship as a hotfix.
    pub fn set_fix_available(&mut self) {
        self.fix_available = true;
    }

    /// How lost clusters are restored from now on.
    pub fn set_restore_with(&mut self, by: RestoreBy) {
        self.restore_with = by;
    }

    fn open_new(&mut self, cause: IncidentCause, started_at: SimTime) -> &mut PoolIncident {
        // Bounded: a run that opened this many incidents is broken.
        assert!(
            self.incidents.len() < INCIDENTS_MAX,
            "more than {INCIDENTS_MAX} incidents in one run"
        );
        let id = self.incidents.len() as u32;
        self.incidents.push(PoolIncident {
            id,
            cause,
            started_at,
            detected_at: None,
            detected_by: None,
            acked_at: None,
            mitigated_at: None,
            clusters_affected: 0,
            open_clusters: 0,
            reports: 0,
            restore_completed_at: None,
            projected_manual_hours: None,
            hotfix_started_at: None,
        });
        self.incidents.last_mut().expect("just pushed")
    }

    /// `cluster` started losing pools (the incident's ground truth: its
    /// start and size). Restoration is queued at once if on-call is on it.
    pub fn handle_loss_started(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        out: &mut Vec<ResponderOutput>,
    ) {
        if self.open_incident().is_none() {
            self.open_new(IncidentCause::PoolLoss, now);
            out.push(ResponderOutput::Narrate {
                at: now,
                text: format!("first cluster loses node pools (cluster {cluster})"),
            });
        }
        let by = self.restore_with;
        let inc = self.open_mut().expect("open");
        inc.clusters_affected += 1;
        inc.open_clusters += 1;
        if inc.acked_at.is_some() {
            out.push(ResponderOutput::Restore { cluster, by });
        }
    }

    /// Detects the open incident (if not yet) and pages.
    fn detect(&mut self, now: SimTime, by: DetectionSource, out: &mut Vec<ResponderOutput>) {
        let Some(inc) = self.open_mut() else { return };
        inc.detected_at = Some(now);
        inc.detected_by = Some(by);
        let incident = inc.id;
        out.push(ResponderOutput::Detected { incident, by });
        out.push(ResponderOutput::Narrate {
            at: now,
            text: format!(
                "pool loss detected by {}; on-call paged",
                by.name().replace('_', " ")
            ),
        });
        out.push(ResponderOutput::Page { incident });
    }

    /// A customer reported a broken cluster to support.
    pub fn handle_customer_report(&mut self, now: SimTime, out: &mut Vec<ResponderOutput>) {
        let escalate = self.reports_to_escalate;
        let Some(inc) = self.open_mut() else { return };
        inc.reports += 1;
        if inc.detected_at.is_none() && inc.reports >= escalate {
            self.detect(now, DetectionSource::CustomerReports, out);
        }
    }

    /// The pool-loss alert fired.
    pub fn handle_pool_loss_alert(&mut self, now: SimTime, out: &mut Vec<ResponderOutput>) {
        if self
            .open_incident()
            .is_some_and(|i| i.detected_at.is_none())
        {
            self.detect(now, DetectionSource::PoolLossAlert, out);
        }
    }

    /// The agent-hold alert fires: `held` agents in hold since `since`.
    /// It opens an incident of its own unless one is open.
    pub fn handle_agent_hold_alert(
        &mut self,
        now: SimTime,
        held: u32,
        since: SimTime,
        out: &mut Vec<ResponderOutput>,
    ) {
        if self.open_incident().is_some() {
            return;
        }
        self.open_new(IncidentCause::AgentsInHold, since);
        out.push(ResponderOutput::Narrate {
            at: now,
            text: format!("{held} agents in safe hold (desired-state answers failing)"),
        });
        self.detect(now, DetectionSource::AgentHoldAlert, out);
    }

    /// On-call acknowledged `incident` at `at`: restorations start for
    /// every cluster in `lost`, diagnosis and the decision are scheduled.
    pub fn handle_acked(
        &mut self,
        now: SimTime,
        incident: u32,
        at: SimTime,
        lost: impl IntoIterator<Item = ClusterId>,
        out: &mut Vec<ResponderOutput>,
    ) {
        let Some(inc) = self.incidents.get_mut(incident as usize) else {
            return;
        };
        if inc.acked_at.is_some() {
            return;
        }
        inc.acked_at = Some(at);
        out.push(ResponderOutput::Narrate {
            at,
            text: "on-call acknowledges; restoration starts".into(),
        });
        let minutes = |m: f64| now + SimDuration::from_secs_f64(m * 60.0);
        out.push(ResponderOutput::SetTimer {
            at: minutes(self.cfg.decide_min),
            timer: ResponderTimer::Decide { incident },
        });
        out.push(ResponderOutput::SetTimer {
            at: minutes(self.cfg.diagnose_min),
            timer: ResponderTimer::Diagnosed { incident },
        });
        let by = self.restore_with;
        out.extend(
            lost.into_iter()
                .map(|cluster| ResponderOutput::Restore { cluster, by }),
        );
    }

    /// Diagnosis of `incident` is done; `route_misroutes`: the
    /// desired-state route still answers 404 for some clusters.
    pub fn handle_diagnosed(
        &mut self,
        now: SimTime,
        incident: u32,
        route_misroutes: bool,
        out: &mut Vec<ResponderOutput>,
    ) {
        if route_misroutes {
            out.push(ResponderOutput::Narrate {
                at: now,
                text: "cause found: the desired-state route answers 404; reverting".into(),
            });
            out.push(ResponderOutput::SubmitChange(ChangeRequest {
                name: "revert-route".into(),
                target: Env::Prod,
                applied_via: Env::Prod,
                emergency: true,
                payload: ChangePayload::EdgeFix,
            }));
        }
        let Some(inc) = self.incidents.get_mut(incident as usize) else {
            return;
        };
        inc.mitigated_at.get_or_insert(now);
        // Nothing was lost (agents only held): route fixed, incident over.
        if inc.clusters_affected == 0 && inc.restore_completed_at.is_none() {
            inc.restore_completed_at = Some(now);
            out.push(ResponderOutput::Resolved { incident });
            out.push(ResponderOutput::ResetHoldAlert);
        }
    }

    /// Manual repair or hotfix for `incident`.
    pub fn handle_decide(
        &mut self,
        now: SimTime,
        incident: u32,
        seen: DecisionInputs,
        out: &mut Vec<ResponderOutput>,
    ) {
        let at_risk = seen.clusters_at_risk as f64;
        let hours = at_risk / seen.clusters_per_hour.max(1e-9);
        if let Some(inc) = self.incidents.get_mut(incident as usize) {
            inc.projected_manual_hours = Some(hours);
        }
        out.push(ResponderOutput::Narrate {
            at: now,
            text: format!(
                "decision: manual repair of {at_risk:.0} clusters at risk projected at {hours:.1} h"
            ),
        });
        if hours > self.cfg.hotfix_when_manual_exceeds_h
            && self.fix_available
            && !seen.rollout_completed
        {
            if let Some(inc) = self.incidents.get_mut(incident as usize) {
                inc.hotfix_started_at = Some(now);
            }
            out.push(ResponderOutput::SubmitChange(ChangeRequest {
                name: "agent-hotfix".into(),
                target: Env::Prod,
                applied_via: Env::Prod,
                emergency: true,
                payload: ChangePayload::AgentFix,
            }));
        }
    }

    /// A rollout alarm halted the rollout: resume it after checking.
    /// The rollout halted. After an alarm the team checks it and resumes;
    /// after the rollout's own health gate the release is broken, so it
    /// stays halted (a new build is a new rollout).
    pub fn handle_rollout_halted(
        &mut self,
        now: SimTime,
        cause: HaltCause,
        out: &mut Vec<ResponderOutput>,
    ) {
        if let HaltCause::WaveHealth(_) = cause {
            out.push(ResponderOutput::Narrate {
                at: now,
                text: "the release is held: its wave failed the health gate".into(),
            });
            return;
        }
        out.push(ResponderOutput::SetTimer {
            at: now + SimDuration::from_secs_f64(self.cfg.rollout_resume_after_min * 60.0),
            timer: ResponderTimer::ResumeRollout,
        });
    }

    /// A timer without inputs is due (the driver gathers the inputs of
    /// `Decide` and `Diagnosed` and calls their handlers).
    pub fn handle_resume_rollout(&mut self, _now: SimTime, out: &mut Vec<ResponderOutput>) {
        out.push(ResponderOutput::ResumeRollout);
    }

    /// A cluster of the open incident has every desired pool again;
    /// `route_ok`: routing no longer misroutes anyone.
    pub fn handle_cluster_restored(
        &mut self,
        now: SimTime,
        route_ok: bool,
        out: &mut Vec<ResponderOutput>,
    ) {
        let Some(inc) = self.open_mut() else { return };
        inc.open_clusters = inc.open_clusters.saturating_sub(1);
        if inc.open_clusters == 0 && (route_ok || inc.mitigated_at.is_some()) {
            inc.restore_completed_at = Some(now);
            let (incident, n) = (inc.id, inc.clusters_affected);
            out.push(ResponderOutput::Resolved { incident });
            out.push(ResponderOutput::Narrate {
                at: now,
                text: format!("all {n} clusters of the incident restored"),
            });
        }
    }

    /// `cluster`, already being restored by hand, broke again (its agent
    /// died once more): it goes back in the queue if on-call is on it.
    pub fn handle_cluster_broke_again(
        &mut self,
        _now: SimTime,
        cluster: ClusterId,
        out: &mut Vec<ResponderOutput>,
    ) {
        if self.engaged() {
            out.push(ResponderOutput::Restore {
                cluster,
                by: self.restore_with,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operators::{Operators, OperatorsConfig, OpsOutput, OpsTimer};
    use crate::sim::{Epoch, Seed};
    use crate::types::NightHours;

    fn t(h: u64, m: u64) -> SimTime {
        SimTime::from_secs(h * 3_600 + m * 60)
    }

    fn responder() -> Responder {
        Responder::new(ResponseConfig::default(), 5)
    }

    /// Pages of `out`, in order.
    fn pages(out: &[ResponderOutput]) -> Vec<u32> {
        out.iter()
            .filter_map(|o| match o {
                ResponderOutput::Page { incident } => Some(*incident),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn support_escalates_after_enough_customer_reports() {
        let mut r = responder();
        let mut out = Vec::new();
        r.handle_loss_started(t(1, 0), 3, &mut out);
        assert!(
            matches!(&out[0], ResponderOutput::Narrate { text, .. } if text.contains("cluster 3"))
        );
        out.clear();
        for k in 0..4 {
            r.handle_customer_report(t(2, k), &mut out);
        }
        assert!(pages(&out).is_empty(), "four reports: not yet");
        r.handle_customer_report(t(2, 30), &mut out);
        assert_eq!(pages(&out), vec![0]);
        let inc = &r.incidents()[0];
        assert_eq!(inc.detected_at, Some(t(2, 30)));
        assert_eq!(inc.detected_by, Some(DetectionSource::CustomerReports));
        // The alert after detection pages nobody twice.
        out.clear();
        r.handle_pool_loss_alert(t(2, 31), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_pool_loss_page_at_night_is_acknowledged_within_the_configured_delay() {
        // The responder pages; the on-call (operators) acknowledges with the
        // night figures; the acknowledgement starts restoration.
        let night_ack_p99_min = 90.0;
        let ops_cfg = OperatorsConfig::default();
        assert_eq!(ops_cfg.ack_p99_night_min, night_ack_p99_min);
        let mut ops_rng = Seed(7).fork("operators", 0);
        let mut worst = SimDuration::ZERO;
        for k in 0..200u64 {
            let mut ops = Operators::new(ops_cfg.clone())
                .unwrap()
                .with_night(NightHours::default(), Epoch::from_unix_secs(0));
            let mut r = responder();
            let mut out = Vec::new();
            let lost_at = SimTime::from_secs(86_400 * k + 2 * 3_600); // 02:00
            r.handle_loss_started(lost_at, 11, &mut out);
            r.handle_pool_loss_alert(lost_at + SimDuration::from_mins(5), &mut out);
            let paged_at = lost_at + SimDuration::from_mins(5);
            let incident = pages(&out)[0];
            let mut ops_out = Vec::new();
            ops.page(paged_at, incident, &mut ops_rng, &mut ops_out);
            let ack_at = ops_out
                .iter()
                .find_map(|o| match o {
                    OpsOutput::SetTimer {
                        at,
                        timer: OpsTimer::Ack { .. },
                    } => Some(*at),
                    _ => None,
                })
                .expect("an acknowledgement timer");
            worst = worst.max(ack_at - paged_at);
            ops_out.clear();
            ops.handle_timer(
                ack_at,
                OpsTimer::Ack { incident },
                &mut ops_rng,
                &mut ops_out,
            );
            let acked = ops_out
                .iter()
                .find_map(|o| match o {
                    OpsOutput::Acked { at, .. } => Some(*at),
                    _ => None,
                })
                .expect("acked");
            out.clear();
            r.handle_acked(acked, 0, acked, [11], &mut out);
            assert!(out.contains(&ResponderOutput::Restore {
                cluster: 11,
                by: RestoreBy::Manual
            }));
            assert!(out.contains(&ResponderOutput::SetTimer {
                at: acked + SimDuration::from_mins(15),
                timer: ResponderTimer::Decide { incident: 0 }
            }));
        }
        // Lognormal with p99 at 90 min: 200 pages stay below 3x the p99.
        assert!(
            worst <= SimDuration::from_mins(3 * night_ack_p99_min as u64),
            "worst night acknowledgement {worst}"
        );
        assert!(
            worst >= SimDuration::from_mins(30),
            "night is slow: {worst}"
        );
    }

    #[test]
    fn the_hotfix_is_chosen_when_projected_manual_repair_exceeds_the_threshold() {
        let decide = |at_risk: u32, fix: bool, done: bool| {
            let mut r = responder();
            if fix {
                r.set_fix_available();
            }
            let mut out = Vec::new();
            r.handle_loss_started(t(15, 0), 1, &mut out);
            out.clear();
            r.handle_decide(
                t(16, 0),
                0,
                DecisionInputs {
                    clusters_at_risk: at_risk,
                    clusters_per_hour: 18.0,
                    rollout_completed: done,
                },
                &mut out,
            );
            let hotfix = out.iter().any(|o| {
                matches!(
                    o,
                    ResponderOutput::SubmitChange(ChangeRequest {
                        payload: ChangePayload::AgentFix,
                        emergency: true,
                        ..
                    })
                )
            });
            (hotfix, r.incidents()[0].projected_manual_hours)
        };
        // 6 h threshold at 18 clusters an hour: 108 clusters is the line.
        assert_eq!(decide(108, true, false), (false, Some(6.0)));
        let (hotfix, hours) = decide(109, true, false);
        assert!(hotfix);
        assert!(hours.unwrap() > 6.0);
        assert!(!decide(400, false, false).0, "no fix built yet");
        assert!(!decide(400, true, true).0, "the fix is already everywhere");
    }

    #[test]
    fn diagnosis_reverts_a_bad_route_and_ends_a_hold_incident() {
        let mut r = responder();
        let mut out = Vec::new();
        r.handle_agent_hold_alert(t(3, 10), 12, t(3, 0), &mut out);
        assert_eq!(pages(&out), vec![0]);
        assert_eq!(r.incidents()[0].started_at, t(3, 0));
        assert_eq!(r.incidents()[0].cause, IncidentCause::AgentsInHold);
        out.clear();
        // A second firing while the incident is open does nothing.
        r.handle_agent_hold_alert(t(3, 11), 12, t(3, 0), &mut out);
        assert!(out.is_empty());
        r.handle_diagnosed(t(4, 0), 0, true, &mut out);
        assert!(out.iter().any(|o| matches!(
            o,
            ResponderOutput::SubmitChange(ChangeRequest {
                payload: ChangePayload::EdgeFix,
                ..
            })
        )));
        assert!(out.contains(&ResponderOutput::Resolved { incident: 0 }));
        assert!(out.contains(&ResponderOutput::ResetHoldAlert));
        assert!(r.open_incident().is_none());
    }

    #[test]
    fn an_incident_resolves_when_its_last_cluster_is_restored_and_the_route_is_fixed() {
        let mut r = responder();
        let mut out = Vec::new();
        r.handle_loss_started(t(1, 0), 1, &mut out);
        r.handle_loss_started(t(1, 5), 2, &mut out);
        out.clear();
        r.handle_cluster_restored(t(5, 0), true, &mut out);
        assert!(out.is_empty(), "one of two");
        // The route still misroutes and nobody mitigated: not resolved.
        r.handle_cluster_restored(t(6, 0), false, &mut out);
        assert!(out.is_empty());
        assert!(r.open_incident().is_some());
        let mut r = responder();
        r.handle_loss_started(t(1, 0), 1, &mut out);
        out.clear();
        r.handle_cluster_restored(t(5, 0), true, &mut out);
        assert_eq!(out[0], ResponderOutput::Resolved { incident: 0 });
        assert_eq!(r.incidents()[0].restore_completed_at, Some(t(5, 0)));
    }
}
