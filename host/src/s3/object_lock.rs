//! Object Lock documents and headers: a bucket's `ObjectLockConfiguration` (default
//! retention), an object version's `Retention` and `LegalHold`, and the
//! `x-amz-object-lock-*` headers of PutObject, CopyObject, POST and
//! CreateMultipartUpload. Parsing with S3's validation, the stored forms, rendering.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html>
//!
//! None of these pages lists errors. The codes and messages are S3's answers as
//! recorded by LocalStack's AWS-validated tests, ceph s3-tests and public issue
//! trackers: a document that does not fit the schema (an unknown mode, `Days` with
//! `Years`, a missing element) is `MalformedXML`; a number or date out of range is
//! `InvalidArgument`.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

use super::xml::{
    Doc, Element, XmlError, format_timestamp, malformed, parse_document, parse_timestamp,
};

/// Longest default retention in days (100 years of 365 days), beyond which S3 answers
/// "Default retention period too large."
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Longest default retention in years ("The maximum retention period is 100 years").
pub const MAX_RETENTION_YEARS: u32 = 100;

/// Largest Object Lock document we read, bytes; the largest valid one is a few hundred.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 10;

/// Header: the retention mode of a new object.
pub const MODE_HEADER: &str = "x-amz-object-lock-mode";
/// Header: the retain-until date of a new object.
pub const RETAIN_UNTIL_HEADER: &str = "x-amz-object-lock-retain-until-date";
/// Header: the legal hold of a new object.
pub const LEGAL_HOLD_HEADER: &str = "x-amz-object-lock-legal-hold";

/// Why a document or header is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectLockError {
    /// Not a well-formed document of the expected shape (`MalformedXML`, 400).
    #[error(transparent)]
    Malformed(#[from] XmlError),
    /// A value out of range (`InvalidArgument`, 400), with S3's message and the
    /// `ArgumentName`/`ArgumentValue` it adds to the error (see [`Self::extra`]).
    #[error("{message}")]
    InvalidArgument {
        /// S3's message.
        message: &'static str,
        /// The header or element at fault.
        name: &'static str,
        /// Its value as sent (empty when it was missing).
        value: String,
    },
}

impl ObjectLockError {
    /// The S3 error code to answer with (all are status 400).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.code(),
            Self::InvalidArgument { .. } => "InvalidArgument",
        }
    }

    /// The extra elements of the `<Error>` document: `ArgumentName` and
    /// `ArgumentValue` for an invalid argument.
    pub fn extra(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Malformed(_) => Vec::new(),
            Self::InvalidArgument { name, value, .. } => vec![
                ("ArgumentName", (*name).to_owned()),
                ("ArgumentValue", value.clone()),
            ],
        }
    }
}

fn invalid(message: &'static str, name: &'static str, value: &str) -> ObjectLockError {
    ObjectLockError::InvalidArgument {
        message,
        name,
        value: value.to_owned(),
    }
}

/// A header's value, trimmed; `None` when absent or empty.
fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

pub use crate::retention::{ObjectRetention, RetentionMode};

/// How long a bucket's default retention lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionPeriod {
    /// So many days (1 to [`MAX_RETENTION_DAYS`]).
    Days(u32),
    /// So many years of 365 days (1 to [`MAX_RETENTION_YEARS`]).
    Years(u32),
}

/// A bucket's default retention: applied to every new object version that is not
/// given its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    /// The mode new versions get.
    pub mode: RetentionMode,
    /// How long from the version's creation.
    pub period: RetentionPeriod,
}

impl DefaultRetention {
    /// The retain-until date of a version created at `from`: "adding the specified
    /// duration to the object version's creation timestamp", a year being 365 days
    /// ("Amazon S3 counts 1 year as 365 days"). Past the last representable instant
    /// it stays at that instant: retaining longer is the safe side.
    pub fn retain_until(&self, from: OffsetDateTime) -> OffsetDateTime {
        let days = match self.period {
            RetentionPeriod::Days(d) => i64::from(d),
            RetentionPeriod::Years(y) => i64::from(y) * 365,
        };
        from.checked_add(Duration::days(days))
            .unwrap_or_else(|| PrimitiveDateTime::new(Date::MAX, Time::MAX).assume_utc())
    }
}

/// A bucket's Object Lock configuration, as stored. Object Lock itself is on for the
/// bucket (that is the only state the document can express).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectLockConfig {
    /// The default retention, when the configuration has a `Rule`.
    pub default_retention: Option<DefaultRetention>,
}

/// Parses and checks an `ObjectLockConfiguration` body (any namespace):
///
/// ```xml
/// <ObjectLockConfiguration>
///   <ObjectLockEnabled>Enabled</ObjectLockEnabled>
///   <Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>30</Days></DefaultRetention></Rule>
/// </ObjectLockConfiguration>
/// ```
///
/// `ObjectLockEnabled` is required and must be `Enabled` (S3 answers `MalformedXML`
/// without it and for `Disabled`, though the API reference marks it optional); `Rule`
/// is optional, and without it the bucket has no default retention. A `Rule` needs a
/// `DefaultRetention` with a `Mode` and exactly one of `Days` or `Years`. A period of
/// zero or less is `InvalidArgument` "Default retention period must be a positive
/// integer value.", one beyond 36,500 days or 100 years "Default retention period too
/// large.", each with `ArgumentName` `Days` or `Years`. Event holds (`DefaultEventHold`,
/// new in 2026) are not supported and are `MalformedXML`, like any unknown element.
pub fn parse_object_lock_configuration(body: &[u8]) -> Result<ObjectLockConfig, ObjectLockError> {
    let root = parse_document(body)?;
    expect_root(&root, "ObjectLockConfiguration")?;
    only(&root, &["ObjectLockEnabled", "Rule"])?;
    match root.child("ObjectLockEnabled")?.map(|e| e.text.trim()) {
        Some("Enabled") => {}
        Some(other) => return Err(malformed(format!("bad <ObjectLockEnabled> {other:?}")).into()),
        None => {
            return Err(malformed("<ObjectLockConfiguration> without <ObjectLockEnabled>").into());
        }
    }
    let Some(rule) = root.child("Rule")? else {
        return Ok(ObjectLockConfig::default());
    };
    only(rule, &["DefaultRetention"])?;
    let retention = rule
        .child("DefaultRetention")?
        .ok_or_else(|| malformed("<Rule> without <DefaultRetention>"))?;
    only(retention, &["Mode", "Days", "Years"])?;
    let mode = mode_element(retention)?;
    let period = match (retention.child("Days")?, retention.child("Years")?) {
        (Some(days), None) => RetentionPeriod::Days(period(days, MAX_RETENTION_DAYS)?),
        (None, Some(years)) => RetentionPeriod::Years(period(years, MAX_RETENTION_YEARS)?),
        _ => {
            return Err(
                malformed("<DefaultRetention> needs exactly one of <Days> or <Years>").into(),
            );
        }
    };
    Ok(ObjectLockConfig {
        default_retention: Some(DefaultRetention { mode, period }),
    })
}

fn expect_root(root: &Element, name: &str) -> Result<(), XmlError> {
    if root.name != name {
        return Err(malformed(format!(
            "expected <{name}>, found <{}>",
            root.name
        )));
    }
    Ok(())
}

/// Refuses children of `e` other than `names` (a schema mismatch, so `MalformedXML`).
fn only(e: &Element, names: &[&str]) -> Result<(), XmlError> {
    match e
        .children
        .iter()
        .find(|c| !names.contains(&c.name.as_str()))
    {
        Some(c) => Err(malformed(format!(
            "unexpected <{}> in <{}>",
            c.name, e.name
        ))),
        None => Ok(()),
    }
}

fn leaf(e: &Element) -> Result<&str, XmlError> {
    match e.children.first() {
        Some(c) => Err(malformed(format!(
            "unexpected <{}> in <{}>",
            c.name, e.name
        ))),
        None => Ok(e.text.trim()),
    }
}

/// The required `<Mode>` of `parent`; anything but `GOVERNANCE` or `COMPLIANCE` is
/// `MalformedXML` (s3-tests `test_object_lock_put_obj_lock_invalid_mode`).
fn mode_element(parent: &Element) -> Result<RetentionMode, XmlError> {
    let text = leaf(
        parent
            .child("Mode")?
            .ok_or_else(|| malformed(format!("<{}> without <Mode>", parent.name)))?,
    )?;
    RetentionMode::parse(text).ok_or_else(|| malformed(format!("bad <Mode> {text:?}")))
}

/// `<Days>` or `<Years>`: an integer (else malformed), then 1 to `max`.
fn period(e: &Element, max: u32) -> Result<u32, ObjectLockError> {
    let text = leaf(e)?;
    let name = if e.name == "Days" { "Days" } else { "Years" };
    let n: i64 = text
        .parse()
        .map_err(|_| malformed(format!("bad <{name}> {text:?}")))?;
    if n <= 0 {
        return Err(invalid(
            "Default retention period must be a positive integer value.",
            name,
            text,
        ));
    }
    u32::try_from(n)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| invalid("Default retention period too large.", name, text))
}

/// Renders a configuration as GetObjectLockConfiguration answers it, in S3's namespace.
pub fn render_object_lock_configuration(config: &ObjectLockConfig) -> String {
    let mut d = Doc::new();
    d.root("ObjectLockConfiguration");
    d.text("ObjectLockEnabled", "Enabled");
    if let Some(r) = &config.default_retention {
        d.start("Rule");
        d.start("DefaultRetention");
        d.text("Mode", r.mode.as_str());
        match r.period {
            RetentionPeriod::Days(n) => d.text("Days", &n.to_string()),
            RetentionPeriod::Years(n) => d.text("Years", &n.to_string()),
        }
        d.end("DefaultRetention");
        d.end("Rule");
    }
    d.end("ObjectLockConfiguration");
    d.finish()
}

/// Parses a PutObjectRetention body (any namespace):
///
/// ```xml
/// <Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate></Retention>
/// ```
///
/// `Ok(None)` for a `Retention` with neither element: "removing the Object Lock
/// retention period by placing a new `PutObjectRetention` request with empty
/// parameters" (which only a governance bypass may do; the caller decides). A mode
/// without a date or a date without a mode, a mode S3 does not know (`governance`
/// included) or a date that is not ISO 8601 is `MalformedXML`; a date not after `now`
/// is `InvalidArgument` "The retain until date must be in the future!" with
/// `ArgumentName` `RetainUntilDate`. The event-hold elements are not supported
/// (`MalformedXML`).
pub fn parse_retention(
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Option<ObjectRetention>, ObjectLockError> {
    let root = parse_document(body)?;
    expect_root(&root, "Retention")?;
    only(&root, &["Mode", "RetainUntilDate"])?;
    let date = root.child("RetainUntilDate")?;
    if root.child("Mode")?.is_none() && date.is_none() {
        return Ok(None);
    }
    let mode = mode_element(&root)?;
    let date = date.ok_or_else(|| malformed("<Retention> without <RetainUntilDate>"))?;
    let text = leaf(date)?;
    let retain_until = parse_timestamp(text)
        .ok_or_else(|| malformed(format!("bad <RetainUntilDate> {text:?}")))?;
    if retain_until <= now {
        return Err(invalid(
            "The retain until date must be in the future!",
            "RetainUntilDate",
            text,
        ));
    }
    Ok(Some(ObjectRetention { mode, retain_until }))
}

/// Renders a retention as GetObjectRetention answers it, the date with milliseconds:
/// `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-01-01T00:00:00.000Z</RetainUntilDate></Retention>`.
pub fn render_retention(retention: &ObjectRetention) -> String {
    let mut d = Doc::new();
    d.root("Retention");
    d.text("Mode", retention.mode.as_str());
    d.text("RetainUntilDate", &format_timestamp(retention.retain_until));
    d.end("Retention");
    d.finish()
}

/// A legal hold's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LegalHoldStatus {
    /// The version cannot be overwritten or deleted, whatever its retention.
    On,
    /// No legal hold.
    Off,
}

impl LegalHoldStatus {
    /// S3's spelling: `ON` or `OFF`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "ON",
            Self::Off => "OFF",
        }
    }

    /// Reads S3's spelling, case-sensitively.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ON" => Some(Self::On),
            "OFF" => Some(Self::Off),
            _ => None,
        }
    }
}

/// Parses a PutObjectLegalHold body, `<LegalHold><Status>ON</Status></LegalHold>` (any
/// namespace). A missing `Status`, or one other than `ON` or `OFF`, is `MalformedXML`.
pub fn parse_legal_hold(body: &[u8]) -> Result<LegalHoldStatus, ObjectLockError> {
    let root = parse_document(body)?;
    expect_root(&root, "LegalHold")?;
    only(&root, &["Status"])?;
    let text = leaf(
        root.child("Status")?
            .ok_or_else(|| malformed("<LegalHold> without <Status>"))?,
    )?;
    LegalHoldStatus::parse(text).ok_or_else(|| malformed(format!("bad <Status> {text:?}")).into())
}

/// Renders a legal hold as GetObjectLegalHold answers it.
pub fn render_legal_hold(status: LegalHoldStatus) -> String {
    let mut d = Doc::new();
    d.root("LegalHold");
    d.text("Status", status.as_str());
    d.end("LegalHold");
    d.finish()
}

/// What the `x-amz-object-lock-*` headers of a write ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockHeaders {
    /// `x-amz-object-lock-mode` with `x-amz-object-lock-retain-until-date`.
    pub retention: Option<ObjectRetention>,
    /// `x-amz-object-lock-legal-hold`.
    pub legal_hold: Option<LegalHoldStatus>,
}

impl LockHeaders {
    /// Whether the request asks for any lock (S3 then needs a bucket with Object Lock,
    /// and an integrity header on the request).
    pub fn is_some(&self) -> bool {
        self.retention.is_some() || self.legal_hold.is_some()
    }
}

/// Reads the Object Lock headers of PutObject, CopyObject, POST Object and
/// CreateMultipartUpload (each `None` when absent; an empty value counts as absent).
/// All faults are `InvalidArgument`, with `ArgumentName` the header at fault, in this
/// order:
///
/// - a mode without a date or a date without a mode: "x-amz-object-lock-retain-until-date
///   and x-amz-object-lock-mode must both be supplied", naming the missing one;
/// - a mode other than `GOVERNANCE` or `COMPLIANCE`: "Unknown wormMode directive.";
/// - a date that is not ISO 8601: "The retain until date must be provided in ISO 8601
///   format";
/// - a date not after `now`: "The retain until date must be in the future!";
/// - a legal hold other than `ON` or `OFF`: "Legal Hold must be either of 'ON' or 'OFF'".
///
/// S3 answers these before it looks at the bucket's lock, so this needs no bucket.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-ObjectLockMode>
pub fn parse_lock_headers(
    mode: Option<&str>,
    retain_until: Option<&str>,
    legal_hold: Option<&str>,
    now: OffsetDateTime,
) -> Result<LockHeaders, ObjectLockError> {
    let both =
        "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied";
    let retention = match (present(mode), present(retain_until)) {
        (None, None) => None,
        (Some(_), None) => return Err(invalid(both, RETAIN_UNTIL_HEADER, "")),
        (None, Some(_)) => return Err(invalid(both, MODE_HEADER, "")),
        (Some(mode), Some(date)) => {
            let mode = RetentionMode::parse(mode)
                .ok_or_else(|| invalid("Unknown wormMode directive.", MODE_HEADER, mode))?;
            let retain_until = parse_timestamp(date).ok_or_else(|| {
                invalid(
                    "The retain until date must be provided in ISO 8601 format",
                    RETAIN_UNTIL_HEADER,
                    date,
                )
            })?;
            if retain_until <= now {
                return Err(invalid(
                    "The retain until date must be in the future!",
                    RETAIN_UNTIL_HEADER,
                    date,
                ));
            }
            Some(ObjectRetention { mode, retain_until })
        }
    };
    let legal_hold = match present(legal_hold) {
        None => None,
        Some(v) => Some(LegalHoldStatus::parse(v).ok_or_else(|| {
            invalid(
                "Legal Hold must be either of 'ON' or 'OFF'",
                LEGAL_HOLD_HEADER,
                v,
            )
        })?),
    };
    Ok(LockHeaders {
        retention,
        legal_hold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn lock(inner: &str) -> Result<ObjectLockConfig, ObjectLockError> {
        parse_object_lock_configuration(
            format!(
                "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{inner}</ObjectLockConfiguration>"
            )
            .as_bytes(),
        )
    }

    fn rule(retention: &str) -> String {
        format!(
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>{retention}</DefaultRetention></Rule>"
        )
    }

    #[test]
    fn a_configuration_parses_renders_and_round_trips() {
        let c = lock(&rule("<Mode>GOVERNANCE</Mode><Days>30</Days>")).unwrap();
        assert_eq!(
            c.default_retention,
            Some(DefaultRetention {
                mode: RetentionMode::Governance,
                period: RetentionPeriod::Days(30)
            })
        );
        let rendered = render_object_lock_configuration(&c);
        assert_eq!(
            rendered,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode>\
             <Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>"
        );
        assert_eq!(parse_object_lock_configuration(rendered.as_bytes()), Ok(c));

        let c = lock(&rule("<Years> 100 </Years><Mode>COMPLIANCE</Mode>")).unwrap();
        assert_eq!(
            c.default_retention.map(|r| (r.mode, r.period)),
            Some((RetentionMode::Compliance, RetentionPeriod::Years(100)))
        );
        let rendered = render_object_lock_configuration(&c);
        assert_eq!(parse_object_lock_configuration(rendered.as_bytes()), Ok(c));

        let bare = lock("<ObjectLockEnabled>Enabled</ObjectLockEnabled>").unwrap();
        assert_eq!(bare, ObjectLockConfig::default());
        assert_eq!(
            render_object_lock_configuration(&bare),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"
        );

        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"default_retention":{"mode":"COMPLIANCE","period":{"years":100}}}"#
        );
        assert_eq!(serde_json::from_str::<ObjectLockConfig>(&json).unwrap(), c);
    }

    #[test]
    fn configuration_shape_faults_are_malformed() {
        for inner in [
            String::new(),
            "<ObjectLockEnabled>Disabled</ObjectLockEnabled>".to_owned(),
            "<ObjectLockEnabled>enabled</ObjectLockEnabled>".to_owned(),
            "<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>".to_owned(),
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule/>".to_owned(),
            rule(""),
            rule("<Mode>GOVERNANCE</Mode>"),
            rule("<Days>1</Days>"),
            rule("<Mode>governance</Mode><Days>1</Days>"),
            rule("<Mode>abc</Mode><Days>1</Days>"),
            rule("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>"),
            rule("<Mode>GOVERNANCE</Mode><Days>one</Days>"),
            rule("<Mode>GOVERNANCE</Mode><Days>1</Days><DefaultEventHold/>"),
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Colour/>".to_owned(),
        ] {
            let r = lock(&inner);
            assert!(matches!(r, Err(ObjectLockError::Malformed(_))), "{inner}: {r:?}");
        }
        assert!(matches!(
            parse_object_lock_configuration(b"<Other/>"),
            Err(ObjectLockError::Malformed(_))
        ));
    }

    #[test]
    fn retention_periods_out_of_range_are_invalid_arguments() {
        let err = |retention: &str| lock(&rule(retention)).unwrap_err();
        for (body, name, value, message) in [
            (
                "<Mode>GOVERNANCE</Mode><Days>0</Days>",
                "Days",
                "0",
                "Default retention period must be a positive integer value.",
            ),
            (
                "<Mode>GOVERNANCE</Mode><Years>-1</Years>",
                "Years",
                "-1",
                "Default retention period must be a positive integer value.",
            ),
            (
                "<Mode>GOVERNANCE</Mode><Days>36501</Days>",
                "Days",
                "36501",
                "Default retention period too large.",
            ),
            (
                "<Mode>GOVERNANCE</Mode><Days>999999999999</Days>",
                "Days",
                "999999999999",
                "Default retention period too large.",
            ),
            (
                "<Mode>GOVERNANCE</Mode><Years>101</Years>",
                "Years",
                "101",
                "Default retention period too large.",
            ),
        ] {
            let e = err(body);
            assert_eq!(e.code(), "InvalidArgument");
            assert_eq!(e.to_string(), message);
            assert_eq!(
                e.extra(),
                vec![
                    ("ArgumentName", name.to_owned()),
                    ("ArgumentValue", value.to_owned())
                ]
            );
        }
        assert!(lock(&rule("<Mode>GOVERNANCE</Mode><Days>36500</Days>")).is_ok());
    }

    #[test]
    fn default_retention_dates() {
        let from = datetime!(2026-01-15 10:30:15.250 UTC);
        let days = DefaultRetention {
            mode: RetentionMode::Governance,
            period: RetentionPeriod::Days(1),
        };
        assert_eq!(
            days.retain_until(from),
            datetime!(2026-01-16 10:30:15.250 UTC)
        );
        let years = DefaultRetention {
            mode: RetentionMode::Compliance,
            period: RetentionPeriod::Years(2),
        };
        // Two years of 365 days; 2028 is a leap year, so not the same calendar date.
        assert_eq!(
            years.retain_until(datetime!(2027-03-01 0:00 UTC)),
            datetime!(2029-02-28 0:00 UTC)
        );
        // Saturates rather than panics.
        let far = datetime!(9999-12-01 0:00 UTC);
        assert_eq!(
            years.retain_until(far),
            PrimitiveDateTime::new(Date::MAX, Time::MAX).assume_utc()
        );
    }

    #[test]
    fn retention_documents() {
        let parse = |s: &str| parse_retention(s.as_bytes(), NOW);
        let r = parse(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode>\
             <RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate></Retention>",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            r,
            ObjectRetention {
                mode: RetentionMode::Compliance,
                retain_until: datetime!(2027-01-01 0:00 UTC)
            }
        );
        let rendered = render_retention(&r);
        assert_eq!(
            rendered,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Mode>COMPLIANCE</Mode><RetainUntilDate>2027-01-01T00:00:00.000Z</RetainUntilDate></Retention>"
        );
        assert_eq!(parse(&rendered), Ok(Some(r)));
        // Fractional seconds and other offsets, read in UTC.
        assert_eq!(
            parse("<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-01-01T02:00:00.123+02:00</RetainUntilDate></Retention>")
                .unwrap()
                .map(|r| r.retain_until),
            Some(datetime!(2027-01-01 0:00:00.123 UTC))
        );
        assert_eq!(parse("<Retention/>"), Ok(None));
        assert_eq!(parse("<Retention></Retention>"), Ok(None));
        for bad in [
            "<Retention><Mode>GOVERNANCE</Mode></Retention>",
            "<Retention><RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate></Retention>",
            "<Retention><Mode>governance</Mode><RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate></Retention>",
            "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>tomorrow</RetainUntilDate></Retention>",
            "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate><EventHold>ON</EventHold></Retention>",
            "<Retain/>",
        ] {
            assert!(
                matches!(parse(bad), Err(ObjectLockError::Malformed(_))),
                "{bad}"
            );
        }
        let past = parse(
            "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2026-06-01T12:00:00Z</RetainUntilDate></Retention>",
        )
        .unwrap_err();
        assert_eq!(past.code(), "InvalidArgument");
        assert_eq!(
            past.to_string(),
            "The retain until date must be in the future!"
        );
        assert_eq!(
            past.extra()[0],
            ("ArgumentName", "RetainUntilDate".to_owned())
        );
    }

    #[test]
    fn legal_hold_documents() {
        for status in [LegalHoldStatus::On, LegalHoldStatus::Off] {
            let rendered = render_legal_hold(status);
            assert_eq!(parse_legal_hold(rendered.as_bytes()), Ok(status));
        }
        assert_eq!(
            render_legal_hold(LegalHoldStatus::On),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>ON</Status></LegalHold>"
        );
        assert_eq!(
            parse_legal_hold(b"<LegalHold><Status>OFF</Status></LegalHold>"),
            Ok(LegalHoldStatus::Off)
        );
        for bad in [
            "<LegalHold/>",
            "<LegalHold><Status>on</Status></LegalHold>",
            "<LegalHold><Status>ON</Status><Status>ON</Status></LegalHold>",
            "<LegalHold><Status>ON</Status><Other/></LegalHold>",
            "<Hold><Status>ON</Status></Hold>",
        ] {
            assert!(
                matches!(
                    parse_legal_hold(bad.as_bytes()),
                    Err(ObjectLockError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            serde_json::to_string(&LegalHoldStatus::On).unwrap(),
            r#""ON""#
        );
    }

    #[test]
    fn lock_headers() {
        let h = |m, d, l| parse_lock_headers(m, d, l, NOW);
        assert_eq!(h(None, None, None), Ok(LockHeaders::default()));
        assert!(!LockHeaders::default().is_some());
        let both = h(Some("GOVERNANCE"), Some("2027-01-01T00:00:00Z"), Some("ON")).unwrap();
        assert!(both.is_some());
        assert_eq!(
            both,
            LockHeaders {
                retention: Some(ObjectRetention {
                    mode: RetentionMode::Governance,
                    retain_until: datetime!(2027-01-01 0:00 UTC)
                }),
                legal_hold: Some(LegalHoldStatus::On)
            }
        );
        assert_eq!(
            h(None, None, Some("OFF")).map(|l| l.legal_hold),
            Ok(Some(LegalHoldStatus::Off))
        );
        assert_eq!(h(Some(""), Some(" "), None), Ok(LockHeaders::default()));

        let refused = |m, d, l| {
            let e = h(m, d, l).unwrap_err();
            assert_eq!(e.code(), "InvalidArgument");
            (e.to_string(), e.extra())
        };
        let arg = |name: &str, value: &str| {
            vec![
                ("ArgumentName", name.to_owned()),
                ("ArgumentValue", value.to_owned()),
            ]
        };
        let both =
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied";
        assert_eq!(
            refused(Some("GOVERNANCE"), None, None),
            (
                both.to_owned(),
                arg("x-amz-object-lock-retain-until-date", "")
            )
        );
        assert_eq!(
            refused(None, Some("2027-01-01T00:00:00Z"), None),
            (both.to_owned(), arg("x-amz-object-lock-mode", ""))
        );
        assert_eq!(
            refused(Some("governance"), Some("2027-01-01T00:00:00Z"), None),
            (
                "Unknown wormMode directive.".to_owned(),
                arg("x-amz-object-lock-mode", "governance")
            )
        );
        assert_eq!(
            refused(Some("COMPLIANCE"), Some("abc"), None).0,
            "The retain until date must be provided in ISO 8601 format"
        );
        assert_eq!(
            refused(Some("COMPLIANCE"), Some("2026-06-01T11:59:59Z"), None),
            (
                "The retain until date must be in the future!".to_owned(),
                arg(
                    "x-amz-object-lock-retain-until-date",
                    "2026-06-01T11:59:59Z"
                )
            )
        );
        assert_eq!(
            refused(None, None, Some("on")),
            (
                "Legal Hold must be either of 'ON' or 'OFF'".to_owned(),
                arg("x-amz-object-lock-legal-hold", "on")
            )
        );
    }

    #[test]
    fn modes() {
        for m in [RetentionMode::Governance, RetentionMode::Compliance] {
            assert_eq!(RetentionMode::parse(m.as_str()), Some(m));
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
        }
        assert_eq!(RetentionMode::parse("Governance"), None);
    }
}
