//! The canonical byte strings that devices and the server sign (docs/protocol.md §Signatures).
//!
//! Every message is domain-separated by a tag naming its purpose and protocol version, and every
//! field is length-prefixed (u32, big-endian), so no two different messages — of one kind or of
//! two kinds — can ever encode to the same bytes. A signature over one can never be replayed as
//! another: an approval is bound to its server origin, transaction, nonce, decision, number,
//! expiry and the hash of the context the user saw.

use crate::device::key::SignatureAlgorithm;
use crate::device::wire::PushContext;

/// What the user decided about a push or a QR login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Yes, it's me.
    Approve,
    /// No.
    Deny,
    /// "This wasn't me": deny, and tell the server someone else has the password.
    NotMe,
}

impl Decision {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
            Decision::NotMe => "not_me",
        }
    }
}

/// Builds `len(tag) ‖ tag ‖ (len(field) ‖ field)*`.
fn canonical(tag: &str, fields: &[&[u8]]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(tag.len() + 4 + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    for part in std::iter::once(tag.as_bytes()).chain(fields.iter().copied()) {
        // Fields are bounded far below 4 GiB by every caller; saturate rather than wrap.
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// SHA-256 over the canonical form of the context a device displays. Both sides compute it;
/// the device signs it, so an approval is void if the server's stored context differs.
pub fn context_hash(context: &PushContext) -> [u8; 32] {
    let bytes = canonical(
        "tessera/v1/push-context",
        &[
            context.application.as_bytes(),
            context.origin.as_bytes(),
            context.ip.as_bytes(),
            context.location.as_bytes(),
            context.user_agent.as_bytes(),
            &context.created_at.to_be_bytes(),
            context.device_network.as_str().as_bytes(),
            context.device_network_prefix.as_bytes(),
        ],
    );
    crate::crypto::sha256(&bytes)
}

/// A device proves possession of its new key during enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentProof {
    /// The server origin the device is enrolling with (pinned from then on).
    pub origin: String,
    /// The enrollment transaction id from the server.
    pub enrollment_id: String,
    /// The server's random challenge (base64url).
    pub challenge: String,
    /// The new public key.
    pub public_key: Vec<u8>,
    /// Its algorithm.
    pub algorithm: SignatureAlgorithm,
    /// The device's name as the user will see it.
    pub device_name: String,
    /// Whether user verification gates use of the key.
    pub user_verification: bool,
}

impl EnrollmentProof {
    /// The bytes to sign.
    pub fn signing_bytes(&self) -> Vec<u8> {
        canonical(
            "tessera/v1/enroll",
            &[
                self.origin.as_bytes(),
                self.enrollment_id.as_bytes(),
                self.challenge.as_bytes(),
                &self.public_key,
                self.algorithm.as_str().as_bytes(),
                self.device_name.as_bytes(),
                &[u8::from(self.user_verification)],
            ],
        )
    }
}

/// A device's answer to a push challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAnswer {
    /// The server origin the device pinned at enrollment.
    pub origin: String,
    /// The answering device.
    pub device_id: String,
    /// The push transaction.
    pub transaction_id: String,
    /// The challenge's nonce (fresh per transaction).
    pub nonce: String,
    /// The user's decision.
    pub decision: Decision,
    /// The number the user typed or picked (absent for deny / not me).
    pub number: Option<u32>,
    /// The challenge's expiry, as the device was told.
    pub expires_at: u64,
    /// `context_hash` of what the device displayed.
    pub context_hash: [u8; 32],
}

impl PushAnswer {
    /// The bytes to sign.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let number = self.number.map(|n| n.to_string()).unwrap_or_default();
        canonical(
            "tessera/v1/push-answer",
            &[
                self.origin.as_bytes(),
                self.device_id.as_bytes(),
                self.transaction_id.as_bytes(),
                self.nonce.as_bytes(),
                self.decision.as_str().as_bytes(),
                number.as_bytes(),
                &self.expires_at.to_be_bytes(),
                &self.context_hash,
            ],
        )
    }
}

/// A device's answer to a QR-login request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrLoginAnswer {
    /// The server origin the device pinned.
    pub origin: String,
    /// The answering device.
    pub device_id: String,
    /// The login-session index from the QR code.
    pub lsi: String,
    /// Approve or deny.
    pub decision: Decision,
    /// The session's expiry, as the device was told.
    pub expires_at: u64,
    /// `context_hash` of the requester details the device displayed.
    pub context_hash: [u8; 32],
}

impl QrLoginAnswer {
    /// The bytes to sign.
    pub fn signing_bytes(&self) -> Vec<u8> {
        canonical(
            "tessera/v1/qr-login-answer",
            &[
                self.origin.as_bytes(),
                self.device_id.as_bytes(),
                self.lsi.as_bytes(),
                self.decision.as_str().as_bytes(),
                &self.expires_at.to_be_bytes(),
                &self.context_hash,
            ],
        )
    }
}

/// Authenticates one HTTP request of a device (headers `Tessera-Device`, `Tessera-Timestamp`,
/// `Tessera-Nonce`, `Tessera-Signature`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAuth {
    /// The server origin.
    pub origin: String,
    /// The device.
    pub device_id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path and query, exactly as sent.
    pub path_and_query: String,
    /// Unix seconds when signed; the server accepts a small window.
    pub timestamp: u64,
    /// A random value the server remembers for the window, so a request cannot be replayed.
    pub nonce: String,
    /// SHA-256 of the body (empty body: SHA-256 of nothing).
    pub body_sha256: [u8; 32],
}

impl RequestAuth {
    /// The bytes to sign.
    pub fn signing_bytes(&self) -> Vec<u8> {
        canonical(
            "tessera/v1/request",
            &[
                self.origin.as_bytes(),
                self.device_id.as_bytes(),
                self.method.as_bytes(),
                self.path_and_query.as_bytes(),
                &self.timestamp.to_be_bytes(),
                self.nonce.as_bytes(),
                &self.body_sha256,
            ],
        )
    }
}

/// What the server signs when it hands a push challenge to a device, so a device that pinned
/// the server key refuses challenges from anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeStatement {
    /// The server origin.
    pub origin: String,
    /// The transaction.
    pub transaction_id: String,
    /// Its nonce.
    pub nonce: String,
    /// Its expiry.
    pub expires_at: u64,
    /// Hash of the context shown with it.
    pub context_hash: [u8; 32],
    /// The numbers offered when the policy is "pick one of three" (empty when the user types it).
    pub number_choices: Vec<u32>,
}

impl ChallengeStatement {
    /// The bytes the server signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let choices = self
            .number_choices
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        canonical(
            "tessera/v1/push-challenge",
            &[
                self.origin.as_bytes(),
                self.transaction_id.as_bytes(),
                self.nonce.as_bytes(),
                &self.expires_at.to_be_bytes(),
                &self.context_hash,
                choices.as_bytes(),
            ],
        )
    }
}

/// SHA-256, for request bodies ([`crate::crypto::sha256`]).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    crate::crypto::sha256(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> PushAnswer {
        PushAnswer {
            origin: "http://127.0.0.1:8377".into(),
            device_id: "dev_1".into(),
            transaction_id: "tx".into(),
            nonce: "n".into(),
            decision: Decision::Approve,
            number: Some(42),
            expires_at: 100,
            context_hash: [7; 32],
        }
    }

    #[test]
    fn every_field_changes_the_bytes() {
        let base = answer().signing_bytes();
        type Change = Box<dyn Fn(&mut PushAnswer)>;
        let variants: Vec<Change> = vec![
            Box::new(|a| a.origin.push('x')),
            Box::new(|a| a.device_id.push('x')),
            Box::new(|a| a.transaction_id.push('x')),
            Box::new(|a| a.nonce.push('x')),
            Box::new(|a| a.decision = Decision::Deny),
            Box::new(|a| a.number = Some(43)),
            Box::new(|a| a.number = None),
            Box::new(|a| a.expires_at = 101),
            Box::new(|a| a.context_hash[0] = 8),
        ];
        for change in variants {
            let mut a = answer();
            change(&mut a);
            assert_ne!(a.signing_bytes(), base);
        }
    }

    #[test]
    fn the_device_network_is_bound_to_the_context_hash() {
        use crate::device::wire::DeviceNetwork;
        let base = PushContext {
            ip: "203.0.113.7".into(),
            device_network: DeviceNetwork::Different,
            device_network_prefix: "198.51.100.0/24".into(),
            ..PushContext::default()
        };
        let same = PushContext {
            device_network: DeviceNetwork::Same,
            ..base.clone()
        };
        let other_prefix = PushContext {
            device_network_prefix: "198.51.101.0/24".into(),
            ..base.clone()
        };
        assert_ne!(context_hash(&base), context_hash(&same));
        assert_ne!(context_hash(&base), context_hash(&other_prefix));
        // The wire form the device receives and hashes.
        let json = serde_json::to_value(&base).unwrap();
        assert_eq!(json["device_network"], "different");
        assert_eq!(json["device_network_prefix"], "198.51.100.0/24");
        let old: PushContext = serde_json::from_str(r#"{"ip":"192.0.2.1"}"#).unwrap();
        assert_eq!(
            old.device_network,
            DeviceNetwork::Unknown,
            "absent: unknown"
        );
    }

    #[test]
    fn length_prefixes_stop_field_shifting() {
        let mut a = answer();
        a.transaction_id = "txn".into();
        a.nonce = "".into();
        let mut b = answer();
        b.transaction_id = "tx".into();
        b.nonce = "nn".into();
        // "tx"+"n" vs "txn"+"": same concatenation, different messages.
        assert_ne!(a.signing_bytes(), b.signing_bytes());
    }

    #[test]
    fn kinds_are_domain_separated() {
        let q = QrLoginAnswer {
            origin: "o".into(),
            device_id: "d".into(),
            lsi: "l".into(),
            decision: Decision::Approve,
            expires_at: 1,
            context_hash: [0; 32],
        };
        assert!(q
            .signing_bytes()
            .windows(25)
            .any(|w| w == b"tessera/v1/qr-login-answe"));
        assert!(!answer()
            .signing_bytes()
            .windows(8)
            .any(|w| w == b"qr-login"));
    }
}
