//! Authenticators: OTP enrollments, recovery-code sets, other kinds, deletion.

use deadpool_postgres::{Client, Transaction};
use tokio_postgres::Row;

use super::{audit_tx, int, lock_user, uint};
use crate::error::{Error, Result};
use crate::model::{Authenticator, AuthenticatorKind};
use crate::store::NewOtp;

/// Oldest first. Rows created in the same second keep their creation order where the store
/// knows it (an OTP enrollment before the recovery codes created with it); PostgreSQL rows
/// have no insertion sequence like SQLite's rowid, so ties left are ordered by id.
pub(super) const ORDER: &str =
    "ORDER BY a.created_at, (a.kind = 'recovery-code'), a.id COLLATE \"C\"";

pub(super) fn auth_from_row(r: &Row) -> Result<Authenticator> {
    let kind: String = r.try_get("kind")?;
    Ok(Authenticator {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        kind: AuthenticatorKind::parse(&kind).unwrap_or(AuthenticatorKind::Oob),
        name: r.try_get("name")?,
        active: r.try_get("active")?,
        oob_channel: r.try_get("oob_channel")?,
        pair_id: r.try_get("pair_id")?,
        created_at: uint(r.try_get("created_at")?),
        last_used_at: r.try_get::<_, Option<i64>>("last_used_at")?.map(uint),
    })
}

pub(super) async fn insert_auth(tx: &Transaction<'_>, a: &Authenticator) -> Result<()> {
    let st = tx
        .prepare_cached(
            "INSERT INTO authenticators(id, user_id, kind, name, active, oob_channel, pair_id,
                                        created_at)
             VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &st,
        &[
            &a.id,
            &a.user_id,
            &a.kind.as_str(),
            &a.name,
            &a.active,
            &a.oob_channel,
            &a.pair_id,
            &int(a.created_at),
        ],
    )
    .await?;
    Ok(())
}

/// Replaces the user's recovery-code authenticator (and so its codes) with a new set.
pub(super) async fn insert_recovery(
    tx: &Transaction<'_>,
    user_id: &str,
    id: &str,
    hashes: &[[u8; 32]],
    active: bool,
    now: u64,
) -> Result<()> {
    let st = tx
        .prepare_cached("DELETE FROM authenticators WHERE user_id = $1 AND kind = 'recovery-code'")
        .await?;
    tx.execute(&st, &[&user_id]).await?;
    insert_auth(
        tx,
        &Authenticator {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            kind: AuthenticatorKind::RecoveryCode,
            name: String::new(),
            active,
            oob_channel: None,
            pair_id: None,
            created_at: now,
            last_used_at: None,
        },
    )
    .await?;
    let hashes: Vec<Vec<u8>> = hashes.iter().map(|h| h.to_vec()).collect();
    let st = tx
        .prepare_cached(
            "INSERT INTO recovery_codes(authenticator_id, code_hash)
             SELECT $1, unnest($2::bytea[])",
        )
        .await?;
    tx.execute(&st, &[&id, &hashes]).await?;
    Ok(())
}

pub(super) async fn list(c: &Client, user_id: &str) -> Result<Vec<Authenticator>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT a.* FROM authenticators a WHERE a.user_id = $1 {ORDER}"
        ))
        .await?;
    c.query(&st, &[&user_id])
        .await?
        .iter()
        .map(auth_from_row)
        .collect()
}

pub(super) async fn create_otp(c: &mut Client, new: NewOtp, now: u64) -> Result<()> {
    let tx = c.transaction().await?;
    let a = &new.authenticator;
    // The cap holds across instances: enrollments of one user are serialised by its row.
    lock_user(&tx, &a.user_id).await?;
    let count: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM authenticators WHERE user_id = $1 AND kind = 'otp'",
            &[&a.user_id],
        )
        .await?
        .try_get(0)?;
    if count >= i64::from(new.max_enrollments) {
        return Err(Error::Conflict(format!(
            "the user already has the maximum of {} OTP enrollments",
            new.max_enrollments
        )));
    }
    insert_auth(&tx, a).await?;
    tx.execute(
        "INSERT INTO otp_params(authenticator_id, algorithm, digits, period, secret_sealed,
                                last_step)
         VALUES($1, $2, $3, $4, $5, NULL)",
        &[
            &a.id,
            &new.params.algorithm.as_str(),
            &i32::from(new.params.digits),
            &i32::try_from(new.params.period)
                .map_err(|_| Error::InvalidRequest("`period` is out of range".into()))?,
            &new.params.secret_sealed,
        ],
    )
    .await?;
    audit_tx(&tx, now, Some(&a.user_id), "enroll", Some(&a.id), "otp").await?;
    if let Some((rid, hashes)) = &new.recovery {
        insert_recovery(&tx, &a.user_id, rid, hashes, false, now).await?;
        audit_tx(
            &tx,
            now,
            Some(&a.user_id),
            "enroll",
            Some(rid),
            "recovery-code",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_authenticator(
    c: &mut Client,
    authenticator: Authenticator,
    now: u64,
) -> Result<()> {
    let tx = c.transaction().await?;
    insert_auth(&tx, &authenticator).await?;
    audit_tx(
        &tx,
        now,
        Some(&authenticator.user_id),
        "enroll",
        Some(&authenticator.id),
        authenticator.kind.as_str(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes one authenticator and the others of its pair; the ids deleted.
pub(super) async fn delete(
    c: &mut Client,
    user_id: &str,
    id: &str,
    now: u64,
) -> Result<Vec<String>> {
    let tx = c.transaction().await?;
    // In the order a verification takes its locks (user, then the rows of its factors), so the
    // two cannot deadlock.
    lock_user(&tx, user_id).await?;
    let pair: Option<Option<String>> = tx
        .query_opt(
            "SELECT pair_id FROM authenticators WHERE id = $1 AND user_id = $2",
            &[&id, &user_id],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let Some(pair) = pair else {
        return Ok(Vec::new());
    };
    let mut ids = vec![id.to_owned()];
    if let Some(p) = pair {
        for r in tx
            .query(
                "SELECT id FROM authenticators WHERE user_id = $1 AND pair_id = $2 AND id <> $3",
                &[&user_id, &p, &id],
            )
            .await?
        {
            ids.push(r.try_get(0)?);
        }
    }
    for i in &ids {
        tx.execute("DELETE FROM authenticators WHERE id = $1", &[i])
            .await?;
        audit_tx(&tx, now, Some(user_id), "delete", Some(i), "").await?;
    }
    tx.commit().await?;
    Ok(ids)
}

pub(super) async fn delete_all(c: &mut Client, user_id: &str, now: u64) -> Result<usize> {
    let tx = c.transaction().await?;
    lock_user(&tx, user_id).await?; // as in `delete`
    let n = tx
        .execute("DELETE FROM authenticators WHERE user_id = $1", &[&user_id])
        .await?;
    audit_tx(
        &tx,
        now,
        Some(user_id),
        "delete_all",
        None,
        &format!("{n} removed"),
    )
    .await?;
    tx.commit().await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) async fn replace_recovery_codes(
    c: &mut Client,
    user_id: &str,
    new_id: String,
    hashes: Vec<[u8; 32]>,
    now: u64,
) -> Result<String> {
    let tx = c.transaction().await?;
    // One set at a time: two concurrent replacements would each delete, then both insert.
    lock_user(&tx, user_id).await?;
    insert_recovery(&tx, user_id, &new_id, &hashes, true, now).await?;
    audit_tx(
        &tx,
        now,
        Some(user_id),
        "regenerate",
        Some(&new_id),
        "recovery-code",
    )
    .await?;
    tx.commit().await?;
    Ok(new_id)
}
