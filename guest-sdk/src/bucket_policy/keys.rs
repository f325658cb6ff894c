//! The condition keys a bucket policy may use, and how key names compare.
//!
//! Key names are case-insensitive, except the tag key after
//! `s3:ExistingObjectTag/` or `s3:RequestObjectTag/` (tag keys are
//! case-sensitive). [`parse`](fn@super::parse) rewrites every key to its
//! canonical spelling, so a [`ConditionContext`](super::ConditionContext) is
//! always asked with the spelling listed here.
//!
//! Keys are AWS's global keys
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>)
//! and S3's (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html#amazons3-policy-keys>).
//! A key not listed is refused, including unknown `aws:` keys, which AWS
//! accepts: a misspelt key would otherwise never be present, silently turning
//! a `Deny` off.

use alloc::borrow::Cow;
use alloc::string::String;

/// Every condition key a policy may use, in canonical spelling (tag keys are
/// [`TAG_KEY_PREFIXES`] plus the tag's key).
pub const KNOWN_KEYS: &[&str] = &[
    "aws:CalledVia",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName",
    "aws:PrincipalType",
    "aws:Referer",
    "aws:RequestedRegion",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIp",
    "aws:SourceOwner",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:TokenIssueTime",
    "aws:UserAgent",
    "aws:userid",
    "aws:username",
    "aws:ViaAWSService",
    "aws:VpcSourceIp",
    "s3:AccessPointNetworkOrigin",
    "s3:authType",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
    "s3:delimiter",
    "s3:LocationConstraint",
    "s3:max-keys",
    "s3:object-lock-legal-hold",
    "s3:object-lock-mode",
    "s3:object-lock-remaining-retention-days",
    "s3:object-lock-retain-until-date",
    "s3:prefix",
    "s3:RequestObjectTagKeys",
    "s3:ResourceAccount",
    "s3:signatureAge",
    "s3:signatureversion",
    "s3:TlsVersion",
    "s3:VersionId",
    "s3:x-amz-acl",
    "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-object-ownership",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm",
    "s3:x-amz-storage-class",
    "s3:x-amz-website-redirect-location",
];

/// Keys followed by a tag's key (`s3:ExistingObjectTag/team`), which keeps
/// its case.
pub const TAG_KEY_PREFIXES: &[&str] = &["s3:ExistingObjectTag/", "s3:RequestObjectTag/"];

/// A key's canonical spelling, or `None` if S3 has no such key. A tag key
/// with an empty tag key is not one.
pub fn canonical_key(key: &str) -> Option<Cow<'static, str>> {
    if let Some(known) = KNOWN_KEYS.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Some(Cow::Borrowed(known));
    }
    TAG_KEY_PREFIXES.iter().find_map(|prefix| {
        let head = key.get(..prefix.len())?;
        let tag = key.get(prefix.len()..)?;
        if !head.eq_ignore_ascii_case(prefix) || tag.is_empty() {
            return None;
        }
        let mut canonical = String::with_capacity(key.len());
        canonical.push_str(prefix);
        canonical.push_str(tag);
        Some(Cow::Owned(canonical))
    })
}

/// Whether two key names name the same key: without regard to case, except
/// for what follows the first `/` (a tag's key).
pub fn same_key(a: &str, b: &str) -> bool {
    match (a.split_once('/'), b.split_once('/')) {
        (Some((a_name, a_tag)), Some((b_name, b_tag))) => {
            a_name.eq_ignore_ascii_case(b_name) && a_tag == b_tag
        }
        (None, None) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}
