//! Chunk files on disk: released when objects are overwritten or deleted, and orphans
//! (what a crash leaves behind) removed by the garbage collector after its grace period.

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
