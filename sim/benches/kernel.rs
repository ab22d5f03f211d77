//! Kernel throughput: 10,000 periodic actors exchanging messages.
//!
//! Each actor ticks every ~60 simulated seconds (own phase); a tick sends a
//! message to a pseudo-random peer with a small latency and reschedules the
//! tick; a message updates the receiver's counter. Every handled event is
//! recorded to the trace (hash on). Measured three ways: the bare loop over
//! the binary heap, the bare loop over the radix queue, and the real
//! `Sim::run` (radix queue). Criterion reports events per second
//! ("elem/s").
//!
//! `cargo bench -p cascade-sim --features bench --bench kernel`

use cascade_sim::rng::mix64;
use cascade_sim::{
    HeapQueue, Model, PendingEvents, RadixQueue, RunLimits, Sim, SimDuration, SimTime, Trace,
    TraceRecord, WheelQueue, Words,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const ACTORS: u32 = 10_000;
const PERIOD_US: u64 = 60_000_000;
const LATENCY_US: u64 = 50_000;

#[derive(Clone, Copy)]
enum Ev {
    Tick(u32),
    Msg { from: u32, to: u32 },
}

impl TraceRecord for Ev {
    fn kind_code(&self) -> u16 {
        match self {
            Ev::Tick(_) => 1,
            Ev::Msg { .. } => 2,
        }
    }
    fn kind_name(&self) -> &'static str {
        match self {
            Ev::Tick(_) => "tick",
            Ev::Msg { .. } => "msg",
        }
    }
    fn encode(&self, w: &mut Words) {
        match *self {
            Ev::Tick(a) => w.u64(a as u64),
            Ev::Msg { from, to } => w.u64(((from as u64) << 32) | to as u64),
        }
    }
}

struct Actors {
    received: Vec<u64>,
    draws: u64,
}

impl Actors {
    fn new() -> Self {
        Actors {
            received: vec![0; ACTORS as usize],
            draws: 0,
        }
    }
    /// Handles one event; returns up to two follow-ups (time offset, event).
    #[inline(always)]
    fn step(&mut self, ev: Ev, mut emit: impl FnMut(u64, Ev)) {
        match ev {
            Ev::Tick(a) => {
                self.draws += 1;
                let r = mix64(self.draws ^ ((a as u64) << 40));
                let to = (r % ACTORS as u64) as u32;
                emit(LATENCY_US + (r >> 48) % 1_000, Ev::Msg { from: a, to });
                // Period with a little jitter so that ticks do not stay aligned.
                emit(PERIOD_US - 500_000 + (r >> 32) % 1_000_000, Ev::Tick(a));
            }
            Ev::Msg { to, .. } => self.received[to as usize] += 1,
        }
    }
}

fn seed_ticks(mut push: impl FnMut(u64, Ev)) {
    for a in 0..ACTORS {
        push(mix64(a as u64) % PERIOD_US, Ev::Tick(a));
    }
}

/// The bare loop: schedule, pop, handle, hash. Returns (events, hash).
fn bare_loop<Q: PendingEvents<Ev>>(events: u64) -> (u64, u64) {
    let mut q = Q::new();
    let mut trace = Trace::new();
    let mut actors = Actors::new();
    seed_ticks(|t, e| q.push(SimTime::from_micros(t), e));
    for _ in 0..events {
        let (now, ev) = q.pop().expect("actors never stop");
        trace.record(now, &ev);
        actors.step(ev, |dt, e| {
            q.push(SimTime::from_micros(now.as_micros() + dt), e)
        });
    }
    (events, trace.hash())
}

impl Model<Ev> for Actors {
    #[inline]
    fn handle(&mut self, sim: &mut Sim<Ev>, ev: Ev) {
        let now = sim.now();
        sim.trace.record(now, &ev);
        self.step(ev, |dt, e| sim.schedule_in(SimDuration::from_micros(dt), e));
    }
}

fn sim_run(events: u64) -> (u64, u64) {
    let mut sim = Sim::new(RunLimits {
        events_max: events,
        ..RunLimits::default()
    });
    seed_ticks(|t, e| sim.schedule_at(SimTime::from_micros(t), e));
    let mut actors = Actors::new();
    let out = sim.run(&mut actors);
    (out.events_handled, out.trace_hash)
}

fn kernel(c: &mut Criterion) {
    const EVENTS: u64 = 2_000_000;
    // All three loops handle the same events in the same order.
    let (_, h1) = bare_loop::<HeapQueue<Ev>>(200_000);
    let (_, h2) = bare_loop::<RadixQueue<Ev>>(200_000);
    let (_, h3) = bare_loop::<WheelQueue<Ev>>(200_000);
    let (_, h4) = sim_run(200_000);
    assert_eq!(h1, h2, "heap and radix queues must give the same order");
    assert_eq!(h1, h3, "heap and wheel queues must give the same order");
    assert_eq!(h1, h4, "Sim::run must match the bare loop");

    let mut g = c.benchmark_group("kernel_10k_actors");
    g.throughput(Throughput::Elements(EVENTS));
    g.sample_size(20);
    g.bench_with_input(
        BenchmarkId::new("bare_loop", "binary_heap"),
        &EVENTS,
        |b, &n| b.iter(|| bare_loop::<HeapQueue<Ev>>(n)),
    );
    g.bench_with_input(
        BenchmarkId::new("bare_loop", "radix_queue"),
        &EVENTS,
        |b, &n| b.iter(|| bare_loop::<RadixQueue<Ev>>(n)),
    );
    g.bench_with_input(
        BenchmarkId::new("bare_loop", "timer_wheel"),
        &EVENTS,
        |b, &n| b.iter(|| bare_loop::<WheelQueue<Ev>>(n)),
    );
    g.bench_with_input(
        BenchmarkId::new("sim_run", "event_queue"),
        &EVENTS,
        |b, &n| b.iter(|| sim_run(n)),
    );
    g.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
