//! Authentication's I/O side: the access key looked up in PostgreSQL, its secret unsealed
//! with the master key, and the signature checked by the pure code in `auth/`.

use crate::auth::{self, Credentials, RequestView, SecretKey};
use crate::s3::context::Principal;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::accounts::{self, Account};

/// Verifies the request's signature and resolves the caller.
pub async fn authenticate(
    state: &AppState,
    view: &RequestView<'_>,
    credentials: Credentials,
    vhost_bucket: Option<&str>,
) -> S3Result<(Principal, Option<auth::sigv4::VerifiedV4>)> {
    let now = state.now();
    match credentials {
        Credentials::Anonymous => Ok((Principal::Anonymous, None)),
        Credentials::V4(authz) => {
            let (account, secret) = lookup_key(state, &authz.access_key).await?;
            let verified =
                auth::sigv4::verify_v4(view, &authz, &secret, now, state.config.region.as_deref())
                    .map_err(S3Error::from)?;
            Ok((Principal::Account(account), Some(verified)))
        }
        Credentials::V2(authz) => {
            let (account, secret) = lookup_key(state, &authz.access_key).await?;
            auth::sigv2::verify_v2(view, &authz, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            Ok((Principal::Account(account), None))
        }
        Credentials::PresignedV4(p) => {
            let (account, secret) = lookup_key(state, &p.auth.access_key).await?;
            let verified =
                auth::presign::verify_v4(view, &p, &secret, now, state.config.region.as_deref())
                    .map_err(S3Error::from)?;
            Ok((Principal::Account(account), Some(verified)))
        }
        Credentials::PresignedV2(p) => {
            let (account, secret) = lookup_key(state, &p.access_key).await?;
            auth::presign::verify_v2(view, &p, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            Ok((Principal::Account(account), None))
        }
    }
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
