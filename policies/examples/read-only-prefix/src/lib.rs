//! Example policy module: S3's standard ACL decision, except that objects
//! under configured key prefixes are read-only for everyone, the bucket
//! owner included.
//!
//! Configuration (attached per bucket):
//!
//! ```json
//! {"prefixes": ["archive/", "legal/"]}
//! ```
//!
//! - A key is protected when it starts with one of the prefixes, compared
//!   byte for byte (case-sensitive, no normalisation): `archive/` protects
//!   `archive/2024/report.pdf` and the folder marker `archive/`, but not
//!   `archive` or `Archive/x`. A prefix without a trailing slash (`archive`)
//!   also protects `archive-old/...`; `""` protects every key.
//! - Every operation that would create, overwrite or delete a protected
//!   object, or change its ACL, is denied (see [`modifies_key`]): writes,
//!   deletes (including each key of a `DeleteObjects`), `PutObjectAcl`, the
//!   target of copies and every step of a multipart upload except aborting
//!   it. Everything else gets [`standard_decision`].
//! - A missing or invalid configuration fails closed for writes: every key
//!   is treated as protected and the error is logged (at `error`) with each
//!   decision. Reads still get the standard decision, so a broken
//!   configuration never opens anything up and never locks readers out.
//!
//! Build the component with `policies/examples/build.sh`; it lands in
//! `target/wasm/wasm32-wasip2/release/coffer_policy_read_only_prefix.wasm`.

use std::fmt;

use coffer_guest_sdk::{
    Authorizer, Decision, Level, Permission, Request, Required, log, required_permission,
    standard_decision,
};
use serde::Deserialize;

/// The module's configuration, as attached to a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Key prefixes under which objects are read-only.
    pub prefixes: Vec<String>,
}

/// Why a bucket's configuration could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The module is attached without a configuration.
    Missing,
    /// The configuration is not `{"prefixes": [string, ...]}` (bad JSON, a
    /// missing or misspelled field, a wrong type).
    Malformed(serde_json::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no configuration attached"),
            Self::Malformed(e) => write!(f, "invalid configuration: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Missing => None,
            Self::Malformed(e) => Some(e),
        }
    }
}

impl Config {
    /// Parse the JSON configuration attached to the bucket (`None` when the
    /// operator attached none).
    pub fn parse(config: Option<&str>) -> Result<Self, ConfigError> {
        let json = config.ok_or(ConfigError::Missing)?;
        serde_json::from_str(json).map_err(ConfigError::Malformed)
    }

    /// The first configured prefix `key` falls under, if any.
    pub fn protecting(&self, key: &str) -> Option<&str> {
        self.prefixes
            .iter()
            .map(String::as_str)
            .find(|prefix| key.starts_with(prefix))
    }
}

/// Whether `operation` (AWS's name) creates, overwrites or deletes the object
/// it addresses, or changes its ACL. Classified with [`required_permission`]
/// so it follows the SDK's table:
///
/// - bucket `WRITE` operations modify the addressed key (`PutObject`,
///   `PostObject`, `CopyObject` and `UploadPartCopy` for their target,
///   `DeleteObject`, `DeleteObjects`, `CreateMultipartUpload`, `UploadPart`,
///   `CompleteMultipartUpload`), except `ListParts`, which only reads, and
///   `AbortMultipartUpload`, which discards an unfinished upload and cannot
///   change a stored object (denying it would only strand uploads started
///   before the module was attached);
/// - object operations other than `READ` / `READ_ACP` (`PutObjectAcl`);
/// - unknown operations count as modifying (fail closed; the standard
///   decision denies them anyway).
///
/// Bucket-level operations (`PutBucketAcl`, `DeleteBucket`, ...) do not
/// address a key and are left to the standard decision.
pub fn modifies_key(operation: &str) -> bool {
    match required_permission(operation) {
        None => true,
        Some(Required::Bucket(Permission::Write)) => {
            !matches!(operation, "ListParts" | "AbortMultipartUpload")
        }
        Some(Required::Object(p)) => !matches!(p, Permission::Read | Permission::ReadAcp),
        Some(Required::Authenticated | Required::BucketOwner | Required::Bucket(_)) => false,
    }
}

/// The decision for `req` given its parsed configuration: the read-only
/// rule first, then the standard ACL decision. A configuration error treats
/// every key as protected (the caller logs the error).
pub fn decide(req: &Request, config: &Result<Config, ConfigError>) -> Decision {
    let op = req.operation.as_str();
    if !modifies_key(op) {
        return standard_decision(req);
    }
    match (&req.key, config) {
        (Some(key), Ok(config)) => {
            if let Some(prefix) = config.protecting(key) {
                return Decision::deny(format!(
                    "{op} denied: {key:?} is under read-only prefix {prefix:?}"
                ));
            }
        }
        (Some(_), Err(e)) => {
            return Decision::deny(format!("{op} denied: read-only-prefix module {e}"));
        }
        // DeleteObjects is decided twice: once for the whole request, without
        // a key, then once per key as `DeleteObject`. The per-key decisions
        // enforce the prefixes, so the envelope gets the standard decision.
        (None, _) if op == "DeleteObjects" => {}
        // A write whose key the host did not pass (say a browser-form
        // `PostObject`) cannot be checked: deny unless nothing is protected.
        (None, Ok(config)) if config.prefixes.is_empty() => {}
        (None, _) => {
            return Decision::deny(format!(
                "{op} denied: no key to check against the read-only prefixes"
            ));
        }
    }
    standard_decision(req)
}

/// The module's authorizer.
pub struct ReadOnlyPrefix;

impl Authorizer for ReadOnlyPrefix {
    fn authorize(req: &Request) -> Decision {
        let config = Config::parse(req.config.as_deref());
        if let Err(e) = &config {
            log(
                Level::Error,
                &format!("{e}; writes are denied on every key until it is fixed"),
            );
        }
        decide(req, &config)
    }
}

coffer_guest_sdk::export_authorizer!(ReadOnlyPrefix);

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_guest_sdk::{Acl, Grantee, Group, Principal, canned_acl};

    const OWNER: &str = "owner-id";
    const CONFIG: &str = r#"{"prefixes": ["archive/", "legal/"]}"#;

    /// A request on bucket `b` (owned by OWNER, `public-read-write`), on an
    /// object `key` owned by OWNER (`public-read`), with `config`.
    fn req(op: &str, principal: Principal, key: Option<&str>, config: Option<&str>) -> Request {
        let mut req = Request::new(op, principal);
        req.bucket = Some("b".into());
        req.bucket_owner = Some(OWNER.into());
        req.bucket_acl = Some(canned_acl("public-read-write", OWNER, None).unwrap());
        if let Some(key) = key {
            req.key = Some(key.into());
            req.object_owner = Some(OWNER.into());
            req.object_acl = Some(canned_acl("public-read", OWNER, Some(OWNER)).unwrap());
        }
        req.config = config.map(Into::into);
        req
    }

    fn owner() -> Principal {
        Principal::account(OWNER)
    }

    fn authorize(r: &Request) -> Decision {
        ReadOnlyPrefix::authorize(r)
    }

    const WRITES: &[&str] = &[
        "PutObject",
        "PostObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "PutObjectAcl",
    ];

    const READS: &[&str] = &[
        "GetObject",
        "HeadObject",
        "GetObjectAttributes",
        "GetObjectAcl",
        "ListParts",
    ];

    #[test]
    fn classification() {
        for op in WRITES {
            assert!(modifies_key(op), "{op}");
        }
        for op in READS {
            assert!(!modifies_key(op), "{op}");
        }
        for op in [
            "AbortMultipartUpload",
            "ListObjectsV2",
            "ListObjects",
            "HeadBucket",
            "PutBucketAcl",
            "GetBucketAcl",
            "DeleteBucket",
            "CreateBucket",
            "ListBuckets",
        ] {
            assert!(!modifies_key(op), "{op}");
        }
        assert!(modifies_key("SelectObjectContent"), "unknown fails closed");
        assert!(modifies_key("putobject"), "names are case-sensitive");
    }

    #[test]
    fn writes_under_prefixes_are_denied_even_for_the_owner() {
        for op in WRITES {
            for key in ["archive/2024/report.pdf", "legal/contract.pdf", "archive/"] {
                let d = authorize(&req(op, owner(), Some(key), Some(CONFIG)));
                assert!(!d.is_allowed(), "{op} {key}: {d:?}");
                let Decision::Deny(reason) = d else {
                    unreachable!()
                };
                assert!(reason.contains("read-only prefix"), "{reason}");
            }
        }
    }

    #[test]
    fn writes_elsewhere_get_the_standard_decision() {
        for op in WRITES {
            for key in [
                "photos/cat.jpg",
                "archive",
                "Archive/x",
                "legal",
                "x/archive/y",
            ] {
                let r = req(op, owner(), Some(key), Some(CONFIG));
                assert!(authorize(&r).is_allowed(), "{op} {key}");
                assert_eq!(authorize(&r), standard_decision(&r), "{op} {key}");
            }
        }
    }

    #[test]
    fn reads_under_prefixes_get_the_standard_decision() {
        for op in READS {
            let r = req(op, owner(), Some("archive/a"), Some(CONFIG));
            assert!(authorize(&r).is_allowed(), "{op}");
        }
        // GetObject of a public-read object: anonymous may read.
        let r = req(
            "GetObject",
            Principal::Anonymous,
            Some("archive/a"),
            Some(CONFIG),
        );
        assert!(authorize(&r).is_allowed());
    }

    #[test]
    fn standard_denials_still_apply() {
        // A private bucket: a stranger may not write outside the prefixes.
        let mut r = req(
            "PutObject",
            Principal::account("stranger"),
            Some("a"),
            Some(CONFIG),
        );
        r.bucket_acl = Some(Acl::owned_by(OWNER));
        assert!(!authorize(&r).is_allowed());
        // ...nor read a private object under them.
        let mut r = req(
            "GetObject",
            Principal::Anonymous,
            Some("archive/a"),
            Some(CONFIG),
        );
        r.object_acl = Some(Acl::owned_by(OWNER));
        assert!(!authorize(&r).is_allowed());
        // Owner-only bucket configuration stays owner-only.
        let r = req(
            "PutBucketCors",
            Principal::account("stranger"),
            None,
            Some(CONFIG),
        );
        assert!(!authorize(&r).is_allowed());
        // Unknown operations stay denied, protected key or not.
        for key in ["a", "archive/a"] {
            let r = req("RestoreObject", owner(), Some(key), Some(CONFIG));
            assert!(!authorize(&r).is_allowed(), "{key}");
        }
        // No bucket ACL at all: fail closed.
        let mut r = req("PutObject", owner(), Some("a"), Some(CONFIG));
        r.bucket_acl = None;
        r.bucket_owner = None;
        assert!(!authorize(&r).is_allowed());
    }

    #[test]
    fn abort_is_allowed_under_prefixes() {
        let r = req(
            "AbortMultipartUpload",
            owner(),
            Some("archive/a"),
            Some(CONFIG),
        );
        assert!(authorize(&r).is_allowed());
    }

    #[test]
    fn bucket_level_writes_are_not_affected() {
        let r = req("PutBucketAcl", owner(), None, Some(CONFIG));
        assert!(authorize(&r).is_allowed());
        // Even with a broken configuration: only key writes fail closed.
        let r = req("PutBucketAcl", owner(), None, Some("{"));
        assert!(authorize(&r).is_allowed());
    }

    #[test]
    fn delete_objects_envelope_then_per_key() {
        // The host decides the whole request without a key...
        let r = req("DeleteObjects", owner(), None, Some(CONFIG));
        assert!(authorize(&r).is_allowed());
        // ...then each key as DeleteObject.
        let r = req("DeleteObject", owner(), Some("legal/x"), Some(CONFIG));
        assert!(!authorize(&r).is_allowed());
        let r = req("DeleteObject", owner(), Some("tmp/x"), Some(CONFIG));
        assert!(authorize(&r).is_allowed());
        // The envelope still needs bucket WRITE.
        let mut r = req("DeleteObjects", Principal::Anonymous, None, Some(CONFIG));
        r.bucket_acl = Some(Acl::owned_by(OWNER).with_grant(
            Grantee::Group(Group::AllUsers),
            coffer_guest_sdk::Permission::Read,
        ));
        assert!(!authorize(&r).is_allowed());
    }

    #[test]
    fn keyless_write_fails_closed_unless_nothing_is_protected() {
        let r = req("PostObject", owner(), None, Some(CONFIG));
        assert!(!authorize(&r).is_allowed());
        let r = req("PostObject", owner(), None, Some(r#"{"prefixes": []}"#));
        assert!(authorize(&r).is_allowed());
        let r = req("PostObject", owner(), None, None);
        assert!(!authorize(&r).is_allowed());
    }

    #[test]
    fn empty_prefix_list_is_the_standard_decision() {
        let r = req(
            "DeleteObject",
            owner(),
            Some("archive/a"),
            Some(r#"{"prefixes": []}"#),
        );
        assert!(authorize(&r).is_allowed());
    }

    #[test]
    fn empty_prefix_protects_everything() {
        let r = req(
            "PutObject",
            owner(),
            Some("anything"),
            Some(r#"{"prefixes": [""]}"#),
        );
        assert!(!authorize(&r).is_allowed());
        let r = req(
            "GetObject",
            owner(),
            Some("anything"),
            Some(r#"{"prefixes": [""]}"#),
        );
        assert!(authorize(&r).is_allowed());
    }

    #[test]
    fn prefix_matching_is_exact() {
        let c = Config::parse(Some(r#"{"prefixes": ["archive/", "logs"]}"#)).unwrap();
        assert_eq!(c.protecting("archive/"), Some("archive/"));
        assert_eq!(c.protecting("archive/a/b"), Some("archive/"));
        assert_eq!(c.protecting("archive"), None);
        assert_eq!(c.protecting("archive%2F"), None);
        assert_eq!(c.protecting("ARCHIVE/a"), None);
        assert_eq!(c.protecting("/archive/a"), None);
        assert_eq!(c.protecting(" archive/a"), None);
        // No trailing slash: a plain string prefix.
        assert_eq!(c.protecting("logs"), Some("logs"));
        assert_eq!(c.protecting("logs-2024/x"), Some("logs"));
        assert_eq!(c.protecting("log"), None);
        // Unicode is compared byte for byte, without normalisation.
        let c = Config::parse(Some(r#"{"prefixes": ["café/"]}"#)).unwrap();
        assert_eq!(c.protecting("café/menu"), Some("café/"));
        assert_eq!(c.protecting("cafe\u{301}/menu"), None);
    }

    #[test]
    fn config_parsing() {
        assert_eq!(
            Config::parse(Some(CONFIG)).unwrap(),
            Config {
                prefixes: vec!["archive/".into(), "legal/".into()]
            }
        );
        assert!(matches!(Config::parse(None), Err(ConfigError::Missing)));
        for bad in [
            "",
            "{",
            "null",
            "[]",
            "{}",
            r#"{"prefixes": "archive/"}"#,
            r#"{"prefixes": [1]}"#,
            r#"{"prefixes": [null]}"#,
            r#"{"prefix": ["archive/"]}"#,
            r#"{"prefixes": ["archive/"], "extra": true}"#,
            r#"{"prefixes": ["archive/"]} trailing"#,
        ] {
            assert!(
                matches!(Config::parse(Some(bad)), Err(ConfigError::Malformed(_))),
                "{bad:?}"
            );
        }
        // Messages name the problem (they go to the operator's log).
        let e = Config::parse(Some(r#"{"prefix": []}"#)).unwrap_err();
        assert!(e.to_string().contains("prefix"), "{e}");
    }

    #[test]
    fn invalid_or_missing_config_fails_closed_for_writes_only() {
        for config in [None, Some("{"), Some(r#"{"prefixes": "archive/"}"#)] {
            for op in WRITES {
                let r = req(op, owner(), Some("photos/cat.jpg"), config);
                assert!(!authorize(&r).is_allowed(), "{op} with {config:?}");
            }
            for op in READS {
                let r = req(op, owner(), Some("photos/cat.jpg"), config);
                assert!(authorize(&r).is_allowed(), "{op} with {config:?}");
            }
            // Listing is a read.
            let r = req("ListObjectsV2", Principal::Anonymous, None, config);
            assert!(authorize(&r).is_allowed());
        }
    }
}
