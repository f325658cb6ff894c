//! The web console's server side, over HTTP: pages and their headers, login and its rate
//! limit, sessions in PostgreSQL (expiry, revocation, logout, shared between processes),
//! the CSRF token and Origin check, and the S3 proxy deciding exactly as S3 does.

use std::time::Duration;

use coffer_tests::console::{ConsoleSession, login_request};
use coffer_tests::{TestServer, unique_bucket};
use serde_json::json;
use tokio::sync::OnceCell;

use crate::support::{create_bucket, put, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// How long a request that may compile the default module with metadata rules may take.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(300);

async fn server() -> &'static TestServer {
    shared(&SERVER, TestServer::builder).await
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_the_console_needs_a_session() {
    let s = server().await;
    let login = s.console_raw("GET", "/login").send().await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").expect("CSP");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(
        login.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        login.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(login.header("cache-control").as_deref(), Some("no-store"));
    assert!(login.text().contains("name=\"access_key\""));
    // Scripts are referenced by version and cached for good under it.
    let text = login.text();
    let script = text
        .split('"')
        .find(|s| s.starts_with("/assets/login.js?v="))
        .expect("versioned script URL");
    let (path, query) = script.split_once('?').expect("query");
    let asset = s.console_raw("GET", path).query(query).send().await;
    assert_eq!(asset.status, 200);
    assert!(
        asset
            .header("cache-control")
            .unwrap_or_default()
            .contains("immutable")
    );
    assert!(
        asset
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/javascript")
    );
    // Without a session the console sends the browser to the login page.
    let root = s.console_raw("GET", "/").send().await;
    assert_eq!(root.status, 303);
    assert_eq!(root.header("location").as_deref(), Some("/login"));
    let api = s.console_raw("GET", "/api/session").send().await;
    assert_eq!(api.status, 401);
    assert!(api.text().contains("NoSession"));
    // The S3 listener serves no console.
    let elsewhere = s.raw("GET", "/login").send().await;
    assert_ne!(elsewhere.status, 200);
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_a_wrong_secret_is_refused() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("login")).await;
    let wrong = login_request(s, &keys.access_key, "not-the-secret").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("InvalidCredentials"));
    assert!(wrong.header("set-cookie").is_none());
    let unknown = login_request(s, "AKNOSUCHKEY000000000", "x").await;
    assert_eq!(unknown.status, 401, "unknown keys get the same answer");

    let session = ConsoleSession::login(s, &keys).await;
    let cookie = &session.set_cookie;
    assert!(cookie.starts_with("coffer_console="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "no Secure flag over plain HTTP");
    assert_eq!(session.info["account"]["name"], keys.account.as_str());
    assert_eq!(session.info["access_key"], keys.access_key.as_str());
    assert_eq!(session.info["admin"], false);
    assert_eq!(session.info["s3_endpoint"], s.endpoint().as_str());
    let (status, info) = session.json("GET", "/api/session", None).await;
    assert_eq!(status, 200);
    assert_eq!(info["csrf_token"], session.csrf.as_str());
    let root = session.request("GET", "/").send().await;
    assert_eq!(root.status, 200);
    let login_page = session.request("GET", "/login").send().await;
    assert_eq!(
        login_page.status, 303,
        "a logged-in user goes on to the console"
    );
    assert_eq!(login_page.header("location").as_deref(), Some("/"));
}

#[tokio::test]
async fn login_from_another_origin_or_not_as_json_is_refused() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("origin")).await;
    let body = json!({"access_key": keys.access_key, "secret_key": keys.secret_key}).to_string();
    let foreign = s
        .console_raw("POST", "/api/login")
        .header("origin", &s.endpoint())
        .header("content-type", "application/json")
        .body(body.clone().into_bytes())
        .send()
        .await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.text().contains("OriginMismatch"));
    let no_origin = s
        .console_raw("POST", "/api/login")
        .header("content-type", "application/json")
        .body(body.clone().into_bytes())
        .send()
        .await;
    assert_eq!(no_origin.status, 403);
    // A cross-site form can only post form encodings.
    let form = s
        .console_raw("POST", "/api/login")
        .header("origin", &s.console_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .send()
        .await;
    assert_eq!(form.status, 415);
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_key() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("limit")).await;
    for _ in 0..5 {
        let resp = login_request(s, &keys.access_key, "wrong").await;
        assert_eq!(resp.status, 401);
    }
    // Even the right secret waits now.
    let limited = login_request(s, &keys.access_key, &keys.secret_key).await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert!(limited.text().contains("TooManyAttempts"));
    let retry: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=300).contains(&retry));
    // Another key is not affected by this key's failures alone.
    let other = s.create_account(&unique_bucket("limit-other")).await;
    ConsoleSession::login(s, &other).await;
}

#[tokio::test]
async fn every_api_request_needs_the_csrf_token_and_changes_need_the_origin() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("csrf")).await;
    let session = ConsoleSession::login(s, &keys).await;
    let bucket = unique_bucket("csrf");
    // No token: refused, even for a read (an HTML object must not render by navigation).
    let no_token = session
        .s3("GET", "/")
        .remove_header("x-csrf-token")
        .send()
        .await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.text().contains("CsrfTokenMismatch"));
    let wrong_token = session
        .s3("PUT", &format!("/{bucket}"))
        .header("x-csrf-token", "forged")
        .send()
        .await;
    assert_eq!(wrong_token.status, 403);
    // The right token from the S3 endpoint's origin (same site, other origin): refused.
    let foreign = session
        .s3("PUT", &format!("/{bucket}"))
        .header("origin", &s.endpoint())
        .send()
        .await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.text().contains("OriginMismatch"));
    let no_origin = session
        .s3("PUT", &format!("/{bucket}"))
        .remove_header("origin")
        .send()
        .await;
    assert_eq!(no_origin.status, 403);
    let head = s
        .raw("HEAD", &format!("/{bucket}"))
        .sign_v4(&keys)
        .send()
        .await;
    assert_eq!(head.status, 404, "no bucket was created");
    // Both right: the bucket is created, owned by the session's account.
    let created = session.s3("PUT", &format!("/{bucket}")).send().await;
    assert_eq!(created.status, 200, "{}", created.text());
    let acl = s
        .raw("GET", &format!("/{bucket}"))
        .query("acl")
        .sign_v4(&keys)
        .send()
        .await;
    assert!(acl.text().contains(&keys.canonical_id), "{}", acl.text());
}

#[tokio::test]
async fn a_console_action_is_denied_exactly_when_the_same_s3_request_is() {
    let s = server().await;
    let owner = s.create_account(&unique_bucket("owner")).await;
    let other = s.create_account(&unique_bucket("other")).await;
    let bucket = unique_bucket("decide");
    create_bucket(&s.client_for(&owner), &bucket).await;
    put(
        &s.client_for(&owner),
        &bucket,
        "doc.txt",
        b"private by default",
    )
    .await;
    let console = ConsoleSession::login(s, &other).await;
    let object = format!("/{bucket}/doc.txt");
    let cases: Vec<(&str, String, &str)> = vec![
        ("GET", format!("/{bucket}"), "list-type=2"),
        ("GET", object.clone(), ""),
        ("PUT", object.clone(), ""),
        ("DELETE", object.clone(), ""),
        ("GET", format!("/{bucket}"), "acl"),
        ("DELETE", format!("/{bucket}"), ""),
    ];
    let compare = |grant: &'static str| {
        let cases = cases.clone();
        let console = console.clone();
        let other = other.clone();
        async move {
            for (method, path, query) in &cases {
                let via_console = console.s3(method, path).query(query).send().await;
                let signed = s
                    .raw(method, path)
                    .query(query)
                    .sign_v4(&other)
                    .send()
                    .await;
                assert_eq!(
                    (via_console.status, via_console.code()),
                    (signed.status, signed.code()),
                    "{grant}: {method} {path}?{query}: console {} vs signed {}",
                    via_console.text(),
                    signed.text()
                );
            }
        }
    };
    // Private: the other account is refused both ways.
    compare("private").await;
    let denied = console.s3("GET", &object).send().await;
    denied.assert_error(403, "AccessDenied");
    // Reading granted to every account: both ways allowed.
    s.raw("PUT", &format!("/{bucket}"))
        .query("acl")
        .header("x-amz-acl", "authenticated-read")
        .sign_v4(&owner)
        .send()
        .await
        .assert_success();
    compare("authenticated-read").await;
    let listed = console
        .s3("GET", &format!("/{bucket}"))
        .query("list-type=2")
        .send()
        .await;
    assert_eq!(listed.status, 200);
    assert!(listed.text().contains("<Key>doc.txt</Key>"));
}

#[tokio::test]
async fn objects_through_the_console_are_private_and_never_render() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("render")).await;
    let console = ConsoleSession::login(s, &keys).await;
    let bucket = unique_bucket("render");
    console
        .s3("PUT", &format!("/{bucket}"))
        .send()
        .await
        .assert_success();
    let page = b"<html><script>alert(1)</script></html>".to_vec();
    console
        .s3("PUT", &format!("/{bucket}/page.html"))
        .header("content-type", "text/html")
        .header("content-disposition", "inline")
        .body(page.clone())
        .send()
        .await
        .assert_success();
    // Private by default: anonymous GET on the S3 endpoint is refused.
    s.raw("GET", &format!("/{bucket}/page.html"))
        .send()
        .await
        .assert_error(403, "AccessDenied");
    let got = console
        .s3("GET", &format!("/{bucket}/page.html"))
        .send()
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, page);
    assert_eq!(
        got.header("content-disposition").as_deref(),
        Some("attachment")
    );
    assert!(
        got.header("content-security-policy")
            .unwrap_or_default()
            .starts_with("sandbox")
    );
    // A HEAD renders nothing: it shows the object's own disposition (the drawer edits it).
    let head = console
        .s3("HEAD", &format!("/{bucket}/page.html"))
        .send()
        .await;
    assert_eq!(
        head.header("content-disposition").as_deref(),
        Some("inline")
    );
    // A presigned URL's parameters are not a way in.
    let presigned = console
        .s3("GET", &format!("/{bucket}/page.html"))
        .query("X-Amz-Signature=abc")
        .send()
        .await;
    assert_eq!(presigned.status, 400);
}

#[tokio::test]
async fn revoking_the_key_or_logging_out_ends_the_session() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("revoke")).await;
    let console = ConsoleSession::login(s, &keys).await;
    assert_eq!(console.json("GET", "/api/session", None).await.0, 200);
    s.revoke_key(&keys.access_key).await;
    let (status, body) = console.json("GET", "/api/session", None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("NoSession")));
    assert_eq!(console.s3("GET", "/").send().await.status, 401);

    let second = s.create_key(&keys.account).await;
    let console = ConsoleSession::login(s, &second).await;
    let logout = console.request("POST", "/api/logout").send().await;
    assert_eq!(logout.status, 204);
    assert!(
        logout
            .header("set-cookie")
            .unwrap_or_default()
            .contains("Max-Age=0")
    );
    assert_eq!(console.json("GET", "/api/session", None).await.0, 401);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_their_lifetime() {
    let s = TestServer::builder()
        .arg("--console-idle-timeout")
        .arg("3")
        .start()
        .await;
    let keys = s.create_account("idle").await;
    let console = ConsoleSession::login(&s, &keys).await;
    // Used within the idle timeout, it lives on past it.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(console.json("GET", "/api/session", None).await.0, 200);
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(console.json("GET", "/api/session", None).await.0, 401);

    let s = TestServer::builder()
        .arg("--console-session-lifetime")
        .arg("3")
        .start()
        .await;
    let keys = s.create_account("lifetime").await;
    let console = ConsoleSession::login(&s, &keys).await;
    assert!(console.set_cookie.contains("Max-Age=3"));
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(console.json("GET", "/api/session", None).await.0, 200);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(console.json("GET", "/api/session", None).await.0, 401);
}

#[tokio::test]
async fn a_session_opened_on_one_process_works_on_another() {
    let a = server().await;
    let b = TestServer::builder().share_database_of(a).start().await;
    let keys = a.create_account(&unique_bucket("shared")).await;
    let on_a = ConsoleSession::login(a, &keys).await;
    let mut on_b = on_a.clone();
    on_b.addr = format!(
        "127.0.0.1:{}",
        b.console_endpoint().rsplit(':').next().unwrap_or_default()
    );
    let (status, info) = on_b.json("GET", "/api/session", None).await;
    assert_eq!(status, 200);
    assert_eq!(info["account"]["name"], keys.account.as_str());
    // Logging out on b ends it on a.
    assert_eq!(on_b.request("POST", "/api/logout").send().await.status, 204);
    assert_eq!(on_a.json("GET", "/api/session", None).await.0, 401);
}

#[tokio::test]
async fn presigned_links_work_on_the_s3_endpoint_for_at_most_seven_days() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("share")).await;
    let bucket = unique_bucket("share");
    create_bucket(&s.client_for(&keys), &bucket).await;
    put(
        &s.client_for(&keys),
        &bucket,
        "dir/a b.txt",
        b"shared bytes",
    )
    .await;
    let console = ConsoleSession::login(s, &keys).await;
    let (status, body) = console
        .json(
            "POST",
            "/api/presign",
            Some(
                json!({"method": "GET", "bucket": bucket, "key": "dir/a b.txt",
                        "expires_seconds": 604800, "download": true}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().expect("url");
    assert!(url.starts_with(&s.endpoint()), "{url}");
    let resp = reqwest::get(url).await.expect("GET the link");
    assert_eq!(resp.status(), 200);
    let disposition = resp
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"a b.txt\""),
        "{disposition}"
    );
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"shared bytes");

    let (status, body) = console
        .json(
            "POST",
            "/api/presign",
            Some(json!({"method": "GET", "bucket": bucket, "key": "x",
                        "expires_seconds": 604801})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_account_manages_its_own_keys() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("keys")).await;
    let console = ConsoleSession::login(s, &keys).await;
    let (status, created) = console.json("POST", "/api/keys", Some(json!({}))).await;
    assert_eq!(status, 201, "{created}");
    let new_key = created["access_key"]
        .as_str()
        .expect("access_key")
        .to_string();
    let new_secret = created["secret_key"]
        .as_str()
        .expect("secret_key")
        .to_string();
    // The new key signs S3 requests.
    let new_keys = coffer_tests::AccountKeys {
        access_key: new_key.clone(),
        secret_key: new_secret,
        ..keys.clone()
    };
    s.raw("GET", "/")
        .sign_v4(&new_keys)
        .send()
        .await
        .assert_success();
    let (_, listed) = console.json("GET", "/api/keys", None).await;
    let listed = listed["keys"].as_array().expect("keys").clone();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| k.get("secret_key").is_none()));
    assert!(
        listed
            .iter()
            .any(|k| k["access_key"] == keys.access_key.as_str() && k["current"] == true)
    );
    // Another account's key cannot be revoked from here.
    let stranger = s.create_account(&unique_bucket("stranger")).await;
    let (status, _) = console
        .json(
            "DELETE",
            &format!("/api/keys/{}", stranger.access_key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = console
        .json("DELETE", &format!("/api/keys/{new_key}"), None)
        .await;
    assert_eq!(status, 204);
    s.raw("GET", "/")
        .sign_v4(&new_keys)
        .send()
        .await
        .assert_error(403, "InvalidAccessKeyId");
}

#[tokio::test]
async fn the_cors_test_names_the_rule_the_module_matches() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("corstest")).await;
    let bucket = unique_bucket("corstest");
    create_bucket(&s.client_for(&keys), &bucket).await;
    let rules = r#"<CORSConfiguration>
  <CORSRule><ID>other</ID><AllowedOrigin>https://other.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
  <CORSRule><ID>app</ID><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-meta-*</AllowedHeader><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>
</CORSConfiguration>"#;
    let console = ConsoleSession::login(s, &keys).await;
    console
        .s3("PUT", &format!("/{bucket}"))
        .query("cors")
        .body(rules.as_bytes().to_vec())
        .send()
        .await
        .assert_success();
    let (status, answer) = console
        .json(
            "POST",
            "/api/cors-test",
            Some(
                json!({"bucket": bucket, "origin": "https://app.example", "method": "PUT",
                        "headers": ["x-amz-meta-owner"]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["allowed"], true);
    assert_eq!(answer["rule_index"], 1);
    assert_eq!(answer["rule_id"], "app");
    assert_eq!(
        answer["headers"]["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(answer["headers"]["access-control-max-age"], "60");
    let (_, refused) = console
        .json(
            "POST",
            "/api/cors-test",
            Some(json!({"bucket": bucket, "origin": "https://app.example", "method": "DELETE"})),
        )
        .await;
    assert_eq!(refused["allowed"], false);
}

#[tokio::test]
async fn only_administrators_change_a_buckets_policy_module() {
    let s = server().await;
    let keys = s.create_account(&unique_bucket("modowner")).await;
    let bucket = unique_bucket("modules");
    create_bucket(&s.client_for(&keys), &bucket).await;
    let owner = ConsoleSession::login(s, &keys).await;
    let (status, seen) = owner
        .json("GET", &format!("/api/buckets/{bucket}/policy"), None)
        .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        (seen["module"].as_str(), seen["can_edit"].as_bool()),
        (Some("default"), Some(false))
    );
    let rules = json!({"module": "default",
                       "config": {"metadata": [{"schema": {"required": ["owner"]}}]}});
    let (status, _) = owner
        .json(
            "PUT",
            &format!("/api/buckets/{bucket}/policy"),
            Some(rules.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let stranger = ConsoleSession::login(s, &s.create_account(&unique_bucket("nosy")).await).await;
    let (status, _) = stranger
        .json("GET", &format!("/api/buckets/{bucket}/policy"), None)
        .await;
    assert_eq!(status, 403);

    let admin = ConsoleSession::login(s, s.admin_keys()).await;
    assert_eq!(admin.info["admin"], true);
    let attach = admin
        .request("PUT", &format!("/api/buckets/{bucket}/policy"))
        .header("content-type", "application/json")
        .body(rules.to_string().into_bytes())
        .timeout(COMPILE_TIMEOUT)
        .send()
        .await;
    let (status, body) = (attach.status, attach.text());
    assert_eq!(status, 200, "{body}");
    let (_, seen) = owner
        .json("GET", &format!("/api/buckets/{bucket}/policy"), None)
        .await;
    assert_eq!(
        seen["config"]["metadata"][0]["schema"]["required"][0],
        "owner"
    );
    // The rules now decide uploads through the console, with the module's message.
    // The first decision with rules may compile the module with them (slow in a debug
    // build on a busy machine).
    let refused = owner
        .s3("PUT", &format!("/{bucket}/a.txt"))
        .body(b"x".to_vec())
        .timeout(COMPILE_TIMEOUT)
        .send()
        .await;
    refused.assert_error(400, "InvalidArgument");
    owner
        .s3("PUT", &format!("/{bucket}/a.txt"))
        .header("x-amz-meta-owner", "me")
        .body(b"x".to_vec())
        .send()
        .await
        .assert_success();
    let (status, bad) = admin
        .json(
            "PUT",
            &format!("/api/buckets/{bucket}/policy"),
            Some(json!({"module": "default", "config": {"metadata": "not-a-list"}})),
        )
        .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("InvalidConfig")),
        "{bad}"
    );
    let (status, _) = admin
        .json("DELETE", &format!("/api/buckets/{bucket}/policy"), None)
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn behind_a_proxy_the_configured_origin_is_required_and_its_https_makes_the_cookie_secure() {
    let origin = "https://console.example";
    let s = TestServer::builder()
        .arg("--console-origin")
        .arg(origin)
        .start()
        .await;
    let keys = s.admin_keys();
    let body = json!({"access_key": keys.access_key, "secret_key": keys.secret_key}).to_string();
    let login = |from: String| {
        s.console_raw("POST", "/api/login")
            .header("origin", &from)
            .header("content-type", "application/json")
            .body(body.clone().into_bytes())
            .send()
    };
    // The listener's own origin is not the one browsers use any more.
    assert_eq!(login(s.console_endpoint()).await.status, 403);
    let resp = login(origin.to_string()).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let cookie = resp.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("__Host-coffer_console="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(resp.header("strict-transport-security").is_some());
}

#[tokio::test]
async fn behind_a_trusted_proxy_failed_logins_count_against_the_forwarded_client() {
    let s = TestServer::builder()
        .arg("--trusted-proxy")
        .arg("127.0.0.1/32")
        .start()
        .await;
    let attempt = |client: &'static str, key: String| {
        let body = json!({"access_key": key, "secret_key": "wrong"}).to_string();
        s.console_raw("POST", "/api/login")
            .header("origin", &s.console_endpoint())
            .header("content-type", "application/json")
            .header("x-forwarded-for", client)
            .body(body.into_bytes())
            .send()
    };
    // Ten failures from one client, each with another key: its allowance is used up.
    for i in 0..10 {
        assert_eq!(
            attempt("10.0.0.1", format!("AKGUESS{i:013}")).await.status,
            401
        );
    }
    assert_eq!(attempt("10.0.0.1", "AKGUESSOTHER".into()).await.status, 429);
    // Another client behind the same proxy is not limited.
    assert_eq!(attempt("10.0.0.2", "AKGUESSOTHER".into()).await.status, 401);
}

#[tokio::test]
async fn the_console_can_be_turned_off() {
    let s = TestServer::builder()
        .arg("--console-listen")
        .arg("off")
        .start()
        .await;
    assert_eq!(s.console_port(), 0, "a console line was printed");
    // The S3 listener serves S3 as ever.
    s.raw("GET", "/")
        .sign_v4(s.admin_keys())
        .send()
        .await
        .assert_success();
}
