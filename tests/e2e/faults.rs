//! Fault injection against real processes, with PostgreSQL durable (the server's own
//! embedded cluster, fsync on): kill -9 mid-write, flipped bytes and deleted copies, a
//! filesystem filling up, a volume vanishing, PostgreSQL restarted in immediate mode.
//! Each checks that no acknowledged object is lost, that no partial or wrong byte is
//! served, and that nothing is left on the volumes once collected.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use coffer_tests::volumes::{self, chunk_files, eventually, temp_files};
use coffer_tests::{ServerBuilder, TestServer, random_bytes, unique_bucket};
use rand::Rng;
use uuid::Uuid;

use crate::support::{create_bucket, get};

const CHUNK: usize = 64 * 1024;
const WAIT: Duration = Duration::from_secs(60);

/// A server on its own durable PostgreSQL with small chunks and second-scale background
/// work: objects up to `inline` bytes stay in PostgreSQL, volumes are checked every
/// `check_secs`.
fn durable(inline: usize, check_secs: u64) -> ServerBuilder {
    TestServer::builder()
        .embedded_postgres()
        .chunk_size(CHUNK)
        .inline_threshold(inline)
        .arg("--volume-check-interval")
        .arg(&check_secs.to_string())
        .arg("--intent-ttl")
        .arg("2")
        .arg("--gc-interval")
        .arg("1")
        .arg("--gc-grace")
        .arg("0")
        .arg("--delete-delay")
        .arg("0")
}

/// The volumes' directories and ids, from the database.
async fn volume_dirs(s: &TestServer) -> Vec<(Uuid, PathBuf)> {
    let db = s.db().await;
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, path FROM volumes ORDER BY path")
        .fetch_all(&db)
        .await
        .expect("listing volumes");
    db.close().await;
    rows.into_iter()
        .map(|(id, p)| (id, PathBuf::from(p)))
        .collect()
}

/// Waits until the volumes hold exactly the copies the database records (no orphan, no
/// missing file, no temporary file, no intent, no pending deletion, no queued repair).
async fn assert_settled(s: &TestServer) {
    let dirs = volume_dirs(s).await;
    let db = s.db().await;
    let began = Instant::now();
    loop {
        let recorded: HashSet<(Uuid, Uuid)> =
            sqlx::query_as("SELECT chunk_id, volume_id FROM chunk_replicas")
                .fetch_all(&db)
                .await
                .expect("replicas")
                .into_iter()
                .collect();
        let pending: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM chunk_intents) + (SELECT count(*) FROM chunk_deletions)
                  + (SELECT count(*) FROM chunk_repairs)",
        )
        .fetch_one(&db)
        .await
        .expect("queues");
        let mut on_disk = HashSet::new();
        let mut temps = 0;
        for (id, dir) in &dirs {
            for f in chunk_files(dir) {
                on_disk.insert((Uuid::parse_str(&volumes::chunk_id(&f)).expect("uuid"), *id));
            }
            temps += temp_files(dir).len();
        }
        if on_disk == recorded && pending == 0 && temps == 0 {
            break;
        }
        assert!(
            began.elapsed() < WAIT,
            "volumes never settled: {} files on disk, {} recorded, {} only on disk, {} only \
             recorded, {temps} temp files, {pending} intents/deletions/repairs",
            on_disk.len(),
            recorded.len(),
            on_disk.difference(&recorded).count(),
            recorded.difference(&on_disk).count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    db.close().await;
}

/// Chunks with fewer than `copies` good copies on readable volumes.
async fn under_replicated(s: &TestServer, copies: i64) -> i64 {
    let db = s.db().await;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM chunks c WHERE (SELECT count(*) FROM chunk_replicas r
           JOIN volumes v ON v.id = r.volume_id
           WHERE r.chunk_id = c.id AND r.state = 'ok'
             AND v.state IN ('active', 'full', 'draining')) < $1",
    )
    .bind(copies)
    .fetch_one(&db)
    .await
    .expect("counting copies");
    db.close().await;
    n
}

/// Reads `bucket/key`: `Some(bytes)` or `None` for NoSuchKey; panics on anything else.
async fn read(c: &Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    match c.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => Some(
            out.body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec(),
        ),
        Err(e) if e.code() == Some("NoSuchKey") => None,
        Err(e) => panic!("GET {bucket}/{key}: {e:?}"),
    }
}

/// Every acknowledged object whole; every other one whole or absent, never partial.
async fn check_objects(
    c: &Client,
    bucket: &str,
    sent: &HashMap<String, Vec<u8>>,
    acked: &HashSet<String>,
) {
    for (key, data) in sent {
        match read(c, bucket, key).await {
            Some(got) => assert!(
                got == *data,
                "{key}: wrong bytes ({} of {})",
                got.len(),
                data.len()
            ),
            None => assert!(!acked.contains(key), "acknowledged {key} was lost"),
        }
    }
}

#[tokio::test]
async fn kill_9_during_1000_concurrent_puts_loses_nothing_acknowledged() {
    kill_9_during_1000_concurrent_puts(1_000..4 * CHUNK).await;
}

/// The same with every body kept inline, so every PUT is written in a batch with others
/// (`store::small_writes`, group commit): an answer only follows its batch's commit.
#[tokio::test]
async fn kill_9_during_1000_concurrent_small_puts_loses_nothing_acknowledged() {
    kill_9_during_1000_concurrent_puts(1..4096).await;
}

/// 1,000 concurrent PUTs of sizes in `sizes` (inline up to 4,096 bytes), the server
/// killed with SIGKILL once a tenth are acknowledged, then restarted: every acknowledged
/// object is there, whole, and the rest are whole or absent.
async fn kill_9_during_1000_concurrent_puts(sizes: std::ops::Range<usize>) {
    let mut s = durable(4096, 1).start().await;
    let c = s.client();
    let bucket = unique_bucket("kill9");
    create_bucket(&c, &bucket).await;
    let sent: HashMap<String, Vec<u8>> = (0..1000)
        .map(|i| {
            let len = rand::thread_rng().gen_range(sizes.clone());
            (format!("k{i:04}"), random_bytes(len))
        })
        .collect();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for (key, data) in &sent {
        let (c, bucket, key, data, acked) = (
            c.clone(),
            bucket.clone(),
            key.clone(),
            data.clone(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let put = c
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(data.into())
                .send();
            if put.await.is_ok() {
                acked.lock().unwrap().insert(key);
            }
        }));
    }
    // Killed once a tenth are acknowledged: most are then in flight, at every stage.
    eventually("100 PUTs acknowledged", 3 * WAIT, || {
        acked.lock().unwrap().len() >= 100
    })
    .await;
    s.kill().await;
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    println!(
        "{} of 1000 PUTs were acknowledged before kill -9",
        acked.len()
    );
    s.restart().await;
    let c = s.client();
    check_objects(&c, &bucket, &sent, &acked).await;
    assert_settled(&s).await;
}

#[tokio::test]
async fn kill_9_inside_complete_multipart_upload_leaves_whole_objects_or_none() {
    let mut s = durable(4096, 1)
        .arg("--multipart-min-part-size")
        .arg("1024")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("kill9-mpu");
    create_bucket(&c, &bucket).await;
    let mut uploads = Vec::new();
    for i in 0..40 {
        let key = format!("mpu{i:02}");
        let id = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .expect("create")
            .upload_id
            .expect("upload id");
        let mut parts = Vec::new();
        let mut whole = Vec::new();
        for n in 1..=3 {
            let data = random_bytes(CHUNK + 1000 * n);
            let etag = c
                .upload_part()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&id)
                .part_number(n as i32)
                .body(data.clone().into())
                .send()
                .await
                .expect("part")
                .e_tag
                .expect("etag");
            parts.push(
                CompletedPart::builder()
                    .part_number(n as i32)
                    .e_tag(etag)
                    .build(),
            );
            whole.extend_from_slice(&data);
        }
        uploads.push((key, id, parts, whole));
    }
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for (key, id, parts, _) in &uploads {
        let (c, bucket, key, id, acked) = (
            c.clone(),
            bucket.clone(),
            key.clone(),
            id.clone(),
            acked.clone(),
        );
        let parts = CompletedMultipartUpload::builder()
            .set_parts(Some(parts.clone()))
            .build();
        tasks.push(tokio::spawn(async move {
            let done = c
                .complete_multipart_upload()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&id)
                .multipart_upload(parts)
                .send()
                .await;
            if done.is_ok() {
                acked.lock().unwrap().insert(key);
            }
        }));
    }
    eventually("a first Complete acknowledged", WAIT, || {
        !acked.lock().unwrap().is_empty()
    })
    .await;
    s.kill().await;
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    println!(
        "{} of 40 Completes were acknowledged before kill -9",
        acked.len()
    );
    s.restart().await;
    let c = s.client();
    let sent: HashMap<String, Vec<u8>> = uploads
        .iter()
        .map(|(k, _, _, whole)| (k.clone(), whole.clone()))
        .collect();
    check_objects(&c, &bucket, &sent, &acked).await;
    // An upload that did not complete is still there, whole, and completes now.
    for (key, id, parts, whole) in &uploads {
        if read(&c, &bucket, key).await.is_some() {
            continue;
        }
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts.clone()))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("completing {key} after the restart: {e:?}"));
        assert!(read(&c, &bucket, key).await.as_ref() == Some(whole));
    }
    assert_settled(&s).await;
}

#[tokio::test]
async fn flipped_bytes_and_deleted_copies_are_never_served_and_scrub_restores_three_copies() {
    let s = durable(1024, 1).start().await;
    let c = s.client();
    let bucket = unique_bucket("bitrot");
    create_bucket(&c, &bucket).await;
    let mut objects = Vec::new();
    for i in 0..100 {
        let data = random_bytes(3 * CHUNK + 5000 + i);
        crate::support::put(&c, &bucket, &format!("o{i:03}"), &data).await;
        objects.push(data);
    }
    let dirs = volume_dirs(&s).await;
    assert_eq!(dirs.len(), 3);
    let db = s.db().await;
    // For each object: one chunk gets a flipped byte in one copy and loses another copy.
    let mut damaged = Vec::new();
    for (i, data) in objects.iter().enumerate() {
        let chunks: Vec<(Uuid, i64, i64)> = sqlx::query_as(
            "SELECT oc.chunk_id, oc.object_offset, c.size FROM object_chunks oc
             JOIN objects o ON o.id = oc.object_id JOIN chunks c ON c.id = oc.chunk_id
             WHERE o.key = $1 ORDER BY oc.seq",
        )
        .bind(format!("o{i:03}"))
        .fetch_all(&db)
        .await
        .expect("chunks");
        assert_eq!(chunks.iter().map(|c| c.2).sum::<i64>() as usize, data.len());
        let (chunk, offset, size) = chunks[i % chunks.len()];
        let id = chunk.simple().to_string();
        let at = rand::thread_rng().gen_range(0..size as u64);
        volumes::flip_byte(&volumes::chunk_path(&dirs[i % 3].1, &id), at);
        std::fs::remove_file(volumes::chunk_path(&dirs[(i + 1) % 3].1, &id)).expect("rm copy");
        damaged.push((offset as u64, size as u64, at));
    }
    db.close().await;
    // Whole and ranged reads: always the right bytes.
    for (i, data) in objects.iter().enumerate() {
        let key = format!("o{i:03}");
        assert!(get(&c, &bucket, &key).await == *data, "{key}: whole read");
        let (offset, size, at) = damaged[i];
        let start = offset + at.saturating_sub(10);
        let end = (offset + at + 10).min(offset + size - 1);
        let ranged = c
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .range(format!("bytes={start}-{end}"))
            .send()
            .await
            .expect("ranged GET")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        assert!(
            ranged.as_ref() == &data[start as usize..=end as usize],
            "{key}: ranged read"
        );
    }
    let summary = s.admin_ok(&["scrub", "--wait", "--timeout", "120"]).await;
    let summary: serde_json::Value = serde_json::from_str(summary.trim()).expect("JSON summary");
    println!("scrub: {summary}");
    assert_eq!(summary["lost"], 0, "{summary}");
    assert_eq!(summary["unrepaired"], 0, "{summary}");
    assert_eq!(under_replicated(&s, 3).await, 0);
    assert_settled(&s).await;
    // Three identical, correct copies of every chunk.
    for (i, data) in objects.iter().enumerate() {
        let (offset, size, _) = damaged[i];
        let expected = &data[offset as usize..(offset + size) as usize];
        let db = s.db().await;
        let chunk: Uuid = sqlx::query_scalar(
            "SELECT oc.chunk_id FROM object_chunks oc JOIN objects o ON o.id = oc.object_id
             WHERE o.key = $1 AND oc.object_offset = $2",
        )
        .bind(format!("o{i:03}"))
        .bind(offset as i64)
        .fetch_one(&db)
        .await
        .expect("chunk");
        db.close().await;
        for (_, dir) in &dirs {
            let copy = std::fs::read(volumes::chunk_path(dir, &chunk.simple().to_string()))
                .expect("a copy on every volume");
            assert!(copy == expected, "o{i:03}: a repaired copy differs");
        }
    }
    let metrics = s.admin_raw("GET", "/metrics").send().await.text();
    let corruptions: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("coffer_chunk_corruptions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(corruptions > 0, "reads counted the corrupt copies they met");
}

/// A tmpfs of `size` mounted at `path` for the life of the guard (tests run as root).
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(path).expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("running mount");
        assert!(status.success(), "mounting a tmpfs at {}", path.display());
        Mount(path.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The state of volume `dir` as `coffer admin volume list --json` shows it.
async fn volume_state(s: &TestServer, dir: &Path) -> String {
    let out = s.admin_ok(&["volume", "list", "--json"]).await;
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    list.as_array()
        .expect("a list")
        .iter()
        .find(|v| v["path"] == dir.to_str().expect("UTF-8"))
        .map(|v| v["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no volume at {}: {list}", dir.display()))
}

#[tokio::test]
async fn a_volume_filling_up_is_skipped_without_errors_and_used_again_once_freed() {
    if !running_as_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["a", "b", "c", "small"];
    let mounts: Vec<Mount> = names
        .iter()
        .map(|n| {
            Mount::tmpfs(
                &dir.path().join(n),
                if *n == "small" { "16m" } else { "64m" },
            )
        })
        .collect();
    let small = dir.path().join("small").join("vol");
    let mut builder = durable(4096, 3);
    for n in names {
        builder = builder
            .arg("--volume")
            .arg(dir.path().join(n).join("vol").to_str().unwrap());
    }
    let s = builder.start().await;
    let c = s.client();
    let bucket = unique_bucket("enospc");
    create_bucket(&c, &bucket).await;
    // Fill the small filesystem behind the server's back: it still believes there is room
    // until its next check, so writes meet ENOSPC there.
    let filler = dir.path().join("small").join("filler");
    let space = coffer::store::blob::volume::VolumeDir::at(&small)
        .space()
        .expect("statvfs");
    let fill = space.free.saturating_sub(200 * 1024) as usize;
    std::fs::write(&filler, vec![0u8; fill]).expect("filling the small volume");
    let mut sent = HashMap::new();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let data = random_bytes(2 * CHUNK);
        sent.insert(format!("k{i:03}"), data.clone());
        let (c, bucket) = (c.clone(), bucket.clone());
        tasks.push(tokio::spawn(async move {
            c.put_object()
                .bucket(&bucket)
                .key(format!("k{i:03}"))
                .body(data.into())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        }));
        if tasks.len() >= 8 {
            let t = tasks.remove(0);
            t.await
                .unwrap()
                .expect("no PUT fails while one volume is full");
        }
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("no PUT fails while one volume is full");
    }
    let acked: HashSet<String> = sent.keys().cloned().collect();
    check_objects(&c, &bucket, &sent, &acked).await;
    assert_eq!(volume_state(&s, &small).await, "full");
    let metrics = s.admin_raw("GET", "/metrics").send().await.text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("coffer_volume_write_errors_total{") && !l.ends_with(" 0")),
        "a write met ENOSPC"
    );
    // DELETE works with a full volume.
    for i in 0..20 {
        c.delete_object()
            .bucket(&bucket)
            .key(format!("k{i:03}"))
            .send()
            .await
            .expect("delete on a full volume");
    }
    // Space comes back: the volume is used again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + WAIT;
    while volume_state(&s, &small).await != "active" {
        assert!(
            Instant::now() < deadline,
            "the freed volume never came back"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let before = chunk_files(&small).len();
    for i in 0..50 {
        crate::support::put(&c, &bucket, &format!("again{i}"), &random_bytes(2 * CHUNK)).await;
    }
    assert!(
        chunk_files(&small).len() > before,
        "new copies land on the freed volume"
    );
    drop(s);
    drop(mounts);
}

#[tokio::test]
async fn a_volume_vanishing_under_load_fails_and_its_chunks_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let vols: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("v{i}"))).collect();
    let mut builder = durable(4096, 1);
    for v in &vols {
        builder = builder.arg("--volume").arg(v.to_str().unwrap());
    }
    let mut s = builder.start().await;
    let c = s.client();
    let bucket = unique_bucket("vanish");
    create_bucket(&c, &bucket).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(HashMap::new()));
    let mut load = Vec::new();
    for w in 0..6 {
        let (c, bucket, stop, sent) = (c.clone(), bucket.clone(), stop.clone(), sent.clone());
        load.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let key = format!("w{w}-{i}");
                let data = random_bytes(3 * CHUNK + i);
                c.put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(data.clone().into())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("PUT {key} failed while a volume vanished: {e:?}"));
                sent.lock().unwrap().insert(key, data);
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gone = dir.path().join("v3.gone");
    std::fs::rename(&vols[3], &gone).expect("the volume vanishes");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in load {
        t.await.expect("no PUT failed");
    }
    let sent = sent.lock().unwrap().clone();
    println!("{} objects written while the volume vanished", sent.len());
    eventually_async("the vanished volume is failed", || async {
        volume_state(&s, &vols[3]).await == "failed"
    })
    .await;
    eventually_async("three good copies of everything again", || async {
        under_replicated(&s, 3).await == 0
    })
    .await;
    let acked: HashSet<String> = sent.keys().cloned().collect();
    check_objects(&c, &bucket, &sent, &acked).await;
    // Restart with an empty directory where the volume was (an unmounted disk): the
    // volume is offline, and nothing is created there.
    s.stop().await;
    std::fs::create_dir(&vols[3]).unwrap();
    s.restart().await;
    assert_eq!(volume_state(&s, &vols[3]).await, "offline");
    assert!(
        std::fs::read_dir(&vols[3]).unwrap().next().is_none(),
        "nothing was created in the empty mount point"
    );
    assert!(
        s.stderr_log().contains("is offline"),
        "the server said so loudly"
    );
    check_objects(&s.client(), &bucket, &sent, &acked).await;
}

/// Polls an async check every 250 ms until it holds; panics with `what` after [`WAIT`].
async fn eventually_async<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let began = Instant::now();
    while !check().await {
        assert!(began.elapsed() < WAIT, "{what}: not so after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn postgres_restarted_in_immediate_mode_under_load_fails_requests_cleanly() {
    let s = durable(4096, 1).start().await;
    let c = s.client();
    let bucket = unique_bucket("pg-restart");
    create_bucket(&c, &bucket).await;
    // A repair waiting in the queue across the restart: one copy of a chunk removed, found
    // by a read.
    let first = random_bytes(3 * CHUNK);
    crate::support::put(&c, &bucket, "first", &first).await;
    let dirs = volume_dirs(&s).await;
    let victim = chunk_files(&dirs[0].1)[0].clone();
    std::fs::remove_file(&victim).unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(HashMap::new()));
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut load = Vec::new();
    for w in 0..4 {
        let (c, bucket, stop, sent, acked, failures, first) = (
            c.clone(),
            bucket.clone(),
            stop.clone(),
            sent.clone(),
            acked.clone(),
            failures.clone(),
            first.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let key = format!("w{w}-{i}");
                let data = random_bytes(if i % 2 == 0 { 2000 } else { 2 * CHUNK + i });
                sent.lock().unwrap().insert(key.clone(), data.clone());
                match c
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(data.into())
                    .send()
                    .await
                {
                    Ok(_) => {
                        acked.lock().unwrap().insert(key);
                    }
                    Err(e) => {
                        let status = e.raw_response().map(|r| r.status().as_u16());
                        failures.lock().unwrap().push(status);
                    }
                }
                // Reads during the outage fail or are whole.
                if let Ok(out) = c.get_object().bucket(&bucket).key("first").send().await {
                    let got = out.body.collect().await.map(|b| b.into_bytes().to_vec());
                    if let Ok(got) = got {
                        assert!(got == first, "a GET during the outage was wrong");
                    }
                }
                i += 1;
            }
        }));
    }
    // Trigger the repair of the removed copy.
    assert_eq!(get(&c, &bucket, "first").await, first);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let postmaster = coffer_tests::embedded_postmaster_pid(s.data_dir()).expect("postmaster");
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(postmaster as i32, libc::SIGQUIT);
    }
    eventually("PostgreSQL is down", WAIT, || {
        !coffer_tests::pid_alive(postmaster)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pg = coffer::pg::EmbeddedPostgres::start(s.data_dir(), coffer::pg::Options::default())
        .await
        .expect("restarting PostgreSQL");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in load {
        t.await.expect("load task");
    }
    let failures = failures.lock().unwrap().clone();
    println!(
        "{} PUTs failed during the outage: {failures:?}",
        failures.len()
    );
    assert!(
        failures.iter().all(|s| s.is_none_or(|s| s >= 500)),
        "failed requests failed with a 5xx: {failures:?}"
    );
    let sent = sent.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    check_objects(&c, &bucket, &sent, &acked).await;
    // The requests after the restart work, and the repair queued before it was done.
    crate::support::put(&c, &bucket, "after", b"after the restart").await;
    eventually("the removed copy is repaired", WAIT, || victim.exists()).await;
    assert_settled(&s).await;
    drop(s);
    drop(pg);
}

#[tokio::test]
async fn a_volume_remounted_read_only_fails_and_writes_go_elsewhere() {
    if !running_as_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["a", "b", "c", "d"];
    let mounts: Vec<Mount> = names
        .iter()
        .map(|n| Mount::tmpfs(&dir.path().join(n), "64m"))
        .collect();
    let mut builder = durable(4096, 1);
    for n in names {
        builder = builder
            .arg("--volume")
            .arg(dir.path().join(n).join("vol").to_str().unwrap());
    }
    let s = builder.start().await;
    let c = s.client();
    let bucket = unique_bucket("readonly");
    create_bucket(&c, &bucket).await;
    let mut sent = HashMap::new();
    for i in 0..20 {
        let data = random_bytes(2 * CHUNK + i);
        crate::support::put(&c, &bucket, &format!("before{i}"), &data).await;
        sent.insert(format!("before{i}"), data);
    }
    let d = dir.path().join("d");
    assert!(!chunk_files(&d.join("vol")).is_empty());
    let status = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&d)
        .status()
        .expect("remount");
    assert!(status.success(), "remounting read-only");
    for i in 0..40 {
        let data = random_bytes(2 * CHUNK + i);
        crate::support::put(&c, &bucket, &format!("after{i}"), &data).await;
        sent.insert(format!("after{i}"), data);
    }
    let vol = d.join("vol");
    eventually_async("the read-only volume is failed", || async {
        volume_state(&s, &vol).await == "failed"
    })
    .await;
    eventually_async("three good copies of everything", || async {
        under_replicated(&s, 3).await == 0
    })
    .await;
    let acked: HashSet<String> = sent.keys().cloned().collect();
    check_objects(&c, &bucket, &sent, &acked).await;
    let _ = std::process::Command::new("mount")
        .args(["-o", "remount,rw"])
        .arg(&d)
        .status();
    drop(s);
    drop(mounts);
}
