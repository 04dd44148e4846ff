//! The admin console at `/admin` (docs/admin.md): one page over the management API, for the
//! members of the administrators' group (`[console] admin_group`) signed in through the hosted
//! sign-in with a second factor.
//!
//! The console has no API of its own for what the management API already does: a request to a
//! management route that carries no `Authorization` header but the browser's session cookie of
//! an administrator whose session proved a second factor is served as a management caller with
//! every management scope ([`console_caller`], used by [`crate::auth::Caller`]). Such a caller
//! has no user (the `/api/v2/me` routes refuse it), is named `console:<user id>` (a policy
//! version's author shows it), and every change it makes is audited (`console.request`, the
//! administrator as the event's user, the method and path as its detail). Any method but GET
//! and HEAD must carry the session's CSRF token in `X-CSRF-Token` (the account center's
//! token: [`crate::account::api::csrf_token`]).
//!
//! A session of a user who is not an administrator gets 403 `access_denied` from every console
//! page and every management route it reaches by cookie; an administrator's session that did
//! not prove a second factor gets 403 `second_factor_required`.

use axum::http::{HeaderMap, Method as HttpMethod};
use axum::Router;

use crate::auth::MANAGEMENT_SCOPES;
use crate::error::{Error, Result};
use crate::model::{SessionRecord, TokenKind, TokenRecord, User};
use crate::policy::Method;
use crate::signin::flow::session_proofs;
use crate::AppState;

pub mod api;
pub mod pages;

/// The console's routes: the page, its assets and its few routes of its own.
pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes()).merge(pages::routes())
}

/// What a browser's session is to the console.
#[derive(Debug)]
pub enum Gate {
    /// No live session.
    NoSession,
    /// A session of a user who is not in the administrators' group.
    NotAdmin(User),
    /// An administrator whose session proved no second factor.
    NoSecondFactor(User),
    /// An administrator signed in with a second factor.
    Admin(Console),
}

/// An administrator's console session.
#[derive(Debug, Clone)]
pub struct Console {
    /// The administrator.
    pub user: User,
    /// Their session.
    pub session: SessionRecord,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Whether `user` is an administrator under `group`.
pub fn is_admin(user: &User, group: &str) -> bool {
    user.groups.iter().any(|g| g == group)
}

/// Whether a session proved a second factor: two different methods, one of them not the
/// password, or one passkey that verified the user (PIN or biometric: two factors in one).
pub fn proved_second_factor(session: &SessionRecord) -> bool {
    let proofs = session_proofs(session);
    let mut methods: Vec<Method> = proofs.iter().map(|p| p.method).collect();
    methods.sort_by_key(|m| *m as u8);
    methods.dedup();
    let two = methods.len() >= 2 && methods.iter().any(|m| m.is_second_factor());
    let uv_passkey = proofs
        .iter()
        .any(|p| p.method == Method::Passkey && p.traits.user_verification);
    two || uv_passkey
}

/// The console's view of a browser's session. Blocking.
pub fn gate(state: &AppState, headers: &HeaderMap) -> Result<Gate> {
    let Some((value, _hash, session)) = crate::account::api::live_session(state, headers)? else {
        return Ok(Gate::NoSession);
    };
    let Some(user) = state.store().get_user(&session.user_id)? else {
        return Ok(Gate::NoSession);
    };
    if !is_admin(&user, &state.config().console.admin_group) {
        return Ok(Gate::NotAdmin(user));
    }
    if !proved_second_factor(&session) {
        return Ok(Gate::NoSecondFactor(user));
    }
    Ok(Gate::Admin(Console {
        user,
        csrf: crate::account::api::csrf_token(&value),
        session,
    }))
}

/// The refusal of a console session that may not use the console.
pub fn refusal(gate: &Gate) -> Option<Error> {
    match gate {
        Gate::NoSession => Some(Error::Unauthorized),
        Gate::NotAdmin(_) => Some(Error::AccessDenied(
            "the admin console is for administrators".into(),
        )),
        Gate::NoSecondFactor(_) => Some(Error::SecondFactorRequired),
        Gate::Admin(_) => None,
    }
}

/// Whether the request's `X-CSRF-Token` is `csrf` (constant time).
pub fn csrf_ok(headers: &HeaderMap, csrf: &str) -> bool {
    let sent = headers
        .get(crate::account::api::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    crate::crypto::ct_eq(sent.as_bytes(), csrf.as_bytes())
}

/// The management caller of a request without an `Authorization` header: an administrator's
/// console session (see the module's documentation). `Unauthorized` without a session.
pub async fn console_caller(
    state: &AppState,
    headers: &HeaderMap,
    method: &HttpMethod,
    path: &str,
) -> Result<TokenRecord> {
    let h = headers.clone();
    let gate = state.blocking(move |s| gate(s, &h)).await?;
    if let Some(e) = refusal(&gate) {
        return Err(e);
    }
    let Gate::Admin(console) = gate else {
        return Err(Error::Unauthorized);
    };
    let changes = !matches!(*method, HttpMethod::GET | HttpMethod::HEAD);
    if changes {
        if !csrf_ok(headers, &console.csrf) {
            return Err(Error::CsrfFailed);
        }
        let now = state.now();
        let uid = console.user.user_id.clone();
        let detail = format!("{method} {path}");
        state
            .db(move |s| s.audit(Some(&uid), "console.request", None, &detail, now))
            .await?;
    }
    Ok(TokenRecord {
        id: console.session.id.clone(),
        kind: TokenKind::Management,
        user_id: None,
        scopes: MANAGEMENT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        name: format!("console:{}", console.user.user_id),
        created_at: console.session.created_at,
        expires_at: Some(console.session.expires_at),
        revoked_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Traits;
    use crate::signin::flow::Proof;

    fn session(proofs: &[(Method, bool)]) -> SessionRecord {
        let proofs: Vec<Proof> = proofs
            .iter()
            .map(|(m, uv)| Proof {
                method: *m,
                traits: Traits {
                    user_verification: *uv,
                    ..Traits::default()
                },
                at: 1,
                authenticator_id: None,
            })
            .collect();
        SessionRecord {
            id: "ses_1".into(),
            user_id: "usr_1".into(),
            methods: serde_json::to_string(&proofs).unwrap(),
            created_at: 1,
            updated_at: 1,
            expires_at: 2,
            revoked_at: None,
            user_agent: String::new(),
            ip: String::new(),
        }
    }

    #[test]
    fn a_second_factor_is_two_methods_or_a_user_verified_passkey() {
        assert!(!proved_second_factor(&session(&[])));
        assert!(!proved_second_factor(&session(&[(
            Method::Password,
            false
        )])));
        assert!(!proved_second_factor(&session(&[
            (Method::Password, false),
            (Method::Password, false)
        ])));
        assert!(!proved_second_factor(&session(&[(Method::Email, false)])));
        assert!(!proved_second_factor(&session(&[(Method::Passkey, false)])));
        assert!(proved_second_factor(&session(&[(Method::Passkey, true)])));
        assert!(proved_second_factor(&session(&[
            (Method::Password, false),
            (Method::Totp, false)
        ])));
    }
}
