//! Self-service for the signed-in user (LG-4, LG-8), with the user's access token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::admin::{self, EnrollBody, MfaConfigs, OtpBody, OtpVerified, RecoveryCode};
use super::mfa::require_step_up;
use super::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::factors::{self, AssociateResponse, AuthenticatorView};
use crate::model::{TokenKind, User};
use crate::AppState;

/// The user and their MFA status.
#[derive(Debug, Serialize, Deserialize)]
pub struct Me {
    /// Profile.
    pub user: User,
    /// MFA status.
    pub mfa: MfaStatus,
    /// The security score and what would raise it (LG-9).
    pub security: crate::signin::flow::Security,
}

/// Current MFA status (LG-8).
#[derive(Debug, Serialize, Deserialize)]
pub struct MfaStatus {
    /// Has an active factor.
    pub enrolled: bool,
    /// MFA is required (globally or by an organization).
    pub required: bool,
    /// Skipped the set-up prompt.
    pub skipped: bool,
}

/// The user of a self-service call: only a user's access token will do.
pub(crate) fn me(caller: &Caller) -> Result<String> {
    if caller.0.kind != TokenKind::Access {
        return Err(Error::AccessDenied(
            "self-service needs the user's access token".into(),
        ));
    }
    caller.user_id().map(str::to_owned)
}

/// `GET /api/v2/me`
pub async fn profile(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>> {
    let id = me(&caller)?;
    let user = factors::user(&state, &id).await?;
    let enrolled = factors::has_active(&state, &id).await?;
    let org = state.db(move |s| s.org_requires_mfa(&id)).await?;
    let required = state.config().mfa.required || org;
    let skipped = user.mfa_prompt_skipped;
    let uid = user.user_id.clone();
    let facts = state
        .blocking(move |s| super::policies::user_facts(s, &uid))
        .await?;
    Ok(Json(Me {
        user,
        mfa: MfaStatus {
            enrolled,
            required,
            skipped,
        },
        security: crate::signin::flow::security(&facts),
    }))
}

/// `GET /api/v2/me/authenticators` (read:authenticators)
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AuthenticatorView>>> {
    let id = me(&caller)?;
    caller.require("read:authenticators")?;
    Ok(Json(factors::list(&state, &id).await?))
}

/// `POST /api/v2/me/authenticators` `{"type":"totp"}` (enroll) → 201 with the TOTP set-up;
/// `{"type":"passkey"}` → 201 with a passkey registration ceremony to finish at
/// `POST /api/v2/me/passkey-verification` ([`crate::passkey::api`]).
pub async fn bind(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EnrollBody>,
) -> Result<Response> {
    let id = me(&caller)?;
    caller.require("enroll")?;
    body.check_in(&["totp", "passkey"])?;
    let passkey = body.kind() == "passkey";
    require_step_up(&state, &caller, "add authenticators").await?;
    let user = factors::user(&state, &id).await?;
    if passkey {
        let begun = crate::passkey::api::begin(&state, user).await?;
        return Ok((StatusCode::CREATED, Json(begun)).into_response());
    }
    let setup: AssociateResponse = factors::enroll_otp(&state, &user).await?;
    Ok((StatusCode::CREATED, Json(setup)).into_response())
}

/// `DELETE /api/v2/me/authenticators/{id}` (remove:authenticators) → 204.
pub async fn unbind(
    State(state): State<AppState>,
    caller: Caller,
    Path(auth_id): Path<String>,
) -> Result<StatusCode> {
    let id = me(&caller)?;
    caller.require("remove:authenticators")?;
    require_step_up(&state, &caller, "remove authenticators").await?;
    let now = state.now();
    let gone = state
        .db(move |s| s.delete_authenticator(&id, &auth_id, now))
        .await?;
    if gone.is_empty() {
        return Err(Error::NotFound("authenticator"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/me/otp-verification` `{"otp"}` (enroll): confirms a bound authenticator.
pub async fn verify_otp(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<OtpBody>,
) -> Result<Json<OtpVerified>> {
    let id = me(&caller)?;
    caller.require("enroll")?;
    admin::check_otp_body(&state, &id, body).await
}

/// `POST /api/v2/me/recovery-code-regeneration` (enroll).
pub async fn regenerate(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RecoveryCode>> {
    let id = me(&caller)?;
    caller.require("enroll")?;
    require_step_up(&state, &caller, "regenerate recovery codes").await?;
    admin::recovery_response(factors::regenerate(&state, &id).await?)
}

/// `PATCH /api/v2/me/logto-configs` `{"mfa":{"skipped":bool}}`: set or reset the skip state.
pub async fn mfa_configs(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<MfaConfigs>,
) -> Result<Json<MfaConfigs>> {
    let id = me(&caller)?;
    admin::set_skipped(&state, id, body.mfa.skipped).await
}

/// `GET /api/v2/me/notifications` (read:authenticators): how the user is told about changes
/// to their MFA (IBM-3).
pub async fn notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<crate::oob::notify::PreferenceView>> {
    let id = me(&caller)?;
    caller.require("read:authenticators")?;
    let stored = state.db(move |s| s.notification_pref(&id)).await?;
    Ok(Json(crate::oob::notify::effective(
        &state,
        stored.as_deref(),
    )))
}

/// `PUT /api/v2/me/notifications` (enroll) `{"channels", "locale"}`: the user's choice, where
/// the administrator allows one (`notifications.user_override`).
pub async fn set_notifications(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<crate::oob::notify::Preference>,
) -> Result<Json<crate::oob::notify::PreferenceView>> {
    let id = me(&caller)?;
    caller.require("enroll")?;
    crate::oob::notify::check_choice(&state, &body)?;
    let text = serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?;
    let uid = id.clone();
    state
        .db(move |s| s.set_notification_pref(&uid, Some(&text)))
        .await?;
    let stored = state.db(move |s| s.notification_pref(&id)).await?;
    Ok(Json(crate::oob::notify::effective(
        &state,
        stored.as_deref(),
    )))
}
