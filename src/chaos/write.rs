//! The files a chaos sweep writes: each shrunk seed's report
//! (`original.json`, `minimal.json`, `reproduce.txt`) and the regression
//! scenarios `--promote` makes.
//!
//! What it owns: the files' contents and the rule that a file is only
//! ever replaced when cascade recognises it as its own (by its head), so
//! an `--out` pointed at the wrong folder never overwrites a user's file.

use crate::files::terminal_safe;
use crate::model::bugs::Bug;
use serde_json::{json, Value};
use std::path::Path;

/// One file of a seed's report: its name, its text, and the test that
/// recognises a file of that name as cascade's.
type ReportFile<'a> = (&'a str, String, fn(&[u8]) -> bool);

/// A JSON document as a file's text.
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Writes a shrunk seed's report into `dir`: the original case, the
/// minimal one, and the lines that replay them (beside the files, so an
/// uploaded folder says how to replay it).
pub fn seed_report(
    dir: &Path,
    original: &Value,
    minimal: &Value,
    reproduce: &str,
) -> Result<(), String> {
    write_files(
        dir,
        &[
            ("original.json", pretty(original), is_chaos_case),
            ("minimal.json", pretty(minimal), is_chaos_case),
            ("reproduce.txt", reproduce.to_string(), is_reproduce_text),
        ],
    )
}

/// Writes the files into `dir` (made if missing; a link or anything but a
/// folder is refused), each replacing only a file its test recognises as
/// cascade's. Every file is checked before any is written, so a report is
/// never half of cascade's and half a user's.
fn write_files(dir: &Path, files: &[ReportFile]) -> Result<(), String> {
    let shown = |p: &Path| terminal_safe(&p.display().to_string()).into_owned();
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "{}: not a folder cascade made; left as it is",
                shown(dir)
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", shown(dir)))?
        }
        Err(e) => return Err(format!("{}: {e}", shown(dir))),
    }
    for (name, text, own) in files {
        let p = dir.join(name);
        if crate::files::check_replaceable(&p).map_err(|e| e.to_string())? {
            let old = crate::files::read_to_string_capped(&p, crate::files::RUN_FILE_BYTES_MAX)
                .map_err(|m| format!("{}: {m}", shown(&p)))?;
            if old != *text && !own(old.as_bytes()) {
                return Err(format!(
                    "{}: a file cascade did not write; left as it is",
                    shown(&p)
                ));
            }
        }
    }
    for (name, text, own) in files {
        crate::files::write_replacing_own(&dir.join(name), text.as_bytes(), own)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The regression scenario of a shrunk case: its schedule against the
/// fixed agent (every guard, no seeded bug), named after the profile and
/// seed.
pub fn regression_document(minimal: &Value, profile: &str, seed: u64) -> Value {
    let mut doc = minimal.clone();
    let all = json!({"g1_authoritative_only": true, "g2_tombstones": true, "g3_monotonic_generation": true,
        "g4_confirmation": true, "g5_blast_radius": true, "g6_delete_locks": true, "g7_backoff": true, "g8_soft_delete": true});
    doc["model"]["agent_guards"] = all.clone();
    doc["model"]["hotfix_guards"] = all;
    for section in Bug::SECTIONS {
        if let Some(s) = doc["model"]
            .get_mut(section)
            .and_then(|a| a.as_object_mut())
        {
            s.remove("seeded_bug");
        }
    }
    // The derived name stays a valid name for any valid profile name.
    doc["name"] = json!(crate::files::derived_name(
        &format!("regression-{profile}"),
        &format!("-seed-{seed}")
    ));
    doc["description"] = json!(format!(
        "Shrunk by cascade chaos from profile {profile}, seed {seed}; the schedule that broke that configuration, replayed against the fixed agent with every guard, which must hold. Original: {}",
        minimal["description"].as_str().unwrap_or("")
    ));
    doc
}

/// Writes a regression scenario to `path` in `dir` (made if missing),
/// replacing only a regression scenario cascade wrote.
pub fn regression(dir: &Path, path: &Path, doc: &Value) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: {e}", terminal_safe(&dir.display().to_string())))?;
    crate::files::write_replacing_own(path, pretty(doc).as_bytes(), is_promoted)
        .map_err(|e| e.to_string())
}

/// The `description` of a JSON document, if it has one.
fn description(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v.get("description")?.as_str().map(str::to_owned)
}

/// Whether `bytes` are a case chaos wrote (`original.json`, `minimal.json`).
fn is_chaos_case(bytes: &[u8]) -> bool {
    description(bytes).is_some_and(|d| d.starts_with("Chaos case of profile "))
}

/// Whether `bytes` are a `reproduce.txt` chaos wrote.
fn is_reproduce_text(bytes: &[u8]) -> bool {
    bytes.starts_with(b"reproduce the seed: cargo run --release -- chaos ")
}

/// Whether `bytes` are a regression scenario `--promote` wrote.
fn is_promoted(bytes: &[u8]) -> bool {
    description(bytes).is_some_and(|d| d.starts_with("Shrunk by cascade chaos from profile "))
}
