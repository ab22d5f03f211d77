//! A chaos sweep: every seed's case run and judged on the shared pool,
//! the failures worth shrinking chosen, shrunk, written and promoted, and
//! the sweep's totals (counts per class, coverage, time to converge).
//!
//! What it owns: the exploration's decisions. What it leaves to others:
//! one case's run and verdict ([`super::Chaos`]), the shrinking loop
//! ([`super::shrink`]), the files ([`super::write`]), and how the sweep is
//! said and which exit code it gives (`cli/chaos.rs`).

use super::shrink::{shrink, Shrunk};
use super::{write, Case, Chaos, FailureClass, Verdict};
use crate::coverage::Reached;
use crate::model::bugs::Bug;
use crate::pool::Pool;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How the seeds of a sweep run.
#[derive(Clone, Copy, Debug, Default)]
pub struct SweepOptions {
    /// Parallel runs.
    pub jobs: usize,
    pub bug: Option<Bug>,
    /// Run each seed twice and compare the trace hashes.
    pub check_determinism: bool,
    /// Start no seed after the first failure.
    pub stop_on_failure: bool,
}

/// One seed's outcome.
pub struct SeedOutcome {
    pub seed: u64,
    pub verdict: Verdict,
    /// Both runs had the same trace hash (true when not checked).
    pub deterministic: bool,
    /// Every parameter the seed chose.
    pub chosen: Vec<String>,
}

impl SeedOutcome {
    pub fn failed(&self) -> bool {
        self.verdict.class.is_some()
    }
}

/// Runs and judges each seed's case, in seed order. `Err` when a
/// generated scenario does not load or its generation panicked (a bug in
/// the profile or the generator, not a verdict on the logic under test).
pub fn sweep(
    chaos: &Chaos,
    seeds: &[u64],
    opts: SweepOptions,
    after_each: &(dyn Fn() + Sync),
) -> Result<Vec<SeedOutcome>, String> {
    let ran = Pool::new(opts.jobs)
        .after_each(after_each)
        .run(seeds, |&seed, stop| {
            let outcome = run_seed(chaos, seed, opts);
            if opts.stop_on_failure && outcome.as_ref().is_ok_and(SeedOutcome::failed) {
                stop.request();
            }
            outcome
        });
    let mut outcomes = Vec::with_capacity(ran.len());
    for (seed, r) in ran {
        match r {
            Ok(Ok(o)) => outcomes.push(o),
            Ok(Err(e)) => return Err(format!("seed {seed}: {e}")),
            Err(p) => return Err(format!("seed {seed}: generating its case {p}")),
        }
    }
    Ok(outcomes)
}

/// One seed: its case, its run (twice with `check_determinism`) and
/// verdict. A run's own panic is a verdict, caught inside the run.
fn run_seed(
    chaos: &Chaos,
    seed: u64,
    opts: SweepOptions,
) -> Result<SeedOutcome, super::ScenarioError> {
    let case = chaos.case(seed, opts.bug);
    let doc = chaos.document(&case);
    let (verdict, _) = chaos.run_document(&doc)?;
    let deterministic = !opts.check_determinism
        || chaos
            .run_document(&doc)
            .map(|(again, _)| again.trace_hash == verdict.trace_hash)
            .unwrap_or(false);
    Ok(SeedOutcome {
        seed,
        verdict,
        deterministic,
        chosen: case.chosen,
    })
}

/// The failures to shrink, at most `shrink_max`: the first seed of each
/// signature, then the other failures in seed order.
pub fn to_shrink(outcomes: &[SeedOutcome], shrink_max: usize) -> Vec<&SeedOutcome> {
    let failures: Vec<&SeedOutcome> = outcomes.iter().filter(|o| o.failed()).collect();
    let mut seen = BTreeSet::new();
    let mut chosen: Vec<&SeedOutcome> = failures
        .iter()
        .copied()
        .filter(|f| seen.insert(f.verdict.signature.clone()))
        .collect();
    for f in &failures {
        if !chosen.iter().any(|x| x.seed == f.seed) {
            chosen.push(f);
        }
    }
    chosen.truncate(shrink_max);
    chosen
}

/// Where a sweep's shrunk failures go, and how to replay them.
pub struct ShrinkPlan<'a> {
    /// Each seed's report goes to `seed-<n>/` in here.
    pub out_dir: PathBuf,
    /// The profile as the command line named it.
    pub profile_arg: &'a str,
    pub bug: Option<Bug>,
    pub events_max: Option<u64>,
    /// Write regression scenarios into this folder.
    pub promote: Option<&'a Path>,
}

/// One failure shrunk: the case, the lines that replay it, and what
/// became of its files.
pub struct ShrinkReport {
    pub shrunk: Shrunk,
    /// `reproduce.txt`'s lines.
    pub reproduce: String,
    /// The seed's report could not be written (the verdict stands).
    pub write_error: Option<String>,
    /// What `--promote` did, when asked.
    pub promoted: Option<Promoted>,
}

/// Shrinks one failing seed, writes its report (`original.json`,
/// `minimal.json`, `reproduce.txt`) and promotes it when asked.
pub fn shrink_one(chaos: &Chaos, failure: &SeedOutcome, plan: &ShrinkPlan) -> ShrinkReport {
    let case = chaos.case(failure.seed, plan.bug);
    let dir = plan.out_dir.join(format!("seed-{}", failure.seed));
    let events_flag = events_flag(plan.events_max);
    let reproduce = format!(
        "reproduce the seed: cargo run --release -- chaos {} --seed {}{}{events_flag}\nreproduce the file: cargo run --release -- run {}{events_flag}\n",
        plan.profile_arg,
        failure.seed,
        bug_flag(plan.bug),
        dir.join("minimal.json").display()
    );
    let original = chaos.document(&case);
    shrink_case(
        chaos,
        (&case, &original, &failure.verdict),
        &dir,
        reproduce,
        plan,
    )
}

/// Shrinks a failing case (with its document and verdict), writes its
/// report into `dir` and promotes it when asked: a seed's case, or a
/// guided sweep's.
pub fn shrink_case(
    chaos: &Chaos,
    (case, original, verdict): (&Case, &Value, &Verdict),
    dir: &Path,
    reproduce: String,
    plan: &ShrinkPlan,
) -> ShrinkReport {
    let shrunk = shrink(chaos, case, verdict);
    let write_error = write::seed_report(dir, original, &shrunk.document, &reproduce).err();
    let promoted = plan.promote.map(|into| {
        promote(
            chaos,
            &shrunk.document,
            into,
            &chaos.profile.profile.name,
            case.seed,
        )
    });
    ShrinkReport {
        shrunk,
        reproduce,
        write_error,
        promoted,
    }
}

/// ` --events-max N`, or nothing.
pub fn events_flag(events_max: Option<u64>) -> String {
    events_max
        .map(|n| format!(" --events-max {n}"))
        .unwrap_or_default()
}

/// ` --bug NAME`, or nothing.
pub fn bug_flag(bug: Option<Bug>) -> String {
    bug.map(|b| format!(" --bug {}", b.name()))
        .unwrap_or_default()
}

/// What `--promote` did with a shrunk case.
pub enum Promoted {
    /// Written to this file.
    Written(PathBuf),
    /// The fixed agent fails the schedule too, with this signature.
    FixedFailsToo(String),
    /// Not written: the error, as said on stderr.
    Failed(String),
}

/// A regression scenario: the shrunk schedule against the fixed agent
/// (every guard, no seeded bug), kept only if it passes.
fn promote(chaos: &Chaos, minimal: &Value, dir: &Path, profile: &str, seed: u64) -> Promoted {
    let doc = write::regression_document(minimal, profile, seed);
    match chaos.run_document(&doc) {
        Ok((v, _)) if v.class.is_none() => {
            let name = crate::files::derived_name(profile, &format!("-seed-{seed}"));
            let p = dir.join(format!("{name}.json"));
            match write::regression(dir, &p, &doc) {
                Ok(()) => Promoted::Written(p),
                Err(e) => Promoted::Failed(format!("not promoted: {e}")),
            }
        }
        Ok((v, _)) => Promoted::FixedFailsToo(v.signature),
        Err(e) => Promoted::Failed(e.to_string()),
    }
}

/// The sweep's failures per class, and per signature.
#[derive(Debug, Default)]
pub struct Tally {
    pub panic: usize,
    pub safety: usize,
    pub liveness: usize,
    pub incomplete: usize,
    pub nondeterministic: usize,
    pub failed: usize,
    pub by_signature: BTreeMap<String, u32>,
}

impl Tally {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a SeedOutcome>) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            t.nondeterministic += usize::from(!o.deterministic);
            let Some(class) = o.verdict.class else {
                continue;
            };
            t.failed += 1;
            *t.by_signature
                .entry(o.verdict.signature.clone())
                .or_insert(0) += 1;
            *match class {
                FailureClass::Panic => &mut t.panic,
                FailureClass::Safety => &mut t.safety,
                FailureClass::Liveness => &mut t.liveness,
                FailureClass::Incomplete => &mut t.incomplete,
            } += 1;
        }
        t
    }
}

/// Per state: the runs that reached it, and the first that did.
pub fn first_reached(outcomes: &[&SeedOutcome]) -> Vec<(Reached, usize, Option<usize>)> {
    Reached::ALL
        .iter()
        .map(|&s| {
            let hit = |o: &SeedOutcome| o.verdict.coverage.get(s.name()).is_some_and(|&c| c > 0);
            let n = outcomes.iter().filter(|o| hit(o)).count();
            let first = outcomes.iter().position(|o| hit(o)).map(|i| i + 1);
            (s, n, first)
        })
        .collect()
}

/// The sweep's time-to-converge after the last fault heals, and the
/// statistical liveness gate on its p99.
pub struct SettleSpread {
    pub seeds: usize,
    /// Seeds that never converged (or panicked): infinite times.
    pub never: usize,
    /// Nearest-rank percentiles, in seconds (infinite when a never-converged
    /// seed reaches the rank).
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
    pub bound_h: f64,
}

impl SettleSpread {
    pub fn of(times: impl Iterator<Item = Option<f64>>, bound_h: f64) -> SettleSpread {
        let mut v: Vec<f64> = times.map(|t| t.unwrap_or(f64::INFINITY)).collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
            v.get(rank - 1).copied().unwrap_or(0.0)
        };
        SettleSpread {
            seeds: v.len(),
            never: v.iter().filter(|x| x.is_infinite()).count(),
            p50_s: at(0.50),
            p99_s: at(0.99),
            max_s: v.last().copied().unwrap_or(0.0),
            bound_h,
        }
    }

    /// The gate: p99 within the profile's bound.
    pub fn holds(&self) -> bool {
        self.p99_s <= self.bound_h * 3_600.0
    }

    pub fn line(&self) -> String {
        let h = |s: f64| {
            if s.is_finite() {
                format!("{:.2} h", s / 3_600.0)
            } else {
                "never".to_string()
            }
        };
        format!(
            "time to converge after the last fault heals, {} seeds: p50 {} · p99 {} · max {} · never converged {} · gate p99 <= {} h: {}",
            self.seeds,
            h(self.p50_s),
            h(self.p99_s),
            h(self.max_s),
            self.never,
            self.bound_h,
            if self.holds() { "holds" } else { "EXCEEDED (liveness, exit 4)" }
        )
    }

    pub fn json(&self) -> Value {
        let s = |x: f64| x.is_finite().then_some(x);
        json!({
            "seeds": self.seeds,
            "never": self.never,
            "p50_s": s(self.p50_s),
            "p99_s": s(self.p99_s),
            "max_s": s(self.max_s),
            "p99_h_bound": self.bound_h,
            "gate_holds": self.holds(),
        })
    }
}
