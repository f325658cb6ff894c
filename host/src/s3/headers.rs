//! Header names S3 uses, named once.

/// `x-amz-request-id` on every response.
pub const REQUEST_ID: &str = "x-amz-request-id";
/// `x-amz-id-2`, sent by S3 alongside the request id.
pub const ID_2: &str = "x-amz-id-2";
/// Signed payload hash (SigV4).
pub const CONTENT_SHA256: &str = "x-amz-content-sha256";
/// Decoded length of an aws-chunked body.
pub const DECODED_CONTENT_LENGTH: &str = "x-amz-decoded-content-length";
/// Names the trailer(s) an aws-chunked body will carry.
pub const TRAILER: &str = "x-amz-trailer";
/// The checksum algorithm an SDK used.
pub const SDK_CHECKSUM_ALGORITHM: &str = "x-amz-sdk-checksum-algorithm";
/// The checksum algorithm a multipart upload uses for every part.
pub const CHECKSUM_ALGORITHM: &str = "x-amz-checksum-algorithm";
/// Prefix of user metadata headers.
pub const META_PREFIX: &str = "x-amz-meta-";
/// Prefix of additional checksum headers.
pub const CHECKSUM_PREFIX: &str = "x-amz-checksum-";
/// Asks GET/HEAD to return the stored checksum.
pub const CHECKSUM_MODE: &str = "x-amz-checksum-mode";
/// The bucket's region on HeadBucket.
pub const BUCKET_REGION: &str = "x-amz-bucket-region";
/// Always `STANDARD` for us.
pub const STORAGE_CLASS: &str = "x-amz-storage-class";
/// Content-MD5.
pub const CONTENT_MD5: &str = "content-md5";
/// `aws-chunked` content coding token.
pub const AWS_CHUNKED: &str = "aws-chunked";

/// How many parts a multipart object has (GetObject/HeadObject with `partNumber`).
pub const MP_PARTS_COUNT: &str = "x-amz-mp-parts-count";

/// `COMPOSITE` (multipart objects) or `FULL_OBJECT`: what a stored checksum covers.
pub const CHECKSUM_TYPE: &str = "x-amz-checksum-type";
/// The owner (canonical id) the client expects the bucket to have.
pub const EXPECTED_BUCKET_OWNER: &str = "x-amz-expected-bucket-owner";
/// The owner the client expects a copy's source bucket to have.
pub const SOURCE_EXPECTED_BUCKET_OWNER: &str = "x-amz-source-expected-bucket-owner";
/// The version a request created, read or deleted (`null` for the null version).
pub const VERSION_ID: &str = "x-amz-version-id";
/// `true` on responses about a delete marker.
pub const DELETE_MARKER: &str = "x-amz-delete-marker";
/// The version of a copy's source that was copied.
pub const COPY_SOURCE_VERSION_ID: &str = "x-amz-copy-source-version-id";
/// `true`: remove or shorten `GOVERNANCE` retention (with the permission).
pub const BYPASS_GOVERNANCE_RETENTION: &str = "x-amz-bypass-governance-retention";
/// How many tags the version read has (GET, HEAD), when it has any.
pub const TAGGING_COUNT: &str = "x-amz-tagging-count";
/// When a lifecycle rule will expire the object, and which rule
/// (`expiry-date="...", rule-id="..."`), on GET, HEAD and PUT.
pub const EXPIRATION: &str = "x-amz-expiration";
/// The Object Ownership a CreateBucket asks for.
pub const OBJECT_OWNERSHIP: &str = "x-amz-object-ownership";
