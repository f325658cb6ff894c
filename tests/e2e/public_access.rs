//! Block Public Access (issue 14, item 3): Put/Get/DeletePublicAccessBlock, and each
//! setting as the default module applies it through the real server: BlockPublicAcls
//! refuses public ACLs on every request that sets one (PUT, POST form, PutBucketAcl,
//! PutObjectAcl), IgnorePublicAcls makes public grants count for nothing,
//! BlockPublicPolicy refuses a public PutBucketPolicy, RestrictPublicBuckets limits a
//! public policy to the bucket owner; and `--block-public-access-default` for new buckets.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{ObjectCannedAcl, PublicAccessBlockConfiguration};
use coffer_tests::{AccountKeys, TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::bucket_policy::status_of_get;
use crate::clients_more::aws;
use crate::post_object::{as_refs, form_body, post, sigv4_fields};
use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

static ALT: OnceCell<AccountKeys> = OnceCell::const_new();

/// A second account, with its canonical id.
async fn alt(s: &TestServer) -> &'static AccountKeys {
    support::second_account(&ALT, s, "bpa-alt").await
}

fn block(acls: bool, ignore: bool, policy: bool, restrict: bool) -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(acls)
        .ignore_public_acls(ignore)
        .block_public_policy(policy)
        .restrict_public_buckets(restrict)
        .build()
}

async fn set_block(c: &Client, bucket: &str, config: PublicAccessBlockConfiguration) {
    c.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(config)
        .send()
        .await
        .expect("PutPublicAccessBlock");
}

#[tokio::test]
async fn the_configuration_is_put_read_and_deleted() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("bpa-api");
    create_bucket(&c, &bucket).await;
    let err = c.get_public_access_block().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchPublicAccessBlockConfiguration");

    set_block(&c, &bucket, block(true, false, true, false)).await;
    let got = c
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetPublicAccessBlock");
    let got = got
        .public_access_block_configuration()
        .expect("configuration");
    assert_eq!(got.block_public_acls(), Some(true));
    assert_eq!(got.ignore_public_acls(), Some(false));
    assert_eq!(got.block_public_policy(), Some(true));
    assert_eq!(got.restrict_public_buckets(), Some(false));

    // Malformed documents are MalformedXML.
    s.raw("PUT", &format!("/{bucket}"))
        .query("publicAccessBlock")
        .body(
            b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>\
              </PublicAccessBlockConfiguration>"
                .to_vec(),
        )
        .sign_v4(s.admin_keys())
        .send()
        .await
        .assert_error(400, "MalformedXML");

    // Only the owner may read or change it.
    let other = s.client_for(alt(s).await);
    let err = other.get_public_access_block().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");

    c.delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    let err = c.get_public_access_block().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchPublicAccessBlockConfiguration");

    // aws-cli, as users write it.
    let home = tempfile::tempdir().expect("tempdir");
    aws(
        s,
        home.path(),
        &[
            "s3api",
            "put-public-access-block",
            "--bucket",
            &bucket,
            "--public-access-block-configuration",
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        ],
    );
    let out = aws(
        s,
        home.path(),
        &["s3api", "get-public-access-block", "--bucket", &bucket],
    );
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let config = &json["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(config[setting], true, "{setting} in {out}");
    }
}

#[tokio::test]
async fn block_public_acls_refuses_every_request_setting_a_public_acl() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("bpa-acls");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "private.txt", b"p").await;
    set_block(&c, &bucket, block(true, false, false, false)).await;

    let err = c
        .put_object()
        .bucket(&bucket)
        .key("public.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c
        .put_object()
        .bucket(&bucket)
        .key("public.txt")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c
        .copy_object()
        .bucket(&bucket)
        .key("copy.txt")
        .copy_source(format!("{bucket}/private.txt"))
        .acl(ObjectCannedAcl::AuthenticatedRead)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp.bin")
        .acl(ObjectCannedAcl::PublicReadWrite)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c
        .put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c
        .put_object_acl()
        .bucket(&bucket)
        .key("private.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    // A browser form's `acl` field is an ACL like the header.
    let conditions = [
        serde_json::json!({"bucket": bucket}),
        serde_json::json!({"key": "form.txt"}),
        serde_json::json!({"acl": "public-read"}),
    ];
    let fields = sigv4_fields(
        s,
        600,
        &conditions,
        &[("key", "form.txt".into()), ("acl", "public-read".into())],
    );
    post(
        s,
        &bucket,
        form_body(&as_refs(&fields), "form.txt", b"form"),
    )
    .await
    .assert_error(403, "AccessDenied");
    // Nothing public was stored.
    for key in ["public.txt", "form.txt"] {
        assert!(
            c.head_object()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .is_err(),
            "{key}"
        );
    }
    assert_eq!(status_of_get(s, None, &bucket, "private.txt").await, 403);

    // Non-public ACLs still work.
    c.put_object()
        .bucket(&bucket)
        .key("owner-read.txt")
        .acl(ObjectCannedAcl::BucketOwnerRead)
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("a non-public canned ACL");
    c.put_object_acl()
        .bucket(&bucket)
        .key("private.txt")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect("PutObjectAcl private");

    // Off again: the same request succeeds.
    set_block(&c, &bucket, block(false, false, false, false)).await;
    c.put_object_acl()
        .bucket(&bucket)
        .key("private.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("PutObjectAcl public-read without the block");
    assert_eq!(status_of_get(s, None, &bucket, "private.txt").await, 200);
}

#[tokio::test]
async fn ignore_public_acls_makes_public_grants_count_for_nothing() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("bpa-ignore");
    create_bucket(&c, &bucket).await;
    c.put_object()
        .bucket(&bucket)
        .key("open.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"open".to_vec().into())
        .send()
        .await
        .expect("public-read object");
    assert_eq!(status_of_get(s, None, &bucket, "open.txt").await, 200);
    set_block(&c, &bucket, block(false, true, false, false)).await;
    assert_eq!(status_of_get(s, None, &bucket, "open.txt").await, 403);
    // The grant is still stored: lifting the setting brings it back.
    assert_eq!(
        status_of_get(s, Some(s.admin_keys()), &bucket, "open.txt").await,
        200
    );
    c.delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    assert_eq!(status_of_get(s, None, &bucket, "open.txt").await, 200);
}

#[tokio::test]
async fn public_policies_are_blocked_and_restricted() {
    let s = server().await;
    let c = s.client();
    let alt = alt(s).await;
    let bucket = unique_bucket("bpa-policy");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "doc.txt", b"doc").await;
    let public = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "PublicRead", "Effect": "Allow",
            "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    let restricted = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Alt", "Effect": "Allow",
            "Principal": {{"AWS": "{}"}}, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#,
        alt.canonical_id
    );

    set_block(&c, &bucket, block(false, false, true, false)).await;
    let err = c
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&public)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchBucketPolicy");
    c.put_bucket_policy()
        .bucket(&bucket)
        .policy(&restricted)
        .send()
        .await
        .expect("a policy naming one account is not public");

    // A public policy put while the block was off works until RestrictPublicBuckets.
    set_block(&c, &bucket, block(false, false, false, false)).await;
    c.put_bucket_policy()
        .bucket(&bucket)
        .policy(&public)
        .send()
        .await
        .expect("PutBucketPolicy public");
    assert_eq!(status_of_get(s, None, &bucket, "doc.txt").await, 200);
    assert_eq!(status_of_get(s, Some(alt), &bucket, "doc.txt").await, 200);
    set_block(&c, &bucket, block(false, false, false, true)).await;
    assert_eq!(status_of_get(s, None, &bucket, "doc.txt").await, 403);
    assert_eq!(status_of_get(s, Some(alt), &bucket, "doc.txt").await, 403);
    assert_eq!(
        status_of_get(s, Some(s.admin_keys()), &bucket, "doc.txt").await,
        200
    );
    // A policy that is not public is not restricted.
    c.put_bucket_policy()
        .bucket(&bucket)
        .policy(&restricted)
        .send()
        .await
        .expect("PutBucketPolicy restricted");
    assert_eq!(status_of_get(s, Some(alt), &bucket, "doc.txt").await, 200);
    assert_eq!(status_of_get(s, None, &bucket, "doc.txt").await, 403);
}

/// `--block-public-access-default all`: new buckets get every setting, and a
/// CreateBucket asking for a public ACL is refused, as on S3 since April 2023.
#[tokio::test]
async fn new_buckets_get_the_server_default() {
    let s = TestServer::builder()
        .arg("--block-public-access-default")
        .arg("all")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("bpa-default");
    create_bucket(&c, &bucket).await;
    let got = c
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetPublicAccessBlock on a new bucket");
    let got = got
        .public_access_block_configuration()
        .expect("configuration");
    assert_eq!(got.block_public_acls(), Some(true));
    assert_eq!(got.restrict_public_buckets(), Some(true));
    let err = c
        .create_bucket()
        .bucket(unique_bucket("bpa-public"))
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    let err = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
}
