//! The `cascade` command: `run`, `check`, `wire` (the wire tier), `serve`
//! and `agent` (the live tier).
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
        /// Print the outcome as one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Partition two sides for a while, window-relative:
        /// `SIDE-SIDE@START/DURATION` with sides agents, edge, control-plane,
        /// cloud, e.g. `edge-control-plane@30m/20m`. Repeatable.
        #[arg(long, value_name = "SPEC")]
        partition: Vec<String>,
        /// Hold messages between two sides (delivered when it ends); same form.
        #[arg(long, value_name = "SPEC")]
        hold: Vec<String>,
    },
    /// Live tier: serves the control plane (edge), cloud API and their
    /// internals on real sockets, until killed or `--for` elapses.
    Serve {
        /// The edge (the agents' control-plane URL); loopback by default.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The cloud API (default: the edge's port + 1, same address).
        #[arg(long)]
        cloud_listen: Option<std::net::SocketAddr>,
        /// Clusters the control plane and cloud know.
        #[arg(long, default_value_t = 4)]
        clusters: u32,
        /// Seed of the fleet, the cloud's draws and the tokens.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds per wall second (60: a poll a second).
        #[arg(long, default_value_t = 1)]
        time_scale: u32,
        /// Start with only each cluster's system pool, so agents must create the rest.
        #[arg(long)]
        empty_cloud: bool,
        /// Cloud delete locks on system and airflow pools (G6).
        #[arg(long)]
        delete_locks: bool,
        /// Stop after this much wall time (`10m`).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
    },
    /// Live tier: runs one real agent against `cascade serve`.
    Agent(AgentArgs),
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
        Command::Wire {
            scenario,
            seed,
            clusters,
            from,
            duration,
            agents_per_host,
            tick_ms,
            json,
            partition,
            hold,
        } => cmd_wire(
            &scenario,
            json,
            &partition,
            &hold,
            seed,
            clusters,
            from.as_deref(),
            duration.as_deref(),
            agents_per_host,
            tick_ms,
        ),
        Command::Serve {
            listen,
            cloud_listen,
            clusters,
            seed,
            time_scale,
            empty_cloud,
            delete_locks,
            duration,
        } => cmd_serve(
            listen,
            cloud_listen,
            clusters,
            seed,
            time_scale,
            empty_cloud,
            delete_locks,
            duration.as_deref(),
        ),
        Command::Agent(args) => cmd_agent(args),
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

#[allow(clippy::too_many_arguments)]
fn cmd_wire(
    path: &std::path::Path,
    json: bool,
    partitions: &[String],
    holds: &[String],
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
    let mut net_faults = Vec::new();
    for (specs, kind, flag) in [
        (partitions, harness::NetFaultKind::Partition, "--partition"),
        (holds, harness::NetFaultKind::Hold, "--hold"),
    ] {
        for spec in specs {
            match parse_net_fault(spec, kind) {
                Ok(f) => net_faults.push(f),
                Err(m) => {
                    eprintln!("error: {flag} {spec:?}: {m}");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
    }
    let seed_used = seed.unwrap_or(sc.seed);
    if !json {
        println!("SEED={seed_used}");
    }
    let opts = WireOptions {
        net_faults,
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
    let mut line =
        harness::reproduction_line(&path.display().to_string(), seed_used, clusters, r.window);
    // Network faults are not part of the harness's line: insert them before the comment.
    let extra: String = partitions
        .iter()
        .map(|p| format!(" --partition {p}"))
        .chain(holds.iter().map(|h| format!(" --hold {h}")))
        .collect();
    if !extra.is_empty() {
        match line.find("   #") {
            Some(i) => line.insert_str(i, &extra),
            None => line.push_str(&extra),
        }
    }
    if json {
        let e = r.epoch;
        let times = |m: &std::collections::BTreeMap<u32, cascade::sim::SimTime>| {
            m.iter()
                .map(|(c, t)| (c.to_string(), serde_json::Value::from(e.format(*t))))
                .collect::<serde_json::Map<_, _>>()
        };
        let doc = serde_json::json!({
            "scenario": sc.name,
            "seed": seed_used,
            "tier": "wire",
            "trace_hash": format!("{:016x}", r.trace_hash),
            "passed": r.passed(),
            "window": {"start": e.format(r.window.start), "end": e.format(r.window.start + r.window.len)},
            "hosts": r.hosts,
            "slice": r.slice,
            "hit": r.hit,
            "clusters_lost": times(&r.lost),
            "agents_dead": times(&r.dead),
            "not_converged_at_end": r.not_converged,
            "answers": r.answers,
            "i1_findings": r.i1_findings,
            "holds_entered": r.holds_entered,
            "error": r.error,
            "reproduce": line,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return if r.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_FAILED)
        };
    }
    print!("{}", harness::render_text(&r, &sc));
    println!(
        "wall time {:.1} s for {} simulated ({:.2} s per simulated hour)",
        wall.as_secs_f64(),
        r.window.len,
        wall.as_secs_f64() / (r.window.len.as_secs_f64() / 3_600.0)
    );
    println!("reproduce: {line}");
    if r.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// `SIDE-SIDE@START/DURATION` (window-relative) for `cascade wire`.
fn parse_net_fault(
    spec: &str,
    kind: cascade::wire::harness::NetFaultKind,
) -> Result<cascade::wire::harness::NetFault, String> {
    use cascade::wire::harness::{NetFault, Side};
    let (sides, when) = spec
        .split_once('@')
        .ok_or("expected SIDE-SIDE@START/DURATION, e.g. edge-control-plane@30m/20m")?;
    let side = |name: &str| match name {
        "agents" => Ok(Side::Agents),
        "edge" => Ok(Side::Edge),
        "control-plane" => Ok(Side::ControlPlane),
        "cloud" => Ok(Side::Cloud),
        other => Err(format!(
            "unknown side {other:?} (expected agents, edge, control-plane or cloud)"
        )),
    };
    let (a, b) = ["agents", "edge", "control-plane", "cloud"]
        .iter()
        .find_map(|first| {
            sides
                .strip_prefix(first)
                .and_then(|rest| rest.strip_prefix('-'))
                .map(|rest| (*first, rest))
        })
        .ok_or_else(|| format!("expected two sides joined by '-', found {sides:?}"))?;
    let (at, len) = when
        .split_once('/')
        .ok_or("expected START/DURATION after '@', e.g. 30m/20m")?;
    Ok(NetFault {
        at: cascade::sim::parse_duration(at)?,
        len: cascade::sim::parse_duration(len)?,
        kind,
        a: side(a)?,
        b: side(b)?,
    })
}

/// A wall-clock duration from `--for`.
fn wall_duration(text: Option<&str>) -> Result<Option<std::time::Duration>, String> {
    text.map(|t| {
        cascade::sim::parse_duration(t)
            .map(|d| std::time::Duration::from_micros(d.as_micros()))
            .map_err(|m| format!("--for: {m}"))
    })
    .transpose()
}

#[allow(clippy::too_many_arguments)]
fn cmd_serve(
    listen: std::net::SocketAddr,
    cloud_listen: Option<std::net::SocketAddr>,
    clusters: u32,
    seed: u64,
    time_scale: u32,
    empty_cloud: bool,
    delete_locks: bool,
    duration: Option<&str>,
) -> ExitCode {
    use cascade::wire::{harness::InitialPools, live};
    let run_for = match wall_duration(duration) {
        Ok(d) => d,
        Err(m) => {
            eprintln!("error: {m}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let cloud_listen = cloud_listen.unwrap_or_else(|| {
        let mut a = listen;
        if a.port() != 0 {
            a.set_port(a.port().wrapping_add(1));
        }
        a
    });
    let servers = match live::Servers::start(live::ServeConfig {
        listen,
        cloud_listen,
        clusters,
        seed,
        time_scale,
        initial_pools: if empty_cloud {
            InitialPools::SystemOnly
        } else {
            InitialPools::Desired
        },
        delete_locks,
        verbose: true,
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the servers: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    println!("cascade serve: {clusters} clusters, seed {seed}, time scale {time_scale}x");
    println!(
        "  control plane (edge)  http://{}   GET /v1/clusters/{{id}}/desired-state",
        servers.edge
    );
    println!(
        "  cloud API             http://{}   GET /v1/clusters/{{id}}/node-pools",
        servers.cloud
    );
    println!(
        "  desired-state service http://{}   (behind the edge; PUT /admin/faults here)",
        servers.control_plane
    );
    println!("  admin token           {}", servers.admin_token());
    for c in 0..clusters.min(8) {
        println!("  cluster {c} token       {}", servers.token(c));
    }
    println!(
        "  agent:    cascade agent --control-plane http://{} --cloud http://{} --cluster 0 --seed {seed} --time-scale {time_scale}",
        servers.edge, servers.cloud
    );
    println!(
        "  misroute: curl -X PUT -H 'Authorization: Bearer {}' -d '{{\"misroute_ratio\": 1.0}}' http://{}/admin/routing",
        servers.admin_token(),
        servers.edge
    );
    match run_for {
        Some(d) => std::thread::sleep(d),
        // Serve until the process is killed.
        None => loop {
            std::thread::park();
        },
    }
    match servers.stop() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// One real agent against `cascade serve` (the live tier).
#[derive(clap::Args)]
struct AgentArgs {
    /// The control plane's URL (the edge), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    control_plane: String,
    /// The cloud API's URL (default: the control plane's port + 1).
    #[arg(long)]
    cloud: Option<String>,
    #[arg(long)]
    cluster: u32,
    /// Bearer token (default: derived from --seed as `cascade serve` does).
    #[arg(long)]
    token: Option<String>,
    /// Agent version: buggy, hotfix or all.
    #[arg(long, default_value = "buggy")]
    guards: String,
    /// Seed of the tokens and the agent's phases (as given to `cascade serve`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per wall second; match `cascade serve`.
    #[arg(long, default_value_t = 1)]
    time_scale: u32,
    /// Poll period in simulated seconds.
    #[arg(long)]
    poll_interval_s: Option<f64>,
    /// Full-resync (pruning) period in simulated seconds.
    #[arg(long)]
    full_resync_interval_s: Option<f64>,
    /// Per-request timeout in wall milliseconds.
    #[arg(long, default_value_t = 2_000)]
    timeout_ms: u64,
    /// Stop after this much wall time (`10m`).
    #[arg(long = "for", value_name = "DURATION")]
    duration: Option<String>,
}

fn cmd_agent(a: AgentArgs) -> ExitCode {
    use cascade::model::agent::{AgentConfig, Guards};
    use cascade::wire::live;
    let usage = |m: String| {
        eprintln!("error: {m}");
        ExitCode::from(EXIT_USAGE)
    };
    let control_plane = match live::authority_of(&a.control_plane) {
        Ok(x) => x,
        Err(m) => return usage(format!("--control-plane: {m}")),
    };
    let cloud = match &a.cloud {
        Some(u) => match live::authority_of(u) {
            Ok(x) => x,
            Err(m) => return usage(format!("--cloud: {m}")),
        },
        None => {
            let (host, port) = control_plane.rsplit_once(':').unwrap_or(("127.0.0.1", "0"));
            match port.parse::<u16>() {
                Ok(p) => format!("{host}:{}", p.wrapping_add(1)),
                Err(_) => return usage(format!("--control-plane: bad port {port:?}")),
            }
        }
    };
    let guards = match a.guards.as_str() {
        "buggy" => Guards::none(),
        "hotfix" => Guards::hotfix(),
        "all" => Guards::all(),
        other => {
            return usage(format!(
                "--guards: expected buggy, hotfix or all, found {other:?}"
            ))
        }
    };
    let mut agent = AgentConfig::default();
    if let Some(p) = a.poll_interval_s {
        agent.poll_interval_s = p;
    }
    if let Some(f) = a.full_resync_interval_s {
        agent.full_resync_interval_s = f;
    }
    if let Err(m) = agent.validate() {
        return usage(m);
    }
    let run_for = match wall_duration(a.duration.as_deref()) {
        Ok(d) => d,
        Err(m) => return usage(m),
    };
    let token = a.token.unwrap_or_else(|| {
        cascade::wire::api::cluster_token(live::token_secret(a.seed), a.cluster)
    });
    println!(
        "cascade agent: cluster {} ({}) against http://{control_plane}, cloud http://{cloud}",
        a.cluster, a.guards
    );
    let cfg = live::AgentRunConfig {
        control_plane,
        cloud,
        cluster: a.cluster,
        token,
        guards,
        agent,
        seed: a.seed,
        time_scale: a.time_scale,
        request_timeout: std::time::Duration::from_millis(a.timeout_ms),
        run_for,
        verbose: true,
    };
    let status = std::sync::Arc::new(std::sync::Mutex::new(live::AgentStatus::default()));
    match live::run_agent(cfg, status.clone(), None) {
        Ok(()) => {
            let s = status.lock().unwrap_or_else(|e| e.into_inner());
            println!(
                "answers {:?}; creates asked {}, deletes asked {}, holds entered {}{}",
                s.answers,
                s.creates_asked,
                s.deletes_asked,
                s.holds_entered,
                if s.host_lost {
                    "; the agent deleted its own system pool and died with it"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
