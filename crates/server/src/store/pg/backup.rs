//! Backup and restore of a PostgreSQL database with PostgreSQL's own tools: `pg_dump` (a
//! consistent snapshot while every instance keeps serving, in the custom format) and
//! `pg_restore` (in one transaction, so a failed restore changes nothing).
//!
//! The connection's password never appears on a command line (other users can read those):
//! it is handed to the tools in `PGPASSWORD`. They speak TLS as the server does: the URL's
//! `sslmode` and CA file become `PGSSLMODE` and `PGSSLROOTCERT` ([`super::tls`]). As with
//! SQLite, the master key is not in the dump: back it up apart.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::store::migrations;

/// What a dump or restore held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dumped {
    /// The schema version recorded in the dump.
    pub schema_version: u32,
}

/// Environment variables to set (`Some`) or remove (`None`) for a tool.
type Env = Vec<(&'static str, Option<OsString>)>;

/// The tools' connection arguments for `url`, and their environment: the password and TLS.
fn connection_args(url: &str) -> Result<(Vec<String>, Env)> {
    let target = super::parse_url(url)?;
    // Reads the CA file now, so a bad one is named as the server names it.
    target.tls.connector()?;
    let config = &target.config;
    let mut args = Vec::new();
    if let Some(h) = config.get_hosts().first() {
        let host = match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        };
        args.push(format!("--host={host}"));
    }
    if let Some(p) = config.get_ports().first() {
        args.push(format!("--port={p}"));
    }
    if let Some(u) = config.get_user() {
        args.push(format!("--username={u}"));
    }
    args.push("--no-password".into());
    if let Some(d) = config.get_dbname() {
        args.push(format!("--dbname={d}"));
    }
    let password = config
        .get_password()
        .map(|p| OsString::from(String::from_utf8_lossy(p).into_owned()));
    let mut env = target.tls.tool_env()?;
    env.push(("PGPASSWORD", password));
    Ok((args, env))
}

/// Runs one of PostgreSQL's tools with `env`; its stdout, or an error with its first line of
/// stderr.
fn run(tool: &str, args: &[String], env: &[(&'static str, Option<OsString>)]) -> Result<Vec<u8>> {
    let mut cmd = Command::new(tool);
    cmd.args(args).env_remove("PGPASSWORD");
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    let out = cmd.output().map_err(|e| {
        Error::Backup(format!(
            "{tool}: cannot run it ({e}); install PostgreSQL's client tools (Debian: postgresql-client)"
        ))
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("failed").trim().to_owned();
        return Err(Error::Backup(format!("{tool}: {first}")));
    }
    Ok(out.stdout)
}

/// Reads the schema version stored in a dump file (the data of `tessera_schema`).
fn dump_version(file: &Path) -> Result<u32> {
    let out = run(
        "pg_restore",
        &[
            "--data-only".into(),
            "--table=tessera_schema".into(),
            "--file=-".into(),
            file.display().to_string(),
        ],
        &[],
    )?;
    let text = String::from_utf8_lossy(&out);
    // `COPY public.tessera_schema (version) FROM stdin;` then one line with the number.
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("COPY ") && l.contains("tessera_schema") {
            if let Some(v) = lines.next().and_then(|v| v.trim().parse::<u32>().ok()) {
                return Ok(v);
            }
        }
    }
    Err(Error::Backup(format!(
        "{}: not a Tessera database dump (no schema version in it)",
        file.display()
    )))
}

/// Dumps the database at `url` to a new file `dest` (never overwritten; mode 0600), checks
/// that it reads back, and names its schema version.
pub fn backup(url: &str, dest: &Path) -> Result<Dumped> {
    if dest.exists() {
        return Err(Error::Backup(format!(
            "backup: {} exists; backups never overwrite",
            dest.display()
        )));
    }
    let (mut args, env) = connection_args(url)?;
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    // Create the file first with mode 0600, so the dump is never readable by others.
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        o.open(&tmp)
            .map_err(|e| Error::Backup(format!("{}: {e}", tmp.display())))?;
    }
    args.extend([
        "--format=custom".to_owned(),
        "--no-owner".to_owned(),
        format!("--file={}", tmp.display()),
    ]);
    let done = run("pg_dump", &args, &env).and_then(|_| {
        let v = dump_version(&tmp)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::Backup(format!("{}: {e}", tmp.display())))?;
        Ok(v)
    });
    match done {
        Ok(schema_version) => {
            std::fs::rename(&tmp, dest)
                .map_err(|e| Error::Backup(format!("{}: {e}", dest.display())))?;
            Ok(Dumped { schema_version })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Replaces the contents of the database at `url` with the dump `from`, in one transaction.
/// A dump of a newer schema than this binary's is refused before anything changes. Stop every
/// instance first.
pub fn restore(url: &str, from: &Path) -> Result<Dumped> {
    if !from.is_file() {
        return Err(Error::Backup(format!(
            "restore: {} is not a file",
            from.display()
        )));
    }
    let schema_version = dump_version(from)?;
    if schema_version > migrations::latest() {
        return Err(Error::Backup(format!(
            "restore: {} has schema version {schema_version}, newer than this server ({})",
            from.display(),
            migrations::latest()
        )));
    }
    let (mut args, env) = connection_args(url)?;
    args.extend([
        "--clean".to_owned(),
        "--if-exists".to_owned(),
        "--no-owner".to_owned(),
        "--single-transaction".to_owned(),
        "--exit-on-error".to_owned(),
        from.display().to_string(),
    ]);
    run("pg_restore", &args, &env)?;
    Ok(Dumped { schema_version })
}
