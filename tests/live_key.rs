//! The live tier's secrets as a hostile local user meets them: the key
//! file `cascade serve --token-file` writes or reads (and `cascade agent
//! --token-file` reads) must be a private regular file of its owner, and an
//! agent whose every poll is refused must say so and fail.
//!
//! Every command runs bounded: a wall-time `--for`, and a deadline after
//! which the child is killed and the test fails (a key file that is a fifo
//! must not hang the command). Output goes to files, never to a pipe that
//! could fill.

use cascade::wire::api::{self, TokenKey};
use cascade::wire::harness::InitialPools;
use cascade::wire::live::{call, ServeConfig, Servers};
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than any command here should take, even on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(40);
const SCALE: u32 = 600;

struct Ran {
    /// `None`: still running at the deadline (killed).
    code: Option<i32>,
    out: String,
    err: String,
    took: Duration,
}

/// A fresh folder of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cascade-live-key-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd` with its output in `dir`, killed at [`DEADLINE`].
// The deadline is wall time: these are real processes on real sockets.
#[allow(clippy::disallowed_methods)]
fn run_bounded(mut cmd: Command, dir: &Path) -> Ran {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("runs");
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status.code().unwrap_or(-1));
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code,
        out: std::fs::read_to_string(&out_path).unwrap_or_default(),
        err: std::fs::read_to_string(&err_path).unwrap_or_default(),
        took: started.elapsed(),
    }
}

fn cascade(args: &[&str], dir: &Path) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cascade"));
    cmd.args(args);
    run_bounded(cmd, dir)
}

/// `cascade serve` on free loopback ports for a moment, with `key`.
fn serve(key: &Path, dir: &Path) -> Ran {
    cascade(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--for",
            "100ms",
            "--token-file",
            key.to_str().unwrap(),
        ],
        dir,
    )
}

/// `cascade agent` with `key` against a port nobody listens on: the key
/// file is judged before any connection.
fn agent_with_key_file(key: &Path, dir: &Path) -> Ran {
    cascade(
        &[
            "agent",
            "--control-plane",
            "http://127.0.0.1:9",
            "--cluster",
            "0",
            "--token-file",
            key.to_str().unwrap(),
            "--time-scale",
            "600",
            "--for",
            "300ms",
            "--timeout-ms",
            "100",
        ],
        dir,
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn write_key(path: &Path, mode: u32) -> TokenKey {
    let key = TokenKey::random().unwrap();
    std::fs::write(path, key.to_hex() + "\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    key
}

fn assert_refused(r: &Ran, key: &Path, what: &str) {
    assert_eq!(r.code, Some(2), "{what}: {}{}", r.out, r.err);
    assert!(
        r.err.contains(&key.display().to_string()),
        "{what}: the message names the file: {}",
        r.err
    );
}

#[test]
fn a_new_key_file_is_private_from_its_first_byte() {
    let dir = scratch("new");
    let key = dir.join("key");
    // Another local user who can write the folder plants a file of their
    // own where a temporary key file would be written (the shell's pid is
    // the server's: `exec`) and keeps a second name for it. With umask 000
    // a file created with the default mode is world-readable.
    let spy = dir.join("spy");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(
            r#"umask 000
: > "$2/.key.$$.partial" && chmod 666 "$2/.key.$$.partial" && ln "$2/.key.$$.partial" "$2/spy" || exit 99
exec "$1" serve --listen 127.0.0.1:0 --for 100ms --token-file "$2/key""#,
        )
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_cascade"))
        .arg(&dir);
    let r = run_bounded(cmd, &dir);
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    let written = std::fs::read_to_string(&key).unwrap();
    assert_eq!(written.trim().len(), 64, "{written:?}");
    assert_eq!(mode(&key), 0o600, "0600 whatever the umask");
    assert_eq!(
        std::fs::read_to_string(&spy).unwrap(),
        "",
        "the key went into a file another user holds"
    );
    assert_ne!(
        std::fs::metadata(&key).unwrap().ino(),
        std::fs::metadata(&spy).unwrap().ino()
    );
    assert_eq!(mode(&spy), 0o666, "the planted file is left alone");
    // The new key is the one the server used, and is used again.
    let r2 = serve(&key, &dir);
    assert_eq!(r2.code, Some(0), "{}{}", r2.out, r2.err);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), written);
    let token0 = api::cluster_token(&TokenKey::from_hex(&written).unwrap(), 0);
    assert!(r2.out.contains(&token0), "{}", r2.out);
    // The agent line it suggests names the key file, not a token that
    // would sit on a command line.
    let suggested = format!("--cluster 0 --token-file {} ", key.display());
    assert!(r2.out.contains(&suggested), "{}", r2.out);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_key_file_open_to_group_or_others_is_refused_with_the_fix() {
    let dir = scratch("modes");
    let key = dir.join("key");
    for m in [
        0o644, 0o640, 0o604, 0o660, 0o606, 0o602, 0o620, 0o610, 0o601, 0o777,
    ] {
        write_key(&key, m);
        for (who, r) in [
            ("serve", serve(&key, &dir)),
            ("agent", agent_with_key_file(&key, &dir)),
        ] {
            let what = format!("{who} with a key of mode {m:04o}");
            assert_refused(&r, &key, &what);
            assert!(r.err.contains(&format!("{m:04o}")), "{what}: {}", r.err);
            assert!(
                r.err.contains(&format!("chmod 600 {}", key.display())),
                "{what}: the message says how to fix it: {}",
                r.err
            );
        }
        assert_eq!(
            mode(&key),
            m,
            "the key file is not changed behind the user's back"
        );
    }
    // Private modes are accepted.
    for m in [0o600, 0o400] {
        let k = write_key(&key, m);
        let r = serve(&key, &dir);
        assert_eq!(r.code, Some(0), "mode {m:04o}: {}{}", r.out, r.err);
        assert!(r.out.contains(&api::cluster_token(&k, 0)), "{}", r.out);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_key_file_that_is_not_a_regular_file_is_refused_without_hanging() {
    let dir = scratch("types");
    let private = dir.join("private");
    write_key(&private, 0o600);
    let open = dir.join("open");
    write_key(&open, 0o644);

    let folder = dir.join("folder");
    std::fs::create_dir(&folder).unwrap();
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let link_open = dir.join("link-open");
    std::os::unix::fs::symlink(&open, &link_open).unwrap();
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink(dir.join("nothing-here"), &dangling).unwrap();
    let link_device = dir.join("link-device");
    std::os::unix::fs::symlink("/dev/zero", &link_device).unwrap();
    let cases: [(&Path, &str); 6] = [
        (&folder, "a directory"),
        (&fifo, "a named pipe"),
        (Path::new("/dev/null"), "a character device"),
        (&link_device, "a character device"),
        (&link_open, "chmod 600"),
        (&dangling, "symbolic link"),
    ];
    for (path, says) in cases {
        for (who, r) in [
            ("serve", serve(path, &dir)),
            ("agent", agent_with_key_file(path, &dir)),
        ] {
            let what = format!("{who} with {}", path.display());
            assert!(r.code.is_some(), "{what}: still running after {DEADLINE:?}");
            assert_refused(&r, path, &what);
            assert!(r.err.contains(says), "{what}: {}", r.err);
        }
    }
    assert!(
        std::fs::symlink_metadata(&dangling).unwrap().is_symlink(),
        "nothing is written through a dangling link"
    );
    assert!(!dir.join("nothing-here").exists());
    // Nothing there: the server creates a key, an agent has none to read.
    let missing = dir.join("missing");
    let r = agent_with_key_file(&missing, &dir);
    assert_refused(&r, &missing, "agent with no key file");
    assert!(
        r.err.contains("cannot read the token key file"),
        "{}",
        r.err
    );
    assert!(!missing.exists(), "an agent never creates a key");
    // A link to a private regular file is followed.
    let link_private = dir.join("link-private");
    std::os::unix::fs::symlink(&private, &link_private).unwrap();
    let r = serve(&link_private, &dir);
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_key_file_is_refused_and_never_echoed() {
    let dir = scratch("malformed");
    let key = dir.join("key");
    let hex = TokenKey::random().unwrap().to_hex();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "is empty"),
        ("blank", b" \n\t\n".to_vec(), "is empty"),
        ("short", b"abc123\n".to_vec(), "found 6 characters"),
        (
            "63 digits",
            hex.as_bytes()[..63].to_vec(),
            "found 63 characters",
        ),
        (
            "65 digits",
            format!("{hex}a").into_bytes(),
            "found 65 characters",
        ),
        (
            "two keys",
            format!("{hex}\n{hex}\n").into_bytes(),
            "found 129 characters",
        ),
        ("not hex", "zq".repeat(32).into_bytes(), "not a hex digit"),
        ("not UTF-8", [0xff_u8; 64].to_vec(), "not a hex digit"),
        (
            "a NUL",
            format!("{}\0", &hex[..63]).into_bytes(),
            "not a hex digit",
        ),
        ("huge", vec![b'a'; 1 << 20], "larger than"),
    ];
    for (what, bytes, says) in cases {
        std::fs::write(&key, &bytes).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        for (who, r) in [
            ("serve", serve(&key, &dir)),
            ("agent", agent_with_key_file(&key, &dir)),
        ] {
            let what = format!("{who} with a key file {what}");
            assert_refused(&r, &key, &what);
            assert!(r.err.contains(says), "{what}: {}", r.err);
            assert!(r.err.contains("64 hex digits"), "{what}: {}", r.err);
            assert!(
                !r.err.contains("zqzq") && !r.err.contains(&hex[..16]),
                "{what}: {}",
                r.err
            );
        }
        assert_eq!(
            std::fs::read(&key).unwrap(),
            bytes,
            "{what}: left as it was"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_key_file_path_with_control_characters_is_echoed_escaped() {
    let dir = scratch("escape");
    let key = dir.join("k\u{1b}[31mey");
    write_key(&key, 0o644);
    let r = serve(&key, &dir);
    assert_eq!(r.code, Some(2), "{}{}", r.out, r.err);
    assert!(!r.err.contains('\u{1b}'), "{:?}", r.err);
    assert!(r.err.contains("k\\u{1b}[31mey"), "{:?}", r.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_key_file_of_another_user_is_refused() {
    let dir = scratch("owner");
    let key = dir.join("key");
    write_key(&key, 0o600);
    // Only root can give a file away; CI and this harness run as root.
    if let Err(e) = std::os::unix::fs::chown(&key, Some(12_345), Some(12_345)) {
        eprintln!("skipped: cannot give a file to another user here ({e})");
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    for (who, r) in [
        ("serve", serve(&key, &dir)),
        ("agent", agent_with_key_file(&key, &dir)),
    ] {
        assert_refused(&r, &key, who);
        assert!(r.err.contains("uid 12345"), "{who}: {}", r.err);
        assert!(r.err.contains("chown"), "{who}: {}", r.err);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- the agent against a server that refuses it ----

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn start(key: TokenKey) -> Servers {
    Servers::start(ServeConfig {
        listen: loopback(),
        cloud_listen: loopback(),
        clusters: 4,
        seed: 1,
        token_key: key,
        limits: Default::default(),
        time_scale: SCALE,
        initial_pools: InitialPools::Desired,
        delete_locks: false,
        verbose: false,
    })
    .expect("servers start")
}

/// `cascade agent` for cluster 0 of `s` with `token`, for `run_for`.
fn agent(s: &Servers, token: &str, run_for: &str, extra: &[&str], dir: &Path) -> Ran {
    let (edge, cloud) = (format!("http://{}", s.edge), format!("http://{}", s.cloud));
    let mut args = vec![
        "agent",
        "--control-plane",
        &edge,
        "--cloud",
        &cloud,
        "--cluster",
        "0",
        "--token",
        token,
        "--time-scale",
        "600",
        "--for",
        run_for,
    ];
    args.extend_from_slice(extra);
    cascade(&args, dir)
}

fn admin(s: &Servers, authority: SocketAddr, path: &str, body: &str) {
    let x = call(
        &authority.to_string(),
        "PUT",
        path,
        Some(&s.admin_token()),
        Some(body.into()),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(
        matches!(x, api::Exchange::Reply { status: 200, .. }),
        "{x:?}"
    );
}

#[test]
fn an_agent_whose_token_is_refused_gives_up_naming_the_status() {
    let dir = scratch("refused");
    let s = start(TokenKey::random().unwrap());
    // A token of another key: 401 on every poll.
    let stranger = api::cluster_token(&TokenKey::random().unwrap(), 0);
    let r = agent(&s, &stranger, "20s", &[], &dir);
    assert_eq!(r.code, Some(1), "{}{}", r.out, r.err);
    assert!(r.err.contains("401"), "{}", r.err);
    assert!(r.err.contains("refused"), "{}", r.err);
    assert!(
        r.took < Duration::from_secs(15),
        "a refused token is not retried until --for ends: {:?}",
        r.took
    );
    // Cluster 1's token for cluster 0: 403.
    let r = agent(&s, &s.token(1), "20s", &["--guards", "all"], &dir);
    assert_eq!(r.code, Some(1), "{}{}", r.out, r.err);
    assert!(r.err.contains("403"), "{}", r.err);
    assert!(r.took < Duration::from_secs(15), "{:?}", r.took);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_agent_whose_every_poll_fails_exits_non_zero_naming_the_status() {
    let dir = scratch("failing");
    let s = start(TokenKey::random().unwrap());
    admin(
        &s,
        s.control_plane,
        "/admin/faults",
        r#"{"server_error_ratio": 1.0}"#,
    );
    let r = agent(&s, &s.token(0), "1s", &[], &dir);
    assert_eq!(r.code, Some(1), "{}{}", r.out, r.err);
    assert!(r.err.contains("no poll was accepted"), "{}", r.err);
    assert!(r.err.contains("500"), "{}", r.err);
    // The edge misroutes every poll to its default backend: 404.
    let s = start(TokenKey::random().unwrap());
    admin(
        &s,
        s.edge,
        "/admin/routing",
        r#"{"misroute_ratio": 1.0, "misroute_salt": 0, "set_by": "test"}"#,
    );
    let r = agent(&s, &s.token(0), "1s", &["--guards", "all"], &dir);
    assert_eq!(r.code, Some(1), "{}{}", r.out, r.err);
    assert!(r.err.contains("no poll was accepted"), "{}", r.err);
    assert!(r.err.contains("404"), "{}", r.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_agent_whose_polls_fail_for_a_while_keeps_retrying_and_passes() {
    let dir = scratch("transient");
    let s = start(TokenKey::random().unwrap());
    admin(
        &s,
        s.control_plane,
        "/admin/faults",
        r#"{"server_error_ratio": 1.0}"#,
    );
    let (edge, cloud, token) = (
        format!("http://{}", s.edge),
        format!("http://{}", s.cloud),
        s.token(0),
    );
    let child = std::thread::spawn({
        let dir = dir.clone();
        move || {
            cascade(
                &[
                    "agent",
                    "--control-plane",
                    &edge,
                    "--cloud",
                    &cloud,
                    "--cluster",
                    "0",
                    "--token",
                    &token,
                    "--time-scale",
                    "600",
                    "--for",
                    "6s",
                ],
                &dir,
            )
        }
    });
    // Heal once the agent has seen a failure (its output is a file).
    let out = dir.join("stdout.txt");
    for _ in 0..1_000 {
        let seen = std::fs::read_to_string(&out).unwrap_or_default();
        if seen.contains("desired state 5xx") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    admin(&s, s.control_plane, "/admin/faults", "{}");
    let r = child.join().unwrap();
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    assert!(r.out.contains("desired state 5xx"), "{}", r.out);
    assert!(r.out.contains("desired state 200"), "{}", r.out);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_agent_with_a_good_key_file_passes_and_a_token_on_the_command_line_is_warned_about() {
    let dir = scratch("good");
    let key_path = dir.join("key");
    let key = write_key(&key_path, 0o600);
    let s = start(key);
    let (edge, cloud) = (format!("http://{}", s.edge), format!("http://{}", s.cloud));
    let r = cascade(
        &[
            "agent",
            "--control-plane",
            &edge,
            "--cloud",
            &cloud,
            "--cluster",
            "0",
            "--token-file",
            key_path.to_str().unwrap(),
            "--time-scale",
            "600",
            "--for",
            "1s",
        ],
        &dir,
    );
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    assert!(!r.err.contains("warning"), "{}", r.err);
    // The same token on the command line works, with a warning: any local
    // user can read it in `ps`.
    let r = agent(&s, &s.token(0), "1s", &[], &dir);
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    assert!(
        r.err
            .contains("warning: --token is visible to other local users"),
        "{}",
        r.err
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_token_that_cannot_be_sent_is_refused_before_any_poll() {
    let dir = scratch("bad-token");
    let long = "a".repeat(5_000);
    let cases: [(&str, &str); 6] = [
        ("", "is empty"),
        ("c0.ab\ncd", "cannot go in an HTTP header"),
        ("c0.ab\u{1b}[2J", "cannot go in an HTTP header"),
        ("c0.ab cd", "cannot go in an HTTP header"),
        ("c0.abé", "cannot go in an HTTP header"),
        (&long, "5000 characters"),
    ];
    for (token, says) in cases {
        let r = cascade(
            &[
                "agent",
                "--control-plane",
                "http://127.0.0.1:9",
                "--cluster",
                "0",
                "--token",
                token,
                "--for",
                "300ms",
                "--timeout-ms",
                "100",
            ],
            &dir,
        );
        assert_eq!(r.code, Some(2), "{token:?}: {}{}", r.out, r.err);
        assert!(r.err.contains("--token"), "{token:?}: {}", r.err);
        assert!(r.err.contains(says), "{token:?}: {}", r.err);
        assert!(
            !r.err.contains("ab"),
            "{token:?}: a token is not echoed: {}",
            r.err
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
