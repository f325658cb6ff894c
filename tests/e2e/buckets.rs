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

#[tokio::test]
async fn a_request_expecting_another_owner_is_denied() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("expected-owner");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "a.txt", b"a").await;
    let owner = s.canonical_id_of("admin").await;
    let stranger = other_account().await.canonical_id.clone();
    assert_ne!(owner, stranger);

    // The right owner: everything as usual.
    c.put_object()
        .bucket(&bucket)
        .key("b.txt")
        .expected_bucket_owner(&owner)
        .body(b"b".to_vec().into())
        .send()
        .await
        .expect("PutObject expecting the owner");
    c.list_objects_v2()
        .bucket(&bucket)
        .expected_bucket_owner(&owner)
        .send()
        .await
        .expect("ListObjectsV2 expecting the owner");

    // Another owner: 403 on every kind of operation, and nothing changes.
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("c.txt")
        .expected_bucket_owner(&stranger)
        .body(b"c".to_vec().into())
        .send()
        .await;
    let e = sdk_err(put);
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(403), Some("AccessDenied")),
        "{}",
        e.debug
    );
    let get = c
        .get_object()
        .bucket(&bucket)
        .key("a.txt")
        .expected_bucket_owner(&stranger)
        .send()
        .await;
    assert_eq!(sdk_err(get).status, Some(403));
    let list = c
        .list_objects_v2()
        .bucket(&bucket)
        .expected_bucket_owner(&stranger)
        .send()
        .await;
    assert_eq!(sdk_err(list).status, Some(403));
    let acl = c
        .get_bucket_acl()
        .bucket(&bucket)
        .expected_bucket_owner(&stranger)
        .send()
        .await;
    assert_eq!(sdk_err(acl).status, Some(403));
    let delete = c
        .delete_object()
        .bucket(&bucket)
        .key("a.txt")
        .expected_bucket_owner(&stranger)
        .send()
        .await;
    assert_eq!(sdk_err(delete).status, Some(403));
    assert!(crate::support::exists(&c, &bucket, "a.txt").await);
    assert!(!crate::support::exists(&c, &bucket, "c.txt").await);
    // A copy whose source bucket has another owner than expected.
    let copy = c
        .copy_object()
        .bucket(&bucket)
        .key("copy.txt")
        .copy_source(format!("{bucket}/a.txt"))
        .expected_source_bucket_owner(&stranger)
        .send()
        .await;
    assert_eq!(sdk_err(copy).status, Some(403));
    c.copy_object()
        .bucket(&bucket)
        .key("copy.txt")
        .copy_source(format!("{bucket}/a.txt"))
        .expected_source_bucket_owner(&owner)
        .expected_bucket_owner(&owner)
        .send()
        .await
        .expect("CopyObject expecting the owners");
}

#[tokio::test]
async fn list_buckets_pages_by_max_buckets_and_filters_by_prefix_and_region() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("pager")).await;
    let c = s.client_for(&keys);
    let prefix = unique_bucket("pg");
    let mut names: Vec<String> = (0..5).map(|i| format!("{prefix}-{i}")).collect();
    for name in &names {
        create_bucket(&c, name).await;
    }
    c.create_bucket()
        .bucket(format!("{prefix}-eu"))
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("a bucket in eu-west-1");
    names.push(format!("{prefix}-eu"));
    names.sort();

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = c
            .list_buckets()
            .max_buckets(4)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("ListBuckets page");
        pages += 1;
        let page: Vec<String> = out
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect();
        assert!(page.len() <= 4);
        seen.extend(page);
        match out.continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, names);
    assert_eq!(pages, 2);

    let filtered = c
        .list_buckets()
        .prefix(format!("{prefix}-eu"))
        .send()
        .await
        .expect("ListBuckets with a prefix");
    assert_eq!(filtered.prefix(), Some(format!("{prefix}-eu").as_str()));
    assert_eq!(filtered.buckets().len(), 1);
    let eu = c
        .list_buckets()
        .bucket_region("eu-west-1")
        .send()
        .await
        .expect("ListBuckets of a region");
    let eu: Vec<_> = eu
        .buckets()
        .iter()
        .filter_map(|b| b.bucket_region())
        .collect();
    assert_eq!(eu, ["eu-west-1"]);

    let bad = c.list_buckets().max_buckets(0).send().await;
    let e = sdk_err(bad);
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(400), Some("InvalidArgument")),
        "{}",
        e.debug
    );
}
