//! Condition operators and whether a [`Condition`](super::Condition) holds
//! for a request (the rules are on [`Condition`](super::Condition)).

use super::error::DecodeError;
use super::evaluate::ConditionContext;
use super::refs::{ConditionRef, TextRef, ValuesRef};
use super::values::{parse_bool, parse_date, parse_ip, parse_number};
use super::wildcard::{ascii_caseless, exact, text_arn_matches, text_equals, text_matches};

/// A condition operator, without its `ForAnyValue:`/`ForAllValues:`
/// qualifier and `IfExists` suffix. The discriminant is its code in the
/// binary form.
#[allow(missing_docs)] // The variants are AWS's operator names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Operator {
    StringEquals = 0,
    StringNotEquals = 1,
    StringEqualsIgnoreCase = 2,
    StringNotEqualsIgnoreCase = 3,
    StringLike = 4,
    StringNotLike = 5,
    NumericEquals = 6,
    NumericNotEquals = 7,
    NumericLessThan = 8,
    NumericLessThanEquals = 9,
    NumericGreaterThan = 10,
    NumericGreaterThanEquals = 11,
    DateEquals = 12,
    DateNotEquals = 13,
    DateLessThan = 14,
    DateLessThanEquals = 15,
    DateGreaterThan = 16,
    DateGreaterThanEquals = 17,
    Bool = 18,
    BinaryEquals = 19,
    IpAddress = 20,
    NotIpAddress = 21,
    ArnEquals = 22,
    ArnLike = 23,
    ArnNotEquals = 24,
    ArnNotLike = 25,
    Null = 26,
}

/// What kind of values an operator compares, which decides how its values
/// are parsed and stored ([`ConditionValues`](super::ConditionValues)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    String,
    Arn,
    Binary,
    Number,
    Date,
    Bool,
    Ip,
    /// `Null`: booleans saying whether the key must be absent.
    Null,
}

impl Operator {
    /// Every operator, in code order.
    pub const ALL: [Operator; 27] = [
        Operator::StringEquals,
        Operator::StringNotEquals,
        Operator::StringEqualsIgnoreCase,
        Operator::StringNotEqualsIgnoreCase,
        Operator::StringLike,
        Operator::StringNotLike,
        Operator::NumericEquals,
        Operator::NumericNotEquals,
        Operator::NumericLessThan,
        Operator::NumericLessThanEquals,
        Operator::NumericGreaterThan,
        Operator::NumericGreaterThanEquals,
        Operator::DateEquals,
        Operator::DateNotEquals,
        Operator::DateLessThan,
        Operator::DateLessThanEquals,
        Operator::DateGreaterThan,
        Operator::DateGreaterThanEquals,
        Operator::Bool,
        Operator::BinaryEquals,
        Operator::IpAddress,
        Operator::NotIpAddress,
        Operator::ArnEquals,
        Operator::ArnLike,
        Operator::ArnNotEquals,
        Operator::ArnNotLike,
        Operator::Null,
    ];

    /// The operator's name as a policy writes it.
    pub fn name(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringNotEquals => "StringNotEquals",
            Operator::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Operator::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Operator::StringLike => "StringLike",
            Operator::StringNotLike => "StringNotLike",
            Operator::NumericEquals => "NumericEquals",
            Operator::NumericNotEquals => "NumericNotEquals",
            Operator::NumericLessThan => "NumericLessThan",
            Operator::NumericLessThanEquals => "NumericLessThanEquals",
            Operator::NumericGreaterThan => "NumericGreaterThan",
            Operator::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Operator::DateEquals => "DateEquals",
            Operator::DateNotEquals => "DateNotEquals",
            Operator::DateLessThan => "DateLessThan",
            Operator::DateLessThanEquals => "DateLessThanEquals",
            Operator::DateGreaterThan => "DateGreaterThan",
            Operator::DateGreaterThanEquals => "DateGreaterThanEquals",
            Operator::Bool => "Bool",
            Operator::BinaryEquals => "BinaryEquals",
            Operator::IpAddress => "IpAddress",
            Operator::NotIpAddress => "NotIpAddress",
            Operator::ArnEquals => "ArnEquals",
            Operator::ArnLike => "ArnLike",
            Operator::ArnNotEquals => "ArnNotEquals",
            Operator::ArnNotLike => "ArnNotLike",
            Operator::Null => "Null",
        }
    }

    /// The operator with code `code` in the binary form.
    pub fn from_code(code: u8) -> Option<Operator> {
        Operator::ALL.get(usize::from(code)).copied()
    }

    /// Whether the operator holds when the request's value matches *none*
    /// of the policy's values (and when the key is absent).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::NumericNotEquals
                | Operator::DateNotEquals
                | Operator::NotIpAddress
                | Operator::ArnNotEquals
                | Operator::ArnNotLike
        )
    }

    pub(crate) fn kind(self) -> ValueKind {
        use Operator as O;
        match self {
            O::StringEquals
            | O::StringNotEquals
            | O::StringEqualsIgnoreCase
            | O::StringNotEqualsIgnoreCase
            | O::StringLike
            | O::StringNotLike => ValueKind::String,
            O::NumericEquals
            | O::NumericNotEquals
            | O::NumericLessThan
            | O::NumericLessThanEquals
            | O::NumericGreaterThan
            | O::NumericGreaterThanEquals => ValueKind::Number,
            O::DateEquals
            | O::DateNotEquals
            | O::DateLessThan
            | O::DateLessThanEquals
            | O::DateGreaterThan
            | O::DateGreaterThanEquals => ValueKind::Date,
            O::Bool => ValueKind::Bool,
            O::BinaryEquals => ValueKind::Binary,
            O::IpAddress | O::NotIpAddress => ValueKind::Ip,
            O::ArnEquals | O::ArnLike | O::ArnNotEquals | O::ArnNotLike => ValueKind::Arn,
            O::Null => ValueKind::Null,
        }
    }

    /// Reads a condition type as written (`ForAnyValue:StringLikeIfExists`):
    /// the operator, its qualifier and whether it ends in `IfExists`. `None`
    /// for anything else, including `Null` with a qualifier or `IfExists`
    /// (it already tests whether the key exists).
    pub fn parse(written: &str) -> Option<(Operator, Option<Qualifier>, bool)> {
        let (qualifier, rest) = if let Some(rest) = written.strip_prefix("ForAnyValue:") {
            (Some(Qualifier::ForAnyValue), rest)
        } else if let Some(rest) = written.strip_prefix("ForAllValues:") {
            (Some(Qualifier::ForAllValues), rest)
        } else {
            (None, written)
        };
        let (name, if_exists) = match rest.strip_suffix("IfExists") {
            Some(name) => (name, true),
            None => (rest, false),
        };
        let operator = Operator::ALL.into_iter().find(|op| op.name() == name)?;
        if operator == Operator::Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some((operator, qualifier, if_exists))
    }
}

/// A set operator, for keys that may have several values in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `ForAnyValue:`: at least one of the request's values satisfies the
    /// operator.
    ForAnyValue,
    /// `ForAllValues:`: every one of the request's values does (vacuously
    /// true when there are none).
    ForAllValues,
}

/// Whether `condition` holds for the request described by `context`.
pub(crate) fn holds(
    condition: ConditionRef<'_>,
    context: &dyn ConditionContext,
) -> Result<bool, DecodeError> {
    let present = context
        .values(condition.key)
        .filter(|values| !values.is_empty());
    if condition.operator == Operator::Null {
        let ValuesRef::Bools(wanted) = condition.values else {
            return Ok(false);
        };
        return wanted.any(|absent| Ok(absent == present.is_none()));
    }
    let Some(values) = present else {
        return Ok(condition.if_exists
            || match condition.qualifier {
                Some(Qualifier::ForAllValues) => true,
                Some(Qualifier::ForAnyValue) => false,
                None => condition.operator.is_negated(),
            });
    };
    let negated = condition.operator.is_negated();
    // Whether one request value satisfies the operator (for a negated one:
    // matches none of the policy's values).
    let satisfies =
        |value: &str| Ok::<_, DecodeError>(matches_any(condition, value, context)? != negated);
    // Whether every request value must satisfy it, or one is enough.
    let every = match condition.qualifier {
        Some(Qualifier::ForAllValues) => true,
        Some(Qualifier::ForAnyValue) => false,
        None => negated,
    };
    for value in values.iter() {
        if satisfies(value)? != every {
            return Ok(!every);
        }
    }
    Ok(every)
}

/// Whether one request value matches any of the condition's values under the
/// positive form of its operator (`StringNotLike` compares as `StringLike`).
fn matches_any(
    condition: ConditionRef<'_>,
    value: &str,
    context: &dyn ConditionContext,
) -> Result<bool, DecodeError> {
    use Operator as O;
    let op = condition.operator;
    match condition.values {
        ValuesRef::Strings(patterns) => patterns.any(|pattern: TextRef<'_>| match op {
            O::StringEquals | O::StringNotEquals | O::BinaryEquals => {
                text_equals(pattern, value, context, exact)
            }
            O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
                text_equals(pattern, value, context, ascii_caseless)
            }
            O::StringLike | O::StringNotLike => text_matches(pattern, value, context, exact),
            O::ArnEquals | O::ArnLike | O::ArnNotEquals | O::ArnNotLike => {
                text_arn_matches(pattern, value, context)
            }
            _ => Ok(false),
        }),
        ValuesRef::Numbers(numbers) => {
            let Some(value) = parse_number(value) else {
                return Ok(false);
            };
            numbers.any(|n| {
                Ok(match op {
                    O::NumericEquals | O::NumericNotEquals => value == n,
                    O::NumericLessThan => value < n,
                    O::NumericLessThanEquals => value <= n,
                    O::NumericGreaterThan => value > n,
                    O::NumericGreaterThanEquals => value >= n,
                    _ => false,
                })
            })
        }
        ValuesRef::Dates(dates) => {
            let Some(value) = parse_date(value) else {
                return Ok(false);
            };
            dates.any(|d| {
                Ok(match op {
                    O::DateEquals | O::DateNotEquals => value == d,
                    O::DateLessThan => value < d,
                    O::DateLessThanEquals => value <= d,
                    O::DateGreaterThan => value > d,
                    O::DateGreaterThanEquals => value >= d,
                    _ => false,
                })
            })
        }
        ValuesRef::Bools(bools) => match parse_bool(value) {
            Some(value) if op == O::Bool => bools.any(|b| Ok(b == value)),
            _ => Ok(false),
        },
        ValuesRef::Cidrs(cidrs) => match parse_ip(value) {
            Some(ip) if matches!(op, O::IpAddress | O::NotIpAddress) => {
                cidrs.any(|cidr| Ok(cidr.contains(ip)))
            }
            _ => Ok(false),
        },
    }
}
