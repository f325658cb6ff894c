//! Parsing and its `MalformedPolicy` errors, the binary form (round trip and
//! damaged bytes), evaluation of every operator and element, AWS's published
//! example policies, and the public test.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::values::{parse_date, parse_number};
use super::wildcard::{arn_matches, ascii_caseless, exact, matches};
use super::*;

const BUCKET: &str = "b";

fn parsed(document: &str) -> Policy<'static> {
    match parse(document, BUCKET) {
        Ok(policy) => policy,
        Err(e) => panic!("{e}: {document}"),
    }
}

#[track_caller]
fn refused(document: &str) -> PolicyError {
    match parse(document, BUCKET) {
        Ok(policy) => panic!("accepted {document}: {policy:?}"),
        Err(e) => e,
    }
}

/// A 2012-10-17 policy of one statement with these members.
fn statement(members: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": {{{members}}}}}"#)
}

/// A statement allowing everyone `s3:GetObject` on `b/*` under `condition`.
fn conditional(condition: &str) -> String {
    statement(&format!(
        r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": "arn:aws:s3:::b/*", "Condition": {condition}"#
    ))
}

fn request<'a>(action: &'a str, resource: &'a str, context: &'a Context) -> EvalRequest<'a> {
    EvalRequest {
        action,
        resource,
        principal: None,
        context,
    }
}

/// A [`Verdict`] that owns its Sid, so it can outlive the policy it came
/// from; it compares equal to the `Verdict` it was made from.
#[derive(Debug)]
enum Outcome {
    Allow(Option<String>),
    Deny(Option<String>),
    NoMatch,
}

impl PartialEq<Verdict<'_>> for Outcome {
    fn eq(&self, verdict: &Verdict<'_>) -> bool {
        match (self, verdict) {
            (Outcome::Allow(a), Verdict::Allow { sid }) => a.as_deref() == *sid,
            (Outcome::Deny(a), Verdict::ExplicitDeny { sid }) => a.as_deref() == *sid,
            (Outcome::NoMatch, Verdict::NoMatch) => true,
            _ => false,
        }
    }
}

/// The verdict of `document` for `req`, checked to be the same for the
/// parsed policy, for its decoded binary form and for the binary form read
/// in place.
#[track_caller]
fn judge(document: &str, req: &EvalRequest<'_>) -> Outcome {
    let policy = parsed(document);
    let bytes = policy.encode();
    let decoded = decode(&bytes).expect("decodes");
    assert_eq!(decoded, policy);
    let from_parsed = evaluate(&policy, req);
    let from_decoded = evaluate(&decoded, req);
    assert_eq!(from_parsed, from_decoded);
    let view = PolicyView::new(&bytes).expect("reads");
    assert_eq!(view.evaluate(req), Ok(from_parsed));
    match from_parsed {
        Verdict::Allow { sid } => Outcome::Allow(sid.map(String::from)),
        Verdict::ExplicitDeny { sid } => Outcome::Deny(sid.map(String::from)),
        Verdict::NoMatch => Outcome::NoMatch,
    }
}

/// Whether `condition` lets an anonymous `GetObject` of `b/k` through.
#[track_caller]
fn holds(condition: &str, context: &Context) -> bool {
    let verdict = judge(
        &conditional(condition),
        &request("s3:GetObject", "arn:aws:s3:::b/k", context),
    );
    verdict == Verdict::Allow { sid: None }
}

fn ctx(key: &str, value: &str) -> Context {
    Context::new().with(key, value)
}

fn none() -> Context {
    Context::new()
}

// ---------------------------------------------------------------- parsing

#[test]
fn documents_must_be_json_objects() {
    assert_eq!(refused(" {}"), PolicyError::NotJson);
    assert_eq!(refused("[]"), PolicyError::NotJson);
    assert_eq!(refused(""), PolicyError::NotJson);
    assert_eq!(refused("{\"Statement\": "), PolicyError::InvalidJson);
    assert_eq!(
        PolicyError::NotJson.to_string(),
        "Policies must be valid JSON and the first byte must be '{'"
    );
}

#[test]
fn top_level_fields() {
    assert_eq!(
        refused(r#"{"Version": "2012-10-17"}"#),
        PolicyError::MissingField("Statement")
    );
    assert_eq!(refused(r#"{"Statement": []}"#), PolicyError::EmptyStatement);
    assert_eq!(
        refused(r#"{"Statement": [], "Foo": 1}"#),
        PolicyError::UnknownField("Foo".into())
    );
    assert_eq!(
        refused(r#"{"Version": "2012-10-18", "Statement": []}"#),
        PolicyError::Version("2012-10-18".into())
    );
    assert_eq!(
        refused(r#"{"Statement": "x"}"#),
        PolicyError::Syntax("Statement must be an object or an array of objects")
    );
    assert_eq!(
        PolicyError::MissingField("Statement").to_string(),
        "Missing required field Statement"
    );
    assert_eq!(
        PolicyError::UnknownField("Foo".into()).to_string(),
        "Unknown field Foo"
    );
    let policy = parsed(
        r#"{"Id": "P1", "Statement": {"Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}"#,
    );
    assert_eq!(policy.id.as_deref(), Some("P1"));
    assert_eq!(policy.version, Version::V2008_10_17);
    assert_eq!(policy.statements.len(), 1);
}

const READ: &str = r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#;

#[test]
fn statement_fields() {
    assert_eq!(
        refused(&statement(&format!(r#""Principal": "*", {READ}"#))),
        PolicyError::MissingField("Effect")
    );
    assert_eq!(
        refused(&statement(&format!(
            r#""Effect": "allow", "Principal": "*", {READ}"#
        ))),
        PolicyError::Effect("allow".into())
    );
    assert_eq!(
        refused(&statement(&format!(r#""Effect": "Allow", {READ}"#))),
        PolicyError::MissingField("Principal")
    );
    assert_eq!(
        refused(&statement(
            r#""Effect": "Allow", "Principal": "*", "Resource": "arn:aws:s3:::b/*""#
        )),
        PolicyError::MissingField("Action")
    );
    assert_eq!(
        refused(&statement(
            r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject""#
        )),
        PolicyError::MissingField("Resource")
    );
    assert_eq!(
        refused(&statement(&format!(
            r#""Effect": "Allow", "Principal": "*", "Bogus": 1, {READ}"#
        ))),
        PolicyError::UnknownField("Bogus".into())
    );
    assert!(matches!(
        refused(&statement(&format!(
            r#""Effect": "Allow", "Principal": "*", "NotPrincipal": "*", {READ}"#
        ))),
        PolicyError::Principal(_)
    ));
    assert!(matches!(
        refused(&statement(
            r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "NotAction": "s3:PutObject", "Resource": "arn:aws:s3:::b/*""#
        )),
        PolicyError::Action(_)
    ));
    assert!(matches!(
        refused(&statement(
            r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::b/*", "NotResource": "arn:aws:s3:::b/x""#
        )),
        PolicyError::Resource(_)
    ));
    assert!(matches!(
        refused(&statement(&format!(
            r#""Sid": 1, "Effect": "Allow", "Principal": "*", {READ}"#
        ))),
        PolicyError::Syntax(_)
    ));
}

#[test]
fn sids_are_unique() {
    let one = format!(r#"{{"Sid": "S", "Effect": "Allow", "Principal": "*", {READ}}}"#);
    let document = format!(r#"{{"Statement": [{one}, {one}]}}"#);
    assert_eq!(refused(&document), PolicyError::DuplicateSid("S".into()));
    let document = format!(
        r#"{{"Statement": [{one}, {{"Sid": "T", "Effect": "Deny", "Principal": "*", {READ}}}]}}"#
    );
    assert_eq!(parsed(&document).statements.len(), 2);
}

fn principal(value: &str) -> Result<Policy<'static>, PolicyError> {
    parse(
        &statement(&format!(
            r#""Effect": "Allow", "Principal": {value}, {READ}"#
        )),
        BUCKET,
    )
}

#[test]
fn principals() {
    let p =
        principal(r#"{"AWS": ["arn:aws:iam::111122223333:root", "alice-id"]}"#).expect("accounts");
    assert_eq!(
        p.statements[0].principal.accounts,
        vec![Cow::Borrowed("111122223333"), Cow::Borrowed("alice-id")]
    );
    let p =
        principal(r#"{"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"}"#).expect("canonical");
    assert_eq!(p.accounts(), vec!["79a59df900b949e55d96a1e698fbaced"]);
    assert!(
        principal(r#"{"AWS": "*"}"#).expect("star").statements[0]
            .principal
            .everyone
    );
    assert!(
        principal(r#""*""#).expect("star").statements[0]
            .principal
            .everyone
    );
    for bad in [
        r#""alice-id""#,
        r#"{"Service": "cloudfront.amazonaws.com"}"#,
        r#"{"Federated": "cognito-identity.amazonaws.com"}"#,
        r#"{"AWS": "arn:aws:iam::111122223333:user/bob"}"#,
        r#"{"AWS": "has space"}"#,
        r#"{"AWS": []}"#,
        r#"{"AWS": 5}"#,
        r#"{"CanonicalUser": "*"}"#,
        r#"{}"#,
        "[]",
    ] {
        let e = principal(bad).expect_err(bad);
        assert!(matches!(e, PolicyError::Principal(_)), "{bad}: {e:?}");
        assert!(e.to_string().starts_with("Invalid principal in policy"));
    }
}

#[test]
fn accounts_are_distinct() {
    let document = r#"{"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["a1", "arn:aws:iam::a2:root"]},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "a2", "CanonicalUser": "a3"},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#;
    assert_eq!(parsed(document).accounts(), vec!["a1", "a2", "a3"]);
}

fn actions(value: &str, resource: &str) -> Result<Policy<'static>, PolicyError> {
    parse(
        &statement(&format!(
            r#""Effect": "Allow", "Principal": "*", "Action": {value}, "Resource": {resource}"#
        )),
        BUCKET,
    )
}

#[test]
fn actions_must_be_s3s() {
    let both = r#"["arn:aws:s3:::b", "arn:aws:s3:::b/*"]"#;
    for good in [
        r#""*""#,
        r#""s3:*""#,
        r#""S3:getobject""#,
        r#""s3:Get*""#,
        r#""s3:?etObject""#,
        r#"["s3:GetObject", "s3:ListBucket"]"#,
    ] {
        actions(good, both).expect(good);
    }
    for bad in [
        r#""s3:GetObjekt""#,
        r#""iam:PassRole""#,
        r#""s3:Foo*""#,
        r#""s3:""#,
        r#""GetObject""#,
        r#""s3:Get Object""#,
        "[]",
        "[1]",
    ] {
        let e = actions(bad, both).expect_err(bad);
        assert!(matches!(e, PolicyError::Action(_)), "{bad}: {e:?}");
    }
    assert_eq!(
        PolicyError::Action("s3:GetObjekt".into()).to_string(),
        "Policy has invalid action: s3:GetObjekt"
    );
}

#[test]
fn resources_must_be_this_bucket() {
    for good in [
        r#""arn:aws:s3:::b/*""#,
        r#""arn:aws:s3:::b/photos/${aws:username}/*""#,
        r#""arn:aws:s3:::?/*""#,
        r#""arn:aws:s3:::*/*""#,
        r#""*""#,
    ] {
        actions(r#""s3:GetObject""#, good).expect(good);
    }
    for bad in [
        r#""arn:aws:s3:::other/*""#,
        r#""arn:aws:s3:::bb/*""#,
        r#""arn:aws:s3:::c*/*""#,
        r#""arn:aws:s3:::""#,
        r#""arn:aws:sqs:::b""#,
        r#""b/*""#,
        r#""arn:aws:s3:::${aws:username}/*""#,
        "[]",
    ] {
        let e = actions(r#""s3:GetObject""#, bad).expect_err(bad);
        assert!(matches!(e, PolicyError::Resource(_)), "{bad}: {e:?}");
        assert!(e.to_string().starts_with("Policy has invalid resource"));
    }
}

#[test]
fn actions_must_apply_to_a_resource() {
    let mismatch = PolicyError::ActionResourceMismatch;
    assert_eq!(
        actions(r#""s3:PutObject""#, r#""arn:aws:s3:::b""#),
        Err(mismatch.clone())
    );
    assert_eq!(
        actions(r#""s3:ListBucket""#, r#""arn:aws:s3:::b/*""#),
        Err(mismatch.clone())
    );
    assert_eq!(
        actions(
            r#"["s3:GetObject", "s3:ListBucket"]"#,
            r#""arn:aws:s3:::b/*""#
        ),
        Err(mismatch.clone())
    );
    assert_eq!(
        mismatch.to_string(),
        "Action does not apply to any resource(s) in statement"
    );
    // Wildcards need only one action that applies.
    actions(r#""s3:*""#, r#""arn:aws:s3:::b/*""#).expect("s3:* on objects");
    actions(r#""s3:Get*""#, r#""arn:aws:s3:::b""#).expect("s3:Get* on the bucket");
    actions(r#""s3:ListBucket""#, r#""arn:aws:s3:::b*""#).expect("wildcard bucket");
    actions(r#""s3:GetObject""#, r#""arn:aws:s3:::b*""#).expect("wildcard spans the slash");
    actions(r#""s3:ListAllMyBuckets""#, r#""arn:aws:s3:::b""#).expect("account level");
    // Open-ended sets are not checked.
    parse(
        &statement(
            r#""Effect": "Deny", "Principal": "*", "NotAction": "s3:PutObject",
               "Resource": "arn:aws:s3:::b""#,
        ),
        BUCKET,
    )
    .expect("NotAction");
}

#[test]
fn condition_types() {
    let e = refused(&conditional(r#"{"StringEqualz": {"s3:prefix": "a"}}"#));
    assert_eq!(e, PolicyError::ConditionType("StringEqualz".into()));
    assert_eq!(e.to_string(), "Invalid Condition type : StringEqualz");
    for bad in [
        "NullIfExists",
        "ForAnyValue:Null",
        "ForSomeValues:StringEquals",
        "stringequals",
        "StringEqualsIfExistsIfExists",
    ] {
        let e = refused(&conditional(&format!(
            r#"{{"{bad}": {{"s3:prefix": "true"}}}}"#
        )));
        assert_eq!(e, PolicyError::ConditionType(bad.into()));
    }
    for good in [
        "ForAnyValue:StringLikeIfExists",
        "ForAllValues:StringEquals",
        "StringNotEqualsIgnoreCaseIfExists",
    ] {
        parsed(&conditional(&format!(
            r#"{{"{good}": {{"s3:prefix": "a"}}}}"#
        )));
    }
    assert!(matches!(
        refused(&conditional(r#"{"StringEquals": "a"}"#)),
        PolicyError::Syntax(_)
    ));
    assert!(matches!(
        refused(&conditional(r#"[]"#)),
        PolicyError::Syntax(_)
    ));
}

#[test]
fn condition_keys() {
    let e = refused(&conditional(r#"{"StringEquals": {"s3:x-acl": "private"}}"#));
    assert_eq!(e, PolicyError::ConditionKey("s3:x-acl".into()));
    assert!(
        e.to_string()
            .starts_with("Policy has an invalid condition key")
    );
    refused(&conditional(r#"{"StringEquals": {"aws:Bogus": "x"}}"#));
    refused(&conditional(
        r#"{"StringEquals": {"s3:ExistingObjectTag/": "x"}}"#,
    ));
    // Case-insensitive names, stored in canonical spelling; tag keys keep case.
    let p = parsed(&conditional(
        r#"{"StringEquals": {"AWS:SOURCEVPC": "vpc-1", "S3:existingobjecttag/Team": "x"}}"#,
    ));
    let keys: Vec<&str> = p.statements[0]
        .conditions
        .iter()
        .map(|c| c.key.as_ref())
        .collect();
    assert_eq!(keys, vec!["aws:SourceVpc", "s3:ExistingObjectTag/Team"]);
    // A policy variable must name a known key.
    let e = refused(&conditional(
        r#"{"StringLike": {"s3:prefix": "${aws:usrname}/*"}}"#,
    ));
    assert_eq!(e, PolicyError::ConditionKey("aws:usrname".into()));
}

#[test]
fn condition_values_must_suit_the_operator() {
    for (operator, key, value) in [
        ("NumericEquals", "s3:max-keys", r#""ten""#),
        ("NumericLessThan", "s3:max-keys", r#""1e3""#),
        ("NumericLessThan", "s3:max-keys", r#""NaN""#),
        ("DateLessThan", "aws:CurrentTime", r#""yesterday""#),
        (
            "DateLessThan",
            "aws:CurrentTime",
            r#""2024-02-30T00:00:00Z""#,
        ),
        ("Bool", "aws:SecureTransport", r#""yes""#),
        ("IpAddress", "aws:SourceIp", r#""192.0.2.0/33""#),
        ("IpAddress", "aws:SourceIp", r#""300.0.2.1""#),
        ("NotIpAddress", "aws:SourceIp", r#""2001:db8::/129""#),
        ("ArnLike", "aws:SourceArn", r#""not-an-arn""#),
        (
            "BinaryEquals",
            "s3:x-amz-content-sha256",
            r#""not base64!""#,
        ),
        ("Null", "s3:prefix", r#""maybe""#),
        ("StringEquals", "s3:prefix", "[]"),
        ("StringEquals", "s3:prefix", "null"),
        ("StringEquals", "s3:prefix", r#"{"a": 1}"#),
        ("StringLike", "s3:prefix", r#""${}""#),
        ("StringLike", "s3:prefix", r#""${aws:username, unquoted}""#),
    ] {
        let e = refused(&conditional(&format!(
            r#"{{"{operator}": {{"{key}": {value}}}}}"#
        )));
        assert!(
            matches!(&e, PolicyError::ConditionValue { operator: o, .. } if o == operator),
            "{operator} {value}: {e:?}"
        );
    }
    // Numbers and booleans may be written unquoted.
    parsed(&conditional(
        r#"{"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": false}}"#,
    ));
}

#[test]
fn parsed_values_are_typed() {
    let p = parsed(&conditional(
        r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.7/24", "2001:db8::1"]},
            "DateLessThan": {"aws:CurrentTime": ["2024-01-01T00:00:00Z", "1700000000"]},
            "NumericEquals": {"s3:max-keys": "-1.5"}}"#,
    ));
    let values: Vec<&ConditionValues<'_>> = p.statements[0]
        .conditions
        .iter()
        .map(|c| &c.values)
        .collect();
    assert_eq!(
        values[0],
        &ConditionValues::Dates(vec![1_704_067_200, 1_700_000_000])
    );
    let v4 = Cidr::parse("192.0.2.0/24").expect("v4");
    let v6 = Cidr::parse("2001:db8::1/128").expect("v6");
    assert_eq!(values[1], &ConditionValues::Cidrs(vec![v4, v6]));
    assert_eq!(values[2], &ConditionValues::Numbers(vec![-1.5]));
}

#[test]
fn policy_variables_are_split_out() {
    let p = parsed(&statement(
        r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": "arn:aws:s3:::b/${AWS:UserName}/${*}${aws:userid, 'it''s'}""#,
    ));
    assert_eq!(
        p.statements[0].resource.patterns[0],
        Text::Template(vec![
            Segment::Literal(Cow::Borrowed("arn:aws:s3:::b/")),
            Segment::Variable {
                key: Cow::Borrowed("aws:username"),
                default: None
            },
            Segment::Literal(Cow::Borrowed("/")),
            Segment::Escaped('*'),
            Segment::Variable {
                key: Cow::Borrowed("aws:userid"),
                default: Some(Cow::Borrowed("it's"))
            },
        ])
    );
    // In 2008-10-17 policies, and without a closing brace, it is plain text.
    let p = parsed(
        r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/${aws:username}"}}"#,
    );
    assert_eq!(
        p.statements[0].resource.patterns[0],
        Text::Plain(Cow::Borrowed("arn:aws:s3:::b/${aws:username}"))
    );
    let p = parsed(&conditional(r#"{"StringEquals": {"s3:prefix": "a${b"}}"#));
    assert_eq!(
        p.statements[0].conditions[0].values,
        ConditionValues::Strings(vec![Text::Plain(Cow::Borrowed("a${b"))])
    );
}

// ---------------------------------------------------------- binary form

const EVERYTHING: &str = r#"{
    "Version": "2012-10-17",
    "Id": "everything",
    "Statement": [
        {"Sid": "a", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::acct1:root", "*"]},
         "Action": ["s3:GetObject", "s3:List*"],
         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/home/${aws:username}/*", "arn:aws:s3:::b/${$}${?}"],
         "Condition": {
            "StringLike": {"s3:prefix": ["home/${aws:username, 'guest'}/*", "public/*"]},
            "ForAnyValue:StringEqualsIfExists": {"s3:RequestObjectTagKeys": ["a", "b"]},
            "NumericLessThanEquals": {"s3:max-keys": [10, "2.5"]},
            "DateGreaterThan": {"aws:CurrentTime": "1969-07-20T20:17:40Z"},
            "Bool": {"aws:SecureTransport": true},
            "Null": {"s3:x-amz-server-side-encryption": ["true", "false"]},
            "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32", "0.0.0.0/0"]},
            "ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:${aws:username}"},
            "BinaryEquals": {"s3:x-amz-content-sha256": "QmluYXJ5"},
            "ForAllValues:StringNotEquals": {"s3:ExistingObjectTag/Team": "ops"}
         }},
        {"Effect": "Deny", "NotPrincipal": {"CanonicalUser": "acct2"},
         "NotAction": "s3:DeleteObject", "NotResource": "arn:aws:s3:::b/keep/*"}
    ]
}"#;

#[test]
fn encoding_round_trips_and_borrows() {
    let policy = parsed(EVERYTHING);
    let bytes = policy.encode();
    assert_eq!(bytes.first(), Some(&FORMAT_VERSION));
    let decoded = decode(&bytes).expect("decodes");
    assert_eq!(decoded, policy);
    assert!(matches!(decoded.id, Some(Cow::Borrowed(_))));
    let statement = &decoded.statements[0];
    assert!(matches!(statement.sid, Some(Cow::Borrowed(_))));
    assert!(
        statement
            .action
            .patterns
            .iter()
            .all(|p| matches!(p, Cow::Borrowed(_)))
    );
    assert!(
        statement
            .conditions
            .iter()
            .all(|c| matches!(c.key, Cow::Borrowed(_)))
    );
    assert_eq!(decoded.encode(), bytes);

    let minimal = Policy {
        version: Version::V2008_10_17,
        id: None,
        statements: Vec::new(),
    };
    assert_eq!(decode(&minimal.encode()), Ok(minimal));
}

#[test]
fn damaged_encodings_are_errors_not_panics() {
    let policy = parsed(EVERYTHING);
    let bytes = policy.encode();
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&longer).is_err());
    let mut other_version = bytes.clone();
    other_version[0] = FORMAT_VERSION + 1;
    assert_eq!(decode(&other_version).map_err(|e| e.offset), Err(0));

    let context = Context::new()
        .with("aws:username", "alice")
        .with("aws:SourceIp", "192.0.2.1")
        .with("s3:prefix", "public/x");
    let req = request("s3:GetObject", "arn:aws:s3:::b/home/alice/x", &context);
    let mut damaged = bytes.clone();
    for i in 0..damaged.len() {
        for bit in 0..8 {
            damaged[i] ^= 1 << bit;
            let decoded = decode(&damaged);
            if let Ok(p) = &decoded {
                // Whatever decodes must evaluate and re-encode.
                let _ = evaluate(p, &req);
                let _ = p.is_public();
                assert_eq!(decode(&p.encode()).as_ref(), Ok(p));
            }
            // Read in place, it evaluates or fails, and a full check agrees
            // with decoding.
            let view = PolicyView::new(&damaged);
            if let Ok(view) = view {
                let _ = view.evaluate(&req);
                assert_eq!(view.check().is_ok(), decoded.is_ok());
            } else {
                assert!(decoded.is_err());
            }
            damaged[i] ^= 1 << bit;
        }
    }
    // Random bytes after a valid version byte.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut noise = vec![FORMAT_VERSION];
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 64) as usize;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            noise.push((seed >> 24) as u8);
        }
        if let Ok(p) = decode(&noise) {
            let _ = evaluate(&p, &req);
        }
        if let Ok(view) = PolicyView::new(&noise) {
            let _ = view.evaluate(&req);
        }
    }
    let e = decode(&[
        FORMAT_VERSION,
        0,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x7f,
    ])
    .expect_err("huge count");
    assert!(!e.to_string().is_empty());
}

#[test]
fn a_damaged_part_fails_evaluation_instead_of_being_skipped() {
    let document = statement(
        r#""Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*""#,
    );
    let mut bytes = parsed(&document).encode();
    // The action list: one item of 2 bytes, the string (offset, 12 bytes).
    // Make the string run past the table.
    let at = bytes
        .windows(4)
        .rposition(|w| w[0] == 1 && w[1] == 2 && w[3] == 12)
        .expect("the action list");
    bytes[at + 3] = 0x7f;
    let view = PolicyView::new(&bytes).expect("the header is intact");
    let c = none();
    assert!(
        view.evaluate(&request("s3:GetObject", "arn:aws:s3:::b/k", &c))
            .is_err()
    );
    assert!(view.check().is_err());
    assert!(decode(&bytes).is_err());
}

// ------------------------------------------------------------ evaluation

#[test]
fn string_operators() {
    let c = r#"{"StringEquals": {"s3:prefix": ["home/", "docs/"]}}"#;
    assert!(holds(c, &ctx("s3:prefix", "home/")));
    assert!(holds(c, &ctx("s3:prefix", "docs/")));
    assert!(!holds(c, &ctx("s3:prefix", "Home/")));
    assert!(!holds(c, &none()));
    let c = r#"{"StringNotEquals": {"s3:prefix": ["home/", "docs/"]}}"#;
    assert!(!holds(c, &ctx("s3:prefix", "home/")));
    assert!(holds(c, &ctx("s3:prefix", "other/")));
    assert!(holds(c, &none()));
    let c = r#"{"StringEqualsIgnoreCase": {"s3:prefix": "home/"}}"#;
    assert!(holds(c, &ctx("s3:prefix", "HOME/")));
    assert!(!holds(c, &ctx("s3:prefix", "HOME")));
    let c = r#"{"StringNotEqualsIgnoreCase": {"s3:prefix": "home/"}}"#;
    assert!(!holds(c, &ctx("s3:prefix", "HOME/")));
    assert!(holds(c, &ctx("s3:prefix", "elsewhere")));
    let c = r#"{"StringLike": {"s3:prefix": ["home/*", "d?cs"]}}"#;
    assert!(holds(c, &ctx("s3:prefix", "home/a/b")));
    assert!(holds(c, &ctx("s3:prefix", "docs")));
    assert!(!holds(c, &ctx("s3:prefix", "Home/a")));
    assert!(!holds(c, &none()));
    let c = r#"{"StringNotLike": {"s3:prefix": "home/*"}}"#;
    assert!(!holds(c, &ctx("s3:prefix", "home/x")));
    assert!(holds(c, &ctx("s3:prefix", "x/home/")));
    assert!(holds(c, &none()));
    // `*` is literal in StringEquals.
    let c = r#"{"StringEquals": {"s3:prefix": "*"}}"#;
    assert!(holds(c, &ctx("s3:prefix", "*")));
    assert!(!holds(c, &ctx("s3:prefix", "x")));
}

#[test]
fn numeric_operators() {
    let key = "s3:max-keys";
    let check = |operator: &str, value: &str, request: &str| {
        holds(
            &format!(r#"{{"{operator}": {{"{key}": "{value}"}}}}"#),
            &ctx(key, request),
        )
    };
    assert!(check("NumericEquals", "10", "10"));
    assert!(check("NumericEquals", "10", "10.0"));
    assert!(!check("NumericEquals", "10", "11"));
    assert!(check("NumericNotEquals", "10", "11"));
    assert!(!check("NumericNotEquals", "10", "10"));
    assert!(check("NumericLessThan", "10", "9"));
    assert!(!check("NumericLessThan", "10", "10"));
    assert!(check("NumericLessThanEquals", "10", "10"));
    assert!(!check("NumericLessThanEquals", "10", "10.5"));
    assert!(check("NumericGreaterThan", "10", "11"));
    assert!(!check("NumericGreaterThan", "10", "10"));
    assert!(check("NumericGreaterThanEquals", "-1", "-1"));
    assert!(!check("NumericGreaterThanEquals", "0", "-0.5"));
    // A request value that is not a number matches nothing.
    assert!(!check("NumericLessThan", "10", "five"));
    assert!(!holds(
        r#"{"NumericLessThan": {"s3:max-keys": "10"}}"#,
        &none()
    ));
    assert!(holds(
        r#"{"NumericNotEquals": {"s3:max-keys": "10"}}"#,
        &none()
    ));
}

#[test]
fn date_operators() {
    let key = "aws:CurrentTime";
    let check = |operator: &str, value: &str, request: &str| {
        holds(
            &format!(r#"{{"{operator}": {{"{key}": "{value}"}}}}"#),
            &ctx(key, request),
        )
    };
    let policy_date = "2030-01-01T00:00:00Z";
    assert!(check("DateLessThan", policy_date, "2024-06-01T00:00:00Z"));
    assert!(check("DateLessThan", policy_date, "1717200000"));
    assert!(check("DateLessThan", policy_date, "20240601T000000Z"));
    assert!(!check("DateLessThan", policy_date, "2031-01-01"));
    assert!(check(
        "DateLessThanEquals",
        policy_date,
        "2030-01-01T01:00:00+01:00"
    ));
    assert!(check(
        "DateGreaterThan",
        policy_date,
        "2030-01-01T00:00:01Z"
    ));
    assert!(!check("DateGreaterThan", policy_date, policy_date));
    assert!(check("DateGreaterThanEquals", policy_date, policy_date));
    assert!(check("DateEquals", policy_date, "1893456000"));
    assert!(check("DateNotEquals", policy_date, "1893456001"));
    assert!(!check("DateNotEquals", policy_date, "2030-01-01"));
    assert!(!check("DateLessThan", policy_date, "soon"));
    assert!(holds(
        r#"{"DateLessThan": {"aws:EpochTime": "1893456000"}}"#,
        &ctx("aws:EpochTime", "1700000000")
    ));
}

#[test]
fn dates_parse_as_iam_writes_them() {
    assert_eq!(parse_date("1970-01-01"), Some(0));
    assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_date("2000-02-29T12:30:15.999Z"), Some(951_827_415));
    assert_eq!(parse_date("2000-02-29T12:30Z"), Some(951_827_400));
    assert_eq!(parse_date("2000-02-29T13:30:15+01:00"), Some(951_827_415));
    assert_eq!(parse_date("2000-02-29T11:30:15-0100"), Some(951_827_415));
    assert_eq!(parse_date("1969-12-31T23:59:59Z"), Some(-1));
    assert_eq!(parse_date("20000229T123015Z"), Some(951_827_415));
    assert_eq!(parse_date("1700000000"), Some(1_700_000_000));
    for bad in [
        "",
        "2001-02-29",
        "2000-13-01",
        "2000-01-01T24:00:00Z",
        "2000-01-01T",
        "2000-1-1",
        "2000-01-01T00:00:00Q",
        "2000-01-01T00:00:00.Z",
        "20000229T123015",
        "tomorrow",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
    assert_eq!(parse_number("007"), Some(7.0));
    assert_eq!(parse_number("-0.25"), Some(-0.25));
    for bad in ["", "-", "1.", ".5", "1e3", "inf", "NaN", "+1", "1 "] {
        assert_eq!(parse_number(bad), None, "{bad}");
    }
}

#[test]
fn bool_binary_and_null() {
    let c = r#"{"Bool": {"aws:SecureTransport": "false"}}"#;
    assert!(holds(c, &ctx("aws:SecureTransport", "false")));
    assert!(holds(c, &ctx("aws:SecureTransport", "FALSE")));
    assert!(!holds(c, &ctx("aws:SecureTransport", "true")));
    assert!(!holds(c, &ctx("aws:SecureTransport", "no")));
    assert!(!holds(c, &none()));
    let c = r#"{"BinaryEquals": {"s3:x-amz-content-sha256": "QmluYXJ5"}}"#;
    assert!(holds(c, &ctx("s3:x-amz-content-sha256", "QmluYXJ5")));
    assert!(!holds(c, &ctx("s3:x-amz-content-sha256", "qmluyxj5")));
    let c = r#"{"Null": {"s3:x-amz-server-side-encryption": "true"}}"#;
    assert!(holds(c, &none()));
    assert!(!holds(c, &ctx("s3:x-amz-server-side-encryption", "AES256")));
    let c = r#"{"Null": {"s3:x-amz-server-side-encryption": "false"}}"#;
    assert!(!holds(c, &none()));
    assert!(holds(c, &ctx("s3:x-amz-server-side-encryption", "AES256")));
    // A key present with no values counts as absent.
    let empty = Context::new().with_all("s3:RequestObjectTagKeys", Vec::<String>::new());
    assert!(holds(
        r#"{"Null": {"s3:RequestObjectTagKeys": "true"}}"#,
        &empty
    ));
}

#[test]
fn ip_operators() {
    let c = r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}}"#;
    assert!(holds(c, &ctx("aws:SourceIp", "192.0.2.7")));
    assert!(holds(c, &ctx("aws:SourceIp", "::ffff:192.0.2.7")));
    assert!(holds(c, &ctx("aws:SourceIp", "2001:db8:1::5")));
    assert!(!holds(c, &ctx("aws:SourceIp", "198.51.100.1")));
    assert!(!holds(c, &ctx("aws:SourceIp", "2001:db9::1")));
    assert!(!holds(c, &ctx("aws:SourceIp", "not an address")));
    assert!(!holds(c, &none()));
    let c = r#"{"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#;
    assert!(!holds(c, &ctx("aws:SourceIp", "192.0.2.7")));
    assert!(holds(c, &ctx("aws:SourceIp", "203.0.113.9")));
    assert!(holds(c, &none()));
    let c = r#"{"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "203.0.113.9"]}}"#;
    assert!(holds(c, &ctx("aws:SourceIp", "8.8.8.8")));
    assert!(!holds(c, &ctx("aws:SourceIp", "::1")));
}

#[test]
fn arn_operators() {
    let pattern = "arn:aws:sns:*:123456789012:topic-*";
    for operator in ["ArnLike", "ArnEquals"] {
        let c = format!(r#"{{"{operator}": {{"aws:SourceArn": "{pattern}"}}}}"#);
        assert!(holds(
            &c,
            &ctx(
                "aws:SourceArn",
                "arn:aws:sns:us-east-1:123456789012:topic-a"
            )
        ));
        // Wildcards stay within their part.
        assert!(!holds(
            &c,
            &ctx("aws:SourceArn", "arn:aws:sns:us:east:123456789012:topic-a")
        ));
        assert!(!holds(
            &c,
            &ctx("aws:SourceArn", "arn:aws:sns:us-east-1:999:topic-a")
        ));
        assert!(!holds(&c, &ctx("aws:SourceArn", "topic-a")));
        assert!(!holds(&c, &none()));
    }
    for operator in ["ArnNotLike", "ArnNotEquals"] {
        let c = format!(r#"{{"{operator}": {{"aws:SourceArn": "{pattern}"}}}}"#);
        assert!(!holds(
            &c,
            &ctx(
                "aws:SourceArn",
                "arn:aws:sns:eu-west-1:123456789012:topic-b"
            )
        ));
        assert!(holds(
            &c,
            &ctx(
                "aws:SourceArn",
                "arn:aws:sqs:eu-west-1:123456789012:topic-b"
            )
        ));
        assert!(holds(&c, &none()));
    }
    // The resource part keeps its colons.
    assert!(arn_matches(
        "arn:aws:s3:::b/*".as_bytes(),
        "arn:aws:s3:::b/a:b"
    ));
    assert!(!arn_matches(
        "arn:aws:s3:::b".as_bytes(),
        "arn:aws:s3:::b/a"
    ));
}

#[test]
fn if_exists() {
    let c = r#"{"StringEqualsIfExists": {"s3:x-amz-storage-class": "STANDARD"}}"#;
    assert!(holds(c, &none()));
    assert!(holds(c, &ctx("s3:x-amz-storage-class", "STANDARD")));
    assert!(!holds(c, &ctx("s3:x-amz-storage-class", "GLACIER")));
    let c = r#"{"NumericLessThanIfExists": {"s3:max-keys": "10"}}"#;
    assert!(holds(c, &none()));
    assert!(!holds(c, &ctx("s3:max-keys", "100")));
    let c = r#"{"StringNotEqualsIfExists": {"s3:x-amz-acl": "public-read"}}"#;
    assert!(holds(c, &none()));
    assert!(!holds(c, &ctx("s3:x-amz-acl", "public-read")));
}

#[test]
fn set_qualifiers() {
    let key = "s3:RequestObjectTagKeys";
    let tags = |values: &[&str]| Context::new().with_all(key, values.iter().copied());
    let any = r#"{"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}"#;
    assert!(holds(any, &tags(&["c", "a"])));
    assert!(!holds(any, &tags(&["c"])));
    assert!(!holds(any, &tags(&[])));
    assert!(!holds(any, &none()));
    let any_if = r#"{"ForAnyValue:StringEqualsIfExists": {"s3:RequestObjectTagKeys": "a"}}"#;
    assert!(holds(any_if, &none()));
    let all = r#"{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}"#;
    assert!(holds(all, &tags(&["a", "b"])));
    assert!(holds(all, &tags(&["b"])));
    assert!(!holds(all, &tags(&["a", "c"])));
    assert!(holds(all, &tags(&[])));
    assert!(holds(all, &none()));
    let all_not = r#"{"ForAllValues:StringNotEquals": {"s3:RequestObjectTagKeys": "a"}}"#;
    assert!(holds(all_not, &tags(&["b", "c"])));
    assert!(!holds(all_not, &tags(&["a", "b"])));
    let any_not = r#"{"ForAnyValue:StringNotLike": {"s3:RequestObjectTagKeys": "a*"}}"#;
    assert!(holds(any_not, &tags(&["ab", "c"])));
    assert!(!holds(any_not, &tags(&["ab"])));
    assert!(!holds(any_not, &none()));
    // Without a qualifier: any value for a positive operator, none for a
    // negated one.
    let plain = r#"{"StringEquals": {"s3:RequestObjectTagKeys": "a"}}"#;
    assert!(holds(plain, &tags(&["b", "a"])));
    let plain_not = r#"{"StringNotEquals": {"s3:RequestObjectTagKeys": "a"}}"#;
    assert!(!holds(plain_not, &tags(&["b", "a"])));
    assert!(holds(plain_not, &tags(&["b", "c"])));
}

#[test]
fn conditions_and_keys_all_hold() {
    let c = r#"{"StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"},
                "Bool": {"aws:SecureTransport": "true"}}"#;
    let all = Context::new()
        .with("s3:prefix", "a")
        .with("s3:delimiter", "/")
        .with("aws:SecureTransport", "true");
    assert!(holds(c, &all));
    let missing_one = Context::new()
        .with("s3:prefix", "a")
        .with("aws:SecureTransport", "true");
    assert!(!holds(c, &missing_one));
}

#[test]
fn context_keys_compare_as_iam_does() {
    let c = Context::new()
        .with("AWS:sourceip", "192.0.2.1")
        .with("s3:ExistingObjectTag/Team", "ops");
    assert!(c.values("aws:SourceIp").is_some());
    assert!(c.values("S3:EXISTINGOBJECTTAG/Team").is_some());
    assert!(c.values("s3:ExistingObjectTag/team").is_none());
    assert!(same_key("s3:RequestObjectTag/A", "S3:requestobjecttag/A"));
    assert!(!same_key("s3:RequestObjectTag/A", "s3:RequestObjectTag/a"));
    let tagged = r#"{"StringEquals": {"s3:existingobjecttag/Team": "ops"}}"#;
    assert!(holds(tagged, &c));
    let values = ContextValues::Strs(&["x", "y"]);
    assert_eq!(values.iter().collect::<Vec<_>>(), vec!["x", "y"]);
    assert_eq!(values.single(), None);
    assert_eq!(ContextValues::One("x").single(), Some("x"));
}

#[test]
fn policy_variables_substitute() {
    let document = statement(
        r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": "arn:aws:s3:::b/home/${aws:username}/*""#,
    );
    let alice = ctx("aws:username", "alice");
    let v = |key: &str, context: &Context| {
        judge(
            &document,
            &request(
                "s3:GetObject",
                &format!("arn:aws:s3:::b/home/{key}"),
                context,
            ),
        )
    };
    assert_eq!(v("alice/x", &alice), Verdict::Allow { sid: None });
    assert_eq!(v("bob/x", &alice), Verdict::NoMatch);
    assert_eq!(v("alice/x", &none()), Verdict::NoMatch);
    // A substituted value is literal, never a wildcard.
    assert_eq!(v("alice/x", &ctx("aws:username", "*")), Verdict::NoMatch);
    assert_eq!(
        v("*/x", &ctx("aws:username", "*")),
        Verdict::Allow { sid: None }
    );
    // A key with several values does not substitute.
    let two = Context::new().with_all("aws:username", ["alice", "bob"]);
    assert_eq!(v("alice/x", &two), Verdict::NoMatch);

    let c = r#"{"StringLike": {"s3:prefix": "home/${aws:username}/*"}}"#;
    let ask = Context::new()
        .with("aws:username", "alice")
        .with("s3:prefix", "home/alice/docs");
    assert!(holds(c, &ask));
    let c = r#"{"StringEquals": {"s3:prefix": "${aws:username, 'guest'}"}}"#;
    assert!(holds(c, &ctx("s3:prefix", "guest")));
    assert!(!holds(c, &ask));
    // An unresolvable value matches nothing, so its negation holds.
    let c = r#"{"StringNotEquals": {"s3:prefix": "${aws:username}"}}"#;
    assert!(holds(c, &ctx("s3:prefix", "x")));

    // Escapes are literal characters.
    let document = statement(
        r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": "arn:aws:s3:::b/${*}${?}${$}""#,
    );
    let ok = judge(
        &document,
        &request("s3:GetObject", "arn:aws:s3:::b/*?$", &alice),
    );
    assert_eq!(ok, Verdict::Allow { sid: None });
    let no = judge(
        &document,
        &request("s3:GetObject", "arn:aws:s3:::b/ab$", &alice),
    );
    assert_eq!(no, Verdict::NoMatch);
}

const TWO_STATEMENTS: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::b/*"},
    {"Sid": "Read2", "Effect": "Allow", "Principal": "*", "Action": "s3:Get*",
     "Resource": "arn:aws:s3:::b/*"},
    {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": "arn:aws:s3:::b/secret/*"}]}"#;

#[test]
fn deny_overrides_allow() {
    let c = none();
    assert_eq!(
        judge(
            TWO_STATEMENTS,
            &request("s3:GetObject", "arn:aws:s3:::b/x", &c)
        ),
        Verdict::Allow { sid: Some("Read") }
    );
    assert_eq!(
        judge(
            TWO_STATEMENTS,
            &request("s3:GetObject", "arn:aws:s3:::b/secret/x", &c)
        ),
        Verdict::ExplicitDeny {
            sid: Some("NoSecrets")
        }
    );
    assert_eq!(
        judge(
            TWO_STATEMENTS,
            &request("s3:GetObjectAcl", "arn:aws:s3:::b/x", &c)
        ),
        Verdict::Allow { sid: Some("Read2") }
    );
    assert_eq!(
        judge(
            TWO_STATEMENTS,
            &request("s3:PutObject", "arn:aws:s3:::b/x", &c)
        ),
        Verdict::NoMatch
    );
}

#[test]
fn principals_match_accounts() {
    let document = statement(&format!(
        r#""Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::alice:root"}}, {READ}"#
    ));
    let c = none();
    let mut req = request("s3:GetObject", "arn:aws:s3:::b/x", &c);
    assert_eq!(judge(&document, &req), Verdict::NoMatch);
    req.principal = Some("alice");
    assert_eq!(judge(&document, &req), Verdict::Allow { sid: None });
    req.principal = Some("bob");
    assert_eq!(judge(&document, &req), Verdict::NoMatch);
    let everyone = statement(&format!(
        r#""Effect": "Allow", "Principal": {{"AWS": "*"}}, {READ}"#
    ));
    assert_eq!(judge(&everyone, &req), Verdict::Allow { sid: None });
    req.principal = None;
    assert_eq!(judge(&everyone, &req), Verdict::Allow { sid: None });
}

#[test]
fn negated_elements() {
    let c = none();
    let not_principal = statement(&format!(
        r#""Effect": "Deny", "NotPrincipal": {{"AWS": "alice"}}, {READ}"#
    ));
    let mut req = request("s3:GetObject", "arn:aws:s3:::b/x", &c);
    assert_eq!(
        judge(&not_principal, &req),
        Verdict::ExplicitDeny { sid: None }
    );
    req.principal = Some("bob");
    assert_eq!(
        judge(&not_principal, &req),
        Verdict::ExplicitDeny { sid: None }
    );
    req.principal = Some("alice");
    assert_eq!(judge(&not_principal, &req), Verdict::NoMatch);

    let not_action = statement(
        r#""Effect": "Allow", "Principal": "*", "NotAction": "s3:DeleteObject",
           "Resource": "arn:aws:s3:::b/*""#,
    );
    let req = request("s3:GetObject", "arn:aws:s3:::b/x", &c);
    assert_eq!(judge(&not_action, &req), Verdict::Allow { sid: None });
    let req = request("s3:DeleteObject", "arn:aws:s3:::b/x", &c);
    assert_eq!(judge(&not_action, &req), Verdict::NoMatch);

    let not_resource = statement(
        r#""Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
           "NotResource": "arn:aws:s3:::b/public/*""#,
    );
    let req = request("s3:GetObject", "arn:aws:s3:::b/private/x", &c);
    assert_eq!(
        judge(&not_resource, &req),
        Verdict::ExplicitDeny { sid: None }
    );
    let req = request("s3:GetObject", "arn:aws:s3:::b/public/x", &c);
    assert_eq!(judge(&not_resource, &req), Verdict::NoMatch);
}

#[test]
fn wildcards() {
    assert!(matches("s3:get*", "s3:GetObject", ascii_caseless));
    assert!(!matches("s3:get*", "s3:GetObject", exact));
    assert!(matches("*", "", exact));
    assert!(matches("a*b*c", "aXbYbZc", exact));
    assert!(!matches("a*b*c", "aXbYbZ", exact));
    assert!(matches("a?c", "aéc", exact));
    assert!(!matches("a?c", "ac", exact));
    assert!(matches("*.jpg", "a/b/c.jpg", exact));
    assert!(matches("a**", "a", exact));
    assert!(matches("a*b", "ab", exact));
    assert!(!matches("a*b", "a", exact));
    assert!(matches("?", "é", exact));
    assert!(!matches("??", "é", exact));
    assert!(matches("a*é*", "aXéY", exact));
    assert!(matches("*é", "ééé", exact));
    assert!(!matches("", "a", exact));
    assert!(matches("", "", exact));
    assert!(matches("S3:GET*", "s3:getObject", ascii_caseless));
    assert!(!matches("s3:GetObject", "s3:GetObjectAcl", ascii_caseless));
    assert!(matches("*/*/x?z", "a/b/c/xyz", exact));
    // Resources compare case-sensitively, actions not.
    let document = statement(
        r#""Effect": "Allow", "Principal": "*", "Action": "S3:get*",
           "Resource": "arn:aws:s3:::b/Photos/*""#,
    );
    let c = none();
    let req = request("s3:GetObject", "arn:aws:s3:::b/Photos/x", &c);
    assert_eq!(judge(&document, &req), Verdict::Allow { sid: None });
    let req = request("s3:GetObject", "arn:aws:s3:::b/photos/x", &c);
    assert_eq!(judge(&document, &req), Verdict::NoMatch);
}

// ----------------------------------------- AWS's published example policies

/// "Restricting access to specific IP addresses"
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html>).
#[test]
fn example_ip_restriction() {
    let document = r#"{
        "Version": "2012-10-17",
        "Id": "S3PolicyId1",
        "Statement": [{
            "Sid": "IPAllow",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}
        }]
    }"#;
    let outside = ctx("aws:SourceIp", "203.0.113.1");
    let inside = ctx("aws:SourceIp", "192.0.2.10");
    assert_eq!(
        judge(
            document,
            &request("s3:ListBucket", "arn:aws:s3:::b", &outside)
        ),
        Verdict::ExplicitDeny {
            sid: Some("IPAllow")
        }
    );
    assert_eq!(
        judge(
            document,
            &request("s3:GetObject", "arn:aws:s3:::b/x", &inside)
        ),
        Verdict::NoMatch
    );
    assert!(!parsed(document).is_public());
}

/// "Managing access based on HTTP or HTTPS requests".
#[test]
fn example_require_tls() {
    let document = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RestrictToTLSRequestsOnly",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Principal": "*"
        }]
    }"#;
    let plain = ctx("aws:SecureTransport", "false");
    let tls = ctx("aws:SecureTransport", "true");
    assert_eq!(
        judge(
            document,
            &request("s3:PutObject", "arn:aws:s3:::b/x", &plain)
        ),
        Verdict::ExplicitDeny {
            sid: Some("RestrictToTLSRequestsOnly")
        }
    );
    assert_eq!(
        judge(document, &request("s3:PutObject", "arn:aws:s3:::b/x", &tls)),
        Verdict::NoMatch
    );
    assert!(!parsed(document).is_public());
}

/// Another account may list and read one prefix only (`s3:prefix`).
#[test]
fn example_cross_account_prefix() {
    let document = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowListingOfProjects",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": ["projects/*"]}}
        }, {
            "Sid": "AllowReadingProjects",
            "Effect": "Allow",
            "Principal": {"AWS": "111122223333"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/projects/*"
        }]
    }"#;
    let policy = parsed(document);
    assert_eq!(policy.accounts(), vec!["111122223333"]);
    assert!(!policy.is_public());
    let projects = ctx("s3:prefix", "projects/2024/");
    let other = ctx("s3:prefix", "finance/");
    let mut req = request("s3:ListBucket", "arn:aws:s3:::b", &projects);
    req.principal = Some("111122223333");
    assert_eq!(
        judge(document, &req),
        Verdict::Allow {
            sid: Some("AllowListingOfProjects")
        }
    );
    req.context = &other;
    assert_eq!(judge(document, &req), Verdict::NoMatch);
    let mut read = request("s3:GetObject", "arn:aws:s3:::b/projects/a", &other);
    read.principal = Some("111122223333");
    assert_eq!(
        judge(document, &read),
        Verdict::Allow {
            sid: Some("AllowReadingProjects")
        }
    );
    read.principal = None;
    assert_eq!(judge(document, &read), Verdict::NoMatch);
}

/// "Requiring server-side encryption": refuse uploads without the header or
/// with another algorithm.
#[test]
fn example_deny_unencrypted_uploads() {
    let document = r#"{
        "Version": "2012-10-17",
        "Id": "PutObjectPolicy",
        "Statement": [{
            "Sid": "DenyIncorrectEncryptionHeader",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}
        }, {
            "Sid": "DenyUnEncryptedObjectUploads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}
        }]
    }"#;
    let key = "s3:x-amz-server-side-encryption";
    let upload = |c: &Context| judge(document, &request("s3:PutObject", "arn:aws:s3:::b/x", c));
    assert_eq!(
        upload(&none()),
        Verdict::ExplicitDeny {
            sid: Some("DenyIncorrectEncryptionHeader")
        }
    );
    assert_eq!(
        upload(&ctx(key, "aws:kms")),
        Verdict::ExplicitDeny {
            sid: Some("DenyIncorrectEncryptionHeader")
        }
    );
    assert_eq!(upload(&ctx(key, "AES256")), Verdict::NoMatch);
    assert!(!parsed(document).is_public());
}

/// "Granting read-only permission to a public anonymous user", for one
/// prefix.
#[test]
fn example_public_read_of_a_prefix() {
    let document = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": ["arn:aws:s3:::b/public/*"]
        }]
    }"#;
    let c = none();
    assert_eq!(
        judge(
            document,
            &request("s3:GetObject", "arn:aws:s3:::b/public/a.png", &c)
        ),
        Verdict::Allow {
            sid: Some("PublicRead")
        }
    );
    assert_eq!(
        judge(
            document,
            &request("s3:GetObject", "arn:aws:s3:::b/private/a.png", &c)
        ),
        Verdict::NoMatch
    );
    assert!(parsed(document).is_public());
}

// ------------------------------------------------------------ is_public

fn public_with(condition: &str) -> bool {
    parsed(&conditional(condition)).is_public()
}

#[test]
fn what_is_public() {
    assert!(public_with("{}"));
    assert!(!public_with(
        r#"{"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}}"#
    ));
    assert!(!public_with(
        r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1"}}"#
    ));
    assert!(!public_with(
        r#"{"StringEquals": {"aws:PrincipalOrgID": "o-123"}}"#
    ));
    assert!(!public_with(
        r#"{"StringLike": {"aws:SourceAccount": "111122223333"}}"#
    ));
    assert!(public_with(r#"{"StringLike": {"aws:SourceVpc": "vpc-*"}}"#));
    assert!(public_with(
        r#"{"StringLike": {"aws:userid": "AROLEID:*"}}"#
    ));
    assert!(public_with(
        r#"{"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}"#
    ));
    assert!(public_with(
        r#"{"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}"#
    ));
    assert!(public_with(
        r#"{"ForAllValues:StringEquals": {"aws:SourceVpc": "vpc-1"}}"#
    ));
    assert!(public_with(
        r#"{"StringEquals": {"aws:SourceVpc": "${aws:username}"}}"#
    ));
    assert!(public_with(r#"{"StringEquals": {"s3:prefix": "home/"}}"#));
    assert!(public_with(r#"{"Bool": {"aws:SecureTransport": "true"}}"#));
    assert!(!public_with(
        r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7"]}}"#
    ));
    assert!(!public_with(
        r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#
    ));
    assert!(public_with(
        r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}}"#
    ));
    assert!(public_with(
        r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/7"}}"#
    ));
    assert!(public_with(
        r#"{"IpAddress": {"aws:SourceIp": "2001::/16"}}"#
    ));
    assert!(public_with(
        r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#
    ));
    // One pinning condition among others is enough.
    assert!(!public_with(
        r#"{"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#
    ));

    // NotPrincipal with Allow is refused, but a policy built in code may
    // have it: it grants to everyone not listed.
    let not_principal = statement(&format!(
        r#""Effect": "Allow", "NotPrincipal": {{"AWS": "alice"}}, {READ}"#
    ));
    assert!(matches!(refused(&not_principal), PolicyError::Principal(_)));
    let mut policy = parsed(&statement(&format!(
        r#""Effect": "Allow", "Principal": {{"AWS": "alice"}}, {READ}"#
    )));
    policy.statements[0].principal.negated = true;
    assert!(policy.is_public());
    let account = statement(&format!(
        r#""Effect": "Allow", "Principal": {{"AWS": "alice"}}, {READ}"#
    ));
    assert!(!parsed(&account).is_public());
    let deny = statement(&format!(r#""Effect": "Deny", "Principal": "*", {READ}"#));
    assert!(!parsed(&deny).is_public());
}

// ---------------------------------------------------------------- actions

#[test]
fn operations_map_to_actions() {
    for (operation, versioned, action) in [
        ("GetObject", false, "s3:GetObject"),
        ("HeadObject", false, "s3:GetObject"),
        ("GetObject", true, "s3:GetObjectVersion"),
        ("HeadObject", true, "s3:GetObjectVersion"),
        ("ListObjects", false, "s3:ListBucket"),
        ("ListObjectsV2", false, "s3:ListBucket"),
        ("HeadBucket", false, "s3:ListBucket"),
        ("ListObjectVersions", false, "s3:ListBucketVersions"),
        (
            "ListMultipartUploads",
            false,
            "s3:ListBucketMultipartUploads",
        ),
        ("ListParts", false, "s3:ListMultipartUploadParts"),
        ("PutObject", false, "s3:PutObject"),
        ("PostObject", false, "s3:PutObject"),
        ("CopyObject", false, "s3:PutObject"),
        ("CreateMultipartUpload", false, "s3:PutObject"),
        ("UploadPart", false, "s3:PutObject"),
        ("UploadPartCopy", false, "s3:PutObject"),
        ("CompleteMultipartUpload", false, "s3:PutObject"),
        ("DeleteObject", false, "s3:DeleteObject"),
        ("DeleteObject", true, "s3:DeleteObjectVersion"),
        ("DeleteObjects", false, "s3:DeleteObject"),
        ("AbortMultipartUpload", false, "s3:AbortMultipartUpload"),
        ("GetObjectAcl", true, "s3:GetObjectVersionAcl"),
        ("PutObjectAcl", true, "s3:PutObjectVersionAcl"),
        ("GetBucketAcl", false, "s3:GetBucketAcl"),
        ("PutBucketAcl", false, "s3:PutBucketAcl"),
        ("GetBucketCors", false, "s3:GetBucketCORS"),
        ("PutBucketCors", false, "s3:PutBucketCORS"),
        ("DeleteBucketCors", false, "s3:PutBucketCORS"),
        ("GetBucketVersioning", false, "s3:GetBucketVersioning"),
        ("PutBucketVersioning", false, "s3:PutBucketVersioning"),
        ("GetBucketLocation", false, "s3:GetBucketLocation"),
        (
            "GetBucketLifecycleConfiguration",
            false,
            "s3:GetLifecycleConfiguration",
        ),
        (
            "PutBucketLifecycleConfiguration",
            false,
            "s3:PutLifecycleConfiguration",
        ),
        (
            "DeleteBucketLifecycle",
            false,
            "s3:PutLifecycleConfiguration",
        ),
        ("GetObjectTagging", true, "s3:GetObjectVersionTagging"),
        ("PutObjectTagging", false, "s3:PutObjectTagging"),
        ("DeleteObjectTagging", true, "s3:DeleteObjectVersionTagging"),
        ("DeleteBucketTagging", false, "s3:PutBucketTagging"),
        ("GetObjectRetention", true, "s3:GetObjectRetention"),
        ("PutObjectLegalHold", false, "s3:PutObjectLegalHold"),
        (
            "GetObjectLockConfiguration",
            false,
            "s3:GetBucketObjectLockConfiguration",
        ),
        (
            "PutObjectLockConfiguration",
            false,
            "s3:PutBucketObjectLockConfiguration",
        ),
        ("GetObjectAttributes", true, "s3:GetObjectVersionAttributes"),
        ("DeleteBucketPolicy", false, "s3:DeleteBucketPolicy"),
        ("GetBucketPolicyStatus", false, "s3:GetBucketPolicyStatus"),
        (
            "DeletePublicAccessBlock",
            false,
            "s3:PutBucketPublicAccessBlock",
        ),
        (
            "GetPublicAccessBlock",
            false,
            "s3:GetBucketPublicAccessBlock",
        ),
        (
            "DeleteBucketOwnershipControls",
            false,
            "s3:PutBucketOwnershipControls",
        ),
        ("CreateBucket", false, "s3:CreateBucket"),
        ("DeleteBucket", false, "s3:DeleteBucket"),
        ("ListBuckets", false, "s3:ListAllMyBuckets"),
    ] {
        assert_eq!(
            action_for(operation, versioned),
            Some(action),
            "{operation}"
        );
    }
    assert_eq!(action_for("SelectObjectContent", false), None);
    assert_eq!(action_for("getobject", false), None);
}

#[test]
fn every_mapped_action_is_known() {
    let operations = [
        "ListBuckets",
        "CreateBucket",
        "DeleteBucket",
        "HeadBucket",
        "ListObjects",
        "ListObjectVersions",
        "ListMultipartUploads",
        "ListParts",
        "GetObject",
        "PutObject",
        "DeleteObject",
        "AbortMultipartUpload",
        "RestoreObject",
        "GetObjectAcl",
        "PutObjectAcl",
        "GetBucketAcl",
        "PutBucketAcl",
        "GetBucketCors",
        "PutBucketCors",
        "GetBucketVersioning",
        "PutBucketVersioning",
        "GetBucketLocation",
        "GetBucketLifecycle",
        "PutBucketLifecycle",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "GetBucketTagging",
        "PutBucketTagging",
        "GetObjectRetention",
        "PutObjectRetention",
        "GetObjectLegalHold",
        "PutObjectLegalHold",
        "GetObjectLockConfiguration",
        "PutObjectLockConfiguration",
        "BypassGovernanceRetention",
        "GetObjectAttributes",
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "GetBucketPolicyStatus",
        "GetPublicAccessBlock",
        "PutPublicAccessBlock",
        "GetBucketOwnershipControls",
        "PutBucketOwnershipControls",
        "GetBucketWebsite",
        "PutBucketWebsite",
        "DeleteBucketWebsite",
        "GetBucketLogging",
        "PutBucketLogging",
        "GetBucketEncryption",
        "PutBucketEncryption",
        "GetBucketNotificationConfiguration",
        "PutBucketNotificationConfiguration",
        "GetBucketReplication",
        "PutBucketReplication",
        "GetBucketAccelerateConfiguration",
        "PutBucketAccelerateConfiguration",
        "GetBucketRequestPayment",
        "PutBucketRequestPayment",
    ];
    for operation in operations {
        for versioned in [false, true] {
            let action = action_for(operation, versioned).expect(operation);
            assert!(action_level(action).is_some(), "{action}");
        }
    }
    assert_eq!(action_level("S3:GETOBJECT"), Some(ActionLevel::Object));
    assert_eq!(action_level("s3:ListBucket"), Some(ActionLevel::Bucket));
}

#[test]
fn operators_round_trip_their_codes_and_names() {
    for (code, operator) in Operator::ALL.into_iter().enumerate() {
        assert_eq!(operator as usize, code);
        assert_eq!(Operator::from_code(code as u8), Some(operator));
        assert_eq!(
            Operator::parse(operator.name()),
            Some((operator, None, false))
        );
    }
    assert_eq!(Operator::from_code(Operator::ALL.len() as u8), None);
}
