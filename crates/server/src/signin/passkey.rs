//! Passkeys in the hosted sign-in (docs/signin.md#passkeys): `…/passkey/options` starts a
//! ceremony fitting the step (at `identifier`: passwordless, any discoverable credential; at
//! `verify` offering `passkey`: the user's passkeys; at `enroll` offering `passkey`: a
//! registration, as `…/enroll` with `passkey` does), keeping its state in the stored flow;
//! `…/passkey` (or `…/verify` with `passkey`) answers it with the browser's credential. A
//! ceremony is taken from the flow before its answer is checked: one answer per challenge.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::api::{add_proof, current_stage, require_offered, run, step_name, Extras, OnFlow};
use super::flow::{self, Proof, Stage};
use crate::api::JsonBody;
use crate::error::{Error, FlowError, Result};
use crate::passkey::{self, PasskeyChallenge, Purpose, RegistrationState};
use crate::policy::Method;
use crate::AppState;

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(format!("passkey state: {e}")))
}

fn challenge(state: &AppState, purpose: Purpose, st: serde_json::Value) -> PasskeyChallenge {
    PasskeyChallenge {
        purpose,
        state: st,
        expires_at: state
            .now()
            .saturating_add(state.config().passkey.ceremony_secs),
    }
}

fn with_options(options: serde_json::Value) -> Extras {
    let mut extras = Extras::default();
    extras.passkey = Some(options);
    extras
}

/// Starts a registration in `ctx`'s flow (its stage was checked). Blocking.
fn start_enroll(s: &AppState, ctx: &mut super::api::Ctx) -> Result<Extras> {
    let uid = ctx
        .loaded
        .flow
        .user_id
        .clone()
        .ok_or(Error::Flow(FlowError::WrongStep("identifier")))?;
    let user = s.store().get_user(&uid)?.ok_or(Error::NotFound("user"))?;
    let (options, reg) = passkey::start_registration(s, &user)?;
    ctx.loaded.flow.passkey = Some(challenge(s, Purpose::Enroll, to_value(&reg)?));
    Ok(with_options(options))
}

/// `…/enroll` with `passkey`: the view's `passkey` carries the creation options.
pub(super) async fn begin_enroll(state: &AppState, on: OnFlow) -> Result<Response> {
    run(state, on, start_enroll).await
}

/// `POST /signin/api/flows/{id}/passkey/options`: starts the ceremony the step calls for.
pub(super) async fn options(State(state): State<AppState>, on: OnFlow) -> Result<Response> {
    run(&state, on, |s, ctx| match current_stage(s, ctx)? {
        Stage::Identifier => {
            let (options, st) = passkey::start_authentication(s, None)?;
            ctx.loaded.flow.passkey = Some(challenge(s, Purpose::Passwordless, to_value(&st)?));
            Ok(with_options(options))
        }
        st @ Stage::Verify { .. } => {
            require_offered(&st, Method::Passkey)?;
            let uid = ctx
                .loaded
                .flow
                .user_id
                .clone()
                .ok_or(Error::Flow(FlowError::WrongStep("identifier")))?;
            let (options, st) = passkey::start_authentication(s, Some(&uid))?;
            ctx.loaded.flow.passkey = Some(challenge(s, Purpose::Verify, to_value(&st)?));
            ctx.loaded.flow.method = Some(Method::Passkey);
            Ok(with_options(options))
        }
        Stage::Enroll { methods, .. } if methods.contains(&Method::Passkey) => start_enroll(s, ctx),
        Stage::Enroll { .. } => Err(Error::InvalidRequest(
            "`method`: passkey cannot be set up here".into(),
        )),
        st => Err(Error::Flow(FlowError::WrongStep(step_name(&st)))),
    })
    .await
}

/// Body of `…/passkey`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The `PublicKeyCredential` from `navigator.credentials.get` or `.create`, as JSON
    /// (binary fields base64url).
    credential: serde_json::Value,
    /// "Remember this browser" (where offered), for a second factor.
    #[serde(default)]
    remember_browser: bool,
}

/// `POST /signin/api/flows/{id}/passkey`.
pub(super) async fn answer(
    State(state): State<AppState>,
    on: OnFlow,
    JsonBody(body): JsonBody<AnswerBody>,
) -> Result<Response> {
    finish(&state, on, body.credential, body.remember_browser).await
}

/// Answers the flow's ceremony with `credential`: a proven passkey (second factor,
/// passwordless: the user identified too) or a registered one.
pub(super) async fn finish(
    state: &AppState,
    on: OnFlow,
    credential: serde_json::Value,
    remember: bool,
) -> Result<Response> {
    let pre = on.clone();
    let (proof, identified, purpose) = state
        .blocking(move |s| {
            let mut ctx = pre.open(s)?;
            let stage = current_stage(s, &ctx)?;
            // Taken (and stored without it) before the answer is checked: single use.
            let ch = ctx.loaded.flow.passkey.take().ok_or_else(|| {
                Error::Passkey(
                    "no passkey ceremony is in progress in this sign-in: ask for its options first"
                        .into(),
                )
            })?;
            flow::save(s, &mut ctx.loaded)?;
            if s.now() >= ch.expires_at {
                return Err(Error::Passkey(
                    "the passkey ceremony expired: start it again".into(),
                ));
            }
            let uid = ctx.loaded.flow.user_id.clone();
            let now = s.now();
            let bad_state = |e: serde_json::Error| Error::Storage(format!("stored ceremony: {e}"));
            match ch.purpose {
                Purpose::Passwordless | Purpose::Verify => {
                    let expected = if ch.purpose == Purpose::Passwordless {
                        if stage != Stage::Identifier {
                            return Err(Error::Flow(FlowError::WrongStep(step_name(&stage))));
                        }
                        None
                    } else {
                        require_offered(&stage, Method::Passkey)?;
                        Some(uid.ok_or(Error::Flow(FlowError::WrongStep("identifier")))?)
                    };
                    let auth = serde_json::from_value(ch.state).map_err(bad_state)?;
                    let asserted =
                        passkey::finish_authentication(s, expected.as_deref(), &credential, &auth)?;
                    let proof = Proof {
                        method: Method::Passkey,
                        traits: asserted.traits,
                        at: now,
                        authenticator_id: Some(asserted.authenticator_id),
                    };
                    let identified = expected.is_none().then_some(asserted.user_id);
                    Ok((proof, identified, ch.purpose))
                }
                Purpose::Enroll => {
                    match &stage {
                        Stage::Enroll { methods, .. } if methods.contains(&Method::Passkey) => {}
                        st => return Err(Error::Flow(FlowError::WrongStep(step_name(st)))),
                    }
                    let uid = uid.ok_or(Error::Flow(FlowError::WrongStep("identifier")))?;
                    let reg: RegistrationState =
                        serde_json::from_value(ch.state).map_err(bad_state)?;
                    let (authenticator, traits) =
                        passkey::finish_registration(s, &uid, &credential, &reg)?;
                    let proof = Proof {
                        method: Method::Passkey,
                        traits,
                        at: now,
                        authenticator_id: Some(authenticator.id),
                    };
                    Ok((proof, None, ch.purpose))
                }
            }
        })
        .await?;
    run(state, on, move |s, ctx| {
        if let Some(uid) = identified {
            let st = current_stage(s, ctx)?;
            if st != Stage::Identifier {
                return Err(Error::Flow(FlowError::WrongStep(step_name(&st))));
            }
            let user = s.store().get_user(&uid)?.ok_or(Error::NotFound("user"))?;
            ctx.loaded.flow.identifier = Some(user.username);
            ctx.loaded.flow.user_id = Some(uid);
        }
        add_proof(s, ctx, proof)?;
        if remember && purpose == Purpose::Verify {
            ctx.loaded.flow.remember = true;
        }
        Ok(Extras::default())
    })
    .await
}
