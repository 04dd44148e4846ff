//! Self-service password reset and account unlock by email (EM-5): the same code-and-link email
//! as the sign-in. Asking never says whether the account exists (the answer is the same, and is
//! given before any mail goes out); the code counts on the user's failure counter like every
//! code; a reset sets the new password, clears the password's lock and ends every session; an
//! unlock clears the password's lock only. Other factors' locks stay (the lockout rules are
//! kept: a code by email does not stand in for a second factor).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::api::JsonBody;
use crate::device::http::Requester;
use crate::error::{Error, FlowError, Result};
use crate::model::{Factor, UserPatch};
use crate::oob::messages::{Locale, Purpose};
use crate::oob::{self, Channel};
use crate::store::oob::{OobLookup, OobRedeemed};
use crate::AppState;

/// Body of `POST /signin/api/recovery`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The user name.
    identifier: String,
    /// `reset` or `unlock`.
    purpose: String,
}

/// The answer: the same whether or not the account exists.
#[derive(Debug, Serialize)]
pub struct Asked {
    /// The recovery to complete with the code.
    pub recovery_id: String,
    /// `reset` or `unlock`.
    pub purpose: &'static str,
    /// Characters in the code, and which.
    pub code_length: u32,
    /// `digits`, `letters` or `alphanumeric`.
    pub code_charset: oob::config::Charset,
}

fn purpose_of(s: &str) -> Result<Purpose> {
    match s {
        "reset" => Ok(Purpose::Reset),
        "unlock" => Ok(Purpose::Unlock),
        _ => Err(Error::InvalidRequest(
            "`purpose`: must be `reset` or `unlock`".into(),
        )),
    }
}

/// `POST /signin/api/recovery` `{"identifier","purpose"}` → 202: if the account exists and has
/// an email address that may receive codes, a code and a link are sent (in the background).
pub async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Requester,
    JsonBody(body): JsonBody<AskBody>,
) -> Result<(StatusCode, Json<Asked>)> {
    let purpose = purpose_of(&body.purpose)?;
    if body.identifier.is_empty() || body.identifier.chars().count() > 256 {
        return Err(Error::InvalidRequest(
            "`identifier`: 1–256 characters".into(),
        ));
    }
    if !state.config().email.enabled() {
        return Err(Error::InvalidRequest(
            "email is not configured on this server: ask your administrator".into(),
        ));
    }
    let admitted = state
        .signin_starts()
        .lock()
        .map_err(|_| Error::Internal("sign-in start counter".into()))?
        .admit(
            &who.ip,
            state.now(),
            state.config().signin.starts_per_minute,
        );
    if !admitted {
        return Err(Error::RateLimited(
            "too many requests from this address: try again in a minute",
        ));
    }
    let recovery_id = crate::crypto::random_id("rcv_")?;
    let locale = Locale::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let name = body.identifier.clone();
    let found = state
        .blocking(move |s| {
            let store = s.store();
            let Some((user, _)) = store.find_user_by_username(&name)? else {
                return Ok(None);
            };
            let list = store.list_authenticators(&user.user_id)?;
            Ok(oob::authenticator_for(&list, Channel::Email)
                .cloned()
                .map(|a| (user, a)))
        })
        .await?;
    if let Some((user, authenticator)) = found {
        let (st, id) = (state.clone(), recovery_id.clone());
        // In the background: the answer takes as long for an unknown account.
        tokio::spawn(async move {
            let sent = oob::send_code(
                &st,
                oob::SendRequest {
                    user,
                    authenticator,
                    channel: Channel::Email,
                    purpose,
                    flow_id: Some(id),
                    locale,
                },
            )
            .await;
            if let Err(e) = sent {
                tracing::info!(error = %e, "recovery email not sent");
            }
        });
    }
    let settings = state.config().email.code();
    Ok((
        StatusCode::ACCEPTED,
        Json(Asked {
            recovery_id,
            purpose: purpose.as_str(),
            code_length: settings.code_length,
            code_charset: settings.code_charset,
        }),
    ))
}

/// Body of `POST /signin/api/recovery/complete`: the recovery and its code, or the link's
/// token; the new password for a reset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// From the answer to `ask`.
    #[serde(default)]
    recovery_id: Option<String>,
    /// The code from the email.
    #[serde(default)]
    code: Option<String>,
    /// Or the link's token (the part after `/signin/link/`).
    #[serde(default)]
    link: Option<String>,
    /// For a reset.
    #[serde(default)]
    password: Option<String>,
}

/// What a completed recovery did.
#[derive(Debug, Serialize)]
pub struct Completed {
    /// `reset` or `unlock`.
    pub purpose: &'static str,
    /// The user can sign in now.
    pub done: bool,
}

/// `POST /signin/api/recovery/complete`.
pub async fn complete(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Result<Json<Completed>> {
    let password = body.password.map(Zeroizing::new);
    if let Some(p) = &password {
        crate::api::users::check_password(p)?;
    }
    let (lookup, typed) = match (&body.recovery_id, &body.code, &body.link) {
        (Some(id), Some(code), None) => {
            let settings = state.config().email.code();
            let code = oob::normalize_code(code, &settings)?;
            (
                OobLookup::Latest {
                    user_id: None,
                    purpose: None,
                    flow_hash: Some(oob::flow_hash(id)),
                },
                Some(code),
            )
        }
        (None, None, Some(link)) => {
            let hash = oob::link_hash(link).ok_or_else(|| {
                Error::InvalidRequest("`link`: this link is not valid; ask for a new one".into())
            })?;
            (OobLookup::Link(hash), None)
        }
        _ => {
            return Err(Error::InvalidRequest(
                "send `recovery_id` and `code`, or `link`".into(),
            ))
        }
    };
    // Which purpose, before anything is used up: a reset needs its password.
    let peek = match &lookup {
        OobLookup::Link(h) => {
            let h = *h;
            state.db(move |s| s.oob_code(h)).await?
        }
        _ => None,
    };
    if let Some(row) = &peek {
        if row.purpose == Purpose::Reset.as_str() && password.is_none() {
            return Err(Error::InvalidRequest("`password` is required".into()));
        }
    }
    let row = match oob::redeem(&state, lookup, typed).await? {
        OobRedeemed::Accepted(row) => row,
        OobRedeemed::Rejected { .. } => return Err(Error::Flow(FlowError::InvalidCredentials)),
        OobRedeemed::Locked => return Err(Error::TooManyAttempts),
        OobRedeemed::Expired | OobRedeemed::Invalid => {
            return Err(Error::InvalidRequest(
                "the code or link has expired or was replaced; ask for a new one".into(),
            ))
        }
    };
    let purpose =
        Purpose::parse(&row.purpose).filter(|p| matches!(p, Purpose::Reset | Purpose::Unlock));
    let Some(purpose) = purpose else {
        return Err(Error::InvalidRequest(
            "this code is for signing in, not for recovery".into(),
        ));
    };
    let user_id = row.user_id.clone();
    let now = state.now();
    match purpose {
        Purpose::Reset => {
            let Some(pw) = password else {
                return Err(Error::InvalidRequest("`password` is required".into()));
            };
            let hash = crate::api::users::hash_password(pw.to_string()).await?;
            state
                .blocking(move |s| {
                    let store = s.store();
                    store.update_user(
                        &user_id,
                        UserPatch {
                            password_hash: Some(hash),
                            ..UserPatch::default()
                        },
                        now,
                    )?;
                    store.reset_failures(&user_id, Factor::Password)?;
                    store.end_sessions(&user_id, None, now)?;
                    store.audit(Some(&user_id), "password.reset", None, "email", now)
                })
                .await?;
        }
        Purpose::Unlock => {
            state
                .blocking(move |s| {
                    let store = s.store();
                    store.reset_failures(&user_id, Factor::Password)?;
                    store.audit(Some(&user_id), "unlock.self", None, "email", now)
                })
                .await?;
        }
        Purpose::SignIn | Purpose::Verify => {
            return Err(Error::Internal("recovery purpose".into()))
        }
    }
    Ok(Json(Completed {
        purpose: purpose.as_str(),
        done: true,
    }))
}

/// Where a recovery link goes: the sign-in page in its recovery mode, the token in the
/// fragment (never sent to a server, so never in a log or a referrer).
pub fn link_target(purpose: &str, token: &str) -> String {
    format!("/signin?recover={purpose}#link={token}")
}
