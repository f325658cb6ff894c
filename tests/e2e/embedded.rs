//! `coffer serve` without `--database-url`: the server runs its own PostgreSQL inside the
//! data directory, stops it on shutdown, and survives being killed.

use std::time::{Duration, Instant};

use coffer_tests::{
    TestServer, embedded_postmaster_pid, pid_alive, postmaster_pid_file, random_bytes,
    unique_bucket,
};

use crate::support::{create_bucket, get, put};

/// Waits until `pid` is gone (PostgreSQL may still be exiting when its pid file goes).
async fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let start = Instant::now();
    while pid_alive(pid) {
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

#[tokio::test]
async fn embedded_postgres_start_stop_restart() {
    let mut s = TestServer::builder().embedded_postgres().start().await;
    assert!(s.database_url().is_none());
    let pid_file = postmaster_pid_file(s.data_dir());
    assert!(pid_file.exists(), "no {} while running", pid_file.display());
    let postmaster = embedded_postmaster_pid(s.data_dir()).expect("postmaster pid");
    assert!(pid_alive(postmaster), "postmaster {postmaster} not running");

    let c = s.client();
    let bucket = unique_bucket("embedded");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(100_000);
    put(&c, &bucket, "k", &data).await;
    assert_eq!(get(&c, &bucket, "k").await, data);
    // The admin CLI works against the running server's embedded PostgreSQL.
    let keys = s.create_account("embedded-user").await;
    s.client_for(&keys)
        .list_buckets()
        .send()
        .await
        .expect("new account works");

    let status = s.stop().await;
    assert_eq!(status.code(), Some(0), "SIGTERM must exit 0: {status}");
    assert!(
        !pid_file.exists(),
        "postmaster.pid still there after shutdown: PostgreSQL was not stopped"
    );
    assert!(
        wait_gone(postmaster, Duration::from_secs(10)).await,
        "postgres {postmaster} still running after coffer exited"
    );

    s.restart().await;
    let c = s.client();
    assert_eq!(get(&c, &bucket, "k").await, data, "data survives a restart");
    s.client_for(&keys)
        .list_buckets()
        .send()
        .await
        .expect("account survives a restart");
    let postmaster = embedded_postmaster_pid(s.data_dir()).expect("postmaster pid");
    let status = s.stop().await;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(!pid_file.exists());
    assert!(wait_gone(postmaster, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn restart_after_sigkill_adopts_running_postgres() {
    let mut s = TestServer::builder().embedded_postgres().start().await;
    let c = s.client();
    let bucket = unique_bucket("crash");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(50_000);
    put(&c, &bucket, "k", &data).await;
    let postmaster = embedded_postmaster_pid(s.data_dir()).expect("postmaster pid");

    // Crash: PostgreSQL is left running.
    s.kill().await;
    assert!(
        pid_alive(postmaster),
        "postgres died with coffer; it runs detached and must survive a crash"
    );

    s.restart().await;
    let c = s.client();
    assert_eq!(
        get(&c, &bucket, "k").await,
        data,
        "object served after the crash"
    );
    put(&c, &bucket, "after-crash", b"new").await;
    assert_eq!(get(&c, &bucket, "after-crash").await, b"new");

    let status = s.stop().await;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        wait_gone(postmaster, Duration::from_secs(15)).await,
        "the adopted postgres {postmaster} was not stopped on shutdown"
    );
    assert!(!postmaster_pid_file(s.data_dir()).exists());
}
