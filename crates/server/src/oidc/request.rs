//! The authorization request (OpenID Connect Core §3.1.2.1, RFC 6749 §4.1.1, RFC 7636),
//! checked before a sign-in flow starts.
//!
//! Until the client and its redirect URI are known good, a fault is shown on an error page and
//! never redirected (RFC 6749 §4.1.2.1: an open redirector otherwise); after that, it goes back
//! to the client as `error=` on its redirect URI, with `state` and `iss` (RFC 9207).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::AppState;

/// Scopes the provider grants; others asked for are left out of the grant (RFC 6749 §3.3).
pub const SCOPES: &[&str] = &["openid", "profile", "email"];

/// Longest `state` and `nonce` accepted (they travel in URLs and in the ID token).
pub const MAX_STATE: usize = 2048;

/// Longest `client_id` or `redirect_uri` looked at.
const MAX_ID: usize = 2000;

/// A checked authorization request: kept with the sign-in flow and handed back to
/// [`crate::oidc::complete`] when the user has signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The application.
    pub client_id: String,
    /// One of its registered redirect URIs, exactly.
    pub redirect_uri: String,
    /// The granted scopes (of [`SCOPES`], `openid` first), space-separated.
    pub scope: String,
    /// The client's `state`, returned as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The client's `nonce`, put in the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// PKCE S256 challenge: BASE64URL(SHA-256(code_verifier)), 43 characters.
    pub code_challenge: String,
    /// `max_age`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// `prompt=login` (or `select_account`, or `max_age=0`): the user authenticates again.
    #[serde(default)]
    pub prompt_login: bool,
}

/// Why an authorization request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// The client or its redirect URI cannot be trusted: shown on an error page (400).
    Page(String),
    /// Sent back to the client's redirect URI.
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// The client's `state`, if it sent one that could be read.
        state: Option<String>,
        /// RFC 6749 §4.1.2.1 / OpenID Connect Core §3.1.2.6 error code.
        error: &'static str,
        /// Names the parameter at fault, never a secret.
        description: String,
    },
    /// The server could not decide (the database is unavailable).
    Server(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Server(e)
    }
}

/// A parameter's value for messages: printable, at most 40 characters.
fn shown(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// Whether `s` is a PKCE S256 challenge: 43 base64url characters (a 32-byte digest).
fn is_s256_challenge(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks `raw` (a query string or form body) against the registered applications.
pub async fn check(
    state: &AppState,
    raw: &str,
) -> std::result::Result<AuthorizationRequest, Refusal> {
    // Decoded strictly; a parameter given twice is refused (RFC 6749 §3.1).
    let pairs =
        tessera_core::percent::query_pairs(raw, tessera_core::percent::Plus::Space, |_| None)
            .map_err(|e| Refusal::Page(format!("the request's parameters are malformed: {e}")))?;
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let mut twice: Option<String> = None;
    for (name, value) in pairs {
        match params.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => {
                twice.get_or_insert_with(|| e.key().clone());
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(value);
            }
        }
    }
    if let Some(name) = &twice {
        if name == "client_id" || name == "redirect_uri" {
            return Err(Refusal::Page(format!("`{}` is given twice", shown(name))));
        }
    }
    let client_id = params
        .get("client_id")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::Page("missing `client_id`".into()))?
        .clone();
    if client_id.len() > MAX_ID {
        return Err(Refusal::Page("unknown `client_id`".into()));
    }
    let id = client_id.clone();
    let app = state
        .db(move |s| s.application(&id))
        .await?
        .ok_or_else(|| Refusal::Page("unknown `client_id`".into()))?;
    let redirect_uri = params
        .get("redirect_uri")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::Page("missing `redirect_uri`".into()))?
        .clone();
    if !app.redirect_uris.contains(&redirect_uri) {
        return Err(Refusal::Page(
            "`redirect_uri` is not one of the application's registered redirect URIs".into(),
        ));
    }

    // From here on, faults go back to the client.
    let client_state = params
        .get("state")
        .filter(|s| s.len() <= MAX_STATE)
        .cloned();
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: client_state.clone(),
        error,
        description,
    };
    let invalid = |description: String| refuse("invalid_request", description);
    if let Some(name) = twice {
        return Err(invalid(format!("`{}` is given twice", shown(&name))));
    }
    if params.contains_key("request") {
        return Err(refuse(
            "request_not_supported",
            "`request` objects are not supported".into(),
        ));
    }
    if params.contains_key("request_uri") {
        return Err(refuse(
            "request_uri_not_supported",
            "`request_uri` is not supported".into(),
        ));
    }
    if params.contains_key("registration") {
        return Err(refuse(
            "registration_not_supported",
            "`registration` is not supported: applications are registered by an administrator"
                .into(),
        ));
    }
    match params.get("response_type").map(String::as_str) {
        None | Some("") => return Err(invalid("missing `response_type`".into())),
        Some("code") => {}
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!(
                    "`response_type` `{}`: only `code` is supported",
                    shown(other)
                ),
            ))
        }
    }
    match params.get("response_mode").map(String::as_str) {
        None | Some("query") => {}
        Some(other) => {
            return Err(invalid(format!(
                "`response_mode` `{}`: only `query` is supported",
                shown(other)
            )))
        }
    }
    if client_state.is_none() && params.contains_key("state") {
        return Err(invalid(format!("`state`: at most {MAX_STATE} characters")));
    }
    let requested: Vec<&str> = params
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if !requested.contains(&"openid") {
        return Err(refuse(
            "invalid_scope",
            "`scope` must include `openid`".into(),
        ));
    }
    let scope = SCOPES
        .iter()
        .filter(|s| requested.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    match params.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        None => {
            return Err(invalid(
                "PKCE is required: `code_challenge_method` must be `S256`".into(),
            ))
        }
        Some(other) => {
            return Err(invalid(format!(
                "`code_challenge_method` `{}`: only `S256` is accepted",
                shown(other)
            )))
        }
    }
    let code_challenge = match params.get("code_challenge") {
        None => return Err(invalid("PKCE is required: missing `code_challenge`".into())),
        Some(c) if !is_s256_challenge(c) => {
            return Err(invalid(
                "`code_challenge` must be 43 base64url characters (S256)".into(),
            ))
        }
        Some(c) => c.clone(),
    };
    let nonce = match params.get("nonce") {
        Some(n) if n.len() > MAX_STATE => {
            return Err(invalid(format!("`nonce`: at most {MAX_STATE} characters")))
        }
        Some(n) if n.is_empty() => None,
        other => other.cloned(),
    };
    let max_age =
        match params.get("max_age") {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                invalid("`max_age` must be a non-negative number of seconds".into())
            })?),
        };
    let mut prompt_login = max_age == Some(0);
    let mut prompt_none = false;
    let prompts: Vec<&str> = params
        .get("prompt")
        .map(|p| p.split(' ').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    for p in &prompts {
        match *p {
            "none" => prompt_none = true,
            // The sign-in starts at the identifier step, where another account can be used.
            "login" | "select_account" => prompt_login = true,
            // Applications are registered by an administrator: there is no consent to ask.
            "consent" => {}
            other => {
                return Err(invalid(format!(
                    "`prompt` `{}` is not one of none, login, consent, select_account",
                    shown(other)
                )))
            }
        }
    }
    if prompt_none && prompts.len() > 1 {
        return Err(invalid(
            "`prompt=none` cannot be combined with other values".into(),
        ));
    }
    if prompt_none {
        // Signing in always asks something of the user here.
        return Err(refuse(
            "login_required",
            "the user must sign in; `prompt=none` cannot be honoured".into(),
        ));
    }
    Ok(AuthorizationRequest {
        client_id,
        redirect_uri,
        scope,
        state: client_state,
        nonce,
        code_challenge,
        max_age,
        prompt_login,
    })
}

/// `redirect_uri` with `params` added to its query (it may have one already; it has no
/// fragment: registration refuses one).
pub fn with_query(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{encoded}")
}
