//! Chunk files on disk: released when objects are overwritten or deleted, and orphans
//! (what a crash leaves behind) removed by the garbage collector after its grace period;
//! copies share chunk files until the last object referencing them goes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use coffer_tests::{TestServer, random_bytes, unique_bucket};

use crate::support::{create_bucket, get, put};

/// Every file under the volume's `chunks/` and `tmp/` directories.
fn volume_files(data_dir: &Path) -> Vec<PathBuf> {
    let volume = data_dir.join("volumes/0");
    let mut files = Vec::new();
    for top in ["chunks", "tmp"] {
        let mut stack = vec![volume.join(top)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn overwrite_and_delete_release_chunk_files() {
    let s = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("release");
    create_bucket(&c, &bucket).await;

    let first = random_bytes(200 * 1024);
    put(&c, &bucket, "obj", &first).await;
    assert_eq!(
        volume_files(s.data_dir()).len(),
        4,
        "200 KiB in 64 KiB chunks"
    );

    let second = random_bytes(100 * 1024);
    put(&c, &bucket, "obj", &second).await;
    assert_eq!(get(&c, &bucket, "obj").await, second);
    assert_eq!(
        volume_files(s.data_dir()).len(),
        2,
        "the old chunks were released"
    );

    c.delete_object()
        .bucket(&bucket)
        .key("obj")
        .send()
        .await
        .unwrap();
    assert!(
        volume_files(s.data_dir()).is_empty(),
        "delete released every chunk"
    );
}

#[tokio::test]
async fn garbage_collector_removes_orphans_but_not_live_chunks() {
    let s = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .arg("--gc-interval")
        .arg("1")
        .arg("--gc-grace")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("gc");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(150 * 1024);
    put(&c, &bucket, "live", &data).await;
    let live = volume_files(s.data_dir());
    assert_eq!(live.len(), 3);

    // What a crash leaves: a chunk file no metadata references, and a temp file.
    let volume = s.data_dir().join("volumes/0");
    let orphan = volume.join("chunks/ab/ab0123456789abcdef0123456789abcd");
    let temp = volume.join("tmp/cd0123456789abcdef0123456789abcd.tmp");
    std::fs::write(&orphan, b"orphaned chunk").unwrap();
    std::fs::write(&temp, b"half-written chunk").unwrap();

    let mut waited = Duration::ZERO;
    while (orphan.exists() || temp.exists()) && waited < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    assert!(!orphan.exists(), "orphan chunk collected");
    assert!(!temp.exists(), "temp file collected");
    assert_eq!(volume_files(s.data_dir()), live, "live chunks untouched");
    assert_eq!(get(&c, &bucket, "live").await, data);
}

#[tokio::test]
async fn copies_share_chunk_files_until_the_last_reference_goes() {
    let s = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("share");
    let other = unique_bucket("share-other");
    create_bucket(&c, &bucket).await;
    create_bucket(&c, &other).await;
    let data = random_bytes(200 * 1024);
    put(&c, &bucket, "src", &data).await;
    let files = volume_files(s.data_dir());
    assert_eq!(files.len(), 4);

    for (target_bucket, key) in [(&bucket, "copy"), (&other, "copy")] {
        c.copy_object()
            .bucket(target_bucket)
            .key(key)
            .copy_source(format!("{bucket}/src"))
            .send()
            .await
            .expect("copy");
    }
    assert_eq!(
        volume_files(s.data_dir()),
        files,
        "copies wrote no chunk files"
    );

    // The source goes (overwritten, then deleted): the copies keep the chunks.
    put(&c, &bucket, "src", b"small now").await;
    c.delete_object()
        .bucket(&bucket)
        .key("src")
        .send()
        .await
        .unwrap();
    assert_eq!(volume_files(s.data_dir()), files);
    assert_eq!(get(&c, &bucket, "copy").await, data);
    c.delete_object()
        .bucket(&bucket)
        .key("copy")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, &other, "copy").await, data);
    assert_eq!(volume_files(s.data_dir()), files);
    // A copy onto itself (REPLACE) keeps its chunks too.
    c.copy_object()
        .bucket(&other)
        .key("copy")
        .copy_source(format!("{other}/copy"))
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("text/plain")
        .send()
        .await
        .expect("self copy with REPLACE");
    assert_eq!(get(&c, &other, "copy").await, data);
    assert_eq!(volume_files(s.data_dir()), files);
    c.delete_object()
        .bucket(&other)
        .key("copy")
        .send()
        .await
        .unwrap();
    assert!(
        volume_files(s.data_dir()).is_empty(),
        "the last reference released the chunks"
    );
}

#[tokio::test]
async fn a_copy_racing_the_deletion_of_its_source_is_whole_or_refused() {
    let s = TestServer::builder()
        .chunk_size(16 * 1024)
        .inline_threshold(1024)
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("race-copy");
    create_bucket(&c, &bucket).await;
    let mut copied = 0;
    for round in 0..20 {
        let data = random_bytes(50 * 1024 + round);
        put(&c, &bucket, "src", &data).await;
        let copy = c
            .copy_object()
            .bucket(&bucket)
            .key(format!("copy-{round}"))
            .copy_source(format!("{bucket}/src"))
            .send();
        let delete = c.delete_object().bucket(&bucket).key("src").send();
        let (copy, delete) = tokio::join!(copy, delete);
        delete.expect("the delete always succeeds");
        match copy {
            Ok(_) => {
                copied += 1;
                // Whole: every byte, no chunk released under it.
                assert_eq!(get(&c, &bucket, &format!("copy-{round}")).await, data);
            }
            Err(e) => {
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                assert_eq!(code.as_deref(), Some("NoSuchKey"), "round {round}: {e:?}");
            }
        }
    }
    println!("{copied} of 20 copies won the race");
}
