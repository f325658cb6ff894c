//! Volumes as the operator sees them: the defaults of a fresh data directory and the
//! failure-domain warning, `coffer admin volume add|drain|remove`, degraded writes and
//! `503 SlowDown` when too few volumes are left, lost objects listed by the scrub.

use std::path::{Path, PathBuf};
use std::time::Duration;

use coffer_tests::volumes::{chunk_files, eventually};
use coffer_tests::{RawRequest, TestServer, random_bytes, unique_bucket};

use crate::support::{create_bucket, get, put};

const CHUNK: usize = 64 * 1024;
const WAIT: Duration = Duration::from_secs(30);

/// `coffer admin volume list --json`.
async fn volume_list(s: &TestServer) -> Vec<serde_json::Value> {
    let out = s.admin_ok(&["volume", "list", "--json"]).await;
    serde_json::from_str::<serde_json::Value>(out.trim())
        .expect("JSON")
        .as_array()
        .expect("a list")
        .clone()
}

/// The id of the volume at `path`.
async fn volume_id(s: &TestServer, path: &Path) -> String {
    volume_list(s)
        .await
        .iter()
        .find(|v| v["path"] == path.to_str().unwrap())
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .expect("the volume is listed")
}

/// The value of a metric line `name` (without labels) at `/metrics`.
async fn metric(s: &TestServer, name: &str) -> f64 {
    let text = s.admin_raw("GET", "/metrics").send().await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[tokio::test]
async fn a_fresh_data_dir_gets_three_volumes_and_says_they_share_a_failure_domain() {
    let s = TestServer::start().await;
    let list = volume_list(&s).await;
    assert_eq!(list.len(), 3, "{list:?}");
    for v in &list {
        assert_eq!(v["state"], "active");
        assert_eq!(v["failure_domain"], list[0]["failure_domain"]);
        assert_eq!(v["shares_failure_domain"], true);
        assert!(v["capacity_bytes"].as_u64().unwrap() > 0);
    }
    let text = s.admin_ok(&["volume", "list"]).await;
    assert!(text.contains("share a failure domain"), "{text}");
    assert!(
        s.stderr_log().contains("failure domain"),
        "the server says so at start"
    );
    assert_eq!(metric(&s, "coffer_failure_domains").await, 1.0);
    assert_eq!(
        metric(&s, "coffer_volumes_sharing_failure_domain").await,
        3.0
    );
    assert_eq!(metric(&s, "coffer_replicas_wanted").await, 3.0);
}

#[tokio::test]
async fn volumes_are_added_drained_and_removed_while_serving() {
    let extra = tempfile::tempdir().unwrap();
    let s = TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024)
        .arg("--volume-check-interval")
        .arg("1")
        .arg("--delete-delay")
        .arg("0")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("drain");
    create_bucket(&c, &bucket).await;
    let mut objects = Vec::new();
    for i in 0..10 {
        let data = random_bytes(3 * CHUNK + i);
        put(&c, &bucket, &format!("k{i}"), &data).await;
        objects.push(data);
    }
    let new = extra.path().join("disk4");
    let out = s
        .admin_ok(&["volume", "add", new.to_str().unwrap(), "--label", "shelf-2"])
        .await;
    assert!(out.contains("added volume"), "{out}");
    let added = volume_list(&s).await;
    assert_eq!(added.len(), 4);
    let listed = added
        .iter()
        .find(|v| v["path"] == new.to_str().unwrap())
        .expect("the new volume");
    assert_eq!(listed["failure_domain"], "label:shelf-2");
    assert_eq!(listed["label"], "shelf-2");
    // Running servers pick it up within --volume-check-interval: new copies go there
    // (it is a failure domain of its own, so every new chunk gets a copy on it).
    let began = std::time::Instant::now();
    let mut n = 0;
    while chunk_files(&new).is_empty() {
        assert!(
            began.elapsed() < WAIT,
            "no copy ever landed on the added volume"
        );
        put(&c, &bucket, &format!("new{n}"), &random_bytes(2 * CHUNK)).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let first = s.data_dir().join("volumes/0");
    let first_id = volume_id(&s, &first).await;
    let refused = s.admin(&["volume", "remove", &first_id]).await;
    assert!(
        !refused.status.success(),
        "a volume holding copies is not removed"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("drain it first"));

    s.admin_ok(&["volume", "drain", &first_id]).await;
    eventually("the drained volume empties", WAIT, || {
        chunk_files(&first).is_empty()
    })
    .await;
    for (i, data) in objects.iter().enumerate() {
        assert_eq!(get(&c, &bucket, &format!("k{i}")).await, *data);
    }
    let mut removed = false;
    for _ in 0..50 {
        if s.admin(&["volume", "remove", &first_id])
            .await
            .status
            .success()
        {
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(removed, "the drained volume is removed");
    assert_eq!(volume_list(&s).await.len(), 3);
    for (i, data) in objects.iter().enumerate() {
        assert_eq!(get(&c, &bucket, &format!("k{i}")).await, *data);
    }
}

#[tokio::test]
async fn too_few_volumes_degrade_writes_then_refuse_them_with_slow_down() {
    let dir = tempfile::tempdir().unwrap();
    let two: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("v{i}"))).collect();
    let mut builder = TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024);
    for v in &two {
        builder = builder.arg("--volume").arg(v.to_str().unwrap());
    }
    let mut s = builder.start().await;
    let c = s.client();
    let bucket = unique_bucket("degraded");
    create_bucket(&c, &bucket).await;
    // Two volumes, three copies wanted, two needed: acknowledged with two, queued.
    let data = random_bytes(2 * CHUNK);
    put(&c, &bucket, "degraded", &data).await;
    assert_eq!(get(&c, &bucket, "degraded").await, data);
    assert_eq!(chunk_files(&two[0]).len(), 2);
    assert_eq!(chunk_files(&two[1]).len(), 2);
    assert!(metric(&s, "coffer_degraded_chunks_total").await >= 2.0);
    assert_eq!(metric(&s, "coffer_repair_queue_chunks").await, 2.0);

    // Needing three: refused, with nothing visible.
    s.args_mut()
        .extend(["--min-write-replicas".to_string(), "3".to_string()]);
    s.restart().await;
    let resp = RawRequest::new(&s.host_header(), "PUT", &format!("/{bucket}/refused"))
        .body(random_bytes(2 * CHUNK))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(503, "SlowDown");
    let c = s.client();
    let head = c.head_object().bucket(&bucket).key("refused").send().await;
    assert!(head.is_err(), "a refused write leaves no object");
    // Small objects live in PostgreSQL and are still written.
    put(&c, &bucket, "small", b"inline").await;
    assert!(metric(&s, "coffer_refused_writes_total").await >= 1.0);
    // Settings that contradict each other are refused at start.
    let out = std::process::Command::new(coffer_tests::coffer_binary())
        .args(["serve", "--replicas", "2", "--min-write-replicas", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--min-write-replicas"));
}

#[tokio::test]
async fn a_volume_not_registered_is_refused_and_lost_objects_are_listed() {
    let mut s = TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024)
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("lost");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "fine", &random_bytes(2 * CHUNK)).await;
    put(&c, &bucket, "doomed", &random_bytes(2 * CHUNK)).await;
    // Every copy of one of `doomed`'s chunks goes.
    let db = s.db().await;
    let chunk: uuid::Uuid = sqlx::query_scalar(
        "SELECT oc.chunk_id FROM object_chunks oc JOIN objects o ON o.id = oc.object_id
         WHERE o.key = 'doomed' AND oc.seq = 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    db.close().await;
    let id = chunk.simple().to_string();
    for v in 0..3 {
        let dir = s.data_dir().join(format!("volumes/{v}"));
        std::fs::remove_file(coffer_tests::volumes::chunk_path(&dir, &id)).unwrap();
    }
    let summary = s.admin_ok(&["scrub", "--wait", "--timeout", "60"]).await;
    let summary: serde_json::Value = serde_json::from_str(summary.trim()).unwrap();
    assert_eq!(summary["missing"], 3, "{summary}");
    assert_eq!(summary["lost"], 1, "{summary}");
    let lost = s.admin_ok(&["scrub", "--lost"]).await;
    let lines: Vec<serde_json::Value> = lost
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lost}");
    assert_eq!(lines[0]["bucket"], bucket.as_str());
    assert_eq!(lines[0]["key"], "doomed");
    // The lost object is never served partially: its GET fails.
    let resp = RawRequest::new(&s.host_header(), "GET", &format!("/{bucket}/doomed"))
        .sign_v4(s.admin_keys())
        .send_tcp()
        .await;
    assert!(
        resp.is_none_or(|r| r.status != 200 || r.body.len() < 2 * CHUNK),
        "no whole answer for a lost object"
    );
    assert_eq!(get(&c, &bucket, "fine").await.len(), 2 * CHUNK);

    // A --volume that is not registered is an error once volumes exist.
    s.stop().await;
    let stray = tempfile::tempdir().unwrap();
    s.args_mut().extend([
        "--volume".to_string(),
        stray.path().join("new").to_str().unwrap().to_string(),
    ]);
    let out = std::process::Command::new(coffer_tests::coffer_binary())
        .arg("serve")
        .arg("--data-dir")
        .arg(s.data_dir())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--console-listen",
            "off",
        ])
        .args(
            s.database_url()
                .map(|u| vec!["--database-url".to_string(), u.to_string()])
                .unwrap_or_default(),
        )
        .args(["--volume", stray.path().join("new").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("coffer admin volume add"), "{err}");
    assert!(!stray.path().join("new").join("volume.id").exists());
}

#[tokio::test]
async fn the_background_scrub_finds_and_repairs_a_flipped_byte() {
    let s = TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024)
        .arg("--scrub-period")
        .arg("2")
        .start()
        .await;
    let c = s.client();
    let bucket = unique_bucket("scrub");
    create_bucket(&c, &bucket).await;
    let data = random_bytes(2 * CHUNK);
    put(&c, &bucket, "k", &data).await;
    let copy = chunk_files(&s.data_dir().join("volumes/1"))[0].clone();
    let good = std::fs::read(&copy).unwrap();
    coffer_tests::volumes::flip_byte(&copy, 1000);
    // No read, no command: the scrub finds it and the repair rewrites it.
    eventually("the scrub repaired the copy", WAIT, || {
        std::fs::read(&copy).is_ok_and(|now| now == good)
    })
    .await;
    assert_eq!(get(&c, &bucket, "k").await, data);
    let text = s.admin_raw("GET", "/metrics").send().await.text();
    assert!(text.contains("coffer_volume_info{"), "{text}");
}

#[tokio::test]
async fn an_offline_volume_is_repaired_around_after_the_delay_and_rates_are_set_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let vols: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("v{i}"))).collect();
    let mut builder = TestServer::builder()
        .chunk_size(CHUNK)
        .inline_threshold(1024)
        .arg("--offline-repair-delay")
        .arg("2");
    for v in &vols {
        builder = builder.arg("--volume").arg(v.to_str().unwrap());
    }
    let mut s = builder.start().await;
    let c = s.client();
    let bucket = unique_bucket("offline");
    create_bucket(&c, &bucket).await;
    let mut objects = Vec::new();
    for i in 0..8 {
        let data = random_bytes(2 * CHUNK + i);
        put(&c, &bucket, &format!("k{i}"), &data).await;
        objects.push(data);
    }
    assert!(!chunk_files(&vols[3]).is_empty());
    // The disk is not mounted at the next start.
    s.stop().await;
    std::fs::rename(&vols[3], dir.path().join("v3.unmounted")).unwrap();
    std::fs::create_dir(&vols[3]).unwrap();
    s.restart().await;
    let list = volume_list(&s).await;
    let offline = list
        .iter()
        .find(|v| v["path"] == vols[3].to_str().unwrap())
        .unwrap();
    assert_eq!(offline["state"], "offline");
    assert!(
        offline["state_reason"]
            .as_str()
            .unwrap()
            .contains("volume.id")
    );
    // After the delay, its chunks get their third copy on the other volumes.
    let db = s.db().await;
    let began = std::time::Instant::now();
    loop {
        let short: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM chunks c WHERE (SELECT count(*) FROM chunk_replicas r
               JOIN volumes v ON v.id = r.volume_id
               WHERE r.chunk_id = c.id AND r.state = 'ok' AND v.state = 'active') < 3",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if short == 0 {
            break;
        }
        assert!(
            began.elapsed() < WAIT,
            "{short} chunks never got three copies"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let c = s.client();
    for (i, data) in objects.iter().enumerate() {
        assert_eq!(get(&c, &bucket, &format!("k{i}")).await, *data);
    }
    // Rates are settings every server reads while running.
    s.admin_ok(&["repair", "rate", "7"]).await;
    s.admin_ok(&["scrub", "rate", "3"]).await;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, value FROM storage_settings ORDER BY name")
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(
        rows.contains(&("repair_rate_mib".to_string(), 7)),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("scrub_rate_mib".to_string(), 3)),
        "{rows:?}"
    );
    s.admin_ok(&["repair", "rate", "default"]).await;
    let status = s.admin_ok(&["repair", "status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(status.trim()).unwrap();
    assert_eq!(status["queued"], 0, "{status}");
    db.close().await;
}
