//! Metadata validation (`validate-metadata`, issue 11 item 5) through the real server:
//! the default module attached with metadata rules, each kind of rule accepted and
//! rejected on every write that creates an object (PutObject, POST Object, CopyObject
//! with COPY and REPLACE, CreateMultipartUpload), the `400 InvalidArgument` answer and
//! nothing stored after a rejection, a failing module answered `403 AccessDenied`, and
//! attaching `default` with a configuration through the admin API and the CLI (a bad
//! configuration refused).

use std::time::Duration;

use coffer_tests::raw::object_path;
use coffer_tests::{RawResponse, ServerBuilder, TestServer, policy_module, unique_bucket, xml};
use tokio::sync::OnceCell;

use crate::policies::{
    api_attach, api_detach, api_put_module, assert_status, eventually, json, metrics_text,
};
use crate::post_object::{as_refs, form_body, post, sigv4_fields};
use crate::support::{create_bucket, put, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();
static WARM: OnceCell<()> = OnceCell::const_new();

/// The shared server, once it has compiled the default module with metadata rules.
///
/// The server compiles that build at the first attachment of `default` with a
/// configuration, and the admin API answers an attachment once it is in force. A debug
/// build of wasmtime takes seconds to compile it (half a second in release), more than
/// a request may take while tests run in parallel; so the first attachment is made with
/// the CLI and waited for here, once.
async fn server() -> &'static TestServer {
    let s = shared(&SERVER, || {
        ServerBuilder::default().arg("--policy-poll-ms").arg("200")
    })
    .await;
    WARM.get_or_init(|| async {
        let bucket = unique_bucket("meta-warm");
        create_bucket(&s.client(), &bucket).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("rules.json");
        std::fs::write(&file, RULES).expect("writing the rules");
        let path = file.to_str().expect("utf-8 path");
        s.admin_ok(&["policy", "attach", &bucket, "default", "--config", path])
            .await;
        let in_force = eventually(Duration::from_secs(300), || async {
            put_with(s, &bucket, "photos/a.png", &[]).await.status == 400
        })
        .await;
        assert!(in_force, "the default module with rules never took effect");
    })
    .await;
    s
}

/// One rule of each kind for keys under `photos/`; `raw/` inside it is exempt.
const RULES: &str = r#"{"metadata": [
    {"prefix": "photos/", "content_types": ["image/*"], "schema": {
        "required": ["owner"],
        "properties": {
            "owner": {"pattern": "^[a-z]+$", "maxLength": 8},
            "stage": {"enum": ["draft", "final"]},
            "kind": {"const": "photo"},
            "note": {"minLength": 2}
        },
        "additionalProperties": false,
        "propertyNames": {"maxLength": 5},
        "maxProperties": 3
    }},
    {"prefix": "photos/raw/"}
]}"#;

/// A bucket of the root account with the default module attached with [`RULES`].
async fn ruled_bucket(s: &TestServer, prefix: &str) -> String {
    let bucket = unique_bucket(prefix);
    create_bucket(&s.client(), &bucket).await;
    assert_status(&api_attach(s, &bucket, "default", RULES).await, 200);
    bucket
}

/// A signed PUT of `key` with `headers`.
async fn put_with(
    s: &TestServer,
    bucket: &str,
    key: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut req = s.raw("PUT", &object_path(bucket, key)).body("bytes");
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.sign_v4(s.admin_keys()).send().await
}

/// Whether `key` exists (a signed HEAD).
async fn stored(s: &TestServer, bucket: &str, key: &str) -> bool {
    let head = s
        .raw("HEAD", &object_path(bucket, key))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    match head.status {
        200 => true,
        404 => false,
        other => panic!("HEAD {key}: {other}"),
    }
}

/// Asserts the S3 error answer of a rejection: 400 InvalidArgument, the message.
#[track_caller]
fn assert_rejected(resp: &RawResponse, message: &str) {
    resp.assert_error(400, "InvalidArgument");
    assert_eq!(
        xml::tag_text(&resp.text(), "Message").as_deref(),
        Some(message),
        "{}",
        resp.text()
    );
}

/// Each kind of rule, accepted and rejected, by PutObject; nothing is stored after a
/// rejection.
#[tokio::test]
async fn put_object_is_judged_by_every_kind_of_rule() {
    let s = server().await;
    let bucket = ruled_bucket(s, "meta-put").await;
    let image = ("content-type", "image/png");
    let owner = ("x-amz-meta-owner", "alice");
    let accepted: &[&[(&str, &str)]] = &[
        &[image, owner],
        &[image, owner, ("x-amz-meta-stage", "final")],
        &[image, owner, ("x-amz-meta-kind", "photo")],
        &[image, owner, ("x-amz-meta-note", "ok")],
        // Parameters are ignored, media types compared case-insensitively.
        &[("content-type", "Image/JPEG; q=0.9"), owner],
    ];
    for (i, headers) in accepted.iter().enumerate() {
        let key = format!("photos/ok-{i}.png");
        put_with(s, &bucket, &key, headers).await.assert_success();
        assert!(stored(s, &bucket, &key).await, "{key}");
    }
    let rejected: &[(&[(&str, &str)], &str)] = &[
        (&[image], "x-amz-meta-owner is required"),
        (
            &[image, ("x-amz-meta-owner", "Alice")],
            "x-amz-meta-owner does not match ^[a-z]+$",
        ),
        (
            &[image, ("x-amz-meta-owner", "abcdefghi")],
            "x-amz-meta-owner is longer than 8 characters",
        ),
        (
            &[image, owner, ("x-amz-meta-stage", "wip")],
            r#"x-amz-meta-stage must be one of "draft", "final""#,
        ),
        (
            &[image, owner, ("x-amz-meta-kind", "video")],
            r#"x-amz-meta-kind must be "photo""#,
        ),
        (
            &[image, owner, ("x-amz-meta-note", "x")],
            "x-amz-meta-note is shorter than 2 characters",
        ),
        (
            &[image, owner, ("x-amz-meta-other", "x")],
            "x-amz-meta-other is not allowed",
        ),
        (
            &[image, owner, ("x-amz-meta-longname", "x")],
            "x-amz-meta-longname: the name is longer than 5 characters",
        ),
        (
            &[
                image,
                owner,
                ("x-amz-meta-stage", "draft"),
                ("x-amz-meta-kind", "photo"),
                ("x-amz-meta-note", "hi"),
            ],
            "at most 3 x-amz-meta-* entries are allowed, the object has 4",
        ),
        (
            &[("content-type", "text/plain"), owner],
            "content type text/plain is not allowed",
        ),
        // Without Content-Type an object is S3's binary/octet-stream.
        (&[owner], "content type binary/octet-stream is not allowed"),
    ];
    for (i, (headers, message)) in rejected.iter().enumerate() {
        let key = format!("photos/bad-{i}.png");
        assert_rejected(&put_with(s, &bucket, &key, headers).await, message);
        assert!(!stored(s, &bucket, &key).await, "{key} was stored");
    }
    // Other prefixes: no rule, or an exempting rule.
    put_with(s, &bucket, "docs/a.txt", &[])
        .await
        .assert_success();
    put_with(s, &bucket, "photos/raw/a.cr2", &[])
        .await
        .assert_success();
    // RFC 2047 values are judged decoded, as they are stored.
    put_with(
        s,
        &bucket,
        "photos/encoded.png",
        &[image, ("x-amz-meta-owner", "=?UTF-8?B?Ym9i?=")],
    )
    .await
    .assert_success();
    assert_status(&api_detach(s, &bucket).await, 204);
}

/// POST Object: the form's fields are the object's headers and metadata.
#[tokio::test]
async fn post_object_is_judged_with_the_form_fields() {
    let s = server().await;
    let bucket = ruled_bucket(s, "meta-post").await;
    let form = |key: &str, content_type: &str, owner: &str| {
        let fields = [
            ("key", key.to_owned()),
            ("Content-Type", content_type.to_owned()),
            ("x-amz-meta-owner", owner.to_owned()),
        ];
        let conditions: Vec<serde_json::Value> = fields
            .iter()
            .map(|(n, v)| serde_json::json!(["eq", format!("${n}"), v]))
            .chain([serde_json::json!({ "bucket": bucket })])
            .collect();
        let signed = sigv4_fields(s, 600, &conditions, &fields);
        form_body(&as_refs(&signed), "file.bin", b"form bytes")
    };
    let ok = post(s, &bucket, form("photos/form.png", "image/png", "alice")).await;
    assert_eq!(ok.status, 204, "{}", ok.text());
    assert!(stored(s, &bucket, "photos/form.png").await);
    // The request's own Content-Type is multipart/form-data; the form's field counts.
    let bad_type = post(s, &bucket, form("photos/form.txt", "text/plain", "alice")).await;
    assert_rejected(&bad_type, "content type text/plain is not allowed");
    let bad_owner = post(s, &bucket, form("photos/form2.png", "image/png", "Al1ce")).await;
    assert_rejected(&bad_owner, "x-amz-meta-owner does not match ^[a-z]+$");
    for key in ["photos/form.txt", "photos/form2.png"] {
        assert!(!stored(s, &bucket, key).await, "{key} was stored");
    }
    assert_status(&api_detach(s, &bucket).await, 204);
}

/// CopyObject: with COPY the source's stored metadata and Content-Type are judged, with
/// REPLACE the request's.
#[tokio::test]
async fn copy_object_is_judged_by_the_metadata_the_copy_gets() {
    let s = server().await;
    let bucket = ruled_bucket(s, "meta-copy").await;
    // Sources outside the rules' prefix: anything goes there.
    put_with(
        s,
        &bucket,
        "src/good.png",
        &[("content-type", "image/png"), ("x-amz-meta-owner", "alice")],
    )
    .await
    .assert_success();
    put_with(
        s,
        &bucket,
        "src/bad.txt",
        &[
            ("content-type", "text/plain"),
            ("x-amz-meta-owner", "alice"),
        ],
    )
    .await
    .assert_success();
    let copy = |from: &'static str, to: &'static str, extra: &[(&str, &str)]| {
        let mut req = s
            .raw("PUT", &object_path(&bucket, to))
            .header("x-amz-copy-source", &format!("/{bucket}/{from}"));
        for (name, value) in extra {
            req = req.header(name, value);
        }
        req.sign_v4(s.admin_keys()).send()
    };
    // COPY (the default): the source's headers and metadata, whatever the request says.
    copy(
        "src/good.png",
        "photos/copy.png",
        &[("x-amz-meta-owner", "IGNORED")],
    )
    .await
    .assert_success();
    assert!(stored(s, &bucket, "photos/copy.png").await);
    let resp = copy(
        "src/bad.txt",
        "photos/copy.txt",
        &[("content-type", "image/png")],
    )
    .await;
    assert_rejected(&resp, "content type text/plain is not allowed");
    // REPLACE: the request's.
    let replace = ("x-amz-metadata-directive", "REPLACE");
    let resp = copy("src/good.png", "photos/replaced.png", &[replace]).await;
    assert_rejected(&resp, "content type binary/octet-stream is not allowed");
    let resp = copy(
        "src/good.png",
        "photos/replaced2.png",
        &[replace, ("content-type", "image/gif")],
    )
    .await;
    assert_rejected(&resp, "x-amz-meta-owner is required");
    copy(
        "src/bad.txt",
        "photos/replaced3.png",
        &[
            replace,
            ("content-type", "image/gif"),
            ("x-amz-meta-owner", "bob"),
        ],
    )
    .await
    .assert_success();
    for key in [
        "photos/copy.txt",
        "photos/replaced.png",
        "photos/replaced2.png",
    ] {
        assert!(!stored(s, &bucket, key).await, "{key} was stored");
    }
    assert!(stored(s, &bucket, "photos/replaced3.png").await);
    assert_status(&api_detach(s, &bucket).await, 204);
}

/// CreateMultipartUpload is judged (its metadata is the object's); no upload is begun
/// after a rejection.
#[tokio::test]
async fn create_multipart_upload_is_judged() {
    let s = server().await;
    let bucket = ruled_bucket(s, "meta-mpu").await;
    let create = |key: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let mut req = s.raw("POST", &object_path(&bucket, key)).query("uploads");
        for (name, value) in headers {
            req = req.header(name, value);
        }
        req.sign_v4(s.admin_keys()).send()
    };
    let resp = create("photos/big.png", &[("content-type", "image/png")]).await;
    assert_rejected(&resp, "x-amz-meta-owner is required");
    let uploads = s
        .client()
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .expect("listing uploads");
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
    let resp = create(
        "photos/big.png",
        &[("content-type", "image/png"), ("x-amz-meta-owner", "alice")],
    )
    .await;
    resp.assert_success();
    assert!(
        xml::tag_text(&resp.text(), "UploadId").is_some(),
        "{}",
        resp.text()
    );
    assert_status(&api_detach(s, &bucket).await, 204);
}

/// A module whose metadata hook fails makes writes fail closed with AccessDenied, and
/// nothing is stored; a module without the hook gets the default module's, without its
/// configuration.
#[tokio::test]
async fn failing_modules_deny_writes() {
    let s = server().await;
    let c = s.client();
    // Authorize allows (S3's rules), only the metadata hook traps.
    let bucket = unique_bucket("meta-trap");
    create_bucket(&c, &bucket).await;
    let name = unique_bucket("metadata-panic");
    assert_status(
        &api_put_module(s, &name, &policy_module("metadata-panic")).await,
        200,
    );
    assert_status(&api_attach(s, &bucket, &name, "null").await, 200);
    s.raw("GET", &format!("/{bucket}"))
        .sign_v4(s.admin_keys())
        .send()
        .await
        .assert_success();
    put_with(s, &bucket, "k", &[("x-amz-meta-a", "1")])
        .await
        .assert_error(403, "AccessDenied");
    put_with(s, &bucket, "empty", &[])
        .await
        .assert_error(403, "AccessDenied");
    assert!(!stored(s, &bucket, "k").await && !stored(s, &bucket, "empty").await);
    let text = metrics_text(s).await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("coffer_policy_failures_total{")
                && l.contains(&format!("module=\"{name}\""))
                && l.contains("hook=\"metadata\"")
                && l.contains("kind=\"trap\"")),
        "no metadata trap counted for {name}:\n{text}"
    );
    assert_status(&api_detach(s, &bucket).await, 204);

    // Modules failing in every hook (the issue's fixtures).
    for fixture in ["infinite-loop", "memory-bomb"] {
        let bucket = unique_bucket(fixture);
        create_bucket(&c, &bucket).await;
        let name = unique_bucket(fixture);
        assert_status(
            &api_put_module(s, &name, &policy_module(fixture)).await,
            200,
        );
        assert_status(&api_attach(s, &bucket, &name, "null").await, 200);
        put_with(s, &bucket, "k", &[("x-amz-meta-a", "1")])
            .await
            .assert_error(403, "AccessDenied");
        assert_status(&api_detach(s, &bucket).await, 204);
        assert!(!stored(s, &bucket, "k").await);
    }

    // A module without the hook: its configuration is not read as metadata rules.
    let bucket = unique_bucket("meta-ro");
    create_bucket(&c, &bucket).await;
    let name = unique_bucket("ro");
    assert_status(
        &api_put_module(s, &name, &policy_module("read-only-prefix")).await,
        200,
    );
    assert_status(
        &api_attach(s, &bucket, &name, r#"{"prefixes": ["archive/"]}"#).await,
        200,
    );
    put(&c, &bucket, "fresh", b"x").await;
    assert_status(&api_detach(s, &bucket).await, 204);
}

/// Attaching `default` with a configuration through the admin API (shown by GET) and the
/// CLI (picked up by the server's poll), detaching, and a bad configuration refused by
/// both.
#[tokio::test]
async fn default_is_attached_with_a_configuration_by_the_api_and_the_cli() {
    let s = server().await;
    let bucket = unique_bucket("meta-attach");
    create_bucket(&s.client(), &bucket).await;
    let rules = r#"{"metadata": [{"schema": {"required": ["owner"]}}]}"#;

    // Admin API.
    let attached = api_attach(s, &bucket, "default", rules).await;
    assert_status(&attached, 200);
    let shown = s
        .admin_raw("GET", &format!("/v1/buckets/{bucket}/policy"))
        .sign_v4(s.admin_keys())
        .send()
        .await;
    assert_status(&shown, 200);
    let shown = json(&shown);
    assert_eq!(shown["module"], "default");
    assert_eq!(
        shown["config"]["metadata"][0]["schema"]["required"][0],
        "owner"
    );
    assert_rejected(
        &put_with(s, &bucket, "a", &[]).await,
        "x-amz-meta-owner is required",
    );
    put_with(s, &bucket, "a", &[("x-amz-meta-owner", "x")])
        .await
        .assert_success();
    assert_status(&api_detach(s, &bucket).await, 204);
    put_with(s, &bucket, "b", &[]).await.assert_success();

    // A bad configuration is refused at attach, and the bucket keeps its policy.
    for bad in [
        r#"{"metdata": []}"#,
        r#"{"metadata": [{"schema": {"properties": {"a": {"pattern": "("}}}}]}"#,
    ] {
        let refused = api_attach(s, &bucket, "default", bad).await;
        assert_status(&refused, 400);
        assert_eq!(
            json(&refused)["error"],
            "InvalidConfig",
            "{}",
            refused.text()
        );
    }
    put_with(s, &bucket, "c", &[]).await.assert_success();

    // CLI.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rules.json");
    std::fs::write(&file, rules).expect("writing the rules");
    let path = file.to_str().expect("utf-8 path");
    let out = s
        .admin_ok(&["policy", "attach", &bucket, "default", "--config", path])
        .await;
    assert!(out.contains("attached default"), "{out}");
    assert!(
        eventually(crate::support::PROPAGATION, || async {
            put_with(s, &bucket, "d", &[]).await.status == 400
        })
        .await,
        "the CLI's attachment never took effect"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"metadata": [{"content_types": ["image"]}]}"#).expect("writing");
    let refused = s
        .admin(&[
            "policy",
            "attach",
            &bucket,
            "default",
            "--config",
            bad.to_str().expect("utf-8"),
        ])
        .await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not a media type"), "{stderr}");
    s.admin_ok(&["policy", "detach", &bucket]).await;
    assert!(
        eventually(crate::support::PROPAGATION, || async {
            put_with(s, &bucket, "d", &[]).await.status == 200
        })
        .await,
        "the CLI's detachment never took effect"
    );
}

/// `coffer policy eval` without a module tries the default module's metadata rules
/// offline, as the docs say.
#[tokio::test]
async fn policy_eval_applies_metadata_rules_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("rules.json");
    std::fs::write(&config, RULES).expect("writing");
    let eval = |owner: &str| {
        let request = dir.path().join("req.json");
        let body = serde_json::json!({
            "operation": "PutObject",
            "bucket": "photos",
            "key": "photos/cat.png",
            "principal": {"account": {"canonical_id": "alice"}},
            "headers": {"content-type": "image/png", "x-amz-meta-owner": owner},
        });
        std::fs::write(&request, body.to_string()).expect("writing");
        std::process::Command::new(coffer_tests::coffer_binary())
            .args(["policy", "eval", "--hook", "metadata", "--request"])
            .arg(&request)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("running coffer policy eval")
    };
    let accepted = eval("alice");
    assert_eq!(accepted.status.code(), Some(0), "{accepted:?}");
    let rejected = eval("Alice");
    assert_eq!(rejected.status.code(), Some(1), "{rejected:?}");
    let stdout = String::from_utf8_lossy(&rejected.stdout);
    assert!(
        stdout.contains("rejected (x-amz-meta-owner does not match ^[a-z]+$)"),
        "{stdout}"
    );
}
