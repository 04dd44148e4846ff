//! Self-service for the signed-in user (LG-8): list, bind, confirm, unbind, regenerate, and
//! the "skipped the MFA prompt" state (LG-3, LG-4).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Kind, Principal};
use crate::error::{ApiError, ApiResult};
use crate::service;
use crate::AppState;

fn access_user(who: &Principal, scope: &str) -> ApiResult<String> {
    if who.kind != Kind::Access {
        return Err(ApiError::missing_scope(scope));
    }
    who.require_user(scope)
}

/// `GET /api/v2/me/authenticators` (`read:authenticators`).
pub async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Vec<Value>>> {
    let user = access_user(&who, "read:authenticators")?;
    Ok(Json(
        state
            .db(move |s| service::list_authenticators(s, &user))
            .await?,
    ))
}

/// `POST /api/v2/me/authenticators` (`enroll`): bind another authenticator app.
pub async fn bind(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<(StatusCode, Json<service::Enrollment>)> {
    let user = access_user(&who, "enroll")?;
    let e = state
        .db(move |s| {
            let user = s.store().get_user(&user)?;
            service::enroll_otp(s, &user)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[derive(Debug, Deserialize)]
pub struct Otp {
    otp: String,
}

/// `POST /api/v2/me/authenticators/{id}/confirm` (`enroll`): the first code activates it.
pub async fn confirm(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    super::Body(body): super::Body<Otp>,
) -> ApiResult<Json<Value>> {
    let user = access_user(&who, "enroll")?;
    let matched = state
        .db(move |s| {
            if !s.store().authenticators(&user)?.iter().any(|a| a.id == id) {
                return Err(ApiError::not_found("authenticator"));
            }
            service::verify_otp(s, &user, &body.otp)
        })
        .await?;
    Ok(Json(json!({"active": true, "authenticator_id": matched})))
}

/// `DELETE /api/v2/me/authenticators/{id}` (`remove:authenticators`).
pub async fn unbind(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user = access_user(&who, "remove:authenticators")?;
    state
        .db(move |s| service::delete_authenticator(s, &user, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/me/recovery-code-regeneration` (`enroll`).
pub async fn regenerate(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    let user = access_user(&who, "enroll")?;
    let codes = state
        .db(move |s| service::regenerate_recovery_codes(s, &user, true))
        .await?;
    Ok(Json(json!({"recovery_codes": codes})))
}

pub fn set_skip(state: &AppState, user_id: &str, skipped: bool) -> ApiResult<()> {
    let mut user = state.store().get_user(user_id)?;
    user.mfa_prompt_skipped = skipped;
    state.store().update_user(&user)?;
    state.store().audit(
        state.now(),
        if skipped {
            "mfa_prompt_skip"
        } else {
            "mfa_prompt_skip_reset"
        },
        Some(user_id),
        json!({}),
    )?;
    Ok(())
}

/// `POST /api/v2/me/mfa-prompt-skipped` (`profile`): the user skipped the set-up prompt.
pub async fn skip(State(state): State<AppState>, who: Principal) -> ApiResult<StatusCode> {
    let user = access_user(&who, "profile")?;
    state.db(move |s| set_skip(s, &user, true)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v2/me/mfa-prompt-skipped` (`profile`): show the prompt again (LG-4).
pub async fn reset_skip(State(state): State<AppState>, who: Principal) -> ApiResult<StatusCode> {
    let user = access_user(&who, "profile")?;
    state.db(move |s| set_skip(s, &user, false)).await?;
    Ok(StatusCode::NO_CONTENT)
}
