//! Object versioning (issue 13, item 1): bucket states, versions on every write, delete
//! markers, the `null` version under suspension, reads, copies, deletes and listings by
//! version, and concurrent writers and deleters of one key.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, ObjectAttributes,
    ObjectIdentifier, VersioningConfiguration,
};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, etag_of, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, get, put, set_versioning};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

/// A new bucket with versioning enabled.
async fn versioned_bucket(c: &Client, prefix: &str) -> String {
    let bucket = unique_bucket(prefix);
    create_bucket(c, &bucket).await;
    set_versioning(c, &bucket, BucketVersioningStatus::Enabled).await;
    bucket
}

/// Puts `data` and returns the version id the server answered with.
async fn put_version(c: &Client, bucket: &str, key: &str, data: &[u8]) -> Option<String> {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("putting {bucket}/{key}: {e:?}"))
        .version_id
}

async fn get_version(c: &Client, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("getting {bucket}/{key}@{version}: {e:?}"));
    assert_eq!(out.version_id(), Some(version));
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

/// (key, version id, is latest, is delete marker) of every version, in listing order.
async fn history(c: &Client, bucket: &str) -> Vec<(String, String, bool, bool)> {
    let mut all = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let out = c
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .expect("list object versions");
        let mut page: Vec<(String, String, bool, bool, String)> = Vec::new();
        for v in out.versions() {
            page.push((
                v.key().unwrap_or_default().into(),
                v.version_id().unwrap_or_default().into(),
                v.is_latest().unwrap_or_default(),
                false,
                v.last_modified().map(|t| t.to_string()).unwrap_or_default(),
            ));
        }
        for m in out.delete_markers() {
            page.push((
                m.key().unwrap_or_default().into(),
                m.version_id().unwrap_or_default().into(),
                m.is_latest().unwrap_or_default(),
                true,
                String::new(),
            ));
        }
        // The SDK separates the two kinds; the wire order is key, then newest first, which
        // for one key is version-id order reversed only for ids that carry a row number.
        page.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| newer_first(&a.1, &b.1)));
        all.extend(page.into_iter().map(|(k, v, l, m, _)| (k, v, l, m)));
        if out.is_truncated() != Some(true) {
            return all;
        }
        key_marker = out.next_key_marker().map(str::to_string);
        version_marker = out.next_version_id_marker().map(str::to_string);
    }
}

/// Orders Coffer's version ids newest first (`null` sorts by its place, which the listing
/// gives; tests that mix `null` in compare sets instead).
fn newer_first(a: &str, b: &str) -> std::cmp::Ordering {
    b.cmp(a)
}

#[tokio::test]
async fn versioning_states_are_set_and_read_by_the_owner_only() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("vstate");
    create_bucket(&c, &bucket).await;
    let out = c
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("get versioning");
    assert_eq!(out.status(), None, "a new bucket is unversioned");

    set_versioning(&c, &bucket, BucketVersioningStatus::Enabled).await;
    let out = c.get_bucket_versioning().bucket(&bucket).send().await;
    assert_eq!(
        out.expect("get").status(),
        Some(&BucketVersioningStatus::Enabled)
    );
    set_versioning(&c, &bucket, BucketVersioningStatus::Suspended).await;
    let out = c.get_bucket_versioning().bucket(&bucket).send().await;
    assert_eq!(
        out.expect("get").status(),
        Some(&BucketVersioningStatus::Suspended)
    );

    // Not the owner: refused.
    let alt = s.create_account("vstate-alt").await;
    let other = s.client_for(&alt);
    let e = sdk_err(other.get_bucket_versioning().bucket(&bucket).send().await);
    assert_eq!(e.code.as_deref(), Some("AccessDenied"), "{}", e.debug);
    let e = sdk_err(
        other
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("AccessDenied"), "{}", e.debug);

    // Bad documents.
    let put_raw = |body: &str| {
        s.raw("PUT", &format!("/{bucket}"))
            .query("versioning")
            .body(body.as_bytes().to_vec())
            .sign_v4(s.admin_keys())
            .send()
    };
    for body in [
        "<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>",
        "<Versioning/>",
    ] {
        put_raw(body).await.assert_error(400, "MalformedXML");
    }
    // MFA delete cannot be honoured: refused, never ignored.
    put_raw("<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>")
        .await
        .assert_error(501, "NotImplemented");
    // An empty configuration changes nothing.
    let resp = put_raw("<VersioningConfiguration/>").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let out = c.get_bucket_versioning().bucket(&bucket).send().await;
    assert_eq!(
        out.expect("get").status(),
        Some(&BucketVersioningStatus::Suspended)
    );
}

#[tokio::test]
async fn every_write_keeps_a_version_that_stays_readable() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vkeep").await;
    let mut ids = Vec::new();
    for body in [b"one".as_slice(), b"two", b"three"] {
        let id = put_version(&c, &bucket, "doc", body)
            .await
            .expect("version id");
        assert_eq!(id.len(), 32, "{id}");
        ids.push(id);
    }
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    assert_eq!(get(&c, &bucket, "doc").await, b"three");
    assert_eq!(get_version(&c, &bucket, "doc", &ids[0]).await, b"one");
    assert_eq!(get_version(&c, &bucket, "doc", &ids[1]).await, b"two");
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("doc")
        .version_id(&ids[0])
        .send()
        .await
        .expect("head a version");
    assert_eq!(head.e_tag(), Some(etag_of(b"one").as_str()));
    assert_eq!(head.version_id(), Some(ids[0].as_str()));
    let current = c
        .head_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .expect("head");
    assert_eq!(current.version_id(), Some(ids[2].as_str()));

    // The listing: newest first, only the newest is latest.
    let versions = history(&c, &bucket).await;
    let expected: Vec<(String, String, bool, bool)> = ids
        .iter()
        .rev()
        .enumerate()
        .map(|(i, id)| ("doc".to_string(), id.clone(), i == 0, false))
        .collect();
    assert_eq!(versions, expected);
    // Raw XML order and fields.
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("versions")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    let text = resp.text();
    let first = text.find(&ids[2]).expect("newest listed");
    let last = text.find(&ids[0]).expect("oldest listed");
    assert!(first < last, "{text}");
    assert!(text.contains("<IsLatest>true</IsLatest>"), "{text}");

    // ACLs and attributes per version.
    let acl = c
        .get_object_acl()
        .bucket(&bucket)
        .key("doc")
        .version_id(&ids[1])
        .send()
        .await
        .expect("acl of a version");
    assert!(acl.owner().is_some());
    let attrs = c
        .get_object_attributes()
        .bucket(&bucket)
        .key("doc")
        .version_id(&ids[0])
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::ObjectSize)
        .send()
        .await
        .expect("attributes of a version");
    assert_eq!(attrs.object_size(), Some(3));
    assert_eq!(attrs.version_id(), Some(ids[0].as_str()));

    // A version can be deleted for good; the bucket keeps the others.
    let out = c
        .delete_object()
        .bucket(&bucket)
        .key("doc")
        .version_id(&ids[1])
        .send()
        .await
        .expect("delete a version");
    assert_eq!(out.version_id(), Some(ids[1].as_str()));
    assert_eq!(out.delete_marker(), None);
    let e = sdk_err(
        c.get_object()
            .bucket(&bucket)
            .key("doc")
            .version_id(&ids[1])
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(404), Some("NoSuchVersion"))
    );
    assert_eq!(history(&c, &bucket).await.len(), 2);

    // Deleting the current version makes the next newest current.
    c.delete_object()
        .bucket(&bucket)
        .key("doc")
        .version_id(&ids[2])
        .send()
        .await
        .expect("delete the current version");
    assert_eq!(get(&c, &bucket, "doc").await, b"one");
    assert_eq!(
        history(&c, &bucket).await,
        vec![("doc".to_string(), ids[0].clone(), true, false)]
    );
}

#[tokio::test]
async fn delete_markers_hide_a_key_until_removed() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vmarker").await;
    let v1 = put_version(&c, &bucket, "k", b"data").await.expect("id");
    let out = c
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("delete");
    assert_eq!(out.delete_marker(), Some(true));
    let marker = out.version_id().expect("marker id").to_string();
    assert_ne!(marker, v1);

    // GET of the key: 404 with the marker's headers.
    let resp = s
        .raw("GET", &object_path(&bucket, "k"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(404, "NoSuchKey");
    assert_eq!(resp.header("x-amz-delete-marker").as_deref(), Some("true"));
    assert_eq!(
        resp.header("x-amz-version-id").as_deref(),
        Some(marker.as_str())
    );
    // GET of the marker by id: 405.
    let resp = s
        .raw("GET", &object_path(&bucket, "k"))
        .query(&format!("versionId={marker}"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(405, "MethodNotAllowed");
    assert_eq!(resp.header("x-amz-delete-marker").as_deref(), Some("true"));
    assert!(resp.header("last-modified").is_some());
    let resp = s
        .raw("HEAD", &object_path(&bucket, "k"))
        .query(&format!("versionId={marker}"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(resp.status, 405);
    // The old data is still there.
    assert_eq!(get_version(&c, &bucket, "k", &v1).await, b"data");
    // Listings skip the key; the version listing shows the marker as latest.
    let listed = c
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    assert!(listed.contents().is_empty(), "{listed:?}");
    assert_eq!(
        history(&c, &bucket).await,
        vec![
            ("k".to_string(), marker.clone(), true, true),
            ("k".to_string(), v1.clone(), false, false),
        ]
    );
    // A bucket with versions left is not empty.
    let e = sdk_err(c.delete_bucket().bucket(&bucket).send().await);
    assert_eq!(e.code.as_deref(), Some("BucketNotEmpty"));

    // Conditional writes see a delete marker as no object.
    let e = sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .if_match(etag_of(b"data"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchKey"), "{}", e.debug);

    // Removing the marker brings the object back.
    let out = c
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .expect("delete the marker");
    assert_eq!(out.delete_marker(), Some(true));
    assert_eq!(out.version_id(), Some(marker.as_str()));
    assert_eq!(get(&c, &bucket, "k").await, b"data");

    let created = c
        .put_object()
        .bucket(&bucket)
        .key("gone")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert!(created.is_ok(), "{created:?}");
    c.delete_object()
        .bucket(&bucket)
        .key("gone")
        .send()
        .await
        .expect("delete");
    let again = c
        .put_object()
        .bucket(&bucket)
        .key("gone")
        .if_none_match("*")
        .body(ByteStream::from_static(b"y"))
        .send()
        .await;
    assert!(again.is_ok(), "a delete marker is no object: {again:?}");

    // Every version removed: the bucket can go.
    for (key, id, _, _) in history(&c, &bucket).await {
        c.delete_object()
            .bucket(&bucket)
            .key(&key)
            .version_id(&id)
            .send()
            .await
            .expect("delete version");
    }
    c.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete the emptied bucket");
}

#[tokio::test]
async fn suspended_buckets_keep_one_null_version() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("vsuspend");
    create_bucket(&c, &bucket).await;
    // Before versioning: the object is the null version, and responses carry no id.
    assert_eq!(put_version(&c, &bucket, "k", b"plain").await, None);
    set_versioning(&c, &bucket, BucketVersioningStatus::Enabled).await;
    let v1 = put_version(&c, &bucket, "k", b"versioned")
        .await
        .expect("id");
    assert_eq!(get_version(&c, &bucket, "k", "null").await, b"plain");

    set_versioning(&c, &bucket, BucketVersioningStatus::Suspended).await;
    assert_eq!(
        put_version(&c, &bucket, "k", b"null 1").await.as_deref(),
        Some("null")
    );
    assert_eq!(
        put_version(&c, &bucket, "k", b"null 2").await.as_deref(),
        Some("null")
    );
    // The null version was replaced twice; the id'd version stays.
    let h = history(&c, &bucket).await;
    assert_eq!(h.len(), 2, "{h:?}");
    assert!(
        h.contains(&("k".into(), "null".into(), true, false)),
        "{h:?}"
    );
    assert!(h.contains(&("k".into(), v1.clone(), false, false)), "{h:?}");
    assert_eq!(get(&c, &bucket, "k").await, b"null 2");

    // A delete adds a null delete marker, replacing the null version.
    let out = c
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("delete");
    assert_eq!(out.delete_marker(), Some(true));
    assert_eq!(out.version_id(), Some("null"));
    let h = history(&c, &bucket).await;
    assert_eq!(
        h,
        vec![
            ("k".into(), "null".into(), true, true),
            ("k".into(), v1.clone(), false, false)
        ]
    );
    // Versions made while enabled are still readable and deletable.
    assert_eq!(get_version(&c, &bucket, "k", &v1).await, b"versioned");
}

#[tokio::test]
async fn version_ids_are_checked() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vids").await;
    put(&c, &bucket, "k", b"x").await;
    let e = sdk_err(
        c.get_object()
            .bucket(&bucket)
            .key("k")
            .version_id("not-a-version")
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(400), Some("InvalidArgument"))
    );
    let e = sdk_err(
        c.get_object()
            .bucket(&bucket)
            .key("k")
            .version_id("7fffffffffffffff0123456789abcdef")
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(404), Some("NoSuchVersion"))
    );
    // Another key's version id names nothing under this key.
    let other = put_version(&c, &bucket, "other", b"o").await.expect("id");
    let e = sdk_err(
        c.get_object()
            .bucket(&bucket)
            .key("k")
            .version_id(&other)
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchVersion"));
    let e = sdk_err(
        c.delete_object()
            .bucket(&bucket)
            .key("k")
            .version_id("zzz")
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("InvalidArgument"));
    // A well-formed id that names nothing: deleted already, as S3 answers.
    let out = c
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .version_id("7fffffffffffffff0123456789abcdef")
        .send()
        .await;
    assert!(out.is_ok(), "{out:?}");
    // A version-id marker without a key marker.
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query(&format!("versions&version-id-marker={other}"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn copies_read_and_write_versions() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vcopy").await;
    let old = put_version(&c, &bucket, "k", b"old").await.expect("id");
    put_version(&c, &bucket, "k", b"new").await.expect("id");
    // Restoring an older version: copy it onto its own key.
    let out = c
        .copy_object()
        .bucket(&bucket)
        .key("k")
        .copy_source(format!("{bucket}/k?versionId={old}"))
        .send()
        .await
        .expect("copy a version onto its key");
    assert_eq!(out.copy_source_version_id(), Some(old.as_str()));
    let restored = out.version_id().expect("new version id").to_string();
    assert_ne!(restored, old);
    assert_eq!(get(&c, &bucket, "k").await, b"old");
    assert_eq!(history(&c, &bucket).await.len(), 3);

    // A delete marker cannot be a copy source.
    let marker = c
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("delete")
        .version_id
        .expect("marker id");
    let e = sdk_err(
        c.copy_object()
            .bucket(&bucket)
            .key("k2")
            .copy_source(format!("{bucket}/k?versionId={marker}"))
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(400), Some("InvalidRequest"))
    );
    let e = sdk_err(
        c.copy_object()
            .bucket(&bucket)
            .key("k2")
            .copy_source(format!("{bucket}/k"))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchKey"));

    // UploadPartCopy from a version, completing into a new version.
    let up = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .send()
        .await
        .expect("create upload");
    let upload_id = up.upload_id().expect("upload id");
    let part = c
        .upload_part_copy()
        .bucket(&bucket)
        .key("mp")
        .upload_id(upload_id)
        .part_number(1)
        .copy_source(format!("{bucket}/k?versionId={old}"))
        .send()
        .await
        .expect("upload part copy");
    assert_eq!(part.copy_source_version_id(), Some(old.as_str()));
    let etag = part
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("etag");
    let done = c
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let mp_version = done.version_id().expect("completed version").to_string();
    assert_eq!(get_version(&c, &bucket, "mp", &mp_version).await, b"old");
}

#[tokio::test]
async fn delete_objects_removes_versions_and_adds_markers() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vbatch").await;
    let a1 = put_version(&c, &bucket, "a", b"1").await.expect("id");
    let a2 = put_version(&c, &bucket, "a", b"2").await.expect("id");
    put_version(&c, &bucket, "b", b"1").await.expect("id");
    let ident = |key: &str, version: Option<&str>| {
        ObjectIdentifier::builder()
            .key(key)
            .set_version_id(version.map(str::to_string))
            .build()
            .expect("identifier")
    };
    let out = c
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .objects(ident("a", Some(&a1)))
                .objects(ident("b", None))
                .objects(ident("c", Some("bogus")))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("delete objects");
    let deleted: Vec<_> = out
        .deleted()
        .iter()
        .map(|d| {
            (
                d.key().unwrap_or_default().to_string(),
                d.version_id().map(str::to_string),
                d.delete_marker(),
                d.delete_marker_version_id().is_some(),
            )
        })
        .collect();
    assert_eq!(
        deleted,
        vec![
            ("a".to_string(), Some(a1.clone()), None, false),
            ("b".to_string(), None, Some(true), true),
        ]
    );
    let errors: Vec<_> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or_default(), e.code().unwrap_or_default()))
        .collect();
    assert_eq!(errors, vec![("c", "NoSuchVersion")]);
    let h = history(&c, &bucket).await;
    assert_eq!(h.len(), 3, "a2, b's marker, b's version: {h:?}");
    assert!(h.contains(&("a".into(), a2.clone(), true, false)));
    assert!(
        h.iter()
            .any(|(k, _, latest, marker)| k == "b" && *latest && *marker)
    );
}

#[tokio::test]
async fn version_listings_page_by_key_and_version_markers() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vpage").await;
    let mut expected = Vec::new();
    for key in ["dir/x", "dir/y", "k1", "k2"] {
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                put_version(&c, &bucket, key, format!("{key}{i}").as_bytes())
                    .await
                    .expect("id"),
            );
        }
        for (i, id) in ids.iter().rev().enumerate() {
            expected.push((key.to_string(), id.clone(), i == 0));
        }
    }
    // One entry per page, following NextKeyMarker/NextVersionIdMarker.
    let mut got = Vec::new();
    let (mut km, mut vm) = (None::<String>, None::<String>);
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= expected.len() + 1, "paging does not end");
        let out = c
            .list_object_versions()
            .bucket(&bucket)
            .max_keys(1)
            .set_key_marker(km.clone())
            .set_version_id_marker(vm.clone())
            .send()
            .await
            .expect("page");
        for v in out.versions() {
            got.push((
                v.key().unwrap_or_default().to_string(),
                v.version_id().unwrap_or_default().to_string(),
                v.is_latest().unwrap_or_default(),
            ));
        }
        if out.is_truncated() != Some(true) {
            break;
        }
        km = out.next_key_marker().map(str::to_string);
        vm = out.next_version_id_marker().map(str::to_string);
    }
    assert_eq!(got, expected);

    // Delimiter: the dir/ versions roll up into one common prefix.
    let out = c
        .list_object_versions()
        .bucket(&bucket)
        .delimiter("/")
        .send()
        .await
        .expect("delimited");
    let prefixes: Vec<_> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["dir/"]);
    assert_eq!(out.versions().len(), 6);
    // Prefix and a key marker without a version marker: after every version of it.
    let out = c
        .list_object_versions()
        .bucket(&bucket)
        .prefix("k")
        .key_marker("k1")
        .send()
        .await
        .expect("after k1");
    let keys: Vec<_> = out.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, vec!["k2", "k2", "k2"]);
    // max-keys=0: empty, not truncated.
    let out = c
        .list_object_versions()
        .bucket(&bucket)
        .max_keys(0)
        .send()
        .await
        .expect("max-keys=0");
    assert!(out.versions().is_empty());
    assert_eq!(out.is_truncated(), Some(false));
}

/// Many clients write and delete one key at once: the history ends up with every
/// acknowledged write and delete marker, exactly one current version, and the current
/// version is the newest one.
#[tokio::test]
async fn concurrent_writers_and_deleters_leave_a_consistent_history() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "vrace").await;
    const WRITERS: usize = 16;
    const ROUNDS: usize = 6;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let c = c.clone();
        let bucket = bucket.clone();
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for r in 0..ROUNDS {
                if (w + r) % 3 == 0 {
                    let out = c
                        .delete_object()
                        .bucket(&bucket)
                        .key("hot")
                        .send()
                        .await
                        .expect("delete");
                    made.push((out.version_id.expect("marker id"), true));
                } else {
                    let out = c
                        .put_object()
                        .bucket(&bucket)
                        .key("hot")
                        .body(ByteStream::from(format!("{w}-{r}").into_bytes()))
                        .send()
                        .await
                        .expect("put");
                    made.push((out.version_id.expect("version id"), false));
                }
            }
            made
        }));
    }
    let mut made = Vec::new();
    for t in tasks {
        made.extend(t.await.expect("task"));
    }
    // Some removals of specific versions race with the writers too.
    let doomed: Vec<String> = made.iter().take(8).map(|(id, _)| id.clone()).collect();
    let mut deleters = Vec::new();
    for id in doomed.clone() {
        let c = c.clone();
        let bucket = bucket.clone();
        deleters.push(tokio::spawn(async move {
            c.delete_object()
                .bucket(&bucket)
                .key("hot")
                .version_id(&id)
                .send()
                .await
                .expect("delete version");
        }));
    }
    for w in 0..4 {
        let c = c.clone();
        let bucket = bucket.clone();
        deleters.push(tokio::spawn(async move {
            c.put_object()
                .bucket(&bucket)
                .key("hot")
                .body(ByteStream::from(format!("late {w}").into_bytes()))
                .send()
                .await
                .expect("late put");
        }));
    }
    for d in deleters {
        d.await.expect("task");
    }
    let h = history(&c, &bucket).await;
    assert_eq!(h.len(), WRITERS * ROUNDS - doomed.len() + 4, "{h:?}");
    let latest: Vec<_> = h.iter().filter(|(_, _, l, _)| *l).collect();
    assert_eq!(latest.len(), 1, "exactly one current version: {h:?}");
    assert_eq!(&h[0], latest[0], "the current version is the newest");
    for id in &doomed {
        assert!(!h.iter().any(|(_, v, _, _)| v == id), "{id} was deleted");
    }
    // Every acknowledged version not deleted is listed with its kind.
    for (id, marker) in made.iter().skip(8) {
        assert!(
            h.iter().any(|(_, v, _, m)| v == id && m == marker),
            "{id} missing"
        );
    }
}
