//! The embedded SQLite store (WAL).
//!
//! One writer thread owns the only write connection and commits jobs in groups: it takes every
//! job waiting (up to `group_commit_max`), runs each inside its own SAVEPOINT of one transaction,
//! commits once and only then answers every job. Jobs are serialized, so each sees the effects
//! of the ones before it (the failure counter and one-time-use step stay exact), while one fsync
//! covers many verifications under `synchronous=FULL`. A failing job rolls back to its savepoint
//! without touching the others. Reads use a small pool of read-only connections.
//!
//! The work is split by area: [`users`] (users, organizations, memberships, meta),
//! [`tokens`], [`factors`] (authenticators, OTP enrollment, recovery codes), [`verify`]
//! (checks, failure counters, lockout admission) and [`audit`]. This file holds the
//! connections and the [`Store`] impl, whose methods hand each area's function to the writer
//! or to a reader.

mod applications;
mod audit;
mod factors;
mod oidc;
mod oob;
mod passkeys;
mod policies;
mod signin;
mod tokens;
mod typing;
mod users;
mod verify;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use super::{
    AuditFilter, AuthorizationCode, Ceremony, CodeRedemption, Done, NewOtp, OnSuccess, OtpCheck,
    PasskeyRow, PasskeyUse, PolicyVersion, Redeemed, Rotation, SigningKeyRow, Store, StoreStatus,
};
use crate::config::{LockoutConfig, StorageConfig};
use crate::crypto::random_id;
use crate::error::{Error, Result};
use crate::model::{
    Application, ApplicationPatch, AuditEvent, Authenticator, BrowserRecord, Factor, FailureRow,
    FlowRecord, NewUser, Organization, SessionRecord, SignInRecord, TokenRecord, User, UserPatch,
    VerifyOutcome,
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

// ---------------------------------------------------------------- shared helpers

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
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

fn page_bounds(page: u32, per_page: u32) -> (i64, i64) {
    let per = i64::from(per_page.clamp(1, 100));
    let offset = i64::from(page.max(1) - 1) * per;
    (per, offset)
}

// ---------------------------------------------------------------- the trait

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
        self.write(move |c| users::set_meta_if_absent(c, &k, &v))
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
            for (id, sealed) in passkeys::sealed(c)? {
                let fresh = reseal(&sealed, &crate::store::passkeys::credential_context(&id))?;
                passkeys::reseal_one(c, &id, &fresh)?;
                n += 1;
            }
            for (kid, sealed) in oidc::sealed_keys(c)? {
                let fresh = reseal(&sealed, &super::signing_key_context(&kid))?;
                oidc::reseal_key(c, &kid, &fresh)?;
                n += 1;
            }
            n += typing::reseal(c, &reseal)?;
            Ok(n)
        })
    }

    fn create_user(&self, user: NewUser, now: u64) -> Result<User> {
        let id = random_id("usr_")?;
        self.write(move |c| users::create_user(c, &id, user, now))
    }

    fn list_users(&self, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
        self.read(|c| users::list_users(c, page, per_page))
    }

    fn search_users(&self, text: &str, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
        self.read(|c| users::search_users(c, text, page, per_page))
    }

    fn get_user(&self, id: &str) -> Result<Option<User>> {
        self.read(|c| Ok(users::get_user_tx(c, id)?.map(|(u, _)| u)))
    }

    fn find_user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        self.read(|c| users::find_by_username(c, username))
    }

    fn update_user(&self, id: &str, patch: UserPatch, now: u64) -> Result<Option<User>> {
        let id = id.to_owned();
        self.write(move |c| users::update_user(c, &id, patch, now))
    }

    fn delete_user(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.write(move |c| users::delete_user(c, &id, now))
    }

    fn create_org(&self, name: &str, require_mfa: bool) -> Result<Organization> {
        let org = Organization {
            id: random_id("org_")?,
            name: name.to_owned(),
            require_mfa,
        };
        self.write(move |c| users::create_org(c, org))
    }

    fn list_orgs(&self) -> Result<Vec<Organization>> {
        self.read(users::list_orgs)
    }

    fn update_org(
        &self,
        id: &str,
        name: Option<String>,
        require_mfa: Option<bool>,
    ) -> Result<Option<Organization>> {
        let id = id.to_owned();
        self.write(move |c| users::update_org(c, &id, name, require_mfa))
    }

    fn org_requires_mfa(&self, user_id: &str) -> Result<bool> {
        self.read(|c| users::org_requires_mfa(c, user_id))
    }

    fn policy(&self, version: Option<u64>) -> Result<Option<PolicyVersion>> {
        self.read(|c| policies::get(c, version))
    }

    fn put_policy(
        &self,
        document: &str,
        author: &str,
        expected: Option<u64>,
        now: u64,
    ) -> Result<PolicyVersion> {
        let (document, author) = (document.to_owned(), author.to_owned());
        self.write(move |c| policies::put(c, &document, &author, expected, now))
    }

    fn policy_versions(&self) -> Result<Vec<PolicyVersion>> {
        self.read(policies::list)
    }

    fn insert_flow(&self, flow: FlowRecord) -> Result<()> {
        self.write(move |c| signin::insert_flow(c, &flow))
    }

    fn flow(&self, id_hash: [u8; 32]) -> Result<Option<FlowRecord>> {
        self.read(|c| signin::flow(c, id_hash))
    }

    fn update_flow(&self, id_hash: [u8; 32], revision: u64, document: &str) -> Result<bool> {
        let document = document.to_owned();
        self.write(move |c| signin::update_flow(c, id_hash, revision, &document))
    }

    fn save_session(&self, hash: [u8; 32], session: SessionRecord) -> Result<()> {
        self.write(move |c| signin::save_session(c, hash, &session))
    }

    fn session(&self, hash: [u8; 32]) -> Result<Option<SessionRecord>> {
        self.read(|c| signin::session(c, hash))
    }

    fn sessions_of(&self, user_id: &str, now: u64) -> Result<Vec<SessionRecord>> {
        self.read(|c| signin::sessions_of(c, user_id, now))
    }

    fn end_sessions(&self, user_id: &str, id: Option<&str>, now: u64) -> Result<usize> {
        let (user_id, id) = (user_id.to_owned(), id.map(str::to_owned));
        self.write(move |c| signin::end_sessions(c, &user_id, id.as_deref(), now))
    }

    fn browser(&self, hash: [u8; 32], user_id: &str) -> Result<Option<BrowserRecord>> {
        self.read(|c| signin::browser(c, hash, user_id))
    }

    fn record_sign_in(&self, sign_in: SignInRecord) -> Result<()> {
        self.write(move |c| signin::record_sign_in(c, &sign_in))
    }

    fn typing_profile(&self, user_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| typing::profile(c, user_id))
    }

    fn update_typing_profile(
        &self,
        user_id: &str,
        update: super::TypingUpdate,
        now: u64,
    ) -> Result<()> {
        let user_id = user_id.to_owned();
        self.write(move |c| typing::update(c, &user_id, update, now))
    }

    fn create_application(&self, app: Application, secret_hash: Option<[u8; 32]>) -> Result<()> {
        self.write(move |c| applications::create(c, &app, secret_hash))
    }

    fn applications(&self) -> Result<Vec<Application>> {
        self.read(applications::list)
    }

    fn application(&self, client_id: &str) -> Result<Option<Application>> {
        self.read(|c| applications::get(c, client_id))
    }

    fn update_application(
        &self,
        client_id: &str,
        patch: ApplicationPatch,
        now: u64,
    ) -> Result<Option<Application>> {
        let id = client_id.to_owned();
        self.write(move |c| applications::update(c, &id, patch, now))
    }

    fn delete_application(&self, client_id: &str, now: u64) -> Result<bool> {
        let id = client_id.to_owned();
        self.write(move |c| applications::delete(c, &id, now))
    }

    fn application_with_secret(
        &self,
        client_id: &str,
    ) -> Result<Option<(Application, Option<[u8; 32]>)>> {
        self.read(|c| oidc::application_with_secret(c, client_id))
    }

    fn signing_keys(&self, now: u64) -> Result<Vec<SigningKeyRow>> {
        self.read(|c| oidc::signing_keys(c, now))
    }

    fn rotate_signing_key(
        &self,
        new: SigningKeyRow,
        rotation: Rotation,
        retire_at: u64,
        now: u64,
    ) -> Result<Vec<SigningKeyRow>> {
        self.write(move |c| oidc::rotate(c, &new, &rotation, retire_at, now))
    }

    fn insert_code(
        &self,
        hash: [u8; 32],
        code: AuthorizationCode,
        purge_before: u64,
    ) -> Result<()> {
        self.write(move |c| oidc::insert_code(c, &hash, &code, purge_before))
    }

    fn redeem_code(
        &self,
        hash: [u8; 32],
        redemption: CodeRedemption,
        now: u64,
    ) -> Result<Redeemed> {
        self.write(move |c| oidc::redeem(c, &hash, redemption, now))
    }

    fn insert_token(&self, token: TokenRecord, hash: [u8; 32]) -> Result<()> {
        self.write(move |c| tokens::insert_token_tx(c, &token, &hash))
    }

    fn find_token(&self, hash: [u8; 32]) -> Result<Option<TokenRecord>> {
        self.read(|c| tokens::find(c, hash))
    }

    fn list_management_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read(tokens::list_management)
    }

    fn revoke_token(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.write(move |c| tokens::revoke(c, &id, now))
    }

    fn list_authenticators(&self, user_id: &str) -> Result<Vec<Authenticator>> {
        self.read(|c| factors::list(c, user_id))
    }

    fn create_otp(&self, new: NewOtp, now: u64) -> Result<()> {
        self.write(move |c| factors::create_otp(c, &new, now))
    }

    fn create_authenticator(&self, authenticator: Authenticator, now: u64) -> Result<()> {
        self.write(move |c| factors::create_authenticator(c, &authenticator, now))
    }

    fn delete_authenticator(&self, user_id: &str, id: &str, now: u64) -> Result<Vec<String>> {
        let (user_id, id) = (user_id.to_owned(), id.to_owned());
        self.write(move |c| factors::delete(c, &user_id, id, now))
    }

    fn delete_all_authenticators(&self, user_id: &str, now: u64) -> Result<usize> {
        let user_id = user_id.to_owned();
        self.write(move |c| factors::delete_all(c, &user_id, now))
    }

    fn replace_recovery_codes(
        &self,
        user_id: &str,
        new_id: String,
        hashes: Vec<[u8; 32]>,
        now: u64,
    ) -> Result<String> {
        let user_id = user_id.to_owned();
        self.write(move |c| factors::replace_recovery_codes(c, &user_id, new_id, &hashes, now))
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
            verify::otp(c, &user_id, &check, &policy, &on_success, now)
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
            verify::recovery_code(c, &user_id, hash, replacement, &policy, &on_success, now)
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
        self.write(move |c| verify::reserve_attempt(c, &user_id, factor, &policy, now))
    }

    fn reset_failures(&self, user_id: &str, factor: Factor) -> Result<()> {
        let user_id = user_id.to_owned();
        self.write(move |c| verify::clear_failures(c, &user_id, factor))
    }

    fn failures(&self, user_id: &str) -> Result<Vec<(Factor, FailureRow)>> {
        self.read(|c| verify::failures(c, user_id))
    }

    fn unlock(&self, user_id: &str, now: u64) -> Result<bool> {
        let user_id = user_id.to_owned();
        self.write(move |c| verify::unlock(c, &user_id, now))
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
        self.read(|c| audit::list(c, &filter, page, per_page))
    }

    fn scan_audit(
        &self,
        filter: AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        self.read(|c| audit::scan(c, &filter, before, limit))
    }

    fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.read(|c| oob::audit_after(c, after, limit))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| oob::meta(c, key))
    }

    fn swap_meta(&self, key: &str, expected: Option<&str>, value: &str) -> Result<bool> {
        let (key, expected, value) = (
            key.to_owned(),
            expected.map(str::to_owned),
            value.to_owned(),
        );
        self.write(move |c| oob::swap_meta(c, &key, expected.as_deref(), &value))
    }

    fn issue_oob_code(
        &self,
        code: super::oob::OobCodeRow,
        limits: super::oob::SendLimits,
    ) -> Result<super::oob::Issued> {
        self.write(move |c| oob::issue(c, &code, limits))
    }

    fn oob_code(&self, id_hash: [u8; 32]) -> Result<Option<super::oob::OobCodeRow>> {
        self.read(|c| oob::get(c, id_hash))
    }

    fn redeem_oob_code(
        &self,
        lookup: super::oob::OobLookup,
        check: Option<super::oob::OobCheck>,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<super::oob::OobRedeemed> {
        self.write(move |c| oob::redeem(c, &lookup, check, &policy, now))
    }

    fn notification_pref(&self, user_id: &str) -> Result<Option<String>> {
        self.read(|c| oob::notification_pref(c, user_id))
    }

    fn set_notification_pref(&self, user_id: &str, pref: Option<&str>) -> Result<bool> {
        let (user_id, pref) = (user_id.to_owned(), pref.map(str::to_owned));
        self.write(move |c| oob::set_notification_pref(c, &user_id, pref.as_deref()))
    }

    fn create_passkey(
        &self,
        authenticator: Authenticator,
        row: PasskeyRow,
        now: u64,
    ) -> Result<()> {
        self.write(move |c| passkeys::create(c, &authenticator, &row, now))
    }

    fn passkeys(&self, user_id: &str) -> Result<Vec<PasskeyRow>> {
        self.read(|c| passkeys::of_user(c, user_id))
    }

    fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRow>> {
        self.read(|c| passkeys::by_credential(c, credential_id))
    }

    fn use_passkey(
        &self,
        authenticator_id: &str,
        expected_counter: u32,
        used: PasskeyUse,
    ) -> Result<bool> {
        let id = authenticator_id.to_owned();
        self.write(move |c| passkeys::record_use(c, &id, expected_counter, &used))
    }

    fn put_ceremony(&self, ceremony: Ceremony) -> Result<()> {
        self.write(move |c| passkeys::put_ceremony(c, &ceremony))
    }

    fn take_ceremony(&self, id_hash: [u8; 32], now: u64) -> Result<Option<Ceremony>> {
        self.write(move |c| passkeys::take_ceremony(c, &id_hash, now))
    }
}
