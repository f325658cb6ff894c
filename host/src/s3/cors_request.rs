//! CORS requests as Amazon S3 answers them: preflights (`OPTIONS`) and the
//! `Access-Control-*` headers of actual requests carrying `Origin`. Which
//! rule matches is the bucket's policy module's decision (`cors` hook; the
//! default module runs S3's algorithm over the bucket's configuration); what
//! is refused with which error, and which headers a match produces, is S3's
//! protocol and lives here.
//!
//! - <https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html>
//! - <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>
//!
//! Preflights are never authenticated: a browser sends them without
//! credentials, and a presigned URL's signature covers the actual request, not
//! the `OPTIONS` one. Actual requests get the matching rule's headers on
//! every response, errors included, so a page can read why a request failed.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

use crate::http::body::{ResponseBody, empty};
use crate::policy::registry::BucketCors;
use crate::policy::types;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;

/// `Access-Control-Request-Method`.
const REQUEST_METHOD: &str = "access-control-request-method";
/// `Access-Control-Request-Headers`.
const REQUEST_HEADERS: &str = "access-control-request-headers";
/// The methods a CORS rule may allow, hence the only valid request methods.
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];
/// S3's `Vary` on a CORS answer: the answer depends on all three.
const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// The CORS part of an actual (non-`OPTIONS`) request: present when it
/// carries `Origin`.
#[derive(Debug, Clone)]
pub struct CorsProbe {
    origin: String,
    /// `Access-Control-Request-Method` if sent (S3 evaluates it on actual
    /// requests too), else the request's method.
    method: String,
    /// `Access-Control-Request-Headers` entries, or `None` if one is not a
    /// header name (nothing can match then).
    request_headers: Option<Vec<String>>,
}

impl CorsProbe {
    /// The probe of an actual request; `None` without `Origin` (or for a
    /// preflight, which [`preflight`] answers).
    pub fn of_request(method: &Method, headers: &HeaderMap) -> Option<Self> {
        if method == Method::OPTIONS {
            return None;
        }
        let origin = header_str(headers, header::ORIGIN.as_str())?;
        Some(Self {
            origin: origin.to_owned(),
            method: header_str(headers, REQUEST_METHOD)
                .unwrap_or(method.as_str())
                .to_owned(),
            request_headers: requested_headers(headers).ok(),
        })
    }
}

/// Adds the headers of the rule matching `probe` to `response`, the answer to
/// a request on `bucket` (and `key`); nothing when none matches, the bucket
/// does not exist, or anything fails (CORS fails closed: the browser then
/// refuses the response to the page).
pub async fn decorate(
    state: &AppState,
    probe: CorsProbe,
    bucket: &str,
    key: Option<String>,
    response: &mut Response<ResponseBody>,
) {
    let Some(request_headers) = probe.request_headers else {
        return;
    };
    let cors = match state.policies.bucket_cors(bucket).await {
        Ok(Some(cors)) => cors,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "reading the bucket's CORS configuration failed");
            return;
        }
    };
    let req = types::CorsRequest {
        kind: types::CorsKind::Actual,
        origin: probe.origin,
        method: probe.method,
        request_headers,
        bucket: bucket.to_owned(),
        key,
        rules: cors.rules.clone(),
        config: None,
    };
    if let Some(answer) = evaluate(state, &cors, req) {
        add_headers(response.headers_mut(), &answer, false);
    }
}

/// Answers the preflight `OPTIONS` of `bucket` (and `key`) with `headers`, in
/// S3's order of checks: `Origin`, the bucket, its configuration, the request
/// method and headers, then the rules.
pub async fn preflight(
    state: &AppState,
    bucket: &str,
    key: Option<&str>,
    headers: &HeaderMap,
) -> S3Result<Response<ResponseBody>> {
    let resource_type = if key.is_some() { "OBJECT" } else { "BUCKET" };
    let Some(origin) = header_str(headers, header::ORIGIN.as_str()) else {
        return Err(S3Error::with_message(
            S3ErrorCode::BadRequest,
            "Insufficient information. Origin request header needed.",
        ));
    };
    let request_method = header_str(headers, REQUEST_METHOD);
    let forbidden = |message: &str, method: &str, resource_type: &str| {
        S3Error::with_message(S3ErrorCode::AccessForbidden, message)
            .extra("Method", method)
            .extra("ResourceType", resource_type)
    };
    let Some(cors) = state.policies.bucket_cors(bucket).await? else {
        return Err(forbidden(
            "CORSResponse: Bucket not found",
            "OPTIONS",
            "BUCKET",
        ));
    };
    let method = match request_method {
        Some(m) if METHODS.contains(&m) => m,
        other if cors.configured => {
            return Err(S3Error::with_message(
                S3ErrorCode::BadRequest,
                format!(
                    "Invalid Access-Control-Request-Method: {}",
                    other.unwrap_or_default()
                ),
            ));
        }
        other => {
            return Err(forbidden(
                "CORSResponse: CORS is not enabled for this bucket.",
                other.unwrap_or("OPTIONS"),
                "BUCKET",
            ));
        }
    };
    let request_headers = requested_headers(headers).map_err(|bad| {
        S3Error::with_message(
            S3ErrorCode::BadRequest,
            format!("Access-Control-Request-Headers \"{bad}\" contains invalid character."),
        )
    })?;
    let req = types::CorsRequest {
        kind: types::CorsKind::Preflight,
        origin: origin.to_owned(),
        method: method.to_owned(),
        request_headers,
        bucket: bucket.to_owned(),
        key: key.map(str::to_owned),
        rules: cors.rules.clone(),
        config: None,
    };
    let Some(answer) = evaluate(state, &cors, req) else {
        // Without a configuration, S3's answer; a module may still have
        // matched from its own configuration above.
        return Err(if cors.configured {
            forbidden(
                "CORSResponse: This CORS request is not allowed. This is usually because the \
                 evalution of Origin, request method / Access-Control-Request-Method or \
                 Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                method,
                resource_type,
            )
        } else {
            forbidden(
                "CORSResponse: CORS is not enabled for this bucket.",
                method,
                "BUCKET",
            )
        });
    };
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    add_headers(response.headers_mut(), &answer, true);
    Ok(response)
}

/// What the console's CORS test box asks: the preflight of `method` with
/// `request_headers` from `origin` on `bucket` (and `key`), as the bucket's
/// module decides it, with the rule that matched (`None`: none does, or the
/// bucket has no configuration and its module matched nothing).
pub async fn test_preflight(
    state: &AppState,
    bucket: &str,
    key: Option<&str>,
    origin: &str,
    method: &str,
    request_headers: Vec<String>,
) -> S3Result<Option<(types::CorsRuleMatch, Option<String>)>> {
    let Some(cors) = state.policies.bucket_cors(bucket).await? else {
        return Err(S3Error::new(S3ErrorCode::NoSuchBucket).extra("BucketName", bucket));
    };
    let req = types::CorsRequest {
        kind: types::CorsKind::Preflight,
        origin: origin.to_owned(),
        method: method.to_owned(),
        request_headers: request_headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        bucket: bucket.to_owned(),
        key: key.map(str::to_owned),
        rules: cors.rules.clone(),
        config: None,
    };
    Ok(evaluate(state, &cors, req).map(|answer| {
        let id = answer
            .rule_index
            .and_then(|i| cors.rules.get(i as usize))
            .and_then(|rule| rule.id.clone());
        (answer, id)
    }))
}

/// The headers a preflight answered by `answer` carries.
pub fn preflight_headers(answer: &types::CorsRuleMatch) -> HeaderMap {
    let mut headers = HeaderMap::new();
    add_headers(&mut headers, answer, true);
    headers
}

/// The bucket module's answer to `req` (`None`: no rule matches, or the
/// module cannot be loaded or failed, which the engine has logged).
fn evaluate(
    state: &AppState,
    cors: &BucketCors,
    mut req: types::CorsRequest,
) -> Option<types::CorsRuleMatch> {
    let policy = state.policies.for_bucket(Some(cors.bucket_id));
    let module = policy.module.as_ref().ok()?;
    req.config = policy.config.clone();
    let answer = state.policies.engine().cors(module, &req).ok()??;
    tracing::debug!(
        rule = ?answer.rule_index,
        origin = %req.origin,
        method = %req.method,
        "CORS rule matched"
    );
    Some(answer)
}

/// Sets the `Access-Control-*` headers of `answer` (and `Vary`) on `headers`.
/// `Access-Control-Allow-Headers` only answers a preflight. An answer that is
/// not a valid header value (a module's mistake) adds nothing.
fn add_headers(headers: &mut HeaderMap, answer: &types::CorsRuleMatch, preflight: bool) {
    let list = |items: &[String]| HeaderValue::from_str(&items.join(", ")).ok();
    let Ok(origin) = HeaderValue::from_str(&answer.allowed_origin) else {
        tracing::warn!(origin = %answer.allowed_origin, "CORS answer is not a header value");
        return;
    };
    let mut set = vec![(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)];
    if answer.allow_credentials && answer.allowed_origin != "*" {
        set.push((
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        ));
    }
    let lists = [
        (
            header::ACCESS_CONTROL_ALLOW_METHODS,
            &answer.allowed_methods,
        ),
        (
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &answer.expose_headers,
        ),
    ];
    for (name, items) in lists {
        if !items.is_empty() {
            match list(items) {
                Some(v) => set.push((name, v)),
                None => return,
            }
        }
    }
    if preflight && !answer.allowed_headers.is_empty() {
        match list(&answer.allowed_headers) {
            Some(v) => set.push((header::ACCESS_CONTROL_ALLOW_HEADERS, v)),
            None => return,
        }
    }
    if let Some(age) = answer.max_age_seconds {
        set.push((header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age)));
    }
    for (name, value) in set {
        headers.insert(name, value);
    }
    headers.append(header::VARY, HeaderValue::from_static(VARY));
}

/// Header `name` as text, if present and visible ASCII.
fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `Access-Control-Request-Headers` entries, trimmed and lower-case
/// (empty without the header); `Err` with the first entry that is not a
/// header name.
fn requested_headers(headers: &HeaderMap) -> Result<Vec<String>, String> {
    let Some(value) = headers.get(REQUEST_HEADERS) else {
        return Ok(Vec::new());
    };
    let text = value
        .to_str()
        .map_err(|_| String::from_utf8_lossy(value.as_bytes()).into_owned())?;
    text.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| match http::HeaderName::from_bytes(h.as_bytes()) {
            Ok(name) => Ok(name.as_str().to_owned()),
            Err(_) => Err(h.to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn requested_headers_are_trimmed_lowercased_and_checked() {
        let h = map(&[(REQUEST_HEADERS, " Content-Type ,x-amz-meta-Owner,, ")]);
        assert_eq!(
            requested_headers(&h),
            Ok(vec!["content-type".into(), "x-amz-meta-owner".into()])
        );
        assert_eq!(requested_headers(&map(&[])), Ok(vec![]));
        let bad = map(&[(REQUEST_HEADERS, "content-type, bad header")]);
        assert_eq!(requested_headers(&bad), Err("bad header".into()));
    }

    #[test]
    fn actual_requests_use_the_requested_method_when_sent() {
        let h = map(&[("origin", "https://a.example"), (REQUEST_METHOD, "PUT")]);
        let probe = CorsProbe::of_request(&Method::GET, &h).expect("probe");
        assert_eq!(probe.method, "PUT");
        let h = map(&[("origin", "https://a.example")]);
        let probe = CorsProbe::of_request(&Method::HEAD, &h).expect("probe");
        assert_eq!(probe.method, "HEAD");
        assert!(CorsProbe::of_request(&Method::GET, &map(&[])).is_none());
        assert!(CorsProbe::of_request(&Method::OPTIONS, &h).is_none());
    }

    #[test]
    fn headers_follow_s3() {
        let answer = types::CorsRuleMatch {
            rule_index: Some(0),
            allowed_origin: "https://a.example".into(),
            allow_credentials: true,
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_headers: vec!["content-type".into()],
            expose_headers: vec!["ETag".into(), "x-amz-request-id".into()],
            max_age_seconds: Some(3000),
        };
        let mut h = HeaderMap::new();
        add_headers(&mut h, &answer, true);
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(
            get("access-control-allow-origin").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            get("access-control-allow-credentials").as_deref(),
            Some("true")
        );
        assert_eq!(
            get("access-control-allow-methods").as_deref(),
            Some("GET, PUT")
        );
        assert_eq!(
            get("access-control-allow-headers").as_deref(),
            Some("content-type")
        );
        assert_eq!(
            get("access-control-expose-headers").as_deref(),
            Some("ETag, x-amz-request-id")
        );
        assert_eq!(get("access-control-max-age").as_deref(), Some("3000"));
        assert_eq!(get("vary").as_deref(), Some(VARY));
        // An actual request: no Allow-Headers; a `*` origin: no credentials.
        let star = types::CorsRuleMatch {
            allowed_origin: "*".into(),
            allow_credentials: true,
            ..answer
        };
        let mut h = HeaderMap::new();
        add_headers(&mut h, &star, false);
        assert_eq!(
            h.get("access-control-allow-origin").map(|v| v.as_bytes()),
            Some(&b"*"[..])
        );
        assert!(h.get("access-control-allow-credentials").is_none());
        assert!(h.get("access-control-allow-headers").is_none());
        // A value no header can carry: nothing at all.
        let broken = types::CorsRuleMatch {
            allowed_origin: "https://a.example\n".into(),
            ..star
        };
        let mut h = HeaderMap::new();
        add_headers(&mut h, &broken, false);
        assert!(h.is_empty());
    }
}
