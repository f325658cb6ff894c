//! What policy modules see of versions and tags (contract `coffer:policy@0.3.0`) and of
//! how a request arrived and the bucket's policy (0.4.0), through the real server: the `public-if-tagged` example publishing objects by tag, the request's
//! version id, object tags and requested tags on every path that reads or sets tags, the
//! default module's `DeleteObjectVersion` rule, and a module built against 0.2.0 still
//! deciding after the upgrade.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketCannedAcl, Delete, ObjectIdentifier, Tag, Tagging, TaggingDirective,
};
use coffer_tests::raw::{RawResponse, object_path};
use coffer_tests::{TestServer, policy_module, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::policies::{api_attach, api_put_module, assert_status, eventually};
use crate::post_object::{as_refs, form_body, post, sigv4_fields};
use crate::support::{PROPAGATION, create_bucket, put, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    shared(&SERVER, || {
        TestServer::builder().arg("--policy-poll-ms").arg("200")
    })
    .await
}

/// Stores policy module `module` under a unique name and attaches it to `bucket` with
/// the admin API (the server applies it at once).
async fn attach(s: &TestServer, bucket: &str, module: &str) {
    let name = unique_bucket(module);
    assert_status(&api_put_module(s, &name, &policy_module(module)).await, 200);
    assert_status(&api_attach(s, bucket, &name, "null").await, 200);
}

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    Tagging::builder()
        .set_tag_set(Some(
            pairs
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag"))
                .collect(),
        ))
        .build()
        .expect("tagging")
}

async fn anonymous(s: &TestServer, method: &str, bucket: &str, key: &str) -> RawResponse {
    s.raw(method, &object_path(bucket, key)).send().await
}

/// The example `public-if-tagged`: an object tagged `public=true` is readable without
/// credentials, an untagged one is not, and tagging or untagging changes the answer at
/// once (the tags are part of what the module decides on, so no cached answer lingers).
#[tokio::test]
async fn tagged_objects_are_public_and_retagging_changes_the_answer() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("public-tagged");
    create_bucket(&c, &bucket).await;
    c.put_object()
        .bucket(&bucket)
        .key("tagged.txt")
        .tagging("public=true")
        .body(ByteStream::from_static(b"tagged"))
        .send()
        .await
        .expect("put tagged");
    put(&c, &bucket, "plain.txt", b"plain").await;
    attach(s, &bucket, "public-if-tagged").await;

    let r = anonymous(s, "GET", &bucket, "tagged.txt").await;
    r.assert_success();
    assert_eq!(r.body, b"tagged");
    anonymous(s, "HEAD", &bucket, "tagged.txt")
        .await
        .assert_success();
    anonymous(s, "GET", &bucket, "plain.txt")
        .await
        .assert_error(403, "AccessDenied");

    // Tagging publishes, untagging withdraws; any other value is not public.
    let retag = |key: &'static str, pairs: &'static [(&'static str, &'static str)]| {
        c.put_object_tagging()
            .bucket(&bucket)
            .key(key)
            .tagging(tagging(pairs))
            .send()
    };
    retag("plain.txt", &[("public", "true")])
        .await
        .expect("tag plain");
    let r = anonymous(s, "GET", &bucket, "plain.txt").await;
    r.assert_success();
    assert_eq!(r.body, b"plain");
    c.delete_object_tagging()
        .bucket(&bucket)
        .key("tagged.txt")
        .send()
        .await
        .expect("untag");
    anonymous(s, "GET", &bucket, "tagged.txt")
        .await
        .assert_error(403, "AccessDenied");
    retag("plain.txt", &[("public", "yes")])
        .await
        .expect("retag plain");
    anonymous(s, "GET", &bucket, "plain.txt")
        .await
        .assert_error(403, "AccessDenied");

    // The tag opens reads only: anonymous writes and tagging stay refused, and the owner
    // keeps the standard rights.
    retag("plain.txt", &[("public", "true")])
        .await
        .expect("tag plain again");
    anonymous(s, "DELETE", &bucket, "plain.txt")
        .await
        .assert_error(403, "AccessDenied");
    anonymous(s, "GET", &bucket, "plain.txt")
        .await
        .assert_success();
    assert_eq!(
        crate::support::get(&c, &bucket, "tagged.txt").await,
        b"tagged"
    );
}

/// The last line of the server log naming `needle`, polled for (the log is written
/// asynchronously).
async fn logged(s: &TestServer, needle: &str) -> bool {
    eventually(PROPAGATION, || async { s.stderr_log().contains(needle) }).await
}

/// Every path that reads or sets tags hands the module the version id the request
/// addresses, the decided object's tags and the requested tags (the `echo-tags` fixture
/// denies each request and logs what it saw).
#[tokio::test]
async fn modules_see_the_version_id_the_object_tags_and_the_requested_tags() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("echo-tags");
    create_bucket(&c, &bucket).await;
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .tagging("x=1&y=")
        .body(ByteStream::from_static(b"k"))
        .send()
        .await
        .expect("put k");
    attach(s, &bucket, "echo-tags").await;
    let keys = s.admin_keys();
    let expect = |line: String| async move {
        assert!(logged(s, &line).await, "not logged: {line}");
    };

    s.raw("GET", &object_path(&bucket, "k"))
        .query("versionId=null")
        .sign_v4(keys)
        .send()
        .await
        .assert_error(403, "AccessDenied");
    expect("GetObject k: version null; object tags x=1,y=; request tags ".into()).await;

    s.raw("PUT", &object_path(&bucket, "new"))
        .header("x-amz-tagging", "a=1&b=two%20words")
        .body("data")
        .sign_v4(keys)
        .send()
        .await
        .assert_error(403, "AccessDenied");
    expect("PutObject new: version -; object tags -; request tags a=1,b=two words".into()).await;

    let e = sdk_err(
        c.put_object_tagging()
            .bucket(&bucket)
            .key("k")
            .tagging(tagging(&[("c", "3")]))
            .send()
            .await,
    );
    e.assert(403, "AccessDenied");
    expect("PutObjectTagging k: version -; object tags x=1,y=; request tags c=3".into()).await;

    let e = sdk_err(
        c.copy_object()
            .bucket(&bucket)
            .key("copy")
            .copy_source(format!("{bucket}/k"))
            .tagging_directive(TaggingDirective::Replace)
            .tagging("d=4")
            .send()
            .await,
    );
    e.assert(403, "AccessDenied");
    expect("CopyObject copy: version -; object tags -; request tags d=4".into()).await;

    let e = sdk_err(
        c.create_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .tagging("e=5")
            .send()
            .await,
    );
    e.assert(403, "AccessDenied");
    expect("CreateMultipartUpload mp: version -; object tags -; request tags e=5".into()).await;

    let doc = "<Tagging><TagSet><Tag><Key>f</Key><Value>6</Value></Tag></TagSet></Tagging>";
    let conditions = [
        serde_json::json!({"bucket": bucket}),
        serde_json::json!({"key": "form"}),
        serde_json::json!({"tagging": doc}),
    ];
    let fields = sigv4_fields(
        s,
        600,
        &conditions,
        &[("key", "form".into()), ("tagging", doc.into())],
    );
    post(s, &bucket, form_body(&as_refs(&fields), "f.txt", b"form"))
        .await
        .assert_error(403, "AccessDenied");
    expect("PostObject form: version -; object tags -; request tags f=6".into()).await;

    s.raw("DELETE", &object_path(&bucket, "k"))
        .query("versionId=null")
        .sign_v4(keys)
        .send()
        .await
        .assert_error(403, "AccessDenied");
    expect("DeleteObject k: version null; object tags -; request tags ".into()).await;
}

/// With ACLs, deleting a *version* (S3's `s3:DeleteObjectVersion`) is the bucket owner's
/// alone, even for a grantee of bucket `WRITE` who may delete the key itself; a
/// DeleteObjects entry naming a version is decided the same way.
#[tokio::test]
async fn only_the_bucket_owner_deletes_versions() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("delete-version");
    c.create_bucket()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .expect("create bucket");
    for key in ["a", "b", "c"] {
        put(&c, &bucket, key, b"x").await;
    }
    let alt = s.create_account("delver-alt").await;
    let other = s.client_for(&alt);
    let e = sdk_err(
        other
            .delete_object()
            .bucket(&bucket)
            .key("a")
            .version_id("null")
            .send()
            .await,
    );
    e.assert(403, "AccessDenied");
    let out = other
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("b")
                        .version_id("null")
                        .build()
                        .expect("identifier"),
                )
                .objects(ObjectIdentifier::builder().key("c").build().expect("id"))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("delete objects");
    let refused: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or(""), e.code().unwrap_or("")))
        .collect();
    assert_eq!(refused, [("b", "AccessDenied")]);
    let deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["c"]);
    // The key itself (no version) is the grantee's to delete; the owner deletes versions.
    other
        .delete_object()
        .bucket(&bucket)
        .key("a")
        .send()
        .await
        .expect("delete a");
    c.delete_object()
        .bucket(&bucket)
        .key("b")
        .version_id("null")
        .send()
        .await
        .expect("owner deletes b's null version");
    assert!(!crate::support::exists(&c, &bucket, "b").await);
}

/// A module built against `coffer:policy@0.2.0` (before versions and tags were shown)
/// stored and attached after the upgrade decides as before: reads and tagged writes
/// allowed, deletes and `private/` keys refused.
#[tokio::test]
async fn a_module_of_contract_0_2_keeps_deciding() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("legacy-v0-2");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"before").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("legacy.wasm");
    std::fs::write(&path, policy_module("legacy-v0-2")).expect("writing the module");
    let name = unique_bucket("legacy-v0-2-mod");
    let path = path.to_str().expect("utf-8 path");
    let stored = s.admin_ok(&["policy", "put", &name, path]).await;
    assert!(stored.contains("contract 0.2.0"), "{stored}");
    s.admin_ok(&["policy", "attach", &bucket, &name]).await;
    // The CLI changed the database; the server notices at its next poll.
    let delete = || c.delete_object().bucket(&bucket).key("k").send();
    assert!(
        eventually(PROPAGATION, || async { delete().await.is_err() }).await,
        "the module was never applied"
    );
    let e = sdk_err(delete().await);
    e.assert(403, "AccessDenied");
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .tagging("public=true")
        .body(ByteStream::from_static(b"after"))
        .send()
        .await
        .expect("a tagged write is allowed");
    assert_eq!(crate::support::get(&c, &bucket, "k").await, b"after");
    let e = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("private/k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    e.assert(403, "AccessDenied");
    s.admin_ok(&["policy", "detach", &bucket]).await;
    s.admin_ok(&["policy", "delete", &name]).await;
}

/// What contract 0.4.0 added reaches modules through the server: the request context
/// (no TLS here, the signature's version, kind and age, the listing parameters only) and
/// the bucket's compiled policy (the `echo-context` fixture denies each request and logs
/// what it saw).
#[tokio::test]
async fn modules_see_how_the_request_arrived_and_the_bucket_policy() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("echo-context");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"k").await;
    attach(s, &bucket, "echo-context").await;
    let keys = s.admin_keys();
    s.raw("GET", &format!("/{bucket}"))
        .query("list-type=2&prefix=2024%2F&max-keys=5&continuation-token=abc")
        .sign_v4(keys)
        .send()
        .await
        .assert_error(403, "AccessDenied");
    // Signed just now: an age of 0 or 1 s.
    let line = "ListObjectsV2: tls false; signature AWS4-HMAC-SHA256 REST-HEADER";
    assert!(logged(s, line).await, "not logged: {line}");
    assert!(
        logged(s, "; query prefix=2024/,max-keys=5; policy -; time ").await,
        "the listing parameters, and only those, reach the module"
    );
    s.raw("GET", &object_path(&bucket, "k"))
        .sign_v2(keys)
        .send()
        .await
        .assert_error(403, "AccessDenied");
    assert!(logged(s, "GetObject: tls false; signature AWS REST-HEADER").await);
    anonymous(s, "GET", &bucket, "k")
        .await
        .assert_error(403, "AccessDenied");
    assert!(logged(s, "GetObject: tls false; signature -; query ; policy -").await);

    // A bucket policy reaches the module compiled (put before the module is attached:
    // the default module decides PutBucketPolicy, the owner's).
    let bucket = unique_bucket("echo-policy");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"k").await;
    c.put_bucket_policy()
        .bucket(&bucket)
        .policy(format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
    attach(s, &bucket, "echo-context").await;
    anonymous(s, "GET", &bucket, "k")
        .await
        .assert_error(403, "AccessDenied");
    assert!(
        eventually(PROPAGATION, || async {
            s.stderr_log().lines().any(|l| {
                l.contains("GetObject: tls false; signature -; query ; policy ")
                    && l.contains(" bytes; time ")
            })
        })
        .await,
        "the compiled policy reaches the module"
    );
}
