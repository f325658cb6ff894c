//! AWS's bucket-policy language: the IAM JSON policy documents S3 attaches to
//! a bucket with `PutBucketPolicy`, read, checked, stored compactly and
//! applied to requests.
//!
//! The host and policy modules share this code, so both agree on what a
//! policy means:
//!
//! - the host [`parse`](fn@parse)s a document when it is put, which also validates it
//!   the way S3 does (the error's text is the `MalformedPolicy` message),
//!   checks the accounts it names ([`Policy::accounts`]), asks whether it is
//!   public ([`Policy::is_public`], for Block Public Access) and stores its
//!   [`Policy::encode`]d form;
//! - on every decision, a module reads that form in place ([`PolicyView`]:
//!   no allocation, only the parts the request reaches are read) and
//!   evaluates the request: an explicit deny, an allow, or no match (the
//!   caller's other rules then decide). [`decode`] builds the [`Policy`]
//!   back, borrowing its strings, for code that wants to look at it;
//!   [`evaluate`](fn@evaluate) applies a policy in memory.
//!
//! Everything that can be worked out once is worked out by [`parse`](fn@parse):
//! operators are enums, numbers, dates (epoch seconds), booleans and CIDR
//! ranges are parsed, condition keys are in their canonical spelling
//! ([`KNOWN_KEYS`]) and policy variables are split out ([`Text`]). Evaluation
//! parses only the request's own values (a number, a date, an address) and
//! allocates only to substitute policy variables.
//!
//! Semantics are AWS's:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>
//! for the elements,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! for conditions and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>
//! for policy variables. Where this code decides something AWS leaves open,
//! the item's documentation says so.
//!
//! # Layout
//!
//! - this file: the parsed policy's types;
//! - `parse`: the JSON document to a [`Policy`], with S3's validation;
//! - `error`: [`PolicyError`] (S3's `MalformedPolicy` messages) and
//!   [`DecodeError`];
//! - `actions`: S3's actions, their level ([`ActionLevel`]) and the action
//!   each S3 operation needs ([`action_for`]);
//! - `keys`: the condition keys a policy may use ([`KNOWN_KEYS`]);
//! - `condition`: condition operators ([`Operator`]) and how a condition
//!   holds for a request;
//! - `values`: numbers, dates, booleans and CIDR ranges, in policies and in
//!   requests;
//! - `wildcard`: `*`/`?` matching and policy-variable substitution;
//! - `evaluate`: [`evaluate`](fn@evaluate), [`EvalRequest`], [`Verdict`] and what a
//!   condition can ask about the request ([`ConditionContext`]);
//! - `encode`: the binary form ([`Policy::encode`]), whose layout that
//!   module documents;
//! - `reader`, `refs`: reading the binary form, and the borrowed views of a
//!   policy's parts that evaluation reads, from memory or from the bytes;
//! - `view`: [`PolicyView`] (the binary form read in place) and [`decode`];
//! - `public`: [`Policy::is_public`], S3's "is this policy public".
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "bucket-policy-parse")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use coffer_guest_sdk::bucket_policy::{self, Context, EvalRequest, PolicyView, Verdict};
//!
//! let document = r#"{
//!     "Version": "2012-10-17",
//!     "Statement": [{
//!         "Sid": "PublicRead",
//!         "Effect": "Allow",
//!         "Principal": "*",
//!         "Action": "s3:GetObject",
//!         "Resource": "arn:aws:s3:::photos/public/*"
//!     }, {
//!         "Sid": "TlsOnly",
//!         "Effect": "Deny",
//!         "Principal": "*",
//!         "Action": "s3:*",
//!         "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"],
//!         "Condition": {"Bool": {"aws:SecureTransport": "false"}}
//!     }]
//! }"#;
//! let policy = bucket_policy::parse(document, "photos")?;
//! assert!(policy.is_public());
//!
//! // The host stores the binary form; a module reads it per decision.
//! let stored = policy.encode();
//! let view = PolicyView::new(&stored)?;
//!
//! let tls = Context::new().with("aws:SecureTransport", "true");
//! let read = EvalRequest {
//!     action: "s3:GetObject",
//!     resource: "arn:aws:s3:::photos/public/cat.jpg",
//!     principal: None,
//!     context: &tls,
//! };
//! assert_eq!(view.evaluate(&read)?, Verdict::Allow { sid: Some("PublicRead") });
//!
//! let plain = Context::new().with("aws:SecureTransport", "false");
//! let read = EvalRequest { context: &plain, ..read };
//! assert_eq!(view.evaluate(&read)?, Verdict::ExplicitDeny { sid: Some("TlsOnly") });
//!
//! // The same, decoded or as parsed.
//! let decoded = bucket_policy::decode(&stored)?;
//! assert_eq!(decoded, policy);
//! assert_eq!(bucket_policy::evaluate(&decoded, &read), Verdict::ExplicitDeny { sid: Some("TlsOnly") });
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "bucket-policy-parse"))]
//! # fn main() {}
//! ```

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::net::IpAddr;

mod actions;
mod condition;
mod encode;
mod error;
mod evaluate;
mod keys;
#[cfg(feature = "bucket-policy-parse")]
mod parse;
mod public;
mod reader;
mod refs;
mod values;
mod view;
mod wildcard;

#[cfg(all(test, feature = "bucket-policy-parse"))]
mod tests;

pub use actions::{ActionLevel, KNOWN_ACTIONS, action_for, action_level};
pub use condition::{Operator, Qualifier};
pub use encode::FORMAT_VERSION;
pub use error::{DecodeError, PolicyError};
pub use evaluate::{
    ConditionContext, Context, ContextValues, EvalRequest, Verdict, evaluate, resource_arn,
};
pub use keys::{KNOWN_KEYS, TAG_KEY_PREFIXES, canonical_key, same_key};
#[cfg(feature = "bucket-policy-parse")]
pub use parse::parse;
pub use view::{PolicyView, decode};

/// A parsed, validated bucket policy. Strings borrow from the encoded form
/// when [`decode`]d; [`parse`](fn@parse) returns owned ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy<'a> {
    /// The language version, which decides whether `${...}` is a policy
    /// variable (only in 2012-10-17).
    pub version: Version,
    /// The document's `Id`.
    pub id: Option<Cow<'a, str>>,
    /// The statements, in document order.
    pub statements: Vec<Statement<'a>>,
}

/// The policy language's version (`Version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17`, also what a document without `Version` gets: policy
    /// variables are plain text.
    V2008_10_17,
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
}

impl Version {
    /// The version as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2008_10_17 => "2008-10-17",
            Version::V2012_10_17 => "2012-10-17",
        }
    }
}

/// One statement: whom, what, on which resources, under which conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement<'a> {
    /// The statement's `Sid`, unique within the policy when present.
    pub sid: Option<Cow<'a, str>>,
    /// Allow or deny.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`.
    pub principal: PrincipalSet<'a>,
    /// `Action` or `NotAction`.
    pub action: ActionSet<'a>,
    /// `Resource` or `NotResource`.
    pub resource: ResourceSet<'a>,
    /// The `Condition` block, one entry per operator and key; all must hold.
    pub conditions: Vec<Condition<'a>>,
}

/// A statement's `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The statement grants what it names.
    Allow,
    /// The statement refuses what it names, whatever else allows it.
    Deny,
}

/// A statement's `Principal` (or, `negated`, its `NotPrincipal`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrincipalSet<'a> {
    /// `NotPrincipal`: the statement applies to everyone *not* listed,
    /// anonymous requests included.
    pub negated: bool,
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous requests included.
    pub everyone: bool,
    /// The accounts named (`AWS` and `CanonicalUser` values), as bare ids:
    /// `arn:aws:iam::<id>:root` is stored as `<id>`.
    pub accounts: Vec<Cow<'a, str>>,
}

/// A statement's `Action` (or, `negated`, its `NotAction`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionSet<'a> {
    /// `NotAction`: the statement applies to every action *not* listed.
    pub negated: bool,
    /// The actions as written (`s3:GetObject`, `s3:Get*`, `*`), compared
    /// without regard to case, `*` and `?` being wildcards.
    pub patterns: Vec<Cow<'a, str>>,
}

/// A statement's `Resource` (or, `negated`, its `NotResource`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceSet<'a> {
    /// `NotResource`: the statement applies to every resource *not* listed.
    pub negated: bool,
    /// ARN patterns (`arn:aws:s3:::bucket/prefix/*`, `*`), compared
    /// case-sensitively, `*` and `?` being wildcards.
    pub patterns: Vec<Text<'a>>,
}

/// A string from the policy in which `*` and `?` may be wildcards (where the
/// operator takes them) and, in 2012-10-17 policies, `${...}` a policy
/// variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Text<'a> {
    /// No policy variable: the text as written.
    Plain(Cow<'a, str>),
    /// The text split around its policy variables.
    Template(Vec<Segment<'a>>),
}

impl Text<'_> {
    /// Whether the text names exactly one value: it holds no `*`, no `?` and
    /// no policy variable. (Conservative: a template whose only `${...}` are
    /// escapes is not counted as fixed.)
    pub fn is_fixed(&self) -> bool {
        match self {
            Text::Plain(text) => !text.contains(['*', '?']),
            Text::Template(_) => false,
        }
    }
}

/// A piece of a [`Text::Template`].
#[derive(Debug, Clone, PartialEq)]
pub enum Segment<'a> {
    /// Text as written (wildcards keep their meaning).
    Literal(Cow<'a, str>),
    /// `${*}`, `${?}` or `${$}`: that character, never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`: the request's (single) value of
    /// `key`; without one, `default`, and without that, the text matches
    /// nothing. The substituted value is literal: a `*` in it is not a
    /// wildcard.
    Variable {
        /// The condition key, in its canonical spelling.
        key: Cow<'a, str>,
        /// The text used when the request has no value for `key`.
        default: Option<Cow<'a, str>>,
    },
}

/// One condition: an operator applied to one key and its values.
///
/// AWS's rules
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>):
///
/// - a condition's values are alternatives: it holds if the request's value
///   matches any of them; a negated operator (`StringNotEquals`,
///   `NotIpAddress`, ...) holds if the request's value matches none;
/// - a key the request lacks (or has with no values) makes a condition
///   false, a negated one true; `...IfExists` makes it true either way;
///   `Null` tests exactly that (`true`: the key is absent);
/// - `ForAllValues:` holds if every request value satisfies the operator
///   (and when the key is absent or empty), `ForAnyValue:` if at least one
///   does (never when absent, unless `IfExists`); without a qualifier, a key
///   with several values behaves as `ForAnyValue` for positive operators and
///   as "none matches" for negated ones;
/// - a request value the operator cannot read (a number that is not one)
///   matches no policy value;
/// - `*` and `?` are wildcards in `StringLike`, `StringNotLike` and every
///   `Arn*` operator (`ArnEquals` behaves as `ArnLike`, as in AWS, each of
///   an ARN's six parts matched separately), literal elsewhere;
///   `...IgnoreCase` folds ASCII letters only.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition<'a> {
    /// The operator, without its qualifier and `IfExists`.
    pub operator: Operator,
    /// `ForAnyValue:` or `ForAllValues:`, for keys with several values.
    pub qualifier: Option<Qualifier>,
    /// `...IfExists`: the condition holds when the request lacks the key.
    pub if_exists: bool,
    /// The condition key, in its canonical spelling (see [`KNOWN_KEYS`]).
    pub key: Cow<'a, str>,
    /// The values, parsed for the operator; any one may match.
    pub values: ConditionValues<'a>,
}

/// A condition's values, parsed as its operator needs them.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionValues<'a> {
    /// `String*`, `Arn*` and `BinaryEquals` values.
    Strings(Vec<Text<'a>>),
    /// `Numeric*` values.
    Numbers(Vec<f64>),
    /// `Date*` values, as seconds since the Unix epoch.
    Dates(Vec<i64>),
    /// `Bool` values, and `Null`'s (`true`: the key is absent).
    Bools(Vec<bool>),
    /// `IpAddress`/`NotIpAddress` ranges.
    Cidrs(Vec<Cidr>),
}

impl ConditionValues<'_> {
    /// How many values there are.
    pub fn len(&self) -> usize {
        match self {
            ConditionValues::Strings(v) => v.len(),
            ConditionValues::Numbers(v) => v.len(),
            ConditionValues::Dates(v) => v.len(),
            ConditionValues::Bools(v) => v.len(),
            ConditionValues::Cidrs(v) => v.len(),
        }
    }

    /// Whether there are none (never so in a parsed policy).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An IPv4 or IPv6 address range (`192.0.2.0/24`, `2001:db8::/32`); a bare
/// address is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The first address of the range (host bits cleared).
    pub network: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

impl<'a> Policy<'a> {
    /// The distinct account ids named in `Principal`/`NotPrincipal`, in
    /// order of first appearance, so the host can check that they exist.
    pub fn accounts(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for statement in &self.statements {
            for id in &statement.principal.accounts {
                if !ids.contains(&id.as_ref()) {
                    ids.push(id);
                }
            }
        }
        ids
    }
}
