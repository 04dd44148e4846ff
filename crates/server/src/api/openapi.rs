//! The OpenAPI description, kept in `docs/openapi.json` and served as is.

use axum::http::header;
use axum::response::IntoResponse;

/// The document (the file in docs/, compiled in).
pub const OPENAPI_JSON: &str = include_str!("../../../../docs/openapi.json");

/// `GET /openapi.json`
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
