//! Storage of the device factor behind [`DeviceStore`], with SQLite tables of its own (all
//! named `device_…`, migrated by their own list so they live beside the server's tables in one
//! database file or in a file of their own).
//!
//! Every state change that must happen once is a compare-and-swap in SQL
//! (`UPDATE … WHERE state = 'pending'`): the row count says who won.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use tessera_core::device::wire::PushContext;
pub use tessera_core::device::wire::PushState;
use tessera_core::device::SignatureAlgorithm;

use crate::device::error::{DeviceError, Result};
use crate::device::network::NetworkCheck;

/// What each device was told about the requester's network, by device id.
pub type DeviceNetworks = BTreeMap<String, NetworkCheck>;

/// An enrollment offer (its code is stored only as a SHA-256 hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollOffer {
    /// Offer id.
    pub id: String,
    /// The user the device will belong to.
    pub user_id: String,
    /// Their name, for display on the device.
    pub username: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; the code is refused from then on.
    pub expires_at: u64,
    /// Set by `enroll/begin`.
    pub enrollment_id: Option<String>,
    /// The challenge the device must sign (set by `enroll/begin`).
    pub challenge: Option<String>,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// `dev_…`
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Name shown to the user and admins.
    pub name: String,
    /// Platform the device reported.
    pub platform: String,
    /// The algorithm registered with the key: the only one its signatures are checked with.
    pub algorithm: SignatureAlgorithm,
    /// The public key.
    pub public_key: Vec<u8>,
    /// Whether user verification gates the key.
    pub user_verification: bool,
    /// Unix seconds.
    pub created_at: u64,
    /// The client IP of the device's most recent authenticated request (or of its enrollment);
    /// `None` until the server has seen one ([`crate::device::network`]).
    pub last_ip: Option<String>,
}

pub(crate) fn parse_push_state(s: &str) -> Result<PushState> {
    PushState::parse(s).ok_or_else(|| DeviceError::Storage(format!("unknown push state `{s}`")))
}

/// A push transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    /// Transaction id (256 bits, base64url).
    pub transaction_id: String,
    /// Whose sign-in this is.
    pub user_id: String,
    /// The nonce the answer must sign.
    pub nonce: String,
    /// The number shown on the sign-in screen.
    pub number: u32,
    /// "Pick one of three": the choices sent to the device (empty: the user types it).
    pub number_choices: Vec<u32>,
    /// What the device shows (without the per-device network fields).
    pub context: PushContext,
    /// The requester's network against each of the user's devices, taken when the push was
    /// created; a device not in the map (enrolled later) is told `unknown`.
    pub device_networks: DeviceNetworks,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// State.
    pub state: PushState,
    /// The device that answered.
    pub device_id: Option<String>,
    /// Why it ended: `approved`, `denied`, `wrong_number`, `not_me`, `expired`.
    pub reason: Option<String>,
}

/// A decision on a push, applied exactly once.
#[derive(Debug, Clone)]
pub struct PushDecision<'a> {
    /// The transaction.
    pub transaction_id: &'a str,
    /// The final state.
    pub state: PushState,
    /// Who answered (none for expiry).
    pub device_id: Option<&'a str>,
    /// Why.
    pub reason: &'static str,
    /// Pause the user's pushes until then ("this wasn't me").
    pub pause_until: Option<u64>,
    /// Unix seconds.
    pub now: u64,
}

/// Where a QR-login session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QrState {
    /// Waiting for a device.
    Pending,
    /// A device approved; the browser may redeem once.
    Approved,
    /// A device denied.
    Denied,
    /// The browser redeemed it (signed in).
    Redeemed,
    /// Nobody answered in time.
    Expired,
}

impl QrState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            QrState::Pending => "pending",
            QrState::Approved => "approved",
            QrState::Denied => "denied",
            QrState::Redeemed => "redeemed",
            QrState::Expired => "expired",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => QrState::Pending,
            "approved" => QrState::Approved,
            "denied" => QrState::Denied,
            "redeemed" => QrState::Redeemed,
            "expired" => QrState::Expired,
            other => return Err(DeviceError::Storage(format!("unknown QR state `{other}`"))),
        })
    }
}

/// A QR-login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSession {
    /// The login-session index (in the QR).
    pub lsi: String,
    /// SHA-256 of the device-session secret (the browser's cookie).
    pub dsi_hash: [u8; 32],
    /// The requester, as the device shows it (without the per-device network fields).
    pub context: PushContext,
    /// The requester's network against each device that fetched the details, taken at its
    /// first fetch.
    pub device_networks: DeviceNetworks,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// State.
    pub state: QrState,
    /// The user who approved (set on approval).
    pub user_id: Option<String>,
    /// The device that answered.
    pub device_id: Option<String>,
}

/// An audit event of the device factor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// The user concerned.
    pub user_id: Option<String>,
    /// `device.enrolled`, `push.approved`, `push.not_me`, …
    pub kind: String,
    /// The device concerned.
    pub device_id: Option<String>,
    /// Free text without secrets.
    pub detail: String,
    /// Unix seconds.
    pub at: u64,
}

/// The device factor's storage. Methods block; handlers call them on tokio's blocking pool.
pub trait DeviceStore: Send + Sync + 'static {
    /// A meta value (the server identity key).
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets a meta value unless present; returns the value now stored.
    fn meta_set_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>>;

    /// Stores a new enrollment offer.
    fn insert_offer(&self, offer: &EnrollOffer, code_hash: [u8; 32]) -> Result<()>;
    /// First enrollment step: the unused, unexpired offer whose code hashes to `code_hash`,
    /// given a (new) enrollment id and challenge.
    fn begin_enrollment(
        &self,
        code_hash: [u8; 32],
        enrollment_id: &str,
        challenge: &str,
        now: u64,
    ) -> Result<Option<EnrollOffer>>;
    /// The unused, unexpired offer in enrollment `enrollment_id`.
    fn find_enrollment(&self, enrollment_id: &str, now: u64) -> Result<Option<EnrollOffer>>;
    /// Consumes the offer (compare-and-swap) and registers the device, in one transaction;
    /// `false` when the offer was already used or expired.
    fn finish_enrollment(
        &self,
        enrollment_id: &str,
        device: &DeviceRecord,
        now: u64,
    ) -> Result<bool>;

    /// A device by id.
    fn device(&self, id: &str) -> Result<Option<DeviceRecord>>;
    /// A user's devices, oldest first.
    fn devices_of(&self, user_id: &str) -> Result<Vec<DeviceRecord>>;
    /// Removes a device; whether it existed. Audited.
    fn delete_device(&self, id: &str, now: u64) -> Result<bool>;
    /// Records the client IP of the device's latest authenticated request.
    fn set_last_ip(&self, device_id: &str, ip: &str) -> Result<()>;
    /// Remembers a request nonce until `expires_at`; `false` if it was already seen.
    fn remember_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool>;

    /// Stores a new push transaction.
    fn insert_push(&self, push: &PushRecord) -> Result<()>;
    /// How many pushes the user got since `since`.
    fn count_pushes_since(&self, user_id: &str, since: u64) -> Result<u64>;
    /// A push by transaction id.
    fn push(&self, transaction_id: &str) -> Result<Option<PushRecord>>;
    /// The user's pending, unexpired pushes, oldest first.
    fn pending_pushes(&self, user_id: &str, now: u64) -> Result<Vec<PushRecord>>;
    /// How many pushes are pending and unexpired, over all users.
    fn count_pending_pushes(&self, now: u64) -> Result<u64>;
    /// Moves a pending push to its final state (compare-and-swap), pauses the user if asked and
    /// audits, in one transaction; `false` when it was no longer pending.
    fn decide_push(&self, decision: &PushDecision<'_>) -> Result<bool>;
    /// The durability setting in force, as SQLite numbers it (1 NORMAL, 2 FULL).
    fn synchronous(&self) -> Result<i64>;
    /// Marks an approved push of `user_id` as used by the grant that completes its sign-in:
    /// `true` once, `false` for a push that is not approved, not the user's or used already.
    /// Audited.
    fn consume_push(&self, transaction_id: &str, user_id: &str, now: u64) -> Result<bool>;
    /// Until when the user's pushes are paused (None: not paused).
    fn paused_until(&self, user_id: &str, now: u64) -> Result<Option<u64>>;

    /// Stores a new QR-login session.
    fn insert_qr(&self, session: &QrSession) -> Result<()>;
    /// A QR-login session by LSI.
    fn qr(&self, lsi: &str) -> Result<Option<QrSession>>;
    /// The network check of `device_id` for session `lsi`: the one stored, or else `check`,
    /// stored now (the first fetch wins, so the context the device signs stays the same).
    /// `None` when there is no such session.
    fn qr_device_network(
        &self,
        lsi: &str,
        device_id: &str,
        check: &NetworkCheck,
    ) -> Result<Option<NetworkCheck>>;
    /// Moves a pending session to `state` (compare-and-swap) for `user_id` / `device_id`;
    /// `false` when it was no longer pending. Audited.
    fn decide_qr(
        &self,
        lsi: &str,
        state: QrState,
        user_id: Option<&str>,
        device_id: Option<&str>,
        now: u64,
    ) -> Result<bool>;
    /// Approved → redeemed, once; `false` otherwise. Audited.
    fn redeem_qr(&self, lsi: &str, now: u64) -> Result<bool>;

    /// Appends an audit event.
    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        device_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()>;
    /// A user's audit events (all users' with `None`), newest first.
    fn audit_log(&self, user_id: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>>;
}

/// [`DeviceStore`] over one SQLite connection (WAL, so readers of the same file are not
/// blocked by it).
#[derive(Debug)]
pub struct SqliteDeviceStore {
    conn: Mutex<Connection>,
}

/// The device factor's events live in the one audit log under the device's push authenticator
/// (`push|<device id>`, [`crate::device::server_directory::push_authenticator_id`]).
pub(crate) fn push_authenticator(device_id: &str) -> String {
    crate::device::server_directory::push_authenticator_id(device_id)
}

/// The device id of an audit row's authenticator id (`push|<device id>`).
pub(crate) fn device_of(authenticator_id: Option<String>) -> Option<String> {
    authenticator_id.map(|a| a.strip_prefix("push|").map_or(a.clone(), str::to_owned))
}

/// Kinds of the device factor's events: the `device.`, `push.` and `qr_login.` families.
pub(crate) const DEVICE_KIND_FAMILIES: [&str; 3] = ["device.", "push.", "qr_login."];

pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| DeviceError::Storage("stored hash is not 32 bytes".into()))
}

pub(crate) fn context_json(c: &PushContext) -> Result<String> {
    serde_json::to_string(c).map_err(|e| DeviceError::Internal(format!("context: {e}")))
}

pub(crate) fn parse_context(s: &str) -> Result<PushContext> {
    serde_json::from_str(s).map_err(|e| DeviceError::Storage(format!("stored context: {e}")))
}

pub(crate) fn networks_json(n: &DeviceNetworks) -> Result<String> {
    serde_json::to_string(n).map_err(|e| DeviceError::Internal(format!("device networks: {e}")))
}

pub(crate) fn parse_networks(s: &str) -> Result<DeviceNetworks> {
    serde_json::from_str(s)
        .map_err(|e| DeviceError::Storage(format!("stored device networks: {e}")))
}

pub(crate) fn choices_text(c: &[u32]) -> String {
    c.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_choices(s: &str) -> Vec<u32> {
    s.split(',').filter_map(|x| x.parse().ok()).collect()
}

const PUSH_COLUMNS: &str = "transaction_id, user_id, nonce, number, number_choices, context, \
     created_at, expires_at, state, device_id, reason, device_networks";

type PushRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
);

fn push_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PushRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn push_from(row: PushRow) -> Result<PushRecord> {
    let (tx, user, nonce, number, choices, ctx, created, expires, state, device, reason, nets) =
        row;
    Ok(PushRecord {
        transaction_id: tx,
        user_id: user,
        nonce,
        number: u32::try_from(number).unwrap_or(0),
        number_choices: parse_choices(&choices),
        context: parse_context(&ctx)?,
        device_networks: parse_networks(&nets)?,
        created_at: u(created),
        expires_at: u(expires),
        state: parse_push_state(&state)?,
        device_id: device,
        reason,
    })
}

const DEVICE_COLUMNS: &str =
    "id, user_id, name, platform, algorithm, public_key, user_verification, created_at, last_ip";

type DeviceRow = (
    String,
    String,
    String,
    String,
    String,
    Vec<u8>,
    bool,
    i64,
    Option<String>,
);

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn device_from(row: DeviceRow) -> Result<DeviceRecord> {
    let (id, user_id, name, platform, alg, public_key, uv, created, last_ip) = row;
    Ok(DeviceRecord {
        id,
        user_id,
        name,
        platform,
        algorithm: alg
            .parse()
            .map_err(|_| DeviceError::Storage("stored algorithm unknown".into()))?,
        public_key,
        user_verification: uv,
        created_at: u(created),
        last_ip,
    })
}

fn audit_in(
    conn: &Connection,
    user_id: Option<&str>,
    kind: &str,
    device_id: Option<&str>,
    detail: &str,
    now: u64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit (user_id, kind, authenticator_id, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, kind, device_id.map(push_authenticator), detail, i(now)],
    )?;
    Ok(())
}

impl SqliteDeviceStore {
    /// Opens (creating if needed) the database file and migrates the `device_` tables, fully
    /// durable (`synchronous=FULL`: every commit is on disk before it is acknowledged).
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, "FULL")
    }

    /// [`Self::open`] with the server's durability setting
    /// ([`crate::config::StorageConfig::synchronous_pragma`]: `FULL` or `NORMAL`).
    pub fn open_with(path: &Path, synchronous: &'static str) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::init(conn, synchronous)
    }

    /// An in-memory store (unit tests).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?, "FULL")
    }

    fn init(mut conn: Connection, synchronous: &'static str) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        // One schema for the whole server (crate::store::migrations): a no-op when the main
        // store opened this file first, the whole schema for an in-memory test store.
        crate::store::migrations::sqlite(&mut conn).map_err(|e| match e {
            crate::Error::Config(m) => DeviceError::Internal(m),
            crate::Error::Storage(d) => DeviceError::Storage(d),
            other => DeviceError::Internal(other.to_string()),
        })?;
        Ok(SqliteDeviceStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| DeviceError::Internal("device store lock poisoned".into()))?;
        f(&mut guard)
    }
}

impl DeviceStore for SqliteDeviceStore {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM device_meta WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    fn meta_set_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO device_meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )?;
            Ok(
                c.query_row("SELECT value FROM device_meta WHERE key = ?1", [key], |r| {
                    r.get(0)
                })?,
            )
        })
    }

    fn insert_offer(&self, offer: &EnrollOffer, code_hash: [u8; 32]) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO device_enroll_offers (id, code_hash, user_id, username, created_at, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    offer.id,
                    &code_hash[..],
                    offer.user_id,
                    offer.username,
                    i(offer.created_at),
                    i(offer.expires_at)
                ],
            )?;
            audit_in(
                c,
                Some(&offer.user_id),
                "device.offer_created",
                None,
                &format!("offer {}", offer.id),
                offer.created_at,
            )
        })
    }

    fn begin_enrollment(
        &self,
        code_hash: [u8; 32],
        enrollment_id: &str,
        challenge: &str,
        now: u64,
    ) -> Result<Option<EnrollOffer>> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE device_enroll_offers SET enrollment_id = ?1, challenge = ?2 \
                 WHERE code_hash = ?3 AND used_at IS NULL AND expires_at > ?4",
                params![enrollment_id, challenge, &code_hash[..], i(now)],
            )?;
            if n == 0 {
                return Ok(None);
            }
            find_enrollment_in(c, enrollment_id, now)
        })
    }

    fn find_enrollment(&self, enrollment_id: &str, now: u64) -> Result<Option<EnrollOffer>> {
        self.with(|c| find_enrollment_in(c, enrollment_id, now))
    }

    fn finish_enrollment(
        &self,
        enrollment_id: &str,
        device: &DeviceRecord,
        now: u64,
    ) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE device_enroll_offers SET used_at = ?1 \
                 WHERE enrollment_id = ?2 AND used_at IS NULL AND expires_at > ?1",
                params![i(now), enrollment_id],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                &format!(
                    "INSERT INTO device_devices ({DEVICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, \
                     ?6, ?7, ?8, ?9)"
                ),
                params![
                    device.id,
                    device.user_id,
                    device.name,
                    device.platform,
                    device.algorithm.as_str(),
                    device.public_key,
                    device.user_verification,
                    i(device.created_at),
                    device.last_ip
                ],
            )?;
            audit_in(
                &tx,
                Some(&device.user_id),
                "device.enrolled",
                Some(&device.id),
                &format!(
                    "name={:?} platform={:?} alg={}",
                    device.name, device.platform, device.algorithm
                ),
                now,
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn device(&self, id: &str) -> Result<Option<DeviceRecord>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM device_devices WHERE id = ?1"),
                [id],
                device_row,
            )
            .optional()?
            .map(device_from)
            .transpose()
        })
    }

    fn devices_of(&self, user_id: &str) -> Result<Vec<DeviceRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM device_devices WHERE user_id = ?1 \
                 ORDER BY created_at, id"
            ))?;
            let rows = st.query_map([user_id], device_row)?;
            rows.map(|r| device_from(r?)).collect()
        })
    }

    fn delete_device(&self, id: &str, now: u64) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let user: Option<String> = tx
                .query_row(
                    "SELECT user_id FROM device_devices WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(user) = user else {
                return Ok(false);
            };
            tx.execute("DELETE FROM device_devices WHERE id = ?1", [id])?;
            tx.execute("DELETE FROM device_nonces WHERE device_id = ?1", [id])?;
            audit_in(&tx, Some(&user), "device.removed", Some(id), "", now)?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn set_last_ip(&self, device_id: &str, ip: &str) -> Result<()> {
        self.with(|c| {
            // Written only when it changed: most requests come from where the last one did.
            c.execute(
                "UPDATE device_devices SET last_ip = ?1 WHERE id = ?2 AND last_ip IS NOT ?1",
                params![ip, device_id],
            )?;
            Ok(())
        })
    }

    fn remember_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool> {
        self.with(|c| {
            c.execute("DELETE FROM device_nonces WHERE expires_at < ?1", [i(now)])?;
            let n = c.execute(
                "INSERT OR IGNORE INTO device_nonces (device_id, nonce, expires_at) \
                 VALUES (?1, ?2, ?3)",
                params![device_id, nonce, i(expires_at)],
            )?;
            Ok(n == 1)
        })
    }

    fn insert_push(&self, p: &PushRecord) -> Result<()> {
        let ctx = context_json(&p.context)?;
        let nets = networks_json(&p.device_networks)?;
        self.with(|c| {
            c.execute(
                &format!(
                    "INSERT INTO device_push ({PUSH_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                     ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                params![
                    p.transaction_id,
                    p.user_id,
                    p.nonce,
                    i64::from(p.number),
                    choices_text(&p.number_choices),
                    ctx,
                    i(p.created_at),
                    i(p.expires_at),
                    p.state.as_str(),
                    p.device_id,
                    p.reason,
                    nets
                ],
            )?;
            audit_in(
                c,
                Some(&p.user_id),
                "push.created",
                None,
                &format!(
                    "application={:?} ip={:?}",
                    p.context.application, p.context.ip
                ),
                p.created_at,
            )
        })
    }

    fn count_pushes_since(&self, user_id: &str, since: u64) -> Result<u64> {
        self.with(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM device_push WHERE user_id = ?1 AND created_at >= ?2",
                params![user_id, i(since)],
                |r| r.get(0),
            )?;
            Ok(u(n))
        })
    }

    fn push(&self, transaction_id: &str) -> Result<Option<PushRecord>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {PUSH_COLUMNS} FROM device_push WHERE transaction_id = ?1"),
                [transaction_id],
                push_row,
            )
            .optional()?
            .map(push_from)
            .transpose()
        })
    }

    fn pending_pushes(&self, user_id: &str, now: u64) -> Result<Vec<PushRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {PUSH_COLUMNS} FROM device_push WHERE user_id = ?1 AND state = 'pending' \
                 AND expires_at > ?2 ORDER BY created_at, transaction_id"
            ))?;
            let rows = st.query_map(params![user_id, i(now)], push_row)?;
            rows.map(|r| push_from(r?)).collect()
        })
    }

    fn count_pending_pushes(&self, now: u64) -> Result<u64> {
        self.with(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM device_push WHERE state = 'pending' AND expires_at > ?1",
                params![i(now)],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn decide_push(&self, d: &PushDecision<'_>) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE device_push SET state = ?1, device_id = ?2, reason = ?3, decided_at = ?4 \
                 WHERE transaction_id = ?5 AND state = 'pending'",
                params![
                    d.state.as_str(),
                    d.device_id,
                    d.reason,
                    i(d.now),
                    d.transaction_id
                ],
            )?;
            if n == 0 {
                return Ok(false);
            }
            let user: String = tx.query_row(
                "SELECT user_id FROM device_push WHERE transaction_id = ?1",
                [d.transaction_id],
                |r| r.get(0),
            )?;
            if let Some(until) = d.pause_until {
                tx.execute(
                    "INSERT INTO device_pauses (user_id, until) VALUES (?1, ?2) \
                     ON CONFLICT(user_id) DO UPDATE SET until = MAX(until, excluded.until)",
                    params![user, i(until)],
                )?;
            }
            let kind = format!("push.{}", d.reason);
            // The transaction id is not a secret once decided; it links the audit to the RP's logs.
            audit_in(
                &tx,
                Some(&user),
                &kind,
                d.device_id,
                &format!("transaction {}", d.transaction_id),
                d.now,
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn synchronous(&self) -> Result<i64> {
        self.with(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
    }

    fn consume_push(&self, transaction_id: &str, user_id: &str, now: u64) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE device_push SET consumed_at = ?1 WHERE transaction_id = ?2 \
                 AND user_id = ?3 AND state = 'approved' AND consumed_at IS NULL",
                params![i(now), transaction_id, user_id],
            )?;
            if n == 0 {
                return Ok(false);
            }
            audit_in(
                &tx,
                Some(user_id),
                "push.consumed",
                None,
                &format!("transaction {transaction_id}"),
                now,
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn paused_until(&self, user_id: &str, now: u64) -> Result<Option<u64>> {
        self.with(|c| {
            let until: Option<i64> = c
                .query_row(
                    "SELECT until FROM device_pauses WHERE user_id = ?1",
                    [user_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(until.map(u).filter(|t| *t > now))
        })
    }

    fn insert_qr(&self, s: &QrSession) -> Result<()> {
        let ctx = context_json(&s.context)?;
        let nets = networks_json(&s.device_networks)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO device_qr_sessions (lsi, dsi_hash, context, created_at, expires_at, \
                 state, device_networks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    s.lsi,
                    &s.dsi_hash[..],
                    ctx,
                    i(s.created_at),
                    i(s.expires_at),
                    s.state.as_str(),
                    nets
                ],
            )?;
            Ok(())
        })
    }

    fn qr(&self, lsi: &str) -> Result<Option<QrSession>> {
        type Row = (
            String,
            Vec<u8>,
            String,
            i64,
            i64,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        self.with(|c| {
            let row: Option<Row> = c
                .query_row(
                    "SELECT lsi, dsi_hash, context, created_at, expires_at, state, user_id, \
                     device_id, device_networks FROM device_qr_sessions WHERE lsi = ?1",
                    [lsi],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                        ))
                    },
                )
                .optional()?;
            row.map(
                |(lsi, h, ctx, created, expires, state, user, device, nets)| {
                    Ok(QrSession {
                        lsi,
                        dsi_hash: hash32(h)?,
                        context: parse_context(&ctx)?,
                        device_networks: parse_networks(&nets)?,
                        created_at: u(created),
                        expires_at: u(expires),
                        state: QrState::parse(&state)?,
                        user_id: user,
                        device_id: device,
                    })
                },
            )
            .transpose()
        })
    }

    fn qr_device_network(
        &self,
        lsi: &str,
        device_id: &str,
        check: &NetworkCheck,
    ) -> Result<Option<NetworkCheck>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let stored: Option<String> = tx
                .query_row(
                    "SELECT device_networks FROM device_qr_sessions WHERE lsi = ?1",
                    [lsi],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(stored) = stored else {
                return Ok(None);
            };
            let mut nets = parse_networks(&stored)?;
            if let Some(first) = nets.get(device_id) {
                return Ok(Some(first.clone()));
            }
            nets.insert(device_id.to_owned(), check.clone());
            tx.execute(
                "UPDATE device_qr_sessions SET device_networks = ?1 WHERE lsi = ?2",
                params![networks_json(&nets)?, lsi],
            )?;
            tx.commit()?;
            Ok(Some(check.clone()))
        })
    }

    fn decide_qr(
        &self,
        lsi: &str,
        state: QrState,
        user_id: Option<&str>,
        device_id: Option<&str>,
        now: u64,
    ) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE device_qr_sessions SET state = ?1, user_id = ?2, device_id = ?3, \
                 decided_at = ?4 WHERE lsi = ?5 AND state = 'pending'",
                params![state.as_str(), user_id, device_id, i(now), lsi],
            )?;
            if n == 0 {
                return Ok(false);
            }
            audit_in(
                &tx,
                user_id,
                &format!("qr_login.{}", state.as_str()),
                device_id,
                "",
                now,
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn redeem_qr(&self, lsi: &str, now: u64) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE device_qr_sessions SET state = 'redeemed', decided_at = ?1 \
                 WHERE lsi = ?2 AND state = 'approved' AND expires_at > ?1",
                params![i(now), lsi],
            )?;
            if n == 0 {
                return Ok(false);
            }
            let (user, device): (Option<String>, Option<String>) = tx.query_row(
                "SELECT user_id, device_id FROM device_qr_sessions WHERE lsi = ?1",
                [lsi],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            audit_in(
                &tx,
                user.as_deref(),
                "qr_login.redeemed",
                device.as_deref(),
                "",
                now,
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        device_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()> {
        self.with(|c| audit_in(c, user_id, kind, device_id, detail, now))
    }

    fn audit_log(&self, user_id: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, user_id, kind, authenticator_id, detail, at FROM audit \
                 WHERE (?1 IS NULL OR user_id = ?1) AND substr(kind, 1, instr(kind, '.')) \
                 IN ('device.', 'push.', 'qr_login.') ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![user_id, limit], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    kind: r.get(2)?,
                    device_id: device_of(r.get(3)?),
                    detail: r.get(4)?,
                    at: u(r.get(5)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

fn find_enrollment_in(
    c: &Connection,
    enrollment_id: &str,
    now: u64,
) -> Result<Option<EnrollOffer>> {
    Ok(c.query_row(
        "SELECT id, user_id, username, created_at, expires_at, enrollment_id, challenge \
         FROM device_enroll_offers WHERE enrollment_id = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![enrollment_id, i(now)],
        |r| {
            Ok(EnrollOffer {
                id: r.get(0)?,
                user_id: r.get(1)?,
                username: r.get(2)?,
                created_at: u(r.get(3)?),
                expires_at: u(r.get(4)?),
                enrollment_id: r.get(5)?,
                challenge: r.get(6)?,
            })
        },
    )
    .optional()?)
}

#[cfg(test)]
pub(crate) mod tests {
    //! One test body, two engines: every test runs on SQLite, and on PostgreSQL too (a fresh
    //! database each) when [`PG_ENV`] names a server (`scripts/pg-cluster.sh` starts one).

    use super::*;
    use crate::store::pg::device::PgDeviceStore;
    use crate::store::pg::{Note, Pg};

    /// The PostgreSQL server to run on as well, when set.
    pub(crate) const PG_ENV: &str = "TESSERA_TEST_DATABASE_URL";

    /// One engine's test database. [`Engine::open`] connects anew each time, so opening twice
    /// proves durability: a second SQLite connection to the file, a second pool to the
    /// PostgreSQL database (as a second server instance would).
    pub(crate) enum Engine {
        Sqlite(tempfile::TempDir),
        Postgres(String),
    }

    impl Engine {
        pub(crate) fn name(&self) -> &'static str {
            match self {
                Engine::Sqlite(_) => "sqlite",
                Engine::Postgres(_) => "postgres",
            }
        }

        pub(crate) fn open(&self) -> Box<dyn DeviceStore> {
            match self {
                Engine::Sqlite(dir) => {
                    Box::new(SqliteDeviceStore::open(&dir.path().join("d.db")).unwrap())
                }
                Engine::Postgres(url) => Box::new(pg_store(url)),
            }
        }
    }

    /// SQLite always; PostgreSQL too when [`PG_ENV`] is set. Each names itself on stderr, so a
    /// failure's output says which engine failed.
    pub(crate) fn engines() -> Vec<Engine> {
        let mut all = vec![Engine::Sqlite(tempfile::tempdir().unwrap())];
        all.extend(pg_database().map(Engine::Postgres));
        all
    }

    /// A fresh database on the [`PG_ENV`] server, if set.
    pub(crate) fn pg_database() -> Option<String> {
        let admin = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let name = format!("t_{}", crate::crypto::random_id("").unwrap());
        Some(crate::store::pg::create_database(&admin, &name).unwrap())
    }

    /// A store on its own pool (one server instance).
    fn pg_store(url: &str) -> PgDeviceStore {
        PgDeviceStore::new(Pg::connect(url, Default::default()).unwrap())
    }

    fn push(tx: &str, user: &str, now: u64) -> PushRecord {
        PushRecord {
            transaction_id: tx.into(),
            user_id: user.into(),
            nonce: "n".into(),
            number: 42,
            number_choices: vec![],
            context: PushContext::default(),
            device_networks: DeviceNetworks::new(),
            created_at: now,
            expires_at: now + 120,
            state: PushState::Pending,
            device_id: None,
            reason: None,
        }
    }

    fn approval(tx: &str, now: u64) -> PushDecision<'_> {
        PushDecision {
            transaction_id: tx,
            state: PushState::Approved,
            device_id: Some("dev"),
            reason: "approved",
            pause_until: None,
            now,
        }
    }

    /// A pending QR login `lsi`, valid from 100 to 220.
    fn qr_session(lsi: &str) -> QrSession {
        QrSession {
            lsi: lsi.into(),
            dsi_hash: [3; 32],
            context: PushContext::default(),
            device_networks: DeviceNetworks::new(),
            created_at: 100,
            expires_at: 220,
            state: QrState::Pending,
            user_id: None,
            device_id: None,
        }
    }

    #[test]
    fn an_approval_is_consumed_once_and_only_by_its_user() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            s.insert_push(&push("t1", "u1", 100)).unwrap();
            assert!(
                !s.consume_push("t1", "u1", 101).unwrap(),
                "pending: nothing to use"
            );
            assert!(s.decide_push(&approval("t1", 102)).unwrap());
            assert!(
                !s.consume_push("t1", "u2", 103).unwrap(),
                "another user's approval"
            );
            assert!(s.consume_push("t1", "u1", 103).unwrap());
            assert!(!s.consume_push("t1", "u1", 104).unwrap(), "used once");
            let kinds: Vec<String> = s
                .audit_log(Some("u1"), 10)
                .unwrap()
                .into_iter()
                .map(|a| a.kind)
                .collect();
            assert!(kinds.iter().any(|k| k == "push.consumed"), "{kinds:?}");
        }
    }

    #[test]
    fn push_decides_exactly_once_and_survives_reopen() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            {
                let s = e.open();
                s.insert_push(&push("t1", "u1", 100)).unwrap();
            }
            let s = e.open();
            assert_eq!(s.synchronous().unwrap(), 2, "commits are durable");
            assert_eq!(s.pending_pushes("u1", 101).unwrap().len(), 1);
            assert_eq!(s.count_pending_pushes(101).unwrap(), 1);
            assert_eq!(s.count_pushes_since("u1", 100).unwrap(), 1);
            assert_eq!(s.count_pushes_since("u1", 101).unwrap(), 0);
            assert!(s.pending_pushes("u1", 220).unwrap().is_empty(), "expired");
            assert_eq!(s.count_pending_pushes(220).unwrap(), 0);
            let d = approval("t1", 110);
            assert!(s.decide_push(&d).unwrap());
            let again = PushDecision {
                state: PushState::Denied,
                reason: "denied",
                ..d
            };
            assert!(!s.decide_push(&again).unwrap(), "second decision must lose");
            let stored = s.push("t1").unwrap().unwrap();
            assert_eq!(stored.state, PushState::Approved);
            assert_eq!(stored.device_id.as_deref(), Some("dev"));
            assert_eq!(stored.reason.as_deref(), Some("approved"));
            assert!(s.push("t2").unwrap().is_none());
            let log = s.audit_log(Some("u1"), 10).unwrap();
            assert_eq!(log[0].kind, "push.approved");
            assert_eq!(log[0].detail, "transaction t1");
            assert_eq!(
                log.iter().filter(|a| a.kind.starts_with("push.")).count(),
                2,
                "created and approved; the losing decision is not audited: {log:?}"
            );
        }
    }

    #[test]
    fn a_push_round_trips_every_field() {
        use tessera_core::device::DeviceNetwork;
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            let mut p = push("t1", "u1", 100);
            p.number = 87;
            p.number_choices = vec![12, 87, 45];
            p.context.application = "Payroll".into();
            p.context.ip = "203.0.113.9".into();
            p.device_networks.insert(
                "dev".into(),
                NetworkCheck {
                    network: DeviceNetwork::Same,
                    prefix: "203.0.113.0/24".into(),
                },
            );
            s.insert_push(&p).unwrap();
            assert_eq!(s.push("t1").unwrap().unwrap(), p);
            assert_eq!(s.pending_pushes("u1", 101).unwrap(), vec![p]);
        }
    }

    #[test]
    fn not_me_pauses_and_nonces_are_single_use() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            s.insert_push(&push("t", "u", 100)).unwrap();
            assert!(s
                .decide_push(&PushDecision {
                    transaction_id: "t",
                    state: PushState::Denied,
                    device_id: Some("d"),
                    reason: "not_me",
                    pause_until: Some(1000),
                    now: 101,
                })
                .unwrap());
            assert_eq!(s.paused_until("u", 500).unwrap(), Some(1000));
            assert_eq!(s.paused_until("u", 1000).unwrap(), None);
            assert_eq!(s.paused_until("other", 500).unwrap(), None);
            // A second "not me" never shortens the pause.
            s.insert_push(&push("t2", "u", 200)).unwrap();
            assert!(s
                .decide_push(&PushDecision {
                    transaction_id: "t2",
                    state: PushState::Denied,
                    device_id: Some("d"),
                    reason: "not_me",
                    pause_until: Some(800),
                    now: 201,
                })
                .unwrap());
            assert_eq!(s.paused_until("u", 500).unwrap(), Some(1000));
            assert!(s.remember_nonce("d", "x", 200, 100).unwrap());
            assert!(!s.remember_nonce("d", "x", 200, 150).unwrap());
            assert!(
                s.remember_nonce("d2", "x", 200, 150).unwrap(),
                "nonces are per device"
            );
            assert!(
                s.remember_nonce("d", "x", 400, 300).unwrap(),
                "old nonce swept"
            );
        }
    }

    /// An offer for user `u`, valid from 100 to 700, code hash `[1; 32]` when inserted.
    fn offer() -> EnrollOffer {
        EnrollOffer {
            id: "o".into(),
            user_id: "u".into(),
            username: "alice".into(),
            created_at: 100,
            expires_at: 700,
            enrollment_id: None,
            challenge: None,
        }
    }

    /// Device `dev` of user `u`, enrolled at 102 from 198.51.100.7.
    fn device_record() -> DeviceRecord {
        DeviceRecord {
            id: "dev".into(),
            user_id: "u".into(),
            name: "n".into(),
            platform: "cli".into(),
            algorithm: SignatureAlgorithm::Es256,
            public_key: vec![4; 65],
            user_verification: false,
            created_at: 102,
            last_ip: Some("198.51.100.7".into()),
        }
    }

    #[test]
    fn offers_are_single_use() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            s.insert_offer(&offer(), [1; 32]).unwrap();
            assert!(s
                .begin_enrollment([2; 32], "e", "c", 101)
                .unwrap()
                .is_none());
            assert!(s
                .begin_enrollment([1; 32], "e", "c", 800)
                .unwrap()
                .is_none());
            let got = s.begin_enrollment([1; 32], "e", "c", 101).unwrap().unwrap();
            assert_eq!(got.challenge.as_deref(), Some("c"));
            assert_eq!(s.find_enrollment("e", 101).unwrap(), Some(got));
            assert!(s.find_enrollment("e", 700).unwrap().is_none(), "expired");
            let dev = DeviceRecord {
                user_verification: true,
                ..device_record()
            };
            assert!(s.finish_enrollment("e", &dev, 102).unwrap());
            assert_eq!(s.device("dev").unwrap().as_ref(), Some(&dev));
            let dev2 = DeviceRecord {
                id: "dev2".into(),
                ..dev
            };
            assert!(!s.finish_enrollment("e", &dev2, 103).unwrap());
            assert!(s.find_enrollment("e", 103).unwrap().is_none(), "used");
            assert!(s
                .begin_enrollment([1; 32], "e2", "c", 104)
                .unwrap()
                .is_none());
            assert_eq!(s.devices_of("u").unwrap().len(), 1);
            assert!(s.delete_device("dev", 105).unwrap());
            assert!(!s.delete_device("dev", 106).unwrap(), "gone already");
            assert!(s.device("dev").unwrap().is_none());
            let kinds: Vec<String> = s
                .audit_log(None, 10)
                .unwrap()
                .into_iter()
                .map(|a| a.kind)
                .collect();
            assert_eq!(
                kinds,
                ["device.removed", "device.enrolled", "device.offer_created"],
                "newest first, one row per change"
            );
        }
    }

    #[test]
    fn the_last_ip_survives_a_reopen_and_a_qr_check_is_first_wins() {
        use tessera_core::device::DeviceNetwork;
        for e in engines() {
            eprintln!("engine: {}", e.name());
            {
                let s = e.open();
                s.insert_offer(&offer(), [1; 32]).unwrap();
                s.begin_enrollment([1; 32], "e", "c", 101).unwrap().unwrap();
                let dev = device_record();
                assert!(s.finish_enrollment("e", &dev, 102).unwrap());
                s.set_last_ip("dev", "203.0.113.7").unwrap();
            }
            let s = e.open();
            assert_eq!(
                s.device("dev").unwrap().unwrap().last_ip.as_deref(),
                Some("203.0.113.7")
            );
            s.insert_qr(&qr_session("L")).unwrap();
            let first = NetworkCheck {
                network: DeviceNetwork::Different,
                prefix: "203.0.113.0/24".into(),
            };
            let later = NetworkCheck {
                network: DeviceNetwork::Same,
                prefix: "198.51.100.0/24".into(),
            };
            assert_eq!(
                s.qr_device_network("L", "dev", &first).unwrap(),
                Some(first.clone())
            );
            assert_eq!(
                s.qr_device_network("L", "dev", &later).unwrap(),
                Some(first.clone()),
                "the first check stays: the device signs what it was shown"
            );
            assert_eq!(
                s.qr_device_network("L", "dev2", &later).unwrap(),
                Some(later.clone()),
                "each device has its own"
            );
            let stored = e.open().qr("L").unwrap().unwrap();
            assert_eq!(stored.device_networks["dev"], first);
            assert_eq!(stored.device_networks["dev2"], later);
            assert_eq!(s.qr_device_network("nope", "dev", &later).unwrap(), None);
        }
    }

    #[test]
    fn qr_sessions_redeem_once() {
        for e in engines() {
            eprintln!("engine: {}", e.name());
            let s = e.open();
            s.insert_qr(&qr_session("L")).unwrap();
            assert_eq!(s.qr("L").unwrap().unwrap(), qr_session("L"));
            assert!(s.qr("M").unwrap().is_none());
            assert!(!s.redeem_qr("L", 101).unwrap(), "not approved yet");
            assert!(s
                .decide_qr("L", QrState::Approved, Some("u"), Some("d"), 102)
                .unwrap());
            assert!(!s
                .decide_qr("L", QrState::Denied, Some("u"), Some("d"), 103)
                .unwrap());
            assert!(!s.redeem_qr("L", 220).unwrap(), "expired");
            assert!(s.redeem_qr("L", 104).unwrap());
            assert!(!s.redeem_qr("L", 105).unwrap());
            let stored = s.qr("L").unwrap().unwrap();
            assert_eq!(stored.state, QrState::Redeemed);
            assert_eq!(stored.user_id.as_deref(), Some("u"));
            assert_eq!(stored.device_id.as_deref(), Some("d"));
            let kinds: Vec<String> = s
                .audit_log(Some("u"), 10)
                .unwrap()
                .into_iter()
                .map(|a| a.kind)
                .collect();
            assert_eq!(kinds, ["qr_login.redeemed", "qr_login.approved"]);
        }
    }

    /// What one instance got in a round of [`two_instances_race_and_exactly_one_wins`].
    #[derive(Debug)]
    struct Won {
        enrolled: bool,
        nonce: bool,
        push: bool,
        consume: bool,
        check: Option<NetworkCheck>,
        qr: bool,
        redeem: bool,
    }

    /// Each step starts on both instances at once (the barrier), deciding differently.
    fn race(s: &PgDeviceStore, go: &std::sync::Barrier, n: usize, me: &'static str) -> Won {
        let (t, c, lsi) = (format!("t{n}"), format!("c{n}"), format!("L{n}"));
        let (state, reason) = if me == "a" {
            (PushState::Approved, "approved")
        } else {
            (PushState::Denied, "denied")
        };
        go.wait();
        let device = DeviceRecord {
            id: format!("dev{n}{me}"),
            ..device_record()
        };
        let enrolled = s.finish_enrollment(&format!("e{n}"), &device, 110).unwrap();
        go.wait();
        let nonce = s.remember_nonce("dev", &format!("n{n}"), 200, 110).unwrap();
        go.wait();
        let push = s
            .decide_push(&PushDecision {
                transaction_id: &t,
                state,
                device_id: Some(me),
                reason,
                pause_until: None,
                now: 110,
            })
            .unwrap();
        go.wait();
        let consume = s.consume_push(&c, "u", 110).unwrap();
        go.wait();
        let mine = NetworkCheck {
            network: tessera_core::device::DeviceNetwork::Unknown,
            prefix: me.into(),
        };
        let check = s.qr_device_network(&lsi, "dev", &mine).unwrap();
        go.wait();
        let qr = s
            .decide_qr(&lsi, QrState::Approved, Some("u"), Some(me), 110)
            .unwrap();
        go.wait();
        let redeem = s.redeem_qr(&lsi, 111).unwrap();
        Won {
            enrolled,
            nonce,
            push,
            consume,
            check,
            qr,
            redeem,
        }
    }

    /// Two server instances (two pools) on one PostgreSQL database: nothing in the process
    /// serialises them, only the database's conditional updates.
    #[test]
    fn two_instances_race_and_exactly_one_wins() {
        let Some(url) = pg_database() else {
            return; // SQLite: one file, one writer at a time; nothing to race.
        };
        let (a, b) = (pg_store(&url), pg_store(&url));
        const ROUNDS: usize = 40;
        for n in 0..ROUNDS {
            a.insert_push(&push(&format!("t{n}"), "u", 100)).unwrap();
            let c = format!("c{n}");
            a.insert_push(&push(&c, "u", 100)).unwrap();
            assert!(a.decide_push(&approval(&c, 101)).unwrap());
            a.insert_qr(&qr_session(&format!("L{n}"))).unwrap();
            let code = [u8::try_from(n).unwrap(); 32];
            let o = EnrollOffer {
                id: format!("o{n}"),
                ..offer()
            };
            a.insert_offer(&o, code).unwrap();
            let e = format!("e{n}");
            a.begin_enrollment(code, &e, "c", 101).unwrap().unwrap();
        }
        let go = std::sync::Barrier::new(2);
        let mut push_wins = [0; 2];
        for n in 0..ROUNDS {
            let (wa, wb) = std::thread::scope(|s| {
                let ha = s.spawn(|| race(&a, &go, n, "a"));
                let hb = s.spawn(|| race(&b, &go, n, "b"));
                (ha.join().unwrap(), hb.join().unwrap())
            });
            assert!(
                wa.enrolled ^ wb.enrolled,
                "round {n}: one device per offer: {wa:?} {wb:?}"
            );
            assert!(
                wa.nonce ^ wb.nonce,
                "round {n}: a nonce is used once: {wa:?} {wb:?}"
            );
            assert!(
                wa.push ^ wb.push,
                "round {n}: one decision wins: {wa:?} {wb:?}"
            );
            assert!(
                wa.consume ^ wb.consume,
                "round {n}: one consumption: {wa:?} {wb:?}"
            );
            assert!(wa.qr ^ wb.qr, "round {n}: one QR decision: {wa:?} {wb:?}");
            assert!(
                wa.redeem ^ wb.redeem,
                "round {n}: one redemption: {wa:?} {wb:?}"
            );
            push_wins[usize::from(wb.push)] += 1;
            let t = b.push(&format!("t{n}")).unwrap().unwrap();
            let (state, device) = if wa.push {
                (PushState::Approved, "a")
            } else {
                (PushState::Denied, "b")
            };
            assert_eq!((t.state, t.device_id.as_deref()), (state, Some(device)));
            let qr = a.qr(&format!("L{n}")).unwrap().unwrap();
            assert!(wa.check.is_some(), "round {n}");
            assert_eq!(
                wa.check, wb.check,
                "round {n}: both are told the first check"
            );
            assert_eq!(
                qr.device_networks.get("dev"),
                wa.check.as_ref(),
                "round {n}"
            );
            assert_eq!(qr.state, QrState::Redeemed);
            assert_eq!(qr.device_id.as_deref(), Some(if wa.qr { "a" } else { "b" }));
        }
        // Only the winners' changes are audited.
        let log = a.audit_log(Some("u"), 10_000).unwrap();
        let count = |kind: &str| log.iter().filter(|r| r.kind == kind).count();
        assert_eq!(
            count("push.approved") + count("push.denied"),
            2 * ROUNDS,
            "one decision per race plus the approvals set up for consumption"
        );
        assert_eq!(count("push.consumed"), ROUNDS);
        assert_eq!(count("qr_login.approved"), ROUNDS);
        assert_eq!(count("qr_login.redeemed"), ROUNDS);
        assert_eq!(count("device.enrolled"), ROUNDS);
        assert_eq!(a.devices_of("u").unwrap().len(), ROUNDS);
        eprintln!("push races won by a / b: {push_wins:?}");
    }

    /// Waits (up to a second) for the payload `want`; any other payload heard meanwhile is
    /// returned in `others`.
    fn hear(
        notes: &mut tokio::sync::broadcast::Receiver<Note>,
        want: &str,
        others: &mut Vec<String>,
    ) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while std::time::Instant::now() < deadline {
            match notes.try_recv() {
                Ok(Note::Payload(p)) if &*p == want => return true,
                Ok(Note::Payload(p)) => others.push(p.to_string()),
                Ok(Note::Resync) => {}
                Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => panic!("notes: {e}"),
            }
        }
        false
    }

    /// Another instance (another pool) hears of new pushes and of decisions, from the
    /// transaction that made them, and of nothing for a change that did not happen.
    #[test]
    fn new_pushes_and_decisions_wake_the_other_instances() {
        use crate::store::pg::notify::{decided_payload, push_payload};
        let Some(url) = pg_database() else {
            return; // SQLite: one process, nobody else to wake.
        };
        let a = pg_store(&url);
        let other = Pg::connect(&url, Default::default()).unwrap();
        let mut notes = other.notes();
        let mut others = Vec::new();
        // The other instance's listener may still be connecting: the first push it hears
        // proves it listens.
        let heard = (0..20).find(|k| {
            let t = format!("t{k}");
            a.insert_push(&push(&t, "u", 100)).unwrap();
            hear(&mut notes, &push_payload("u", &t), &mut others)
        });
        let t = format!("t{}", heard.expect("the other instance hears a new push"));
        assert!(a.decide_push(&approval(&t, 101)).unwrap());
        assert!(hear(&mut notes, &decided_payload(&t), &mut others));
        a.insert_qr(&qr_session("L")).unwrap();
        assert!(a
            .decide_qr("L", QrState::Approved, Some("u"), Some("dev"), 102)
            .unwrap());
        assert!(hear(&mut notes, &decided_payload("L"), &mut others));
        assert!(a.redeem_qr("L", 103).unwrap());
        assert!(hear(&mut notes, &decided_payload("L"), &mut others));
        // Changes that do not happen wake nobody: notifications arrive in commit order, so
        // anything sent before the marker push would be heard before it.
        others.clear();
        assert!(!a.decide_push(&approval(&t, 104)).unwrap());
        assert!(!a.redeem_qr("L", 104).unwrap());
        assert!(!a
            .decide_qr("L", QrState::Denied, Some("u"), Some("dev"), 104)
            .unwrap());
        a.insert_push(&push("marker", "u", 104)).unwrap();
        assert!(hear(&mut notes, &push_payload("u", "marker"), &mut others));
        assert!(others.is_empty(), "{others:?}");
    }
}
