//! The process supervisor of the black-box tier: the command templates a
//! user gives for their agent and recovery script, the values and
//! environment each process gets, and the [`Supervisor`] that starts,
//! watches, logs and ends those processes.
//!
//! Each process runs as `/bin/sh -c 'exec <command>'` in a process group
//! of its own, so that stopping it reaches whatever it forked. The group
//! also keeps the terminal's Ctrl-C away from the children: cascade sees
//! it ([`install_interrupt_flag`]) and stops every group itself. On Linux
//! a child is also killed when cascade dies (`PR_SET_PDEATHSIG`), so a
//! SIGKILLed cascade leaves no agent running; that reaches the child
//! itself, not what it forked (a limit of the kernel's mechanism).
//!
//! Output (stdout and stderr) goes through a pipe that one thread per
//! child drains into `<log_dir>/<key>.log`, counting bytes: once the file
//! reaches `Limits::log_bytes_max`, the rest of that start's output is
//! read and discarded, after one line saying so. The child is never
//! blocked nor killed for talking too much; the disk stays bounded.
//!
//! Times are arguments (`grace`); the waits count fixed sleep steps
//! instead of reading a clock, so a wait lasts at least what it says.

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{PipeReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Once;
use std::time::Duration;

/// A value a command template can name, as `{name}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placeholder {
    Cluster,
    ControlPlaneUrl,
    ServiceUrl,
    CloudUrl,
    Token,
    TimeScale,
    PollIntervalMs,
    ClustersFile,
    Incident,
}

impl Placeholder {
    pub const ALL: [Placeholder; 9] = [
        Placeholder::Cluster,
        Placeholder::ControlPlaneUrl,
        Placeholder::ServiceUrl,
        Placeholder::CloudUrl,
        Placeholder::Token,
        Placeholder::TimeScale,
        Placeholder::PollIntervalMs,
        Placeholder::ClustersFile,
        Placeholder::Incident,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Cluster => "cluster",
            Placeholder::ControlPlaneUrl => "control_plane_url",
            Placeholder::ServiceUrl => "service_url",
            Placeholder::CloudUrl => "cloud_url",
            Placeholder::Token => "token",
            Placeholder::TimeScale => "time_scale",
            Placeholder::PollIntervalMs => "poll_interval_ms",
            Placeholder::ClustersFile => "clusters_file",
            Placeholder::Incident => "incident",
        }
    }

    /// The environment variable that carries the same value.
    pub fn env_name(self) -> &'static str {
        match self {
            Placeholder::Cluster => "CASCADE_CLUSTER",
            Placeholder::ControlPlaneUrl => "CASCADE_CONTROL_PLANE_URL",
            Placeholder::ServiceUrl => "CASCADE_SERVICE_URL",
            Placeholder::CloudUrl => "CASCADE_CLOUD_URL",
            Placeholder::Token => "CASCADE_TOKEN",
            Placeholder::TimeScale => "CASCADE_TIME_SCALE",
            Placeholder::PollIntervalMs => "CASCADE_POLL_INTERVAL_MS",
            Placeholder::ClustersFile => "CASCADE_CLUSTERS_FILE",
            Placeholder::Incident => "CASCADE_INCIDENT",
        }
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The environment variables of the one process that serves all clusters,
/// which have no placeholder: the cluster ids, comma-separated, and the
/// path of the `id token` file ([`write_tokens_file`]).
pub const ENV_CLUSTERS: &str = "CASCADE_CLUSTERS";
pub const ENV_TOKENS_FILE: &str = "CASCADE_TOKENS_FILE";

/// A template longer than this is refused (it is one command line).
pub const TEMPLATE_BYTES_MAX: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Value(Placeholder),
}

/// A command line with `{placeholder}`s, as the user wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandTemplate {
    pieces: Vec<Piece>,
}

fn known_list() -> String {
    let names: Vec<String> = Placeholder::ALL
        .iter()
        .map(|p| format!("{{{}}}", p.name()))
        .collect();
    names.join(", ")
}

/// Where the shell's quoting stands after some text: a value substituted
/// inside quotes (or after a backslash) would have its own quotes read as
/// text, so it could split or inject; such templates are refused.
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    Bare,
    Escaped,
    Single,
    Double,
    DoubleEscaped,
}

impl Quoting {
    fn after(self, c: char) -> Quoting {
        match (self, c) {
            (Quoting::Bare, '\\') => Quoting::Escaped,
            (Quoting::Bare, '\'') => Quoting::Single,
            (Quoting::Bare, '"') => Quoting::Double,
            (Quoting::Escaped, _) => Quoting::Bare,
            (Quoting::Single, '\'') => Quoting::Bare,
            (Quoting::Double, '\\') => Quoting::DoubleEscaped,
            (Quoting::Double, '"') => Quoting::Bare,
            (Quoting::DoubleEscaped, _) => Quoting::Double,
            (state, _) => state,
        }
    }
}

impl CommandTemplate {
    /// Reads a template: `{name}` for a [`Placeholder`], `{{` and `}}` for
    /// literal braces. Errors name the offending text and its byte offset.
    pub fn parse(text: &str) -> Result<CommandTemplate, String> {
        if text.trim().is_empty() {
            return Err("the command is empty: give the command line to run".into());
        }
        if text.len() > TEMPLATE_BYTES_MAX {
            return Err(format!(
                "the command is {} bytes long; at most {TEMPLATE_BYTES_MAX} are accepted",
                text.len()
            ));
        }
        if let Some(at) = text.find('\0') {
            return Err(format!("the command holds a NUL byte at byte {at}"));
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut quoting = Quoting::Bare;
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.next_if(|&(_, n)| n == '{').is_some() => literal.push('{'),
                '}' if chars.next_if(|&(_, n)| n == '}').is_some() => literal.push('}'),
                '}' => {
                    return Err(format!(
                    "unmatched '}}' at byte {at} of the command; write '}}}}' for a literal brace"
                ))
                }
                '{' => {
                    let p = placeholder_at(text, at)?;
                    if quoting != Quoting::Bare {
                        return Err(format!(
                            "{{{}}} at byte {at} sits inside quotes or after a backslash; \
                             cascade quotes every value itself, so write it bare",
                            p.name()
                        ));
                    }
                    let end = at + p.name().len() + 1;
                    while chars.next_if(|&(i, _)| i <= end).is_some() {}
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Value(p));
                    continue;
                }
                _ => literal.push(c),
            }
            quoting = quoting.after(c);
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(CommandTemplate { pieces })
    }

    /// True when the command is for one cluster (it names `{cluster}` or
    /// `{token}`): one process per cluster. Otherwise one process serves
    /// every cluster and finds them in `CASCADE_CLUSTERS` and
    /// `CASCADE_TOKENS_FILE`.
    pub fn per_cluster(&self) -> bool {
        self.placeholders()
            .iter()
            .any(|p| matches!(p, Placeholder::Cluster | Placeholder::Token))
    }

    /// The placeholders the template names, each once, in order.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut named: Vec<Placeholder> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Value(p) = piece {
                if !named.contains(p) {
                    named.push(*p);
                }
            }
        }
        named
    }

    /// The command line with each value substituted, single-quoted for the
    /// shell, so a value with spaces, quotes or `;` stays one word.
    pub fn render(&self, vars: &Vars) -> Result<String, String> {
        let mut line = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => line.push_str(text),
                Piece::Value(p) => {
                    let value = vars.value(*p)?.ok_or_else(|| {
                        format!(
                            "the command names {{{}}}, which has no value for this process",
                            p.name()
                        )
                    })?;
                    line.push_str(&shell_quote(&value));
                }
            }
        }
        Ok(line)
    }
}

/// The placeholder whose `{` is at byte `at` of `text`.
fn placeholder_at(text: &str, at: usize) -> Result<Placeholder, String> {
    let rest = &text[at + 1..];
    let Some(close) = rest
        .find(['}', '{'])
        .filter(|&i| rest[i..].starts_with('}'))
    else {
        return Err(format!(
            "unclosed '{{' at byte {at} of the command; write '{{{{' for a literal brace \
             (known placeholders: {})",
            known_list()
        ));
    };
    let name = &rest[..close];
    Placeholder::from_name(name).ok_or_else(|| {
        format!(
            "unknown placeholder {{{}}} at byte {at} of the command; known: {}",
            crate::files::terminal_safe(name),
            known_list()
        )
    })
}

/// `value` as one single-quoted shell word (a `'` inside becomes `'\''`).
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The values one process gets, as placeholders and as environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Vars {
    /// The cluster a per-cluster process serves.
    pub cluster: Option<u32>,
    pub control_plane_url: String,
    pub service_url: String,
    pub cloud_url: String,
    /// The cluster's token (per-cluster processes).
    pub token: Option<String>,
    pub time_scale: f64,
    pub poll_interval_ms: u64,
    pub clusters_file: Option<PathBuf>,
    pub incident: Option<String>,
    /// Environment only: the clusters the one all-clusters process serves.
    pub clusters: Option<Vec<u32>>,
    /// Environment only: that process's `id token` file.
    pub tokens_file: Option<PathBuf>,
}

fn path_text(p: Placeholder, path: &Path) -> Result<String, String> {
    path.to_str().map(str::to_owned).ok_or_else(|| {
        format!(
            "{{{}}}: the path {} is not UTF-8 and cannot be written into a command",
            p.name(),
            crate::files::terminal_safe(&path.display().to_string())
        )
    })
}

impl Vars {
    /// The value of `p` as text; `Ok(None)` when absent for this process.
    pub fn value(&self, p: Placeholder) -> Result<Option<String>, String> {
        Ok(match p {
            Placeholder::Cluster => self.cluster.map(|c| c.to_string()),
            Placeholder::ControlPlaneUrl => Some(self.control_plane_url.clone()),
            Placeholder::ServiceUrl => Some(self.service_url.clone()),
            Placeholder::CloudUrl => Some(self.cloud_url.clone()),
            Placeholder::Token => self.token.clone(),
            Placeholder::TimeScale => Some(self.time_scale.to_string()),
            Placeholder::PollIntervalMs => Some(self.poll_interval_ms.to_string()),
            Placeholder::ClustersFile => match &self.clusters_file {
                Some(path) => Some(path_text(p, path)?),
                None => None,
            },
            Placeholder::Incident => self.incident.clone(),
        })
    }

    /// The same values as `CASCADE_*` environment variables; absent ones
    /// are not in the list (and [`Supervisor::spawn`] removes them from
    /// the inherited environment).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut env = Vec::new();
        for p in Placeholder::ALL {
            let value = match (p, &self.clusters_file) {
                (Placeholder::ClustersFile, Some(path)) => Some(path.clone().into_os_string()),
                _ => self.value(p).ok().flatten().map(OsString::from),
            };
            if let Some(v) = value {
                env.push((p.env_name(), v));
            }
        }
        if let Some(ids) = &self.clusters {
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            env.push((ENV_CLUSTERS, OsString::from(list.join(","))));
        }
        if let Some(path) = &self.tokens_file {
            env.push((ENV_TOKENS_FILE, path.clone().into_os_string()));
        }
        env
    }
}

/// Every environment variable [`Vars::env`] may set.
fn cascade_env_names() -> impl Iterator<Item = &'static str> {
    Placeholder::ALL
        .into_iter()
        .map(Placeholder::env_name)
        .chain([ENV_CLUSTERS, ENV_TOKENS_FILE])
}

/// Writes the all-clusters process's tokens, one `id token` line each, to
/// a new file only its owner can read (mode 0600). Refuses an existing
/// file (cascade never overwrites what it did not write) and a token with
/// whitespace (it would break the line format).
pub fn write_tokens_file(path: &Path, tokens: &[(u32, String)]) -> Result<(), String> {
    let shown = crate::files::terminal_safe(&path.display().to_string()).into_owned();
    let mut text = String::new();
    for (id, token) in tokens {
        if token.is_empty() || token.chars().any(char::is_whitespace) {
            return Err(format!(
                "the token of cluster {id} is empty or holds whitespace"
            ));
        }
        text.push_str(&format!("{id} {token}\n"));
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create the tokens file {shown}: {e}"))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the tokens file {shown}: {e}"))
}

/// Which process: one cluster's agent, the one agent of all clusters, or
/// one cluster's recovery script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProcKey {
    Agent(u32),
    AllAgents,
    Recovery(u32),
}

impl fmt::Display for ProcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcKey::Agent(id) => write!(f, "agent-{id}"),
            ProcKey::AllAgents => f.write_str("agents"),
            ProcKey::Recovery(id) => write!(f, "recovery-{id}"),
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code (127: the shell found no such command).
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// Its status could not be read: something else in this process
    /// reaped it.
    Unknown,
}

impl Exit {
    fn of(status: ExitStatus) -> Exit {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = status.signal() {
                return Exit::Signal(sig);
            }
        }
        status.code().map_or(Exit::Unknown, Exit::Code)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(127) => f.write_str("exit code 127 (command not found)"),
            Exit::Code(code) => write!(f, "exit code {code}"),
            Exit::Signal(sys::SIGKILL) => write!(f, "killed by signal {} (SIGKILL)", sys::SIGKILL),
            Exit::Signal(sys::SIGTERM) => write!(f, "ended by signal {} (SIGTERM)", sys::SIGTERM),
            Exit::Signal(sig) => write!(f, "ended by signal {sig}"),
            Exit::Unknown => f.write_str("ended, status unknown"),
        }
    }
}

/// The supervisor's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Live children at most; `spawn` refuses beyond.
    pub processes_max: usize,
    /// Each log file's size at most (plus one notice line per start that
    /// reached it).
    pub log_bytes_max: u64,
}

/// How often the waits look at their children.
const WAIT_STEP: Duration = Duration::from_millis(10);
/// How long an ended child's log thread may take to write what is left
/// in the pipe. It only runs out if a process left the group (setsid)
/// and holds the pipe open; the thread then ends when that one does.
const DRAIN_WAIT: Duration = Duration::from_millis(500);

struct Running {
    child: Child,
    drained: Receiver<()>,
}

impl Running {
    fn pgid(&self) -> i32 {
        // The child leads its own group (process_group(0)): its pid is the
        // group's id. Pids fit in i32 (pid_t) on every Unix.
        self.child.id() as i32
    }
}

/// Starts, watches, logs and ends the black-box processes.
pub struct Supervisor {
    log_dir: PathBuf,
    limits: Limits,
    children: std::collections::BTreeMap<ProcKey, Running>,
}

impl Supervisor {
    /// A supervisor that logs into `log_dir` (created if missing).
    pub fn new(log_dir: &Path, limits: Limits) -> Result<Supervisor, String> {
        std::fs::create_dir_all(log_dir).map_err(|e| {
            format!(
                "cannot create the log folder {}: {e}",
                crate::files::terminal_safe(&log_dir.display().to_string())
            )
        })?;
        Ok(Supervisor {
            log_dir: log_dir.to_path_buf(),
            limits,
            children: Default::default(),
        })
    }

    /// The log file of `key`: `<log_dir>/<key>.log`.
    pub fn log_path(&self, key: ProcKey) -> PathBuf {
        self.log_dir.join(format!("{key}.log"))
    }

    /// True from `spawn` until `poll_exits`, `stop` or `stop_all` reports
    /// its end (a child that ended since the last poll still counts).
    pub fn running(&self, key: ProcKey) -> bool {
        self.children.contains_key(&key)
    }

    /// The pid (and process group id) of a running `key`.
    pub fn pid(&self, key: ProcKey) -> Option<u32> {
        self.children.get(&key).map(|r| r.child.id())
    }

    /// The keys of every running process, in order.
    pub fn keys(&self) -> Vec<ProcKey> {
        self.children.keys().copied().collect()
    }

    /// Starts `command` (already rendered) as `key`, with the parent's
    /// environment minus every `CASCADE_*` variable, plus `env`. Returns
    /// the pid. Spawn from a thread that lives as long as the supervisor:
    /// Linux's parent-death signal fires when the spawning thread ends.
    pub fn spawn(
        &mut self,
        key: ProcKey,
        command: &str,
        env: &[(&str, OsString)],
    ) -> Result<u32, String> {
        if let Some(r) = self.children.get(&key) {
            return Err(format!("{key} is already running (pid {})", r.child.id()));
        }
        if self.children.len() >= self.limits.processes_max {
            return Err(format!(
                "cannot start {key}: {} processes are running, the limit is {}",
                self.children.len(),
                self.limits.processes_max
            ));
        }
        let path = self.log_path(key);
        let mut log = open_log(&path)?;
        let (reader, writer) =
            std::io::pipe().map_err(|e| format!("cannot start {key}: no pipe: {e}"))?;
        let stderr = writer
            .try_clone()
            .map_err(|e| format!("cannot start {key}: no pipe: {e}"))?;
        let mut cmd = shell_command(command, env);
        cmd.stdout(writer).stderr(stderr);
        let spawned = cmd.spawn();
        // The command holds our copies of the pipe's write end; the log
        // thread sees the end of output only once they are closed.
        drop(cmd);
        let child = spawned.map_err(|e| format!("cannot start {key}: {e}"))?;
        let header = format!(
            "--- cascade: started {key} (pid {}): {}\n",
            child.id(),
            redacted(command, env)
        );
        // The header is best effort: a full disk must not stop the agent.
        let _ = log.write_all(header.as_bytes());
        let written = log.metadata().map_or(0, |m| m.len());
        let budget_bytes = self.limits.log_bytes_max.saturating_sub(written);
        let (done, drained) = mpsc::sync_channel(1);
        let name = key.to_string();
        let cap = self.limits.log_bytes_max;
        let thread = std::thread::Builder::new()
            .name(format!("log-{name}"))
            .spawn(move || drain(reader, log, budget_bytes, cap, done));
        let pid = child.id();
        let mut running = Running { child, drained };
        if let Err(e) = thread {
            kill_and_reap(&mut running);
            return Err(format!("cannot start {key}: no thread for its log: {e}"));
        }
        self.children.insert(key, running);
        Ok(pid)
    }

    /// The processes that ended since the last call, without waiting.
    /// Whatever an ended process left running in its group is killed.
    pub fn poll_exits(&mut self) -> Vec<(ProcKey, Exit)> {
        let mut ended = Vec::new();
        for (key, running) in self.children.iter_mut() {
            match running.child.try_wait() {
                Ok(Some(status)) => ended.push((*key, Exit::of(status))),
                Ok(None) => {}
                Err(_) => ended.push((*key, Exit::Unknown)),
            }
        }
        for (key, _) in &ended {
            if let Some(running) = self.children.remove(key) {
                settle(running);
            }
        }
        ended
    }

    /// Stops `key`: SIGTERM to its group, SIGKILL after `grace` if its
    /// process has not ended. `None` when `key` was not running.
    pub fn stop(&mut self, key: ProcKey, grace: Duration) -> Option<Exit> {
        self.stop_these(vec![key], grace)
            .pop()
            .map(|(_, exit)| exit)
    }

    /// Stops every process at once (one `grace` for all), in key order.
    pub fn stop_all(&mut self, grace: Duration) -> Vec<(ProcKey, Exit)> {
        let keys = self.keys();
        self.stop_these(keys, grace)
    }

    fn stop_these(&mut self, keys: Vec<ProcKey>, grace: Duration) -> Vec<(ProcKey, Exit)> {
        let mut pending: Vec<(ProcKey, Running)> = keys
            .into_iter()
            .filter_map(|k| self.children.remove(&k).map(|r| (k, r)))
            .collect();
        for (_, running) in &pending {
            sys::signal_group(running.pgid(), sys::SIGTERM);
        }
        let mut ended = Vec::new();
        let steps = grace.as_millis().div_ceil(WAIT_STEP.as_millis());
        for step in 0..=steps {
            let mut i = 0;
            while i < pending.len() {
                match pending[i].1.child.try_wait() {
                    Ok(None) => i += 1,
                    status => {
                        let (key, running) = pending.swap_remove(i);
                        let exit = status.ok().flatten().map_or(Exit::Unknown, Exit::of);
                        ended.push((key, exit, running));
                    }
                }
            }
            if pending.is_empty() || step == steps {
                break;
            }
            std::thread::sleep(WAIT_STEP);
        }
        for (key, mut running) in pending {
            let exit = kill_and_reap(&mut running);
            ended.push((key, exit, running));
        }
        ended.sort_by_key(|(key, _, _)| *key);
        ended
            .into_iter()
            .map(|(key, exit, running)| {
                settle(running);
                (key, exit)
            })
            .collect()
    }
}

impl Drop for Supervisor {
    /// Kills every group still running and reaps their leaders.
    fn drop(&mut self) {
        for running in self.children.values_mut() {
            kill_and_reap(running);
        }
    }
}

/// `/bin/sh -c 'exec <command>'`: its own process group, no stdin, the
/// environment as [`Supervisor::spawn`] says, dying with cascade on Linux.
fn shell_command(command: &str, env: &[(&str, OsString)]) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::null())
        .process_group(0);
    for name in cascade_env_names() {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as i32;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes two system calls (prctl, getppid) and builds an io::Error
        // from a number, all async-signal-safe: no allocation, no lock.
        unsafe {
            cmd.pre_exec(move || sys::die_with_parent(parent));
        }
    }
    cmd
}

/// `command` with the token's value hidden: the log must not hold it.
fn redacted(command: &str, env: &[(&str, OsString)]) -> String {
    let mut shown = command.to_owned();
    for (name, value) in env {
        let value = value.to_string_lossy();
        if *name == Placeholder::Token.env_name() && !value.is_empty() {
            shown = shown.replace(value.as_ref(), "<token>");
        }
    }
    crate::files::terminal_safe(&shown)
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Opens `path` for appending; refuses anything but a regular file (a
/// symlink could point the log at a file cascade did not write).
fn open_log(path: &Path) -> Result<File, String> {
    let shown = crate::files::terminal_safe(&path.display().to_string()).into_owned();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_file() {
            return Err(format!("the log {shown} exists and is not a regular file"));
        }
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open the log {shown}: {e}"))
}

/// The log thread: copies the pipe into the log until `budget_bytes` are
/// written, then says so once and discards the rest, reading to the end
/// so the child never blocks on a full pipe.
fn drain(mut pipe: PipeReader, mut log: File, budget_bytes: u64, cap: u64, done: SyncSender<()>) {
    let mut left = budget_bytes;
    let mut capped = false;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if capped {
            continue;
        }
        let take = n.min(usize::try_from(left).unwrap_or(usize::MAX));
        // A failed write (full disk) loses output, never blocks the child.
        let _ = log.write_all(&buf[..take]);
        left -= take as u64;
        if take < n {
            capped = true;
            let notice = format!(
                "\n--- cascade: this log reached its cap of {cap} bytes; \
                 the rest of this process's output is discarded\n"
            );
            let _ = log.write_all(notice.as_bytes());
        }
    }
    let _ = done.send(());
}

/// After the leader ended: kills what it left in its group, then gives the
/// log thread a moment to write what remains in the pipe.
fn settle(running: Running) {
    sys::signal_group(running.pgid(), sys::SIGKILL);
    let _ = running.drained.recv_timeout(DRAIN_WAIT);
}

/// SIGKILL to the group, then the leader's status (its wait is short: a
/// killed process ends at once).
fn kill_and_reap(running: &mut Running) -> Exit {
    sys::signal_group(running.pgid(), sys::SIGKILL);
    running.child.wait().map_or(Exit::Unknown, Exit::of)
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// A flag SIGINT and SIGTERM set, so the caller's loop can stop every child
/// and end cleanly. A second signal while the flag is set ends cascade at
/// once, as if no handler were installed (for a loop that does not look).
/// Installing twice installs once.
pub fn install_interrupt_flag() -> &'static AtomicBool {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(sys::install_handlers);
    &INTERRUPTED
}

/// The C library calls this module needs. Not a crate (`libc`): four
/// functions with the same signatures on every Unix Rust supports, plus
/// signal numbers POSIX fixes in practice (2, 9, 15), and one Linux call.
mod sys {
    use super::INTERRUPTED;
    use std::sync::atomic::Ordering;

    pub const SIGINT: i32 = 2;
    pub const SIGKILL: i32 = 9;
    pub const SIGTERM: i32 = 15;
    const SIG_DFL: usize = 0;

    // pid_t is i32 and sighandler_t a pointer-sized function pointer on
    // every Unix Rust supports.
    unsafe extern "C" {
        // kill(2) only sends a signal: nothing of this process's memory is
        // at stake, whatever the arguments.
        safe fn kill(pid: i32, sig: i32) -> i32;
        safe fn getppid() -> i32;
        fn signal(signum: i32, handler: usize) -> usize;
        fn raise(sig: i32) -> i32;
    }

    /// Sends `sig` to the process group `pgid`. Refuses 0 and 1, which
    /// would mean this process's own group or every process.
    pub fn signal_group(pgid: i32, sig: i32) {
        if pgid > 1 {
            kill(-pgid, sig);
        }
    }

    extern "C" fn on_signal(sig: i32) {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // SAFETY: signal and raise are async-signal-safe; SIG_DFL
            // restores the default action, which the raise then takes.
            unsafe {
                signal(sig, SIG_DFL);
                raise(sig);
            }
        }
    }

    pub fn install_handlers() {
        for sig in [SIGINT, SIGTERM] {
            // SAFETY: the handler only swaps an atomic (async-signal-safe)
            // and, on a second signal, calls signal and raise, which are too.
            unsafe {
                signal(sig, on_signal as extern "C" fn(i32) as usize);
            }
        }
    }

    #[cfg(target_os = "linux")]
    pub fn die_with_parent(parent: i32) -> std::io::Result<()> {
        const PR_SET_PDEATHSIG: i32 = 1;
        const ESRCH: i32 = 3;
        unsafe extern "C" {
            fn prctl(option: i32, ...) -> i32;
        }
        // SAFETY: PR_SET_PDEATHSIG reads one unsigned long argument, the
        // signal number, and touches no memory of ours.
        if unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL as std::ffi::c_ulong) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // cascade may have died between fork and prctl: then the child's
        // parent is already someone else and the signal would never come.
        if getppid() != parent {
            return Err(std::io::Error::from_raw_os_error(ESRCH));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            cluster: Some(17),
            control_plane_url: "http://127.0.0.1:4000".into(),
            service_url: "http://127.0.0.1:4001".into(),
            cloud_url: "http://127.0.0.1:4002".into(),
            token: Some("tok-17".into()),
            time_scale: 60.0,
            poll_interval_ms: 250,
            clusters_file: None,
            incident: None,
            clusters: None,
            tokens_file: None,
        }
    }

    #[test]
    fn parse_reads_placeholders_and_literal_braces() {
        let t = CommandTemplate::parse("agent --id {cluster} --json '{{\"a\":1}}' {service_url}")
            .unwrap();
        assert_eq!(
            t.placeholders(),
            vec![Placeholder::Cluster, Placeholder::ServiceUrl]
        );
        assert_eq!(
            t.render(&vars()).unwrap(),
            "agent --id '17' --json '{\"a\":1}' 'http://127.0.0.1:4001'"
        );
    }

    #[test]
    fn parse_errors_name_what_is_wrong() {
        let err = |text: &str| CommandTemplate::parse(text).unwrap_err();
        let unknown = err("agent {clustr}");
        assert!(
            unknown.starts_with("unknown placeholder {clustr} at byte 6"),
            "{unknown}"
        );
        assert!(
            unknown.contains("known: {cluster}, {control_plane_url}"),
            "{unknown}"
        );
        assert!(
            unknown.ends_with("{clusters_file}, {incident}"),
            "{unknown}"
        );
        let unclosed = err("agent {cluster");
        assert!(unclosed.starts_with("unclosed '{' at byte 6"), "{unclosed}");
        assert!(unclosed.contains("{poll_interval_ms}"), "{unclosed}");
        assert!(err("agent {a{cluster}").starts_with("unclosed '{' at byte 6"));
        assert!(err("agent }").starts_with("unmatched '}' at byte 6"));
        assert_eq!(
            err("  "),
            "the command is empty: give the command line to run"
        );
        assert_eq!(
            err(""),
            "the command is empty: give the command line to run"
        );
        assert!(err("a\0b").contains("NUL byte at byte 1"));
        assert!(err(&"x".repeat(TEMPLATE_BYTES_MAX + 1)).contains("at most 16384"));
    }

    #[test]
    fn a_placeholder_inside_quotes_is_refused() {
        for text in [
            "a '{token}'",
            "a \"{token}\"",
            "a \\{token}",
            "a \"x\\\"{token}\"",
        ] {
            let e = CommandTemplate::parse(text).unwrap_err();
            assert!(e.contains("{token} at byte"), "{text}: {e}");
            assert!(e.contains("inside quotes"), "{text}: {e}");
        }
        // Quotes closed before it, or a quote escaped, leave it bare.
        for text in [
            "a 'x' {token}",
            "a \"x\" {token}",
            "a \\' {token}",
            "a --t={token}",
        ] {
            assert!(CommandTemplate::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn per_cluster_means_cluster_or_token() {
        let per = |text: &str| CommandTemplate::parse(text).unwrap().per_cluster();
        assert!(per("a {cluster}"));
        assert!(per("a {token}"));
        assert!(!per("a {service_url} {clusters_file} {{cluster}}"));
    }

    #[test]
    fn render_refuses_an_absent_value() {
        let t = CommandTemplate::parse("recover {incident}").unwrap();
        assert_eq!(
            t.render(&vars()).unwrap_err(),
            "the command names {incident}, which has no value for this process"
        );
    }

    #[test]
    fn shell_quote_wraps_and_escapes_single_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn env_holds_present_values_only() {
        let mut v = vars();
        v.token = None;
        v.clusters = Some(vec![3, 5]);
        v.tokens_file = Some(PathBuf::from("/run/t"));
        let env = v.env();
        let get = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        assert_eq!(get("CASCADE_CLUSTER"), Some("17".into()));
        assert_eq!(get("CASCADE_TIME_SCALE"), Some("60".into()));
        assert_eq!(get("CASCADE_POLL_INTERVAL_MS"), Some("250".into()));
        assert_eq!(get("CASCADE_CLUSTERS"), Some("3,5".into()));
        assert_eq!(get("CASCADE_TOKENS_FILE"), Some("/run/t".into()));
        assert_eq!(get("CASCADE_TOKEN"), None);
        assert_eq!(get("CASCADE_INCIDENT"), None);
        assert_eq!(env.len(), 8);
    }

    #[test]
    fn the_header_hides_the_token() {
        let env = [("CASCADE_TOKEN", OsString::from("s3cret"))];
        assert_eq!(redacted("agent 's3cret'\nx", &env), "agent '<token>'\\nx");
    }

    #[test]
    fn keys_name_their_logs() {
        assert_eq!(ProcKey::Agent(17).to_string(), "agent-17");
        assert_eq!(ProcKey::AllAgents.to_string(), "agents");
        assert_eq!(ProcKey::Recovery(1).to_string(), "recovery-1");
    }
}
