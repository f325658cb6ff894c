//! Plain Rust mirrors of the records in `wit/policy.wit` (`interface types`).
//!
//! They carry the same data as the generated bindings, so policy logic can be
//! written and unit-tested natively; the bindings glue converts between the
//! two.

#[allow(unused_imports)]
use crate::prelude::*;

/// An account, identified as in S3 ACLs (WIT `account`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account {
    /// The account's canonical user id (the id used in ACL grants).
    pub canonical_id: String,
    /// A human-readable name; informational only, never use it for decisions.
    pub display_name: String,
}

impl Account {
    /// An account with the given canonical id and display name.
    pub fn new(canonical_id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            canonical_id: canonical_id.into(),
            display_name: display_name.into(),
        }
    }
}

/// Who is making a request (WIT `principal`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An unsigned request.
    Anonymous,
    /// A request whose signature the host verified for this account.
    Account(Account),
}

impl Principal {
    /// An authenticated principal with the given canonical id (and the id as
    /// display name).
    pub fn account(canonical_id: impl Into<String>) -> Self {
        let id = canonical_id.into();
        Self::Account(Account::new(id.clone(), id))
    }

    /// The canonical id, or `None` for anonymous requests.
    pub fn canonical_id(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Account(a) => Some(&a.canonical_id),
        }
    }

    /// Whether the request was signed by some account.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Self::Account(_))
    }

    /// Whether this is the account with canonical id `id`.
    pub fn is(&self, id: &str) -> bool {
        self.canonical_id() == Some(id)
    }
}

/// An S3 ACL permission (WIT `permission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Buckets: list objects. Objects: read data and metadata.
    Read,
    /// Buckets: create, overwrite and delete objects. Not meaningful on objects.
    Write,
    /// Read the resource's ACL.
    ReadAcp,
    /// Write the resource's ACL.
    WriteAcp,
    /// All of the above.
    FullControl,
}

impl Permission {
    /// Every permission, in WIT order.
    pub const ALL: [Permission; 5] = [
        Self::Read,
        Self::Write,
        Self::ReadAcp,
        Self::WriteAcp,
        Self::FullControl,
    ];

    /// Whether holding `self` gives `wanted`: equal permissions, or `self` is
    /// [`Permission::FullControl`].
    pub fn implies(self, wanted: Permission) -> bool {
        self == Self::FullControl || self == wanted
    }

    /// S3's name for the permission, e.g. `"READ_ACP"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::ReadAcp => "READ_ACP",
            Self::WriteAcp => "WRITE_ACP",
            Self::FullControl => "FULL_CONTROL",
        }
    }
}

/// A predefined S3 group of grantees (WIT `group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Everyone, including anonymous requests.
    AllUsers,
    /// Every signed request from any account.
    AuthenticatedUsers,
}

impl Group {
    /// The group's URI as used in S3 ACL XML.
    pub fn uri(self) -> &'static str {
        match self {
            Self::AllUsers => "http://acs.amazonaws.com/groups/global/AllUsers",
            Self::AuthenticatedUsers => "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
        }
    }
}

/// Who a grant applies to (WIT `grantee`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grantee {
    /// One account, by canonical user id.
    CanonicalUser(String),
    /// A predefined group.
    Group(Group),
    /// An account by e-mail address. The host resolves these to canonical ids
    /// before evaluation, so guests should never see one; the standard logic
    /// treats it as matching nobody (fail closed).
    Email(String),
}

/// One ACL entry (WIT `grant`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    /// Who is granted.
    pub grantee: Grantee,
    /// What is granted.
    pub permission: Permission,
}

impl Grant {
    /// A grant of `permission` to `grantee`.
    pub fn new(grantee: Grantee, permission: Permission) -> Self {
        Self {
            grantee,
            permission,
        }
    }
}

/// The access control list of a bucket or an object (WIT `acl`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// Canonical id of the resource owner (implicitly has full control).
    pub owner: String,
    /// Explicit grants, in stored order.
    pub grants: Vec<Grant>,
}

impl Acl {
    /// An ACL owned by `owner` with no explicit grants (equivalent to the
    /// `private` canned ACL, since the owner's control is implicit).
    pub fn owned_by(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            grants: Vec::new(),
        }
    }

    /// This ACL with one more grant appended.
    pub fn with_grant(mut self, grantee: Grantee, permission: Permission) -> Self {
        self.grants.push(Grant::new(grantee, permission));
        self
    }
}

/// An HTTP header (WIT `header`); names are lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Header name, lower-case.
    pub name: String,
    /// Header value.
    pub value: String,
}

impl Header {
    /// A header; the name is lower-cased.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into().to_ascii_lowercase(),
            value: value.into(),
        }
    }
}

/// An object tag (WIT `tag`); key and value are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The tag's key.
    pub key: String,
    /// The tag's value (possibly empty).
    pub value: String,
}

impl Tag {
    /// A tag from its key and value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The value of the tag keyed `key` in `tags`, if there is one.
fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// Which signature scheme authenticated a request (WIT `signature-version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureVersion {
    /// AWS Signature Version 2.
    V2,
    /// AWS Signature Version 4.
    V4,
}

impl SignatureVersion {
    /// The value of `s3:signatureversion`: `"AWS"` or `"AWS4-HMAC-SHA256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "AWS",
            Self::V4 => "AWS4-HMAC-SHA256",
        }
    }
}

/// Where a request carried its signature (WIT `auth-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// The `Authorization` header.
    Header,
    /// The query string (a presigned URL).
    QueryString,
    /// The form fields of a browser POST upload.
    Post,
}

impl AuthType {
    /// The value of `s3:authType`: `"REST-HEADER"`, `"REST-QUERY-STRING"` or
    /// `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Header => "REST-HEADER",
            Self::QueryString => "REST-QUERY-STRING",
            Self::Post => "POST",
        }
    }
}

/// How a signed request was authenticated (WIT `signature`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The scheme.
    pub version: SignatureVersion,
    /// Where the signature was.
    pub auth_type: AuthType,
    /// When the client signed, in seconds since the Unix epoch; `None` when
    /// the scheme carries no signing time (SigV2 presigned URLs).
    pub signed_at: Option<u64>,
}

/// How a request arrived (WIT `request-context`): what bucket-policy
/// conditions ask about that is not a header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequestContext {
    /// When the host received the request, in whole seconds since the Unix
    /// epoch.
    pub current_time: u64,
    /// Whether the request arrived over TLS.
    pub secure_transport: bool,
    /// How the request was signed; `None` for anonymous requests.
    pub signature: Option<Signature>,
    /// The query string's `prefix`, `delimiter` and `max-keys`, decoded, as
    /// sent (lower-case names).
    pub query: Vec<Header>,
}

impl RequestContext {
    /// The value of the query parameter `name` (`prefix`, `delimiter` or
    /// `max-keys`), if the request has it.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }
}

/// Everything a module may use to authorize one S3 request (WIT `request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// AWS's operation name, e.g. `"GetObject"`.
    pub operation: String,
    /// The addressed bucket; `None` only for account-level operations.
    pub bucket: Option<String>,
    /// The addressed object key, for object-level operations.
    pub key: Option<String>,
    /// Who is asking (already authenticated by the host).
    pub principal: Principal,
    /// The client's IP address, textual.
    pub source_ip: String,
    /// Selected request headers, lower-case names, never `authorization`.
    pub headers: Vec<Header>,
    /// Canonical id of the bucket owner, if the bucket exists.
    pub bucket_owner: Option<String>,
    /// Canonical id of the object owner, if the object exists.
    pub object_owner: Option<String>,
    /// The bucket's ACL, if the bucket exists.
    pub bucket_acl: Option<Acl>,
    /// The object's ACL, if the operation addresses an existing object.
    pub object_acl: Option<Acl>,
    /// The per-bucket JSON configuration attached to the module, if any.
    pub config: Option<String>,
    /// The `versionId` the request addresses (`"null"` for the null version;
    /// a copy's source's when the host decides reading the source); `None`
    /// when it names no version.
    pub version_id: Option<String>,
    /// The tags of the existing object version the decision is about;
    /// `None` when it is about no existing object (bucket operations, and
    /// object writes and deletes, which S3 decides on the bucket).
    pub object_tags: Option<Vec<Tag>>,
    /// The tags the request asks to set (`x-amz-tagging` of PutObject,
    /// CreateMultipartUpload and CopyObject with `REPLACE`, POST Object's
    /// `tagging` field, the PutObjectTagging body); empty otherwise.
    pub request_tags: Vec<Tag>,
    /// The bucket's policy in its compact form (read it with
    /// `bucket_policy::decode`, feature `bucket-policy`); `None` when the
    /// bucket has none.
    pub bucket_policy: Option<Vec<u8>>,
    /// How the request arrived: time, TLS, signature, listing parameters.
    pub context: RequestContext,
    /// The bucket's Block Public Access settings (for `CreateBucket`: those
    /// the new bucket will get).
    pub public_access_block: PublicAccessBlock,
    /// The bucket's Object Ownership (`ObjectWriter` when it has none; for
    /// `CreateBucket` see the `x-amz-object-ownership` header).
    pub object_ownership: ObjectOwnership,
    /// The ACL a `PutBucketAcl` or `PutObjectAcl` asks to set (body or
    /// headers, canned ACLs expanded); `None` for other operations, whose ACL
    /// headers are in `headers`, and in the first of the two decisions the
    /// host asks for these operations (before it has read the body).
    pub request_acl: Option<Acl>,
    /// The policy a `PutBucketPolicy` asks to set, compiled like
    /// `bucket_policy`, in its second decision; `None` otherwise.
    pub request_bucket_policy: Option<Vec<u8>>,
}

impl Request {
    /// A request for `operation` by `principal` with every other field empty;
    /// fill the rest with struct update syntax or field assignment.
    pub fn new(operation: impl Into<String>, principal: Principal) -> Self {
        Self {
            operation: operation.into(),
            bucket: None,
            key: None,
            principal,
            source_ip: String::new(),
            headers: Vec::new(),
            bucket_owner: None,
            object_owner: None,
            bucket_acl: None,
            object_acl: None,
            config: None,
            version_id: None,
            object_tags: None,
            request_tags: Vec::new(),
            bucket_policy: None,
            context: RequestContext::default(),
            public_access_block: PublicAccessBlock::default(),
            object_ownership: ObjectOwnership::default(),
            request_acl: None,
            request_bucket_policy: None,
        }
    }

    /// The value of the existing object's tag `key` (case-sensitive); `None`
    /// when the object has no such tag or the decision is about no object.
    pub fn object_tag(&self, key: &str) -> Option<&str> {
        tag_value(self.object_tags.as_deref()?, key)
    }

    /// The value of the requested tag `key` (case-sensitive), if the request
    /// asks to set it.
    pub fn request_tag(&self, key: &str) -> Option<&str> {
        tag_value(&self.request_tags, key)
    }

    /// The value of the first header named `name` (compared
    /// ASCII-case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// The outcome of an authorization (WIT `decision`). Every outcome carries a
/// reason for operators: the host logs it and shows it when asked why a
/// request was decided so (`coffer policy eval`, the admin API's explain);
/// clients never see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Let the request proceed, saying why (may be empty).
    Allow(String),
    /// Refuse with `AccessDenied`, saying why.
    Deny(String),
    /// Refuse with another S3 error, saying why.
    Refuse(ErrorCode, String),
}

impl Decision {
    /// An allow without a reason.
    pub const ALLOW: Decision = Decision::Allow(String::new());

    /// An allow with the given reason.
    pub fn allow(reason: impl Into<String>) -> Self {
        Self::Allow(reason.into())
    }

    /// A denial with the given reason.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::Deny(reason.into())
    }

    /// A refusal with S3 error `code` and the given reason.
    pub fn refuse(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self::Refuse(code, reason.into())
    }

    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// Why it was decided so.
    pub fn reason(&self) -> &str {
        match self {
            Self::Allow(r) | Self::Deny(r) | Self::Refuse(_, r) => r,
        }
    }
}

/// The S3 errors other than `AccessDenied` a [`Decision`] may refuse with
/// (WIT `error-code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `400 AccessControlListNotSupported`: the bucket's ACLs are disabled
    /// and the request sets one.
    AccessControlListNotSupported,
    /// `400 InvalidBucketAclWithObjectOwnership`: a `CreateBucket` asking for
    /// `BucketOwnerEnforced` with an ACL granting to others.
    InvalidBucketAclWithObjectOwnership,
}

/// A bucket's S3 Block Public Access settings (WIT `public-access-block`);
/// all `false` when the bucket has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Ignore the public grants of the bucket's and its objects' ACLs.
    pub ignore_public_acls: bool,
    /// Refuse a `PutBucketPolicy` whose policy is public.
    pub block_public_policy: bool,
    /// While the bucket's policy is public, let it grant nothing to anyone
    /// but the bucket owner.
    pub restrict_public_buckets: bool,
}

/// A bucket's S3 Object Ownership (WIT `object-ownership`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ObjectOwnership {
    /// The writer owns an object; ACLs are in effect.
    #[default]
    ObjectWriter,
    /// Objects written with `bucket-owner-full-control` belong to the bucket
    /// owner; ACLs are in effect.
    BucketOwnerPreferred,
    /// ACLs are disabled; the bucket owner owns every object.
    BucketOwnerEnforced,
}

impl ObjectOwnership {
    /// S3's name (`ObjectWriter`, `BucketOwnerPreferred`,
    /// `BucketOwnerEnforced`), as in `x-amz-object-ownership`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ObjectWriter => "ObjectWriter",
            Self::BucketOwnerPreferred => "BucketOwnerPreferred",
            Self::BucketOwnerEnforced => "BucketOwnerEnforced",
        }
    }

    /// The setting named `name` (S3's spelling, case-sensitive).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::ObjectWriter,
            Self::BucketOwnerPreferred,
            Self::BucketOwnerEnforced,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
    }
}

/// One rule of a bucket's CORS configuration as stored by `PutBucketCors`
/// (WIT `cors-rule`). Values are as the bucket owner wrote them; matching
/// (wildcards, case) is up to the module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRule {
    /// The rule's `ID`, if it has one.
    pub id: Option<String>,
    /// `AllowedOrigin` entries; each may contain one `*` wildcard.
    pub allowed_origins: Vec<String>,
    /// `AllowedMethod` entries.
    pub allowed_methods: Vec<String>,
    /// `AllowedHeader` entries; each may contain one `*` wildcard.
    pub allowed_headers: Vec<String>,
    /// `ExposeHeader` entries.
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`, if set.
    pub max_age_seconds: Option<u32>,
}

/// Which kind of CORS request is evaluated (WIT `cors-kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CorsKind {
    /// A preflight (`OPTIONS`); no match is `403 AccessForbidden`.
    #[default]
    Preflight,
    /// An actual request carrying `Origin`; no match means no CORS headers.
    Actual,
}

/// A CORS request (WIT `cors-request`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRequest {
    /// Preflight or actual request.
    pub kind: CorsKind,
    /// The `Origin` header value.
    pub origin: String,
    /// `Access-Control-Request-Method` if the request has one (either
    /// kind), otherwise the request's own method.
    pub method: String,
    /// The `Access-Control-Request-Headers` entries, trimmed and lower-case,
    /// whenever the request has that header (either kind).
    pub request_headers: Vec<String>,
    /// The addressed bucket.
    pub bucket: String,
    /// The addressed object key; `None` for a bucket URL.
    pub key: Option<String>,
    /// The bucket's CORS rules in stored order; empty when it has none.
    pub rules: Vec<CorsRule>,
    /// The per-bucket JSON configuration attached to the module, if any.
    pub config: Option<String>,
}

/// The CORS rule that matched (WIT `cors-rule-match`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRuleMatch {
    /// Index of the matching rule in [`CorsRequest::rules`]; `None` when the
    /// match comes from elsewhere (the module's configuration).
    pub rule_index: Option<u32>,
    /// The value for `Access-Control-Allow-Origin` (the origin or `*`).
    pub allowed_origin: String,
    /// Whether to send `Access-Control-Allow-Credentials: true` (never sent
    /// with a `*` origin).
    pub allow_credentials: bool,
    /// Methods for `Access-Control-Allow-Methods`.
    pub allowed_methods: Vec<String>,
    /// Headers for `Access-Control-Allow-Headers` (preflights).
    pub allowed_headers: Vec<String>,
    /// Headers for `Access-Control-Expose-Headers`.
    pub expose_headers: Vec<String>,
    /// Value for `Access-Control-Max-Age`, if any.
    pub max_age_seconds: Option<u32>,
}
