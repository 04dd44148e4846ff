//! What the handlers do, once: enrolling and verifying TOTP, recovery codes, tokens, the
//! authenticator list. Blocking functions over [`AppState`]; handlers run them through
//! [`AppState::db`].

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{json, Value};
use tessera_core::otp::{self, Algorithm};
use tessera_core::Secret;

use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::store::{Attempt, AuthRow, Check, Factor, TokenRow, UserRow};
use crate::AppState;

/// A new OTP enrollment, returned once.
#[derive(Debug, serde::Serialize)]
pub struct Enrollment {
    /// Always `otp`.
    pub authenticator_type: &'static str,
    /// The authenticator id.
    pub id: String,
    /// The secret, base32 (shown once).
    pub secret: String,
    /// The otpauth URI (Auth0 calls it `barcode_uri`).
    pub barcode_uri: String,
    /// The QR code of the URI, PNG, base64.
    pub qr_png_base64: String,
    /// The QR code of the URI, SVG.
    pub qr_svg: String,
    /// Recovery codes, when this enrollment created the user's first set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Fills the secret-URL template (IBM-7).
pub fn secret_url(
    template: &str,
    issuer: &str,
    user: &str,
    secret_b32: &str,
    alg: Algorithm,
    digits: u8,
    period: u32,
) -> String {
    template
        .replace("@ISSUER@", &enc(issuer))
        .replace("@USER_NAME@", &enc(user))
        .replace("@SECRET_KEY@", secret_b32)
        .replace("@ALGORITHM@", alg.as_str())
        .replace("@DIGITS@", &digits.to_string())
        .replace("@PERIOD@", &period.to_string())
}

/// PNG (base64) and SVG renderings of a QR code.
pub fn qr_images(text: &str) -> ApiResult<(String, String)> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(ApiError::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(200, 200)
        .build();
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(ApiError::internal)?;
    Ok((base64::engine::general_purpose::STANDARD.encode(png), svg))
}

/// Enrolls a new, inactive TOTP authenticator for a user with the current policy.
pub fn enroll_otp(state: &AppState, user: &UserRow) -> ApiResult<Enrollment> {
    let s = state.settings();
    let alg = s.algorithm;
    let secret = match alg {
        Algorithm::Sha1 => crypto::random_bytes::<20>().to_vec(),
        Algorithm::Sha256 => crypto::random_bytes::<32>().to_vec(),
        Algorithm::Sha512 => crypto::random_bytes::<64>().to_vec(),
    };
    let secret = Secret::from_bytes(secret).map_err(ApiError::internal)?;
    let b32 = secret.to_base32();
    let id = crypto::new_id("totp|dev_");
    let p = &s.config.totp;
    let uri = secret_url(
        &p.secret_url_template,
        &p.issuer,
        &user.username,
        &b32,
        alg,
        p.digits,
        p.period,
    );
    let row = AuthRow {
        id: id.clone(),
        user_id: user.id.clone(),
        kind: "otp".into(),
        name: format!("{} authenticator", p.issuer),
        sealed_secret: state.key().seal(&id, secret.as_bytes()),
        algorithm: alg.as_str().into(),
        digits: p.digits,
        period: p.period,
        active: false,
        last_step: None,
        created_at: state.now(),
    };
    state.store().add_authenticator(&row, p.max_enrollments)?;
    let recovery_codes = if state.store().recovery_codes_left(&user.id)? == 0 {
        Some(regenerate_recovery_codes(state, &user.id, false)?)
    } else {
        None
    };
    state.store().audit(
        state.now(),
        "enroll",
        Some(&user.id),
        json!({"authenticator_id": id, "algorithm": alg.as_str(), "digits": p.digits, "period": p.period}),
    )?;
    let (qr_png_base64, qr_svg) = qr_images(&uri)?;
    Ok(Enrollment {
        authenticator_type: "otp",
        id,
        secret: b32,
        barcode_uri: uri,
        qr_png_base64,
        qr_svg,
        recovery_codes,
    })
}

/// A new recovery-code set; the old one stops working.
pub fn regenerate_recovery_codes(
    state: &AppState,
    user_id: &str,
    audit: bool,
) -> ApiResult<Vec<String>> {
    let codes: Vec<String> = (0..state.settings().config.recovery.count)
        .map(|_| crypto::new_recovery_code())
        .collect();
    let hashes: Vec<[u8; 32]> = codes.iter().map(|c| crypto::sha256(c.as_bytes())).collect();
    state.store().replace_recovery_codes(user_id, &hashes)?;
    if audit {
        state
            .store()
            .audit(state.now(), "regenerate", Some(user_id), json!({}))?;
    }
    Ok(codes)
}

/// Turns a non-OK attempt into the HTTP error (and audits it).
fn attempt_error(state: &AppState, user_id: &str, factor: Factor, a: &Attempt) -> ApiError {
    let now = state.now();
    match a {
        Attempt::Ok { .. } => ApiError::internal("attempt_error on success"),
        Attempt::Failed {
            failures,
            locked_now,
        } => {
            let _ = state.store().audit(
                now,
                "verify_fail",
                Some(user_id),
                json!({"factor": factor.as_str(), "consecutive_failures": failures}),
            );
            if *locked_now {
                let _ = state.store().audit(
                    now,
                    "lockout",
                    Some(user_id),
                    json!({"factor": factor.as_str()}),
                );
            }
            let what = match factor {
                Factor::Otp => "Invalid otp_code.",
                Factor::RecoveryCode => "Invalid recovery_code.",
            };
            ApiError::new(StatusCode::FORBIDDEN, "invalid_grant", what)
        }
        Attempt::Delayed { retry_after } => {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("Too many failed attempts; wait {retry_after} s."),
            );
            e.retry_after = Some(*retry_after);
            e
        }
        Attempt::Locked => {
            let _ = state.store().audit(
                now,
                "verify_refused_locked",
                Some(user_id),
                json!({"factor": factor.as_str()}),
            );
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "This factor is locked after too many failed attempts; an administrator must reset it.",
            )
        }
    }
}

/// Verifies a TOTP code for a user (any of their OTP authenticators; an inactive one is
/// confirmed by it). One-time use, skew and lockout per the policy. Returns the
/// authenticator id.
pub fn verify_otp(state: &AppState, user_id: &str, code: &str) -> ApiResult<String> {
    let code = code.trim();
    if code.is_empty() || code.len() > 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        // Malformed input is still a failed attempt (no oracle on the format).
    }
    let p = &state.settings().config.totp;
    let (skew, one_time) = (p.skew, p.one_time_use);
    let now = state.now();
    let key = state.key();
    let mut check = |auths: &[AuthRow], _: &[[u8; 32]]| -> Check {
        let mut found = Check::NoMatch;
        for a in auths {
            let Some(secret) = key.open(&a.id, &a.sealed_secret) else {
                tracing::error!(authenticator = %a.id, "a sealed TOTP secret failed to open");
                continue;
            };
            let Ok(alg) = a.algorithm.parse::<Algorithm>() else {
                continue;
            };
            if usize::from(a.digits) != code.len() {
                continue;
            }
            if let Ok(Some(step)) =
                otp::verify_totp(&secret, code, now, a.period, a.digits, alg, skew)
            {
                let replay = one_time && a.last_step.is_some_and(|last| step <= last);
                if !replay && matches!(found, Check::NoMatch) {
                    found = Check::Otp {
                        authenticator_id: a.id.clone(),
                        step: if one_time { step } else { 0 },
                    };
                }
            }
        }
        found
    };
    let policy = state.settings().config.lockout.clone();
    let attempt = state
        .store()
        .attempt(user_id, Factor::Otp, now, &policy, &mut check)?;
    match attempt {
        Attempt::Ok {
            authenticator_id,
            activated,
        } => {
            let id = authenticator_id.unwrap_or_default();
            if activated {
                state.store().audit(
                    now,
                    "confirm",
                    Some(user_id),
                    json!({"authenticator_id": id}),
                )?;
            }
            state.store().audit(
                now,
                "verify_ok",
                Some(user_id),
                json!({"factor": "otp", "authenticator_id": id}),
            )?;
            Ok(id)
        }
        other => Err(attempt_error(state, user_id, Factor::Otp, &other)),
    }
}

/// Verifies and uses up a recovery code.
pub fn verify_recovery_code(state: &AppState, user_id: &str, code: &str) -> ApiResult<()> {
    let hash = crypto::sha256(crypto::normalize_recovery_code(code).as_bytes());
    let mut check = |_: &[AuthRow], codes: &[[u8; 32]]| -> Check {
        let mut hit = false;
        for c in codes {
            hit |= crypto::ct_eq(c, &hash);
        }
        if hit {
            Check::Recovery(hash)
        } else {
            Check::NoMatch
        }
    };
    let policy = state.settings().config.lockout.clone();
    let now = state.now();
    match state
        .store()
        .attempt(user_id, Factor::RecoveryCode, now, &policy, &mut check)?
    {
        Attempt::Ok { .. } => {
            state.store().audit(
                now,
                "verify_ok",
                Some(user_id),
                json!({"factor": "recovery-code"}),
            )?;
            Ok(())
        }
        other => Err(attempt_error(state, user_id, Factor::RecoveryCode, &other)),
    }
}

/// Whether MFA applies to a user at sign-in: an active authenticator, or an organization
/// that requires MFA (LG-5).
pub fn mfa_applies(state: &AppState, user: &UserRow) -> ApiResult<bool> {
    if state
        .store()
        .authenticators(&user.id)?
        .iter()
        .any(|a| a.active)
    {
        return Ok(true);
    }
    let orgs = state.store().organizations()?;
    Ok(user
        .organizations
        .iter()
        .any(|o| orgs.iter().any(|(name, req)| name == o && *req)))
}

/// Issues a token of a kind for a user.
pub fn issue_token(
    state: &AppState,
    kind: &str,
    user_id: &str,
    scopes: &[String],
    ttl: u64,
) -> ApiResult<String> {
    let token = crypto::new_token();
    let now = state.now();
    state.store().insert_token(&TokenRow {
        id: crypto::new_id("tok_"),
        hash: crypto::sha256(token.as_bytes()),
        kind: kind.into(),
        user_id: Some(user_id.into()),
        scopes: scopes.to_vec(),
        created_at: now,
        expires_at: Some(now.saturating_add(ttl)),
        revoked: false,
    })?;
    state.store().audit(
        now,
        "token_issue",
        Some(user_id),
        json!({"kind": kind, "scopes": scopes}),
    )?;
    Ok(token)
}

/// Masks a name for listing (A0-3 shows `+1123XXXXX`).
pub fn mask(name: &str) -> String {
    let keep = name.chars().count().min(4);
    let shown: String = name.chars().take(keep).collect();
    format!(
        "{shown}{}",
        "X".repeat(name.chars().count().saturating_sub(keep).min(8))
    )
}

/// The authenticator list in Auth0's shape (A0-3).
pub fn list_authenticators(state: &AppState, user_id: &str) -> ApiResult<Vec<Value>> {
    let mut out: Vec<Value> = state
        .store()
        .authenticators(user_id)?
        .into_iter()
        .map(|a| {
            json!({
                "authenticator_type": a.kind,
                "id": a.id,
                "name": mask(&a.name),
                "active": a.active,
                "created_at": a.created_at,
            })
        })
        .collect();
    if state.store().recovery_codes_left(user_id)? > 0 {
        out.push(json!({
            "authenticator_type": "recovery-code",
            "id": format!("recovery-code|{user_id}"),
            "active": true,
        }));
    }
    Ok(out)
}

/// Deletes an authenticator by its listed id, applying the pair rules (A0-4): the
/// recovery-code entry deletes the recovery codes; deleting the last OTP authenticator
/// leaves recovery codes (they remain a way in until regenerated or reset).
pub fn delete_authenticator(state: &AppState, user_id: &str, id: &str) -> ApiResult<()> {
    if let Some(owner) = id.strip_prefix("recovery-code|") {
        if owner != user_id || state.store().recovery_codes_left(user_id)? == 0 {
            return Err(ApiError::not_found("authenticator"));
        }
        state.store().replace_recovery_codes(user_id, &[])?;
    } else {
        state.store().delete_authenticator(user_id, id)?;
    }
    state.store().audit(
        state.now(),
        "delete",
        Some(user_id),
        json!({"authenticator_id": id}),
    )?;
    Ok(())
}
