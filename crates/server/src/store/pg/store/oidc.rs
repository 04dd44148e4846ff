//! The OpenID Connect provider's tables: signing keys (sealed private halves, one current key)
//! and authorization codes (by SHA-256, single use).
//!
//! Several instances share these tables. A rotation first locks the key table against other
//! writers (`SHARE ROW EXCLUSIVE`: readers go on signing with the current key meanwhile), so of
//! two instances that find the key due at once, the second sees the first's new key and makes
//! none; the unique index on the current key would refuse a second one anyway. A redemption
//! locks its code's row (`FOR UPDATE`), so of two concurrent redemptions of one code the second
//! sees the first one's `used_at`.

use deadpool_postgres::{Client, GenericClient, Transaction};
use tokio_postgres::Row;

use super::{audit_tx, int, tokens, uint};
use crate::crypto::ct_eq;
use crate::error::Result;
use crate::model::{lines_from_column, lines_to_column, Application, ClientKind, TokenRecord};
use crate::store::{
    AuthorizationCode, CodeRedemption, CodeRefusal, Redeemed, Rotation, SigningKeyRow,
};

const KEY_COLUMNS: &str = "kid, alg, private_sealed, public_jwk, created_at, retire_at";

fn key_from_row(r: &Row) -> Result<SigningKeyRow> {
    Ok(SigningKeyRow {
        kid: r.try_get("kid")?,
        alg: r.try_get("alg")?,
        private_sealed: r.try_get("private_sealed")?,
        public_jwk: r.try_get("public_jwk")?,
        created_at: uint(r.try_get("created_at")?),
        retire_at: r.try_get::<_, Option<i64>>("retire_at")?.map(uint),
    })
}

pub(super) async fn application_with_secret(
    c: &Client,
    client_id: &str,
) -> Result<Option<(Application, Option<[u8; 32]>)>> {
    let st = c
        .prepare_cached(
            "SELECT client_id, name, kind, redirect_uris, created_at, updated_at, secret_hash
             FROM applications WHERE client_id = $1",
        )
        .await?;
    let Some(r) = c.query_opt(&st, &[&client_id]).await? else {
        return Ok(None);
    };
    let kind: String = r.try_get("kind")?;
    let hash: Option<Vec<u8>> = r.try_get("secret_hash")?;
    let app = Application {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        kind: ClientKind::parse(&kind).unwrap_or(ClientKind::Confidential),
        redirect_uris: lines_from_column(r.try_get("redirect_uris")?),
        created_at: uint(r.try_get("created_at")?),
        updated_at: uint(r.try_get("updated_at")?),
    };
    Ok(Some((app, hash.and_then(|h| <[u8; 32]>::try_from(h).ok()))))
}

/// The current key first, then the previous ones still published, newest first.
pub(super) async fn signing_keys<C: GenericClient>(c: &C, now: u64) -> Result<Vec<SigningKeyRow>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {KEY_COLUMNS} FROM oidc_signing_keys
             WHERE retire_at IS NULL OR retire_at > $1
             ORDER BY retire_at IS NOT NULL, created_at DESC, kid COLLATE \"C\""
        ))
        .await?;
    c.query(&st, &[&int(now)])
        .await?
        .iter()
        .map(key_from_row)
        .collect()
}

pub(super) async fn rotate(
    c: &mut Client,
    new: SigningKeyRow,
    rotation: Rotation,
    retire_at: u64,
    now: u64,
) -> Result<Vec<SigningKeyRow>> {
    let tx = c.transaction().await?;
    tx.batch_execute("LOCK TABLE oidc_signing_keys IN SHARE ROW EXCLUSIVE MODE")
        .await?;
    let current: Option<String> = tx
        .query_opt(
            "SELECT kid FROM oidc_signing_keys WHERE retire_at IS NULL",
            &[],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let due = match &rotation {
        Rotation::Now => true,
        Rotation::IfCurrentIs(expected) => *expected == current,
    };
    if due {
        tx.execute(
            "DELETE FROM oidc_signing_keys WHERE retire_at IS NOT NULL AND retire_at <= $1",
            &[&int(now)],
        )
        .await?;
        tx.execute(
            "UPDATE oidc_signing_keys SET retire_at = $1 WHERE retire_at IS NULL",
            &[&int(retire_at)],
        )
        .await?;
        tx.execute(
            &format!("INSERT INTO oidc_signing_keys({KEY_COLUMNS}) VALUES($1,$2,$3,$4,$5,NULL)"),
            &[
                &new.kid,
                &new.alg,
                &new.private_sealed,
                &new.public_jwk,
                &int(now),
            ],
        )
        .await?;
        let detail = match &current {
            Some(old) => format!(
                "kid={} previous={old} previous_retire_at={retire_at}",
                new.kid
            ),
            None => format!("kid={}", new.kid),
        };
        audit_tx(&tx, now, None, "oidc.key_rotated", None, &detail).await?;
    }
    let keys = signing_keys(&tx, now).await?;
    tx.commit().await?;
    Ok(keys)
}

/// Re-seals every private key inside the master-key rotation's transaction; how many.
pub(super) async fn reseal(tx: &Transaction<'_>, reseal: &crate::store::Reseal) -> Result<u64> {
    let rows = tx
        .query(
            "SELECT kid, private_sealed FROM oidc_signing_keys FOR UPDATE",
            &[],
        )
        .await?;
    let mut n = 0u64;
    for r in rows {
        let kid: String = r.try_get(0)?;
        let sealed: Vec<u8> = r.try_get(1)?;
        let fresh = reseal(&sealed, &crate::store::signing_key_context(&kid))?;
        tx.execute(
            "UPDATE oidc_signing_keys SET private_sealed = $1 WHERE kid = $2",
            &[&fresh, &kid],
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

pub(super) async fn insert_code(
    c: &mut Client,
    hash: [u8; 32],
    code: AuthorizationCode,
    purge_before: u64,
) -> Result<()> {
    let tx = c.transaction().await?;
    let purge = tx
        .prepare_cached("DELETE FROM oidc_codes WHERE expires_at < $1")
        .await?;
    tx.execute(&purge, &[&int(purge_before)]).await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO oidc_codes(code_hash, client_id, redirect_uri, user_id, scope, nonce,
               code_challenge, auth_time, amr, acr, session_id, created_at, expires_at)
             VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &hash.as_slice(),
            &code.client_id,
            &code.redirect_uri,
            &code.user_id,
            &code.scope,
            &code.nonce,
            &code.code_challenge,
            &int(code.auth_time),
            &lines_to_column(&code.amr),
            &code.acr,
            &code.session_id,
            &int(code.created_at),
            &int(code.expires_at),
        ],
    )
    .await?;
    audit_tx(
        &tx,
        code.created_at,
        Some(&code.user_id),
        "oidc.code_issued",
        None,
        &code.client_id,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A stored code: the grant, when it was used, and the token its redemption issued.
type StoredCode = (AuthorizationCode, Option<u64>, Option<String>);

fn code_from_row(r: &Row) -> Result<StoredCode> {
    Ok((
        AuthorizationCode {
            client_id: r.try_get("client_id")?,
            redirect_uri: r.try_get("redirect_uri")?,
            user_id: r.try_get("user_id")?,
            scope: r.try_get("scope")?,
            nonce: r.try_get("nonce")?,
            code_challenge: r.try_get("code_challenge")?,
            auth_time: uint(r.try_get("auth_time")?),
            amr: lines_from_column(r.try_get("amr")?),
            acr: r.try_get("acr")?,
            session_id: r.try_get("session_id")?,
            created_at: uint(r.try_get("created_at")?),
            expires_at: uint(r.try_get("expires_at")?),
        },
        r.try_get::<_, Option<i64>>("used_at")?.map(uint),
        r.try_get("access_token_id")?,
    ))
}

async fn refuse(
    tx: Transaction<'_>,
    code: &AuthorizationCode,
    why: CodeRefusal,
    now: u64,
) -> Result<Redeemed> {
    let kind = if why == CodeRefusal::Reused {
        "oidc.code_reused"
    } else {
        "oidc.code_refused"
    };
    let detail = format!("{} {}", code.client_id, why.as_str());
    audit_tx(&tx, now, Some(&code.user_id), kind, None, &detail).await?;
    tx.commit().await?;
    Ok(Redeemed::Refused(why))
}

pub(super) async fn redeem(
    c: &mut Client,
    hash: [u8; 32],
    redemption: CodeRedemption,
    now: u64,
) -> Result<Redeemed> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare_cached("SELECT * FROM oidc_codes WHERE code_hash = $1 FOR UPDATE")
        .await?;
    let Some(row) = tx.query_opt(&st, &[&hash.as_slice()]).await? else {
        return Ok(Redeemed::Refused(CodeRefusal::Unknown));
    };
    let (code, used_at, token_id) = code_from_row(&row)?;
    if used_at.is_some() {
        // RFC 6749 §4.1.2: what the first redemption issued is revoked.
        if let Some(id) = &token_id {
            let revoke = tx.prepare_cached(tokens::REVOKE).await?;
            tx.execute(&revoke, &[id, &int(now)]).await?;
        }
        return refuse(tx, &code, CodeRefusal::Reused, now).await;
    }
    // Any attempt uses the code up: a wrong verifier cannot be retried.
    let used = tx
        .prepare_cached("UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1")
        .await?;
    tx.execute(&used, &[&hash.as_slice(), &int(now)]).await?;
    let why = if now >= code.expires_at {
        Some(CodeRefusal::Expired)
    } else if code.client_id != redemption.client_id {
        Some(CodeRefusal::WrongClient)
    } else if code.redirect_uri != redemption.redirect_uri {
        Some(CodeRefusal::WrongRedirectUri)
    } else if !ct_eq(
        code.code_challenge.as_bytes(),
        redemption.challenge.as_bytes(),
    ) {
        Some(CodeRefusal::WrongVerifier)
    } else {
        None
    };
    if let Some(why) = why {
        return refuse(tx, &code, why, now).await;
    }
    let (mut token, token_hash): (TokenRecord, [u8; 32]) = redemption.token;
    token.user_id = Some(code.user_id.clone());
    token.scopes = code.scope.split_whitespace().map(str::to_owned).collect();
    let insert = tx.prepare_cached(tokens::INSERT).await?;
    tx.execute_raw(&insert, tokens::insert_params(&token, &token_hash))
        .await?;
    let link = tx
        .prepare_cached("UPDATE oidc_codes SET access_token_id = $2 WHERE code_hash = $1")
        .await?;
    tx.execute(&link, &[&hash.as_slice(), &token.id]).await?;
    audit_tx(
        &tx,
        now,
        Some(&code.user_id),
        "oidc.token_issued",
        None,
        &code.client_id,
    )
    .await?;
    tx.commit().await?;
    Ok(Redeemed::Issued(Box::new((code, token))))
}
