//! `cascade chaos`: the sweep over seeds, in parallel, with the closing table.

use super::exit::{usage, Exit};
use super::progress_bar;
use super::{parse_range, sweep_digest, two_numbers, SeedPlan};
use crate::chaos::shrink::shrink;
use crate::chaos::{Chaos, FailureClass, Verdict};
use crate::coverage::Reached;
use crate::files::terminal_safe;
use crate::model::bugs::Bug;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

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
    /// Output folder for failures (default: reports/chaos/<profile>).
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
    /// Stop at the first failing seed.
    #[arg(long)]
    pub stop_on_failure: bool,
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

/// The sweep's time-to-converge after the last fault heals, and the
/// statistical liveness gate on its p99.
struct SettleSpread {
    seeds: usize,
    /// Seeds that never converged (or panicked): infinite times.
    never: usize,
    /// Nearest-rank percentiles, in seconds (infinite when a never-converged
    /// seed reaches the rank).
    p50_s: f64,
    p99_s: f64,
    max_s: f64,
    bound_h: f64,
}

impl SettleSpread {
    fn of(times: impl Iterator<Item = Option<f64>>, bound_h: f64) -> SettleSpread {
        let mut v: Vec<f64> = times.map(|t| t.unwrap_or(f64::INFINITY)).collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
            v.get(rank - 1).copied().unwrap_or(0.0)
        };
        SettleSpread {
            seeds: v.len(),
            never: v.iter().filter(|x| x.is_infinite()).count(),
            p50_s: at(0.50),
            p99_s: at(0.99),
            max_s: v.last().copied().unwrap_or(0.0),
            bound_h,
        }
    }

    /// The gate: p99 within the profile's bound.
    fn holds(&self) -> bool {
        self.p99_s <= self.bound_h * 3_600.0
    }

    fn line(&self) -> String {
        let h = |s: f64| {
            if s.is_finite() {
                format!("{:.2} h", s / 3_600.0)
            } else {
                "never".to_string()
            }
        };
        format!(
            "time to converge after the last fault heals, {} seeds: p50 {} · p99 {} · max {} · never converged {} · gate p99 <= {} h: {}",
            self.seeds,
            h(self.p50_s),
            h(self.p99_s),
            h(self.max_s),
            self.never,
            self.bound_h,
            if self.holds() { "holds" } else { "EXCEEDED (liveness, exit 4)" }
        )
    }

    fn json(&self) -> Value {
        let s = |x: f64| x.is_finite().then_some(x);
        json!({
            "seeds": self.seeds,
            "never": self.never,
            "p50_s": s(self.p50_s),
            "p99_s": s(self.p99_s),
            "max_s": s(self.max_s),
            "p99_h_bound": self.bound_h,
            "gate_holds": self.holds(),
        })
    }
}

struct Outcome {
    seed: u64,
    verdict: Verdict,
    deterministic: bool,
    chosen: Vec<String>,
}

pub fn run(a: Args) -> ExitCode {
    let mut chaos = match Chaos::load(&a.profile) {
        Ok(c) => c,
        Err(e) => return usage(e.to_string()),
    };
    chaos.set_events_max(a.events_max);
    let bug = a.bug;
    let (start, end) = match &a.seeds {
        Some(r) => match parse_range(r) {
            Ok(x) => x,
            Err(e) => return usage(e),
        },
        None => match a.seed.checked_add(a.count) {
            Some(end) => (a.seed, end),
            None => {
                return usage(format!(
                    "--seed {} --count {}: the range ends past the largest seed, {}",
                    a.seed,
                    a.count,
                    u64::MAX
                ))
            }
        },
    };
    let shard = match a.shard.as_deref().map(parse_shard) {
        None => None,
        Some(Ok(kn)) => Some(kn),
        Some(Err(e)) => return usage(e),
    };
    // Counted from the bounds, before any list is allocated.
    let plan = SeedPlan { start, end, shard };
    if plan.len() > MAX_SEEDS {
        return usage(format!(
            "{} seeds asked for; at most {MAX_SEEDS} per invocation (split with --shard)",
            plan.len()
        ));
    }
    if plan.len() == 0 {
        return usage(format!(
            "--shard {}: no seed of {start}..{end} falls in this shard",
            a.shard.as_deref().unwrap_or_default()
        ));
    }
    let runs_per_seed = if a.check_determinism { 2.0 } else { 1.0 };
    let work = chaos.work_per_seed_max() * runs_per_seed * plan.len() as f64;
    if work > a.work_max as f64 {
        return usage(format!(
            "{}: the sweep implies up to {work:.2e} agent polls and auth ticks ({} seeds{}, each at most {:.2e}: the base's fleet over the longest scenario the profile generates), above the budget of {:.2e}; raise it with --work-max if that is meant",
            a.profile.display(),
            plan.len(),
            if a.check_determinism { " run twice" } else { "" },
            chaos.work_per_seed_max(),
            a.work_max as f64
        ));
    }
    let seeds = plan.seeds();
    let jobs = a.jobs as usize;
    let profile_name = chaos.profile.profile.name.clone();
    // With --json, stdout carries the JSON document alone; what a person
    // reads goes to stderr.
    macro_rules! say {
        ($($arg:tt)*) => {
            if a.json {
                eprintln!($($arg)*)
            } else {
                println!($($arg)*)
            }
        };
    }
    say!("SEED={}", seeds[0]);
    say!(
        "profile {} ({}) · {} seeds {}..{}{}{} · jobs {}",
        profile_name,
        a.profile.display(),
        seeds.len(),
        start,
        end,
        a.shard
            .as_deref()
            .map(|s| format!(" · shard {s}"))
            .unwrap_or_default(),
        bug.map(|b| format!(" · seeded bug {}", b.name()))
            .unwrap_or_default(),
        jobs
    );
    let single = seeds.len() == 1;
    let bar = if single || a.json {
        None
    } else {
        progress_bar(
            seeds.len() as u64,
            "{spinner} seeds {pos}/{len} [{bar:40}] {per_sec} {elapsed}",
        )
    };
    // Wall-clock timing of the sweep, outside the simulated world.
    #[allow(clippy::disallowed_methods)]
    let t0 = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(seeds.len()) {
            s.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&seed) = seeds.get(i) else { break };
                let case = chaos.case(seed, bug);
                let doc = chaos.document(&case);
                match chaos.run_document(&doc) {
                    Ok((v, _)) => {
                        let deterministic = !a.check_determinism
                            || chaos
                                .run_document(&doc)
                                .map(|(v2, _)| v2.trace_hash == v.trace_hash)
                                .unwrap_or(false);
                        if v.class.is_some() && a.stop_on_failure {
                            stop.store(true, Ordering::SeqCst);
                        }
                        results.lock().expect("lock").push(Outcome {
                            seed,
                            verdict: v,
                            deterministic,
                            chosen: case.chosen,
                        });
                    }
                    Err(e) => errors
                        .lock()
                        .expect("lock")
                        .push(format!("seed {seed}: {e}")),
                }
                if let Some(b) = &bar {
                    b.inc(1);
                }
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall = t0.elapsed();
    let errors = errors.into_inner().expect("lock");
    if let Some(e) = errors.first() {
        return usage(format!(
            "a generated scenario did not load (a bug in the profile or generator): {e}"
        ));
    }
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|r| r.seed);
    for r in &results {
        if single || a.verbose || r.verdict.class.is_some() {
            say!(
                "seed {}: {} · hash {}{}",
                r.seed,
                r.verdict.signature,
                r.verdict.trace_hash,
                if r.deterministic {
                    ""
                } else {
                    " · NOT DETERMINISTIC"
                }
            );
            for c in &r.chosen {
                say!("    chose  {c}");
            }
            for d in &r.verdict.details {
                say!("    found  {d}");
            }
        }
    }
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports/chaos").join(&profile_name));
    let failures: Vec<&Outcome> = results
        .iter()
        .filter(|r| r.verdict.class.is_some())
        .collect();
    // Shrink the first failure of each signature, then others, up to shrink_max.
    let mut to_shrink: Vec<&Outcome> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in &failures {
        if seen.insert(f.verdict.signature.clone()) {
            to_shrink.push(f);
        }
    }
    for f in &failures {
        if !to_shrink.iter().any(|x| x.seed == f.seed) {
            to_shrink.push(f);
        }
    }
    to_shrink.truncate(if a.no_shrink { 0 } else { a.shrink_max });
    let profile_arg = a.profile.display().to_string();
    let events_flag = a
        .events_max
        .map(|n| format!(" --events-max {n}"))
        .unwrap_or_default();
    for f in &to_shrink {
        let case = chaos.case(f.seed, bug);
        let shrunk = shrink(&chaos, &case, &f.verdict);
        let dir = out_dir.join(format!("seed-{}", f.seed));
        let minimal = dir.join("minimal.json");
        let json = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
        let lines = format!(
            "reproduce the seed: cargo run --release -- chaos {profile_arg} --seed {}{}{events_flag}\nreproduce the file: cargo run --release -- run {}{events_flag}\n",
            f.seed,
            bug.map(|b| format!(" --bug {}", b.name()))
                .unwrap_or_default(),
            minimal.display()
        );
        // A failure to write is reported; the exit code stays the seed's
        // verdict, and the lines below still reproduce it.
        if let Err(e) = write_seed_report(
            &dir,
            &[
                ("original.json", json(&chaos.document(&case)), is_chaos_case),
                ("minimal.json", json(&shrunk.document), is_chaos_case),
                // Beside the files, so that an uploaded folder says how to replay it.
                ("reproduce.txt", lines.clone(), is_reproduce_text),
            ],
        ) {
            super::exit::say_error(format_args!("cannot write the chaos report: {e}"));
        }
        say!(
            "\nseed {} ({}) shrunk in {} runs to {} fault(s), {} base item(s), {} clusters: {}",
            f.seed,
            f.verdict.signature,
            shrunk.attempts,
            shrunk.case.faults.len(),
            shrunk.case.base_items.len(),
            shrunk.case.clusters,
            shrunk.case.chosen.join("; ")
        );
        for line in lines.lines() {
            say!("    {line}");
        }
        if let Some(dir) = &a.promote {
            let said = promote(&chaos, &shrunk.document, dir, &profile_name, f.seed);
            say!("    {said}");
        }
    }
    let panics = failures
        .iter()
        .filter(|r| r.verdict.class == Some(FailureClass::Panic))
        .count();
    let safety = failures
        .iter()
        .filter(|r| r.verdict.class == Some(FailureClass::Safety))
        .count();
    let liveness = failures
        .iter()
        .filter(|r| r.verdict.class == Some(FailureClass::Liveness))
        .count();
    let incomplete = failures
        .iter()
        .filter(|r| r.verdict.class == Some(FailureClass::Incomplete))
        .count();
    let nondet = results.iter().filter(|r| !r.deterministic).count();
    let runs = results.len() * if a.check_determinism { 2 } else { 1 };
    let mut by_sig = std::collections::BTreeMap::new();
    for f in &failures {
        *by_sig.entry(f.verdict.signature.clone()).or_insert(0u32) += 1;
    }
    say!("\n| seeds run | passed | panic | safety | liveness | nondeterministic | runs/s | wall |");
    say!("|---|---|---|---|---|---|---|---|");
    say!(
        "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} s |",
        results.len(),
        results.len() - failures.len(),
        panics,
        safety,
        liveness,
        if a.check_determinism {
            nondet.to_string()
        } else {
            "not checked".into()
        },
        runs as f64 / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64()
    );
    if !by_sig.is_empty() {
        say!(
            "failures by signature: {by_sig:?}; first failing seed: {}",
            failures[0].seed
        );
    }
    // State coverage: per interesting state, the seeds that reached it.
    let reached_by: Vec<(Reached, usize)> = Reached::ALL
        .iter()
        .map(|&s| {
            let n = results
                .iter()
                .filter(|r| r.verdict.coverage.get(s.name()).is_some_and(|&c| c > 0))
                .count();
            (s, n)
        })
        .collect();
    say!("\n| state reached | seeds |");
    say!("|---|---|");
    for (s, n) in &reached_by {
        say!("| {} | {n} / {} |", s.name(), results.len());
    }
    for s in &chaos.profile.profile.should_reach {
        if reached_by.iter().any(|(x, n)| x == s && *n == 0) {
            say!(
                "coverage finding: the profile should reach {} but no seed of {} did",
                s.name(),
                results.len()
            );
        }
    }
    let settle = SettleSpread::of(
        results.iter().map(|r| r.verdict.time_to_converge_s),
        chaos.profile.profile.converge_p99_h_bound(),
    );
    say!("{}", settle.line());
    let digest = sweep_digest(
        results
            .iter()
            .map(|r| (r.seed, r.verdict.trace_hash.as_str())),
    );
    say!(
        "trace hashes: digest {digest} over {} seeds (each seed's hash: --verbose or --json)",
        results.len()
    );
    let reproduce = format!(
        "cargo run --release -- chaos {profile_arg} --seeds {start}..{end}{}{}{events_flag}",
        a.shard
            .as_deref()
            .map(|s| format!(" --shard {s}"))
            .unwrap_or_default(),
        bug.map(|b| format!(" --bug {}", b.name()))
            .unwrap_or_default()
    );
    if a.json {
        // Deterministic: no wall time, so two machines' documents compare whole.
        let doc = json!({
            "profile": profile_name,
            "profile_file": profile_arg,
            "seeds": {"start": start, "end": end, "shard": a.shard, "run": results.len()},
            "seeded_bug": bug.map(|b| b.name()),
            "counts": {
                "passed": results.len() - failures.len(),
                "panic": panics,
                "safety": safety,
                "liveness": liveness,
                "incomplete": incomplete,
                "nondeterministic": a.check_determinism.then_some(nondet),
            },
            "digest": digest,
            "time_to_converge": settle.json(),
            "coverage": reached_by
                .iter()
                .map(|(s, n)| (s.name().to_string(), json!(n)))
                .collect::<serde_json::Map<String, Value>>(),
            "runs": results.iter().map(|r| json!({
                "seed": r.seed,
                "signature": r.verdict.signature,
                "trace_hash": r.verdict.trace_hash,
                "deterministic": a.check_determinism.then_some(r.deterministic),
            })).collect::<Vec<_>>(),
            "reproduce": reproduce,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    say!("reproduce: {reproduce}");
    if nondet > 0 {
        Exit::Nondeterministic.into()
    } else if panics > 0 {
        FailureClass::Panic.exit_code().into()
    } else if incomplete > 0 {
        FailureClass::Incomplete.exit_code().into()
    } else if safety > 0 {
        FailureClass::Safety.exit_code().into()
    } else if liveness > 0 || !settle.holds() {
        FailureClass::Liveness.exit_code().into()
    } else {
        Exit::Ok.into()
    }
}

/// Writes a regression scenario: the shrunk schedule against the fixed agent
/// (all guards, no seeded bug), kept only if it passes. Returns the line to
/// show (errors are printed to stderr here).
fn promote(chaos: &Chaos, minimal: &Value, dir: &Path, profile: &str, seed: u64) -> String {
    let mut doc = minimal.clone();
    let all = json!({"g1_authoritative_only": true, "g2_tombstones": true, "g3_monotonic_generation": true,
        "g4_confirmation": true, "g5_blast_radius": true, "g6_delete_locks": true, "g7_backoff": true, "g8_soft_delete": true});
    doc["model"]["agent_guards"] = all.clone();
    doc["model"]["hotfix_guards"] = all;
    for section in Bug::SECTIONS {
        if let Some(s) = doc["model"]
            .get_mut(section)
            .and_then(|a| a.as_object_mut())
        {
            s.remove("seeded_bug");
        }
    }
    // Both derived names stay valid names for any valid profile name.
    let seed_suffix = format!("-seed-{seed}");
    let name = crate::files::derived_name(profile, &seed_suffix);
    doc["name"] = json!(crate::files::derived_name(
        &format!("regression-{profile}"),
        &seed_suffix
    ));
    doc["description"] = json!(format!(
        "Shrunk by cascade chaos from profile {profile}, seed {seed}; the schedule that broke that configuration, replayed against the fixed agent with every guard, which must hold. Original: {}",
        minimal["description"].as_str().unwrap_or("")
    ));
    match chaos.run_document(&doc) {
        Ok((v, _)) if v.class.is_none() => {
            let p = dir.join(format!("{name}.json"));
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            let written = std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: {e}", terminal_safe(&dir.display().to_string())))
                .and_then(|()| {
                    crate::files::write_replacing_own(&p, text.as_bytes(), is_promoted)
                        .map_err(|e| e.to_string())
                });
            match written {
                Ok(()) => format!("promoted to {}", p.display()),
                Err(e) => {
                    super::exit::say_error(format_args!("not promoted: {e}"));
                    "not promoted: see the error above".to_string()
                }
            }
        }
        Ok((v, _)) => format!(
            "not promoted: the fixed agent fails this schedule too ({})",
            v.signature
        ),
        Err(e) => {
            super::exit::say_error(&e);
            "not promoted: see the error above".to_string()
        }
    }
}

/// One file of a seed's report: its name, its text, and the test that
/// recognises a file of that name as cascade's.
type ReportFile<'a> = (&'a str, String, fn(&[u8]) -> bool);

/// Writes the files of one seed's report into `dir` (made if missing; a
/// link or anything but a folder is refused), each replacing only a file
/// its test recognises as cascade's. Every file is checked before any is
/// written, so a report is never half of cascade's and half a user's.
fn write_seed_report(dir: &Path, files: &[ReportFile]) -> Result<(), String> {
    let shown = |p: &Path| terminal_safe(&p.display().to_string()).into_owned();
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "{}: not a folder cascade made; left as it is",
                shown(dir)
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", shown(dir)))?
        }
        Err(e) => return Err(format!("{}: {e}", shown(dir))),
    }
    for (name, text, own) in files {
        let p = dir.join(name);
        if crate::files::check_replaceable(&p).map_err(|e| e.to_string())? {
            let old = crate::files::read_to_string_capped(&p, crate::files::RUN_FILE_BYTES_MAX)
                .map_err(|m| format!("{}: {m}", shown(&p)))?;
            if old != *text && !own(old.as_bytes()) {
                return Err(format!(
                    "{}: a file cascade did not write; left as it is",
                    shown(&p)
                ));
            }
        }
    }
    for (name, text, own) in files {
        crate::files::write_replacing_own(&dir.join(name), text.as_bytes(), own)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The `description` of a JSON document, if it has one.
fn description(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v.get("description")?.as_str().map(str::to_owned)
}

/// Whether `bytes` are a case chaos wrote (`original.json`, `minimal.json`).
fn is_chaos_case(bytes: &[u8]) -> bool {
    description(bytes).is_some_and(|d| d.starts_with("Chaos case of profile "))
}

/// Whether `bytes` are a `reproduce.txt` chaos wrote.
fn is_reproduce_text(bytes: &[u8]) -> bool {
    bytes.starts_with(b"reproduce the seed: cargo run --release -- chaos ")
}

/// Whether `bytes` are a regression scenario `--promote` wrote.
fn is_promoted(bytes: &[u8]) -> bool {
    description(bytes).is_some_and(|d| d.starts_with("Shrunk by cascade chaos from profile "))
}
