//! `/api/v2/organizations`: organizations and their MFA requirement (LG-5).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::Organization;
use crate::AppState;

/// Body of `POST /api/v2/organizations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    name: String,
    #[serde(default)]
    require_mfa: bool,
}

/// Body of `PATCH /api/v2/organizations/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    require_mfa: Option<bool>,
}

fn check_name(n: &str) -> Result<()> {
    if n.is_empty() || n.chars().count() > 128 || n.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "`name` must be 1–128 printable characters".into(),
        ));
    }
    Ok(())
}

/// `POST /api/v2/organizations` (create:organizations) → 201.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateOrg>,
) -> Result<(StatusCode, Json<Organization>)> {
    caller.management("create:organizations")?;
    check_name(&body.name)?;
    let org = state
        .db(move |s| s.create_org(&body.name, body.require_mfa))
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// `GET /api/v2/organizations` (read:organizations).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Organization>>> {
    caller.management("read:organizations")?;
    Ok(Json(state.db(|s| s.list_orgs()).await?))
}

/// `PATCH /api/v2/organizations/{id}` (update:organizations).
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateOrg>,
) -> Result<Json<Organization>> {
    caller.management("update:organizations")?;
    if let Some(n) = &body.name {
        check_name(n)?;
    }
    let org = state
        .db(move |s| s.update_org(&id, body.name, body.require_mfa))
        .await?;
    org.map(Json).ok_or(Error::NotFound("organization"))
}
