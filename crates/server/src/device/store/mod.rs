//! Storage of the device factor behind [`DeviceStore`]: the records, the trait, and the
//! encodings of stored values both engines share. Its tables (`device_…`) are in the server's
//! one schema (`crate::store::migrations`); [`SqliteDeviceStore`] (`sqlite.rs`) and
//! `crate::store::pg::device::PgDeviceStore` implement it; the tests (`tests.rs`) run one body
//! on both engines.
//!
//! Every state change that must happen once is a compare-and-swap in SQL
//! (`UPDATE … WHERE state = 'pending'`): the row count says who won.

use std::collections::BTreeMap;

use tessera_core::device::wire::PushContext;
pub use tessera_core::device::wire::PushState;
use tessera_core::device::SignatureAlgorithm;

use crate::device::network::NetworkCheck;
use crate::error::{Error, Result};

/// What each device was told about the requester's network, by device id.
pub type DeviceNetworks = BTreeMap<String, NetworkCheck>;

/// An enrollment offer (its code is stored only as a SHA-256 hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollOffer {
    /// Offer id.
    pub id: String,
    /// The user the device will belong to.
    pub user_id: String,
    /// Their name, for display on the device.
    pub username: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; the code is refused from then on.
    pub expires_at: u64,
    /// Set by `enroll/begin`.
    pub enrollment_id: Option<String>,
    /// The challenge the device must sign (set by `enroll/begin`).
    pub challenge: Option<String>,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// `dev_…`
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Name shown to the user and admins.
    pub name: String,
    /// Platform the device reported.
    pub platform: String,
    /// The algorithm registered with the key: the only one its signatures are checked with.
    pub algorithm: SignatureAlgorithm,
    /// The public key.
    pub public_key: Vec<u8>,
    /// Whether user verification gates the key.
    pub user_verification: bool,
    /// Unix seconds.
    pub created_at: u64,
    /// The client IP of the device's most recent authenticated request (or of its enrollment);
    /// `None` until the server has seen one ([`crate::device::network`]).
    pub last_ip: Option<String>,
}

pub(crate) fn parse_push_state(s: &str) -> Result<PushState> {
    PushState::parse(s).ok_or_else(|| Error::Storage(format!("unknown push state `{s}`")))
}

/// A push transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    /// Transaction id (256 bits, base64url).
    pub transaction_id: String,
    /// Whose sign-in this is.
    pub user_id: String,
    /// The nonce the answer must sign.
    pub nonce: String,
    /// The number shown on the sign-in screen.
    pub number: u32,
    /// "Pick one of three": the choices sent to the device (empty: the user types it).
    pub number_choices: Vec<u32>,
    /// What the device shows (without the per-device network fields).
    pub context: PushContext,
    /// The requester's network against each of the user's devices, taken when the push was
    /// created; a device not in the map (enrolled later) is told `unknown`.
    pub device_networks: DeviceNetworks,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// State.
    pub state: PushState,
    /// The device that answered.
    pub device_id: Option<String>,
    /// Why it ended: `approved`, `denied`, `wrong_number`, `not_me`, `expired`.
    pub reason: Option<String>,
}

/// A decision on a push, applied exactly once.
#[derive(Debug, Clone)]
pub struct PushDecision<'a> {
    /// The transaction.
    pub transaction_id: &'a str,
    /// The final state.
    pub state: PushState,
    /// Who answered (none for expiry).
    pub device_id: Option<&'a str>,
    /// Why.
    pub reason: &'static str,
    /// Pause the user's pushes until then ("this wasn't me").
    pub pause_until: Option<u64>,
    /// Unix seconds.
    pub now: u64,
}

/// Where a QR-login session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QrState {
    /// Waiting for a device.
    Pending,
    /// A device approved; the browser may redeem once.
    Approved,
    /// A device denied.
    Denied,
    /// The browser redeemed it (signed in).
    Redeemed,
    /// Nobody answered in time.
    Expired,
}

impl QrState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            QrState::Pending => "pending",
            QrState::Approved => "approved",
            QrState::Denied => "denied",
            QrState::Redeemed => "redeemed",
            QrState::Expired => "expired",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => QrState::Pending,
            "approved" => QrState::Approved,
            "denied" => QrState::Denied,
            "redeemed" => QrState::Redeemed,
            "expired" => QrState::Expired,
            other => return Err(Error::Storage(format!("unknown QR state `{other}`"))),
        })
    }
}

/// A QR-login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSession {
    /// The login-session index (in the QR).
    pub lsi: String,
    /// SHA-256 of the device-session secret (the browser's cookie).
    pub dsi_hash: [u8; 32],
    /// The requester, as the device shows it (without the per-device network fields).
    pub context: PushContext,
    /// The requester's network against each device that fetched the details, taken at its
    /// first fetch.
    pub device_networks: DeviceNetworks,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// State.
    pub state: QrState,
    /// The user who approved (set on approval).
    pub user_id: Option<String>,
    /// The device that answered.
    pub device_id: Option<String>,
}

/// An audit event of the device factor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// The user concerned.
    pub user_id: Option<String>,
    /// `device.enrolled`, `push.approved`, `push.not_me`, …
    pub kind: String,
    /// The device concerned.
    pub device_id: Option<String>,
    /// Free text without secrets.
    pub detail: String,
    /// Unix seconds.
    pub at: u64,
}

/// The device factor's storage. Methods block; handlers call them on tokio's blocking pool.
pub trait DeviceStore: Send + Sync + 'static {
    /// A meta value (the server identity key).
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets a meta value unless present; returns the value now stored.
    fn meta_set_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>>;

    /// Stores a new enrollment offer.
    fn insert_offer(&self, offer: &EnrollOffer, code_hash: [u8; 32]) -> Result<()>;
    /// First enrollment step: the unused, unexpired offer whose code hashes to `code_hash`,
    /// given a (new) enrollment id and challenge.
    fn begin_enrollment(
        &self,
        code_hash: [u8; 32],
        enrollment_id: &str,
        challenge: &str,
        now: u64,
    ) -> Result<Option<EnrollOffer>>;
    /// The unused, unexpired offer in enrollment `enrollment_id`.
    fn find_enrollment(&self, enrollment_id: &str, now: u64) -> Result<Option<EnrollOffer>>;
    /// Consumes the offer (compare-and-swap) and registers the device, in one transaction;
    /// `false` when the offer was already used or expired.
    fn finish_enrollment(
        &self,
        enrollment_id: &str,
        device: &DeviceRecord,
        now: u64,
    ) -> Result<bool>;

    /// A device by id.
    fn device(&self, id: &str) -> Result<Option<DeviceRecord>>;
    /// A user's devices, oldest first.
    fn devices_of(&self, user_id: &str) -> Result<Vec<DeviceRecord>>;
    /// Removes a device; whether it existed. Audited.
    fn delete_device(&self, id: &str, now: u64) -> Result<bool>;
    /// Records the client IP of the device's latest authenticated request.
    fn set_last_ip(&self, device_id: &str, ip: &str) -> Result<()>;
    /// Remembers a request nonce until `expires_at`; `false` if it was already seen.
    fn remember_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool>;

    /// Stores a new push transaction.
    fn insert_push(&self, push: &PushRecord) -> Result<()>;
    /// How many pushes the user got since `since`.
    fn count_pushes_since(&self, user_id: &str, since: u64) -> Result<u64>;
    /// A push by transaction id.
    fn push(&self, transaction_id: &str) -> Result<Option<PushRecord>>;
    /// The user's pending, unexpired pushes, oldest first.
    fn pending_pushes(&self, user_id: &str, now: u64) -> Result<Vec<PushRecord>>;
    /// How many pushes are pending and unexpired, over all users.
    fn count_pending_pushes(&self, now: u64) -> Result<u64>;
    /// Moves a pending push to its final state (compare-and-swap), pauses the user if asked and
    /// audits, in one transaction; `false` when it was no longer pending.
    fn decide_push(&self, decision: &PushDecision<'_>) -> Result<bool>;
    /// The durability setting in force, as SQLite numbers it (1 NORMAL, 2 FULL).
    fn synchronous(&self) -> Result<i64>;
    /// Marks an approved push of `user_id` as used by the grant that completes its sign-in:
    /// `true` once, `false` for a push that is not approved, not the user's or used already.
    /// Audited.
    fn consume_push(&self, transaction_id: &str, user_id: &str, now: u64) -> Result<bool>;
    /// Until when the user's pushes are paused (None: not paused).
    fn paused_until(&self, user_id: &str, now: u64) -> Result<Option<u64>>;

    /// Stores a new QR-login session.
    fn insert_qr(&self, session: &QrSession) -> Result<()>;
    /// A QR-login session by LSI.
    fn qr(&self, lsi: &str) -> Result<Option<QrSession>>;
    /// The network check of `device_id` for session `lsi`: the one stored, or else `check`,
    /// stored now (the first fetch wins, so the context the device signs stays the same).
    /// `None` when there is no such session.
    fn qr_device_network(
        &self,
        lsi: &str,
        device_id: &str,
        check: &NetworkCheck,
    ) -> Result<Option<NetworkCheck>>;
    /// Moves a pending session to `state` (compare-and-swap) for `user_id` / `device_id`;
    /// `false` when it was no longer pending. Audited.
    fn decide_qr(
        &self,
        lsi: &str,
        state: QrState,
        user_id: Option<&str>,
        device_id: Option<&str>,
        now: u64,
    ) -> Result<bool>;
    /// Approved → redeemed, once; `false` otherwise. Audited.
    fn redeem_qr(&self, lsi: &str, now: u64) -> Result<bool>;

    /// Appends an audit event.
    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        device_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()>;
    /// A user's audit events (all users' with `None`), newest first.
    fn audit_log(&self, user_id: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>>;
}

/// The device factor's events live in the one audit log under the device's push authenticator
/// (`push|<device id>`, [`crate::device::push_authenticator_id`]).
pub(crate) fn push_authenticator(device_id: &str) -> String {
    crate::device::push_authenticator_id(device_id)
}

/// The device id of an audit row's authenticator id (`push|<device id>`).
pub(crate) fn device_of(authenticator_id: Option<String>) -> Option<String> {
    authenticator_id.map(|a| a.strip_prefix("push|").map_or(a.clone(), str::to_owned))
}

/// Kinds of the device factor's events: the `device.`, `push.` and `qr_login.` families.
pub(crate) const DEVICE_KIND_FAMILIES: [&str; 3] = ["device.", "push.", "qr_login."];

pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| Error::Storage("stored hash is not 32 bytes".into()))
}

pub(crate) fn context_json(c: &PushContext) -> Result<String> {
    serde_json::to_string(c).map_err(|e| Error::Internal(format!("context: {e}")))
}

pub(crate) fn parse_context(s: &str) -> Result<PushContext> {
    serde_json::from_str(s).map_err(|e| Error::Storage(format!("stored context: {e}")))
}

pub(crate) fn networks_json(n: &DeviceNetworks) -> Result<String> {
    serde_json::to_string(n).map_err(|e| Error::Internal(format!("device networks: {e}")))
}

pub(crate) fn parse_networks(s: &str) -> Result<DeviceNetworks> {
    serde_json::from_str(s).map_err(|e| Error::Storage(format!("stored device networks: {e}")))
}

pub(crate) fn choices_text(c: &[u32]) -> String {
    c.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_choices(s: &str) -> Vec<u32> {
    s.split(',').filter_map(|x| x.parse().ok()).collect()
}

mod sqlite;
#[cfg(test)]
pub(crate) mod tests;

pub use sqlite::SqliteDeviceStore;
