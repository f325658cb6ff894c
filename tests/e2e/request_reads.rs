//! What a request reads from PostgreSQL, and that reading it stays correct across
//! processes (issue 15): a signed GET reads its access key and its bucket in one
//! statement and its object's row in a second (and, for an object in chunks, the row
//! with its chunk list in a third); two servers sharing one database see each other's
//! writes on the very next request, because nothing a request reads is kept between
//! requests.

use coffer_tests::raw::object_path;
use coffer_tests::xml::error_code;
use coffer_tests::{TestServer, random_bytes, unique_bucket};

use crate::support::{create_bucket, get, put};

/// The pool acquisitions counted so far (every statement outside a transaction, and
/// every transaction, takes one).
async fn acquisitions(server: &TestServer) -> f64 {
    let text = server.admin_raw("GET", "/metrics").send().await.text();
    text.lines()
        .find_map(|l| l.strip_prefix("coffer_db_pool_acquire_duration_seconds_count "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no acquire count in /metrics:\n{text}"))
}

/// Pool acquisitions per signed GET of `key`, over `gets` GETs.
async fn acquisitions_per_get(server: &TestServer, bucket: &str, key: &str, gets: u32) -> f64 {
    let client = server.client();
    get(&client, bucket, key).await;
    let before = acquisitions(server).await;
    for _ in 0..gets {
        get(&client, bucket, key).await;
    }
    (acquisitions(server).await - before) / f64::from(gets)
}

#[tokio::test]
async fn a_signed_get_reads_the_database_twice_or_three_times_for_chunked_objects() {
    let server = TestServer::builder().inline_threshold(1024).start().await;
    let client = server.client();
    let bucket = unique_bucket("reads");
    create_bucket(&client, &bucket).await;
    put(&client, &bucket, "inline", b"stored in its row").await;
    put(&client, &bucket, "chunked", &random_bytes(4096)).await;

    // Two: the access key with the bucket, then the object's row. Three before the key
    // and the bucket were read together. What the server does in the background
    // meanwhile (its pollers) adds a few in all.
    let inline = acquisitions_per_get(&server, &bucket, "inline", 200).await;
    assert!((2.0..2.5).contains(&inline), "{inline} per GET");
    // An object in chunks: its row, then row and chunk list again in one statement.
    let chunked = acquisitions_per_get(&server, &bucket, "chunked", 100).await;
    assert!((3.0..3.5).contains(&chunked), "{chunked} per GET");
}

#[tokio::test]
async fn each_process_sees_the_others_writes_on_the_next_request() {
    let a = TestServer::start().await;
    let b = TestServer::builder().share_database_of(&a).start().await;
    let keys = a.create_account(&unique_bucket("two")).await;
    let (on_a, on_b) = (a.client_for(&keys), b.client_for(&keys));
    let bucket = unique_bucket("two-processes");

    // A bucket created through one process is there through the other.
    create_bucket(&on_a, &bucket).await;
    put(&on_b, &bucket, "k", b"first").await;
    assert_eq!(get(&on_a, &bucket, "k").await, b"first");
    // Each overwrite is read back through the other process at once.
    for round in 0..5 {
        let body = format!("round {round}");
        let (writer, reader) = if round % 2 == 0 {
            (&on_a, &on_b)
        } else {
            (&on_b, &on_a)
        };
        put(writer, &bucket, "k", body.as_bytes()).await;
        assert_eq!(get(reader, &bucket, "k").await, body.as_bytes());
    }

    // A bucket ACL changed through a: anonymous reads through b follow it.
    let anonymous = || b.raw("GET", &object_path(&bucket, "k")).send();
    assert_eq!(anonymous().await.status, 403);
    on_a.put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("put-bucket-acl");
    on_a.put_object_acl()
        .bucket(&bucket)
        .key("k")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("put-object-acl");
    assert_eq!(anonymous().await.status, 200);

    // Deleted through b: gone through a, object then bucket.
    on_b.delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("delete-object");
    let read_on_a = |path: String| a.raw("GET", &path).sign_v4(&keys).send();
    let missing = read_on_a(object_path(&bucket, "k")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(error_code(&missing.text()).as_deref(), Some("NoSuchKey"));
    on_b.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete-bucket");
    let gone = read_on_a(object_path(&bucket, "k")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(error_code(&gone.text()).as_deref(), Some("NoSuchBucket"));

    // A key revoked through a is refused through b on its next request.
    a.revoke_key(&keys.access_key).await;
    let refused = b.raw("GET", "/").sign_v4(&keys).send().await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        error_code(&refused.text()).as_deref(),
        Some("InvalidAccessKeyId")
    );
    // Through a, a request naming a bucket: the key is read with the bucket, and the
    // key decides first.
    let refused = read_on_a(object_path(&bucket, "k")).await;
    assert_eq!(
        error_code(&refused.text()).as_deref(),
        Some("InvalidAccessKeyId")
    );
}
