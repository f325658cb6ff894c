//! The two bucket settings that govern ACLs and public access, stored by the host and
//! applied by the bucket's policy module (which receives them with every decision):
//!
//! - Block Public Access: Put/Get/DeletePublicAccessBlock.
//!   <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html>
//! - Object Ownership: Put/Get/DeleteBucketOwnershipControls.
//!   <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html>
//!
//! Disabling ACLs (`BucketOwnerEnforced`) needs a bucket ACL that grants only the
//! owner, as on S3 (`400 InvalidBucketAclWithObjectOwnership` otherwise).

use http::Response;
use http::request::Parts;
use hyper::body::Incoming;

use super::authorized_bucket;
use super::context::{RequestContext, no_content, ok_empty, xml_response};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::payload::{open_payload, verify_content_md5};
use super::xml::{Doc, Element, XmlError, malformed, parse_document};
use crate::acl::{ObjectOwnership, PublicAccessBlock};
use crate::http::body::ResponseBody;
use crate::state::AppState;
use crate::store::buckets;

/// PutPublicAccessBlock: replaces the bucket's configuration (an absent setting is
/// off); 200.
pub async fn put_public_access_block(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let document = read_document(state, ctx, parts, body).await?;
    let block = parse_public_access_block(&document)?;
    buckets::set_public_access_block(&state.pool, bucket.id, Some(block))
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    Ok(ok_empty())
}

/// GetPublicAccessBlock: the configuration, or `404 NoSuchPublicAccessBlockConfiguration`.
pub async fn get_public_access_block(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let block = bucket.public_access_block.ok_or_else(|| {
        S3Error::new(S3ErrorCode::NoSuchPublicAccessBlockConfiguration)
            .extra("BucketName", bucket.name.as_str())
    })?;
    Ok(xml_response(render_public_access_block(block)))
}

/// DeletePublicAccessBlock: removes the configuration (every setting off); 204.
pub async fn delete_public_access_block(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    buckets::set_public_access_block(&state.pool, bucket.id, None)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    Ok(no_content())
}

/// PutBucketOwnershipControls: sets the bucket's Object Ownership; 200.
pub async fn put_ownership_controls(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let document = read_document(state, ctx, parts, body).await?;
    let ownership = parse_ownership_controls(&document)?;
    set_ownership(state, &bucket, Some(ownership)).await?;
    Ok(ok_empty())
}

/// GetBucketOwnershipControls: the setting, or `404 OwnershipControlsNotFoundError`.
pub async fn get_ownership_controls(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let ownership = bucket.object_ownership.ok_or_else(|| {
        S3Error::new(S3ErrorCode::OwnershipControlsNotFoundError)
            .extra("BucketName", bucket.name.as_str())
    })?;
    Ok(xml_response(render_ownership_controls(ownership)))
}

/// DeleteBucketOwnershipControls: back to S3's behaviour without controls
/// (`ObjectWriter`); 204.
pub async fn delete_ownership_controls(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    set_ownership(state, &bucket, None).await?;
    Ok(no_content())
}

async fn set_ownership(
    state: &AppState,
    bucket: &buckets::Bucket,
    ownership: Option<ObjectOwnership>,
) -> S3Result<()> {
    buckets::set_object_ownership(&state.pool, bucket.id, ownership)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?
        .map_err(|buckets::OwnershipRefused| {
            S3Error::new(S3ErrorCode::InvalidBucketAclWithObjectOwnership)
        })
}

/// The request's XML body, its digest checked.
async fn read_document(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Vec<u8>> {
    let cap = state.config.max_xml_bytes;
    let mut payload = open_payload(state, ctx, parts, body, cap as u64)?;
    let document = payload.read_to_end(cap, S3ErrorCode::MalformedXML).await?;
    verify_content_md5(&parts.headers, &document)?;
    Ok(document.to_vec())
}

/// Parses a `PublicAccessBlockConfiguration` (any namespace): each setting `true` or
/// `false` (absent: `false`); anything else is `MalformedXML`.
pub fn parse_public_access_block(body: &[u8]) -> Result<PublicAccessBlock, XmlError> {
    let root = root_named(body, "PublicAccessBlockConfiguration")?;
    let mut on = Vec::new();
    for child in &root.children {
        let known = PublicAccessBlock::default()
            .settings()
            .iter()
            .any(|(name, _)| *name == child.name);
        if !known {
            return Err(malformed(format!(
                "unexpected <{}> in <PublicAccessBlockConfiguration>",
                child.name
            )));
        }
        root.child(&child.name)?;
        match leaf(child)? {
            "true" => on.push(child.name.as_str()),
            "false" => {}
            other => return Err(malformed(format!("bad <{}> {other:?}", child.name))),
        }
    }
    PublicAccessBlock::from_names(on).ok_or_else(|| malformed("unknown setting"))
}

/// Renders GetPublicAccessBlock's answer.
pub fn render_public_access_block(block: PublicAccessBlock) -> String {
    let mut d = Doc::new();
    d.root("PublicAccessBlockConfiguration");
    for (name, on) in block.settings() {
        d.bool(name, on);
    }
    d.end("PublicAccessBlockConfiguration");
    d.finish()
}

/// Parses `OwnershipControls`: exactly one `Rule` with one `ObjectOwnership` naming
/// one of S3's settings (case-sensitive).
pub fn parse_ownership_controls(body: &[u8]) -> Result<ObjectOwnership, XmlError> {
    let root = root_named(body, "OwnershipControls")?;
    let [rule] = &root.children[..] else {
        return Err(malformed("<OwnershipControls> needs exactly one <Rule>"));
    };
    if rule.name != "Rule" {
        return Err(malformed(format!(
            "unexpected <{}> in <OwnershipControls>",
            rule.name
        )));
    }
    let [setting] = &rule.children[..] else {
        return Err(malformed("<Rule> needs exactly one <ObjectOwnership>"));
    };
    if setting.name != "ObjectOwnership" {
        return Err(malformed(format!(
            "unexpected <{}> in <Rule>",
            setting.name
        )));
    }
    let name = leaf(setting)?;
    ObjectOwnership::parse(name).ok_or_else(|| malformed(format!("bad <ObjectOwnership> {name:?}")))
}

/// Renders GetBucketOwnershipControls's answer.
pub fn render_ownership_controls(ownership: ObjectOwnership) -> String {
    let mut d = Doc::new();
    d.root("OwnershipControls");
    d.start("Rule");
    d.text("ObjectOwnership", ownership.as_str());
    d.end("Rule");
    d.end("OwnershipControls");
    d.finish()
}

fn root_named(body: &[u8], name: &str) -> Result<Element, XmlError> {
    let root = parse_document(body)?;
    if root.name != name {
        return Err(malformed(format!(
            "expected <{name}>, found <{}>",
            root.name
        )));
    }
    Ok(root)
}

fn leaf(e: &Element) -> Result<&str, XmlError> {
    match e.children.first() {
        Some(c) => Err(malformed(format!(
            "unexpected <{}> in <{}>",
            c.name, e.name
        ))),
        None => Ok(e.text.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_access_blocks_parse_and_round_trip() {
        let all = render_public_access_block(PublicAccessBlock::ALL);
        assert_eq!(
            parse_public_access_block(all.as_bytes()),
            Ok(PublicAccessBlock::ALL)
        );
        let some = parse_public_access_block(
            b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>\
              <RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>",
        );
        assert_eq!(
            some,
            Ok(PublicAccessBlock {
                block_public_acls: true,
                ..PublicAccessBlock::default()
            })
        );
        for bad in [
            "<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>",
            "<PublicAccessBlockConfiguration><BlockAll>true</BlockAll></PublicAccessBlockConfiguration>",
            "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>",
            "<OwnershipControls/>",
            "not xml",
        ] {
            assert!(parse_public_access_block(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ownership_controls_parse_and_round_trip() {
        for o in [
            ObjectOwnership::ObjectWriter,
            ObjectOwnership::BucketOwnerPreferred,
            ObjectOwnership::BucketOwnerEnforced,
        ] {
            let xml = render_ownership_controls(o);
            assert_eq!(parse_ownership_controls(xml.as_bytes()), Ok(o));
        }
        for bad in [
            "<OwnershipControls/>",
            "<OwnershipControls><Rule/></OwnershipControls>",
            "<OwnershipControls><Rule><ObjectOwnership>bucketownerenforced</ObjectOwnership></Rule></OwnershipControls>",
            "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>",
        ] {
            assert!(parse_ownership_controls(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
