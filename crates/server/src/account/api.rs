//! The account center's JSON API under `/account/api/…` (docs/account.md).
//!
//! Every route is authenticated by the browser's global session cookie (`tessera_session`).
//! GET changes nothing. Every other method must carry the session's CSRF token in the
//! `X-CSRF-Token` header: an HMAC-SHA256, keyed with the session cookie's value, of a fixed
//! label — a page of another origin can neither read it (the overview answer is same-origin
//! JSON) nor compute it (the cookie is `HttpOnly`), and it is compared in constant time.
//! Removing a factor and replacing the backup codes also need a second factor proven in the
//! session within [`STEP_UP_SECS`]; otherwise the answer is `403 step_up_required`, and the page
//! asks for a code (`POST /account/api/step-up`), which adds a fresh proof to the session.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::api::admin::{self, OtpBody, OtpVerified};
use crate::api::me::{Contact, ContactBody, ContactCode};
use crate::api::JsonBody;
use crate::device::http::cookie;
use crate::error::{Error, ErrorBody, Result};
use crate::factors::{self, AssociateResponse, AuthenticatorView};
use crate::model::{AuditEvent, SessionRecord, User, VerifyOutcome};
use crate::oob::notify::{Preference, PreferenceView};
use crate::oob::{Channel, Sent};
use crate::passkey::api::{FinishBody, RegistrationBegun};
use crate::policy::{Method, Traits};
use crate::signin::api::SESSION_COOKIE;
use crate::signin::flow::{session_proofs, Proof, Security};
use crate::store::{AuditFilter, OnSuccess};
use crate::AppState;
use tessera_core::device::wire::{DeviceInfo, EnrollOfferResponse};

/// How recent a second factor must be for a sensitive change (removing a factor, replacing the
/// backup codes), seconds.
pub const STEP_UP_SECS: u64 = 600;
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How many audit events the overview shows.
const ACTIVITY: u32 = 20;
/// The label the CSRF token is the HMAC of.
const CSRF_LABEL: &[u8] = b"tessera account center csrf v1";

/// The account API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/api/overview", get(overview))
        .route("/account/api/step-up", post(step_up))
        .route("/account/api/authenticators/totp", post(add_totp))
        .route(
            "/account/api/authenticators/totp/confirm",
            post(confirm_totp),
        )
        .route("/account/api/authenticators/passkey", post(add_passkey))
        .route(
            "/account/api/authenticators/passkey/finish",
            post(finish_passkey),
        )
        .route("/account/api/authenticators/{id}", delete(remove))
        .route("/account/api/email", put(change_email))
        .route("/account/api/phone", put(change_phone))
        .route("/account/api/contact-verification", post(verify_contact))
        .route("/account/api/devices", get(devices))
        .route("/account/api/devices/offer", post(device_offer))
        .route("/account/api/recovery-codes", post(regenerate))
        .route("/account/api/sessions", delete(end_others))
        .route("/account/api/sessions/{session_id}", delete(end_one))
        .route("/account/api/notifications", put(notify))
        .route("/account/api/locale", put(set_locale))
}

// ------------------------------------------------------------------ refusals

/// Why an account request was refused: a server error, or one of the account center's own.
#[derive(Debug)]
pub enum Refusal {
    /// Any server error, in its usual shape.
    Error(Error),
    /// A state-changing request without the session's CSRF token (403 `csrf_failed`).
    Csrf,
    /// The change needs a recent second factor (403 `step_up_required`).
    StepUp,
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Error(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (error, text) = match self {
            Refusal::Error(e) => return e.into_response(),
            Refusal::Csrf => (
                "csrf_failed",
                "this request lacks the page's security token: reload the page",
            ),
            Refusal::StepUp => (
                "step_up_required",
                "Confirm it is you: enter a code from your authenticator app or a backup code.",
            ),
        };
        let body = ErrorBody {
            error,
            error_description: text.into(),
            mfa_token: None,
        };
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    }
}

type Answer<T> = std::result::Result<T, Refusal>;

// ------------------------------------------------------------------ the signed-in user

/// The signed-in user of a request: their live session and its CSRF token. For any method but
/// GET and HEAD, the CSRF header has been checked.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session: SessionRecord,
    /// SHA-256 of the session cookie (the store's key).
    pub hash: [u8; 32],
    /// The session's CSRF token.
    pub csrf: String,
}

/// The session's CSRF token: HMAC-SHA256 of a fixed label keyed with the cookie's value,
/// base64url.
pub fn csrf_token(cookie_value: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, cookie_value.as_bytes());
    let tag = ring::hmac::sign(&key, CSRF_LABEL);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// The browser's live session (not ended, not expired) and its cookie's value. Blocking.
pub fn live_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, [u8; 32], SessionRecord)>> {
    // The sign-in's own check of the cookie; the value is kept for the CSRF token.
    let Some((hash, session)) = crate::signin::api::live_session(state, headers)? else {
        return Ok(None);
    };
    let value = cookie(headers, SESSION_COOKIE)
        .unwrap_or_default()
        .to_owned();
    Ok(Some((value, hash, session)))
}

impl FromRequestParts<AppState> for Account {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let headers = parts.headers.clone();
        let changes = !matches!(parts.method, HttpMethod::GET | HttpMethod::HEAD);
        let found = state.blocking(move |s| live_session(s, &headers)).await?;
        let Some((value, hash, session)) = found else {
            return Err(Error::BadCredentials.into());
        };
        let csrf = csrf_token(&value);
        if changes {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !crate::crypto::ct_eq(sent.as_bytes(), csrf.as_bytes()) {
                return Err(Refusal::Csrf);
            }
        }
        Ok(Account {
            user_id: session.user_id.clone(),
            session,
            hash,
            csrf,
        })
    }
}

/// Whether `session` holds a second factor proven within [`STEP_UP_SECS`] of `now`.
pub fn recent_second_factor(session: &SessionRecord, now: u64) -> Option<u64> {
    session_proofs(session)
        .iter()
        .filter(|p| p.method.is_second_factor() && now.saturating_sub(p.at) <= STEP_UP_SECS)
        .map(|p| p.at)
        .max()
}

/// Refuses with `step_up_required` unless the session proved a second factor recently. A user
/// with no active factor has nothing to step up with: their session is enough.
async fn require_step_up(state: &AppState, account: &Account) -> Answer<()> {
    if recent_second_factor(&account.session, state.now()).is_some() {
        return Ok(());
    }
    if factors::has_active(state, &account.user_id).await? {
        return Err(Refusal::StepUp);
    }
    Ok(())
}

// ------------------------------------------------------------------ overview

/// The user as the page shows them.
#[derive(Debug, Serialize)]
pub struct Profile {
    /// `usr_…`
    pub user_id: String,
    /// The user name.
    pub username: String,
    /// The user's email address (their own: shown in full).
    pub email: Option<String>,
    /// The user's phone number.
    pub phone: Option<String>,
    /// The language the user chose (`en`, `ja`); none: the browser's.
    pub locale: Option<String>,
}

/// What the page can offer to add: the methods this server can set up.
#[derive(Debug, Serialize)]
pub struct CanAdd {
    /// A passkey (a relying party is configured or derived).
    pub passkey: bool,
    /// An email address (the server can send mail).
    pub email: bool,
    /// A phone number confirmed by SMS.
    pub sms: bool,
    /// A phone number confirmed by a voice call.
    pub voice: bool,
}

/// A session as the account center shows it.
#[derive(Debug, Serialize)]
pub struct SessionItem {
    /// `ses_…`
    pub session_id: String,
    /// This browser's session.
    pub current: bool,
    /// The methods proven in it.
    pub methods: Vec<Method>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last sign-in through it.
    pub updated_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// The browser.
    pub user_agent: String,
    /// The client address when it began.
    pub ip: String,
}

/// Whether a sensitive change may be made now.
#[derive(Debug, Serialize)]
pub struct StepUp {
    /// A second factor was proven recently enough.
    pub recent: bool,
    /// Unix seconds until which it stays recent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// The window, seconds.
    pub window_secs: u64,
}

/// Everything the page shows (`GET /account/api/overview`).
#[derive(Debug, Serialize)]
pub struct Overview {
    /// The user.
    pub user: Profile,
    /// MFA status.
    pub mfa: crate::api::me::MfaStatus,
    /// The security score and its suggestions (LG-9).
    pub security: Security,
    /// The sign-in methods (secrets never included).
    pub authenticators: Vec<AuthenticatorView>,
    /// Live sessions, newest first.
    pub sessions: Vec<SessionItem>,
    /// The user's recent audit events, newest first.
    pub activity: Vec<AuditEvent>,
    /// How the user is told about changes to their MFA.
    pub notifications: PreferenceView,
    /// Whether a sensitive change needs a step-up first.
    pub step_up: StepUp,
    /// The methods the page may offer to add.
    pub can_add: CanAdd,
    /// The token to send in `X-CSRF-Token` with every change.
    pub csrf_token: String,
}

/// `GET /account/api/overview`.
async fn overview(State(state): State<AppState>, account: Account) -> Answer<Response> {
    let uid = account.user_id.clone();
    let user = factors::user(&state, &uid).await?;
    let authenticators = factors::list(&state, &uid).await?;
    let enrolled = factors::has_active(&state, &uid).await?;
    let now = state.now();
    let (required, facts, sessions, activity, pref) = {
        let uid = uid.clone();
        state
            .blocking(move |s| {
                let store = s.store();
                let org = store.org_requires_mfa(&uid)?;
                let facts = crate::api::policies::user_facts(s, &uid)?;
                let sessions = store.sessions_of(&uid, now)?;
                let filter = AuditFilter {
                    user_id: Some(uid.clone()),
                    ..AuditFilter::default()
                };
                let (activity, _) = store.list_audit(filter, 1, ACTIVITY)?;
                let pref = store.notification_pref(&uid)?;
                Ok((org, facts, sessions, activity, pref))
            })
            .await?
    };
    let until = recent_second_factor(&account.session, now).map(|at| at + STEP_UP_SECS);
    let view = Overview {
        mfa: crate::api::me::MfaStatus {
            enrolled,
            required: state.config().mfa.required || required,
            skipped: user.mfa_prompt_skipped,
        },
        user: Profile {
            user_id: user.user_id,
            username: user.username,
            email: user.email,
            phone: user.phone,
            locale: user.locale,
        },
        security: crate::signin::flow::security(&facts),
        authenticators,
        sessions: sessions
            .iter()
            .map(|s| SessionItem {
                session_id: s.id.clone(),
                current: s.id == account.session.id,
                methods: session_proofs(s).iter().map(|p| p.method).collect(),
                created_at: s.created_at,
                updated_at: s.updated_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent.clone(),
                ip: s.ip.clone(),
            })
            .collect(),
        activity,
        notifications: crate::oob::notify::effective(&state, pref.as_deref()),
        step_up: StepUp {
            recent: until.is_some() || !enrolled,
            until,
            window_secs: STEP_UP_SECS,
        },
        can_add: CanAdd {
            passkey: crate::passkey::relying_party(&state).is_ok(),
            email: Channel::Email.enabled(&state.config()),
            sms: Channel::Sms.enabled(&state.config()),
            voice: Channel::Voice.enabled(&state.config()),
        },
        csrf_token: account.csrf,
    };
    Ok(Json(view).into_response())
}

// ------------------------------------------------------------------ step-up

/// Body of `POST /account/api/step-up`: a TOTP code or a backup code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for CodeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeBody(<redacted>)")
    }
}

/// `POST /account/api/step-up` `{"code"}`: checks a TOTP or backup code (through the lockout
/// rules every check uses) and records it in the session as a fresh second factor.
async fn step_up(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody<CodeBody>,
) -> Answer<Json<StepUp>> {
    let none = || OnSuccess {
        revoke_token_id: None,
        issue: None,
    };
    let code = body.code.trim();
    if code.is_empty() || code.len() > 64 {
        return Err(Error::InvalidRequest("code: enter a code".into()).into());
    }
    let compact: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(code.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
    let is_otp = compact.len() <= usize::from(tessera_core::otp::MAX_DIGITS)
        && compact.bytes().all(|b| b.is_ascii_digit());
    let (method, outcome) = if is_otp {
        (
            Method::Totp,
            factors::verify_otp(&state, &account.user_id, &compact, none()).await?,
        )
    } else {
        (
            Method::RecoveryCode,
            factors::verify_recovery(&state, &account.user_id, code, none()).await?,
        )
    };
    let authenticator_id = match factors::expect_accepted(outcome, "wrong code")? {
        VerifyOutcome::Accepted {
            authenticator_id, ..
        } => authenticator_id,
        _ => return Err(Error::InvalidGrant("wrong code").into()),
    };
    let now = state.now();
    let mut session = account.session.clone();
    let mut proofs = session_proofs(&session);
    proofs.push(Proof {
        method,
        traits: Traits::default(),
        at: now,
        authenticator_id: Some(authenticator_id),
    });
    session.methods = serde_json::to_string(&proofs).map_err(|e| Error::Internal(e.to_string()))?;
    let hash = account.hash;
    let uid = account.user_id.clone();
    state
        .db(move |s| {
            s.save_session(hash, session)?;
            s.audit(
                Some(&uid),
                "account.step_up",
                None,
                method_name(method),
                now,
            )
        })
        .await?;
    Ok(Json(StepUp {
        recent: true,
        until: Some(now + STEP_UP_SECS),
        window_secs: STEP_UP_SECS,
    }))
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Totp => "totp",
        Method::RecoveryCode => "recovery_code",
        _ => "other",
    }
}

// ------------------------------------------------------------------ factors

/// `POST /account/api/authenticators/totp`: a new (inactive) authenticator app; its secret and
/// QR code are in this answer only. Adding one beside an active factor needs a step-up.
async fn add_totp(
    State(state): State<AppState>,
    account: Account,
) -> Answer<(StatusCode, Json<AssociateResponse>)> {
    require_step_up(&state, &account).await?;
    let user = factors::user(&state, &account.user_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(factors::enroll_otp(&state, &user).await?),
    ))
}

/// `POST /account/api/authenticators/totp/confirm` `{"otp"}`: confirms the new app with a code.
async fn confirm_totp(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody<OtpBody>,
) -> Answer<Json<OtpVerified>> {
    Ok(admin::check_otp_body(&state, &account.user_id, body).await?)
}

/// `DELETE /account/api/authenticators/{id}` → 204 (step-up).
async fn remove(
    State(state): State<AppState>,
    account: Account,
    Path(auth_id): Path<String>,
) -> Answer<StatusCode> {
    require_step_up(&state, &account).await?;
    let now = state.now();
    let uid = account.user_id.clone();
    let gone = state
        .db(move |s| s.delete_authenticator(&uid, &auth_id, now))
        .await?;
    if gone.is_empty() {
        return Err(Error::NotFound("authenticator").into());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/api/authenticators/passkey` (step-up when the user has an active factor):
/// begins a passkey registration for the signed-in user — the options for
/// `navigator.credentials.create` and a single-use ceremony id bound to the user.
async fn add_passkey(
    State(state): State<AppState>,
    account: Account,
) -> Answer<(StatusCode, Json<RegistrationBegun>)> {
    require_step_up(&state, &account).await?;
    let user = factors::user(&state, &account.user_id).await?;
    let begun = crate::passkey::api::begin(&state, user).await?;
    Ok((StatusCode::CREATED, Json(begun)))
}

/// `POST /account/api/authenticators/passkey/finish` `{"ceremony_id", "credential"}` → 201:
/// the browser's new credential, checked against the user's ceremony.
async fn finish_passkey(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody<FinishBody>,
) -> Answer<(StatusCode, Json<AuthenticatorView>)> {
    let view = crate::passkey::api::complete(&state, account.user_id, body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Starts a change of address or number (step-up when the user has an active factor).
async fn change_contact(
    state: &AppState,
    account: &Account,
    headers: &HeaderMap,
    contact: Contact,
    body: ContactBody,
) -> Answer<(StatusCode, Json<Sent>)> {
    let channel = body.check(contact)?;
    require_step_up(state, account).await?;
    let sent =
        crate::api::me::start_contact(state, &account.user_id, headers, channel, body.into_value())
            .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// `PUT /account/api/email` `{"value"}` → 202: a code (and a link) sent to the new address.
async fn change_email(
    State(state): State<AppState>,
    account: Account,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ContactBody>,
) -> Answer<(StatusCode, Json<Sent>)> {
    change_contact(&state, &account, &headers, Contact::Email, body).await
}

/// `PUT /account/api/phone` `{"value", "channel"?}` → 202: a code by SMS (or a voice call) to
/// the new number.
async fn change_phone(
    State(state): State<AppState>,
    account: Account,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ContactBody>,
) -> Answer<(StatusCode, Json<Sent>)> {
    change_contact(&state, &account, &headers, Contact::Phone, body).await
}

/// `POST /account/api/contact-verification` `{"code"}`: confirms the pending address or
/// number; it is the user's (and a factor) from now on.
async fn verify_contact(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody<ContactCode>,
) -> Answer<Json<User>> {
    let user = crate::api::me::confirm_pending_contact(&state, &account.user_id, &body).await?;
    Ok(Json(user))
}

/// `GET /account/api/devices`: the user's Tessera devices (the page watches it while an
/// enrollment offer is shown).
async fn devices(State(state): State<AppState>, account: Account) -> Answer<Json<Vec<DeviceInfo>>> {
    let uid = account.user_id.clone();
    let list = state
        .blocking(move |s| s.devices().devices_of(&uid))
        .await?;
    Ok(Json(list.iter().map(crate::device::http::info).collect()))
}

/// An enrollment offer as the page shows it.
#[derive(Debug, Serialize)]
pub struct DeviceOffer {
    /// The device factor's offer: `link`, `qr_svg`, `expires_at`.
    #[serde(flatten)]
    pub offer: EnrollOfferResponse,
    /// Seconds until it expires (the page counts with its own clock, not the server's).
    pub expires_in: u64,
}

/// `POST /account/api/devices/offer` → 201 (step-up when the user has an active factor): an
/// enrollment offer for the signed-in user only (the request names no user), its link and QR
/// code; the desktop app scanning it becomes the user's device.
async fn device_offer(
    State(state): State<AppState>,
    account: Account,
) -> Answer<(StatusCode, Json<DeviceOffer>)> {
    require_step_up(&state, &account).await?;
    let uid = account.user_id.clone();
    let offer = state
        .blocking(move |s| crate::device::enrollment::create_offer(s, &uid))
        .await?;
    let expires_in = offer.expires_at.saturating_sub(state.now());
    Ok((StatusCode::CREATED, Json(DeviceOffer { offer, expires_in })))
}

/// The new backup codes (shown once).
#[derive(Debug, Serialize)]
pub struct NewCodes {
    /// The codes; the old set stopped working.
    pub recovery_codes: Vec<String>,
}

/// `POST /account/api/recovery-codes` (step-up): replaces the backup codes.
async fn regenerate(State(state): State<AppState>, account: Account) -> Answer<Json<NewCodes>> {
    require_step_up(&state, &account).await?;
    let codes = factors::regenerate(&state, &account.user_id).await?;
    Ok(Json(NewCodes {
        recovery_codes: codes,
    }))
}

// ------------------------------------------------------------------ sessions

/// `DELETE /account/api/sessions/{session_id}` → 204: ends one of the user's sessions (this
/// one too: the page then shows the sign-in).
async fn end_one(
    State(state): State<AppState>,
    account: Account,
    Path(sid): Path<String>,
) -> Answer<StatusCode> {
    let now = state.now();
    let uid = account.user_id.clone();
    match state
        .db(move |s| s.end_sessions(&uid, Some(&sid), now))
        .await?
    {
        0 => Err(Error::NotFound("session").into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// `DELETE /account/api/sessions` → `{"ended": n}`: ends every session of the user but this
/// one.
async fn end_others(
    State(state): State<AppState>,
    account: Account,
) -> Answer<Json<serde_json::Value>> {
    let now = state.now();
    let uid = account.user_id.clone();
    let keep = account.session.id.clone();
    let n = state
        .blocking(move |s| {
            let mut n = 0;
            for other in s.store().sessions_of(&uid, now)? {
                if other.id != keep {
                    n += s.store().end_sessions(&uid, Some(&other.id), now)?;
                }
            }
            Ok(n)
        })
        .await?;
    Ok(Json(serde_json::json!({ "ended": n })))
}

// ------------------------------------------------------------------ notifications

/// `PUT /account/api/notifications` `{"channels", "locale"}`: the user's choice, where the
/// administrator allows one.
async fn notify(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody<Preference>,
) -> Answer<Json<PreferenceView>> {
    crate::oob::notify::check_choice(&state, &body)?;
    let text = serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?;
    let uid = account.user_id.clone();
    let stored = state
        .db(move |s| {
            s.set_notification_pref(&uid, Some(&text))?;
            s.notification_pref(&uid)
        })
        .await?;
    Ok(Json(crate::oob::notify::effective(
        &state,
        stored.as_deref(),
    )))
}

/// Body of `PUT /account/api/locale`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocaleBody {
    /// `en`, `ja`, or null for the browser's language.
    pub locale: Option<String>,
}

/// `PUT /account/api/locale`: the language of the user's pages and messages (mails, SMS, voice),
/// wherever they sign in → 204.
async fn set_locale(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody<LocaleBody>,
) -> Answer<StatusCode> {
    let locale = body
        .locale
        .as_deref()
        .map(crate::api::users::check_locale)
        .transpose()?;
    let uid = account.user_id.clone();
    let now = state.now();
    let patch = crate::model::UserPatch {
        locale: Some(locale),
        ..Default::default()
    };
    state.db(move |s| s.update_user(&uid, patch, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_depends_on_the_session_and_is_256_bits() {
        let a = csrf_token(&"a".repeat(43));
        let b = csrf_token(&"b".repeat(43));
        assert_ne!(a, b);
        assert_eq!(a, csrf_token(&"a".repeat(43)));
        assert_eq!(a.len(), 43);
    }
}
