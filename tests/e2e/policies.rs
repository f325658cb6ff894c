//! Per-bucket policy modules through the real server: storing and attaching modules with
//! the admin CLI and the admin HTTP API, hostile modules failing closed while other
//! buckets keep serving, hot swaps under load, changes reaching another process that shares
//! the database, `/metrics`, and `coffer policy eval`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use coffer_tests::raw::object_path;
use coffer_tests::{RawResponse, ServerBuilder, TestServer, policy_module, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::shared;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// Other processes poll for policy changes this often.
const POLL_MS: &str = "200";

fn build() -> ServerBuilder {
    ServerBuilder::default()
        .arg("--policy-poll-ms")
        .arg(POLL_MS)
}

async fn server() -> &'static TestServer {
    shared(&SERVER, build).await
}

/// Stores `wasm` as module `name` through the admin HTTP API.
pub(crate) async fn api_put_module(server: &TestServer, name: &str, wasm: &[u8]) -> RawResponse {
    server
        .admin_raw("PUT", &format!("/v1/policies/{name}"))
        .body(wasm.to_vec())
        .sign_v4(server.admin_keys())
        .send()
        .await
}

/// Attaches module `name` (with `config`) to `bucket` through the admin HTTP API.
pub(crate) async fn api_attach(
    server: &TestServer,
    bucket: &str,
    name: &str,
    config: &str,
) -> RawResponse {
    server
        .admin_raw("PUT", &format!("/v1/buckets/{bucket}/policy"))
        .body(format!(r#"{{"module": "{name}", "config": {config}}}"#))
        .sign_v4(server.admin_keys())
        .send()
        .await
}

pub(crate) async fn api_detach(server: &TestServer, bucket: &str) -> RawResponse {
    server
        .admin_raw("DELETE", &format!("/v1/buckets/{bucket}/policy"))
        .sign_v4(server.admin_keys())
        .send()
        .await
}

pub(crate) fn json(resp: &RawResponse) -> serde_json::Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("admin API answered non-JSON ({e}): {}", resp.text()))
}

#[track_caller]
pub(crate) fn assert_status(resp: &RawResponse, status: u16) {
    assert_eq!(resp.status, status, "{}", resp.text());
}

/// A bucket of the root account holding `key`.
async fn bucket_with(server: &TestServer, prefix: &str, key: &str) -> String {
    let bucket = unique_bucket(prefix);
    let client = server.client();
    crate::support::create_bucket(&client, &bucket).await;
    crate::support::put(&client, &bucket, key, b"hello").await;
    bucket
}

/// GET `bucket/key` as the root account.
async fn get_status(server: &TestServer, bucket: &str, key: &str) -> RawResponse {
    server
        .raw("GET", &object_path(bucket, key))
        .sign_v4(server.admin_keys())
        .send()
        .await
}

/// Polls `check` until it returns true or `timeout` passes.
pub(crate) async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let began = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if began.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn admin_api_stores_attaches_and_detaches_modules() {
    let server = server().await;
    let bucket = bucket_with(server, "api", "archive/old").await;
    let wasm = policy_module("read-only-prefix");
    let name = unique_bucket("ro");

    let stored = api_put_module(server, &name, &wasm).await;
    assert_status(&stored, 200);
    let stored = json(&stored);
    assert_eq!(stored["name"], name.as_str());
    assert_eq!(stored["digest"], coffer_tests::sha256_hex(&wasm).as_str());

    assert_status(
        &api_attach(server, &bucket, &name, r#"{"prefixes": ["archive/"]}"#).await,
        200,
    );
    // This process applied the change at once.
    let put = |key: &'static str| {
        server
            .raw("PUT", &object_path(&bucket, key))
            .body("new")
            .sign_v4(server.admin_keys())
            .send()
    };
    put("archive/new").await.assert_error(403, "AccessDenied");
    put("fresh/new").await.assert_success();
    get_status(server, &bucket, "archive/old")
        .await
        .assert_success();

    let shown = server
        .admin_raw("GET", &format!("/v1/buckets/{bucket}/policy"))
        .sign_v4(server.admin_keys())
        .send()
        .await;
    assert_status(&shown, 200);
    let shown = json(&shown);
    assert_eq!(shown["module"], name.as_str());
    assert_eq!(shown["config"]["prefixes"][0], "archive/");

    let listed = server
        .admin_raw("GET", "/v1/policies")
        .sign_v4(server.admin_keys())
        .send()
        .await;
    assert_status(&listed, 200);
    let listed = json(&listed);
    let entry = listed["policies"]
        .as_array()
        .and_then(|l| l.iter().find(|m| m["name"] == name.as_str()))
        .unwrap_or_else(|| panic!("{name} not listed: {listed}"));
    assert_eq!(entry["buckets"][0], bucket.as_str());

    // An attached module cannot be deleted.
    let busy = server
        .admin_raw("DELETE", &format!("/v1/policies/{name}"))
        .sign_v4(server.admin_keys())
        .send()
        .await;
    assert_status(&busy, 409);
    assert_eq!(json(&busy)["error"], "PolicyInUse");

    assert_status(&api_detach(server, &bucket).await, 204);
    put("archive/new").await.assert_success();
    let deleted = server
        .admin_raw("DELETE", &format!("/v1/policies/{name}"))
        .sign_v4(server.admin_keys())
        .send()
        .await;
    assert_status(&deleted, 204);
}

#[tokio::test]
async fn admin_api_refuses_bad_requests_and_non_admins() {
    let server = server().await;
    let bucket = bucket_with(server, "apibad", "k").await;
    // Unsigned, and signed by an account that is not an administrator.
    let unsigned = server.admin_raw("GET", "/v1/policies").send().await;
    assert_status(&unsigned, 401);
    let user = server.create_account(&unique_bucket("user")).await;
    let forbidden = server
        .admin_raw("GET", "/v1/policies")
        .sign_v4(&user)
        .send()
        .await;
    assert_status(&forbidden, 403);

    for (name, bytes, code) in [
        ("malformed", policy_module("malformed"), "InvalidModule"),
        ("wrong-world", policy_module("wrong-world"), "InvalidModule"),
        ("Bad Name", policy_module("allow-all"), "InvalidName"),
        ("default", policy_module("allow-all"), "InvalidName"),
    ] {
        let path_name = name.replace(' ', "%20");
        let resp = api_put_module(server, &path_name, &bytes).await;
        assert_status(&resp, 400);
        assert_eq!(json(&resp)["error"], code, "{name}: {}", resp.text());
    }
    let missing = api_attach(server, &bucket, "no-such-module", "null").await;
    assert_status(&missing, 404);
    assert_eq!(json(&missing)["error"], "NoSuchPolicy");
    let name = unique_bucket("allow");
    assert_status(
        &api_put_module(server, &name, &policy_module("allow-all")).await,
        200,
    );
    let no_bucket = api_attach(server, "no-such-bucket-here", &name, "null").await;
    assert_status(&no_bucket, 404);
    assert_eq!(json(&no_bucket)["error"], "NoSuchBucket");
    let bad_config = server
        .admin_raw("PUT", &format!("/v1/buckets/{bucket}/policy"))
        .body("{not json")
        .sign_v4(server.admin_keys())
        .send()
        .await;
    assert_status(&bad_config, 400);
}

#[tokio::test]
async fn admin_cli_manages_modules_and_the_server_picks_changes_up() {
    let server = server().await;
    let bucket = bucket_with(server, "cli", "k").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let deny = dir.path().join("deny.wasm");
    std::fs::write(&deny, policy_module("deny-all")).expect("writing the module");
    let name = unique_bucket("deny");
    let deny_path = deny.to_str().expect("utf-8 path");
    let out = server.admin_ok(&["policy", "put", &name, deny_path]).await;
    assert!(out.contains(&name), "{out}");
    server.admin_ok(&["policy", "attach", &bucket, &name]).await;
    // The CLI changed the database; the server notices at its next poll, no restart.
    assert!(
        eventually(crate::support::PROPAGATION, || async {
            get_status(server, &bucket, "k").await.status == 403
        })
        .await,
        "the attached deny-all module never took effect"
    );
    let listed = server.admin_ok(&["policy", "list", "--json"]).await;
    assert!(listed.contains(&bucket), "{listed}");
    server.admin_ok(&["policy", "detach", &bucket]).await;
    assert!(
        eventually(crate::support::PROPAGATION, || async {
            get_status(server, &bucket, "k").await.status == 200
        })
        .await,
        "detaching never took effect"
    );
    server.admin_ok(&["policy", "delete", &name]).await;

    // A module that is not a policy is refused with a clear message.
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, policy_module("wrong-world")).expect("writing the module");
    let out = server
        .admin(&["policy", "put", "bad", bad.to_str().expect("utf-8 path")])
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid policy module"), "{stderr}");
}

#[tokio::test]
async fn hostile_modules_fail_closed_while_other_buckets_keep_serving() {
    let server = server().await;
    let healthy = bucket_with(server, "healthy", "k").await;
    // Keep the healthy bucket busy the whole time.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let background = {
        let (stop, served, healthy) = (stop.clone(), served.clone(), healthy.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let resp = get_status(server, &healthy, "k").await;
                assert_eq!(resp.status, 200, "healthy bucket failed: {}", resp.text());
                served.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for fixture in ["infinite-loop", "memory-bomb", "panic"] {
        let bucket = bucket_with(server, fixture, "k").await;
        let name = unique_bucket(fixture);
        assert_status(
            &api_put_module(server, &name, &policy_module(fixture)).await,
            200,
        );
        assert_status(&api_attach(server, &bucket, &name, "null").await, 200);
        for _ in 0..5 {
            let began = Instant::now();
            get_status(server, &bucket, "k")
                .await
                .assert_error(403, "AccessDenied");
            assert!(
                began.elapsed() < Duration::from_secs(2),
                "{fixture} held a request"
            );
        }
        assert!(
            server.stderr_log().contains(&name),
            "the failure of {fixture} was not logged with the module name"
        );
        get_status(server, &healthy, "k").await.assert_success();
    }
    stop.store(true, Ordering::Relaxed);
    background
        .await
        .expect("the healthy bucket's requests all succeeded");
    assert!(served.load(Ordering::Relaxed) > 0);

    let text = metrics_text(server).await;
    // Five requests to the spinning module: three hit the deadline, then it
    // is quarantined and the other two fail closed without running it.
    for kind in ["deadline", "quarantined", "memory", "trap"] {
        assert!(
            text.contains(&format!("kind=\"{kind}\"")),
            "no {kind} failures in:\n{text}"
        );
    }
}

#[tokio::test]
async fn hot_swap_under_load_answers_with_one_module_or_the_other() {
    let server = server().await;
    let bucket = bucket_with(server, "swap", "k").await;
    let allow = unique_bucket("allow");
    let deny = unique_bucket("deny");
    assert_status(
        &api_put_module(server, &allow, &policy_module("allow-all")).await,
        200,
    );
    assert_status(
        &api_put_module(server, &deny, &policy_module("deny-all")).await,
        200,
    );
    assert_status(&api_attach(server, &bucket, &allow, "null").await, 200);

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let (bucket, allow, deny) = (bucket.clone(), allow.clone(), deny.clone());
        async move {
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) {
                let module = if swaps % 2 == 0 { &deny } else { &allow };
                assert_status(&api_attach(server, &bucket, module, "null").await, 200);
                swaps += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            swaps
        }
    };
    let allowed = Arc::new(AtomicUsize::new(0));
    let denied = Arc::new(AtomicUsize::new(0));
    let load = {
        let (allowed, denied, stop) = (allowed.clone(), denied.clone(), stop.clone());
        let bucket = bucket.clone();
        async move {
            let mut workers = tokio::task::JoinSet::new();
            for _ in 0..16 {
                let (allowed, denied, bucket) = (allowed.clone(), denied.clone(), bucket.clone());
                workers.spawn(async move {
                    for _ in 0..200 {
                        let resp = get_status(server, &bucket, "k").await;
                        match resp.status {
                            200 => {
                                assert_eq!(resp.body, b"hello");
                                allowed.fetch_add(1, Ordering::Relaxed)
                            }
                            403 => {
                                resp.assert_error(403, "AccessDenied");
                                denied.fetch_add(1, Ordering::Relaxed)
                            }
                            other => panic!("unexpected {other}: {}", resp.text()),
                        };
                    }
                });
            }
            while let Some(done) = workers.join_next().await {
                done.expect("a load worker failed");
            }
            stop.store(true, Ordering::Relaxed);
        }
    };
    let (swaps, ()) = tokio::join!(swapper, load);
    let (allowed, denied) = (
        allowed.load(Ordering::Relaxed),
        denied.load(Ordering::Relaxed),
    );
    assert_eq!(allowed + denied, 16 * 200);
    assert!(swaps > 2, "only {swaps} swaps happened");
    assert!(
        allowed > 0 && denied > 0,
        "allowed {allowed}, denied {denied}"
    );
}

#[tokio::test]
async fn changes_reach_another_process_sharing_the_database() {
    let first = server().await;
    let bucket = bucket_with(first, "shared", "k").await;
    let second = ServerBuilder::default()
        .arg("--policy-poll-ms")
        .arg(POLL_MS)
        .share_database_of(first)
        .start()
        .await;
    get_status(&second, &bucket, "k").await.assert_success();
    let deny = unique_bucket("deny");
    assert_status(
        &api_put_module(first, &deny, &policy_module("deny-all")).await,
        200,
    );
    assert_status(&api_attach(first, &bucket, &deny, "null").await, 200);
    assert!(
        eventually(crate::support::PROPAGATION, || async {
            get_status(&second, &bucket, "k").await.status == 403
        })
        .await,
        "the second process never saw the attachment"
    );
    assert_status(&api_detach(first, &bucket).await, 204);
    assert!(
        eventually(crate::support::PROPAGATION, || async {
            get_status(&second, &bucket, "k").await.status == 200
        })
        .await,
        "the second process never saw the detachment"
    );
}

#[tokio::test]
async fn metrics_count_decisions_per_module() {
    let server = server().await;
    let bucket = bucket_with(server, "metrics", "k").await;
    get_status(server, &bucket, "k").await.assert_success();
    server
        .raw("GET", &object_path(&bucket, "k"))
        .send()
        .await
        .assert_error(403, "AccessDenied");
    let text = metrics_text(server).await;
    assert!(text.contains("# TYPE"), "{text}");
    let count = authorize_counter(&text, "coffer_policy_decisions_total", "default")
        .unwrap_or_else(|| panic!("no decision counter for the default module:\n{text}"));
    assert!(count >= 2.0, "{count}");
}

/// The server's `/metrics` text.
pub(crate) async fn metrics_text(server: &TestServer) -> String {
    let metrics = server.admin_raw("GET", "/metrics").send().await;
    assert_status(&metrics, 200);
    metrics.text()
}

/// The value of counter `name` for module `module` and hook `authorize` in `text`.
fn authorize_counter(text: &str, name: &str, module: &str) -> Option<f64> {
    let module = format!("module=\"{module}\"");
    text.lines()
        .find(|l| {
            l.starts_with(&format!("{name}{{"))
                && l.contains(&module)
                && l.contains("hook=\"authorize\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Answers of module `name` reused from the decision cache so far (0 when the module
/// has no series yet).
async fn cached_answers(server: &TestServer, name: &str) -> f64 {
    let text = metrics_text(server).await;
    authorize_counter(&text, "coffer_policy_cached_answers_total", name).unwrap_or(0.0)
}

#[tokio::test]
async fn repeated_requests_reuse_answers_unless_the_module_logged() {
    let server = server().await;
    let wasm = policy_module("read-only-prefix");
    let name = unique_bucket("cache");
    assert_status(&api_put_module(server, &name, &wasm).await, 200);

    // A valid configuration: the module answers silently, so the second
    // identical GET is answered from the cache.
    let quiet = bucket_with(server, "cache-quiet", "k").await;
    assert_status(
        &api_attach(server, &quiet, &name, r#"{"prefixes": ["archive/"]}"#).await,
        200,
    );
    for _ in 0..3 {
        get_status(server, &quiet, "k").await.assert_success();
    }
    let reused = cached_answers(server, &name).await;
    assert!(reused >= 1.0, "no answer of {name} was reused");

    // An invalid configuration: the module logs an error with every decision,
    // so none of them is cached and every one is logged.
    let noisy = bucket_with(server, "cache-noisy", "k").await;
    assert_status(
        &api_attach(server, &noisy, &name, r#"{"prefixes": 5}"#).await,
        200,
    );
    for _ in 0..3 {
        get_status(server, &noisy, "k").await.assert_success();
    }
    assert_eq!(cached_answers(server, &name).await, reused);
    // Writes under any key are denied by the misconfigured module, every time.
    for _ in 0..2 {
        server
            .raw("PUT", &object_path(&noisy, "fresh"))
            .body("x")
            .sign_v4(server.admin_keys())
            .send()
            .await
            .assert_error(403, "AccessDenied");
    }
    assert_eq!(cached_answers(server, &name).await, reused);
    for bucket in [&quiet, &noisy] {
        assert_status(&api_detach(server, bucket).await, 204);
    }
}

#[tokio::test]
async fn policy_eval_decides_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("ro.wasm");
    std::fs::write(&module, policy_module("read-only-prefix")).expect("writing");
    let config = dir.path().join("cfg.json");
    std::fs::write(&config, r#"{"prefixes": ["archive/"]}"#).expect("writing");
    let eval = |key: &str| {
        let request = dir.path().join("req.json");
        let body = r#"{
            "operation": "PutObject",
            "bucket": "docs",
            "key": "KEY",
            "principal": {"account": {"canonical_id": "alice", "display_name": "alice"}},
            "source_ip": "192.0.2.1",
            "bucket_owner": "alice",
            "bucket_acl": {"owner": "alice", "grants": []}
        }"#;
        std::fs::write(&request, body.replace("KEY", key)).expect("writing");
        std::process::Command::new(coffer_tests::coffer_binary())
            .arg("policy")
            .arg("eval")
            .arg(&module)
            .arg("--request")
            .arg(&request)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("running coffer policy eval")
    };
    let denied = eval("archive/2020.pdf");
    assert_eq!(denied.status.code(), Some(1), "{denied:?}");
    assert!(
        String::from_utf8_lossy(&denied.stdout)
            .to_lowercase()
            .contains("deny"),
        "{denied:?}"
    );
    let allowed = eval("drafts/2020.pdf");
    assert_eq!(allowed.status.code(), Some(0), "{allowed:?}");
    assert!(
        String::from_utf8_lossy(&allowed.stdout)
            .to_lowercase()
            .contains("allow"),
        "{allowed:?}"
    );
}

#[tokio::test]
async fn admin_api_bodies_that_change_state_must_be_signed() {
    let server = server().await;
    let wasm = policy_module("allow-all");
    let name = format!("signed-{}", coffer_tests::util::random_hex(6));
    // UNSIGNED-PAYLOAD: the signature does not cover the module, so it is refused.
    let unsigned = server
        .admin_raw("PUT", &format!("/v1/policies/{name}"))
        .body(wasm.clone())
        .sign_v4_with(
            server.admin_keys(),
            "UNSIGNED-PAYLOAD",
            time::OffsetDateTime::now_utc(),
            "us-east-1",
        )
        .send()
        .await;
    assert_status(&unsigned, 400);
    assert_eq!(json(&unsigned)["error"], "UnsignedBody");
    // SigV2 signs Content-MD5: without it, refused; with it, stored.
    let v2 = server
        .admin_raw("PUT", &format!("/v1/policies/{name}"))
        .body(wasm.clone())
        .sign_v2(server.admin_keys())
        .send()
        .await;
    assert_status(&v2, 400);
    let md5 = base64::engine::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        <md5::Md5 as md5::Digest>::digest(&wasm),
    );
    let v2 = server
        .admin_raw("PUT", &format!("/v1/policies/{name}"))
        .header("content-md5", &md5)
        .body(wasm.clone())
        .sign_v2(server.admin_keys())
        .send()
        .await;
    assert_status(&v2, 200);
    // The README's curl command: SigV4 with the body's SHA-256 given.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &wasm).unwrap();
    let digest = coffer_tests::sha256_hex(&wasm);
    let keys = server.admin_keys();
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["--aws-sigv4", "aws:amz:us-east-1:s3"])
        .arg("--user")
        .arg(format!("{}:{}", keys.access_key, keys.secret_key))
        .arg("-H")
        .arg(format!("x-amz-content-sha256: {digest}"))
        .arg("-T")
        .arg(file.path())
        .arg(format!(
            "{}/v1/policies/{name}-curl",
            server.admin_endpoint()
        ))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "{out:?}");
}
