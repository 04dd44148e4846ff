//! Sign-in policy versions: every change kept, with who wrote it and when.

use deadpool_postgres::Client;
use tokio_postgres::Row;

use super::{audit_tx, int, uint};
use crate::error::Result;
use crate::store::{stale_policy, PolicyVersion};

const COLUMNS: &str = "version, document, author, created_at";

fn from_row(r: &Row) -> Result<PolicyVersion> {
    Ok(PolicyVersion {
        version: uint(r.try_get("version")?),
        document: r.try_get("document")?,
        author: r.try_get("author")?,
        created_at: uint(r.try_get("created_at")?),
    })
}

pub(super) async fn get(c: &Client, version: Option<u64>) -> Result<Option<PolicyVersion>> {
    let row = match version {
        Some(v) => {
            let st = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM policy_versions WHERE version = $1"
                ))
                .await?;
            c.query_opt(&st, &[&int(v)]).await?
        }
        None => {
            let st = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1"
                ))
                .await?;
            c.query_opt(&st, &[]).await?
        }
    };
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(c: &Client) -> Result<Vec<PolicyVersion>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM policy_versions ORDER BY version DESC"
        ))
        .await?;
    c.query(&st, &[]).await?.iter().map(from_row).collect()
}

/// Instances write one after another: the table lock makes reading the latest version and
/// inserting the next one step (readers are not blocked).
pub(super) async fn put(
    c: &mut Client,
    document: &str,
    author: &str,
    expected: Option<u64>,
    now: u64,
) -> Result<PolicyVersion> {
    let tx = c.transaction().await?;
    tx.batch_execute("LOCK TABLE policy_versions IN EXCLUSIVE MODE")
        .await?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM policy_versions", &[])
        .await?
        .try_get(0)?;
    let current = uint(current);
    if let Some(e) = expected.filter(|e| *e != current) {
        return Err(stale_policy(current, e));
    }
    let version = current + 1;
    tx.execute(
        "INSERT INTO policy_versions(version, document, author, created_at) VALUES($1, $2, $3, $4)",
        &[&int(version), &document, &author, &int(now)],
    )
    .await?;
    audit_tx(
        &tx,
        now,
        None,
        "policy.updated",
        None,
        &format!("version {version} by {author}"),
    )
    .await?;
    tx.commit().await?;
    Ok(PolicyVersion {
        version,
        document: document.to_owned(),
        author: author.to_owned(),
        created_at: now,
    })
}
