//! The binary form of a parsed policy: what the host stores and hands to a
//! module on every decision, so the module neither parses JSON nor
//! re-validates the policy. [`decode`] borrows every string from the bytes
//! and allocates only the lists (each sized once from its count).
//!
//! # Format (version [`FORMAT_VERSION`])
//!
//! ```text
//! policy    = FORMAT_VERSION:u8  flags:u8  [id:str]  n:uvar  statement*n
//!             flags: 1 = Version 2012-10-17, 2 = has Id
//! statement = flags:u8  [sid:str]
//!             n:uvar account:str*n    (principal ids)
//!             n:uvar action:str*n     (action patterns)
//!             n:uvar resource:text*n  (resource patterns)
//!             n:uvar condition*n
//!             flags: 1 = Deny, 2 = has Sid, 4 = NotPrincipal,
//!                    8 = principal "*", 16 = NotAction, 32 = NotResource
//! condition = operator:u8 (Operator's code)  flags:u8  key:str  values
//!             flags: 1 = IfExists, 2 = ForAnyValue:, 4 = ForAllValues:
//! values    = 0 n:uvar text*n                       strings
//!           | 1 n:uvar f64*n (8 bytes, little-endian) numbers
//!           | 2 n:uvar ivar*n (epoch seconds)         dates
//!           | 3 n:uvar u8*n (0 or 1)                  booleans
//!           | 4 n:uvar cidr*n                         ranges
//! cidr      = 4 prefix:u8 address:4 bytes | 6 prefix:u8 address:16 bytes
//! text      = 0 str                                 plain
//!           | 1 n:uvar segment*n                    with variables
//! segment   = 0 str | 1 char:u8 ('*', '?' or '$') | 2 key:str 0 | 2 key:str 1 default:str
//! str       = len:uvar UTF-8 bytes
//! uvar      = unsigned LEB128 (at most 10 bytes); ivar = zigzag, then uvar
//! ```
//!
//! Nothing follows the last statement. Decoding checks everything
//! evaluation relies on (UTF-8, operator codes, each operator's kind of
//! values, prefix lengths, finite numbers) and reports anything else as a
//! [`DecodeError`]; it never panics, whatever the bytes.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::condition::{Operator, Qualifier, ValueKind};
use super::error::DecodeError;
use super::{
    ActionSet, Cidr, Condition, ConditionValues, Effect, Policy, PrincipalSet, ResourceSet,
    Segment, Statement, Text, Version,
};

/// The format's version, the first byte of every encoding. A change to the
/// layout gets a new one, and [`decode`] refuses versions it does not read.
pub const FORMAT_VERSION: u8 = 1;

const POLICY_V2012: u8 = 1;
const POLICY_HAS_ID: u8 = 2;

const STATEMENT_DENY: u8 = 1;
const STATEMENT_HAS_SID: u8 = 2;
const STATEMENT_NOT_PRINCIPAL: u8 = 4;
const STATEMENT_EVERYONE: u8 = 8;
const STATEMENT_NOT_ACTION: u8 = 16;
const STATEMENT_NOT_RESOURCE: u8 = 32;

const CONDITION_IF_EXISTS: u8 = 1;
const CONDITION_FOR_ANY_VALUE: u8 = 2;
const CONDITION_FOR_ALL_VALUES: u8 = 4;

const VALUES_STRINGS: u8 = 0;
const VALUES_NUMBERS: u8 = 1;
const VALUES_DATES: u8 = 2;
const VALUES_BOOLS: u8 = 3;
const VALUES_CIDRS: u8 = 4;

const TEXT_PLAIN: u8 = 0;
const TEXT_TEMPLATE: u8 = 1;

const SEGMENT_LITERAL: u8 = 0;
const SEGMENT_ESCAPED: u8 = 1;
const SEGMENT_VARIABLE: u8 = 2;

impl Policy<'_> {
    /// The policy's binary form (see the module documentation), which
    /// [`decode`] reads back equal.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256));
        w.u8(FORMAT_VERSION);
        let mut flags = 0;
        if self.version == Version::V2012_10_17 {
            flags |= POLICY_V2012;
        }
        if self.id.is_some() {
            flags |= POLICY_HAS_ID;
        }
        w.u8(flags);
        if let Some(id) = &self.id {
            w.str(id);
        }
        w.uvar(self.statements.len() as u64);
        for statement in &self.statements {
            w.statement(statement);
        }
        w.0
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    fn uvar(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn str(&mut self, s: &str) {
        self.uvar(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn statement(&mut self, s: &Statement<'_>) {
        let mut flags = 0;
        if s.effect == Effect::Deny {
            flags |= STATEMENT_DENY;
        }
        if s.sid.is_some() {
            flags |= STATEMENT_HAS_SID;
        }
        if s.principal.negated {
            flags |= STATEMENT_NOT_PRINCIPAL;
        }
        if s.principal.everyone {
            flags |= STATEMENT_EVERYONE;
        }
        if s.action.negated {
            flags |= STATEMENT_NOT_ACTION;
        }
        if s.resource.negated {
            flags |= STATEMENT_NOT_RESOURCE;
        }
        self.u8(flags);
        if let Some(sid) = &s.sid {
            self.str(sid);
        }
        self.uvar(s.principal.accounts.len() as u64);
        for account in &s.principal.accounts {
            self.str(account);
        }
        self.uvar(s.action.patterns.len() as u64);
        for pattern in &s.action.patterns {
            self.str(pattern);
        }
        self.uvar(s.resource.patterns.len() as u64);
        for pattern in &s.resource.patterns {
            self.text(pattern);
        }
        self.uvar(s.conditions.len() as u64);
        for condition in &s.conditions {
            self.condition(condition);
        }
    }

    fn condition(&mut self, c: &Condition<'_>) {
        self.u8(c.operator as u8);
        let mut flags = 0;
        if c.if_exists {
            flags |= CONDITION_IF_EXISTS;
        }
        flags |= match c.qualifier {
            None => 0,
            Some(Qualifier::ForAnyValue) => CONDITION_FOR_ANY_VALUE,
            Some(Qualifier::ForAllValues) => CONDITION_FOR_ALL_VALUES,
        };
        self.u8(flags);
        self.str(&c.key);
        match &c.values {
            ConditionValues::Strings(texts) => {
                self.u8(VALUES_STRINGS);
                self.uvar(texts.len() as u64);
                for text in texts {
                    self.text(text);
                }
            }
            ConditionValues::Numbers(numbers) => {
                self.u8(VALUES_NUMBERS);
                self.uvar(numbers.len() as u64);
                for n in numbers {
                    self.0.extend_from_slice(&n.to_le_bytes());
                }
            }
            ConditionValues::Dates(dates) => {
                self.u8(VALUES_DATES);
                self.uvar(dates.len() as u64);
                for d in dates {
                    self.uvar(((d << 1) ^ (d >> 63)) as u64);
                }
            }
            ConditionValues::Bools(bools) => {
                self.u8(VALUES_BOOLS);
                self.uvar(bools.len() as u64);
                for b in bools {
                    self.u8(u8::from(*b));
                }
            }
            ConditionValues::Cidrs(cidrs) => {
                self.u8(VALUES_CIDRS);
                self.uvar(cidrs.len() as u64);
                for cidr in cidrs {
                    match cidr.network {
                        IpAddr::V4(v4) => {
                            self.u8(4);
                            self.u8(cidr.prefix);
                            self.0.extend_from_slice(&v4.octets());
                        }
                        IpAddr::V6(v6) => {
                            self.u8(6);
                            self.u8(cidr.prefix);
                            self.0.extend_from_slice(&v6.octets());
                        }
                    }
                }
            }
        }
    }

    fn text(&mut self, t: &Text<'_>) {
        match t {
            Text::Plain(s) => {
                self.u8(TEXT_PLAIN);
                self.str(s);
            }
            Text::Template(segments) => {
                self.u8(TEXT_TEMPLATE);
                self.uvar(segments.len() as u64);
                for segment in segments {
                    match segment {
                        Segment::Literal(s) => {
                            self.u8(SEGMENT_LITERAL);
                            self.str(s);
                        }
                        Segment::Escaped(c) => {
                            self.u8(SEGMENT_ESCAPED);
                            // Only ASCII escapes exist; anything else is
                            // refused by `decode`.
                            self.u8(u8::try_from(u32::from(*c)).unwrap_or(0));
                        }
                        Segment::Variable { key, default } => {
                            self.u8(SEGMENT_VARIABLE);
                            self.str(key);
                            match default {
                                None => self.u8(0),
                                Some(default) => {
                                    self.u8(1);
                                    self.str(default);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Reads a policy's binary form, borrowing its strings from `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Policy<'_>, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.u8()? != FORMAT_VERSION {
        return Err(r.error_at(0, "unknown format version"));
    }
    let flags = r.u8()?;
    if flags & !(POLICY_V2012 | POLICY_HAS_ID) != 0 {
        return Err(r.error("unknown policy flags"));
    }
    let version = if flags & POLICY_V2012 != 0 {
        Version::V2012_10_17
    } else {
        Version::V2008_10_17
    };
    let id = if flags & POLICY_HAS_ID != 0 {
        Some(Cow::Borrowed(r.str()?))
    } else {
        None
    };
    let n = r.count()?;
    let mut statements = Vec::with_capacity(n);
    for _ in 0..n {
        statements.push(r.statement()?);
    }
    if r.pos != bytes.len() {
        return Err(r.error("bytes after the last statement"));
    }
    Ok(Policy {
        version,
        id,
        statements,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, reason: &'static str) -> DecodeError {
        self.error_at(self.pos, reason)
    }

    fn error_at(&self, offset: usize, reason: &'static str) -> DecodeError {
        DecodeError { offset, reason }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.error("length overflows"))?;
        let taken = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.error("truncated"))?;
        self.pos = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvar(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.error_at(start, "varint overflows 64 bits"));
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.error_at(start, "varint longer than 10 bytes"))
    }

    fn ivar(&mut self) -> Result<i64, DecodeError> {
        let z = self.uvar()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A length or count: it cannot exceed the bytes left, each item taking
    /// at least one, which also bounds what `Vec::with_capacity` reserves.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.uvar()?;
        let left = self.bytes.len().saturating_sub(self.pos);
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= left)
            .ok_or_else(|| self.error_at(start, "count exceeds the input"))
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.count()?;
        let start = self.pos;
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| self.error_at(start, "string is not UTF-8"))
    }

    fn strs(&mut self) -> Result<Vec<Cow<'a, str>>, DecodeError> {
        let n = self.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(Cow::Borrowed(self.str()?));
        }
        Ok(out)
    }

    fn statement(&mut self) -> Result<Statement<'a>, DecodeError> {
        let flags = self.u8()?;
        if flags >= 64 {
            return Err(self.error("unknown statement flags"));
        }
        let sid = if flags & STATEMENT_HAS_SID != 0 {
            Some(Cow::Borrowed(self.str()?))
        } else {
            None
        };
        let principal = PrincipalSet {
            negated: flags & STATEMENT_NOT_PRINCIPAL != 0,
            everyone: flags & STATEMENT_EVERYONE != 0,
            accounts: self.strs()?,
        };
        let action = ActionSet {
            negated: flags & STATEMENT_NOT_ACTION != 0,
            patterns: self.strs()?,
        };
        let n = self.count()?;
        let mut patterns = Vec::with_capacity(n);
        for _ in 0..n {
            patterns.push(self.text()?);
        }
        let resource = ResourceSet {
            negated: flags & STATEMENT_NOT_RESOURCE != 0,
            patterns,
        };
        let n = self.count()?;
        let mut conditions = Vec::with_capacity(n);
        for _ in 0..n {
            conditions.push(self.condition()?);
        }
        Ok(Statement {
            sid,
            effect: if flags & STATEMENT_DENY != 0 {
                Effect::Deny
            } else {
                Effect::Allow
            },
            principal,
            action,
            resource,
            conditions,
        })
    }

    fn condition(&mut self) -> Result<Condition<'a>, DecodeError> {
        let at = self.pos;
        let operator =
            Operator::from_code(self.u8()?).ok_or_else(|| self.error_at(at, "unknown operator"))?;
        let flags = self.u8()?;
        let qualifier = match flags & !CONDITION_IF_EXISTS {
            0 => None,
            CONDITION_FOR_ANY_VALUE => Some(Qualifier::ForAnyValue),
            CONDITION_FOR_ALL_VALUES => Some(Qualifier::ForAllValues),
            _ => return Err(self.error("unknown condition flags")),
        };
        let key = Cow::Borrowed(self.str()?);
        let at = self.pos;
        let tag = self.u8()?;
        let expected = match operator.kind() {
            ValueKind::String | ValueKind::Arn | ValueKind::Binary => VALUES_STRINGS,
            ValueKind::Number => VALUES_NUMBERS,
            ValueKind::Date => VALUES_DATES,
            ValueKind::Bool | ValueKind::Null => VALUES_BOOLS,
            ValueKind::Ip => VALUES_CIDRS,
        };
        if tag != expected {
            return Err(self.error_at(at, "values do not suit the operator"));
        }
        let n = self.count()?;
        let values = match tag {
            VALUES_STRINGS => {
                let mut texts = Vec::with_capacity(n);
                for _ in 0..n {
                    texts.push(self.text()?);
                }
                ConditionValues::Strings(texts)
            }
            VALUES_NUMBERS => {
                let mut numbers = Vec::with_capacity(n);
                for _ in 0..n {
                    let at = self.pos;
                    let bytes: [u8; 8] = self
                        .take(8)?
                        .try_into()
                        .map_err(|_| self.error_at(at, "truncated"))?;
                    let number = f64::from_le_bytes(bytes);
                    if !number.is_finite() {
                        return Err(self.error_at(at, "number is not finite"));
                    }
                    numbers.push(number);
                }
                ConditionValues::Numbers(numbers)
            }
            VALUES_DATES => {
                let mut dates = Vec::with_capacity(n);
                for _ in 0..n {
                    dates.push(self.ivar()?);
                }
                ConditionValues::Dates(dates)
            }
            VALUES_BOOLS => {
                let mut bools = Vec::with_capacity(n);
                for _ in 0..n {
                    bools.push(match self.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(self.error("boolean is neither 0 nor 1")),
                    });
                }
                ConditionValues::Bools(bools)
            }
            _ => {
                let mut cidrs = Vec::with_capacity(n);
                for _ in 0..n {
                    cidrs.push(self.cidr()?);
                }
                ConditionValues::Cidrs(cidrs)
            }
        };
        Ok(Condition {
            operator,
            qualifier,
            if_exists: flags & CONDITION_IF_EXISTS != 0,
            key,
            values,
        })
    }

    fn cidr(&mut self) -> Result<Cidr, DecodeError> {
        let at = self.pos;
        let family = self.u8()?;
        let prefix = self.u8()?;
        let network = match family {
            4 if prefix <= 32 => {
                let octets: [u8; 4] = self
                    .take(4)?
                    .try_into()
                    .map_err(|_| self.error_at(at, "truncated"))?;
                IpAddr::V4(Ipv4Addr::from(octets))
            }
            6 if prefix <= 128 => {
                let octets: [u8; 16] = self
                    .take(16)?
                    .try_into()
                    .map_err(|_| self.error_at(at, "truncated"))?;
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            _ => return Err(self.error_at(at, "bad address family or prefix")),
        };
        Ok(Cidr { network, prefix })
    }

    fn text(&mut self) -> Result<Text<'a>, DecodeError> {
        match self.u8()? {
            TEXT_PLAIN => Ok(Text::Plain(Cow::Borrowed(self.str()?))),
            TEXT_TEMPLATE => {
                let n = self.count()?;
                let mut segments = Vec::with_capacity(n);
                for _ in 0..n {
                    segments.push(self.segment()?);
                }
                Ok(Text::Template(segments))
            }
            _ => Err(self.error("unknown text kind")),
        }
    }

    fn segment(&mut self) -> Result<Segment<'a>, DecodeError> {
        match self.u8()? {
            SEGMENT_LITERAL => Ok(Segment::Literal(Cow::Borrowed(self.str()?))),
            SEGMENT_ESCAPED => match self.u8()? {
                c @ (b'*' | b'?' | b'$') => Ok(Segment::Escaped(char::from(c))),
                _ => Err(self.error("unknown escape")),
            },
            SEGMENT_VARIABLE => {
                let key = Cow::Borrowed(self.str()?);
                let default = match self.u8()? {
                    0 => None,
                    1 => Some(Cow::Borrowed(self.str()?)),
                    _ => return Err(self.error("bad default flag")),
                };
                Ok(Segment::Variable { key, default })
            }
            _ => Err(self.error("unknown segment kind")),
        }
    }
}
