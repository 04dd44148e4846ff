//! The schema: one numbered list of steps, each written for both engines, applied at start by
//! one runner per engine. A database whose recorded version is newer than this list is refused
//! with a message naming both versions and is never altered.
//!
//! Never edit a step that shipped; append a new one. SQLite records the version in
//! `PRAGMA user_version`; PostgreSQL in the one-row table `tessera_schema`.

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// What the step is for (shown in logs).
    pub what: &'static str,
    /// The step on SQLite.
    pub sqlite: &'static str,
    /// The step on PostgreSQL.
    pub postgres: &'static str,
}

/// The schema version this binary migrates to.
pub fn latest() -> u32 {
    u32::try_from(STEPS.len()).unwrap_or(u32::MAX)
}

/// The message for a database newer than this binary.
pub fn too_new(found: i64) -> String {
    format!(
        "`database`: schema version {found} is newer than this server ({}); \
         run the newer tessera-server, or restore a backup made by this version",
        latest()
    )
}

/// Every step, oldest first.
pub const STEPS: &[Step] = &[
    Step {
        what: "users, organizations, factors, tokens, failure counters, audit log",
        sqlite: r#"
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users(
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT, phone TEXT, password_hash TEXT,
  mfa_prompt_skipped INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE organizations(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, require_mfa INTEGER NOT NULL);
CREATE TABLE memberships(
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  PRIMARY KEY(user_id, org_id));
CREATE TABLE authenticators(
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL, name TEXT NOT NULL, active INTEGER NOT NULL, oob_channel TEXT, pair_id TEXT,
  created_at INTEGER NOT NULL);
CREATE INDEX authenticators_user ON authenticators(user_id);
CREATE TABLE otp_params(
  authenticator_id TEXT PRIMARY KEY REFERENCES authenticators(id) ON DELETE CASCADE,
  algorithm TEXT NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL,
  secret_sealed BLOB NOT NULL, last_step INTEGER);
CREATE TABLE recovery_codes(
  authenticator_id TEXT NOT NULL REFERENCES authenticators(id) ON DELETE CASCADE,
  code_hash BLOB NOT NULL, used_at INTEGER);
CREATE INDEX recovery_codes_auth ON recovery_codes(authenticator_id);
CREATE TABLE tokens(
  id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, kind TEXT NOT NULL,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE, scopes TEXT NOT NULL, name TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER);
CREATE TABLE failures(
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, factor TEXT NOT NULL,
  count INTEGER NOT NULL, last_failure_at INTEGER NOT NULL, PRIMARY KEY(user_id, factor));
CREATE TABLE audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, user_id TEXT, kind TEXT NOT NULL,
  authenticator_id TEXT, detail TEXT NOT NULL);
CREATE INDEX audit_user ON audit(user_id, id);
CREATE INDEX audit_kind ON audit(kind, id);
"#,
        postgres: r#"
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users(
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT, phone TEXT, password_hash TEXT,
  mfa_prompt_skipped BOOLEAN NOT NULL DEFAULT FALSE, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE organizations(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, require_mfa BOOLEAN NOT NULL);
CREATE TABLE memberships(
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  PRIMARY KEY(user_id, org_id));
CREATE TABLE authenticators(
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL, name TEXT NOT NULL, active BOOLEAN NOT NULL, oob_channel TEXT, pair_id TEXT,
  created_at BIGINT NOT NULL);
CREATE INDEX authenticators_user ON authenticators(user_id);
CREATE TABLE otp_params(
  authenticator_id TEXT PRIMARY KEY REFERENCES authenticators(id) ON DELETE CASCADE,
  algorithm TEXT NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL,
  secret_sealed BYTEA NOT NULL, last_step BIGINT);
CREATE TABLE recovery_codes(
  authenticator_id TEXT NOT NULL REFERENCES authenticators(id) ON DELETE CASCADE,
  code_hash BYTEA NOT NULL, used_at BIGINT);
CREATE INDEX recovery_codes_auth ON recovery_codes(authenticator_id);
CREATE TABLE tokens(
  id TEXT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, kind TEXT NOT NULL,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE, scopes TEXT NOT NULL, name TEXT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT);
CREATE TABLE failures(
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, factor TEXT NOT NULL,
  count BIGINT NOT NULL, last_failure_at BIGINT NOT NULL, PRIMARY KEY(user_id, factor));
CREATE TABLE audit(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, user_id TEXT,
  kind TEXT NOT NULL, authenticator_id TEXT, detail TEXT NOT NULL);
CREATE INDEX audit_user ON audit(user_id, id);
CREATE INDEX audit_kind ON audit(kind, id);
"#,
    },
    Step {
        what: "device factor: enrollment offers, devices, nonces, pushes, pauses, QR logins",
        sqlite: r#"
CREATE TABLE device_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE device_enroll_offers (
    id TEXT PRIMARY KEY, code_hash BLOB NOT NULL UNIQUE, user_id TEXT NOT NULL,
    username TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    enrollment_id TEXT UNIQUE, challenge TEXT, used_at INTEGER);
CREATE TABLE device_devices (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, platform TEXT NOT NULL,
    algorithm TEXT NOT NULL, public_key BLOB NOT NULL, user_verification INTEGER NOT NULL,
    created_at INTEGER NOT NULL);
CREATE INDEX device_devices_user ON device_devices(user_id);
CREATE TABLE device_nonces (
    device_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce));
CREATE TABLE device_push (
    transaction_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, nonce TEXT NOT NULL,
    number INTEGER NOT NULL, number_choices TEXT NOT NULL, context TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL,
    device_id TEXT, reason TEXT, decided_at INTEGER);
CREATE INDEX device_push_user ON device_push(user_id, state, created_at);
CREATE TABLE device_pauses (user_id TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE device_qr_sessions (
    lsi TEXT PRIMARY KEY, dsi_hash BLOB NOT NULL, context TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL,
    user_id TEXT, device_id TEXT, decided_at INTEGER);
CREATE TABLE device_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT, kind TEXT NOT NULL, device_id TEXT,
    detail TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX device_audit_user ON device_audit(user_id, id);
"#,
        postgres: r#"
CREATE TABLE device_meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE device_enroll_offers (
    id TEXT PRIMARY KEY, code_hash BYTEA NOT NULL UNIQUE, user_id TEXT NOT NULL,
    username TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
    enrollment_id TEXT UNIQUE, challenge TEXT, used_at BIGINT);
CREATE TABLE device_devices (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, platform TEXT NOT NULL,
    algorithm TEXT NOT NULL, public_key BYTEA NOT NULL, user_verification BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL);
CREATE INDEX device_devices_user ON device_devices(user_id);
CREATE TABLE device_nonces (
    device_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce));
CREATE TABLE device_push (
    transaction_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, nonce TEXT NOT NULL,
    number BIGINT NOT NULL, number_choices TEXT NOT NULL, context TEXT NOT NULL,
    created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, state TEXT NOT NULL,
    device_id TEXT, reason TEXT, decided_at BIGINT);
CREATE INDEX device_push_user ON device_push(user_id, state, created_at);
CREATE TABLE device_pauses (user_id TEXT PRIMARY KEY, until BIGINT NOT NULL);
CREATE TABLE device_qr_sessions (
    lsi TEXT PRIMARY KEY, dsi_hash BYTEA NOT NULL, context TEXT NOT NULL,
    created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, state TEXT NOT NULL,
    user_id TEXT, device_id TEXT, decided_at BIGINT);
CREATE TABLE device_audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id TEXT, kind TEXT NOT NULL,
    device_id TEXT, detail TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX device_audit_user ON device_audit(user_id, id);
"#,
    },
    Step {
        what: "an approval completes one sign-in: the grant that uses it stamps it",
        sqlite: "ALTER TABLE device_push ADD COLUMN consumed_at INTEGER;",
        postgres: "ALTER TABLE device_push ADD COLUMN consumed_at BIGINT;",
    },
    Step {
        what: "the device's last network, and what each device was told of the requester's",
        sqlite: r#"
ALTER TABLE device_devices ADD COLUMN last_ip TEXT;
ALTER TABLE device_push ADD COLUMN device_networks TEXT NOT NULL DEFAULT '{}';
ALTER TABLE device_qr_sessions ADD COLUMN device_networks TEXT NOT NULL DEFAULT '{}';
"#,
        postgres: r#"
ALTER TABLE device_devices ADD COLUMN last_ip TEXT;
ALTER TABLE device_push ADD COLUMN device_networks TEXT NOT NULL DEFAULT '{}';
ALTER TABLE device_qr_sessions ADD COLUMN device_networks TEXT NOT NULL DEFAULT '{}';
"#,
    },
    Step {
        what: "pending pushes are counted at every metrics scrape: only pending rows indexed",
        sqlite:
            "CREATE INDEX device_push_pending ON device_push(expires_at) WHERE state = 'pending';",
        postgres:
            "CREATE INDEX device_push_pending ON device_push(expires_at) WHERE state = 'pending';",
    },
    Step {
        what: "one audit log: the device factor's events join the others (under the device's push authenticator)",
        sqlite: r#"
INSERT INTO audit (at, user_id, kind, authenticator_id, detail)
  SELECT at, user_id, kind, CASE WHEN device_id IS NULL THEN NULL ELSE 'push|' || device_id END, detail
  FROM device_audit ORDER BY id;
DROP TABLE device_audit;
"#,
        postgres: r#"
INSERT INTO audit (at, user_id, kind, authenticator_id, detail)
  SELECT at, user_id, kind, CASE WHEN device_id IS NULL THEN NULL ELSE 'push|' || device_id END, detail
  FROM device_audit ORDER BY id;
DROP TABLE device_audit;
"#,
    },
    Step {
        what: "sign-in policies (every version kept, with who wrote it and when); users' groups",
        sqlite: r#"
CREATE TABLE policy_versions(
  version INTEGER PRIMARY KEY, document TEXT NOT NULL, author TEXT NOT NULL,
  created_at INTEGER NOT NULL);
ALTER TABLE users ADD COLUMN user_groups TEXT NOT NULL DEFAULT '';
"#,
        postgres: r#"
CREATE TABLE policy_versions(
  version BIGINT PRIMARY KEY, document TEXT NOT NULL, author TEXT NOT NULL,
  created_at BIGINT NOT NULL);
ALTER TABLE users ADD COLUMN user_groups TEXT NOT NULL DEFAULT '';
"#,
    },
    Step {
        what: "applications (OpenID Connect clients): redirect URIs, hashed secrets",
        sqlite: r#"
CREATE TABLE applications(
  client_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, secret_hash BLOB,
  redirect_uris TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
"#,
        postgres: r#"
CREATE TABLE applications(
  client_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, secret_hash BYTEA,
  redirect_uris TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
"#,
    },
    Step {
        what: "the hosted sign-in: flows, global sessions, known browsers; sign-in counts and last use",
        sqlite: r#"
ALTER TABLE users ADD COLUMN sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;
ALTER TABLE authenticators ADD COLUMN last_used_at INTEGER;
CREATE TABLE signin_flows(
  id_hash BLOB PRIMARY KEY, browser_hash BLOB NOT NULL, document TEXT NOT NULL,
  revision INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX signin_flows_expiry ON signin_flows(expires_at);
CREATE TABLE sessions(
  id TEXT PRIMARY KEY, id_hash BLOB NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, methods TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  revoked_at INTEGER, user_agent TEXT NOT NULL, ip TEXT NOT NULL);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE browsers(
  browser_hash BLOB NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  last_sign_in_at INTEGER NOT NULL, remembered_at INTEGER, PRIMARY KEY(browser_hash, user_id));
"#,
        postgres: r#"
ALTER TABLE users ADD COLUMN sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
ALTER TABLE authenticators ADD COLUMN last_used_at BIGINT;
CREATE TABLE signin_flows(
  id_hash BYTEA PRIMARY KEY, browser_hash BYTEA NOT NULL, document TEXT NOT NULL,
  revision BIGINT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX signin_flows_expiry ON signin_flows(expires_at);
CREATE TABLE sessions(
  id TEXT PRIMARY KEY, id_hash BYTEA NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, methods TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
  revoked_at BIGINT, user_agent TEXT NOT NULL, ip TEXT NOT NULL);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE browsers(
  browser_hash BYTEA NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  last_sign_in_at BIGINT NOT NULL, remembered_at BIGINT, PRIMARY KEY(browser_hash, user_id));
"#,
    },
    Step {
        what: "the OpenID Connect provider: signing keys (sealed; one current), authorization codes (hashed, single use)",
        sqlite: r#"
CREATE TABLE oidc_signing_keys(
  kid TEXT PRIMARY KEY, alg TEXT NOT NULL, private_sealed BLOB NOT NULL, public_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL, retire_at INTEGER);
CREATE UNIQUE INDEX oidc_signing_keys_current ON oidc_signing_keys((retire_at IS NULL))
  WHERE retire_at IS NULL;
CREATE TABLE oidc_codes(
  code_hash BLOB PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES applications(client_id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  scope TEXT NOT NULL, nonce TEXT, code_challenge TEXT NOT NULL, auth_time INTEGER NOT NULL,
  amr TEXT NOT NULL, acr TEXT NOT NULL, session_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER, access_token_id TEXT);
CREATE INDEX oidc_codes_expires ON oidc_codes(expires_at);
"#,
        postgres: r#"
CREATE TABLE oidc_signing_keys(
  kid TEXT PRIMARY KEY, alg TEXT NOT NULL, private_sealed BYTEA NOT NULL, public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL, retire_at BIGINT);
CREATE UNIQUE INDEX oidc_signing_keys_current ON oidc_signing_keys((retire_at IS NULL))
  WHERE retire_at IS NULL;
CREATE TABLE oidc_codes(
  code_hash BYTEA PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES applications(client_id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  scope TEXT NOT NULL, nonce TEXT, code_challenge TEXT NOT NULL, auth_time BIGINT NOT NULL,
  amr TEXT NOT NULL, acr TEXT NOT NULL, session_id TEXT NOT NULL, created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL, used_at BIGINT, access_token_id TEXT);
CREATE INDEX oidc_codes_expires ON oidc_codes(expires_at);
"#,
    },
    Step {
        what: "codes sent by email, SMS and voice (sealed, single use, counted for send limits); notification preferences",
        sqlite: r#"
CREATE TABLE oob_codes(
  id_hash BLOB PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  authenticator_id TEXT NOT NULL REFERENCES authenticators(id) ON DELETE CASCADE,
  channel TEXT NOT NULL, purpose TEXT NOT NULL, destination_hash BLOB NOT NULL,
  flow_hash BLOB, flow_sealed BLOB, code_sealed BLOB NOT NULL, attempts_left INTEGER NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER,
  voided INTEGER NOT NULL DEFAULT 0);
CREATE INDEX oob_codes_user ON oob_codes(user_id, created_at);
CREATE INDEX oob_codes_destination ON oob_codes(destination_hash, created_at);
CREATE INDEX oob_codes_created ON oob_codes(created_at);
ALTER TABLE users ADD COLUMN notify TEXT;
"#,
        postgres: r#"
CREATE TABLE oob_codes(
  id_hash BYTEA PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  authenticator_id TEXT NOT NULL REFERENCES authenticators(id) ON DELETE CASCADE,
  channel TEXT NOT NULL, purpose TEXT NOT NULL, destination_hash BYTEA NOT NULL,
  flow_hash BYTEA, flow_sealed BYTEA, code_sealed BYTEA NOT NULL, attempts_left BIGINT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT,
  voided BOOLEAN NOT NULL DEFAULT FALSE);
CREATE INDEX oob_codes_user ON oob_codes(user_id, created_at);
CREATE INDEX oob_codes_destination ON oob_codes(destination_hash, created_at);
CREATE INDEX oob_codes_created ON oob_codes(created_at);
ALTER TABLE users ADD COLUMN notify TEXT;
"#,
    },
    Step {
        what: "typing profiles (sealed), reset when the password is set",
        sqlite: r#"
CREATE TABLE typing_profiles(
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  profile_sealed BLOB NOT NULL, updated_at INTEGER NOT NULL);
CREATE TRIGGER typing_profiles_password_set AFTER UPDATE OF password_hash ON users
BEGIN
  DELETE FROM typing_profiles WHERE user_id = NEW.id;
END;
"#,
        postgres: r#"
CREATE TABLE typing_profiles(
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  profile_sealed BYTEA NOT NULL, updated_at BIGINT NOT NULL);
CREATE FUNCTION typing_profiles_password_set() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  DELETE FROM typing_profiles WHERE user_id = NEW.id;
  RETURN NULL;
END;
$f$;
CREATE TRIGGER typing_profiles_password_set AFTER UPDATE OF password_hash ON users
  FOR EACH ROW EXECUTE FUNCTION typing_profiles_password_set();
"#,
    },
    Step {
        what: "passkeys (WebAuthn): one credential row per passkey authenticator (sealed, unique credential id, compare-and-set counter); pending registration ceremonies",
        sqlite: r#"
CREATE TABLE passkeys(
  authenticator_id TEXT PRIMARY KEY REFERENCES authenticators(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_id BLOB NOT NULL UNIQUE, user_handle BLOB NOT NULL, credential_sealed BLOB NOT NULL,
  counter INTEGER NOT NULL, backup_eligible INTEGER NOT NULL, backup_state INTEGER NOT NULL,
  user_verified INTEGER NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER);
CREATE INDEX passkeys_user ON passkeys(user_id);
CREATE TABLE passkey_ceremonies(
  id_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies(expires_at);
"#,
        postgres: r#"
CREATE TABLE passkeys(
  authenticator_id TEXT PRIMARY KEY REFERENCES authenticators(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_id BYTEA NOT NULL UNIQUE, user_handle BYTEA NOT NULL, credential_sealed BYTEA NOT NULL,
  counter BIGINT NOT NULL, backup_eligible BOOLEAN NOT NULL, backup_state BOOLEAN NOT NULL,
  user_verified BOOLEAN NOT NULL, created_at BIGINT NOT NULL, last_used_at BIGINT);
CREATE INDEX passkeys_user ON passkeys(user_id);
CREATE TABLE passkey_ceremonies(
  id_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL, state TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies(expires_at);
"#,
    },
    Step {
        what: "users.locale: the language a user chose for pages and messages (en, ja; NULL: the browser's)",
        sqlite: "ALTER TABLE users ADD COLUMN locale TEXT;",
        postgres: "ALTER TABLE users ADD COLUMN locale TEXT;",
    },
    Step {
        what: "audit log filtered by time (GET /api/v2/logs?from=&to=, the export)",
        sqlite: "CREATE INDEX audit_at ON audit(at, id);",
        postgres: "CREATE INDEX audit_at ON audit(at, id);",
    },
    Step {
        what: "users.blocked, users.blocked_at: an administrator locked the account (no sign-in until unlocked)",
        sqlite: "ALTER TABLE users ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;\nALTER TABLE users ADD COLUMN blocked_at INTEGER;",
        postgres: "ALTER TABLE users ADD COLUMN blocked BOOLEAN NOT NULL DEFAULT FALSE;\nALTER TABLE users ADD COLUMN blocked_at BIGINT;",
    },
];

/// Applies the missing steps to a SQLite database, each in its own transaction with its
/// version, so a crash between steps leaves a database at a known version.
///
/// Databases of earlier releases kept the device tables' version apart (a
/// `device_migrations` table beside `user_version` 1): they are carried over to the one
/// numbering (device step *n* is step *n* + 1) in the same transaction that drops that table.
pub fn sqlite(conn: &mut rusqlite::Connection) -> crate::Result<()> {
    let tx = conn.transaction()?;
    let mut version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let legacy: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'device_migrations')",
        [],
        |r| r.get(0),
    )?;
    if legacy {
        let device: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM device_migrations",
            [],
            |r| r.get(0),
        )?;
        if device > 4 {
            return Err(crate::Error::Config(too_new(device + 1)));
        }
        if device > 0 {
            if version == 0 {
                // Device tables without the main ones (never left by a server, but possible):
                // step 1 adds them, as it would have first.
                tx.execute_batch(STEPS.first().map_or("", |s| s.sqlite))?;
            }
            version = device + 1;
        }
        tx.execute_batch("DROP TABLE device_migrations")?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    let done = usize::try_from(version).unwrap_or(usize::MAX);
    if done > STEPS.len() {
        return Err(crate::Error::Config(too_new(version)));
    }
    for (n, step) in STEPS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(step.sqlite)?;
        tx.pragma_update(None, "user_version", n + 1)?;
        tx.commit()?;
        tracing::debug!(version = n + 1, what = step.what, "schema step applied");
    }
    Ok(())
}

/// The version a SQLite database records.
pub fn sqlite_version(conn: &rusqlite::Connection) -> crate::Result<u32> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(u32::try_from(v).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    fn table_exists(conn: &rusqlite::Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [name],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn version(c: &rusqlite::Connection) -> i64 {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_every_step_and_a_second_run_changes_nothing() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        sqlite(&mut c).unwrap();
        assert_eq!(version(&c), i64::from(latest()));
        sqlite(&mut c).unwrap();
        assert_eq!(version(&c), i64::from(latest()));
        // The last step's index exists.
        let n: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'device_push_pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn an_earlier_release_with_a_separate_device_numbering_is_carried_over() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        // As the previous release left it: main schema at 1, device steps 1–3 in their table.
        c.execute_batch(STEPS[0].sqlite).unwrap();
        c.execute_batch("PRAGMA user_version = 1").unwrap();
        for s in &STEPS[1..4] {
            c.execute_batch(s.sqlite).unwrap();
        }
        c.execute_batch(
            "CREATE TABLE device_migrations (version INTEGER PRIMARY KEY);
             INSERT INTO device_migrations VALUES (1), (2), (3);
             INSERT INTO audit (at, user_id, kind, authenticator_id, detail)
               VALUES (1, 'u1', 'verify_ok', 'otp_1', 'otp');
             INSERT INTO device_audit (user_id, kind, device_id, detail, at)
               VALUES ('u1', 'push.created', 'dev_1', 'tx', 2), (NULL, 'device.removed', NULL, '', 3);",
        )
        .unwrap();
        sqlite(&mut c).unwrap();
        assert_eq!(version(&c), i64::from(latest()));
        assert!(!table_exists(&c, "device_migrations"));
        // One audit log: the device's events follow the others, under its push authenticator.
        assert!(!table_exists(&c, "device_audit"));
        let rows: Vec<(String, Option<String>)> = c
            .prepare("SELECT kind, authenticator_id FROM audit ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("verify_ok".to_owned(), Some("otp_1".to_owned())),
                ("push.created".to_owned(), Some("push|dev_1".to_owned())),
                ("device.removed".to_owned(), None),
            ]
        );
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        sqlite(&mut c).unwrap();
        c.execute_batch(&format!("PRAGMA user_version = {}", latest() + 1))
            .unwrap();
        let e = sqlite(&mut c).unwrap_err().to_string();
        assert!(e.contains("newer than this server"), "{e}");
        assert_eq!(version(&c), i64::from(latest()) + 1);
    }
}
