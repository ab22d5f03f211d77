//! The auth path's per-second tick, alone: a quiet day (default
//! configuration, diurnal demand, nothing failing) and a day with a bot
//! surge that the edge limits. Criterion reports ticks per second
//! ("elem/s"); the ticks of a day are fixed, so the figure compares across
//! commits. The tick is about half of a chaos seed's run and two thirds of
//! the flagship's, so this is where a change to it shows first.
//!
//! `cargo bench --features bench --bench auth`

use cascade::model::auth::AuthConfig;
use cascade::model::auth::AuthSystem;
use cascade::sim::{Seed, SimTime};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Ticks of one simulated day at the default 1 s tick.
const DAY_TICKS: u64 = 86_400;

/// Runs one day of ticks and returns the legitimate successes, so that the
/// work cannot be optimised away.
fn one_day(bots: f64) -> u64 {
    let cfg = AuthConfig::default();
    let mut auth = AuthSystem::new(&cfg);
    let mut rng = Seed(2025).fork("auth", 0);
    if bots > 0.0 {
        auth.set_bot_multiplier(bots);
    }
    let mut ok = 0;
    for s in 0..DAY_TICKS {
        ok += u64::from(auth.handle_tick(SimTime::from_secs(s), &mut rng).legit_ok);
    }
    ok
}

fn auth_tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("auth_tick");
    g.sample_size(10);
    g.throughput(Throughput::Elements(DAY_TICKS));
    for (name, bots) in [("quiet_day", 0.0), ("bot_surge_day", 10.0)] {
        g.bench_with_input(BenchmarkId::new("ticks", name), &bots, |b, &bots| {
            b.iter(|| one_day(bots))
        });
    }
    g.finish();
}

criterion_group!(benches, auth_tick);
criterion_main!(benches);
