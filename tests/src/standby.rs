//! PostgreSQL standbys for `coffer serve --pg-standby DIR`: a temporary standby directory
//! that stops what runs in it when dropped, and signals for every process of a cluster (to
//! simulate a lost disk or a standby that does not answer).

use std::path::Path;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process;

/// A temporary directory for a standby (`DIR/postgres`, `DIR/run`, `DIR/postgres.log`).
/// Dropping it stops a PostgreSQL still running in it, then removes it; declare it before
/// the [`crate::TestServer`] using it, so that it is dropped after the server.
#[derive(Debug)]
pub struct StandbyDir {
    dir: TempDir,
}

impl StandbyDir {
    /// A fresh, empty standby directory.
    pub fn new() -> StandbyDir {
        let mut dir = tempfile::Builder::new()
            .prefix("coffer-e2e-standby-")
            .tempdir()
            .expect("creating a temporary standby directory");
        if process::keep_dirs() {
            dir.disable_cleanup(true);
            eprintln!("COFFER_TEST_KEEP: keeping {}", dir.path().display());
        }
        StandbyDir { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory as a `coffer` argument.
    pub fn arg(&self) -> &str {
        self.path().to_str().expect("temporary paths are UTF-8")
    }
}

impl Default for StandbyDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StandbyDir {
    fn drop(&mut self) {
        process::stop_embedded_postgres(self.path());
    }
}

/// The live `postgres` processes of the cluster in `home/postgres` (every server process
/// works in its cluster directory).
pub fn cluster_pids(home: &Path) -> Vec<u32> {
    let cluster =
        std::fs::canonicalize(home.join("postgres")).unwrap_or_else(|_| home.join("postgres"));
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == cluster)
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "postgres")
                && process::pid_alive(pid)
        })
        .collect()
}

/// Sends `signal` to every process of the cluster in `home/postgres`; panics if there is
/// none.
pub fn signal_cluster(home: &Path, signal: i32) {
    let pids = cluster_pids(home);
    assert!(!pids.is_empty(), "no PostgreSQL runs in {}", home.display());
    for pid in pids {
        process::signal(pid, signal);
    }
}

/// SIGKILLs every process of the cluster in `home/postgres` (a lost disk) and waits until
/// they are gone.
pub async fn kill_cluster(home: &Path) {
    signal_cluster(home, libc::SIGKILL);
    let began = Instant::now();
    while !cluster_pids(home).is_empty() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "PostgreSQL in {} survived SIGKILL",
            home.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
