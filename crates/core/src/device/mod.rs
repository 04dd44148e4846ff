//! The device factor's pure parts (docs/protocol.md): device key pairs, the canonical messages
//! a device signs, the `tessera://` links in enrollment and QR-login codes, and the wire types
//! server and client exchange.
//!
//! Everything a signature covers is built here, once, so the signer (crates/client, the app) and
//! the verifier (crates/server) cannot disagree on a byte.

pub mod key;
pub mod link;
pub mod message;
pub mod wire;

pub use key::{verify, DeviceKey, SignatureAlgorithm, SignatureError};
pub use link::{EnrollLink, QrLoginLink};
pub use message::{Decision, EnrollmentProof, PushAnswer, QrLoginAnswer, RequestAuth};
pub use wire::{DeviceNetwork, PushContext, PushState};
