//! GetBucketAcl and GetObjectAcl. Until the policy engine lands, every resource's ACL is
//! its owner's FULL_CONTROL, which is what these report.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html>

use http::Response;

use super::{authorized_bucket, object_key, xml};
use crate::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::body::ResponseBody;
use crate::http::service::{RequestContext, xml_response};
use crate::state::AppState;
use crate::store::meta;

fn owner_full_control(id: String, display_name: String) -> String {
    let owner = xml::Owner { id, display_name };
    let grant = xml::Grant {
        grantee: xml::Grantee::CanonicalUser {
            id: owner.id.clone(),
            display_name: owner.display_name.clone(),
        },
        permission: "FULL_CONTROL".to_string(),
    };
    xml::render_access_control_policy(&owner, &[grant])
}

/// GetBucketAcl.
pub async fn get_bucket_acl(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    Ok(xml_response(owner_full_control(
        bucket.owner_canonical_id,
        bucket.owner_display_name,
    )))
}

/// GetObjectAcl.
pub async fn get_object_acl(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let key = object_key(ctx)?;
    let obj = meta::get_object(&state.pool, bucket.id, key)
        .await?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey).extra("Key", key))?;
    Ok(xml_response(owner_full_control(
        obj.owner_canonical_id,
        obj.owner_display_name,
    )))
}
