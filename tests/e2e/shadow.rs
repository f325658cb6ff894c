//! Trying a module on live traffic (issue 14, items 5 and 6).
//!
//! Shadow mode: `coffer admin policy shadow BUCKET MODULE` evaluates a candidate module
//! beside the bucket's active one. Under concurrent load the answers stay the active
//! module's, every comparison and every disagreement is counted exactly in `/metrics`,
//! disagreements are logged with the request id, and `--off` ends it.
//!
//! Decision logs: `coffer admin policy log BUCKET` records every decision's input (never
//! credentials) in rotating files; `coffer policy replay` finds exactly the decisions a
//! candidate module would change; one logged line is a `coffer policy eval` request.

use coffer_tests::raw::object_path;
use coffer_tests::{ServerBuilder, TestServer, policy_module, unique_bucket};
use tokio::sync::OnceCell;

use crate::policies::eventually;
use crate::support::{PROPAGATION, create_bucket, put, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    shared(&SERVER, || {
        ServerBuilder::default().arg("--policy-poll-ms").arg("200")
    })
    .await
}

/// The shadow counters of `bucket` with `candidate`: (decisions compared, disagreements).
async fn counters(s: &TestServer, bucket: &str, candidate: &str) -> (u64, u64) {
    let metrics = reqwest::get(format!("{}/metrics", s.admin_endpoint()))
        .await
        .expect("scraping /metrics")
        .text()
        .await
        .expect("metrics text");
    let value = |metric: &str| {
        let series = format!("{metric}{{bucket=\"{bucket}\",candidate=\"{candidate}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        value("coffer_policy_shadow_decisions_total"),
        value("coffer_policy_shadow_disagreements_total"),
    )
}

async fn owner_get(s: &TestServer, bucket: &str) -> coffer_tests::RawResponse {
    s.raw("GET", &object_path(bucket, "doc.txt"))
        .sign_v4(s.admin_keys())
        .send()
        .await
}

#[tokio::test]
async fn a_shadow_module_is_compared_on_live_traffic_without_changing_answers() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("shadow");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "doc.txt", b"doc").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("deny-all.wasm");
    std::fs::write(&path, policy_module("deny-all")).expect("writing the module");
    let candidate = unique_bucket("strict");
    s.admin_ok(&["policy", "put", &candidate, path.to_str().expect("utf-8")])
        .await;
    let out = s
        .admin_ok(&["policy", "shadow", &bucket, &candidate, "--sample", "1"])
        .await;
    assert!(out.contains("in shadow"), "{out}");
    // The server sees the change at its next poll: the first compared request says so.
    assert!(
        eventually(PROPAGATION, || async {
            assert_eq!(owner_get(s, &bucket).await.status, 200);
            counters(s, &bucket, &candidate).await.0 > 0
        })
        .await,
        "the shadow never started"
    );

    // Load: owners' reads (the active module allows, deny-all would not) and anonymous
    // reads (both deny), concurrently.
    let (compared, disagreed) = counters(s, &bucket, &candidate).await;
    let owners = 240;
    let anonymous = 80;
    let mut tasks = Vec::new();
    for i in 0..(owners + anonymous) {
        let bucket = bucket.clone();
        tasks.push(tokio::spawn(async move {
            let s = server().await;
            let req = s.raw("GET", &object_path(&bucket, "doc.txt"));
            if i < owners {
                req.sign_v4(s.admin_keys()).send().await.status
            } else {
                req.send().await.status
            }
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("request task"));
    }
    assert!(
        statuses[..owners].iter().all(|&st| st == 200),
        "{statuses:?}"
    );
    assert!(
        statuses[owners..].iter().all(|&st| st == 403),
        "{statuses:?}"
    );
    let (compared_now, disagreed_now) = counters(s, &bucket, &candidate).await;
    assert_eq!(compared_now - compared, (owners + anonymous) as u64);
    assert_eq!(disagreed_now - disagreed, owners as u64);

    // A disagreement is logged with the request id and both answers.
    let resp = owner_get(s, &bucket).await;
    let id = resp.request_id().expect("x-amz-request-id");
    let logged = eventually(PROPAGATION, || async {
        s.stderr_log().lines().any(|l| {
            l.contains("shadow policy module disagrees")
                && l.contains(&id)
                && l.contains("GetObject")
                && l.contains("doc.txt")
                && l.contains("active=\"allow\"")
                && l.contains("candidate=\"deny\"")
        })
    })
    .await;
    assert!(
        logged,
        "no disagreement logged for {id}: {:?}",
        s.stderr_log()
            .lines()
            .filter(|l| l.contains("disagrees"))
            .take(2)
            .collect::<Vec<_>>()
    );

    // A module in shadow use cannot be deleted.
    let refused = s.admin(&["policy", "delete", &candidate]).await;
    assert!(!refused.status.success());

    s.admin_ok(&["policy", "shadow", &bucket, "--off"]).await;
    assert!(
        eventually(PROPAGATION, || async {
            let before = counters(s, &bucket, &candidate).await.0;
            assert_eq!(owner_get(s, &bucket).await.status, 200);
            counters(s, &bucket, &candidate).await.0 == before
        })
        .await,
        "the shadow never ended"
    );
    s.admin_ok(&["policy", "delete", &candidate]).await;
}

/// The lines of `bucket`'s decision log, oldest first.
fn log_lines(s: &TestServer, bucket: &str) -> Vec<String> {
    let dir = s.data_dir().join("decision-logs").join(bucket);
    let Ok(files) = coffer_files(&dir) else {
        return Vec::new();
    };
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `decisions.jsonl.N` ... `.1`, `decisions.jsonl`.
fn coffer_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let rank = match name.strip_prefix("decisions.jsonl") {
                Some("") => 0,
                Some(rest) => rest.strip_prefix('.')?.parse().ok()?,
                None => return None,
            };
            Some((rank, p))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

fn coffer(args: &[&str]) -> std::process::Output {
    std::process::Command::new(coffer_tests::coffer_binary())
        .args(args)
        .output()
        .expect("running coffer")
}

#[tokio::test]
async fn a_decision_log_replays_against_a_candidate() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("declog");
    create_bucket(&c, &bucket).await;
    put(&c, &bucket, "doc.txt", b"doc").await;
    c.put_object()
        .bucket(&bucket)
        .key("public/a.txt")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
        .body(b"a".to_vec().into())
        .send()
        .await
        .expect("public object");
    s.admin_ok(&["policy", "log", &bucket, "--max-mib", "1", "--files", "2"])
        .await;
    assert!(
        eventually(PROPAGATION, || async {
            assert_eq!(owner_get(s, &bucket).await.status, 200);
            !log_lines(s, &bucket).is_empty()
        })
        .await,
        "the decision log never started: {:?}",
        s.stderr_log()
            .lines()
            .filter(|l| l.contains("decision") || l.contains("attachments loaded"))
            .collect::<Vec<_>>()
    );
    for _ in 0..3 {
        assert_eq!(owner_get(s, &bucket).await.status, 200);
    }
    for _ in 0..2 {
        let anonymous = s.raw("GET", &object_path(&bucket, "doc.txt")).send().await;
        assert_eq!(anonymous.status, 403);
        let public = s
            .raw("GET", &object_path(&bucket, "public/a.txt"))
            .send()
            .await;
        assert_eq!(public.status, 200);
    }
    put(&c, &bucket, "logs/new.txt", b"new").await;
    s.admin_ok(&["policy", "log", &bucket, "--off"]).await;
    assert!(
        eventually(PROPAGATION, || async {
            let before = log_lines(s, &bucket).len();
            assert_eq!(owner_get(s, &bucket).await.status, 200);
            log_lines(s, &bucket).len() == before
        })
        .await,
        "the decision log never stopped"
    );

    let lines = log_lines(s, &bucket);
    let text = lines.join("\n");
    // Never a credential.
    assert!(!text.contains(&s.admin_keys().access_key), "{text}");
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
    assert!(!text.contains("Signature="), "{text}");
    let allowed = lines
        .iter()
        .filter(|l| l.contains("\"decision\":\"allow\""))
        .count();
    let denied = lines.len() - allowed;
    assert!(
        allowed >= 8 && denied >= 2,
        "{allowed} allowed, {denied} denied"
    );

    let dir = s.data_dir().join("decision-logs").join(&bucket);
    let dir = dir.to_str().expect("utf-8");
    // The module that decided: nothing changes.
    let same = coffer(&["policy", "replay", dir]);
    let report = String::from_utf8_lossy(&same.stdout).into_owned();
    assert_eq!(same.status.code(), Some(0), "{report}");
    assert!(
        report.contains(&format!("replayed {} decisions", lines.len()))
            && report.contains(": 0 would change"),
        "{report}"
    );
    // deny-all changes exactly the allowed decisions.
    let tmp = tempfile::tempdir().expect("tempdir");
    let deny = tmp.path().join("deny-all.wasm");
    std::fs::write(&deny, policy_module("deny-all")).expect("writing the module");
    let strict = coffer(&[
        "policy",
        "replay",
        dir,
        "--module",
        deny.to_str().expect("utf-8"),
    ]);
    let report = String::from_utf8_lossy(&strict.stdout).into_owned();
    assert_eq!(strict.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!(": {allowed} would change")),
        "{allowed} allowed: {report}"
    );
    assert!(report.contains("PutObject: 1 of 1 change"), "{report}");
    assert!(report.contains("public/: 2 of 2 change"), "{report}");
    assert!(
        report.contains("-> AccessDenied (deny-all fixture refuses"),
        "{report}"
    );

    // One captured line is a `coffer policy eval` request.
    let line = tmp.path().join("line.json");
    let first_allowed = lines
        .iter()
        .find(|l| l.contains("\"decision\":\"allow\""))
        .expect("an allowed line");
    std::fs::write(&line, first_allowed).expect("writing the line");
    let eval = coffer(&[
        "policy",
        "eval",
        deny.to_str().expect("utf-8"),
        "--request",
        line.to_str().expect("utf-8"),
    ]);
    let out = String::from_utf8_lossy(&eval.stdout).into_owned();
    assert_eq!(eval.status.code(), Some(1), "{out}");
    assert!(out.contains("decision: deny (AccessDenied)"), "{out}");
}
