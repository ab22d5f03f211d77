//! Generators stay inside their scenario: whatever a chaos profile that
//! loads asks for (each field at its documented minimum, at its maximum or
//! anywhere between), every scenario it generates loads. A generated
//! scenario that does not load stops a whole sweep (exit 2), so this is a
//! property of the generator, checked here by generating and loading only:
//! nothing is run.

use cascade::chaos::profile::{
    self, FaultKind, COUNT_MAX, DURATION_H_MAX, FLAPS_PER_HOUR_MAX, HOURS_MAX, JITTER_H_MAX,
    NIGHTLY_SEEDS_MAX, SIZE_JITTER_MAX,
};
use cascade::chaos::Chaos;
use cascade::scenario::from_document;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const PROFILES: [&str; 3] = ["anchored-march", "fixed-400", "historical-404"];

/// Where in its range a field is set.
#[derive(Clone, Copy, Debug)]
enum Point {
    Min,
    Max,
    /// The fraction of the way from the minimum to the maximum.
    Between(f64),
}

impl Point {
    fn of(self, lo: f64, hi: f64) -> f64 {
        match self {
            Point::Min => lo,
            Point::Max => hi,
            Point::Between(u) => lo + u * (hi - lo),
        }
    }
}

fn point() -> impl Strategy<Value = Point> {
    prop_oneof![
        Just(Point::Min),
        Just(Point::Max),
        (0.0..1.0f64).prop_map(Point::Between),
    ]
}

/// A profile's numbers, each at a point of its range.
#[derive(Clone, Debug)]
struct Knobs {
    profile: usize,
    anchored: bool,
    name_len: Point,
    swarm_ratio: Point,
    fault_window_h: Point,
    quiet_h: Point,
    jitter_h: Point,
    size_jitter: Point,
    flaps_per_hour_max: Point,
    nightly_seeds: Point,
    /// Per fault kind: count_max, shortest and longest duration, smallest
    /// and largest magnitude.
    faults: Vec<[Point; 5]>,
    seed: u64,
}

impl Knobs {
    fn corner(profile: usize, at: Point) -> Knobs {
        Knobs {
            profile,
            anchored: profile == 0,
            name_len: at,
            swarm_ratio: at,
            fault_window_h: at,
            quiet_h: at,
            jitter_h: at,
            size_jitter: at,
            flaps_per_hour_max: at,
            nightly_seeds: at,
            faults: vec![[at; 5]; FaultKind::ALL.len()],
            seed: 1,
        }
    }
}

fn knobs() -> impl Strategy<Value = Knobs> {
    let top = (
        0..PROFILES.len(),
        any::<bool>(),
        [point(), point(), point(), point()],
        [point(), point(), point(), point()],
    );
    let faults = prop::collection::vec([point(), point(), point(), point(), point()], 19);
    (top, faults, any::<u64>()).prop_map(|((profile, anchored, a, b), faults, seed)| Knobs {
        profile,
        anchored,
        name_len: a[0],
        swarm_ratio: a[1],
        fault_window_h: a[2],
        quiet_h: a[3],
        jitter_h: b[0],
        size_jitter: b[1],
        flaps_per_hour_max: b[2],
        nightly_seeds: b[3],
        faults,
        seed,
    })
}

fn chaos_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chaos")
}

/// The smallest value of a field whose range is open at 0.
const ABOVE_ZERO: f64 = f64::MIN_POSITIVE;

/// The committed profile `knobs.profile` with its numbers set by `knobs`.
fn profile_doc(k: &Knobs) -> Value {
    let path = chaos_dir().join(format!("{}.profile.json", PROFILES[k.profile]));
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("profile JSON");
    let int = |p: Point, lo: f64, hi: f64| p.of(lo, hi).round() as u64;
    let name_len = int(k.name_len, 1.0, 100.0) as usize;
    doc["name"] = json!("p".repeat(name_len));
    doc["anchored"] = json!(k.anchored);
    doc["swarm_ratio"] = json!(k.swarm_ratio.of(0.0, 1.0));
    doc["fault_window_h"] = json!(k.fault_window_h.of(ABOVE_ZERO, HOURS_MAX));
    let quiet_h = k.quiet_h.of(ABOVE_ZERO, HOURS_MAX);
    doc["quiet_h"] = json!(quiet_h);
    doc["converge_p99_h_max"] = json!(quiet_h);
    doc["jitter_h"] = json!(k.jitter_h.of(0.0, JITTER_H_MAX));
    doc["size_jitter"] = json!(k.size_jitter.of(0.0, SIZE_JITTER_MAX));
    doc["flaps_per_hour_max"] = json!(int(
        k.flaps_per_hour_max,
        1.0,
        f64::from(FLAPS_PER_HOUR_MAX)
    ));
    doc["nightly_seeds"] = json!(int(k.nightly_seeds, 1.0, NIGHTLY_SEEDS_MAX as f64));
    let faults = doc["faults"].as_object_mut().expect("a fault map");
    for (n, (name, range)) in faults.iter_mut().enumerate() {
        let kind: FaultKind = serde_json::from_value(json!(name)).expect("a fault kind");
        let [count, d0, d1, m0, m1] = k.faults[n % k.faults.len()];
        range["count_max"] = json!(int(count, 1.0, f64::from(COUNT_MAX)));
        let seconds = |p: Point| format!("{}s", int(p, 0.0, DURATION_H_MAX * 3_600.0));
        let (d0, d1) = (seconds(d0), seconds(d1));
        let secs = |d: &str| d.trim_end_matches('s').parse::<u64>().unwrap();
        range["duration"] = if secs(&d0) <= secs(&d1) {
            json!([d0, d1])
        } else {
            json!([d1, d0])
        };
        let (lo, hi) = kind.magnitude_range().unwrap_or((0.0, 1_000.0));
        let (a, b) = (m0.of(lo, hi), m1.of(lo, hi));
        range["magnitude"] = json!([a.min(b), a.max(b)]);
    }
    doc
}

/// Generates the scenarios of `k` for a few seeds and loads each.
fn generated_scenarios_load(k: &Knobs) -> Result<(), String> {
    let doc = profile_doc(k);
    let path = chaos_dir().join("probe.profile.json");
    let loaded = profile::parse(&path, &doc.to_string())
        .map_err(|e| format!("the profile does not load: {e}\n{doc}"))?;
    let chaos = Chaos::new(loaded).map_err(|e| format!("the base does not load: {e}"))?;
    for seed in [k.seed, 1, u64::MAX] {
        let scenario = chaos.document(&chaos.case(seed, None));
        if let Err(e) = from_document(&chaos.profile.base_path, scenario) {
            return Err(format!("seed {seed}: {e}\nprofile: {doc}"));
        }
    }
    Ok(())
}

#[test]
fn every_profile_at_every_minimum_and_every_maximum_generates_scenarios_that_load() {
    for (profile, name) in PROFILES.iter().enumerate() {
        for at in [Point::Min, Point::Max] {
            let k = Knobs::corner(profile, at);
            if let Err(e) = generated_scenarios_load(&k) {
                panic!("{name} at {at:?}: {e}");
            }
        }
    }
}

proptest! {
    // Each case reads its base and builds three schedules: a few
    // milliseconds. 128 cases keep the test to a few seconds.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn profiles_anywhere_in_their_ranges_generate_scenarios_that_load(k in knobs()) {
        let outcome = generated_scenarios_load(&k);
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

#[test]
fn a_profile_whose_scenarios_could_outlast_the_longest_span_is_refused_before_any_seed() {
    // A base whose timeline runs late plus a long quiet period: its
    // scenarios would end past the 366 days a scenario may span, and the
    // sweep stop at the first seed. The profile is refused at load instead.
    let dir = std::env::temp_dir().join(format!("cascade-generators-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = json!({
        "name": "late-base",
        "seed": 1,
        "start": "2025-03-18T00:00:00Z",
        "end": "2026-02-22T00:00:00Z",
        "timeline": [{"id": "late", "at": "D340 00:00", "for": "1h",
                      "do": {"kind": "vendor_path", "state": "blackholed"}}],
    });
    std::fs::write(dir.join("base.json"), base.to_string()).unwrap();
    let with_quiet = |quiet_h: f64| {
        let profile = dir.join("late.profile.json");
        let doc = json!({"name": "late", "base": "base.json", "quiet_h": quiet_h,
                         "faults": {"vendor_blackhole": {}}});
        std::fs::write(&profile, doc.to_string()).unwrap();
        (profile.clone(), Chaos::load(&profile))
    };
    let (profile, refused) = with_quiet(HOURS_MAX);
    let e = refused.err().expect("refused");
    assert_eq!(e.file, profile);
    assert_eq!(
        e.message,
        "expected generated scenarios of at most 366 days, found they may last 400.0 days \
         (the base's timeline, faults within fault_window_h at their longest durations, \
         then quiet_h): shorten one of them"
    );
    let (_, loaded) = with_quiet(12.0);
    let chaos = loaded.expect("a short quiet period fits");
    for seed in 1..20 {
        let doc = chaos.document(&chaos.case(seed, None));
        assert!(from_document(&chaos.profile.base_path, doc).is_ok());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
