//! The server's one error type and its one JSON shape, `{"error", "error_description"}`.
//!
//! Every handler returns [`Result`]; [`Error`]'s `IntoResponse` is the only place an error
//! becomes HTTP. Storage and crypto details are logged server-side (without secrets) and the
//! client sees a fixed description.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Everything that can go wrong while serving a request or starting the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a field is invalid; the message names the field.
    #[error("{0}")]
    InvalidRequest(String),
    /// No or an unknown/revoked/expired bearer token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// The token is valid but lacks the scope named.
    #[error("insufficient scope: `{0}` is required")]
    InsufficientScope(String),
    /// The token kind may not call this endpoint (e.g. an mfa_token deleting an authenticator).
    #[error("{0}")]
    AccessDenied(String),
    /// The resource does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value is already taken, or a limit is reached.
    #[error("{0}")]
    Conflict(String),
    /// OAuth: wrong credentials, code or token (always the same text for known and unknown users).
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// OAuth: the password grant needs a second factor; carries the mfa_token.
    #[error("multifactor authentication required")]
    MfaRequired(String),
    /// OAuth: the grant type is not (yet) supported, e.g. `mfa-oob` before the device factor.
    #[error("grant type `{0}` is not supported")]
    UnsupportedGrantType(String),
    /// OAuth `mfa-oob`: the push is still pending; repeat the request in a few seconds.
    #[error("authorization pending: repeat the request in a few seconds")]
    AuthorizationPending,
    /// A device's signature, key, user or transaction check failed (opaque on purpose: which
    /// check failed is logged, never told).
    #[error("request rejected")]
    Rejected,
    /// Missing or invalid credentials other than a bearer token: a used or unknown enrollment
    /// code, a missing QR-login or sign-in cookie.
    #[error("missing or invalid credentials")]
    BadCredentials,
    /// The challenge or session expired.
    #[error("expired")]
    Expired,
    /// A state-changing request from a page without the session's CSRF token.
    #[error("this request lacks the page's security token: reload the page")]
    CsrfFailed,
    /// The session did not prove a second factor, which the admin console needs.
    #[error("the admin console needs a sign-in with a second factor: sign out and sign in again with one")]
    SecondFactorRequired,
    /// Too many requests of one kind (pushes per user, pushes paused after "this wasn't me").
    #[error("{0}")]
    RateLimited(&'static str),
    /// Too many failed attempts: the factor is delayed or locked.
    #[error("too many failed attempts; try again later")]
    TooManyAttempts,
    /// An administrator locked (blocked) the user: nothing signs them in until unlocked. The
    /// hosted sign-in and the password grant say so only after the first factor was proven.
    #[error("this account is locked; contact your administrator")]
    UserBlocked,
    /// A passkey ceremony failed (wrong origin or relying party, stale or unknown challenge,
    /// bad signature, malformed credential): what went wrong, never key material.
    #[error("the passkey was refused: {0}")]
    Passkey(String),
    /// A passkey's signature counter did not increase: the authenticator may have been cloned.
    #[error("the passkey was refused: its signature counter went back, so the authenticator may have been cloned; use another factor and remove this passkey")]
    PasskeyCloned,
    /// A sign-in flow cannot be used (docs/signin.md).
    #[error("{0}")]
    Flow(FlowError),
    /// The configuration is invalid; the message names the setting.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A storage failure (details logged, never sent).
    #[error("storage error")]
    Storage(String),
    /// The database cannot be reached just now (connection refused or lost, pool exhausted,
    /// the database restarting): 503 with `Retry-After`; details logged, never sent.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(String),
    /// The server cannot start on its database: the file and the cause (start-up only, never
    /// sent to a client).
    #[error("cannot open the database {0}")]
    Open(String),
    /// A backup or restore failed: the file and the cause (operator commands only, never sent
    /// to a client).
    #[error("{0}")]
    Backup(String),
    /// A cryptographic failure: sealing, opening or random generation (opaque on purpose).
    #[error("cryptographic failure")]
    Crypto,
    /// Any other internal failure (details logged, never sent).
    #[error("internal error")]
    Internal(String),
}

/// Why a sign-in flow refused a request: each its own code, and nothing else happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// No such flow (a guessed or mistyped id).
    #[error("no such sign-in: start again")]
    NotFound,
    /// Its time is up.
    #[error("this sign-in has expired: start again")]
    Expired,
    /// It was started in another browser.
    #[error("this sign-in was started in another browser: start again here")]
    OtherBrowser,
    /// It is over (signed in or refused).
    #[error("this sign-in is finished and cannot be used again")]
    Finished,
    /// The request does not fit the step (names what the flow expects).
    #[error("this sign-in is at the `{0}` step")]
    WrongStep(&'static str),
    /// Wrong identifier, password or code (the same for unknown users).
    #[error("wrong credentials")]
    InvalidCredentials,
}

/// What a 503 tells the client to wait, seconds (`Retry-After`).
pub const RETRY_AFTER_SECS: &str = "5";

/// The server's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<tessera_core::Error> for Error {
    fn from(e: tessera_core::Error) -> Self {
        Error::InvalidRequest(e.to_string())
    }
}

/// The wire shape of every error (Auth0's), plus `mfa_token` for `mfa_required`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Machine-readable code (`invalid_request`, `mfa_required`, …).
    pub error: &'static str,
    /// Human-readable text; never contains a secret or a code.
    pub error_description: String,
    /// Only for `mfa_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
}

impl Error {
    /// The HTTP status and the `error` code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "invalid_token"),
            Error::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Error::AccessDenied(_) => (StatusCode::FORBIDDEN, "access_denied"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::InvalidGrant(_) => (StatusCode::FORBIDDEN, "invalid_grant"),
            Error::MfaRequired(_) => (StatusCode::FORBIDDEN, "mfa_required"),
            Error::UnsupportedGrantType(_) => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Error::TooManyAttempts => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Error::UserBlocked => (StatusCode::FORBIDDEN, "user_blocked"),
            Error::Passkey(_) => (StatusCode::BAD_REQUEST, "passkey_refused"),
            Error::PasskeyCloned => (StatusCode::FORBIDDEN, "passkey_cloned"),
            Error::Flow(f) => match f {
                FlowError::NotFound => (StatusCode::NOT_FOUND, "flow_not_found"),
                FlowError::Expired => (StatusCode::GONE, "flow_expired"),
                FlowError::OtherBrowser => (StatusCode::FORBIDDEN, "flow_other_browser"),
                FlowError::Finished => (StatusCode::CONFLICT, "flow_finished"),
                FlowError::WrongStep(_) => (StatusCode::CONFLICT, "wrong_step"),
                FlowError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            },
            Error::Rejected => (StatusCode::FORBIDDEN, "rejected"),
            Error::BadCredentials => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Expired => (StatusCode::GONE, "expired"),
            Error::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed"),
            Error::SecondFactorRequired => (StatusCode::FORBIDDEN, "second_factor_required"),
            Error::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Error::AuthorizationPending => (StatusCode::BAD_REQUEST, "authorization_pending"),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Error::Config(_)
            | Error::Storage(_)
            | Error::Open(_)
            | Error::Backup(_)
            | Error::Crypto
            | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let (description, mfa_token) = match self {
            Error::MfaRequired(token) => (
                "Multifactor authentication required".to_owned(),
                Some(token),
            ),
            Error::Storage(detail)
            | Error::Open(detail)
            | Error::Backup(detail)
            | Error::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                ("internal server error".to_owned(), None)
            }
            Error::Crypto => {
                tracing::error!("cryptographic failure");
                ("internal server error".to_owned(), None)
            }
            Error::Unavailable(ref detail) => {
                tracing::warn!(%detail, "database unavailable");
                (self.to_string(), None)
            }
            other => (other.to_string(), None),
        };
        let body = ErrorBody {
            error: code,
            error_description: description,
            mfa_token,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}
