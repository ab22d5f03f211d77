//! The response playbook's figures the world once hard-coded (how many
//! lost clusters a diagnosis probes, when a restored cluster's agent is
//! restarted) are scenario parameters now: each reaches the run and moves
//! it the way first principles say, measured against the same run with the
//! default.

use cascade::outcome::Outcome;
use cascade::run::{run_scenario, RunOptions};
use cascade::scenario::{load_with, Override};
use serde_json::{json, Value};
use std::path::Path;

/// The recovery-script counterfactual, with `model.response.KEY = value`
/// when given.
fn recovery_script(set: Option<(&str, Value)>) -> Outcome {
    let overrides: Vec<Override> = set
        .into_iter()
        .map(|(key, value)| Override {
            key: format!("model.response.{key}"),
            value,
        })
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/counterfactuals/recovery-script.json");
    let sc = load_with(&path, &overrides).expect("the counterfactual loads");
    run_scenario(&sc, RunOptions::default()).outcome
}

#[test]
fn a_diagnosis_that_probes_no_lost_cluster_leaves_the_script_blind() {
    // Dead agents leave no fresh 404s in the edge's log: without probes
    // the diagnosis sees no broken route, and the script's preflight and
    // restores never finish the job.
    let default = recovery_script(None);
    let blind = recovery_script(Some(("probes_per_diagnosis", json!(0))));
    assert_eq!(default.clusters_not_converged_at_end, 0);
    assert_eq!(blind.clusters_not_converged_at_end, 1095);
}

#[test]
fn a_later_agent_restart_keeps_clusters_down_longer() {
    let default = recovery_script(None);
    let late = recovery_script(Some(("restore_agent_restart_s", json!(7_200.0))));
    assert!(
        late.down_cluster_hours > default.down_cluster_hours,
        "{} vs {}",
        late.down_cluster_hours,
        default.down_cluster_hours
    );
    assert_eq!(
        (default.down_cluster_hours * 60.0).round() as u64,
        130_489,
        "the default's down cluster-minutes"
    );
}
