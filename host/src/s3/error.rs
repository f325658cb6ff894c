//! The S3 error vocabulary: one code enum, one error struct, rendered once.
//!
//! Every layer (auth, store, xml, ...) has its own error type saying *what happened*;
//! each converts into [`S3Error`] exactly once, deciding what it means to a client.
//! Rendering to XML happens in one place (`front::s3_service`), see
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>.

use http::StatusCode;
use std::fmt;

/// S3 error codes, spelled as AWS spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum S3ErrorCode {
    AccessDenied,
    /// A CORS preflight S3 refuses (403); always with S3's `CORSResponse: ...` message.
    AccessForbidden,
    AmbiguousGrantByEmailAddress,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    /// A CORS preflight without what it needs (`Origin`, a valid request method).
    BadRequest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    /// An operation the bucket's state does not allow (object lock, versioning).
    InvalidBucketState,
    InvalidBucketName,
    InvalidDigest,
    InvalidLocationConstraint,
    InvalidPart,
    InvalidPartNumber,
    InvalidPartOrder,
    InvalidPolicyDocument,
    InvalidRange,
    InvalidRequest,
    InvalidStorageClass,
    /// A tag S3 does not accept.
    InvalidTag,
    InvalidURI,
    KeyTooLongError,
    /// ACLs are disabled on the bucket (Object Ownership `BucketOwnerEnforced`).
    AccessControlListNotSupported,
    /// `BucketOwnerEnforced` with a bucket ACL granting to others.
    InvalidBucketAclWithObjectOwnership,
    /// The bucket has no Block Public Access configuration.
    NoSuchPublicAccessBlockConfiguration,
    /// The bucket has no ownership controls.
    OwnershipControlsNotFoundError,
    MalformedACLError,
    MalformedPOSTRequest,
    MalformedPolicy,
    MaxPostPreDataLengthExceeded,
    MalformedXML,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchKey,
    NoSuchUpload,
    /// The bucket has no CORS configuration.
    NoSuchCORSConfiguration,
    /// The bucket has no lifecycle configuration.
    NoSuchLifecycleConfiguration,
    /// The object has no retention (GetObjectRetention) or legal hold.
    NoSuchObjectLockConfiguration,
    /// The bucket has no tags.
    NoSuchTagSet,
    NoSuchVersion,
    /// The bucket has no object lock configuration.
    ObjectLockConfigurationNotFoundError,
    NotImplemented,
    PreconditionFailed,
    RequestHeaderSectionTooLarge,
    RequestTimeTooSkewed,
    RequestTimeout,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SlowDown,
    UnexpectedContent,
    UnresolvableGrantByEmailAddress,
    XAmzContentSHA256Mismatch,
}

impl S3ErrorCode {
    /// The code as it appears in `<Code>`.
    pub fn as_str(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "AccessDenied",
            AccessForbidden => "AccessForbidden",
            AmbiguousGrantByEmailAddress => "AmbiguousGrantByEmailAddress",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            BadDigest => "BadDigest",
            BadRequest => "BadRequest",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketNotEmpty => "BucketNotEmpty",
            EntityTooLarge => "EntityTooLarge",
            EntityTooSmall => "EntityTooSmall",
            IncompleteBody => "IncompleteBody",
            InternalError => "InternalError",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            InvalidArgument => "InvalidArgument",
            InvalidBucketState => "InvalidBucketState",
            InvalidBucketName => "InvalidBucketName",
            InvalidDigest => "InvalidDigest",
            InvalidLocationConstraint => "InvalidLocationConstraint",
            InvalidPart => "InvalidPart",
            InvalidPartNumber => "InvalidPartNumber",
            InvalidPartOrder => "InvalidPartOrder",
            InvalidPolicyDocument => "InvalidPolicyDocument",
            InvalidRange => "InvalidRange",
            InvalidStorageClass => "InvalidStorageClass",
            InvalidTag => "InvalidTag",
            InvalidRequest => "InvalidRequest",
            InvalidURI => "InvalidURI",
            KeyTooLongError => "KeyTooLongError",
            MalformedACLError => "MalformedACLError",
            AccessControlListNotSupported => "AccessControlListNotSupported",
            InvalidBucketAclWithObjectOwnership => "InvalidBucketAclWithObjectOwnership",
            NoSuchPublicAccessBlockConfiguration => "NoSuchPublicAccessBlockConfiguration",
            OwnershipControlsNotFoundError => "OwnershipControlsNotFoundError",
            MalformedPOSTRequest => "MalformedPOSTRequest",
            MaxPostPreDataLengthExceeded => "MaxPostPreDataLengthExceeded",
            MalformedXML => "MalformedXML",
            MalformedPolicy => "MalformedPolicy",
            NoSuchBucketPolicy => "NoSuchBucketPolicy",
            MetadataTooLarge => "MetadataTooLarge",
            MethodNotAllowed => "MethodNotAllowed",
            MissingContentLength => "MissingContentLength",
            MissingSecurityHeader => "MissingSecurityHeader",
            NoSuchBucket => "NoSuchBucket",
            NoSuchKey => "NoSuchKey",
            NoSuchUpload => "NoSuchUpload",
            NoSuchCORSConfiguration => "NoSuchCORSConfiguration",
            NoSuchVersion => "NoSuchVersion",
            NoSuchLifecycleConfiguration => "NoSuchLifecycleConfiguration",
            NoSuchObjectLockConfiguration => "NoSuchObjectLockConfiguration",
            NoSuchTagSet => "NoSuchTagSet",
            ObjectLockConfigurationNotFoundError => "ObjectLockConfigurationNotFoundError",
            NotImplemented => "NotImplemented",
            PreconditionFailed => "PreconditionFailed",
            RequestHeaderSectionTooLarge => "RequestHeaderSectionTooLarge",
            RequestTimeTooSkewed => "RequestTimeTooSkewed",
            RequestTimeout => "RequestTimeout",
            ServiceUnavailable => "ServiceUnavailable",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            SlowDown => "SlowDown",
            UnexpectedContent => "UnexpectedContent",
            UnresolvableGrantByEmailAddress => "UnresolvableGrantByEmailAddress",
            XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
        }
    }

    /// The HTTP status AWS returns with this code.
    pub fn status(self) -> StatusCode {
        use S3ErrorCode::*;
        match self {
            AccessDenied
            | AccessForbidden
            | InvalidAccessKeyId
            | SignatureDoesNotMatch
            | RequestTimeTooSkewed => StatusCode::FORBIDDEN,
            AmbiguousGrantByEmailAddress
            | AuthorizationHeaderMalformed
            | AuthorizationQueryParametersError
            | BadDigest
            | BadRequest
            | EntityTooLarge
            | EntityTooSmall
            | IncompleteBody
            | InvalidArgument
            | InvalidBucketName
            | InvalidDigest
            | InvalidLocationConstraint
            | InvalidPart
            | InvalidPartOrder
            | InvalidRequest
            | InvalidURI
            | KeyTooLongError
            | MalformedACLError
            | AccessControlListNotSupported
            | InvalidBucketAclWithObjectOwnership
            | MalformedPOSTRequest
            | MaxPostPreDataLengthExceeded
            | InvalidPolicyDocument
            | InvalidStorageClass
            | InvalidTag
            | MalformedXML
            | MalformedPolicy
            | MetadataTooLarge
            | MissingSecurityHeader
            | RequestHeaderSectionTooLarge
            | RequestTimeout
            | UnexpectedContent
            | UnresolvableGrantByEmailAddress
            | XAmzContentSHA256Mismatch => StatusCode::BAD_REQUEST,
            NoSuchBucket
            | NoSuchBucketPolicy
            | NoSuchPublicAccessBlockConfiguration
            | OwnershipControlsNotFoundError
            | NoSuchKey
            | NoSuchUpload
            | NoSuchVersion
            | NoSuchCORSConfiguration
            | NoSuchLifecycleConfiguration
            | NoSuchObjectLockConfiguration
            | NoSuchTagSet
            | ObjectLockConfigurationNotFoundError => StatusCode::NOT_FOUND,
            BucketAlreadyExists | BucketAlreadyOwnedByYou | BucketNotEmpty | InvalidBucketState => {
                StatusCode::CONFLICT
            }
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            MissingContentLength => StatusCode::LENGTH_REQUIRED,
            PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            InvalidRange | InvalidPartNumber => StatusCode::RANGE_NOT_SATISFIABLE,
            InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            NotImplemented => StatusCode::NOT_IMPLEMENTED,
            ServiceUnavailable | SlowDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// AWS's default message for the code, used when a layer has nothing more specific.
    pub fn default_message(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "Access Denied",
            AccessForbidden => "CORSResponse: This CORS request is not allowed.",
            BadRequest => "Bad Request",
            AmbiguousGrantByEmailAddress => {
                "The email address you provided is associated with more than one account."
            }
            AuthorizationQueryParametersError => {
                "Error parsing the query-string authentication parameters."
            }
            AuthorizationHeaderMalformed => "The authorization header is malformed.",
            BadDigest => {
                "The Content-MD5 or checksum you specified did not match what we received."
            }
            BucketAlreadyExists => {
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
            }
            BucketAlreadyOwnedByYou => {
                "Your previous request to create the named bucket succeeded and you already own it."
            }
            BucketNotEmpty => "The bucket you tried to delete is not empty",
            EntityTooLarge => "Your proposed upload exceeds the maximum allowed size",
            EntityTooSmall => {
                "Your proposed upload is smaller than the minimum allowed object size."
            }
            IncompleteBody => {
                "You did not provide the number of bytes specified by the Content-Length HTTP header"
            }
            InternalError => "We encountered an internal error. Please try again.",
            InvalidAccessKeyId => {
                "The AWS Access Key Id you provided does not exist in our records."
            }
            InvalidArgument => "Invalid Argument",
            InvalidBucketState => "The request is not valid with the current state of the bucket.",
            InvalidBucketName => "The specified bucket is not valid.",
            InvalidDigest => "The Content-MD5 you specified is not valid.",
            InvalidLocationConstraint => "The specified location constraint is not valid.",
            InvalidPartNumber => "The requested partnumber is not satisfiable",
            InvalidPart => "One or more of the specified parts could not be found.",
            InvalidPartOrder => "The list of parts was not in ascending order.",
            InvalidRange => "The requested range is not satisfiable",
            InvalidStorageClass => "The storage class you specified is not valid",
            InvalidTag => "The TagKey you have provided is invalid",
            InvalidRequest => "Invalid Request",
            InvalidURI => "Couldn't parse the specified URI.",
            KeyTooLongError => "Your key is too long",
            MalformedPOSTRequest => {
                "The body of your POST request is not well-formed multipart/form-data."
            }
            MaxPostPreDataLengthExceeded => {
                "Your POST request fields preceding the upload file were too large."
            }
            InvalidPolicyDocument => {
                "The content of the form does not meet the conditions specified in the policy document."
            }
            MalformedACLError => {
                "The XML you provided was not well-formed or did not validate against our published schema."
            }
            MalformedXML => {
                "The XML you provided was not well-formed or did not validate against our published schema"
            }
            MetadataTooLarge => "Your metadata headers exceed the maximum allowed metadata size.",
            MethodNotAllowed => "The specified method is not allowed against this resource.",
            MissingContentLength => "You must provide the Content-Length HTTP header.",
            MissingSecurityHeader => "Your request is missing a required header.",
            NoSuchBucket => "The specified bucket does not exist",
            NoSuchBucketPolicy => "The bucket policy does not exist",
            AccessControlListNotSupported => "The bucket does not allow ACLs",
            InvalidBucketAclWithObjectOwnership => {
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
            }
            NoSuchPublicAccessBlockConfiguration => {
                "The public access block configuration was not found"
            }
            OwnershipControlsNotFoundError => "The bucket ownership controls were not found",
            MalformedPolicy => "Policies must be valid JSON and the first byte must be '{'",
            NoSuchKey => "The specified key does not exist.",
            NoSuchVersion => "The specified version does not exist.",
            NoSuchUpload => "The specified upload does not exist.",
            NoSuchCORSConfiguration => "The CORS configuration does not exist",
            NoSuchLifecycleConfiguration => "The lifecycle configuration does not exist",
            NoSuchObjectLockConfiguration => {
                "The specified object does not have a ObjectLock configuration"
            }
            NoSuchTagSet => "The TagSet does not exist",
            ObjectLockConfigurationNotFoundError => {
                "Object Lock configuration does not exist for this bucket"
            }
            NotImplemented => "A header you provided implies functionality that is not implemented",
            PreconditionFailed => "At least one of the pre-conditions you specified did not hold",
            RequestHeaderSectionTooLarge => {
                "Your request header section exceeds the maximum allowed size."
            }
            RequestTimeTooSkewed => {
                "The difference between the request time and the server's time is too large."
            }
            RequestTimeout => {
                "Your socket connection to the server was not read from or written to within the timeout period."
            }
            ServiceUnavailable => "Please reduce your request rate.",
            SignatureDoesNotMatch => {
                "The request signature we calculated does not match the signature you provided. Check your key and signing method."
            }
            SlowDown => "Please reduce your request rate.",
            UnexpectedContent => "This request does not support content.",
            UnresolvableGrantByEmailAddress => {
                "The email address you provided does not match any account on record."
            }
            XAmzContentSHA256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            }
        }
    }
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a client sees it: code, message, optional resource and extra XML fields.
///
/// Boxed so that `Result<T, S3Error>` stays one pointer wide on the hot path.
pub struct S3Error(Box<Inner>);

struct Inner {
    code: S3ErrorCode,
    message: String,
    resource: Option<String>,
    /// Extra elements AWS adds for some codes (e.g. `<BucketName>`, `<ExpectedDigest>`).
    extra: Vec<(&'static str, String)>,
    /// Response headers S3 sends with some errors (a delete marker's `x-amz-delete-marker`
    /// and `x-amz-version-id` on a 404 or 405).
    headers: Vec<(&'static str, String)>,
    /// The internal cause, logged but never sent to the client.
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl S3Error {
    /// An error with AWS's default message for `code`.
    pub fn new(code: S3ErrorCode) -> Self {
        Self::with_message(code, code.default_message())
    }

    /// An error with a specific message.
    pub fn with_message(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error(Box::new(Inner {
            code,
            message: message.into(),
            resource: None,
            extra: Vec::new(),
            headers: Vec::new(),
            source: None,
        }))
    }

    /// An `InternalError` whose cause is logged, never shown to the client.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        let mut e = Self::new(S3ErrorCode::InternalError);
        e.0.source = Some(source.into());
        e
    }

    /// Attaches the resource (`/bucket/key`) the error is about.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.0.resource = Some(resource.into());
        self
    }

    /// Adds an extra element to the error XML (e.g. `BucketName`).
    pub fn extra(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.0.extra.push((name, value.into()));
        self
    }

    /// Attaches an internal cause for the log.
    pub fn source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// The S3 code.
    pub fn code(&self) -> S3ErrorCode {
        self.0.code
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The resource, when set.
    pub fn resource_name(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    /// Extra XML elements.
    pub fn extras(&self) -> &[(&'static str, String)] {
        &self.0.extra
    }

    /// Adds a response header (lower-case name).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.0.headers.push((name, value.into()));
        self
    }

    /// The response headers added with [`S3Error::header`].
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.0.headers
    }

    /// The internal cause, for logging.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        S3Error::new(code)
    }
}

impl fmt::Debug for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Error")
            .field("code", &self.0.code)
            .field("message", &self.0.message)
            .field("resource", &self.0.resource)
            .field("source", &self.0.source)
            .finish()
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)?;
        if let Some(src) = &self.0.source {
            write!(f, " ({src})")?;
        }
        Ok(())
    }
}

impl std::error::Error for S3Error {}

/// Shorthand for results in request handling.
pub type S3Result<T> = Result<T, S3Error>;

// ---------------------------------------------------------------------------------------------
// Each layer's error, mapped to what it means to a client, once.

impl From<&crate::auth::Error> for S3ErrorCode {
    fn from(e: &crate::auth::Error) -> Self {
        use crate::auth::Error as A;
        match e {
            A::MissingHeader(_) | A::UnsignedHeader(_) => S3ErrorCode::AccessDenied,
            A::MalformedAuthorization(_)
            | A::AuthorizationHeaderMalformed(_)
            | A::WrongRegion { .. } => S3ErrorCode::AuthorizationHeaderMalformed,
            // AWS: 400 InvalidArgument "Unsupported Authorization Type".
            A::UnsupportedAlgorithm(_) => S3ErrorCode::InvalidArgument,
            A::SignatureDoesNotMatch | A::ChunkSignatureMismatch | A::TrailerSignatureMismatch => {
                S3ErrorCode::SignatureDoesNotMatch
            }
            A::RequestTimeTooSkewed => S3ErrorCode::RequestTimeTooSkewed,
            A::MissingDate | A::InvalidDate(_) => S3ErrorCode::AccessDenied,
            A::MissingContentSha256 => S3ErrorCode::InvalidRequest,
            A::InvalidContentSha256(_) => S3ErrorCode::InvalidArgument,
            A::ContentSha256Mismatch => S3ErrorCode::XAmzContentSHA256Mismatch,
            A::InvalidChunk(_) => S3ErrorCode::InvalidRequest,
            A::IncompleteBody => S3ErrorCode::IncompleteBody,
            A::TrailerChecksumMismatch { .. } => S3ErrorCode::BadDigest,
            A::MissingTrailer(_) => S3ErrorCode::InvalidRequest,
            A::InvalidChecksum(_) => S3ErrorCode::InvalidArgument,
            A::QueryParameters(_) => S3ErrorCode::AuthorizationQueryParametersError,
            A::Expired { .. } | A::NotYetValid => S3ErrorCode::AccessDenied,
            A::TwoAuthMechanisms => S3ErrorCode::InvalidArgument,
        }
    }
}

impl From<crate::auth::Error> for S3Error {
    fn from(e: crate::auth::Error) -> Self {
        use crate::auth::Error as A;
        let code = S3ErrorCode::from(&e);
        let message = match &e {
            A::MalformedAuthorization(_) | A::MissingHeader(_) | A::UnsignedHeader(_) => {
                e.to_string()
            }
            A::UnsupportedAlgorithm(_) => "Unsupported Authorization Type".to_string(),
            A::MissingDate | A::InvalidDate(_) => {
                "AWS authentication requires a valid Date or x-amz-date header".to_string()
            }
            A::AuthorizationHeaderMalformed(_)
            | A::WrongRegion { .. }
            | A::InvalidChunk(_)
            | A::MissingTrailer(_)
            | A::InvalidChecksum(_)
            | A::InvalidContentSha256(_)
            | A::MissingContentSha256
            | A::QueryParameters(_)
            | A::NotYetValid
            | A::TwoAuthMechanisms => e.to_string(),
            A::Expired { expires, now } => {
                return S3Error::with_message(code, e.to_string())
                    .extra("Expires", crate::s3::xml::format_timestamp(*expires))
                    .extra("ServerTime", crate::s3::xml::format_timestamp(*now));
            }
            _ => code.default_message().to_string(),
        };
        S3Error::with_message(code, message)
    }
}

impl From<&crate::s3::names::NameError> for S3ErrorCode {
    fn from(e: &crate::s3::names::NameError) -> Self {
        use crate::s3::names::NameError as N;
        match e {
            N::InvalidBucketName(_) => S3ErrorCode::InvalidBucketName,
            N::InvalidUtf8 | N::EmptyKey => S3ErrorCode::InvalidURI,
            N::KeyTooLong => S3ErrorCode::KeyTooLongError,
        }
    }
}

impl From<crate::s3::router::RouteError> for S3Error {
    fn from(e: crate::s3::router::RouteError) -> Self {
        use crate::s3::router::RouteError as R;
        match &e {
            R::InvalidKey(n) => S3Error::new(S3ErrorCode::from(n)),
            R::MethodNotAllowed => S3Error::new(S3ErrorCode::MethodNotAllowed),
            R::InvalidUri => S3Error::new(S3ErrorCode::InvalidURI),
        }
    }
}

impl S3ErrorCode {
    /// The code spelled `code` (as the document modules name the errors they find), if
    /// it is one this enum has.
    pub fn from_name(code: &str) -> Option<Self> {
        use S3ErrorCode::*;
        // Only the codes the document modules (tagging, lifecycle, object lock,
        // versioning) produce.
        Some(match code {
            "BadRequest" => BadRequest,
            "InvalidArgument" => InvalidArgument,
            "InvalidRequest" => InvalidRequest,
            "InvalidStorageClass" => InvalidStorageClass,
            "InvalidTag" => InvalidTag,
            "MalformedXML" => MalformedXML,
            "NotImplemented" => NotImplemented,
            _ => return None,
        })
    }
}

impl S3Error {
    /// An error found by a document module: its S3 code (unknown ones fail safe as
    /// `InvalidRequest`), its message, and the extra elements S3 adds.
    pub fn from_document(
        code: &str,
        message: impl Into<String>,
        extra: Vec<(&'static str, String)>,
    ) -> Self {
        let code = S3ErrorCode::from_name(code).unwrap_or(S3ErrorCode::InvalidRequest);
        let mut e = S3Error::with_message(code, message);
        e.0.extra = extra;
        e
    }
}

impl From<crate::s3::xml::XmlError> for S3Error {
    fn from(e: crate::s3::xml::XmlError) -> Self {
        S3Error::new(S3ErrorCode::MalformedXML).source(e)
    }
}

impl From<crate::s3::metadata_check::Error> for S3Error {
    fn from(e: crate::s3::metadata_check::Error) -> Self {
        use crate::s3::metadata_check::Error as M;
        match e {
            // The module's words are meant for the client.
            M::Rejected(message) => S3Error::with_message(S3ErrorCode::InvalidArgument, message),
            // A module that cannot judge fails closed; the cause is logged, never sent.
            failed @ (M::Failed(_) | M::Unloadable { .. }) => {
                S3Error::new(S3ErrorCode::AccessDenied).source(failed)
            }
        }
    }
}

impl From<crate::store::Error> for S3Error {
    fn from(e: crate::store::Error) -> Self {
        use crate::store::Error as E;
        match e {
            E::BucketAlreadyExists => S3Error::new(S3ErrorCode::BucketAlreadyExists),
            E::BucketAlreadyOwnedByYou => S3Error::new(S3ErrorCode::BucketAlreadyOwnedByYou),
            E::BucketNotEmpty => S3Error::new(S3ErrorCode::BucketNotEmpty),
            E::NoSuchBucket => S3Error::new(S3ErrorCode::NoSuchBucket),
            E::NoSuchObject => S3Error::new(S3ErrorCode::NoSuchKey),
            // What S3 answers a delete of a locked version, whoever asks.
            E::ObjectLocked => S3Error::new(S3ErrorCode::AccessDenied).source(E::ObjectLocked),
            E::NoSuchUpload => S3Error::new(S3ErrorCode::NoSuchUpload),
            E::PreconditionFailed(condition) => {
                S3Error::new(S3ErrorCode::PreconditionFailed).extra("Condition", condition)
            }
            // Too few healthy volumes for the copies a write needs: a condition that
            // passes (space freed, a volume repaired), so clients retry.
            e @ E::InsufficientVolumes { .. } => S3Error::new(S3ErrorCode::SlowDown).source(e),
            other => S3Error::internal(other),
        }
    }
}

// The document modules' errors: a malformed document as any XML error, the rest with the
// code, message and extra elements the module chose (S3's).

impl From<crate::s3::tagging::TaggingError> for S3Error {
    fn from(e: crate::s3::tagging::TaggingError) -> Self {
        match e {
            crate::s3::tagging::TaggingError::Malformed(xml) => S3Error::from(xml),
            other => S3Error::from_document(other.code(), other.to_string(), other.extra()),
        }
    }
}

impl From<crate::s3::object_lock::ObjectLockError> for S3Error {
    fn from(e: crate::s3::object_lock::ObjectLockError) -> Self {
        match e {
            crate::s3::object_lock::ObjectLockError::Malformed(xml) => S3Error::from(xml),
            other => S3Error::from_document(other.code(), other.to_string(), other.extra()),
        }
    }
}

impl From<crate::s3::lifecycle::LifecycleError> for S3Error {
    fn from(e: crate::s3::lifecycle::LifecycleError) -> Self {
        match e {
            crate::s3::lifecycle::LifecycleError::Malformed(xml) => S3Error::from(xml),
            other => S3Error::from_document(other.code(), other.to_string(), Vec::new()),
        }
    }
}

impl From<crate::s3::versioning_xml::VersioningError> for S3Error {
    fn from(e: crate::s3::versioning_xml::VersioningError) -> Self {
        match e {
            crate::s3::versioning_xml::VersioningError::Malformed(xml) => S3Error::from(xml),
            other => S3Error::from_document(other.code(), other.to_string(), Vec::new()),
        }
    }
}
