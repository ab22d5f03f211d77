//! `cargo test scenarios`: runs every scenario file under `scenarios/`
//! (subfolders included) and checks its expectations.
//!
//! A custom test harness (`harness = false`) so that each scenario file is one
//! test named `scenarios::<path without .json>`: the literal command
//! `cargo test scenarios` selects all of them (cargo passes `scenarios` as a
//! name filter to every test binary), and plain `cargo test` runs them too.
//! Files whose name starts with `_` are bases for `extends` (or for chaos
//! profiles) only; `*.profile.json` files are chaos profiles and `*.schema.json`
//! the formats' JSON Schemas (`cascade schema`), not scenarios;
//! `scenarios/scale/` holds the scale scenarios, which the bench command
//! runs (ARCHITECTURE.md, "Measured figures"), not this runner.
//!
//! Committed canonical reports (`reports/march-2025/*/summary.json`) must
//! not drift: when a scenario has one for the seed being run, the fresh trace
//! hash must equal the committed one (regenerate with
//! `reports/regenerate.sh`).
//!
//! `CASCADE_SEED=N` overrides every scenario's seed. A failing scenario
//! prints its seed and a copy-paste reproduction line. Runs are independent,
//! so they are spread over the machine's cores (each run is single-threaded
//! and deterministic on its own).

use cascade::run::{reproduction_line, run_scenario, RunOptions};
use cascade::scenario;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn find_scenarios(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            // The scale scenarios (10,000 to 1,000,000 clusters) are for the
            // bench command, not for every `cargo test`.
            if !p.ends_with("scale") {
                find_scenarios(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "json")
            && !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with('_') || n.ends_with(".profile.json") || n.ends_with(".schema.json")
            })
        {
            out.push(p);
        }
    }
}

struct Args {
    filters: Vec<String>,
    exact: bool,
    list: bool,
    skip: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        filters: Vec::new(),
        exact: false,
        list: false,
        skip: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--exact" => a.exact = true,
            "--list" => a.list = true,
            "--skip" => a.skip.extend(it.next()),
            // Flags of the standard harness that take a value: ignore both.
            "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" => {
                it.next();
            }
            s if s.starts_with("--") => {}
            s => a.filters.push(s.to_string()),
        }
    }
    a
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files = Vec::new();
    find_scenarios(&root, &mut files);
    let args = parse_args();
    let named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap_or(&p).with_extension("");
            (format!("scenarios::{}", rel.display()), p)
        })
        .filter(|(name, _)| {
            let selected = args.filters.is_empty()
                || args.filters.iter().any(|f| {
                    if args.exact {
                        name == f
                    } else {
                        name.contains(f.as_str())
                    }
                });
            selected && !args.skip.iter().any(|s| name.contains(s.as_str()))
        })
        .collect();
    if args.list {
        for (name, _) in &named {
            println!("{name}: test");
        }
        return;
    }
    // Outside the simulated world: the seed override for reproducing a run.
    #[allow(clippy::disallowed_methods)]
    let seed_override = std::env::var("CASCADE_SEED").ok().map(|s| {
        s.parse::<u64>().unwrap_or_else(|_| {
            eprintln!("CASCADE_SEED must be an unsigned integer, found {s:?}");
            std::process::exit(2);
        })
    });
    println!("\nrunning {} tests", named.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, bool, String)>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(named.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((name, path)) = named.get(i) else {
                    break;
                };
                let (ok, report) = run_one(name, path, seed_override);
                println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
                results
                    .lock()
                    .expect("no poisoned lock")
                    .push((i, ok, report));
            });
        }
    });
    let mut results = results.into_inner().expect("no poisoned lock");
    results.sort_by_key(|r| r.0);
    let failed: Vec<&(usize, bool, String)> = results.iter().filter(|r| !r.1).collect();
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for (i, _, report) in &failed {
            println!("---- {} ----\n{report}", named[*i].0);
        }
        println!("failures:");
        for (i, _, _) in &failed {
            println!("    {}", named[*i].0);
        }
    }
    let passed = results.len() - failed.len();
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        0
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}

/// Committed canonical reports: (scenario source, seed) -> (trace hash, folder).
fn committed_reports() -> Vec<(String, u64, String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/march-2025");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let Ok(text) = std::fs::read_to_string(p.join("summary.json")) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let (Some(src), Some(seed), Some(hash)) = (
            v["source"].as_str(),
            v["seed"].as_u64(),
            v["trace_hash"].as_str(),
        ) {
            out.push((src.to_string(), seed, hash.to_string(), p.clone()));
        }
    }
    out
}

fn run_one(name: &str, path: &Path, seed_override: Option<u64>) -> (bool, String) {
    let rel = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let rel = rel.trim_start_matches('/').to_string();
    let sc = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => return (false, format!("{name}: cannot load: {e}")),
    };
    let seed = seed_override.unwrap_or(sc.seed);
    if sc.expectations.is_empty() {
        return (
            false,
            format!("{rel}: has no expectations: a scenario test must assert something"),
        );
    }
    let r = run_scenario(
        &sc,
        RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    );
    let s = &r.summary;
    let mut drift = Vec::new();
    for (src, committed_seed, hash, folder) in committed_reports() {
        if src == rel && committed_seed == seed && hash != s.trace_hash {
            drift.push(format!(
                "committed report {} has trace hash {hash}, a fresh run gives {}: behaviour changed; regenerate with reports/regenerate.sh and commit",
                folder.display(),
                s.trace_hash
            ));
        }
    }
    if s.passed() && drift.is_empty() {
        return (true, String::new());
    }
    let mut report = format!("SEED={seed}\n");
    for d in &drift {
        report.push_str(&format!("  DRIFT {d}\n"));
    }
    for e in &s.expectations {
        report.push_str(&format!(
            "  {} {}  [{}]\n",
            if e.passed { "PASS" } else { "FAIL" },
            e.name,
            e.detail
        ));
    }
    report.push_str(&format!("trace hash {}\n", s.trace_hash));
    report.push_str(&format!(
        "reproduce: CASCADE_SEED={seed} cargo test --test scenarios -- --exact {name}\n       or: {}\n",
        reproduction_line(&rel, seed)
    ));
    (false, report)
}
