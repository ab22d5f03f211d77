//! Architecture invariants that can be read off the sources (see
//! ARCHITECTURE.md). Each test names the rule it guards; a violation lists
//! the file, the line and the path that broke it.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn src(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Lines of the `.rs` files under `dir` (comments skipped) that mention
/// one of `paths` as a path (`word::`), as `file:line: text`.
fn mentions(dir: &str, paths: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src(dir), &mut files);
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable source");
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for p in paths {
                let needle = format!("{p}::");
                let found = code.match_indices(&needle).any(|(at, _)| {
                    // A path segment of its own: not `foo_world::`.
                    code[..at]
                        .chars()
                        .last()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                });
                if found {
                    hits.push(format!("{}:{}: {}", f.display(), i + 1, code));
                }
            }
        }
    }
    hits
}

/// Architecture invariant: the logic under test (`src/model/`) imports no
/// driver, no report, no plant internals and no I/O runtime. It sees only
/// what it is handed: protocol, types and the kernel.
#[test]
fn the_model_imports_no_driver_report_or_runtime() {
    let hits = mentions(
        "src/model",
        &[
            "crate::world",
            "crate::wire",
            "crate::report",
            "crate::cli",
            "crate::plant",
            "crate::run",
            "crate::chaos",
            "tokio",
            "hyper",
            "hyper_util",
            "turmoil",
        ],
    );
    assert!(
        hits.is_empty(),
        "src/model/ reaches out:\n{}",
        hits.join("\n")
    );
}

/// Architecture invariant: the plant knows nothing of the drivers.
#[test]
fn the_plant_imports_no_driver() {
    let hits = mentions(
        "src/plant",
        &[
            "crate::world",
            "crate::wire",
            "crate::report",
            "crate::cli",
            "tokio",
            "hyper",
            "turmoil",
        ],
    );
    assert!(
        hits.is_empty(),
        "src/plant/ reaches out:\n{}",
        hits.join("\n")
    );
}

/// Architecture invariant: the two drivers share model, plant, effects,
/// checks and records, never each other's code.
#[test]
fn the_drivers_do_not_import_each_other() {
    let world = mentions("src/world", &["crate::wire"]);
    let wire = mentions("src/wire", &["crate::world"]);
    assert!(
        world.is_empty() && wire.is_empty(),
        "drivers import each other:\n{}\n{}",
        world.join("\n"),
        wire.join("\n")
    );
}

/// Architecture invariant: the kernel is domain-free.
#[test]
fn the_kernel_knows_nothing_of_the_domain() {
    let hits = mentions("sim/src", &["cascade", "crate::model", "crate::world"]);
    assert!(
        hits.is_empty(),
        "sim/ imports the domain:\n{}",
        hits.join("\n")
    );
}

/// `src/main.rs` only dispatches to `src/cli/`: every command lives there.
#[test]
fn main_only_dispatches_to_the_cli() {
    let text = std::fs::read_to_string(src("src/main.rs")).expect("src/main.rs");
    let code: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    assert_eq!(
        code,
        [
            "fn main() -> std::process::ExitCode {",
            "cascade::cli::main()",
            "}"
        ],
        "src/main.rs should hold nothing but the call into cascade::cli"
    );
}

/// A line as a model file that broke the rule would have it.
const VIOLATION_SAMPLE: &str = "use crate::world::World;";

/// The check itself can fail: a file that imported the world is reported
/// (here, this file, for `VIOLATION_SAMPLE`).
#[test]
fn the_check_sees_an_import() {
    assert!(VIOLATION_SAMPLE.starts_with("use"));
    let hits = mentions("tests", &["crate::world"]);
    assert!(
        hits.iter().any(|h| h.contains("architecture.rs")),
        "expected this file's own mention: {hits:?}"
    );
}

/// Lines under `dirs` (comments skipped) that ask the edge whom it
/// misroutes or read its routing table.
fn oracle_reads(dirs: &[PathBuf]) -> Vec<String> {
    let mut hits = Vec::new();
    for dir in dirs {
        let mut files = Vec::new();
        rust_files(dir, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable source");
            for (i, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if code.contains(".misroutes(") || code.contains("edge.current()") {
                    hits.push(format!("{}:{}: {}", f.display(), i + 1, code));
                }
            }
        }
    }
    hits
}

/// Architecture invariant: decisions see only what they could observe. The
/// responders, the recovery script and the rollout (`src/model/`) and the
/// world that gathers their inputs (`src/world/`) never ask the edge whom it
/// misroutes nor read its routing table: they go through the edge's access
/// log and probes (`Plant::probe`), as a real team would.
#[test]
fn decisions_never_read_the_edge_routing_table() {
    let hits = oracle_reads(&[src("src/model"), src("src/world")]);
    assert!(
        hits.is_empty(),
        "oracle reads of the edge:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_oracle_check_sees_a_read() {
    // The lines the world had before issue 11 are caught.
    let dir = std::env::temp_dir().join(format!("cascade-arch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("old.rs"),
        "// edge.current() in a comment is fine\n\
         let route_misroutes = self.plant.edge.current().misroute_ratio > 0.0;\n\
         || (self.plant.edge.misroutes(c) && buggy)\n",
    )
    .unwrap();
    let hits = oracle_reads(std::slice::from_ref(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
}
