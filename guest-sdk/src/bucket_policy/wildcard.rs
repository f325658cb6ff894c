//! `*`/`?` matching (actions, resources, `StringLike`, `Arn*`) and the
//! substitution of policy variables into a [`Text`].
//!
//! `*` matches any run of characters (`/` and `:` included, except where
//! [`arn_matches`] splits an ARN), `?` exactly one character. Matching walks
//! the pattern in place, backtracking to the last `*` only: no allocation,
//! and time bounded by the product of the two lengths.

use alloc::vec::Vec;

use super::evaluate::ConditionContext;
use super::{Segment, Text};

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// This character.
    Char(char),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: any one character.
    AnyOne,
}

/// A pattern the matcher can walk: positions are opaque, `at` gives the
/// element at one and the position after it.
pub(crate) trait Pattern {
    fn at(&self, pos: usize) -> Option<(Tok, usize)>;
}

/// Policy text as written: `*` and `?` are wildcards. Positions are byte
/// offsets.
impl Pattern for str {
    fn at(&self, pos: usize) -> Option<(Tok, usize)> {
        let c = self.get(pos..)?.chars().next()?;
        let tok = match c {
            '*' => Tok::AnyRun,
            '?' => Tok::AnyOne,
            c => Tok::Char(c),
        };
        Some((tok, pos + c.len_utf8()))
    }
}

/// A pattern with its variables substituted. Positions are indices.
impl Pattern for [Tok] {
    fn at(&self, pos: usize) -> Option<(Tok, usize)> {
        self.get(pos).map(|tok| (*tok, pos + 1))
    }
}

/// How two characters compare.
pub(crate) type CharEq = fn(char, char) -> bool;

/// Case-sensitive comparison (resources, `StringLike`, ARNs).
pub(crate) fn exact(a: char, b: char) -> bool {
    a == b
}

/// Comparison without regard to ASCII case (actions, `...IgnoreCase`).
/// Only ASCII letters fold: Unicode case tables would be copied into every
/// module instance, for every decision, and S3's names are ASCII.
pub(crate) fn ascii_caseless(a: char, b: char) -> bool {
    a.eq_ignore_ascii_case(&b)
}

/// Whether the whole of `text` matches the whole of `pattern`.
pub(crate) fn matches<P: Pattern + ?Sized>(pattern: &P, text: &str, eq: CharEq) -> bool {
    matches_range(pattern, 0, usize::MAX, text, eq)
}

/// Whether the whole of `text` matches the part of `pattern` from position
/// `from` up to (not including) position `to`.
fn matches_range<P: Pattern + ?Sized>(
    pattern: &P,
    from: usize,
    to: usize,
    text: &str,
    eq: CharEq,
) -> bool {
    let next_char = |t: usize| text.get(t..).and_then(|rest| rest.chars().next());
    let (mut p, mut t) = (from, 0usize);
    // After a `*`: where the pattern resumes, and where in the text the
    // `*`'s run currently ends.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let tok = if p < to { pattern.at(p) } else { None };
        let c = next_char(t);
        match (tok, c) {
            (Some((Tok::AnyRun, after)), _) => {
                star = Some((after, t));
                p = after;
                continue;
            }
            (Some((Tok::AnyOne, after)), Some(c)) => {
                p = after;
                t += c.len_utf8();
                continue;
            }
            (Some((Tok::Char(want), after)), Some(c)) if eq(want, c) => {
                p = after;
                t += c.len_utf8();
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character.
        let Some((resume, run_end)) = star else {
            return false;
        };
        let Some(c) = next_char(run_end) else {
            return false;
        };
        let run_end = run_end + c.len_utf8();
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
    let mut colons = [0usize; 5];
    let mut found = 0;
    let mut pos = 0;
    while found < colons.len() {
        let Some((tok, after)) = pattern.at(pos) else {
            return false;
        };
        if tok == Tok::Char(':') {
            colons[found] = pos;
            found += 1;
        }
        pos = after;
    }
    let mut parts = text.splitn(6, ':');
    let mut from = 0;
    for colon in colons {
        let Some(part) = parts.next() else {
            return false;
        };
        if !matches_range(pattern, from, colon, part, exact) {
            return false;
        }
        // A colon is one element in either kind of pattern.
        from = pattern.at(colon).map_or(usize::MAX, |(_, after)| after);
    }
    match parts.next() {
        Some(resource) => matches_range(pattern, from, usize::MAX, resource, exact),
        None => false,
    }
}

/// A template with its variables substituted from the request: the policy's
/// own text keeps its wildcards if `wildcards` (else every character is
/// literal), escapes and substituted values are literal. `None` if a variable
/// has no single value and no default: the text then matches nothing.
pub(crate) fn expand(
    segments: &[Segment<'_>],
    context: &dyn ConditionContext,
    wildcards: bool,
) -> Option<Vec<Tok>> {
    let mut toks = Vec::new();
    for segment in segments {
        match segment {
            Segment::Literal(text) => toks.extend(text.chars().map(|c| match c {
                '*' if wildcards => Tok::AnyRun,
                '?' if wildcards => Tok::AnyOne,
                c => Tok::Char(c),
            })),
            Segment::Escaped(c) => toks.push(Tok::Char(*c)),
            Segment::Variable { key, default } => {
                let value = context
                    .values(key)
                    .and_then(|values| values.single())
                    .or(default.as_deref())?;
                toks.extend(value.chars().map(Tok::Char));
            }
        }
    }
    Some(toks)
}

/// Whether `text` is exactly the substituted template (no wildcards).
pub(crate) fn toks_equal(toks: &[Tok], text: &str, eq: CharEq) -> bool {
    let mut chars = text.chars();
    for tok in toks {
        let want = match tok {
            Tok::Char(c) => *c,
            Tok::AnyRun => '*',
            Tok::AnyOne => '?',
        };
        match chars.next() {
            Some(c) if eq(want, c) => {}
            _ => return false,
        }
    }
    chars.next().is_none()
}

/// Whether `text` matches a policy [`Text`] with wildcards (`Like`
/// operators, resources), variables substituted from `context`.
pub(crate) fn text_matches(
    pattern: &Text<'_>,
    text: &str,
    context: &dyn ConditionContext,
    eq: CharEq,
) -> bool {
    match pattern {
        Text::Plain(p) => matches(p.as_ref(), text, eq),
        Text::Template(segments) => {
            expand(segments, context, true).is_some_and(|toks| matches(toks.as_slice(), text, eq))
        }
    }
}

/// Whether `text` equals a policy [`Text`] (`Equals` operators: `*` is just
/// a character), variables substituted from `context`.
pub(crate) fn text_equals(
    pattern: &Text<'_>,
    text: &str,
    context: &dyn ConditionContext,
    eq: CharEq,
) -> bool {
    match pattern {
        Text::Plain(p) => {
            p.len() == text.len() && p.chars().zip(text.chars()).all(|(a, b)| eq(a, b))
        }
        Text::Template(segments) => {
            expand(segments, context, false).is_some_and(|toks| toks_equal(&toks, text, eq))
        }
    }
}

/// Whether an ARN matches a policy [`Text`] as `ArnLike` does.
pub(crate) fn text_arn_matches(
    pattern: &Text<'_>,
    text: &str,
    context: &dyn ConditionContext,
) -> bool {
    match pattern {
        Text::Plain(p) => arn_matches(p.as_ref(), text),
        Text::Template(segments) => {
            expand(segments, context, true).is_some_and(|toks| arn_matches(toks.as_slice(), text))
        }
    }
}
