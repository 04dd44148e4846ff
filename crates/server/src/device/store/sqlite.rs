//! [`DeviceStore`] on SQLite: one connection in WAL mode beside the server's own.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::*;

/// [`DeviceStore`] over one SQLite connection (WAL, so readers of the same file are not
/// blocked by it).
#[derive(Debug)]
pub struct SqliteDeviceStore {
    conn: Mutex<Connection>,
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
            .map_err(|_| Error::Storage("stored algorithm unknown".into()))?,
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
        crate::store::migrations::sqlite(&mut conn)?;
        Ok(SqliteDeviceStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| Error::Internal("device store lock poisoned".into()))?;
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
