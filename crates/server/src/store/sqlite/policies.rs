//! Sign-in policy versions: every change kept, with who wrote it and when.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use crate::error::Result;
use crate::store::{stale_policy, PolicyVersion};

fn from_row(r: &Row<'_>) -> rusqlite::Result<PolicyVersion> {
    Ok(PolicyVersion {
        version: r.get("version")?,
        document: r.get("document")?,
        author: r.get("author")?,
        created_at: r.get("created_at")?,
    })
}

pub(super) fn get(c: &Connection, version: Option<u64>) -> Result<Option<PolicyVersion>> {
    Ok(match version {
        Some(v) => c
            .prepare_cached("SELECT * FROM policy_versions WHERE version = ?1")?
            .query_row([v], from_row)
            .optional()?,
        None => c
            .prepare_cached("SELECT * FROM policy_versions ORDER BY version DESC LIMIT 1")?
            .query_row([], from_row)
            .optional()?,
    })
}

pub(super) fn list(c: &Connection) -> Result<Vec<PolicyVersion>> {
    let mut st = c.prepare_cached("SELECT * FROM policy_versions ORDER BY version DESC")?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Runs on the one writer, so reading the latest version and inserting the next cannot
/// interleave with another change.
pub(super) fn put(
    c: &Connection,
    document: &str,
    author: &str,
    expected: Option<u64>,
    now: u64,
) -> Result<PolicyVersion> {
    let current: u64 = c.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM policy_versions",
        [],
        |r| r.get(0),
    )?;
    if let Some(e) = expected.filter(|e| *e != current) {
        return Err(stale_policy(current, e));
    }
    let version = current + 1;
    c.execute(
        "INSERT INTO policy_versions(version, document, author, created_at) VALUES(?1, ?2, ?3, ?4)",
        params![version, document, author, now],
    )?;
    audit_tx(
        c,
        now,
        None,
        "policy.updated",
        None,
        &format!("version {version} by {author}"),
    )?;
    Ok(PolicyVersion {
        version,
        document: document.to_owned(),
        author: author.to_owned(),
        created_at: now,
    })
}
