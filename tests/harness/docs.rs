//! The documentation is a test (issue 32).
//!
//! - Every `console` block of README.md and of the book (`docs/src/`) runs:
//!   each `$ cascade ...` line with the freshly built binary, from the
//!   repository's root, and what it prints must match what the page shows
//!   (`...` on its own line elides lines, `[..]` elides within a line, a
//!   `? N` line states a non-zero exit code). A changed output fails here
//!   until the page is updated: `TRYCMD=overwrite cargo test --test harness docs::`
//!   rewrites the pages' blocks from the runs (then read the diff).
//! - Every `cargo run --release -- ARGS` a page shows (the form a newcomer
//!   types before installing) is also shown, and so run, as
//!   `$ cascade ARGS` in some console block.
//! - Every relative link of README.md and the book names a file that
//!   exists, and every page of `docs/src/` is in the book's SUMMARY.md.
//!
//! Pages run commands that finish in seconds and write nowhere in the
//! checkout except the one run folder README.md's first block writes
//! (`reports/runs/march-2025/1/`, ignored by git).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// README.md and every Markdown page of the book, sorted.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![PathBuf::from("README.md")];
    let mut stack = vec![PathBuf::from("docs/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs/src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

#[test]
fn every_console_block_of_the_readme_and_the_book_runs_as_shown() {
    let cases = trycmd::TestCases::new();
    cases.register_bin("cascade", Path::new(env!("CARGO_BIN_EXE_cascade")));
    for page in pages() {
        cases.case(page);
    }
}

/// Where a line of a page stands: in prose, on a fence (with the info
/// string of the block it opens or closes), or inside a fenced block.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place<'a> {
    Prose,
    Fence(&'a str),
    Block(&'a str),
}

/// Each line of a page with its place.
fn placed(text: &str) -> impl Iterator<Item = (Place<'_>, &str)> {
    let mut open: Option<&str> = None;
    text.lines().map(move |line| {
        let place = match line.trim_start().strip_prefix("```") {
            Some(info) => Place::Fence(match open.take() {
                Some(opened) => opened,
                None => open.insert(info.trim()),
            }),
            None => open.map_or(Place::Prose, Place::Block),
        };
        (place, line)
    })
}

/// Whether trycmd runs a block of this info string.
fn runs(info: &str) -> bool {
    matches!(info, "console" | "trycmd")
}

/// The `$ cascade ARGS` lines of a page's console blocks.
fn console_commands(text: &str) -> Vec<String> {
    placed(text)
        .filter(|(place, _)| matches!(place, Place::Block(info) if runs(info)))
        .filter_map(|(_, line)| line.strip_prefix("$ "))
        .map(|command| command.trim().to_string())
        .collect()
}

#[test]
fn every_cargo_run_a_page_shows_is_also_run_as_cascade() {
    let pages = pages();
    let mut run: BTreeSet<String> = BTreeSet::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        run.extend(console_commands(&text));
    }
    let mut not_run = Vec::new();
    let mut shown = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        // A console block's output lines are what cascade printed (its
        // reproduction line among them), not commands a page shows.
        for line in lines_outside_console_blocks(&text) {
            let Some(at) = line.find("cargo run --release -- ") else {
                continue;
            };
            let rest = &line[at + "cargo run --release -- ".len()..];
            // Up to a shell comment or the end of an inline code span.
            let args = rest.split(['#', '`']).next().unwrap_or("").trim();
            if args.is_empty() || args.contains('<') || args.contains("...") {
                continue; // a synopsis, not a command
            }
            shown += 1;
            let command = format!("cascade {args}");
            if !run.contains(&command) {
                not_run.push(format!("{}: {command}", page.display()));
            }
        }
    }
    assert!(
        shown >= 1,
        "README.md shows the main job as `cargo run --release -- ...`"
    );
    assert!(
        not_run.is_empty(),
        "shown as `cargo run --release --` but never run as `$ cascade ...` in a console block:\n{}",
        not_run.join("\n")
    );
}

/// A page's lines outside its console blocks.
fn lines_outside_console_blocks(text: &str) -> Vec<&str> {
    placed(text)
        .filter(|(place, _)| match place {
            Place::Prose => true,
            Place::Fence(info) | Place::Block(info) => !runs(info),
        })
        .map(|(_, line)| line)
        .collect()
}

/// The `cascade ...` command lines of a page's `sh` blocks (the commands
/// that take minutes, a network or other processes, shown but not run),
/// continuation lines joined, comments cut off.
fn sh_block_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    for (place, line) in placed(text) {
        if place != Place::Block("sh") {
            pending.clear();
            continue;
        }
        let code = line.split(" #").next().unwrap_or("").trim_end();
        let code = if code.trim_start().starts_with('#') {
            ""
        } else {
            code
        };
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(code);
        let command = std::mem::take(&mut pending).trim().to_string();
        if command.starts_with("cascade ") {
            commands.push(command);
        }
    }
    commands
}

/// A command line split into words as a POSIX shell would for the quoting
/// the pages use (single and double quotes, no escapes inside them).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Commands shown in `sh` blocks are not run (minutes of chaos, a mutation
/// run, processes on sockets), but each one that is a command rather than
/// a synopsis (no `<placeholder>`, `[optional]` or `a|b`) must still be one
/// the `cascade` command accepts: its subcommand, flags and values parse.
#[test]
fn every_cascade_command_shown_but_not_run_parses() {
    use clap::Parser;
    let mut checked = 0;
    let mut refused = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for command in sh_block_commands(&text) {
            if command.contains(['<', '[', '|']) || command.contains("...") {
                continue;
            }
            checked += 1;
            if let Err(e) = cascade::cli::Cli::try_parse_from(shell_words(&command)) {
                let why = e.to_string();
                let why = why.lines().next().unwrap_or("");
                refused.push(format!("{}: {command}\n    {why}", page.display()));
            }
        }
    }
    assert!(checked >= 10, "the pages show commands: {checked}");
    assert!(
        refused.is_empty(),
        "shown but refused:\n{}",
        refused.join("\n")
    );
}

/// The targets of a page's Markdown links `[text](target)` that are paths
/// in the repository (not URLs, not in-page anchors), anchors cut off.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    for (_, line) in placed(text).filter(|(place, _)| *place == Place::Prose) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split('#').next().unwrap_or("");
            let target = target.split_whitespace().next().unwrap_or("");
            let is_url = target.contains("://") || target.starts_with("mailto:");
            if !target.is_empty() && !is_url {
                links.push(target.to_string());
            }
            rest = &after[end..];
        }
    }
    links
}

#[test]
fn every_relative_link_names_a_file_and_every_page_is_in_the_summary() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap_or(Path::new("."));
        for link in relative_links(&text) {
            if !dir.join(&link).exists() {
                broken.push(format!("{}: {link}", page.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to nothing:\n{}",
        broken.join("\n")
    );

    let summary = std::fs::read_to_string("docs/src/SUMMARY.md").unwrap();
    let listed: BTreeSet<String> = relative_links(&summary).into_iter().collect();
    let missing: Vec<String> = pages()
        .iter()
        .filter_map(|p| p.strip_prefix("docs/src").ok())
        .map(|p| p.display().to_string())
        .filter(|p| p != "SUMMARY.md" && !listed.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "pages not in docs/src/SUMMARY.md: {missing:?}"
    );
    assert!(listed.len() >= 8, "the book has its pages: {listed:?}");
}

#[test]
fn the_link_reader_finds_links_and_skips_urls_and_code() {
    let text = "see [a](a.md) and [b](../b.md#x) and [u](https://x.org)\n```\n[c](c.md)\n```\n";
    assert_eq!(relative_links(text), vec!["a.md", "../b.md"]);
    let blocks = "```console\n$ cascade check x.json\nok\n```\n```sh\n$ cascade no\n```\n";
    assert_eq!(console_commands(blocks), vec!["cascade check x.json"]);
    assert_eq!(
        lines_outside_console_blocks(blocks),
        vec!["```sh", "$ cascade no", "```"]
    );
    let sh =
        "```sh\n# a comment\ncascade run a.json \\\n  --set 'k=v w'   # why\ncargo test\n```\n";
    assert_eq!(
        sh_block_commands(sh),
        vec!["cascade run a.json    --set 'k=v w'"]
    );
    assert_eq!(
        shell_words("cascade run a.json --set 'k=v w' --x \"q\""),
        vec!["cascade", "run", "a.json", "--set", "k=v w", "--x", "q"]
    );
}

/// The book shows the crate-level example of `src/lib.rs` (which `cargo
/// test --doc` compiles and runs) as an untested `rust,ignore` block: it
/// must be that example, line for line.
#[test]
fn the_books_rust_example_is_the_tested_doctest() {
    let page = std::fs::read_to_string("docs/src/from-rust.md").unwrap();
    let example = Place::Block("rust,ignore");
    let shown: Vec<&str> = placed(&page)
        .skip_while(|(place, _)| *place != example)
        .take_while(|(place, _)| *place == example)
        .map(|(_, line)| line)
        .collect();
    assert!(shown.len() >= 10, "docs/src/from-rust.md shows the example");
    let lib = std::fs::read_to_string("src/lib.rs").unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let found = doc.windows(shown.len()).any(|w| w == shown.as_slice());
    assert!(
        found,
        "docs/src/from-rust.md's example is not src/lib.rs's doctest"
    );
}
