//! `scripts/gen-objects`, which fills a bucket directly in PostgreSQL for the scale
//! benchmark (`scripts/bench-scale`, docs/performance.md "A bucket of 10 million
//! objects"): the rows it writes are objects the server serves like any PUT's, and
//! `coffer bench --prepopulated` reads them (`list-page`, `get`).

use std::path::PathBuf;
use std::process::Output;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use coffer_tests::TestServer;
use md5::{Digest, Md5};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen-objects")
}

/// Runs `scripts/gen-objects` against `server`'s database (by URL, or through the
/// embedded PostgreSQL's socket when the server has no URL).
async fn gen_objects(server: &TestServer, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(script());
    match server.database_url() {
        Some(url) => command.args(["--database-url", url]),
        None => command.arg("--data-dir").arg(server.data_dir()),
    };
    command
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("running scripts/gen-objects")
}

/// The data gen-objects gives object number `i`: the hex MD5 of `i`, repeated, cut to
/// `size` bytes.
fn generated_data(i: u64, size: usize) -> Vec<u8> {
    let digest = hex::encode(Md5::digest(i.to_string()));
    digest.bytes().cycle().take(size).collect()
}

fn quoted_md5(data: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(data)))
}

fn key(i: u64) -> String {
    format!("coffer-bench/obj-{i:08}")
}

/// Runs `coffer bench ARGS --json` against `server` as root.
async fn bench(server: &TestServer, args: &[&str]) -> (bool, serde_json::Value, String) {
    let keys = server.admin_keys();
    let endpoint = server.endpoint();
    let connection = [
        "--endpoint",
        &endpoint,
        "--access-key",
        &keys.access_key,
        "--secret-key",
        &keys.secret_key,
    ];
    crate::bench::bench(&[&connection[..], args].concat()).await
}

/// Generated objects are listed, read, overwritten and deleted like any others; keys
/// that already exist are left alone; `coffer bench --prepopulated` reads them.
async fn generated_objects_are_objects(server: &TestServer, bucket: &str) {
    const COUNT: u64 = 2500;
    const SIZE: usize = 300;
    let s3 = server.client();
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    s3.put_object()
        .bucket(bucket)
        .key(key(5))
        .body(ByteStream::from_static(b"written through S3"))
        .send()
        .await
        .unwrap();

    let out = gen_objects(
        server,
        &[
            "--bucket",
            bucket,
            "--count",
            &COUNT.to_string(),
            "--size",
            &SIZE.to_string(),
            "--batch",
            "1000",
        ],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1000 of 2500 objects"), "{stderr}");

    // Listed in order, each with its size.
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    let mut listed = Vec::new();
    while let Some(page) = pages.next().await {
        for object in page.unwrap().contents() {
            listed.push((object.key().unwrap().to_owned(), object.size().unwrap()));
        }
    }
    assert_eq!(listed.len() as u64, COUNT);
    for (i, (k, size)) in listed.iter().enumerate() {
        assert_eq!(k, &key(i as u64));
        let expected = if i == 5 { 18 } else { SIZE as i64 };
        assert_eq!(*size, expected, "{k}");
    }

    // Read: the data, its ETag, the owner's grant.
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key(1234))
        .send()
        .await
        .unwrap();
    let etag = got.e_tag().unwrap().to_owned();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.as_ref(), generated_data(1234, SIZE).as_slice());
    assert_eq!(etag, quoted_md5(&body));
    let acl = s3
        .get_object_acl()
        .bucket(bucket)
        .key(key(1234))
        .send()
        .await
        .unwrap();
    assert_eq!(acl.grants().len(), 1, "{acl:?}");
    assert_eq!(
        acl.grants()[0].permission().map(|p| p.as_str()),
        Some("FULL_CONTROL")
    );
    let kept = s3
        .get_object()
        .bucket(bucket)
        .key(key(5))
        .send()
        .await
        .unwrap();
    let kept = kept.body.collect().await.unwrap().into_bytes();
    assert_eq!(kept.as_ref(), b"written through S3");

    // coffer bench reads them without writing them first.
    let keys = COUNT.to_string();
    let size = SIZE.to_string();
    let common = [
        "--bucket",
        bucket,
        "--prepopulated",
        "--keys",
        &keys,
        "--size",
        &size,
        "--concurrency",
        "2",
        "--requests",
        "20",
    ];
    let (ok, json, stderr) = bench(
        server,
        &[&common[..], &["--scenario", "list-page"]].concat(),
    )
    .await;
    assert!(ok, "{stderr} {json}");
    let result = &json["results"][0];
    assert_eq!(result["scenario"], "list-page", "{json}");
    assert_eq!(result["ops"], 20, "{json}");
    assert_eq!(result["errors"], 0, "{json}");
    assert_eq!(json["config"]["keep"], true, "{json}");
    // Its GETs check every body's length: key 5 (18 bytes) is overwritten first.
    s3.put_object()
        .bucket(bucket)
        .key(key(5))
        .body(ByteStream::from(generated_data(5, SIZE)))
        .send()
        .await
        .unwrap();
    let (ok, json, stderr) = bench(server, &[&common[..], &["--scenario", "get"]].concat()).await;
    assert!(ok, "{stderr} {json}");
    assert_eq!(json["results"][0]["errors"], 0, "{json}");

    // Overwritten and deleted like any object; the bench left every object there.
    s3.put_object()
        .bucket(bucket)
        .key(key(7))
        .body(ByteStream::from_static(b"new"))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key(7))
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"new"
    );
    s3.delete_object()
        .bucket(bucket)
        .key(key(8))
        .send()
        .await
        .unwrap();
    let count = s3
        .list_objects_v2()
        .bucket(bucket)
        .start_after(key(0))
        .max_keys(10)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = count.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys[..8],
        [
            key(1),
            key(2),
            key(3),
            key(4),
            key(5),
            key(6),
            key(7),
            key(9)
        ]
    );
}

#[tokio::test]
async fn generated_objects_through_a_database_url() {
    let server = TestServer::start().await;
    generated_objects_are_objects(&server, "gen-by-url").await;

    // What it refuses: a bucket that does not exist, one that had versioning, bad sizes.
    let out = gen_objects(&server, &["--bucket", "no-such-bucket", "--count", "3"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bucket named no-such-bucket"));
    let s3 = server.client();
    s3.create_bucket()
        .bucket("gen-versioned")
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket("gen-versioned")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = gen_objects(&server, &["--bucket", "gen-versioned", "--count", "3"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("versioning"));
    for size in ["0", "32769", "x"] {
        let out = gen_objects(
            &server,
            &["--bucket", "gen-by-url", "--count", "3", "--size", size],
        )
        .await;
        assert!(!out.status.success(), "--size {size}");
    }
    let listed = s3
        .list_objects_v2()
        .bucket("gen-versioned")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));

    // --prepopulated needs a bucket that exists.
    for (bucket, refusal) in [
        (None, "--prepopulated needs the --bucket"),
        (Some("gen-missing"), "did not exist"),
    ] {
        let mut args = vec![
            "--prepopulated",
            "--scenario",
            "list-page",
            "--requests",
            "1",
        ];
        args.extend(bucket.into_iter().flat_map(|b| ["--bucket", b]));
        let (ok, _, stderr) = bench(&server, &args).await;
        assert!(!ok, "{args:?}");
        assert!(stderr.contains(refusal), "{stderr}");
    }
}

#[tokio::test]
async fn generated_objects_through_the_embedded_postgres_of_a_data_dir() {
    let server = TestServer::builder().embedded_postgres().start().await;
    generated_objects_are_objects(&server, "gen-by-data-dir").await;
}
