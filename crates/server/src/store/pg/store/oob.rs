//! Codes sent by email, SMS and voice; the notifier's outbox reads; notification preferences.
//! A redemption takes the user's row lock first, so concurrent guesses on every instance are
//! counted one after another.

use deadpool_postgres::{Client, Transaction};
use tokio_postgres::Row;

use super::verify::{admit, failure_row, CLEAR_FAILURES, LOAD_FAILURES, STORE_FAILURES};
use super::{audit_tx, int, lock_user, uint};
use crate::config::LockoutConfig;
use crate::crypto::{ct_eq, sha256};
use crate::error::{Error, Result};
use crate::model::{AuditEvent, Factor};
use crate::store::oob::{
    limit_reached, liveness, Issued, OobCheck, OobCodeRow, OobLookup, OobRedeemed, SendLimits,
    KEEP_SECS,
};

fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| Error::Storage("a stored hash is not 32 bytes".into()))
}

fn row(r: &Row) -> Result<OobCodeRow> {
    Ok(OobCodeRow {
        id_hash: hash32(r.try_get("id_hash")?)?,
        user_id: r.try_get("user_id")?,
        authenticator_id: r.try_get("authenticator_id")?,
        channel: r.try_get("channel")?,
        purpose: r.try_get("purpose")?,
        destination_hash: hash32(r.try_get("destination_hash")?)?,
        flow_hash: r
            .try_get::<_, Option<Vec<u8>>>("flow_hash")?
            .map(hash32)
            .transpose()?,
        flow_sealed: r.try_get("flow_sealed")?,
        code_sealed: r.try_get("code_sealed")?,
        attempts_left: u32::try_from(r.try_get::<_, i64>("attempts_left")?).unwrap_or(0),
        created_at: uint(r.try_get("created_at")?),
        expires_at: uint(r.try_get("expires_at")?),
        used_at: r.try_get::<_, Option<i64>>("used_at")?.map(uint),
        voided: r.try_get("voided")?,
    })
}

async fn times(
    tx: &Transaction<'_>,
    sql: &str,
    key: &(dyn tokio_postgres::types::ToSql + Sync),
    since: u64,
) -> Result<Vec<u64>> {
    let st = tx.prepare_cached(sql).await?;
    Ok(tx
        .query(&st, &[key, &int(since)])
        .await?
        .iter()
        .map(|r| r.try_get::<_, i64>(0).map(uint))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

pub(super) async fn issue(c: &mut Client, code: OobCodeRow, limits: SendLimits) -> Result<Issued> {
    let now = code.created_at;
    let tx = c.transaction().await?;
    // Sends of one user are counted one after another on every instance.
    if !lock_user(&tx, &code.user_id).await? {
        return Err(Error::NotFound("user"));
    }
    tx.execute(
        "DELETE FROM oob_codes WHERE created_at < $1",
        &[&int(now.saturating_sub(KEEP_SECS.max(limits.window_secs)))],
    )
    .await?;
    let since = now.saturating_sub(limits.window_secs);
    let by_user = times(
        &tx,
        "SELECT created_at FROM oob_codes WHERE user_id = $1 AND created_at > $2",
        &code.user_id,
        since,
    )
    .await?;
    let dest = code.destination_hash.as_slice();
    let by_destination = times(
        &tx,
        "SELECT created_at FROM oob_codes WHERE destination_hash = $1 AND created_at > $2",
        &dest,
        since,
    )
    .await?;
    let retry = [
        limit_reached(&by_user, limits.per_user, limits.window_secs),
        limit_reached(&by_destination, limits.per_destination, limits.window_secs),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(retry_at) = retry {
        audit_tx(
            &tx,
            now,
            Some(&code.user_id),
            "oob.limited",
            Some(&code.authenticator_id),
            &code.channel,
        )
        .await?;
        tx.commit().await?;
        return Ok(Issued::Limited { retry_at });
    }
    tx.execute(
        "UPDATE oob_codes SET voided = TRUE WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        &[&code.user_id, &code.purpose],
    )
    .await?;
    tx.execute(
        "INSERT INTO oob_codes(id_hash, user_id, authenticator_id, channel, purpose,
           destination_hash, flow_hash, flow_sealed, code_sealed, attempts_left, created_at,
           expires_at, used_at, voided)
         VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,NULL,FALSE)",
        &[
            &code.id_hash.as_slice(),
            &code.user_id,
            &code.authenticator_id,
            &code.channel,
            &code.purpose,
            &dest,
            &code.flow_hash.as_ref().map(|h| h.as_slice()),
            &code.flow_sealed,
            &code.code_sealed,
            &i64::from(code.attempts_left),
            &int(code.created_at),
            &int(code.expires_at),
        ],
    )
    .await?;
    audit_tx(
        &tx,
        now,
        Some(&code.user_id),
        "oob.sent",
        Some(&code.authenticator_id),
        &format!("{} {}", code.channel, code.purpose),
    )
    .await?;
    tx.commit().await?;
    Ok(Issued::Stored)
}

pub(super) async fn get(c: &Client, id_hash: [u8; 32]) -> Result<Option<OobCodeRow>> {
    let st = c
        .prepare_cached("SELECT * FROM oob_codes WHERE id_hash = $1")
        .await?;
    c.query_opt(&st, &[&id_hash.as_slice()])
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

pub(super) async fn redeem(
    c: &mut Client,
    lookup: OobLookup,
    check: Option<OobCheck>,
    policy: LockoutConfig,
    now: u64,
) -> Result<OobRedeemed> {
    let tx = c.transaction().await?;
    let user = match &lookup {
        OobLookup::Link(h) => {
            let found = tx
                .query_opt(
                    "SELECT user_id FROM oob_codes WHERE id_hash = $1",
                    &[&h.as_slice()],
                )
                .await?;
            match found {
                Some(r) => r.try_get::<_, String>(0)?,
                None => return Ok(OobRedeemed::Invalid),
            }
        }
        OobLookup::Latest {
            user_id: Some(u), ..
        } => u.clone(),
        OobLookup::Latest {
            user_id: None,
            flow_hash: Some(f),
            ..
        } => {
            let found = tx
                .query_opt(
                    "SELECT user_id FROM oob_codes WHERE flow_hash = $1
                     ORDER BY created_at DESC LIMIT 1",
                    &[&f.as_slice()],
                )
                .await?;
            match found {
                Some(r) => r.try_get::<_, String>(0)?,
                None => return Ok(OobRedeemed::Invalid),
            }
        }
        OobLookup::Latest { .. } => {
            return Err(Error::Internal(
                "a code lookup needs a user or a flow".into(),
            ))
        }
    };
    if !lock_user(&tx, &user).await? {
        return Ok(OobRedeemed::Invalid);
    }
    let found = match &lookup {
        OobLookup::Link(h) => {
            tx.query_opt(
                "SELECT * FROM oob_codes WHERE id_hash = $1",
                &[&h.as_slice()],
            )
            .await?
        }
        OobLookup::Latest {
            user_id,
            purpose,
            flow_hash,
        } => {
            let _ = user_id;
            tx.query_opt(
                "SELECT * FROM oob_codes WHERE user_id = $1 AND ($2::text IS NULL OR purpose = $2)
                 AND used_at IS NULL AND NOT voided AND ($3::bytea IS NULL OR flow_hash = $3)
                 ORDER BY created_at DESC LIMIT 1",
                &[&user, purpose, &flow_hash.as_ref().map(|h| h.as_slice())],
            )
            .await?
        }
    };
    let Some(code) = found.as_ref().map(row).transpose()? else {
        return Ok(OobRedeemed::Invalid);
    };
    if let Err(why) = liveness(&code, now) {
        return Ok(why);
    }
    let dest = tx
        .query_opt(
            "SELECT name FROM authenticators WHERE id = $1",
            &[&code.authenticator_id],
        )
        .await?;
    match dest {
        Some(r)
            if ct_eq(
                &sha256(r.try_get::<_, String>(0)?.as_bytes()),
                &code.destination_hash,
            ) => {}
        _ => return Ok(OobRedeemed::Invalid),
    }
    let Some(check) = check else {
        use_up(&tx, &code, now).await?;
        tx.commit().await?;
        return Ok(OobRedeemed::Accepted(Box::new(code)));
    };
    let factor = Factor::OobCode;
    let load = tx.prepare_cached(LOAD_FAILURES).await?;
    let current = failure_row(
        tx.query_opt(&load, &[&code.user_id, &factor.as_str()])
            .await?,
    )?;
    let Some(failures) = admit(&tx, &code.user_id, factor, &policy, current, now).await? else {
        tx.commit().await?;
        return Ok(OobRedeemed::Locked);
    };
    if check(&code)? {
        use_up(&tx, &code, now).await?;
        let clear = tx.prepare_cached(CLEAR_FAILURES).await?;
        tx.execute(&clear, &[&code.user_id, &factor.as_str()])
            .await?;
        tx.commit().await?;
        return Ok(OobRedeemed::Accepted(Box::new(code)));
    }
    let left = code.attempts_left.saturating_sub(1);
    tx.execute(
        "UPDATE oob_codes SET attempts_left = $2 WHERE id_hash = $1",
        &[&code.id_hash.as_slice(), &i64::from(left)],
    )
    .await?;
    let count = failures.count.saturating_add(1);
    let store = tx.prepare_cached(STORE_FAILURES).await?;
    tx.execute(
        &store,
        &[
            &code.user_id,
            &factor.as_str(),
            &i64::from(count),
            &int(now),
        ],
    )
    .await?;
    audit_tx(
        &tx,
        now,
        Some(&code.user_id),
        "verify_fail",
        None,
        factor.as_str(),
    )
    .await?;
    if count == policy.max_failures {
        audit_tx(
            &tx,
            now,
            Some(&code.user_id),
            "lockout",
            None,
            factor.as_str(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(OobRedeemed::Rejected {
        attempts_left: left,
    })
}

async fn use_up(tx: &Transaction<'_>, code: &OobCodeRow, now: u64) -> Result<()> {
    let n = tx
        .execute(
            "UPDATE oob_codes SET used_at = $2 WHERE id_hash = $1 AND used_at IS NULL",
            &[&code.id_hash.as_slice(), &int(now)],
        )
        .await?;
    if n != 1 {
        return Err(Error::Internal("a code was used twice".into()));
    }
    tx.execute(
        "UPDATE authenticators SET last_used_at = $2 WHERE id = $1",
        &[&code.authenticator_id, &int(now)],
    )
    .await?;
    audit_tx(
        tx,
        now,
        Some(&code.user_id),
        "oob.used",
        Some(&code.authenticator_id),
        &format!("{} {}", code.channel, code.purpose),
    )
    .await
}

pub(super) async fn audit_after(c: &Client, after: i64, limit: u32) -> Result<Vec<AuditEvent>> {
    let st = c
        .prepare_cached(
            "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit WHERE id > $1
             ORDER BY id LIMIT $2",
        )
        .await?;
    c.query(&st, &[&after, &i64::from(limit)])
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEvent {
                id: r.try_get(0)?,
                at: uint(r.try_get(1)?),
                user_id: r.try_get(2)?,
                kind: r.try_get(3)?,
                authenticator_id: r.try_get(4)?,
                detail: r.try_get(5)?,
            })
        })
        .collect()
}

pub(super) async fn meta(c: &Client, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

pub(super) async fn swap_meta(
    c: &Client,
    key: &str,
    expected: Option<&str>,
    value: &str,
) -> Result<bool> {
    let n = match expected {
        None => {
            c.execute(
                "INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT DO NOTHING",
                &[&key, &value],
            )
            .await?
        }
        Some(old) => {
            c.execute(
                "UPDATE meta SET value = $3 WHERE key = $1 AND value = $2",
                &[&key, &old, &value],
            )
            .await?
        }
    };
    Ok(n == 1)
}

pub(super) async fn notification_pref(c: &Client, user_id: &str) -> Result<Option<String>> {
    Ok(
        c.query_opt("SELECT notify FROM users WHERE id = $1", &[&user_id])
            .await?
            .map(|r| r.try_get::<_, Option<String>>(0))
            .transpose()?
            .flatten(),
    )
}

pub(super) async fn set_notification_pref(
    c: &Client,
    user_id: &str,
    pref: Option<&str>,
) -> Result<bool> {
    let n = c
        .execute(
            "UPDATE users SET notify = $2 WHERE id = $1",
            &[&user_id, &pref],
        )
        .await?;
    Ok(n == 1)
}

/// Keeps the email factor (and the SMS + voice pair of the phone) in step with the profile
/// (EM-6): see the SQLite store's `sync_contact`.
pub(super) async fn sync_contact(
    tx: &Transaction<'_>,
    user_id: &str,
    channel: crate::oob::Contact,
    value: Option<&str>,
    now: u64,
) -> Result<()> {
    let channels = channel.channels();
    let current = tx
        .query_opt(
            "SELECT name FROM authenticators WHERE user_id = $1 AND kind = 'oob'
             AND oob_channel = $2 LIMIT 1",
            &[&user_id, &channels.first().copied().unwrap_or_default()],
        )
        .await?
        .map(|r| r.try_get::<_, String>(0))
        .transpose()?;
    if current.as_deref() == value && value.is_some() {
        return Ok(());
    }
    for ch in channels {
        let gone = tx
            .query(
                "DELETE FROM authenticators WHERE user_id = $1 AND kind = 'oob'
                 AND oob_channel = $2 RETURNING id",
                &[&user_id, ch],
            )
            .await?;
        for r in gone {
            let id: String = r.try_get(0)?;
            audit_tx(tx, now, Some(user_id), "contact.removed", Some(&id), ch).await?;
        }
    }
    let Some(value) = value else {
        return Ok(());
    };
    let pair = crate::crypto::random_id("")?;
    for ch in channels {
        let id = format!("{ch}|{pair}");
        let pair_id = (channels.len() > 1).then(|| format!("phone|{pair}"));
        tx.execute(
            "INSERT INTO authenticators(id, user_id, kind, name, active, oob_channel, pair_id,
                                        created_at)
             VALUES($1, $2, 'oob', $3, TRUE, $4, $5, $6)",
            &[&id, &user_id, &value, ch, &pair_id, &int(now)],
        )
        .await?;
        audit_tx(tx, now, Some(user_id), "contact.enrolled", Some(&id), ch).await?;
    }
    Ok(())
}
