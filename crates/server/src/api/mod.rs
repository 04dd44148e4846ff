//! HTTP routes. One file per API area; handlers parse, call one domain function and map errors.

pub mod admin;
pub mod applications;
pub mod logs;
pub mod me;
pub mod mfa;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod orgs;
pub mod policies;
pub mod settings;
pub mod tokens;
pub mod users;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorBody};
use crate::AppState;

/// Every route, with the body limit and JSON 404/405 answers.
pub fn router(state: AppState) -> Router {
    let limit = state.config().http.body_limit_bytes;
    // Validated with the configuration; an invalid list here trusts no proxy.
    let proxies = crate::client_ip::TrustedProxies::new(
        state.config().http.trusted_proxies().unwrap_or_default(),
    );
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::serve))
        .route("/oauth/token", post(oauth::token))
        .route("/mfa/authenticators", get(mfa::list))
        .route("/mfa/authenticators/{id}", delete(mfa::remove))
        .route("/mfa/associate", post(mfa::associate))
        .route("/api/v2/users", post(users::create).get(users::list))
        .route(
            "/api/v2/users/{id}",
            get(users::get).patch(users::update).delete(users::remove),
        )
        .route(
            "/api/v2/users/{id}/authentication-methods",
            get(admin::list_factors)
                .post(admin::enroll)
                .delete(admin::remove_all),
        )
        .route(
            "/api/v2/users/{id}/authentication-methods/{auth_id}",
            delete(admin::remove_one),
        )
        .route(
            "/api/v2/users/{id}/recovery-code-regeneration",
            post(admin::regenerate),
        )
        .route(
            "/api/v2/users/{id}/logto-configs",
            patch(admin::mfa_configs),
        )
        .route(
            "/api/v2/users/{id}/otp-verification",
            post(admin::verify_otp),
        )
        .route(
            "/api/v2/user-blocks/{id}",
            get(admin::blocks).delete(admin::unblock),
        )
        .route("/api/v2/organizations", post(orgs::create).get(orgs::list))
        .route("/api/v2/organizations/{id}", patch(orgs::update))
        .route("/api/v2/tokens", post(tokens::create).get(tokens::list))
        .route("/api/v2/tokens/{id}", delete(tokens::revoke))
        .route("/api/v2/logs", get(logs::list))
        .route("/api/v2/logs/export", get(logs::export))
        .route(
            "/api/v2/applications",
            post(applications::create).get(applications::list),
        )
        .route(
            "/api/v2/applications/{client_id}",
            get(applications::get)
                .patch(applications::update)
                .delete(applications::remove),
        )
        .route(
            "/api/v2/applications/{client_id}/secret-rotation",
            post(applications::rotate_secret),
        )
        .route(
            "/api/v2/policies/sign-in",
            get(policies::get).put(policies::put),
        )
        .route("/api/v2/policies/sign-in/versions", get(policies::versions))
        .route(
            "/api/v2/policies/sign-in/versions/{version}",
            get(policies::version),
        )
        .route("/api/v2/policies/sign-in/dry-run", post(policies::dry_run))
        .route(
            "/api/v2/settings/factors",
            get(settings::get).put(settings::put),
        )
        .route("/api/v2/me", get(me::profile))
        .route("/api/v2/me/authenticators", get(me::list).post(me::bind))
        .route("/api/v2/me/authenticators/{id}", delete(me::unbind))
        .route("/api/v2/me/otp-verification", post(me::verify_otp))
        .route(
            "/api/v2/me/passkey-verification",
            post(crate::passkey::api::finish),
        )
        .route(
            "/api/v2/me/recovery-code-regeneration",
            post(me::regenerate),
        )
        .route("/api/v2/me/logto-configs", patch(me::mfa_configs))
        .route("/api/v2/me/email", put(me::change_email))
        .route("/api/v2/me/phone", put(me::change_phone))
        .route("/api/v2/me/contact-verification", post(me::verify_contact))
        .route(
            "/api/v2/me/notifications",
            get(me::notifications).put(me::set_notifications),
        )
        .merge(crate::device::routes())
        .merge(crate::signin::routes())
        .merge(crate::account::routes())
        .merge(crate::admin::routes())
        .merge(crate::oidc::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(proxies))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %req.method(),
                        path = %loggable_path(req.uri().path()),
                        version = ?req.version(),
                    )
                },
            ),
        )
        .with_state(state)
}

/// A request's path as the log shows it: without the query (which may carry a flow id or an
/// OAuth `state`), and with a magic link's token replaced (it is a credential until used).
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/signin/link/") {
        Some(_) => std::borrow::Cow::Borrowed("/signin/link/{token}"),
        None => std::borrow::Cow::Borrowed(path),
    }
}

async fn not_found() -> Error {
    Error::NotFound("route")
}

async fn method_not_allowed() -> Response {
    let body = ErrorBody {
        error: "method_not_allowed",
        error_description: "method not allowed on this route".into(),
        mfa_token: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// A JSON body whose rejections use the one error shape (413 for an oversized body).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    Error::InvalidRequest(redact_values(&rejection.body_text())).into_response()
}

/// Keeps a deserializer's message but hides the values it quotes (`invalid type: integer
/// `123456``), which may be a code or a password; field and variant names stay.
pub(crate) fn redact_values(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut prev_outside = "";
    for (i, part) in msg.split('`').enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
            prev_outside = part;
        } else if prev_outside.ends_with("field ") || prev_outside.ends_with("variant ") {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            out.push_str("(value hidden)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rejection_messages_hide_values_but_name_fields() {
        let m = super::redact_values("otp: invalid type: integer `123456`, expected a string");
        assert_eq!(
            m,
            "otp: invalid type: integer (value hidden), expected a string"
        );
        let m = super::redact_values("missing field `otp` at line 1");
        assert_eq!(m, "missing field `otp` at line 1");
    }
}

pub(crate) fn too_large() -> Response {
    let body = ErrorBody {
        error: "payload_too_large",
        error_description: "request body too large".into(),
        mfa_token: None,
    };
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

/// Checks a query string or form body with the one strict percent-decoder
/// ([`tessera_core::percent`]) before serde reads it: a `%` not followed by two hex digits,
/// an encoded or raw control character or bytes that are not UTF-8 after decoding is a 400
/// naming the parameter (never its value, which may be a password). serde_urlencoded's own
/// decoding is lenient (`%G1` stays text, bad UTF-8 becomes U+FFFD); on what passes this
/// check it gives the same text.
pub(crate) fn check_form(raw: &str) -> Result<(), Error> {
    tessera_core::percent::query_pairs(raw, tessera_core::percent::Plus::Space, |_| None)
        .map(drop)
        .map_err(|e| Error::InvalidRequest(e.to_string()))
}

/// A query string, decoded strictly ([`check_form`]), whose rejections use the one error
/// shape.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        check_form(parts.uri.query().unwrap_or_default())?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e: QueryRejection| Error::InvalidRequest(e.body_text()))
    }
}

/// `page` (1-based) and `per_page` (1–100, default 50).
#[derive(Debug, serde::Deserialize)]
pub struct Paging {
    /// 1-based page.
    #[serde(default = "one")]
    pub page: u32,
    /// Items per page.
    #[serde(default = "fifty")]
    pub per_page: u32,
}

fn one() -> u32 {
    1
}
fn fifty() -> u32 {
    50
}

impl Paging {
    /// Checks the bounds.
    pub fn check(&self) -> crate::Result<()> {
        if self.page == 0 {
            return Err(Error::InvalidRequest("`page` starts at 1".into()));
        }
        if !(1..=100).contains(&self.per_page) {
            return Err(Error::InvalidRequest("`per_page` must be 1–100".into()));
        }
        Ok(())
    }
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
