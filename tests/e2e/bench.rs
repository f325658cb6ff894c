//! `coffer bench`'s reference scenarios, which `scripts/bench-limits` measures the
//! machine with: `http-get` drives any URL with the client the S3 scenarios use, and
//! `hash` times MD5 and SHA-256 without a server; and profiling policy modules
//! (`docs/performance.md`).

use coffer_tests::{TestServer, coffer_binary};

/// Runs `coffer bench ARGS --json`; its exit status and stdout parsed as JSON (null if
/// it printed none).
async fn bench(args: &[&str]) -> (bool, serde_json::Value, String) {
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
