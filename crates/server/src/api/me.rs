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

/// Body of `PUT /api/v2/me/email` and `PUT /api/v2/me/phone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// The new address or number.
    value: String,
    /// For a phone: confirm by `sms` (default) or `voice`.
    #[serde(default)]
    channel: Option<String>,
}

/// `PUT /api/v2/me/email` `{"value"}` (enroll): sends a code (and a link) to the new address;
/// it becomes the primary email, and the email factor, once confirmed (EM-6). Step-up applies.
pub async fn change_email(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody<ContactBody>,
) -> Result<(StatusCode, Json<crate::oob::Sent>)> {
    if body.channel.is_some() {
        return Err(Error::InvalidRequest(
            "`channel`: an address is confirmed by email".into(),
        ));
    }
    super::users::check_email(&body.value)?;
    start_contact(
        &state,
        &caller,
        &headers,
        crate::oob::Channel::Email,
        body.value,
    )
    .await
}

/// `PUT /api/v2/me/phone` `{"value", "channel"?}` (enroll): sends a code by SMS (or a voice
/// call) to the new number; it becomes the user's phone, and the SMS and voice factors, once
/// confirmed. Step-up applies.
pub async fn change_phone(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody<ContactBody>,
) -> Result<(StatusCode, Json<crate::oob::Sent>)> {
    super::users::check_phone(&body.value)?;
    let channel = match body.channel.as_deref() {
        None | Some("sms") => crate::oob::Channel::Sms,
        Some("voice") => crate::oob::Channel::Voice,
        Some(_) => {
            return Err(Error::InvalidRequest(
                "`channel`: must be `sms` or `voice`".into(),
            ))
        }
    };
    start_contact(&state, &caller, &headers, channel, body.value).await
}

async fn start_contact(
    state: &AppState,
    caller: &Caller,
    headers: &axum::http::HeaderMap,
    channel: crate::oob::Channel,
    value: String,
) -> Result<(StatusCode, Json<crate::oob::Sent>)> {
    let id = me(caller)?;
    caller.require("enroll")?;
    require_step_up(state, caller, "change how you are reached").await?;
    if !channel.enabled(&state.config()) {
        return Err(Error::InvalidRequest(format!(
            "{} is not configured on this server",
            channel.as_str()
        )));
    }
    if channel == crate::oob::Channel::Email
        && !crate::oob::domain_allowed(&state.config().email, &value)
    {
        return Err(Error::InvalidRequest(
            "this email address's domain may not receive codes".into(),
        ));
    }
    let now = state.now();
    let uid = id.clone();
    let pending = crate::model::Authenticator {
        id: crate::crypto::random_id(&format!("{}|pending_", channel.as_str()))?,
        user_id: id.clone(),
        kind: crate::model::AuthenticatorKind::Oob,
        name: value,
        active: false,
        oob_channel: Some(channel.as_str().to_owned()),
        pair_id: None,
        created_at: now,
        last_used_at: None,
    };
    let keep = pending.clone();
    let user = state
        .blocking(move |s| {
            let store = s.store();
            // One pending change at a time: an earlier one is dropped with its code.
            for a in store.list_authenticators(&uid)? {
                if !a.active && a.kind == crate::model::AuthenticatorKind::Oob {
                    store.delete_authenticator(&uid, &a.id, now)?;
                }
            }
            store.create_authenticator(keep, now)?;
            store.get_user(&uid)?.ok_or(Error::NotFound("user"))
        })
        .await?;
    let locale = crate::oob::messages::Locale::from_accept_language(
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let sent = crate::oob::send_code(
        state,
        crate::oob::SendRequest {
            user,
            authenticator: pending,
            channel,
            purpose: crate::oob::messages::Purpose::Verify,
            flow_id: None,
            locale,
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// Body of `POST /api/v2/me/contact-verification`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactCode {
    /// The code sent to the new address or number.
    code: String,
}

/// `POST /api/v2/me/contact-verification` `{"code"}` (enroll): confirms the pending address or
/// number; the user's profile and factors change at once, and codes sent to the old one are
/// void.
pub async fn verify_contact(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ContactCode>,
) -> Result<Json<User>> {
    let id = me(&caller)?;
    caller.require("enroll")?;
    // The pending change tells which channel's code settings apply.
    let uid = id.clone();
    let pending = state
        .db(move |s| s.list_authenticators(&uid))
        .await?
        .into_iter()
        .find(|a| !a.active && a.kind == crate::model::AuthenticatorKind::Oob)
        .ok_or_else(|| Error::InvalidRequest("no change of address or number is pending".into()))?;
    let channel = pending
        .oob_channel
        .as_deref()
        .and_then(crate::oob::Channel::of_name)
        .ok_or(Error::NotFound("authenticator"))?;
    let code = crate::oob::normalize_code(&body.code, &channel.settings(&state.config()))?;
    let lookup = crate::store::oob::OobLookup::Latest {
        user_id: Some(id),
        purpose: Some(crate::oob::messages::Purpose::Verify.as_str().to_owned()),
        flow_hash: None,
    };
    Ok(Json(confirm_contact(&state, lookup, Some(code)).await?))
}

/// Redeems a verification code (or link) and makes its address or number the user's.
pub async fn confirm_contact(
    state: &AppState,
    lookup: crate::store::oob::OobLookup,
    code: Option<zeroize::Zeroizing<String>>,
) -> Result<User> {
    use crate::store::oob::OobRedeemed;
    let row = match crate::oob::redeem(state, lookup, code).await? {
        OobRedeemed::Accepted(row) if row.purpose == "verify" => row,
        OobRedeemed::Accepted(_) | OobRedeemed::Rejected { .. } => {
            return Err(Error::Flow(crate::error::FlowError::InvalidCredentials))
        }
        OobRedeemed::Locked => return Err(Error::TooManyAttempts),
        OobRedeemed::Expired | OobRedeemed::Invalid => {
            return Err(Error::InvalidRequest(
                "the code has expired or was replaced; ask for a new one".into(),
            ))
        }
    };
    let now = state.now();
    state
        .blocking(move |s| {
            let store = s.store();
            let pending = store
                .list_authenticators(&row.user_id)?
                .into_iter()
                .find(|a| a.id == row.authenticator_id)
                .ok_or(Error::NotFound("authenticator"))?;
            let email = pending.oob_channel.as_deref() == Some("email");
            let patch = crate::model::UserPatch {
                email: email.then(|| Some(pending.name.clone())),
                phone: (!email).then(|| Some(pending.name.clone())),
                ..crate::model::UserPatch::default()
            };
            // The profile's sync replaces the factor (the pending row goes with the old one).
            store.delete_authenticator(&row.user_id, &pending.id, now)?;
            store
                .update_user(&row.user_id, patch, now)?
                .ok_or(Error::NotFound("user"))
        })
        .await
}
