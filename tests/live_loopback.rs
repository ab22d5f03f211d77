//! The live tier over real loopback sockets: servers on 127.0.0.1:0, one
//! real agent, time sped up 600x (a simulated minute per 100 ms), the edge
//! switched to misroute at run time through its admin endpoint.

use cascade::model::agent::{AgentConfig, Guards};
use cascade::wire::api::{self, DesiredStateDoc, Exchange, NodePoolsDoc};
use cascade::wire::harness::InitialPools;
use cascade::wire::http::ServerLimits;
use cascade::wire::live::{call, AgentRunConfig, AgentThread, ServeConfig, Servers};
use std::net::SocketAddr;
use std::time::Duration;

const SCALE: u32 = 600;
const CLUSTER: u32 = 2;
const TIMEOUT: Duration = Duration::from_secs(2);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn start() -> Servers {
    start_with(Default::default())
}

fn start_with(limits: ServerLimits) -> Servers {
    Servers::start(ServeConfig {
        listen: loopback(),
        cloud_listen: loopback(),
        clusters: 4,
        seed: 1,
        token_key: api::TokenKey::random().expect("randomness"),
        limits,
        time_scale: SCALE,
        // Only the system pool: the agent has to create the rest.
        initial_pools: InitialPools::SystemOnly,
        delete_locks: false,
        verbose: false,
    })
    .expect("servers start")
}

fn get(s: &Servers, authority: SocketAddr, path: &str, token: &str) -> (u16, Vec<u8>) {
    match call(
        &authority.to_string(),
        "GET",
        path,
        Some(token),
        None,
        TIMEOUT,
    )
    .expect("runtime")
    {
        Exchange::Reply { status, body, .. } => (status, body),
        other => panic!("{other:?} from {authority}{path} (servers at {})", s.edge),
    }
}

fn desired(s: &Servers) -> DesiredStateDoc {
    let (status, body) = get(
        s,
        s.edge,
        &api::desired_state_path(CLUSTER),
        &s.token(CLUSTER),
    );
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

/// Pool name -> state, as the cloud lists them.
fn pools(s: &Servers) -> Vec<(String, String)> {
    let (status, body) = get(
        s,
        s.cloud,
        &api::node_pools_path(CLUSTER),
        &s.token(CLUSTER),
    );
    assert_eq!(status, 200);
    let doc: NodePoolsDoc = serde_json::from_slice(&body).unwrap();
    doc.pools.into_iter().map(|p| (p.name, p.state)).collect()
}

fn converged(s: &Servers, want: &DesiredStateDoc) -> bool {
    let have = pools(s);
    want.pools
        .iter()
        .all(|p| have.contains(&(p.name.clone(), "present".into())))
}

/// Polls `cond` every 50 ms, at most `tries` times.
fn wait_for(tries: u32, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn agent(s: &Servers, guards: Guards) -> AgentThread {
    AgentThread::spawn(AgentRunConfig {
        control_plane: s.edge.to_string(),
        cloud: s.cloud.to_string(),
        cluster: CLUSTER,
        token: s.token(CLUSTER),
        guards,
        agent: AgentConfig {
            // Ten minutes between full resyncs: one per wall second.
            full_resync_interval_s: 600.0,
            ..AgentConfig::default()
        },
        seed: 1,
        time_scale: SCALE,
        request_timeout: TIMEOUT,
        run_for: Some(Duration::from_secs(25)),
        verbose: false,
        report_hold: false,
    })
    .expect("agent starts")
}

fn misroute(s: &Servers) {
    let body = r#"{"misroute_ratio": 1.0, "misroute_salt": 0, "set_by": "test"}"#;
    let x = call(
        &s.edge.to_string(),
        "PUT",
        "/admin/routing",
        Some(&s.admin_token()),
        Some(body.into()),
        TIMEOUT,
    )
    .unwrap();
    assert!(matches!(x, Exchange::Reply { status: 200, .. }), "{x:?}");
}

/// Starts servers and an agent, waits for convergence, switches the edge
/// to misroute every cluster; returns what the test inspects next.
fn converge_then_misroute(guards: Guards) -> (Servers, AgentThread, DesiredStateDoc) {
    let s = start();
    let want = desired(&s);
    assert!(want.pools.len() >= 3, "{want:?}");
    assert!(!converged(&s, &want), "only the system pool at the start");
    let a = agent(&s, guards);
    // Pool creation takes 8 simulated minutes (median): ~1 s here.
    assert!(
        wait_for(300, || converged(&s, &want)),
        "no convergence: {:?} {:?}",
        pools(&s),
        a.status()
    );
    misroute(&s);
    let (status, _) = get(
        &s,
        s.edge,
        &api::desired_state_path(CLUSTER),
        &s.token(CLUSTER),
    );
    assert_eq!(
        status, 404,
        "the edge now sends the path to its default backend"
    );
    (s, a, want)
}

#[test]
fn tokens_keep_clusters_apart_over_loopback() {
    let s = start();
    let (status, _) = get(&s, s.edge, &api::desired_state_path(1), &s.token(2));
    assert_eq!(status, 403, "cluster 2's token reads nothing of cluster 1");
    let (status, _) = get(&s, s.edge, &api::desired_state_path(1), "nonsense");
    assert_eq!(status, 401);
    let (status, _) = get(&s, s.cloud, &api::node_pools_path(1), &s.token(2));
    assert_eq!(status, 403);
    let (status, _) = get(&s, s.edge, "/admin/routing", &s.token(1));
    assert_eq!(status, 401, "the routing switch wants the admin token");
    // Without a token, a cluster that exists and one that does not look
    // alike: nobody counts the fleet. With one, the unknown id is a 404.
    for authority in [s.edge, s.cloud] {
        let path = |c| {
            if authority == s.edge {
                api::desired_state_path(c)
            } else {
                api::node_pools_path(c)
            }
        };
        let (known, _) = get(&s, authority, &path(1), "nonsense");
        let (unknown, _) = get(&s, authority, &path(4_000), "nonsense");
        assert_eq!((known, unknown), (401, 401), "{authority}");
        let (status, _) = get(&s, authority, &path(4_000), &s.token(4_000));
        assert_eq!(status, 404, "{authority}");
    }
    // The tokens come from a random key, not from the seed: a second
    // server with the same seed knows none of the first one's tokens.
    let other = start();
    let (status, _) = get(&other, other.edge, &api::desired_state_path(1), &s.token(1));
    assert_eq!(status, 401);
    assert_ne!(other.admin_token(), s.admin_token());
    other.stop().unwrap();
    s.stop().unwrap();
}

#[test]
fn fixed_agent_converges_then_holds_when_the_edge_misroutes() {
    let (s, a, want) = converge_then_misroute(Guards::hotfix());
    assert!(
        wait_for(200, || a.status().in_hold),
        "no safe hold: {:?}",
        a.status()
    );
    // Three more full resyncs (3 s) with nothing but 404s: nothing goes.
    std::thread::sleep(Duration::from_secs(3));
    assert!(converged(&s, &want), "{:?}", pools(&s));
    let st = a.status();
    assert_eq!(st.deletes_asked, 0, "{st:?}");
    assert!(st.answers["404"] >= 5, "{st:?}");
    assert!(st.in_hold);
    a.stop().unwrap();
    s.stop().unwrap();
}

#[test]
fn buggy_agent_converges_then_deletes_when_the_edge_misroutes() {
    let (s, a, _) = converge_then_misroute(Guards::none());
    // At its next full resync (within a second) the 404 reads as "no pools".
    let system_going = || {
        pools(&s)
            .iter()
            .any(|(n, st)| n == "system" && (st == "deleting" || st == "absent"))
    };
    assert!(
        wait_for(200, system_going),
        "the buggy agent kept its pools: {:?} {:?}",
        pools(&s),
        a.status()
    );
    assert!(
        wait_for(200, || a.status().host_lost),
        "the buggy agent dies with its system pool: {:?}",
        a.status()
    );
    let st = a.status();
    assert!(st.deletes_asked >= 3, "{st:?}");
    assert!(st.answers["404"] >= 1, "{st:?}");
    a.stop().unwrap();
    s.stop().unwrap();
}

#[test]
fn slow_and_many_clients_cannot_stop_the_listener() {
    use std::io::Read;
    let s = start_with(ServerLimits {
        connections_max: 8,
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
    });
    // Twenty clients connect to the edge and say nothing.
    let mut idle: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(s.edge).expect("connects"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Eight are kept; the others are closed at once.
    let closed = |conns: &mut [std::net::TcpStream]| {
        conns
            .iter_mut()
            .filter(|c| {
                let mut c: &std::net::TcpStream = c;
                c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
                // The end of the stream, or a reset: closed either way.
                match c.read(&mut [0u8; 64]) {
                    Ok(0) => true,
                    Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                    Ok(_) => false,
                }
            })
            .count()
    };
    assert_eq!(closed(&mut idle), 12);
    // Once the header timeout frees the slots, a real client is served:
    // the listener never stopped. Bounded: 40 tries, 100 ms apart.
    let token = s.token(CLUSTER);
    let served = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        matches!(
            call(
                &s.edge.to_string(),
                "GET",
                &api::desired_state_path(CLUSTER),
                Some(&token),
                None,
                TIMEOUT,
            ),
            Ok(Exchange::Reply { status: 200, .. })
        )
    });
    assert!(
        served,
        "the edge served nobody after its idle clients timed out"
    );
    // And the idle ones were closed by the server.
    assert_eq!(closed(&mut idle), 20);
    s.stop().unwrap();
}
