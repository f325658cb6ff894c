//! CopyObject: within and across buckets, metadata directives, copying onto itself,
//! copy-source conditions, malformed and forbidden sources, ACLs of the copy, and
//! conditional copies.

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{MetadataDirective, ObjectCannedAcl};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, etag_of, random_bytes, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, get, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || {
        TestServer::builder()
            .chunk_size(16 * 1024)
            .inline_threshold(1024)
    })
    .await
}

/// A CopyObject of `source` (`bucket/key`) to `key` of `bucket`, to add options to.
fn copy_to(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    source: &str,
) -> aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder {
    c.copy_object().bucket(bucket).key(key).copy_source(source)
}

#[tokio::test]
async fn copies_within_and_across_buckets_keep_bytes_etag_and_metadata() {
    let s = server().await;
    let c = s.client();
    let (a, b) = (unique_bucket("copy-a"), unique_bucket("copy-b"));
    create_bucket(&c, &a).await;
    create_bucket(&c, &b).await;
    // Inline and chunked sources, and a key that needs encoding.
    for (key, size) in [("small", 100), ("big file+?.bin", 100 * 1024)] {
        let data = random_bytes(size);
        c.put_object()
            .bucket(&a)
            .key(key)
            .content_type("image/png")
            .cache_control("max-age=60")
            .metadata("colour", "blue")
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("put source");
        for target in [&a, &b] {
            let out = c
                .copy_object()
                .bucket(target)
                .key(format!("{key}.copy"))
                .copy_source(format!(
                    "{a}/{}",
                    percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
                ))
                .send()
                .await
                .unwrap_or_else(|e| panic!("copy {key} to {target}: {e:?}"));
            let result = out.copy_object_result().expect("CopyObjectResult");
            assert_eq!(result.e_tag(), Some(etag_of(&data).as_str()));
            assert!(result.last_modified().is_some());
            let got = c
                .get_object()
                .bucket(target)
                .key(format!("{key}.copy"))
                .send()
                .await
                .expect("get copy");
            assert_eq!(got.content_type(), Some("image/png"));
            assert_eq!(got.cache_control(), Some("max-age=60"));
            assert_eq!(
                got.metadata()
                    .and_then(|m| m.get("colour"))
                    .map(String::as_str),
                Some("blue")
            );
            let body = got.body.collect().await.expect("body").into_bytes();
            assert!(body.as_ref() == data.as_slice(), "{key}: bytes");
        }
    }
}

#[tokio::test]
async fn replace_directive_and_copying_onto_itself() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("copy-self");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(40 * 1024);
    c.put_object()
        .bucket(&bucket)
        .key("obj")
        .content_type("text/plain")
        .metadata("old", "1")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .expect("put");
    // Onto itself without REPLACE: S3's InvalidRequest.
    let err = sdk_err(
        copy_to(&c, &bucket, "obj", &format!("{bucket}/obj"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("InvalidRequest"));
    assert_eq!(err.status, Some(400));
    // With REPLACE: new metadata, same bytes and ETag.
    copy_to(&c, &bucket, "obj", &format!("{bucket}/obj"))
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/json")
        .metadata("new", "2")
        .send()
        .await
        .expect("self copy with REPLACE");
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("obj")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("application/json"));
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.get("new").map(String::as_str), Some("2"));
    assert!(!meta.contains_key("old"), "REPLACE drops the old metadata");
    assert_eq!(head.e_tag(), Some(etag_of(&data).as_str()));
    assert_eq!(get(&c, &bucket, "obj").await, data);
    // An unknown directive.
    let resp = s
        .raw("PUT", &object_path(&bucket, "other"))
        .header("x-amz-copy-source", &format!("{bucket}/obj"))
        .header("x-amz-metadata-directive", "MERGE")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn copy_source_conditions_fail_with_412() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("copy-cond");
    create_bucket(&c, &bucket).await;
    let etag = put(&c, &bucket, "src", b"conditional source").await;
    let modified = c
        .head_object()
        .bucket(&bucket)
        .key("src")
        .send()
        .await
        .expect("head")
        .last_modified()
        .expect("last modified")
        .secs();
    let (past, future) = (
        DateTime::from_secs(modified - 3600),
        DateTime::from_secs(modified + 3600),
    );
    let copy = || copy_to(&c, &bucket, "dst", &format!("{bucket}/src"));
    for (what, result) in [
        (
            "if-match other",
            copy().copy_source_if_match("\"other\"").send().await,
        ),
        (
            "if-none-match same",
            copy().copy_source_if_none_match(&etag).send().await,
        ),
        (
            "modified-since future",
            copy().copy_source_if_modified_since(future).send().await,
        ),
        (
            "unmodified-since past",
            copy().copy_source_if_unmodified_since(past).send().await,
        ),
    ] {
        let err = sdk_err(result);
        assert_eq!(err.code.as_deref(), Some("PreconditionFailed"), "{what}");
        assert_eq!(err.status, Some(412), "{what}");
    }
    assert!(!crate::support::exists(&c, &bucket, "dst").await);
    for (what, result) in [
        (
            "if-match same",
            copy().copy_source_if_match(&etag).send().await,
        ),
        (
            "if-none-match other",
            copy().copy_source_if_none_match("\"x\"").send().await,
        ),
        (
            "modified-since past",
            copy().copy_source_if_modified_since(past).send().await,
        ),
        (
            "unmodified-since future",
            copy().copy_source_if_unmodified_since(future).send().await,
        ),
    ] {
        result.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    }
}

#[tokio::test]
async fn malformed_missing_and_forbidden_sources() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("copy-bad");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "src", b"x").await;
    let raw_copy = |source: &str| {
        s.raw("PUT", &object_path(&bucket, "dst"))
            .header("x-amz-copy-source", source)
            .sign_v4(s.admin_keys())
            .send()
    };
    for bad in [
        "just-a-bucket",
        "/",
        &format!("{bucket}/"),
        &format!("{bucket}/src?x=1"),
    ] {
        raw_copy(bad).await.assert_error(400, "InvalidArgument");
    }
    // Not a version id Coffer issues; one it could have, naming nothing.
    raw_copy(&format!("{bucket}/src?versionId=abc"))
        .await
        .assert_error(400, "InvalidArgument");
    raw_copy(&format!(
        "{bucket}/src?versionId=7fffffffffffffff0123456789abcdef"
    ))
    .await
    .assert_error(404, "NoSuchVersion");
    raw_copy(&format!("{bucket}/src?versionId=null"))
        .await
        .assert_success();
    raw_copy(&format!("{bucket}/missing"))
        .await
        .assert_error(404, "NoSuchKey");
    raw_copy(&format!("{}/src", unique_bucket("nobucket")))
        .await
        .assert_error(404, "NoSuchBucket");

    // Another account's private object, and another account copying into our bucket.
    let other = s.create_account(&unique_bucket("copier")).await;
    let oc = s.client_for(&other);
    let theirs = unique_bucket("copy-theirs");
    create_bucket(&oc, &theirs).await;
    put(&oc, &theirs, "secret", b"secret").await;
    let err = sdk_err(
        copy_to(&c, &bucket, "stolen", &format!("{theirs}/secret"))
            .send()
            .await,
    );
    assert_eq!(
        err.code.as_deref(),
        Some("AccessDenied"),
        "read on the source"
    );
    let err = sdk_err(
        copy_to(&oc, &bucket, "planted", &format!("{theirs}/secret"))
            .send()
            .await,
    );
    assert_eq!(
        err.code.as_deref(),
        Some("AccessDenied"),
        "write on the target"
    );
    // Read access granted: the copy works, and belongs to the copier.
    oc.put_object_acl()
        .bucket(&theirs)
        .key("secret")
        .acl(ObjectCannedAcl::AuthenticatedRead)
        .send()
        .await
        .expect("share");
    copy_to(&c, &bucket, "shared", &format!("{theirs}/secret"))
        .send()
        .await
        .expect("copy of a readable object");
    assert_eq!(get(&c, &bucket, "shared").await, b"secret");
}

#[tokio::test]
async fn the_copy_gets_the_requests_acl_not_the_sources() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("copy-acl");
    create_bucket(&c, &bucket).await;
    c.put_object()
        .bucket(&bucket)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("put public");
    let anonymous = |key: &str| s.raw("GET", &object_path(&bucket, key)).send();
    assert_eq!(anonymous("public").await.status, 200);
    copy_to(&c, &bucket, "private-copy", &format!("{bucket}/public"))
        .send()
        .await
        .expect("copy");
    anonymous("private-copy")
        .await
        .assert_error(403, "AccessDenied");
    copy_to(&c, &bucket, "public-copy", &format!("{bucket}/public"))
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("copy with x-amz-acl");
    assert_eq!(anonymous("public-copy").await.body, b"hello");
    // Conditional copy: create only.
    let err = sdk_err(
        copy_to(&c, &bucket, "public-copy", &format!("{bucket}/public"))
            .if_none_match("*")
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("PreconditionFailed"));
}
