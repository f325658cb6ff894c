//! Real clients on versioning, tagging and object lock (issue 13): aws-cli `s3api`
//! (versioning, `list-object-versions`, tagging, object lock retention), rclone
//! (`--s3-versions` listings and `backend versioning`), and restic backing a directory up
//! into a bucket and restoring it. `scripts/setup --test` installs them.

use std::process::Command;

use coffer_tests::{TestServer, random_bytes, unique_bucket};
use tokio::sync::OnceCell;

use crate::clients_more::{aws, rclone, run, write_file};
use crate::support::shared;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    shared(&SERVER, TestServer::builder).await
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn aws_cli_lists_versions_tags_and_retains() {
    let s = server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let home_path = home.path().to_path_buf();
    let bucket = unique_bucket("awsver");
    let b = bucket.clone();
    tokio::task::spawn_blocking(move || {
        let h = home_path.as_path();
        let file = h.join("body.txt");
        aws(s, h, &["s3api", "create-bucket", "--bucket", &b]);
        aws(
            s,
            h,
            &[
                "s3api",
                "put-bucket-versioning",
                "--bucket",
                &b,
                "--versioning-configuration",
                "Status=Enabled",
            ],
        );
        let mut ids = Vec::new();
        for body in ["first", "second"] {
            write_file(&file, body.as_bytes());
            let out = json(&aws(
                s,
                h,
                &[
                    "s3api",
                    "put-object",
                    "--bucket",
                    &b,
                    "--key",
                    "doc.txt",
                    "--body",
                    file.to_str().expect("utf-8"),
                    "--tagging",
                    "stage=draft",
                ],
            ));
            ids.push(out["VersionId"].as_str().expect("VersionId").to_string());
        }
        aws(
            s,
            h,
            &["s3api", "delete-object", "--bucket", &b, "--key", "doc.txt"],
        );
        let listed = json(&aws(
            s,
            h,
            &["s3api", "list-object-versions", "--bucket", &b],
        ));
        let versions: Vec<&str> = listed["Versions"]
            .as_array()
            .expect("Versions")
            .iter()
            .filter_map(|v| v["VersionId"].as_str())
            .collect();
        assert_eq!(versions, vec![ids[1].as_str(), ids[0].as_str()], "{listed}");
        let markers = listed["DeleteMarkers"].as_array().expect("DeleteMarkers");
        assert_eq!(markers.len(), 1);
        assert_eq!(markers[0]["IsLatest"], serde_json::json!(true));
        let tags = json(&aws(
            s,
            h,
            &[
                "s3api",
                "get-object-tagging",
                "--bucket",
                &b,
                "--key",
                "doc.txt",
                "--version-id",
                &ids[0],
            ],
        ));
        assert_eq!(tags["TagSet"][0]["Key"], "stage", "{tags}");

        // Object lock: a bucket created with it, a retention put and read back.
        let locked = format!("{b}-lock");
        aws(
            s,
            h,
            &[
                "s3api",
                "create-bucket",
                "--bucket",
                &locked,
                "--object-lock-enabled-for-bucket",
            ],
        );
        write_file(&file, b"kept");
        let out = json(&aws(
            s,
            h,
            &[
                "s3api",
                "put-object",
                "--bucket",
                &locked,
                "--key",
                "k",
                "--body",
                file.to_str().expect("utf-8"),
            ],
        ));
        let version = out["VersionId"].as_str().expect("VersionId").to_string();
        let until = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("date");
        aws(
            s,
            h,
            &[
                "s3api",
                "put-object-retention",
                "--bucket",
                &locked,
                "--key",
                "k",
                "--version-id",
                &version,
                "--retention",
                &format!("Mode=GOVERNANCE,RetainUntilDate={until}"),
            ],
        );
        let got = json(&aws(
            s,
            h,
            &[
                "s3api",
                "get-object-retention",
                "--bucket",
                &locked,
                "--key",
                "k",
                "--version-id",
                &version,
            ],
        ));
        assert_eq!(got["Retention"]["Mode"], "GOVERNANCE", "{got}");
        // The locked version refuses a delete from aws-cli too.
        let keys = s.admin_keys();
        let out = Command::new("aws")
            .args(["--endpoint-url", &s.endpoint(), "--region", "us-east-1"])
            .args(["s3api", "delete-object", "--bucket", &locked, "--key", "k"])
            .args(["--version-id", &version])
            .env("HOME", h)
            .env("AWS_ACCESS_KEY_ID", &keys.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &keys.secret_key)
            .env("AWS_CONFIG_FILE", h.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", h.join("aws-credentials"))
            .output()
            .expect("aws runs");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("AccessDenied"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await
    .expect("aws-cli task");
}

#[tokio::test]
async fn rclone_lists_versions_and_sets_versioning() {
    let s = server().await;
    let bucket = unique_bucket("rclonever");
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("f.txt");
    tokio::task::spawn_blocking(move || {
        let remote = format!("coffer:{bucket}");
        rclone(s, &["mkdir", &remote]);
        let state = rclone(s, &["backend", "versioning", &remote]);
        assert_eq!(state.trim(), "Unversioned", "{state}");
        rclone(s, &["backend", "versioning", &remote, "Enabled"]);
        let state = rclone(s, &["backend", "versioning", &remote]);
        assert_eq!(state.trim(), "Enabled", "{state}");
        for body in ["one", "two", "three"] {
            write_file(&src, body.as_bytes());
            rclone(
                s,
                &[
                    "copyto",
                    src.to_str().expect("utf-8"),
                    &format!("{remote}/f.txt"),
                ],
            );
        }
        let plain = rclone(s, &["lsf", &remote]);
        assert_eq!(plain.lines().collect::<Vec<_>>(), vec!["f.txt"], "{plain}");
        // --s3-versions shows the older versions as `f-v<time>.txt`.
        let all = rclone(s, &["lsf", "--s3-versions", &remote]);
        let names: Vec<&str> = all.lines().collect();
        assert_eq!(names.len(), 3, "{all}");
        assert!(names.contains(&"f.txt"), "{all}");
        assert!(
            names.iter().filter(|n| n.starts_with("f-v")).count() == 2,
            "{all}"
        );
        rclone(s, &["backend", "versioning", &remote, "Suspended"]);
        let state = rclone(s, &["backend", "versioning", &remote]);
        assert_eq!(state.trim(), "Suspended", "{state}");
    })
    .await
    .expect("rclone task");
}

/// restic (which stores everything as objects through minio-go) backs a directory up
/// into a versioned bucket and restores it byte for byte.
#[tokio::test]
async fn restic_backs_up_and_restores_a_directory() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("restic");
    crate::support::create_bucket(&c, &bucket).await;
    crate::support::set_versioning(
        &c,
        &bucket,
        aws_sdk_s3::types::BucketVersioningStatus::Enabled,
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("data");
    let mut files = Vec::new();
    for (i, size) in [0usize, 100, 64 << 10, 5 << 20].into_iter().enumerate() {
        let rel = format!("d{}/file{i}.bin", i % 2);
        let data = random_bytes(size);
        write_file(&src.join(&rel), &data);
        files.push((rel, data));
    }
    let out = dir.path().join("restored");
    let cache = dir.path().join("cache");
    let (src2, out2) = (src.clone(), out.clone());
    tokio::task::spawn_blocking(move || {
        let restic = |args: &[&str]| {
            let keys = s.admin_keys();
            let mut cmd = Command::new("restic");
            cmd.args(["-r", &format!("s3:{}/{bucket}", s.endpoint())])
                .args(["--cache-dir", cache.to_str().expect("utf-8")])
                .args(args)
                .env("RESTIC_PASSWORD", "correct horse battery staple")
                .env("AWS_ACCESS_KEY_ID", &keys.access_key)
                .env("AWS_SECRET_ACCESS_KEY", &keys.secret_key)
                .env("AWS_DEFAULT_REGION", "us-east-1");
            run(cmd, &format!("restic {args:?}"))
        };
        restic(&["init"]);
        restic(&["backup", src2.to_str().expect("utf-8")]);
        // A second backup after a change: restic rewrites its index objects.
        write_file(&src2.join("d0/added.txt"), b"added later");
        restic(&["backup", src2.to_str().expect("utf-8")]);
        restic(&["check", "--read-data"]);
        restic(&[
            "restore",
            "latest",
            "--target",
            out2.to_str().expect("utf-8"),
        ]);
    })
    .await
    .expect("restic task");
    // restic restores the absolute path under the target.
    let restored_root = out.join(src.strip_prefix("/").unwrap_or(&src));
    for (rel, data) in &files {
        let got = std::fs::read(restored_root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(got == *data, "{rel} differs");
    }
    assert_eq!(
        std::fs::read(restored_root.join("d0/added.txt")).expect("added"),
        b"added later"
    );
}
