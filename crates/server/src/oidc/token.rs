//! `POST /oauth2/token`: the authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.5,
//! OpenID Connect Core §3.1.3).
//!
//! A confidential client authenticates with `client_secret_basic` or `client_secret_post`
//! (the secret's SHA-256 compared in constant time with the stored one); a public client names
//! itself with `client_id` and has no secret. The code is redeemed in one store transaction
//! that checks the client, the redirect URI and the PKCE verifier, uses the code up, and
//! stores the access token; a second redemption revokes that token. Errors are RFC 6749 §5.2's
//! (`invalid_client` is 401, the others 400) and never repeat a secret.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::claims::IdToken;
use super::{issuer, keys};
use crate::auth::issue_token;
use crate::crypto::{ct_eq, sha256};
use crate::error::Error;
use crate::model::{ClientKind, TokenKind};
use crate::store::{CodeRedemption, Redeemed};
use crate::AppState;

/// The one grant type.
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";

/// A successful answer (RFC 6749 §5.1 with OpenID Connect's `id_token`).
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// An opaque Tessera access token (`tsa_…`) for `/oauth2/userinfo`.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// The access token's lifetime, seconds.
    pub expires_in: u64,
    /// The ID token (a compact JWS, ES256).
    pub id_token: String,
    /// The granted scopes.
    pub scope: String,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
pub struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        TokenError {
            status,
            error,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    fn invalid_grant() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the authorization code is invalid, expired, already used, or was issued for \
             another client, redirect URI or code verifier",
        )
    }
}

/// Server faults keep the one error shape and status (503 with `Retry-After`, or 500).
enum Failure {
    OAuth(TokenError),
    Server(Error),
}

impl From<TokenError> for Failure {
    fn from(e: TokenError) -> Self {
        Failure::OAuth(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Server(e)
    }
}

fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = match self {
            Failure::OAuth(e) => {
                let body = serde_json::json!({
                    "error": e.error,
                    "error_description": e.description,
                });
                let mut r = (e.status, Json(body)).into_response();
                if e.status == StatusCode::UNAUTHORIZED {
                    r.headers_mut().insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tessera\""),
                    );
                }
                r
            }
            Failure::Server(e) => e.into_response(),
        };
        no_store(&mut response);
        response
    }
}

/// The client's credentials, from the Authorization header or the body.
struct ClientCredentials {
    client_id: String,
    secret: Option<Zeroizing<String>>,
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic(header: &str) -> Result<(String, Zeroizing<String>), TokenError> {
    let bad = || TokenError::invalid_client("the Basic credentials are malformed");
    let (scheme, value) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenError::invalid_client(
            "client authentication is `Basic` (client_secret_basic) or in the body",
        ));
    }
    let decoded = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| bad())?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        tessera_core::percent::decode(s, tessera_core::percent::Plus::Space).map_err(|_| bad())
    };
    Ok((decode(id)?, Zeroizing::new(decode(secret)?)))
}

fn credentials(
    headers: &HeaderMap,
    params: &mut BTreeMap<String, Zeroizing<String>>,
) -> Result<ClientCredentials, TokenError> {
    let body_id = params.remove("client_id").map(|v| v.to_string());
    let body_secret = params.remove("client_secret");
    match headers.get(AUTHORIZATION) {
        Some(h) => {
            let h = h
                .to_str()
                .map_err(|_| TokenError::invalid_client("the Basic credentials are malformed"))?;
            let (id, secret) = basic(h)?;
            if body_secret.is_some() {
                return Err(TokenError::invalid_request(
                    "use one client authentication method: Basic or `client_secret`, not both",
                ));
            }
            if body_id.as_ref().is_some_and(|b| *b != id) {
                return Err(TokenError::invalid_request(
                    "`client_id` differs from the Basic credentials",
                ));
            }
            Ok(ClientCredentials {
                client_id: id,
                secret: Some(secret),
            })
        }
        None => Ok(ClientCredentials {
            client_id: body_id.ok_or_else(|| {
                TokenError::invalid_client("missing client authentication or `client_id`")
            })?,
            secret: body_secret,
        }),
    }
}

/// Authenticates the client: a confidential one by its secret, a public one by name alone.
async fn authenticate(state: &AppState, creds: ClientCredentials) -> Result<String, Failure> {
    let id = creds.client_id.clone();
    let found = if creds.client_id.is_empty() || creds.client_id.len() > 2000 {
        None
    } else {
        state.db(move |s| s.application_with_secret(&id)).await?
    };
    let Some((app, stored)) = found else {
        return Err(TokenError::invalid_client("unknown client").into());
    };
    match (app.kind, creds.secret, stored) {
        (ClientKind::Confidential, Some(secret), Some(stored)) => {
            if ct_eq(&sha256(secret.as_bytes()), &stored) {
                Ok(app.client_id)
            } else {
                Err(TokenError::invalid_client("client authentication failed").into())
            }
        }
        (ClientKind::Confidential, _, _) => Err(TokenError::invalid_client(
            "a confidential client authenticates with its secret",
        )
        .into()),
        (ClientKind::Public, None, _) => Ok(app.client_id),
        (ClientKind::Public, Some(_), _) => {
            Err(TokenError::invalid_client("a public client has no secret").into())
        }
    }
}

/// Whether `v` is a PKCE verifier: 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
fn is_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL(SHA-256(verifier)): the S256 challenge the verifier answers.
pub fn s256(verifier: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&sha256(verifier.as_bytes()))
}

/// `POST /oauth2/token`
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return crate::api::too_large(),
        Err(e) => {
            return Failure::OAuth(TokenError::invalid_request(e.body_text())).into_response()
        }
    };
    match exchange(&state, &headers, &body).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(&mut response);
            response
        }
        Err(f) => f.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, Failure> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(TokenError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| TokenError::invalid_request("the form body is not UTF-8"))?;
    let pairs =
        tessera_core::percent::query_pairs(text, tessera_core::percent::Plus::Space, |_| None)
            .map_err(|e| TokenError::invalid_request(e.to_string()))?;
    let mut params: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
    for (name, value) in pairs {
        if params.contains_key(&name) {
            // The name only: the value may be a secret.
            let shown: String = name.chars().take(40).collect();
            return Err(TokenError::invalid_request(format!("`{shown}` is given twice")).into());
        }
        params.insert(name, Zeroizing::new(value));
    }
    match params.get("grant_type").map(|g| g.as_str()) {
        None => return Err(TokenError::invalid_request("missing `grant_type`").into()),
        Some(GRANT_AUTHORIZATION_CODE) => {}
        Some(other) => {
            let shown: String = other.chars().filter(|c| !c.is_control()).take(40).collect();
            return Err(TokenError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("`grant_type` `{shown}`: only `authorization_code` is supported"),
            )
            .into());
        }
    }
    let creds = credentials(headers, &mut params)?;
    let required = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| TokenError::invalid_request(format!("missing `{name}`")))
    };
    let code = required("code")?.clone();
    let redirect_uri = required("redirect_uri")?.to_string();
    let verifier = required("code_verifier")?.clone();
    let client_id = authenticate(state, creds).await?;
    if !is_verifier(&verifier) {
        return Err(TokenError::invalid_request(
            "`code_verifier` must be 43–128 characters of A–Z, a–z, 0–9, `-`, `.`, `_`, `~`",
        )
        .into());
    }
    let now = state.now();
    let ttl = state.config().mfa.access_token_ttl_secs;
    let (access, record, access_hash) = issue_token(
        TokenKind::Access,
        None,
        Vec::new(),
        &format!("oidc:{client_id}"),
        Some(ttl),
        now,
    )?;
    let redemption = CodeRedemption {
        client_id: client_id.clone(),
        redirect_uri,
        challenge: s256(&verifier),
        token: (record, access_hash),
    };
    let code_hash = sha256(code.as_bytes());
    let signed = state
        .blocking(move |s| {
            let (grant, token) = match s.store().redeem_code(code_hash, redemption, now)? {
                Redeemed::Issued(issued) => *issued,
                Redeemed::Refused(_) => return Ok(None),
            };
            // Locking deletes the user's unredeemed codes; one issued in a race is refused
            // here, its access token revoked.
            if s.store()
                .get_user(&grant.user_id)?
                .is_some_and(|u| u.blocked)
            {
                s.store().revoke_token(&token.id, now)?;
                return Ok(None);
            }
            let iss = issuer(s);
            let claims = IdToken {
                iss: &iss,
                sub: &grant.user_id,
                aud: &grant.client_id,
                exp: now.saturating_add(s.config().oidc.id_token_ttl_secs),
                iat: now,
                auth_time: grant.auth_time,
                nonce: grant.nonce.as_deref(),
                acr: &grant.acr,
                amr: &grant.amr,
                sid: &grant.session_id,
            };
            let id_token = keys::current(s)?.sign(&claims)?;
            Ok(Some((id_token, token.scopes.join(" "))))
        })
        .await?;
    let Some((id_token, scope)) = signed else {
        return Err(TokenError::invalid_grant().into());
    };
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer".into(),
        expires_in: ttl,
        id_token,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b_s256() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!is_verifier("short"));
        assert!(!is_verifier(&"a".repeat(129)));
        assert!(!is_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("app%3A1:s%2Bcret")
        );
        let (id, secret) = basic(&header).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("app:1", "s+cret"));
        assert_eq!(basic("Basic !!!").unwrap_err().error, "invalid_client");
        assert_eq!(basic("Bearer x").unwrap_err().error, "invalid_client");
    }
}
