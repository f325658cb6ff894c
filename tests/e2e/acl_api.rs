//! The ACL API (issue 3): GetBucketAcl / GetObjectAcl render the stored grants in S3's
//! `AccessControlPolicy` shape; PutBucketAcl / PutObjectAcl take an XML body, a canned ACL
//! or grant headers; `x-amz-acl` and `x-amz-grant-*` on CreateBucket and PutObject set the
//! new resource's ACL; and every error S3 defines for these inputs.
//!
//! Tests that need another account to read or write under an ACL live in
//! [`cross_account`]; they need the policy engine (issue 3, authorization part).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, Owner, Permission, Type,
};
use coffer_tests::raw::{REGION, object_path};
use coffer_tests::{AccountKeys, TestServer, sdk_err, unique_bucket};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::support::{create_bucket, put};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const BOB: &str = "acl-bob";
const BOB_EMAIL: &str = "acl-bob@example.com";

/// One server for the module, with a second account that has an e-mail address.
struct Fixture {
    server: TestServer,
    /// The root account's canonical id (its name, and display name, is `admin`).
    admin_id: String,
    /// The second account.
    bob: AccountKeys,
}

static FIXTURE: OnceCell<Fixture> = OnceCell::const_new();

async fn fixture() -> &'static Fixture {
    FIXTURE
        .get_or_init(|| async {
            let server = TestServer::start().await;
            let admin_id = server.canonical_id_of("admin").await;
            let bob = server.create_account_with_email(BOB, BOB_EMAIL).await;
            Fixture {
                server,
                admin_id,
                bob,
            }
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A grant as a test compares it: `CanonicalUser id (DisplayName) PERMISSION` or
/// `Group uri PERMISSION`.
fn show(g: &Grant) -> String {
    let permission = g.permission().map_or("-", |p| p.as_str());
    let Some(grantee) = g.grantee() else {
        return format!("no grantee {permission}");
    };
    match grantee.r#type() {
        Type::CanonicalUser => format!(
            "CanonicalUser {} ({}) {permission}",
            grantee.id().unwrap_or("-"),
            grantee.display_name().unwrap_or("-")
        ),
        Type::Group => format!("Group {} {permission}", grantee.uri().unwrap_or("-")),
        other => format!("{} {grantee:?} {permission}", other.as_str()),
    }
}

fn user(id: &str, name: &str, permission: &str) -> String {
    format!("CanonicalUser {id} ({name}) {permission}")
}

fn group(uri: &str, permission: &str) -> String {
    format!("Group {uri} {permission}")
}

fn owner_full_control(f: &Fixture) -> String {
    user(&f.admin_id, "admin", "FULL_CONTROL")
}

async fn bucket_grants(c: &Client, bucket: &str) -> Vec<String> {
    let out = c
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetBucketAcl {bucket}: {e:?}"));
    out.grants().iter().map(show).collect()
}

async fn object_grants(c: &Client, bucket: &str, key: &str) -> Vec<String> {
    let out = c
        .get_object_acl()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObjectAcl {bucket}/{key}: {e:?}"));
    out.grants().iter().map(show).collect()
}

fn sdk_grant(grantee: Grantee, permission: Permission) -> Grant {
    Grant::builder()
        .grantee(grantee)
        .permission(permission)
        .build()
}

fn canonical(id: &str) -> Grantee {
    Grantee::builder()
        .r#type(Type::CanonicalUser)
        .id(id)
        .build()
        .expect("grantee")
}

fn by_email(email: &str) -> Grantee {
    Grantee::builder()
        .r#type(Type::AmazonCustomerByEmail)
        .email_address(email)
        .build()
        .expect("grantee")
}

fn by_uri(uri: &str) -> Grantee {
    Grantee::builder()
        .r#type(Type::Group)
        .uri(uri)
        .build()
        .expect("grantee")
}

fn policy(owner_id: &str, grants: Vec<Grant>) -> AccessControlPolicy {
    AccessControlPolicy::builder()
        .owner(Owner::builder().id(owner_id).build())
        .set_grants(Some(grants))
        .build()
}

/// An `AccessControlPolicy` body with `grants` (raw `<Grant>` elements).
fn acl_xml(owner_id: &str, grants: &str) -> String {
    format!(
        "<AccessControlPolicy xmlns=\"{S3_XMLNS}\"><Owner><ID>{owner_id}</ID></Owner>\
         <AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    )
}

fn xml_user_grant(id: &str, permission: &str) -> String {
    format!(
        "<Grant><Grantee xmlns:xsi=\"{XSI}\" xsi:type=\"CanonicalUser\"><ID>{id}</ID></Grantee>\
         <Permission>{permission}</Permission></Grant>"
    )
}

/// `PUT ?acl` on `path` (a bucket or an object path) with extra headers and a body, signed by
/// the root account.
async fn raw_put_acl(
    f: &Fixture,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> coffer_tests::RawResponse {
    let mut req = f
        .server
        .raw("PUT", path)
        .query("acl")
        .body(body.as_bytes().to_vec());
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.sign_v4(f.server.admin_keys()).send().await
}

async fn bucket_with_object(c: &Client, prefix: &str) -> String {
    let bucket = unique_bucket(prefix);
    create_bucket(c, &bucket).await;
    put(c, &bucket, "k", b"data").await;
    bucket
}

// ---------------------------------------------------------------------------------------------
// Reading ACLs

#[tokio::test]
async fn new_resources_are_private() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclpriv").await;

    let out = c
        .get_bucket_acl()
        .bucket(&bucket)
        .send()
        .await
        .expect("acl");
    let owner = out.owner().expect("owner");
    assert_eq!(owner.id(), Some(f.admin_id.as_str()));
    assert_eq!(owner.display_name(), Some("admin"));
    assert_eq!(
        out.grants().iter().map(show).collect::<Vec<_>>(),
        [owner_full_control(f)]
    );

    let out = c
        .get_object_acl()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("acl");
    assert_eq!(out.owner().and_then(|o| o.id()), Some(f.admin_id.as_str()));
    assert_eq!(
        out.grants().iter().map(show).collect::<Vec<_>>(),
        [owner_full_control(f)]
    );
}

#[tokio::test]
async fn acl_xml_has_s3_shape() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclshape").await;
    c.put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("public-read");
    for path in [format!("/{bucket}"), object_path(&bucket, "k")] {
        let resp = f
            .server
            .raw("GET", &path)
            .query("acl")
            .sign_v4(f.server.admin_keys())
            .send()
            .await;
        resp.assert_success();
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some("application/xml")
        );
        let text = resp.text();
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{text}"
        );
        assert!(
            text.contains(&format!("<AccessControlPolicy xmlns=\"{S3_XMLNS}\"><Owner><ID>{}</ID><DisplayName>admin</DisplayName></Owner><AccessControlList>", f.admin_id)),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "<Grant><Grantee xmlns:xsi=\"{XSI}\" xsi:type=\"CanonicalUser\"><ID>{}</ID><DisplayName>admin</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>",
                f.admin_id
            )),
            "{text}"
        );
        if path == format!("/{bucket}") {
            assert!(
                text.contains(&format!(
                    "<Grant><Grantee xmlns:xsi=\"{XSI}\" xsi:type=\"Group\"><URI>{ALL_USERS}</URI></Grantee><Permission>READ</Permission></Grant>"
                )),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn acl_of_missing_resources() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclmissing");
    sdk_err(c.get_bucket_acl().bucket(&bucket).send().await).assert(404, "NoSuchBucket");
    sdk_err(
        c.put_bucket_acl()
            .bucket(&bucket)
            .acl(BucketCannedAcl::Private)
            .send()
            .await,
    )
    .assert(404, "NoSuchBucket");
    create_bucket(&c, &bucket).await;
    sdk_err(c.get_object_acl().bucket(&bucket).key("nope").send().await).assert(404, "NoSuchKey");
    sdk_err(
        c.put_object_acl()
            .bucket(&bucket)
            .key("nope")
            .acl(ObjectCannedAcl::Private)
            .send()
            .await,
    )
    .assert(404, "NoSuchKey");
}

// ---------------------------------------------------------------------------------------------
// XML bodies

#[tokio::test]
async fn bucket_acl_xml_round_trip() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclxmlb");
    create_bucket(&c, &bucket).await;
    let grants = vec![
        sdk_grant(canonical(&f.admin_id), Permission::FullControl),
        sdk_grant(canonical(&f.bob.canonical_id), Permission::Read),
        sdk_grant(by_email(BOB_EMAIL), Permission::WriteAcp),
        sdk_grant(by_uri(AUTHENTICATED_USERS), Permission::ReadAcp),
        sdk_grant(by_uri(LOG_DELIVERY), Permission::Write),
    ];
    c.put_bucket_acl()
        .bucket(&bucket)
        .access_control_policy(policy(&f.admin_id, grants))
        .send()
        .await
        .expect("PutBucketAcl with a body");
    let expected = vec![
        owner_full_control(f),
        user(&f.bob.canonical_id, BOB, "READ"),
        // The e-mail grantee is stored as the account it names.
        user(&f.bob.canonical_id, BOB, "WRITE_ACP"),
        group(AUTHENTICATED_USERS, "READ_ACP"),
        group(LOG_DELIVERY, "WRITE"),
    ];
    assert_eq!(bucket_grants(&c, &bucket).await, expected);

    // What GetBucketAcl returns can be put back as it is.
    let got = c
        .get_bucket_acl()
        .bucket(&bucket)
        .send()
        .await
        .expect("acl");
    let again = AccessControlPolicy::builder()
        .set_owner(got.owner().cloned())
        .set_grants(Some(got.grants().to_vec()))
        .build();
    c.put_bucket_acl()
        .bucket(&bucket)
        .access_control_policy(again)
        .send()
        .await
        .expect("putting back what was read");
    assert_eq!(bucket_grants(&c, &bucket).await, expected);

    // An empty list is allowed: the owner keeps its implicit rights (it can still read
    // and write the ACL).
    c.put_bucket_acl()
        .bucket(&bucket)
        .access_control_policy(policy(&f.admin_id, vec![]))
        .send()
        .await
        .expect("empty ACL");
    assert!(bucket_grants(&c, &bucket).await.is_empty());
    c.put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .expect("back to private");
    assert_eq!(bucket_grants(&c, &bucket).await, [owner_full_control(f)]);
}

#[tokio::test]
async fn object_acl_xml_round_trip() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclxmlo").await;
    let grants = vec![
        sdk_grant(canonical(&f.bob.canonical_id), Permission::FullControl),
        sdk_grant(by_uri(ALL_USERS), Permission::Read),
        // E-mail addresses match without regard to case.
        sdk_grant(by_email("ACL-Bob@Example.COM"), Permission::ReadAcp),
    ];
    c.put_object_acl()
        .bucket(&bucket)
        .key("k")
        .access_control_policy(policy(&f.admin_id, grants))
        .send()
        .await
        .expect("PutObjectAcl with a body");
    let expected = vec![
        user(&f.bob.canonical_id, BOB, "FULL_CONTROL"),
        group(ALL_USERS, "READ"),
        user(&f.bob.canonical_id, BOB, "READ_ACP"),
    ];
    assert_eq!(object_grants(&c, &bucket, "k").await, expected);
    let got = c
        .get_object_acl()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("acl");
    assert_eq!(got.owner().and_then(|o| o.id()), Some(f.admin_id.as_str()));
    let again = AccessControlPolicy::builder()
        .set_owner(got.owner().cloned())
        .set_grants(Some(got.grants().to_vec()))
        .build();
    c.put_object_acl()
        .bucket(&bucket)
        .key("k")
        .access_control_policy(again)
        .send()
        .await
        .expect("putting back what was read");
    assert_eq!(object_grants(&c, &bucket, "k").await, expected);
    // The object's data is untouched.
    assert_eq!(crate::support::get(&c, &bucket, "k").await, b"data");
}

#[tokio::test]
async fn xml_body_without_owner_and_with_content_md5() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclnoowner").await;
    let body = format!(
        "<AccessControlPolicy xmlns=\"{S3_XMLNS}\"><AccessControlList>{}</AccessControlList></AccessControlPolicy>",
        xml_user_grant(&f.bob.canonical_id, "READ")
    );
    let md5 = coffer_tests::util::md5_base64(body.as_bytes());
    raw_put_acl(f, &format!("/{bucket}"), &[("content-md5", &md5)], &body)
        .await
        .assert_success();
    assert_eq!(
        bucket_grants(&c, &bucket).await,
        [user(&f.bob.canonical_id, BOB, "READ")]
    );
    let wrong = coffer_tests::util::md5_base64(b"something else");
    raw_put_acl(f, &format!("/{bucket}"), &[("content-md5", &wrong)], &body)
        .await
        .assert_error(400, "BadDigest");
}

// ---------------------------------------------------------------------------------------------
// Canned ACLs

fn bucket_canned_expectations(f: &Fixture) -> Vec<(&'static str, Vec<String>)> {
    let fc = owner_full_control(f);
    vec![
        ("private", vec![fc.clone()]),
        ("public-read", vec![fc.clone(), group(ALL_USERS, "READ")]),
        (
            "public-read-write",
            vec![
                fc.clone(),
                group(ALL_USERS, "READ"),
                group(ALL_USERS, "WRITE"),
            ],
        ),
        (
            "authenticated-read",
            vec![fc.clone(), group(AUTHENTICATED_USERS, "READ")],
        ),
        ("aws-exec-read", vec![fc.clone()]),
        // S3 ignores the bucket-owner-* canned ACLs on buckets.
        ("bucket-owner-read", vec![fc.clone()]),
        ("bucket-owner-full-control", vec![fc.clone()]),
        (
            "log-delivery-write",
            vec![
                fc.clone(),
                group(LOG_DELIVERY, "WRITE"),
                group(LOG_DELIVERY, "READ_ACP"),
            ],
        ),
    ]
}

#[tokio::test]
async fn canned_acls_on_buckets() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclcannedb");
    create_bucket(&c, &bucket).await;
    for (canned, expected) in bucket_canned_expectations(f) {
        c.put_bucket_acl()
            .bucket(&bucket)
            .acl(BucketCannedAcl::from(canned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutBucketAcl {canned}: {e:?}"));
        assert_eq!(bucket_grants(&c, &bucket).await, expected, "{canned}");
    }
}

#[tokio::test]
async fn canned_acls_on_create_bucket() {
    let f = fixture().await;
    let c = f.server.client();
    for (canned, expected) in bucket_canned_expectations(f) {
        let bucket = unique_bucket("aclcreate");
        c.create_bucket()
            .bucket(&bucket)
            .acl(BucketCannedAcl::from(canned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {canned}: {e:?}"));
        assert_eq!(bucket_grants(&c, &bucket).await, expected, "{canned}");
    }
}

/// Canned ACLs on objects the bucket owner writes itself: the same grants as on buckets
/// (the bucket-owner-* ones add nothing to the writer's own FULL_CONTROL), without
/// `log-delivery-write`, which is for buckets only. (With another writer, see
/// [`cross_account`].)
fn object_canned_expectations(f: &Fixture) -> Vec<(&'static str, Vec<String>)> {
    bucket_canned_expectations(f)
        .into_iter()
        .filter(|(canned, _)| *canned != "log-delivery-write")
        .collect()
}

#[tokio::test]
async fn canned_acls_on_objects() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclcannedo").await;
    for (canned, expected) in object_canned_expectations(f) {
        c.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .acl(ObjectCannedAcl::from(canned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObjectAcl {canned}: {e:?}"));
        assert_eq!(object_grants(&c, &bucket, "k").await, expected, "{canned}");
    }
    // log-delivery-write is for buckets only.
    sdk_err(
        c.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .acl(ObjectCannedAcl::from("log-delivery-write"))
            .send()
            .await,
    )
    .assert(400, "InvalidArgument");
}

#[tokio::test]
async fn canned_acls_on_put_object() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclputobj");
    create_bucket(&c, &bucket).await;
    for (canned, expected) in object_canned_expectations(f) {
        c.put_object()
            .bucket(&bucket)
            .key(canned)
            .acl(ObjectCannedAcl::from(canned))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {canned}: {e:?}"));
        assert_eq!(
            object_grants(&c, &bucket, canned).await,
            expected,
            "{canned}"
        );
    }
    // Overwriting without an ACL makes the new object private again.
    put(&c, &bucket, "public-read", b"y").await;
    assert_eq!(
        object_grants(&c, &bucket, "public-read").await,
        [owner_full_control(f)]
    );
}

// ---------------------------------------------------------------------------------------------
// Grant headers

#[tokio::test]
async fn grant_headers_on_put_bucket_acl() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclgrantb");
    create_bucket(&c, &bucket).await;
    c.put_bucket_acl()
        .bucket(&bucket)
        .grant_full_control(format!("id=\"{}\"", f.admin_id))
        .grant_read(format!("id={}, uri=\"{ALL_USERS}\"", f.bob.canonical_id))
        .grant_write_acp(format!("emailAddress=\"{BOB_EMAIL}\""))
        .grant_read_acp(format!("uri={AUTHENTICATED_USERS}"))
        .grant_write(format!("uri=\"{LOG_DELIVERY}\""))
        .send()
        .await
        .expect("PutBucketAcl with grant headers");
    // Exactly the grants asked for, grouped by header.
    assert_eq!(
        bucket_grants(&c, &bucket).await,
        [
            owner_full_control(f),
            user(&f.bob.canonical_id, BOB, "READ"),
            group(ALL_USERS, "READ"),
            group(AUTHENTICATED_USERS, "READ_ACP"),
            group(LOG_DELIVERY, "WRITE"),
            user(&f.bob.canonical_id, BOB, "WRITE_ACP"),
        ]
    );
    // Grant headers add no owner grant of their own.
    c.put_bucket_acl()
        .bucket(&bucket)
        .grant_read(format!("id={}", f.bob.canonical_id))
        .send()
        .await
        .expect("PutBucketAcl");
    assert_eq!(
        bucket_grants(&c, &bucket).await,
        [user(&f.bob.canonical_id, BOB, "READ")]
    );
}

#[tokio::test]
async fn grant_headers_quoting_and_whitespace() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclquote").await;
    let read = format!(
        "  id = \"{}\" ,uri={ALL_USERS} ,  emailAddress = {BOB_EMAIL}  ",
        f.admin_id
    );
    raw_put_acl(
        f,
        &object_path(&bucket, "k"),
        &[
            ("x-amz-grant-read", &read),
            ("x-amz-grant-full-control", &format!("ID={}", f.admin_id)),
        ],
        "",
    )
    .await
    .assert_success();
    assert_eq!(
        object_grants(&c, &bucket, "k").await,
        [
            owner_full_control(f),
            user(&f.admin_id, "admin", "READ"),
            group(ALL_USERS, "READ"),
            user(&f.bob.canonical_id, BOB, "READ"),
        ]
    );
}

#[tokio::test]
async fn grant_headers_on_put_object_and_create_bucket() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclgrantc");
    c.create_bucket()
        .bucket(&bucket)
        .grant_full_control(format!("id={}", f.admin_id))
        .grant_read(format!("emailAddress={BOB_EMAIL}"))
        .send()
        .await
        .expect("CreateBucket with grant headers");
    assert_eq!(
        bucket_grants(&c, &bucket).await,
        [
            owner_full_control(f),
            user(&f.bob.canonical_id, BOB, "READ")
        ]
    );
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .grant_read(format!("uri=\"{ALL_USERS}\""))
        .grant_read_acp(format!("id=\"{}\"", f.bob.canonical_id))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("PutObject with grant headers");
    assert_eq!(
        object_grants(&c, &bucket, "k").await,
        [
            group(ALL_USERS, "READ"),
            user(&f.bob.canonical_id, BOB, "READ_ACP")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn malformed_acl_bodies() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclmalformed").await;
    let grant = |grantee: &str, permission: &str| {
        acl_xml(
            &f.admin_id,
            &format!("<Grant>{grantee}<Permission>{permission}</Permission></Grant>"),
        )
    };
    let admin = format!(
        "<Grantee xmlns:xsi=\"{XSI}\" xsi:type=\"CanonicalUser\"><ID>{}</ID></Grantee>",
        f.admin_id
    );
    let bodies = [
        "not xml at all".to_owned(),
        "<AccessControlPolicy>".to_owned(),
        format!("<AccessControlPolicy xmlns=\"{S3_XMLNS}\"/>"),
        "<Something><AccessControlList/></Something>".to_owned(),
        grant(&admin, "read"),
        grant(&admin, "EVERYTHING"),
        grant(
            &format!("<Grantee><ID>{}</ID></Grantee>", f.admin_id),
            "READ",
        ),
        grant(
            &format!("<Grantee xmlns:xsi=\"{XSI}\" xsi:type=\"Martian\"><ID>x</ID></Grantee>"),
            "READ",
        ),
        grant(
            &format!("<Grantee xmlns:xsi=\"{XSI}\" xsi:type=\"Group\"><ID>x</ID></Grantee>"),
            "READ",
        ),
    ];
    for path in [format!("/{bucket}"), object_path(&bucket, "k")] {
        for body in &bodies {
            let resp = raw_put_acl(f, &path, &[], body).await;
            assert_eq!(
                (resp.status, resp.code().as_deref()),
                (400, Some("MalformedACLError")),
                "{path} {body}: {}",
                resp.text()
            );
            resp.assert_request_id();
        }
    }
    assert_eq!(bucket_grants(&c, &bucket).await, [owner_full_control(f)]);
    assert_eq!(
        object_grants(&c, &bucket, "k").await,
        [owner_full_control(f)]
    );
}

#[tokio::test]
async fn oversize_acl_body_is_rejected() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclbig");
    create_bucket(&c, &bucket).await;
    let filler = "x".repeat(2 << 20);
    let body = acl_xml(
        &f.admin_id,
        &format!(
            "{}<!-- {filler} -->",
            xml_user_grant(&f.bob.canonical_id, "READ")
        ),
    );
    raw_put_acl(f, &format!("/{bucket}"), &[], &body)
        .await
        .assert_error(400, "MalformedXML");
    assert_eq!(bucket_grants(&c, &bucket).await, [owner_full_control(f)]);
}

#[tokio::test]
async fn invalid_canned_acls() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclbadcanned").await;
    for bad in ["public", "PRIVATE", "public_read"] {
        sdk_err(
            c.put_bucket_acl()
                .bucket(&bucket)
                .acl(BucketCannedAcl::from(bad))
                .send()
                .await,
        )
        .assert(400, "InvalidArgument");
        sdk_err(
            c.put_object_acl()
                .bucket(&bucket)
                .key("k")
                .acl(ObjectCannedAcl::from(bad))
                .send()
                .await,
        )
        .assert(400, "InvalidArgument");
        sdk_err(
            c.put_object()
                .bucket(&bucket)
                .key("new")
                .acl(ObjectCannedAcl::from(bad))
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
        )
        .assert(400, "InvalidArgument");
        let other = unique_bucket("aclbadcreate");
        sdk_err(
            c.create_bucket()
                .bucket(&other)
                .acl(BucketCannedAcl::from(bad))
                .send()
                .await,
        )
        .assert(400, "InvalidArgument");
        sdk_err(c.head_bucket().bucket(&other).send().await).assert(404, "NotFound");
    }
    sdk_err(c.head_object().bucket(&bucket).key("new").send().await).assert(404, "NotFound");
    sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("new")
            .acl(ObjectCannedAcl::from("log-delivery-write"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    )
    .assert(400, "InvalidArgument");
}

#[tokio::test]
async fn put_object_checks_the_acl_before_reading_the_body() {
    // The body never comes: a server that read it first would answer IncompleteBody.
    let f = fixture().await;
    let c = f.server.client();
    let bucket = unique_bucket("aclearly");
    create_bucket(&c, &bucket).await;
    let cases: [(&str, &str, &str); 3] = [
        ("x-amz-acl", "bogus", "InvalidArgument"),
        ("x-amz-grant-read", "id=nobody-at-all", "InvalidArgument"),
        (
            "x-amz-grant-read",
            "emailAddress=nobody@example.com",
            "UnresolvableGrantByEmailAddress",
        ),
    ];
    for (name, value, code) in cases {
        let resp = f
            .server
            .raw("PUT", &object_path(&bucket, "early"))
            .header(name, value)
            .sign_v4_with(
                f.server.admin_keys(),
                "UNSIGNED-PAYLOAD",
                OffsetDateTime::now_utc(),
                REGION,
            )
            .send_truncated(1 << 20)
            .await
            .expect("an answer");
        resp.assert_error(400, code);
    }
    sdk_err(c.head_object().bucket(&bucket).key("early").send().await).assert(404, "NotFound");
}

#[tokio::test]
async fn unknown_grantees() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclunknown").await;
    let unknown_id = "0".repeat(64);
    let bad_uri = "http://acs.amazonaws.com/groups/global/Everybody";

    // Headers.
    let header_cases: [(String, &str); 4] = [
        (format!("id={unknown_id}"), "InvalidArgument"),
        (format!("uri=\"{bad_uri}\""), "InvalidArgument"),
        (
            "emailAddress=nobody@example.com".to_owned(),
            "UnresolvableGrantByEmailAddress",
        ),
        ("name=whoever".to_owned(), "InvalidArgument"),
    ];
    for (value, code) in &header_cases {
        sdk_err(
            c.put_bucket_acl()
                .bucket(&bucket)
                .grant_read(value)
                .send()
                .await,
        )
        .assert(400, code);
        sdk_err(
            c.put_object_acl()
                .bucket(&bucket)
                .key("k")
                .grant_read(value)
                .send()
                .await,
        )
        .assert(400, code);
        sdk_err(
            c.put_object()
                .bucket(&bucket)
                .key("new")
                .grant_read(value)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
        )
        .assert(400, code);
        sdk_err(
            c.create_bucket()
                .bucket(unique_bucket("aclunknownc"))
                .grant_read(value)
                .send()
                .await,
        )
        .assert(400, code);
    }
    // The message and argument S3 gives for an unknown id.
    let resp = raw_put_acl(
        f,
        &format!("/{bucket}"),
        &[("x-amz-grant-read", &format!("id={unknown_id}"))],
        "",
    )
    .await;
    resp.assert_error(400, "InvalidArgument");
    let text = resp.text();
    assert!(text.contains("<Message>Invalid id</Message>"), "{text}");
    assert!(
        text.contains(&format!("<ArgumentValue>{unknown_id}</ArgumentValue>")),
        "{text}"
    );

    // Bodies.
    let body_cases = [
        (
            sdk_grant(canonical(&unknown_id), Permission::Read),
            "InvalidArgument",
        ),
        (
            sdk_grant(by_uri(bad_uri), Permission::Read),
            "InvalidArgument",
        ),
        (
            sdk_grant(by_email("nobody@example.com"), Permission::Read),
            "UnresolvableGrantByEmailAddress",
        ),
    ];
    for (grant, code) in body_cases {
        let grants = vec![
            sdk_grant(canonical(&f.admin_id), Permission::FullControl),
            grant,
        ];
        sdk_err(
            c.put_bucket_acl()
                .bucket(&bucket)
                .access_control_policy(policy(&f.admin_id, grants.clone()))
                .send()
                .await,
        )
        .assert(400, code);
        sdk_err(
            c.put_object_acl()
                .bucket(&bucket)
                .key("k")
                .access_control_policy(policy(&f.admin_id, grants))
                .send()
                .await,
        )
        .assert(400, code);
    }
    // Nothing changed, nothing was created.
    assert_eq!(bucket_grants(&c, &bucket).await, [owner_full_control(f)]);
    assert_eq!(
        object_grants(&c, &bucket, "k").await,
        [owner_full_control(f)]
    );
    sdk_err(c.head_object().bucket(&bucket).key("new").send().await).assert(404, "NotFound");
}

#[tokio::test]
async fn conflicting_and_missing_acl_inputs() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclconflict").await;
    let body = acl_xml(&f.admin_id, &xml_user_grant(&f.admin_id, "FULL_CONTROL"));
    let grant_read = format!("id={}", f.bob.canonical_id);
    for path in [format!("/{bucket}"), object_path(&bucket, "k")] {
        // Canned and grant headers together.
        raw_put_acl(
            f,
            &path,
            &[("x-amz-acl", "private"), ("x-amz-grant-read", &grant_read)],
            "",
        )
        .await
        .assert_error(400, "InvalidRequest");
        // A header and a body.
        raw_put_acl(f, &path, &[("x-amz-acl", "public-read")], &body)
            .await
            .assert_error(400, "UnexpectedContent");
        raw_put_acl(f, &path, &[("x-amz-grant-read", &grant_read)], &body)
            .await
            .assert_error(400, "UnexpectedContent");
        // Neither.
        let resp = raw_put_acl(f, &path, &[], "").await;
        resp.assert_error(400, "MissingSecurityHeader");
        assert!(
            resp.text()
                .contains("<MissingHeaderName>x-amz-acl</MissingHeaderName>"),
            "{}",
            resp.text()
        );
    }
    // The SDK can send a canned ACL with grant headers too.
    sdk_err(
        c.put_object()
            .bucket(&bucket)
            .key("new")
            .acl(ObjectCannedAcl::PublicRead)
            .grant_read(grant_read.clone())
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    )
    .assert(400, "InvalidRequest");
    sdk_err(
        c.create_bucket()
            .bucket(unique_bucket("aclconflictc"))
            .acl(BucketCannedAcl::PublicRead)
            .grant_read(grant_read)
            .send()
            .await,
    )
    .assert(400, "InvalidRequest");
    assert_eq!(bucket_grants(&c, &bucket).await, [owner_full_control(f)]);
    assert_eq!(
        object_grants(&c, &bucket, "k").await,
        [owner_full_control(f)]
    );
}

#[tokio::test]
async fn owner_in_body_must_be_the_resource_owner() {
    let f = fixture().await;
    let c = f.server.client();
    let bucket = bucket_with_object(&c, "aclowner").await;
    let grants = vec![sdk_grant(canonical(&f.admin_id), Permission::FullControl)];
    sdk_err(
        c.put_bucket_acl()
            .bucket(&bucket)
            .access_control_policy(policy(&f.bob.canonical_id, grants.clone()))
            .send()
            .await,
    )
    .assert(403, "AccessDenied");
    sdk_err(
        c.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .access_control_policy(policy(&f.bob.canonical_id, grants))
            .send()
            .await,
    )
    .assert(403, "AccessDenied");
}

/// Reading and writing under ACLs granted to other accounts: these need the policy engine
/// (S3's ACL semantics) in place of the owner-only rule.
mod cross_account {
    use super::*;

    #[tokio::test]
    async fn read_acp_lets_another_account_read_a_bucket_acl() {
        let f = fixture().await;
        let c = f.server.client();
        let b = f.server.client_for(&f.bob);
        let bucket = unique_bucket("aclxreadb");
        create_bucket(&c, &bucket).await;
        sdk_err(b.get_bucket_acl().bucket(&bucket).send().await).assert(403, "AccessDenied");
        c.put_bucket_acl()
            .bucket(&bucket)
            .grant_full_control(format!("id={}", f.admin_id))
            .grant_read_acp(format!("emailAddress={BOB_EMAIL}"))
            .send()
            .await
            .expect("PutBucketAcl");
        assert_eq!(
            bucket_grants(&b, &bucket).await,
            [
                owner_full_control(f),
                user(&f.bob.canonical_id, BOB, "READ_ACP")
            ]
        );
        // READ_ACP does not let it write the ACL.
        sdk_err(
            b.put_bucket_acl()
                .bucket(&bucket)
                .acl(BucketCannedAcl::PublicRead)
                .send()
                .await,
        )
        .assert(403, "AccessDenied");
    }

    #[tokio::test]
    async fn write_acp_lets_another_account_write_an_object_acl() {
        let f = fixture().await;
        let c = f.server.client();
        let b = f.server.client_for(&f.bob);
        let bucket = bucket_with_object(&c, "aclxwriteo").await;
        sdk_err(b.get_object_acl().bucket(&bucket).key("k").send().await)
            .assert(403, "AccessDenied");
        c.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .access_control_policy(policy(
                &f.admin_id,
                vec![
                    sdk_grant(canonical(&f.admin_id), Permission::FullControl),
                    sdk_grant(canonical(&f.bob.canonical_id), Permission::WriteAcp),
                    sdk_grant(canonical(&f.bob.canonical_id), Permission::ReadAcp),
                ],
            ))
            .send()
            .await
            .expect("PutObjectAcl");
        // Bob may rewrite it, naming the object's owner (not itself) as the owner.
        sdk_err(
            b.put_object_acl()
                .bucket(&bucket)
                .key("k")
                .access_control_policy(policy(&f.bob.canonical_id, vec![]))
                .send()
                .await,
        )
        .assert(403, "AccessDenied");
        b.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await
            .expect("WRITE_ACP allows PutObjectAcl");
        // The canned ACL is about the object's owner, not the caller.
        assert_eq!(
            object_grants(&c, &bucket, "k").await,
            [owner_full_control(f), group(ALL_USERS, "READ")]
        );
        // And now Bob can no longer read it (the grant list no longer names him).
        sdk_err(b.get_object_acl().bucket(&bucket).key("k").send().await)
            .assert(403, "AccessDenied");
    }

    #[tokio::test]
    async fn bucket_owner_canned_acls_on_another_accounts_object() {
        let f = fixture().await;
        let c = f.server.client();
        let b = f.server.client_for(&f.bob);
        let bucket = unique_bucket("aclxbo");
        create_bucket(&c, &bucket).await;
        c.put_bucket_acl()
            .bucket(&bucket)
            .grant_full_control(format!("id={}", f.admin_id))
            .grant_write(format!("id={}", f.bob.canonical_id))
            .send()
            .await
            .expect("PutBucketAcl");
        let bob_fc = user(&f.bob.canonical_id, BOB, "FULL_CONTROL");
        let cases = [
            ("private", vec![bob_fc.clone()]),
            (
                "bucket-owner-read",
                vec![bob_fc.clone(), user(&f.admin_id, "admin", "READ")],
            ),
            (
                "bucket-owner-full-control",
                vec![bob_fc.clone(), user(&f.admin_id, "admin", "FULL_CONTROL")],
            ),
        ];
        for (canned, expected) in cases {
            b.put_object()
                .bucket(&bucket)
                .key(canned)
                .acl(ObjectCannedAcl::from(canned))
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("PutObject {canned} by another account: {e:?}"));
            let out = b
                .get_object_acl()
                .bucket(&bucket)
                .key(canned)
                .send()
                .await
                .expect("the object's owner reads its ACL");
            assert_eq!(
                out.owner().and_then(|o| o.id()),
                Some(f.bob.canonical_id.as_str())
            );
            assert_eq!(
                out.grants().iter().map(show).collect::<Vec<_>>(),
                expected,
                "{canned}"
            );
            // Same through PutObjectAcl by the object's owner.
            b.put_object_acl()
                .bucket(&bucket)
                .key(canned)
                .acl(ObjectCannedAcl::from(canned))
                .send()
                .await
                .expect("PutObjectAcl by the object's owner");
            assert_eq!(
                object_grants(&b, &bucket, canned).await,
                expected,
                "{canned}"
            );
        }
        // bucket-owner-full-control lets the bucket owner read the object's ACL.
        assert_eq!(
            object_grants(&c, &bucket, "bucket-owner-full-control").await,
            [bob_fc, user(&f.admin_id, "admin", "FULL_CONTROL")]
        );
    }

    #[tokio::test]
    async fn public_read_object_is_readable_anonymously() {
        let f = fixture().await;
        let c = f.server.client();
        let bucket = bucket_with_object(&c, "aclxanon").await;
        let anonymous_get = || f.server.raw("GET", &object_path(&bucket, "k")).send();
        anonymous_get().await.assert_error(403, "AccessDenied");
        c.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await
            .expect("public-read");
        let resp = anonymous_get().await;
        resp.assert_success();
        assert_eq!(resp.body, b"data");
    }
}

/// Review finding: PutObjectAcl checked the version it loaded but updated whatever had
/// the key by then. An overwrite by another account while the ACL's body is still
/// arriving must not receive the caller's grants.
#[tokio::test]
async fn put_object_acl_sets_only_the_version_it_was_authorized_on() {
    let s = coffer_tests::TestServer::start().await;
    let owner = s.client();
    let bucket = coffer_tests::unique_bucket("acl-race");
    crate::support::create_bucket(&owner, &bucket).await;
    let writer = s
        .create_account(&coffer_tests::unique_bucket("writer"))
        .await;
    let writer_id = writer.canonical_id.clone();
    owner
        .put_bucket_acl()
        .bucket(&bucket)
        .grant_write(format!("id={writer_id}"))
        .grant_full_control(format!("id={}", s.canonical_id_of("admin").await))
        .send()
        .await
        .expect("bucket ACL");
    crate::support::put(&owner, &bucket, "k", b"the owner's").await;
    // The owner makes its object public-read, slowly.
    let body = "<AccessControlPolicy><AccessControlList><Grant><Grantee \
        xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">\
        <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>\
        <Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>";
    let mut slow = coffer_tests::RawRequest::new(&s.host_header(), "PUT", &format!("/{bucket}/k"))
        .query("acl")
        .body(body.as_bytes().to_vec())
        .sign_v4(s.admin_keys())
        .start_upload(body.len())
        .await;
    slow.send(&body.as_bytes()[..10]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Meanwhile another account overwrites the key.
    crate::support::put(&s.client_for(&writer), &bucket, "k", b"the writer's").await;
    slow.send(&body.as_bytes()[10..]).await;
    let resp = slow.finish().await.expect("an answer");
    resp.assert_error(404, "NoSuchKey");
    // The writer's object is not public.
    let anonymous = coffer_tests::RawRequest::new(&s.host_header(), "GET", &format!("/{bucket}/k"))
        .send()
        .await;
    assert_eq!(
        anonymous.status, 403,
        "the new version did not get the owner's grants"
    );
}
