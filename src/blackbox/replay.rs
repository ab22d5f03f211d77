//! A recorded history replayed into a fresh world (`cascade verdict DIR`):
//! the header builds the world as the run built it (the scenario copy
//! `scenario.json` beside the history, its overrides, seed, window), each
//! input line is served again at its time through the same [`Host`], and
//! the answers the world gives now are compared with the recorded ones.
//! The outcome is judged as the run's was.

use super::history::{Header, Http, Line, FORMAT, LINE_BYTES_MAX};
use super::host::{Host, Input};
use crate::outcome::Outcome;
use crate::protocol::ClusterId;
use crate::scenario::{self, Override, Scenario};
use crate::world::World;
use cascade_sim::SimTime;
use std::io::BufRead;
use std::path::Path;
use std::str::FromStr;

/// A history at most this large is read.
pub const HISTORY_BYTES_MAX: u64 = 8 << 30;

/// A recorded answer the replay answered differently.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// 1-based line of the history.
    pub line: usize,
    pub recorded: Http,
    pub replayed: Http,
}

/// What a replay found.
pub struct Replayed {
    pub header: Header,
    pub scenario: Scenario,
    pub world: World,
    pub outcome: Outcome,
    /// Answers that differ (the first few kept), and how many in all.
    pub divergences: Vec<Divergence>,
    pub divergences_total: u64,
    pub inputs: u64,
}

/// Divergences kept in full.
const DIVERGENCES_KEPT: usize = 10;

/// Loads the scenario a history's header names: the copy in `dir`, with
/// its overrides and its end.
pub fn scenario_of(dir: &Path, header: &Header) -> Result<Scenario, String> {
    let path = dir.join("scenario.json");
    let overrides = header
        .overrides
        .iter()
        .map(|o| {
            Override::from_str(o).map_err(|e| format!("{}: override {o:?}: {e}", path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut sc = scenario::load_with(&path, &overrides).map_err(|e| e.to_string())?;
    sc.end = SimTime::from_micros(header.end_us);
    Ok(sc)
}

/// Replays `dir/history.jsonl`. Errors name the file, the line and what
/// was expected.
pub fn replay(dir: &Path) -> Result<Replayed, String> {
    let path = dir.join("history.jsonl");
    let shown = path.display().to_string();
    let meta = std::fs::metadata(&path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.len() > HISTORY_BYTES_MAX {
        return Err(format!(
            "{shown}: {} bytes, above the {HISTORY_BYTES_MAX} a history may have",
            meta.len()
        ));
    }
    let file = std::fs::File::open(&path).map_err(|e| format!("{shown}: {e}"))?;
    let mut lines = std::io::BufReader::new(file).lines().enumerate();
    let header = match lines.next() {
        Some((_, Ok(text))) => match parse_line(&shown, 1, &text)? {
            Line::Header(h) => h,
            _ => return Err(format!("{shown}:1: expected the header line first")),
        },
        Some((_, Err(e))) => return Err(format!("{shown}:1: {e}")),
        None => return Err(format!("{shown}: empty; expected a header line")),
    };
    if header.format != FORMAT {
        return Err(format!(
            "{shown}:1: format: expected {FORMAT}, found {}",
            header.format
        ));
    }
    let scenario = scenario_of(dir, &header)?;
    let mut host = Host::build(&scenario, &header);
    let mut divergences = Vec::new();
    let mut total = 0u64;
    let mut inputs = 0u64;
    let mut last_t = 0u64;
    for (k, text) in lines {
        let n = k + 1;
        let text = text.map_err(|e| format!("{shown}:{n}: {e}"))?;
        if text.trim().is_empty() {
            continue;
        }
        let line = parse_line(&shown, n, &text)?;
        let t = line.t_us();
        if t < last_t {
            return Err(format!(
                "{shown}:{n}: t_us: expected at least {last_t} (lines are in time order), found {t}"
            ));
        }
        last_t = t;
        if let Line::End { t_us } = line {
            // A run interrupted before its end: judged where it ended.
            let end = SimTime::from_micros(t_us);
            if end < host.end() {
                host.advance(end);
                host.end_now();
            }
            continue;
        }
        let Some((input, recorded)) = input_of(&shown, n, &line, scenario.model.fleet.clusters)?
        else {
            continue;
        };
        inputs += 1;
        let replayed = host.serve(SimTime::from_micros(t), input);
        host.take_lines();
        host.take_commands();
        if let Some(recorded) = recorded {
            if recorded != replayed {
                total += 1;
                if divergences.len() < DIVERGENCES_KEPT {
                    divergences.push(Divergence {
                        line: n,
                        recorded,
                        replayed,
                    });
                }
            }
        }
    }
    let (world, outcome) = host.finish();
    Ok(Replayed {
        header,
        scenario,
        world,
        outcome,
        divergences,
        divergences_total: total,
        inputs,
    })
}

fn parse_line(shown: &str, n: usize, text: &str) -> Result<Line, String> {
    if text.len() > LINE_BYTES_MAX {
        return Err(format!(
            "{shown}:{n}: {} bytes, above the {LINE_BYTES_MAX} a line may have",
            text.len()
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{shown}:{n}: expected a history line (header, poll, listing, cloud, probe, status, agent_exited, script_exited, command, end): {e}"
        )
    })
}

/// The world's input a line records, and the answer it recorded.
fn input_of(
    shown: &str,
    n: usize,
    line: &Line,
    clusters: u32,
) -> Result<Option<(Input, Option<Http>)>, String> {
    let cluster_ok = |c: ClusterId| {
        if c < clusters {
            Ok(c)
        } else {
            Err(format!(
                "{shown}:{n}: cluster: expected below {clusters} (the run's fleet), found {c}"
            ))
        }
    };
    Ok(Some(match line {
        Line::Poll {
            cluster, answer, ..
        } => (Input::Poll(cluster_ok(*cluster)?), Some(answer.clone())),
        Line::Listing {
            cluster,
            by,
            answer,
            ..
        } => (
            Input::Listing(cluster_ok(*cluster)?, *by),
            Some(answer.clone()),
        ),
        Line::Cloud {
            cluster,
            pool,
            call,
            nodes,
            by,
            answer,
            ..
        } => {
            let p = crate::wire::api::parse_pool(pool).ok_or_else(|| {
                format!("{shown}:{n}: pool: expected a pool name, found {pool:?}")
            })?;
            let call = call.cloud(*nodes).ok_or_else(|| {
                format!("{shown}:{n}: nodes: expected the node count of a create")
            })?;
            (
                Input::Cloud(cluster_ok(*cluster)?, p, call, *by),
                Some(answer.clone()),
            )
        }
        Line::Probe {
            cluster,
            via,
            answer,
            ..
        } => (
            Input::Probe(cluster_ok(*cluster)?, *via),
            Some(answer.clone()),
        ),
        Line::Status {
            cluster, in_hold, ..
        } => (Input::Status(cluster_ok(*cluster)?, *in_hold), None),
        Line::AgentExited { cluster, exit, .. } => (
            Input::AgentExited(cluster_ok(*cluster)?, exit.clone()),
            None,
        ),
        Line::ScriptExited {
            run,
            clusters: cs,
            exit,
            ..
        } => {
            let cs = cs
                .iter()
                .map(|&c| cluster_ok(c))
                .collect::<Result<_, _>>()?;
            (Input::ScriptExited(*run, cs, exit.clone()), None)
        }
        Line::Header(_) => return Err(format!("{shown}:{n}: a second header")),
        Line::Command { .. } | Line::End { .. } => return Ok(None),
    }))
}
