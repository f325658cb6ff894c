//! Presigned URLs: SigV4 (aws-sdk-s3's presigner) and SigV2 query authentication for GET,
//! HEAD, PUT and DELETE, used with a plain HTTP client; tampered, expired, out-of-range
//! and wrong-region URLs are refused with S3's errors.

use aws_sdk_s3::presigning::PresigningConfig;
use coffer::auth::SecretKey;
use coffer_tests::{TestServer, random_bytes, unique_bucket};
use std::time::Duration;
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, exists, get, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || {
        TestServer::builder().arg("--region").arg("us-east-1")
    })
    .await
}

fn presigning(secs: u64) -> PresigningConfig {
    PresigningConfig::expires_in(Duration::from_secs(secs)).expect("valid expiry")
}

/// A plain HTTP request to a presigned URL: (status, body).
async fn fetch(method: reqwest::Method, url: &str, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut req = client.request(method, url);
    if let Some(body) = body {
        req = req.body(body);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

fn code_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn sigv4_presigned_get_head_put_and_delete() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("presign");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(5000);
    put(&c, &bucket, "a key/with spaces+plus", &data).await;

    let url = c
        .get_object()
        .bucket(&bucket)
        .key("a key/with spaces+plus")
        .presigned(presigning(300))
        .await
        .expect("presign GET");
    let (status, body) = fetch(reqwest::Method::GET, url.uri(), None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, data);

    let url = c
        .head_object()
        .bucket(&bucket)
        .key("a key/with spaces+plus")
        .presigned(presigning(300))
        .await
        .expect("presign HEAD");
    assert_eq!(fetch(reqwest::Method::HEAD, url.uri(), None).await.0, 200);

    let upload = random_bytes(3000);
    let url = c
        .put_object()
        .bucket(&bucket)
        .key("uploaded")
        .presigned(presigning(300))
        .await
        .expect("presign PUT");
    let (status, body) = fetch(reqwest::Method::PUT, url.uri(), Some(upload.clone())).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(get(&c, &bucket, "uploaded").await, upload);

    let url = c
        .delete_object()
        .bucket(&bucket)
        .key("uploaded")
        .presigned(presigning(300))
        .await
        .expect("presign DELETE");
    assert_eq!(fetch(reqwest::Method::DELETE, url.uri(), None).await.0, 204);
    assert!(!exists(&c, &bucket, "uploaded").await);
}

#[tokio::test]
async fn tampered_expired_and_malformed_sigv4_urls_are_refused() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("presign-bad");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"secret").await;
    put(&c, &bucket, "other", b"other").await;
    let url = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .presigned(presigning(300))
        .await
        .expect("presign")
        .uri()
        .to_string();

    // Another key, or a changed signature.
    let other_key = url.replacen("/k?", "/other?", 1);
    let (status, body) = fetch(reqwest::Method::GET, &other_key, None).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (403, "SignatureDoesNotMatch")
    );
    let sig_at = url.find("X-Amz-Signature=").expect("signature") + "X-Amz-Signature=".len();
    let mut tampered = url.clone();
    let flipped = if &url[sig_at..sig_at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    tampered.replace_range(sig_at..sig_at + 1, flipped);
    let (status, body) = fetch(reqwest::Method::GET, &tampered, None).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (403, "SignatureDoesNotMatch")
    );
    // Used for another method.
    let (status, _) = fetch(reqwest::Method::DELETE, &url, None).await;
    assert_eq!(status, 403);
    assert!(exists(&c, &bucket, "k").await);

    // X-Amz-Expires outside 1..=604800.
    let expires_at = url.find("X-Amz-Expires=").expect("expires");
    let end = url[expires_at..]
        .find('&')
        .map_or(url.len(), |i| expires_at + i);
    for bad in ["0", "604801", "abc"] {
        let mut u = url.clone();
        u.replace_range(expires_at..end, &format!("X-Amz-Expires={bad}"));
        let (status, body) = fetch(reqwest::Method::GET, &u, None).await;
        assert_eq!(
            (status, code_of(&body).as_str()),
            (400, "AuthorizationQueryParametersError"),
            "X-Amz-Expires={bad}"
        );
    }
    // Missing parameters.
    let cut = url
        .split("&X-Amz-Signature=")
        .next()
        .expect("prefix")
        .to_string();
    let (status, body) = fetch(reqwest::Method::GET, &cut, None).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (400, "AuthorizationQueryParametersError")
    );

    // Signed for another region than the server's.
    let eu = aws_sdk_s3::Client::from_conf(
        s.config_for(s.admin_keys())
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .build(),
    );
    let url = eu
        .get_object()
        .bucket(&bucket)
        .key("k")
        .presigned(presigning(300))
        .await
        .expect("presign");
    let (status, body) = fetch(reqwest::Method::GET, url.uri(), None).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (400, "AuthorizationQueryParametersError")
    );

    // Expired: valid for one second.
    let url = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .presigned(presigning(1))
        .await
        .expect("presign");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = fetch(reqwest::Method::GET, url.uri(), None).await;
    assert_eq!((status, code_of(&body).as_str()), (403, "AccessDenied"));
    assert!(
        String::from_utf8_lossy(&body).contains("Request has expired"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

/// A SigV2 presigned URL for `method` on `/bucket/key`, valid until `expires`.
fn presign_v2(s: &TestServer, method: &str, bucket: &str, key: &str, expires: i64) -> String {
    let keys = s.admin_keys();
    let path = format!("/{bucket}/{key}");
    let string_to_sign = format!("{method}\n\n\n{expires}\n{path}");
    let signature = coffer::auth::sigv2::signature_v2(
        &SecretKey::new(keys.secret_key.clone()),
        &string_to_sign,
    );
    let encode = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "{}{path}?AWSAccessKeyId={}&Expires={expires}&Signature={}",
        s.endpoint(),
        encode(&keys.access_key),
        encode(&signature)
    )
}

#[tokio::test]
async fn sigv2_presigned_urls() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("presign-v2");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"v2 data").await;
    let later = time::OffsetDateTime::now_utc().unix_timestamp() + 300;

    let (status, body) = fetch(
        reqwest::Method::GET,
        &presign_v2(s, "GET", &bucket, "k", later),
        None,
    )
    .await;
    assert_eq!((status, body.as_slice()), (200, &b"v2 data"[..]));
    let url = presign_v2(s, "HEAD", &bucket, "k", later);
    assert_eq!(fetch(reqwest::Method::HEAD, &url, None).await.0, 200);
    let url = presign_v2(s, "PUT", &bucket, "new", later);
    let (status, _) = fetch(reqwest::Method::PUT, &url, Some(b"put by v2".to_vec())).await;
    assert_eq!(status, 200);
    assert_eq!(get(&c, &bucket, "new").await, b"put by v2");
    let url = presign_v2(s, "DELETE", &bucket, "new", later);
    assert_eq!(fetch(reqwest::Method::DELETE, &url, None).await.0, 204);

    // Expired, tampered, and signed for another method.
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 10;
    let (status, body) = fetch(
        reqwest::Method::GET,
        &presign_v2(s, "GET", &bucket, "k", past),
        None,
    )
    .await;
    assert_eq!((status, code_of(&body).as_str()), (403, "AccessDenied"));
    let url = presign_v2(s, "GET", &bucket, "k", later).replace(
        &format!("Expires={later}"),
        &format!("Expires={}", later + 1),
    );
    let (status, body) = fetch(reqwest::Method::GET, &url, None).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (403, "SignatureDoesNotMatch")
    );
    let url = presign_v2(s, "GET", &bucket, "k", later);
    let (status, _) = fetch(reqwest::Method::DELETE, &url, None).await;
    assert_eq!(status, 403);
}
