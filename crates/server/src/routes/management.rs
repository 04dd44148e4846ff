//! The management API (admin tokens with management scopes).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Principal, MANAGEMENT_SCOPES};
use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::service;
use crate::store::UserRow;
use crate::AppState;

use super::Body;

const MAX_FIELD: usize = 256;

fn check_field(name: &str, value: &str) -> ApiResult<()> {
    if value.len() > MAX_FIELD || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "`{name}` must be at most {MAX_FIELD} bytes without control characters"
        )));
    }
    Ok(())
}

fn check_password(p: &str) -> ApiResult<()> {
    let n = p.chars().count();
    if !(8..=256).contains(&n) {
        return Err(ApiError::bad_request(
            "`password` must be 8–256 characters (NIST SP 800-63B)",
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    password: String,
    email: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    organizations: Vec<String>,
}

/// `POST /api/v2/users` (`write:users`).
pub async fn create_user(
    State(state): State<AppState>,
    who: Principal,
    Body(body): Body<NewUser>,
) -> ApiResult<(StatusCode, Json<UserRow>)> {
    who.require_admin("write:users")?;
    let username = body.username.trim().to_owned();
    if username.is_empty() {
        return Err(ApiError::bad_request("`username` is empty"));
    }
    check_field("username", &username)?;
    for (n, v) in [("email", &body.email), ("phone", &body.phone)] {
        if let Some(v) = v {
            check_field(n, v)?;
        }
    }
    for o in &body.organizations {
        check_field("organizations", o)?;
    }
    check_password(&body.password)?;
    let user = state
        .db(move |s| {
            let hash = crypto::hash_password(&body.password).map_err(ApiError::internal)?;
            let user = UserRow {
                id: crypto::new_id("usr_"),
                username,
                email: body.email,
                phone: body.phone,
                password_hash: hash,
                organizations: body.organizations,
                mfa_prompt_skipped: false,
                created_at: s.now(),
            };
            s.store().create_user(&user)?;
            s.store()
                .audit(s.now(), "user_create", Some(&user.id), json!({}))?;
            Ok(user)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Deserialize)]
pub struct Page {
    page: Option<u64>,
    per_page: Option<u64>,
    user_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl Page {
    fn bounds(&self) -> ApiResult<(u64, u64, u64)> {
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=100).contains(&per_page) {
            return Err(ApiError::bad_request("`per_page` must be 1–100"));
        }
        let page = self.page.unwrap_or(0);
        let offset = page
            .checked_mul(per_page)
            .ok_or_else(|| ApiError::bad_request("`page` is too large"))?;
        Ok((page, per_page, offset))
    }
}

/// `GET /api/v2/users?page=&per_page=` (`read:users`).
pub async fn list_users(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<Page>,
) -> ApiResult<Json<Value>> {
    who.require_admin("read:users")?;
    let (page, per_page, offset) = q.bounds()?;
    let (users, total) = state
        .db(move |s| Ok(s.store().list_users(offset, per_page)?))
        .await?;
    Ok(Json(
        json!({"users": users, "total": total, "page": page, "per_page": per_page}),
    ))
}

/// `GET /api/v2/users/{id}` (`read:users`).
pub async fn get_user(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<UserRow>> {
    who.require_admin("read:users")?;
    Ok(Json(state.db(move |s| Ok(s.store().get_user(&id)?)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    username: Option<String>,
    password: Option<String>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    organizations: Option<Vec<String>>,
}

/// `PATCH /api/v2/users/{id}` (`write:users`).
pub async fn update_user(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Body(patch): Body<UserPatch>,
) -> ApiResult<Json<UserRow>> {
    who.require_admin("write:users")?;
    if let Some(u) = &patch.username {
        check_field("username", u)?;
        if u.trim().is_empty() {
            return Err(ApiError::bad_request("`username` is empty"));
        }
    }
    if let Some(p) = &patch.password {
        check_password(p)?;
    }
    Ok(Json(
        state
            .db(move |s| {
                let mut user = s.store().get_user(&id)?;
                if let Some(u) = patch.username {
                    user.username = u.trim().to_owned();
                }
                if let Some(p) = patch.password {
                    user.password_hash = crypto::hash_password(&p).map_err(ApiError::internal)?;
                }
                if let Some(e) = patch.email {
                    user.email = e;
                }
                if let Some(p) = patch.phone {
                    user.phone = p;
                }
                if let Some(o) = patch.organizations {
                    user.organizations = o;
                }
                s.store().update_user(&user)?;
                s.store()
                    .audit(s.now(), "user_update", Some(&user.id), json!({}))?;
                Ok(user)
            })
            .await?,
    ))
}

/// `DELETE /api/v2/users/{id}` (`write:users`).
pub async fn delete_user(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin("write:users")?;
    state
        .db(move |s| {
            s.store().delete_user(&id)?;
            s.store()
                .audit(s.now(), "user_delete", Some(&id), json!({}))?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v2/users/{id}/authenticators` (`read:users`) — LG-10.
pub async fn user_authenticators(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    who.require_admin("read:users")?;
    Ok(Json(
        state
            .db(move |s| {
                s.store().get_user(&id)?;
                service::list_authenticators(s, &id)
            })
            .await?,
    ))
}

/// `POST /api/v2/users/{id}/authenticators` (`manage:mfa`): enroll TOTP for a user
/// (an administrator hands the QR to the user; it stays inactive until a first code).
pub async fn enroll_for_user(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<service::Enrollment>)> {
    who.require_admin("manage:mfa")?;
    let e = state
        .db(move |s| {
            let user = s.store().get_user(&id)?;
            service::enroll_otp(s, &user)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// `DELETE /api/v2/users/{id}/authenticators` (`manage:mfa`): remove all MFA — LG-10.
pub async fn remove_all_mfa(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin("manage:mfa")?;
    state
        .db(move |s| {
            s.store().get_user(&id)?;
            s.store().delete_all_mfa(&id)?;
            s.store()
                .audit(s.now(), "delete_all_mfa", Some(&id), json!({}))?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v2/users/{id}/authenticators/{aid}` (`manage:mfa`).
pub async fn remove_user_authenticator(
    State(state): State<AppState>,
    who: Principal,
    Path((id, aid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    who.require_admin("manage:mfa")?;
    state
        .db(move |s| service::delete_authenticator(s, &id, &aid))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/users/{id}/recovery-code-regeneration` (`manage:mfa`) — A0-6.
pub async fn regenerate_recovery(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.require_admin("manage:mfa")?;
    let codes = state
        .db(move |s| {
            s.store().get_user(&id)?;
            service::regenerate_recovery_codes(s, &id, true)
        })
        .await?;
    Ok(Json(
        json!({"recovery_code": codes.first(), "recovery_codes": codes}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct Otp {
    otp: String,
}

/// `POST /api/v2/users/{id}/otp-verification` (`verify:otp`): a relying party that does its
/// own first factor checks a TOTP code (one-time use, lockout as everywhere).
pub async fn verify_otp(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<Otp>,
) -> ApiResult<Json<Value>> {
    who.require_admin("verify:otp")?;
    let aid = state
        .db(move |s| {
            s.store().get_user(&id)?;
            service::verify_otp(s, &id, &body.otp)
        })
        .await?;
    Ok(Json(json!({"verified": true, "authenticator_id": aid})))
}

/// `DELETE /api/v2/users/{id}/mfa-prompt-skipped` (`write:users`): show the MFA prompt
/// again (LG-4).
pub async fn reset_skip(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin("write:users")?;
    state
        .db(move |s| super::me::set_skip(s, &id, false))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v2/users/{id}/lockout` (`manage:mfa`): reset failure counts.
pub async fn reset_lockout(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin("manage:mfa")?;
    state
        .db(move |s| {
            s.store().get_user(&id)?;
            s.store().reset_failures(&id)?;
            s.store()
                .audit(s.now(), "lockout_reset", Some(&id), json!({}))?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v2/organizations` (`read:users`).
pub async fn list_organizations(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Value>> {
    who.require_admin("read:users")?;
    let orgs = state.db(|s| Ok(s.store().organizations()?)).await?;
    Ok(Json(Value::Array(
        orgs.into_iter()
            .map(|(name, require_mfa)| json!({"name": name, "require_mfa": require_mfa}))
            .collect(),
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Org {
    require_mfa: bool,
}

/// `PUT /api/v2/organizations/{name}` (`write:users`) — LG-5.
pub async fn put_organization(
    State(state): State<AppState>,
    who: Principal,
    Path(name): Path<String>,
    Body(body): Body<Org>,
) -> ApiResult<Json<Value>> {
    who.require_admin("write:users")?;
    check_field("name", &name)?;
    let n = name.clone();
    state
        .db(move |s| {
            s.store().put_organization(&n, body.require_mfa)?;
            s.store().audit(
                s.now(),
                "organization_update",
                None,
                json!({"name": n, "require_mfa": body.require_mfa}),
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(json!({"name": name, "require_mfa": body.require_mfa})))
}

/// `GET /api/v2/logs?user_id=&type=&page=&per_page=` (`read:logs`).
pub async fn logs(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<Page>,
) -> ApiResult<Json<Value>> {
    who.require_admin("read:logs")?;
    let (page, per_page, offset) = q.bounds()?;
    let (events, total) = state
        .db(move |s| {
            Ok(s.store()
                .audit_log(q.user_id.as_deref(), q.kind.as_deref(), offset, per_page)?)
        })
        .await?;
    Ok(Json(
        json!({"logs": events, "total": total, "page": page, "per_page": per_page}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    scopes: Vec<String>,
}

/// `POST /api/v2/tokens` (`manage:tokens`): a new admin token with the given scopes.
pub async fn create_token(
    State(state): State<AppState>,
    who: Principal,
    Body(body): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin("manage:tokens")?;
    if body.scopes.is_empty() {
        return Err(ApiError::bad_request("`scopes` is empty"));
    }
    if let Some(bad) = body
        .scopes
        .iter()
        .find(|s| !MANAGEMENT_SCOPES.contains(&s.as_str()))
    {
        return Err(ApiError::bad_request(format!("unknown scope `{bad}`")));
    }
    let scopes = body.scopes.clone();
    let token = state
        .db(move |s| Ok(s.create_admin_token(&scopes)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"token": token, "scopes": body.scopes})),
    ))
}

/// `GET /api/v2/tokens` (`manage:tokens`): admin tokens (ids and scopes, never the tokens).
pub async fn list_tokens(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require_admin("manage:tokens")?;
    let rows = state.db(|s| Ok(s.store().admin_tokens()?)).await?;
    Ok(Json(Value::Array(
        rows.into_iter()
            .map(|t| json!({"id": t.id, "scopes": t.scopes, "created_at": t.created_at, "revoked": t.revoked}))
            .collect(),
    )))
}

/// `DELETE /api/v2/tokens/{id}` (`manage:tokens`): revoked at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin("manage:tokens")?;
    state
        .db(move |s| {
            s.store().revoke_token(&id)?;
            s.store()
                .audit(s.now(), "token_revoke", None, json!({"token_id": id}))?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
