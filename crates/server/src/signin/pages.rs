//! The hosted sign-in pages at `/signin`: static HTML, CSS and JavaScript (no inline script)
//! over the JSON flow API (docs/signin.md).

use axum::Router;

use crate::AppState;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
