//! QR login (IBM-9, IBM-10): a browser asks for a session (LSI in the QR, DSI in its cookie), a
//! device signs an approval bound to the LSI, the browser with the DSI redeems it once.
//! Blocking functions.

use subtle::ConstantTimeEq;
use tessera_core::device::message::{context_hash, sha256};
use tessera_core::device::wire::{PushContext, QrLoginAnswerRequest, QrLoginDetails};
use tessera_core::device::{verify, Decision, QrLoginAnswer, QrLoginLink};

use crate::device::network;
use crate::device::store::{DeviceNetworks, DeviceRecord, QrSession, QrState};
use crate::device::{b64, random_chars, AppState};
use crate::error::{Error, Result};

/// A new session as the browser gets it (the DSI goes into its cookie, never into the QR).
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewSession {
    /// The login-session index.
    pub lsi: String,
    /// The `tessera://qr-login?…` link.
    pub link: String,
    /// The link as an SVG QR code.
    pub qr_svg: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// The device-session secret (the handler moves it into an HttpOnly cookie).
    #[serde(skip)]
    pub dsi: String,
}

/// Creates a session for a browser described by `context` (IP, user agent, location).
pub fn create(state: &AppState, mut context: PushContext) -> Result<NewSession> {
    let cfg = state.device_config();
    let now = state.now();
    context.created_at = now;
    // Per device, when one fetches the details.
    context.device_network = Default::default();
    context.device_network_prefix = String::new();
    if context.application.is_empty() {
        context.application = "QR login".into();
    }
    if context.origin.is_empty() {
        context.origin = cfg.origin.clone();
    }
    let lsi = random_chars(cfg.lsi_length, &cfg.lsi_charset)?;
    let dsi = random_chars(cfg.dsi_length, &cfg.dsi_charset)?;
    let session = QrSession {
        lsi: lsi.clone(),
        dsi_hash: sha256(dsi.as_bytes()),
        context,
        device_networks: DeviceNetworks::new(),
        created_at: now,
        expires_at: now.saturating_add(cfg.qr_ttl),
        state: QrState::Pending,
        user_id: None,
        device_id: None,
    };
    state.devices().insert_qr(&session)?;
    let link = QrLoginLink {
        origin: cfg.origin.clone(),
        lsi: lsi.clone(),
        server_key: state.identity().fingerprint().to_owned(),
    }
    .to_link();
    Ok(NewSession {
        qr_svg: crate::device::enrollment::qr_svg(&link)?,
        link,
        lsi,
        expires_at: session.expires_at,
        dsi,
    })
}

fn session(state: &AppState, lsi: &str) -> Result<QrSession> {
    if lsi.len() > 128 {
        return Err(Error::NotFound("login session"));
    }
    state
        .devices()
        .qr(lsi)?
        .ok_or(Error::NotFound("login session"))
}

/// The requester details `device` shows before the user approves, with the requester's network
/// compared with the device's last known one (taken at the device's first fetch and kept, so
/// the answer is checked against the very context the device showed).
pub fn details(state: &AppState, device: &DeviceRecord, lsi: &str) -> Result<QrLoginDetails> {
    let s = session(state, lsi)?;
    if s.state != QrState::Pending || state.now() >= s.expires_at {
        return Err(Error::Expired);
    }
    let check = network::compare(&s.context.ip, device.last_ip.as_deref());
    let check = state
        .devices()
        .qr_device_network(&s.lsi, &device.id, &check)?
        .ok_or(Error::NotFound("login session"))?;
    Ok(QrLoginDetails {
        lsi: s.lsi,
        origin: state.device_config().origin.clone(),
        context: check.apply(&s.context),
        expires_at: s.expires_at,
    })
}

/// Applies a device's signed answer (approve binds the session to the device's user).
pub fn answer(
    state: &AppState,
    device: &DeviceRecord,
    lsi: &str,
    req: &QrLoginAnswerRequest,
) -> Result<QrState> {
    let s = session(state, lsi)?;
    let now = state.now();
    let signature = b64("signature", &req.signature)?;
    let message = QrLoginAnswer {
        origin: state.device_config().origin.clone(),
        device_id: device.id.clone(),
        lsi: s.lsi.clone(),
        decision: req.decision,
        expires_at: s.expires_at,
        // What this device was shown; a device that never fetched the details was shown nothing.
        context_hash: context_hash(
            &s.device_networks
                .get(&device.id)
                .cloned()
                .unwrap_or_default()
                .apply(&s.context),
        ),
    };
    if verify(
        device.algorithm,
        &device.public_key,
        &message.signing_bytes(),
        &signature,
    )
    .is_err()
    {
        tracing::info!(device = %device.id, "bad QR-login answer signature");
        return Err(Error::Rejected);
    }
    if s.state != QrState::Pending {
        return Err(Error::Conflict(
            "the login session is no longer pending".into(),
        ));
    }
    if now >= s.expires_at {
        return Err(Error::Expired);
    }
    let new_state = match req.decision {
        Decision::Approve => QrState::Approved,
        Decision::Deny | Decision::NotMe => QrState::Denied,
    };
    if !state.devices().decide_qr(
        &s.lsi,
        new_state,
        Some(&device.user_id),
        Some(&device.id),
        now,
    )? {
        return Err(Error::Conflict(
            "the login session is no longer pending".into(),
        ));
    }
    state.hub().decided(&s.lsi);
    Ok(new_state)
}

/// Checks the browser's DSI against the session's (constant time).
fn check_dsi(s: &QrSession, dsi: Option<&str>) -> Result<()> {
    let Some(dsi) = dsi else {
        return Err(Error::BadCredentials);
    };
    if bool::from(sha256(dsi.as_bytes()).ct_eq(&s.dsi_hash)) {
        Ok(())
    } else {
        Err(Error::BadCredentials)
    }
}

/// The session's state for the browser holding its DSI.
pub fn status(state: &AppState, lsi: &str, dsi: Option<&str>) -> Result<QrState> {
    let s = session(state, lsi)?;
    check_dsi(&s, dsi)?;
    if s.state == QrState::Pending && state.now() >= s.expires_at {
        return Ok(QrState::Expired);
    }
    Ok(s.state)
}

/// Redeems an approved session, once, for the browser holding its DSI; the user id.
pub fn redeem(state: &AppState, lsi: &str, dsi: Option<&str>) -> Result<String> {
    let s = session(state, lsi)?;
    check_dsi(&s, dsi)?;
    if s.state != QrState::Approved {
        return Err(Error::Conflict("the login session is not approved".into()));
    }
    if !state.devices().redeem_qr(&s.lsi, state.now())? {
        return Err(Error::Conflict("the login session is not approved".into()));
    }
    s.user_id
        .ok_or(Error::Internal("approved session without a user".into()))
}
