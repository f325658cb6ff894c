//! CORS requests as S3 answers them: preflights on bucket, object and presigned URLs in
//! both addressing styles, the headers of actual requests (errors included), S3's errors,
//! and a module of the first contract answering through the server.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use coffer_tests::{RawRequest, RawResponse, TestServer, policy_module, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{create_bucket, put, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

const DOMAIN: &str = "s3.cors.test";

async fn server() -> &'static TestServer {
    shared(&SERVER, || TestServer::builder().domain(DOMAIN)).await
}

/// The rules most tests use, in this order:
/// 0. `https://app.example.com`: GET, PUT; headers `content-type`, `x-amz-meta-*`;
///    exposes `ETag`; max age 600;
/// 1. `https://*.example.org`: GET only, no headers;
/// 2. `http://localhost:*`: DELETE;
/// 3. `start*end`: HEAD;
/// 4. `*`: GET, for any origin, no headers.
const RULES: &str = r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule><ID>app</ID><AllowedOrigin>https://app.example.com</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-meta-*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>
  <CORSRule><AllowedOrigin>https://*.example.org</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
  <CORSRule><AllowedOrigin>http://localhost:*</AllowedOrigin><AllowedMethod>DELETE</AllowedMethod></CORSRule>
  <CORSRule><AllowedOrigin>start*end</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
  <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
</CORSConfiguration>"#;

/// A bucket with [`RULES`] and one object, `cat.jpg`.
async fn configured_bucket(s: &TestServer, prefix: &str) -> String {
    let c = s.client();
    let bucket = unique_bucket(prefix);
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "cat.jpg", b"meow").await;
    put_cors(s, &bucket, RULES).await.assert_success();
    bucket
}

async fn put_cors(s: &TestServer, bucket: &str, body: &str) -> RawResponse {
    s.raw("PUT", &format!("/{bucket}"))
        .query("cors")
        .body(body.as_bytes().to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await
}

/// An unsigned preflight of `path` from `origin` for `method` (and `headers`).
fn preflight(s: &TestServer, path: &str, origin: &str, method: &str) -> RawRequest {
    s.raw("OPTIONS", path)
        .header("origin", origin)
        .header("access-control-request-method", method)
}

fn header(r: &RawResponse, name: &str) -> Option<String> {
    r.header(name)
}

/// Asserts `r` has header `name` with exactly `value`.
#[track_caller]
fn assert_header(r: &RawResponse, name: &str, value: &str) {
    assert_eq!(
        header(r, name).as_deref(),
        Some(value),
        "{name}: {}",
        r.text()
    );
}

/// Asserts `r` carries no CORS headers at all.
fn assert_no_cors(r: &RawResponse) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-credentials",
        "access-control-expose-headers",
        "access-control-max-age",
        "vary",
    ] {
        assert_eq!(
            header(r, name),
            None,
            "{name} on a response without a match"
        );
    }
}

#[tokio::test]
async fn preflights_on_bucket_and_object_urls_answer_with_the_first_matching_rule() {
    let s = server().await;
    let bucket = configured_bucket(s, "pre").await;
    for path in [format!("/{bucket}"), format!("/{bucket}/cat.jpg")] {
        let r = preflight(s, &path, "https://app.example.com", "PUT")
            .header(
                "access-control-request-headers",
                "Content-Type, X-Amz-Meta-Owner",
            )
            .send()
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.body.is_empty());
        assert_header(&r, "access-control-allow-origin", "https://app.example.com");
        assert_header(&r, "access-control-allow-credentials", "true");
        assert_header(&r, "access-control-allow-methods", "GET, PUT");
        assert_header(
            &r,
            "access-control-allow-headers",
            "content-type, x-amz-meta-owner",
        );
        assert_header(&r, "access-control-expose-headers", "ETag");
        assert_header(&r, "access-control-max-age", "600");
        assert_header(
            &r,
            "vary",
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        );
    }
}

/// S3's wildcard rules: a `*` matches any run of characters, the empty one included;
/// origins are case-sensitive; a lone `*` answers `*` without credentials.
#[tokio::test]
async fn origins_match_s3s_wildcard_table() {
    let s = server().await;
    let bucket = configured_bucket(s, "wild").await;
    let path = format!("/{bucket}/cat.jpg");
    // (origin, method, expected Allow-Origin or None for a 403)
    let table: [(&str, &str, Option<&str>); 12] = [
        (
            "https://app.example.com",
            "GET",
            Some("https://app.example.com"),
        ),
        // Case-sensitive: only the `*` rule (GET) matches.
        ("https://APP.example.com", "PUT", None),
        ("https://APP.example.com", "GET", Some("*")),
        // `*suffix`-style: any subdomain, but not the bare domain.
        (
            "https://a.b.example.org",
            "GET",
            Some("https://a.b.example.org"),
        ),
        ("https://.example.org", "GET", Some("https://.example.org")),
        ("https://example.org", "DELETE", None),
        // `prefix*`: any port, the empty one included.
        (
            "http://localhost:8080",
            "DELETE",
            Some("http://localhost:8080"),
        ),
        ("http://localhost:", "DELETE", Some("http://localhost:")),
        ("https://localhost:8080", "DELETE", None),
        // `start*end`.
        ("startend", "HEAD", Some("startend")),
        ("start-anything-end", "HEAD", Some("start-anything-end")),
        ("start-anything-end-not", "HEAD", None),
    ];
    for (origin, method, expected) in table {
        let r = preflight(s, &path, origin, method).send().await;
        match expected {
            Some(allowed) => {
                assert_eq!(r.status, 200, "{origin} {method}: {}", r.text());
                assert_header(&r, "access-control-allow-origin", allowed);
                let credentials = header(&r, "access-control-allow-credentials");
                assert_eq!(credentials.is_some(), allowed != "*", "{origin} {method}");
            }
            None => {
                r.assert_error(403, "AccessForbidden");
                assert_no_cors(&r);
            }
        }
    }
}

#[tokio::test]
async fn preflight_errors_are_s3s() {
    let s = server().await;
    let bucket = configured_bucket(s, "prerr").await;
    let object = format!("/{bucket}/cat.jpg");
    // No Origin.
    let r = s
        .raw("OPTIONS", &object)
        .header("access-control-request-method", "GET")
        .send()
        .await;
    r.assert_error(400, "BadRequest");
    assert!(
        r.text()
            .contains("Insufficient information. Origin request header needed.")
    );
    // Unknown bucket.
    let r = preflight(
        s,
        "/no-such-bucket-cors/k",
        "https://app.example.com",
        "GET",
    )
    .send()
    .await;
    r.assert_error(403, "AccessForbidden");
    assert!(
        r.text().contains("CORSResponse: Bucket not found"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("<ResourceType>BUCKET</ResourceType>"));
    // A bucket without a configuration.
    let bare = unique_bucket("bare");
    create_bucket(&s.client(), &bare).await;
    let r = preflight(s, &format!("/{bare}"), "https://app.example.com", "GET")
        .send()
        .await;
    r.assert_error(403, "AccessForbidden");
    assert!(
        r.text().contains("CORS is not enabled for this bucket."),
        "{}",
        r.text()
    );
    assert!(r.text().contains("<Method>GET</Method>"), "{}", r.text());
    // Missing or invalid request method (lower case is invalid).
    for method in [None, Some("get"), Some("PATCH"), Some("OPTIONS")] {
        let mut req = s
            .raw("OPTIONS", &object)
            .header("origin", "https://app.example.com");
        if let Some(m) = method {
            req = req.header("access-control-request-method", m);
        }
        let r = req.send().await;
        r.assert_error(400, "BadRequest");
        assert!(
            r.text().contains(&format!(
                "Invalid Access-Control-Request-Method: {}",
                method.unwrap_or_default()
            )),
            "{method:?}: {}",
            r.text()
        );
    }
    // A header that is not a header name.
    let r = preflight(s, &object, "https://app.example.com", "PUT")
        .header("access-control-request-headers", "content-type, bad header")
        .send()
        .await;
    r.assert_error(400, "BadRequest");
    // No rule: the origin, the method, or a header is not allowed.
    for (origin, method, headers) in [
        ("https://evil.example.net", "PUT", ""),
        ("https://app.example.com", "DELETE", ""),
        ("https://app.example.com", "PUT", "x-amz-date"),
        ("https://other.example.org", "GET", "content-type"),
    ] {
        let mut req = preflight(s, &object, origin, method);
        if !headers.is_empty() {
            req = req.header("access-control-request-headers", headers);
        }
        let r = req.send().await;
        r.assert_error(403, "AccessForbidden");
        let text = r.text();
        assert!(
            text.contains("CORSResponse: This CORS request is not allowed."),
            "{text}"
        );
        assert!(
            text.contains(&format!("<Method>{method}</Method>")),
            "{text}"
        );
        assert!(
            text.contains("<ResourceType>OBJECT</ResourceType>"),
            "{text}"
        );
        assert_no_cors(&r);
    }
    // After DeleteBucketCors: not enabled any more.
    let r = s
        .raw("DELETE", &format!("/{bucket}"))
        .query("cors")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(r.status, 204);
    let r = preflight(s, &object, "https://app.example.com", "GET")
        .send()
        .await;
    r.assert_error(403, "AccessForbidden");
    assert!(r.text().contains("CORS is not enabled for this bucket."));
}

#[tokio::test]
async fn preflights_ignore_credentials_presigned_urls_and_addressing_style() {
    let s = server().await;
    let bucket = configured_bucket(s, "prepre").await;
    // A presigned PUT URL, preflighted as a browser does: OPTIONS on the same URL.
    let presigned = s
        .client()
        .put_object()
        .bucket(&bucket)
        .key("upload.bin")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).expect("expiry"))
        .await
        .expect("presigned");
    let url = reqwest::Url::parse(presigned.uri()).expect("url");
    let r = preflight(s, url.path(), "https://app.example.com", "PUT")
        .query(url.query().unwrap_or_default())
        .header("access-control-request-headers", "content-type")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_header(&r, "access-control-allow-origin", "https://app.example.com");
    // An Authorization header on a preflight is not even parsed.
    let r = preflight(s, &format!("/{bucket}"), "https://app.example.com", "GET")
        .header("authorization", "AWS4-HMAC-SHA256 garbage")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Virtual-host style.
    let host = format!("{bucket}.{DOMAIN}:{}", s.port());
    let r = RawRequest::new(&s.host_header(), "OPTIONS", "/cat.jpg")
        .header("host", &host)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = RawRequest::new(&s.host_header(), "OPTIONS", "/cat.jpg")
        .header("host", &host)
        .header("origin", "https://nobody.example.net")
        .header("access-control-request-method", "PUT")
        .send()
        .await;
    r.assert_error(403, "AccessForbidden");
    // The presigned PUT itself, from the page: allowed, with the rule's headers.
    let r = RawRequest::new(&s.host_header(), "PUT", url.path())
        .query(url.query().unwrap_or_default())
        .header("origin", "https://app.example.com")
        .body(b"from the browser".to_vec())
        .send()
        .await;
    r.assert_success();
    assert_header(&r, "access-control-allow-origin", "https://app.example.com");
}

#[tokio::test]
async fn actual_requests_get_the_rule_headers_on_every_response_errors_included() {
    let s = server().await;
    let bucket = configured_bucket(s, "actual").await;
    let signed = |method: &str, path: &str| {
        s.raw(method, path)
            .header("origin", "https://app.example.com")
            .sign_v4(s.admin_keys())
    };
    // 200.
    let r = signed("GET", &format!("/{bucket}/cat.jpg")).send().await;
    r.assert_success();
    assert_header(&r, "access-control-allow-origin", "https://app.example.com");
    assert_header(&r, "access-control-allow-methods", "GET, PUT");
    assert_header(&r, "access-control-expose-headers", "ETag");
    assert_header(&r, "access-control-max-age", "600");
    assert_header(&r, "access-control-allow-credentials", "true");
    // Allow-Headers answers preflights only.
    assert_eq!(header(&r, "access-control-allow-headers"), None);
    // 404.
    let r = signed("GET", &format!("/{bucket}/missing")).send().await;
    r.assert_error(404, "NoSuchKey");
    assert_header(&r, "access-control-allow-origin", "https://app.example.com");
    // 403: an anonymous read of a private object, from any origin (rule 4, `*`).
    let r = s
        .raw("GET", &format!("/{bucket}/cat.jpg"))
        .header("origin", "https://anyone.example.net")
        .send()
        .await;
    r.assert_error(403, "AccessDenied");
    assert_header(&r, "access-control-allow-origin", "*");
    assert_eq!(header(&r, "access-control-allow-credentials"), None);
    // No rule for the method: PUT from an origin only the `*`/GET rule matches.
    let r = s
        .raw("PUT", &format!("/{bucket}/x"))
        .header("origin", "https://anyone.example.net")
        .body(b"x".to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    r.assert_success();
    assert_no_cors(&r);
    // Access-Control-Request-Method is evaluated on actual requests too: a GET asking
    // for PUT gets nothing from the `*` rule.
    let r = s
        .raw("GET", &format!("/{bucket}/cat.jpg"))
        .header("origin", "https://anyone.example.net")
        .header("access-control-request-method", "PUT")
        .send()
        .await;
    assert_no_cors(&r);
    // So are requested headers: none are allowed by the `*` rule.
    let r = s
        .raw("GET", &format!("/{bucket}/cat.jpg"))
        .header("origin", "https://anyone.example.net")
        .header("access-control-request-headers", "x-custom")
        .send()
        .await;
    assert_no_cors(&r);
    // Without Origin: never.
    let r = s
        .raw("GET", &format!("/{bucket}/cat.jpg"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    r.assert_success();
    assert_no_cors(&r);
    // A bucket without a configuration: nothing, even with Origin.
    let bare = unique_bucket("actual-bare");
    create_bucket(&s.client(), &bare).await;
    let r = signed("GET", &format!("/{bare}/missing")).send().await;
    r.assert_error(404, "NoSuchKey");
    assert_no_cors(&r);
    // An unknown bucket: nothing.
    let r = signed("GET", "/no-such-bucket-actual/k").send().await;
    r.assert_error(404, "NoSuchBucket");
    assert_no_cors(&r);
}

#[tokio::test]
async fn configuration_changes_apply_at_once_and_deleted_buckets_forget_theirs() {
    let s = server().await;
    let bucket = configured_bucket(s, "change").await;
    let path = format!("/{bucket}");
    assert_eq!(
        preflight(s, &path, "https://new.example.net", "PUT")
            .send()
            .await
            .status,
        403
    );
    let only_new = r#"<CORSConfiguration><CORSRule><AllowedOrigin>https://new.example.net</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>"#;
    put_cors(s, &bucket, only_new).await.assert_success();
    assert_eq!(
        preflight(s, &path, "https://new.example.net", "PUT")
            .send()
            .await
            .status,
        200
    );
    assert_eq!(
        preflight(s, &path, "https://app.example.com", "GET")
            .send()
            .await
            .status,
        403
    );
    // Deleted and created again: the new bucket has no configuration.
    let c = s.client();
    c.delete_object()
        .bucket(&bucket)
        .key("cat.jpg")
        .send()
        .await
        .expect("delete");
    c.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete bucket");
    let r = preflight(s, &path, "https://new.example.net", "PUT")
        .send()
        .await;
    assert!(r.text().contains("Bucket not found"), "{}", r.text());
    create_bucket(&c, &bucket).await;
    let r = preflight(s, &path, "https://new.example.net", "PUT")
        .send()
        .await;
    assert!(r.text().contains("CORS is not enabled"), "{}", r.text());
}

/// A module built against `coffer:policy@0.1.0` answers CORS through the server after
/// the upgrades to 0.2.0 and 0.3.0, its answer translated (credentials derived as S3 does).
#[tokio::test]
async fn a_module_of_the_first_contract_answers_cors() {
    let s = server().await;
    let bucket = configured_bucket(s, "legacy").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("legacy.wasm");
    std::fs::write(&path, policy_module("legacy-v0-1")).expect("writing the module");
    let name = unique_bucket("legacy-mod");
    let path = path.to_str().expect("utf-8 path");
    let stored = s.admin_ok(&["policy", "put", &name, path]).await;
    assert!(stored.contains("contract 0.1.0"), "{stored}");
    s.admin_ok(&["policy", "attach", &bucket, &name]).await;
    let object = format!("/{bucket}/cat.jpg");
    // The CLI changed the database; the server notices at its next poll.
    let began = std::time::Instant::now();
    let r = loop {
        let r = preflight(s, &object, "https://legacy.example", "PUT")
            .header("access-control-request-headers", "content-type")
            .send()
            .await;
        if r.status == 200 || began.elapsed() > crate::support::PROPAGATION {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.status, 200, "{}", r.text());
    assert_header(&r, "access-control-allow-origin", "https://legacy.example");
    assert_header(&r, "access-control-allow-credentials", "true");
    assert_header(&r, "access-control-allow-methods", "GET, PUT");
    assert_header(&r, "access-control-max-age", "60");
    // The bucket's own rules are the module's business: this one ignores them.
    preflight(s, &object, "https://app.example.com", "GET")
        .send()
        .await
        .assert_error(403, "AccessForbidden");
    // Its authorize hook: deletes refused, reads allowed.
    let r = s
        .raw("DELETE", &object)
        .sign_v4(s.admin_keys())
        .send()
        .await;
    r.assert_error(403, "AccessDenied");
    s.admin_ok(&["policy", "detach", &bucket]).await;
    s.admin_ok(&["policy", "delete", &name]).await;
}

/// The largest configuration S3 accepts (100 rules, close to 64 KB) still answers: the
/// rules are bounded when stored, not counted against the module's input cap.
#[tokio::test]
async fn a_maximal_configuration_still_answers() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("maximal");
    create_bucket(&c, &bucket).await;
    let rule = |i: usize| {
        let origins: String = (0..8)
            .map(|j| format!("<AllowedOrigin>https://site-{i}-{j}.example.com</AllowedOrigin>"))
            .collect();
        format!(
            "<CORSRule><ID>rule-{i}</ID>{origins}<AllowedMethod>GET</AllowedMethod>\
             <AllowedHeader>x-amz-meta-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>\
             </CORSRule>"
        )
    };
    let body = format!(
        "<CORSConfiguration>{}</CORSConfiguration>",
        (0..100).map(rule).collect::<String>()
    );
    assert!(
        body.len() > 60_000 && body.len() <= 64_000,
        "{}",
        body.len()
    );
    put_cors(s, &bucket, &body).await.assert_success();
    let r = preflight(
        s,
        &format!("/{bucket}/k"),
        "https://site-99-7.example.com",
        "GET",
    )
    .header("access-control-request-headers", "x-amz-meta-owner")
    .send()
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_header(
        &r,
        "access-control-allow-origin",
        "https://site-99-7.example.com",
    );
}

/// The example module `cors-allowlist`: one allow-list, in the configuration, serves
/// every bucket it is attached to, without a `PutBucketCors` of their own; a bad list is
/// refused when attaching (its `check-config` hook), through the CLI and the admin API.
#[tokio::test]
async fn one_allow_list_module_serves_many_buckets() {
    let s = server().await;
    let c = s.client();
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = dir.path().join("cors-allowlist.wasm");
    std::fs::write(&wasm, policy_module("cors-allowlist")).expect("writing the module");
    let name = unique_bucket("allowlist");
    let stored = s
        .admin_ok(&["policy", "put", &name, wasm.to_str().expect("utf-8")])
        .await;
    assert!(stored.contains("hooks: cors, config"), "{stored}");
    let list = dir.path().join("list.json");
    std::fs::write(
        &list,
        r#"{"origins": ["https://*.shared.example"], "methods": ["GET", "PUT"],
            "headers": ["content-type"], "max_age_seconds": 60}"#,
    )
    .expect("writing the list");
    let buckets = [unique_bucket("shared-a"), unique_bucket("shared-b")];
    for bucket in &buckets {
        create_bucket(&c, bucket).await;
        s.admin_ok(&[
            "policy",
            "attach",
            bucket,
            &name,
            "--config",
            list.to_str().expect("utf-8"),
        ])
        .await;
    }
    for bucket in &buckets {
        // The CLI changed the database; the server notices at its next poll.
        let began = std::time::Instant::now();
        let r = loop {
            let r = preflight(
                s,
                &format!("/{bucket}/k"),
                "https://app.shared.example",
                "PUT",
            )
            .header("access-control-request-headers", "content-type")
            .send()
            .await;
            if r.status == 200 || began.elapsed() > crate::support::PROPAGATION {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(r.status, 200, "{bucket}: {}", r.text());
        assert_header(
            &r,
            "access-control-allow-origin",
            "https://app.shared.example",
        );
        assert_header(&r, "access-control-max-age", "60");
        preflight(s, &format!("/{bucket}/k"), "https://other.example", "PUT")
            .send()
            .await
            .assert_error(403, "AccessForbidden");
    }
    // A method S3 does not allow in CORS: refused when attaching, by the module itself.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"origins": ["*"], "methods": ["PATCH"]}"#).expect("writing");
    let out = s
        .admin(&[
            "policy",
            "attach",
            &buckets[0],
            &name,
            "--config",
            bad.to_str().expect("utf-8"),
        ])
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("method \"PATCH\""), "{stderr}");
    // The attachment in force is unchanged.
    assert_eq!(
        preflight(
            s,
            &format!("/{}/k", buckets[0]),
            "https://app.shared.example",
            "GET"
        )
        .send()
        .await
        .status,
        200
    );
    for bucket in &buckets {
        s.admin_ok(&["policy", "detach", bucket]).await;
    }
    s.admin_ok(&["policy", "delete", &name]).await;
}

/// A CORS configuration changed through one server reaches another sharing its database
/// within the poll interval: the cached rules are dropped when the policy generation
/// moves.
#[tokio::test]
async fn configuration_changes_reach_another_server_sharing_the_database() {
    let first = server().await;
    let bucket = configured_bucket(first, "shared-cors").await;
    let second = coffer_tests::ServerBuilder::default()
        .arg("--policy-poll-ms")
        .arg("100")
        .share_database_of(first)
        .start()
        .await;
    let path = format!("/{bucket}/cat.jpg");
    // The second server caches the rules at its first CORS request.
    let r = preflight(&second, &path, "https://app.example.com", "PUT")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Changed through the first: the second follows at its next poll.
    let only_new = r#"<CORSConfiguration><CORSRule><AllowedOrigin>https://new.example.net</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>"#;
    put_cors(first, &bucket, only_new).await.assert_success();
    let began = std::time::Instant::now();
    loop {
        let old = preflight(&second, &path, "https://app.example.com", "PUT")
            .send()
            .await;
        let new = preflight(&second, &path, "https://new.example.net", "PUT")
            .send()
            .await;
        if old.status == 403 && new.status == 200 {
            break;
        }
        assert!(
            began.elapsed() < crate::support::PROPAGATION,
            "the second server still answers with the old rules: {} / {}",
            old.status,
            new.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
