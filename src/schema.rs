//! The JSON Schemas of the input formats (`cascade schema`): scenario files
//! and chaos profiles.
//!
//! The structure (fields, types, defaults, descriptions, closed sets,
//! unknown keys refused) is derived with `schemars` from the very types
//! the loaders deserialize. The valid range of each numeric model field,
//! timeline action field and expectation field is read off the loader
//! itself: the field is set far below and far above its default (or an
//! example value) in a probe scenario, and the loader's own "expected …"
//! words are written into the field's description (`Valid: 0.1 to
//! one day (86,400).`). So the schema states exactly what loading enforces, and a
//! field that nothing checks shows up as one (`fields_without_a_range`).

use crate::chaos::profile::FaultKind;
use crate::config::ModelConfig;
use crate::scenario;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The schema of scenario files, with the valid range of each model
/// field, timeline action field and expectation field.
pub fn scenario_schema() -> Value {
    let mut schema = scenario::json_schema();
    for field in model_fields() {
        if let Some(node) = schema_node(&mut schema, &field.path) {
            annotate(node, field.valid.as_deref());
        }
    }
    let actions: Vec<(Vec<String>, Option<String>)> = action_fields(&schema)
        .into_iter()
        .map(|f| (f.path, f.valid))
        .collect();
    annotate_variants(&mut schema, "/$defs/Action/oneOf", actions);
    // A count's upper bound that no check limits (`findings.max`) may be
    // any count: every value is a bound some run meets.
    let expectations: Vec<(Vec<String>, Option<String>)> = expectation_fields(&schema)
        .into_iter()
        .map(|f| {
            let open = (f.valid.is_none() && !f.float).then(|| OPEN_COUNT.to_string());
            (f.path, f.valid.or(open))
        })
        .collect();
    annotate_variants(&mut schema, "/$defs/Expectation/oneOf", expectations);
    schema
}

/// Annotates the fields of a tagged enum's variants (`pointer` names its
/// `oneOf`): each `(path, valid)` is `[kind, field]` and its range.
fn annotate_variants(
    schema: &mut Value,
    pointer: &str,
    fields: Vec<(Vec<String>, Option<String>)>,
) {
    let variants = schema
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .expect("a tagged enum");
    for (path, valid) in fields {
        let node = variants
            .iter_mut()
            .find(|v| variant_kind(v) == Some(path[0].as_str()))
            .and_then(|v| v.get_mut("properties")?.get_mut(&path[1])?.as_object_mut());
        if let Some(node) = node {
            annotate(node, valid.as_deref());
        }
    }
}

/// How the schema states the range of a count that has no upper bound.
const OPEN_COUNT: &str = "any count from 0 (no upper bound)";

/// Ends a field's description with its valid range (once: a type used at
/// two places is one definition).
fn annotate(node: &mut Map<String, Value>, valid: Option<&str>) {
    let text = match valid {
        Some(v) => format!("Valid: {v}."),
        None => "Valid: any value of its type (not range-checked).".to_string(),
    };
    let description = node
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !description.contains("Valid: ") {
        let joined = if description.is_empty() {
            text
        } else {
            format!("{description} {text}")
        };
        node.insert("description".into(), Value::from(joined));
    }
}

/// The `kind` a variant of the tagged `Action` schema stands for.
fn variant_kind(variant: &Value) -> Option<&str> {
    variant.pointer("/properties/kind/const")?.as_str()
}

/// Every numeric field of every timeline action, `[kind, field]`, with its
/// valid range: each action kind is built from its schema (required
/// fields at a first valid value), placed alone in a probe scenario, and
/// each numeric field set far out of range as for the model.
pub fn action_fields(schema: &Value) -> Vec<ModelField> {
    let mut out = Vec::new();
    let Some(variants) = schema
        .pointer("/$defs/Action/oneOf")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for variant in variants {
        let Some(kind) = variant_kind(variant) else {
            continue;
        };
        let Some(props) = variant.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let required: Vec<&str> = variant
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut action = Map::new();
        for (name, prop) in props {
            if name == "kind" {
                action.insert(name.clone(), Value::from(kind));
            } else if required.contains(&name.as_str()) {
                action.insert(name.clone(), example_value(schema, prop));
            }
        }
        for (name, prop) in props {
            let probes = match prop.get("type").and_then(Value::as_str) {
                Some("number") => probe_values(true),
                Some("integer") => probe_values(false),
                _ => continue,
            };
            let mut valid: Vec<String> = Vec::new();
            for probe in probes {
                let mut probed = action.clone();
                probed.insert(name.clone(), probe);
                let item = json!({
                    "id": "probe",
                    "at": "2025-03-18T01:00:00Z",
                    "for": "1h",
                    "do": probed,
                });
                let doc = json!({
                    "name": "schema-probe",
                    "seed": 1,
                    "start": "2025-03-18T00:00:00Z",
                    "end": "2025-03-19T00:00:00Z",
                    "timeline": [item],
                });
                if let Some(words) = refusal_words(doc, "timeline[0].do", name) {
                    if !valid.contains(&words) {
                        valid.push(words);
                    }
                }
            }
            out.push(ModelField {
                path: vec![kind.to_string(), name.clone()],
                valid: (!valid.is_empty()).then(|| valid.join("; ")),
            });
        }
    }
    out
}

/// A numeric field of an expectation kind and the range the loader holds
/// it to.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectationField {
    /// `[kind, field]`: `["time_to_detect", "max_s"]`.
    pub path: Vec<String>,
    /// A float (else an integer, or an incident number).
    pub float: bool,
    /// The loader's words for the valid values, or `None` when values far
    /// below and far above both load.
    pub valid: Option<String>,
}

/// Each expectation kind of `schema` with every field at an example value
/// (`date` left out where an `incident` selects instead): an expectation
/// that loads, from which each probe changes one field.
pub fn expectation_examples(schema: &Value) -> Vec<(String, Map<String, Value>)> {
    let Some(variants) = schema
        .pointer("/$defs/Expectation/oneOf")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for variant in variants {
        let Some(kind) = variant_kind(variant) else {
            continue;
        };
        let Some(props) = variant.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let mut example = Map::new();
        for (name, prop) in props {
            if name == "kind" {
                example.insert(name.clone(), Value::from(kind));
            } else if !(name == "date" && props.contains_key("incident")) {
                example.insert(name.clone(), expectation_example(schema, name, prop));
            }
        }
        out.push((kind.to_string(), example));
    }
    out
}

/// A scenario that holds one expectation, for probing the loader.
fn expectation_probe(expectation: Map<String, Value>) -> Value {
    json!({
        "name": "schema-probe",
        "seed": 1,
        "start": "2025-03-18T00:00:00Z",
        "end": "2025-03-19T00:00:00Z",
        "expect": [expectation],
    })
}

/// Every numeric field of every expectation kind (incident numbers
/// included) with its valid range: each kind's example with the field set
/// far out of range, as for the model.
pub fn expectation_fields(schema: &Value) -> Vec<ExpectationField> {
    let mut out = Vec::new();
    let variants = schema
        .pointer("/$defs/Expectation/oneOf")
        .and_then(Value::as_array);
    for (kind, example) in expectation_examples(schema) {
        let Some(props) = variants
            .and_then(|vs| vs.iter().find(|v| variant_kind(v) == Some(kind.as_str())))
            .and_then(|v| v.get("properties"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (name, prop) in props {
            let Some(float) = numeric_field(schema, prop) else {
                continue;
            };
            let mut valid: Vec<String> = Vec::new();
            for probe in probe_values(float) {
                let mut probed = example.clone();
                probed.insert(name.clone(), probe);
                if let Some(words) = refusal_words(expectation_probe(probed), "expect[0]", name) {
                    if !valid.contains(&words) {
                        valid.push(words);
                    }
                }
            }
            out.push(ExpectationField {
                path: vec![kind.clone(), name.clone()],
                float,
                valid: (!valid.is_empty()).then(|| valid.join("; ")),
            });
        }
    }
    out
}

/// Whether an expectation's field is numeric: `Some(true)` for a float,
/// `Some(false)` for an integer or a selector that may be one (an
/// incident number).
fn numeric_field(schema: &Value, prop: &Value) -> Option<bool> {
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"number") {
        return Some(true);
    }
    if types.contains(&"integer") {
        return Some(false);
    }
    let def = referenced(schema, prop)?;
    let integer_form = def
        .get("anyOf")
        .or_else(|| def.get("oneOf"))
        .and_then(Value::as_array)?
        .iter()
        .any(|alt| alt.get("type").and_then(Value::as_str) == Some("integer"));
    integer_form.then_some(false)
}

/// The definition a property refers to, directly or as the first choice of
/// an `anyOf` (an optional field).
fn referenced<'a>(schema: &'a Value, prop: &Value) -> Option<&'a Value> {
    let reference = prop
        .get("$ref")
        .or_else(|| prop.pointer("/anyOf/0/$ref"))?
        .as_str()?;
    schema.pointer(&format!("/{}", reference.strip_prefix("#/")?))
}

/// A value an expectation's field can take, by its name and type: a date,
/// a time, an incident number, an override that builds a variant.
fn expectation_example(schema: &Value, name: &str, prop: &Value) -> Value {
    // `than` differs from `incident` and `date`: the same twice is refused.
    if numeric_field(schema, prop).is_some() {
        return json!(if name == "than" { 2 } else { 1 });
    }
    match name {
        "date" => return json!("2025-03-18"),
        "than" => return json!("2025-03-19"),
        "at" | "by" => return json!("2025-03-18T12:00:00Z"),
        "set" => return json!({ "model.fleet.clusters": 10 }),
        _ => {}
    }
    if let Some(reference) = prop.pointer("/anyOf/0") {
        // An optional section (`holds_over`) is left out of the example.
        let section = reference
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/"))
            .and_then(|p| schema.pointer(&format!("/{p}/type")))
            .is_some_and(|t| t == "object");
        if section {
            return Value::Null;
        }
        return example_value(schema, reference);
    }
    match prop.get("type") {
        Some(t) if t == "array" => json!([]),
        Some(Value::Array(ts)) if ts.iter().any(|t| t == "boolean") => json!(false),
        _ => example_value(schema, prop),
    }
}

/// A value a required field can take: an enum's first value, a string, 1.
fn example_value(schema: &Value, prop: &Value) -> Value {
    if let Some(reference) = prop.get("$ref").and_then(Value::as_str) {
        let def = reference
            .strip_prefix("#/")
            .and_then(|p| schema.pointer(&format!("/{p}")));
        if let Some(first) = def
            .and_then(|d| d.get("enum").or_else(|| d.pointer("/oneOf/0/enum")))
            .and_then(|e| e.get(0))
        {
            return first.clone();
        }
        if let Some(c) = def.and_then(|d| d.pointer("/oneOf/0/const")) {
            return c.clone();
        }
    }
    match prop.get("type").and_then(Value::as_str) {
        Some("string") => Value::from("probe"),
        Some("boolean") => Value::from(false),
        _ => json!(1),
    }
}

/// The schema of chaos profile files, each numeric field's range read
/// off the profile loader as for scenarios, and each fault kind's
/// magnitude range from the code that enforces it.
pub fn profile_schema() -> Value {
    let mut schema = crate::chaos::profile::json_schema();
    for field in profile_fields() {
        let node = match field.path.as_slice() {
            [top] => schema.pointer_mut(&format!("/properties/{top}")),
            [_, _, leaf] => schema.pointer_mut(&format!("/$defs/FaultRange/properties/{leaf}")),
            _ => None,
        };
        if let Some(node) = node.and_then(Value::as_object_mut) {
            annotate(node, field.valid.as_deref());
        }
    }
    let per_kind: Vec<String> = FaultKind::ALL
        .iter()
        .filter_map(|k| {
            let (lo, hi) = k.magnitude_range()?;
            Some(format!("{} {lo} to {hi}", k.name()))
        })
        .collect();
    // The fault map's keys are the kinds (schemars writes a map's keys as
    // any string).
    let names: Vec<String> = FaultKind::ALL.iter().map(|k| k.name()).collect();
    if let Some(faults) = schema
        .pointer_mut("/properties/faults")
        .and_then(Value::as_object_mut)
    {
        faults.insert("propertyNames".into(), json!({ "enum": names }));
    }
    // A duration is text, not a number: probed with one far too long.
    let long = json!({
        "name": "probe",
        "base": "_base.json",
        "faults": { "vendor_blackhole": { "duration": ["0s", "100000d"] } },
    });
    let longest = crate::chaos::profile::parse(Path::new("probe.profile.json"), &long.to_string())
        .err()
        .filter(|e| e.path == "faults.vendor_blackhole.duration[1]")
        .and_then(|e| expected_words(&e.message));
    if let Some(node) = schema
        .pointer_mut("/$defs/FaultRange/properties/duration")
        .and_then(Value::as_object_mut)
    {
        let valid = longest.map(|w| format!("[shortest, longest], each {w}"));
        annotate(node, valid.as_deref());
    }
    if let Some(node) = schema
        .pointer_mut("/$defs/FaultRange/properties/magnitude")
        .and_then(Value::as_object_mut)
    {
        annotate(
            node,
            Some(&format!(
                "[smallest, largest] within the kind's range: {} (unused by the others)",
                per_kind.join(", ")
            )),
        );
    }
    schema
}

/// The numeric fields of a profile (`[field]`, or `[faults, kind,
/// field]` for a fault range) with the profile loader's words for them.
pub fn profile_fields() -> Vec<ModelField> {
    let top = [
        ("swarm_ratio", true),
        ("fault_window_h", true),
        ("quiet_h", true),
        ("jitter_h", true),
        ("size_jitter", true),
        ("flaps_per_hour_max", false),
    ];
    let mut out = Vec::new();
    let probe = |set: &dyn Fn(&mut Value, Value), float: bool, within: &str, field: &str| {
        let probes = probe_values(float);
        let mut valid: Vec<String> = Vec::new();
        for value in probes {
            let mut doc = json!({
                "name": "probe",
                "base": "_base.json",
                "faults": { "vendor_blackhole": {} },
            });
            set(&mut doc, value);
            let text = doc.to_string();
            let Err(e) = crate::chaos::profile::parse(Path::new("probe.profile.json"), &text)
            else {
                continue;
            };
            let full = if within.is_empty() {
                field.to_string()
            } else {
                format!("{within}.{field}")
            };
            if e.path != full {
                continue;
            }
            if let Some(words) = expected_words(&e.message) {
                if !valid.contains(&words) {
                    valid.push(words);
                }
            }
        }
        (!valid.is_empty()).then(|| valid.join("; "))
    };
    for (field, float) in top {
        let valid = probe(&|doc, v| doc[field] = v, float, "", field);
        out.push(ModelField {
            path: vec![field.to_string()],
            valid,
        });
    }
    let valid = probe(
        &|doc, v| doc["faults"]["vendor_blackhole"]["count_max"] = v,
        false,
        "faults.vendor_blackhole",
        "count_max",
    );
    out.push(ModelField {
        path: vec![
            "faults".to_string(),
            "vendor_blackhole".to_string(),
            "count_max".to_string(),
        ],
        valid,
    });
    out
}

/// A numeric field of the model and the range the loader holds it to.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelField {
    /// `["agent", "poll_interval_s"]` for `model.agent.poll_interval_s`.
    pub path: Vec<String>,
    /// The loader's words for the valid values, or `None` when values far
    /// below and far above the default both load.
    pub valid: Option<String>,
}

/// Every numeric field of the default model with its valid range.
pub fn model_fields() -> Vec<ModelField> {
    let defaults = serde_json::to_value(ModelConfig::default()).expect("the model serialises");
    let mut leaves = Vec::new();
    numeric_leaves(&defaults, &mut Vec::new(), &mut leaves);
    leaves
        .into_iter()
        .map(|(path, default)| {
            let probes = probe_values(default.is_f64());
            let mut valid: Vec<String> = Vec::new();
            for probe in probes {
                if let Some(words) = refusal(&path, probe) {
                    if !valid.contains(&words) {
                        valid.push(words);
                    }
                }
            }
            ModelField {
                path,
                valid: (!valid.is_empty()).then(|| valid.join("; ")),
            }
        })
        .collect()
}

/// The model fields whose values far from the default all load.
pub fn fields_without_a_range() -> Vec<String> {
    model_fields()
        .into_iter()
        .filter(|f| f.valid.is_none())
        .map(|f| f.path.join("."))
        .collect()
}

fn numeric_leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k.clone());
                numeric_leaves(child, path, out);
                path.pop();
            }
        }
        Value::Number(_) => out.push((path.clone(), v.clone())),
        _ => {}
    }
}

/// What the loader says when `model.<path>` is `value`.
fn refusal(path: &[String], value: Value) -> Option<String> {
    let mut model = Map::new();
    let mut node = &mut model;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            node.insert(key.clone(), value.clone());
        } else {
            node = node
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("an object on the way");
        }
    }
    let doc = json!({
        "name": "schema-probe",
        "seed": 1,
        "start": "2025-03-18T00:00:00Z",
        "end": "2025-03-19T00:00:00Z",
        "model": model,
    });
    let (section, field) = path.split_at(path.len() - 1);
    let within = std::iter::once("model".to_string())
        .chain(section.iter().cloned())
        .collect::<Vec<_>>()
        .join(".");
    refusal_words(doc, &within, &field[0])
}

/// The loader's words after "expected" when it refuses `doc` because of
/// `<within>.<field>`: refusals name the field in their path or, for
/// checks written per section, at the start of the message.
fn refusal_words(doc: Value, within: &str, field: &str) -> Option<String> {
    let err = scenario::from_document(Path::new("schema-probe.json"), doc).err()?;
    let full = format!("{within}.{field}");
    let message = if err.path == full {
        err.message.as_str()
    } else if err.path == within || full.starts_with(&err.path) {
        let marker = format!("{field}: ");
        let at = err.message.find(&marker)?;
        &err.message[at + marker.len()..]
    } else {
        return None;
    };
    let message = message
        .strip_prefix(&format!("{field}: "))
        .unwrap_or(message);
    expected_words(message)
}

/// A refusal's words for what is valid: `expected 1 to 20, found 0` →
/// `1 to 20`.
fn expected_words(message: &str) -> Option<String> {
    let rest = message.strip_prefix("expected ")?;
    Some(
        rest.split(", found")
            .next()
            .unwrap_or(rest)
            .trim()
            .to_string(),
    )
}

/// Values far below and far above any default: for a float field, and
/// for an integer field (0 and 4,294,967,295, which every integer type
/// here reads).
fn probe_values(float: bool) -> [Value; 2] {
    if float {
        [json!(-1e300), json!(1e300)]
    } else {
        [json!(0), json!(u64::from(u32::MAX))]
    }
}

/// The schema object describing `model.<path>`, following `$ref`s into
/// `$defs`.
fn schema_node<'a>(schema: &'a mut Value, path: &[String]) -> Option<&'a mut Map<String, Value>> {
    // Resolve the chain of definition names first (immutable walk), then
    // borrow the final node mutably.
    let mut def: Option<String> = None;
    let mut full: Vec<String> = vec!["model".to_string()];
    full.extend(path.iter().cloned());
    for (i, key) in full.iter().enumerate() {
        let container = match &def {
            None => schema.get("properties")?,
            Some(d) => schema.get("$defs")?.get(d)?.get("properties")?,
        };
        let prop = container.get(key)?;
        if i + 1 == full.len() {
            break;
        }
        let reference = prop
            .get("$ref")
            .or_else(|| prop.get("allOf")?.get(0)?.get("$ref"))?
            .as_str()?;
        def = Some(reference.strip_prefix("#/$defs/")?.to_string());
    }
    let last = full.last()?;
    let container = match def {
        None => schema.get_mut("properties")?,
        Some(d) => schema
            .get_mut("$defs")?
            .get_mut(&d)?
            .get_mut("properties")?,
    };
    container.get_mut(last)?.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numeric_model_field_has_a_range() {
        // Seen failing: before the agent's guard thresholds and delete
        // budgets and four auth fields were given ranges, this listed
        // those eight fields (0 and 4,294,967,295 both loaded).
        assert_eq!(fields_without_a_range(), Vec::<String>::new());
    }

    #[test]
    fn every_numeric_timeline_field_has_a_range_but_the_salt() {
        // Seen failing: `service_faults.generation_regression` loaded any
        // value until it was given one. A salt only picks which clusters a
        // misroute (or an agent crash) hits: every value is as good as
        // another.
        let schema = scenario::json_schema();
        let fields = action_fields(&schema);
        assert!(fields.len() >= 16, "{} action fields probed", fields.len());
        let unchecked: Vec<String> = fields
            .into_iter()
            .filter(|f| f.valid.is_none())
            .map(|f| f.path.join("."))
            .collect();
        assert_eq!(
            unchecked,
            ["bot_wave.salt", "change.misroute_salt", "agent_crash.salt"]
        );
    }

    #[test]
    fn every_numeric_expectation_field_has_a_range_but_open_count_maxima() {
        // The probes mean something only if each kind's example loads.
        let schema = scenario::json_schema();
        let examples = expectation_examples(&schema);
        assert!(examples.len() >= 23, "{} kinds", examples.len());
        for (kind, example) in examples {
            let loaded =
                scenario::from_document(Path::new("schema-probe.json"), expectation_probe(example));
            assert!(loaded.is_ok(), "{kind}: {:?}", loaded.err());
        }
        let fields = expectation_fields(&schema);
        assert!(
            fields.len() >= 40,
            "{} expectation fields probed",
            fields.len()
        );
        let unchecked: Vec<String> = fields
            .iter()
            .filter(|f| f.valid.is_none())
            .map(|f| f.path.join("."))
            .collect();
        // An upper bound on a count of events (failed logins, findings,
        // changes) is a bound some run meets, whatever its value.
        assert_eq!(
            unchecked,
            [
                "auth_failures.max",
                "findings.max",
                "freeze_holds.max",
                "changes_leaked.max"
            ]
        );
        let find = |p: &str| {
            fields
                .iter()
                .find(|f| f.path.join(".") == p)
                .unwrap_or_else(|| panic!("{p} not found"))
                .valid
                .clone()
        };
        assert_eq!(
            find("time_to_detect.max_s").as_deref(),
            Some("0 to 366 days (31,622,400)")
        );
        assert_eq!(find("findings.min").as_deref(), Some("at most max"));
        assert_eq!(
            find("paired.incident").as_deref(),
            Some("1 to the most incidents a run opens (10,000)")
        );
        let schema = scenario_schema();
        let detect = schema["$defs"]["Expectation"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| variant_kind(v) == Some("auth_success_every_hour"))
            .unwrap();
        assert!(
            detect["properties"]["from_hour"]["description"]
                .as_str()
                .is_some_and(|d| d.ends_with("Valid: 0 to 23.")),
            "{detect}"
        );
    }

    #[test]
    fn every_numeric_profile_field_has_a_range() {
        // Seen failing: jitter_h, size_jitter and flaps_per_hour_max loaded
        // any value until they were given ranges.
        let fields = profile_fields();
        let unchecked: Vec<String> = fields
            .iter()
            .filter(|f| f.valid.is_none())
            .map(|f| f.path.join("."))
            .collect();
        assert_eq!(unchecked, Vec::<String>::new());
        let schema = profile_schema();
        let magnitude = schema
            .pointer("/$defs/FaultRange/properties/magnitude/description")
            .and_then(Value::as_str)
            .unwrap();
        assert!(
            magnitude.contains("vendor_slowdown 0.01 to 1000"),
            "{magnitude}"
        );
        let duration = schema
            .pointer("/$defs/FaultRange/properties/duration/description")
            .and_then(Value::as_str)
            .unwrap();
        assert!(
            duration.ends_with(
                "Valid: [shortest, longest], each a duration of at most ten days (240h)."
            ),
            "{duration}"
        );
        // FaultKind::ALL names every kind the format knows, and the
        // schema's fault keys are those names.
        let known = schemars::schema_for!(FaultKind).to_value();
        let mut known: Vec<String> = known["enum"]
            .as_array()
            .or_else(|| known["oneOf"].as_array())
            .expect("a closed set")
            .iter()
            .map(|v| {
                v.as_str()
                    .or_else(|| v["const"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect();
        known.sort();
        let mut keys: Vec<String> = schema["properties"]["faults"]["propertyNames"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        keys.sort();
        assert_eq!(keys, known);
    }

    #[test]
    fn ranges_come_from_the_loader() {
        let fields = model_fields();
        let find = |p: &str| {
            fields
                .iter()
                .find(|f| f.path.join(".") == p)
                .unwrap_or_else(|| panic!("{p} not found"))
                .valid
                .clone()
        };
        assert_eq!(
            find("agent.poll_interval_s").as_deref(),
            Some("0.1 to one day (86,400)")
        );
        let schema = scenario_schema();
        let agent = &schema["$defs"]["AgentConfig"]["properties"]["poll_interval_s"];
        assert!(
            agent["description"]
                .as_str()
                .is_some_and(|d| d.ends_with("Valid: 0.1 to one day (86,400).")),
            "{agent}"
        );
    }
}
