//! `cascade serve`: the live tier's control plane (edge), cloud API and
//! their internals on real sockets, until killed or `--for` elapses.

use super::exit::{self, Exit};
use super::wall_duration;
use crate::wire::{harness::InitialPools, live};
use std::net::SocketAddr;
use std::process::ExitCode;

/// The arguments of `cascade serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The edge (the agents' control-plane URL); loopback by default.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The cloud API (default: the edge's port + 1, same address).
    #[arg(long)]
    pub cloud_listen: Option<SocketAddr>,
    /// Clusters the control plane and cloud know.
    #[arg(long, default_value_t = 4)]
    pub clusters: u32,
    /// Seed of the fleet, the cloud's draws and the tokens.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
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
        Ok(()) => Exit::Ok.into(),
        Err(e) => exit::failed(e),
    }
}
