//! `cascade chaos --guided`: what a guided sweep says. It asks
//! [`crate::chaos::guided`] for the runs, shrinks the failures worth it
//! (a guided case is no seed's draw: its report holds the case's own
//! scenario file), and closes with the tables of the random sweep, the
//! coverage table giving the first run that reached each state.

use super::chaos::{
    class_cells, counts_json, exit_code, say_coverage, say_shrunk, Args, ReachedBy, Say,
};
use super::{progress_bar, sweep_digest};
use crate::chaos::explore::{self, SettleSpread, Tally};
use crate::chaos::guided::{self, GuidedOptions, GuidedRun, Origin};
use crate::chaos::Chaos;
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

/// `cascade chaos PROFILE --guided`.
pub fn main(a: Args) -> ExitCode {
    match super::chaos::prepare(&a) {
        Ok((chaos, _)) => run(&a, &chaos),
        Err(code) => code,
    }
}

fn run(a: &Args, chaos: &Chaos) -> ExitCode {
    let say = Say { json: a.json };
    let count = a.count as usize;
    say.line(format_args!("SEED={}", a.seed));
    say.line(format_args!(
        "profile {} ({}) · guided · {count} runs from seed {} · generations of {}, one run in {} a fresh seed · jobs {}{}",
        chaos.profile.profile.name,
        a.profile.display(),
        a.seed,
        guided::BATCH,
        guided::FRESH_EVERY,
        a.jobs,
        a.bug
            .map(|b| format!(" · seeded bug {}", b.name()))
            .unwrap_or_default(),
    ));
    let bar = (count > 1 && !a.json)
        .then(|| {
            progress_bar(
                count as u64,
                "{spinner} runs {pos}/{len} [{bar:40}] {per_sec} {elapsed}",
            )
        })
        .flatten();
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let opts = GuidedOptions {
        jobs: a.jobs as usize,
        bug: a.bug,
        check_determinism: a.check_determinism,
        stop_on_failure: a.stop_on_failure,
    };
    // Wall-clock timing of the sweep, outside the simulated world.
    #[allow(clippy::disallowed_methods)]
    let t0 = std::time::Instant::now();
    let swept = guided::explore(chaos, a.seed, count, opts, &tick);
    let wall = t0.elapsed();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let runs = match swept {
        Ok(r) => r,
        Err(e) => {
            return super::exit::usage(format!(
                "a generated scenario did not load (a bug in the profile or generator): {e}"
            ))
        }
    };
    for r in runs
        .iter()
        .filter(|r| count == 1 || a.verbose || r.outcome.failed())
    {
        say_run(&say, r);
    }
    if !a.no_shrink {
        shrink_failures(&say, a, chaos, &runs);
    }
    let outcomes: Vec<&explore::SeedOutcome> = runs.iter().map(|r| &r.outcome).collect();
    let tally = Tally::of(outcomes.iter().copied());
    say_table(&say, a, &runs, &tally, wall);
    let reached = explore::first_reached(&outcomes);
    say_coverage(&say, chaos, runs.len(), &reached, "runs");
    let settle = SettleSpread::of(
        runs.iter().map(|r| r.outcome.verdict.time_to_converge_s),
        chaos.profile.profile.converge_p99_h_bound(),
    );
    say.line(settle.line());
    let digest = sweep_digest(
        runs.iter()
            .map(|r| (r.run as u64, r.outcome.verdict.trace_hash.as_str())),
    );
    say.line(format_args!(
        "trace hashes: digest {digest} over {} runs (each run's hash: --verbose or --json)",
        runs.len()
    ));
    let reproduce = reproduce_line(a, count);
    if a.json {
        let doc = json_document(
            a, chaos, &runs, &tally, &reached, &settle, &digest, &reproduce,
        );
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    say.line(format_args!("reproduce: {reproduce}"));
    exit_code(&tally, &settle)
}

/// The command line that runs the same guided sweep, up to `count` runs.
fn reproduce_line(a: &Args, count: usize) -> String {
    format!(
        "cargo run --release -- chaos {} --guided --seed {} --count {count}{}{}",
        a.profile.display(),
        a.seed,
        explore::bug_flag(a.bug),
        explore::events_flag(a.events_max)
    )
}

/// One run: its verdict and hash, where its case came from, what it chose
/// and what was found.
fn say_run(say: &Say, r: &GuidedRun) {
    say.line(format_args!(
        "run {}: {} · hash {} · {}{}",
        r.run,
        r.outcome.verdict.signature,
        r.outcome.verdict.trace_hash,
        r.origin.describe(r.case.seed),
        if r.outcome.deterministic {
            ""
        } else {
            " · NOT DETERMINISTIC"
        }
    ));
    for c in &r.outcome.chosen {
        say.line(format_args!("    chose  {c}"));
    }
    for d in &r.outcome.verdict.details {
        say.line(format_args!("    found  {d}"));
    }
}

/// Shrinks the first failing run of each signature (then the others, up
/// to --shrink-max), each into `guided-seed-S/run-I/`: the case as its
/// own scenario (`original.json`), the minimal one, and the lines that
/// replay both.
fn shrink_failures(say: &Say, a: &Args, chaos: &Chaos, runs: &[GuidedRun]) {
    let profile_arg = a.profile.display().to_string();
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports/chaos").join(&chaos.profile.profile.name))
        .join(format!("guided-seed-{}", a.seed));
    let plan = explore::ShrinkPlan {
        out_dir: out.clone(),
        profile_arg: &profile_arg,
        bug: a.bug,
        events_max: a.events_max,
        promote: a.promote.as_deref(),
    };
    let failing: Vec<&GuidedRun> = runs.iter().filter(|r| r.outcome.failed()).collect();
    let mut signatures = std::collections::BTreeSet::new();
    let mut chosen: Vec<&GuidedRun> = failing
        .iter()
        .copied()
        .filter(|r| signatures.insert(r.outcome.verdict.signature.clone()))
        .collect();
    let firsts: Vec<usize> = chosen.iter().map(|r| r.run).collect();
    chosen.extend(failing.iter().filter(|r| !firsts.contains(&r.run)));
    chosen.truncate(a.shrink_max);
    let events = explore::events_flag(a.events_max);
    for r in chosen {
        let dir = out.join(format!("run-{}", r.run));
        let reproduce = format!(
            "reproduce the seed: {} (run {})\nreproduce the case: cargo run --release -- run {}{events}\nreproduce the file: cargo run --release -- run {}{events}\n",
            reproduce_line(a, r.run),
            r.run,
            dir.join("original.json").display(),
            dir.join("minimal.json").display()
        );
        let doc = r.document(chaos);
        let report = explore::shrink_case(
            chaos,
            (&r.case, &doc, &r.outcome.verdict),
            &dir,
            reproduce,
            &plan,
        );
        say_shrunk(
            say,
            &format!("run {}", r.run),
            &r.outcome.verdict.signature,
            &report,
        );
    }
}

/// The closing table: runs per class, fresh and mutant, the corpus.
fn say_table(say: &Say, a: &Args, runs: &[GuidedRun], t: &Tally, wall: std::time::Duration) {
    let fresh = runs.iter().filter(|r| r.origin == Origin::Fresh).count();
    let kept = runs.iter().filter(|r| r.kept).count();
    let n = runs.len() * if a.check_determinism { 2 } else { 1 };
    say.line("\n| runs | passed | panic | safety | liveness | nondeterministic | fresh seeds | mutants | corpus | runs/s | wall |");
    say.line("|---|---|---|---|---|---|---|---|---|---|---|");
    say.line(format_args!(
        "| {} | {fresh} | {} | {kept} | {:.1} | {:.1} s |",
        class_cells(t, runs.len(), a.check_determinism),
        runs.len() - fresh,
        n as f64 / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64()
    ));
    if let Some(first) = runs.iter().find(|r| r.outcome.failed()) {
        say.line(format_args!(
            "failures by signature: {:?}; first failing run: {}",
            t.by_signature, first.run
        ));
    }
}

/// The guided sweep as one JSON document (no wall time).
#[allow(clippy::too_many_arguments)]
fn json_document(
    a: &Args,
    chaos: &Chaos,
    runs: &[GuidedRun],
    t: &Tally,
    reached: &ReachedBy,
    settle: &SettleSpread,
    digest: &str,
    reproduce: &str,
) -> Value {
    json!({
        "profile": chaos.profile.profile.name,
        "profile_file": a.profile.display().to_string(),
        "guided": {"seed": a.seed, "count": a.count, "run": runs.len(), "batch": guided::BATCH, "fresh_every": guided::FRESH_EVERY},
        "seeded_bug": a.bug.map(|b| b.name()),
        "counts": counts_json(t, runs.len(), a.check_determinism),
        "digest": digest,
        "time_to_converge": settle.json(),
        "coverage": reached
            .iter()
            .map(|(s, n, first)| (s.name().to_string(), json!({"runs": n, "first_run": first})))
            .collect::<serde_json::Map<String, Value>>(),
        "runs": runs.iter().map(|r| json!({
            "run": r.run,
            "seed": r.case.seed,
            "origin": r.origin.describe(r.case.seed),
            "signature": r.outcome.verdict.signature,
            "trace_hash": r.outcome.verdict.trace_hash,
            "kept": r.kept,
            "new_features": r.new_features,
            "deterministic": a.check_determinism.then_some(r.outcome.deterministic),
        })).collect::<Vec<_>>(),
        "reproduce": reproduce,
    })
}
