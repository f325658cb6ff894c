//! Explain: decide a described request against a bucket's live policy module and
//! configuration (its ACLs, policy, Block Public Access, Object Ownership, the object's
//! ACL and tags) without performing it, and say why. The admin API
//! (`POST /v1/buckets/{bucket}/explain`) and the console's "Why?" box use it.
//!
//! The answer carries the module's reason, which S3 clients never see (they get S3's
//! plain error). Decisions go through the engine without the answer cache, so the
//! module's log lines come back too.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::authz::{self, AccessRequest};
use super::context::{Principal, RequestContext};
use super::router::Operation;
use crate::policy::types;
use crate::state::AppState;
use crate::store::{self, accounts, buckets, objects};

/// A request to explain, as an operator describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribedRequest {
    /// AWS's operation name (`GetObject`, `PutObjectAcl`, ...).
    pub operation: String,
    /// The object key, for object operations.
    #[serde(default)]
    pub key: Option<String>,
    /// The `versionId` the request would address.
    #[serde(default)]
    pub version_id: Option<String>,
    /// Who asks: an account's name or canonical id; absent for an anonymous request.
    #[serde(default)]
    pub account: Option<String>,
    /// The client's address (default 127.0.0.1).
    #[serde(default)]
    pub source_ip: Option<IpAddr>,
    /// Request headers (names are lower-cased).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Whether the request would arrive over TLS.
    #[serde(default)]
    pub secure_transport: bool,
}

/// Why a described request would be decided as it would.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// `allow`, `deny`, `refuse` (another S3 error than AccessDenied) or `failure` (the
    /// module failed: the request would be denied).
    pub decision: &'static str,
    /// The S3 error code the client would get; none when allowed.
    pub error: Option<&'static str>,
    /// The module's reason (or the failure).
    pub reason: String,
    /// The bucket's module.
    pub module: String,
    /// The module whose code decided (the default module for a hook the bucket's module
    /// does not export).
    pub evaluated_by: String,
    /// Whether the object named by `key` exists (its ACL and tags took part).
    pub object_found: bool,
    /// What the module logged.
    pub logs: Vec<String>,
}

/// Why explain could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// No such bucket.
    #[error("no bucket {0}")]
    NoSuchBucket(String),
    /// The described account does not exist.
    #[error("no account {0:?} (give an account's name or canonical id)")]
    NoSuchAccount(String),
    /// A `version_id` Coffer could not have issued.
    #[error("invalid version id {0:?}")]
    InvalidVersion(String),
    /// The metadata store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Decides `described` against bucket `bucket`'s live module and configuration.
pub async fn explain(
    state: &AppState,
    bucket: &str,
    described: &DescribedRequest,
) -> Result<Explanation, ExplainError> {
    let found = buckets::get_bucket(&state.pool, bucket)
        .await?
        .ok_or_else(|| ExplainError::NoSuchBucket(bucket.to_owned()))?;
    let principal = match &described.account {
        None => Principal::Anonymous,
        Some(who) => Principal::Account(find_account(state, who).await?),
    };
    let object = match &described.key {
        Some(key) => {
            let version = objects::VersionSelector::parse(described.version_id.as_deref())
                .ok_or_else(|| {
                    ExplainError::InvalidVersion(described.version_id.clone().unwrap_or_default())
                })?;
            objects::get_object(&state.pool, found.id, key, &version)
                .await?
                .filter(|o| !o.delete_marker)
        }
        None => None,
    };
    let ctx = described_context(described, &found.name, principal);
    let access = AccessRequest {
        operation: &described.operation,
        bucket: Some(&found),
        key: described.key.as_deref(),
        version_id: described.version_id.as_deref(),
        object: object.as_ref(),
        request_tags: &[],
        request_acl: None,
        request_policy: None,
    };
    let policy = state.policies.for_bucket(Some(found.id));
    let request = authz::policy_request(&ctx, &access, policy.config.clone());
    let mut explanation = Explanation {
        decision: "failure",
        error: Some("AccessDenied"),
        reason: String::new(),
        module: policy.name.clone(),
        evaluated_by: policy.name.clone(),
        object_found: object.is_some(),
        logs: Vec::new(),
    };
    let module = match &policy.module {
        Ok(m) => m,
        Err(reason) => {
            explanation.reason = format!("the bucket's module cannot be loaded: {reason}");
            return Ok(explanation);
        }
    };
    let evaluation = state.policies.engine().evaluate_authorize(module, &request);
    explanation.evaluated_by = evaluation.evaluated_by;
    explanation.logs = evaluation
        .logs
        .into_iter()
        .map(|l| format!("{} {}", l.level, l.message))
        .collect();
    let (decision, error, reason) = match evaluation.outcome {
        Ok(types::Decision::Allow(reason)) => ("allow", None, reason),
        Ok(types::Decision::Deny(reason)) => ("deny", Some("AccessDenied"), reason),
        Ok(types::Decision::Refuse(r)) => (
            "refuse",
            Some(authz::refusal_code(r.code).as_str()),
            r.reason,
        ),
        Err(e) => ("failure", Some("AccessDenied"), e.to_string()),
    };
    explanation.decision = decision;
    explanation.error = error;
    explanation.reason = reason;
    Ok(explanation)
}

/// The account named `who` (name or canonical id).
async fn find_account(state: &AppState, who: &str) -> Result<accounts::Account, ExplainError> {
    match accounts::account_by_name(&state.pool, who).await {
        Ok(a) => return Ok(a),
        Err(store::Error::NoSuchAccount(_)) => {}
        Err(e) => return Err(e.into()),
    }
    accounts::list_accounts(&state.pool)
        .await?
        .into_iter()
        .find(|a| a.canonical_id == who)
        .ok_or_else(|| ExplainError::NoSuchAccount(who.to_owned()))
}

/// The context of a request that is only described: it arrives now, from
/// `source_ip`, signed with SigV4 in its headers if it has an account.
fn described_context(
    described: &DescribedRequest,
    bucket: &str,
    principal: Principal,
) -> RequestContext {
    let received_at = time::OffsetDateTime::now_utc();
    let signature = match principal {
        Principal::Anonymous => None,
        Principal::Account(_) => Some(types::Signature {
            version: types::SignatureVersion::V4,
            auth_type: types::AuthType::Header,
            signed_at: crate::s3::authn::unix_seconds(received_at),
        }),
    };
    let ip = described.source_ip.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    RequestContext {
        request_id: "explain".to_owned(),
        // No S3 operation runs: the decision is about `described.operation`.
        op: Operation::Unsupported("Explain"),
        bucket: Some(bucket.to_owned()),
        key: described.key.clone(),
        vhost: false,
        query: Vec::new(),
        principal,
        remote: SocketAddr::new(ip, 0),
        sigv4: None,
        signature,
        received_at,
        secure_transport: described.secure_transport,
        policy_headers: described
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect(),
        policy: std::sync::OnceLock::new(),
        prefetched_bucket: Default::default(),
    }
}
