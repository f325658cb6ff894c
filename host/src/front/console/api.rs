//! The console's JSON API: what S3 has no operation for. Each function serves one route
//! for an authenticated session (see the table in the module above); errors are
//! [`ApiError`], rendered once as `{"error": CODE, "message": TEXT}`.

use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::SecretKey;
use crate::auth::presign::{self, PresignRequest};
use crate::http::body::{ResponseBody, full};
use crate::policy::{DEFAULT_MODULE_NAME, catalog};
use crate::s3::error::S3Error;
use crate::s3::{cors_request, explain};
use crate::state::AppState;
use crate::store::{self, accounts, admins, buckets, policies, secrets};

use super::session::Session;

/// A console API failure: status, a stable code, a message for the user.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (`NoSession`, `CsrfTokenMismatch`, ...).
    pub code: &'static str,
    /// For the user.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 for a malformed request body.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }

    /// 403 for an action the account may not take.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    /// A failure whose cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "console request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "internal error",
        )
    }

    /// The response.
    pub fn into_response(self) -> Response<ResponseBody> {
        json_response(
            self.status,
            &json!({"error": self.code, "message": self.message}),
        )
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NoSuchBucket => {
                Self::new(StatusCode::NOT_FOUND, "NoSuchBucket", e.to_string())
            }
            store::Error::NoSuchPolicy(_) => {
                Self::new(StatusCode::NOT_FOUND, "NoSuchPolicy", e.to_string())
            }
            other => Self::internal(other),
        }
    }
}

impl From<catalog::Error> for ApiError {
    fn from(e: catalog::Error) -> Self {
        match e.into_client() {
            Ok((code, message)) => Self::new(StatusCode::BAD_REQUEST, code, message),
            Err(storage) => storage.into(),
        }
    }
}

impl From<S3Error> for ApiError {
    fn from(e: S3Error) -> Self {
        let code = e.code();
        Self::new(code.status(), code.as_str(), e.message().to_string())
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response<ResponseBody> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Parses a JSON request body into `T`.
pub fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("bad request: {e}")))
}

/// Where console users reach the S3 endpoint and what the session page shows of it.
pub struct Endpoint {
    /// `http://host:port` (or the configured `--s3-url`).
    pub url: String,
    /// The `Host` header presigned URLs are signed for.
    pub host: String,
}

/// `GET /api/session`, and the body of a successful login.
pub async fn session_info(
    state: &AppState,
    session: &Session,
    endpoint: &Endpoint,
) -> Result<Value, ApiError> {
    let admin = admins::is_admin(&state.pool, session.account.id).await?;
    Ok(json!({
        "csrf_token": session.csrf_token,
        "account": session.account,
        "access_key": session.access_key,
        "admin": admin,
        "s3_endpoint": endpoint.url,
        "vhost_domains": state.config.domains,
        "region": region(state),
        "expires_at": session.expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    }))
}

fn region(state: &AppState) -> &str {
    state.config.region.as_deref().unwrap_or("us-east-1")
}

/// `GET /api/keys`: the account's keys, never their secrets.
pub async fn list_keys(state: &AppState, session: &Session) -> Result<Value, ApiError> {
    let keys = accounts::list_keys(&state.pool, Some(&session.account.name)).await?;
    let keys: Vec<Value> = keys
        .into_iter()
        .map(|k| {
            json!({
                "access_key": k.access_key,
                "created_at": k.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "revoked": k.revoked,
                "current": k.access_key == session.access_key,
            })
        })
        .collect();
    Ok(json!({ "keys": keys }))
}

/// `POST /api/keys`: a new key for the account; its secret is in this answer only.
pub async fn create_key(state: &AppState, session: &Session) -> Result<Value, ApiError> {
    let access_key = secrets::generate_access_key();
    let secret_key = secrets::generate_secret_key();
    let (ciphertext, nonce) = state
        .master_key
        .seal(&access_key, &secret_key)
        .map_err(ApiError::internal)?;
    accounts::insert_key(
        &state.pool,
        session.account.id,
        &access_key,
        &ciphertext,
        &nonce,
    )
    .await?;
    tracing::info!(account = %session.account.name, %access_key, "access key created in the console");
    Ok(json!({ "access_key": access_key, "secret_key": secret_key }))
}

/// `DELETE /api/keys/{access_key}`: revokes one of the account's own keys (revoking the
/// session's own key ends the session).
pub async fn revoke_key(
    state: &AppState,
    session: &Session,
    access_key: &str,
) -> Result<(), ApiError> {
    let own = accounts::list_keys(&state.pool, Some(&session.account.name))
        .await?
        .into_iter()
        .any(|k| k.access_key == access_key && !k.revoked);
    if !own {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "no such active key in this account",
        ));
    }
    accounts::revoke_key(&state.pool, access_key).await?;
    tracing::info!(account = %session.account.name, access_key, "access key revoked in the console");
    Ok(())
}

/// `POST /api/presign` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresignBody {
    method: String,
    bucket: String,
    key: String,
    expires_seconds: i64,
    #[serde(default)]
    download: bool,
    /// A version of the object (GET only).
    #[serde(default)]
    version_id: Option<String>,
}

/// `POST /api/presign`: a URL on the S3 endpoint signed with the session's key. The URL
/// grants nothing the account lacks: S3 decides the request it makes when it is used.
pub async fn presign(
    state: &AppState,
    session: &Session,
    endpoint: &Endpoint,
    body: &PresignBody,
) -> Result<Value, ApiError> {
    if !matches!(body.method.as_str(), "GET" | "PUT") {
        return Err(ApiError::bad_request("method must be GET or PUT"));
    }
    if !(1..=presign::MAX_EXPIRES_SECS).contains(&body.expires_seconds) {
        return Err(ApiError::bad_request(format!(
            "expires_seconds must be between 1 and {} (7 days)",
            presign::MAX_EXPIRES_SECS
        )));
    }
    if body.bucket.is_empty() || body.key.is_empty() {
        return Err(ApiError::bad_request("bucket and key are required"));
    }
    let (_, secret): (_, SecretKey) =
        crate::s3::authn::lookup_key(state, &session.access_key).await?;
    let raw_path = format!(
        "/{}/{}",
        crate::auth::sigv4::uri_encode(body.bucket.as_bytes(), false),
        crate::auth::sigv4::uri_encode(body.key.as_bytes(), true)
    );
    let mut params = Vec::new();
    if let Some(version) = &body.version_id {
        if body.method != "GET" {
            return Err(ApiError::bad_request("version_id is for GET only"));
        }
        params.push(("versionId", version.clone()));
    }
    if body.download {
        let name = body.key.rsplit('/').next().unwrap_or(&body.key);
        params.push(("response-content-disposition", attachment(name)));
    }
    let now = state.now();
    let query = presign::presign_v4(
        &PresignRequest {
            method: &body.method,
            host: &endpoint.host,
            raw_path: &raw_path,
            params: &params,
            access_key: &session.access_key,
            region: region(state),
            now,
            expires: body.expires_seconds,
        },
        &secret,
    );
    let expires_at = now + time::Duration::seconds(body.expires_seconds);
    Ok(json!({
        "url": format!("{}{raw_path}?{query}", endpoint.url),
        "expires_at": expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    }))
}

/// `Content-Disposition: attachment` naming `file` (RFC 6266: an ASCII fallback and the
/// UTF-8 name).
fn attachment(file: &str) -> String {
    let ascii: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::auth::sigv4::uri_encode(file.as_bytes(), false)
    )
}

/// `POST /api/cors-test` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsTestBody {
    bucket: String,
    #[serde(default)]
    key: Option<String>,
    origin: String,
    method: String,
    #[serde(default)]
    headers: Vec<String>,
}

/// `POST /api/cors-test`: the preflight the bucket's module would answer, and the rule.
pub async fn cors_test(state: &AppState, body: &CorsTestBody) -> Result<Value, ApiError> {
    let answer = cors_request::test_preflight(
        state,
        &body.bucket,
        body.key.as_deref(),
        &body.origin,
        &body.method,
        body.headers.clone(),
    )
    .await?;
    Ok(match answer {
        Some((answer, rule_id)) => {
            let headers: serde_json::Map<String, Value> = cors_request::preflight_headers(&answer)
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    )
                })
                .collect();
            json!({
                "allowed": true,
                "rule_index": answer.rule_index,
                "rule_id": rule_id,
                "headers": headers,
            })
        }
        None => json!({"allowed": false, "rule_index": null, "rule_id": null, "headers": {}}),
    })
}

/// Whether the session's account administers this server.
async fn is_admin(state: &AppState, session: &Session) -> Result<bool, ApiError> {
    Ok(admins::is_admin(&state.pool, session.account.id).await?)
}

/// `GET /api/buckets/{bucket}/policy`: the bucket's module and configuration, for its
/// owner and administrators.
pub async fn bucket_policy(
    state: &AppState,
    session: &Session,
    bucket: &str,
) -> Result<Value, ApiError> {
    let found = buckets::get_bucket(&state.pool, bucket)
        .await?
        .ok_or(store::Error::NoSuchBucket)?;
    let admin = is_admin(state, session).await?;
    if found.owner_id != session.account.id && !admin {
        return Err(ApiError::access_denied(
            "only the bucket's owner and administrators see its policy module",
        ));
    }
    let attachment = policies::attachment(&state.pool, bucket).await?;
    let (module, config) = match attachment {
        Some(a) => (
            a.module.unwrap_or_else(|| DEFAULT_MODULE_NAME.to_string()),
            a.config
                .as_deref()
                .and_then(|c| serde_json::from_str::<Value>(c).ok()),
        ),
        None => (DEFAULT_MODULE_NAME.to_string(), None),
    };
    Ok(json!({"bucket": bucket, "module": module, "config": config, "can_edit": admin}))
}

/// `PUT /api/buckets/{bucket}/policy` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachBody {
    module: String,
    #[serde(default)]
    config: Option<Value>,
}

/// `PUT /api/buckets/{bucket}/policy`: attaches a module (administrators only, as with
/// the admin API).
pub async fn attach_policy(
    state: &AppState,
    session: &Session,
    bucket: &str,
    body: &AttachBody,
) -> Result<Value, ApiError> {
    require_admin(state, session).await?;
    let config = body
        .config
        .as_ref()
        .filter(|c| !c.is_null())
        .map(Value::to_string);
    catalog::attach(
        Some(state.policies.engine()),
        &state.pool,
        bucket,
        &body.module,
        config.as_deref(),
    )
    .await?;
    crate::s3::see_own_change(state).await;
    Ok(json!({"bucket": bucket, "module": body.module}))
}

/// `DELETE /api/buckets/{bucket}/policy`: back to the default module (administrators).
pub async fn detach_policy(
    state: &AppState,
    session: &Session,
    bucket: &str,
) -> Result<(), ApiError> {
    require_admin(state, session).await?;
    catalog::detach(&state.pool, bucket).await?;
    crate::s3::see_own_change(state).await;
    Ok(())
}

/// `POST /api/buckets/{bucket}/explain`: how the bucket's module would decide a described
/// request, and why (`s3::explain`), for the bucket's owner and administrators: the
/// console's "Why?" box.
pub async fn explain(
    state: &AppState,
    session: &Session,
    bucket: &str,
    described: &explain::DescribedRequest,
) -> Result<Value, ApiError> {
    let found = buckets::get_bucket(&state.pool, bucket)
        .await?
        .ok_or(store::Error::NoSuchBucket)?;
    if found.owner_id != session.account.id && !is_admin(state, session).await? {
        return Err(ApiError::access_denied(
            "only the bucket's owner and administrators ask why its requests are decided so",
        ));
    }
    match explain::explain(state, bucket, described).await {
        Ok(explanation) => Ok(json!(explanation)),
        Err(explain::ExplainError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    }
}

/// `GET /api/policies`: the stored modules (administrators).
pub async fn list_policies(state: &AppState, session: &Session) -> Result<Value, ApiError> {
    require_admin(state, session).await?;
    let list = catalog::list(&state.pool).await?;
    Ok(json!({ "policies": list }))
}

async fn require_admin(state: &AppState, session: &Session) -> Result<(), ApiError> {
    if is_admin(state, session).await? {
        Ok(())
    } else {
        Err(ApiError::access_denied(
            "only administrators change policy modules",
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachment_names_are_quoted_safely() {
        assert_eq!(
            super::attachment("a \"b\".txt"),
            "attachment; filename=\"a _b_.txt\"; filename*=UTF-8''a%20%22b%22.txt"
        );
        assert!(super::attachment("é.txt").starts_with("attachment; filename=\"_.txt\""));
    }
}
