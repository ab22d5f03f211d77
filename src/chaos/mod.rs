//! Chaos exploration: many seeds, each deriving a whole fault schedule,
//! checked for safety (invariant findings on every event) and liveness
//! (after the last fault heals: convergence, no agent stuck in hold, auth
//! back above 99 % within 10 minutes, no autoscaler flapping); a failure is
//! shrunk to a minimal scenario file that `cascade run` reproduces.
//!
//! Map of the modules:
//! - [`profile`]: the profile file (fault kinds, ranges, swarm ratio, bounds);
//! - [`generate`]: seed to fault schedule (swarm testing, anchored jitter);
//! - [`shrink`]: delta debugging of a failing schedule;
//! - [`explore`]: a sweep over seeds on the shared pool, the failures to
//!   shrink, promotion, the sweep's totals;
//! - [`guided`]: coverage-guided exploration (`--guided`): a corpus of
//!   cases, their [`features`], mutants of them ([`mutate`]), some aimed
//!   at the states no run has reached by each state's recipe ([`aim`]);
//! - [`write`](mod@write): the files a sweep writes (each shrunk seed's report, the
//!   promoted regression scenarios), replacing only cascade's own;
//! - this file: one case as a scenario document, its run and verdict.

pub mod aim;
pub mod explore;
pub mod features;
pub mod generate;
pub mod guided;
pub mod mutate;
pub mod profile;
pub mod shrink;
pub mod write;

use crate::exit::Exit;
use crate::expect::{Expectation, ExpectationResult};
use crate::model::bugs::Bug;
use crate::outcome::Outcome;
use crate::report::Summary;
use crate::run::{catch_panic, run_scenario, Panicked, RunOptions};
use crate::scenario::{self, parse_time, ScenarioError};
use crate::timeline::{Action, ItemDoc};
use cascade_sim::{Epoch, SimTime};
use generate::DrawnFault;
use profile::LoadedProfile;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Failure classes, with distinct exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureClass {
    /// The run panicked: an assertion of the logic under test or a bug of
    /// the harness. The seed's other verdicts are unknown.
    Panic,
    Safety,
    Liveness,
    /// The run stopped before its end (`--events-max`, the pending-queue
    /// bound): its figures are partial, so no other verdict is given.
    Incomplete,
}

impl FailureClass {
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::Panic => "panic",
            FailureClass::Safety => "safety",
            FailureClass::Liveness => "liveness",
            FailureClass::Incomplete => "incomplete",
        }
    }
    /// `cascade chaos` exit code when a failure of this class was found.
    pub fn exit_code(self) -> Exit {
        match self {
            FailureClass::Panic => Exit::Panic,
            FailureClass::Safety => Exit::Safety,
            FailureClass::Liveness => Exit::Liveness,
            FailureClass::Incomplete => Exit::Incomplete,
        }
    }
}

/// One chaos case: what the seed chose.
#[derive(Clone, Debug)]
pub struct Case {
    pub seed: u64,
    pub faults: Vec<DrawnFault>,
    /// The base timeline items (jittered in anchored mode).
    pub base_items: Vec<ItemDoc>,
    pub clusters: u32,
    pub bug: Option<Bug>,
    /// Human lines: every parameter the seed chose.
    pub chosen: Vec<String>,
}

/// What a run of a case showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub class: Option<FailureClass>,
    /// Same signature = "the same failure" while shrinking (`safety:I1`).
    pub signature: String,
    pub details: Vec<String>,
    pub trace_hash: String,
    pub events: u64,
    /// Seconds from the last fault's end until every cluster not fully
    /// converged then had been seen converged (one-minute resolution; 0 if
    /// all were); `None` if some never were by the run's end, or the run
    /// panicked.
    pub time_to_converge_s: Option<f64>,
    /// The interesting states the run reached, with counts (empty if it
    /// panicked).
    pub coverage: std::collections::BTreeMap<String, u64>,
}

/// The chaos context: a profile and its base scenario document.
pub struct Chaos {
    pub profile: LoadedProfile,
    base: Value,
    /// The base's timeline, typed.
    base_items: Vec<ItemDoc>,
    epoch: Epoch,
    /// The base's model, loaded: what a seed's work is estimated from.
    base_model: crate::config::ModelConfig,
    /// Event budget of each run (`cascade chaos --events-max`).
    events_max: Option<u64>,
}

/// Auth faults: liveness demands auth back at 99 % 10 minutes after the last.
fn is_auth_action(a: &Action) -> bool {
    matches!(
        a,
        Action::VendorPath { .. }
            | Action::VendorSlowdown { .. }
            | Action::Vendor429Storm
            | Action::BotSurge { .. }
            | Action::BotWave { .. }
            | Action::ReplicaCrash { .. }
            | Action::AuthMitigation { .. }
    )
}

impl Chaos {
    pub fn load(path: &Path) -> Result<Chaos, ScenarioError> {
        Chaos::new(profile::load(path)?)
    }

    /// The chaos context of a loaded profile: its base read and checked.
    pub fn new(profile: LoadedProfile) -> Result<Chaos, ScenarioError> {
        let base = scenario::resolve_file(&profile.base_path)?;
        // Validate the base as a scenario, so errors point at the base file.
        let sc = scenario::from_document(&profile.base_path, base.clone())?;
        // It loaded, so its timeline reads as typed items.
        let base_items: Vec<ItemDoc> = base
            .get("timeline")
            .map(|t| serde_json::from_value(t.clone()))
            .transpose()
            .map_err(|e| ScenarioError {
                file: profile.base_path.clone(),
                path: "timeline".into(),
                message: e.to_string(),
            })?
            .unwrap_or_default();
        let chaos = Chaos {
            profile,
            base,
            base_items,
            epoch: sc.epoch,
            base_model: sc.model,
            events_max: None,
        };
        // A generated scenario longer than a scenario may span would stop
        // a sweep at its first such seed: refused here, before any seed.
        let latest_s = chaos.latest_end_s();
        let days_max = crate::expect::SPAN_DAYS_MAX;
        if latest_s > u64::from(days_max) * 86_400 {
            return Err(ScenarioError {
                file: chaos.profile.path.clone(),
                path: String::new(),
                message: format!(
                    "expected generated scenarios of at most {days_max} days, found they may \
                     last {:.1} days (the base's timeline, faults within fault_window_h at \
                     their longest durations, then quiet_h): shorten one of them",
                    latest_s as f64 / 86_400.0
                ),
            });
        }
        Ok(chaos)
    }

    /// The latest end, in seconds after the start, of any scenario this
    /// profile generates: `quiet_h` after the latest a fault or a base
    /// item (moved its farthest) can end, and no earlier than any item.
    fn latest_end_s(&self) -> u64 {
        let prof = &self.profile.profile;
        let jitter_s = if prof.anchored {
            (prof.jitter_h * 3_600.0) as u64
        } else {
            0
        };
        // Alarms and crashes are drawn around the case's rollout, which
        // anchored jitter moves by up to `jitter_h` either way.
        let latest_rollout_s = self.rollout_at_s().map(|r| r + jitter_s);
        let mut last_end = generate::latest_fault_end_s(&self.profile, latest_rollout_s);
        let mut last_at = 0;
        for it in &self.base_items {
            let at = parse_time(&self.epoch, &it.at).map_or(0, |t| t.as_secs()) + jitter_s;
            let dur = it
                .duration
                .as_deref()
                .and_then(|d| cascade_sim::parse_duration(d).ok())
                .map_or(0, |d| d.as_secs());
            last_at = last_at.max(at);
            if it.action.class().acts_on_the_fleet() {
                last_end = last_end.max(at + dur);
            }
        }
        (last_end + (prof.quiet_h * 3_600.0) as u64).max(last_at)
    }

    /// When the base's rollout starts, before any anchored jitter.
    fn rollout_at_s(&self) -> Option<u64> {
        self.rollout_at_s_in(&self.base_items)
    }

    /// When the rollout among `items` starts.
    fn rollout_at_s_in(&self, items: &[ItemDoc]) -> Option<u64> {
        items.iter().find_map(|it| match it.action {
            Action::Rollout { .. } | Action::FixAvailable => {
                parse_time(&self.epoch, &it.at).ok().map(|t| t.as_secs())
            }
            _ => None,
        })
    }

    /// What a mutant of this profile's schedules may be: the ranges the
    /// generator draws from ([`mutate::Bounds`]), with the rollout where
    /// the base puts it.
    pub fn bounds(&self) -> mutate::Bounds {
        mutate::Bounds::new(&self.profile, self.rollout_at_s())
    }

    /// The bounds of `case`'s own schedule: its rollout where its base
    /// items put it (anchored jitter moves it; otherwise as [`Self::bounds`]).
    pub fn bounds_of(&self, case: &Case) -> mutate::Bounds {
        mutate::Bounds::new(&self.profile, self.rollout_at_s_in(&case.base_items))
    }

    /// The case a seed chooses.
    pub fn case(&self, seed: u64, bug: Option<Bug>) -> Case {
        let mut base_items = self.base_items.clone();
        let mut chosen = Vec::new();
        if self.profile.profile.anchored {
            chosen.extend(generate::jitter_base(
                &mut base_items,
                &self.profile,
                seed,
                &self.epoch,
            ));
        } else {
            // Base actions that are not faults (a rollout, mitigations) stay.
        }
        // Alarms and the crashes aimed at the rollout are drawn around the
        // rollout this case has: anchored jitter moves it by hours, and an
        // alarm drawn around the unmoved time mostly missed it.
        let faults = generate::draw(&self.profile, seed, self.rollout_at_s_in(&base_items));
        chosen.extend(faults.iter().map(DrawnFault::describe));
        let clusters = self.base["model"]["fleet"]["clusters"]
            .as_u64()
            .unwrap_or(2_000) as u32;
        Case {
            seed,
            faults,
            base_items,
            clusters,
            bug,
            chosen,
        }
    }

    /// The case as an ordinary scenario document.
    pub fn document(&self, case: &Case) -> Value {
        let mut doc = self.base.clone();
        let obj = doc.as_object_mut().expect("scenario is an object");
        obj.remove("expect");
        obj.remove("tuned");
        // A valid profile name of 100 characters still names a valid
        // scenario: the name is cut and a digest keeps it distinct.
        let name = crate::files::derived_name(
            &format!("chaos-{}", self.profile.profile.name),
            &format!("-seed-{}", case.seed),
        );
        obj.insert("name".into(), json!(name));
        obj.insert(
            "description".into(),
            json!(format!(
                "Chaos case of profile {} (seed {}): {}",
                self.profile.profile.name,
                case.seed,
                if case.chosen.is_empty() {
                    "no faults".to_string()
                } else {
                    case.chosen.join("; ")
                }
            )),
        );
        obj.insert("seed".into(), json!(case.seed));
        let mut items = case.base_items.clone();
        for (n, f) in case.faults.iter().enumerate() {
            items.push(f.to_item(n + 1));
        }
        // Liveness bound: the run ends `quiet_h` after the last fault heals.
        let mut last_end = 3_600u64;
        let mut last_auth_end = 0u64;
        let mut last_at = 0u64;
        for it in &items {
            let start = parse_time(&self.epoch, &it.at).map_or(0, |t| t.as_secs());
            last_at = last_at.max(start);
            let dur = it
                .duration
                .as_deref()
                .and_then(|d| cascade_sim::parse_duration(d).ok())
                .map_or(0, |d| d.as_secs());
            // A freeze or a note leaves the fleet alone: the fleet may
            // settle while one lasts.
            if it.action.class().acts_on_the_fleet() {
                last_end = last_end.max(start + dur);
            }
            if is_auth_action(&it.action) {
                last_auth_end = last_auth_end.max(start + dur);
            }
        }
        // From the last fault's end the run measures how long the fleet
        // takes to settle: the sweep's time-to-converge.
        items.push(ItemDoc {
            id: "healed".into(),
            at: format!("+{last_end}s"),
            duration: None,
            action: Action::Healed,
            note: "every fault has healed".into(),
        });
        // The end also covers every item: a freeze or a note is no fault,
        // yet anchored jitter may move one past the last fault's quiet
        // period, and an item after the end does not load.
        let end_s = (last_end + (self.profile.profile.quiet_h * 3_600.0) as u64).max(last_at);
        obj.insert(
            "end".into(),
            json!(self.epoch.format(SimTime::from_secs(end_s))),
        );
        obj.insert(
            "timeline".into(),
            serde_json::to_value(&items).expect("timeline items serialize"),
        );
        let model = obj.entry("model").or_insert_with(|| json!({}));
        model["fleet"]["clusters"] = json!(case.clusters);
        if let Some(bug) = case.bug {
            bug.plant_in(model);
        }
        let auth_ok_from = self.epoch.format(SimTime::from_secs(last_auth_end + 600));
        // Safety: no finding, or none of a rule the profile does not
        // tolerate (one expectation per rule, so that a minimal.json judges
        // the same way under `cascade run`).
        let tolerated = &self.profile.profile.tolerated_rules;
        let mut expect: Vec<Value> = if tolerated.is_empty() {
            vec![json!({"kind": "findings", "max": 0})]
        } else {
            crate::checks::Rule::ALL
                .iter()
                .filter(|r| !tolerated.contains(r))
                .map(|r| json!({"kind": "findings", "rule": r.id(), "max": 0}))
                .collect()
        };
        expect.extend([
            json!({"kind": "not_converged_at_end", "max": 0}),
            json!({"kind": "agents_in_hold_max", "max": 0}),
            json!({"kind": "customer_changes", "late_max": 0}),
            json!({"kind": "auth_good_after", "at": auth_ok_from}),
            json!({"kind": "autoscaler_flaps_max", "max": self.profile.profile.flaps_per_hour_max}),
        ]);
        obj.insert("expect".into(), Value::Array(expect));
        doc
    }

    /// Bounds every run of this context (each seed, each shrinking step)
    /// to `events_max` events; a run that reaches it has an
    /// [`FailureClass::Incomplete`] verdict.
    pub fn set_events_max(&mut self, events_max: Option<u64>) {
        self.events_max = events_max;
    }

    /// The most work one seed's run may imply, in agent polls and auth
    /// ticks as [`crate::run::work_estimate`] counts them: the base's fleet
    /// polling over the longest scenario the profile generates.
    pub fn work_per_seed_max(&self) -> f64 {
        crate::run::work_of(&self.base_model, self.latest_end_s() as f64)
    }

    /// Runs a scenario document and judges it; a run that panicked has a
    /// [`FailureClass::Panic`] verdict and no summary, one that stopped
    /// before its end an [`FailureClass::Incomplete`] one.
    pub fn run_document(&self, doc: &Value) -> Result<(Verdict, Option<Summary>), ScenarioError> {
        let sc = scenario::from_document(&self.profile.base_path, doc.clone())?;
        let opts = RunOptions {
            events_max: self.events_max,
            ..RunOptions::default()
        };
        Ok(match catch_panic(|| run_scenario(&sc, opts)) {
            Ok(r) => match r.stopped_short(&sc.epoch) {
                Some(why) => (incomplete_verdict(&r, why), None),
                None => {
                    let checked: Vec<_> = sc
                        .expectations
                        .iter()
                        .zip(&r.summary.expectations)
                        .collect();
                    (
                        verdict(&r.outcome, &checked, &self.profile.profile.tolerated_rules),
                        Some(r.summary),
                    )
                }
            },
            Err(p) => (panic_verdict(&p), None),
        })
    }
}

/// The verdict of a run that stopped before its end: partial figures, so
/// nothing else is judged. Its signature names why it stopped, so that
/// shrinking keeps a case that stops for the same reason.
pub fn incomplete_verdict(r: &crate::run::RunResult, why: String) -> Verdict {
    let reason = match r.outcome.run.reason {
        cascade_sim::StopReason::EventLimit => "event_limit",
        cascade_sim::StopReason::QueueFull => "queue_full",
        cascade_sim::StopReason::Livelock { .. } => "livelock",
        cascade_sim::StopReason::Stopped(_) => "stopped",
        // The run reached its end; one of its paired variants did not.
        cascade_sim::StopReason::TimeLimit | cascade_sim::StopReason::QueueEmpty => "variant",
    };
    Verdict {
        class: Some(FailureClass::Incomplete),
        signature: format!("incomplete:{reason}"),
        details: vec![why],
        trace_hash: format!("{:016x}", r.outcome.run.trace_hash),
        events: r.outcome.run.events_handled,
        time_to_converge_s: None,
        coverage: Default::default(),
    }
}

/// The verdict of a run that panicked: same place, same failure.
pub fn panic_verdict(p: &Panicked) -> Verdict {
    Verdict {
        class: Some(FailureClass::Panic),
        signature: p.signature(),
        details: vec![p.to_string()],
        // No trace: the run did not finish. The place stands in for it, so
        // that `--check-determinism` compares where two runs panicked.
        trace_hash: format!("panicked at {}", p.location),
        events: 0,
        time_to_converge_s: None,
        coverage: Default::default(),
    }
}

/// Classifies a finished chaos run: its outcome, and each of its
/// expectations with its result.
pub fn verdict(
    o: &Outcome,
    checked: &[(&Expectation, &ExpectationResult)],
    tolerated: &[crate::checks::Rule],
) -> Verdict {
    let mut details = Vec::new();
    let mut class = None;
    let mut signature = String::from("pass");
    let counted = |r: &crate::checks::Rule| !tolerated.contains(r);
    if o.findings.by_rule.iter().any(|(r, &n)| n > 0 && counted(r)) {
        class = Some(FailureClass::Safety);
        // The first rule by name, as the summary lists them.
        let first = o
            .findings
            .by_rule
            .keys()
            .filter(|r| counted(r))
            .map(|r| r.id())
            .min()
            .unwrap_or_default();
        signature = format!("safety:{first}");
        for f in o.findings.first.iter().filter(|f| counted(&f.rule)).take(3) {
            details.push(format!(
                "{} {} cluster {:?}: {}{}",
                o.epoch.format(f.at),
                f.rule.id(),
                f.cluster,
                f.detail,
                f.guard
                    .map(|g| format!(" (guard {})", g.name()))
                    .unwrap_or_default()
            ));
        }
        let by_rule: BTreeMap<&str, u64> = o
            .findings
            .by_rule
            .iter()
            .map(|(r, n)| (r.id(), *n))
            .collect();
        details.push(format!("findings by rule: {by_rule:?}"));
    } else {
        let failed: Vec<&(&Expectation, &ExpectationResult)> =
            checked.iter().filter(|(_, r)| !r.passed).collect();
        if let Some((first, _)) = failed.first() {
            class = Some(FailureClass::Liveness);
            let what = match first {
                Expectation::NotConvergedAtEnd { .. } => "not_converged",
                Expectation::AgentsInHoldMax { .. } => "agent_in_hold",
                Expectation::CustomerChanges { .. } if o.customer_changes.late == 0 => {
                    "removal_not_collected"
                }
                Expectation::CustomerChanges { .. } => "customer_change_late",
                Expectation::AuthGoodAfter { .. } => "auth_not_recovered",
                Expectation::AutoscalerFlapsMax { .. } => "autoscaler_flapping",
                _ => "other",
            };
            signature = format!("liveness:{what}");
            for (_, e) in failed {
                details.push(format!("{} [{}]", e.name, e.detail));
            }
        }
    }
    Verdict {
        class,
        signature,
        details,
        trace_hash: format!("{:016x}", o.run.trace_hash),
        events: o.run.events_handled,
        time_to_converge_s: o
            .settle
            .as_ref()
            .filter(|c| c.not_converged_at_end == 0)
            .map(|c| c.max_s),
        coverage: o.coverage.clone(),
    }
}
