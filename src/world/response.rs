//! The humans and processes around the fleet: the timeline's actions, change
//! management, pool-loss incidents (detection by alert or customer reports,
//! paging, diagnosis, the repair-or-hotfix decision), restoration by hand or
//! by script, and the rollout of the agent fix.

use super::{Ev, Record, ResponseStep, RestoreMethod, World};
use crate::checks::{Finding, Rule};
use crate::effects::Effect;
use crate::model::agent::Guard;
use crate::model::change::ChangePayload;
use crate::model::change::{Change, Decision};
use crate::model::operators::{OpsOutput, OpsTimer};
use crate::model::recovery::{RecoveryOutput, RecoveryTimer};
use crate::model::rollout::{RolloutOutput, RolloutTimer};
use crate::plant::cloud::{CloudCall, CloudReply};
use crate::protocol::PoolState;
use crate::protocol::{ClusterId, PoolName};
use crate::timeline::RestoreBy;
use crate::types::Env;
use cascade_sim::{Sim, SimDuration, SimTime};

/// A pool-loss incident from first loss to last restore.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolIncident {
    pub id: u32,
    /// What opened it: `pool_loss`, or `agents_in_hold` (fixed agents holding
    /// on a broken route, seen by the agent-hold alert).
    pub cause: &'static str,
    pub started_at: SimTime,
    pub detected_at: Option<SimTime>,
    pub detected_by: Option<&'static str>,
    pub acked_at: Option<SimTime>,
    /// The bad route was reverted.
    pub mitigated_at: Option<SimTime>,
    pub clusters_affected: u32,
    /// Clusters lost and not yet restored.
    pub open_clusters: u32,
    pub reports: u32,
    pub restore_completed_at: Option<SimTime>,
    pub projected_manual_hours: Option<f64>,
    pub hotfix_started_at: Option<SimTime>,
}

const KEY_EVENTS_MAX: usize = 200;

impl World {
    pub(super) fn key_event(&mut self, at: SimTime, what: String) {
        // Logs carry simulated calendar time, never the wall clock.
        tracing::info!(target: "cascade::world", "{} {}", self.epoch.format(at), what);
        if self.key_events.len() < KEY_EVENTS_MAX {
            self.key_events.push((at, what));
        }
    }

    /// Opens a new incident (the previous one, if any, is closed).
    fn open_new_incident(&mut self, cause: &'static str, started_at: SimTime) {
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
    }

    fn open_incident(&mut self) -> Option<&mut PoolIncident> {
        self.incidents
            .last_mut()
            .filter(|i| i.restore_completed_at.is_none())
    }

    // ---- the timeline -------------------------------------------------------

    pub(super) fn on_action(&mut self, sim: &mut Sim<Ev>, i: u32, begin: bool) {
        let now = sim.now();
        sim.trace.record(now, &Record::Action { index: i, begin });
        let mut effects = Vec::new();
        crate::effects::interpret(
            &self.timeline.items[i as usize],
            begin,
            &self.cfg,
            &mut effects,
        );
        for e in effects {
            self.apply_effect(sim, e);
        }
    }

    /// Carries out one effect of the timeline.
    fn apply_effect(&mut self, sim: &mut Sim<Ev>, effect: Effect) {
        let now = sim.now();
        match effect {
            Effect::Narrate(text) => self.key_event(now, text),
            Effect::SubmitChange(req) => self.submit_change(
                sim,
                &req.name,
                req.target,
                req.applied_via,
                req.emergency,
                req.payload,
            ),
            Effect::FixRouting { set_by } => {
                self.plant.edge.fix(now, &set_by);
            }
            Effect::Freeze => self.changes.freeze(now),
            Effect::LiftFreeze => {
                let mut released = Vec::new();
                self.changes.lift_freeze(now, &mut released);
                for d in released {
                    self.enact(sim, d);
                }
            }
            Effect::Isolation(on) => self.changes.set_isolation(on),
            Effect::PoolLossAlert(enabled) => self.monitoring_pool_loss_alert = enabled,
            Effect::FixAvailable => self.fix_available = true,
            Effect::StartRollout { emergency } => self.start_rollout(sim, emergency),
            Effect::Engineers(count) => {
                self.operators
                    .set_engineers(now, count, &mut self.ops_rng, &mut self.ops_out);
                self.drain_ops(sim);
            }
            Effect::RestoreWith(method) => self.restore_with = method,
            Effect::ServiceFaults {
                server_error_ratio,
                timeout_ratio,
                generation_regression,
            } => {
                let f = &mut self.plant.service.faults;
                f.server_error_ratio = server_error_ratio;
                f.timeout_ratio = timeout_ratio;
                f.generation_regression = generation_regression;
            }
            Effect::PartialDesiredState { ratio } => {
                self.plant.service.faults.partial_ratio = ratio
            }
            Effect::CloudCreateFailureRatio(r) => self.plant.cloud.set_create_failure_ratio(r),
            Effect::CloudLatencyFactor(f) => self.plant.cloud.set_latency_factor(f),
            Effect::CloudCallsPerS(r) => self.plant.cloud.set_calls_per_s(r),
            Effect::OperatorAckFactor(f) => self.operators.set_ack_factor(f),
            Effect::RolloutAlarm => {
                let mut out = Vec::new();
                if self.rollout.handle_alarm(now, &mut out) {
                    let after = SimDuration::from_secs_f64(
                        self.cfg.response.rollout_resume_after_min * 60.0,
                    );
                    sim.schedule_in(
                        after,
                        Ev::Response {
                            incident: u32::MAX,
                            step: ResponseStep::ResumeRollout,
                        },
                    );
                }
                self.apply_rollout(sim, out);
            }
            Effect::VendorPath(p) => self.auth.set_vendor_path(p),
            Effect::BotMultiplier(m) => self.auth.set_bot_multiplier(m),
            Effect::AuthMitigations(m) => {
                // Validated at load time; a rejection here would be a bug.
                self.auth
                    .set_mitigations(m)
                    .expect("mitigation settings validated with the scenario");
            }
            Effect::VendorSlowdown(f) => self.auth.set_vendor_slowdown(f),
            Effect::Vendor429Storm(on) => self.auth.set_vendor_429_storm(on),
            Effect::CrashReplicas(n) => self.auth.crash_replicas(n),
        }
    }

    // ---- change management --------------------------------------------------

    fn submit_change(
        &mut self,
        sim: &mut Sim<Ev>,
        name: &str,
        target: Env,
        applied_via: Env,
        emergency: bool,
        payload: ChangePayload,
    ) {
        let now = sim.now();
        let id = self.next_change_id;
        self.next_change_id += 1;
        self.change_names.push(name.to_string());
        let decision = self.changes.submit(
            now,
            Change {
                id,
                description: name.to_string(),
                target,
                applied_via,
                emergency,
                payload,
            },
        );
        match &decision {
            Decision::Held { .. } => {
                self.key_event(now, format!("change {name} held: prod change freeze"));
            }
            Decision::Rejected { reason, .. } => {
                self.key_event(now, format!("change {name} rejected: {reason}"));
            }
            Decision::Applied(_) => {}
        }
        self.enact(sim, decision);
    }

    /// Carries out an applied change and checks I5 and I6 on it.
    fn enact(&mut self, sim: &mut Sim<Ev>, decision: Decision<ChangePayload>) {
        let Decision::Applied(applied) = decision else {
            return;
        };
        let now = sim.now();
        let name = self
            .change_names
            .get(applied.id as usize - 1)
            .cloned()
            .unwrap_or_default();
        if applied.env == Env::Prod && applied.leaked && self.changes.isolation() {
            self.findings.add(Finding {
                at: now,
                cluster: None,
                rule: Rule::I5IsolationHolds,
                guard: None,
                detail: format!(
                    "change {name} meant for staging applied to prod with isolation on"
                ),
            });
        }
        if applied.env == Env::Prod && self.changes.freeze_prod() && !applied.emergency {
            self.findings.add(Finding {
                at: now,
                cluster: None,
                rule: Rule::I6FreezeHolds,
                guard: None,
                detail: format!(
                    "non-emergency change {name} applied to prod during the freeze{}",
                    if applied.leaked {
                        " (meant for staging)"
                    } else {
                        ""
                    }
                ),
            });
        }
        if applied.env != Env::Prod {
            self.key_event(
                now,
                format!("change {name} applied to {}", applied.env.name()),
            );
            return;
        }
        self.key_event(
            now,
            format!(
                "change {name} applied to prod{}{}",
                if applied.emergency {
                    " (emergency)"
                } else {
                    ""
                },
                if applied.leaked {
                    " (meant for staging: leaked)"
                } else {
                    ""
                }
            ),
        );
        match applied.payload {
            ChangePayload::Edge { ratio, salt } => {
                self.plant.edge.apply(now, ratio, salt, &name);
            }
            ChangePayload::EdgeFix => {
                self.plant.edge.fix(now, &name);
            }
            ChangePayload::AgentFix => self.start_rollout(sim, applied.emergency),
        }
    }

    // ---- rollout ------------------------------------------------------------

    fn start_rollout(&mut self, sim: &mut Sim<Ev>, emergency: bool) {
        let now = sim.now();
        if self.rollout.is_running() {
            if emergency {
                self.rollout.set_emergency(true);
                self.key_event(now, "rollout switched to emergency bakes".into());
            }
            return;
        }
        if self.rollout.completed_at().is_some() {
            return;
        }
        let mut out = Vec::new();
        match self.rollout.start_shuffled(
            now,
            self.plant.fleet.len() as u32,
            &mut self.rollout_rng,
            emergency,
            &mut out,
        ) {
            Ok(()) => {
                self.key_event(
                    now,
                    format!(
                        "{} of the agent fix starts",
                        if emergency {
                            "emergency hotfix rollout"
                        } else {
                            "rollout"
                        }
                    ),
                );
                self.apply_rollout(sim, out);
            }
            Err(e) => self.key_event(now, format!("rollout refused: {e}")),
        }
    }

    fn apply_rollout(&mut self, sim: &mut Sim<Ev>, out: Vec<RolloutOutput>) {
        let now = sim.now();
        let guards = self.cfg.hotfix_guards;
        for o in out {
            match o {
                RolloutOutput::SetTimer { at, timer } => {
                    sim.schedule_at(at.max(now), Ev::RolloutTimer(timer))
                }
                RolloutOutput::Upgrade { clusters, .. } => {
                    for k in clusters {
                        let c = self.rollout.order()[k];
                        self.books[c as usize].guards_installed = Some(guards);
                        self.agents[c as usize].upgrade(guards);
                        if guards.g6_delete_locks {
                            self.plant.cloud.set_delete_locks(true);
                        }
                    }
                }
                RolloutOutput::WaveStarted { wave, share, .. } => {
                    sim.trace.record(now, &Record::Note { text: "wave" });
                    self.key_event(
                        now,
                        format!("rollout wave {wave} ({:.0} % of the fleet)", share * 100.0),
                    );
                }
                RolloutOutput::Completed { at } => {
                    self.key_event(at, "rollout complete: every agent runs the fix".into());
                }
                RolloutOutput::Halted { wave, .. } => {
                    self.key_event(now, format!("rollout halted in wave {wave}"));
                }
                RolloutOutput::Baked { .. } | RolloutOutput::Resumed { .. } => {}
            }
        }
        if let Err(e) = self.rollout.check_invariants() {
            self.findings.add(Finding {
                at: now,
                cluster: None,
                rule: Rule::I7OneUnbakedWave,
                guard: None,
                detail: e,
            });
        }
    }

    pub(super) fn on_rollout_timer(&mut self, sim: &mut Sim<Ev>, t: RolloutTimer) {
        let mut out = Vec::new();
        self.rollout.handle_timer(sim.now(), t, &mut out);
        self.apply_rollout(sim, out);
    }

    // ---- pool-loss incidents ------------------------------------------------

    /// A cluster starts losing a desired pool.
    pub(super) fn on_loss_started(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        if self.open_incident().is_none() {
            self.open_new_incident("pool_loss", now);
            self.key_event(now, format!("first cluster loses node pools (cluster {c})"));
        }
        let inc = self.open_incident().expect("just opened");
        inc.clusters_affected += 1;
        inc.open_clusters += 1;
        let acked = inc.acked_at.is_some();
        let mon = &self.cfg.monitoring;
        // Customers notice (slower at night) and report to support.
        let hour = self.epoch.hour_of_day(now);
        let (median, p99) = if mon.is_night(hour) {
            (
                mon.customer_report_night_median_min,
                mon.customer_report_night_p99_min,
            )
        } else {
            (
                mon.customer_report_day_median_min,
                mon.customer_report_day_p99_min,
            )
        };
        let delay = self.customer_rng.lognormal(median, p99);
        sim.schedule_in(
            SimDuration::from_secs_f64(delay * 60.0),
            Ev::CustomerReport(c),
        );
        if self.monitoring_pool_loss_alert {
            let after = SimDuration::from_secs_f64(mon.pool_loss_alert_for_min * 60.0);
            sim.schedule_in(after, Ev::PoolLossAlertCheck(c));
        }
        if acked {
            self.queue_restore(sim, c);
        }
    }

    /// The agent died. If the cluster was already being restored (it broke
    /// again, e.g. a restored buggy agent met the 404 once more), the
    /// restoration starts over.
    pub(super) fn on_agent_died(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let book = &mut self.books[c as usize];
        if book.lost_since.is_none() {
            return;
        }
        match book.restoring {
            // The script's attempt failed: it retries within its budget.
            Some(RestoreMethod::Script) => {
                let mut out = Vec::new();
                self.recovery
                    .handle_restore_failed(sim.now(), c, &mut self.recovery_rng, &mut out);
                self.apply_recovery(sim, out);
            }
            // The engineer's job is done; the cluster goes back in the queue.
            Some(_) => {
                book.restoring = None;
                if self.open_incident().is_some_and(|i| i.acked_at.is_some()) {
                    self.queue_restore(sim, c);
                }
            }
            None => {}
        }
    }

    pub(super) fn on_customer_report(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        if self.books[c as usize].lost_since.is_none() {
            return; // restored before the customer got round to it
        }
        let escalate_at = self.cfg.monitoring.customer_reports_to_escalate;
        let Some(inc) = self.open_incident() else {
            return;
        };
        inc.reports += 1;
        if inc.detected_at.is_none() && inc.reports >= escalate_at {
            self.detect(sim, "customer_reports");
        }
    }

    /// The agent-hold alert: fixed agents hold safely on a broken route, so
    /// nothing is lost and nobody would notice; this alert pages instead.
    pub(super) fn check_agent_hold_alert(&mut self, sim: &mut Sim<Ev>) {
        let mon = &self.cfg.monitoring;
        if !mon.agent_hold_alert {
            return;
        }
        let now = sim.now();
        let held = self
            .agents
            .iter()
            .filter(|a| a.is_alive() && a.in_hold())
            .count() as u32;
        if held < mon.agent_hold_alert_agents_min {
            self.hold_since = None;
            return;
        }
        let since = *self.hold_since.get_or_insert(now);
        let due = SimDuration::from_secs_f64(mon.agent_hold_alert_for_min * 60.0);
        if now.saturating_since(since) < due || self.open_incident().is_some() {
            return;
        }
        self.open_new_incident("agents_in_hold", since);
        self.key_event(
            now,
            format!("{held} agents in safe hold (desired-state answers failing)"),
        );
        self.detect(sim, "agent_hold_alert");
    }

    pub(super) fn on_pool_loss_alert_check(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        if !self.monitoring_pool_loss_alert || self.books[c as usize].lost_since.is_none() {
            return;
        }
        if self
            .open_incident()
            .is_some_and(|i| i.detected_at.is_none())
        {
            self.detect(sim, "pool_loss_alert");
        }
    }

    fn detect(&mut self, sim: &mut Sim<Ev>, by: &'static str) {
        let now = sim.now();
        let Some(inc) = self.open_incident() else {
            return;
        };
        inc.detected_at = Some(now);
        inc.detected_by = Some(by);
        let id = inc.id;
        sim.trace.record(now, &Record::Detected { incident: id });
        self.key_event(
            now,
            format!(
                "pool loss detected by {}; on-call paged",
                by.replace('_', " ")
            ),
        );
        // The acknowledgement comes back as an operator timer (OpsOutput::Acked).
        let _page = self
            .operators
            .page(now, id, &mut self.ops_rng, &mut self.ops_out);
        self.drain_ops(sim);
    }

    /// Applies the operators' outputs collected in `ops_out`.
    pub(super) fn drain_ops(&mut self, sim: &mut Sim<Ev>) {
        let now = sim.now();
        let out = std::mem::take(&mut self.ops_out);
        for o in &out {
            match *o {
                OpsOutput::SetTimer { at, timer } => {
                    sim.schedule_at(at.max(now), Ev::OpsTimer(timer))
                }
                OpsOutput::Acked { incident, at, .. } => self.on_acked(sim, incident, at),
                OpsOutput::Repair { .. } => {}
                OpsOutput::RepairHandsOnDone { cluster, .. } => self.restore_cluster(sim, cluster),
            }
        }
        let mut out = out;
        out.clear();
        if self.ops_out.is_empty() {
            self.ops_out = out;
        }
    }

    pub(super) fn on_ops_timer(&mut self, sim: &mut Sim<Ev>, t: OpsTimer) {
        self.operators
            .handle_timer(sim.now(), t, &mut self.ops_rng, &mut self.ops_out);
        self.drain_ops(sim);
    }

    fn on_acked(&mut self, sim: &mut Sim<Ev>, incident: u32, at: SimTime) {
        let Some(inc) = self.incidents.get_mut(incident as usize) else {
            return;
        };
        if inc.acked_at.is_some() {
            return;
        }
        inc.acked_at = Some(at);
        self.key_event(at, "on-call acknowledges; restoration starts".into());
        let r = &self.cfg.response;
        let (decide, diagnose) = (r.decide_min, r.diagnose_min);
        sim.schedule_in(
            SimDuration::from_secs_f64(decide * 60.0),
            Ev::Response {
                incident,
                step: ResponseStep::Decide,
            },
        );
        sim.schedule_in(
            SimDuration::from_secs_f64(diagnose * 60.0),
            Ev::Response {
                incident,
                step: ResponseStep::Diagnosed,
            },
        );
        let lost: Vec<ClusterId> = (0..self.plant.fleet.len() as u32)
            .filter(|&c| self.books[c as usize].lost_since.is_some())
            .collect();
        for c in lost {
            self.queue_restore(sim, c);
        }
    }

    pub(super) fn on_response(&mut self, sim: &mut Sim<Ev>, incident: u32, step: ResponseStep) {
        let now = sim.now();
        match step {
            ResponseStep::ResumeRollout => {
                let mut out = Vec::new();
                if self.rollout.resume(now, &mut out).is_ok() {
                    self.key_event(now, "rollout resumed after the alarm was checked".into());
                }
                self.apply_rollout(sim, out);
            }
            ResponseStep::Diagnosed => {
                if self.plant.edge.current().misroute_ratio > 0.0 {
                    self.key_event(
                        now,
                        "cause found: the desired-state route answers 404; reverting".into(),
                    );
                    self.submit_change(
                        sim,
                        "revert-route",
                        Env::Prod,
                        Env::Prod,
                        true,
                        ChangePayload::EdgeFix,
                    );
                }
                let mut resolved = None;
                if let Some(inc) = self.incidents.get_mut(incident as usize) {
                    inc.mitigated_at.get_or_insert(now);
                    // Nothing was lost (agents only held): route fixed, incident over.
                    if inc.clusters_affected == 0 && inc.restore_completed_at.is_none() {
                        inc.restore_completed_at = Some(now);
                        resolved = Some(inc.id);
                    }
                }
                if let Some(id) = resolved {
                    self.operators.resolve(now, id);
                    self.hold_since = None;
                }
            }
            ResponseStep::Decide => {
                // Clusters at risk: lost ones plus intact ones still answered 404.
                let at_risk = (0..self.plant.fleet.len() as u32)
                    .filter(|&c| {
                        self.books[c as usize].lost_since.is_some()
                            || (self.plant.edge.misroutes(c)
                                && self.agents[c as usize].guards().is_buggy())
                    })
                    .count() as f64;
                let hours = at_risk / self.operators.clusters_per_hour().max(1e-9);
                let threshold = self.cfg.response.hotfix_when_manual_exceeds_h;
                if let Some(inc) = self.incidents.get_mut(incident as usize) {
                    inc.projected_manual_hours = Some(hours);
                }
                self.key_event(
                    now,
                    format!("decision: manual repair of {at_risk:.0} clusters at risk projected at {hours:.1} h"),
                );
                if hours > threshold && self.fix_available && self.rollout.completed_at().is_none()
                {
                    if let Some(inc) = self.incidents.get_mut(incident as usize) {
                        inc.hotfix_started_at = Some(now);
                    }
                    self.submit_change(
                        sim,
                        "agent-hotfix",
                        Env::Prod,
                        Env::Prod,
                        true,
                        ChangePayload::AgentFix,
                    );
                }
            }
        }
    }

    // ---- restoration --------------------------------------------------------

    /// Hands a lost cluster to the current restoration method.
    fn queue_restore(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        if self.books[c as usize].restoring.is_some() {
            return;
        }
        match self.restore_with {
            RestoreBy::Manual => {
                self.books[c as usize].restoring = Some(RestoreMethod::Manual);
                self.operators
                    .enqueue(now, c, &mut self.ops_rng, &mut self.ops_out);
                self.drain_ops(sim);
            }
            RestoreBy::Script => {
                self.books[c as usize].restoring = Some(RestoreMethod::Script);
                let mut out = Vec::new();
                self.recovery.restore(now, c, &mut out);
                self.apply_recovery(sim, out);
            }
        }
    }

    /// The hands-on part of a restore. An engineer recreates the `system`
    /// pool and lets the restarted agent restore the rest [A: spec]; the
    /// recovery script recreates every missing desired pool at once (it
    /// reads desired state itself), so its clusters come back in one cloud
    /// round instead of two, and checks first that the cluster would not be
    /// broken again at once.
    pub(super) fn restore_cluster(&mut self, sim: &mut Sim<Ev>, c: ClusterId) {
        let now = sim.now();
        let by_script = self.books[c as usize].restoring == Some(RestoreMethod::Script);
        // The script's preflight: restoring a cluster whose (buggy) agent would
        // still be answered 404 only feeds it pools to delete again, so wait
        // for the route (or the hotfix), holding the script's slot.
        let guards = self.books[c as usize]
            .guards_installed
            .unwrap_or(self.agents[c as usize].guards());
        if by_script && self.plant.edge.misroutes(c) && guards.is_buggy() {
            sim.schedule_in(SimDuration::from_mins(2), Ev::RepairCall(c));
            return;
        }
        let ds = *self.plant.service.state(c);
        let pools = *self.plant.cloud.pools(c);
        let mut wait = false;
        for p in ds.pools.iter() {
            if ds.tombstones.contains(p) || (!by_script && p != PoolName::System) {
                continue;
            }
            match pools[p.index()] {
                PoolState::Absent => {
                    let nodes = ds.nodes[p.index()];
                    if let CloudReply::RateLimited { retry_at } =
                        self.cloud_call(sim, c, p, CloudCall::Create { nodes })
                    {
                        if by_script {
                            let mut out = Vec::new();
                            self.recovery.handle_cloud_rate_limited(
                                now,
                                c,
                                &mut self.recovery_rng,
                                &mut out,
                            );
                            self.apply_recovery(sim, out);
                            return;
                        }
                        sim.schedule_at(retry_at, Ev::RepairCall(c));
                        return;
                    }
                }
                PoolState::Deleting => wait = true,
                PoolState::Creating | PoolState::Present { .. } => {}
            }
        }
        if wait {
            // A delete is still in flight: look again once it is done.
            sim.schedule_in(SimDuration::from_mins(2), Ev::RepairCall(c));
        } else if matches!(pools[PoolName::System.index()], PoolState::Present { .. })
            && !self.agents[c as usize].is_alive()
        {
            sim.schedule_in(SimDuration::from_secs(1), Ev::AgentRestart(c));
        }
    }

    fn apply_recovery(&mut self, sim: &mut Sim<Ev>, out: Vec<RecoveryOutput>) {
        let now = sim.now();
        for o in out {
            match o {
                RecoveryOutput::StartRestore { cluster, .. } => self.restore_cluster(sim, cluster),
                RecoveryOutput::SetTimer { at, timer } => {
                    sim.schedule_at(at.max(now), Ev::RecoveryTimer(timer))
                }
                RecoveryOutput::Done { .. } => {}
                RecoveryOutput::GaveUp {
                    cluster, attempts, ..
                } => {
                    self.key_event(now, format!("recovery script gave up on cluster {cluster} after {attempts} attempts"));
                    // A human takes over.
                    self.books[cluster as usize].restoring = Some(RestoreMethod::Manual);
                    self.operators
                        .enqueue(now, cluster, &mut self.ops_rng, &mut self.ops_out);
                    self.drain_ops(sim);
                }
            }
        }
    }

    pub(super) fn on_recovery_timer(&mut self, sim: &mut Sim<Ev>, t: RecoveryTimer) {
        let mut out = Vec::new();
        self.recovery.handle_timer(sim.now(), t, &mut out);
        self.apply_recovery(sim, out);
    }

    /// A cluster has every desired pool again.
    pub(super) fn on_cluster_restored(
        &mut self,
        sim: &mut Sim<Ev>,
        c: ClusterId,
        method: RestoreMethod,
    ) {
        let now = sim.now();
        if method == RestoreMethod::Script {
            let mut out = Vec::new();
            self.recovery
                .handle_restore_done(now, c, &mut self.recovery_rng, &mut out);
            self.apply_recovery(sim, out);
        }
        let edge_ok = self.plant.edge.current().misroute_ratio == 0.0;
        let Some(inc) = self.open_incident() else {
            return;
        };
        inc.open_clusters = inc.open_clusters.saturating_sub(1);
        if inc.open_clusters == 0 && (edge_ok || inc.mitigated_at.is_some()) {
            inc.restore_completed_at = Some(now);
            let (id, n) = (inc.id, inc.clusters_affected);
            self.operators.resolve(now, id);
            self.key_event(now, format!("all {n} clusters of the incident restored"));
        }
    }

    /// G5's fleet-wide brake: at most `fleet_deletes_per_hour_max` deletes an
    /// hour across the fleet while any agent runs with G5.
    pub(super) fn fleet_brake_allows(&mut self, now: SimTime) -> bool {
        let hour = SimDuration::from_hours(1);
        while self
            .fleet_deletes
            .front()
            .is_some_and(|t| now.saturating_since(*t) >= hour)
        {
            self.fleet_deletes.pop_front();
        }
        if self.fleet_deletes.len() as u32 >= self.cfg.agent.fleet_deletes_per_hour_max {
            return false;
        }
        self.fleet_deletes.push_back(now);
        true
    }

    /// I3: a protected pool must not disappear while delete locks are on.
    pub(super) fn check_protected(&mut self, now: SimTime, c: ClusterId, pool: PoolName) {
        if pool.is_protected() && self.plant.cloud.delete_locks() {
            self.findings.add(Finding {
                at: now,
                cluster: Some(c),
                rule: Rule::I3ProtectedPoolsKept,
                guard: Some(Guard::G6),
                detail: format!("{pool} deleted with delete locks on"),
            });
        }
    }
}
