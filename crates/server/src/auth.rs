//! Bearer tokens: issuing (≥ 128-bit random secrets, stored as SHA-256), resolving a request's
//! token (revocation takes effect at once: every request reads the store), and scope checks.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;

use crate::crypto::{random_bytes, random_id, sha256};
use crate::error::{Error, Result};
use crate::model::{TokenKind, TokenRecord};
use crate::AppState;

/// Scopes a management token may carry.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "read:organizations",
    "create:organizations",
    "update:organizations",
    "read:logs",
    "verify:otp",
    "manage:tokens",
    // The sign-in policy: read it (and dry-run it), replace it.
    "read:policies",
    "update:policies",
    // Applications (OpenID Connect clients): read them; register, change, remove, new secrets.
    "read:applications",
    "manage:applications",
    // The OpenID Connect provider's signing keys: rotate now.
    "manage:keys",
    // The device factor: start pushes and read their outcome (a relying party).
    "push:create",
    // The device factor: enrollment offers, users' devices.
    "devices:manage",
    // The factor settings changed at runtime (TOTP, email/SMS/voice codes, push, QR login).
    "read:settings",
    "update:settings",
];

/// Scopes a user's access token may carry (A0-1).
pub const USER_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "enroll",
    "read:authenticators",
    "remove:authenticators",
];

/// Scopes of an `mfa_token`: it may list and associate, never remove (A0-2).
pub const MFA_TOKEN_SCOPES: &[&str] = &["enroll", "read:authenticators"];

/// Marks an access token issued after a completed MFA (its `name`).
pub const AMR_MFA: &str = "mfa";
/// Marks an access token issued on the password alone (its `name`).
pub const AMR_PWD: &str = "pwd";

/// A new token: its secret (shown once), its record and the SHA-256 the store keeps.
pub fn issue_token(
    kind: TokenKind,
    user_id: Option<String>,
    scopes: Vec<String>,
    name: &str,
    ttl: Option<u64>,
    now: u64,
) -> Result<(String, TokenRecord, [u8; 32])> {
    let prefix = match kind {
        TokenKind::Management => "tsm_",
        TokenKind::Access => "tsa_",
        TokenKind::Mfa => "tsf_",
    };
    let secret = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    );
    let hash = sha256(secret.as_bytes());
    let record = TokenRecord {
        id: random_id("tok_")?,
        kind,
        user_id,
        scopes,
        name: name.to_owned(),
        created_at: now,
        expires_at: ttl.map(|t| now.saturating_add(t)),
        revoked_at: None,
    };
    Ok((secret, record, hash))
}

/// The token a request carries, valid now; or, without an `Authorization` header, an
/// administrator's console session as a management caller ([`crate::admin`]).
#[derive(Debug, Clone)]
pub struct Caller(pub TokenRecord);

impl Caller {
    /// Fails with `insufficient_scope` unless the token has `scope`.
    pub fn require(&self, scope: &str) -> Result<()> {
        if self.0.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Error::InsufficientScope(scope.to_owned()))
        }
    }

    /// A management token with `scope`.
    pub fn management(&self, scope: &str) -> Result<()> {
        if self.0.kind != TokenKind::Management {
            return Err(Error::AccessDenied(
                "a management API token is required".into(),
            ));
        }
        self.require(scope)
    }

    /// The user of an access token or an mfa_token.
    pub fn user_id(&self) -> Result<&str> {
        self.0
            .user_id
            .as_deref()
            .ok_or_else(|| Error::AccessDenied("this endpoint needs a user's token".into()))
    }

    /// Whether this is an access token issued after completing MFA.
    pub fn mfa_completed(&self) -> bool {
        self.0.kind == TokenKind::Access && self.0.name == AMR_MFA
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // No bearer token: an administrator's console session, if any (crate::admin).
            let path = parts.uri.path().to_owned();
            let record =
                crate::admin::console_caller(state, &parts.headers, &parts.method, &path).await?;
            return Ok(Caller(record));
        };
        let header = header.to_str().map_err(|_| Error::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(Error::Unauthorized)?
            .trim();
        // Lookup by SHA-256 of a 256-bit secret: timing of the index lookup reveals nothing
        // usable about the secret.
        let hash = sha256(token.as_bytes());
        let record = match state.cached_token(&hash) {
            Some(r) => r,
            None => {
                let generation = state.token_generation();
                let r = state
                    .db(move |s| s.find_token(hash))
                    .await?
                    .ok_or(Error::Unauthorized)?;
                state.cache_token(hash, &r, generation);
                r
            }
        };
        let now = state.now();
        if record.revoked_at.is_some() || record.expires_at.is_some_and(|e| now >= e) {
            return Err(Error::Unauthorized);
        }
        // A user's token (access, mfa_token): locking the user revoked it; one issued in a
        // race with the lock is refused here (one store read).
        if record.kind != TokenKind::Management {
            if let Some(uid) = record.user_id.clone() {
                state
                    .db(move |s| crate::factors::ensure_not_blocked(s, &uid))
                    .await?;
            }
        }
        Ok(Caller(record))
    }
}
