//! The ACL of a bucket or an object as Coffer stores it: the owner (the row's
//! owner) plus a list of explicit grants. This is the one model shared by the
//! wire XML (`s3::acl`), the metadata store (JSONB column `acl`) and the policy
//! modules (converted to the WIT `acl` record in `policy`).
//!
//! E-mail grantees never reach this model: they are resolved to canonical ids
//! when an ACL is written, as S3 does.

use serde::{Deserialize, Serialize};

/// An S3 ACL permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// `READ`
    #[serde(rename = "READ")]
    Read,
    /// `WRITE`
    #[serde(rename = "WRITE")]
    Write,
    /// `READ_ACP`
    #[serde(rename = "READ_ACP")]
    ReadAcp,
    /// `WRITE_ACP`
    #[serde(rename = "WRITE_ACP")]
    WriteAcp,
    /// `FULL_CONTROL`
    #[serde(rename = "FULL_CONTROL")]
    FullControl,
}

impl Permission {
    /// The name S3 uses in XML and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }

    /// Parses S3's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "READ" => Permission::Read,
            "WRITE" => Permission::Write,
            "READ_ACP" => Permission::ReadAcp,
            "WRITE_ACP" => Permission::WriteAcp,
            "FULL_CONTROL" => Permission::FullControl,
            _ => return None,
        })
    }
}

/// A predefined S3 group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Group {
    /// Everyone, anonymous included.
    AllUsers,
    /// Every authenticated request.
    AuthenticatedUsers,
    /// S3's log delivery group; accepted and stored for compatibility, grants
    /// nothing in Coffer (there is no server access logging).
    LogDelivery,
}

impl Group {
    /// The group's URI as it appears in ACL XML and grant headers.
    pub fn uri(self) -> &'static str {
        match self {
            Group::AllUsers => "http://acs.amazonaws.com/groups/global/AllUsers",
            Group::AuthenticatedUsers => {
                "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
            }
            Group::LogDelivery => "http://acs.amazonaws.com/groups/s3/LogDelivery",
        }
    }

    /// The group with this URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        [
            Group::AllUsers,
            Group::AuthenticatedUsers,
            Group::LogDelivery,
        ]
        .into_iter()
        .find(|g| g.uri() == uri)
    }
}

/// Who a stored grant applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grantee {
    /// An account by canonical id.
    CanonicalUser(String),
    /// A predefined group.
    Group(Group),
}

/// One stored grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// Who.
    pub grantee: Grantee,
    /// What.
    pub permission: Permission,
}

impl Grant {
    /// A grant of `permission` to the account `canonical_id`.
    pub fn user(canonical_id: impl Into<String>, permission: Permission) -> Self {
        Self {
            grantee: Grantee::CanonicalUser(canonical_id.into()),
            permission,
        }
    }

    /// A grant of `permission` to `group`.
    pub fn group(group: Group, permission: Permission) -> Self {
        Self {
            grantee: Grantee::Group(group),
            permission,
        }
    }
}

/// The explicit grants of a bucket or an object, in stored order. The owner is
/// kept beside it (the row's owner), not in the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grants(pub Vec<Grant>);

impl Grants {
    /// The grants of the `private` canned ACL: the owner's FULL_CONTROL.
    pub fn private(owner_canonical_id: &str) -> Self {
        Grants(vec![Grant::user(
            owner_canonical_id,
            Permission::FullControl,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_matches_the_migration() {
        let grants = Grants(vec![
            Grant::user("abc", Permission::FullControl),
            Grant::group(Group::AllUsers, Permission::Read),
        ]);
        let json = serde_json::to_string(&grants).unwrap();
        assert_eq!(
            json,
            r#"[{"grantee":{"CanonicalUser":"abc"},"permission":"FULL_CONTROL"},{"grantee":{"Group":"AllUsers"},"permission":"READ"}]"#
        );
        assert_eq!(serde_json::from_str::<Grants>(&json).unwrap(), grants);
    }

    #[test]
    fn names_round_trip() {
        for p in [
            Permission::Read,
            Permission::Write,
            Permission::ReadAcp,
            Permission::WriteAcp,
            Permission::FullControl,
        ] {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        for g in [
            Group::AllUsers,
            Group::AuthenticatedUsers,
            Group::LogDelivery,
        ] {
            assert_eq!(Group::from_uri(g.uri()), Some(g));
        }
        assert_eq!(Permission::parse("read"), None);
    }
}
