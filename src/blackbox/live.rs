//! A black-box run on the wall clock: the servers on loopback, the
//! processes under the [`Supervisor`], and the loop that moves simulated
//! time, carries out the world's commands, notices exits, and writes the
//! history as it goes.
//!
//! Simulated time is the wall clock sped up by `time_scale` from `from`.
//! Each turn of the loop runs every event due by now; how far behind the
//! earliest of them was is the lateness the report gives (a loaded machine
//! or a too-fast scale shows there, and in how often the agents polled
//! against how often they should have).

use super::history::{Header, Line};
use super::host::{Host, Input};
use super::procs::{self, CommandTemplate, Limits, ProcKey, Supervisor, Vars};
use super::serve::{cloud_handler, edge_handler, service_handler, State};
use crate::outcome::Latency;
use crate::protocol::ClusterId;
use crate::scenario::Scenario;
use crate::wire::api::{self, TokenKey};
use crate::wire::clock::Clock;
use crate::wire::http::{serve_with, ServerLimits};
use crate::world::AgentCommand;
use cascade_sim::{SimDuration, SimTime};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What a black-box run is given.
pub struct Options {
    pub scenario: Scenario,
    pub header: Header,
    pub agent_cmd: CommandTemplate,
    pub agent_cmd_after_fix: Option<CommandTemplate>,
    pub recovery_cmd: Option<CommandTemplate>,
    /// A script run longer than this (simulated) is stopped.
    pub recovery_timeout: SimDuration,
    /// The run folder (history, logs, clusters files).
    pub dir: PathBuf,
    /// Live processes at most.
    pub processes_max: usize,
    /// Each process's log at most.
    pub log_bytes_max: u64,
    /// The history at most; a run whose history outgrows it stops.
    pub history_bytes_max: u64,
}

/// The wall-clock facts of a run (not inputs of the world).
#[derive(Clone, Debug, Default)]
pub struct WallFacts {
    pub wall_s: f64,
    pub time_scale: u32,
    /// Simulated time covered by processes.
    pub sim_s: f64,
    /// How late scheduled events ran, wall milliseconds.
    pub late_p50_ms: f64,
    pub late_p99_ms: f64,
    pub late_max_ms: f64,
    /// Server handler time, wall microseconds.
    pub server_p50_us: u32,
    pub server_p99_us: u32,
    pub requests: u64,
    pub refused_down: u64,
    pub refused_token: u64,
    pub polls: u64,
    /// Polls the live agents would have made at their period.
    pub polls_expected: f64,
    pub agent_starts: u64,
    pub agent_exits: u64,
    pub script_runs: u32,
    /// Ended by Ctrl-C or SIGTERM before its end.
    pub interrupted: bool,
    /// Why the run stopped early, if it did (history too large, …).
    pub stopped: Option<String>,
}

impl WallFacts {
    /// A sentence when the scale was too fast for the agents or the
    /// machine: polls far below their period, or events running late by
    /// more than a tenth of a poll period.
    pub fn too_fast(&self, poll_interval_s: f64) -> Option<String> {
        let ratio = self.polls as f64 / self.polls_expected.max(1.0);
        let poll_wall_ms = poll_interval_s * 1_000.0 / f64::from(self.time_scale.max(1));
        if self.polls_expected >= 10.0 && ratio < 0.5 {
            return Some(format!(
                "the agents polled {:.0} % as often as their period asks: --time-scale {} may be too fast for them",
                ratio * 100.0,
                self.time_scale
            ));
        }
        if self.late_p99_ms > poll_wall_ms / 10.0 {
            return Some(format!(
                "scheduled events ran up to {:.0} ms late (p99), over a tenth of a poll period ({:.0} ms): --time-scale {} is too fast for this machine",
                self.late_p99_ms, poll_wall_ms, self.time_scale
            ));
        }
        None
    }
}

/// Wall time between turns of the loop.
const TURN: Duration = Duration::from_millis(5);
/// Time a process gets to end after SIGTERM.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// Lateness samples kept at most.
const LATE_SAMPLES_MAX: usize = 1_000_000;

/// The addresses the processes are given.
struct Urls {
    control_plane: String,
    service: String,
    cloud: String,
}

/// Runs the processes against the world until its end (or Ctrl-C); the
/// host at the end, for the verdict.
pub fn run(opts: Options) -> Result<(Host, WallFacts), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, drive(opts))
}

async fn drive(opts: Options) -> Result<(Host, WallFacts), String> {
    let interrupted = procs::install_interrupt_flag();
    let key = TokenKey::random()?;
    let host = Host::build(&opts.scenario, &opts.header);
    let from = host.now();
    let scale = opts.header.time_scale;
    let clock = Clock::start(from, scale);
    let model = &opts.scenario.model;
    let hold = clock.runtime_duration(SimDuration::from_secs_f64(
        2.0 * model.network.client_timeout_s,
    ));
    let clusters = model.fleet.clusters;
    let state = Rc::new(RefCell::new(State {
        host: Some(host),
        clock,
        key,
        recovery_token: api::recovery_token(&key),
        clusters,
        timeout_hold: hold.max(Duration::from_secs(5)),
        latency_us: Vec::new(),
        requests: 0,
        polls: 0,
        refused_down: 0,
        refused_token: 0,
    }));
    let urls = bind(&state, &opts).await?;
    let mut sup = Supervisor::new(
        &opts.dir.join("logs"),
        Limits {
            processes_max: opts.processes_max,
            log_bytes_max: opts.log_bytes_max,
        },
    )?;
    let mut history = HistoryFile::create(&opts.dir, opts.history_bytes_max)?;
    let mut facts = WallFacts {
        time_scale: scale,
        ..WallFacts::default()
    };
    let mut late_ms: Vec<f64> = Vec::new();
    let mut book = Book::default();
    #[allow(clippy::disallowed_methods)] // the live tier's own wall time
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(TURN).await;
        if interrupted.load(Ordering::Relaxed) {
            facts.interrupted = true;
            break;
        }
        let mut guard = state.borrow_mut();
        let s = &mut *guard;
        let now = s.clock.now();
        let Some(host) = s.host.as_mut() else { break };
        let adv = host.advance(now);
        if adv.events > 0 && late_ms.len() < LATE_SAMPLES_MAX {
            late_ms.push(adv.behind.as_secs_f64() * 1_000.0 / f64::from(scale));
        }
        if let Some(r) = host.stopped() {
            facts.stopped = Some(format!("the world stopped: {}", r.reason));
            break;
        }
        for c in host.take_commands() {
            book.carry_out(c, &opts, &urls, &key, &mut sup, &mut facts);
        }
        book.start_script(&opts, &urls, &s.recovery_token, &mut sup, &mut facts, now)?;
        book.stop_overdue_script(&mut sup, now);
        for (k, exit) in sup.poll_exits() {
            if let Some(input) = book.exited(k, exit, &mut facts) {
                host.serve(now, input);
            }
        }
        if let Err(e) = history.write(&host.take_lines()) {
            facts.stopped = Some(e);
            break;
        }
        if now >= host.end() {
            break;
        }
    }
    sup.stop_all(STOP_GRACE);
    facts.wall_s = started.elapsed().as_secs_f64();
    let mut s = state.borrow_mut();
    let Some(mut host) = s.host.take() else {
        return Err("the world is gone".into());
    };
    summarise_wall(
        &mut facts,
        &s,
        &host,
        &late_ms,
        from,
        model.agent.poll_interval_s,
    );
    // The history's last lines; its end line is where the run ended (its
    // scenario's end, or now when it was interrupted or stopped).
    if facts.interrupted || facts.stopped.is_some() {
        host.end_now();
    }
    history.write(&host.take_lines())?;
    history.keep(host.end_line())?;
    Ok((host, facts))
}

async fn bind(state: &Rc<RefCell<State>>, opts: &Options) -> Result<Urls, String> {
    use tokio::net::TcpListener;
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let bind = || async { TcpListener::bind(loopback).await };
    let err = |e: std::io::Error| format!("cannot listen on loopback: {e}");
    let (edge, service, cloud) = (
        bind().await.map_err(err)?,
        bind().await.map_err(err)?,
        bind().await.map_err(err)?,
    );
    let url = |l: &TcpListener| l.local_addr().map(|a| format!("http://{a}")).map_err(err);
    let urls = Urls {
        control_plane: url(&edge)?,
        service: url(&service)?,
        cloud: url(&cloud)?,
    };
    let limits = ServerLimits {
        connections_max: 4 * opts.processes_max.max(64),
        ..ServerLimits::default()
    };
    let name = opts.header.scenario.clone();
    let seed = opts.header.seed;
    tokio::task::spawn_local(serve_with(
        edge,
        edge_handler(state.clone(), name, seed),
        limits,
    ));
    tokio::task::spawn_local(serve_with(service, service_handler(state.clone()), limits));
    tokio::task::spawn_local(serve_with(cloud, cloud_handler(state.clone()), limits));
    Ok(urls)
}

fn summarise_wall(
    f: &mut WallFacts,
    s: &State,
    host: &Host,
    late_ms: &[f64],
    from: SimTime,
    poll_s: f64,
) {
    // The project's nearest-rank percentiles, in seconds.
    let late = Latency::of(late_ms.iter().map(|ms| ms / 1_000.0).collect());
    f.late_p50_ms = late.p50_s * 1_000.0;
    f.late_p99_ms = late.p99_s * 1_000.0;
    f.late_max_ms = late.max_s * 1_000.0;
    let server = Latency::of(s.latency_us.iter().map(|&us| f64::from(us) / 1e6).collect());
    f.server_p50_us = (server.p50_s * 1e6).round() as u32;
    f.server_p99_us = (server.p99_s * 1e6).round() as u32;
    f.requests = s.requests;
    f.refused_down = s.refused_down;
    f.refused_token = s.refused_token;
    let now = host.now();
    f.sim_s = now.saturating_since(from).as_secs_f64();
    f.polls = s.polls;
    f.polls_expected = f64::from(s.clusters) * f.sim_s / poll_s;
}

/// The driver's books of the processes: which agents run (so that an exit
/// it did not ask for is told to the world), the script's batch.
#[derive(Default)]
struct Book {
    /// Agents stopped by the driver (their exit is not news).
    stopping: std::collections::BTreeSet<ClusterId>,
    /// Clusters waiting for the next script run.
    batch: Vec<ClusterId>,
    /// The script run under way: its number, its clusters, its deadline.
    script: Option<(u32, Vec<ClusterId>, SimTime)>,
    runs: u32,
}

impl Book {
    fn carry_out(
        &mut self,
        c: AgentCommand,
        o: &Options,
        urls: &Urls,
        key: &TokenKey,
        sup: &mut Supervisor,
        f: &mut WallFacts,
    ) {
        match c {
            AgentCommand::Start { cluster, after_fix } => {
                let template = match (&o.agent_cmd_after_fix, after_fix) {
                    (Some(t), true) => t,
                    _ => &o.agent_cmd,
                };
                let vars = Vars {
                    cluster: Some(cluster),
                    control_plane_url: urls.control_plane.clone(),
                    service_url: urls.service.clone(),
                    cloud_url: urls.cloud.clone(),
                    token: Some(api::cluster_token(key, cluster)),
                    time_scale: f64::from(o.header.time_scale),
                    poll_interval_ms: poll_interval_ms(o),
                    clusters_file: None,
                    incident: None,
                    clusters: None,
                    tokens_file: None,
                };
                self.stopping.remove(&cluster);
                match template.render(&vars) {
                    Ok(cmd) => match sup.spawn(ProcKey::Agent(cluster), &cmd, &vars.env()) {
                        Ok(_) => f.agent_starts += 1,
                        Err(e) => eprintln!("warning: agent {cluster}: {e}"),
                    },
                    Err(e) => eprintln!("warning: agent {cluster}: {e}"),
                }
            }
            AgentCommand::Stop { cluster, .. } => {
                self.stopping.insert(cluster);
                sup.stop(ProcKey::Agent(cluster), STOP_GRACE);
            }
            AgentCommand::Restore { cluster } => self.batch.push(cluster),
        }
    }

    /// Starts a script run with the waiting clusters, when none runs.
    fn start_script(
        &mut self,
        o: &Options,
        urls: &Urls,
        token: &str,
        sup: &mut Supervisor,
        f: &mut WallFacts,
        now: SimTime,
    ) -> Result<(), String> {
        let Some(t) = &o.recovery_cmd else {
            return Ok(());
        };
        if self.script.is_some() || self.batch.is_empty() {
            return Ok(());
        }
        self.runs += 1;
        let clusters = std::mem::take(&mut self.batch);
        let file = o.dir.join(format!("restore-{}.json", self.runs));
        let doc = serde_json::json!({ "run": self.runs, "clusters": clusters });
        crate::files::write_atomically(&file, doc.to_string().as_bytes())
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let vars = Vars {
            cluster: None,
            control_plane_url: urls.control_plane.clone(),
            service_url: urls.service.clone(),
            cloud_url: urls.cloud.clone(),
            token: Some(token.to_string()),
            time_scale: f64::from(o.header.time_scale),
            poll_interval_ms: poll_interval_ms(o),
            clusters_file: Some(file),
            incident: Some(self.runs.to_string()),
            clusters: None,
            tokens_file: None,
        };
        let cmd = t.render(&vars)?;
        if let Err(e) = sup.spawn(ProcKey::Recovery(self.runs), &cmd, &vars.env()) {
            eprintln!("warning: recovery script: {e}");
        }
        f.script_runs += 1;
        self.script = Some((self.runs, clusters, now + o.recovery_timeout));
        Ok(())
    }

    fn stop_overdue_script(&mut self, sup: &mut Supervisor, now: SimTime) {
        if let Some((run, _, deadline)) = &self.script {
            if now >= *deadline {
                sup.stop(ProcKey::Recovery(*run), STOP_GRACE);
            }
        }
    }

    /// A process ended: the world's input it makes, if any.
    fn exited(&mut self, k: ProcKey, exit: procs::Exit, f: &mut WallFacts) -> Option<Input> {
        match k {
            ProcKey::Agent(c) => {
                if self.stopping.remove(&c) {
                    return None;
                }
                f.agent_exits += 1;
                Some(Input::AgentExited(c, exit.to_string()))
            }
            ProcKey::Recovery(run) => {
                let (r, clusters, _) = self.script.take()?;
                debug_assert_eq!(r, run);
                Some(Input::ScriptExited(run, clusters, exit.to_string()))
            }
            ProcKey::AllAgents => None,
        }
    }
}

/// The agents' poll period in wall milliseconds.
fn poll_interval_ms(o: &Options) -> u64 {
    let s = o.scenario.model.agent.poll_interval_s * 1_000.0 / f64::from(o.header.time_scale);
    s.round().max(1.0) as u64
}

/// `history.jsonl`, written under a temporary name as the run goes and put
/// in place at the end, so that a killed run leaves no history that looks whole.
struct HistoryFile {
    file: std::io::BufWriter<std::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    bytes: u64,
    bytes_max: u64,
}

impl HistoryFile {
    fn create(dir: &Path, bytes_max: u64) -> Result<HistoryFile, String> {
        let path = dir.join("history.jsonl");
        let (file, tmp) = crate::files::create_temporary(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(HistoryFile {
            file: std::io::BufWriter::new(file),
            tmp,
            path,
            bytes: 0,
            bytes_max,
        })
    }

    fn write(&mut self, lines: &[Line]) -> Result<(), String> {
        for l in lines {
            let text = serde_json::to_string(l).map_err(|e| e.to_string())?;
            self.bytes += text.len() as u64 + 1;
            if self.bytes > self.bytes_max {
                return Err(format!(
                    "the history outgrew --history-max-bytes {}",
                    self.bytes_max
                ));
            }
            writeln!(self.file, "{text}").map_err(|e| format!("{}: {e}", self.tmp.display()))?;
        }
        Ok(())
    }

    /// Writes the last line and puts the history in place.
    fn keep(mut self, last: Line) -> Result<(), String> {
        self.write(&[last])?;
        self.file
            .flush()
            .map_err(|e| format!("{}: {e}", self.tmp.display()))?;
        crate::files::put_in_place(&self.tmp, &self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_scale_too_fast_is_said() {
        let fine = WallFacts {
            time_scale: 1_000,
            polls: 100,
            polls_expected: 100.0,
            late_p99_ms: 5.0,
            ..WallFacts::default()
        };
        // A poll every 60 s is 60 ms of wall time at 1,000x.
        assert_eq!(fine.too_fast(60.0), None);
        let few_polls = WallFacts {
            polls: 40,
            ..fine.clone()
        };
        let said = few_polls.too_fast(60.0).expect("too fast");
        assert!(said.contains("polled 40 %"), "{said}");
        let late = WallFacts {
            late_p99_ms: 7.0,
            ..fine.clone()
        };
        let said = late.too_fast(60.0).expect("too fast");
        assert!(said.contains("7 ms late"), "{said}");
    }
}
