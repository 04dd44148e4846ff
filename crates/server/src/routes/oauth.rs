//! `POST /oauth/token`: the password grant and the MFA grants, shaped like Auth0's.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::{self, Kind, USER_SCOPES};
use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::service;
use crate::AppState;

const GRANT_PASSWORD: &str = "password";
const GRANT_MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const GRANT_MFA_RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
const GRANT_MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";

/// Accepts JSON or form-encoded parameters, as Auth0 does.
fn params(headers: &HeaderMap, body: &Bytes) -> ApiResult<HashMap<String, String>> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
        let mut out = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| ApiError::bad_request("a parameter is not UTF-8"))
            };
            out.insert(dec(k)?, dec(v)?);
        }
        Ok(out)
    } else {
        let v: HashMap<String, Value> = serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("the body must be a JSON object or a form"))?;
        Ok(v.into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect())
    }
}

fn required<'a>(p: &'a HashMap<String, String>, name: &str) -> ApiResult<&'a str> {
    p.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("missing parameter `{name}`")))
}

fn wrong_credentials() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "Wrong username or password.",
    )
}

fn requested_scopes(p: &HashMap<String, String>, after_mfa: bool) -> Vec<String> {
    let asked: Vec<&str> = match p.get("scope") {
        Some(s) => s.split_whitespace().collect(),
        None => USER_SCOPES.to_vec(),
    };
    asked
        .into_iter()
        .filter(|s| USER_SCOPES.contains(s))
        // Removing authenticators needs a token obtained by completing MFA (A0-5).
        .filter(|s| after_mfa || *s != "remove:authenticators")
        .map(str::to_owned)
        .collect()
}

fn tokens(state: &AppState, user_id: &str, scopes: &[String]) -> ApiResult<Value> {
    let ttl = state.settings().config.tokens.access_ttl_secs;
    let token = service::issue_token(state, "access", user_id, scopes, ttl)?;
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scopes.join(" "),
    }))
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let p = params(&headers, &body)?;
    let grant = required(&p, "grant_type")?.to_owned();
    let out = state
        .db(move |s| match grant.as_str() {
            GRANT_PASSWORD => password_grant(s, &p),
            GRANT_MFA_OTP => mfa_grant(s, &p, false),
            GRANT_MFA_RECOVERY => mfa_grant(s, &p, true),
            GRANT_MFA_OOB => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "out-of-band (push) approval is not enabled on this server",
            )),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            )),
        })
        .await?;
    Ok(Json(out))
}

fn password_grant(state: &AppState, p: &HashMap<String, String>) -> ApiResult<Value> {
    let username = required(p, "username")?;
    let password = required(p, "password")?;
    let user = state.store().user_by_username(username)?;
    // Same work and same answer for unknown users: no enumeration.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .unwrap_or_else(|| crypto::dummy_password_hash());
    let ok = crypto::verify_password(password, hash);
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => {
            let _ = state
                .store()
                .audit(state.now(), "password_fail", None, json!({}));
            return Err(wrong_credentials());
        }
    };
    if service::mfa_applies(state, &user)? {
        let ttl = state.settings().config.tokens.mfa_ttl_secs;
        let scopes = vec!["enroll".to_owned(), "read:authenticators".to_owned()];
        let mfa_token = service::issue_token(state, "mfa", &user.id, &scopes, ttl)?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa_required",
            "Multifactor authentication required",
        )
        .with("mfa_token", Value::String(mfa_token)));
    }
    tokens(state, &user.id, &requested_scopes(p, false))
}

fn mfa_grant(state: &AppState, p: &HashMap<String, String>, recovery: bool) -> ApiResult<Value> {
    let mfa_token = required(p, "mfa_token")?;
    let principal = auth::lookup(state, mfa_token).map_err(|_| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Malformed or expired mfa_token.",
        )
    })?;
    let user_id = match (principal.kind, principal.user_id) {
        (Kind::Mfa, Some(u)) => u,
        _ => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Malformed or expired mfa_token.",
            ))
        }
    };
    let out = if recovery {
        let code = required(p, "recovery_code")?;
        service::verify_recovery_code(state, &user_id, code)?;
        // Auth0 hands out a fresh recovery code after one is used.
        let codes = service::regenerate_recovery_codes(state, &user_id, true)?;
        let mut v = tokens(state, &user_id, &requested_scopes(p, true))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("recovery_code".into(), json!(codes.first()));
            o.insert("recovery_codes".into(), json!(codes));
        }
        v
    } else {
        let otp = required(p, "otp")?;
        service::verify_otp(state, &user_id, otp)?;
        tokens(state, &user_id, &requested_scopes(p, true))?
    };
    // The mfa_token is spent.
    state.store().revoke_token(&principal.token_id)?;
    state.store().audit(
        state.now(),
        "token_use",
        Some(&user_id),
        json!({"kind": "mfa", "grant": if recovery { "mfa-recovery-code" } else { "mfa-otp" }}),
    )?;
    Ok(out)
}
