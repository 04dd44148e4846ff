//! Code checks with the failure counter, the one-time-use step and the audit log in one
//! transaction, serialised per user by the user's row lock (taken first, so every instance
//! waits for the one before and then reads what it committed).

use deadpool_postgres::{Client, Transaction};
use tessera_core::Algorithm;
use tokio_postgres::{Row, Statement};

use super::factors::{auth_from_row, insert_recovery, ORDER};
use super::{
    audit_row, audit_tx, exec, int, send_all, tokens, uint, Pending, AUDIT_INSERT, LOCK_USER,
};
use crate::config::LockoutConfig;
use crate::crypto::ct_eq;
use crate::error::{Error, Result};
use crate::lockout::{gate, Gate};
use crate::model::{Authenticator, Factor, FailureRow, OtpParams, VerifyOutcome};
use crate::store::{OnSuccess, OtpCheck};

pub(super) const CLEAR_FAILURES: &str = "DELETE FROM failures WHERE user_id = $1 AND factor = $2";
pub(super) const LOAD_FAILURES: &str =
    "SELECT count, last_failure_at FROM failures WHERE user_id = $1 AND factor = $2";
pub(super) const STORE_FAILURES: &str =
    "INSERT INTO failures(user_id, factor, count, last_failure_at) VALUES($1, $2, $3, $4)
     ON CONFLICT(user_id, factor) DO UPDATE
       SET count = excluded.count, last_failure_at = excluded.last_failure_at";
/// The one-time step only moves forward (the row lock already makes the check see the last
/// step committed; with one-time use off the same step may match again and changes nothing).
const ADVANCE_STEP: &str = "UPDATE otp_params SET last_step = $2
     WHERE authenticator_id = $1 AND (last_step IS NULL OR last_step < $2)";
const ACTIVATE: &str = "UPDATE authenticators SET active = TRUE WHERE id = $1";
const ACTIVATE_RECOVERY: &str =
    "UPDATE authenticators SET active = TRUE WHERE user_id = $1 AND kind = 'recovery-code'";
const UNUSED_CODES: &str = "SELECT r.code_hash, a.id FROM recovery_codes r
     JOIN authenticators a ON a.id = r.authenticator_id
     WHERE a.user_id = $1 AND a.active AND r.used_at IS NULL";
const USE_CODE: &str = "UPDATE recovery_codes SET used_at = $3 WHERE ctid = (
     SELECT ctid FROM recovery_codes
      WHERE authenticator_id = $1 AND code_hash = $2 AND used_at IS NULL LIMIT 1)";

fn otp_rows() -> String {
    format!(
        "SELECT a.*, p.algorithm, p.digits, p.period, p.secret_sealed, p.last_step
           FROM authenticators a JOIN otp_params p ON p.authenticator_id = a.id
          WHERE a.user_id = $1 AND a.kind = 'otp' {ORDER}"
    )
}

/// Prepares (or takes from the connection's cache) every statement at once.
async fn prepare<const N: usize>(tx: &Transaction<'_>, sql: [&str; N]) -> Result<[Statement; N]> {
    let all = futures_util::future::try_join_all(sql.iter().map(|s| tx.prepare_cached(s))).await?;
    all.try_into()
        .map_err(|_| Error::Internal("statement count".into()))
}

pub(super) fn failure_row(row: Option<Row>) -> Result<FailureRow> {
    let Some(r) = row else {
        return Ok(FailureRow::default());
    };
    Ok(FailureRow {
        count: u32::try_from(r.try_get::<_, i64>(0)?).unwrap_or(u32::MAX),
        last_failure_at: uint(r.try_get(1)?),
    })
}

/// Opens the gate for an attempt: the counter to build on, or `None` (with an audit entry)
/// when delayed or locked.
pub(super) async fn admit(
    tx: &Transaction<'_>,
    user_id: &str,
    factor: Factor,
    policy: &LockoutConfig,
    row: FailureRow,
    now: u64,
) -> Result<Option<FailureRow>> {
    match gate(policy, row, now) {
        Gate::Open { reset: false } => Ok(Some(row)),
        Gate::Open { reset: true } => Ok(Some(FailureRow::default())),
        Gate::Delayed { .. } | Gate::Locked => {
            audit_tx(
                tx,
                now,
                Some(user_id),
                "verify_refused",
                None,
                factor.as_str(),
            )
            .await?;
            Ok(None)
        }
    }
}

/// The writes of a wrong code: the counter, `verify_fail`, and `lockout` when it reaches the
/// cap.
#[allow(clippy::too_many_arguments)] // the statements and the attempt's facts, all needed
fn failure_writes<'a>(
    tx: &'a Transaction<'_>,
    store: &Statement,
    audit: &Statement,
    user_id: &str,
    factor: Factor,
    row: FailureRow,
    policy: &LockoutConfig,
    now: u64,
) -> Vec<Pending<'a>> {
    let count = row.count.saturating_add(1);
    let mut w = vec![
        exec(
            tx,
            store,
            vec![
                Box::new(user_id.to_owned()),
                Box::new(factor.as_str()),
                Box::new(i64::from(count)),
                Box::new(int(now)),
            ],
        ),
        audit_row(
            tx,
            audit,
            now,
            Some(user_id),
            "verify_fail",
            None,
            factor.as_str(),
        ),
    ];
    if count == policy.max_failures {
        w.push(audit_row(
            tx,
            audit,
            now,
            Some(user_id),
            "lockout",
            None,
            factor.as_str(),
        ));
    }
    w
}

/// Statements of the MFA grants completed by a success.
struct Grants {
    revoke: Statement,
    issue: Statement,
}

/// Appends the success's grant writes (revoke the `mfa_token`, issue a token) to `w`; the
/// position of the revocation, whose row count must be checked.
fn success_writes<'a>(
    tx: &'a Transaction<'_>,
    w: &mut Vec<Pending<'a>>,
    grants: &Grants,
    audit: &Statement,
    on: &OnSuccess,
    user_id: &str,
    now: u64,
) -> Option<usize> {
    let mut revoke_at = None;
    if let Some(id) = &on.revoke_token_id {
        revoke_at = Some(w.len());
        w.push(exec(
            tx,
            &grants.revoke,
            vec![Box::new(id.clone()), Box::new(int(now))],
        ));
        w.push(audit_row(
            tx,
            audit,
            now,
            Some(user_id),
            "token_use",
            None,
            "mfa_token",
        ));
    }
    if let Some((token, hash)) = &on.issue {
        w.push(exec(tx, &grants.issue, tokens::insert_params(token, hash)));
        w.push(audit_row(
            tx,
            audit,
            now,
            Some(user_id),
            "token_issued",
            None,
            token.kind.as_str(),
        ));
    }
    revoke_at
}

/// Sends `w`; an error when the `mfa_token` at `revoke_at` was already used (another request
/// completed MFA with it first — the caller's transaction then rolls back).
async fn send_checked(w: Vec<Pending<'_>>, revoke_at: Option<usize>) -> Result<()> {
    let counts = send_all(w).await?;
    if let Some(i) = revoke_at {
        if counts.get(i).copied().unwrap_or(0) == 0 {
            return Err(Error::InvalidGrant("Invalid or expired mfa_token."));
        }
    }
    Ok(())
}

fn otp_from_row(r: &Row) -> Result<(Authenticator, OtpParams)> {
    let alg: String = r.try_get("algorithm")?;
    let algorithm: Algorithm = alg
        .parse()
        .map_err(|_| Error::Storage("bad algorithm".into()))?;
    let bad = |what: &str| Error::Storage(format!("bad {what}"));
    Ok((
        auth_from_row(r)?,
        OtpParams {
            algorithm,
            digits: u8::try_from(r.try_get::<_, i32>("digits")?).map_err(|_| bad("digits"))?,
            period: u32::try_from(r.try_get::<_, i32>("period")?).map_err(|_| bad("period"))?,
            secret_sealed: r.try_get("secret_sealed")?,
            last_step: r.try_get::<_, Option<i64>>("last_step")?.map(uint),
        },
    ))
}

/// Checks a TOTP code against the user's OTP authenticators.
pub(super) async fn otp(
    c: &mut Client,
    user_id: &str,
    check: OtpCheck,
    policy: &LockoutConfig,
    on: &OnSuccess,
    now: u64,
) -> Result<VerifyOutcome> {
    let factor = Factor::Otp;
    let tx = c.transaction().await?;
    let rows_sql = otp_rows();
    let [lock, load, rows_st, store, clear, audit, advance, activate, activate_rc, revoke, issue] =
        prepare(
            &tx,
            [
                LOCK_USER,
                LOAD_FAILURES,
                &rows_sql,
                STORE_FAILURES,
                CLEAR_FAILURES,
                AUDIT_INSERT,
                ADVANCE_STEP,
                ACTIVATE,
                ACTIVATE_RECOVERY,
                tokens::REVOKE,
                tokens::INSERT,
            ],
        )
        .await?;
    if tx.query_opt(&lock, &[&user_id]).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    // After the lock: both read what the previous holder committed.
    let (failures, rows) = futures_util::future::try_join(
        tx.query_opt(&load, &[&user_id, &factor.as_str()]),
        tx.query(&rows_st, &[&user_id]),
    )
    .await?;
    let Some(row) = admit(&tx, user_id, factor, policy, failure_row(failures)?, now).await? else {
        tx.commit().await?;
        return Ok(VerifyOutcome::Locked);
    };
    let mut matched: Option<(Authenticator, u64)> = None;
    for r in &rows {
        let (auth, params) = otp_from_row(r)?;
        // Every authenticator is checked (no early exit) so timing says nothing about which
        // one matched.
        if let Some(step) = check(&auth, &params)? {
            if matched.is_none() {
                matched = Some((auth, step));
            }
        }
    }
    let Some((auth, step)) = matched else {
        send_all(failure_writes(
            &tx, &store, &audit, user_id, factor, row, policy, now,
        ))
        .await?;
        tx.commit().await?;
        return Ok(VerifyOutcome::Rejected);
    };
    let confirmed = !auth.active;
    let mut w = vec![exec(
        &tx,
        &advance,
        vec![Box::new(auth.id.clone()), Box::new(int(step))],
    )];
    if confirmed {
        w.push(exec(&tx, &activate, vec![Box::new(auth.id.clone())]));
        w.push(exec(&tx, &activate_rc, vec![Box::new(user_id.to_owned())]));
        w.push(audit_row(
            &tx,
            &audit,
            now,
            Some(user_id),
            "confirm",
            Some(&auth.id),
            "otp",
        ));
    }
    if row.count > 0 {
        w.push(exec(
            &tx,
            &clear,
            vec![Box::new(user_id.to_owned()), Box::new(factor.as_str())],
        ));
    }
    w.push(audit_row(
        &tx,
        &audit,
        now,
        Some(user_id),
        "verify_ok",
        Some(&auth.id),
        "otp",
    ));
    let grants = Grants { revoke, issue };
    let revoke_at = success_writes(&tx, &mut w, &grants, &audit, on, user_id, now);
    send_checked(w, revoke_at).await?;
    tx.commit().await?;
    Ok(VerifyOutcome::Accepted {
        authenticator_id: auth.id,
        confirmed,
        new_recovery_codes: None,
    })
}

/// Checks a recovery code (hashes compared in constant time); installs `replacement` when the
/// last unused code is used.
pub(super) async fn recovery_code(
    c: &mut Client,
    user_id: &str,
    hash: [u8; 32],
    replacement: (String, Vec<[u8; 32]>, Vec<String>),
    policy: &LockoutConfig,
    on: &OnSuccess,
    now: u64,
) -> Result<VerifyOutcome> {
    let factor = Factor::RecoveryCode;
    let tx = c.transaction().await?;
    let [lock, load, codes_st, store, clear, audit, use_code, revoke, issue] = prepare(
        &tx,
        [
            LOCK_USER,
            LOAD_FAILURES,
            UNUSED_CODES,
            STORE_FAILURES,
            CLEAR_FAILURES,
            AUDIT_INSERT,
            USE_CODE,
            tokens::REVOKE,
            tokens::INSERT,
        ],
    )
    .await?;
    if tx.query_opt(&lock, &[&user_id]).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    let (failures, codes) = futures_util::future::try_join(
        tx.query_opt(&load, &[&user_id, &factor.as_str()]),
        tx.query(&codes_st, &[&user_id]),
    )
    .await?;
    let Some(row) = admit(&tx, user_id, factor, policy, failure_row(failures)?, now).await? else {
        tx.commit().await?;
        return Ok(VerifyOutcome::Locked);
    };
    let unused = codes.len();
    let mut matched: Option<(Vec<u8>, String)> = None;
    for r in &codes {
        let stored: Vec<u8> = r.try_get(0)?;
        let auth_id: String = r.try_get(1)?;
        if ct_eq(&stored, &hash) && matched.is_none() {
            matched = Some((stored, auth_id));
        }
    }
    let Some((stored, auth_id)) = matched else {
        send_all(failure_writes(
            &tx, &store, &audit, user_id, factor, row, policy, now,
        ))
        .await?;
        tx.commit().await?;
        return Ok(VerifyOutcome::Rejected);
    };
    send_all(vec![
        exec(
            &tx,
            &use_code,
            vec![
                Box::new(auth_id.clone()),
                Box::new(stored),
                Box::new(int(now)),
            ],
        ),
        exec(
            &tx,
            &clear,
            vec![Box::new(user_id.to_owned()), Box::new(factor.as_str())],
        ),
        audit_row(
            &tx,
            &audit,
            now,
            Some(user_id),
            "verify_ok",
            Some(&auth_id),
            "recovery-code",
        ),
    ])
    .await?;
    let mut new_codes = None;
    if unused == 1 {
        let (new_id, hashes, plain) = replacement;
        insert_recovery(&tx, user_id, &new_id, &hashes, true, now).await?;
        audit_tx(
            &tx,
            now,
            Some(user_id),
            "regenerate",
            Some(&new_id),
            "recovery-code",
        )
        .await?;
        new_codes = Some(plain);
    }
    let mut w = Vec::new();
    let grants = Grants { revoke, issue };
    let revoke_at = success_writes(&tx, &mut w, &grants, &audit, on, user_id, now);
    send_checked(w, revoke_at).await?;
    tx.commit().await?;
    Ok(VerifyOutcome::Accepted {
        authenticator_id: auth_id,
        confirmed: false,
        new_recovery_codes: new_codes,
    })
}

/// Counts an attempt of a factor checked outside the store; `false` when delayed or locked.
pub(super) async fn reserve_attempt(
    c: &mut Client,
    user_id: &str,
    factor: Factor,
    policy: &LockoutConfig,
    now: u64,
) -> Result<bool> {
    let tx = c.transaction().await?;
    let [lock, load, store] = prepare(&tx, [LOCK_USER, LOAD_FAILURES, STORE_FAILURES]).await?;
    if tx.query_opt(&lock, &[&user_id]).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    let found = tx.query_opt(&load, &[&user_id, &factor.as_str()]).await?;
    let Some(row) = admit(&tx, user_id, factor, policy, failure_row(found)?, now).await? else {
        tx.commit().await?;
        return Ok(false);
    };
    let count = i64::from(row.count.saturating_add(1));
    tx.execute(&store, &[&user_id, &factor.as_str(), &count, &int(now)])
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The user's non-zero failure counters (password, OTP, recovery codes in that order).
pub(super) async fn failures(c: &Client, user_id: &str) -> Result<Vec<(Factor, FailureRow)>> {
    let st = c
        .prepare_cached(
            "SELECT factor, count, last_failure_at FROM failures WHERE user_id = $1 AND count > 0",
        )
        .await?;
    let rows = c.query(&st, &[&user_id]).await?;
    let mut out = Vec::new();
    for f in [
        Factor::Password,
        Factor::Otp,
        Factor::RecoveryCode,
        Factor::OobCode,
    ] {
        for r in &rows {
            if r.try_get::<_, &str>(0)? == f.as_str() {
                out.push((
                    f,
                    FailureRow {
                        count: u32::try_from(r.try_get::<_, i64>(1)?).unwrap_or(u32::MAX),
                        last_failure_at: uint(r.try_get(2)?),
                    },
                ));
            }
        }
    }
    Ok(out)
}

/// Clears every counter of the user (admin unlock); whether any existed.
pub(super) async fn unlock(c: &mut Client, user_id: &str, now: u64) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx
        .execute("DELETE FROM failures WHERE user_id = $1", &[&user_id])
        .await?;
    audit_tx(&tx, now, Some(user_id), "unlock", None, "").await?;
    tx.commit().await?;
    Ok(n > 0)
}
