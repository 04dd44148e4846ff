//! The OpenAPI description, kept in `docs/openapi.json` and served at `/openapi.json`.

use axum::http::header;
use axum::response::IntoResponse;

/// The document (compiled in from docs/openapi.json).
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// `GET /openapi.json`.
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
