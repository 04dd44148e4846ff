//! Bearer tokens: who is calling and with which scopes.
//!
//! Tokens are 256-bit random strings; only their SHA-256 is stored, and lookup is by that
//! hash (an index lookup on a hash of a high-entropy secret leaks nothing useful by timing).
//! A revoked or expired token stops working at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The scope that grants every management scope.
pub const ADMIN: &str = "admin";

/// Management scopes.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "admin",
    "read:users",
    "write:users",
    "read:logs",
    "manage:mfa",
    "manage:tokens",
    "verify:otp",
];

/// Scopes an end user's access token may carry.
pub const USER_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "enroll",
    "read:authenticators",
    "remove:authenticators",
];

/// What kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Management (admin) token.
    Admin,
    /// A user's access token.
    Access,
    /// An `mfa_token` (between the password and the second factor).
    Mfa,
}

/// The caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Token id (`tok_…`).
    pub token_id: String,
    /// Kind.
    pub kind: Kind,
    /// The user (access and mfa tokens).
    pub user_id: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
}

impl Principal {
    /// Requires a management scope (or `admin`).
    pub fn require_admin(&self, scope: &str) -> ApiResult<()> {
        if self.kind == Kind::Admin && self.scopes.iter().any(|s| s == scope || s == ADMIN) {
            Ok(())
        } else {
            Err(ApiError::missing_scope(scope))
        }
    }

    /// Requires a user token (access or mfa) with `scope`; returns the user id.
    pub fn require_user(&self, scope: &str) -> ApiResult<String> {
        match (&self.user_id, self.kind) {
            (Some(u), Kind::Access | Kind::Mfa) if self.scopes.iter().any(|s| s == scope) => {
                Ok(u.clone())
            }
            _ => Err(ApiError::missing_scope(scope)),
        }
    }
}

/// Extracts the bearer token from a header value.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Looks a token up (blocking).
pub fn lookup(state: &AppState, token: &str) -> ApiResult<Principal> {
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::unauthorized());
    }
    let hash = crypto::sha256(token.as_bytes());
    let row = state
        .store()
        .token_by_hash(&hash)?
        .ok_or_else(ApiError::unauthorized)?;
    // The lookup is by hash; compare again in constant time for good measure.
    if !crypto::ct_eq(&row.hash, &hash) || row.revoked {
        return Err(ApiError::unauthorized());
    }
    if row.expires_at.is_some_and(|e| state.now() >= e) {
        return Err(ApiError::unauthorized());
    }
    let kind = match row.kind.as_str() {
        "admin" => Kind::Admin,
        "access" => Kind::Access,
        "mfa" => Kind::Mfa,
        _ => return Err(ApiError::unauthorized()),
    };
    Ok(Principal {
        token_id: row.id,
        kind,
        user_id: row.user_id,
        scopes: row.scopes,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?.to_owned();
        state.db(move |s| lookup(s, &token)).await
    }
}
