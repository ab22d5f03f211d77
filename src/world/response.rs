//! The response part: routing between the people-and-process machines.
//! The timeline's effects, change management, the rollout, monitoring,
//! the responder, the operators, the recovery script, and the
//! restorations they ask for.
//!
//! Each handler feeds one machine and routes its outputs; the decisions are
//! the machines' (`model::responder`, `model::monitoring`, …). What this
//! file adds is what only the world knows: which clusters are lost, what
//! the route does, and the hands-on repair of a cluster in the plant.
//!
//! Owns: [`Response`] (the machines above, their streams, the bake watch,
//! the health gate's before-picture, the edge deploys in the pipeline, the
//! prod routing changes as the change log records them, the
//! restorations at each acknowledgement, the change names). Touches: the
//! plant (the edge, the service's faults, the cloud's settings, probes),
//! the shared books, the fleet part (wakes, upgrades, kills and restores
//! agents; cloud calls of a restore) and, for timeline effects, the auth
//! system.

use super::books::Shared;
use super::external::AgentCommand;
use super::fleet_side::{Fleet, FleetNews};
use super::{Ev, RestoreMethod};
use crate::checks;
use crate::coverage::Reached;
use crate::effects::land_route_change;
use crate::effects::{self, Effect};
use crate::model::agent::{Agent, ReleaseDefect};
use crate::model::auth::AuthSystem;
use crate::model::change::{Change, ChangeManager, ChangePayload, ChangeRequest, Decision};
use crate::model::monitoring::{DetectionSource, Monitoring, MonitoringOutput, MonitoringTimer};
use crate::model::operators::{Operators, OpsOutput, OpsTimer};
use crate::model::recovery::{PreflightVia, Recovery, RecoveryOutput, RecoveryTimer};
use crate::model::responder::{
    AuditInputs, DecisionInputs, DiagnosisInputs, Responder, ResponderOutput, ResponderTimer,
    RestoreBy, RoutingChangeSeen,
};
use crate::model::rollout::{Rollout, RolloutOutput, RolloutTimer, WaveHealth};
use crate::plant::cloud::{CloudCall, CloudReply};
use crate::plant::control::RouteLanding;
use crate::plant::streams;
use crate::protocol::{ClusterId, PoolName, PoolState};
use crate::record::Record;
use crate::timeline::{ActionClass, Timeline};
use crate::types::Env;
use cascade_sim::{Seed, SimDuration, SimTime, Stream};

/// The random streams of the response part's machines (see [`streams`]
/// for the names).
pub(super) struct ResponseStreams {
    /// The run's seed, for per-incident streams forked on demand.
    pub seed: Seed,
    pub operators: Stream,
    /// Probes that responders and the script send through the edge.
    pub probes: Stream,
    pub customers: Stream,
    pub rollout: Stream,
    pub recovery: Stream,
}

/// A machine's output waiting to be routed (see [`Response::drain`]).
enum Routed {
    Responder(ResponderOutput),
    Ops(OpsOutput),
    Rollout(RolloutOutput),
    /// After a batch of rollout outputs and all they led to: the rollout's
    /// own invariant (I7), checked once per batch.
    RolloutChecked,
    Recovery(RecoveryOutput),
    Monitoring(MonitoringOutput),
}

/// The people-and-process machines and what the world keeps for them.
pub(super) struct Response {
    pub changes: ChangeManager<ChangePayload>,
    pub rollout: Rollout,
    /// The bake under way as the driver saw it start (its start and the
    /// bake time then in force), to check each `Baked` against (I7).
    bake_watch: Option<(SimTime, SimDuration)>,
    /// Agents reporting healthy when the baking wave started (the health
    /// gate's before-picture); empty until a rollout starts.
    healthy_at_wave_start: Vec<bool>,
    /// The defect of the next build a rollout ships (`hotfix_defect`, or
    /// the last `bad_release` item's), and of the build being rolled out
    /// (latched when its rollout starts: one rollout ships one build).
    next_release_defect: ReleaseDefect,
    release_defect: ReleaseDefect,
    /// Edge changes in the configuration pipeline, by `Ev::EdgeDeploy` index.
    edge_deploys: Vec<RouteLanding>,
    /// Routing changes applied to prod as the change log and the pipeline
    /// record them (what diagnosis reads; at most `change.log_max`).
    routing_changes: Vec<RoutingChangeSeen>,
    /// Routing changes applied to prod with no prod record (leaked from
    /// staging's change requests): what an audit of the edge's live
    /// configuration can find (at most `change.log_max`).
    unrecorded_routing_changes: Vec<String>,
    /// Per incident: the team's finished restorations (hands-on repairs
    /// plus script restores) when on-call acknowledged it.
    restorations_at_ack: Vec<u64>,
    pub operators: Operators,
    pub recovery: Recovery,
    pub monitoring: Monitoring,
    pub responder: Responder,
    /// Change names by id - 1 (change ids are dense from 1).
    pub change_names: Vec<String>,
    rng: ResponseStreams,
    /// Reused buffer of operator outputs.
    ops_out: Vec<OpsOutput>,
    /// Outputs waiting to be routed, the next on top (see [`Response::drain`]).
    routing: Vec<Routed>,
    /// Restores the recovery script finished as a process (the black-box
    /// tier; the model's script counts its own in `recovery`).
    script_process_restores: u64,
}

impl Response {
    pub fn new(
        changes: ChangeManager<ChangePayload>,
        rollout: Rollout,
        operators: Operators,
        recovery: Recovery,
        monitoring: Monitoring,
        responder: Responder,
        rng: ResponseStreams,
    ) -> Response {
        Response {
            changes,
            rollout,
            bake_watch: None,
            healthy_at_wave_start: Vec::new(),
            next_release_defect: ReleaseDefect::None,
            release_defect: ReleaseDefect::None,
            edge_deploys: Vec::new(),
            routing_changes: Vec::new(),
            unrecorded_routing_changes: Vec::new(),
            restorations_at_ack: Vec::new(),
            operators,
            recovery,
            monitoring,
            responder,
            change_names: Vec::new(),
            rng,
            ops_out: Vec::new(),
            routing: Vec::new(),
            script_process_restores: 0,
        }
    }

    /// The defect of the builds rollouts ship until a `bad_release` item
    /// says otherwise (`hotfix_defect`).
    pub fn with_release_defect(mut self, defect: ReleaseDefect) -> Response {
        self.next_release_defect = defect;
        self.release_defect = defect;
        self
    }

    // ---- the timeline -------------------------------------------------------

    pub(super) fn on_action(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        auth: &mut AuthSystem,
        timeline: &Timeline,
        i: u32,
        begin: bool,
    ) {
        let now = sh.now();
        sh.sim
            .trace
            .record(now, &Record::Action { index: i, begin });
        let item = &timeline.items[i as usize];
        if item.action.class() == ActionClass::Fault && item.duration.is_some() {
            // A fault with a duration: customer-change deadlines restart
            // after its edges (the liveness rule holds outside faults; a
            // mitigation or a freeze that lasts is not a fault).
            sh.books.faults_active = if begin {
                sh.books.faults_active + 1
            } else {
                sh.books.faults_active.saturating_sub(1)
            };
            if begin && sh.books.faults_active >= 2 {
                sh.books.coverage.hit(Reached::FaultsOverlapping);
            }
            sh.books.last_fault_edge_at = Some(now);
        }
        let mut effects = Vec::new();
        effects::interpret(&timeline.items[i as usize], begin, sh.cfg, &mut effects);
        for e in effects {
            let base = self.routing.len();
            self.apply_effect(sh, fleet, auth, e);
            self.drain(sh, fleet, base);
        }
    }

    /// Carries out one effect of the timeline.
    fn apply_effect(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        auth: &mut AuthSystem,
        effect: Effect,
    ) {
        let now = sh.now();
        match effect {
            Effect::Narrate(text) => sh.books.key_event(now, text),
            Effect::WatchSettling => sh.books.watch_settling(sh.plant, &fleet.agents, now),
            Effect::SubmitChange(req) => self.submit_change(sh, req),
            Effect::FixRouting { set_by } => {
                sh.plant.edge.fix(now, &set_by);
            }
            Effect::Freeze => self.changes.freeze(now),
            Effect::LiftFreeze => {
                let mut released = Vec::new();
                self.changes.lift_freeze(now, &mut released);
                // Each released change is carried out, with all it leads
                // to, before the next.
                for d in released {
                    let base = self.routing.len();
                    self.enact(sh, d);
                    self.drain(sh, fleet, base);
                }
            }
            Effect::Isolation(on) => self.changes.set_isolation(on),
            Effect::PoolLossAlert(enabled) => self.monitoring.set_pool_loss_alert(enabled),
            Effect::FixAvailable => self.responder.set_fix_available(),
            Effect::StartRollout { emergency } => self.start_rollout(sh, emergency),
            Effect::Engineers(count) => {
                self.operators.set_engineers(
                    now,
                    count,
                    &mut self.rng.operators,
                    &mut self.ops_out,
                );
                self.push_ops();
            }
            Effect::RestoreWith(method) => self.responder.set_restore_with(method),
            Effect::ServiceFaults {
                server_error_ratio,
                timeout_ratio,
                generation_regression,
            } => {
                let f = &mut sh.plant.service.faults;
                f.server_error_ratio = server_error_ratio;
                f.timeout_ratio = timeout_ratio;
                f.generation_regression = generation_regression;
            }
            Effect::PartialDesiredState { ratio } => sh.plant.service.faults.partial_ratio = ratio,
            Effect::CloudCreateFailureRatio(r) => sh.plant.cloud.set_create_failure_ratio(r),
            Effect::CloudLatencyFactor(f) => sh.plant.cloud.set_latency_factor(f),
            Effect::CloudCallsPerS(r) => sh.plant.cloud.set_calls_per_s(r),
            Effect::OperatorAckFactor(f) => self.operators.set_ack_factor(f),
            Effect::RolloutAlarm => self.rollout_alarm(sh),
            Effect::BadRelease(defect) => self.next_release_defect = defect,
            Effect::BadReleaseFound => self.bad_release_found(sh, fleet),
            Effect::VendorPath(p) => auth.set_vendor_path(p),
            Effect::BotMultiplier(m) => auth.set_bot_multiplier(m),
            Effect::BotWave(w) => auth.set_bot_wave(now, w),
            Effect::AuthMitigations(m) => {
                // Validated at load time; a rejection here would be a bug.
                auth.set_mitigations(m)
                    .expect("mitigation settings validated with the scenario");
            }
            Effect::VendorSlowdown(f) => auth.set_vendor_slowdown(f),
            Effect::Vendor429Storm(on) => auth.set_vendor_429_storm(on),
            Effect::CrashReplicas(n) => auth.crash_replicas(n),
            Effect::ListingLag(lag_s) => {
                // Sleeping agents settle their skipped polls against the
                // true listing first; none sleeps while the listing lags.
                fleet.wake_all(sh);
                fleet.listing_lag = SimDuration::from_secs_f64(lag_s);
                fleet.listing_cache = if lag_s > 0.0 {
                    let truth = |c| (now, *sh.plant.cloud.pools(c));
                    (0..sh.plant.fleet.len() as ClusterId).map(truth).collect()
                } else {
                    Vec::new()
                };
            }
            Effect::AgentCrash { ratio, salt, down } => {
                for c in 0..sh.plant.fleet.len() as ClusterId {
                    if !crate::plant::control::picked(ratio, salt, c) {
                        continue;
                    }
                    if down {
                        if fleet.agents[c as usize].is_alive() {
                            fleet.kill_agent(sh, c);
                        }
                    } else if !fleet.agents[c as usize].is_alive() {
                        // Back when its pod starts (if its host is there).
                        let start = SimDuration::from_secs_f64(sh.cfg.network.agent_start_s);
                        sh.sim.schedule_in(start, Ev::AgentRestart(c));
                    }
                }
            }
        }
    }

    // ---- the output queue ---------------------------------------------------

    /// Routes the outputs queued above `base`, and all they lead to, one at
    /// a time, the top first. A routed output queues what it leads to on
    /// top, so everything an output leads to is routed before the output
    /// after it: the order of the depth-first recursion this replaces,
    /// without the recursion.
    fn drain(&mut self, sh: &mut Shared, fleet: &mut Fleet, base: usize) {
        while self.routing.len() > base {
            let next = self.routing.pop().expect("above base");
            match next {
                Routed::Responder(o) => self.route_responder(sh, fleet, o),
                Routed::Ops(o) => self.route_ops(sh, fleet, o),
                Routed::Rollout(o) => self.route_rollout(sh, fleet, o),
                Routed::RolloutChecked => {
                    if let Some(v) = checks::one_unbaked_wave(self.rollout.check_invariants()) {
                        sh.books.findings.add(v.at(sh.now(), None));
                    }
                }
                Routed::Recovery(o) => self.route_recovery(sh, fleet, o),
                Routed::Monitoring(o) => self.route_monitoring(sh, o),
            }
        }
    }

    fn push_responder(&mut self, out: Vec<ResponderOutput>) {
        self.routing
            .extend(out.into_iter().rev().map(Routed::Responder));
    }

    /// Queues the operators' outputs collected in `ops_out`.
    fn push_ops(&mut self) {
        self.routing
            .extend(self.ops_out.drain(..).rev().map(Routed::Ops));
    }

    /// Queues a batch of the rollout's outputs, and under them the check
    /// that follows the batch.
    fn push_rollout(&mut self, out: Vec<RolloutOutput>) {
        self.routing.push(Routed::RolloutChecked);
        self.routing
            .extend(out.into_iter().rev().map(Routed::Rollout));
    }

    fn push_recovery(&mut self, out: Vec<RecoveryOutput>) {
        self.routing
            .extend(out.into_iter().rev().map(Routed::Recovery));
    }

    fn push_monitoring(&mut self, out: Vec<MonitoringOutput>) {
        self.routing
            .extend(out.into_iter().rev().map(Routed::Monitoring));
    }

    // ---- change management --------------------------------------------------

    fn submit_change(&mut self, sh: &mut Shared, req: ChangeRequest) {
        let now = sh.now();
        self.change_names.push(req.name.clone());
        // Change ids are dense from 1: the name of change `id` is at `id - 1`.
        let id = self.change_names.len() as u32;
        let name = req.name;
        let decision = self.changes.submit(
            now,
            Change {
                id,
                description: name.clone(),
                target: req.target,
                applied_via: req.applied_via,
                emergency: req.emergency,
                payload: req.payload,
            },
        );
        match &decision {
            Decision::Held { .. } => {
                sh.books
                    .key_event(now, format!("change {name} held: prod change freeze"));
            }
            Decision::Rejected { reason, .. } => {
                sh.books
                    .key_event(now, format!("change {name} rejected: {reason}"));
            }
            Decision::Applied(_) => {}
        }
        self.enact(sh, decision);
    }

    /// Carries out an applied change and checks I5 and I6 on it.
    fn enact(&mut self, sh: &mut Shared, decision: Decision<ChangePayload>) {
        let Decision::Applied(applied) = decision else {
            return;
        };
        let now = sh.now();
        let name = self
            .change_names
            .get(applied.id as usize - 1)
            .cloned()
            .unwrap_or_default();
        let isolation = checks::isolation_holds(&applied, &name, self.changes.isolation());
        let freeze = checks::freeze_holds(&applied, &name, self.changes.freeze_prod());
        for v in [isolation, freeze].into_iter().flatten() {
            sh.books.findings.add(v.at(now, None));
        }
        if applied.env != Env::Prod {
            sh.books.key_event(
                now,
                format!("change {name} applied to {}", applied.env.name()),
            );
            return;
        }
        sh.books.key_event(
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
            ChangePayload::Edge(change) => {
                let via_pipeline = change.via_pipeline;
                let landing =
                    land_route_change(&sh.cfg.network, self.rng.seed, sh.books.epoch, change, now);
                // Prod's change log and the pipeline's record, as diagnosis
                // reads them; a change leaked from staging's requests is in
                // neither, only on the edge, where an audit finds it.
                if applied.leaked {
                    if self.unrecorded_routing_changes.len() < sh.cfg.change.log_max {
                        self.unrecorded_routing_changes.push(name.clone());
                    }
                } else if self.routing_changes.len() < sh.cfg.change.log_max {
                    self.routing_changes.push(RoutingChangeSeen {
                        name: name.clone(),
                        live_at: landing.at,
                        via_pipeline,
                    });
                }
                if via_pipeline {
                    sh.books.key_event(
                        now,
                        format!(
                            "change {} enters the edge configuration pipeline (cells at {})",
                            landing.change.name,
                            sh.books.epoch.format(landing.at)
                        ),
                    );
                    let at = landing.at;
                    self.edge_deploys.push(landing);
                    sh.sim
                        .schedule_at(at, Ev::EdgeDeploy(self.edge_deploys.len() as u32 - 1));
                } else {
                    self.deploy_edge(sh, &landing);
                }
            }
            ChangePayload::EdgeFix => {
                sh.plant.edge.fix(now, &name);
                // The recorded configuration is back: what was applied
                // outside change management is no longer live.
                self.unrecorded_routing_changes.clear();
            }
            ChangePayload::AgentFix => self.start_rollout(sh, applied.emergency),
        }
    }

    /// The pipeline's nightly window: the change reaches the edge cells.
    pub(super) fn on_edge_deploy(&mut self, sh: &mut Shared, i: u32) {
        let landing = self.edge_deploys[i as usize].clone();
        self.deploy_edge(sh, &landing);
    }

    /// The change reaches the edge cells (at `d.at`, which is now).
    fn deploy_edge(&mut self, sh: &mut Shared, d: &RouteLanding) {
        let now = d.at;
        sh.plant.edge.apply_route(d);
        if d.cells_mask != 0 {
            let cells: Vec<String> = (0..64)
                .filter(|k| d.cells_mask >> k & 1 == 1)
                .map(|k| k.to_string())
                .collect();
            sh.books.key_event(
                now,
                format!(
                    "change {} reaches the edge cells: its route rule misses the desired-state path in cells {}",
                    d.change.name,
                    cells.join(", ")
                ),
            );
        }
    }

    // ---- rollout ------------------------------------------------------------

    fn start_rollout(&mut self, sh: &mut Shared, emergency: bool) {
        let now = sh.now();
        if self.rollout.is_running() {
            if emergency {
                self.rollout.set_emergency(true);
                sh.books
                    .key_event(now, "rollout switched to emergency bakes".into());
            }
            return;
        }
        if self.rollout.completed_at().is_some() {
            return;
        }
        let mut out = Vec::new();
        self.release_defect = self.next_release_defect;
        match self.rollout.start_shuffled(
            now,
            sh.plant.fleet.len() as u32,
            &mut self.rng.rollout,
            emergency,
            &mut out,
        ) {
            Ok(()) => {
                sh.books.key_event(
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
                self.push_rollout(out);
            }
            Err(e) => sh.books.key_event(now, format!("rollout refused: {e}")),
        }
    }

    /// Routes one output of the rollout.
    fn route_rollout(&mut self, sh: &mut Shared, fleet: &mut Fleet, o: RolloutOutput) {
        let now = sh.now();
        let guards = sh.cfg.hotfix_guards;
        let defect = self.release_defect;
        match o {
            RolloutOutput::SetTimer { at, timer } => {
                sh.sim.schedule_at(at.max(now), Ev::RolloutTimer(timer))
            }
            RolloutOutput::Upgrade { clusters, .. } => {
                for k in clusters {
                    let c = self.rollout.order()[k];
                    sh.books.clusters[c as usize].guards_installed = Some(guards);
                    fleet.wake(sh, c);
                    if !fleet.agents[c as usize].is_alive() {
                        sh.books.coverage.hit(Reached::UpgradedWhileDown);
                    }
                    fleet.agents[c as usize].upgrade(now, guards, defect, &sh.cfg.agent);
                    fleet.upgraded(c);
                    if guards.g6_delete_locks {
                        sh.plant.cloud.set_delete_locks(true);
                    }
                }
            }
            RolloutOutput::WaveStarted { wave, share, at } => {
                self.watch_bake(sh, at);
                self.snapshot_wave_health(&fleet.agents);
                sh.sim.trace.record(now, &Record::Note { text: "wave" });
                sh.books.key_event(
                    now,
                    format!("rollout wave {wave} ({:.0} % of the fleet)", share * 100.0),
                );
            }
            RolloutOutput::Completed { at } => {
                sh.books
                    .key_event(at, "rollout complete: every agent runs the fix".into());
            }
            RolloutOutput::Halted { wave, cause, .. } => {
                sh.books.coverage.hit(Reached::RolloutHalted);
                if self.release_defect != ReleaseDefect::None {
                    sh.books.coverage.hit(Reached::BadReleaseHalted);
                }
                let why = cause.describe();
                sh.books
                    .key_event(now, format!("rollout halted in wave {wave} by {why}"));
                let mut r = Vec::new();
                self.responder.handle_rollout_halted(now, cause, &mut r);
                self.push_responder(r);
            }
            RolloutOutput::RolledBack { clusters } => self.roll_back(sh, fleet, clusters),
            // A resumed wave bakes from scratch: its health is judged
            // from now, not from before the halt.
            RolloutOutput::Resumed { at, .. } => {
                sh.books.coverage.hit(Reached::RolloutResumed);
                self.watch_bake(sh, at);
                self.snapshot_wave_health(&fleet.agents);
            }
            RolloutOutput::Baked { wave, at } => {
                if let Some((started, bake)) = self.bake_watch.take() {
                    if let Some(v) = checks::bake_watched(wave, at.saturating_since(started), bake)
                    {
                        sh.books.findings.add(v.at(now, None));
                    }
                }
            }
        }
    }

    /// An alarm fires: the rollout handles it, and a rollout that was
    /// running must be halted right after (I15; the world checks, since
    /// the controller's own answer could be the thing that is wrong).
    fn rollout_alarm(&mut self, sh: &mut Shared) {
        let now = sh.now();
        let running = self.rollout.is_running();
        let wave = self.rollout.waves().last().map(|w| w.wave);
        if running && wave.is_some() && wave == self.rollout.plan().first().map(|p| p.wave) {
            sh.books.coverage.hit(Reached::RolloutAlarmInFirstWave);
        }
        let mut out = Vec::new();
        self.rollout.handle_alarm(now, &mut out);
        if let Some(v) =
            checks::halted_on_alarm(running, wave.unwrap_or(0), self.rollout.is_halted())
        {
            sh.books.findings.add(v.at(now, None));
        }
        self.push_rollout(out);
    }

    /// The team found the bad build: every cluster running a defective
    /// version gets the previous one back, and later waves ship a sound
    /// build.
    fn bad_release_found(&mut self, sh: &mut Shared, fleet: &mut Fleet) {
        self.next_release_defect = ReleaseDefect::None;
        self.release_defect = ReleaseDefect::None;
        let previous = sh.cfg.agent_guards;
        let mut rolled_back = 0;
        for c in 0..fleet.agents.len() as ClusterId {
            if fleet.agents[c as usize].defect() == ReleaseDefect::None {
                continue;
            }
            fleet.wake(sh, c);
            rolled_back += 1;
            sh.books.clusters[c as usize].guards_installed = None;
            if fleet.agents[c as usize].roll_back(previous) {
                fleet.restart_rolled_back(sh, c);
            }
        }
        sh.books.key_event(
            sh.now(),
            format!("the bad build is rolled back on {rolled_back} clusters"),
        );
    }

    /// The health gate failed and the rollout rolls back: the clusters at
    /// `order()[clusters]` get the fleet's previous version (`agent_guards`,
    /// sound); a crash-looping agent starts again as that version.
    fn roll_back(&mut self, sh: &mut Shared, fleet: &mut Fleet, clusters: std::ops::Range<usize>) {
        let now = sh.now();
        let previous = sh.cfg.agent_guards;
        sh.books.key_event(
            now,
            format!(
                "rollout rolled back: {} clusters get the previous version",
                clusters.len()
            ),
        );
        for k in clusters {
            let c = self.rollout.order()[k];
            fleet.wake(sh, c);
            sh.books.clusters[c as usize].guards_installed = None;
            if fleet.agents[c as usize].roll_back(previous) {
                fleet.restart_rolled_back(sh, c);
            }
        }
    }

    /// A bake starts at `at`: remember it and the bake time in force.
    fn watch_bake(&mut self, sh: &Shared, at: SimTime) {
        let cfg = &sh.cfg.rollout;
        let bake_s = if self.rollout.emergency() {
            cfg.bake_time_emergency_s
        } else {
            cfg.bake_time_s
        };
        self.bake_watch = Some((at, SimDuration::from_secs(bake_s)));
    }

    pub(super) fn on_rollout_timer(&mut self, sh: &mut Shared, fleet: &mut Fleet, t: RolloutTimer) {
        let health = if self.rollout.wants_health(t) {
            self.wave_health(&fleet.agents)
        } else {
            WaveHealth::default()
        };
        let mut out = Vec::new();
        let gated = self.rollout.wants_health(t);
        self.rollout.handle_timer(sh.now(), t, health, &mut out);
        if gated {
            let cfg = self.rollout.config();
            let gate = (cfg.health_failed_min, cfg.health_excess_share_min);
            if let Some(v) = checks::halted_on_wave_health(&health, gate, self.rollout.is_halted())
            {
                sh.books.findings.add(v.at(sh.now(), None));
            }
        }
        let base = self.routing.len();
        self.push_rollout(out);
        self.drain(sh, fleet, base);
    }

    /// The health gate's before-picture of a bake, from the agents' status reports.
    fn snapshot_wave_health(&mut self, agents: &[Agent]) {
        if self.rollout.config().health_gate {
            self.healthy_at_wave_start.clear();
            self.healthy_at_wave_start
                .extend(agents.iter().map(|a| a.status().alive));
        }
    }

    /// The baking wave's health as the agents report it: of the clusters
    /// healthy when the wave started, those of the wave (new version) and
    /// those outside it (baseline) that no longer report healthy.
    fn wave_health(&self, agents: &[Agent]) -> WaveHealth {
        let Some(wave) = self.rollout.waves().last() else {
            return WaveHealth::default();
        };
        let order = self.rollout.order();
        let count = |range: std::ops::Range<usize>| -> (u32, u32) {
            let (mut healthy, mut failed) = (0, 0);
            for &c in &order[range] {
                if self.healthy_at_wave_start[c as usize] {
                    healthy += 1;
                    if !agents[c as usize].status().alive {
                        failed += 1;
                    }
                }
            }
            (healthy, failed)
        };
        let (cohort, cohort_failed) = count(wave.clusters.clone());
        let (before, before_failed) = count(0..wave.clusters.start);
        let (after, after_failed) = count(wave.clusters.end..order.len());
        let (baseline, baseline_failed) = (before + after, before_failed + after_failed);
        WaveHealth {
            cohort,
            cohort_failed,
            baseline,
            baseline_failed,
        }
    }

    // ---- monitoring ---------------------------------------------------------

    pub(super) fn on_monitoring_timer(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        t: MonitoringTimer,
    ) {
        let cluster = match t {
            MonitoringTimer::CustomerReport(c) | MonitoringTimer::PoolLossAlertCheck(c) => c,
        };
        let still_lost = sh.books.clusters[cluster as usize].lost_since.is_some();
        let mut m = Vec::new();
        self.monitoring
            .handle_timer(sh.now(), t, still_lost, &mut m);
        self.apply_monitoring(sh, fleet, m);
    }

    /// Once a minute: agents in safe hold, for the agent-hold alert (which
    /// monitoring ignores when the alert does not exist; the fleet's
    /// tallies keep the count, so it costs nothing to give).
    pub(super) fn agent_hold_minute(&mut self, sh: &mut Shared, fleet: &mut Fleet) {
        let held = fleet.tallies.agents_held;
        let mut m = Vec::new();
        self.monitoring
            .handle_agents_in_hold(sh.now(), held, &mut m);
        self.apply_monitoring(sh, fleet, m);
    }

    /// Routes monitoring's outputs: timers to the queue, reports and
    /// alerts to the responders, auth alerts and incidents to the books.
    pub(super) fn apply_monitoring(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        out: Vec<MonitoringOutput>,
    ) {
        let base = self.routing.len();
        self.push_monitoring(out);
        self.drain(sh, fleet, base);
    }

    /// Routes one output of monitoring.
    fn route_monitoring(&mut self, sh: &mut Shared, o: MonitoringOutput) {
        let now = sh.now();
        let mut r = Vec::new();
        match o {
            MonitoringOutput::SetTimer { at, timer } => {
                sh.sim.schedule_at(at.max(now), Ev::Monitoring(timer))
            }
            MonitoringOutput::CustomerReport(_) => {
                self.responder.handle_customer_report(now, &mut r)
            }
            MonitoringOutput::PoolLossAlert(_) => {
                self.responder.handle_pool_loss_alert(now, &mut r)
            }
            MonitoringOutput::AgentHoldAlert { held, since } => self
                .responder
                .handle_agent_hold_alert(now, held, since, &mut r),
            // Booked by the auth part, which hears the minute that fires them.
            MonitoringOutput::BurnRateAlert { .. } => {}
            MonitoringOutput::AuthIncidentDetected { by } => {
                sh.sim
                    .trace
                    .record(now, &Record::Note { text: "auth_alert" });
                let which = match by {
                    DetectionSource::BurnRateFast => "fast",
                    _ => "slow",
                };
                sh.books
                    .key_event(now, format!("auth burn-rate alert fires ({which})"));
            }
            MonitoringOutput::AuthIncidentOpened {
                started_at,
                success_ratio,
            } => sh.books.key_event(
                started_at,
                format!(
                    "legitimate logins failing: {:.1} % success",
                    success_ratio * 100.0
                ),
            ),
            MonitoringOutput::AuthIncidentEnded { .. } => {
                let c = &sh.cfg.monitoring;
                let text = format!(
                    "logins recovered (success >= {} % for {} min)",
                    c.auth_incident_success_min * 100.0,
                    c.auth_recovered_min
                );
                // Stamped at the minute that closed the streak.
                let minute_start = SimTime::from_micros(now.as_micros().saturating_sub(60_000_000));
                sh.books.key_event(minute_start, text);
            }
        }
        self.push_responder(r);
    }

    // ---- the responders -----------------------------------------------------

    /// Whether `c`'s agent was answered 404 within the edge-log window (the
    /// edge's access log names the calling cluster).
    fn answered_404_lately(sh: &Shared, now: SimTime, c: ClusterId) -> bool {
        sh.books.clusters[c as usize]
            .last_404_at
            .get()
            .is_some_and(|t| {
                now.saturating_since(t).as_secs_f64() <= sh.cfg.response.edge_log_window_min * 60.0
            })
    }

    /// Diagnosis: does the desired-state route answer 404? The world
    /// gathers what engineers see (the edge's access log, and probes
    /// through the edge of the clusters lost in the open incident, sent
    /// one at a time as the responder asks for them); the responder judges.
    fn route_answers_404(&mut self, sh: &mut Shared, now: SimTime) -> bool {
        let n = sh.plant.fleet.len() as ClusterId;
        let log_shows_404s = (0..n).any(|c| Self::answered_404_lately(sh, now, c));
        let (plant, books, probes) = (&*sh.plant, &*sh.books, &mut self.rng.probes);
        let lost_probed = (0..n)
            .filter(|&c| books.clusters[c as usize].lost_since.is_some())
            .map(|c| plant.probe(c, probes));
        self.responder
            .route_answers_404(log_shows_404s, lost_probed)
    }

    /// When the 404s began, per the edge's access log: the earliest start
    /// of a run of 404 answers among the clusters answered 404 lately or
    /// lost (a lost agent is dead; its log entries stay).
    fn first_404_at(sh: &Shared, now: SimTime) -> Option<SimTime> {
        (0..sh.plant.fleet.len() as ClusterId)
            .filter(|&c| {
                sh.books.clusters[c as usize].lost_since.is_some()
                    || Self::answered_404_lately(sh, now, c)
            })
            .filter_map(|c| sh.books.clusters[c as usize].first_404_at.get())
            .min()
    }

    /// The team's finished restorations so far: engineers' hands-on
    /// repairs and the recovery script's restores (its own work log).
    fn restorations_done(&self) -> u64 {
        self.operators.repairs_done() + self.recovery.stats().done + self.script_process_restores
    }

    pub(super) fn on_responder_timer(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        t: ResponderTimer,
    ) {
        let now = sh.now();
        let mut r = Vec::new();
        match t {
            ResponderTimer::Diagnosed { incident } => {
                // Diagnosis from what engineers can see: the edge's access
                // log (which clusters' desired-state requests were answered
                // 404 lately, and since when), probes they send through the
                // edge for the clusters they know are broken, and the prod
                // change log (which routing changes reached the edge, when,
                // and whether a rollback is on record).
                let seen = DiagnosisInputs {
                    route_answers_404: self.route_answers_404(sh, now),
                    first_404_at: Self::first_404_at(sh, now),
                    prod_routing_changes: self.routing_changes.clone(),
                };
                self.responder
                    .handle_diagnosed(now, incident, &seen, &mut r);
            }
            ResponderTimer::Audit { incident } => {
                // The audit compares the edge's live configuration with the
                // record: the changes applied to prod with no prod record
                // since the team last restored the recorded configuration.
                let seen = AuditInputs {
                    route_answers_404: self.route_answers_404(sh, now),
                    unrecorded_live: self.unrecorded_routing_changes.clone(),
                };
                self.responder
                    .handle_audit_done(now, incident, &seen, &mut r);
            }
            ResponderTimer::Decide { incident } => {
                // Clusters at risk, as the team can count them: lost ones,
                // plus intact ones whose agent runs a version with the 404
                // bug (the deployment listing) and was answered 404 lately
                // (the edge's access log).
                let at_risk = (0..sh.plant.fleet.len() as ClusterId)
                    .filter(|&c| {
                        let b = &sh.books.clusters[c as usize];
                        b.lost_since.is_some()
                            || (Self::answered_404_lately(sh, now, c)
                                && b.guards_installed
                                    .unwrap_or(fleet.agents[c as usize].guards())
                                    .is_buggy())
                    })
                    .count() as u32;
                // Measured progress: the team's restorations since the ack.
                let at_ack = self
                    .restorations_at_ack
                    .get(incident as usize)
                    .copied()
                    .unwrap_or(0);
                let restored = self.restorations_done().saturating_sub(at_ack);
                let seen = DecisionInputs {
                    clusters_at_risk: at_risk,
                    restored_since_ack: u32::try_from(restored).unwrap_or(u32::MAX),
                    clusters_per_hour: self.operators.clusters_per_hour(),
                    rollout_completed: self.rollout.completed_at().is_some(),
                };
                self.responder.handle_decide(now, incident, seen, &mut r);
            }
            ResponderTimer::ResumeRollout => self.responder.handle_resume_rollout(now, &mut r),
        }
        self.apply_responder(sh, fleet, r);
    }

    /// Routes the responders' outputs, and all they lead to.
    fn apply_responder(&mut self, sh: &mut Shared, fleet: &mut Fleet, out: Vec<ResponderOutput>) {
        let base = self.routing.len();
        self.push_responder(out);
        self.drain(sh, fleet, base);
    }

    /// Routes one output of the responders.
    fn route_responder(&mut self, sh: &mut Shared, fleet: &mut Fleet, o: ResponderOutput) {
        let now = sh.now();
        match o {
            ResponderOutput::SetTimer { at, timer } => {
                sh.sim.schedule_at(at.max(now), Ev::Responder(timer))
            }
            ResponderOutput::Narrate { at, text } => sh.books.key_event(at, text),
            ResponderOutput::Detected { incident, .. } => {
                sh.sim.trace.record(now, &Record::Detected { incident });
            }
            ResponderOutput::Page { incident } => {
                // The acknowledgement comes back as an operator timer;
                // its delay comes from the incident's own stream.
                let mut on_call = self.rng.seed.fork(streams::ON_CALL, incident as u64);
                let _page = self
                    .operators
                    .page(now, incident, &mut on_call, &mut self.ops_out);
                self.push_ops();
            }
            ResponderOutput::Restore { cluster, by } => self.queue_restore(sh, fleet, cluster, by),
            ResponderOutput::SubmitChange(req) => self.submit_change(sh, req),
            ResponderOutput::ResumeRollout => {
                let mut out = Vec::new();
                if self.rollout.resume(now, &mut out).is_ok() {
                    sh.books
                        .key_event(now, "rollout resumed after the alarm was checked".into());
                }
                self.push_rollout(out);
            }
            ResponderOutput::Resolved { incident } => {
                self.operators.resolve(now, incident);
            }
            ResponderOutput::ResetHoldAlert => self.monitoring.reset_agent_hold(),
        }
    }

    // ---- operators ----------------------------------------------------------

    /// Routes one output of the operators.
    fn route_ops(&mut self, sh: &mut Shared, fleet: &mut Fleet, o: OpsOutput) {
        let now = sh.now();
        match o {
            OpsOutput::SetTimer { at, timer } => {
                sh.sim.schedule_at(at.max(now), Ev::OpsTimer(timer))
            }
            OpsOutput::Acked { incident, at, .. } => {
                let i = incident as usize;
                if self.restorations_at_ack.len() <= i {
                    self.restorations_at_ack.resize(i + 1, 0);
                }
                self.restorations_at_ack[i] = self.restorations_done();
                let lost: Vec<ClusterId> = (0..sh.plant.fleet.len() as ClusterId)
                    .filter(|&c| sh.books.clusters[c as usize].lost_since.is_some())
                    .collect();
                let mut r = Vec::new();
                self.responder.handle_acked(now, incident, at, lost, &mut r);
                self.push_responder(r);
            }
            OpsOutput::Repair { .. } => {}
            OpsOutput::RepairHandsOnDone { cluster, .. } => {
                self.restore_cluster(sh, fleet, cluster)
            }
        }
    }

    pub(super) fn on_ops_timer(&mut self, sh: &mut Shared, fleet: &mut Fleet, t: OpsTimer) {
        self.operators
            .handle_timer(sh.now(), t, &mut self.rng.operators, &mut self.ops_out);
        let base = self.routing.len();
        self.push_ops();
        self.drain(sh, fleet, base);
    }

    // ---- restoration --------------------------------------------------------

    /// Hands a lost cluster to a restoration method, once.
    fn queue_restore(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId, by: RestoreBy) {
        let now = sh.now();
        if sh.books.clusters[c as usize].restoring.is_some() {
            return;
        }
        match by {
            RestoreBy::Manual => {
                sh.books.clusters[c as usize].restoring = Some(RestoreMethod::Manual);
                self.operators
                    .enqueue(now, c, &mut self.rng.operators, &mut self.ops_out);
                self.push_ops();
            }
            RestoreBy::Script => {
                sh.books.clusters[c as usize].restoring = Some(RestoreMethod::Script);
                if fleet.script_is_a_process() {
                    fleet.command(AgentCommand::Restore { cluster: c });
                    return;
                }
                let mut out = Vec::new();
                self.recovery.restore(now, c, &mut out);
                self.push_recovery(out);
            }
        }
    }

    /// A repair's cloud call comes due again: the restore goes on.
    pub(super) fn on_repair_call(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId) {
        let base = self.routing.len();
        self.restore_cluster(sh, fleet, c);
        self.drain(sh, fleet, base);
    }

    /// The hands-on part of a restore. An engineer recreates the `system`
    /// pool and lets the restarted agent restore the rest [A: spec]; the
    /// recovery script recreates every missing desired pool at once (it
    /// reads desired state itself), so its clusters come back in one cloud
    /// round instead of two, and checks first that the cluster would not be
    /// broken again at once.
    fn restore_cluster(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId) {
        let now = sh.now();
        let by_script = sh.books.clusters[c as usize].restoring == Some(RestoreMethod::Script);
        // The script's preflight: its agent's version as the deployment
        // listing shows it, and a probe of its desired-state URL through
        // the edge when the script asks for one.
        let guards = sh.books.clusters[c as usize]
            .guards_installed
            .unwrap_or(fleet.agents[c as usize].guards());
        if by_script && self.recovery.preflight_probes(guards.is_buggy()) {
            let probe = match self.recovery.preflight_via() {
                PreflightVia::Edge => sh.plant.probe(c, &mut self.rng.probes),
                PreflightVia::Service => sh.plant.service.answer(c, &mut self.rng.probes),
            };
            let mut out = Vec::new();
            if !self.recovery.handle_preflight(now, c, &probe, &mut out) {
                self.push_recovery(out);
                return;
            }
        }
        let ds = *sh.plant.service.state(c);
        let pools = *sh.plant.cloud.pools(c);
        let mut wait = false;
        for p in ds.pools.iter() {
            if ds.tombstones.contains(p) || (!by_script && p != PoolName::System) {
                continue;
            }
            match pools[p.index()] {
                PoolState::Absent => {
                    let nodes = ds.nodes[p.index()];
                    let method = if by_script {
                        RestoreMethod::Script
                    } else {
                        RestoreMethod::Manual
                    };
                    fleet.check_restore_create(sh, c, p, method);
                    if let CloudReply::RateLimited { retry_at } =
                        fleet.cloud_call(sh, self, c, p, CloudCall::Create { nodes })
                    {
                        if by_script {
                            sh.books.coverage.hit(Reached::RecoveryPausedByRateLimit);
                            let mut out = Vec::new();
                            self.recovery.handle_cloud_rate_limited(
                                now,
                                c,
                                &mut self.rng.recovery,
                                &mut out,
                            );
                            self.push_recovery(out);
                            return;
                        }
                        sh.sim.schedule_at(retry_at, Ev::RepairCall(c));
                        return;
                    }
                }
                PoolState::Deleting => wait = true,
                PoolState::Creating | PoolState::Present { .. } => {}
            }
        }
        if wait {
            // A delete is still in flight: look again once it is done.
            let recheck = SimDuration::from_secs_f64(sh.cfg.response.restore_delete_recheck_s);
            sh.sim.schedule_in(recheck, Ev::RepairCall(c));
        } else if matches!(pools[PoolName::System.index()], PoolState::Present { .. })
            && !fleet.agents[c as usize].is_alive()
        {
            let restart = SimDuration::from_secs_f64(sh.cfg.response.restore_agent_restart_s);
            sh.sim.schedule_in(restart, Ev::AgentRestart(c));
        } else if by_script && sh.books.clusters[c as usize].lost_since.is_none() {
            // The script's attempt found the cluster whole (a retry after
            // its verification failed, once the cluster had healed): the
            // attempt is done. Without this the script waited for a
            // completion that never came, holding the cluster and a slot.
            sh.books.clusters[c as usize].restoring = None;
            let mut out = Vec::new();
            self.recovery
                .handle_restore_done(now, c, &mut self.rng.recovery, &mut out);
            self.push_recovery(out);
        }
    }

    /// Routes the recovery script's outputs, and all they lead to.
    fn apply_recovery(&mut self, sh: &mut Shared, fleet: &mut Fleet, out: Vec<RecoveryOutput>) {
        let base = self.routing.len();
        self.push_recovery(out);
        self.drain(sh, fleet, base);
    }

    /// Routes one output of the recovery script.
    fn route_recovery(&mut self, sh: &mut Shared, fleet: &mut Fleet, o: RecoveryOutput) {
        let now = sh.now();
        match o {
            RecoveryOutput::StartRestore { cluster, .. } => {
                // The script works on it (a retry may come after the
                // world had already counted the cluster restored).
                sh.books.clusters[cluster as usize].restoring = Some(RestoreMethod::Script);
                self.restore_cluster(sh, fleet, cluster)
            }
            RecoveryOutput::SetTimer { at, timer } => {
                sh.sim.schedule_at(at.max(now), Ev::RecoveryTimer(timer))
            }
            RecoveryOutput::Done { .. } => {}
            RecoveryOutput::Recheck { cluster, at } => {
                sh.sim.schedule_at(at, Ev::RepairCall(cluster))
            }
            RecoveryOutput::GaveUp {
                cluster, attempts, ..
            } => {
                sh.books.key_event(
                    now,
                    format!(
                        "recovery script gave up on cluster {cluster} after {attempts} attempts"
                    ),
                );
                // A human takes over.
                sh.books.clusters[cluster as usize].restoring = Some(RestoreMethod::Manual);
                self.operators
                    .enqueue(now, cluster, &mut self.rng.operators, &mut self.ops_out);
                self.push_ops();
            }
        }
    }

    /// The recovery script's process ended, handed `clusters`: those it
    /// left lost go to the engineers, as when the model's script gives up.
    pub(super) fn on_script_exited(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        clusters: &[ClusterId],
        exit: &str,
    ) {
        let now = sh.now();
        let left: Vec<ClusterId> = clusters
            .iter()
            .copied()
            .filter(|&c| {
                let b = &sh.books.clusters[c as usize];
                b.lost_since.is_some() && b.restoring == Some(RestoreMethod::Script)
            })
            .collect();
        sh.books.key_event(
            now,
            format!(
                "recovery script ended ({exit}): {} of {} clusters still lost, handed to engineers",
                left.len(),
                clusters.len()
            ),
        );
        let base = self.routing.len();
        for c in left {
            sh.books.clusters[c as usize].restoring = Some(RestoreMethod::Manual);
            self.operators
                .enqueue(now, c, &mut self.rng.operators, &mut self.ops_out);
            self.push_ops();
        }
        self.drain(sh, fleet, base);
    }

    pub(super) fn on_recovery_timer(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        t: RecoveryTimer,
    ) {
        let mut out = Vec::new();
        self.recovery.handle_timer(sh.now(), t, &mut out);
        self.apply_recovery(sh, fleet, out);
    }
}

impl FleetNews for Response {
    /// A cluster starts losing a desired pool: monitoring and the
    /// responders hear of it.
    fn on_loss_started(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId) {
        let now = sh.now();
        let mut m = Vec::new();
        self.monitoring
            .handle_loss_started(now, c, &mut self.rng.customers, &mut m);
        self.apply_monitoring(sh, fleet, m);
        let mut r = Vec::new();
        self.responder.handle_loss_started(now, c, &mut r);
        self.apply_responder(sh, fleet, r);
    }

    /// A cluster has every desired pool again.
    fn on_cluster_restored(
        &mut self,
        sh: &mut Shared,
        fleet: &mut Fleet,
        c: ClusterId,
        method: RestoreMethod,
    ) {
        let now = sh.now();
        if method == RestoreMethod::Script && fleet.script_is_a_process() {
            self.script_process_restores += 1;
        } else if method == RestoreMethod::Script {
            let mut out = Vec::new();
            self.recovery
                .handle_restore_done(now, c, &mut self.rng.recovery, &mut out);
            self.apply_recovery(sh, fleet, out);
        }
        // Is the cluster's route fine? A probe through the edge says.
        let probe = sh.plant.probe(c, &mut self.rng.probes);
        let mut r = Vec::new();
        self.responder.handle_cluster_restored(now, &probe, &mut r);
        self.apply_responder(sh, fleet, r);
    }

    /// The agent died. If the cluster was already being restored (it broke
    /// again, e.g. a restored buggy agent met the 404 once more), the
    /// restoration starts over.
    fn on_agent_died(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId) {
        self.restore_attempt_failed(sh, fleet, c);
    }

    fn on_restore_create_failed(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId) {
        self.restore_attempt_failed(sh, fleet, c);
    }
}

impl Response {
    /// Cluster `c`'s restore failed (its agent died again, or a create it
    /// made failed in the cloud): the script retries within its budget; an
    /// engineer's cluster goes back in the queue.
    fn restore_attempt_failed(&mut self, sh: &mut Shared, fleet: &mut Fleet, c: ClusterId) {
        let book = &mut sh.books.clusters[c as usize];
        if book.lost_since.is_none() {
            return;
        }
        match book.restoring {
            // The script's attempt failed: it retries within its budget.
            Some(RestoreMethod::Script) => {
                let mut out = Vec::new();
                self.recovery
                    .handle_restore_failed(sh.now(), c, &mut self.rng.recovery, &mut out);
                self.apply_recovery(sh, fleet, out);
            }
            // The engineer's job is done; the cluster goes back in the queue.
            Some(_) => {
                book.restoring = None;
                let mut r = Vec::new();
                self.responder
                    .handle_cluster_broke_again(sh.now(), c, &mut r);
                self.apply_responder(sh, fleet, r);
            }
            None => {}
        }
    }
}
