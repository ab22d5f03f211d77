//! `cascade schema`: the JSON Schema of the scenario or chaos profile
//! format, generated from the Rust types the loaders read (so it cannot
//! fall behind them; `tests/cli.rs` keeps the committed copies in step).

use super::exit::{self, Exit};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cascade schema`.
#[derive(clap::Args)]
pub struct Args {
    /// Which file format.
    #[arg(value_enum, default_value = "scenario")]
    pub format: Format,
    /// Write it to this file (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The input formats that have a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Scenario files (`scenarios/**/*.json`).
    Scenario,
    /// Chaos profiles (`scenarios/chaos/*.profile.json`).
    Profile,
}

/// The schema's text: pretty JSON with a final newline.
pub fn text(format: Format) -> String {
    let schema = match format {
        Format::Scenario => crate::schema::scenario_schema(),
        Format::Profile => crate::schema::profile_schema(),
    };
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

pub fn run(args: Args) -> ExitCode {
    let text = text(args.format);
    match args.out {
        None => {
            print!("{text}");
            Exit::Ok.into()
        }
        Some(path) => match crate::files::write_atomically(&path, text.as_bytes()) {
            Ok(()) => Exit::Ok.into(),
            Err(e) => exit::output(format!("cannot write {}: {e}", path.display())),
        },
    }
}
