//! The `cascade` command.
//!
//! Exit codes: 0 every expectation holds; 1 an expectation or invariant
//! failed; 2 bad input or usage.

use cascade::run::{reproduction_line, run_scenario, RunOptions};
use cascade::scenario;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
    /// Runs a scenario and prints its summary.
    Run {
        /// The scenario file, e.g. scenarios/march-2025.json.
        scenario: PathBuf,
        /// Seed (default: the scenario's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the summary as one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Stream the trace as JSON Lines to this file.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
    },
    /// Loads and validates scenario files without running them.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
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
            events,
        } => cmd_run(&scenario, seed, json, events),
        Command::Check { scenarios } => {
            let mut bad = false;
            for p in &scenarios {
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
    }
}

fn cmd_run(
    path: &std::path::Path,
    seed: Option<u64>,
    json: bool,
    events: Option<PathBuf>,
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
    let events_sink: Option<Box<dyn std::io::Write>> = match &events {
        None => None,
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some(Box::new(std::io::BufWriter::new(f))),
            Err(e) => {
                eprintln!("error: cannot create {}: {e}", p.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
    };
    let result = run_scenario(
        &sc,
        RunOptions {
            seed,
            events_sink,
            ..RunOptions::default()
        },
    );
    let s = &result.summary;
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
        println!(
            "reproduce: {}",
            reproduction_line(&path.display().to_string(), seed_used)
        );
    }
    if s.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
