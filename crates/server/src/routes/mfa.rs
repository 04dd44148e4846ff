//! Auth0's MFA API: `/mfa/authenticators`, `/mfa/associate`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service;
use crate::AppState;

/// `GET /mfa/authenticators` — an `mfa_token` or an access token with `read:authenticators`.
pub async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Vec<Value>>> {
    let user = who.require_user("read:authenticators")?;
    Ok(Json(
        state
            .db(move |s| service::list_authenticators(s, &user))
            .await?,
    ))
}

/// `DELETE /mfa/authenticators/{id}` — an access token with `remove:authenticators`
/// (obtained by completing MFA); an `mfa_token` never can (A0-2, A0-5).
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if who.kind != crate::auth::Kind::Access {
        return Err(ApiError::missing_scope("remove:authenticators"));
    }
    let user = who.require_user("remove:authenticators")?;
    state
        .db(move |s| service::delete_authenticator(s, &user, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct Associate {
    authenticator_types: Vec<String>,
}

/// `POST /mfa/associate` — `{"authenticator_types": ["otp"]}`; an `mfa_token` or an access
/// token with `enroll`.
pub async fn associate(
    State(state): State<AppState>,
    who: Principal,
    super::Body(body): super::Body<Associate>,
) -> ApiResult<Json<service::Enrollment>> {
    let user = who.require_user("enroll")?;
    if body.authenticator_types.iter().any(|t| t != "otp") || body.authenticator_types.is_empty() {
        return Err(ApiError::bad_request(
            "authenticator_types must be [\"otp\"] (push enrollment uses the device API)",
        ));
    }
    Ok(Json(
        state
            .db(move |s| {
                let user = s.store().get_user(&user)?;
                service::enroll_otp(s, &user)
            })
            .await?,
    ))
}
