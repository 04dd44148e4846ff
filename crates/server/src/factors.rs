//! The factor operations shared by the MFA API, the management API and self-service:
//! enrolling an OTP authenticator, checking codes, regenerating recovery codes, and the
//! Auth0-shaped view of an authenticator.

use std::sync::Arc;

use data_encoding::BASE32_NOPAD;
use serde::Serialize;

use crate::crypto::random_id;
use crate::error::{Error, Result};
use crate::metrics::Validated;
use crate::model::{Authenticator, AuthenticatorKind, OtpParams, User, VerifyOutcome};
use crate::store::{NewOtp, OnSuccess};
use crate::totp;
use crate::{recovery, AppState};
use tessera_core::otp::TotpCheck;

/// Auth0's authenticator object (A0-3).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AuthenticatorView {
    /// `totp|dev_…`
    pub id: String,
    /// `otp`, `recovery-code` or `oob`.
    pub authenticator_type: AuthenticatorKind,
    /// For oob: `push`, `sms`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oob_channel: Option<String>,
    /// Masked name (never the full phone, email or user name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Confirmed; clients ignore inactive ones.
    pub active: bool,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of its last use in a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    /// For a passkey: its characteristics (OK-2), as [`crate::passkey::traits`] records them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characteristics: Option<crate::policy::Traits>,
}

/// Masks all but the first characters: `alice@example.com` → `ali**************`.
pub fn mask(name: &str) -> String {
    let n = name.chars().count();
    let keep = (n / 3).min(4);
    name.chars()
        .enumerate()
        .map(|(i, c)| if i < keep { c } else { '*' })
        .collect()
}

impl From<Authenticator> for AuthenticatorView {
    fn from(a: Authenticator) -> Self {
        AuthenticatorView {
            id: a.id,
            authenticator_type: a.kind,
            oob_channel: a.oob_channel,
            name: if a.name.is_empty() {
                None
            } else {
                Some(mask(&a.name))
            },
            active: a.active,
            created_at: a.created_at,
            last_used_at: a.last_used_at,
            characteristics: None,
        }
    }
}

/// The answer to an OTP association (Auth0's shape plus id and QR images).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AssociateResponse {
    /// Always `otp`.
    pub authenticator_type: String,
    /// The new authenticator's id (inactive until confirmed).
    pub id: String,
    /// Base32 secret.
    pub secret: String,
    /// The otpauth URI from the secret-URL template.
    pub barcode_uri: String,
    /// The QR code as `data:image/png;base64,…`.
    pub barcode_png: String,
    /// The QR code as an SVG document.
    pub barcode_svg: String,
    /// Recovery codes, when this enrollment created the user's set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// A user's authenticators, Auth0-shaped: the email, SMS and voice ones only where the server
/// can send through their channel ([`counts_as_factor`]).
pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<AuthenticatorView>> {
    let id = user_id.to_owned();
    let (list, passkeys) = state
        .db(move |s| Ok((s.list_authenticators(&id)?, s.passkeys(&id)?)))
        .await?;
    Ok(list
        .into_iter()
        .filter(|a| counts_as_factor(state, a))
        .map(|a| {
            let traits = passkeys
                .iter()
                .find(|p| p.authenticator_id == a.id)
                .map(crate::passkey::row_traits);
            let mut view = AuthenticatorView::from(a);
            view.characteristics = traits;
            view
        })
        .collect())
}

/// Whether the user has a confirmed authenticator.
pub async fn has_active(state: &AppState, user_id: &str) -> Result<bool> {
    let id = user_id.to_owned();
    let list = state.db(move |s| s.list_authenticators(&id)).await?;
    Ok(list.iter().any(|a| a.active && counts_as_factor(state, a)))
}

/// Whether an active authenticator makes MFA apply: an email, SMS or voice authenticator (kept
/// in step with the profile) only where the server can send through its channel.
pub fn counts_as_factor(state: &AppState, a: &Authenticator) -> bool {
    match (
        a.kind,
        a.oob_channel
            .as_deref()
            .and_then(crate::oob::Channel::of_name),
    ) {
        (AuthenticatorKind::Oob, Some(c)) => c.for_sign_in(&state.config()),
        _ => true,
    }
}

/// Enrolls a new (inactive) TOTP authenticator with the current policy.
pub async fn enroll_otp(state: &AppState, user: &User) -> Result<AssociateResponse> {
    let cfg = state.config();
    let algorithm = cfg.totp_algorithm()?;
    let (digits, period) = (cfg.totp.digits, cfg.totp.period);
    let secret = totp::new_secret(algorithm)?;
    let secret_b32 = BASE32_NOPAD.encode(&secret);
    let id = random_id("totp|dev_")?;
    let sealed = state.key().seal(&secret, id.as_bytes())?;
    let uri = totp::build_uri(
        &cfg.totp.uri_template,
        &user.username,
        &secret_b32,
        algorithm,
        digits,
        period,
    );
    let png = totp::qr_png(&uri)?;
    let svg = totp::qr_svg(&uri)?;
    let has_recovery = {
        let uid = user.user_id.clone();
        state
            .db(move |s| s.list_authenticators(&uid))
            .await?
            .iter()
            .any(|a| a.kind == AuthenticatorKind::RecoveryCode)
    };
    let (recovery, plain) = if cfg.recovery_codes.enabled && !has_recovery {
        let (plain, hashes) = recovery::generate_set(cfg.recovery_codes.count)?;
        (
            Some((random_id("recovery-code|dev_")?, hashes)),
            Some(plain),
        )
    } else {
        (None, None)
    };
    let new = NewOtp {
        authenticator: Authenticator {
            id: id.clone(),
            user_id: user.user_id.clone(),
            kind: AuthenticatorKind::Otp,
            name: user.username.clone(),
            active: false,
            oob_channel: None,
            pair_id: None,
            created_at: state.now(),
            last_used_at: None,
        },
        params: OtpParams {
            algorithm,
            digits,
            period,
            secret_sealed: sealed,
            last_step: None,
        },
        max_enrollments: cfg.totp.max_enrollments,
        recovery,
    };
    let now = state.now();
    state.db(move |s| s.create_otp(new, now)).await?;
    Ok(AssociateResponse {
        authenticator_type: "otp".into(),
        id,
        secret: secret_b32,
        barcode_uri: uri,
        barcode_png: totp::png_data_url(&png),
        barcode_svg: svg,
        recovery_codes: plain,
    })
}

/// Checks a TOTP code for `user_id` atomically with the failure counter and one-time use.
pub async fn verify_otp(
    state: &AppState,
    user_id: &str,
    code: &str,
    on_success: OnSuccess,
) -> Result<VerifyOutcome> {
    let key = Arc::clone(state.key_arc());
    let code = zeroize::Zeroizing::new(code.to_owned());
    let now = state.now();
    let skew = state.config().totp.skew;
    let one_time = state.config().totp.one_time_use;
    let check = Box::new(move |a: &Authenticator, p: &OtpParams| {
        let secret = key.open(&p.secret_sealed, a.id.as_bytes())?;
        let check = TotpCheck {
            unix_secs: now,
            period: p.period,
            digits: p.digits,
            algorithm: p.algorithm,
            skew,
            after: if one_time { p.last_step } else { None },
        };
        Ok(tessera_core::otp::verify_totp(
            &secret,
            code.trim(),
            &check,
        )?)
    });
    let policy = state.config().lockout.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = std::time::Instant::now();
    // Non-blocking submission: no blocking-pool thread waits for the commit.
    state.store().verify_otp(
        user_id,
        check,
        policy,
        on_success,
        now,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    let outcome = rx
        .await
        .map_err(|_| Error::Storage("verification dropped".into()))?;
    state
        .metrics()
        .observe_validation(Validated::Otp, started.elapsed());
    outcome
}

/// Checks a recovery code; when it was the last unused one, a new set is installed and returned.
pub async fn verify_recovery(
    state: &AppState,
    user_id: &str,
    code: &str,
    on_success: OnSuccess,
) -> Result<VerifyOutcome> {
    let hash = recovery::hash(code);
    let (plain, hashes) = recovery::generate_set(state.config().recovery_codes.count)?;
    let replacement = (random_id("recovery-code|dev_")?, hashes, plain);
    let policy = state.config().lockout.clone();
    let now = state.now();
    let uid = user_id.to_owned();
    let started = std::time::Instant::now();
    let outcome = state
        .db(move |s| s.verify_recovery_code(&uid, hash, replacement, policy, on_success, now))
        .await;
    state
        .metrics()
        .observe_validation(Validated::RecoveryCode, started.elapsed());
    outcome
}

/// Checks what a user typed where either code is accepted (the sample sign-in page): digits
/// only (spaces and dashes as typed aside) up to the longest OTP is a TOTP code, anything else a
/// recovery code (24 Crockford characters, whose hash ignores spaces and dashes itself). One
/// attempt is one check, counted once; whether it was accepted.
pub async fn check_code(state: &AppState, user_id: &str, code: &str) -> Result<bool> {
    let none = || OnSuccess {
        revoke_token_id: None,
        issue: None,
    };
    let compact: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let compact = zeroize::Zeroizing::new(compact);
    let is_otp = !compact.is_empty()
        && compact.len() <= usize::from(tessera_core::otp::MAX_DIGITS)
        && compact.bytes().all(|b| b.is_ascii_digit());
    let outcome = if is_otp {
        verify_otp(state, user_id, &compact, none()).await?
    } else {
        verify_recovery(state, user_id, code, none()).await?
    };
    Ok(matches!(outcome, VerifyOutcome::Accepted { .. }))
}

/// Replaces the user's recovery codes (the old set stops working at once).
pub async fn regenerate(state: &AppState, user_id: &str) -> Result<Vec<String>> {
    let (plain, hashes) = recovery::generate_set(state.config().recovery_codes.count)?;
    let id = random_id("recovery-code|dev_")?;
    let now = state.now();
    let uid = user_id.to_owned();
    state
        .db(move |s| s.replace_recovery_codes(&uid, id, hashes, now))
        .await?;
    Ok(plain)
}

/// The user, or `NotFound`.
pub async fn user(state: &AppState, user_id: &str) -> Result<User> {
    let id = user_id.to_owned();
    state
        .db(move |s| s.get_user(&id))
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Fails with `user_blocked` when an administrator locked `user_id` (an unknown user passes:
/// the caller answers for it as it would). Blocking: one store read.
pub fn ensure_not_blocked(store: &dyn crate::store::Store, user_id: &str) -> Result<()> {
    match store.get_user(user_id)? {
        Some(u) if u.blocked => Err(Error::UserBlocked),
        _ => Ok(()),
    }
}

/// Maps a verification outcome of a management or self-service check to the API.
pub fn expect_accepted(outcome: VerifyOutcome, what: &'static str) -> Result<VerifyOutcome> {
    match outcome {
        VerifyOutcome::Accepted { .. } => Ok(outcome),
        VerifyOutcome::Rejected => Err(Error::InvalidGrant(what)),
        VerifyOutcome::Locked => Err(Error::TooManyAttempts),
    }
}

/// The primary factor: checks `username` and `password` through the one lockout path every
/// password check uses (the password grant, the sign-in pages): an attempt is reserved before
/// the Argon2id check (refused while delayed or locked, with the same answer as a wrong
/// password), a success clears the counter, a failure is audited. Unknown users cost the same
/// work and get the same `None`, so the answer never tells whether a user exists.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: zeroize::Zeroizing<String>,
) -> Result<Option<User>> {
    let found = {
        let u = username.to_owned();
        state.db(move |s| s.find_user_by_username(&u)).await?
    };
    let dummy = state.dummy_hash().to_owned();
    let now = state.now();
    let Some((user, hash)) = found else {
        // Mirror a known user's work: one store write (their attempt reservation), one Argon2id
        // check, then the same answer.
        state
            .db(move |s| s.audit(None, "password_fail", None, "unknown user", now))
            .await?;
        argon2_check(password, dummy).await?;
        return Ok(None);
    };
    let policy = state.config().lockout.clone();
    let uid = user.user_id.clone();
    let admitted = state
        .db(move |s| s.reserve_attempt(&uid, crate::model::Factor::Password, policy, now))
        .await?;
    let ok = argon2_check(password, hash.clone().unwrap_or(dummy)).await? && hash.is_some();
    if !admitted || !ok {
        if admitted {
            // Not awaited, so a wrong password costs the same time as an unknown user.
            let (st, uid) = (state.clone(), user.user_id.clone());
            tokio::spawn(async move {
                let res = st
                    .db(move |s| s.audit(Some(&uid), "password_fail", None, "", now))
                    .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "audit write failed");
                }
            });
        }
        return Ok(None);
    }
    let uid = user.user_id.clone();
    state
        .db(move |s| s.reset_failures(&uid, crate::model::Factor::Password))
        .await?;
    Ok(Some(user))
}

async fn argon2_check(password: zeroize::Zeroizing<String>, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || crate::password::verify(&password, &hash))
        .await
        .map_err(|e| Error::Internal(format!("blocking task: {e}")))
}
