//! The XML documents of multipart uploads: `InitiateMultipartUploadResult`,
//! the `CompleteMultipartUpload` request and its result, `ListPartsResult` and
//! `ListMultipartUploadsResult`.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>

use time::OffsetDateTime;

use super::xml::{Doc, Owner, XmlError, format_timestamp, malformed, maybe_encode, parse_document};

/// A part as the `CompleteMultipartUpload` body lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletePart {
    /// `<PartNumber>`.
    pub part_number: i32,
    /// `<ETag>`, as sent.
    pub etag: String,
    /// A `<ChecksumXXX>` the client has for the part, if it sent one.
    pub checksum: Option<String>,
}

/// Parses a `CompleteMultipartUpload` body: at least one `<Part>`, each with one
/// `<PartNumber>` and one `<ETag>`; checksum elements are accepted and ignored (parts
/// were verified when uploaded). Order is kept: the caller checks it.
pub fn parse_complete(body: &[u8]) -> Result<Vec<CompletePart>, XmlError> {
    let root = parse_document(body)?;
    if root.name != "CompleteMultipartUpload" {
        return Err(malformed(format!(
            "expected <CompleteMultipartUpload>, found <{}>",
            root.name
        )));
    }
    let mut parts = Vec::new();
    for part in root.children.iter().filter(|c| c.name == "Part") {
        let number = part
            .child("PartNumber")?
            .ok_or_else(|| malformed("<Part> without <PartNumber>"))?;
        let part_number = number
            .text
            .trim()
            .parse::<i32>()
            .map_err(|_| malformed(format!("bad <PartNumber> {:?}", number.text)))?;
        let etag = part
            .child("ETag")?
            .ok_or_else(|| malformed("<Part> without <ETag>"))?;
        let checksum = part
            .children
            .iter()
            .find(|c| c.name.starts_with("Checksum") && c.name != "ChecksumType")
            .map(|c| c.text.trim().to_string());
        parts.push(CompletePart {
            part_number,
            etag: etag.text.trim().to_string(),
            checksum,
        });
    }
    if parts.is_empty() {
        return Err(malformed("no <Part>"));
    }
    Ok(parts)
}

/// `InitiateMultipartUploadResult`.
pub fn render_initiate(bucket: &str, key: &str, upload_id: &str) -> String {
    let mut d = Doc::new();
    d.root("InitiateMultipartUploadResult");
    d.text("Bucket", bucket);
    d.text("Key", key);
    d.text("UploadId", upload_id);
    d.end("InitiateMultipartUploadResult");
    d.finish()
}

/// `CompleteMultipartUploadResult`.
pub fn render_complete(
    location: &str,
    bucket: &str,
    key: &str,
    etag: &str,
    checksum: Option<(&str, &str)>,
) -> String {
    let mut d = Doc::new();
    d.root("CompleteMultipartUploadResult");
    d.text("Location", location);
    d.text("Bucket", bucket);
    d.text("Key", key);
    d.text("ETag", etag);
    if let Some((algorithm, value)) = checksum {
        d.text(
            &format!("Checksum{}", algorithm.to_ascii_uppercase()),
            value,
        );
        d.text("ChecksumType", checksum_type(value));
    }
    d.end("CompleteMultipartUploadResult");
    d.finish()
}

/// `PostResponse`, POST Object's answer with `success_action_status=201`.
pub fn render_post_response(location: &str, bucket: &str, key: &str, etag: &str) -> String {
    let mut d = Doc::new();
    d.start("PostResponse");
    d.text("Location", location);
    d.text("Bucket", bucket);
    d.text("Key", key);
    d.text("ETag", etag);
    d.end("PostResponse");
    d.finish()
}

/// S3's `ChecksumType` of a stored checksum value: a multipart object's checksum of its
/// parts' checksums is written `<value>-<parts>` (`COMPOSITE`); anything else is a
/// checksum of the whole object (`FULL_OBJECT`).
pub fn checksum_type(value: &str) -> &'static str {
    if value.contains('-') {
        "COMPOSITE"
    } else {
        "FULL_OBJECT"
    }
}

/// What `GetObjectAttributes` was asked for and found.
pub struct ObjectAttributes {
    /// `ETag` (unquoted, as S3 returns it here), if asked.
    pub etag: Option<String>,
    /// (algorithm, value as stored: a composite one ends in `-N`), if asked and stored.
    pub checksum: Option<(String, String)>,
    /// The parts section, if asked and the object was uploaded in parts.
    pub parts: Option<AttributeParts>,
    /// `STANDARD`, if asked.
    pub storage_class: bool,
    /// Size, if asked.
    pub object_size: Option<u64>,
}

/// `ObjectParts` of `GetObjectAttributes`.
pub struct AttributeParts {
    /// All parts of the object.
    pub total: usize,
    /// `x-amz-part-number-marker`.
    pub marker: i32,
    /// Where the next page starts, when truncated.
    pub next_marker: Option<i32>,
    /// `x-amz-max-parts`.
    pub max_parts: i64,
    /// Whether more parts follow.
    pub is_truncated: bool,
    /// (part number, size, checksum) of this page.
    pub parts: Vec<(i32, u64, Option<String>)>,
    /// The checksum algorithm of the part checksums.
    pub algorithm: Option<String>,
}

/// `GetObjectAttributesResponse`.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html>
pub fn render_object_attributes(a: &ObjectAttributes) -> String {
    let mut d = Doc::new();
    d.root("GetObjectAttributesResponse");
    if let Some(etag) = &a.etag {
        d.text("ETag", etag);
    }
    if let Some((algorithm, value)) = &a.checksum {
        // The part count is in `ObjectParts`; the value is reported without its "-N".
        let whole = value.split('-').next().unwrap_or(value);
        d.start("Checksum");
        d.text(
            &format!("Checksum{}", algorithm.to_ascii_uppercase()),
            whole,
        );
        d.text("ChecksumType", checksum_type(value));
        d.end("Checksum");
    }
    if let Some(p) = &a.parts {
        d.start("ObjectParts");
        // The member is TotalPartsCount; its XML name is PartsCount.
        d.text("PartsCount", &p.total.to_string());
        d.text("PartNumberMarker", &p.marker.to_string());
        if let Some(next) = p.next_marker {
            d.text("NextPartNumberMarker", &next.to_string());
        }
        d.text("MaxParts", &p.max_parts.to_string());
        d.bool("IsTruncated", p.is_truncated);
        for (number, size, checksum) in &p.parts {
            d.start("Part");
            d.text("PartNumber", &number.to_string());
            d.text("Size", &size.to_string());
            if let (Some(algorithm), Some(value)) = (&p.algorithm, checksum) {
                d.text(
                    &format!("Checksum{}", algorithm.to_ascii_uppercase()),
                    value,
                );
            }
            d.end("Part");
        }
        d.end("ObjectParts");
    }
    if a.storage_class {
        d.text("StorageClass", "STANDARD");
    }
    if let Some(size) = a.object_size {
        d.text("ObjectSize", &size.to_string());
    }
    d.end("GetObjectAttributesResponse");
    d.finish()
}

/// One part in `ListPartsResult`.
#[derive(Debug, Clone)]
pub struct PartEntry {
    /// Part number.
    pub part_number: i32,
    /// Upload time.
    pub last_modified: OffsetDateTime,
    /// Quoted MD5.
    pub etag: String,
    /// Bytes.
    pub size: u64,
    /// (algorithm, base64 value).
    pub checksum: Option<(String, String)>,
}

/// `ListPartsResult`.
pub struct ListParts<'a> {
    /// Bucket name.
    pub bucket: &'a str,
    /// Key.
    pub key: &'a str,
    /// Upload id.
    pub upload_id: &'a str,
    /// Initiator.
    pub initiator: Owner,
    /// Owner of the object to be.
    pub owner: Owner,
    /// `part-number-marker` as given.
    pub part_number_marker: i32,
    /// Last part listed, when truncated.
    pub next_part_number_marker: Option<i32>,
    /// `max-parts`.
    pub max_parts: i64,
    /// Whether more parts follow.
    pub is_truncated: bool,
    /// The parts.
    pub parts: Vec<PartEntry>,
    /// The upload's checksum algorithm.
    pub checksum_algorithm: Option<&'a str>,
}

fn owner_element(d: &mut Doc, name: &str, o: &Owner) {
    d.start(name);
    d.text("ID", &o.id);
    d.text("DisplayName", &o.display_name);
    d.end(name);
}

/// Renders [`ListParts`].
pub fn render_list_parts(l: &ListParts<'_>) -> String {
    let mut d = Doc::new();
    d.root("ListPartsResult");
    d.text("Bucket", l.bucket);
    d.text("Key", l.key);
    d.text("UploadId", l.upload_id);
    owner_element(&mut d, "Initiator", &l.initiator);
    owner_element(&mut d, "Owner", &l.owner);
    d.text("StorageClass", "STANDARD");
    d.text("PartNumberMarker", &l.part_number_marker.to_string());
    if let Some(next) = l.next_part_number_marker {
        d.text("NextPartNumberMarker", &next.to_string());
    }
    d.text("MaxParts", &l.max_parts.to_string());
    d.bool("IsTruncated", l.is_truncated);
    if let Some(algorithm) = l.checksum_algorithm {
        d.text("ChecksumAlgorithm", algorithm);
    }
    for p in &l.parts {
        d.start("Part");
        d.text("PartNumber", &p.part_number.to_string());
        d.text("LastModified", &format_timestamp(p.last_modified));
        d.text("ETag", &p.etag);
        d.text("Size", &p.size.to_string());
        if let Some((algorithm, value)) = &p.checksum {
            d.text(
                &format!("Checksum{}", algorithm.to_ascii_uppercase()),
                value,
            );
        }
        d.end("Part");
    }
    d.end("ListPartsResult");
    d.finish()
}

/// One upload in `ListMultipartUploadsResult`.
#[derive(Debug, Clone)]
pub struct UploadEntry {
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Initiator.
    pub initiator: Owner,
    /// Owner of the object to be.
    pub owner: Owner,
    /// Initiation time.
    pub initiated: OffsetDateTime,
}

/// `ListMultipartUploadsResult`.
pub struct ListUploads<'a> {
    /// Bucket name.
    pub bucket: &'a str,
    /// `key-marker` as given.
    pub key_marker: &'a str,
    /// `upload-id-marker` as given.
    pub upload_id_marker: &'a str,
    /// Where the next page starts, when truncated.
    pub next_key_marker: Option<String>,
    /// Where the next page starts, when truncated.
    pub next_upload_id_marker: Option<String>,
    /// `prefix`.
    pub prefix: &'a str,
    /// `delimiter`.
    pub delimiter: Option<&'a str>,
    /// `max-uploads`.
    pub max_uploads: i64,
    /// Whether more follow.
    pub is_truncated: bool,
    /// The uploads.
    pub uploads: Vec<UploadEntry>,
    /// Rolled-up prefixes.
    pub common_prefixes: Vec<String>,
    /// `encoding-type=url`.
    pub url: bool,
}

/// Renders [`ListUploads`].
pub fn render_list_uploads(l: &ListUploads<'_>) -> String {
    let url = l.url;
    let mut d = Doc::new();
    d.root("ListMultipartUploadsResult");
    d.text("Bucket", l.bucket);
    d.text("KeyMarker", &maybe_encode(url, l.key_marker));
    d.text("UploadIdMarker", l.upload_id_marker);
    if let Some(next) = &l.next_key_marker {
        d.text("NextKeyMarker", &maybe_encode(url, next));
    }
    if let Some(next) = &l.next_upload_id_marker {
        d.text("NextUploadIdMarker", next);
    }
    d.text("Prefix", &maybe_encode(url, l.prefix));
    d.delimiter_and_encoding(l.delimiter, url);
    d.text("MaxUploads", &l.max_uploads.to_string());
    d.bool("IsTruncated", l.is_truncated);
    for u in &l.uploads {
        d.start("Upload");
        d.text("Key", &maybe_encode(url, &u.key));
        d.text("UploadId", &u.upload_id);
        owner_element(&mut d, "Initiator", &u.initiator);
        owner_element(&mut d, "Owner", &u.owner);
        d.text("StorageClass", "STANDARD");
        d.text("Initiated", &format_timestamp(u.initiated));
        d.end("Upload");
    }
    d.common_prefixes(&l.common_prefixes, url);
    d.end("ListMultipartUploadsResult");
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_request() {
        let body = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <Part><ETag>"a"</ETag><PartNumber>1</PartNumber></Part>
            <Part><PartNumber>3</PartNumber><ETag>b</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
        </CompleteMultipartUpload>"#;
        let parts = parse_complete(body).expect("parses");
        assert_eq!(
            parts,
            [
                CompletePart {
                    part_number: 1,
                    etag: "\"a\"".into(),
                    checksum: None,
                },
                CompletePart {
                    part_number: 3,
                    etag: "b".into(),
                    checksum: Some("AAAAAA==".into()),
                }
            ]
        );
    }

    #[test]
    fn refuses_malformed_complete_requests() {
        for bad in [
            &b"<CompleteMultipartUpload></CompleteMultipartUpload>"[..],
            b"<Other><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Other>",
            b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
            b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
            b"<CompleteMultipartUpload><Part>",
        ] {
            assert!(parse_complete(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
