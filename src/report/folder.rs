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
//!
//! A folder is finished when it has `summary.json`: [`RunFolder`] removes it
//! first and writes it last, each file through a temporary name.

use super::html::render_report;
use super::markdown::render_markdown;
use super::perfetto::trace_json;
use super::series::Series;
use crate::files::{read_to_string_capped, temporary_name, write_atomically, RUN_FILE_BYTES_MAX};
use crate::summary::Summary;
use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// The mark of a finished run: written last.
pub const SUMMARY_FILE: &str = "summary.json";
const SERIES_FILE: &str = "series.json";
const EVENTS_FILE: &str = "events.jsonl";
/// Locked while a run writes the folder; removed when it is done.
const LOCK_FILE: &str = ".lock";

/// The default folder of a run.
pub fn default_run_dir(scenario: &str, seed: u64) -> PathBuf {
    Path::new("reports")
        .join("runs")
        .join(scenario)
        .join(seed.to_string())
}

/// A run folder being written. Opening it takes the folder's lock (a second
/// run into the same folder is refused, not interleaved) and removes
/// `summary.json`, the mark of a finished run, so from then until
/// [`RunFolder::finish`] the folder never looks complete: a run killed
/// midway leaves files of two runs perhaps, but no summary. Every file is
/// written under a temporary name and renamed into place; the events go to
/// a temporary file renamed at the end; `summary.json` comes last.
pub struct RunFolder {
    dir: PathBuf,
    /// Holds the advisory lock on `.lock` (released when dropped, and by
    /// the system if the process dies).
    lock: File,
}

impl RunFolder {
    /// Creates `dir` if needed, locks it and removes its completion mark.
    pub fn open(dir: &Path) -> Result<RunFolder, String> {
        let at = |e: io::Error| format!("{}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(at)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(at)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "{}: another cascade run is writing this folder (give --out another folder)",
                    dir.display()
                ))
            }
            Err(TryLockError::Error(e)) => return Err(at(e)),
        }
        match std::fs::remove_file(dir.join(SUMMARY_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(at(e)),
        }
        // Temporary files of runs killed before they finished: nobody else
        // writes here while the lock is held, so they are leftovers.
        for entry in std::fs::read_dir(dir).map_err(at)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".partial") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new, empty file for the streamed events, under a temporary name
    /// until [`Self::finish`].
    pub fn events_file(&self) -> io::Result<File> {
        let tmp = temporary_name(&self.dir.join(EVENTS_FILE));
        File::create(&tmp).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", tmp.display())))
    }

    /// Gives the folder up without finishing it (the run stopped short or
    /// its events could not be written): the temporary events file and
    /// the lock go, and with no `summary.json` the folder does not pass
    /// for a finished run.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(temporary_name(&self.dir.join(EVENTS_FILE)));
        let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
    }

    /// Writes every file of the run, `summary.json` last, and releases the
    /// folder. `events_streamed`: whether [`Self::events_file`] was written
    /// (else an `events.jsonl` of an earlier run is removed, so as not to
    /// pass for this one's).
    pub fn finish(
        self,
        s: &Summary,
        series: &Series,
        reproduce: &str,
        events_streamed: bool,
    ) -> io::Result<()> {
        let dir = &self.dir;
        let events = dir.join(EVENTS_FILE);
        if events_streamed {
            std::fs::rename(temporary_name(&events), &events)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", events.display())))?;
        } else {
            match std::fs::remove_file(&events) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("{}: {e}", events.display()),
                    ))
                }
            }
        }
        write_atomically(
            &dir.join("summary.md"),
            render_markdown(s, reproduce).as_bytes(),
        )?;
        let trace = serde_json::to_string(&trace_json(s, series)).map_err(io::Error::other)?;
        write_atomically(&dir.join("trace.json"), trace.as_bytes())?;
        write_atomically(
            &dir.join("report.html"),
            render_report(s, series, reproduce).as_bytes(),
        )?;
        let series_json = serde_json::to_string(series).map_err(io::Error::other)?;
        write_atomically(&dir.join(SERIES_FILE), series_json.as_bytes())?;
        let json = serde_json::to_string_pretty(s).map_err(io::Error::other)?;
        write_atomically(&dir.join(SUMMARY_FILE), (json + "\n").as_bytes())?;
        // The lock file goes; the lock itself is released when `lock` drops.
        let _ = std::fs::remove_file(dir.join(LOCK_FILE));
        drop(self.lock);
        Ok(())
    }
}

/// Points `reports/latest` at `dir` (a relative symlink). Only a symlink is
/// ever replaced: a real file or folder named `latest` is the user's, and
/// is left alone with an error. Nothing is done when `dir` is `latest`
/// itself (`--out reports/latest`).
pub fn point_latest(reports: &Path, dir: &Path) -> io::Result<()> {
    let link = reports.join("latest");
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(&link, dir) {
        return Ok(());
    }
    match link.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&link)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not a link the harness made; left as it is",
                    link.display()
                ),
            ))
        }
        Err(_) => {}
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

/// Loads a finished run folder (for `cascade compare`): one with its
/// `summary.json`, read within [`RUN_FILE_BYTES_MAX`] per file.
pub fn load_run_folder(dir: &Path) -> Result<(Summary, Series), String> {
    let read = |name: &str| {
        let p = dir.join(name);
        read_to_string_capped(&p, RUN_FILE_BYTES_MAX).map_err(|m| {
            if name == SUMMARY_FILE && !p.exists() {
                format!(
                    "{}: not a finished run folder (no {SUMMARY_FILE})",
                    dir.display()
                )
            } else {
                format!("{}: {m}", p.display())
            }
        })
    };
    let s: Summary = serde_json::from_str(&read(SUMMARY_FILE)?)
        .map_err(|e| format!("{}: {e}", dir.join(SUMMARY_FILE).display()))?;
    let series: Series = serde_json::from_str(&read(SERIES_FILE)?)
        .map_err(|e| format!("{}: {e}", dir.join(SERIES_FILE).display()))?;
    Ok((s, series))
}
