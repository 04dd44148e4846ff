//! Passkeys ([`crate::passkey`]): credential rows and pending ceremonies. An assertion's
//! counter is written by compare-and-set on the stored counter (`… WHERE counter = $old`), so
//! of two instances accepting assertions with one counter value only one records it.

use deadpool_postgres::{Client, GenericClient, Transaction};
use tokio_postgres::Row;

use super::{audit_tx, conflict, int, uint};
use crate::error::Result;
use crate::model::Authenticator;
use crate::store::{Ceremony, PasskeyRow, PasskeyUse};

const COLUMNS: &str = "authenticator_id, user_id, credential_id, user_handle, credential_sealed, \
                       counter, backup_eligible, backup_state, user_verified, created_at, \
                       last_used_at";

fn from_row(r: &Row) -> Result<PasskeyRow> {
    Ok(PasskeyRow {
        authenticator_id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        credential_id: r.try_get(2)?,
        user_handle: r.try_get(3)?,
        credential_sealed: r.try_get(4)?,
        counter: u32::try_from(r.try_get::<_, i64>(5)?).unwrap_or(u32::MAX),
        backup_eligible: r.try_get(6)?,
        backup_state: r.try_get(7)?,
        user_verified: r.try_get(8)?,
        created_at: uint(r.try_get(9)?),
        last_used_at: r.try_get::<_, Option<i64>>(10)?.map(uint),
    })
}

pub(super) async fn create(
    c: &mut Client,
    a: Authenticator,
    p: PasskeyRow,
    now: u64,
) -> Result<()> {
    let tx = c.transaction().await?;
    super::factors::insert_auth(&tx, &a).await?;
    let st = tx
        .prepare_cached(&format!(
            "INSERT INTO passkeys({COLUMNS}) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
        ))
        .await?;
    tx.execute(
        &st,
        &[
            &p.authenticator_id,
            &p.user_id,
            &p.credential_id,
            &p.user_handle,
            &p.credential_sealed,
            &i64::from(p.counter),
            &p.backup_eligible,
            &p.backup_state,
            &p.user_verified,
            &int(p.created_at),
            &p.last_used_at.map(int),
        ],
    )
    .await
    .map_err(|e| conflict(e, "this passkey is registered already"))?;
    audit_tx(&tx, now, Some(&a.user_id), "enroll", Some(&a.id), "passkey").await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn of_user(c: &Client, user_id: &str) -> Result<Vec<PasskeyRow>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 \
             ORDER BY created_at, authenticator_id COLLATE \"C\""
        ))
        .await?;
    c.query(&st, &[&user_id])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub(super) async fn by_credential(c: &Client, credential_id: &[u8]) -> Result<Option<PasskeyRow>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .await?;
    c.query_opt(&st, &[&credential_id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub(super) async fn record_use(
    c: &mut Client,
    id: &str,
    expected: u32,
    u: PasskeyUse,
) -> Result<bool> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare_cached(
            "UPDATE passkeys SET counter = $1, credential_sealed = $2, backup_state = $3,
                    user_verified = $4, last_used_at = $5
             WHERE authenticator_id = $6 AND counter = $7",
        )
        .await?;
    let n = tx
        .execute(
            &st,
            &[
                &i64::from(u.counter),
                &u.credential_sealed,
                &u.backup_state,
                &u.user_verified,
                &int(u.now),
                &id,
                &i64::from(expected),
            ],
        )
        .await?;
    if n == 1 {
        let st = tx
            .prepare_cached("UPDATE authenticators SET last_used_at = $1 WHERE id = $2")
            .await?;
        tx.execute(&st, &[&int(u.now), &id]).await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

pub(super) async fn put_ceremony(c: &Client, x: Ceremony) -> Result<()> {
    let purge = c
        .prepare_cached("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
        .await?;
    c.execute(&purge, &[&int(x.created_at)]).await?;
    let st = c
        .prepare_cached(
            "INSERT INTO passkey_ceremonies(id_hash, user_id, kind, state, created_at, expires_at)
             VALUES($1,$2,$3,$4,$5,$6)",
        )
        .await?;
    c.execute(
        &st,
        &[
            &x.id_hash.as_slice(),
            &x.user_id,
            &x.kind,
            &x.state,
            &int(x.created_at),
            &int(x.expires_at),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn take_ceremony(
    c: &Client,
    id_hash: [u8; 32],
    now: u64,
) -> Result<Option<Ceremony>> {
    let st = c
        .prepare_cached(
            "DELETE FROM passkey_ceremonies WHERE id_hash = $1
             RETURNING user_id, kind, state, created_at, expires_at",
        )
        .await?;
    let Some(r) = c.query_opt(&st, &[&id_hash.as_slice()]).await? else {
        return Ok(None);
    };
    let x = Ceremony {
        id_hash,
        user_id: r.try_get(0)?,
        kind: r.try_get(1)?,
        state: r.try_get(2)?,
        created_at: uint(r.try_get(3)?),
        expires_at: uint(r.try_get(4)?),
    };
    Ok(Some(x).filter(|x| now < x.expires_at))
}

/// Re-seals every credential (master-key rotation), rows locked.
pub(super) async fn reseal(tx: &Transaction<'_>, reseal: &crate::store::Reseal) -> Result<u64> {
    let rows = tx
        .query(
            "SELECT authenticator_id, credential_sealed FROM passkeys FOR UPDATE",
            &[],
        )
        .await?;
    let mut n = 0u64;
    for r in rows {
        let id: String = r.try_get(0)?;
        let sealed: Vec<u8> = r.try_get(1)?;
        let fresh = reseal(&sealed, &crate::store::passkeys::credential_context(&id))?;
        tx.execute(
            "UPDATE passkeys SET credential_sealed = $1 WHERE authenticator_id = $2",
            &[&fresh, &id],
        )
        .await?;
        n += 1;
    }
    Ok(n)
}
