//! Storage behind a trait: handlers see only [`Store`], so a PostgreSQL backend can follow
//! without touching them. Methods are synchronous; handlers call them on the blocking pool.
//!
//! The one method with logic is [`Store::attempt`]: the lockout gate, the check of a code and
//! the bookkeeping that follows (failure count, one-time-use step, activation, used recovery
//! code) happen in one transaction, so concurrent guesses are serialised by the database.

mod sqlite;

pub use sqlite::SqliteStore;

use serde::Serialize;

use crate::config::LockoutPolicy;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness or cap rule refused the write.
    #[error("{0}")]
    Conflict(String),
    /// The backend failed (detail for the log only).
    #[error("storage: {0}")]
    Backend(String),
}

/// Storage result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A user.
#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    /// `usr_…`
    pub id: String,
    /// Unique, case-insensitive.
    pub username: String,
    /// Optional e-mail.
    pub email: Option<String>,
    /// Optional phone.
    pub phone: Option<String>,
    /// Argon2id PHC string (never serialised).
    #[serde(skip)]
    pub password_hash: String,
    /// Organization names.
    pub organizations: Vec<String>,
    /// The user skipped the MFA set-up prompt (LG-3/LG-4).
    pub mfa_prompt_skipped: bool,
    /// Unix seconds.
    pub created_at: u64,
}

/// An MFA authenticator (an OTP app; later push devices).
#[derive(Debug, Clone)]
pub struct AuthRow {
    /// `totp|dev_…`
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `otp`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Secret sealed under the master key (context = id).
    pub sealed_secret: Vec<u8>,
    /// `SHA1` / `SHA256` / `SHA512`.
    pub algorithm: String,
    /// Digits.
    pub digits: u8,
    /// Period.
    pub period: u32,
    /// Confirmed by a first valid code.
    pub active: bool,
    /// Last time step accepted (one-time use).
    pub last_step: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
}

/// A bearer token as stored (only its hash).
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// `tok_…` — shown in lists, used to revoke.
    pub id: String,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// `admin`, `access` or `mfa`.
    pub kind: String,
    /// The user it acts for (access, mfa).
    pub user_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; `None` = never.
    pub expires_at: Option<u64>,
    /// Revoked tokens stop working at once.
    pub revoked: bool,
}

/// An audit event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// Sequence number.
    pub id: i64,
    /// Unix seconds.
    pub at: u64,
    /// `enroll`, `confirm`, `verify_ok`, `verify_fail`, `lockout`, `delete`, `regenerate`,
    /// `token_use`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The user concerned.
    pub user_id: Option<String>,
    /// Details (never a secret or code).
    pub detail: serde_json::Value,
}

/// Which factor an attempt is for (failures are counted per user and factor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// TOTP codes.
    Otp,
    /// Recovery codes.
    RecoveryCode,
}

impl Factor {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Otp => "otp",
            Factor::RecoveryCode => "recovery-code",
        }
    }
}

/// What an attempt's check found.
#[derive(Debug, Clone)]
pub enum Check {
    /// An OTP authenticator matched at this time step (already checked to be after its last
    /// accepted step).
    Otp {
        /// The authenticator.
        authenticator_id: String,
        /// The step to record.
        step: u64,
    },
    /// This recovery code hash matched an unused code.
    Recovery([u8; 32]),
    /// Nothing matched.
    NoMatch,
}

/// The outcome of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Accepted. `authenticator_id` for OTP; `activated` when this confirmed it.
    Ok {
        /// The OTP authenticator that matched.
        authenticator_id: Option<String>,
        /// It was inactive and is now active.
        activated: bool,
    },
    /// Wrong; the consecutive-failure count is now `failures`.
    Failed {
        /// Consecutive failures.
        failures: u32,
        /// This failure reached the cap and locked the factor.
        locked_now: bool,
    },
    /// Too soon after the last failure.
    Delayed {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Locked after too many failures; an administrator must reset it.
    Locked,
}

/// The check run inside an attempt's transaction: the user's authenticators and unused
/// recovery-code hashes in, what matched out.
pub type CheckFn<'a> = dyn FnMut(&[AuthRow], &[[u8; 32]]) -> Check + 'a;

/// Everything the server stores.
pub trait Store: Send + Sync + 'static {
    /// Creates a user (username unique).
    fn create_user(&self, user: &UserRow) -> Result<()>;
    /// A user by id.
    fn get_user(&self, id: &str) -> Result<UserRow>;
    /// A user by username (case-insensitive).
    fn user_by_username(&self, username: &str) -> Result<Option<UserRow>>;
    /// A page of users and the total count.
    fn list_users(&self, offset: u64, limit: u64) -> Result<(Vec<UserRow>, u64)>;
    /// Replaces a user's fields.
    fn update_user(&self, user: &UserRow) -> Result<()>;
    /// Deletes a user and everything of theirs (authenticators, codes, tokens).
    fn delete_user(&self, id: &str) -> Result<()>;

    /// Creates or updates an organization.
    fn put_organization(&self, name: &str, require_mfa: bool) -> Result<()>;
    /// Every organization and whether it requires MFA.
    fn organizations(&self) -> Result<Vec<(String, bool)>>;

    /// Adds an authenticator unless the user already has `max` of that kind.
    fn add_authenticator(&self, auth: &AuthRow, max: u8) -> Result<()>;
    /// A user's authenticators.
    fn authenticators(&self, user_id: &str) -> Result<Vec<AuthRow>>;
    /// Deletes one authenticator.
    fn delete_authenticator(&self, user_id: &str, id: &str) -> Result<()>;
    /// Deletes every authenticator and recovery code of a user, and resets failure counts.
    fn delete_all_mfa(&self, user_id: &str) -> Result<()>;

    /// Replaces a user's recovery codes (hashes) with a new set.
    fn replace_recovery_codes(&self, user_id: &str, hashes: &[[u8; 32]]) -> Result<()>;
    /// Unused recovery codes left.
    fn recovery_codes_left(&self, user_id: &str) -> Result<usize>;

    /// One verification attempt, atomically: refuse if locked or too soon; run `check` over
    /// the user's authenticators and unused recovery-code hashes; record success (step,
    /// activation, used code, failures reset) or failure (count + 1, lock at the cap).
    fn attempt(
        &self,
        user_id: &str,
        factor: Factor,
        now: u64,
        policy: &LockoutPolicy,
        check: &mut CheckFn<'_>,
    ) -> Result<Attempt>;
    /// Resets a user's failure counts (all factors).
    fn reset_failures(&self, user_id: &str) -> Result<()>;

    /// Stores a token.
    fn insert_token(&self, token: &TokenRow) -> Result<()>;
    /// A token by hash.
    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>>;
    /// Revokes a token by id.
    fn revoke_token(&self, id: &str) -> Result<()>;
    /// Every admin token (for listing; no hashes shown).
    fn admin_tokens(&self) -> Result<Vec<TokenRow>>;

    /// Appends an audit event.
    fn audit(
        &self,
        at: u64,
        kind: &str,
        user_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()>;
    /// Audit events, newest first, filtered.
    fn audit_log(
        &self,
        user_id: Option<&str>,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<AuditRow>, u64)>;

    /// A metadata value.
    fn meta(&self, name: &str) -> Result<Option<String>>;
    /// Sets a metadata value.
    fn set_meta(&self, name: &str, value: &str) -> Result<()>;
}
