//! Example policy module: one CORS allow-list for many buckets. Attach it,
//! with the same configuration, to every bucket a web application uses, and
//! none of them needs a `PutBucketCors` of its own; a bucket that has one
//! keeps it, checked first.
//!
//! Configuration:
//!
//! ```json
//! {"origins": ["https://app.example.com", "https://*.example.org"],
//!  "methods": ["GET", "PUT", "HEAD"],
//!  "headers": ["content-type", "x-amz-meta-*"],
//!  "expose_headers": ["ETag"],
//!  "max_age_seconds": 600}
//! ```
//!
//! - `origins` (required): each matched as S3 matches `AllowedOrigin`, case-
//!   sensitively with `*` matching any run of characters; `"*"` allows every
//!   origin (answered `*`, without credentials).
//! - `methods` (required): some of `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.
//! - `headers`, `expose_headers` (default none), `max_age_seconds` (default
//!   none): as S3's `AllowedHeader`, `ExposeHeader` and `MaxAgeSeconds`.
//!
//! A request is first matched against the bucket's own rules
//! ([`standard_cors`]); when none matches, against the allow-list (the
//! answer then has no rule index). The configuration is checked when the
//! module is attached (`check-config`), so a typo is refused then; a bucket
//! attached without one gets its own rules only.
//!
//! Only `cors` and `check-config` are exported: authorization and metadata
//! stay S3's (the default module's).
//!
//! Build the component with `policies/build.sh`; it lands in
//! `target/wasm/wasm32-wasip2/release/coffer_policy_cors_allowlist.wasm`.

use coffer_guest_sdk::cors::wildcard_match;
use coffer_guest_sdk::{
    ConfigChecker, CorsProvider, CorsRequest, CorsRuleMatch, Level, log, standard_cors,
};
use serde::Deserialize;

/// The methods S3 allows in CORS rules.
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// The allow-list, as attached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// Allowed origins, each with `*` wildcards.
    pub origins: Vec<String>,
    /// Allowed methods.
    pub methods: Vec<String>,
    /// Allowed request headers, each with `*` wildcards, case-insensitive.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Response headers the page may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache a preflight's answer.
    #[serde(default)]
    pub max_age_seconds: Option<u32>,
}

impl AllowList {
    /// Parses and checks a configuration.
    pub fn parse(config: &str) -> Result<Self, String> {
        let list: AllowList =
            serde_json::from_str(config).map_err(|e| format!("invalid configuration: {e}"))?;
        if list.origins.is_empty() {
            return Err("invalid configuration: `origins` is empty".into());
        }
        if let Some(bad) = list.methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
            return Err(format!(
                "invalid configuration: method {bad:?} is not one of GET, PUT, POST, DELETE, HEAD"
            ));
        }
        Ok(list)
    }

    /// The answer for `req`, if the list allows it.
    pub fn answer(&self, req: &CorsRequest) -> Option<CorsRuleMatch> {
        let origin = self
            .origins
            .iter()
            .find(|pattern| wildcard_match(pattern, &req.origin))?;
        if !self.methods.contains(&req.method) {
            return None;
        }
        let allowed = |header: &String| {
            self.headers
                .iter()
                .any(|p| wildcard_match(&p.to_ascii_lowercase(), &header.to_ascii_lowercase()))
        };
        if !req.request_headers.iter().all(allowed) {
            return None;
        }
        let any = origin == "*";
        Some(CorsRuleMatch {
            rule_index: None,
            allowed_origin: if any { "*".into() } else { req.origin.clone() },
            allow_credentials: !any,
            allowed_methods: self.methods.clone(),
            allowed_headers: req.request_headers.clone(),
            expose_headers: self.expose_headers.clone(),
            max_age_seconds: self.max_age_seconds,
        })
    }
}

/// The module.
pub struct CorsAllowList;

impl CorsProvider for CorsAllowList {
    fn cors(req: &CorsRequest) -> Option<CorsRuleMatch> {
        if let Some(answer) = standard_cors(req) {
            return Some(answer);
        }
        let config = req.config.as_deref()?;
        match AllowList::parse(config) {
            Ok(list) => list.answer(req),
            Err(e) => {
                // Refused at attach time, so only reachable with limits changed since.
                log(Level::Error, &e);
                None
            }
        }
    }
}

impl ConfigChecker for CorsAllowList {
    fn check_config(config: &str) -> Result<(), String> {
        AllowList::parse(config).map(drop)
    }
}

coffer_guest_sdk::export_cors_provider!(CorsAllowList);
coffer_guest_sdk::export_config_checker!(CorsAllowList);

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_guest_sdk::{CorsKind, CorsRule};

    const CONFIG: &str = r#"{"origins": ["https://app.example.com", "https://*.example.org"],
        "methods": ["GET", "PUT"], "headers": ["content-type", "x-amz-meta-*"],
        "expose_headers": ["ETag"], "max_age_seconds": 600}"#;

    fn request(origin: &str, method: &str, headers: &[&str]) -> CorsRequest {
        CorsRequest {
            kind: CorsKind::Preflight,
            origin: origin.into(),
            method: method.into(),
            request_headers: headers.iter().map(|h| (*h).into()).collect(),
            bucket: "b".into(),
            config: Some(CONFIG.into()),
            ..CorsRequest::default()
        }
    }

    #[test]
    fn the_list_allows_what_it_names() {
        let m = CorsAllowList::cors(&request("https://a.example.org", "PUT", &["Content-Type"]))
            .expect("allowed");
        assert_eq!(m.allowed_origin, "https://a.example.org");
        assert!(m.allow_credentials);
        assert_eq!(m.rule_index, None);
        assert_eq!(m.allowed_methods, ["GET", "PUT"]);
        assert_eq!(m.max_age_seconds, Some(600));
        assert!(CorsAllowList::cors(&request("https://evil.example", "GET", &[])).is_none());
        assert!(CorsAllowList::cors(&request("https://app.example.com", "DELETE", &[])).is_none());
        assert!(
            CorsAllowList::cors(&request("https://app.example.com", "GET", &["x-custom"]))
                .is_none()
        );
    }

    #[test]
    fn the_bucket_rules_come_first() {
        let mut req = request("https://own.example.net", "DELETE", &[]);
        req.rules = vec![CorsRule {
            allowed_origins: vec!["https://own.example.net".into()],
            allowed_methods: vec!["DELETE".into()],
            ..CorsRule::default()
        }];
        assert_eq!(
            CorsAllowList::cors(&req).and_then(|m| m.rule_index),
            Some(0)
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert_eq!(CorsAllowList::check_config(CONFIG), Ok(()));
        for bad in [
            "{",
            r#"{"origins": [], "methods": ["GET"]}"#,
            r#"{"origins": ["*"], "methods": ["get"]}"#,
            r#"{"origins": ["*"], "methods": ["GET"], "extra": 1}"#,
            r#"{"methods": ["GET"]}"#,
        ] {
            assert!(CorsAllowList::check_config(bad).is_err(), "{bad}");
        }
    }
}
