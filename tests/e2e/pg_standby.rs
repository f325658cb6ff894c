//! `coffer serve --pg-standby DIR`: every acknowledged write is on the primary's disk and on
//! a standby's disk, survives the loss of the primary's disk through
//! `coffer admin pg promote`, and waits while no standby confirms it.

use std::process::Stdio;
use std::time::Duration;

use coffer_tests::standby::{StandbyDir, kill_cluster, signal_cluster};
use coffer_tests::{TestServer, coffer_binary, random_bytes, unique_bucket};

use crate::support::{create_bucket, get, put};

/// Chunk size and inline threshold of these tests: objects up to 1 KiB are stored in
/// PostgreSQL, larger ones in 64 KiB chunk files.
const STORAGE_ARGS: [&str; 4] = ["--chunk-size", "65536", "--inline-threshold", "1024"];

/// Runs `coffer admin pg ARGS...` on `s`'s data directory and checks its exit status.
async fn admin_pg(s: &TestServer, args: &[&str], succeed: bool) -> String {
    let mut all = vec!["pg"];
    all.extend_from_slice(args);
    let out = s.admin(&all).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.success(),
        succeed,
        "coffer admin {all:?}:\n{text}"
    );
    text
}

#[tokio::test]
async fn objects_survive_the_loss_of_the_primary_disk() {
    // Declared before the server, so dropped after it.
    let standby = StandbyDir::new();
    let mut s = TestServer::builder()
        .embedded_postgres()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .arg("--pg-standby")
        .arg(standby.arg())
        .start()
        .await;
    let status = admin_pg(&s, &["status"], true).await;
    assert!(status.contains("streaming"), "{status}");
    assert!(status.contains("quorum"), "{status}");

    let c = s.client();
    let bucket = unique_bucket("standby");
    create_bucket(&c, &bucket).await;
    let mut objects = Vec::new();
    for (key, len) in [
        ("inline/empty", 0),
        ("inline/small", 100),
        ("inline/at-threshold", 1024),
        ("chunked/one-chunk", 5_000),
        ("chunked/three-chunks", 150_000),
        ("chunked/large", 1_000_007),
    ] {
        let data = random_bytes(len);
        put(&c, &bucket, key, &data).await;
        objects.push((key, data));
    }
    // An overwrite and a delete are acknowledged writes too.
    let replaced = random_bytes(70_000);
    put(&c, &bucket, "chunked/one-chunk", &replaced).await;
    objects[3].1 = replaced;
    put(&c, &bucket, "deleted", b"gone").await;
    c.delete_object()
        .bucket(&bucket)
        .key("deleted")
        .send()
        .await
        .expect("deleting");
    let account = s.create_account("after-standby").await;

    let refused = admin_pg(&s, &["promote", standby.arg()], false).await;
    assert!(refused.contains("refusing to promote"), "{refused}");

    // The primary's disk is lost: coffer and PostgreSQL die, the cluster is gone.
    s.kill().await;
    kill_cluster(s.data_dir()).await;
    std::fs::remove_dir_all(s.data_dir().join("postgres")).expect("removing the primary");

    let promoted = admin_pg(&s, &["promote", standby.arg()], true).await;
    assert!(promoted.contains("promoted the standby"), "{promoted}");
    s.restart_with_args(&STORAGE_ARGS).await;

    let c = s.client();
    for (key, data) in &objects {
        assert_eq!(&get(&c, &bucket, key).await, data, "{key} after promotion");
    }
    let listed = c
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("listing");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = objects.iter().map(|(key, _)| *key).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    s.client_for(&account)
        .list_buckets()
        .send()
        .await
        .expect("the account made before the loss works");
    put(&c, &bucket, "after", b"written to the promoted primary").await;
    assert_eq!(
        get(&c, &bucket, "after").await,
        b"written to the promoted primary"
    );
    let status = admin_pg(&s, &["status", "--json"], true).await;
    let status: serde_json::Value = serde_json::from_str(status.trim()).expect("status JSON");
    assert_eq!(status["promoted"], true, "{status}");
    assert_eq!(
        status["home"].as_str(),
        std::fs::canonicalize(standby.path())
            .ok()
            .as_deref()
            .and_then(|p| p.to_str()),
        "{status}"
    );
}

#[tokio::test]
async fn a_write_waits_until_the_standby_has_it() {
    let standby = StandbyDir::new();
    let s = TestServer::builder()
        .embedded_postgres()
        .arg("--pg-standby")
        .arg(standby.arg())
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("sync");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "before", b"before").await;

    // A standby that receives but never confirms (its processes stopped).
    signal_cluster(standby.path(), libc::SIGSTOP);
    let pending = {
        let c = c.clone();
        let bucket = bucket.clone();
        tokio::spawn(async move { put(&c, &bucket, "during", b"during").await })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waited = !pending.is_finished();
    // Reads commit nothing, so they do not wait.
    let read = tokio::time::timeout(Duration::from_secs(10), get(&c, &bucket, "before")).await;
    signal_cluster(standby.path(), libc::SIGCONT);
    assert!(waited, "the PUT was acknowledged while no standby had it");
    assert_eq!(read.expect("a GET while the standby is stopped"), b"before");
    tokio::time::timeout(Duration::from_secs(30), pending)
        .await
        .expect("the PUT completes once the standby confirms it")
        .expect("the PUT task");
    assert_eq!(get(&c, &bucket, "during").await, b"during");
}

#[tokio::test]
async fn pg_standby_is_refused_with_an_external_database() {
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let out = tokio::process::Command::new(coffer_binary())
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--database-url", "postgres://coffer@localhost/none"])
        .args(["--pg-standby", "/nonexistent/standby"])
        .env_remove("COFFER_DATA_DIR")
        .env_remove("COFFER_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("running coffer serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--pg-standby"), "{stderr}");
    assert!(stderr.contains("--database-url"), "{stderr}");
    assert!(!std::path::Path::new("/nonexistent/standby").exists());
}
