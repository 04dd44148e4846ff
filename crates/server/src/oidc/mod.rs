//! The OpenID Connect provider (docs/oidc.md).

use crate::error::{Error, Result};
use crate::signin::Completed;
use crate::AppState;

/// The provider's routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
}

/// Turns a finished sign-in into the redirect to the relying party (an authorization code).
/// Blocking.
pub fn complete(state: &AppState, request: &serde_json::Value, done: &Completed) -> Result<String> {
    let _ = (state, request, done);
    Err(Error::Internal(
        "the OpenID Connect provider is being built".into(),
    ))
}
