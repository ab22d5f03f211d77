//! `cascade compare`: overlays two or more runs (run folders or scenario
//! files, run first) on one page with a table of differences.

use super::exit::{self, Exit};
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
    /// Output page (default: reports/runs/compare/<names>.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let mut loaded = Vec::new();
    for p in &args.runs {
        if p.is_dir() {
            match folder::load_run_folder(p) {
                Ok(r) => loaded.push(r),
                Err(e) => return exit::usage(e),
            }
        } else {
            let sc = match scenario::load(p) {
                Ok(s) => s,
                Err(e) => return exit::usage(e),
            };
            if let Err(m) = crate::run::check_work_budget(&sc, crate::run::WORK_MAX_DEFAULT) {
                return exit::usage(m);
            }
            eprintln!("running {} (seed {})", p.display(), sc.seed);
            let r = run_scenario(&sc, RunOptions::default());
            loaded.push((r.summary, r.series));
            // Its paired variants, each once, on the same seed.
            let mut seen: Vec<Vec<String>> = Vec::new();
            for spec in sc.expectations.iter().filter_map(|e| e.variant()) {
                if seen.contains(&spec.changes()) {
                    continue;
                }
                seen.push(spec.changes());
                let v = match scenario::variant(&sc, &spec) {
                    Ok(v) => v,
                    Err(e) => return exit::usage(e),
                };
                eprintln!(
                    "running its variant: {} ({})",
                    spec.about,
                    spec.changes().join(", ")
                );
                let r = run_scenario(&v, RunOptions::default());
                loaded.push((r.summary, r.series));
            }
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
    let out = args.out.unwrap_or_else(|| {
        Path::new("reports/runs/compare").join(format!("{}.html", names.join("--vs--")))
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

/// Whether `bytes` are a page `cascade compare` wrote (by its head): the
/// only file `--out` replaces.
fn is_compare_page(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1_024)];
    head.starts_with(b"<!doctype html>")
        && head
            .windows(b"<title>cascade compare</title>".len())
            .any(|w| w == b"<title>cascade compare</title>")
}
