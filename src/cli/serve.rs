//! `cascade serve`: the live tier's control plane (edge), cloud API and
//! their internals on real sockets, until killed or `--for` elapses.

use super::exit::{self, Exit};
use super::wall_duration;
use crate::wire::api::TokenKey;
use crate::wire::{harness::InitialPools, keyfile, live};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Most clusters `cascade serve` keeps (each has its state and a token).
pub const SERVE_CLUSTERS_MAX: u32 = 100_000;

/// The key of `cascade serve`: from `path` (read, or created with a random
/// key when nothing is there), else drawn at random.
fn token_key(path: Option<&Path>) -> Result<(TokenKey, Option<keyfile::Origin>), String> {
    match path {
        Some(p) => keyfile::read_or_create(p).map(|(k, o)| (k, Some(o))),
        None => TokenKey::random().map(|k| (k, None)),
    }
}

/// The arguments of `cascade serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The edge (the agents' control-plane URL); loopback by default.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The cloud API (default: the edge's port + 1, same address).
    #[arg(long)]
    pub cloud_listen: Option<SocketAddr>,
    /// Clusters the control plane and cloud know (1 to 100,000).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=SERVE_CLUSTERS_MAX as i64))]
    pub clusters: u32,
    /// Seed of the fleet and the cloud's draws (not of the tokens).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The token key: read from FILE, or drawn at random and written there
    /// (a new file, mode 0600) for `cascade agent --token-file`. An existing
    /// FILE must be a regular file of this user, private to them (like an
    /// ssh key: `chmod 600`), holding 64 hex digits. Without it the key is
    /// random and only the printed tokens work.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Listen on addresses other than loopback. The live tier is a test
    /// double: anyone who can reach it and holds the admin token can
    /// misroute every agent.
    #[arg(long)]
    pub allow_remote: bool,
    /// Simulated seconds per wall second (60: a poll a second).
    #[arg(long, default_value_t = 1)]
    pub time_scale: u32,
    /// Start with only each cluster's system pool, so agents must create the rest.
    #[arg(long)]
    pub empty_cloud: bool,
    /// Cloud delete locks on system and airflow pools (G6).
    #[arg(long)]
    pub delete_locks: bool,
    /// Stop after this much wall time (`10m`).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let Args {
        listen,
        cloud_listen,
        clusters,
        seed,
        token_file,
        allow_remote,
        time_scale,
        empty_cloud,
        delete_locks,
        duration,
    } = args;
    let run_for = match wall_duration(duration.as_deref()) {
        Ok(d) => d,
        Err(m) => return exit::usage(m),
    };
    let cloud_listen = cloud_listen.unwrap_or_else(|| {
        let mut a = listen;
        if a.port() != 0 {
            a.set_port(a.port().wrapping_add(1));
        }
        a
    });
    for (flag, addr) in [("--listen", listen), ("--cloud-listen", cloud_listen)] {
        if !addr.ip().is_loopback() {
            if !allow_remote {
                return exit::usage(format_args!(
                    "{flag} {addr} is not a loopback address: the live tier is a test double (add --allow-remote if it must be reachable from elsewhere)"
                ));
            }
            eprintln!("warning: {flag} {addr}: reachable from other machines; keep the admin token secret");
        }
    }
    let (token_key, key_origin) = match token_key(token_file.as_deref()) {
        Ok(k) => k,
        Err(m) => return exit::usage(m),
    };
    let servers = match live::Servers::start(live::ServeConfig {
        listen,
        cloud_listen,
        clusters,
        seed,
        token_key,
        limits: Default::default(),
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
        Err(e) => return exit::usage(format_args!("cannot start the servers: {e}")),
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
    if let (Some(path), Some(origin)) = (&token_file, key_origin) {
        println!(
            "  token key             {} ({})",
            keyfile::shown(path),
            match origin {
                keyfile::Origin::Read => "read",
                keyfile::Origin::Created => "new, mode 0600",
            }
        );
    }
    println!("  admin token           {}", servers.admin_token());
    for c in 0..clusters.min(8) {
        println!("  cluster {c} token       {}", servers.token(c));
    }
    // A token on a command line is visible to every local user (`ps`);
    // the key file is not.
    let credential = match &token_file {
        Some(path) => format!("--token-file {}", keyfile::shell_word(path)),
        None => format!("--token {}", servers.token(0)),
    };
    println!(
        "  agent:    cascade agent --control-plane http://{} --cloud http://{} --cluster 0 {credential} --seed {seed} --time-scale {time_scale}",
        servers.edge,
        servers.cloud,
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
        Ok(()) => Exit::Ok.into(),
        Err(e) => exit::failed(e),
    }
}
