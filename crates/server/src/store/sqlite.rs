//! The embedded SQLite store: one connection behind a mutex (SQLite serialises writers
//! anyway), WAL journal, `synchronous` NORMAL or FULL, versioned migrations.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::{
    Attempt, AuditRow, AuthRow, Check, CheckFn, Factor, Result, Store, StoreError, TokenRow,
    UserRow,
};
use crate::config::LockoutPolicy;

const MIGRATIONS: &[&str] = &[
    // 1
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
     CREATE TABLE users (
         id TEXT PRIMARY KEY,
         username TEXT NOT NULL UNIQUE COLLATE NOCASE,
         email TEXT, phone TEXT,
         password_hash TEXT NOT NULL,
         organizations TEXT NOT NULL DEFAULT '[]',
         mfa_prompt_skipped INTEGER NOT NULL DEFAULT 0,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE organizations (name TEXT PRIMARY KEY, require_mfa INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE authenticators (
         id TEXT PRIMARY KEY,
         user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
         kind TEXT NOT NULL, name TEXT NOT NULL,
         sealed_secret BLOB NOT NULL,
         algorithm TEXT NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL,
         active INTEGER NOT NULL DEFAULT 0,
         last_step INTEGER,
         created_at INTEGER NOT NULL
     );
     CREATE INDEX authenticators_user ON authenticators(user_id);
     CREATE TABLE recovery_codes (
         user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
         code_hash BLOB NOT NULL,
         used_at INTEGER,
         PRIMARY KEY (user_id, code_hash)
     ) WITHOUT ROWID;
     CREATE TABLE failures (
         user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
         factor TEXT NOT NULL,
         count INTEGER NOT NULL,
         last_failure_at INTEGER NOT NULL,
         PRIMARY KEY (user_id, factor)
     ) WITHOUT ROWID;
     CREATE TABLE tokens (
         id TEXT PRIMARY KEY,
         hash BLOB NOT NULL UNIQUE,
         kind TEXT NOT NULL,
         user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
         scopes TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         expires_at INTEGER,
         revoked INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE audit (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at INTEGER NOT NULL,
         kind TEXT NOT NULL,
         user_id TEXT,
         detail TEXT NOT NULL
     );
     CREATE INDEX audit_user ON audit(user_id, id);",
];

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                return StoreError::Conflict("already exists".into());
            }
        }
        backend(e)
    }
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it.
    pub fn open(path: &Path, sync_full: bool) -> Result<SqliteStore> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(backend)?;
            }
        }
        let conn = Connection::open(path)?;
        SqliteStore::init(conn, sync_full)
    }

    /// An in-memory store (unit tests).
    pub fn in_memory() -> Result<SqliteStore> {
        SqliteStore::init(Connection::open_in_memory()?, true)
    }

    fn init(mut conn: Connection, sync_full: bool) -> Result<SqliteStore> {
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            if sync_full { "FULL" } else { "NORMAL" },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let target = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > target {
            return Err(StoreError::Backend(format!(
                "database schema {version} is newer than this server ({target})"
            )));
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (n, sql) in MIGRATIONS.iter().enumerate() {
            if i64::try_from(n).unwrap_or(i64::MAX) >= version {
                tx.execute_batch(sql)?;
            }
        }
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let orgs: String = r.get(5)?;
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        phone: r.get(3)?,
        password_hash: r.get(4)?,
        organizations: serde_json::from_str(&orgs).unwrap_or_default(),
        mfa_prompt_skipped: r.get(6)?,
        created_at: u(r.get(7)?),
    })
}

const USER_COLS: &str =
    "id, username, email, phone, password_hash, organizations, mfa_prompt_skipped, created_at";
const AUTH_COLS: &str =
    "id, user_id, kind, name, sealed_secret, algorithm, digits, period, active, last_step, created_at";

fn auth_row(r: &Row<'_>) -> rusqlite::Result<AuthRow> {
    Ok(AuthRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        kind: r.get(2)?,
        name: r.get(3)?,
        sealed_secret: r.get(4)?,
        algorithm: r.get(5)?,
        digits: r.get(6)?,
        period: r.get(7)?,
        active: r.get(8)?,
        last_step: r.get::<_, Option<i64>>(9)?.map(u),
        created_at: u(r.get(10)?),
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let hash: Vec<u8> = r.get(1)?;
    let scopes: String = r.get(4)?;
    Ok(TokenRow {
        id: r.get(0)?,
        hash: hash.try_into().unwrap_or([0; 32]),
        kind: r.get(2)?,
        user_id: r.get(3)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: u(r.get(5)?),
        expires_at: r.get::<_, Option<i64>>(6)?.map(u),
        revoked: r.get(7)?,
    })
}

fn orgs_json(orgs: &[String]) -> String {
    serde_json::to_string(orgs).unwrap_or_else(|_| "[]".into())
}

impl Store for SqliteStore {
    fn create_user(&self, user: &UserRow) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO users (id, username, email, phone, password_hash, organizations, mfa_prompt_skipped, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    user.id,
                    user.username,
                    user.email,
                    user.phone,
                    user.password_hash,
                    orgs_json(&user.organizations),
                    user.mfa_prompt_skipped,
                    i(user.created_at)
                ],
            )
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict("the username is taken".into()),
                other => other,
            })?;
        Ok(())
    }

    fn get_user(&self, id: &str) -> Result<UserRow> {
        self.conn()
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("user"))
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE username = ?1"),
                [username],
                user_row,
            )
            .optional()?)
    }

    fn list_users(&self, offset: u64, limit: u64) -> Result<(Vec<UserRow>, u64)> {
        let conn = self.conn();
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users ORDER BY created_at, rowid LIMIT ?1 OFFSET ?2"
        ))?;
        let users = stmt
            .query_map(params![i(limit), i(offset)], user_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((users, u(total)))
    }

    fn update_user(&self, user: &UserRow) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE users SET username = ?2, email = ?3, phone = ?4, password_hash = ?5,
                 organizations = ?6, mfa_prompt_skipped = ?7 WHERE id = ?1",
            params![
                user.id,
                user.username,
                user.email,
                user.phone,
                user.password_hash,
                orgs_json(&user.organizations),
                user.mfa_prompt_skipped
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    fn delete_user(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM users WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    fn put_organization(&self, name: &str, require_mfa: bool) -> Result<()> {
        self.conn().execute(
            "INSERT INTO organizations (name, require_mfa) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET require_mfa = excluded.require_mfa",
            params![name, require_mfa],
        )?;
        Ok(())
    }

    fn organizations(&self) -> Result<Vec<(String, bool)>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT name, require_mfa FROM organizations ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_authenticator(&self, a: &AuthRow, max: u8) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM authenticators WHERE user_id = ?1 AND kind = ?2",
            params![a.user_id, a.kind],
            |r| r.get(0),
        )?;
        if count >= i64::from(max) {
            return Err(StoreError::Conflict(format!(
                "the user already has {count} {} authenticators (the limit is {max})",
                a.kind
            )));
        }
        tx.execute(
            &format!("INSERT INTO authenticators ({AUTH_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                a.id,
                a.user_id,
                a.kind,
                a.name,
                a.sealed_secret,
                a.algorithm,
                a.digits,
                a.period,
                a.active,
                a.last_step.map(i),
                i(a.created_at)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn authenticators(&self, user_id: &str) -> Result<Vec<AuthRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {AUTH_COLS} FROM authenticators WHERE user_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt
            .query_map([user_id], auth_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn delete_authenticator(&self, user_id: &str, id: &str) -> Result<()> {
        let n = self.conn().execute(
            "DELETE FROM authenticators WHERE user_id = ?1 AND id = ?2",
            params![user_id, id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("authenticator"));
        }
        Ok(())
    }

    fn delete_all_mfa(&self, user_id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM authenticators WHERE user_id = ?1", [user_id])?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
        tx.execute("DELETE FROM failures WHERE user_id = ?1", [user_id])?;
        tx.commit()?;
        Ok(())
    }

    fn replace_recovery_codes(&self, user_id: &str, hashes: &[[u8; 32]]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
        for h in hashes {
            tx.execute(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                params![user_id, h.as_slice()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn recovery_codes_left(&self, user_id: &str) -> Result<usize> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            [user_id],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or_default())
    }

    fn attempt(
        &self,
        user_id: &str,
        factor: Factor,
        now: u64,
        policy: &LockoutPolicy,
        check: &mut CheckFn<'_>,
    ) -> Result<Attempt> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (failures, last): (u32, u64) = tx
            .query_row(
                "SELECT count, last_failure_at FROM failures WHERE user_id = ?1 AND factor = ?2",
                params![user_id, factor.as_str()],
                |r| Ok((r.get::<_, u32>(0)?, u(r.get(1)?))),
            )
            .optional()?
            .unwrap_or((0, 0));
        if failures >= policy.max_failures {
            return Ok(Attempt::Locked);
        }
        let wait_until = last.saturating_add(policy.delay_after(failures));
        if failures > 0 && now < wait_until {
            return Ok(Attempt::Delayed {
                retry_after: wait_until - now,
            });
        }
        let auths = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {AUTH_COLS} FROM authenticators WHERE user_id = ?1 AND kind = 'otp'"
            ))?;
            let rows = stmt
                .query_map([user_id], auth_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        let codes: Vec<[u8; 32]> = if factor == Factor::RecoveryCode {
            let mut stmt = tx.prepare_cached(
                "SELECT code_hash FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            )?;
            let rows = stmt
                .query_map([user_id], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .filter_map(|h| <[u8; 32]>::try_from(h).ok())
                .collect()
        } else {
            Vec::new()
        };
        let outcome = match check(&auths, &codes) {
            Check::Otp {
                authenticator_id,
                step,
            } => {
                let was_active = auths
                    .iter()
                    .find(|a| a.id == authenticator_id)
                    .map(|a| a.active)
                    .unwrap_or(true);
                // The WHERE clause re-checks one-time use inside the transaction.
                let n = tx.execute(
                    "UPDATE authenticators SET last_step = ?1, active = 1
                     WHERE id = ?2 AND (last_step IS NULL OR last_step < ?1)",
                    params![i(step), authenticator_id],
                )?;
                if n == 1 {
                    Some(Attempt::Ok {
                        authenticator_id: Some(authenticator_id),
                        activated: !was_active,
                    })
                } else {
                    None
                }
            }
            Check::Recovery(hash) => {
                let n = tx.execute(
                    "UPDATE recovery_codes SET used_at = ?1
                     WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL",
                    params![i(now), user_id, hash.as_slice()],
                )?;
                (n == 1).then_some(Attempt::Ok {
                    authenticator_id: None,
                    activated: false,
                })
            }
            Check::NoMatch => None,
        };
        let result = match outcome {
            Some(ok) => {
                tx.execute(
                    "DELETE FROM failures WHERE user_id = ?1 AND factor = ?2",
                    params![user_id, factor.as_str()],
                )?;
                ok
            }
            None => {
                let count = failures.saturating_add(1);
                tx.execute(
                    "INSERT INTO failures (user_id, factor, count, last_failure_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id, factor) DO UPDATE SET count = excluded.count, last_failure_at = excluded.last_failure_at",
                    params![user_id, factor.as_str(), count, i(now)],
                )?;
                Attempt::Failed {
                    failures: count,
                    locked_now: count >= policy.max_failures,
                }
            }
        };
        tx.commit()?;
        Ok(result)
    }

    fn reset_failures(&self, user_id: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM failures WHERE user_id = ?1", [user_id])?;
        Ok(())
    }

    fn insert_token(&self, t: &TokenRow) -> Result<()> {
        self.conn().execute(
            "INSERT INTO tokens (id, hash, kind, user_id, scopes, created_at, expires_at, revoked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                t.id,
                t.hash.as_slice(),
                t.kind,
                t.user_id,
                t.scopes.join(" "),
                i(t.created_at),
                t.expires_at.map(i),
                t.revoked
            ],
        )?;
        Ok(())
    }

    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, hash, kind, user_id, scopes, created_at, expires_at, revoked FROM tokens WHERE hash = ?1",
                [hash.as_slice()],
                token_row,
            )
            .optional()?)
    }

    fn revoke_token(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound("token"));
        }
        Ok(())
    }

    fn admin_tokens(&self) -> Result<Vec<TokenRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, hash, kind, user_id, scopes, created_at, expires_at, revoked FROM tokens WHERE kind = 'admin' ORDER BY created_at",
        )?;
        let rows = stmt
            .query_map([], token_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn audit(
        &self,
        at: u64,
        kind: &str,
        user_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO audit (at, kind, user_id, detail) VALUES (?1, ?2, ?3, ?4)",
            params![i(at), kind, user_id, detail.to_string()],
        )?;
        Ok(())
    }

    fn audit_log(
        &self,
        user_id: Option<&str>,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<AuditRow>, u64)> {
        let conn = self.conn();
        let filter = "(?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR kind = ?2)";
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM audit WHERE {filter}"),
            params![user_id, kind],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, at, kind, user_id, detail FROM audit WHERE {filter} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = stmt
            .query_map(params![user_id, kind, i(limit), i(offset)], |r| {
                let detail: String = r.get(4)?;
                Ok(AuditRow {
                    id: r.get(0)?,
                    at: u(r.get(1)?),
                    kind: r.get(2)?,
                    user_id: r.get(3)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, u(total)))
    }

    fn meta(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_meta(&self, name: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO meta (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }
}
