//! The run folder: everything one run leaves behind, and `reports/latest`.
//!
//! ```text
//! reports/runs/<scenario>/<seed>/
//!   summary.json   the same object as `cascade run --json`
//!   summary.md     for a pull request or a CI job summary
//!   events.jsonl   the trace as JSON Lines (streamed during the run)
//!   trace.json     Chrome trace-event format, opens in Perfetto
//!   report.html    self-contained page with SVG charts
//!   series.json    per-minute series, for `cascade compare`
//! ```

use super::html::render_report;
use super::markdown::render_markdown;
use super::perfetto::trace_json;
use super::series::Series;
use crate::summary::Summary;
use std::io;
use std::path::{Path, PathBuf};

/// The default folder of a run.
pub fn default_run_dir(scenario: &str, seed: u64) -> PathBuf {
    Path::new("reports")
        .join("runs")
        .join(scenario)
        .join(seed.to_string())
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    std::fs::write(path, text)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes every file of the run folder except `events.jsonl` (streamed by the run).
pub fn write_run_folder(
    dir: &Path,
    s: &Summary,
    series: &Series,
    reproduce: &str,
) -> io::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let json = serde_json::to_string_pretty(s).map_err(io::Error::other)?;
    write(&dir.join("summary.json"), &(json + "\n"))?;
    write(&dir.join("summary.md"), &render_markdown(s, reproduce))?;
    let trace = serde_json::to_string(&trace_json(s, series)).map_err(io::Error::other)?;
    write(&dir.join("trace.json"), &trace)?;
    write(
        &dir.join("report.html"),
        &render_report(s, series, reproduce),
    )?;
    let series_json = serde_json::to_string(series).map_err(io::Error::other)?;
    write(&dir.join("series.json"), &series_json)?;
    Ok(())
}

/// Points `reports/latest` at `dir` (a relative symlink, replaced if present).
pub fn point_latest(reports: &Path, dir: &Path) -> io::Result<()> {
    let link = reports.join("latest");
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link).or_else(|_| std::fs::remove_dir_all(&link))?;
    }
    let target = dir.strip_prefix(reports).unwrap_or(dir);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, &link)
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Ok(())
    }
}

/// Loads a finished run folder (for `cascade compare`).
pub fn load_run_folder(dir: &Path) -> Result<(Summary, Series), String> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let s: Summary = serde_json::from_str(&read("summary.json")?)
        .map_err(|e| format!("{}: {e}", dir.join("summary.json").display()))?;
    let series: Series = serde_json::from_str(&read("series.json")?)
        .map_err(|e| format!("{}: {e}", dir.join("series.json").display()))?;
    Ok((s, series))
}
