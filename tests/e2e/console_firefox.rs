//! The web console in Firefox: Debian's Firefox ESR, driven over WebDriver BiDi by
//! `tests/browser/console_firefox.py` (`scripts/setup --test` installs `firefox-esr` and
//! the Python `websockets` client; Playwright cannot drive a stock Firefox), logs in with
//! a fresh account's keys, creates a bucket through the UI and logs out, with no
//! JavaScript error and no request leaving 127.0.0.1. The server side is then checked
//! with aws-sdk-s3 (the bucket exists and is the account's) and over HTTP (the session
//! the browser held is closed). Screenshots of every step, and Firefox's own output:
//! `target/console-firefox/`.

use std::path::PathBuf;
use std::time::Duration;

use coffer_tests::{TestServer, unique_bucket};
use serde_json::{Value, json};

/// The scenario's steps, in order (see the script).
const STEPS: [&str; 5] = ["open", "login", "app", "create-bucket", "logout"];

/// Where screenshots go: `target/console-firefox/` of the build tree that runs the test.
fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(&tests).join("target")
        });
    target.join("console-firefox")
}

/// Runs the scenario in Firefox; the script's report.
async fn in_firefox(args: Value) -> Value {
    coffer_tests::browser::run_script(
        "console_firefox.py",
        &[args.to_string()],
        &[("COFFER_SCREENSHOTS", screenshots().display().to_string())],
        Duration::from_secs(180),
    )
    .await
}

#[tokio::test]
async fn a_user_logs_in_creates_a_bucket_and_logs_out_in_firefox() {
    let s = TestServer::start().await;
    let keys = s.create_account(&unique_bucket("firefox")).await;
    let bucket = unique_bucket("firefox");
    let report = in_firefox(json!({
        "console": s.console_endpoint(),
        "access_key": keys.access_key,
        "secret_key": keys.secret_key,
        "bucket": bucket,
    }))
    .await;
    eprintln!("Firefox {}", report["firefox"]);

    // Every step ran and passed (the script stops at the first failure).
    let steps = report["steps"].as_array().expect("steps");
    for (i, name) in STEPS.iter().enumerate() {
        let step = steps
            .get(i)
            .unwrap_or_else(|| panic!("step {name} did not run: {report:#}"));
        assert_eq!(step["step"], *name, "{report:#}");
        assert_eq!(
            step["ok"], true,
            "step {name} failed: {step:#}\nJavaScript errors: {:#}",
            report["js_errors"]
        );
    }
    assert_eq!(
        steps[0]["path"], "/login",
        "/ without a session: {report:#}"
    );
    assert_eq!(steps[2]["path"], "/", "after logging in: {report:#}");
    assert_eq!(steps[4]["path"], "/login", "after logging out: {report:#}");
    assert_eq!(
        report["js_errors"],
        json!([]),
        "JavaScript errors in Firefox"
    );
    assert_eq!(
        report["foreign_requests"],
        json!([]),
        "the console made requests to hosts other than 127.0.0.1"
    );

    // The bucket the UI created exists, and is the account's.
    let c = s.client_for(&keys);
    c.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the bucket {bucket} created in Firefox exists: {e:?}"));
    let listed = c.list_buckets().send().await.expect("ListBuckets");
    assert!(
        listed.buckets().iter().any(|b| b.name() == Some(&bucket)),
        "{bucket} is among the account's buckets: {listed:?}"
    );

    // Logging out ended the session on the server, not only in the browser: the cookie
    // Firefox held is refused now, and Firefox no longer has it.
    let cookie = report["session_cookie"]
        .as_str()
        .unwrap_or_else(|| panic!("Firefox held a session cookie: {report:#}"));
    let after = s
        .console_raw("GET", "/api/session")
        .header("cookie", &format!("coffer_console={cookie}"))
        .send()
        .await;
    assert_eq!(
        after.status,
        401,
        "the logged-out session: {}",
        after.text()
    );
    assert!(
        !report["cookies_after_logout"]
            .as_array()
            .expect("cookies_after_logout")
            .contains(&json!("coffer_console")),
        "{report:#}"
    );
}
