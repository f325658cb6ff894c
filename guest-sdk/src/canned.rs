//! S3 canned ACLs
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl>),
//! expanded into explicit [`Acl`]s.
//!
//! Every expansion starts with an explicit `FULL_CONTROL` grant to the owner,
//! as S3 returns it from `GetBucketAcl` / `GetObjectAcl` (the owner's control
//! is also implicit, see [`crate::acl::grants_permission`]).

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;

use crate::types::{Acl, Grantee, Group, Permission};

/// The canned ACL names Coffer accepts, in the order AWS documents them.
pub const SUPPORTED: [&str; 6] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Why a canned ACL name could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CannedAclError {
    /// A real S3 canned ACL that Coffer does not support (`log-delivery-write`,
    /// `aws-exec-read`: their grantees do not exist here). Hosts answer
    /// `NotImplemented`.
    Unsupported(String),
    /// Not an S3 canned ACL name. Hosts answer `InvalidArgument`.
    Unknown(String),
}

impl fmt::Display for CannedAclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(name) => write!(f, "canned ACL {name:?} is not supported"),
            Self::Unknown(name) => write!(f, "unknown canned ACL {name:?}"),
        }
    }
}

impl core::error::Error for CannedAclError {}

/// Expand the canned ACL `name` (e.g. `"public-read"`, as in the `x-amz-acl`
/// header) for a resource owned by `owner` (canonical id).
///
/// `bucket_owner` is the owner of the bucket holding an object, and `None`
/// for bucket ACLs. As on AWS, `bucket-owner-read` and
/// `bucket-owner-full-control` add a grant to the bucket owner only for
/// objects, and are otherwise equivalent to `private` (for buckets, or when
/// the object's owner is the bucket owner, in which case no redundant grant
/// is added).
///
/// - `private`: owner `FULL_CONTROL`.
/// - `public-read`: plus `AllUsers` `READ`.
/// - `public-read-write`: plus `AllUsers` `READ` and `WRITE`.
/// - `authenticated-read`: plus `AuthenticatedUsers` `READ`.
/// - `bucket-owner-read`: plus bucket owner `READ`.
/// - `bucket-owner-full-control`: plus bucket owner `FULL_CONTROL`.
/// - `log-delivery-write`, `aws-exec-read`: [`CannedAclError::Unsupported`].
pub fn canned_acl(
    name: &str,
    owner: &str,
    bucket_owner: Option<&str>,
) -> Result<Acl, CannedAclError> {
    let acl = Acl::owned_by(owner).with_grant(
        Grantee::CanonicalUser(owner.to_owned()),
        Permission::FullControl,
    );
    let other_bucket_owner = bucket_owner.filter(|b| *b != owner);
    let acl = match name {
        "private" => acl,
        "public-read" => acl.with_grant(Grantee::Group(Group::AllUsers), Permission::Read),
        "public-read-write" => acl
            .with_grant(Grantee::Group(Group::AllUsers), Permission::Read)
            .with_grant(Grantee::Group(Group::AllUsers), Permission::Write),
        "authenticated-read" => {
            acl.with_grant(Grantee::Group(Group::AuthenticatedUsers), Permission::Read)
        }
        "bucket-owner-read" => match other_bucket_owner {
            Some(b) => acl.with_grant(Grantee::CanonicalUser(b.to_owned()), Permission::Read),
            None => acl,
        },
        "bucket-owner-full-control" => match other_bucket_owner {
            Some(b) => acl.with_grant(
                Grantee::CanonicalUser(b.to_owned()),
                Permission::FullControl,
            ),
            None => acl,
        },
        "log-delivery-write" | "aws-exec-read" => {
            return Err(CannedAclError::Unsupported(name.to_owned()));
        }
        _ => return Err(CannedAclError::Unknown(name.to_owned())),
    };
    Ok(acl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Grant;

    fn fc(id: &str) -> Grant {
        Grant::new(Grantee::CanonicalUser(id.into()), Permission::FullControl)
    }

    #[test]
    fn expansions() {
        let all_read = Grant::new(Grantee::Group(Group::AllUsers), Permission::Read);
        let all_write = Grant::new(Grantee::Group(Group::AllUsers), Permission::Write);
        let auth_read = Grant::new(Grantee::Group(Group::AuthenticatedUsers), Permission::Read);
        let b_read = Grant::new(Grantee::CanonicalUser("b".into()), Permission::Read);
        let cases: Vec<(&str, Vec<Grant>)> = vec![
            ("private", vec![fc("o")]),
            ("public-read", vec![fc("o"), all_read.clone()]),
            ("public-read-write", vec![fc("o"), all_read, all_write]),
            ("authenticated-read", vec![fc("o"), auth_read]),
            ("bucket-owner-read", vec![fc("o"), b_read]),
            ("bucket-owner-full-control", vec![fc("o"), fc("b")]),
        ];
        for (name, grants) in cases {
            let acl = canned_acl(name, "o", Some("b")).unwrap();
            assert_eq!(acl.owner, "o", "{name}");
            assert_eq!(acl.grants, grants, "{name}");
        }
    }

    #[test]
    fn bucket_owner_variants_without_distinct_bucket_owner_are_private() {
        for name in ["bucket-owner-read", "bucket-owner-full-control"] {
            for bucket_owner in [None, Some("o")] {
                let acl = canned_acl(name, "o", bucket_owner).unwrap();
                assert_eq!(acl.grants, vec![fc("o")], "{name} {bucket_owner:?}");
            }
        }
    }

    #[test]
    fn supported_list_is_accurate() {
        for name in SUPPORTED {
            assert!(canned_acl(name, "o", None).is_ok(), "{name}");
        }
    }

    #[test]
    fn unsupported_and_unknown() {
        assert_eq!(
            canned_acl("log-delivery-write", "o", None),
            Err(CannedAclError::Unsupported("log-delivery-write".into()))
        );
        assert_eq!(
            canned_acl("aws-exec-read", "o", None),
            Err(CannedAclError::Unsupported("aws-exec-read".into()))
        );
        assert_eq!(
            canned_acl("Public-Read", "o", None),
            Err(CannedAclError::Unknown("Public-Read".into()))
        );
        assert_eq!(
            canned_acl("", "o", None),
            Err(CannedAclError::Unknown(String::new()))
        );
        assert!(
            CannedAclError::Unsupported("log-delivery-write".into())
                .to_string()
                .contains("not supported")
        );
    }
}
