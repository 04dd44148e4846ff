//! `POST /oauth/token`: the password grant and Auth0's MFA grants (A0-2).
//!
//! Wrong user names and wrong passwords get the same answer after the same work (an Argon2id
//! check against a dummy hash), and so does a password attempt while the password factor is
//! locked, so the endpoint never tells whether a user exists.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::{issue_token, AMR_MFA, AMR_PWD, MFA_TOKEN_SCOPES, USER_SCOPES};
use crate::crypto::sha256;
use crate::device::push::Redemption;
use crate::error::{Error, Result};
use crate::model::{TokenKind, TokenRecord, VerifyOutcome};
use crate::store::OnSuccess;
use crate::{factors, AppState};

/// The password grant.
pub const GRANT_PASSWORD: &str = "password";
/// Completes MFA with a TOTP code.
pub const GRANT_MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
/// Completes MFA with a recovery code.
pub const GRANT_MFA_RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
/// Completes MFA with an out-of-band answer (an approved push of the device factor).
pub const GRANT_MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";

const WRONG_CREDENTIALS: &str = "Wrong email or password.";
const BAD_MFA_TOKEN: &str = "Invalid or expired mfa_token.";

/// The token request, as JSON or `application/x-www-form-urlencoded`.
#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<Zeroizing<String>>,
    scope: Option<String>,
    mfa_token: Option<String>,
    otp: Option<Zeroizing<String>>,
    recovery_code: Option<Zeroizing<String>>,
    oob_code: Option<String>,
    /// Accepted as Auth0's clients send it, and not needed: a push's number is matched on the
    /// device before it approves.
    #[allow(dead_code)]
    binding_code: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .finish_non_exhaustive()
    }
}

/// JSON or form body.
#[derive(Debug)]
pub struct TokenBody(TokenRequest);

impl FromRequest<AppState> for TokenBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> std::result::Result<Self, Response> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let bytes = match axum::extract::RawForm::from_request(req, state).await {
                Ok(axum::extract::RawForm(bytes)) => bytes,
                Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(super::too_large())
                }
                Err(e) => return Err(Error::InvalidRequest(e.body_text()).into_response()),
            };
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                Error::InvalidRequest("the form body is not UTF-8".into()).into_response()
            })?;
            super::check_form(text).map_err(IntoResponse::into_response)?;
            serde_urlencoded::from_str::<TokenRequest>(text)
                .map(TokenBody)
                .map_err(|e| {
                    Error::InvalidRequest(super::redact_values(&e.to_string())).into_response()
                })
        } else {
            super::JsonBody::<TokenRequest>::from_request(req, state)
                .await
                .map(|b| TokenBody(b.0))
        }
    }
}

/// A successful token response.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
    /// Granted scopes.
    pub scope: String,
    /// After a recovery code: the user's new code (Auth0 issues one when the last is used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

fn required<'a, T>(v: &'a Option<T>, name: &str) -> Result<&'a T> {
    v.as_ref()
        .ok_or_else(|| Error::InvalidRequest(format!("missing `{name}`")))
}

fn granted_scopes(requested: Option<&str>) -> Vec<String> {
    match requested {
        Some(s) => s
            .split_whitespace()
            .filter(|x| USER_SCOPES.contains(x))
            .map(str::to_owned)
            .collect(),
        None => USER_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// `POST /oauth/token`
pub async fn token(
    State(state): State<AppState>,
    TokenBody(req): TokenBody,
) -> Result<Json<TokenResponse>> {
    let grant = required(&req.grant_type, "grant_type")?.clone();
    match grant.as_str() {
        GRANT_PASSWORD => password_grant(&state, req).await,
        GRANT_MFA_OTP => {
            let code = required(&req.otp, "otp")?.clone();
            let (mfa, user_id) = mfa_token(&state, &req).await?;
            let (resp, on_success) = prepare_access(&state, &mfa, &user_id)?;
            let outcome = factors::verify_otp(&state, &user_id, &code, on_success).await?;
            finish(outcome, resp, "Invalid otp_code.")
        }
        GRANT_MFA_RECOVERY => {
            let code = required(&req.recovery_code, "recovery_code")?.clone();
            let (mfa, user_id) = mfa_token(&state, &req).await?;
            let (resp, on_success) = prepare_access(&state, &mfa, &user_id)?;
            let outcome = factors::verify_recovery(&state, &user_id, &code, on_success).await?;
            finish(outcome, resp, "MFA Authorization rejected.")
        }
        GRANT_MFA_OOB => oob_grant(&state, &req).await,
        other => Err(Error::UnsupportedGrantType(
            other.chars().take(80).collect(),
        )),
    }
}

async fn password_grant(state: &AppState, req: TokenRequest) -> Result<Json<TokenResponse>> {
    let username = required(&req.username, "username")?.clone();
    let pw = required(&req.password, "password")?.clone();
    let Some(user) = factors::check_password(state, &username, pw).await? else {
        return Err(Error::InvalidGrant(WRONG_CREDENTIALS));
    };
    // Said only now that the password was right: before, a locked user is answered as anyone.
    if user.blocked {
        return Err(Error::UserBlocked);
    }
    let now = state.now();
    let uid = user.user_id.clone();
    let org_required = state.db(move |s| s.org_requires_mfa(&uid)).await?;
    let mfa_applies = state.config().mfa.required
        || org_required
        || factors::has_active(state, &user.user_id).await?;
    if mfa_applies {
        let scopes = MFA_TOKEN_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        // The mfa_token remembers the scope the final access token will carry.
        let requested = granted_scopes(req.scope.as_deref()).join(" ");
        let (secret, record, hash) = issue_token(
            TokenKind::Mfa,
            Some(user.user_id.clone()),
            scopes,
            &requested,
            Some(state.config().mfa.mfa_token_ttl_secs),
            now,
        )?;
        state.db(move |s| s.insert_token(record, hash)).await?;
        return Err(Error::MfaRequired(secret));
    }
    let scopes = granted_scopes(req.scope.as_deref());
    let ttl = state.config().mfa.access_token_ttl_secs;
    let (secret, record, hash) = issue_token(
        TokenKind::Access,
        Some(user.user_id),
        scopes.clone(),
        AMR_PWD,
        Some(ttl),
        now,
    )?;
    state.db(move |s| s.insert_token(record, hash)).await?;
    Ok(Json(TokenResponse {
        access_token: secret,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: scopes.join(" "),
        recovery_code: None,
    }))
}

/// Resolves a live `mfa_token` and its user.
async fn mfa_token(state: &AppState, req: &TokenRequest) -> Result<(TokenRecord, String)> {
    let raw = required(&req.mfa_token, "mfa_token")?;
    let hash = sha256(raw.as_bytes());
    let record = state.db(move |s| s.find_token(hash)).await?;
    let now = state.now();
    match record {
        Some(r)
            if r.kind == TokenKind::Mfa
                && r.revoked_at.is_none()
                && r.expires_at.is_none_or(|e| now < e) =>
        {
            let user = r
                .user_id
                .clone()
                .ok_or(Error::InvalidGrant(BAD_MFA_TOKEN))?;
            // Locking revokes the user's mfa_tokens; one issued in a race is refused here.
            let uid = user.clone();
            state
                .db(move |s| factors::ensure_not_blocked(s, &uid))
                .await?;
            Ok((r, user))
        }
        _ => Err(Error::InvalidGrant(BAD_MFA_TOKEN)),
    }
}

/// The access token a completed MFA grant returns, and the writes that go with the check.
fn prepare_access(
    state: &AppState,
    mfa: &TokenRecord,
    user_id: &str,
) -> Result<(TokenResponse, OnSuccess)> {
    let scopes: Vec<String> = mfa.name.split_whitespace().map(str::to_owned).collect();
    let ttl = state.config().mfa.access_token_ttl_secs;
    let (secret, record, hash) = issue_token(
        TokenKind::Access,
        Some(user_id.to_owned()),
        scopes.clone(),
        AMR_MFA,
        Some(ttl),
        state.now(),
    )?;
    Ok((
        TokenResponse {
            access_token: secret,
            token_type: "Bearer".into(),
            expires_in: ttl,
            scope: scopes.join(" "),
            recovery_code: None,
        },
        OnSuccess {
            revoke_token_id: Some(mfa.id.clone()),
            issue: Some((record, hash)),
        },
    ))
}

fn finish(
    outcome: VerifyOutcome,
    mut resp: TokenResponse,
    rejected: &'static str,
) -> Result<Json<TokenResponse>> {
    match outcome {
        VerifyOutcome::Accepted {
            new_recovery_codes, ..
        } => {
            resp.recovery_code = new_recovery_codes.and_then(|c| c.into_iter().next());
            Ok(Json(resp))
        }
        VerifyOutcome::Rejected => Err(Error::InvalidGrant(rejected)),
        VerifyOutcome::Locked => Err(Error::TooManyAttempts),
    }
}

/// The `mfa-oob` grant: the `oob_code` is a push's transaction id; an approved push of the
/// token's user completes MFA once, a pending one answers `authorization_pending`.
async fn oob_grant(state: &AppState, req: &TokenRequest) -> Result<Json<TokenResponse>> {
    let oob_code = required(&req.oob_code, "oob_code")?.clone();
    let (mfa, user_id) = mfa_token(state, req).await?;
    let now = state.now();
    let uid = user_id.clone();
    let tx = oob_code.clone();
    let redeemed = state
        .blocking(move |s| crate::device::push::redeem(s, &tx, &uid))
        .await?;
    let outcome = match redeemed {
        // The number was matched on the device; the binding code is not needed again.
        Redemption::Accepted => VerifyOutcome::Accepted {
            authenticator_id: format!("push|{oob_code}"),
            confirmed: false,
            new_recovery_codes: None,
        },
        // Auth0's answer while the user has not decided: the client polls again.
        Redemption::Pending => return Err(Error::AuthorizationPending),
        Redemption::Rejected => VerifyOutcome::Rejected,
    };
    let (resp, on_success) = prepare_access(state, &mfa, &user_id)?;
    if matches!(outcome, VerifyOutcome::Accepted { .. }) {
        let revoke = mfa.id.clone();
        let issue = on_success.issue.clone();
        state
            .db(move |s| {
                if !s.revoke_token(&revoke, now)? {
                    return Err(Error::InvalidGrant(BAD_MFA_TOKEN));
                }
                if let Some((record, hash)) = issue {
                    s.insert_token(record, hash)?;
                }
                Ok(())
            })
            .await?;
    }
    finish(outcome, resp, "MFA Authorization rejected.")
}
