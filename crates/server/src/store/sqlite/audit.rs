//! Reading the audit log (rows are written by the job they describe, through `audit_tx`).
//!
//! The filter becomes a `WHERE` of only the conditions given, so SQLite can pick an index
//! (`audit_user`, `audit_kind`, `audit_at`) for the narrowest one.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};

use super::page_bounds;
use crate::audit::{failure_sql_list, AuditResult};
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::store::AuditFilter;

/// The `WHERE` clause of `filter` (and `before`), and its parameters.
fn condition(filter: &AuditFilter, before: Option<i64>) -> Result<(String, Vec<Value>)> {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut push = |sql: &str, v: Value| {
        params.push(v);
        conds.push(sql.replace('?', &format!("?{}", params.len())));
    };
    if let Some(u) = &filter.user_id {
        push("user_id = ?", Value::Text(u.clone()));
    }
    if let Some(k) = &filter.kind {
        push("kind = ?", Value::Text(k.clone()));
    }
    if let Some(p) = &filter.kind_prefix {
        let len = p.chars().count();
        push(
            &format!("substr(kind, 1, {len}) = ?"),
            Value::Text(p.clone()),
        );
    }
    let secs = |v: u64| -> Result<Value> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| Error::InvalidRequest("a time is out of range".into()))
    };
    if let Some(from) = filter.from {
        push("at >= ?", secs(from)?);
    }
    if let Some(to) = filter.to {
        push("at <= ?", secs(to)?);
    }
    if let Some(b) = before {
        push("id < ?", Value::Integer(b));
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
    Ok((sql, params))
}

fn event(r: &Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.get(0)?,
        at: r.get(1)?,
        user_id: r.get(2)?,
        kind: r.get(3)?,
        authenticator_id: r.get(4)?,
        detail: r.get(5)?,
    })
}

/// A page of events, newest first, and the number of events the filter matches.
pub(super) fn list(
    c: &Connection,
    filter: &AuditFilter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<AuditEvent>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let (cond, mut params) = condition(filter, None)?;
    let total: u64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM audit {cond}"))?
        .query_row(params_from_iter(params.iter()), |r| r.get(0))?;
    let n = params.len();
    params.push(Value::Integer(limit));
    params.push(Value::Integer(offset));
    let mut st = c.prepare_cached(&format!(
        "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit {cond}
         ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    ))?;
    let rows = st
        .query_map(params_from_iter(params.iter()), event)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// At most `limit` matching events below `before`, newest first.
pub(super) fn scan(
    c: &Connection,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEvent>> {
    let (cond, mut params) = condition(filter, before)?;
    params.push(Value::Integer(i64::from(limit)));
    let mut st = c.prepare_cached(&format!(
        "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit {cond}
         ORDER BY id DESC LIMIT ?{}",
        params.len()
    ))?;
    let rows = st
        .query_map(params_from_iter(params.iter()), event)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
