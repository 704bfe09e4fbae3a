//! Which hosts the proxy door may reach: the project's allowlist (exact names, `*.suffix`, or
//! an address itself), and the addresses never reached unless the allowlist names them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The project's `allow-hosts`, normalised (lower case, no trailing dot).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    exact: Vec<String>,
    /// `*.example.com` is kept as `.example.com`.
    suffixes: Vec<String>,
}

impl AllowList {
    pub fn new<S: AsRef<str>>(entries: &[S]) -> AllowList {
        let mut list = AllowList::default();
        for entry in entries {
            let entry = normalise(entry.as_ref());
            if entry.is_empty() {
                continue;
            }
            match entry.strip_prefix('*') {
                Some(suffix) if suffix.starts_with('.') && suffix.len() > 1 => {
                    list.suffixes.push(suffix.to_string())
                }
                _ => list.exact.push(entry),
            }
        }
        list
    }

    /// Whether `host` (a name or an address literal) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = normalise(host);
        self.exact.contains(&host) || self.suffixes.iter().any(|s| host.ends_with(s.as_str()))
    }

    /// Whether the allowlist names `ip` itself, the one way a private address is reached.
    pub fn names_address(&self, ip: IpAddr) -> bool {
        self.exact
            .iter()
            .any(|e| e.trim_matches(['[', ']']).parse::<IpAddr>() == Ok(ip))
    }
}

fn normalise(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Loopback, private, link-local (cloud metadata lives there: 169.254.169.254), shared
/// (carrier-grade NAT), unspecified, multicast and broadcast addresses, in IPv4 and IPv6
/// (an IPv4 address inside an IPv6 one counts as that IPv4 address).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is AWS's metadata)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed by some)
        // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96)
        // carry an IPv4 address.
        || ip.to_ipv4().is_some_and(is_internal_v4)
        || (ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            && is_internal_v4(Ipv4Addr::from(
                (u32::from(ip.segments()[6]) << 16) | u32::from(ip.segments()[7]),
            )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn exact_names_and_suffixes_match_without_case_or_trailing_dot() {
        let list = AllowList::new(&["registry.npmjs.org", "*.pythonhosted.org", " ", "*."]);
        assert!(list.allows("registry.npmjs.org"));
        assert!(list.allows("REGISTRY.npmjs.org."));
        assert!(list.allows("files.pythonhosted.org"));
        assert!(!list.allows("pythonhosted.org"), "a suffix is not its apex");
        assert!(!list.allows("evilpythonhosted.org"));
        assert!(!list.allows("npmjs.org"));
        assert!(!list.allows("registry.npmjs.org.evil.invalid"));
        assert!(!list.allows(""));
    }

    #[test]
    fn internal_addresses_are_recognised_in_every_spelling() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal(ip(internal)), "{internal}");
        }
        for public in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "1.1.1.1",
        ] {
            assert!(!is_internal(ip(public)), "{public}");
        }
    }

    #[test]
    fn an_address_is_named_only_by_itself() {
        let list = AllowList::new(&["10.0.0.5", "[::1]", "*.corp.invalid"]);
        assert!(list.names_address(ip("10.0.0.5")));
        assert!(list.names_address(ip("::1")));
        assert!(!list.names_address(ip("10.0.0.6")));
    }
}
