//! Kernel properties that every model relies on: stream independence,
//! distribution sanity, and run determinism of a small multi-component world.

use cascade_sim::{
    FaultEdge, FaultSchedule, Model, RunLimits, Seed, Sim, SimDuration, SimTime, StopReason,
    Stream, TraceRecord, Words,
};

fn draws(s: &mut Stream, n: usize) -> Vec<u64> {
    (0..n).map(|_| s.next_u64()).collect()
}

#[test]
fn adding_a_stream_leaves_other_streams_unchanged() {
    let seed = Seed(2025);
    // World A: agents 0..3.
    let mut a: Vec<Stream> = (0..3).map(|i| seed.fork("agent", i)).collect();
    // World B: the same agents plus a new agent and a new component, drawn
    // from in between.
    let mut b: Vec<Stream> = (0..3).map(|i| seed.fork("agent", i)).collect();
    let mut extra_agent = seed.fork("agent", 3);
    let mut extra_component = seed.fork("vendor", 0);
    for round in 0..10 {
        for i in 0..3 {
            let x = draws(&mut a[i], 5);
            let _ = draws(&mut extra_agent, round + 1);
            let _ = extra_component.lognormal(1.0, 5.0);
            let y = draws(&mut b[i], 5);
            assert_eq!(x, y, "agent {i} round {round}");
        }
    }
    // And distinct ids, kinds and seeds really are distinct streams.
    let first = |s: Seed, k: &str, i: u64| s.fork(k, i).next_u64();
    assert_ne!(first(seed, "agent", 0), first(seed, "agent", 1));
    assert_ne!(first(seed, "agent", 0), first(seed, "cloud", 0));
    assert_ne!(first(seed, "agent", 0), first(Seed(2026), "agent", 0));
}

#[test]
fn stream_derivation_is_pinned() {
    // If this value changes, every recorded seed replays differently: that
    // is a breaking change to announce, not a test to update quietly.
    assert_eq!(Seed(1).fork("agent", 0).next_u64(), PINNED_FIRST_DRAW);
}
const PINNED_FIRST_DRAW: u64 = 11_159_505_153_367_699_325;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn sample(n: usize, mut f: impl FnMut() -> f64) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n).map(|_| f()).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

const N: usize = 100_000;

#[test]
fn lognormal_hits_median_and_p99() {
    // Vendor latency of the spec: median 120 ms, p99 600 ms. Tolerance: 2 %
    // on the median, 5 % on the p99 (the p99's standard error is larger).
    let mut s = Seed(1).fork("dist", 0);
    let v = sample(N, || s.lognormal(120.0, 600.0));
    let (median, p99) = (quantile(&v, 0.5), quantile(&v, 0.99));
    assert!((median / 120.0 - 1.0).abs() < 0.02, "median {median}");
    assert!((p99 / 600.0 - 1.0).abs() < 0.05, "p99 {p99}");
}

#[test]
fn exponential_median_and_p99() {
    // Exponential(mean m): median m ln 2, p99 m ln 100.
    let mut s = Seed(1).fork("dist", 1);
    let v = sample(N, || s.exponential(10.0));
    let (median, p99) = (quantile(&v, 0.5), quantile(&v, 0.99));
    assert!(
        (median / (10.0 * 2f64.ln()) - 1.0).abs() < 0.02,
        "median {median}"
    );
    assert!((p99 / (10.0 * 100f64.ln()) - 1.0).abs() < 0.05, "p99 {p99}");
}

#[test]
fn poisson_mean_and_tail() {
    // Poisson(0.7) is the spec's extra-pool count; Poisson(600) a busy tick.
    let mut s = Seed(1).fork("dist", 2);
    let small = sample(N, || s.poisson(0.7) as f64);
    let mean = small.iter().sum::<f64>() / N as f64;
    assert!((mean - 0.7).abs() < 0.01, "mean {mean}");
    let zeros = small.iter().filter(|&&x| x == 0.0).count() as f64 / N as f64;
    assert!((zeros - (-0.7f64).exp()).abs() < 0.01, "P(0) {zeros}");
    let big = sample(N, || s.poisson(600.0) as f64);
    let (median, p99) = (quantile(&big, 0.5), quantile(&big, 0.99));
    assert!((median - 600.0).abs() <= 2.0, "median {median}");
    // Normal approximation: 600 + 2.326 * sqrt(600) = 657.
    assert!((p99 - 657.0).abs() <= 4.0, "p99 {p99}");
}

#[test]
fn bernoulli_and_jitter() {
    let mut s = Seed(1).fork("dist", 3);
    let hits = (0..N).filter(|_| s.bernoulli(0.02)).count() as f64 / N as f64;
    assert!((hits - 0.02).abs() < 0.002, "rate {hits}");
    assert!(!s.bernoulli(0.0) && s.bernoulli(1.0));
    let v = sample(N, || s.jitter(60.0, 0.2));
    assert!(
        v[0] >= 48.0 && v[N - 1] < 72.0,
        "range {}..{}",
        v[0],
        v[N - 1]
    );
    assert!((quantile(&v, 0.5) - 60.0).abs() < 0.2);
    assert!((quantile(&v, 0.99) - 71.76).abs() < 0.2);
}

/// A toy world with three kinds of component: clients poll a server through
/// a lossy network; a fault blackholes the path for a while; every step is
/// traced. Its hash depends on every random draw and every event order.
#[derive(Clone, Copy, Debug)]
enum Ev {
    Poll { client: u32 },
    Arrive { client: u32 },
    Reply { client: u32 },
    Fault(FaultEdge),
}

impl TraceRecord for Ev {
    fn kind_code(&self) -> u16 {
        match self {
            Ev::Poll { .. } => 1,
            Ev::Arrive { .. } => 2,
            Ev::Reply { .. } => 3,
            Ev::Fault(_) => 4,
        }
    }
    fn kind_name(&self) -> &'static str {
        "toy"
    }
    fn encode(&self, w: &mut Words) {
        match *self {
            Ev::Poll { client } | Ev::Arrive { client } | Ev::Reply { client } => {
                w.u64(client as u64)
            }
            Ev::Fault(FaultEdge::Begin(i)) => w.u64(i as u64),
            Ev::Fault(FaultEdge::End(i)) => w.u64(1 << 32 | i as u64),
        }
    }
}

/// The toy's network: lognormal latency, 1 % loss, a blackhole while the
/// fault runs.
const LATENCY_MEDIAN_US: f64 = 20_000.0;
const LATENCY_P99_US: f64 = 150_000.0;
const LOSS_RATIO: f64 = 0.01;

struct Toy {
    blackholed: bool,
    client_rng: Vec<Stream>,
    net_rng: Stream,
    server_rng: Stream,
    faults: FaultSchedule<()>,
    replies: u64,
}

impl Toy {
    fn new(seed: Seed, clients: u32) -> Self {
        let mut faults = FaultSchedule::new();
        faults.add(
            SimTime::from_secs(600),
            Some(SimDuration::from_secs(300)),
            (),
        );
        Toy {
            blackholed: false,
            client_rng: (0..clients as u64)
                .map(|i| seed.fork("client", i))
                .collect(),
            net_rng: seed.fork("net", 0),
            server_rng: seed.fork("server", 0),
            faults,
            replies: 0,
        }
    }
}

impl Model<Ev> for Toy {
    fn handle(&mut self, sim: &mut Sim<Ev>, ev: Ev) {
        let now = sim.now();
        sim.trace.record(now, &ev);
        match ev {
            Ev::Poll { client } => {
                let next = self.client_rng[client as usize - 1].jitter(10.0, 0.2);
                sim.schedule_in(SimDuration::from_secs_f64(next), ev);
                if !self.blackholed && !self.net_rng.bernoulli(LOSS_RATIO) {
                    let us = self.net_rng.lognormal(LATENCY_MEDIAN_US, LATENCY_P99_US);
                    sim.schedule_in(SimDuration::from_micros(us as u64), Ev::Arrive { client });
                }
            }
            Ev::Arrive { client } => {
                let service = self.server_rng.exponential(0.005);
                sim.schedule_in(SimDuration::from_secs_f64(service), Ev::Reply { client });
            }
            Ev::Reply { .. } => self.replies += 1,
            Ev::Fault(edge) => self.blackholed = matches!(edge, FaultEdge::Begin(_)),
        }
    }
}

fn run_toy(seed: u64) -> (u64, u64, u64) {
    let mut world = Toy::new(Seed(seed), 50);
    let mut sim = Sim::new(RunLimits {
        time_end: SimTime::from_secs(3_600),
        ..RunLimits::default()
    });
    for c in 1..=50u32 {
        let phase = world.client_rng[c as usize - 1].uniform(0.0, 10.0);
        sim.schedule_at(
            SimTime::ZERO + SimDuration::from_secs_f64(phase),
            Ev::Poll { client: c },
        );
    }
    let faults = std::mem::take(&mut world.faults);
    faults.arm(&mut sim, Ev::Fault);
    let out = sim.run(&mut world);
    assert_eq!(out.reason, StopReason::TimeLimit);
    (out.trace_hash, out.events_handled, world.replies)
}

#[test]
fn toy_world_is_deterministic_per_seed() {
    let (h1, events1, replies1) = run_toy(7);
    let (h2, events2, replies2) = run_toy(7);
    assert_eq!((h1, events1, replies1), (h2, events2, replies2));
    let (h3, _, _) = run_toy(8);
    assert_ne!(h1, h3, "another seed must give another trace");
    // 50 clients x 360 polls, ~1 % lost, 5 of 60 minutes blackholed.
    let expected = 50.0 * 360.0 * 0.99 * (55.0 / 60.0);
    assert!(
        (replies1 as f64 / expected - 1.0).abs() < 0.03,
        "replies {replies1}, expected about {expected}"
    );
}
