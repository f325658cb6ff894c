//! Child processes: finding the `coffer` binary, signalling, and the registry that the
//! process-exit hook uses to make sure nothing outlives the test binary.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::{Duration, Instant};

/// The `coffer` binary built by `cargo build -p coffer --bin coffer`.
///
/// `COFFER_BIN` overrides; otherwise the profile directory of this test executable
/// (`target/<profile>/deps/e2e-xxxx` -> `target/<profile>/coffer`), then
/// `$CARGO_TARGET_DIR/<profile>/coffer` and `$CARGO_TARGET_DIR/debug/coffer`.
pub fn coffer_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("COFFER_BIN") {
        return PathBuf::from(bin);
    }
    let mut candidates = Vec::new();
    let exe = std::env::current_exe().expect("locating the test executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(Path::to_path_buf);
    if let Some(dir) = &profile_dir {
        candidates.push(dir.join("coffer"));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let target = PathBuf::from(target);
        if let Some(profile) = profile_dir.as_ref().and_then(|d| d.file_name()) {
            candidates.push(target.join(profile).join("coffer"));
        }
        candidates.push(target.join("debug").join("coffer"));
    }
    let bin = candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the coffer binary was not found (looked at {candidates:?}): \
                 run `cargo build -p coffer --bin coffer` first"
            )
        });
    warn_if_stale(&bin);
    bin
}

/// The release build of `coffer`: `$COFFER_RELEASE_BIN`, else `release/coffer` beside the
/// profile directory of the tests (or under `$CARGO_TARGET_DIR`).
pub fn coffer_release_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("COFFER_RELEASE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("locating the test executable");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| exe.ancestors().nth(3).map(Path::to_path_buf))
        .expect("the target directory");
    let bin = target.join("release").join("coffer");
    assert!(
        bin.is_file(),
        "{} was not found: run `cargo build --release --bin coffer` first",
        bin.display()
    );
    bin
}

/// Warns (once) when a server source file is newer than the binary under test.
fn warn_if_stale(bin: &Path) {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
            return;
        };
        let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src");
        if let Some(newer) = newest_file(&sources).filter(|(t, _)| *t > built) {
            eprintln!(
                "warning: {} is newer than {}: run `cargo build -p coffer --bin coffer` \
                 to test the current sources",
                newer.1.display(),
                bin.display()
            );
        }
    });
}

fn newest_file(dir: &Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let candidate = if path.is_dir() {
            newest_file(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (t, path))
        };
        if let Some(c) = candidate
            && newest.as_ref().is_none_or(|n| c.0 > n.0)
        {
            newest = Some(c);
        }
    }
    newest
}

/// Whether `COFFER_TEST_KEEP` asks to keep data directories (logs) for inspection.
pub(crate) fn keep_dirs() -> bool {
    std::env::var_os("COFFER_TEST_KEEP").is_some()
}

/// Sends `signal` to `pid` (ignoring errors: the process may be gone).
pub(crate) fn signal(pid: u32, signal: i32) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Whether `pid` names a live (non-zombie) process.
pub fn pid_alive(pid: u32) -> bool {
    let mut stat = String::new();
    match std::fs::File::open(format!("/proc/{pid}/stat")) {
        Ok(mut f) => {
            if f.read_to_string(&mut stat).is_err() {
                return false;
            }
        }
        Err(_) => return false,
    }
    // Format: `pid (comm) state ...`; comm may contain spaces and parentheses.
    match stat.rfind(')') {
        Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
        None => false,
    }
}

/// The postmaster pid recorded in `data_dir/postgres/postmaster.pid`, if that file exists.
pub fn embedded_postmaster_pid(data_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data_dir.join("postgres").join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Stops an embedded PostgreSQL left running in `data_dir` (blocking): SIGINT (fast
/// shutdown), then SIGQUIT, then SIGKILL.
pub(crate) fn stop_embedded_postgres(data_dir: &Path) {
    let Some(pid) = embedded_postmaster_pid(data_dir) else {
        return;
    };
    for (sig, wait) in [
        (libc::SIGINT, Duration::from_secs(15)),
        (libc::SIGQUIT, Duration::from_secs(5)),
        (libc::SIGKILL, Duration::from_secs(5)),
    ] {
        if !pid_alive(pid) {
            return;
        }
        signal(pid, sig);
        let deadline = Instant::now() + wait;
        while pid_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Terminates a child: SIGTERM, up to `grace` to exit, then SIGKILL. Blocking.
pub(crate) fn terminate_blocking(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    signal(child.id(), libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
    let _ = child.kill();
    child.wait().ok()
}

/// Waits (asynchronously) for a child to exit, up to `timeout`.
pub(crate) async fn wait_async(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => return None,
        }
    }
}

/// A running (or stopped) `coffer serve` process and what to clean up after it.
#[derive(Debug)]
pub(crate) struct ServerProc {
    /// The child; `None` while stopped.
    pub child: Mutex<Option<Child>>,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Whether the server runs its own embedded PostgreSQL in `data_dir`.
    pub embedded_pg: bool,
}

impl ServerProc {
    /// Stops the server if it runs, and an embedded PostgreSQL it may have left behind.
    pub fn shutdown_blocking(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut child) = child {
            terminate_blocking(&mut child, Duration::from_secs(10));
        }
        if self.embedded_pg {
            stop_embedded_postgres(&self.data_dir);
        }
    }
}

static LIVE: Mutex<Vec<Weak<ServerProc>>> = Mutex::new(Vec::new());

/// Records a server so that the exit hook can stop it if nobody else does.
pub(crate) fn register(proc_: &Arc<ServerProc>) {
    install_exit_hook();
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|w| w.strong_count() > 0);
    live.push(Arc::downgrade(proc_));
}

/// Installs (once) the process-exit hook that stops everything this harness started.
pub(crate) fn install_exit_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registering a plain `extern "C" fn()` with atexit(3).
        unsafe {
            libc::atexit(on_exit);
        }
    });
}

extern "C" fn on_exit() {
    // Never unwind across the FFI boundary.
    let _ = std::panic::catch_unwind(|| {
        let live: Vec<Arc<ServerProc>> = LIVE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        for server in &live {
            server.shutdown_blocking();
            // Servers still alive at exit are held in statics: their TempDir is never
            // dropped, so remove the directory here.
            if !keep_dirs() {
                let _ = std::fs::remove_dir_all(&server.data_dir);
            }
        }
        crate::pg::shutdown();
    });
}
