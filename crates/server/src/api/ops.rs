//! Operating the server: liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics
//! (`/metrics`). None needs a token: a load balancer and a scraper call them. They reveal no
//! user data: counts, latencies, route templates and the schema version.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::AppState;

/// How long a load balancer should wait before asking again when not ready, in seconds.
const RETRY_AFTER_SECS: &str = "5";

/// The process is up and serving HTTP.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and its schema is the one this binary migrates to; otherwise 503 with
/// `Retry-After` and the reason (the error is logged in full, answered in general terms).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let reason = match state.db(|s| s.status()).await {
        Ok(st) if st.schema_version == st.schema_expected => {
            return Json(json!({ "status": "ready", "schema_version": st.schema_version }))
                .into_response()
        }
        Ok(st) => format!(
            "database schema version {} is not {} (migrations not current)",
            st.schema_version, st.schema_expected
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            "database unavailable".to_owned()
        }
    };
    not_ready(&reason)
}

fn not_ready(reason: &str) -> Response {
    let mut resp = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not_ready", "error": "not_ready", "error_description": reason })),
    )
        .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    resp
}

/// The Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match crate::metrics::render(&state).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: stores unavailable");
            not_ready("database unavailable")
        }
    }
}
