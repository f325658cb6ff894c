//! The `CORSConfiguration` document of Put/GetBucketCors: parsing with S3's validation,
//! and rendering the stored rules back (values as the owner sent them).
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html>

use super::xml::{Doc, Element, XmlError, malformed, parse_document};
use crate::store::cors::CorsRule;

/// Most rules one configuration may hold.
pub const MAX_RULES: usize = 100;

/// Largest configuration document, bytes ("The CORS configuration is limited to 64 KB").
pub const MAX_DOCUMENT_BYTES: usize = 64 << 10;

/// Longest rule `ID`.
const MAX_ID_CHARS: usize = 255;

/// The methods a rule may allow, spelled exactly so.
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum CorsConfigError {
    /// Not a well-formed configuration (`MalformedXML`).
    #[error(transparent)]
    Malformed(#[from] XmlError),
    /// Well-formed but not allowed (`InvalidRequest`, with S3's message).
    #[error("{0}")]
    Invalid(String),
}

/// Parses and checks a `CORSConfiguration` body: 1 to 100 `CORSRule`s, each with at least
/// one `AllowedOrigin` and `AllowedMethod`, methods among GET, PUT, POST, DELETE, HEAD
/// (case-sensitive), at most one `*` per origin and per allowed header, allowed headers
/// made of token characters, `MaxAgeSeconds` a non-negative integer, `ID` at most 255
/// characters. Values are trimmed of surrounding whitespace and otherwise kept as sent.
pub fn parse_cors_configuration(body: &[u8]) -> Result<Vec<CorsRule>, CorsConfigError> {
    let root = parse_document(body)?;
    if root.name != "CORSConfiguration" {
        return Err(malformed(format!(
            "expected <CORSConfiguration>, found <{}>",
            root.name
        ))
        .into());
    }
    let mut rules = Vec::new();
    for child in &root.children {
        if child.name != "CORSRule" {
            return Err(malformed(format!("unexpected <{}>", child.name)).into());
        }
        rules.push(parse_rule(child)?);
    }
    if rules.is_empty() {
        return Err(malformed("no <CORSRule>").into());
    }
    if rules.len() > MAX_RULES {
        return Err(CorsConfigError::Invalid(format!(
            "The number of CORS rules should not exceed allowed limit of {MAX_RULES} rules."
        )));
    }
    Ok(rules)
}

fn parse_rule(rule: &Element) -> Result<CorsRule, CorsConfigError> {
    let mut r = CorsRule {
        id: None,
        allowed_origins: Vec::new(),
        allowed_methods: Vec::new(),
        allowed_headers: Vec::new(),
        expose_headers: Vec::new(),
        max_age_seconds: None,
    };
    for field in &rule.children {
        let value = field.text.trim().to_string();
        match field.name.as_str() {
            "ID" if r.id.is_some() => return Err(malformed("<ID> given more than once").into()),
            "ID" => {
                if value.chars().count() > MAX_ID_CHARS {
                    return Err(CorsConfigError::Invalid(format!(
                        "The ID of a CORS rule should not exceed {MAX_ID_CHARS} characters."
                    )));
                }
                r.id = Some(value);
            }
            "AllowedOrigin" => {
                if value.matches('*').count() > 1 {
                    return Err(CorsConfigError::Invalid(format!(
                        "AllowedOrigin \"{value}\" can not have more than one wildcard."
                    )));
                }
                r.allowed_origins.push(value);
            }
            "AllowedMethod" => {
                if !METHODS.contains(&value.as_str()) {
                    return Err(CorsConfigError::Invalid(format!(
                        "Found unsupported HTTP method in CORS config. Unsupported method is {value}"
                    )));
                }
                r.allowed_methods.push(value);
            }
            "AllowedHeader" => {
                if value.matches('*').count() > 1 {
                    return Err(CorsConfigError::Invalid(format!(
                        "AllowedHeader \"{value}\" can not have more than one wildcard."
                    )));
                }
                if !value.bytes().all(|b| b == b'*' || is_token_char(b)) {
                    return Err(CorsConfigError::Invalid(format!(
                        "AllowedHeader \"{value}\" contains invalid character."
                    )));
                }
                r.allowed_headers.push(value);
            }
            "ExposeHeader" => r.expose_headers.push(value),
            "MaxAgeSeconds" if r.max_age_seconds.is_some() => {
                return Err(malformed("<MaxAgeSeconds> given more than once").into());
            }
            "MaxAgeSeconds" => {
                r.max_age_seconds = Some(
                    value
                        .parse::<u32>()
                        .map_err(|_| malformed(format!("bad <MaxAgeSeconds> {value:?}")))?,
                );
            }
            other => return Err(malformed(format!("unexpected <{other}> in <CORSRule>")).into()),
        }
    }
    if r.allowed_origins.is_empty() {
        return Err(malformed("<CORSRule> without <AllowedOrigin>").into());
    }
    if r.allowed_methods.is_empty() {
        return Err(malformed("<CORSRule> without <AllowedMethod>").into());
    }
    Ok(r)
}

/// Whether `b` may appear in an HTTP header name (RFC 9110 `tchar`).
pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Renders the stored rules as GetBucketCors answers them.
pub fn render_cors_configuration(rules: &[CorsRule]) -> String {
    let mut d = Doc::new();
    d.root("CORSConfiguration");
    for rule in rules {
        d.start("CORSRule");
        for h in &rule.allowed_headers {
            d.text("AllowedHeader", h);
        }
        for m in &rule.allowed_methods {
            d.text("AllowedMethod", m);
        }
        for o in &rule.allowed_origins {
            d.text("AllowedOrigin", o);
        }
        for h in &rule.expose_headers {
            d.text("ExposeHeader", h);
        }
        d.text_opt("ID", rule.id.as_deref());
        if let Some(age) = rule.max_age_seconds {
            d.text("MaxAgeSeconds", &age.to_string());
        }
        d.end("CORSRule");
    }
    d.end("CORSConfiguration");
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rules: &str) -> String {
        format!(
            "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{rules}</CORSConfiguration>"
        )
    }

    fn invalid(body: &str) -> String {
        match parse_cors_configuration(body.as_bytes()) {
            Err(CorsConfigError::Invalid(m)) => m,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    fn is_malformed(body: &str) -> bool {
        matches!(
            parse_cors_configuration(body.as_bytes()),
            Err(CorsConfigError::Malformed(_))
        )
    }

    #[test]
    fn a_full_configuration_round_trips_verbatim() {
        let body = config(
            "<CORSRule><ID>web</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>\
             <AllowedOrigin>http://localhost:3000</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
             <AllowedMethod>PUT</AllowedMethod><AllowedHeader>X-Amz-*</AllowedHeader>\
             <AllowedHeader>Content-Type</AllowedHeader><ExposeHeader>ETag</ExposeHeader>\
             <MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>\
             <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>",
        );
        let rules = parse_cors_configuration(body.as_bytes()).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].id.as_deref(), Some("web"));
        assert_eq!(rules[0].allowed_headers, ["X-Amz-*", "Content-Type"]);
        assert_eq!(rules[0].max_age_seconds, Some(3000));
        assert_eq!(rules[1].allowed_origins, ["*"]);
        let rendered = render_cors_configuration(&rules);
        assert_eq!(
            parse_cors_configuration(rendered.as_bytes()).unwrap(),
            rules
        );
        assert!(rendered.contains("<AllowedHeader>X-Amz-*</AllowedHeader>"));
    }

    #[test]
    fn structure_errors_are_malformed() {
        assert!(is_malformed(&config("")));
        assert!(is_malformed(&config(
            "<CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
        )));
        assert!(is_malformed(&config(
            "<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
        )));
        assert!(is_malformed(&config(
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
             <MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule>"
        )));
        assert!(is_malformed(&config(
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
             <Colour>red</Colour></CORSRule>"
        )));
        assert!(is_malformed("<Other/>"));
    }

    #[test]
    fn bad_values_are_invalid_requests_with_s3s_messages() {
        let rule = |origin: &str, method: &str, header: &str| {
            config(&format!(
                "<CORSRule><AllowedOrigin>{origin}</AllowedOrigin><AllowedMethod>{method}</AllowedMethod>\
                 <AllowedHeader>{header}</AllowedHeader></CORSRule>"
            ))
        };
        for method in ["get", "PATCH", "*", "OPTIONS"] {
            assert_eq!(
                invalid(&rule("*", method, "x")),
                format!(
                    "Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
            );
        }
        assert_eq!(
            invalid(&rule("http://*.a.*", "GET", "x")),
            "AllowedOrigin \"http://*.a.*\" can not have more than one wildcard."
        );
        assert_eq!(
            invalid(&rule("*", "GET", "x-*-*")),
            "AllowedHeader \"x-*-*\" can not have more than one wildcard."
        );
        assert_eq!(
            invalid(&rule("*", "GET", "x y")),
            "AllowedHeader \"x y\" contains invalid character."
        );
        let many = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>"
            .repeat(MAX_RULES + 1);
        assert!(invalid(&config(&many)).contains("100 rules"));
        let long_id = format!(
            "<CORSRule><ID>{}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
            "i".repeat(256)
        );
        assert!(invalid(&config(&long_id)).contains("255"));
    }

    #[test]
    fn an_empty_origin_is_accepted() {
        let rules = parse_cors_configuration(
            config("<CORSRule><AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(rules[0].allowed_origins, [""]);
    }
}
