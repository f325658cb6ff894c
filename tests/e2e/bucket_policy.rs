//! Bucket policies (issue 14, items 1 and 2): Put/Get/DeleteBucketPolicy and
//! GetBucketPolicyStatus with S3's validation, and their evaluation by the default
//! module beside the ACLs, with AWS's example documents: public read of one prefix,
//! read for another account under a prefix, restrict to an IP range, require TLS,
//! deny unencrypted uploads; an explicit Deny beats ACLs and the owner, except on the
//! policy itself.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use coffer_tests::raw::object_path;
use coffer_tests::{AccountKeys, TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::clients_more::{aws, write_file};
use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

static ALT: OnceCell<AccountKeys> = OnceCell::const_new();

/// A second account, with its canonical id.
async fn alt(s: &TestServer) -> &'static AccountKeys {
    support::second_account(&ALT, s, "policy-alt").await
}

async fn put_policy(c: &Client, bucket: &str, policy: &str) {
    c.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketPolicy {policy}: {e:?}"));
}

/// The error code and message of a refused PutBucketPolicy.
async fn refused_policy(c: &Client, bucket: &str, policy: &str) -> (String, String) {
    let err = c
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await;
    let e = sdk_err(err);
    (e.code().to_string(), e.message.unwrap_or_default())
}

async fn is_public(c: &Client, bucket: &str) -> bool {
    c.get_bucket_policy_status()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketPolicyStatus")
        .policy_status()
        .and_then(|s| s.is_public())
        .expect("IsPublic")
}

/// The status of a GET of `bucket/key`, anonymous or signed by `keys`.
pub(crate) async fn status_of_get(
    s: &TestServer,
    keys: Option<&AccountKeys>,
    bucket: &str,
    key: &str,
) -> u16 {
    let req = s.raw("GET", &object_path(bucket, key));
    let req = match keys {
        Some(k) => req.sign_v4(k),
        None => req,
    };
    req.send().await.status
}

#[tokio::test]
async fn policies_are_put_read_and_deleted_with_their_status() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("pol-api");
    create_bucket(&c, &bucket).await;
    let err = c.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchBucketPolicy");
    let err = c.get_bucket_policy_status().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchBucketPolicy");

    // AWS's "public read of one prefix" example, as written (whitespace and all).
    let public = format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Sid": "PublicRead",
      "Effect": "Allow",
      "Principal": "*",
      "Action": ["s3:GetObject", "s3:GetObjectVersion"],
      "Resource": "arn:aws:s3:::{bucket}/public/*"
    }}
  ]
}}"#
    );
    put_policy(&c, &bucket, &public).await;
    let got = c
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketPolicy");
    assert_eq!(got.policy(), Some(public.as_str()));
    assert!(is_public(&c, &bucket).await);

    // Restricted to an IP range: not public.
    let restricted = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*",
            "Condition": {{"IpAddress": {{"aws:SourceIp": "192.0.2.0/24"}}}}}}]}}"#
    );
    put_policy(&c, &bucket, &restricted).await;
    assert!(!is_public(&c, &bucket).await);

    c.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    let err = c.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchBucketPolicy");
    // Deleting again is fine, as on S3.
    c.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy without a policy");
}

#[tokio::test]
async fn malformed_policies_are_refused_with_the_reason() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("pol-bad");
    create_bucket(&c, &bucket).await;
    let statement = |body: &str| {
        format!(r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", {body}}}]}}"#)
    };
    let object = format!("arn:aws:s3:::{bucket}/*");
    let cases = [
        ("not JSON".to_string(), ""),
        (
            statement(&format!(
                r#""Principal": "*", "Action": "s3:GetObjectz", "Resource": "{object}""#
            )),
            "action",
        ),
        (
            statement(
                r#""Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::another-bucket/*""#,
            ),
            "resource",
        ),
        (
            statement(&format!(
                r#""Principal": "*", "Action": "s3:GetObject", "Resource": "{object}",
                   "Condition": {{"StringEqualz": {{"aws:UserAgent": "x"}}}}"#
            )),
            "StringEqualz",
        ),
        (
            statement(&format!(
                r#""Principal": {{"AWS": "0000000000000000000000000000000000000000000000000000000000000000"}},
                   "Action": "s3:GetObject", "Resource": "{object}""#
            )),
            "principal",
        ),
        (
            statement(&format!(
                r#""Action": "s3:GetObject", "Resource": "{object}""#
            )),
            "Principal",
        ),
        (
            statement(&format!(
                r#""Principal": "*", "Action": "s3:ListBucket", "Resource": "{object}""#
            )),
            "resource",
        ),
    ];
    for (policy, hint) in cases {
        let (code, message) = refused_policy(&c, &bucket, &policy).await;
        assert_eq!(code, "MalformedPolicy", "{policy}");
        assert!(
            message.to_lowercase().contains(&hint.to_lowercase()),
            "{policy}: {message:?} should mention {hint:?}"
        );
    }
    // S3's size limit: 20 KB.
    let long = statement(&format!(
        r#""Sid": "{}", "Principal": "*", "Action": "s3:GetObject", "Resource": "{object}""#,
        "x".repeat(21 * 1024)
    ));
    let (code, _) = refused_policy(&c, &bucket, &long).await;
    assert_eq!(code, "MalformedPolicy");
    let err = c.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "NoSuchBucketPolicy");
}

#[tokio::test]
async fn another_account_reads_and_lists_only_under_its_prefix() {
    let s = server().await;
    let c = s.client();
    let alt = alt(s).await;
    let bucket = unique_bucket("pol-xacct");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "shared/report.txt", b"shared").await;
    put(&c, &bucket, "private/diary.txt", b"private").await;
    assert_eq!(
        status_of_get(s, Some(alt), &bucket, "shared/report.txt").await,
        403
    );
    // AWS's "grant read to another account only under a prefix".
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [
            {{"Sid": "ReadShared", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{id}:root"}},
              "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/shared/*"}},
            {{"Sid": "ListShared", "Effect": "Allow", "Principal": {{"AWS": "{id}"}},
              "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::{bucket}",
              "Condition": {{"StringLike": {{"s3:prefix": "shared/*"}}}}}}]}}"#,
        id = alt.canonical_id
    );
    put_policy(&c, &bucket, &policy).await;
    assert!(!is_public(&c, &bucket).await);
    assert_eq!(
        status_of_get(s, Some(alt), &bucket, "shared/report.txt").await,
        200
    );
    assert_eq!(
        status_of_get(s, Some(alt), &bucket, "private/diary.txt").await,
        403
    );
    assert_eq!(
        status_of_get(s, None, &bucket, "shared/report.txt").await,
        403
    );
    let ac = s.client_for(alt);
    let listed = ac
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("shared/")
        .send()
        .await
        .expect("listing under the prefix");
    assert_eq!(listed.key_count(), Some(1));
    let err = ac.list_objects_v2().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    // The policy itself stays the owner's.
    let err = ac.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
}

#[tokio::test]
async fn anonymous_users_read_one_public_prefix() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("pol-anon");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "public/logo.png", b"logo").await;
    put(&c, &bucket, "internal/plan.txt", b"plan").await;
    put_policy(
        &c,
        &bucket,
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/public/*"}}]}}"#
        ),
    )
    .await;
    assert_eq!(
        status_of_get(s, None, &bucket, "public/logo.png").await,
        200
    );
    assert_eq!(
        status_of_get(s, None, &bucket, "internal/plan.txt").await,
        403
    );
    let resp = s
        .raw("PUT", &object_path(&bucket, "public/new.png"))
        .body("x")
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn an_explicit_deny_beats_acls_and_the_owner_but_not_on_the_policy() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("pol-deny");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "keep.txt", b"keep").await;
    put_policy(
        &c,
        &bucket,
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "NoDeletes", "Effect": "Deny",
                "Principal": "*", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#
        ),
    )
    .await;
    let err = c
        .delete_object()
        .bucket(&bucket)
        .key("keep.txt")
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    assert!(support::exists(&c, &bucket, "keep.txt").await);
    // Reads are untouched, and the owner can always remove the policy.
    assert_eq!(support::get(&c, &bucket, "keep.txt").await, b"keep");
    c.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("the owner deletes the policy");
    c.delete_object()
        .bucket(&bucket)
        .key("keep.txt")
        .send()
        .await
        .expect("deletes are allowed again");
}

#[tokio::test]
async fn conditions_see_the_source_address_transport_and_headers() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("pol-cond");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "a.txt", b"a").await;
    // "Restrict to an IP range": requests from elsewhere than 10.0.0.0/8 are denied; the
    // tests talk from 127.0.0.1.
    let deny_outside = |range: &str| {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Deny", "Principal": "*",
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*",
                "Condition": {{"NotIpAddress": {{"aws:SourceIp": "{range}"}}}}}}]}}"#
        )
    };
    put_policy(&c, &bucket, &deny_outside("10.0.0.0/8")).await;
    assert_eq!(
        status_of_get(s, Some(s.admin_keys()), &bucket, "a.txt").await,
        403
    );
    put_policy(&c, &bucket, &deny_outside("127.0.0.0/8")).await;
    assert_eq!(
        status_of_get(s, Some(s.admin_keys()), &bucket, "a.txt").await,
        200
    );

    // "Require TLS": this server speaks plain HTTP, so every read is denied.
    put_policy(
        &c,
        &bucket,
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Deny", "Principal": "*",
                "Action": "s3:*", "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
                "Condition": {{"Bool": {{"aws:SecureTransport": "false"}}}}}}]}}"#
        ),
    )
    .await;
    assert_eq!(
        status_of_get(s, Some(s.admin_keys()), &bucket, "a.txt").await,
        403
    );
    let err = c.list_objects_v2().bucket(&bucket).send().await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");

    // "Deny unencrypted uploads" (Coffer refuses SSE headers themselves, so only the
    // denial of an upload without one can be shown), and a condition on the signature.
    put_policy(
        &c,
        &bucket,
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Sid": "DenyUnencrypted", "Effect": "Deny", "Principal": "*",
                  "Action": "s3:PutObject", "Resource": "arn:aws:s3:::{bucket}/*",
                  "Condition": {{"Null": {{"s3:x-amz-server-side-encryption": "true"}}}}}},
                {{"Sid": "OnlySigV4", "Effect": "Deny", "Principal": "*",
                  "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*",
                  "Condition": {{"StringNotEquals": {{"s3:signatureversion": "AWS4-HMAC-SHA256"}}}}}}]}}"#
        ),
    )
    .await;
    let err = c
        .put_object()
        .bucket(&bucket)
        .key("b.txt")
        .body(ByteStream::from_static(b"b"))
        .send()
        .await;
    assert_eq!(sdk_err(err).code(), "AccessDenied");
    assert_eq!(
        status_of_get(s, Some(s.admin_keys()), &bucket, "a.txt").await,
        200
    );
    let v2 = s
        .raw("GET", &object_path(&bucket, "a.txt"))
        .sign_v2(s.admin_keys())
        .send()
        .await;
    v2.assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn aws_cli_puts_gets_and_deletes_a_bucket_policy() {
    let s = server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let bucket = unique_bucket("cli-pol");
    aws(s, home.path(), &["s3", "mb", &format!("s3://{bucket}")]);
    let file = home.path().join("policy.json");
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "PublicRead", "Effect": "Allow",
            "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    write_file(&file, policy.as_bytes());
    aws(
        s,
        home.path(),
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            &bucket,
            "--policy",
            &format!("file://{}", file.display()),
        ],
    );
    let got = aws(
        s,
        home.path(),
        &["s3api", "get-bucket-policy", "--bucket", &bucket],
    );
    let got: serde_json::Value = serde_json::from_str(&got).expect("JSON");
    assert_eq!(got["Policy"].as_str(), Some(policy.as_str()));
    let status = aws(
        s,
        home.path(),
        &["s3api", "get-bucket-policy-status", "--bucket", &bucket],
    );
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert_eq!(status["PolicyStatus"]["IsPublic"], true);
    aws(
        s,
        home.path(),
        &["s3api", "delete-bucket-policy", "--bucket", &bucket],
    );
}

/// A compiled policy modules cannot read fails closed, and `coffer serve` compiles a
/// stored document again at start when its compiled form is of another format version
/// (what an upgrade that changed the format leaves behind).
#[tokio::test]
async fn unreadable_compiled_policies_deny_and_are_compiled_again_at_start() {
    let mut s = TestServer::builder().start().await;
    let c = s.client();
    let bucket = unique_bucket("pol-recompile");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "a.txt", b"a").await;
    put_policy(
        &c,
        &bucket,
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#
        ),
    )
    .await;
    assert_eq!(status_of_get(&s, None, &bucket, "a.txt").await, 200);
    let db = s.db().await;
    sqlx::query("UPDATE buckets SET policy_compiled = '\\x00ff'::bytea WHERE name = $1")
        .bind(&bucket)
        .execute(&db)
        .await
        .expect("damaging the compiled policy");
    db.close().await;
    assert_eq!(status_of_get(&s, None, &bucket, "a.txt").await, 403);
    assert_eq!(
        status_of_get(&s, Some(s.admin_keys()), &bucket, "a.txt").await,
        403
    );
    s.restart().await;
    assert_eq!(status_of_get(&s, None, &bucket, "a.txt").await, 200);
    assert!(
        s.stderr_log()
            .contains("compiled stored bucket policies again")
    );
}

/// `coffer policy eval` compiles a request's `bucket_policy` as PutBucketPolicy does and
/// evaluates it with the request's `context`, offline (the embedded default module).
#[tokio::test]
async fn policy_eval_applies_a_bucket_policy_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eval = |secure: bool| {
        let request = dir.path().join("req.json");
        let body = r#"{
            "operation": "GetObject",
            "bucket": "docs",
            "key": "report.pdf",
            "principal": "anonymous",
            "bucket_owner": "alice",
            "object_owner": "alice",
            "bucket_acl": {"owner": "alice", "grants": []},
            "object_acl": {"owner": "alice", "grants": []},
            "bucket_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]},
            "context": {"secure_transport": SECURE, "current_time": 1765065600}
        }"#;
        std::fs::write(&request, body.replace("SECURE", &secure.to_string())).expect("writing");
        std::process::Command::new(coffer_tests::coffer_binary())
            .args(["policy", "eval", "--request"])
            .arg(&request)
            .output()
            .expect("running coffer policy eval")
    };
    let allowed = eval(true);
    assert_eq!(allowed.status.code(), Some(0), "{allowed:?}");
    let denied = eval(false);
    assert_eq!(denied.status.code(), Some(1), "{denied:?}");
    // An invalid policy is an error naming the reason, as PutBucketPolicy's.
    let request = dir.path().join("bad.json");
    std::fs::write(
        &request,
        r#"{"operation": "GetObject", "bucket": "docs", "bucket_policy": {"Statement": []}}"#,
    )
    .expect("writing");
    let bad = std::process::Command::new(coffer_tests::coffer_binary())
        .args(["policy", "eval", "--request"])
        .arg(&request)
        .output()
        .expect("running coffer policy eval");
    assert!(!bad.status.success(), "{bad:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(said.contains("MalformedPolicy"), "{bad:?}");
}
