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
//! A template is matched once substituted, as a list of [`Tok`]s: the
//! policy's own text keeps its wildcards, substituted values and escapes are
//! literal bytes.

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

/// A pattern the matcher can walk: its elements by index.
pub(crate) trait Pattern {
    fn len(&self) -> usize;
    fn tok(&self, index: usize) -> Option<Tok>;
}

/// Policy text as written: `*` and `?` are wildcards.
impl Pattern for [u8] {
    #[inline]
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    #[inline]
    fn tok(&self, index: usize) -> Option<Tok> {
        Some(match *self.get(index)? {
            b'*' => Tok::AnyRun,
            b'?' => Tok::AnyOne,
            b => Tok::Byte(b),
        })
    }
}

/// A template with its variables substituted.
impl Pattern for [Tok] {
    #[inline]
    fn len(&self) -> usize {
        <[Tok]>::len(self)
    }

    #[inline]
    fn tok(&self, index: usize) -> Option<Tok> {
        self.get(index).copied()
    }
}

/// How two bytes compare: [`exact`] or [`ascii_caseless`]. Generic, so each
/// comparison is inlined into the matcher.
pub(crate) trait ByteEq: Fn(u8, u8) -> bool + Copy {}

impl<F: Fn(u8, u8) -> bool + Copy> ByteEq for F {}

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
pub(crate) fn matches(pattern: &str, text: &str, eq: impl ByteEq) -> bool {
    let pattern = pattern.as_bytes();
    let text_bytes = text.as_bytes();
    // The literal part before the first wildcard, compared at once (most
    // patterns are literal, or end in `*`).
    let literal = pattern
        .iter()
        .position(|b| *b == b'*' || *b == b'?')
        .unwrap_or(pattern.len());
    let (Some(head), Some(text_head)) = (pattern.get(..literal), text_bytes.get(..literal)) else {
        return false;
    };
    if !head.iter().zip(text_head).all(|(a, b)| eq(*a, *b)) {
        return false;
    }
    if literal == pattern.len() {
        return literal == text_bytes.len();
    }
    // The head matched byte for byte and ends before an ASCII wildcard, so
    // the text's rest starts on a character boundary.
    text.get(literal..)
        .is_some_and(|rest| matches_range(pattern, literal, pattern.len(), rest, eq))
}

/// Whether the whole of `text` matches `pattern[from..to]`.
pub(crate) fn matches_range<P: Pattern + ?Sized>(
    pattern: &P,
    from: usize,
    to: usize,
    text: &str,
    eq: impl ByteEq,
) -> bool {
    let text = text.as_bytes();
    let (mut p, mut t) = (from, 0usize);
    // After a `*`: where the pattern resumes, and where in the text the
    // `*`'s run currently ends.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let tok = if p < to { pattern.tok(p) } else { None };
        match (tok, text.get(t)) {
            (Some(Tok::AnyRun), _) => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            (Some(Tok::AnyOne), Some(&b)) => {
                p += 1;
                t += char_len(b);
                continue;
            }
            (Some(Tok::Byte(want)), Some(&b)) if eq(want, b) => {
                p += 1;
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
    let mut parts = text.splitn(6, ':');
    let mut from = 0;
    let mut found = 0;
    for index in 0..pattern.len() {
        if found == 5 {
            break;
        }
        if pattern.tok(index) == Some(Tok::Byte(b':')) {
            let Some(part) = parts.next() else {
                return false;
            };
            if !matches_range(pattern, from, index, part, exact) {
                return false;
            }
            from = index + 1;
            found += 1;
        }
    }
    match (found, parts.next()) {
        (5, Some(resource)) => matches_range(pattern, from, pattern.len(), resource, exact),
        _ => false,
    }
}

/// A template with its variables substituted from the request; the policy's
/// own text keeps its wildcards if `wildcards`, substituted values and
/// escapes are literal. `None` if a variable has no single value and no
/// default: the text then matches nothing.
fn substitute(
    segments: Seq<'_, Segment<'_>>,
    context: &dyn ConditionContext,
    wildcards: bool,
) -> Result<Option<Vec<Tok>>, DecodeError> {
    let mut toks = Vec::with_capacity(64);
    for segment in segments.iter() {
        match segment? {
            SegmentRef::Literal(text) => {
                toks.extend(text.bytes().map(|b| match b {
                    b'*' if wildcards => Tok::AnyRun,
                    b'?' if wildcards => Tok::AnyOne,
                    b => Tok::Byte(b),
                }));
            }
            SegmentRef::Escaped(c) => toks.push(Tok::Byte(u8::try_from(c).unwrap_or(b'$'))),
            SegmentRef::Variable { key, default } => {
                let value = context
                    .values(key)
                    .and_then(|values| values.single())
                    .or(default);
                let Some(value) = value else {
                    return Ok(None);
                };
                toks.extend(value.bytes().map(Tok::Byte));
            }
        }
    }
    Ok(Some(toks))
}

/// Whether `text` matches a policy text with wildcards (`Like` operators,
/// resources), variables substituted from `context`.
#[inline]
pub(crate) fn text_matches(
    pattern: TextRef<'_>,
    text: &str,
    context: &dyn ConditionContext,
    eq: impl ByteEq,
) -> Result<bool, DecodeError> {
    Ok(match pattern {
        TextRef::Plain(p) => matches(p, text, eq),
        TextRef::Template(segments) => substitute(segments, context, true)?
            .is_some_and(|toks| matches_range(toks.as_slice(), 0, toks.len(), text, eq)),
    })
}

/// Whether `text` equals a policy text (`Equals` operators: `*` is just a
/// character), variables substituted from `context`.
#[inline]
pub(crate) fn text_equals(
    pattern: TextRef<'_>,
    text: &str,
    context: &dyn ConditionContext,
    eq: impl ByteEq,
) -> Result<bool, DecodeError> {
    Ok(match pattern {
        TextRef::Plain(p) => {
            p.len() == text.len() && p.bytes().zip(text.bytes()).all(|(a, b)| eq(a, b))
        }
        TextRef::Template(segments) => substitute(segments, context, false)?
            .is_some_and(|toks| matches_range(toks.as_slice(), 0, toks.len(), text, eq)),
    })
}

/// Whether an ARN matches a policy text as `ArnLike` does.
pub(crate) fn text_arn_matches(
    pattern: TextRef<'_>,
    text: &str,
    context: &dyn ConditionContext,
) -> Result<bool, DecodeError> {
    Ok(match pattern {
        TextRef::Plain(p) => arn_matches(p.as_bytes(), text),
        TextRef::Template(segments) => substitute(segments, context, true)?
            .is_some_and(|toks| arn_matches(toks.as_slice(), text)),
    })
}
