//! `coffer bench`'s reference scenarios, which `scripts/bench-limits` measures the
//! machine with: `http-get` and `http-put` drive any URL with the client the S3
//! scenarios use, `hash` times MD5 and SHA-256 without a server, and `db-put` makes a
//! PUT's statements straight to the server's database; and profiling policy modules
//! (`docs/performance.md`).

use aws_sdk_s3::types::BucketCannedAcl;
use coffer_tests::{TestServer, coffer_binary, unique_bucket};

/// Runs `coffer bench ARGS --json`; its exit status and stdout parsed as JSON (null if
/// it printed none).
pub(crate) async fn bench(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = tokio::process::Command::new(coffer_binary())
        .arg("bench")
        .args(args)
        .arg("--json")
        .kill_on_drop(true)
        .output()
        .await
        .expect("running coffer bench");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), json, stderr)
}

#[tokio::test]
async fn http_get_drives_any_url_and_hash_needs_no_server() {
    let server = TestServer::start().await;
    // The admin listener's /metrics: an HTTP server that is not the S3 API.
    let url = format!("{}/metrics", server.admin_endpoint());
    let (ok, json, stderr) = bench(&[
        "--scenario",
        "http-get",
        "--url",
        &url,
        "--concurrency",
        "2",
        "--requests",
        "20",
    ])
    .await;
    assert!(ok, "{stderr}");
    let result = &json["results"][0];
    assert_eq!(result["ops"], 20, "{json}");
    assert_eq!(result["errors"], 0, "{json}");
    assert!(result["bytes"].as_u64().is_some_and(|b| b > 20), "{json}");

    // Answers other than 200 are failures, and fail the run.
    let missing = format!("{}/no-such-page", server.admin_endpoint());
    let (ok, json, stderr) = bench(&[
        "--scenario",
        "http-get",
        "--url",
        &missing,
        "--requests",
        "3",
    ])
    .await;
    assert!(!ok, "{json}");
    assert!(stderr.contains("3 request(s) failed"), "{stderr}");

    let (ok, json, stderr) = bench(&["--scenario", "hash", "--large-size", "4MiB"]).await;
    assert!(ok, "{stderr}");
    assert_eq!(json["bytes"], 4 << 20, "{json}");
    for rate in ["md5_mib_per_s", "sha256_mib_per_s"] {
        assert!(json[rate].as_f64().is_some_and(|r| r > 0.0), "{json}");
    }
}

#[tokio::test]
async fn http_put_sends_unsigned_bodies_of_the_size_asked() {
    let server = TestServer::start().await;
    let c = server.client();
    // Anyone may write to a public-read-write bucket: unsigned PUTs succeed.
    let open = unique_bucket("http-put");
    c.create_bucket()
        .bucket(&open)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .expect("creating a public-read-write bucket");
    let url = format!("{}/{open}/k", server.endpoint());
    let (ok, json, stderr) = bench(&[
        "--scenario",
        "http-put",
        "--url",
        &url,
        "--size",
        "3000",
        "--concurrency",
        "2",
        "--requests",
        "6",
    ])
    .await;
    assert!(ok, "{stderr}");
    let result = &json["results"][0];
    assert_eq!(result["ops"], 6, "{json}");
    assert_eq!(result["bytes"], 6 * 3000, "{json}");
    let stored = c
        .head_object()
        .bucket(&open)
        .key("k")
        .send()
        .await
        .expect("the object the PUTs wrote");
    assert_eq!(stored.content_length(), Some(3000));

    // A private bucket refuses them, and the run fails.
    let private = unique_bucket("http-put");
    crate::support::create_bucket(&c, &private).await;
    let url = format!("{}/{private}/k", server.endpoint());
    let (ok, json, stderr) =
        bench(&["--scenario", "http-put", "--url", &url, "--requests", "2"]).await;
    assert!(!ok, "{json}");
    assert!(stderr.contains("2 request(s) failed"), "{stderr}");
}

/// `COFFER_POLICY_PERFMAP` makes the compiled guest code nameable by `perf`: the
/// default module's hook appears in the process's perf map.
#[tokio::test]
async fn the_perf_map_names_policy_module_functions() {
    let child = tokio::process::Command::new(coffer_binary())
        .args([
            "bench",
            "--scenario",
            "decision",
            "--requests",
            "10",
            "--json",
        ])
        .env("COFFER_POLICY_PERFMAP", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("running coffer bench");
    let pid = child.id().expect("the child's pid");
    let out = child.wait_with_output().await.expect("coffer bench ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let map = std::path::PathBuf::from(format!("/tmp/perf-{pid}.map"));
    let listed = std::fs::read_to_string(&map).unwrap_or_default();
    let _ = std::fs::remove_file(&map);
    assert!(
        listed.contains("coffer:policy/authorize"),
        "{} does not name the authorize hook",
        map.display()
    );
}

/// `--samples` writes every decision's time in the order they ran, and
/// `scripts/decision-tail` (which README "What policy decisions cost" uses to show
/// where a decision's p99 comes from) reads it.
#[tokio::test]
async fn decision_samples_are_written_in_order_and_the_tail_script_reads_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let samples = dir.path().join("samples.txt");
    let samples_arg = samples.to_str().expect("a UTF-8 path");
    let (ok, json, stderr) = bench(&[
        "--scenario",
        "decision",
        "--requests",
        "500",
        "--samples",
        samples_arg,
    ])
    .await;
    assert!(ok, "{stderr}");
    assert_eq!(json["decisions"], 500, "{json}");
    let text = std::fs::read_to_string(&samples).expect("the samples file");
    let times: Vec<u64> = text
        .lines()
        .map(|l| l.parse().expect("nanoseconds"))
        .collect();
    assert_eq!(times.len(), 500);
    assert!(times.iter().all(|t| *t > 0), "{text}");
    // In the order they ran, not sorted (the chance that 500 timings come out
    // sorted by themselves is nil).
    assert!(times.windows(2).any(|w| w[0] > w[1]), "{text}");

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/decision-tail");
    let out = tokio::process::Command::new(script)
        .arg(&samples)
        .output()
        .await
        .expect("running scripts/decision-tail");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.starts_with("500 decisions in "), "{report}");
    assert!(report.contains("p99 "), "{report}");
    assert!(report.contains(" clusters ("), "{report}");
}

#[tokio::test]
async fn db_put_writes_through_the_store_into_the_servers_database() {
    let server = TestServer::start().await;
    let c = server.client();
    let bucket = unique_bucket("db-put");
    crate::support::create_bucket(&c, &bucket).await;
    let url = server.database_url().expect("a test server's database URL");
    let key = &server.admin_keys().access_key;
    let (ok, json, stderr) = bench(&[
        "--scenario",
        "db-put",
        "--database-url",
        url,
        "--access-key",
        key,
        "--bucket",
        &bucket,
        "--size",
        "4KiB",
        "--keys",
        "3",
        "--concurrency",
        "4",
        "--requests",
        "30",
    ])
    .await;
    assert!(ok, "{stderr}");
    let result = &json["results"][0];
    assert_eq!(result["ops"], 30, "{json}");
    assert_eq!(result["errors"], 0, "{json}");
    // What it wrote is an object like any other, served by the server.
    let listed = c
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("listing what db-put wrote");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(!keys.is_empty() && keys.len() <= 3, "{keys:?}");
    let body = crate::support::get(&c, &bucket, keys[0]).await;
    assert_eq!(body.len(), 4096);

    // Without the bucket, nothing runs.
    let (ok, _, stderr) = bench(&[
        "--scenario",
        "db-put",
        "--database-url",
        url,
        "--access-key",
        key,
        "--bucket",
        "no-such-bucket",
        "--requests",
        "1",
    ])
    .await;
    assert!(
        !ok && stderr.contains("no bucket no-such-bucket"),
        "{stderr}"
    );
}
