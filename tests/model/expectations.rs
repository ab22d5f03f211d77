//! Expectations are checked at load like model fields: every numeric field
//! within its range, every pair of bounds in order, so that an expectation
//! no run could meet is refused with its file, its path and what was
//! expected, instead of `cascade check` saying `ok`.

use cascade::scenario::{from_document, ScenarioError};
use serde_json::{json, Value};
use std::path::Path;

fn scenario(expect: Value) -> Value {
    json!({
        "name": "expectations",
        "seed": 1,
        "start": "2025-03-18T00:00:00Z",
        "end": "2025-03-20T00:00:00Z",
        "timeline": [{"id": "E1", "at": "+1h", "for": "1h",
                      "do": {"kind": "vendor_path", "state": "blackholed"}}],
        "expect": [expect],
    })
}

fn load(expect: Value) -> Result<(), ScenarioError> {
    from_document(Path::new("scenarios/test.json"), scenario(expect)).map(|_| ())
}

/// The refusal as `expect[0].field: expected …`: the loader names the
/// expectation in the path, and the field either in the path too or at
/// the start of the message.
fn refusal(expect: Value) -> String {
    let e = load(expect.clone()).expect_err(&format!("{expect} should be refused"));
    assert_eq!(e.file, Path::new("scenarios/test.json"));
    assert!(e.path.starts_with("expect[0]"), "{e}");
    match e.message.split_once(": ") {
        Some((field, rest)) if e.path == "expect[0]" && !field.contains(' ') => {
            format!("expect[0].{field}: {rest}")
        }
        _ => format!("{}: {}", e.path, e.message),
    }
}

#[test]
fn the_issue_cases_are_refused_with_the_field_and_the_range() {
    // Seen failing: each of these loaded (`cascade check` said ok).
    let cases = [
        (
            json!({"kind": "time_to_detect", "incident": 1, "min_s": 600, "max_s": 300}),
            "expect[0].min_s: expected at most max_s, found 600 (max_s is 300)",
        ),
        (
            json!({"kind": "auth_success_every_hour", "date": "2025-03-18", "min": 0.99, "from_hour": 25}),
            "expect[0].from_hour: expected 0 to 23, found 25",
        ),
        (
            json!({"kind": "auth_success_every_hour", "date": "2025-03-18", "min": 1.5}),
            "expect[0].min: expected a fraction in [0, 1], found 1.5",
        ),
        (
            json!({"kind": "restore_hours_max", "incident": 1, "max_h": -1}),
            "expect[0].max_h: expected 0 to 366 days (8,784), found -1",
        ),
    ];
    for (expect, wanted) in cases {
        assert_eq!(refusal(expect), wanted);
    }
}

#[test]
fn every_kind_holds_its_numbers_to_a_range() {
    let cases = [
        (
            json!({"kind": "surface_unavailable_minutes", "date": "2025-03-18", "min": 0, "max": 2000}),
            "expect[0].max: expected 0 to a day's minutes (1,440), found 2000",
        ),
        (
            json!({"kind": "surface_unavailable_minutes", "date": "2025-03-18", "min": -1, "max": 10}),
            "expect[0].min: expected 0 to a day's minutes (1,440), found -1",
        ),
        (
            json!({"kind": "clusters_lost_pools", "min": 0, "max": 2_000_000}),
            "expect[0].max: expected 0 to the largest fleet (1,000,000), found 2000000",
        ),
        (
            json!({"kind": "not_converged_at_end", "max": 2_000_000}),
            "expect[0].max: expected 0 to the largest fleet (1,000,000), found 2000000",
        ),
        (
            json!({"kind": "agents_in_hold_max", "max": 2_000_000}),
            "expect[0].max: expected 0 to the largest fleet (1,000,000), found 2000000",
        ),
        (
            json!({"kind": "incident_clusters_lost", "incident": 1, "min": 0, "max": 2_000_000}),
            "expect[0].max: expected 0 to the largest fleet (1,000,000), found 2000000",
        ),
        (
            json!({"kind": "rollout", "upgraded_max": 2_000_000}),
            "expect[0].upgraded_max: expected 0 to the largest fleet (1,000,000), found 2000000",
        ),
        (
            json!({"kind": "auth_success_every_hour", "date": "2025-03-18", "min": 0.9, "to_hour": 24}),
            "expect[0].to_hour: expected 0 to 23, found 24",
        ),
        (
            json!({"kind": "auth_success_degraded", "date": "2025-03-18", "below": 2, "hours_min": 1}),
            "expect[0].below: expected a fraction in [0, 1], found 2",
        ),
        (
            json!({"kind": "auth_success_degraded", "date": "2025-03-18", "below": 0.9, "hours_min": 25}),
            "expect[0].hours_min: expected 0 to 24, found 25",
        ),
        (
            json!({"kind": "autoscaler_flaps_max", "max": 4000}),
            "expect[0].max: expected at most one a second (3,600), found 4000",
        ),
        (
            json!({"kind": "auth_retry_amplification", "min": 0.5, "max": 2}),
            "expect[0].min: expected 1 to the most attempts a request makes (8), found 0.5",
        ),
        (
            json!({"kind": "auth_retry_amplification", "min": 1, "max": 20}),
            "expect[0].max: expected 1 to the most attempts a request makes (8), found 20",
        ),
        (
            json!({"kind": "auth_failures", "cause": "saturation", "share_max": 1.5}),
            "expect[0].share_max: expected a fraction in [0, 1], found 1.5",
        ),
        (
            json!({"kind": "time_to_detect", "incident": 1, "min_s": -5, "max_s": 300}),
            "expect[0].min_s: expected 0 to 366 days (31,622,400), found -5",
        ),
        (
            json!({"kind": "time_to_detect", "incident": 1, "min_s": 0, "max_s": 1e300}),
            "expect[0].max_s: expected 0 to 366 days (31,622,400), found 1e300",
        ),
        (
            json!({"kind": "customer_changes", "late_max": 2_000_000}),
            "expect[0].late_max: expected at most the changes a run books (1,000,000), found 2000000",
        ),
        (
            json!({"kind": "customer_changes", "issued_min": 2_000_000}),
            "expect[0].issued_min: expected at most the changes a run books (1,000,000), found 2000000",
        ),
    ];
    for (expect, wanted) in cases {
        assert_eq!(refusal(expect), wanted);
    }
}

#[test]
fn every_pair_of_bounds_is_in_order() {
    let cases = [
        (
            json!({"kind": "surface_unavailable_minutes", "date": "2025-03-18", "min": 20, "max": 10}),
            "expect[0].min: expected at most max, found 20 (max is 10)",
        ),
        (
            json!({"kind": "clusters_lost_pools", "min": 5, "max": 3}),
            "expect[0].min: expected at most max, found 5 (max is 3)",
        ),
        (
            json!({"kind": "not_converged_at_end", "min": 5, "max": 3}),
            "expect[0].min: expected at most max, found 5 (max is 3)",
        ),
        (
            json!({"kind": "incident_clusters_lost", "incident": 1, "min": 5, "max": 3}),
            "expect[0].min: expected at most max, found 5 (max is 3)",
        ),
        (
            json!({"kind": "findings", "min": 5, "max": 3}),
            "expect[0].min: expected at most max, found 5 (max is 3)",
        ),
        (
            json!({"kind": "changes_leaked", "min": 2, "max": 1}),
            "expect[0].min: expected at most max, found 2 (max is 1)",
        ),
        (
            json!({"kind": "auth_retry_amplification", "min": 2, "max": 1.5}),
            "expect[0].min: expected at most max, found 2 (max is 1.5)",
        ),
        (
            json!({"kind": "auth_failures", "cause": "saturation", "min": 10, "max": 3}),
            "expect[0].min: expected at most max, found 10 (max is 3)",
        ),
        (
            json!({"kind": "auth_failures", "cause": "saturation", "share_min": 0.8, "share_max": 0.5}),
            "expect[0].share_min: expected at most share_max, found 0.8 (share_max is 0.5)",
        ),
        (
            json!({"kind": "rollout", "upgraded_min": 30, "upgraded_max": 20}),
            "expect[0].upgraded_min: expected at most upgraded_max, found 30 (upgraded_max is 20)",
        ),
        (
            json!({"kind": "auth_success_every_hour", "date": "2025-03-18", "min": 0.9, "from_hour": 20, "to_hour": 18}),
            "expect[0].from_hour: expected at most to_hour, found 20 (to_hour is 18)",
        ),
        (
            json!({"kind": "time_to_detect", "incident": {"began_after": "2025-03-19T00:00Z", "began_before": "2025-03-18T00:00Z"}, "min_s": 0, "max_s": 300}),
            "expect[0].incident.began_before: expected after began_after (2025-03-19T00:00Z), found 2025-03-18T00:00Z",
        ),
        (
            json!({"kind": "more_loss_on", "date": "2025-03-18", "than": "2025-03-18"}),
            "expect[0].than: expected a date other than `date`, found 2025-03-18",
        ),
        (
            json!({"kind": "more_loss_in_incident", "incident": 2, "than": 2}),
            "expect[0].than: expected an incident other than `incident`, found incident 2",
        ),
    ];
    for (expect, wanted) in cases {
        assert_eq!(refusal(expect), wanted);
    }
    // Without `to_hour` the hours run to 23: from 23 is a window of one hour.
    assert_eq!(
        load(
            json!({"kind": "auth_success_every_hour", "date": "2025-03-18", "min": 0.9, "from_hour": 23})
        ),
        Ok(())
    );
}

#[test]
fn incident_selectors_are_checked_wherever_they_are() {
    let variant = json!({"model.fleet.clusters": 10});
    let cases = [
        (
            json!({"kind": "time_to_detect", "incident": 0, "min_s": 0, "max_s": 300}),
            "expect[0].incident: expected 1 to the most incidents a run opens (10,000), found 0",
        ),
        (
            json!({"kind": "incident_clusters_lost", "incident": 20000, "min": 0, "max": 3}),
            "expect[0].incident: expected 1 to the most incidents a run opens (10,000), found 20000",
        ),
        (
            json!({"kind": "more_loss_in_incident", "incident": 1, "than": 0}),
            "expect[0].than: expected 1 to the most incidents a run opens (10,000), found 0",
        ),
        (
            json!({"kind": "paired", "variant": "v", "set": variant, "metric": "restore_hours",
                   "incident": 0, "less_by_min": 1}),
            "expect[0].incident: expected 1 to the most incidents a run opens (10,000), found 0",
        ),
        (
            json!({"kind": "paired", "variant": "v", "set": variant, "metric": "clusters_lost",
                   "ratio_max": 1500}),
            "expect[0].ratio_max: expected 0 to 1,000, found 1500",
        ),
        (
            json!({"kind": "paired", "variant": "v", "set": variant, "metric": "clusters_lost",
                   "less_by_min": -1}),
            "expect[0].less_by_min: expected 0 to the largest fleet (1,000,000), found -1",
        ),
        (
            json!({"kind": "paired", "variant": "v", "set": variant, "metric": "restore_hours",
                   "incident": 1, "less_by_min": 9000}),
            "expect[0].less_by_min: expected 0 to 366 days (8,784), found 9000",
        ),
        (
            json!({"kind": "paired", "variant": "v", "set": variant, "metric": "converge_p99_s",
                   "incident": 1, "less_by_min": 4e7}),
            "expect[0].less_by_min: expected 0 to 366 days (31,622,400), found 40000000",
        ),
    ];
    for (expect, wanted) in cases {
        assert_eq!(refusal(expect), wanted);
    }
}

#[test]
fn bounds_at_their_limits_load() {
    let variant = json!({"model.fleet.clusters": 10});
    for expect in [
        json!({"kind": "surface_unavailable_minutes", "date": "2025-03-18", "min": 0, "max": 1440}),
        json!({"kind": "clusters_lost_pools", "min": 1_000_000, "max": 1_000_000}),
        json!({"kind": "auth_success_every_hour", "date": "2025-03-18", "min": 1, "from_hour": 0, "to_hour": 23}),
        json!({"kind": "auth_success_degraded", "date": "2025-03-18", "below": 0, "hours_min": 24}),
        json!({"kind": "auth_retry_amplification", "min": 1, "max": 8}),
        json!({"kind": "auth_failures", "cause": "saturation", "min": 0, "share_min": 1, "share_max": 1}),
        json!({"kind": "time_to_detect", "incident": 10_000, "min_s": 0, "max_s": 31_622_400}),
        json!({"kind": "restore_hours_max", "incident": 1, "max_h": 8784}),
        json!({"kind": "autoscaler_flaps_max", "max": 3600}),
        json!({"kind": "findings", "min": 0, "max": u64::MAX}),
        json!({"kind": "customer_changes", "late_max": 1_000_000, "issued_min": 1_000_000}),
        json!({"kind": "paired", "variant": "v", "set": variant, "metric": "clusters_lost",
               "less_by_min": 0, "ratio_max": 1}),
    ] {
        assert_eq!(load(expect.clone()), Ok(()), "{expect}");
    }
}

#[test]
fn the_longest_time_an_expectation_states_is_the_longest_scenario() {
    // The time bounds (366 days) are the loader's longest span: one day
    // more is refused, so no run measures a longer time.
    let mut doc = scenario(json!({"kind": "findings", "max": 0}));
    doc["end"] = json!("2026-03-19T00:00:00Z");
    assert!(from_document(Path::new("scenarios/test.json"), doc.clone()).is_ok());
    doc["end"] = json!("2026-03-20T00:00:00Z");
    let e = from_document(Path::new("scenarios/test.json"), doc).unwrap_err();
    assert_eq!(e.path, "end");
}
