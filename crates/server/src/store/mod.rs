//! Storage behind a trait, so a PostgreSQL backend can follow without touching handlers.
//!
//! Methods are synchronous and may block: handlers call them through
//! [`crate::AppState::db`], which runs them on tokio's blocking pool. Every method that checks a
//! code also updates the failure counter, the one-time-use step and the audit log in the same
//! transaction: that is what makes the lockout hold under concurrency.

pub mod backup;
pub mod migrations;
pub mod oob;
pub mod passkeys;
pub mod pg;
pub mod sqlite;

use crate::config::LockoutConfig;
use crate::error::Result;
pub use passkeys::{Ceremony, PasskeyRow, PasskeyUse};

use crate::model::{
    Application, ApplicationPatch, AuditEvent, Authenticator, BrowserRecord, Factor, FailureRow,
    FlowRecord, NewUser, Organization, OtpParams, SessionRecord, SignInRecord, TokenRecord, User,
    UserPatch, VerifyOutcome,
};

/// Checks a code against one OTP authenticator; returns the matched time step. Called inside the
/// verifying transaction with the row's current `last_step`.
pub type OtpCheck = Box<dyn Fn(&Authenticator, &OtpParams) -> Result<Option<u64>> + Send>;

/// Re-seals one sealed value: (sealed, context) → sealed under the new key.
pub type Reseal = std::sync::Arc<dyn Fn(&[u8], &[u8]) -> Result<Vec<u8>> + Send + Sync>;

/// Makes a user's new sealed typing profile from the stored one (`None`: none yet); runs inside
/// the store's transaction, so two sign-ins finishing at once both count.
pub type TypingUpdate = Box<dyn FnOnce(Option<&[u8]>) -> Result<Vec<u8>> + Send>;

/// The sealing context of a user's typing profile: bound to the user, so a sealed profile
/// cannot be moved to another row.
pub fn typing_profile_context(user_id: &str) -> Vec<u8> {
    format!("tessera-server/typing-profile/{user_id}").into_bytes()
}

/// The sealing context of the device factor's identity key (`device_meta.identity_sealed`).
pub const IDENTITY_CONTEXT: &[u8] = b"tessera-server/device-identity";

/// Receives the result of a non-blocking store call.
pub type Done<T> = Box<dyn FnOnce(Result<T>) + Send>;

/// A token to revoke and a token to create when a verification succeeds (the MFA grants), so
/// both happen in the verifying transaction and an `mfa_token` completes MFA once.
#[derive(Debug, Clone)]
pub struct OnSuccess {
    /// Revoke this token id (the consumed `mfa_token`).
    pub revoke_token_id: Option<String>,
    /// Insert this token (record, SHA-256 of the secret).
    pub issue: Option<(TokenRecord, [u8; 32])>,
}

/// One stored version of the sign-in policy (docs/policies.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// 1, 2, …
    pub version: u64,
    /// The policy, JSON.
    pub document: String,
    /// Who wrote it (the management token's name and id).
    pub author: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// A `LIKE … ESCAPE '!'` pattern matching `text` anywhere, lower-cased (user search).
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The message of a stale `expected` version.
pub fn stale_policy(current: u64, expected: u64) -> crate::Error {
    crate::Error::Conflict(format!(
        "the policy is at version {current}, not {expected}: read it again and reapply the change"
    ))
}

/// A signing key of the OpenID Connect provider, as stored: the private key sealed under the
/// master key (context [`signing_key_context`]), the public half as a JWK.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// Key id (`kid`), random.
    pub kid: String,
    /// JOSE algorithm (`ES256`).
    pub alg: String,
    /// The PKCS#8 private key, sealed.
    pub private_sealed: Vec<u8>,
    /// The public JWK, JSON.
    pub public_jwk: String,
    /// When it was made (and became the current key), unix seconds.
    pub created_at: u64,
    /// `None` while it is the current key; else when it leaves the JWKS (every token it signed
    /// has expired by then), unix seconds.
    pub retire_at: Option<u64>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retire_at", &self.retire_at)
            .finish_non_exhaustive()
    }
}

/// The sealing context of a signing key: bound to its kid, so a sealed key cannot be moved to
/// another row.
pub fn signing_key_context(kid: &str) -> Vec<u8> {
    format!("tessera-server/oidc-signing-key/{kid}").into_bytes()
}

/// When [`Store::rotate_signing_key`] makes its new key the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Only if the current key is still this one (`None`: there is no current key yet). The
    /// automatic rotation: several instances that find the key due at once make one new key.
    IfCurrentIs(Option<String>),
    /// Whatever the current key is (the management API's "rotate now").
    Now,
}

/// An authorization code's grant, as stored under the code's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The application it was issued to.
    pub client_id: String,
    /// The redirect URI of the request (the token request must repeat it).
    pub redirect_uri: String,
    /// The user.
    pub user_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// PKCE: BASE64URL(SHA-256(code_verifier)).
    pub code_challenge: String,
    /// When the user last authenticated actively, unix seconds.
    pub auth_time: u64,
    /// `amr` values.
    pub amr: Vec<String>,
    /// `acr` value.
    pub acr: String,
    /// The sign-in session (`sid`).
    pub session_id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; the code is refused from then on.
    pub expires_at: u64,
}

/// What a token request brings to redeem a code: checked against the stored grant in the
/// redeeming transaction.
#[derive(Debug, Clone)]
pub struct CodeRedemption {
    /// The authenticated (or, for a public client, named) client.
    pub client_id: String,
    /// The token request's `redirect_uri`.
    pub redirect_uri: String,
    /// BASE64URL(SHA-256(code_verifier)): compared in constant time with the stored challenge.
    pub challenge: String,
    /// The access token to issue (its user and scopes are set from the grant), with the SHA-256
    /// of its secret.
    pub token: (TokenRecord, [u8; 32]),
}

/// Why a code was not redeemed. The token endpoint answers `invalid_grant` to all of them; the
/// audit log keeps which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// No such code.
    Unknown,
    /// Redeemed before: what the first redemption issued has been revoked.
    Reused,
    /// Past its lifetime.
    Expired,
    /// Issued to another client.
    WrongClient,
    /// Another redirect URI than the authorization request's.
    WrongRedirectUri,
    /// The PKCE verifier does not match the challenge.
    WrongVerifier,
}

impl CodeRefusal {
    /// The reason in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeRefusal::Unknown => "unknown",
            CodeRefusal::Reused => "reused",
            CodeRefusal::Expired => "expired",
            CodeRefusal::WrongClient => "wrong_client",
            CodeRefusal::WrongRedirectUri => "wrong_redirect_uri",
            CodeRefusal::WrongVerifier => "wrong_verifier",
        }
    }
}

/// The outcome of [`Store::redeem_code`].
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// The grant, and the access token now stored for it.
    Issued(Box<(AuthorizationCode, TokenRecord)>),
    /// Refused (and, unless unknown, the code is used up).
    Refused(CodeRefusal),
}

/// A filter on the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this user's events.
    pub user_id: Option<String>,
    /// Only events of this type.
    pub kind: Option<String>,
    /// Only events whose type starts with this (`push.`).
    pub kind_prefix: Option<String>,
    /// Only events at or after this (Unix seconds).
    pub from: Option<u64>,
    /// Only events at or before this (Unix seconds).
    pub to: Option<u64>,
    /// Only events with this result ([`crate::audit::result_of`]).
    pub result: Option<crate::audit::AuditResult>,
}

/// A new OTP enrollment.
#[derive(Debug, Clone)]
pub struct NewOtp {
    /// The authenticator row (inactive).
    pub authenticator: Authenticator,
    /// Its parameters and sealed secret.
    pub params: OtpParams,
    /// Enrollment cap (counted over OTP authenticators, active or not).
    pub max_enrollments: u32,
    /// Recovery codes to create (hashes, id) if the user has no recovery-code authenticator.
    pub recovery: Option<(String, Vec<[u8; 32]>)>,
}

/// The storage's state, for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStatus {
    /// The schema version recorded in the database (read from it just now).
    pub schema_version: u32,
    /// The schema version this binary migrates to.
    pub schema_expected: u32,
    /// Read connections open.
    pub readers_open: u32,
    /// Read connections open and idle.
    pub readers_idle: u32,
    /// Write transactions submitted and not yet committed.
    pub writes_queued: u64,
}

/// The storage interface the handlers use.
pub trait Store: Send + Sync + 'static {
    // ---- meta
    /// Reads the schema version from the database (so it proves the database answers) and
    /// reports the connection pool's use.
    fn status(&self) -> Result<StoreStatus>;
    /// Sets a meta value only if absent; returns whether it was set (first-start detection).
    fn set_meta_if_absent(&self, key: &str, value: &str) -> Result<bool>;
    /// Re-seals every sealed value (TOTP secrets, whose context is their authenticator id; the
    /// device identity key, [`IDENTITY_CONTEXT`]; the OpenID Connect signing keys,
    /// [`signing_key_context`]; typing profiles, [`typing_profile_context`]) in one
    /// transaction: all or nothing. The
    /// number of values re-sealed. Master-key rotation, with every instance stopped.
    fn reseal(&self, reseal: Reseal) -> Result<u64>;

    // ---- users and organizations
    /// Creates a user; `Conflict` when the username is taken, `NotFound` for an unknown org.
    fn create_user(&self, user: NewUser, now: u64) -> Result<User>;
    /// One page of users (1-based page) and the total count.
    fn list_users(&self, page: u32, per_page: u32) -> Result<(Vec<User>, u64)>;
    /// One page of the users whose user name, email or phone contains `text` (ASCII letters
    /// in either case) or whose id is `text`, and how many match, in [`Store::list_users`]'s
    /// order.
    fn search_users(&self, text: &str, page: u32, per_page: u32) -> Result<(Vec<User>, u64)>;
    /// A user by id.
    fn get_user(&self, id: &str) -> Result<Option<User>>;
    /// A user and password hash by username.
    fn find_user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>>;
    /// Applies a patch; `None` when the user does not exist.
    fn update_user(&self, id: &str, patch: UserPatch, now: u64) -> Result<Option<User>>;
    /// Deletes a user with everything of theirs; whether it existed.
    fn delete_user(&self, id: &str, now: u64) -> Result<bool>;
    /// Creates an organization.
    fn create_org(&self, name: &str, require_mfa: bool) -> Result<Organization>;
    /// All organizations.
    fn list_orgs(&self) -> Result<Vec<Organization>>;
    /// Updates an organization.
    fn update_org(
        &self,
        id: &str,
        name: Option<String>,
        require_mfa: Option<bool>,
    ) -> Result<Option<Organization>>;
    /// Whether any organization of the user requires MFA (LG-5).
    fn org_requires_mfa(&self, user_id: &str) -> Result<bool>;

    /// A version of the sign-in policy (`None`: the latest); `None` when there is none.
    fn policy(&self, version: Option<u64>) -> Result<Option<PolicyVersion>>;
    /// Stores `document` as the next version, written by `author`, and audits it; with
    /// `expected`, only if the latest version is still that one (0: none yet), else `Conflict`.
    fn put_policy(
        &self,
        document: &str,
        author: &str,
        expected: Option<u64>,
        now: u64,
    ) -> Result<PolicyVersion>;
    /// Every version, newest first.
    fn policy_versions(&self) -> Result<Vec<PolicyVersion>>;

    /// Registers an application (with its secret's SHA-256 when confidential); audited.
    fn create_application(&self, app: Application, secret_hash: Option<[u8; 32]>) -> Result<()>;
    /// Every application, by name.
    fn applications(&self) -> Result<Vec<Application>>;
    /// One application.
    fn application(&self, client_id: &str) -> Result<Option<Application>>;
    /// Changes an application; `None` when it does not exist. Audited.
    fn update_application(
        &self,
        client_id: &str,
        patch: ApplicationPatch,
        now: u64,
    ) -> Result<Option<Application>>;
    /// Removes an application; whether it existed. Audited.
    fn delete_application(&self, client_id: &str, now: u64) -> Result<bool>;

    // ---- the hosted sign-in (docs/signin.md)
    /// Stores a new flow (and drops flows that expired over an hour before it was created).
    fn insert_flow(&self, flow: FlowRecord) -> Result<()>;
    /// The flow stored under `id_hash`.
    fn flow(&self, id_hash: [u8; 32]) -> Result<Option<FlowRecord>>;
    /// Replaces a flow's document if its revision is still `revision` (and bumps it); whether
    /// it was (a concurrent change wins otherwise).
    fn update_flow(&self, id_hash: [u8; 32], revision: u64, document: &str) -> Result<bool>;
    /// Inserts a global session under the SHA-256 of its cookie, or, when a session with its
    /// id exists, replaces its methods, `updated_at` and `expires_at`.
    fn save_session(&self, hash: [u8; 32], session: SessionRecord) -> Result<()>;
    /// The session whose cookie hashes to `hash` (ended and expired ones included).
    fn session(&self, hash: [u8; 32]) -> Result<Option<SessionRecord>>;
    /// A user's sessions that are neither ended nor expired at `now`, newest first.
    fn sessions_of(&self, user_id: &str, now: u64) -> Result<Vec<SessionRecord>>;
    /// Ends one session of a user (`id`) or all of them; how many were live. Audited.
    fn end_sessions(&self, user_id: &str, id: Option<&str>, now: u64) -> Result<usize>;
    /// What is known of a browser for a user.
    fn browser(&self, hash: [u8; 32], user_id: &str) -> Result<Option<BrowserRecord>>;
    /// A finished sign-in: the user's count and time, each authenticator's last use, the
    /// browser (remembered when asked) and the audit event, in one transaction.
    fn record_sign_in(&self, sign_in: SignInRecord) -> Result<()>;

    // ---- typing rhythm (signin/typing.rs)
    /// A user's sealed typing profile. Deleted with the user and when the password is set.
    fn typing_profile(&self, user_id: &str) -> Result<Option<Vec<u8>>>;
    /// Replaces a user's typing profile with what `update` makes of the stored one, in one
    /// transaction; nothing for a user who no longer exists.
    fn update_typing_profile(&self, user_id: &str, update: TypingUpdate, now: u64) -> Result<()>;

    /// An application and the SHA-256 of its secret (none for a public client).
    fn application_with_secret(
        &self,
        client_id: &str,
    ) -> Result<Option<(Application, Option<[u8; 32]>)>>;

    // ---- the OpenID Connect provider
    /// The signing keys still published: the current one first, then the previous ones whose
    /// `retire_at` is after `now`, newest first.
    fn signing_keys(&self, now: u64) -> Result<Vec<SigningKeyRow>>;
    /// Makes `new` the current key as `rotation` says, in one transaction: the current key (if
    /// any) gets `retire_at`, keys retired before `now` are deleted, and the rotation is
    /// audited (`oidc.key_rotated`). Several instances may call this at once: only one of the
    /// calls with the same [`Rotation::IfCurrentIs`] makes a key. Answers [`Store::signing_keys`]
    /// afterwards.
    fn rotate_signing_key(
        &self,
        new: SigningKeyRow,
        rotation: Rotation,
        retire_at: u64,
        now: u64,
    ) -> Result<Vec<SigningKeyRow>>;
    /// Stores an authorization code's grant under the code's SHA-256 and audits it
    /// (`oidc.code_issued`); deletes codes that expired before `purge_before`.
    fn insert_code(&self, hash: [u8; 32], code: AuthorizationCode, purge_before: u64)
        -> Result<()>;
    /// Redeems a code in one transaction: a code redeems once; any attempt uses it up; a second
    /// redemption revokes the access token the first one issued and is audited
    /// (`oidc.code_reused`); a success stores the access token and is audited
    /// (`oidc.token_issued`).
    fn redeem_code(&self, hash: [u8; 32], redemption: CodeRedemption, now: u64)
        -> Result<Redeemed>;

    // ---- tokens
    /// Stores a token record with the SHA-256 of its secret.
    fn insert_token(&self, token: TokenRecord, hash: [u8; 32]) -> Result<()>;
    /// The record whose secret hashes to `hash` (revoked and expired ones included: the
    /// caller decides).
    fn find_token(&self, hash: [u8; 32]) -> Result<Option<TokenRecord>>;
    /// Management tokens.
    fn list_management_tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Revokes a token at once; whether it existed.
    fn revoke_token(&self, id: &str, now: u64) -> Result<bool>;

    // ---- authenticators
    /// A user's authenticators (oldest first).
    fn list_authenticators(&self, user_id: &str) -> Result<Vec<Authenticator>>;
    /// Enrolls an OTP authenticator (and recovery codes); `Conflict` at the cap. Audited.
    fn create_otp(&self, new: NewOtp, now: u64) -> Result<()>;
    /// Inserts another authenticator kind (the device-factor work's oob). Audited.
    fn create_authenticator(&self, authenticator: Authenticator, now: u64) -> Result<()>;
    /// Deletes one authenticator and its pair (A0-4); the ids deleted (empty if unknown).
    fn delete_authenticator(&self, user_id: &str, id: &str, now: u64) -> Result<Vec<String>>;
    /// Deletes every authenticator of a user (LG-10); how many.
    fn delete_all_authenticators(&self, user_id: &str, now: u64) -> Result<usize>;
    /// Replaces the user's recovery codes (voiding the old set); the authenticator id.
    fn replace_recovery_codes(
        &self,
        user_id: &str,
        new_id: String,
        hashes: Vec<[u8; 32]>,
        now: u64,
    ) -> Result<String>;

    // ---- verification (atomic with the failure counter and the audit log)
    /// Checks a TOTP code against the user's OTP authenticators.
    ///
    /// This is the hot path, so it does not block: it submits the work and calls `done` with the
    /// outcome once it is durable (`NotFound` for an unknown user). Implementations must not
    /// block the caller (an async handler).
    fn verify_otp(
        &self,
        user_id: &str,
        check: OtpCheck,
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
        done: Done<VerifyOutcome>,
    );
    /// Checks a recovery code (by hash, compared in constant time). `replacement` is the set
    /// (authenticator id, hashes, plain codes) installed when the last unused code is used.
    fn verify_recovery_code(
        &self,
        user_id: &str,
        hash: [u8; 32],
        replacement: (String, Vec<[u8; 32]>, Vec<String>),
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
    ) -> Result<VerifyOutcome>;
    /// Counts an attempt for a factor whose check runs outside the store (the password) before
    /// it runs: `false` when delayed or locked. A success must then call
    /// [`Store::reset_failures`].
    fn reserve_attempt(
        &self,
        user_id: &str,
        factor: Factor,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<bool>;
    /// Clears a factor's failure counter after a success.
    fn reset_failures(&self, user_id: &str, factor: Factor) -> Result<()>;
    /// The failure counters of a user.
    fn failures(&self, user_id: &str) -> Result<Vec<(Factor, FailureRow)>>;
    /// Clears all of a user's failure counters (admin unlock); whether any existed. Audited.
    fn unlock(&self, user_id: &str, now: u64) -> Result<bool>;

    // ---- audit
    /// Appends an event.
    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        authenticator_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()>;
    /// A page of events, newest first, and the total.
    fn list_audit(
        &self,
        filter: AuditFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<AuditEvent>, u64)>;
    /// At most `limit` events the filter matches with an id below `before` (all with `None`),
    /// newest first: the export's chunks.
    fn scan_audit(
        &self,
        filter: AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>>;
    /// Events with an id above `after`, oldest first, at most `limit` (the notifier's outbox).
    fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditEvent>>;
    /// A `meta` value.
    fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets a `meta` value if it is still `expected` (`None`: absent); whether it was.
    fn swap_meta(&self, key: &str, expected: Option<&str>, value: &str) -> Result<bool>;

    // ---- codes sent by email, SMS and voice
    /// Stores a new code unless a send limit is reached; voids the user's earlier live codes
    /// for the same purpose; deletes old rows. Audited as `oob.sent`.
    fn issue_oob_code(&self, code: oob::OobCodeRow, limits: oob::SendLimits)
        -> Result<oob::Issued>;
    /// One code by the SHA-256 of its link token.
    fn oob_code(&self, id_hash: [u8; 32]) -> Result<Option<oob::OobCodeRow>>;
    /// Redeems a code: a link (no check) or a typed code (`check`, counted by the failure
    /// counter `oob-code` and on the code) — the code must be live and its authenticator
    /// still hold the address or number it was sent to (`destination` hashes the current one).
    fn redeem_oob_code(
        &self,
        lookup: oob::OobLookup,
        check: Option<oob::OobCheck>,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<oob::OobRedeemed>;
    /// The user's notification preference (JSON, `None` when never set).
    fn notification_pref(&self, user_id: &str) -> Result<Option<String>>;
    /// Sets it.
    fn set_notification_pref(&self, user_id: &str, pref: Option<&str>) -> Result<bool>;

    // ---- passkeys (crate::passkey)
    /// Stores a new, active passkey: its authenticator row and its credential row, audited
    /// (`enroll`); `Conflict` when the credential id is registered already (to anyone).
    fn create_passkey(&self, authenticator: Authenticator, row: PasskeyRow, now: u64)
        -> Result<()>;
    /// A user's passkeys (oldest first).
    fn passkeys(&self, user_id: &str) -> Result<Vec<PasskeyRow>>;
    /// The passkey with this credential id.
    fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRow>>;
    /// Records an accepted assertion if the stored counter is still `expected_counter`
    /// (compare-and-set): the counter, the re-sealed credential, the flags and the last use of
    /// the passkey and of its authenticator. Whether it was still `expected_counter` (of two
    /// sign-ins with one counter value, one wins).
    fn use_passkey(
        &self,
        authenticator_id: &str,
        expected_counter: u32,
        used: PasskeyUse,
    ) -> Result<bool>;
    /// Stores a pending ceremony (and drops the expired ones).
    fn put_ceremony(&self, ceremony: Ceremony) -> Result<()>;
    /// Takes (deletes and returns) the ceremony stored under `id_hash`, unless it expired.
    fn take_ceremony(&self, id_hash: [u8; 32], now: u64) -> Result<Option<Ceremony>>;
}
