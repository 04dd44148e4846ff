//! Token records (stored by the SHA-256 of their secret).

use deadpool_postgres::Client;
use tokio_postgres::Row;

use super::{audit_tx, int, uint, Param};
use crate::error::Result;
use crate::model::{TokenKind, TokenRecord};

const COLUMNS: &str = "id, kind, user_id, scopes, name, created_at, expires_at, revoked_at";

pub(super) const INSERT: &str =
    "INSERT INTO tokens(id, hash, kind, user_id, scopes, name, created_at, expires_at, revoked_at)
     VALUES($1, $2, $3, $4, $5, $6, $7, $8, NULL)";

/// The parameters of [`INSERT`] for `t`.
pub(super) fn insert_params(t: &TokenRecord, hash: &[u8; 32]) -> Vec<Param> {
    vec![
        Box::new(t.id.clone()),
        Box::new(hash.to_vec()),
        Box::new(t.kind.as_str().to_owned()),
        Box::new(t.user_id.clone()),
        Box::new(t.scopes.join(" ")),
        Box::new(t.name.clone()),
        Box::new(int(t.created_at)),
        Box::new(t.expires_at.map(int)),
    ]
}

pub(super) const REVOKE: &str =
    "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

fn token_from_row(r: &Row) -> Result<TokenRecord> {
    let kind: String = r.try_get("kind")?;
    let scopes: String = r.try_get("scopes")?;
    Ok(TokenRecord {
        id: r.try_get("id")?,
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
        user_id: r.try_get("user_id")?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        name: r.try_get("name")?,
        created_at: uint(r.try_get("created_at")?),
        expires_at: r.try_get::<_, Option<i64>>("expires_at")?.map(uint),
        revoked_at: r.try_get::<_, Option<i64>>("revoked_at")?.map(uint),
    })
}

/// The record whose secret hashes to `hash` (an index lookup, as on SQLite: the hash of a
/// random secret reveals nothing through timing).
pub(super) async fn find(c: &Client, hash: [u8; 32]) -> Result<Option<TokenRecord>> {
    let st = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE hash = $1"))
        .await?;
    c.query_opt(&st, &[&hash.as_slice()])
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
}

pub(super) async fn list_management(c: &Client) -> Result<Vec<TokenRecord>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tokens WHERE kind = 'management'
             ORDER BY created_at, id COLLATE \"C\""
        ))
        .await?;
    c.query(&st, &[])
        .await?
        .iter()
        .map(token_from_row)
        .collect()
}

pub(super) async fn revoke(c: &mut Client, id: &str, now: u64) -> Result<bool> {
    let tx = c.transaction().await?;
    let st = tx.prepare_cached(REVOKE).await?;
    let n = tx.execute(&st, &[&id, &int(now)]).await?;
    if n > 0 {
        audit_tx(&tx, now, None, "token_revoke", None, id).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}
