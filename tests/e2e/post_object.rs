//! POST Object (browser form uploads): SigV4 and SigV2 signed policies, anonymous forms,
//! `${filename}`, metadata and ACL fields, the three success answers, and every policy
//! violation (condition, extra field, expiry, signature, content-length-range) refused
//! with nothing stored.

use base64::Engine as _;
use coffer::auth::{SecretKey, sigv2, sigv4};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, random_bytes, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, exists, get};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || TestServer::builder().chunk_size(64 * 1024)).await
}

const BOUNDARY: &str = "----cofferformboundary7MA4YWxkTrZu0gW";

/// A multipart/form-data body: the fields in order, then the file.
pub(crate) fn form_body(fields: &[(&str, String)], filename: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) async fn post(
    s: &TestServer,
    bucket: &str,
    body: Vec<u8>,
) -> coffer_tests::raw::RawResponse {
    s.raw("POST", &format!("/{bucket}"))
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
}

fn expiration(secs_from_now: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs_from_now);
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// The SigV4 form fields for `conditions` (the credential, algorithm and date are added
/// to the fields and to the conditions), signed with the root account's key.
pub(crate) fn sigv4_fields(
    s: &TestServer,
    expires_in: i64,
    conditions: &[serde_json::Value],
    fields: &[(&str, String)],
) -> Vec<(String, String)> {
    let keys = s.admin_keys();
    let now = time::OffsetDateTime::now_utc();
    let date = sigv4::format_amz_date(now);
    let day = &date[..8];
    let credential = format!("{}/{day}/us-east-1/s3/aws4_request", keys.access_key);
    let mut all = conditions.to_vec();
    all.push(serde_json::json!({"x-amz-credential": credential}));
    all.push(serde_json::json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}));
    all.push(serde_json::json!({"x-amz-date": date}));
    let policy = serde_json::json!({"expiration": expiration(expires_in), "conditions": all});
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let key = sigv4::signing_key(
        &SecretKey::new(keys.secret_key.clone()),
        day,
        "us-east-1",
        "s3",
    );
    let signature = sigv4::signature(&key, &policy);
    let mut out: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    out.push(("x-amz-credential".into(), credential));
    out.push(("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()));
    out.push(("x-amz-date".into(), date));
    out.push(("policy".into(), policy));
    out.push(("x-amz-signature".into(), signature));
    out
}

pub(crate) fn as_refs(fields: &[(String, String)]) -> Vec<(&str, String)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect()
}

#[tokio::test]
async fn sigv4_signed_form_uploads_with_metadata_acl_and_201() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("post");
    create_bucket(&c, &bucket).await;
    let conditions = [
        serde_json::json!({"bucket": bucket}),
        serde_json::json!(["starts-with", "$key", "uploads/"]),
        serde_json::json!({"acl": "public-read"}),
        serde_json::json!(["starts-with", "$Content-Type", "image/"]),
        serde_json::json!({"x-amz-meta-tag": "holiday"}),
        serde_json::json!({"success_action_status": "201"}),
        serde_json::json!(["content-length-range", 1, 1_000_000]),
    ];
    let fields = sigv4_fields(
        s,
        600,
        &conditions,
        &[
            ("key", "uploads/${filename}".into()),
            ("acl", "public-read".into()),
            ("Content-Type", "image/png".into()),
            ("x-amz-meta-tag", "holiday".into()),
            ("success_action_status", "201".into()),
        ],
    );
    let file = random_bytes(300 * 1024);
    let resp = post(s, &bucket, form_body(&as_refs(&fields), "photo.png", &file)).await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    // The form's bytes are counted as received, like any request body.
    let metrics = reqwest::get(format!("{}/metrics", s.admin_endpoint()))
        .await
        .expect("scraping /metrics")
        .text()
        .await
        .expect("metrics text");
    let received: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("coffer_s3_received_bytes_total{op=\"PostObject\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(received >= file.len() as f64, "received {received}");
    assert!(
        resp.text().contains("<Key>uploads/photo.png</Key>"),
        "{}",
        resp.text()
    );
    assert_eq!(get(&c, &bucket, "uploads/photo.png").await, file);
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("uploads/photo.png")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("image/png"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("tag"))
            .map(String::as_str),
        Some("holiday")
    );
    // public-read: anyone can fetch it.
    let anonymous = s
        .raw("GET", &object_path(&bucket, "uploads/photo.png"))
        .send()
        .await;
    assert_eq!(anonymous.status, 200);
}

#[tokio::test]
async fn sigv2_forms_redirects_and_anonymous_forms() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("post-v2");
    create_bucket(&c, &bucket).await;
    let keys = s.admin_keys();
    let policy = serde_json::json!({"expiration": expiration(600), "conditions": [
        {"bucket": bucket}, ["starts-with", "$key", ""],
        ["starts-with", "$success_action_redirect", "http://127.0.0.1:9/"]]});
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = sigv2::signature_v2(&SecretKey::new(keys.secret_key.clone()), &policy);
    let fields = [
        ("key", "v2.txt".to_string()),
        ("AWSAccessKeyId", keys.access_key.clone()),
        ("policy", policy),
        ("signature", signature),
        (
            "success_action_redirect",
            "http://127.0.0.1:9/done".to_string(),
        ),
    ];
    let resp = post(s, &bucket, form_body(&fields, "x.txt", b"signed with v2")).await;
    assert_eq!(resp.status, 303, "{}", resp.text());
    let location = resp.header("location").expect("Location");
    assert!(
        location.starts_with("http://127.0.0.1:9/done?bucket=") && location.contains("key=v2.txt"),
        "{location}"
    );
    assert_eq!(get(&c, &bucket, "v2.txt").await, b"signed with v2");

    // Anonymous forms: refused on a private bucket, stored (204) on a public-write one.
    let anonymous = [("key", "anon.txt".to_string())];
    let resp = post(s, &bucket, form_body(&anonymous, "a", b"anonymous")).await;
    resp.assert_error(403, "AccessDenied");
    c.put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .expect("open the bucket");
    let resp = post(s, &bucket, form_body(&anonymous, "a", b"anonymous")).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(get(&c, &bucket, "anon.txt").await, b"anonymous");
}

#[tokio::test]
async fn policy_violations_are_refused_and_store_nothing() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("post-bad");
    create_bucket(&c, &bucket).await;
    let base = [
        serde_json::json!({"bucket": bucket}),
        serde_json::json!(["starts-with", "$key", "ok/"]),
        serde_json::json!(["content-length-range", 10, 1000]),
    ];
    let key = |k: &str| vec![("key", k.to_string())];
    // (what, expiry, conditions, fields, file size, status, code)
    type Case<'a> = (
        &'a str,
        i64,
        Vec<serde_json::Value>,
        Vec<(&'a str, String)>,
        usize,
        u16,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "starts-with violated",
            600,
            base.to_vec(),
            key("bad/x"),
            100,
            403,
            "AccessDenied",
        ),
        (
            "field without a condition",
            600,
            base.to_vec(),
            vec![("key", "ok/x".into()), ("x-amz-meta-extra", "1".into())],
            100,
            403,
            "AccessDenied",
        ),
        (
            "expired policy",
            -60,
            base.to_vec(),
            key("ok/x"),
            100,
            403,
            "AccessDenied",
        ),
        (
            "file too large",
            600,
            base.to_vec(),
            key("ok/x"),
            5000,
            400,
            "EntityTooLarge",
        ),
        (
            "file too small",
            600,
            base.to_vec(),
            key("ok/x"),
            5,
            400,
            "EntityTooSmall",
        ),
        (
            "server-side encryption asked",
            600,
            [
                base.to_vec(),
                vec![serde_json::json!({"x-amz-server-side-encryption": "AES256"})],
            ]
            .concat(),
            vec![
                ("key", "ok/x".into()),
                ("x-amz-server-side-encryption", "AES256".into()),
            ],
            100,
            501,
            "NotImplemented",
        ),
        (
            "another storage class",
            600,
            [
                base.to_vec(),
                vec![serde_json::json!({"x-amz-storage-class": "GLACIER"})],
            ]
            .concat(),
            vec![
                ("key", "ok/x".into()),
                ("x-amz-storage-class", "GLACIER".into()),
            ],
            100,
            400,
            "InvalidStorageClass",
        ),
    ];
    for (what, expiry, conditions, fields, size, status, code) in cases {
        let signed = sigv4_fields(s, expiry, &conditions, &fields);
        let resp = post(
            s,
            &bucket,
            form_body(&as_refs(&signed), "f", &random_bytes(size)),
        )
        .await;
        resp.assert_error(status, code);
        assert!(!exists(&c, &bucket, "ok/x").await, "{what}: nothing stored");
        assert!(
            !exists(&c, &bucket, "bad/x").await,
            "{what}: nothing stored"
        );
    }
    // A tampered signature.
    let mut signed = sigv4_fields(s, 600, &base, &key("ok/x"));
    for (name, value) in signed.iter_mut() {
        if name == "x-amz-signature" {
            let flipped = if value.starts_with('0') { "1" } else { "0" };
            value.replace_range(0..1, flipped);
        }
    }
    post(
        s,
        &bucket,
        form_body(&as_refs(&signed), "f", &random_bytes(100)),
    )
    .await
    .assert_error(403, "SignatureDoesNotMatch");
    // A policy that is not base64 JSON.
    let mut signed = sigv4_fields(s, 600, &base, &key("ok/x"));
    for (name, value) in signed.iter_mut() {
        if name == "policy" {
            *value = "not-a-policy".into();
        }
    }
    let resp = post(
        s,
        &bucket,
        form_body(&as_refs(&signed), "f", &random_bytes(100)),
    )
    .await;
    assert!(resp.status == 400 || resp.status == 403, "{}", resp.text());
    // No file, and a body that is not multipart at all.
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nok/x\r\n--{BOUNDARY}--\r\n")
            .as_bytes(),
    );
    post(s, &bucket, body)
        .await
        .assert_error(400, "InvalidArgument");
    let resp = s
        .raw("POST", &format!("/{bucket}"))
        .header("content-type", "text/plain")
        .body(b"key=ok/x".to_vec())
        .send()
        .await;
    assert!(resp.status >= 400, "{}", resp.text());
    assert!(!exists(&c, &bucket, "ok/x").await);
}
