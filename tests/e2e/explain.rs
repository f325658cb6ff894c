//! Explain (issue 14, item 7): the admin API decides a described request against a
//! bucket's live module and configuration without performing it, and says why: which
//! ACL grant or owner, which bucket policy statement, which Block Public Access or
//! Object Ownership setting, or that nothing allowed it. S3 clients never see reasons.

use coffer_tests::raw::{RawResponse, object_path};
use coffer_tests::{TestServer, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

async fn explain(s: &TestServer, bucket: &str, described: serde_json::Value) -> RawResponse {
    s.admin_raw("POST", &format!("/v1/buckets/{bucket}/explain"))
        .body(described.to_string())
        .sign_v4(s.admin_keys())
        .send()
        .await
}

/// The explanation's decision, error and reason.
async fn why(
    s: &TestServer,
    bucket: &str,
    described: serde_json::Value,
) -> (String, String, String) {
    let resp = explain(s, bucket, described.clone()).await;
    assert_eq!(resp.status, 200, "{described}: {}", resp.text());
    let json: serde_json::Value = serde_json::from_slice(&resp.body).expect("JSON");
    let text = |k: &str| json[k].as_str().unwrap_or("-").to_owned();
    (text("decision"), text("error"), text("reason"))
}

#[tokio::test]
async fn explain_says_why_a_request_would_be_decided_so() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("explain");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "private.txt", b"p").await;
    s.create_account("explain-alt").await;

    let (decision, _, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "GetObject", "key": "private.txt", "account": "admin"}),
    )
    .await;
    assert_eq!(decision, "allow");
    assert_eq!(reason, "the object owner");
    let (decision, error, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "GetObject", "key": "private.txt"}),
    )
    .await;
    assert_eq!(
        (decision.as_str(), error.as_str()),
        ("deny", "AccessDenied")
    );
    assert_eq!(reason, "object ACL does not grant READ");

    // A bucket policy statement, by Sid.
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "PublicRead", "Effect": "Allow",
            "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}},
            {{"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
              "Resource": "arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    c.put_bucket_policy()
        .bucket(&bucket)
        .policy(policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    let (decision, _, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "GetObject", "key": "private.txt"}),
    )
    .await;
    assert_eq!(decision, "allow");
    assert_eq!(reason, "allowed by bucket policy statement \"PublicRead\"");
    let (decision, _, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "DeleteObject", "key": "private.txt", "account": "admin"}),
    )
    .await;
    assert_eq!(decision, "deny");
    assert_eq!(reason, "denied by bucket policy statement \"NoDeletes\"");
    let (decision, _, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "PutObject", "key": "new.txt", "account": "explain-alt"}),
    )
    .await;
    assert_eq!(decision, "deny");
    assert_eq!(
        reason,
        "no bucket policy statement allows it, and bucket ACL does not grant WRITE"
    );

    // Block Public Access and Object Ownership.
    c.put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("PutPublicAccessBlock");
    let (decision, _, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "GetObject", "key": "private.txt"}),
    )
    .await;
    assert_eq!(decision, "deny");
    assert!(reason.contains("RestrictPublicBuckets"), "{reason}");
    c.put_bucket_ownership_controls()
        .bucket(&bucket)
        .ownership_controls(
            aws_sdk_s3::types::OwnershipControls::builder()
                .rules(
                    aws_sdk_s3::types::OwnershipControlsRule::builder()
                        .object_ownership(aws_sdk_s3::types::ObjectOwnership::BucketOwnerEnforced)
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("controls"),
        )
        .send()
        .await
        .expect("PutBucketOwnershipControls");
    let (decision, error, reason) = why(
        s,
        &bucket,
        serde_json::json!({"operation": "PutObject", "key": "k", "account": "admin",
                           "headers": {"x-amz-acl": "public-read"}}),
    )
    .await;
    assert_eq!(
        (decision.as_str(), error.as_str()),
        ("refuse", "AccessControlListNotSupported")
    );
    assert!(reason.contains("BucketOwnerEnforced"), "{reason}");

    // The client itself gets S3's plain error, no reason.
    let resp = s
        .raw("GET", &object_path(&bucket, "private.txt"))
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");
    assert!(
        !resp.text().contains("RestrictPublicBuckets"),
        "{}",
        resp.text()
    );

    // Errors of the endpoint itself.
    let resp = explain(
        s,
        "no-such-bucket-explain",
        serde_json::json!({"operation": "GetObject"}),
    )
    .await;
    assert_eq!(resp.status, 404, "{}", resp.text());
    let resp = explain(
        s,
        &bucket,
        serde_json::json!({"operation": "GetObject", "account": "nobody-at-all"}),
    )
    .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let resp = explain(s, &bucket, serde_json::json!({"operation": 3})).await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let resp = explain(
        s,
        &bucket,
        serde_json::json!({"operation": "GetObject", "key": "private.txt", "version_id": "no such"}),
    )
    .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let alt = s.create_account("explain-nonadmin").await;
    let resp = s
        .admin_raw("POST", &format!("/v1/buckets/{bucket}/explain"))
        .body(serde_json::json!({"operation": "GetObject"}).to_string())
        .sign_v4(&alt)
        .send()
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
}
