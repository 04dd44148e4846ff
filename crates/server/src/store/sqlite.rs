//! The embedded SQLite store (WAL).
//!
//! One writer thread owns the only write connection and commits jobs in groups: it takes every
//! job waiting (up to `group_commit_max`), runs each inside its own SAVEPOINT of one transaction,
//! commits once and only then answers every job. Jobs are serialized, so each sees the effects
//! of the ones before it (the failure counter and one-time-use step stay exact), while one fsync
//! covers many verifications under `synchronous=FULL`. A failing job rolls back to its savepoint
//! without touching the others. Reads use a small pool of read-only connections.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::{params, Connection, OptionalExtension, Row};
use tessera_core::Algorithm;

use super::{AuditFilter, Done, NewOtp, OnSuccess, OtpCheck, Store, StoreStatus};
use crate::config::{LockoutConfig, StorageConfig};
use crate::crypto::{ct_eq, random_id};
use crate::error::{Error, Result};
use crate::lockout::{gate, Gate};
use crate::model::{
    AuditEvent, Authenticator, AuthenticatorKind, Factor, FailureRow, NewUser, Organization,
    OtpParams, TokenKind, TokenRecord, User, UserPatch, VerifyOutcome,
};

type Reply = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// The schema version this binary migrates to (`PRAGMA user_version`).
pub fn schema_version() -> u32 {
    super::migrations::latest()
}

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    jobs: Sender<Job>,
    /// Jobs submitted to the writer and not yet answered.
    queued: Arc<AtomicU64>,
    readers: Mutex<ReaderPool>,
    reader_free: Condvar,
    max_readers: usize,
    path: PathBuf,
}

/// Idle read connections and how many exist in all.
struct ReaderPool {
    idle: Vec<Connection>,
    open: usize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Memory-mapped reads: without them every page lookup is a read() of a page the OS already
/// caches (near the top of the profile under load).
const TUNING: &str = "PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;";
/// The writer keeps a larger page cache (32 MiB): it is the only connection whose cache stays
/// valid across transactions (readers drop theirs whenever the WAL changed).
const WRITER_CACHE: &str = "PRAGMA cache_size=-32768;";

fn open_conn(path: &Path, sync: &str) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; {TUNING}"
    ))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path` and starts the writer thread.
    pub fn open(path: &Path, cfg: &StorageConfig) -> Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::Config(format!("`database`: {}: {e}", dir.display())))?;
            }
        }
        let mut conn = open_conn(path, cfg.synchronous_pragma())?;
        conn.execute_batch(WRITER_CACHE)?;
        restrict_mode(path);
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let max = usize::try_from(cfg.group_commit_max).unwrap_or(1).max(1);
        std::thread::Builder::new()
            .name("tessera-db-writer".into())
            .spawn(move || writer_loop(conn, rx, max))
            .map_err(|e| Error::Internal(format!("writer thread: {e}")))?;
        Ok(SqliteStore {
            jobs: tx,
            queued: Arc::default(),
            readers: Mutex::new(ReaderPool {
                idle: Vec::new(),
                open: 0,
            }),
            reader_free: Condvar::new(),
            max_readers: usize::try_from(cfg.readers).unwrap_or(4),
            path: path.to_owned(),
        })
    }

    /// Queues `f` for the writer without waiting; `done` gets its result once committed (or
    /// the error). A job dropped unrun (writer stopped, BEGIN failed) answers a storage error.
    fn submit<R: Send + 'static>(
        &self,
        done: Done<R>,
        f: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
    ) {
        // Counted until answered, whether committed, failed or dropped unrun.
        self.queued.fetch_add(1, Ordering::Relaxed);
        let queued = Arc::clone(&self.queued);
        let done: Done<R> = Box::new(move |r| {
            queued.fetch_sub(1, Ordering::Relaxed);
            done(r);
        });
        let guard = DoneGuard(Some(done));
        let job: Job = Box::new(move |conn| {
            let res = f(conn);
            let ok = res.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let mut guard = guard;
                let out = if committed || res.is_err() {
                    res
                } else {
                    Err(Error::Storage("commit failed".into()))
                };
                if let Some(done) = guard.0.take() {
                    done(out);
                }
            });
            (ok, reply)
        });
        // On a send error the job (and its guard) is dropped, answering the error.
        let _ = self.jobs.send(job);
    }

    /// Runs `f` on the writer and waits for the commit (blocking).
    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::sync_channel::<Result<R>>(1);
        self.submit(
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
            f,
        );
        rx.recv()
            .map_err(|_| Error::Storage("transaction failed".into()))?
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        // Take an idle connection, open one while under the limit, else wait for one.
        let conn = {
            let mut pool = self.readers.lock().map_err(|_| poisoned())?;
            loop {
                if let Some(c) = pool.idle.pop() {
                    break Some(c);
                }
                if pool.open < self.max_readers {
                    pool.open += 1;
                    break None;
                }
                pool = self.reader_free.wait(pool).map_err(|_| poisoned())?;
            }
        };
        let conn = match conn {
            Some(c) => c,
            None => match self.open_reader() {
                Ok(c) => c,
                Err(e) => {
                    let mut pool = self.readers.lock().map_err(|_| poisoned())?;
                    pool.open -= 1;
                    self.reader_free.notify_one();
                    return Err(e);
                }
            },
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().map_err(|_| poisoned())?;
        pool.idle.push(conn);
        self.reader_free.notify_one();
        out
    }

    fn open_reader(&self) -> Result<Connection> {
        let c = Connection::open(&self.path)?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        c.execute_batch(&format!("PRAGMA query_only=ON; {TUNING}"))?;
        Ok(c)
    }
}

/// The database holds hashes and sealed secrets only, but still no business of other users.
fn restrict_mode(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Answers `done` with a storage error if the job is dropped before it ran.
struct DoneGuard<R>(Option<Done<R>>);

impl<R> Drop for DoneGuard<R> {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            done(Err(Error::Storage("write job dropped".into())));
        }
    }
}

fn poisoned() -> Error {
    Error::Internal("reader pool poisoned".into())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    super::migrations::sqlite(conn)
}

fn writer_loop(conn: Connection, rx: Receiver<Job>, max: usize) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            continue; // dropping the jobs answers each with a storage error
        }
        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            if conn.execute_batch("SAVEPOINT job").is_err() {
                continue;
            }
            let (ok, reply) = job(&conn);
            let end = if ok {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "savepoint end failed");
            }
            replies.push(reply);
        }
        let committed = match conn.execute_batch("COMMIT") {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "commit failed");
                let _ = conn.execute_batch("ROLLBACK");
                false
            }
        };
        for reply in replies {
            reply(committed);
        }
    }
}

// ---------------------------------------------------------------- row helpers

fn user_from_row(conn: &Connection, r: &Row<'_>) -> rusqlite::Result<(User, Option<String>)> {
    let id: String = r.get("id")?;
    let hash: Option<String> = r.get("password_hash")?;
    let organizations = memberships(conn, &id)?;
    Ok((
        User {
            user_id: id,
            username: r.get("username")?,
            email: r.get("email")?,
            phone: r.get("phone")?,
            organizations,
            mfa_prompt_skipped: r.get("mfa_prompt_skipped")?,
            has_password: hash.is_some(),
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        },
        hash,
    ))
}

fn memberships(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT org_id FROM memberships WHERE user_id=?1 ORDER BY org_id")?;
    let rows = st.query_map([user_id], |r| r.get(0))?;
    rows.collect()
}

fn get_user_tx(conn: &Connection, id: &str) -> Result<Option<(User, Option<String>)>> {
    let mut st = conn.prepare_cached("SELECT * FROM users WHERE id=?1")?;
    Ok(st.query_row([id], |r| user_from_row(conn, r)).optional()?)
}

fn set_memberships(conn: &Connection, user_id: &str, orgs: &[String]) -> Result<()> {
    conn.execute("DELETE FROM memberships WHERE user_id=?1", [user_id])?;
    for org in orgs {
        let exists: bool = conn
            .query_row("SELECT 1 FROM organizations WHERE id=?1", [org], |_| {
                Ok(true)
            })
            .optional()?
            .unwrap_or(false);
        if !exists {
            return Err(Error::NotFound("organization"));
        }
        conn.execute(
            "INSERT OR IGNORE INTO memberships(user_id, org_id) VALUES(?1, ?2)",
            params![user_id, org],
        )?;
    }
    Ok(())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

fn auth_from_row(r: &Row<'_>) -> rusqlite::Result<Authenticator> {
    let kind: String = r.get("kind")?;
    Ok(Authenticator {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        kind: AuthenticatorKind::parse(&kind).unwrap_or(AuthenticatorKind::Oob),
        name: r.get("name")?,
        active: r.get("active")?,
        oob_channel: r.get("oob_channel")?,
        pair_id: r.get("pair_id")?,
        created_at: r.get("created_at")?,
    })
}

fn token_from_row(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = r.get("kind")?;
    let scopes: String = r.get("scopes")?;
    Ok(TokenRecord {
        id: r.get("id")?,
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
        user_id: r.get("user_id")?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        name: r.get("name")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

fn audit_tx(
    conn: &Connection,
    now: u64,
    user_id: Option<&str>,
    kind: &str,
    authenticator_id: Option<&str>,
    detail: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit(at, user_id, kind, authenticator_id, detail) VALUES(?1,?2,?3,?4,?5)",
    )?
    .execute(params![now, user_id, kind, authenticator_id, detail])?;
    Ok(())
}

fn insert_auth(conn: &Connection, a: &Authenticator) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO authenticators(id,user_id,kind,name,active,oob_channel,pair_id,created_at)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    )?
    .execute(params![
        a.id,
        a.user_id,
        a.kind.as_str(),
        a.name,
        a.active,
        a.oob_channel,
        a.pair_id,
        a.created_at
    ])?;
    Ok(())
}

fn insert_recovery(
    conn: &Connection,
    user_id: &str,
    id: &str,
    hashes: &[[u8; 32]],
    active: bool,
    now: u64,
) -> Result<()> {
    conn.execute(
        "DELETE FROM authenticators WHERE user_id=?1 AND kind='recovery-code'",
        [user_id],
    )?;
    insert_auth(
        conn,
        &Authenticator {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            kind: AuthenticatorKind::RecoveryCode,
            name: String::new(),
            active,
            oob_channel: None,
            pair_id: None,
            created_at: now,
        },
    )?;
    let mut st = conn
        .prepare_cached("INSERT INTO recovery_codes(authenticator_id, code_hash) VALUES(?1, ?2)")?;
    for h in hashes {
        st.execute(params![id, h.as_slice()])?;
    }
    Ok(())
}

fn load_failures(conn: &Connection, user_id: &str, factor: Factor) -> Result<FailureRow> {
    Ok(conn
        .prepare_cached(
            "SELECT count, last_failure_at FROM failures WHERE user_id=?1 AND factor=?2",
        )?
        .query_row(params![user_id, factor.as_str()], |r| {
            Ok(FailureRow {
                count: r.get(0)?,
                last_failure_at: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

fn store_failures(conn: &Connection, user_id: &str, factor: Factor, row: FailureRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO failures(user_id, factor, count, last_failure_at) VALUES(?1,?2,?3,?4)
         ON CONFLICT(user_id, factor) DO UPDATE SET count=excluded.count,
         last_failure_at=excluded.last_failure_at",
    )?
    .execute(params![
        user_id,
        factor.as_str(),
        row.count,
        row.last_failure_at
    ])?;
    Ok(())
}

fn clear_failures(conn: &Connection, user_id: &str, factor: Factor) -> Result<()> {
    conn.prepare_cached("DELETE FROM failures WHERE user_id=?1 AND factor=?2")?
        .execute(params![user_id, factor.as_str()])?;
    Ok(())
}

/// Opens the gate for an attempt: `None` (and an audit entry) when delayed or locked.
fn admit(
    conn: &Connection,
    user_id: &str,
    factor: Factor,
    policy: &LockoutConfig,
    now: u64,
) -> Result<Option<FailureRow>> {
    let row = load_failures(conn, user_id, factor)?;
    match gate(policy, row, now) {
        Gate::Open { reset: false } => Ok(Some(row)),
        Gate::Open { reset: true } => Ok(Some(FailureRow::default())),
        Gate::Delayed { .. } => {
            audit_tx(
                conn,
                now,
                Some(user_id),
                "verify_refused",
                None,
                factor.as_str(),
            )?;
            Ok(None)
        }
        Gate::Locked => {
            audit_tx(
                conn,
                now,
                Some(user_id),
                "verify_refused",
                None,
                factor.as_str(),
            )?;
            Ok(None)
        }
    }
}

fn count_failure(
    conn: &Connection,
    user_id: &str,
    factor: Factor,
    row: FailureRow,
    policy: &LockoutConfig,
    now: u64,
) -> Result<()> {
    let row = FailureRow {
        count: row.count.saturating_add(1),
        last_failure_at: now,
    };
    store_failures(conn, user_id, factor, row)?;
    audit_tx(
        conn,
        now,
        Some(user_id),
        "verify_fail",
        None,
        factor.as_str(),
    )?;
    if row.count == policy.max_failures {
        audit_tx(conn, now, Some(user_id), "lockout", None, factor.as_str())?;
    }
    Ok(())
}

fn apply_success(conn: &Connection, on: &OnSuccess, user_id: &str, now: u64) -> Result<()> {
    if let Some(id) = &on.revoke_token_id {
        let n = conn.execute(
            "UPDATE tokens SET revoked_at=?2 WHERE id=?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        if n == 0 {
            // Another request completed MFA with this mfa_token first.
            return Err(Error::InvalidGrant("Invalid or expired mfa_token."));
        }
        audit_tx(conn, now, Some(user_id), "token_use", None, "mfa_token")?;
    }
    if let Some((token, hash)) = &on.issue {
        insert_token_tx(conn, token, hash)?;
        audit_tx(
            conn,
            now,
            Some(user_id),
            "token_issued",
            None,
            token.kind.as_str(),
        )?;
    }
    Ok(())
}

fn insert_token_tx(conn: &Connection, t: &TokenRecord, hash: &[u8; 32]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tokens(id,hash,kind,user_id,scopes,name,created_at,expires_at,revoked_at)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,NULL)",
    )?
    .execute(params![
        t.id,
        hash.as_slice(),
        t.kind.as_str(),
        t.user_id,
        t.scopes.join(" "),
        t.name,
        t.created_at,
        t.expires_at
    ])?;
    Ok(())
}

fn page_bounds(page: u32, per_page: u32) -> (i64, i64) {
    let per = i64::from(per_page.clamp(1, 100));
    let offset = i64::from(page.max(1) - 1) * per;
    (per, offset)
}

impl Store for SqliteStore {
    fn status(&self) -> Result<StoreStatus> {
        let version: i64 =
            self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))?;
        let (open, idle) = {
            let pool = self.readers.lock().map_err(|_| poisoned())?;
            (pool.open, pool.idle.len())
        };
        Ok(StoreStatus {
            schema_version: u32::try_from(version).unwrap_or(0),
            schema_expected: super::migrations::latest(),
            readers_open: u32::try_from(open).unwrap_or(u32::MAX),
            readers_idle: u32::try_from(idle).unwrap_or(u32::MAX),
            writes_queued: self.queued.load(Ordering::Relaxed),
        })
    }

    fn set_meta_if_absent(&self, key: &str, value: &str) -> Result<bool> {
        let (k, v) = (key.to_owned(), value.to_owned());
        self.write(move |c| {
            Ok(c.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES(?1, ?2)",
                params![k, v],
            )? == 1)
        })
    }

    fn reseal(&self, reseal: super::Reseal) -> Result<u64> {
        self.write(move |c| {
            let rows: Vec<(String, Vec<u8>)> = c
                .prepare("SELECT authenticator_id, secret_sealed FROM otp_params")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut n = 0u64;
            for (id, sealed) in rows {
                let fresh = reseal(&sealed, id.as_bytes())?;
                c.execute(
                    "UPDATE otp_params SET secret_sealed = ?1 WHERE authenticator_id = ?2",
                    params![fresh, id],
                )?;
                n += 1;
            }
            let identity: Option<Vec<u8>> = c
                .query_row(
                    "SELECT value FROM device_meta WHERE key = 'identity_sealed'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(sealed) = identity {
                let fresh = reseal(&sealed, super::IDENTITY_CONTEXT)?;
                c.execute(
                    "UPDATE device_meta SET value = ?1 WHERE key = 'identity_sealed'",
                    params![fresh],
                )?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn create_user(&self, user: NewUser, now: u64) -> Result<User> {
        let id = random_id("usr_")?;
        self.write(move |c| {
            c.execute(
                "INSERT INTO users(id,username,email,phone,password_hash,created_at,updated_at)
                 VALUES(?1,?2,?3,?4,?5,?6,?6)",
                params![
                    id,
                    user.username,
                    user.email,
                    user.phone,
                    user.password_hash,
                    now
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict("`username` is already taken".into())
                } else {
                    e.into()
                }
            })?;
            set_memberships(c, &id, &user.organizations)?;
            get_user_tx(c, &id)?
                .map(|(u, _)| u)
                .ok_or(Error::NotFound("user"))
        })
    }

    fn list_users(&self, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
        self.read(|c| {
            let (limit, offset) = page_bounds(page, per_page);
            let total: u64 = c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
            let mut st =
                c.prepare_cached("SELECT * FROM users ORDER BY created_at, id LIMIT ?1 OFFSET ?2")?;
            let users = st
                .query_map(params![limit, offset], |r| {
                    user_from_row(c, r).map(|(u, _)| u)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((users, total))
        })
    }

    fn get_user(&self, id: &str) -> Result<Option<User>> {
        self.read(|c| Ok(get_user_tx(c, id)?.map(|(u, _)| u)))
    }

    fn find_user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM users WHERE username=?1")?;
            Ok(st
                .query_row([username], |r| user_from_row(c, r))
                .optional()?)
        })
    }

    fn update_user(&self, id: &str, patch: UserPatch, now: u64) -> Result<Option<User>> {
        let id = id.to_owned();
        self.write(move |c| {
            if get_user_tx(c, &id)?.is_none() {
                return Ok(None);
            }
            let conflict = |e: rusqlite::Error| {
                if is_unique_violation(&e) {
                    Error::Conflict("`username` is already taken".into())
                } else {
                    Error::from(e)
                }
            };
            if let Some(u) = &patch.username {
                c.execute("UPDATE users SET username=?2 WHERE id=?1", params![id, u])
                    .map_err(conflict)?;
            }
            if let Some(e) = &patch.email {
                c.execute("UPDATE users SET email=?2 WHERE id=?1", params![id, e])?;
            }
            if let Some(p) = &patch.phone {
                c.execute("UPDATE users SET phone=?2 WHERE id=?1", params![id, p])?;
            }
            if let Some(h) = &patch.password_hash {
                c.execute(
                    "UPDATE users SET password_hash=?2 WHERE id=?1",
                    params![id, h],
                )?;
            }
            if let Some(s) = patch.mfa_prompt_skipped {
                c.execute(
                    "UPDATE users SET mfa_prompt_skipped=?2 WHERE id=?1",
                    params![id, s],
                )?;
                if !s {
                    audit_tx(c, now, Some(&id), "mfa_prompt_reset", None, "")?;
                }
            }
            if let Some(orgs) = &patch.organizations {
                set_memberships(c, &id, orgs)?;
            }
            c.execute(
                "UPDATE users SET updated_at=?2 WHERE id=?1",
                params![id, now],
            )?;
            Ok(get_user_tx(c, &id)?.map(|(u, _)| u))
        })
    }

    fn delete_user(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            let n = c.execute("DELETE FROM users WHERE id=?1", [&id])?;
            if n > 0 {
                audit_tx(c, now, Some(&id), "user_delete", None, "")?;
            }
            Ok(n > 0)
        })
    }

    fn create_org(&self, name: &str, require_mfa: bool) -> Result<Organization> {
        let org = Organization {
            id: random_id("org_")?,
            name: name.to_owned(),
            require_mfa,
        };
        self.write(move |c| {
            c.execute(
                "INSERT INTO organizations(id, name, require_mfa) VALUES(?1,?2,?3)",
                params![org.id, org.name, org.require_mfa],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict("`name` is already taken".into())
                } else {
                    e.into()
                }
            })?;
            Ok(org)
        })
    }

    fn list_orgs(&self) -> Result<Vec<Organization>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT id, name, require_mfa FROM organizations ORDER BY name")?;
            let rows = st.query_map([], |r| {
                Ok(Organization {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    require_mfa: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn update_org(
        &self,
        id: &str,
        name: Option<String>,
        require_mfa: Option<bool>,
    ) -> Result<Option<Organization>> {
        let id = id.to_owned();
        self.write(move |c| {
            if let Some(n) = &name {
                c.execute(
                    "UPDATE organizations SET name=?2 WHERE id=?1",
                    params![id, n],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        Error::Conflict("`name` is already taken".into())
                    } else {
                        Error::from(e)
                    }
                })?;
            }
            if let Some(r) = require_mfa {
                c.execute(
                    "UPDATE organizations SET require_mfa=?2 WHERE id=?1",
                    params![id, r],
                )?;
            }
            Ok(c.query_row(
                "SELECT id, name, require_mfa FROM organizations WHERE id=?1",
                [&id],
                |r| {
                    Ok(Organization {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        require_mfa: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn org_requires_mfa(&self, user_id: &str) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT EXISTS(SELECT 1 FROM memberships m JOIN organizations o ON o.id=m.org_id
                 WHERE m.user_id=?1 AND o.require_mfa)",
                [user_id],
                |r| r.get(0),
            )?)
        })
    }

    fn insert_token(&self, token: TokenRecord, hash: [u8; 32]) -> Result<()> {
        self.write(move |c| insert_token_tx(c, &token, &hash))
    }

    fn find_token(&self, hash: [u8; 32]) -> Result<Option<TokenRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT * FROM tokens WHERE hash=?1")?
                .query_row([hash.as_slice()], token_from_row)
                .optional()?)
        })
    }

    fn list_management_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM tokens WHERE kind='management' ORDER BY created_at, id",
            )?;
            let rows = st.query_map([], token_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn revoke_token(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            let n = c.execute(
                "UPDATE tokens SET revoked_at=?2 WHERE id=?1 AND revoked_at IS NULL",
                params![id, now],
            )?;
            if n > 0 {
                audit_tx(c, now, None, "token_revoke", None, &id)?;
            }
            Ok(n > 0)
        })
    }

    fn list_authenticators(&self, user_id: &str) -> Result<Vec<Authenticator>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM authenticators WHERE user_id=?1 ORDER BY created_at, rowid",
            )?;
            let rows = st.query_map([user_id], auth_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_otp(&self, new: NewOtp, now: u64) -> Result<()> {
        self.write(move |c| {
            let a = &new.authenticator;
            let count: u32 = c.query_row(
                "SELECT COUNT(*) FROM authenticators WHERE user_id=?1 AND kind='otp'",
                [&a.user_id],
                |r| r.get(0),
            )?;
            if count >= new.max_enrollments {
                return Err(Error::Conflict(format!(
                    "the user already has the maximum of {} OTP enrollments",
                    new.max_enrollments
                )));
            }
            insert_auth(c, a)?;
            c.execute(
                "INSERT INTO otp_params(authenticator_id,algorithm,digits,period,secret_sealed,last_step)
                 VALUES(?1,?2,?3,?4,?5,NULL)",
                params![
                    a.id,
                    new.params.algorithm.as_str(),
                    new.params.digits,
                    new.params.period,
                    new.params.secret_sealed
                ],
            )?;
            audit_tx(c, now, Some(&a.user_id), "enroll", Some(&a.id), "otp")?;
            if let Some((rid, hashes)) = &new.recovery {
                insert_recovery(c, &a.user_id, rid, hashes, false, now)?;
                audit_tx(c, now, Some(&a.user_id), "enroll", Some(rid), "recovery-code")?;
            }
            Ok(())
        })
    }

    fn create_authenticator(&self, authenticator: Authenticator, now: u64) -> Result<()> {
        self.write(move |c| {
            insert_auth(c, &authenticator)?;
            audit_tx(
                c,
                now,
                Some(&authenticator.user_id),
                "enroll",
                Some(&authenticator.id),
                authenticator.kind.as_str(),
            )
        })
    }

    fn delete_authenticator(&self, user_id: &str, id: &str, now: u64) -> Result<Vec<String>> {
        let (user_id, id) = (user_id.to_owned(), id.to_owned());
        self.write(move |c| {
            let pair: Option<Option<String>> = c
                .query_row(
                    "SELECT pair_id FROM authenticators WHERE id=?1 AND user_id=?2",
                    params![id, user_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(pair) = pair else {
                return Ok(Vec::new());
            };
            let mut ids = vec![id.clone()];
            if let Some(p) = pair {
                let mut st = c.prepare(
                    "SELECT id FROM authenticators WHERE user_id=?1 AND pair_id=?2 AND id<>?3",
                )?;
                let more = st
                    .query_map(params![user_id, p, id], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                ids.extend(more);
            }
            for i in &ids {
                c.execute("DELETE FROM authenticators WHERE id=?1", [i])?;
                audit_tx(c, now, Some(&user_id), "delete", Some(i), "")?;
            }
            Ok(ids)
        })
    }

    fn delete_all_authenticators(&self, user_id: &str, now: u64) -> Result<usize> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            let n = c.execute("DELETE FROM authenticators WHERE user_id=?1", [&user_id])?;
            audit_tx(
                c,
                now,
                Some(&user_id),
                "delete_all",
                None,
                &format!("{n} removed"),
            )?;
            Ok(n)
        })
    }

    fn replace_recovery_codes(
        &self,
        user_id: &str,
        new_id: String,
        hashes: Vec<[u8; 32]>,
        now: u64,
    ) -> Result<String> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            insert_recovery(c, &user_id, &new_id, &hashes, true, now)?;
            audit_tx(
                c,
                now,
                Some(&user_id),
                "regenerate",
                Some(&new_id),
                "recovery-code",
            )?;
            Ok(new_id)
        })
    }

    fn verify_otp(
        &self,
        user_id: &str,
        check: OtpCheck,
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
        done: Done<VerifyOutcome>,
    ) {
        let user_id = user_id.to_owned();
        self.submit(done, move |c| {
            let exists = c
                .prepare_cached("SELECT 1 FROM users WHERE id=?1")?
                .exists([&user_id])?;
            if !exists {
                return Err(Error::NotFound("user"));
            }
            let Some(row) = admit(c, &user_id, Factor::Otp, &policy, now)? else {
                return Ok(VerifyOutcome::Locked);
            };
            let mut st = c.prepare_cached(
                "SELECT a.*, p.algorithm, p.digits, p.period, p.secret_sealed, p.last_step
                 FROM authenticators a JOIN otp_params p ON p.authenticator_id=a.id
                 WHERE a.user_id=?1 AND a.kind='otp' ORDER BY a.created_at, a.rowid",
            )?;
            let rows = st
                .query_map([&user_id], |r| {
                    let alg: String = r.get("algorithm")?;
                    Ok((
                        auth_from_row(r)?,
                        alg,
                        OtpParams {
                            algorithm: Algorithm::Sha1,
                            digits: r.get("digits")?,
                            period: r.get("period")?,
                            secret_sealed: r.get("secret_sealed")?,
                            last_step: r.get("last_step")?,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut matched: Option<(Authenticator, u64)> = None;
            for (auth, alg, mut params) in rows {
                params.algorithm = alg.parse().map_err(|_| Error::Storage("bad algorithm".into()))?;
                // Every authenticator is checked (no early exit) so timing says nothing about
                // which one matched.
                if let Some(step) = check(&auth, &params)? {
                    if matched.is_none() {
                        matched = Some((auth, step));
                    }
                }
            }
            let Some((auth, step)) = matched else {
                count_failure(c, &user_id, Factor::Otp, row, &policy, now)?;
                return Ok(VerifyOutcome::Rejected);
            };
            c.execute(
                "UPDATE otp_params SET last_step=MAX(COALESCE(last_step, 0), ?2) WHERE authenticator_id=?1",
                params![auth.id, step],
            )?;
            let confirmed = !auth.active;
            if confirmed {
                c.execute("UPDATE authenticators SET active=1 WHERE id=?1", [&auth.id])?;
                c.execute(
                    "UPDATE authenticators SET active=1 WHERE user_id=?1 AND kind='recovery-code'",
                    [&user_id],
                )?;
                audit_tx(c, now, Some(&user_id), "confirm", Some(&auth.id), "otp")?;
            }
            if row.count > 0 {
                clear_failures(c, &user_id, Factor::Otp)?;
            }
            audit_tx(c, now, Some(&user_id), "verify_ok", Some(&auth.id), "otp")?;
            apply_success(c, &on_success, &user_id, now)?;
            Ok(VerifyOutcome::Accepted {
                authenticator_id: auth.id,
                confirmed,
                new_recovery_codes: None,
            })
        });
    }

    fn verify_recovery_code(
        &self,
        user_id: &str,
        hash: [u8; 32],
        replacement: (String, Vec<[u8; 32]>, Vec<String>),
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
    ) -> Result<VerifyOutcome> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            let Some(row) = admit(c, &user_id, Factor::RecoveryCode, &policy, now)? else {
                return Ok(VerifyOutcome::Locked);
            };
            let mut st = c.prepare_cached(
                "SELECT r.rowid, r.code_hash, a.id FROM recovery_codes r
                 JOIN authenticators a ON a.id=r.authenticator_id
                 WHERE a.user_id=?1 AND a.active AND r.used_at IS NULL",
            )?;
            let codes = st
                .query_map([&user_id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let unused = codes.len();
            let mut matched: Option<(i64, String)> = None;
            for (rowid, stored, auth_id) in codes {
                if ct_eq(&stored, &hash) && matched.is_none() {
                    matched = Some((rowid, auth_id));
                }
            }
            let Some((rowid, auth_id)) = matched else {
                count_failure(c, &user_id, Factor::RecoveryCode, row, &policy, now)?;
                return Ok(VerifyOutcome::Rejected);
            };
            c.execute(
                "UPDATE recovery_codes SET used_at=?2 WHERE rowid=?1",
                params![rowid, now],
            )?;
            clear_failures(c, &user_id, Factor::RecoveryCode)?;
            audit_tx(
                c,
                now,
                Some(&user_id),
                "verify_ok",
                Some(&auth_id),
                "recovery-code",
            )?;
            let mut new_codes = None;
            if unused == 1 {
                let (new_id, hashes, plain) = replacement;
                insert_recovery(c, &user_id, &new_id, &hashes, true, now)?;
                audit_tx(
                    c,
                    now,
                    Some(&user_id),
                    "regenerate",
                    Some(&new_id),
                    "recovery-code",
                )?;
                new_codes = Some(plain);
            }
            apply_success(c, &on_success, &user_id, now)?;
            Ok(VerifyOutcome::Accepted {
                authenticator_id: auth_id,
                confirmed: false,
                new_recovery_codes: new_codes,
            })
        })
    }

    fn reserve_attempt(
        &self,
        user_id: &str,
        factor: Factor,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<bool> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            let Some(row) = admit(c, &user_id, factor, &policy, now)? else {
                return Ok(false);
            };
            let row = FailureRow {
                count: row.count.saturating_add(1),
                last_failure_at: now,
            };
            store_failures(c, &user_id, factor, row)?;
            Ok(true)
        })
    }

    fn reset_failures(&self, user_id: &str, factor: Factor) -> Result<()> {
        let user_id = user_id.to_owned();
        self.write(move |c| clear_failures(c, &user_id, factor))
    }

    fn failures(&self, user_id: &str) -> Result<Vec<(Factor, FailureRow)>> {
        self.read(|c| {
            let mut out = Vec::new();
            for f in [Factor::Password, Factor::Otp, Factor::RecoveryCode] {
                let row = load_failures(c, user_id, f)?;
                if row.count > 0 {
                    out.push((f, row));
                }
            }
            Ok(out)
        })
    }

    fn unlock(&self, user_id: &str, now: u64) -> Result<bool> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            let n = c.execute("DELETE FROM failures WHERE user_id=?1", [&user_id])?;
            audit_tx(c, now, Some(&user_id), "unlock", None, "")?;
            Ok(n > 0)
        })
    }

    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        authenticator_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()> {
        let (u, k, a, d) = (
            user_id.map(str::to_owned),
            kind.to_owned(),
            authenticator_id.map(str::to_owned),
            detail.to_owned(),
        );
        self.write(move |c| audit_tx(c, now, u.as_deref(), &k, a.as_deref(), &d))
    }

    fn list_audit(
        &self,
        filter: AuditFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<AuditEvent>, u64)> {
        self.read(|c| {
            let (limit, offset) = page_bounds(page, per_page);
            let cond = "(?1 IS NULL OR user_id=?1) AND (?2 IS NULL OR kind=?2)";
            let total: u64 = c.query_row(
                &format!("SELECT COUNT(*) FROM audit WHERE {cond}"),
                params![filter.user_id, filter.kind],
                |r| r.get(0),
            )?;
            let mut st = c.prepare_cached(&format!(
                "SELECT id, at, user_id, kind, authenticator_id, detail FROM audit WHERE {cond}
                 ORDER BY id DESC LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = st
                .query_map(params![filter.user_id, filter.kind, limit, offset], |r| {
                    Ok(AuditEvent {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        user_id: r.get(2)?,
                        kind: r.get(3)?,
                        authenticator_id: r.get(4)?,
                        detail: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rows, total))
        })
    }
}

#[cfg(test)]
mod tests {
    //! One body per behaviour, run on every engine: SQLite always, PostgreSQL too when
    //! `TESSERA_TEST_DATABASE_URL` names a server (scripts/pg-cluster.sh starts one).

    use super::*;
    use crate::store::pg::{self, store::PgStore, Pg};

    /// A fresh store of each engine, named (for assertion messages); the directory keeps the
    /// SQLite file alive.
    fn stores() -> Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let sqlite =
            SqliteStore::open(&dir.path().join("db.sqlite"), &StorageConfig::default()).unwrap();
        let mut out: Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> =
            vec![("sqlite", Box::new(sqlite), dir)];
        if let Some(url) = fresh_pg() {
            let pg = Pg::connect(&url, pg::PoolOptions::default()).unwrap();
            out.push((
                "postgres",
                Box::new(PgStore::new(pg)),
                tempfile::tempdir().unwrap(),
            ));
        }
        out
    }

    /// A new database on the test PostgreSQL server, if there is one.
    fn fresh_pg() -> Option<String> {
        let admin = std::env::var("TESSERA_TEST_DATABASE_URL").ok()?;
        let name = format!("u_{}", crate::crypto::random_id("").unwrap().to_lowercase());
        Some(pg::create_database(&admin, &name).unwrap())
    }

    fn auth(user: &str, id: &str, kind: AuthenticatorKind, pair: Option<&str>) -> Authenticator {
        Authenticator {
            id: id.into(),
            user_id: user.into(),
            kind,
            name: "x".into(),
            active: true,
            oob_channel: None,
            pair_id: pair.map(Into::into),
            created_at: 1,
        }
    }

    fn user(s: &dyn Store, name: &str) -> User {
        s.create_user(
            NewUser {
                username: name.into(),
                ..Default::default()
            },
            1,
        )
        .unwrap()
    }

    fn policy(max_failures: u32) -> LockoutConfig {
        LockoutConfig {
            max_failures,
            delay_base_secs: 0,
            ..LockoutConfig::default()
        }
    }

    fn no_grants() -> OnSuccess {
        OnSuccess {
            revoke_token_id: None,
            issue: None,
        }
    }

    /// Runs the non-blocking `verify_otp` and waits for its answer.
    fn verify_otp_now(
        s: &dyn Store,
        user_id: &str,
        check: OtpCheck,
        on: OnSuccess,
        now: u64,
    ) -> Result<VerifyOutcome> {
        let (tx, rx) = mpsc::channel();
        s.verify_otp(
            user_id,
            check,
            policy(10),
            on,
            now,
            Box::new(move |r| tx.send(r).unwrap()),
        );
        rx.recv().unwrap()
    }

    /// An inactive OTP authenticator for `user_id` (the check in these tests ignores the
    /// secret).
    fn enroll_otp(s: &dyn Store, user_id: &str, id: &str, recovery: Option<&[[u8; 32]]>) {
        s.create_otp(
            NewOtp {
                authenticator: Authenticator {
                    active: false,
                    ..auth(user_id, id, AuthenticatorKind::Otp, None)
                },
                params: OtpParams {
                    algorithm: Algorithm::Sha1,
                    digits: 6,
                    period: 30,
                    secret_sealed: vec![1, 2, 3],
                    last_step: None,
                },
                max_enrollments: 2,
                recovery: recovery.map(|h| ("recovery-code|dev_1".to_owned(), h.to_vec())),
            },
            1,
        )
        .unwrap();
    }

    #[test]
    fn deleting_one_of_a_pair_deletes_both() {
        for (engine, s, _dir) in stores() {
            let u = user(&*s, "p");
            s.create_authenticator(
                auth(
                    &u.user_id,
                    "push|dev_1",
                    AuthenticatorKind::Oob,
                    Some("pr1"),
                ),
                1,
            )
            .unwrap();
            s.create_authenticator(
                auth(
                    &u.user_id,
                    "totp|dev_1",
                    AuthenticatorKind::Otp,
                    Some("pr1"),
                ),
                1,
            )
            .unwrap();
            s.create_authenticator(
                auth(&u.user_id, "totp|dev_2", AuthenticatorKind::Otp, None),
                1,
            )
            .unwrap();
            let mut gone = s.delete_authenticator(&u.user_id, "totp|dev_1", 2).unwrap();
            gone.sort();
            assert_eq!(
                gone,
                vec!["push|dev_1".to_owned(), "totp|dev_1".to_owned()],
                "{engine}"
            );
            let left: Vec<_> = s
                .list_authenticators(&u.user_id)
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect();
            assert_eq!(left, vec!["totp|dev_2".to_owned()], "{engine}");
            assert!(
                s.delete_authenticator("usr_other", "totp|dev_2", 2)
                    .unwrap()
                    .is_empty(),
                "{engine}: another user's authenticator cannot be deleted"
            );
        }
    }

    #[test]
    fn migrations_are_recorded_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.sqlite");
        drop(SqliteStore::open(&p, &StorageConfig::default()).unwrap());
        let s = SqliteStore::open(&p, &StorageConfig::default()).unwrap();
        let c = Connection::open(&p).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, i64::from(super::super::migrations::latest()));
        assert_eq!(s.status().unwrap().schema_version, schema_version());
        if let Some(url) = fresh_pg() {
            drop(Pg::connect(&url, pg::PoolOptions::default()).unwrap());
            let s = PgStore::new(Pg::connect(&url, pg::PoolOptions::default()).unwrap());
            let st = s.status().unwrap();
            assert_eq!(
                (st.schema_version, st.schema_expected),
                (schema_version(), schema_version()),
                "postgres: a second start applies nothing and reads the recorded version"
            );
            assert!(st.readers_open >= 1, "the pool served the read: {st:?}");
        }
    }

    #[test]
    fn conflicts_missing_organizations_and_pages() {
        for (engine, s, _dir) in stores() {
            let a = user(&*s, "ann");
            let e = s
                .create_user(
                    NewUser {
                        username: "ann".into(),
                        ..Default::default()
                    },
                    2,
                )
                .unwrap_err();
            assert!(
                matches!(&e, Error::Conflict(m) if m == "`username` is already taken"),
                "{engine}: {e:?}"
            );
            let e = s
                .create_user(
                    NewUser {
                        username: "bob".into(),
                        organizations: vec!["org_nope".into()],
                        ..Default::default()
                    },
                    2,
                )
                .unwrap_err();
            assert!(
                matches!(e, Error::NotFound("organization")),
                "{engine}: {e:?}"
            );
            assert!(
                s.find_user_by_username("bob").unwrap().is_none(),
                "{engine}: the failed creation left no user behind"
            );
            let org = s.create_org("acme", true).unwrap();
            let e = s.create_org("acme", false).unwrap_err();
            assert!(
                matches!(&e, Error::Conflict(m) if m == "`name` is already taken"),
                "{engine}: {e:?}"
            );
            let b = user(&*s, "bob");
            let e = s
                .update_user(
                    &b.user_id,
                    UserPatch {
                        username: Some("ann".into()),
                        ..Default::default()
                    },
                    3,
                )
                .unwrap_err();
            assert!(matches!(e, Error::Conflict(_)), "{engine}: {e:?}");
            let b = s
                .update_user(
                    &b.user_id,
                    UserPatch {
                        organizations: Some(vec![org.id.clone()]),
                        email: Some(Some("b@example.com".into())),
                        ..Default::default()
                    },
                    3,
                )
                .unwrap()
                .unwrap();
            assert_eq!(b.organizations, vec![org.id.clone()], "{engine}");
            assert_eq!(b.email.as_deref(), Some("b@example.com"), "{engine}");
            assert_eq!(b.updated_at, 3, "{engine}");
            assert!(s.org_requires_mfa(&b.user_id).unwrap(), "{engine}");
            assert!(!s.org_requires_mfa(&a.user_id).unwrap(), "{engine}");
            assert!(s
                .update_user("usr_nope", UserPatch::default(), 3)
                .unwrap()
                .is_none());
            user(&*s, "cy");
            let (first, total) = s.list_users(1, 2).unwrap();
            let (second, _) = s.list_users(2, 2).unwrap();
            assert_eq!((first.len(), second.len(), total), (2, 1, 3), "{engine}");
            let mut names: Vec<_> = first.iter().chain(&second).map(|u| &u.username).collect();
            names.sort();
            assert_eq!(
                names,
                ["ann", "bob", "cy"],
                "{engine}: every user on one page"
            );
            // The audit log: filters and newest first.
            s.audit(Some(&a.user_id), "x", None, "1", 5).unwrap();
            s.audit(Some(&a.user_id), "y", None, "2", 6).unwrap();
            s.audit(None, "x", None, "3", 7).unwrap();
            let filter = |u: Option<&str>, k: Option<&str>| AuditFilter {
                user_id: u.map(Into::into),
                kind: k.map(Into::into),
            };
            let (ev, n) = s.list_audit(filter(None, Some("x")), 1, 10).unwrap();
            let details: Vec<_> = ev.iter().map(|e| e.detail.as_str()).collect();
            assert_eq!((details, n), (vec!["3", "1"], 2), "{engine}");
            let (ev, n) = s.list_audit(filter(Some(&a.user_id), None), 2, 1).unwrap();
            assert_eq!((ev.len(), n), (1, 2), "{engine}");
            assert_eq!(
                ev[0].detail, "1",
                "{engine}: page 2 of 1 holds the older one"
            );
            assert!(s.delete_user(&a.user_id, 8).unwrap(), "{engine}");
            assert!(!s.delete_user(&a.user_id, 8).unwrap(), "{engine}");
        }
    }

    #[test]
    fn a_step_verifies_once_and_an_mfa_token_completes_once() {
        for (engine, s, _dir) in stores() {
            let u = user(&*s, "otto");
            enroll_otp(&*s, &u.user_id, "totp|dev_1", Some(&[[7; 32]]));
            // Accepts step 5 unless it was used (what the real check does with `after`).
            let check = || -> OtpCheck {
                Box::new(|_, p| Ok(p.last_step.is_none_or(|l| l < 5).then_some(5)))
            };
            let (secret, record, hash) = crate::auth::issue_token(
                TokenKind::Mfa,
                Some(u.user_id.clone()),
                Vec::new(),
                "mfa",
                Some(100),
                1,
            )
            .unwrap();
            drop(secret);
            s.insert_token(record.clone(), hash).unwrap();
            let revoke = || OnSuccess {
                revoke_token_id: Some(record.id.clone()),
                issue: None,
            };
            let out = verify_otp_now(&*s, &u.user_id, check(), revoke(), 10).unwrap();
            assert_eq!(
                out,
                VerifyOutcome::Accepted {
                    authenticator_id: "totp|dev_1".into(),
                    confirmed: true,
                    new_recovery_codes: None
                },
                "{engine}"
            );
            assert!(
                s.list_authenticators(&u.user_id)
                    .unwrap()
                    .iter()
                    .all(|a| a.active),
                "{engine}: confirming activates the recovery codes too"
            );
            assert_eq!(
                verify_otp_now(&*s, &u.user_id, check(), no_grants(), 11).unwrap(),
                VerifyOutcome::Rejected,
                "{engine}: a used step is refused"
            );
            let always: OtpCheck = Box::new(|_, _| Ok(Some(9)));
            let e = verify_otp_now(&*s, &u.user_id, always, revoke(), 12).unwrap_err();
            assert!(matches!(e, Error::InvalidGrant(_)), "{engine}: {e:?}");
            assert_eq!(
                s.failures(&u.user_id).unwrap(),
                vec![(
                    Factor::Otp,
                    FailureRow {
                        count: 1,
                        last_failure_at: 11
                    }
                )],
                "{engine}: the refused mfa_token rolled the success back, the earlier failure stays"
            );
            assert_eq!(
                s.find_token(hash).unwrap().unwrap().revoked_at,
                Some(10),
                "{engine}"
            );
            let e = verify_otp_now(&*s, "usr_nope", check(), no_grants(), 12).unwrap_err();
            assert!(matches!(e, Error::NotFound("user")), "{engine}: {e:?}");
        }
    }

    #[test]
    fn the_enrollment_cap_holds_under_concurrent_enrollments() {
        for (engine, s, _dir) in stores() {
            let u = user(&*s, "cap");
            // On PostgreSQL each call is its own pooled connection and transaction, as calls
            // from two instances would be.
            let results: Vec<_> = std::thread::scope(|scope| {
                let s = &*s;
                let handles: Vec<_> = (0..8)
                    .map(|i| {
                        let user_id = u.user_id.clone();
                        scope.spawn(move || {
                            s.create_otp(
                                NewOtp {
                                    authenticator: auth(
                                        &user_id,
                                        &format!("totp|dev_{i}"),
                                        AuthenticatorKind::Otp,
                                        None,
                                    ),
                                    params: OtpParams {
                                        algorithm: Algorithm::Sha1,
                                        digits: 6,
                                        period: 30,
                                        secret_sealed: vec![1],
                                        last_step: None,
                                    },
                                    max_enrollments: 2,
                                    recovery: None,
                                },
                                1,
                            )
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let ok = results.iter().filter(|r| r.is_ok()).count();
            let conflicts = results
                .iter()
                .filter(|r| matches!(r, Err(Error::Conflict(_))))
                .count();
            assert_eq!((ok, conflicts), (2, 6), "{engine}: {results:?}");
            assert_eq!(
                s.list_authenticators(&u.user_id).unwrap().len(),
                2,
                "{engine}"
            );
        }
    }

    #[test]
    fn recovery_codes_count_failures_lock_and_replace_the_last() {
        for (engine, s, _dir) in stores() {
            let u = user(&*s, "rita");
            s.replace_recovery_codes(
                &u.user_id,
                "recovery-code|dev_a".into(),
                vec![[1; 32], [2; 32]],
                1,
            )
            .unwrap();
            let replacement = || {
                (
                    "recovery-code|dev_b".to_owned(),
                    vec![[3; 32]],
                    vec!["NEWCODE".to_owned()],
                )
            };
            let try_code = |h: [u8; 32], now| {
                s.verify_recovery_code(&u.user_id, h, replacement(), policy(3), no_grants(), now)
                    .unwrap()
            };
            assert_eq!(try_code([9; 32], 2), VerifyOutcome::Rejected, "{engine}");
            assert!(matches!(
                try_code([1; 32], 3),
                VerifyOutcome::Accepted {
                    new_recovery_codes: None,
                    ..
                }
            ));
            assert_eq!(
                try_code([1; 32], 4),
                VerifyOutcome::Rejected,
                "{engine}: used once"
            );
            assert_eq!(
                try_code([2; 32], 5),
                VerifyOutcome::Accepted {
                    authenticator_id: "recovery-code|dev_a".into(),
                    confirmed: false,
                    new_recovery_codes: Some(vec!["NEWCODE".into()])
                },
                "{engine}: the last code brings a new set"
            );
            for now in 6..9 {
                assert_eq!(try_code([8; 32], now), VerifyOutcome::Rejected, "{engine}");
            }
            assert_eq!(
                try_code([3; 32], 9),
                VerifyOutcome::Locked,
                "{engine}: at the cap even the right code is not evaluated"
            );
            assert!(!s
                .reserve_attempt(&u.user_id, Factor::RecoveryCode, policy(3), 9)
                .unwrap());
            assert!(s.unlock(&u.user_id, 10).unwrap(), "{engine}");
            assert!(matches!(
                try_code([3; 32], 11),
                VerifyOutcome::Accepted { .. }
            ));
            assert!(s
                .reserve_attempt(&u.user_id, Factor::Password, policy(3), 12)
                .unwrap());
            assert_eq!(s.failures(&u.user_id).unwrap().len(), 1, "{engine}");
            s.reset_failures(&u.user_id, Factor::Password).unwrap();
            assert!(s.failures(&u.user_id).unwrap().is_empty(), "{engine}");
            let (events, _) = s
                .list_audit(
                    AuditFilter {
                        user_id: Some(u.user_id.clone()),
                        kind: Some("lockout".into()),
                    },
                    1,
                    10,
                )
                .unwrap();
            assert_eq!(events.len(), 1, "{engine}");
        }
    }
}
