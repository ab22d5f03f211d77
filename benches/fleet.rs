//! Whole-product throughput: the fleet tier replaying focused scenarios of
//! the March 2025 chain with 2,000 clusters. Criterion reports simulated
//! events per second ("elem/s"); the event count of each scenario is fixed
//! by its seed, so the figure compares across commits.
//!
//! `cargo bench --features bench --bench fleet`

use cascade::run::{run_scenario, RunOptions};
use cascade::scenario;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::Path;

fn fleet(c: &mut Criterion) {
    let mut g = c.benchmark_group("fleet_tier_2000_clusters");
    g.sample_size(10);
    for name in ["d0-azure-outage", "d5-pool-loss"] {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/focused/{name}.json"));
        let sc = scenario::load(&path).expect("scenario loads");
        let events = run_scenario(&sc, RunOptions::default()).summary.events;
        g.throughput(Throughput::Elements(events));
        g.bench_with_input(BenchmarkId::new("replay", name), &sc, |b, sc| {
            b.iter(|| run_scenario(sc, RunOptions::default()).summary.events)
        });
    }
    g.finish();
}

criterion_group!(benches, fleet);
criterion_main!(benches);
