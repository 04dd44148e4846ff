//! The JSON flow API (docs/signin.md) and the global session's endpoints.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::flow::{
    self, chain_for, decide, digest, facts, session_proofs, stage, Facts, Flow, Loaded, Outcome,
    PendingPush, Proof, Security, Stage, Step, Surroundings,
};
use super::{Completed, FlowRequest, Started};
use crate::api::{JsonBody, QueryParams};
use crate::auth::Caller;
use crate::crypto::random_id;
use crate::device::http::{cookie, push_outcome, Requester, Wait};
use crate::device::{push, random_token};
use crate::error::{Error, FlowError, Result};
use crate::model::{SessionRecord, SignInRecord, VerifyOutcome};
use crate::policy::evaluate::EnrollReason;
use crate::policy::{Method, Traits};
use crate::store::oob::OobRedeemed;
use crate::store::OnSuccess;
use crate::AppState;

/// The browser cookie (flow binding, known device, remembered browser).
pub const BROWSER_COOKIE: &str = "tessera_browser";
/// The global session cookie.
pub const SESSION_COOKIE: &str = "tessera_session";
/// How long the browser cookie lives, seconds (400 days, the most browsers keep).
const BROWSER_COOKIE_AGE: u64 = 400 * 86_400;
/// The longest identifier, password or code accepted.
const MAX_FIELD: usize = 1024;

/// The flow API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin/api/flows", post(create))
        .route("/signin/api/flows/{id}", get(show))
        .route("/signin/api/flows/{id}/identifier", post(identifier))
        .route("/signin/api/flows/{id}/choose", post(choose))
        .route("/signin/api/flows/{id}/verify", post(verify))
        .route("/signin/api/flows/{id}/push", get(push_wait))
        .route("/signin/api/flows/{id}/qr-login", get(qr_wait))
        .route("/signin/api/flows/{id}/enroll", post(enroll))
        .route(
            "/signin/api/flows/{id}/enroll/confirm",
            post(enroll_confirm),
        )
        .route(
            "/signin/api/flows/{id}/recovery-codes/saved",
            post(codes_saved),
        )
        .route("/signin/api/flows/{id}/skip", post(skip))
        .route("/signin/api/flows/{id}/back", post(back))
        .route("/signin/link/{token}", get(open_link))
        .route("/signin/api/recovery", post(super::recover::ask))
        .route(
            "/signin/api/recovery/complete",
            post(super::recover::complete),
        )
        .route(
            "/signin/api/flows/{id}/passkey/options",
            post(super::passkey::options),
        )
        .route(
            "/signin/api/flows/{id}/passkey",
            post(super::passkey::answer),
        )
        .route("/signin/api/session", get(session_show))
        .route("/signin/api/session/sign-out", post(sign_out))
        .route(
            "/api/v2/users/{id}/sessions",
            get(user_sessions).delete(end_user_sessions),
        )
        .route(
            "/api/v2/users/{id}/sessions/{session_id}",
            delete(end_user_session),
        )
        .route("/api/v2/me/sessions", get(my_sessions))
        .route("/api/v2/me/sessions/{session_id}", delete(end_my_session))
}

// ------------------------------------------------------------------ cookies

fn secure(state: &AppState) -> &'static str {
    if state.config().http.tls_cert.is_some()
        || state.device_config().origin.starts_with("https://")
    {
        "; Secure"
    } else {
        ""
    }
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age: u64) -> Result<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        secure(state)
    ))
    .map_err(|_| Error::Internal("cookie value".into()))
}

/// The browser cookie's hash, and a `Set-Cookie` when the browser has none (or a malformed
/// one).
fn browser(state: &AppState, headers: &HeaderMap) -> Result<([u8; 32], Option<HeaderValue>)> {
    match cookie(headers, BROWSER_COOKIE).filter(|v| v.len() == 43) {
        Some(v) => Ok((digest(v), None)),
        None => {
            let value = random_token(32)?;
            let set = cookie_header(state, BROWSER_COOKIE, &value, BROWSER_COOKIE_AGE)?;
            Ok((digest(&value), Some(set)))
        }
    }
}

/// The live global session of the browser, with its cookie's hash. Blocking.
pub(crate) fn live_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<([u8; 32], SessionRecord)>> {
    let Some(value) = cookie(headers, SESSION_COOKIE).filter(|v| v.len() == 43) else {
        return Ok(None);
    };
    let hash = digest(value);
    let Some(session) = state
        .store()
        .session(hash)?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > state.now())
    else {
        return Ok(None);
    };
    // Locking a user ends their sessions; a session of a locked user counts for nothing even
    // so (the sign-in, the account center and the console all read it here).
    if crate::factors::ensure_not_blocked(state.store().as_ref(), &session.user_id).is_err() {
        return Ok(None);
    }
    Ok(Some((hash, session)))
}

/// Everything a request on a flow works with.
pub(super) struct Ctx {
    pub(super) loaded: Loaded,
    around: Surroundings,
    session_hash: Option<[u8; 32]>,
    who: Requester,
    set_cookies: Vec<HeaderValue>,
}

/// A request on one flow: its id (from the path), cookies and requester.
#[derive(Debug, Clone)]
pub(super) struct OnFlow {
    id: String,
    headers: HeaderMap,
    who: Requester,
}

impl FromRequestParts<AppState> for OnFlow {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::Flow(FlowError::NotFound))?;
        let Ok(who) = Requester::from_request_parts(parts, state).await;
        Ok(OnFlow {
            id,
            headers: parts.headers.clone(),
            who,
        })
    }
}

impl OnFlow {
    /// Loads the flow. Blocking.
    pub(super) fn open(self, state: &AppState) -> Result<Ctx> {
        let browser = cookie(&self.headers, BROWSER_COOKIE).map(digest);
        let loaded = flow::load(state, &self.id, browser)?;
        let session = live_session(state, &self.headers)?;
        Ok(Ctx {
            loaded,
            around: Surroundings {
                browser: browser.unwrap_or_default(),
                session: session.as_ref().map(|(_, s)| s.clone()),
            },
            session_hash: session.map(|(h, _)| h),
            who: self.who,
            set_cookies: Vec::new(),
        })
    }
}

fn user_facts_of(state: &AppState, ctx: &Ctx) -> Result<Option<Facts>> {
    match &ctx.loaded.flow.user_id {
        Some(uid) => Ok(Some(facts(state, &ctx.loaded.flow, &ctx.around, uid)?)),
        None => Ok(None),
    }
}

// ------------------------------------------------------------------ the view

/// The application a flow signs in to.
#[derive(Debug, Clone, Serialize)]
pub struct AppView {
    /// Its client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
}

/// A push in progress.
#[derive(Debug, Clone, Serialize)]
pub struct PushView {
    /// The number to type on the device.
    pub number: u32,
    /// Unix seconds.
    pub expires_at: u64,
    /// `pending`, `approved`, `denied` or `expired`.
    pub state: String,
}

/// A QR login in progress: the QR to scan with the Tessera app.
#[derive(Debug, Clone, Serialize)]
pub struct QrView {
    /// The `tessera://qr-login?…` link.
    pub link: String,
    /// The link as an SVG QR code.
    pub qr_svg: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// `pending`, `approved`, `denied` or `expired`.
    pub state: String,
}

/// A TOTP set-up in progress (sent once, in the answer that started it).
#[derive(Debug, Clone, Serialize)]
pub struct TotpSetup {
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The secret, base32 (to type by hand).
    pub secret: String,
    /// The URI as an SVG QR code.
    pub qr_svg: String,
}

/// A device enrollment offer (the desktop app scans it).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceSetup {
    /// The `tessera://enroll?…` link.
    pub link: String,
    /// The link as an SVG QR code.
    pub qr_svg: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// The set-up step.
#[derive(Debug, Clone, Serialize)]
pub struct EnrollView {
    /// Methods the user may set up here.
    pub methods: Vec<Method>,
    /// Whether "skip" is allowed.
    pub skippable: bool,
    /// `required`, `only_recovery_codes`, `prompt` or `min_enrollments`.
    pub reason: EnrollReason,
    /// The TOTP set-up just started.
    pub totp: Option<TotpSetup>,
    /// The device enrollment just started.
    pub push: Option<DeviceSetup>,
}

/// "Remember this browser".
#[derive(Debug, Clone, Serialize)]
pub struct RememberView {
    /// The policy allows it here (a second factor is being proven).
    pub offered: bool,
}

/// The signed-in user.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Their name.
    pub username: String,
}

/// Why the flow was refused (generic).
#[derive(Debug, Clone, Serialize)]
pub struct DeniedView {
    /// The message shown.
    pub message: &'static str,
}

/// The flow view (docs/signin.md).
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// The flow id.
    pub flow_id: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// The application, or null for the account pages.
    pub application: Option<AppView>,
    /// What the user typed.
    pub identifier: Option<String>,
    /// The step.
    pub step: Step,
    /// At `verify`: the method to prove.
    pub method: Option<Method>,
    /// At `verify`: the methods usable now, in order.
    pub offer: Vec<Method>,
    /// The push in progress.
    pub push: Option<PushView>,
    /// The QR login in progress.
    pub qr_login: Option<QrView>,
    /// The code sent for the method (email, SMS, voice): where to (masked), until when, and
    /// what it looks like.
    pub code_sent: Option<crate::oob::Sent>,
    /// A magic link opened in this browser continued the flow.
    pub continued_by_link: bool,
    /// At `enroll`.
    pub enroll: Option<EnrollView>,
    /// New backup codes, shown this once.
    pub recovery_codes: Option<Vec<String>>,
    /// "Remember this browser".
    pub remember_browser: RememberView,
    /// At `done`: the security score (LG-9).
    pub security: Option<Security>,
    /// At `done`.
    pub user: Option<UserView>,
    /// At `done`, for an OpenID Connect request: where to go.
    pub redirect_to: Option<String>,
    /// At `denied`.
    pub denied: Option<DeniedView>,
    /// The options of the passkey ceremony this answer started (`…/passkey/options`, or
    /// `…/enroll` with `passkey`), for `navigator.credentials.get` or `.create`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<serde_json::Value>,
}

/// What one answer carries once.
#[derive(Debug, Default)]
pub(super) struct Extras {
    totp: Option<TotpSetup>,
    device: Option<DeviceSetup>,
    codes: Option<Vec<String>>,
    /// The options of a passkey ceremony just started (crate::passkey).
    pub(super) passkey: Option<serde_json::Value>,
}

/// The number of days a browser may be remembered under the settings in force for the flow.
fn remember_days(flow: &Flow, facts: &Facts) -> u32 {
    let subject = crate::policy::Subject {
        user: facts.user.clone(),
        application: flow.client_id.clone(),
        ..crate::policy::Subject::default()
    };
    crate::policy::evaluate::select(&facts.policy, &subject)
        .1
        .remember_browser_days
}

fn render(state: &AppState, ctx: &Ctx, extras: Extras) -> Result<View> {
    let flow = &ctx.loaded.flow;
    let facts = user_facts_of(state, ctx)?;
    let application = match &flow.client_id {
        Some(id) => state.store().application(id)?.map(|a| AppView {
            client_id: a.client_id,
            name: a.name,
        }),
        None => None,
    };
    let mut view = View {
        flow_id: ctx.loaded.id.clone(),
        expires_at: flow.expires_at,
        application,
        identifier: flow.identifier.clone(),
        step: Step::Identifier,
        method: None,
        offer: Vec::new(),
        push: None,
        qr_login: None,
        code_sent: None,
        continued_by_link: flow.continued_by_link,
        enroll: None,
        recovery_codes: None,
        remember_browser: RememberView { offered: false },
        security: None,
        user: None,
        redirect_to: None,
        denied: None,
        passkey: extras.passkey.clone(),
    };
    match &flow.outcome {
        Some(Outcome::Done {
            username,
            redirect_to,
        }) => {
            view.step = Step::Done;
            view.user = Some(UserView {
                username: username.clone(),
            });
            view.redirect_to = redirect_to.clone();
            view.security = facts.as_ref().map(|f| flow::security(&f.user));
            view.recovery_codes = extras.codes;
            return Ok(view);
        }
        Some(Outcome::Denied) => {
            view.step = Step::Denied;
            view.denied = Some(DeniedView {
                message: "You cannot sign in here. Contact your administrator.",
            });
            return Ok(view);
        }
        None => {}
    }
    match stage(state, flow, facts.as_ref(), &ctx.around) {
        Stage::Identifier => {}
        Stage::Verify { method, offer } => {
            view.step = Step::Verify;
            view.method = Some(method);
            view.offer = offer;
            view.push = flow
                .push
                .as_ref()
                .filter(|_| method == Method::Push)
                .map(|p| PushView {
                    number: p.number,
                    expires_at: p.expires_at,
                    state: p.state.clone(),
                });
            view.code_sent = flow.code_sent.clone().filter(|c| {
                Some(c.channel.as_str()) == crate::oob::Channel::of(method).map(|c| c.as_str())
            });
            if method == Method::QrLogin {
                if let Some(q) = &flow.qr {
                    view.qr_login = Some(QrView {
                        qr_svg: crate::device::enrollment::qr_svg(&q.link)?,
                        link: q.link.clone(),
                        expires_at: q.expires_at,
                        state: q.state.clone(),
                    });
                }
            }
            view.remember_browser.offered = method.is_second_factor()
                && facts.as_ref().is_some_and(|f| remember_days(flow, f) > 0);
        }
        Stage::Enroll {
            skippable,
            reason,
            methods,
        } => {
            view.step = Step::Enroll;
            view.enroll = Some(EnrollView {
                methods,
                skippable,
                reason,
                totp: extras.totp,
                push: extras.device,
            });
        }
        Stage::RecoveryCodes => {
            view.step = Step::RecoveryCodes;
            view.recovery_codes = extras.codes;
        }
        // `advance` ends the flow at these; reached only between the two.
        Stage::Done | Stage::Deny(_) => view.step = Step::Verify,
    }
    Ok(view)
}

// ------------------------------------------------------------------ moving on

/// Moves the flow on after a change: sends the push when it becomes the method, ends the flow
/// when the policy lets the user in or refuses, and saves it. Blocking.
fn advance(state: &AppState, ctx: &mut Ctx) -> Result<()> {
    if ctx.loaded.flow.outcome.is_none() {
        // A locked user learns it once they proved a factor, never before (until then the
        // flow goes as for anyone); the proof just added is not kept.
        if let Some(uid) = ctx.loaded.flow.user_id.as_deref() {
            if !ctx.loaded.flow.proofs.is_empty() {
                crate::factors::ensure_not_blocked(state.store().as_ref(), uid)?;
            }
        }
        let facts = user_facts_of(state, ctx)?;
        match stage(state, &ctx.loaded.flow, facts.as_ref(), &ctx.around) {
            Stage::Verify {
                method: Method::Push,
                ..
            } if ctx.loaded.flow.push.is_none() => send_push(state, ctx)?,
            Stage::Verify {
                method: Method::QrLogin,
                ..
            } if ctx.loaded.flow.qr.is_none() => show_qr(state, ctx)?,
            Stage::Done => {
                if let Some(facts) = facts {
                    finish(state, ctx, &facts)?;
                }
            }
            Stage::Deny(reason) => {
                ctx.loaded.flow.outcome = Some(Outcome::Denied);
                state.store().audit(
                    ctx.loaded.flow.user_id.as_deref(),
                    "signin.denied",
                    None,
                    reason,
                    state.now(),
                )?;
            }
            _ => {}
        }
    }
    flow::save(state, &mut ctx.loaded)
}

fn send_push(state: &AppState, ctx: &mut Ctx) -> Result<()> {
    let Some(user_id) = ctx.loaded.flow.user_id.clone() else {
        return Ok(());
    };
    let cfg = state.device_config();
    let app = match &ctx.loaded.flow.client_id {
        Some(id) => state
            .store()
            .application(id)?
            .map(|a| a.name)
            .unwrap_or_else(|| cfg.signin_application.clone()),
        None => cfg.signin_application.clone(),
    };
    let context = ctx.who.context(&app, &cfg.origin);
    let created = push::create(state, &user_id, context, None)?;
    ctx.loaded.flow.method = Some(Method::Push);
    ctx.loaded.flow.push = Some(PendingPush {
        transaction_id: created.transaction_id,
        number: created.number,
        expires_at: created.expires_at,
        state: "pending".into(),
    });
    Ok(())
}

/// Opens a QR login for the flow's browser (its secret in the `tessera_qr_dsi` cookie). Blocking.
fn show_qr(state: &AppState, ctx: &mut Ctx) -> Result<()> {
    let cfg = state.device_config();
    let app = match &ctx.loaded.flow.client_id {
        Some(id) => state.store().application(id)?.map(|a| a.name),
        None => None,
    }
    .unwrap_or_else(|| cfg.signin_application.clone());
    let session = crate::device::qr_login::create(state, ctx.who.context(&app, &cfg.origin))?;
    ctx.set_cookies.push(crate::device::http::set_cookie(
        state,
        crate::device::http::DSI_COOKIE,
        &session.dsi,
        cfg.qr_ttl,
    )?);
    ctx.loaded.flow.method = Some(Method::QrLogin);
    ctx.loaded.flow.qr = Some(flow::PendingQr {
        lsi: session.lsi,
        link: session.link,
        expires_at: session.expires_at,
        state: "pending".into(),
    });
    Ok(())
}

/// Merges proofs, keeping the latest of each method.
fn merge(mut into: Vec<Proof>, more: &[Proof]) -> Vec<Proof> {
    for p in more {
        match into.iter_mut().find(|q| q.method == p.method) {
            Some(q) if q.at <= p.at => *q = p.clone(),
            Some(_) => {}
            None => into.push(p.clone()),
        }
    }
    into
}

/// Signed in: the global session, the bookkeeping, the relying party's code. Blocking.
fn finish(state: &AppState, ctx: &mut Ctx, facts: &Facts) -> Result<()> {
    let flow = &ctx.loaded.flow;
    let Some(user_id) = flow.user_id.clone() else {
        return Err(Error::Internal("a finished flow without a user".into()));
    };
    let user = state
        .store()
        .get_user(&user_id)?
        .ok_or(Error::NotFound("user"))?;
    if user.blocked {
        return Err(Error::UserBlocked);
    }
    let now = state.now();
    let hours = u64::from(state.config().signin.session_hours);
    let counted = facts.session.clone().unwrap_or_default();
    // The browser's session: kept when it is this user's (and not set aside), else a new one.
    let own = ctx
        .around
        .session
        .clone()
        .zip(ctx.session_hash)
        .filter(|(s, _)| s.user_id == user_id && !flow.ignore_session);
    let (hash, record) = match own {
        Some((mut s, hash)) => {
            s.methods = serde_json::to_string(&merge(session_proofs(&s), &flow.proofs))
                .map_err(|e| Error::Internal(e.to_string()))?;
            s.updated_at = now;
            s.expires_at = now.saturating_add(hours * 3600);
            (hash, s)
        }
        None => {
            if let Some(other) = &ctx.around.session {
                state
                    .store()
                    .end_sessions(&other.user_id, Some(&other.id), now)?;
            }
            let value = random_token(32)?;
            ctx.set_cookies
                .push(cookie_header(state, SESSION_COOKIE, &value, hours * 3600)?);
            let record = SessionRecord {
                id: random_id("ses_")?,
                user_id: user_id.clone(),
                methods: serde_json::to_string(&flow.proofs)
                    .map_err(|e| Error::Internal(e.to_string()))?,
                created_at: now,
                updated_at: now,
                expires_at: now.saturating_add(hours * 3600),
                revoked_at: None,
                user_agent: ctx.who.user_agent.clone(),
                ip: ctx.who.ip.clone(),
            };
            (digest(&value), record)
        }
    };
    let session_id = record.id.clone();
    state.store().save_session(hash, record)?;
    let methods: Vec<&str> = flow.proofs.iter().map(|p| p.method.as_str()).collect();
    state.store().record_sign_in(SignInRecord {
        user_id: user_id.clone(),
        authenticator_ids: flow
            .proofs
            .iter()
            .filter_map(|p| p.authenticator_id.clone())
            .collect(),
        browser_hash: ctx.around.browser,
        remember: flow.remember,
        detail: format!(
            "methods={} application={}",
            if methods.is_empty() {
                "session".to_owned()
            } else {
                methods.join(",")
            },
            flow.client_id.as_deref().unwrap_or("-")
        ),
        now,
    })?;
    super::typing::on_finish(state, &user_id, &mut ctx.loaded.flow)?;
    let flow = &ctx.loaded.flow;
    let used = merge(counted, &flow.proofs);
    let auth_time = used.iter().map(|p| p.at).max().unwrap_or(now);
    let redirect_to = match &flow.oidc {
        Some(request) => Some(crate::oidc::complete(
            state,
            request,
            &Completed {
                user_id,
                methods: used.iter().map(Proof::satisfied).collect(),
                auth_time,
                session_id,
            },
        )?),
        None => None,
    };
    ctx.loaded.flow.outcome = Some(Outcome::Done {
        username: user.username,
        redirect_to,
    });
    Ok(())
}

/// Runs `work` on the flow of the request (blocking), moves it on, and answers the view with
/// any cookies set.
pub(super) async fn run(
    state: &AppState,
    on: OnFlow,
    work: impl FnOnce(&AppState, &mut Ctx) -> Result<Extras> + Send + 'static,
) -> Result<Response> {
    state
        .blocking(move |s| {
            let mut ctx = on.open(s)?;
            let extras = work(s, &mut ctx)?;
            advance(s, &mut ctx)?;
            let view = render(s, &ctx, extras)?;
            Ok(respond(StatusCode::OK, &view, ctx.set_cookies))
        })
        .await
}

fn respond(status: StatusCode, view: &View, cookies: Vec<HeaderValue>) -> Response {
    let mut resp = (status, Json(view)).into_response();
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The flow's stage now, for a handler's precondition. Blocking.
pub(super) fn current_stage(state: &AppState, ctx: &Ctx) -> Result<Stage> {
    let facts = user_facts_of(state, ctx)?;
    Ok(stage(state, &ctx.loaded.flow, facts.as_ref(), &ctx.around))
}

pub(super) fn step_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Identifier => "identifier",
        Stage::Verify { .. } => "verify",
        Stage::Enroll { .. } => "enroll",
        Stage::RecoveryCodes => "recovery_codes",
        Stage::Done => "done",
        Stage::Deny(_) => "denied",
    }
}

fn check_len(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_FIELD {
        return Err(Error::InvalidRequest(format!(
            "`{field}` must be 1–{MAX_FIELD} bytes"
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------ starting

/// Starts a flow (the hosted page's `POST /signin/api/flows`, and `/oauth2/authorize`).
pub async fn start_flow(
    state: &AppState,
    headers: &HeaderMap,
    request: FlowRequest,
) -> Result<Started> {
    let headers = headers.clone();
    state
        .blocking(move |s| {
            let (view, cookies) = start(s, &headers, request, None)?;
            Ok(Started {
                flow_id: view.flow_id,
                set_cookies: cookies,
                redirect_to: view.redirect_to,
            })
        })
        .await
}

fn start(
    state: &AppState,
    headers: &HeaderMap,
    request: FlowRequest,
    who: Option<Requester>,
) -> Result<(View, Vec<HeaderValue>)> {
    let admitted = state
        .signin_starts()
        .lock()
        .map_err(|_| Error::Internal("sign-in start counter".into()))?
        .admit(
            &request.client_ip,
            state.now(),
            state.config().signin.starts_per_minute,
        );
    if !admitted {
        return Err(Error::RateLimited(
            "too many sign-ins started from this address: try again in a minute",
        ));
    }
    if let Some(id) = &request.client_id {
        if state.store().application(id)?.is_none() {
            return Err(Error::InvalidRequest(
                "`client_id` names no application".into(),
            ));
        }
    }
    let (browser, set_browser) = browser(state, headers)?;
    let now = state.now();
    let session = live_session(state, headers)?;
    let mut flow = Flow {
        created_at: now,
        expires_at: now.saturating_add(u64::from(state.config().signin.flow_minutes) * 60),
        client_id: request.client_id,
        oidc: request.oidc,
        max_age: request.max_age,
        prompt_login: request.prompt_login,
        mfa_audience: request.mfa_audience,
        ..Flow::default()
    };
    // A global session identifies the user (unless `prompt=login`).
    if let Some((_, s)) = session.as_ref().filter(|_| !flow.prompt_login) {
        flow.user_id = Some(s.user_id.clone());
        flow.identifier = state.store().get_user(&s.user_id)?.map(|u| u.username);
    }
    let id = flow::insert(state, &flow, browser)?;
    let mut ctx = Ctx {
        loaded: Loaded {
            id_hash: digest(&id),
            id,
            revision: 1,
            stored: flow.clone(),
            flow,
        },
        around: Surroundings {
            browser,
            session: session.as_ref().map(|(_, s)| s.clone()),
        },
        session_hash: session.map(|(h, _)| h),
        who: who.unwrap_or_else(|| Requester {
            ip: String::new(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
        }),
        set_cookies: set_browser.into_iter().collect(),
    };
    advance(state, &mut ctx)?;
    let view = render(state, &ctx, Extras::default())?;
    Ok((view, ctx.set_cookies))
}

/// Body of `POST /signin/api/flows`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// The application signing in.
    #[serde(default)]
    client_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Requester,
    body: axum::body::Bytes,
) -> Result<Response> {
    // The body is optional: no body is `{}`.
    let body: CreateBody = if body.iter().all(u8::is_ascii_whitespace) {
        CreateBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::InvalidRequest(format!("invalid JSON body: {e}")))?
    };
    state
        .blocking(move |s| {
            let request = FlowRequest {
                client_id: body.client_id,
                client_ip: who.ip.clone(),
                ..FlowRequest::default()
            };
            let (view, cookies) = start(s, &headers, request, Some(who))?;
            Ok(respond(StatusCode::CREATED, &view, cookies))
        })
        .await
}

async fn show(State(state): State<AppState>, on: OnFlow) -> Result<Response> {
    let again = on.clone();
    match run(&state, on, |_, _| Ok(Extras::default())).await {
        // A flow a magic link finished in this browser: its end, as the link's tab shows it
        // (a tab that waited knows from `continued_by_link` that it went on elsewhere).
        Err(Error::Flow(FlowError::Finished)) => {
            state
                .blocking(move |s| {
                    let browser = cookie(&again.headers, BROWSER_COOKIE).map(digest);
                    let loaded = flow::load_linked(s, &again.id, browser)?;
                    let ctx = Ctx {
                        loaded,
                        around: Surroundings {
                            browser: browser.unwrap_or_default(),
                            session: None,
                        },
                        session_hash: None,
                        who: again.who,
                        set_cookies: Vec::new(),
                    };
                    let view = render(s, &ctx, Extras::default())?;
                    Ok(respond(StatusCode::OK, &view, Vec::new()))
                })
                .await
        }
        other => other,
    }
}

// ------------------------------------------------------------------ steps

/// Body of `…/identifier`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierBody {
    /// The username.
    identifier: String,
}

async fn identifier(
    State(state): State<AppState>,
    on: OnFlow,
    JsonBody(body): JsonBody<IdentifierBody>,
) -> Result<Response> {
    let name = body.identifier.trim().to_owned();
    check_len("identifier", &name)?;
    run(&state, on, move |s, ctx| {
        let st = current_stage(s, ctx)?;
        if st != Stage::Identifier {
            return Err(Error::Flow(FlowError::WrongStep(step_name(&st))));
        }
        // One read either way; an unknown name gets the same password step (OK-8).
        let user = s.store().find_user_by_username(&name)?;
        let f = &mut ctx.loaded.flow;
        f.identifier = Some(name);
        f.user_id = user.map(|(u, _)| u.user_id);
        Ok(Extras::default())
    })
    .await
}

/// Body of `…/choose`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChooseBody {
    /// One of the view's `offer`.
    method: Method,
    /// "Remember this browser" (where offered), for a method proven without a code (push).
    #[serde(default)]
    remember_browser: bool,
}

async fn choose(
    State(state): State<AppState>,
    on: OnFlow,
    JsonBody(body): JsonBody<ChooseBody>,
) -> Result<Response> {
    if let Some(channel) = crate::oob::Channel::of(body.method) {
        return send_code(state, on, channel, body.remember_browser).await;
    }
    run(&state, on, move |s, ctx| {
        require_offered(&current_stage(s, ctx)?, body.method)?;
        ctx.loaded.flow.method = Some(body.method);
        if body.remember_browser && body.method.is_second_factor() {
            ctx.loaded.flow.remember = true;
        }
        match body.method {
            // Choosing push again sends a new one; QR login shows a new code.
            Method::Push => send_push(s, ctx)?,
            Method::QrLogin => show_qr(s, ctx)?,
            _ => {}
        }
        Ok(Extras::default())
    })
    .await
}

/// Sends a code by email (with its magic link), SMS or voice for the flow's user: choosing the
/// method again sends a new code, which voids the previous one.
async fn send_code(
    state: AppState,
    on: OnFlow,
    channel: crate::oob::Channel,
    remember: bool,
) -> Result<Response> {
    let method = channel.method();
    let pre = on.clone();
    let flow_id = on.id.clone();
    let (user, authenticator) = state
        .blocking(move |s| {
            let ctx = pre.open(s)?;
            require_offered(&current_stage(s, &ctx)?, method)?;
            let uid = ctx
                .loaded
                .flow
                .user_id
                .clone()
                .ok_or(Error::Flow(FlowError::InvalidCredentials))?;
            let store = s.store();
            let user = store.get_user(&uid)?.ok_or(Error::NotFound("user"))?;
            let list = store.list_authenticators(&uid)?;
            let a = crate::oob::authenticator_for(&list, channel)
                .cloned()
                .ok_or_else(|| {
                    Error::InvalidRequest(format!("`method`: no {} is enrolled", method))
                })?;
            Ok((user, a))
        })
        .await?;
    let locale = crate::oob::messages::Locale::from_accept_language(
        on.headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let sent = crate::oob::send_code(
        &state,
        crate::oob::SendRequest {
            user,
            authenticator,
            channel,
            purpose: crate::oob::messages::Purpose::SignIn,
            flow_id: Some(flow_id),
            locale,
        },
    )
    .await?;
    run(&state, on, move |s, ctx| {
        require_offered(&current_stage(s, ctx)?, method)?;
        ctx.loaded.flow.method = Some(method);
        ctx.loaded.flow.code_sent = Some(sent);
        if remember {
            ctx.loaded.flow.remember = true;
        }
        Ok(Extras::default())
    })
    .await
}

/// Where a magic link may take the browser that opened it.
#[derive(Debug, Clone, Copy)]
enum LinkUse {
    /// The flow is here, at the step the link proves.
    Continue,
    /// Another browser than the one that asked (EM-4).
    OtherBrowser,
    /// The flow is over, moved on, or not the link's user's.
    Gone,
}

/// `GET /signin/link/{token}`: the magic link of an email (EM-1, EM-4, EM-7). In the browser
/// that asked, it proves the email method and continues the flow there (the tab that waited
/// learns its flow went on elsewhere); in another browser it is not used, and the page says
/// to type the code instead; expired, used or replaced, the page says to sign in again.
async fn open_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    who: Requester,
) -> Result<Response> {
    // The pages' language: the switcher's cookie, then the browser's.
    let locale = crate::i18n::negotiate(&headers, None);
    let page = |u: LinkUse| link_page(locale, u);
    let Some(hash) = crate::oob::link_hash(&token) else {
        return Ok(page(LinkUse::Gone));
    };
    let now = state.now();
    let row = state.db(move |s| s.oob_code(hash)).await?;
    let Some(row) = row.filter(|r| crate::store::oob::liveness(r, now).is_ok()) else {
        return Ok(page(LinkUse::Gone));
    };
    if row.purpose == crate::oob::messages::Purpose::Verify.as_str() {
        // Confirming a new address: opening the mail's link is the proof of the mailbox.
        let done =
            crate::api::me::confirm_contact(&state, crate::store::oob::OobLookup::Link(hash), None)
                .await;
        let t = |id: &str| crate::i18n::text(locale, id, &[]);
        // Confirmed: back to the account center the change was made in.
        let (title, text, back) = if done.is_ok() {
            (
                t("mail-page-confirmed-title"),
                t("mail-page-confirmed-text"),
                ("/account", t("mail-page-confirmed-link")),
            )
        } else {
            (
                t("mail-page-gone-title"),
                t("mail-page-unconfirmed-text"),
                ("/signin", "Tessera".to_owned()),
            )
        };
        let mut r = super::pages::message_page(locale.tag(), &title, &text, (back.0, &back.1));
        if done.is_err() {
            *r.status_mut() = StatusCode::GONE;
        }
        return Ok(r);
    }
    let (Some(channel), Some(flow_id)) = (
        crate::oob::Channel::of_name(&row.channel),
        crate::oob::flow_of(&state, &row),
    ) else {
        return Ok(page(LinkUse::Gone));
    };
    if row.purpose != crate::oob::messages::Purpose::SignIn.as_str() {
        // Password reset and unlock: the page asks for the new password (or a click) and sends
        // the token; any browser will do (the mailbox was the proof).
        let target = super::recover::link_target(&row.purpose, &token);
        let mut resp = (
            StatusCode::SEE_OTHER,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response();
        resp.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&target).map_err(|_| Error::Internal("location".into()))?,
        );
        return Ok(resp);
    }
    let method = channel.method();
    let on = OnFlow {
        id: flow_id.clone(),
        headers,
        who,
    };
    let pre = on.clone();
    let owner = row.user_id.clone();
    let usable = state
        .blocking(move |s| match pre.open(s) {
            Ok(ctx) => {
                let mine = ctx.loaded.flow.user_id.as_deref() == Some(owner.as_str());
                let offered = require_offered(&current_stage(s, &ctx)?, method).is_ok();
                Ok(if mine && offered {
                    LinkUse::Continue
                } else {
                    LinkUse::Gone
                })
            }
            Err(Error::Flow(FlowError::OtherBrowser)) => Ok(LinkUse::OtherBrowser),
            Err(Error::Flow(_)) => Ok(LinkUse::Gone),
            Err(e) => Err(e),
        })
        .await?;
    if !matches!(usable, LinkUse::Continue) {
        return Ok(page(usable));
    }
    let row =
        match crate::oob::redeem(&state, crate::store::oob::OobLookup::Link(hash), None).await? {
            OobRedeemed::Accepted(row) => row,
            _ => return Ok(page(LinkUse::Gone)),
        };
    let proof = Proof {
        method,
        traits: Traits::INTERACTION,
        at: state.now(),
        authenticator_id: Some(row.authenticator_id),
    };
    let answered = match run(&state, on, move |s, ctx| {
        add_proof(s, ctx, proof)?;
        ctx.loaded.flow.continued_by_link = true;
        Ok(Extras::default())
    })
    .await
    {
        // The mailbox was proven: a locked user is told so on a page, not in JSON.
        Err(Error::UserBlocked) => {
            let t = |id: &str| crate::i18n::text(locale, id, &[]);
            let mut r = super::pages::message_page(
                locale.tag(),
                &t("mail-page-gone-title"),
                &t("error-user_blocked"),
                ("/signin", "Tessera"),
            );
            *r.status_mut() = StatusCode::FORBIDDEN;
            return Ok(r);
        }
        other => other?,
    };
    let mut resp = (
        StatusCode::SEE_OTHER,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
    )
        .into_response();
    // A flow id is `flw_` and base64url: nothing to escape but what is not (defensively).
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'_').remove(b'-');
    let location = format!(
        "/signin?flow={}",
        percent_encoding::utf8_percent_encode(&flow_id, KEEP)
    );
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|_| Error::Internal("location".into()))?,
    );
    for c in answered.headers().get_all(header::SET_COOKIE) {
        resp.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    Ok(resp)
}

fn link_page(locale: crate::oob::messages::Locale, u: LinkUse) -> Response {
    let t = |id: &str| crate::i18n::text(locale, id, &[]);
    let (title, text, link) = match u {
        LinkUse::OtherBrowser => (
            t("mail-page-other-browser-title"),
            t("mail-page-other-browser-text"),
            t("mail-page-other-browser-link"),
        ),
        _ => (
            t("mail-page-gone-title"),
            t("mail-page-gone-text"),
            t("mail-page-gone-link"),
        ),
    };
    let mut r = super::pages::message_page(locale.tag(), &title, &text, ("/signin", &link));
    if !matches!(u, LinkUse::OtherBrowser) {
        *r.status_mut() = StatusCode::GONE;
    }
    r
}

/// Body of `…/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// `password`, `totp` or `recovery_code`.
    method: Method,
    /// For `password`.
    #[serde(default)]
    password: Option<String>,
    /// For `totp` and `recovery_code`.
    #[serde(default)]
    code: Option<String>,
    /// For `passkey`: the `PublicKeyCredential` from `navigator.credentials.get`, as JSON.
    #[serde(default)]
    credential: Option<serde_json::Value>,
    /// "Remember this browser" (where offered).
    #[serde(default)]
    remember_browser: bool,
    /// For `password`: how it was typed (docs/signals.md).
    #[serde(default)]
    typing: Option<super::typing::TypingInput>,
}

/// What a check came to, for the flow.
enum Checked {
    Proof(Proof, Option<Vec<String>>),
    Wrong,
    Locked,
}

async fn verify(
    State(state): State<AppState>,
    on: OnFlow,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Response> {
    if body.method == Method::Passkey {
        let credential = body
            .credential
            .ok_or_else(|| Error::InvalidRequest("`credential` is required".into()))?;
        return super::passkey::finish(&state, on, credential, body.remember_browser).await;
    }
    // The flow and its step first (cheap, and nothing is checked for a flow that cannot use it).
    let pre = on.clone();
    let flow_id = on.id.clone();
    let method = body.method;
    let mut typing = match (&body.typing, method) {
        (None, _) => None,
        (Some(t), Method::Password) => Some(t.validate()?),
        (Some(_), _) => {
            return Err(Error::InvalidRequest(
                "`typing`: only sent with the password".into(),
            ))
        }
    };
    let (identifier, user_id) = state
        .blocking(move |s| {
            let ctx = pre.open(s)?;
            require_offered(&current_stage(s, &ctx)?, method)?;
            Ok((ctx.loaded.flow.identifier, ctx.loaded.flow.user_id))
        })
        .await?;
    let now = state.now();
    let none = || OnSuccess {
        revoke_token_id: None,
        issue: None,
    };
    let checked = match method {
        Method::Password => {
            let password = body
                .password
                .ok_or_else(|| Error::InvalidRequest("`password` is required".into()))?;
            check_len("password", &password)?;
            // Timings of another length than the password are not of its typing (a paste,
            // an edit): the sign-in has no sample.
            let keys = password.chars().count();
            typing = typing.filter(|t| t.keys() == keys);
            let name = identifier.unwrap_or_default();
            // The one password check: failure counting and lockout included; an unknown user
            // costs the same and gets the same answer.
            match crate::factors::check_password(&state, &name, zeroize::Zeroizing::new(password))
                .await?
            {
                Some(u) if Some(&u.user_id) == user_id.as_ref() => Checked::Proof(
                    Proof {
                        method,
                        traits: Traits::INTERACTION,
                        at: now,
                        authenticator_id: None,
                    },
                    None,
                ),
                _ => Checked::Wrong,
            }
        }
        Method::Totp | Method::RecoveryCode => {
            let code = zeroize::Zeroizing::new(
                body.code
                    .ok_or_else(|| Error::InvalidRequest("`code` is required".into()))?,
            );
            check_len("code", &code)?;
            let Some(uid) = user_id.clone() else {
                return Err(Error::Flow(FlowError::InvalidCredentials));
            };
            let outcome = if method == Method::Totp {
                let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
                crate::factors::verify_otp(&state, &uid, &compact, none()).await?
            } else {
                crate::factors::verify_recovery(&state, &uid, &code, none()).await?
            };
            match outcome {
                VerifyOutcome::Accepted {
                    authenticator_id,
                    new_recovery_codes,
                    ..
                } => Checked::Proof(
                    Proof {
                        method,
                        traits: Traits::INTERACTION,
                        at: now,
                        authenticator_id: Some(authenticator_id),
                    },
                    new_recovery_codes,
                ),
                VerifyOutcome::Rejected => Checked::Wrong,
                VerifyOutcome::Locked => Checked::Locked,
            }
        }
        Method::Email | Method::Sms | Method::Voice => {
            let channel =
                crate::oob::Channel::of(method).ok_or_else(|| Error::Internal("channel".into()))?;
            let typed = body
                .code
                .ok_or_else(|| Error::InvalidRequest("`code` is required".into()))?;
            check_len("code", &typed)?;
            let code = crate::oob::normalize_code(&typed, &channel.settings(&state.config()))?;
            let Some(uid) = user_id.clone() else {
                return Err(Error::Flow(FlowError::InvalidCredentials));
            };
            let lookup = crate::store::oob::OobLookup::Latest {
                user_id: Some(uid),
                purpose: Some(crate::oob::messages::Purpose::SignIn.as_str().to_owned()),
                flow_hash: Some(crate::oob::flow_hash(&flow_id)),
            };
            match crate::oob::redeem(&state, lookup, Some(code)).await? {
                OobRedeemed::Accepted(row) if row.channel == channel.as_str() => Checked::Proof(
                    Proof {
                        method,
                        traits: Traits::INTERACTION,
                        at: now,
                        authenticator_id: Some(row.authenticator_id),
                    },
                    None,
                ),
                OobRedeemed::Accepted(_) | OobRedeemed::Rejected { .. } => Checked::Wrong,
                OobRedeemed::Expired | OobRedeemed::Invalid => {
                    return Err(Error::InvalidRequest(
                        "the code has expired or was replaced; send a new one".into(),
                    ))
                }
                OobRedeemed::Locked => Checked::Locked,
            }
        }
        other => {
            return Err(Error::InvalidRequest(format!(
                "`method`: {other} is not proven with a password or code"
            )))
        }
    };
    let (proof, codes) = match checked {
        Checked::Proof(p, c) => (p, c),
        Checked::Wrong => return Err(Error::Flow(FlowError::InvalidCredentials)),
        Checked::Locked => return Err(Error::TooManyAttempts),
    };
    let remember = body.remember_browser;
    run(&state, on, move |s, ctx| {
        if proof.method == Method::Password {
            super::typing::on_password(s, &mut ctx.loaded.flow, typing)?;
        }
        add_proof(s, ctx, proof)?;
        if remember {
            ctx.loaded.flow.remember = true;
        }
        if codes.is_some() {
            ctx.loaded.flow.codes_unconfirmed = true;
        }
        Ok(Extras {
            codes,
            ..Extras::default()
        })
    })
    .await
}

/// Fails unless the flow is at `verify` and offers `method`.
pub(super) fn require_offered(stage: &Stage, method: Method) -> Result<()> {
    match stage {
        Stage::Verify { offer, .. } if offer.contains(&method) => Ok(()),
        Stage::Verify { .. } => Err(Error::InvalidRequest(format!(
            "`method`: {method} is not offered here"
        ))),
        st => Err(Error::Flow(FlowError::WrongStep(step_name(st)))),
    }
}

/// The proof of an approval by an enrolled device (push or QR login): its key's
/// characteristics (a PIN or biometric when it was created with user verification). Blocking.
fn device_proof(state: &AppState, method: Method, device: Option<String>) -> Result<Proof> {
    let user_verification = match &device {
        Some(d) => state
            .devices()
            .device(d)?
            .is_some_and(|d| d.user_verification),
        None => false,
    };
    Ok(Proof {
        method,
        traits: Traits {
            user_verification,
            ..Traits::INTERACTION
        },
        at: state.now(),
        authenticator_id: device.as_deref().map(crate::device::push_authenticator_id),
    })
}

/// Records a proof; the first one selects the chain (OK-3). Blocking.
pub(super) fn add_proof(state: &AppState, ctx: &mut Ctx, proof: Proof) -> Result<()> {
    if ctx.loaded.flow.chain.is_none() {
        if let Some(facts) = user_facts_of(state, ctx)? {
            let decision = decide(state, &ctx.loaded.flow, &facts);
            ctx.loaded.flow.chain = chain_for(&decision, proof.method);
        }
    }
    let f = &mut ctx.loaded.flow;
    f.proofs.push(proof);
    f.method = None;
    f.push = None;
    f.qr = None;
    f.code_sent = None;
    Ok(())
}

async fn push_wait(
    State(state): State<AppState>,
    on: OnFlow,
    QueryParams(w): QueryParams<Wait>,
) -> Result<Response> {
    let pre = on.clone();
    let pending = state
        .blocking(move |s| {
            let ctx = pre.open(s)?;
            Ok(ctx
                .loaded
                .flow
                .push
                .clone()
                .zip(ctx.loaded.flow.user_id.clone()))
        })
        .await?
        .ok_or_else(|| Error::InvalidRequest("no push was sent in this sign-in".into()))?;
    let (p, user_id) = pending;
    let status = push_outcome(&state, p.transaction_id.clone(), w.wait.unwrap_or(0)).await?;
    run(&state, on, move |s, ctx| {
        let Some(current) = ctx.loaded.flow.push.clone() else {
            return Ok(Extras::default());
        };
        if current.transaction_id != p.transaction_id {
            // Another push was sent meanwhile.
            return Ok(Extras::default());
        }
        let state_name = format!("{:?}", status.state).to_lowercase();
        if status.state == tessera_core::device::wire::PushState::Approved {
            match push::redeem(s, &p.transaction_id, &user_id)? {
                push::Redemption::Accepted => {
                    let device = s
                        .devices()
                        .push(&p.transaction_id)?
                        .and_then(|r| r.device_id);
                    let proof = device_proof(s, Method::Push, device)?;
                    add_proof(s, ctx, proof)?;
                }
                push::Redemption::Pending => {}
                push::Redemption::Rejected => {
                    if let Some(pp) = ctx.loaded.flow.push.as_mut() {
                        pp.state = "expired".into();
                    }
                }
            }
        } else if let Some(pp) = ctx.loaded.flow.push.as_mut() {
            pp.state = state_name;
        }
        Ok(Extras::default())
    })
    .await
}

/// `GET …/qr-login?wait=N`: waits for the Tessera app's answer to the flow's QR login; an
/// approval by the flow's user is redeemed once and proves `qr_login`.
async fn qr_wait(
    State(state): State<AppState>,
    on: OnFlow,
    QueryParams(w): QueryParams<Wait>,
) -> Result<Response> {
    let pre = on.clone();
    let dsi = cookie(&on.headers, crate::device::http::DSI_COOKIE).map(str::to_owned);
    let pending = state
        .blocking(move |s| Ok(pre.open(s)?.loaded.flow.qr))
        .await?
        .ok_or_else(|| Error::InvalidRequest("no QR login was shown in this sign-in".into()))?;
    let outcome = crate::device::http::qr_outcome(
        &state,
        pending.lsi.clone(),
        dsi.clone(),
        w.wait.unwrap_or(0),
    )
    .await?;
    run(&state, on, move |s, ctx| {
        if ctx.loaded.flow.qr.as_ref().map(|q| &q.lsi) != Some(&pending.lsi) {
            // Another code was shown meanwhile.
            return Ok(Extras::default());
        }
        let mut seen = format!("{outcome:?}").to_lowercase();
        if outcome == crate::device::store::QrState::Approved {
            let by = crate::device::qr_login::redeem(s, &pending.lsi, dsi.as_deref())?;
            if Some(&by) == ctx.loaded.flow.user_id.as_ref() {
                let device = s.devices().qr(&pending.lsi)?.and_then(|q| q.device_id);
                let proof = device_proof(s, Method::QrLogin, device)?;
                return add_proof(s, ctx, proof).map(|()| Extras::default());
            }
            // Approved by another user's device: it proves nothing here.
            seen = "denied".into();
        }
        if let Some(q) = ctx.loaded.flow.qr.as_mut() {
            q.state = seen;
        }
        Ok(Extras::default())
    })
    .await
}

/// Body of `…/enroll`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollBody {
    /// `totp` or `push` (the desktop app).
    method: Method,
}

async fn enroll(
    State(state): State<AppState>,
    on: OnFlow,
    JsonBody(body): JsonBody<EnrollBody>,
) -> Result<Response> {
    let pre = on.clone();
    let method = body.method;
    let user_id = state
        .blocking(move |s| {
            let ctx = pre.open(s)?;
            match current_stage(s, &ctx)? {
                Stage::Enroll { methods, .. } if methods.contains(&method) => {}
                Stage::Enroll { .. } => {
                    return Err(Error::InvalidRequest(format!(
                        "`method`: {method} cannot be set up here"
                    )))
                }
                st => return Err(Error::Flow(FlowError::WrongStep(step_name(&st)))),
            }
            ctx.loaded
                .flow
                .user_id
                .ok_or(Error::Flow(FlowError::WrongStep("identifier")))
        })
        .await?;
    match method {
        Method::Totp => {
            let user = crate::factors::user(&state, &user_id).await?;
            // A set-up started again (a reload, a lost QR) replaces the one pending in this
            // flow, so restarts do not use up the enrollment cap.
            let (again, uid) = (on.clone(), user_id.clone());
            state
                .blocking(move |s| {
                    let ctx = again.open(s)?;
                    if let Some(pending) = ctx.loaded.flow.enrolling {
                        let still_pending = s
                            .store()
                            .list_authenticators(&uid)?
                            .iter()
                            .any(|a| a.id == pending && !a.active);
                        if still_pending {
                            s.store().delete_authenticator(&uid, &pending, s.now())?;
                        }
                    }
                    Ok(())
                })
                .await?;
            let setup = crate::factors::enroll_otp(&state, &user).await?;
            let created_codes = setup.recovery_codes.is_some();
            run(&state, on, move |_, ctx| {
                ctx.loaded.flow.enrolling = Some(setup.id.clone());
                ctx.loaded.flow.enrolling_created_codes = created_codes;
                Ok(Extras {
                    totp: Some(TotpSetup {
                        otpauth_uri: setup.barcode_uri,
                        secret: setup.secret,
                        qr_svg: setup.barcode_svg,
                    }),
                    ..Extras::default()
                })
            })
            .await
        }
        Method::Passkey => super::passkey::begin_enroll(&state, on).await,
        Method::Push => {
            run(&state, on, move |s, _| {
                let offer = crate::device::enrollment::create_offer(s, &user_id)?;
                Ok(Extras {
                    device: Some(DeviceSetup {
                        link: offer.link,
                        qr_svg: offer.qr_svg,
                        expires_at: offer.expires_at,
                    }),
                    ..Extras::default()
                })
            })
            .await
        }
        other => Err(Error::InvalidRequest(format!(
            "`method`: setting up {other} here is not supported yet"
        ))),
    }
}

/// Body of `…/enroll/confirm`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// A code from the new authenticator.
    code: String,
}

async fn enroll_confirm(
    State(state): State<AppState>,
    on: OnFlow,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<Response> {
    check_len("code", &body.code)?;
    let pre = on.clone();
    let (user_id, enrolling, created_codes) = state
        .blocking(move |s| {
            let ctx = pre.open(s)?;
            let f = ctx.loaded.flow;
            match (f.user_id, f.enrolling) {
                (Some(u), Some(e)) => Ok((u, e, f.enrolling_created_codes)),
                _ => Err(Error::InvalidRequest(
                    "no authenticator is being set up in this sign-in".into(),
                )),
            }
        })
        .await?;
    let code = zeroize::Zeroizing::new(
        body.code
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
    );
    let outcome = crate::factors::verify_otp(
        &state,
        &user_id,
        &code,
        OnSuccess {
            revoke_token_id: None,
            issue: None,
        },
    )
    .await?;
    let matched = match outcome {
        VerifyOutcome::Accepted {
            authenticator_id, ..
        } => authenticator_id,
        VerifyOutcome::Rejected => return Err(Error::Flow(FlowError::InvalidCredentials)),
        VerifyOutcome::Locked => return Err(Error::TooManyAttempts),
    };
    if matched != enrolling {
        // A code of another (older) authenticator does not confirm this one.
        return Err(Error::Flow(FlowError::InvalidCredentials));
    }
    // The backup codes created with the set-up were never shown: a fresh set is shown now.
    let codes = if created_codes {
        Some(crate::factors::regenerate(&state, &user_id).await?)
    } else {
        None
    };
    let now = state.now();
    run(&state, on, move |s, ctx| {
        add_proof(
            s,
            ctx,
            Proof {
                method: Method::Totp,
                traits: Traits::INTERACTION,
                at: now,
                authenticator_id: Some(matched),
            },
        )?;
        ctx.loaded.flow.enrolling = None;
        ctx.loaded.flow.codes_unconfirmed = codes.is_some();
        Ok(Extras {
            codes,
            ..Extras::default()
        })
    })
    .await
}

async fn codes_saved(State(state): State<AppState>, on: OnFlow) -> Result<Response> {
    run(&state, on, |s, ctx| {
        if !ctx.loaded.flow.codes_unconfirmed {
            let st = current_stage(s, ctx)?;
            return Err(Error::Flow(FlowError::WrongStep(step_name(&st))));
        }
        ctx.loaded.flow.codes_unconfirmed = false;
        Ok(Extras::default())
    })
    .await
}

async fn skip(State(state): State<AppState>, on: OnFlow) -> Result<Response> {
    run(&state, on, |s, ctx| {
        let reason = match current_stage(s, ctx)? {
            Stage::Enroll {
                skippable: true,
                reason,
                ..
            } => reason,
            Stage::Enroll { .. } => {
                return Err(Error::InvalidRequest(
                    "setting up a factor cannot be skipped here".into(),
                ))
            }
            st => return Err(Error::Flow(FlowError::WrongStep(step_name(&st)))),
        };
        if reason == EnrollReason::Prompt {
            // LG-3: skipped once, never shown again (until reset, LG-4).
            if let Some(uid) = ctx.loaded.flow.user_id.clone() {
                s.store().update_user(
                    &uid,
                    crate::model::UserPatch {
                        mfa_prompt_skipped: Some(true),
                        ..Default::default()
                    },
                    s.now(),
                )?;
            }
        }
        ctx.loaded.flow.skipped.push(reason);
        ctx.loaded.flow.enrolling = None;
        Ok(Extras::default())
    })
    .await
}

async fn back(State(state): State<AppState>, on: OnFlow) -> Result<Response> {
    run(&state, on, |_, ctx| {
        let f = &mut ctx.loaded.flow;
        // "Not you?": the browser's session no longer names the user of this flow.
        if ctx.around.session.is_some() {
            f.ignore_session = true;
        }
        f.identifier = None;
        f.user_id = None;
        f.proofs.clear();
        f.chain = None;
        f.method = None;
        f.push = None;
        f.qr = None;
        f.passkey = None;
        f.enrolling = None;
        f.skipped.clear();
        f.remember = false;
        f.typing = None;
        Ok(Extras::default())
    })
    .await
}

// ------------------------------------------------------------------ sessions

/// A session as its user and admins see it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// `ses_…`
    pub session_id: String,
    /// Whose.
    pub user_id: String,
    /// The methods satisfied and when (the input of re-authentication).
    pub methods: Vec<MethodAt>,
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

/// A method and when it was satisfied.
#[derive(Debug, Clone, Serialize)]
pub struct MethodAt {
    /// The method.
    pub method: Method,
    /// Unix seconds.
    pub at: u64,
}

fn session_view(s: &SessionRecord) -> SessionView {
    SessionView {
        session_id: s.id.clone(),
        user_id: s.user_id.clone(),
        methods: session_proofs(s)
            .into_iter()
            .map(|p| MethodAt {
                method: p.method,
                at: p.at,
            })
            .collect(),
        created_at: s.created_at,
        updated_at: s.updated_at,
        expires_at: s.expires_at,
        user_agent: s.user_agent.clone(),
        ip: s.ip.clone(),
    }
}

/// `GET /signin/api/session`: this browser's global session.
async fn session_show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let view = state
        .blocking(move |s| {
            let (_, session) = live_session(s, &headers)?.ok_or(Error::BadCredentials)?;
            let username = s.store().get_user(&session.user_id)?.map(|u| u.username);
            Ok(serde_json::json!({
                "session": session_view(&session),
                "username": username,
            }))
        })
        .await?;
    Ok(Json(view).into_response())
}

/// `POST /signin/api/session/sign-out`: ends this browser's session.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let cleared = cookie_header(&state, SESSION_COOKIE, "", 0)?;
    state
        .blocking(move |s| {
            if let Some((_, session)) = live_session(s, &headers)? {
                s.store()
                    .end_sessions(&session.user_id, Some(&session.id), s.now())?;
            }
            Ok(())
        })
        .await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cleared);
    Ok(resp)
}

async fn user_id_of(state: &AppState, user: String) -> Result<String> {
    state
        .blocking(move |s| crate::device::resolve_user(s, &user)?.ok_or(Error::NotFound("user")))
        .await
}

/// `GET /api/v2/users/{id}/sessions` (read:users).
async fn user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Result<Json<Vec<SessionView>>> {
    caller.management("read:users")?;
    let uid = user_id_of(&state, user).await?;
    let now = state.now();
    let list = state.db(move |s| s.sessions_of(&uid, now)).await?;
    Ok(Json(list.iter().map(session_view).collect()))
}

/// `DELETE /api/v2/users/{id}/sessions` (update:users): ends every session of the user.
async fn end_user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Result<Json<serde_json::Value>> {
    caller.management("update:users")?;
    let uid = user_id_of(&state, user).await?;
    let now = state.now();
    let n = state.db(move |s| s.end_sessions(&uid, None, now)).await?;
    Ok(Json(serde_json::json!({ "ended": n })))
}

/// `DELETE /api/v2/users/{id}/sessions/{session_id}` (update:users).
async fn end_user_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, sid)): Path<(String, String)>,
) -> Result<StatusCode> {
    caller.management("update:users")?;
    let uid = user_id_of(&state, user).await?;
    let now = state.now();
    match state
        .db(move |s| s.end_sessions(&uid, Some(&sid), now))
        .await?
    {
        0 => Err(Error::NotFound("session")),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// `GET /api/v2/me/sessions`.
async fn my_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SessionView>>> {
    let uid = crate::api::me::me(&caller)?;
    let now = state.now();
    let list = state.db(move |s| s.sessions_of(&uid, now)).await?;
    Ok(Json(list.iter().map(session_view).collect()))
}

/// `DELETE /api/v2/me/sessions/{session_id}`.
async fn end_my_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(sid): Path<String>,
) -> Result<StatusCode> {
    let uid = crate::api::me::me(&caller)?;
    let now = state.now();
    match state
        .db(move |s| s.end_sessions(&uid, Some(&sid), now))
        .await?
    {
        0 => Err(Error::NotFound("session")),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
