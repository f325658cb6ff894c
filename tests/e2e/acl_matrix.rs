//! The ACL matrix: the bucket owner, a second account and anonymous callers against every
//! operation class, for every canned ACL on buckets and on objects. The expected outcome
//! comes from a small model of S3's ACL rules written here, independent of the default
//! policy module that the server runs.

use coffer_tests::raw::object_path;
use coffer_tests::{
    AccountKeys, RawRequest, RawResponse, ServerBuilder, TestServer, unique_bucket,
};
use tokio::sync::OnceCell;

use crate::support::shared;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// Base domain for virtual-host-style requests.
const DOMAIN: &str = "s3.localhost";

fn build() -> ServerBuilder {
    ServerBuilder::default().domain(DOMAIN)
}

async fn server() -> &'static TestServer {
    shared(&SERVER, build).await
}

/// Who makes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The bucket owner.
    Owner,
    /// Another account.
    Other,
    /// No credentials.
    Anonymous,
}

const EVERYONE: [Who; 3] = [Who::Owner, Who::Other, Who::Anonymous];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perm {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
}

/// What a canned ACL grants to `who`, for a resource owned by `owner` in a bucket owned by
/// `bucket_owner` (S3's canned ACL table).
fn canned_grants(canned: &str, who: Who, owner: Who, bucket_owner: Who) -> Vec<Perm> {
    use Perm::*;
    if who == owner {
        return vec![Read, Write, ReadAcp, WriteAcp];
    }
    match (canned, who) {
        ("public-read", _) => vec![Read],
        ("public-read-write", _) => vec![Read, Write],
        ("authenticated-read", Who::Owner | Who::Other) => vec![Read],
        ("bucket-owner-read", w) if w == bucket_owner => vec![Read],
        ("bucket-owner-full-control", w) if w == bucket_owner => {
            vec![Read, Write, ReadAcp, WriteAcp]
        }
        _ => vec![],
    }
}

struct Callers {
    owner: AccountKeys,
    other: AccountKeys,
}

impl Callers {
    async fn new(server: &TestServer) -> Callers {
        let suffix = unique_bucket("acct");
        Callers {
            owner: server.create_account(&format!("owner-{suffix}")).await,
            other: server.create_account(&format!("other-{suffix}")).await,
        }
    }

    fn send_as(&self, who: Who, req: RawRequest) -> RawRequest {
        match who {
            Who::Owner => req.sign_v4(&self.owner),
            Who::Other => req.sign_v4(&self.other),
            Who::Anonymous => req,
        }
    }
}

/// Whether the request got past authorization: 2xx (or `BucketNotEmpty`, which S3 only
/// reports to callers allowed to delete) counts as allowed, 403 `AccessDenied` as denied,
/// anything else fails the test. HEAD responses carry no body, so their 403 has no code.
#[track_caller]
fn allowed(resp: &RawResponse, what: &str) -> bool {
    match resp.status {
        200..=299 => true,
        409 if resp.code().as_deref() == Some("BucketNotEmpty") => true,
        403 if resp.text().is_empty() => false,
        403 => {
            assert_eq!(
                resp.code().as_deref(),
                Some("AccessDenied"),
                "{what}: {}",
                resp.text()
            );
            false
        }
        other => panic!("{what}: unexpected status {other}: {}", resp.text()),
    }
}

const BUCKET_CANNED: [&str; 4] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
];

const OBJECT_CANNED: [&str; 6] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

#[tokio::test]
async fn bucket_canned_acls_against_every_bucket_operation_class() {
    let server = server().await;
    let callers = Callers::new(server).await;
    let mut failures = Vec::new();
    for canned in BUCKET_CANNED {
        let bucket = unique_bucket("matrix-b");
        let created = callers
            .send_as(
                Who::Owner,
                server
                    .raw("PUT", &format!("/{bucket}"))
                    .header("x-amz-acl", canned),
            )
            .send()
            .await;
        created.assert_success();
        let put = callers
            .send_as(
                Who::Owner,
                server.raw("PUT", &object_path(&bucket, "obj")).body("data"),
            )
            .send()
            .await;
        put.assert_success();

        for who in EVERYONE {
            let grants = canned_grants(canned, who, Who::Owner, Who::Owner);
            let owner = who == Who::Owner;
            let key = format!("new-{who:?}");
            let cases: Vec<(&str, RawRequest, bool)> = vec![
                (
                    "ListObjects",
                    server.raw("GET", &format!("/{bucket}")),
                    grants.contains(&Perm::Read),
                ),
                (
                    "ListObjectsV2",
                    server
                        .raw("GET", &format!("/{bucket}"))
                        .query("list-type=2"),
                    grants.contains(&Perm::Read),
                ),
                (
                    "HeadBucket",
                    server.raw("HEAD", &format!("/{bucket}")),
                    grants.contains(&Perm::Read),
                ),
                (
                    "PutObject",
                    server.raw("PUT", &object_path(&bucket, &key)).body("x"),
                    grants.contains(&Perm::Write),
                ),
                (
                    "DeleteObject",
                    server.raw("DELETE", &object_path(&bucket, &key)),
                    grants.contains(&Perm::Write),
                ),
                (
                    "GetBucketAcl",
                    server.raw("GET", &format!("/{bucket}")).query("acl"),
                    grants.contains(&Perm::ReadAcp),
                ),
                (
                    "PutBucketAcl",
                    server
                        .raw("PUT", &format!("/{bucket}"))
                        .query("acl")
                        .header("x-amz-acl", canned),
                    grants.contains(&Perm::WriteAcp),
                ),
                (
                    "GetBucketLocation",
                    server.raw("GET", &format!("/{bucket}")).query("location"),
                    owner,
                ),
                (
                    "DeleteBucket",
                    server.raw("DELETE", &format!("/{bucket}")),
                    owner,
                ),
            ];
            for (op, req, expected) in cases {
                let resp = callers.send_as(who, req).send().await;
                let what = format!("{op} by {who:?} on a {canned} bucket");
                if allowed(&resp, &what) != expected {
                    failures.push(format!(
                        "{what}: expected allowed={expected}, got {}",
                        resp.status
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn object_canned_acls_against_every_object_operation_class() {
    let server = server().await;
    let callers = Callers::new(server).await;
    let mut failures = Vec::new();
    // The other account writes into the owner's bucket, so the bucket-owner-* ACLs differ
    // from the object owner's rights, and object ACLs are seen not to be inherited.
    let bucket = unique_bucket("matrix-o");
    callers
        .send_as(
            Who::Owner,
            server
                .raw("PUT", &format!("/{bucket}"))
                .header("x-amz-acl", "public-read-write"),
        )
        .send()
        .await
        .assert_success();
    for canned in OBJECT_CANNED {
        let key = format!("by-other-{canned}");
        callers
            .send_as(
                Who::Other,
                server
                    .raw("PUT", &object_path(&bucket, &key))
                    .header("x-amz-acl", canned)
                    .body("data"),
            )
            .send()
            .await
            .assert_success();
        for who in EVERYONE {
            let grants = canned_grants(canned, who, Who::Other, Who::Owner);
            let cases: Vec<(&str, RawRequest, bool)> = vec![
                (
                    "GetObject",
                    server.raw("GET", &object_path(&bucket, &key)),
                    grants.contains(&Perm::Read),
                ),
                (
                    "HeadObject",
                    server.raw("HEAD", &object_path(&bucket, &key)),
                    grants.contains(&Perm::Read),
                ),
                (
                    "GetObjectAcl",
                    server.raw("GET", &object_path(&bucket, &key)).query("acl"),
                    grants.contains(&Perm::ReadAcp),
                ),
                (
                    "PutObjectAcl",
                    server
                        .raw("PUT", &object_path(&bucket, &key))
                        .query("acl")
                        .header("x-amz-acl", canned),
                    grants.contains(&Perm::WriteAcp),
                ),
            ];
            for (op, req, expected) in cases {
                let resp = callers.send_as(who, req).send().await;
                let what = format!("{op} by {who:?} on a {canned} object written by Other");
                if allowed(&resp, &what) != expected {
                    failures.push(format!(
                        "{what}: expected allowed={expected}, got {}",
                        resp.status
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn missing_objects_are_404_only_for_callers_who_may_list() {
    let server = server().await;
    let callers = Callers::new(server).await;
    let private = unique_bucket("missing-p");
    let public = unique_bucket("missing-r");
    for (bucket, canned) in [(&private, "private"), (&public, "public-read")] {
        callers
            .send_as(
                Who::Owner,
                server
                    .raw("PUT", &format!("/{bucket}"))
                    .header("x-amz-acl", canned),
            )
            .send()
            .await
            .assert_success();
    }
    let get = |who, bucket: &str| {
        callers
            .send_as(who, server.raw("GET", &object_path(bucket, "nope")))
            .send()
    };
    get(Who::Owner, &private)
        .await
        .assert_error(404, "NoSuchKey");
    get(Who::Other, &private)
        .await
        .assert_error(403, "AccessDenied");
    get(Who::Anonymous, &private)
        .await
        .assert_error(403, "AccessDenied");
    get(Who::Other, &public)
        .await
        .assert_error(404, "NoSuchKey");
    get(Who::Anonymous, &public)
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn new_objects_are_private_and_acls_are_not_inherited() {
    let server = server().await;
    let callers = Callers::new(server).await;
    let bucket = unique_bucket("inherit");
    callers
        .send_as(
            Who::Owner,
            server
                .raw("PUT", &format!("/{bucket}"))
                .header("x-amz-acl", "public-read"),
        )
        .send()
        .await
        .assert_success();
    callers
        .send_as(
            Who::Owner,
            server
                .raw("PUT", &object_path(&bucket, "plain"))
                .body("secret"),
        )
        .send()
        .await
        .assert_success();
    // The bucket is public-read: anyone may list it ...
    let list = server.raw("GET", &format!("/{bucket}")).send().await;
    list.assert_success();
    assert!(list.text().contains("<Key>plain</Key>"), "{}", list.text());
    // ... but the object, written without an ACL, is private.
    server
        .raw("GET", &object_path(&bucket, "plain"))
        .send()
        .await
        .assert_error(403, "AccessDenied");
    callers
        .send_as(
            Who::Other,
            server.raw("GET", &object_path(&bucket, "plain")),
        )
        .send()
        .await
        .assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn public_read_objects_by_plain_url_in_both_addressing_styles() {
    let server = server().await;
    let callers = Callers::new(server).await;
    let bucket = unique_bucket("plainurl");
    callers
        .send_as(Who::Owner, server.raw("PUT", &format!("/{bucket}")))
        .send()
        .await
        .assert_success();
    for (key, canned) in [("open.txt", "public-read"), ("closed.txt", "private")] {
        callers
            .send_as(
                Who::Owner,
                server
                    .raw("PUT", &object_path(&bucket, key))
                    .header("x-amz-acl", canned)
                    .body(key),
            )
            .send()
            .await
            .assert_success();
    }
    // Path style, with a plain HTTP client.
    let url = |key: &str| format!("{}/{bucket}/{key}", server.endpoint());
    let open = reqwest::get(url("open.txt")).await.expect("GET");
    assert_eq!(open.status().as_u16(), 200);
    assert_eq!(open.text().await.expect("body"), "open.txt");
    let closed = reqwest::get(url("closed.txt")).await.expect("GET");
    assert_eq!(closed.status().as_u16(), 403);
    // Virtual-host style: `bucket.DOMAIN/key`, anonymous.
    let host = format!("{bucket}.{DOMAIN}:{}", server.port());
    let vhost = |key: &str| {
        RawRequest::new(&server.host_header(), "GET", &format!("/{key}")).header("host", &host)
    };
    let open = vhost("open.txt").send().await;
    open.assert_success();
    assert_eq!(open.text(), "open.txt");
    vhost("closed.txt")
        .send()
        .await
        .assert_error(403, "AccessDenied");
    let head = RawRequest::new(&server.host_header(), "HEAD", "/open.txt")
        .header("host", &host)
        .send()
        .await;
    assert_eq!(head.status, 200);
}
