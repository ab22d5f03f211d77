//! The `cascade` command: the top-level parser and one module per command.
//!
//! Map of the modules:
//! - [`run`]: `cascade run`, one scenario, its summary and its run folder.
//! - [`check`]: `cascade check`, validates scenario files without running them.
//! - [`schema`]: `cascade schema`, the JSON Schema of the scenario and
//!   profile formats.
//! - [`compare`]: `cascade compare`, overlays runs on one page.
//! - [`chaos`]: `cascade chaos`: its arguments, what it says and its exit
//!   code (the exploration itself is [`crate::chaos::explore`]).
//! - [`guided`]: `cascade chaos --guided`, what a guided sweep says (the
//!   exploration itself is [`crate::chaos::guided`]).
//! - [`wire`]: `cascade wire`, a slice of a scenario in the wire tier.
//! - [`serve`]: `cascade serve`, the live tier's servers on real sockets.
//! - [`agent`]: `cascade agent`, one live agent against `cascade serve`.
//! - [`blackbox`]: `cascade blackbox` (your agent and script as processes)
//!   and `cascade verdict` (a recorded history judged again).
//! - [`exit`]: the exit codes of every command (`crate::exit`, defined once
//!   outside the CLI, so that chaos's failure classes can name them).
//! - this file: the parser, the dispatch, and helpers commands share.

pub mod agent;
pub mod blackbox;
pub mod chaos;
pub mod check;
pub mod compare;
pub mod guided;
pub use crate::exit;
pub mod run;
pub mod schema;
pub mod serve;
pub mod wire;

use clap::{Parser, Subcommand};
use exit::Exit;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cascade",
    version,
    about = "Deterministic incident simulation: replays the March 2025 chain and its counterfactuals"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Runs a scenario, prints its summary and writes its run folder.
    Run(run::Args),
    /// Runs a slice of a scenario in the wire tier: real HTTP servers and
    /// agents over turmoil's simulated network and clock.
    Wire(wire::Args),
    /// Live tier: serves the control plane (edge), cloud API and their
    /// internals on real sockets, until killed or `--for` elapses.
    Serve(serve::Args),
    /// Live tier: runs one real agent against `cascade serve`.
    Agent(agent::Args),
    /// Black box: your own agent (and recovery script) as processes
    /// against a scenario's world over HTTP on loopback, judged by the
    /// fleet tier's checks; writes a history `cascade verdict` re-judges.
    Blackbox(blackbox::Args),
    /// Judges a black-box run's recorded history again, offline.
    Verdict(blackbox::VerdictArgs),
    /// Loads and validates scenario files without running them.
    Check(check::Args),
    /// Chaos exploration: each seed draws a fault schedule from the profile;
    /// failures are classified (safety, liveness) and shrunk to minimal.json.
    Chaos(chaos::Args),
    /// Overlays two or more runs (run folders or scenario files) on one page.
    Compare(compare::Args),
    /// Prints the JSON Schema of scenario files (or chaos profiles), for
    /// editors to validate and complete them.
    Schema(schema::Args),
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Ok.into()
                }
                _ => Exit::Usage.into(),
            };
        }
    };
    // The net under every command: a panic that no command caught (outside
    // a run, or in a command that runs nothing) still ends as a verdict,
    // exit 8 with its message, place and reproduction line, never as
    // Rust's exit 101.
    match crate::run::catch_panic(|| dispatch(cli.command)) {
        Ok(code) => code,
        Err(p) => {
            eprintln!(
                "error: cascade {} (verdict: panic; a bug of cascade or a broken assertion of the logic under test)",
                crate::files::terminal_safe(&p.to_string())
            );
            let words: Vec<String> = std::env::args().skip(1).map(|a| shell_quote(&a)).collect();
            eprintln!(
                "reproduce: {}   # at commit {}",
                crate::files::terminal_safe(&format!("cargo run --release -- {}", words.join(" "))),
                env!("CASCADE_COMMIT")
            );
            Exit::Panic.into()
        }
    }
}

fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Run(args) => run::run(args),
        Command::Wire(args) => wire::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Blackbox(args) => blackbox::run(args),
        Command::Verdict(args) => blackbox::verdict(args),
        Command::Check(args) => check::run(args),
        Command::Chaos(args) if args.guided => guided::main(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Schema(args) => schema::run(args),
    }
}

/// A wall-clock duration from `--for` (`cascade serve`, `cascade agent`).
pub(crate) fn wall_duration(text: Option<&str>) -> Result<Option<std::time::Duration>, String> {
    text.map(|t| {
        crate::sim::parse_duration(t)
            .map(|d| std::time::Duration::from_micros(d.as_micros()))
            .map_err(|m| format!("--for: {m}"))
    })
    .transpose()
}

/// `text` as one word of a POSIX shell: as it is when it has only safe
/// characters, else in single quotes.
pub(crate) fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A progress bar on a terminal only: quiet in CI and pipes.
pub(crate) fn progress_bar(len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(bar)
}

/// The command-line name of a `--flag` value, as the user types it.
pub(crate) fn value_name(value: &impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Two numbers joined by `sep`, e.g. `1..21` for `--seeds` (form `A..B`).
pub(crate) fn two_numbers(
    flag: &str,
    form: &str,
    sep: &str,
    text: &str,
) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once(sep)
        .ok_or_else(|| format!("{flag}: expected {form}, found {text:?}"))?;
    let number = |x: &str| {
        x.parse::<u64>()
            .map_err(|_| format!("{flag}: {x:?} is not a number"))
    };
    Ok((number(a)?, number(b)?))
}

/// A seed range `A..B` (end exclusive) for `--seeds`.
pub(crate) fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = two_numbers("--seeds", "A..B", "..", text)?;
    if b <= a {
        return Err(format!("--seeds: expected A < B, found {text}"));
    }
    Ok((a, b))
}

/// The seeds of a sweep: `start..end` (end exclusive), or only its
/// positions `k`, `k + n`, `k + 2n`, … for `--shard k/n`. Known by its
/// bounds, so its size is checked before any list of seeds is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SeedPlan {
    pub start: u64,
    pub end: u64,
    pub shard: Option<(u64, u64)>,
}

impl SeedPlan {
    /// How many seeds the plan runs.
    pub fn len(&self) -> u64 {
        let all = self.end.saturating_sub(self.start);
        match self.shard {
            None => all,
            Some((k, n)) if all > k => (all - k - 1) / n + 1,
            Some(_) => 0,
        }
    }

    /// The seeds, in order. Check [`Self::len`] against a bound first.
    pub fn seeds(&self) -> Vec<u64> {
        let (k, n) = self.shard.unwrap_or((0, 1));
        (self.start.saturating_add(k)..self.end)
            .step_by(usize::try_from(n).unwrap_or(usize::MAX))
            .collect()
    }
}

/// FNV-1a over the (seed, trace hash) pairs of a sweep in seed order: one
/// figure that two machines (or two shards' union) compare before they
/// compare seed by seed.
pub(crate) fn sweep_digest<'a>(runs: impl Iterator<Item = (u64, &'a str)>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (seed, hash) in runs {
        eat(&seed.to_le_bytes());
        eat(hash.as_bytes());
        eat(b"\n");
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn a_seed_plan_counts_its_shard_before_listing_it() {
        use super::SeedPlan;
        for (start, end, shard) in [
            (1, 51, None),
            (1, 51, Some((0, 8))),
            (1, 51, Some((7, 8))),
            (5, 8, Some((2, 3))),
            (5, 7, Some((2, 3))),
            (0, 1, Some((0, 1))),
        ] {
            let plan = SeedPlan { start, end, shard };
            let seeds = plan.seeds();
            assert_eq!(plan.len(), seeds.len() as u64, "{plan:?}");
            let (k, n) = shard.unwrap_or((0, 1));
            let expected: Vec<u64> = (start..end).filter(|x| (x - start) % n == k).collect();
            assert_eq!(seeds, expected, "{plan:?}");
        }
        // The largest range is counted without being listed.
        let huge = SeedPlan {
            start: 1,
            end: u64::MAX,
            shard: Some((3, 1_000)),
        };
        assert_eq!(huge.len(), (u64::MAX - 1 - 3 - 1) / 1_000 + 1);
    }

    #[test]
    fn the_sweep_digest_changes_with_any_seed_or_hash() {
        let d = |runs: &[(u64, &str)]| super::sweep_digest(runs.iter().copied());
        let base = d(&[(1, "00aa"), (2, "00bb")]);
        assert_eq!(base, d(&[(1, "00aa"), (2, "00bb")]));
        assert_ne!(base, d(&[(1, "00aa"), (2, "00bc")]));
        assert_ne!(base, d(&[(1, "00aa"), (3, "00bb")]));
        assert_ne!(base, d(&[(1, "00aa")]));
    }

    #[test]
    fn the_parser_is_well_formed() {
        Cli::command().debug_assert();
    }
}
