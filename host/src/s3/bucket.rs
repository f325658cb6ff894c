//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.

use base64::Engine;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use hyper::body::Incoming;

use super::acl_headers::{self, AclTarget};
use super::names::BucketName;
use super::{authorized_bucket, authz, headers, xml};
use crate::acl::{Grants, ObjectOwnership};
use crate::http::body::{ResponseBody, empty};
use crate::s3::context::{RequestContext, ok_empty, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::{accounts, buckets};

/// The authenticated caller of an account-level operation (decided by the default module).
fn caller<'a>(state: &AppState, ctx: &'a RequestContext) -> S3Result<&'a accounts::Account> {
    authz::authorize(
        state,
        ctx,
        &authz::AccessRequest::on_bucket(ctx.op.as_str(), None),
    )?;
    ctx.principal
        .account()
        .ok_or_else(|| S3Error::new(S3ErrorCode::AccessDenied))
}

/// ListBuckets: the caller's buckets.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html>
pub async fn list_buckets(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let account = caller(state, ctx)?;
    let page = ListBucketsPage::of(ctx)?;
    let default_region = state.config.region.as_deref().unwrap_or("us-east-1");
    let buckets = buckets::list_buckets(&state.pool, account.id).await?;
    let owner = xml::Owner {
        id: account.canonical_id.clone(),
        display_name: account.display_name.clone(),
    };
    let mut entries: Vec<xml::BucketEntry> = buckets
        .into_iter()
        .filter(|b| b.name.starts_with(page.prefix.unwrap_or("")))
        .filter(|b| {
            page.after
                .as_deref()
                .is_none_or(|after| b.name.as_str() > after)
        })
        .map(|b| xml::BucketEntry {
            region: b.region.unwrap_or_else(|| default_region.to_string()),
            name: b.name,
            creation_date: b.created_at,
        })
        .filter(|b| page.region.is_none_or(|r| b.region == r))
        .collect();
    // Listed by name, as S3 does; a page has at most `max-buckets`.
    let next = match page.max {
        Some(max) if entries.len() > max => {
            entries.truncate(max);
            entries.last().map(|b| encode_bucket_token(&b.name))
        }
        _ => None,
    };
    let listing = xml::BucketListing {
        owner,
        buckets: entries,
        continuation_token: next,
        prefix: page.prefix.map(str::to_string),
    };
    Ok(xml_response(xml::render_list_buckets(&listing)))
}

/// The paging parameters of ListBuckets.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html>
struct ListBucketsPage<'a> {
    /// `max-buckets` (1 to 10,000); without it, every bucket in one answer.
    max: Option<usize>,
    /// The last name of the previous page (from `continuation-token`).
    after: Option<String>,
    prefix: Option<&'a str>,
    /// `bucket-region`: only buckets of that region.
    region: Option<&'a str>,
}

impl<'a> ListBucketsPage<'a> {
    fn of(ctx: &'a RequestContext) -> S3Result<Self> {
        let max = match ctx.query_param("max-buckets") {
            None => None,
            Some(v) => Some(
                v.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        S3Error::with_message(
                            S3ErrorCode::InvalidArgument,
                            "Argument max-buckets must be an integer between 1 and 10000",
                        )
                        .extra("ArgumentName", "max-buckets")
                        .extra("ArgumentValue", v)
                    })?,
            ),
        };
        let after = match ctx.query_param("continuation-token") {
            None => None,
            Some(t) => Some(decode_bucket_token(t).ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "The continuation token provided is incorrect",
                )
                .extra("ArgumentName", "continuation-token")
            })?),
        };
        Ok(ListBucketsPage {
            max,
            after,
            prefix: ctx.query_param("prefix"),
            region: ctx.query_param("bucket-region"),
        })
    }
}

/// The opaque token of the next ListBuckets page: the last name listed.
fn encode_bucket_token(name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name.as_bytes())
}

fn decode_bucket_token(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// CreateBucket. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html>
pub async fn create_bucket(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    // Checked before the decision, which reads it (the default module refuses an ACL
    // granting to others with `BucketOwnerEnforced`).
    let ownership = match ctx.header(headers::OBJECT_OWNERSHIP) {
        None => None,
        Some(name) => Some(ObjectOwnership::parse(name.trim()).ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Invalid x-amz-object-ownership header",
            )
            .extra("ArgumentName", headers::OBJECT_OWNERSHIP)
            .extra("ArgumentValue", name)
        })?),
    };
    let account = caller(state, ctx)?;
    let raw = ctx.bucket.as_deref().unwrap_or_default();
    let name = BucketName::parse(raw).map_err(|e| {
        S3Error::new(S3ErrorCode::InvalidBucketName)
            .extra("BucketName", raw)
            .source(e)
    })?;
    // The ACL is checked before the body is read; S3 ignores the bucket-owner-* canned
    // ACLs on buckets (private).
    let acl = acl_headers::acl_from_headers(
        state,
        &parts.headers,
        &account.canonical_id,
        AclTarget::Bucket,
    )
    .await?
    .unwrap_or_else(|| Grants::private(&account.canonical_id));
    // The body is checked against the signed payload hash, as every body is.
    let mut payload =
        super::payload::open_payload(state, ctx, parts, body, state.config.max_xml_bytes as u64)?;
    let xml_body = payload
        .read_to_end(state.config.max_xml_bytes, S3ErrorCode::MalformedXML)
        .await?;
    let location = xml::parse_create_bucket_configuration(&xml_body).map_err(S3Error::from)?;
    if let (Some(required), Some(given)) = (&state.config.region, &location)
        && required != given
    {
        return Err(S3Error::new(S3ErrorCode::InvalidLocationConstraint));
    }
    // `x-amz-bucket-object-lock-enabled: true` creates the bucket with Object Lock (and so
    // with versioning enabled, which Object Lock needs).
    let object_lock = ctx
        .header("x-amz-bucket-object-lock-enabled")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let new = buckets::NewBucket {
        region: location.as_deref(),
        acl: &acl,
        object_lock,
        public_access_block: state.config.block_public_access_default,
        object_ownership: ownership,
    };
    buckets::create_bucket(&state.pool, name.as_str(), account.id, &new)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", name.as_str()))?;
    let mut resp = ok_empty();
    if let Ok(v) = HeaderValue::from_str(&format!("/{}", name.as_str())) {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    Ok(resp)
}

/// HeadBucket. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html>
pub async fn head_bucket(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let mut resp = ok_empty();
    let region = bucket
        .region
        .as_deref()
        .or(state.config.region.as_deref())
        .unwrap_or("us-east-1");
    if let Ok(v) = HeaderValue::from_str(region) {
        resp.headers_mut().insert(headers::BUCKET_REGION, v);
    }
    Ok(resp)
}

/// DeleteBucket. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html>
pub async fn delete_bucket(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    buckets::delete_bucket(&state.pool, bucket.id)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    super::see_own_change(state).await;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// GetBucketLocation. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html>
pub async fn get_bucket_location(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    Ok(xml_response(xml::render_location(bucket.region.as_deref())))
}
