//! Real clients switching to the complete object API on their own: aws-cli (`s3 cp` of a
//! 100 MiB file up and down, which is multipart, `s3 sync` of 50 files, `s3 presign`),
//! boto3 (multipart with abort, copy with REPLACE, range GET, presigned GET and PUT),
//! rclone (copy up, check, copy down), s3cmd (put and get of a 40 MiB file, multipart)
//! and minio-py (fput, stat, list, fget, remove). `scripts/setup --test` installs the
//! clients; a missing one fails its test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coffer_tests::{TestServer, random_bytes, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::shared;

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    shared(&SERVER, TestServer::builder).await
}

/// Runs a client; panics with its output unless it succeeded.
pub(crate) fn run(mut cmd: Command, what: &str) -> String {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e}); run scripts/setup --test"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// aws-cli with the root account's keys against the server, in a scratch home.
pub(crate) fn aws(s: &TestServer, home: &Path, args: &[&str]) -> String {
    let keys = s.admin_keys();
    let mut cmd = Command::new("aws");
    cmd.args(["--endpoint-url", &s.endpoint(), "--region", "us-east-1"])
        .args(args)
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", &keys.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &keys.secret_key)
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    run(cmd, &format!("aws {args:?}"))
}

pub(crate) fn write_file(path: &Path, data: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, data).expect("write");
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn aws_cli_copies_100_mib_syncs_50_files_and_presigns() {
    let s = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let bucket = unique_bucket("awscli");
    aws(s, home, &["s3", "mb", &format!("s3://{bucket}")]);

    let big = random_bytes(100 << 20);
    let up = home.join("big.bin");
    write_file(&up, &big);
    aws(
        s,
        home,
        &[
            "s3",
            "cp",
            up.to_str().expect("utf-8"),
            &format!("s3://{bucket}/big.bin"),
        ],
    );
    let head = aws(
        s,
        home,
        &[
            "s3api",
            "head-object",
            "--bucket",
            &bucket,
            "--key",
            "big.bin",
        ],
    );
    assert!(
        head.contains("-13"),
        "a multipart ETag (13 parts of 8 MiB): {head}"
    );
    let down = home.join("down.bin");
    aws(
        s,
        home,
        &[
            "s3",
            "cp",
            &format!("s3://{bucket}/big.bin"),
            down.to_str().expect("utf-8"),
        ],
    );
    assert!(read(&down) == big, "100 MiB round trip");

    let tree = home.join("tree");
    let mut files = Vec::new();
    for i in 0..50 {
        let rel = format!("d{}/file-{i}.txt", i % 5);
        let data = random_bytes(1000 + i * 37);
        write_file(&tree.join(&rel), &data);
        files.push((rel, data));
    }
    let target = format!("s3://{bucket}/tree");
    aws(
        s,
        home,
        &["s3", "sync", tree.to_str().expect("utf-8"), &target],
    );
    let back = home.join("back");
    aws(
        s,
        home,
        &["s3", "sync", &target, back.to_str().expect("utf-8")],
    );
    for (rel, data) in &files {
        assert!(read(&back.join(rel)) == *data, "{rel}");
    }
    // A second sync has nothing to do.
    let again = aws(
        s,
        home,
        &["s3", "sync", tree.to_str().expect("utf-8"), &target],
    );
    assert!(again.trim().is_empty(), "{again}");

    let url = aws(
        s,
        home,
        &[
            "s3",
            "presign",
            &format!("s3://{bucket}/tree/d0/file-0.txt"),
            "--expires-in",
            "300",
        ],
    );
    let resp = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(url.trim())
        .send()
        .await
        .expect("presigned GET");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.bytes().await.expect("body").as_ref() == files[0].1.as_slice());
}

fn python_checks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/clients/python_checks.py")
}

fn python(s: &TestServer, which: &str) -> String {
    let keys = s.admin_keys();
    let mut cmd = Command::new("python3");
    cmd.arg(python_checks())
        .args([which, &s.endpoint(), &keys.access_key, &keys.secret_key])
        .arg(unique_bucket(which))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "*");
    run(cmd, &format!("{which} checks"))
}

#[tokio::test]
async fn boto3_multipart_abort_copy_range_and_presigned_urls() {
    let s = server().await;
    let out = tokio::task::spawn_blocking(move || python(s, "boto3"))
        .await
        .expect("boto3 checks");
    for check in [
        "multipart upload and download",
        "multipart abort",
        "copy with REPLACE",
        "range GET",
        "presigned GET and PUT",
    ] {
        assert!(out.contains(&format!("ok {check}")), "{check}:\n{out}");
    }
}

#[tokio::test]
async fn minio_py_fput_stat_list_fget_remove() {
    let s = server().await;
    let out = tokio::task::spawn_blocking(move || python(s, "minio"))
        .await
        .expect("minio checks");
    for check in [
        "fput_object",
        "stat_object",
        "list_objects",
        "fget_object",
        "remove_object",
    ] {
        assert!(out.contains(&format!("ok {check}")), "{check}:\n{out}");
    }
}

/// rclone against the server through a remote called `coffer` defined in the environment.
pub(crate) fn rclone(s: &TestServer, args: &[&str]) -> String {
    let keys = s.admin_keys();
    let mut cmd = Command::new("rclone");
    // rclone 1.60 (aws-sdk-go v1) refuses to start when AWS_CA_BUNDLE is set.
    cmd.args(args)
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("AWS_PROFILE")
        .env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_COFFER_TYPE", "s3")
        .env("RCLONE_CONFIG_COFFER_PROVIDER", "Other")
        .env("RCLONE_CONFIG_COFFER_ACCESS_KEY_ID", &keys.access_key)
        .env("RCLONE_CONFIG_COFFER_SECRET_ACCESS_KEY", &keys.secret_key)
        .env("RCLONE_CONFIG_COFFER_ENDPOINT", s.endpoint())
        .env("RCLONE_CONFIG_COFFER_REGION", "us-east-1")
        .env("RCLONE_CONFIG_COFFER_FORCE_PATH_STYLE", "true");
    run(cmd, &format!("rclone {args:?}"))
}

#[tokio::test]
async fn rclone_copies_up_checks_and_copies_down() {
    let s = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let mut files = Vec::new();
    for (i, size) in [10usize, 70 << 10, 3 << 20, 12 << 20]
        .into_iter()
        .enumerate()
    {
        let rel = format!("sub{}/f{i}.bin", i % 2);
        let data = random_bytes(size);
        write_file(&src.join(&rel), &data);
        files.push((rel, data));
    }
    let bucket = unique_bucket("rclone");
    let remote = format!("coffer:{bucket}/data");
    let src_arg = src.to_str().expect("utf-8").to_string();
    let dst = dir.path().join("dst");
    let dst_arg = dst.to_str().expect("utf-8").to_string();
    let (remote2, remote3) = (remote.clone(), remote.clone());
    tokio::task::spawn_blocking(move || {
        rclone(s, &["mkdir", &format!("coffer:{bucket}")]);
        // A 4 MiB cutoff sends the 12 MiB file as a multipart upload.
        rclone(
            s,
            &[
                "copy",
                "--s3-upload-cutoff",
                "4M",
                "--s3-chunk-size",
                "5M",
                &src_arg,
                &remote,
            ],
        );
        rclone(s, &["check", &src_arg, &remote2]);
        rclone(s, &["copy", &remote3, &dst_arg]);
    })
    .await
    .expect("rclone");
    for (rel, data) in &files {
        assert!(read(&dst.join(rel)) == *data, "{rel}");
    }
}

#[tokio::test]
async fn s3cmd_puts_and_gets_40_mib_in_parts() {
    let s = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = s.admin_keys();
    let cfg = dir.path().join("s3cfg");
    let host = format!("127.0.0.1:{}", s.port());
    std::fs::write(
        &cfg,
        format!(
            "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host}\nhost_bucket = {host}\n\
             use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n\
             max_retries = 1\nprogress_meter = False\nmultipart_chunk_size_mb = 15\n",
            keys.access_key, keys.secret_key
        ),
    )
    .expect("config");
    let data = random_bytes(40 << 20);
    let up = dir.path().join("big.bin");
    write_file(&up, &data);
    let bucket = unique_bucket("s3cmd-big");
    let s3cmd = move |args: Vec<String>| {
        let mut cmd = Command::new("s3cmd");
        cmd.arg("-c").arg(&cfg).args(&args);
        run(cmd, &format!("s3cmd {args:?}"))
    };
    let down = dir.path().join("down.bin");
    let (up_arg, down_arg) = (
        up.to_str().expect("utf-8").to_string(),
        down.to_str().expect("utf-8").to_string(),
    );
    let b = bucket.clone();
    tokio::task::spawn_blocking(move || {
        s3cmd(vec!["mb".into(), format!("s3://{b}")]);
        s3cmd(vec!["put".into(), up_arg, format!("s3://{b}/big.bin")]);
        s3cmd(vec!["get".into(), format!("s3://{b}/big.bin"), down_arg]);
    })
    .await
    .expect("s3cmd");
    let head = s
        .client()
        .head_object()
        .bucket(&bucket)
        .key("big.bin")
        .send()
        .await
        .expect("head");
    assert!(
        head.e_tag().is_some_and(|e| e.ends_with("-3\"")),
        "uploaded in three 15 MiB parts: {:?}",
        head.e_tag()
    );
    assert!(read(&down) == data, "40 MiB round trip");
}

#[tokio::test]
async fn aws_cli_puts_gets_and_deletes_bucket_cors() {
    let s = server().await;
    let home = tempfile::tempdir().unwrap();
    let bucket = unique_bucket("cli-cors");
    aws(s, home.path(), &["s3", "mb", &format!("s3://{bucket}")]);
    let config = home.path().join("cors.json");
    write_file(
        &config,
        br#"{"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"],
             "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]}"#,
    );
    let file = format!("file://{}", config.display());
    aws(
        s,
        home.path(),
        &[
            "s3api",
            "put-bucket-cors",
            "--bucket",
            &bucket,
            "--cors-configuration",
            &file,
        ],
    );
    let got = aws(
        s,
        home.path(),
        &["s3api", "get-bucket-cors", "--bucket", &bucket],
    );
    let got: serde_json::Value = serde_json::from_str(&got).expect("JSON");
    let rule = &got["CORSRules"][0];
    assert_eq!(rule["AllowedOrigins"][0], "https://app.example");
    assert_eq!(rule["AllowedMethods"], serde_json::json!(["GET", "PUT"]));
    assert_eq!(rule["ExposeHeaders"][0], "ETag");
    assert_eq!(rule["MaxAgeSeconds"], 600);
    aws(
        s,
        home.path(),
        &["s3api", "delete-bucket-cors", "--bucket", &bucket],
    );
    let keys = s.admin_keys();
    let out = Command::new("aws")
        .args(["--endpoint-url", &s.endpoint(), "--region", "us-east-1"])
        .args(["s3api", "get-bucket-cors", "--bucket", &bucket])
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", &keys.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &keys.secret_key)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("aws");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuchCORSConfiguration"));
}
