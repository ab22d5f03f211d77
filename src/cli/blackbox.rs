//! `cascade blackbox`: a team's own agent (and recovery script) as
//! processes against a scenario's world on loopback; and `cascade verdict`,
//! which judges a recorded history again, offline.

use super::exit::{self, Exit};
use crate::blackbox::history::{Header, FORMAT};
use crate::blackbox::live::{self, Options, WallFacts};
use crate::blackbox::procs::CommandTemplate;
use crate::blackbox::{judge, replay};
use crate::outcome::Outcome;
use crate::report::folder;
use crate::report::series::Series;
use crate::report::summary::summarize;
use crate::scenario::{self, Override, Scenario};
use crate::world::World;
use cascade_sim::{SimDuration, SimTime};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

/// The arguments of `cascade blackbox`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario file.
    pub scenario: PathBuf,
    /// The agent's command, run by `/bin/sh` once per cluster: `{cluster}`,
    /// `{control_plane_url}`, `{cloud_url}`, `{token}`, `{time_scale}`,
    /// `{poll_interval_ms}` (also as CASCADE_* environment variables).
    #[arg(long)]
    pub agent_cmd: String,
    /// The agent's command once the rollout installed the fix (default:
    /// `--agent-cmd`).
    #[arg(long)]
    pub agent_cmd_after_fix: Option<String>,
    /// The recovery script's command, run when the responders restore with
    /// the script (`{clusters_file}`, `{service_url}`, `{cloud_url}`,
    /// `{token}`…); without it the model's script runs.
    #[arg(long)]
    pub recovery_cmd: Option<String>,
    /// A script run longer than this (simulated) is stopped.
    #[arg(long, default_value = "2h", value_name = "DURATION")]
    pub recovery_timeout: String,
    /// Clusters in the world (each one agent process).
    #[arg(long, default_value_t = 20)]
    pub clusters: u32,
    /// Simulated seconds per wall second.
    #[arg(long, default_value_t = 100)]
    pub time_scale: u32,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// When the processes take over from the model's agents (a scenario
    /// time such as `D4 21:00` or an RFC 3339 time); default: the start.
    #[arg(long)]
    pub from: Option<String>,
    /// How long the processes run (`21h`); default: to the scenario's end.
    #[arg(long = "for", value_name = "DURATION")]
    pub run_for: Option<String>,
    /// `KEY=VALUE` overrides of the scenario, as `cascade run --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// The run folder (default: reports/runs/blackbox-SCENARIO/SEED).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write into a folder cascade did not make (beside its files).
    #[arg(long)]
    pub force: bool,
    /// Live processes at most.
    #[arg(long, default_value_t = 1_000)]
    pub processes_max: usize,
    /// Each process's log at most, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    pub log_bytes_max: u64,
    /// The history at most, in bytes.
    #[arg(long, default_value_t = 4 << 30)]
    pub history_bytes_max: u64,
}

/// The arguments of `cascade verdict`.
#[derive(clap::Args)]
pub struct VerdictArgs {
    /// A black-box run folder (with `history.jsonl` and `scenario.json`).
    pub dir: PathBuf,
    /// Prints the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

const CLUSTERS_MAX: u32 = 1_000;
const TIME_SCALE_MAX: u32 = 100_000;

/// Builds what a run is given, or says what is wrong.
fn prepare(a: &Args) -> Result<(Options, PathBuf), String> {
    if a.clusters == 0 || a.clusters > CLUSTERS_MAX {
        return Err(format!(
            "--clusters: expected 1 to {CLUSTERS_MAX} (one process each), found {}",
            a.clusters
        ));
    }
    if a.time_scale == 0 || a.time_scale > TIME_SCALE_MAX {
        return Err(format!(
            "--time-scale: expected 1 to {TIME_SCALE_MAX}, found {}",
            a.time_scale
        ));
    }
    let template =
        |flag: &str, t: &str| CommandTemplate::parse(t).map_err(|e| format!("{flag}: {e}"));
    let agent_cmd = template("--agent-cmd", &a.agent_cmd)?;
    let after_fix = a
        .agent_cmd_after_fix
        .as_deref()
        .map(|t| template("--agent-cmd-after-fix", t))
        .transpose()?;
    let recovery_cmd = a
        .recovery_cmd
        .as_deref()
        .map(|t| template("--recovery-cmd", t))
        .transpose()?;
    let recovery_timeout = cascade_sim::parse_duration(&a.recovery_timeout)
        .map_err(|e| format!("--recovery-timeout: {e}"))?;
    let mut overrides = a.set.clone();
    overrides.push(
        Override::from_str(&format!("model.fleet.clusters={}", a.clusters))
            .map_err(|e| format!("--clusters: {e}"))?,
    );
    let mut sc = scenario::load_with(&a.scenario, &overrides).map_err(|e| e.to_string())?;
    let scenario_end_us = sc.end.as_micros();
    let from = match &a.from {
        Some(t) => scenario::parse_time(&sc.epoch, t).map_err(|e| format!("--from: {e}"))?,
        None => SimTime::ZERO,
    };
    if from >= sc.end {
        return Err(format!(
            "--from: expected a time before the scenario's end {}, found {}",
            sc.epoch.format(sc.end),
            sc.epoch.format(from)
        ));
    }
    if let Some(d) = &a.run_for {
        let d = cascade_sim::parse_duration(d).map_err(|e| format!("--for: {e}"))?;
        if d == SimDuration::ZERO {
            return Err("--for: expected a duration above zero".into());
        }
        sc.end = sc.end.min(from + d);
    }
    let seed = a.seed.unwrap_or(sc.seed);
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| folder::default_run_dir(&format!("blackbox-{}", sc.name), seed));
    let header = Header {
        format: FORMAT,
        commit: env!("CASCADE_COMMIT").to_string(),
        scenario: a.scenario.display().to_string(),
        overrides: overrides.iter().map(Override::to_string).collect(),
        seed,
        from_us: from.as_micros(),
        end_us: sc.end.as_micros(),
        scenario_end_us,
        script: recovery_cmd.is_some(),
        time_scale: a.time_scale,
        agent_cmd: a.agent_cmd.clone(),
        agent_cmd_after_fix: a.agent_cmd_after_fix.clone(),
        recovery_cmd: a.recovery_cmd.clone(),
    };
    let opts = Options {
        scenario: sc,
        header,
        agent_cmd,
        agent_cmd_after_fix: after_fix,
        recovery_cmd,
        recovery_timeout,
        dir: dir.clone(),
        processes_max: a.processes_max,
        log_bytes_max: a.log_bytes_max,
        history_bytes_max: a.history_bytes_max,
    };
    Ok((opts, dir))
}

pub fn run(a: Args) -> ExitCode {
    let (opts, dir) = match prepare(&a) {
        Ok(x) => x,
        Err(m) => return exit::usage(m),
    };
    let seed = opts.header.seed;
    let opts_end_us = opts.header.scenario_end_us;
    println!("seed      {seed}");
    let run_folder = match folder::RunFolder::open_with(&dir, a.force) {
        Ok(f) => f,
        Err(folder::OpenError::Busy(m)) => return exit::usage(m),
        Err(folder::OpenError::Refused(m)) => {
            return exit::output(format_args!("cannot write the run folder: {m}"))
        }
    };
    let scenario_copy = std::fs::read(&a.scenario)
        .and_then(|b| crate::files::write_atomically(&dir.join("scenario.json"), &b));
    if let Err(e) = scenario_copy {
        run_folder.abandon();
        return exit::output(format_args!(
            "cannot copy the scenario into {}: {e}",
            dir.display()
        ));
    }
    let sc = opts.scenario.clone();
    println!(
        "black box {} clusters, {} from {} to {} at {}x; servers on loopback; folder {}",
        sc.model.fleet.clusters,
        sc.name,
        sc.epoch.format(SimTime::from_micros(opts.header.from_us)),
        sc.epoch.format(sc.end),
        opts.header.time_scale,
        dir.display()
    );
    let reproduce = reproduction(&a, seed);
    let (host, facts) = match live::run(opts) {
        Ok(x) => x,
        Err(m) => {
            run_folder.abandon();
            eprintln!("reproduce: {reproduce}");
            return exit::failed(m);
        }
    };
    let ended_early = facts.interrupted || facts.stopped.is_some();
    let (world, outcome) = host.finish();
    let full_end = SimTime::from_micros(opts_end_us);
    let verdict = Verdict::of(&sc, seed, &world, &outcome, full_end);
    let s = verdict.summary;
    if ended_early {
        // No summary.json: a partial run does not pass for a finished one;
        // its history stays, for `cascade verdict`.
        run_folder.abandon();
    } else if let Err(e) = run_folder.finish(&s, &verdict.series, &reproduce, false) {
        return exit::output(format_args!("cannot write the run folder: {e}"));
    }
    print!(
        "{}",
        crate::files::terminal_safe(&crate::report::render_text(&s))
    );
    print_not_judged(&verdict.not_judged);
    print_wall(&facts, sc.model.agent.poll_interval_s);
    println!(
        "report    {}/report.html (and history.jsonl, logs/, summary.json)",
        dir.display()
    );
    println!(
        "re-judge: cascade verdict {}",
        super::shell_quote(&dir.display().to_string())
    );
    println!("reproduce: {reproduce}");
    if ended_early {
        eprintln!(
            "error: the run ended early ({}); its verdict covers the time it ran",
            facts
                .stopped
                .clone()
                .unwrap_or_else(|| "interrupted".into())
        );
        return Exit::Incomplete.into();
    }
    Exit::passed(s.passed()).into()
}

/// A judged outcome: the summary (rules and answerable expectations as its
/// expectations), the series, and what was not judged.
struct Verdict {
    summary: crate::report::Summary,
    series: Series,
    not_judged: Vec<(String, &'static str)>,
}

impl Verdict {
    /// `full_end`: where the scenario file ends (a run with `--for` may
    /// end before it).
    fn of(
        sc: &Scenario,
        seed: u64,
        world: &World,
        outcome: &Outcome,
        full_end: SimTime,
    ) -> Verdict {
        let mut summary = summarize(outcome, sc, seed);
        let cut_short = outcome.run.now < full_end;
        let (judged, not_judged) = judge::judge(&sc.expectations, outcome, cut_short);
        summary.expectations = judged;
        summary.overrides = sc.overrides.clone();
        let series = Series::from_world(world, &sc.name, seed, sc.end);
        Verdict {
            summary,
            series,
            not_judged,
        }
    }
}

fn print_not_judged(not_judged: &[(String, &'static str)]) {
    for (kind, why) in not_judged {
        println!("not judged {kind}: {why}");
    }
}

fn print_wall(f: &WallFacts, poll_interval_s: f64) {
    println!(
        "wall      {:.1} s for {:.1} simulated h at {}x; events late p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server p50 {} µs, p99 {} µs over {} requests",
        f.wall_s,
        f.sim_s / 3_600.0,
        f.time_scale,
        f.late_p50_ms,
        f.late_p99_ms,
        f.late_max_ms,
        f.server_p50_us,
        f.server_p99_us,
        f.requests
    );
    println!(
        "processes {} agent starts, {} exits they were not asked for, {} script runs; {} polls of {:.0} expected; {} requests of agents whose host was down, {} without a valid token",
        f.agent_starts,
        f.agent_exits,
        f.script_runs,
        f.polls,
        f.polls_expected,
        f.refused_down,
        f.refused_token
    );
    if let Some(w) = f.too_fast(poll_interval_s) {
        println!("warning: {w}");
    }
}

fn reproduction(a: &Args, seed: u64) -> String {
    let q = |s: &str| super::shell_quote(s);
    let mut line = format!(
        "cargo run --release -- blackbox {} --agent-cmd {} --clusters {} --time-scale {} --seed {seed}",
        q(&a.scenario.display().to_string()),
        q(&a.agent_cmd),
        a.clusters,
        a.time_scale
    );
    for (flag, v) in [
        ("--agent-cmd-after-fix", &a.agent_cmd_after_fix),
        ("--recovery-cmd", &a.recovery_cmd),
        ("--from", &a.from),
        ("--for", &a.run_for),
    ] {
        if let Some(v) = v {
            line += &format!(" {flag} {}", q(v));
        }
    }
    for o in &a.set {
        line += &format!(" --set {}", q(&o.to_string()));
    }
    line
}

/// `cascade verdict DIR`.
pub fn verdict(a: VerdictArgs) -> ExitCode {
    let r = match replay::replay(&a.dir) {
        Ok(r) => r,
        Err(m) => return exit::usage(m),
    };
    let seed = r.header.seed;
    if !a.json {
        println!("seed      {seed}");
    }
    let full_end = SimTime::from_micros(r.header.scenario_end_us);
    let v = Verdict::of(&r.scenario, seed, &r.world, &r.outcome, full_end);
    if a.json {
        match serde_json::to_string_pretty(&v.summary) {
            Ok(t) => println!("{t}"),
            Err(e) => return exit::failed(format_args!("cannot encode the summary: {e}")),
        }
    } else {
        print!(
            "{}",
            crate::files::terminal_safe(&crate::report::render_text(&v.summary))
        );
        print_not_judged(&v.not_judged);
        println!(
            "history   {} inputs replayed; {} recorded answers differ from the replay",
            r.inputs, r.divergences_total
        );
        for d in &r.divergences {
            println!(
                "  line {}: recorded {} {}, replay {} {}",
                d.line, d.recorded.status, d.recorded.body, d.replayed.status, d.replayed.body
            );
        }
        println!(
            "reproduce: cargo run --release -- verdict {}",
            super::shell_quote(&a.dir.display().to_string())
        );
    }
    Exit::passed(v.summary.passed()).into()
}
