//! Self-service passkey registration (docs/signin.md#passkeys): `POST
//! /api/v2/me/authenticators {"type":"passkey"}` begins a ceremony (its options and id; the
//! state stays server-side, bound to the user, for `passkey.ceremony_secs`), `POST
//! /api/v2/me/passkey-verification` finishes it with the browser's credential. The account
//! center (`/account/api/authenticators/passkey…`) calls the same [`begin`] and [`complete`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{finish_registration, start_registration, RegistrationState};
use crate::api::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::factors::AuthenticatorView;
use crate::model::User;
use crate::store::Ceremony;
use crate::AppState;

/// The prefix of ceremony ids.
const CEREMONY_PREFIX: &str = "pkc_";

/// A registration begun.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationBegun {
    /// Always `passkey`.
    pub authenticator_type: String,
    /// Hand it back with the credential (single use).
    pub ceremony_id: String,
    /// Unix seconds; the ceremony is refused from then on.
    pub expires_at: u64,
    /// `PublicKeyCredentialCreationOptions` for `navigator.credentials.create` (binary fields
    /// base64url), under `publicKey`.
    pub options: serde_json::Value,
}

/// Begins a registration for `user` (the step-up check is the caller's).
pub async fn begin(state: &AppState, user: User) -> Result<RegistrationBegun> {
    state
        .blocking(move |s| {
            let (options, reg) = start_registration(s, &user)?;
            let id = format!("{CEREMONY_PREFIX}{}", crate::device::random_token(32)?);
            let now = s.now();
            let expires_at = now.saturating_add(s.config().passkey.ceremony_secs);
            let state_json =
                serde_json::to_string(&reg).map_err(|e| Error::Internal(e.to_string()))?;
            s.store().put_ceremony(Ceremony {
                id_hash: crate::crypto::sha256(id.as_bytes()),
                user_id: user.user_id.clone(),
                kind: "registration".into(),
                state: state_json,
                created_at: now,
                expires_at,
            })?;
            Ok(RegistrationBegun {
                authenticator_type: "passkey".into(),
                ceremony_id: id,
                expires_at,
                options,
            })
        })
        .await
}

/// Body of `POST /api/v2/me/passkey-verification`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    /// From the answer that began the ceremony.
    pub ceremony_id: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, as JSON (binary fields
    /// base64url).
    pub credential: serde_json::Value,
}

/// `POST /api/v2/me/passkey-verification` (enroll) → 201 with the new authenticator.
pub async fn finish(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<FinishBody>,
) -> Result<(StatusCode, Json<AuthenticatorView>)> {
    let user_id = crate::api::me::me(&caller)?;
    caller.require("enroll")?;
    let view = complete(&state, user_id, body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Finishes `user_id`'s registration begun by [`begin`]: the ceremony is taken (once, and
/// only as that user's) and the browser's credential checked against it; the new passkey.
pub async fn complete(
    state: &AppState,
    user_id: String,
    body: FinishBody,
) -> Result<AuthenticatorView> {
    if !body.ceremony_id.starts_with(CEREMONY_PREFIX) || body.ceremony_id.len() > 100 {
        return Err(Error::Passkey("unknown or expired ceremony".into()));
    }
    state
        .blocking(move |s| {
            let hash = crate::crypto::sha256(body.ceremony_id.as_bytes());
            let now = s.now();
            // Taken once: a replay, or a second try after a failure, needs a new ceremony.
            let ceremony = s
                .store()
                .take_ceremony(hash, now)?
                .filter(|c| c.kind == "registration")
                .ok_or_else(|| Error::Passkey("unknown or expired ceremony".into()))?;
            if ceremony.user_id != user_id {
                // Another user's ceremony: refused, and used up.
                return Err(Error::Passkey("unknown or expired ceremony".into()));
            }
            let reg: RegistrationState = serde_json::from_str(&ceremony.state)
                .map_err(|e| Error::Storage(format!("stored ceremony: {e}")))?;
            let (authenticator, traits) = finish_registration(s, &user_id, &body.credential, &reg)?;
            let mut view = AuthenticatorView::from(authenticator);
            view.characteristics = Some(traits);
            Ok(view)
        })
        .await
}
