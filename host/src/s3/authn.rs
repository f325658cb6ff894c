//! Authentication's I/O side: the access key looked up in PostgreSQL, its secret unsealed
//! with the master key, and the signature checked by the pure code in `auth/`.

use time::OffsetDateTime;

use crate::auth::{self, Credentials, RequestView, SecretKey};
use crate::policy::types::{AuthType, Signature, SignatureVersion};
use crate::s3::context::{PrefetchedBucket, Principal};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::accounts::{self, Account, ActiveKey};
use crate::store::buckets;

/// Who a request is from, once its signature is verified.
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The verified SigV4 context, for aws-chunked bodies and payload hashes.
    pub sigv4: Option<auth::sigv4::VerifiedV4>,
    /// How the request was signed, as policy modules see it (bucket-policy conditions
    /// such as `s3:signatureversion`); `None` for an anonymous request.
    pub signature: Option<Signature>,
    /// The request's bucket, read with the access key (empty for an anonymous request
    /// or one that names no bucket).
    pub prefetched_bucket: PrefetchedBucket,
}

/// Verifies the request's signature and resolves the caller. `bucket`, the bucket the
/// request names, is read in the same statement as the access key (see
/// [`PrefetchedBucket`]).
pub async fn authenticate(
    state: &AppState,
    view: &RequestView<'_>,
    credentials: Credentials,
    vhost_bucket: Option<&str>,
    bucket: Option<&str>,
) -> S3Result<Authenticated> {
    let now = state.now();
    let region = state.config.region.as_deref();
    let (account, prefetched_bucket, sigv4, signature) = match credentials {
        Credentials::Anonymous => {
            return Ok(Authenticated {
                principal: Principal::Anonymous,
                sigv4: None,
                signature: None,
                prefetched_bucket: PrefetchedBucket::default(),
            });
        }
        Credentials::V4(authz) => {
            let (account, secret, prefetched) =
                lookup_key_with(state, &authz.access_key, bucket).await?;
            let verified = auth::sigv4::verify_v4(view, &authz, &secret, now, region)
                .map_err(S3Error::from)?;
            let signature = v4_signature(AuthType::Header, &verified);
            (account, prefetched, Some(verified), signature)
        }
        Credentials::V2(authz) => {
            let (account, secret, prefetched) =
                lookup_key_with(state, &authz.access_key, bucket).await?;
            auth::sigv2::verify_v2(view, &authz, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            let signed_at = auth::sigv2::request_time_v2(view.headers).ok();
            let signature = Signature {
                version: SignatureVersion::V2,
                auth_type: AuthType::Header,
                signed_at: signed_at.and_then(unix_seconds),
            };
            (account, prefetched, None, signature)
        }
        Credentials::PresignedV4(p) => {
            let (account, secret, prefetched) =
                lookup_key_with(state, &p.auth.access_key, bucket).await?;
            let verified =
                auth::presign::verify_v4(view, &p, &secret, now, region).map_err(S3Error::from)?;
            let signature = v4_signature(AuthType::QueryString, &verified);
            (account, prefetched, Some(verified), signature)
        }
        Credentials::PresignedV2(p) => {
            let (account, secret, prefetched) =
                lookup_key_with(state, &p.access_key, bucket).await?;
            auth::presign::verify_v2(view, &p, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            // A SigV2 presigned URL carries its expiry, not when it was signed.
            let signature = Signature {
                version: SignatureVersion::V2,
                auth_type: AuthType::QueryString,
                signed_at: None,
            };
            (account, prefetched, None, signature)
        }
    };
    Ok(Authenticated {
        principal: Principal::Account(account),
        sigv4,
        signature: Some(signature),
        prefetched_bucket,
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

/// [`lookup_key`], and bucket `bucket` if the request names one, in one statement.
async fn lookup_key_with(
    state: &AppState,
    access_key: &str,
    bucket: Option<&str>,
) -> S3Result<(Account, SecretKey, PrefetchedBucket)> {
    let Some(name) = bucket else {
        let (account, secret) = lookup_key(state, access_key).await?;
        return Ok((account, secret, PrefetchedBucket::default()));
    };
    let (key, found) = buckets::find_active_key_and_bucket(&state.pool, access_key, name)
        .await
        .map_err(S3Error::internal)?
        .ok_or_else(|| invalid_key(access_key))?;
    let secret = unseal(state, access_key, &key)?;
    Ok((
        key.account,
        secret,
        PrefetchedBucket::new(name.to_owned(), found),
    ))
}

/// The account owning `access_key` and its secret; `InvalidAccessKeyId` when there is
/// no such active key.
pub async fn lookup_key(state: &AppState, access_key: &str) -> S3Result<(Account, SecretKey)> {
    let key = accounts::find_active_key(&state.pool, access_key)
        .await
        .map_err(S3Error::internal)?
        .ok_or_else(|| invalid_key(access_key))?;
    let secret = unseal(state, access_key, &key)?;
    Ok((key.account, secret))
}

fn invalid_key(access_key: &str) -> S3Error {
    S3Error::new(S3ErrorCode::InvalidAccessKeyId).extra("AWSAccessKeyId", access_key)
}

/// The key's secret, unsealed with the master key.
fn unseal(state: &AppState, access_key: &str, key: &ActiveKey) -> S3Result<SecretKey> {
    let secret = state
        .master_key
        .open(access_key, &key.ciphertext, &key.nonce)
        .map_err(S3Error::internal)?;
    Ok(SecretKey::new(secret))
}
