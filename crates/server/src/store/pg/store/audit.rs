//! Reading the audit log (rows are written by the transaction they describe).
//!
//! The filter becomes a `WHERE` of only the conditions given, so the planner can pick an index
//! (`audit_user`, `audit_kind`, `audit_at`) for the narrowest one.

use deadpool_postgres::Client;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{int, page_bounds, uint};
use crate::audit::{failure_sql_list, AuditResult};
use crate::error::Result;
use crate::model::AuditEvent;
use crate::store::AuditFilter;

type Param = Box<dyn ToSql + Sync + Send>;

/// The `WHERE` clause of `filter` (and `before`), and its parameters.
fn condition(filter: &AuditFilter, before: Option<i64>) -> (String, Vec<Param>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let mut push = |sql: &str, v: Param| {
        params.push(v);
        conds.push(sql.replace('?', &format!("${}", params.len())));
    };
    if let Some(u) = &filter.user_id {
        push("user_id = ?", Box::new(u.clone()));
    }
    if let Some(k) = &filter.kind {
        push("kind = ?", Box::new(k.clone()));
    }
    if let Some(p) = &filter.kind_prefix {
        let len = p.chars().count();
        push(&format!("substr(kind, 1, {len}) = ?"), Box::new(p.clone()));
    }
    if let Some(from) = filter.from {
        push("at >= ?", Box::new(int(from)));
    }
    if let Some(to) = filter.to {
        push("at <= ?", Box::new(int(to)));
    }
    if let Some(b) = before {
        push("id < ?", Box::new(b));
    }
    match filter.result {
        Some(AuditResult::Failure) => conds.push(format!("kind IN ({})", failure_sql_list())),
        Some(AuditResult::Success) => conds.push(format!("kind NOT IN ({})", failure_sql_list())),
        None => {}
    }
    let sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    (sql, params)
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn event(r: &Row) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.try_get(0)?,
        at: uint(r.try_get(1)?),
        user_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        authenticator_id: r.try_get(4)?,
        detail: r.try_get(5)?,
    })
}

/// A page of events, newest first, and the number of events the filter matches.
pub(super) async fn list(
    c: &Client,
    filter: AuditFilter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<AuditEvent>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let (cond, params) = condition(&filter, None);
    let n = params.len();
    let count_st = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM audit {cond}"))
        .await?;
    let page_st = c
        .prepare_cached(&format!(
            "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit {cond}
             ORDER BY id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ))
        .await?;
    let filter_params = refs(&params);
    let mut paged = Vec::with_capacity(n + 2);
    paged.extend(filter_params.iter().copied());
    paged.push(&limit as &(dyn ToSql + Sync));
    paged.push(&offset as &(dyn ToSql + Sync));
    let (total, rows) = futures_util::future::try_join(
        c.query_one(&count_st, &filter_params),
        c.query(&page_st, &paged),
    )
    .await?;
    let events = rows.iter().map(event).collect::<Result<Vec<_>>>()?;
    Ok((events, uint(total.try_get(0)?)))
}

/// At most `limit` matching events below `before`, newest first.
pub(super) async fn scan(
    c: &Client,
    filter: AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEvent>> {
    let (cond, mut params) = condition(&filter, before);
    params.push(Box::new(i64::from(limit)));
    let st = c
        .prepare_cached(&format!(
            "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit {cond}
             ORDER BY id DESC LIMIT ${}",
            params.len()
        ))
        .await?;
    let rows = c.query(&st, &refs(&params)).await?;
    rows.iter().map(event).collect()
}
