//! The `cascade` command.
//!
//! Exit codes: 0 every expectation holds; 1 an expectation or invariant
//! failed; 2 bad input or usage.

mod chaos_cmd;

use cascade::report::folder;
use cascade::run::{reproduction_line, run_scenario, RunOptions};
use cascade::scenario;
use clap::{Parser, Subcommand};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cascade",
    version,
    about = "Deterministic incident simulation: replays the March 2025 chain and its counterfactuals"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario, prints its summary and writes its run folder.
    Run {
        /// The scenario file, e.g. scenarios/march-2025.json.
        scenario: PathBuf,
        /// Seed (default: the scenario's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the summary as one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Run folder (default: reports/runs/<scenario>/<seed>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write no run folder.
        #[arg(long)]
        no_report: bool,
        /// Trace kinds for events.jsonl: comma-separated, `all`, or `none`
        /// (default: all but the per-poll `answer` records).
        #[arg(long, value_name = "KINDS")]
        events: Option<String>,
        /// Log key events (in simulated time) to stderr.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Loads and validates scenario files without running them.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Chaos exploration: each seed draws a fault schedule from the profile;
    /// failures are classified (safety, liveness) and shrunk to minimal.json.
    Chaos(chaos_cmd::Args),
    /// Overlays two or more runs (run folders or scenario files) on one page.
    Compare {
        /// Run folders (with summary.json and series.json) or scenario files.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// Output page (default: reports/runs/compare/<names>.html).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(EXIT_USAGE),
            };
        }
    };
    match cli.command {
        Command::Run {
            scenario,
            seed,
            json,
            out,
            no_report,
            events,
            verbose,
        } => {
            init_logs(verbose);
            cmd_run(&scenario, seed, json, out, no_report, events.as_deref())
        }
        Command::Check { scenarios } => cmd_check(&scenarios),
        Command::Compare { runs, out } => cmd_compare(&runs, out),
        Command::Chaos(args) => chaos_cmd::run(args),
    }
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

fn cmd_check(scenarios: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for p in scenarios {
        match scenario::load(p) {
            Ok(s) => println!(
                "ok    {} ({}, {} timeline items, {} expectations)",
                p.display(),
                s.name,
                s.timeline.items.len(),
                s.expectations.len()
            ),
            Err(e) => {
                eprintln!("error {e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Trace kinds for events.jsonl from the `--events` flag.
fn event_kinds(flag: Option<&str>) -> Option<Option<BTreeSet<String>>> {
    const DEFAULT: [&str; 12] = [
        "cloud_call",
        "cloud_done",
        "agent_died",
        "agent_restarted",
        "blocked",
        "action",
        "detected",
        "note",
        "cluster_restored",
        "auth_minute",
        "finding",
        "change",
    ];
    match flag {
        None => Some(Some(DEFAULT.iter().map(|s| s.to_string()).collect())),
        Some("none") => None,
        Some("all") => Some(None),
        Some(list) => Some(Some(
            list.split(',').map(|s| s.trim().to_string()).collect(),
        )),
    }
}

fn progress_bar(end_h: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None; // quiet in CI and pipes
    }
    let bar = indicatif::ProgressBar::new(end_h);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} simulating {pos}/{len} h [{bar:40}] {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}

fn cmd_run(
    path: &Path,
    seed: Option<u64>,
    json: bool,
    out: Option<PathBuf>,
    no_report: bool,
    events: Option<&str>,
) -> ExitCode {
    let sc = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let seed_used = seed.unwrap_or(sc.seed);
    if !json {
        println!("SEED={seed_used}");
    }
    let dir = out.unwrap_or_else(|| folder::default_run_dir(&sc.name, seed_used));
    let mut events_sink: Option<Box<dyn std::io::Write>> = None;
    let kinds = event_kinds(events);
    if !no_report {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("error: cannot create {}: {e}", dir.display());
            return ExitCode::from(EXIT_USAGE);
        }
        if kinds.is_some() {
            let p = dir.join("events.jsonl");
            match std::fs::File::create(&p) {
                Ok(f) => events_sink = Some(Box::new(std::io::BufWriter::new(f))),
                Err(e) => {
                    eprintln!("error: cannot create {}: {e}", p.display());
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        } else {
            let _ = std::fs::remove_file(dir.join("events.jsonl"));
        }
    }
    let bar = progress_bar(sc.end.as_secs() / 3_600);
    let bar_in_run = bar.clone();
    let result = run_scenario(
        &sc,
        RunOptions {
            seed,
            events_sink,
            events_kinds: kinds.flatten(),
            progress: Some(Box::new(move |now, _end| {
                if let Some(b) = &bar_in_run {
                    b.set_position(now.as_secs() / 3_600);
                }
            })),
            ..RunOptions::default()
        },
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let s = &result.summary;
    let reproduce = reproduction_line(&path.display().to_string(), seed_used);
    if !no_report {
        if let Err(e) = folder::write_run_folder(&dir, s, &result.series, &reproduce) {
            eprintln!("error: cannot write the run folder: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
        if let Some(reports) = dir
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "reports"))
        {
            let _ = folder::point_latest(reports, &dir);
        }
    }
    if json {
        match serde_json::to_string_pretty(s) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot encode the summary: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    } else {
        print!("{}", cascade::report::render_text(s));
        if !no_report {
            println!(
                "report    {}/report.html (and summary.json, summary.md, trace.json, events.jsonl)",
                dir.display()
            );
        }
        println!("reproduce: {reproduce}");
    }
    if s.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

fn cmd_compare(runs: &[PathBuf], out: Option<PathBuf>) -> ExitCode {
    let mut loaded = Vec::new();
    for p in runs {
        if p.is_dir() {
            match folder::load_run_folder(p) {
                Ok(r) => loaded.push(r),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        } else {
            let sc = match scenario::load(p) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            eprintln!("running {} (seed {})", p.display(), sc.seed);
            let r = run_scenario(&sc, RunOptions::default());
            loaded.push((r.summary, r.series));
        }
    }
    let names: Vec<String> = loaded.iter().map(|(s, _)| s.scenario.clone()).collect();
    let out = out.unwrap_or_else(|| {
        Path::new("reports/runs/compare").join(format!("{}.html", names.join("--vs--")))
    });
    if let Some(parent) = out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Err(e) = std::fs::write(&out, cascade::report::html::render_compare(&loaded)) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::from(EXIT_FAILED);
    }
    println!("compare   {}", out.display());
    ExitCode::SUCCESS
}
