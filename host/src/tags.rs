//! A tag as Coffer stores it: one model shared by the wire XML (`s3::tagging`), the
//! metadata store (JSONB columns `tags` of objects, uploads and buckets), lifecycle
//! filters (`s3::lifecycle`) and the policy modules.

use serde::{Deserialize, Serialize};

/// One tag: a key and a (possibly empty) value, both case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// The tag's key: 1 to 128 characters, never prefixed `aws:`.
    pub key: String,
    /// The tag's value: 0 to 256 characters.
    pub value: String,
}

impl Tag {
    /// A tag from its key and value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A resource's tags, in the order they were given.
pub type TagSet = Vec<Tag>;
