//! Scenario files: JSON read with serde_json, unknown fields rejected.
//!
//! A scenario names itself, gives a default seed, a UTC start and end, model
//! parameters as overrides of the defaults (`model`), a timeline of typed
//! actions, the expectations a run must meet and, for calibrated figures,
//! which parameters were tuned to what (`tuned`, documentation only).
//!
//! `extends: "base.json"` builds a counterfactual from a base file by
//! overriding only what differs: objects merge key by key, other values
//! replace; timeline items replace the base's items with the same `id` and
//! the rest are added; `timeline_remove` drops base items by id; `expect`
//! replaces the base's expectations when given.
//!
//! Every error names the file, the JSON path and what was expected, and
//! never panics: scenario files are user input.

use crate::config::ModelConfig;
use crate::expect::{Expectation, VariantSpec};
use crate::timeline::{ItemDoc, Timeline, TimelineItem};
use cascade_sim::{parse_duration, Epoch, SimDuration, SimTime};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// A scenario error: which file, where in it, and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// JSON path such as `model.agent.poll_interval_s` or `timeline[3].at`;
    /// empty for whole-file problems.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The file name, the path and the message may echo what the file
        // says (an unknown key): escaped, they cannot drive a terminal.
        use crate::files::terminal_safe;
        let file = self.file.display().to_string();
        if self.path.is_empty() {
            write!(
                f,
                "{}: {}",
                terminal_safe(&file),
                terminal_safe(&self.message)
            )
        } else {
            write!(
                f,
                "{}: at `{}`: {}",
                terminal_safe(&file),
                terminal_safe(&self.path),
                terminal_safe(&self.message)
            )
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A calibrated figure, recorded in the scenario for the reader.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tuned {
    pub field: String,
    pub value: Value,
    pub why: String,
    /// Expectation kinds (`time_to_detect`, `paired`, ...) whose facts this
    /// figure was fitted to: the summary marks them calibrated, the rest
    /// emerge from the model.
    #[serde(default)]
    pub affects: Vec<String>,
}

/// A scenario file as written (after `extends` is resolved).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    /// The JSON Schema the file follows (`cascade schema scenario`), for
    /// editors; not read.
    #[serde(rename = "$schema", default)]
    #[allow(dead_code)]
    schema: Option<String>,
    /// Names the run and its folder under `reports/runs/`.
    name: String,
    #[serde(default)]
    description: String,
    /// The default seed (`--seed` overrides it).
    seed: u64,
    /// UTC start, RFC 3339 (`2025-03-18T00:00:00Z`).
    start: String,
    /// UTC end, RFC 3339, after the start; at most 400 days later.
    end: String,
    /// Overrides of the model's defaults; objects merge key by key.
    #[serde(default)]
    model: ModelConfig,
    /// Typed actions at calendar times (`at`, optional `duration`).
    #[serde(default)]
    timeline: Vec<ItemDoc>,
    /// What a run must show; each is checked and reported.
    #[serde(default)]
    expect: Vec<Expectation>,
    /// Calibrated figures: which field was tuned to what, and why.
    #[serde(default)]
    tuned: Vec<Tuned>,
}

/// The JSON Schema of a scenario file (`cascade schema scenario`): the
/// typed format above, plus the keys the loader reads before it
/// (`extends`, `timeline_remove`); with `extends` nothing is required, as
/// the base gives what the file leaves out. Ranges that span fields (a p99
/// above its median) and time formats are checked at load, not here.
pub fn json_schema() -> Value {
    let mut schema = schemars::schema_for!(FileSpec).to_value();
    let obj = schema.as_object_mut().expect("a schema object");
    obj.insert("title".into(), Value::from("cascade scenario"));
    let props = obj
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .expect("FileSpec has properties");
    props.insert(
        "extends".into(),
        serde_json::json!({
            "type": "string",
            "description": "A base scenario file, relative to this one: objects merge key by key, other values replace, timeline items replace the base's items of the same id."
        }),
    );
    props.insert(
        "timeline_remove".into(),
        serde_json::json!({
            "type": "array",
            "items": { "type": "string" },
            "description": "Ids of the base's timeline items to drop (only with extends)."
        }),
    );
    if let Some(required) = obj.remove("required") {
        obj.insert("if".into(), serde_json::json!({ "required": ["extends"] }));
        obj.insert("else".into(), serde_json::json!({ "required": required }));
    }
    schema
}

/// A loaded, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was loaded from.
    pub source: PathBuf,
    pub seed: u64,
    pub epoch: Epoch,
    pub end: SimTime,
    pub model: ModelConfig,
    pub timeline: Timeline,
    pub expectations: Vec<Expectation>,
    pub tuned: Vec<Tuned>,
    /// The resolved document it was built from (`extends` merged,
    /// overrides applied): paired expectations build their variant from it.
    pub doc: Value,
    /// The overrides applied on top of the file, as `KEY=VALUE` lines.
    pub overrides: Vec<String>,
}

const EXTENDS_DEPTH_MAX: usize = 8;

/// Loads a scenario file, resolving `extends`.
///
/// A relative `path` is read from the current directory; a relative
/// `extends` inside the file resolves beside the file. The error names the
/// file, the place in it and what is wrong.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let doc = resolve(path, 0)?;
    from_value(path, doc)
}

/// Loads a scenario file with `overrides` applied to its resolved document
/// (`cascade run --set KEY=VALUE`).
///
/// Each [`Override`] parses from the `KEY=VALUE` text of the command line.
/// The march 2025 replay on seed 1 with the recovery script instead of
/// manual repair:
///
/// ```rust
/// use cascade::run::{run_scenario, RunOptions};
/// use cascade::scenario::{self, Override};
/// use std::path::Path;
///
/// let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/march-2025.json");
/// let script: Override = "model.response.restore_with=script".parse().unwrap();
/// let sc = scenario::load_with(&path, &[script]).unwrap();
/// // The summary records the override as `KEY=VALUE`, the value as JSON.
/// assert_eq!(sc.overrides, [r#"model.response.restore_with="script""#]);
///
/// let opts = RunOptions {
///     seed: Some(1),
///     ..RunOptions::default()
/// };
/// let result = run_scenario(&sc, opts);
/// // Incident 1's 190 clusters are back by 08:47 on D5 (17:49 with the
/// // file's manual repair).
/// let first = result.outcome.pool_incident(1).unwrap();
/// assert_eq!(first.clusters_affected, 190);
/// let restored = first.restore_completed_at.unwrap();
/// assert_eq!(sc.epoch.format(restored), "2025-03-23T08:47:56Z");
/// ```
pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let mut doc = resolve(path, 0)?;
    for o in overrides {
        o.apply(&mut doc, OverrideSite::CommandLine)
            .map_err(|m| err(path, o.key.clone(), format!("--set {}: {m}", o.key)))?;
    }
    // The file's notes on its expectations' figures describe the file's
    // expectations: once the command line changes them, they no longer do.
    if overrides.iter().any(|o| o.key.starts_with("expect")) {
        if let Some(tuned) = doc.get_mut("tuned").and_then(Value::as_array_mut) {
            tuned.retain(|t| {
                !t.get("field")
                    .and_then(Value::as_str)
                    .is_some_and(|f| f.starts_with("expect["))
            });
        }
    }
    let mut sc = from_value(path, doc)?;
    sc.overrides = overrides.iter().map(Override::to_string).collect();
    Ok(sc)
}

pub use crate::types::OVERRIDES_MAX;

/// One override of a scenario's document: `KEY=VALUE`, where KEY is a
/// dotted path (`model.fleet.clusters`, `seed`) or `timeline.ID.FIELD` for
/// a timeline item (`at`, `for`, `note`, or a field of its action, e.g.
/// `timeline.E9.misroute_ratio`), and VALUE is JSON (`0.25`, `true`,
/// `"text"`) or else taken as a string.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: Value,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(text: &str) -> Result<Override, String> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, found {text:?}"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!(
                "expected a dotted key such as model.fleet.clusters, found {key:?}"
            ));
        }
        let text = value.trim();
        // JSON, read as strictly as a file (no key twice); text that is not
        // JSON at all is a string.
        let value = match crate::files::parse_json_strict(text) {
            Ok(v) => v,
            Err(_) if serde_json::from_str::<Value>(text).is_ok() => {
                return Err(format!(
                    "{key}: the JSON value names a key twice in one object"
                ))
            }
            Err(_) => Value::String(text.to_string()),
        };
        Ok(Override {
            key: key.to_string(),
            value,
        })
    }
}

/// Where an override comes from: a paired variant may change less than the
/// command line (it runs on its parent's seed, to be compared, unchecked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrideSite {
    /// `cascade run --set KEY=VALUE`.
    CommandLine,
    /// A paired expectation's `set`.
    Variant,
}

impl Override {
    /// Sets the value in `doc` (a resolved scenario document).
    pub fn apply(&self, doc: &mut Value, site: OverrideSite) -> Result<(), String> {
        let parts: Vec<&str> = self.key.split('.').collect();
        if parts.len() > 16 {
            return Err("a key has at most 16 parts".into());
        }
        refuse_ineffective(&parts, site)?;
        let mut slot = doc;
        let rest: &[&str] = if let ["timeline", id, field @ ..] = parts.as_slice() {
            let items = slot
                .get_mut("timeline")
                .and_then(Value::as_array_mut)
                .ok_or("the scenario has no timeline")?;
            let item = items
                .iter_mut()
                .find(|it| it.get("id").and_then(Value::as_str) == Some(*id))
                .ok_or_else(|| format!("no timeline item with id {id:?}"))?;
            slot = if matches!(field[0], "at" | "for" | "note" | "do") {
                item
            } else {
                item.get_mut("do").ok_or("the item has no action")?
            };
            field
        } else {
            &parts
        };
        let (last, path) = rest.split_last().expect("non-empty");
        for p in path {
            let obj = slot
                .as_object_mut()
                .ok_or_else(|| format!("{p}: expected an object to descend into"))?;
            slot = obj
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let obj = slot
            .as_object_mut()
            .ok_or_else(|| format!("{last}: expected an object to set it in"))?;
        // An object merges into the model section it names, as `extends`
        // merges: `--set 'model={"fleet":{"clusters":5}}'` changes the fleet
        // size and keeps the file's other model values. Elsewhere (an
        // action's `do`) an object replaces: its kind decides its fields.
        match obj.get_mut(*last) {
            Some(existing)
                if parts[0] == "model" && existing.is_object() && self.value.is_object() =>
            {
                merge_values(existing, self.value.clone());
            }
            _ => {
                obj.insert(last.to_string(), self.value.clone());
            }
        }
        Ok(())
    }
}

/// Refuses an override that could not take effect where it is applied,
/// instead of accepting and ignoring it.
fn refuse_ineffective(parts: &[&str], site: OverrideSite) -> Result<(), String> {
    match parts {
        ["extends" | "timeline_remove" | "$schema", ..] => Err(format!(
            "`{}` is resolved before overrides apply; edit the file instead",
            parts[0]
        )),
        ["timeline"] | ["timeline", _] => Err(
            "expected timeline.ID.FIELD: timeline items are changed one field at a time, by id"
                .into(),
        ),
        ["timeline", _, "id"] => Err("an item's id names it; it cannot be overridden".into()),
        ["seed", ..] if site == OverrideSite::Variant => Err(
            "a paired variant runs on its parent's seed, so that the pair measures the change alone"
                .into(),
        ),
        ["name" | "description", ..] if site == OverrideSite::Variant => Err(format!(
            "a variant's {} is derived from its parent's",
            parts[0]
        )),
        ["expect" | "tuned", ..] if site == OverrideSite::Variant => Err(format!(
            "a variant runs only to be compared: its `{}` is not checked",
            parts[0]
        )),
        _ => Ok(()),
    }
}

/// Parses scenario JSON text as if read from `path` (relative `extends` resolve beside it).
pub fn load_str(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let doc = parse_text(path, text)?;
    let doc = resolve_doc(path, doc, 0)?;
    from_value(path, doc)
}

/// Reads a scenario file with its `extends` chain merged, as JSON (for tools
/// that build scenarios, such as the chaos generator).
pub fn resolve_file(path: &Path) -> Result<Value, ScenarioError> {
    resolve(path, 0)
}

/// Loads a scenario from a JSON document (`extends` already resolved or
/// relative to `path`).
pub fn from_document(path: &Path, doc: Value) -> Result<Scenario, ScenarioError> {
    if !doc.is_object() {
        return Err(err(path, "", "expected a JSON object at the top level"));
    }
    let doc = resolve_doc(path, doc, 0)?;
    from_value(path, doc)
}

fn err(file: &Path, path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_path_buf(),
        path: path.into(),
        message: message.into(),
    }
}

/// Parses a scenario or profile file's text: JSON, no key twice in one
/// object, an object at the top level.
pub(crate) fn parse_text(path: &Path, text: &str) -> Result<Value, ScenarioError> {
    let v: Value = crate::files::parse_json_strict(text).map_err(|e| {
        err(
            path,
            "",
            format!(
                "not valid JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if !v.is_object() {
        return Err(err(path, "", "expected a JSON object at the top level"));
    }
    Ok(v)
}

fn resolve(path: &Path, depth: usize) -> Result<Value, ScenarioError> {
    let text = crate::files::read_to_string_capped(path, crate::files::SCENARIO_BYTES_MAX)
        .map_err(|m| err(path, "", m))?;
    let doc = parse_text(path, &text)?;
    resolve_doc(path, doc, depth)
}

fn resolve_doc(path: &Path, mut doc: Value, depth: usize) -> Result<Value, ScenarioError> {
    let obj = doc.as_object_mut().expect("checked object");
    let Some(base_ref) = obj.remove("extends") else {
        if obj.contains_key("timeline_remove") {
            return Err(err(
                path,
                "timeline_remove",
                "only allowed together with `extends`",
            ));
        }
        return Ok(doc);
    };
    let Value::String(base_name) = base_ref else {
        return Err(err(
            path,
            "extends",
            format!("expected a file name string, found {base_ref}"),
        ));
    };
    if depth >= EXTENDS_DEPTH_MAX {
        return Err(err(
            path,
            "extends",
            format!("more than {EXTENDS_DEPTH_MAX} levels of `extends` (a cycle?)"),
        ));
    }
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&base_name);
    let base = resolve(&base_path, depth + 1)?;
    merge_scenario(path, base, doc)
}

/// Merges a child scenario document over its base.
fn merge_scenario(path: &Path, base: Value, child: Value) -> Result<Value, ScenarioError> {
    let Value::Object(mut base) = base else {
        unreachable!("checked object")
    };
    let Value::Object(mut child) = child else {
        unreachable!("checked object")
    };
    let mut timeline = match base.remove("timeline") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(err(
                path,
                "timeline",
                format!("base timeline is not a list: {other}"),
            ))
        }
        None => Vec::new(),
    };
    if let Some(remove) = child.remove("timeline_remove") {
        let Value::Array(ids) = remove else {
            return Err(err(path, "timeline_remove", "expected a list of item ids"));
        };
        for (k, id) in ids.iter().enumerate() {
            let Some(id) = id.as_str() else {
                return Err(err(
                    path,
                    format!("timeline_remove[{k}]"),
                    "expected an item id string",
                ));
            };
            let before = timeline.len();
            timeline.retain(|it| it.get("id").and_then(Value::as_str) != Some(id));
            if timeline.len() == before {
                return Err(err(
                    path,
                    format!("timeline_remove[{k}]"),
                    format!("no item with id {id:?} in the base timeline"),
                ));
            }
        }
    }
    if let Some(items) = child.remove("timeline") {
        let Value::Array(items) = items else {
            return Err(err(path, "timeline", "expected a list of timeline items"));
        };
        // Two items of one id would both replace the same base item, and
        // the first would vanish without a word.
        for (k, item) in items.iter().enumerate() {
            let id = item.get("id").and_then(Value::as_str);
            if let Some(first) = id.and_then(|id| {
                items[..k]
                    .iter()
                    .position(|b| b.get("id").and_then(Value::as_str) == Some(id))
            }) {
                return Err(err(
                    path,
                    format!("timeline[{k}].id"),
                    format!(
                        "duplicate item id {:?}: timeline[{first}] of this file has it too",
                        id.unwrap_or_default()
                    ),
                ));
            }
        }
        for item in items {
            let id = item.get("id").and_then(Value::as_str).map(str::to_string);
            match id.and_then(|id| {
                timeline
                    .iter()
                    .position(|b| b.get("id").and_then(Value::as_str) == Some(id.as_str()))
            }) {
                Some(pos) => timeline[pos] = item,
                None => timeline.push(item),
            }
        }
    }
    // Expectations and tuned figures belong to the file that states them.
    base.remove("expect");
    base.remove("tuned");
    let mut merged = Value::Object(base);
    merge_values(&mut merged, Value::Object(child));
    merged
        .as_object_mut()
        .expect("object")
        .insert("timeline".into(), Value::Array(timeline));
    Ok(merged)
}

/// Objects merge key by key; anything else replaces.
fn merge_values(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => merge_maps(b, o),
        (b, o) => *b = o,
    }
}

fn merge_maps(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match base.get_mut(&k) {
            Some(slot) => merge_values(slot, v),
            None => {
                base.insert(k, v);
            }
        }
    }
}

fn from_value(path: &Path, doc: Value) -> Result<Scenario, ScenarioError> {
    let kept = doc.clone();
    let spec: FileSpec = serde_path_to_error::deserialize(doc).map_err(|e| {
        let p = e.path().to_string();
        let p = if p == "." { String::new() } else { p };
        err(path, p, e.into_inner().to_string())
    })?;
    // The name becomes a folder under reports/.
    crate::files::check_path_name(&spec.name).map_err(|m| err(path, "name", m))?;
    let epoch = Epoch::parse(&spec.start).map_err(|m| err(path, "start", m))?;
    let end = epoch.time_of(&spec.end).map_err(|m| err(path, "end", m))?;
    if end == SimTime::ZERO {
        return Err(err(path, "end", "expected a time after `start`"));
    }
    if end > SimTime::ZERO + SimDuration::from_hours(24 * u64::from(crate::expect::SPAN_DAYS_MAX)) {
        return Err(err(path, "end", "a scenario may span at most 366 days"));
    }
    spec.model
        .validate()
        .map_err(|m| match m.split_once(": ") {
            Some((p, msg)) => err(path, p, msg),
            None => err(path, "model", m),
        })?;
    let mut items = Vec::with_capacity(spec.timeline.len());
    for (k, it) in spec.timeline.into_iter().enumerate() {
        let at =
            parse_time(&epoch, &it.at).map_err(|m| err(path, format!("timeline[{k}].at"), m))?;
        if at > end {
            return Err(err(
                path,
                format!("timeline[{k}].at"),
                format!("{} lies after the scenario's end {}", it.at, spec.end),
            ));
        }
        let duration = match &it.duration {
            Some(d) => {
                Some(parse_duration(d).map_err(|m| err(path, format!("timeline[{k}].for"), m))?)
            }
            None => None,
        };
        it.action.validate().map_err(|m| {
            err(
                path,
                format!("timeline[{k}].do.{}", m.split(':').next().unwrap_or("")),
                m,
            )
        })?;
        if let Some(first) = items.iter().position(|x: &TimelineItem| x.id == it.id) {
            return Err(err(
                path,
                format!("timeline[{k}].id"),
                format!(
                    "duplicate item id {:?}: timeline[{first}] has it too",
                    it.id
                ),
            ));
        }
        items.push(TimelineItem {
            id: it.id,
            at,
            duration,
            action: it.action,
            note: it.note,
        });
    }
    // Stable: items at the same time keep file order.
    items.sort_by_key(|i| i.at);
    for (k, e) in spec.expect.iter().enumerate() {
        // "max_s: expected …" names its field: the path ends with it.
        e.validate(&epoch).map_err(|m| match m.split_once(": ") {
            Some((field, msg)) if !field.contains(' ') => {
                err(path, format!("expect[{k}].{field}"), msg)
            }
            _ => err(path, format!("expect[{k}]"), m),
        })?;
        // A paired expectation's variant must build: its ids exist, its
        // overrides apply and the result is a valid scenario.
        if let Some(v) = e.variant() {
            let doc = variant_doc(&kept, &v)
                .map_err(|(p, m)| err(path, format!("expect[{k}].{p}"), m))?;
            from_value(path, doc).map_err(|e| {
                err(
                    path,
                    format!("expect[{k}]"),
                    format!(
                        "the variant is not a valid scenario: at `{}`: {}",
                        e.path, e.message
                    ),
                )
            })?;
        }
    }
    // A tuned expectation figure names the expectation it was fitted to:
    // the entry must point at that figure (an expectation inserted before
    // it once left the flagship's entry naming another one).
    for (k, t) in spec.tuned.iter().enumerate() {
        let Some(rest) = t.field.strip_prefix("expect[") else {
            continue;
        };
        let found = rest.split_once("].").and_then(|(i, key)| {
            let e = spec.expect.get(i.parse::<usize>().ok()?)?;
            serde_json::to_value(e)
                .ok()?
                .get(key)
                .filter(|v| !v.is_null())
                .cloned()
        });
        let same = match (&found, t.value.as_f64()) {
            (Some(v), Some(x)) => v.as_f64() == Some(x),
            (found, _) => found.as_ref() == Some(&t.value),
        };
        if !same {
            return Err(err(
                path,
                format!("tuned[{k}].field"),
                format!(
                    "expected an expectation's figure equal to the entry's value {}, found {}",
                    t.value,
                    found.map_or("no such figure".to_string(), |v| v.to_string())
                ),
            ));
        }
    }
    Ok(Scenario {
        name: spec.name,
        description: spec.description,
        source: path.to_path_buf(),
        seed: spec.seed,
        epoch,
        end,
        model: spec.model,
        timeline: Timeline { items },
        expectations: spec.expect,
        tuned: spec.tuned,
        doc: kept,
        overrides: Vec::new(),
    })
}

/// The document of a paired expectation's variant: `doc` without
/// expectations (a variant is only run to be compared), with the items of
/// `timeline_remove` dropped and the `set` overrides applied. Errors give
/// the field of the expectation and what is wrong.
fn variant_doc(doc: &Value, v: &VariantSpec) -> Result<Value, (String, String)> {
    let mut doc = doc.clone();
    let obj = doc
        .as_object_mut()
        .expect("a scenario document is an object");
    obj.insert("expect".into(), Value::Array(Vec::new()));
    obj.remove("tuned");
    if let Some(Value::String(name)) = obj.get("name") {
        let name = crate::files::derived_name(name, "-variant");
        obj.insert("name".into(), Value::String(name));
    }
    for (k, id) in v.timeline_remove.iter().enumerate() {
        let items = obj
            .get_mut("timeline")
            .and_then(Value::as_array_mut)
            .ok_or((
                "timeline_remove".to_string(),
                "the scenario has no timeline".to_string(),
            ))?;
        let before = items.len();
        items.retain(|it| it.get("id").and_then(Value::as_str) != Some(id.as_str()));
        if items.len() == before {
            return Err((
                format!("timeline_remove[{k}]"),
                format!("no item with id {id:?} in the timeline"),
            ));
        }
    }
    for (key, value) in v.set {
        let o = Override {
            key: key.clone(),
            value: value.clone(),
        };
        o.apply(&mut doc, OverrideSite::Variant)
            .map_err(|m| ("set".to_string(), format!("{key}: {m}")))?;
    }
    Ok(doc)
}

/// The scenario a paired expectation of `sc` compares against (checked to
/// build when `sc` was loaded).
pub fn variant(sc: &Scenario, v: &VariantSpec) -> Result<Scenario, ScenarioError> {
    let doc = variant_doc(&sc.doc, v).map_err(|(p, m)| err(&sc.source, p, m))?;
    let mut out = from_value(&sc.source, doc)?;
    out.overrides = sc.overrides.clone();
    out.overrides.extend(v.changes());
    Ok(out)
}

/// A time in a scenario: `2025-03-18T17:30:00Z`, `D3 13:00` (days after
/// the start's midnight), or `+45m` (after the start).
pub fn parse_time(epoch: &Epoch, text: &str) -> Result<SimTime, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('+') {
        return parse_duration(rest).map(|d| SimTime::ZERO + d);
    }
    if let Some(rest) = t.strip_prefix('D') {
        let bad = || format!("expected a time such as \"D3 13:00\", found {text:?}");
        let (day, clock) = rest.split_once(' ').ok_or_else(bad)?;
        let day: u64 = day.parse().map_err(|_| bad())?;
        // A scenario spans at most 366 days; a larger day is a typo, and
        // one in the billions would overflow the microsecond clock.
        if day > 400 {
            return Err(format!("{text} lies past the 366 days a scenario may span"));
        }
        let (h, m) = clock.split_once(':').ok_or_else(bad)?;
        let (h, m): (u64, u64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h >= 24 || m >= 60 {
            return Err(bad());
        }
        // Days count from the start's UTC midnight.
        let start_of_day = epoch.unix_secs.rem_euclid(86_400) as u64;
        let secs = day * 86_400 + h * 3_600 + m * 60;
        return secs
            .checked_sub(start_of_day)
            .map(SimTime::from_secs)
            .ok_or_else(|| format!("{text} lies before the scenario's start"));
    }
    epoch.time_of(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("scenarios/test.json")
    }

    const MINIMAL: &str = r#"{
        "name": "t", "seed": 3,
        "start": "2025-03-18T00:00:00Z", "end": "2025-03-19T00:00:00Z",
        "model": {"fleet": {"clusters": 50}},
        "timeline": [
            {"id": "E1", "at": "D0 17:30", "for": "45m", "do": {"kind": "vendor_path", "state": "blackholed"}},
            {"id": "N", "at": "+1h", "do": {"kind": "note"}}
        ]
    }"#;

    #[test]
    fn loads_times_durations_and_overrides() {
        let s = load_str(&p(), MINIMAL).unwrap();
        assert_eq!(s.model.fleet.clusters, 50);
        assert_eq!(s.model.agent.poll_interval_s, 60.0, "defaults kept");
        assert_eq!(s.timeline.items[0].id, "N", "sorted by time");
        let e1 = s.timeline.get("E1").unwrap();
        assert_eq!(e1.at, SimTime::from_secs(17 * 3_600 + 30 * 60));
        assert_eq!(e1.duration, Some(SimDuration::from_mins(45)));
        assert_eq!(s.end, SimTime::from_secs(86_400));
    }

    fn error_of(text: &str) -> ScenarioError {
        load_str(&p(), text).unwrap_err()
    }

    #[test]
    fn timeline_values_outside_their_range_are_refused() {
        let with = |action: &str| {
            MINIMAL.replace(
                r#"{"kind": "vendor_path", "state": "blackholed"}"#,
                &format!(r#"{{"kind": "{action}}}"#),
            )
        };
        for (action, field, expected) in [
            (
                r#"vendor_slowdown", "factor": 0"#,
                "factor",
                "expected 0.01 to 1,000, found 0",
            ),
            (
                r#"vendor_slowdown", "factor": 1e300"#,
                "factor",
                "expected 0.01 to 1,000, found 1e300",
            ),
            (
                r#"cloud_latency", "factor": -2"#,
                "factor",
                "expected 0.01 to 1,000, found -2",
            ),
            (
                r#"operator_delay", "factor": 0"#,
                "factor",
                "expected 0.01 to 1,000, found 0",
            ),
            (
                r#"cloud_rate_limit", "calls_per_s": 0"#,
                "calls_per_s",
                "expected 0.001 to 1,000,000, found 0",
            ),
            (
                r#"partial_desired_state", "ratio": 2"#,
                "ratio",
                "expected a fraction in [0, 1], found 2",
            ),
        ] {
            let e = error_of(&with(action));
            assert_eq!(e.path, format!("timeline[0].do.{field}"), "{action}: {e}");
            assert!(e.message.ends_with(expected), "{action}: {e}");
        }
        // In range: accepted.
        for action in [
            r#"vendor_slowdown", "factor": 3"#,
            r#"cloud_rate_limit", "calls_per_s": 0.5"#,
            r#"partial_desired_state", "ratio": 1"#,
        ] {
            assert!(load_str(&p(), &with(action)).is_ok(), "{action}");
        }
    }

    #[test]
    fn errors_name_the_file_the_path_and_what_was_expected() {
        let e = error_of(&MINIMAL.replace("\"clusters\": 50", "\"clusters\": \"many\""));
        assert_eq!(e.path, "model.fleet.clusters");
        assert!(e.message.contains("expected u32"), "{e}");
        assert!(e
            .to_string()
            .starts_with("scenarios/test.json: at `model.fleet.clusters`"));

        let e = error_of(&MINIMAL.replace("\"clusters\": 50", "\"clusterz\": 50"));
        assert_eq!(e.path, "model.fleet.clusterz");
        assert!(e.message.contains("unknown field"), "{e}");

        let e = error_of(&MINIMAL.replace("\"45m\"", "\"45\""));
        assert_eq!(e.path, "timeline[0].for");
        assert!(e.message.contains("lacks a unit"), "{e}");

        let e = error_of(&MINIMAL.replace("D0 17:30", "D0 25:30"));
        assert_eq!(e.path, "timeline[0].at");

        let e = error_of(&MINIMAL.replace("blackholed", "sideways"));
        assert!(e.path.starts_with("timeline[0].do"), "{e}");
        assert!(e.message.contains("unknown variant"), "{e}");

        let e = error_of(&MINIMAL.replace("\"clusters\": 50", "\"clusters\": 0"));
        assert_eq!(e.path, "model.fleet.clusters");
        assert_eq!(e.message, "expected 1 to 1,000,000, found 0");
        assert!(e
            .to_string()
            .starts_with("scenarios/test.json: at `model.fleet.clusters`: expected"));

        // Nor may a day count do it (an unchecked day count overflows:
        // debug builds panic, release ones wrap around).
        let e = error_of(&MINIMAL.replace("D0 17:30", "D9999999999999 00:00"));
        assert_eq!(e.path, "timeline[0].at");
        assert!(
            e.message
                .ends_with("lies past the 366 days a scenario may span"),
            "{e}"
        );
        // A fuzz finding: an 11-digit year overflowed the clock (a panic).
        let e = error_of(&MINIMAL.replace("2025-03-19T00:00:00Z", "99999999999-01-01T00:00:00Z"));
        assert_eq!(e.path, "end");
        assert!(e.message.contains("expected a UTC time"), "{e}");
        let e = error_of(&MINIMAL.replace("2025-03-19T00:00:00Z", "9999-01-01T00:00:00Z"));
        assert_eq!(e.message, "a scenario may span at most 366 days");

        let e = error_of("[1, 2]");
        assert!(e.message.contains("JSON object"), "{e}");
        let e = error_of("{\"name\": ");
        assert!(e.message.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn extends_overrides_only_what_differs() {
        let dir = std::env::temp_dir().join(format!("cascade-scn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("base.json"), MINIMAL).unwrap();
        let child = r#"{
            "extends": "base.json", "name": "child",
            "model": {"agent": {"poll_interval_s": 30}},
            "timeline": [{"id": "E1", "at": "D0 18:00", "for": "10m", "do": {"kind": "vendor_path", "state": "blackholed"}},
                         {"id": "X", "at": "D0 20:00", "do": {"kind": "note"}}],
            "timeline_remove": ["N"]
        }"#;
        let s = load_str(&dir.join("child.json"), child).unwrap();
        assert_eq!(s.name, "child");
        assert_eq!(s.model.fleet.clusters, 50, "inherited");
        assert_eq!(s.model.agent.poll_interval_s, 30.0, "overridden");
        let ids: Vec<&str> = s.timeline.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, vec!["E1", "X"]);
        assert_eq!(
            s.timeline.get("E1").unwrap().duration,
            Some(SimDuration::from_mins(10))
        );
        let e = load_str(
            &dir.join("child.json"),
            r#"{"extends": "missing.json", "name": "c"}"#,
        )
        .unwrap_err();
        assert!(e.file.ends_with("missing.json"));
        assert!(e.message.contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn set_overrides_model_fields_and_timeline_items_by_id() {
        let doc = parse_text(&p(), MINIMAL).unwrap();
        let sets: Vec<Override> = [
            "model.agent.poll_interval_s=30",
            "timeline.E1.for=10m",
            "timeline.E1.state=\"up\"",
            "seed=9",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
        let mut d = doc.clone();
        for o in &sets {
            o.apply(&mut d, OverrideSite::CommandLine).unwrap();
        }
        let s = from_value(&p(), d).unwrap();
        assert_eq!(s.model.agent.poll_interval_s, 30.0);
        assert_eq!(s.seed, 9);
        assert_eq!(
            s.timeline.get("E1").unwrap().duration,
            Some(SimDuration::from_mins(10))
        );
        // An unquoted text value is taken as a string.
        let o: Override = "timeline.N.note=hello world".parse().unwrap();
        assert_eq!(o.value, Value::String("hello world".into()));
        // Errors name what is wrong.
        let mut d = doc.clone();
        let e = "timeline.NOPE.at=D0 01:00"
            .parse::<Override>()
            .unwrap()
            .apply(&mut d, OverrideSite::CommandLine)
            .unwrap_err();
        assert!(e.contains("no timeline item with id \"NOPE\""), "{e}");
        assert!("novalue"
            .parse::<Override>()
            .unwrap_err()
            .contains("KEY=VALUE"));
        assert!("a..b=1".parse::<Override>().is_err());
        let e = "name.x=1"
            .parse::<Override>()
            .unwrap()
            .apply(&mut d, OverrideSite::CommandLine)
            .unwrap_err();
        assert!(e.contains("expected an object"), "{e}");
    }

    #[test]
    fn a_paired_variant_must_build_at_load_time() {
        let with = |pair: &str| {
            let text = MINIMAL.replacen(
                "\"timeline\": [",
                &format!("\"expect\": [{pair}],\n        \"timeline\": ["),
                1,
            );
            load_str(&p(), &text)
        };
        let ok = with(
            r#"{"kind": "paired", "variant": "no outage", "timeline_remove": ["E1"], "metric": "clusters_lost", "less_by_min": 0}"#,
        )
        .unwrap();
        let v = ok.expectations[0].variant().unwrap();
        let var = variant(&ok, &v).unwrap();
        assert!(var.timeline.get("E1").is_none() && var.timeline.get("N").is_some());
        assert!(
            var.expectations.is_empty(),
            "a variant runs to be compared only"
        );
        assert_eq!(var.overrides, vec!["without timeline item E1".to_string()]);
        let e = with(
            r#"{"kind": "paired", "variant": "x", "timeline_remove": ["E7"], "metric": "clusters_lost", "less_by_min": 0}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "expect[0].timeline_remove[0]");
        let e = with(
            r#"{"kind": "paired", "variant": "x", "set": {"model.agent.poll_interval_s": -1}, "metric": "clusters_lost", "less_by_min": 0}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "expect[0]");
        assert!(e.message.contains("poll_interval_s"), "{}", e.message);
        let e = with(r#"{"kind": "paired", "variant": "x", "set": {"seed": 2}, "metric": "restore_hours", "ratio_max": 1}"#)
            .unwrap_err();
        assert!(e.message.contains("expected `incident`"), "{}", e.message);
        let e = with(
            r#"{"kind": "paired", "variant": "x", "metric": "clusters_lost", "ratio_max": 1}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("must differ"), "{}", e.message);
    }

    /// What applying `text` to MINIMAL says (no panic, whatever it is).
    fn apply_error(text: &str) -> String {
        let mut d = parse_text(&p(), MINIMAL).unwrap();
        match text.parse::<Override>() {
            Err(e) => e,
            Ok(o) => o.apply(&mut d, OverrideSite::CommandLine).unwrap_err(),
        }
    }

    #[test]
    fn overrides_that_cannot_take_effect_are_refused() {
        for bare in ["timeline=[]", "timeline={}", "timeline.E1=1"] {
            let e = apply_error(bare);
            assert!(e.contains("timeline.ID.FIELD"), "{bare}: {e}");
        }
        for resolved in [
            "extends=\"x.json\"",
            "timeline_remove=[\"E1\"]",
            "$schema=x",
        ] {
            let e = apply_error(resolved);
            assert!(e.contains("resolved before"), "{resolved}: {e}");
        }
        let e = apply_error("timeline.E1.id=E2");
        assert!(e.contains("an item's id"), "{e}");
        // A JSON value that names a key twice is refused, as in a file.
        let e = apply_error(r#"model.fleet={"clusters": 5, "clusters": 6}"#);
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn an_object_override_merges_into_the_section_it_names() {
        let text = MINIMAL.replace(
            r#""model": {"fleet": {"clusters": 50}}"#,
            r#""model": {"fleet": {"clusters": 50}, "agent": {"poll_interval_s": 30}}"#,
        );
        let mut d = parse_text(&p(), &text).unwrap();
        let o: Override = r#"model={"fleet": {"clusters": 7}}"#.parse().unwrap();
        o.apply(&mut d, OverrideSite::CommandLine).unwrap();
        let s = from_value(&p(), d).unwrap();
        assert_eq!(s.model.fleet.clusters, 7);
        assert_eq!(
            s.model.agent.poll_interval_s, 30.0,
            "the file's other values stay"
        );
    }

    fn paired_with(set: &str) -> Result<Scenario, ScenarioError> {
        let text = MINIMAL.replacen(
            "\"timeline\": [",
            &format!(
                "\"expect\": [{{\"kind\": \"paired\", \"variant\": \"v\", \"set\": {set}, \"metric\": \"clusters_lost\", \"less_by_min\": 0}}],\n        \"timeline\": ["
            ),
            1,
        );
        load_str(&p(), &text)
    }

    #[test]
    fn a_variant_may_not_set_what_the_pair_does_not_run() {
        for (set, words) in [
            (r#"{"timeline": []}"#, "timeline.ID.FIELD"),
            (r#"{"seed": 2}"#, "parent's seed"),
            (r#"{"name": "other"}"#, "name"),
            (r#"{"expect": []}"#, "not checked"),
            (r#"{"tuned": []}"#, "not checked"),
            (r#"{"extends": "x.json"}"#, "resolved before"),
        ] {
            let e = paired_with(set).unwrap_err();
            assert_eq!(e.path, "expect[0].set", "{set}");
            assert!(e.message.contains(words), "{set}: {}", e.message);
        }
        paired_with(r#"{"model.agent.poll_interval_s": 30}"#).unwrap();
    }

    #[test]
    fn a_tuned_expectation_figure_must_name_that_figure() {
        let with_tuned = |field: &str, value: &str| {
            let text = MINIMAL.replacen(
                "\"timeline\": [",
                &format!(
                    "\"tuned\": [{{\"field\": \"{field}\", \"value\": {value}, \"why\": \"w\"}}],\n        \"expect\": [{{\"kind\": \"paired\", \"variant\": \"v\", \"timeline_remove\": [\"E1\"], \"metric\": \"clusters_lost\", \"less_by_min\": 350}}],\n        \"timeline\": ["
                ),
                1,
            );
            load_str(&p(), &text)
        };
        with_tuned("expect[0].less_by_min", "350").unwrap();
        for (field, value, found) in [
            ("expect[1].less_by_min", "350", "no such figure"),
            ("expect[0].ratio_max", "350", "no such figure"),
            ("expect[0].less_by_min", "300", "found 350.0"),
        ] {
            let e = with_tuned(field, value).unwrap_err();
            assert_eq!(e.path, "tuned[0].field", "{field}");
            assert!(e.message.ends_with(found), "{field}: {}", e.message);
        }
    }

    #[test]
    fn a_valid_long_name_derives_a_valid_variant_name() {
        let name = format!("n{}", "x".repeat(99));
        let text = MINIMAL.replace(r#""name": "t""#, &format!(r#""name": "{name}""#));
        let text = text.replacen(
            "\"timeline\": [",
            "\"expect\": [{\"kind\": \"paired\", \"variant\": \"v\", \"timeline_remove\": [\"E1\"], \"metric\": \"clusters_lost\", \"less_by_min\": 0}],\n        \"timeline\": [",
            1,
        );
        let sc = load_str(&p(), &text).unwrap();
        let v = variant(&sc, &sc.expectations[0].variant().unwrap()).unwrap();
        assert_eq!(v.name.len(), crate::files::NAME_CHARS_MAX);
        assert!(v.name.ends_with("-variant"), "{}", v.name);
    }

    #[test]
    fn timeline_ids_are_unique_and_both_places_are_named() {
        let text = MINIMAL.replace(r#""id": "N""#, r#""id": "E1""#);
        let e = load_str(&p(), &text).unwrap_err();
        assert_eq!(e.path, "timeline[1].id");
        assert!(e.message.contains("timeline[0]"), "{}", e.message);
        // Within a file that extends another: two items of one id would
        // both replace the base's, and one would silently vanish.
        let dir = std::env::temp_dir().join(format!("cascade-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("base.json"), MINIMAL).unwrap();
        let child = r#"{"extends": "base.json", "timeline": [
            {"id": "X", "at": "+2h", "do": {"kind": "note"}},
            {"id": "X", "at": "+3h", "do": {"kind": "note"}}
        ]}"#;
        std::fs::write(dir.join("child.json"), child).unwrap();
        let e = load(&dir.join("child.json")).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(e.path, "timeline[1].id");
        assert!(e.message.contains("timeline[0]"), "{}", e.message);
    }
}
