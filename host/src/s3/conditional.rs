//! Conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since` and
//! `If-Unmodified-Since` on GetObject and HeadObject, their `x-amz-copy-source-if-*`
//! twins on the source of a copy, and the create-only / replace-only conditions of
//! writes (`If-None-Match: *`, `If-Match: <etag>`).
//!
//! Precedence is RFC 9110 §13.2.2's, which is what S3 implements: `If-Match` decides
//! alone when present (a match overrides a failed `If-Unmodified-Since`), then
//! `If-Unmodified-Since`; a failure is 412. Then `If-None-Match` decides alone when
//! present (a match is 304, and a failed `If-Modified-Since` does not matter), then
//! `If-Modified-Since`. Dates that do not parse are ignored, as HTTP says.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax>
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html>

use http::HeaderMap;
use time::OffsetDateTime;

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::store::object_write::etag_list_matches;
use crate::store::objects::WriteCondition;

/// The four preconditions of a read, by header names.
struct Names {
    if_match: &'static str,
    if_none_match: &'static str,
    if_modified_since: &'static str,
    if_unmodified_since: &'static str,
}

const REQUEST: Names = Names {
    if_match: "if-match",
    if_none_match: "if-none-match",
    if_modified_since: "if-modified-since",
    if_unmodified_since: "if-unmodified-since",
};

const COPY_SOURCE: Names = Names {
    if_match: "x-amz-copy-source-if-match",
    if_none_match: "x-amz-copy-source-if-none-match",
    if_modified_since: "x-amz-copy-source-if-modified-since",
    if_unmodified_since: "x-amz-copy-source-if-unmodified-since",
};

/// The preconditions a request puts on an existing object.
#[derive(Debug, Default, Clone)]
pub struct ReadConditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<OffsetDateTime>,
    if_unmodified_since: Option<OffsetDateTime>,
}

/// What the preconditions say about an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Proceed,
    /// 304: the client's copy is current (reads only).
    NotModified,
    /// 412, naming the header that failed.
    Failed(&'static str),
}

impl ReadConditions {
    /// The conditions of a GET or HEAD.
    pub fn of_request(h: &HeaderMap) -> Self {
        Self::parse(h, &REQUEST)
    }

    /// The conditions a copy puts on its source.
    pub fn of_copy_source(h: &HeaderMap) -> Self {
        Self::parse(h, &COPY_SOURCE)
    }

    fn parse(h: &HeaderMap, names: &Names) -> Self {
        let text = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        let date = |name: &str| text(name).and_then(|v| parse_http_date(&v));
        ReadConditions {
            if_match: text(names.if_match),
            if_none_match: text(names.if_none_match),
            if_modified_since: date(names.if_modified_since),
            if_unmodified_since: date(names.if_unmodified_since),
        }
    }

    /// Whether there is any condition at all.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// Evaluates the conditions against an object's ETag (quoted) and Last-Modified.
    pub fn evaluate(&self, etag: &str, last_modified: OffsetDateTime) -> Verdict {
        // HTTP dates have whole seconds.
        let modified = last_modified.unix_timestamp();
        match &self.if_match {
            Some(list) if !etag_list_matches(list, etag) => return Verdict::Failed("If-Match"),
            Some(_) => {}
            None => {
                if self
                    .if_unmodified_since
                    .is_some_and(|d| modified > d.unix_timestamp())
                {
                    return Verdict::Failed("If-Unmodified-Since");
                }
            }
        }
        match &self.if_none_match {
            Some(list) if etag_list_matches(list, etag) => return Verdict::NotModified,
            Some(_) => {}
            None => {
                if self
                    .if_modified_since
                    .is_some_and(|d| modified <= d.unix_timestamp())
                {
                    return Verdict::NotModified;
                }
            }
        }
        Verdict::Proceed
    }

    /// For a GET or HEAD: `Ok(true)` to answer 304, `Err` for 412.
    pub fn check_read(&self, etag: &str, last_modified: OffsetDateTime) -> S3Result<bool> {
        match self.evaluate(etag, last_modified) {
            Verdict::Proceed => Ok(false),
            Verdict::NotModified => Ok(true),
            Verdict::Failed(condition) => Err(precondition_failed(condition)),
        }
    }

    /// For the source of a copy, where every failed condition is 412.
    pub fn check_copy_source(&self, etag: &str, last_modified: OffsetDateTime) -> S3Result<()> {
        match self.evaluate(etag, last_modified) {
            Verdict::Proceed => Ok(()),
            Verdict::NotModified if self.if_none_match.is_some() => {
                Err(precondition_failed("x-amz-copy-source-If-None-Match"))
            }
            Verdict::NotModified => Err(precondition_failed("x-amz-copy-source-If-Modified-Since")),
            Verdict::Failed(condition) => Err(precondition_failed(&format!(
                "x-amz-copy-source-{condition}"
            ))),
        }
    }
}

/// The `412 PreconditionFailed` error naming `condition`.
pub fn precondition_failed(condition: &str) -> S3Error {
    S3Error::new(S3ErrorCode::PreconditionFailed).extra("Condition", condition.to_string())
}

/// The condition a write (PutObject, CompleteMultipartUpload) puts on the object it
/// replaces: `If-None-Match: *` (create only) or `If-Match: <etag>` (replace only that
/// version). Other `If-None-Match` values are not supported by S3 (501).
pub fn write_condition(h: &HeaderMap) -> S3Result<WriteCondition> {
    let text = |name: &str| {
        h.get(name)
            .map(|v| v.to_str().map(str::trim))
            .transpose()
            .map_err(|_| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, format!("invalid {name}"))
            })
    };
    let if_none_match = text("if-none-match")?;
    let if_match = text("if-match")?;
    match (if_none_match, if_match) {
        (Some(_), Some(_)) => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "If-Match and If-None-Match cannot be combined on a write",
        )),
        (Some("*"), None) => Ok(WriteCondition::IfAbsent),
        (Some(_), None) => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "A header you provided implies functionality that is not implemented: \
             If-None-Match only supports *",
        )
        .extra("Header", "If-None-Match")),
        (None, Some(etag)) if !etag.is_empty() => Ok(WriteCondition::IfMatch(etag.to_string())),
        (None, Some(_)) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "If-Match must name an ETag",
        )),
        (None, None) => Ok(WriteCondition::None),
    }
}

/// Parses an HTTP date in any of the three formats HTTP allows.
pub fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    Some(OffsetDateTime::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const ETAG: &str = "\"0123abcd\"";

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).expect("valid")
    }

    fn date(unix: i64) -> String {
        httpdate::fmt_http_date(std::time::SystemTime::from(at(unix)))
    }

    fn conditions(pairs: &[(&'static str, String)]) -> ReadConditions {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).expect("ascii"));
        }
        ReadConditions::of_request(&h)
    }

    #[test]
    fn etag_lists_match_quoted_unquoted_weak_and_star() {
        assert!(etag_list_matches("\"0123abcd\"", ETAG));
        assert!(etag_list_matches("0123abcd", ETAG));
        assert!(etag_list_matches("\"x\", W/\"0123abcd\"", ETAG));
        assert!(etag_list_matches("*", ETAG));
        assert!(!etag_list_matches("\"x\",\"y\"", ETAG));
    }

    #[test]
    fn s3_precedence_rules() {
        let modified = at(1_000_000);
        let eval = |pairs: &[(&'static str, String)]| conditions(pairs).evaluate(ETAG, modified);
        assert_eq!(eval(&[]), Verdict::Proceed);
        assert_eq!(
            eval(&[("if-match", "\"nope\"".into())]),
            Verdict::Failed("If-Match")
        );
        // If-Match true wins over a failed If-Unmodified-Since.
        assert_eq!(
            eval(&[
                ("if-match", ETAG.into()),
                ("if-unmodified-since", date(999_000))
            ]),
            Verdict::Proceed
        );
        assert_eq!(
            eval(&[("if-unmodified-since", date(999_000))]),
            Verdict::Failed("If-Unmodified-Since")
        );
        assert_eq!(
            eval(&[("if-unmodified-since", date(1_000_000))]),
            Verdict::Proceed
        );
        // If-None-Match false (a match) is 304 whatever If-Modified-Since says.
        assert_eq!(
            eval(&[
                ("if-none-match", ETAG.into()),
                ("if-modified-since", date(999_000))
            ]),
            Verdict::NotModified
        );
        // If-None-Match true (no match) overrides If-Modified-Since.
        assert_eq!(
            eval(&[
                ("if-none-match", "\"other\"".into()),
                ("if-modified-since", date(2_000_000))
            ]),
            Verdict::Proceed
        );
        assert_eq!(
            eval(&[("if-modified-since", date(1_000_000))]),
            Verdict::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", date(999_999))]),
            Verdict::Proceed
        );
        // 412 before 304.
        assert_eq!(
            eval(&[
                ("if-match", "\"nope\"".into()),
                ("if-none-match", ETAG.into())
            ]),
            Verdict::Failed("If-Match")
        );
        // Unparseable dates are ignored.
        assert_eq!(
            eval(&[("if-modified-since", "yesterday".into())]),
            Verdict::Proceed
        );
    }

    #[test]
    fn write_conditions() {
        let cond = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (n, v) in pairs {
                h.insert(*n, HeaderValue::from_static(v));
            }
            write_condition(&h)
        };
        assert!(matches!(cond(&[]), Ok(WriteCondition::None)));
        assert!(matches!(
            cond(&[("if-none-match", "*")]),
            Ok(WriteCondition::IfAbsent)
        ));
        assert!(matches!(
            cond(&[("if-match", "\"abc\"")]),
            Ok(WriteCondition::IfMatch(e)) if e == "\"abc\""
        ));
        let err = cond(&[("if-none-match", "\"abc\"")]).expect_err("refused");
        assert_eq!(err.code(), S3ErrorCode::NotImplemented);
    }
}
