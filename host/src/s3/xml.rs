//! S3 XML bodies: renders the response documents Coffer sends (bucket and
//! object listings, ACLs, location, delete results, errors) and parses the
//! request documents it accepts (`Delete`, `CreateBucketConfiguration`,
//! `AccessControlPolicy`).
//!
//! Output follows AWS's shapes: a `<?xml version="1.0" encoding="UTF-8"?>`
//! prolog and a newline, then a compact (unindented) document whose root
//! carries the S3 namespace [`S3_XMLNS`], except `<Error>`, which AWS sends
//! without one. All text is XML-escaped. Timestamps are ISO 8601 UTC with
//! milliseconds ([`format_timestamp`]).
//!
//! Input is parsed with quick-xml's event reader into a small element tree.
//! Document type declarations are rejected, so no entity can be defined or
//! expanded; only the five predefined entities and character references are
//! resolved.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesRef, BytesStart, BytesText, Event};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The S3 XML namespace, set as `xmlns` on every response root but `<Error>`.
pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The XML Schema instance namespace, used for `xsi:type` on ACL grantees.
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Most objects one `DeleteObjects` request may name
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>).
pub const MAX_DELETE_OBJECTS: usize = 1000;

/// Deepest element nesting accepted in a request body; S3's request
/// documents need three levels.
const MAX_DEPTH: usize = 32;

/// Why a request body could not be parsed. Hosts answer `MalformedXML` (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed XML, or well-formed but not the expected document:
    /// wrong root, missing required element, zero or more than
    /// [`MAX_DELETE_OBJECTS`] objects, a DTD, an unknown entity...
    #[error("malformed XML: {0}")]
    Malformed(String),
}

impl XmlError {
    /// The S3 error code to answer with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedXML",
        }
    }
}

pub(super) fn malformed(why: impl Into<String>) -> XmlError {
    XmlError::Malformed(why.into())
}

// ---------------------------------------------------------------------------
// Input types for the renderers.

/// A bucket or object owner (canonical user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Canonical user ID.
    pub id: String,
    /// Display name.
    pub display_name: String,
}

/// One bucket in a `ListBuckets` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEntry {
    /// Bucket name.
    pub name: String,
    /// When the bucket was created.
    pub creation_date: OffsetDateTime,
    /// Its region (`BucketRegion`).
    pub region: String,
}

/// One page of `ListAllMyBucketsResult`.
#[derive(Debug, Clone)]
pub struct BucketListing {
    /// The caller, who owns them.
    pub owner: Owner,
    /// The buckets, by name.
    pub buckets: Vec<BucketEntry>,
    /// The token of the next page, when there is one.
    pub continuation_token: Option<String>,
    /// The `prefix` asked for, echoed.
    pub prefix: Option<String>,
}

/// One object in a listing (`<Contents>` or `<Version>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Object key, unencoded (the renderer URL-encodes it when asked).
    pub key: String,
    /// Last modification time.
    pub last_modified: OffsetDateTime,
    /// Entity tag, already quoted: `"d41d8cd98f00b204e9800998ecf8427e"`.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// Storage class, e.g. `STANDARD`.
    pub storage_class: String,
    /// Owner; rendered only when `Some` (V2 lists set it only with
    /// `fetch-owner=true`).
    pub owner: Option<Owner>,
}

/// A `ListObjects` (version 1) result
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsV1 {
    /// Bucket name.
    pub bucket: String,
    /// The request's prefix (empty when none).
    pub prefix: String,
    /// The request's marker (empty when none); `<Marker>` is always present.
    pub marker: String,
    /// Where the next page starts; rendered only when the result is truncated
    /// and a delimiter was given, as S3 does (without a delimiter, clients
    /// use the last key as the next marker).
    pub next_marker: Option<String>,
    /// The request's max-keys.
    pub max_keys: usize,
    /// The request's delimiter; omitted when `None` or empty.
    pub delimiter: Option<String>,
    /// Whether more results are available.
    pub is_truncated: bool,
    /// The request had `encoding-type=url` (see [`url_encode`]).
    pub encoding_type_url: bool,
    /// Objects, in key order.
    pub contents: Vec<ObjectEntry>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
}

/// A `ListObjectsV2` result
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsV2 {
    /// Bucket name.
    pub bucket: String,
    /// The request's prefix (empty when none); `<Prefix>` is always present.
    pub prefix: String,
    /// The request's delimiter; omitted when `None` or empty.
    pub delimiter: Option<String>,
    /// The request's max-keys.
    pub max_keys: usize,
    /// Number of keys and common prefixes returned.
    pub key_count: usize,
    /// Whether more results are available.
    pub is_truncated: bool,
    /// The request's continuation token, echoed when given.
    pub continuation_token: Option<String>,
    /// Token for the next page, when truncated.
    pub next_continuation_token: Option<String>,
    /// The request's start-after, echoed when given.
    pub start_after: Option<String>,
    /// The request had `encoding-type=url` (see [`url_encode`]).
    pub encoding_type_url: bool,
    /// Objects, in key order; set `owner` only for `fetch-owner=true`.
    pub contents: Vec<ObjectEntry>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
}

/// One entry of a `ListObjectVersions` result: a `<Version>` or a `<DeleteMarker>`
/// (which renders only the key, version id, `IsLatest`, time and owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    /// The version's key, time, ETag, size and owner.
    pub object: ObjectEntry,
    /// Version id (`null` for the null version).
    pub version_id: String,
    /// Whether it is the key's current version.
    pub is_latest: bool,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
}

/// A `ListObjectVersions` result: versions and delete markers in key order, each key's
/// newest first
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectVersions {
    /// Bucket name.
    pub bucket: String,
    /// The request's prefix (empty when none).
    pub prefix: String,
    /// The request's key-marker (empty when none); always present.
    pub key_marker: String,
    /// The request's version-id-marker (empty when none); always present.
    pub version_id_marker: String,
    /// Key marker for the next page, when truncated.
    pub next_key_marker: Option<String>,
    /// Version-ID marker for the next page, when truncated.
    pub next_version_id_marker: Option<String>,
    /// The request's max-keys.
    pub max_keys: usize,
    /// The request's delimiter; omitted when `None` or empty.
    pub delimiter: Option<String>,
    /// Whether more results are available.
    pub is_truncated: bool,
    /// The request had `encoding-type=url` (see [`url_encode`]).
    pub encoding_type_url: bool,
    /// Versions and delete markers, in order.
    pub versions: Vec<VersionEntry>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
}

/// A per-key failure in a `DeleteObjects` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteErrorEntry {
    /// The key that could not be deleted.
    pub key: String,
    /// The version asked for, if any.
    pub version_id: Option<String>,
    /// S3 error code, e.g. `AccessDenied`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// A key a `DeleteObjects` request deleted (a `<Deleted>` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedEntry {
    /// The key.
    pub key: String,
    /// The version asked for, if any.
    pub version_id: Option<String>,
    /// The delete marker created, or the version removed when it was one:
    /// `<DeleteMarker>true</DeleteMarker>` with its version id (`null` included).
    pub delete_marker_version_id: Option<String>,
}

/// A parsed `DeleteObjects` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteObjectsRequest {
    /// Quiet mode: report only failures.
    pub quiet: bool,
    /// `(key, version_id)` pairs, in document order (1 to 1000 of them).
    /// Keys are exactly as sent (not trimmed, not yet validated).
    pub objects: Vec<(String, Option<String>)>,
}

/// Who an ACL grant is for, with the `xsi:type` AWS renders for each
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_Grantee.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// `xsi:type="CanonicalUser"`: a user by canonical ID.
    CanonicalUser {
        /// Canonical user ID.
        id: String,
        /// Display name; rendered only when known (a request's is ignored).
        display_name: Option<String>,
    },
    /// `xsi:type="Group"`: a predefined group by URI, e.g.
    /// `http://acs.amazonaws.com/groups/global/AllUsers`.
    Group {
        /// Group URI.
        uri: String,
    },
    /// `xsi:type="AmazonCustomerByEmail"`: a user by e-mail address.
    Email(String),
}

/// One ACL grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who is granted.
    pub grantee: Grantee,
    /// `FULL_CONTROL`, `WRITE`, `WRITE_ACP`, `READ` or `READ_ACP`.
    pub permission: String,
}

/// A parsed `PutBucketAcl` / `PutObjectAcl` body
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_AccessControlPolicy.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessControlPolicy {
    /// `Owner/ID`, when the document names an owner.
    pub owner_id: Option<String>,
    /// The grants, in document order; each permission is one of S3's five names.
    pub grants: Vec<Grant>,
}

// ---------------------------------------------------------------------------
// Helpers.

/// Formats a timestamp the way S3 XML bodies do: UTC, millisecond precision,
/// `2009-10-12T17:50:30.000Z`.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses an ISO 8601 timestamp as S3 request documents and headers carry it:
/// RFC 3339, with or without fractional seconds, e.g. `2027-01-01T00:00:00Z` or
/// `2027-01-01T00:00:00.000Z` (what botocore sends), any offset; returned in UTC.
pub(super) fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    t.checked_to_offset(UtcOffset::UTC)
}

/// Serde for timestamps kept in stored documents (JSONB): an RFC 3339 string in UTC,
/// readable in the database, rather than `time`'s default tuple form. Use with
/// `#[serde(with = "crate::s3::xml::rfc3339")]`.
pub(crate) mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Writes `t` as RFC 3339 (fails for years RFC 3339 cannot carry).
    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(S::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Reads an RFC 3339 string.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)
    }
}

/// Bytes left unescaped by [`url_encode`]: RFC 3986 unreserved characters
/// plus `/`.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Encodes a key (or prefix, marker, delimiter) for `encoding-type=url`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html#AmazonS3-ListObjectsV2-request-header-EncodingType>).
///
/// Every byte of the UTF-8 form except `A-Z a-z 0-9 - . _ ~ /` becomes
/// `%XX` (upper-case hex); in particular a space is `%20` and a plus `%2B`.
/// AWS does not document its exact set, and has been seen to write a space
/// as `+`. We choose `%20` because it decodes correctly both with plain
/// percent-decoding and with form-decoding (botocore's `unquote_plus`, Java's
/// `URLDecoder`), whereas `+` is only right for the latter; it is also what
/// the Ceph s3-tests suite expects (`test_bucket_list_encoding_basic`).
pub fn url_encode(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, URL_ENCODE_SET).into()
}

pub(super) fn maybe_encode(url: bool, s: &str) -> Cow<'_, str> {
    if url { url_encode(s) } else { Cow::Borrowed(s) }
}

/// XML-escapes text: the five markup characters become entities, and C0
/// control characters other than tab and newline become character
/// references (a carriage return must, or parsers would turn it into a
/// newline). References to characters XML 1.0 forbids (e.g. `&#x1;`) make
/// the document unparseable by strict XML 1.0 parsers, as on AWS; clients
/// avoid that with `encoding-type=url`.
fn escape_text(s: &str) -> Cow<'_, str> {
    let needs =
        |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || (c < ' ' && c != '\t' && c != '\n');
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if needs(c) => out.push_str(&format!("&#x{:X};", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A response document under construction.
pub(super) struct Doc {
    w: Writer<Vec<u8>>,
}

impl Doc {
    /// Starts a document: prolog, newline.
    pub(super) fn new() -> Self {
        let mut doc = Self {
            w: Writer::new(Vec::with_capacity(512)),
        };
        doc.emit(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        doc.w.get_mut().push(b'\n');
        doc
    }

    pub(super) fn emit(&mut self, event: Event<'_>) {
        // Writing into a Vec<u8> cannot fail: io::Write for Vec never errors.
        self.w
            .write_event(event)
            .expect("writing XML into a Vec<u8> cannot fail");
    }

    /// Opens the root element, with the S3 namespace.
    pub(super) fn root(&mut self, name: &str) {
        self.emit(Event::Start(
            BytesStart::new(name).with_attributes([("xmlns", S3_XMLNS)]),
        ));
    }

    /// Opens and closes the root element at once: `<name xmlns="..."/>`.
    pub(super) fn empty_root(&mut self, name: &str) {
        self.emit(Event::Empty(
            BytesStart::new(name).with_attributes([("xmlns", S3_XMLNS)]),
        ));
    }

    /// `<name/>`.
    pub(super) fn empty(&mut self, name: &str) {
        self.emit(Event::Empty(BytesStart::new(name)));
    }

    pub(super) fn start(&mut self, name: &str) {
        self.emit(Event::Start(BytesStart::new(name)));
    }

    pub(super) fn end(&mut self, name: &str) {
        self.emit(Event::End(BytesEnd::new(name)));
    }

    /// `<name>escaped value</name>`.
    pub(super) fn text(&mut self, name: &str, value: &str) {
        self.start(name);
        self.emit(Event::Text(BytesText::from_escaped(escape_text(value))));
        self.end(name);
    }

    pub(super) fn text_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(name, value);
        }
    }

    pub(super) fn bool(&mut self, name: &str, value: bool) {
        self.text(name, if value { "true" } else { "false" });
    }

    pub(super) fn owner(&mut self, owner: &Owner) {
        self.start("Owner");
        self.text("ID", &owner.id);
        self.text("DisplayName", &owner.display_name);
        self.end("Owner");
    }

    /// `<Delimiter>` when given and non-empty (AWS omits an empty one), then
    /// `<EncodingType>url</EncodingType>` when encoding
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html#API_ListObjects_ResponseSyntax>).
    pub(super) fn delimiter_and_encoding(&mut self, delimiter: Option<&str>, url: bool) {
        if let Some(d) = delimiter.filter(|d| !d.is_empty()) {
            self.text("Delimiter", &maybe_encode(url, d));
        }
        if url {
            self.text("EncodingType", "url");
        }
    }

    /// One listed object as `<elem>`; `version` adds the null version fields.
    /// One `<Contents>`, or a `<Version>` with its version id and whether it is current.
    pub(super) fn object(
        &mut self,
        elem: &str,
        o: &ObjectEntry,
        url: bool,
        version: Option<(&str, bool)>,
    ) {
        self.start(elem);
        self.text("Key", &maybe_encode(url, &o.key));
        if let Some((version_id, is_latest)) = version {
            self.text("VersionId", version_id);
            self.bool("IsLatest", is_latest);
        }
        self.text("LastModified", &format_timestamp(o.last_modified));
        self.text("ETag", &o.etag);
        self.text("Size", &o.size.to_string());
        if let Some(owner) = &o.owner {
            self.owner(owner);
        }
        self.text("StorageClass", &o.storage_class);
        self.end(elem);
    }

    pub(super) fn common_prefixes(&mut self, prefixes: &[String], url: bool) {
        for p in prefixes {
            self.start("CommonPrefixes");
            self.text("Prefix", &maybe_encode(url, p));
            self.end("CommonPrefixes");
        }
    }

    pub(super) fn finish(self) -> String {
        // Every byte written came from a &str, so this is valid UTF-8.
        String::from_utf8(self.w.into_inner())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

// ---------------------------------------------------------------------------
// Renderers.

/// `ListAllMyBucketsResult`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html>).
pub fn render_list_buckets(l: &BucketListing) -> String {
    let mut d = Doc::new();
    d.root("ListAllMyBucketsResult");
    d.owner(&l.owner);
    d.start("Buckets");
    for b in &l.buckets {
        d.start("Bucket");
        d.text("Name", &b.name);
        d.text("CreationDate", &format_timestamp(b.creation_date));
        d.text("BucketRegion", &b.region);
        d.end("Bucket");
    }
    d.end("Buckets");
    d.text_opt("ContinuationToken", l.continuation_token.as_deref());
    d.text_opt("Prefix", l.prefix.as_deref());
    d.end("ListAllMyBucketsResult");
    d.finish()
}

/// `ListBucketResult` for `ListObjects` (version 1)
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html>).
///
/// With `encoding_type_url`, Prefix, Marker, NextMarker, Delimiter, Key and
/// CommonPrefixes/Prefix are encoded with [`url_encode`].
pub fn render_list_objects_v1(l: &ListObjectsV1) -> String {
    let url = l.encoding_type_url;
    let has_delimiter = l.delimiter.as_deref().is_some_and(|d| !d.is_empty());
    let mut d = Doc::new();
    d.root("ListBucketResult");
    d.text("Name", &l.bucket);
    d.text("Prefix", &maybe_encode(url, &l.prefix));
    d.text("Marker", &maybe_encode(url, &l.marker));
    if l.is_truncated && has_delimiter {
        d.text_opt(
            "NextMarker",
            l.next_marker
                .as_deref()
                .map(|m| maybe_encode(url, m))
                .as_deref(),
        );
    }
    d.text("MaxKeys", &l.max_keys.to_string());
    d.delimiter_and_encoding(l.delimiter.as_deref(), url);
    d.bool("IsTruncated", l.is_truncated);
    for o in &l.contents {
        d.object("Contents", o, url, None);
    }
    d.common_prefixes(&l.common_prefixes, url);
    d.end("ListBucketResult");
    d.finish()
}

/// `ListBucketResult` for `ListObjectsV2`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>).
///
/// With `encoding_type_url`, Prefix, StartAfter, Delimiter, Key and
/// CommonPrefixes/Prefix are encoded with [`url_encode`]; continuation tokens
/// are opaque and never encoded.
pub fn render_list_objects_v2(l: &ListObjectsV2) -> String {
    let url = l.encoding_type_url;
    let mut d = Doc::new();
    d.root("ListBucketResult");
    d.text("Name", &l.bucket);
    d.text("Prefix", &maybe_encode(url, &l.prefix));
    d.text_opt(
        "StartAfter",
        l.start_after
            .as_deref()
            .map(|s| maybe_encode(url, s))
            .as_deref(),
    );
    d.text_opt("ContinuationToken", l.continuation_token.as_deref());
    d.text_opt(
        "NextContinuationToken",
        l.next_continuation_token.as_deref(),
    );
    d.text("KeyCount", &l.key_count.to_string());
    d.text("MaxKeys", &l.max_keys.to_string());
    d.delimiter_and_encoding(l.delimiter.as_deref(), url);
    d.bool("IsTruncated", l.is_truncated);
    for o in &l.contents {
        d.object("Contents", o, url, None);
    }
    d.common_prefixes(&l.common_prefixes, url);
    d.end("ListBucketResult");
    d.finish()
}

/// `ListVersionsResult`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html>).
///
/// With `encoding_type_url`, Prefix, KeyMarker, NextKeyMarker, Delimiter, Key
/// and CommonPrefixes/Prefix are encoded with [`url_encode`].
pub fn render_list_object_versions(l: &ListObjectVersions) -> String {
    let url = l.encoding_type_url;
    let mut d = Doc::new();
    d.root("ListVersionsResult");
    d.text("Name", &l.bucket);
    d.text("Prefix", &maybe_encode(url, &l.prefix));
    d.text("KeyMarker", &maybe_encode(url, &l.key_marker));
    d.text("VersionIdMarker", &l.version_id_marker);
    d.text_opt(
        "NextKeyMarker",
        l.next_key_marker
            .as_deref()
            .map(|m| maybe_encode(url, m))
            .as_deref(),
    );
    d.text_opt("NextVersionIdMarker", l.next_version_id_marker.as_deref());
    d.text("MaxKeys", &l.max_keys.to_string());
    d.delimiter_and_encoding(l.delimiter.as_deref(), url);
    d.bool("IsTruncated", l.is_truncated);
    for v in &l.versions {
        if v.delete_marker {
            d.start("DeleteMarker");
            d.text("Key", &maybe_encode(url, &v.object.key));
            d.text("VersionId", &v.version_id);
            d.bool("IsLatest", v.is_latest);
            d.text("LastModified", &format_timestamp(v.object.last_modified));
            if let Some(owner) = &v.object.owner {
                d.owner(owner);
            }
            d.end("DeleteMarker");
        } else {
            d.object(
                "Version",
                &v.object,
                url,
                Some((&v.version_id, v.is_latest)),
            );
        }
    }
    d.common_prefixes(&l.common_prefixes, url);
    d.end("ListVersionsResult");
    d.finish()
}

/// `LocationConstraint`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html>):
/// an empty element for `us-east-1` (given as `None`, `""` or `"us-east-1"`),
/// as AWS does, otherwise the region name.
pub fn render_location(constraint: Option<&str>) -> String {
    let mut d = Doc::new();
    match constraint.filter(|c| !c.is_empty() && *c != "us-east-1") {
        None => d.emit(Event::Empty(
            BytesStart::new("LocationConstraint").with_attributes([("xmlns", S3_XMLNS)]),
        )),
        Some(region) => {
            d.root("LocationConstraint");
            d.emit(Event::Text(BytesText::from_escaped(escape_text(region))));
            d.end("LocationConstraint");
        }
    }
    d.finish()
}

/// An error document
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses>):
/// `<Error><Code/><Message/>[extras]<Resource/><RequestId/></Error>`, with no
/// namespace, as AWS sends it. `extra` holds additional elements such as
/// `("Key", key)` or `("BucketName", bucket)`; their names must be valid XML
/// names (they are written as given), their values are escaped.
pub fn render_error(
    code: &str,
    message: &str,
    resource: Option<&str>,
    request_id: &str,
    extra: &[(&str, String)],
) -> String {
    let mut d = Doc::new();
    d.start("Error");
    d.text("Code", code);
    d.text("Message", message);
    for (name, value) in extra {
        d.text(name, value);
    }
    d.text_opt("Resource", resource);
    d.text("RequestId", request_id);
    d.end("Error");
    d.finish()
}

/// `DeleteResult`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>):
/// a `<Deleted>` per deleted key, then an `<Error>` per failure. For quiet
/// mode, pass no deleted keys.
pub fn render_delete_result(deleted: &[DeletedEntry], errors: &[DeleteErrorEntry]) -> String {
    let mut d = Doc::new();
    d.root("DeleteResult");
    for entry in deleted {
        d.start("Deleted");
        d.text("Key", &entry.key);
        if let Some(v) = &entry.version_id {
            d.text("VersionId", v);
        }
        if let Some(marker) = &entry.delete_marker_version_id {
            d.text("DeleteMarker", "true");
            d.text("DeleteMarkerVersionId", marker);
        }
        d.end("Deleted");
    }
    for e in errors {
        d.start("Error");
        d.text("Key", &e.key);
        if let Some(v) = &e.version_id {
            d.text("VersionId", v);
        }
        d.text("Code", &e.code);
        d.text("Message", &e.message);
        d.end("Error");
    }
    d.end("DeleteResult");
    d.finish()
}

/// `CopyObjectResult` (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>)
/// or `CopyPartResult` (UploadPartCopy): the new ETag and Last-Modified, and the
/// additional checksum when the object has one (`("CRC32", value)` →
/// `<ChecksumCRC32>`).
pub fn render_copy_result(
    root: &str,
    etag: &str,
    last_modified: OffsetDateTime,
    checksum: Option<(&str, &str)>,
) -> String {
    let mut d = Doc::new();
    d.root(root);
    d.text("ETag", etag);
    d.text("LastModified", &format_timestamp(last_modified));
    if let Some((algorithm, value)) = checksum {
        d.text(
            &format!("Checksum{}", algorithm.to_ascii_uppercase()),
            value,
        );
    }
    d.end(root);
    d.finish()
}

/// `AccessControlPolicy`, for `GetBucketAcl` and `GetObjectAcl`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html>).
/// Each `<Grantee>` declares the `xsi` namespace and its `xsi:type`.
pub fn render_access_control_policy(owner: &Owner, grants: &[Grant]) -> String {
    let mut d = Doc::new();
    d.root("AccessControlPolicy");
    d.owner(owner);
    d.start("AccessControlList");
    for g in grants {
        d.start("Grant");
        let xsi_type = match &g.grantee {
            Grantee::CanonicalUser { .. } => "CanonicalUser",
            Grantee::Group { .. } => "Group",
            Grantee::Email(_) => "AmazonCustomerByEmail",
        };
        d.emit(Event::Start(BytesStart::new("Grantee").with_attributes([
            ("xmlns:xsi", XSI_NS),
            ("xsi:type", xsi_type),
        ])));
        match &g.grantee {
            Grantee::CanonicalUser { id, display_name } => {
                d.text("ID", id);
                d.text_opt("DisplayName", display_name.as_deref());
            }
            Grantee::Group { uri } => d.text("URI", uri),
            Grantee::Email(email) => d.text("EmailAddress", email),
        }
        d.end("Grantee");
        d.text("Permission", &g.permission);
        d.end("Grant");
    }
    d.end("AccessControlList");
    d.end("AccessControlPolicy");
    d.finish()
}

// ---------------------------------------------------------------------------
// Parsing.

/// A parsed element: local name (namespace prefix dropped), attributes (local
/// names, values unescaped), child elements, and its own text (entities
/// resolved, not trimmed).
#[derive(Debug, Default)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attributes: Vec<(String, String)>,
    pub(super) children: Vec<Element>,
    pub(super) text: String,
}

impl Element {
    /// The only child called `name`: `Ok(None)` if absent, an error if
    /// repeated.
    pub(super) fn child(&self, name: &str) -> Result<Option<&Element>, XmlError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(malformed(format!("<{name}> given more than once")));
        }
        Ok(first)
    }
}

/// Parses a whole document into its root element.
pub(super) fn parse_document(body: &[u8]) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(malformed("more than one root element"));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed("elements nested too deeply"));
                }
                stack.push(open_element(&e)?);
            }
            Event::Empty(e) => {
                let element = open_element(&e)?;
                close_element(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                // quick-xml has checked that the name matches.
                let element = stack.pop().ok_or_else(|| malformed("unmatched end tag"))?;
                close_element(&mut stack, &mut root, element);
            }
            Event::Text(t) => {
                let text = t.xml10_content().map_err(|e| malformed(e.to_string()))?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(c) => {
                let text = c.xml10_content().map_err(|e| malformed(e.to_string()))?;
                push_text(&mut stack, &text)?;
            }
            Event::GeneralRef(r) => {
                let c = resolve_reference(&r)?;
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::DocType(_) => {
                return Err(malformed("document type declarations are not allowed"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unexpected end of document"));
    }
    root.ok_or_else(|| malformed("no root element"))
}

fn open_element(e: &BytesStart<'_>) -> Result<Element, XmlError> {
    let mut attributes = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| malformed(err.to_string()))?;
        let local = attr.key.local_name();
        let name = std::str::from_utf8(local.as_ref())
            .map_err(|_| malformed("attribute name is not UTF-8"))?;
        let value = attr
            .unescape_value()
            .map_err(|err| malformed(err.to_string()))?;
        attributes.push((name.to_owned(), value.into_owned()));
    }
    let local = e.local_name();
    let name =
        std::str::from_utf8(local.as_ref()).map_err(|_| malformed("element name is not UTF-8"))?;
    Ok(Element {
        name: name.to_owned(),
        attributes,
        ..Element::default()
    })
}

fn close_element(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(malformed("text outside the root element")),
    }
    Ok(())
}

/// Resolves `&name;` or `&#N;`: only the five predefined entities exist,
/// since DTDs are refused.
fn resolve_reference(r: &BytesRef<'_>) -> Result<char, XmlError> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
        return Ok(c);
    }
    let name = r.decode().map_err(|e| malformed(e.to_string()))?;
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(malformed(format!("undefined entity &{other};"))),
    }
}

/// `xsd:boolean`.
pub(super) fn parse_bool(text: &str) -> Result<bool, XmlError> {
    match text.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(malformed(format!("{other:?} is not a boolean"))),
    }
}

/// Parses a `DeleteObjects` body
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>):
///
/// ```xml
/// <Delete><Quiet>true</Quiet><Object><Key>k</Key><VersionId>v</VersionId></Object>...</Delete>
/// ```
///
/// The root must be `Delete` (any namespace). Each `Object` needs exactly one
/// `Key`, kept exactly as sent; an empty or absent `VersionId` is `None`.
/// Unknown elements (including the conditional-delete `ETag`,
/// `LastModifiedTime`, `Size`) are ignored. Zero objects or more than
/// [`MAX_DELETE_OBJECTS`] is [`XmlError::Malformed`], as AWS answers
/// `MalformedXML` for both.
pub fn parse_delete_objects(body: &[u8]) -> Result<DeleteObjectsRequest, XmlError> {
    let root = parse_document(body)?;
    if root.name != "Delete" {
        return Err(malformed(format!(
            "expected <Delete>, found <{}>",
            root.name
        )));
    }
    let quiet = match root.child("Quiet")? {
        Some(q) => parse_bool(&q.text)?,
        None => false,
    };
    let mut objects = Vec::new();
    for object in root.children.iter().filter(|c| c.name == "Object") {
        if objects.len() == MAX_DELETE_OBJECTS {
            return Err(malformed(format!(
                "more than {MAX_DELETE_OBJECTS} objects in one request"
            )));
        }
        let key = object
            .child("Key")?
            .ok_or_else(|| malformed("<Object> without <Key>"))?;
        let version_id = object
            .child("VersionId")?
            .map(|v| v.text.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        objects.push((key.text.clone(), version_id));
    }
    if objects.is_empty() {
        return Err(malformed("no <Object> to delete"));
    }
    Ok(DeleteObjectsRequest { quiet, objects })
}

/// Parses a `CreateBucket` body
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html>):
/// `<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`.
///
/// An empty (or all-whitespace) body, a missing `LocationConstraint` and an
/// empty one all give `None` (meaning `us-east-1`). Other children
/// (`Location`, `Bucket`, `Tags`) are ignored.
pub fn parse_create_bucket_configuration(body: &[u8]) -> Result<Option<String>, XmlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = parse_document(body)?;
    if root.name != "CreateBucketConfiguration" {
        return Err(malformed(format!(
            "expected <CreateBucketConfiguration>, found <{}>",
            root.name
        )));
    }
    Ok(root
        .child("LocationConstraint")?
        .map(|c| c.text.trim())
        .filter(|c| !c.is_empty())
        .map(str::to_owned))
}

/// The five permission names an ACL grant may carry.
const PERMISSIONS: [&str; 5] = ["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"];

/// Most grants one `AccessControlPolicy` may hold (S3's per-ACL limit).
const MAX_ACL_GRANTS: usize = 100;

/// The trimmed text of the required, non-empty child `name` of `parent`.
fn required_text<'e>(parent: &'e Element, name: &str) -> Result<&'e str, XmlError> {
    parent
        .child(name)?
        .map(|c| c.text.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed(format!("<{}> without <{name}>", parent.name)))
}

/// Parses a `PutBucketAcl` / `PutObjectAcl` body
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html#API_PutObjectAcl_RequestSyntax>):
///
/// ```xml
/// <AccessControlPolicy>
///   <Owner><ID>id</ID><DisplayName>name</DisplayName></Owner>
///   <AccessControlList>
///     <Grant>
///       <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">
///         <ID>id</ID>
///       </Grantee>
///       <Permission>READ</Permission>
///     </Grant>
///   </AccessControlList>
/// </AccessControlPolicy>
/// ```
///
/// The root must be `AccessControlPolicy` (any namespace) with exactly one
/// `AccessControlList` (which may be empty). `Owner` is optional, as in AWS's
/// reference, but when given needs an `ID`. Every `Grant` needs one `Grantee`
/// and one `Permission` (one of the five names, exactly); every `Grantee` needs
/// an `xsi:type` of `CanonicalUser` (with `ID`), `Group` (with `URI`) or
/// `AmazonCustomerByEmail` (with `EmailAddress`). Values are trimmed; a
/// `DisplayName` is ignored. Anything else, or more than 100 grants, is
/// [`XmlError::Malformed`]; hosts answer `MalformedACLError` for it.
pub fn parse_access_control_policy(body: &[u8]) -> Result<AccessControlPolicy, XmlError> {
    let root = parse_document(body)?;
    if root.name != "AccessControlPolicy" {
        return Err(malformed(format!(
            "expected <AccessControlPolicy>, found <{}>",
            root.name
        )));
    }
    let owner_id = match root.child("Owner")? {
        Some(owner) => Some(required_text(owner, "ID")?.to_owned()),
        None => None,
    };
    let list = root
        .child("AccessControlList")?
        .ok_or_else(|| malformed("<AccessControlPolicy> without <AccessControlList>"))?;
    let mut grants = Vec::new();
    for grant in list.children.iter().filter(|c| c.name == "Grant") {
        if grants.len() == MAX_ACL_GRANTS {
            return Err(malformed(format!(
                "more than {MAX_ACL_GRANTS} grants in one ACL"
            )));
        }
        let grantee = grant
            .child("Grantee")?
            .ok_or_else(|| malformed("<Grant> without <Grantee>"))?;
        let permission = required_text(grant, "Permission")?;
        if !PERMISSIONS.contains(&permission) {
            return Err(malformed(format!("unknown permission {permission:?}")));
        }
        let xsi_type = grantee
            .attributes
            .iter()
            .find(|(name, _)| name == "type")
            .map(|(_, value)| value.trim())
            .ok_or_else(|| malformed("<Grantee> without xsi:type"))?;
        let grantee = match xsi_type {
            "CanonicalUser" => Grantee::CanonicalUser {
                id: required_text(grantee, "ID")?.to_owned(),
                display_name: None,
            },
            "Group" => Grantee::Group {
                uri: required_text(grantee, "URI")?.to_owned(),
            },
            "AmazonCustomerByEmail" => {
                Grantee::Email(required_text(grantee, "EmailAddress")?.to_owned())
            }
            other => return Err(malformed(format!("unknown grantee type {other:?}"))),
        };
        grants.push(Grant {
            grantee,
            permission: permission.to_owned(),
        });
    }
    Ok(AccessControlPolicy { owner_id, grants })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    const ETAG: &str = "\"fba9dede5f27731c9771645a39863328\"";
    const ETAG_XML: &str = "&quot;fba9dede5f27731c9771645a39863328&quot;";

    fn owner() -> Owner {
        Owner {
            id: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a".to_owned(),
            display_name: "mtd@amazon.com".to_owned(),
        }
    }

    const OWNER_XML: &str = "<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Owner>";

    fn object(key: &str, owner: Option<Owner>) -> ObjectEntry {
        ObjectEntry {
            key: key.to_owned(),
            last_modified: datetime!(2009-10-12 17:50:30.5 UTC),
            etag: ETAG.to_owned(),
            size: 434234,
            storage_class: "STANDARD".to_owned(),
            owner,
        }
    }

    fn object_xml(elem: &str, key: &str, version: bool, owner: bool) -> String {
        format!(
            "<{elem}><Key>{key}</Key>{}<LastModified>2009-10-12T17:50:30.500Z</LastModified><ETag>{ETAG_XML}</ETag><Size>434234</Size>{}<StorageClass>STANDARD</StorageClass></{elem}>",
            if version {
                "<VersionId>null</VersionId><IsLatest>true</IsLatest>"
            } else {
                ""
            },
            if owner { OWNER_XML } else { "" },
        )
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            format_timestamp(datetime!(2009-10-12 17:50:30 UTC)),
            "2009-10-12T17:50:30.000Z"
        );
        assert_eq!(
            format_timestamp(datetime!(2024-02-29 23:59:59.999_999 +02:00)),
            "2024-02-29T21:59:59.999Z"
        );
        assert_eq!(
            format_timestamp(datetime!(0001-01-01 00:00:00.007 UTC)),
            "0001-01-01T00:00:00.007Z"
        );
    }

    #[test]
    fn url_encoding() {
        assert_eq!(url_encode("a b+c/d~e_f.g-h"), "a%20b%2Bc/d~e_f.g-h");
        assert_eq!(url_encode("100%.csv"), "100%25.csv");
        assert_eq!(url_encode("\u{d55c}/x"), "%ED%95%9C/x");
        assert_eq!(url_encode("a\u{1}b&c=d?*"), "a%01b%26c%3Dd%3F%2A");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_text("plain"), "plain");
        assert_eq!(
            escape_text("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(escape_text("a\tb\nc\rd\u{1}e"), "a\tb\nc&#xD;d&#x1;e");
    }

    #[test]
    fn list_buckets_golden() {
        let listing = |buckets: Vec<BucketEntry>, token: Option<&str>| BucketListing {
            owner: owner(),
            buckets,
            continuation_token: token.map(str::to_owned),
            prefix: None,
        };
        let xml = render_list_buckets(&listing(
            vec![
                BucketEntry {
                    name: "quotes".to_owned(),
                    creation_date: datetime!(2006-02-03 16:45:09 UTC),
                    region: "us-east-1".to_owned(),
                },
                BucketEntry {
                    name: "samples".to_owned(),
                    creation_date: datetime!(2006-02-03 16:41:58.25 UTC),
                    region: "eu-west-1".to_owned(),
                },
            ],
            Some("c2FtcGxlcw"),
        ));
        assert_eq!(
            xml,
            format!(
                "{PROLOG}<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{OWNER_XML}<Buckets><Bucket><Name>quotes</Name><CreationDate>2006-02-03T16:45:09.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket><Bucket><Name>samples</Name><CreationDate>2006-02-03T16:41:58.250Z</CreationDate><BucketRegion>eu-west-1</BucketRegion></Bucket></Buckets><ContinuationToken>c2FtcGxlcw</ContinuationToken></ListAllMyBucketsResult>"
            )
        );
        let empty = render_list_buckets(&listing(vec![], None));
        assert!(empty.ends_with(&format!(
            "{OWNER_XML}<Buckets></Buckets></ListAllMyBucketsResult>"
        )));
    }

    fn v1() -> ListObjectsV1 {
        ListObjectsV1 {
            bucket: "bucket".to_owned(),
            prefix: String::new(),
            marker: String::new(),
            next_marker: None,
            max_keys: 1000,
            delimiter: None,
            is_truncated: false,
            encoding_type_url: false,
            contents: vec![object("my-image.jpg", Some(owner()))],
            common_prefixes: vec![],
        }
    }

    #[test]
    fn list_objects_v1_golden() {
        assert_eq!(
            render_list_objects_v1(&v1()),
            format!(
                "{PROLOG}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{}</ListBucketResult>",
                object_xml("Contents", "my-image.jpg", false, true)
            )
        );
    }

    #[test]
    fn list_objects_v1_next_marker_only_when_truncated_with_delimiter() {
        let mut l = v1();
        l.next_marker = Some("my-image.jpg".to_owned());
        l.is_truncated = true;
        // Truncated, no delimiter: no NextMarker.
        assert!(!render_list_objects_v1(&l).contains("NextMarker"));
        // Delimiter, not truncated: none either.
        l.is_truncated = false;
        l.delimiter = Some("/".to_owned());
        assert!(!render_list_objects_v1(&l).contains("NextMarker"));
        // Both.
        l.is_truncated = true;
        l.prefix = "photos/".to_owned();
        l.marker = "a".to_owned();
        l.contents.clear();
        l.common_prefixes = vec!["photos/2006/".to_owned()];
        assert_eq!(
            render_list_objects_v1(&l),
            format!(
                "{PROLOG}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>photos/</Prefix><Marker>a</Marker><NextMarker>my-image.jpg</NextMarker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><CommonPrefixes><Prefix>photos/2006/</Prefix></CommonPrefixes></ListBucketResult>"
            )
        );
        // An empty delimiter is omitted, as on AWS.
        l.delimiter = Some(String::new());
        assert!(!render_list_objects_v1(&l).contains("Delimiter"));
    }

    #[test]
    fn list_objects_v1_url_encoding() {
        let l = ListObjectsV1 {
            bucket: "bucket".to_owned(),
            prefix: "a b/".to_owned(),
            marker: "a b/1+1".to_owned(),
            next_marker: Some("a b/\u{e9}".to_owned()),
            max_keys: 2,
            delimiter: Some("/".to_owned()),
            is_truncated: true,
            encoding_type_url: true,
            contents: vec![object("a b/\u{e9}", None)],
            common_prefixes: vec!["a b/c d/".to_owned()],
        };
        assert_eq!(
            render_list_objects_v1(&l),
            format!(
                "{PROLOG}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>a%20b/</Prefix><Marker>a%20b/1%2B1</Marker><NextMarker>a%20b/%C3%A9</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>{}<CommonPrefixes><Prefix>a%20b/c%20d/</Prefix></CommonPrefixes></ListBucketResult>",
                object_xml("Contents", "a%20b/%C3%A9", false, false)
            )
        );
    }

    #[test]
    fn list_objects_v2_golden() {
        let mut l = ListObjectsV2 {
            bucket: "bucket".to_owned(),
            prefix: String::new(),
            delimiter: None,
            max_keys: 1000,
            key_count: 1,
            is_truncated: false,
            continuation_token: None,
            next_continuation_token: None,
            start_after: None,
            encoding_type_url: false,
            contents: vec![object("my-image.jpg", None)],
            common_prefixes: vec![],
        };
        assert_eq!(
            render_list_objects_v2(&l),
            format!(
                "{PROLOG}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{}</ListBucketResult>",
                object_xml("Contents", "my-image.jpg", false, false)
            )
        );

        // fetch-owner, tokens, start-after, delimiter, encoding.
        l.contents = vec![object("x y<z>", Some(owner()))];
        l.prefix = "x y".to_owned();
        l.start_after = Some("x a".to_owned());
        l.continuation_token = Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=".to_owned());
        l.next_continuation_token = Some("tok+/=".to_owned());
        l.delimiter = Some("/".to_owned());
        l.common_prefixes = vec!["x y/".to_owned()];
        l.key_count = 2;
        l.max_keys = 2;
        l.is_truncated = true;
        l.encoding_type_url = true;
        assert_eq!(
            render_list_objects_v2(&l),
            format!(
                "{PROLOG}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>x%20y</Prefix><StartAfter>x%20a</StartAfter><ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken><NextContinuationToken>tok+/=</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>{}<CommonPrefixes><Prefix>x%20y/</Prefix></CommonPrefixes></ListBucketResult>",
                object_xml("Contents", "x%20y%3Cz%3E", false, true)
            )
        );

        // Without encoding, markup in keys is XML-escaped instead.
        l.encoding_type_url = false;
        let xml = render_list_objects_v2(&l);
        assert!(xml.contains("<Key>x y&lt;z&gt;</Key>"), "{xml}");
        assert!(xml.contains("<Prefix>x y</Prefix>"), "{xml}");
    }

    #[test]
    fn list_object_versions_golden() {
        let mut l = ListObjectVersions {
            bucket: "bucket".to_owned(),
            prefix: "my".to_owned(),
            key_marker: String::new(),
            version_id_marker: String::new(),
            next_key_marker: None,
            next_version_id_marker: None,
            max_keys: 5,
            delimiter: None,
            is_truncated: false,
            encoding_type_url: false,
            versions: vec![VersionEntry {
                object: object("my-image.jpg", Some(owner())),
                version_id: "null".to_owned(),
                is_latest: true,
                delete_marker: false,
            }],
            common_prefixes: vec![],
        };
        assert_eq!(
            render_list_object_versions(&l),
            format!(
                "{PROLOG}<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>my</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>5</MaxKeys><IsTruncated>false</IsTruncated>{}</ListVersionsResult>",
                object_xml("Version", "my-image.jpg", true, true)
            )
        );
        l.key_marker = "my a".to_owned();
        l.version_id_marker = "null".to_owned();
        l.next_key_marker = Some("my b".to_owned());
        l.next_version_id_marker = Some("null".to_owned());
        l.delimiter = Some("/".to_owned());
        l.is_truncated = true;
        l.encoding_type_url = true;
        l.versions = vec![VersionEntry {
            object: object("my b", None),
            version_id: "null".to_owned(),
            is_latest: true,
            delete_marker: false,
        }];
        l.common_prefixes = vec!["my dir/".to_owned()];
        assert_eq!(
            render_list_object_versions(&l),
            format!(
                "{PROLOG}<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>my</Prefix><KeyMarker>my%20a</KeyMarker><VersionIdMarker>null</VersionIdMarker><NextKeyMarker>my%20b</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>5</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>{}<CommonPrefixes><Prefix>my%20dir/</Prefix></CommonPrefixes></ListVersionsResult>",
                object_xml("Version", "my%20b", true, false)
            )
        );
    }

    #[test]
    fn location_golden() {
        let empty = format!(
            "{PROLOG}<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
        assert_eq!(render_location(None), empty);
        assert_eq!(render_location(Some("")), empty);
        assert_eq!(render_location(Some("us-east-1")), empty);
        assert_eq!(
            render_location(Some("eu-west-1")),
            format!(
                "{PROLOG}<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"
            )
        );
    }

    #[test]
    fn error_golden() {
        assert_eq!(
            render_error(
                "NoSuchKey",
                "The resource you requested does not exist",
                Some("/mybucket/myfoto.jpg"),
                "4442587FB7D0A2F9",
                &[],
            ),
            format!(
                "{PROLOG}<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message><Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"
            )
        );
        assert_eq!(
            render_error(
                "NoSuchKey",
                "The specified key does not exist.",
                None,
                "req-1",
                &[
                    ("Key", "a<b>&\"c\"".to_owned()),
                    ("BucketName", "b".to_owned())
                ],
            ),
            format!(
                "{PROLOG}<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&lt;b&gt;&amp;&quot;c&quot;</Key><BucketName>b</BucketName><RequestId>req-1</RequestId></Error>"
            )
        );
    }

    #[test]
    fn delete_result_golden() {
        assert_eq!(
            render_delete_result(
                &[
                    DeletedEntry {
                        key: "sample1.txt".to_owned(),
                        version_id: None,
                        delete_marker_version_id: None,
                    },
                    DeletedEntry {
                        key: "a&b".to_owned(),
                        version_id: None,
                        delete_marker_version_id: Some("m1".to_owned()),
                    },
                    DeletedEntry {
                        key: "c".to_owned(),
                        version_id: Some("v1".to_owned()),
                        delete_marker_version_id: None,
                    },
                ],
                &[DeleteErrorEntry {
                    key: "sample2.txt".to_owned(),
                    version_id: None,
                    code: "AccessDenied".to_owned(),
                    message: "Access Denied".to_owned(),
                }],
            ),
            format!(
                "{PROLOG}<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted><Key>sample1.txt</Key></Deleted><Deleted><Key>a&amp;b</Key><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>m1</DeleteMarkerVersionId></Deleted><Deleted><Key>c</Key><VersionId>v1</VersionId></Deleted><Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>"
            )
        );
        assert_eq!(
            render_delete_result(&[], &[]),
            format!(
                "{PROLOG}<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>"
            )
        );
    }

    #[test]
    fn access_control_policy_golden() {
        let xml = render_access_control_policy(
            &owner(),
            &[
                Grant {
                    grantee: Grantee::CanonicalUser {
                        id: owner().id,
                        display_name: Some(owner().display_name),
                    },
                    permission: "FULL_CONTROL".to_owned(),
                },
                Grant {
                    grantee: Grantee::Group {
                        uri: "http://acs.amazonaws.com/groups/global/AllUsers".to_owned(),
                    },
                    permission: "READ".to_owned(),
                },
                Grant {
                    grantee: Grantee::Email("xyz@amazon.com".to_owned()),
                    permission: "WRITE_ACP".to_owned(),
                },
                Grant {
                    grantee: Grantee::CanonicalUser {
                        id: "unknown".to_owned(),
                        display_name: None,
                    },
                    permission: "READ".to_owned(),
                },
            ],
        );
        assert_eq!(
            xml,
            format!(
                "{PROLOG}<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{OWNER_XML}<AccessControlList>\
<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>\
<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>\
<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"AmazonCustomerByEmail\"><EmailAddress>xyz@amazon.com</EmailAddress></Grantee><Permission>WRITE_ACP</Permission></Grant>\
<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>unknown</ID></Grantee><Permission>READ</Permission></Grant>\
</AccessControlList></AccessControlPolicy>"
            )
        );
    }

    #[test]
    fn rendered_documents_parse_back() {
        // Whatever we render must be well-formed for our own parser too.
        let l = ListObjectsV2 {
            bucket: "b".to_owned(),
            prefix: "p".to_owned(),
            delimiter: None,
            max_keys: 1,
            key_count: 1,
            is_truncated: false,
            continuation_token: None,
            next_continuation_token: None,
            start_after: None,
            encoding_type_url: false,
            contents: vec![object("tab\there & <there> \"q\" 'a' \r", None)],
            common_prefixes: vec![],
        };
        let root = parse_document(render_list_objects_v2(&l).as_bytes()).expect("well-formed");
        let contents = root.child("Contents").expect("once").expect("present");
        let key = contents.child("Key").expect("once").expect("present");
        assert_eq!(key.text, "tab\there & <there> \"q\" 'a' \r");
        let etag = contents.child("ETag").expect("once").expect("present");
        assert_eq!(etag.text, ETAG);
    }

    // --- AccessControlPolicy -----------------------------------------------

    fn acp(body: &str) -> Result<AccessControlPolicy, XmlError> {
        parse_access_control_policy(body.as_bytes())
    }

    fn user(id: &str, permission: &str) -> Grant {
        Grant {
            grantee: Grantee::CanonicalUser {
                id: id.to_owned(),
                display_name: None,
            },
            permission: permission.to_owned(),
        }
    }

    #[test]
    fn access_control_policy_parses_aws_example() {
        // The request of AWS's PutObjectAcl example, as documented.
        let policy = acp(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner>
    <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
    <DisplayName>CustomersName@amazon.com</DisplayName>
  </Owner>
  <AccessControlList>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">
        <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
        <DisplayName>CustomersName@amazon.com</DisplayName>
      </Grantee>
      <Permission>FULL_CONTROL</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AmazonCustomerByEmail">
        <EmailAddress>xyz@amazon.com</EmailAddress>
      </Grantee>
      <Permission>WRITE_ACP</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">
        <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>
      </Grantee>
      <Permission>READ</Permission>
    </Grant>
  </AccessControlList>
</AccessControlPolicy>"#,
        )
        .expect("parses");
        let id = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
        assert_eq!(
            policy,
            AccessControlPolicy {
                owner_id: Some(id.to_owned()),
                grants: vec![
                    user(id, "FULL_CONTROL"),
                    Grant {
                        grantee: Grantee::Email("xyz@amazon.com".to_owned()),
                        permission: "WRITE_ACP".to_owned(),
                    },
                    Grant {
                        grantee: Grantee::Group {
                            uri: "http://acs.amazonaws.com/groups/global/AllUsers".to_owned(),
                        },
                        permission: "READ".to_owned(),
                    },
                ],
            }
        );
    }

    #[test]
    fn access_control_policy_round_trips() {
        let grants = vec![
            user("a", "FULL_CONTROL"),
            user("b &<c>", "READ_ACP"),
            Grant {
                grantee: Grantee::Group {
                    uri: "http://acs.amazonaws.com/groups/s3/LogDelivery".to_owned(),
                },
                permission: "WRITE".to_owned(),
            },
            Grant {
                grantee: Grantee::Email("x@example.com".to_owned()),
                permission: "READ".to_owned(),
            },
        ];
        let xml = render_access_control_policy(&owner(), &grants);
        assert_eq!(
            acp(&xml),
            Ok(AccessControlPolicy {
                owner_id: Some(owner().id),
                grants
            })
        );
    }

    #[test]
    fn access_control_policy_variants() {
        // No owner, empty list, other prefixes and namespaces, unknown elements.
        assert_eq!(
            acp("<AccessControlPolicy><AccessControlList/></AccessControlPolicy>"),
            Ok(AccessControlPolicy {
                owner_id: None,
                grants: vec![],
            })
        );
        let policy = acp(
            "<s3:AccessControlPolicy xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">\
             <s3:AccessControlList><s3:Grant><s3:Grantee i:type=\" CanonicalUser \"><s3:ID> abc </s3:ID><Extra/></s3:Grantee>\
             <s3:Permission> READ </s3:Permission></s3:Grant><Other/></s3:AccessControlList></s3:AccessControlPolicy>",
        )
        .expect("parses");
        assert_eq!(policy.grants, vec![user("abc", "READ")]);
        // At the limit.
        let many: String = (0..100)
            .map(|i| {
                format!(
                    "<Grant><Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"CanonicalUser\"><ID>{i}</ID></Grantee><Permission>READ</Permission></Grant>"
                )
            })
            .collect();
        let policy = acp(&format!(
            "<AccessControlPolicy><AccessControlList>{many}</AccessControlList></AccessControlPolicy>"
        ))
        .expect("100 grants are fine");
        assert_eq!(policy.grants.len(), 100);
    }

    #[test]
    fn access_control_policy_malformed() {
        let grant = |grantee: &str, permission: &str| {
            format!(
                "<AccessControlPolicy><AccessControlList><Grant>{grantee}{permission}</Grant></AccessControlList></AccessControlPolicy>"
            )
        };
        let user = |id: &str| {
            format!(
                "<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"CanonicalUser\"><ID>{id}</ID></Grantee>"
            )
        };
        let read = "<Permission>READ</Permission>";
        let bodies = [
            String::new(),
            "not xml".to_owned(),
            "<AccessControlPolicy>".to_owned(),
            "<Policy><AccessControlList/></Policy>".to_owned(),
            "<AccessControlPolicy/>".to_owned(),
            "<AccessControlPolicy><Owner><ID>o</ID></Owner></AccessControlPolicy>".to_owned(),
            "<AccessControlPolicy><AccessControlList/><AccessControlList/></AccessControlPolicy>"
                .to_owned(),
            "<AccessControlPolicy><Owner/><AccessControlList/></AccessControlPolicy>".to_owned(),
            "<AccessControlPolicy><Owner><ID> </ID></Owner><AccessControlList/></AccessControlPolicy>"
                .to_owned(),
            "<AccessControlPolicy><Owner><ID>a</ID></Owner><Owner><ID>a</ID></Owner><AccessControlList/></AccessControlPolicy>"
                .to_owned(),
            grant(&user("a"), ""),
            grant(&user("a"), "<Permission>read</Permission>"),
            grant(&user("a"), "<Permission>ALL</Permission>"),
            grant(&user("a"), "<Permission/>"),
            grant(&user("a"), "<Permission>READ</Permission><Permission>WRITE</Permission>"),
            grant("", read),
            grant(&format!("{}{}", user("a"), user("b")), read),
            grant("<Grantee><ID>a</ID></Grantee>", read),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"CanonicalUser\"/>"),
                read,
            ),
            grant(&user(""), read),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"CanonicalUser\"><URI>u</URI></Grantee>"),
                read,
            ),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"Group\"><ID>a</ID></Grantee>"),
                read,
            ),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"AmazonCustomerByEmail\"><ID>a</ID></Grantee>"),
                read,
            ),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"Robot\"><ID>a</ID></Grantee>"),
                read,
            ),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"CanonicalUser\"><ID>a</ID><ID>b</ID></Grantee>"),
                read,
            ),
            grant(
                &format!("<Grantee xmlns:xsi=\"{XSI_NS}\" xsi:type=\"&bad;\"><ID>a</ID></Grantee>"),
                read,
            ),
            "<!DOCTYPE a [<!ENTITY e \"x\">]><AccessControlPolicy><AccessControlList/></AccessControlPolicy>"
                .to_owned(),
        ];
        for body in bodies {
            assert!(
                matches!(acp(&body), Err(XmlError::Malformed(_))),
                "{body:?} -> {:?}",
                acp(&body)
            );
        }
        let too_many: String = (0..101)
            .map(|i| grant(&user(&i.to_string()), read))
            .map(|g| {
                g.trim_start_matches("<AccessControlPolicy><AccessControlList>")
                    .trim_end_matches("</AccessControlList></AccessControlPolicy>")
                    .to_owned()
            })
            .collect();
        assert!(matches!(
            acp(&format!(
                "<AccessControlPolicy><AccessControlList>{too_many}</AccessControlList></AccessControlPolicy>"
            )),
            Err(XmlError::Malformed(_))
        ));
    }

    // --- Parsers -----------------------------------------------------------

    fn delete(body: &str) -> Result<DeleteObjectsRequest, XmlError> {
        parse_delete_objects(body.as_bytes())
    }

    #[test]
    fn delete_objects_basic() {
        let req = delete(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Quiet>true</Quiet>
    <Object>
        <Key>sample1.txt</Key>
    </Object>
    <Object>
        <Key>sample2.txt</Key>
        <VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId>
    </Object>
</Delete>"#,
        )
        .expect("parses");
        assert_eq!(
            req,
            DeleteObjectsRequest {
                quiet: true,
                objects: vec![
                    ("sample1.txt".to_owned(), None),
                    (
                        "sample2.txt".to_owned(),
                        Some("OYcLXagmS.WaD..oyH4KRguB95_YhLs7".to_owned())
                    ),
                ],
            }
        );
    }

    #[test]
    fn delete_objects_defaults_prefixes_and_unknowns() {
        let req = delete(
            "<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><s3:Object><s3:Key>k</s3:Key><ETag>\"x\"</ETag><Size>3</Size><Unknown><Deep/></Unknown></s3:Object><Other/></s3:Delete>",
        )
        .expect("parses");
        assert!(!req.quiet);
        assert_eq!(req.objects, vec![("k".to_owned(), None)]);
        for (text, quiet) in [
            ("false", false),
            (" 1 ", true),
            ("0", false),
            ("true", true),
        ] {
            let req = delete(&format!(
                "<Delete><Quiet>{text}</Quiet><Object><Key>k</Key></Object></Delete>"
            ))
            .expect("parses");
            assert_eq!(req.quiet, quiet, "{text}");
        }
        assert!(
            delete("<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>").is_err()
        );
        // Empty VersionId is no version.
        let req = delete("<Delete><Object><Key>k</Key><VersionId></VersionId></Object></Delete>")
            .expect("parses");
        assert_eq!(req.objects, vec![("k".to_owned(), None)]);
    }

    #[test]
    fn delete_objects_keys_are_exact_and_unescaped() {
        let req = delete(
            "<Delete><Object><Key>  a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#x41;&#66; \u{2713}  </Key></Object>\
             <Object><Key><![CDATA[<raw & cdata>]]></Key></Object>\
             <Object><Key>x&#13;y\r\nz</Key></Object>\
             <Object><Key/></Object></Delete>",
        )
        .expect("parses");
        let keys: Vec<&str> = req.objects.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "  a & b <c> \"d\" 'e' AB \u{2713}  ",
                "<raw & cdata>",
                "x\ry\nz",
                "",
            ]
        );
    }

    #[test]
    fn delete_objects_limits() {
        let body = |n: usize| {
            let mut s = String::from("<Delete>");
            for i in 0..n {
                s.push_str(&format!("<Object><Key>k{i}</Key></Object>"));
            }
            s.push_str("</Delete>");
            s
        };
        assert_eq!(
            delete(&body(1000)).expect("1000 is fine").objects.len(),
            1000
        );
        let err = delete(&body(1001)).expect_err("1001 is too many");
        assert!(matches!(err, XmlError::Malformed(_)));
        assert_eq!(err.code(), "MalformedXML");
        assert!(matches!(delete(&body(0)), Err(XmlError::Malformed(_))));
        assert!(matches!(delete("<Delete/>"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            delete("<Delete><Quiet>true</Quiet></Delete>"),
            Err(XmlError::Malformed(_))
        ));
    }

    #[test]
    fn delete_objects_malformed() {
        for body in [
            "",
            "   ",
            "not xml",
            "<Delete>",
            "<Delete><Object><Key>k</Key></Object>",
            "<Delete><Object><Key>k</Object></Key></Delete>",
            "<Delete><Object><Key>k</Key></Object></Delete><Delete/>",
            "<Delete><Object><Key>k</Key></Object></Delete>trailing",
            "text<Delete><Object><Key>k</Key></Object></Delete>",
            "<Delete><Object><Key>a & b</Key></Object></Delete>",
            "<Delete><Object><Key>&nbsp;</Key></Object></Delete>",
            "<Delete><Object><Key>&#0;</Key></Object></Delete>",
            "<Delete><Object><Key>&#xZZ;</Key></Object></Delete>",
            "<Delete><Object></Object></Delete>",
            "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
            "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
            "<Delete><Quiet>true</Quiet><Quiet>false</Quiet><Object><Key>k</Key></Object></Delete>",
            "<Delete xmlns=><Object><Key>k</Key></Object></Delete>",
            "<Remove><Object><Key>k</Key></Object></Remove>",
            "<Delete><Object><Key>k\u{0}</Key></Object></Delete>\u{ff}",
        ] {
            assert!(
                matches!(delete(body), Err(XmlError::Malformed(_))),
                "{body:?} -> {:?}",
                delete(body)
            );
        }
        // Invalid UTF-8.
        assert!(matches!(
            parse_delete_objects(b"<Delete><Object><Key>\xff</Key></Object></Delete>"),
            Err(XmlError::Malformed(_))
        ));
        // Too deep.
        let deep = format!(
            "<Delete><Object><Key>k</Key></Object>{}{}</Delete>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert!(matches!(delete(&deep), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn entity_definitions_are_refused() {
        let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE Delete [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<Delete><Object><Key>&lol2;</Key></Object></Delete>"#;
        assert!(matches!(
            delete(billion_laughs),
            Err(XmlError::Malformed(_))
        ));
        let external = r#"<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&xxe;</Key></Object></Delete>"#;
        assert!(matches!(delete(external), Err(XmlError::Malformed(_))));
        // Even without a DTD, an undefined entity is an error, not expanded.
        assert!(matches!(
            delete("<Delete><Object><Key>&xxe;</Key></Object></Delete>"),
            Err(XmlError::Malformed(_))
        ));
    }

    #[test]
    fn comments_and_processing_instructions_are_ignored() {
        let req = delete(
            "\u{feff}<?xml version=\"1.0\"?><!-- c --><Delete><?pi x?><Object><!-- c --><Key>k</Key></Object></Delete><!-- end -->\n",
        )
        .expect("parses");
        assert_eq!(req.objects, vec![("k".to_owned(), None)]);
    }

    #[test]
    fn create_bucket_configuration() {
        let parse = |s: &str| parse_create_bucket_configuration(s.as_bytes());
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse(" \r\n\t"), Ok(None));
        assert_eq!(
            parse(
                r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
                     <LocationConstraint>eu-west-1</LocationConstraint>
                   </CreateBucketConfiguration>"#
            ),
            Ok(Some("eu-west-1".to_owned()))
        );
        assert_eq!(
            parse(
                "<CreateBucketConfiguration><LocationConstraint> us-west-2 </LocationConstraint><Bucket><Type>x</Type></Bucket></CreateBucketConfiguration>"
            ),
            Ok(Some("us-west-2".to_owned()))
        );
        assert_eq!(parse("<CreateBucketConfiguration/>"), Ok(None));
        assert_eq!(
            parse("<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>"),
            Ok(None)
        );
        for bad in [
            "<CreateBucketConfiguration>",
            "<Other><LocationConstraint>x</LocationConstraint></Other>",
            "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint><LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
            "<!DOCTYPE x [<!ENTITY e \"eu\">]><CreateBucketConfiguration><LocationConstraint>&e;</LocationConstraint></CreateBucketConfiguration>",
            "garbage",
        ] {
            assert!(matches!(parse(bad), Err(XmlError::Malformed(_))), "{bad}");
        }
    }
}
