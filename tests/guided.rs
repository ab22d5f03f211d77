//! Guided chaos exploration (`cascade chaos --guided`): deterministic
//! whatever the parallelism, every mutation operator keeps a schedule
//! inside the profile's bounds, the guidance finds a seeded bug with a
//! mutant, and the case a guided sweep writes reproduces with `cascade run`.

use cascade::chaos::generate::DrawnFault;
use cascade::chaos::guided::{self, GuidedOptions, Origin};
use cascade::chaos::mutate::{Bounds, Operator};
use cascade::chaos::Chaos;
use cascade::model::bugs::Bug;
use cascade_sim::Seed;
use std::path::Path;
use std::process::Command;

const FIXED: &str = "scenarios/chaos/fixed-400.profile.json";

fn chaos(profile: &str) -> Chaos {
    Chaos::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(profile)).expect("profile loads")
}

/// Each run's number, origin, signature and trace hash.
fn digest(jobs: usize) -> Vec<(usize, String, String, String)> {
    let c = chaos(FIXED);
    let opts = GuidedOptions {
        jobs,
        ..GuidedOptions::default()
    };
    guided::explore(&c, 7, 20, opts, &|| {})
        .expect("cases load")
        .into_iter()
        .map(|r| {
            (
                r.run,
                r.origin.describe(r.case.seed),
                r.outcome.verdict.signature.clone(),
                r.outcome.verdict.trace_hash.clone(),
            )
        })
        .collect()
}

#[test]
fn a_guided_sweep_is_the_same_with_one_job_or_two() {
    let one = digest(1);
    let two = digest(2);
    assert_eq!(one.len(), 20);
    assert_eq!(one, two);
    // Generation 0 is 8 fresh seeds from --seed; then mutants, with one
    // run in 4 a fresh seed's (runs 9, 13, 17: seeds 15, 16, 17).
    assert!(one[..8]
        .iter()
        .zip(7..)
        .all(|(r, s)| r.1 == format!("seed {s}")));
    assert_eq!(one[8].1, "seed 15");
    assert_eq!(one[16].1, "seed 17");
    assert!(one[9].1.starts_with("mutant of run "), "{}", one[9].1);
}

/// The first 30 seeds' schedules of fixed-400, the bounds, a stream.
fn schedules() -> (Vec<Vec<DrawnFault>>, Bounds, Chaos) {
    let c = chaos(FIXED);
    let cases = (1..31).map(|s| c.case(s, None).faults).collect();
    let bounds = c.bounds();
    (cases, bounds, c)
}

/// Applies `op` to every schedule (Splice with the next one); checks the
/// bounds hold and `check(before, after)` for each that changed; returns
/// how many changed.
fn apply(op: Operator, check: impl Fn(&[DrawnFault], &[DrawnFault])) -> usize {
    let (cases, bounds, _) = schedules();
    let mut rng = Seed(99).fork("test", op as u64);
    let mut changed = 0;
    for (i, before) in cases.iter().enumerate() {
        bounds
            .hold(before)
            .expect("a drawn schedule is inside the bounds");
        let mut after = before.clone();
        let other = &cases[(i + 1) % cases.len()];
        if bounds.mutate(op, &mut after, other, &mut rng, &|_, _| 1.0) {
            changed += 1;
            bounds
                .hold(&after)
                .unwrap_or_else(|e| panic!("{} broke the bounds: {e}", op.name()));
            check(before, &after);
        } else {
            assert_eq!(&after, before, "{} said nothing changed", op.name());
        }
    }
    changed
}

/// The faults of `a` not in `b`.
fn missing(a: &[DrawnFault], b: &[DrawnFault]) -> Vec<DrawnFault> {
    a.iter().filter(|f| !b.contains(f)).cloned().collect()
}

#[test]
fn shift_moves_one_fault_and_nothing_else() {
    let n = apply(Operator::Shift, |b, a| {
        assert_eq!(a.len(), b.len());
        let (gone, new) = (missing(b, a), missing(a, b));
        assert_eq!((gone.len(), new.len()), (1, 1));
        assert_eq!(gone[0].kind, new[0].kind);
        assert_eq!(gone[0].duration_s, new[0].duration_s);
        assert_ne!(gone[0].start_s, new[0].start_s);
    });
    assert!(n >= 25, "{n} of 30 shifted");
}

#[test]
fn widen_and_narrow_change_one_duration_within_the_kind_range() {
    for (op, longer) in [(Operator::Widen, true), (Operator::Narrow, false)] {
        let n = apply(op, |b, a| {
            let (gone, new) = (missing(b, a), missing(a, b));
            assert_eq!((gone.len(), new.len()), (1, 1));
            assert_eq!(gone[0].start_s, new[0].start_s);
            assert_eq!(new[0].duration_s > gone[0].duration_s, longer);
        });
        assert!(n >= 20, "{} changed {n} of 30", op.name());
    }
}

#[test]
fn duplicate_adds_one_fault_and_drop_removes_one() {
    let dup = apply(Operator::Duplicate, |b, a| {
        assert_eq!(a.len(), b.len() + 1);
        assert_eq!(missing(b, a).len(), 0);
    });
    let drop = apply(Operator::Drop, |b, a| {
        assert_eq!(a.len() + 1, b.len());
        assert_eq!(missing(a, b).len(), 0);
    });
    assert!(dup >= 25 && drop >= 25, "duplicated {dup}, dropped {drop}");
}

#[test]
fn magnitude_changes_one_magnitude_only() {
    let n = apply(Operator::Magnitude, |b, a| {
        let (gone, new) = (missing(b, a), missing(a, b));
        assert_eq!((gone.len(), new.len()), (1, 1));
        assert_eq!(
            (gone[0].start_s, gone[0].duration_s),
            (new[0].start_s, new[0].duration_s)
        );
        assert!(gone[0].kind.magnitude_range().is_some());
    });
    assert!(n >= 25, "{n} of 30");
}

#[test]
fn splice_takes_each_kind_whole_from_one_parent() {
    let (cases, bounds, _) = schedules();
    let mut rng = Seed(5).fork("test", 0);
    let mut changed = 0;
    for i in 0..cases.len() {
        let (a, b) = (&cases[i], &cases[(i + 1) % cases.len()]);
        let mut s = a.clone();
        if bounds.mutate(Operator::Splice, &mut s, b, &mut rng, &|_, _| 1.0) {
            changed += 1;
        }
        bounds.hold(&s).expect("inside the bounds");
        for kind in s.iter().map(|f| f.kind) {
            let of = |x: &[DrawnFault]| {
                x.iter()
                    .filter(|f| f.kind == kind)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let mine = of(&s);
            assert!(mine == of(a) || mine == of(b), "{kind:?} mixed");
        }
    }
    assert!(changed >= 25, "{changed} of 30");
}

#[test]
fn guided_finds_forgets_generation_on_restart_at_run_29_then_mutates_the_failure() {
    // Seeds 2000001.. (range 2 of the seeds-to-find table): the random
    // sweep's first failure is seed 2000014 (its 14th); guided's fresh
    // seeds reach 2000014 at run 29, and that is where it finds it today.
    // FIXME(issue 29): when --guided landed, a mutant of run 17 (a shift
    // ending an agent crash inside a generation regression) found it at
    // run 28; the coverage states the rollout and auth profiles added
    // changed the features, hence the corpus, and the mutant is gone:
    // guidance does not beat random here (README's random/guided table).
    let c = chaos(FIXED);
    let opts = GuidedOptions {
        jobs: 2,
        bug: Some(Bug::ForgetsGenerationOnRestart),
        stop_on_failure: false,
        ..GuidedOptions::default()
    };
    let runs = guided::explore(&c, 2_000_001, 40, opts, &|| {}).expect("cases load");
    let failed: Vec<_> = runs.iter().filter(|r| r.outcome.failed()).collect();
    assert_eq!(failed[0].run, 29);
    assert_eq!(failed[0].origin, Origin::Fresh);
    assert_eq!(failed[0].outcome.verdict.signature, "safety:I4");
    // The failing case joins the corpus and its mutants fail too.
    assert_eq!(failed[1].run, 38);
    assert_eq!(
        failed[1].origin,
        Origin::Mutant {
            parent: 29,
            other: None,
            ops: vec![Operator::Widen]
        }
    );
    assert_eq!(runs.len(), 40);
}

#[test]
fn a_case_written_by_guided_reproduces_with_cascade_run() {
    let out = std::env::temp_dir().join(format!("cascade-guided-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let bin = env!("CARGO_BIN_EXE_cascade");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXED);
    let sweep = Command::new(bin)
        .args([
            "chaos",
            profile.to_str().unwrap(),
            "--guided",
            "--seed",
            "2000001",
        ])
        .args(["--count", "29", "--jobs", "2", "--shrink-max", "1"])
        .args(["--bug", "forgets_generation_on_restart", "--out"])
        .arg(&out)
        .output()
        .expect("cascade runs");
    let text = String::from_utf8_lossy(&sweep.stdout);
    assert_eq!(sweep.status.code(), Some(3), "{text}");
    assert!(text.contains("run 29: safety:I4"), "{text}");
    assert!(
        text.contains(
            "--guided --seed 2000001 --count 29 --bug forgets_generation_on_restart (run 29)"
        ),
        "{text}"
    );
    let dir = out.join("guided-seed-2000001/run-29");
    for file in ["original.json", "minimal.json"] {
        let run = Command::new(bin)
            .args(["run", "--no-report"])
            .arg(dir.join(file))
            .output()
            .expect("cascade runs");
        let said = String::from_utf8_lossy(&run.stdout);
        // `cascade run` exits 1 when an expectation fails (here: findings).
        assert_eq!(run.status.code(), Some(1), "{file}: {said}");
        assert!(said.contains("I4"), "{file}: {said}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
