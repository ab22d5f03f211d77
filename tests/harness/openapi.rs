//! The committed OpenAPI document (`docs/openapi.json`): it is what
//! `cascade schema --openapi` prints today, it names every path the
//! servers' path helpers build, and it holds together (references resolve,
//! every operation has answers, the version is 3.1.x).

use cascade::plant::cloud::CloudCall;
use cascade::protocol::{PoolName, PoolState, POOLS};
use cascade::wire::api::{self, NodePoolsDoc, PoolStateDoc};
use cascade::wire::openapi::{self, document};
use serde_json::Value;
use std::process::Command;

const COMMITTED: &str = "docs/openapi.json";
const REGENERATE: &str = "cargo run --release -- schema --openapi --out docs/openapi.json";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

#[test]
fn the_committed_document_is_what_cascade_schema_openapi_prints() {
    let out = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["schema", "--openapi"])
        .output()
        .expect("cascade runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    let committed = std::fs::read_to_string(COMMITTED).expect("docs/openapi.json is committed");
    assert!(
        printed == committed,
        "{COMMITTED} is stale (it differs from `cascade schema --openapi`): run `{REGENERATE}`"
    );
    assert!(printed.ends_with("}\n"), "one final newline");
    let parsed: Value = serde_json::from_str(&committed).expect("JSON");
    assert_eq!(
        parsed,
        document(),
        "{COMMITTED} is stale: run `{REGENERATE}`"
    );
}

/// Whether a concrete path matches a templated one (`{x}` takes any one
/// segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

/// Every method and concrete path the servers and the agent driver use, as
/// the helpers of `wire::api` build them, and the admin paths.
fn served() -> Vec<(String, String)> {
    let mut out = vec![
        ("get".to_string(), api::desired_state_path(17)),
        ("get".to_string(), api::node_pools_path(17)),
    ];
    for i in 0..POOLS {
        for call in [
            CloudCall::Create { nodes: 3 },
            CloudCall::ScaleToZero,
            CloudCall::Delete,
        ] {
            let (method, path) = api::cloud_call_route(17, PoolName::from_index(i), call);
            out.push((method.to_ascii_lowercase(), path));
        }
    }
    for (method, path) in [
        ("get", openapi::ADMIN_ROUTING_PATH),
        ("put", openapi::ADMIN_ROUTING_PATH),
        ("post", openapi::ADMIN_ROUTING_FIX_PATH),
        ("put", openapi::ADMIN_FAULTS_PATH),
        ("get", openapi::ADMIN_STATUS_PATH),
    ] {
        out.push((method.to_string(), path.to_string()));
    }
    out
}

/// Every `(method, templated path)` the document describes.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn every_path_the_helpers_build_is_documented_and_nothing_else() {
    let doc = document();
    let ops = operations(&doc);
    let served = served();
    for (method, path) in &served {
        assert!(
            ops.iter().any(|(m, t, _)| m == method && matches(t, path)),
            "{} {path} is served but not in the document",
            method.to_uppercase()
        );
    }
    for (method, template, _) in &ops {
        assert!(
            served
                .iter()
                .any(|(m, p)| m == method && matches(template, p)),
            "{} {template} is documented but no helper builds it",
            method.to_uppercase()
        );
    }
    assert_eq!(ops.len(), 10, "operations: {ops:?}");
    // The templating keeps a concrete id out of the paths.
    assert!(doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .all(|p| !p.contains(&u32::MAX.to_string())));
}

/// Every `$ref` in `v`, with where it sits.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                match (k.as_str(), item) {
                    ("$ref", Value::String(r)) => out.push((at.to_string(), r.clone())),
                    _ => refs(item, &format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                refs(item, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Where a local `$ref` points, if it resolves.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

#[test]
fn every_reference_resolves_within_the_document() {
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(found.len() > 20, "references: {}", found.len());
    for (at, reference) in &found {
        assert!(
            resolve(&doc, reference).is_some(),
            "{at}: {reference} resolves to nothing"
        );
    }
    // Each wire document the servers exchange is a component.
    for name in [
        "DesiredStateDoc",
        "DesiredPoolDoc",
        "NodePoolsDoc",
        "PoolStateDoc",
        "CreatePoolDoc",
        "AcceptedDoc",
        "ErrorDoc",
        "RoutingDoc",
        "RoutingVersionDoc",
        "FixDoc",
        "FaultsDoc",
        "StatusDoc",
    ] {
        let schema = &doc["components"]["schemas"][name];
        assert_eq!(
            schema["additionalProperties"], false,
            "{name}: a component refusing unknown fields"
        );
    }
}

#[test]
fn the_version_is_3_1_and_every_operation_has_answers_and_a_token() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path}: no responses");
        for (status, answer) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{method} {path}: status {status}"
            );
            assert!(
                answer.get("$ref").is_some() || answer.get("description").is_some(),
                "{method} {path} {status}: a response needs a description"
            );
        }
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: no success answer"
        );
        if path == "/admin/status" {
            // The one open endpoint: the black-box run's clock, on loopback.
            assert_eq!(op["security"], serde_json::json!([]), "{path}");
            assert!(!responses.contains_key("401"), "{path}: open, no 401");
        } else {
            assert!(
                responses.contains_key("401"),
                "{method} {path}: every endpoint checks a token"
            );
            assert!(
                op["security"].as_array().is_some_and(|s| !s.is_empty()),
                "{method} {path}: no bearer token named"
            );
        }
        assert!(op["operationId"].is_string(), "{method} {path}");
    }
    let answers_429 = |path: &str, method: &str| {
        doc["paths"][path][method]["responses"]["429"]["$ref"]
            == "#/components/responses/TooManyRequests"
    };
    assert!(answers_429("/v1/clusters/{id}/desired-state", "get"));
    assert!(answers_429("/v1/clusters/{id}/node-pools/{pool}", "delete"));
    assert!(doc
        .pointer("/components/responses/TooManyRequests/headers/Retry-After")
        .is_some());
}

#[test]
fn the_closed_sets_the_document_states_are_the_ones_the_parsers_take() {
    let doc = document();
    let strings = |pointer: &str| -> Vec<String> {
        doc.pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{pointer}: an enum"))
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect()
    };
    let names = strings("/components/schemas/PoolStateDoc/properties/name/enum");
    assert_eq!(names.len(), POOLS);
    for name in &names {
        assert!(api::parse_pool(name).is_some(), "{name}");
    }
    assert_eq!(
        names,
        strings("/components/parameters/PoolName/schema/enum")
    );
    let states = strings("/components/schemas/PoolStateDoc/properties/state/enum");
    let list = |state: &str| NodePoolsDoc {
        cluster: 0,
        pools: vec![PoolStateDoc {
            name: "system".into(),
            state: state.into(),
            nodes: 0,
        }],
    };
    for state in &states {
        assert!(list(state).to_pools().is_ok(), "{state} is refused");
    }
    assert!(list("gone").to_pools().is_err());
    // And every state the servers write is listed.
    for state in [
        PoolState::Absent,
        PoolState::Creating,
        PoolState::Present { nodes: 3 },
        PoolState::Deleting,
    ] {
        let written = NodePoolsDoc::from_pools(0, &[state; POOLS]).pools[0]
            .state
            .clone();
        assert!(states.contains(&written), "{written} is not listed");
    }
}
