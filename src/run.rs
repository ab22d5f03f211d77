//! Running a scenario: build the world from a scenario and a seed, run it to
//! the scenario's end, summarise, check expectations; and [`catch_panic`],
//! which turns a panic inside one run into a verdict instead of a crash of
//! the whole command (a sweep goes on with its other seeds).

use crate::outcome::{Outcome, PairRun};
use crate::report::series::Series;
use crate::report::summary::{pair, summarize, Summary};
use crate::scenario::Scenario;
use crate::world::{Ev, World};
use cascade_sim::{RunLimits, RunOutcome, Seed, Sim, SimDuration, SimTime, StopReason};
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

/// Options of one run beyond the scenario. `RunOptions::default()` runs
/// on the scenario's own seed with no events sink and the default budget;
/// set only what differs:
/// `RunOptions { seed: Some(7), ..RunOptions::default() }`.
#[derive(Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Streams the trace as JSON Lines here.
    pub events_sink: Option<Box<dyn Write>>,
    /// Only these record kinds go to the sink (`None`: all).
    pub events_kinds: Option<BTreeSet<String>>,
    /// Event budget; a run that exceeds it stops with `EventLimit`.
    pub events_max: Option<u64>,
    /// The reference mode: step every agent poll instead of letting quiet
    /// agents sleep (same trace hash and summary, many more events).
    pub step_every_poll: bool,
    /// Called after each simulated hour with (simulated now, end), e.g. to
    /// draw a progress bar. Outside the simulated world: it cannot change
    /// the run.
    pub progress: Option<Box<dyn FnMut(SimTime, SimTime)>>,
}

/// A finished run, as [`run_scenario`] returns it.
pub struct RunResult {
    /// The simulated world as the run left it.
    pub world: World,
    /// What the run showed, typed: what its verdicts judged.
    pub outcome: Outcome,
    /// The outcome written out, with the expectations' results.
    pub summary: Summary,
    /// The per-minute series the report pages draw (`series.json`).
    pub series: Series,
    /// The paired variants that reached their end, with their outcomes.
    pub pairs: Vec<PairRun>,
    /// The seed the run used (`RunOptions::seed`, or else the scenario's).
    pub seed: u64,
    /// Why the events sink failed (disk full, a closed pipe), if it did:
    /// the run is whole, its `events.jsonl` is not.
    pub events_error: Option<String>,
    /// Paired variants that stopped before their end, each said in a
    /// sentence: their pairs have partial figures, so no verdict.
    pub variants_stopped: Vec<String>,
}

impl RunResult {
    /// Why this run has no verdict: it, or one of its paired variants,
    /// stopped before the scenario's end (the event budget, the
    /// pending-queue bound, or the model stopped it). `None` when every
    /// run reached its end.
    pub fn stopped_short(&self, epoch: &cascade_sim::Epoch) -> Option<String> {
        let run = &self.outcome.run;
        if !reached_the_end(run) {
            return Some(format!(
                "the run stopped before its end: {} at {} ({} events)",
                run.reason,
                epoch.format(run.now),
                run.events_handled
            ));
        }
        self.variants_stopped.first().cloned()
    }
}

/// Default event budget: generous for nine days of 1,000,000 agents (~160 M
/// events with the fast-forward; the reference mode of the 2,000-cluster
/// flagship handles ~52 M), finite so a runaway model ends with a reason
/// instead of hanging.
pub const EVENTS_MAX_DEFAULT: u64 = 2_000_000_000;

/// Default work budget, in agent polls and auth ticks: ten times the
/// 1,000,000-cluster scale scenario's worst case (1.3·10^10), so every
/// shipped scenario runs and a typo such as a 0.1 s poll for a million
/// clusters over a year is refused before it starts.
pub const WORK_MAX_DEFAULT: u64 = 100_000_000_000;

/// The work `scenario` implies at most: every agent polling on its grid
/// for the whole span (any fault may wake them all; the fast-forward
/// usually skips most of it) plus the auth path's ticks. One run only: a
/// run of a scenario with paired expectations also runs its variants
/// ([`planned_work`]).
pub fn work_estimate(scenario: &Scenario) -> f64 {
    work_of(&scenario.model, scenario.end.as_secs_f64())
}

/// The work of `model` over `span_s` seconds: every agent polling on its
/// grid plus the auth path's ticks (what [`work_estimate`] counts, for a
/// span that is not a loaded scenario's, such as a chaos profile's
/// longest).
pub fn work_of(model: &crate::config::ModelConfig, span_s: f64) -> f64 {
    let polls = f64::from(model.fleet.clusters) * span_s / model.agent.poll_interval_s;
    let ticks = span_s * 1_000.0 / model.auth.tick_ms as f64;
    polls + ticks
}

/// A paired expectation's variant, built.
pub struct PairedVariant {
    /// What the expectation calls it (`"without the hotfix"`).
    pub about: String,
    /// What differs from its parent, one line each.
    pub changes: Vec<String>,
    pub scenario: Scenario,
}

/// The distinct paired variants of `scenario`, in the order of its
/// expectations, each built once: the runs a run of `scenario` adds.
/// Variants were checked to build when the scenario loaded.
pub fn paired_variants(scenario: &Scenario) -> Vec<PairedVariant> {
    let mut out: Vec<PairedVariant> = Vec::new();
    for spec in scenario.expectations.iter().filter_map(|e| e.variant()) {
        let changes = spec.changes();
        if out.iter().any(|v| v.changes == changes) {
            continue;
        }
        if let Ok(v) = crate::scenario::variant(scenario, &spec) {
            out.push(PairedVariant {
                about: spec.about.to_string(),
                changes,
                scenario: v,
            });
        }
    }
    out
}

/// The work of everything one run of `scenario` executes: the scenario and
/// each of its distinct paired `variants` ([`paired_variants`]), as
/// [`work_estimate`] counts them.
pub fn planned_work(scenario: &Scenario, variants: &[PairedVariant]) -> f64 {
    work_estimate(scenario)
        + variants
            .iter()
            .map(|v| work_estimate(&v.scenario))
            .sum::<f64>()
}

/// Refuses a command whose work exceeds `work_max`: `runs` runs of
/// `scenario` (seeds of a sweep), each with its paired variants, counted
/// before the first starts. The message says where the figure comes from
/// and how to raise it.
pub fn check_work_budget(scenario: &Scenario, runs: u64, work_max: u64) -> Result<(), String> {
    let variants = paired_variants(scenario);
    let one = planned_work(scenario, &variants);
    let work = one * runs as f64;
    if work <= work_max as f64 {
        return Ok(());
    }
    let m = &scenario.model;
    let mut what = format!(
        "{} clusters × {} s ÷ poll_interval_s {} s, plus one tick per {} ms",
        m.fleet.clusters,
        scenario.end.as_secs(),
        m.agent.poll_interval_s,
        m.auth.tick_ms,
    );
    if !variants.is_empty() {
        what += &format!(
            "; with its {} paired variant(s), {:.2e} a run",
            variants.len(),
            one
        );
    }
    if runs > 1 {
        what += &format!("; × {runs} runs");
    }
    Err(format!(
        "{}: the command implies about {work:.2e} agent polls and auth ticks ({what}), above the budget of {work_max:.2e}; raise it with --work-max if that is meant",
        scenario.source.display(),
    ))
}

/// Whether a run ended where its scenario ends. A run stopped by the event
/// budget, the pending-queue bound or the model has partial figures.
pub fn reached_the_end(outcome: &RunOutcome) -> bool {
    matches!(
        outcome.reason,
        cascade_sim::StopReason::TimeLimit | cascade_sim::StopReason::QueueEmpty
    )
}

/// Runs `scenario` and checks its expectations.
///
/// The run uses `opts.seed`, or else the scenario's own seed, and goes to
/// the scenario's end unless a bound (the event budget, the pending-queue
/// bound) or the model stops it first ([`RunResult::stopped_short`] says
/// why). Each distinct
/// paired variant of the scenario then runs once on the same seed, and
/// every expectation is checked against the outcome (a paired one against
/// its variant's too); the results are in `summary.expectations`. At a
/// given commit, the same scenario and seed give the same run and trace
/// hash.
///
/// A panic of the logic under test propagates: wrap the call in
/// [`catch_panic`] to get it as a value, as `cascade run` does. The crate
/// documentation has a complete example ([`crate`], "Driving cascade from
/// Rust").
pub fn run_scenario(scenario: &Scenario, opts: RunOptions) -> RunResult {
    let seed = opts.seed.unwrap_or(scenario.seed);
    let opts_of_pairs = PairOptions {
        events_max: opts.events_max,
        step_every_poll: opts.step_every_poll,
    };
    let mut sim: Sim<Ev> = Sim::new(RunLimits {
        events_max: opts.events_max.unwrap_or(EVENTS_MAX_DEFAULT),
        time_end: scenario.end,
        pending_max: 10_000_000,
        ..RunLimits::default()
    });
    if let Some(sink) = opts.events_sink {
        sim.trace
            .attach_json_sink(sink, scenario.epoch, opts.events_kinds);
    }
    let mut world = World::new(
        scenario.model.clone(),
        scenario.timeline.clone(),
        scenario.epoch,
        Seed(seed),
    );
    world.set_run_end(scenario.end);
    world.set_step_every_poll(opts.step_every_poll);
    world.start(&mut sim);
    // Run in simulated-hour chunks so progress can be shown; the events and
    // their order are the same as in one call.
    let mut progress = opts.progress;
    let mut chunk_end = SimTime::ZERO;
    let outcome = loop {
        chunk_end = (chunk_end + SimDuration::from_hours(1)).min(scenario.end);
        sim.set_time_end(chunk_end);
        let out = sim.run(&mut world);
        if let Some(p) = progress.as_mut() {
            p(chunk_end, scenario.end);
        }
        let more = chunk_end < scenario.end && out.reason == StopReason::TimeLimit;
        if !more {
            break out;
        }
    };
    sim.advance_to_end();
    world.finish(&mut sim);
    let events_error = sim.trace.finish_sink().err().map(|e| e.to_string());
    let outcome = world.outcome(RunOutcome {
        trace_hash: sim.trace.hash(),
        ..outcome
    });
    let mut summary = summarize(&outcome, scenario, seed);
    let series = Series::from_world(&world, &scenario.name, seed, scenario.end);
    let (pairs, variants_stopped) = run_pairs(scenario, seed, &opts_of_pairs);
    summary.pairs = pairs.iter().map(|p| pair(p, seed)).collect();
    let expectations = scenario
        .expectations
        .iter()
        .map(|e| {
            let v = e.variant().and_then(|spec| {
                let changes = spec.changes();
                pairs.iter().find(|p| p.changes == changes)
            });
            let mut r = e.check(&outcome, v.map(|p| &p.outcome));
            let kind = e.kind_name();
            r.calibrated_by = scenario
                .tuned
                .iter()
                .filter(|t| t.affects.contains(&kind))
                .map(|t| t.field.clone())
                .collect();
            r
        })
        .collect();
    summary.expectations = expectations;
    summary.overrides = scenario.overrides.clone();
    RunResult {
        world,
        outcome,
        summary,
        series,
        pairs,
        seed,
        events_error,
        variants_stopped,
    }
}

/// Runs each distinct paired variant of `scenario` once, with `seed`: the
/// variants that reached their end, and a sentence for each that did not
/// (partial figures are not compared: its pair stays unmeasured).
fn run_pairs(scenario: &Scenario, seed: u64, opts: &PairOptions) -> (Vec<PairRun>, Vec<String>) {
    let mut pairs = Vec::new();
    let mut stopped = Vec::new();
    for pv in paired_variants(scenario) {
        let r = run_scenario(
            &pv.scenario,
            RunOptions {
                seed: Some(seed),
                events_max: opts.events_max,
                step_every_poll: opts.step_every_poll,
                ..RunOptions::default()
            },
        );
        if let Some(why) = r.stopped_short(&pv.scenario.epoch) {
            let key = pv.changes.join("; ");
            stopped.push(format!("the paired variant {:?} ({key}): {why}", pv.about));
            continue;
        }
        pairs.push(PairRun {
            variant: pv.about,
            changes: pv.changes,
            outcome: r.outcome,
        });
    }
    (pairs, stopped)
}

/// The options of a run its paired variants inherit.
struct PairOptions {
    events_max: Option<u64>,
    step_every_poll: bool,
}

/// The copy-paste line that reproduces a run.
pub fn reproduction_line(scenario_path: &str, seed: u64) -> String {
    format!(
        "cargo run --release -- run {scenario_path} --seed {seed}   # at commit {}",
        env!("CASCADE_COMMIT")
    )
}

/// A panic inside a run, caught by [`catch_panic`]: a finding (a broken
/// assertion of the logic under test, or a bug of the harness), reported
/// with its seed like any failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Panicked {
    /// The panic's message.
    pub message: String,
    /// Where it panicked, `file:line` (empty if the payload said nothing).
    pub location: String,
}

impl Panicked {
    /// The failure's identity while shrinking: the place that panicked.
    pub fn signature(&self) -> String {
        format!("panic:{}", self.location)
    }
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "panicked at {}: {}", self.location, self.message)
    }
}

thread_local! {
    /// Whether this thread is inside [`catch_panic`].
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The last panic caught on this thread, as the hook saw it.
    static CAUGHT: RefCell<Option<Panicked>> = const { RefCell::new(None) };
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(a panic without a message)".into())
}

/// Runs `f`; a panic inside it comes back as `Err` with its message and
/// place, and prints nothing (the caller reports it, with the seed).
/// Panics outside any `catch_panic` print as usual: the process's hook is
/// wrapped once, and passes them on.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let caught = Panicked {
                    message: payload_text(info.payload()),
                    location: info
                        .location()
                        .map(|l| format!("{}:{}", l.file(), l.line()))
                        .unwrap_or_default(),
                };
                CAUGHT.with(|c| *c.borrow_mut() = Some(caught));
            } else {
                previous(info);
            }
        }));
    });
    let was = CATCHING.with(|c| c.replace(true));
    // The run's state is dropped whole after a panic: nothing half-updated
    // is used again, so asserting unwind safety is sound.
    let ran = std::panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    ran.map_err(|payload| {
        CAUGHT
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| Panicked {
                message: payload_text(&*payload),
                location: String::new(),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_names_its_message_and_place_and_the_next_call_runs() {
        let line = line!() + 1;
        let r: Result<u32, _> = catch_panic(|| panic!("broken at {}", 7));
        let p = r.unwrap_err();
        assert_eq!(p.message, "broken at 7");
        assert_eq!(p.location, format!("{}:{line}", file!()));
        assert_eq!(p.signature(), format!("panic:{}:{line}", file!()));
        assert_eq!(catch_panic(|| 5), Ok(5));
        // Nested: the inner catch reports, the outer sees a normal return.
        assert_eq!(
            catch_panic(|| catch_panic(|| -> u32 { panic!("inner") })
                .unwrap_err()
                .message),
            Ok("inner".to_string())
        );
    }
}
