//! Server lifecycle and administration: graceful shutdown, restart, and key management
//! through the admin CLI while the server runs.

use std::time::{Duration, Instant};

use coffer_tests::{AccountKeys, TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, get, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

#[tokio::test]
async fn graceful_shutdown_and_restart() {
    let mut s = TestServer::start().await;
    let c = s.client();
    let bucket = unique_bucket("restart");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"survives restarts").await;
    let pid = s.pid().expect("running");

    let status = s.stop().await;
    assert_eq!(status.code(), Some(0), "SIGTERM must exit 0: {status}");
    assert!(!coffer_tests::pid_alive(pid));

    s.restart().await;
    let c = s.client();
    assert_eq!(get(&c, &bucket, "k").await, b"survives restarts");
    // The pinned root key keeps working after restarts (no second bootstrap).
    c.list_buckets()
        .send()
        .await
        .expect("ListBuckets after restart");
    let status = s.stop().await;
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let mut s = TestServer::start().await;
    let c = s.client();
    let bucket = unique_bucket("inflight");
    create_bucket(&c, &bucket).await;
    let data = coffer_tests::random_bytes(4 * 1024 * 1024);
    put(&c, &bucket, "big", &data).await;

    // Start a download, then SIGTERM while it is in progress: it still completes.
    let resp = c
        .get_object()
        .bucket(&bucket)
        .key("big")
        .send()
        .await
        .expect("GET");
    s.signal_term();
    let body = resp
        .body
        .collect()
        .await
        .expect("body after SIGTERM")
        .into_bytes();
    assert_eq!(body.len(), data.len());
    assert_eq!(
        coffer_tests::sha256_hex(&body),
        coffer_tests::sha256_hex(&data),
        "the in-flight download completed intact"
    );
    let status = s.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{status}");
}

/// Polls `f` until it returns true or `timeout` passes.
async fn eventually<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn revoked_key_stops_working_while_running() {
    let s = server().await;
    let keys = s.create_account("revokee").await;
    assert_eq!(keys.account, "revokee");
    assert_eq!(
        keys.canonical_id.len(),
        64,
        "canonical id: {}",
        keys.canonical_id
    );
    let c = s.client_for(&keys);
    let bucket = unique_bucket("revoke");
    create_bucket(&c, &bucket).await;

    s.revoke_key(&keys.access_key).await;
    let rejected = eventually(Duration::from_secs(5), || {
        let c = c.clone();
        async move { c.list_buckets().send().await.is_err() }
    })
    .await;
    assert!(rejected, "the revoked key still works");
    sdk_err(c.list_buckets().send().await).assert(403, "InvalidAccessKeyId");
    let resp = s.raw("GET", "/").sign_v4(&keys).send().await;
    resp.assert_error(403, "InvalidAccessKeyId");

    // The CLI lists it as revoked.
    let out = s.admin_ok(&["key", "list", "revokee", "--json"]).await;
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("key list JSON");
    let entry = list
        .as_array()
        .expect("array")
        .iter()
        .find(|k| k["access_key"] == keys.access_key.as_str())
        .unwrap_or_else(|| panic!("key missing from {out}"));
    assert_eq!(entry["revoked"], true, "{entry}");
}

#[tokio::test]
async fn second_key_works_alongside_the_first() {
    let s = server().await;
    let first = s.create_account("twokeys").await;
    let second: AccountKeys = s.create_key("twokeys").await;
    assert_ne!(first.access_key, second.access_key);
    assert_eq!(first.canonical_id, second.canonical_id, "same account");

    let bucket = unique_bucket("twokeys");
    create_bucket(&s.client_for(&first), &bucket).await;
    put(&s.client_for(&second), &bucket, "k", b"by the second key").await;
    assert_eq!(
        get(&s.client_for(&first), &bucket, "k").await,
        b"by the second key"
    );
    let out = s.admin_ok(&["key", "list", "twokeys", "--json"]).await;
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("key list JSON");
    let keys: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|k| k["access_key"].as_str())
        .collect();
    assert_eq!(keys.len(), 2, "{out}");
    assert!(keys.contains(&first.access_key.as_str()));
    assert!(keys.contains(&second.access_key.as_str()));

    // Revoking one leaves the other working.
    s.revoke_key(&first.access_key).await;
    put(&s.client_for(&second), &bucket, "k2", b"still fine").await;
    sdk_err(s.client_for(&first).list_buckets().send().await).assert(403, "InvalidAccessKeyId");
}

#[tokio::test]
async fn admin_cli_lists_accounts_and_rejects_duplicates() {
    let s = server().await;
    let keys = s.create_account("listed").await;
    let out = s.admin_ok(&["account", "list", "--json"]).await;
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("account list JSON");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(names.contains(&"admin"), "{out}");
    assert!(names.contains(&"listed"), "{out}");
    assert_eq!(s.canonical_id_of("listed").await, keys.canonical_id);

    let dup = s.admin(&["account", "create", "listed", "--json"]).await;
    assert!(
        !dup.status.success(),
        "creating a duplicate account succeeded"
    );
    let bad = s
        .admin(&["key", "create", "no-such-account", "--json"])
        .await;
    assert!(
        !bad.status.success(),
        "creating a key for a missing account succeeded"
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let s = TestServer::start().await;
    let out = std::process::Command::new(coffer_tests::coffer_binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--console-listen",
            "off",
            "--data-dir",
        ])
        .arg(s.data_dir())
        .args([
            "--database-url",
            s.database_url().expect("external database"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already using"), "{stderr}");
}
