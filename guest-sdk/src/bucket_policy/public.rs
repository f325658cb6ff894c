//! S3's test of whether a bucket policy is public, for Block Public Access
//! (`BlockPublicPolicy` refuses such a policy, `RestrictPublicBuckets`
//! ignores it), as "The meaning of public" defines it
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status>):
//!
//! > When evaluating a bucket policy, Amazon S3 begins by assuming that the
//! > policy is public. It then evaluates the policy to determine whether it
//! > qualifies as non-public. To be considered non-public, a bucket policy
//! > must grant access only to fixed values (values that don't contain a
//! > wildcard or an AWS Identity and Access Management Policy Variable) for
//! > one or more of the following: an AWS principal, user, role, or service
//! > principal; a set of CIDR blocks, using `aws:SourceIp`; `aws:SourceArn`,
//! > `aws:SourceVpc`, `aws:SourceVpce`, `aws:SourceOwner`,
//! > `aws:SourceAccount`, `aws:userid` outside the pattern `AROLEID:*`,
//! > `s3:DataAccessPointArn`, `s3:DataAccessPointAccount`.
//!
//! So a policy is public if an `Allow` statement grants to everyone
//! (`"*"`, or a `NotPrincipal`, which [`parse`](fn@super::parse) refuses
//! with `Allow` but a policy built in code may have) with no condition that
//! pins one of those
//! keys to fixed values. Where AWS's text leaves room, this errs towards
//! "public" (the safe side for Block Public Access):
//!
//! - a condition pins its key only if a request without the key fails it: not
//!   with `...IfExists`, `ForAllValues:` or a negated operator;
//! - only exact operators pin (`StringEquals`, `StringEqualsIgnoreCase`,
//!   `StringLike`, `ArnEquals`, `ArnLike`, `IpAddress`), and only if no value
//!   holds `*`, `?` or a policy variable (even in `StringEquals`, where they
//!   are literal);
//! - an `aws:SourceIp` range pins only if no wider than `/8` (IPv4) or `/32`
//!   (IPv6), the bounds S3 applies to "a set of CIDRs";
//! - `aws:PrincipalAccount`, `aws:PrincipalArn` and `aws:PrincipalOrgID` pin
//!   the caller as a fixed principal does.

use core::net::IpAddr;

use super::{Condition, ConditionValues, Effect, Operator, Policy, Qualifier, Statement};

/// Keys that pin a request to a known caller or source when given fixed
/// values (`aws:SourceIp` is judged on its ranges instead).
const PINNING_KEYS: &[&str] = &[
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOwner",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:userid",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
];

/// The widest `aws:SourceIp` ranges that still pin the source.
const WIDEST_IPV4_PREFIX: u8 = 8;
const WIDEST_IPV6_PREFIX: u8 = 32;

impl Policy<'_> {
    /// Whether S3 would call this policy public (see the module
    /// documentation): some `Allow` statement grants to everyone without a
    /// condition pinning the caller or its source to fixed values.
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(grants_publicly)
    }
}

fn grants_publicly(statement: &Statement<'_>) -> bool {
    let principal = &statement.principal;
    // `NotPrincipal` grants to everyone not listed, unless it lists everyone.
    let everyone = if principal.negated {
        !principal.everyone
    } else {
        principal.everyone
    };
    statement.effect == Effect::Allow && everyone && !statement.conditions.iter().any(pins)
}

/// Whether a condition confines the statement to fixed callers or sources.
fn pins(condition: &Condition<'_>) -> bool {
    if condition.if_exists || condition.qualifier == Some(Qualifier::ForAllValues) {
        return false;
    }
    let key = condition.key.as_ref();
    if key == "aws:SourceIp" {
        let ConditionValues::Cidrs(ranges) = &condition.values else {
            return false;
        };
        return condition.operator == Operator::IpAddress
            && !ranges.is_empty()
            && ranges.iter().all(|range| match range.network {
                IpAddr::V4(_) => range.prefix >= WIDEST_IPV4_PREFIX,
                IpAddr::V6(_) => range.prefix >= WIDEST_IPV6_PREFIX,
            });
    }
    if !PINNING_KEYS.contains(&key) {
        return false;
    }
    let exact = matches!(
        condition.operator,
        Operator::StringEquals
            | Operator::StringEqualsIgnoreCase
            | Operator::StringLike
            | Operator::ArnEquals
            | Operator::ArnLike
    );
    let ConditionValues::Strings(values) = &condition.values else {
        return false;
    };
    exact && !values.is_empty() && values.iter().all(|value| value.is_fixed())
}
