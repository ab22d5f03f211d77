//! The live tier's token key file (`cascade serve --token-file`, `cascade
//! agent --token-file`). Whoever reads it can mint every cluster's token
//! and the admin token, so it is treated as ssh treats a private key.
//!
//! Created: `O_CREAT | O_EXCL` with mode 0600, at its final path. Nothing
//! that is already there is opened (a file or a link another local user
//! planted, even a dangling one), and there is no moment at which the key
//! is readable by anyone but its owner. A write that fails removes the file.
//!
//! Read, or refused with a message that names the file and says how to fix
//! it:
//! - anything but a regular file: a directory, a fifo, a device, a socket.
//!   A symbolic link is followed; what it points at must qualify. The type
//!   is checked before the file is opened, so a fifo cannot hang the
//!   command, and the opened file must be the one checked;
//! - a file with any permission bit for group or others (`chmod 600`);
//! - a file owned by another user (`chown`): they could read or swap the key;
//! - more than [`KEY_FILE_BYTES_MAX`] bytes, or anything but 64 hex digits
//!   with white space around. What the file holds is never echoed.

use super::api::TokenKey;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// Largest key file read: a key is 64 hex digits and a line break.
pub const KEY_FILE_BYTES_MAX: u64 = 4_096;

/// Where a key `cascade serve` uses came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Read from a key file that was there.
    Read,
    /// Drawn at random and written to a new key file.
    Created,
}

/// The key in `path`, or a new random one written there when nothing is
/// at that path (`cascade serve --token-file`).
pub fn read_or_create(path: &Path) -> Result<(TokenKey, Origin), String> {
    let key = TokenKey::random()?;
    match create(path, &key) {
        Ok(()) => Ok((key, Origin::Created)),
        // Something is there (a file, a fifo, a link, dangling or not): it
        // is read, and judged, never written through.
        Err(e)
            if e.kind() == io::ErrorKind::AlreadyExists
                || std::fs::symlink_metadata(path).is_ok() =>
        {
            read(path).map(|k| (k, Origin::Read))
        }
        Err(e) => Err(format!(
            "cannot create the token key file {}: {e}",
            shown(path)
        )),
    }
}

/// Writes `key` to a new file at `path`, private from its first byte.
fn create(path: &Path, key: &TokenKey) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let written = (|| {
        // The umask may have taken the owner's own bits away (0400, 0000):
        // exactly 0600, set while the file is still empty.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all((key.to_hex() + "\n").as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        drop(file);
        // Created with O_EXCL just now: the file is this process's own.
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(())
}

/// The key in the key file at `path`, if that is a private regular file of
/// this user holding 64 hex digits.
pub fn read(path: &Path) -> Result<TokenKey, String> {
    let name = shown(path);
    let cannot = |e: io::Error| format!("cannot read the token key file {name}: {e}");
    let link = std::fs::symlink_metadata(path).map_err(cannot)?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if link.file_type().is_symlink() && e.kind() == io::ErrorKind::NotFound => {
            return Err(format!(
                "the token key file {name} is a symbolic link to nothing: give the path of a key \
                 file (cascade serve --token-file creates one where nothing is)"
            ))
        }
        Err(e) => return Err(cannot(e)),
    };
    check(path, &meta)?;
    let file = File::open(path).map_err(cannot)?;
    let opened = file.metadata().map_err(cannot)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Checked, then opened: if the name was pointed elsewhere in
        // between, what was opened is not what was checked.
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err(format!(
                "the token key file {name} changed while it was being read: try again"
            ));
        }
    }
    check(path, &opened)?;
    let mut bytes = Vec::with_capacity(128);
    file.take(KEY_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > KEY_FILE_BYTES_MAX {
        return Err(format!(
            "the token key file {name} is larger than {KEY_FILE_BYTES_MAX} bytes: expected 64 hex \
             digits; {}",
            DRAW_A_NEW_ONE
        ));
    }
    if bytes.trim_ascii().is_empty() {
        return Err(format!(
            "the token key file {name} is empty: expected 64 hex digits; {DRAW_A_NEW_ONE}"
        ));
    }
    // Not UTF-8 is not hex either: the replacement characters say so.
    TokenKey::from_hex(&String::from_utf8_lossy(&bytes))
        .map_err(|m| format!("the token key file {name}: {m}; {DRAW_A_NEW_ONE}"))
}

const DRAW_A_NEW_ONE: &str =
    "remove the file and cascade serve --token-file writes a new key there";

/// Refuses a file that is not a regular file, is open to group or others,
/// or belongs to another user.
fn check(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    let name = shown(path);
    if !meta.is_file() {
        return Err(format!(
            "the token key file {name} is {}, not a regular file: give the path of a key file \
             (cascade serve --token-file creates one where nothing is)",
            kind(meta)
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the token key file {name} is open to group or others (mode {mode:04o}): a key \
                 must be private to its owner; run `chmod 600 {}`",
                shell_word(path)
            ));
        }
        let me = effective_uid();
        if meta.uid() != me {
            return Err(format!(
                "the token key file {name} belongs to uid {}, not to this user (uid {me}): its \
                 owner can read or replace the key; run `chown {me} {}` or use a key file of \
                 your own",
                meta.uid(),
                shell_word(path)
            ));
        }
    }
    Ok(())
}

/// What a file that is not a regular file is, in words.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (fifo)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "something else"
}

/// The user this process acts as.
#[cfg(unix)]
fn effective_uid() -> u32 {
    // std has no geteuid and the C library it links does; uid_t is 32 bits
    // on every Unix Rust supports.
    unsafe extern "C" {
        safe fn geteuid() -> u32;
    }
    geteuid()
}

/// `path` as a message shows it: control characters escaped, line breaks
/// and tabs too (a path must not lay out the message).
pub fn shown(path: &Path) -> String {
    crate::files::terminal_safe(&path.display().to_string())
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// `path` as a shell word a user can paste into a command: quoted unless
/// it is plain, then shown as [`shown`] does.
pub fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    let word = if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    };
    shown(Path::new(&word))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cascade-keyfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_new_key_file_is_created_0600_and_read_back() {
        let dir = scratch("create");
        let path = dir.join("key");
        let (key, origin) = read_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Created);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        assert_eq!(meta.uid(), effective_uid());
        assert_eq!(read_or_create(&path).unwrap(), (key, Origin::Read));
        assert_eq!(read(&path).unwrap(), key);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_file_is_never_created_through_what_is_already_there() {
        let dir = scratch("planted");
        // A dangling link: creating through it would write the key where
        // its maker chose.
        let target = dir.join("target");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read_or_create(&link).unwrap_err();
        assert!(err.contains("symbolic link to nothing"), "{err}");
        assert!(!target.exists());
        // A folder where the file would go.
        let err = read_or_create(&dir).unwrap_err();
        assert!(err.contains("is a directory, not a regular file"), "{err}");
        // No parent folder: the error names the file.
        let err = read_or_create(&dir.join("no/such/key")).unwrap_err();
        assert!(err.starts_with("cannot create the token key file"), "{err}");
        assert!(err.contains("no/such/key"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fix_commands_quote_paths_a_shell_would_split() {
        assert_eq!(shell_word(Path::new("/tmp/k-1.key")), "/tmp/k-1.key");
        assert_eq!(shell_word(Path::new("/tmp/my key")), "'/tmp/my key'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
        assert_eq!(shell_word(Path::new("a\u{1b}b")), "'a\\u{1b}b'");
        assert_eq!(shown(Path::new("a\nb\tc")), "a\\nb\\tc");
    }
}
