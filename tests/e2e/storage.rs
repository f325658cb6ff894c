//! Chunk files on disk: three identical copies of every chunk on distinct volumes,
//! released when objects are overwritten or deleted (unlinked after `--delete-delay`),
//! orphans and stray copies removed by the collector, copies sharing chunk files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use coffer_tests::volumes::{self, chunk_files, default_volumes, eventually, temp_files};
use coffer_tests::{TestServer, random_bytes, unique_bucket};

use crate::support::{create_bucket, get, put};

const WAIT: Duration = Duration::from_secs(20);

/// Chunk files per volume (volume directory name -> chunk ids).
fn layout(data_dir: &Path) -> BTreeMap<String, Vec<String>> {
    default_volumes(data_dir)
        .iter()
        .map(|v| {
            let name = v.file_name().unwrap().to_string_lossy().to_string();
            let ids = chunk_files(v)
                .iter()
                .map(|p| volumes::chunk_id(p))
                .collect();
            (name, ids)
        })
        .collect()
}

/// How many chunk files the first volume holds.
fn first_volume_files(data_dir: &Path) -> usize {
    chunk_files(&data_dir.join("volumes/0")).len()
}

#[tokio::test]
async fn every_chunk_has_three_identical_copies_on_three_volumes() {
    let s = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("copies");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(200 * 1024);
    put(&c, &bucket, "obj", &data).await;
    let layout = layout(s.data_dir());
    assert_eq!(layout.len(), 3, "a fresh data directory gets three volumes");
    let first = &layout["0"];
    assert_eq!(first.len(), 4, "200 KiB in 64 KiB chunks");
    for ids in layout.values() {
        assert_eq!(ids, first, "every volume holds a copy of every chunk");
    }
    // The copies are the object's raw bytes, under the same name everywhere.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for id in first {
        let copies: Vec<Vec<u8>> = default_volumes(s.data_dir())
            .iter()
            .map(|v| std::fs::read(volumes::chunk_path(v, id)).unwrap())
            .collect();
        assert!(copies.iter().all(|c| *c == copies[0]), "copies differ");
        chunks.push(copies[0].clone());
    }
    chunks.sort_by_key(|c| data.windows(c.len()).position(|w| w == c.as_slice()));
    assert_eq!(chunks.concat(), data);
}

#[tokio::test]
async fn overwrite_and_delete_release_chunk_files_after_the_delay() {
    let s = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .arg("--delete-delay")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("release");
    create_bucket(&c, &bucket).await;

    put(&c, &bucket, "obj", &random_bytes(200 * 1024)).await;
    assert_eq!(
        first_volume_files(s.data_dir()),
        4,
        "200 KiB in 64 KiB chunks"
    );

    let second = random_bytes(100 * 1024);
    put(&c, &bucket, "obj", &second).await;
    assert_eq!(get(&c, &bucket, "obj").await, second);
    eventually("the old chunks are released", WAIT, || {
        first_volume_files(s.data_dir()) == 2
    })
    .await;

    c.delete_object()
        .bucket(&bucket)
        .key("obj")
        .send()
        .await
        .unwrap();
    eventually("delete released every chunk", WAIT, || {
        volumes::all_chunk_files(s.data_dir()).is_empty()
    })
    .await;
}

#[tokio::test]
async fn garbage_collector_removes_orphans_and_stray_copies_but_not_live_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let vols: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("v{i}"))).collect();
    let mut builder = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .arg("--gc-interval")
        .arg("1")
        .arg("--gc-grace")
        .arg("0");
    for v in &vols {
        builder = builder.arg("--volume").arg(v.to_str().unwrap());
    }
    let s = builder.start().await;
    let c = s.client();
    let bucket = unique_bucket("gc");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(150 * 1024);
    put(&c, &bucket, "live", &data).await;
    let live: Vec<Vec<PathBuf>> = vols.iter().map(|v| chunk_files(v)).collect();
    assert_eq!(
        live.iter().map(Vec::len).sum::<usize>(),
        9,
        "3 chunks x 3 copies"
    );

    // What a crash leaves: a chunk file no metadata references, and a temp file.
    let orphan = vols[0].join("chunks/ab/ab0123456789abcdef0123456789abcd");
    let temp = vols[0].join("tmp/cd0123456789abcdef0123456789abcd.tmp");
    std::fs::write(&orphan, b"orphaned chunk").unwrap();
    std::fs::write(&temp, b"half-written chunk").unwrap();
    // A stray extra copy of a live chunk on the volume that has no copy of it: its chunk
    // is known, but not on that volume.
    // Placement is per chunk, so any one volume may hold none of the three chunks:
    // take the copy from a volume that holds one.
    let has = |i: usize, id: &str| live[i].iter().any(|p| volumes::chunk_id(p) == id);
    let (holder_vol, first) = live
        .iter()
        .enumerate()
        .find_map(|(i, files)| files.first().map(|f| (i, f)))
        .expect("some volume holds a chunk");
    let id = volumes::chunk_id(first);
    let without = (0..4)
        .find(|i| !has(*i, &id))
        .expect("one volume lacks the chunk");
    let holder = volumes::chunk_path(&vols[holder_vol], &id);
    let stray_to = volumes::chunk_path(&vols[without], &id);
    std::fs::copy(&holder, &stray_to).unwrap();

    eventually("orphans and strays collected", WAIT, || {
        !orphan.exists() && !temp.exists() && !stray_to.exists()
    })
    .await;
    let now: Vec<Vec<PathBuf>> = vols.iter().map(|v| chunk_files(v)).collect();
    assert_eq!(now, live, "live copies untouched");
    assert!(vols.iter().all(|v| temp_files(v).is_empty()));
    assert_eq!(get(&c, &bucket, "live").await, data);
}

#[tokio::test]
async fn copies_share_chunk_files_until_the_last_reference_goes() {
    let s = TestServer::builder()
        .chunk_size(64 * 1024)
        .inline_threshold(1024)
        .arg("--delete-delay")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("share");
    let other = unique_bucket("share-other");
    create_bucket(&c, &bucket).await;
    create_bucket(&c, &other).await;
    let data = random_bytes(200 * 1024);
    put(&c, &bucket, "src", &data).await;
    let files = layout(s.data_dir());
    assert_eq!(files["0"].len(), 4);

    for (target_bucket, key) in [(&bucket, "copy"), (&other, "copy")] {
        c.copy_object()
            .bucket(target_bucket)
            .key(key)
            .copy_source(format!("{bucket}/src"))
            .send()
            .await
            .expect("copy");
    }
    assert_eq!(layout(s.data_dir()), files, "copies wrote no chunk files");

    // The source goes (overwritten, then deleted): the copies keep the chunks.
    put(&c, &bucket, "src", b"small now").await;
    c.delete_object()
        .bucket(&bucket)
        .key("src")
        .send()
        .await
        .unwrap();
    // Give the collector a chance to (wrongly) remove something.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(layout(s.data_dir()), files);
    assert_eq!(get(&c, &bucket, "copy").await, data);
    c.delete_object()
        .bucket(&bucket)
        .key("copy")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, &other, "copy").await, data);
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
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(get(&c, &other, "copy").await, data);
    assert_eq!(layout(s.data_dir()), files);
    c.delete_object()
        .bucket(&other)
        .key("copy")
        .send()
        .await
        .unwrap();
    eventually("the last reference released the chunks", WAIT, || {
        volumes::all_chunk_files(s.data_dir()).is_empty()
    })
    .await;
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
