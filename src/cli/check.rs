//! `cascade check`: loads and validates scenario files without running them.

use super::exit::Exit;
use crate::scenario;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cascade check`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let mut bad = false;
    for p in &args.scenarios {
        match scenario::load(p) {
            Ok(s) => println!(
                "ok    {} ({}, {} timeline items, {} expectations)",
                crate::files::terminal_safe(&p.display().to_string()),
                s.name,
                s.timeline.items.len(),
                s.expectations.len()
            ),
            Err(e) => {
                eprintln!("error {}", crate::files::terminal_safe(&e.to_string()));
                bad = true;
            }
        }
    }
    if bad {
        Exit::Usage.into()
    } else {
        Exit::Ok.into()
    }
}
