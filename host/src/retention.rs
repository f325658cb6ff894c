//! An object version's retention (S3 Object Lock), as the wire (`s3::object_lock`), the
//! store (columns `retention_mode`, `retain_until` of `objects` and `multipart_uploads`)
//! and the bucket's default retention share it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetentionMode {
    /// Users with `s3:BypassGovernanceRetention` may shorten or remove the retention,
    /// or delete the version, with `x-amz-bypass-governance-retention: true`.
    Governance,
    /// No one may shorten it, change the mode or delete the version until it ends.
    Compliance,
}

impl RetentionMode {
    /// S3's spelling: `GOVERNANCE` or `COMPLIANCE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }

    /// Reads S3's spelling, case-sensitively (`governance` is not a mode).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GOVERNANCE" => Some(Self::Governance),
            "COMPLIANCE" => Some(Self::Compliance),
            _ => None,
        }
    }
}

/// An object version's retention: a mode and the date until which it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRetention {
    /// The mode.
    pub mode: RetentionMode,
    /// Until when the version is protected.
    pub retain_until: OffsetDateTime,
}
