//! The `LifecycleConfiguration` document of Put/GetBucketLifecycleConfiguration: parsing
//! with S3's validation, the stored form, rendering it back, and when an object's
//! current version expires (the `x-amz-expiration` header).
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html>
//!
//! Where the API reference names no error, the codes and messages are those S3 was seen
//! to answer (recorded by LocalStack's AWS-validated tests and in public issue
//! trackers); each is noted where it is used.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, UtcOffset};

use super::tagging::{Tag, parse_tag};
use super::xml::{
    Doc, Element, XmlError, format_timestamp, malformed, parse_bool, parse_document,
    parse_timestamp,
};

/// Most rules one configuration may hold ("up to 1,000 rules per bucket. This limit is
/// not adjustable").
pub const MAX_RULES: usize = 1000;

/// Longest rule `ID` ("ID length is limited to 255 characters").
pub const MAX_ID_CHARS: usize = 255;

/// Largest configuration document, bytes. S3 documents no limit; 1 MiB holds 1,000
/// rules of about a kilobyte each.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Most noncurrent versions `NewerNoncurrentVersions` may keep ("You can specify up to
/// 100 noncurrent versions to retain").
pub const MAX_NEWER_NONCURRENT_VERSIONS: u32 = 100;

/// Largest object size a filter may name, bytes: the bound of S3's message
/// "'ObjectSizeLessThan' should be between 1 and 1099511627776000."
pub const MAX_FILTER_SIZE: u64 = 1_099_511_627_776_000;

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// Not a well-formed configuration (`MalformedXML`, 400).
    #[error(transparent)]
    Malformed(#[from] XmlError),
    /// A value out of range (`InvalidArgument`, 400), with S3's message.
    #[error("{0}")]
    InvalidArgument(String),
    /// A combination S3 does not allow (`InvalidRequest`, 400), with S3's message.
    #[error("{0}")]
    InvalidRequest(String),
    /// A `Transition` or `NoncurrentVersionTransition` (`InvalidStorageClass`, 400).
    /// Coffer stores everything in `STANDARD` and has no class to move objects to.
    /// AWS's code for "The storage class you specified is not valid" fits a class the
    /// service does not offer, and it is what MinIO answers for a transition to a
    /// storage tier it has not configured, and what Coffer answers for
    /// `x-amz-storage-class` on writes; `InvalidArgument` would suggest the rule's
    /// numbers were wrong.
    #[error("The storage class you specified is not valid: {0} (Coffer stores STANDARD only)")]
    InvalidStorageClass(String),
}

impl LifecycleError {
    /// The S3 error code to answer with (all are status 400).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.code(),
            Self::InvalidArgument(_) => "InvalidArgument",
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::InvalidStorageClass(_) => "InvalidStorageClass",
        }
    }
}

fn invalid_argument(message: impl Into<String>) -> LifecycleError {
    LifecycleError::InvalidArgument(message.into())
}

fn invalid_request(message: impl Into<String>) -> LifecycleError {
    LifecycleError::InvalidRequest(message.into())
}

/// A bucket's lifecycle configuration, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfiguration {
    /// The rules, in document order (1 to [`MAX_RULES`]).
    pub rules: Vec<LifecycleRule>,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// The rule's `ID`, unique in the configuration; `None` when not given (S3 then
    /// makes one up; whoever stores the rule may do the same).
    pub id: Option<String>,
    /// `Status` `Enabled` (`true`) or `Disabled`.
    pub enabled: bool,
    /// Which objects the rule applies to. A legacy rule-level `<Prefix>` is kept as a
    /// filter on that prefix.
    pub filter: LifecycleFilter,
    /// When the current version expires.
    pub expiration: Option<Expiration>,
    /// When noncurrent versions expire.
    pub noncurrent_expiration: Option<NoncurrentExpiration>,
    /// `AbortIncompleteMultipartUpload`'s `DaysAfterInitiation`.
    pub abort_incomplete_multipart_days: Option<u32>,
}

/// The objects a rule applies to: all conditions must hold. The default (empty
/// prefix, no tags, no sizes) is every object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleFilter {
    /// Key prefix (bytes); empty for any key.
    pub prefix: String,
    /// Tags the object must carry, each with this exact value.
    pub tags: Vec<Tag>,
    /// The object must be strictly larger than this many bytes.
    pub size_greater_than: Option<u64>,
    /// The object must be strictly smaller than this many bytes.
    pub size_less_than: Option<u64>,
}

impl LifecycleFilter {
    /// Whether an object with this key, size and tags is one the rule applies to: the
    /// key starts with the prefix (bytewise), every tag of the filter is among `tags`
    /// with the same value (the object may have others), and the size is strictly
    /// inside the bounds ("The `ObjectSizeGreaterThan` and `ObjectSizeLessThan`
    /// filters exclude the specified values").
    pub fn matches(&self, key: &str, size: u64, tags: &[Tag]) -> bool {
        key.as_bytes().starts_with(self.prefix.as_bytes())
            && self.tags.iter().all(|want| tags.contains(want))
            && self.size_greater_than.is_none_or(|min| size > min)
            && self.size_less_than.is_none_or(|max| size < max)
    }

    /// How many predicates the filter holds (an empty prefix is none).
    fn predicates(&self) -> usize {
        usize::from(!self.prefix.is_empty())
            + self.tags.len()
            + usize::from(self.size_greater_than.is_some())
            + usize::from(self.size_less_than.is_some())
    }
}

/// The `Expiration` action of a rule: exactly one of its three forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiration {
    /// So many days after the object's creation (a positive number).
    Days(u32),
    /// On this date, always midnight UTC.
    Date(#[serde(with = "super::xml::rfc3339")] OffsetDateTime),
    /// Whether to remove a delete marker once it has no noncurrent versions left.
    /// `false` is kept as sent: S3 accepts it as an action that does nothing.
    ExpiredObjectDeleteMarker(bool),
}

/// The `NoncurrentVersionExpiration` action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    /// `NoncurrentDays`: days after a version became noncurrent (positive).
    pub days: u32,
    /// `NewerNoncurrentVersions`: how many newer noncurrent versions to keep regardless
    /// (1 to [`MAX_NEWER_NONCURRENT_VERSIONS`]).
    pub newer_noncurrent_versions: Option<u32>,
}

/// Parses and checks a `LifecycleConfiguration` body (any namespace):
///
/// ```xml
/// <LifecycleConfiguration>
///   <Rule>
///     <ID>logs</ID><Status>Enabled</Status>
///     <Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>
///     <Expiration><Days>365</Days></Expiration>
///     <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration>
///     <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>
///   </Rule>
/// </LifecycleConfiguration>
/// ```
///
/// A rule's elements may come in any order. Each rule needs `Status` and one of
/// `Filter` or the deprecated rule-level `Prefix`, and at least one action. Rules of
/// the two forms cannot be mixed in one configuration, as on S3.
pub fn parse_lifecycle_configuration(
    body: &[u8],
) -> Result<LifecycleConfiguration, LifecycleError> {
    let root = parse_document(body)?;
    if root.name != "LifecycleConfiguration" {
        return Err(malformed(format!(
            "expected <LifecycleConfiguration>, found <{}>",
            root.name
        ))
        .into());
    }
    let mut rules: Vec<LifecycleRule> = Vec::new();
    // Whether the rules so far use a rule-level <Prefix> (V1) or a <Filter> (V2).
    let mut v1: Option<bool> = None;
    for child in &root.children {
        if child.name != "Rule" {
            return Err(malformed(format!("unexpected <{}>", child.name)).into());
        }
        let (rule, legacy) = parse_rule(child)?;
        match v1 {
            // S3's messages for mixing the forms (ansible #53751, 2019; terraform
            // #23299, 2022).
            Some(true) if !legacy => {
                return Err(invalid_request(
                    "Filter element can only be used in Lifecycle V2.",
                ));
            }
            Some(false) if legacy => {
                return Err(invalid_request(
                    "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.",
                ));
            }
            _ => v1 = Some(legacy),
        }
        if legacy
            && rule
                .noncurrent_expiration
                .as_ref()
                .is_some_and(|n| n.newer_noncurrent_versions.is_some())
        {
            return Err(invalid_request(
                "NewerNoncurrentVersions element can only be used in Lifecycle V2.",
            ));
        }
        if let Some(id) = &rule.id
            && rules.iter().any(|r| r.id.as_ref() == Some(id))
        {
            return Err(invalid_argument(
                "Rule ID must be unique. Found same ID for more than one rule",
            ));
        }
        rules.push(rule);
    }
    // The error table's InvalidRequest messages (S3 answered MalformedXML for both
    // before 2018).
    if rules.is_empty() {
        return Err(invalid_request(
            "At least one lifecycle rule must be specified.",
        ));
    }
    if rules.len() > MAX_RULES {
        return Err(invalid_request(format!(
            "The number of lifecycle rules must not exceed the allowed limit of {MAX_RULES} rules."
        )));
    }
    Ok(LifecycleConfiguration { rules })
}

/// One `<Rule>`, and whether it used the legacy rule-level `<Prefix>`.
fn parse_rule(rule: &Element) -> Result<(LifecycleRule, bool), LifecycleError> {
    for field in &rule.children {
        match field.name.as_str() {
            "ID"
            | "Status"
            | "Prefix"
            | "Filter"
            | "Expiration"
            | "NoncurrentVersionExpiration"
            | "AbortIncompleteMultipartUpload" => {}
            "Transition" | "NoncurrentVersionTransition" => {
                let class = field
                    .child("StorageClass")?
                    .map(|c| c.text.trim().to_owned())
                    .unwrap_or_default();
                return Err(LifecycleError::InvalidStorageClass(class));
            }
            other => {
                return Err(malformed(format!("unexpected <{other}> in <Rule>")).into());
            }
        }
    }
    let id = match rule.child("ID")?.map(leaf).transpose()? {
        Some(id) if id.chars().count() > MAX_ID_CHARS => {
            // NooBaa #8628 (2025), quoting S3.
            return Err(invalid_argument(format!(
                "ID length should not exceed allowed limit of {MAX_ID_CHARS}"
            )));
        }
        // An empty ID is none.
        Some(id) if !id.is_empty() => Some(id),
        _ => None,
    };
    let enabled = match rule.child("Status")?.map(|s| s.text.trim()) {
        Some("Enabled") => true,
        Some("Disabled") => false,
        Some(other) => return Err(malformed(format!("bad <Status> {other:?}")).into()),
        None => return Err(malformed("<Rule> without <Status>").into()),
    };
    let (filter, legacy) = match (rule.child("Prefix")?, rule.child("Filter")?) {
        (Some(prefix), None) => (
            LifecycleFilter {
                prefix: leaf(prefix)?,
                ..LifecycleFilter::default()
            },
            true,
        ),
        (None, Some(filter)) => (parse_filter(filter)?, false),
        (Some(_), Some(_)) => {
            return Err(malformed("<Rule> with both <Prefix> and <Filter>").into());
        }
        (None, None) => {
            return Err(malformed("<Rule> without <Filter> or <Prefix>").into());
        }
    };
    let expiration = rule
        .child("Expiration")?
        .map(parse_expiration)
        .transpose()?;
    let noncurrent_expiration = rule
        .child("NoncurrentVersionExpiration")?
        .map(parse_noncurrent_expiration)
        .transpose()?;
    let abort_incomplete_multipart_days = rule
        .child("AbortIncompleteMultipartUpload")?
        .map(parse_abort)
        .transpose()?;
    if expiration.is_none()
        && noncurrent_expiration.is_none()
        && abort_incomplete_multipart_days.is_none()
    {
        // mcaf-s3 #46 (2025); the error table words it "At least one action must be
        // specified in a lifecycle rule.", with the same code.
        return Err(invalid_request(
            "At least one action needs to be specified in a rule",
        ));
    }
    let sized = filter.size_greater_than.is_some() || filter.size_less_than.is_some();
    // "You can't specify this lifecycle action in a rule that has a filter that uses
    // object tags" (said of both). Messages as S3 answered (terraform-aws-s3-bucket
    // #109, cfn-lint #3554, cloudposse #137); the tag form of ExpiredObjectDeleteMarker's
    // has no record and follows the others.
    if abort_incomplete_multipart_days.is_some() {
        if !filter.tags.is_empty() {
            return Err(invalid_request(
                "AbortIncompleteMultipartUpload cannot be specified with Tags.",
            ));
        }
        if sized {
            return Err(invalid_request(
                "AbortIncompleteMultipartUpload cannot be specified with Object Size.",
            ));
        }
    }
    if matches!(expiration, Some(Expiration::ExpiredObjectDeleteMarker(_))) {
        if !filter.tags.is_empty() {
            return Err(invalid_request(
                "ExpiredObjectDeleteMarker cannot be specified with Tags.",
            ));
        }
        if sized {
            return Err(invalid_request(
                "ExpiredObjectDeleteMarker cannot be specified with Object Size.",
            ));
        }
    }
    let rule = LifecycleRule {
        id,
        enabled,
        filter,
        expiration,
        noncurrent_expiration,
        abort_incomplete_multipart_days,
    };
    Ok((rule, legacy))
}

/// The text of an element that must hold no elements.
fn leaf(e: &Element) -> Result<String, XmlError> {
    if let Some(c) = e.children.first() {
        return Err(malformed(format!(
            "unexpected <{}> in <{}>",
            c.name, e.name
        )));
    }
    Ok(e.text.clone())
}

/// `<Filter>`: empty (every object), or exactly one of `Prefix`, `Tag`,
/// `ObjectSizeGreaterThan`, `ObjectSizeLessThan` or `And`; an `And` of two or more
/// predicates (an empty `Prefix` counts), at most one prefix and one of each size.
/// Two predicates directly in a `Filter`, or an `And` of one, is `MalformedXML` on S3.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRuleFilter.html>
fn parse_filter(filter: &Element) -> Result<LifecycleFilter, LifecycleError> {
    let mut f = LifecycleFilter::default();
    match filter.children.as_slice() {
        [] => {}
        [and] if and.name == "And" => {
            if and.children.len() < 2 {
                return Err(malformed("<And> needs two or more predicates").into());
            }
            // A repeated prefix is malformed even when empty.
            and.child("Prefix")?;
            for p in &and.children {
                predicate(&mut f, p)?;
            }
        }
        [one] => predicate(&mut f, one)?,
        _ => return Err(malformed("<Filter> holds more than one predicate").into()),
    }
    if f.tags
        .iter()
        .enumerate()
        .any(|(i, t)| f.tags.iter().take(i).any(|o| o.key == t.key))
    {
        // LocalStack's AWS-validated snapshot.
        return Err(invalid_request("Duplicate Tag Keys are not allowed."));
    }
    if let Some(max) = f.size_less_than
        && !(1..=MAX_FILTER_SIZE).contains(&max)
    {
        // terraform-provider-aws #41521 (2025).
        return Err(invalid_request(format!(
            "'ObjectSizeLessThan' should be between 1 and {MAX_FILTER_SIZE}."
        )));
    }
    if let Some(min) = f.size_greater_than
        && min >= MAX_FILTER_SIZE
    {
        // UNVERIFIED wording, by analogy with the one above.
        return Err(invalid_request(format!(
            "'ObjectSizeGreaterThan' should be between 0 and {}.",
            MAX_FILTER_SIZE - 1
        )));
    }
    if let (Some(min), Some(max)) = (f.size_greater_than, f.size_less_than)
        && min >= max
    {
        // As S3 words it (seen through CloudFormation, 2026).
        return Err(invalid_request(
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.",
        ));
    }
    Ok(f)
}

/// Adds one predicate element to the filter; a second prefix or size is malformed.
fn predicate(f: &mut LifecycleFilter, p: &Element) -> Result<(), LifecycleError> {
    match p.name.as_str() {
        "Prefix" => {
            if !f.prefix.is_empty() {
                return Err(malformed("more than one <Prefix> in <And>").into());
            }
            f.prefix = leaf(p)?;
        }
        "Tag" => {
            // The user guide lets a filter's tag leave out <Value> ("the rule will
            // apply only to objects that match the tag key and that do not have a
            // value specified"): that is the empty value.
            let tag = if p.child("Value")?.is_none() {
                let key = p
                    .child("Key")?
                    .ok_or_else(|| malformed("<Tag> without <Key>"))?;
                if p.children.len() != 1 {
                    return Err(malformed("unexpected element in <Tag>").into());
                }
                Tag::new(leaf(key)?, "")
            } else {
                parse_tag(p)?
            };
            if tag.key.is_empty() {
                return Err(malformed("<Tag> with an empty <Key>").into());
            }
            f.tags.push(tag);
        }
        "ObjectSizeGreaterThan" if f.size_greater_than.is_none() => {
            f.size_greater_than = Some(size(p)?);
        }
        "ObjectSizeLessThan" if f.size_less_than.is_none() => {
            f.size_less_than = Some(size(p)?);
        }
        other => return Err(malformed(format!("unexpected <{other}> in the filter")).into()),
    }
    Ok(())
}

fn size(e: &Element) -> Result<u64, XmlError> {
    let text = leaf(e)?;
    text.trim()
        .parse::<u64>()
        .map_err(|_| malformed(format!("bad <{}> {text:?}", e.name)))
}

/// An `xsd:int` day count that must be positive: not an integer (or out of `int`'s
/// range) is malformed; zero or negative is `InvalidArgument` with `message`.
fn positive_days(e: &Element, message: &str) -> Result<u32, LifecycleError> {
    let text = leaf(e)?;
    let n: i32 = text
        .trim()
        .parse()
        .map_err(|_| malformed(format!("bad <{}> {text:?}", e.name)))?;
    u32::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid_argument(message))
}

/// `<Expiration>`: exactly one of `Days`, `Date` or `ExpiredObjectDeleteMarker`.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html>
fn parse_expiration(e: &Element) -> Result<Expiration, LifecycleError> {
    if let Some(c) = e.children.iter().find(|c| {
        !matches!(
            c.name.as_str(),
            "Days" | "Date" | "ExpiredObjectDeleteMarker"
        )
    }) {
        return Err(malformed(format!("unexpected <{}> in <Expiration>", c.name)).into());
    }
    let days = e.child("Days")?;
    let date = e.child("Date")?;
    let marker = e.child("ExpiredObjectDeleteMarker")?;
    match (days, date, marker) {
        // "'Days' for Expiration action must be a positive integer" (as S3 words it,
        // seen through CloudFormation); s3-tests test_lifecycle_expiration_days0
        // expects InvalidArgument.
        (Some(days), None, None) => Ok(Expiration::Days(positive_days(
            days,
            "'Days' for Expiration action must be a positive integer",
        )?)),
        (None, Some(date), None) => {
            let text = leaf(date)?;
            // A date S3 cannot read (e.g. an HTTP date) is MalformedXML (aws-sdk-js
            // #2352).
            let t =
                parse_timestamp(&text).ok_or_else(|| malformed(format!("bad <Date> {text:?}")))?;
            if t.time() != Time::MIDNIGHT {
                // "The time is always midnight UTC."
                return Err(invalid_argument("'Date' must be at midnight GMT"));
            }
            Ok(Expiration::Date(t))
        }
        (None, None, Some(marker)) => Ok(Expiration::ExpiredObjectDeleteMarker(parse_bool(
            &leaf(marker)?,
        )?)),
        // ExpiredObjectDeleteMarker "cannot be specified with Days or Date"; S3 answers
        // MalformedXML (LocalStack; aws-cli #8239). Days with Date, or none of them,
        // has no record: the schema allows one, so MalformedXML.
        _ => Err(malformed(
            "<Expiration> needs exactly one of <Days>, <Date> or <ExpiredObjectDeleteMarker>",
        )
        .into()),
    }
}

/// `<NoncurrentVersionExpiration>`: `NoncurrentDays` (required, positive) and optional
/// `NewerNoncurrentVersions` (1 to 100). Without `NoncurrentDays` S3 answers
/// MalformedXML (LocalStack; NooBaa #8861).
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html>
fn parse_noncurrent_expiration(e: &Element) -> Result<NoncurrentExpiration, LifecycleError> {
    if let Some(c) = e.children.iter().find(|c| {
        !matches!(
            c.name.as_str(),
            "NoncurrentDays" | "NewerNoncurrentVersions"
        )
    }) {
        return Err(malformed(format!(
            "unexpected <{}> in <NoncurrentVersionExpiration>",
            c.name
        ))
        .into());
    }
    let days = e
        .child("NoncurrentDays")?
        .ok_or_else(|| malformed("<NoncurrentVersionExpiration> without <NoncurrentDays>"))?;
    // terraform-provider-aws #35328 (2024).
    let days = positive_days(
        days,
        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    )?;
    let newer_noncurrent_versions = match e.child("NewerNoncurrentVersions")? {
        None => None,
        Some(n) => {
            let text = leaf(n)?;
            let n: i32 = text
                .trim()
                .parse()
                .map_err(|_| malformed(format!("bad <NewerNoncurrentVersions> {text:?}")))?;
            // The documented range; S3 itself was seen to accept 500 (CloudFormation,
            // 2026), and its wording for a refusal is UNVERIFIED.
            let n = u32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_NEWER_NONCURRENT_VERSIONS).contains(n))
                .ok_or_else(|| {
                    invalid_argument(format!(
                        "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be between 1 and {MAX_NEWER_NONCURRENT_VERSIONS}"
                    ))
                })?;
            Some(n)
        }
    };
    Ok(NoncurrentExpiration {
        days,
        newer_noncurrent_versions,
    })
}

/// `<AbortIncompleteMultipartUpload>`: `DaysAfterInitiation`, required and positive.
/// S3's wording for zero is UNVERIFIED; this is the form of its other day messages.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortIncompleteMultipartUpload.html>
fn parse_abort(e: &Element) -> Result<u32, LifecycleError> {
    if let Some(c) = e.children.iter().find(|c| c.name != "DaysAfterInitiation") {
        return Err(malformed(format!(
            "unexpected <{}> in <AbortIncompleteMultipartUpload>",
            c.name
        ))
        .into());
    }
    let days = e.child("DaysAfterInitiation")?.ok_or_else(|| {
        malformed("<AbortIncompleteMultipartUpload> without <DaysAfterInitiation>")
    })?;
    positive_days(
        days,
        "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
    )
}

/// Renders a configuration as GetBucketLifecycleConfiguration answers it: each rule's
/// `ID`, `Filter`, `Status`, then its actions, as S3 orders them. The filter is always
/// a `<Filter>` (a legacy rule-level prefix comes back inside one): empty as
/// `<Filter/>`, one predicate directly, more inside `<And>`. Dates are written with
/// milliseconds, `2027-01-01T00:00:00.000Z`. Parsing the result gives the same value.
pub fn render_lifecycle_configuration(config: &LifecycleConfiguration) -> String {
    let mut d = Doc::new();
    d.root("LifecycleConfiguration");
    for rule in &config.rules {
        d.start("Rule");
        d.text_opt("ID", rule.id.as_deref());
        render_filter(&mut d, &rule.filter);
        d.text("Status", if rule.enabled { "Enabled" } else { "Disabled" });
        if let Some(e) = &rule.expiration {
            d.start("Expiration");
            match e {
                Expiration::Days(n) => d.text("Days", &n.to_string()),
                Expiration::Date(t) => d.text("Date", &format_timestamp(*t)),
                Expiration::ExpiredObjectDeleteMarker(b) => d.bool("ExpiredObjectDeleteMarker", *b),
            }
            d.end("Expiration");
        }
        if let Some(n) = &rule.noncurrent_expiration {
            d.start("NoncurrentVersionExpiration");
            d.text("NoncurrentDays", &n.days.to_string());
            if let Some(v) = n.newer_noncurrent_versions {
                d.text("NewerNoncurrentVersions", &v.to_string());
            }
            d.end("NoncurrentVersionExpiration");
        }
        if let Some(days) = rule.abort_incomplete_multipart_days {
            d.start("AbortIncompleteMultipartUpload");
            d.text("DaysAfterInitiation", &days.to_string());
            d.end("AbortIncompleteMultipartUpload");
        }
        d.end("Rule");
    }
    d.end("LifecycleConfiguration");
    d.finish()
}

fn render_filter(d: &mut Doc, f: &LifecycleFilter) {
    if f.predicates() == 0 {
        d.empty("Filter");
        return;
    }
    d.start("Filter");
    let and = f.predicates() > 1;
    if and {
        d.start("And");
    }
    if !f.prefix.is_empty() {
        d.text("Prefix", &f.prefix);
    }
    for t in &f.tags {
        d.start("Tag");
        d.text("Key", &t.key);
        d.text("Value", &t.value);
        d.end("Tag");
    }
    if let Some(n) = f.size_greater_than {
        d.text("ObjectSizeGreaterThan", &n.to_string());
    }
    if let Some(n) = f.size_less_than {
        d.text("ObjectSizeLessThan", &n.to_string());
    }
    if and {
        d.end("And");
    }
    d.end("Filter");
}

/// When the current version of an object expires, and the ID of the rule that says so:
/// the earliest expiry among the enabled rules whose filter matches the object and
/// whose `Expiration` is by `Days` or `Date` (a delete-marker rule never expires a
/// current object). On a tie the first rule listed wins, as S3 named the first of
/// several equal rules. This is what `x-amz-expiration` reports on GET, HEAD, PUT,
/// copy and CompleteMultipartUpload.
///
/// For `Days`, S3 adds the days to the last-modified time and rounds "up the resulting
/// time to the next day at midnight UTC" (created 2014-01-15 10:30 with 3 days:
/// 2014-01-19 00:00). A time already at midnight also moves to the next midnight, as
/// MinIO computes it (S3's pages do not say). `day` is the length of a day: with
/// anything but 24 hours (a test time scale where a "day" lasts seconds) the expiry is
/// `last_modified + days × day`, not rounded. A date beyond what can be represented is
/// no expiry.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html>
pub fn expiration_for(
    rules: &[LifecycleRule],
    key: &str,
    size: u64,
    tags: &[Tag],
    last_modified: OffsetDateTime,
    day: Duration,
) -> Option<(OffsetDateTime, Option<String>)> {
    let mut best: Option<(OffsetDateTime, Option<String>)> = None;
    for rule in rules
        .iter()
        .filter(|r| r.enabled && r.filter.matches(key, size, tags))
    {
        let at = match rule.expiration {
            Some(Expiration::Days(n)) => days_after(last_modified, n, day),
            Some(Expiration::Date(t)) => Some(t),
            Some(Expiration::ExpiredObjectDeleteMarker(_)) | None => None,
        };
        if let Some(at) = at
            && best.as_ref().is_none_or(|(b, _)| at < *b)
        {
            best = Some((at, rule.id.clone()));
        }
    }
    best
}

/// The moment `n` lifecycle days after `last_modified`: with 24-hour days, rounded up to
/// the next midnight UTC as S3 does (see [`expiration_for`]); with any other day length
/// (a test time scale), exactly `n × day` later. `None` beyond what can be represented.
/// The lifecycle worker uses it for every day count (`NoncurrentDays`,
/// `DaysAfterInitiation`), so all of them follow the same clock.
pub fn days_after(last_modified: OffsetDateTime, n: u32, day: Duration) -> Option<OffsetDateTime> {
    let n = i32::try_from(n).ok()?;
    if day == Duration::DAY {
        let t = last_modified
            .checked_to_offset(UtcOffset::UTC)?
            .checked_add(day.checked_mul(n.checked_add(1)?)?)?;
        Some(t.replace_time(Time::MIDNIGHT))
    } else {
        last_modified.checked_add(day.checked_mul(n)?)
    }
}

/// The value of `x-amz-expiration`:
/// `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`,
/// the date as an HTTP date. `rule-id` is left out when the rule has no ID. The API
/// reference says the ID "is URL-encoded", but S3 sends spaces and other visible
/// characters as they are; only what a quoted header value cannot carry (controls,
/// non-ASCII, `"`, `\`) and `%` itself are percent-encoded here.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#AmazonS3-GetObject-response-header-Expiration>
pub fn render_expiration_header(expiry: OffsetDateTime, rule_id: Option<&str>) -> String {
    let date = httpdate::fmt_http_date(std::time::SystemTime::from(expiry));
    match rule_id {
        Some(id) => format!("expiry-date=\"{date}\", rule-id=\"{}\"", header_safe(id)),
        None => format!("expiry-date=\"{date}\""),
    }
}

fn header_safe(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'%') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn config(rules: &str) -> String {
        format!(
            "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{rules}</LifecycleConfiguration>"
        )
    }

    fn parse(rules: &str) -> Result<LifecycleConfiguration, LifecycleError> {
        parse_lifecycle_configuration(config(rules).as_bytes())
    }

    fn one(rule: &str) -> Result<LifecycleRule, LifecycleError> {
        parse(&format!("<Rule>{rule}</Rule>")).map(|mut c| c.rules.remove(0))
    }

    fn refused(rule: &str) -> (String, String) {
        match one(rule) {
            Err(e) => (e.code().to_owned(), e.to_string()),
            Ok(r) => panic!("accepted {rule}: {r:?}"),
        }
    }

    const ALL: &str = "<Filter/><Status>Enabled</Status>";

    #[test]
    fn a_full_configuration_parses_and_round_trips() {
        let body = config(
            "<Rule><ID>logs</ID><Filter><And><Prefix>logs/</Prefix>\
               <Tag><Key>class</Key><Value>temp</Value></Tag><Tag><Key>team</Key><Value>a b</Value></Tag>\
               <ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>1000</ObjectSizeLessThan>\
             </And></Filter><Status>Enabled</Status><Expiration><Days>365</Days></Expiration>\
             <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays>\
               <NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>\
             <Rule><Status>Disabled</Status><Filter><Prefix>tmp/</Prefix></Filter>\
               <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>\
               <Expiration><Date>2027-01-01T00:00:00.000Z</Date></Expiration></Rule>\
             <Rule><ID>markers</ID><Filter></Filter><Status>Enabled</Status>\
               <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>\
             <Rule><ID>big</ID><Filter><ObjectSizeGreaterThan>1048576</ObjectSizeGreaterThan></Filter>\
               <Status>Enabled</Status><Expiration><Date>2027-06-01T00:00:00Z</Date></Expiration></Rule>\
             <Rule><ID>tagged</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>\
               <Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
             <Rule><ID>and-empty-prefix</ID><Filter><And><Prefix></Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>\
               <Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>",
        );
        let c = parse_lifecycle_configuration(body.as_bytes()).unwrap();
        assert_eq!(c.rules.len(), 6);
        let r = &c.rules[0];
        assert_eq!(r.id.as_deref(), Some("logs"));
        assert!(r.enabled);
        assert_eq!(
            r.filter,
            LifecycleFilter {
                prefix: "logs/".into(),
                tags: vec![Tag::new("class", "temp"), Tag::new("team", "a b")],
                size_greater_than: Some(10),
                size_less_than: Some(1000),
            }
        );
        assert_eq!(r.expiration, Some(Expiration::Days(365)));
        assert_eq!(
            r.noncurrent_expiration,
            Some(NoncurrentExpiration {
                days: 30,
                newer_noncurrent_versions: Some(5)
            })
        );
        let r = &c.rules[1];
        assert_eq!(r.id, None);
        assert!(!r.enabled);
        assert_eq!(r.abort_incomplete_multipart_days, Some(7));
        assert_eq!(
            r.expiration,
            Some(Expiration::Date(datetime!(2027-01-01 0:00 UTC)))
        );
        assert_eq!(
            c.rules[2].expiration,
            Some(Expiration::ExpiredObjectDeleteMarker(true))
        );
        assert_eq!(c.rules[2].filter, LifecycleFilter::default());
        assert_eq!(c.rules[5].filter.tags, vec![Tag::new("k", "v")]);

        let rendered = render_lifecycle_configuration(&c);
        assert_eq!(
            parse_lifecycle_configuration(rendered.as_bytes()),
            Ok(c.clone())
        );
        assert!(rendered.contains(
            "<Rule><ID>markers</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>"
        ));
        assert!(rendered.contains("<Date>2027-01-01T00:00:00.000Z</Date>"));

        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""date":"2027-01-01T00:00:00Z""#), "{json}");
        assert_eq!(
            serde_json::from_str::<LifecycleConfiguration>(&json).unwrap(),
            c
        );
    }

    #[test]
    fn golden_rendering() {
        let c = LifecycleConfiguration {
            rules: vec![LifecycleRule {
                id: Some("r&1".into()),
                enabled: true,
                filter: LifecycleFilter {
                    prefix: "a/".into(),
                    ..LifecycleFilter::default()
                },
                expiration: Some(Expiration::Days(3)),
                noncurrent_expiration: None,
                abort_incomplete_multipart_days: Some(1),
            }],
        };
        assert_eq!(
            render_lifecycle_configuration(&c),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Rule><ID>r&amp;1</ID><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status>\
             <Expiration><Days>3</Days></Expiration>\
             <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>\
             </Rule></LifecycleConfiguration>"
        );
    }

    #[test]
    fn a_legacy_prefix_becomes_a_filter() {
        let c = parse(
            "<Rule><ID>old</ID><Prefix>projectdocs/</Prefix><Status>Enabled</Status>\
             <Expiration><Days>3650</Days></Expiration></Rule>\
             <Rule><ID>old2</ID><Prefix></Prefix><Status>Enabled</Status>\
             <NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>",
        )
        .unwrap();
        assert_eq!(c.rules[0].filter.prefix, "projectdocs/");
        let rendered = render_lifecycle_configuration(&c);
        assert!(rendered.contains("<Filter><Prefix>projectdocs/</Prefix></Filter>"));
        assert_eq!(parse_lifecycle_configuration(rendered.as_bytes()), Ok(c));
    }

    #[test]
    fn the_two_forms_do_not_mix() {
        let v1 = "<Rule><Prefix>a</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>";
        let v2 =
            "<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>";
        let e = parse(&format!("{v1}{v2}")).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (
                "InvalidRequest",
                "Filter element can only be used in Lifecycle V2."
            )
        );
        let e = parse(&format!("{v2}{v1}")).unwrap_err();
        assert_eq!(e.code(), "InvalidRequest");
        assert!(
            e.to_string()
                .starts_with("Base level prefix cannot be used")
        );
        let e = parse(
            "<Rule><Prefix>a</Prefix><Status>Enabled</Status><NoncurrentVersionExpiration>\
             <NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions>\
             </NoncurrentVersionExpiration></Rule>",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "NewerNoncurrentVersions element can only be used in Lifecycle V2."
        );
    }

    #[test]
    fn structure_faults_are_malformed() {
        let exp = "<Expiration><Days>1</Days></Expiration>";
        for rule in [
            format!("<Filter/>{exp}"),
            format!("<Status>enabled</Status><Filter/>{exp}"),
            format!("<Status>Enabled</Status>{exp}"),
            format!("<Status>Enabled</Status><Prefix>a</Prefix><Filter/>{exp}"),
            format!("{ALL}<Status>Enabled</Status>{exp}"),
            format!("{ALL}{exp}{exp}"),
            format!("{ALL}{exp}<Colour/>"),
            format!(
                "<Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>{exp}"
            ),
            format!("<Status>Enabled</Status><Filter><And><Prefix>a</Prefix></And></Filter>{exp}"),
            format!(
                "<Status>Enabled</Status><Filter><And><Prefix>a</Prefix><Prefix>b</Prefix></And></Filter>{exp}"
            ),
            format!(
                "<Status>Enabled</Status><Filter><ObjectSizeLessThan>-1</ObjectSizeLessThan></Filter>{exp}"
            ),
            format!("<Status>Enabled</Status><Filter><Colour/></Filter>{exp}"),
            format!(
                "<Status>Enabled</Status><Filter><Tag><Key></Key><Value>v</Value></Tag></Filter>{exp}"
            ),
            format!("{ALL}<Expiration/>"),
            format!(
                "{ALL}<Expiration><Days>1</Days><Date>2027-01-01T00:00:00Z</Date></Expiration>"
            ),
            format!(
                "{ALL}<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            ),
            format!("{ALL}<Expiration><Days>one</Days></Expiration>"),
            format!("{ALL}<Expiration><Days>99999999999</Days></Expiration>"),
            format!("{ALL}<Expiration><Date>Fri, 01 Jan 2016 00:00:00 GMT</Date></Expiration>"),
            format!(
                "{ALL}<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration>"
            ),
            format!("{ALL}<NoncurrentVersionExpiration/>"),
            format!(
                "{ALL}<NoncurrentVersionExpiration><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
            ),
            format!("{ALL}<AbortIncompleteMultipartUpload/>"),
        ] {
            let r = one(&rule);
            assert!(
                matches!(r, Err(LifecycleError::Malformed(_))),
                "{rule}: {r:?}"
            );
        }
        for body in [
            "<LifeCycleConfiguration/>".to_owned(),
            "<LifecycleConfiguration><Other/></LifecycleConfiguration>".to_owned(),
            "<LifecycleConfiguration>".to_owned(),
            String::new(),
        ] {
            let r = parse_lifecycle_configuration(body.as_bytes());
            assert!(
                matches!(r, Err(LifecycleError::Malformed(_))),
                "{body}: {r:?}"
            );
        }
    }

    #[test]
    fn values_out_of_range_are_refused_with_s3s_messages() {
        let argument = |m: &str| ("InvalidArgument".to_owned(), m.to_owned());
        let request = |m: &str| ("InvalidRequest".to_owned(), m.to_owned());
        for days in ["0", "-1"] {
            assert_eq!(
                refused(&format!(
                    "{ALL}<Expiration><Days>{days}</Days></Expiration>"
                )),
                argument("'Days' for Expiration action must be a positive integer")
            );
        }
        for date in [
            "2027-01-01T00:00:01Z",
            "2027-01-01T12:00:00.000Z",
            "2027-01-01T00:00:00+01:00",
        ] {
            assert_eq!(
                refused(&format!(
                    "{ALL}<Expiration><Date>{date}</Date></Expiration>"
                )),
                argument("'Date' must be at midnight GMT")
            );
        }
        assert_eq!(
            refused(&format!(
                "{ALL}<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>"
            )),
            argument(
                "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"
            )
        );
        for n in ["0", "101"] {
            assert_eq!(
                refused(&format!(
                    "{ALL}<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>\
                     <NewerNoncurrentVersions>{n}</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
                ))
                .0,
                "InvalidArgument"
            );
        }
        assert_eq!(
            refused(&format!(
                "{ALL}<AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            ))
            .0,
            "InvalidArgument"
        );
        assert_eq!(
            refused(&format!(
                "<ID>{}</ID>{ALL}<Expiration><Days>1</Days></Expiration>",
                "i".repeat(256)
            )),
            argument("ID length should not exceed allowed limit of 255")
        );
        assert!(
            one(&format!(
                "<ID>{}</ID>{ALL}<Expiration><Days>1</Days></Expiration>",
                "é".repeat(255)
            ))
            .is_ok()
        );
        assert_eq!(
            refused(ALL),
            request("At least one action needs to be specified in a rule")
        );

        let tag = "<Tag><Key>k</Key><Value>v</Value></Tag>";
        let abort = "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>";
        let marker =
            "<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>";
        let size = "<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan>";
        assert_eq!(
            refused(&format!(
                "<Status>Enabled</Status><Filter>{tag}</Filter>{abort}"
            )),
            request("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        );
        assert_eq!(
            refused(&format!(
                "<Status>Enabled</Status><Filter><And><Prefix>p</Prefix>{tag}</And></Filter>{abort}"
            )),
            request("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        );
        assert_eq!(
            refused(&format!(
                "<Status>Enabled</Status><Filter>{size}</Filter>{abort}"
            )),
            request("AbortIncompleteMultipartUpload cannot be specified with Object Size.")
        );
        assert_eq!(
            refused(&format!(
                "<Status>Enabled</Status><Filter>{tag}</Filter>{marker}"
            )),
            request("ExpiredObjectDeleteMarker cannot be specified with Tags.")
        );
        assert_eq!(
            refused(&format!(
                "<Status>Enabled</Status><Filter>{size}</Filter>{marker}"
            )),
            request("ExpiredObjectDeleteMarker cannot be specified with Object Size.")
        );
        assert_eq!(
            refused(&format!(
                "<Status>Enabled</Status><Filter><And>{tag}{tag}</And></Filter><Expiration><Days>1</Days></Expiration>"
            )),
            request("Duplicate Tag Keys are not allowed.")
        );
        assert_eq!(
            refused(
                "<Status>Enabled</Status><Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter><Expiration><Days>1</Days></Expiration>"
            ),
            request("'ObjectSizeLessThan' should be between 1 and 1099511627776000.")
        );
        assert_eq!(
            refused(
                "<Status>Enabled</Status><Filter><And><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan>\
                 <ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration>"
            ),
            request("'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.")
        );
    }

    #[test]
    fn transitions_are_refused_for_their_storage_class() {
        for action in [
            "<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>",
            "<NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>",
        ] {
            let e = one(&format!(
                "{ALL}<Expiration><Days>1</Days></Expiration>{action}"
            ))
            .unwrap_err();
            assert_eq!(e.code(), "InvalidStorageClass");
            assert!(e.to_string().contains("GLACIER"), "{e}");
        }
    }

    #[test]
    fn rule_ids_and_counts() {
        let rule = |id: &str| {
            format!("<Rule><ID>{id}</ID>{ALL}<Expiration><Days>1</Days></Expiration></Rule>")
        };
        let e = parse(&format!("{}{}", rule("a"), rule("a"))).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (
                "InvalidArgument",
                "Rule ID must be unique. Found same ID for more than one rule"
            )
        );
        // Rules without an ID do not clash; an empty ID is no ID.
        let c = parse(&format!("{}{}{}", rule(""), rule(""), rule("b"))).unwrap();
        assert_eq!(c.rules[0].id, None);
        let e = parse("").unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (
                "InvalidRequest",
                "At least one lifecycle rule must be specified."
            )
        );
        let many: String = (0..=MAX_RULES).map(|i| rule(&i.to_string())).collect();
        let e = parse(&many).unwrap_err();
        assert_eq!(e.code(), "InvalidRequest");
        assert!(e.to_string().contains("1000 rules"));
        let most: String = (0..MAX_RULES).map(|i| rule(&i.to_string())).collect();
        assert!(config(&most).len() < MAX_DOCUMENT_BYTES);
        assert_eq!(parse(&most).map(|c| c.rules.len()), Ok(MAX_RULES));
    }

    #[test]
    fn a_key_only_tag_in_a_filter_is_the_empty_value() {
        let r = one("<Status>Enabled</Status><Filter><Tag><Key>k</Key></Tag></Filter><Expiration><Days>1</Days></Expiration>")
            .unwrap();
        assert_eq!(r.filter.tags, vec![Tag::new("k", "")]);
    }

    #[test]
    fn filters_match() {
        let f = LifecycleFilter {
            prefix: "logs/".into(),
            tags: vec![Tag::new("a", "1")],
            size_greater_than: Some(10),
            size_less_than: Some(100),
        };
        let tags = [Tag::new("b", "2"), Tag::new("a", "1")];
        assert!(f.matches("logs/x", 11, &tags));
        assert!(f.matches("logs/", 99, &tags));
        assert!(!f.matches("log/x", 50, &tags));
        assert!(!f.matches("logs/x", 10, &tags));
        assert!(!f.matches("logs/x", 100, &tags));
        assert!(!f.matches("logs/x", 50, &[Tag::new("a", "2")]));
        assert!(!f.matches("logs/x", 50, &[]));
        assert!(LifecycleFilter::default().matches("", 0, &[]));
        assert!(LifecycleFilter::default().matches("anything", u64::MAX, &tags));
    }

    fn rule(id: &str, prefix: &str, expiration: Expiration, enabled: bool) -> LifecycleRule {
        LifecycleRule {
            id: Some(id.into()),
            enabled,
            filter: LifecycleFilter {
                prefix: prefix.into(),
                ..LifecycleFilter::default()
            },
            expiration: Some(expiration),
            noncurrent_expiration: None,
            abort_incomplete_multipart_days: None,
        }
    }

    #[test]
    fn expiry_rounds_days_to_the_next_midnight() {
        let lm = datetime!(2014-01-15 10:30 UTC);
        let rules = [rule("r", "", Expiration::Days(3), true)];
        assert_eq!(
            expiration_for(&rules, "k", 1, &[], lm, Duration::DAY),
            Some((datetime!(2014-01-19 0:00 UTC), Some("r".into())))
        );
        // Already at midnight: still the next one.
        assert_eq!(
            expiration_for(
                &rules,
                "k",
                1,
                &[],
                datetime!(2014-01-15 0:00 UTC),
                Duration::DAY
            )
            .map(|(t, _)| t),
            Some(datetime!(2014-01-19 0:00 UTC))
        );
        // Another offset is read in UTC.
        assert_eq!(
            expiration_for(
                &rules,
                "k",
                1,
                &[],
                datetime!(2014-01-15 23:30 -02:00),
                Duration::DAY
            )
            .map(|(t, _)| t),
            Some(datetime!(2014-01-20 0:00 UTC))
        );
        // A scaled day is not rounded.
        assert_eq!(
            expiration_for(&rules, "k", 1, &[], lm, Duration::seconds(2)).map(|(t, _)| t),
            Some(datetime!(2014-01-15 10:30:06 UTC))
        );
    }

    #[test]
    fn expiry_takes_the_earliest_matching_enabled_rule() {
        let lm = datetime!(2026-03-01 12:00 UTC);
        let rules = [
            rule("disabled", "", Expiration::Days(1), false),
            rule("other-prefix", "tmp/", Expiration::Days(1), true),
            rule(
                "marker",
                "",
                Expiration::ExpiredObjectDeleteMarker(true),
                true,
            ),
            rule("week", "logs/", Expiration::Days(7), true),
            rule(
                "date",
                "",
                Expiration::Date(datetime!(2026-03-05 0:00 UTC)),
                true,
            ),
            rule("week-again", "", Expiration::Days(7), true),
        ];
        assert_eq!(
            expiration_for(&rules, "logs/a", 1, &[], lm, Duration::DAY),
            Some((datetime!(2026-03-05 0:00 UTC), Some("date".into())))
        );
        // Equal expiries: the first listed rule.
        assert_eq!(
            expiration_for(&rules[3..4], "logs/a", 1, &[], lm, Duration::DAY),
            expiration_for(
                &[rules[3].clone(), rules[5].clone()],
                "logs/a",
                1,
                &[],
                lm,
                Duration::DAY
            )
        );
        assert_eq!(
            expiration_for(&rules[..3], "logs/a", 1, &[], lm, Duration::DAY),
            None
        );
        assert_eq!(expiration_for(&[], "k", 1, &[], lm, Duration::DAY), None);
        // Beyond what can be represented: no expiry rather than a panic.
        let far = [rule("far", "", Expiration::Days(i32::MAX as u32), true)];
        assert_eq!(expiration_for(&far, "k", 1, &[], lm, Duration::DAY), None);
        let far = [rule("far", "", Expiration::Days(u32::MAX), true)];
        assert_eq!(expiration_for(&far, "k", 1, &[], lm, Duration::DAY), None);
    }

    #[test]
    fn the_expiration_header() {
        assert_eq!(
            render_expiration_header(
                datetime!(2012-12-23 0:00 UTC),
                Some("picture-deletion-rule")
            ),
            "expiry-date=\"Sun, 23 Dec 2012 00:00:00 GMT\", rule-id=\"picture-deletion-rule\""
        );
        assert_eq!(
            render_expiration_header(datetime!(2012-12-21 0:00 UTC), Some("Delete after 14 days")),
            "expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\", rule-id=\"Delete after 14 days\""
        );
        assert_eq!(
            render_expiration_header(datetime!(2012-12-21 0:00 UTC), Some("a\"b\\c%d\né")),
            "expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\", rule-id=\"a%22b%5Cc%25d%0A%C3%A9\""
        );
        assert_eq!(
            render_expiration_header(datetime!(2012-12-21 0:00 UTC), None),
            "expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\""
        );
    }
}
