//! JSON shapes exchanged by the server, devices and relying parties (docs/protocol.md).
//! Binary values travel as unpadded base64url.

use serde::{Deserialize, Serialize};

use crate::device::key::SignatureAlgorithm;
use crate::device::message::Decision;

/// What a relying party tells about a sign-in attempt, shown to the user on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PushContext {
    /// The application name ("Payroll").
    pub application: String,
    /// The web origin the user is signing in to.
    pub origin: String,
    /// The requester's IP address.
    pub ip: String,
    /// A coarse location ("Lisbon, PT"), or empty.
    pub location: String,
    /// The requester's user agent.
    pub user_agent: String,
    /// When the attempt started (Unix seconds).
    pub created_at: u64,
    /// How the requester's network compares with the receiving device's last known one. Set by
    /// the server (whatever a relying party sends is replaced), per device.
    pub device_network: DeviceNetwork,
    /// The receiving device's last known network ("198.51.100.0/24", "2001:db8:1:2::/64"), or
    /// empty when the server has not seen the device's address. Set by the server.
    pub device_network_prefix: String,
}

/// The requester's network against the device's last known one (docs/protocol.md, "Requester
/// and device network").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceNetwork {
    /// The same IPv4 /24 or IPv6 /64 (or both on the server's own machine).
    Same,
    /// Different networks: the app warns.
    Different,
    /// One of the two addresses is not known.
    #[default]
    Unknown,
}

impl DeviceNetwork {
    /// The wire name, also what [`crate::device::message::context_hash`] covers.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceNetwork::Same => "same",
            DeviceNetwork::Different => "different",
            DeviceNetwork::Unknown => "unknown",
        }
    }
}

/// A pending push as a device receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushChallenge {
    /// The transaction id (≥128 bits, base64url).
    pub transaction_id: String,
    /// A fresh nonce the answer must sign.
    pub nonce: String,
    /// The server origin.
    pub origin: String,
    /// What to show the user.
    pub context: PushContext,
    /// Expiry (Unix seconds).
    pub expires_at: u64,
    /// "Pick one of three" policy: the choices; empty when the user types the number.
    #[serde(default)]
    pub number_choices: Vec<u32>,
    /// The server's Ed25519 signature over the `ChallengeStatement` (base64url).
    pub server_signature: String,
}

/// A device's signed answer to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAnswerRequest {
    /// approve | deny | not_me
    pub decision: Decision,
    /// The number the user entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Signature over the `PushAnswer` message (base64url).
    pub signature: String,
}

/// Device registration, second step of enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollFinishRequest {
    /// From the first step.
    pub enrollment_id: String,
    /// The new public key (base64url).
    pub public_key: String,
    /// Its algorithm.
    pub algorithm: SignatureAlgorithm,
    /// Device name shown to the user and admins.
    pub device_name: String,
    /// Operating system / platform ("linux", "windows", "macos", "cli").
    pub platform: String,
    /// Whether user verification gates the key.
    pub user_verification: bool,
    /// Signature over the `EnrollmentProof` (base64url).
    pub signature: String,
}

/// First enrollment step: the device presents the code from the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollBeginRequest {
    /// The single-use enrollment code.
    pub code: String,
}

/// The server's answer to [`EnrollBeginRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollBeginResponse {
    /// Names this enrollment in the proof and in `enroll/finish`.
    pub enrollment_id: String,
    /// A fresh random challenge the device signs (base64url).
    pub challenge: String,
    /// The server's Ed25519 identity public key (base64url); its SHA-256 must match the link's `sk`.
    pub server_public_key: String,
    /// The user the device will belong to, for display.
    pub user: String,
}

/// The server's answer to [`EnrollFinishRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollFinishResponse {
    /// The new device's id, named in every signed request and answer.
    pub device_id: String,
    /// The user id.
    pub user_id: String,
    /// The paired TOTP authenticator's otpauth URI, when the server provisions one (A0-4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_uri: Option<String>,
}

/// An enrollment offer as the server hands it to an admin or the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollOfferResponse {
    /// The `tessera://enroll?…` link.
    pub link: String,
    /// The link as a QR code (SVG document).
    pub qr_svg: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Where a push transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushState {
    /// Waiting for the device.
    Pending,
    /// Approved with the right number.
    Approved,
    /// Denied, a wrong number, or "this wasn't me".
    Denied,
    /// Nobody answered in time.
    Expired,
}

impl PushState {
    /// The wire and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PushState::Pending => "pending",
            PushState::Approved => "approved",
            PushState::Denied => "denied",
            PushState::Expired => "expired",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(PushState::Pending),
            "approved" => Some(PushState::Approved),
            "denied" => Some(PushState::Denied),
            "expired" => Some(PushState::Expired),
            _ => None,
        }
    }
}

/// A relying party starts a push (`POST /api/v1/push`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushCreateRequest {
    /// The user, by id or username.
    pub user: String,
    /// What the device will show (`created_at` is set by the server).
    #[serde(default)]
    pub context: PushContext,
    /// Lifetime in seconds (default 120, at most 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

/// The server's answer to [`PushCreateRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushCreated {
    /// The transaction id (≥128 bits).
    pub transaction_id: String,
    /// The number to show on the sign-in screen.
    pub number: u32,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A push's outcome as the relying party sees it (`GET /api/v1/push/{tx}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStatus {
    /// The transaction id.
    pub transaction_id: String,
    /// Its state.
    pub state: PushState,
    /// Why it ended: `approved`, `denied`, `wrong_number`, `not_me`, `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A QR-login session's requester details, as a device fetches them to show the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrLoginDetails {
    /// The login-session index.
    pub lsi: String,
    /// The server origin.
    pub origin: String,
    /// Who asked: the context the device shows and whose hash it signs.
    pub context: PushContext,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A device's signed answer to a QR login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrLoginAnswerRequest {
    /// approve | deny
    pub decision: Decision,
    /// Signature over the `QrLoginAnswer` message (base64url).
    pub signature: String,
}

/// A device as listed to its user or an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// `dev_…`
    pub device_id: String,
    /// The owner.
    pub user_id: String,
    /// Name.
    pub name: String,
    /// Platform.
    pub platform: String,
    /// The registered algorithm.
    pub algorithm: SignatureAlgorithm,
    /// Whether user verification gates the key.
    pub user_verification: bool,
    /// Unix seconds.
    pub created_at: u64,
}
