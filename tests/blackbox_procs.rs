//! The black-box tier's process supervisor against real processes: what a
//! child prints reaches its log, exits are typed, stop escalates to
//! SIGKILL, nothing of a stopped group survives (forks included), a
//! dropped or SIGKILLed supervisor leaves no child, and a flood of output
//! is capped. Each test waits a few seconds at most.

use cascade::blackbox::procs::{
    install_interrupt_flag, write_tokens_file, CommandTemplate, Exit, Limits, ProcKey, Supervisor,
    Vars,
};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

const LIMITS: Limits = Limits {
    processes_max: 8,
    log_bytes_max: 1 << 20,
};

/// A fresh folder for one test's logs.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cascade-procs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Waits up to `limit` (in 10 ms steps) for `ready`; true if it came.
fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    for _ in 0..limit.as_millis().div_ceil(10) {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ready()
}

/// The first exit `poll_exits` reports within three seconds.
fn next_exit(sup: &mut Supervisor) -> Option<(ProcKey, Exit)> {
    let mut seen = None;
    wait_for(Duration::from_secs(3), || {
        seen = sup.poll_exits().pop();
        seen.is_some()
    });
    seen
}

fn log_text(sup: &Supervisor, key: ProcKey) -> String {
    String::from_utf8_lossy(&std::fs::read(sup.log_path(key)).unwrap_or_default()).into_owned()
}

/// Pids of the live (not zombie) processes in group `pgid`, read off
/// /proc. Zombies are left out: they run nothing, and reaping an orphan
/// is pid 1's job (some containers' pid 1 never does it).
fn live_members(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .flatten()
    {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            pids.push(pid);
        }
    }
    pids
}

fn vars() -> Vars {
    Vars {
        cluster: Some(17),
        control_plane_url: "http://127.0.0.1:4000".into(),
        service_url: "http://127.0.0.1:4001".into(),
        cloud_url: "http://127.0.0.1:4002".into(),
        token: None,
        time_scale: 60.0,
        poll_interval_ms: 250,
        clusters_file: None,
        incident: None,
        clusters: None,
        tokens_file: None,
    }
}

#[test]
fn a_value_with_spaces_and_quotes_reaches_the_child_as_one_word() {
    let dir = scratch("quote");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let mut v = vars();
    v.token = Some(r#"it's a "t" ; echo INJECTED $(echo X) `echo Y` \n"#.into());
    let t = CommandTemplate::parse("printf '[%s]' {token} {cluster}").unwrap();
    let key = ProcKey::Agent(17);
    sup.spawn(key, &t.render(&v).unwrap(), &v.env()).unwrap();
    assert_eq!(next_exit(&mut sup), Some((key, Exit::Code(0))));
    let log = log_text(&sup, key);
    let printed = log
        .lines()
        .nth(1)
        .expect("the child's output after the header");
    assert_eq!(
        printed,
        r#"[it's a "t" ; echo INJECTED $(echo X) `echo Y` \n][17]"#
    );
}

#[test]
fn the_log_holds_what_the_child_printed_and_a_header_per_start() {
    let dir = scratch("log");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let key = ProcKey::Recovery(1);
    let mut v = vars();
    v.token = Some("s3cret".into());
    let cmd =
        "sh -c 'echo \"out $CASCADE_CLUSTER ${CASCADE_INCIDENT-none} $0\"; echo err >&2' 's3cret'";
    for _ in 0..2 {
        let pid = sup.spawn(key, cmd, &v.env()).unwrap();
        assert!(sup.running(key));
        assert_eq!(sup.pid(key), Some(pid));
        assert_eq!(next_exit(&mut sup), Some((key, Exit::Code(0))));
        assert!(!sup.running(key));
    }
    assert_eq!(sup.log_path(key), dir.join("recovery-1.log"));
    let log = log_text(&sup, key);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6, "{log}");
    for start in [0, 3] {
        assert!(
            lines[start].starts_with("--- cascade: started recovery-1 (pid "),
            "{log}"
        );
        assert!(lines[start].ends_with("echo err >&2' '<token>'"), "{log}");
        assert_eq!(lines[start + 1], "out 17 none s3cret");
        assert_eq!(lines[start + 2], "err");
    }
}

#[test]
fn a_child_that_exits_at_once_is_reported_with_its_code() {
    let dir = scratch("exit");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    sup.spawn(ProcKey::Agent(3), "sh -c 'exit 3'", &[]).unwrap();
    assert_eq!(
        next_exit(&mut sup),
        Some((ProcKey::Agent(3), Exit::Code(3)))
    );
    assert_eq!(sup.poll_exits(), vec![]);
    assert_eq!(sup.stop(ProcKey::Agent(3), Duration::ZERO), None);
}

#[test]
fn a_command_that_does_not_exist_exits_127() {
    let dir = scratch("missing");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let key = ProcKey::AllAgents;
    sup.spawn(key, "cascade-no-such-command-here --flag", &[])
        .unwrap();
    assert_eq!(next_exit(&mut sup), Some((key, Exit::Code(127))));
    assert!(log_text(&sup, key).contains("cascade-no-such-command-here"));
    assert_eq!(
        Exit::Code(127).to_string(),
        "exit code 127 (command not found)"
    );
}

#[test]
fn stop_ends_a_polite_child_by_sigterm_and_a_deaf_one_by_sigkill_after_the_grace() {
    let dir = scratch("deaf");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let polite = ProcKey::Agent(1);
    let deaf = ProcKey::Agent(2);
    sup.spawn(polite, "sh -c 'echo ready; sleep 30'", &[])
        .unwrap();
    sup.spawn(deaf, "sh -c 'trap \"\" TERM; echo ready; sleep 30'", &[])
        .unwrap();
    // Only once the trap is set does SIGTERM meet a deaf child.
    for key in [polite, deaf] {
        assert!(wait_for(Duration::from_secs(3), || log_text(&sup, key)
            .contains("ready")));
    }
    let grace = Duration::from_millis(400);
    #[allow(clippy::disallowed_methods)] // the test measures the grace
    let start = std::time::Instant::now();
    assert_eq!(sup.stop(polite, grace), Some(Exit::Signal(15)));
    let polite_took = start.elapsed();
    assert_eq!(sup.stop(deaf, grace), Some(Exit::Signal(9)));
    let deaf_took = start.elapsed() - polite_took;
    assert!(
        polite_took < grace,
        "a child that ends on SIGTERM took {polite_took:?}"
    );
    assert!(
        deaf_took >= grace,
        "SIGKILL came after {deaf_took:?}, before the grace"
    );
    assert!(deaf_took < Duration::from_secs(2), "{deaf_took:?}");
    assert!(!sup.running(deaf));
}

#[test]
fn after_stop_no_process_of_the_group_remains_forks_included() {
    let dir = scratch("fork");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let key = ProcKey::Agent(5);
    let pid = sup.spawn(key, "sh -c 'sleep 30 & sleep 30'", &[]).unwrap();
    assert!(wait_for(Duration::from_secs(3), || live_members(pid).len() >= 2));
    let members = live_members(pid);
    assert!(members.contains(&pid), "{members:?}");
    let exit = sup.stop(key, Duration::from_millis(500));
    assert!(matches!(exit, Some(Exit::Signal(_))), "{exit:?}");
    assert!(
        wait_for(Duration::from_secs(1), || live_members(pid).is_empty()),
        "left alive in group {pid}: {:?}",
        live_members(pid)
    );
}

#[test]
fn a_leader_that_exits_takes_what_it_left_in_its_group() {
    let dir = scratch("leftover");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let key = ProcKey::Recovery(2);
    let pid = sup
        .spawn(key, "sh -c 'sleep 30 & echo started'", &[])
        .unwrap();
    assert_eq!(next_exit(&mut sup), Some((key, Exit::Code(0))));
    assert!(
        wait_for(Duration::from_secs(1), || live_members(pid).is_empty()),
        "left alive in group {pid}: {:?}",
        live_members(pid)
    );
}

#[test]
fn dropping_the_supervisor_leaves_no_child() {
    let dir = scratch("drop");
    let mut sup = Supervisor::new(&dir, LIMITS).unwrap();
    let deaf = sup
        .spawn(
            ProcKey::Agent(1),
            "sh -c 'trap \"\" TERM; sleep 30 & sleep 30'",
            &[],
        )
        .unwrap();
    let forks = sup
        .spawn(ProcKey::AllAgents, "sh -c 'sleep 30 & sleep 30'", &[])
        .unwrap();
    for pgid in [deaf, forks] {
        assert!(wait_for(Duration::from_secs(3), || live_members(pgid)
            .len()
            >= 2));
    }
    drop(sup);
    for pgid in [deaf, forks] {
        assert!(
            wait_for(Duration::from_secs(1), || live_members(pgid).is_empty()),
            "left alive in group {pgid}: {:?}",
            live_members(pgid)
        );
    }
}

#[test]
fn a_flood_of_output_is_capped_and_the_child_still_runs_to_its_end() {
    let dir = scratch("flood");
    let cap = 64 * 1024;
    let limits = Limits {
        processes_max: 2,
        log_bytes_max: cap,
    };
    let mut sup = Supervisor::new(&dir, limits).unwrap();
    let key = ProcKey::Agent(9);
    // 8 MB: the exit code 0 shows the child was neither blocked nor killed.
    sup.spawn(key, "sh -c 'head -c 8000000 /dev/zero; echo done >&2'", &[])
        .unwrap();
    assert_eq!(next_exit(&mut sup), Some((key, Exit::Code(0))));
    let log = std::fs::read(sup.log_path(key)).unwrap();
    let notice = format!(
        "\n--- cascade: this log reached its cap of {cap} bytes; \
         the rest of this process's output is discarded\n"
    );
    assert_eq!(log.len() as u64, cap + notice.len() as u64);
    assert!(log.ends_with(notice.as_bytes()));
}

#[test]
fn spawn_refuses_beyond_the_process_limit_and_a_key_twice() {
    let dir = scratch("limit");
    let limits = Limits {
        processes_max: 1,
        log_bytes_max: 1024,
    };
    let mut sup = Supervisor::new(&dir, limits).unwrap();
    sup.spawn(ProcKey::Agent(1), "sleep 30", &[]).unwrap();
    let again = sup.spawn(ProcKey::Agent(1), "sleep 30", &[]).unwrap_err();
    assert!(
        again.starts_with("agent-1 is already running (pid "),
        "{again}"
    );
    assert_eq!(
        sup.spawn(ProcKey::Agent(2), "sleep 30", &[]).unwrap_err(),
        "cannot start agent-2: 1 processes are running, the limit is 1"
    );
    let stopped = sup.stop_all(Duration::from_millis(500));
    assert_eq!(stopped, vec![(ProcKey::Agent(1), Exit::Signal(15))]);
    sup.spawn(ProcKey::Agent(2), "sleep 30", &[]).unwrap();
}

#[test]
fn the_tokens_file_is_private_new_and_one_line_per_cluster() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("tokens");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens");
    let tokens = [(3, "tok-3".to_string()), (5, "tok-5".to_string())];
    write_tokens_file(&path, &tokens).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "3 tok-3\n5 tok-5\n"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = write_tokens_file(&path, &tokens).unwrap_err();
    assert!(
        again.starts_with("cannot create the tokens file "),
        "{again}"
    );
    let spaced = write_tokens_file(&dir.join("t2"), &[(1, "a b".into())]).unwrap_err();
    assert_eq!(
        spaced,
        "the token of cluster 1 is empty or holds whitespace"
    );
    assert!(!dir.join("t2").exists());
}

#[test]
fn sigterm_sets_the_interrupt_flag() {
    let flag = install_interrupt_flag();
    assert!(std::ptr::eq(flag, install_interrupt_flag()));
    assert!(!flag.load(Ordering::SeqCst));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_for(Duration::from_secs(2), || flag.load(Ordering::SeqCst)));
}

/// The environment variable that turns the next test into the stand-in
/// cascade of `a_sigkilled_supervisor_leaves_no_child`.
const HELPER_LOG_DIR: &str = "CASCADE_PROCS_TEST_HELPER_DIR";

/// The other half of the test below, run by it as a child process: starts
/// a child under a supervisor, says its pid, then waits to be killed. Run
/// on its own (without the variable), it does nothing.
#[test]
fn helper_a_supervisor_to_be_sigkilled() {
    #[allow(clippy::disallowed_methods)] // the test process reads its own role
    let Some(dir) = std::env::var_os(HELPER_LOG_DIR) else {
        return;
    };
    let mut sup = Supervisor::new(std::path::Path::new(&dir), LIMITS).unwrap();
    let pid = sup.spawn(ProcKey::Agent(1), "sleep 30", &[]).unwrap();
    // The harness may print "test <name> ... " on the same line first.
    println!("child-pid {pid}");
    std::thread::sleep(Duration::from_secs(20));
}

#[test]
fn a_sigkilled_supervisor_leaves_no_child() {
    use std::io::{BufRead, BufReader};
    let dir = scratch("pdeathsig");
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_a_supervisor_to_be_sigkilled",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(HELPER_LOG_DIR, &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(helper.stdout.take().unwrap()).lines();
    let child: u32 = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("child-pid ")
                .nth(1)
                .and_then(|p| p.trim().parse().ok())
        })
        .expect("the helper says its child's pid");
    assert_eq!(live_members(child), vec![child]);
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert!(
        wait_for(Duration::from_secs(2), || live_members(child).is_empty()),
        "the child {child} outlived its SIGKILLed supervisor"
    );
}
