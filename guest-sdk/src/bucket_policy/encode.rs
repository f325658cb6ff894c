//! The binary form of a parsed policy ([`Policy::encode`]): what the host
//! stores and hands to a module on every decision, so the module neither
//! parses JSON nor re-validates the policy. A module reads it in place
//! ([`PolicyView`](super::PolicyView)) or builds the [`Policy`] back
//! ([`decode`](super::decode)).
//!
//! # Format (version [`FORMAT_VERSION`])
//!
//! ```text
//! policy    = FORMAT_VERSION:u8  m:uvar strings:m bytes (UTF-8)
//!             flags:u8  [id:str]  list(statement)
//!             flags: 1 = Version 2012-10-17, 2 = has Id
//! statement = len:uvar, then in those len bytes:
//!             flags:u8
//!             list(str)        principal ids
//!             list(str)        action patterns
//!             list(text)       resource patterns
//!             list(condition)
//!             [sid:str]
//!             flags: 1 = Deny, 2 = has Sid, 4 = NotPrincipal,
//!                    8 = principal "*", 16 = NotAction, 32 = NotResource
//! condition = operator:u8 (Operator's code)  flags:u8  key:str  kind:u8  values
//!             flags: 1 = IfExists, 2 = ForAnyValue:, 4 = ForAllValues:
//!             kind 0: list(text)   strings (String*, Arn*, BinaryEquals)
//!             kind 1: list(f64)    numbers, 8 bytes little-endian
//!             kind 2: list(ivar)   dates, seconds since the epoch
//!             kind 3: list(u8)     booleans, 0 or 1 (Bool, Null)
//!             kind 4: list(cidr)   ranges
//! cidr      = 4 prefix:u8 address:4 bytes | 6 prefix:u8 address:16 bytes
//! text      = 0 str | 1 list(segment)          plain | with policy variables
//! segment   = 0 str                            literal
//!           | 1 char:u8                        escape: '*', '?' or '$'
//!           | 2 key:str 0 | 2 key:str 1 default:str   variable
//! list(T)   = n:uvar  len:uvar  T*n (len bytes)
//! str       = offset:uvar  len:uvar            a slice of `strings`
//! uvar      = unsigned LEB128, at most 10 bytes; ivar = zigzag, then uvar
//! ```
//!
//! Every string is a slice of one table, so reading checks UTF-8 once for
//! all of them, and a string repeated across statements (a key, an action,
//! an account) is stored once. Every statement and list gives its length in
//! bytes, and a statement's parts come in the order evaluation tests them,
//! so evaluation skips what it does not need (the rest of a statement whose
//! principal does not match) without reading it. Nothing follows the
//! statements.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::condition::Qualifier;
use super::{Condition, ConditionValues, Effect, Policy, Segment, Statement, Text, Version};

/// The format's version, the first byte of every encoding. A change to the
/// layout gets a new one, and readers refuse versions they do not read.
pub const FORMAT_VERSION: u8 = 1;

pub(crate) const POLICY_V2012: u8 = 1;
pub(crate) const POLICY_HAS_ID: u8 = 2;

pub(crate) const STATEMENT_DENY: u8 = 1;
pub(crate) const STATEMENT_HAS_SID: u8 = 2;
pub(crate) const STATEMENT_NOT_PRINCIPAL: u8 = 4;
pub(crate) const STATEMENT_EVERYONE: u8 = 8;
pub(crate) const STATEMENT_NOT_ACTION: u8 = 16;
pub(crate) const STATEMENT_NOT_RESOURCE: u8 = 32;

pub(crate) const CONDITION_IF_EXISTS: u8 = 1;
pub(crate) const CONDITION_FOR_ANY_VALUE: u8 = 2;
pub(crate) const CONDITION_FOR_ALL_VALUES: u8 = 4;

pub(crate) const VALUES_STRINGS: u8 = 0;
pub(crate) const VALUES_NUMBERS: u8 = 1;
pub(crate) const VALUES_DATES: u8 = 2;
pub(crate) const VALUES_BOOLS: u8 = 3;
pub(crate) const VALUES_CIDRS: u8 = 4;

pub(crate) const TEXT_PLAIN: u8 = 0;
pub(crate) const TEXT_TEMPLATE: u8 = 1;

pub(crate) const SEGMENT_LITERAL: u8 = 0;
pub(crate) const SEGMENT_ESCAPED: u8 = 1;
pub(crate) const SEGMENT_VARIABLE: u8 = 2;

impl Policy<'_> {
    /// The policy's binary form (see the module documentation), which
    /// [`decode`](super::decode) reads back equal.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer {
            out: Vec::with_capacity(256),
            strings: String::new(),
            offsets: BTreeMap::new(),
        };
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
        w.list(&self.statements, Writer::statement);

        let mut out = Vec::with_capacity(w.strings.len() + w.out.len() + 8);
        out.push(FORMAT_VERSION);
        uvar(&mut out, w.strings.len() as u64);
        out.extend_from_slice(w.strings.as_bytes());
        out.extend_from_slice(&w.out);
        out
    }
}

fn uvar(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Builds the structure (`out`) and the string table it refers to.
struct Writer<'p> {
    out: Vec<u8>,
    strings: String,
    /// Where each string already in the table starts.
    offsets: BTreeMap<&'p str, usize>,
}

impl<'p> Writer<'p> {
    fn u8(&mut self, b: u8) {
        self.out.push(b);
    }

    fn str(&mut self, s: &'p str) {
        let offset = match self.offsets.get(s) {
            Some(offset) => *offset,
            None => {
                let offset = self.strings.len();
                self.strings.push_str(s);
                self.offsets.insert(s, offset);
                offset
            }
        };
        uvar(&mut self.out, offset as u64);
        uvar(&mut self.out, s.len() as u64);
    }

    /// `list(T)`: the count, the items' length in bytes, the items.
    fn list<T>(&mut self, items: &'p [T], mut item: impl FnMut(&mut Self, &'p T)) {
        let start = self.out.len();
        for each in items {
            item(self, each);
        }
        let body = self.out.split_off(start);
        uvar(&mut self.out, items.len() as u64);
        uvar(&mut self.out, body.len() as u64);
        self.out.extend_from_slice(&body);
    }

    fn statement(&mut self, s: &'p Statement<'_>) {
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
        let start = self.out.len();
        self.u8(flags);
        self.list(&s.principal.accounts, |w, id| w.str(id));
        self.list(&s.action.patterns, |w, pattern| w.str(pattern));
        self.list(&s.resource.patterns, Writer::text);
        self.list(&s.conditions, Writer::condition);
        if let Some(sid) = &s.sid {
            self.str(sid);
        }
        let body = self.out.split_off(start);
        uvar(&mut self.out, body.len() as u64);
        self.out.extend_from_slice(&body);
    }

    fn condition(&mut self, c: &'p Condition<'_>) {
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
                self.list(texts, Writer::text);
            }
            ConditionValues::Numbers(numbers) => {
                self.u8(VALUES_NUMBERS);
                self.list(numbers, |w, n| w.out.extend_from_slice(&n.to_le_bytes()));
            }
            ConditionValues::Dates(dates) => {
                self.u8(VALUES_DATES);
                self.list(dates, |w, d| {
                    uvar(&mut w.out, ((d << 1) ^ (d >> 63)) as u64)
                });
            }
            ConditionValues::Bools(bools) => {
                self.u8(VALUES_BOOLS);
                self.list(bools, |w, b| w.u8(u8::from(*b)));
            }
            ConditionValues::Cidrs(cidrs) => {
                self.u8(VALUES_CIDRS);
                self.list(cidrs, |w, cidr| match cidr.network {
                    IpAddr::V4(v4) => {
                        w.u8(4);
                        w.u8(cidr.prefix);
                        w.out.extend_from_slice(&v4.octets());
                    }
                    IpAddr::V6(v6) => {
                        w.u8(6);
                        w.u8(cidr.prefix);
                        w.out.extend_from_slice(&v6.octets());
                    }
                });
            }
        }
    }

    fn text(&mut self, t: &'p Text<'_>) {
        match t {
            Text::Plain(s) => {
                self.u8(TEXT_PLAIN);
                self.str(s);
            }
            Text::Template(segments) => {
                self.u8(TEXT_TEMPLATE);
                self.list(segments, Writer::segment);
            }
        }
    }

    fn segment(&mut self, segment: &'p Segment<'_>) {
        match segment {
            Segment::Literal(s) => {
                self.u8(SEGMENT_LITERAL);
                self.str(s);
            }
            Segment::Escaped(c) => {
                self.u8(SEGMENT_ESCAPED);
                // Only ASCII escapes exist; readers refuse anything else.
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
