//! Object Lock (issue 13, item 4): buckets created with it, default retention, retention
//! and legal holds per version, and every delete path refusing a locked version (the
//! bucket owner included): DeleteObject, DeleteObjects, the console, bucket deletion.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, DefaultRetention, Delete,
    ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, sdk_err, unique_bucket};
use std::time::{Duration, SystemTime};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

async fn locked_bucket(c: &Client, prefix: &str) -> String {
    let bucket = unique_bucket(prefix);
    c.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create a bucket with object lock");
    bucket
}

fn in_days(days: u64) -> DateTime {
    DateTime::from(SystemTime::now() + Duration::from_secs(days * 86_400))
}

async fn put_version(c: &Client, bucket: &str, key: &str) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"kept"))
        .send()
        .await
        .expect("put")
        .version_id
        .expect("version id")
}

async fn delete_version(
    c: &Client,
    bucket: &str,
    key: &str,
    version: &str,
    bypass: bool,
) -> Result<(), coffer_tests::ErrInfo> {
    let out = c
        .delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .set_bypass_governance_retention(bypass.then_some(true))
        .send()
        .await;
    match out {
        Ok(_) => Ok(()),
        Err(_) => Err(sdk_err(out)),
    }
}

#[tokio::test]
async fn a_bucket_created_with_object_lock_is_versioned_for_good() {
    let s = server().await;
    let c = s.client();
    let bucket = locked_bucket(&c, "lockcreate").await;
    let v = c
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("versioning");
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let conf = c
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("lock configuration");
    assert_eq!(
        conf.object_lock_configuration()
            .and_then(|c| c.object_lock_enabled()),
        Some(&ObjectLockEnabled::Enabled)
    );
    let e = sdk_err(
        c.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(409), Some("InvalidBucketState"))
    );

    // A plain bucket: no configuration, and none can be put before versioning.
    let plain = unique_bucket("lockplain");
    create_bucket(&c, &plain).await;
    let e = sdk_err(
        c.get_object_lock_configuration()
            .bucket(&plain)
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(404), Some("ObjectLockConfigurationNotFoundError"))
    );
    let config = ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .build();
    let e = sdk_err(
        c.put_object_lock_configuration()
            .bucket(&plain)
            .object_lock_configuration(config.clone())
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(409), Some("InvalidBucketState"))
    );
    // Lock headers on a bucket without Object Lock.
    let e = sdk_err(
        c.put_object()
            .bucket(&plain)
            .key("k")
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(in_days(1))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("InvalidRequest"), "{}", e.debug);
    // Versioning on, then Object Lock can be turned on.
    crate::support::set_versioning(&c, &plain, BucketVersioningStatus::Enabled).await;
    c.put_object_lock_configuration()
        .bucket(&plain)
        .object_lock_configuration(config)
        .send()
        .await
        .expect("turn object lock on");
    let e = sdk_err(
        c.get_object_retention()
            .bucket(&plain)
            .key("missing")
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchKey"));
}

#[tokio::test]
async fn default_governance_retention_yields_only_to_the_bypass() {
    let s = server().await;
    let c = s.client();
    let bucket = locked_bucket(&c, "lockgov").await;
    c.put_object_lock_configuration()
        .bucket(&bucket)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(1)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("default retention");
    let v = put_version(&c, &bucket, "k").await;
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("head");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert!(head.object_lock_retain_until_date().is_some());
    let retention = c
        .get_object_retention()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("retention");
    assert_eq!(
        retention.retention().and_then(|r| r.mode()),
        Some(&ObjectLockRetentionMode::Governance)
    );

    // The owner cannot delete the version, nor shorten the retention, without the bypass.
    let e = delete_version(&c, &bucket, "k", &v, false)
        .await
        .expect_err("locked");
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(403), Some("AccessDenied"))
    );
    let shorten = |bypass: bool| {
        c.put_object_retention()
            .bucket(&bucket)
            .key("k")
            .version_id(&v)
            .retention(
                ObjectLockRetention::builder()
                    .mode(ObjectLockRetentionMode::Governance)
                    .retain_until_date(DateTime::from(
                        SystemTime::now() + Duration::from_secs(3600),
                    ))
                    .build(),
            )
            .set_bypass_governance_retention(bypass.then_some(true))
            .send()
    };
    let e = sdk_err(shorten(false).await);
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
    // A delete without a version id adds a delete marker: nothing is removed.
    let marker = c
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("a delete marker is allowed");
    assert_eq!(marker.delete_marker(), Some(true));

    // Someone else may not bypass even when the bucket lets them write.
    let alt = s.create_account("lockgov-alt").await;
    let other = s.client_for(&alt);
    let e = delete_version(&other, &bucket, "k", &v, true)
        .await
        .expect_err("not the owner");
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));

    shorten(true).await.expect("shortened with the bypass");
    delete_version(&c, &bucket, "k", &v, true)
        .await
        .expect("deleted with the bypass");
}

#[tokio::test]
async fn compliance_retention_and_legal_holds_stop_every_delete_path() {
    let s = server().await;
    let c = s.client();
    let bucket = locked_bucket(&c, "lockcomp").await;
    let v = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_days(2))
        .body(ByteStream::from_static(b"evidence"))
        .send()
        .await
        .expect("put with compliance retention")
        .version_id
        .expect("version");
    // DeleteObject, with or without the bypass.
    for bypass in [false, true] {
        let e = delete_version(&c, &bucket, "k", &v, bypass)
            .await
            .expect_err("compliance");
        assert_eq!(e.code.as_deref(), Some("AccessDenied"), "bypass {bypass}");
    }
    // DeleteObjects: a per-key error.
    let out = c
        .delete_objects()
        .bucket(&bucket)
        .bypass_governance_retention(true)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("k")
                        .version_id(&v)
                        .build()
                        .expect("id"),
                )
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("delete objects");
    assert!(out.deleted().is_empty(), "{out:?}");
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
    // The bucket keeps it, so it cannot go either.
    let e = sdk_err(c.delete_bucket().bucket(&bucket).send().await);
    assert_eq!(e.code.as_deref(), Some("BucketNotEmpty"));
    // Retention can be extended, never shortened.
    c.put_object_retention()
        .bucket(&bucket)
        .key("k")
        .version_id(&v)
        .retention(
            ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Compliance)
                .retain_until_date(in_days(3))
                .build(),
        )
        .send()
        .await
        .expect("extend");
    for (mode, days) in [
        (ObjectLockRetentionMode::Compliance, 1),
        (ObjectLockRetentionMode::Governance, 5),
    ] {
        let e = sdk_err(
            c.put_object_retention()
                .bucket(&bucket)
                .key("k")
                .version_id(&v)
                .bypass_governance_retention(true)
                .retention(
                    ObjectLockRetention::builder()
                        .mode(mode.clone())
                        .retain_until_date(in_days(days))
                        .build(),
                )
                .send()
                .await,
        );
        assert_eq!(e.code.as_deref(), Some("AccessDenied"), "{mode:?}");
    }
    // The console deletes through the same path.
    let console = coffer_tests::console::ConsoleSession::login(s, s.admin_keys()).await;
    let resp = console
        .s3("DELETE", &format!("/{bucket}/k"))
        .query(&format!("versionId={v}"))
        .send()
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());

    // A legal hold alone protects too, until it is lifted.
    let held = c
        .put_object()
        .bucket(&bucket)
        .key("held")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put with legal hold")
        .version_id
        .expect("version");
    let status = c
        .get_object_legal_hold()
        .bucket(&bucket)
        .key("held")
        .send()
        .await
        .expect("legal hold");
    assert_eq!(
        status.legal_hold().and_then(|h| h.status()),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    let e = delete_version(&c, &bucket, "held", &held, true)
        .await
        .expect_err("held");
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
    c.put_object_legal_hold()
        .bucket(&bucket)
        .key("held")
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::Off)
                .build(),
        )
        .send()
        .await
        .expect("lift the hold");
    delete_version(&c, &bucket, "held", &held, false)
        .await
        .expect("deleted once the hold is lifted");
}

#[tokio::test]
async fn a_retention_that_has_passed_protects_nothing() {
    let s = server().await;
    let c = s.client();
    let bucket = locked_bucket(&c, "lockpast").await;
    let until = SystemTime::now() + Duration::from_secs(3);
    let v = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(DateTime::from(until))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put")
        .version_id
        .expect("version");
    assert!(delete_version(&c, &bucket, "k", &v, false).await.is_err());
    let deadline = std::time::Instant::now() + support::PROPAGATION;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match delete_version(&c, &bucket, "k", &v, false).await {
            Ok(()) => break,
            Err(e) => assert!(std::time::Instant::now() < deadline, "still locked: {e:?}"),
        }
    }
}

#[tokio::test]
async fn lock_requests_are_checked_as_s3_checks_them() {
    let s = server().await;
    let c = s.client();
    let bucket = locked_bucket(&c, "lockerr").await;
    let v = put_version(&c, &bucket, "k").await;
    // No retention yet.
    let e = sdk_err(
        c.get_object_retention()
            .bucket(&bucket)
            .key("k")
            .send()
            .await,
    );
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(404), Some("NoSuchObjectLockConfiguration"))
    );
    let put_raw = |headers: &[(&str, &str)], checksum: bool| {
        let mut r = s.raw("PUT", &object_path(&bucket, "h")).body(b"x".to_vec());
        for (n, v) in headers {
            r = r.header(n, v);
        }
        if checksum {
            r = r.header("content-md5", &coffer_tests::util::md5_base64(b"x"));
        }
        r.sign_v4(s.admin_keys()).send()
    };
    let future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let future = future
        .format(&time::format_description::well_known::Rfc3339)
        .expect("date");
    put_raw(&[("x-amz-object-lock-mode", "GOVERNANCE")], true)
        .await
        .assert_error(400, "InvalidArgument");
    put_raw(
        &[
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            (
                "x-amz-object-lock-retain-until-date",
                "2001-01-01T00:00:00Z",
            ),
        ],
        true,
    )
    .await
    .assert_error(400, "InvalidArgument");
    put_raw(
        &[
            ("x-amz-object-lock-mode", "FOREVER"),
            ("x-amz-object-lock-retain-until-date", &future),
        ],
        true,
    )
    .await
    .assert_error(400, "InvalidArgument");
    put_raw(&[("x-amz-object-lock-legal-hold", "MAYBE")], true)
        .await
        .assert_error(400, "InvalidArgument");
    // Lock headers need Content-MD5 or a checksum.
    put_raw(
        &[
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", &future),
        ],
        false,
    )
    .await
    .assert_error(400, "InvalidRequest");
    let resp = put_raw(
        &[
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", &future),
        ],
        true,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    // PutObjectRetention without an integrity header.
    let doc = format!(
        "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{future}</RetainUntilDate></Retention>"
    );
    let resp = s
        .raw("PUT", &object_path(&bucket, "k"))
        .query(&format!("retention&versionId={v}"))
        .body(doc.into_bytes())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "InvalidRequest");
    // Multipart uploads and copies take the lock headers too.
    let up = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_days(1))
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"p"))
        .send()
        .await
        .expect("part");
    let done = c
        .complete_multipart_upload()
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
    let mp_version = done.version_id().expect("version");
    let e = delete_version(&c, &bucket, "mp", mp_version, true)
        .await
        .expect_err("locked upload");
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
    let copied = c
        .copy_object()
        .bucket(&bucket)
        .key("copy")
        .copy_source(format!("{bucket}/k"))
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .expect("copy with a legal hold");
    let copy_version = copied.version_id().expect("version");
    let e = delete_version(&c, &bucket, "copy", copy_version, true)
        .await
        .expect_err("held copy");
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
    put(&c, &bucket, "plain", b"x").await;
}
