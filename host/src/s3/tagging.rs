//! Object and bucket tags: the `Tagging` document of Put/GetObjectTagging and
//! Put/GetBucketTagging, the `x-amz-tagging` header of PutObject, CopyObject and
//! CreateMultipartUpload, and S3's validation of both.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html>
//!
//! S3 checks the tags one by one, in document order, and only then their number, so a
//! set of eleven tags with a bad key is refused for the key.

use super::xml::{Doc, Element, XmlError, malformed, parse_document, url_encode};

/// Most tags an object may carry ("You can associate up to 10 tags with an object").
pub const MAX_OBJECT_TAGS: usize = 10;

/// Most tags a bucket may carry ("A tag set can contain as many as 50 tags").
pub const MAX_BUCKET_TAGS: usize = 50;

/// Longest tag key, in UTF-16 code units (see [`utf16_len`]).
pub const MAX_KEY_LEN: usize = 128;

/// Longest tag value, in UTF-16 code units.
pub const MAX_VALUE_LEN: usize = 256;

/// Largest tagging document we read, bytes. S3 documents no limit; 50 tags of the
/// longest key and value are about 40 KB even with every character escaped, so this
/// leaves room for indentation and comments without reading unbounded input.
pub const MAX_DOCUMENT_BYTES: usize = 64 << 10;

/// The header that carries an object's tags on writes.
pub const TAGGING_HEADER: &str = "x-amz-tagging";

pub use crate::tags::{Tag, TagSet};

/// Which resource the tags are for, which sets how many are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagLimit {
    /// An object: at most [`MAX_OBJECT_TAGS`].
    Object,
    /// A bucket: at most [`MAX_BUCKET_TAGS`].
    Bucket,
}

impl TagLimit {
    /// The most tags allowed.
    pub fn max(self) -> usize {
        match self {
            Self::Object => MAX_OBJECT_TAGS,
            Self::Bucket => MAX_BUCKET_TAGS,
        }
    }
}

/// Why a tag set is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaggingError {
    /// Not a well-formed `Tagging` document (`MalformedXML`).
    #[error(transparent)]
    Malformed(#[from] XmlError),
    /// A tag S3 does not accept (`InvalidTag`, 400). S3 names the offending key (and
    /// value) in `TagKey` (and `TagValue`) elements of the error; see [`Self::extra`].
    #[error("{message}")]
    InvalidTag {
        /// S3's message, e.g. "The TagKey you have provided is invalid".
        message: &'static str,
        /// The tag's key.
        key: String,
        /// The tag's value, when it is the value that is refused.
        value: Option<String>,
    },
    /// More tags than the resource may carry (`BadRequest`, 400: S3 answers
    /// "Object tags cannot be greater than 10" with this code, not `InvalidTag`).
    #[error("{}", too_many_message(*.0))]
    TooManyTags(TagLimit),
    /// An `x-amz-tagging` header that is not a query string of distinct, non-empty,
    /// UTF-8 keys (`InvalidArgument`, 400, with `ArgumentName` and `ArgumentValue`).
    #[error(
        "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."
    )]
    InvalidHeader {
        /// The header's value as sent.
        value: String,
    },
}

fn too_many_message(limit: TagLimit) -> &'static str {
    match limit {
        TagLimit::Object => "Object tags cannot be greater than 10",
        // UNVERIFIED: no recorded S3 answer gives the bucket form; this mirrors the
        // object one.
        TagLimit::Bucket => "Bucket tag count cannot be greater than 50",
    }
}

impl TaggingError {
    /// The S3 error code to answer with (all are status 400).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.code(),
            Self::InvalidTag { .. } => "InvalidTag",
            Self::TooManyTags(_) => "BadRequest",
            Self::InvalidHeader { .. } => "InvalidArgument",
        }
    }

    /// The extra elements S3 adds to the `<Error>` document: `TagKey`/`TagValue` for an
    /// invalid tag, `ArgumentName`/`ArgumentValue` for an invalid header.
    pub fn extra(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::InvalidTag { key, value, .. } => {
                let mut extra = vec![("TagKey", key.clone())];
                if let Some(value) = value {
                    extra.push(("TagValue", value.clone()));
                }
                extra
            }
            Self::InvalidHeader { value } => vec![
                ("ArgumentName", TAGGING_HEADER.to_owned()),
                ("ArgumentValue", value.clone()),
            ],
            Self::Malformed(_) | Self::TooManyTags(_) => Vec::new(),
        }
    }
}

/// Parses and checks a `Tagging` body (any namespace):
///
/// ```xml
/// <Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...</TagSet></Tagging>
/// ```
///
/// `TagSet` is required and may be empty (an empty set removes the tags); each `Tag`
/// needs exactly one `Key` and one `Value` (which may be empty). Keys and values are
/// kept exactly as sent, white space included. Then each tag is checked with
/// [`check_tags`].
pub fn parse_tagging(body: &[u8], limit: TagLimit) -> Result<TagSet, TaggingError> {
    let root = parse_document(body)?;
    if root.name != "Tagging" {
        return Err(malformed(format!("expected <Tagging>, found <{}>", root.name)).into());
    }
    if let Some(other) = root.children.iter().find(|c| c.name != "TagSet") {
        return Err(malformed(format!("unexpected <{}> in <Tagging>", other.name)).into());
    }
    let set = root
        .child("TagSet")?
        .ok_or_else(|| malformed("<Tagging> without <TagSet>"))?;
    let mut tags = Vec::with_capacity(set.children.len());
    for tag in &set.children {
        if tag.name != "Tag" {
            return Err(malformed(format!("unexpected <{}> in <TagSet>", tag.name)).into());
        }
        tags.push(parse_tag(tag)?);
    }
    check_tags(&tags, limit)?;
    Ok(tags)
}

/// One `<Tag>`: exactly one `Key` and one `Value`, nothing else.
pub(super) fn parse_tag(tag: &Element) -> Result<Tag, XmlError> {
    if let Some(other) = tag
        .children
        .iter()
        .find(|c| c.name != "Key" && c.name != "Value")
    {
        return Err(malformed(format!("unexpected <{}> in <Tag>", other.name)));
    }
    let key = leaf_text(
        tag.child("Key")?
            .ok_or_else(|| malformed("<Tag> without <Key>"))?,
    )?;
    let value = leaf_text(
        tag.child("Value")?
            .ok_or_else(|| malformed("<Tag> without <Value>"))?,
    )?;
    Ok(Tag::new(key, value))
}

fn leaf_text(e: &Element) -> Result<String, XmlError> {
    if !e.children.is_empty() {
        return Err(malformed(format!("<{}> holds elements", e.name)));
    }
    Ok(e.text.clone())
}

/// Parses the `x-amz-tagging` header: a URL query string, `k1=v1&k2=v2`, each key and
/// value percent-decoded with `+` as a space (form encoding, which is what SDKs and
/// `urlencode` write). A key without `=` has the empty value, as S3 reads
/// `foo=bar&bar` (ceph s3-tests `test_put_obj_with_tags`); the value runs from the
/// first `=` to the next `&`, so it may hold `=`. Empty pieces (`a=1&&b=2`) are
/// skipped. An empty key, a repeated key, a bad `%` escape or bytes that are not
/// UTF-8 are `InvalidArgument`; then the tags are checked as an object's
/// ([`check_tags`]).
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-Tagging>
pub fn parse_tagging_header(value: &str) -> Result<TagSet, TaggingError> {
    let invalid = || TaggingError::InvalidHeader {
        value: value.to_owned(),
    };
    let mut tags: TagSet = Vec::new();
    for piece in value.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let key = form_decode(k).ok_or_else(invalid)?;
        let val = form_decode(v).ok_or_else(invalid)?;
        if key.is_empty() || tags.iter().any(|t| t.key == key) {
            return Err(invalid());
        }
        tags.push(Tag::new(key, val));
    }
    check_tags(&tags, TagLimit::Object)?;
    Ok(tags)
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a space,
/// `%XX` a byte; `None` for a `%` not followed by two hex digits or a result that is
/// not UTF-8.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|&h| (h as char).to_digit(16))?;
                let lo = bytes.get(i + 2).and_then(|&l| (l as char).to_digit(16))?;
                // Two hex digits make at most 255.
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Writes tags in the header's form, the reverse of [`parse_tagging_header`]: each key
/// and value percent-encoded (all but `A-Z a-z 0-9 - . _ ~ /`, a space as `%20`),
/// joined as `k1=v1&k2=v2`.
pub fn tags_as_query(tags: &[Tag]) -> String {
    tags.iter()
        .map(|t| format!("{}={}", url_encode(&t.key), url_encode(&t.value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Checks a tag set as S3 does, tag by tag in order, then the count:
///
/// - the key is 1 to 128 and the value 0 to 256 characters, counted as UTF-16 code
///   units ("Amazon S3 object tags are internally represented in UTF-16. Note that in
///   UTF-16, characters consume either 1 or 2 character positions."), so a character
///   outside the Basic Multilingual Plane counts twice;
/// - both are made of Unicode letters, numbers, space separators and `_ . : / = + - @`
///   (the pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$` of AWS's tag references), so a tab,
///   a comma or an emoji is refused. Rust's standard library has no General Category
///   table, so "letter" here is [`char::is_alphabetic`], which also admits the few
///   combining marks Unicode calls `Other_Alphabetic`: a slight over-acceptance;
/// - a length or character fault answers "The TagKey you have provided is invalid" or
///   "The TagValue you have provided is invalid" (as S3 does for both);
/// - the key does not start with `aws:`, in any case: "System tags cannot be
///   added/updated by requester" (`aws:` is the prefix reserved for AWS's own tags);
/// - keys are distinct: "Cannot provide multiple Tags with the same key";
/// - then at most `limit.max()` tags (`BadRequest`).
///
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-managing.html>
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_S3Tag.html>
pub fn check_tags(tags: &[Tag], limit: TagLimit) -> Result<(), TaggingError> {
    for (i, tag) in tags.iter().enumerate() {
        let key_len = utf16_len(&tag.key);
        if key_len == 0 || key_len > MAX_KEY_LEN || !tag.key.chars().all(is_tag_char) {
            return Err(TaggingError::InvalidTag {
                message: "The TagKey you have provided is invalid",
                key: tag.key.clone(),
                value: None,
            });
        }
        if utf16_len(&tag.value) > MAX_VALUE_LEN || !tag.value.chars().all(is_tag_char) {
            return Err(TaggingError::InvalidTag {
                message: "The TagValue you have provided is invalid",
                key: tag.key.clone(),
                value: Some(tag.value.clone()),
            });
        }
        if tag
            .key
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
        {
            return Err(TaggingError::InvalidTag {
                message: "System tags cannot be added/updated by requester",
                key: tag.key.clone(),
                value: None,
            });
        }
        if tags.iter().take(i).any(|t| t.key == tag.key) {
            return Err(TaggingError::InvalidTag {
                message: "Cannot provide multiple Tags with the same key",
                key: tag.key.clone(),
                value: None,
            });
        }
    }
    if tags.len() > limit.max() {
        return Err(TaggingError::TooManyTags(limit));
    }
    Ok(())
}

/// Length in UTF-16 code units, the unit S3 counts tag lengths in.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Whether `c` may appear in a tag key or value: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn is_tag_char(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || is_space_separator(c) || "_.:/=+-@".contains(c)
}

/// Unicode General Category `Z` (`Zs`, `Zl`, `Zp`): the space separators, not the
/// control characters tab, newline and carriage return.
fn is_space_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// Renders a tag set as Get{Object,Bucket}Tagging answers it, in S3's namespace.
pub fn render_tagging(tags: &[Tag]) -> String {
    let mut d = Doc::new();
    d.root("Tagging");
    d.start("TagSet");
    for tag in tags {
        d.start("Tag");
        d.text("Key", &tag.key);
        d.text("Value", &tag.value);
        d.end("Tag");
    }
    d.end("TagSet");
    d.end("Tagging");
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(tags: &[(&str, &str)]) -> String {
        let tags: String = tags
            .iter()
            .map(|(k, v)| format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>"))
            .collect();
        format!("<Tagging><TagSet>{tags}</TagSet></Tagging>")
    }

    fn parse(body: &str) -> Result<TagSet, TaggingError> {
        parse_tagging(body.as_bytes(), TagLimit::Object)
    }

    fn message(r: Result<TagSet, TaggingError>) -> String {
        match r {
            Err(e) => format!("{} {e}", e.code()),
            Ok(tags) => panic!("accepted {tags:?}"),
        }
    }

    #[test]
    fn a_document_parses_in_order_and_round_trips() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <TagSet>
                <Tag><Key>project</Key><Value>blue sky</Value></Tag>
                <Tag><Key>b c+d-e=f.g_h:i/j@k</Key><Value>2 + 2 = 4</Value></Tag>
                <Tag><Key>empty</Key><Value></Value></Tag>
                <Tag><Key>Ünïcödé</Key><Value/></Tag>
              </TagSet>
            </Tagging>"#;
        let tags = parse(body).unwrap();
        assert_eq!(
            tags,
            vec![
                Tag::new("project", "blue sky"),
                Tag::new("b c+d-e=f.g_h:i/j@k", "2 + 2 = 4"),
                Tag::new("empty", ""),
                Tag::new("Ünïcödé", ""),
            ]
        );
        let rendered = render_tagging(&tags);
        assert!(rendered.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>project</Key><Value>blue sky</Value></Tag>"
        ));
        assert_eq!(parse(&rendered).unwrap(), tags);
    }

    #[test]
    fn golden_rendering() {
        assert_eq!(
            render_tagging(&[Tag::new("a&b", "<v>")]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>a&amp;b</Key><Value>&lt;v&gt;</Value></Tag></TagSet></Tagging>"
        );
        assert_eq!(
            render_tagging(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet></TagSet></Tagging>"
        );
    }

    #[test]
    fn an_empty_tag_set_is_accepted() {
        assert_eq!(parse("<Tagging><TagSet/></Tagging>"), Ok(vec![]));
    }

    #[test]
    fn white_space_in_keys_and_values_is_kept() {
        assert_eq!(
            parse(&doc(&[(" k ", " v ")])),
            Ok(vec![Tag::new(" k ", " v ")])
        );
    }

    #[test]
    fn structure_faults_are_malformed() {
        for body in [
            "",
            "<Tagging><TagSet>",
            "<Tagging></Tagging>",
            "<Tags><TagSet></TagSet></Tags>",
            "<Tagging><TagSet/><TagSet/></Tagging>",
            "<Tagging><TagSet/><Other/></Tagging>",
            "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key><Value/></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Key>a</Key><Value/><Colour/></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Key>a<b/></Key><Value/></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Other/></TagSet></Tagging>",
        ] {
            let r = parse(body);
            assert!(
                matches!(r, Err(TaggingError::Malformed(_))),
                "{body}: {r:?}"
            );
            assert_eq!(r.unwrap_err().code(), "MalformedXML");
        }
    }

    #[test]
    fn keys_and_values_are_limited_in_utf16_units() {
        let k128 = "k".repeat(128);
        let v256 = "文".repeat(256);
        assert!(parse(&doc(&[(&k128, &v256)])).is_ok());
        assert_eq!(
            message(parse(&doc(&[(&"k".repeat(129), "v")]))),
            "InvalidTag The TagKey you have provided is invalid"
        );
        assert_eq!(
            message(parse(&doc(&[("k", &"v".repeat(257))]))),
            "InvalidTag The TagValue you have provided is invalid"
        );
        assert_eq!(
            message(parse(&doc(&[("", "v")]))),
            "InvalidTag The TagKey you have provided is invalid"
        );
        // Astral letters count twice: 64 fit, 65 do not.
        let astral = |n: usize| "𝒜".repeat(n);
        assert!(parse(&doc(&[(&astral(64), "v")])).is_ok());
        assert!(matches!(
            parse(&doc(&[(&astral(65), "v")])),
            Err(TaggingError::InvalidTag { .. })
        ));
    }

    #[test]
    fn only_letters_numbers_spaces_and_some_symbols_are_allowed() {
        for good in ["a b", "a\u{a0}b", "٣", "Ⅻ", "日本", "x_.:/=+-@"] {
            assert!(parse(&doc(&[(good, good)])).is_ok(), "{good:?}");
        }
        for bad in [
            "a,b", "a;b", "a?b", "a!b", "a*b", "a#b", "a%b", "a(b)", "a\tb", "😀", "a\"b",
        ] {
            let key = parse_tagging_header(&format!("{}=v", url_encode(bad)));
            assert_eq!(
                key,
                Err(TaggingError::InvalidTag {
                    message: "The TagKey you have provided is invalid",
                    key: bad.to_owned(),
                    value: None
                }),
                "{bad:?}"
            );
            let value = parse_tagging_header(&format!("k={}", url_encode(bad)));
            assert_eq!(
                value,
                Err(TaggingError::InvalidTag {
                    message: "The TagValue you have provided is invalid",
                    key: "k".to_owned(),
                    value: Some(bad.to_owned())
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn system_keys_duplicates_and_counts() {
        for key in ["aws:cost", "AWS:cost", "Aws:x"] {
            assert_eq!(
                message(parse(&doc(&[(key, "v")]))),
                "InvalidTag System tags cannot be added/updated by requester"
            );
        }
        assert!(parse(&doc(&[("something:aws:stuff", "v"), ("aws", "v")])).is_ok());
        let dup = parse(&doc(&[("a", "1"), ("a", "2")])).unwrap_err();
        assert_eq!(
            dup.to_string(),
            "Cannot provide multiple Tags with the same key"
        );
        assert_eq!(dup.extra(), vec![("TagKey", "a".to_owned())]);

        let n = |count: usize| -> String {
            let tags: Vec<(String, String)> = (0..count)
                .map(|i| (format!("key-{i}"), String::new()))
                .collect();
            let refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (&**k, &**v)).collect();
            doc(&refs)
        };
        assert_eq!(parse(&n(10)).map(|t| t.len()), Ok(10));
        assert_eq!(
            message(parse(&n(11))),
            "BadRequest Object tags cannot be greater than 10"
        );
        assert_eq!(
            parse_tagging(n(50).as_bytes(), TagLimit::Bucket).map(|t| t.len()),
            Ok(50)
        );
        let too_many = parse_tagging(n(51).as_bytes(), TagLimit::Bucket).unwrap_err();
        assert_eq!(too_many, TaggingError::TooManyTags(TagLimit::Bucket));
        assert_eq!(too_many.code(), "BadRequest");
        // Each tag is checked before the count.
        let mut eleven = n(11);
        eleven = eleven.replace("key-10", "bad,key");
        assert!(matches!(
            parse(&eleven),
            Err(TaggingError::InvalidTag { .. })
        ));
    }

    #[test]
    fn the_header_form() {
        let h = |s: &str| parse_tagging_header(s);
        let tags = |pairs: &[(&str, &str)]| -> TagSet {
            pairs.iter().map(|(k, v)| Tag::new(*k, *v)).collect()
        };
        assert_eq!(h(""), Ok(vec![]));
        assert_eq!(h("a=1&b=2"), Ok(tags(&[("a", "1"), ("b", "2")])));
        assert_eq!(h("a&b="), Ok(tags(&[("a", ""), ("b", "")])));
        assert_eq!(h("foo=bar&bar"), Ok(tags(&[("foo", "bar"), ("bar", "")])));
        assert_eq!(
            h("a%20b=c%2Bd&e+f=g=h"),
            Ok(tags(&[("a b", "c+d"), ("e f", "g=h")]))
        );
        assert_eq!(h("%C3%BC=%E6%96%87"), Ok(tags(&[("ü", "文")])));
        assert_eq!(h("a=1&&b=2&"), Ok(tags(&[("a", "1"), ("b", "2")])));
        for bad in ["a=1&a=2", "=1", "a=%FF", "a=%zz", "a=%4", "%=1"] {
            let e = h(bad).unwrap_err();
            assert_eq!(e.code(), "InvalidArgument", "{bad}");
            assert_eq!(
                e.extra(),
                vec![
                    ("ArgumentName", "x-amz-tagging".to_owned()),
                    ("ArgumentValue", bad.to_owned())
                ]
            );
        }
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=")).collect();
        assert_eq!(
            h(&eleven.join("&")),
            Err(TaggingError::TooManyTags(TagLimit::Object))
        );
        assert!(matches!(
            h("aws:cost=1"),
            Err(TaggingError::InvalidTag { .. })
        ));
    }

    #[test]
    fn the_query_form_reverses_the_header() {
        let tags = vec![
            Tag::new("a b", "c+d"),
            Tag::new("e=f", "g h"),
            Tag::new("ü/x", ""),
            Tag::new("k@1", "v:2"),
        ];
        let query = tags_as_query(&tags);
        assert_eq!(query, "a%20b=c%2Bd&e%3Df=g%20h&%C3%BC/x=&k%401=v%3A2");
        assert_eq!(parse_tagging_header(&query), Ok(tags));
        assert_eq!(tags_as_query(&[]), "");
    }

    #[test]
    fn the_stored_form_is_json() {
        let tags = vec![Tag::new("k", "v")];
        let json = serde_json::to_string(&tags).unwrap();
        assert_eq!(json, r#"[{"key":"k","value":"v"}]"#);
        assert_eq!(serde_json::from_str::<TagSet>(&json).unwrap(), tags);
    }
}
