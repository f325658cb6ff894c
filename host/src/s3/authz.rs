//! The access decision: one function that sees the whole request context.
//!
//! For now the rule is "an account may do everything on its own buckets and objects and
//! nothing on others'; anonymous requests are denied". The policy engine (Wasm modules with
//! S3 ACL semantics) replaces the body of [`authorize`] without changing its callers.

use std::net::SocketAddr;

use super::router::Operation;
use crate::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::service::Principal;

/// What a decision can look at.
pub struct AccessRequest<'a> {
    /// The operation.
    pub op: &'a Operation,
    /// The caller.
    pub principal: &'a Principal,
    /// The bucket owner's canonical id (None for account-level operations).
    pub bucket_owner: Option<&'a str>,
    /// The caller's address.
    pub remote: SocketAddr,
}

/// Allows the request or returns `AccessDenied`.
pub fn authorize(req: &AccessRequest<'_>) -> S3Result<()> {
    let Some(account) = req.principal.account() else {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    };
    match req.bucket_owner {
        None => Ok(()),
        Some(owner) if owner == account.canonical_id => Ok(()),
        Some(_) => Err(S3Error::new(S3ErrorCode::AccessDenied)),
    }
}
