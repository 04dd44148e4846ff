//! The HTTP routes. Handlers are thin: parse, call [`crate::service`] or the store, map the
//! error.

mod management;
mod me;
mod mfa;
mod oauth;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::ApiError;
use crate::AppState;

/// JSON body extractor whose rejection uses our error shape.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(JsonRejection::BytesRejection(_)) => Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                "the request body is too large",
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.settings().config.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/oauth/token", post(oauth::token))
        .route("/mfa/authenticators", get(mfa::list))
        .route("/mfa/authenticators/{id}", delete(mfa::remove))
        .route("/mfa/associate", post(mfa::associate))
        .route(
            "/api/v2/users",
            post(management::create_user).get(management::list_users),
        )
        .route(
            "/api/v2/users/{id}",
            get(management::get_user)
                .patch(management::update_user)
                .delete(management::delete_user),
        )
        .route(
            "/api/v2/users/{id}/authenticators",
            get(management::user_authenticators)
                .post(management::enroll_for_user)
                .delete(management::remove_all_mfa),
        )
        .route(
            "/api/v2/users/{id}/authenticators/{aid}",
            delete(management::remove_user_authenticator),
        )
        .route(
            "/api/v2/users/{id}/recovery-code-regeneration",
            post(management::regenerate_recovery),
        )
        .route(
            "/api/v2/users/{id}/otp-verification",
            post(management::verify_otp),
        )
        .route(
            "/api/v2/users/{id}/mfa-prompt-skipped",
            delete(management::reset_skip),
        )
        .route(
            "/api/v2/users/{id}/lockout",
            delete(management::reset_lockout),
        )
        .route("/api/v2/organizations", get(management::list_organizations))
        .route(
            "/api/v2/organizations/{name}",
            axum::routing::put(management::put_organization),
        )
        .route("/api/v2/logs", get(management::logs))
        .route(
            "/api/v2/tokens",
            post(management::create_token).get(management::list_tokens),
        )
        .route("/api/v2/tokens/{id}", delete(management::revoke_token))
        .route("/api/v2/me/authenticators", get(me::list).post(me::bind))
        .route("/api/v2/me/authenticators/{id}", delete(me::unbind))
        .route("/api/v2/me/authenticators/{id}/confirm", post(me::confirm))
        .route(
            "/api/v2/me/recovery-code-regeneration",
            post(me::regenerate),
        )
        .route(
            "/api/v2/me/mfa-prompt-skipped",
            post(me::skip).delete(me::reset_skip),
        )
        .fallback(|| async { ApiError::not_found("route") })
        .layer(RequestBodyLimitLayer::new(limit))
        .with_state(state)
}
