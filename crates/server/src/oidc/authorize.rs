//! `GET`/`POST /oauth2/authorize`: a checked request starts a sign-in flow
//! ([`crate::signin::start_flow`]) and the browser goes to `/signin?flow=…`; when the user has
//! signed in, [`complete`] makes the authorization code and the redirect back to the client.
//! When the global session already satisfies the policy (single sign-on), the flow is done as
//! it starts and the browser goes straight back to the client with its code.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::request::{self, AuthorizationRequest, Refusal};
use super::{claims, issuer, CODE_TTL_SECS};
use crate::crypto::{random_bytes, sha256};
use crate::device::http::Requester;
use crate::error::{Error, Result};
use crate::signin::{Completed, FlowRequest};
use crate::store::AuthorizationCode;
use crate::AppState;

/// `GET /oauth2/authorize`
pub async fn by_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Requester,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(&state, &headers, &who, query.as_deref().unwrap_or_default()).await
}

/// `POST /oauth2/authorize` (a form: OpenID Connect Core §3.1.2.1 asks for both methods).
pub async fn by_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Requester,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = match body {
        Ok(b) if is_form => b,
        Ok(_) => {
            return error_page("the request must be a form (application/x-www-form-urlencoded)")
        }
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return crate::api::too_large(),
        Err(_) => return error_page("the request's body cannot be read"),
    };
    match std::str::from_utf8(&body) {
        Ok(text) => authorize(&state, &headers, &who, text).await,
        Err(_) => error_page("the request's parameters are not UTF-8"),
    }
}

async fn authorize(state: &AppState, headers: &HeaderMap, who: &Requester, raw: &str) -> Response {
    let request = match request::check(state, raw).await {
        Ok(r) => r,
        Err(refusal) => return refused(state, refusal),
    };
    let flow = match serde_json::to_value(&request) {
        Ok(json) => FlowRequest {
            client_id: Some(request.client_id.clone()),
            oidc: Some(json),
            max_age: request.max_age,
            prompt_login: request.prompt_login,
            // The provider grants openid, profile and email only, never the MFA API's scopes.
            mfa_audience: false,
            client_ip: who.ip.clone(),
        },
        Err(e) => return Error::Internal(format!("authorization request: {e}")).into_response(),
    };
    match crate::signin::start_flow(state, headers, flow).await {
        Ok(started) => {
            // Single sign-on: the global session satisfied the policy, the code is made.
            let location = started.redirect_to.unwrap_or_else(|| {
                format!(
                    "/signin?flow={}",
                    percent_encoding::utf8_percent_encode(
                        &started.flow_id,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                )
            });
            let mut response = redirect(&location);
            for cookie in started.set_cookies {
                response.headers_mut().append(SET_COOKIE, cookie);
            }
            response
        }
        Err(e) => {
            // The redirect URI is good: the client hears of it (OpenID Connect Core §3.1.2.6).
            let error = match e {
                Error::Unavailable(_) | Error::RateLimited(_) => "temporarily_unavailable",
                _ => "server_error",
            };
            let (status, _) = e.status_and_code();
            if status.is_server_error() {
                tracing::error!(error = %e, "the sign-in flow did not start");
            }
            refused(
                state,
                Refusal::Redirect {
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    error,
                    description: "the sign-in could not start; try again".into(),
                },
            )
        }
    }
}

fn redirect(location: &str) -> Response {
    // Registered redirect URIs are ASCII and every added value is percent-encoded, so this
    // holds; if it ever did not, the browser gets the page rather than a 302 to nowhere.
    let Ok(v) = HeaderValue::from_str(location) else {
        return error_page("the redirect URI cannot be used in a redirect");
    };
    let mut response = StatusCode::FOUND.into_response();
    response.headers_mut().insert(LOCATION, v);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refused(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => error_page(&message),
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
        } => {
            let iss = issuer(state);
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = &client_state {
                params.push(("state", s));
            }
            params.push(("iss", &iss));
            redirect(&request::with_query(&redirect_uri, &params))
        }
        Refusal::Server(e) => e.into_response(),
    }
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page a browser sees when the request cannot be sent back to the application (400).
fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in request rejected</title></head>\n<body>\
         <h1>Sign-in request rejected</h1>\n<p>The application sent a sign-in request that \
         cannot be accepted: {}.</p>\n<p>Go back to the application and try again; if this \
         keeps happening, tell its administrator.</p>\n</body></html>\n",
        escape(message)
    );
    let mut response = (StatusCode::BAD_REQUEST, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'"),
    );
    response
}

/// A new authorization code: 256 bits from the CSPRNG.
fn new_code() -> Result<String> {
    Ok(format!(
        "tso_{}",
        data_encoding::BASE64URL_NOPAD.encode(&random_bytes::<32>()?)
    ))
}

/// See [`crate::oidc::complete`]. The application may have changed while the user signed in:
/// it must still exist and still list the redirect URI.
pub fn complete(state: &AppState, request: &serde_json::Value, done: &Completed) -> Result<String> {
    let request: AuthorizationRequest = serde_json::from_value(request.clone())
        .map_err(|e| Error::Internal(format!("the flow's authorization request: {e}")))?;
    if done.methods.is_empty() {
        return Err(Error::Internal(
            "a sign-in completed without any method".into(),
        ));
    }
    let app = state
        .store()
        .application(&request.client_id)?
        .ok_or(Error::NotFound("application"))?;
    if !app.redirect_uris.contains(&request.redirect_uri) {
        return Err(Error::InvalidRequest(
            "`redirect_uri` was removed from the application during the sign-in".into(),
        ));
    }
    let code = new_code()?;
    let now = state.now();
    let grant = AuthorizationCode {
        client_id: request.client_id,
        redirect_uri: request.redirect_uri,
        user_id: done.user_id.clone(),
        scope: request.scope,
        nonce: request.nonce,
        code_challenge: request.code_challenge,
        auth_time: done.auth_time,
        amr: claims::amr(&done.methods),
        acr: claims::acr(&done.methods).to_owned(),
        session_id: done.session_id.clone(),
        created_at: now,
        expires_at: now.saturating_add(CODE_TTL_SECS),
    };
    let redirect_uri = grant.redirect_uri.clone();
    // Used codes are kept while the tokens they issued live, so a replay can revoke them.
    let purge_before = now.saturating_sub(state.config().mfa.access_token_ttl_secs);
    state
        .store()
        .insert_code(sha256(code.as_bytes()), grant, purge_before)?;
    let iss = issuer(state);
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", &iss));
    Ok(request::with_query(&redirect_uri, &params))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_error_page_escapes_what_it_repeats() {
        assert_eq!(
            super::escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
