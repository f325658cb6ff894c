//! Helpers shared by the test modules.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use coffer_tests::{ServerBuilder, TestServer};
use tokio::sync::OnceCell;

/// How long a change made elsewhere (another process, the admin CLI) may take to reach a
/// server, which polls for it: generous, because CI runs many servers and browsers on two
/// cores at once. The tests check that changes arrive, not how fast (benchmarks do that).
pub const PROPAGATION: std::time::Duration = std::time::Duration::from_secs(60);

/// The server held in `cell`, started with `build()` on first use. Shared servers live
/// until the test process exits (the harness stops them then).
pub async fn shared(
    cell: &'static OnceCell<TestServer>,
    build: fn() -> ServerBuilder,
) -> &'static TestServer {
    cell.get_or_init(|| async move { build().start().await })
        .await
}

/// Creates a bucket (panics on failure).
pub async fn create_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e:?}"));
}

/// Puts an object from memory (panics on failure); returns the ETag.
pub async fn put(client: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("putting {bucket}/{key}: {e:?}"))
        .e_tag
        .unwrap_or_default()
}

/// Gets an object's bytes (panics on failure).
pub async fn get(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("getting {bucket}/{key}: {e:?}"));
    out.body
        .collect()
        .await
        .expect("reading the object body")
        .into_bytes()
        .to_vec()
}

/// Whether an object exists (HEAD; panics on errors other than 404).
pub async fn exists(client: &Client, bucket: &str, key: &str) -> bool {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => true,
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(404), "HEAD {bucket}/{key} failed: {e:?}");
            false
        }
    }
}

/// Every key in a bucket (ListObjectsV2, all pages).
pub async fn all_keys(client: &Client, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing {bucket}: {e:?}"));
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return keys,
        }
    }
}

/// Puts many small objects concurrently (content = the key).
pub async fn put_many(client: &Client, bucket: &str, keys: &[String]) {
    let mut set = tokio::task::JoinSet::new();
    for key in keys {
        let (client, bucket, key) = (client.clone(), bucket.to_string(), key.clone());
        set.spawn(async move { put(&client, &bucket, &key, key.as_bytes()).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("put task");
    }
}

/// Sets a bucket's versioning state (panics on failure).
pub async fn set_versioning(
    client: &Client,
    bucket: &str,
    status: aws_sdk_s3::types::BucketVersioningStatus,
) {
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(status)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("setting the versioning of {bucket}: {e:?}"));
}

/// The account `name` of `s` with its canonical id, created once per `cell` (a test
/// file's other account).
pub async fn second_account<'a>(
    cell: &'a OnceCell<coffer_tests::AccountKeys>,
    s: &TestServer,
    name: &str,
) -> &'a coffer_tests::AccountKeys {
    cell.get_or_init(|| async {
        let mut keys = s.create_account(name).await;
        keys.canonical_id = s.canonical_id_of(name).await;
        keys
    })
    .await
}
