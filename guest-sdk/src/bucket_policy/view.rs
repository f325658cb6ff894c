//! Reading the binary form: [`PolicyView`], the policy read in place, and
//! [`decode`], the [`Policy`] built back from it.
//!
//! A module evaluating a policy per decision should use the view: it
//! allocates nothing, checks the string table's UTF-8 once, and evaluation
//! reads only what it needs (the rest of a statement whose principal does
//! not match is skipped unread). [`decode`] is for code that wants to look
//! at the policy: it checks everything and allocates every list, though not
//! the strings.

use alloc::borrow::Cow;
use core::fmt;

use super::encode::{FORMAT_VERSION, POLICY_HAS_ID, POLICY_V2012};
use super::error::DecodeError;
use super::evaluate::{EvalRequest, Verdict, evaluate_statements};
use super::reader::Reader;
use super::refs::{Item, Seq, StatementRef};
use super::{Policy, Statement, Version};

/// An encoded policy ([`Policy::encode`]), checked and read in place.
#[derive(Clone, Copy)]
pub struct PolicyView<'a> {
    version: Version,
    id: Option<&'a str>,
    statements: Seq<'a, Statement<'a>>,
}

impl<'a> PolicyView<'a> {
    /// Reads the header and the string table (checking its UTF-8 once for
    /// every string), without allocating. The statements are read as
    /// [`evaluate`](Self::evaluate) reaches them; [`check`](Self::check)
    /// reads them all. Never panics, whatever the bytes.
    pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != FORMAT_VERSION {
            return Err(r.error_at(0, "unknown format version"));
        }
        r.read_strings()?;
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
            Some(r.str()?)
        } else {
            None
        };
        let statements = Seq::read(&mut r)?;
        if !r.at_end() {
            return Err(r.error("bytes after the statements"));
        }
        Ok(PolicyView {
            version,
            id,
            statements,
        })
    }

    /// Checks every statement's encoding, which evaluation otherwise checks
    /// only as far as it reads.
    pub fn check(&self) -> Result<(), DecodeError> {
        let Seq::Encoded { len, mut items } = self.statements else {
            return Ok(());
        };
        for _ in 0..len {
            <Statement<'a> as Item<'a>>::check(&mut items)?;
        }
        if items.at_end() {
            Ok(())
        } else {
            Err(items.error("list longer than its items"))
        }
    }

    /// The policy language's version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The policy's `Id`.
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// How many statements the policy has.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the policy has no statements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the policy says about `request`, as [`evaluate`](fn@super::evaluate)
    /// says for the decoded policy, reading only the parts it needs. An
    /// error means a part it read is damaged: the caller must refuse the
    /// request (fail closed), as it cannot know what the policy says.
    pub fn evaluate(&self, request: &EvalRequest<'_>) -> Result<Verdict<'a>, DecodeError> {
        evaluate_statements(self.statements, request)
    }

    /// The policy, built (its strings borrowed from the encoding), after a
    /// full [`check`](Self::check).
    pub fn to_policy(&self) -> Result<Policy<'a>, DecodeError> {
        self.check()?;
        Ok(Policy {
            version: self.version,
            id: self.id.map(Cow::Borrowed),
            statements: self.statements.to_vec(StatementRef::to_statement)?,
        })
    }
}

impl fmt::Debug for PolicyView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyView")
            .field("version", &self.version)
            .field("id", &self.id)
            .field("statements", &self.len())
            .finish()
    }
}

/// Reads a policy's binary form ([`Policy::encode`]) back into a
/// [`Policy`], borrowing its strings from `bytes`. Never panics, whatever
/// the bytes. To evaluate a policy, [`PolicyView`] is cheaper.
pub fn decode(bytes: &[u8]) -> Result<Policy<'_>, DecodeError> {
    PolicyView::new(bytes)?.to_policy()
}
