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
    /// Runs a slice of a scenario in the wire tier: real HTTP servers and
    /// agents over turmoil's simulated network and clock.
    Wire {
        /// The scenario file, e.g. scenarios/march-2025.json.
        scenario: PathBuf,
        /// Seed (default: the scenario's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Clusters in the slice (half hit by the first misroute, half spared).
        #[arg(long, default_value_t = 30)]
        clusters: u32,
        /// Window start (`D4 21:30`, `+2h`, or UTC); default 30 min before the first misroute.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Window length (`5h`); default 5 h.
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Agents per turmoil host (default: one each up to 40 agents).
        #[arg(long)]
        agents_per_host: Option<u32>,
        /// Simulated time per turmoil step, in milliseconds.
        #[arg(long, default_value_t = 100)]
        tick_ms: u64,
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
        Command::Wire {
            scenario,
            seed,
            clusters,
            from,
            duration,
            agents_per_host,
            tick_ms,
        } => cmd_wire(
            &scenario,
            seed,
            clusters,
            from.as_deref(),
            duration.as_deref(),
            agents_per_host,
            tick_ms,
        ),
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

fn cmd_wire(
    path: &std::path::Path,
    seed: Option<u64>,
    clusters: u32,
    from: Option<&str>,
    duration: Option<&str>,
    agents_per_host: Option<u32>,
    tick_ms: u64,
) -> ExitCode {
    use cascade::wire::{harness, plan, WireOptions};
    let sc = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let steps = plan::steps(&sc.timeline, &sc.model.change);
    let mut window = plan::default_window(&steps, sc.end);
    if let Some(f) = from {
        match scenario::parse_time(&sc.epoch, f) {
            Ok(t) => {
                window.start = t;
                window.len = sc.end.saturating_since(t).min(plan::WINDOW_LEN);
            }
            Err(m) => {
                eprintln!("error: --from: {m}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    if let Some(d) = duration {
        match cascade::sim::parse_duration(d) {
            Ok(d) => window.len = d,
            Err(m) => {
                eprintln!("error: --for: {m}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let seed_used = seed.unwrap_or(sc.seed);
    println!("SEED={seed_used}");
    let opts = WireOptions {
        seed,
        clusters,
        window: Some(window),
        agents_per_host,
        tick: std::time::Duration::from_millis(tick_ms),
        ..WireOptions::default()
    };
    // Allowed: the wall time of the whole run is reported to the user; it is
    // read outside the simulated world and never enters it.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let r = match harness::run_slice(&sc, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let wall = started.elapsed();
    print!("{}", harness::render_text(&r, &sc));
    println!(
        "wall time {:.1} s for {} simulated ({:.2} s per simulated hour)",
        wall.as_secs_f64(),
        r.window.len,
        wall.as_secs_f64() / (r.window.len.as_secs_f64() / 3_600.0)
    );
    let line =
        harness::reproduction_line(&path.display().to_string(), seed_used, clusters, r.window);
    println!("reproduce: {line}");
    if r.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
