//! Guided chaos exploration (`cascade chaos --guided`): a coverage-guided
//! fuzzer whose inputs are fault schedules. A corpus keeps every case that
//! reached a rare coverage state or a feature no run had before
//! ([`super::features`]); new cases are mutants of corpus entries
//! ([`super::mutate`]), the entries with rarer features drawn more often
//! (AFL's energy), and one run in [`FRESH_EVERY`] is a fresh seed's draw,
//! the random sweep's, so that guidance never does much worse than random.
//! While a state the profile should reach has been reached by fewer than
//! [`RARE_RUNS`] runs and has a recipe ([`super::aim`]), every other
//! mutant is aimed at it (directed fuzzing), at most [`AIM_MAX`] times: a
//! corpus entry reshaped so that it has the timing the state needs, the
//! least-reached state first. Half of all mutants, aimed or not, run
//! against a new world seed ([`RESEED_P`]) and half get faults of the
//! kinds their parent lacks ([`ENRICH_P`]).
//!
//! Deterministic from the seed whatever `--jobs`: runs go in generations of
//! [`BATCH`] cases, each generation planned from the corpus as the
//! generations before left it, run on the pool, then taken in run order.
//! Fresh seeds are the sweep's seeds in order (`--seed S`: S, S+1, ...);
//! every choice of the guidance draws from its own stream of S.

use super::explore::SeedOutcome;
use super::mutate::{Bounds, Operator};
use super::profile::FaultKind;
use super::{features, Case, Chaos};
use crate::coverage::Reached;
use crate::model::bugs::Bug;
use crate::plant::streams;
use crate::pool::Pool;
use cascade_sim::{Seed, Stream};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Cases per generation: the parallelism a guided sweep can use, and the
/// unit of its determinism.
pub const BATCH: usize = 8;
/// One run in this many is a fresh seed's case.
pub const FRESH_EVERY: usize = 4;
/// A state reached by fewer runs than this before is rare: a case reaching
/// it joins the corpus even without a new feature.
pub const RARE_RUNS: u64 = 3;
/// A reseeded mutant's world seed is this plus the sweep's seed plus its
/// count of reseeds: far from every fresh seed a sweep of at most
/// 10^6 runs takes from its `--seed`.
pub const RESEED_BASE: u64 = 1 << 40;
/// The share of unaimed mutants run against a new world (a bug that needs
/// a customer's change at the right time lives in the world's seed as
/// much as in the schedule).
pub const RESEED_P: f64 = 0.5;
/// The share of unaimed mutants that first get faults of the kinds their
/// parent lacks (each by a coin): a richer swarm, under which the
/// catalogue's bugs that need one kind present fail about twice as often
/// (fixed-400 at swarm ratio 0.8 against 0.5, seeds 6000001..64:
/// confirmation_never_resets 19 failures against 8).
pub const ENRICH_P: f64 = 0.5;
/// Most mutants aimed at one state: a recipe that has not made the state
/// common by then is not worth half the mutants any longer (the corpus
/// keeps what it reached, and energy favours it).
pub const AIM_MAX: u32 = 4;
/// Most mutations stacked on one parent (AFL's havoc stacks several).
pub const STACK_MAX: u64 = 3;

/// How the sweep runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuidedOptions {
    pub jobs: usize,
    pub bug: Option<Bug>,
    /// Run each case twice and compare the trace hashes.
    pub check_determinism: bool,
    /// Plan no generation after one with a failure.
    pub stop_on_failure: bool,
}

/// Where a guided case came from (runs numbered from 1).
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// The seed's own draw, as the random sweep has it.
    Fresh,
    /// Mutations of an earlier run's case (`other`: the second parent of
    /// a splice).
    Mutant {
        parent: usize,
        other: Option<usize>,
        ops: Vec<Operator>,
    },
}

impl Origin {
    pub fn describe(&self, seed: u64) -> String {
        match self {
            Origin::Fresh => format!("seed {seed}"),
            Origin::Mutant { parent, other, ops } => {
                let ops: Vec<String> = ops
                    .iter()
                    .map(|o| match o {
                        Operator::Aim(state) => format!("aim at {}", state.name()),
                        o => o.name().to_string(),
                    })
                    .collect();
                format!(
                    "mutant of run {parent}{} ({}; seed {seed})",
                    other.map(|o| format!(" and run {o}")).unwrap_or_default(),
                    ops.join(", ")
                )
            }
        }
    }
}

/// One guided run: its number, its origin, its case and its outcome.
pub struct GuidedRun {
    /// From 1.
    pub run: usize,
    pub origin: Origin,
    pub case: Case,
    pub outcome: SeedOutcome,
    /// Features no earlier run had.
    pub new_features: usize,
    /// Kept in the corpus.
    pub kept: bool,
}

impl GuidedRun {
    /// The case as the scenario file a guided sweep writes.
    pub fn document(&self, chaos: &Chaos) -> Value {
        case_document(chaos, &self.case, self.run, &self.origin)
    }
}

/// A case's scenario document; a mutant's name says its run.
fn case_document(chaos: &Chaos, case: &Case, run: usize, origin: &Origin) -> Value {
    let mut doc = chaos.document(case);
    if *origin != Origin::Fresh {
        doc["name"] = Value::from(crate::files::derived_name(
            &format!("chaos-{}", chaos.profile.profile.name),
            &format!("-seed-{}-run-{run}", case.seed),
        ));
    }
    doc
}

/// A corpus entry: a run whose case is worth mutating.
struct Entry {
    /// Index into the runs.
    at: usize,
    features: Vec<String>,
    /// Times chosen as a parent: an entry mutated often yields less.
    picked: u32,
}

/// The guidance: corpus, feature counts, its own random stream.
struct Guide {
    corpus: Vec<Entry>,
    /// Runs that had each feature.
    seen: BTreeMap<String, u64>,
    rng: Stream,
    bounds: Bounds,
    next_seed: u64,
    /// The sweep's seed plus the reseeds so far: the n-th reseeded mutant
    /// runs its world with seed [`RESEED_BASE`] + the sweep's seed + n.
    reseeds: u64,
    /// Mutants aimed at each state so far.
    aimed: BTreeMap<Reached, u32>,
    /// Mutants planned so far: the even ones are aimed while a target
    /// remains.
    mutants: u64,
}

impl Guide {
    /// AFL-style energy: the sum of the rarity of an entry's features,
    /// less for an entry already mutated often.
    fn energy(&self, e: &Entry) -> f64 {
        let rarity: f64 = e
            .features
            .iter()
            .map(|f| 1.0 / self.seen.get(f).copied().unwrap_or(1).max(1) as f64)
            .sum();
        rarity / (1.0 + f64::from(e.picked) / 4.0)
    }

    /// A corpus entry drawn in proportion to its energy.
    fn pick(&mut self) -> usize {
        let energies: Vec<f64> = self.corpus.iter().map(|e| self.energy(e)).collect();
        let total: f64 = energies.iter().sum();
        let mut x = self.rng.unit() * total;
        let mut chosen = energies.len() - 1;
        for (i, e) in energies.iter().enumerate() {
            if x < *e {
                chosen = i;
                break;
            }
            x -= e;
        }
        self.corpus[chosen].picked += 1;
        chosen
    }

    /// The state to aim the next mutant at: of the states the profile
    /// should reach with a recipe its kinds allow, the one fewest runs
    /// reached (fewer than [`RARE_RUNS`]), earliest in `should_reach` on a
    /// tie; None when every such state is reached often enough.
    fn target(&self, chaos: &Chaos) -> Option<Reached> {
        chaos
            .profile
            .profile
            .should_reach
            .iter()
            .copied()
            .filter(|&s| {
                let r = super::aim::recipe(s);
                !r.is_empty() && r.iter().all(|&step| self.bounds.allows(step))
            })
            .map(|s| {
                (
                    self.seen
                        .get(&format!("state:{}", s.name()))
                        .copied()
                        .unwrap_or(0),
                    s,
                )
            })
            .filter(|&(n, s)| n < RARE_RUNS && self.aimed.get(&s).copied().unwrap_or(0) < AIM_MAX)
            .min_by_key(|&(n, _)| n)
            .map(|(_, s)| s)
    }

    /// The next case: a fresh seed's, or a mutant of a corpus entry.
    fn plan(
        &mut self,
        chaos: &Chaos,
        runs: &[GuidedRun],
        n: usize,
        bug: Option<Bug>,
    ) -> (Case, Origin) {
        if self.corpus.is_empty() || n.is_multiple_of(FRESH_EVERY) {
            let seed = self.next_seed;
            self.next_seed += 1;
            return (chaos.case(seed, bug), Origin::Fresh);
        }
        let p = self.pick();
        let parent = &runs[self.corpus[p].at];
        let mut case = parent.case.clone();
        // The case's own rollout (anchored jitter moves it) places what a
        // recipe aims at the rollout.
        let bounds = chaos.bounds_of(&case);
        let mut ops = Vec::new();
        let mut other = None;
        self.mutants += 1;
        let aim = if self.mutants % 2 == 1 {
            self.target(chaos)
        } else {
            None
        };
        if let Some(state) = aim {
            *self.aimed.entry(state).or_insert(0) += 1;
            let op = Operator::Aim(state);
            bounds.mutate(op, &mut case.faults, &[], &mut self.rng, &no_rarity);
            ops.push(op);
        }
        if self.rng.bernoulli(RESEED_P) {
            // A world seed no fresh seed of the sweep reaches.
            self.reseeds += 1;
            case.seed = RESEED_BASE.wrapping_add(self.reseeds);
            ops.push(Operator::Reseed);
        }
        let add = Operator::Add;
        if self.rng.bernoulli(ENRICH_P)
            && bounds.mutate(add, &mut case.faults, &[], &mut self.rng, &no_rarity)
        {
            ops.push(add);
        }
        let stack = if aim.is_some() {
            0
        } else {
            ops.len() as u64 + 1 + self.rng.below(STACK_MAX)
        };
        let mut tries = 0;
        while (ops.len() as u64) < stack && tries < 4 * STACK_MAX {
            tries += 1;
            let splice = other.is_none() && self.corpus.len() > 1 && self.rng.bernoulli(0.125);
            let (op, with) = if splice {
                let p = self.pick();
                let o = &runs[self.corpus[p].at];
                (Operator::Splice, Some(o))
            } else {
                let op = Operator::UNARY[self.rng.below(Operator::UNARY.len() as u64) as usize];
                (op, None)
            };
            let theirs = with.map_or(&[][..], |o| &o.case.faults[..]);
            let seen = &self.seen;
            let rarity = |a, b| {
                let n = seen.get(&features::end_inside(a, b)).copied().unwrap_or(0);
                1.0 / (1.0 + n as f64).powi(2)
            };
            if bounds.mutate(op, &mut case.faults, theirs, &mut self.rng, &rarity) {
                ops.push(op);
                if let Some(o) = with {
                    other = Some(o.run);
                }
            }
        }
        let origin = Origin::Mutant {
            parent: parent.run,
            other,
            ops,
        };
        case.chosen = std::iter::once(origin.describe(case.seed))
            .chain(
                case.faults
                    .iter()
                    .map(super::generate::DrawnFault::describe),
            )
            .collect();
        (case, origin)
    }

    /// Takes a run's features in: counts them, keeps the run in the corpus
    /// when one is new or a state it reached is rare. Returns (new
    /// features, kept).
    fn absorb(&mut self, at: usize, feats: BTreeSet<String>) -> (usize, bool) {
        let count = |f: &String| self.seen.get(f).copied().unwrap_or(0);
        let new = feats.iter().filter(|f| count(f) == 0).count();
        let rare = feats.iter().any(|f| {
            f.starts_with("state:") && !f[6..].contains([':', '&']) && count(f) < RARE_RUNS
        });
        for f in &feats {
            *self.seen.entry(f.clone()).or_insert(0) += 1;
        }
        let kept = new > 0 || rare;
        if kept {
            self.corpus.push(Entry {
                at,
                features: feats.into_iter().collect(),
                picked: 0,
            });
        }
        (new, kept)
    }
}

/// The pair weighting for operators that align no pair (aim, add).
fn no_rarity(_: FaultKind, _: FaultKind) -> f64 {
    0.0
}

/// A planned case's run: its outcome and features.
type Ran = Result<(SeedOutcome, BTreeSet<String>), String>;

/// Runs one planned case (twice with `check_determinism`).
fn run_case(chaos: &Chaos, case: &Case, run: usize, origin: &Origin, check: bool) -> Ran {
    let doc = case_document(chaos, case, run, origin);
    let (verdict, summary) = chaos.run_document(&doc).map_err(|e| e.to_string())?;
    let deterministic = !check
        || chaos
            .run_document(&doc)
            .map(|(again, _)| again.trace_hash == verdict.trace_hash)
            .unwrap_or(false);
    let feats = features::of_run(chaos, case, &verdict, summary.as_ref());
    let outcome = SeedOutcome {
        seed: case.seed,
        verdict,
        deterministic,
        chosen: case.chosen.clone(),
    };
    Ok((outcome, feats))
}

/// The guided sweep of `count` runs from `seed`. `Err` when a case does
/// not load or its run could not be made (a bug of the profile or the
/// generator, as for the random sweep).
pub fn explore(
    chaos: &Chaos,
    seed: u64,
    count: usize,
    opts: GuidedOptions,
    after_each: &(dyn Fn() + Sync),
) -> Result<Vec<GuidedRun>, String> {
    let mut guide = Guide {
        corpus: Vec::new(),
        seen: BTreeMap::new(),
        rng: Seed(seed).fork(streams::CHAOS_GUIDED, 0),
        bounds: chaos.bounds(),
        next_seed: seed,
        mutants: 0,
        aimed: BTreeMap::new(),
        reseeds: seed,
    };
    let mut runs: Vec<GuidedRun> = Vec::with_capacity(count);
    while runs.len() < count {
        let first = runs.len();
        let planned: Vec<(usize, Case, Origin)> = (first..count.min(first + BATCH))
            .map(|n| {
                let (case, origin) = guide.plan(chaos, &runs, n, opts.bug);
                (n + 1, case, origin)
            })
            .collect();
        let ran = Pool::new(opts.jobs)
            .after_each(after_each)
            .run(&planned, |(run, case, origin), _| {
                run_case(chaos, case, *run, origin, opts.check_determinism)
            });
        for ((run, case, origin), r) in ran {
            let (outcome, feats) = match r {
                Ok(Ok(x)) => x,
                Ok(Err(e)) => return Err(format!("run {run}: {e}")),
                Err(p) => return Err(format!("run {run}: {p}")),
            };
            let (new_features, kept) = guide.absorb(runs.len(), feats);
            runs.push(GuidedRun {
                run: *run,
                origin: origin.clone(),
                case: case.clone(),
                outcome,
                new_features,
                kept,
            });
        }
        if opts.stop_on_failure && runs[first..].iter().any(|r| r.outcome.failed()) {
            break;
        }
    }
    Ok(runs)
}
