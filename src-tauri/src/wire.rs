//! The types that cross the IPC boundary, defined once here. `ts-rs` generates their TypeScript
//! twins into `ui/src/lib/bindings/` (`cargo test` regenerates them with
//! `TS_RS_EXPORT_DIR`; the `bindings_are_current` test fails when the committed files drift).
//!
//! Nothing here carries a secret except the one-time codes themselves.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Whether there is a vault and whether it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LockState {
    /// No vault file yet: the first-run screen creates one.
    NoVault,
    /// A vault exists and is locked.
    Locked,
    /// The vault is open.
    Unlocked,
}

/// How the vault key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// In the OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// Wrapped by a passphrase (Argon2id).
    Passphrase,
}

/// What the UI needs to draw its frame: lock state, policy, settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppStatus {
    /// Locked, unlocked, or no vault yet.
    pub state: LockState,
    /// How the existing vault is unlocked (`None` without a vault).
    pub key_kind: Option<KeyKind>,
    /// The vault file.
    pub vault_path: String,
    /// The enterprise policy in force.
    pub policy: PolicyView,
    /// The user's settings, already capped by the policy.
    pub settings: Settings,
    /// The language the UI shows: the setting, else the OS locale, else English
    /// ([`crate::locale::resolve`]).
    pub locale: Locale,
}

/// The user's settings (a JSON file in the config directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Seconds after a copy before the clipboard is cleared (0 = never).
    pub clipboard_clear_secs: u32,
    /// Minutes of inactivity before the vault locks (0 = never).
    pub auto_lock_mins: u32,
    /// Show codes only when revealed (click or Space).
    pub hide_codes: bool,
    /// `system`, `light` or `dark`.
    pub theme: Theme,
    /// How the list is ordered.
    pub sort: SortOrder,
    /// `system` (the OS locale), `en` or `ja`.
    pub language: Language,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            clipboard_clear_secs: 30,
            auto_lock_mins: 5,
            hide_codes: false,
            theme: Theme::System,
            sort: SortOrder::Manual,
            language: Language::System,
        }
    }
}

/// The language the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Follow the OS locale (English when it is neither English nor Japanese).
    System,
    /// English.
    En,
    /// Japanese.
    Ja,
}

/// A language the app is translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    /// English.
    En,
    /// Japanese.
    Ja,
}

impl From<Locale> for Language {
    fn from(l: Locale) -> Language {
        match l {
            Locale::En => Language::En,
            Locale::Ja => Language::Ja,
        }
    }
}

/// Colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the OS.
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// Account list order (favourites always first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// The user's own order (drag or move up/down).
    Manual,
    /// By issuer, then name.
    Issuer,
    /// By account name.
    Name,
    /// Most recently used first.
    Recent,
}

/// The managed-mode policy as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct PolicyView {
    /// A policy file is in force (or one was found and is invalid).
    pub managed: bool,
    /// Where the policy is read from on this OS.
    pub path: String,
    /// The organization's name, shown in the header.
    pub organization: Option<String>,
    /// Server origins the app may enroll with (empty = any).
    pub allowed_origins: Vec<String>,
    /// The vault must be locked by the app (no "never" auto-lock).
    pub require_app_lock: bool,
    /// Longest auto-lock the user may choose, in minutes.
    pub max_auto_lock_mins: Option<u32>,
    /// Export is disabled.
    pub disable_export: bool,
    /// Manual entry (typing a secret) is disabled.
    pub disable_manual_entry: bool,
    /// The language the organization sets; the user's language setting is then locked to it.
    pub language: Option<Locale>,
    /// Why the policy file was refused; the app then runs fail-closed (everything the policy
    /// could restrict is restricted) and says so.
    pub error: Option<String>,
}

/// One account as listed, with its current code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountView {
    /// Stable id.
    #[ts(type = "number")]
    pub id: i64,
    /// Issuer ("GitHub").
    pub issuer: String,
    /// Account name ("alice@example.com").
    pub name: String,
    /// `totp`, `hotp` or `steam`.
    pub otp_type: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length.
    pub digits: u8,
    /// TOTP/Steam period in seconds.
    pub period: u32,
    /// HOTP: the counter of the next code.
    #[ts(type = "number")]
    pub counter: u64,
    /// Group names.
    pub groups: Vec<String>,
    /// Free text.
    pub note: String,
    /// Pinned first.
    pub favourite: bool,
    /// Bundled icon slug, if one matches.
    pub icon: Option<String>,
    /// TOTP/Steam: the current code. HOTP: the last code generated this session, if any.
    pub code: Option<String>,
    /// TOTP/Steam: the code of the next period (shown near expiry).
    pub next_code: Option<String>,
    /// TOTP/Steam: Unix seconds at which `code` stops being valid.
    #[ts(type = "number | null")]
    pub valid_until: Option<u64>,
    /// Last copy or HOTP use (Unix seconds).
    #[ts(type = "number | null")]
    pub last_used_at: Option<u64>,
    /// The secret is shorter than 128 bits.
    pub weak: bool,
}

/// The account list and the clock it was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountList {
    /// The server-side time of the codes (Unix seconds), for the countdown.
    #[ts(type = "number")]
    pub now: u64,
    /// Accounts in the chosen order.
    pub accounts: Vec<AccountView>,
}

/// Manual entry, validated exactly like the CLI's `tessera add --issuer … --secret …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ManualAccount {
    /// Issuer.
    pub issuer: String,
    /// Account name.
    pub name: String,
    /// Base32 secret.
    pub secret: String,
    /// `totp` (default), `hotp`, `steam`.
    pub otp_type: Option<String>,
    /// `SHA1` (default), `SHA256`, `SHA512`.
    pub algorithm: Option<String>,
    /// 6 (default) to 10.
    pub digits: Option<u8>,
    /// 30 (default).
    pub period: Option<u32>,
    /// HOTP initial counter (0).
    #[ts(type = "number | null")]
    pub counter: Option<u64>,
}

/// What may be edited on an existing account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountEdit {
    /// Issuer.
    pub issuer: String,
    /// Account name.
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Note.
    pub note: String,
    /// Favourite.
    pub favourite: bool,
}

/// A text tessera-core words by code (`tessera_core::notice`): a warning about a Key URI, the
/// reason an entry was skipped. The UI shows its catalogue's `core.<code>` with `params` filled
/// in; the codes and their parameters are listed in `ui/src/lib/bindings/core-codes.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CoreText {
    /// The stable code (`weak_secret`, `skip_unsupported_type`, …).
    pub code: String,
    /// The parameters the text names (`bits`, `kind`, …). Never a secret.
    #[ts(type = "Record<string, string | number | string[]>")]
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl CoreText {
    /// The wire form of a core text.
    pub fn of(text: &impl tessera_core::notice::Coded) -> Self {
        CoreText {
            code: text.code().to_owned(),
            params: text.params(),
        }
    }
}

/// A warning about one account that was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountWarning {
    /// The account's display name.
    pub name: String,
    /// What is worth knowing (a weak secret, a label/issuer mismatch).
    pub warning: CoreText,
}

/// The outcome of adding accounts (from a URI, a scan or an import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AddResult {
    /// Ids of the accounts added.
    #[ts(type = "number[]")]
    pub added: Vec<i64>,
    /// Display names of entries not added because the vault already has them.
    pub duplicates: Vec<String>,
    /// Warnings worth showing (a weak secret, a label/issuer mismatch).
    pub warnings: Vec<AccountWarning>,
    /// Entries of a migration code or an import that were not added, with why.
    pub skipped: Vec<SkippedEntry>,
}

/// A code copied to the clipboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CopyResult {
    /// The code copied.
    pub code: String,
    /// Seconds until the clipboard is cleared (0 = it is not).
    pub clear_after_secs: u32,
}

/// What a decoded QR code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ScanKind {
    /// One `otpauth://` account.
    Account,
    /// A Google Authenticator export (`otpauth-migration://`) with one or more accounts.
    Migration,
    /// A `tessera://enroll` link from a server.
    Enroll,
    /// A `tessera://qr-login` link a sign-in page shows.
    QrLogin,
    /// Something else (a web address, text); shown, never acted on.
    Other,
}

/// One QR code found by a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScanFound {
    /// What it is.
    pub kind: ScanKind,
    /// A line to show ("GitHub: alice", "3 accounts from Google Authenticator",
    /// "Enroll with https://…", "Sign-in request from https://…"). Never a secret.
    pub label: String,
    /// An opaque handle to act on it (`add_scanned`, `enroll`, `qr_login_details`).
    pub handle: String,
    /// Why it cannot be used (an invalid otpauth field, a migration entry we lack), if so.
    pub problem: Option<String>,
    /// The parts of `label` the UI words in its own language: the server's origin (enroll,
    /// sign-in), the link's `scheme://host` (other), the user (enroll), the number of
    /// accounts (migration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub origin: Option<String>,
    /// See `origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub user: Option<String>,
    /// See `origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub count: Option<u32>,
    /// What kind of problem `problem` is, for the UI's own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub problem_kind: Option<ScanProblem>,
}

/// Why a scanned code cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ScanProblem {
    /// The managed policy does not allow this server.
    NotAllowed,
    /// A sign-in code from a server this device is not enrolled with.
    NotEnrolled,
    /// A Google Authenticator export with no account Tessera can use.
    Empty,
    /// Not a code Tessera uses (another app's QR code, a web link).
    NotOurs,
    /// A malformed link or field.
    Invalid,
}

/// Every QR code found by one scan (screen, file, clipboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScanResult {
    /// Where it looked ("2 monitors", "image.png", "the clipboard").
    pub source: String,
    /// What it found, in reading order; empty when there was none.
    pub found: Vec<ScanFound>,
}

/// A format the app imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportFormatInfo {
    /// Stable id (`aegis`, `2fas`, …, as the CLI's `--format`).
    pub id: String,
    /// Human name.
    pub description: String,
}

/// A format the app exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportFormatInfo {
    /// Stable id (as the CLI's `--format`).
    pub id: String,
    /// Human name.
    pub description: String,
    /// The file holds secrets in plaintext: the UI warns and asks for confirmation.
    pub plaintext: bool,
    /// Needs a password.
    pub needs_password: bool,
    /// The file name extension to suggest.
    pub extension: String,
}

/// One entry of a pending import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportEntry {
    /// Position in the file.
    pub index: u32,
    /// Issuer.
    pub issuer: String,
    /// Name.
    pub name: String,
    /// `totp`, `hotp`, `steam`.
    pub otp_type: String,
    /// The vault already has this account (same secret, issuer and name).
    pub duplicate: bool,
}

/// A read but not yet stored import, for the user to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportPreview {
    /// The format read.
    pub format: String,
    /// Entries to import.
    pub entries: Vec<ImportEntry>,
    /// Entries that cannot be carried, by name, with why.
    pub skipped: Vec<SkippedEntry>,
}

/// An entry left out, and why (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SkippedEntry {
    /// The entry's name.
    pub name: String,
    /// Why.
    pub reason: CoreText,
}

/// The outcome of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportResult {
    /// Files written.
    pub files: Vec<String>,
    /// Accounts written.
    pub exported: u32,
    /// Accounts the format cannot carry, with why.
    pub skipped: Vec<SkippedEntry>,
    /// Backup only: the test restore decrypted the file and found every account.
    pub verified: Option<bool>,
}

/// One server this device is enrolled with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EnrollmentView {
    /// The device id the server gave.
    pub device_id: String,
    /// The server's origin (pinned).
    pub origin: String,
    /// The user at that server.
    pub user: String,
    /// The device name the server shows.
    pub device_name: String,
    /// `ES256` or `EdDSA`.
    pub algorithm: String,
    /// The pinned server key's fingerprint.
    pub server_fingerprint: String,
    /// Whether the push channel to this server is connected.
    pub connected: bool,
}

/// A push approval request, as the approval window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PushView {
    /// Transaction id.
    pub transaction_id: String,
    /// The enrollment it came through.
    pub device_id: String,
    /// The server's origin.
    pub server_origin: String,
    /// The user at that server.
    pub user: String,
    /// The application asking ("Example app").
    pub application: String,
    /// The origin of the sign-in.
    pub origin: String,
    /// The requester's IP address.
    pub ip: String,
    /// Approximate location, if the server knows it.
    pub location: Option<String>,
    /// The browser's user agent, if given.
    pub user_agent: Option<String>,
    /// When the request was made (Unix seconds), if the server said.
    #[ts(type = "number | null")]
    pub requested_at: Option<u64>,
    /// Expiry (Unix seconds).
    #[ts(type = "number")]
    pub expires_at: u64,
    /// "Pick one of three": the choices; empty when the user types the number.
    pub number_choices: Vec<u32>,
    /// The requester's network against this device's last known one, as the server compared
    /// them (the card warns when different).
    pub device_network: NetworkMatch,
    /// This device's network as the server last saw it ("198.51.100.0/24"), if known.
    pub device_network_prefix: Option<String>,
}

/// How the requester's network compares with this device's (docs/protocol.md, "Requester and
/// device network").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMatch {
    /// The same IPv4 /24 or IPv6 /64: nothing is shown.
    Same,
    /// Another network: the card warns.
    Different,
    /// The server could not compare them: a neutral note.
    Unknown,
}

impl From<tessera_core::device::DeviceNetwork> for NetworkMatch {
    fn from(n: tessera_core::device::DeviceNetwork) -> Self {
        use tessera_core::device::DeviceNetwork as N;
        match n {
            N::Same => NetworkMatch::Same,
            N::Different => NetworkMatch::Different,
            N::Unknown => NetworkMatch::Unknown,
        }
    }
}

/// The user's answer to a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PushDecision {
    /// Approve (with the number).
    Approve,
    /// Deny.
    Deny,
    /// "This wasn't me": deny, report, and pause pushes.
    NotMe,
}

/// One answered or expired push, kept in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HistoryEntry {
    /// Transaction id.
    pub transaction_id: String,
    /// `push` or `qr_login`.
    pub kind: String,
    /// The application.
    pub application: String,
    /// The sign-in's origin.
    pub origin: String,
    /// The requester's IP.
    pub ip: String,
    /// Location, if known.
    pub location: Option<String>,
    /// `approved`, `denied`, `not_me`, `expired`, `failed`.
    pub outcome: String,
    /// When it was answered (Unix seconds).
    #[ts(type = "number")]
    pub at: u64,
}

/// Who is asking for a QR login, as the confirmation screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QrLoginView {
    /// The handle to answer with.
    pub handle: String,
    /// The server's origin (one this device enrolled with).
    pub server_origin: String,
    /// The user at that server.
    pub user: String,
    /// The application.
    pub application: String,
    /// The browser's origin.
    pub origin: String,
    /// The browser's IP.
    pub ip: String,
    /// Location, if known.
    pub location: Option<String>,
    /// The browser's user agent.
    pub user_agent: Option<String>,
    /// Expiry (Unix seconds).
    #[ts(type = "number")]
    pub expires_at: u64,
    /// The browser's network against this device's last known one (the card warns when
    /// different).
    pub device_network: NetworkMatch,
    /// This device's network as the server last saw it, if known.
    pub device_network_prefix: Option<String>,
}

/// Every error a command returns: a stable code the UI may branch on and a message to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommandError {
    /// `locked`, `no_vault`, `wrong_passphrase`, `keyring`, `invalid`, `not_found`,
    /// `duplicate`, `policy`, `io`, `network`, `server`, `expired`, `scan`, `internal`.
    pub code: String,
    /// One sentence naming what is wrong, in English. Never a secret.
    pub message: String,
    /// For tessera-core's errors: their own code and parameters (`core.<code>` in the UI's
    /// catalogues), for the UI to word in the user's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub detail: Option<CoreText>,
}

/// Event names the backend emits (payload type in brackets).
pub mod events {
    /// The vault was locked (by idle timeout, the tray, or a command) [`super::AppStatus`].
    pub const STATUS: &str = "tessera://status";
    /// The account list changed (added, edited, removed, imported) [()].
    pub const ACCOUNTS: &str = "tessera://accounts";
    /// A push arrived [`super::PushView`].
    pub const PUSH: &str = "tessera://push";
    /// A push was answered, expired or withdrawn [`String`] (its transaction id).
    pub const PUSH_GONE: &str = "tessera://push-gone";
    /// The clipboard was cleared after a copy [()].
    pub const CLIPBOARD_CLEARED: &str = "tessera://clipboard-cleared";
}

/// Writes or checks the generated TypeScript (`ui/src/lib/bindings/`).
#[cfg(test)]
mod bindings {
    use std::path::PathBuf;

    use ts_rs::{Config, TS};

    use super::*;

    macro_rules! each_type {
        ($f:ident) => {{
            let mut out: Vec<(String, String)> = Vec::new();
            for (name, text) in [
                $f::<LockState>(),
                $f::<KeyKind>(),
                $f::<AppStatus>(),
                $f::<Settings>(),
                $f::<Theme>(),
                $f::<SortOrder>(),
                $f::<Language>(),
                $f::<Locale>(),
                $f::<PolicyView>(),
                $f::<AccountView>(),
                $f::<AccountList>(),
                $f::<ManualAccount>(),
                $f::<AccountEdit>(),
                $f::<CoreText>(),
                $f::<AccountWarning>(),
                $f::<AddResult>(),
                $f::<CopyResult>(),
                $f::<ScanKind>(),
                $f::<ScanFound>(),
                $f::<ScanProblem>(),
                $f::<ScanResult>(),
                $f::<ImportFormatInfo>(),
                $f::<ExportFormatInfo>(),
                $f::<ImportEntry>(),
                $f::<ImportPreview>(),
                $f::<SkippedEntry>(),
                $f::<ExportResult>(),
                $f::<EnrollmentView>(),
                $f::<PushView>(),
                $f::<NetworkMatch>(),
                $f::<PushDecision>(),
                $f::<HistoryEntry>(),
                $f::<QrLoginView>(),
                $f::<CommandError>(),
            ] {
                out.push((name, text));
            }
            out
        }};
    }

    fn render<T: TS + 'static>() -> (String, String) {
        let cfg = Config::new().with_large_int("number");
        let text = T::export_to_string(&cfg).unwrap_or_else(|e| panic!("{}: {e}", T::name(&cfg)));
        (T::name(&cfg), text)
    }

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/bindings")
    }

    /// `TESSERA_WRITE_BINDINGS=1 cargo test -p tessera-desktop --lib bindings` rewrites them.
    #[test]
    fn bindings_are_current() {
        let all = each_type!(render);
        let write = std::env::var_os("TESSERA_WRITE_BINDINGS").is_some();
        let mut stale = Vec::new();
        for (name, text) in &all {
            let path = dir().join(format!("{name}.ts"));
            if write {
                std::fs::create_dir_all(dir()).unwrap();
                std::fs::write(&path, text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name.clone());
            }
        }
        assert!(
            stale.is_empty(),
            "ui/src/lib/bindings is out of date for {stale:?}: run \
             TESSERA_WRITE_BINDINGS=1 cargo test -p tessera-desktop --lib bindings and commit"
        );
    }
}
