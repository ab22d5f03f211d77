//! The JSON Schemas of the input formats (`cascade schema`): scenario files
//! and chaos profiles.
//!
//! The structure (fields, types, defaults, descriptions, closed sets,
//! unknown keys refused) is derived with `schemars` from the very types
//! the loaders deserialize. The valid range of each numeric model field is
//! read off the loader itself: the field is set far below and far above
//! its default in a probe scenario, and the loader's own "expected …"
//! words are written into the field's description (`Valid: 0.1 to
//! one day (86,400).`). So the schema states exactly what loading enforces, and a
//! field that nothing checks shows up as one (`fields_without_a_range`).

use crate::config::ModelConfig;
use crate::scenario;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The schema of scenario files, with each model field's valid range.
pub fn scenario_schema() -> Value {
    let mut schema = scenario::json_schema();
    for field in model_fields() {
        let text = match &field.valid {
            Some(v) => format!("Valid: {v}."),
            None => "Valid: any value of its type (not range-checked).".to_string(),
        };
        if let Some(node) = schema_node(&mut schema, &field.path) {
            let description = node
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            // A type used at two places is one definition: annotate once.
            if !description.contains("Valid: ") {
                let joined = if description.is_empty() {
                    text
                } else {
                    format!("{description} {text}")
                };
                node.insert("description".into(), Value::from(joined));
            }
        }
    }
    schema
}

/// The schema of chaos profile files.
pub fn profile_schema() -> Value {
    crate::chaos::profile::json_schema()
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
            let probes: [Value; 2] = if default.is_f64() {
                [json!(-1e300), json!(1e300)]
            } else {
                [json!(0), json!(u64::from(u32::MAX))]
            };
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

/// What the loader says when `model.<path>` is `value`: the words after
/// "`<field>`: expected", when the refusal names this field.
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
    let err = scenario::from_document(Path::new("schema-probe.json"), doc).err()?;
    // Refusals name the field in the path (`model.agent.poll_interval_s`)
    // or, for checks written per section, at the start of the message.
    let field = path.last().expect("a field");
    let full = format!("model.{}", path.join("."));
    let message = if err.path == full {
        err.message.as_str()
    } else {
        let marker = format!("{field}: ");
        let at = err.message.find(&marker)?;
        &err.message[at + marker.len()..]
    };
    let rest = message.strip_prefix("expected ")?;
    let words = rest.split(", found").next().unwrap_or(rest).trim();
    Some(words.to_string())
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
