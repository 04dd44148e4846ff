//! [`crate::device::DeviceStore`] on PostgreSQL: the behaviour of
//! [`crate::device::SqliteDeviceStore`], with every guarantee held by the database so that it
//! holds for several server instances on one database.
//!
//! - Single transitions (an offer used, a push decided or consumed, a QR login decided or
//!   redeemed) are conditional `UPDATE … WHERE state = 'pending'` (or `used_at IS NULL`, …):
//!   in READ COMMITTED PostgreSQL re-checks the condition after waiting for a concurrent writer
//!   of the row, so of two racing instances exactly one sees a row change.
//! - Single-use nonces are `INSERT … ON CONFLICT DO NOTHING` on their primary key.
//! - A read-then-write that SQLite made safe by its single writer takes a row lock
//!   (`SELECT … FOR UPDATE`).
//! - Audit rows are written in the transaction of the change they record, and so are the
//!   `pg_notify` wake-ups ([`super::notify`]): delivered on commit, never for a rollback.
//!
//! By table area: [`enrollment`] (meta, offers, devices, nonces), [`push`], [`qr`].

mod enrollment;
mod push;
mod qr;

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{Client, Pg, CHANNEL};
use crate::device::network::NetworkCheck;
use crate::device::store::{
    AuditRecord, DeviceRecord, DeviceStore, EnrollOffer, PushDecision, PushRecord, QrSession,
    QrState,
};
use crate::error::Result;

/// The device factor's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgDeviceStore {
    pg: Arc<Pg>,
}

impl PgDeviceStore {
    /// Over a connected (and migrated) pool.
    pub fn new(pg: Arc<Pg>) -> Self {
        PgDeviceStore { pg }
    }

    /// The pool.
    pub fn pg(&self) -> &Arc<Pg> {
        &self.pg
    }

    /// Runs `f` with a pooled connection and waits for its answer.
    fn run<R, Fut>(&self, f: impl FnOnce(Client) -> Fut + Send + 'static) -> Result<R>
    where
        Fut: Future<Output = Result<R>> + Send + 'static,
        R: Send + 'static,
    {
        // Err outside: no connection from the pool (or the database task failed).
        self.pg.call(move |c| async move { Ok(f(c).await) })?
    }
}

/// Statement parameters.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs a statement (prepared once per connection); the number of rows it changed.
async fn execute<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<u64> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.execute(&st, params).await?)
}

/// The row a query returns, if any.
async fn query_opt<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&st, params).await?)
}

/// The rows a query returns.
async fn query<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query(&st, params).await?)
}

/// The one row a query returns.
async fn query_one<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Row> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_one(&st, params).await?)
}

/// Wakes the other instances up when the transaction `c` is in commits.
async fn notify<C: GenericClient>(c: &C, payload: &str) -> Result<()> {
    execute(c, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await?;
    Ok(())
}

/// Appends an audit row (in the caller's transaction, if any).
async fn audit_in<C: GenericClient>(
    c: &C,
    user_id: Option<&str>,
    kind: &str,
    device_id: Option<&str>,
    detail: &str,
    now: u64,
) -> Result<()> {
    execute(
        c,
        "INSERT INTO audit (user_id, kind, authenticator_id, detail, at) VALUES ($1, $2, $3, $4, $5)",
        &[&user_id, &kind, &device_id.map(push_authenticator), &detail, &i(now)],
    )
    .await?;
    Ok(())
}

// The codecs of stored values are the SQLite store's: one encoding of each column.
use crate::device::store::{
    context_json, device_of, i, networks_json, parse_context, parse_networks, push_authenticator,
    u, DEVICE_KIND_FAMILIES,
};

impl DeviceStore for PgDeviceStore {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.run(move |c| async move { enrollment::meta(&c, &key).await })
    }

    fn meta_set_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.run(move |c| async move { enrollment::meta_set_if_absent(&c, &key, &value).await })
    }

    fn insert_offer(&self, offer: &EnrollOffer, code_hash: [u8; 32]) -> Result<()> {
        let offer = offer.clone();
        self.run(move |c| enrollment::insert_offer(c, offer, code_hash))
    }

    fn begin_enrollment(
        &self,
        code_hash: [u8; 32],
        enrollment_id: &str,
        challenge: &str,
        now: u64,
    ) -> Result<Option<EnrollOffer>> {
        let (id, challenge) = (enrollment_id.to_owned(), challenge.to_owned());
        self.run(
            move |c| async move { enrollment::begin(&c, code_hash, &id, &challenge, now).await },
        )
    }

    fn find_enrollment(&self, enrollment_id: &str, now: u64) -> Result<Option<EnrollOffer>> {
        let id = enrollment_id.to_owned();
        self.run(move |c| async move { enrollment::find(&c, &id, now).await })
    }

    fn finish_enrollment(
        &self,
        enrollment_id: &str,
        device: &DeviceRecord,
        now: u64,
    ) -> Result<bool> {
        let (id, device) = (enrollment_id.to_owned(), device.clone());
        self.run(move |c| enrollment::finish(c, id, device, now))
    }

    fn device(&self, id: &str) -> Result<Option<DeviceRecord>> {
        let id = id.to_owned();
        self.run(move |c| async move { enrollment::device(&c, &id).await })
    }

    fn devices_of(&self, user_id: &str) -> Result<Vec<DeviceRecord>> {
        let user = user_id.to_owned();
        self.run(move |c| async move { enrollment::devices_of(&c, &user).await })
    }

    fn delete_device(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.run(move |c| enrollment::delete_device(c, id, now))
    }

    fn set_last_ip(&self, device_id: &str, ip: &str) -> Result<()> {
        let (id, ip) = (device_id.to_owned(), ip.to_owned());
        self.run(move |c| async move { enrollment::set_last_ip(&c, &id, &ip).await })
    }

    fn remember_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool> {
        let (id, nonce) = (device_id.to_owned(), nonce.to_owned());
        self.run(move |c| async move {
            enrollment::remember_nonce(&c, &id, &nonce, expires_at, now).await
        })
    }

    fn insert_push(&self, p: &PushRecord) -> Result<()> {
        let p = p.clone();
        self.run(move |c| push::insert(c, p))
    }

    fn count_pushes_since(&self, user_id: &str, since: u64) -> Result<u64> {
        let user = user_id.to_owned();
        self.run(move |c| async move { push::count_since(&c, &user, since).await })
    }

    fn push(&self, transaction_id: &str) -> Result<Option<PushRecord>> {
        let tx = transaction_id.to_owned();
        self.run(move |c| async move { push::get(&c, &tx).await })
    }

    fn pending_pushes(&self, user_id: &str, now: u64) -> Result<Vec<PushRecord>> {
        let user = user_id.to_owned();
        self.run(move |c| async move { push::pending(&c, &user, now).await })
    }

    fn count_pending_pushes(&self, now: u64) -> Result<u64> {
        self.run(move |c| async move { push::count_pending(&c, now).await })
    }

    fn decide_push(&self, d: &PushDecision<'_>) -> Result<bool> {
        let d = push::Decision::from(d);
        self.run(move |c| push::decide(c, d))
    }

    fn synchronous(&self) -> Result<i64> {
        self.run(move |c| async move {
            let row = query_one(&c, "SELECT current_setting('synchronous_commit')", &[]).await?;
            let setting: String = row.try_get(0)?;
            // Every setting but `off` flushes the commit record to local disk before the commit
            // is acknowledged (`local`, `remote_write`, `remote_apply` wait for more): SQLite's
            // FULL (2). `off` may lose the last commits in a crash, never consistency: NORMAL (1).
            Ok(if setting == "off" { 1 } else { 2 })
        })
    }

    fn consume_push(&self, transaction_id: &str, user_id: &str, now: u64) -> Result<bool> {
        let (tx, user) = (transaction_id.to_owned(), user_id.to_owned());
        self.run(move |c| push::consume(c, tx, user, now))
    }

    fn paused_until(&self, user_id: &str, now: u64) -> Result<Option<u64>> {
        let user = user_id.to_owned();
        self.run(move |c| async move { push::paused_until(&c, &user, now).await })
    }

    fn insert_qr(&self, session: &QrSession) -> Result<()> {
        let s = session.clone();
        self.run(move |c| async move { qr::insert(&c, &s).await })
    }

    fn qr(&self, lsi: &str) -> Result<Option<QrSession>> {
        let lsi = lsi.to_owned();
        self.run(move |c| async move { qr::get(&c, &lsi).await })
    }

    fn qr_device_network(
        &self,
        lsi: &str,
        device_id: &str,
        check: &NetworkCheck,
    ) -> Result<Option<NetworkCheck>> {
        let (lsi, id, check) = (lsi.to_owned(), device_id.to_owned(), check.clone());
        self.run(move |c| qr::device_network(c, lsi, id, check))
    }

    fn decide_qr(
        &self,
        lsi: &str,
        state: QrState,
        user_id: Option<&str>,
        device_id: Option<&str>,
        now: u64,
    ) -> Result<bool> {
        let lsi = lsi.to_owned();
        let (user, device) = (user_id.map(str::to_owned), device_id.map(str::to_owned));
        self.run(move |c| qr::decide(c, lsi, state, user, device, now))
    }

    fn redeem_qr(&self, lsi: &str, now: u64) -> Result<bool> {
        let lsi = lsi.to_owned();
        self.run(move |c| qr::redeem(c, lsi, now))
    }

    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        device_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()> {
        let (user, device) = (user_id.map(str::to_owned), device_id.map(str::to_owned));
        let (kind, detail) = (kind.to_owned(), detail.to_owned());
        self.run(move |c| async move {
            audit_in(&c, user.as_deref(), &kind, device.as_deref(), &detail, now).await
        })
    }

    fn audit_log(&self, user_id: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>> {
        let user = user_id.map(str::to_owned);
        self.run(move |c| async move {
            let rows = query(
                &c,
                "SELECT id, user_id, kind, authenticator_id, detail, at FROM audit \
                 WHERE ($1::TEXT IS NULL OR user_id = $1) AND split_part(kind, '.', 1) || '.' \
                 = ANY($3) ORDER BY id DESC LIMIT $2",
                &[&user, &i64::from(limit), &DEVICE_KIND_FAMILIES.as_slice()],
            )
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRecord {
                        id: r.try_get(0)?,
                        user_id: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        device_id: device_of(r.try_get(3)?),
                        detail: r.try_get(4)?,
                        at: u(r.try_get(5)?),
                    })
                })
                .collect()
        })
    }
}
