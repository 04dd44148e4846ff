//! The hosted sign-in (docs/signin.md): server-side flows evaluated against the sign-in policy,
//! the JSON flow API, the global session, and the pages at `/signin`.

use axum::http::{HeaderMap, HeaderValue};
use axum::Router;

use crate::error::Result;
use crate::policy::Satisfied;
use crate::AppState;

pub mod api;
pub mod flow;
pub mod pages;
mod passkey;
pub mod recover;
pub mod typing;

/// The sign-in routes: the flow API and the hosted pages.
pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes()).merge(pages::routes())
}

/// A finished sign-in, as the OpenID Connect provider turns it into an authorization code.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The user.
    pub user_id: String,
    /// The methods proven in this sign-in or counted from the global session (for `amr`).
    pub methods: Vec<Satisfied>,
    /// When the user last actively authenticated (for `auth_time`), unix seconds.
    pub auth_time: u64,
    /// The global session's public id (`ses_…`).
    pub session_id: String,
}

/// A flow started for a relying party.
#[derive(Debug, Clone)]
pub struct Started {
    /// The flow id (the hosted page is `/signin?flow=<id>`).
    pub flow_id: String,
    /// `Set-Cookie` values: the browser cookie when the browser had none, a QR login's
    /// secret when the flow shows one at once.
    pub set_cookies: Vec<HeaderValue>,
    /// When the global session already satisfies the policy (single sign-on), the flow is
    /// done at once and this is where to send the browser (the relying party's redirect).
    pub redirect_to: Option<String>,
}

/// What an OpenID Connect authorization request asks of the flow.
#[derive(Debug, Clone, Default)]
pub struct FlowRequest {
    /// The application's client id.
    pub client_id: Option<String>,
    /// The provider's request, kept with the flow and handed back to
    /// `crate::oidc::complete` when the flow is done.
    pub oidc: Option<serde_json::Value>,
    /// `max_age`: session methods older than this many seconds are not counted.
    pub max_age: Option<u64>,
    /// `prompt=login`: the global session is not counted.
    pub prompt_login: bool,
    /// The MFA API's audience is requested: a remembered browser does not count (A0-7).
    pub mfa_audience: bool,
    /// The client's address (sign-ins started per address are limited).
    pub client_ip: String,
}

/// Sign-ins started per client address in the current minute.
#[derive(Debug, Default)]
pub struct Starts {
    minute: u64,
    by_address: std::collections::HashMap<String, u32>,
}

impl Starts {
    /// Counts a start from `ip` at `now`; whether it is within `per_minute`.
    pub fn admit(&mut self, ip: &str, now: u64, per_minute: u32) -> bool {
        if now / 60 != self.minute {
            self.minute = now / 60;
            self.by_address.clear();
        }
        let n = self.by_address.entry(ip.to_owned()).or_insert(0);
        if *n >= per_minute {
            return false;
        }
        *n += 1;
        true
    }
}

/// Starts a flow for the browser of `headers`.
pub async fn start_flow(
    state: &AppState,
    headers: &HeaderMap,
    request: FlowRequest,
) -> Result<Started> {
    api::start_flow(state, headers, request).await
}
