//! The PostgreSQL engine ([decision 0002](../../../../docs/decisions/0002-postgres-driver.md)):
//! `tokio-postgres` with a `deadpool-postgres` pool, for several server instances on one
//! database.
//!
//! The store traits are synchronous (handlers call them on tokio's blocking pool, and SQLite
//! is synchronous), so [`Pg`] owns a small runtime of its own that drives the connections: a
//! call submits its future there and waits for the answer on a plain channel, which works from
//! any thread — a blocking-pool thread, the binary's `main`, a test. The hot path
//! (`verify_otp`) does not wait at all: it is spawned and answers through its callback.
//!
//! Guarantees come from the database, not from this process: row locks (`SELECT … FOR
//! UPDATE`) serialise the checks of one user across instances, and state transitions are
//! conditional `UPDATE … WHERE state = 'pending'`, which PostgreSQL re-checks after waiting for
//! a concurrent writer, so exactly one of two racing instances wins.
//!
//! Instances hear about each other's changes through `LISTEN/NOTIFY` on one channel
//! ([`CHANNEL`], see [`notify`]); a notification is sent by the transaction that made the
//! change (`SELECT pg_notify(…)`), so it is delivered on commit and never for a rollback.
//!
//! Every connection (the pool's, the listener's, [`create_database`]'s) speaks TLS as the URL's
//! `sslmode` and `sslrootcert` say ([`tls`]).

pub mod backup;
pub mod device;
pub mod notify;
pub mod store;
pub mod tls;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};
use crate::store::migrations;

pub use deadpool_postgres::Object as Client;
pub use notify::Note;

/// The `LISTEN/NOTIFY` channel every instance listens on.
pub const CHANNEL: &str = "tessera_events";

/// Arbitrary key of the advisory lock that serialises migrations of instances starting at once.
const MIGRATION_LOCK: i64 = 0x7465_7373_6572_6131; // "tessera1"

/// A connection pool and the runtime that drives it.
pub struct Pg {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: Pool,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    label: String,
    notes: tokio::sync::broadcast::Sender<Note>,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg").field("database", &self.label).finish()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside another runtime (a test, the
        // server's): let its threads finish on their own.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Where a URL points, without its password (for messages and logs).
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("postgres://{host}:{port}/{db}")
}

/// A parsed `database.url`: what the driver connects to, and how TLS is spoken.
#[derive(Clone)]
pub struct Target {
    /// The driver's settings (its `sslmode` already set from [`Target::tls`]).
    pub config: tokio_postgres::Config,
    /// `sslmode` and `sslrootcert`.
    pub tls: tls::TlsSettings,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Target {
    /// Where and how this connects, without the password:
    /// `postgres://host:port/db (sslmode=…, …)`.
    pub fn label(&self) -> String {
        format!("{} ({})", describe(&self.config), self.tls.describe())
    }
}

/// Parses a `postgres://` URL (or a `key=value` connection string), with libpq's `sslmode`
/// and `sslrootcert`; the error names the setting and never repeats the URL or the password.
pub fn parse_url(url: &str) -> Result<Target> {
    let split = tls::split(url);
    let mut config = tokio_postgres::Config::from_str(&split.rest).map_err(|e| {
        Error::Config(format!(
            "`database.url`: not a PostgreSQL connection URL ({})",
            scrub(&scrub(&with_causes(&e), url), &split.rest)
        ))
    })?;
    let hosts = config.get_hosts();
    let socket_only = !hosts.is_empty()
        && config.get_hostaddrs().is_empty()
        && hosts
            .iter()
            .all(|h| !matches!(h, tokio_postgres::config::Host::Tcp(_)));
    let tls = tls::TlsSettings::new(
        split.mode.as_deref(),
        split.root_cert.as_deref(),
        socket_only,
    )
    .map_err(|e| match (e, config.get_password()) {
        (Error::Config(text), Some(p)) => Error::Config(scrub(&text, &String::from_utf8_lossy(p))),
        (other, _) => other,
    })?;
    config.ssl_mode(tls.driver_mode());
    Ok(Target { config, tls })
}

/// Removes `secret` from `text` (error texts of drivers sometimes quote their input).
fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "…")
    }
}

/// An error and its causes, `: `-separated (the driver's own text names only the kind of
/// failure, e.g. "error performing TLS handshake", and keeps the reason in its source).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Whether a driver error is a lost or refused connection rather than a failed statement.
fn unavailable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") // connection exception
                || c.starts_with("57P") // admin shutdown, crash shutdown, cannot connect now
                || *code == SqlState::TOO_MANY_CONNECTIONS
                || *code == SqlState::READ_ONLY_SQL_TRANSACTION // a standby after failover
        }
        // No SQLSTATE: the socket closed, an I/O error, a protocol error on a dying link.
        None => true,
    }
}

/// A driver error as the server's error: lost connections are [`Error::Unavailable`] (503
/// with `Retry-After`), failed statements [`Error::Storage`] with the SQLSTATE and the
/// server's message (no DETAIL: it quotes row values).
pub fn db_error(e: &tokio_postgres::Error) -> Error {
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => with_causes(e),
    };
    if unavailable(e) {
        Error::Unavailable(detail)
    } else {
        Error::Storage(detail)
    }
}

/// Whether the error is a unique-key violation (the caller maps it to a conflict).
pub fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        db_error(&e)
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        // Every pool failure is about getting a connection (opening one, or waiting for one):
        // the database is away, whatever the SQLSTATE (a database refusing connections answers
        // 55000), so a retry later is the answer.
        match e {
            deadpool_postgres::PoolError::Backend(e) => match db_error(&e) {
                Error::Storage(d) | Error::Unavailable(d) => Error::Unavailable(d),
                other => other,
            },
            other => Error::Unavailable(format!("connection pool: {other}")),
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: usize,
    /// How long a request waits for a connection (or to open one) before a 503.
    pub timeout: Duration,
    /// `storage.synchronous = "full"`: every commit is flushed before it is acknowledged
    /// (PostgreSQL's `synchronous_commit = on`). `false` (`"normal"`) sets
    /// `synchronous_commit = off` on this server's connections: a crash of the database may
    /// lose the last commits, never corrupt.
    pub durable: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            timeout: Duration::from_secs(5),
            durable: true,
        }
    }
}

impl Pg {
    /// Connects to `url`, checks that the database answers and migrates it (under an advisory
    /// lock, so instances starting together do not race). A database newer than this binary,
    /// or one with tables of another program and no Tessera schema record, is refused.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Arc<Pg>> {
        let target = parse_url(url)?;
        let label = target.label();
        let tls = target.tls.connector()?;
        let mut config = target.config;
        if !options.durable {
            let options = match config.get_options() {
                Some(o) if !o.is_empty() => format!("{o} -c synchronous_commit=off"),
                _ => "-c synchronous_commit=off".to_owned(),
            };
            config.options(options);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tessera-pg")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("database runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            // The pool's timeouts need a runtime to be current while it is built.
            let _enter = handle.enter();
            Pool::builder(manager)
                .max_size(options.max_size)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(options.timeout))
                .create_timeout(Some(options.timeout))
                .recycle_timeout(Some(options.timeout))
                .build()
                .map_err(|e| Error::Config(format!("`database.url`: {e}")))?
        };
        let pg = Arc::new(Pg {
            runtime: Some(runtime),
            handle,
            pool,
            config,
            tls,
            label,
            notes: tokio::sync::broadcast::channel(4096).0,
        });
        pg.call(|mut c| async move { migrate(&mut c).await })
            .map_err(|e| match e {
                Error::Unavailable(d) | Error::Storage(d) => {
                    Error::Open(format!("{}: {d}", pg.label))
                }
                other => other,
            })?;
        notify::start(&pg);
        Ok(pg)
    }

    /// Where this pool connects (no password).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The connection settings (for the listener connection).
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The TLS connector every connection of this pool uses (the listener's too).
    pub(crate) fn tls(&self) -> &MakeRustlsConnect {
        &self.tls
    }

    /// The runtime that drives the connections.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Connections open and idle, and callers waiting for one.
    pub fn pool_status(&self) -> (u32, u32, u64) {
        let s = self.pool.status();
        let open = u32::try_from(s.size).unwrap_or(u32::MAX);
        let idle = u32::try_from(s.available).unwrap_or(u32::MAX);
        (open, idle, u64::try_from(s.waiting).unwrap_or(u64::MAX))
    }

    /// Runs `f` with a pooled connection and waits for its answer (blocking the calling thread;
    /// never call it from async code of the server's runtime — go through `AppState::db`).
    pub fn call<R, Fut>(&self, f: impl FnOnce(Client) -> Fut + Send + 'static) -> Result<R>
    where
        Fut: Future<Output = Result<R>> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.spawn(f, move |r| {
            let _ = tx.send(r);
        });
        rx.recv()
            .map_err(|_| Error::Internal("database task ended without an answer".into()))?
    }

    /// Runs `f` with a pooled connection on the database runtime and hands the answer to
    /// `done` (which must not block). Does not wait.
    pub fn spawn<R, Fut>(
        &self,
        f: impl FnOnce(Client) -> Fut + Send + 'static,
        done: impl FnOnce(Result<R>) + Send + 'static,
    ) where
        Fut: Future<Output = Result<R>> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        self.handle.spawn(async move {
            let r = match pool.get().await {
                Ok(c) => f(c).await,
                Err(e) => Err(Error::from(e)),
            };
            done(r);
        });
    }

    /// Notifications from every instance (this one included).
    pub fn notes(&self) -> tokio::sync::broadcast::Receiver<Note> {
        self.notes.subscribe()
    }

    pub(crate) fn notes_sender(&self) -> &tokio::sync::broadcast::Sender<Note> {
        &self.notes
    }
}

/// Applies the missing schema steps in one transaction.
async fn migrate(client: &mut Client) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let recorded: bool = tx
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM information_schema.tables
               WHERE table_schema = current_schema() AND table_name = 'tessera_schema')",
            &[],
        )
        .await?
        .get(0);
    let version: i64 = if recorded {
        let row = tx
            .query_opt("SELECT version FROM tessera_schema", &[])
            .await?;
        match row {
            Some(r) => i64::from(r.get::<_, i32>(0)),
            None => {
                return Err(Error::Config(
                    "`database`: the table tessera_schema is empty: this database was changed \
                     by another program; restore a backup"
                        .into(),
                ))
            }
        }
    } else {
        let others: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables
                   WHERE table_schema = current_schema()",
                &[],
            )
            .await?
            .get(0);
        if others > 0 {
            return Err(Error::Config(format!(
                "`database`: the database has {others} tables but no Tessera schema record: \
                 it belongs to another program; give Tessera a database of its own"
            )));
        }
        tx.batch_execute(
            "CREATE TABLE tessera_schema (version INTEGER NOT NULL);
             INSERT INTO tessera_schema (version) VALUES (0);",
        )
        .await?;
        0
    };
    let done = usize::try_from(version).unwrap_or(usize::MAX);
    if done > migrations::STEPS.len() {
        return Err(Error::Config(migrations::too_new(version)));
    }
    for (n, step) in migrations::STEPS.iter().enumerate().skip(done) {
        tx.batch_execute(step.postgres).await?;
        let v = i32::try_from(n + 1).unwrap_or(i32::MAX);
        tx.execute("UPDATE tessera_schema SET version = $1", &[&v])
            .await?;
        tracing::info!(version = v, what = step.what, "schema step applied");
    }
    tx.commit().await?;
    Ok(())
}

/// The schema version a database records (for `/readyz`).
pub async fn recorded_version(client: &Client) -> Result<u32> {
    let v: i32 = client
        .query_one("SELECT version FROM tessera_schema", &[])
        .await?
        .get(0);
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Creates an empty database named `name` on the server `admin_url` points at and returns the
/// URL of the new database (tests and benchmarks: a fresh database each). Works from any
/// thread, async or not.
pub fn create_database(admin_url: &str, name: &str) -> Result<String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::InvalidRequest(
            "database name: lower-case letters, digits and `_` only".into(),
        ));
    }
    let admin = parse_url(admin_url)?;
    let label = admin.label();
    let tls = admin.tls.connector()?;
    let config = admin.config.clone();
    let sql = format!("CREATE DATABASE {name}");
    let mut target = admin;
    target.config.dbname(name);
    let job = move || -> Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("runtime: {e}")))?;
        rt.block_on(async move {
            let (client, conn) = config.connect(tls).await?;
            let driver = tokio::spawn(conn);
            client.batch_execute(&sql).await?;
            drop(client);
            let _ = driver.await;
            Ok(())
        })
    };
    std::thread::spawn(job)
        .join()
        .map_err(|_| Error::Internal("create database: thread panicked".into()))?
        .map_err(|e| match e {
            Error::Unavailable(d) | Error::Storage(d) => Error::Open(format!("{label}: {d}")),
            other => other,
        })?;
    Ok(url_of(&target))
}

/// A `postgres://` URL for `target` (host, port, user, password, database, `sslmode` and
/// `sslrootcert`), each part percent-encoded.
fn url_of(target: &Target) -> String {
    let config = &target.config;
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // RFC 3986's unreserved characters stay as they are.
    const PART: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let enc = |t: &str| utf8_percent_encode(t, PART).to_string();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(name)) => enc(name),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => enc(&path.display().to_string()),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = match (config.get_user(), config.get_password()) {
        (Some(u), Some(p)) => format!("{}:{}@", enc(u), enc(&String::from_utf8_lossy(p))),
        (Some(u), None) => format!("{}@", enc(u)),
        _ => String::new(),
    };
    let db = enc(config.get_dbname().unwrap_or("postgres"));
    let mut tls = format!("sslmode={}", target.tls.mode.as_str());
    if let Some(ca) = &target.tls.root_cert {
        tls.push_str(&format!("&sslrootcert={}", enc(&ca.display().to_string())));
    }
    format!("postgres://{user}{host}:{port}/{db}?{tls}")
}
