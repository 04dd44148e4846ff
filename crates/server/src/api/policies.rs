//! `/api/v2/policies/sign-in`: the sign-in policy (docs/policies.md) — read, replace (a new
//! version each time, kept with who and when), its history, and a dry run.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::AuthenticatorKind;
use crate::policy::{evaluate, Decision, Enrolled, Method, Policy, Subject, Traits, UserFacts};
use crate::store::PolicyVersion;
use crate::AppState;

/// A version of the policy as the API shows it.
#[derive(Debug, Serialize)]
pub struct PolicyView {
    /// 0 while no policy was ever written (then `policy` is the built-in default).
    pub version: u64,
    /// The policy.
    pub policy: Policy,
    /// Who wrote it (the management token's name and id); absent for the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Unix seconds; absent for the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
}

/// One entry of the history.
#[derive(Debug, Serialize)]
pub struct VersionEntry {
    /// 1, 2, …
    pub version: u64,
    /// Who wrote it.
    pub author: String,
    /// Unix seconds.
    pub created_at: u64,
}

fn view(v: PolicyVersion) -> Result<PolicyView> {
    let policy = serde_json::from_str(&v.document)
        .map_err(|e| Error::Storage(format!("stored policy version {}: {e}", v.version)))?;
    Ok(PolicyView {
        version: v.version,
        policy,
        author: Some(v.author),
        created_at: Some(v.created_at),
    })
}

/// The policy in force: the latest version, or the default.
pub async fn current(state: &AppState) -> Result<PolicyView> {
    match state.db(|s| s.policy(None)).await? {
        Some(v) => view(v),
        None => Ok(PolicyView {
            version: 0,
            policy: Policy::default(),
            author: None,
            created_at: None,
        }),
    }
}

fn with_etag(view: &PolicyView, body: Response) -> Response {
    let mut resp = body;
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", view.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// `GET /api/v2/policies/sign-in` (read:policies).
pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    caller.management("read:policies")?;
    let v = current(&state).await?;
    let body = Json(&v).into_response();
    Ok(with_etag(&v, body))
}

/// The version an `If-Match` header names (`"3"` or `3`); `None` without the header.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            Error::InvalidRequest(
                "header `If-Match`: the policy version as the ETag gave it, e.g. \"3\"".into(),
            )
        })
}

/// `PUT /api/v2/policies/sign-in` (update:policies): validates the whole policy (the error
/// names the field) and stores it as the next version. With `If-Match: "<version>"`, only if
/// that is still the latest (409 otherwise).
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response> {
    caller.management("update:policies")?;
    let expected = if_match(&headers)?;
    let policy =
        Policy::parse(&serde_json::to_vec(&body).map_err(|e| Error::Internal(e.to_string()))?)?;
    let document = serde_json::to_string(&policy).map_err(|e| Error::Internal(e.to_string()))?;
    let author = format!("{} ({})", caller.0.name, caller.0.id);
    let now = state.now();
    let stored = state
        .db(move |s| s.put_policy(&document, &author, expected, now))
        .await?;
    let v = view(stored)?;
    let body = Json(&v).into_response();
    Ok(with_etag(&v, body))
}

/// `GET /api/v2/policies/sign-in/versions` (read:policies): newest first.
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<VersionEntry>>> {
    caller.management("read:policies")?;
    let all = state.db(|s| s.policy_versions()).await?;
    Ok(Json(
        all.into_iter()
            .map(|v| VersionEntry {
                version: v.version,
                author: v.author,
                created_at: v.created_at,
            })
            .collect(),
    ))
}

/// `GET /api/v2/policies/sign-in/versions/{version}` (read:policies).
pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path(version): Path<String>,
) -> Result<Json<PolicyView>> {
    caller.management("read:policies")?;
    let n: u64 = version
        .parse()
        .map_err(|_| Error::InvalidRequest("`version` must be a positive integer".into()))?;
    let v = state
        .db(move |s| s.policy(Some(n)))
        .await?
        .ok_or(Error::NotFound("policy version"))?;
    Ok(Json(view(v)?))
}

/// Body of the dry run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    /// A user id or username.
    user: String,
    /// The application's client id; absent: the account pages.
    #[serde(default)]
    application: Option<String>,
    /// The typing-rhythm signal to evaluate with, as if the password had just been typed:
    /// `{"score": 0–100}`, `"learning"` or `"no_sample"`; absent: none (docs/signals.md).
    #[serde(default)]
    typing: Option<crate::policy::TypingSignal>,
}

/// The dry run's answer: the user, the policy version and the decision.
#[derive(Debug, Serialize)]
pub struct DryRunAnswer {
    /// The user id.
    pub user_id: String,
    /// The policy version evaluated (0: the default).
    pub policy_version: u64,
    /// The decision: matched rule, chains with progress, what comes first.
    #[serde(flatten)]
    pub decision: Decision,
}

/// What the store knows of a user, for the evaluator. Blocking.
pub fn user_facts(state: &AppState, user_id: &str) -> Result<UserFacts> {
    let store = state.store();
    let user = store.get_user(user_id)?.ok_or(Error::NotFound("user"))?;
    let mut enrolled = Vec::new();
    let passkeys = store.passkeys(user_id)?;
    for a in store.list_authenticators(user_id)? {
        if !a.active {
            continue;
        }
        if a.kind == AuthenticatorKind::Passkey {
            // Its characteristics as registered and last used (crate::passkey::traits).
            if let Some(p) = passkeys.iter().find(|p| p.authenticator_id == a.id) {
                enrolled.push(Enrolled {
                    id: a.id,
                    method: Method::Passkey,
                    pair: None,
                    traits: crate::passkey::row_traits(p),
                    last_used_at: a.last_used_at,
                });
            }
            continue;
        }
        let method = match (a.kind, a.oob_channel.as_deref()) {
            (AuthenticatorKind::Otp, _) => Method::Totp,
            (AuthenticatorKind::RecoveryCode, _) => Method::RecoveryCode,
            (AuthenticatorKind::Oob, Some("push")) => Method::Push,
            // Email, SMS and voice count where the server can send through them (and email
            // where it proves sign-ins, EM-3).
            (AuthenticatorKind::Oob, Some(ch)) => {
                match crate::oob::Channel::of_name(ch).filter(|c| c.for_sign_in(&state.config())) {
                    Some(c) => c.method(),
                    None => continue,
                }
            }
            (AuthenticatorKind::Oob, None) => continue,
            (AuthenticatorKind::Passkey, _) => continue,
        };
        // A device key records whether a PIN or biometric unlocks it (OK-2); it is kept in
        // the operating system's key store, not in dedicated hardware.
        let user_verification = match (method, &a.pair_id) {
            (Method::Push, Some(device)) => state
                .devices()
                .device(device)?
                .is_some_and(|d| d.user_verification),
            _ => false,
        };
        let traits = Traits {
            user_verification,
            ..Traits::INTERACTION
        };
        if method == Method::Push {
            // The device's key also approves QR logins.
            enrolled.push(Enrolled {
                id: a.id.clone(),
                method: Method::QrLogin,
                pair: a.pair_id.clone(),
                traits,
                last_used_at: a.last_used_at,
            });
        }
        enrolled.push(Enrolled {
            id: a.id,
            method,
            pair: a.pair_id,
            traits,
            last_used_at: a.last_used_at,
        });
    }
    Ok(UserFacts {
        org_requires_mfa: store.org_requires_mfa(user_id)?,
        organizations: user.organizations,
        groups: user.groups,
        has_password: user.has_password,
        enrolled,
        verified_email: false,
        verified_phone: false,
        created_at: user.created_at,
        sign_ins: u32::try_from(user.sign_ins).unwrap_or(u32::MAX),
        prompt_skipped: user.mfa_prompt_skipped,
    })
}

/// `POST /api/v2/policies/sign-in/dry-run` (read:policies): what `user` needs to sign in to
/// `application` now, without a global session.
pub async fn dry_run(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DryRun>,
) -> Result<Json<DryRunAnswer>> {
    caller.management("read:policies")?;
    if let Some(crate::policy::TypingSignal::Score(s)) = body.typing {
        if s > 100 {
            return Err(Error::InvalidRequest("`typing.score`: 0–100".into()));
        }
    }
    let in_force = current(&state).await?;
    let policy_since = in_force.created_at.unwrap_or(0);
    let user = body.user.clone();
    let (user_id, facts) = state
        .blocking(move |s| {
            let id = crate::device::resolve_user(s, &user)?.ok_or(Error::NotFound("user"))?;
            let facts = user_facts(s, &id)?;
            Ok((id, facts))
        })
        .await?;
    let subject = Subject {
        user: facts,
        application: body.application,
        identity_provider: "local".into(),
        policy_since,
        mfa_required_globally: state.config().mfa.required,
        now: state.now(),
        typing: body.typing,
        ..Subject::default()
    };
    Ok(Json(DryRunAnswer {
        user_id,
        policy_version: in_force.version,
        decision: evaluate(&in_force.policy, &subject),
    }))
}
