//! Backup and restore of the SQLite database with SQLite's online backup API: a consistent copy
//! while the server runs (page by page; writers are not blocked for long), checked before it
//! counts as a backup and before it replaces anything.
//!
//! The master key file is not in the database: back it up once, apart from the database (a
//! backup is useless without it, and the two together must not sit side by side in clear).

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// Pages copied per step; between steps the source's writers may commit.
const PAGES_PER_STEP: std::ffi::c_int = 1024;

/// What a backup or restore copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Database pages copied.
    pub pages: u64,
    /// The schema version of the copy.
    pub schema_version: u32,
}

/// Copies the live database at `db` to a new file `dest` (never overwritten), checks the copy
/// and makes it durable before it appears under its name.
pub fn backup(db: &Path, dest: &Path) -> Result<Copied> {
    if dest.exists() {
        return Err(Error::Backup(format!(
            "backup: {} exists; backups never overwrite",
            dest.display()
        )));
    }
    let src = open_existing(db, "database")?;
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let copied = (|| {
        let mut out = Connection::open(&tmp).map_err(|e| named(&tmp, &e))?;
        let pages = copy(&src, &mut out)?;
        let schema_version = check(&out, &tmp)?;
        // The copy is a plain rollback-journal database, like any file `sqlite3` opens.
        out.pragma_update(None, "journal_mode", "DELETE")
            .map_err(|e| named(&tmp, &e))?;
        drop(out);
        restrict_mode(&tmp);
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::Backup(format!("{}: {e}", tmp.display())))?;
        Ok(Copied {
            pages,
            schema_version,
        })
    })();
    match copied {
        Ok(c) => {
            std::fs::rename(&tmp, dest)
                .map_err(|e| Error::Backup(format!("{}: {e}", dest.display())))?;
            sync_dir(dest);
            Ok(c)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Replaces the database at `db` with the backup at `from`, after checking the backup (a
/// readable SQLite file whose integrity check passes, holding this server's tables, at a schema
/// this binary knows). The copy goes through SQLite's backup API into `db` as one transaction,
/// so a reader sees the old database or the new one, never a mix. Stop the server first: it
/// keeps caches (valid management tokens, the device identity) that a restore does not reach.
pub fn restore(db: &Path, from: &Path, newest_schema: u32) -> Result<Copied> {
    let src = open_existing(from, "backup")?;
    let schema_version = check(&src, from)?;
    if schema_version > newest_schema {
        return Err(Error::Backup(format!(
            "restore: {} has schema version {schema_version}, newer than this server's {newest_schema}; use the newer server",
            from.display()
        )));
    }
    let mut dst = Connection::open(db).map_err(|e| named(db, &e))?;
    dst.busy_timeout(Duration::from_secs(10))
        .map_err(|e| named(db, &e))?;
    let pages = copy(&src, &mut dst)?;
    drop(dst);
    restrict_mode(db);
    Ok(Copied {
        pages,
        schema_version,
    })
}

fn open_existing(path: &Path, what: &str) -> Result<Connection> {
    if !path.is_file() {
        return Err(Error::Backup(format!(
            "{what} {}: no such file",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| named(path, &e))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| named(path, &e))?;
    Ok(conn)
}

fn copy(src: &Connection, dst: &mut Connection) -> Result<u64> {
    let backup = Backup::new(src, dst).map_err(|e| Error::Backup(format!("backup: {e}")))?;
    backup
        .run_to_completion(PAGES_PER_STEP, Duration::from_millis(1), None)
        .map_err(|e| Error::Backup(format!("backup: {e}")))?;
    let p = backup.progress();
    Ok(u64::try_from(p.pagecount).unwrap_or(0))
}

/// The integrity check passes and the file holds this server's tables; the schema version.
fn check(conn: &Connection, path: &Path) -> Result<u32> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| named(path, &e))?;
    if verdict != "ok" {
        return Err(Error::Backup(format!(
            "{}: integrity check failed: {verdict}",
            path.display()
        )));
    }
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'users')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| named(path, &e))?;
    if tables != 2 {
        return Err(Error::Backup(format!(
            "{}: not a tessera-server database",
            path.display()
        )));
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| named(path, &e))?;
    Ok(u32::try_from(version).unwrap_or(0))
}

fn named(path: &Path, e: &rusqlite::Error) -> Error {
    Error::Backup(format!("{}: {e}", path.display()))
}

fn restrict_mode(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Makes a rename durable (the directory entry), where the platform allows.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            let _ = d.sync_all();
        }
    }
}
