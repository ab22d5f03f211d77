//! `cascade run`: runs a scenario, prints its summary (text or JSON) and
//! writes its run folder.

use super::exit::{self, Exit};
use super::{progress_bar, value_name};
use crate::report::folder;
use crate::run::{catch_panic, reproduction_line, run_scenario, RunOptions};
use crate::scenario;
use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use clap::ValueEnum;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cascade run`.
#[derive(clap::Args)]
pub struct Args {
    /// The scenario file, e.g. scenarios/march-2025.json.
    pub scenario: PathBuf,
    /// Seed (default: the scenario's own).
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run every seed of the range `A..B` (end exclusive) instead of one,
    /// and report per expectation the share of seeds on which it holds.
    /// Writes no run folder.
    #[arg(long, value_name = "A..B", conflicts_with_all = ["out", "events"])]
    pub seeds: Option<String>,
    /// Parallel runs for `--seeds` or `--provenance` (each run is
    /// single-threaded).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// Find how each fact is reached: run the scenario once more per input
    /// (each timeline item's time, duration and numeric fields, each tuned
    /// model field), perturbed, on the same seed, and mark each expectation
    /// scripted (an input read back one for one), calibrated (moves with a
    /// tuned field) or emergent, with the inputs it moves with.
    #[arg(long, conflicts_with = "seeds")]
    pub provenance: bool,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run folder (default: reports/runs/SCENARIO/SEED).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write no run folder.
    #[arg(long, conflicts_with_all = ["out", "events"])]
    pub no_report: bool,
    /// Write the run folder into a folder that is not empty and not one
    /// cascade wrote: its files go beside the ones there, never over them.
    #[arg(long)]
    pub force: bool,
    /// Trace kinds for events.jsonl: comma-separated, `all`, or `none`
    /// (default: all but the per-poll `answer` records).
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = TrimmedEvents)]
    pub events: Vec<Events>,
    /// Override a value of the scenario: `KEY=VALUE`, e.g.
    /// `--set timeline.E9.misroute_ratio=0.25` or
    /// `--set model.response.restore_with=script` (repeatable; VALUE is
    /// JSON, or else a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<scenario::Override>,
    /// Log key events (in simulated time) to stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// Reference mode: step every agent poll instead of letting quiet
    /// agents sleep until something could change their answer. Same trace
    /// hash and summary, many times the events; for checking the
    /// fast-forward, not for use.
    #[arg(long)]
    pub step_every_poll: bool,
    /// Work budget in agent polls and auth ticks (clusters × span ÷ poll
    /// interval, plus ticks): a scenario implying more is refused before
    /// it runs.
    #[arg(long, value_name = "N", default_value_t = crate::run::WORK_MAX_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub work_max: u64,
    /// Stop after this many events (default 2·10^9). A run stopped short
    /// exits 7 with no verdict.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub events_max: Option<u64>,
}

/// The scenario argument as a command line repeats it: the path, each
/// `--set`, and the flags that change what runs (`--events-max`,
/// `--step-every-poll`), quoted for a POSIX shell.
fn scenario_arg(args: &Args) -> String {
    let mut s = super::shell_quote(&args.scenario.display().to_string());
    for o in &args.set {
        // Always quoted: a JSON value is full of shell syntax.
        s.push_str(&format!(
            " --set '{}'",
            o.to_string().replace('\'', r"'\''")
        ));
    }
    if let Some(n) = args.events_max {
        s.push_str(&format!(" --events-max {n}"));
    }
    if args.step_every_poll {
        s.push_str(" --step-every-poll");
    }
    if args.provenance {
        s.push_str(&format!(" --provenance --jobs {}", args.jobs));
    }
    crate::files::terminal_safe(&s).into_owned()
}

fn init_logs(verbose: bool) {
    let level = if verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    // No wall-clock timestamps: the world's log lines carry simulated time.
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level)
        .without_time()
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A value of `--events`: `all`, `none`, or a trace record kind by the name
/// `kind_name` gives it in src/record.rs (the JSON sink filters on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Events {
    /// Every kind, with the ~50 M per-poll `answer` records.
    All,
    /// No events.jsonl.
    #[value(name = "none")]
    Off,
    /// A desired-state answer an agent acted on (one per poll).
    Answer,
    /// An agent's node-pool call to the cloud and its immediate reply.
    CloudCall,
    /// A cloud operation completing.
    CloudDone,
    /// An agent taken down with its system pool.
    AgentDied,
    /// An agent running again.
    AgentRestarted,
    /// A guard blocking a destructive step.
    Blocked,
    /// A timeline action beginning or ending.
    Action,
    /// An incident detected.
    Detected,
    /// A named moment (an alert, a rollout wave).
    Note,
    /// A cluster with every desired pool back.
    ClusterRestored,
    /// The auth path's figures of one minute.
    AuthMinute,
}

impl Events {
    /// The record kind this value names; `None` for `all` and `none`.
    fn kind(self) -> Option<String> {
        match self {
            Events::All | Events::Off => None,
            kind => Some(value_name(&kind)),
        }
    }
}

/// Parses one `--events` value with the spaces around it trimmed, as
/// `--events "action, detected"` has always been accepted.
#[derive(Clone)]
struct TrimmedEvents;

impl TypedValueParser for TrimmedEvents {
    type Value = Events;
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Events, clap::Error> {
        let value = value.to_str().map_or(value, |s| OsStr::new(s.trim()));
        EnumValueParser::<Events>::new().parse_ref(cmd, arg, value)
    }
    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Events::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// What goes into events.jsonl.
#[derive(Debug, PartialEq)]
enum EventsFile {
    /// No file.
    Off,
    /// Every record.
    Every,
    /// Records of these kinds only.
    Only(BTreeSet<String>),
}

/// What `--events` asks for; `all` and `none` stand alone.
fn events_file(flag: &[Events]) -> Result<EventsFile, String> {
    match flag {
        [] => Ok(EventsFile::Only(
            Events::value_variants()
                .iter()
                .filter(|e| **e != Events::Answer)
                .filter_map(|e| e.kind())
                .collect(),
        )),
        [Events::Off] => Ok(EventsFile::Off),
        [Events::All] => Ok(EventsFile::Every),
        list => list
            .iter()
            .map(|e| e.kind())
            .collect::<Option<_>>()
            .map(EventsFile::Only)
            .ok_or_else(|| "--events: `all` and `none` stand alone, not in a list".to_string()),
    }
}

pub fn run(args: Args) -> ExitCode {
    init_logs(args.verbose);
    let events = match events_file(&args.events) {
        Ok(e) => e,
        Err(m) => return exit::usage(m),
    };
    if let Err(m) = check_overrides(&args) {
        return exit::usage(m);
    }
    let seeds = match args.seeds.as_deref().map(super::parse_range).transpose() {
        Ok(s) => s,
        Err(m) => return exit::usage(m),
    };
    let sc = match scenario::load_with(&args.scenario, &args.set) {
        Ok(s) => s,
        Err(e) => return exit::usage(e),
    };
    if args.jobs != 1 && seeds.is_none() && !args.provenance {
        return exit::usage(
            "--jobs: only with --seeds or --provenance (a single run is single-threaded)",
        );
    }
    let runs = match seeds {
        Some((a, b)) => b - a,
        None if args.provenance => 1 + crate::provenance::inputs(&sc).len() as u64,
        None => 1,
    };
    // Checked before the range is collected: a huge range is refused, not allocated.
    if runs > crate::sweep::SEEDS_MAX as u64 {
        return exit::usage(format_args!(
            "--seeds: expected at most {} seeds, found {runs}",
            crate::sweep::SEEDS_MAX,
        ));
    }
    if let Err(m) = crate::run::check_work_budget(&sc, runs, args.work_max) {
        return exit::usage(m);
    }
    if let Some((a, b)) = seeds {
        return run_seeds(&args, &sc, a, b);
    }
    let seed_used = args.seed.unwrap_or(sc.seed);
    if !args.json {
        println!("SEED={seed_used}");
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| folder::default_run_dir(&sc.name, seed_used));
    let mut events_sink: Option<Box<dyn std::io::Write>> = None;
    let mut run_folder = None;
    let events_streamed = !args.no_report && events != EventsFile::Off;
    if !args.no_report {
        let folder = match folder::RunFolder::open_with(&dir, args.force) {
            Ok(f) => f,
            Err(folder::OpenError::Busy(m)) => return exit::usage(m),
            Err(folder::OpenError::Refused(m)) => {
                return exit::output(format_args!("cannot write the run folder: {m}"))
            }
        };
        if events != EventsFile::Off {
            match folder.events_file() {
                Ok(f) => events_sink = Some(Box::new(std::io::BufWriter::new(f))),
                Err(e) => return exit::usage(format_args!("cannot create the events file: {e}")),
            }
        }
        run_folder = Some(folder);
    }
    let bar = progress_bar(
        sc.end.as_secs() / 3_600,
        "{spinner} simulating {pos}/{len} h [{bar:40}] {elapsed}",
    );
    let bar_in_run = bar.clone();
    let ran = catch_panic(|| {
        run_scenario(
            &sc,
            RunOptions {
                seed: args.seed,
                step_every_poll: args.step_every_poll,
                events_max: args.events_max,
                events_sink,
                events_kinds: match events {
                    EventsFile::Only(kinds) => Some(kinds),
                    EventsFile::Off | EventsFile::Every => None,
                },
                progress: Some(Box::new(move |now, _end| {
                    if let Some(b) = &bar_in_run {
                        b.set_position(now.as_secs() / 3_600);
                    }
                })),
            },
        )
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let reproduce = reproduction_line(&scenario_arg(&args), seed_used);
    let result = match ran {
        Ok(r) => r,
        Err(p) => {
            // A finding like a failed invariant, with no summary: the run
            // did not finish, so the folder is not left looking complete.
            eprintln!(
                "error: seed {seed_used}: the run {p} (verdict: panic; a broken assertion of the logic under test or a bug of cascade)"
            );
            eprintln!("reproduce: {reproduce}");
            if let Some(folder) = run_folder {
                folder.abandon();
            }
            return Exit::Panic.into();
        }
    };
    let mut result = result;
    if args.provenance && result.stopped_short(&sc.epoch).is_none() {
        attach_provenance(&args, &sc, seed_used, &mut result);
    }
    let s = &result.summary;
    if let Some(why) = result.stopped_short(&sc.epoch) {
        // No summary in the folder either: partial figures are not a run.
        eprintln!("error: {why}; its figures are partial, so there is no verdict");
        eprintln!("reproduce: {reproduce}");
        if let Some(folder) = run_folder {
            folder.abandon();
        }
        return Exit::Incomplete.into();
    }
    if let Some(e) = &result.events_error {
        if let Some(folder) = run_folder {
            folder.abandon();
        }
        // The folder keeps no summary: it does not pass for a finished run.
        return exit::output(format_args!(
            "cannot write the events of {}: {e} (the run's verdict: {})",
            dir.display(),
            if s.passed() { "passed" } else { "failed" }
        ));
    }
    if let Some(folder) = run_folder {
        if let Err(e) = folder.finish(s, &result.series, &reproduce, events_streamed) {
            return exit::output(format_args!(
                "cannot write the run folder: {e} (the run's verdict: {})",
                if s.passed() { "passed" } else { "failed" }
            ));
        }
        if let Some(reports) = dir
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "reports"))
        {
            if let Err(e) = folder::point_latest(reports, &dir) {
                eprintln!("warning: reports/latest not updated: {e}");
            }
        }
    }
    if args.json {
        match serde_json::to_string_pretty(s) {
            Ok(text) => println!("{text}"),
            Err(e) => return exit::failed(format_args!("cannot encode the summary: {e}")),
        }
    } else {
        // Descriptions and notes come from the file: escaped for the terminal.
        print!(
            "{}",
            crate::files::terminal_safe(&crate::report::render_text(s))
        );
        if !args.no_report {
            println!(
                "report    {}/report.html (and summary.json, summary.md, trace.json, events.jsonl)",
                dir.display()
            );
        }
        println!("reproduce: {reproduce}");
    }
    Exit::passed(s.passed()).into()
}

/// `--provenance`: the sensitivity runs of `sc` on `seed`, each
/// expectation's found class put into the summary (and a line said).
fn attach_provenance(
    args: &Args,
    sc: &scenario::Scenario,
    seed: u64,
    result: &mut crate::run::RunResult,
) {
    let base: Vec<_> = result
        .summary
        .expectations
        .iter()
        .map(|e| e.measured)
        .collect();
    let found = crate::provenance::find(sc, seed, &base, args.jobs as usize);
    for (e, f) in result.summary.expectations.iter_mut().zip(found.found) {
        e.found = Some(f);
    }
    if !args.json {
        println!(
            "provenance: {} inputs perturbed once each on seed {seed}{}",
            found.inputs,
            if found.skipped.is_empty() {
                String::new()
            } else {
                format!("; left out: {}", found.skipped.join("; "))
            }
        );
    }
}

/// Refuses overrides that conflict: more than [`scenario::OVERRIDES_MAX`],
/// one key set twice (which would win?), or `seed` beside `--seed` or
/// `--seeds` (the flag would silently win).
fn check_overrides(args: &Args) -> Result<(), String> {
    if args.set.len() > scenario::OVERRIDES_MAX {
        return Err(format!(
            "--set: expected at most {} overrides, found {}",
            scenario::OVERRIDES_MAX,
            args.set.len()
        ));
    }
    for (k, o) in args.set.iter().enumerate() {
        if args.set[..k].iter().any(|x| x.key == o.key) {
            return Err(format!("--set {}: the key is set twice", o.key));
        }
        if o.key == "seed" && (args.seed.is_some() || args.seeds.is_some()) {
            return Err(format!(
                "--set seed conflicts with {}: give the seed once",
                if args.seed.is_some() {
                    "--seed"
                } else {
                    "--seeds"
                }
            ));
        }
    }
    Ok(())
}

/// `cascade run SCENARIO --seeds A..B`: the scenario on every seed.
fn run_seeds(args: &Args, sc: &scenario::Scenario, a: u64, b: u64) -> ExitCode {
    let seeds: Vec<u64> = (a..b).collect();
    if !args.json {
        println!("SEED={a}");
    }
    let opts = crate::sweep::SweepOptions {
        events_max: args.events_max,
        step_every_poll: args.step_every_poll,
    };
    let s = crate::sweep::sweep(sc, &seeds, args.jobs as usize, opts);
    if args.json {
        match serde_json::to_string_pretty(&s) {
            Ok(text) => println!("{text}"),
            Err(e) => return exit::failed(format_args!("cannot encode the sweep: {e}")),
        }
    } else {
        print!(
            "{}",
            crate::files::terminal_safe(&crate::sweep::render_text(&s))
        );
        println!(
            "reproduce: cargo run --release -- run {} --seeds {a}..{b} --jobs {}   # at commit {}",
            scenario_arg(args),
            args.jobs,
            env!("CASCADE_COMMIT")
        );
    }
    if !s.panics.is_empty() {
        return Exit::Panic.into();
    }
    if !s.incomplete.is_empty() {
        return Exit::Incomplete.into();
    }
    Exit::passed(s.all_hold()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::model::agent::Guard;
    use crate::plant::cloud::{CloudCall, CloudReply, Completion};
    use crate::protocol::{DesiredAnswer, PoolName};
    use crate::record::Record;
    use crate::sim::TraceRecord;
    use clap::Parser;

    /// The `--events` value of each record kind: a new kind in
    /// src/record.rs stops this compiling until it has one.
    fn value_of(record: &Record) -> Events {
        match record {
            Record::Answer { .. } => Events::Answer,
            Record::CloudCall { .. } => Events::CloudCall,
            Record::CloudDone { .. } => Events::CloudDone,
            Record::AgentDied { .. } => Events::AgentDied,
            Record::AgentRestarted { .. } => Events::AgentRestarted,
            Record::Blocked { .. } => Events::Blocked,
            Record::Action { .. } => Events::Action,
            Record::Detected { .. } => Events::Detected,
            Record::Note { .. } => Events::Note,
            Record::ClusterRestored { .. } => Events::ClusterRestored,
            Record::AuthMinute { .. } => Events::AuthMinute,
        }
    }

    #[test]
    fn every_record_kind_is_an_events_value_of_the_same_name() {
        let answer = DesiredAnswer::NotFound;
        let pool = PoolName::System;
        let records = [
            Record::Answer {
                cluster: 0,
                answer: &answer,
            },
            Record::CloudCall {
                cluster: 0,
                pool,
                call: CloudCall::Delete,
                reply: CloudReply::Locked,
            },
            Record::CloudDone {
                cluster: 0,
                pool,
                completion: Completion::Deleted,
            },
            Record::AgentDied { cluster: 0 },
            Record::AgentRestarted { cluster: 0 },
            Record::Blocked {
                cluster: 0,
                pool,
                guard: Guard::G1,
            },
            Record::Action {
                index: 0,
                begin: true,
            },
            Record::Detected { incident: 0 },
            Record::Note { text: "wave" },
            Record::ClusterRestored { cluster: 0 },
            Record::AuthMinute {
                legit_ok: 0,
                legit_decided: 0,
                vendor_429: 0,
                replicas: 0,
            },
        ];
        for r in &records {
            assert_eq!(value_of(r).kind().as_deref(), Some(r.kind_name()));
        }
        let kinds = Events::value_variants().iter().filter_map(|e| e.kind());
        assert_eq!(kinds.count(), records.len(), "no value without its record");
    }

    fn events(flag: &[&str]) -> Result<EventsFile, String> {
        let mut line = vec!["cascade", "run", "s.json"];
        for f in flag {
            line.extend(["--events", f]);
        }
        match Cli::try_parse_from(line)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::Run(args) => events_file(&args.events),
            _ => unreachable!("a run command line"),
        }
    }

    fn only(kinds: &[&str]) -> EventsFile {
        EventsFile::Only(kinds.iter().map(|k| k.to_string()).collect())
    }

    #[test]
    fn events_takes_all_none_or_a_list_of_kinds() {
        assert_eq!(events(&["none"]), Ok(EventsFile::Off));
        assert_eq!(events(&["all"]), Ok(EventsFile::Every));
        assert_eq!(
            events(&["action,detected"]),
            Ok(only(&["action", "detected"]))
        );
        assert_eq!(
            events(&["action, detected"]),
            Ok(only(&["action", "detected"]))
        );
        assert!(events(&["all,action"]).is_err());
        assert!(events(&["pool_deleted"])
            .unwrap_err()
            .contains("possible values"));
    }

    #[test]
    fn events_by_default_is_every_kind_but_the_per_poll_answers() {
        let Ok(EventsFile::Only(kinds)) = events(&[]) else {
            panic!("a list of kinds")
        };
        assert_eq!(kinds.len(), 10);
        assert!(!kinds.contains("answer") && kinds.contains("cloud_call"));
    }
}
