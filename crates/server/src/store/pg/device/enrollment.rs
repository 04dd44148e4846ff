//! Meta values, enrollment offers, devices and request nonces.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{audit_in, execute, i, query, query_one, query_opt, u, Client};
use crate::device::store::{DeviceRecord, EnrollOffer};
use crate::error::{Error, Result};

pub(super) async fn meta<C: GenericClient>(c: &C, key: &str) -> Result<Option<Vec<u8>>> {
    let row = query_opt(c, "SELECT value FROM device_meta WHERE key = $1", &[&key]).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Inserts unless present and reads back: of instances racing to set the same key, the losers
/// wait for the winner's commit (`ON CONFLICT` waits on the row) and read its value.
pub(super) async fn meta_set_if_absent<C: GenericClient>(
    c: &C,
    key: &str,
    value: &[u8],
) -> Result<Vec<u8>> {
    execute(
        c,
        "INSERT INTO device_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        &[&key, &value],
    )
    .await?;
    let row = query_one(c, "SELECT value FROM device_meta WHERE key = $1", &[&key]).await?;
    Ok(row.try_get(0)?)
}

pub(super) async fn insert_offer(
    mut c: Client,
    offer: EnrollOffer,
    code_hash: [u8; 32],
) -> Result<()> {
    let tx = c.transaction().await?;
    execute(
        &tx,
        "INSERT INTO device_enroll_offers (id, code_hash, user_id, username, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &offer.id,
            &code_hash.as_slice(),
            &offer.user_id,
            &offer.username,
            &i(offer.created_at),
            &i(offer.expires_at),
        ],
    )
    .await?;
    audit_in(
        &tx,
        Some(&offer.user_id),
        "device.offer_created",
        None,
        &format!("offer {}", offer.id),
        offer.created_at,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const OFFER_COLUMNS: &str =
    "id, user_id, username, created_at, expires_at, enrollment_id, challenge";

fn offer_from(r: &Row) -> Result<EnrollOffer> {
    Ok(EnrollOffer {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        username: r.try_get(2)?,
        created_at: u(r.try_get(3)?),
        expires_at: u(r.try_get(4)?),
        enrollment_id: r.try_get(5)?,
        challenge: r.try_get(6)?,
    })
}

pub(super) async fn begin<C: GenericClient>(
    c: &C,
    code_hash: [u8; 32],
    enrollment_id: &str,
    challenge: &str,
    now: u64,
) -> Result<Option<EnrollOffer>> {
    let row = query_opt(
        c,
        &format!(
            "UPDATE device_enroll_offers SET enrollment_id = $1, challenge = $2 \
             WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $4 \
             RETURNING {OFFER_COLUMNS}"
        ),
        &[&enrollment_id, &challenge, &code_hash.as_slice(), &i(now)],
    )
    .await?;
    row.as_ref().map(offer_from).transpose()
}

pub(super) async fn find<C: GenericClient>(
    c: &C,
    enrollment_id: &str,
    now: u64,
) -> Result<Option<EnrollOffer>> {
    let row = query_opt(
        c,
        &format!(
            "SELECT {OFFER_COLUMNS} FROM device_enroll_offers \
             WHERE enrollment_id = $1 AND used_at IS NULL AND expires_at > $2"
        ),
        &[&enrollment_id, &i(now)],
    )
    .await?;
    row.as_ref().map(offer_from).transpose()
}

const DEVICE_COLUMNS: &str =
    "id, user_id, name, platform, algorithm, public_key, user_verification, created_at, last_ip";

fn device_from(r: &Row) -> Result<DeviceRecord> {
    let algorithm: String = r.try_get(4)?;
    Ok(DeviceRecord {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        name: r.try_get(2)?,
        platform: r.try_get(3)?,
        algorithm: algorithm
            .parse()
            .map_err(|_| Error::Storage("stored algorithm unknown".into()))?,
        public_key: r.try_get(5)?,
        user_verification: r.try_get(6)?,
        created_at: u(r.try_get(7)?),
        last_ip: r.try_get(8)?,
    })
}

/// Uses the offer (its `used_at` set once: a second finish, here or on another instance,
/// changes no row) and registers the device, in one transaction.
pub(super) async fn finish(
    mut c: Client,
    enrollment_id: String,
    device: DeviceRecord,
    now: u64,
) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = execute(
        &tx,
        "UPDATE device_enroll_offers SET used_at = $1 \
         WHERE enrollment_id = $2 AND used_at IS NULL AND expires_at > $1",
        &[&i(now), &enrollment_id],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    execute(
        &tx,
        &format!(
            "INSERT INTO device_devices ({DEVICE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        &[
            &device.id,
            &device.user_id,
            &device.name,
            &device.platform,
            &device.algorithm.as_str(),
            &device.public_key,
            &device.user_verification,
            &i(device.created_at),
            &device.last_ip,
        ],
    )
    .await?;
    audit_in(
        &tx,
        Some(&device.user_id),
        "device.enrolled",
        Some(&device.id),
        &format!(
            "name={:?} platform={:?} alg={}",
            device.name, device.platform, device.algorithm
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn device<C: GenericClient>(c: &C, id: &str) -> Result<Option<DeviceRecord>> {
    let row = query_opt(
        c,
        &format!("SELECT {DEVICE_COLUMNS} FROM device_devices WHERE id = $1"),
        &[&id],
    )
    .await?;
    row.as_ref().map(device_from).transpose()
}

pub(super) async fn devices_of<C: GenericClient>(
    c: &C,
    user_id: &str,
) -> Result<Vec<DeviceRecord>> {
    let rows = query(
        c,
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM device_devices WHERE user_id = $1 \
             ORDER BY created_at, id"
        ),
        &[&user_id],
    )
    .await?;
    rows.iter().map(device_from).collect()
}

pub(super) async fn delete_device(mut c: Client, id: String, now: u64) -> Result<bool> {
    let tx = c.transaction().await?;
    let row = query_opt(
        &tx,
        "DELETE FROM device_devices WHERE id = $1 RETURNING user_id",
        &[&id],
    )
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let user: String = row.try_get(0)?;
    execute(
        &tx,
        "DELETE FROM device_nonces WHERE device_id = $1",
        &[&id],
    )
    .await?;
    audit_in(&tx, Some(&user), "device.removed", Some(&id), "", now).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn set_last_ip<C: GenericClient>(c: &C, device_id: &str, ip: &str) -> Result<()> {
    // Written only when it changed: most requests come from where the last one did.
    execute(
        c,
        "UPDATE device_devices SET last_ip = $1 WHERE id = $2 AND last_ip IS DISTINCT FROM $1",
        &[&ip, &device_id],
    )
    .await?;
    Ok(())
}

/// Sweeps expired nonces, then inserts this one: of two instances inserting the same nonce,
/// the second waits for the first's commit and inserts nothing. The sweep skips rows another
/// instance is sweeping (it deletes them), so sweeps neither queue behind nor deadlock with
/// each other.
pub(super) async fn remember_nonce<C: GenericClient>(
    c: &C,
    device_id: &str,
    nonce: &str,
    expires_at: u64,
    now: u64,
) -> Result<bool> {
    execute(
        c,
        "DELETE FROM device_nonces WHERE (device_id, nonce) IN (SELECT device_id, nonce \
         FROM device_nonces WHERE expires_at < $1 FOR UPDATE SKIP LOCKED)",
        &[&i(now)],
    )
    .await?;
    let n = execute(
        c,
        "INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (device_id, nonce) DO NOTHING",
        &[&device_id, &nonce, &i(expires_at)],
    )
    .await?;
    Ok(n == 1)
}
