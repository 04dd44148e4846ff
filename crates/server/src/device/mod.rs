//! The device factor, server side (docs/protocol.md): enrollment offers and registration of
//! device keys, push challenges with number matching delivered in real time, QR login, and a
//! sample sign-in page.
//!
//! Its own state ([`DeviceState`]), storage trait ([`store::DeviceStore`], tables `device_…` in
//! the server's one schema, on SQLite or PostgreSQL) and error type. What it needs from the rest of the server — users, passwords,
//! TOTP/recovery codes, API tokens, the paired OTP authenticator — comes through the
//! [`Directory`] trait, so the server plugs it in with one `Router::merge(device::routes(…))`.

pub mod directory;
pub mod enrollment;
pub mod error;
pub mod events;
pub mod follow;
pub mod http;
pub mod network;
pub mod push;
pub mod qr_login;
pub mod request_auth;
pub mod server_directory;
pub mod signin;
pub mod store;

use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use tessera_core::device::{DeviceKey, SignatureAlgorithm};
use tessera_core::Clock;

pub use directory::Directory;
pub use error::{DeviceError, Result};
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
            .map_err(|e| DeviceError::Config(format!("`origin`: {e}")))?;
        let unique = |s: &str| {
            let mut c: Vec<char> = s.chars().collect();
            c.sort_unstable();
            c.dedup();
            c.len() == s.chars().count()
                && c.iter()
                    .all(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        };
        if !unique(&self.lsi_charset) || self.lsi_charset.chars().count() < 10 {
            return Err(DeviceError::Config(
                "`lsi_charset`: at least 10 distinct characters from [A-Za-z0-9_-]".into(),
            ));
        }
        if !unique(&self.dsi_charset) || self.dsi_charset.chars().count() < 10 {
            return Err(DeviceError::Config(
                "`dsi_charset`: at least 10 distinct characters from [A-Za-z0-9_-]".into(),
            ));
        }
        if bits(self.lsi_length, &self.lsi_charset) < 64.0 || self.lsi_length > 128 {
            return Err(DeviceError::Config(
                "`lsi_length`: the LSI needs at least 64 bits and at most 128 characters".into(),
            ));
        }
        if bits(self.dsi_length, &self.dsi_charset) < 128.0 || self.dsi_length > 256 {
            return Err(DeviceError::Config(
                "`dsi_length`: the DSI needs at least 128 bits and at most 256 characters".into(),
            ));
        }
        if self.push_ttl == 0 || self.push_ttl > self.push_ttl_max || self.push_ttl_max > 300 {
            return Err(DeviceError::Config(
                "`push_ttl`: 1 ≤ push_ttl ≤ push_ttl_max ≤ 300 seconds".into(),
            ));
        }
        if !(1..=QR_TTL_MAX).contains(&self.qr_ttl) {
            return Err(DeviceError::Config(format!(
                "`qr_ttl`: must be 1–{QR_TTL_MAX} seconds"
            )));
        }
        if !(1..=OFFER_TTL_MAX).contains(&self.offer_ttl) {
            return Err(DeviceError::Config(format!(
                "`offer_ttl`: must be 1–{OFFER_TTL_MAX} seconds"
            )));
        }
        if !(1..=REQUEST_WINDOW_MAX).contains(&self.request_window) {
            return Err(DeviceError::Config(format!(
                "`request_window`: must be 1–{REQUEST_WINDOW_MAX} seconds"
            )));
        }
        if !(1..=300).contains(&self.recheck_secs) {
            return Err(DeviceError::Config(
                "`recheck_secs`: must be 1–300 seconds".into(),
            ));
        }
        if self.push_rate_per_minute == 0 {
            return Err(DeviceError::Config(
                "`push_rate_per_minute`: must be at least 1".into(),
            ));
        }
        if self.algorithms.is_empty() {
            return Err(DeviceError::Config(
                "`algorithms`: name at least one".into(),
            ));
        }
        Ok(())
    }
}

/// Seals the identity key at rest (the server implements it with its master key).
pub trait Sealer: Send + Sync + 'static {
    /// Encrypts and authenticates `plaintext`.
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>>;
    /// Opens what [`Sealer::seal`] produced.
    fn open(&self, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>>;
}

/// The server's Ed25519 identity key: signs every challenge it hands to devices, which pin its
/// fingerprint at enrollment.
#[derive(Debug)]
pub struct Identity {
    key: DeviceKey,
    fingerprint: String,
}

impl Identity {
    /// Loads the identity from the store, creating it on first start (kept in clear, for tests;
    /// the server uses [`Identity::load_or_create_sealed`]).
    pub fn load_or_create(store: &dyn DeviceStore) -> Result<Self> {
        let pkcs8 = match store.meta("identity_pkcs8")? {
            Some(p) => p,
            None => {
                let fresh = DeviceKey::generate(SignatureAlgorithm::Ed25519)
                    .map_err(|_| DeviceError::Crypto)?;
                store.meta_set_if_absent("identity_pkcs8", fresh.pkcs8())?
            }
        };
        Self::from_pkcs8(&pkcs8)
    }

    /// Loads the identity sealed by `sealer`, creating (and sealing) it on first start.
    pub fn load_or_create_sealed(store: &dyn DeviceStore, sealer: &dyn Sealer) -> Result<Self> {
        let sealed = match store.meta("identity_sealed")? {
            Some(s) => s,
            None => {
                let fresh = DeviceKey::generate(SignatureAlgorithm::Ed25519)
                    .map_err(|_| DeviceError::Crypto)?;
                store.meta_set_if_absent("identity_sealed", &sealer.seal(fresh.pkcs8())?)?
            }
        };
        Self::from_pkcs8(&sealer.open(&sealed)?)
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self> {
        let key = DeviceKey::from_pkcs8(SignatureAlgorithm::Ed25519, pkcs8)
            .map_err(|_| DeviceError::Crypto)?;
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
        self.key.sign(message).map_err(|_| DeviceError::Crypto)
    }
}

/// base64url(SHA-256(public key)).
pub fn fingerprint(public_key: &[u8]) -> String {
    BASE64URL_NOPAD.encode(&tessera_core::device::message::sha256(public_key))
}

/// Everything the device handlers need; cheap to clone.
#[derive(Clone)]
pub struct DeviceState {
    inner: Arc<Inner>,
}

struct Inner {
    config: DeviceConfig,
    store: Arc<dyn DeviceStore>,
    directory: Arc<dyn Directory>,
    clock: Arc<dyn Clock>,
    identity: Identity,
    hub: events::Hub,
    signin: signin::Sessions,
}

/// A [`DeviceState`] that background tasks hold without keeping it (and its database pool)
/// alive.
#[derive(Clone)]
pub struct WeakDeviceState(std::sync::Weak<Inner>);

impl std::fmt::Debug for WeakDeviceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeakDeviceState")
    }
}

impl WeakDeviceState {
    /// The state, while something else still holds it.
    pub fn upgrade(&self) -> Option<DeviceState> {
        self.0.upgrade().map(|inner| DeviceState { inner })
    }
}

impl std::fmt::Debug for DeviceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceState")
            .field("origin", &self.inner.config.origin)
            .finish_non_exhaustive()
    }
}

impl DeviceState {
    /// A state from its parts; validates the configuration and loads (or creates) the server's
    /// identity key.
    pub fn new(
        config: DeviceConfig,
        store: Arc<dyn DeviceStore>,
        directory: Arc<dyn Directory>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.validate()?;
        let identity = Identity::load_or_create(store.as_ref())?;
        Self::with_identity(config, store, directory, clock, identity)
    }

    /// A state whose identity key is sealed at rest by `sealer`.
    pub fn new_sealed(
        config: DeviceConfig,
        store: Arc<dyn DeviceStore>,
        directory: Arc<dyn Directory>,
        clock: Arc<dyn Clock>,
        sealer: &dyn Sealer,
    ) -> Result<Self> {
        config.validate()?;
        let identity = Identity::load_or_create_sealed(store.as_ref(), sealer)?;
        Self::with_identity(config, store, directory, clock, identity)
    }

    fn with_identity(
        config: DeviceConfig,
        store: Arc<dyn DeviceStore>,
        directory: Arc<dyn Directory>,
        clock: Arc<dyn Clock>,
        identity: Identity,
    ) -> Result<Self> {
        Ok(DeviceState {
            inner: Arc::new(Inner {
                config,
                store,
                directory,
                clock,
                identity,
                hub: events::Hub::default(),
                signin: signin::Sessions::default(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DeviceConfig {
        &self.inner.config
    }

    /// A reference that does not keep the state alive (background tasks).
    pub fn downgrade(&self) -> WeakDeviceState {
        WeakDeviceState(Arc::downgrade(&self.inner))
    }

    /// The store (blocking).
    pub fn store(&self) -> &Arc<dyn DeviceStore> {
        &self.inner.store
    }

    /// The user directory.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.inner.directory
    }

    /// The identity key.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// Unix seconds now, from the injected clock.
    pub fn now(&self) -> u64 {
        self.inner.clock.now_unix()
    }

    /// Ends every device event stream (graceful shutdown), each with a retry hint.
    pub fn close_streams(&self) {
        self.inner.hub.close_streams();
    }

    /// Push challenges pending and not yet expired, over all users (`/metrics`).
    pub async fn pending_push_count(&self) -> Result<u64> {
        self.db(|s| s.store().count_pending_pushes(s.now())).await
    }

    pub(crate) fn hub(&self) -> &events::Hub {
        &self.inner.hub
    }

    pub(crate) fn signin(&self) -> &signin::Sessions {
        &self.inner.signin
    }

    /// Runs blocking store and directory work on tokio's blocking pool.
    pub async fn db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&DeviceState) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| DeviceError::Internal(format!("blocking task: {e}")))?
    }
}

/// `n` random bytes from the OS CSPRNG ([`tessera_core::crypto::random_vec`]).
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    Ok(tessera_core::crypto::random_vec(n)
        .map_err(|_| DeviceError::Crypto)?
        .to_vec())
}

/// `n` random bytes from the OS CSPRNG, base64url (32 bytes: 256 bits).
pub fn random_token(n: usize) -> Result<String> {
    Ok(BASE64URL_NOPAD.encode(&random_bytes(n)?))
}

/// `len` characters drawn uniformly from `charset` ([`tessera_core::crypto::random_chars`]).
pub fn random_chars(len: usize, charset: &str) -> Result<String> {
    tessera_core::crypto::random_chars(len, charset).map_err(|e| match e {
        tessera_core::crypto::CryptoError::Alphabet => {
            DeviceError::Config("charset must have 1–256 characters".into())
        }
        _ => DeviceError::Crypto,
    })
}

/// A uniformly random integer in `lo..=hi` ([`tessera_core::crypto::random_in`]).
pub fn random_in(lo: u32, hi: u32) -> Result<u32> {
    tessera_core::crypto::random_in(lo, hi).map_err(|_| DeviceError::Crypto)
}

/// Decodes a base64url field, naming it on error.
pub(crate) fn b64(field: &str, value: &str) -> Result<Vec<u8>> {
    BASE64URL_NOPAD
        .decode(value.trim_end_matches('=').as_bytes())
        .map_err(|_| DeviceError::InvalidRequest(format!("`{field}` is not base64url")))
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

    struct Xor;
    impl Sealer for Xor {
        fn seal(&self, p: &[u8]) -> Result<Vec<u8>> {
            Ok(p.iter().map(|b| b ^ 0x5a).collect())
        }
        fn open(&self, s: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
            Ok(zeroize::Zeroizing::new(
                s.iter().map(|b| b ^ 0x5a).collect(),
            ))
        }
    }

    #[test]
    fn a_sealed_identity_is_not_stored_in_clear() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            let a = Identity::load_or_create_sealed(&*s, &Xor).unwrap();
            let b = Identity::load_or_create_sealed(&*e.open(), &Xor).unwrap();
            assert_eq!(a.public_key(), b.public_key());
            assert!(s.meta("identity_pkcs8").unwrap().is_none());
            let stored = s.meta("identity_sealed").unwrap().unwrap();
            assert!(DeviceKey::from_pkcs8(SignatureAlgorithm::Ed25519, &stored).is_err());
        }
    }

    #[test]
    fn identity_persists() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let a = Identity::load_or_create(&*e.open()).unwrap();
            // A reopened store (on PostgreSQL: another instance's pool) finds the same key.
            let b = Identity::load_or_create(&*e.open()).unwrap();
            assert_eq!(a.public_key(), b.public_key());
            assert_eq!(a.fingerprint(), fingerprint(b.public_key()));
        }
    }
}
