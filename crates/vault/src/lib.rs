//! tessera-vault: the local encrypted store of accounts, used by the desktop app and the CLI.
//!
//! # On disk
//! One SQLite file (WAL journal, `synchronous=FULL`, mode 0600) marked with its own
//! `application_id`, with a versioned schema (`user_version`, migrations applied in order).
//! Each account is one row whose only readable columns are its id, sort order and times; the
//! account itself — issuer, name, secret and the rest — is a sealed blob (see [`seal`]):
//! AES-256-GCM under a random 256-bit vault key, bound to the vault and the row by its
//! additional data. The file alone reveals no secret and no account name.
//!
//! # The vault key
//! Either in the OS keyring ([`KeySource::Keyring`], the default for desktop use: service
//! `tessera`, user `vault-<id>`), or wrapped by a key derived from a passphrase with Argon2id
//! ([`KeySource::Passphrase`], for headless use, testers and managed installs).
//!
//! # Durability
//! Every write is one SQLite transaction; HOTP counter advance is a read-modify-write inside
//! one `BEGIN IMMEDIATE` transaction. A process killed at any instant leaves the old or the
//! new state. A new vault is built in a temporary file and linked into place only when
//! complete, so a crash during creation leaves nothing half-made. No failure to open is ever
//! answered by overwriting or recreating the file.

mod error;
mod key;
pub mod seal;

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tessera_core::account::Code;
use tessera_core::{Account, Clock, OtpType};
use zeroize::Zeroizing;

pub use error::{Error, Result};
pub use key::{KdfParams, KeySource, Passphrase, KEYRING_SERVICE};

use seal::{Key, OpenError};
use tessera_core::backup::AccountRecord as Record;

/// `PRAGMA application_id` of a Tessera vault ("TESV").
pub const APPLICATION_ID: i32 = 0x5445_5356;
/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const CHECK_PLAINTEXT: &[u8] = b"tessera vault key check v1";

/// Schema migrations; entry `n` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, opaque items, metadata.
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
     CREATE TABLE accounts (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         sort_order INTEGER NOT NULL,
         created_at INTEGER NOT NULL,
         last_used_at INTEGER,
         sealed BLOB NOT NULL
     );
     CREATE TABLE items (
         kind TEXT NOT NULL,
         key TEXT NOT NULL,
         updated_at INTEGER NOT NULL,
         sealed BLOB NOT NULL,
         PRIMARY KEY (kind, key)
     ) WITHOUT ROWID;",
];

/// An account as stored: its id and bookkeeping beside the account itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    /// Stable id, never reused.
    pub id: i64,
    /// The account.
    pub account: Account,
    /// User-chosen order (ascending); favourites are listed first regardless.
    pub sort_order: i64,
    /// When it was added (Unix seconds).
    pub created_at: u64,
    /// When a code was last taken from it (Unix seconds).
    pub last_used_at: Option<u64>,
}

/// An open vault.
pub struct Vault {
    conn: Connection,
    key: Key,
    id: String,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    source: &'static str,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The default vault location: `<data dir>/tessera/vault.sqlite3`
/// (`~/.local/share/tessera/vault.sqlite3` on Linux).
pub fn default_path() -> Result<PathBuf> {
    directories::ProjectDirs::from("dev", "tessera", "tessera")
        .map(|d| d.data_dir().join("vault.sqlite3"))
        .ok_or_else(|| Error::Storage("no home directory to put the vault in".into()))
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn no_rng() -> Error {
    Error::Storage("the OS random number generator failed".into())
}

impl Vault {
    /// Whether a file (of any kind) exists at `path`.
    pub fn exists(path: &Path) -> bool {
        path.exists()
    }

    /// How the vault at `path` is unlocked (`"keyring"` or `"passphrase"`), read from its
    /// metadata without any key: the lock screen asks for a passphrase only when it needs one.
    pub fn key_source_of(path: &Path) -> Result<&'static str> {
        let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let source: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'key_source'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match source.as_deref() {
            Some(b"keyring") => Ok("keyring"),
            Some(b"passphrase") => Ok("passphrase"),
            Some(_) => Err(Error::Corrupt("unknown key source".into())),
            None => Err(Error::Corrupt("metadata `key_source` is missing".into())),
        }
    }

    /// Creates a new, empty vault protected by `source` with default KDF parameters.
    pub fn create(path: &Path, source: &KeySource, clock: Arc<dyn Clock>) -> Result<Vault> {
        Vault::create_with(path, source, KdfParams::default(), clock)
    }

    /// Creates a new, empty vault. Refuses if anything exists at `path`.
    pub fn create_with(
        path: &Path,
        source: &KeySource,
        kdf: KdfParams,
        clock: Arc<dyn Clock>,
    ) -> Result<Vault> {
        if path.exists() {
            return Err(Error::AlreadyExists(path.to_owned()));
        }
        if let KeySource::Passphrase(p) = source {
            if p.as_bytes().is_empty() {
                return Err(Error::Weak("the passphrase is empty".into()));
            }
            kdf.check().map_err(Error::Weak)?;
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir)?;

        let id = hex(&seal::random::<16>().ok_or_else(no_rng)?);
        let vault_key = seal::random_key().ok_or_else(no_rng)?;
        let key = Key::from_bytes(vault_key.as_ref()).ok_or_else(no_rng)?;
        let check = seal::seal(&key, &aad(&id, "check", ""), CHECK_PLAINTEXT).ok_or_else(no_rng)?;

        let mut meta: Vec<(&str, Vec<u8>)> = vec![
            ("vault_id", id.as_bytes().to_vec()),
            ("key_source", source.kind().as_bytes().to_vec()),
            ("check", check),
        ];
        match source {
            KeySource::Keyring => key::keyring_store(&id, vault_key.as_ref())?,
            KeySource::Passphrase(pass) => {
                let salt = seal::random::<16>().ok_or_else(no_rng)?;
                let kek_bytes = kdf.derive(pass, &salt)?;
                let kek = Key::from_bytes(kek_bytes.as_ref()).ok_or_else(no_rng)?;
                let wrapped = seal::seal(&kek, &aad(&id, "vault-key", ""), vault_key.as_ref())
                    .ok_or_else(no_rng)?;
                let kdf_json = serde_json::to_vec(&kdf)
                    .map_err(|e| Error::Storage(format!("encoding KDF parameters: {e}")))?;
                meta.push(("kdf", kdf_json));
                meta.push(("salt", salt.to_vec()));
                meta.push(("wrapped_key", wrapped));
            }
        }

        // Build the whole file under a temporary name, then link it into place (link fails if
        // something appeared at `path` meanwhile: never clobber).
        let tmp = dir.join(format!(".{}.tmp-{}", file_name(path), &id));
        let built = build_file(&tmp, &meta).and_then(|()| {
            fs::hard_link(&tmp, path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::AlreadyExists(path.to_owned())
                } else {
                    Error::Io {
                        context: format!("placing the new vault at {}", path.display()),
                        source: e,
                    }
                }
            })
        });
        let _ = fs::remove_file(&tmp);
        if let Err(e) = built {
            if matches!(source, KeySource::Keyring) {
                let _ = key::keyring_delete(&id);
            }
            return Err(e);
        }
        sync_dir(&dir);
        Vault::open(path, source, clock)
    }

    /// Opens an existing vault. Never creates, repairs or rewrites one.
    pub fn open(path: &Path, source: &KeySource, clock: Arc<dyn Clock>) -> Result<Vault> {
        let mut conn = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerVersion {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn, version)?;

        let get = |name: &str| -> Result<Vec<u8>> {
            conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| Error::Corrupt(format!("metadata `{name}` is missing")))
        };
        let id = String::from_utf8(get("vault_id")?)
            .map_err(|_| Error::Corrupt("the vault id is not text".into()))?;
        let stored_source = match get("key_source")?.as_slice() {
            b"keyring" => "keyring",
            b"passphrase" => "passphrase",
            _ => return Err(Error::Corrupt("unknown key source".into())),
        };
        if stored_source != source.kind() {
            return Err(Error::WrongKeySource {
                expected: stored_source,
                given: source.kind(),
            });
        }
        let vault_key: Zeroizing<Vec<u8>> = match source {
            KeySource::Keyring => key::keyring_load(&id)?,
            KeySource::Passphrase(pass) => {
                let kdf: KdfParams = serde_json::from_slice(&get("kdf")?)
                    .map_err(|_| Error::Corrupt("the KDF parameters are unreadable".into()))?;
                kdf.check()
                    .map_err(|e| Error::Corrupt(format!("refusing stored KDF parameters: {e}")))?;
                let salt = get("salt")?;
                let kek_bytes = kdf.derive(pass, &salt)?;
                let kek = Key::from_bytes(kek_bytes.as_ref()).ok_or_else(no_rng)?;
                match seal::open(&kek, &aad(&id, "vault-key", ""), &get("wrapped_key")?) {
                    Ok(k) => k,
                    Err(OpenError::Auth) => return Err(Error::WrongPassphrase),
                    Err(OpenError::Format) => {
                        return Err(Error::Corrupt("the wrapped key is damaged".into()))
                    }
                }
            }
        };
        let key = Key::from_bytes(&vault_key)
            .ok_or_else(|| Error::Corrupt("the vault key has the wrong length".into()))?;
        match seal::open(&key, &aad(&id, "check", ""), &get("check")?) {
            Ok(p) if p.as_slice() == CHECK_PLAINTEXT => {}
            _ => {
                return Err(Error::Corrupt(
                    "the key does not open this vault's check value".into(),
                ))
            }
        }
        Ok(Vault {
            conn,
            key,
            id,
            path: path.to_owned(),
            clock,
            source: stored_source,
        })
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The vault's random id (also its keyring entry's user name, `vault-<id>`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `"keyring"` or `"passphrase"`.
    pub fn key_source(&self) -> &'static str {
        self.source
    }

    /// Every account: favourites first, then by sort order, then by id.
    pub fn list(&self) -> Result<Vec<StoredAccount>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sort_order, created_at, last_used_at, sealed FROM accounts",
        )?;
        let rows = stmt.query_map([], row_parts)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(self.unseal_row(r?)?);
        }
        out.sort_by(|a, b| {
            b.account
                .favourite
                .cmp(&a.account.favourite)
                .then(a.sort_order.cmp(&b.sort_order))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// One account by id.
    pub fn get(&self, id: i64) -> Result<StoredAccount> {
        let parts = self
            .conn
            .query_row(
                "SELECT id, sort_order, created_at, last_used_at, sealed FROM accounts WHERE id = ?1",
                [id],
                row_parts,
            )
            .optional()?
            .ok_or(Error::NotFound(id))?;
        self.unseal_row(parts)
    }

    /// Accounts a query names: `#7` or `7` is an id (if it exists); otherwise a
    /// case-insensitive substring of the issuer, the name or `issuer:name`.
    pub fn find(&self, query: &str) -> Result<Vec<StoredAccount>> {
        let q = query.trim();
        let as_id = q.strip_prefix('#').unwrap_or(q);
        if !as_id.is_empty() && as_id.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = as_id.parse::<i64>() {
                match self.get(id) {
                    Ok(s) => return Ok(vec![s]),
                    Err(Error::NotFound(_)) if !q.starts_with('#') => {}
                    Err(Error::NotFound(_)) => return Ok(Vec::new()),
                    Err(e) => return Err(e),
                }
            }
        }
        let needle = q.to_lowercase();
        Ok(self
            .list()?
            .into_iter()
            .filter(|s| {
                let a = &s.account;
                a.issuer.to_lowercase().contains(&needle)
                    || a.name.to_lowercase().contains(&needle)
                    || format!("{}:{}", a.issuer, a.name)
                        .to_lowercase()
                        .contains(&needle)
            })
            .collect())
    }

    /// Ids of accounts with the same secret, issuer and name.
    pub fn duplicates_of(&self, account: &Account) -> Result<Vec<i64>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|s| s.account.is_duplicate_of(account))
            .map(|s| s.id)
            .collect())
    }

    /// Adds an account; returns its id.
    pub fn insert(&mut self, account: &Account) -> Result<i64> {
        self.insert_many(std::slice::from_ref(account))
            .map(|ids| ids.first().copied().unwrap_or_default())
    }

    /// Adds accounts in one transaction: all or none. Every account is validated first.
    pub fn insert_many(&mut self, accounts: &[Account]) -> Result<Vec<i64>> {
        for a in accounts {
            a.validate()?;
        }
        let now = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut order: i64 = tx.query_row(
            "SELECT COALESCE(MAX(sort_order), 0) FROM accounts",
            [],
            |r| r.get(0),
        )?;
        let mut ids = Vec::with_capacity(accounts.len());
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO accounts (sort_order, created_at, sealed) VALUES (?1, ?2, x'')",
            )?;
            let mut set = tx.prepare_cached("UPDATE accounts SET sealed = ?1 WHERE id = ?2")?;
            for a in accounts {
                order = order.saturating_add(1);
                ins.execute(params![order, now])?;
                let id = tx.last_insert_rowid();
                let sealed = seal_account(&self.key, &self.id, id, a)?;
                set.execute(params![sealed, id])?;
                ids.push(id);
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Replaces an account's fields (all of them, secret included).
    pub fn update(&mut self, id: i64, account: &Account) -> Result<()> {
        account.validate()?;
        let sealed = seal_account(&self.key, &self.id, id, account)?;
        let n = self.conn.execute(
            "UPDATE accounts SET sealed = ?1 WHERE id = ?2",
            params![sealed, id],
        )?;
        if n == 0 {
            return Err(Error::NotFound(id));
        }
        Ok(())
    }

    /// Removes an account.
    pub fn remove(&mut self, id: i64) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NotFound(id));
        }
        Ok(())
    }

    /// Takes the next HOTP code: returns the code for the stored counter and advances the
    /// counter, in one transaction (two processes never get the same code).
    pub fn next_hotp(&mut self, id: i64) -> Result<Code> {
        let now = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let parts = tx
            .query_row(
                "SELECT id, sort_order, created_at, last_used_at, sealed FROM accounts WHERE id = ?1",
                [id],
                row_parts,
            )
            .optional()?
            .ok_or(Error::NotFound(id))?;
        let mut stored = unseal_row(&self.key, &self.id, parts)?;
        if stored.account.otp_type != OtpType::Hotp {
            return Err(Error::Invalid(tessera_core::Error::invalid(
                tessera_core::error::Field::Type,
                "not an HOTP account",
            )));
        }
        let code = stored.account.code_at(now)?;
        stored.account.counter = stored.account.counter.checked_add(1).ok_or_else(|| {
            Error::Invalid(tessera_core::Error::invalid(
                tessera_core::error::Field::Counter,
                "the counter is at its maximum",
            ))
        })?;
        let sealed = seal_account(&self.key, &self.id, id, &stored.account)?;
        tx.execute(
            "UPDATE accounts SET sealed = ?1, last_used_at = ?2 WHERE id = ?3",
            params![sealed, now, id],
        )?;
        tx.commit()?;
        Ok(code)
    }

    /// The current code of a TOTP/Steam account (HOTP: see [`Vault::next_hotp`]), recording
    /// the use.
    pub fn code(&mut self, id: i64) -> Result<Code> {
        let stored = self.get(id)?;
        if stored.account.otp_type == OtpType::Hotp {
            return self.next_hotp(id);
        }
        let code = stored.account.code_at(self.now())?;
        self.touch(id)?;
        Ok(code)
    }

    /// Records that a code was taken now.
    pub fn touch(&mut self, id: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE accounts SET last_used_at = ?1 WHERE id = ?2",
            params![self.now(), id],
        )?;
        if n == 0 {
            return Err(Error::NotFound(id));
        }
        Ok(())
    }

    /// Sets an account's place in the list.
    pub fn set_sort_order(&mut self, id: i64, order: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE accounts SET sort_order = ?1 WHERE id = ?2",
            params![order, id],
        )?;
        if n == 0 {
            return Err(Error::NotFound(id));
        }
        Ok(())
    }

    /// Stores an opaque sealed item (a device key, a setting) under `(kind, key)`, replacing
    /// any previous value. `kind` and `key` are stored readable; the value is sealed.
    pub fn put_item(&mut self, kind: &str, key: &str, value: &[u8]) -> Result<()> {
        let sealed = seal::seal(
            &self.key,
            &aad(&self.id, "item", &item_place(kind, key)),
            value,
        )
        .ok_or_else(no_rng)?;
        self.conn.execute(
            "INSERT INTO items (kind, key, updated_at, sealed) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, key) DO UPDATE SET updated_at = excluded.updated_at, sealed = excluded.sealed",
            params![kind, key, self.now(), sealed],
        )?;
        Ok(())
    }

    /// Reads an item.
    pub fn get_item(&self, kind: &str, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT sealed FROM items WHERE kind = ?1 AND key = ?2",
                params![kind, key],
                |r| r.get(0),
            )
            .optional()?;
        sealed.map(|s| self.open_item(kind, key, &s)).transpose()
    }

    /// Every item of a kind, by key.
    pub fn list_items(&self, kind: &str) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, sealed FROM items WHERE kind = ?1 ORDER BY key")?;
        let rows = stmt.query_map([kind], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (k, s) = r?;
            let v = self.open_item(kind, &k, &s)?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// Deletes an item; whether it existed.
    pub fn delete_item(&mut self, kind: &str, key: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "DELETE FROM items WHERE kind = ?1 AND key = ?2",
            params![kind, key],
        )? > 0)
    }

    fn open_item(&self, kind: &str, key: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        seal::open(
            &self.key,
            &aad(&self.id, "item", &item_place(kind, key)),
            sealed,
        )
        .map_err(|_| Error::Corrupt(format!("item {kind}/{key} fails authentication")))
    }

    fn unseal_row(&self, parts: RowParts) -> Result<StoredAccount> {
        unseal_row(&self.key, &self.id, parts)
    }

    fn now(&self) -> u64 {
        self.clock.now_unix()
    }
}

type RowParts = (i64, i64, i64, Option<i64>, Vec<u8>);

fn row_parts(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowParts> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn unseal_row(key: &Key, vault_id: &str, parts: RowParts) -> Result<StoredAccount> {
    let (id, sort_order, created_at, last_used_at, sealed) = parts;
    let plain = seal::open(key, &aad(vault_id, "account", &id.to_string()), &sealed)
        .map_err(|_| Error::Corrupt(format!("account #{id} fails authentication")))?;
    let record: Record = serde_json::from_slice(&plain)
        .map_err(|_| Error::Corrupt(format!("account #{id} is unreadable")))?;
    let account = record
        .to_account()
        .map_err(|e| Error::Corrupt(format!("account #{id}: {e}")))?;
    Ok(StoredAccount {
        id,
        account,
        sort_order,
        created_at: u64::try_from(created_at).unwrap_or_default(),
        last_used_at: last_used_at.and_then(|t| u64::try_from(t).ok()),
    })
}

fn seal_account(key: &Key, vault_id: &str, id: i64, account: &Account) -> Result<Vec<u8>> {
    let json = Zeroizing::new(
        serde_json::to_vec(&Record::from_account(account))
            .map_err(|e| Error::Storage(format!("encoding an account: {e}")))?,
    );
    seal::seal(key, &aad(vault_id, "account", &id.to_string()), &json).ok_or_else(no_rng)
}

/// Additional data binding a blob to its vault, purpose and place.
fn aad(vault_id: &str, purpose: &str, place: &str) -> Vec<u8> {
    format!("tessera-vault/1\0{vault_id}\0{purpose}\0{place}").into_bytes()
}

fn item_place(kind: &str, key: &str) -> String {
    format!("{}:{kind}\0{key}", kind.len())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vault".into())
}

/// Opens an existing file as a Tessera vault's database: it must be SQLite (checked on the
/// bytes first, so SQLite never touches another kind of file) with our application id.
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
    if !path.exists() {
        return Err(Error::Missing(path.to_owned()));
    }
    let mut head = [0u8; 16];
    let n = fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut head))
        .map_err(io(format!("reading {}", path.display())))?;
    if n < 16 || &head != SQLITE_MAGIC {
        return Err(Error::NotAVault(path.to_owned()));
    }
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app_id != APPLICATION_ID {
        return Err(Error::NotAVault(path.to_owned()));
    }
    Ok(conn)
}

/// Writes a file readable only by its owner (mode 0600 on Unix), completely or not at all:
/// a temporary file beside it, fsynced, then renamed over `path` (`replace`) or hard-linked to
/// it (refusing an existing file, [`Error::AlreadyExists`]). For exports and settings.
pub fn write_private(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| -> Result<()> {
        let mut f = opts
            .open(&tmp)
            .map_err(io(format!("creating {}", tmp.display())))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(io(format!("writing {}", path.display())))?;
        let placed = if replace {
            fs::rename(&tmp, path)
        } else {
            fs::hard_link(&tmp, path)
        };
        placed.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::AlreadyExists(path.to_owned())
            } else {
                Error::Io {
                    context: format!("writing {}", path.display()),
                    source: e,
                }
            }
        })?;
        sync_dir(&dir);
        Ok(())
    })();
    let _ = fs::remove_file(&tmp);
    result
}

fn read_up_to(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match f.read(rest)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn migrate(conn: &mut Connection, from: i64) -> Result<()> {
    if from >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let v = i64::try_from(i).unwrap_or(i64::MAX);
        if v >= from {
            tx.execute_batch(sql)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn build_file(tmp: &Path, meta: &[(&str, Vec<u8>)]) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(tmp)
        .map_err(io(format!("creating {}", tmp.display())))?;
    f.flush().map_err(io("creating the vault"))?;
    drop(f);
    let mut conn = Connection::open_with_flags(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    migrate(&mut conn, 0)?;
    let tx = conn.transaction()?;
    for (name, value) in meta {
        tx.execute(
            "INSERT INTO meta (name, value) VALUES (?1, ?2)",
            params![name, value],
        )?;
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| Error::from(e))?;
    fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io("syncing the new vault"))?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(io(format!("creating directory {}", dir.display())))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Deletes a keyring-protected vault's key from the keyring. For removing a vault for good
/// (after its file is deleted) and for tests.
pub fn forget_keyring_key(vault_id: &str) -> Result<()> {
    key::keyring_delete(vault_id)
}
