//! Authentication and access control: anonymous and malformed requests, signature and
//! clock errors, payload hashes, aws-chunked uploads (SDK and hand-built), SigV2, and
//! isolation between accounts.

use aws_sdk_s3::primitives::ByteStream;
use coffer_tests::raw::{REGION, object_path};
use coffer_tests::util::crc32_base64;
use coffer_tests::{
    AccountKeys, RequestRecorder, TestServer, etag_of, random_bytes, sdk_err, sha256_hex,
    unique_bucket,
};
use time::{Duration, OffsetDateTime};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, exists, get, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();
static ACCOUNTS: OnceCell<(AccountKeys, AccountKeys)> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

/// Two ordinary (non-admin) accounts on the shared server.
async fn accounts() -> &'static (AccountKeys, AccountKeys) {
    let s = server().await;
    ACCOUNTS
        .get_or_init(|| async {
            (
                s.create_account("alice").await,
                s.create_account("bob").await,
            )
        })
        .await
}

/// A bucket of the admin account holding `k` = "secret data".
async fn bucket_with_object(s: &TestServer, prefix: &str) -> String {
    let c = s.client();
    let bucket = unique_bucket(prefix);
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"secret data").await;
    bucket
}

fn with_secret(keys: &AccountKeys, secret: &str) -> AccountKeys {
    AccountKeys {
        secret_key: secret.to_string(),
        ..keys.clone()
    }
}

#[tokio::test]
async fn anonymous_requests_are_denied_on_private_buckets() {
    let s = server().await;
    let bucket = bucket_with_object(s, "anon").await;
    let path = object_path(&bucket, "k");

    let resp = s.raw("GET", &path).send().await;
    resp.assert_error(403, "AccessDenied");
    assert!(!resp.text().contains("secret data"));
    let resp = s.raw("HEAD", &path).send().await;
    assert_eq!(resp.status, 403);
    resp.assert_request_id();
    s.raw("GET", &format!("/{bucket}"))
        .send()
        .await
        .assert_error(403, "AccessDenied");
    s.raw("GET", "/")
        .send()
        .await
        .assert_error(403, "AccessDenied");

    let resp = s
        .raw("PUT", &object_path(&bucket, "anon-upload"))
        .body(b"hi".to_vec())
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");
    s.raw("DELETE", &path)
        .send()
        .await
        .assert_error(403, "AccessDenied");
    s.raw("PUT", &format!("/{}", unique_bucket("anon-new")))
        .send()
        .await
        .assert_error(403, "AccessDenied");

    let c = s.client();
    assert!(!exists(&c, &bucket, "anon-upload").await);
    assert_eq!(get(&c, &bucket, "k").await, b"secret data");
}

#[tokio::test]
async fn malformed_authorization_headers_are_rejected() {
    let s = server().await;
    let bucket = bucket_with_object(s, "badauth").await;
    let path = object_path(&bucket, "k");
    let now = OffsetDateTime::now_utc();
    let amz_date = coffer::auth::sigv4::format_amz_date(now);
    let date = &amz_date[..8];
    let ak = &s.admin_keys().access_key;
    let cases = [
        "AWS4-HMAC-SHA256".to_string(),
        "AWS4-HMAC-SHA256 Credential=garbage".to_string(),
        format!("AWS4-HMAC-SHA256 Credential={ak}/{date}/us-east-1/s3/aws4_request"),
        format!(
            "AWS4-HMAC-SHA256 Credential={ak}/{date}/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=not-hex"
        ),
        format!(
            "AWS4-HMAC-SHA256 Credential={ak}/{date}/us-east-1/s3/wrong_terminator, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
            "0".repeat(64)
        ),
        format!(
            "AWS4-HMAC-SHA256 Credential={ak}/{date}/us-east-1/iam/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
            "0".repeat(64)
        ),
        "AWS no-colon-here".to_string(),
        "AWS :".to_string(),
    ];
    let accepted = [
        "AuthorizationHeaderMalformed",
        "InvalidArgument",
        "InvalidRequest",
        "AccessDenied",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
    ];
    let mut wrong = Vec::new();
    for auth in cases {
        let resp = s
            .raw("GET", &path)
            .header("x-amz-date", &amz_date)
            .header("x-amz-content-sha256", coffer::auth::sigv4::EMPTY_SHA256)
            .header("authorization", &auth)
            .send()
            .await;
        assert!(
            !resp.text().contains("secret data"),
            "{auth:?} got the object"
        );
        resp.assert_request_id();
        let code = resp.code().unwrap_or_default();
        if !matches!(resp.status, 400 | 403) || !accepted.contains(&code.as_str()) {
            wrong.push(format!("{auth:?} -> {} {}", resp.status, resp.text()));
        }
    }
    assert!(
        wrong.is_empty(),
        "malformed Authorization headers must get 400/403 with an auth error code:\n{}",
        wrong.join("\n")
    );

    // AWS answers an unparseable SigV4 Credential with 400 AuthorizationHeaderMalformed.
    let resp = s
        .raw("GET", &path)
        .header("x-amz-date", &amz_date)
        .header("x-amz-content-sha256", coffer::auth::sigv4::EMPTY_SHA256)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=garbage")
        .send()
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
}

#[tokio::test]
async fn unsupported_authorization_scheme_is_invalid_argument() {
    // AWS: 400 InvalidArgument "Unsupported Authorization Type".
    let s = server().await;
    let bucket = bucket_with_object(s, "bearer").await;
    for auth in ["Bearer abcdef", "Basic dXNlcjpwYXNz"] {
        let resp = s
            .raw("GET", &object_path(&bucket, "k"))
            .header("authorization", auth)
            .send()
            .await;
        assert!(!resp.text().contains("secret data"));
        resp.assert_error(400, "InvalidArgument");
    }
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let s = server().await;
    let bucket = bucket_with_object(s, "wrongsig").await;
    let wrong = with_secret(s.admin_keys(), "definitely-not-the-secret-key-0123456789");

    let resp = s
        .raw("GET", &object_path(&bucket, "k"))
        .sign_v4(&wrong)
        .send()
        .await;
    resp.assert_error(403, "SignatureDoesNotMatch");

    let err = sdk_err(s.client_for(&wrong).list_buckets().send().await);
    err.assert(403, "SignatureDoesNotMatch");

    // Tampering with a signed header after signing.
    let resp = s
        .raw("GET", &object_path(&bucket, "k"))
        .header("x-amz-meta-signed", "original")
        .sign_v4(s.admin_keys())
        .header("x-amz-meta-signed", "tampered")
        .send()
        .await;
    resp.assert_error(403, "SignatureDoesNotMatch");

    // ... or with the path.
    let mut req = s
        .raw("GET", &object_path(&bucket, "k"))
        .sign_v4(s.admin_keys());
    req.path = object_path(&bucket, "other");
    req.send().await.assert_error(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn unknown_access_key_is_invalid_access_key_id() {
    let s = server().await;
    let bucket = bucket_with_object(s, "unknownkey").await;
    let stranger = AccountKeys {
        account: "nobody".into(),
        access_key: "AKIDOESNOTEXIST00000".into(),
        secret_key: "whatever".into(),
        canonical_id: String::new(),
    };
    s.raw("GET", &object_path(&bucket, "k"))
        .sign_v4(&stranger)
        .send()
        .await
        .assert_error(403, "InvalidAccessKeyId");
    s.raw("GET", &object_path(&bucket, "k"))
        .sign_v2(&stranger)
        .send()
        .await
        .assert_error(403, "InvalidAccessKeyId");
    sdk_err(s.client_for(&stranger).list_buckets().send().await).assert(403, "InvalidAccessKeyId");
}

#[tokio::test]
async fn skewed_request_time_is_rejected() {
    let s = server().await;
    let bucket = bucket_with_object(s, "skew").await;
    let path = object_path(&bucket, "k");
    let now = OffsetDateTime::now_utc();
    for offset in [Duration::minutes(-20), Duration::minutes(20)] {
        s.raw("GET", &path)
            .sign_v4_with(
                s.admin_keys(),
                coffer::auth::sigv4::EMPTY_SHA256,
                now + offset,
                REGION,
            )
            .send()
            .await
            .assert_error(403, "RequestTimeTooSkewed");
        s.raw("GET", &path)
            .sign_v2_with(s.admin_keys(), None, now + offset)
            .send()
            .await
            .assert_error(403, "RequestTimeTooSkewed");
    }
    // Within 15 minutes is fine.
    let resp = s
        .raw("GET", &path)
        .sign_v4_with(
            s.admin_keys(),
            coffer::auth::sigv4::EMPTY_SHA256,
            now - Duration::minutes(10),
            REGION,
        )
        .send()
        .await;
    resp.assert_success();
    assert_eq!(resp.body, b"secret data");
}

#[tokio::test]
async fn malformed_amz_date_is_access_denied() {
    // AWS answers an unparseable x-amz-date with 403 AccessDenied ("AWS authentication
    // requires a valid Date or x-amz-date header").
    let s = server().await;
    let bucket = bucket_with_object(s, "baddate").await;
    for bad in ["yesterday", "2024-01-01T00:00:00Z", "20241301T000000Z"] {
        let resp = s
            .raw("GET", &object_path(&bucket, "k"))
            .sign_v4(s.admin_keys())
            .header("x-amz-date", bad)
            .send()
            .await;
        let code = resp.assert_client_error();
        assert_eq!(
            (resp.status, code.as_str()),
            (403, "AccessDenied"),
            "x-amz-date {bad:?}: {}",
            resp.text()
        );
    }
    // SigV2 with an unparseable Date.
    let resp = s
        .raw("GET", &object_path(&bucket, "k"))
        .header("date", "not a date")
        .sign_v2(s.admin_keys())
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn content_sha256_must_match_the_body() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("sha");
    create_bucket(&c, &bucket).await;
    for size in [11, 100_000] {
        let body = random_bytes(size);
        let key = format!("k{size}");
        let resp = s
            .raw("PUT", &object_path(&bucket, &key))
            .body(body.clone())
            .sign_v4_with(
                s.admin_keys(),
                &sha256_hex(b"a different body"),
                OffsetDateTime::now_utc(),
                REGION,
            )
            .send()
            .await;
        resp.assert_error(400, "XAmzContentSHA256Mismatch");
        assert!(
            !exists(&c, &bucket, &key).await,
            "object stored despite the mismatch"
        );
    }

    // Missing x-amz-content-sha256 on a SigV4 request.
    let resp = s
        .raw("PUT", &object_path(&bucket, "nohash"))
        .body(b"x".to_vec())
        .sign_v4(s.admin_keys())
        .remove_header("x-amz-content-sha256")
        .send()
        .await;
    resp.assert_client_error();
    assert!(!exists(&c, &bucket, "nohash").await);

    // UNSIGNED-PAYLOAD is accepted.
    let resp = s
        .raw("PUT", &object_path(&bucket, "unsigned"))
        .body(b"unsigned body".to_vec())
        .sign_v4_with(
            s.admin_keys(),
            "UNSIGNED-PAYLOAD",
            OffsetDateTime::now_utc(),
            REGION,
        )
        .send()
        .await;
    resp.assert_success();
    assert_eq!(get(&c, &bucket, "unsigned").await, b"unsigned body");
}

#[tokio::test]
async fn sdk_streaming_upload_uses_aws_chunked_and_stores_clean_encoding() {
    let s = server().await;
    let recorder = RequestRecorder::default();
    let c = aws_sdk_s3::Client::from_conf(
        s.config_for(s.admin_keys())
            .interceptor(recorder.clone())
            .build(),
    );
    let bucket = unique_bucket("sdkchunk");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(200_000);
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &data).expect("writing temp file");

    for (key, user_encoding) in [("plain", None), ("gzipped", Some("gzip"))] {
        let out = c
            .put_object()
            .bucket(&bucket)
            .key(key)
            .set_content_encoding(user_encoding.map(str::to_string))
            .body(
                ByteStream::from_path(file.path())
                    .await
                    .expect("ByteStream"),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("streaming PutObject {key}: {e:?}"));
        let sent = recorder.last();
        let payload = sent.header("x-amz-content-sha256").unwrap_or_default();
        assert!(
            payload.starts_with("STREAMING-") && payload.ends_with("-TRAILER"),
            "the SDK was expected to stream with a trailer, sent {payload:?}"
        );
        assert!(
            sent.headers
                .iter()
                .any(|(n, v)| n == "content-encoding" && v.contains("aws-chunked")),
            "{sent:?}"
        );
        assert_eq!(
            sent.header("x-amz-trailer"),
            Some("x-amz-checksum-crc32"),
            "{sent:?}"
        );
        assert_eq!(out.e_tag(), Some(etag_of(&data).as_str()));
        assert_eq!(
            out.checksum_crc32(),
            Some(crc32_base64(&data).as_str()),
            "PutObject echoes the trailing checksum"
        );

        let head = c
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("HEAD");
        assert_eq!(head.content_length(), Some(data.len() as i64));
        let stored = head.content_encoding().map(str::to_string);
        assert!(
            stored.as_deref().is_none_or(|e| !e.contains("aws-chunked")),
            "aws-chunked leaked into the stored Content-Encoding: {stored:?}"
        );
        assert_eq!(stored.as_deref(), user_encoding, "stored Content-Encoding");
        assert_eq!(get(&c, &bucket, key).await, data);
    }
}

#[tokio::test]
async fn hand_built_signed_chunked_upload() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("sigchunk");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(20_000);

    let resp = s
        .raw("PUT", &object_path(&bucket, "good"))
        .sign_v4_streaming(s.admin_keys(), &data, 8192, None)
        .send()
        .await;
    resp.assert_success();
    assert_eq!(resp.header("etag"), Some(etag_of(&data)));
    assert_eq!(get(&c, &bucket, "good").await, data);
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("good")
        .send()
        .await
        .expect("HEAD");
    assert!(
        head.content_encoding()
            .is_none_or(|e| !e.contains("aws-chunked")),
        "{:?}",
        head.content_encoding()
    );

    // 20000 bytes in 8192-byte chunks: chunks 0..=2 carry data, chunk 3 is the final one.
    for tamper in [0, 1, 3] {
        let key = format!("tampered-{tamper}");
        let resp = s
            .raw("PUT", &object_path(&bucket, &key))
            .sign_v4_streaming(s.admin_keys(), &data, 8192, Some(tamper))
            .send()
            .await;
        let code = resp.assert_client_error();
        assert_eq!(
            (resp.status, code.as_str()),
            (403, "SignatureDoesNotMatch"),
            "tampered chunk {tamper}: {}",
            resp.text()
        );
        assert!(
            !exists(&c, &bucket, &key).await,
            "tampered upload was stored"
        );
    }

    // Valid signatures but the data changed in transit.
    let mut req = s
        .raw("PUT", &object_path(&bucket, "altered"))
        .sign_v4_streaming(s.admin_keys(), &data, 8192, None);
    let pos = req.body.len() / 2;
    req.body[pos] ^= 0xff;
    let resp = req.send().await;
    resp.assert_error(403, "SignatureDoesNotMatch");
    assert!(!exists(&c, &bucket, "altered").await);

    // An existing object is not replaced by a failed upload.
    let mut req = s
        .raw("PUT", &object_path(&bucket, "good"))
        .sign_v4_streaming(s.admin_keys(), &random_bytes(20_000), 8192, Some(2));
    req = req.header("x-amz-meta-attempt", "2");
    let resp = req.send().await;
    resp.assert_client_error();
    assert_eq!(get(&c, &bucket, "good").await, data);
}

#[tokio::test]
async fn unsigned_trailer_checksum_is_verified() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("trailer");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(30_000);

    let good = crc32_base64(&data);
    let resp = s
        .raw("PUT", &object_path(&bucket, "good"))
        .sign_v4_unsigned_trailer(
            s.admin_keys(),
            &data,
            8192,
            &[("x-amz-checksum-crc32", &good)],
        )
        .send()
        .await;
    resp.assert_success();
    assert_eq!(resp.header("x-amz-checksum-crc32"), Some(good.clone()));
    assert_eq!(get(&c, &bucket, "good").await, data);
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("good")
        .send()
        .await
        .expect("HEAD");
    assert!(
        head.content_encoding()
            .is_none_or(|e| !e.contains("aws-chunked"))
    );

    let wrong = crc32_base64(b"something else");
    let resp = s
        .raw("PUT", &object_path(&bucket, "bad"))
        .sign_v4_unsigned_trailer(
            s.admin_keys(),
            &data,
            8192,
            &[("x-amz-checksum-crc32", &wrong)],
        )
        .send()
        .await;
    resp.assert_error(400, "BadDigest");
    assert!(
        !exists(&c, &bucket, "bad").await,
        "object stored despite BadDigest"
    );
}

#[tokio::test]
async fn sigv2_signed_requests_work() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("sigv2");
    create_bucket(&c, &bucket).await;
    let path = object_path(&bucket, "v2 key");
    let body = b"signed with version 2".to_vec();

    let resp = s
        .raw("PUT", &path)
        .header("content-type", "text/plain")
        .header("x-amz-meta-Via", "sigv2")
        .body(body.clone())
        .sign_v2(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    assert_eq!(resp.header("etag"), Some(etag_of(&body)));

    let resp = s.raw("GET", &path).sign_v2(s.admin_keys()).send().await;
    resp.assert_success();
    assert_eq!(resp.body, body);
    assert_eq!(resp.header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(resp.header("x-amz-meta-via").as_deref(), Some("sigv2"));

    // Sub-resources are part of the SigV2 string to sign.
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("location")
        .sign_v2(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("prefix=v2&max-keys=5")
        .sign_v2(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    assert!(resp.text().contains("<Key>v2 key</Key>"), "{}", resp.text());

    let wrong = with_secret(s.admin_keys(), "wrong-secret");
    s.raw("GET", &path)
        .sign_v2(&wrong)
        .send()
        .await
        .assert_error(403, "SignatureDoesNotMatch");

    let resp = s.raw("DELETE", &path).sign_v2(s.admin_keys()).send().await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert!(!exists(&c, &bucket, "v2 key").await);
}

#[tokio::test]
async fn accounts_cannot_touch_each_others_buckets() {
    let s = server().await;
    let (alice, bob) = accounts().await;
    for (owner, intruder) in [(alice, bob), (bob, alice)] {
        let oc = s.client_for(owner);
        let ic = s.client_for(intruder);
        let bucket = unique_bucket(&owner.account);
        create_bucket(&oc, &bucket).await;
        put(&oc, &bucket, "private", b"owner's data").await;

        sdk_err(ic.get_object().bucket(&bucket).key("private").send().await)
            .assert(403, "AccessDenied");
        let err = sdk_err(ic.head_object().bucket(&bucket).key("private").send().await);
        assert_eq!(err.status, Some(403), "{}", err.debug);
        sdk_err(ic.list_objects_v2().bucket(&bucket).send().await).assert(403, "AccessDenied");
        sdk_err(
            ic.put_object()
                .bucket(&bucket)
                .key("intruder")
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
        )
        .assert(403, "AccessDenied");
        sdk_err(
            ic.delete_object()
                .bucket(&bucket)
                .key("private")
                .send()
                .await,
        )
        .assert(403, "AccessDenied");
        sdk_err(ic.delete_bucket().bucket(&bucket).send().await).assert(403, "AccessDenied");

        // Raw, both signature versions.
        s.raw("GET", &object_path(&bucket, "private"))
            .sign_v4(intruder)
            .send()
            .await
            .assert_error(403, "AccessDenied");
        s.raw("GET", &object_path(&bucket, "private"))
            .sign_v2(intruder)
            .send()
            .await
            .assert_error(403, "AccessDenied");

        // Nothing changed.
        assert_eq!(get(&oc, &bucket, "private").await, b"owner's data");
        assert!(!exists(&oc, &bucket, "intruder").await);
    }
}

#[tokio::test]
async fn every_trailer_checksum_algorithm_is_verified() {
    use coffer::auth::checksum::{ChecksumAlgorithm, checksum_base64};
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("trailers");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(20_000);
    for alg in ChecksumAlgorithm::ALL {
        let name = alg.header_name();
        let good = checksum_base64(alg, &data);
        let key = format!("good-{}", alg.as_str());
        let resp = s
            .raw("PUT", &object_path(&bucket, &key))
            .sign_v4_unsigned_trailer(s.admin_keys(), &data, 8192, &[(name, &good)])
            .send()
            .await;
        resp.assert_success();
        assert_eq!(resp.header(name), Some(good.clone()), "{name}");
        let head = c
            .head_object()
            .bucket(&bucket)
            .key(&key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let returned = match alg {
            ChecksumAlgorithm::Crc32 => head.checksum_crc32(),
            ChecksumAlgorithm::Crc32c => head.checksum_crc32_c(),
            ChecksumAlgorithm::Crc64Nvme => head.checksum_crc64_nvme(),
            ChecksumAlgorithm::Sha1 => head.checksum_sha1(),
            ChecksumAlgorithm::Sha256 => head.checksum_sha256(),
        };
        assert_eq!(
            returned,
            Some(good.as_str()),
            "{name} returned with checksum mode"
        );

        let wrong = checksum_base64(alg, b"other bytes");
        let key = format!("bad-{}", alg.as_str());
        let resp = s
            .raw("PUT", &object_path(&bucket, &key))
            .sign_v4_unsigned_trailer(s.admin_keys(), &data, 8192, &[(name, &wrong)])
            .send()
            .await;
        resp.assert_error(400, "BadDigest");
        assert!(!exists(&c, &bucket, &key).await, "{name}: nothing stored");
    }
}
