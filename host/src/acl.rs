//! The ACL of a bucket or an object as Coffer stores it: the owner (the row's
//! owner) plus a list of explicit grants. This is the one model shared by the
//! wire XML (`s3::acl`), the metadata store (JSONB column `acl`) and the policy
//! modules (converted to the WIT `acl` record in `policy`).
//!
//! E-mail grantees never reach this model: they are resolved to canonical ids
//! when an ACL is written, as S3 does.
//!
//! Also here: the two bucket settings that change what ACLs may be and do, Block
//! Public Access ([`PublicAccessBlock`]) and Object Ownership ([`ObjectOwnership`]).

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

    /// Whether every grant goes to the account `owner` (what a bucket whose ACLs are
    /// disabled may have).
    pub fn only_grants_to(&self, owner: &str) -> bool {
        self.0
            .iter()
            .all(|g| matches!(&g.grantee, Grantee::CanonicalUser(id) if id == owner))
    }
}

/// Most grants one ACL may hold, as on S3
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html>).
pub const MAX_GRANTS: usize = 100;

/// A canned ACL, as named in `x-amz-acl`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CannedAcl {
    /// `private`: the owner's FULL_CONTROL.
    Private,
    /// `public-read`: the owner's FULL_CONTROL, AllUsers READ.
    PublicRead,
    /// `public-read-write`: the owner's FULL_CONTROL, AllUsers READ and WRITE.
    PublicReadWrite,
    /// `authenticated-read`: the owner's FULL_CONTROL, AuthenticatedUsers READ.
    AuthenticatedRead,
    /// `aws-exec-read`: on S3 the owner's FULL_CONTROL plus READ for EC2's AMI bundler.
    /// Coffer has no EC2, so this is the owner's FULL_CONTROL only.
    AwsExecRead,
    /// `bucket-owner-read` (objects): the object owner's FULL_CONTROL, the bucket owner's
    /// READ. On a bucket S3 ignores it: `private`.
    BucketOwnerRead,
    /// `bucket-owner-full-control` (objects): the object owner's and the bucket owner's
    /// FULL_CONTROL. On a bucket S3 ignores it: `private`.
    BucketOwnerFullControl,
    /// `log-delivery-write` (buckets only): the owner's FULL_CONTROL, LogDelivery WRITE and
    /// READ_ACP.
    LogDeliveryWrite,
}

impl CannedAcl {
    /// Every canned ACL.
    pub const ALL: [CannedAcl; 8] = [
        CannedAcl::Private,
        CannedAcl::PublicRead,
        CannedAcl::PublicReadWrite,
        CannedAcl::AuthenticatedRead,
        CannedAcl::AwsExecRead,
        CannedAcl::BucketOwnerRead,
        CannedAcl::BucketOwnerFullControl,
        CannedAcl::LogDeliveryWrite,
    ];

    /// The name S3 uses in `x-amz-acl`.
    pub fn as_str(self) -> &'static str {
        match self {
            CannedAcl::Private => "private",
            CannedAcl::PublicRead => "public-read",
            CannedAcl::PublicReadWrite => "public-read-write",
            CannedAcl::AuthenticatedRead => "authenticated-read",
            CannedAcl::AwsExecRead => "aws-exec-read",
            CannedAcl::BucketOwnerRead => "bucket-owner-read",
            CannedAcl::BucketOwnerFullControl => "bucket-owner-full-control",
            CannedAcl::LogDeliveryWrite => "log-delivery-write",
        }
    }

    /// Parses S3's name (exactly, as S3 does: names are lower case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The grants of this canned ACL on a bucket owned by `owner`.
    pub fn bucket_grants(self, owner: &str) -> Grants {
        let mut grants = Grants::private(owner);
        match self {
            CannedAcl::Private
            | CannedAcl::AwsExecRead
            | CannedAcl::BucketOwnerRead
            | CannedAcl::BucketOwnerFullControl => {}
            CannedAcl::PublicRead
            | CannedAcl::PublicReadWrite
            | CannedAcl::AuthenticatedRead
            | CannedAcl::LogDeliveryWrite => grants.0.extend(self.group_grants()),
        }
        grants
    }

    /// The grants of this canned ACL on an object owned by `owner` in a bucket owned by
    /// `bucket_owner`; `None` for `log-delivery-write`, which only applies to buckets. The
    /// bucket owner's grant is left out when it owns the object too (its FULL_CONTROL
    /// covers it).
    pub fn object_grants(self, owner: &str, bucket_owner: &str) -> Option<Grants> {
        let mut grants = Grants::private(owner);
        match self {
            CannedAcl::Private | CannedAcl::AwsExecRead => {}
            CannedAcl::PublicRead | CannedAcl::PublicReadWrite | CannedAcl::AuthenticatedRead => {
                grants.0.extend(self.group_grants())
            }
            CannedAcl::BucketOwnerRead if bucket_owner != owner => {
                grants.0.push(Grant::user(bucket_owner, Permission::Read))
            }
            CannedAcl::BucketOwnerFullControl if bucket_owner != owner => grants
                .0
                .push(Grant::user(bucket_owner, Permission::FullControl)),
            CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => {}
            CannedAcl::LogDeliveryWrite => return None,
        }
        Some(grants)
    }

    /// The group grants that follow the owner's FULL_CONTROL.
    fn group_grants(self) -> Vec<Grant> {
        use Permission::*;
        match self {
            CannedAcl::PublicRead => vec![Grant::group(Group::AllUsers, Read)],
            CannedAcl::PublicReadWrite => vec![
                Grant::group(Group::AllUsers, Read),
                Grant::group(Group::AllUsers, Write),
            ],
            CannedAcl::AuthenticatedRead => vec![Grant::group(Group::AuthenticatedUsers, Read)],
            CannedAcl::LogDeliveryWrite => vec![
                Grant::group(Group::LogDelivery, Write),
                Grant::group(Group::LogDelivery, ReadAcp),
            ],
            CannedAcl::Private
            | CannedAcl::AwsExecRead
            | CannedAcl::BucketOwnerRead
            | CannedAcl::BucketOwnerFullControl => Vec::new(),
        }
    }
}

/// A bucket's S3 Block Public Access settings
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html>).
/// What they block is the policy module's decision; the server only keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four settings on.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// The settings as S3 names them, each with its value, in S3's order.
    pub fn settings(self) -> [(&'static str, bool); 4] {
        [
            ("BlockPublicAcls", self.block_public_acls),
            ("IgnorePublicAcls", self.ignore_public_acls),
            ("BlockPublicPolicy", self.block_public_policy),
            ("RestrictPublicBuckets", self.restrict_public_buckets),
        ]
    }

    /// The settings with S3's names in `on` turned on; `None` if a name is unknown.
    pub fn from_names<'a>(on: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut block = PublicAccessBlock::default();
        for name in on {
            let flag = match name {
                "BlockPublicAcls" => &mut block.block_public_acls,
                "IgnorePublicAcls" => &mut block.ignore_public_acls,
                "BlockPublicPolicy" => &mut block.block_public_policy,
                "RestrictPublicBuckets" => &mut block.restrict_public_buckets,
                _ => return None,
            };
            *flag = true;
        }
        Some(block)
    }

    /// The stored form: one bit per setting, in [`Self::settings`] order.
    pub fn to_bits(self) -> i16 {
        self.settings()
            .iter()
            .enumerate()
            .map(|(i, (_, on))| i16::from(*on) << i)
            .sum()
    }

    /// The settings of [`Self::to_bits`]'s form.
    pub fn from_bits(bits: i16) -> Self {
        let on = |i: u32| bits & (1 << i) != 0;
        PublicAccessBlock {
            block_public_acls: on(0),
            ignore_public_acls: on(1),
            block_public_policy: on(2),
            restrict_public_buckets: on(3),
        }
    }
}

/// A bucket's S3 Object Ownership
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOwnership {
    /// The writer owns an object; ACLs are in effect.
    ObjectWriter,
    /// An object written with `bucket-owner-full-control` belongs to the bucket owner.
    BucketOwnerPreferred,
    /// ACLs are disabled; the bucket owner owns every object.
    BucketOwnerEnforced,
}

impl ObjectOwnership {
    /// S3's name (also the stored one).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::ObjectWriter => "ObjectWriter",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
        }
    }

    /// The setting S3 calls `name` (case-sensitive, as on S3).
    pub fn parse(name: &str) -> Option<Self> {
        [
            ObjectOwnership::ObjectWriter,
            ObjectOwnership::BucketOwnerPreferred,
            ObjectOwnership::BucketOwnerEnforced,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
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
        for c in CannedAcl::ALL {
            assert_eq!(CannedAcl::parse(c.as_str()), Some(c));
        }
        assert_eq!(CannedAcl::parse("Private"), None);
        assert_eq!(CannedAcl::parse("public_read"), None);
        assert_eq!(CannedAcl::parse(""), None);
    }

    #[test]
    fn canned_bucket_grants() {
        use Permission::*;
        let o = "owner";
        let fc = Grant::user(o, FullControl);
        let table: [(CannedAcl, Vec<Grant>); 8] = [
            (CannedAcl::Private, vec![fc.clone()]),
            (
                CannedAcl::PublicRead,
                vec![fc.clone(), Grant::group(Group::AllUsers, Read)],
            ),
            (
                CannedAcl::PublicReadWrite,
                vec![
                    fc.clone(),
                    Grant::group(Group::AllUsers, Read),
                    Grant::group(Group::AllUsers, Write),
                ],
            ),
            (
                CannedAcl::AuthenticatedRead,
                vec![fc.clone(), Grant::group(Group::AuthenticatedUsers, Read)],
            ),
            (CannedAcl::AwsExecRead, vec![fc.clone()]),
            (CannedAcl::BucketOwnerRead, vec![fc.clone()]),
            (CannedAcl::BucketOwnerFullControl, vec![fc.clone()]),
            (
                CannedAcl::LogDeliveryWrite,
                vec![
                    fc.clone(),
                    Grant::group(Group::LogDelivery, Write),
                    Grant::group(Group::LogDelivery, ReadAcp),
                ],
            ),
        ];
        for (canned, expected) in table {
            assert_eq!(canned.bucket_grants(o), Grants(expected), "{canned:?}");
        }
    }

    #[test]
    fn canned_object_grants() {
        use Permission::*;
        let (o, b) = ("object-owner", "bucket-owner");
        let fc = Grant::user(o, FullControl);
        let table: [(CannedAcl, Option<Vec<Grant>>); 8] = [
            (CannedAcl::Private, Some(vec![fc.clone()])),
            (
                CannedAcl::PublicRead,
                Some(vec![fc.clone(), Grant::group(Group::AllUsers, Read)]),
            ),
            (
                CannedAcl::PublicReadWrite,
                Some(vec![
                    fc.clone(),
                    Grant::group(Group::AllUsers, Read),
                    Grant::group(Group::AllUsers, Write),
                ]),
            ),
            (
                CannedAcl::AuthenticatedRead,
                Some(vec![
                    fc.clone(),
                    Grant::group(Group::AuthenticatedUsers, Read),
                ]),
            ),
            (CannedAcl::AwsExecRead, Some(vec![fc.clone()])),
            (
                CannedAcl::BucketOwnerRead,
                Some(vec![fc.clone(), Grant::user(b, Read)]),
            ),
            (
                CannedAcl::BucketOwnerFullControl,
                Some(vec![fc.clone(), Grant::user(b, FullControl)]),
            ),
            (CannedAcl::LogDeliveryWrite, None),
        ];
        for (canned, expected) in table {
            assert_eq!(
                canned.object_grants(o, b),
                expected.map(Grants),
                "{canned:?}"
            );
        }
        // The bucket owner writing its own object gets one grant, not two.
        for canned in [
            CannedAcl::BucketOwnerRead,
            CannedAcl::BucketOwnerFullControl,
        ] {
            assert_eq!(
                canned.object_grants(b, b),
                Some(Grants::private(b)),
                "{canned:?}"
            );
        }
    }
}
