//! PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration and
//! DeleteBucketLifecycle: a bucket's lifecycle rules, stored as the JSON of
//! [`LifecycleConfiguration`] in `buckets.lifecycle` and carried out by
//! [`super::lifecycle_worker`]; and the `x-amz-expiration` header that announces when a
//! rule will expire an object.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketLifecycle.html>

use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::Deserialize;
use time::OffsetDateTime;

use super::authorized_bucket;
use super::context::{RequestContext, ok_empty, xml_response};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::lifecycle::{
    LifecycleConfiguration, expiration_for, parse_lifecycle_configuration,
    render_expiration_header, render_lifecycle_configuration,
};
use super::payload::{open_payload, verify_content_md5};
use crate::config::ServerConfig;
use crate::http::body::{ResponseBody, empty};
use crate::state::AppState;
use crate::store::buckets::{self, Bucket};
use crate::tags::Tag;

/// Length of the rule IDs Coffer makes up for rules sent without one (S3's are 48
/// characters).
const GENERATED_ID_CHARS: usize = 48;

/// PutBucketLifecycleConfiguration: the document (Content-MD5 checked when sent) replaces
/// the bucket's configuration. Rules without an `ID` get a random one, as on S3, so that
/// `x-amz-expiration` and GetBucketLifecycleConfiguration can name them.
pub async fn put_bucket_lifecycle_configuration(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let cap = state.config.max_xml_bytes;
    let mut payload = open_payload(state, ctx, parts, body, cap as u64)?;
    let document = payload.read_to_end(cap, S3ErrorCode::MalformedXML).await?;
    verify_content_md5(&parts.headers, &document)?;
    let mut config = parse_lifecycle_configuration(&document)?;
    name_rules(&mut config);
    let stored = serde_json::to_value(&config).map_err(S3Error::internal)?;
    buckets::set_lifecycle(&state.pool, bucket.id, Some(&stored))
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    Ok(ok_empty())
}

/// Gives every rule without an ID a random one, distinct from the others.
fn name_rules(config: &mut LifecycleConfiguration) {
    let mut taken: Vec<String> = config.rules.iter().filter_map(|r| r.id.clone()).collect();
    for rule in config.rules.iter_mut().filter(|r| r.id.is_none()) {
        let id = loop {
            let candidate: String = rand::thread_rng()
                .sample_iter(&Alphanumeric)
                .take(GENERATED_ID_CHARS)
                .map(char::from)
                .collect();
            if !taken.contains(&candidate) {
                break candidate;
            }
        };
        taken.push(id.clone());
        rule.id = Some(id);
    }
}

/// GetBucketLifecycleConfiguration: the stored rules, or `404
/// NoSuchLifecycleConfiguration`.
pub async fn get_bucket_lifecycle_configuration(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let no_config = || {
        S3Error::new(S3ErrorCode::NoSuchLifecycleConfiguration)
            .extra("BucketName", bucket.name.as_str())
    };
    let stored = bucket.lifecycle.as_ref().ok_or_else(no_config)?;
    let config = LifecycleConfiguration::deserialize(stored).map_err(S3Error::internal)?;
    Ok(xml_response(render_lifecycle_configuration(&config)))
}

/// DeleteBucketLifecycle: 204, also when the bucket had no configuration.
pub async fn delete_bucket_lifecycle(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    buckets::set_lifecycle(&state.pool, bucket.id, None).await?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// The `x-amz-expiration` value for the current version of `key` (`size` bytes, `tags`,
/// written at `last_modified`) in `bucket`: when its bucket's enabled `Expiration` rules
/// by days or date will expire it and which rule says so, if any applies. The date is the
/// one the lifecycle worker acts on (same function, same day length). A stored
/// configuration that does not read back is no header (the worker logs it).
pub fn expiration_header(
    config: &ServerConfig,
    bucket: &Bucket,
    key: &str,
    size: u64,
    tags: &[Tag],
    last_modified: OffsetDateTime,
) -> Option<String> {
    let stored = bucket.lifecycle.as_ref()?;
    let lifecycle = LifecycleConfiguration::deserialize(stored).ok()?;
    let (at, rule_id) = expiration_for(
        &lifecycle.rules,
        key,
        size,
        tags,
        last_modified,
        config.lifecycle.day_length(),
    )?;
    Some(render_expiration_header(at, rule_id.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_without_an_id_get_a_distinct_one() {
        let doc = b"<LifecycleConfiguration>\
            <Rule><ID>mine</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
            <Rule><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>\
            <Rule><Filter/><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>\
            </LifecycleConfiguration>";
        let mut config = parse_lifecycle_configuration(doc).expect("parses");
        name_rules(&mut config);
        let ids: Vec<&str> = config
            .rules
            .iter()
            .map(|r| r.id.as_deref().expect("named"))
            .collect();
        assert_eq!(ids[0], "mine");
        for id in &ids[1..] {
            assert_eq!(id.len(), GENERATED_ID_CHARS);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        assert_ne!(ids[1], ids[2]);
        // What is stored reads back the same.
        let stored = serde_json::to_value(&config).expect("serializes");
        let back = LifecycleConfiguration::deserialize(&stored).expect("deserializes");
        assert_eq!(back, config);
    }
}
