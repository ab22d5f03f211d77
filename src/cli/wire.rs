//! `cascade wire`: runs a slice of a scenario in the wire tier (real HTTP
//! servers and agents over turmoil's simulated network and clock).

use super::exit::{self, Exit};
use super::value_name;
use crate::protocol::ClusterId;
use crate::scenario;
use crate::sim::SimTime;
use crate::wire::harness::{self, NetFault, NetFaultKind, Side};
use crate::wire::{plan, WireOptions, WireResult};
use clap::ValueEnum;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cascade wire`.
#[derive(clap::Args)]
pub struct Args {
    /// The scenario file, e.g. scenarios/march-2025.json.
    pub scenario: PathBuf,
    /// Seed (default: the scenario's own).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Clusters in the slice (half hit by the first misroute, half spared),
    /// 1 to 1,000: each is a real agent with its own HTTP client.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub clusters: u32,
    /// Window start (`D4 21:30`, `+2h`, or UTC); default 30 min before the first misroute.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Window length (`5h`); default 5 h.
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// Agents per turmoil host, 1 to 1,000 (default: one each up to 40
    /// agents).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub agents_per_host: Option<u32>,
    /// Simulated time per turmoil step, in milliseconds (1 to 1,000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub tick_ms: u64,
    /// Print the outcome as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Partition two sides for a while, window-relative:
    /// `SIDE-SIDE@START/DURATION` with sides agents, edge, control-plane,
    /// cloud, e.g. `edge-control-plane@30m/20m`. Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub partition: Vec<String>,
    /// Hold messages between two sides (delivered when it ends); same form.
    #[arg(long, value_name = "SPEC")]
    pub hold: Vec<String>,
}

/// Most turmoil hosts a slice may take: turmoil scans its full mesh of
/// links for every host on every tick, so the cost grows with the square
/// of the hosts (100 hosts: about a minute per simulated hour here).
const WIRE_HOSTS_MAX: u32 = 100;

pub fn run(args: Args) -> ExitCode {
    if let Some(per_host) = args.agents_per_host {
        let hosts = args.clusters.div_ceil(per_host);
        if hosts > WIRE_HOSTS_MAX {
            return exit::usage(format_args!(
                "--clusters {} with --agents-per-host {per_host} makes {hosts} agent hosts; at most {WIRE_HOSTS_MAX} (raise --agents-per-host)",
                args.clusters
            ));
        }
    }
    let sc = match scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => return exit::usage(e),
    };
    let plan = plan::plan(
        &sc.timeline,
        &sc.model,
        cascade_sim::Seed(args.seed.unwrap_or(sc.seed)),
        sc.epoch,
    );
    let mut window = plan::default_window(&plan.steps, sc.end);
    if let Some(f) = &args.from {
        match scenario::parse_time(&sc.epoch, f) {
            Ok(t) => {
                window.start = t;
                window.len = sc.end.saturating_since(t).min(plan::WINDOW_LEN);
            }
            Err(m) => return exit::usage(format_args!("--from: {m}")),
        }
    }
    if let Some(d) = &args.duration {
        match crate::sim::parse_duration(d) {
            Ok(d) => window.len = d,
            Err(m) => return exit::usage(format_args!("--for: {m}")),
        }
    }
    let mut net_faults = Vec::new();
    for (specs, kind, flag) in [
        (&args.partition, NetFaultKind::Partition, "--partition"),
        (&args.hold, NetFaultKind::Hold, "--hold"),
    ] {
        for spec in specs {
            match parse_net_fault(spec, kind) {
                Ok(f) => net_faults.push(f),
                Err(m) => return exit::usage(format_args!("{flag} {spec:?}: {m}")),
            }
        }
    }
    let seed_used = args.seed.unwrap_or(sc.seed);
    if !args.json {
        println!("SEED={seed_used}");
    }
    let opts = WireOptions {
        net_faults,
        seed: args.seed,
        clusters: args.clusters,
        window: Some(window),
        agents_per_host: args.agents_per_host,
        tick: std::time::Duration::from_millis(args.tick_ms),
        ..WireOptions::default()
    };
    // Allowed: the wall time of the whole run is reported to the user; it is
    // read outside the simulated world and never enters it.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let r = match harness::run_slice(&sc, &opts) {
        Ok(r) => r,
        Err(e) => return exit::usage(e),
    };
    let wall = started.elapsed();
    let mut line = harness::reproduction_line(
        &args.scenario.display().to_string(),
        seed_used,
        args.clusters,
        r.window,
    );
    // Network faults are not part of the harness's line: insert them before the comment.
    let extra: String = args
        .partition
        .iter()
        .map(|p| format!(" --partition {p}"))
        .chain(args.hold.iter().map(|h| format!(" --hold {h}")))
        .collect();
    if !extra.is_empty() {
        match line.find("   #") {
            Some(i) => line.insert_str(i, &extra),
            None => line.push_str(&extra),
        }
    }
    if args.json {
        let doc = WireJson::new(&r, &sc.name, seed_used, &line);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Exit::passed(r.passed()).into();
    }
    print!("{}", harness::render_text(&r, &sc));
    println!(
        "wall time {:.1} s for {} simulated ({:.2} s per simulated hour)",
        wall.as_secs_f64(),
        r.window.len,
        wall.as_secs_f64() / (r.window.len.as_secs_f64() / 3_600.0)
    );
    println!("reproduce: {line}");
    Exit::passed(r.passed()).into()
}

/// `cascade wire --json`: one object. Its fields are in alphabetical order
/// because the object was a (sorted) `serde_json::Map` before it was this
/// struct, and scripts may compare its bytes.
#[derive(Serialize)]
struct WireJson<'a> {
    /// Dead agents' clusters and when they died.
    agents_dead: BTreeMap<String, String>,
    /// Answers by kind, the kinds seen only.
    answers: BTreeMap<&'static str, u64>,
    /// Clusters that lost pools and when they started to.
    clusters_lost: BTreeMap<String, String>,
    error: &'a Option<String>,
    hit: &'a [ClusterId],
    holds_entered: u64,
    hosts: u32,
    i1_findings: u64,
    not_converged_at_end: &'a [ClusterId],
    /// Timeline effects in the window this tier does not carry out.
    not_modelled: Vec<NotModelledJson<'a>>,
    passed: bool,
    reproduce: &'a str,
    scenario: &'a str,
    seed: u64,
    slice: &'a [ClusterId],
    tier: &'static str,
    trace_hash: String,
    window: WindowJson,
}

/// A timeline effect the wire tier leaves to the fleet tier.
#[derive(Serialize)]
struct NotModelledJson<'a> {
    at: String,
    effect: &'static str,
    item: &'a str,
}

/// The window in calendar time.
#[derive(Serialize)]
struct WindowJson {
    end: String,
    start: String,
}

impl<'a> WireJson<'a> {
    fn new(r: &'a WireResult, scenario: &'a str, seed: u64, reproduce: &'a str) -> Self {
        // Keyed by the cluster id as text, so ordered as text ("10" < "2").
        let times = |m: &BTreeMap<ClusterId, SimTime>| {
            m.iter()
                .map(|(c, t)| (c.to_string(), r.epoch.format(*t)))
                .collect()
        };
        WireJson {
            agents_dead: times(&r.dead),
            answers: r
                .answers
                .iter()
                .filter(|&(_, n)| n > 0)
                .map(|(k, n)| (k.name(), n))
                .collect(),
            clusters_lost: times(&r.lost),
            error: &r.error,
            hit: &r.hit,
            holds_entered: r.holds_entered,
            hosts: r.hosts,
            i1_findings: r.i1_findings,
            not_converged_at_end: &r.not_converged,
            not_modelled: r
                .not_modelled
                .iter()
                .map(|n| NotModelledJson {
                    at: r.epoch.format(n.at),
                    effect: n.effect,
                    item: &n.item,
                })
                .collect(),
            passed: r.passed(),
            reproduce,
            scenario,
            seed,
            slice: &r.slice,
            tier: "wire",
            trace_hash: format!("{:016x}", r.trace_hash),
            window: WindowJson {
                end: r.epoch.format(r.window.end()),
                start: r.epoch.format(r.window.start),
            },
        }
    }
}

/// The sides a `--partition` or `--hold` spec joins, by their
/// command-line names (`control-plane`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SideName {
    Agents,
    Edge,
    ControlPlane,
    Cloud,
}

impl From<SideName> for Side {
    fn from(name: SideName) -> Side {
        match name {
            SideName::Agents => Side::Agents,
            SideName::Edge => Side::Edge,
            SideName::ControlPlane => Side::ControlPlane,
            SideName::Cloud => Side::Cloud,
        }
    }
}

/// `SIDE-SIDE@START/DURATION` (window-relative) for `--partition` and `--hold`.
fn parse_net_fault(spec: &str, kind: NetFaultKind) -> Result<NetFault, String> {
    let (sides, when) = spec
        .split_once('@')
        .ok_or("expected SIDE-SIDE@START/DURATION, e.g. edge-control-plane@30m/20m")?;
    let names: Vec<String> = SideName::value_variants().iter().map(value_name).collect();
    let side = |name: &str| {
        SideName::from_str(name, false)
            .map(Side::from)
            .map_err(|_| {
                let (last, others) = names.split_last().expect("sides");
                format!(
                    "unknown side {name:?} (expected {} or {last})",
                    others.join(", ")
                )
            })
    };
    // Names contain '-' (control-plane): split after a known first side.
    let (a, b) = names
        .iter()
        .find_map(|first| {
            sides
                .strip_prefix(first.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .map(|rest| (first.as_str(), rest))
        })
        .ok_or_else(|| format!("expected two sides joined by '-', found {sides:?}"))?;
    let (at, len) = when
        .split_once('/')
        .ok_or("expected START/DURATION after '@', e.g. 30m/20m")?;
    let (a, b) = (side(a)?, side(b)?);
    if a == b {
        return Err("expected two different sides: a side is never cut from itself".into());
    }
    Ok(NetFault {
        at: crate::sim::parse_duration(at)?,
        len: crate::sim::parse_duration(len)?,
        kind,
        a,
        b,
    })
}
