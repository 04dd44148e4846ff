//! QR-login sessions.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{
    audit_in, context_json, execute, i, networks_json, notify, parse_context, parse_networks,
    query_opt, u, Client,
};
use crate::device::network::NetworkCheck;
use crate::device::store::{QrSession, QrState};
use crate::error::{Error, Result};
use crate::store::pg::notify::decided_payload;

fn session_from(r: &Row) -> Result<QrSession> {
    let hash: Vec<u8> = r.try_get(1)?;
    let context: String = r.try_get(2)?;
    let state: String = r.try_get(5)?;
    let networks: String = r.try_get(8)?;
    Ok(QrSession {
        lsi: r.try_get(0)?,
        dsi_hash: hash
            .try_into()
            .map_err(|_| Error::Storage("stored hash is not 32 bytes".into()))?,
        context: parse_context(&context)?,
        device_networks: parse_networks(&networks)?,
        created_at: u(r.try_get(3)?),
        expires_at: u(r.try_get(4)?),
        state: QrState::parse(&state)?,
        user_id: r.try_get(6)?,
        device_id: r.try_get(7)?,
    })
}

pub(super) async fn insert<C: GenericClient>(c: &C, s: &QrSession) -> Result<()> {
    let ctx = context_json(&s.context)?;
    let nets = networks_json(&s.device_networks)?;
    execute(
        c,
        "INSERT INTO device_qr_sessions (lsi, dsi_hash, context, created_at, expires_at, \
         state, device_networks) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &s.lsi,
            &s.dsi_hash.as_slice(),
            &ctx,
            &i(s.created_at),
            &i(s.expires_at),
            &s.state.as_str(),
            &nets,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn get<C: GenericClient>(c: &C, lsi: &str) -> Result<Option<QrSession>> {
    let row = query_opt(
        c,
        "SELECT lsi, dsi_hash, context, created_at, expires_at, state, user_id, device_id, \
         device_networks FROM device_qr_sessions WHERE lsi = $1",
        &[&lsi],
    )
    .await?;
    row.as_ref().map(session_from).transpose()
}

/// The first check stored for the device wins: the row is locked while it is read and
/// written, so a fetch on another instance waits and then reads what this one stored.
pub(super) async fn device_network(
    mut c: Client,
    lsi: String,
    device_id: String,
    check: NetworkCheck,
) -> Result<Option<NetworkCheck>> {
    let tx = c.transaction().await?;
    let row = query_opt(
        &tx,
        "SELECT device_networks FROM device_qr_sessions WHERE lsi = $1 FOR UPDATE",
        &[&lsi],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: String = row.try_get(0)?;
    let mut nets = parse_networks(&stored)?;
    if let Some(first) = nets.get(&device_id) {
        return Ok(Some(first.clone()));
    }
    nets.insert(device_id, check.clone());
    execute(
        &tx,
        "UPDATE device_qr_sessions SET device_networks = $1 WHERE lsi = $2",
        &[&networks_json(&nets)?, &lsi],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(check))
}

/// Pending → `state`, once (the first device to answer wins, on any instance).
pub(super) async fn decide(
    mut c: Client,
    lsi: String,
    state: QrState,
    user_id: Option<String>,
    device_id: Option<String>,
    now: u64,
) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = execute(
        &tx,
        "UPDATE device_qr_sessions SET state = $1, user_id = $2, device_id = $3, \
         decided_at = $4 WHERE lsi = $5 AND state = 'pending'",
        &[&state.as_str(), &user_id, &device_id, &i(now), &lsi],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    audit_in(
        &tx,
        user_id.as_deref(),
        &format!("qr_login.{}", state.as_str()),
        device_id.as_deref(),
        "",
        now,
    )
    .await?;
    notify(&tx, &decided_payload(&lsi)).await?;
    tx.commit().await?;
    Ok(true)
}

/// Approved → redeemed, once: the browser signs in on one instance only.
pub(super) async fn redeem(mut c: Client, lsi: String, now: u64) -> Result<bool> {
    let tx = c.transaction().await?;
    let row = query_opt(
        &tx,
        "UPDATE device_qr_sessions SET state = 'redeemed', decided_at = $1 \
         WHERE lsi = $2 AND state = 'approved' AND expires_at > $1 \
         RETURNING user_id, device_id",
        &[&i(now), &lsi],
    )
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let user: Option<String> = row.try_get(0)?;
    let device: Option<String> = row.try_get(1)?;
    audit_in(
        &tx,
        user.as_deref(),
        "qr_login.redeemed",
        device.as_deref(),
        "",
        now,
    )
    .await?;
    notify(&tx, &decided_payload(&lsi)).await?;
    tx.commit().await?;
    Ok(true)
}
