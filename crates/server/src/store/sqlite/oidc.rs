//! The OpenID Connect provider's tables: signing keys (sealed private halves, one current key)
//! and authorization codes (by SHA-256, single use). Every function runs inside the writer's
//! transaction (or on a reader), so a rotation and a redemption are each one transaction, and
//! the single writer serializes them.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit_tx;
use crate::crypto::ct_eq;
use crate::error::Result;
use crate::model::{lines_from_column, lines_to_column, Application, ClientKind, TokenRecord};
use crate::store::{
    AuthorizationCode, CodeRedemption, CodeRefusal, Redeemed, Rotation, SigningKeyRow,
};

const KEY_COLUMNS: &str = "kid, alg, private_sealed, public_jwk, created_at, retire_at";

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<SigningKeyRow> {
    Ok(SigningKeyRow {
        kid: r.get("kid")?,
        alg: r.get("alg")?,
        private_sealed: r.get("private_sealed")?,
        public_jwk: r.get("public_jwk")?,
        created_at: r.get("created_at")?,
        retire_at: r.get("retire_at")?,
    })
}

pub(super) fn application_with_secret(
    c: &Connection,
    client_id: &str,
) -> Result<Option<(Application, Option<[u8; 32]>)>> {
    let row = c
        .prepare_cached(
            "SELECT client_id, name, kind, redirect_uris, created_at, updated_at, secret_hash
             FROM applications WHERE client_id = ?1",
        )?
        .query_row([client_id], |r| {
            let kind: String = r.get("kind")?;
            let hash: Option<Vec<u8>> = r.get("secret_hash")?;
            Ok((
                Application {
                    client_id: r.get("client_id")?,
                    name: r.get("name")?,
                    kind: ClientKind::parse(&kind).unwrap_or(ClientKind::Confidential),
                    redirect_uris: lines_from_column(&r.get::<_, String>("redirect_uris")?),
                    created_at: r.get("created_at")?,
                    updated_at: r.get("updated_at")?,
                },
                hash,
            ))
        })
        .optional()?;
    Ok(row.map(|(app, hash)| (app, hash.and_then(|h| <[u8; 32]>::try_from(h).ok()))))
}

/// The current key first, then the previous ones still published, newest first.
pub(super) fn signing_keys(c: &Connection, now: u64) -> Result<Vec<SigningKeyRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM oidc_signing_keys
         WHERE retire_at IS NULL OR retire_at > ?1
         ORDER BY retire_at IS NOT NULL, created_at DESC, kid"
    ))?;
    let rows = st.query_map([now], key_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn current_kid(c: &Connection) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT kid FROM oidc_signing_keys WHERE retire_at IS NULL")?
            .query_row([], |r| r.get(0))
            .optional()?,
    )
}

pub(super) fn rotate(
    c: &Connection,
    new: &SigningKeyRow,
    rotation: &Rotation,
    retire_at: u64,
    now: u64,
) -> Result<Vec<SigningKeyRow>> {
    let current = current_kid(c)?;
    let due = match rotation {
        Rotation::Now => true,
        Rotation::IfCurrentIs(expected) => *expected == current,
    };
    if due {
        c.execute(
            "DELETE FROM oidc_signing_keys WHERE retire_at IS NOT NULL AND retire_at <= ?1",
            [now],
        )?;
        c.execute(
            "UPDATE oidc_signing_keys SET retire_at = ?1 WHERE retire_at IS NULL",
            [retire_at],
        )?;
        c.execute(
            &format!("INSERT INTO oidc_signing_keys({KEY_COLUMNS}) VALUES(?1,?2,?3,?4,?5,NULL)"),
            params![new.kid, new.alg, new.private_sealed, new.public_jwk, now],
        )?;
        let detail = match &current {
            Some(old) => format!(
                "kid={} previous={old} previous_retire_at={retire_at}",
                new.kid
            ),
            None => format!("kid={}", new.kid),
        };
        audit_tx(c, now, None, "oidc.key_rotated", None, &detail)?;
    }
    signing_keys(c, now)
}

/// Every sealed private key, for master-key rotation.
pub(super) fn sealed_keys(c: &Connection) -> Result<Vec<(String, Vec<u8>)>> {
    let mut st = c.prepare("SELECT kid, private_sealed FROM oidc_signing_keys")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Replaces one sealed private key (master-key rotation).
pub(super) fn reseal_key(c: &Connection, kid: &str, sealed: &[u8]) -> Result<()> {
    c.execute(
        "UPDATE oidc_signing_keys SET private_sealed = ?1 WHERE kid = ?2",
        params![sealed, kid],
    )?;
    Ok(())
}

pub(super) fn insert_code(
    c: &Connection,
    hash: &[u8; 32],
    code: &AuthorizationCode,
    purge_before: u64,
) -> Result<()> {
    c.prepare_cached("DELETE FROM oidc_codes WHERE expires_at < ?1")?
        .execute([purge_before])?;
    c.prepare_cached(
        "INSERT INTO oidc_codes(code_hash, client_id, redirect_uri, user_id, scope, nonce,
           code_challenge, auth_time, amr, acr, session_id, created_at, expires_at)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    )?
    .execute(params![
        hash.as_slice(),
        code.client_id,
        code.redirect_uri,
        code.user_id,
        code.scope,
        code.nonce,
        code.code_challenge,
        code.auth_time,
        lines_to_column(&code.amr),
        code.acr,
        code.session_id,
        code.created_at,
        code.expires_at
    ])?;
    audit_tx(
        c,
        code.created_at,
        Some(&code.user_id),
        "oidc.code_issued",
        None,
        &code.client_id,
    )
}

/// A stored code: the grant, when it was used, and the token its redemption issued.
type StoredCode = (AuthorizationCode, Option<u64>, Option<String>);

fn code_from_row(r: &Row<'_>) -> rusqlite::Result<StoredCode> {
    Ok((
        AuthorizationCode {
            client_id: r.get("client_id")?,
            redirect_uri: r.get("redirect_uri")?,
            user_id: r.get("user_id")?,
            scope: r.get("scope")?,
            nonce: r.get("nonce")?,
            code_challenge: r.get("code_challenge")?,
            auth_time: r.get("auth_time")?,
            amr: lines_from_column(&r.get::<_, String>("amr")?),
            acr: r.get("acr")?,
            session_id: r.get("session_id")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
        },
        r.get("used_at")?,
        r.get("access_token_id")?,
    ))
}

pub(super) fn redeem(
    c: &Connection,
    hash: &[u8; 32],
    redemption: CodeRedemption,
    now: u64,
) -> Result<Redeemed> {
    let stored = c
        .prepare_cached("SELECT * FROM oidc_codes WHERE code_hash = ?1")?
        .query_row([hash.as_slice()], code_from_row)
        .optional()?;
    let Some((code, used_at, token_id)) = stored else {
        return Ok(Redeemed::Refused(CodeRefusal::Unknown));
    };
    let refuse = |why: CodeRefusal| -> Result<Redeemed> {
        let kind = if why == CodeRefusal::Reused {
            "oidc.code_reused"
        } else {
            "oidc.code_refused"
        };
        let detail = format!("{} {}", code.client_id, why.as_str());
        audit_tx(c, now, Some(&code.user_id), kind, None, &detail)?;
        Ok(Redeemed::Refused(why))
    };
    if used_at.is_some() {
        // RFC 6749 §4.1.2: what the first redemption issued is revoked.
        if let Some(id) = &token_id {
            c.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now],
            )?;
        }
        return refuse(CodeRefusal::Reused);
    }
    // Any attempt uses the code up: a wrong verifier cannot be retried.
    c.prepare_cached("UPDATE oidc_codes SET used_at = ?2 WHERE code_hash = ?1")?
        .execute(params![hash.as_slice(), now])?;
    if now >= code.expires_at {
        return refuse(CodeRefusal::Expired);
    }
    if code.client_id != redemption.client_id {
        return refuse(CodeRefusal::WrongClient);
    }
    if code.redirect_uri != redemption.redirect_uri {
        return refuse(CodeRefusal::WrongRedirectUri);
    }
    if !ct_eq(
        code.code_challenge.as_bytes(),
        redemption.challenge.as_bytes(),
    ) {
        return refuse(CodeRefusal::WrongVerifier);
    }
    let (mut token, token_hash): (TokenRecord, [u8; 32]) = redemption.token;
    token.user_id = Some(code.user_id.clone());
    token.scopes = code.scope.split_whitespace().map(str::to_owned).collect();
    super::tokens::insert_token_tx(c, &token, &token_hash)?;
    c.prepare_cached("UPDATE oidc_codes SET access_token_id = ?2 WHERE code_hash = ?1")?
        .execute(params![hash.as_slice(), token.id])?;
    audit_tx(
        c,
        now,
        Some(&code.user_id),
        "oidc.token_issued",
        None,
        &code.client_id,
    )?;
    Ok(Redeemed::Issued(Box::new((code, token))))
}
