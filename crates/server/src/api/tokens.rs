//! `/api/v2/tokens`: management API tokens (scoped, revocable at once).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::{issue_token, Caller, MANAGEMENT_SCOPES};
use crate::error::{Error, Result};
use crate::model::{TokenKind, TokenRecord};
use crate::AppState;

/// Body of `POST /api/v2/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    scopes: Vec<String>,
    #[serde(default)]
    name: String,
    /// Lifetime in seconds; absent = no expiry.
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A new token: the secret is shown here only.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedToken {
    /// Record id (for revocation).
    pub id: String,
    /// The bearer secret.
    pub token: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Name.
    pub name: String,
    /// Unix seconds, if it expires.
    pub expires_at: Option<u64>,
}

/// Checks scope names against the management set.
pub fn check_scopes(scopes: &[String]) -> Result<()> {
    if scopes.is_empty() {
        return Err(Error::InvalidRequest("`scopes` must not be empty".into()));
    }
    for s in scopes {
        if !MANAGEMENT_SCOPES.contains(&s.as_str()) {
            return Err(Error::InvalidRequest(format!(
                "`scopes`: unknown scope `{s}`"
            )));
        }
    }
    Ok(())
}

/// `POST /api/v2/tokens` (manage:tokens) → 201 with the secret.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    caller.management("manage:tokens")?;
    check_scopes(&body.scopes)?;
    if body.name.chars().count() > 128 {
        return Err(Error::InvalidRequest(
            "`name` must be at most 128 characters".into(),
        ));
    }
    let now = state.now();
    let (secret, record, hash) = issue_token(
        TokenKind::Management,
        None,
        body.scopes,
        &body.name,
        body.expires_in,
        now,
    )?;
    let out = CreatedToken {
        id: record.id.clone(),
        token: secret,
        scopes: record.scopes.clone(),
        name: record.name.clone(),
        expires_at: record.expires_at,
    };
    state.db(move |s| s.insert_token(record, hash)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /api/v2/tokens` (manage:tokens): records, never secrets.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenRecord>>> {
    caller.management("manage:tokens")?;
    Ok(Json(state.db(|s| s.list_management_tokens()).await?))
}

/// `DELETE /api/v2/tokens/{id}` (manage:tokens) → 204; the token stops working at once.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.management("manage:tokens")?;
    let now = state.now();
    let key = id.clone();
    let revoked = state.db(move |s| s.revoke_token(&key, now)).await?;
    // After the commit: lookups that started before it are not cached (generation check).
    state.forget_token(&id);
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("token"))
    }
}
