//! The `Range` request header of GetObject and HeadObject: one byte range, in any of
//! the three forms of RFC 9110 §14.1.2 (`bytes=first-last`, `bytes=first-`,
//! `bytes=-suffix`).
//!
//! S3 serves a single range only and treats what it cannot parse (several ranges,
//! other units, garbage) as if there were no `Range` header: the whole object with 200.
//! A well-formed range that selects no byte of the object is `416 InvalidRange`.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax>

/// A parsed `Range` header, before it is applied to an object's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (`last` inclusive) or `bytes=first-` (`last` = `None`).
    From {
        /// First byte.
        first: u64,
        /// Last byte, inclusive.
        last: Option<u64>,
    },
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

/// The bytes a range selects from an object: `start..start + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    /// First byte.
    pub start: u64,
    /// Number of bytes (at least one).
    pub len: u64,
}

impl Selected {
    /// The last byte, inclusive.
    pub fn last(&self) -> u64 {
        self.start + self.len - 1
    }

    /// The `Content-Range` value for an object of `size` bytes.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.start, self.last())
    }
}

impl ByteRange {
    /// Parses a `Range` header value; `None` for anything S3 would ignore.
    pub fn parse(value: &str) -> Option<ByteRange> {
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        if first.trim().is_empty() {
            return Some(ByteRange::Suffix(number(last)?));
        }
        let first = number(first)?;
        let last = match last.trim() {
            "" => None,
            l => Some(number(l)?),
        };
        if last.is_some_and(|l| l < first) {
            // "bytes=5-2" is syntactically invalid: ignored, like S3.
            return None;
        }
        Some(ByteRange::From { first, last })
    }

    /// What the range selects from an object of `size` bytes; `None` if it selects
    /// nothing (416).
    pub fn select(self, size: u64) -> Option<Selected> {
        match self {
            ByteRange::From { first, last } => {
                if first >= size {
                    return None;
                }
                let last = last.map_or(size - 1, |l| l.min(size - 1));
                Some(Selected {
                    start: first,
                    len: last - first + 1,
                })
            }
            ByteRange::Suffix(n) => {
                if n == 0 || size == 0 {
                    return None;
                }
                let len = n.min(size);
                Some(Selected {
                    start: size - len,
                    len,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            ByteRange::parse("bytes=0-99"),
            Some(ByteRange::From {
                first: 0,
                last: Some(99)
            })
        );
        assert_eq!(
            ByteRange::parse("bytes=100-"),
            Some(ByteRange::From {
                first: 100,
                last: None
            })
        );
        assert_eq!(ByteRange::parse("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(
            ByteRange::parse(" bytes= 1 - 2 "),
            Some(ByteRange::From {
                first: 1,
                last: Some(2)
            })
        );
    }

    #[test]
    fn what_s3_ignores_parses_to_none() {
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=5-2",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(ByteRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn selects_within_the_object() {
        let sel = |r: &str, size| ByteRange::parse(r).and_then(|r| r.select(size));
        assert_eq!(sel("bytes=0-99", 10), Some(Selected { start: 0, len: 10 }));
        assert_eq!(sel("bytes=2-4", 10), Some(Selected { start: 2, len: 3 }));
        assert_eq!(sel("bytes=9-", 10), Some(Selected { start: 9, len: 1 }));
        assert_eq!(sel("bytes=-3", 10), Some(Selected { start: 7, len: 3 }));
        assert_eq!(sel("bytes=-30", 10), Some(Selected { start: 0, len: 10 }));
        assert_eq!(sel("bytes=10-", 10), None);
        assert_eq!(sel("bytes=10-20", 10), None);
        assert_eq!(sel("bytes=-0", 10), None);
        assert_eq!(sel("bytes=0-", 0), None);
        assert_eq!(sel("bytes=-1", 0), None);
        assert_eq!(
            Selected { start: 2, len: 3 }.content_range(10),
            "bytes 2-4/10"
        );
    }
}
