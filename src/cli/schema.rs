//! `cascade schema`: the JSON Schema of the scenario or chaos profile
//! format, generated from the Rust types the loaders read (so it cannot
//! fall behind them; `tests/harness/cli.rs` keeps the committed copies in step),
//! or with `--openapi` the OpenAPI 3.1 document of the HTTP APIs, from the
//! wire types (`tests/harness/openapi.rs` keeps `docs/openapi.json` in step).

use super::exit::{self, Exit};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cascade schema`.
#[derive(clap::Args)]
pub struct Args {
    /// Which file format.
    #[arg(value_enum, default_value = "scenario")]
    pub format: Format,
    /// Print the OpenAPI 3.1 document of the control-plane, cloud and admin
    /// HTTP APIs instead (what `docs/openapi.json` holds).
    #[arg(long, conflicts_with = "format")]
    pub openapi: bool,
    /// Write it to this file (atomically) instead of standard output. A
    /// file already there is replaced only if it is a schema cascade wrote.
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
    let mut schema = match format {
        Format::Scenario => crate::schema::scenario_schema(),
        Format::Profile => crate::schema::profile_schema(),
    };
    plain_descriptions(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

/// Doc comments escape a basis tag (`\[A]`, `\[fact]`) so that rustdoc
/// does not read it as a link; an editor shows the tag itself.
fn plain_descriptions(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x {
                    serde_json::Value::String(s) if k == "description" => {
                        *s = s.replace("\\[", "[");
                    }
                    _ => plain_descriptions(x),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(plain_descriptions),
        _ => {}
    }
}

/// The OpenAPI document's text: pretty JSON, keys sorted, a final newline.
pub fn openapi_text() -> String {
    let mut text = serde_json::to_string_pretty(&crate::wire::openapi::document())
        .expect("a document serialises");
    text.push('\n');
    text
}

pub fn run(args: Args) -> ExitCode {
    let text = if args.openapi {
        openapi_text()
    } else {
        text(args.format)
    };
    match args.out {
        None => {
            print!("{text}");
            Exit::Ok.into()
        }
        Some(path) => match crate::files::write_replacing_own(&path, text.as_bytes(), is_schema) {
            Ok(()) => Exit::Ok.into(),
            Err(e) => exit::output(format!("cannot write {e}")),
        },
    }
}

/// Whether `bytes` are a schema `cascade schema` wrote, of either format
/// (by its title), or its OpenAPI document (by `openapi` and
/// `info.title`): the only files `--out` replaces.
fn is_schema(bytes: &[u8]) -> bool {
    let title = |v: &serde_json::Value| v.get("title").and_then(|t| t.as_str()).map(str::to_owned);
    let Ok(old) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return false;
    };
    if old.get("openapi").is_some() {
        return old.pointer("/info/title").and_then(|t| t.as_str())
            == Some(crate::wire::openapi::TITLE);
    }
    let Some(old) = Some(old)
        .filter(|v| v.get("$schema").is_some())
        .and_then(|v| title(&v))
    else {
        return false;
    };
    [Format::Scenario, Format::Profile].iter().any(|f| {
        serde_json::from_str::<serde_json::Value>(&text(*f))
            .ok()
            .and_then(|v| title(&v))
            .is_some_and(|t| t == old)
    })
}
