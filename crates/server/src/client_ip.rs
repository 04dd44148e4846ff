//! Who is asking: the socket peer, or — only when that peer is a configured trusted proxy —
//! the address the proxy reports in `X-Forwarded-For`. Any client can write that header, so
//! believing it from anyone else would let a caller choose the IP a device shows.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`http.trusted_proxies`); inserted into
/// every request by [`crate::router`]. Absent or empty: the header is ignored.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// From the parsed configuration.
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers`. Behind trusted proxies,
    /// `X-Forwarded-For` is read from the right (the hop nearest to us) and the first address
    /// that is not a trusted proxy is the client; an entry that is not an address stops the
    /// walk at the last hop we could believe.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(|p| p.to_canonical())?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let h = headers(&["203.0.113.9"]);
        assert_eq!(none.client(ip("198.51.100.7"), &h), ip("198.51.100.7"));
        // A direct client that is not a configured proxy cannot choose its IP either.
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(p.client(ip("198.51.100.7"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        // client → 10.1.1.1 (edge proxy) → 127.0.0.1 (local proxy) → us
        let h = headers(&["6.6.6.6, 203.0.113.9", "10.1.1.1"]);
        // The spoofed left-most entry (written by the client) is not believed.
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        // Ports and IPv4-mapped IPv6 peers.
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(p.client(ip("::ffff:127.0.0.1"), &h), ip("2001:db8::1"));
        // Garbage stops the walk at the last believable hop.
        let h = headers(&["203.0.113.9, not-an-ip, 10.2.2.2"]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("10.2.2.2"));
        // No header: the proxy itself.
        assert_eq!(
            p.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        assert_eq!(p.client(None, &h), None);
    }
}
