//! Enrollment: offers (single-use code, QR), then `begin` (challenge) and `finish` (proof of
//! possession, registration). Blocking functions; handlers run them on the blocking pool.

use data_encoding::BASE64URL_NOPAD;
use tessera_core::device::message::sha256;
use tessera_core::device::wire::{
    EnrollBeginResponse, EnrollFinishRequest, EnrollFinishResponse, EnrollOfferResponse,
};
use tessera_core::device::{verify, EnrollLink, EnrollmentProof};

use crate::device::error::{DeviceError, Result};
use crate::device::store::{DeviceRecord, EnrollOffer};
use crate::device::{b64, random_token, DeviceState};

/// Longest device name and platform accepted.
const MAX_NAME: usize = 64;

/// Renders `text` as an SVG QR code.
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| DeviceError::Internal(format!("QR encoding: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// Creates an enrollment offer for `user` (an id or a username).
pub fn create_offer(state: &DeviceState, user: &str) -> Result<EnrollOfferResponse> {
    let user_id = state
        .directory()
        .resolve_user(user)?
        .ok_or(DeviceError::NotFound("user"))?;
    let username = state
        .directory()
        .username(&user_id)?
        .unwrap_or_else(|| user_id.clone());
    let now = state.now();
    let code = random_token(32)?;
    let offer = EnrollOffer {
        id: format!("off_{}", random_token(16)?),
        user_id,
        username: username.clone(),
        created_at: now,
        expires_at: now.saturating_add(state.config().offer_ttl),
        enrollment_id: None,
        challenge: None,
    };
    state
        .store()
        .insert_offer(&offer, sha256(code.as_bytes()))?;
    let algorithms = state.config().algorithms.clone();
    let preferred = algorithms
        .first()
        .copied()
        .ok_or_else(|| DeviceError::Config("`algorithms` is empty".into()))?;
    let link = EnrollLink {
        origin: state.config().origin.clone(),
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
pub fn begin(state: &DeviceState, code: &str) -> Result<EnrollBeginResponse> {
    if code.len() > 128 {
        return Err(DeviceError::InvalidRequest("`code` is too long".into()));
    }
    let enrollment_id = format!("enr_{}", random_token(16)?);
    let challenge = random_token(32)?;
    let offer = state
        .store()
        .begin_enrollment(
            sha256(code.as_bytes()),
            &enrollment_id,
            &challenge,
            state.now(),
        )?
        .ok_or(DeviceError::Unauthorized)?;
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
    state: &DeviceState,
    req: &EnrollFinishRequest,
    client_ip: &str,
) -> Result<EnrollFinishResponse> {
    let now = state.now();
    if req.device_name.trim().is_empty() || req.device_name.chars().count() > MAX_NAME {
        return Err(DeviceError::InvalidRequest(format!(
            "`device_name` must have 1–{MAX_NAME} characters"
        )));
    }
    if req.platform.chars().count() > MAX_NAME {
        return Err(DeviceError::InvalidRequest(format!(
            "`platform` must have at most {MAX_NAME} characters"
        )));
    }
    if !state.config().algorithms.contains(&req.algorithm) {
        return Err(DeviceError::InvalidRequest(format!(
            "`algorithm` {} is not offered by this server",
            req.algorithm
        )));
    }
    let public_key = b64("public_key", &req.public_key)?;
    req.algorithm.check_public_key(&public_key)?;
    let signature = b64("signature", &req.signature)?;
    let offer = state
        .store()
        .find_enrollment(&req.enrollment_id, now)?
        .ok_or(DeviceError::Unauthorized)?;
    let challenge = offer.challenge.clone().unwrap_or_default();
    let proof = EnrollmentProof {
        origin: state.config().origin.clone(),
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
        return Err(DeviceError::Rejected);
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
        .store()
        .finish_enrollment(&req.enrollment_id, &device, now)?
    {
        return Err(DeviceError::Unauthorized);
    }
    let otp_uri =
        state
            .directory()
            .device_enrolled(&device.user_id, &device.id, &device.name, now)?;
    Ok(EnrollFinishResponse {
        device_id: device.id,
        user_id: device.user_id,
        otp_uri,
    })
}

/// Removes a device and its paired OTP authenticator; whether it existed.
pub fn remove(state: &DeviceState, device: &DeviceRecord) -> Result<bool> {
    let now = state.now();
    let existed = state.store().delete_device(&device.id, now)?;
    if existed {
        state
            .directory()
            .device_removed(&device.user_id, &device.id, now)?;
    }
    Ok(existed)
}
