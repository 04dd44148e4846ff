//! Authenticators: OTP enrollments, recovery-code sets, other kinds, deletion.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use crate::error::{Error, Result};
use crate::model::{Authenticator, AuthenticatorKind};
use crate::store::NewOtp;

pub(super) fn auth_from_row(r: &Row<'_>) -> rusqlite::Result<Authenticator> {
    let kind: String = r.get("kind")?;
    Ok(Authenticator {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        kind: AuthenticatorKind::parse(&kind).unwrap_or(AuthenticatorKind::Oob),
        name: r.get("name")?,
        active: r.get("active")?,
        oob_channel: r.get("oob_channel")?,
        pair_id: r.get("pair_id")?,
        created_at: r.get("created_at")?,
        last_used_at: r.get("last_used_at")?,
    })
}

pub(super) fn insert_auth(conn: &Connection, a: &Authenticator) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO authenticators(id,user_id,kind,name,active,oob_channel,pair_id,created_at)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    )?
    .execute(params![
        a.id,
        a.user_id,
        a.kind.as_str(),
        a.name,
        a.active,
        a.oob_channel,
        a.pair_id,
        a.created_at
    ])?;
    Ok(())
}

pub(super) fn insert_recovery(
    conn: &Connection,
    user_id: &str,
    id: &str,
    hashes: &[[u8; 32]],
    active: bool,
    now: u64,
) -> Result<()> {
    conn.execute(
        "DELETE FROM authenticators WHERE user_id=?1 AND kind='recovery-code'",
        [user_id],
    )?;
    insert_auth(
        conn,
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
    )?;
    let mut st = conn
        .prepare_cached("INSERT INTO recovery_codes(authenticator_id, code_hash) VALUES(?1, ?2)")?;
    for h in hashes {
        st.execute(params![id, h.as_slice()])?;
    }
    Ok(())
}

pub(super) fn list(c: &Connection, user_id: &str) -> Result<Vec<Authenticator>> {
    let mut st = c.prepare_cached(
        "SELECT * FROM authenticators WHERE user_id=?1 ORDER BY created_at, rowid",
    )?;
    let rows = st.query_map([user_id], auth_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn create_otp(c: &Connection, new: &NewOtp, now: u64) -> Result<()> {
    let a = &new.authenticator;
    let count: u32 = c.query_row(
        "SELECT COUNT(*) FROM authenticators WHERE user_id=?1 AND kind='otp'",
        [&a.user_id],
        |r| r.get(0),
    )?;
    if count >= new.max_enrollments {
        return Err(Error::Conflict(format!(
            "the user already has the maximum of {} OTP enrollments",
            new.max_enrollments
        )));
    }
    insert_auth(c, a)?;
    c.execute(
        "INSERT INTO otp_params(authenticator_id,algorithm,digits,period,secret_sealed,last_step)
         VALUES(?1,?2,?3,?4,?5,NULL)",
        params![
            a.id,
            new.params.algorithm.as_str(),
            new.params.digits,
            new.params.period,
            new.params.secret_sealed
        ],
    )?;
    audit_tx(c, now, Some(&a.user_id), "enroll", Some(&a.id), "otp")?;
    if let Some((rid, hashes)) = &new.recovery {
        insert_recovery(c, &a.user_id, rid, hashes, false, now)?;
        audit_tx(
            c,
            now,
            Some(&a.user_id),
            "enroll",
            Some(rid),
            "recovery-code",
        )?;
    }
    Ok(())
}

pub(super) fn create_authenticator(
    c: &Connection,
    authenticator: &Authenticator,
    now: u64,
) -> Result<()> {
    insert_auth(c, authenticator)?;
    audit_tx(
        c,
        now,
        Some(&authenticator.user_id),
        "enroll",
        Some(&authenticator.id),
        authenticator.kind.as_str(),
    )
}

/// Deletes the authenticator and the others of its pair; the ids deleted (none when the user
/// has no such authenticator).
pub(super) fn delete(c: &Connection, user_id: &str, id: String, now: u64) -> Result<Vec<String>> {
    let pair: Option<Option<String>> = c
        .query_row(
            "SELECT pair_id FROM authenticators WHERE id=?1 AND user_id=?2",
            params![id, user_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(pair) = pair else {
        return Ok(Vec::new());
    };
    let mut ids = vec![id.clone()];
    if let Some(p) = pair {
        let mut st =
            c.prepare("SELECT id FROM authenticators WHERE user_id=?1 AND pair_id=?2 AND id<>?3")?;
        let more = st
            .query_map(params![user_id, p, id], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.extend(more);
    }
    for i in &ids {
        c.execute("DELETE FROM authenticators WHERE id=?1", [i])?;
        audit_tx(c, now, Some(user_id), "delete", Some(i), "")?;
    }
    Ok(ids)
}

pub(super) fn delete_all(c: &Connection, user_id: &str, now: u64) -> Result<usize> {
    let n = c.execute("DELETE FROM authenticators WHERE user_id=?1", [user_id])?;
    audit_tx(
        c,
        now,
        Some(user_id),
        "delete_all",
        None,
        &format!("{n} removed"),
    )?;
    Ok(n)
}

pub(super) fn replace_recovery_codes(
    c: &Connection,
    user_id: &str,
    new_id: String,
    hashes: &[[u8; 32]],
    now: u64,
) -> Result<String> {
    insert_recovery(c, user_id, &new_id, hashes, true, now)?;
    audit_tx(
        c,
        now,
        Some(user_id),
        "regenerate",
        Some(&new_id),
        "recovery-code",
    )?;
    Ok(new_id)
}
