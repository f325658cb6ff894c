//! Object and bucket tagging (issue 13, item 2): the tagging calls per version, tags
//! given on PutObject, POST Object, CreateMultipartUpload and CopyObject (with the
//! tagging directive), `x-amz-tagging-count`, S3's limits and errors, and who may tag.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, Tag, Tagging,
    TaggingDirective,
};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::post_object::{as_refs, form_body, post, sigv4_fields};
use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
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

async fn tags_of(
    c: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Vec<(String, String)> {
    c.get_object_tagging()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("get tagging of {key}: {e:?}"))
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn tagging_count(s: &TestServer, bucket: &str, key: &str) -> Option<String> {
    let resp = s
        .raw("HEAD", &object_path(bucket, key))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(resp.status, 200);
    resp.header("x-amz-tagging-count")
}

#[tokio::test]
async fn object_tags_are_put_read_and_deleted_per_version() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("tagobj");
    create_bucket(&c, &bucket).await;
    crate::support::set_versioning(&c, &bucket, BucketVersioningStatus::Enabled).await;
    let v1 = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .tagging("project=alpha&team=storage%20ops")
        .body(ByteStream::from_static(b"one"))
        .send()
        .await
        .expect("put with tags")
        .version_id
        .expect("v1");
    assert_eq!(
        tags_of(&c, &bucket, "k", None).await,
        pairs(&[("project", "alpha"), ("team", "storage ops")])
    );
    assert_eq!(tagging_count(s, &bucket, "k").await.as_deref(), Some("2"));
    let get = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("get");
    assert_eq!(get.tag_count(), Some(2));

    // A new version starts without the old one's tags.
    put(&c, &bucket, "k", b"two").await;
    assert!(tags_of(&c, &bucket, "k", None).await.is_empty());
    assert_eq!(tagging_count(s, &bucket, "k").await, None);

    // Tags of one version, by id.
    c.put_object_tagging()
        .bucket(&bucket)
        .key("k")
        .version_id(&v1)
        .tagging(tagging(&[("state", "archived")]))
        .send()
        .await
        .expect("tag v1");
    assert_eq!(
        tags_of(&c, &bucket, "k", Some(&v1)).await,
        pairs(&[("state", "archived")])
    );
    assert!(tags_of(&c, &bucket, "k", None).await.is_empty());
    let out = c
        .delete_object_tagging()
        .bucket(&bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect("delete tags");
    assert_eq!(out.version_id(), Some(v1.as_str()));
    assert!(tags_of(&c, &bucket, "k", Some(&v1)).await.is_empty());

    // Missing objects and versions.
    let e = sdk_err(
        c.get_object_tagging()
            .bucket(&bucket)
            .key("none")
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchKey"));
}

#[tokio::test]
async fn tags_come_with_uploads_copies_and_forms() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("tagwrite");
    create_bucket(&c, &bucket).await;
    // Multipart: tags given at creation land on the completed object.
    let upload = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .tagging("kind=multipart")
        .send()
        .await
        .expect("create");
    let id = upload.upload_id().expect("id");
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"part"))
        .send()
        .await
        .expect("part");
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().expect("etag"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(
        tags_of(&c, &bucket, "mp", None).await,
        pairs(&[("kind", "multipart")])
    );

    // Copies: the source's tags by default, the request's with REPLACE.
    c.copy_object()
        .bucket(&bucket)
        .key("copied")
        .copy_source(format!("{bucket}/mp"))
        .tagging("ignored=yes")
        .send()
        .await
        .expect("copy");
    assert_eq!(
        tags_of(&c, &bucket, "copied", None).await,
        pairs(&[("kind", "multipart")])
    );
    c.copy_object()
        .bucket(&bucket)
        .key("replaced")
        .copy_source(format!("{bucket}/mp"))
        .tagging_directive(TaggingDirective::Replace)
        .tagging("kind=copy")
        .send()
        .await
        .expect("copy with new tags");
    assert_eq!(
        tags_of(&c, &bucket, "replaced", None).await,
        pairs(&[("kind", "copy")])
    );
    let resp = s
        .raw("PUT", &object_path(&bucket, "bad-directive"))
        .header("x-amz-copy-source", &format!("{bucket}/mp"))
        .header("x-amz-tagging-directive", "MERGE")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "InvalidArgument");

    // A browser form: the `tagging` field holds a Tagging document.
    let doc = "<Tagging><TagSet><Tag><Key>source</Key><Value>form</Value></Tag></TagSet></Tagging>";
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
    let resp = post(
        s,
        &bucket,
        form_body(&as_refs(&fields), "f.txt", b"form body"),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(
        tags_of(&c, &bucket, "form", None).await,
        pairs(&[("source", "form")])
    );
}

#[tokio::test]
async fn tag_limits_and_errors_are_s3s() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("taglimits");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"x").await;
    let put_tags = |t: Tagging| {
        c.put_object_tagging()
            .bucket(&bucket)
            .key("k")
            .tagging(t)
            .send()
    };
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = eleven
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let e = sdk_err(put_tags(tagging(&refs)).await);
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(400), Some("BadRequest")),
        "{}",
        e.debug
    );
    let ten = &refs[..10];
    put_tags(tagging(ten)).await.expect("ten tags are allowed");
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    for (bad, what) in [
        (tagging(&[(long_key.as_str(), "v")]), "key too long"),
        (tagging(&[("k", long_value.as_str())]), "value too long"),
        (tagging(&[("dup", "1"), ("dup", "2")]), "duplicate keys"),
        (tagging(&[("aws:system", "x")]), "aws: prefix"),
        (tagging(&[("bad<>key", "x")]), "characters"),
    ] {
        let e = sdk_err(put_tags(bad).await);
        assert_eq!(e.code.as_deref(), Some("InvalidTag"), "{what}: {}", e.debug);
    }
    // The longest key and value are fine; Unicode letters count as characters.
    let key128 = "ä".repeat(128);
    let value256 = "é".repeat(256);
    put_tags(tagging(&[(key128.as_str(), value256.as_str())]))
        .await
        .expect("longest tag");
    // A malformed document and a malformed header.
    let resp = s
        .raw("PUT", &object_path(&bucket, "k"))
        .query("tagging")
        .body(b"<Tagging><TagSet><Tag><Key>x</Key>".to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "MalformedXML");
    let e = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("h")
            .tagging("a=1&a=2")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("InvalidArgument"), "{}", e.debug);
    let e = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("h")
            .tagging(
                (0..11)
                    .map(|i| format!("k{i}=v"))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("BadRequest"), "{}", e.debug);
    // Nothing was stored by the refused writes.
    let e = sdk_err(c.head_object().bucket(&bucket).key("h").send().await);
    assert_eq!(e.status, Some(404));
}

#[tokio::test]
async fn bucket_tags_are_the_owners() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("tagbucket");
    create_bucket(&c, &bucket).await;
    let e = sdk_err(c.get_bucket_tagging().bucket(&bucket).send().await);
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(404), Some("NoSuchTagSet"))
    );
    c.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(tagging(&[("cost-center", "42"), ("env", "prod")]))
        .send()
        .await
        .expect("put bucket tags");
    let out = c
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .expect("get bucket tags");
    let got: Vec<_> = out.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(got, vec![("cost-center", "42"), ("env", "prod")]);
    let fifty_one: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = fifty_one
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let e = sdk_err(
        c.put_bucket_tagging()
            .bucket(&bucket)
            .tagging(tagging(&refs))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("BadRequest"), "{}", e.debug);
    c.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(tagging(&refs[..50]))
        .send()
        .await
        .expect("fifty tags");

    // Someone else: refused, even with read access to the bucket.
    let alt = s.create_account("tag-alt").await;
    let other = s.client_for(&alt);
    let e = sdk_err(other.get_bucket_tagging().bucket(&bucket).send().await);
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));

    c.delete_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete bucket tags");
    let e = sdk_err(c.get_bucket_tagging().bucket(&bucket).send().await);
    assert_eq!(e.code.as_deref(), Some("NoSuchTagSet"));
}

#[tokio::test]
async fn who_may_read_and_write_object_tags() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("tagacl");
    create_bucket(&c, &bucket).await;
    c.put_object()
        .bucket(&bucket)
        .key("shared")
        .acl(ObjectCannedAcl::AuthenticatedRead)
        .tagging("a=1")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    let alt = s.create_account("tagacl-alt").await;
    let other = s.client_for(&alt);
    // READ on the object: the tags can be read, not changed.
    assert_eq!(
        tags_of(&other, &bucket, "shared", None).await,
        pairs(&[("a", "1")])
    );
    let e = sdk_err(
        other
            .put_object_tagging()
            .bucket(&bucket)
            .key("shared")
            .tagging(tagging(&[("a", "2")]))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
    let e = sdk_err(
        other
            .delete_object_tagging()
            .bucket(&bucket)
            .key("shared")
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
    assert_eq!(
        tags_of(&c, &bucket, "shared", None).await,
        pairs(&[("a", "1")])
    );
}
