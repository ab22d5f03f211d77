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
//! restoration. After `diagnose_min` diagnosis sees the 404s and reads the
//! prod change log to name the suspect: the latest recorded routing change
//! that reached the edge before the 404s began and after the team last
//! fixed the route. A recorded change has a recorded rollback (the edge
//! configuration pipeline's, or its prod change request's) and is reverted
//! at once. When no recorded change explains the 404s, the evidence points
//! outside change management: the team audits the edge's live
//! configuration against the record, and reverts what the audit finds
//! `revert_unrecorded_change_h` later (the E9 leak: applied by hand under a
//! staging change request, it is not in prod's log at all). After `decide_min` the team measures its restoration progress
//! since the acknowledgement, projects the clusters at risk at that rate
//! and ships the fix as an emergency hotfix when the projection exceeds
//! `hotfix_when_manual_exceeds_h` (D8: "efforts to apply manual fixes were
//! taking too long"); with nothing restored yet it looks again once after
//! another `decide_min`. An incident is resolved when its clusters are
//! restored and its route is fixed.
//!
//! The machine decides from what it is handed ([`DecisionInputs`],
//! [`DiagnosisInputs`]); which facts the driver hands it (the edge's
//! access log, the change log, its own repair counts) is the driver's part.

use crate::model::change::{ChangePayload, ChangeRequest};
use crate::model::monitoring::DetectionSource;
use crate::model::rollout::HaltCause;
use crate::protocol::{ClusterId, DesiredAnswer};
use crate::sim::{SimDuration, SimTime};
use crate::types::{check_positive, check_range, Env, Num};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A probe of a cluster's desired-state URL through the edge, as an
/// engineer or the recovery script reads it: a 404 says the route is
/// broken (the edge's default backend answers a misrouted request); any
/// other answer, an error included, says nothing against the route.
pub fn probe_says_route_broken(answer: &DesiredAnswer) -> bool {
    matches!(answer, DesiredAnswer::NotFound)
}

/// How lost clusters are restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestoreBy {
    /// On-call engineers, one cluster at a time each.
    Manual,
    /// The automated recovery script.
    Script,
}

/// The incident-response playbook the simulated responders follow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    /// From acknowledgement to finding and reverting the bad route. \[A]
    pub diagnose_min: f64,
    /// From acknowledgement to the repair-or-hotfix decision. \[A]
    pub decide_min: f64,
    /// How lost clusters are restored. \[fact] manual in March 2025; the
    /// recovery script is the planned follow-up.
    pub restore_with: RestoreBy,
    /// Ship the fix as an emergency hotfix when manual repair of the clusters
    /// at risk is projected to take longer than this. \[A]
    pub hotfix_when_manual_exceeds_h: f64,
    /// From a rollout alarm to the responders resuming the rollout. \[A]
    pub rollout_resume_after_min: f64,
    /// How far back responders read the edge's access log for 404s (at
    /// diagnosis, and when counting clusters at risk). \[A] a dashboard's
    /// usual "last 10 minutes"; agents poll every minute, so a misrouted
    /// live agent shows up in it.
    pub edge_log_window_min: f64,
    /// From diagnosis finding 404s that no recorded routing change explains
    /// to the revert of the change behind them landing: the team audits
    /// the edge's live configuration against the change record, finds the
    /// change applied outside change management, reconstructs the
    /// configuration before it and reviews it under the freeze. \[A] 6 h:
    /// the write-up records no revert time on D8, only that the cause was
    /// identified; the flagship's hotfix verdict holds from 1.75 h of it
    /// (its `tuned` entry gives the sweep). A suspect on record is
    /// reverted at diagnosis.
    pub revert_unrecorded_change_h: f64,
    /// At diagnosis, how many of the clusters known lost engineers probe
    /// through the edge (a dead agent leaves no fresh 404s in the log).
    /// \[A] a sample one person runs from a shell within the diagnosis
    /// time; the first 404 settles the question.
    pub probes_per_diagnosis: u32,
    /// While a pool of a cluster being restored is still being deleted,
    /// the engineer or the script looks again after this. \[A] a cloud
    /// delete takes minutes; a two-minute look is what a person at a
    /// console, or a script's poll loop, would do.
    pub restore_delete_recheck_s: f64,
    /// Once a restored cluster's `system` pool is back and its agent is
    /// not running, the agent is restarted after this. \[A] the restart is
    /// one API call right after the pool is up.
    pub restore_agent_restart_s: f64,
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
            revert_unrecorded_change_h: 6.0,
            probes_per_diagnosis: 20,
            restore_delete_recheck_s: 120.0,
            restore_agent_restart_s: 1.0,
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
        check_positive("edge_log_window_min", self.edge_log_window_min)?;
        check_range(
            "revert_unrecorded_change_h",
            self.revert_unrecorded_change_h,
            0.0,
            ("7 days", 7.0 * 24.0),
        )?;
        check_range("probes_per_diagnosis", self.probes_per_diagnosis, 0, 10_000)?;
        check_range(
            "restore_delete_recheck_s",
            self.restore_delete_recheck_s,
            1.0,
            ("one day", 86_400.0),
        )?;
        check_range(
            "restore_agent_restart_s",
            self.restore_agent_restart_s,
            0.001,
            ("one day", 86_400.0),
        )
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
    /// The last time a cluster started losing pools in this incident: when
    /// the losses stopped, whatever stopped them (the revert, the hotfix).
    pub last_loss_at: Option<SimTime>,
    pub clusters_affected: u32,
    /// Clusters lost and not yet restored.
    pub open_clusters: u32,
    pub reports: u32,
    /// Resolved: every cluster restored and the route fixed.
    pub restore_completed_at: Option<SimTime>,
    /// Restoration time of the clusters at risk, projected at the decision
    /// from the measured progress (R6).
    pub projected_manual_hours: Option<f64>,
    pub hotfix_started_at: Option<SimTime>,
    /// Looks the team took at the repair-or-hotfix decision.
    pub decide_looks: u32,
    /// Diagnosis found 404s no recorded change explains: the audit of the
    /// edge's live configuration is under way.
    pub audit_pending: bool,
}

/// Timers the responders ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponderTimer {
    /// Decide between manual repair and an emergency hotfix.
    Decide { incident: u32 },
    /// Diagnosis done: name the change behind the 404s and revert it.
    Diagnosed { incident: u32 },
    /// The audit for a change made outside change management is done.
    Audit { incident: u32 },
    /// Resume a rollout halted by an alarm.
    ResumeRollout,
}

/// What the team sees when it decides (the driver gathers it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecisionInputs {
    /// Clusters lost, plus intact ones that will break if nothing changes.
    pub clusters_at_risk: u32,
    /// Clusters the team's restorations finished since the acknowledgement
    /// (engineers' hands-on repairs, or the recovery script's restores):
    /// its own work log, the measured progress.
    pub restored_since_ack: u32,
    /// The repair team's nominal throughput by hand, used only when there
    /// is nothing to decide (no fix to ship, or no cluster at risk) and
    /// nothing was measured yet.
    pub clusters_per_hour: f64,
    /// The fix already reached the whole fleet.
    pub rollout_completed: bool,
}

/// A prod routing change as prod's change log and the edge configuration
/// pipeline record it. A change applied by hand to prod under another
/// environment's change request (the E9 leak) is in no prod record: that
/// is the gap in change management, and only an audit of the edge's live
/// configuration finds it.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingChangeSeen {
    /// Its name in the change log.
    pub name: String,
    /// When it reached the edge: at once when applied by hand, at the
    /// pipeline's deploy otherwise.
    pub live_at: SimTime,
    /// It came through the edge configuration pipeline, which records the
    /// configuration it replaced (otherwise its prod change request does).
    pub via_pipeline: bool,
}

impl RoutingChangeSeen {
    fn how(&self) -> &'static str {
        if self.via_pipeline {
            "through the edge configuration pipeline, rollback recorded"
        } else {
            "applied by hand through change management, rollback recorded"
        }
    }
}

/// What diagnosis sees (the driver gathers it).
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosisInputs {
    /// The desired-state route answers 404 (the edge's access log, probes).
    pub route_answers_404: bool,
    /// When the current 404s began, per the edge's access log: the earliest
    /// start of a run of 404 answers among the clusters it shows.
    pub first_404_at: Option<SimTime>,
    /// Routing changes applied to prod, from prod's change log.
    pub prod_routing_changes: Vec<RoutingChangeSeen>,
}

impl DiagnosisInputs {
    /// The suspect: the latest recorded routing change live at or before
    /// the 404s began (or before now, when the log shows no start) and
    /// after `route_fixed_at`, when the team last fixed the route (what
    /// was live before that fix, the fix undid).
    pub fn suspect(
        &self,
        now: SimTime,
        route_fixed_at: Option<SimTime>,
    ) -> Option<&RoutingChangeSeen> {
        let began = self.first_404_at.unwrap_or(now);
        self.prod_routing_changes
            .iter()
            .filter(|c| c.live_at <= began && route_fixed_at.is_none_or(|f| c.live_at > f))
            .max_by_key(|c| c.live_at)
    }
}

/// What the audit of the edge's live configuration against the change
/// record shows (the driver gathers it).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditInputs {
    /// The desired-state route still answers 404.
    pub route_answers_404: bool,
    /// Routing changes live on the edge that no prod record names.
    pub unrecorded_live: Vec<String>,
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
    /// When the team last reverted the route: a routing change live before
    /// it cannot explain 404s after it.
    route_fixed_at: Option<SimTime>,
}

impl Responder {
    /// `reports_to_escalate`: customer reports before support pages on-call.
    pub fn new(cfg: ResponseConfig, reports_to_escalate: u32) -> Self {
        Responder {
            restore_with: cfg.restore_with,
            fix_available: false,
            incidents: Vec::new(),
            route_fixed_at: None,
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
            last_loss_at: None,
            clusters_affected: 0,
            open_clusters: 0,
            reports: 0,
            restore_completed_at: None,
            projected_manual_hours: None,
            hotfix_started_at: None,
            decide_looks: 0,
            audit_pending: false,
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
        inc.last_loss_at = Some(now);
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

    /// Diagnosis of `incident` is done. If the route answers 404, the
    /// suspect is named from prod's change log and reverted now (its
    /// rollback is on record); with no recorded change to explain the
    /// 404s, the team audits the edge's live configuration, done after
    /// `revert_unrecorded_change_h` (a [`ResponderTimer::Audit`]).
    pub fn handle_diagnosed(
        &mut self,
        now: SimTime,
        incident: u32,
        seen: &DiagnosisInputs,
        out: &mut Vec<ResponderOutput>,
    ) {
        if seen.route_answers_404 {
            match seen.suspect(now, self.route_fixed_at) {
                Some(c) => out.push(ResponderOutput::Narrate {
                    at: now,
                    text: format!(
                        "cause found: the desired-state route answers 404 since {} ({}); reverting",
                        c.name,
                        c.how()
                    ),
                }),
                None => {
                    let h = self.cfg.revert_unrecorded_change_h;
                    out.push(ResponderOutput::Narrate {
                        at: now,
                        text: format!(
                            "the desired-state route answers 404 and no routing change on record explains it: auditing the edge's live configuration against the change record ({h} h)"
                        ),
                    });
                    if let Some(inc) = self.incidents.get_mut(incident as usize) {
                        inc.audit_pending = true;
                    }
                    out.push(ResponderOutput::SetTimer {
                        at: now + SimDuration::from_secs_f64(h * 3_600.0),
                        timer: ResponderTimer::Audit { incident },
                    });
                    return;
                }
            }
            out.push(self.revert_route(now));
        }
        self.mitigated(now, incident, out);
    }

    /// The audit for `incident` is done: if the route still answers 404,
    /// the configuration before the unrecorded change it found (or, when
    /// it found none, the last recorded configuration) is restored.
    pub fn handle_audit_done(
        &mut self,
        now: SimTime,
        incident: u32,
        seen: &AuditInputs,
        out: &mut Vec<ResponderOutput>,
    ) {
        let Some(inc) = self.incidents.get_mut(incident as usize) else {
            return;
        };
        if !std::mem::take(&mut inc.audit_pending) {
            return;
        }
        if seen.route_answers_404 {
            let text = if seen.unrecorded_live.is_empty() {
                "audit: no unrecorded change found live; restoring the last recorded edge configuration".to_string()
            } else {
                format!(
                    "audit: {} live on the edge with no prod change record (applied outside change management); previous configuration reconstructed and reviewed: reverting",
                    seen.unrecorded_live.join(", ")
                )
            };
            out.push(ResponderOutput::Narrate { at: now, text });
            out.push(self.revert_route(now));
        } else {
            out.push(ResponderOutput::Narrate {
                at: now,
                text: "audit done, but the route no longer answers 404".into(),
            });
        }
        self.mitigated(now, incident, out);
    }

    /// The revert to the last good routing, submitted `now`: from then on
    /// a change live before it explains no 404s.
    fn revert_route(&mut self, now: SimTime) -> ResponderOutput {
        self.route_fixed_at = Some(now);
        ResponderOutput::SubmitChange(ChangeRequest {
            name: "revert-route".into(),
            target: Env::Prod,
            applied_via: Env::Prod,
            emergency: true,
            payload: ChangePayload::EdgeFix,
        })
    }

    /// The route of `incident` is fixed (or was fine at diagnosis).
    fn mitigated(&mut self, now: SimTime, incident: u32, out: &mut Vec<ResponderOutput>) {
        let Some(inc) = self.incidents.get_mut(incident as usize) else {
            return;
        };
        inc.mitigated_at.get_or_insert(now);
        if inc.restore_completed_at.is_some() {
            return;
        }
        if inc.clusters_affected == 0 {
            // Nothing was lost (agents only held): route fixed, incident over.
            inc.restore_completed_at = Some(now);
            out.push(ResponderOutput::Resolved { incident });
            out.push(ResponderOutput::ResetHoldAlert);
        } else if inc.open_clusters == 0 {
            // Every cluster was restored while the route still answered 404
            // (the script, or fixed agents, before a slow revert): the
            // route fix is what was missing.
            inc.restore_completed_at = Some(now);
            let n = inc.clusters_affected;
            out.push(ResponderOutput::Resolved { incident });
            out.push(ResponderOutput::Narrate {
                at: now,
                text: format!("all {n} clusters of the incident restored and the route fixed"),
            });
        }
    }

    /// Manual repair or hotfix for `incident`, from the team's measured
    /// progress since the acknowledgement: the clusters at risk at the
    /// measured rate. With nothing restored yet and a fix that could ship,
    /// the team looks again after `decide_min`; at that second look a count
    /// of zero is itself the measurement (fewer than one cluster in the
    /// time since the acknowledgement). With nothing to ship the decision is
    /// moot and the projection uses the nominal throughput if nothing was
    /// measured. Nothing is decided once the incident is resolved or a
    /// hotfix started.
    pub fn handle_decide(
        &mut self,
        now: SimTime,
        incident: u32,
        seen: DecisionInputs,
        out: &mut Vec<ResponderOutput>,
    ) {
        let can_ship = self.fix_available && !seen.rollout_completed;
        let (what, done) = match self.restore_with {
            RestoreBy::Manual => ("manual repair", "repaired by hand"),
            RestoreBy::Script => ("recovery script", "restored by the script"),
        };
        let decide_min = self.cfg.decide_min;
        let threshold = self.cfg.hotfix_when_manual_exceeds_h;
        let Some(inc) = self.incidents.get_mut(incident as usize) else {
            return;
        };
        if inc.restore_completed_at.is_some() || inc.hotfix_started_at.is_some() {
            return;
        }
        inc.decide_looks += 1;
        let at_risk = seen.clusters_at_risk as f64;
        let since_ack = now.saturating_since(inc.acked_at.unwrap_or(now));
        let mins = since_ack.as_secs_f64() / 60.0;
        let n = seen.restored_since_ack;
        let (hours, text) = if n > 0 && mins > 0.0 {
            let rate = n as f64 * 60.0 / mins;
            let hours = at_risk / rate;
            (
                hours,
                format!(
                    "decision: {what}: {n} cluster{} {done} in {mins:.0} min ({rate:.0}/h); {} at risk: projected {hours:.1} h",
                    if n == 1 { "" } else { "s" },
                    seen.clusters_at_risk.bound()
                ),
            )
        } else if can_ship && seen.clusters_at_risk > 0 && inc.decide_looks == 1 {
            out.push(ResponderOutput::Narrate {
                at: now,
                text: format!(
                    "decision deferred: no cluster {done} yet, {mins:.0} min after the acknowledgement; looking again in {decide_min} min"
                ),
            });
            out.push(ResponderOutput::SetTimer {
                at: now + SimDuration::from_secs_f64(decide_min * 60.0),
                timer: ResponderTimer::Decide { incident },
            });
            return;
        } else if can_ship && seen.clusters_at_risk > 0 {
            // Fewer than one cluster in `mins`: at least this long.
            let hours = at_risk * mins.max(1.0) / 60.0;
            (
                hours,
                format!(
                    "decision: {what}: no cluster {done} in {mins:.0} min; {} at risk: projected over {hours:.1} h",
                    seen.clusters_at_risk.bound()
                ),
            )
        } else {
            let hours = at_risk / seen.clusters_per_hour.max(1e-9);
            (
                hours,
                format!(
                    "decision: {what} of {at_risk:.0} clusters at risk projected at {hours:.1} h (nominal {:.0}/h)",
                    seen.clusters_per_hour
                ),
            )
        };
        inc.projected_manual_hours = Some(hours);
        let hotfix = hours > threshold && can_ship;
        let verdict = if hotfix {
            "emergency hotfix"
        } else if !self.fix_available {
            "no fix to ship"
        } else if seen.rollout_completed {
            "the fix already runs everywhere"
        } else {
            "restoration continues"
        };
        out.push(ResponderOutput::Narrate {
            at: now,
            text: format!("{text}; {verdict}"),
        });
        if hotfix {
            inc.hotfix_started_at = Some(now);
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

    /// Whether the desired-state route answers 404, from what engineers
    /// can see: 404s in the edge's access log within its window
    /// (`log_shows_404s`), or else a probe through the edge of one of the
    /// clusters known lost (a dead agent leaves no fresh log entries). At
    /// most `probes_per_diagnosis` are probed, one at a time until one
    /// answers 404: `probes` sends each probe only when it is taken.
    pub fn route_answers_404(
        &self,
        log_shows_404s: bool,
        probes: impl Iterator<Item = DesiredAnswer>,
    ) -> bool {
        log_shows_404s
            || probes
                .take(self.cfg.probes_per_diagnosis as usize)
                .any(|a| probe_says_route_broken(&a))
    }

    /// A cluster of the open incident has every desired pool again;
    /// `probe`: a probe of its desired-state route through the edge (a 404
    /// says routing still misroutes).
    pub fn handle_cluster_restored(
        &mut self,
        now: SimTime,
        probe: &DesiredAnswer,
        out: &mut Vec<ResponderOutput>,
    ) {
        let route_ok = !probe_says_route_broken(probe);
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

    /// A probe answer that says nothing against the route.
    const NOT_404: DesiredAnswer = DesiredAnswer::ServerError;

    #[test]
    fn only_a_404_says_the_route_is_broken_and_probes_stop_at_the_first() {
        assert!(probe_says_route_broken(&DesiredAnswer::NotFound));
        assert!(!probe_says_route_broken(&DesiredAnswer::Timeout));
        let r = Responder::new(
            ResponseConfig {
                probes_per_diagnosis: 2,
                ..ResponseConfig::default()
            },
            1,
        );
        let sent = std::cell::Cell::new(0);
        let probes =
            |answers: Vec<DesiredAnswer>| answers.into_iter().inspect(|_| sent.set(sent.get() + 1));
        // The log settles it: no probe is sent.
        assert!(r.route_answers_404(true, probes(vec![DesiredAnswer::NotFound])));
        assert_eq!(sent.get(), 0);
        // A 404 beyond the sample is not seen; the sample's size is sent.
        let beyond = vec![NOT_404, NOT_404, DesiredAnswer::NotFound];
        assert!(!r.route_answers_404(false, probes(beyond)));
        assert_eq!(sent.get(), 2);
        // The first 404 ends the probing.
        let first = vec![DesiredAnswer::NotFound, NOT_404];
        assert!(r.route_answers_404(false, probes(first)));
        assert_eq!(sent.get(), 3);
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
    fn a_cluster_broken_again_is_restored_again_only_once_on_call_is_on_it() {
        // Before the page is acknowledged nobody restores anything, so a
        // cluster whose agent died once more waits for the acknowledgement
        // like the rest; after it, the cluster goes back in the queue.
        let mut r = responder();
        let mut out = Vec::new();
        r.handle_loss_started(t(1, 0), 3, &mut out);
        r.handle_pool_loss_alert(t(1, 5), &mut out);
        out.clear();
        r.handle_cluster_broke_again(t(1, 10), 3, &mut out);
        assert!(out.is_empty(), "not acknowledged yet: {out:?}");
        r.handle_acked(t(1, 20), 0, t(1, 20), [3], &mut out);
        out.clear();
        r.handle_cluster_broke_again(t(1, 40), 3, &mut out);
        assert_eq!(
            out,
            [ResponderOutput::Restore {
                cluster: 3,
                by: RestoreBy::Manual
            }]
        );
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

    /// An incident whose first cluster was lost at 15:00 and whose page
    /// was acknowledged at 15:25; `fix`: the agent fix is built.
    fn acked_at_15_25(fix: bool) -> Responder {
        let mut r = responder();
        if fix {
            r.set_fix_available();
        }
        let mut out = Vec::new();
        r.handle_loss_started(t(15, 0), 1, &mut out);
        r.handle_acked(t(15, 25), 0, t(15, 25), [1], &mut out);
        r
    }

    fn seen(at_risk: u32, restored: u32) -> DecisionInputs {
        DecisionInputs {
            clusters_at_risk: at_risk,
            restored_since_ack: restored,
            clusters_per_hour: 18.0,
            rollout_completed: false,
        }
    }

    fn hotfix_submitted(out: &[ResponderOutput]) -> bool {
        out.iter().any(|o| {
            matches!(
                o,
                ResponderOutput::SubmitChange(ChangeRequest {
                    payload: ChangePayload::AgentFix,
                    emergency: true,
                    ..
                })
            )
        })
    }

    fn narrated(out: &[ResponderOutput]) -> Vec<&str> {
        out.iter()
            .filter_map(|o| match o {
                ResponderOutput::Narrate { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_decision_waits_when_nothing_is_measured_yet_then_decides_from_the_measurement() {
        let mut r = acked_at_15_25(true);
        let mut out = Vec::new();
        r.handle_decide(t(15, 40), 0, seen(1_016, 0), &mut out);
        assert!(!hotfix_submitted(&out));
        assert_eq!(r.incidents()[0].projected_manual_hours, None);
        assert!(out.contains(&ResponderOutput::SetTimer {
            at: t(15, 55),
            timer: ResponderTimer::Decide { incident: 0 }
        }));
        assert_eq!(
            narrated(&out),
            vec!["decision deferred: no cluster repaired by hand yet, 15 min after the acknowledgement; looking again in 15 min"]
        );
        // The second look: 15 repaired in the 30 min since the ack, 30/h.
        out.clear();
        r.handle_decide(t(15, 55), 0, seen(1_016, 15), &mut out);
        assert!(hotfix_submitted(&out));
        assert_eq!(
            narrated(&out),
            vec!["decision: manual repair: 15 clusters repaired by hand in 30 min (30/h); 1,016 at risk: projected 33.9 h; emergency hotfix"]
        );
        let inc = &r.incidents()[0];
        assert_eq!(inc.hotfix_started_at, Some(t(15, 55)));
        assert!((inc.projected_manual_hours.unwrap() - 1_016.0 / 30.0).abs() < 1e-9);
        // A stale look after the hotfix started decides nothing.
        out.clear();
        r.handle_decide(t(16, 10), 0, seen(1_016, 20), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn the_hotfix_is_chosen_from_measured_progress_not_the_nominal_throughput() {
        // 12 repaired in 30 min: 24/h. The nominal 18/h plays no part.
        let decide = |at_risk: u32, nominal: f64| {
            let mut r = acked_at_15_25(true);
            let mut out = Vec::new();
            let inputs = DecisionInputs {
                clusters_per_hour: nominal,
                ..seen(at_risk, 12)
            };
            r.handle_decide(t(15, 55), 0, inputs, &mut out);
            (
                hotfix_submitted(&out),
                r.incidents()[0].projected_manual_hours.unwrap(),
                out.iter()
                    .any(|o| matches!(o, ResponderOutput::SetTimer { .. })),
            )
        };
        // 6 h threshold at 24/h: 144 clusters is the line.
        assert_eq!(decide(144, 18.0), (false, 6.0, false));
        let (hotfix, hours, rearmed) = decide(1_004, 1_000.0);
        assert!(hotfix, "the nominal 1,000/h would have said 1 h");
        assert!((hours - 1_004.0 / 24.0).abs() < 1e-9, "{hours}");
        assert!(!rearmed);
        let (hotfix, hours, _) = decide(145, 18.0);
        assert!(hotfix);
        assert!(hours > 6.0);
    }

    #[test]
    fn a_second_look_with_nothing_restored_reads_zero_progress_as_too_slow() {
        // The recovery script waits on every cluster while the route answers
        // 404 for buggy agents: nothing is restored in 30 min.
        let mut r = acked_at_15_25(true);
        r.set_restore_with(RestoreBy::Script);
        let mut out = Vec::new();
        r.handle_decide(t(15, 40), 0, seen(1_000, 0), &mut out);
        assert!(!hotfix_submitted(&out));
        out.clear();
        r.handle_decide(t(15, 55), 0, seen(1_000, 0), &mut out);
        assert!(hotfix_submitted(&out));
        assert!(!out
            .iter()
            .any(|o| matches!(o, ResponderOutput::SetTimer { .. })));
        // Fewer than one cluster in 30 min: at least 1,000 x 0.5 h.
        assert_eq!(r.incidents()[0].projected_manual_hours, Some(500.0));
        assert_eq!(
            narrated(&out),
            vec!["decision: recovery script: no cluster restored by the script in 30 min; 1,000 at risk: projected over 500.0 h; emergency hotfix"]
        );
    }

    #[test]
    fn no_hotfix_and_no_second_look_without_the_fix_or_once_it_runs_everywhere() {
        // D5: no fix built. Nothing measured: the nominal projection, once.
        let mut r = acked_at_15_25(false);
        let mut out = Vec::new();
        r.handle_decide(t(15, 40), 0, seen(400, 0), &mut out);
        assert!(!hotfix_submitted(&out));
        assert!(!out
            .iter()
            .any(|o| matches!(o, ResponderOutput::SetTimer { .. })));
        assert_eq!(r.incidents()[0].projected_manual_hours, Some(400.0 / 18.0));
        assert_eq!(
            narrated(&out),
            vec!["decision: manual repair of 400 clusters at risk projected at 22.2 h (nominal 18/h); no fix to ship"]
        );
        // Measured and far too slow, still nothing to ship.
        let mut r = acked_at_15_25(false);
        out.clear();
        r.handle_decide(t(15, 55), 0, seen(400, 3), &mut out);
        assert!(!hotfix_submitted(&out));
        assert_eq!(r.incidents()[0].projected_manual_hours, Some(400.0 / 6.0));
        // The fix already reached the whole fleet: no hotfix, no second look.
        let mut r = acked_at_15_25(true);
        out.clear();
        let done = DecisionInputs {
            rollout_completed: true,
            ..seen(400, 0)
        };
        r.handle_decide(t(15, 40), 0, done, &mut out);
        assert!(!hotfix_submitted(&out));
        assert!(!out
            .iter()
            .any(|o| matches!(o, ResponderOutput::SetTimer { .. })));
        // A resolved incident is not decided on.
        let mut r = acked_at_15_25(true);
        out.clear();
        r.handle_cluster_restored(t(15, 35), &NOT_404, &mut out);
        out.clear();
        r.handle_decide(t(15, 40), 0, seen(400, 0), &mut out);
        assert!(out.is_empty());
    }

    fn routing_change(name: &str, live_at: SimTime, via_pipeline: bool) -> RoutingChangeSeen {
        RoutingChangeSeen {
            name: name.into(),
            live_at,
            via_pipeline,
        }
    }

    fn route_reverted(out: &[ResponderOutput]) -> bool {
        out.iter().any(|o| {
            matches!(
                o,
                ResponderOutput::SubmitChange(ChangeRequest {
                    payload: ChangePayload::EdgeFix,
                    ..
                })
            )
        })
    }

    #[test]
    fn diagnosis_names_the_latest_recorded_change_before_the_404s_began() {
        let seen = DiagnosisInputs {
            route_answers_404: true,
            first_404_at: Some(t(15, 1)),
            prod_routing_changes: vec![
                routing_change("R1", t(2, 0), true),
                routing_change("fw", t(15, 0), false),
                routing_change("later", t(15, 30), false),
            ],
        };
        assert_eq!(
            seen.suspect(t(16, 0), None).map(|c| c.name.as_str()),
            Some("fw")
        );
        // No start in the log: the latest change before now.
        let no_start = DiagnosisInputs {
            first_404_at: None,
            ..seen.clone()
        };
        assert_eq!(
            no_start.suspect(t(16, 0), None).map(|c| c.name.as_str()),
            Some("later")
        );
        // Nothing before the 404s: no suspect.
        let none = DiagnosisInputs {
            first_404_at: Some(t(1, 0)),
            ..seen.clone()
        };
        assert!(none.suspect(t(16, 0), None).is_none());
        // What was live before the team last fixed the route, the fix
        // undid: R1 explains nothing after a fix at 3:00.
        let after_fix = DiagnosisInputs {
            first_404_at: Some(t(14, 0)),
            ..seen
        };
        assert_eq!(
            after_fix.suspect(t(16, 0), None).map(|c| c.name.as_str()),
            Some("R1")
        );
        assert!(after_fix.suspect(t(16, 0), Some(t(3, 0))).is_none());
    }

    fn diagnose(changes: Vec<RoutingChangeSeen>) -> (Responder, Vec<ResponderOutput>) {
        let mut r = acked_at_15_25(true);
        let mut out = Vec::new();
        let seen = DiagnosisInputs {
            route_answers_404: true,
            first_404_at: Some(t(15, 0)),
            prod_routing_changes: changes,
        };
        r.handle_diagnosed(t(16, 10), 0, &seen, &mut out);
        (r, out)
    }

    fn audit(route_answers_404: bool, found: &[&str]) -> AuditInputs {
        AuditInputs {
            route_answers_404,
            unrecorded_live: found.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn a_recorded_suspect_is_reverted_at_diagnosis_and_none_starts_an_audit() {
        // Through the pipeline, or by hand under a prod change request:
        // the rollback is on record, reverted at diagnosis.
        for (via_pipeline, how) in [
            (
                true,
                "through the edge configuration pipeline, rollback recorded",
            ),
            (
                false,
                "applied by hand through change management, rollback recorded",
            ),
        ] {
            let (r, out) = diagnose(vec![routing_change("R1", t(15, 0), via_pipeline)]);
            assert!(route_reverted(&out));
            assert_eq!(
                narrated(&out),
                vec![format!(
                    "cause found: the desired-state route answers 404 since R1 ({how}); reverting"
                )]
            );
            assert_eq!(r.incidents()[0].mitigated_at, Some(t(16, 10)));
        }
        // Nothing on record explains the 404s (the E9 leak is in no prod
        // record): the team audits the live configuration, 6 h.
        let (mut r, out) = diagnose(vec![]);
        assert!(!route_reverted(&out));
        assert!(out.contains(&ResponderOutput::SetTimer {
            at: t(22, 10),
            timer: ResponderTimer::Audit { incident: 0 }
        }));
        assert_eq!(
            narrated(&out),
            vec!["the desired-state route answers 404 and no routing change on record explains it: auditing the edge's live configuration against the change record (6 h)"]
        );
        assert_eq!(r.incidents()[0].mitigated_at, None);
        let mut out = Vec::new();
        r.handle_audit_done(
            t(22, 10),
            0,
            &audit(true, &["staging-net-change"]),
            &mut out,
        );
        assert!(route_reverted(&out));
        assert_eq!(
            narrated(&out),
            vec!["audit: staging-net-change live on the edge with no prod change record (applied outside change management); previous configuration reconstructed and reviewed: reverting"]
        );
        assert_eq!(r.incidents()[0].mitigated_at, Some(t(22, 10)));
        // Once only.
        out.clear();
        r.handle_audit_done(t(22, 11), 0, &audit(true, &["leak"]), &mut out);
        assert!(out.is_empty());
        // An audit that finds nothing unrecorded still restores the last
        // recorded configuration while the route answers 404.
        let (mut r, _) = diagnose(vec![]);
        let mut out = Vec::new();
        r.handle_audit_done(t(22, 10), 0, &audit(true, &[]), &mut out);
        assert!(route_reverted(&out));
        // After a fix, the change it undid is no suspect the next time.
        let (mut r, _) = diagnose(vec![routing_change("R1", t(15, 0), true)]);
        let mut out = Vec::new();
        r.handle_loss_started(t(20, 0), 9, &mut out);
        let seen = DiagnosisInputs {
            route_answers_404: true,
            first_404_at: Some(t(20, 0)),
            prod_routing_changes: vec![routing_change("R1", t(15, 0), true)],
        };
        out.clear();
        r.handle_diagnosed(t(21, 0), 0, &seen, &mut out);
        assert!(!route_reverted(&out));
        assert!(out.contains(&ResponderOutput::SetTimer {
            at: t(27, 0),
            timer: ResponderTimer::Audit { incident: 0 }
        }));
    }

    #[test]
    fn a_slow_revert_resolves_an_incident_whose_clusters_were_all_restored_before_it() {
        let (mut r, _) = diagnose(vec![]);
        let mut out = Vec::new();
        // The script restores the cluster while its route still answers 404.
        r.handle_cluster_restored(t(18, 0), &DesiredAnswer::NotFound, &mut out);
        assert!(out.is_empty());
        assert!(r.open_incident().is_some());
        r.handle_audit_done(t(22, 10), 0, &audit(true, &["leak"]), &mut out);
        assert!(out.contains(&ResponderOutput::Resolved { incident: 0 }));
        assert_eq!(r.incidents()[0].restore_completed_at, Some(t(22, 10)));
        // The route was fixed by someone else meanwhile: nothing to revert.
        let (mut r, _) = diagnose(vec![]);
        let mut out = Vec::new();
        r.handle_audit_done(t(22, 10), 0, &audit(false, &[]), &mut out);
        assert!(!route_reverted(&out));
        assert_eq!(r.incidents()[0].mitigated_at, Some(t(22, 10)));
    }

    #[test]
    fn config_validation_names_the_revert_field() {
        let bad = ResponseConfig {
            revert_unrecorded_change_h: -1.0,
            ..ResponseConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "revert_unrecorded_change_h: expected 0 to 7 days (168), found -1"
        );
        let parsed: ResponseConfig =
            serde_json::from_str(r#"{"revert_unrecorded_change_h": 0.5}"#).unwrap();
        assert_eq!(parsed.revert_unrecorded_change_h, 0.5);
        assert_eq!(ResponseConfig::default().revert_unrecorded_change_h, 6.0);
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
        let seen = DiagnosisInputs {
            route_answers_404: true,
            first_404_at: Some(t(3, 0)),
            prod_routing_changes: vec![routing_change("R1", t(2, 0), true)],
        };
        r.handle_diagnosed(t(4, 0), 0, &seen, &mut out);
        assert!(route_reverted(&out));
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
        r.handle_cluster_restored(t(5, 0), &NOT_404, &mut out);
        assert!(out.is_empty(), "one of two");
        // The route still misroutes and nobody mitigated: not resolved.
        r.handle_cluster_restored(t(6, 0), &DesiredAnswer::NotFound, &mut out);
        assert!(out.is_empty());
        assert!(r.open_incident().is_some());
        let mut r = responder();
        r.handle_loss_started(t(1, 0), 1, &mut out);
        out.clear();
        r.handle_cluster_restored(t(5, 0), &NOT_404, &mut out);
        assert_eq!(out[0], ResponderOutput::Resolved { incident: 0 });
        assert_eq!(r.incidents()[0].restore_completed_at, Some(t(5, 0)));
    }
}
