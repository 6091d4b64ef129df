//! Which addresses the fetcher may connect to (SSRF): checked on the URL's host when it is
//! an IP literal, and on every address a name resolves to, for the first request and for
//! every redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, as a person reads it (never the URL: it may be a secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A cloud metadata address: refused whatever the settings.
    Metadata,
    /// Loopback, private, link-local, carrier-grade NAT, unspecified, multicast or reserved.
    Private,
}

impl Refusal {
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::Metadata => "a cloud metadata address",
            Refusal::Private => {
                "a loopback, private or link-local address (set fetch.allow_private = true for a server on your LAN)"
            }
        }
    }
}

/// Whether the fetcher may connect to `ip`: `None` when it may.
pub fn check(ip: IpAddr, allow_private: bool) -> Option<Refusal> {
    let ip = match ip {
        // ::ffff:127.0.0.1 is 127.0.0.1.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if is_metadata(ip) {
        return Some(Refusal::Metadata);
    }
    if !allow_private && is_private(ip) {
        return Some(Refusal::Private);
    }
    None
}

fn is_metadata(ip: IpAddr) -> bool {
    const AWS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    match ip {
        // AWS, GCP, Azure, OpenStack, DigitalOcean; Alibaba Cloud.
        IpAddr::V4(v4) => {
            v4 == Ipv4Addr::new(169, 254, 169, 254) || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => v6 == AWS_V6,
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 0.0.0.0/8, carrier-grade NAT 100.64.0.0/10, benchmarking 198.18.0.0/15,
                // reserved 240.0.0.0/4.
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                // NAT64 64:ff9b::/96 could reach an IPv4 private address
                || (first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn private_loopback_link_local_and_metadata_are_refused_by_default() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert_eq!(check(ip(a), false), Some(Refusal::Private), "{a}");
        }
        for a in [
            "169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "::ffff:169.254.169.254",
        ] {
            assert_eq!(check(ip(a), false), Some(Refusal::Metadata), "{a}");
        }
    }

    #[test]
    fn public_addresses_pass_and_allow_private_keeps_metadata_refused() {
        for a in [
            "93.184.215.14",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert_eq!(check(ip(a), false), None, "{a}");
        }
        for a in ["127.0.0.1", "10.0.0.1", "fe80::1", "192.168.0.10"] {
            assert_eq!(check(ip(a), true), None, "{a}");
        }
        assert_eq!(check(ip("169.254.169.254"), true), Some(Refusal::Metadata));
    }
}
