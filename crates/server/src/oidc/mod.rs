//! The OpenID Connect provider (docs/oidc.md): relying parties registered as applications
//! (`api/applications.rs`) sign their users in through the hosted sign-in with the
//! authorization-code flow and PKCE, and receive ID tokens signed (ES256) with a key that
//! rotates and is published as a JWKS.
//!
//! - [`request`]: the authorization request, checked before a sign-in flow starts;
//!   [`authorize`] its endpoint, which hands the checked request to `crate::signin` and gets it
//!   back in [`complete`] when the user has signed in.
//! - [`token`]: the token endpoint (client authentication, PKCE, single-use codes).
//! - [`keys`]: the signing keys (sealed under the master key, rotated, race-safe across
//!   instances) and the compact JWS.
//! - [`claims`]: the ID token's claims, and `amr`/`acr` from the methods the user proved.
//! - [`discovery`]: the discovery document, the JWKS, userinfo.
//!
//! It depends on the sign-in only through [`crate::signin::start_flow`] and
//! [`crate::signin::Completed`]; the sign-in depends on it only through [`complete`].

pub mod authorize;
pub mod claims;
pub mod discovery;
pub mod keys;
pub mod request;
pub mod token;

use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::signin::Completed;
use crate::AppState;

/// How long an authorization code can be redeemed, seconds.
pub const CODE_TTL_SECS: u64 = 60;

/// Settings of the provider (`[oidc]`; an unknown setting is refused, as everywhere).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// Days a signing key signs before a new one replaces it (1–365, default 30).
    pub key_rotation_days: u64,
    /// Lifetime of an ID token, seconds (60–86400, default 3600). A replaced key stays in the
    /// JWKS this long (and five minutes more for clocks) after its last signature.
    pub id_token_ttl_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            key_rotation_days: 30,
            id_token_ttl_secs: 3600,
        }
    }
}

impl OidcConfig {
    /// Checks the settings; the error names the one at fault.
    pub fn validate(&self) -> Result<()> {
        if !(1..=365).contains(&self.key_rotation_days) {
            return Err(Error::Config(
                "`oidc.key_rotation_days`: must be 1–365".into(),
            ));
        }
        if !(60..=86_400).contains(&self.id_token_ttl_secs) {
            return Err(Error::Config(
                "`oidc.id_token_ttl_secs`: must be 60–86400".into(),
            ));
        }
        Ok(())
    }
}

/// The issuer: the server's public origin (`device.origin`, which devices are sent to too; on
/// loopback without one, the address it listens on).
pub fn issuer(state: &AppState) -> String {
    state
        .config()
        .device
        .origin
        .trim_end_matches('/')
        .to_owned()
}

/// The provider's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route(
            "/oauth2/authorize",
            get(authorize::by_query).post(authorize::by_form),
        )
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/jwks", get(discovery::jwks))
        .route(
            "/oauth2/userinfo",
            get(discovery::userinfo).post(discovery::userinfo),
        )
        .route("/api/v2/oidc/keys/rotation", post(keys::rotate_now))
}

/// Turns a finished sign-in into the redirect to the relying party (an authorization code).
/// Blocking.
pub fn complete(state: &AppState, request: &serde_json::Value, done: &Completed) -> Result<String> {
    authorize::complete(state, request, done)
}
