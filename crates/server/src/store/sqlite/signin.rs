//! The hosted sign-in's tables: flows (compare-and-swap on a revision), global sessions, known
//! browsers, and the sign-in bookkeeping.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use crate::error::Result;
use crate::model::{BrowserRecord, FlowRecord, SessionRecord, SignInRecord};

/// Flows this long past their expiry are deleted when a new one is stored.
const FLOW_KEEP: u64 = 3600;

fn hash32(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a stored hash is not 32 bytes".into(),
        )
    })
}

fn flow_from_row(r: &Row<'_>) -> rusqlite::Result<FlowRecord> {
    Ok(FlowRecord {
        id_hash: hash32(r.get("id_hash")?)?,
        browser_hash: hash32(r.get("browser_hash")?)?,
        document: r.get("document")?,
        revision: r.get("revision")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
    })
}

pub(super) fn insert_flow(c: &Connection, f: &FlowRecord) -> Result<()> {
    c.prepare_cached("DELETE FROM signin_flows WHERE expires_at < ?1")?
        .execute([f.created_at.saturating_sub(FLOW_KEEP)])?;
    c.prepare_cached(
        "INSERT INTO signin_flows(id_hash, browser_hash, document, revision, created_at, expires_at)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        f.id_hash.as_slice(),
        f.browser_hash.as_slice(),
        f.document,
        f.revision,
        f.created_at,
        f.expires_at
    ])?;
    Ok(())
}

pub(super) fn flow(c: &Connection, id_hash: [u8; 32]) -> Result<Option<FlowRecord>> {
    Ok(
        c.prepare_cached("SELECT * FROM signin_flows WHERE id_hash = ?1")?
            .query_row([id_hash.as_slice()], flow_from_row)
            .optional()?,
    )
}

pub(super) fn update_flow(
    c: &Connection,
    id_hash: [u8; 32],
    revision: u64,
    document: &str,
) -> Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE signin_flows SET document = ?3, revision = revision + 1
             WHERE id_hash = ?1 AND revision = ?2",
        )?
        .execute(params![id_hash.as_slice(), revision, document])?;
    Ok(n == 1)
}

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        methods: r.get("methods")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        expires_at: r.get("expires_at")?,
        revoked_at: r.get("revoked_at")?,
        user_agent: r.get("user_agent")?,
        ip: r.get("ip")?,
    })
}

pub(super) fn save_session(c: &Connection, hash: [u8; 32], s: &SessionRecord) -> Result<()> {
    // Sessions ended or expired over 30 days ago are of no use to anyone.
    c.prepare_cached("DELETE FROM sessions WHERE expires_at < ?1")?
        .execute([s.updated_at.saturating_sub(30 * 86_400)])?;
    c.prepare_cached(
        "INSERT INTO sessions(id, id_hash, user_id, methods, created_at, updated_at, expires_at,
                              revoked_at, user_agent, ip)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET methods = excluded.methods,
           updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )?
    .execute(params![
        s.id,
        hash.as_slice(),
        s.user_id,
        s.methods,
        s.created_at,
        s.updated_at,
        s.expires_at,
        s.user_agent,
        s.ip
    ])?;
    Ok(())
}

pub(super) fn session(c: &Connection, hash: [u8; 32]) -> Result<Option<SessionRecord>> {
    Ok(
        c.prepare_cached("SELECT * FROM sessions WHERE id_hash = ?1")?
            .query_row([hash.as_slice()], session_from_row)
            .optional()?,
    )
}

pub(super) fn sessions_of(c: &Connection, user_id: &str, now: u64) -> Result<Vec<SessionRecord>> {
    let mut st = c.prepare_cached(
        "SELECT * FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
         ORDER BY updated_at DESC, id",
    )?;
    let rows = st.query_map(params![user_id, now], session_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn end_sessions(
    c: &Connection,
    user_id: &str,
    id: Option<&str>,
    now: u64,
) -> Result<usize> {
    let n = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3
             WHERE user_id = ?1 AND (?2 IS NULL OR id = ?2) AND revoked_at IS NULL
               AND expires_at > ?3",
        )?
        .execute(params![user_id, id, now])?;
    if n > 0 {
        audit_tx(
            c,
            now,
            Some(user_id),
            "session.ended",
            None,
            id.unwrap_or("all"),
        )?;
    }
    Ok(n)
}

pub(super) fn browser(
    c: &Connection,
    hash: [u8; 32],
    user_id: &str,
) -> Result<Option<BrowserRecord>> {
    Ok(c.prepare_cached(
        "SELECT last_sign_in_at, remembered_at FROM browsers
             WHERE browser_hash = ?1 AND user_id = ?2",
    )?
    .query_row(params![hash.as_slice(), user_id], |r| {
        Ok(BrowserRecord {
            last_sign_in_at: r.get(0)?,
            remembered_at: r.get(1)?,
        })
    })
    .optional()?)
}

pub(super) fn record_sign_in(c: &Connection, s: &SignInRecord) -> Result<()> {
    c.prepare_cached(
        "UPDATE users SET sign_ins = sign_ins + 1, last_sign_in_at = ?2 WHERE id = ?1",
    )?
    .execute(params![s.user_id, s.now])?;
    for id in &s.authenticator_ids {
        c.prepare_cached(
            "UPDATE authenticators SET last_used_at = ?3 WHERE id = ?1 AND user_id = ?2",
        )?
        .execute(params![id, s.user_id, s.now])?;
    }
    let remembered = s.remember.then_some(s.now);
    c.prepare_cached(
        "INSERT INTO browsers(browser_hash, user_id, last_sign_in_at, remembered_at)
         VALUES(?1, ?2, ?3, ?4)
         ON CONFLICT(browser_hash, user_id) DO UPDATE SET last_sign_in_at = excluded.last_sign_in_at,
           remembered_at = COALESCE(excluded.remembered_at, browsers.remembered_at)",
    )?
    .execute(params![s.browser_hash.as_slice(), s.user_id, s.now, remembered])?;
    audit_tx(c, s.now, Some(&s.user_id), "signin.ok", None, &s.detail)
}
