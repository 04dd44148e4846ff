//! [`crate::store::Store`] on PostgreSQL.
//!
//! Same behaviour as [`crate::store::sqlite::SqliteStore`], with the guarantees coming from
//! the database so that they hold across instances: every method that checks a code or counts
//! an attempt first takes the user's row lock (`SELECT … FROM users … FOR NO KEY UPDATE`), so
//! the checks of one user run one after another whichever instance receives them, and each
//! sees the counter and the one-time-use step its predecessor committed. OTP enrollments,
//! recovery-code replacements and authenticator deletions take the same lock first (the
//! enrollment cap stays exact, and rows are locked in one order, so a deletion and a
//! verification cannot deadlock). `NO KEY` because nothing here changes the user's key: rows
//! that only reference the user (audit, tokens, authenticators) can still be inserted by
//! others meanwhile.
//!
//! Each method is one transaction. Statements that do not depend on each other's results are
//! sent together (the driver pipelines futures polled at once), so a verification costs
//! BEGIN, the lock, one read, one write and COMMIT, whatever it writes.
//!
//! The work is split by area: [`users`] (users, organizations, meta), [`tokens`],
//! [`factors`] (authenticators and recovery codes), [`verify`] (checks, failure counters)
//! and [`audit`].

mod applications;
mod audit;
mod factors;
mod oidc;
mod oob;
mod passkeys;
mod policies;
mod signin;
mod tokens;
mod typing;
mod users;
mod verify;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

use super::Pg;
use crate::config::LockoutConfig;
use crate::error::{Error, Result};
use crate::model::{
    Application, ApplicationPatch, AuditEvent, Authenticator, BrowserRecord, Factor, FailureRow,
    FlowRecord, NewUser, Organization, SessionRecord, SignInRecord, TokenRecord, User, UserPatch,
    VerifyOutcome,
};
use crate::store::{
    AuditFilter, AuthorizationCode, Ceremony, CodeRedemption, Done, NewOtp, OnSuccess, OtpCheck,
    PasskeyRow, PasskeyUse, PolicyVersion, Redeemed, Rotation, SigningKeyRow, Store, StoreStatus,
};

/// The server's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pg: Arc<Pg>,
}

impl PgStore {
    /// Over a connected (and migrated) pool.
    pub fn new(pg: Arc<Pg>) -> Self {
        PgStore { pg }
    }

    /// The pool.
    pub fn pg(&self) -> &Arc<Pg> {
        &self.pg
    }
}

// ---------------------------------------------------------------- shared helpers

/// A statement parameter the statement's future owns (so futures can be collected and sent
/// together).
type Param = Box<dyn ToSql + Sync + Send>;

/// A statement sent with others: its affected row count.
type Pending<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// Unix seconds and counters as BIGINT (times far beyond 2^63 do not occur; they saturate).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// BIGINT back to unsigned (the store never writes negatives).
fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Page `page` (1-based) of `per_page` (1–100), as LIMIT and OFFSET.
fn page_bounds(page: u32, per_page: u32) -> (i64, i64) {
    let per = i64::from(per_page.clamp(1, 100));
    let offset = i64::from(page.max(1) - 1) * per;
    (per, offset)
}

/// `e` as a conflict with `message` when it is a unique violation.
fn conflict(e: tokio_postgres::Error, message: &str) -> Error {
    if super::is_unique_violation(&e) {
        Error::Conflict(message.to_owned())
    } else {
        Error::from(e)
    }
}

/// Runs `statement` with owned parameters, to be joined with others.
fn exec<'a>(tx: &'a Transaction<'_>, statement: &Statement, params: Vec<Param>) -> Pending<'a> {
    let statement = statement.clone();
    Box::pin(async move { tx.execute_raw(&statement, params).await })
}

/// Sends every statement at once (in order: the driver writes each on its first poll) and
/// waits for all; their row counts.
async fn send_all(pending: Vec<Pending<'_>>) -> Result<Vec<u64>> {
    Ok(futures_util::future::try_join_all(pending).await?)
}

const AUDIT_INSERT: &str =
    "INSERT INTO audit(at, user_id, kind, authenticator_id, detail) VALUES($1,$2,$3,$4,$5)";

/// An audit row, to be sent with the transaction's other writes.
fn audit_row<'a>(
    tx: &'a Transaction<'_>,
    statement: &Statement,
    now: u64,
    user_id: Option<&str>,
    kind: &str,
    authenticator_id: Option<&str>,
    detail: &str,
) -> Pending<'a> {
    exec(
        tx,
        statement,
        vec![
            Box::new(int(now)),
            Box::new(user_id.map(str::to_owned)),
            Box::new(kind.to_owned()),
            Box::new(authenticator_id.map(str::to_owned)),
            Box::new(detail.to_owned()),
        ],
    )
}

/// Writes one audit row now.
async fn audit_tx(
    tx: &Transaction<'_>,
    now: u64,
    user_id: Option<&str>,
    kind: &str,
    authenticator_id: Option<&str>,
    detail: &str,
) -> Result<()> {
    let st = tx.prepare_cached(AUDIT_INSERT).await?;
    tx.execute(
        &st,
        &[&int(now), &user_id, &kind, &authenticator_id, &detail],
    )
    .await?;
    Ok(())
}

const LOCK_USER: &str = "SELECT 1 FROM users WHERE id=$1 FOR NO KEY UPDATE";

/// Takes the user's row lock until the transaction ends; whether the user exists.
async fn lock_user(tx: &Transaction<'_>, user_id: &str) -> Result<bool> {
    let st = tx.prepare_cached(LOCK_USER).await?;
    Ok(tx.query_opt(&st, &[&user_id]).await?.is_some())
}

// ---------------------------------------------------------------- the trait

impl Store for PgStore {
    fn reseal(&self, reseal: crate::store::Reseal) -> Result<u64> {
        self.pg.call(move |mut c| async move {
            let tx = c.transaction().await?;
            // Every sealed row locked at once: nothing seals under the old key meanwhile.
            let rows = tx
                .query(
                    "SELECT authenticator_id, secret_sealed FROM otp_params FOR UPDATE",
                    &[],
                )
                .await?;
            let mut n = 0u64;
            for r in rows {
                let id: String = r.get(0);
                let sealed: Vec<u8> = r.get(1);
                let fresh = reseal(&sealed, id.as_bytes())?;
                tx.execute(
                    "UPDATE otp_params SET secret_sealed = $1 WHERE authenticator_id = $2",
                    &[&fresh, &id],
                )
                .await?;
                n += 1;
            }
            let identity = tx
                .query_opt(
                    "SELECT value FROM device_meta WHERE key = 'identity_sealed' FOR UPDATE",
                    &[],
                )
                .await?;
            if let Some(r) = identity {
                let sealed: Vec<u8> = r.get(0);
                let fresh = reseal(&sealed, crate::store::IDENTITY_CONTEXT)?;
                tx.execute(
                    "UPDATE device_meta SET value = $1 WHERE key = 'identity_sealed'",
                    &[&fresh],
                )
                .await?;
                n += 1;
            }
            n += oidc::reseal(&tx, &reseal).await?;
            n += typing::reseal(&tx, &reseal).await?;
            n += passkeys::reseal(&tx, &reseal).await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    fn status(&self) -> Result<StoreStatus> {
        let version = self
            .pg
            .call(|c| async move { super::recorded_version(&c).await })?;
        let (open, idle, waiting) = self.pg.pool_status();
        Ok(StoreStatus {
            schema_version: version,
            schema_expected: crate::store::migrations::latest(),
            readers_open: open,
            readers_idle: idle,
            writes_queued: waiting,
        })
    }

    fn set_meta_if_absent(&self, key: &str, value: &str) -> Result<bool> {
        let (k, v) = (key.to_owned(), value.to_owned());
        self.pg
            .call(move |c| async move { users::set_meta_if_absent(&c, &k, &v).await })
    }

    fn create_user(&self, user: NewUser, now: u64) -> Result<User> {
        let id = crate::crypto::random_id("usr_")?;
        self.pg
            .call(move |mut c| async move { users::create_user(&mut c, id, user, now).await })
    }

    fn list_users(&self, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
        self.pg
            .call(move |c| async move { users::list_users(&c, page, per_page).await })
    }

    fn search_users(&self, text: &str, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
        let text = text.to_owned();
        self.pg
            .call(move |c| async move { users::search_users(&c, &text, page, per_page).await })
    }

    fn get_user(&self, id: &str) -> Result<Option<User>> {
        let id = id.to_owned();
        self.pg
            .call(move |c| async move { Ok(users::get_user(&c, &id).await?.map(|(u, _)| u)) })
    }

    fn find_user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        let username = username.to_owned();
        self.pg
            .call(move |c| async move { users::find_by_username(&c, &username).await })
    }

    fn update_user(&self, id: &str, patch: UserPatch, now: u64) -> Result<Option<User>> {
        let id = id.to_owned();
        self.pg
            .call(move |mut c| async move { users::update_user(&mut c, &id, patch, now).await })
    }

    fn delete_user(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.pg
            .call(move |mut c| async move { users::delete_user(&mut c, &id, now).await })
    }

    fn create_org(&self, name: &str, require_mfa: bool) -> Result<Organization> {
        let org = Organization {
            id: crate::crypto::random_id("org_")?,
            name: name.to_owned(),
            require_mfa,
        };
        self.pg
            .call(move |c| async move { users::create_org(&c, org).await })
    }

    fn list_orgs(&self) -> Result<Vec<Organization>> {
        self.pg.call(|c| async move { users::list_orgs(&c).await })
    }

    fn update_org(
        &self,
        id: &str,
        name: Option<String>,
        require_mfa: Option<bool>,
    ) -> Result<Option<Organization>> {
        let id = id.to_owned();
        self.pg.call(
            move |mut c| async move { users::update_org(&mut c, &id, name, require_mfa).await },
        )
    }

    fn org_requires_mfa(&self, user_id: &str) -> Result<bool> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { users::org_requires_mfa(&c, &user_id).await })
    }

    fn policy(&self, version: Option<u64>) -> Result<Option<PolicyVersion>> {
        self.pg
            .call(move |c| async move { policies::get(&c, version).await })
    }

    fn put_policy(
        &self,
        document: &str,
        author: &str,
        expected: Option<u64>,
        now: u64,
    ) -> Result<PolicyVersion> {
        let (document, author) = (document.to_owned(), author.to_owned());
        self.pg.call(move |mut c| async move {
            policies::put(&mut c, &document, &author, expected, now).await
        })
    }

    fn policy_versions(&self) -> Result<Vec<PolicyVersion>> {
        self.pg.call(|c| async move { policies::list(&c).await })
    }

    fn insert_flow(&self, flow: FlowRecord) -> Result<()> {
        self.pg
            .call(move |mut c| async move { signin::insert_flow(&mut c, &flow).await })
    }

    fn flow(&self, id_hash: [u8; 32]) -> Result<Option<FlowRecord>> {
        self.pg
            .call(move |c| async move { signin::flow(&c, id_hash).await })
    }

    fn update_flow(&self, id_hash: [u8; 32], revision: u64, document: &str) -> Result<bool> {
        let document = document.to_owned();
        self.pg.call(
            move |c| async move { signin::update_flow(&c, id_hash, revision, &document).await },
        )
    }

    fn save_session(&self, hash: [u8; 32], session: SessionRecord) -> Result<()> {
        self.pg
            .call(move |mut c| async move { signin::save_session(&mut c, hash, &session).await })
    }

    fn session(&self, hash: [u8; 32]) -> Result<Option<SessionRecord>> {
        self.pg
            .call(move |c| async move { signin::session(&c, hash).await })
    }

    fn sessions_of(&self, user_id: &str, now: u64) -> Result<Vec<SessionRecord>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { signin::sessions_of(&c, &user_id, now).await })
    }

    fn end_sessions(&self, user_id: &str, id: Option<&str>, now: u64) -> Result<usize> {
        let (user_id, id) = (user_id.to_owned(), id.map(str::to_owned));
        self.pg.call(move |mut c| async move {
            signin::end_sessions(&mut c, &user_id, id.as_deref(), now).await
        })
    }

    fn browser(&self, hash: [u8; 32], user_id: &str) -> Result<Option<BrowserRecord>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { signin::browser(&c, hash, &user_id).await })
    }

    fn record_sign_in(&self, sign_in: SignInRecord) -> Result<()> {
        self.pg
            .call(move |mut c| async move { signin::record_sign_in(&mut c, &sign_in).await })
    }

    fn typing_profile(&self, user_id: &str) -> Result<Option<Vec<u8>>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { typing::profile(&c, &user_id).await })
    }

    fn update_typing_profile(
        &self,
        user_id: &str,
        update: crate::store::TypingUpdate,
        now: u64,
    ) -> Result<()> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |mut c| async move { typing::update(&mut c, &user_id, update, now).await })
    }

    fn create_application(&self, app: Application, secret_hash: Option<[u8; 32]>) -> Result<()> {
        self.pg
            .call(move |mut c| async move { applications::create(&mut c, &app, secret_hash).await })
    }

    fn applications(&self) -> Result<Vec<Application>> {
        self.pg
            .call(|c| async move { applications::list(&c).await })
    }

    fn application(&self, client_id: &str) -> Result<Option<Application>> {
        let id = client_id.to_owned();
        self.pg
            .call(move |c| async move { applications::get(&c, &id).await })
    }

    fn update_application(
        &self,
        client_id: &str,
        patch: ApplicationPatch,
        now: u64,
    ) -> Result<Option<Application>> {
        let id = client_id.to_owned();
        self.pg
            .call(move |mut c| async move { applications::update(&mut c, &id, patch, now).await })
    }

    fn delete_application(&self, client_id: &str, now: u64) -> Result<bool> {
        let id = client_id.to_owned();
        self.pg
            .call(move |mut c| async move { applications::delete(&mut c, &id, now).await })
    }

    fn application_with_secret(
        &self,
        client_id: &str,
    ) -> Result<Option<(Application, Option<[u8; 32]>)>> {
        let id = client_id.to_owned();
        self.pg
            .call(move |c| async move { oidc::application_with_secret(&c, &id).await })
    }

    fn signing_keys(&self, now: u64) -> Result<Vec<SigningKeyRow>> {
        self.pg
            .call(move |c| async move { oidc::signing_keys(&c, now).await })
    }

    fn rotate_signing_key(
        &self,
        new: SigningKeyRow,
        rotation: Rotation,
        retire_at: u64,
        now: u64,
    ) -> Result<Vec<SigningKeyRow>> {
        self.pg.call(move |mut c| async move {
            oidc::rotate(&mut c, new, rotation, retire_at, now).await
        })
    }

    fn insert_code(
        &self,
        hash: [u8; 32],
        code: AuthorizationCode,
        purge_before: u64,
    ) -> Result<()> {
        self.pg.call(move |mut c| async move {
            oidc::insert_code(&mut c, hash, code, purge_before).await
        })
    }

    fn redeem_code(
        &self,
        hash: [u8; 32],
        redemption: CodeRedemption,
        now: u64,
    ) -> Result<Redeemed> {
        self.pg
            .call(move |mut c| async move { oidc::redeem(&mut c, hash, redemption, now).await })
    }

    fn insert_token(&self, token: TokenRecord, hash: [u8; 32]) -> Result<()> {
        self.pg.call(move |c| async move {
            let st = c.prepare_cached(tokens::INSERT).await?;
            c.execute_raw(&st, tokens::insert_params(&token, &hash))
                .await?;
            Ok(())
        })
    }

    fn find_token(&self, hash: [u8; 32]) -> Result<Option<TokenRecord>> {
        self.pg
            .call(move |c| async move { tokens::find(&c, hash).await })
    }

    fn list_management_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.pg
            .call(|c| async move { tokens::list_management(&c).await })
    }

    fn revoke_token(&self, id: &str, now: u64) -> Result<bool> {
        let id = id.to_owned();
        self.pg
            .call(move |mut c| async move { tokens::revoke(&mut c, &id, now).await })
    }

    fn list_authenticators(&self, user_id: &str) -> Result<Vec<Authenticator>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { factors::list(&c, &user_id).await })
    }

    fn create_otp(&self, new: NewOtp, now: u64) -> Result<()> {
        self.pg
            .call(move |mut c| async move { factors::create_otp(&mut c, new, now).await })
    }

    fn create_authenticator(&self, authenticator: Authenticator, now: u64) -> Result<()> {
        self.pg.call(move |mut c| async move {
            factors::create_authenticator(&mut c, authenticator, now).await
        })
    }

    fn delete_authenticator(&self, user_id: &str, id: &str, now: u64) -> Result<Vec<String>> {
        let (user_id, id) = (user_id.to_owned(), id.to_owned());
        self.pg
            .call(move |mut c| async move { factors::delete(&mut c, &user_id, &id, now).await })
    }

    fn delete_all_authenticators(&self, user_id: &str, now: u64) -> Result<usize> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |mut c| async move { factors::delete_all(&mut c, &user_id, now).await })
    }

    fn replace_recovery_codes(
        &self,
        user_id: &str,
        new_id: String,
        hashes: Vec<[u8; 32]>,
        now: u64,
    ) -> Result<String> {
        let user_id = user_id.to_owned();
        self.pg.call(move |mut c| async move {
            factors::replace_recovery_codes(&mut c, &user_id, new_id, hashes, now).await
        })
    }

    fn verify_otp(
        &self,
        user_id: &str,
        check: OtpCheck,
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
        done: Done<VerifyOutcome>,
    ) {
        let user_id = user_id.to_owned();
        // Not waited for: the caller is an async handler; `done` answers it.
        self.pg.spawn(
            move |mut c| async move {
                verify::otp(&mut c, &user_id, check, &policy, &on_success, now).await
            },
            done,
        );
    }

    fn verify_recovery_code(
        &self,
        user_id: &str,
        hash: [u8; 32],
        replacement: (String, Vec<[u8; 32]>, Vec<String>),
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
    ) -> Result<VerifyOutcome> {
        let user_id = user_id.to_owned();
        self.pg.call(move |mut c| async move {
            verify::recovery_code(
                &mut c,
                &user_id,
                hash,
                replacement,
                &policy,
                &on_success,
                now,
            )
            .await
        })
    }

    fn reserve_attempt(
        &self,
        user_id: &str,
        factor: Factor,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<bool> {
        let user_id = user_id.to_owned();
        self.pg.call(move |mut c| async move {
            verify::reserve_attempt(&mut c, &user_id, factor, &policy, now).await
        })
    }

    fn reset_failures(&self, user_id: &str, factor: Factor) -> Result<()> {
        let user_id = user_id.to_owned();
        self.pg.call(move |c| async move {
            let st = c.prepare_cached(verify::CLEAR_FAILURES).await?;
            c.execute(&st, &[&user_id, &factor.as_str()]).await?;
            Ok(())
        })
    }

    fn failures(&self, user_id: &str) -> Result<Vec<(Factor, FailureRow)>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { verify::failures(&c, &user_id).await })
    }

    fn unlock(&self, user_id: &str, now: u64) -> Result<bool> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |mut c| async move { verify::unlock(&mut c, &user_id, now).await })
    }

    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        authenticator_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()> {
        let (u, k, a, d) = (
            user_id.map(str::to_owned),
            kind.to_owned(),
            authenticator_id.map(str::to_owned),
            detail.to_owned(),
        );
        self.pg.call(move |c| async move {
            let st = c.prepare_cached(AUDIT_INSERT).await?;
            c.execute(&st, &[&int(now), &u, &k, &a, &d]).await?;
            Ok(())
        })
    }

    fn list_audit(
        &self,
        filter: AuditFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<AuditEvent>, u64)> {
        self.pg
            .call(move |c| async move { audit::list(&c, filter, page, per_page).await })
    }

    fn scan_audit(
        &self,
        filter: AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        self.pg
            .call(move |c| async move { audit::scan(&c, filter, before, limit).await })
    }

    fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.pg
            .call(move |c| async move { oob::audit_after(&c, after, limit).await })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_owned();
        self.pg
            .call(move |c| async move { oob::meta(&c, &key).await })
    }

    fn swap_meta(&self, key: &str, expected: Option<&str>, value: &str) -> Result<bool> {
        let (key, expected, value) = (
            key.to_owned(),
            expected.map(str::to_owned),
            value.to_owned(),
        );
        self.pg.call(
            move |c| async move { oob::swap_meta(&c, &key, expected.as_deref(), &value).await },
        )
    }

    fn issue_oob_code(
        &self,
        code: crate::store::oob::OobCodeRow,
        limits: crate::store::oob::SendLimits,
    ) -> Result<crate::store::oob::Issued> {
        self.pg
            .call(move |mut c| async move { oob::issue(&mut c, code, limits).await })
    }

    fn oob_code(&self, id_hash: [u8; 32]) -> Result<Option<crate::store::oob::OobCodeRow>> {
        self.pg
            .call(move |c| async move { oob::get(&c, id_hash).await })
    }

    fn redeem_oob_code(
        &self,
        lookup: crate::store::oob::OobLookup,
        check: Option<crate::store::oob::OobCheck>,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<crate::store::oob::OobRedeemed> {
        self.pg
            .call(move |mut c| async move { oob::redeem(&mut c, lookup, check, policy, now).await })
    }

    fn notification_pref(&self, user_id: &str) -> Result<Option<String>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { oob::notification_pref(&c, &user_id).await })
    }

    fn set_notification_pref(&self, user_id: &str, pref: Option<&str>) -> Result<bool> {
        let (user_id, pref) = (user_id.to_owned(), pref.map(str::to_owned));
        self.pg.call(move |c| async move {
            oob::set_notification_pref(&c, &user_id, pref.as_deref()).await
        })
    }

    fn create_passkey(
        &self,
        authenticator: Authenticator,
        row: PasskeyRow,
        now: u64,
    ) -> Result<()> {
        self.pg.call(
            move |mut c| async move { passkeys::create(&mut c, authenticator, row, now).await },
        )
    }

    fn passkeys(&self, user_id: &str) -> Result<Vec<PasskeyRow>> {
        let user_id = user_id.to_owned();
        self.pg
            .call(move |c| async move { passkeys::of_user(&c, &user_id).await })
    }

    fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRow>> {
        let id = credential_id.to_vec();
        self.pg
            .call(move |c| async move { passkeys::by_credential(&c, &id).await })
    }

    fn use_passkey(
        &self,
        authenticator_id: &str,
        expected_counter: u32,
        used: PasskeyUse,
    ) -> Result<bool> {
        let id = authenticator_id.to_owned();
        self.pg.call(move |mut c| async move {
            passkeys::record_use(&mut c, &id, expected_counter, used).await
        })
    }

    fn put_ceremony(&self, ceremony: Ceremony) -> Result<()> {
        self.pg
            .call(move |c| async move { passkeys::put_ceremony(&c, ceremony).await })
    }

    fn take_ceremony(&self, id_hash: [u8; 32], now: u64) -> Result<Option<Ceremony>> {
        self.pg
            .call(move |c| async move { passkeys::take_ceremony(&c, id_hash, now).await })
    }
}
