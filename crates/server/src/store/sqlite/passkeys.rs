//! Passkeys ([`crate::passkey`]): credential rows and pending ceremonies.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{audit_tx, is_unique_violation};
use crate::error::{Error, Result};
use crate::model::Authenticator;
use crate::store::{Ceremony, PasskeyRow, PasskeyUse};

const COLUMNS: &str = "authenticator_id, user_id, credential_id, user_handle, credential_sealed, \
                       counter, backup_eligible, backup_state, user_verified, created_at, \
                       last_used_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<PasskeyRow> {
    Ok(PasskeyRow {
        authenticator_id: r.get(0)?,
        user_id: r.get(1)?,
        credential_id: r.get(2)?,
        user_handle: r.get(3)?,
        credential_sealed: r.get(4)?,
        counter: r.get(5)?,
        backup_eligible: r.get(6)?,
        backup_state: r.get(7)?,
        user_verified: r.get(8)?,
        created_at: r.get(9)?,
        last_used_at: r.get(10)?,
    })
}

pub(super) fn create(c: &Connection, a: &Authenticator, p: &PasskeyRow, now: u64) -> Result<()> {
    super::factors::insert_auth(c, a)?;
    c.prepare_cached(&format!(
        "INSERT INTO passkeys({COLUMNS}) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
    ))?
    .execute(params![
        p.authenticator_id,
        p.user_id,
        p.credential_id,
        p.user_handle,
        p.credential_sealed,
        p.counter,
        p.backup_eligible,
        p.backup_state,
        p.user_verified,
        p.created_at,
        p.last_used_at,
    ])
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict("this passkey is registered already".into())
        } else {
            Error::from(e)
        }
    })?;
    audit_tx(c, now, Some(&a.user_id), "enroll", Some(&a.id), "passkey")
}

pub(super) fn of_user(c: &Connection, user_id: &str) -> Result<Vec<PasskeyRow>> {
    let rows = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, rowid"
        ))?
        .query_map([user_id], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn by_credential(c: &Connection, credential_id: &[u8]) -> Result<Option<PasskeyRow>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1"
    ))?
    .query_row([credential_id], from_row)
    .optional()?)
}

pub(super) fn record_use(c: &Connection, id: &str, expected: u32, u: &PasskeyUse) -> Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE passkeys SET counter = ?1, credential_sealed = ?2, backup_state = ?3,
                    user_verified = ?4, last_used_at = ?5
             WHERE authenticator_id = ?6 AND counter = ?7",
        )?
        .execute(params![
            u.counter,
            u.credential_sealed,
            u.backup_state,
            u.user_verified,
            u.now,
            id,
            expected
        ])?;
    if n == 1 {
        c.prepare_cached("UPDATE authenticators SET last_used_at = ?1 WHERE id = ?2")?
            .execute(params![u.now, id])?;
    }
    Ok(n == 1)
}

pub(super) fn put_ceremony(c: &Connection, x: &Ceremony) -> Result<()> {
    c.prepare_cached("DELETE FROM passkey_ceremonies WHERE expires_at <= ?1")?
        .execute([x.created_at])?;
    c.prepare_cached(
        "INSERT INTO passkey_ceremonies(id_hash, user_id, kind, state, created_at, expires_at)
         VALUES(?1,?2,?3,?4,?5,?6)",
    )?
    .execute(params![
        x.id_hash.as_slice(),
        x.user_id,
        x.kind,
        x.state,
        x.created_at,
        x.expires_at
    ])?;
    Ok(())
}

pub(super) fn take_ceremony(
    c: &Connection,
    id_hash: &[u8; 32],
    now: u64,
) -> Result<Option<Ceremony>> {
    let found = c
        .prepare_cached(
            "DELETE FROM passkey_ceremonies WHERE id_hash = ?1
             RETURNING user_id, kind, state, created_at, expires_at",
        )?
        .query_row([id_hash.as_slice()], |r| {
            Ok(Ceremony {
                id_hash: *id_hash,
                user_id: r.get(0)?,
                kind: r.get(1)?,
                state: r.get(2)?,
                created_at: r.get(3)?,
                expires_at: r.get(4)?,
            })
        })
        .optional()?;
    Ok(found.filter(|x| now < x.expires_at))
}

/// Every sealed credential (authenticator id, sealed), for master-key rotation.
pub(super) fn sealed(c: &Connection) -> Result<Vec<(String, Vec<u8>)>> {
    let rows = c
        .prepare("SELECT authenticator_id, credential_sealed FROM passkeys")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn reseal_one(c: &Connection, id: &str, sealed: &[u8]) -> Result<()> {
    c.execute(
        "UPDATE passkeys SET credential_sealed = ?1 WHERE authenticator_id = ?2",
        params![sealed, id],
    )?;
    Ok(())
}
