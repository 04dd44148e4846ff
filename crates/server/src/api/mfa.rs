//! The Auth0-shaped MFA API: `/mfa/authenticators` and `/mfa/associate` (A0-1..A0-5).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::factors::{self, AssociateResponse, AuthenticatorView};
use crate::model::TokenKind;
use crate::AppState;

/// Body of `POST /mfa/associate` (other Auth0 fields such as `client_id` are ignored).
#[derive(Debug, Deserialize)]
pub struct Associate {
    authenticator_types: Vec<String>,
}

/// `GET /mfa/authenticators` (read:authenticators; an mfa_token may list).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AuthenticatorView>>> {
    if caller.0.kind == TokenKind::Management {
        return Err(Error::AccessDenied(
            "use a user's access token or mfa_token".into(),
        ));
    }
    caller.require("read:authenticators")?;
    Ok(Json(factors::list(&state, caller.user_id()?).await?))
}

/// Rejects a token that may not change factors: an `mfa_token`, or a password-only access token
/// of a user who already has an active factor (A0-5: needs a token obtained by completing MFA).
pub(crate) async fn require_step_up(state: &AppState, caller: &Caller, what: &str) -> Result<()> {
    match caller.0.kind {
        TokenKind::Access => {}
        TokenKind::Mfa => return Err(Error::AccessDenied(format!("an mfa_token cannot {what}"))),
        TokenKind::Management => {
            return Err(Error::AccessDenied("use a user's access token".into()))
        }
    }
    if !caller.mfa_completed() && factors::has_active(state, caller.user_id()?).await? {
        return Err(Error::AccessDenied(format!(
            "to {what}, complete MFA first (this token was issued on the password alone)"
        )));
    }
    Ok(())
}

/// `DELETE /mfa/authenticators/{id}` (remove:authenticators) → 204; deletes the pair too (A0-4).
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    require_step_up(&state, &caller, "remove authenticators").await?;
    caller.require("remove:authenticators")?;
    let user = caller.user_id()?.to_owned();
    let now = state.now();
    let gone = state
        .db(move |s| s.delete_authenticator(&user, &id, now))
        .await?;
    if gone.is_empty() {
        return Err(Error::NotFound("authenticator"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /mfa/associate` with `authenticator_types: ["otp"]` (enroll). An mfa_token may
/// associate only while the user has no active factor (first enrollment); adding another one
/// needs an access token obtained with MFA.
pub async fn associate(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Associate>,
) -> Result<Json<AssociateResponse>> {
    caller.require("enroll")?;
    if body.authenticator_types.as_slice() != ["otp"] {
        return Err(Error::InvalidRequest(
            "`authenticator_types` must be [\"otp\"] (oob is enrolled with a device)".into(),
        ));
    }
    match caller.0.kind {
        TokenKind::Mfa => {
            if factors::has_active(&state, caller.user_id()?).await? {
                return Err(Error::AccessDenied("User is already enrolled.".into()));
            }
        }
        _ => require_step_up(&state, &caller, "add authenticators").await?,
    }
    let user = factors::user(&state, caller.user_id()?).await?;
    Ok(Json(factors::enroll_otp(&state, &user).await?))
}
