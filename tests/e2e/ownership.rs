//! Object Ownership (issue 14, item 4): Put/Get/DeleteBucketOwnershipControls,
//! `x-amz-object-ownership` on CreateBucket, and the three settings through the real
//! server: `BucketOwnerEnforced` disables ACLs (requests setting any ACL but the bucket
//! owner's full control fail with `AccessControlListNotSupported`, grants count for
//! nothing, the bucket owner owns every object), `BucketOwnerPreferred` gives objects
//! written with `bucket-owner-full-control` to the bucket owner, `ObjectWriter` keeps
//! the writer as owner.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketCannedAcl, ObjectCannedAcl, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
};
use coffer_tests::{AccountKeys, TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

static ALT: OnceCell<AccountKeys> = OnceCell::const_new();

/// A second account, with its canonical id.
async fn alt(s: &TestServer) -> &'static AccountKeys {
    support::second_account(&ALT, s, "own-alt").await
}

fn controls(ownership: ObjectOwnership) -> OwnershipControls {
    OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(ownership)
                .build()
                .expect("rule"),
        )
        .build()
        .expect("controls")
}

async fn set_ownership(c: &Client, bucket: &str, ownership: ObjectOwnership) {
    c.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(controls(ownership))
        .send()
        .await
        .expect("PutBucketOwnershipControls");
}

/// The canonical id of the owner GetObjectAcl reports.
async fn acl_owner(c: &Client, bucket: &str, key: &str) -> String {
    c.get_object_acl()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObjectAcl")
        .owner()
        .and_then(|o| o.id())
        .expect("owner id")
        .to_owned()
}

/// A bucket of the root account where `alt` may write (bucket ACL WRITE grant).
async fn shared_bucket(s: &TestServer, prefix: &str) -> String {
    let c = s.client();
    let alt = alt(s).await;
    let bucket = unique_bucket(prefix);
    create_bucket(&c, &bucket).await;
    c.put_bucket_acl()
        .bucket(&bucket)
        .grant_write(format!("id=\"{}\"", alt.canonical_id))
        .grant_full_control(format!("id=\"{}\"", s.canonical_id_of("admin").await))
        .send()
        .await
        .expect("PutBucketAcl granting WRITE");
    bucket
}

#[tokio::test]
async fn ownership_controls_are_put_read_and_deleted() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("own-api");
    create_bucket(&c, &bucket).await;
    let err = c
        .get_bucket_ownership_controls()
        .bucket(&bucket)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "OwnershipControlsNotFoundError");
    for ownership in [
        ObjectOwnership::BucketOwnerPreferred,
        ObjectOwnership::ObjectWriter,
        ObjectOwnership::BucketOwnerEnforced,
    ] {
        set_ownership(&c, &bucket, ownership.clone()).await;
        let got = c
            .get_bucket_ownership_controls()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketOwnershipControls");
        let rule = &got.ownership_controls().expect("controls").rules()[0];
        assert_eq!(rule.object_ownership(), &ownership);
    }
    c.delete_bucket_ownership_controls()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketOwnershipControls");
    let err = c
        .get_bucket_ownership_controls()
        .bucket(&bucket)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "OwnershipControlsNotFoundError");

    // ACLs can be disabled only while the bucket ACL grants the owner alone.
    c.put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("PutBucketAcl public-read");
    let err = c
        .put_bucket_ownership_controls()
        .bucket(&bucket)
        .ownership_controls(controls(ObjectOwnership::BucketOwnerEnforced))
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "InvalidBucketAclWithObjectOwnership");

    // At creation: the header is checked, and an ACL granting others is refused with
    // BucketOwnerEnforced.
    let err = c
        .create_bucket()
        .bucket(unique_bucket("own-new"))
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "InvalidBucketAclWithObjectOwnership");
    let created = unique_bucket("own-new");
    c.create_bucket()
        .bucket(&created)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .send()
        .await
        .expect("CreateBucket with BucketOwnerEnforced");
    let got = c
        .get_bucket_ownership_controls()
        .bucket(&created)
        .send()
        .await
        .expect("GetBucketOwnershipControls");
    assert_eq!(
        got.ownership_controls().expect("controls").rules()[0].object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
    s.raw("PUT", &format!("/{}", unique_bucket("own-bad")))
        .header("x-amz-object-ownership", "Everyone")
        .sign_v4(s.admin_keys())
        .send()
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn bucket_owner_enforced_disables_acls() {
    let s = server().await;
    let c = s.client();
    let alt = alt(s).await;
    let other = s.client_for(alt);
    let bucket = unique_bucket("own-enforced");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "before.txt", b"before").await;
    set_ownership(&c, &bucket, ObjectOwnership::BucketOwnerEnforced).await;

    // Setting ACLs fails, except the bucket owner's full control.
    let err = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"x".to_vec().into())
        .send()
        .await;
    let e = sdk_err(err);
    assert_eq!(e.code(), "AccessControlListNotSupported");
    assert_eq!(e.status, Some(400));
    let err = c
        .put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessControlListNotSupported");
    let err = c
        .put_object_acl()
        .bucket(&bucket)
        .key("before.txt")
        .grant_read(format!("id=\"{}\"", alt.canonical_id))
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessControlListNotSupported");
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("bucket-owner-full-control is accepted");
    // Reading ACLs still works.
    let admin_id = s.canonical_id_of("admin").await;
    assert_eq!(acl_owner(&c, &bucket, "k").await, admin_id);

    // Grants count for nothing; a bucket policy grants instead, and what another
    // account writes belongs to the bucket owner.
    let granted = shared_bucket(s, "own-granted").await;
    other
        .put_object()
        .bucket(&granted)
        .key("mine.txt")
        .body(b"alt's".to_vec().into())
        .send()
        .await
        .expect("alt writes with its WRITE grant");
    assert_eq!(
        acl_owner(&other, &granted, "mine.txt").await,
        alt.canonical_id
    );
    let c_id = admin_id;
    c.put_bucket_acl()
        .bucket(&granted)
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .expect("back to private before disabling ACLs");
    set_ownership(&c, &granted, ObjectOwnership::BucketOwnerEnforced).await;
    // The object alt wrote before now shows the bucket owner, in its ACL and in listings.
    assert_eq!(acl_owner(&c, &granted, "mine.txt").await, c_id);
    let listed = c
        .list_objects_v2()
        .bucket(&granted)
        .fetch_owner(true)
        .send()
        .await
        .expect("ListObjectsV2");
    assert!(
        listed
            .contents()
            .iter()
            .all(|o| o.owner().and_then(|w| w.id()) == Some(c_id.as_str())),
        "{listed:?}"
    );
    let err = other
        .put_object()
        .bucket(&granted)
        .key("again.txt")
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "AltWrites", "Effect": "Allow",
            "Principal": {{"AWS": "{}"}}, "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": "arn:aws:s3:::{granted}/*"}}]}}"#,
        alt.canonical_id
    );
    c.put_bucket_policy()
        .bucket(&granted)
        .policy(policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    other
        .put_object()
        .bucket(&granted)
        .key("again.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("alt writes under the policy");
    assert_eq!(acl_owner(&c, &granted, "again.txt").await, c_id);
    // The bucket owner reads it without any grant.
    c.get_object()
        .bucket(&granted)
        .key("again.txt")
        .send()
        .await
        .expect("the bucket owner owns it");
}

#[tokio::test]
async fn bucket_owner_preferred_takes_objects_written_with_full_control() {
    let s = server().await;
    let c = s.client();
    let alt = alt(s).await;
    let other = s.client_for(alt);
    let bucket = shared_bucket(s, "own-preferred").await;
    set_ownership(&c, &bucket, ObjectOwnership::BucketOwnerPreferred).await;
    other
        .put_object()
        .bucket(&bucket)
        .key("given.txt")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .body(b"given".to_vec().into())
        .send()
        .await
        .expect("PutObject bucket-owner-full-control");
    other
        .put_object()
        .bucket(&bucket)
        .key("kept.txt")
        .body(b"kept".to_vec().into())
        .send()
        .await
        .expect("PutObject without an ACL");
    assert_eq!(
        acl_owner(&c, &bucket, "given.txt").await,
        s.canonical_id_of("admin").await
    );
    let kept_owner = other
        .get_object_acl()
        .bucket(&bucket)
        .key("kept.txt")
        .send()
        .await
        .expect("GetObjectAcl as the writer")
        .owner()
        .and_then(|o| o.id())
        .map(str::to_owned);
    assert_eq!(kept_owner.as_deref(), Some(alt.canonical_id.as_str()));
    // With ObjectWriter the writer keeps even a bucket-owner-full-control object.
    set_ownership(&c, &bucket, ObjectOwnership::ObjectWriter).await;
    other
        .put_object()
        .bucket(&bucket)
        .key("writer.txt")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .body(b"w".to_vec().into())
        .send()
        .await
        .expect("PutObject as ObjectWriter");
    assert_eq!(
        acl_owner(&other, &bucket, "writer.txt").await,
        alt.canonical_id
    );
}
