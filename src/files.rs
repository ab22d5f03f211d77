//! The harness's own file handling, in one place: reads with a size cap
//! (a scenario, a profile or a run folder is never read without a bound, so
//! `cascade check /dev/zero` is an error, not an exhausted machine), writes
//! that never leave a half-written file under its final name (write a
//! temporary file beside it, then rename), and the names that may become
//! part of a path (a scenario's or profile's `name`).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Largest scenario or chaos profile file read: the biggest shipped one is
/// under 20 KB, so 4 MiB leaves room for generated files.
pub const SCENARIO_BYTES_MAX: u64 = 4 << 20;

/// Largest `summary.json` or `series.json` read back from a run folder: a
/// nine-day run writes about 2 MB of series.
pub const RUN_FILE_BYTES_MAX: u64 = 64 << 20;

/// Longest name that may become a path component.
pub const NAME_CHARS_MAX: usize = 100;

/// Reads `path` as UTF-8, refusing more than `max_bytes`. Errors say what
/// is wrong; the caller names the file as its messages do.
///
/// Never hangs: the file is opened without blocking, so a fifo nobody
/// writes to reads as empty instead of waiting forever, and a pipe or
/// device that has nothing to give is waited for at most
/// [`PIPE_WAIT_MAX`] in all (`cascade check <(generate)` still works).
pub fn read_to_string_capped(path: &Path, max_bytes: u64) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let too_big = || format!("larger than {max_bytes} bytes, the limit for this kind of file");
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > max_bytes {
            return Err(too_big());
        }
    }
    // Devices and pipes have no length: read at most one byte past the cap.
    let mut bytes = Vec::new();
    let mut reader = file.take(max_bytes + 1);
    let mut waited = std::time::Duration::ZERO;
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if waited >= PIPE_WAIT_MAX {
                    return Err(format!(
                        "nothing more to read after waiting {} s (a pipe or device that is not writing?)",
                        PIPE_WAIT_MAX.as_secs()
                    ));
                }
                std::thread::sleep(PIPE_POLL);
                waited += PIPE_POLL;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read the file: {e}")),
        }
    }
    if bytes.len() as u64 > max_bytes {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// Linux's `O_NONBLOCK` (std names no open flags): an open that returns at
/// once, whoever is or is not at the other end of a fifo.
const O_NONBLOCK: i32 = 0o4000;

/// How long a read waits in all for a pipe or device to give more.
pub const PIPE_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a read sleeps between two looks at a pipe with nothing yet.
const PIPE_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// The temporary name `path` is first written under before it is renamed
/// into place: hidden, in the same folder (so the rename stays on one file
/// system and is atomic), and per process (two writers never share one).
pub fn temporary_name(path: &Path) -> PathBuf {
    temporary_name_n(path, 0)
}

/// The `n`th choice of temporary name for `path`: the first is taken when
/// another file (a stale one, or not cascade's at all) already has it.
fn temporary_name_n(path: &Path, n: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    if n == 0 {
        path.with_file_name(format!(".{name}.{pid}.partial"))
    } else {
        path.with_file_name(format!(".{name}.{pid}-{n}.partial"))
    }
}

/// Whether `file_name` is one of the temporary names cascade gives `name`
/// (`.{name}.{pid}.partial` or `.{name}.{pid}-{n}.partial`).
pub fn is_temporary_of(file_name: &str, name: &str) -> bool {
    let Some(middle) = file_name
        .strip_prefix('.')
        .and_then(|r| r.strip_prefix(name))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(".partial"))
    else {
        return false;
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match middle.split_once('-') {
        Some((pid, n)) => digits(pid) && digits(n),
        None => digits(middle),
    }
}

/// How many temporary names are tried before giving up.
const TEMPORARY_TRIES: u32 = 64;

/// A new file to write `path`'s bytes into before they go into place,
/// under a temporary name nobody holds: it is created, never opened if
/// it exists, so another's file of that name (or a link, or a fifo) is
/// neither clobbered nor written through. Errors name `path`.
pub fn create_temporary(path: &Path) -> io::Result<(File, PathBuf)> {
    for n in 0..TEMPORARY_TRIES {
        let tmp = temporary_name_n(path, n);
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(named(path, e)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{}: {TEMPORARY_TRIES} temporary names beside it are all taken",
            shown(path)
        ),
    ))
}

/// `path` as it may be echoed in a message.
fn shown(path: &Path) -> String {
    terminal_safe(&path.display().to_string()).into_owned()
}

/// `e` with `path` in front.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", shown(path)))
}

/// The refusal to write over `path`, which is `what`.
fn refused(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{}: {what}; left as it is", shown(path)),
    )
}

/// What a file system entry is, for a message.
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a fifo";
        } else if t.is_socket() {
            return "a socket";
        } else if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a file"
    } else {
        "not a regular file"
    }
}

/// Whether cascade may put a file at `path`: `Ok(false)` when nothing is
/// there, `Ok(true)` when a regular file with a write permission is (the
/// caller decides whether it is cascade's to replace), an error naming
/// the path otherwise. A link is never followed nor replaced (its target
/// is someone's), nor a directory, fifo, socket or device (renaming over
/// one would destroy it), nor a read-only file (whoever made it so meant
/// it to stay).
pub fn check_replaceable(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(named(path, e)),
        Ok(m) if m.file_type().is_file() => {
            if m.permissions().readonly() {
                Err(refused(
                    path,
                    "a read-only file, which cascade does not replace",
                ))
            } else {
                Ok(true)
            }
        }
        Ok(m) => Err(refused(
            path,
            &format!("{}, which cascade does not replace", kind_of(&m)),
        )),
    }
}

/// Whether `e`, from making a hard link, says the file system has none
/// (FAT, some network and FUSE file systems).
pub fn no_hard_links(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
    )
}

/// Moves the temporary file `tmp` to `path`, after [`check_replaceable`]:
/// into a free name through a hard link, which fails rather than replace
/// something that appeared meanwhile; over a regular file by a rename.
/// `tmp` is gone afterwards, either way.
pub fn put_in_place(tmp: &Path, path: &Path) -> io::Result<()> {
    let placed = (|| {
        if !check_replaceable(path)? {
            match std::fs::hard_link(tmp, path) {
                Ok(()) => return std::fs::remove_file(tmp).or(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(refused(path, "appeared while cascade wrote it"))
                }
                // A file system without hard links: the rename below,
                // into a name that was free a moment ago.
                Err(e) if no_hard_links(&e) => {}
                Err(e) => return Err(named(path, e)),
            }
        }
        std::fs::rename(tmp, path).map_err(|e| named(path, e))
    })();
    if placed.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    placed
}

/// Writes `bytes` to `path` through a temporary file and a rename: a crash
/// leaves the old file or the new one, never a mix. Only a missing file or
/// a regular, writable one is replaced ([`check_replaceable`]); callers
/// that do not own every file of the name use [`write_replacing_own`].
/// Errors name the file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    check_replaceable(path)?;
    let (mut file, tmp) = create_temporary(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(named(path, e));
    }
    put_in_place(&tmp, path)
}

/// Like [`write_atomically`], but a file already at `path` is replaced
/// only when it is cascade's: `own` recognises cascade's mark in its
/// bytes, or it holds `bytes` already. Anything else is left as it is and
/// named in the error.
pub fn write_replacing_own(
    path: &Path,
    bytes: &[u8],
    own: impl Fn(&[u8]) -> bool,
) -> io::Result<()> {
    if check_replaceable(path)? {
        // A regular file (checked), so reading it cannot block.
        let mut old = Vec::new();
        File::open(path)
            .and_then(|f| f.take(RUN_FILE_BYTES_MAX + 1).read_to_end(&mut old))
            .map_err(|e| named(path, e))?;
        if old != bytes && (old.len() as u64 > RUN_FILE_BYTES_MAX || !own(&old)) {
            return Err(refused(path, "a file cascade did not write"));
        }
    }
    write_atomically(path, bytes)
}

/// Checks a name that becomes a path component (a run folder, a chaos
/// report): 1 to [`NAME_CHARS_MAX`] ASCII letters, digits, `.`, `_` or `-`,
/// starting with a letter, digit or `_`, so it can neither climb out of
/// `reports/` (`..`, `/`) nor hide (`.name`) nor pass for a flag (`-x`) nor
/// carry control characters.
pub fn check_path_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let starts_well = name.chars().next().is_some_and(starts_a_name);
    if name.len() <= NAME_CHARS_MAX && starts_well && name.chars().all(ok_char) {
        Ok(())
    } else {
        Err(format!(
            "expected 1 to {NAME_CHARS_MAX} ASCII letters, digits, '.', '_' or '-', \
             starting with a letter, digit or '_' (it names a folder), found {name:?}"
        ))
    }
}

/// A name made of `base` and a fixed `suffix` (`-variant`, `-seed-42`)
/// that stays within [`NAME_CHARS_MAX`]: when the two do not fit, `base` is
/// cut and an FNV-1a digest of the whole of it keeps distinct bases
/// distinct, so a valid 100-character name still derives a valid one, the
/// same on every run. `base` is a checked name; `suffix` is at most 80
/// characters of the same alphabet.
pub fn derived_name(base: &str, suffix: &str) -> String {
    if base.len() + suffix.len() <= NAME_CHARS_MAX {
        return format!("{base}{suffix}");
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in base.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let digest = format!("-{:08x}", h >> 32);
    let keep = NAME_CHARS_MAX.saturating_sub(suffix.len() + digest.len());
    // A checked name is ASCII; should a caller pass other text, the cut
    // still falls on a character boundary.
    let mut at = keep.min(base.len());
    while !base.is_char_boundary(at) {
        at -= 1;
    }
    let cut = &base[..at];
    format!("{cut}{digest}{suffix}")
}

/// `text` with its control characters escaped (`\u{1b}`), so that a key,
/// value or path echoed in a message cannot drive the terminal (colours,
/// cursor moves, a rewritten title) nor reorder it. Line breaks and tabs are kept: they
/// lay messages out.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    // Bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069)
    // are not control characters but reorder what the reader sees.
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn starts_a_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `name` made safe as a path component when it comes from a file the
/// harness did not check (a run folder's `summary.json`): every other
/// character becomes `_`, a leading `.` or `-` too,
/// and it is cut to [`NAME_CHARS_MAX`].
pub fn path_safe_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .take(NAME_CHARS_MAX)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Every character is ASCII now.
    match safe.chars().next() {
        None => safe.push('_'),
        Some(c) if !starts_a_name(c) => safe.replace_range(..1, "_"),
        Some(_) => {}
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cascade-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_fifo_nobody_writes_to_reads_as_empty_and_a_slow_pipe_is_waited_for() {
        let dir = scratch("fifo");
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()));
        // Would block forever with a plain open.
        assert_eq!(read_to_string_capped(&fifo, 100), Ok(String::new()));
        // A pipe whose writer is there but slow: its text arrives whole.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.2; printf '{}'"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::os::fd::AsRawFd;
        let fd = child.stdout.as_ref().unwrap().as_raw_fd();
        let through = PathBuf::from(format!("/proc/self/fd/{fd}"));
        assert_eq!(read_to_string_capped(&through, 100), Ok("{}".to_string()));
        child.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn derived_names_stay_valid_and_distinct() {
        assert_eq!(derived_name("march", "-variant"), "march-variant");
        let long_a = format!("a{}", "x".repeat(99));
        let long_b = format!("b{}", "x".repeat(99));
        let a = derived_name(&long_a, "-variant");
        let b = derived_name(&long_b, "-variant");
        for n in [&a, &b] {
            assert_eq!(n.len(), NAME_CHARS_MAX, "{n}");
            assert_eq!(check_path_name(n), Ok(()));
            assert!(n.ends_with("-variant"));
        }
        assert_ne!(a, b, "two long bases keep two names");
        assert_eq!(a, derived_name(&long_a, "-variant"), "deterministic");
        let seed = derived_name(&long_a, "-seed-18446744073709551615");
        assert_eq!(check_path_name(&seed), Ok(()));
        // Text that is not a checked name is cut on a character boundary.
        let wide = "é".repeat(80);
        assert!(derived_name(&wide, "-variant").len() <= NAME_CHARS_MAX);
    }

    #[test]
    fn terminal_safe_escapes_control_characters_only() {
        assert_eq!(terminal_safe("model.fleet\tx\ny"), "model.fleet\tx\ny");
        assert_eq!(terminal_safe("k\u{1b}[31mred"), "k\\u{1b}[31mred");
        assert_eq!(terminal_safe("a\u{7}b\u{9b}c"), "a\\u{7}b\\u{9b}c");
        assert_eq!(terminal_safe("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(terminal_safe("été"), "été");
    }

    #[test]
    fn reads_are_capped_for_files_and_devices() {
        let dir = scratch("capped");
        let p = dir.join("a.json");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_to_string_capped(&p, 10).unwrap(), "0123456789");
        let e = read_to_string_capped(&p, 9).unwrap_err();
        assert_eq!(e, "larger than 9 bytes, the limit for this kind of file");
        // A device without a length: the cap holds without reading it all.
        let e = read_to_string_capped(Path::new("/dev/zero"), 1 << 10).unwrap_err();
        assert_eq!(e, "larger than 1024 bytes, the limit for this kind of file");
        let e = read_to_string_capped(&dir.join("missing"), 10).unwrap_err();
        assert!(e.starts_with("cannot read the file: "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporary() {
        let dir = scratch("atomic");
        let p = dir.join("summary.json");
        write_atomically(&p, b"old").unwrap();
        write_atomically(&p, b"new, longer").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new, longer");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.json"]);
        // Into a folder that does not exist: an error naming the file.
        let e = write_atomically(&dir.join("no/such/x.json"), b"x").unwrap_err();
        assert!(e.to_string().contains("no/such/x.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What is at `p`, without following a link: its kind and its bytes
    /// (a link's target).
    #[cfg(unix)]
    fn what_is_at(p: &Path) -> (&'static str, Vec<u8>) {
        use std::os::unix::fs::FileTypeExt;
        let t = std::fs::symlink_metadata(p).unwrap().file_type();
        if t.is_symlink() {
            let target = std::fs::read_link(p).unwrap();
            ("symlink", target.into_os_string().into_encoded_bytes())
        } else if t.is_file() {
            ("file", std::fs::read(p).unwrap())
        } else if t.is_dir() {
            ("dir", Vec::new())
        } else if t.is_fifo() {
            ("fifo", Vec::new())
        } else if t.is_socket() {
            ("socket", Vec::new())
        } else {
            ("other", Vec::new())
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_a_regular_writable_file_is_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("special");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "the user's own file").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let null = dir.join("null.json");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        let fifo = dir.join("fifo.json");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let socket = dir.join("socket.json");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let sub = dir.join("sub.json");
        std::fs::create_dir_all(sub.join("x")).unwrap();
        let read_only = dir.join("read-only.json");
        std::fs::write(&read_only, "kept").unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
        for p in [&link, &null, &fifo, &socket, &sub, &read_only] {
            let before = what_is_at(p);
            let e = write_atomically(p, b"new").unwrap_err();
            assert!(e.to_string().contains(&p.display().to_string()), "{e}");
            assert!(e.to_string().contains("left as it is"), "{e}");
            assert_eq!(what_is_at(p), before, "{}", p.display());
        }
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "the user's own file"
        );
        let dev = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&dev));
        // Nothing left behind by the refusals but what was there.
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "fifo.json",
                "link.json",
                "null.json",
                "read-only.json",
                "socket.json",
                "sub.json",
                "victim.txt"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_temporary_name_someone_else_holds_is_not_clobbered() {
        let dir = scratch("taken");
        let p = dir.join("summary.json");
        let theirs = temporary_name(&p);
        std::fs::write(&theirs, "theirs").unwrap();
        write_atomically(&p, b"ours").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "ours");
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "theirs");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_that_become_paths_cannot_climb_or_hide() {
        for good in ["march-2025", "fixed-400", "a", "scale_1m.v2"] {
            assert_eq!(check_path_name(good), Ok(()), "{good}");
        }
        let long = "x".repeat(NAME_CHARS_MAX + 1);
        for bad in [
            "",
            "..",
            "../../x",
            "a/b",
            ".hidden",
            "-flag",
            "tab\t",
            "é",
            long.as_str(),
        ] {
            assert!(check_path_name(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(path_safe_name("../../etc/x"), "_._.._etc_x");
        assert_eq!(path_safe_name(".hidden"), "_hidden");
        assert_eq!(path_safe_name(""), "_");
        assert_eq!(path_safe_name("run\u{1b}[31m"), "run__31m");
        assert_eq!(path_safe_name(&long).len(), NAME_CHARS_MAX);
        for s in ["../../etc/x", ".hidden", "", "run\u{1b}[31m", "é"] {
            assert_eq!(check_path_name(&path_safe_name(s)), Ok(()), "{s:?}");
        }
    }
}

/// Parses JSON text into a [`serde_json::Value`] like `serde_json::from_str`,
/// but refuses an object that names a key twice (where serde_json keeps the
/// last silently, so a scenario's second `"model"` would hide its first).
/// Errors carry the line and column, as serde_json's do.
pub fn parse_json_strict(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Builds a `Value`, checking every object for repeated keys.
struct StrictValue;

impl<'de> serde::de::DeserializeSeed<'de> for StrictValue {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictValue {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            let v = map.next_value_seed(StrictValue)?;
            obj.insert(key, v);
        }
        Ok(serde_json::Value::Object(obj))
    }
}

#[cfg(test)]
mod json_tests {
    use super::parse_json_strict;

    #[test]
    fn repeated_keys_are_refused_where_they_are() {
        let v = parse_json_strict(r#"{"a": [1, 2.5, "x", null, true], "b": {"c": {}}}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": {}}})
        );
        let e = parse_json_strict("{\"model\": {},\n \"b\": {\"c\": 1, \"c\": 2}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the key \"c\" appears twice in one object at line 2 column 18"
        );
        assert!(parse_json_strict("{} x").is_err(), "trailing characters");
        // The same as serde_json's own parse when nothing repeats.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/march-2025.json"
        ))
        .unwrap();
        let plain: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parse_json_strict(&text).unwrap(), plain);
    }
}
