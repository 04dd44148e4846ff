//! HTTP endpoints of the device factor (docs/protocol.md). Thin: parse, call one domain
//! function on the blocking pool, map the error.
//!
//! | who | endpoints |
//! |---|---|
//! | device (signed requests) | `/device/v1/enroll/{begin,finish}`, `/device/v1/events` (SSE), `/device/v1/challenges`, `/device/v1/challenges/{tx}/answer`, `/device/v1/qr-login/{lsi}[/answer]`, `/device/v1/device` |
//! | relying party / admin (bearer token) | `/api/v1/push`, `/api/v1/push/{tx}?wait=N`, `/device/v1/enroll/offers`, `/api/v1/users/{user}/devices`, `/api/v1/devices/{id}` (their events are in the one audit log, `/api/v2/logs`) |
//! | browser (DSI cookie) | `/qr-login/sessions`, `/qr-login/sessions/{lsi}[?wait=N]`, `/qr-login/sessions/{lsi}/redeem` |

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tessera_core::device::wire::{
    DeviceInfo, EnrollBeginRequest, EnrollFinishRequest, PushAnswerRequest, PushChallenge,
    PushContext, PushCreateRequest, PushState, PushStatus, QrLoginAnswerRequest,
};
use tokio::sync::broadcast;

use crate::api::QueryParams;
use crate::auth::Caller;
use crate::client_ip::TrustedProxies;
use crate::device::store::{DeviceRecord, QrState};
use crate::device::{enrollment, network, push, qr_login, request_auth, resolve_user, username};
use crate::error::{Error, Result};
use crate::AppState;

/// Longest long-poll, seconds.
pub const MAX_WAIT: u64 = 30;
/// The browser cookie holding the QR-login device-session secret.
pub const DSI_COOKIE: &str = "tessera_qr_dsi";

/// The device factor's routes, merged into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/device/v1/enroll/offers", post(create_offer))
        .route("/device/v1/enroll/begin", post(enroll_begin))
        .route("/device/v1/enroll/finish", post(enroll_finish))
        .route(
            "/device/v1/device",
            get(device_self).delete(device_remove_self),
        )
        .route("/device/v1/events", get(events))
        .route("/device/v1/challenges", get(challenges))
        .route("/device/v1/challenges/{tx}/answer", post(answer))
        .route("/device/v1/qr-login/{lsi}", get(qr_details))
        .route("/device/v1/qr-login/{lsi}/answer", post(qr_answer))
        .route("/api/v1/push", post(push_create))
        .route("/api/v1/push/{tx}", get(push_status))
        .route("/api/v1/users/{user}/devices", get(user_devices))
        .route("/api/v1/devices/{id}", delete(admin_remove_device))
        .route("/qr-login/sessions", post(qr_create))
        .route("/qr-login/sessions/{lsi}", get(qr_status))
        .route("/qr-login/sessions/{lsi}/redeem", post(qr_redeem))
}

/// Who is asking, as far as the request tells: IP and user agent.
#[derive(Debug, Clone)]
pub struct Requester {
    /// The socket peer, or the client a trusted proxy names ([`TrustedProxies`]).
    pub ip: String,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = parts
            .extensions
            .get::<TrustedProxies>()
            .cloned()
            .unwrap_or_default()
            .client(peer, &parts.headers);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Ok(Requester {
            ip: ip.map_or_else(|| "unknown".into(), |ip| ip.to_string()),
            user_agent,
        })
    }
}

impl Requester {
    /// A push / QR context from this requester.
    pub fn context(&self, application: &str, origin: &str) -> PushContext {
        PushContext {
            application: application.to_owned(),
            origin: origin.to_owned(),
            ip: self.ip.clone(),
            location: if self.ip.starts_with("127.") || self.ip == "::1" {
                "this computer".into()
            } else {
                String::new()
            },
            user_agent: self.user_agent.clone(),
            ..PushContext::default()
        }
    }
}

/// Authenticates a signed device request and records where it came from as the device's last
/// known address ([`crate::device::network`]).
async fn signed(
    state: &AppState,
    who: &Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<DeviceRecord> {
    let ip = network::parse_ip(&who.ip).map(|ip| ip.to_string());
    state
        .blocking(move |s| {
            let mut device = request_auth::authenticate(s, &method, &uri, &headers, &body)?;
            // A locked user's devices approve nothing (pushes, QR logins) until unlocked.
            crate::factors::ensure_not_blocked(s.store().as_ref(), &device.user_id)?;
            if let Some(ip) = ip {
                s.devices().set_last_ip(&device.id, &ip)?;
                device.last_ip = Some(ip);
            }
            Ok(device)
        })
        .await
}

/// A management token carrying `scope`, or the broader management scope that has always
/// covered it (`verify:otp` for `push:create`, `update:users` for `devices:manage`); the error
/// names `scope`.
fn require(caller: &Caller, scope: &'static str) -> Result<()> {
    let broader = match scope {
        "push:create" => "verify:otp",
        _ => "update:users",
    };
    caller
        .management(scope)
        .or_else(|e| caller.management(broader).map_err(|_| e))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::InvalidRequest(format!("body: {e}")))
}

/// A device as the APIs show it (the management list, the account center).
pub(crate) fn info(d: &DeviceRecord) -> DeviceInfo {
    DeviceInfo {
        device_id: d.id.clone(),
        user_id: d.user_id.clone(),
        name: d.name.clone(),
        platform: d.platform.clone(),
        algorithm: d.algorithm,
        user_verification: d.user_verification,
        created_at: d.created_at,
    }
}

#[derive(Debug, Deserialize)]
struct OfferRequest {
    user: String,
}

async fn create_offer(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<OfferRequest>,
) -> Result<Response> {
    require(&caller, "devices:manage")?;
    let offer = state
        .blocking(move |s| enrollment::create_offer(s, &req.user))
        .await?;
    Ok((StatusCode::CREATED, Json(offer)).into_response())
}

async fn enroll_begin(
    State(state): State<AppState>,
    Json(req): Json<EnrollBeginRequest>,
) -> Result<Response> {
    let r = state
        .blocking(move |s| enrollment::begin(s, &req.code))
        .await?;
    Ok(Json(r).into_response())
}

async fn enroll_finish(
    State(state): State<AppState>,
    who: Requester,
    Json(req): Json<EnrollFinishRequest>,
) -> Result<Response> {
    let r = state
        .blocking(move |s| enrollment::finish(s, &req, &who.ip))
        .await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn device_self(
    State(state): State<AppState>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let device = signed(&state, &who, method, uri, headers, body).await?;
    Ok(Json(info(&device)).into_response())
}

async fn device_remove_self(
    State(state): State<AppState>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let device = signed(&state, &who, method, uri, headers, body).await?;
    state
        .blocking(move |s| enrollment::remove(s, &device))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn challenge_event(c: &PushChallenge) -> Event {
    Event::default()
        .event("challenge")
        .id(c.transaction_id.clone())
        .json_data(c)
        .unwrap_or_else(|_| Event::default().event("resync").data("{}"))
}

/// How long a device waits before reconnecting after a `shutdown` event (another instance, or
/// this one restarted, is expected by then).
const SHUTDOWN_RETRY: Duration = Duration::from_secs(2);

async fn events(
    State(state): State<AppState>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let device = signed(&state, &who, method, uri, headers, body).await?;
    // Subscribe before reading what is pending, so nothing falls between the two.
    let rx = state.hub().subscribe(&device.user_id);
    let device_id = device.id.clone();
    let pending = state
        .blocking(move |s| push::pending_for(s, &device))
        .await?;
    let first = stream::iter(
        std::iter::once(Event::default().event("ready").data("{}"))
            .chain(pending.iter().map(challenge_event))
            .map(Ok)
            .collect::<Vec<_>>(),
    );
    // Each device gets the challenge with its own network comparison, signed for it; when the
    // server shuts down, the stream says when to come back and ends.
    let closed = Box::pin(state.hub().closed());
    let live = stream::unfold(Some((rx, closed)), move |st| {
        let (state, device_id) = (state.clone(), device_id.clone());
        async move {
            let (mut rx, mut closed) = st?;
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(p) => {
                        let event = match push::challenge_for(&state, &p, &device_id) {
                            Ok(c) => challenge_event(&c),
                            // Signing failed: the device reads the pending list instead.
                            Err(_) => Event::default().event("resync").data("{}"),
                        };
                        Some((Ok(event), Some((rx, closed))))
                    }
                    // Missed some: tell the device to poll `/device/v1/challenges`.
                    Err(broadcast::error::RecvError::Lagged(_)) => Some((
                        Ok(Event::default().event("resync").data("{}")),
                        Some((rx, closed)),
                    )),
                    Err(broadcast::error::RecvError::Closed) => None,
                },
                () = &mut closed => Some((
                    Ok(Event::default()
                        .event("shutdown")
                        .retry(SHUTDOWN_RETRY)
                        .data("{}")),
                    None,
                )),
            }
        }
    });
    Ok(Sse::new(first.chain(live)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn challenges(
    State(state): State<AppState>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let device = signed(&state, &who, method, uri, headers, body).await?;
    let list = state
        .blocking(move |s| push::pending_for(s, &device))
        .await?;
    Ok(Json(list).into_response())
}

async fn answer(
    State(state): State<AppState>,
    Path(tx): Path<String>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let req: PushAnswerRequest = json_body(&body)?;
    let device = signed(&state, &who, method, uri, headers, body).await?;
    let st = state
        .blocking(move |s| push::answer(s, &device, &tx, &req))
        .await?;
    Ok(Json(st).into_response())
}

async fn qr_details(
    State(state): State<AppState>,
    Path(lsi): Path<String>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let device = signed(&state, &who, method, uri, headers, body).await?;
    let d = state
        .blocking(move |s| qr_login::details(s, &device, &lsi))
        .await?;
    Ok(Json(d).into_response())
}

async fn qr_answer(
    State(state): State<AppState>,
    Path(lsi): Path<String>,
    who: Requester,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let req: QrLoginAnswerRequest = json_body(&body)?;
    let device = signed(&state, &who, method, uri, headers, body).await?;
    let st = state
        .blocking(move |s| qr_login::answer(s, &device, &lsi, &req))
        .await?;
    Ok(Json(serde_json::json!({ "state": st })).into_response())
}

async fn push_create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PushCreateRequest>,
) -> Result<Response> {
    require(&caller, "push:create")?;
    let created = state
        .blocking(move |s| {
            let user_id = resolve_user(s, &req.user)?.ok_or(Error::NotFound("user"))?;
            crate::factors::ensure_not_blocked(s.store().as_ref(), &user_id)?;
            push::create(s, &user_id, req.context, req.ttl)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `?wait=N`: long-poll up to N seconds (at most [`MAX_WAIT`]).
#[derive(Debug, Deserialize, Default)]
pub struct Wait {
    /// Seconds.
    #[serde(default)]
    pub wait: Option<u64>,
}

/// Longest wait between two reads of a long-polled state: a decision made on another instance
/// whose announcement was lost is seen within this.
const REREAD: Duration = Duration::from_secs(2);

/// Waits until `id` is announced as decided, or `deadline`, or [`REREAD`].
async fn wait_decided(
    rx: &mut broadcast::Receiver<Arc<str>>,
    id: &str,
    deadline: tokio::time::Instant,
) {
    let deadline = deadline.min(tokio::time::Instant::now() + REREAD);
    let _ = tokio::time::timeout_at(deadline, async {
        loop {
            match rx.recv().await {
                Ok(got) if &*got == id => return,
                Ok(_) => continue,
                // Lagged or closed: return and re-read the store.
                Err(_) => return,
            }
        }
    })
    .await;
}

/// A push's outcome, long-polling up to `wait` seconds while it is pending.
pub async fn push_outcome(state: &AppState, tx: String, wait: u64) -> Result<PushStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.min(MAX_WAIT));
    let mut rx = state.hub().decisions();
    loop {
        let id = tx.clone();
        let st = state.blocking(move |s| push::status(s, &id)).await?;
        if st.state != PushState::Pending || tokio::time::Instant::now() >= deadline {
            return Ok(st);
        }
        wait_decided(&mut rx, &tx, deadline).await;
    }
}

async fn push_status(
    State(state): State<AppState>,
    Path(tx): Path<String>,
    QueryParams(w): QueryParams<Wait>,
    caller: Caller,
) -> Result<Response> {
    require(&caller, "push:create")?;
    let st = push_outcome(&state, tx, w.wait.unwrap_or(0)).await?;
    Ok(Json(st).into_response())
}

async fn user_devices(
    State(state): State<AppState>,
    Path(user): Path<String>,
    caller: Caller,
) -> Result<Response> {
    require(&caller, "devices:manage")?;
    let list = state
        .blocking(move |s| {
            let user_id = resolve_user(s, &user)?.ok_or(Error::NotFound("user"))?;
            s.devices().devices_of(&user_id)
        })
        .await?;
    Ok(Json(list.iter().map(info).collect::<Vec<_>>()).into_response())
}

async fn admin_remove_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Response> {
    require(&caller, "devices:manage")?;
    state
        .blocking(move |s| {
            let d = s.devices().device(&id)?.ok_or(Error::NotFound("device"))?;
            enrollment::remove(s, &d)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, `Secure` on https origins.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> Result<HeaderValue> {
    let secure = if state.device_config().origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(|_| Error::Internal("cookie value".into()))
}

async fn qr_create(State(state): State<AppState>, who: Requester) -> Result<Response> {
    let origin = state.device_config().origin.clone();
    let ctx = who.context("QR login", &origin);
    let session = state.blocking(move |s| qr_login::create(s, ctx)).await?;
    let cookie = set_cookie(
        &state,
        DSI_COOKIE,
        &session.dsi,
        state.device_config().qr_ttl,
    )?;
    let mut resp = (StatusCode::CREATED, Json(&session)).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// A QR session's state for the browser holding `dsi`, long-polling up to `wait` seconds.
pub async fn qr_outcome(
    state: &AppState,
    lsi: String,
    dsi: Option<String>,
    wait: u64,
) -> Result<QrState> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.min(MAX_WAIT));
    let mut rx = state.hub().decisions();
    loop {
        let (l, d) = (lsi.clone(), dsi.clone());
        let st = state
            .blocking(move |s| qr_login::status(s, &l, d.as_deref()))
            .await?;
        if st != QrState::Pending || tokio::time::Instant::now() >= deadline {
            return Ok(st);
        }
        wait_decided(&mut rx, &lsi, deadline).await;
    }
}

async fn qr_status(
    State(state): State<AppState>,
    Path(lsi): Path<String>,
    QueryParams(w): QueryParams<Wait>,
    headers: HeaderMap,
) -> Result<Response> {
    let dsi = cookie(&headers, DSI_COOKIE).map(str::to_owned);
    let st = qr_outcome(&state, lsi, dsi, w.wait.unwrap_or(0)).await?;
    Ok(Json(serde_json::json!({ "state": st })).into_response())
}

async fn qr_redeem(
    State(state): State<AppState>,
    Path(lsi): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let dsi = cookie(&headers, DSI_COOKIE).map(str::to_owned);
    let (user_id, username) = state
        .blocking(move |s| {
            let user_id = qr_login::redeem(s, &lsi, dsi.as_deref())?;
            crate::factors::ensure_not_blocked(s.store().as_ref(), &user_id)?;
            let username = username(s, &user_id)?;
            Ok((user_id, username))
        })
        .await?;
    Ok(Json(serde_json::json!({ "user_id": user_id, "username": username })).into_response())
}
