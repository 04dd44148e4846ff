//! Reading the audit log (rows are written by the transaction they describe).

use deadpool_postgres::Client;

use super::{page_bounds, uint};
use crate::error::Result;
use crate::model::AuditEvent;
use crate::store::AuditFilter;

const FILTER: &str = "($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR kind = $2)";

/// A page of events, newest first, and the number of events the filter matches.
pub(super) async fn list(
    c: &Client,
    filter: AuditFilter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<AuditEvent>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let count_st = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM audit WHERE {FILTER}"))
        .await?;
    let page_st = c
        .prepare_cached(&format!(
            "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit WHERE {FILTER}
             ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .await?;
    let (total, rows) = futures_util::future::try_join(
        c.query_one(&count_st, &[&filter.user_id, &filter.kind]),
        c.query(&page_st, &[&filter.user_id, &filter.kind, &limit, &offset]),
    )
    .await?;
    let events = rows
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
        .collect::<Result<Vec<_>>>()?;
    Ok((events, uint(total.try_get(0)?)))
}
