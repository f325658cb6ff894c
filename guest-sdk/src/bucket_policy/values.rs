//! The typed values conditions compare: numbers, dates, booleans and address
//! ranges, read the same way from a policy (once, by `parse`) and from a
//! request (per evaluation).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Cidr;

/// A decimal number: an optional `-`, digits, optionally `.` and digits
/// (what IAM's numeric operators take; no exponent, no `NaN`).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `true` or `false`, without regard to case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A date as seconds since the Unix epoch: epoch seconds (`1700000000`), or
/// ISO 8601 as IAM takes it (<https://www.w3.org/TR/NOTE-datetime>):
/// `2024-01-31`, `2024-01-31T12:00Z`, `2024-01-31T12:00:00.123+01:00`, and
/// the basic form of `x-amz-date` (`20240131T120000Z`). Without a zone the
/// time is UTC; fractions of a second are dropped.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if !b.is_empty() && b.len() <= 12 && b.iter().all(u8::is_ascii_digit) {
        return text.parse().ok();
    }
    let mut r = Cursor { bytes: b, pos: 0 };
    let basic = b.len() == 16 && b.get(8) == Some(&b'T');
    let year = r.digits(4)?;
    if !basic {
        r.expect(b'-')?;
    }
    let month = r.digits(2)?;
    if !basic {
        r.expect(b'-')?;
    }
    let day = r.digits(2)?;
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    let mut offset = 0;
    if r.peek().is_some() {
        if !matches!(r.next()?, b'T' | b't' | b' ') {
            return None;
        }
        hour = r.digits(2)?;
        if !basic {
            r.expect(b':')?;
        }
        minute = r.digits(2)?;
        if basic || r.peek() == Some(b':') {
            if !basic {
                r.expect(b':')?;
            }
            second = r.digits(2)?;
            if r.peek() == Some(b'.') {
                r.next()?;
                let start = r.pos;
                while r.peek().is_some_and(|c| c.is_ascii_digit()) {
                    r.next()?;
                }
                if r.pos == start {
                    return None;
                }
            }
        }
        match r.next() {
            None if !basic => {}
            Some(b'Z' | b'z') => {}
            Some(sign @ (b'+' | b'-')) if !basic => {
                let hours = r.digits(2)?;
                if r.peek() == Some(b':') {
                    r.next()?;
                }
                let minutes = r.digits(2)?;
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let seconds = i64::from(hours * 3600 + minutes * 60);
                offset = if sign == b'+' { seconds } else { -seconds };
            }
            _ => return None,
        }
    }
    if r.peek().is_some() {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset)
}

/// Reads fixed-width ASCII fields.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// Exactly `n` decimal digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..n {
            let b = self.next()?;
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        Some(value)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An address (`192.0.2.7`, `2001:db8::1`), an IPv4-mapped IPv6 address
/// counting as the IPv4 one, so a dual-stack listener's addresses match IPv4
/// ranges.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

impl Cidr {
    /// The range of `prefix` bits around `address` (host bits are cleared),
    /// or `None` if the prefix is longer than the address.
    pub fn new(address: IpAddr, prefix: u8) -> Option<Cidr> {
        let network = match address {
            IpAddr::V4(v4) if prefix <= 32 => {
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix)))
            }
            IpAddr::V6(v6) if prefix <= 128 => {
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix)))
            }
            _ => return None,
        };
        Some(Cidr { network, prefix })
    }

    /// A range as a policy writes it: `address/prefix`, or an address alone.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => {
                if prefix.is_empty()
                    || prefix.len() > 3
                    || !prefix.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                (address, Some(prefix.parse::<u8>().ok()?))
            }
            None => (text, None),
        };
        let address = address.parse::<IpAddr>().ok()?;
        let full = if address.is_ipv4() { 32 } else { 128 };
        Cidr::new(address, prefix.unwrap_or(full))
    }

    /// Whether `address` is in the range (an IPv4 address is never in an
    /// IPv6 range, nor the reverse).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & mask32(self.prefix) == u32::from(net) & mask32(self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask128(self.prefix) == u128::from(net) & mask128(self.prefix)
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

/// Whether `text` is standard base64 (what `BinaryEquals` compares).
#[cfg(feature = "bucket-policy-parse")]
pub(crate) fn is_base64(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Whether `text` has an ARN's six colon-separated parts
/// (`arn:partition:service:region:account:resource`).
#[cfg(feature = "bucket-policy-parse")]
pub(crate) fn is_arn_like(text: &str) -> bool {
    text.split(':').count() >= 6
}
