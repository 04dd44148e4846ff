//! Code checks with the failure counter, the one-time-use step and the audit log in one write
//! job (jobs run one after another on the writer, so each sees what its predecessor wrote).

use rusqlite::{params, Connection, OptionalExtension};
use tessera_core::Algorithm;

use super::audit_tx;
use super::factors::{auth_from_row, insert_recovery};
use super::tokens::insert_token_tx;
use crate::config::LockoutConfig;
use crate::crypto::ct_eq;
use crate::error::{Error, Result};
use crate::lockout::{gate, Gate};
use crate::model::{Authenticator, Factor, FailureRow, OtpParams, VerifyOutcome};
use crate::store::{OnSuccess, OtpCheck};

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

pub(super) fn clear_failures(conn: &Connection, user_id: &str, factor: Factor) -> Result<()> {
    conn.prepare_cached("DELETE FROM failures WHERE user_id=?1 AND factor=?2")?
        .execute(params![user_id, factor.as_str()])?;
    Ok(())
}

/// Opens the gate for an attempt: `None` (and an audit entry) when delayed or locked.
pub(super) fn admit(
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

pub(super) fn count_failure(
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

pub(super) fn otp(
    c: &Connection,
    user_id: &str,
    check: &OtpCheck,
    policy: &LockoutConfig,
    on_success: &OnSuccess,
    now: u64,
) -> Result<VerifyOutcome> {
    let exists = c
        .prepare_cached("SELECT 1 FROM users WHERE id=?1")?
        .exists([user_id])?;
    if !exists {
        return Err(Error::NotFound("user"));
    }
    let Some(row) = admit(c, user_id, Factor::Otp, policy, now)? else {
        return Ok(VerifyOutcome::Locked);
    };
    let mut st = c.prepare_cached(
        "SELECT a.*, p.algorithm, p.digits, p.period, p.secret_sealed, p.last_step
         FROM authenticators a JOIN otp_params p ON p.authenticator_id=a.id
         WHERE a.user_id=?1 AND a.kind='otp' ORDER BY a.created_at, a.rowid",
    )?;
    let rows = st
        .query_map([user_id], |r| {
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
        params.algorithm = alg
            .parse()
            .map_err(|_| Error::Storage("bad algorithm".into()))?;
        // Every authenticator is checked (no early exit) so timing says nothing about
        // which one matched.
        if let Some(step) = check(&auth, &params)? {
            if matched.is_none() {
                matched = Some((auth, step));
            }
        }
    }
    let Some((auth, step)) = matched else {
        count_failure(c, user_id, Factor::Otp, row, policy, now)?;
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
            [user_id],
        )?;
        audit_tx(c, now, Some(user_id), "confirm", Some(&auth.id), "otp")?;
    }
    if row.count > 0 {
        clear_failures(c, user_id, Factor::Otp)?;
    }
    audit_tx(c, now, Some(user_id), "verify_ok", Some(&auth.id), "otp")?;
    apply_success(c, on_success, user_id, now)?;
    Ok(VerifyOutcome::Accepted {
        authenticator_id: auth.id,
        confirmed,
        new_recovery_codes: None,
    })
}

pub(super) fn recovery_code(
    c: &Connection,
    user_id: &str,
    hash: [u8; 32],
    replacement: (String, Vec<[u8; 32]>, Vec<String>),
    policy: &LockoutConfig,
    on_success: &OnSuccess,
    now: u64,
) -> Result<VerifyOutcome> {
    let Some(row) = admit(c, user_id, Factor::RecoveryCode, policy, now)? else {
        return Ok(VerifyOutcome::Locked);
    };
    let mut st = c.prepare_cached(
        "SELECT r.rowid, r.code_hash, a.id FROM recovery_codes r
         JOIN authenticators a ON a.id=r.authenticator_id
         WHERE a.user_id=?1 AND a.active AND r.used_at IS NULL",
    )?;
    let codes = st
        .query_map([user_id], |r| {
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
        count_failure(c, user_id, Factor::RecoveryCode, row, policy, now)?;
        return Ok(VerifyOutcome::Rejected);
    };
    c.execute(
        "UPDATE recovery_codes SET used_at=?2 WHERE rowid=?1",
        params![rowid, now],
    )?;
    clear_failures(c, user_id, Factor::RecoveryCode)?;
    audit_tx(
        c,
        now,
        Some(user_id),
        "verify_ok",
        Some(&auth_id),
        "recovery-code",
    )?;
    let mut new_codes = None;
    if unused == 1 {
        let (new_id, hashes, plain) = replacement;
        insert_recovery(c, user_id, &new_id, &hashes, true, now)?;
        audit_tx(
            c,
            now,
            Some(user_id),
            "regenerate",
            Some(&new_id),
            "recovery-code",
        )?;
        new_codes = Some(plain);
    }
    apply_success(c, on_success, user_id, now)?;
    Ok(VerifyOutcome::Accepted {
        authenticator_id: auth_id,
        confirmed: false,
        new_recovery_codes: new_codes,
    })
}

pub(super) fn reserve_attempt(
    c: &Connection,
    user_id: &str,
    factor: Factor,
    policy: &LockoutConfig,
    now: u64,
) -> Result<bool> {
    let Some(row) = admit(c, user_id, factor, policy, now)? else {
        return Ok(false);
    };
    let row = FailureRow {
        count: row.count.saturating_add(1),
        last_failure_at: now,
    };
    store_failures(c, user_id, factor, row)?;
    Ok(true)
}

pub(super) fn failures(c: &Connection, user_id: &str) -> Result<Vec<(Factor, FailureRow)>> {
    let mut out = Vec::new();
    for f in [
        Factor::Password,
        Factor::Otp,
        Factor::RecoveryCode,
        Factor::OobCode,
    ] {
        let row = load_failures(c, user_id, f)?;
        if row.count > 0 {
            out.push((f, row));
        }
    }
    Ok(out)
}

pub(super) fn unlock(c: &Connection, user_id: &str, now: u64) -> Result<bool> {
    let n = c.execute("DELETE FROM failures WHERE user_id=?1", [user_id])?;
    audit_tx(c, now, Some(user_id), "unlock", None, "")?;
    Ok(n > 0)
}
