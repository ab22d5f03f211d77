//! `cascade compare`: overlays two or more runs (run folders or scenario
//! files, run first) on one page with a table of differences.

use super::exit::{self, Exit};
use crate::pool::Pool;
use crate::report::folder;
use crate::run::{run_scenario, RunOptions};
use crate::scenario;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of `cascade compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Run folders (with summary.json and series.json) or scenario files.
    /// A scenario file with paired expectations also brings its variants
    /// (run with the same seed), so one file shows its pairs.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Output page (default: reports/runs/compare/NAMES.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Work budget in agent polls and auth ticks, as for `cascade run`:
    /// every scenario file's run and its variants' runs are counted
    /// before the first starts.
    #[arg(long, value_name = "N", default_value_t = crate::run::WORK_MAX_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub work_max: u64,
    /// Stop each run after this many events (default 2·10^9). A run
    /// stopped short is not compared: exit 7.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub events_max: Option<u64>,
}

/// A scenario given to `compare`, with what it brings: its paired
/// variants, each run on the scenario's seed beside it.
struct ToRun {
    scenario: scenario::Scenario,
    variants: Vec<crate::run::PairedVariant>,
}

/// Loads every argument that is not a run folder, and refuses the lot
/// when their work exceeds the budget (the main run counts its variants
/// once for its pairs, and compare runs each variant again for its page).
fn plan(args: &Args) -> Result<Vec<Option<ToRun>>, String> {
    let mut plan = Vec::new();
    let mut work = 0.0;
    for p in &args.runs {
        if p.is_dir() {
            plan.push(None);
            continue;
        }
        let sc = scenario::load(p).map_err(|e| e.to_string())?;
        let variants = crate::run::paired_variants(&sc);
        // The variants run twice: once for the pairs, once for the page.
        work += crate::run::planned_work(&sc, &variants) * 2.0 - crate::run::work_estimate(&sc);
        plan.push(Some(ToRun {
            scenario: sc,
            variants,
        }));
    }
    if work > args.work_max as f64 {
        return Err(format!(
            "compare: the runs imply about {work:.2e} agent polls and auth ticks (each scenario and its paired variants, which run twice: once for the pairs, once for the page), above the budget of {:.2e}; raise it with --work-max if that is meant",
            args.work_max as f64
        ));
    }
    Ok(plan)
}

/// Why a run cannot be compared: it panicked (exit 8) or stopped short
/// (exit 7). Its message names the scenario and says what happened.
struct NotCompared {
    exit: Exit,
    message: String,
}

/// One thing the page shows, in the order the arguments name them: a run
/// folder read back, or a scenario (or one of its paired variants) to run.
enum Source<'a> {
    Folder(&'a Path),
    Run {
        scenario: &'a scenario::Scenario,
        /// How an error names it: "the scenario", "the paired variant of".
        what: &'static str,
        /// The line said before it runs.
        announce: String,
    },
}

/// What the page gets from one source: a run's summary and series.
type Loaded = (crate::report::Summary, crate::report::series::Series);

/// Why a source gave nothing: a folder that does not load (a usage
/// error), or a run that cannot be compared.
enum NotLoaded {
    Folder(String),
    Run(NotCompared),
}

/// Reads or runs one source; a panic or a run cut short is no run.
fn load(source: &Source, args: &Args) -> Result<Loaded, NotLoaded> {
    let (sc, what, announce) = match source {
        Source::Folder(p) => return folder::load_run_folder(p).map_err(NotLoaded::Folder),
        Source::Run {
            scenario,
            what,
            announce,
        } => (*scenario, *what, announce),
    };
    eprintln!("{announce}");
    let opts = RunOptions {
        events_max: args.events_max,
        ..RunOptions::default()
    };
    let r = run_scenario(sc, opts);
    if let Some(why) = r.stopped_short(&sc.epoch) {
        return Err(NotLoaded::Run(NotCompared {
            exit: Exit::Incomplete,
            message: format!(
                "{what} {} (seed {}): {why}; its figures are partial, so it is not compared",
                sc.source.display(),
                sc.seed
            ),
        }));
    }
    Ok((r.summary, r.series))
}

/// A source whose run (or reading) panicked: exit 8, the place named.
fn panicked(source: &Source, p: &crate::run::Panicked) -> NotCompared {
    let message = match source {
        Source::Folder(dir) => format!(
            "the run folder {}: reading it {p} (a bug of cascade)",
            crate::files::terminal_safe(&dir.display().to_string())
        ),
        Source::Run { scenario: sc, what, .. } => format!(
            "{what} {} (seed {}): the run {p} (verdict: panic; a broken assertion of the logic under test or a bug of cascade)",
            sc.source.display(),
            sc.seed
        ),
    };
    NotCompared {
        exit: Exit::Panic,
        message,
    }
}

/// The sources of the page in argument order: each run folder, each
/// scenario followed by its paired variants (each once, on the same seed).
fn sources<'a>(args: &'a Args, plan: &'a [Option<ToRun>]) -> Vec<Source<'a>> {
    let mut sources = Vec::new();
    for (p, to_run) in args.runs.iter().zip(plan) {
        let Some(to_run) = to_run else {
            sources.push(Source::Folder(p));
            continue;
        };
        let sc = &to_run.scenario;
        sources.push(Source::Run {
            scenario: sc,
            what: "the scenario",
            announce: format!(
                "running {} (seed {})",
                crate::files::terminal_safe(&p.display().to_string()),
                sc.seed
            ),
        });
        for v in &to_run.variants {
            sources.push(Source::Run {
                scenario: &v.scenario,
                what: "the paired variant of",
                announce: format!(
                    "running its variant: {} ({})",
                    v.about,
                    v.changes.join(", ")
                ),
            });
        }
    }
    sources
}

pub fn run(args: Args) -> ExitCode {
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(m) => return exit::usage(m),
    };
    let sources = sources(&args, &plan);
    // One source at a time, in argument order: the lines said before each
    // run then read in the order of the page, and the first source that
    // gives nothing (or panics) stops the rest.
    let ran = Pool::new(1)
        .stop_after_panic()
        .run(&sources, |source, stop| {
            let loaded = load(source, &args);
            if loaded.is_err() {
                stop.request();
            }
            loaded
        });
    let mut loaded = Vec::new();
    for (source, r) in ran {
        match r {
            Ok(Ok(l)) => loaded.push(l),
            Ok(Err(NotLoaded::Folder(e))) => return exit::usage(e),
            Ok(Err(NotLoaded::Run(n))) => return not_compared(n, &args),
            Err(p) => return not_compared(panicked(source, &p), &args),
        }
    }
    if loaded.len() < 2 {
        return exit::usage(
            "compare: expected two runs or more (or one scenario file with paired expectations)",
        );
    }
    // Names come from the runs' own files, which may say anything: made
    // safe before they become a file name.
    let names: Vec<String> = loaded
        .iter()
        .map(|(s, _)| crate::files::path_safe_name(&s.scenario))
        .collect();
    let out = args.out.clone().unwrap_or_else(|| {
        // Many long names would pass the file system's limit on a name:
        // cut, with a digest that keeps distinct sets distinct.
        let stem = crate::files::derived_name(&names.join("--vs--"), "");
        Path::new("reports/runs/compare").join(format!("{stem}.html"))
    });
    if let Some(parent) = out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let page = crate::report::html::render_compare(&loaded);
    if let Err(e) = crate::files::write_replacing_own(&out, page.as_bytes(), is_compare_page) {
        return exit::output(format_args!("cannot write {e}"));
    }
    println!("compare   {}", out.display());
    Exit::Ok.into()
}

/// Reports a run that cannot be compared, with the line that reproduces
/// the whole command.
fn not_compared(n: NotCompared, args: &Args) -> ExitCode {
    eprintln!("error: {}", crate::files::terminal_safe(&n.message));
    let mut line = String::from("cargo run --release -- compare");
    for p in &args.runs {
        line.push(' ');
        line.push_str(&super::shell_quote(&p.display().to_string()));
    }
    if let Some(e) = args.events_max {
        line.push_str(&format!(" --events-max {e}"));
    }
    eprintln!("reproduce: {line}   # at commit {}", env!("CASCADE_COMMIT"));
    n.exit.into()
}

/// Whether `bytes` are a page `cascade compare` wrote (by its head): the
/// only file `--out` replaces.
fn is_compare_page(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1_024)];
    head.starts_with(b"<!doctype html>")
        && head
            .windows(b"<title>cascade compare</title>".len())
            .any(|w| w == b"<title>cascade compare</title>")
}
