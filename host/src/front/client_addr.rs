//! Who the client is: the TCP peer, or, when the peer is a trusted reverse proxy
//! (`--trusted-proxy`), the address that proxy reports in `X-Forwarded-For`.
//!
//! Pure (no I/O) and shared by every door, so each one derives the address policy modules
//! and logs see the same way.
//!
//! Each proxy appends the address it received the request from to `X-Forwarded-For`, so
//! the list reads client first, nearest proxy last, and only the entries appended by
//! proxies we trust are believed: walking from the right, trusted addresses are hops of our
//! own infrastructure and are skipped; the first untrusted one is the client. Anything to
//! its left was written by the client itself and may be forged. A peer outside the trusted
//! ranges is the client, whatever it sends (so nobody can claim another address by adding
//! the header), and with no trusted ranges the header is never read.

use http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The header reverse proxies put the client's address in (nginx
/// `$proxy_add_x_forwarded_for`, Caddy's `reverse_proxy` by default).
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address for a connection from `peer` (IPv4-mapped IPv6 addresses, as a
/// dual-stack listener reports IPv4 peers, are given as IPv4): the peer itself unless it
/// is in `trusted`, else the rightmost `X-Forwarded-For` address that is not trusted. When every
/// listed address is trusted, the leftmost one; when an entry does not parse, the nearest
/// trusted hop before it (the entries beyond it cannot be vouched for). The port of an
/// address taken from the header is 0: proxies do not report the client's port.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> SocketAddr {
    let peer_ip = peer.ip().to_canonical();
    if !is_trusted(peer_ip, trusted) {
        return SocketAddr::new(peer_ip, peer.port());
    }
    // Header lines in order, each a comma-separated list: together one list.
    let entries: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut nearest = SocketAddr::new(peer_ip, peer.port());
    for entry in entries.iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            return nearest;
        };
        nearest = SocketAddr::new(ip, 0);
        if !is_trusted(ip, trusted) {
            return nearest;
        }
    }
    nearest
}

/// The header reverse proxies put the client's scheme in (`http` or `https`).
pub const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// Whether a trusted proxy `peer` says the client reached it over TLS
/// (`X-Forwarded-Proto: https`, the nearest proxy's value when there are several). From
/// any other peer the header is ignored: a client could claim anything.
pub fn forwarded_https(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> bool {
    if !is_trusted(peer.ip().to_canonical(), trusted) {
        return false;
    }
    headers
        .get_all(X_FORWARDED_PROTO)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|e| !e.is_empty())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// One `X-Forwarded-For` entry: an IPv4 or IPv6 address, optionally with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`), as some proxies write them.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// Parses a `--trusted-proxy` value: a CIDR range (`10.0.0.0/8`, `fd00::/8`) or a single
/// address (a /32 or /128). Bits set past the prefix (`10.0.0.1/8`) are refused, as the
/// example allowlist module does: such a typo would trust more than meant.
pub fn parse_trusted_proxy(s: &str) -> Result<IpNet, String> {
    if let Ok(net) = s.parse::<IpNet>() {
        if net != net.trunc() {
            return Err(format!(
                "{s:?} has bits set past the prefix length (did you mean {}?)",
                net.trunc()
            ));
        }
        return Ok(net);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("expected an address or CIDR range (10.0.0.0/8, fd00::/8), got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|s| parse_trusted_proxy(s).expect("valid range"))
            .collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                X_FORWARDED_FOR,
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        h
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn only_trusted_proxies_vouch_for_tls() {
        let mut h = HeaderMap::new();
        h.append(X_FORWARDED_PROTO, HeaderValue::from_static("http, https"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert!(forwarded_https(peer("10.0.0.5:4000"), &h, &trusted));
        assert!(!forwarded_https(peer("198.51.100.7:4000"), &h, &trusted));
        assert!(!forwarded_https(peer("10.0.0.5:4000"), &h, &[]));
        h.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        assert!(!forwarded_https(peer("10.0.0.5:4000"), &h, &trusted));
        assert!(!forwarded_https(
            peer("10.0.0.5:4000"),
            &HeaderMap::new(),
            &trusted
        ));
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let got = client_addr(peer("10.0.0.5:4000"), &xff(&["203.0.113.9"]), &[]);
        assert_eq!(got, peer("10.0.0.5:4000"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_addr(peer("198.51.100.7:4000"), &xff(&["203.0.113.9"]), &trusted);
        assert_eq!(got, peer("198.51.100.7:4000"));
    }

    #[test]
    fn a_trusted_peer_reports_the_client() {
        let trusted = nets(&["127.0.0.1/32"]);
        let got = client_addr(peer("127.0.0.1:4000"), &xff(&["203.0.113.9"]), &trusted);
        assert_eq!(got, peer("203.0.113.9:0"));
    }

    #[test]
    fn the_rightmost_untrusted_entry_wins_over_forged_ones_to_its_left() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged 1.1.1.1; the outer proxy 10.0.0.2 saw 203.0.113.9.
        let h = xff(&["1.1.1.1, 203.0.113.9", "10.0.0.2"]);
        let got = client_addr(peer("10.0.0.3:80"), &h, &trusted);
        assert_eq!(got.ip(), "203.0.113.9".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn all_trusted_gives_the_leftmost() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_addr(peer("10.0.0.3:80"), &xff(&["10.1.1.1, 10.0.0.2"]), &trusted);
        assert_eq!(got, peer("10.1.1.1:0"));
    }

    #[test]
    fn a_garbage_entry_stops_at_the_nearest_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_addr(peer("10.0.0.3:80"), &xff(&["junk, 10.0.0.2"]), &trusted);
        assert_eq!(got, peer("10.0.0.2:0"));
        let got = client_addr(peer("10.0.0.3:80"), &xff(&["junk"]), &trusted);
        assert_eq!(got, peer("10.0.0.3:80"));
    }

    #[test]
    fn no_header_from_a_trusted_peer_is_the_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_addr(peer("10.0.0.3:80"), &HeaderMap::new(), &trusted);
        assert_eq!(got, peer("10.0.0.3:80"));
    }

    #[test]
    fn ipv6_ranges_and_entries_with_ports() {
        let trusted = nets(&["fd00::/8"]);
        let h = xff(&["[2001:db8::1]:443, fd00::2"]);
        let got = client_addr(peer("[fd00::1]:80"), &h, &trusted);
        assert_eq!(got, peer("[2001:db8::1]:0"));
        let got = client_addr(peer("[fd00::1]:80"), &xff(&["203.0.113.9:5555"]), &trusted);
        assert_eq!(got, peer("203.0.113.9:0"));
    }

    #[test]
    fn ipv4_mapped_peers_are_reported_as_ipv4() {
        // What a policy module sees for an IPv4 client of a dual-stack listener.
        let got = client_addr(peer("[::ffff:192.0.2.1]:80"), &HeaderMap::new(), &[]);
        assert_eq!(got, peer("192.0.2.1:80"));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
        let trusted = nets(&["127.0.0.1/32"]);
        let got = client_addr(
            peer("[::ffff:127.0.0.1]:80"),
            &xff(&["203.0.113.9"]),
            &trusted,
        );
        assert_eq!(got, peer("203.0.113.9:0"));
    }

    #[test]
    fn parsing_ranges() {
        assert_eq!(
            parse_trusted_proxy("10.0.0.0/8").expect("range"),
            "10.0.0.0/8".parse::<IpNet>().expect("net")
        );
        let err = parse_trusted_proxy("10.1.2.3/8").expect_err("host bits");
        assert!(err.contains("10.0.0.0/8"), "{err}");
        assert_eq!(
            parse_trusted_proxy("::1").expect("address"),
            "::1/128".parse::<IpNet>().expect("net")
        );
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.example").is_err());
    }
}
