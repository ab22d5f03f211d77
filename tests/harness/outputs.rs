//! What cascade writes never costs a file it did not write: a user's
//! folder, a user's file at one of cascade's names, a symlink, a fifo, a
//! device, a directory or a read-only file is refused with exit 6 and its
//! path, and is left exactly as it was.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const D0: &str = "scenarios/focused/d0-azure-outage.json";
const HISTORICAL: &str = "scenarios/chaos/historical-404.profile.json";

/// Runs `cascade` from the crate root; a command that hangs (a fifo opened
/// for writing, say) is killed after a minute and fails the test.
fn cascade(args: &[&str]) -> (i32, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(Duration::from_secs(60)) else {
        // Not reaped yet, so the id is still this child's.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("cascade {args:?} hung");
    };
    let out = out.expect("waits");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch folder for one test, empty, removed by [`Scratch::drop`].
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("cascade-outputs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Read-only files inside do not stop root; folders made read-only would.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What is at `p` and under it, without following links or opening
/// fifos: per relative path its kind, mode and bytes (a link's target).
fn snapshot(p: &Path) -> BTreeMap<String, (String, u32, Vec<u8>)> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, (String, u32, Vec<u8>)>) {
        let m = std::fs::symlink_metadata(p).unwrap();
        let t = m.file_type();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let mode = m.permissions().mode();
        let entry = if t.is_symlink() {
            let target = std::fs::read_link(p).unwrap();
            (
                "symlink".into(),
                0,
                target.into_os_string().into_encoded_bytes(),
            )
        } else if t.is_file() {
            ("file".into(), mode, std::fs::read(p).unwrap())
        } else if t.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            for n in names {
                walk(root, &n, out);
            }
            ("dir".into(), mode, Vec::new())
        } else if t.is_fifo() {
            ("fifo".into(), mode, Vec::new())
        } else if t.is_char_device() {
            ("char device".into(), mode, Vec::new())
        } else {
            ("other".into(), mode, Vec::new())
        };
        out.insert(rel, entry);
    }
    let mut out = BTreeMap::new();
    walk(p, p, &mut out);
    out
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn names(d: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

const RUN_FILES: [&str; 6] = [
    "events.jsonl",
    "report.html",
    "series.json",
    "summary.json",
    "summary.md",
    "trace.json",
];

fn assert_dev_null_is_a_device() {
    let m = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(
        m.file_type().is_char_device(),
        "/dev/null is no longer a device"
    );
}

#[test]
fn out_into_a_users_folder_is_refused_and_every_file_in_it_is_kept() {
    let t = Scratch::new("users-folder");
    let dir = t.join("mine");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for (name, text) in [
        ("events.jsonl", "my events\n"),
        ("report.html", "<p>my report</p>"),
        ("summary.json", "{\"mine\": true}\n"),
        ("summary.md", "# my notes\n"),
        (".lock", "my lock\n"),
        (".events.jsonl.1.partial", "my draft"),
        ("notes.txt", "keep me"),
        ("sub/x", "deep"),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let before = snapshot(&dir);
    let (code, _, err) = cascade(&["run", D0, "--out", s(&dir)]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains(s(&dir)), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(snapshot(&dir), before);
    // A folder holding only a user's file with one of cascade's names.
    let only = t.join("only-events");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::write(only.join("events.jsonl"), "my events\n").unwrap();
    let before = snapshot(&only);
    let (code, _, err) = cascade(&["run", D0, "--out", s(&only), "--events", "none"]);
    assert_eq!(code, 6, "{err}");
    assert_eq!(snapshot(&only), before);
}

#[test]
fn force_writes_beside_a_users_files_and_never_over_them() {
    let t = Scratch::new("force");
    let dir = t.join("mine");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    std::fs::write(dir.join("sub/x"), "deep").unwrap();
    let users = snapshot(&dir);
    // Stopped short: the folder is given back as it was.
    let (code, _, err) = cascade(&[
        "run",
        D0,
        "--out",
        s(&dir),
        "--force",
        "--events-max",
        "1000",
    ]);
    assert_eq!(code, 7, "{err}");
    assert_eq!(snapshot(&dir), users);
    let (code, _, err) = cascade(&["run", D0, "--out", s(&dir), "--force"]);
    assert_eq!(code, 0, "{err}");
    let mut expected: Vec<String> = RUN_FILES.iter().map(|f| f.to_string()).collect();
    expected.extend(["notes.txt".to_string(), "sub".to_string()]);
    expected.sort();
    assert_eq!(names(&dir), expected);
    // From now on the folder is cascade's: no --force needed, and the
    // user's files still stay.
    let (code, _, err) = cascade(&["run", D0, "--out", s(&dir)]);
    assert_eq!(code, 0, "{err}");
    let after = snapshot(&dir);
    for (k, v) in &users {
        assert_eq!(after.get(k), Some(v), "{k}");
    }

    // --force never goes over a file of one of cascade's names, its lock's
    // or one of its temporaries'.
    for name in ["report.html", ".lock", ".summary.json.77.partial"] {
        let d = t.join(&format!("clash{name}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("notes.txt"), "keep me").unwrap();
        std::fs::write(d.join(name), "mine").unwrap();
        let before = snapshot(&d);
        let (code, _, err) = cascade(&["run", D0, "--out", s(&d), "--force"]);
        assert_eq!(code, 6, "{name}: {err}");
        assert!(err.contains(s(&d.join(name))), "{err}");
        assert_eq!(snapshot(&d), before, "{name}");
    }
}

#[test]
fn a_run_folder_cascade_wrote_is_rewritten_and_the_rest_is_kept() {
    let t = Scratch::new("own");
    let dir = t.join("run");
    let (code, _, err) = cascade(&["run", D0, "--out", s(&dir)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&dir), RUN_FILES);
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    let (code, _, err) = cascade(&["run", D0, "--out", s(&dir), "--events", "none"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(!dir.join("events.jsonl").exists());
}

/// A finished run folder with `plant` done to it, then `cascade run` into
/// it again with `extra` arguments: exit 6, naming `name`, and the folder
/// as planted (the victim outside too).
fn refused_in_a_run_folder(tag: &str, name: &str, extra: &[&str], plant: impl Fn(&Path, &Path)) {
    let t = Scratch::new(tag);
    let dir = t.join("run");
    let victim = t.join("victim.txt");
    std::fs::write(&victim, "the user's own file").unwrap();
    let (code, _, err) = cascade(&["run", D0, "--out", s(&dir)]);
    assert_eq!(code, 0, "{err}");
    plant(&dir.join(name), &victim);
    let before = snapshot(&t.0);
    let mut args = vec!["run", D0, "--out", s(&dir)];
    args.extend(extra);
    let (code, _, err) = cascade(&args);
    assert_eq!(code, 6, "{tag}: {err}");
    assert!(err.contains(s(&dir.join(name))), "{tag}: {err}");
    let after = snapshot(&t.0);
    for (k, v) in &before {
        // summary.json alone may go: the folder is not a finished run now.
        if !k.ends_with("summary.json") {
            assert_eq!(after.get(k), Some(v), "{tag}: {k}");
        }
    }
}

#[test]
fn a_symlink_at_a_cascade_name_is_refused_and_kept() {
    let link = |p: &Path, victim: &Path| {
        std::fs::remove_file(p).unwrap();
        symlink(victim, p);
    };
    refused_in_a_run_folder("link-events", "events.jsonl", &[], link);
    refused_in_a_run_folder(
        "link-events-none",
        "events.jsonl",
        &["--events", "none"],
        link,
    );
    refused_in_a_run_folder("link-report", "report.html", &[], link);
    refused_in_a_run_folder("link-summary", "summary.json", &[], link);
    refused_in_a_run_folder("link-dev-null", "trace.json", &[], |p, _| {
        std::fs::remove_file(p).unwrap();
        symlink(Path::new("/dev/null"), p);
    });
    assert_dev_null_is_a_device();
    // The lock file itself.
    refused_in_a_run_folder("link-lock", ".lock", &[], |p, victim| symlink(victim, p));
}

#[test]
fn a_fifo_a_folder_or_a_read_only_file_at_a_cascade_name_is_refused_and_kept() {
    refused_in_a_run_folder("fifo-report", "report.html", &[], |p, _| {
        std::fs::remove_file(p).unwrap();
        mkfifo(p);
    });
    refused_in_a_run_folder("fifo-lock", ".lock", &[], |p, _| mkfifo(p));
    refused_in_a_run_folder("dir-trace", "trace.json", &[], |p, _| {
        std::fs::remove_file(p).unwrap();
        std::fs::create_dir_all(p.join("inside")).unwrap();
        std::fs::write(p.join("inside/x"), "x").unwrap();
    });
    refused_in_a_run_folder("read-only-md", "summary.md", &[], |p, _| {
        std::fs::write(p, "kept as it is").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o444)).unwrap();
    });
}

#[test]
fn out_naming_something_other_than_a_folder_is_refused_and_kept() {
    let t = Scratch::new("not-a-folder");
    let file = t.join("file.txt");
    std::fs::write(&file, "mine").unwrap();
    let fifo = t.join("fifo");
    mkfifo(&fifo);
    let null = t.join("null");
    symlink(Path::new("/dev/null"), &null);
    let before = snapshot(&t.0);
    for out in [&file, &fifo, &null] {
        let (code, _, err) = cascade(&["run", D0, "--out", s(out)]);
        assert_eq!(code, 6, "{err}");
        assert!(err.contains(s(out)), "{err}");
    }
    assert_eq!(snapshot(&t.0), before);
    assert_dev_null_is_a_device();
}

#[test]
fn schema_out_replaces_only_a_schema_cascade_wrote() {
    let t = Scratch::new("schema");
    let own = t.join("scenario.schema.json");
    let (code, _, err) = cascade(&["schema", "--out", s(&own)]);
    assert_eq!(code, 0, "{err}");
    // Its own file, of either format, is replaced.
    let (code, _, err) = cascade(&["schema", "profile", "--out", s(&own)]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&own)
        .unwrap()
        .contains("cascade chaos profile"));

    let victim = t.join("victim.txt");
    std::fs::write(&victim, "the user's own file").unwrap();
    let user = t.join("user.json");
    std::fs::write(&user, "{\"mine\": true}\n").unwrap();
    let link = t.join("link.json");
    symlink(&victim, &link);
    let null = t.join("null.json");
    symlink(Path::new("/dev/null"), &null);
    let fifo = t.join("fifo.json");
    mkfifo(&fifo);
    let dir = t.join("dir.json");
    std::fs::create_dir_all(&dir).unwrap();
    let read_only = t.join("read-only.json");
    std::fs::copy(&own, &read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = snapshot(&t.0);
    for out in [&user, &link, &null, &fifo, &dir, &read_only] {
        let (code, _, err) = cascade(&["schema", "--out", s(out)]);
        assert_eq!(code, 6, "{}: {err}", out.display());
        assert!(err.contains(s(out)), "{err}");
        assert!(err.contains("left as it is"), "{err}");
    }
    assert_eq!(snapshot(&t.0), before);
    // A device itself (as root, a rename would replace it): a copy of
    // /dev/null's node made here, so that a regression replaces this one
    // and never the machine's own (root only: elsewhere the link above
    // stands for it).
    let device = t.join("null-device");
    let made = std::process::Command::new("mknod")
        .args([s(&device), "c", "1", "3"])
        .status()
        .is_ok_and(|st| st.success());
    if made {
        let (code, _, err) = cascade(&["schema", "--out", s(&device)]);
        assert_eq!(code, 6, "{err}");
        assert_eq!(
            err,
            format!(
                "error: cannot write {}: a character device, which cascade does not replace; left as it is\n",
                device.display()
            )
        );
        let m = std::fs::symlink_metadata(&device).unwrap();
        assert!(m.file_type().is_char_device(), "the device was replaced");
    }
    assert_dev_null_is_a_device();
}

#[test]
fn compare_out_replaces_only_a_page_cascade_wrote() {
    let t = Scratch::new("compare");
    let run = t.join("run");
    let (code, _, err) = cascade(&["run", D0, "--out", s(&run)]);
    assert_eq!(code, 0, "{err}");
    let page = t.join("page.html");
    for _ in 0..2 {
        let (code, _, err) = cascade(&["compare", s(&run), s(&run), "--out", s(&page)]);
        assert_eq!(code, 0, "{err}");
    }
    let victim = t.join("victim.txt");
    std::fs::write(&victim, "the user's own file").unwrap();
    let user = t.join("user.html");
    std::fs::write(&user, "<p>my page</p>").unwrap();
    let link = t.join("link.html");
    symlink(&victim, &link);
    let fifo = t.join("fifo.html");
    mkfifo(&fifo);
    let before = snapshot(&t.0);
    for out in [&user, &link, &fifo] {
        let (code, _, err) = cascade(&["compare", s(&run), s(&run), "--out", s(out)]);
        assert_eq!(code, 6, "{}: {err}", out.display());
        assert!(err.contains(s(out)), "{err}");
    }
    assert_eq!(snapshot(&t.0), before);
}

#[test]
fn chaos_reports_and_promotions_never_replace_a_users_file() {
    let t = Scratch::new("chaos");
    let out = t.join("chaos");
    let promote = t.join("regressions");
    let chaos = |out: &Path| {
        cascade(&[
            "chaos",
            HISTORICAL,
            "--seed",
            "1",
            "--shrink-max",
            "1",
            "--out",
            s(out),
            "--promote",
            s(&promote),
        ])
    };
    // A user's files where the seed's report and its promotion go.
    std::fs::create_dir_all(out.join("seed-1")).unwrap();
    std::fs::create_dir_all(&promote).unwrap();
    std::fs::write(out.join("seed-1/minimal.json"), "{\"mine\": true}\n").unwrap();
    std::fs::write(
        promote.join("historical-404-seed-1.json"),
        "{\"mine\": 1}\n",
    )
    .unwrap();
    let before = snapshot(&t.0);
    let (code, _, err) = chaos(&out);
    assert_eq!(code, 3, "the seed's verdict stays the exit code: {err}");
    assert!(err.contains(s(&out.join("seed-1/minimal.json"))), "{err}");
    assert!(
        err.contains(s(&promote.join("historical-404-seed-1.json"))),
        "{err}"
    );
    assert_eq!(snapshot(&t.0), before);

    // Into fresh places, then again: cascade's own files are replaced.
    let out2 = t.join("chaos2");
    std::fs::remove_file(promote.join("historical-404-seed-1.json")).unwrap();
    for _ in 0..2 {
        let (code, _, err) = chaos(&out2);
        assert_eq!(code, 3, "{err}");
        assert!(!err.contains("error"), "{err}");
    }
    assert_eq!(
        names(&out2.join("seed-1")),
        ["minimal.json", "original.json", "reproduce.txt"]
    );
    assert!(promote.join("historical-404-seed-1.json").is_file());

    // A seed folder that is a link to a user's folder is not written into.
    let out3 = t.join("chaos3");
    let users = t.join("users-folder");
    std::fs::create_dir_all(&out3).unwrap();
    std::fs::create_dir_all(&users).unwrap();
    symlink(&users, &out3.join("seed-1"));
    let (code, _, err) = chaos(&out3);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(s(&out3.join("seed-1"))), "{err}");
    assert_eq!(names(&users), Vec::<String>::new());
}

#[test]
fn reports_latest_that_is_a_users_link_is_left_alone() {
    let t = Scratch::new("latest");
    let reports = t.join("reports");
    let users = t.join("users-folder");
    std::fs::create_dir_all(&users).unwrap();
    std::fs::create_dir_all(&reports).unwrap();
    symlink(&users, &reports.join("latest"));
    let (code, _, err) = cascade(&["run", D0, "--out", s(&reports.join("runs/x"))]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("reports/latest not updated"), "{err}");
    assert_eq!(std::fs::read_link(reports.join("latest")).unwrap(), users);
    // cascade's own link moves on to the next run.
    std::fs::remove_file(reports.join("latest")).unwrap();
    for run in ["runs/x", "runs/y"] {
        let (code, _, err) = cascade(&["run", D0, "--out", s(&reports.join(run))]);
        assert_eq!(code, 0, "{err}");
        assert!(!err.contains("warning"), "{err}");
        assert_eq!(
            std::fs::read_link(reports.join("latest")).unwrap(),
            Path::new(run)
        );
    }
    // Into `latest` itself: the run goes where it points, the link stays.
    let (code, _, err) = cascade(&["run", D0, "--out", s(&reports.join("latest"))]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_link(reports.join("latest")).unwrap(),
        Path::new("runs/y")
    );
    // reports/ itself, a user's folder: refused whole.
    std::fs::write(reports.join("notes.txt"), "keep me").unwrap();
    let before = snapshot(&reports);
    let (code, _, err) = cascade(&["run", D0, "--out", s(&reports)]);
    assert_eq!(code, 6, "{err}");
    assert_eq!(snapshot(&reports), before);
}
