//! Token records (stored by the SHA-256 of their secret).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use crate::error::Result;
use crate::model::{TokenKind, TokenRecord};

fn token_from_row(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = r.get("kind")?;
    let scopes: String = r.get("scopes")?;
    Ok(TokenRecord {
        id: r.get("id")?,
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
        user_id: r.get("user_id")?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        name: r.get("name")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

pub(super) fn insert_token_tx(conn: &Connection, t: &TokenRecord, hash: &[u8; 32]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tokens(id,hash,kind,user_id,scopes,name,created_at,expires_at,revoked_at)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,NULL)",
    )?
    .execute(params![
        t.id,
        hash.as_slice(),
        t.kind.as_str(),
        t.user_id,
        t.scopes.join(" "),
        t.name,
        t.created_at,
        t.expires_at
    ])?;
    Ok(())
}

pub(super) fn find(c: &Connection, hash: [u8; 32]) -> Result<Option<TokenRecord>> {
    Ok(c.prepare_cached("SELECT * FROM tokens WHERE hash=?1")?
        .query_row([hash.as_slice()], token_from_row)
        .optional()?)
}

pub(super) fn list_management(c: &Connection) -> Result<Vec<TokenRecord>> {
    let mut st =
        c.prepare_cached("SELECT * FROM tokens WHERE kind='management' ORDER BY created_at, id")?;
    let rows = st.query_map([], token_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn revoke(c: &Connection, id: &str, now: u64) -> Result<bool> {
    let n = c.execute(
        "UPDATE tokens SET revoked_at=?2 WHERE id=?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    if n > 0 {
        audit_tx(c, now, None, "token_revoke", None, id)?;
    }
    Ok(n > 0)
}
