//! Reading the binary form's primitives (see `encode` for the layout):
//! bytes, varints, strings from the table and lists. Every read is bounds
//! checked and fails with a [`DecodeError`]; none can panic.

use super::error::DecodeError;

/// A position in an encoded policy, with its string table. Copying one is
/// how a list is kept for later: a reader positioned at its first item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    /// The input up to the end of what this reader may read (a list's
    /// reader ends where the list does). Offsets count from the start of
    /// the whole encoding.
    bytes: &'a [u8],
    pos: usize,
    /// The string table.
    strings: &'a str,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`, before its string table is known.
    #[inline]
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            strings: "",
        }
    }

    /// Reads the string table (`m:uvar`, then `m` bytes of UTF-8), which
    /// later [`str`](Self::str) reads slice.
    #[inline]
    pub(crate) fn read_strings(&mut self) -> Result<(), DecodeError> {
        let len = self.count()?;
        let at = self.pos;
        let bytes = self.take(len)?;
        self.strings = core::str::from_utf8(bytes)
            .map_err(|e| self.error_at(at + e.valid_up_to(), "string table is not UTF-8"))?;
        Ok(())
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    #[inline]
    pub(crate) fn error(&self, reason: &'static str) -> DecodeError {
        self.error_at(self.pos, reason)
    }

    #[inline]
    pub(crate) fn error_at(&self, offset: usize, reason: &'static str) -> DecodeError {
        DecodeError { offset, reason }
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let taken = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| self.error("truncated"))?;
        self.pos += n;
        Ok(taken)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned LEB128 number of at most 64 bits.
    #[inline]
    pub(crate) fn uvar(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        // Most numbers here (lengths, offsets, counts) fit one byte.
        let first = self.u8()?;
        if first < 0x80 {
            return Ok(u64::from(first));
        }
        let mut n = u64::from(first & 0x7f);
        for shift in (7..64).step_by(7) {
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

    /// A zigzag-encoded signed number.
    #[inline]
    pub(crate) fn ivar(&mut self) -> Result<i64, DecodeError> {
        let z = self.uvar()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A count or length: never more than the bytes left (every item takes
    /// at least one), which also bounds any allocation sized from it.
    #[inline]
    pub(crate) fn count(&mut self) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.uvar()?;
        let left = self.bytes.len().saturating_sub(self.pos);
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= left)
            .ok_or_else(|| self.error_at(start, "count exceeds the input"))
    }

    /// A string: a slice of the table, on UTF-8 boundaries.
    #[inline]
    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let offset = self.uvar()?;
        let len = self.uvar()?;
        let strings = self.strings;
        usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(offset, len)| strings.get(offset..offset.checked_add(len)?))
            .ok_or_else(|| self.error_at(at, "string outside the string table"))
    }

    /// A length-prefixed part (`len:uvar`, then `len` bytes): a reader of
    /// exactly those bytes; `self` moves past them.
    #[inline]
    pub(crate) fn framed(&mut self) -> Result<Reader<'a>, DecodeError> {
        let len = self.count()?;
        let start = self.pos;
        self.take(len)?;
        Ok(Reader {
            bytes: self.bytes.get(..self.pos).unwrap_or_default(),
            pos: start,
            strings: self.strings,
        })
    }

    /// A list's header (`n:uvar len:uvar`): its item count and a reader of
    /// exactly its items; `self` moves past them.
    #[inline]
    pub(crate) fn list(&mut self) -> Result<(usize, Reader<'a>), DecodeError> {
        let n = self.count()?;
        let items = self.framed()?;
        if n > items.bytes.len().saturating_sub(items.pos) {
            return Err(self.error("more items than bytes"));
        }
        Ok((n, items))
    }
}
