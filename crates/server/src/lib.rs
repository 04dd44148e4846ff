//! tessera-server: the verification server bundled with Tessera (DC-2).
//!
//! It owns users and their second factors (TOTP, recovery codes, the device factor's push and
//! QR login), an Auth0-shaped MFA API, a management API with scoped tokens, failure counting
//! with lockout, and an audit log. It depends on `tessera-core` only;
//! storage sits behind [`store::Store`] (SQLite by default). The binary (`main.rs`) only reads
//! configuration and calls [`run`].

pub mod account;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod client_ip;
pub mod config;
pub mod crypto;
pub mod device;
pub mod error;
pub mod factors;
pub mod i18n;
pub mod lockout;
pub mod metrics;
pub mod model;
pub mod oidc;
pub mod oob;
#[cfg(test)]
mod page_checks;
pub mod passkey;
pub mod password;
pub mod policy;
pub mod recovery;
pub mod settings;
pub mod signin;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod totp;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tessera_core::Clock;

pub use api::router;
pub use config::Config;
pub use error::{Error, Result};

use crate::auth::{issue_token, MANAGEMENT_SCOPES};
use crate::crypto::MasterKey;
use crate::model::{TokenKind, TokenRecord};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    store: Arc<dyn Store>,
    /// The configuration in force (the file's, with the factor settings an administrator
    /// changed over it) and the stored overlay text it was made from (settings.rs).
    config: Arc<RwLock<(Arc<Config>, Option<String>)>>,
    /// The configuration as the file and environment gave it.
    file_config: Arc<Config>,
    key: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
    dummy_hash: String,
    /// Management tokens seen valid, by SHA-256 (revocation goes through this process and
    /// evicts; expiry is still checked on every request).
    management_tokens: Arc<RwLock<TokenCache>>,
    /// Whether other instances share the database: then nothing about tokens is cached here
    /// (a revocation made on another instance must take effect at once).
    shared_database: bool,
    device: Arc<device::DeviceFactor>,
    metrics: metrics::SharedMetrics,
    /// Sign-ins started per client address in the current minute (`signin.starts_per_minute`).
    signin_starts: Arc<std::sync::Mutex<signin::Starts>>,
    /// The email, SMS and voice senders the configuration turns on.
    senders: Arc<oob::Senders>,
}

/// Valid management tokens by SHA-256, and a count of revocations so that a lookup that raced
/// with a revocation is not cached.
#[derive(Default)]
struct TokenCache {
    tokens: HashMap<[u8; 32], TokenRecord>,
    revocations: u64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("listen", &self.inner.file_config.listen)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state from its parts: the store, the device factor's tables in the same database, the
    /// configuration, the master key and a clock (tests inject one). Validates `[device]` and
    /// loads (or creates) the server's identity key sealed under `key`; a key that does not open
    /// it is [`Error::Crypto`].
    pub fn new(
        store: Arc<dyn Store>,
        devices: Arc<dyn device::DeviceStore>,
        config: Config,
        key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let device = device::DeviceFactor::new(&config.device, devices, &key)?;
        // Unknown users are checked against this hash so they take as long as known ones.
        let dummy_hash = password::hash("tessera-dummy-password")?;
        let senders = Arc::new(oob::Senders::new(&config)?);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                config: Arc::new(RwLock::new((Arc::new(config.clone()), None))),
                file_config: Arc::new(config),
                key: Arc::new(key),
                clock,
                dummy_hash,
                management_tokens: Arc::default(),
                shared_database: false,
                device: Arc::new(device),
                metrics: Arc::default(),
                signin_starts: Arc::default(),
                senders,
            }),
        })
    }

    /// The same state for a database other instances share: management tokens are looked up
    /// in the database on every request (no cache a revocation elsewhere could miss).
    pub fn shared(self) -> Self {
        let mut inner = (*self.inner).clone();
        inner.shared_database = true;
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// The email, SMS and voice senders.
    pub fn senders(&self) -> &oob::Senders {
        &self.inner.senders
    }

    /// The configuration in force: the file's, with the factor settings an administrator
    /// changed over it (settings.rs). Read it once per use: a change swaps it whole.
    pub fn config(&self) -> Arc<Config> {
        match self.inner.config.read() {
            Ok(c) => Arc::clone(&c.0),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().0),
        }
    }

    /// The configuration as the file and environment gave it.
    pub fn file_config(&self) -> &Config {
        &self.inner.file_config
    }

    /// The stored factor-settings overlay the configuration in force was made from.
    pub fn settings_text(&self) -> Option<String> {
        match self.inner.config.read() {
            Ok(c) => c.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// Puts `config`, made from the overlay `text`, in force.
    pub fn set_config(&self, config: Config, text: Option<String>) {
        let mut guard = match self.inner.config.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = (Arc::new(config), text);
    }

    /// The master key.
    pub fn key(&self) -> &MasterKey {
        &self.inner.key
    }

    pub(crate) fn key_arc(&self) -> &Arc<MasterKey> {
        &self.inner.key
    }

    /// Unix seconds now, from the injected clock.
    pub fn now(&self) -> u64 {
        self.inner.clock.now_unix()
    }

    pub(crate) fn device_factor(&self) -> &device::DeviceFactor {
        &self.inner.device
    }

    /// A reference that does not keep the state (and its database pool) alive: background
    /// tasks hold it.
    pub fn downgrade(&self) -> WeakAppState {
        WeakAppState(Arc::downgrade(&self.inner))
    }

    /// The metrics `/metrics` serves.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// A cached management token.
    pub(crate) fn cached_token(&self, hash: &[u8; 32]) -> Option<TokenRecord> {
        self.inner
            .management_tokens
            .read()
            .ok()?
            .tokens
            .get(hash)
            .cloned()
    }

    /// The revocation count, read before a store lookup and passed to [`Self::cache_token`].
    pub(crate) fn token_generation(&self) -> u64 {
        self.inner
            .management_tokens
            .read()
            .map(|c| c.revocations)
            .unwrap_or(u64::MAX)
    }

    /// Caches a valid management token (other kinds are never cached: they are revoked inside
    /// store transactions).
    pub(crate) fn cache_token(&self, hash: [u8; 32], record: &TokenRecord, generation: u64) {
        if self.inner.shared_database {
            return;
        }
        if record.kind == TokenKind::Management && record.revoked_at.is_none() {
            if let Ok(mut m) = self.inner.management_tokens.write() {
                if m.revocations == generation {
                    m.tokens.insert(hash, record.clone());
                }
            }
        }
    }

    /// Evicts a revoked token from the cache.
    pub(crate) fn forget_token(&self, id: &str) {
        if let Ok(mut m) = self.inner.management_tokens.write() {
            m.revocations = m.revocations.wrapping_add(1);
            m.tokens.retain(|_, r| r.id != id);
        }
    }

    pub(crate) fn dummy_hash(&self) -> &str {
        &self.inner.dummy_hash
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::Internal(format!("blocking task: {e}")))?
    }

    /// Runs blocking work that needs more than the store (the device tables, the identity key,
    /// the clock) on tokio's blocking pool.
    pub async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| Error::Internal(format!("blocking task: {e}")))?
    }

    pub(crate) fn signin_starts(&self) -> &std::sync::Mutex<signin::Starts> {
        &self.inner.signin_starts
    }

    /// Direct access to the store (blocking; for the binary's admin commands and tests).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
}

/// An [`AppState`] that does not keep it alive ([`AppState::downgrade`]).
#[derive(Clone)]
pub struct WeakAppState(std::sync::Weak<Inner>);

impl std::fmt::Debug for WeakAppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeakAppState")
    }
}

impl WeakAppState {
    /// The state, while something else still holds it.
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(|inner| AppState { inner })
    }
}

/// Where the database and key file go when the configuration does not say.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "tessera", "tessera-server")
        .map(|d| d.data_dir().to_owned())
}

/// The engine `config` selects: PostgreSQL when `database.url` is set, else SQLite on
/// `database.path` (default: `tessera-server.db` in the user's data directory).
pub fn engine(config: &Config) -> Result<config::Engine> {
    if let Some(url) = &config.database.url {
        return Ok(config::Engine::Postgres(url.clone()));
    }
    Ok(config::Engine::Sqlite(match &config.database.path {
        Some(p) => p.clone(),
        None => default_data_dir()
            .ok_or_else(|| {
                Error::Config("`database`: no data directory for this user; set it".into())
            })?
            .join("tessera-server.db"),
    }))
}

/// Paths of the SQLite database and the key file for `config` (SQLite only: the admin
/// commands that work on the file).
pub fn resolve_paths(config: &Config) -> Result<(PathBuf, PathBuf)> {
    let db = match engine(config)? {
        config::Engine::Sqlite(p) => p,
        config::Engine::Postgres(_) => {
            return Err(Error::Config(
                "`database`: this command works on a SQLite file; the database is PostgreSQL"
                    .into(),
            ))
        }
    };
    let key = match &config.key_file {
        Some(p) => p.clone(),
        None => db
            .parent()
            .map(|d| d.join("master.key"))
            .unwrap_or_else(|| PathBuf::from("master.key")),
    };
    Ok((db, key))
}

/// The master key: the [`config::MASTER_KEY_ENV`] variable if set, else the key file
/// (`key_file`, or `master.key` beside a SQLite database; created on first start). With
/// PostgreSQL there is no default place: every instance must be given the same key.
pub fn load_key(config: &Config) -> Result<MasterKey> {
    if let Ok(hex) = std::env::var(config::MASTER_KEY_ENV) {
        return MasterKey::from_hex(&hex);
    }
    let path = match (&config.key_file, engine(config)?) {
        (Some(p), _) => p.clone(),
        (None, config::Engine::Sqlite(_)) => resolve_paths(config)?.1,
        (None, config::Engine::Postgres(_)) => {
            return Err(Error::Config(format!(
            "`key_file`: with PostgreSQL set `key_file` (the same file on every instance) or `{}`",
            config::MASTER_KEY_ENV
        )))
        }
    };
    MasterKey::load_or_create(&path)
}

/// The store named by `config` alone, migrated (the binary's admin commands).
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    Ok(match engine(config)? {
        config::Engine::Sqlite(db) => Arc::new(
            SqliteStore::open(&db, &config.storage)
                .map_err(|e| at_start(&db.display().to_string(), e))?,
        ),
        config::Engine::Postgres(url) => {
            Arc::new(store::pg::store::PgStore::new(store::pg::Pg::connect(
                &url,
                config.database.pool(config.storage.synchronous != "normal"),
            )?))
        }
    })
}

/// Opens the store and key named by `config`. On the very first start it also creates the first
/// admin token and returns its secret (shown once, never stored in clear).
pub fn open(config: Config, clock: Arc<dyn Clock>) -> Result<(AppState, Option<String>)> {
    let engine = engine(&config)?;
    let mut pool = None;
    let (store, device_store, place): (Arc<dyn Store>, Arc<dyn device::DeviceStore>, String) =
        match &engine {
            config::Engine::Sqlite(db) => {
                let place = db.display().to_string();
                let store =
                    SqliteStore::open(db, &config.storage).map_err(|e| at_start(&place, e))?;
                let device_store =
                    device::SqliteDeviceStore::open_with(db, config.storage.synchronous_pragma())
                        .map_err(|e| at_start(&place, e))?;
                (Arc::new(store), Arc::new(device_store), place)
            }
            config::Engine::Postgres(url) => {
                let pg = store::pg::Pg::connect(
                    url,
                    config.database.pool(config.storage.synchronous != "normal"),
                )?;
                let place = pg.label().to_owned();
                pool = Some(Arc::clone(&pg));
                (
                    Arc::new(store::pg::store::PgStore::new(Arc::clone(&pg))),
                    Arc::new(store::pg::device::PgDeviceStore::new(pg)),
                    place,
                )
            }
        };
    let key = load_key(&config)?;
    let now = clock.now_unix();
    let first = if store.set_meta_if_absent("first_admin_token", &now.to_string())? {
        let scopes = MANAGEMENT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let (secret, record, hash) = issue_token(
            TokenKind::Management,
            None,
            scopes,
            "first admin token",
            None,
            now,
        )?;
        store.insert_token(record, hash)?;
        Some(secret)
    } else {
        None
    };
    let state = AppState::new(store, device_store, config, key, clock).map_err(|e| match e {
        // The identity key in the database was sealed under another master key.
        Error::Crypto => Error::Config(format!(
            "the master key does not open this database's sealed data ({place}): every \
             instance must use the key the database was created with (`key_file` or `{}`)",
            config::MASTER_KEY_ENV
        )),
        other => at_start(&place, other),
    })?;
    let state = match pool {
        Some(pg) => {
            // Other instances may share the database: follow their pushes and decisions, and
            // cache nothing a revocation there could leave stale.
            // (`shared` makes a new state: the follower holds that one.)
            let state = state.shared();
            device::follow::start(&state, pg.notes(), pg.handle());
            state
        }
        None => state,
    };
    // The factor settings an administrator changed (settings.rs) over the file's.
    settings::reload(&state)?;
    Ok((state, first))
}

/// A failure while opening the database keeps its cause: at start it is the operator who reads
/// it (a request's storage error, by contrast, is logged and answered opaquely).
fn at_start(place: &str, e: Error) -> Error {
    match e {
        Error::Storage(detail) | Error::Internal(detail) | Error::Unavailable(detail) => {
            Error::Open(format!("{place}: {detail}"))
        }
        other => other,
    }
}

/// Binds `config.listen`, as the binary does before [`open`]. A server on loopback without a
/// `device.origin` of its own names itself by the address it listens on (the port too, when
/// `listen` asked for port 0), so its enrollment and QR-login links point back at it. Elsewhere
/// devices need the public https origin: `device.origin` must be set, and a warning says so.
pub async fn bind(config: &mut Config) -> Result<tokio::net::TcpListener> {
    let listen = config.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| Error::Config(format!("`listen`: cannot bind {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("`listen`: {listen}: {e}")))?;
    if config.device.origin == device::DeviceConfig::default().origin {
        if addr.ip().is_loopback() {
            let scheme = if config.http.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            config.device.origin = format!("{scheme}://{addr}");
        } else {
            tracing::warn!(
                "`device.origin` is not set: devices will be sent to {}; set it to this server's public https origin",
                config.device.origin
            );
        }
    }
    Ok(listener)
}

/// Serves the API on `listener` until `shutdown` completes, then drains: no new connections,
/// in-flight requests finish, and device event streams end with a `shutdown` event that tells
/// the device when to reconnect (a stream would otherwise hold the shutdown open for ever).
///
/// With `http.tls_cert` and `http.tls_key` set it speaks HTTPS ([`tls`]); a certificate or key
/// that cannot be used is an error naming the setting, before anything is served.
/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let streams = state.clone();
    let shutdown = async move {
        shutdown.await;
        streams.close_streams();
    };
    let acceptor = tls::acceptor(&state.config().http)?;
    // Notices of MFA changes (IBM-3), read from the audit log; stops with the server.
    let notifier = oob::notify::spawn(state.clone());
    let _stop_notifier = AbortOnDrop(notifier);
    // Factor settings changed on another instance.
    let _stop_settings = AbortOnDrop(settings::spawn(state.clone()));
    // With the peer address: push and QR-login contexts show the requester's IP.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = match acceptor {
        Some(acceptor) => {
            // `tap_io` (a no-op here) is what gives a custom listener axum's `ConnectInfo`.
            use axum::serve::ListenerExt;
            let listener = tls::TlsListener::new(listener, acceptor)
                .map_err(|e| Error::Internal(format!("listener: {e}")))?
                .tap_io(|_| {});
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    served.map_err(|e| Error::Internal(format!("serve: {e}")))
}
