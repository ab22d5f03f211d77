//! One scenario over many seeds: does each expectation hold on every seed,
//! and how do the key figures spread?
//!
//! A scenario's expectations are written against one seed; a record fact
//! that holds on seed 1 and fails on seed 6 is a fact about seed 1. The
//! sweep runs the seeds in parallel (each run single-threaded and
//! deterministic on its own), and reports per expectation the share of
//! seeds on which it holds (with the first failing seeds), and p50, p90 and
//! max of the figures a reader checks first.

use crate::expect::ExpectationResult;
use crate::outcome::{Outcome, PairRun};
use crate::pool::Pool;
use crate::run::{run_scenario, Panicked, RunOptions};
use crate::scenario::Scenario;
use serde::Serialize;
use std::fmt::Write as _;

/// At most this many seeds per sweep (each is a whole run).
pub const SEEDS_MAX: usize = 10_000;

/// One seed's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    pub seed: u64,
    pub trace_hash: String,
    pub expectations: Vec<ExpectationResult>,
    /// The key figures, in [`figures`] order.
    pub figures: Vec<(String, f64)>,
}

/// An expectation across the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectationShare {
    pub name: String,
    pub held: usize,
    pub seeds: usize,
    /// Seeds on which it failed, lowest first, with the run's detail.
    pub failed: Vec<(u64, String)>,
}

/// A figure across the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Spread {
    pub name: String,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

/// The outcome of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub scenario: String,
    pub source: String,
    pub runs: Vec<SeedRun>,
    pub expectations: Vec<ExpectationShare>,
    pub spreads: Vec<Spread>,
    /// Seeds whose run panicked (no expectation was checked on them).
    pub panics: Vec<(u64, Panicked)>,
    /// Seeds whose run, or one of its paired variants, stopped before its
    /// end (`--events-max`, the pending-queue bound): partial figures, no
    /// verdict, and not counted in the shares or spreads.
    pub incomplete: Vec<(u64, String)>,
}

impl Sweep {
    /// Every seed ran to its end without a panic, and every expectation
    /// held on every seed.
    pub fn all_hold(&self) -> bool {
        self.panics.is_empty()
            && self.incomplete.is_empty()
            && self.expectations.iter().all(|e| e.held == e.seeds)
    }
}

/// How each seed of a sweep runs (the options of one run that a sweep
/// passes on).
#[derive(Clone, Copy, Debug, Default)]
pub struct SweepOptions {
    /// Event budget of each run (and of each of its paired variants).
    pub events_max: Option<u64>,
    /// The reference mode: step every agent poll.
    pub step_every_poll: bool,
}

/// The figures a sweep spreads: whole-run damage and convergence, per
/// pool incident its size and restoration time, and each paired run's
/// clusters lost per incident.
pub fn figures(o: &Outcome, pairs: &[PairRun]) -> Vec<(String, f64)> {
    let mut f = vec![
        (
            "clusters that lost pools".to_string(),
            o.clusters_lost_pools_total as f64,
        ),
        (
            "clusters not converged at the end".into(),
            o.clusters_not_converged_at_end as f64,
        ),
        (
            "agents in hold at the end".into(),
            o.agents_in_hold_at_end as f64,
        ),
        ("findings".into(), o.findings.total as f64),
    ];
    for (k, inc) in o.pool_incidents().enumerate() {
        let k = k + 1;
        f.push((
            format!("incident {k} clusters affected"),
            inc.clusters_affected as f64,
        ));
        f.push((
            format!("incident {k} restore h after detection"),
            inc.restore_hours_after_detection().unwrap_or(f64::INFINITY),
        ));
        if let Some(c) = &inc.converge {
            f.push((
                format!("incident {k} converge p99 h after heal"),
                c.p99_s / 3_600.0,
            ));
        }
    }
    for (p, pair) in pairs.iter().enumerate() {
        for (k, n) in pair.clusters_lost_by_incident().iter().enumerate() {
            f.push((
                format!(
                    "pair {}: incident {} clusters lost in the variant",
                    p + 1,
                    k + 1
                ),
                *n as f64,
            ));
        }
    }
    f
}

/// Nearest-rank percentile of sorted `v` (`q` in 0..=1).
fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Runs `scenario` on each of `seeds`, `jobs` at a time.
pub fn sweep(scenario: &Scenario, seeds: &[u64], jobs: usize, opts: SweepOptions) -> Sweep {
    let ran = Pool::new(jobs).run(seeds, |&seed, _| {
        run_scenario(
            scenario,
            RunOptions {
                seed: Some(seed),
                events_max: opts.events_max,
                step_every_poll: opts.step_every_poll,
                ..RunOptions::default()
            },
        )
    });
    let mut runs: Vec<SeedRun> = Vec::with_capacity(seeds.len());
    let mut panics: Vec<(u64, Panicked)> = Vec::new();
    let mut incomplete: Vec<(u64, String)> = Vec::new();
    for (&seed, r) in ran {
        match r {
            Err(p) => panics.push((seed, p)),
            Ok(r) => match r.stopped_short(&scenario.epoch) {
                Some(why) => incomplete.push((seed, why)),
                None => runs.push(SeedRun {
                    seed,
                    trace_hash: r.summary.trace_hash.clone(),
                    figures: figures(&r.outcome, &r.pairs),
                    expectations: r.summary.expectations,
                }),
            },
        }
    }
    // The pool keeps the seeds' order; a caller's list need not be sorted.
    runs.sort_by_key(|r| r.seed);
    panics.sort_by_key(|(seed, _)| *seed);
    incomplete.sort_by_key(|(seed, _)| *seed);

    let mut expectations: Vec<ExpectationShare> = Vec::new();
    for r in &runs {
        for (i, e) in r.expectations.iter().enumerate() {
            if expectations.len() <= i {
                expectations.push(ExpectationShare {
                    name: e.name.clone(),
                    held: 0,
                    seeds: 0,
                    failed: Vec::new(),
                });
            }
            let share = &mut expectations[i];
            share.seeds += 1;
            if e.passed {
                share.held += 1;
            } else {
                share.failed.push((r.seed, e.detail.clone()));
            }
        }
    }
    // Figures by name: a seed with fewer incidents has no value for the
    // later ones (counted as absent, not as zero).
    let mut names: Vec<String> = Vec::new();
    for r in &runs {
        for (n, _) in &r.figures {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let spreads = names
        .into_iter()
        .map(|name| {
            let mut v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.figures.iter().find(|(n, _)| *n == name).map(|f| f.1))
                .collect();
            v.sort_by(f64::total_cmp);
            Spread {
                p50: percentile(&v, 0.5),
                p90: percentile(&v, 0.9),
                max: v.last().copied().unwrap_or(f64::NAN),
                name,
            }
        })
        .collect();
    Sweep {
        scenario: scenario.name.clone(),
        source: scenario.source.display().to_string(),
        runs,
        expectations,
        spreads,
        panics,
        incomplete,
    }
}

/// The sweep as text: a table per expectation, then the spreads.
pub fn render_text(s: &Sweep) -> String {
    let mut o = String::new();
    let seeds = s.runs.len();
    let _ = writeln!(
        o,
        "scenario  {} ({}), {} seeds",
        s.scenario,
        s.source,
        seeds + s.panics.len() + s.incomplete.len()
    );
    for (seed, p) in &s.panics {
        let _ = writeln!(o, "seed {seed}: verdict panic: the run {p}");
    }
    for (seed, why) in &s.incomplete {
        let _ = writeln!(o, "seed {seed}: no verdict: {why}");
    }
    let _ = writeln!(o, "\n| expectation | holds on | first failing seeds |");
    let _ = writeln!(o, "|---|---|---|");
    for e in &s.expectations {
        let failing: Vec<String> = e
            .failed
            .iter()
            .take(5)
            .map(|(seed, detail)| format!("{seed} ({detail})"))
            .collect();
        let _ = writeln!(
            o,
            "| {} | {}/{} | {} |",
            e.name,
            e.held,
            e.seeds,
            if failing.is_empty() {
                "".to_string()
            } else {
                failing.join("; ")
            }
        );
    }
    let _ = writeln!(o, "\n| figure | p50 | p90 | max |");
    let _ = writeln!(o, "|---|---|---|---|");
    let num = |x: f64| {
        if x.is_infinite() {
            "not restored".to_string()
        } else if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    };
    for sp in &s.spreads {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            sp.name,
            num(sp.p50),
            num(sp.p90),
            num(sp.max)
        );
    }
    let _ = writeln!(
        o,
        "\nresult    {}",
        if s.all_hold() {
            format!("every expectation holds on all {seeds} seeds")
        } else {
            let n = s.expectations.iter().filter(|e| e.held < e.seeds).count();
            let mut text = if n > 0 {
                format!("{n} expectation(s) fail on some seeds")
            } else {
                format!("every expectation holds on the {seeds} seeds that ran to their end")
            };
            if !s.panics.is_empty() {
                text += &format!(
                    "; {} seed(s) panicked (no expectation checked on them)",
                    s.panics.len()
                );
            }
            if !s.incomplete.is_empty() {
                text += &format!(
                    "; {} seed(s) stopped before their end (no verdict on them)",
                    s.incomplete.len()
                );
            }
            text
        }
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 5.0);
        assert_eq!(percentile(&v, 0.9), 9.0);
        assert_eq!(percentile(&v, 1.0), 10.0);
        assert_eq!(percentile(&[3.0], 0.9), 3.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
