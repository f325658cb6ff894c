//! The JSON form of the WIT `request` record: what `coffer policy eval` reads (see
//! `docs/policy-eval.md`), what `coffer policy replay` reads, and what the server's
//! decision log writes (one request per line, with what was decided in `recorded`), so a
//! captured request can be evaluated again alone. Parsing is strict (unknown fields are
//! errors); writing leaves out what is empty.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::types;

/// Why a request in JSON could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestJsonError {
    /// Not JSON, or not a request (an unknown field, a wrong type).
    #[error("the request is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A `bucket_policy` without the `bucket` it is compiled for.
    #[error("a request with a bucket_policy needs its bucket")]
    PolicyWithoutBucket,
    /// A `bucket_policy` the server would refuse.
    #[error("the bucket policy is invalid (MalformedPolicy): {0}")]
    MalformedPolicy(String),
    /// A compiled policy that is not base64.
    #[error("a compiled bucket policy is not base64: {0}")]
    Compiled(String),
}

/// A request read from JSON: the `request` record, the user metadata for the `metadata`
/// hook, and what the server decided when it was logged.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The request.
    pub request: types::Request,
    /// The user metadata (`metadata`, or the `x-amz-meta-*` headers).
    pub metadata: Vec<types::Header>,
    /// The decision log's record of the server's decision, if any.
    pub recorded: Option<Recorded>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default)]
    principal: PrincipalJson,
    #[serde(default = "default_source_ip")]
    source_ip: String,
    #[serde(default)]
    headers: HeadersJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket_acl: Option<AclJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object_acl: Option<AclJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object_tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    request_tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket_policy: Option<serde_json::Value>,
    /// The compiled policy, base64 (what the decision log records: the server holds
    /// only this form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket_policy_compiled: Option<String>,
    #[serde(default)]
    context: ContextJson,
    #[serde(default)]
    public_access_block: PublicAccessBlockJson,
    #[serde(default)]
    object_ownership: OwnershipJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_acl: Option<AclJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_bucket_policy: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_bucket_policy_compiled: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<HeadersJson>,
    /// What the server decided, in a decision log's entry (ignored by evaluation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recorded: Option<Recorded>,
}

/// What the server decided for a logged request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// The request's `x-amz-request-id`.
    pub request_id: String,
    /// The bucket's module that decided.
    pub module: String,
    /// `allow`, `deny`, `refuse` or `failure`.
    pub decision: String,
    /// The S3 error the client got; none when allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The module's reason (or the failure).
    #[serde(default)]
    pub reason: String,
}

/// The `public-access-block` record, by S3's names; absent settings are off.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct PublicAccessBlockJson {
    #[serde(default)]
    block_public_acls: bool,
    #[serde(default)]
    ignore_public_acls: bool,
    #[serde(default)]
    block_public_policy: bool,
    #[serde(default)]
    restrict_public_buckets: bool,
}

/// The `object-ownership` enum, by S3's names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
enum OwnershipJson {
    #[default]
    ObjectWriter,
    BucketOwnerPreferred,
    BucketOwnerEnforced,
}

/// The `request-context` record; every field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextJson {
    /// Seconds since the Unix epoch; now when absent.
    #[serde(default)]
    current_time: Option<u64>,
    #[serde(default)]
    secure_transport: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<SignatureJson>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    query: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureJson {
    version: SignatureVersionJson,
    #[serde(default)]
    auth_type: AuthTypeJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signed_at: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SignatureVersionJson {
    V2,
    V4,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AuthTypeJson {
    #[default]
    Header,
    QueryString,
    Post,
}

impl ContextJson {
    fn into_context(self) -> types::RequestContext {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        types::RequestContext {
            current_time: self.current_time.unwrap_or(now),
            secure_transport: self.secure_transport,
            signature: self.signature.map(|s| types::Signature {
                version: match s.version {
                    SignatureVersionJson::V2 => types::SignatureVersion::V2,
                    SignatureVersionJson::V4 => types::SignatureVersion::V4,
                },
                auth_type: match s.auth_type {
                    AuthTypeJson::Header => types::AuthType::Header,
                    AuthTypeJson::QueryString => types::AuthType::QueryString,
                    AuthTypeJson::Post => types::AuthType::Post,
                },
                signed_at: s.signed_at,
            }),
            query: self
                .query
                .into_iter()
                .map(|(name, value)| types::Header { name, value })
                .collect(),
        }
    }
}

/// A bucket policy of the request (the document, as JSON or as its text: `bucket_policy`,
/// `request_bucket_policy`) compiled as the server compiles it for the bucket `bucket`.
fn compile_bucket_policy(
    document: serde_json::Value,
    bucket: Option<&str>,
) -> Result<Vec<u8>, RequestJsonError> {
    let text = match document {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    };
    let bucket = bucket.ok_or(RequestJsonError::PolicyWithoutBucket)?;
    let policy = coffer_guest_sdk::bucket_policy::parse(&text, bucket)
        .map_err(|e| RequestJsonError::MalformedPolicy(e.to_string()))?;
    Ok(policy.encode())
}

/// A compiled policy given as base64 (`bucket_policy_compiled`,
/// `request_bucket_policy_compiled`, what the server's decision log records).
fn decode_compiled(text: &str) -> Result<Vec<u8>, RequestJsonError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| RequestJsonError::Compiled(e.to_string()))
}

fn default_source_ip() -> String {
    "127.0.0.1".to_owned()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum PrincipalJson {
    #[default]
    Anonymous,
    Account(AccountJson),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountJson {
    canonical_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AclJson {
    owner: String,
    #[serde(default)]
    grants: Vec<GrantJson>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantJson {
    grantee: GranteeJson,
    permission: PermissionJson,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum GranteeJson {
    CanonicalUser(String),
    Group(GroupJson),
    Email(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum GroupJson {
    #[serde(alias = "AllUsers")]
    AllUsers,
    #[serde(alias = "AuthenticatedUsers")]
    AuthenticatedUsers,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PermissionJson {
    #[serde(alias = "READ")]
    Read,
    #[serde(alias = "WRITE")]
    Write,
    #[serde(alias = "READ_ACP")]
    ReadAcp,
    #[serde(alias = "WRITE_ACP")]
    WriteAcp,
    #[serde(alias = "FULL_CONTROL")]
    FullControl,
}

/// Headers as `{"name": "value"}` or `[{"name": ..., "value": ...}]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum HeadersJson {
    Map(BTreeMap<String, String>),
    List(Vec<HeaderJson>),
}

impl Default for HeadersJson {
    fn default() -> Self {
        HeadersJson::List(Vec::new())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderJson {
    name: String,
    value: String,
}

impl HeadersJson {
    fn into_headers(self) -> Vec<types::Header> {
        let header = |name: String, value| types::Header {
            name: name.to_ascii_lowercase(),
            value,
        };
        let mut headers: Vec<types::Header> = match self {
            HeadersJson::Map(map) => map.into_iter().map(|(n, v)| header(n, v)).collect(),
            HeadersJson::List(list) => list.into_iter().map(|h| header(h.name, h.value)).collect(),
        };
        // By lowercase name, whatever case the file used (stable: repeated names keep their order).
        headers.sort_by(|a, b| a.name.cmp(&b.name));
        headers
    }
}

impl AclJson {
    fn into_acl(self) -> types::Acl {
        types::Acl {
            owner: self.owner,
            grants: self
                .grants
                .into_iter()
                .map(|g| types::Grant {
                    grantee: match g.grantee {
                        GranteeJson::CanonicalUser(id) => types::Grantee::CanonicalUser(id),
                        GranteeJson::Email(e) => types::Grantee::Email(e),
                        GranteeJson::Group(GroupJson::AllUsers) => {
                            types::Grantee::Group(types::Group::AllUsers)
                        }
                        GranteeJson::Group(GroupJson::AuthenticatedUsers) => {
                            types::Grantee::Group(types::Group::AuthenticatedUsers)
                        }
                    },
                    permission: match g.permission {
                        PermissionJson::Read => types::Permission::Read,
                        PermissionJson::Write => types::Permission::Write,
                        PermissionJson::ReadAcp => types::Permission::ReadAcp,
                        PermissionJson::WriteAcp => types::Permission::WriteAcp,
                        PermissionJson::FullControl => types::Permission::FullControl,
                    },
                })
                .collect(),
        }
    }
}

/// The configuration text: a JSON string as is, anything else serialised.
pub fn config_text(value: Option<serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Tags given as `{"key": "value", ...}`, in key order.
fn tags(map: BTreeMap<String, String>) -> Vec<types::Tag> {
    map.into_iter()
        .map(|(key, value)| types::Tag { key, value })
        .collect()
}

/// Reads a request (one decision log line, or an eval request file); `config`, when
/// given, replaces the request's `config`.
pub fn parse(json: &str, config: Option<String>) -> Result<Captured, RequestJsonError> {
    let r: RequestJson = serde_json::from_str(json).map_err(RequestJsonError::Json)?;
    let headers = r.headers.into_headers();
    let metadata = match r.metadata {
        Some(m) => m.into_headers(),
        None => headers
            .iter()
            .filter(|h| h.name.starts_with("x-amz-meta-"))
            .cloned()
            .collect(),
    };
    let principal = match r.principal {
        PrincipalJson::Anonymous => types::Principal::Anonymous,
        PrincipalJson::Account(a) => types::Principal::Account(types::Account {
            display_name: a.display_name.unwrap_or_else(|| a.canonical_id.clone()),
            canonical_id: a.canonical_id,
        }),
    };
    let bucket_policy = match (r.bucket_policy, r.bucket_policy_compiled) {
        (Some(document), _) => Some(compile_bucket_policy(document, r.bucket.as_deref())?),
        (None, Some(compiled)) => Some(decode_compiled(&compiled)?),
        (None, None) => None,
    };
    let request_bucket_policy = match (r.request_bucket_policy, r.request_bucket_policy_compiled) {
        (Some(document), _) => Some(compile_bucket_policy(document, r.bucket.as_deref())?),
        (None, Some(compiled)) => Some(decode_compiled(&compiled)?),
        (None, None) => None,
    };
    let block = r.public_access_block;
    let request = types::Request {
        operation: r.operation,
        bucket: r.bucket,
        key: r.key,
        principal,
        source_ip: r.source_ip,
        headers,
        bucket_owner: r.bucket_owner,
        object_owner: r.object_owner,
        bucket_acl: r.bucket_acl.map(AclJson::into_acl),
        object_acl: r.object_acl.map(AclJson::into_acl),
        config: config.or_else(|| config_text(r.config)),
        version_id: r.version_id,
        object_tags: r.object_tags.map(tags),
        request_tags: tags(r.request_tags),
        bucket_policy,
        context: r.context.into_context(),
        public_access_block: types::PublicAccessBlock {
            block_public_acls: block.block_public_acls,
            ignore_public_acls: block.ignore_public_acls,
            block_public_policy: block.block_public_policy,
            restrict_public_buckets: block.restrict_public_buckets,
        },
        object_ownership: match r.object_ownership {
            OwnershipJson::ObjectWriter => types::ObjectOwnership::ObjectWriter,
            OwnershipJson::BucketOwnerPreferred => types::ObjectOwnership::BucketOwnerPreferred,
            OwnershipJson::BucketOwnerEnforced => types::ObjectOwnership::BucketOwnerEnforced,
        },
        request_acl: r.request_acl.map(AclJson::into_acl),
        request_bucket_policy,
    };
    Ok(Captured {
        request,
        metadata,
        recorded: r.recorded,
    })
}

/// `req` as one JSON line (no newline) in the format [`parse`] reads, with what the
/// server decided. Compiled bucket policies are written as base64 (the server does not
/// hold the documents in memory); the configuration as its text.
pub fn to_line(req: &types::Request, recorded: Recorded) -> String {
    let b64 = |bytes: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let json = RequestJson {
        operation: req.operation.clone(),
        bucket: req.bucket.clone(),
        key: req.key.clone(),
        principal: match &req.principal {
            types::Principal::Anonymous => PrincipalJson::Anonymous,
            types::Principal::Account(a) => PrincipalJson::Account(AccountJson {
                canonical_id: a.canonical_id.clone(),
                display_name: Some(a.display_name.clone()),
            }),
        },
        source_ip: req.source_ip.clone(),
        headers: HeadersJson::List(
            req.headers
                .iter()
                .map(|h| HeaderJson {
                    name: h.name.clone(),
                    value: h.value.clone(),
                })
                .collect(),
        ),
        bucket_owner: req.bucket_owner.clone(),
        object_owner: req.object_owner.clone(),
        bucket_acl: req.bucket_acl.as_ref().map(AclJson::from_acl),
        object_acl: req.object_acl.as_ref().map(AclJson::from_acl),
        config: req.config.clone().map(serde_json::Value::String),
        version_id: req.version_id.clone(),
        object_tags: req.object_tags.as_deref().map(tag_map),
        request_tags: tag_map(&req.request_tags),
        bucket_policy: None,
        bucket_policy_compiled: req.bucket_policy.as_ref().map(b64),
        context: ContextJson::from_context(&req.context),
        public_access_block: PublicAccessBlockJson {
            block_public_acls: req.public_access_block.block_public_acls,
            ignore_public_acls: req.public_access_block.ignore_public_acls,
            block_public_policy: req.public_access_block.block_public_policy,
            restrict_public_buckets: req.public_access_block.restrict_public_buckets,
        },
        object_ownership: match req.object_ownership {
            types::ObjectOwnership::ObjectWriter => OwnershipJson::ObjectWriter,
            types::ObjectOwnership::BucketOwnerPreferred => OwnershipJson::BucketOwnerPreferred,
            types::ObjectOwnership::BucketOwnerEnforced => OwnershipJson::BucketOwnerEnforced,
        },
        request_acl: req.request_acl.as_ref().map(AclJson::from_acl),
        request_bucket_policy: None,
        request_bucket_policy_compiled: req.request_bucket_policy.as_ref().map(b64),
        metadata: None,
        recorded: Some(recorded),
    };
    // Serialising plain strings, maps and numbers cannot fail.
    serde_json::to_string(&json).unwrap_or_default()
}

fn tag_map(tags: &[types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

impl ContextJson {
    fn from_context(c: &types::RequestContext) -> Self {
        ContextJson {
            current_time: Some(c.current_time),
            secure_transport: c.secure_transport,
            signature: c.signature.map(|s| SignatureJson {
                version: match s.version {
                    types::SignatureVersion::V2 => SignatureVersionJson::V2,
                    types::SignatureVersion::V4 => SignatureVersionJson::V4,
                },
                auth_type: match s.auth_type {
                    types::AuthType::Header => AuthTypeJson::Header,
                    types::AuthType::QueryString => AuthTypeJson::QueryString,
                    types::AuthType::Post => AuthTypeJson::Post,
                },
                signed_at: s.signed_at,
            }),
            query: c
                .query
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }
    }
}

impl AclJson {
    fn from_acl(acl: &types::Acl) -> Self {
        AclJson {
            owner: acl.owner.clone(),
            grants: acl
                .grants
                .iter()
                .map(|g| GrantJson {
                    grantee: match &g.grantee {
                        types::Grantee::CanonicalUser(id) => GranteeJson::CanonicalUser(id.clone()),
                        types::Grantee::Email(e) => GranteeJson::Email(e.clone()),
                        types::Grantee::Group(types::Group::AllUsers) => {
                            GranteeJson::Group(GroupJson::AllUsers)
                        }
                        types::Grantee::Group(types::Group::AuthenticatedUsers) => {
                            GranteeJson::Group(GroupJson::AuthenticatedUsers)
                        }
                    },
                    permission: match g.permission {
                        types::Permission::Read => PermissionJson::Read,
                        types::Permission::Write => PermissionJson::Write,
                        types::Permission::ReadAcp => PermissionJson::ReadAcp,
                        types::Permission::WriteAcp => PermissionJson::WriteAcp,
                        types::Permission::FullControl => PermissionJson::FullControl,
                    },
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_request_reads_back_as_it_was() {
        let mut req = crate::policy::sample::typical_get_request();
        req.config = Some(r#"{"b": 1, "a": [2]}"#.into());
        req.bucket_policy = Some(vec![1, 2, 3]);
        req.request_tags = vec![types::Tag {
            key: "team".into(),
            value: "docs".into(),
        }];
        req.object_tags = Some(Vec::new());
        req.public_access_block.ignore_public_acls = true;
        req.object_ownership = types::ObjectOwnership::BucketOwnerEnforced;
        req.context.signature = Some(types::Signature {
            version: types::SignatureVersion::V4,
            auth_type: types::AuthType::QueryString,
            signed_at: Some(1_699_999_990),
        });
        req.context.query = vec![types::Header {
            name: "prefix".into(),
            value: "a/".into(),
        }];
        let recorded = Recorded {
            request_id: "ABC".into(),
            module: "default".into(),
            decision: "allow".into(),
            error: None,
            reason: "the object owner".into(),
        };
        let line = to_line(&req, recorded.clone());
        assert!(!line.contains('\n'));
        let back = parse(&line, None).expect("reads back");
        assert_eq!(back.recorded, Some(recorded));
        let mut expected = req.clone();
        // Headers are read back sorted by name, as eval reads them.
        expected.headers.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(back.request, expected);
    }
}
