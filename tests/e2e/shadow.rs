//! Shadow mode (issue 14, item 5): `coffer admin policy shadow BUCKET MODULE` evaluates a
//! candidate module beside the bucket's active one on live traffic. Under concurrent load
//! the answers stay the active module's, every comparison and every disagreement is
//! counted exactly in `/metrics`, disagreements are logged with the request id, and
//! `--off` ends it.

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
