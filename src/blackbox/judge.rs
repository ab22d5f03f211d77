//! The verdict of a black-box run: the fleet tier's own checks on the
//! typed outcome, chosen for what a black box can answer.
//!
//! The question is "does *our* agent (and *our* script) hold?", so the
//! run is judged by the rules every agent must keep, written as the
//! scenario format's own expectations and checked by the same code
//! ([`Expectation::check`]):
//! - no invariant an agent or a script can break (`findings`, max 0, one
//!   per rule): I1 (no destructive step without a 200 whose tombstones
//!   name the pool), I2, I3, I4, the request rate and, for the version the
//!   scenario declares, I8's backoff, I11, I12; I13 for the script; I14
//!   (a restore undone by the agent's next 404);
//! - full convergence at the end (`not_converged_at_end`, max 0);
//! - every customer change carried out in time (`customer_changes`).
//!
//! Then the scenario's own expectations, where a black box can answer
//! them: those about the world around the agent (auth, changes, freeze,
//! rollout, surfaces, no loss before a time, restoration of an incident
//! that happened). Those that describe what the *model's* agent did
//! (losses counted for the full fleet, detection times, the findings the
//! historical agent makes, paired variants) are listed as not judged, with
//! the reason.

use crate::expect::{Expectation, ExpectationResult};
use crate::outcome::Outcome;

/// The rules every agent is held to, as expectations.
pub fn rules() -> Vec<(&'static str, Expectation)> {
    let parse = |v: serde_json::Value| -> Expectation {
        serde_json::from_value(v).expect("a valid built-in expectation")
    };
    let mut rules: Vec<(&'static str, Expectation)> = AGENT_RULES
        .iter()
        .map(|r| {
            (
                "black box: no invariant broken",
                parse(serde_json::json!({ "kind": "findings", "rule": r, "max": 0 })),
            )
        })
        .collect();
    rules.extend(vec![
        (
            "black box: every cluster converged at the end",
            parse(serde_json::json!({ "kind": "not_converged_at_end", "max": 0 })),
        ),
        (
            "black box: customer changes carried out in time",
            parse(serde_json::json!({ "kind": "customer_changes", "late_max": 0 })),
        ),
    ]);
    rules
}

/// The invariants an agent or a recovery script can break: destructive
/// steps (I1), blast radius (I2), protected pools (I3), generations (I4),
/// retries (I8), soft delete (I11), confirmation (I12), restores into a
/// broken route (I13), restores undone by the cause they recovered from
/// (I14). The others are the world's own (isolation I5,
/// freeze I6, bake I7, queue bounds I9): the scenario's expectations judge
/// those, where a black box answers them.
const AGENT_RULES: [&str; 9] = ["I1", "I2", "I3", "I4", "I8", "I11", "I12", "I13", "I14"];

/// Whether a black-box run can answer a scenario expectation: `Ok` or the
/// reason it cannot.
pub fn answerable(e: &Expectation, o: &Outcome) -> Result<(), &'static str> {
    use Expectation as E;
    match e {
        E::SurfaceUnavailableMinutes(_)
        | E::NoPoolLossBefore(_)
        | E::NotConvergedAtEnd(_)
        | E::AuthSuccessEveryHour(_)
        | E::AuthGoodAfter(_)
        | E::AutoscalerFlapsMax(_)
        | E::AuthRetryAmplification(_)
        | E::AuthFailures(_)
        | E::AuthSuccessDegraded(_)
        | E::FreezeHolds(_)
        | E::ChangesLeaked(_)
        | E::CustomerChanges(_)
        | E::Rollout(_) => Ok(()),
        E::RestoredBy(_) | E::RestoreHoursMax(_) => {
            if o.incidents.iter().any(|i| i.kind.is_pool()) {
                Ok(())
            } else {
                Err("no pool incident happened in this run: nothing to restore")
            }
        }
        E::ClustersLostPools(_)
        | E::MoreLossOn(_)
        | E::MoreLossInIncident(_)
        | E::IncidentClustersLost(_)
        | E::TimeToDetect(_) => {
            Err("it describes the damage the model's agent did to the whole fleet; the black-box rules judge yours")
        }
        E::Findings(_) => {
            Err("it counts the findings the model's agent makes; the black-box rule allows none")
        }
        E::AgentsInHoldMax(_) => Err("a process does not report a hold"),
        E::Paired(_) => Err("a paired expectation needs a variant run of the model"),
    }
}

/// The verdict: the rules, then the scenario's answerable expectations
/// (none when the run was `cut_short` of the scenario's end); and the
/// expectations not judged, each with its reason.
pub fn judge(
    scenario_expectations: &[Expectation],
    o: &Outcome,
    cut_short: bool,
) -> (Vec<ExpectationResult>, Vec<(String, &'static str)>) {
    let mut judged = Vec::new();
    for (name, e) in rules() {
        let mut r = e.check(o, None);
        r.name = format!("{name} ({})", r.name);
        judged.push(r);
    }
    let mut skipped = Vec::new();
    for e in scenario_expectations {
        if cut_short {
            // `--for` ended the run before the scenario: its expectations
            // may speak of later times.
            skipped.push((
                e.kind_name(),
                "the run ends before the scenario does (--for)",
            ));
            continue;
        }
        match answerable(e, o) {
            Ok(()) => judged.push(e.check(o, None)),
            Err(why) => skipped.push((e.kind_name(), why)),
        }
    }
    (judged, skipped)
}
