//! Authentication's I/O side: the access key looked up in PostgreSQL, its secret unsealed
//! with the master key, and the signature checked by the pure code in `auth/`.

use time::OffsetDateTime;

use crate::auth::{self, Credentials, RequestView, SecretKey};
use crate::policy::types::{AuthType, Signature, SignatureVersion};
use crate::s3::context::Principal;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::accounts::{self, Account};

/// Who a request is from, once its signature is verified.
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The verified SigV4 context, for aws-chunked bodies and payload hashes.
    pub sigv4: Option<auth::sigv4::VerifiedV4>,
    /// How the request was signed, as policy modules see it (bucket-policy conditions
    /// such as `s3:signatureversion`); `None` for an anonymous request.
    pub signature: Option<Signature>,
}

/// Verifies the request's signature and resolves the caller.
pub async fn authenticate(
    state: &AppState,
    view: &RequestView<'_>,
    credentials: Credentials,
    vhost_bucket: Option<&str>,
) -> S3Result<Authenticated> {
    let now = state.now();
    let region = state.config.region.as_deref();
    let (account, sigv4, signature) = match credentials {
        Credentials::Anonymous => {
            return Ok(Authenticated {
                principal: Principal::Anonymous,
                sigv4: None,
                signature: None,
            });
        }
        Credentials::V4(authz) => {
            let (account, secret) = lookup_key(state, &authz.access_key).await?;
            let verified = auth::sigv4::verify_v4(view, &authz, &secret, now, region)
                .map_err(S3Error::from)?;
            let signature = v4_signature(AuthType::Header, &verified);
            (account, Some(verified), signature)
        }
        Credentials::V2(authz) => {
            let (account, secret) = lookup_key(state, &authz.access_key).await?;
            auth::sigv2::verify_v2(view, &authz, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            let signed_at = auth::sigv2::request_time_v2(view.headers).ok();
            let signature = Signature {
                version: SignatureVersion::V2,
                auth_type: AuthType::Header,
                signed_at: signed_at.and_then(unix_seconds),
            };
            (account, None, signature)
        }
        Credentials::PresignedV4(p) => {
            let (account, secret) = lookup_key(state, &p.auth.access_key).await?;
            let verified =
                auth::presign::verify_v4(view, &p, &secret, now, region).map_err(S3Error::from)?;
            let signature = v4_signature(AuthType::QueryString, &verified);
            (account, Some(verified), signature)
        }
        Credentials::PresignedV2(p) => {
            let (account, secret) = lookup_key(state, &p.access_key).await?;
            auth::presign::verify_v2(view, &p, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            // A SigV2 presigned URL carries its expiry, not when it was signed.
            let signature = Signature {
                version: SignatureVersion::V2,
                auth_type: AuthType::QueryString,
                signed_at: None,
            };
            (account, None, signature)
        }
    };
    Ok(Authenticated {
        principal: Principal::Account(account),
        sigv4,
        signature: Some(signature),
    })
}

/// The policy-facing facts of a verified SigV4 signature.
fn v4_signature(auth_type: AuthType, verified: &auth::sigv4::VerifiedV4) -> Signature {
    Signature {
        version: SignatureVersion::V4,
        auth_type,
        signed_at: auth::sigv4::parse_amz_date(&verified.amz_date)
            .ok()
            .and_then(unix_seconds),
    }
}

/// Seconds since the Unix epoch; `None` before it.
pub fn unix_seconds(time: OffsetDateTime) -> Option<u64> {
    u64::try_from(time.unix_timestamp()).ok()
}

/// The account owning `access_key` and its secret; `InvalidAccessKeyId` when there is
/// no such active key.
pub async fn lookup_key(state: &AppState, access_key: &str) -> S3Result<(Account, SecretKey)> {
    let key = accounts::find_active_key(&state.pool, access_key)
        .await
        .map_err(S3Error::internal)?
        .ok_or_else(|| {
            S3Error::new(S3ErrorCode::InvalidAccessKeyId).extra("AWSAccessKeyId", access_key)
        })?;
    let secret = state
        .master_key
        .open(access_key, &key.ciphertext, &key.nonce)
        .map_err(S3Error::internal)?;
    Ok((key.account, SecretKey::new(secret)))
}
