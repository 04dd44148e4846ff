//! Push transactions and the pauses "this wasn't me" sets.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{
    audit_in, context_json, execute, i, networks_json, notify, parse_context, parse_networks,
    query, query_one, query_opt, u, Client,
};
use crate::device::store::{choices_text, parse_choices, PushDecision, PushRecord, PushState};
use crate::error::{Error, Result};
use crate::store::pg::notify::{decided_payload, push_payload};

const PUSH_COLUMNS: &str = "transaction_id, user_id, nonce, number, number_choices, context, \
     created_at, expires_at, state, device_id, reason, device_networks";

fn push_from(r: &Row) -> Result<PushRecord> {
    let number: i64 = r.try_get(3)?;
    let choices: String = r.try_get(4)?;
    let context: String = r.try_get(5)?;
    let state: String = r.try_get(8)?;
    let networks: String = r.try_get(11)?;
    Ok(PushRecord {
        transaction_id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        nonce: r.try_get(2)?,
        number: u32::try_from(number).unwrap_or(0),
        number_choices: parse_choices(&choices),
        context: parse_context(&context)?,
        device_networks: parse_networks(&networks)?,
        created_at: u(r.try_get(6)?),
        expires_at: u(r.try_get(7)?),
        state: PushState::parse(&state)
            .ok_or_else(|| Error::Storage(format!("unknown push state `{state}`")))?,
        device_id: r.try_get(9)?,
        reason: r.try_get(10)?,
    })
}

/// Inserts the push, audits it and wakes the instances the user's devices wait on, in one
/// transaction.
pub(super) async fn insert(mut c: Client, p: PushRecord) -> Result<()> {
    let ctx = context_json(&p.context)?;
    let nets = networks_json(&p.device_networks)?;
    let tx = c.transaction().await?;
    execute(
        &tx,
        &format!(
            "INSERT INTO device_push ({PUSH_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        &[
            &p.transaction_id,
            &p.user_id,
            &p.nonce,
            &i64::from(p.number),
            &choices_text(&p.number_choices),
            &ctx,
            &i(p.created_at),
            &i(p.expires_at),
            &p.state.as_str(),
            &p.device_id,
            &p.reason,
            &nets,
        ],
    )
    .await?;
    audit_in(
        &tx,
        Some(&p.user_id),
        "push.created",
        None,
        &format!(
            "application={:?} ip={:?}",
            p.context.application, p.context.ip
        ),
        p.created_at,
    )
    .await?;
    notify(&tx, &push_payload(&p.user_id, &p.transaction_id)).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn count_since<C: GenericClient>(c: &C, user_id: &str, since: u64) -> Result<u64> {
    let row = query_one(
        c,
        "SELECT COUNT(*) FROM device_push WHERE user_id = $1 AND created_at >= $2",
        &[&user_id, &i(since)],
    )
    .await?;
    Ok(u(row.try_get(0)?))
}

pub(super) async fn get<C: GenericClient>(
    c: &C,
    transaction_id: &str,
) -> Result<Option<PushRecord>> {
    let row = query_opt(
        c,
        &format!("SELECT {PUSH_COLUMNS} FROM device_push WHERE transaction_id = $1"),
        &[&transaction_id],
    )
    .await?;
    row.as_ref().map(push_from).transpose()
}

pub(super) async fn pending<C: GenericClient>(
    c: &C,
    user_id: &str,
    now: u64,
) -> Result<Vec<PushRecord>> {
    let rows = query(
        c,
        &format!(
            "SELECT {PUSH_COLUMNS} FROM device_push WHERE user_id = $1 AND state = 'pending' \
             AND expires_at > $2 ORDER BY created_at, transaction_id"
        ),
        &[&user_id, &i(now)],
    )
    .await?;
    rows.iter().map(push_from).collect()
}

pub(super) async fn count_pending<C: GenericClient>(c: &C, now: u64) -> Result<u64> {
    let row = query_one(
        c,
        "SELECT COUNT(*) FROM device_push WHERE state = 'pending' AND expires_at > $1",
        &[&i(now)],
    )
    .await?;
    Ok(u(row.try_get(0)?))
}

/// A [`PushDecision`] the database task owns.
#[derive(Debug)]
pub(super) struct Decision {
    transaction_id: String,
    state: PushState,
    device_id: Option<String>,
    reason: &'static str,
    pause_until: Option<u64>,
    now: u64,
}

impl From<&PushDecision<'_>> for Decision {
    fn from(d: &PushDecision<'_>) -> Self {
        Decision {
            transaction_id: d.transaction_id.to_owned(),
            state: d.state,
            device_id: d.device_id.map(str::to_owned),
            reason: d.reason,
            pause_until: d.pause_until,
            now: d.now,
        }
    }
}

/// Pending → the decision's state, once: an instance that loses the race waits for the
/// winner's commit, finds the row no longer pending and changes nothing. The pause, the audit
/// row and the wake-up commit with the transition.
pub(super) async fn decide(mut c: Client, d: Decision) -> Result<bool> {
    let tx = c.transaction().await?;
    let row = query_opt(
        &tx,
        "UPDATE device_push SET state = $1, device_id = $2, reason = $3, decided_at = $4 \
         WHERE transaction_id = $5 AND state = 'pending' RETURNING user_id",
        &[
            &d.state.as_str(),
            &d.device_id,
            &d.reason,
            &i(d.now),
            &d.transaction_id,
        ],
    )
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let user: String = row.try_get(0)?;
    if let Some(until) = d.pause_until {
        execute(
            &tx,
            "INSERT INTO device_pauses (user_id, until) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE \
             SET until = GREATEST(device_pauses.until, excluded.until)",
            &[&user, &i(until)],
        )
        .await?;
    }
    // The transaction id is not a secret once decided; it links the audit to the RP's logs.
    audit_in(
        &tx,
        Some(&user),
        &format!("push.{}", d.reason),
        d.device_id.as_deref(),
        &format!("transaction {}", d.transaction_id),
        d.now,
    )
    .await?;
    notify(&tx, &decided_payload(&d.transaction_id)).await?;
    tx.commit().await?;
    Ok(true)
}

/// Stamps an approved push of `user_id` as used, once. Its state does not change, so nobody
/// is woken up.
pub(super) async fn consume(
    mut c: Client,
    transaction_id: String,
    user_id: String,
    now: u64,
) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = execute(
        &tx,
        "UPDATE device_push SET consumed_at = $1 WHERE transaction_id = $2 \
         AND user_id = $3 AND state = 'approved' AND consumed_at IS NULL",
        &[&i(now), &transaction_id, &user_id],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    audit_in(
        &tx,
        Some(&user_id),
        "push.consumed",
        None,
        &format!("transaction {transaction_id}"),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn paused_until<C: GenericClient>(
    c: &C,
    user_id: &str,
    now: u64,
) -> Result<Option<u64>> {
    let row = query_opt(
        c,
        "SELECT until FROM device_pauses WHERE user_id = $1",
        &[&user_id],
    )
    .await?;
    let until: Option<i64> = row.map(|r| r.try_get(0)).transpose()?;
    Ok(until.map(u).filter(|t| *t > now))
}
