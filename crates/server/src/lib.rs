//! tessera-server: the verification server bundled with Tessera.
//!
//! A library — [`router`] builds the HTTP API over an [`AppState`], [`run`] serves it until a
//! shutdown future resolves — with a thin binary (`src/main.rs`) that only reads
//! configuration. Storage sits behind [`store::Store`] (SQLite embedded by default).
//!
//! Endpoints (see `docs/openapi.json`, served at `/openapi.json`):
//! - Auth0-shaped MFA API: `POST /oauth/token` (password, `mfa-otp`, `mfa-recovery-code`
//!   grants), `GET /mfa/authenticators`, `POST /mfa/associate`, `DELETE /mfa/authenticators/{id}`.
//! - Management API (admin tokens): `/api/v2/users…`, organizations, audit logs, tokens,
//!   recovery-code regeneration, MFA reset, lockout reset, OTP verification for relying parties.
//! - Self-service (the user's access token): `/api/v2/me/…`.

pub mod auth;
pub mod config;
pub mod crypto;
pub mod error;
pub mod openapi;
mod routes;
pub mod service;
pub mod store;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tessera_core::Clock;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::error::{ApiError, ApiResult};
use crate::store::{SqliteStore, Store, StoreError, TokenRow};

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Arc<dyn Store>,
    key: MasterKey,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("listen", &self.inner.settings.listen)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds a state from its parts.
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                settings,
                store,
                key,
                clock,
            }),
        }
    }

    /// Opens the SQLite database and the master key where the settings say (defaults in the
    /// user's data dir).
    pub fn open(settings: Settings, clock: Arc<dyn Clock>) -> Result<AppState, String> {
        let data = data_dir()?;
        let db = settings
            .config
            .database
            .clone()
            .unwrap_or_else(|| data.join("tessera-server.sqlite3"));
        let key_file = settings
            .config
            .master_key_file
            .clone()
            .unwrap_or_else(|| data.join("master.key"));
        let store = SqliteStore::open(&db, settings.sync_full)
            .map_err(|e| format!("opening database {}: {e}", db.display()))?;
        let key = MasterKey::load_or_create(&key_file)?;
        Ok(AppState::new(settings, Arc::new(store), key, clock))
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The store (synchronous; call from blocking contexts).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The master key.
    pub fn key(&self) -> &MasterKey {
        &self.inner.key
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> u64 {
        self.inner.clock.now_unix()
    }

    /// Runs storage work on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(ApiError::internal)?
    }

    /// Creates an admin token with the given scopes and prints nothing; returns the token
    /// (shown once — only its hash is stored).
    pub fn create_admin_token(&self, scopes: &[String]) -> Result<String, StoreError> {
        let token = crypto::new_token();
        self.store().insert_token(&TokenRow {
            id: crypto::new_id("tok_"),
            hash: crypto::sha256(token.as_bytes()),
            kind: "admin".into(),
            user_id: None,
            scopes: scopes.to_vec(),
            created_at: self.now(),
            expires_at: None,
            revoked: false,
        })?;
        self.store().audit(
            self.now(),
            "token_create",
            None,
            serde_json::json!({"scopes": scopes}),
        )?;
        Ok(token)
    }

    /// At the very first start only: creates the first admin token (scope `admin`) and
    /// returns it so it can be printed once.
    pub fn first_start_token(&self) -> Result<Option<String>, StoreError> {
        if self.store().meta("first_token_issued")?.is_some() {
            return Ok(None);
        }
        let token = self.create_admin_token(&["admin".to_owned()])?;
        self.store().set_meta("first_token_issued", "1")?;
        Ok(Some(token))
    }
}

/// The default data directory (`~/.local/share/tessera-server` on Linux).
pub fn data_dir() -> Result<PathBuf, String> {
    directories::ProjectDirs::from("dev", "tessera", "tessera-server")
        .map(|d| d.data_dir().to_owned())
        .ok_or_else(|| "no home directory for the server's data".into())
}

/// The HTTP API.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then finishes in-flight
/// requests.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
