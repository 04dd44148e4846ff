//! Reading the audit log (rows are written by the job they describe, through `audit_tx`).

use rusqlite::{params, Connection};

use super::page_bounds;
use crate::error::Result;
use crate::model::AuditEvent;
use crate::store::AuditFilter;

/// A page of events, newest first, and the number of events the filter matches.
pub(super) fn list(
    c: &Connection,
    filter: &AuditFilter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<AuditEvent>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let cond = "(?1 IS NULL OR user_id=?1) AND (?2 IS NULL OR kind=?2)";
    let total: u64 = c.query_row(
        &format!("SELECT COUNT(*) FROM audit WHERE {cond}"),
        params![filter.user_id, filter.kind],
        |r| r.get(0),
    )?;
    let mut st = c.prepare_cached(&format!(
        "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit WHERE {cond}
         ORDER BY id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = st
        .query_map(params![filter.user_id, filter.kind, limit, offset], |r| {
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
    Ok((rows, total))
}
