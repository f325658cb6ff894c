//! S3's CORS rule matching: the default module's `cors` hook, for custom
//! modules to wrap (for example, to add origins from their configuration).
//!
//! Amazon S3 evaluates a bucket's rules in stored order and uses the first
//! one that matches
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html#cors-eval-criteria>).
//! A rule matches when all three hold:
//!
//! 1. the `Origin` matches one of its `AllowedOrigin` entries: exactly and
//!    case-sensitively, where a `*` matches any run of characters, the empty
//!    one included (`https://*.example.com`, `http://localhost:*`, `*`);
//! 2. the method (`Access-Control-Request-Method` if the request has one,
//!    else the request's own method) is one of its `AllowedMethod` entries;
//! 3. every `Access-Control-Request-Headers` entry matches one of its
//!    `AllowedHeader` entries, case-insensitively, with the same wildcard.
//!
//! On a match S3 answers with the request's origin (or `*` when the entry
//! that matched is `*`, and then without credentials), all of the rule's
//! methods, the requested headers, and the rule's expose headers and max
//! age.
//!
//! ```
//! use coffer_guest_sdk::{CorsKind, CorsRequest, CorsRule, standard_cors};
//!
//! let rule = CorsRule {
//!     allowed_origins: vec!["https://*.example.com".into()],
//!     allowed_methods: vec!["GET".into(), "PUT".into()],
//!     allowed_headers: vec!["x-amz-*".into()],
//!     ..CorsRule::default()
//! };
//! let mut req = CorsRequest {
//!     kind: CorsKind::Preflight,
//!     origin: "https://app.example.com".into(),
//!     method: "PUT".into(),
//!     request_headers: vec!["x-amz-meta-owner".into()],
//!     bucket: "photos".into(),
//!     rules: vec![rule],
//!     ..CorsRequest::default()
//! };
//! let answer = standard_cors(&req).expect("the rule matches");
//! assert_eq!(answer.allowed_origin, "https://app.example.com");
//! assert!(answer.allow_credentials);
//! assert_eq!(answer.allowed_headers, ["x-amz-meta-owner"]);
//!
//! req.request_headers = vec!["content-type".into()];
//! assert_eq!(standard_cors(&req), None);
//! ```

#[allow(unused_imports)]
use crate::prelude::*;

use crate::types::{CorsRequest, CorsRule, CorsRuleMatch};

/// The answer of S3's algorithm: the first rule of `req.rules` that matches,
/// or `None`. The module's configuration is not consulted.
pub fn standard_cors(req: &CorsRequest) -> Option<CorsRuleMatch> {
    req.rules.iter().enumerate().find_map(|(i, rule)| {
        let origin = matching_origin(rule, &req.origin)?;
        if !rule.allowed_methods.contains(&req.method) {
            return None;
        }
        if !req.request_headers.iter().all(|h| header_allowed(rule, h)) {
            return None;
        }
        let any_origin = origin == "*";
        Some(CorsRuleMatch {
            rule_index: u32::try_from(i).ok(),
            allowed_origin: if any_origin {
                "*".into()
            } else {
                req.origin.clone()
            },
            allow_credentials: !any_origin,
            allowed_methods: rule.allowed_methods.clone(),
            allowed_headers: req
                .request_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            expose_headers: rule.expose_headers.clone(),
            max_age_seconds: rule.max_age_seconds,
        })
    })
}

/// The first `AllowedOrigin` entry of `rule` that `origin` matches.
fn matching_origin<'r>(rule: &'r CorsRule, origin: &str) -> Option<&'r str> {
    rule.allowed_origins
        .iter()
        .map(String::as_str)
        .find(|pattern| wildcard_match(pattern, origin))
}

/// Whether requested header `name` matches one of `rule`'s `AllowedHeader`
/// entries (case-insensitively).
fn header_allowed(rule: &CorsRule, name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    rule.allowed_headers
        .iter()
        .any(|pattern| wildcard_match(&pattern.to_ascii_lowercase(), &name))
}

/// Whether `text` matches `pattern`, where each `*` matches any run of
/// characters (the empty one included) and everything else matches itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    // `split` yields at least one part.
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut middle: Vec<&str> = parts.collect();
    let Some(last) = middle.pop() else {
        // No `*`: the whole text must be the pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CorsKind;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| (*s).into()).collect(),
            allowed_methods: methods.iter().map(|s| (*s).into()).collect(),
            allowed_headers: headers.iter().map(|s| (*s).into()).collect(),
            ..CorsRule::default()
        }
    }

    fn request(origin: &str, method: &str, headers: &[&str], rules: Vec<CorsRule>) -> CorsRequest {
        CorsRequest {
            kind: CorsKind::Preflight,
            origin: origin.into(),
            method: method.into(),
            request_headers: headers.iter().map(|s| (*s).into()).collect(),
            bucket: "b".into(),
            key: None,
            rules,
            config: None,
        }
    }

    #[test]
    fn wildcards_match_any_run_including_the_empty_one() {
        let table = [
            ("*", "https://a.example", true),
            ("*", "", true),
            ("https://*.example.com", "https://app.example.com", true),
            ("https://*.example.com", "https://.example.com", true),
            ("https://*.example.com", "https://example.com", false),
            ("*.example.com", "http://x.example.com", true),
            ("*.example.com", "http://x.example.org", false),
            ("http://localhost:*", "http://localhost:8080", true),
            ("http://localhost:*", "http://localhost:", true),
            ("http://localhost:*", "https://localhost:8080", false),
            ("start*end", "startend", true),
            ("start*end", "start-middle-end", true),
            ("start*end", "startendx", false),
            ("start*end", "xstartend", false),
            ("abab*ab", "abab", false),
            ("abab*ab", "ababab", true),
            ("prefix*", "prefix", true),
            ("https://exact.example", "https://exact.example", true),
            ("https://exact.example", "https://EXACT.example", false),
            ("https://exact.example", "https://exact.example.evil", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, expected) in table {
            assert_eq!(
                wildcard_match(pattern, text),
                expected,
                "{pattern} ~ {text}"
            );
        }
    }

    #[test]
    fn first_matching_rule_wins_and_answers_as_s3() {
        let mut first = rule(&["https://a.example"], &["GET"], &[]);
        first.expose_headers = vec!["ETag".into()];
        first.max_age_seconds = Some(600);
        let rules = vec![first, rule(&["*"], &["GET", "PUT"], &["*"])];
        let m = standard_cors(&request("https://a.example", "GET", &[], rules.clone()))
            .expect("first rule");
        assert_eq!(m.rule_index, Some(0));
        assert_eq!(m.allowed_origin, "https://a.example");
        assert!(m.allow_credentials);
        assert_eq!(m.allowed_methods, ["GET"]);
        assert_eq!(m.expose_headers, ["ETag"]);
        assert_eq!(m.max_age_seconds, Some(600));
        // A header the first rule does not allow: the second, `*`, rule.
        let m = standard_cors(&request("https://a.example", "GET", &["X-Custom"], rules))
            .expect("second rule");
        assert_eq!(m.rule_index, Some(1));
        assert_eq!(m.allowed_origin, "*");
        assert!(!m.allow_credentials);
        assert_eq!(m.allowed_methods, ["GET", "PUT"]);
        assert_eq!(m.allowed_headers, ["x-custom"]);
    }

    #[test]
    fn methods_are_exact_and_headers_case_insensitive() {
        let rules = vec![rule(
            &["https://a.example"],
            &["PUT"],
            &["Content-Type", "x-amz-meta-*"],
        )];
        let ok = |m, h: &[&str]| standard_cors(&request("https://a.example", m, h, rules.clone()));
        assert!(ok("PUT", &[]).is_some());
        assert!(ok("put", &[]).is_none());
        assert!(ok("GET", &[]).is_none());
        assert!(ok("PUT", &["content-type", "X-Amz-Meta-Owner"]).is_some());
        assert!(ok("PUT", &["content-type", "x-amz-date"]).is_none());
    }

    #[test]
    fn no_allowed_header_refuses_any_requested_header() {
        let rules = vec![rule(&["*"], &["GET"], &[])];
        assert!(standard_cors(&request("o", "GET", &[], rules.clone())).is_some());
        assert!(standard_cors(&request("o", "GET", &["x"], rules)).is_none());
    }

    #[test]
    fn no_rules_no_match() {
        assert_eq!(standard_cors(&request("o", "GET", &[], vec![])), None);
    }
}
