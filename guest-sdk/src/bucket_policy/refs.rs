//! Borrowed views of a policy's parts: the one shape evaluation reads, taken
//! either from a [`Policy`](super::Policy) in memory (its slices) or
//! straight from the binary form (each item read when reached), so a module
//! can evaluate an encoded policy without building it.
//!
//! A [`Seq`] is a list of either origin; iterating it yields each item's
//! borrowed form ([`Item::Ref`]), or the [`DecodeError`] met reading it:
//! an encoded policy is checked as far as evaluation reads it, and a damaged
//! part fails the evaluation instead of being skipped. Reading an item does
//! not read the lists inside it (a statement's conditions stay unread until
//! its principal, action and resource match); [`Item::check`] reads
//! everything, for a full check.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::condition::{Operator, Qualifier, ValueKind};
use super::encode::{
    CONDITION_FOR_ALL_VALUES, CONDITION_FOR_ANY_VALUE, CONDITION_IF_EXISTS, SEGMENT_ESCAPED,
    SEGMENT_LITERAL, SEGMENT_VARIABLE, STATEMENT_DENY, STATEMENT_EVERYONE, STATEMENT_HAS_SID,
    STATEMENT_NOT_ACTION, STATEMENT_NOT_PRINCIPAL, STATEMENT_NOT_RESOURCE, TEXT_PLAIN,
    TEXT_TEMPLATE, VALUES_BOOLS, VALUES_CIDRS, VALUES_DATES, VALUES_NUMBERS, VALUES_STRINGS,
};
use super::error::DecodeError;
use super::reader::Reader;
use super::{
    ActionSet, Cidr, Condition, ConditionValues, Effect, PrincipalSet, ResourceSet, Segment,
    Statement, Text,
};

/// Something a [`Seq`] can hold: how to borrow it from memory, read it from
/// the binary form, and check its encoding completely.
pub(crate) trait Item<'x>: Sized + 'x {
    /// The borrowed form evaluation reads.
    type Ref: Copy;

    /// The borrowed form of an item in memory.
    fn borrow(&'x self) -> Self::Ref;

    /// Reads an encoded item, leaving any lists inside it unread.
    fn read(r: &mut Reader<'x>) -> Result<Self::Ref, DecodeError>;

    /// Reads an encoded item and checks everything in it, lists included.
    #[inline]
    fn check(r: &mut Reader<'x>) -> Result<(), DecodeError> {
        Self::read(r).map(drop)
    }
}

/// A list of items, in memory or encoded.
pub(crate) enum Seq<'x, T> {
    Slice(&'x [T]),
    Encoded { len: usize, items: Reader<'x> },
}

impl<T> Clone for Seq<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Seq<'_, T> {}

impl<'x, T: Item<'x>> Seq<'x, T> {
    /// Reads an encoded list's header; the items are read when iterated.
    #[inline]
    pub(crate) fn read(r: &mut Reader<'x>) -> Result<Self, DecodeError> {
        let (len, items) = r.list()?;
        Ok(Seq::Encoded { len, items })
    }

    /// Checks an encoded list and every item in it, which must fill it
    /// exactly.
    pub(crate) fn check(r: &mut Reader<'x>) -> Result<(), DecodeError> {
        let (len, mut items) = r.list()?;
        for _ in 0..len {
            T::check(&mut items)?;
        }
        if items.at_end() {
            Ok(())
        } else {
            Err(items.error("list longer than its items"))
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Seq::Slice(items) => items.len(),
            Seq::Encoded { len, .. } => *len,
        }
    }

    #[inline]
    pub(crate) fn iter(&self) -> SeqIter<'x, T> {
        match *self {
            Seq::Slice(items) => SeqIter::Slice(items.iter()),
            Seq::Encoded { len, items } => SeqIter::Encoded { left: len, items },
        }
    }

    /// Whether `test` holds for some item (stopping at the first).
    #[inline]
    pub(crate) fn any(
        &self,
        mut test: impl FnMut(T::Ref) -> Result<bool, DecodeError>,
    ) -> Result<bool, DecodeError> {
        for item in self.iter() {
            if test(item?)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `test` holds for every item (stopping at the first that
    /// fails).
    #[inline]
    pub(crate) fn all(
        &self,
        mut test: impl FnMut(T::Ref) -> Result<bool, DecodeError>,
    ) -> Result<bool, DecodeError> {
        for item in self.iter() {
            if !test(item?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The items in memory (what decoding builds).
    pub(crate) fn to_vec<U>(
        self,
        own: impl Fn(T::Ref) -> Result<U, DecodeError>,
    ) -> Result<Vec<U>, DecodeError> {
        let mut out = Vec::with_capacity(self.len());
        for item in self.iter() {
            out.push(own(item?)?);
        }
        Ok(out)
    }
}

pub(crate) enum SeqIter<'x, T> {
    Slice(core::slice::Iter<'x, T>),
    Encoded { left: usize, items: Reader<'x> },
}

impl<'x, T: Item<'x>> Iterator for SeqIter<'x, T> {
    type Item = Result<T::Ref, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            SeqIter::Slice(items) => items.next().map(|item| Ok(T::borrow(item))),
            SeqIter::Encoded { left, items } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let item = T::read(items);
                if item.is_err() {
                    *left = 0;
                }
                Some(item)
            }
        }
    }
}

impl<'x> Item<'x> for Cow<'x, str> {
    type Ref = &'x str;

    #[inline]
    fn borrow(&'x self) -> &'x str {
        self
    }

    #[inline]
    fn read(r: &mut Reader<'x>) -> Result<&'x str, DecodeError> {
        r.str()
    }
}

impl<'x> Item<'x> for f64 {
    type Ref = f64;

    #[inline]
    fn borrow(&'x self) -> f64 {
        *self
    }

    fn read(r: &mut Reader<'x>) -> Result<f64, DecodeError> {
        let at = r.pos();
        let bytes: [u8; 8] = r
            .take(8)?
            .try_into()
            .map_err(|_| r.error_at(at, "truncated"))?;
        let n = f64::from_le_bytes(bytes);
        if n.is_finite() {
            Ok(n)
        } else {
            Err(r.error_at(at, "number is not finite"))
        }
    }
}

impl<'x> Item<'x> for i64 {
    type Ref = i64;

    #[inline]
    fn borrow(&'x self) -> i64 {
        *self
    }

    #[inline]
    fn read(r: &mut Reader<'x>) -> Result<i64, DecodeError> {
        r.ivar()
    }
}

impl<'x> Item<'x> for bool {
    type Ref = bool;

    #[inline]
    fn borrow(&'x self) -> bool {
        *self
    }

    #[inline]
    fn read(r: &mut Reader<'x>) -> Result<bool, DecodeError> {
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(r.error("boolean is neither 0 nor 1")),
        }
    }
}

impl<'x> Item<'x> for Cidr {
    type Ref = Cidr;

    #[inline]
    fn borrow(&'x self) -> Cidr {
        *self
    }

    fn read(r: &mut Reader<'x>) -> Result<Cidr, DecodeError> {
        let at = r.pos();
        let family = r.u8()?;
        let prefix = r.u8()?;
        let bad = |r: &Reader<'_>| r.error_at(at, "bad address family or prefix");
        let network = match family {
            4 if prefix <= 32 => {
                let octets: [u8; 4] = r.take(4)?.try_into().map_err(|_| bad(r))?;
                IpAddr::V4(Ipv4Addr::from(octets))
            }
            6 if prefix <= 128 => {
                let octets: [u8; 16] = r.take(16)?.try_into().map_err(|_| bad(r))?;
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            _ => return Err(bad(r)),
        };
        Ok(Cidr { network, prefix })
    }
}

/// A [`Text`], borrowed.
#[derive(Clone, Copy)]
pub(crate) enum TextRef<'x> {
    Plain(&'x str),
    Template(Seq<'x, Segment<'x>>),
}

impl<'x> TextRef<'x> {
    fn to_text(self) -> Result<Text<'x>, DecodeError> {
        Ok(match self {
            TextRef::Plain(s) => Text::Plain(Cow::Borrowed(s)),
            TextRef::Template(segments) => Text::Template(segments.to_vec(|s| {
                Ok(match s {
                    SegmentRef::Literal(s) => Segment::Literal(Cow::Borrowed(s)),
                    SegmentRef::Escaped(c) => Segment::Escaped(c),
                    SegmentRef::Variable { key, default } => Segment::Variable {
                        key: Cow::Borrowed(key),
                        default: default.map(Cow::Borrowed),
                    },
                })
            })?),
        })
    }
}

impl<'x> Item<'x> for Text<'x> {
    type Ref = TextRef<'x>;

    #[inline]
    fn borrow(&'x self) -> TextRef<'x> {
        match self {
            Text::Plain(s) => TextRef::Plain(s),
            Text::Template(segments) => TextRef::Template(Seq::Slice(segments)),
        }
    }

    #[inline]
    fn read(r: &mut Reader<'x>) -> Result<TextRef<'x>, DecodeError> {
        match r.u8()? {
            TEXT_PLAIN => Ok(TextRef::Plain(r.str()?)),
            TEXT_TEMPLATE => Ok(TextRef::Template(Seq::read(r)?)),
            _ => Err(r.error("unknown text kind")),
        }
    }

    fn check(r: &mut Reader<'x>) -> Result<(), DecodeError> {
        match r.u8()? {
            TEXT_PLAIN => r.str().map(drop),
            TEXT_TEMPLATE => Seq::<Segment<'x>>::check(r),
            _ => Err(r.error("unknown text kind")),
        }
    }
}

/// A [`Segment`], borrowed.
#[derive(Clone, Copy)]
pub(crate) enum SegmentRef<'x> {
    Literal(&'x str),
    Escaped(char),
    Variable {
        key: &'x str,
        default: Option<&'x str>,
    },
}

impl<'x> Item<'x> for Segment<'x> {
    type Ref = SegmentRef<'x>;

    #[inline]
    fn borrow(&'x self) -> SegmentRef<'x> {
        match self {
            Segment::Literal(s) => SegmentRef::Literal(s),
            Segment::Escaped(c) => SegmentRef::Escaped(*c),
            Segment::Variable { key, default } => SegmentRef::Variable {
                key,
                default: default.as_deref(),
            },
        }
    }

    fn read(r: &mut Reader<'x>) -> Result<SegmentRef<'x>, DecodeError> {
        match r.u8()? {
            SEGMENT_LITERAL => Ok(SegmentRef::Literal(r.str()?)),
            SEGMENT_ESCAPED => match r.u8()? {
                c @ (b'*' | b'?' | b'$') => Ok(SegmentRef::Escaped(char::from(c))),
                _ => Err(r.error("unknown escape")),
            },
            SEGMENT_VARIABLE => {
                let key = r.str()?;
                let default = match r.u8()? {
                    0 => None,
                    1 => Some(r.str()?),
                    _ => return Err(r.error("bad default flag")),
                };
                Ok(SegmentRef::Variable { key, default })
            }
            _ => Err(r.error("unknown segment kind")),
        }
    }
}

/// [`ConditionValues`], borrowed.
#[derive(Clone, Copy)]
pub(crate) enum ValuesRef<'x> {
    Strings(Seq<'x, Text<'x>>),
    Numbers(Seq<'x, f64>),
    Dates(Seq<'x, i64>),
    Bools(Seq<'x, bool>),
    Cidrs(Seq<'x, Cidr>),
}

/// A [`Condition`], borrowed.
#[derive(Clone, Copy)]
pub(crate) struct ConditionRef<'x> {
    pub(crate) operator: Operator,
    pub(crate) qualifier: Option<Qualifier>,
    pub(crate) if_exists: bool,
    pub(crate) key: &'x str,
    pub(crate) values: ValuesRef<'x>,
}

impl<'x> ConditionRef<'x> {
    fn to_condition(self) -> Result<Condition<'x>, DecodeError> {
        Ok(Condition {
            operator: self.operator,
            qualifier: self.qualifier,
            if_exists: self.if_exists,
            key: Cow::Borrowed(self.key),
            values: match self.values {
                ValuesRef::Strings(v) => ConditionValues::Strings(v.to_vec(TextRef::to_text)?),
                ValuesRef::Numbers(v) => ConditionValues::Numbers(v.to_vec(Ok)?),
                ValuesRef::Dates(v) => ConditionValues::Dates(v.to_vec(Ok)?),
                ValuesRef::Bools(v) => ConditionValues::Bools(v.to_vec(Ok)?),
                ValuesRef::Cidrs(v) => ConditionValues::Cidrs(v.to_vec(Ok)?),
            },
        })
    }

    /// Reads an encoded condition; with `check`, its values too, else only
    /// their list's header.
    fn read_with(r: &mut Reader<'x>, check: bool) -> Result<Self, DecodeError> {
        let at = r.pos();
        let operator =
            Operator::from_code(r.u8()?).ok_or_else(|| r.error_at(at, "unknown operator"))?;
        let flags = r.u8()?;
        let qualifier = match flags & !CONDITION_IF_EXISTS {
            0 => None,
            CONDITION_FOR_ANY_VALUE => Some(Qualifier::ForAnyValue),
            CONDITION_FOR_ALL_VALUES => Some(Qualifier::ForAllValues),
            _ => return Err(r.error("unknown condition flags")),
        };
        let key = r.str()?;
        let at = r.pos();
        let kind = r.u8()?;
        let expected = match operator.kind() {
            ValueKind::String | ValueKind::Arn | ValueKind::Binary => VALUES_STRINGS,
            ValueKind::Number => VALUES_NUMBERS,
            ValueKind::Date => VALUES_DATES,
            ValueKind::Bool | ValueKind::Null => VALUES_BOOLS,
            ValueKind::Ip => VALUES_CIDRS,
        };
        if kind != expected {
            return Err(r.error_at(at, "values do not suit the operator"));
        }
        let values = match kind {
            VALUES_STRINGS => ValuesRef::Strings(read_seq(r, check)?),
            VALUES_NUMBERS => ValuesRef::Numbers(read_seq(r, check)?),
            VALUES_DATES => ValuesRef::Dates(read_seq(r, check)?),
            VALUES_BOOLS => ValuesRef::Bools(read_seq(r, check)?),
            _ => ValuesRef::Cidrs(read_seq(r, check)?),
        };
        Ok(ConditionRef {
            operator,
            qualifier,
            if_exists: flags & CONDITION_IF_EXISTS != 0,
            key,
            values,
        })
    }
}

/// A list's header, after checking the whole list if `check`.
#[inline]
fn read_seq<'x, T: Item<'x>>(r: &mut Reader<'x>, check: bool) -> Result<Seq<'x, T>, DecodeError> {
    if check {
        Seq::<T>::check(&mut { *r })?;
    }
    Seq::read(r)
}

impl<'x> Item<'x> for Condition<'x> {
    type Ref = ConditionRef<'x>;

    #[inline]
    fn borrow(&'x self) -> ConditionRef<'x> {
        ConditionRef {
            operator: self.operator,
            qualifier: self.qualifier,
            if_exists: self.if_exists,
            key: &self.key,
            values: match &self.values {
                ConditionValues::Strings(v) => ValuesRef::Strings(Seq::Slice(v)),
                ConditionValues::Numbers(v) => ValuesRef::Numbers(Seq::Slice(v)),
                ConditionValues::Dates(v) => ValuesRef::Dates(Seq::Slice(v)),
                ConditionValues::Bools(v) => ValuesRef::Bools(Seq::Slice(v)),
                ConditionValues::Cidrs(v) => ValuesRef::Cidrs(Seq::Slice(v)),
            },
        }
    }

    fn read(r: &mut Reader<'x>) -> Result<ConditionRef<'x>, DecodeError> {
        ConditionRef::read_with(r, false)
    }

    fn check(r: &mut Reader<'x>) -> Result<(), DecodeError> {
        ConditionRef::read_with(r, true).map(drop)
    }
}

/// A [`Statement`], borrowed: its flags at once, its parts through
/// [`StatementRef::parts`], in the order evaluation needs them.
#[derive(Clone, Copy)]
pub(crate) struct StatementRef<'x> {
    pub(crate) effect: Effect,
    pub(crate) not_principal: bool,
    pub(crate) everyone: bool,
    pub(crate) not_action: bool,
    pub(crate) not_resource: bool,
    has_sid: bool,
    source: Source<'x>,
}

#[derive(Clone, Copy)]
enum Source<'x> {
    Memory(&'x Statement<'x>),
    /// The statement's bytes, positioned after its flags.
    Encoded(Reader<'x>),
}

/// A statement's parts, read one after the other: [`accounts`](Self::accounts),
/// [`actions`](Self::actions), [`resources`](Self::resources),
/// [`conditions`](Self::conditions), [`sid`](Self::sid). Each must be asked
/// after the ones before it (an encoded statement is read in that order).
pub(crate) struct Parts<'x> {
    has_sid: bool,
    source: Source<'x>,
}

impl<'x> StatementRef<'x> {
    #[inline]
    pub(crate) fn parts(&self) -> Parts<'x> {
        Parts {
            has_sid: self.has_sid,
            source: self.source,
        }
    }

    pub(crate) fn to_statement(self) -> Result<Statement<'x>, DecodeError> {
        let mut parts = self.parts();
        let accounts = parts.accounts()?.to_vec(|s| Ok(Cow::Borrowed(s)))?;
        let actions = parts.actions()?.to_vec(|s| Ok(Cow::Borrowed(s)))?;
        let resources = parts.resources()?.to_vec(TextRef::to_text)?;
        let conditions = parts.conditions()?.to_vec(ConditionRef::to_condition)?;
        Ok(Statement {
            sid: parts.sid()?.map(Cow::Borrowed),
            effect: self.effect,
            principal: PrincipalSet {
                negated: self.not_principal,
                everyone: self.everyone,
                accounts,
            },
            action: ActionSet {
                negated: self.not_action,
                patterns: actions,
            },
            resource: ResourceSet {
                negated: self.not_resource,
                patterns: resources,
            },
            conditions,
        })
    }
}

impl<'x> Parts<'x> {
    #[inline]
    pub(crate) fn accounts(&mut self) -> Result<Seq<'x, Cow<'x, str>>, DecodeError> {
        match &mut self.source {
            Source::Memory(s) => Ok(Seq::Slice(&s.principal.accounts)),
            Source::Encoded(r) => Seq::read(r),
        }
    }

    #[inline]
    pub(crate) fn actions(&mut self) -> Result<Seq<'x, Cow<'x, str>>, DecodeError> {
        match &mut self.source {
            Source::Memory(s) => Ok(Seq::Slice(&s.action.patterns)),
            Source::Encoded(r) => Seq::read(r),
        }
    }

    #[inline]
    pub(crate) fn resources(&mut self) -> Result<Seq<'x, Text<'x>>, DecodeError> {
        match &mut self.source {
            Source::Memory(s) => Ok(Seq::Slice(&s.resource.patterns)),
            Source::Encoded(r) => Seq::read(r),
        }
    }

    #[inline]
    pub(crate) fn conditions(&mut self) -> Result<Seq<'x, Condition<'x>>, DecodeError> {
        match &mut self.source {
            Source::Memory(s) => Ok(Seq::Slice(&s.conditions)),
            Source::Encoded(r) => Seq::read(r),
        }
    }

    #[inline]
    pub(crate) fn sid(&mut self) -> Result<Option<&'x str>, DecodeError> {
        match &mut self.source {
            Source::Memory(s) => Ok(s.sid.as_deref()),
            Source::Encoded(r) if self.has_sid => r.str().map(Some),
            Source::Encoded(_) => Ok(None),
        }
    }
}

impl<'x> Item<'x> for Statement<'x> {
    type Ref = StatementRef<'x>;

    #[inline]
    fn borrow(&'x self) -> StatementRef<'x> {
        StatementRef {
            effect: self.effect,
            not_principal: self.principal.negated,
            everyone: self.principal.everyone,
            not_action: self.action.negated,
            not_resource: self.resource.negated,
            has_sid: self.sid.is_some(),
            source: Source::Memory(self),
        }
    }

    #[inline]
    fn read(r: &mut Reader<'x>) -> Result<StatementRef<'x>, DecodeError> {
        let mut body = r.framed()?;
        let flags = body.u8()?;
        if flags >= 64 {
            return Err(body.error("unknown statement flags"));
        }
        Ok(StatementRef {
            effect: if flags & STATEMENT_DENY != 0 {
                Effect::Deny
            } else {
                Effect::Allow
            },
            not_principal: flags & STATEMENT_NOT_PRINCIPAL != 0,
            everyone: flags & STATEMENT_EVERYONE != 0,
            not_action: flags & STATEMENT_NOT_ACTION != 0,
            not_resource: flags & STATEMENT_NOT_RESOURCE != 0,
            has_sid: flags & STATEMENT_HAS_SID != 0,
            source: Source::Encoded(body),
        })
    }

    fn check(r: &mut Reader<'x>) -> Result<(), DecodeError> {
        let statement = Self::read(r)?;
        let Source::Encoded(mut body) = statement.source else {
            return Ok(());
        };
        Seq::<Cow<'x, str>>::check(&mut body)?;
        Seq::<Cow<'x, str>>::check(&mut body)?;
        Seq::<Text<'x>>::check(&mut body)?;
        Seq::<Condition<'x>>::check(&mut body)?;
        if statement.has_sid {
            body.str()?;
        }
        if body.at_end() {
            Ok(())
        } else {
            Err(body.error("statement longer than its parts"))
        }
    }
}
