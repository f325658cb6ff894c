//! Byte ranges (206, 416, ignored malformed ranges) and conditional requests: 304/412 on
//! GET and HEAD with S3's precedence, and conditional writes (`If-None-Match: *`,
//! `If-Match`), including many concurrent creators of one key.

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, etag_of, random_bytes, sdk_err, unique_bucket};
use std::sync::Arc;
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, get, put};

/// Small chunks so a range can start and end inside different chunk files.
const CHUNK: usize = 16 * 1024;
/// Objects up to this size are kept inline in PostgreSQL.
const INLINE: usize = 1024;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || {
        TestServer::builder()
            .chunk_size(CHUNK)
            .inline_threshold(INLINE)
    })
    .await
}

/// A bucket holding `data` under `key`.
async fn bucket_with(s: &TestServer, key: &str, data: &[u8]) -> String {
    let c = s.client();
    let bucket = unique_bucket("range");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, key, data).await;
    bucket
}

/// A signed raw GET (or HEAD) of `bucket/key` with extra headers.
async fn raw_get(
    s: &TestServer,
    method: &str,
    bucket: &str,
    key: &str,
    headers: &[(&str, &str)],
) -> coffer_tests::raw::RawResponse {
    let mut req = s.raw(method, &object_path(bucket, key));
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.sign_v4(s.admin_keys()).send().await
}

#[tokio::test]
async fn ranges_return_206_with_exactly_the_selected_bytes() {
    let s = server().await;
    let c = s.client();
    // Chunked (several chunk files) and inline objects.
    for size in [3 * CHUNK + 100, INLINE - 10] {
        let data = random_bytes(size);
        let bucket = bucket_with(s, "obj", &data).await;
        let n = size as u64;
        let cases: Vec<(String, u64, u64)> = vec![
            ("bytes=0-99".into(), 0, 99),
            ("bytes=100-".into(), 100, n - 1),
            ("bytes=-50".into(), n - 50, n - 1),
            ("bytes=-1".into(), n - 1, n - 1),
            // Across a chunk boundary.
            (
                format!("bytes={}-{}", CHUNK - 5, CHUNK + 5),
                CHUNK as u64 - 5,
                CHUNK as u64 + 5,
            ),
            // Past the end: clamped.
            (format!("bytes=10-{}", n + 1000), 10, n - 1),
            (format!("bytes=-{}", n + 1000), 0, n - 1),
            // Exactly one whole chunk in the middle.
            (
                format!("bytes={}-{}", CHUNK, 2 * CHUNK - 1),
                CHUNK as u64,
                2 * CHUNK as u64 - 1,
            ),
        ];
        for (range, first, last) in cases {
            if last >= n || first > last {
                continue;
            }
            let expected = &data[first as usize..=last as usize];
            let out = c
                .get_object()
                .bucket(&bucket)
                .key("obj")
                .range(&range)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{size}: {range}: {e:?}"));
            assert_eq!(
                out.content_range(),
                Some(format!("bytes {first}-{last}/{n}").as_str()),
                "{size}: {range}"
            );
            assert_eq!(out.content_length(), Some((last - first + 1) as i64));
            let body = out.body.collect().await.expect("body").into_bytes();
            assert!(body.as_ref() == expected, "{size}: {range}: wrong bytes");

            let raw = raw_get(s, "GET", &bucket, "obj", &[("range", &range)]).await;
            assert_eq!(raw.status, 206, "{size}: {range}");
            assert!(raw.body == expected, "{size}: {range}: raw bytes");
            let head = raw_get(s, "HEAD", &bucket, "obj", &[("range", &range)]).await;
            assert_eq!(head.status, 206, "HEAD {range}");
            assert_eq!(
                head.header("content-range").as_deref(),
                Some(format!("bytes {first}-{last}/{n}").as_str())
            );
        }
    }
}

#[tokio::test]
async fn unsatisfiable_ranges_are_416_and_malformed_ones_are_ignored() {
    let s = server().await;
    let data = random_bytes(2 * CHUNK);
    let bucket = bucket_with(s, "obj", &data).await;
    let n = data.len();
    for range in [
        format!("bytes={n}-"),
        format!("bytes={}-{}", n + 5, n + 10),
        "bytes=-0".into(),
    ] {
        let resp = raw_get(s, "GET", &bucket, "obj", &[("range", &range)]).await;
        resp.assert_error(416, "InvalidRange");
        assert!(
            resp.text().contains("<ActualObjectSize>"),
            "{}",
            resp.text()
        );
        let err = sdk_err(
            s.client()
                .get_object()
                .bucket(&bucket)
                .key("obj")
                .range(&range)
                .send()
                .await,
        );
        assert_eq!(err.code.as_deref(), Some("InvalidRange"), "{range}");
    }
    // S3 ignores what it cannot parse: the whole object, 200.
    for range in [
        "bytes=5-2",
        "bytes=0-1,4-5",
        "items=0-1",
        "bytes=x-y",
        "bytes",
    ] {
        let resp = raw_get(s, "GET", &bucket, "obj", &[("range", range)]).await;
        assert_eq!(resp.status, 200, "{range}");
        assert!(resp.body == data, "{range}: whole object");
        assert_eq!(resp.header("content-range"), None);
    }
    // Any range of an empty object is unsatisfiable.
    put(&s.client(), &bucket, "empty", b"").await;
    raw_get(s, "GET", &bucket, "empty", &[("range", "bytes=0-")])
        .await
        .assert_error(416, "InvalidRange");
    let whole = raw_get(s, "GET", &bucket, "empty", &[]).await;
    assert_eq!(whole.status, 200);
}

#[tokio::test]
async fn conditional_gets_follow_s3_precedence() {
    let s = server().await;
    let c = s.client();
    let data = random_bytes(3000);
    let bucket = bucket_with(s, "obj", &data).await;
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("obj")
        .send()
        .await
        .expect("head");
    let etag = head.e_tag().expect("etag").to_string();
    let modified = head.last_modified().expect("last modified").secs();
    let date = |secs: i64| {
        httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64),
        )
    };
    let (before, at, after) = (date(modified - 3600), date(modified), date(modified + 3600));
    let unquoted = etag.trim_matches('"').to_string();
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case<'_>> = vec![
        (vec![("if-match", &etag)], 200),
        (vec![("if-match", &unquoted)], 200),
        (vec![("if-match", "\"other\", *")], 200),
        (vec![("if-match", "\"other\"")], 412),
        (vec![("if-none-match", &etag)], 304),
        (vec![("if-none-match", "*")], 304),
        (vec![("if-none-match", "\"other\"")], 200),
        (vec![("if-modified-since", &before)], 200),
        (vec![("if-modified-since", &at)], 304),
        (vec![("if-modified-since", &after)], 304),
        (vec![("if-unmodified-since", &before)], 412),
        (vec![("if-unmodified-since", &at)], 200),
        // If-Match true overrides a failed If-Unmodified-Since.
        (
            vec![("if-match", &etag), ("if-unmodified-since", &before)],
            200,
        ),
        // If-None-Match false (it matches) is 304 even if modified since.
        (
            vec![("if-none-match", &etag), ("if-modified-since", &before)],
            304,
        ),
        // If-None-Match true overrides If-Modified-Since.
        (
            vec![
                ("if-none-match", "\"other\""),
                ("if-modified-since", &after),
            ],
            200,
        ),
        // 412 wins over 304.
        (
            vec![("if-match", "\"other\""), ("if-none-match", &etag)],
            412,
        ),
        // Unparseable dates are ignored.
        (vec![("if-modified-since", "not a date")], 200),
        // Conditions apply before the range.
        (vec![("if-none-match", &etag), ("range", "bytes=0-9")], 304),
        (vec![("if-match", &etag), ("range", "bytes=0-9")], 206),
    ];
    for (headers, status) in &cases {
        for method in ["GET", "HEAD"] {
            let resp = raw_get(s, method, &bucket, "obj", headers).await;
            assert_eq!(
                resp.status,
                *status,
                "{method} {headers:?}: {}",
                resp.text()
            );
            match status {
                304 => {
                    assert!(resp.body.is_empty());
                    assert_eq!(resp.header("etag").as_deref(), Some(etag.as_str()));
                }
                412 if method == "GET" => {
                    assert_eq!(resp.code().as_deref(), Some("PreconditionFailed"));
                    assert!(resp.text().contains("<Condition>"), "{}", resp.text());
                }
                200 if method == "GET" => assert!(resp.body == data),
                _ => {}
            }
        }
    }
    // The SDK's own fields.
    let err = sdk_err(
        c.get_object()
            .bucket(&bucket)
            .key("obj")
            .if_match("\"nope\"")
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("PreconditionFailed"));
    let ok = c
        .get_object()
        .bucket(&bucket)
        .key("obj")
        .if_unmodified_since(DateTime::from_secs(modified + 10))
        .send()
        .await
        .expect("unmodified since");
    assert_eq!(ok.e_tag(), Some(etag.as_str()));
}

#[tokio::test]
async fn conditional_puts_create_only_or_replace_only_one_version() {
    let s = server().await;
    let c = s.client();
    let bucket = bucket_with(s, "existing", b"v1").await;
    // If-None-Match: * on a new key creates it, on an existing one is 412.
    c.put_object()
        .bucket(&bucket)
        .key("new")
        .if_none_match("*")
        .body(ByteStream::from_static(b"fresh"))
        .send()
        .await
        .expect("create-only PUT of a new key");
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("existing")
            .if_none_match("*")
            .body(ByteStream::from_static(b"v2"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("PreconditionFailed"));
    assert_eq!(get(&c, &bucket, "existing").await, b"v1");
    // If-Match replaces only the named version.
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("existing")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .body(ByteStream::from_static(b"v2"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("PreconditionFailed"));
    let out = c
        .put_object()
        .bucket(&bucket)
        .key("existing")
        .if_match(etag_of(b"v1"))
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .expect("replace-only PUT with the current ETag");
    assert_eq!(out.e_tag(), Some(etag_of(b"v2").as_str()));
    assert_eq!(get(&c, &bucket, "existing").await, b"v2");
    // If-Match on a missing key: NoSuchKey.
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("missing")
            .if_match(etag_of(b"v2"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("NoSuchKey"));
    // Other If-None-Match values are not supported by S3.
    let resp = s
        .raw("PUT", &object_path(&bucket, "other"))
        .header("if-none-match", "\"abc\"")
        .body(b"x".to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(501, "NotImplemented");
    // A large body with a failing condition is refused without being stored.
    let big = random_bytes(3 * CHUNK);
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("existing")
            .if_none_match("*")
            .body(ByteStream::from(big))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("PreconditionFailed"));
    assert_eq!(get(&c, &bucket, "existing").await, b"v2");
}

#[tokio::test]
async fn of_many_concurrent_creators_exactly_one_succeeds() {
    let s = server().await;
    let c = Arc::new(s.client());
    let bucket = unique_bucket("race");
    create_bucket(&c, &bucket).await;
    for round in 0..3 {
        let key = format!("contested-{round}");
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (c, bucket, key) = (c.clone(), bucket.clone(), key.clone());
                tokio::spawn(async move {
                    // Bodies on both sides of the inline threshold.
                    let body = vec![i as u8; if i % 2 == 0 { 100 } else { 3 * CHUNK }];
                    let result = c
                        .put_object()
                        .bucket(&bucket)
                        .key(&key)
                        .if_none_match("*")
                        .body(ByteStream::from(body.clone()))
                        .send()
                        .await;
                    (
                        result.is_ok(),
                        result.err().and_then(|e| {
                            use aws_sdk_s3::error::ProvideErrorMetadata;
                            e.code().map(str::to_string)
                        }),
                        body,
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (ok, code, body) = t.await.expect("task");
            if ok {
                winners.push(body);
            } else {
                assert_eq!(code.as_deref(), Some("PreconditionFailed"));
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one creator wins");
        assert_eq!(get(&c, &bucket, &key).await, winners[0]);
    }
}
