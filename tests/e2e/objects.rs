//! Object operations: byte-exact round trips across the inline/chunked boundaries, ETags,
//! HEAD, DELETE, overwrite, metadata and standard headers, response overrides, key
//! edge cases, size limits, Content-MD5, and virtual-host-style addressing.

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use base64::Engine as _;
use coffer_tests::raw::object_path;
use coffer_tests::util::md5_base64;
use coffer_tests::{TestServer, etag_of, random_bytes, sdk_err, sha256_hex, unique_bucket};
use std::collections::HashMap;
use tokio::sync::OnceCell;

use crate::support::{self, all_keys, create_bucket, exists, get, put};

/// Chunk size the server is started with, so that ~1 MiB spans many chunk files.
const CHUNK: usize = 64 * 1024;
/// Inline threshold the server is started with.
const INLINE: usize = 4096;
/// Base domain for virtual-host-style requests.
const DOMAIN: &str = "s3.localtest";

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || {
        TestServer::builder()
            .chunk_size(CHUNK)
            .inline_threshold(INLINE)
            .domain(DOMAIN)
    })
    .await
}

/// A server of its own, configured as the shared one but for the domain: for a test that
/// counts what the database or the server did, which other tests' requests would disturb.
async fn own_server() -> TestServer {
    TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(INLINE)
        .start()
        .await
}

#[tokio::test]
async fn put_get_round_trip_across_sizes() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("sizes");
    create_bucket(&c, &bucket).await;
    let sizes = [
        0,
        1,
        INLINE - 1,
        INLINE,
        INLINE + 1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        3 * CHUNK + 17,
        1024 * 1024,
        1024 * 1024 + 7,
    ];
    for size in sizes {
        let key = format!("obj-{size}");
        let data = random_bytes(size);
        let etag = put(&c, &bucket, &key, &data).await;
        assert_eq!(etag, etag_of(&data), "PutObject ETag for {size} bytes");

        let out = c
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {key}: {e:?}"));
        assert_eq!(out.content_length(), Some(size as i64), "Content-Length");
        assert_eq!(out.e_tag(), Some(etag_of(&data).as_str()), "GetObject ETag");
        let body = out.body.collect().await.expect("body").into_bytes();
        assert_eq!(body.len(), size, "length of {key}");
        assert_eq!(sha256_hex(&body), sha256_hex(&data), "content of {key}");

        let head = c
            .head_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .expect("HEAD");
        assert_eq!(head.content_length(), Some(size as i64));
        assert_eq!(head.e_tag(), Some(etag_of(&data).as_str()));
    }
}

#[tokio::test]
async fn put_get_large_object_streamed_from_file() {
    // A file-backed body makes the SDK use aws-chunked encoding with a checksum trailer.
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("stream");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(5 * CHUNK + 123);
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &data).expect("writing temp file");
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("big")
        .body(
            ByteStream::from_path(file.path())
                .await
                .expect("ByteStream"),
        )
        .send()
        .await
        .expect("streaming PutObject");
    assert_eq!(put.e_tag(), Some(etag_of(&data).as_str()));
    let body = get(&c, &bucket, "big").await;
    assert_eq!(sha256_hex(&body), sha256_hex(&data));
}

#[tokio::test]
async fn head_object_and_missing_keys() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("head");
    create_bucket(&c, &bucket).await;
    let data = b"hello head";
    put(&c, &bucket, "k", data).await;
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.e_tag(), Some(etag_of(data).as_str()));
    assert!(head.last_modified().is_some(), "Last-Modified missing");

    let err = sdk_err(c.head_object().bucket(&bucket).key("absent").send().await);
    assert_eq!(err.status, Some(404), "{}", err.debug);
    assert!(err.request_id.is_some(), "HEAD 404 without request id");
    sdk_err(c.get_object().bucket(&bucket).key("absent").send().await).assert(404, "NoSuchKey");
}

#[tokio::test]
async fn delete_object_is_204_even_when_absent() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("delete");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"bye").await;

    let resp = s
        .raw("DELETE", &object_path(&bucket, "k"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert!(
        !exists(&c, &bucket, "k").await,
        "deleted object still exists"
    );
    sdk_err(c.get_object().bucket(&bucket).key("k").send().await).assert(404, "NoSuchKey");

    for key in ["k", "never-existed"] {
        let resp = s
            .raw("DELETE", &object_path(&bucket, key))
            .sign_v4(s.admin_keys())
            .send()
            .await;
        assert_eq!(resp.status, 204, "deleting absent {key}: {}", resp.text());
    }
    c.delete_object()
        .bucket(&bucket)
        .key("never-existed")
        .send()
        .await
        .expect("SDK DeleteObject of an absent key");
}

#[tokio::test]
async fn overwrite_returns_new_data() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("overwrite");
    create_bucket(&c, &bucket).await;
    // chunked -> inline -> chunked -> empty
    let versions = [
        random_bytes(3 * CHUNK + 5),
        random_bytes(100),
        random_bytes(2 * CHUNK),
        Vec::new(),
    ];
    for data in &versions {
        let etag = put(&c, &bucket, "k", data).await;
        assert_eq!(etag, etag_of(data));
        let body = get(&c, &bucket, "k").await;
        assert_eq!(body.len(), data.len());
        assert_eq!(sha256_hex(&body), sha256_hex(data), "GET after overwrite");
    }
    assert_eq!(all_keys(&c, &bucket).await, vec!["k".to_string()]);
}

/// An unconditional PUT of inline bytes over an inline object in an unversioned bucket is
/// one `UPDATE` of the row (in `put_small_objects`, `store::small_writes`): every column,
/// the id included, must come out as a new row's would, whatever the replaced version had.
#[tokio::test]
async fn an_inline_overwrite_in_place_leaves_the_row_a_new_put_writes() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectCannedAcl};
    // A server of its own: PostgreSQL's row counters below must count only this test.
    let s = own_server().await;
    let c = s.client();
    let bucket = unique_bucket("in-place");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(300);
    let write = |key: &'static str| {
        c.put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from(data.clone()))
            .content_type("text/plain")
            .cache_control("no-cache")
            .metadata("colour", "blue")
            .tagging("team=storage")
    };
    write("fresh").send().await.expect("PUT fresh");
    // Everything different first: headers, metadata, tags, ACL, checksum, bytes.
    c.put_object()
        .bucket(&bucket)
        .key("over")
        .body(ByteStream::from(random_bytes(200)))
        .content_type("image/png")
        .content_encoding("gzip")
        .content_disposition("attachment")
        .content_language("fr")
        .expires(DateTime::from_secs(2_000_000_000))
        .metadata("shape", "round")
        .tagging("team=other&x=y")
        .acl(ObjectCannedAcl::PublicRead)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .expect("PUT over, first");
    let db = s.db().await;
    let row = |key: &'static str| {
        let (db, bucket) = (db.clone(), bucket.clone());
        async move {
            let (id, row): (i64, serde_json::Value) = sqlx::query_as(
                "SELECT o.id, to_jsonb(o) - 'id' - 'key' - 'last_modified'
                 FROM objects o JOIN buckets b ON b.id = o.bucket_id
                 WHERE b.name = $1 AND o.key = $2",
            )
            .bind(&bucket)
            .bind(key)
            .fetch_one(&db)
            .await
            .expect("the object's row");
            (id, row)
        }
    };
    let (first_id, _) = row("over").await;
    write("over").send().await.expect("PUT over, again");
    let (id, overwritten) = row("over").await;
    // A new id, as a new row's: a lifecycle expiration of the old version must miss it.
    assert!(id > first_id, "the overwritten row has a new id");
    assert_eq!(overwritten, row("fresh").await.1);
    // It was the one-statement overwrite: PostgreSQL counted an update of the row and no
    // delete (its counters reach the view within a second or so of the commit).
    let began = std::time::Instant::now();
    loop {
        let (updated, deleted): (i64, i64) = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE relname = 'objects'",
        )
        .fetch_one(&db)
        .await
        .expect("the objects table's counters");
        assert_eq!(deleted, 0, "no object row was deleted");
        if updated >= 1 {
            break;
        }
        assert!(
            began.elapsed() < std::time::Duration::from_secs(30),
            "no update of an object row was counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    db.close().await;
    assert_eq!(get(&c, &bucket, "over").await, data);
}

/// Unconditional PUTs of one key racing each other, some kept inline (overwritten in
/// place) and some in chunks (the general path): one whole object is left, and no chunk
/// that nothing references.
#[tokio::test]
async fn racing_inline_and_chunked_overwrites_leave_one_whole_object() {
    let s = own_server().await;
    let c = s.client();
    let bucket = unique_bucket("race-sizes");
    create_bucket(&c, &bucket).await;
    let bodies: Vec<Vec<u8>> = (0..24)
        .map(|i| random_bytes(if i % 2 == 0 { 100 + i } else { 2 * CHUNK + i }))
        .collect();
    for round in 0..3 {
        let mut puts = tokio::task::JoinSet::new();
        for data in &bodies {
            let (c, bucket, data) = (c.clone(), bucket.clone(), data.clone());
            puts.spawn(async move { put(&c, &bucket, "k", &data).await });
        }
        while let Some(done) = puts.join_next().await {
            done.expect("a PUT task");
        }
        let body = get(&c, &bucket, "k").await;
        assert!(
            bodies.contains(&body),
            "round {round}: one of the bodies, whole"
        );
    }
    let db = s.db().await;
    let (rows, unreferenced): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM objects WHERE key = 'k'),
                (SELECT count(*) FROM chunks c
                 WHERE NOT EXISTS (SELECT 1 FROM object_chunks oc WHERE oc.chunk_id = c.id))",
    )
    .fetch_one(&db)
    .await
    .expect("counting");
    db.close().await;
    assert_eq!((rows, unreferenced), (1, 0));
}

/// A counter of the server's `/metrics`.
async fn counter(s: &TestServer, name: &str) -> u64 {
    let text = s.admin_raw("GET", "/metrics").send().await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// Small PUTs written together (`store::small_writes`, group commit): writers in two
/// buckets each overwrite a key of their own and read it back after every answer, while
/// others race on shared keys (so one key comes twice in a batch). Every answer's ETag is
/// its body's, every read is the writer's last body (read-after-write), each shared key
/// ends as one of its bodies, whole, in one row, and the writes went in fewer batches
/// than writes.
#[tokio::test]
async fn small_puts_written_together_each_read_back_their_own_bytes() {
    let s = own_server().await;
    let c = s.client();
    let buckets = [unique_bucket("together-a"), unique_bucket("together-b")];
    for bucket in &buckets {
        create_bucket(&c, bucket).await;
    }
    let (writes_before, batches_before) = (
        counter(&s, "coffer_db_small_writes_total").await,
        counter(&s, "coffer_db_small_write_batches_total").await,
    );
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..16 {
        let (c, bucket) = (c.clone(), buckets[w % 2].clone());
        tasks.spawn(async move {
            let key = format!("own-{w}");
            for i in 0..10 {
                let data = random_bytes(1 + (w * 97 + i * 31) % INLINE);
                let answer = c
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(ByteStream::from(data.clone()))
                    .send()
                    .await
                    .expect("PUT");
                assert_eq!(answer.e_tag(), Some(etag_of(&data).as_str()));
                assert_eq!(get(&c, &bucket, &key).await, data, "writer {w}, PUT {i}");
            }
        });
    }
    let shared: Vec<Vec<u8>> = (0..48).map(|i| random_bytes(10 + i)).collect();
    for (i, data) in shared.iter().enumerate() {
        let (c, bucket, data) = (c.clone(), buckets[0].clone(), data.clone());
        tasks.spawn(async move {
            put(&c, &bucket, &format!("shared-{}", i % 4), &data).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a writer");
    }
    for k in 0..4 {
        let body = get(&c, &buckets[0], &format!("shared-{k}")).await;
        assert!(
            shared.iter().skip(k).step_by(4).any(|d| *d == body),
            "shared-{k}: one of its bodies, whole"
        );
    }
    let db = s.db().await;
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM objects o JOIN buckets b ON b.id = o.bucket_id
         WHERE b.name = $1 AND o.key LIKE 'shared-%'",
    )
    .bind(&buckets[0])
    .fetch_one(&db)
    .await
    .expect("counting");
    db.close().await;
    assert_eq!(rows, 4);
    let writes = counter(&s, "coffer_db_small_writes_total").await - writes_before;
    let batches = counter(&s, "coffer_db_small_write_batches_total").await - batches_before;
    assert!(writes >= 16 * 10 + 48, "{writes} writes in batches");
    assert!(batches < writes, "{writes} writes in {batches} batches");
}

/// Decodes an RFC 2047 `=?UTF-8?B?...?=` encoded word (how AWS returns non-ASCII
/// metadata); other values are returned unchanged.
fn decode_rfc2047(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if let Some(inner) = lower
        .strip_prefix("=?utf-8?b?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        let encoded = &value[value.len() - inner.len() - 2..value.len() - 2];
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded)
            && let Ok(text) = String::from_utf8(bytes)
        {
            return text;
        }
    }
    value.to_string()
}

#[tokio::test]
async fn user_metadata_round_trip() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("meta");
    create_bucket(&c, &bucket).await;
    let unicode = "grüße, 東京 ✓";
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .metadata("color", "blue")
        .metadata("multi-word", "a value with  spaces")
        .metadata("unicode", unicode)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("PutObject with metadata");
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("HEAD");
    let meta: HashMap<String, String> = head.metadata().cloned().unwrap_or_default();
    assert_eq!(
        meta.get("color").map(String::as_str),
        Some("blue"),
        "{meta:?}"
    );
    assert_eq!(
        meta.get("multi-word").map(String::as_str),
        Some("a value with  spaces"),
        "{meta:?}"
    );
    let got = meta.get("unicode").expect("unicode metadata returned");
    assert_eq!(
        decode_rfc2047(got),
        unicode,
        "non-ASCII metadata must come back as sent (raw UTF-8 or RFC 2047): {got:?}"
    );
    assert_eq!(meta.len(), 3, "unexpected metadata {meta:?}");

    let out = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        out.metadata()
            .and_then(|m| m.get("color"))
            .map(String::as_str),
        Some("blue")
    );
}

#[tokio::test]
async fn standard_headers_round_trip() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("headers");
    create_bucket(&c, &bucket).await;
    let expires = DateTime::from_secs(1_900_000_000);
    c.put_object()
        .bucket(&bucket)
        .key("doc")
        .content_type("text/plain; charset=utf-8")
        .content_encoding("gzip")
        .content_disposition("attachment; filename=\"report.txt\"")
        .content_language("de-CH")
        .cache_control("max-age=3600, must-revalidate")
        .expires(expires)
        .body(ByteStream::from_static(b"not really gzip"))
        .send()
        .await
        .expect("PutObject with headers");
    for head in [false, true] {
        let (ct, ce, cd, cl, cc, exp) = if head {
            let o = c
                .head_object()
                .bucket(&bucket)
                .key("doc")
                .send()
                .await
                .expect("HEAD");
            (
                o.content_type().map(str::to_string),
                o.content_encoding().map(str::to_string),
                o.content_disposition().map(str::to_string),
                o.content_language().map(str::to_string),
                o.cache_control().map(str::to_string),
                o.expires_string().map(str::to_string),
            )
        } else {
            let o = c
                .get_object()
                .bucket(&bucket)
                .key("doc")
                .send()
                .await
                .expect("GET");
            (
                o.content_type().map(str::to_string),
                o.content_encoding().map(str::to_string),
                o.content_disposition().map(str::to_string),
                o.content_language().map(str::to_string),
                o.cache_control().map(str::to_string),
                o.expires_string().map(str::to_string),
            )
        };
        assert_eq!(
            ct.as_deref(),
            Some("text/plain; charset=utf-8"),
            "head={head}"
        );
        assert_eq!(ce.as_deref(), Some("gzip"), "head={head}");
        assert_eq!(
            cd.as_deref(),
            Some("attachment; filename=\"report.txt\""),
            "head={head}"
        );
        assert_eq!(cl.as_deref(), Some("de-CH"), "head={head}");
        assert_eq!(
            cc.as_deref(),
            Some("max-age=3600, must-revalidate"),
            "head={head}"
        );
        let exp = exp.expect("Expires returned");
        let parsed = DateTime::from_str(&exp, aws_smithy_types::date_time::Format::HttpDate)
            .unwrap_or_else(|e| panic!("Expires {exp:?} is not an HTTP date: {e}"));
        assert_eq!(parsed.secs(), expires.secs(), "Expires {exp:?}");
    }

    // Objects without a Content-Type get a default one.
    put(&c, &bucket, "plain", b"x").await;
    let o = c
        .head_object()
        .bucket(&bucket)
        .key("plain")
        .send()
        .await
        .expect("HEAD");
    assert!(
        o.content_type().is_some_and(|t| !t.is_empty()),
        "no default Content-Type"
    );
}

#[tokio::test]
async fn response_header_overrides() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("override");
    create_bucket(&c, &bucket).await;
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .content_type("text/plain")
        .body(ByteStream::from_static(b"override me"))
        .send()
        .await
        .expect("PutObject");
    let expires = DateTime::from_secs(2_000_000_000);
    let out = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .response_content_type("application/x-custom")
        .response_content_disposition("inline; filename=\"x.bin\"")
        .response_content_encoding("identity")
        .response_content_language("fr")
        .response_cache_control("no-store")
        .response_expires(expires)
        .send()
        .await
        .expect("GET with response overrides");
    assert_eq!(out.content_type(), Some("application/x-custom"));
    assert_eq!(
        out.content_disposition(),
        Some("inline; filename=\"x.bin\"")
    );
    assert_eq!(out.content_encoding(), Some("identity"));
    assert_eq!(out.content_language(), Some("fr"));
    assert_eq!(out.cache_control(), Some("no-store"));
    let exp = out
        .expires_string()
        .expect("Expires override returned")
        .to_string();
    let parsed = DateTime::from_str(&exp, aws_smithy_types::date_time::Format::HttpDate)
        .unwrap_or_else(|e| panic!("Expires {exp:?}: {e}"));
    assert_eq!(parsed.secs(), expires.secs());
    let body = out.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"override me");

    // The stored object is unchanged.
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.content_type(), Some("text/plain"));
}

#[tokio::test]
async fn unusual_keys_round_trip() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("keys");
    create_bucket(&c, &bucket).await;
    let long_key: String = "k".repeat(1024);
    let mut keys: Vec<String> = [
        "with space",
        "  leading and trailing  ",
        "unicode-ключ-ü-東京-✓",
        "plus+sign",
        "percent%sign%41",
        "percent-encoded-looking%20x",
        "dir/sub dir/file.txt",
        "trailing/slash/",
        "tilde~star*paren()",
        "question?mark",
        "hash#tag",
        "amp&eq=semi;comma,colon:",
        "quote\"apos'",
        "dots/../and/./more",
        "emoji-🦀",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    keys.push(long_key.clone());
    for key in &keys {
        let data = format!("content of {key}");
        put(&c, &bucket, key, data.as_bytes()).await;
        let body = get(&c, &bucket, key).await;
        assert_eq!(body, data.as_bytes(), "round trip of key {key:?}");
    }
    let mut listed = all_keys(&c, &bucket).await;
    listed.sort();
    keys.sort();
    assert_eq!(listed, keys, "listing returns the keys exactly");

    // A 1024-byte key of multi-byte characters is also fine (1024 bytes, 512 chars).
    let wide = "é".repeat(512);
    put(&c, &bucket, &wide, b"wide").await;
    assert_eq!(get(&c, &bucket, &wide).await, b"wide");
}

#[tokio::test]
async fn key_longer_than_1024_bytes_is_rejected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("longkey");
    create_bucket(&c, &bucket).await;
    let key = "k".repeat(1025);
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    err.assert(400, "KeyTooLongError");
    // Multi-byte: 513 two-byte characters = 1026 bytes.
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("é".repeat(513))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    err.assert(400, "KeyTooLongError");
    assert!(all_keys(&c, &bucket).await.is_empty());
}

#[tokio::test]
async fn oversize_metadata_is_rejected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("bigmeta");
    create_bucket(&c, &bucket).await;
    let err = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .metadata("big", "v".repeat(2100))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    err.assert(400, "MetadataTooLarge");
    // Spread over several entries, still over 2 KB in total.
    let mut req = c.put_object().bucket(&bucket).key("k2");
    for i in 0..5 {
        req = req.metadata(format!("m{i}"), "w".repeat(450));
    }
    let err = sdk_err(req.body(ByteStream::from_static(b"x")).send().await);
    err.assert(400, "MetadataTooLarge");
    assert!(!exists(&c, &bucket, "k").await);
    assert!(!exists(&c, &bucket, "k2").await);
    // Just under the limit is fine.
    c.put_object()
        .bucket(&bucket)
        .key("ok")
        .metadata("small", "s".repeat(1500))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("1.5 KB of metadata is accepted");
}

#[tokio::test]
async fn content_md5_is_checked() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("md5");
    create_bucket(&c, &bucket).await;
    let body = b"the real body".to_vec();
    let path = object_path(&bucket, "k");

    let resp = s
        .raw("PUT", &path)
        .header("content-md5", &md5_base64(b"some other body"))
        .body(body.clone())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "BadDigest");
    assert!(
        !exists(&c, &bucket, "k").await,
        "object stored despite BadDigest"
    );

    let resp = s
        .raw("PUT", &path)
        .header("content-md5", "not base64 at all!")
        .body(body.clone())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "InvalidDigest");
    assert!(!exists(&c, &bucket, "k").await);

    let resp = s
        .raw("PUT", &path)
        .header("content-md5", &md5_base64(&body))
        .body(body.clone())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    assert_eq!(resp.header("etag"), Some(etag_of(&body)));
    assert_eq!(get(&c, &bucket, "k").await, body);
}

#[tokio::test]
async fn virtual_host_style_requests() {
    let s = server().await;
    let vc = s.vhost_client();
    let bucket = unique_bucket("vhost");
    create_bucket(&vc, &bucket).await;
    let data = random_bytes(2 * CHUNK + 3);
    put(&vc, &bucket, "dir/key one", &data).await;
    assert_eq!(get(&vc, &bucket, "dir/key one").await, data);
    assert_eq!(
        all_keys(&vc, &bucket).await,
        vec!["dir/key one".to_string()]
    );
    // Path style sees the same object.
    assert_eq!(get(&s.client(), &bucket, "dir/key one").await, data);

    // A raw virtual-host request signed with SigV2 (the bucket is in the Host header).
    let host = format!("{bucket}.{DOMAIN}:{}", s.port());
    let resp = s
        .raw("GET", "/dir/key%20one")
        .header("host", &host)
        .sign_v2_with(
            s.admin_keys(),
            Some(&bucket),
            time::OffsetDateTime::now_utc(),
        )
        .send()
        .await;
    resp.assert_success();
    assert_eq!(resp.body, data);
    vc.delete_object()
        .bucket(&bucket)
        .key("dir/key one")
        .send()
        .await
        .expect("vhost DeleteObject");
    vc.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("vhost DeleteBucket");
}

#[tokio::test]
async fn encryption_redirects_and_other_storage_classes_are_refused_not_ignored() {
    use aws_sdk_s3::types::{ServerSideEncryption, StorageClass};
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("unsupported");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "src", b"source").await;

    let sse = c
        .put_object()
        .bucket(&bucket)
        .key("sse")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(b"secret".to_vec().into())
        .send()
        .await;
    let e = sdk_err(sse);
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(501), Some("NotImplemented")),
        "{}",
        e.debug
    );
    // SSE-C: the client believes its key protects the bytes; nothing may be stored.
    let key = [7u8; 32];
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let md5 = md5_base64(&key);
    let ssec = c
        .put_object()
        .bucket(&bucket)
        .key("ssec")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&key))
        .sse_customer_key_md5(md5)
        .body(b"secret".to_vec().into())
        .send()
        .await;
    assert_eq!(sdk_err(ssec).status, Some(501));
    let copy = c
        .copy_object()
        .bucket(&bucket)
        .key("copy")
        .copy_source(format!("{bucket}/src"))
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await;
    assert_eq!(sdk_err(copy).status, Some(501));
    let mpu = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mpu")
        .website_redirect_location("/elsewhere")
        .send()
        .await;
    assert_eq!(sdk_err(mpu).status, Some(501));
    let glacier = c
        .put_object()
        .bucket(&bucket)
        .key("cold")
        .storage_class(StorageClass::Glacier)
        .body(b"cold".to_vec().into())
        .send()
        .await;
    let e = sdk_err(glacier);
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(400), Some("InvalidStorageClass")),
        "{}",
        e.debug
    );
    for key in ["sse", "ssec", "copy", "cold"] {
        assert!(!exists(&c, &bucket, key).await, "{key} was stored");
    }
    // The class Coffer has is accepted.
    c.put_object()
        .bucket(&bucket)
        .key("standard")
        .storage_class(StorageClass::Standard)
        .body(b"ok".to_vec().into())
        .send()
        .await
        .expect("STANDARD is accepted");
}
