//! The requester's network against the device's last known one, so the device can warn when
//! someone asks from elsewhere (docs/protocol.md, "Requester and device network").
//!
//! The server records the client IP of every authenticated device request
//! ([`crate::device::store::DeviceStore::set_last_ip`]); when a push or a QR login is shown to a
//! device, the requester's IP is compared with it by network: the same IPv4 /24 or IPv6 /64.
//! The verdict is part of the context the device displays and signs, so it is bound to the
//! transaction like the IP itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use tessera_core::device::wire::PushContext;
use tessera_core::device::DeviceNetwork;

/// What one device was told about the requester's network (stored per device with the push or
/// QR session, so the context it signed can be recomputed exactly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkCheck {
    /// Same, different or unknown.
    pub network: DeviceNetwork,
    /// The device's network ("198.51.100.0/24"), empty when unknown.
    pub prefix: String,
}

impl NetworkCheck {
    /// `context` as the device this check belongs to receives it.
    pub fn apply(&self, context: &PushContext) -> PushContext {
        PushContext {
            device_network: self.network,
            device_network_prefix: self.prefix.clone(),
            ..context.clone()
        }
    }
}

/// An address as recorded: parsed and canonical (IPv4-mapped IPv6 is IPv4). `None` for
/// anything that is not an address ("unknown", empty) and for the unspecified address.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let ip = s.trim().parse::<IpAddr>().ok()?.to_canonical();
    (!ip.is_unspecified()).then_some(ip)
}

/// The network compared: the /24 of an IPv4 address, the /64 of an IPv6 one.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{}/24", Ipv4Addr::from(u32::from(v4) & 0xFFFF_FF00)),
        IpAddr::V6(v6) => format!(
            "{}/64",
            Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))
        ),
    }
}

/// Compares the requester's IP (as the context names it) with the device's last known one.
///
/// - Either address unknown (never seen, not an address): `Unknown`, and no prefix when it is
///   the device's that is missing.
/// - Both loopback (IPv4 or IPv6): `Same` — both are on the server's own machine.
/// - One IPv4 and one IPv6: `Unknown` — a dual-stack network reaches the server by both, so
///   the families say nothing about the network.
/// - Otherwise `Same` when the /24 (IPv4) or /64 (IPv6) matches, else `Different`.
pub fn compare(requester_ip: &str, device_last_ip: Option<&str>) -> NetworkCheck {
    let device = device_last_ip.and_then(parse_ip);
    let prefix = device.map(network_of).unwrap_or_default();
    let network = match (parse_ip(requester_ip), device) {
        (Some(r), Some(d)) if r.is_loopback() && d.is_loopback() => DeviceNetwork::Same,
        (Some(r), Some(d)) if r.is_ipv4() != d.is_ipv4() => DeviceNetwork::Unknown,
        (Some(r), Some(d)) if network_of(r) == network_of(d) => DeviceNetwork::Same,
        (Some(_), Some(_)) => DeviceNetwork::Different,
        _ => DeviceNetwork::Unknown,
    };
    NetworkCheck { network, prefix }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(requester: &str, device: Option<&str>) -> (DeviceNetwork, String) {
        let c = compare(requester, device);
        (c.network, c.prefix)
    }

    #[test]
    fn ipv4_compares_the_slash_24() {
        assert_eq!(
            verdict("198.51.100.200", Some("198.51.100.7")),
            (DeviceNetwork::Same, "198.51.100.0/24".into())
        );
        assert_eq!(
            verdict("203.0.113.7", Some("198.51.100.7")),
            (DeviceNetwork::Different, "198.51.100.0/24".into())
        );
        // The neighbouring /24 is another network.
        assert_eq!(
            verdict("198.51.101.7", Some("198.51.100.7")).0,
            DeviceNetwork::Different
        );
    }

    #[test]
    fn ipv6_compares_the_slash_64() {
        assert_eq!(
            verdict("2001:db8:1:2:aaaa::1", Some("2001:db8:1:2::99")),
            (DeviceNetwork::Same, "2001:db8:1:2::/64".into())
        );
        assert_eq!(
            verdict("2001:db8:1:3::1", Some("2001:db8:1:2::99")),
            (DeviceNetwork::Different, "2001:db8:1:2::/64".into())
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_ipv4() {
        assert_eq!(
            verdict("::ffff:198.51.100.9", Some("198.51.100.7")),
            (DeviceNetwork::Same, "198.51.100.0/24".into())
        );
        assert_eq!(
            verdict("203.0.113.7", Some("::ffff:198.51.100.7")),
            (DeviceNetwork::Different, "198.51.100.0/24".into())
        );
    }

    #[test]
    fn loopback_unknown_and_mixed_families_are_handled() {
        assert_eq!(verdict("::1", Some("127.0.0.1")).0, DeviceNetwork::Same);
        assert_eq!(
            verdict("127.0.0.2", Some("127.0.0.1")).0,
            DeviceNetwork::Same
        );
        assert_eq!(
            verdict("203.0.113.7", Some("127.0.0.1")).0,
            DeviceNetwork::Different,
            "a device on the server's machine and a requester elsewhere"
        );
        assert_eq!(
            verdict("203.0.113.7", None),
            (DeviceNetwork::Unknown, String::new())
        );
        assert_eq!(
            verdict("unknown", Some("198.51.100.7")),
            (DeviceNetwork::Unknown, "198.51.100.0/24".into())
        );
        assert_eq!(verdict("", Some("0.0.0.0")).0, DeviceNetwork::Unknown);
        assert_eq!(
            verdict("2001:db8::1", Some("198.51.100.7")).0,
            DeviceNetwork::Unknown
        );
    }
}
