//! The device factor, server side (docs/protocol.md): enrollment offers and registration of
//! device keys, push challenges with number matching delivered in real time, QR login, and a
//! sample sign-in page.
//!
//! One factor among the others: its handlers take the server's one state ([`AppState`]), answer
//! with the server's one error type ([`crate::Error`]), take relying-party and admin tokens
//! through the server's bearer extractor ([`crate::auth::Caller`]), and keep their tables
//! (`device_…`, [`store::DeviceStore`]) in the server's one schema on SQLite or PostgreSQL. Its
//! parts of the state ([`DeviceFactor`]: settings, the server's identity key, the live event
//! hub, sample sign-in sessions) are reached through the `AppState` accessors defined here.

pub mod enrollment;
pub mod events;
pub mod follow;
pub mod http;
pub mod network;
pub mod push;
pub mod qr_login;
pub mod request_auth;
pub mod store;

use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use tessera_core::device::{DeviceKey, SignatureAlgorithm};

use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::store::IDENTITY_CONTEXT;
use crate::AppState;

pub use http::routes;
pub use store::{DeviceStore, SqliteDeviceStore};

/// How the device chooses the number shown on the sign-in screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberPolicy {
    /// The user types the number (default).
    Type,
    /// The device offers three numbers; the user picks the one shown.
    PickOfThree,
}

/// Settings of the device factor (`[device]`; an unknown setting is refused, as everywhere).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// The server's public origin (`https://id.example.com`); part of every signed message.
    pub origin: String,
    /// Lifetime of an enrollment offer, seconds (default 600).
    pub offer_ttl: u64,
    /// Default lifetime of a push, seconds (default 120).
    pub push_ttl: u64,
    /// Longest lifetime a relying party may ask for, seconds (default 300).
    pub push_ttl_max: u64,
    /// Pushes per user per minute (default 5).
    pub push_rate_per_minute: u64,
    /// How long "this wasn't me" pauses the user's pushes, seconds (default 900).
    pub not_me_pause: u64,
    /// Accepted clock difference of a signed device request, seconds (default 60).
    pub request_window: u64,
    /// Type the number, or pick it from three.
    pub number_policy: NumberPolicy,
    /// Lifetime of a QR-login session, seconds (default 120, at most [`QR_TTL_MAX`]).
    pub qr_ttl: u64,
    /// Length of the login-session index in the QR (default 20).
    pub lsi_length: usize,
    /// Characters of the LSI (default: 32 unambiguous upper-case letters and digits).
    pub lsi_charset: String,
    /// Length of the device-session secret in the browser's cookie (default 43).
    pub dsi_length: usize,
    /// Characters of the DSI (default: the 64 base64url characters).
    pub dsi_charset: String,
    /// Algorithms offered to devices, preferred first (default ES256, EdDSA).
    pub algorithms: Vec<SignatureAlgorithm>,
    /// Application name the sample sign-in page puts in its pushes.
    pub signin_application: String,
    /// With several instances on PostgreSQL: how often each re-reads the pending pushes of
    /// the devices connected to it, in case an announcement was lost, seconds (default 5).
    pub recheck_secs: u64,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            origin: "http://127.0.0.1:8377".into(),
            offer_ttl: 600,
            push_ttl: 120,
            push_ttl_max: 300,
            push_rate_per_minute: 5,
            not_me_pause: 900,
            request_window: 60,
            number_policy: NumberPolicy::Type,
            qr_ttl: 120,
            lsi_length: 20,
            lsi_charset: "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".into(),
            dsi_length: 43,
            dsi_charset: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".into(),
            algorithms: SignatureAlgorithm::ALL.to_vec(),
            signin_application: "Tessera sample sign-in".into(),
            recheck_secs: 5,
        }
    }
}

/// The longest QR-login session (IBM-9's expiry), seconds: a QR on a screen for longer than ten
/// minutes is an invitation to QRLJacking, not a convenience.
pub const QR_TTL_MAX: u64 = 600;
/// The longest enrollment offer, seconds (a link sent by mail may wait a day).
pub const OFFER_TTL_MAX: u64 = 86_400;
/// The widest accepted clock difference of a signed device request, seconds.
pub const REQUEST_WINDOW_MAX: u64 = 600;

fn bits(len: usize, charset: &str) -> f64 {
    let n = charset.chars().count().max(1);
    // Lengths and charsets are small; the float only estimates entropy for validation.
    #[allow(clippy::cast_precision_loss)] // both values are far below 2^52
    let (len, n) = (len as f64, n as f64);
    len * n.log2()
}

impl DeviceConfig {
    /// Checks the settings; the error names the one at fault.
    pub fn validate(&self) -> Result<()> {
        tessera_core::device::link::check_origin(&self.origin)
            .map_err(|e| Error::Config(format!("`device.origin`: {e}")))?;
        let unique = |s: &str| {
            let mut c: Vec<char> = s.chars().collect();
            c.sort_unstable();
            c.dedup();
            c.len() == s.chars().count()
                && c.iter()
                    .all(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        };
        if !unique(&self.lsi_charset) || self.lsi_charset.chars().count() < 10 {
            return Err(Error::Config(
                "`device.lsi_charset`: at least 10 distinct characters from [A-Za-z0-9_-]".into(),
            ));
        }
        if !unique(&self.dsi_charset) || self.dsi_charset.chars().count() < 10 {
            return Err(Error::Config(
                "`device.dsi_charset`: at least 10 distinct characters from [A-Za-z0-9_-]".into(),
            ));
        }
        if bits(self.lsi_length, &self.lsi_charset) < 64.0 || self.lsi_length > 128 {
            return Err(Error::Config(
                "`device.lsi_length`: the LSI needs at least 64 bits and at most 128 characters"
                    .into(),
            ));
        }
        if bits(self.dsi_length, &self.dsi_charset) < 128.0 || self.dsi_length > 256 {
            return Err(Error::Config(
                "`device.dsi_length`: the DSI needs at least 128 bits and at most 256 characters"
                    .into(),
            ));
        }
        if self.push_ttl == 0 || self.push_ttl > self.push_ttl_max || self.push_ttl_max > 300 {
            return Err(Error::Config(
                "`device.push_ttl`: 1 ≤ push_ttl ≤ push_ttl_max ≤ 300 seconds".into(),
            ));
        }
        if !(1..=QR_TTL_MAX).contains(&self.qr_ttl) {
            return Err(Error::Config(format!(
                "`device.qr_ttl`: must be 1–{QR_TTL_MAX} seconds"
            )));
        }
        if !(1..=OFFER_TTL_MAX).contains(&self.offer_ttl) {
            return Err(Error::Config(format!(
                "`device.offer_ttl`: must be 1–{OFFER_TTL_MAX} seconds"
            )));
        }
        if !(1..=REQUEST_WINDOW_MAX).contains(&self.request_window) {
            return Err(Error::Config(format!(
                "`device.request_window`: must be 1–{REQUEST_WINDOW_MAX} seconds"
            )));
        }
        if !(1..=300).contains(&self.recheck_secs) {
            return Err(Error::Config(
                "`device.recheck_secs`: must be 1–300 seconds".into(),
            ));
        }
        if self.push_rate_per_minute == 0 {
            return Err(Error::Config(
                "`device.push_rate_per_minute`: must be at least 1".into(),
            ));
        }
        if self.algorithms.is_empty() {
            return Err(Error::Config(
                "`device.algorithms`: name at least one".into(),
            ));
        }
        Ok(())
    }
}

/// The server's Ed25519 identity key: signs every challenge it hands to devices, which pin its
/// fingerprint at enrollment. Kept in the store sealed under the master key.
#[derive(Debug)]
pub struct Identity {
    key: DeviceKey,
    fingerprint: String,
}

impl Identity {
    /// Loads the identity sealed under `key`, creating (and sealing) it on first start. Another
    /// master key than the one that sealed it is [`Error::Crypto`].
    pub fn load_or_create(store: &dyn DeviceStore, key: &MasterKey) -> Result<Self> {
        let sealed = match store.meta("identity_sealed")? {
            Some(s) => s,
            None => {
                let fresh =
                    DeviceKey::generate(SignatureAlgorithm::Ed25519).map_err(|_| Error::Crypto)?;
                store.meta_set_if_absent(
                    "identity_sealed",
                    &key.seal(fresh.pkcs8(), IDENTITY_CONTEXT)?,
                )?
            }
        };
        let pkcs8 = key
            .open(&sealed, IDENTITY_CONTEXT)
            .map_err(|_| Error::Crypto)?;
        let key = DeviceKey::from_pkcs8(SignatureAlgorithm::Ed25519, &pkcs8)
            .map_err(|_| Error::Crypto)?;
        let fingerprint = fingerprint(key.public_key());
        Ok(Identity { key, fingerprint })
    }

    /// The public key.
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key()
    }

    /// base64url(SHA-256(public key)): the `sk` of links.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.key.sign(message).map_err(|_| Error::Crypto)
    }
}

/// base64url(SHA-256(public key)).
pub fn fingerprint(public_key: &[u8]) -> String {
    BASE64URL_NOPAD.encode(&crate::crypto::sha256(public_key))
}

/// The device factor's part of the server's state.
pub struct DeviceFactor {
    store: Arc<dyn DeviceStore>,
    identity: Identity,
    hub: events::Hub,
}

impl std::fmt::Debug for DeviceFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFactor")
            .field("identity", &self.identity.fingerprint)
            .finish_non_exhaustive()
    }
}

impl DeviceFactor {
    /// Validates `config` and loads (or creates) the server's identity key sealed under `key`.
    pub fn new(
        config: &DeviceConfig,
        store: Arc<dyn DeviceStore>,
        key: &MasterKey,
    ) -> Result<Self> {
        config.validate()?;
        let identity = Identity::load_or_create(store.as_ref(), key)?;
        Ok(DeviceFactor {
            store,
            identity,
            hub: events::Hub::default(),
        })
    }
}

/// The `[device]` section of the configuration in force (dereferences to [`DeviceConfig`]).
#[derive(Debug, Clone)]
pub struct DeviceSettingsRef(Arc<crate::config::Config>);

impl std::ops::Deref for DeviceSettingsRef {
    type Target = DeviceConfig;
    fn deref(&self) -> &DeviceConfig {
        &self.0.device
    }
}

/// The device factor's accessors on the server's state.
impl AppState {
    /// The settings under `[device]` in force.
    pub fn device_config(&self) -> DeviceSettingsRef {
        DeviceSettingsRef(self.config())
    }

    /// The device tables (blocking).
    pub fn devices(&self) -> &Arc<dyn DeviceStore> {
        &self.device_factor().store
    }

    /// The server's identity key.
    pub fn identity(&self) -> &Identity {
        &self.device_factor().identity
    }

    /// Ends every device event stream (graceful shutdown), each with a retry hint.
    pub fn close_streams(&self) {
        self.device_factor().hub.close_streams();
    }

    /// Push challenges pending and not yet expired, over all users (`/metrics`).
    pub async fn pending_push_count(&self) -> Result<u64> {
        self.blocking(|s| s.devices().count_pending_pushes(s.now()))
            .await
    }

    pub(crate) fn hub(&self) -> &events::Hub {
        &self.device_factor().hub
    }
}

/// The user id named by `user` (an id or a username). Blocking.
pub fn resolve_user(state: &AppState, user: &str) -> Result<Option<String>> {
    let store = state.store();
    if let Some(u) = store.get_user(user)? {
        return Ok(Some(u.user_id));
    }
    Ok(store.find_user_by_username(user)?.map(|(u, _)| u.user_id))
}

/// The username of a user id, for display. Blocking.
pub fn username(state: &AppState, user_id: &str) -> Result<Option<String>> {
    Ok(state.store().get_user(user_id)?.map(|u| u.username))
}

/// The server-side id of a device's push authenticator.
pub fn push_authenticator_id(device_id: &str) -> String {
    format!("push|{device_id}")
}

/// `n` random bytes from the OS CSPRNG, base64url (32 bytes: 256 bits).
pub fn random_token(n: usize) -> Result<String> {
    Ok(BASE64URL_NOPAD.encode(&crate::crypto::random_vec(n)?))
}

/// `len` characters drawn uniformly from `charset` ([`tessera_core::crypto::random_chars`]).
pub fn random_chars(len: usize, charset: &str) -> Result<String> {
    tessera_core::crypto::random_chars(len, charset).map_err(|e| match e {
        tessera_core::crypto::CryptoError::Alphabet => {
            Error::Config("charset must have 1–256 characters".into())
        }
        _ => Error::Crypto,
    })
}

/// A uniformly random integer in `lo..=hi` ([`tessera_core::crypto::random_in`]).
pub fn random_in(lo: u32, hi: u32) -> Result<u32> {
    tessera_core::crypto::random_in(lo, hi).map_err(|_| Error::Crypto)
}

/// Decodes a base64url field, naming it on error.
pub(crate) fn b64(field: &str, value: &str) -> Result<Vec<u8>> {
    BASE64URL_NOPAD
        .decode(value.trim_end_matches('=').as_bytes())
        .map_err(|_| Error::InvalidRequest(format!("`{field}` is not base64url")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::store::tests::engines;

    #[test]
    fn random_values_have_the_asked_shape() {
        let s = random_chars(20, "AB").unwrap();
        assert_eq!(s.len(), 20);
        assert!(s.chars().all(|c| c == 'A' || c == 'B'));
        assert_eq!(random_token(32).unwrap().len(), 43);
        for _ in 0..200 {
            let n = random_in(10, 99).unwrap();
            assert!((10..=99).contains(&n));
        }
    }

    #[test]
    fn config_validation_names_the_setting() {
        assert!(DeviceConfig::default().validate().is_ok());
        let weak = DeviceConfig {
            dsi_length: 10,
            ..DeviceConfig::default()
        };
        assert!(weak
            .validate()
            .unwrap_err()
            .to_string()
            .contains("dsi_length"));
        let long = DeviceConfig {
            push_ttl: 600,
            ..DeviceConfig::default()
        };
        assert!(long
            .validate()
            .unwrap_err()
            .to_string()
            .contains("push_ttl"));
        let bad = DeviceConfig {
            lsi_charset: "AAB".into(),
            ..DeviceConfig::default()
        };
        assert!(bad.validate().is_err());
        let plain = DeviceConfig {
            origin: "http://id.example.com".into(),
            ..DeviceConfig::default()
        };
        assert!(plain.validate().is_err());
    }

    #[test]
    fn a_sealed_identity_persists_and_is_not_stored_in_clear() {
        let key = MasterKey::generate().unwrap();
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            let a = Identity::load_or_create(&*s, &key).unwrap();
            // A reopened store (on PostgreSQL: another instance's pool) finds the same key.
            let b = Identity::load_or_create(&*e.open(), &key).unwrap();
            assert_eq!(a.public_key(), b.public_key());
            assert_eq!(a.fingerprint(), fingerprint(b.public_key()));
            let stored = s.meta("identity_sealed").unwrap().unwrap();
            assert!(DeviceKey::from_pkcs8(SignatureAlgorithm::Ed25519, &stored).is_err());
            let other = MasterKey::generate().unwrap();
            assert!(matches!(
                Identity::load_or_create(&*s, &other),
                Err(Error::Crypto)
            ));
        }
    }
}
