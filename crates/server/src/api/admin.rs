//! Management of a user's factors (LG-4, LG-10, A0-6), code checks for relying services, and
//! lockouts (`/api/v2/user-blocks`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::factors::{self, AssociateResponse, AuthenticatorView};
use crate::model::{UserPatch, VerifyOutcome};
use crate::store::OnSuccess;
use crate::AppState;

/// Body to enroll a factor for a user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollBody {
    /// Only `totp` today.
    #[serde(rename = "type")]
    kind: String,
}

/// The factor types `EnrollBody` may name.
const ENROLLABLE: &[&str] = &["totp"];

impl EnrollBody {
    /// The type named.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Refuses a type that is unknown or not supported yet, naming it (a passkey must never
    /// turn into a TOTP).
    pub fn check(&self) -> Result<()> {
        self.check_in(ENROLLABLE)
    }

    /// [`EnrollBody::check`] against the types `allowed` (self-service also registers
    /// passkeys).
    pub fn check_in(&self, allowed: &[&str]) -> Result<()> {
        if allowed.contains(&self.kind.as_str()) {
            return Ok(());
        }
        let shown: String = self
            .kind
            .chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect();
        Err(Error::InvalidRequest(format!(
            "`type`: `{shown}` is not a supported authenticator type (supported: {})",
            allowed.join(", ")
        )))
    }
}

/// `{"mfa": {"skipped": bool}}` (Logto's logto-configs shape).
#[derive(Debug, Serialize, Deserialize)]
pub struct MfaConfigs {
    /// MFA settings.
    pub mfa: MfaSkip,
}

/// The "skipped the MFA prompt" state.
#[derive(Debug, Serialize, Deserialize)]
pub struct MfaSkip {
    /// true once the user skipped the prompt; false shows it again.
    pub skipped: bool,
}

/// Body of an OTP check.
#[derive(Deserialize)]
pub struct OtpBody {
    otp: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for OtpBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpBody(<redacted>)")
    }
}

/// Result of a successful OTP check.
#[derive(Debug, Serialize, Deserialize)]
pub struct OtpVerified {
    /// Always true (failures are errors).
    pub valid: bool,
    /// The authenticator that matched.
    pub authenticator_id: String,
    /// This code confirmed a pending enrollment.
    pub confirmed: bool,
}

/// A regenerated recovery code (A0-6), plus the whole set when sets hold more than one.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecoveryCode {
    /// The (first) new code.
    pub recovery_code: String,
    /// All new codes, when `recovery_codes.count` > 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// One blocked factor.
#[derive(Debug, Serialize, Deserialize)]
pub struct Block {
    /// `password`, `otp` or `recovery-code`.
    pub factor: String,
    /// Consecutive failures.
    pub failures: u32,
    /// Unix seconds.
    pub last_failure_at: u64,
    /// At the hard cap.
    pub locked: bool,
}

/// `{"blocked_for": [...]}`
#[derive(Debug, Serialize, Deserialize)]
pub struct Blocks {
    /// Factors with failures.
    pub blocked_for: Vec<Block>,
}

/// `GET /api/v2/users/{id}/authentication-methods` (read:users).
pub async fn list_factors(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuthenticatorView>>> {
    caller.management("read:users")?;
    factors::user(&state, &id).await?;
    Ok(Json(factors::list(&state, &id).await?))
}

/// `POST /api/v2/users/{id}/authentication-methods` `{"type":"totp"}` (update:users) → 201.
pub async fn enroll(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EnrollBody>,
) -> Result<(StatusCode, Json<AssociateResponse>)> {
    caller.management("update:users")?;
    body.check()?;
    let user = factors::user(&state, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(factors::enroll_otp(&state, &user).await?),
    ))
}

/// `DELETE /api/v2/users/{id}/authentication-methods` (update:users) → 204: removes all MFA.
pub async fn remove_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.management("update:users")?;
    factors::user(&state, &id).await?;
    let now = state.now();
    state
        .db(move |s| s.delete_all_authenticators(&id, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v2/users/{id}/authentication-methods/{auth_id}` (update:users) → 204.
pub async fn remove_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, auth_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    caller.management("update:users")?;
    let now = state.now();
    let gone = state
        .db(move |s| s.delete_authenticator(&id, &auth_id, now))
        .await?;
    if gone.is_empty() {
        return Err(Error::NotFound("authenticator"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/users/{id}/recovery-code-regeneration` (update:users) → `{"recovery_code"}`.
pub async fn regenerate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecoveryCode>> {
    caller.management("update:users")?;
    factors::user(&state, &id).await?;
    recovery_response(factors::regenerate(&state, &id).await?)
}

pub(crate) fn recovery_response(codes: Vec<String>) -> Result<Json<RecoveryCode>> {
    let first = codes
        .first()
        .cloned()
        .ok_or_else(|| Error::Internal("empty set".into()))?;
    let all = if codes.len() > 1 { Some(codes) } else { None };
    Ok(Json(RecoveryCode {
        recovery_code: first,
        recovery_codes: all,
    }))
}

/// `PATCH /api/v2/users/{id}/logto-configs` `{"mfa":{"skipped":false}}` (update:users).
pub async fn mfa_configs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MfaConfigs>,
) -> Result<Json<MfaConfigs>> {
    caller.management("update:users")?;
    set_skipped(&state, id, body.mfa.skipped).await
}

pub(crate) async fn set_skipped(
    state: &AppState,
    id: String,
    skipped: bool,
) -> Result<Json<MfaConfigs>> {
    let now = state.now();
    let patch = UserPatch {
        mfa_prompt_skipped: Some(skipped),
        ..Default::default()
    };
    let user = state
        .db(move |s| s.update_user(&id, patch, now))
        .await?
        .ok_or(Error::NotFound("user"))?;
    Ok(Json(MfaConfigs {
        mfa: MfaSkip {
            skipped: user.mfa_prompt_skipped,
        },
    }))
}

/// `POST /api/v2/users/{id}/otp-verification` `{"otp"}` (verify:otp): checks a code for a
/// relying service, one-time use and lockout included; confirms a pending enrollment.
pub async fn verify_otp(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OtpBody>,
) -> Result<Json<OtpVerified>> {
    caller.management("verify:otp")?;
    check_otp(&state, &id, &body.otp).await
}

pub(crate) async fn check_otp_body(
    state: &AppState,
    user_id: &str,
    body: OtpBody,
) -> Result<Json<OtpVerified>> {
    check_otp(state, user_id, &body.otp).await
}

pub(crate) async fn check_otp(
    state: &AppState,
    user_id: &str,
    otp: &str,
) -> Result<Json<OtpVerified>> {
    let no_writes = OnSuccess {
        revoke_token_id: None,
        issue: None,
    };
    let outcome = factors::verify_otp(state, user_id, otp, no_writes).await?;
    match factors::expect_accepted(outcome, "Invalid otp_code.")? {
        VerifyOutcome::Accepted {
            authenticator_id,
            confirmed,
            ..
        } => Ok(Json(OtpVerified {
            valid: true,
            authenticator_id,
            confirmed,
        })),
        _ => Err(Error::InvalidGrant("Invalid otp_code.")),
    }
}

/// `GET /api/v2/user-blocks/{id}` (read:users): failure counters and locks.
pub async fn blocks(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Blocks>> {
    caller.management("read:users")?;
    factors::user(&state, &id).await?;
    let max = state.config().lockout.max_failures;
    let rows = state.db(move |s| s.failures(&id)).await?;
    let blocked_for = rows
        .into_iter()
        .map(|(f, r)| Block {
            factor: f.as_str().to_owned(),
            failures: r.count,
            last_failure_at: r.last_failure_at,
            locked: r.count >= max,
        })
        .collect();
    Ok(Json(Blocks { blocked_for }))
}

/// `DELETE /api/v2/user-blocks/{id}` (update:users) → 204: an administrator's unlock.
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.management("update:users")?;
    factors::user(&state, &id).await?;
    let now = state.now();
    state.db(move |s| s.unlock(&id, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}
