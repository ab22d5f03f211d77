//! Architecture invariants that can be read off the sources (see
//! ARCHITECTURE.md). Each test names the rule it guards; a violation lists
//! the file, the line and the path that broke it.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
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

/// The top-level module of `src/` a file belongs to (`src/world/mod.rs`
/// and `src/world/response.rs` are `world`); `None` for lib.rs and main.rs.
fn top_module(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src("src")).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The top-level modules `text` names through `crate::` (`crate::world::X`,
/// `use crate::{expect, scenario::Y}`), comments skipped.
fn crate_imports(text: &str) -> Vec<String> {
    path_imports(text, "crate::")
}

/// The first segments of the paths `text` names after `prefix` (`crate::`
/// or `super::`), grouped `use` included, comments skipped.
fn path_imports(text: &str, prefix: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        if code[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue; // `cascade_crate::`, not ours
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first segment of each path at depth 1 of the group.
            let (mut depth, mut start) = (1usize, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        out.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// The strongly connected components of more than one node (import
/// circles) of `edges`, each sorted, the list sorted (Tarjan's algorithm).
fn circles(
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<Vec<String>> {
    use std::collections::BTreeMap;
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, std::collections::BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: std::collections::BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: Default::default(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found.sort();
    t.found
}

/// Which top-level module of `src/` imports which, through `crate::`.
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src("src"), &mut files);
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for f in files {
        let Some(from) = top_module(&f) else { continue };
        let text = std::fs::read_to_string(&f).expect("readable source");
        let entry = edges.entry(from.clone()).or_default();
        for to in crate_imports(&text) {
            if to != from && to != "sim" {
                entry.insert(to);
            }
        }
    }
    edges
}

/// Architecture invariant: no import circles among the top-level modules
/// of `src/`. A circle means neither side can be read, tested or changed
/// without the other.
#[test]
fn no_import_circles_among_the_top_level_modules() {
    assert_eq!(circles(&module_graph()), Vec::<Vec<String>>::new());
}

/// Per folder of `src/` with a `mod.rs`: which of its files imports which
/// sibling through `super::` (items of `mod.rs` itself, the folder's hub,
/// are not edges), keyed `folder/file`.
fn sibling_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(src("src"))
        .expect("src/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("mod.rs").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let folder = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8")
            .to_string();
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        let siblings: std::collections::BTreeSet<String> = files
            .iter()
            .filter(|f| f.parent() == Some(dir.as_path()))
            .filter_map(|f| f.file_stem().and_then(|n| n.to_str()).map(String::from))
            .filter(|n| n != "mod")
            .collect();
        for f in files.iter().filter(|f| f.parent() == Some(dir.as_path())) {
            let stem = f.file_stem().and_then(|n| n.to_str()).expect("utf-8");
            if stem == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(f).expect("readable source");
            let entry = edges.entry(format!("{folder}/{stem}")).or_default();
            for to in path_imports(&text, "super::") {
                if siblings.contains(&to) && to != stem {
                    entry.insert(format!("{folder}/{to}"));
                }
            }
        }
    }
    edges
}

/// Architecture invariant: no import circles among the files of one
/// folder either (`world/`'s parts call each other, so the fleet part
/// tells the others through traits they implement instead of naming them).
#[test]
fn no_import_circles_among_the_files_of_a_folder() {
    assert_eq!(circles(&sibling_graph()), Vec::<Vec<String>>::new());
}

#[test]
fn the_sibling_check_sees_a_super_import() {
    assert_eq!(
        path_imports(
            "use super::{books::Shared, Ev};\nlet f = super::fleet_side::Fleet::new();",
            "super::"
        ),
        ["books", "Ev", "fleet_side"]
    );
}

/// Architecture invariant: the typed outcome sits below everything that
/// judges or renders it, so it imports none of them.
#[test]
fn the_outcome_imports_no_driver_verdict_or_report() {
    let hits = mentions(
        "src/outcome.rs",
        &[
            "crate::world",
            "crate::wire",
            "crate::report",
            "crate::expect",
            "crate::scenario",
            "crate::run",
            "crate::sweep",
            "crate::chaos",
        ],
    );
    assert!(
        hits.is_empty(),
        "src/outcome.rs reaches up:\n{}",
        hits.join("\n")
    );
}

/// The lines of `text` from the line that starts (after indentation) with
/// `head` to the closing brace at column 0 (a top-level item); empty when
/// there is no such item.
fn item(text: &str, head: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !inside && line.trim_start().starts_with(head) {
            inside = true;
        }
        if inside {
            out.push(line);
            if line == "}" {
                break;
            }
        }
    }
    out.join("\n")
}

/// The code of the verdicts under `root`: every expectation (`src/expect/`
/// or `src/expect.rs`, unit tests left out), the sweep's figures and
/// chaos's verdict, as (name, text).
fn verdict_sources(root: &Path) -> Vec<(String, String)> {
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap_or_default();
    let mut files = Vec::new();
    let dir = root.join("src/expect");
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    } else {
        files.push(root.join("src/expect.rs"));
    }
    let mut out: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("readable source");
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            (f.display().to_string(), code)
        })
        .collect();
    out.push((
        "src/sweep.rs: fn figures".into(),
        item(&read("src/sweep.rs"), "pub fn figures("),
    ));
    out.push((
        "src/chaos/mod.rs: fn verdict".into(),
        item(&read("src/chaos/mod.rs"), "pub fn verdict("),
    ));
    out
}

/// What a verdict computed from the presentation looks like: it names the
/// summary (the rendering), or it compares text where the outcome has a
/// type (prefixes of times and names, hours cut out of strings, kinds and
/// environments spelled out).
const TEXT_VERDICT_SIGNS: &[&str] = &[
    "Summary",
    "summary::",
    ".starts_with(",
    ".ends_with(",
    ".contains(\"",
    "[11..13]",
    "== \"",
    "!= \"",
];

/// Lines of `sources` (comments skipped) that show a sign of a verdict
/// read off text, as `name: text`.
fn text_verdicts(sources: &[(String, String)]) -> Vec<String> {
    let mut hits = Vec::new();
    for (name, text) in sources {
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if TEXT_VERDICT_SIGNS.iter().any(|s| code.contains(s)) {
                hits.push(format!("{name}: {code}"));
            }
        }
    }
    hits
}

/// Architecture invariant: verdicts judge the typed outcome, never the
/// summary's text. No expectation, pair metric, sweep figure or chaos
/// verdict names the summary, and none matches or slices a string where
/// the outcome has a time, an enum or a number.
#[test]
fn verdicts_judge_the_outcome_not_the_summary_text() {
    let sources = verdict_sources(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        sources.iter().all(|(_, text)| !text.is_empty()),
        "a verdict source went missing: {:?}",
        sources
            .iter()
            .map(|(n, t)| (n, t.len()))
            .collect::<Vec<_>>()
    );
    let hits = text_verdicts(&sources);
    assert!(
        hits.is_empty(),
        "verdicts read the summary's text:\n{}",
        hits.join("\n")
    );
}

/// The check can fail: lines the verdicts had when they read the summary
/// are each caught, a comment is not.
#[test]
fn the_text_verdict_check_sees_a_text_verdict() {
    let old = "pub fn check(&self, s: &Summary, variant: Option<&Summary>) -> R {\n\
               && h[11..13].parse::<u32>().is_ok_and(|x| x >= lo && x <= hi)\n\
               .is_some_and(|b| b.starts_with(\"health gate\"))\n\
               for inc in m.incidents.iter().filter(|i| i.kind != \"auth\") {\n\
               let what = if first.name.contains(\"not converged\") {\n\
               // a comment naming the Summary is fine\n";
    let hits = text_verdicts(&[("old".into(), old.into())]);
    assert_eq!(hits.len(), 5, "{hits:?}");
}

/// The circle finder can fail: a made-up graph with one circle and one
/// one-way import is found to have exactly that circle; the import parser
/// reads grouped and nested `use` lines.
#[test]
fn the_circle_check_sees_a_circle() {
    let mut g: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
    }
    assert_eq!(
        circles(&g),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
    assert_eq!(
        crate_imports("use crate::{expect::{A, B}, scenario};\n// crate::world::X\nlet x = crate::summary::S;"),
        vec!["expect", "scenario", "summary"]
    );
}

/// Files under `root` other than `mod.rs` whose code (comments skipped)
/// opens an `impl World` block.
fn world_impls_outside_mod(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut hits = Vec::new();
    for f in files {
        if f.file_name().is_some_and(|n| n == "mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("readable source");
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && code.starts_with("impl World") {
                hits.push(format!("{}:{}: {}", f.display(), i + 1, code));
            }
        }
    }
    hits
}

/// `World` is a composition: its parts own their state and have their own
/// `impl`s; only `world/mod.rs` (construction and dispatch) implements
/// `World` itself.
#[test]
fn only_world_mod_implements_world() {
    let hits = world_impls_outside_mod(&src("src/world"));
    assert!(
        hits.is_empty(),
        "impl World outside world/mod.rs:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_world_impl_check_sees_an_impl() {
    let dir = std::env::temp_dir().join(format!("cascade-arch-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("mod.rs"), "impl World {}\n").expect("write");
    std::fs::write(
        dir.join("side.rs"),
        "// impl World in a comment\nimpl World {\n}\n",
    )
    .expect("write");
    let hits = world_impls_outside_mod(&dir);
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].ends_with("side.rs:2: impl World {"), "{hits:?}");
}

/// Lines under `dir` (comments skipped) outside `allowed` that call one of
/// the world's doors for processes (`.serve_poll(`, …).
fn world_door_calls(dir: &Path, allowed: &str) -> Vec<String> {
    const DOORS: [&str; 8] = [
        ".serve_poll(",
        ".serve_listing(",
        ".serve_cloud_call(",
        ".serve_probe(",
        ".serve_status(",
        ".agent_exited(",
        ".script_exited(",
        ".hand_over_to_processes(",
    ];
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut hits = Vec::new();
    for f in files.iter().filter(|f| !f.ends_with(allowed)) {
        let text = std::fs::read_to_string(f).expect("readable source");
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && DOORS.iter().any(|d| code.contains(d)) {
                hits.push(format!("{}:{}: {}", f.display(), i + 1, code));
            }
        }
    }
    hits
}

/// Architecture invariant: every input of a black-box run reaches the
/// world through `blackbox/host.rs`, which records it; the live run and
/// the replay share it, so a history replays into the world the run had.
/// Nothing else in `src/` opens the world's doors for processes.
#[test]
fn only_the_host_feeds_the_world_from_outside() {
    let hits = world_door_calls(&src("src/blackbox"), "host.rs");
    assert!(
        hits.is_empty(),
        "doors opened outside host.rs:\n{}",
        hits.join("\n")
    );
    let sample = src("tests/harness/architecture.rs");
    let seen = world_door_calls(&sample, "host.rs");
    assert!(
        seen.iter()
            .any(|h| h.contains("DOORS") || h.contains(".serve_poll(")),
        "the reader sees a door call: {seen:?}"
    );
}
