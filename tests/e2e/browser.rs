//! CORS in a real browser: headless Chromium (Debian's, driven by Playwright from PyPI;
//! `scripts/setup --test` installs both) loads a page from another loopback origin that
//! `fetch()`es an object and PUTs one with a custom header through presigned URLs. With a
//! matching rule the page reads both answers; without one, and after DeleteBucketCors, the
//! browser blocks them (and, the PUT needing a preflight, never sends it).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use coffer_tests::{TestServer, unique_bucket};
use serde_json::{Value, json};

use crate::support::{create_bucket, put};

/// The page's origin is `http://127.0.0.1:<some port>`; this rule allows any port.
const ALLOW_LOOPBACK: &str = r#"<CORSConfiguration>
  <CORSRule><AllowedOrigin>http://127.0.0.1:*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>x-amz-meta-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule>
</CORSConfiguration>"#;

/// A configuration that allows some other origin only.
const ALLOW_ELSEWHERE: &str = r#"<CORSConfiguration>
  <CORSRule><AllowedOrigin>https://elsewhere.example</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader></CORSRule>
</CORSConfiguration>"#;

/// Runs `steps` in the browser; the page's view of each.
async fn in_browser(steps: Value) -> Vec<Value> {
    let report = coffer_tests::browser::run_script(
        "cors_fetch.py",
        &[steps.to_string()],
        &[],
        Duration::from_secs(120),
    )
    .await;
    report["results"].as_array().cloned().expect("results")
}

async fn put_cors(s: &TestServer, bucket: &str, body: &str) {
    s.raw("PUT", &format!("/{bucket}"))
        .query("cors")
        .body(body.as_bytes().to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await
        .assert_success();
}

#[tokio::test]
async fn a_page_on_another_origin_reads_and_writes_only_when_a_rule_allows_it() {
    let s = TestServer::start().await;
    let c = s.client();
    let bucket = unique_bucket("browser");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "hello.txt", b"hello from coffer").await;
    let presign = || PresigningConfig::expires_in(Duration::from_secs(600)).expect("expiry");
    let get_url = c
        .get_object()
        .bucket(&bucket)
        .key("hello.txt")
        .presigned(presign())
        .await
        .expect("presigned GET")
        .uri()
        .to_owned();
    // The custom header is signed, so the page must send it as is, and it makes the
    // browser preflight the PUT.
    let put_url = |key: &str| {
        let c = c.clone();
        let (bucket, key) = (bucket.clone(), key.to_owned());
        async move {
            c.put_object()
                .bucket(bucket)
                .key(key)
                .metadata("from", "browser")
                .presigned(presign())
                .await
                .expect("presigned PUT")
                .uri()
                .to_owned()
        }
    };
    let steps = |put_url: String| {
        json!([
            {"method": "GET", "url": get_url},
            {"method": "PUT", "url": put_url, "headers": {"x-amz-meta-from": "browser"},
             "body": "written by a page"},
        ])
    };
    let stored = |key: &'static str| {
        let c = c.clone();
        let bucket = bucket.clone();
        async move {
            c.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .ok()
                .map(|o| o.metadata().and_then(|m| m.get("from").cloned()))
        }
    };

    // A matching rule: the page reads the object and its write lands, with its header.
    put_cors(&s, &bucket, ALLOW_LOOPBACK).await;
    let r = in_browser(steps(put_url("allowed.txt").await)).await;
    assert_eq!(r[0]["ok"], true, "{r:?}");
    assert_eq!(r[0]["status"], 200, "{r:?}");
    assert_eq!(r[0]["body"], "hello from coffer", "{r:?}");
    assert_eq!(r[1]["ok"], true, "{r:?}");
    assert_eq!(r[1]["status"], 200, "{r:?}");
    // ETag is exposed by the rule, so the page can read it.
    assert!(
        r[1]["etag"].as_str().is_some_and(|e| e.starts_with('"')),
        "{r:?}"
    );
    assert_eq!(
        stored("allowed.txt").await,
        Some(Some("browser".to_owned()))
    );

    // A rule for another origin only: both blocked by the browser; the PUT's preflight
    // fails, so the PUT is never sent.
    put_cors(&s, &bucket, ALLOW_ELSEWHERE).await;
    let r = in_browser(steps(put_url("elsewhere.txt").await)).await;
    for (i, step) in r.iter().enumerate() {
        assert_eq!(step["ok"], false, "step {i}: {r:?}");
        assert!(
            step["error"]
                .as_str()
                .is_some_and(|e| e.contains("Failed to fetch")),
            "step {i}: {r:?}"
        );
    }
    assert_eq!(stored("elsewhere.txt").await, None);

    // Allowed again, then DeleteBucketCors: blocked.
    put_cors(&s, &bucket, ALLOW_LOOPBACK).await;
    c.delete_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete cors");
    let r = in_browser(steps(put_url("deleted.txt").await)).await;
    assert_eq!(r[0]["ok"], false, "{r:?}");
    assert_eq!(r[1]["ok"], false, "{r:?}");
    assert_eq!(stored("deleted.txt").await, None);
}
