//! Bucket lifecycle (issue 13, item 3): Put/Get/DeleteBucketLifecycleConfiguration with
//! S3's validation, `x-amz-expiration`, and the worker carrying the rules out, on a
//! server whose lifecycle day lasts 2 seconds (`--lifecycle-day 2`) and whose worker
//! runs every second: expiry of current versions (removed, or given a delete marker),
//! of noncurrent versions, of expired delete markers, aborts of incomplete uploads,
//! filters, disabled rules, and two servers on one database applying each rule once.
//! (`lifecycle.rs` is the server's own start and stop.)
//!
//! Object tags are written with SQL until PutObjectTagging exists.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter,
};
use coffer_tests::raw::object_path;
use coffer_tests::{RawResponse, ServerBuilder, TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, PROPAGATION, create_bucket, exists, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// A lifecycle day of two seconds, a pass every second.
fn fast_lifecycle() -> ServerBuilder {
    TestServer::builder()
        .arg("--lifecycle-day")
        .arg("2")
        .arg("--lifecycle-interval")
        .arg("1")
}

async fn server() -> &'static TestServer {
    support::shared(&SERVER, fast_lifecycle).await
}

/// A raw, signed PutBucketLifecycleConfiguration of `<LifecycleConfiguration>{rules}`.
async fn put_rules(s: &TestServer, bucket: &str, rules: &str) -> RawResponse {
    s.raw("PUT", &format!("/{bucket}"))
        .query("lifecycle")
        .body(
            format!(
                "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{rules}</LifecycleConfiguration>"
            )
            .into_bytes(),
        )
        .sign_v4(s.admin_keys())
        .send()
        .await
}

/// Puts `rules`, which must be accepted.
async fn set_rules(s: &TestServer, bucket: &str, rules: &str) {
    let resp = put_rules(s, bucket, rules).await;
    assert_eq!(resp.status, 200, "{rules}: {}", resp.text());
}

/// Waits (polling, up to [`PROPAGATION`]) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PROPAGATION;
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not after {PROPAGATION:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The server's counters, summed by series (name and labels).
async fn counters(s: &TestServer) -> BTreeMap<String, f64> {
    let resp = s.admin_raw("GET", "/metrics").send().await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.text()
        .lines()
        .filter(|l| l.starts_with("coffer_lifecycle_"))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Waits until two more lifecycle passes have started: the first of them then ran in
/// full after this call began, so whatever it would do is done.
async fn two_more_passes(s: &TestServer) {
    let passes = |c: &BTreeMap<String, f64>| {
        c.get("coffer_lifecycle_passes_total")
            .copied()
            .unwrap_or_default()
    };
    let start = passes(&counters(s).await);
    eventually("two more lifecycle passes", || async {
        passes(&counters(s).await) >= start + 2.0
    })
    .await;
}

async fn versioned_bucket(c: &Client, prefix: &str) -> String {
    let bucket = unique_bucket(prefix);
    create_bucket(c, &bucket).await;
    crate::support::set_versioning(c, &bucket, BucketVersioningStatus::Enabled).await;
    bucket
}

/// Every version of `key` as (version id, is delete marker), newest first.
async fn versions_of(c: &Client, bucket: &str, key: &str) -> Vec<(String, bool)> {
    let out = c
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .expect("listing versions");
    let mut all: Vec<(String, bool, String)> = Vec::new();
    for v in out.versions().iter().filter(|v| v.key() == Some(key)) {
        let id = v.version_id().unwrap_or_default().to_owned();
        all.push((id.clone(), false, id));
    }
    for m in out.delete_markers().iter().filter(|m| m.key() == Some(key)) {
        let id = m.version_id().unwrap_or_default().to_owned();
        all.push((id.clone(), true, id));
    }
    // Coffer's version ids start with the row id in hex: newer sorts higher.
    all.sort_by(|a, b| b.2.cmp(&a.2));
    all.into_iter()
        .map(|(id, marker, _)| (id, marker))
        .collect()
}

#[tokio::test]
async fn configuration_round_trip_validation_and_owner_only() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("lcconf");
    create_bucket(&c, &bucket).await;

    let e = sdk_err(
        c.get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(404), Some("NoSuchLifecycleConfiguration")),
        "{}",
        e.debug
    );
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("lifecycle")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(404, "NoSuchLifecycleConfiguration");
    assert!(
        resp.text()
            .contains(&format!("<BucketName>{bucket}</BucketName>")),
        "{}",
        resp.text()
    );

    // Through the SDK: one rule named, one not (the server names it).
    let named = LifecycleRule::builder()
        .id("logs-rule")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
        .expiration(LifecycleExpiration::builder().days(30).build())
        .build()
        .expect("rule");
    let unnamed = LifecycleRule::builder()
        .status(ExpirationStatus::Disabled)
        .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .expect("rule");
    c.put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(named)
                .rules(unnamed)
                .build()
                .expect("configuration"),
        )
        .send()
        .await
        .expect("put lifecycle");
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("get lifecycle");
    let rules = got.rules();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0].id(), Some("logs-rule"));
    assert_eq!(rules[0].status(), &ExpirationStatus::Enabled);
    assert_eq!(
        rules[0].filter().and_then(|f| f.prefix()),
        Some("logs/"),
        "{rules:?}"
    );
    assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(30));
    let generated = rules[1].id().expect("a generated ID");
    assert_eq!(generated.len(), 48, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(rules[1].status(), &ExpirationStatus::Disabled);
    // The generated ID is kept, not made anew at each read.
    let again = c
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("get lifecycle");
    assert_eq!(again.rules()[1].id(), Some(generated));

    // S3's refusals; none changes the stored configuration.
    for (rules, status, code) in [
        (
            "<Rule><ID>x</ID><Filter/><Status>Enabled</Status></Rule>",
            400,
            "InvalidRequest",
        ),
        (
            "<Rule><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration></Rule>",
            400,
            "InvalidArgument",
        ),
        (
            "<Rule><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>",
            400,
            "InvalidStorageClass",
        ),
        (
            "<Rule><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>",
            400,
            "InvalidArgument",
        ),
        ("<Rule><Filter/><Status>Maybe</Status>", 400, "MalformedXML"),
        ("", 400, "InvalidRequest"),
    ] {
        put_rules(s, &bucket, rules)
            .await
            .assert_error(status, code);
    }
    let bad_md5 = s
        .raw("PUT", &format!("/{bucket}"))
        .query("lifecycle")
        .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(
            b"<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
                .to_vec(),
        )
        .sign_v4(s.admin_keys())
        .send()
        .await;
    bad_md5.assert_error(400, "BadDigest");
    let after = c
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("get lifecycle");
    assert_eq!(after.rules().len(), 2);

    // Only the owner may read, change or remove it.
    let alt = s.create_account("lcconf-alt").await;
    let other = s.client_for(&alt);
    let e = sdk_err(
        other
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("AccessDenied"), "{}", e.debug);
    let e = sdk_err(other.delete_bucket_lifecycle().bucket(&bucket).send().await);
    assert_eq!(e.code.as_deref(), Some("AccessDenied"), "{}", e.debug);
    let resp = s
        .raw("PUT", &format!("/{bucket}"))
        .query("lifecycle")
        .body(
            b"<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
                .to_vec(),
        )
        .sign_v4(&alt)
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");

    // Delete: 204, then none; deleting again is still 204.
    for _ in 0..2 {
        c.delete_bucket_lifecycle()
            .bucket(&bucket)
            .send()
            .await
            .expect("delete lifecycle");
    }
    let e = sdk_err(
        c.get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
    );
    assert_eq!(
        e.code.as_deref(),
        Some("NoSuchLifecycleConfiguration"),
        "{}",
        e.debug
    );
}

#[tokio::test]
async fn expiration_header_on_put_head_and_get() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("lchdr");
    create_bucket(&c, &bucket).await;
    // 100 days of 2 seconds: the objects outlive the test. A Date rule on another
    // prefix; a disabled rule announces nothing.
    set_rules(
        s,
        &bucket,
        "<Rule><ID>far away</ID><Filter><Prefix>far/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>100</Days></Expiration></Rule>\
         <Rule><ID>dated</ID><Filter><Prefix>dated/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2099-01-01T00:00:00Z</Date></Expiration></Rule>\
         <Rule><ID>off</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;

    let put_resp = s
        .raw("PUT", &object_path(&bucket, "far/a"))
        .body(b"data".to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(put_resp.status, 200, "{}", put_resp.text());
    let on_put = put_resp
        .header("x-amz-expiration")
        .expect("x-amz-expiration on PUT");

    let head = s
        .raw("HEAD", &object_path(&bucket, "far/a"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(head.status, 200);
    let last_modified =
        httpdate::parse_http_date(&head.header("last-modified").expect("Last-Modified"))
            .expect("an HTTP date");
    let expected = format!(
        "expiry-date=\"{}\", rule-id=\"far away\"",
        httpdate::fmt_http_date(last_modified + std::time::Duration::from_secs(200))
    );
    assert_eq!(head.header("x-amz-expiration"), Some(expected.clone()));
    assert_eq!(on_put, expected);
    // The SDK reads it too.
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("far/a")
        .send()
        .await
        .expect("get");
    assert_eq!(got.expiration(), Some(expected.as_str()));

    put(&c, &bucket, "dated/b", b"x").await;
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("dated/b")
        .send()
        .await
        .expect("head");
    assert_eq!(
        head.expiration(),
        Some("expiry-date=\"Thu, 01 Jan 2099 00:00:00 GMT\", rule-id=\"dated\"")
    );

    for key in ["off/c", "elsewhere"] {
        put(&c, &bucket, key, b"x").await;
        let head = c
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("head");
        assert_eq!(head.expiration(), None, "{key}");
    }
}

#[tokio::test]
async fn unversioned_objects_expire_and_filters_and_disabled_rules_are_respected() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("lcexp");
    create_bucket(&c, &bucket).await;
    for key in ["logs/a", "logs/b", "keep/c", "off/d"] {
        put(&c, &bucket, key, b"0123456789").await;
    }
    // Tagged objects of three sizes; only the large tagged one matches the tag rule.
    put(&c, &bucket, "t/small", b"x").await;
    put(&c, &bucket, "t/big", &[7u8; 100]).await;
    put(&c, &bucket, "t/untagged", &[7u8; 100]).await;
    put(&c, &bucket, "t/other-value", &[7u8; 100]).await;
    let db = s.db().await;
    for (key, value) in [
        ("t/small", "tmp"),
        ("t/big", "tmp"),
        ("t/other-value", "keep"),
    ] {
        sqlx::query(
            "UPDATE objects SET tags = jsonb_build_array(jsonb_build_object('key', 'class', 'value', $3::text))
             WHERE key = $2 AND bucket_id = (SELECT id FROM buckets WHERE name = $1)",
        )
        .bind(&bucket)
        .bind(key)
        .bind(value)
        .execute(&db)
        .await
        .expect("tagging with SQL");
    }
    set_rules(
        s,
        &bucket,
        "<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
         <Rule><ID>tags</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>class</Key><Value>tmp</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
         <Rule><ID>off</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;

    eventually("logs/ and t/big expired", || async {
        !exists(&c, &bucket, "logs/a").await
            && !exists(&c, &bucket, "logs/b").await
            && !exists(&c, &bucket, "t/big").await
    })
    .await;
    two_more_passes(s).await;
    for key in ["keep/c", "off/d", "t/small", "t/untagged", "t/other-value"] {
        assert!(exists(&c, &bucket, key).await, "{key} should survive");
    }
    // Unversioned: gone for good, no delete marker.
    let out = c
        .list_object_versions()
        .bucket(&bucket)
        .prefix("logs/")
        .send()
        .await
        .expect("list versions");
    assert!(out.versions().is_empty() && out.delete_markers().is_empty());
}

#[tokio::test]
async fn versioned_current_versions_get_a_delete_marker() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lcver").await;
    let v1 = c
        .put_object()
        .bucket(&bucket)
        .key("doc")
        .body(b"first".to_vec().into())
        .send()
        .await
        .expect("put")
        .version_id
        .expect("a version id");
    set_rules(
        s,
        &bucket,
        "<Rule><ID>expire</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;
    eventually("doc expired", || async {
        !exists(&c, &bucket, "doc").await
    })
    .await;
    let versions = versions_of(&c, &bucket, "doc").await;
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions[0].1, "a delete marker is current: {versions:?}");
    assert_eq!(versions[1], (v1.clone(), false));
    // The old version is still readable by id.
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("doc")
        .version_id(&v1)
        .send()
        .await
        .expect("get old version");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"first");
    // Once the old version is gone, the marker is an expired object delete marker, which
    // an Expiration by days removes as well.
    c.delete_object()
        .bucket(&bucket)
        .key("doc")
        .version_id(&v1)
        .send()
        .await
        .expect("deleting the old version");
    eventually("the lone delete marker removed", || async {
        versions_of(&c, &bucket, "doc").await.is_empty()
    })
    .await;
}

#[tokio::test]
async fn suspended_versioning_expires_into_a_null_delete_marker() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lcsus").await;
    crate::support::set_versioning(&c, &bucket, BucketVersioningStatus::Suspended).await;
    put(&c, &bucket, "doc", b"null version").await;
    set_rules(
        s,
        &bucket,
        "<Rule><ID>expire</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;
    eventually("doc expired", || async {
        !exists(&c, &bucket, "doc").await
    })
    .await;
    // The null delete marker replaced the null version, as on S3.
    assert_eq!(
        versions_of(&c, &bucket, "doc").await,
        vec![("null".to_owned(), true)]
    );
}

#[tokio::test]
async fn versions_under_object_lock_are_skipped() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lclock").await;
    for key in ["lock/held", "lock/free"] {
        put(&c, &bucket, key, b"old").await;
        put(&c, &bucket, key, b"new").await;
    }
    let held = versions_of(&c, &bucket, "lock/held").await[1].0.clone();
    let db = s.db().await;
    sqlx::query("UPDATE objects SET legal_hold = true WHERE version_id = $1")
        .bind(&held)
        .execute(&db)
        .await
        .expect("a legal hold, with SQL");
    let skipped = |m: &BTreeMap<String, f64>| {
        m.get("coffer_lifecycle_skipped_total{reason=\"object_lock\"}")
            .copied()
            .unwrap_or_default()
    };
    let before = skipped(&counters(s).await);
    set_rules(
        s,
        &bucket,
        "<Rule><ID>noncurrent</ID><Filter><Prefix>lock/</Prefix></Filter><Status>Enabled</Status>\
         <NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>",
    )
    .await;
    eventually("the free noncurrent version removed", || async {
        versions_of(&c, &bucket, "lock/free").await.len() == 1
    })
    .await;
    eventually("the held version counted as skipped", || async {
        skipped(&counters(s).await) > before
    })
    .await;
    two_more_passes(s).await;
    let left = versions_of(&c, &bucket, "lock/held").await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(left[1].0, held);
}

#[tokio::test]
async fn noncurrent_versions_expire_but_newer_noncurrent_versions_stay() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lcnon").await;
    let mut ids = Vec::new();
    for body in ["v1", "v2", "v3", "v4"] {
        let id = c
            .put_object()
            .bucket(&bucket)
            .key("n/k")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put")
            .version_id
            .expect("a version id");
        ids.push(id);
    }
    // Outside the rule's prefix: its noncurrent version stays.
    put(&c, &bucket, "other", b"1").await;
    put(&c, &bucket, "other", b"2").await;
    set_rules(
        s,
        &bucket,
        "<Rule><ID>noncurrent</ID><Filter><Prefix>n/</Prefix></Filter><Status>Enabled</Status>\
         <NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>",
    )
    .await;
    eventually("v1 and v2 removed", || async {
        versions_of(&c, &bucket, "n/k").await.len() == 2
    })
    .await;
    two_more_passes(s).await;
    let left = versions_of(&c, &bucket, "n/k").await;
    assert_eq!(
        left,
        vec![(ids[3].clone(), false), (ids[2].clone(), false)],
        "the current version and the newest noncurrent one stay"
    );
    assert_eq!(versions_of(&c, &bucket, "other").await.len(), 2);
}

#[tokio::test]
async fn expired_delete_markers_are_removed() {
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lcdm").await;
    // d/alone: a delete marker with no version left. d/history: a marker over a version.
    for key in ["d/alone", "d/history"] {
        put(&c, &bucket, key, b"x").await;
        c.delete_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("delete");
    }
    let (version, _) = versions_of(&c, &bucket, "d/alone").await[1].clone();
    c.delete_object()
        .bucket(&bucket)
        .key("d/alone")
        .version_id(&version)
        .send()
        .await
        .expect("delete the version");
    assert_eq!(versions_of(&c, &bucket, "d/alone").await.len(), 1);
    set_rules(
        s,
        &bucket,
        "<Rule><ID>markers</ID><Filter><Prefix>d/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>",
    )
    .await;
    eventually("the lone delete marker removed", || async {
        versions_of(&c, &bucket, "d/alone").await.is_empty()
    })
    .await;
    two_more_passes(s).await;
    assert_eq!(versions_of(&c, &bucket, "d/history").await.len(), 2);
}

#[tokio::test]
async fn incomplete_multipart_uploads_are_aborted() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("lcmpu");
    create_bucket(&c, &bucket).await;
    let mut uploads = Vec::new();
    for key in ["mp/a", "other/b"] {
        let id = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("create upload")
            .upload_id
            .expect("an upload id");
        c.upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .part_number(1)
            .body(vec![1u8; 1000].into())
            .send()
            .await
            .expect("upload part");
        uploads.push(id);
    }
    set_rules(
        s,
        &bucket,
        "<Rule><ID>abort</ID><Filter><Prefix>mp/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
    )
    .await;
    let keys = || async {
        c.list_multipart_uploads()
            .bucket(&bucket)
            .send()
            .await
            .expect("list uploads")
            .uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    eventually("mp/a aborted", || async {
        !keys().await.contains(&"mp/a".to_owned())
    })
    .await;
    two_more_passes(s).await;
    assert_eq!(keys().await, vec!["other/b".to_owned()]);
    let e = sdk_err(
        c.list_parts()
            .bucket(&bucket)
            .key("mp/a")
            .upload_id(&uploads[0])
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchUpload"), "{}", e.debug);
}

#[tokio::test]
async fn two_servers_on_one_database_expire_each_version_once() {
    let a = fast_lifecycle().start().await;
    let b = fast_lifecycle().share_database_of(&a).start().await;
    let c = a.client();
    let bucket = versioned_bucket(&c, "lctwo").await;
    let keys: Vec<String> = (0..150).map(|i| format!("k{i:03}")).collect();
    support::put_many(&c, &bucket, &keys).await;
    set_rules(
        &a,
        &bucket,
        "<Rule><ID>expire</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;
    eventually("every key expired", || async {
        support::all_keys(&c, &bucket).await.is_empty()
    })
    .await;
    two_more_passes(&a).await;
    two_more_passes(&b).await;
    // Exactly one delete marker per key, over its one version.
    let db = a.db().await;
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT key, count(*) FILTER (WHERE delete_marker), count(*) FILTER (WHERE NOT delete_marker)
         FROM objects WHERE bucket_id = (SELECT id FROM buckets WHERE name = $1)
         GROUP BY key ORDER BY key",
    )
    .bind(&bucket)
    .fetch_all(&db)
    .await
    .expect("counting versions");
    assert_eq!(rows.len(), keys.len());
    for (key, markers, versions) in &rows {
        assert_eq!((*markers, *versions), (1, 1), "{key}");
    }
    // And the two processes' counters add up to one expiry per key.
    let expired = |m: &BTreeMap<String, f64>| {
        m.get("coffer_lifecycle_actions_total{action=\"expire_current\"}")
            .copied()
            .unwrap_or_default()
    };
    let (in_a, in_b) = (expired(&counters(&a).await), expired(&counters(&b).await));
    assert_eq!(in_a + in_b, keys.len() as f64, "a: {in_a}, b: {in_b}");
}

#[tokio::test]
async fn the_rate_limit_paces_expirations() {
    // 10 per second, so 40 expirations take at least 3.9 s whatever the machine (the
    // limiter lets one through at once, then one every 100 ms).
    let s = fast_lifecycle()
        .arg("--lifecycle-rate")
        .arg("10")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("lcrate");
    create_bucket(&c, &bucket).await;
    let keys: Vec<String> = (0..40).map(|i| format!("r{i:02}")).collect();
    support::put_many(&c, &bucket, &keys).await;
    set_rules(
        &s,
        &bucket,
        "<Rule><ID>expire</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;
    let expired = |m: &BTreeMap<String, f64>| {
        m.get("coffer_lifecycle_actions_total{action=\"expire_current\"}")
            .copied()
            .unwrap_or_default()
    };
    let deadline = Instant::now() + PROPAGATION;
    let mut first: Option<Instant> = None;
    loop {
        let n = expired(&counters(&s).await);
        if n > 0.0 && first.is_none() {
            first = Some(Instant::now());
        }
        if n >= keys.len() as f64 {
            break;
        }
        assert!(Instant::now() < deadline, "only {n} expired");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let took = first.map(|t| t.elapsed()).unwrap_or_default();
    assert!(
        took >= std::time::Duration::from_secs(3),
        "40 expirations at 10/s took only {took:?}"
    );
    assert!(support::all_keys(&c, &bucket).await.is_empty());
}

#[tokio::test]
async fn racing_expirations_of_one_version_add_one_delete_marker() {
    // What keeps two workers from double-applying a rule even without the bucket lock:
    // the store's conditional expiry, called here directly, eight times at once.
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lcrace").await;
    put(&c, &bucket, "k", b"x").await;
    let db = s.db().await;
    let (bucket_id, owner_id, row): (i64, i64, i64) = sqlx::query_as(
        "SELECT b.id, b.owner_id, o.id FROM buckets b JOIN objects o ON o.bucket_id = b.id
         WHERE b.name = $1 AND o.key = 'k'",
    )
    .bind(&bucket)
    .fetch_one(&db)
    .await
    .expect("the version's row");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let db = db.clone();
        set.spawn(async move {
            coffer::store::object_write::expire_current_version(
                &db,
                bucket_id,
                "k",
                row,
                coffer::store::buckets::Versioning::Enabled,
                owner_id,
            )
            .await
            .expect("expiring")
        });
    }
    let mut applied = 0;
    while let Some(done) = set.join_next().await {
        applied += usize::from(done.expect("task"));
    }
    assert_eq!(applied, 1);
    let versions = versions_of(&c, &bucket, "k").await;
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions[0].1 && !versions[1].1, "{versions:?}");
}

#[tokio::test]
async fn the_version_walk_pages_through_every_version_once() {
    // The worker reads 500 rows a page; here pages of 2 cross keys and versions.
    use coffer::store::lifecycle::{VersionCursor, versions_page};
    let s = server().await;
    let c = s.client();
    let bucket = versioned_bucket(&c, "lcwalk").await;
    for (key, count) in [("a", 3), ("p/b", 1), ("p/c", 4), ("p/d", 2), ("q", 2)] {
        for i in 0..count {
            put(&c, &bucket, key, format!("{i}").as_bytes()).await;
        }
    }
    let db = s.db().await;
    let bucket_id: i64 = sqlx::query_scalar("SELECT id FROM buckets WHERE name = $1")
        .bind(&bucket)
        .fetch_one(&db)
        .await
        .expect("bucket id");
    for prefix in ["", "p/"] {
        let expected: Vec<(String, i64)> = sqlx::query_as(
            "SELECT key, id FROM objects WHERE bucket_id = $1 AND starts_with(key, $2)
             ORDER BY key, id DESC",
        )
        .bind(bucket_id)
        .bind(prefix)
        .fetch_all(&db)
        .await
        .expect("every version");
        let mut walked = Vec::new();
        let mut cursor: Option<VersionCursor> = None;
        'walk: loop {
            let page = versions_page(&db, bucket_id, prefix, cursor.as_ref(), 2)
                .await
                .expect("a page");
            for row in &page {
                if !row.key.starts_with(prefix) {
                    break 'walk;
                }
                walked.push((row.key.clone(), row.id));
            }
            match page.last() {
                Some(last) if page.len() == 2 => {
                    cursor = Some(VersionCursor {
                        key: last.key.clone(),
                        id: last.id,
                    })
                }
                _ => break,
            }
        }
        assert_eq!(walked, expected, "prefix {prefix:?}");
    }
}

#[tokio::test]
async fn the_bucket_lock_is_held_by_one_session_at_a_time() {
    use coffer::store::lifecycle::BucketLock;
    let s = server().await;
    // Two pools: two processes' sessions. Bucket ids far from any real bucket's.
    let (one, two) = (s.db().await, s.db().await);
    let bucket_id = 7_000_000_001;
    let held = BucketLock::try_acquire(&one, bucket_id)
        .await
        .expect("locking")
        .expect("free at first");
    assert!(
        BucketLock::try_acquire(&two, bucket_id)
            .await
            .expect("locking")
            .is_none(),
        "held by the other session"
    );
    // Another bucket is not held up.
    let other = BucketLock::try_acquire(&two, bucket_id + 1)
        .await
        .expect("locking")
        .expect("another bucket is free");
    other.release().await.expect("unlocking");
    held.release().await.expect("unlocking");
    let again = BucketLock::try_acquire(&two, bucket_id)
        .await
        .expect("locking")
        .expect("free once released");
    // Dropped without release (a cancelled pass): the session is closed, which frees it.
    drop(again);
    eventually("a dropped lock freed", || async {
        match BucketLock::try_acquire(&one, bucket_id)
            .await
            .expect("locking")
        {
            Some(lock) => {
                lock.release().await.expect("unlocking");
                true
            }
            None => false,
        }
    })
    .await;
}

/// aws-cli with the root account's keys, in a scratch home.
fn aws(s: &TestServer, home: &Path, args: &[&str]) -> String {
    let keys = s.admin_keys();
    let out = Command::new("aws")
        .args(["--endpoint-url", &s.endpoint(), "--region", "us-east-1"])
        .args(args)
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", &keys.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &keys.secret_key)
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap_or_else(|e| panic!("aws {args:?}: cannot run ({e}); run scripts/setup --test"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "aws {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn aws_cli_puts_and_gets_the_configuration() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("lccli");
    create_bucket(&c, &bucket).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = r#"{"Rules": [
        {"ID": "cli-rule", "Status": "Enabled", "Filter": {"Prefix": "cli/"},
         "Expiration": {"Days": 7},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}
    ]}"#;
    aws(
        s,
        dir.path(),
        &[
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            &bucket,
            "--lifecycle-configuration",
            config,
        ],
    );
    let out = aws(
        s,
        dir.path(),
        &[
            "s3api",
            "get-bucket-lifecycle-configuration",
            "--bucket",
            &bucket,
        ],
    );
    let got: serde_json::Value = serde_json::from_str(&out).expect("JSON from aws-cli");
    let rule = &got["Rules"][0];
    assert_eq!(rule["ID"], "cli-rule", "{out}");
    assert_eq!(rule["Status"], "Enabled");
    assert_eq!(rule["Filter"]["Prefix"], "cli/");
    assert_eq!(rule["Expiration"]["Days"], 7);
    assert_eq!(rule["NoncurrentVersionExpiration"]["NoncurrentDays"], 3);
    assert_eq!(
        rule["NoncurrentVersionExpiration"]["NewerNoncurrentVersions"],
        2
    );
    assert_eq!(
        rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
        2
    );
}
