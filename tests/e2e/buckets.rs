//! Bucket operations: create, head, list, delete, naming rules, ownership conflicts,
//! location.

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use coffer_tests::{AccountKeys, TestServer, sdk_err, unique_bucket, xml};
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, put};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();
static OTHER: OnceCell<AccountKeys> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, TestServer::builder).await
}

/// A second account on the shared server.
async fn other_account() -> &'static AccountKeys {
    let s = server().await;
    OTHER
        .get_or_init(|| async { s.create_account("bucket-rival").await })
        .await
}

#[tokio::test]
async fn create_head_list_delete() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("basic");
    create_bucket(&c, &bucket).await;

    c.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("HEAD on an existing bucket");

    let list = c.list_buckets().send().await.expect("ListBuckets");
    let names: Vec<&str> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&bucket.as_str()),
        "{bucket} not in {names:?}"
    );
    let entry = list
        .buckets()
        .iter()
        .find(|b| b.name() == Some(bucket.as_str()))
        .expect("bucket entry");
    assert!(entry.creation_date().is_some(), "CreationDate missing");
    let owner = list.owner().expect("ListBuckets has an Owner");
    assert!(
        owner.id().is_some_and(|id| !id.is_empty()),
        "Owner/ID missing: {owner:?}"
    );
    let admin_id = s.canonical_id_of("admin").await;
    assert_eq!(owner.id(), Some(admin_id.as_str()));

    c.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("deleting an empty bucket");
    let err = sdk_err(c.head_bucket().bucket(&bucket).send().await);
    assert_eq!(err.status, Some(404), "{}", err.debug);
    let list = c.list_buckets().send().await.expect("ListBuckets");
    assert!(
        !list
            .buckets()
            .iter()
            .any(|b| b.name() == Some(bucket.as_str())),
        "deleted bucket still listed"
    );
}

#[tokio::test]
async fn list_buckets_shows_only_own_buckets() {
    let s = server().await;
    let other = other_account().await;
    let mine = unique_bucket("mine");
    let theirs = unique_bucket("theirs");
    create_bucket(&s.client(), &mine).await;
    create_bucket(&s.client_for(other), &theirs).await;

    let list = s
        .client_for(other)
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets");
    let names: Vec<&str> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(names.contains(&theirs.as_str()));
    assert!(
        !names.contains(&mine.as_str()),
        "another account's bucket listed"
    );
    assert_eq!(
        list.owner().and_then(|o| o.id()),
        Some(other.canonical_id.as_str())
    );
}

#[tokio::test]
async fn invalid_bucket_names_are_rejected() {
    let s = server().await;
    let too_long = "a".repeat(64);
    let names = [
        "UpperCase-bucket",
        "ab",
        "192.168.5.4",
        "xn--bucket",
        too_long.as_str(),
        "under_score",
        "-leading-dash",
        "trailing-dash-",
        "double..dots",
        "bucket-s3alias",
    ];
    for name in names {
        // Raw requests: the SDK's endpoint rules would reject some names client-side.
        let resp = s
            .raw("PUT", &format!("/{name}"))
            .sign_v4(s.admin_keys())
            .send()
            .await;
        assert_eq!(
            (resp.status, resp.code().as_deref()),
            (400, Some("InvalidBucketName")),
            "creating {name:?}: {} {}",
            resp.status,
            resp.text()
        );
        resp.assert_request_id();
    }
    // Boundary lengths are fine.
    for name in ["a1b".to_string(), "b".repeat(63)] {
        let resp = s
            .raw("PUT", &format!("/{name}"))
            .sign_v4(s.admin_keys())
            .send()
            .await;
        resp.assert_success();
        let resp = s
            .raw("DELETE", &format!("/{name}"))
            .sign_v4(s.admin_keys())
            .send()
            .await;
        assert_eq!(resp.status, 204, "{}", resp.text());
    }
}

#[tokio::test]
async fn create_existing_bucket_same_account_is_already_owned_by_you() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("owned");
    create_bucket(&c, &bucket).await;
    let err = sdk_err(c.create_bucket().bucket(&bucket).send().await);
    err.assert(409, "BucketAlreadyOwnedByYou");
}

#[tokio::test]
async fn create_existing_bucket_other_account_is_already_exists() {
    let s = server().await;
    let other = other_account().await;
    let bucket = unique_bucket("taken");
    create_bucket(&s.client(), &bucket).await;
    let err = sdk_err(
        s.client_for(other)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await,
    );
    err.assert(409, "BucketAlreadyExists");
    // The bucket still belongs to its owner.
    s.client()
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("owner can still HEAD the bucket");
}

#[tokio::test]
async fn delete_non_empty_bucket_is_bucket_not_empty() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("full");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "k", b"data").await;
    let err = sdk_err(c.delete_bucket().bucket(&bucket).send().await);
    err.assert(409, "BucketNotEmpty");
    c.delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("DeleteObject");
    c.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("deleting the now empty bucket");
}

#[tokio::test]
async fn get_bucket_location_without_constraint() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("loc-none");
    create_bucket(&c, &bucket).await;
    let out = c
        .get_bucket_location()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketLocation");
    // us-east-1 buckets report an empty LocationConstraint.
    let loc = out.location_constraint().map(|l| l.as_str().to_string());
    assert!(
        loc.as_deref().is_none_or(str::is_empty),
        "unexpected LocationConstraint {loc:?}"
    );
    let resp = s
        .raw("GET", &format!("/{bucket}"))
        .query("location")
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_success();
    let text = resp.text();
    assert!(
        xml::has_tag(&text, "LocationConstraint"),
        "no LocationConstraint element: {text}"
    );
    assert_eq!(
        xml::tag_text(&text, "LocationConstraint").as_deref(),
        Some("")
    );
}

#[tokio::test]
async fn get_bucket_location_with_constraint() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("loc-eu");
    c.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("CreateBucket with a LocationConstraint");
    let out = c
        .get_bucket_location()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketLocation");
    assert_eq!(
        out.location_constraint(),
        Some(&BucketLocationConstraint::EuWest1)
    );
}

#[tokio::test]
async fn missing_bucket_is_no_such_bucket() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("missing");
    sdk_err(c.list_objects_v2().bucket(&bucket).send().await).assert(404, "NoSuchBucket");
    sdk_err(c.get_bucket_location().bucket(&bucket).send().await).assert(404, "NoSuchBucket");
    sdk_err(c.delete_bucket().bucket(&bucket).send().await).assert(404, "NoSuchBucket");
    sdk_err(c.get_object().bucket(&bucket).key("k").send().await).assert(404, "NoSuchBucket");
    let err = sdk_err(c.head_bucket().bucket(&bucket).send().await);
    assert_eq!(err.status, Some(404), "{}", err.debug);
    let resp = s
        .raw("PUT", &format!("/{bucket}/k"))
        .body(b"x".to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(404, "NoSuchBucket");
    assert_eq!(
        xml::tag_text(&resp.text(), "BucketName").as_deref(),
        Some(bucket.as_str()),
        "NoSuchBucket should name the bucket: {}",
        resp.text()
    );
}

/// Review finding: CreateBucket did not check its body against the signed payload hash.
#[tokio::test]
async fn create_bucket_checks_its_body_against_the_signed_hash() {
    let s = coffer_tests::TestServer::start().await;
    let bucket = coffer_tests::unique_bucket("hash");
    let body = "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>\
                </CreateBucketConfiguration>";
    let resp = coffer_tests::RawRequest::new(&s.host_header(), "PUT", &format!("/{bucket}"))
        .body(body.as_bytes().to_vec())
        .sign_v4_with(
            s.admin_keys(),
            &coffer_tests::sha256_hex(b"another body"),
            time::OffsetDateTime::now_utc(),
            "us-east-1",
        )
        .send()
        .await;
    resp.assert_error(400, "XAmzContentSHA256Mismatch");
    let head = s.client().head_bucket().bucket(&bucket).send().await;
    assert!(head.is_err(), "no bucket was created");
}
