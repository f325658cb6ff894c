//! Applying a policy to one request: [`evaluate`].
//!
//! AWS's logic for a resource policy
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//! a statement applies when its principal, action, resource and every
//! condition match; any applicable `Deny` wins, otherwise any applicable
//! `Allow` allows, otherwise the policy says nothing ([`Verdict::NoMatch`])
//! and the caller's other rules (ACLs, ownership) decide.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::condition::holds;
use super::error::DecodeError;
use super::keys::same_key;
use super::refs::{Seq, StatementRef};
use super::wildcard::{ascii_caseless, exact, matches, text_matches};
use super::{Effect, Policy, Statement};

/// What a condition can ask about the request.
///
/// Keys are asked in their canonical spelling ([`KNOWN_KEYS`](super::KNOWN_KEYS),
/// tag keys with the tag's key as the policy wrote it), so an implementation
/// may compare exactly; [`same_key`] compares as IAM does, for
/// implementations that take keys from elsewhere.
pub trait ConditionContext {
    /// The request's values for `key`, or `None` if the request has no such
    /// key (which conditions treat as AWS does: see [`Condition`](super::Condition)).
    fn values(&self, key: &str) -> Option<ContextValues<'_>>;
}

/// A request's values for one key, borrowed: most keys have one value;
/// `s3:RequestObjectTagKeys` may have several, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextValues<'s> {
    /// A single value.
    One(&'s str),
    /// Several values (possibly none), borrowed strings.
    Strs(&'s [&'s str]),
    /// Several values (possibly none), owned strings.
    Strings(&'s [String]),
}

impl<'s> ContextValues<'s> {
    /// How many values there are.
    pub fn len(&self) -> usize {
        match self {
            ContextValues::One(_) => 1,
            ContextValues::Strs(values) => values.len(),
            ContextValues::Strings(values) => values.len(),
        }
    }

    /// Whether there are none (a key present with no values, which
    /// conditions treat as absent).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Option<&'s str> {
        match self {
            ContextValues::One(value) => (index == 0).then_some(*value),
            ContextValues::Strs(values) => values.get(index).copied(),
            ContextValues::Strings(values) => values.get(index).map(String::as_str),
        }
    }

    /// The value, if there is exactly one (what a policy variable needs).
    pub fn single(&self) -> Option<&'s str> {
        if self.len() == 1 { self.get(0) } else { None }
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = &'s str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A ready-made [`ConditionContext`]: keys and their values, looked up with
/// [`same_key`]. Hosts with the values at hand in other shapes may implement
/// the trait themselves instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    /// A request with no condition keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` to `key`'s values.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some((_, values)) => values.push(value.into()),
            None => self.entries.push((key, alloc::vec![value.into()])),
        }
    }

    /// Sets `key`'s values (possibly none: the key is present but empty).
    pub fn insert_all<I, V>(&mut self, key: impl Into<String>, values: I)
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let key = key.into();
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        match self.entries.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some((_, existing)) => *existing = values,
            None => self.entries.push((key, values)),
        }
    }

    /// [`insert`](Self::insert), by value.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// [`insert_all`](Self::insert_all), by value.
    pub fn with_all<I, V>(mut self, key: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.insert_all(key, values);
        self
    }
}

impl ConditionContext for Context {
    fn values(&self, key: &str) -> Option<ContextValues<'_>> {
        self.entries
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, values)| ContextValues::Strings(values))
    }
}

/// The request a policy is applied to.
#[derive(Clone, Copy)]
pub struct EvalRequest<'a> {
    /// The action, e.g. `s3:GetObject` ([`action_for`](super::action_for)).
    pub action: &'a str,
    /// The resource's ARN ([`resource_arn`]).
    pub resource: &'a str,
    /// The caller's account id, `None` for an anonymous request.
    pub principal: Option<&'a str>,
    /// The values conditions and policy variables ask for.
    pub context: &'a dyn ConditionContext,
}

/// What a policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'p> {
    /// An applicable `Deny` statement (the first, in document order): the
    /// request is refused whatever else allows it.
    ExplicitDeny {
        /// That statement's `Sid`.
        sid: Option<&'p str>,
    },
    /// An applicable `Allow` statement (the first) and no applicable `Deny`.
    Allow {
        /// That statement's `Sid`.
        sid: Option<&'p str>,
    },
    /// No statement applies.
    NoMatch,
}

/// The resource ARN S3 policies name: the bucket's (`arn:aws:s3:::bucket`)
/// or an object's (`arn:aws:s3:::bucket/key`).
pub fn resource_arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}

/// What `policy` says about `request`. For a policy in its binary form,
/// [`PolicyView::evaluate`](super::PolicyView::evaluate) answers the same
/// without building the policy.
pub fn evaluate<'p>(policy: &'p Policy<'_>, request: &EvalRequest<'_>) -> Verdict<'p> {
    // A policy in memory has nothing to read, so nothing can fail; were it
    // to, the request would be refused.
    evaluate_statements(Seq::Slice(&policy.statements), request)
        .unwrap_or(Verdict::ExplicitDeny { sid: None })
}

/// [`evaluate`], for statements in memory or encoded.
pub(crate) fn evaluate_statements<'p>(
    statements: Seq<'p, Statement<'p>>,
    request: &EvalRequest<'_>,
) -> Result<Verdict<'p>, DecodeError> {
    let mut allow = None;
    for statement in statements.iter() {
        let statement = statement?;
        // Once something allows, only a deny can change the answer.
        if statement.effect == Effect::Allow && allow.is_some() {
            continue;
        }
        let Some(sid) = applies(&statement, request)? else {
            continue;
        };
        match statement.effect {
            Effect::Deny => return Ok(Verdict::ExplicitDeny { sid }),
            Effect::Allow => allow = Some(sid),
        }
    }
    Ok(match allow {
        Some(sid) => Verdict::Allow { sid },
        None => Verdict::NoMatch,
    })
}

/// Whether a statement applies to the request (then with its Sid), testing
/// the cheap parts first and reading no further than needed.
fn applies<'p>(
    statement: &StatementRef<'p>,
    request: &EvalRequest<'_>,
) -> Result<Option<Option<&'p str>>, DecodeError> {
    let mut parts = statement.parts();
    let accounts = parts.accounts()?;
    let listed = statement.everyone
        || match request.principal {
            Some(id) => accounts.any(|account| Ok(account == id))?,
            None => false,
        };
    if listed == statement.not_principal {
        return Ok(None);
    }
    let listed = parts
        .actions()?
        .any(|pattern| Ok(matches(pattern, request.action, ascii_caseless)))?;
    if listed == statement.not_action {
        return Ok(None);
    }
    let listed = parts
        .resources()?
        .any(|pattern| text_matches(pattern, request.resource, request.context, exact))?;
    if listed == statement.not_resource {
        return Ok(None);
    }
    if !parts
        .conditions()?
        .all(|condition| holds(condition, request.context))?
    {
        return Ok(None);
    }
    parts.sid().map(Some)
}
