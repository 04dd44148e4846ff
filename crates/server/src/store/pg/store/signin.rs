//! The hosted sign-in's tables: flows (compare-and-swap on a revision), global sessions, known
//! browsers, and the sign-in bookkeeping.

use deadpool_postgres::Client;
use tokio_postgres::Row;

use super::{audit_tx, int, uint};
use crate::error::{Error, Result};
use crate::model::{BrowserRecord, FlowRecord, SessionRecord, SignInRecord};

/// Flows this long past their expiry are deleted when a new one is stored.
const FLOW_KEEP: u64 = 3600;

fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| Error::Storage("a stored hash is not 32 bytes".into()))
}

fn flow_from_row(r: &Row) -> Result<FlowRecord> {
    Ok(FlowRecord {
        id_hash: hash32(r.try_get("id_hash")?)?,
        browser_hash: hash32(r.try_get("browser_hash")?)?,
        document: r.try_get("document")?,
        revision: uint(r.try_get("revision")?),
        created_at: uint(r.try_get("created_at")?),
        expires_at: uint(r.try_get("expires_at")?),
    })
}

pub(super) async fn insert_flow(c: &mut Client, f: &FlowRecord) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "DELETE FROM signin_flows WHERE expires_at < $1",
        &[&int(f.created_at.saturating_sub(FLOW_KEEP))],
    )
    .await?;
    tx.execute(
        "INSERT INTO signin_flows(id_hash, browser_hash, document, revision, created_at, expires_at)
         VALUES($1, $2, $3, $4, $5, $6)",
        &[
            &f.id_hash.as_slice(),
            &f.browser_hash.as_slice(),
            &f.document,
            &int(f.revision),
            &int(f.created_at),
            &int(f.expires_at),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn flow(c: &Client, id_hash: [u8; 32]) -> Result<Option<FlowRecord>> {
    let st = c
        .prepare_cached("SELECT * FROM signin_flows WHERE id_hash = $1")
        .await?;
    c.query_opt(&st, &[&id_hash.as_slice()])
        .await?
        .as_ref()
        .map(flow_from_row)
        .transpose()
}

pub(super) async fn update_flow(
    c: &Client,
    id_hash: [u8; 32],
    revision: u64,
    document: &str,
) -> Result<bool> {
    let st = c
        .prepare_cached(
            "UPDATE signin_flows SET document = $3, revision = revision + 1
             WHERE id_hash = $1 AND revision = $2",
        )
        .await?;
    let n = c
        .execute(&st, &[&id_hash.as_slice(), &int(revision), &document])
        .await?;
    Ok(n == 1)
}

fn session_from_row(r: &Row) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        methods: r.try_get("methods")?,
        created_at: uint(r.try_get("created_at")?),
        updated_at: uint(r.try_get("updated_at")?),
        expires_at: uint(r.try_get("expires_at")?),
        revoked_at: r.try_get::<_, Option<i64>>("revoked_at")?.map(uint),
        user_agent: r.try_get("user_agent")?,
        ip: r.try_get("ip")?,
    })
}

pub(super) async fn save_session(c: &mut Client, hash: [u8; 32], s: &SessionRecord) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "DELETE FROM sessions WHERE expires_at < $1",
        &[&int(s.updated_at.saturating_sub(30 * 86_400))],
    )
    .await?;
    tx.execute(
        "INSERT INTO sessions(id, id_hash, user_id, methods, created_at, updated_at, expires_at,
                              revoked_at, user_agent, ip)
         VALUES($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)
         ON CONFLICT(id) DO UPDATE SET methods = excluded.methods,
           updated_at = excluded.updated_at, expires_at = excluded.expires_at",
        &[
            &s.id,
            &hash.as_slice(),
            &s.user_id,
            &s.methods,
            &int(s.created_at),
            &int(s.updated_at),
            &int(s.expires_at),
            &s.user_agent,
            &s.ip,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn session(c: &Client, hash: [u8; 32]) -> Result<Option<SessionRecord>> {
    let st = c
        .prepare_cached("SELECT * FROM sessions WHERE id_hash = $1")
        .await?;
    c.query_opt(&st, &[&hash.as_slice()])
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
}

pub(super) async fn sessions_of(c: &Client, user_id: &str, now: u64) -> Result<Vec<SessionRecord>> {
    let st = c
        .prepare_cached(
            "SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY updated_at DESC, id COLLATE \"C\"",
        )
        .await?;
    c.query(&st, &[&user_id, &int(now)])
        .await?
        .iter()
        .map(session_from_row)
        .collect()
}

pub(super) async fn end_sessions(
    c: &mut Client,
    user_id: &str,
    id: Option<&str>,
    now: u64,
) -> Result<usize> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE sessions SET revoked_at = $3
             WHERE user_id = $1 AND ($2::text IS NULL OR id = $2) AND revoked_at IS NULL
               AND expires_at > $3",
            &[&user_id, &id, &int(now)],
        )
        .await?;
    if n > 0 {
        audit_tx(
            &tx,
            now,
            Some(user_id),
            "session.ended",
            None,
            id.unwrap_or("all"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) async fn browser(
    c: &Client,
    hash: [u8; 32],
    user_id: &str,
) -> Result<Option<BrowserRecord>> {
    let st = c
        .prepare_cached(
            "SELECT last_sign_in_at, remembered_at FROM browsers
             WHERE browser_hash = $1 AND user_id = $2",
        )
        .await?;
    c.query_opt(&st, &[&hash.as_slice(), &user_id])
        .await?
        .map(|r| {
            Ok(BrowserRecord {
                last_sign_in_at: uint(r.try_get(0)?),
                remembered_at: r.try_get::<_, Option<i64>>(1)?.map(uint),
            })
        })
        .transpose()
}

pub(super) async fn record_sign_in(c: &mut Client, s: &SignInRecord) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE users SET sign_ins = sign_ins + 1, last_sign_in_at = $2 WHERE id = $1",
        &[&s.user_id, &int(s.now)],
    )
    .await?;
    for id in &s.authenticator_ids {
        tx.execute(
            "UPDATE authenticators SET last_used_at = $3 WHERE id = $1 AND user_id = $2",
            &[id, &s.user_id, &int(s.now)],
        )
        .await?;
    }
    let remembered = s.remember.then_some(int(s.now));
    tx.execute(
        "INSERT INTO browsers(browser_hash, user_id, last_sign_in_at, remembered_at)
         VALUES($1, $2, $3, $4)
         ON CONFLICT(browser_hash, user_id) DO UPDATE SET last_sign_in_at = excluded.last_sign_in_at,
           remembered_at = COALESCE(excluded.remembered_at, browsers.remembered_at)",
        &[&s.browser_hash.as_slice(), &s.user_id, &int(s.now), &remembered],
    )
    .await?;
    audit_tx(&tx, s.now, Some(&s.user_id), "signin.ok", None, &s.detail).await?;
    tx.commit().await?;
    Ok(())
}
