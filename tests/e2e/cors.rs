//! Bucket CORS configurations: Put/Get/DeleteBucketCors as S3 answers them, with S3's
//! validation errors. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html>

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use coffer_tests::{RawRequest, TestServer, sdk_err, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{create_bucket, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

async fn server() -> &'static TestServer {
    shared(&SERVER, TestServer::builder).await
}

/// A raw, signed PutBucketCors of `body`.
async fn put_cors(s: &TestServer, bucket: &str, body: &str) -> coffer_tests::RawResponse {
    RawRequest::new(&s.host_header(), "PUT", &format!("/{bucket}"))
        .query("cors")
        .body(body.as_bytes().to_vec())
        .sign_v4(s.admin_keys())
        .send()
        .await
}

fn rule(origin: &str, method: &str) -> String {
    format!(
        "<CORSRule><AllowedOrigin>{origin}</AllowedOrigin><AllowedMethod>{method}</AllowedMethod></CORSRule>"
    )
}

fn config(rules: &str) -> String {
    format!(
        "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{rules}</CORSConfiguration>"
    )
}

#[tokio::test]
async fn put_get_and_delete_round_trip_the_rules_verbatim() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("cors");
    create_bucket(&c, &bucket).await;
    let err = sdk_err(c.get_bucket_cors().bucket(&bucket).send().await);
    err.assert(404, "NoSuchCORSConfiguration");
    let rules = CorsConfiguration::builder()
        .cors_rules(
            CorsRule::builder()
                .id("web")
                .allowed_origins("https://*.Example.com")
                .allowed_methods("GET")
                .allowed_methods("PUT")
                .allowed_headers("X-Amz-*")
                .expose_headers("ETag")
                .max_age_seconds(3000)
                .build()
                .unwrap(),
        )
        .cors_rules(
            CorsRule::builder()
                .allowed_origins("*")
                .allowed_methods("HEAD")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.put_bucket_cors()
        .bucket(&bucket)
        .cors_configuration(rules)
        .send()
        .await
        .expect("put cors");
    let got = c
        .get_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .expect("get cors");
    let got = got.cors_rules();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id(), Some("web"));
    assert_eq!(got[0].allowed_origins(), ["https://*.Example.com"]);
    assert_eq!(got[0].allowed_methods(), ["GET", "PUT"]);
    assert_eq!(got[0].allowed_headers(), ["X-Amz-*"]);
    assert_eq!(got[0].expose_headers(), ["ETag"]);
    assert_eq!(got[0].max_age_seconds(), Some(3000));
    assert_eq!(got[1].allowed_origins(), ["*"]);
    // Replaced as a whole.
    let resp = put_cors(s, &bucket, &config(&rule("http://a.test", "POST"))).await;
    resp.assert_success();
    let got = c
        .get_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .expect("get cors");
    assert_eq!(got.cors_rules().len(), 1);
    assert_eq!(got.cors_rules()[0].allowed_methods(), ["POST"]);
    // Delete answers 204, also when there is nothing to delete.
    for _ in 0..2 {
        let resp = RawRequest::new(&s.host_header(), "DELETE", &format!("/{bucket}"))
            .query("cors")
            .sign_v4(s.admin_keys())
            .send()
            .await;
        assert_eq!(resp.status, 204);
    }
    let err = sdk_err(c.get_bucket_cors().bucket(&bucket).send().await);
    err.assert(404, "NoSuchCORSConfiguration");
    // A deleted bucket takes its configuration with it.
    put_cors(s, &bucket, &config(&rule("*", "GET")))
        .await
        .assert_success();
    c.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete bucket");
    create_bucket(&c, &bucket).await;
    let err = sdk_err(c.get_bucket_cors().bucket(&bucket).send().await);
    err.assert(404, "NoSuchCORSConfiguration");
}

#[tokio::test]
async fn bad_configurations_get_s3s_errors() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("cors-bad");
    create_bucket(&c, &bucket).await;
    let cases: Vec<(String, u16, &str, Option<String>)> = vec![
        (config(""), 400, "MalformedXML", None),
        (
            config("<CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"),
            400,
            "MalformedXML",
            None,
        ),
        (
            config("<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"),
            400,
            "MalformedXML",
            None,
        ),
        ("not xml".to_string(), 400, "MalformedXML", None),
        (
            config(&rule("*", "get")),
            400,
            "InvalidRequest",
            Some("Found unsupported HTTP method in CORS config. Unsupported method is get".into()),
        ),
        (
            config(&rule("*", "PATCH")),
            400,
            "InvalidRequest",
            Some(
                "Found unsupported HTTP method in CORS config. Unsupported method is PATCH".into(),
            ),
        ),
        (
            config(&rule("http://*.*.test", "GET")),
            400,
            "InvalidRequest",
            Some("AllowedOrigin \"http://*.*.test\" can not have more than one wildcard.".into()),
        ),
        (
            config(
                "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
                 <AllowedHeader>a b</AllowedHeader></CORSRule>",
            ),
            400,
            "InvalidRequest",
            Some("AllowedHeader \"a b\" contains invalid character.".into()),
        ),
        (
            config(&rule("*", "GET").repeat(101)),
            400,
            "InvalidRequest",
            None,
        ),
        (
            config(&rule(&"o".repeat(70 << 10), "GET")),
            400,
            "MalformedXML",
            None,
        ),
    ];
    for (body, status, code, message) in cases {
        let resp = put_cors(s, &bucket, &body).await;
        resp.assert_error(status, code);
        if let Some(message) = message {
            let got = coffer_tests::xml::tag_text(&resp.text(), "Message");
            assert_eq!(got.as_deref(), Some(message.as_str()), "{}", resp.text());
        }
    }
    // A Content-MD5 that does not match the body.
    let resp = RawRequest::new(&s.host_header(), "PUT", &format!("/{bucket}"))
        .query("cors")
        .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(config(&rule("*", "GET")).into_bytes())
        .sign_v4(s.admin_keys())
        .send()
        .await;
    resp.assert_error(400, "BadDigest");
    // Nothing was stored by any of them.
    let err = sdk_err(c.get_bucket_cors().bucket(&bucket).send().await);
    err.assert(404, "NoSuchCORSConfiguration");
}

#[tokio::test]
async fn only_the_owner_configures_cors_by_default() {
    let s = server().await;
    let c = s.client();
    let bucket = unique_bucket("cors-owner");
    create_bucket(&c, &bucket).await;
    let other = s.create_account(&unique_bucket("corsother")).await;
    let resp = RawRequest::new(&s.host_header(), "PUT", &format!("/{bucket}"))
        .query("cors")
        .body(config(&rule("*", "GET")).into_bytes())
        .sign_v4(&other)
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");
    for method in ["GET", "DELETE"] {
        let resp = RawRequest::new(&s.host_header(), method, &format!("/{bucket}"))
            .query("cors")
            .sign_v4(&other)
            .send()
            .await;
        resp.assert_error(403, "AccessDenied");
    }
    let resp = RawRequest::new(&s.host_header(), "GET", &format!("/{bucket}"))
        .query("cors")
        .send()
        .await;
    resp.assert_error(403, "AccessDenied");
}
