//! S3's actions: the names a policy's `Action` may use, whether each applies
//! to a bucket or to objects, and which one each S3 operation needs.
//!
//! The list is AWS's (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>)
//! for everything a bucket policy can name, including actions Coffer does not
//! implement yet: a policy written for AWS must not be refused for naming
//! them.

/// What an action's resource is, which decides the resources a statement
/// naming it must have ("Action does not apply to any resource(s) in
/// statement").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionLevel {
    /// The bucket (`arn:aws:s3:::bucket`). Account-level actions
    /// (`s3:ListAllMyBuckets`, `s3:CreateBucket`) count as bucket actions
    /// here: in a bucket policy only the bucket's ARN can name them.
    Bucket,
    /// Objects (`arn:aws:s3:::bucket/key`).
    Object,
}

use ActionLevel::{Bucket, Object};

/// Every S3 action a bucket policy may name, in AWS's spelling, with its
/// level.
pub const KNOWN_ACTIONS: &[(&str, ActionLevel)] = &[
    ("s3:AbortMultipartUpload", Object),
    ("s3:BypassGovernanceRetention", Object),
    ("s3:CreateBucket", Bucket),
    ("s3:DeleteBucket", Bucket),
    ("s3:DeleteBucketPolicy", Bucket),
    ("s3:DeleteBucketWebsite", Bucket),
    ("s3:DeleteObject", Object),
    ("s3:DeleteObjectTagging", Object),
    ("s3:DeleteObjectVersion", Object),
    ("s3:DeleteObjectVersionTagging", Object),
    ("s3:GetAccelerateConfiguration", Bucket),
    ("s3:GetAnalyticsConfiguration", Bucket),
    ("s3:GetBucketAcl", Bucket),
    ("s3:GetBucketCORS", Bucket),
    ("s3:GetBucketLocation", Bucket),
    ("s3:GetBucketLogging", Bucket),
    ("s3:GetBucketNotification", Bucket),
    ("s3:GetBucketObjectLockConfiguration", Bucket),
    ("s3:GetBucketOwnershipControls", Bucket),
    ("s3:GetBucketPolicy", Bucket),
    ("s3:GetBucketPolicyStatus", Bucket),
    ("s3:GetBucketPublicAccessBlock", Bucket),
    ("s3:GetBucketRequestPayment", Bucket),
    ("s3:GetBucketTagging", Bucket),
    ("s3:GetBucketVersioning", Bucket),
    ("s3:GetBucketWebsite", Bucket),
    ("s3:GetEncryptionConfiguration", Bucket),
    ("s3:GetIntelligentTieringConfiguration", Bucket),
    ("s3:GetInventoryConfiguration", Bucket),
    ("s3:GetLifecycleConfiguration", Bucket),
    ("s3:GetMetricsConfiguration", Bucket),
    ("s3:GetObject", Object),
    ("s3:GetObjectAcl", Object),
    ("s3:GetObjectAttributes", Object),
    ("s3:GetObjectLegalHold", Object),
    ("s3:GetObjectRetention", Object),
    ("s3:GetObjectTagging", Object),
    ("s3:GetObjectTorrent", Object),
    ("s3:GetObjectVersion", Object),
    ("s3:GetObjectVersionAcl", Object),
    ("s3:GetObjectVersionAttributes", Object),
    ("s3:GetObjectVersionForReplication", Object),
    ("s3:GetObjectVersionTagging", Object),
    ("s3:GetObjectVersionTorrent", Object),
    ("s3:GetReplicationConfiguration", Bucket),
    ("s3:ListAllMyBuckets", Bucket),
    ("s3:ListBucket", Bucket),
    ("s3:ListBucketMultipartUploads", Bucket),
    ("s3:ListBucketVersions", Bucket),
    ("s3:ListMultipartUploadParts", Object),
    ("s3:ObjectOwnerOverrideToBucketOwner", Object),
    ("s3:PutAccelerateConfiguration", Bucket),
    ("s3:PutAnalyticsConfiguration", Bucket),
    ("s3:PutBucketAcl", Bucket),
    ("s3:PutBucketCORS", Bucket),
    ("s3:PutBucketLogging", Bucket),
    ("s3:PutBucketNotification", Bucket),
    ("s3:PutBucketObjectLockConfiguration", Bucket),
    ("s3:PutBucketOwnershipControls", Bucket),
    ("s3:PutBucketPolicy", Bucket),
    ("s3:PutBucketPublicAccessBlock", Bucket),
    ("s3:PutBucketRequestPayment", Bucket),
    ("s3:PutBucketTagging", Bucket),
    ("s3:PutBucketVersioning", Bucket),
    ("s3:PutBucketWebsite", Bucket),
    ("s3:PutEncryptionConfiguration", Bucket),
    ("s3:PutIntelligentTieringConfiguration", Bucket),
    ("s3:PutInventoryConfiguration", Bucket),
    ("s3:PutLifecycleConfiguration", Bucket),
    ("s3:PutMetricsConfiguration", Bucket),
    ("s3:PutObject", Object),
    ("s3:PutObjectAcl", Object),
    ("s3:PutObjectLegalHold", Object),
    ("s3:PutObjectRetention", Object),
    ("s3:PutObjectTagging", Object),
    ("s3:PutObjectVersionAcl", Object),
    ("s3:PutObjectVersionTagging", Object),
    ("s3:PutReplicationConfiguration", Bucket),
    ("s3:ReplicateDelete", Object),
    ("s3:ReplicateObject", Object),
    ("s3:ReplicateTags", Object),
    ("s3:RestoreObject", Object),
];

/// The level of a known action (compared without regard to case), or `None`
/// for an action S3 does not have.
pub fn action_level(action: &str) -> Option<ActionLevel> {
    KNOWN_ACTIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(action))
        .map(|(_, level)| *level)
}

/// The action a policy must allow for an S3 operation (named as AWS names
/// it: `GetObject`, `ListObjectsV2`, ...), as AWS maps them
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html>).
/// `versioned` is whether the request names a version (`versionId`), which
/// turns `s3:GetObject` into `s3:GetObjectVersion` and so on. `None` for an
/// operation this list does not know, which callers must refuse.
///
/// Operations that write through another action's permission share it: every
/// upload (`PutObject`, `PostObject`, `CopyObject`, the multipart calls) is
/// `s3:PutObject`, `DeleteObjects` is `s3:DeleteObject` per key, removing a
/// bucket's CORS, lifecycle, tags, public access block or ownership controls
/// is the matching `Put` action, and `HeadBucket` is `s3:ListBucket`.
pub fn action_for(operation: &str, versioned: bool) -> Option<&'static str> {
    let pick = |plain: &'static str, version: &'static str| {
        if versioned { version } else { plain }
    };
    Some(match operation {
        "ListBuckets" => "s3:ListAllMyBuckets",
        "CreateBucket" => "s3:CreateBucket",
        "DeleteBucket" => "s3:DeleteBucket",
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => "s3:ListBucket",
        "ListObjectVersions" => "s3:ListBucketVersions",
        "ListMultipartUploads" => "s3:ListBucketMultipartUploads",
        "ListParts" => "s3:ListMultipartUploadParts",
        "GetObject" | "HeadObject" => pick("s3:GetObject", "s3:GetObjectVersion"),
        "PutObject"
        | "PostObject"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload" => "s3:PutObject",
        "DeleteObject" => pick("s3:DeleteObject", "s3:DeleteObjectVersion"),
        "DeleteObjects" => "s3:DeleteObject",
        "AbortMultipartUpload" => "s3:AbortMultipartUpload",
        "RestoreObject" => "s3:RestoreObject",
        "GetObjectAcl" => pick("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        "PutObjectAcl" => pick("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        "GetBucketAcl" => "s3:GetBucketAcl",
        "PutBucketAcl" => "s3:PutBucketAcl",
        "GetBucketCors" => "s3:GetBucketCORS",
        "PutBucketCors" | "DeleteBucketCors" => "s3:PutBucketCORS",
        "GetBucketVersioning" => "s3:GetBucketVersioning",
        "PutBucketVersioning" => "s3:PutBucketVersioning",
        "GetBucketLocation" => "s3:GetBucketLocation",
        "GetBucketLifecycle" | "GetBucketLifecycleConfiguration" => "s3:GetLifecycleConfiguration",
        "PutBucketLifecycle"
        | "PutBucketLifecycleConfiguration"
        | "DeleteBucketLifecycle"
        | "DeleteBucketLifecycleConfiguration" => "s3:PutLifecycleConfiguration",
        "GetObjectTagging" => pick("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        "PutObjectTagging" => pick("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
        "DeleteObjectTagging" => pick("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
        "GetBucketTagging" => "s3:GetBucketTagging",
        "PutBucketTagging" | "DeleteBucketTagging" => "s3:PutBucketTagging",
        "GetObjectRetention" => "s3:GetObjectRetention",
        "PutObjectRetention" => "s3:PutObjectRetention",
        "GetObjectLegalHold" => "s3:GetObjectLegalHold",
        "PutObjectLegalHold" => "s3:PutObjectLegalHold",
        "GetObjectLockConfiguration" => "s3:GetBucketObjectLockConfiguration",
        "PutObjectLockConfiguration" => "s3:PutBucketObjectLockConfiguration",
        "BypassGovernanceRetention" => "s3:BypassGovernanceRetention",
        "GetObjectAttributes" => pick("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
        "GetBucketPolicy" => "s3:GetBucketPolicy",
        "PutBucketPolicy" => "s3:PutBucketPolicy",
        "DeleteBucketPolicy" => "s3:DeleteBucketPolicy",
        "GetBucketPolicyStatus" => "s3:GetBucketPolicyStatus",
        "GetPublicAccessBlock" => "s3:GetBucketPublicAccessBlock",
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => "s3:PutBucketPublicAccessBlock",
        "GetBucketOwnershipControls" => "s3:GetBucketOwnershipControls",
        "PutBucketOwnershipControls" | "DeleteBucketOwnershipControls" => {
            "s3:PutBucketOwnershipControls"
        }
        "GetBucketWebsite" => "s3:GetBucketWebsite",
        "PutBucketWebsite" => "s3:PutBucketWebsite",
        "DeleteBucketWebsite" => "s3:DeleteBucketWebsite",
        "GetBucketLogging" => "s3:GetBucketLogging",
        "PutBucketLogging" => "s3:PutBucketLogging",
        "GetBucketEncryption" => "s3:GetEncryptionConfiguration",
        "PutBucketEncryption" | "DeleteBucketEncryption" => "s3:PutEncryptionConfiguration",
        "GetBucketNotificationConfiguration" => "s3:GetBucketNotification",
        "PutBucketNotificationConfiguration" => "s3:PutBucketNotification",
        "GetBucketReplication" => "s3:GetReplicationConfiguration",
        "PutBucketReplication" | "DeleteBucketReplication" => "s3:PutReplicationConfiguration",
        "GetBucketAccelerateConfiguration" => "s3:GetAccelerateConfiguration",
        "PutBucketAccelerateConfiguration" => "s3:PutAccelerateConfiguration",
        "GetBucketRequestPayment" => "s3:GetBucketRequestPayment",
        "PutBucketRequestPayment" => "s3:PutBucketRequestPayment",
        _ => return None,
    })
}
