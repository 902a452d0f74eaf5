//! Process plumbing: free ports, running as an unprivileged user, waiting, and cleaning up after ourselves.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now (the kernel picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of a system user, read from /etc/passwd.
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// The account servers run as: when the tests run as root (CI), an unprivileged system user, because
/// PostgreSQL refuses to run as root. Returns `None` when already unprivileged.
pub fn service_account(preferred: &str) -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    Some(
        lookup_user(preferred)
            .or_else(|| lookup_user("nobody"))
            .expect("a 'nobody' user exists on Debian"),
    )
}

/// Makes `path` (recursively) owned by the account.
pub fn chown_tree(path: &Path, account: Option<(u32, u32)>) {
    let Some((uid, gid)) = account else { return };
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read a directory we created") {
            chown_tree(&entry.expect("directory entry").path(), account);
        }
    }
}

/// A command that runs as the account when one is given.
pub fn command_as(program: &Path, account: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(program);
    if let Some((uid, gid)) = account {
        command.uid(uid).gid(gid);
        // HOME of root is not readable by the service account; some tools look at it.
        command.env("HOME", "/tmp");
    }
    command
}

/// Polls `ready` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ready()
}

/// Starts a detached watcher that, once this process has exited, stops the server `pid` and removes
/// `directory`. Statics are never dropped, so this is how a test binary cleans up servers it started itself.
pub fn spawn_reaper(pid: u32, directory: &Path) {
    let script = format!(
        "while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
         kill -TERM {pid} 2>/dev/null; \
         for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 {pid} 2>/dev/null || break; sleep 1; done; \
         kill -KILL {pid} 2>/dev/null; rm -rf '{dir}'",
        parent = std::process::id(),
        dir = directory.display().to_string().replace('\'', ""),
    );
    // The outer shell backgrounds the watcher and exits at once (we wait for it, so no zombie); the watcher is
    // re-parented to init and outlives us. Its own process group keeps a Ctrl-C aimed at the tests from
    // killing the cleaner first.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("({script}) &"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command.process_group(0);
    let status = command.status().expect("spawn the cleanup process");
    assert!(status.success(), "the cleanup process failed to start: {status}");
}

/// The last `lines` lines of a log file, for failure messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sends SIGTERM and waits for the process to exit (SIGKILL after `grace`).
pub fn terminate(child: &mut std::process::Child, grace: Duration) {
    // SAFETY: kill with a pid we spawned and a valid signal number.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let exited = wait_until(grace, || matches!(child.try_wait(), Ok(Some(_))));
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
}
