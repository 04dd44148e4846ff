//! What a relying party reads: the discovery document (OpenID Connect Discovery 1.0 §3), the
//! JWKS (RFC 7517) and userinfo (OpenID Connect Core §5.3).

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::claims::{ACR_MFA, ACR_SFA};
use super::request::SCOPES;
use super::{issuer, keys};
use crate::crypto::sha256;
use crate::error::{Error, Result};
use crate::model::TokenKind;
use crate::AppState;

/// `GET /.well-known/openid-configuration`
pub async fn configuration(State(state): State<AppState>) -> Json<Value> {
    let iss = issuer(&state);
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [keys::ALG],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [ACR_MFA, ACR_SFA],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
            "preferred_username", "email", "updated_at"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// `GET /oauth2/jwks`: the current key and the replaced ones whose tokens may still be live
/// (the current key is made at the first request that needs one).
pub async fn jwks(State(state): State<AppState>) -> Result<Response> {
    let rows = state.blocking(keys::published).await?;
    let keys: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.public_jwk))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Internal(format!("a stored public JWK: {e}")))?;
    let mut response = Json(json!({ "keys": keys })).into_response();
    // Short enough that a rotation reaches relying parties before the new key signs much.
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

/// A bearer-token failure at userinfo (RFC 6750 §3): the status, the `WWW-Authenticate`
/// challenge and the body.
fn bearer_error(status: StatusCode, error: Option<&'static str>, description: &str) -> Response {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"tessera\", error=\"{e}\""),
        None => "Bearer realm=\"tessera\"".to_owned(),
    };
    let body = json!({
        "error": error.unwrap_or("invalid_token"),
        "error_description": description,
    });
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

/// `GET`/`POST /oauth2/userinfo`: the claims of the access token's user its scopes allow.
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            None,
            "an access token is required (Authorization: Bearer)",
        );
    };
    let hash = sha256(token.as_bytes());
    let record = match state.db(move |s| s.find_token(hash)).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let now = state.now();
    let Some((record, user_id)) = record
        .filter(|r| {
            r.kind == TokenKind::Access
                && r.revoked_at.is_none()
                && r.expires_at.is_none_or(|e| now < e)
        })
        .and_then(|r| r.user_id.clone().map(|u| (r, u)))
    else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "the access token is unknown, revoked or expired",
        );
    };
    let has = |scope: &str| record.scopes.iter().any(|s| s == scope);
    if !has("openid") {
        let mut r = bearer_error(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token was not granted `openid`",
        );
        if let Ok(v) = HeaderValue::from_str(
            "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"openid\"",
        ) {
            r.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        return r;
    }
    let id = user_id.clone();
    let user = match state.db(move |s| s.get_user(&id)).await {
        Ok(Some(u)) if u.blocked => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token's user is locked",
            )
        }
        Ok(Some(u)) => u,
        Ok(None) => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token's user no longer exists",
            )
        }
        Err(e) => return e.into_response(),
    };
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(user.user_id));
    if has("profile") {
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if has("email") {
        if let Some(email) = user.email {
            claims.insert("email".into(), json!(email));
        }
    }
    let mut response = Json(Value::Object(claims)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
