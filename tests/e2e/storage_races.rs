//! Races between writers, readers, the collector and repairs, each made to happen: a
//! commit whose answer is lost, a collector in another process during a slow upload, a
//! delete during a streaming GET, uploads cut off by the client or a shutdown, and a copy
//! marked bad while its chunk's repair finishes. In each, no acknowledged byte is lost,
//! nothing is left behind, and no chunk is left short of copies unrepaired.

use std::path::Path;
use std::time::Duration;

use coffer_tests::pgproxy::CommitCutter;
use coffer_tests::raw::object_path;
use coffer_tests::volumes::{all_chunk_files, default_volumes, eventually, temp_files};
use coffer_tests::{
    RawRequest, ServerBuilder, StreamingUpload, TestServer, random_bytes, unique_bucket,
};

use crate::support::{create_bucket, get, put};

const CHUNK: usize = 64 * 1024;
const WAIT: Duration = Duration::from_secs(30);

/// A server that stores everything over 1 KiB in chunks of [`CHUNK`].
fn chunked() -> ServerBuilder {
    TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024)
}

/// A chunked server with a new bucket named after `prefix`, and a client of it.
async fn chunked_with_bucket(prefix: &str) -> (TestServer, aws_sdk_s3::Client, String) {
    let s = chunked().start().await;
    let c = s.client();
    let bucket = unique_bucket(prefix);
    create_bucket(&c, &bucket).await;
    (s, c, bucket)
}

/// A signed PUT of `len` bytes of `bucket/key` whose body the caller sends in pieces.
fn upload_request(s: &TestServer, bucket: &str, key: &str) -> RawRequest {
    RawRequest::new(&s.host_header(), "PUT", &object_path(bucket, key)).sign_v4_with(
        s.admin_keys(),
        "UNSIGNED-PAYLOAD",
        time::OffsetDateTime::now_utc(),
        "us-east-1",
    )
}

/// Starts a 16-chunk upload of `bucket/key` and sends a little under half of it: seven
/// chunks are complete on disk (checked) and one is being written.
async fn half_an_upload(s: &TestServer, bucket: &str, key: &str) -> StreamingUpload {
    let data = random_bytes(16 * CHUNK);
    let mut upload = upload_request(s, bucket, key)
        .start_upload(data.len())
        .await;
    upload.send(&data[..7 * CHUNK + 100]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !all_chunk_files(s.data_dir()).is_empty(),
        "chunks are on disk before the upload is cut off"
    );
    upload
}

/// Whether the server's volumes hold no chunk or temporary file.
fn volumes_empty(data_dir: &Path) -> bool {
    all_chunk_files(data_dir).is_empty()
        && default_volumes(data_dir)
            .iter()
            .all(|v| temp_files(v).is_empty())
}

/// How many upload intents are left in the server's database.
async fn intents(s: &TestServer) -> i64 {
    let db = s.db().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM chunk_intents")
        .fetch_one(&db)
        .await
        .expect("counting intents");
    db.close().await;
    n
}

#[tokio::test]
async fn a_commit_whose_answer_is_lost_keeps_the_files_it_committed() {
    let proxy = CommitCutter::start().await;
    let s = TestServer::builder()
        .database_url(&proxy.url())
        .chunk_size(CHUNK)
        .inline_threshold(1024)
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("lost-commit");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(5 * CHUNK + 100);
    proxy.arm();
    // PostgreSQL commits the object, the server never hears it: it must answer with an
    // error (it cannot know) and must not remove the files the object references.
    // (A raw request: an SDK would retry the 500.)
    let put = RawRequest::new(&s.host_header(), "PUT", &object_path(&bucket, "k"))
        .body(data.clone())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_eq!(proxy.cuts(), 1, "the commit's answer was cut");
    put.assert_error(500, "InternalError");
    // Give a wrong cleanup time to happen.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        get(&c, &bucket, "k").await,
        data,
        "the committed object is whole"
    );
}

#[tokio::test]
async fn the_collector_of_another_process_never_removes_an_upload_in_flight() {
    let a = chunked().start().await;
    // Another process on the same database and volumes, collecting eagerly.
    let b = TestServer::builder()
        .share_database_of(&a)
        .chunk_size(CHUNK)
        .arg("--gc-interval")
        .arg("1")
        .arg("--gc-grace")
        .arg("0")
        .start()
        .await;
    let c = a.client();
    let bucket = unique_bucket("gc-race");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(8 * CHUNK + 7);
    let mut upload = upload_request(&a, &bucket, "slow")
        .start_upload(data.len())
        .await;
    upload.send(&data[..5 * CHUNK]).await;
    // Five chunks are complete on disk, referenced by nothing yet; B sweeps meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    upload.send(&data[5 * CHUNK..]).await;
    let resp = upload.finish().await.expect("an answer");
    resp.assert_success();
    assert_eq!(get(&c, &bucket, "slow").await, data);
    assert_eq!(get(&b.client(), &bucket, "slow").await, data);
}

#[tokio::test]
async fn a_delete_does_not_cut_off_a_get_already_streaming() {
    let s = chunked()
        .arg("--delete-delay")
        .arg("8")
        .arg("--gc-interval")
        .arg("1")
        .arg("--gc-grace")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("get-delete");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(32 * CHUNK);
    put(&c, &bucket, "k", &data).await;
    let mut resp = RawRequest::new(&s.host_header(), "GET", &object_path(&bucket, "k"))
        .sign_v4(s.admin_keys())
        .send_streaming()
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut got = resp
        .chunk()
        .await
        .expect("reading")
        .expect("a first piece")
        .to_vec();
    c.delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("delete");
    // The collector runs meanwhile; the released copies stay for --delete-delay.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Some(piece) = resp.chunk().await.expect("the stream goes on") {
        got.extend_from_slice(&piece);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the whole old object, byte for byte");
    eventually("the released copies go after the delay", WAIT, || {
        all_chunk_files(s.data_dir()).is_empty()
    })
    .await;
}

#[tokio::test]
async fn an_upload_whose_client_goes_away_leaves_no_files() {
    let (s, c, bucket) = chunked_with_bucket("client-gone").await;
    let upload = half_an_upload(&s, &bucket, "gone").await;
    drop(upload);
    eventually("the abandoned upload's files are removed", WAIT, || {
        volumes_empty(s.data_dir())
    })
    .await;
    assert_eq!(intents(&s).await, 0);
    let err = c.head_object().bucket(&bucket).key("gone").send().await;
    assert!(err.is_err(), "nothing was committed");
}

#[tokio::test]
async fn an_upload_cut_off_by_shutdown_is_collected_after_restart() {
    let mut s = chunked()
        .arg("--shutdown-grace")
        .arg("1")
        .arg("--intent-ttl")
        .arg("2")
        .arg("--gc-interval")
        .arg("1")
        .arg("--gc-grace")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("shutdown");
    create_bucket(&c, &bucket).await;
    let upload = half_an_upload(&s, &bucket, "cut").await;
    // The client stalls; the server shuts down after its grace and drops the request.
    s.stop().await;
    drop(upload);
    s.restart().await;
    eventually("the cut-off upload's files are collected", WAIT, || {
        volumes_empty(s.data_dir())
    })
    .await;
    assert_eq!(intents(&s).await, 0);
}

/// Once a chunk fills, the writer opens the next one ahead (intents committed, files
/// created) while the full one is made durable. A body that ends exactly at a chunk
/// boundary never needs it: its files and intents are removed before the answer.
#[tokio::test]
async fn a_body_ending_at_a_chunk_boundary_leaves_no_chunk_opened_ahead() {
    let (s, c, bucket) = chunked_with_bucket("boundary").await;
    let data = random_bytes(4 * CHUNK);
    put(&c, &bucket, "k", &data).await;
    assert_eq!(get(&c, &bucket, "k").await, data);
    // Four chunks of three copies each, and nothing else.
    assert_eq!(all_chunk_files(s.data_dir()).len(), 4 * 3);
    assert!(
        default_volumes(s.data_dir())
            .iter()
            .all(|v| temp_files(v).is_empty())
    );
    assert_eq!(intents(&s).await, 0);
}

/// Backends of this database waiting for a lock.
async fn lock_waiters(db: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(db)
    .await
    .expect("counting lock waiters")
}

/// Waits until `n` backends wait for a lock.
async fn until_lock_waiters(db: &sqlx::PgPool, n: i64) {
    let began = std::time::Instant::now();
    while lock_waiters(db).await < n {
        assert!(
            began.elapsed() < WAIT,
            "{n} backends never waited for a lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A scrub (or a read) marks a copy bad while a repair of the same chunk finishes: the
/// mark's transaction holds the queue row when the repair comes to remove it. The repair
/// must count the copies after the mark commits, and keep the chunk queued; counted
/// before, it removed the row and left the chunk short of a copy with nothing queued
/// (seen once in CI as one under-replicated chunk after `coffer admin scrub --wait`).
#[tokio::test]
async fn a_copy_marked_bad_while_its_repair_finishes_keeps_the_chunk_queued() {
    use coffer::store::chunks::{self, CopyProblem};
    let (s, c, bucket) = chunked_with_bucket("markrace").await;
    put(&c, &bucket, "k", &random_bytes(CHUNK)).await;
    let (db, other) = (s.db().await, s.db().await);
    let (chunk, volume): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT chunk_id, volume_id FROM chunk_replicas LIMIT 1")
            .fetch_one(&db)
            .await
            .expect("a copy");
    // The chunk is queued and leased, as while a worker repairs it.
    sqlx::query(
        "INSERT INTO chunk_repairs (chunk_id, reason, priority, not_before)
         VALUES ($1, 'test', 3, now() + interval '1 hour')",
    )
    .bind(chunk)
    .execute(&db)
    .await
    .expect("queueing");
    // Hold the queue row so that the mark and then the repair's finish queue up behind.
    let mut holder = db.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM chunk_repairs WHERE chunk_id = $1 FOR UPDATE")
        .bind(chunk)
        .execute(&mut *holder)
        .await
        .expect("locking the queue row");
    let mark = {
        let other = other.clone();
        tokio::spawn(async move {
            chunks::mark_copy_bad(&other, chunk, volume, CopyProblem::Corrupt).await
        })
    };
    until_lock_waiters(&db, 1).await;
    let finish = {
        let other = other.clone();
        tokio::spawn(async move {
            let mut tx = other.begin().await?;
            let removed = chunks::finish_repair(&mut tx, chunk, 3).await?;
            tx.commit().await?;
            Ok::<_, coffer::store::Error>(removed)
        })
    };
    until_lock_waiters(&db, 2).await;
    holder.commit().await.expect("commit");
    mark.await.expect("join").expect("marking the copy bad");
    let removed = finish.await.expect("join").expect("finishing the repair");
    assert!(
        !removed,
        "the repair saw the copy marked bad and kept the chunk queued"
    );
    // And the server's repair worker, finding it queued, brings the third copy back.
    let began = std::time::Instant::now();
    loop {
        let (good, queued): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM chunk_replicas WHERE chunk_id = $1 AND state = 'ok'),
                    (SELECT count(*) FROM chunk_repairs WHERE chunk_id = $1)",
        )
        .bind(chunk)
        .fetch_one(&db)
        .await
        .expect("copies");
        if good == 3 && queued == 0 {
            break;
        }
        assert!(
            began.elapsed() < WAIT,
            "{good} good copies, {queued} queued repairs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await;
    other.close().await;
}
