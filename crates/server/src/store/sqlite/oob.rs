//! Codes sent by email, SMS and voice; the notifier's outbox reads; notification preferences.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use super::verify::{admit, clear_failures, count_failure};
use crate::config::LockoutConfig;
use crate::crypto::{ct_eq, sha256};
use crate::error::{Error, Result};
use crate::model::{AuditEvent, Factor};
use crate::store::oob::{
    limit_reached, liveness, Issued, OobCheck, OobCodeRow, OobLookup, OobRedeemed, SendLimits,
    KEEP_SECS,
};

fn hash32(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a stored hash is not 32 bytes".into(),
        )
    })
}

fn row(r: &Row<'_>) -> rusqlite::Result<OobCodeRow> {
    Ok(OobCodeRow {
        id_hash: hash32(r.get("id_hash")?)?,
        user_id: r.get("user_id")?,
        authenticator_id: r.get("authenticator_id")?,
        channel: r.get("channel")?,
        purpose: r.get("purpose")?,
        destination_hash: hash32(r.get("destination_hash")?)?,
        flow_hash: r
            .get::<_, Option<Vec<u8>>>("flow_hash")?
            .map(hash32)
            .transpose()?,
        flow_sealed: r.get("flow_sealed")?,
        code_sealed: r.get("code_sealed")?,
        attempts_left: r.get("attempts_left")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        used_at: r.get("used_at")?,
        voided: r.get("voided")?,
    })
}

fn times(c: &Connection, sql: &str, key: &dyn rusqlite::ToSql, since: u64) -> Result<Vec<u64>> {
    let mut st = c.prepare_cached(sql)?;
    let out = st
        .query_map(params![key, since], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<u64>>>()?;
    Ok(out)
}

pub(super) fn issue(c: &Connection, code: &OobCodeRow, limits: SendLimits) -> Result<Issued> {
    let now = code.created_at;
    c.prepare_cached("DELETE FROM oob_codes WHERE created_at < ?1")?
        .execute([now.saturating_sub(KEEP_SECS.max(limits.window_secs))])?;
    let since = now.saturating_sub(limits.window_secs);
    let by_user = times(
        c,
        "SELECT created_at FROM oob_codes WHERE user_id=?1 AND created_at>?2",
        &code.user_id,
        since,
    )?;
    let by_destination = times(
        c,
        "SELECT created_at FROM oob_codes WHERE destination_hash=?1 AND created_at>?2",
        &code.destination_hash.as_slice(),
        since,
    )?;
    let retry = [
        limit_reached(&by_user, limits.per_user, limits.window_secs),
        limit_reached(&by_destination, limits.per_destination, limits.window_secs),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(retry_at) = retry {
        audit_tx(
            c,
            now,
            Some(&code.user_id),
            "oob.limited",
            Some(&code.authenticator_id),
            &code.channel,
        )?;
        return Ok(Issued::Limited { retry_at });
    }
    c.prepare_cached(
        "UPDATE oob_codes SET voided=1 WHERE user_id=?1 AND purpose=?2 AND used_at IS NULL",
    )?
    .execute(params![code.user_id, code.purpose])?;
    c.prepare_cached(
        "INSERT INTO oob_codes(id_hash, user_id, authenticator_id, channel, purpose,
           destination_hash, flow_hash, flow_sealed, code_sealed, attempts_left, created_at,
           expires_at, used_at, voided)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,NULL,0)",
    )?
    .execute(params![
        code.id_hash.as_slice(),
        code.user_id,
        code.authenticator_id,
        code.channel,
        code.purpose,
        code.destination_hash.as_slice(),
        code.flow_hash.as_ref().map(|h| h.as_slice()),
        code.flow_sealed,
        code.code_sealed,
        code.attempts_left,
        code.created_at,
        code.expires_at
    ])?;
    audit_tx(
        c,
        now,
        Some(&code.user_id),
        "oob.sent",
        Some(&code.authenticator_id),
        &format!("{} {}", code.channel, code.purpose),
    )?;
    Ok(Issued::Stored)
}

pub(super) fn get(c: &Connection, id_hash: [u8; 32]) -> Result<Option<OobCodeRow>> {
    Ok(
        c.prepare_cached("SELECT * FROM oob_codes WHERE id_hash=?1")?
            .query_row([id_hash.as_slice()], row)
            .optional()?,
    )
}

/// The address or number the code's authenticator holds now, if it still exists.
fn destination_now(c: &Connection, authenticator_id: &str) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT name FROM authenticators WHERE id=?1")?
            .query_row([authenticator_id], |r| r.get(0))
            .optional()?,
    )
}

pub(super) fn redeem(
    c: &Connection,
    lookup: &OobLookup,
    check: Option<OobCheck>,
    policy: &LockoutConfig,
    now: u64,
) -> Result<OobRedeemed> {
    if let OobLookup::Latest {
        user_id: None,
        flow_hash: None,
        ..
    } = lookup
    {
        return Err(Error::Internal(
            "a code lookup needs a user or a flow".into(),
        ));
    }
    let found = match lookup {
        OobLookup::Link(h) => get(c, *h)?,
        OobLookup::Latest {
            user_id,
            purpose,
            flow_hash,
        } => c
            .prepare_cached(
                "SELECT * FROM oob_codes WHERE (?1 IS NULL OR user_id=?1)
                 AND (?2 IS NULL OR purpose=?2) AND used_at IS NULL
                 AND voided=0 AND (?3 IS NULL OR flow_hash=?3)
                 ORDER BY created_at DESC, rowid DESC LIMIT 1",
            )?
            .query_row(
                params![user_id, purpose, flow_hash.as_ref().map(|h| h.as_slice())],
                row,
            )
            .optional()?,
    };
    let Some(code) = found else {
        return Ok(OobRedeemed::Invalid);
    };
    if let Err(why) = liveness(&code, now) {
        return Ok(why);
    }
    match destination_now(c, &code.authenticator_id)? {
        Some(d) if ct_eq(&sha256(d.as_bytes()), &code.destination_hash) => {}
        _ => return Ok(OobRedeemed::Invalid),
    }
    let Some(check) = check else {
        // A link: its 256-bit token was the proof.
        use_up(c, &code, now)?;
        return Ok(OobRedeemed::Accepted(Box::new(code)));
    };
    let Some(failures) = admit(c, &code.user_id, Factor::OobCode, policy, now)? else {
        return Ok(OobRedeemed::Locked);
    };
    if check(&code)? {
        use_up(c, &code, now)?;
        clear_failures(c, &code.user_id, Factor::OobCode)?;
        return Ok(OobRedeemed::Accepted(Box::new(code)));
    }
    let left = code.attempts_left.saturating_sub(1);
    c.prepare_cached("UPDATE oob_codes SET attempts_left=?2 WHERE id_hash=?1")?
        .execute(params![code.id_hash.as_slice(), left])?;
    count_failure(c, &code.user_id, Factor::OobCode, failures, policy, now)?;
    Ok(OobRedeemed::Rejected {
        attempts_left: left,
    })
}

fn use_up(c: &Connection, code: &OobCodeRow, now: u64) -> Result<()> {
    let n = c
        .prepare_cached("UPDATE oob_codes SET used_at=?2 WHERE id_hash=?1 AND used_at IS NULL")?
        .execute(params![code.id_hash.as_slice(), now])?;
    if n != 1 {
        return Err(Error::Internal("a code was used twice".into()));
    }
    c.prepare_cached("UPDATE authenticators SET last_used_at=?2 WHERE id=?1")?
        .execute(params![code.authenticator_id, now])?;
    audit_tx(
        c,
        now,
        Some(&code.user_id),
        "oob.used",
        Some(&code.authenticator_id),
        &format!("{} {}", code.channel, code.purpose),
    )?;
    Ok(())
}

pub(super) fn audit_after(c: &Connection, after: i64, limit: u32) -> Result<Vec<AuditEvent>> {
    let mut st = c.prepare_cached(
        "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit WHERE id>?1
         ORDER BY id LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![after, limit], |r| {
            Ok(AuditEvent {
                id: r.get(0)?,
                at: r.get(1)?,
                user_id: r.get(2)?,
                kind: r.get(3)?,
                authenticator_id: r.get(4)?,
                detail: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn meta(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT value FROM meta WHERE key=?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(super) fn swap_meta(
    c: &Connection,
    key: &str,
    expected: Option<&str>,
    value: &str,
) -> Result<bool> {
    let n = match expected {
        None => c
            .prepare_cached("INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT DO NOTHING")?
            .execute(params![key, value])?,
        Some(old) => c
            .prepare_cached("UPDATE meta SET value=?3 WHERE key=?1 AND value=?2")?
            .execute(params![key, old, value])?,
    };
    Ok(n == 1)
}

pub(super) fn notification_pref(c: &Connection, user_id: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT notify FROM users WHERE id=?1")?
        .query_row([user_id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

pub(super) fn set_notification_pref(
    c: &Connection,
    user_id: &str,
    pref: Option<&str>,
) -> Result<bool> {
    let n = c
        .prepare_cached("UPDATE users SET notify=?2 WHERE id=?1")?
        .execute(params![user_id, pref])?;
    Ok(n == 1)
}

/// Keeps the email factor (and the SMS + voice pair of the phone) in step with the profile
/// (EM-6): an address or number set by an administrator is enrolled at once; a changed one
/// replaces the old authenticator, whose codes die with it (ON DELETE CASCADE). `None` removes.
pub(super) fn sync_contact(
    c: &Connection,
    user_id: &str,
    channel: crate::oob::Contact,
    value: Option<&str>,
    now: u64,
) -> Result<()> {
    let channels = channel.channels();
    let current: Option<String> = c
        .prepare_cached(
            "SELECT name FROM authenticators WHERE user_id=?1 AND kind='oob' AND oob_channel=?2",
        )?
        .query_row(
            params![user_id, channels.first().copied().unwrap_or_default()],
            |r| r.get(0),
        )
        .optional()?;
    if current.as_deref() == value && value.is_some() {
        return Ok(());
    }
    for ch in channels {
        let ids: Vec<String> = c
            .prepare_cached(
                "SELECT id FROM authenticators WHERE user_id=?1 AND kind='oob' AND oob_channel=?2",
            )?
            .query_map(params![user_id, ch], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            c.execute("DELETE FROM authenticators WHERE id=?1", [&id])?;
            audit_tx(c, now, Some(user_id), "contact.removed", Some(&id), ch)?;
        }
    }
    let Some(value) = value else {
        return Ok(());
    };
    let pair = crate::crypto::random_id("")?;
    for ch in channels {
        let id = format!("{ch}|{pair}");
        c.execute(
            "INSERT INTO authenticators(id,user_id,kind,name,active,oob_channel,pair_id,created_at)
             VALUES(?1,?2,'oob',?3,1,?4,?5,?6)",
            params![
                id,
                user_id,
                value,
                ch,
                (channels.len() > 1).then(|| format!("phone|{pair}")),
                now
            ],
        )?;
        audit_tx(c, now, Some(user_id), "contact.enrolled", Some(&id), ch)?;
    }
    Ok(())
}
