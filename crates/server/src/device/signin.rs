//! A sample relying party served by the server at `/signin`: username and password, then a
//! push with the number shown (or a TOTP / recovery code), or QR login; then the outcome.
//!
//! Server-rendered HTML with a little vanilla JavaScript; the sign-in state lives in a
//! server-side session named by an HttpOnly cookie (`tessera_signin`).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tessera_core::device::wire::PushState;

use crate::api::QueryParams;
use crate::device::http::{cookie, push_outcome, set_cookie, Requester, Wait};
use crate::device::{push, random_token};
use crate::error::{Error, Result};
use crate::AppState;

/// The sign-in session cookie.
pub const SIGNIN_COOKIE: &str = "tessera_signin";
/// How long a half-finished sign-in lives, seconds.
const SESSION_TTL: u64 = 600;
/// Sessions kept at most (oldest dropped first).
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
struct Session {
    user_id: String,
    username: String,
    created_at: u64,
    push: Option<String>,
    done: Option<&'static str>,
}

/// Server-side sign-in sessions, by the SHA-256 of their cookie.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<[u8; 32], Session>>);

fn key(sid: &str) -> [u8; 32] {
    tessera_core::device::message::sha256(sid.as_bytes())
}

impl Sessions {
    fn insert(&self, sid: &str, s: Session, now: u64) -> Result<()> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| Error::Internal("sessions".into()))?;
        map.retain(|_, v| v.created_at.saturating_add(SESSION_TTL) > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, v)| v.created_at)
                .map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(key(sid), s);
        Ok(())
    }

    fn with<R>(&self, sid: Option<&str>, now: u64, f: impl FnOnce(&mut Session) -> R) -> Result<R> {
        let sid = sid.ok_or(Error::BadCredentials)?;
        let mut map = self
            .0
            .lock()
            .map_err(|_| Error::Internal("sessions".into()))?;
        match map.get_mut(&key(sid)) {
            Some(s) if s.created_at.saturating_add(SESSION_TTL) > now => Ok(f(s)),
            _ => Err(Error::BadCredentials),
        }
    }
}

/// The sign-in page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin", get(page))
        .route("/signin/api/password", post(password))
        .route("/signin/api/push", post(start_push).get(push_state))
        .route("/signin/api/code", post(code))
}

async fn page() -> Response {
    let mut resp = Html(PAGE).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
        ),
    );
    resp
}

#[derive(Deserialize)]
struct PasswordReq {
    username: String,
    password: String,
}

async fn password(State(state): State<AppState>, Json(req): Json<PasswordReq>) -> Result<Response> {
    let username = req.username.clone();
    // The password grant's own check: failure counting, delays and lockout included.
    let password = zeroize::Zeroizing::new(req.password);
    let user_id = crate::factors::check_password(&state, &req.username, password)
        .await?
        // The same answer for an unknown user and a wrong password.
        .ok_or(Error::BadCredentials)?
        .user_id;
    let sid = random_token(32)?;
    let now = state.now();
    state.signin().insert(
        &sid,
        Session {
            user_id,
            username: username.clone(),
            created_at: now,
            push: None,
            done: None,
        },
        now,
    )?;
    let mut resp = Json(serde_json::json!({ "username": username })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&state, SIGNIN_COOKIE, &sid, SESSION_TTL)?,
    );
    Ok(resp)
}

fn sid(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SIGNIN_COOKIE).map(str::to_owned)
}

async fn start_push(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Requester,
) -> Result<Response> {
    let sid = sid(&headers);
    let now = state.now();
    let user_id = state
        .signin()
        .with(sid.as_deref(), now, |s| s.user_id.clone())?;
    let cfg = state.device_config();
    let ctx = who.context(&cfg.signin_application, &cfg.origin);
    let created = state
        .blocking(move |s| push::create(s, &user_id, ctx, None))
        .await?;
    let tx = created.transaction_id.clone();
    state
        .signin()
        .with(sid.as_deref(), now, |s| s.push = Some(tx))?;
    Ok(
        Json(serde_json::json!({ "number": created.number, "expires_at": created.expires_at }))
            .into_response(),
    )
}

async fn push_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(w): QueryParams<Wait>,
) -> Result<Response> {
    let sid = sid(&headers);
    let tx = state
        .signin()
        .with(sid.as_deref(), state.now(), |s| s.push.clone())?
        .ok_or(Error::NotFound("push"))?;
    let st = push_outcome(&state, tx, w.wait.unwrap_or(0)).await?;
    let username = state.signin().with(sid.as_deref(), state.now(), |s| {
        if st.state == PushState::Approved {
            s.done = Some("push");
        }
        s.username.clone()
    })?;
    Ok(
        Json(serde_json::json!({ "state": st.state, "reason": st.reason, "username": username }))
            .into_response(),
    )
}

#[derive(Deserialize)]
struct CodeReq {
    code: String,
}

async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<CodeReq>,
) -> Result<Response> {
    let sid = sid(&headers);
    let now = state.now();
    let (user_id, username) = state.signin().with(sid.as_deref(), now, |s| {
        (s.user_id.clone(), s.username.clone())
    })?;
    let code = zeroize::Zeroizing::new(req.code.trim().to_owned());
    // A TOTP code or a recovery code (with or without its dashes), checked once, so one
    // wrong attempt counts one failure.
    let code_ok = code.len() <= 64 && crate::factors::check_code(&state, &user_id, &code).await?;
    if !code_ok {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": "invalid_code", "error_description": "wrong code" })),
        )
            .into_response());
    }
    state
        .signin()
        .with(sid.as_deref(), now, |s| s.done = Some("code"))?;
    Ok(Json(serde_json::json!({ "state": "approved", "username": username })).into_response())
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — Tessera sample</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }
  main { max-width: 380px; margin: 48px auto; background: #fff; border-radius: 12px; padding: 28px;
         box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  h1 { font-size: 1.3rem; margin-top: 0; }
  label { display: block; margin: 12px 0 4px; font-size: .9rem; }
  input { width: 100%; box-sizing: border-box; padding: 9px; font-size: 1rem; border: 1px solid #bbb; border-radius: 6px; }
  button { margin-top: 14px; padding: 9px 14px; font-size: 1rem; border-radius: 6px; border: 0; background: #2b59c3; color: #fff; cursor: pointer; }
  button.link { background: none; color: #2b59c3; padding: 4px 0; }
  .number { font-size: 3rem; font-weight: 700; letter-spacing: .1em; text-align: center; margin: 12px 0; }
  .muted { color: #666; font-size: .9rem; }
  .error { color: #b00020; }
  .ok { color: #1b7f3b; font-weight: 600; }
  [hidden] { display: none !important; }
  #qr svg { width: 240px; height: 240px; display: block; margin: 8px auto; }
</style>
</head>
<body>
<main>
  <h1>Sign in</h1>
  <section id="step-password">
    <form id="password-form">
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" required>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button id="signin-btn" type="submit">Continue</button>
    </form>
    <p class="muted">or <button class="link" id="qr-btn" type="button">sign in with a QR code</button></p>
  </section>
  <section id="step-push" hidden>
    <p>We sent a request to your Tessera app. Enter this number there:</p>
    <div class="number" id="number"></div>
    <p class="muted" id="push-status">Waiting for your approval…</p>
    <p class="muted"><button class="link" id="use-code" type="button">Use a TOTP or recovery code instead</button></p>
  </section>
  <section id="step-code" hidden>
    <form id="code-form">
      <label for="code">Code from your authenticator, or a recovery code</label>
      <input id="code" name="code" autocomplete="one-time-code" required>
      <button id="code-btn" type="submit">Verify</button>
    </form>
  </section>
  <section id="step-qr" hidden>
    <p>Scan this code with the Tessera app:</p>
    <div id="qr"></div>
    <p class="muted" id="qr-status">Waiting for your approval…</p>
  </section>
  <p id="error" class="error" role="alert"></p>
  <p id="outcome" class="ok" hidden></p>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function show(step) {
  for (const s of ["password", "push", "code", "qr"]) $("step-" + s).hidden = s !== step;
}
function error(text) { $("error").textContent = text || ""; }
function done(text) { show(null); error(""); $("outcome").textContent = text; $("outcome").hidden = false; }
async function call(method, url, body) {
  const r = await fetch(url, { method, credentials: "same-origin",
    headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
  let data = {};
  try { data = await r.json(); } catch (_) {}
  if (!r.ok) throw new Error(data.error_description || ("HTTP " + r.status));
  return data;
}
$("password-form").addEventListener("submit", async (e) => {
  e.preventDefault(); error("");
  try {
    await call("POST", "/signin/api/password", { username: $("username").value, password: $("password").value });
    await startPush();
  } catch (err) { error(err.message); }
});
async function startPush() {
  try {
    const p = await call("POST", "/signin/api/push");
    $("number").textContent = String(p.number);
    show("push");
    for (;;) {
      const s = await call("GET", "/signin/api/push?wait=25");
      if (s.state === "approved") return done("Signed in as " + s.username + " (push approved).");
      if (s.state !== "pending") { $("push-status").textContent = "Sign-in " + s.state + (s.reason ? " (" + s.reason.replace("_", " ") + ")" : "") + "."; return; }
    }
  } catch (err) { show("code"); error(err.message + " — use a code instead."); }
}
$("use-code").addEventListener("click", () => { show("code"); });
$("code-form").addEventListener("submit", async (e) => {
  e.preventDefault(); error("");
  try {
    const r = await call("POST", "/signin/api/code", { code: $("code").value });
    done("Signed in as " + r.username + " (code).");
  } catch (err) { error(err.message); }
});
$("qr-btn").addEventListener("click", async () => {
  error("");
  try {
    const s = await call("POST", "/qr-login/sessions");
    $("qr").innerHTML = s.qr_svg;
    $("qr").dataset.link = s.link;
    show("qr");
    for (;;) {
      const st = await call("GET", "/qr-login/sessions/" + encodeURIComponent(s.lsi) + "?wait=25");
      if (st.state === "approved") {
        const r = await call("POST", "/qr-login/sessions/" + encodeURIComponent(s.lsi) + "/redeem");
        return done("Signed in as " + (r.username || r.user_id) + " (QR login).");
      }
      if (st.state !== "pending") { $("qr-status").textContent = "QR login " + st.state + "."; return; }
    }
  } catch (err) { error(err.message); }
});
</script>
</body>
</html>
"##;
