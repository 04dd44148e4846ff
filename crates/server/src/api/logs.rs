//! `GET /api/v2/logs`: the audit log of MFA events, filtered and paged by the store; and
//! `GET /api/v2/logs/export`: every matching event as CSV (at most
//! [`EXPORT_MAX_ROWS`](crate::audit::EXPORT_MAX_ROWS)).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::QueryParams;
use crate::audit::{self, AuditResult, EXPORT_MAX_ROWS};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::store::AuditFilter;
use crate::AppState;

/// Query of `GET /api/v2/logs` and (without the paging) of its export.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    user_id: Option<String>,
    /// A type (`verify_fail`), or a family of types (`push.*`).
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// Unix seconds, inclusive.
    #[serde(default)]
    from: Option<String>,
    /// Unix seconds, inclusive.
    #[serde(default)]
    to: Option<String>,
    /// `success` or `failure`.
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    per_page: Option<String>,
}

/// An event as the API shows it: the stored event and its result.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogEntry {
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// `success` or `failure` ([`crate::audit::result_of`]).
    pub result: AuditResult,
}

/// A page of events, newest first.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogPage {
    /// Events.
    pub logs: Vec<LogEntry>,
    /// Matching events.
    pub total: u64,
    /// Page (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

fn bad(param: &str, what: &str) -> Error {
    Error::InvalidRequest(format!("`{param}` {what}"))
}

/// Unix seconds (`0` … `i64::MAX`).
fn seconds(param: &str, v: Option<&str>) -> Result<Option<u64>> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .ok()
                .filter(|n| i64::try_from(*n).is_ok())
                .ok_or_else(|| bad(param, "must be Unix seconds (a whole number ≥ 0)"))
        })
        .transpose()
}

/// A positive whole number in `range`, or `default`.
fn number(
    param: &str,
    v: Option<&str>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                let what = if *range.end() == u32::MAX {
                    format!("must be a whole number ≥ {}", range.start())
                } else {
                    format!("must be a whole number {}–{}", range.start(), range.end())
                };
                bad(param, &what)
            }),
    }
}

/// The store's filter of a query.
fn filter(q: &LogQuery) -> Result<AuditFilter> {
    let from = seconds("from", q.from.as_deref())?;
    let to = seconds("to", q.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad("from", "must not be after `to`"));
        }
    }
    let result = match q.result.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(r) => {
            Some(AuditResult::parse(r).ok_or_else(|| bad("result", "must be success or failure"))?)
        }
    };
    let (mut kind, mut kind_prefix) = (None, None);
    if let Some(t) = q.kind.as_deref().filter(|s| !s.is_empty()) {
        let (name, family) = match t.strip_suffix('*') {
            Some(p) => (p, true),
            None => (t, false),
        };
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
            && (!family || name.ends_with('.'));
        if !ok {
            return Err(bad(
                "type",
                "must be an event type (`verify_fail`) or a family of them (`push.*`)",
            ));
        }
        if family {
            kind_prefix = Some(name.to_owned());
        } else {
            kind = Some(name.to_owned());
        }
    }
    Ok(AuditFilter {
        user_id: q.user_id.clone().filter(|s| !s.is_empty()),
        kind,
        kind_prefix,
        from,
        to,
        result,
    })
}

/// `GET /api/v2/logs?user_id=&type=&from=&to=&result=&page=&per_page=` (read:logs).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<LogQuery>,
) -> Result<Json<LogPage>> {
    caller.management("read:logs")?;
    let page = number("page", q.page.as_deref(), 1, 1..=u32::MAX)?;
    let per_page = number("per_page", q.per_page.as_deref(), 50, 1..=100)?;
    let filter = filter(&q)?;
    let (logs, total) = state
        .db(move |s| s.list_audit(filter, page, per_page))
        .await?;
    Ok(Json(LogPage {
        logs: logs
            .into_iter()
            .map(|event| LogEntry {
                result: audit::result_of(&event.kind),
                event,
            })
            .collect(),
        total,
        page,
        per_page,
    }))
}

/// Rows read from the store at a time while exporting.
const EXPORT_CHUNK: u32 = 1000;

/// `GET /api/v2/logs/export?user_id=&type=&from=&to=&result=` (read:logs): every matching
/// event, newest first, as CSV (RFC 4180, formulas neutralised), at most
/// [`EXPORT_MAX_ROWS`]; `X-Total-Count` says how many matched and
/// `X-Tessera-Export-Truncated` whether some were left out. Streamed in chunks.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<LogQuery>,
) -> Result<Response> {
    caller.management("read:logs")?;
    if q.page.is_some() || q.per_page.is_some() {
        return Err(bad(
            "page",
            "does not apply: the export has every matching event",
        ));
    }
    let filter = filter(&q)?;
    let f = filter.clone();
    let (_, total) = state.db(move |s| s.list_audit(f, 1, 1)).await?;
    struct Cursor {
        state: AppState,
        filter: AuditFilter,
        before: Option<i64>,
        left: u64,
        header: bool,
    }
    let start = Cursor {
        state,
        filter,
        before: None,
        left: total.min(EXPORT_MAX_ROWS),
        header: true,
    };
    let stream = futures_util::stream::try_unfold(start, |mut cur| async move {
        if cur.header {
            cur.header = false;
            return Ok::<_, Error>(Some((
                Bytes::from_static(audit::CSV_HEADER.as_bytes()),
                cur,
            )));
        }
        if cur.left == 0 {
            return Ok(None);
        }
        let limit = u32::try_from(cur.left.min(u64::from(EXPORT_CHUNK))).unwrap_or(EXPORT_CHUNK);
        let (f, before) = (cur.filter.clone(), cur.before);
        let rows = cur
            .state
            .db(move |s| s.scan_audit(f, before, limit))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        cur.before = Some(last.id);
        cur.left = cur.left.saturating_sub(rows.len() as u64);
        if rows.len() < limit as usize {
            cur.left = 0;
        }
        let mut text = String::with_capacity(rows.len() * 160);
        for e in &rows {
            text.push_str(&audit::csv_row(e));
        }
        Ok(Some((Bytes::from(text), cur)))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"tessera-audit.csv\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-total-count", HeaderValue::from(total));
    h.insert("x-tessera-export-limit", HeaderValue::from(EXPORT_MAX_ROWS));
    h.insert(
        "x-tessera-export-truncated",
        HeaderValue::from_static(if total > EXPORT_MAX_ROWS {
            "true"
        } else {
            "false"
        }),
    );
    Ok(resp)
}
