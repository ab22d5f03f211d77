//! `cascade run`: runs a scenario, prints its summary (text or JSON) and
//! writes its run folder.

use super::exit::{self, Exit};
use crate::report::folder;
use crate::run::{reproduction_line, run_scenario, RunOptions};
use crate::scenario;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cascade run`.
#[derive(clap::Args)]
pub struct Args {
    /// The scenario file, e.g. scenarios/march-2025.json.
    pub scenario: PathBuf,
    /// Seed (default: the scenario's own).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run folder (default: reports/runs/<scenario>/<seed>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write no run folder.
    #[arg(long)]
    pub no_report: bool,
    /// Trace kinds for events.jsonl: comma-separated, `all`, or `none`
    /// (default: all but the per-poll `answer` records).
    #[arg(long, value_name = "KINDS")]
    pub events: Option<String>,
    /// Log key events (in simulated time) to stderr.
    #[arg(short, long)]
    pub verbose: bool,
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

pub fn run(args: Args) -> ExitCode {
    init_logs(args.verbose);
    let Args {
        scenario: path,
        seed,
        json,
        out,
        no_report,
        events,
        verbose: _,
    } = args;
    let sc = match scenario::load(&path) {
        Ok(s) => s,
        Err(e) => return exit::usage(e),
    };
    let seed_used = seed.unwrap_or(sc.seed);
    if !json {
        println!("SEED={seed_used}");
    }
    let dir = out.unwrap_or_else(|| folder::default_run_dir(&sc.name, seed_used));
    let mut events_sink: Option<Box<dyn std::io::Write>> = None;
    let kinds = event_kinds(events.as_deref());
    if !no_report {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return exit::usage(format_args!("cannot create {}: {e}", dir.display()));
        }
        if kinds.is_some() {
            let p = dir.join("events.jsonl");
            match std::fs::File::create(&p) {
                Ok(f) => events_sink = Some(Box::new(std::io::BufWriter::new(f))),
                Err(e) => return exit::usage(format_args!("cannot create {}: {e}", p.display())),
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
            return exit::failed(format_args!("cannot write the run folder: {e}"));
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
            Err(e) => return exit::failed(format_args!("cannot encode the summary: {e}")),
        }
    } else {
        print!("{}", crate::report::render_text(s));
        if !no_report {
            println!(
                "report    {}/report.html (and summary.json, summary.md, trace.json, events.jsonl)",
                dir.display()
            );
        }
        println!("reproduce: {reproduce}");
    }
    Exit::passed(s.passed()).into()
}
