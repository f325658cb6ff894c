//! `*`/`?` matching (actions, resources, `StringLike`, `Arn*`) and the
//! substitution of policy variables into a [`Text`](super::Text).
//!
//! `*` matches any run of characters (`/` and `:` included, except where
//! [`arn_matches`] splits an ARN), `?` exactly one character. Matching walks
//! the pattern in place, backtracking to the last `*` only: no allocation,
//! and time bounded by the product of the two lengths. It compares bytes:
//! UTF-8 makes that the same as comparing characters, as long as the text
//! only ever advances by whole characters past a wildcard, which it does.
//!
//! A template is matched as the list of its pieces after substitution
//! ([`Piece`]): the policy's own text, where wildcards keep their meaning,
//! and substituted values and escapes, where they do not.

use alloc::vec::Vec;

use super::Segment;
use super::error::DecodeError;
use super::evaluate::ConditionContext;
use super::refs::{SegmentRef, Seq, TextRef};

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A byte of literal text.
    Byte(u8),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: any one character.
    AnyOne,
}

/// A pattern the matcher can walk: `at` gives the element at a position and
/// the position after it. Positions grow along the pattern, so a part of it
/// is a range of them.
pub(crate) trait Pattern {
    type Pos: Copy + PartialOrd;
    fn start(&self) -> Self::Pos;
    /// The position after the last element.
    fn end(&self) -> Self::Pos;
    fn at(&self, pos: Self::Pos) -> Option<(Tok, Self::Pos)>;
}

/// Policy text as written: `*` and `?` are wildcards. Positions are byte
/// offsets.
impl Pattern for str {
    type Pos = usize;

    #[inline]
    fn start(&self) -> usize {
        0
    }

    #[inline]
    fn end(&self) -> usize {
        self.len()
    }

    #[inline]
    fn at(&self, pos: usize) -> Option<(Tok, usize)> {
        let tok = match *self.as_bytes().get(pos)? {
            b'*' => Tok::AnyRun,
            b'?' => Tok::AnyOne,
            b => Tok::Byte(b),
        };
        Some((tok, pos + 1))
    }
}

/// A piece of a substituted template.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece<'t> {
    text: &'t str,
    /// Whether `*` and `?` in `text` are wildcards (the policy's own text,
    /// in a `Like` comparison).
    wild: bool,
}

/// A substituted template: positions are (piece, byte offset), always at an
/// existing byte or the end (pieces are never empty).
impl Pattern for [Piece<'_>] {
    type Pos = (usize, usize);

    #[inline]
    fn start(&self) -> (usize, usize) {
        (0, 0)
    }

    #[inline]
    fn end(&self) -> (usize, usize) {
        (self.len(), 0)
    }

    #[inline]
    fn at(&self, (piece, offset): (usize, usize)) -> Option<(Tok, (usize, usize))> {
        let Piece { text, wild } = *self.get(piece)?;
        let tok = match *text.as_bytes().get(offset)? {
            b'*' if wild => Tok::AnyRun,
            b'?' if wild => Tok::AnyOne,
            b => Tok::Byte(b),
        };
        let next = if offset + 1 < text.len() {
            (piece, offset + 1)
        } else {
            (piece + 1, 0)
        };
        Some((tok, next))
    }
}

/// How two bytes compare.
pub(crate) type ByteEq = fn(u8, u8) -> bool;

/// Case-sensitive comparison (resources, `StringLike`, ARNs).
#[inline]
pub(crate) fn exact(a: u8, b: u8) -> bool {
    a == b
}

/// Comparison without regard to ASCII case (actions, `...IgnoreCase`).
/// Only ASCII letters fold: Unicode case tables would be copied into every
/// module instance, for every decision, and S3's names are ASCII.
#[inline]
pub(crate) fn ascii_caseless(a: u8, b: u8) -> bool {
    a.eq_ignore_ascii_case(&b)
}

/// The length of the UTF-8 character starting with byte `b`.
#[inline]
fn char_len(b: u8) -> usize {
    match b {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

/// Whether the whole of `text` matches the whole of policy text `pattern`.
#[inline]
pub(crate) fn matches(pattern: &str, text: &str, eq: ByteEq) -> bool {
    if !pattern.bytes().any(|b| b == b'*' || b == b'?') {
        return pattern.len() == text.len()
            && pattern.bytes().zip(text.bytes()).all(|(a, b)| eq(a, b));
    }
    matches_range(pattern, 0, pattern.len(), text, eq)
}

/// Whether the whole of `text` matches the part of `pattern` from position
/// `from` up to (not including) position `to`.
pub(crate) fn matches_range<P: Pattern + ?Sized>(
    pattern: &P,
    from: P::Pos,
    to: P::Pos,
    text: &str,
    eq: ByteEq,
) -> bool {
    let text = text.as_bytes();
    let (mut p, mut t) = (from, 0usize);
    // After a `*`: where the pattern resumes, and where in the text the
    // `*`'s run currently ends.
    let mut star: Option<(P::Pos, usize)> = None;
    loop {
        let tok = if p < to { pattern.at(p) } else { None };
        match (tok, text.get(t)) {
            (Some((Tok::AnyRun, after)), _) => {
                star = Some((after, t));
                p = after;
                continue;
            }
            (Some((Tok::AnyOne, after)), Some(&b)) => {
                p = after;
                t += char_len(b);
                continue;
            }
            (Some((Tok::Byte(want), after)), Some(&b)) if eq(want, b) => {
                p = after;
                t += 1;
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character.
        let Some((resume, run_end)) = star else {
            return false;
        };
        let Some(&b) = text.get(run_end) else {
            return false;
        };
        let run_end = run_end + char_len(b);
        star = Some((resume, run_end));
        p = resume;
        t = run_end;
    }
}

/// Whether an ARN matches an ARN pattern the way `ArnLike`/`ArnEquals` do:
/// each of the six colon-separated parts separately, wildcards staying within
/// their part (the last part, the resource, keeps any further colons).
pub(crate) fn arn_matches<P: Pattern + ?Sized>(pattern: &P, text: &str) -> bool {
    // Where each of the pattern's first five colons is.
    let mut colons = [pattern.start(); 5];
    let mut found = 0;
    let mut pos = pattern.start();
    while found < colons.len() {
        let Some((tok, after)) = pattern.at(pos) else {
            return false;
        };
        if tok == Tok::Byte(b':') {
            colons[found] = pos;
            found += 1;
        }
        pos = after;
    }
    let mut parts = text.splitn(6, ':');
    let mut from = pattern.start();
    for colon in colons {
        let Some(part) = parts.next() else {
            return false;
        };
        if !matches_range(pattern, from, colon, part, exact) {
            return false;
        }
        let Some((_, after)) = pattern.at(colon) else {
            return false;
        };
        from = after;
    }
    match parts.next() {
        Some(resource) => matches_range(pattern, from, pattern.end(), resource, exact),
        None => false,
    }
}

/// A template's pieces with its variables substituted from the request; the
/// policy's own text keeps its wildcards if `wildcards`. `None` if a
/// variable has no single value and no default: the text then matches
/// nothing.
fn substitute<'x>(
    segments: Seq<'x, Segment<'x>>,
    context: &'x dyn ConditionContext,
    wildcards: bool,
) -> Result<Option<Vec<Piece<'x>>>, DecodeError> {
    let mut pieces = Vec::with_capacity(segments.len());
    for segment in segments.iter() {
        let piece = match segment? {
            SegmentRef::Literal(text) => Piece {
                text,
                wild: wildcards,
            },
            SegmentRef::Escaped(c) => Piece {
                text: match c {
                    '*' => "*",
                    '?' => "?",
                    _ => "$",
                },
                wild: false,
            },
            SegmentRef::Variable { key, default } => {
                let value = context
                    .values(key)
                    .and_then(|values| values.single())
                    .or(default);
                let Some(text) = value else {
                    return Ok(None);
                };
                Piece { text, wild: false }
            }
        };
        if !piece.text.is_empty() {
            pieces.push(piece);
        }
    }
    Ok(Some(pieces))
}

/// Whether `text` matches a policy text with wildcards (`Like` operators,
/// resources), variables substituted from `context`.
#[inline]
pub(crate) fn text_matches(
    pattern: TextRef<'_>,
    text: &str,
    context: &dyn ConditionContext,
    eq: ByteEq,
) -> Result<bool, DecodeError> {
    Ok(match pattern {
        TextRef::Plain(p) => matches(p, text, eq),
        TextRef::Template(segments) => substitute(segments, context, true)?.is_some_and(|pieces| {
            matches_range(pieces.as_slice(), (0, 0), pieces.as_slice().end(), text, eq)
        }),
    })
}

/// Whether `text` equals a policy text (`Equals` operators: `*` is just a
/// character), variables substituted from `context`.
#[inline]
pub(crate) fn text_equals(
    pattern: TextRef<'_>,
    text: &str,
    context: &dyn ConditionContext,
    eq: ByteEq,
) -> Result<bool, DecodeError> {
    Ok(match pattern {
        TextRef::Plain(p) => {
            p.len() == text.len() && p.bytes().zip(text.bytes()).all(|(a, b)| eq(a, b))
        }
        TextRef::Template(segments) => {
            substitute(segments, context, false)?.is_some_and(|pieces| {
                matches_range(pieces.as_slice(), (0, 0), pieces.as_slice().end(), text, eq)
            })
        }
    })
}

/// Whether an ARN matches a policy text as `ArnLike` does.
pub(crate) fn text_arn_matches(
    pattern: TextRef<'_>,
    text: &str,
    context: &dyn ConditionContext,
) -> Result<bool, DecodeError> {
    Ok(match pattern {
        TextRef::Plain(p) => arn_matches(p, text),
        TextRef::Template(segments) => substitute(segments, context, true)?
            .is_some_and(|pieces| arn_matches(pieces.as_slice(), text)),
    })
}
