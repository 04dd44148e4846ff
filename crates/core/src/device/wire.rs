//! JSON shapes exchanged by the server, devices and relying parties (docs/protocol.md).
//! Binary values travel as unpadded base64url.

use serde::{Deserialize, Serialize};

use crate::device::key::SignatureAlgorithm;
use crate::device::message::Decision;

/// What a relying party tells about a sign-in attempt, shown to the user on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
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
