//! Listing (v1, v2, versions) and DeleteObjects.

use aws_sdk_s3::types::{Delete, EncodingType, ObjectIdentifier};
use coffer_tests::util::md5_base64;
use coffer_tests::{TestServer, etag_of, unique_bucket, xml};
use std::collections::BTreeSet;
use tokio::sync::OnceCell;

use crate::support::{self, all_keys, create_bucket, put_many};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

fn strings(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// A bucket holding a small tree of keys.
async fn tree_bucket(s: &TestServer, prefix: &str) -> (String, Vec<String>) {
    let c = s.client();
    let bucket = unique_bucket(prefix);
    create_bucket(&c, &bucket).await;
    let keys = strings(&[
        "docs/a.txt",
        "docs/b.txt",
        "photos/2023/feb/2.jpg",
        "photos/2023/jan/1.jpg",
        "photos/2024/3.jpg",
        "photos/index.html",
        "readme",
        "zeta/",
    ]);
    put_many(&c, &bucket, &keys).await;
    (bucket, keys)
}

#[tokio::test]
async fn list_v2_prefix_and_delimiter() {
    let s = server().await;
    let c = s.client();
    let (bucket, keys) = tree_bucket(s, "v2tree").await;

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, keys, "all keys in byte order");
    assert_eq!(out.key_count(), Some(keys.len() as i32));
    assert_eq!(out.is_truncated(), Some(false));
    let first = &out.contents()[0];
    assert_eq!(first.e_tag(), Some(etag_of(b"docs/a.txt").as_str()));
    assert_eq!(first.size(), Some("docs/a.txt".len() as i64));
    assert!(first.last_modified().is_some());

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .delimiter("/")
        .send()
        .await
        .expect("list with delimiter");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["readme"]);
    assert_eq!(prefixes, ["docs/", "photos/", "zeta/"]);
    assert_eq!(
        out.key_count(),
        Some(4),
        "KeyCount counts keys and prefixes"
    );
    assert_eq!(out.delimiter(), Some("/"));

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("photos/")
        .delimiter("/")
        .send()
        .await
        .expect("list prefix+delimiter");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["photos/index.html"]);
    assert_eq!(prefixes, ["photos/2023/", "photos/2024/"]);
    assert_eq!(out.prefix(), Some("photos/"));

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("photos/2023/")
        .send()
        .await
        .expect("list prefix");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["photos/2023/feb/2.jpg", "photos/2023/jan/1.jpg"]);
    assert!(out.common_prefixes().is_empty());

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("nothing-here")
        .send()
        .await
        .expect("list empty prefix");
    assert!(out.contents().is_empty());
    assert_eq!(out.key_count(), Some(0));

    // A non-slash delimiter.
    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .delimiter(".")
        .send()
        .await
        .expect("list with '.' delimiter");
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(
        prefixes,
        [
            "docs/a.",
            "docs/b.",
            "photos/2023/feb/2.",
            "photos/2023/jan/1.",
            "photos/2024/3.",
            "photos/index."
        ]
    );
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["readme", "zeta/"]);
}

#[tokio::test]
async fn list_v1_prefix_and_delimiter() {
    let s = server().await;
    let c = s.client();
    let (bucket, keys) = tree_bucket(s, "v1tree").await;

    let out = c
        .list_objects()
        .bucket(&bucket)
        .send()
        .await
        .expect("list v1");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, keys);
    assert_eq!(out.is_truncated(), Some(false));
    assert!(
        out.contents()[0].owner().and_then(|o| o.id()).is_some(),
        "v1 listing includes Owner"
    );

    let out = c
        .list_objects()
        .bucket(&bucket)
        .prefix("photos/")
        .delimiter("/")
        .send()
        .await
        .expect("list v1 prefix+delimiter");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["photos/index.html"]);
    assert_eq!(prefixes, ["photos/2023/", "photos/2024/"]);

    // Raw XML: <Marker> is always present in v1 (empty when not given).
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("prefix=docs%2F")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    let text = resp.text();
    assert!(text.contains("<ListBucketResult"), "{text}");
    assert!(
        xml::has_tag(&text, "Marker"),
        "no <Marker> in v1 listing: {text}"
    );
    assert_eq!(xml::tag_text(&text, "Marker").as_deref(), Some(""));
    assert_eq!(xml::tag_text(&text, "Prefix").as_deref(), Some("docs/"));
    assert_eq!(xml::tag_text(&text, "MaxKeys").as_deref(), Some("1000"));
    assert_eq!(
        xml::tag_text(&text, "IsTruncated").as_deref(),
        Some("false")
    );
    assert_eq!(
        xml::all_tag_text(&text, "Key"),
        ["docs/a.txt", "docs/b.txt"]
    );

    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("marker=docs%2Fa.txt&max-keys=1")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    let text = resp.text();
    assert_eq!(
        xml::tag_text(&text, "Marker").as_deref(),
        Some("docs/a.txt")
    );
    assert_eq!(xml::all_tag_text(&text, "Key"), ["docs/b.txt"]);
    assert_eq!(xml::tag_text(&text, "IsTruncated").as_deref(), Some("true"));
}

/// 25 keys in a flat namespace plus 5 "directories" of 3 keys each.
async fn paging_bucket(s: &TestServer, prefix: &str) -> (String, Vec<String>) {
    let c = s.client();
    let bucket = unique_bucket(prefix);
    create_bucket(&c, &bucket).await;
    let mut keys: Vec<String> = (0..25).map(|i| format!("k{i:03}")).collect();
    for d in 0..5 {
        for f in 0..3 {
            keys.push(format!("dir{d}/f{f}"));
        }
    }
    keys.sort();
    put_many(&c, &bucket, &keys).await;
    (bucket, keys)
}

#[tokio::test]
async fn list_v2_paginates_through_all_pages() {
    let s = server().await;
    let c = s.client();
    let (bucket, keys) = paging_bucket(s, "v2page").await;

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(&bucket)
            .max_keys(7)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("list page");
        pages += 1;
        assert_eq!(out.max_keys(), Some(7));
        assert_eq!(out.continuation_token(), token.as_deref());
        let page: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        assert_eq!(out.key_count(), Some(page.len() as i32));
        seen.extend(page.iter().cloned());
        if out.is_truncated() == Some(true) {
            assert_eq!(page.len(), 7, "a truncated page is full");
            token = Some(
                out.next_continuation_token()
                    .expect("NextContinuationToken on a truncated page")
                    .to_string(),
            );
        } else {
            assert!(out.next_continuation_token().is_none());
            break;
        }
        assert!(pages < 20, "pagination does not end");
    }
    assert_eq!(pages, keys.len().div_ceil(7));
    assert_eq!(seen, keys, "pages concatenate to the full listing");

    // With a delimiter, common prefixes count towards max-keys and are not repeated.
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(&bucket)
            .delimiter("/")
            .max_keys(4)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("list page with delimiter");
        let n = out.contents().len() + out.common_prefixes().len();
        assert_eq!(out.key_count(), Some(n as i32));
        entries.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        entries.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        if out.is_truncated() == Some(true) {
            assert_eq!(n, 4);
            token = out.next_continuation_token().map(str::to_string);
            assert!(token.is_some());
        } else {
            break;
        }
    }
    let mut expected: Vec<String> = (0..5).map(|d| format!("dir{d}/")).collect();
    expected.extend((0..25).map(|i| format!("k{i:03}")));
    entries.sort();
    assert_eq!(entries, expected);
}

#[tokio::test]
async fn list_v1_paginates_with_marker() {
    let s = server().await;
    let c = s.client();
    let (bucket, keys) = paging_bucket(s, "v1page").await;

    // Without a delimiter there is no NextMarker: the last key is the next marker.
    let mut seen: Vec<String> = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .list_objects()
            .bucket(&bucket)
            .max_keys(6)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("list v1 page");
        let page: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        seen.extend(page.iter().cloned());
        if out.is_truncated() == Some(true) {
            assert_eq!(page.len(), 6);
            marker = page.last().cloned();
        } else {
            break;
        }
    }
    assert_eq!(seen, keys);

    // With a delimiter, truncated pages carry NextMarker.
    let mut entries = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .list_objects()
            .bucket(&bucket)
            .delimiter("/")
            .max_keys(4)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("list v1 page with delimiter");
        entries.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        entries.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        if out.is_truncated() == Some(true) {
            marker = Some(
                out.next_marker()
                    .expect("NextMarker on a truncated page with a delimiter")
                    .to_string(),
            );
        } else {
            break;
        }
    }
    let unique: BTreeSet<&String> = entries.iter().collect();
    assert_eq!(
        unique.len(),
        entries.len(),
        "duplicates across pages: {entries:?}"
    );
    assert_eq!(entries.len(), 30);
}

#[tokio::test]
async fn list_v2_start_after() {
    let s = server().await;
    let c = s.client();
    let (bucket, keys) = paging_bucket(s, "after").await;
    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .start_after("k020")
        .send()
        .await
        .expect("list start-after");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["k021", "k022", "k023", "k024"]);
    assert_eq!(out.start_after(), Some("k020"));

    // start-after that is not a key, and one inside a "directory".
    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .start_after("dir4/f1x")
        .max_keys(2)
        .send()
        .await
        .expect("list start-after");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["dir4/f2", "k000"]);

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .start_after(keys.last().expect("keys"))
        .send()
        .await
        .expect("list start-after the last key");
    assert!(out.contents().is_empty());
    assert_eq!(out.is_truncated(), Some(false));
}

/// Decodes a key listed with `encoding-type=url` (`+` is a space, as botocore reads it).
fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .expect("UTF-8")
        .into_owned()
}

#[tokio::test]
async fn list_with_encoding_type_url() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("urlenc");
    create_bucket(&c, &bucket).await;
    let keys = strings(&[
        "a b/c",
        "plus+key",
        "ünï/cödé",
        "ctrl\u{1}char",
        "amp&lt<gt>",
    ]);
    put_many(&c, &bucket, &keys).await;

    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("list-type=2&encoding-type=url&delimiter=%2F")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    let text = resp.text();
    assert_eq!(xml::tag_text(&text, "EncodingType").as_deref(), Some("url"));
    let listed = xml::all_tag_text(&text, "Key");
    let prefixes = xml::all_tag_text(&text, "Prefix");
    for raw in listed.iter().chain(prefixes.iter()) {
        assert!(
            raw.is_ascii() && !raw.contains(' ') && !raw.contains('\u{1}'),
            "not URL-encoded: {raw:?}"
        );
    }
    let mut decoded: Vec<String> = listed.iter().map(|k| url_decode(k)).collect();
    decoded.sort();
    let mut expected = strings(&["amp&lt<gt>", "ctrl\u{1}char", "plus+key"]);
    expected.sort();
    assert_eq!(decoded, expected);
    let decoded_prefixes: BTreeSet<String> = prefixes
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| url_decode(p))
        .collect();
    assert!(decoded_prefixes.contains("a b/"), "{prefixes:?}");
    assert!(decoded_prefixes.contains("ünï/"), "{prefixes:?}");
    assert_eq!(
        xml::tag_text(&text, "Delimiter")
            .map(|d| url_decode(&d))
            .as_deref(),
        Some("/")
    );

    // The SDK request path as well (the SDK does not decode: check the encoded form).
    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list with encoding-type=url");
    let mut got: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(url_decode))
        .collect();
    got.sort();
    let mut all = keys.clone();
    all.sort();
    assert_eq!(got, all);

    // v1 too.
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("encoding-type=url")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    let text = resp.text();
    let mut got: Vec<String> = xml::all_tag_text(&text, "Key")
        .iter()
        .map(|k| url_decode(k))
        .collect();
    got.sort();
    assert_eq!(got, all);
}

#[tokio::test]
async fn list_v2_fetch_owner() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("owner");
    create_bucket(&c, &bucket).await;
    put_many(&c, &bucket, &strings(&["one", "two"])).await;
    let admin_id = s.canonical_id_of("admin").await;

    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    assert!(
        out.contents().iter().all(|o| o.owner().is_none()),
        "v2 lists no Owner unless fetch-owner=true"
    );
    let out = c
        .list_objects_v2()
        .bucket(&bucket)
        .fetch_owner(true)
        .send()
        .await
        .expect("list fetch-owner");
    assert_eq!(out.contents().len(), 2);
    for o in out.contents() {
        assert_eq!(
            o.owner().and_then(|o| o.id()),
            Some(admin_id.as_str()),
            "{o:?}"
        );
    }
}

#[tokio::test]
async fn list_object_versions_shows_null_versions() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("versions");
    create_bucket(&c, &bucket).await;
    put_many(&c, &bucket, &strings(&["a", "b"])).await;
    // Overwriting in an unversioned bucket replaces the null version.
    crate::support::put(&c, &bucket, "a", b"second").await;

    let out = c
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .expect("ListObjectVersions");
    let versions = out.versions();
    assert_eq!(versions.len(), 2, "{versions:?}");
    for v in versions {
        assert_eq!(v.version_id(), Some("null"), "{v:?}");
        assert_eq!(v.is_latest(), Some(true), "{v:?}");
    }
    assert_eq!(versions[0].key(), Some("a"));
    assert_eq!(versions[0].e_tag(), Some(etag_of(b"second").as_str()));
    assert_eq!(versions[1].key(), Some("b"));
    assert!(out.delete_markers().is_empty());

    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("versions")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    let text = resp.text();
    assert!(text.contains("<ListVersionsResult"), "{text}");
    assert_eq!(xml::all_tag_text(&text, "VersionId"), ["null", "null"]);
}

/// The DeleteObjects XML for `keys`.
fn delete_xml(keys: &[String], quiet: bool) -> String {
    let mut body = String::from("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if quiet {
        body.push_str("<Quiet>true</Quiet>");
    }
    for k in keys {
        body.push_str(&format!("<Object><Key>{k}</Key></Object>"));
    }
    body.push_str("</Delete>");
    body
}

#[tokio::test]
async fn delete_objects_quiet_and_verbose() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("multidel");
    create_bucket(&c, &bucket).await;
    let keys: Vec<String> = (0..8).map(|i| format!("obj{i}")).collect();
    put_many(&c, &bucket, &keys).await;

    let ids = |names: &[&str]| -> Vec<ObjectIdentifier> {
        names
            .iter()
            .map(|k| {
                ObjectIdentifier::builder()
                    .key(*k)
                    .build()
                    .expect("identifier")
            })
            .collect()
    };
    let out = c
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["obj0", "obj1", "does-not-exist"])))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("DeleteObjects");
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["does-not-exist", "obj0", "obj1"],
        "absent keys count as deleted"
    );
    assert!(out.errors().is_empty(), "{:?}", out.errors());

    let out = c
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["obj2", "obj3"])))
                .quiet(true)
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("quiet DeleteObjects");
    assert!(out.deleted().is_empty(), "quiet mode reports no deletions");
    assert!(out.errors().is_empty());

    assert_eq!(
        all_keys(&c, &bucket).await,
        ["obj4", "obj5", "obj6", "obj7"],
        "exactly the requested keys were deleted"
    );

    // Raw, verbose: every key appears in a <Deleted> element.
    let body = delete_xml(&strings(&["obj4", "obj5"]), false);
    let resp = s
        .raw("POST", &format!("/{bucket}"))
        .query("delete")
        .header("content-md5", &md5_base64(body.as_bytes()))
        .header("content-type", "application/xml")
        .body(body.into_bytes())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    let text = resp.text();
    assert!(text.contains("<DeleteResult"), "{text}");
    let mut deleted = xml::all_tag_text(&text, "Key");
    deleted.sort();
    assert_eq!(deleted, ["obj4", "obj5"]);
    assert_eq!(all_keys(&c, &bucket).await, ["obj6", "obj7"]);
}

#[tokio::test]
async fn delete_objects_rejects_malformed_xml() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("badxml");
    create_bucket(&c, &bucket).await;
    put_many(&c, &bucket, &strings(&["keep"])).await;
    let bodies = [
        "<Delete><Object><Key>keep</Key></Object>".to_string(),
        "this is not xml".to_string(),
        "<Delete></Delete>".to_string(),
        "<Delete><Object><Key>keep</Key></Object></Delete><trailing/>".to_string(),
    ];
    for body in bodies {
        let resp = s
            .raw("POST", &format!("/{bucket}"))
            .query("delete")
            .header("content-md5", &md5_base64(body.as_bytes()))
            .body(body.clone().into_bytes())
            .sign_v4(s.admin_keys())
            .send()
            .await;
        assert_eq!(
            (resp.status, resp.code().as_deref()),
            (400, Some("MalformedXML")),
            "body {body:?}: {}",
            resp.text()
        );
        resp.assert_request_id();
    }
    assert_eq!(all_keys(&c, &bucket).await, ["keep"]);
}

#[tokio::test]
async fn delete_objects_rejects_more_than_1000_keys() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("del1001");
    create_bucket(&c, &bucket).await;
    put_many(&c, &bucket, &strings(&["k0", "k1"])).await;
    let keys: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    let body = delete_xml(&keys, true);
    let resp = s
        .raw("POST", &format!("/{bucket}"))
        .query("delete")
        .header("content-md5", &md5_base64(body.as_bytes()))
        .body(body.into_bytes())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "MalformedXML");
    assert_eq!(all_keys(&c, &bucket).await, ["k0", "k1"], "nothing deleted");

    // Exactly 1000 is allowed.
    let body = delete_xml(&keys[..1000], true);
    let resp = s
        .raw("POST", &format!("/{bucket}"))
        .query("delete")
        .header("content-md5", &md5_base64(body.as_bytes()))
        .body(body.into_bytes())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    assert!(all_keys(&c, &bucket).await.is_empty());
}

#[tokio::test]
async fn max_keys_zero_lists_nothing_and_is_not_truncated() {
    let s = server().await;
    let c = s.client();
    let (bucket, _) = tree_bucket(s, "maxkeys0").await;
    let v2 = c
        .list_objects_v2()
        .bucket(&bucket)
        .max_keys(0)
        .send()
        .await
        .expect("ListObjectsV2");
    assert_eq!(v2.key_count(), Some(0));
    assert!(v2.contents().is_empty() && v2.common_prefixes().is_empty());
    assert_eq!(v2.is_truncated(), Some(false));
    assert!(v2.next_continuation_token().is_none());
    let v1 = c
        .list_objects()
        .bucket(&bucket)
        .max_keys(0)
        .delimiter("/")
        .send()
        .await
        .expect("ListObjects");
    assert!(v1.contents().is_empty() && v1.common_prefixes().is_empty());
    assert_eq!(v1.is_truncated(), Some(false));
    assert!(v1.next_marker().is_none());
    let versions = c
        .list_object_versions()
        .bucket(&bucket)
        .max_keys(0)
        .send()
        .await
        .expect("ListObjectVersions");
    assert!(versions.versions().is_empty());
    assert_eq!(versions.is_truncated(), Some(false));
}
