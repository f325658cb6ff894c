//! Every keyword accepted and rejected, the rule choice, content types, configuration
//! errors, and patterns meaning the same with or without Unicode tables.

use super::*;
use alloc::vec;

/// Judges `metadata` (short names) of `key` with `content_type` under `config`.
fn judge(
    config: &str,
    key: &str,
    content_type: Option<&str>,
    metadata: &[(&str, &str)],
) -> Result<(), Rejection> {
    let headers: Vec<Header> = metadata
        .iter()
        .map(|(n, v)| Header::new(format!("{META_PREFIX}{n}"), *v))
        .collect();
    let rules = Rules::parse(Some(config))?;
    rules.validate(key, content_type, &headers)
}

/// A configuration of one rule for every key with `schema`.
fn schema(schema: &str) -> String {
    format!(r#"{{"metadata": [{{"schema": {schema}}}]}}"#)
}

#[track_caller]
fn accepted(config: &str, metadata: &[(&str, &str)]) {
    assert_eq!(judge(config, "k", None, metadata), Ok(()), "{config}");
    assert_eq!(check_config(config), Ok(()));
}

#[track_caller]
fn rejected(config: &str, metadata: &[(&str, &str)], message: &str) {
    let rejection = judge(config, "k", None, metadata).expect_err(config);
    assert!(
        matches!(rejection, Rejection::Violation(_)),
        "{config}: {rejection:?}"
    );
    assert_eq!(rejection.to_string(), message, "{config}");
    assert_eq!(check_config(config), Ok(()));
}

#[track_caller]
fn config_error(config: &str, contains: &str) {
    let err = check_config(config).expect_err(config);
    assert!(err.contains(contains), "{config}: {err}");
}

#[test]
fn no_configuration_or_no_rules_accept_everything() {
    for config in [None, Some("null"), Some("{}"), Some(r#"{"metadata": []}"#)] {
        let rules = Rules::parse(config).expect("valid");
        assert!(rules.is_empty());
        let headers = [Header::new("x-amz-meta-anything", "goes")];
        assert_eq!(rules.validate("k", None, &headers), Ok(()));
    }
    assert_eq!(check_config("{}"), Ok(()));
}

#[test]
fn required() {
    let c = schema(r#"{"required": ["owner", "Project"]}"#);
    accepted(&c, &[("owner", "a"), ("project", "p")]);
    accepted(&c, &[("owner", ""), ("project", ""), ("other", "x")]);
    rejected(&c, &[("project", "p")], "x-amz-meta-owner is required");
    // Listed order decides which missing name is reported.
    rejected(&c, &[], "x-amz-meta-owner is required");
    rejected(&c, &[("owner", "a")], "x-amz-meta-project is required");
}

#[test]
fn pattern_is_unanchored_unless_anchored() {
    let c = schema(r#"{"properties": {"owner": {"pattern": "[a-z]+"}}}"#);
    accepted(&c, &[("owner", "alice")]);
    accepted(&c, &[("owner", "ALICE and bob")]);
    rejected(
        &c,
        &[("owner", "ALICE")],
        "x-amz-meta-owner does not match [a-z]+",
    );
    let c = schema(r#"{"properties": {"owner": {"pattern": "^[a-z]+$"}}}"#);
    accepted(&c, &[("owner", "alice")]);
    rejected(
        &c,
        &[("owner", "alice bob")],
        "x-amz-meta-owner does not match ^[a-z]+$",
    );
    // A property that is absent is not checked.
    accepted(&c, &[]);
}

#[test]
fn min_and_max_length_count_unicode_scalar_values() {
    let c = schema(r#"{"properties": {"name": {"minLength": 2, "maxLength": 3}}}"#);
    accepted(&c, &[("name", "ab")]);
    accepted(&c, &[("name", "été")]);
    rejected(
        &c,
        &[("name", "a")],
        "x-amz-meta-name is shorter than 2 characters",
    );
    rejected(
        &c,
        &[("name", "étés")],
        "x-amz-meta-name is longer than 3 characters",
    );
}

#[test]
fn enum_and_const() {
    let c = schema(r#"{"properties": {"stage": {"enum": ["draft", "final"]}}}"#);
    accepted(&c, &[("stage", "draft")]);
    accepted(&c, &[("stage", "final")]);
    rejected(
        &c,
        &[("stage", "Draft")],
        r#"x-amz-meta-stage must be one of "draft", "final""#,
    );
    let c = schema(r#"{"properties": {"stage": {"const": "final"}}}"#);
    accepted(&c, &[("stage", "final")]);
    rejected(
        &c,
        &[("stage", "draft")],
        r#"x-amz-meta-stage must be "final""#,
    );
}

#[test]
fn additional_properties_false_true_and_schema() {
    let c = schema(r#"{"properties": {"owner": {}}, "additionalProperties": false}"#);
    accepted(&c, &[("owner", "a")]);
    accepted(&c, &[]);
    rejected(
        &c,
        &[("owner", "a"), ("foo", "b")],
        "x-amz-meta-foo is not allowed",
    );
    let c = schema(r#"{"properties": {"owner": {}}, "additionalProperties": true}"#);
    accepted(&c, &[("owner", "a"), ("foo", "b")]);
    let c = schema(
        r#"{"properties": {"owner": {}}, "additionalProperties": {"maxLength": 2, "type": "string"}}"#,
    );
    accepted(&c, &[("owner", "a long owner"), ("foo", "ab")]);
    rejected(
        &c,
        &[("foo", "abc")],
        "x-amz-meta-foo is longer than 2 characters",
    );
    // A `false` property schema forbids that one name; `true` allows anything.
    let c = schema(r#"{"properties": {"secret": false, "free": true}}"#);
    accepted(&c, &[("free", "x"), ("other", "y")]);
    rejected(&c, &[("secret", "x")], "x-amz-meta-secret is not allowed");
}

#[test]
fn property_names() {
    let c = schema(
        r#"{"propertyNames": {"pattern": "^[a-z][a-z0-9-]*$", "minLength": 2, "maxLength": 8}}"#,
    );
    accepted(&c, &[("owner", "a"), ("ab", "b")]);
    rejected(
        &c,
        &[("owner_id", "a")],
        "x-amz-meta-owner_id: the name does not match ^[a-z][a-z0-9-]*$",
    );
    rejected(
        &c,
        &[("a", "a")],
        "x-amz-meta-a: the name is shorter than 2 characters",
    );
    rejected(
        &c,
        &[("ownership", "a")],
        "x-amz-meta-ownership: the name is longer than 8 characters",
    );
    config_error(&schema(r#"{"propertyNames": {"enum": ["a"]}}"#), "enum");
}

#[test]
fn min_and_max_properties() {
    let c = schema(r#"{"minProperties": 1, "maxProperties": 2}"#);
    accepted(&c, &[("a", "1")]);
    accepted(&c, &[("a", "1"), ("b", "2")]);
    rejected(
        &c,
        &[],
        "at least 1 x-amz-meta-* entries are required, the object has 0",
    );
    rejected(
        &c,
        &[("a", "1"), ("b", "2"), ("c", "3")],
        "at most 2 x-amz-meta-* entries are allowed, the object has 3",
    );
}

#[test]
fn names_are_compared_lower_case() {
    let c = schema(r#"{"required": ["OWNER"], "properties": {"Owner": {"const": "a"}}}"#);
    let headers = [Header {
        name: "X-Amz-Meta-Owner".into(),
        value: "a".into(),
    }];
    let rules = Rules::parse(Some(&c)).expect("valid");
    assert_eq!(rules.validate("k", None, &headers), Ok(()));
}

#[test]
fn the_first_failure_is_reported_in_a_fixed_order() {
    let c = r#"{"metadata": [{"content_types": ["image/png"], "schema": {
        "required": ["owner"], "additionalProperties": false, "maxProperties": 1,
        "properties": {"owner": {}, "b": {"const": "x"}}}}]}"#;
    // Content type first, then required, then entries in name order, then counts.
    let judged =
        |ct: Option<&str>, m: &[(&str, &str)]| judge(c, "k", ct, m).map_err(|r| r.to_string());
    assert_eq!(
        judged(Some("text/plain"), &[]),
        Err("content type text/plain is not allowed".into())
    );
    assert_eq!(
        judged(Some("image/png"), &[("z", "1")]),
        Err("x-amz-meta-owner is required".into())
    );
    assert_eq!(
        judged(Some("image/png"), &[("owner", "o"), ("z", "1"), ("b", "y")]),
        Err(r#"x-amz-meta-b must be "x""#.into())
    );
    assert_eq!(
        judged(Some("image/png"), &[("owner", "o"), ("b", "x")]),
        Err("at most 1 x-amz-meta-* entries are allowed, the object has 2".into())
    );
}

#[test]
fn the_longest_matching_prefix_applies() {
    let c = r#"{"metadata": [
        {"schema": {"required": ["everywhere"]}},
        {"prefix": "photos/", "schema": {"required": ["owner"]}},
        {"prefix": "photos/raw/"}
    ]}"#;
    let message = |key: &str, m: &[(&str, &str)]| judge(c, key, None, m).map_err(|r| r.to_string());
    assert_eq!(
        message("docs/a", &[]),
        Err("x-amz-meta-everywhere is required".into())
    );
    assert_eq!(
        message("photos/a.jpg", &[("everywhere", "1")]),
        Err("x-amz-meta-owner is required".into())
    );
    assert_eq!(message("photos/a.jpg", &[("owner", "o")]), Ok(()));
    // A rule without schema or content types exempts its prefix.
    assert_eq!(message("photos/raw/a.cr2", &[]), Ok(()));
    // Prefixes are compared byte for byte, like keys.
    assert_eq!(
        message("Photos/a.jpg", &[]),
        Err("x-amz-meta-everywhere is required".into())
    );
    // No rule for the key: accepted.
    let only_photos = r#"{"metadata": [{"prefix": "photos/", "schema": {"required": ["o"]}}]}"#;
    assert_eq!(judge(only_photos, "docs/a", None, &[]), Ok(()));
}

#[test]
fn content_types() {
    let c = r#"{"metadata": [{"content_types": ["image/*", "Application/PDF"]}]}"#;
    let ok = |ct: Option<&str>| judge(c, "k", ct, &[]).map_err(|r| r.to_string());
    assert_eq!(ok(Some("image/png")), Ok(()));
    assert_eq!(ok(Some("IMAGE/Jpeg; q=1")), Ok(()));
    assert_eq!(ok(Some("application/pdf;charset=binary")), Ok(()));
    assert_eq!(
        ok(Some("image")),
        Err("content type image is not allowed".into())
    );
    assert_eq!(
        ok(Some("text/plain; charset=utf-8")),
        Err("content type text/plain is not allowed".into())
    );
    // Without Content-Type the object is S3's binary/octet-stream.
    assert_eq!(
        ok(None),
        Err("content type binary/octet-stream is not allowed".into())
    );
    assert_eq!(
        ok(Some(" ")),
        Err("content type binary/octet-stream is not allowed".into())
    );
    let any = r#"{"metadata": [{"content_types": ["*/*"]}]}"#;
    assert_eq!(judge(any, "k", None, &[]), Ok(()));
    let octet = r#"{"metadata": [{"content_types": ["binary/octet-stream"]}]}"#;
    assert_eq!(judge(octet, "k", None, &[]), Ok(()));
    for bad in [
        "image",
        "*/png",
        "text/plain; charset=utf-8",
        "image/",
        "/png",
        "a b/c",
    ] {
        config_error(
            &format!(r#"{{"metadata": [{{"content_types": ["{bad}"]}}]}}"#),
            "not a media type",
        );
    }
    config_error(
        r#"{"metadata": [{"content_types": "image/*"}]}"#,
        "expected",
    );
}

#[test]
fn configuration_errors() {
    for (config, contains) in [
        ("{", "not JSON"),
        ("[]", "configuration: expected an object"),
        (
            r#"{"metdata": []}"#,
            r#"configuration: unknown field "metdata""#,
        ),
        (r#"{"metadata": {}}"#, "metadata: expected an array"),
        (r#"{"metadata": [1]}"#, "metadata[0]: expected a rule"),
        (
            r#"{"metadata": [{"prefx": "a"}]}"#,
            r#"unknown field "prefx""#,
        ),
        (
            r#"{"metadata": [{"prefix": 1}]}"#,
            "metadata[0].prefix: expected a string",
        ),
        (
            r#"{"metadata": [{"prefix": "a"}, {"prefix": "a"}]}"#,
            "metadata[1].prefix: another rule has prefix \"a\"",
        ),
        (r#"{"metadata": [{}, {}]}"#, "another rule has prefix \"\""),
        (&schema("[]"), "expected a schema object"),
        (&schema(r#"{"requird": []}"#), r#"unknown field "requird""#),
        (&schema(r#"{"required": "owner"}"#), "expected an array"),
        (
            &schema(r#"{"required": [1]}"#),
            "required[0]: expected a name",
        ),
        (
            &schema(r#"{"required": ["x-amz-meta-owner"]}"#),
            "without the x-amz-meta- prefix",
        ),
        (&schema(r#"{"required": [""]}"#), "cannot be empty"),
        (
            &schema(r#"{"properties": []}"#),
            "expected an object of property schemas",
        ),
        (
            &schema(r#"{"properties": {"a": 1}}"#),
            "expected a property schema",
        ),
        (
            &schema(r#"{"properties": {"a": {"maxLenght": 1}}}"#),
            r#"unknown field "maxLenght""#,
        ),
        (
            &schema(r#"{"properties": {"a": {}, "A": {}}}"#),
            "appears twice",
        ),
        (
            &schema(r#"{"properties": {"a": {"maxLength": -1}}}"#),
            "a non-negative integer",
        ),
        (
            &schema(r#"{"properties": {"a": {"maxLength": 1.5}}}"#),
            "a non-negative integer",
        ),
        (
            &schema(r#"{"properties": {"a": {"minLength": 3, "maxLength": 2}}}"#),
            "minLength 3 is greater than maxLength 2",
        ),
        (
            &schema(r#"{"properties": {"a": {"enum": []}}}"#),
            "empty enum",
        ),
        (
            &schema(r#"{"properties": {"a": {"enum": [1]}}}"#),
            "enum[0]: expected a string",
        ),
        (
            &schema(r#"{"properties": {"a": {"const": 1}}}"#),
            "const: expected a string",
        ),
        (
            &schema(r#"{"properties": {"a": {"pattern": 1}}}"#),
            "expected a pattern string",
        ),
        (
            &schema(r#"{"properties": {"a": {"type": "number"}}}"#),
            "only \"string\"",
        ),
        (&schema(r#"{"type": "array"}"#), "only \"object\""),
        (
            &schema(r#"{"additionalProperties": "no"}"#),
            "expected a property schema",
        ),
        (
            &schema(r#"{"propertyNames": true}"#),
            "expected a schema object",
        ),
        (
            &schema(r#"{"maxProperties": "5"}"#),
            "a non-negative integer",
        ),
        (
            &schema(r#"{"minProperties": 2, "maxProperties": 1}"#),
            "minProperties 2 is greater than maxProperties 1",
        ),
        (
            &schema(r#"{"patternProperties": {}}"#),
            r#"unknown field "patternProperties""#,
        ),
    ] {
        config_error(config, contains);
        // The hook rejects every write such a configuration judges.
        let headers = [Header::new("x-amz-meta-a", "1")];
        let mut req = Request::new("PutObject", crate::Principal::Anonymous);
        req.key = Some("k".into());
        req.config = Some(config.to_owned());
        let message = validate_metadata(&req, &headers).expect_err(config);
        assert!(
            message.starts_with("the bucket's metadata rules are invalid: "),
            "{message}"
        );
    }
}

#[test]
fn bad_patterns_are_configuration_errors() {
    for (pattern, contains) in [
        ("(", "unclosed group"),
        ("[a-", "unclosed character class"),
        ("a{2,1}", "invalid repetition"),
        ("\\\\p{Greek}", "Unicode classes"),
        ("[\\\\pL]", "Unicode classes"),
        ("(?i)abc", "case-insensitive"),
        ("a(?i:b)", "case-insensitive"),
        ("a{1000}{1000}", "exceed"),
        ("(?-u:.)", "invalid UTF-8"),
    ] {
        let c = schema(&format!(
            r#"{{"properties": {{"a": {{"pattern": "{pattern}"}}}}}}"#
        ));
        config_error(&c, contains);
        config_error(
            &c,
            "metadata[0].schema.properties.a.pattern: invalid pattern",
        );
    }
    let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
    config_error(
        &schema(&format!(r#"{{"propertyNames": {{"pattern": "{deep}"}}}}"#)),
        "nest",
    );
}

#[test]
fn patterns_are_only_compiled_for_the_rule_that_applies() {
    let c =
        r#"{"metadata": [{"prefix": "a/", "schema": {"properties": {"x": {"pattern": "("}}}}]}"#;
    assert!(check_config(c).is_err());
    assert_eq!(judge(c, "b/k", None, &[("x", "1")]), Ok(()));
    let rejection = judge(c, "a/k", None, &[]).expect_err("the rule applies");
    assert!(matches!(rejection, Rejection::Config(_)), "{rejection:?}");
}

#[test]
fn perl_classes_and_word_boundaries_are_ascii() {
    let matches = |pattern: &str, value: &str| {
        let c = schema(&format!(
            r#"{{"properties": {{"v": {{"pattern": {}}}}}}}"#,
            serde_json::Value::String(pattern.into())
        ));
        assert_eq!(check_config(&c), Ok(()), "{pattern}");
        judge(&c, "k", None, &[("v", value)]).is_ok()
    };
    assert!(matches(r"^\d+$", "0123456789"));
    assert!(!matches(r"^\d+$", "١٢٣")); // Arabic-Indic digits are not \d here
    assert!(matches(r"^\D+$", "abc"));
    assert!(!matches(r"^\D+$", "a1"));
    assert!(matches(r"^\w+$", "snake_case9"));
    assert!(!matches(r"^\w+$", "été"));
    assert!(matches(r"^\W$", "é"));
    assert!(matches(r"^a\sb$", "a\tb"));
    assert!(!matches(r"^a\sb$", "a\u{a0}b"));
    assert!(matches(r"^a\Sb$", "a-b"));
    assert!(matches(r"^[\d-]+$", "12-34"));
    assert!(!matches(r"^[\d-]+$", "12+34"));
    assert!(matches(r"^[^\d]+$", "abc"));
    assert!(matches(r"\bcat\b", "a cat here"));
    assert!(!matches(r"\bcat\b", "concatenate"));
    assert!(matches(r"\Bcat", "concatenate"));
    // `.` and negated classes match any Unicode scalar value.
    assert!(matches("^.{3}$", "été"));
    assert!(matches("^[^,]+$", "日本語"));
    assert!(matches("^é+$", "ééé"));
    assert!(matches("^[à-ü]+$", "éèü"));
    // Flags other than (?i) are accepted.
    assert!(matches("(?m)^b$", "a\nb"));
    assert!(matches("(?s)a.b", "a\nb"));
    assert!(matches("(?x) a b ", "ab"));
    assert!(matches("(?-u:[a-z])", "x"));
}

#[test]
fn rejections_and_config_errors_are_distinguishable() {
    let c = schema(r#"{"required": ["a"]}"#);
    assert_eq!(
        judge(&c, "k", None, &[]),
        Err(Rejection::Violation(Violation::Required("a".into())))
    );
    let broken = judge("{", "k", None, &[]);
    assert!(matches!(
        broken,
        Err(Rejection::Config(ConfigError::NotJson(_)))
    ));
    // Headers without the prefix are judged under their own name.
    let rules = Rules::parse(Some(&c)).expect("valid");
    assert_eq!(rules.validate("k", None, &[Header::new("a", "1")]), Ok(()));
    let _ = vec![0u8];
}
