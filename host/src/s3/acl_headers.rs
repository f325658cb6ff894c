//! The ACL a request asks for: the canned `x-amz-acl` header or the `x-amz-grant-*`
//! headers (on PutObject, CreateBucket, PutObjectAcl and PutBucketAcl), and the resolution
//! of requested grantees (canonical ids, e-mail addresses, group URIs) into stored
//! [`Grants`], shared with the `AccessControlPolicy` body of the ACL calls.
//!
//! Parsing ([`parse_acl_headers`]) is pure; resolution ([`resolve_grants`]) looks accounts
//! up in one query per kind of grantee. Everything here runs before a request body is read,
//! so a PutObject with a bad ACL fails without receiving any data.
//!
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html#API_PutObjectAcl_RequestSyntax>

use std::collections::{HashMap, HashSet};

use http::HeaderMap;
use sqlx::PgPool;

use crate::acl::{CannedAcl, Grant, Grantee, Grants, Group, MAX_GRANTS, Permission};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::accounts;

/// The canned ACL header.
pub const CANNED_ACL: &str = "x-amz-acl";

/// The grant headers, each with the permission it grants, in S3's documented order.
pub const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("x-amz-grant-full-control", Permission::FullControl),
    ("x-amz-grant-read", Permission::Read),
    ("x-amz-grant-read-acp", Permission::ReadAcp),
    ("x-amz-grant-write", Permission::Write),
    ("x-amz-grant-write-acp", Permission::WriteAcp),
];

/// What the ACL is for; canned ACLs mean different grants on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclTarget<'a> {
    /// A bucket.
    Bucket,
    /// An object in a bucket owned by `bucket_owner` (a canonical id), which
    /// `bucket-owner-read` and `bucket-owner-full-control` refer to.
    Object {
        /// The bucket owner's canonical id.
        bucket_owner: &'a str,
    },
}

/// A grantee as a request names it, before it is checked against the accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GranteeRef {
    /// `id=` / `xsi:type="CanonicalUser"`: an account's canonical id.
    Id(String),
    /// `emailAddress=` / `xsi:type="AmazonCustomerByEmail"`: an account's e-mail.
    Email(String),
    /// `uri=` / `xsi:type="Group"`: a predefined group (its URI already checked).
    Group(Group),
}

/// One grant as a request asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestedGrant {
    /// Who.
    pub grantee: GranteeRef,
    /// What.
    pub permission: Permission,
}

/// The ACL a request's headers ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderAcl {
    /// `x-amz-acl`.
    Canned(CannedAcl),
    /// `x-amz-grant-*`: exactly these grants (S3 adds no owner grant to them).
    Grants(Vec<RequestedGrant>),
}

/// Whether the request carries `x-amz-acl` or any `x-amz-grant-*` header.
pub fn has_acl_headers(h: &HeaderMap) -> bool {
    h.contains_key(CANNED_ACL) || GRANT_HEADERS.iter().any(|(name, _)| h.contains_key(*name))
}

fn invalid_argument(message: &str, name: &str, value: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message)
        .extra("ArgumentName", name)
        .extra("ArgumentValue", value)
}

/// The `InvalidArgument` S3 answers for a group URI it does not know.
pub fn invalid_group_uri(uri: &str) -> S3Error {
    invalid_argument("Invalid group uri", "uri", uri)
}

fn header_text<'h>(h: &'h HeaderMap, name: &str) -> S3Result<Vec<&'h str>> {
    h.get_all(name)
        .iter()
        .map(|v| {
            v.to_str().map_err(|_| {
                invalid_argument(
                    "Argument format not recognized",
                    name,
                    &String::from_utf8_lossy(v.as_bytes()),
                )
            })
        })
        .collect()
}

/// Reads the ACL headers: `Ok(None)` when there are none. `x-amz-acl` together with a
/// grant header is `InvalidRequest`, as on S3; an unknown canned ACL (or
/// `log-delivery-write` on an object), a grant header that does not parse or an unknown
/// group URI is `InvalidArgument`. Grantees named by id or e-mail are checked later, by
/// [`resolve_grants`].
pub fn parse_acl_headers(h: &HeaderMap, target: AclTarget<'_>) -> S3Result<Option<HeaderAcl>> {
    let canned = header_text(h, CANNED_ACL)?;
    let granted = GRANT_HEADERS.iter().any(|(name, _)| h.contains_key(*name));
    if !canned.is_empty() && granted {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Specifying both Canned ACLs and Header Grants is not allowed",
        ));
    }
    if let [value] = canned.as_slice() {
        let value = value.trim();
        let canned = CannedAcl::parse(value)
            .filter(|c| {
                !(matches!(target, AclTarget::Object { .. }) && *c == CannedAcl::LogDeliveryWrite)
            })
            .ok_or_else(|| invalid_argument("Invalid canned ACL", CANNED_ACL, value))?;
        return Ok(Some(HeaderAcl::Canned(canned)));
    }
    if canned.len() > 1 {
        return Err(invalid_argument(
            "Invalid canned ACL",
            CANNED_ACL,
            &canned.join(","),
        ));
    }
    if !granted {
        return Ok(None);
    }
    let mut grants = Vec::new();
    for (name, permission) in GRANT_HEADERS {
        for value in header_text(h, name)? {
            let grantees = parse_grantees(value)
                .ok_or_else(|| invalid_argument("Argument format not recognized", name, value))?;
            for (kind, id) in grantees {
                let grantee = match kind {
                    GranteeKind::Id => GranteeRef::Id(id),
                    GranteeKind::Email => GranteeRef::Email(id),
                    GranteeKind::Uri => GranteeRef::Group(
                        Group::from_uri(&id).ok_or_else(|| invalid_group_uri(&id))?,
                    ),
                };
                grants.push(RequestedGrant {
                    grantee,
                    permission,
                });
            }
        }
    }
    if grants.len() > MAX_GRANTS {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("An ACL may hold at most {MAX_GRANTS} grants"),
        ));
    }
    Ok(Some(HeaderAcl::Grants(grants)))
}

/// The kind of grantee a grant header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GranteeKind {
    Id,
    Email,
    Uri,
}

/// Parses one grant header's value: a comma-separated list of `type=value` where `type` is
/// `id`, `emailAddress` or `uri` (any ASCII case) and the value is either double-quoted
/// (and may then hold commas, `=` and spaces) or a bare token; whitespace around items,
/// names, `=` and values is ignored. `None` when it does not parse or a value is empty.
fn parse_grantees(value: &str) -> Option<Vec<(GranteeKind, String)>> {
    let mut out = Vec::new();
    let mut rest = value.trim_start();
    loop {
        let (kind, after) = rest.split_once('=')?;
        let kind = match kind.trim() {
            k if k.eq_ignore_ascii_case("id") => GranteeKind::Id,
            k if k.eq_ignore_ascii_case("emailAddress") => GranteeKind::Email,
            k if k.eq_ignore_ascii_case("uri") => GranteeKind::Uri,
            _ => return None,
        };
        let after = after.trim_start();
        let (id, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let (id, after) = quoted.split_once('"')?;
                let after = after.trim_start();
                if !(after.is_empty() || after.starts_with(',')) {
                    return None;
                }
                (id.trim(), after)
            }
            None => {
                let (id, after) = match after.find(',') {
                    Some(comma) => (after[..comma].trim(), &after[comma..]),
                    None => (after.trim(), ""),
                };
                // A bare value is one token: `id=a b` or `id=a;id=b` is a typo, not an id.
                if id.contains(|c: char| c == '=' || c.is_whitespace()) {
                    return None;
                }
                (id, after)
            }
        };
        if id.is_empty() || id.contains('"') {
            return None;
        }
        out.push((kind, id.to_owned()));
        match after.strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None => return Some(out),
        }
    }
}

/// Checks requested grantees against the accounts and turns them into stored grants, in
/// request order with exact duplicates dropped: a canonical id must be an account's
/// (`InvalidArgument` "Invalid id" otherwise), an e-mail must be exactly one account's
/// (`UnresolvableGrantByEmailAddress` / `AmbiguousGrantByEmailAddress` otherwise).
pub async fn resolve_grants(pool: &PgPool, requested: Vec<RequestedGrant>) -> S3Result<Grants> {
    let mut ids: Vec<String> = Vec::new();
    let mut emails: Vec<String> = Vec::new();
    for g in &requested {
        match &g.grantee {
            GranteeRef::Id(id) if !ids.contains(id) => ids.push(id.clone()),
            GranteeRef::Email(e) if !emails.contains(e) => emails.push(e.clone()),
            _ => {}
        }
    }
    let known = accounts::display_names(pool, &ids).await?;
    if let Some(unknown) = ids.iter().find(|id| !known.contains_key(*id)) {
        return Err(invalid_argument("Invalid id", "CanonicalUser/ID", unknown));
    }
    let mut by_email: HashMap<String, Vec<String>> = HashMap::new();
    for (email, canonical_id) in accounts::canonical_ids_by_email(pool, &emails).await? {
        by_email.entry(email).or_default().push(canonical_id);
    }
    let resolve_email = |email: &str| -> S3Result<String> {
        match by_email.get(email).map(Vec::as_slice) {
            Some([one]) => Ok(one.clone()),
            Some([_, _, ..]) => Err(S3Error::new(S3ErrorCode::AmbiguousGrantByEmailAddress)
                .extra("EmailAddress", email)),
            _ => Err(S3Error::new(S3ErrorCode::UnresolvableGrantByEmailAddress)
                .extra("EmailAddress", email)),
        }
    };
    let mut seen = HashSet::new();
    let mut grants = Vec::with_capacity(requested.len());
    for g in requested {
        let grantee = match g.grantee {
            GranteeRef::Id(id) => Grantee::CanonicalUser(id),
            GranteeRef::Email(email) => Grantee::CanonicalUser(resolve_email(&email)?),
            GranteeRef::Group(group) => Grantee::Group(group),
        };
        let grant = Grant {
            grantee,
            permission: g.permission,
        };
        if seen.insert(grant.clone()) {
            grants.push(grant);
        }
    }
    Ok(Grants(grants))
}

/// The grants a header ACL means for a resource owned by `owner` (a canonical id).
pub async fn header_acl_grants(
    pool: &PgPool,
    acl: HeaderAcl,
    owner: &str,
    target: AclTarget<'_>,
) -> S3Result<Grants> {
    match acl {
        HeaderAcl::Canned(canned) => match target {
            AclTarget::Bucket => Ok(canned.bucket_grants(owner)),
            AclTarget::Object { bucket_owner } => canned
                .object_grants(owner, bucket_owner)
                .ok_or_else(|| invalid_argument("Invalid canned ACL", CANNED_ACL, canned.as_str())),
        },
        HeaderAcl::Grants(requested) => resolve_grants(pool, requested).await,
    }
}

/// The ACL the headers of a PutObject or CreateBucket ask for the new resource, owned by
/// `owner` (a canonical id): `None` when they ask for none (the caller then applies
/// `private`). Call it before reading the body.
pub async fn acl_from_headers(
    state: &AppState,
    headers: &HeaderMap,
    owner: &str,
    target: AclTarget<'_>,
) -> S3Result<Option<Grants>> {
    match parse_acl_headers(headers, target)? {
        None => Ok(None),
        Some(acl) => header_acl_grants(&state.pool, acl, owner, target)
            .await
            .map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).expect("valid value"));
        }
        h
    }

    fn parse(pairs: &[(&'static str, &str)]) -> S3Result<Option<HeaderAcl>> {
        parse_acl_headers(&headers(pairs), AclTarget::Bucket)
    }

    fn code(r: S3Result<Option<HeaderAcl>>) -> S3ErrorCode {
        r.expect_err("must fail").code()
    }

    #[test]
    fn grantee_lists() {
        use GranteeKind::*;
        let ok = |s: &str| parse_grantees(s).unwrap_or_else(|| panic!("{s:?} must parse"));
        assert_eq!(ok("id=abc"), vec![(Id, "abc".to_owned())]);
        assert_eq!(ok(r#"id="abc""#), vec![(Id, "abc".to_owned())]);
        assert_eq!(
            ok(r#"  ID = " abc " ,emailAddress="a,b@example.com",  uri=http://x/y , Id=z  "#),
            vec![
                (Id, "abc".to_owned()),
                (Email, "a,b@example.com".to_owned()),
                (Uri, "http://x/y".to_owned()),
                (Id, "z".to_owned()),
            ]
        );
        assert_eq!(
            ok("emailaddress=x@example.com"),
            vec![(Email, "x@example.com".to_owned())]
        );
        for bad in [
            "",
            "   ",
            "abc",
            "id",
            "id=",
            r#"id="""#,
            r#"id="abc"#,
            r#"id="a"b"#,
            r#"id=a"b"#,
            "id=a,",
            "id=a,,id=b",
            ",id=a",
            "name=a",
            "email=a@example.com",
            "id=a;id=b",
            "id=a b",
            "id=a=b",
        ] {
            assert_eq!(parse_grantees(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn no_acl_headers() {
        assert_eq!(parse(&[]).expect("parses"), None);
        assert_eq!(
            parse(&[("x-amz-meta-acl", "private")]).expect("parses"),
            None
        );
        assert!(!has_acl_headers(&headers(&[("x-amz-grants", "id=a")])));
        assert!(has_acl_headers(&headers(&[("x-amz-acl", "private")])));
        assert!(has_acl_headers(&headers(&[(
            "x-amz-grant-write-acp",
            "id=a"
        )])));
    }

    #[test]
    fn canned_headers() {
        for canned in CannedAcl::ALL {
            assert_eq!(
                parse(&[("x-amz-acl", canned.as_str())]).expect("parses"),
                Some(HeaderAcl::Canned(canned))
            );
        }
        assert_eq!(
            parse(&[("x-amz-acl", " public-read ")]).expect("parses"),
            Some(HeaderAcl::Canned(CannedAcl::PublicRead))
        );
        for bad in ["", "Private", "public", "public-read,private"] {
            assert_eq!(
                code(parse(&[("x-amz-acl", bad)])),
                S3ErrorCode::InvalidArgument,
                "{bad:?}"
            );
        }
        assert_eq!(
            code(parse(&[("x-amz-acl", "private"), ("x-amz-acl", "private")])),
            S3ErrorCode::InvalidArgument
        );
        let object = AclTarget::Object {
            bucket_owner: "owner",
        };
        assert_eq!(
            parse_acl_headers(&headers(&[("x-amz-acl", "log-delivery-write")]), object)
                .expect_err("bucket only")
                .code(),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            parse_acl_headers(&headers(&[("x-amz-acl", "bucket-owner-read")]), object)
                .expect("parses"),
            Some(HeaderAcl::Canned(CannedAcl::BucketOwnerRead))
        );
    }

    #[test]
    fn canned_and_grants_conflict() {
        assert_eq!(
            code(parse(&[
                ("x-amz-acl", "private"),
                ("x-amz-grant-read", "id=abc")
            ])),
            S3ErrorCode::InvalidRequest
        );
        // Even when the canned ACL is bad: the conflict is reported first, as S3 does.
        assert_eq!(
            code(parse(&[
                ("x-amz-acl", "nope"),
                ("x-amz-grant-read", "nope")
            ])),
            S3ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn grant_headers() {
        let acl = parse(&[
            ("x-amz-grant-read", &format!(r#"uri="{ALL_USERS}", id=abc"#)),
            ("x-amz-grant-write-acp", "emailAddress=\"a@example.com\""),
            ("x-amz-grant-full-control", "id=owner"),
            ("x-amz-grant-read-acp", "id=abc"),
            (
                "x-amz-grant-write",
                "uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
            ),
            ("x-amz-grant-read", "id=second-header"),
        ])
        .expect("parses");
        let g = |grantee: GranteeRef, permission| RequestedGrant {
            grantee,
            permission,
        };
        use Permission::*;
        assert_eq!(
            acl,
            Some(HeaderAcl::Grants(vec![
                g(GranteeRef::Id("owner".to_owned()), FullControl),
                g(GranteeRef::Group(Group::AllUsers), Read),
                g(GranteeRef::Id("abc".to_owned()), Read),
                g(GranteeRef::Id("second-header".to_owned()), Read),
                g(GranteeRef::Id("abc".to_owned()), ReadAcp),
                g(GranteeRef::Group(Group::LogDelivery), Write),
                g(GranteeRef::Email("a@example.com".to_owned()), WriteAcp),
            ]))
        );
    }

    #[test]
    fn bad_grant_headers() {
        for (name, value) in [
            ("x-amz-grant-read", "abc"),
            ("x-amz-grant-read", "id="),
            ("x-amz-grant-write", "user=abc"),
            (
                "x-amz-grant-read-acp",
                "uri=http://acs.amazonaws.com/groups/global/Nobody",
            ),
            ("x-amz-grant-full-control", "uri=AllUsers"),
        ] {
            let err = parse(&[(name, value)]).expect_err(value);
            assert_eq!(err.code(), S3ErrorCode::InvalidArgument, "{name}: {value}");
        }
        let too_many = vec!["id=a"; MAX_GRANTS + 1].join(",");
        assert_eq!(
            code(parse(&[("x-amz-grant-read", &too_many)])),
            S3ErrorCode::InvalidArgument
        );
        let at_limit = vec!["id=a"; MAX_GRANTS].join(",");
        assert!(parse(&[("x-amz-grant-read", &at_limit)]).is_ok());
    }

    #[test]
    fn non_ascii_header_values_are_invalid() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-grant-read",
            HeaderValue::from_bytes(b"id=\xff").expect("opaque bytes are a valid value"),
        );
        assert_eq!(
            parse_acl_headers(&h, AclTarget::Bucket)
                .expect_err("not text")
                .code(),
            S3ErrorCode::InvalidArgument
        );
    }
}
