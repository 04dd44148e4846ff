//! `/api/v2/applications`: applications that sign their users in through Tessera (OpenID
//! Connect clients), and their secrets (shown once, stored as SHA-256).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::Caller;
use crate::crypto::{random_bytes, random_id, sha256};
use crate::error::{Error, Result};
use crate::model::{Application, ApplicationPatch, ClientKind};
use crate::AppState;

/// Most redirect URIs per application.
pub const MAX_REDIRECT_URIS: usize = 10;

/// Body of `POST /api/v2/applications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    name: String,
    #[serde(rename = "type")]
    kind: ClientKind,
    redirect_uris: Vec<String>,
}

/// Body of `PATCH /api/v2/applications/{client_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateApplication {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
}

/// An application with its new secret (confidential applications; shown this once).
#[derive(Debug, Serialize)]
pub struct WithSecret {
    /// The application.
    #[serde(flatten)]
    pub application: Application,
    /// The client secret, absent for a public application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

fn check_name(n: &str) -> Result<()> {
    if n.trim().is_empty() || n.chars().count() > 128 || n.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "`name` must be 1–128 printable characters".into(),
        ));
    }
    Ok(())
}

/// Redirect URIs are matched exactly at sign-in, so they are checked here: 1–10 absolute URIs
/// without a fragment, `https`, or `http` on a loopback host (a native app's local listener,
/// RFC 8252 §7.3).
fn check_redirect_uris(uris: &[String]) -> Result<()> {
    if uris.is_empty() || uris.len() > MAX_REDIRECT_URIS {
        return Err(Error::InvalidRequest(format!(
            "`redirect_uris`: 1–{MAX_REDIRECT_URIS} URIs"
        )));
    }
    for (i, u) in uris.iter().enumerate() {
        let bad = |why: &str| Error::InvalidRequest(format!("`redirect_uris[{i}]`: {why}"));
        if u.len() > 2000 || u.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("at most 2000 characters, no spaces"));
        }
        if u.contains('#') {
            return Err(bad("a redirect URI has no fragment"));
        }
        let parsed: axum::http::Uri = u.parse().map_err(|_| bad("not an absolute URI"))?;
        let host = parsed.host().unwrap_or_default();
        match parsed.scheme_str() {
            Some("https") if !host.is_empty() => {}
            Some("http") if matches!(host, "127.0.0.1" | "[::1]" | "localhost") => {}
            Some("http") => return Err(bad("`http` only on a loopback host; use `https`")),
            _ => return Err(bad("an absolute `https` URI")),
        }
    }
    Ok(())
}

fn new_secret() -> Result<(String, [u8; 32])> {
    let secret = format!(
        "tsc_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    );
    let hash = sha256(secret.as_bytes());
    Ok((secret, hash))
}

/// `POST /api/v2/applications` (manage:applications) → 201 with the secret of a confidential
/// application.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateApplication>,
) -> Result<(StatusCode, Json<WithSecret>)> {
    caller.management("manage:applications")?;
    check_name(&body.name)?;
    check_redirect_uris(&body.redirect_uris)?;
    let now = state.now();
    let app = Application {
        client_id: random_id("app_")?,
        name: body.name.trim().to_owned(),
        kind: body.kind,
        redirect_uris: body.redirect_uris,
        created_at: now,
        updated_at: now,
    };
    let (secret, hash) = match app.kind {
        ClientKind::Confidential => {
            let (s, h) = new_secret()?;
            (Some(s), Some(h))
        }
        ClientKind::Public => (None, None),
    };
    let stored = app.clone();
    state
        .db(move |s| s.create_application(stored, hash))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WithSecret {
            application: app,
            client_secret: secret,
        }),
    ))
}

/// `GET /api/v2/applications` (read:applications).
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Application>>> {
    caller.management("read:applications")?;
    Ok(Json(state.db(|s| s.applications()).await?))
}

/// `GET /api/v2/applications/{client_id}` (read:applications).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Application>> {
    caller.management("read:applications")?;
    state
        .db(move |s| s.application(&id))
        .await?
        .map(Json)
        .ok_or(Error::NotFound("application"))
}

/// `PATCH /api/v2/applications/{client_id}` (manage:applications).
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateApplication>,
) -> Result<Json<Application>> {
    caller.management("manage:applications")?;
    if let Some(n) = &body.name {
        check_name(n)?;
    }
    if let Some(u) = &body.redirect_uris {
        check_redirect_uris(u)?;
    }
    let patch = ApplicationPatch {
        name: body.name.map(|n| n.trim().to_owned()),
        redirect_uris: body.redirect_uris,
        secret_hash: None,
    };
    let now = state.now();
    state
        .db(move |s| s.update_application(&id, patch, now))
        .await?
        .map(Json)
        .ok_or(Error::NotFound("application"))
}

/// `POST /api/v2/applications/{client_id}/secret-rotation` (manage:applications): a new secret,
/// shown once; the old one stops working at once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WithSecret>> {
    caller.management("manage:applications")?;
    let (secret, hash) = new_secret()?;
    let patch = ApplicationPatch {
        secret_hash: Some(hash),
        ..ApplicationPatch::default()
    };
    let now = state.now();
    let app = state
        .db(move |s| s.update_application(&id, patch, now))
        .await?
        .ok_or(Error::NotFound("application"))?;
    Ok(Json(WithSecret {
        application: app,
        client_secret: Some(secret),
    }))
}

/// `DELETE /api/v2/applications/{client_id}` (manage:applications) → 204.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.management("manage:applications")?;
    let now = state.now();
    if state.db(move |s| s.delete_application(&id, now)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("application"))
    }
}
