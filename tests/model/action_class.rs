//! Every timeline action has one class, `Action::class`, the one answer to
//! "is this a fault?" that the report (a fault with a duration is drawn as
//! a band) and chaos (what a profile may generate, when the last thing
//! acting on the fleet ends) ask. A new action kind fails the first test
//! until it is classified here.

use cascade::chaos::generate::DrawnFault;
use cascade::chaos::profile::FaultKind;
use cascade::timeline::{Action, ActionClass};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One action of every kind, as a scenario file writes it, with its class.
fn every_kind() -> Vec<(Value, ActionClass)> {
    use ActionClass::*;
    vec![
        (json!({"kind": "vendor_path", "state": "blackholed"}), Fault),
        (json!({"kind": "bot_surge", "multiplier": 3.0}), Fault),
        (
            json!({"kind": "bot_wave", "shape": "sine", "multiplier": 3.0, "period_s": 600.0}),
            Fault,
        ),
        (
            json!({"kind": "auth_mitigation", "rate_limit": true}),
            Response,
        ),
        (json!({"kind": "replica_crash", "count": 2}), Fault),
        (
            json!({"kind": "change", "change_id": "c", "target": "staging", "applied_via": "prod"}),
            Fault,
        ),
        (json!({"kind": "edge_fix"}), Response),
        (json!({"kind": "freeze"}), Freeze),
        (json!({"kind": "isolation", "on": true}), Response),
        (
            json!({"kind": "pool_loss_alert", "enabled": true}),
            Response,
        ),
        (json!({"kind": "fix_available"}), Release),
        (json!({"kind": "rollout"}), Release),
        (json!({"kind": "engineers", "count": 4}), Response),
        (
            json!({"kind": "restore_with", "method": "script"}),
            Response,
        ),
        (
            json!({"kind": "service_faults", "server_error_ratio": 0.5}),
            Fault,
        ),
        (
            json!({"kind": "cloud_faults", "create_failure_ratio": 0.1}),
            Fault,
        ),
        (json!({"kind": "vendor_slowdown", "factor": 4.0}), Fault),
        (json!({"kind": "vendor_429_storm"}), Fault),
        (
            json!({"kind": "partial_desired_state", "ratio": 0.1}),
            Fault,
        ),
        (json!({"kind": "cloud_latency", "factor": 3.0}), Fault),
        (
            json!({"kind": "cloud_rate_limit", "calls_per_s": 2.0}),
            Fault,
        ),
        (json!({"kind": "operator_delay", "factor": 2.0}), Fault),
        (json!({"kind": "rollout_alarm"}), Fault),
        (json!({"kind": "agent_crash", "ratio": 0.1}), Fault),
        (json!({"kind": "listing_lag", "lag_s": 30.0}), Fault),
        (json!({"kind": "bad_release", "defect": "slow_leak"}), Fault),
        (json!({"kind": "note"}), Marker),
        (json!({"kind": "healed"}), Marker),
    ]
}

/// Every action kind the scenario schema knows (each variant's `kind`).
fn kinds_in_schema() -> BTreeSet<String> {
    let schema = serde_json::to_value(schemars::schema_for!(Action)).unwrap();
    let mut kinds = BTreeSet::new();
    for variant in schema["oneOf"].as_array().expect("Action is a oneOf") {
        let kind = &variant["properties"]["kind"];
        let name = kind["const"]
            .as_str()
            .or_else(|| kind["enum"][0].as_str())
            .expect("each variant names its kind");
        kinds.insert(name.to_string());
    }
    kinds
}

#[test]
fn every_action_kind_has_its_class() {
    let mut listed = BTreeSet::new();
    for (doc, class) in every_kind() {
        let action: Action = serde_json::from_value(doc.clone()).expect("a valid action");
        assert_eq!(action.class(), class, "{doc}");
        listed.insert(action.kind_name().to_string());
    }
    assert_eq!(
        listed,
        kinds_in_schema(),
        "every action kind is listed here with its class"
    );
}

#[test]
fn every_fault_a_chaos_profile_generates_is_a_fault() {
    for (n, kind) in FaultKind::ALL.into_iter().enumerate() {
        let drawn = DrawnFault {
            kind,
            start_s: 3_600,
            duration_s: 1_800,
            magnitude: 0.5,
        };
        let action = drawn.action(n);
        assert_eq!(
            action.class(),
            ActionClass::Fault,
            "{} draws {}",
            kind.name(),
            action.kind_name()
        );
    }
}

#[test]
fn only_freezes_and_markers_leave_the_fleet_alone() {
    for (doc, class) in every_kind() {
        let action: Action = serde_json::from_value(doc).unwrap();
        assert_eq!(
            class.acts_on_the_fleet(),
            !matches!(action, Action::Freeze | Action::Note | Action::Healed),
            "{}",
            action.kind_name()
        );
    }
}

/// The world counts only faults as faults: two lasting faults that overlap
/// reach `faults_overlapping`; a fault overlapped by a lasting freeze (not
/// a fault) does not.
#[test]
fn the_world_counts_a_lasting_freeze_as_no_fault() {
    let run = |second: &str| {
        let text = format!(
            r#"{{
            "name": "fault-count", "seed": 3,
            "start": "2025-03-18T00:00:00Z", "end": "2025-03-18T06:00:00Z",
            "model": {{ "fleet": {{ "clusters": 20 }} }},
            "timeline": [
                {{ "id": "A", "at": "D0 01:00", "for": "2h",
                   "do": {{ "kind": "bot_surge", "multiplier": 3.0 }} }},
                {{ "id": "B", "at": "D0 02:00", "for": "2h", "do": {second} }}
            ]
        }}"#
        );
        let sc = cascade::scenario::load_str(std::path::Path::new("fault-count.json"), &text)
            .expect("the scenario loads");
        let o = cascade::run::run_scenario(&sc, cascade::run::RunOptions::default()).outcome;
        o.coverage.get("faults_overlapping").copied().unwrap_or(0)
    };
    assert_eq!(run(r#"{ "kind": "bot_surge", "multiplier": 2.0 }"#), 1);
    assert_eq!(run(r#"{ "kind": "freeze" }"#), 0);
}
