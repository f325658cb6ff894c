//! Why a policy document is refused ([`PolicyError`], whose text is S3's
//! `MalformedPolicy` message) and why bytes are not an encoded policy
//! ([`DecodeError`]).

use alloc::string::String;
use core::fmt;

/// Why a bucket-policy document is refused. S3 answers every one of these
/// with `400 MalformedPolicy`; the `Display` text is the message, in AWS's
/// words, followed by the offending value where one helps (`Policy has
/// invalid action: s3:GetObjekt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The document does not start with `{`.
    NotJson,
    /// The document is not JSON, or not a JSON object.
    InvalidJson,
    /// A field the policy language does not have (a typo must not silently
    /// drop a restriction).
    UnknownField(String),
    /// A required field is missing (`Statement`, `Effect`, `Principal`,
    /// `Action`, `Resource`).
    MissingField(&'static str),
    /// `Statement` is an empty array.
    EmptyStatement,
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    Version(String),
    /// A field has the wrong JSON type, or two fields exclude each other;
    /// the text says which.
    Syntax(&'static str),
    /// Two statements have the same `Sid`.
    DuplicateSid(String),
    /// `Effect` is neither `Allow` nor `Deny`.
    Effect(String),
    /// A principal this server cannot name (a service, a federated user, a
    /// malformed account id).
    Principal(String),
    /// An action S3 does not have, or one of another service.
    Action(String),
    /// A resource that is not this bucket or an object in it.
    Resource(String),
    /// Some action in the statement applies to none of its resources
    /// (bucket actions need the bucket's ARN, object actions an object ARN).
    ActionResourceMismatch,
    /// A condition operator the language does not have.
    ConditionType(String),
    /// A condition key S3 does not have (or a policy variable naming one).
    ConditionKey(String),
    /// A condition value its operator cannot use (a number that is not one,
    /// a malformed date or address, ...).
    ConditionValue {
        /// The operator as written.
        operator: String,
        /// The value.
        value: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::NotJson => {
                f.write_str("Policies must be valid JSON and the first byte must be '{'")
            }
            PolicyError::InvalidJson => f.write_str("This policy contains invalid Json"),
            PolicyError::UnknownField(name) => write!(f, "Unknown field {name}"),
            PolicyError::MissingField(name) => write!(f, "Missing required field {name}"),
            PolicyError::EmptyStatement => {
                f.write_str("Could not parse the policy: Statement is empty!")
            }
            PolicyError::Version(version) => write!(
                f,
                "The policy must contain a valid version string: {version}"
            ),
            PolicyError::Syntax(what) => write!(f, "Invalid policy syntax: {what}"),
            PolicyError::DuplicateSid(sid) => write!(
                f,
                "Statement IDs (SID) in a single policy must be unique: {sid}"
            ),
            PolicyError::Effect(effect) => write!(f, "Invalid effect: {effect}"),
            PolicyError::Principal(principal) => {
                write!(f, "Invalid principal in policy: {principal}")
            }
            PolicyError::Action(action) => write!(f, "Policy has invalid action: {action}"),
            PolicyError::Resource(resource) => {
                write!(f, "Policy has invalid resource: {resource}")
            }
            PolicyError::ActionResourceMismatch => {
                f.write_str("Action does not apply to any resource(s) in statement")
            }
            PolicyError::ConditionType(operator) => {
                write!(f, "Invalid Condition type : {operator}")
            }
            PolicyError::ConditionKey(key) => {
                write!(f, "Policy has an invalid condition key: {key}")
            }
            PolicyError::ConditionValue { operator, value } => {
                write!(
                    f,
                    "Invalid value in Conditions for operator {operator}: {value}"
                )
            }
        }
    }
}

impl core::error::Error for PolicyError {}

/// Why bytes are not a policy's encoded form: truncated, a format this code
/// does not read, or a value out of range. The host only stores what
/// [`Policy::encode`](super::Policy::encode) produced, so this means the
/// bytes were damaged or come from another version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// The byte offset where decoding stopped.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an encoded bucket policy: {} at byte {}",
            self.reason, self.offset
        )
    }
}

impl core::error::Error for DecodeError {}
