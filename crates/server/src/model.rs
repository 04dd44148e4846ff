//! Domain records the store keeps and the API shows.

use serde::{Deserialize, Serialize};
use tessera_core::Algorithm;

/// A user of the relying application.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    /// `usr_…`
    pub user_id: String,
    /// Unique login name.
    pub username: String,
    /// Optional email address.
    pub email: Option<String>,
    /// Optional phone number.
    pub phone: Option<String>,
    /// Organization ids the user belongs to.
    pub organizations: Vec<String>,
    /// Groups the user belongs to (names; sign-in policy rules match them).
    pub groups: Vec<String>,
    /// The user skipped the MFA set-up prompt (LG-3/LG-4).
    pub mfa_prompt_skipped: bool,
    /// Whether a password (primary factor) is set.
    pub has_password: bool,
    /// The language the user chose for pages and messages (`en`, `ja`); none: the browser's.
    #[serde(default)]
    pub locale: Option<String>,
    /// Successful sign-ins through the hosted sign-in.
    #[serde(default)]
    pub sign_ins: u64,
    /// Unix seconds of the last one.
    #[serde(default)]
    pub last_sign_in_at: Option<u64>,
    /// An administrator locked the account: no sign-in, session or token works until unlocked.
    #[serde(default)]
    pub blocked: bool,
    /// Unix seconds of the lock (none while not locked).
    #[serde(default)]
    pub blocked_at: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// Fields of a new user (password already hashed).
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Unique login name.
    pub username: String,
    /// Optional email.
    pub email: Option<String>,
    /// Optional phone.
    pub phone: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    /// Organization ids.
    pub organizations: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
}

/// A partial update of a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New username.
    pub username: Option<String>,
    /// New email (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New phone (`Some(None)` clears it).
    pub phone: Option<Option<String>>,
    /// New Argon2id hash.
    pub password_hash: Option<String>,
    /// Replaces the memberships.
    pub organizations: Option<Vec<String>>,
    /// Replaces the groups.
    pub groups: Option<Vec<String>>,
    /// Sets or resets the "skipped the MFA prompt" state.
    pub mfa_prompt_skipped: Option<bool>,
    /// New language (`Some(None)` clears it: the browser's).
    pub locale: Option<Option<String>>,
    /// Locks (`true`: also ends the user's sessions, tokens and pending challenges, in the
    /// same transaction) or unlocks the account; audited `user.blocked` / `user.unblocked`.
    pub blocked: Option<bool>,
}

/// A list as stored (groups, redirect URIs): one item per line (items have no control
/// characters).
pub fn lines_to_column(groups: &[String]) -> String {
    groups.join("\n")
}

/// A list from its stored form.
pub fn lines_from_column(column: &str) -> Vec<String> {
    column
        .split('\n')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An organization; `require_mfa` makes MFA mandatory for its members (LG-5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Organization {
    /// `org_…`
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Members must use MFA.
    pub require_mfa: bool,
}

/// The kinds of authenticator, with Auth0's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthenticatorKind {
    /// A TOTP authenticator app.
    #[serde(rename = "otp")]
    Otp,
    /// A recovery-code set.
    #[serde(rename = "recovery-code")]
    RecoveryCode,
    /// An out-of-band factor (push to a device; filled in by the device-factor work).
    #[serde(rename = "oob")]
    Oob,
    /// A passkey (WebAuthn credential, roaming or platform: Auth0's `passkey`).
    #[serde(rename = "passkey")]
    Passkey,
}

impl AuthenticatorKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticatorKind::Otp => "otp",
            AuthenticatorKind::RecoveryCode => "recovery-code",
            AuthenticatorKind::Oob => "oob",
            AuthenticatorKind::Passkey => "passkey",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "otp" => Some(AuthenticatorKind::Otp),
            "recovery-code" => Some(AuthenticatorKind::RecoveryCode),
            "oob" => Some(AuthenticatorKind::Oob),
            "passkey" => Some(AuthenticatorKind::Passkey),
            _ => None,
        }
    }
}

/// An enrolled authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    /// `totp|dev_…`, `recovery-code|dev_…`, `push|dev_…`
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Kind.
    pub kind: AuthenticatorKind,
    /// Display name (unmasked; the API masks it).
    pub name: String,
    /// Confirmed by a first valid code.
    pub active: bool,
    /// For oob: `push`, `sms`, …
    pub oob_channel: Option<String>,
    /// Authenticators created together (A0-4) share a pair id; deleting one deletes all.
    pub pair_id: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of its last successful use in a sign-in (LG-7, OK-7).
    pub last_used_at: Option<u64>,
}

/// TOTP parameters of one enrollment (fixed at enrollment: later policy changes don't apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpParams {
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Code length.
    pub digits: u8,
    /// Seconds per step.
    pub period: u32,
    /// The secret sealed under the master key, bound to the authenticator id.
    pub secret_sealed: Vec<u8>,
    /// Last accepted time step (one-time use).
    pub last_step: Option<u64>,
}

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Management API token (admin).
    Management,
    /// A user's access token (after the password grant and, when needed, MFA).
    Access,
    /// An `mfa_token`: may list and associate authenticators and complete MFA.
    Mfa,
}

impl TokenKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Management => "management",
            TokenKind::Access => "access",
            TokenKind::Mfa => "mfa",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "management" => Some(TokenKind::Management),
            "access" => Some(TokenKind::Access),
            "mfa" => Some(TokenKind::Mfa),
            _ => None,
        }
    }
}

/// A token record (the token itself is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// `tok_…`
    pub id: String,
    /// Kind.
    pub kind: TokenKind,
    /// For access and mfa tokens.
    pub user_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Free text.
    pub name: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<u64>,
    /// Unix seconds when revoked.
    pub revoked_at: Option<u64>,
}

/// A factor with its own failure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Factor {
    /// The password (primary factor).
    Password,
    /// TOTP codes.
    Otp,
    /// Recovery codes.
    RecoveryCode,
    /// Codes sent by email, SMS or voice.
    OobCode,
}

impl Factor {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Otp => "otp",
            Factor::RecoveryCode => "recovery-code",
            Factor::OobCode => "oob-code",
        }
    }
}

/// The failure counter of one user and factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FailureRow {
    /// Consecutive failures.
    pub count: u32,
    /// Unix seconds of the last failure.
    pub last_failure_at: u64,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Sequence number.
    pub id: i64,
    /// Unix seconds.
    pub at: u64,
    /// The user concerned.
    pub user_id: Option<String>,
    /// `enroll`, `confirm`, `verify_ok`, `verify_fail`, `lockout`, `delete`, `regenerate`,
    /// `token_use`, …, and the device factor's `device.*`, `push.*`, `qr_login.*` (whose
    /// authenticator is the device's `push|<device id>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator concerned.
    pub authenticator_id: Option<String>,
    /// Extra non-secret detail (factor, reason).
    pub detail: String,
}

/// What a verification came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Accepted; `confirmed` when this code activated a pending authenticator.
    Accepted {
        /// The authenticator that matched.
        authenticator_id: String,
        /// It was inactive and is now active.
        confirmed: bool,
        /// For recovery codes: the replacement set when the last code was used.
        new_recovery_codes: Option<Vec<String>>,
    },
    /// Wrong code (counted).
    Rejected,
    /// Not evaluated: the factor is in a delay or locked.
    Locked,
}

/// How an application proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A browser or native app: no secret, PKCE only.
    Public,
    /// A server-side app: a client secret (stored as its SHA-256) and PKCE.
    Confidential,
}

impl ClientKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Public => "public",
            ClientKind::Confidential => "confidential",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(ClientKind::Public),
            "confidential" => Some(ClientKind::Confidential),
            _ => None,
        }
    }
}

/// An application that signs its users in through Tessera (an OpenID Connect client); its id
/// is what sign-in policy rules name in `when.applications`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Application {
    /// `app_…`
    pub client_id: String,
    /// Shown on the sign-in pages.
    pub name: String,
    /// Public or confidential.
    #[serde(rename = "type")]
    pub kind: ClientKind,
    /// Where the sign-in may return to (exact match).
    pub redirect_uris: Vec<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// A change to an application; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ApplicationPatch {
    /// New name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// A new client secret's SHA-256 (the old secret stops working at once).
    pub secret_hash: Option<[u8; 32]>,
}

/// A sign-in flow as stored (docs/signin.md): the flow itself is a JSON document owned by
/// `crate::signin`; the store keeps it under the SHA-256 of its id, bound to the SHA-256 of the
/// browser cookie that started it, with a revision for compare-and-swap updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// SHA-256 of the flow id.
    pub id_hash: [u8; 32],
    /// SHA-256 of the `tessera_browser` cookie that started it.
    pub browser_hash: [u8; 32],
    /// The flow, JSON.
    pub document: String,
    /// 1 when created, +1 per update.
    pub revision: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A global sign-in session (the `tessera_session` cookie; only its SHA-256 is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// `ses_…` (public: shown to the user and admins, the ID token's `sid`).
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The methods satisfied and when, JSON (owned by `crate::signin`).
    #[serde(skip)]
    pub methods: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last sign-in through it.
    pub updated_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Unix seconds, when ended (sign-out or revocation).
    pub revoked_at: Option<u64>,
    /// The browser's user agent when it was created (for the user's list of sessions).
    pub user_agent: String,
    /// The client address when it was created.
    pub ip: String,
}

/// A browser a user signed in from (the `tessera_browser` cookie's SHA-256): a known device
/// (OK-8), remembered for second factors when the user asked (A0-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserRecord {
    /// Unix seconds of the last sign-in from it.
    pub last_sign_in_at: u64,
    /// Unix seconds when "remember this browser" was ticked, if it was.
    pub remembered_at: Option<u64>,
}

/// What a finished sign-in writes, in one transaction.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    /// The user.
    pub user_id: String,
    /// The authenticators used (their `last_used_at` becomes `now`).
    pub authenticator_ids: Vec<String>,
    /// The browser.
    pub browser_hash: [u8; 32],
    /// Remember the browser for second factors (A0-7).
    pub remember: bool,
    /// Audit detail (methods, application; nothing secret).
    pub detail: String,
    /// Unix seconds.
    pub now: u64,
}
