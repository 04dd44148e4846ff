//! The console's own routes: who is signed in (and the CSRF token), and two management routes
//! the management API lacked — send a user a password-reset link, list the groups in use.
//! Everything else the console does goes to the management API itself ([`super`]).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::{gate, refusal, Gate};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::oob::messages::Purpose;
use crate::oob::{self, Channel};
use crate::AppState;

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/session", get(session))
        .route("/api/v2/users/{id}/password-reset", post(password_reset))
        .route("/api/v2/groups", get(groups))
}

/// `GET /admin/api/session`.
#[derive(Debug, Serialize)]
pub struct ConsoleSession {
    /// The administrator.
    pub user_id: String,
    /// Their user name.
    pub username: String,
    /// The administrators' group.
    pub admin_group: String,
    /// The token to send in `X-CSRF-Token` with every change.
    pub csrf_token: String,
    /// Unix seconds when the session ends.
    pub expires_at: u64,
    /// Every management scope: what the console may do (and what a token it creates may get).
    pub scopes: Vec<&'static str>,
}

/// `GET /admin/api/session`: the signed-in administrator and the session's CSRF token.
async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ConsoleSession>> {
    let g = state.blocking(move |s| gate(s, &headers)).await?;
    if let Some(e) = refusal(&g) {
        return Err(e);
    }
    let Gate::Admin(c) = g else {
        return Err(Error::Unauthorized);
    };
    Ok(Json(ConsoleSession {
        user_id: c.user.user_id,
        username: c.user.username,
        admin_group: state.config().console.admin_group.clone(),
        csrf_token: c.csrf,
        expires_at: c.session.expires_at,
        scopes: crate::auth::MANAGEMENT_SCOPES.to_vec(),
    }))
}

/// The answer of a password-reset request.
#[derive(Debug, Serialize)]
pub struct ResetSent {
    /// Always true (a user without an email address answers 409).
    pub sent: bool,
}

/// `POST /api/v2/users/{id}/password-reset` (update:users) → 202: mails the user a code and a
/// link that set a new password (the self-service reset's mail, EM-5). Audited
/// (`password.reset_sent`, with the caller's name). 409 when the user has no email address
/// that receives codes; 400 when email is not configured.
async fn password_reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ResetSent>)> {
    caller.management("update:users")?;
    if !state.config().email.enabled() {
        return Err(Error::InvalidRequest(
            "email is not configured on this server".into(),
        ));
    }
    let user = crate::factors::user(&state, &id).await?;
    let uid = user.user_id.clone();
    let (list, pref) = state
        .db(move |s| Ok((s.list_authenticators(&uid)?, s.notification_pref(&uid)?)))
        .await?;
    // In the language of the user's notices.
    let locale = crate::oob::notify::effective(&state, pref.as_deref()).locale;
    let Some(authenticator) = oob::authenticator_for(&list, Channel::Email).cloned() else {
        return Err(Error::Conflict(
            "this user has no email address that receives codes".into(),
        ));
    };
    let uid = user.user_id.clone();
    oob::send_code(
        &state,
        oob::SendRequest {
            user,
            authenticator,
            channel: Channel::Email,
            purpose: Purpose::Reset,
            flow_id: Some(crate::crypto::random_id("rcv_")?),
            locale,
        },
    )
    .await?;
    let now = state.now();
    let who = caller.0.name.clone();
    state
        .db(move |s| s.audit(Some(&uid), "password.reset_sent", None, &who, now))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ResetSent { sent: true })))
}

/// A group in use and how many users are in it.
#[derive(Debug, Serialize)]
pub struct Group {
    /// The name.
    pub name: String,
    /// Users in it.
    pub members: u64,
}

/// `GET /api/v2/groups` (read:users): every group some user is in, by name, with its size.
async fn groups(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Group>>> {
    caller.management("read:users")?;
    let counts = state
        .blocking(|s| {
            let mut counts = std::collections::BTreeMap::<String, u64>::new();
            let mut page = 1;
            loop {
                let (users, total) = s.store().list_users(page, 100)?;
                for u in &users {
                    for g in &u.groups {
                        *counts.entry(g.clone()).or_default() += 1;
                    }
                }
                if users.is_empty() || u64::from(page) * 100 >= total {
                    break;
                }
                page += 1;
            }
            Ok(counts)
        })
        .await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(name, members)| Group { name, members })
            .collect(),
    ))
}
