//! Multipart uploads with aws-sdk-s3: the whole life cycle, part numbers, every error
//! CompleteMultipartUpload can give, listings with their markers, UploadPartCopy,
//! conditional completes, ACLs given at creation, expiry of abandoned uploads, and that
//! completing moves chunk references without writing a byte.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ObjectCannedAcl};
use coffer_tests::raw::object_path;
use coffer_tests::{TestServer, random_bytes, sdk_err, unique_bucket, volumes};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::OnceCell;

use crate::support::{self, create_bucket, exists, get, put};

/// The minimum part size the server is started with (S3's is 5 MiB).
const MIN_PART: usize = 64 * 1024;
const CHUNK: usize = 32 * 1024;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    support::shared(&SERVER, || {
        TestServer::builder()
            .chunk_size(CHUNK)
            .inline_threshold(1024)
            .arg("--multipart-min-part-size")
            .arg(&MIN_PART.to_string())
    })
    .await
}

async fn create(c: &Client, bucket: &str, key: &str) -> String {
    c.create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("create upload")
        .upload_id()
        .expect("upload id")
        .to_string()
}

async fn upload(c: &Client, bucket: &str, key: &str, id: &str, n: i32, data: &[u8]) -> String {
    c.upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .part_number(n)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("part {n}: {e:?}"))
        .e_tag()
        .expect("part etag")
        .to_string()
}

fn completed(parts: &[(i32, &str)]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, etag)| {
                    CompletedPart::builder()
                        .part_number(*n)
                        .e_tag(*etag)
                        .build()
                })
                .collect(),
        ))
        .build()
}

fn md5_etag(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for p in parts {
        all.extend_from_slice(&Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(Md5::digest(&all)), parts.len())
}

/// Chunk files on the server's first volume (every volume holds a copy of each chunk).
fn chunk_files(data_dir: &Path) -> Vec<PathBuf> {
    volumes::chunk_files(&data_dir.join("volumes/0"))
}

/// Waits until the first volume holds `n` chunk files (released copies are unlinked
/// once `--delete-delay`, 0 in these tests, has passed).
async fn expect_chunk_files(data_dir: &Path, n: usize, what: &str) {
    volumes::eventually(what, Duration::from_secs(20), || {
        chunk_files(data_dir).len() == n
    })
    .await;
}

#[tokio::test]
async fn upload_complete_and_read_back_by_part() {
    // A server of its own: the test counts the chunk files on its volume, which the
    // shared server's other tests would change meanwhile.
    let s = &TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024)
        .arg("--multipart-min-part-size")
        .arg(&MIN_PART.to_string())
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("mpu");
    create_bucket(&c, &bucket).await;
    let key = "big/object.bin";
    let id = create(&c, &bucket, key).await;
    let parts = [
        random_bytes(MIN_PART + 100),
        random_bytes(MIN_PART),
        random_bytes(777),
    ];
    let mut etags = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        etags.push(upload(&c, &bucket, key, &id, i as i32 + 1, data).await);
    }
    // Nothing is visible before the upload completes.
    assert!(!exists(&c, &bucket, key).await);
    let listed = c
        .list_parts()
        .bucket(&bucket)
        .key(key)
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(listed.parts().len(), 3);
    assert_eq!(listed.parts()[1].size(), Some(MIN_PART as i64));
    assert_eq!(listed.parts()[2].e_tag(), Some(etags[2].as_str()));

    let files_before = chunk_files(s.data_dir());
    let out = c
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &etags[0]), (2, &etags[1]), (3, &etags[2])]))
        .send()
        .await
        .expect("complete");
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    assert_eq!(out.e_tag(), Some(md5_etag(&slices).as_str()));
    assert_eq!(
        chunk_files(s.data_dir()),
        files_before,
        "completing wrote and removed no chunk file"
    );
    let whole: Vec<u8> = parts.concat();
    assert_eq!(get(&c, &bucket, key).await, whole);

    for (n, data) in parts.iter().enumerate() {
        let part = c
            .get_object()
            .bucket(&bucket)
            .key(key)
            .part_number(n as i32 + 1)
            .send()
            .await
            .expect("get part");
        assert_eq!(part.parts_count(), Some(3));
        assert_eq!(part.content_length(), Some(data.len() as i64));
        let body = part.body.collect().await.expect("body").into_bytes();
        assert!(body.as_ref() == data.as_slice(), "part {}", n + 1);
        let head = c
            .head_object()
            .bucket(&bucket)
            .key(key)
            .part_number(n as i32 + 1)
            .send()
            .await
            .expect("head part");
        assert_eq!(head.content_length(), Some(data.len() as i64));
        assert_eq!(head.parts_count(), Some(3));
    }
    let err = sdk_err(
        c.get_object()
            .bucket(&bucket)
            .key(key)
            .part_number(4)
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("InvalidPartNumber"));
    // The upload is gone.
    let err = sdk_err(
        c.list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("NoSuchUpload"));
}

#[tokio::test]
async fn abort_releases_parts_and_reuploading_a_part_replaces_it() {
    let s = TestServer::builder()
        .chunk_size(CHUNK)
        .arg("--delete-delay")
        .arg("0")
        .arg("--multipart-min-part-size")
        .arg(&MIN_PART.to_string())
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("mpu-abort");
    create_bucket(&c, &bucket).await;
    let id = create(&c, &bucket, "k").await;
    upload(&c, &bucket, "k", &id, 1, &random_bytes(3 * CHUNK)).await;
    assert_eq!(chunk_files(s.data_dir()).len(), 3);
    // The same part number again: the first upload's chunks go.
    let second = random_bytes(CHUNK);
    let etag = upload(&c, &bucket, "k", &id, 1, &second).await;
    expect_chunk_files(s.data_dir(), 1, "the replaced part's chunks go").await;
    let listed = c
        .list_parts()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(listed.parts().len(), 1);
    assert_eq!(listed.parts()[0].e_tag(), Some(etag.as_str()));
    c.abort_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .expect("abort");
    expect_chunk_files(s.data_dir(), 0, "abort released every part").await;
    let err = sdk_err(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&id)
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("NoSuchUpload"));
    // Deleting a bucket aborts its uploads.
    let id = create(&c, &bucket, "k2").await;
    upload(&c, &bucket, "k2", &id, 1, &random_bytes(CHUNK)).await;
    c.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete bucket");
    expect_chunk_files(s.data_dir(), 0, "deleting the bucket released its uploads").await;
}

#[tokio::test]
async fn complete_refuses_bad_part_lists_and_leaves_nothing_behind() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-bad");
    create_bucket(&c, &bucket).await;
    let id = create(&c, &bucket, "k").await;
    let small = random_bytes(1000);
    let big = random_bytes(MIN_PART);
    let last = random_bytes(10);
    let e1 = upload(&c, &bucket, "k", &id, 1, &small).await;
    let e2 = upload(&c, &bucket, "k", &id, 2, &big).await;
    let e3 = upload(&c, &bucket, "k", &id, 3, &last).await;
    let complete = |parts: &[(i32, &str)]| {
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&id)
            .multipart_upload(completed(parts))
            .send()
    };
    /// What is wrong, the parts listed, the error S3 gives.
    type Case<'a> = (&'a str, Vec<(i32, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("missing part", vec![(2, &e2), (4, &e3)], "InvalidPart"),
        ("wrong etag", vec![(2, &e3), (3, &e3)], "InvalidPart"),
        ("reordered", vec![(3, &e3), (2, &e2)], "InvalidPartOrder"),
        ("duplicated", vec![(2, &e2), (2, &e2)], "InvalidPartOrder"),
        (
            "small non-last part",
            vec![(1, &e1), (2, &e2)],
            "EntityTooSmall",
        ),
        ("part 0", vec![(0, &e1)], "InvalidArgument"),
        (
            "part 10001",
            vec![(2, &e2), (10_001, &e3)],
            "InvalidArgument",
        ),
    ];
    for (what, parts, code) in cases {
        let err = sdk_err(complete(&parts).await);
        assert_eq!(err.code.as_deref(), Some(code), "{what}");
        assert!(!exists(&c, &bucket, "k").await, "{what}: nothing visible");
    }
    // An empty part list, and XML over the cap.
    let raw_complete = |body: Vec<u8>| {
        s.raw("POST", &object_path(&bucket, "k"))
            .query(&format!("uploadId={id}"))
            .body(body)
            .sign_v4(s.admin_keys())
            .send()
    };
    raw_complete(b"<CompleteMultipartUpload></CompleteMultipartUpload>".to_vec())
        .await
        .assert_error(400, "MalformedXML");
    let mut huge = b"<CompleteMultipartUpload>".to_vec();
    while huge.len() < 5 << 20 {
        huge.extend_from_slice(b"<Part><PartNumber>2</PartNumber><ETag>x</ETag></Part>");
    }
    huge.extend_from_slice(b"</CompleteMultipartUpload>");
    raw_complete(huge).await.assert_error(400, "MalformedXML");
    // The upload survived all of that: a good list completes (a small last part is fine).
    complete(&[(2, &e2), (3, &e3)]).await.expect("complete");
    assert_eq!(get(&c, &bucket, "k").await, [big, last].concat());
}

#[tokio::test]
async fn part_numbers_and_upload_ids_are_checked() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-ids");
    let other_bucket = unique_bucket("mpu-ids2");
    create_bucket(&c, &bucket).await;
    create_bucket(&c, &other_bucket).await;
    let id = create(&c, &bucket, "k").await;
    for n in ["0", "10001", "-1", "x"] {
        let resp = s
            .raw("PUT", &object_path(&bucket, "k"))
            .query(&format!("partNumber={n}&uploadId={id}"))
            .body(b"data".to_vec())
            .sign_v4(s.admin_keys())
            .send()
            .await;
        resp.assert_error(400, "InvalidArgument");
    }
    // The id names an upload of one bucket and key only.
    for (b, k) in [(&other_bucket, "k"), (&bucket, "other-key")] {
        let err = sdk_err(
            c.upload_part()
                .bucket(b)
                .key(k)
                .upload_id(&id)
                .part_number(1)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
        );
        assert_eq!(err.code.as_deref(), Some("NoSuchUpload"), "{b}/{k}");
    }
    let err = sdk_err(
        c.upload_part()
            .bucket(&bucket)
            .key("k")
            .upload_id("no-such-upload")
            .part_number(1)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("NoSuchUpload"));
    // Another account may not use it, even with write access to the bucket.
    let other = s.create_account(&unique_bucket("mpu-other")).await;
    c.put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .expect("open the bucket");
    let err = sdk_err(
        s.client_for(&other)
            .upload_part()
            .bucket(&bucket)
            .key("k")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn listings_of_uploads_and_parts_paginate() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-list");
    create_bucket(&c, &bucket).await;
    let mut ids = Vec::new();
    for key in ["a/1", "a/2", "b", "c/x/1", "c/y"] {
        ids.push((key, create(&c, &bucket, key).await));
    }
    // Two uploads of one key.
    ids.push(("b", create(&c, &bucket, "b").await));
    let all = c
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .expect("list uploads");
    let keys: Vec<&str> = all.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["a/1", "a/2", "b", "b", "c/x/1", "c/y"]);
    // Pages of two, following the markers.
    let mut seen = Vec::new();
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    loop {
        let page = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .max_uploads(2)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .expect("page");
        for u in page.uploads() {
            seen.push((
                u.key().unwrap_or("").to_string(),
                u.upload_id().unwrap_or("").to_string(),
            ));
        }
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        id_marker = page.next_upload_id_marker().map(str::to_string);
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6, "no upload listed twice");
    // Prefix and delimiter.
    let rolled = c
        .list_multipart_uploads()
        .bucket(&bucket)
        .delimiter("/")
        .send()
        .await
        .expect("delimiter");
    let prefixes: Vec<&str> = rolled
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["a/", "c/"]);
    assert_eq!(rolled.uploads().len(), 2, "the two uploads of b");
    let under_c = c
        .list_multipart_uploads()
        .bucket(&bucket)
        .prefix("c/")
        .delimiter("/")
        .send()
        .await
        .expect("prefix");
    let prefixes: Vec<&str> = under_c
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["c/x/"]);
    let keys: Vec<&str> = under_c.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["c/y"]);

    // ListParts pages.
    let (key, id) = &ids[0];
    for n in 1..=5 {
        upload(&c, &bucket, key, id, n * 2, b"p").await;
    }
    let mut numbers = Vec::new();
    let mut marker = None::<String>;
    loop {
        let page = c
            .list_parts()
            .bucket(&bucket)
            .key(*key)
            .upload_id(id)
            .max_parts(2)
            .set_part_number_marker(marker.clone())
            .send()
            .await
            .expect("list parts page");
        numbers.extend(page.parts().iter().filter_map(|p| p.part_number()));
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        marker = page.next_part_number_marker().map(str::to_string);
    }
    assert_eq!(numbers, [2, 4, 6, 8, 10]);
}

#[tokio::test]
async fn upload_part_copy_with_ranges() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-copy");
    create_bucket(&c, &bucket).await;
    let source = random_bytes(3 * CHUNK + 500);
    put(&c, &bucket, "src", &source).await;
    let id = create(&c, &bucket, "dst").await;
    let first = c
        .upload_part_copy()
        .bucket(&bucket)
        .key("dst")
        .upload_id(&id)
        .part_number(1)
        .copy_source(format!("{bucket}/src"))
        .copy_source_range(format!("bytes=10-{}", MIN_PART + 9))
        .send()
        .await
        .expect("ranged part copy");
    let e1 = first
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("etag")
        .to_string();
    let second = c
        .upload_part_copy()
        .bucket(&bucket)
        .key("dst")
        .upload_id(&id)
        .part_number(2)
        .copy_source(format!("{bucket}/src"))
        .send()
        .await
        .expect("whole part copy");
    let e2 = second
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("etag")
        .to_string();
    // Malformed ranges are InvalidArgument; one past the source's end is InvalidRange.
    for (bad, status, code) in [
        ("bytes=0-99999999", 416, "InvalidRange"),
        ("bytes=5-2", 400, "InvalidArgument"),
        ("10-20", 400, "InvalidArgument"),
    ] {
        let err = sdk_err(
            c.upload_part_copy()
                .bucket(&bucket)
                .key("dst")
                .upload_id(&id)
                .part_number(3)
                .copy_source(format!("{bucket}/src"))
                .copy_source_range(bad)
                .send()
                .await,
        );
        assert_eq!(
            (err.status, err.code.as_deref()),
            (Some(status), Some(code)),
            "{bad}: {}",
            err.debug
        );
    }
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("dst")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &e1), (2, &e2)]))
        .send()
        .await
        .expect("complete");
    let want = [&source[10..MIN_PART + 10], &source[..]].concat();
    assert_eq!(get(&c, &bucket, "dst").await, want);
}

#[tokio::test]
async fn acl_and_conditions_of_the_completed_object() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-acl");
    create_bucket(&c, &bucket).await;
    let id = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .content_type("text/plain")
        .metadata("colour", "green")
        .send()
        .await
        .expect("create")
        .upload_id()
        .expect("id")
        .to_string();
    let e1 = upload(&c, &bucket, "public", &id, 1, b"hello multipart").await;
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("public")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &e1)]))
        .send()
        .await
        .expect("complete");
    let anonymous = s.raw("GET", &object_path(&bucket, "public")).send().await;
    assert_eq!(anonymous.status, 200);
    assert_eq!(anonymous.body, b"hello multipart");
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("public")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("colour"))
            .map(String::as_str),
        Some("green")
    );
    // If-None-Match: * on an existing key: 412, and the upload survives.
    let id = create(&c, &bucket, "public").await;
    let e1 = upload(&c, &bucket, "public", &id, 1, b"second").await;
    let err = sdk_err(
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("public")
            .upload_id(&id)
            .if_none_match("*")
            .multipart_upload(completed(&[(1, &e1)]))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("PreconditionFailed"));
    assert_eq!(get(&c, &bucket, "public").await, b"hello multipart");
    c.list_parts()
        .bucket(&bucket)
        .key("public")
        .upload_id(&id)
        .send()
        .await
        .expect("the upload is still there");
}

#[tokio::test]
async fn abandoned_uploads_expire() {
    let s = TestServer::builder()
        .arg("--multipart-expiry")
        .arg("2")
        .arg("--delete-delay")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("mpu-expire");
    create_bucket(&c, &bucket).await;
    let id = create(&c, &bucket, "k").await;
    upload(&c, &bucket, "k", &id, 1, &random_bytes(100)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .send()
            .await
            .expect("list");
        if listed.uploads().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never expired"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    expect_chunk_files(s.data_dir(), 0, "the expired upload's chunks go").await;
}

/// Uploads `parts` to upload `id` of `bucket/k` with CRC32 checksums; returns the parts
/// as CompleteMultipartUpload lists them (ETag and CRC32 each).
async fn upload_crc32_parts(
    c: &Client,
    bucket: &str,
    id: &str,
    parts: &[Vec<u8>],
) -> Vec<CompletedPart> {
    let mut done = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let out = c
            .upload_part()
            .bucket(bucket)
            .key("k")
            .upload_id(id)
            .part_number(i as i32 + 1)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("part");
        let crc = out.checksum_crc32().expect("part checksum").to_string();
        assert_eq!(crc, coffer_tests::util::crc32_base64(data));
        done.push(
            CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(out.e_tag().expect("etag"))
                .checksum_crc32(crc)
                .build(),
        );
    }
    done
}

#[tokio::test]
async fn composite_checksums_and_object_attributes() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectAttributes};
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-sum");
    create_bucket(&c, &bucket).await;
    let id = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .expect("create")
        .upload_id()
        .expect("id")
        .to_string();
    let parts = [random_bytes(MIN_PART), random_bytes(500)];
    let done = upload_crc32_parts(&c, &bucket, &id, &parts).await;
    let crcs: Vec<String> = done
        .iter()
        .map(|p| p.checksum_crc32().expect("crc").to_string())
        .collect();
    // A listed part checksum that is not the part's: InvalidPart.
    let mut wrong = done.clone();
    wrong[0] = CompletedPart::builder()
        .part_number(1)
        .e_tag(done[0].e_tag().expect("etag"))
        .checksum_crc32("AAAAAA==")
        .build();
    let err = sdk_err(
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(wrong))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("InvalidPart"));
    // A stated object checksum that is not the composite: BadDigest.
    let resp = s
        .raw("POST", &object_path(&bucket, "k"))
        .query(&format!("uploadId={id}"))
        .header("x-amz-checksum-crc32", "AAAAAA==-2")
        .body(
            format!(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part>\
                 <Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
                done[0].e_tag().expect("etag"),
                done[1].e_tag().expect("etag")
            )
            .into_bytes(),
        )
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "BadDigest");
    let out = c
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let mut joined = Vec::new();
    for crc in &crcs {
        joined.extend(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, crc).expect("b64"),
        );
    }
    let composite = format!("{}-2", coffer_tests::util::crc32_base64(&joined));
    assert_eq!(out.checksum_crc32(), Some(composite.as_str()));
    assert_eq!(
        out.checksum_type().map(|t| t.as_str()),
        Some("COMPOSITE"),
        "CompleteMultipartUpload reports the checksum's type"
    );
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_crc32(), Some(composite.as_str()));
    assert_eq!(get(&c, &bucket, "k").await, parts.concat());

    let attrs = c
        .get_object_attributes()
        .bucket(&bucket)
        .key("k")
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::Checksum)
        .object_attributes(ObjectAttributes::ObjectParts)
        .object_attributes(ObjectAttributes::ObjectSize)
        .object_attributes(ObjectAttributes::StorageClass)
        .send()
        .await
        .expect("attributes");
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    assert_eq!(
        attrs.e_tag().map(|e| format!("\"{e}\"")),
        Some(md5_etag(&slices))
    );
    assert_eq!(attrs.object_size(), Some((MIN_PART + 500) as i64));
    assert_eq!(
        attrs
            .storage_class()
            .map(|s| s.as_str().to_string())
            .as_deref(),
        Some("STANDARD")
    );
    let object_parts = attrs.object_parts().expect("parts");
    assert_eq!(object_parts.total_parts_count(), Some(2));
    let listed = object_parts.parts();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].size(), Some(500));
    assert_eq!(listed[0].checksum_crc32(), Some(crcs[0].as_str()));
    // GetObjectAttributes: the composite value without its "-2" (the count is in
    // ObjectParts), and its type.
    let checksum = attrs.checksum().expect("checksum");
    assert_eq!(
        checksum.checksum_crc32(),
        composite.strip_suffix("-2"),
        "{checksum:?}"
    );
    assert_eq!(
        checksum.checksum_type().map(|t| t.as_str()),
        Some("COMPOSITE")
    );

    // A single-part object with a SHA-256 checksum.
    c.put_object()
        .bucket(&bucket)
        .key("plain")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"plain object"))
        .send()
        .await
        .expect("put");
    let attrs = c
        .get_object_attributes()
        .bucket(&bucket)
        .key("plain")
        .object_attributes(ObjectAttributes::Checksum)
        .object_attributes(ObjectAttributes::ObjectParts)
        .send()
        .await
        .expect("attributes");
    assert!(attrs.checksum().and_then(|c| c.checksum_sha256()).is_some());
    assert_eq!(
        attrs
            .checksum()
            .and_then(|c| c.checksum_type())
            .map(|t| t.as_str()),
        Some("FULL_OBJECT")
    );
    assert!(attrs.object_parts().is_none());
    assert!(attrs.e_tag().is_none(), "only what was asked");
    let err = sdk_err(
        c.get_object_attributes()
            .bucket(&bucket)
            .key("plain")
            .object_attributes(ObjectAttributes::from("Colour"))
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn full_object_crc_checksums_are_combined_from_the_parts() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpu-full");
    create_bucket(&c, &bucket).await;
    let parts = [
        random_bytes(MIN_PART + 3),
        random_bytes(MIN_PART),
        random_bytes(77),
    ];
    let whole = parts.concat();
    let id = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .expect("create")
        .upload_id()
        .expect("id")
        .to_string();
    let done = upload_crc32_parts(&c, &bucket, &id, &parts).await;
    let full = coffer_tests::util::crc32_base64(&whole);
    // A stated full-object CRC that is wrong: BadDigest.
    let err = sdk_err(
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&id)
            .checksum_crc32("AAAAAA==")
            .checksum_type(ChecksumType::FullObject)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done.clone()))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(err.code.as_deref(), Some("BadDigest"));
    let out = c
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .checksum_crc32(&full)
        .checksum_type(ChecksumType::FullObject)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(
        out.checksum_crc32(),
        Some(full.as_str()),
        "the CRC of the whole object"
    );
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_crc32(), Some(full.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
    // The SDK validates the full-object CRC of the body it downloads.
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert!(body.as_ref() == whole.as_slice());
}

/// A client that lost CompleteMultipartUpload's answer and retries gets the same answer
/// (ETag, checksum, version), not `NoSuchUpload`; an upload id never completed still is.
#[tokio::test]
async fn a_retried_complete_gets_the_first_answer() {
    use aws_sdk_s3::types::BucketVersioningStatus;
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mpretry");
    create_bucket(&c, &bucket).await;
    crate::support::set_versioning(&c, &bucket, BucketVersioningStatus::Enabled).await;
    let id = create(&c, &bucket, "k").await;
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(random_bytes(1000)))
        .send()
        .await
        .expect("part");
    let manifest = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().expect("etag"))
                .build(),
        )
        .build();
    let complete = || {
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&id)
            .multipart_upload(manifest.clone())
            .send()
    };
    let first = complete().await.expect("complete");
    let again = complete().await.expect("the retry succeeds too");
    assert_eq!(again.e_tag(), first.e_tag());
    assert_eq!(again.location(), first.location());
    assert!(first.version_id().is_some());
    assert_eq!(again.version_id(), first.version_id());
    // Only one version was made.
    let versions = c
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 1);
    // Under another key, or an id never completed: NoSuchUpload.
    let e = sdk_err(
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("other")
            .upload_id(&id)
            .multipart_upload(manifest.clone())
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchUpload"));
    let e = sdk_err(
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id("no-such-upload")
            .multipart_upload(manifest)
            .send()
            .await,
    );
    assert_eq!(e.code.as_deref(), Some("NoSuchUpload"));
}

/// Two uploads of one part number: the one that finished last is the part, whatever
/// order they started in.
#[tokio::test]
async fn a_part_uploaded_twice_keeps_the_upload_that_finished_last() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("mptwice");
    create_bucket(&c, &bucket).await;
    let id = create(&c, &bucket, "k").await;
    let slow_body = random_bytes(4 * CHUNK);
    let fast_body = random_bytes(3 * CHUNK);
    // The slow upload starts first and sends most of its body.
    let mut slow =
        coffer_tests::raw::RawRequest::new(&s.host_header(), "PUT", &object_path(&bucket, "k"))
            .query(&format!("partNumber=1&uploadId={id}"))
            .sign_v4_with(
                s.admin_keys(),
                "UNSIGNED-PAYLOAD",
                time::OffsetDateTime::now_utc(),
                "us-east-1",
            )
            .start_upload(slow_body.len())
            .await;
    slow.send(&slow_body[..3 * CHUNK]).await;
    // The fast one starts later and finishes first.
    let fast = c
        .upload_part()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(fast_body.clone()))
        .send()
        .await
        .expect("fast part");
    slow.send(&slow_body[3 * CHUNK..]).await;
    let resp = slow.finish().await.expect("slow part answered");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let slow_etag = resp.header("etag").expect("etag");
    assert_ne!(Some(slow_etag.as_str()), fast.e_tag());
    let listed = c
        .list_parts()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(listed.parts().len(), 1);
    assert_eq!(listed.parts()[0].e_tag(), Some(slow_etag.as_str()));
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(&slow_etag)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("complete with the last part");
    assert_eq!(get(&c, &bucket, "k").await, slow_body);
}
