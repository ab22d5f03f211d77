//! Provenance found by the harness, not declared (`cascade run
//! --provenance`): how each expectation's fact is reached.
//!
//! A scenario's `tuned` entries say which figures were fitted to which
//! facts, but a fact can also be an input read back: the flagship's "every
//! surface unavailable 43-47 min on D0" is E1's `for: 45m`. So every input
//! of the scenario is perturbed once, on the same seed, and each
//! expectation's measured figure ([`crate::expect::Measured`]) compared
//! with the unperturbed run's (sensitivity runs, the paired-run machinery
//! behind them):
//!
//! - each timeline item removed, and its time (`at`, an hour later and
//!   earlier), duration (`for`, half as long again, and two thirds) and
//!   numeric action fields (half as large again, and two thirds; a ratio
//!   that would pass 1 is not raised);
//! - each `tuned` model field (a quarter larger and smaller; the tuned
//!   bounds of expectations change no run and are left out).
//!
//! Both directions, because a fact at a bound moves one way only (18
//! engineers restore everything; 27 do too, 12 do not). A fact is
//! *scripted* when an input is read back one for one: a time or duration
//! input moves its figure in seconds by the input's own change, either way
//! (a window's end moves its length with it, its start against it; within
//! 10 % or a minute), or removing an item lowers a count by exactly one (the
//! item was the thing counted: a leak, its finding); *calibrated* when,
//! not scripted, it moves with a tuned field; *emergent* otherwise. Each class lists the inputs the
//! figure moves with: by more than 5 % of its value, or (near zero) a
//! minute, one count or half a point of a ratio; an instant (a first
//! loss, a restore's end), by more than a quarter of an hour. A perturbed run that
//! stops short or a perturbation the loader refuses is left out and said.

pub use crate::expect::{Class, Found};
use crate::expect::{MeasureUnit, Measured, Moved};
use crate::run::{run_scenario, RunOptions};
use crate::scenario::{from_document, parse_time, Override, OverrideSite, Scenario};
use cascade_sim::parse_duration;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How much later and earlier a timeline item's time is moved: an hour,
/// so that facts counted in whole hours move too.
pub const SHIFT_S: u64 = 3_600;
/// The factor on durations and action magnitudes.
pub const MAGNITUDE_FACTOR: f64 = 1.5;
/// The factor on tuned model fields.
pub const TUNED_FACTOR: f64 = 1.25;
/// A figure moves when it changes by more than this share of its value.
pub const MOVES_RATIO: f64 = 0.05;
/// An instant moves when it changes by more than this: a quarter of an
/// hour, finer than the hour the record states its times in. Not a share
/// of its value: an instant's distance from the run's start is arbitrary
/// (5 % of it is 6.9 h at the flagship's D5 restore, and a restore 5.3 h
/// later did not count as a move).
pub const INSTANT_MOVES_S: f64 = 900.0;
/// One for one: a scripted figure's change is within this share of the
/// input's (or [`ONE_FOR_ONE_SLACK_S`]).
pub const ONE_FOR_ONE_RATIO: f64 = 0.1;
pub const ONE_FOR_ONE_SLACK_S: f64 = 60.0;
/// Most inputs perturbed (each is a run, with its paired variants).
pub const INPUTS_MAX: usize = 256;

/// What was perturbed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A timeline item's time.
    Time,
    /// A timeline item's duration.
    Duration,
    /// A numeric field of a timeline item's action.
    Magnitude,
    /// A field the scenario's `tuned` entries name.
    Tuned,
    /// A timeline item removed.
    Removed,
}

/// How an input is perturbed.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Set(Override),
    /// The timeline item with this id, removed.
    Remove(String),
}

/// One input of a scenario and its perturbation.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// What it is: `E1.for`, `without E9`, `tuned model.x`.
    pub name: String,
    /// The perturbation: `E1.for +22.5 min`, `tuned model.x 600 -> 750`.
    pub label: String,
    /// What perturbs it.
    pub change: Change,
    pub kind: InputKind,
    /// Time and duration inputs: how much later or longer, seconds.
    pub delta_s: f64,
}

/// What the sensitivity runs found, per expectation in the scenario's
/// order, and the inputs left out with why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    pub found: Vec<Found>,
    pub inputs: usize,
    pub skipped: Vec<String>,
}

/// A number times `factor` (an integer stays one and moves by at least
/// one; a ratio field is not raised past 1): `None` when it cannot move.
fn perturbed(field: &str, v: &Value, factor: f64) -> Option<Value> {
    if let Some(i) = v.as_u64() {
        let scaled = (i as f64 * factor).round() as u64;
        let moved = if factor > 1.0 {
            scaled.max(i + 1)
        } else {
            scaled.min(i.saturating_sub(1))
        };
        return (moved != i && i > 0).then(|| json!(moved));
    }
    let x = v.as_f64()?;
    if x == 0.0 || !x.is_finite() {
        return None;
    }
    let moved = x * factor;
    if (field.contains("ratio") || field.contains("fraction")) && moved > 1.0 {
        return None;
    }
    Some(json!(moved))
}

fn set(key: String, value: Value) -> Change {
    Change::Set(Override { key, value })
}

fn minutes(s: f64) -> String {
    format!("{:+.1} min", s / 60.0)
}

/// The scenario's inputs, each with its perturbations.
pub fn inputs(sc: &Scenario) -> Vec<Input> {
    let mut out: Vec<Input> = Vec::new();
    let items = sc.doc["timeline"].as_array().cloned().unwrap_or_default();
    let end_s = sc.end.as_secs();
    for it in &items {
        let Some(id) = it["id"].as_str() else {
            continue;
        };
        out.push(Input {
            name: format!("without {id}"),
            label: format!("without {id}"),
            change: Change::Remove(id.to_string()),
            kind: InputKind::Removed,
            delta_s: 0.0,
        });
        if let Some(Ok(t)) = it["at"].as_str().map(|at| parse_time(&sc.epoch, at)) {
            let t = t.as_secs();
            let moved = [t + SHIFT_S, t.saturating_sub(SHIFT_S)].map(|m| (m < end_s).then_some(m));
            timed(&mut out, id, "at", InputKind::Time, t, moved, |m| {
                format!("+{m}s")
            });
        }
        if let Some(d) = it["for"].as_str().and_then(|d| parse_duration(d).ok()) {
            let d = d.as_secs();
            let moved = [MAGNITUDE_FACTOR, 1.0 / MAGNITUDE_FACTOR]
                .map(|f| Some((d as f64 * f).round() as u64).filter(|&m| m > 0));
            timed(&mut out, id, "for", InputKind::Duration, d, moved, |m| {
                format!("{m}s")
            });
        }
        if let Some(action) = it["do"].as_object() {
            for (field, v) in action {
                if field == "kind" {
                    continue;
                }
                for factor in [MAGNITUDE_FACTOR, 1.0 / MAGNITUDE_FACTOR] {
                    if let Some(p) = perturbed(field, v, factor) {
                        out.push(Input {
                            name: format!("{id}.{field}"),
                            label: format!("{id}.{field} {v} -> {p}"),
                            change: set(format!("timeline.{id}.{field}"), p),
                            kind: InputKind::Magnitude,
                            delta_s: 0.0,
                        });
                    }
                }
            }
        }
    }
    for t in &sc.tuned {
        if t.field.starts_with("expect[") {
            continue;
        }
        let mut known = false;
        for i in out.iter_mut() {
            if matches!(&i.change, Change::Set(o) if o.key == t.field) {
                // A timeline field the scenario tuned: its perturbations
                // stand, and count as tuned.
                i.kind = InputKind::Tuned;
                known = true;
            }
        }
        if known {
            continue;
        }
        let field = t.field.rsplit('.').next().unwrap_or(&t.field);
        for factor in [TUNED_FACTOR, 1.0 / TUNED_FACTOR] {
            if let Some(p) = perturbed(field, &t.value, factor) {
                out.push(Input {
                    name: format!("tuned {}", t.field),
                    label: format!("tuned {} {} -> {p}", t.field, t.value),
                    change: set(t.field.clone(), p),
                    kind: InputKind::Tuned,
                    delta_s: 0.0,
                });
            }
        }
    }
    out.truncate(INPUTS_MAX);
    out
}

/// The perturbations of item `id`'s time or duration `field`: from
/// `base_s` to each of `moved_s` (`None` or the same: left out), written
/// back as `text` gives.
fn timed(
    out: &mut Vec<Input>,
    id: &str,
    field: &str,
    kind: InputKind,
    base_s: u64,
    moved_s: [Option<u64>; 2],
    text: impl Fn(u64) -> String,
) {
    for moved in moved_s.into_iter().flatten().filter(|&m| m != base_s) {
        let delta_s = moved as f64 - base_s as f64;
        out.push(Input {
            name: format!("{id}.{field}"),
            label: format!("{id}.{field} {}", minutes(delta_s)),
            change: set(format!("timeline.{id}.{field}"), json!(text(moved))),
            kind,
            delta_s,
        });
    }
}

/// Whether a figure moved from `a` to `b`.
fn moved(a: Option<Measured>, b: Option<Measured>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let share = MOVES_RATIO * a.value.abs();
            let threshold = match a.unit {
                MeasureUnit::Seconds => share.max(60.0),
                MeasureUnit::Instant => INSTANT_MOVES_S,
                MeasureUnit::Count => share.max(0.5),
                MeasureUnit::Ratio => share.max(0.005),
            };
            (b.value - a.value).abs() > threshold
        }
        (None, None) => false,
        _ => true,
    }
}

/// Whether an input is read back one for one: a time or duration input
/// moves a figure in seconds by its own change, or removing an item
/// lowers a count by exactly one.
fn one_for_one(input: &Input, a: Option<Measured>, b: Option<Measured>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    match input.kind {
        InputKind::Time | InputKind::Duration => {
            matches!(a.unit, MeasureUnit::Seconds | MeasureUnit::Instant)
                && ((b.value - a.value).abs() - input.delta_s.abs()).abs()
                    <= (ONE_FOR_ONE_RATIO * input.delta_s.abs()).max(ONE_FOR_ONE_SLACK_S)
        }
        InputKind::Removed => a.unit == MeasureUnit::Count && b.value - a.value == -1.0,
        InputKind::Magnitude | InputKind::Tuned => false,
    }
}

fn change(a: Option<Measured>, b: Option<Measured>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => match a.unit {
            MeasureUnit::Seconds | MeasureUnit::Instant => minutes(b.value - a.value),
            MeasureUnit::Count => format!("{:+}", b.value - a.value),
            MeasureUnit::Ratio => format!("{:+.3}", b.value - a.value),
        },
        (Some(_), None) => "no longer measured".into(),
        (None, Some(_)) => "now measured".into(),
        (None, None) => "-".into(),
    }
}

/// Classifies each expectation from the base run's figures and each
/// input's perturbed figures (`None`: that run is left out).
pub fn classify(
    base: &[Option<Measured>],
    inputs: &[Input],
    perturbed: &[Option<Vec<Option<Measured>>>],
) -> Vec<Found> {
    (0..base.len())
        .map(|k| {
            let a = base[k];
            let mut by = Vec::new();
            let mut tuned = Vec::new();
            let mut moves_with = Vec::new();
            for (input, run) in inputs.iter().zip(perturbed) {
                let Some(figures) = run else { continue };
                let b = figures.get(k).copied().flatten();
                if !moved(a, b) {
                    continue;
                }
                moves_with.push(Moved {
                    input: input.name.clone(),
                    perturbation: input.label.clone(),
                    change: change(a, b),
                });
                let name = input.name.clone();
                if one_for_one(input, a, b) {
                    if !by.contains(&name) {
                        by.push(name);
                    }
                } else if input.kind == InputKind::Tuned && !tuned.contains(&name) {
                    tuned.push(name);
                }
            }
            let (class, by) = if !by.is_empty() {
                (Class::Scripted, by)
            } else if !tuned.is_empty() {
                (Class::Calibrated, tuned)
            } else {
                (Class::Emergent, Vec::new())
            };
            Found {
                class,
                by,
                moves_with,
            }
        })
        .collect()
}

/// The figures of each expectation of `sc` on `seed`; `None` when the
/// run stopped short of its end or a paired variant did.
fn figures(sc: &Scenario, seed: u64) -> Option<Vec<Option<Measured>>> {
    let r = run_scenario(
        sc,
        RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    );
    if r.stopped_short(&sc.epoch).is_some() {
        return None;
    }
    Some(r.summary.expectations.iter().map(|e| e.measured).collect())
}

/// `sc` with `input` perturbed, or why the loader refuses it.
fn perturb(sc: &Scenario, input: &Input) -> Result<Scenario, String> {
    let mut doc = sc.doc.clone();
    match &input.change {
        Change::Set(o) => o.apply(&mut doc, OverrideSite::CommandLine)?,
        Change::Remove(id) => {
            if let Some(items) = doc.get_mut("timeline").and_then(Value::as_array_mut) {
                items.retain(|it| it["id"].as_str() != Some(id));
            }
        }
    }
    from_document(&sc.source, doc).map_err(|e| format!("{}: {}", e.path, e.message))
}

/// Runs the sensitivity runs of `sc` on `seed` (`jobs` at once) against
/// the base run's figures `base`.
pub fn find(sc: &Scenario, seed: u64, base: &[Option<Measured>], jobs: usize) -> Provenance {
    let inputs = inputs(sc);
    let loaded: Vec<Result<Scenario, String>> = inputs.iter().map(|i| perturb(sc, i)).collect();
    let ran = crate::pool::Pool::new(jobs).run(&loaded, |s, _| {
        let s = s.as_ref().map_err(String::clone)?;
        figures(s, seed).ok_or_else(|| "the run stopped before its end".to_string())
    });
    // Each input left out says why: refused, stopped short, or panicked.
    let mut skipped = Vec::new();
    let perturbed: Vec<Option<Vec<Option<Measured>>>> = ran
        .into_iter()
        .zip(&inputs)
        .map(
            |((_, r), input)| match r.unwrap_or_else(|p| Err(format!("the run {p}"))) {
                Ok(f) => Some(f),
                Err(why) => {
                    skipped.push(format!("{}: {why}", input.label));
                    None
                }
            },
        )
        .collect();
    Provenance {
        found: classify(base, &inputs, &perturbed),
        inputs: inputs.len(),
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: InputKind, delta_s: f64) -> Input {
        Input {
            name: "E1.for".into(),
            label: "E1.for +22.5 min".into(),
            change: set("timeline.E1.for".into(), json!("4050s")),
            kind,
            delta_s,
        }
    }

    #[test]
    fn a_figure_that_moves_with_its_duration_one_for_one_is_scripted() {
        let base = [Some(Measured::seconds(2_700.0))];
        let same = [Some(vec![Some(Measured::seconds(4_050.0))])];
        let f = classify(&base, &[input(InputKind::Duration, 1_350.0)], &same);
        assert_eq!(f[0].class, Class::Scripted);
        assert_eq!(f[0].describe(), "scripted by E1.for");
        // A window's start moves its length the other way: still one for one.
        let f = classify(&base, &[input(InputKind::Time, -1_350.0)], &same);
        assert_eq!(f[0].class, Class::Scripted);
        // Removing the item counted lowers the count by exactly one.
        let one = [Some(Measured::count(1.0))];
        let none = [Some(vec![Some(Measured::count(0.0))])];
        let f = classify(&one, &[input(InputKind::Removed, 0.0)], &none);
        assert_eq!(f[0].class, Class::Scripted);
        // Half as much: it moves with the input, but not one for one.
        let half = [Some(vec![Some(Measured::seconds(3_375.0))])];
        let f = classify(&base, &[input(InputKind::Duration, 1_350.0)], &half);
        assert_eq!(f[0].class, Class::Emergent);
        assert_eq!(f[0].moves_with.len(), 1);
        // Moving with a tuned field is calibrated; a count never scripted.
        let counts = [Some(Measured::count(100.0))];
        let more = [Some(vec![Some(Measured::count(150.0))])];
        let f = classify(&counts, &[input(InputKind::Tuned, 0.0)], &more);
        assert_eq!(f[0].class, Class::Calibrated);
        let f = classify(&counts, &[input(InputKind::Time, 50.0)], &more);
        assert_eq!(f[0].class, Class::Emergent);
        // Within 5 %: it does not move; a left-out run counts for nothing.
        let near = [Some(vec![Some(Measured::count(104.0))])];
        let f = classify(&counts, &[input(InputKind::Tuned, 0.0)], &near);
        assert_eq!((f[0].class, f[0].moves_with.len()), (Class::Emergent, 0));
        let f = classify(&counts, &[input(InputKind::Tuned, 0.0)], &[None]);
        assert_eq!(f[0].moves_with.len(), 0);
    }

    #[test]
    fn an_instant_moves_by_a_quarter_hour_whatever_its_distance_from_the_start() {
        // The flagship's D5 restore, 5 days 17:49 from the start: one more
        // broken cell moved it to 23:07, which 5 % of its value (6.9 h)
        // did not count as a move.
        let restored = 5.0 * 86_400.0 + 17.0 * 3_600.0 + 49.0 * 60.0;
        let base = [Some(Measured::instant(restored))];
        let later = [Some(vec![Some(Measured::instant(
            restored + 5.3 * 3_600.0,
        ))])];
        let f = classify(&base, &[input(InputKind::Tuned, 0.0)], &later);
        assert_eq!(f[0].class, Class::Calibrated, "{}", f[0].describe());
        assert_eq!(f[0].moves_with[0].change, "+318.0 min");
        // Ten minutes is no move; twenty is.
        for (delta_s, moves) in [(600.0, false), (1_200.0, true)] {
            let b = [Some(vec![Some(Measured::instant(restored + delta_s))])];
            let f = classify(&base, &[input(InputKind::Tuned, 0.0)], &b);
            assert_eq!(f[0].moves_with.len() == 1, moves, "{delta_s} s");
        }
        // A time input read back one for one scripts an instant too.
        let shifted = [Some(vec![Some(Measured::instant(restored + 3_600.0))])];
        let f = classify(&base, &[input(InputKind::Time, 3_600.0)], &shifted);
        assert_eq!(f[0].class, Class::Scripted);
    }

    #[test]
    fn perturbations_keep_integers_and_ratios_in_range() {
        assert_eq!(perturbed("count", &json!(1), 1.5), Some(json!(2)));
        assert_eq!(perturbed("count", &json!(1), 1.0 / 1.5), Some(json!(0)));
        assert_eq!(perturbed("count", &json!(18), 1.25), Some(json!(23)));
        assert_eq!(perturbed("count", &json!(18), 0.8), Some(json!(14)));
        assert_eq!(perturbed("misroute_ratio", &json!(0.8), 1.5), None);
        assert_eq!(
            perturbed("misroute_ratio", &json!(0.8), 0.5),
            Some(json!(0.4))
        );
        assert_eq!(
            perturbed("multiplier", &json!(80.5), 2.0),
            Some(json!(161.0))
        );
        assert_eq!(perturbed("x", &json!(0), 1.5), None);
        assert_eq!(perturbed("x", &json!(true), 1.5), None);
    }
}
