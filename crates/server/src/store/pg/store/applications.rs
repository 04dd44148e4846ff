//! Applications (OpenID Connect clients): redirect URIs one per line, the secret as its SHA-256.

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use super::{audit_tx, int, uint};
use crate::error::{Error, Result};
use crate::model::{lines_from_column, lines_to_column, Application, ApplicationPatch, ClientKind};

const COLUMNS: &str = "client_id, name, kind, redirect_uris, created_at, updated_at";

fn from_row(r: &Row) -> Result<Application> {
    let kind: String = r.try_get("kind")?;
    Ok(Application {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        kind: ClientKind::parse(&kind).unwrap_or(ClientKind::Confidential),
        redirect_uris: lines_from_column(r.try_get("redirect_uris")?),
        created_at: uint(r.try_get("created_at")?),
        updated_at: uint(r.try_get("updated_at")?),
    })
}

pub(super) async fn create(
    c: &mut Client,
    app: &Application,
    secret_hash: Option<[u8; 32]>,
) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO applications(client_id, name, kind, secret_hash, redirect_uris, created_at,
                                  updated_at)
         VALUES($1, $2, $3, $4, $5, $6, $7)",
        &[
            &app.client_id,
            &app.name,
            &app.kind.as_str(),
            &secret_hash.map(|h| h.to_vec()),
            &lines_to_column(&app.redirect_uris),
            &int(app.created_at),
            &int(app.updated_at),
        ],
    )
    .await?;
    audit_tx(
        &tx,
        app.created_at,
        None,
        "application.created",
        None,
        &app.client_id,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list(c: &Client) -> Result<Vec<Application>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM applications ORDER BY name COLLATE \"C\", client_id COLLATE \"C\""
        ))
        .await?;
    c.query(&st, &[]).await?.iter().map(from_row).collect()
}

pub(super) async fn get<C: GenericClient>(c: &C, client_id: &str) -> Result<Option<Application>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM applications WHERE client_id = $1"
        ))
        .await?;
    c.query_opt(&st, &[&client_id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub(super) async fn update(
    c: &mut Client,
    client_id: &str,
    patch: ApplicationPatch,
    now: u64,
) -> Result<Option<Application>> {
    let tx = c.transaction().await?;
    let current = tx
        .query_opt(
            "SELECT kind FROM applications WHERE client_id = $1 FOR UPDATE",
            &[&client_id],
        )
        .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let kind: String = current.try_get(0)?;
    if patch.secret_hash.is_some() && kind == ClientKind::Public.as_str() {
        return Err(Error::InvalidRequest(
            "a public application has no secret".into(),
        ));
    }
    if let Some(name) = &patch.name {
        tx.execute(
            "UPDATE applications SET name = $2 WHERE client_id = $1",
            &[&client_id, name],
        )
        .await?;
    }
    if let Some(uris) = &patch.redirect_uris {
        tx.execute(
            "UPDATE applications SET redirect_uris = $2 WHERE client_id = $1",
            &[&client_id, &lines_to_column(uris)],
        )
        .await?;
    }
    if let Some(hash) = &patch.secret_hash {
        tx.execute(
            "UPDATE applications SET secret_hash = $2 WHERE client_id = $1",
            &[&client_id, &hash.to_vec()],
        )
        .await?;
        audit_tx(
            &tx,
            now,
            None,
            "application.secret_rotated",
            None,
            client_id,
        )
        .await?;
    }
    tx.execute(
        "UPDATE applications SET updated_at = $2 WHERE client_id = $1",
        &[&client_id, &int(now)],
    )
    .await?;
    audit_tx(&tx, now, None, "application.updated", None, client_id).await?;
    let app = get(&tx, client_id).await?;
    tx.commit().await?;
    Ok(app)
}

pub(super) async fn delete(c: &mut Client, client_id: &str, now: u64) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "DELETE FROM applications WHERE client_id = $1",
            &[&client_id],
        )
        .await?;
    if n > 0 {
        audit_tx(&tx, now, None, "application.deleted", None, client_id).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}
