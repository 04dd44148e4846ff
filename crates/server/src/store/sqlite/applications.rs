//! Applications (OpenID Connect clients): redirect URIs one per line, the secret as its SHA-256.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use crate::error::{Error, Result};
use crate::model::{lines_from_column, lines_to_column, Application, ApplicationPatch, ClientKind};

const COLUMNS: &str = "client_id, name, kind, redirect_uris, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Application> {
    let kind: String = r.get("kind")?;
    Ok(Application {
        client_id: r.get("client_id")?,
        name: r.get("name")?,
        kind: ClientKind::parse(&kind).unwrap_or(ClientKind::Confidential),
        redirect_uris: lines_from_column(&r.get::<_, String>("redirect_uris")?),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(super) fn create(
    c: &Connection,
    app: &Application,
    secret_hash: Option<[u8; 32]>,
) -> Result<()> {
    c.execute(
        "INSERT INTO applications(client_id, name, kind, secret_hash, redirect_uris, created_at, updated_at)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            app.client_id,
            app.name,
            app.kind.as_str(),
            secret_hash.as_ref().map(<[u8; 32]>::as_slice),
            lines_to_column(&app.redirect_uris),
            app.created_at,
            app.updated_at
        ],
    )?;
    audit_tx(
        c,
        app.created_at,
        None,
        "application.created",
        None,
        &app.client_id,
    )
}

pub(super) fn list(c: &Connection) -> Result<Vec<Application>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM applications ORDER BY name, client_id"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn get(c: &Connection, client_id: &str) -> Result<Option<Application>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM applications WHERE client_id = ?1"
    ))?
    .query_row([client_id], from_row)
    .optional()?)
}

pub(super) fn update(
    c: &Connection,
    client_id: &str,
    patch: ApplicationPatch,
    now: u64,
) -> Result<Option<Application>> {
    let Some(current) = get(c, client_id)? else {
        return Ok(None);
    };
    if patch.secret_hash.is_some() && current.kind == ClientKind::Public {
        return Err(Error::InvalidRequest(
            "a public application has no secret".into(),
        ));
    }
    if let Some(name) = &patch.name {
        c.execute(
            "UPDATE applications SET name = ?2 WHERE client_id = ?1",
            params![client_id, name],
        )?;
    }
    if let Some(uris) = &patch.redirect_uris {
        c.execute(
            "UPDATE applications SET redirect_uris = ?2 WHERE client_id = ?1",
            params![client_id, lines_to_column(uris)],
        )?;
    }
    if let Some(hash) = &patch.secret_hash {
        c.execute(
            "UPDATE applications SET secret_hash = ?2 WHERE client_id = ?1",
            params![client_id, hash.as_slice()],
        )?;
        audit_tx(c, now, None, "application.secret_rotated", None, client_id)?;
    }
    c.execute(
        "UPDATE applications SET updated_at = ?2 WHERE client_id = ?1",
        params![client_id, now],
    )?;
    audit_tx(c, now, None, "application.updated", None, client_id)?;
    get(c, client_id)
}

pub(super) fn delete(c: &Connection, client_id: &str, now: u64) -> Result<bool> {
    let n = c.execute("DELETE FROM applications WHERE client_id = ?1", [client_id])?;
    if n > 0 {
        audit_tx(c, now, None, "application.deleted", None, client_id)?;
    }
    Ok(n > 0)
}
