//! Passkeys (WebAuthn, LG-1; OK-2's phishing resistance, hardware protection and user
//! verification) on webauthn-rs: the relying party from `[passkey]`, registration and
//! assertion ceremonies, the stored credential and its signature counter.
//!
//! Ceremony state (the challenge and what it expects) never goes to the browser: it is kept in
//! the sign-in flow's stored document ([`PasskeyChallenge`]) or, for the self-service API, in a
//! stored pending-ceremony row bound to the user ([`crate::store::Ceremony`]), and taken once.
//! That is why webauthn-rs's `danger-allow-state-serialisation` feature is on: the state must
//! survive between the two requests of a ceremony, possibly on two instances.
//!
//! Every assertion, second factor or passwordless, is checked the same way: the credential is
//! looked up by its id, opened (sealed at rest under the master key, bound to its
//! authenticator id), and the signature checked against it with the challenge of the stored
//! state (webauthn-rs's discoverable-authentication state, which checks one given credential).
//! A signature counter that does not increase (when either value is non-zero) refuses the
//! assertion as a possibly cloned authenticator, audited `passkey.cloned`; the new counter is
//! stored by compare-and-set, so two sign-ins presenting one counter value cannot both pass.

pub mod api;
#[cfg(feature = "testing")]
pub mod soft;

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
    Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::crypto::{random_bytes, random_id};
use crate::error::{Error, Result};
use crate::model::{Authenticator, AuthenticatorKind, User};
use crate::policy::Traits;
use crate::store::passkeys::credential_context;
use crate::store::{PasskeyRow, PasskeyUse};
use crate::AppState;

/// `[passkey]`: the WebAuthn relying party.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeyConfig {
    /// The relying party id (a domain: the origin's host or a parent of it); empty: the host of
    /// `rp_origin`.
    pub rp_id: String,
    /// The origin the browser runs the ceremonies on (`https://id.example.com`); empty:
    /// `device.origin`, the server's public origin.
    pub rp_origin: String,
    /// The name authenticators show.
    pub rp_name: String,
    /// How long a ceremony (from its options to the browser's answer) may take, 30–600 s.
    pub ceremony_secs: u64,
}

impl Default for PasskeyConfig {
    fn default() -> Self {
        PasskeyConfig {
            rp_id: String::new(),
            rp_origin: String::new(),
            rp_name: "Tessera".into(),
            ceremony_secs: 300,
        }
    }
}

impl PasskeyConfig {
    /// Checks the settings that are set.
    pub fn validate(&self) -> Result<()> {
        let bad = |k: &str, why: &str| Error::Config(format!("`passkey.{k}`: {why}"));
        if !self.rp_origin.is_empty() {
            let url = Url::parse(&self.rp_origin)
                .map_err(|_| bad("rp_origin", "must be an origin like https://id.example.com"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(bad("rp_origin", "must be an http(s) origin"));
            }
        }
        if !self.rp_id.is_empty()
            && !self
                .rp_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(bad("rp_id", "must be a domain name like example.com"));
        }
        if self.rp_name.trim().is_empty() || self.rp_name.len() > 64 {
            return Err(bad("rp_name", "must have 1–64 characters"));
        }
        if !(30..=600).contains(&self.ceremony_secs) {
            return Err(bad("ceremony_secs", "must be 30–600"));
        }
        if !self.rp_origin.is_empty() {
            build(&self.rp_id, &self.rp_origin, &self.rp_name)?;
        }
        Ok(())
    }
}

fn build(rp_id: &str, rp_origin: &str, rp_name: &str) -> Result<Webauthn> {
    let origin = Url::parse(rp_origin)
        .map_err(|_| Error::Config(format!("`passkey.rp_origin`: `{rp_origin}` is no origin")))?;
    let id = if rp_id.is_empty() {
        origin.host_str().unwrap_or_default().to_owned()
    } else {
        rp_id.to_owned()
    };
    WebauthnBuilder::new(&id, &origin)
        .and_then(|b| b.rp_name(rp_name).build())
        .map_err(|e| {
            Error::Config(format!(
                "`passkey.rp_id`: `{id}` is not a domain of the origin `{origin}` ({e}); \
                 passkeys need a domain name: set `passkey.rp_origin`"
            ))
        })
}

/// The origin passkeys use when `passkey.rp_origin` is not set: `device.origin`, except that
/// a loopback address (`http://127.0.0.1:8377`, the default on a development machine) becomes
/// `localhost` on the same port: WebAuthn takes no IP address as relying party id, and browsers
/// count `localhost` as a secure context.
pub fn default_origin(device_origin: &str) -> String {
    match Url::parse(device_origin) {
        Ok(mut url) => {
            let host = url.host_str().unwrap_or_default();
            let loopback = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
            if loopback && url.set_host(Some("localhost")).is_ok() {
                url.origin().ascii_serialization()
            } else {
                device_origin.to_owned()
            }
        }
        Err(_) => device_origin.to_owned(),
    }
}

/// The relying party in force: `[passkey]`, its defaults derived from `device.origin`.
pub fn relying_party(state: &AppState) -> Result<Webauthn> {
    let cfg = &state.config().passkey;
    let origin = if cfg.rp_origin.is_empty() {
        default_origin(&state.device_config().origin)
    } else {
        cfg.rp_origin.clone()
    };
    build(&cfg.rp_id, &origin, &cfg.rp_name)
}

/// A ceremony's purpose in the sign-in flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A second factor (or a step of the chain) for the identified user.
    Verify,
    /// Passwordless: a discoverable credential identifies the user.
    Passwordless,
    /// Registering a passkey at the set-up stage.
    Enroll,
}

/// A ceremony in progress in a sign-in flow (kept in the stored flow document, never sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    /// What it is for.
    pub purpose: Purpose,
    /// webauthn-rs's state ([`RegistrationState`] or [`DiscoverableAuthentication`]), JSON.
    pub state: serde_json::Value,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A registration's server-side state: webauthn-rs's, and the user handle it was made for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationState {
    /// The WebAuthn user handle, base64url.
    pub handle: String,
    /// webauthn-rs's state.
    pub registration: PasskeyRegistration,
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(format!("passkey state: {e}")))
}

fn refused(e: &WebauthnError) -> Error {
    // webauthn-rs's errors name the check that failed (origin, relying party, challenge,
    // signature, counter), never key material.
    match e {
        WebauthnError::CredentialPossibleCompromise => Error::PasskeyCloned,
        other => Error::Passkey(other.to_string()),
    }
}

/// The user's WebAuthn user handle: the one of their passkeys, or 16 new random bytes.
fn user_handle(rows: &[PasskeyRow]) -> Result<Vec<u8>> {
    match rows.first() {
        Some(r) => Ok(r.user_handle.clone()),
        None => Ok(random_bytes::<16>()?.to_vec()),
    }
}

/// Starts registering a passkey for `user` (blocking): the options for
/// `navigator.credentials.create` and the state to keep. A resident (discoverable) credential
/// is preferred, so the passkey also signs in without a user name; the user's passkeys are
/// excluded (one authenticator, one passkey).
pub fn start_registration(
    state: &AppState,
    user: &User,
) -> Result<(serde_json::Value, RegistrationState)> {
    let wa = relying_party(state)?;
    let rows = state.store().passkeys(&user.user_id)?;
    let handle = user_handle(&rows)?;
    let uuid = Uuid::from_slice(&handle).map_err(|_| Error::Internal("user handle".into()))?;
    let exclude = rows
        .iter()
        .map(|r| r.credential_id.clone())
        .collect::<Vec<_>>();
    let (options, registration): (CreationChallengeResponse, PasskeyRegistration) = wa
        .start_passkey_registration(uuid, &user.username, &user.username, Some(exclude))
        .map_err(|e| refused(&e))?;
    let mut options = to_json(&options)?;
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        sel.insert("residentKey".into(), "preferred".into());
    }
    Ok((
        options,
        RegistrationState {
            handle: BASE64URL_NOPAD.encode(&handle),
            registration,
        },
    ))
}

/// The flags webauthn-rs keeps in a credential.
fn flags(passkey: &Passkey) -> Result<(u32, bool, bool, bool)> {
    let v = to_json(passkey)?;
    let c = v
        .get("cred")
        .ok_or_else(|| Error::Internal("passkey credential".into()))?;
    let flag = |k: &str| {
        c.get(k)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let counter = c
        .get("counter")
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    Ok((
        counter,
        flag("backup_eligible"),
        flag("backup_state"),
        flag("user_verified"),
    ))
}

/// The characteristics (OK-2) a passkey has: phishing resistance always (the browser binds
/// its signature to the origin); user interaction always (webauthn-rs requires user
/// presence); user verification when the authenticator verified the user (PIN, biometric);
/// hardware protection when the authenticator said the key cannot be backed up (not
/// backup-eligible: device-bound). The last is the authenticator's own word: without
/// attestation nothing proves it.
pub fn traits(user_verified: bool, backup_eligible: bool) -> Traits {
    Traits {
        phishing_resistant: true,
        hardware_protected: !backup_eligible,
        user_interaction: true,
        user_verification: user_verified,
    }
}

/// The characteristics of a stored passkey.
pub fn row_traits(row: &PasskeyRow) -> Traits {
    traits(row.user_verified, row.backup_eligible)
}

/// Finishes a registration (blocking): checks the browser's credential against the state and
/// stores an active passkey authenticator.
pub fn finish_registration(
    state: &AppState,
    user_id: &str,
    credential: &serde_json::Value,
    reg: &RegistrationState,
) -> Result<(Authenticator, Traits)> {
    let wa = relying_party(state)?;
    let credential: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
        .map_err(|e| Error::Passkey(format!("`credential` is not a registration answer: {e}")))?;
    let passkey = wa
        .finish_passkey_registration(&credential, &reg.registration)
        .map_err(|e| refused(&e))?;
    let (counter, backup_eligible, backup_state, user_verified) = flags(&passkey)?;
    let handle = BASE64URL_NOPAD
        .decode(reg.handle.as_bytes())
        .map_err(|_| Error::Internal("user handle".into()))?;
    let now = state.now();
    let id = random_id("passkey|dev_")?;
    let plain = serde_json::to_vec(&passkey).map_err(|e| Error::Internal(e.to_string()))?;
    let sealed = state.key().seal(&plain, &credential_context(&id))?;
    let authenticator = Authenticator {
        id: id.clone(),
        user_id: user_id.to_owned(),
        kind: AuthenticatorKind::Passkey,
        name: String::new(),
        active: true,
        oob_channel: None,
        pair_id: None,
        created_at: now,
        last_used_at: None,
    };
    let row = PasskeyRow {
        authenticator_id: id,
        user_id: user_id.to_owned(),
        credential_id: passkey.cred_id().to_vec(),
        user_handle: handle,
        credential_sealed: sealed,
        counter,
        backup_eligible,
        backup_state,
        user_verified,
        created_at: now,
        last_used_at: None,
    };
    state
        .store()
        .create_passkey(authenticator.clone(), row, now)?;
    Ok((authenticator, traits(user_verified, backup_eligible)))
}

/// Starts an assertion (blocking): for `user_id`'s passkeys (a second factor; the options
/// list them), or for any discoverable credential (`None`: passwordless). The options for
/// `navigator.credentials.get` and the state to keep.
pub fn start_authentication(
    state: &AppState,
    user_id: Option<&str>,
) -> Result<(serde_json::Value, DiscoverableAuthentication)> {
    let wa = relying_party(state)?;
    let (rcr, st): (RequestChallengeResponse, DiscoverableAuthentication) = wa
        .start_discoverable_authentication()
        .map_err(|e| refused(&e))?;
    let mut options = to_json(&rcr)?;
    if let Some(o) = options.as_object_mut() {
        // A button starts it: the browser's own dialog, not conditional mediation.
        o.remove("mediation");
    }
    if let Some(uid) = user_id {
        let allow: Vec<serde_json::Value> = state
            .store()
            .passkeys(uid)?
            .iter()
            .map(|r| {
                serde_json::json!({
                    "type": "public-key",
                    "id": BASE64URL_NOPAD.encode(&r.credential_id),
                })
            })
            .collect();
        if allow.is_empty() {
            return Err(Error::Passkey("this user has no passkey".into()));
        }
        if let Some(pk) = options.get_mut("publicKey").and_then(|v| v.as_object_mut()) {
            pk.insert("allowCredentials".into(), allow.into());
        }
    }
    Ok((options, st))
}

/// An accepted assertion.
#[derive(Debug, Clone)]
pub struct Asserted {
    /// Whose passkey.
    pub user_id: String,
    /// The authenticator.
    pub authenticator_id: String,
    /// Its characteristics as this assertion showed them.
    pub traits: Traits,
}

/// Checks an assertion (blocking) against the stored state: the credential must be
/// `user_id`'s (a second factor) or, passwordless (`None`), carry the user handle it was
/// registered with. Audits refusals (`passkey.refused`, `passkey.cloned`).
pub fn finish_authentication(
    state: &AppState,
    user_id: Option<&str>,
    credential: &serde_json::Value,
    auth: &DiscoverableAuthentication,
) -> Result<Asserted> {
    let wa = relying_party(state)?;
    let credential: PublicKeyCredential = serde_json::from_value(credential.clone())
        .map_err(|e| Error::Passkey(format!("`credential` is not an assertion: {e}")))?;
    let row = state
        .store()
        .passkey_by_credential(credential.raw_id.as_slice())?
        .filter(|r| user_id.is_none_or(|u| u == r.user_id))
        .ok_or_else(|| Error::Passkey("this passkey is not registered here".into()))?;
    let now = state.now();
    let audit = |kind: &str, detail: &str| {
        state.store().audit(
            Some(&row.user_id),
            kind,
            Some(&row.authenticator_id),
            detail,
            now,
        )
    };
    if user_id.is_none() {
        // Passwordless: the authenticator names the user; it must be the passkey's.
        let handle = credential
            .get_user_unique_id()
            .ok_or_else(|| Error::Passkey("the passkey named no user".into()))?;
        if !crate::crypto::ct_eq(handle, &row.user_handle) {
            audit("passkey.refused", "user handle does not match")?;
            return Err(Error::Passkey("the passkey named another user".into()));
        }
    }
    let plain = state.key().open(
        &row.credential_sealed,
        &credential_context(&row.authenticator_id),
    )?;
    let mut passkey: Passkey = serde_json::from_slice(&plain)
        .map_err(|e| Error::Storage(format!("stored passkey: {e}")))?;
    // The stored counter is the one that counts (the credential's copy is the same, kept in
    // step below).
    let result = match wa.finish_discoverable_authentication_v2(&credential, auth.clone(), &passkey)
    {
        Ok(r) => r,
        Err(e) => {
            let err = refused(&e);
            let kind = if matches!(err, Error::PasskeyCloned) {
                "passkey.cloned"
            } else {
                "passkey.refused"
            };
            audit(kind, &e.to_string())?;
            return Err(err);
        }
    };
    let presented = result.counter();
    if (presented > 0 || row.counter > 0) && presented <= row.counter {
        audit(
            "passkey.cloned",
            &format!("signature counter {presented} after {}", row.counter),
        )?;
        return Err(Error::PasskeyCloned);
    }
    passkey.update_credential(&result);
    let plain = serde_json::to_vec(&passkey).map_err(|e| Error::Internal(e.to_string()))?;
    let sealed = state
        .key()
        .seal(&plain, &credential_context(&row.authenticator_id))?;
    let recorded = state.store().use_passkey(
        &row.authenticator_id,
        row.counter,
        PasskeyUse {
            counter: presented,
            credential_sealed: sealed,
            backup_state: result.backup_state(),
            user_verified: result.user_verified(),
            now,
        },
    )?;
    if !recorded {
        // Another assertion of this passkey was recorded since this one started: one of the
        // two presented a stale counter.
        audit(
            "passkey.cloned",
            &format!("signature counter {presented} raced another use"),
        )?;
        return Err(Error::PasskeyCloned);
    }
    Ok(Asserted {
        user_id: row.user_id.clone(),
        authenticator_id: row.authenticator_id.clone(),
        traits: traits(
            result.user_verified(),
            row.backup_eligible || result.backup_eligible(),
        ),
    })
}
