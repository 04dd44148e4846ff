//! Authentication of each device request by its key (`tessera/v1/request`): headers
//! `Tessera-Device`, `Tessera-Timestamp`, `Tessera-Nonce`, `Tessera-Signature`; a timestamp
//! within the window and a nonce not seen within it.

use axum::http::{HeaderMap, Method, Uri};
use tessera_core::device::message::sha256;
use tessera_core::device::{verify, RequestAuth};

use crate::device::b64;
use crate::device::store::DeviceRecord;
use crate::error::{Error, Result};
use crate::AppState;

/// Header naming the device.
pub const H_DEVICE: &str = "tessera-device";
/// Header with the Unix timestamp of signing.
pub const H_TIMESTAMP: &str = "tessera-timestamp";
/// Header with the request nonce.
pub const H_NONCE: &str = "tessera-nonce";
/// Header with the base64url signature.
pub const H_SIGNATURE: &str = "tessera-signature";

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .ok_or_else(|| Error::InvalidRequest(format!("header `{name}` is missing")))
}

/// Verifies a signed device request; the registered device on success. Blocking (store).
pub fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<DeviceRecord> {
    let device_id = header(headers, H_DEVICE)?;
    let timestamp: u64 = header(headers, H_TIMESTAMP)?
        .parse()
        .map_err(|_| Error::InvalidRequest(format!("header `{H_TIMESTAMP}` is not a number")))?;
    let nonce = header(headers, H_NONCE)?;
    let signature = b64(H_SIGNATURE, header(headers, H_SIGNATURE)?)?;
    let now = state.now();
    let window = state.device_config().request_window;
    if timestamp.abs_diff(now) > window {
        tracing::info!(device = device_id, "device request outside the time window");
        return Err(Error::Rejected);
    }
    let Some(device) = state.devices().device(device_id)? else {
        tracing::info!(device = device_id, "request from an unknown device");
        return Err(Error::Rejected);
    };
    let message = RequestAuth {
        origin: state.device_config().origin.clone(),
        device_id: device.id.clone(),
        method: method.as_str().to_owned(),
        path_and_query: uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| uri.path().to_owned()),
        timestamp,
        nonce: nonce.to_owned(),
        body_sha256: sha256(body),
    };
    if verify(
        device.algorithm,
        &device.public_key,
        &message.signing_bytes(),
        &signature,
    )
    .is_err()
    {
        tracing::info!(device = device_id, "bad request signature");
        return Err(Error::Rejected);
    }
    if !crate::device::enrollment::is_active(state, &device)? {
        tracing::info!(device = device_id, "device whose authenticator was deleted");
        return Err(Error::Rejected);
    }
    // Remember the nonce past the window on both sides of `now`.
    let keep_until = now.saturating_add(window.saturating_mul(2));
    if !state
        .devices()
        .remember_nonce(&device.id, nonce, keep_until, now)?
    {
        tracing::info!(device = device_id, "replayed device request");
        return Err(Error::Rejected);
    }
    Ok(device)
}
