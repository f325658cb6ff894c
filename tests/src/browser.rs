//! Running a browser script of `tests/browser/` (Python driving Chromium through
//! Playwright, or Firefox through WebDriver BiDi; `scripts/setup --test` installs both):
//! the script prints one JSON report on stdout and exits 0 when it could run.

use std::path::PathBuf;
use std::time::Duration;

/// Runs `python3 tests/browser/SCRIPT ARGS...` with `env`, kills it after `limit`, and
/// returns its JSON report (panics when it fails or prints no JSON).
pub async fn run_script(
    script: &str,
    args: &[String],
    env: &[(&str, String)],
    limit: Duration,
) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("browser")
        .join(script);
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(&path).args(args).kill_on_drop(true);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {limit:?}"))
        .unwrap_or_else(|e| {
            panic!("running python3 {script} (scripts/setup --test installs what it needs): {e}")
        });
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
