//! The web console in a real browser: headless Chromium (Debian's, driven by Playwright
//! from PyPI; `scripts/setup --test` installs both) runs `tests/browser/console_e2e.py`
//! against the release build of the server (as users run it), as a user would: log in (a wrong secret first), create a bucket
//! (an invalid name first), drop files and a folder, upload 50 MiB, browse, download, make
//! an object public, edit its metadata, add a CORS rule, share a link, manage keys, delete
//! everything and log out, with an axe-core accessibility check on each page; then an
//! administrator sets a bucket's metadata rules in the drawer and sees an upload and a
//! metadata edit that break them refused with the module's words.
//!
//! The script stops at checkpoints (one JSON line on its stdout) and this test checks the
//! server's state there with aws-sdk-s3 and anonymous HTTP, then answers on its stdin. Each
//! step leaves a screenshot in `target/console-e2e/` (and, on failure, the page's HTML
//! and a Playwright trace).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Permission, Type};
use coffer_tests::{AccountKeys, TestServer, unique_bucket};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{all_keys, create_bucket, exists, get, put_many};

/// The whole scenario's time limit (it takes well under a minute on a laptop).
const LIMIT: Duration = Duration::from_secs(240);

/// Keys in `many/`: more than the console's page of 100.
const MANY: usize = 105;

/// The server's virtual-host domain (the console shows virtual-host URLs with it).
const DOMAIN: &str = "s3.coffer.test";

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser/console_e2e.py")
}

/// The stored module the administrator attaches in the Policy tab.
const STORED_MODULE: &str = "console-read-only";

/// The administrator's bucket for the metadata-rules step.
fn rules_bucket(bucket: &str) -> String {
    format!("{bucket}-rules")
}

/// The administrator's bucket with Object Lock for the versions step.
fn versions_bucket(bucket: &str) -> String {
    format!("{bucket}-versions")
}

/// Where screenshots go: `target/console-e2e/` of the build tree that runs the test.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(&tests).join("target")
        });
    target.join("console-e2e")
}

/// Whether `bucket`/`key` (key "" for the bucket) grants AllUsers READ.
async fn public(c: &Client, bucket: &str, key: &str) -> bool {
    let grants = if key.is_empty() {
        c.get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .expect("GetBucketAcl")
            .grants
    } else {
        c.get_object_acl()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("GetObjectAcl")
            .grants
    };
    grants.unwrap_or_default().iter().any(|g| {
        g.permission() == Some(&Permission::Read)
            && g.grantee()
                .is_some_and(|who| who.r#type() == &Type::Group && who.uri() == Some(ALL_USERS))
    })
}

/// Checks the server's state at one checkpoint of the script.
async fn verify(
    s: &TestServer,
    user: &AccountKeys,
    friend: &AccountKeys,
    bucket: &str,
    cp: &Value,
) {
    let c = s.client_for(user);
    let name = cp["checkpoint"].as_str().unwrap_or_default();
    match name {
        "bucket_created" => {
            c.head_bucket()
                .bucket(bucket)
                .send()
                .await
                .expect("the bucket exists");
            assert!(!public(&c, bucket, "").await, "a new bucket is private");
            // More than a page of keys for the pagination step.
            let many: Vec<String> = (0..MANY).map(|i| format!("many/{i:03}")).collect();
            put_many(&c, bucket, &many).await;
        }
        "dropped" => {
            for key in cp["keys"].as_array().expect("keys") {
                let key = key.as_str().expect("key");
                assert!(exists(&c, bucket, key).await, "{key} was uploaded");
                assert!(!public(&c, bucket, key).await, "{key} is private");
            }
            assert_eq!(
                get(&c, bucket, "hello.txt").await,
                b"hello from the console\n"
            );
            assert_eq!(get(&c, bucket, "folder/sub/b.txt").await, b"file b");
        }
        "big_uploaded" => {
            let data = get(&c, bucket, "big.bin").await;
            assert_eq!(Some(data.len() as u64), cp["size"].as_u64());
            assert_eq!(
                Some(hex::encode(Sha256::digest(&data)).as_str()),
                cp["sha256"].as_str()
            );
        }
        "multipart_uploaded" => {
            let head = c
                .head_object()
                .bucket(bucket)
                .key("multi.bin")
                .send()
                .await
                .expect("HeadObject");
            // A multipart ETag: "<md5 of the parts' md5s>-<parts>".
            assert!(
                head.e_tag().is_some_and(|e| e.contains('-')),
                "multipart: {:?}",
                head.e_tag()
            );
            let data = get(&c, bucket, "multi.bin").await;
            assert_eq!(Some(data.len() as u64), cp["size"].as_u64());
            assert_eq!(
                Some(hex::encode(Sha256::digest(&data)).as_str()),
                cp["sha256"].as_str()
            );
        }
        "upload_cancelled" => {
            assert!(!exists(&c, bucket, "cancel.bin").await, "nothing stored");
            let uploads = c
                .list_multipart_uploads()
                .bucket(bucket)
                .send()
                .await
                .expect("ListMultipartUploads");
            assert!(
                uploads.uploads().is_empty(),
                "the multipart upload was aborted: {:?}",
                uploads.uploads()
            );
        }
        "granted" => {
            let friend = s.client_for(friend);
            assert_eq!(get(&friend, bucket, "folder/a.txt").await, b"file a");
            assert!(
                friend
                    .get_object()
                    .bucket(bucket)
                    .key("folder/sub/b.txt")
                    .send()
                    .await
                    .is_err(),
                "the grant is the object's only"
            );
        }
        "bucket_public" => assert!(public(&c, bucket, "").await, "the bucket is public"),
        "rules_enforced" => {
            let admin = s.client();
            assert!(!exists(&admin, &rules_bucket(bucket), "no-owner.txt").await);
            let head = admin
                .head_object()
                .bucket(rules_bucket(bucket))
                .key("ok.txt")
                .send()
                .await
                .expect("HeadObject");
            assert_eq!(
                head.metadata()
                    .and_then(|m| m.get("owner"))
                    .map(String::as_str),
                Some("alice"),
                "the refused edit changed nothing"
            );
        }
        "module_attached" | "module_detached" => {
            let want = cp["module"].as_str().unwrap_or("default");
            let policy = s
                .admin_raw(
                    "GET",
                    &format!("/v1/buckets/{}/policy", rules_bucket(bucket)),
                )
                .sign_v4(s.admin_keys())
                .send()
                .await;
            assert_eq!(policy.status, 200, "{}", policy.text());
            let policy: Value = serde_json::from_slice(&policy.body).expect("JSON");
            assert_eq!(policy["module"], want, "{policy}");
            if want != "default" {
                assert_eq!(policy["config"]["prefixes"][0], "locked/", "{policy}");
            }
        }
        "versions" => {
            let admin = s.client();
            let vb = versions_bucket(bucket);
            let listed = admin
                .list_object_versions()
                .bucket(&vb)
                .send()
                .await
                .expect("ListObjectVersions");
            let versions = listed.versions();
            assert_eq!(
                versions.len(),
                3,
                "restored as a third version: {versions:?}"
            );
            let current = admin
                .get_object()
                .bucket(&vb)
                .key("doc.txt")
                .send()
                .await
                .expect("GetObject");
            assert_eq!(
                current.object_lock_legal_hold_status().map(|s| s.as_str()),
                Some("ON")
            );
            let body = current.body.collect().await.expect("body").into_bytes();
            assert_eq!(&body[..], b"first", "the older version is current again");
            let tags = admin
                .get_object_tagging()
                .bucket(&vb)
                .key("doc.txt")
                .send()
                .await
                .expect("GetObjectTagging");
            assert_eq!(tags.tag_set()[0].key(), "state");
            let bucket_tags = admin
                .get_bucket_tagging()
                .bucket(&vb)
                .send()
                .await
                .expect("GetBucketTagging");
            assert_eq!(bucket_tags.tag_set()[0].value(), "storage");
            let rules = admin
                .get_bucket_lifecycle_configuration()
                .bucket(&vb)
                .send()
                .await
                .expect("GetBucketLifecycleConfiguration");
            assert_eq!(rules.rules()[0].id(), Some("tmp"));
        }
        "public" => assert!(public(&c, bucket, "hello.txt").await, "made public"),
        "metadata" => {
            let head = c
                .head_object()
                .bucket(bucket)
                .key("hello.txt")
                .send()
                .await
                .expect("HeadObject");
            let meta = head.metadata().cloned().unwrap_or_default();
            for (k, v) in cp["metadata"].as_object().expect("metadata") {
                assert_eq!(meta.get(k).map(String::as_str), v.as_str(), "{meta:?}");
            }
            assert_eq!(head.cache_control(), cp["cache_control"].as_str());
            assert_eq!(
                head.content_disposition(),
                cp["content_disposition"].as_str()
            );
            assert!(
                public(&c, bucket, "hello.txt").await,
                "editing metadata kept the ACL"
            );
            assert_eq!(
                get(&c, bucket, "hello.txt").await,
                b"hello from the console\n"
            );
        }
        "cors" => {
            let cors = c
                .get_bucket_cors()
                .bucket(bucket)
                .send()
                .await
                .expect("GetBucketCors");
            let rules = cors.cors_rules();
            assert_eq!(rules.len(), 1, "{rules:?}");
            assert_eq!(rules[0].id(), Some("<b>console-rule</b>"));
            assert_eq!(rules[0].allowed_origins(), [cp["origin"].as_str().unwrap()]);
            assert_eq!(rules[0].allowed_methods(), ["GET"]);
            assert_eq!(rules[0].expose_headers(), ["ETag"]);
            assert_eq!(rules[0].max_age_seconds(), Some(60));
        }
        "access_settings" => {
            let policy = c
                .get_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .expect("the console put a bucket policy");
            assert!(
                policy.policy().is_some_and(|p| p.contains("ConsoleShared")),
                "{policy:?}"
            );
            let err = c.get_public_access_block().bucket(bucket).send().await;
            assert!(err.is_err(), "Block Public Access was removed: {err:?}");
            let ownership = c
                .get_bucket_ownership_controls()
                .bucket(bucket)
                .send()
                .await
                .expect("ownership controls");
            assert_eq!(
                ownership.ownership_controls().expect("controls").rules()[0]
                    .object_ownership()
                    .as_str(),
                "BucketOwnerPreferred"
            );
        }
        "key_created" => {
            let keys = AccountKeys {
                account: user.account.clone(),
                access_key: cp["access_key"].as_str().expect("key").to_owned(),
                secret_key: cp["secret_key"].as_str().expect("secret").to_owned(),
                canonical_id: String::new(),
            };
            s.client_for(&keys)
                .head_bucket()
                .bucket(bucket)
                .send()
                .await
                .expect("the new key works");
        }
        "key_revoked" => {
            let keys = AccountKeys {
                account: user.account.clone(),
                access_key: cp["access_key"].as_str().expect("key").to_owned(),
                secret_key: String::new(),
                canonical_id: String::new(),
            };
            let r = s.raw("GET", "/").sign_v4(&keys).send().await;
            assert_eq!(r.status, 403, "a revoked key is refused: {}", r.text());
        }
        "folder_created" => {
            let head = c
                .head_object()
                .bucket(bucket)
                .key("empty/")
                .send()
                .await
                .expect("the folder marker exists");
            assert_eq!(head.content_length(), Some(0));
        }
        "objects_deleted" => assert_eq!(all_keys(&c, bucket).await, Vec::<String>::new()),
        "bucket_deleted" => {
            assert!(c.head_bucket().bucket(bucket).send().await.is_err(), "gone");
        }
        other => panic!("unknown checkpoint {other}"),
    }
}

#[tokio::test]
async fn a_user_manages_buckets_and_objects_in_the_console() {
    let s = TestServer::builder()
        .domain(DOMAIN)
        .release_build()
        .start()
        .await;
    let user = s
        .create_account_with_email("console-user", "console-user@example.com")
        .await;
    // Another account, granted access by e-mail in the ACL tab.
    let friend = s
        .create_account_with_email("console-friend", "friend@example.com")
        .await;
    let bucket = unique_bucket("console");
    // Only this run's screenshots.
    let _ = std::fs::remove_dir_all(artifacts());
    // The administrator's bucket, with one object its future rules accept.
    let admin = s.client();
    create_bucket(&admin, &rules_bucket(&bucket)).await;
    admin
        .put_object()
        .bucket(rules_bucket(&bucket))
        .key("ok.txt")
        .metadata("owner", "alice")
        .body(b"ok".to_vec().into())
        .send()
        .await
        .expect("PutObject");
    // The administrator's bucket with Object Lock, and two versions of one object.
    admin
        .create_bucket()
        .bucket(versions_bucket(&bucket))
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("CreateBucket with Object Lock");
    for body in [b"first".as_slice(), b"second"] {
        admin
            .put_object()
            .bucket(versions_bucket(&bucket))
            .key("doc.txt")
            .body(body.to_vec().into())
            .send()
            .await
            .expect("PutObject");
    }
    // A stored module the administrator attaches in the Policy tab.
    let module_file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(
        module_file.path(),
        coffer_tests::policy_module("read-only-prefix"),
    )
    .expect("writing the module");
    let module_path = module_file.path().to_str().expect("UTF-8 path");
    s.admin_ok(&["policy", "put", STORED_MODULE, module_path])
        .await;
    let args = json!({
        "stored_module": STORED_MODULE,
        "console": s.console_endpoint(),
        "s3": s.endpoint(),
        "access_key": user.access_key,
        "secret_key": user.secret_key,
        "bucket": bucket,
        "domain": DOMAIN,
        "friend_email": "friend@example.com",
        "friend_access_key": friend.access_key,
        "many": MANY,
        "rules_bucket": rules_bucket(&bucket),
        "versions_bucket": versions_bucket(&bucket),
        "admin_access_key": s.admin_keys().access_key,
        "admin_secret_key": s.admin_keys().secret_key,
        "artifacts": artifacts(),
        "interactive": true,
    });
    let run = async {
        let mut child = tokio::process::Command::new("python3")
            .arg(script())
            .arg(args.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("running python3 (scripts/setup --test installs playwright and chromium)");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut checkpoints = Vec::new();
        let mut report = None;
        while let Some(line) = lines.next_line().await.expect("reading the script") {
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("the script printed a non-JSON line ({e}): {line}"));
            if msg.get("checkpoint").is_some() {
                eprintln!("console e2e: checkpoint {}", msg["checkpoint"]);
                verify(&s, &user, &friend, &bucket, &msg).await;
                checkpoints.push(msg["checkpoint"].clone());
                stdin
                    .write_all(b"{\"ok\": true}\n")
                    .await
                    .expect("answering the script");
                stdin.flush().await.expect("answering the script");
            } else if let Some(r) = msg.get("report") {
                report = Some(r.clone());
            }
        }
        let status = child.wait().await.expect("waiting for the script");
        (status, checkpoints, report)
    };
    let (status, checkpoints, report) = tokio::time::timeout(LIMIT, run)
        .await
        .expect("the browser scenario finished in time");
    let report = report.unwrap_or_else(|| panic!("the script printed no report ({status})"));
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    assert!(
        failures.is_empty() && status.success(),
        "the browser scenario failed (screenshots in {}): {}\n{}",
        artifacts().display(),
        serde_json::to_string_pretty(&failures).unwrap_or_default(),
        report["traceback"].as_str().unwrap_or_default()
    );
    assert_eq!(
        checkpoints.len(),
        20,
        "every checkpoint was reached: {checkpoints:?}"
    );
    assert!(report["steps"].as_array().is_some_and(|s| s.len() > 20));
}
