//! `GET /api/v2/logs`: the audit log of MFA events.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::QueryParams;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::store::AuditFilter;
use crate::AppState;

/// Query of `GET /api/v2/logs`.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "fifty")]
    per_page: u32,
}

fn one() -> u32 {
    1
}
fn fifty() -> u32 {
    50
}

/// A page of events, newest first.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogPage {
    /// Events.
    pub logs: Vec<AuditEvent>,
    /// Matching events.
    pub total: u64,
    /// Page (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

/// `GET /api/v2/logs?user_id=&type=&page=&per_page=` (read:logs).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<LogQuery>,
) -> Result<Json<LogPage>> {
    caller.management("read:logs")?;
    if q.page == 0 || !(1..=100).contains(&q.per_page) {
        return Err(Error::InvalidRequest(
            "`page` starts at 1 and `per_page` is 1–100".into(),
        ));
    }
    let filter = AuditFilter {
        user_id: q.user_id,
        kind: q.kind,
    };
    let (page, per_page) = (q.page, q.per_page);
    let (logs, total) = state
        .db(move |s| s.list_audit(filter, page, per_page))
        .await?;
    Ok(Json(LogPage {
        logs,
        total,
        page,
        per_page,
    }))
}
