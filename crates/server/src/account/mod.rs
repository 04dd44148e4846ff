//! The account center at `/account` (docs/account.md): the page a signed-in user opens in the
//! browser to see and change their sign-in methods, backup codes, sessions and notices. It is
//! authenticated by the hosted sign-in's global session cookie only (never a bearer token);
//! its JSON API under `/account/api/…` asks a per-session CSRF token on every change, and a
//! recent second factor (step-up) before removing a factor or replacing backup codes.

use axum::Router;

use crate::AppState;

pub mod api;
pub mod pages;

/// The account center's routes: the page and its API.
pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes()).merge(pages::routes())
}
