//! Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus: a bucket's access policy (IAM
//! JSON), which the bucket's policy module evaluates beside the ACLs.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html>
//!
//! The host validates a document once, when it is put (the guest SDK's
//! `bucket_policy::parse`, the same code modules decode and evaluate with), checks
//! that the accounts it names exist, and stores it twice: as written, for
//! GetBucketPolicy, and compiled, for the modules, which receive the compiled form with
//! every decision (`request.bucket-policy`) and so never parse JSON per request.

use coffer_guest_sdk::bucket_policy;
use http::request::Parts;
use http::{HeaderValue, Response};
use hyper::body::Incoming;

use super::context::{RequestContext, no_content, xml_response};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::payload::{open_payload, verify_content_md5};
use super::{authorize_what_is_set, authorized_bucket};
use crate::http::body::{ResponseBody, full};
use crate::state::AppState;
use crate::store::{accounts, buckets};

/// S3's limit on a bucket policy document.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A validated policy: the document as written and its compiled form.
pub struct CompiledPolicy {
    /// The compiled form modules receive.
    pub compiled: Vec<u8>,
    /// Whether the policy is public as AWS defines it (GetBucketPolicyStatus).
    pub is_public: bool,
    /// The account ids its principals name.
    pub accounts: Vec<String>,
}

/// Validates `document` as the policy of bucket `bucket` and compiles it;
/// `MalformedPolicy` with the reason when it is not a valid policy for that bucket.
pub fn compile(document: &str, bucket: &str) -> S3Result<CompiledPolicy> {
    let policy = bucket_policy::parse(document, bucket)
        .map_err(|e| S3Error::with_message(S3ErrorCode::MalformedPolicy, e.to_string()))?;
    Ok(CompiledPolicy {
        compiled: policy.encode(),
        is_public: policy.is_public(),
        accounts: policy.accounts().into_iter().map(str::to_owned).collect(),
    })
}

/// PutBucketPolicy: validates the document (at most 20 KB, Content-MD5 checked when
/// sent), refuses principals naming accounts that do not exist, and replaces the
/// bucket's policy; 204.
pub async fn put_bucket_policy(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let mut payload = open_payload(state, ctx, parts, body, MAX_POLICY_BYTES as u64)?;
    let document = payload
        .read_to_end(MAX_POLICY_BYTES, S3ErrorCode::MalformedPolicy)
        .await
        .map_err(|e| match e.code() {
            S3ErrorCode::MalformedPolicy => S3Error::with_message(
                S3ErrorCode::MalformedPolicy,
                "Policy exceeds the maximum allowed document size.",
            ),
            _ => e,
        })?;
    verify_content_md5(&parts.headers, &document)?;
    let document = std::str::from_utf8(&document).map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::MalformedPolicy,
            "Policies must be valid JSON and the first byte must be '{'",
        )
    })?;
    let policy = compile(document, &bucket.name)?;
    authorize_what_is_set(state, ctx, &bucket, None, None, Some(&policy.compiled))?;
    let known = accounts::display_names(&state.pool, &policy.accounts)
        .await
        .map_err(S3Error::internal)?;
    if let Some(unknown) = policy.accounts.iter().find(|id| !known.contains_key(*id)) {
        return Err(S3Error::with_message(
            S3ErrorCode::MalformedPolicy,
            format!("Invalid principal in policy: no account {unknown}"),
        ));
    }
    buckets::set_bucket_policy(
        &state.pool,
        bucket.id,
        Some((document, policy.compiled.as_slice())),
    )
    .await
    .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    Ok(no_content())
}

/// GetBucketPolicy: the document as it was put, or `404 NoSuchBucketPolicy`.
pub async fn get_bucket_policy(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let document = buckets::bucket_policy_document(&state.pool, bucket.id)
        .await?
        .ok_or_else(|| no_such_policy(&bucket.name))?;
    let mut resp = Response::new(full(document));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// DeleteBucketPolicy: 204, also when the bucket had none.
pub async fn delete_bucket_policy(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    buckets::set_bucket_policy(&state.pool, bucket.id, None)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    Ok(no_content())
}

/// GetBucketPolicyStatus: whether the policy makes the bucket public, as AWS defines
/// it; `404 NoSuchBucketPolicy` without a policy.
pub async fn get_bucket_policy_status(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let compiled = bucket
        .policy
        .as_deref()
        .ok_or_else(|| no_such_policy(&bucket.name))?;
    let policy = bucket_policy::decode(compiled).map_err(S3Error::internal)?;
    Ok(xml_response(render_policy_status(policy.is_public())))
}

/// The `PolicyStatus` document.
fn render_policy_status(is_public: bool) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <PolicyStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <IsPublic>{is_public}</IsPublic></PolicyStatus>"
    )
}

fn no_such_policy(bucket: &str) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchBucketPolicy).extra("BucketName", bucket)
}

/// Compiles again every stored policy whose compiled form another version of the
/// format wrote (after an upgrade that changed it), so modules never receive bytes
/// `bucket_policy::decode` refuses. A document that no longer validates (the language
/// got stricter) keeps its old form and is logged: its decisions then fail closed.
pub async fn recompile_stored(state: &AppState) -> Result<usize, crate::store::Error> {
    let stale =
        buckets::policies_compiled_otherwise(&state.pool, bucket_policy::FORMAT_VERSION).await?;
    let mut done = 0;
    for (bucket_id, name, document) in stale {
        match compile(&document, &name) {
            Ok(policy) => {
                buckets::set_bucket_policy(
                    &state.pool,
                    bucket_id,
                    Some((document.as_str(), policy.compiled.as_slice())),
                )
                .await?;
                done += 1;
            }
            Err(e) => {
                tracing::error!(bucket = %name, error = %e, "stored bucket policy no longer compiles; its decisions are denied");
            }
        }
    }
    Ok(done)
}
