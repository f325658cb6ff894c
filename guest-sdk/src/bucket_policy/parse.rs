//! Reading a bucket-policy document: JSON to [`Policy`], refusing what S3
//! refuses with its `MalformedPolicy` messages.
//!
//! The grammar is IAM's
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>)
//! narrowed to what a bucket policy can say
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html>):
//! a `Principal` is required, resources are this bucket and its objects, and
//! only S3's actions and condition keys exist. Field names are
//! case-sensitive; an element that takes a list also takes a single string.
//! The first fault found is reported: top-level fields, then each statement
//! in order (`Effect`, principal, actions, resources, whether the actions
//! apply to the resources, conditions).

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value;

use super::actions::{ActionLevel, KNOWN_ACTIONS, action_level};
use super::condition::{Operator, ValueKind};
use super::error::PolicyError;
use super::keys::canonical_key;
use super::values::{is_arn_like, is_base64, parse_bool, parse_date, parse_number};
use super::wildcard::{ascii_caseless, exact, matches};
use super::{
    ActionSet, Cidr, Condition, ConditionValues, Effect, Policy, PrincipalSet, ResourceSet,
    Segment, Statement, Text, Version,
};

/// The prefix of every S3 resource ARN.
const S3_ARN_PREFIX: &str = "arn:aws:s3:::";

/// The longest account id accepted in a `Principal` (Coffer's canonical ids
/// are 64 hex digits; AWS account ids 12 digits).
const MAX_ACCOUNT_ID: usize = 128;

/// Parses and validates a bucket-policy document for `bucket`: the body of
/// `PutBucketPolicy`. The error's text is the `MalformedPolicy` message.
pub fn parse(document: &str, bucket: &str) -> Result<Policy<'static>, PolicyError> {
    if !document.starts_with('{') {
        return Err(PolicyError::NotJson);
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(document) else {
        return Err(PolicyError::InvalidJson);
    };
    let mut version = Version::V2008_10_17;
    let mut id = None;
    let mut statement = None;
    for (name, value) in fields {
        match name.as_str() {
            "Version" => {
                version = match value {
                    Value::String(v) if v == "2012-10-17" => Version::V2012_10_17,
                    Value::String(v) if v == "2008-10-17" => Version::V2008_10_17,
                    Value::String(other) => return Err(PolicyError::Version(other)),
                    other => return Err(PolicyError::Version(other.to_string())),
                }
            }
            "Id" => match value {
                Value::String(text) => id = Some(Cow::Owned(text)),
                _ => return Err(PolicyError::Syntax("Id must be a string")),
            },
            "Statement" => statement = Some(value),
            _ => return Err(PolicyError::UnknownField(name)),
        }
    }
    let items = match statement.ok_or(PolicyError::MissingField("Statement"))? {
        Value::Array(items) if items.is_empty() => return Err(PolicyError::EmptyStatement),
        Value::Array(items) => items,
        single @ Value::Object(_) => alloc::vec![single],
        _ => {
            return Err(PolicyError::Syntax(
                "Statement must be an object or an array of objects",
            ));
        }
    };
    let scope = Scope {
        bucket,
        variables: version == Version::V2012_10_17,
    };
    let mut statements: Vec<Statement<'static>> = Vec::with_capacity(items.len());
    for item in items {
        let statement = parse_statement(item, &scope)?;
        if let Some(sid) = &statement.sid
            && statements.iter().any(|s| s.sid.as_ref() == Some(sid))
        {
            return Err(PolicyError::DuplicateSid(sid.to_string()));
        }
        statements.push(statement);
    }
    Ok(Policy {
        version,
        id,
        statements,
    })
}

/// What every statement is read against.
struct Scope<'b> {
    /// The bucket the policy is for: resources must name it.
    bucket: &'b str,
    /// Whether `${...}` is a policy variable (2012-10-17) or plain text.
    variables: bool,
}

/// Which kinds of resource a statement's resources can name.
#[derive(Default)]
struct Reach {
    bucket: bool,
    object: bool,
}

fn parse_statement(value: Value, scope: &Scope<'_>) -> Result<Statement<'static>, PolicyError> {
    let Value::Object(fields) = value else {
        return Err(PolicyError::Syntax("each statement must be an object"));
    };
    let mut sid = None;
    let mut effect = None;
    let mut condition = None;
    let mut principal = None;
    let mut action = None;
    let mut resource = None;
    for (name, value) in fields {
        let (slot, negated, both) = match name.as_str() {
            "Sid" => {
                let Value::String(text) = value else {
                    return Err(PolicyError::Syntax("Sid must be a string"));
                };
                sid = Some(Cow::Owned(text));
                continue;
            }
            "Effect" => {
                effect = Some(value);
                continue;
            }
            "Condition" => {
                condition = Some(value);
                continue;
            }
            "Principal" | "NotPrincipal" => (
                &mut principal,
                name == "NotPrincipal",
                PolicyError::Principal("both Principal and NotPrincipal".into()),
            ),
            "Action" | "NotAction" => (
                &mut action,
                name == "NotAction",
                PolicyError::Action("both Action and NotAction".into()),
            ),
            "Resource" | "NotResource" => (
                &mut resource,
                name == "NotResource",
                PolicyError::Resource("both Resource and NotResource".into()),
            ),
            _ => return Err(PolicyError::UnknownField(name)),
        };
        if slot.replace((value, negated)).is_some() {
            return Err(both);
        }
    }

    let effect = match effect.ok_or(PolicyError::MissingField("Effect"))? {
        Value::String(e) if e == "Allow" => Effect::Allow,
        Value::String(e) if e == "Deny" => Effect::Deny,
        Value::String(other) => return Err(PolicyError::Effect(other)),
        other => return Err(PolicyError::Effect(other.to_string())),
    };

    let (value, negated) = principal.ok_or(PolicyError::MissingField("Principal"))?;
    // "NotPrincipal must be used with "Effect":"Deny". Using it with
    // "Effect":"Allow" is not supported."
    // (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>)
    if negated && effect == Effect::Allow {
        return Err(PolicyError::Principal("NotPrincipal with Allow".into()));
    }
    let principal = parse_principal(value, negated)?;

    let (value, negated) = action.ok_or(PolicyError::MissingField("Action"))?;
    let patterns = strings(value).map_err(PolicyError::Action)?;
    if patterns.is_empty() {
        return Err(PolicyError::Action("[]".into()));
    }
    for pattern in &patterns {
        check_action(pattern)?;
    }
    let action = ActionSet {
        negated,
        patterns: patterns.into_iter().map(Cow::Owned).collect(),
    };

    let (value, negated) = resource.ok_or(PolicyError::MissingField("Resource"))?;
    let written = strings(value).map_err(PolicyError::Resource)?;
    if written.is_empty() {
        return Err(PolicyError::Resource("[]".into()));
    }
    let mut reach = Reach::default();
    let mut patterns = Vec::with_capacity(written.len());
    for pattern in written {
        let this = check_resource(&pattern, scope.bucket)?;
        reach.bucket |= this.bucket;
        reach.object |= this.object;
        let text = parse_text(pattern, scope.variables).map_err(|e| match e {
            TextError::Malformed(text) => PolicyError::Resource(text),
            TextError::UnknownKey(key) => PolicyError::ConditionKey(key),
        })?;
        patterns.push(text);
    }
    let resource = ResourceSet { negated, patterns };

    // "Action does not apply to any resource(s) in statement": each action
    // must name something one of the resources can be. With NotAction or
    // NotResource, the sets are open-ended and S3 does not check.
    if !action.negated && !resource.negated {
        for pattern in &action.patterns {
            let (bucket, object) = levels(pattern);
            if !(bucket && reach.bucket || object && reach.object) {
                return Err(PolicyError::ActionResourceMismatch);
            }
        }
    }

    let conditions = match condition {
        None => Vec::new(),
        Some(value) => parse_conditions(value, scope)?,
    };

    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// An element that takes a list: a string, or an array of strings. The
/// error is the offending JSON, for the message.
fn strings(value: Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(text) => Ok(alloc::vec![text]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(text) => out.push(text),
                    other => return Err(other.to_string()),
                }
            }
            Ok(out)
        }
        other => Err(other.to_string()),
    }
}

/// `"*"`, or an object of `AWS` (`"*"`, account ids, `arn:aws:iam::<id>:root`)
/// and `CanonicalUser` (canonical ids). Services, federated users and IAM
/// users or roles do not exist here: "Invalid principal in policy".
fn parse_principal(value: Value, negated: bool) -> Result<PrincipalSet<'static>, PolicyError> {
    let mut set = PrincipalSet {
        negated,
        ..PrincipalSet::default()
    };
    let kinds = match value {
        Value::String(star) if star == "*" => {
            set.everyone = true;
            return Ok(set);
        }
        Value::Object(kinds) if !kinds.is_empty() => kinds,
        other => return Err(PolicyError::Principal(other.to_string())),
    };
    for (kind, value) in kinds {
        let ids = strings(value).map_err(PolicyError::Principal)?;
        if ids.is_empty() {
            return Err(PolicyError::Principal(kind));
        }
        for id in ids {
            match kind.as_str() {
                "AWS" if id == "*" => set.everyone = true,
                "AWS" => {
                    let bare = id
                        .strip_prefix("arn:aws:iam::")
                        .and_then(|rest| rest.strip_suffix(":root"))
                        .unwrap_or(&id);
                    if !is_account_id(bare) {
                        return Err(PolicyError::Principal(id));
                    }
                    let bare = bare.to_string();
                    set.accounts.push(Cow::Owned(bare));
                }
                "CanonicalUser" if is_account_id(&id) => set.accounts.push(Cow::Owned(id)),
                "CanonicalUser" => return Err(PolicyError::Principal(id)),
                _ => return Err(PolicyError::Principal(kind)),
            }
        }
    }
    Ok(set)
}

/// An account id as Coffer writes them: letters, digits, `.`, `_`, `-`.
fn is_account_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ACCOUNT_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `*`, or `s3:` and an action name S3 has, without regard to case; a name
/// with `*`/`?` must match at least one.
fn check_action(pattern: &str) -> Result<(), PolicyError> {
    let invalid = || PolicyError::Action(pattern.to_string());
    if pattern == "*" {
        return Ok(());
    }
    let service = pattern.get(..3).ok_or_else(invalid)?;
    let name = pattern.get(3..).ok_or_else(invalid)?;
    if !service.eq_ignore_ascii_case("s3:")
        || name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
    {
        return Err(invalid());
    }
    let known = if name.contains(['*', '?']) {
        KNOWN_ACTIONS
            .iter()
            .any(|(action, _)| matches(pattern, action, ascii_caseless))
    } else {
        action_level(pattern).is_some()
    };
    if known { Ok(()) } else { Err(invalid()) }
}

/// Whether an action pattern names any bucket action, any object action.
fn levels(pattern: &str) -> (bool, bool) {
    let mut bucket = false;
    let mut object = false;
    for (action, level) in KNOWN_ACTIONS {
        if matches(pattern, action, ascii_caseless) {
            match level {
                ActionLevel::Bucket => bucket = true,
                ActionLevel::Object => object = true,
            }
        }
    }
    (bucket, object)
}

/// `*`, the bucket's ARN or an object ARN pattern in it; a wildcard in the
/// bucket name must match this bucket. Anything else (another bucket,
/// another service, a policy variable in the bucket name) is "Policy has
/// invalid resource". Returns what the pattern can name.
fn check_resource(pattern: &str, bucket: &str) -> Result<Reach, PolicyError> {
    if pattern == "*" {
        return Ok(Reach {
            bucket: true,
            object: true,
        });
    }
    let invalid = || PolicyError::Resource(pattern.to_string());
    let rest = pattern
        .strip_prefix(S3_ARN_PREFIX)
        .filter(|rest| !rest.is_empty())
        .ok_or_else(invalid)?;
    let (name, key) = match rest.split_once('/') {
        Some((name, key)) => (name, Some(key)),
        None => (rest, None),
    };
    if name.contains("${") {
        return Err(invalid());
    }
    let named = if name.contains(['*', '?']) {
        matches(name, bucket, exact)
    } else {
        name == bucket
    };
    if !named {
        return Err(invalid());
    }
    Ok(Reach {
        bucket: key.is_none(),
        // `*` in the bucket name also spans the `/` of an object ARN.
        object: key.is_some() || name.contains('*'),
    })
}

/// `{"<operator>": {"<key>": value-or-list, ...}, ...}`.
fn parse_conditions(
    value: Value,
    scope: &Scope<'_>,
) -> Result<Vec<Condition<'static>>, PolicyError> {
    let Value::Object(blocks) = value else {
        return Err(PolicyError::Syntax("Condition must be an object"));
    };
    let mut conditions = Vec::new();
    for (written, block) in blocks {
        let Some((operator, qualifier, if_exists)) = Operator::parse(&written) else {
            return Err(PolicyError::ConditionType(written));
        };
        let Value::Object(keys) = block else {
            return Err(PolicyError::Syntax(
                "a condition operator must map condition keys to values",
            ));
        };
        for (key, raw) in keys {
            let Some(key) = canonical_key(&key) else {
                return Err(PolicyError::ConditionKey(key));
            };
            let bad_value = |value: String| PolicyError::ConditionValue {
                operator: written.clone(),
                value,
            };
            let items = condition_strings(raw).map_err(bad_value)?;
            if items.is_empty() {
                return Err(bad_value("[]".into()));
            }
            let values = parse_values(operator, items, scope.variables).map_err(|e| match e {
                TextError::Malformed(value) => bad_value(value),
                TextError::UnknownKey(key) => PolicyError::ConditionKey(key),
            })?;
            conditions.push(Condition {
                operator,
                qualifier,
                if_exists,
                key,
                values,
            });
        }
    }
    Ok(conditions)
}

/// A condition's values: strings, numbers or booleans (AWS takes
/// `"s3:max-keys": 10` and `"aws:SecureTransport": false`), alone or in a
/// list. The error is the offending JSON.
fn condition_strings(value: Value) -> Result<Vec<String>, String> {
    fn scalar(value: Value) -> Result<String, String> {
        match value {
            Value::String(text) => Ok(text),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(other.to_string()),
        }
    }
    match value {
        Value::Array(items) => items.into_iter().map(scalar).collect(),
        other => scalar(other).map(|one| alloc::vec![one]),
    }
}

/// The values parsed as the operator compares them.
fn parse_values(
    operator: Operator,
    items: Vec<String>,
    variables: bool,
) -> Result<ConditionValues<'static>, TextError> {
    fn each<T>(items: Vec<String>, read: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, TextError> {
        items
            .into_iter()
            .map(|item| read(&item).ok_or(TextError::Malformed(item)))
            .collect()
    }
    Ok(match operator.kind() {
        ValueKind::String => ConditionValues::Strings(
            items
                .into_iter()
                .map(|item| parse_text(item, variables))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Arn => {
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                if !is_arn_like(&item) {
                    return Err(TextError::Malformed(item));
                }
                texts.push(parse_text(item, variables)?);
            }
            ConditionValues::Strings(texts)
        }
        ValueKind::Binary => {
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                if !is_base64(&item) {
                    return Err(TextError::Malformed(item));
                }
                texts.push(Text::Plain(Cow::Owned(item)));
            }
            ConditionValues::Strings(texts)
        }
        ValueKind::Number => ConditionValues::Numbers(each(items, parse_number)?),
        ValueKind::Date => ConditionValues::Dates(each(items, parse_date)?),
        ValueKind::Bool | ValueKind::Null => ConditionValues::Bools(each(items, parse_bool)?),
        ValueKind::Ip => ConditionValues::Cidrs(each(items, Cidr::parse)?),
    })
}

/// Why a string with `${...}` in it is refused.
enum TextError {
    /// A malformed variable (`${}`, an unterminated default), or a value
    /// its operator cannot use.
    Malformed(String),
    /// A variable naming a key S3 does not have.
    UnknownKey(String),
}

/// A policy string, its `${...}` policy variables split out when the policy
/// has them (2012-10-17). An unterminated `${` is plain text.
fn parse_text(written: String, variables: bool) -> Result<Text<'static>, TextError> {
    if !variables || !written.contains("${") {
        return Ok(Text::Plain(Cow::Owned(written)));
    }
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = written.as_str();
    while let Some(start) = rest.find("${") {
        let (before, from_dollar) = rest.split_at_checked(start).unwrap_or((rest, ""));
        literal.push_str(before);
        let inside = from_dollar.get(2..).unwrap_or("");
        match parse_variable(inside).map_err(|()| TextError::Malformed(written.clone()))? {
            Some((segment, used)) => {
                if let Segment::Variable { key, .. } = &segment
                    && canonical_key(key).is_none()
                {
                    return Err(TextError::UnknownKey(key.to_string()));
                }
                if !literal.is_empty() {
                    segments.push(Segment::Literal(Cow::Owned(core::mem::take(&mut literal))));
                }
                segments.push(segment);
                rest = inside.get(used..).unwrap_or("");
            }
            None => {
                literal.push_str("${");
                rest = inside;
            }
        }
    }
    if segments.is_empty() {
        return Ok(Text::Plain(Cow::Owned(written)));
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Literal(Cow::Owned(literal)));
    }
    Ok(Text::Template(segments))
}

/// The variable after a `${`: `*`, `?`, `$`, `key` or `key, 'default'`
/// (a `''` in the default is one `'`), spaces allowed around each part,
/// then `}`. Returns the segment and the bytes it used (the `}` included);
/// `None` if no `}` follows (plain text); `Err` if malformed. The key is
/// returned in its canonical spelling when S3 has it.
fn parse_variable(text: &str) -> Result<Option<(Segment<'static>, usize)>, ()> {
    let Some(close) = text.find('}') else {
        return Ok(None);
    };
    let head = text.get(..close).unwrap_or("");
    let (key, default_part) = match head.split_once(',') {
        Some((key, _)) => (key.trim(), true),
        None => (head.trim(), false),
    };
    if !default_part {
        let segment = match key {
            "*" => Segment::Escaped('*'),
            "?" => Segment::Escaped('?'),
            "$" => Segment::Escaped('$'),
            "" => return Err(()),
            key => Segment::Variable {
                key: canonical_key(key).unwrap_or_else(|| Cow::Owned(key.to_string())),
                default: None,
            },
        };
        return Ok(Some((segment, close + 1)));
    }
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(());
    }
    // The default is quoted and may hold `}`: scan it from after the comma.
    let comma = head.find(',').ok_or(())?;
    let after_comma = text.get(comma + 1..).ok_or(())?;
    let trimmed = after_comma.trim_start();
    let quote_at = comma + 1 + (after_comma.len() - trimmed.len());
    let mut chars = trimmed.char_indices();
    if chars.next() != Some((0, '\'')) {
        return Err(());
    }
    let mut default = String::new();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            default.push(c);
            continue;
        }
        if trimmed.get(i + 1..).is_some_and(|r| r.starts_with('\'')) {
            default.push('\'');
            chars.next();
        } else {
            end = Some(quote_at + i + 1);
            break;
        }
    }
    let end = end.ok_or(())?;
    let tail = text.get(end..).ok_or(())?;
    let spaces = tail.len() - tail.trim_start().len();
    if !tail.trim_start().starts_with('}') {
        return Err(());
    }
    let segment = Segment::Variable {
        key: canonical_key(key).unwrap_or_else(|| Cow::Owned(key.to_string())),
        default: Some(Cow::Owned(default)),
    };
    Ok(Some((segment, end + spaces + 1)))
}
