//! `cascade chaos`: the command line of a chaos sweep. It reads the
//! arguments, asks [`crate::chaos::explore`] to run, shrink and write, and
//! says the outcome (per failing seed, each shrink, the closing tables)
//! with the exit code of the gravest finding.

use super::exit::{say_error, usage, Exit};
use super::progress_bar;
use super::{parse_range, sweep_digest, two_numbers, SeedPlan};
use crate::chaos::explore::{self, Promoted, SeedOutcome, SettleSpread, Tally};
use crate::chaos::{Chaos, FailureClass};
use crate::coverage::Reached;
use crate::model::bugs::Bug;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The arguments of `cascade chaos`.
#[derive(clap::Args)]
pub struct Args {
    /// The chaos profile, e.g. scenarios/chaos/fixed-400.profile.json.
    pub profile: PathBuf,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of seeds from --seed (at least 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// A seed range A..B (end exclusive), instead of --seed/--count.
    #[arg(long, value_name = "A..B", conflicts_with_all = ["seed", "count"])]
    pub seeds: Option<String>,
    /// Parallel runs (each run is single-threaded and deterministic), 1 to
    /// 256.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS))]
    pub jobs: u64,
    /// Run only seeds whose position % N == K (0-based K), e.g. 3/8.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Run every seed twice and compare trace hashes.
    #[arg(long)]
    pub check_determinism: bool,
    /// Plant a bug from the seeded-bug catalogue (each bypasses one
    /// safeguard of one component).
    #[arg(long, value_enum)]
    pub bug: Option<Bug>,
    /// Output folder for failures (default: reports/chaos/PROFILE).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not shrink failures.
    #[arg(long, conflicts_with_all = ["shrink_max", "promote"])]
    pub no_shrink: bool,
    /// Shrink at most this many failing seeds (one per failure signature first).
    #[arg(long, default_value_t = 3)]
    pub shrink_max: usize,
    /// Write regression scenarios (the shrunk schedule against the fixed
    /// agent, which must pass) into this folder.
    #[arg(long, value_name = "DIR")]
    pub promote: Option<PathBuf>,
    /// Stop at the first failing seed (with --guided: after the
    /// generation of the first failing run).
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Coverage-guided exploration: --count runs from --seed, mutants of
    /// the cases that reached rare states or new feature combinations,
    /// one run in 4 a fresh seed's case. Deterministic from the seed
    /// whatever --jobs.
    #[arg(long, conflicts_with_all = ["seeds", "shard"])]
    pub guided: bool,
    /// Print every seed's chosen parameters and trace hash.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the sweep as JSON (every seed's verdict and trace hash, the
    /// counts and the digest) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Work budget in agent polls and auth ticks, as for `cascade run`:
    /// every seed's run at the longest the profile generates (twice with
    /// --check-determinism), counted before the first starts.
    #[arg(long, value_name = "N", default_value_t = crate::run::WORK_MAX_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub work_max: u64,
    /// Stop each run (every seed, every shrinking step) after this many
    /// events (default 2·10^9); a seed stopped short has the verdict
    /// `incomplete` (exit 7).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub events_max: Option<u64>,
}

/// Most seeds one invocation runs; a larger sweep is split with --shard.
const MAX_SEEDS: u64 = 1_000_000;
/// Most parallel runs: each holds a world in memory.
const MAX_JOBS: u64 = 256;

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (k, n) = two_numbers("--shard", "K/N", "/", text)?;
    if n == 0 || k >= n {
        return Err(format!("--shard: expected 0 <= K < N, found {text}"));
    }
    Ok((k, n))
}

/// The seeds a command line asks for, checked against the bounds and the
/// work budget before any list is made.
pub(super) fn seed_plan(a: &Args, chaos: &Chaos) -> Result<SeedPlan, String> {
    let (start, end) = match &a.seeds {
        Some(r) => parse_range(r)?,
        None => match a.seed.checked_add(a.count) {
            Some(end) => (a.seed, end),
            None => {
                return Err(format!(
                    "--seed {} --count {}: the range ends past the largest seed, {}",
                    a.seed,
                    a.count,
                    u64::MAX
                ))
            }
        },
    };
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    // Counted from the bounds, before any list is allocated.
    let plan = SeedPlan { start, end, shard };
    if plan.len() > MAX_SEEDS {
        return Err(format!(
            "{} seeds asked for; at most {MAX_SEEDS} per invocation (split with --shard)",
            plan.len()
        ));
    }
    if plan.len() == 0 {
        return Err(format!(
            "--shard {}: no seed of {start}..{end} falls in this shard",
            a.shard.as_deref().unwrap_or_default()
        ));
    }
    let runs_per_seed = if a.check_determinism { 2.0 } else { 1.0 };
    let work = chaos.work_per_seed_max() * runs_per_seed * plan.len() as f64;
    if work > a.work_max as f64 {
        return Err(format!(
            "{}: the sweep implies up to {work:.2e} agent polls and auth ticks ({} seeds{}, each at most {:.2e}: the base's fleet over the longest scenario the profile generates), above the budget of {:.2e}; raise it with --work-max if that is meant",
            a.profile.display(),
            plan.len(),
            if a.check_determinism { " run twice" } else { "" },
            chaos.work_per_seed_max(),
            a.work_max as f64
        ));
    }
    Ok(plan)
}

/// Where the sweep is said: with --json, stdout carries the JSON document
/// alone, and what a person reads goes to stderr.
pub(super) struct Say {
    pub(super) json: bool,
}

impl Say {
    pub(super) fn line(&self, text: impl std::fmt::Display) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }
}

/// The profile loaded and the arguments checked against it (the guided
/// sweep shares this with the random one).
pub(super) fn prepare(a: &Args) -> Result<(Chaos, SeedPlan), ExitCode> {
    let mut chaos = Chaos::load(&a.profile).map_err(|e| usage(e.to_string()))?;
    chaos.set_events_max(a.events_max);
    let plan = seed_plan(a, &chaos).map_err(usage)?;
    Ok((chaos, plan))
}

pub fn run(a: Args) -> ExitCode {
    let (chaos, plan) = match prepare(&a) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let seeds = plan.seeds();
    let say = Say { json: a.json };
    say_start(&say, &a, &chaos, &plan, &seeds);
    let single = seeds.len() == 1;
    let (results, wall) = match sweep_with_progress(&a, &chaos, &seeds) {
        (Ok(r), wall) => (r, wall),
        (Err(e), _) => {
            return usage(format!(
                "a generated scenario did not load (a bug in the profile or generator): {e}"
            ))
        }
    };
    for r in results.iter().filter(|r| single || a.verbose || r.failed()) {
        say_seed(&say, r);
    }
    if !a.no_shrink {
        shrink_failures(&say, &a, &chaos, &results);
    }
    let tally = Tally::of(&results);
    say_table(&say, &a, &results, &tally, wall);
    let outcomes: Vec<&SeedOutcome> = results.iter().collect();
    let reached = explore::first_reached(&outcomes);
    say_coverage(&say, &chaos, results.len(), &reached, "seeds");
    let settle = SettleSpread::of(
        results.iter().map(|r| r.verdict.time_to_converge_s),
        chaos.profile.profile.converge_p99_h_bound(),
    );
    say.line(settle.line());
    let digest = sweep_digest(
        results
            .iter()
            .map(|r| (r.seed, r.verdict.trace_hash.as_str())),
    );
    say.line(format_args!(
        "trace hashes: digest {digest} over {} seeds (each seed's hash: --verbose or --json)",
        results.len()
    ));
    let reproduce = format!(
        "cargo run --release -- chaos {} --seeds {}..{}{}{}{}",
        a.profile.display(),
        plan.start,
        plan.end,
        a.shard
            .as_deref()
            .map(|s| format!(" --shard {s}"))
            .unwrap_or_default(),
        explore::bug_flag(a.bug),
        explore::events_flag(a.events_max)
    );
    if a.json {
        let doc = json_document(
            &a, &chaos, &plan, &results, &tally, &reached, &settle, &digest, &reproduce,
        );
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    say.line(format_args!("reproduce: {reproduce}"));
    exit_code(&tally, &settle)
}

/// Runs the sweep with a progress bar (on a terminal, for more than one
/// seed and without --json), and times it by the wall clock.
fn sweep_with_progress(
    a: &Args,
    chaos: &Chaos,
    seeds: &[u64],
) -> (Result<Vec<SeedOutcome>, String>, Duration) {
    let bar = if seeds.len() == 1 || a.json {
        None
    } else {
        progress_bar(
            seeds.len() as u64,
            "{spinner} seeds {pos}/{len} [{bar:40}] {per_sec} {elapsed}",
        )
    };
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let opts = explore::SweepOptions {
        jobs: a.jobs as usize,
        bug: a.bug,
        check_determinism: a.check_determinism,
        stop_on_failure: a.stop_on_failure,
    };
    // Wall-clock timing of the sweep, outside the simulated world.
    #[allow(clippy::disallowed_methods)]
    let t0 = std::time::Instant::now();
    let swept = explore::sweep(chaos, seeds, opts, &tick);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    (swept, t0.elapsed())
}

/// The sweep's first lines: the first seed, then what runs.
fn say_start(say: &Say, a: &Args, chaos: &Chaos, plan: &SeedPlan, seeds: &[u64]) {
    say.line(format_args!("SEED={}", seeds[0]));
    say.line(format_args!(
        "profile {} ({}) · {} seeds {}..{}{}{} · jobs {}",
        chaos.profile.profile.name,
        a.profile.display(),
        seeds.len(),
        plan.start,
        plan.end,
        a.shard
            .as_deref()
            .map(|s| format!(" · shard {s}"))
            .unwrap_or_default(),
        a.bug
            .map(|b| format!(" · seeded bug {}", b.name()))
            .unwrap_or_default(),
        a.jobs
    ));
}

/// One seed: its verdict and hash, what it chose, what was found.
fn say_seed(say: &Say, r: &SeedOutcome) {
    say.line(format_args!(
        "seed {}: {} · hash {}{}",
        r.seed,
        r.verdict.signature,
        r.verdict.trace_hash,
        if r.deterministic {
            ""
        } else {
            " · NOT DETERMINISTIC"
        }
    ));
    for c in &r.chosen {
        say.line(format_args!("    chose  {c}"));
    }
    for d in &r.verdict.details {
        say.line(format_args!("    found  {d}"));
    }
}

/// Shrinks the failures worth it, saying each as it is done (a shrink
/// takes many runs).
fn shrink_failures(say: &Say, a: &Args, chaos: &Chaos, results: &[SeedOutcome]) {
    let profile_arg = a.profile.display().to_string();
    let plan = explore::ShrinkPlan {
        out_dir: a
            .out
            .clone()
            .unwrap_or_else(|| Path::new("reports/chaos").join(&chaos.profile.profile.name)),
        profile_arg: &profile_arg,
        bug: a.bug,
        events_max: a.events_max,
        promote: a.promote.as_deref(),
    };
    for f in explore::to_shrink(results, a.shrink_max) {
        let report = explore::shrink_one(chaos, f, &plan);
        say_shrunk(
            say,
            &format!("seed {}", f.seed),
            &f.verdict.signature,
            &report,
        );
    }
}

/// One shrunk failure (`what`: `seed N` or `run N`), with the lines that
/// reproduce it. A failure to write is reported; the exit code stays the
/// failure's verdict, and the lines still reproduce it.
pub(super) fn say_shrunk(say: &Say, what: &str, signature: &str, report: &explore::ShrinkReport) {
    if let Some(e) = &report.write_error {
        say_error(format_args!("cannot write the chaos report: {e}"));
    }
    let shrunk = &report.shrunk;
    say.line(format_args!(
        "\n{what} ({signature}) shrunk in {} runs to {} fault(s), {} base item(s), {} clusters: {}",
        shrunk.attempts,
        shrunk.case.faults.len(),
        shrunk.case.base_items.len(),
        shrunk.case.clusters,
        shrunk.case.chosen.join("; ")
    ));
    for line in report.reproduce.lines() {
        say.line(format_args!("    {line}"));
    }
    if let Some(promoted) = &report.promoted {
        say.line(format_args!("    {}", promoted_line(promoted)));
    }
}

/// The line said for `--promote` (its errors go to stderr here).
pub(super) fn promoted_line(promoted: &Promoted) -> String {
    match promoted {
        Promoted::Written(p) => format!("promoted to {}", p.display()),
        Promoted::FixedFailsToo(signature) => {
            format!("not promoted: the fixed agent fails this schedule too ({signature})")
        }
        Promoted::Failed(e) => {
            say_error(e);
            "not promoted: see the error above".to_string()
        }
    }
}

/// The closing table: seeds per class, speed, failures by signature.
fn say_table(say: &Say, a: &Args, results: &[SeedOutcome], t: &Tally, wall: Duration) {
    let runs = results.len() * if a.check_determinism { 2 } else { 1 };
    say.line(
        "\n| seeds run | passed | panic | safety | liveness | nondeterministic | runs/s | wall |",
    );
    say.line("|---|---|---|---|---|---|---|---|");
    say.line(format_args!(
        "| {} | {:.1} | {:.1} s |",
        class_cells(t, results.len(), a.check_determinism),
        runs as f64 / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64()
    ));
    if let Some(first) = results.iter().find(|r| r.failed()) {
        say.line(format_args!(
            "failures by signature: {:?}; first failing seed: {}",
            t.by_signature, first.seed
        ));
    }
}

/// The cells both sweeps' closing tables open with: runs, passed, and
/// the failures by class ("not checked" for determinism unless asked).
pub(super) fn class_cells(t: &Tally, runs: usize, check_determinism: bool) -> String {
    let nondeterministic = if check_determinism {
        t.nondeterministic.to_string()
    } else {
        "not checked".into()
    };
    format!(
        "{runs} | {} | {} | {} | {} | {nondeterministic}",
        runs - t.failed,
        t.panic,
        t.safety,
        t.liveness
    )
}

/// The sweep as one JSON document. Deterministic: no wall time, so two
/// machines' documents compare whole.
#[allow(clippy::too_many_arguments)]
fn json_document(
    a: &Args,
    chaos: &Chaos,
    plan: &SeedPlan,
    results: &[SeedOutcome],
    t: &Tally,
    reached: &ReachedBy,
    settle: &SettleSpread,
    digest: &str,
    reproduce: &str,
) -> Value {
    json!({
        "profile": chaos.profile.profile.name,
        "profile_file": a.profile.display().to_string(),
        "seeds": {"start": plan.start, "end": plan.end, "shard": a.shard, "run": results.len()},
        "seeded_bug": a.bug.map(|b| b.name()),
        "counts": counts_json(t, results.len(), a.check_determinism),
        "digest": digest,
        "time_to_converge": settle.json(),
        "coverage": reached
            .iter()
            .map(|(s, n, _)| (s.name().to_string(), json!(n)))
            .collect::<serde_json::Map<String, Value>>(),
        "runs": results.iter().map(|r| json!({
            "seed": r.seed,
            "signature": r.verdict.signature,
            "trace_hash": r.verdict.trace_hash,
            "deterministic": a.check_determinism.then_some(r.deterministic),
        })).collect::<Vec<_>>(),
        "reproduce": reproduce,
    })
}

/// A sweep's counts per class, for its JSON document (`runs`: how many
/// ran; nondeterministic only when checked).
pub(super) fn counts_json(t: &Tally, runs: usize, check_determinism: bool) -> Value {
    json!({
        "passed": runs - t.failed,
        "panic": t.panic,
        "safety": t.safety,
        "liveness": t.liveness,
        "incomplete": t.incomplete,
        "nondeterministic": check_determinism.then_some(t.nondeterministic),
    })
}

/// The sweep's exit code: the gravest finding first.
pub(super) fn exit_code(t: &Tally, settle: &SettleSpread) -> ExitCode {
    if t.nondeterministic > 0 {
        Exit::Nondeterministic.into()
    } else if t.panic > 0 {
        FailureClass::Panic.exit_code().into()
    } else if t.incomplete > 0 {
        FailureClass::Incomplete.exit_code().into()
    } else if t.safety > 0 {
        FailureClass::Safety.exit_code().into()
    } else if t.liveness > 0 || !settle.holds() {
        FailureClass::Liveness.exit_code().into()
    } else {
        Exit::Ok.into()
    }
}

pub(super) type ReachedBy = [(Reached, usize, Option<usize>)];

/// Per state: the runs that reached it and the first that did; the
/// states the profile should reach that no run did.
/// `unit`: what the sweep counts (`runs`, `seeds`).
pub(super) fn say_coverage(say: &Say, chaos: &Chaos, runs: usize, reached: &ReachedBy, unit: &str) {
    say.line(format_args!("\n| state reached | {unit} | first run |"));
    say.line("|---|---|---|");
    for (s, n, first) in reached {
        let first = first.map_or("-".to_string(), |f| f.to_string());
        say.line(format_args!("| {} | {n} / {runs} | {first} |", s.name()));
    }
    let should = &chaos.profile.profile.should_reach;
    let every = should
        .iter()
        .map(|s| reached.iter().find(|(x, _, _)| x == s).and_then(|r| r.2))
        .collect::<Option<Vec<usize>>>()
        .map(|v| v.into_iter().max().unwrap_or(0));
    match every {
        Some(n) => say.line(format_args!(
            "every state the profile should reach ({}) reached by run {n}",
            should.len()
        )),
        None => {
            for s in should {
                if reached.iter().any(|(x, n, _)| x == s && *n == 0) {
                    say.line(format_args!(
                        "coverage finding: the profile should reach {} but no {} of {runs} did",
                        s.name(),
                        unit.trim_end_matches('s')
                    ));
                }
            }
        }
    }
}
