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
//!
//! cascade writes only into a folder that is missing, empty, or one it
//! wrote: one with cascade's `summary.json` (a finished run) or with the
//! `.lock` cascade makes (a run under way, or killed before it finished).
//! There it replaces its own file names and nothing else; a link, folder,
//! fifo, socket, device or read-only file at one of them is left as it is
//! and refused. `--force` lets a run write into another folder too, beside
//! the files there, never over one.

use super::html::render_report;
use super::markdown::render_markdown;
use super::perfetto::trace_json;
use super::series::Series;
use super::Summary;
use crate::files::{
    check_replaceable, create_temporary, is_temporary_of, put_in_place, read_to_string_capped,
    terminal_safe, write_atomically, RUN_FILE_BYTES_MAX,
};
use std::cell::OnceCell;
use std::fs::{File, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// The mark of a finished run: written last.
pub const SUMMARY_FILE: &str = "summary.json";
const SERIES_FILE: &str = "series.json";
const EVENTS_FILE: &str = "events.jsonl";
/// Locked while a run writes the folder; removed when it is done, after
/// every write and before the lock is let go.
const LOCK_FILE: &str = ".lock";
/// Every name cascade gives a file of a run folder.
const RUN_NAMES: [&str; 7] = [
    SUMMARY_FILE,
    "summary.md",
    EVENTS_FILE,
    "trace.json",
    "report.html",
    SERIES_FILE,
    LOCK_FILE,
];
/// What cascade's lock file says, so that a `.lock` of someone else's is
/// never taken for it (nor removed).
const LOCK_MARK: &str =
    "cascade: a run is writing this folder, or was stopped before it finished\n";
/// Attempts at taking the lock when its file keeps going and coming (runs
/// finishing as others start).
const LOCK_TRIES: u32 = 16;

/// The default folder of a run.
pub fn default_run_dir(scenario: &str, seed: u64) -> PathBuf {
    Path::new("reports")
        .join("runs")
        .join(scenario)
        .join(seed.to_string())
}

/// Why a run folder could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Another run is writing the folder (a usage error: exit 2).
    Busy(String),
    /// The folder, or something in it, is not cascade's to write: left as
    /// it is (exit 6).
    Refused(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Busy(m) | OpenError::Refused(m) => f.write_str(m),
        }
    }
}

/// `path` as it may be echoed in a message.
fn shown(path: &Path) -> String {
    terminal_safe(&path.display().to_string()).into_owned()
}

/// Whether `a` is the very file now at `path` (not one that was removed
/// and replaced since).
fn is_at(a: &File, path: &Path) -> bool {
    let (Ok(m), Ok(p)) = (a.metadata(), std::fs::symlink_metadata(path)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        m.dev() == p.dev() && m.ino() == p.ino()
    }
    #[cfg(not(unix))]
    {
        m.is_file() && p.is_file()
    }
}

/// Whether `path` is a `summary.json` cascade wrote: a regular file with
/// the object of `cascade run --json` (its trace hash among the rest).
fn is_cascade_summary(path: &Path) -> bool {
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        return false;
    }
    let Ok(text) = read_to_string_capped(path, RUN_FILE_BYTES_MAX) else {
        return false;
    };
    let Ok(serde_json::Value::Object(o)) = serde_json::from_str(&text) else {
        return false;
    };
    let hash = o.get("trace_hash").and_then(|h| h.as_str()).unwrap_or("");
    hash.len() == 16
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && [
            "scenario",
            "seed",
            "commit",
            "events",
            "stop_reason",
            "expectations",
            "metrics",
        ]
        .iter()
        .all(|k| o.contains_key(*k))
}

/// Whether the file `f` holds cascade's lock mark.
fn is_marked(f: &File) -> bool {
    let mut text = Vec::new();
    f.take(LOCK_MARK.len() as u64 + 1)
        .read_to_end(&mut text)
        .is_ok_and(|_| text == LOCK_MARK.as_bytes())
}

/// Whether `dir/.lock` is cascade's lock file (a regular file with its mark).
fn has_cascade_lock(dir: &Path) -> bool {
    let path = dir.join(LOCK_FILE);
    std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file())
        && File::open(&path).is_ok_and(|f| is_marked(&f))
}

/// Whether `name` is one of cascade's in a run folder, or a temporary name
/// of one.
fn is_run_name(name: &str) -> bool {
    RUN_NAMES
        .iter()
        .any(|n| name == *n || is_temporary_of(name, n))
}

/// The names in `dir`.
fn entries(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir)? {
        names.push(e?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
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
    /// The temporary file the events stream into, once made.
    events_tmp: OnceCell<PathBuf>,
}

impl RunFolder {
    /// Opens `dir` as [`Self::open_with`] does without `--force`; the error
    /// is its message.
    pub fn open(dir: &Path) -> Result<RunFolder, String> {
        Self::open_with(dir, false).map_err(|e| e.to_string())
    }

    /// Creates `dir` if needed, checks that it is cascade's to write (or,
    /// with `force`, that none of cascade's names is taken there), locks
    /// it, removes its completion mark and checks that each of its files
    /// can be replaced.
    pub fn open_with(dir: &Path, force: bool) -> Result<RunFolder, OpenError> {
        Self::open_paused(dir, force, &mut || {})
    }

    /// [`Self::open_with`], calling `pause` between opening an existing
    /// lock file and locking it (where a test makes other runs come and go).
    fn open_paused(
        dir: &Path,
        force: bool,
        pause: &mut dyn FnMut(),
    ) -> Result<RunFolder, OpenError> {
        let at = |e: io::Error| OpenError::Refused(format!("{}: {e}", shown(dir)));
        // The folder itself (a link the user made to a folder is followed).
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                let what = if m.is_file() {
                    "a file"
                } else {
                    "not a folder"
                };
                return Err(OpenError::Refused(format!(
                    "{}: {what}, not a folder; left as it is",
                    shown(dir)
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(at)?
            }
            Err(e) => return Err(at(e)),
        }
        // Whose folder it is.
        let names = entries(dir).map_err(at)?;
        let summary = dir.join(SUMMARY_FILE);
        // A run makes its lock file before it removes the summary and
        // writes the summary before it removes its lock file, so one of
        // the two is always there; looking at each in turn, a few times,
        // sees one even while other runs start and finish.
        let ours = (0..4).any(|_| has_cascade_lock(dir) || is_cascade_summary(&summary));
        if !ours && !names.is_empty() {
            if !force {
                let why = if names.iter().any(|n| n == SUMMARY_FILE) {
                    format!("{} is not cascade's", shown(&summary))
                } else {
                    format!("no {SUMMARY_FILE} or {LOCK_FILE} of cascade's")
                };
                return Err(OpenError::Refused(format!(
                    "{}: not empty and not a run folder cascade wrote ({why}); nothing in it was touched: \
                     give --out a new or empty folder, or add --force to write cascade's files beside the ones there",
                    shown(dir)
                )));
            }
            if let Some(taken) = names.iter().find(|n| is_run_name(n)) {
                return Err(OpenError::Refused(format!(
                    "{}: a file cascade did not write, in the way of its own; left as it is \
                     (--force writes beside the files of a folder, never over them)",
                    shown(&dir.join(taken))
                )));
            }
        }
        let lock = take_lock(dir, pause)?;
        let folder = RunFolder {
            dir: dir.to_path_buf(),
            lock,
            events_tmp: OnceCell::new(),
        };
        // From here on the folder does not look finished; a file in the
        // way is found before the run, not after it.
        let prepared = (|| {
            if check_replaceable(&summary)? {
                std::fs::remove_file(&summary)?;
            }
            // Temporary files of runs stopped before they finished: nobody
            // else writes here while the lock is held, so they are
            // leftovers (in a folder cascade wrote, its own).
            if ours {
                for name in entries(dir)? {
                    let p = dir.join(&name);
                    // A lock file's temporary is another run's, on its
                    // way to take the lock: not a leftover.
                    if name.starts_with('.')
                        && is_run_name(&name)
                        && !RUN_NAMES.contains(&name.as_str())
                        && !is_temporary_of(&name, LOCK_FILE)
                        && check_replaceable(&p).unwrap_or(false)
                    {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
            for name in RUN_NAMES.iter().filter(|n| **n != LOCK_FILE) {
                check_replaceable(&dir.join(name))?;
            }
            Ok::<(), io::Error>(())
        })();
        match prepared {
            Ok(()) => Ok(folder),
            Err(e) => {
                folder.abandon();
                Err(OpenError::Refused(e.to_string()))
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new, empty file for the streamed events, under a temporary name
    /// until [`Self::finish`].
    pub fn events_file(&self) -> io::Result<File> {
        if self.events_tmp.get().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the events file is made once per run",
            ));
        }
        let (file, tmp) = create_temporary(&self.dir.join(EVENTS_FILE))?;
        let _ = self.events_tmp.set(tmp);
        Ok(file)
    }

    /// Gives the folder up without finishing it (the run stopped short or
    /// its events could not be written): the temporary events file goes,
    /// and with no `summary.json` the folder does not pass for a finished
    /// run. The lock file stays as the mark of cascade's unfinished folder,
    /// unless nothing else of cascade's is left in it (a folder it made,
    /// or a user's that `--force` opened, is given back as it was).
    pub fn abandon(self) {
        if let Some(tmp) = self.events_tmp.get() {
            let _ = std::fs::remove_file(tmp);
        }
        let nothing_else = entries(&self.dir)
            .is_ok_and(|names| !names.iter().any(|n| n != LOCK_FILE && is_run_name(n)));
        if nothing_else {
            self.release();
        }
    }

    /// Removes the lock file, if it is still this run's, then lets the lock
    /// go: in that order, so a run that opened the old file and locks it
    /// now finds it gone from the folder and starts again.
    fn release(self) {
        let path = self.dir.join(LOCK_FILE);
        if is_at(&self.lock, &path) {
            let _ = std::fs::remove_file(&path);
        }
        drop(self.lock);
    }

    /// Writes every file of the run, `summary.json` last, and releases the
    /// folder. `events_streamed`: whether [`Self::events_file`] was written
    /// (else an `events.jsonl` of an earlier run is removed, so as not to
    /// pass for this one's). On an error the folder is abandoned.
    pub fn finish(
        self,
        s: &Summary,
        series: &Series,
        reproduce: &str,
        events_streamed: bool,
    ) -> io::Result<()> {
        match self.write(s, series, reproduce, events_streamed) {
            Ok(()) => {
                self.release();
                Ok(())
            }
            Err(e) => {
                self.abandon();
                Err(e)
            }
        }
    }

    fn write(
        &self,
        s: &Summary,
        series: &Series,
        reproduce: &str,
        events_streamed: bool,
    ) -> io::Result<()> {
        let dir = &self.dir;
        let events = dir.join(EVENTS_FILE);
        match (events_streamed, self.events_tmp.get()) {
            (true, Some(tmp)) => put_in_place(tmp, &events)?,
            (true, None) => {
                return Err(io::Error::other(format!(
                    "{}: no events were streamed",
                    shown(&events)
                )))
            }
            (false, _) => {
                if check_replaceable(&events)? {
                    std::fs::remove_file(&events).map_err(|e| {
                        io::Error::new(e.kind(), format!("{}: {e}", shown(&events)))
                    })?;
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
        write_atomically(&dir.join(SUMMARY_FILE), (json + "\n").as_bytes())
    }
}

/// Takes the lock of `dir`: the lock on its `.lock` file, made (marked and
/// already locked, then linked into place, so no run ever sees it empty
/// or unlocked) when there is none. A lock is only held once the file
/// locked is still the one at `.lock`: a run that finished meanwhile
/// removed it, and the lock of a removed file guards nothing.
fn take_lock(dir: &Path, pause: &mut dyn FnMut()) -> Result<File, OpenError> {
    let path = dir.join(LOCK_FILE);
    let refused = |e: io::Error| OpenError::Refused(format!("{}: {e}", shown(&path)));
    let busy = || {
        OpenError::Busy(format!(
            "{}: another cascade run is writing this folder (give --out another folder)",
            shown(dir)
        ))
    };
    for _ in 0..LOCK_TRIES {
        let file = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (mut file, tmp) =
                    create_temporary(&path).map_err(|e| OpenError::Refused(e.to_string()))?;
                let made = file
                    .write_all(LOCK_MARK.as_bytes())
                    .and_then(|()| file.try_lock().map_err(io::Error::from));
                if let Err(e) = made {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(refused(e));
                }
                match std::fs::hard_link(&tmp, &path) {
                    Ok(()) => {}
                    // Another run made one first: take that one's turn.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let _ = std::fs::remove_file(&tmp);
                        continue;
                    }
                    // No hard links here: a rename, into a name that was
                    // free a moment ago.
                    Err(e) if crate::files::no_hard_links(&e) => {
                        if let Err(e) = std::fs::rename(&tmp, &path) {
                            let _ = std::fs::remove_file(&tmp);
                            return Err(refused(e));
                        }
                    }
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(refused(e));
                    }
                }
                let _ = std::fs::remove_file(&tmp);
                file
            }
            Err(e) => return Err(refused(e)),
            Ok(m) if m.file_type().is_file() => {
                // Opened only to lock and read: nothing is written to it.
                let file = match File::open(&path) {
                    Ok(f) => f,
                    // Removed by a run that just finished: look again.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(refused(e)),
                };
                if !is_at(&file, &path) {
                    continue;
                }
                pause();
                match file.try_lock() {
                    Ok(()) => {}
                    Err(TryLockError::WouldBlock) => return Err(busy()),
                    Err(TryLockError::Error(e)) => return Err(refused(e)),
                }
                if !is_marked(&file) {
                    return Err(OpenError::Refused(format!(
                        "{}: a file cascade did not write; left as it is",
                        shown(&path)
                    )));
                }
                file
            }
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else if m.is_dir() {
                    "a directory"
                } else {
                    "not a regular file"
                };
                return Err(OpenError::Refused(format!(
                    "{}: {what}, not a lock file cascade made; left as it is",
                    shown(&path)
                )));
            }
        };
        if is_at(&file, &path) {
            return Ok(file);
        }
    }
    Err(busy())
}

/// Whether `target` is a link target `reports/latest` may have been given
/// by cascade: a folder inside `reports/`, by name, not through `latest`.
fn made_by_harness(target: &Path) -> bool {
    let mut parts = target.components();
    matches!(parts.next(), Some(Component::Normal(first)) if first != "latest")
        && parts.all(|c| matches!(c, Component::Normal(_)))
}

/// Points `reports/latest` at `dir` (a relative symlink). Only a link
/// cascade made (relative, to a folder inside `reports/`) is ever
/// replaced, and atomically: a real file or folder named `latest`, or a
/// link of the user's, is left alone with an error. Nothing is done when
/// `dir` is `latest` itself or inside the folder it points at (`--out
/// reports/latest`), where the link would point through itself.
pub fn point_latest(reports: &Path, dir: &Path) -> io::Result<()> {
    let link = reports.join("latest");
    if let (Ok(l), Ok(d)) = (link.canonicalize(), dir.canonicalize()) {
        if d.starts_with(&l) {
            return Ok(());
        }
    }
    let target = dir.strip_prefix(reports).unwrap_or(dir);
    if !made_by_harness(target) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a folder inside {}; left as it is",
                shown(dir),
                shown(reports)
            ),
        ));
    }
    let not_ours = || {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} is not a link the harness made; left as it is",
                shown(&link)
            ),
        )
    };
    match link.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => {
            if !std::fs::read_link(&link).is_ok_and(|t| made_by_harness(&t)) {
                return Err(not_ours());
            }
            replace_link(target, &link)
        }
        Ok(_) => Err(not_ours()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => symlink(target, &link),
        Err(e) => Err(e),
    }
}

/// Replaces the link at `link` by one to `target` in one rename, so that
/// `latest` is never missing and a racing run never removes the new one.
fn replace_link(target: &Path, link: &Path) -> io::Result<()> {
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 0..16 {
        let tmp = link.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id()));
        match symlink(target, &tmp) {
            Ok(()) => {
                return std::fs::rename(&tmp, link).inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{}: no free temporary name beside it", shown(link)),
    ))
}

fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link)
    }
    #[cfg(not(unix))]
    {
        let _ = (target, link);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cascade-folder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_run_that_opened_the_lock_file_before_it_went_cannot_take_the_folder_from_the_next() {
        let dir = scratch("lock-race").join("run");
        let mut first = Some(RunFolder::open(&dir).unwrap());
        let mut second = None;
        // A third run has opened the lock file; before it locks, the first
        // lets the folder go and a second takes it.
        let third = RunFolder::open_paused(&dir, false, &mut || {
            if let Some(first) = first.take() {
                first.abandon();
                second = Some(RunFolder::open(&dir).unwrap());
            }
        });
        assert!(second.is_some());
        let e = third.err().expect("two runs held the folder at once");
        assert!(matches!(e, OpenError::Busy(_)), "{e}");
        assert!(
            e.to_string()
                .contains("another cascade run is writing this folder"),
            "{e}"
        );
        drop(second);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn reports_latest_that_is_a_users_link_or_inside_latest_is_left_alone() {
        let root = scratch("latest");
        let reports = root.join("reports");
        let users = root.join("users-folder");
        std::fs::create_dir_all(reports.join("runs/a")).unwrap();
        std::fs::create_dir_all(&users).unwrap();
        let latest = reports.join("latest");
        std::os::unix::fs::symlink(&users, &latest).unwrap();
        let e = point_latest(&reports, &reports.join("runs/a")).unwrap_err();
        assert!(e.to_string().contains("not a link the harness made"), "{e}");
        assert_eq!(std::fs::read_link(&latest).unwrap(), users);
        // cascade's own link: replaced; a run folder inside what it points
        // at does not make it point at itself.
        std::fs::remove_file(&latest).unwrap();
        point_latest(&reports, &reports.join("runs/a")).unwrap();
        std::fs::create_dir_all(latest.join("inner")).unwrap();
        point_latest(&reports, &latest.join("inner")).unwrap();
        assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("runs/a"));
        // A folder out of reports/ by `..`, or reports/ itself: not pointed at.
        assert!(point_latest(&reports, &reports.join("runs/../../elsewhere")).is_err());
        assert!(point_latest(&reports, &reports).is_err());
        assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("runs/a"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
