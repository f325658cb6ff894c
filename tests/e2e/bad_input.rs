//! Malformed input at the HTTP level: truncated bodies, oversize header sections, and the
//! request id every error carries.

use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, random_bytes, sdk_err, sha256_hex, unique_bucket};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, exists, get, put};

const MAX_HEADER_BYTES: usize = 8192;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || {
        TestServer::builder()
            .max_header_bytes(MAX_HEADER_BYTES)
            .chunk_size(64 * 1024)
            .inline_threshold(4096)
    })
    .await
}

#[tokio::test]
async fn truncated_body_is_rejected_and_not_stored() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("trunc");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "existing", b"old data").await;

    // (declared length, bytes actually sent, payload hash mode)
    let cases: [(usize, usize, bool); 4] = [
        (1000, 500, true),
        (1000, 0, false),
        (300_000, 200_000, true),
        (300_000, 150_000, false),
    ];
    for (i, (declared, sent, signed_hash)) in cases.into_iter().enumerate() {
        let full = random_bytes(declared);
        for key in [format!("truncated-{i}"), "existing".to_string()] {
            let hash = if signed_hash {
                sha256_hex(&full)
            } else {
                "UNSIGNED-PAYLOAD".to_string()
            };
            let resp = s
                .raw("PUT", &object_path(&bucket, &key))
                .sign_v4_with(
                    s.admin_keys(),
                    &hash,
                    OffsetDateTime::now_utc(),
                    "us-east-1",
                )
                .body(full[..sent].to_vec())
                .send_truncated(declared)
                .await;
            eprintln!(
                "truncated PUT case {i} ({sent}/{declared} bytes) to {key}: {}",
                resp.as_ref()
                    .map(|r| format!("{} {}", r.status, r.code().unwrap_or_default()))
                    .unwrap_or_else(|| "connection closed without a response".into())
            );
            if let Some(resp) = resp {
                assert_eq!(
                    (resp.status, resp.code().as_deref()),
                    (400, Some("IncompleteBody")),
                    "case {i} key {key}: {} {}",
                    resp.status,
                    resp.text()
                );
                resp.assert_request_id();
            }
        }
        let key = format!("truncated-{i}");
        sdk_err(c.get_object().bucket(&bucket).key(&key).send().await).assert(404, "NoSuchKey");
        assert_eq!(
            get(&c, &bucket, "existing").await,
            b"old data",
            "a truncated overwrite must not replace the object"
        );
    }
    // The server still serves.
    put(&c, &bucket, "after", b"still alive").await;
    assert_eq!(get(&c, &bucket, "after").await, b"still alive");
}

#[tokio::test]
async fn truncated_aws_chunked_body_is_rejected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("trunc-chunked");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(40_000);
    let req = s.raw("PUT", &object_path(&bucket, "k")).sign_v4_streaming(
        s.admin_keys(),
        &data,
        8192,
        None,
    );
    let declared = req.body.len();
    let mut req = req;
    req.body.truncate(declared / 2);
    if let Some(resp) = req.send_truncated(declared).await {
        let code = resp.assert_client_error();
        assert_eq!(resp.status, 400, "{code}: {}", resp.text());
    }
    assert!(
        !exists(&c, &bucket, "k").await,
        "truncated chunked upload was stored"
    );

    // Complete framing but the final chunk missing (Content-Length matches what is sent).
    let mut req = s.raw("PUT", &object_path(&bucket, "k2")).sign_v4_streaming(
        s.admin_keys(),
        &data,
        8192,
        None,
    );
    let final_chunk = req
        .body
        .windows(2)
        .rposition(|w| w == b"0;")
        .expect("final chunk");
    req.body.truncate(final_chunk);
    let resp = req.send().await;
    let code = resp.assert_client_error();
    assert_eq!(resp.status, 400, "{code}: {}", resp.text());
    assert!(!exists(&c, &bucket, "k2").await);
}

#[tokio::test]
async fn oversize_header_section_is_rejected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("bighdr");
    create_bucket(&c, &bucket).await;
    let resp = s
        .raw("PUT", &object_path(&bucket, "k"))
        .body(b"data".to_vec())
        .sign_v4(s.admin_keys())
        .header("x-padding", &"p".repeat(10 * 1024))
        .send()
        .await;
    resp.assert_error(400, "RequestHeaderSectionTooLarge");
    assert!(!exists(&c, &bucket, "k").await);

    // Many small headers adding up past the limit: the byte cap answers, with S3 XML,
    // not hyper's header-count limit.
    let mut req = s.raw("GET", &format!("/{bucket}")).sign_v4(s.admin_keys());
    for i in 0..300 {
        req = req.header(&format!("x-pad-{i}"), &"q".repeat(30));
    }
    req.send()
        .await
        .assert_error(400, "RequestHeaderSectionTooLarge");

    // Anonymous, over raw TCP.
    let resp = s
        .raw("GET", "/")
        .header("x-padding", &"r".repeat(10 * 1024))
        .send_tcp()
        .await
        .expect("a response");
    resp.assert_error(400, "RequestHeaderSectionTooLarge");

    // Just under the limit is fine.
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .sign_v4(s.admin_keys())
        .header("x-padding", &"s".repeat(MAX_HEADER_BYTES / 2))
        .send()
        .await;
    resp.assert_success();
}

#[tokio::test]
async fn every_error_response_carries_a_request_id() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("reqid");
    create_bucket(&c, &bucket).await;
    let keys = s.admin_keys();
    let missing = unique_bucket("nope");
    let responses = [
        s.raw("GET", &format!("/{missing}"))
            .sign_v4(keys)
            .send()
            .await,
        s.raw("GET", &object_path(&bucket, "absent"))
            .sign_v4(keys)
            .send()
            .await,
        s.raw("HEAD", &object_path(&bucket, "absent"))
            .sign_v4(keys)
            .send()
            .await,
        s.raw("PUT", "/Bad_Bucket").sign_v4(keys).send().await,
        s.raw("GET", &object_path(&bucket, "x")).send().await,
        s.raw("GET", &format!("/{bucket}"))
            .query("policy")
            .sign_v4(keys)
            .send()
            .await,
        s.raw("GET", &format!("/{bucket}"))
            .query("list-type=2&max-keys=notanumber")
            .sign_v4(keys)
            .send()
            .await,
        s.raw("DELETE", &format!("/{missing}"))
            .sign_v4(keys)
            .send()
            .await,
    ];
    let mut ids = Vec::new();
    for resp in &responses {
        assert!(
            resp.status >= 400,
            "expected an error, got {} {}",
            resp.status,
            resp.text()
        );
        resp.assert_request_id();
        // Bodies (all but HEAD's) are S3 error documents.
        if !resp.body.is_empty() {
            assert!(resp.code().is_some(), "no <Code>: {}", resp.text());
        }
        ids.push(resp.request_id().expect("request id"));
    }
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "request ids repeat: {ids:?}");

    // Over raw TCP (anonymous) too.
    let resp = s
        .raw("GET", &object_path(&missing, "k"))
        .send_tcp()
        .await
        .expect("a response");
    assert!(resp.status >= 400);
    resp.assert_request_id();

    // Successful responses have one as well.
    let ok = s.raw("GET", "/").sign_v4(keys).send().await;
    ok.assert_success();
    ok.assert_request_id();
}

#[tokio::test]
async fn key_with_invalid_utf8_is_rejected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("badutf8");
    create_bucket(&c, &bucket).await;
    for path in [
        format!("/{bucket}/bad-%FF-key"),
        format!("/{bucket}/%C3%28"),
        format!("/{bucket}/truncated-%E2%82"),
    ] {
        let resp = s
            .raw("PUT", &path)
            .body(b"data".to_vec())
            .sign_v4(s.admin_keys())
            .send()
            .await;
        resp.assert_error(400, "InvalidURI");
    }
    let listed = c.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0), "nothing was stored");
}

#[tokio::test]
async fn oversize_xml_body_is_rejected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("bigxml");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "keep", b"kept").await;
    // Well-formed but over the 1 MiB XML cap.
    let filler = "x".repeat(2 << 20);
    let body = format!("<Delete><Object><Key>keep</Key></Object><!-- {filler} --></Delete>");
    let resp = s
        .raw("POST", &format!("/{bucket}"))
        .query("delete")
        .body(body.into_bytes())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "MalformedXML");
    assert!(exists(&c, &bucket, "keep").await, "nothing was deleted");
}

/// A request refused before its body is read still gets its S3 error, even from a client
/// that sends its whole body before it reads (as Python's `http.client` does): the server
/// reads and discards the rest of the body for a bounded time before it closes. Closed
/// with bytes unread, the connection is reset instead: the client's next write fails, and
/// the reset can destroy an error the client has not read yet.
#[tokio::test]
async fn a_request_refused_before_its_body_is_read_still_gets_its_error() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("refused");
    create_bucket(&c, &bucket).await;
    const LEN: usize = 32 << 20;
    let piece = vec![b'x'; 1 << 20];
    for _ in 0..3 {
        // Anonymous, into a private bucket: refused on its head alone.
        let mut upload = s
            .raw("PUT", &object_path(&bucket, "k"))
            .start_upload(LEN)
            .await;
        for _ in 0..LEN / piece.len() {
            upload.send(&piece).await;
        }
        let resp = upload.finish().await.expect("an answer, not a reset");
        resp.assert_error(403, "AccessDenied");
    }
    assert!(!exists(&c, &bucket, "k").await, "nothing was stored");
}
