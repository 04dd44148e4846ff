//! The device factor's errors and their one JSON shape (`{"error", "error_description"}`, the
//! server's Auth0-style shape).
//!
//! Every failed check of a device's signature, key, user or transaction answers the same
//! [`DeviceError::Rejected`]: which check failed is logged here, never told to the caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Everything that can go wrong in the device factor.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The request is malformed or a field is invalid; the message names the field.
    #[error("{0}")]
    InvalidRequest(String),
    /// A signature, device, user or transaction check failed (opaque on purpose).
    #[error("request rejected")]
    Rejected,
    /// Missing or invalid credentials (relying-party token, enrollment code, DSI cookie).
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// The thing named does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The transaction or session is no longer pending: answered, redeemed or expired.
    #[error("{0}")]
    Conflict(&'static str),
    /// The challenge or session expired.
    #[error("expired")]
    Expired,
    /// Too many pushes for this user, or pushes are paused after "this wasn't me".
    #[error("{0}")]
    TooManyRequests(&'static str),
    /// The configuration is invalid; the message names the setting.
    #[error("invalid device configuration: {0}")]
    Config(String),
    /// A storage failure (details logged, never sent).
    #[error("storage error")]
    Storage(String),
    /// The database cannot be reached just now: 503 with `Retry-After` (details logged).
    #[error("the database is unavailable; try again shortly")]
    Unavailable(String),
    /// A cryptographic failure (key generation, randomness; opaque on purpose).
    #[error("cryptographic failure")]
    Crypto,
    /// Any other internal failure (details logged, never sent).
    #[error("internal error")]
    Internal(String),
}

/// The device factor's result type.
pub type Result<T> = std::result::Result<T, DeviceError>;

impl From<rusqlite::Error> for DeviceError {
    fn from(e: rusqlite::Error) -> Self {
        DeviceError::Storage(e.to_string())
    }
}

impl From<tessera_core::Error> for DeviceError {
    fn from(e: tessera_core::Error) -> Self {
        DeviceError::InvalidRequest(e.to_string())
    }
}

impl DeviceError {
    /// The machine-readable code and the HTTP status.
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            DeviceError::InvalidRequest(_) => ("invalid_request", StatusCode::BAD_REQUEST),
            DeviceError::Rejected => ("rejected", StatusCode::FORBIDDEN),
            DeviceError::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            DeviceError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            DeviceError::Conflict(_) => ("conflict", StatusCode::CONFLICT),
            DeviceError::Expired => ("expired", StatusCode::GONE),
            DeviceError::TooManyRequests(_) => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS),
            DeviceError::Unavailable(_) => {
                ("temporarily_unavailable", StatusCode::SERVICE_UNAVAILABLE)
            }
            DeviceError::Config(_)
            | DeviceError::Storage(_)
            | DeviceError::Crypto
            | DeviceError::Internal(_) => ("server_error", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl IntoResponse for DeviceError {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        if status.is_server_error() {
            tracing::error!(error = ?self, "device factor failure");
        }
        let body = serde_json::json!({ "error": code, "error_description": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(crate::error::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// The server's view of a device-factor failure: a setting keeps its name under `device.`,
/// storage and internal failures keep their detail (logged, never sent).
impl From<DeviceError> for crate::Error {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Config(m) => crate::Error::Config(
                m.strip_prefix('`')
                    .map_or_else(|| format!("device: {m}"), |rest| format!("`device.{rest}")),
            ),
            DeviceError::Storage(d) => crate::Error::Storage(d),
            DeviceError::Unavailable(d) => crate::Error::Unavailable(d),
            DeviceError::Crypto => crate::Error::Crypto,
            DeviceError::Internal(d) => crate::Error::Internal(d),
            DeviceError::InvalidRequest(m) => crate::Error::InvalidRequest(m),
            other => crate::Error::Internal(other.to_string()),
        }
    }
}
