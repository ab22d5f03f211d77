//! `cascade agent`: one real agent against `cascade serve` (the live tier).

use super::exit::{self, usage, Exit};
use super::{value_name, wall_duration};
use crate::model::agent::{AgentConfig, Guards};
use crate::wire::live;
use std::process::ExitCode;

/// The arguments of `cascade agent`.
#[derive(clap::Args)]
pub struct Args {
    /// The control plane's URL (the edge), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub control_plane: String,
    /// The cloud API's URL (default: the control plane's port + 1).
    #[arg(long)]
    pub cloud: Option<String>,
    #[arg(long)]
    pub cluster: u32,
    /// Bearer token of the cluster, as `cascade serve` prints it. Any local
    /// user can read a command line (`ps`) while the agent runs: prefer
    /// --token-file (a warning says so).
    #[arg(
        long,
        required_unless_present = "token_file",
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,
    /// The server's token key file (`cascade serve --token-file`): the
    /// cluster's token is derived from it. As for the server, it must be a
    /// regular file of this user, private to them (`chmod 600`), holding
    /// 64 hex digits.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// Agent version.
    #[arg(long, value_enum, default_value_t = Version::Buggy)]
    pub guards: Version,
    /// Seed of the agent's phases (as given to `cascade serve`).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds per wall second; match `cascade serve`.
    #[arg(long, default_value_t = 1)]
    pub time_scale: u32,
    /// Poll period in simulated seconds.
    #[arg(long)]
    pub poll_interval_s: Option<f64>,
    /// Full-resync (pruning) period in simulated seconds.
    #[arg(long)]
    pub full_resync_interval_s: Option<f64>,
    /// Per-request timeout in wall milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub timeout_ms: u64,
    /// Report safe hold to the control plane (`PUT …/agent-status`), as
    /// `cascade blackbox` serves it (`cascade serve` does not).
    #[arg(long)]
    pub report_hold: bool,
    /// Stop after this much wall time (`10m`).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
}

/// The agent versions `--guards` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Version {
    /// The historical agent: no guard at all.
    Buggy,
    /// The hotfix actually shipped: G1, G3 and G7.
    Hotfix,
    /// The fixed agent with every guard on, G1 to G8.
    All,
}

impl Version {
    pub fn guards(self) -> Guards {
        match self {
            Version::Buggy => Guards::none(),
            Version::Hotfix => Guards::hotfix(),
            Version::All => Guards::all(),
        }
    }
}

pub fn run(a: Args) -> ExitCode {
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
    let token = match (&a.token, &a.token_file) {
        (Some(t), _) => {
            if let Err(m) = check_token(t) {
                return usage(m);
            }
            eprintln!(
                "warning: --token is visible to other local users (ps, /proc/<pid>/cmdline) while \
                 the agent runs; --token-file with the server's key file (mode 0600) is not"
            );
            t.clone()
        }
        (None, Some(f)) => match crate::wire::keyfile::read(f) {
            Ok(key) => crate::wire::api::cluster_token(&key, a.cluster),
            Err(m) => return usage(m),
        },
        (None, None) => return usage("give --token (printed by cascade serve) or --token-file"),
    };
    println!(
        "cascade agent: cluster {} ({}) against http://{control_plane}, cloud http://{cloud}",
        a.cluster,
        value_name(&a.guards)
    );
    let cfg = live::AgentRunConfig {
        control_plane,
        cloud,
        cluster: a.cluster,
        token,
        guards: a.guards.guards(),
        agent,
        seed: a.seed,
        time_scale: a.time_scale,
        request_timeout: std::time::Duration::from_millis(a.timeout_ms),
        run_for,
        verbose: true,
        report_hold: a.report_hold,
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
            verdict(&s, &a)
        }
        Err(e) => exit::failed(e),
    }
}

/// Longest `--token` taken: a token `cascade serve` prints is about 40
/// characters.
const TOKEN_CHARS_MAX: usize = 1_024;

/// Refuses a `--token` that cannot be sent as a bearer token, without
/// quoting it (it is a secret).
fn check_token(token: &str) -> Result<(), String> {
    const WHAT: &str =
        "give the token cascade serve prints for the cluster (c<id>.<32 hex digits>)";
    let chars = token.chars().count();
    if chars == 0 {
        return Err(format!("--token is empty: {WHAT}"));
    }
    if chars > TOKEN_CHARS_MAX {
        return Err(format!(
            "--token is {chars} characters long, more than {TOKEN_CHARS_MAX}: {WHAT}"
        ));
    }
    if let Some(at) = token.chars().position(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "--token has a character that cannot go in an HTTP header (a space, a control \
             character or not ASCII) at position {}: {WHAT}",
            at + 1
        ));
    }
    Ok(())
}

/// How a finished run of the agent ends: an agent none of whose polls was
/// accepted never saw its desired state, a failure and not a quiet success.
fn verdict(s: &live::AgentStatus, a: &Args) -> ExitCode {
    if let Some(r) = &s.stopped_refused {
        let hint = if r.status == 403 {
            format!(
                "the token is another cluster's, not cluster {}'s: check --cluster",
                a.cluster
            )
        } else {
            "the token is not one of this server's (without --token-file it draws a new key \
             each time it starts): use the token it printed, or --token-file with its key file"
                .to_string()
        };
        return exit::failed(format_args!(
            "the token was refused: {} on {} polls and none accepted, so the agent stopped; {hint}",
            r.what, s.refused
        ));
    }
    if s.accepted > 0 {
        return Exit::Ok.into();
    }
    let reached = s
        .answers
        .iter()
        .any(|(k, n)| k != "connection_error" && *n > 0);
    if !reached {
        return exit::failed(format_args!(
            "never reached the control plane at http://{}",
            live::authority_of(&a.control_plane).unwrap_or_default()
        ));
    }
    let mut seen: Vec<(&String, &u64)> = s.failed.iter().collect();
    seen.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
    let seen: Vec<String> = seen
        .iter()
        .map(|(what, n)| format!("{what} ({n})"))
        .collect();
    exit::failed(format_args!(
        "no poll was accepted in {}: {}",
        s.polls,
        seen.join(", ")
    ))
}
