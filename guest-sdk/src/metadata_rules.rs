//! Declarative rules for user metadata: the default module's `validate-metadata`.
//!
//! An operator attaches the default module to a bucket with a configuration such as
//!
//! ```json
//! {"metadata": [{
//!     "prefix": "photos/",
//!     "schema": {
//!         "required": ["owner"],
//!         "properties": {
//!             "owner": {"pattern": "^[a-z]+$", "maxLength": 32},
//!             "stage": {"enum": ["draft", "final"]}
//!         },
//!         "additionalProperties": false,
//!         "maxProperties": 5
//!     },
//!     "content_types": ["image/*"]
//! }]}
//! ```
//!
//! and every write creating an object under `photos/` must then carry an `x-amz-meta-owner`
//! of lower-case letters, may carry an `x-amz-meta-stage` of `draft` or `final`, nothing
//! else, and must be an image. The vocabulary is a subset of JSON Schema's (the keyword
//! names and meanings are JSON Schema's), applied to the object's user metadata as an
//! object of name → string value:
//!
//! - rules: `prefix` (default `""`), `schema`, `content_types`; the rule with the longest
//!   prefix of the key applies, and a key no rule's prefix matches is accepted;
//! - `schema`: `required`, `properties`, `additionalProperties` (a boolean or a property
//!   schema), `propertyNames`, `minProperties`, `maxProperties`, `type` (`"object"`);
//! - property schemas: `pattern`, `minLength`, `maxLength`, `enum`, `const`, `type`
//!   (`"string"`), or `true`/`false`; `propertyNames`: `pattern`, `minLength`, `maxLength`;
//! - names are written without `x-amz-meta-` and compared lower-case (S3 lower-cases them);
//!   lengths count Unicode scalar values, as JSON Schema does;
//! - `content_types`: media types (`image/png`), `type/*` or `*/*`, compared
//!   case-insensitively with the object's `Content-Type` without its parameters; an object
//!   without one is `binary/octet-stream`, S3's default.
//!
//! A pattern matches anywhere in the value, as JSON Schema's `pattern` does: anchor it
//! (`^...$`) to constrain the whole value. The syntax is that of Rust's `regex` crate
//! (<https://docs.rs/regex/latest/regex/#syntax>), with three restrictions that keep this
//! code free of Unicode tables (which every instance of the default module would copy, for
//! every decision): `\d`, `\w`, `\s` and `\b` are ASCII-only (as `\d` and `\w` are in
//! JSON Schema's ECMA-262 patterns), `\p{..}` classes and case-insensitive matching (`(?i)`)
//! are refused. `.` and classes such as `[^,]` match any Unicode scalar value.
//!
//! Unknown fields and keywords, values of the wrong type, patterns that do not compile and
//! documents that are not JSON are configuration errors ([`ConfigError`]): [`check_config`]
//! reports them when the configuration is attached, and a write judged by a configuration
//! that has one is rejected. Rejections name the first failure only, deterministically,
//! in words meant for the client ([`Violation`]): checks run in the order content type,
//! `required` (as listed), each metadata entry in name order (`propertyNames`, then its
//! property schema or `additionalProperties`), then `minProperties`/`maxProperties`.
//!
//! The module is `no_std` + `alloc` (the default module is built without `std`) and never
//! panics. Only the patterns of the rule that applies are compiled: every decision runs in
//! a fresh instance, so nothing compiled survives it.

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use regex_automata::nfa::thompson::{self, WhichCaptures, pikevm::PikeVM};
use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem};
use serde_json::{Map, Value};

use crate::types::{Header, Request};

/// The prefix S3 gives user metadata headers; rule names are written without it.
pub const META_PREFIX: &str = "x-amz-meta-";

/// The media type S3 gives an object written without `Content-Type`.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// How deeply a pattern may nest groups, classes and repetitions. The regex compiler
/// recurses once per level, and the default module runs on a 64 KiB stack.
pub const MAX_PATTERN_NESTING: u32 = 32;

/// The most heap one compiled pattern may take, so a pattern such as `a{1000}{1000}` is a
/// configuration error instead of exhausting the module's memory.
pub const MAX_PATTERN_BYTES: usize = 256 << 10;

/// Why a configuration cannot be used. `at` is where in the document, e.g.
/// `metadata[0].schema.properties.owner.pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The document is not JSON.
    NotJson(String),
    /// A field or keyword this vocabulary does not have (a typo must not silently turn a
    /// rule off).
    UnknownField {
        /// Where.
        at: String,
        /// The field's name.
        field: String,
    },
    /// A value of the wrong JSON type.
    WrongType {
        /// Where.
        at: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// A pattern that does not compile, or uses what is refused here.
    InvalidPattern {
        /// Where.
        at: String,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// Any other inconsistency (duplicate prefixes, `minLength` above `maxLength`, ...).
    Invalid {
        /// Where.
        at: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotJson(e) => write!(f, "not JSON: {e}"),
            ConfigError::UnknownField { at, field } => write!(f, "{at}: unknown field {field:?}"),
            ConfigError::WrongType { at, expected } => write!(f, "{at}: expected {expected}"),
            ConfigError::InvalidPattern {
                at,
                pattern,
                reason,
            } => write!(f, "{at}: invalid pattern {pattern:?}: {reason}"),
            ConfigError::Invalid { at, reason } => write!(f, "{at}: {reason}"),
        }
    }
}

/// What a check is about: a metadata value, or its name (`propertyNames`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The value of `x-amz-meta-NAME`.
    Value,
    /// `NAME` itself.
    Name,
}

/// The first rule a write's metadata breaks. Its text (`Display`) is what the client is
/// told, so it names the header as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The object's media type is not in the rule's `content_types`.
    ContentType(String),
    /// A `required` name is missing.
    Required(String),
    /// A name that `additionalProperties: false` (or a `false` property schema) forbids.
    NotAllowed(String),
    /// A value (or name) that does not match its `pattern`.
    Pattern {
        /// The short (lower-case) name.
        name: String,
        /// Value or name.
        part: Part,
        /// The pattern.
        pattern: String,
    },
    /// A value (or name) shorter than `minLength`.
    TooShort {
        /// The short name.
        name: String,
        /// Value or name.
        part: Part,
        /// The minimum, in Unicode scalar values.
        min: usize,
    },
    /// A value (or name) longer than `maxLength`.
    TooLong {
        /// The short name.
        name: String,
        /// Value or name.
        part: Part,
        /// The maximum, in Unicode scalar values.
        max: usize,
    },
    /// A value not in `enum`.
    NotInEnum {
        /// The short name.
        name: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// A value other than `const`.
    NotConst {
        /// The short name.
        name: String,
        /// The only allowed value.
        value: String,
    },
    /// Fewer entries than `minProperties`.
    TooFew {
        /// The minimum.
        min: usize,
        /// How many the object has.
        got: usize,
    },
    /// More entries than `maxProperties`.
    TooMany {
        /// The maximum.
        max: usize,
        /// How many the object has.
        got: usize,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Violation as V;
        // `x-amz-meta-owner` for a value, `x-amz-meta-owner: the name` for a name.
        let subject = |f: &mut fmt::Formatter<'_>, name: &str, part: &Part| match part {
            Part::Value => write!(f, "{META_PREFIX}{name}"),
            Part::Name => write!(f, "{META_PREFIX}{name}: the name"),
        };
        match self {
            V::ContentType(t) => write!(f, "content type {t} is not allowed"),
            V::Required(n) => write!(f, "{META_PREFIX}{n} is required"),
            V::NotAllowed(n) => write!(f, "{META_PREFIX}{n} is not allowed"),
            V::Pattern {
                name,
                part,
                pattern,
            } => {
                subject(f, name, part)?;
                write!(f, " does not match {pattern}")
            }
            V::TooShort { name, part, min } => {
                subject(f, name, part)?;
                write!(f, " is shorter than {min} characters")
            }
            V::TooLong { name, part, max } => {
                subject(f, name, part)?;
                write!(f, " is longer than {max} characters")
            }
            V::NotInEnum { name, allowed } => {
                write!(f, "{META_PREFIX}{name} must be one of ")?;
                for (i, value) in allowed.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{value:?}")?;
                }
                Ok(())
            }
            V::NotConst { name, value } => write!(f, "{META_PREFIX}{name} must be {value:?}"),
            V::TooFew { min, got } => write!(
                f,
                "at least {min} x-amz-meta-* entries are required, the object has {got}"
            ),
            V::TooMany { max, got } => write!(
                f,
                "at most {max} x-amz-meta-* entries are allowed, the object has {got}"
            ),
        }
    }
}

/// Why a write is rejected: its metadata breaks a rule, or the rules cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The metadata breaks the rule that applies.
    Violation(Violation),
    /// The configuration has an error; every write it judges is rejected (fail closed).
    Config(ConfigError),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Violation(v) => v.fmt(f),
            Rejection::Config(e) => write!(f, "the bucket's metadata rules are invalid: {e}"),
        }
    }
}

impl From<ConfigError> for Rejection {
    fn from(e: ConfigError) -> Self {
        Rejection::Config(e)
    }
}

impl From<Violation> for Rejection {
    fn from(v: Violation) -> Self {
        Rejection::Violation(v)
    }
}

/// Parses `config` and compiles every pattern in it: what the host runs when the
/// configuration is attached, so a bad one is refused then rather than rejecting writes.
pub fn check_config(config: &str) -> Result<(), String> {
    let rules = Rules::parse(Some(config)).map_err(|e| e.to_string())?;
    for rule in &rules.rules {
        rule.compile().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The default module's `validate-metadata`: the rules of `req.config` applied to the
/// object `req` creates (its key, its `content-type` header) and its user metadata
/// `headers` (`x-amz-meta-*` names). The error is the message for the client.
pub fn validate_metadata(req: &Request, headers: &[Header]) -> Result<(), String> {
    let rules =
        Rules::parse(req.config.as_deref()).map_err(|e| Rejection::Config(e).to_string())?;
    let key = req.key.as_deref().unwrap_or("");
    rules
        .validate(key, req.header("content-type"), headers)
        .map_err(|r| r.to_string())
}

/// A parsed configuration: the rules, patterns not compiled yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses a configuration; `None` (no configuration), `null` and a document without
    /// `metadata` have no rules. Patterns are checked only by [`check_config`] and when
    /// their rule applies.
    pub fn parse(config: Option<&str>) -> Result<Rules, ConfigError> {
        let Some(config) = config else {
            return Ok(Rules::default());
        };
        let doc: Value =
            serde_json::from_str(config).map_err(|e| ConfigError::NotJson(e.to_string()))?;
        let top = match &doc {
            Value::Null => return Ok(Rules::default()),
            Value::Object(map) => map,
            _ => return Err(wrong_type("configuration", "an object")),
        };
        let mut rules = Vec::new();
        for (field, value) in top {
            match field.as_str() {
                "metadata" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| wrong_type("metadata", "an array of rules"))?;
                    for (i, rule) in list.iter().enumerate() {
                        rules.push(Rule::parse(&format!("metadata[{i}]"), rule)?);
                    }
                }
                other => return Err(unknown("configuration", other)),
            }
        }
        for (i, rule) in rules.iter().enumerate() {
            if rules[..i].iter().any(|r| r.prefix == rule.prefix) {
                return Err(ConfigError::Invalid {
                    at: format!("metadata[{i}].prefix"),
                    reason: format!("another rule has prefix {:?}", rule.prefix),
                });
            }
        }
        Ok(Rules { rules })
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Judges the object with key `key`, `Content-Type` `content_type` and user metadata
    /// `metadata` (`x-amz-meta-*` names; other names are taken as they are) by the rule
    /// with the longest prefix of `key`.
    pub fn validate(
        &self,
        key: &str,
        content_type: Option<&str>,
        metadata: &[Header],
    ) -> Result<(), Rejection> {
        let Some(rule) = self
            .rules
            .iter()
            .filter(|r| key.starts_with(r.prefix.as_str()))
            .max_by_key(|r| r.prefix.len())
        else {
            return Ok(());
        };
        let patterns = rule.compile()?;
        rule.validate(&patterns, content_type, metadata)?;
        Ok(())
    }
}

/// One entry of `metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// Where it is in the document, for errors found when compiling.
    at: String,
    prefix: String,
    schema: Option<ObjectSchema>,
    content_types: Option<Vec<MediaRange>>,
}

/// `schema`: constraints on the metadata as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ObjectSchema {
    required: Vec<String>,
    properties: BTreeMap<String, PropertySchema>,
    additional: PropertySchema,
    names: Option<StringSchema>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
}

/// A property schema: `true` (anything), `false` (never) or constraints on the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum PropertySchema {
    /// JSON Schema's default for `additionalProperties`.
    #[default]
    Any,
    Never,
    Value(StringSchema),
}

/// Constraints on a string: a value, or a name (`propertyNames`, which has no `enum` and
/// `const` here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StringSchema {
    pattern: Option<String>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    one_of: Option<Vec<String>>,
    constant: Option<String>,
}

/// An entry of `content_types`, lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MediaRange {
    Any,
    Type(String),
    Exact(String),
}

impl MediaRange {
    fn parse(at: &str, value: &Value) -> Result<MediaRange, ConfigError> {
        let raw = value
            .as_str()
            .ok_or_else(|| wrong_type(at, "a media type string"))?;
        let lower = raw.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        };
        let invalid = || ConfigError::Invalid {
            at: at.to_owned(),
            reason: format!(
                "{raw:?} is not a media type: write type/subtype, type/* or */*, without parameters"
            ),
        };
        let (kind, sub) = lower.split_once('/').ok_or_else(invalid)?;
        match (kind, sub) {
            ("*", "*") => Ok(MediaRange::Any),
            (kind, "*") if token(kind) && kind != "*" => Ok(MediaRange::Type(kind.to_owned())),
            (kind, sub) if token(kind) && token(sub) && kind != "*" && sub != "*" => {
                Ok(MediaRange::Exact(lower.clone()))
            }
            _ => Err(invalid()),
        }
    }

    fn matches(&self, media_type: &str) -> bool {
        match self {
            MediaRange::Any => true,
            MediaRange::Type(kind) => media_type
                .split_once('/')
                .is_some_and(|(k, _)| k == kind.as_str()),
            MediaRange::Exact(t) => t == media_type,
        }
    }
}

/// The media type of a `Content-Type` value: lower-case, without parameters;
/// `binary/octet-stream` when there is none.
fn media_type(content_type: Option<&str>) -> String {
    let essence = content_type
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if essence.is_empty() {
        DEFAULT_CONTENT_TYPE.to_owned()
    } else {
        essence.to_ascii_lowercase()
    }
}

impl Rule {
    fn parse(at: &str, value: &Value) -> Result<Rule, ConfigError> {
        let map = value
            .as_object()
            .ok_or_else(|| wrong_type(at, "a rule object"))?;
        let mut rule = Rule {
            at: at.to_owned(),
            prefix: String::new(),
            schema: None,
            content_types: None,
        };
        for (field, value) in map {
            let here = format!("{at}.{field}");
            match field.as_str() {
                "prefix" => {
                    rule.prefix = value
                        .as_str()
                        .ok_or_else(|| wrong_type(&here, "a string"))?
                        .to_owned();
                }
                "schema" => rule.schema = Some(ObjectSchema::parse(&here, value)?),
                "content_types" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| wrong_type(&here, "an array of media types"))?;
                    let ranges = list
                        .iter()
                        .enumerate()
                        .map(|(i, v)| MediaRange::parse(&format!("{here}[{i}]"), v))
                        .collect::<Result<Vec<_>, _>>()?;
                    rule.content_types = Some(ranges);
                }
                other => return Err(unknown(at, other)),
            }
        }
        Ok(rule)
    }

    /// Every pattern of the rule, compiled, by its source.
    fn compile(&self) -> Result<Patterns, ConfigError> {
        let mut patterns = Patterns::default();
        let Some(schema) = &self.schema else {
            return Ok(patterns);
        };
        let at = format!("{}.schema", self.at);
        let mut add = |at: String, s: &StringSchema| -> Result<(), ConfigError> {
            if let Some(p) = &s.pattern
                && !patterns.0.contains_key(p)
            {
                let vm = compile_pattern(p).map_err(|reason| ConfigError::InvalidPattern {
                    at,
                    pattern: p.clone(),
                    reason,
                })?;
                patterns.0.insert(p.clone(), vm);
            }
            Ok(())
        };
        for (name, property) in &schema.properties {
            if let PropertySchema::Value(s) = property {
                add(format!("{at}.properties.{name}.pattern"), s)?;
            }
        }
        if let PropertySchema::Value(s) = &schema.additional {
            add(format!("{at}.additionalProperties.pattern"), s)?;
        }
        if let Some(s) = &schema.names {
            add(format!("{at}.propertyNames.pattern"), s)?;
        }
        Ok(patterns)
    }

    fn validate(
        &self,
        patterns: &Patterns,
        content_type: Option<&str>,
        metadata: &[Header],
    ) -> Result<(), Violation> {
        if let Some(ranges) = &self.content_types {
            let media_type = media_type(content_type);
            if !ranges.iter().any(|r| r.matches(&media_type)) {
                return Err(Violation::ContentType(media_type));
            }
        }
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        // Lower-case short names, in name order (a BTreeMap: deterministic first failure).
        let entries: BTreeMap<String, &str> = metadata
            .iter()
            .map(|h| {
                let name = h.name.to_ascii_lowercase();
                let short = name
                    .strip_prefix(META_PREFIX)
                    .map_or_else(|| name.clone(), str::to_owned);
                (short, h.value.as_str())
            })
            .collect();
        if let Some(missing) = schema
            .required
            .iter()
            .find(|name| !entries.contains_key(name.as_str()))
        {
            return Err(Violation::Required(missing.clone()));
        }
        for (name, value) in &entries {
            if let Some(names) = &schema.names {
                names.check(patterns, name, Part::Name, name)?;
            }
            let property = schema.properties.get(name).unwrap_or(&schema.additional);
            match property {
                PropertySchema::Any => {}
                PropertySchema::Never => return Err(Violation::NotAllowed(name.clone())),
                PropertySchema::Value(s) => s.check(patterns, name, Part::Value, value)?,
            }
        }
        let got = entries.len();
        if let Some(min) = schema.min_properties
            && got < min
        {
            return Err(Violation::TooFew { min, got });
        }
        if let Some(max) = schema.max_properties
            && got > max
        {
            return Err(Violation::TooMany { max, got });
        }
        Ok(())
    }
}

impl ObjectSchema {
    fn parse(at: &str, value: &Value) -> Result<ObjectSchema, ConfigError> {
        let map = value
            .as_object()
            .ok_or_else(|| wrong_type(at, "a schema object"))?;
        let mut schema = ObjectSchema::default();
        for (keyword, value) in map {
            let here = format!("{at}.{keyword}");
            match keyword.as_str() {
                "required" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| wrong_type(&here, "an array of names"))?;
                    for (i, name) in list.iter().enumerate() {
                        let here = format!("{here}[{i}]");
                        let name = name.as_str().ok_or_else(|| wrong_type(&here, "a name"))?;
                        schema.required.push(metadata_name(&here, name)?);
                    }
                }
                "properties" => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| wrong_type(&here, "an object of property schemas"))?;
                    for (name, property) in map {
                        let here = format!("{here}.{name}");
                        let short = metadata_name(&here, name)?;
                        let parsed = PropertySchema::parse(&here, property)?;
                        if schema.properties.insert(short.clone(), parsed).is_some() {
                            return Err(ConfigError::Invalid {
                                at: here,
                                reason: format!(
                                    "names are compared lower-case: {short:?} appears twice"
                                ),
                            });
                        }
                    }
                }
                "additionalProperties" => schema.additional = PropertySchema::parse(&here, value)?,
                "propertyNames" => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| wrong_type(&here, "a schema object"))?;
                    schema.names = Some(StringSchema::parse(&here, map, false)?);
                }
                "minProperties" => schema.min_properties = Some(count(&here, value)?),
                "maxProperties" => schema.max_properties = Some(count(&here, value)?),
                "type" => expect_type(&here, value, "object")?,
                other => return Err(unknown(at, other)),
            }
        }
        ordered(
            at,
            "Properties",
            schema.min_properties,
            schema.max_properties,
        )?;
        Ok(schema)
    }
}

impl PropertySchema {
    fn parse(at: &str, value: &Value) -> Result<PropertySchema, ConfigError> {
        match value {
            Value::Bool(true) => Ok(PropertySchema::Any),
            Value::Bool(false) => Ok(PropertySchema::Never),
            Value::Object(map) => Ok(PropertySchema::Value(StringSchema::parse(at, map, true)?)),
            _ => Err(wrong_type(
                at,
                "a property schema (an object, true or false)",
            )),
        }
    }
}

impl StringSchema {
    /// `values`: whether `enum` and `const` are allowed (not for `propertyNames`).
    fn parse(
        at: &str,
        map: &Map<String, Value>,
        values: bool,
    ) -> Result<StringSchema, ConfigError> {
        let mut schema = StringSchema::default();
        for (keyword, value) in map {
            let here = format!("{at}.{keyword}");
            match keyword.as_str() {
                "pattern" => {
                    let pattern = value
                        .as_str()
                        .ok_or_else(|| wrong_type(&here, "a pattern string"))?;
                    schema.pattern = Some(pattern.to_owned());
                }
                "minLength" => schema.min_length = Some(count(&here, value)?),
                "maxLength" => schema.max_length = Some(count(&here, value)?),
                "enum" if values => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| wrong_type(&here, "an array of strings"))?;
                    if list.is_empty() {
                        return Err(ConfigError::Invalid {
                            at: here,
                            reason: "an empty enum allows no value".to_owned(),
                        });
                    }
                    let strings = list
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            v.as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| wrong_type(&format!("{here}[{i}]"), "a string"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    schema.one_of = Some(strings);
                }
                "const" if values => {
                    let value = value
                        .as_str()
                        .ok_or_else(|| wrong_type(&here, "a string"))?;
                    schema.constant = Some(value.to_owned());
                }
                "type" => expect_type(&here, value, "string")?,
                other => return Err(unknown(at, other)),
            }
        }
        ordered(at, "Length", schema.min_length, schema.max_length)?;
        Ok(schema)
    }

    /// Checks `text`, the `part` of entry `name`. (A name schema has no `enum` or
    /// `const`: parsing refuses them.)
    fn check(
        &self,
        patterns: &Patterns,
        name: &str,
        part: Part,
        text: &str,
    ) -> Result<(), Violation> {
        if let Some(allowed) = &self.one_of
            && !allowed.iter().any(|a| a == text)
        {
            return Err(Violation::NotInEnum {
                name: name.to_owned(),
                allowed: allowed.clone(),
            });
        }
        if let Some(constant) = &self.constant
            && constant != text
        {
            return Err(Violation::NotConst {
                name: name.to_owned(),
                value: constant.clone(),
            });
        }
        let length = text.chars().count();
        if let Some(min) = self.min_length
            && length < min
        {
            return Err(Violation::TooShort {
                name: name.to_owned(),
                part,
                min,
            });
        }
        if let Some(max) = self.max_length
            && length > max
        {
            return Err(Violation::TooLong {
                name: name.to_owned(),
                part,
                max,
            });
        }
        if let Some(pattern) = &self.pattern
            && !patterns.is_match(pattern, text)
        {
            return Err(Violation::Pattern {
                name: name.to_owned(),
                part,
                pattern: pattern.clone(),
            });
        }
        Ok(())
    }
}

/// The compiled patterns of one rule, by source.
#[derive(Debug, Default)]
struct Patterns(BTreeMap<String, PikeVM>);

impl Patterns {
    /// Whether `pattern` matches somewhere in `haystack`. A pattern missing from the map
    /// (which [`Rule::compile`] rules out) matches nothing: fail closed.
    fn is_match(&self, pattern: &str, haystack: &str) -> bool {
        self.0.get(pattern).is_some_and(|vm| {
            let mut cache = vm.create_cache();
            vm.is_match(&mut cache, haystack)
        })
    }
}

/// A metadata name from the configuration: lower-cased, and refused with the
/// `x-amz-meta-` prefix (rules name metadata without it, so with it the name would never
/// match anything).
fn metadata_name(at: &str, name: &str) -> Result<String, ConfigError> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with(META_PREFIX) {
        return Err(ConfigError::Invalid {
            at: at.to_owned(),
            reason: format!("write metadata names without the {META_PREFIX} prefix: {name:?}"),
        });
    }
    if lower.is_empty() {
        return Err(ConfigError::Invalid {
            at: at.to_owned(),
            reason: "a metadata name cannot be empty".to_owned(),
        });
    }
    Ok(lower)
}

/// A non-negative integer (`minLength`, `maxProperties`, ...).
fn count(at: &str, value: &Value) -> Result<usize, ConfigError> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| wrong_type(at, "a non-negative integer"))
}

/// Refuses `min{what}` above `max{what}`: JSON Schema would accept it, and reject
/// every write.
fn ordered(
    at: &str,
    what: &str,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), ConfigError> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => Err(ConfigError::Invalid {
            at: at.to_owned(),
            reason: format!("min{what} {min} is greater than max{what} {max}"),
        }),
        _ => Ok(()),
    }
}

/// `type`, which may only restate what the vocabulary already assumes.
fn expect_type(at: &str, value: &Value, only: &'static str) -> Result<(), ConfigError> {
    match value.as_str() {
        Some(t) if t == only => Ok(()),
        _ => Err(ConfigError::Invalid {
            at: at.to_owned(),
            reason: format!("only \"{only}\" is possible here"),
        }),
    }
}

fn wrong_type(at: &str, expected: &'static str) -> ConfigError {
    ConfigError::WrongType {
        at: at.to_owned(),
        expected,
    }
}

fn unknown(at: &str, field: &str) -> ConfigError {
    ConfigError::UnknownField {
        at: at.to_owned(),
        field: field.to_owned(),
    }
}

/// Compiles `pattern` for unanchored matching (JSON Schema's `pattern`).
///
/// The pattern is parsed, checked and rewritten before it is compiled, so that it means
/// the same with or without the regex crates' Unicode tables (which a native build may
/// have, through other crates, and the default module does not): `\d`, `\w`, `\s` become
/// their ASCII classes and word boundaries ASCII word boundaries; `\p{..}` and `(?i)`,
/// which need the tables, are refused.
fn compile_pattern(pattern: &str) -> Result<PikeVM, String> {
    let parse = |p: &str| {
        ast::parse::ParserBuilder::new()
            .nest_limit(MAX_PATTERN_NESTING)
            .build()
            .parse(p)
            .map_err(|e| e.kind().to_string())
    };
    let parsed = parse(pattern)?;
    let rewrite = AsciiRewrite {
        pattern,
        edits: Vec::new(),
    };
    let edits = ast::visit(&parsed, rewrite)?;
    let rewritten = apply(pattern, edits);
    let hir = regex_syntax::hir::translate::TranslatorBuilder::new()
        .build()
        .translate(&rewritten, &parse(&rewritten)?)
        .map_err(|e| e.kind().to_string())?;
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(MAX_PATTERN_BYTES))
                .which_captures(WhichCaptures::Implicit),
        )
        .build_from_hir(&hir)
        .map_err(|e| match e.size_limit() {
            Some(limit) => format!("the compiled pattern would exceed {limit} bytes"),
            None => e.to_string(),
        })?;
    PikeVM::new_from_nfa(nfa).map_err(|e| e.to_string())
}

/// A replacement of `pattern[start..end]`.
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

/// `pattern` with `edits` (disjoint: they replace leaves of the syntax tree) applied.
fn apply(pattern: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(pattern.len() + 16 * edits.len());
    let mut done = 0;
    for edit in edits {
        if let Some(kept) = pattern.get(done..edit.start) {
            out.push_str(kept);
        }
        out.push_str(&edit.with);
        done = edit.end;
    }
    if let Some(rest) = pattern.get(done..) {
        out.push_str(rest);
    }
    out
}

/// Finds what [`compile_pattern`] rewrites or refuses in `pattern` (a syntax tree
/// visitor: it walks the tree with a heap stack, not by recursion).
struct AsciiRewrite<'p> {
    pattern: &'p str,
    edits: Vec<Edit>,
}

impl AsciiRewrite<'_> {
    fn edit(&mut self, span: &ast::Span, with: String) {
        self.edits.push(Edit {
            start: span.start.offset,
            end: span.end.offset,
            with,
        });
    }

    fn check_flags(flags: &ast::Flags) -> Result<(), String> {
        let insensitive = flags
            .items
            .iter()
            .any(|i| i.kind == ast::FlagsItemKind::Flag(ast::Flag::CaseInsensitive));
        if insensitive {
            return Err(
                "case-insensitive matching ((?i)) is not supported: list both cases, as in [Aa]"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

fn ascii_class(kind: &ClassPerlKind, negated: bool) -> String {
    let name = match kind {
        ClassPerlKind::Digit => "digit",
        ClassPerlKind::Space => "space",
        ClassPerlKind::Word => "word",
    };
    let not = if negated { "^" } else { "" };
    format!("[:{not}{name}:]")
}

const NO_UNICODE_CLASSES: &str =
    "Unicode classes (\\p{..}, \\P{..}) are not supported: write the characters or ranges";

impl ast::Visitor for AsciiRewrite<'_> {
    type Output = Vec<Edit>;
    type Err = String;

    fn finish(self) -> Result<Vec<Edit>, String> {
        Ok(self.edits)
    }

    fn visit_pre(&mut self, node: &Ast) -> Result<(), String> {
        match node {
            Ast::ClassPerl(class) => {
                let with = format!("[{}]", ascii_class(&class.kind, class.negated));
                self.edit(&class.span, with);
            }
            Ast::ClassUnicode(_) => return Err(NO_UNICODE_CLASSES.to_owned()),
            Ast::Assertion(assertion) => {
                use ast::AssertionKind as A;
                let word = !matches!(
                    assertion.kind,
                    A::StartLine | A::EndLine | A::StartText | A::EndText
                );
                if word {
                    let span = &assertion.span;
                    let original = self
                        .pattern
                        .get(span.start.offset..span.end.offset)
                        .unwrap_or_default();
                    self.edit(span, format!("(?-u:{original})"));
                }
            }
            Ast::Flags(set) => Self::check_flags(&set.flags)?,
            Ast::Group(group) => {
                if let ast::GroupKind::NonCapturing(flags) = &group.kind {
                    Self::check_flags(flags)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Perl(class) => {
                self.edit(&class.span, ascii_class(&class.kind, class.negated));
            }
            ClassSetItem::Unicode(_) => return Err(NO_UNICODE_CLASSES.to_owned()),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
