//! The `cascade` command: the top-level parser and one module per command.
//!
//! Map of the modules:
//! - [`run`]: `cascade run`, one scenario, its summary and its run folder.
//! - [`check`]: `cascade check`, validates scenario files without running them.
//! - [`compare`]: `cascade compare`, overlays runs on one page.
//! - [`chaos`]: `cascade chaos`, the sweep over seeds with the closing table.
//! - [`wire`]: `cascade wire`, a slice of a scenario in the wire tier.
//! - [`serve`]: `cascade serve`, the live tier's servers on real sockets.
//! - [`agent`]: `cascade agent`, one live agent against `cascade serve`.
//! - [`exit`]: the exit codes of every command, defined once.
//! - this file: the parser, the dispatch, and helpers commands share.

pub mod agent;
pub mod chaos;
pub mod check;
pub mod compare;
pub mod exit;
pub mod run;
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
    /// Loads and validates scenario files without running them.
    Check(check::Args),
    /// Chaos exploration: each seed draws a fault schedule from the profile;
    /// failures are classified (safety, liveness) and shrunk to minimal.json.
    Chaos(chaos::Args),
    /// Overlays two or more runs (run folders or scenario files) on one page.
    Compare(compare::Args),
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
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Wire(args) => wire::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Check(args) => check::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Compare(args) => compare::run(args),
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_parser_is_well_formed() {
        Cli::command().debug_assert();
    }
}
