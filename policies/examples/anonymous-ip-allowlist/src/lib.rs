//! Example policy module: S3's standard ACL decision, plus a network
//! allowlist for anonymous requests.
//!
//! Configuration (attached per bucket):
//!
//! ```json
//! {"allow": ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]}
//! ```
//!
//! - An anonymous (unsigned) request is allowed only if its source address is
//!   in one of the CIDR blocks **and** [`standard_decision`] allows it: the
//!   allowlist never grants anything the bucket and object ACLs do not. This
//!   covers the reads public content is published for (`GetObject`,
//!   `HeadObject`, `ListObjects`, `ListObjectsV2`, ...) and every other
//!   anonymous operation too (`HeadBucket`, `GetObjectAcl`, writes to a
//!   `public-read-write` bucket), so nothing public is reachable from outside
//!   the allowed networks.
//! - Signed requests get the standard decision, wherever they come from.
//! - Blocks are IPv4 or IPv6 in CIDR notation (`192.0.2.0/24`,
//!   `2001:db8::/32`); a bare address means a single host (`/32` or `/128`).
//!   Bits set past the prefix length (`10.0.0.1/8`) are a configuration error,
//!   as is anything unparsable. `0.0.0.0/0` allows every IPv4 client and `::/0`
//!   every IPv6 client. IPv4-mapped IPv6 sources (`::ffff:10.1.2.3`, what a
//!   dual-stack listener reports for IPv4 clients) are matched as IPv4.
//! - A missing or invalid configuration fails closed for anonymous requests
//!   (all denied) and is logged at `error` with each anonymous decision;
//!   signed requests are unaffected. An empty list (`{"allow": []}`) is valid
//!   and denies every anonymous request.
//!
//! Build the component with `policies/examples/build.sh`; it lands in
//! `target/wasm/wasm32-wasip2/release/coffer_policy_anonymous_ip_allowlist.wasm`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use coffer_guest_sdk::{Authorizer, Decision, Level, Principal, Request, log, standard_decision};
use serde::Deserialize;

/// A block of addresses in CIDR notation, e.g. `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (no bits set past `len`).
    network: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    len: u8,
}

/// Why a CIDR block could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    Address,
    /// The prefix length is not a decimal number within the family's width.
    PrefixLength,
    /// The address has bits set past the prefix length (`10.0.0.1/8`); the
    /// network address is given as a hint.
    HostBits(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address => f.write_str("not an IPv4 or IPv6 address"),
            Self::PrefixLength => f.write_str("prefix length out of range"),
            Self::HostBits(network) => {
                write!(
                    f,
                    "bits set past the prefix length (did you mean {network}?)"
                )
            }
        }
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// The block's prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `addr` is in this block. Addresses of the other family never
    /// are (after IPv4-mapped IPv6 addresses are treated as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => u32::from(a) & mask_v4(self.len) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask_v6(self.len) == u128::from(net)
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        let (addr, len) = match s.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::Address)?;
        let width = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let len = match len {
            None => width,
            // Digits only: `u8::from_str` would also take `+8`.
            Some(len)
                if !len.is_empty() && len.len() <= 3 && len.bytes().all(|b| b.is_ascii_digit()) =>
            {
                len.parse::<u8>().map_err(|_| CidrError::PrefixLength)?
            }
            Some(_) => return Err(CidrError::PrefixLength),
        };
        if len > width {
            return Err(CidrError::PrefixLength);
        }
        let network = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_v4(len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_v6(len))),
        };
        if network != addr {
            return Err(CidrError::HostBits(format!("{network}/{len}")));
        }
        // An IPv4-mapped block (`::ffff:10.0.0.0/104`) is the IPv4 block it
        // maps, since sources are matched as IPv4 too.
        Ok(match network {
            IpAddr::V6(v6) if len >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Self {
                    network: IpAddr::V4(v4),
                    len: len - 96,
                },
                None => Self { network, len },
            },
            _ => Self { network, len },
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

/// The netmask of an IPv4 prefix of `len` bits (`len` <= 32).
fn mask_v4(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// The netmask of an IPv6 prefix of `len` bits (`len` <= 128).
fn mask_v6(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// `addr`, with IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) turned into
/// IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The configuration as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    allow: Vec<String>,
}

/// The module's configuration, as attached to a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Blocks anonymous requests may come from.
    pub allow: Vec<Cidr>,
}

/// Why a bucket's configuration could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The module is attached without a configuration.
    Missing,
    /// The configuration is not `{"allow": [string, ...]}`.
    Malformed(serde_json::Error),
    /// An entry of `allow` is not a CIDR block.
    Cidr {
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        error: CidrError,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no configuration attached"),
            Self::Malformed(e) => write!(f, "invalid configuration: {e}"),
            Self::Cidr { entry, error } => {
                write!(f, "invalid configuration: allow entry {entry:?}: {error}")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Missing => None,
            Self::Malformed(e) => Some(e),
            Self::Cidr { error, .. } => Some(error),
        }
    }
}

impl Config {
    /// Parse the JSON configuration attached to the bucket (`None` when the
    /// operator attached none). One bad entry invalidates the whole
    /// configuration: silently dropping it could lock out a network the
    /// operator meant to allow, or hide a typo that allows too much.
    pub fn parse(config: Option<&str>) -> Result<Self, ConfigError> {
        let json = config.ok_or(ConfigError::Missing)?;
        let raw: RawConfig = serde_json::from_str(json).map_err(ConfigError::Malformed)?;
        let allow = raw
            .allow
            .into_iter()
            .map(|entry| match entry.parse() {
                Ok(cidr) => Ok(cidr),
                Err(error) => Err(ConfigError::Cidr { entry, error }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allow })
    }

    /// Whether `addr` is in one of the allowed blocks.
    pub fn allows(&self, addr: IpAddr) -> bool {
        self.allow.iter().any(|cidr| cidr.contains(addr))
    }
}

/// The decision for `req` given its parsed configuration: anonymous requests
/// must come from an allowed network, then every request gets the standard
/// ACL decision.
pub fn decide(req: &Request, config: &Result<Config, ConfigError>) -> Decision {
    if req.principal == Principal::Anonymous {
        let config = match config {
            Ok(config) => config,
            Err(e) => {
                return Decision::deny(format!("anonymous request denied ({e})"));
            }
        };
        // The host always sends a valid address; anything else fails closed.
        let Ok(source) = req.source_ip.parse::<IpAddr>() else {
            return Decision::deny(format!(
                "anonymous request denied: unparsable source address {:?}",
                req.source_ip
            ));
        };
        if !config.allows(source) {
            return Decision::deny(format!(
                "anonymous request denied: {source} is not in the allowlist"
            ));
        }
    }
    standard_decision(req)
}

/// The module's authorizer.
pub struct AnonymousIpAllowlist;

impl Authorizer for AnonymousIpAllowlist {
    fn authorize(req: &Request) -> Decision {
        // Signed requests never look at the configuration.
        if req.principal != Principal::Anonymous {
            return standard_decision(req);
        }
        let config = Config::parse(req.config.as_deref());
        if let Err(e) = &config {
            log(
                Level::Error,
                &format!("{e}; anonymous requests are denied until it is fixed"),
            );
        }
        decide(req, &config)
    }
}

coffer_guest_sdk::export_authorizer!(AnonymousIpAllowlist);

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_guest_sdk::{Acl, canned_acl};

    const OWNER: &str = "owner-id";
    const CONFIG: &str = r#"{"allow": ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]}"#;

    /// A request from `ip` on a `public-read` bucket `b` and, for object
    /// operations, a `public-read` object `k`, both owned by OWNER.
    fn req(op: &str, principal: Principal, ip: &str, config: Option<&str>) -> Request {
        let mut req = Request::new(op, principal);
        req.bucket = Some("b".into());
        req.source_ip = ip.into();
        req.bucket_owner = Some(OWNER.into());
        req.bucket_acl = Some(canned_acl("public-read", OWNER, None).unwrap());
        if !op.starts_with("List") && op != "HeadBucket" {
            req.key = Some("k".into());
            req.object_owner = Some(OWNER.into());
            req.object_acl = Some(canned_acl("public-read", OWNER, Some(OWNER)).unwrap());
        }
        req.config = config.map(Into::into);
        req
    }

    fn authorize(r: &Request) -> Decision {
        AnonymousIpAllowlist::authorize(r)
    }

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const READS: &[&str] = &[
        "GetObject",
        "HeadObject",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "HeadBucket",
    ];

    #[test]
    fn anonymous_reads_only_from_allowed_networks() {
        for op in READS {
            for source in [
                "10.0.0.0",
                "10.255.255.255",
                "127.0.0.1",
                "::1",
                "::ffff:10.1.2.3",
            ] {
                let r = req(op, Principal::Anonymous, source, Some(CONFIG));
                assert!(authorize(&r).is_allowed(), "{op} from {source}");
            }
            for source in [
                "11.0.0.0",
                "9.255.255.255",
                "127.0.0.2",
                "::2",
                "192.0.2.1",
                "2001:db8::1",
            ] {
                let r = req(op, Principal::Anonymous, source, Some(CONFIG));
                let d = authorize(&r);
                assert!(!d.is_allowed(), "{op} from {source}");
                let Decision::Deny(reason) = d else {
                    unreachable!()
                };
                assert!(reason.contains("not in the allowlist"), "{reason}");
            }
        }
    }

    #[test]
    fn acl_is_still_required_from_allowed_networks() {
        // A private object: anonymous is denied even from inside.
        let mut r = req("GetObject", Principal::Anonymous, "10.1.2.3", Some(CONFIG));
        r.object_acl = Some(Acl::owned_by(OWNER));
        let d = authorize(&r);
        assert!(!d.is_allowed());
        assert_eq!(d, standard_decision(&r));
        // A private bucket: no anonymous listing either.
        let mut r = req(
            "ListObjectsV2",
            Principal::Anonymous,
            "10.1.2.3",
            Some(CONFIG),
        );
        r.bucket_acl = Some(Acl::owned_by(OWNER));
        assert!(!authorize(&r).is_allowed());
        // Nor writes to a public-read bucket.
        let r = req("PutObject", Principal::Anonymous, "10.1.2.3", Some(CONFIG));
        assert!(!authorize(&r).is_allowed());
        // Nor account-level operations.
        let mut r = req(
            "ListBuckets",
            Principal::Anonymous,
            "10.1.2.3",
            Some(CONFIG),
        );
        r.bucket = None;
        assert!(!authorize(&r).is_allowed());
        // Unknown operations fail closed.
        let r = req(
            "SelectObjectContent",
            Principal::Anonymous,
            "10.1.2.3",
            Some(CONFIG),
        );
        assert!(!authorize(&r).is_allowed());
    }

    #[test]
    fn every_anonymous_operation_is_gated() {
        // Writes to a public-read-write bucket are allowed from inside only.
        let mut r = req("PutObject", Principal::Anonymous, "10.1.2.3", Some(CONFIG));
        r.bucket_acl = Some(canned_acl("public-read-write", OWNER, None).unwrap());
        assert!(authorize(&r).is_allowed());
        r.source_ip = "192.0.2.1".into();
        assert!(!authorize(&r).is_allowed());
        // Object ACLs readable by everyone: same.
        let mut r = req(
            "GetObjectAcl",
            Principal::Anonymous,
            "192.0.2.1",
            Some(CONFIG),
        );
        r.object_acl = Some(Acl::owned_by(OWNER).with_grant(
            coffer_guest_sdk::Grantee::Group(coffer_guest_sdk::Group::AllUsers),
            coffer_guest_sdk::Permission::ReadAcp,
        ));
        assert!(!authorize(&r).is_allowed());
        r.source_ip = "10.0.0.1".into();
        assert!(authorize(&r).is_allowed());
    }

    #[test]
    fn signed_requests_get_the_standard_decision_from_anywhere() {
        for config in [
            Some(CONFIG),
            None,
            Some("{"),
            Some(r#"{"allow": ["nope"]}"#),
        ] {
            for source in ["192.0.2.1", "2001:db8::1", "garbage"] {
                // The owner may do anything; a stranger may read public data.
                for (principal, op, allowed) in [
                    (Principal::account(OWNER), "PutObject", true),
                    (Principal::account(OWNER), "GetObject", true),
                    (Principal::account("stranger"), "GetObject", true),
                    (Principal::account("stranger"), "ListObjectsV2", true),
                    (Principal::account("stranger"), "PutObject", false),
                    (Principal::account("stranger"), "DeleteBucket", false),
                ] {
                    let r = req(op, principal, source, config);
                    assert_eq!(authorize(&r), standard_decision(&r));
                    assert_eq!(authorize(&r).is_allowed(), allowed, "{op} {config:?}");
                }
            }
        }
    }

    #[test]
    fn invalid_or_missing_config_denies_anonymous() {
        for config in [
            None,
            Some(""),
            Some("{"),
            Some("{}"),
            Some(r#"{"allow": "10.0.0.0/8"}"#),
            Some(r#"{"allow": ["10.0.0.0/8", "bogus"]}"#),
            Some(r#"{"allow": ["10.0.0.1/8"]}"#),
            Some(r#"{"allow": ["10.0.0.0/8"], "deny": []}"#),
        ] {
            let r = req("GetObject", Principal::Anonymous, "10.1.2.3", config);
            assert!(!authorize(&r).is_allowed(), "{config:?}");
        }
    }

    #[test]
    fn empty_allowlist_denies_every_anonymous_request() {
        let r = req(
            "GetObject",
            Principal::Anonymous,
            "127.0.0.1",
            Some(r#"{"allow": []}"#),
        );
        assert!(!authorize(&r).is_allowed());
    }

    #[test]
    fn unparsable_source_fails_closed() {
        for source in ["", "10.1.2.3:80", "fe80::1%eth0", "10.1.2", "localhost"] {
            let r = req("GetObject", Principal::Anonymous, source, Some(CONFIG));
            assert!(!authorize(&r).is_allowed(), "{source:?}");
        }
    }

    #[test]
    fn zero_prefix_covers_one_family() {
        let v4 = cidr("0.0.0.0/0");
        assert!(v4.contains(ip("0.0.0.0")));
        assert!(v4.contains(ip("255.255.255.255")));
        assert!(v4.contains(ip("::ffff:192.0.2.1")));
        assert!(!v4.contains(ip("::1")));
        assert!(!v4.contains(ip("2001:db8::1")));
        let v6 = cidr("::/0");
        assert!(v6.contains(ip("::")));
        assert!(v6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(v6.contains(ip("2001:db8::1")));
        assert!(!v6.contains(ip("192.0.2.1")));
        // A mapped source is IPv4, whatever block it is checked against.
        assert!(!v6.contains(ip("::ffff:192.0.2.1")));
        // Both families: list both.
        let c = Config::parse(Some(r#"{"allow": ["0.0.0.0/0", "::/0"]}"#)).unwrap();
        for a in ["1.2.3.4", "2001:db8::1", "::"] {
            assert!(c.allows(ip(a)), "{a}");
        }
    }

    #[test]
    fn host_routes() {
        let c = cidr("192.0.2.7/32");
        assert!(c.contains(ip("192.0.2.7")));
        assert!(!c.contains(ip("192.0.2.6")));
        assert!(!c.contains(ip("192.0.2.8")));
        assert_eq!(cidr("192.0.2.7"), c, "a bare address is a /32");
        let c = cidr("2001:db8::7/128");
        assert!(c.contains(ip("2001:db8::7")));
        assert!(!c.contains(ip("2001:db8::6")));
        assert!(!c.contains(ip("2001:db8::8")));
        assert_eq!(cidr("2001:db8::7"), c, "a bare address is a /128");
    }

    #[test]
    fn block_boundaries() {
        let c = cidr("192.0.2.0/24");
        assert!(c.contains(ip("192.0.2.0")));
        assert!(c.contains(ip("192.0.2.255")));
        assert!(!c.contains(ip("192.0.1.255")));
        assert!(!c.contains(ip("192.0.3.0")));
        let c = cidr("192.0.2.128/25");
        assert!(c.contains(ip("192.0.2.128")));
        assert!(!c.contains(ip("192.0.2.127")));
        let c = cidr("128.0.0.0/1");
        assert!(c.contains(ip("255.0.0.1")));
        assert!(!c.contains(ip("127.255.255.255")));
        let c = cidr("2001:db8::/32");
        assert!(c.contains(ip("2001:db8::")));
        assert!(c.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!c.contains(ip("2001:db9::")));
        assert!(!c.contains(ip("2001:db7:ffff::")));
        let c = cidr("fe80::/10");
        assert!(c.contains(ip("febf::1")));
        assert!(!c.contains(ip("fec0::1")));
        let c = cidr("2001:db8::/127");
        assert!(c.contains(ip("2001:db8::1")));
        assert!(!c.contains(ip("2001:db8::2")));
    }

    #[test]
    fn mapped_blocks_and_sources_are_ipv4() {
        let c = cidr("::ffff:10.0.0.0/104");
        assert_eq!(c, cidr("10.0.0.0/8"));
        assert!(c.contains(ip("10.9.9.9")));
        assert!(c.contains(ip("::ffff:10.9.9.9")));
        // `::ffff:0:0/96` is every IPv4 address.
        assert_eq!(cidr("::ffff:0:0/96"), cidr("0.0.0.0/0"));
        // A shorter block around the mapped range stays IPv6.
        let c = cidr("::/64");
        assert!(c.contains(ip("::1")));
        assert!(!c.contains(ip("::ffff:10.0.0.1")));
        // IPv4-compatible (deprecated) addresses are not mapped ones.
        assert!(!cidr("10.0.0.0/8").contains(ip("::10.0.0.1")));
    }

    #[test]
    fn cidr_parse_errors() {
        for (s, error) in [
            ("", CidrError::Address),
            ("/8", CidrError::Address),
            ("10.0.0/8", CidrError::Address),
            ("10.0.0.256/32", CidrError::Address),
            ("010.0.0.0/8", CidrError::Address),
            (" 10.0.0.0/8", CidrError::Address),
            ("[::1]/128", CidrError::Address),
            ("fe80::1%eth0/128", CidrError::Address),
            ("example.com/32", CidrError::Address),
            ("10.0.0.0/", CidrError::PrefixLength),
            ("10.0.0.0/33", CidrError::PrefixLength),
            ("10.0.0.0/-1", CidrError::PrefixLength),
            ("10.0.0.0/+8", CidrError::PrefixLength),
            ("10.0.0.0/8 ", CidrError::PrefixLength),
            ("10.0.0.0/0x8", CidrError::PrefixLength),
            ("10.0.0.0/8/8", CidrError::PrefixLength),
            ("10.0.0.0/0008", CidrError::PrefixLength),
            ("10.0.0.0/256", CidrError::PrefixLength),
            ("::/129", CidrError::PrefixLength),
            ("::1/255", CidrError::PrefixLength),
            ("10.0.0.1/8", CidrError::HostBits("10.0.0.0/8".into())),
            ("0.0.0.1/0", CidrError::HostBits("0.0.0.0/0".into())),
            ("::1/0", CidrError::HostBits("::/0".into())),
            (
                "2001:db8::1/32",
                CidrError::HostBits("2001:db8::/32".into()),
            ),
        ] {
            assert_eq!(s.parse::<Cidr>(), Err(error), "{s:?}");
        }
        assert_eq!(cidr("10.0.0.0/08"), cidr("10.0.0.0/8"));
        assert_eq!(cidr("10.0.0.0/8").prefix_len(), 8);
        assert_eq!(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
    }

    #[test]
    fn config_parsing() {
        let c = Config::parse(Some(CONFIG)).unwrap();
        assert_eq!(
            c.allow,
            vec![cidr("10.0.0.0/8"), cidr("127.0.0.1/32"), cidr("::1/128")]
        );
        assert!(matches!(Config::parse(None), Err(ConfigError::Missing)));
        for bad in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"allow": null}"#,
            r#"{"allow": [10]}"#,
            r#"{"Allow": ["10.0.0.0/8"]}"#,
            r#"{"allow": ["10.0.0.0/8"], "log": true}"#,
        ] {
            assert!(
                matches!(Config::parse(Some(bad)), Err(ConfigError::Malformed(_))),
                "{bad:?}"
            );
        }
        let e = Config::parse(Some(r#"{"allow": ["10.0.0.0/8", "10.1.0.1/16"]}"#)).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Cidr { entry, .. } if entry == "10.1.0.1/16"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "invalid configuration: allow entry \"10.1.0.1/16\": bits set past the prefix \
             length (did you mean 10.1.0.0/16?)"
        );
    }
}
