//! The s3cmd quick-start flow (`mb`, `ls`, `put`, `ls s3://bucket`, `get`, `info`,
//! `--add-header=x-amz-meta-...`, `del`, `rb`) with SigV2 and SigV4, path and virtual-host
//! style, and `setacl`. s3cmd is a real client: `scripts/test` installs it; missing, the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use coffer_tests::TestServer;
use tokio::sync::OnceCell;

use crate::support::shared;

const VHOST_BASE: &str = "s3.localtest";

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    shared(&SERVER, || {
        TestServer::builder().domain(VHOST_BASE).chunk_size(1 << 20)
    })
    .await
}

fn pyshim_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pyshim")
}

/// Writes the `.s3cfg` the README's quick start describes.
fn write_config(dir: &Path, server: &TestServer, signature_v2: bool, vhost: bool) -> PathBuf {
    let keys = server.admin_keys();
    let (host_base, host_bucket) = if vhost {
        let base = format!("{VHOST_BASE}:{}", server.port());
        (base.clone(), format!("%(bucket)s.{base}"))
    } else {
        let base = format!("127.0.0.1:{}", server.port());
        (base.clone(), base)
    };
    let path = dir.join("s3cfg");
    let text = format!(
        "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host_base}\n\
         host_bucket = {host_bucket}\nuse_https = False\nsignature_v2 = {}\n\
         bucket_location = us-east-1\nmax_retries = 1\nprogress_meter = False\n",
        keys.access_key,
        keys.secret_key,
        if signature_v2 { "True" } else { "False" },
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs s3cmd with `config`; returns stdout, panicking with its output on failure.
fn s3cmd(config: &Path, args: &[&str]) -> String {
    let out = Command::new("s3cmd")
        .arg("-c")
        .arg(config)
        .args(args)
        .env("PYTHONPATH", pyshim_dir())
        .env("COFFER_TEST_VHOST_BASE", VHOST_BASE)
        .output()
        .expect("s3cmd is not installed: run scripts/setup --test (pip install s3cmd)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "s3cmd {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn quick_start_flow(server: &TestServer, signature_v2: bool, vhost: bool) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), server, signature_v2, vhost);
    let bucket = format!(
        "s3cmd-{}-{}",
        if signature_v2 { "v2" } else { "v4" },
        if vhost { "vhost" } else { "path" }
    );
    let uri = format!("s3://{bucket}");

    // 2.5 MiB of varied bytes: several chunks on a 1 MiB chunk size, not inline.
    let data: Vec<u8> = (0..(5u32 << 19))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let upload = dir.path().join("picture.jpg");
    std::fs::write(&upload, &data).unwrap();

    s3cmd(&cfg, &["mb", &uri]);
    assert!(
        s3cmd(&cfg, &["ls"]).contains(&uri),
        "ls lists the new bucket"
    );
    s3cmd(
        &cfg,
        &[
            "put",
            "--add-header=x-amz-meta-camera:fuji",
            upload.to_str().unwrap(),
            &format!("{uri}/photos/picture.jpg"),
        ],
    );
    let listing = s3cmd(&cfg, &["ls", "-r", &uri]);
    assert!(
        listing.contains(&format!("{uri}/photos/picture.jpg")),
        "{listing}"
    );
    assert!(listing.contains(&data.len().to_string()), "{listing}");

    let download = dir.path().join("copy.jpg");
    s3cmd(
        &cfg,
        &[
            "get",
            &format!("{uri}/photos/picture.jpg"),
            download.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(&download).unwrap() == data,
        "downloaded bytes differ"
    );

    let info = s3cmd(&cfg, &["info", &format!("{uri}/photos/picture.jpg")]);
    assert!(
        info.to_lowercase().contains("x-amz-meta-camera: fuji"),
        "{info}"
    );
    assert!(info.contains(&data.len().to_string()), "{info}");

    s3cmd(&cfg, &["del", &format!("{uri}/photos/picture.jpg")]);
    assert!(!s3cmd(&cfg, &["ls", "-r", &uri]).contains("picture.jpg"));
    s3cmd(&cfg, &["rb", &uri]);
    assert!(!s3cmd(&cfg, &["ls"]).contains(&uri), "bucket removed");
}

async fn run(signature_v2: bool, vhost: bool) {
    let server = server().await;
    tokio::task::spawn_blocking(move || quick_start_flow(server, signature_v2, vhost))
        .await
        .unwrap();
}

#[tokio::test]
async fn s3cmd_sigv2_path_style() {
    run(true, false).await;
}

#[tokio::test]
async fn s3cmd_sigv2_virtual_host_style() {
    run(true, true).await;
}

#[tokio::test]
async fn s3cmd_sigv4_path_style() {
    run(false, false).await;
}

#[tokio::test]
async fn s3cmd_sigv4_virtual_host_style() {
    run(false, true).await;
}

/// Anonymous `curl` of `url`: the HTTP status.
fn curl_status(url: &str) -> u16 {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl printed {:?}", out))
}

/// `s3cmd setacl` with `--acl-public`, `--acl-private`, `--acl-grant` and `--acl-revoke`,
/// checked with anonymous curl and a second account.
#[tokio::test]
async fn s3cmd_setacl_public_private_grant_revoke() {
    let server = server().await;
    let other = server.create_account("s3cmd-acl-other").await;
    let other_client = server.client_for(&other);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), server, false, false);
    let bucket = "s3cmd-setacl";
    let uri = format!("s3://{bucket}/doc.txt");
    let file = dir.path().join("doc.txt");
    std::fs::write(&file, b"acl me").unwrap();
    s3cmd(&cfg, &["mb", &format!("s3://{bucket}")]);
    s3cmd(&cfg, &["put", file.to_str().unwrap(), &uri]);
    let url = format!("{}/{bucket}/doc.txt", server.endpoint());
    let other_reads = || async {
        other_client
            .get_object()
            .bucket(bucket)
            .key("doc.txt")
            .send()
            .await
            .is_ok()
    };
    assert_eq!(curl_status(&url), 403, "new objects are private");
    assert!(!other_reads().await);

    s3cmd(&cfg, &["setacl", &uri, "--acl-public"]);
    assert_eq!(curl_status(&url), 200);
    let info = s3cmd(&cfg, &["info", &uri]);
    assert!(info.contains("*anon*: READ"), "{info}");

    s3cmd(&cfg, &["setacl", &uri, "--acl-private"]);
    assert_eq!(curl_status(&url), 403);
    assert!(!other_reads().await);

    let grant = format!("--acl-grant=read:{}", other.canonical_id);
    s3cmd(&cfg, &["setacl", &uri, &grant]);
    assert!(other_reads().await, "the grant lets the other account read");
    assert_eq!(curl_status(&url), 403, "but not anonymous callers");

    let revoke = format!("--acl-revoke=read:{}", other.canonical_id);
    s3cmd(&cfg, &["setacl", &uri, &revoke]);
    assert!(!other_reads().await, "the revoke took the grant away");

    // Bucket ACLs: a public bucket can be listed anonymously.
    let bucket_url = format!("{}/{bucket}", server.endpoint());
    assert_eq!(curl_status(&bucket_url), 403);
    s3cmd(&cfg, &["setacl", &format!("s3://{bucket}"), "--acl-public"]);
    assert_eq!(curl_status(&bucket_url), 200);
    s3cmd(
        &cfg,
        &["setacl", &format!("s3://{bucket}"), "--acl-private"],
    );
    assert_eq!(curl_status(&bucket_url), 403);
}

#[tokio::test]
async fn s3cmd_setcors_and_delcors() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), s, false, false);
    let bucket = coffer_tests::unique_bucket("s3cmd-cors");
    s3cmd(&config, &["mb", &format!("s3://{bucket}")]);
    let rules = dir.path().join("cors.xml");
    std::fs::write(
        &rules,
        "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>\
         <AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>\
         </CORSConfiguration>",
    )
    .unwrap();
    s3cmd(
        &config,
        &[
            "setcors",
            rules.to_str().unwrap(),
            &format!("s3://{bucket}"),
        ],
    );
    let info = s3cmd(&config, &["info", &format!("s3://{bucket}")]);
    assert!(info.contains("https://app.example"), "{info}");
    s3cmd(&config, &["delcors", &format!("s3://{bucket}")]);
    let info = s3cmd(&config, &["info", &format!("s3://{bucket}")]);
    assert!(!info.contains("https://app.example"), "{info}");
}
