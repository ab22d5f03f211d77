use cascade::config::ModelConfig;
use cascade::sim::{Epoch, Seed, SimDuration, SimTime};
use cascade::timeline::{Action, Timeline, TimelineItem};

fn main() {
    let epoch = Epoch::parse("2025-03-18T00:00:00Z").unwrap();
    let t = |s: &str| epoch.time_of(s).unwrap();
    let timeline = Timeline {
        items: vec![
            TimelineItem {
                id: "E4".into(),
                at: t("2025-03-22T22:00:00Z"),
                duration: Some(SimDuration::from_hours(7)),
                action: Action::EdgeMisroute { ratio: 0.15, salt: 1 },
                note: "R1 side effect".into(),
            },
        ],
    };
    #[allow(clippy::disallowed_methods)] // timing the run, outside the simulated world
    let start = std::time::Instant::now();
    let (world, out) = cascade::world::simulate(
        ModelConfig::default(),
        timeline,
        epoch,
        Seed(1),
        SimTime::ZERO + SimDuration::from_hours(24 * 9),
        2_000_000_000,
    );
    println!("{:?} events={} hash={:016x} wall={:?}", out.reason, out.events_handled, out.trace_hash, start.elapsed());
    println!("lost by day {:?}", world.metrics.clusters_lost_pools_by_day);
    println!("answers {:?} died {}", world.metrics.answers, world.metrics.agents_died);
}
