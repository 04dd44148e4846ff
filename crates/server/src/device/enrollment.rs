//! Enrollment: offers (single-use code, QR), then `begin` (challenge) and `finish` (proof of
//! possession, registration). Blocking functions; handlers run them on the blocking pool.

use data_encoding::BASE64URL_NOPAD;
use tessera_core::device::message::sha256;
use tessera_core::device::wire::{
    EnrollBeginResponse, EnrollFinishRequest, EnrollFinishResponse, EnrollOfferResponse,
};
use tessera_core::device::{verify, EnrollLink, EnrollmentProof};

use crate::device::store::{DeviceRecord, EnrollOffer};
use crate::device::{b64, push_authenticator_id, random_token, resolve_user, username};
use crate::error::{Error, Result};
use crate::model::{Authenticator, AuthenticatorKind, OtpParams};
use crate::store::NewOtp;
use crate::AppState;

/// Longest device name and platform accepted.
const MAX_NAME: usize = 64;

/// Renders `text` as an SVG QR code.
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Error::Internal(format!("QR encoding: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// Creates an enrollment offer for `user` (an id or a username).
pub fn create_offer(state: &AppState, user: &str) -> Result<EnrollOfferResponse> {
    let user_id = resolve_user(state, user)?.ok_or(Error::NotFound("user"))?;
    let username = username(state, &user_id)?.unwrap_or_else(|| user_id.clone());
    let now = state.now();
    let code = random_token(32)?;
    let offer = EnrollOffer {
        id: format!("off_{}", random_token(16)?),
        user_id,
        username: username.clone(),
        created_at: now,
        expires_at: now.saturating_add(state.device_config().offer_ttl),
        enrollment_id: None,
        challenge: None,
    };
    state
        .devices()
        .insert_offer(&offer, sha256(code.as_bytes()))?;
    let algorithms = state.device_config().algorithms.clone();
    let preferred = algorithms
        .first()
        .copied()
        .ok_or_else(|| Error::Config("`device.algorithms` is empty".into()))?;
    let link = EnrollLink {
        origin: state.device_config().origin.clone(),
        code,
        algorithms,
        preferred,
        server_key: state.identity().fingerprint().to_owned(),
        user: username,
    }
    .to_link();
    Ok(EnrollOfferResponse {
        qr_svg: qr_svg(&link)?,
        link,
        expires_at: offer.expires_at,
    })
}

/// `enroll/begin`: trades a valid code for an enrollment id and a challenge.
pub fn begin(state: &AppState, code: &str) -> Result<EnrollBeginResponse> {
    if code.len() > 128 {
        return Err(Error::InvalidRequest("`code` is too long".into()));
    }
    let enrollment_id = format!("enr_{}", random_token(16)?);
    let challenge = random_token(32)?;
    let offer = state
        .devices()
        .begin_enrollment(
            sha256(code.as_bytes()),
            &enrollment_id,
            &challenge,
            state.now(),
        )?
        .ok_or(Error::BadCredentials)?;
    Ok(EnrollBeginResponse {
        enrollment_id,
        challenge,
        server_public_key: BASE64URL_NOPAD.encode(state.identity().public_key()),
        user: offer.username,
    })
}

/// `enroll/finish`: verifies the proof of possession and registers the device, consuming the
/// offer exactly once. `client_ip` (the request's, or "unknown") becomes the device's last
/// known address.
pub fn finish(
    state: &AppState,
    req: &EnrollFinishRequest,
    client_ip: &str,
) -> Result<EnrollFinishResponse> {
    let now = state.now();
    if req.device_name.trim().is_empty() || req.device_name.chars().count() > MAX_NAME {
        return Err(Error::InvalidRequest(format!(
            "`device_name` must have 1–{MAX_NAME} characters"
        )));
    }
    if req.platform.chars().count() > MAX_NAME {
        return Err(Error::InvalidRequest(format!(
            "`platform` must have at most {MAX_NAME} characters"
        )));
    }
    if !state.device_config().algorithms.contains(&req.algorithm) {
        return Err(Error::InvalidRequest(format!(
            "`algorithm` {} is not offered by this server",
            req.algorithm
        )));
    }
    let public_key = b64("public_key", &req.public_key)?;
    req.algorithm.check_public_key(&public_key)?;
    let signature = b64("signature", &req.signature)?;
    let offer = state
        .devices()
        .find_enrollment(&req.enrollment_id, now)?
        .ok_or(Error::BadCredentials)?;
    let challenge = offer.challenge.clone().unwrap_or_default();
    let proof = EnrollmentProof {
        origin: state.device_config().origin.clone(),
        enrollment_id: req.enrollment_id.clone(),
        challenge,
        public_key: public_key.clone(),
        algorithm: req.algorithm,
        device_name: req.device_name.clone(),
        user_verification: req.user_verification,
    };
    if verify(
        req.algorithm,
        &public_key,
        &proof.signing_bytes(),
        &signature,
    )
    .is_err()
    {
        tracing::info!(enrollment = %req.enrollment_id, "bad proof of possession");
        return Err(Error::Rejected);
    }
    let device = DeviceRecord {
        id: format!("dev_{}", random_token(16)?),
        user_id: offer.user_id.clone(),
        name: req.device_name.trim().to_owned(),
        platform: req.platform.clone(),
        algorithm: req.algorithm,
        public_key,
        user_verification: req.user_verification,
        created_at: now,
        last_ip: crate::device::network::parse_ip(client_ip).map(|ip| ip.to_string()),
    };
    if !state
        .devices()
        .finish_enrollment(&req.enrollment_id, &device, now)?
    {
        return Err(Error::BadCredentials);
    }
    let otp_uri = paired_authenticators(state, &device, now)?;
    Ok(EnrollFinishResponse {
        device_id: device.id,
        user_id: device.user_id,
        otp_uri: Some(otp_uri),
    })
}

/// A0-4: the device's push authenticator (`push|<device id>`, kind oob) and its OTP twin,
/// created active and paired (`pair_id` = the device id) so deleting either deletes both. The
/// twin's otpauth URI goes to the device over its proven, pinned channel.
fn paired_authenticators(state: &AppState, device: &DeviceRecord, now: u64) -> Result<String> {
    let cfg = state.config();
    let store = state.store();
    let user = store
        .get_user(&device.user_id)?
        .ok_or(Error::NotFound("user"))?;
    store.create_authenticator(
        Authenticator {
            id: push_authenticator_id(&device.id),
            user_id: device.user_id.clone(),
            kind: AuthenticatorKind::Oob,
            name: device.name.clone(),
            active: true,
            oob_channel: Some("push".into()),
            pair_id: Some(device.id.clone()),
            created_at: now,
            last_used_at: None,
        },
        now,
    )?;
    let algorithm = cfg.totp_algorithm()?;
    let secret = crate::totp::new_secret(algorithm)?;
    let otp_id = crate::crypto::random_id("totp|dev_")?;
    let sealed = state.key().seal(&secret, otp_id.as_bytes())?;
    let uri = crate::totp::build_uri(
        &cfg.totp.uri_template,
        &user.username,
        &data_encoding::BASE32_NOPAD.encode(&secret),
        algorithm,
        cfg.totp.digits,
        cfg.totp.period,
    );
    store.create_otp(
        NewOtp {
            authenticator: Authenticator {
                id: otp_id,
                user_id: device.user_id.clone(),
                kind: AuthenticatorKind::Otp,
                name: device.name.clone(),
                active: true,
                oob_channel: None,
                pair_id: Some(device.id.clone()),
                created_at: now,
                last_used_at: None,
            },
            params: OtpParams {
                algorithm,
                digits: cfg.totp.digits,
                period: cfg.totp.period,
                secret_sealed: sealed,
                last_step: None,
            },
            // The paired twin does not count against the user's own OTP cap.
            max_enrollments: u32::MAX,
            recovery: None,
        },
        now,
    )?;
    Ok(uri)
}

/// Whether the device's push authenticator still exists on the user's side (the user or an
/// admin may delete the paired OTP authenticator, which deletes the push one with it: A0-4).
pub fn is_active(state: &AppState, device: &DeviceRecord) -> Result<bool> {
    let id = push_authenticator_id(&device.id);
    Ok(state
        .store()
        .list_authenticators(&device.user_id)?
        .iter()
        .any(|a| a.id == id))
}

/// Removes a device and its paired OTP authenticator; whether it existed.
pub fn remove(state: &AppState, device: &DeviceRecord) -> Result<bool> {
    let now = state.now();
    let existed = state.devices().delete_device(&device.id, now)?;
    if existed {
        state.store().delete_authenticator(
            &device.user_id,
            &push_authenticator_id(&device.id),
            now,
        )?;
    }
    Ok(existed)
}
