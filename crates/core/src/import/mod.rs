//! Importers of other authenticators' exports: pure functions from bytes (and a password) to
//! accounts.
//!
//! # Public API
//! - [`import`]`(bytes, format, password)` → [`ImportReport`]: the accounts read, and the
//!   entries that could not be carried ([`Skipped`]: a type we lack, by name and a typed
//!   [`SkipReason`] — never dropped silently). An invalid entry fails the whole import with
//!   [`InteropError::Entry`] naming it (all or nothing). With `format = None` the format is
//!   [`detect`]ed.
//! - [`detect`]`(bytes)` → `Option<`[`Format`]`>`.
//! - [`Format`]: the stable names (`aegis`, `2fas`, `andotp`, `bitwarden-json`, `bitwarden-csv`,
//!   `freeotp-plus`, `ente`, `proton`, `uri-list`, `google-migration`, `tessera-backup`), with
//!   `FromStr` and [`Format::as_str`].
//! - [`find_duplicates`]`(existing, new)`: pairs by [`Account::is_duplicate_of`] (same secret,
//!   issuer and name). The caller (the vault transaction) decides to skip or keep them.
//! - [`Password`]: a zeroized, redacted password for encrypted formats.
//! - [`InteropError`]: every failure, typed (wrong password, damaged, truncated, trailing
//!   garbage, unsupported version, KDF parameters over our caps, too large, too deep, …).
//!
//! # Adding a format
//! Add a file with a unit struct implementing [`Importer`], a [`Format`] variant, and one line
//! in [`importers`]. Detection asks each importer in that list's order.
//!
//! # Limits (untrusted input)
//! Input over [`MAX_INPUT_BYTES`] is refused before parsing; JSON nested deeper than
//! [`MAX_JSON_DEPTH`] is refused before parsing; key-derivation parameters over the caps in
//! [`kdf`] are refused before running (never hours of CPU, never gigabytes of memory).

pub(crate) mod aegis;
mod andotp;
mod bitwarden;
pub(crate) mod ente;
mod error;
mod freeotp_plus;
mod google_migration;
pub(crate) mod json;
pub mod kdf;
mod password;
mod proton;
pub(crate) mod secretstream;
mod skip;
mod tessera_backup;
mod twofas;
mod uri_list;

use std::fmt;
use std::str::FromStr;

use crate::account::Account;

pub use error::{InteropError, Result};
/// The import error under the name callers of `import` expect.
pub type ImportError = InteropError;
pub use password::Password;
pub use skip::SkipReason;

/// The largest input we read, in bytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Same as [`MAX_INPUT_BYTES`].
pub const MAX_IMPORT_BYTES: usize = MAX_INPUT_BYTES;
/// The deepest JSON nesting we parse.
pub const MAX_JSON_DEPTH: usize = 64;

/// A file format we read (and for some, write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Aegis vault export (JSON), plaintext or encrypted.
    Aegis,
    /// 2FAS `.2fas` backup, plaintext or encrypted.
    TwoFas,
    /// andOTP backup: plaintext JSON or encrypted binary.
    AndOtp,
    /// Bitwarden JSON export (unencrypted).
    BitwardenJson,
    /// Bitwarden CSV export.
    BitwardenCsv,
    /// FreeOTP+ JSON backup.
    FreeOtpPlus,
    /// Ente Auth export: plaintext URI list with `codeDisplay`, or the encrypted JSON.
    Ente,
    /// Proton Authenticator JSON export.
    Proton,
    /// One `otpauth://` Key URI per line.
    UriList,
    /// Google Authenticator `otpauth-migration://` URIs, one per line.
    GoogleMigration,
    /// Tessera's own encrypted backup.
    TesseraBackup,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: [Format; 11] = [
        Format::TesseraBackup,
        Format::Aegis,
        Format::TwoFas,
        Format::BitwardenJson,
        Format::FreeOtpPlus,
        Format::Proton,
        Format::Ente,
        Format::AndOtp,
        Format::BitwardenCsv,
        Format::GoogleMigration,
        Format::UriList,
    ];

    /// The stable name used by the CLI and the app.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Aegis => "aegis",
            Format::TwoFas => "2fas",
            Format::AndOtp => "andotp",
            Format::BitwardenJson => "bitwarden-json",
            Format::BitwardenCsv => "bitwarden-csv",
            Format::FreeOtpPlus => "freeotp-plus",
            Format::Ente => "ente",
            Format::Proton => "proton",
            Format::UriList => "uri-list",
            Format::GoogleMigration => "google-migration",
            Format::TesseraBackup => "tessera-backup",
        }
    }

    /// A human name for lists.
    pub fn description(self) -> &'static str {
        match self {
            Format::Aegis => "Aegis (JSON, plain or encrypted)",
            Format::TwoFas => "2FAS (.2fas, plain or encrypted)",
            Format::AndOtp => "andOTP (JSON or encrypted)",
            Format::BitwardenJson => "Bitwarden (JSON)",
            Format::BitwardenCsv => "Bitwarden (CSV)",
            Format::FreeOtpPlus => "FreeOTP+ (JSON)",
            Format::Ente => "Ente Auth (plain or encrypted)",
            Format::Proton => "Proton Authenticator (JSON)",
            Format::UriList => "otpauth:// URI list",
            Format::GoogleMigration => "Google Authenticator (otpauth-migration://)",
            Format::TesseraBackup => "Tessera encrypted backup",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = InteropError;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "migration" | "google" => Some(Format::GoogleMigration),
            "uri" | "uris" | "otpauth" => Some(Format::UriList),
            "backup" | "tessera" => Some(Format::TesseraBackup),
            "twofas" => Some(Format::TwoFas),
            "freeotp+" | "freeotp" => Some(Format::FreeOtpPlus),
            _ => None,
        };
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .or(alias)
            .ok_or_else(|| InteropError::UnknownFormatName(crate::otp::truncate_for_message(s)))
    }
}

/// An entry of the file that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's name as the other app shows it (or its position when it has none).
    pub name: String,
    /// Why it was not imported (never the secret): a code with parameters for the app, and
    /// English for the CLI (`Display`).
    pub reason: SkipReason,
}

/// What an import read.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The format that was read.
    pub format: Format,
    /// Accounts, validated, in the file's order.
    pub accounts: Vec<Account>,
    /// Entries that could not be carried.
    pub skipped: Vec<Skipped>,
}

impl ImportReport {
    pub(crate) fn new(format: Format) -> Self {
        ImportReport {
            format,
            accounts: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Validates and keeps the account. An invalid entry fails the whole import (naming it):
    /// a damaged entry means a damaged file, and imports are all or nothing. Only entries of a
    /// kind we lack are skipped (see [`ImportReport::skip`]).
    pub(crate) fn push(&mut self, entry: impl FnOnce() -> String, account: Account) -> Result<()> {
        match account.validate() {
            Ok(()) => {
                self.accounts.push(account);
                Ok(())
            }
            Err(error) => Err(InteropError::Entry {
                entry: entry(),
                error,
            }),
        }
    }

    /// Keeps the result of building an entry, or fails naming it.
    pub(crate) fn push_result(
        &mut self,
        entry: impl FnOnce() -> String,
        built: crate::Result<Account>,
    ) -> Result<()> {
        match built {
            Ok(a) => self.push(entry, a),
            Err(error) => Err(InteropError::Entry {
                entry: entry(),
                error,
            }),
        }
    }

    /// Fails with [`InteropError::Empty`] when nothing at all was found.
    pub(crate) fn non_empty(self) -> Result<Self> {
        if self.accounts.is_empty() && self.skipped.is_empty() {
            return Err(InteropError::Empty);
        }
        Ok(self)
    }

    /// Lists an entry we cannot carry (a type we lack), by name.
    pub(crate) fn skip(&mut self, name: impl Into<String>, reason: SkipReason) {
        self.skipped.push(Skipped {
            name: name.into(),
            reason,
        });
    }
}

/// The input handed to detectors: the bytes, and their text and JSON parse when they have one
/// (computed once for all detectors).
#[derive(Debug)]
pub struct Probe<'a> {
    /// The raw input.
    pub bytes: &'a [u8],
    /// The input as UTF-8 without a BOM, if it is UTF-8.
    pub text: Option<&'a str>,
    /// The input as JSON, if it parses (within the depth cap).
    pub json: Option<serde_json::Value>,
}

impl<'a> Probe<'a> {
    /// Prepares a probe of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        let text = std::str::from_utf8(bytes)
            .ok()
            .map(|t| t.strip_prefix('\u{feff}').unwrap_or(t));
        // The first JSON value, even with bytes after it: the importer then reports them as
        // trailing garbage rather than detection failing.
        let json = text
            .filter(|t| t.trim_start().starts_with(['{', '[']))
            .filter(|t| json::check_depth(t.as_bytes()).is_ok())
            .and_then(|t| {
                serde_json::Deserializer::from_str(t)
                    .into_iter::<serde_json::Value>()
                    .next()?
                    .ok()
            });
        Probe { bytes, text, json }
    }

    /// The top-level JSON object, if the input is one.
    pub fn object(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.json.as_ref().and_then(serde_json::Value::as_object)
    }

    /// The first line of the text that is neither blank nor a `#` comment.
    pub fn first_line(&self) -> Option<&'a str> {
        self.text?
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
    }
}

/// One format's reader. Implementations are unit structs, one file per format.
pub trait Importer: Sync {
    /// The format it reads.
    fn format(&self) -> Format;
    /// Whether the input looks like this format (cheap; no decryption).
    fn detect(&self, probe: &Probe<'_>) -> bool;
    /// Reads the input. `password` is needed for encrypted variants.
    fn import(&self, bytes: &[u8], password: Option<&Password>) -> Result<ImportReport>;
}

/// Every importer, in detection order (most specific first).
pub fn importers() -> &'static [&'static dyn Importer] {
    &[
        &tessera_backup::TesseraBackup,
        &aegis::Aegis,
        &twofas::TwoFas,
        &bitwarden::BitwardenJson,
        &freeotp_plus::FreeOtpPlus,
        &proton::Proton,
        &ente::Ente,
        &andotp::AndOtp,
        &bitwarden::BitwardenCsv,
        &google_migration::GoogleMigration,
        &uri_list::UriList,
    ]
}

/// The importer of a format.
pub fn importer(format: Format) -> Option<&'static dyn Importer> {
    importers().iter().copied().find(|i| i.format() == format)
}

fn check_size(bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InteropError::TooLarge {
            len: bytes.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// Guesses the format of an export. `None` when nothing recognises it (or it is too large).
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if check_size(bytes).is_err() {
        return None;
    }
    let probe = Probe::new(bytes);
    importers()
        .iter()
        .find(|i| i.detect(&probe))
        .map(|i| i.format())
}

/// Reads an export. With `format = None` it is detected first. Nothing is written anywhere:
/// the caller stores the accounts (all or nothing) and asks about duplicates.
pub fn import(
    bytes: &[u8],
    format: Option<Format>,
    password: Option<&str>,
) -> Result<ImportReport> {
    check_size(bytes)?;
    let password = password.map(Password::new);
    let password = password.as_ref();
    let format = match format {
        Some(f) => f,
        None => {
            match detect(bytes) {
                Some(f) => f,
                None => {
                    // JSON that no importer recognised because it is too deep, truncated or
                    // broken is reported as such rather than as an unknown format.
                    if let Ok(t) = std::str::from_utf8(bytes) {
                        if t.trim_start().starts_with(['{', '[']) {
                            json::parse::<serde_json::Value>(Format::UriList, t.as_bytes())
                                .map_err(|e| match e {
                                    InteropError::Malformed { reason, .. } => {
                                        InteropError::Malformed {
                                            format: Format::UriList,
                                            reason: format!("not a known format ({reason})"),
                                        }
                                    }
                                    other => other,
                                })?;
                        }
                    }
                    return Err(InteropError::UnknownFormat {
                        known: known_formats(),
                    });
                }
            }
        }
    };
    let importer = importer(format).ok_or_else(|| InteropError::UnknownFormat {
        known: known_formats(),
    })?;
    let mut report = importer.import(bytes, password)?;
    report.format = format;
    Ok(report)
}

/// The format names, comma-separated, for messages.
pub fn known_formats() -> String {
    Format::ALL.map(Format::as_str).join(", ")
}

/// Pairs `(i, j)` where `new[j]` duplicates `existing[i]` (same secret, issuer and name).
pub fn find_duplicates(existing: &[Account], new: &[Account]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for (j, n) in new.iter().enumerate() {
        for (i, e) in existing.iter().enumerate() {
            if n.is_duplicate_of(e) {
                pairs.push((i, j));
            }
        }
    }
    pairs
}

/// Builds a Steam account from a bare base32 secret (`steam://SECRET` in Bitwarden, Proton).
pub(crate) fn steam_account(
    issuer: impl Into<String>,
    name: impl Into<String>,
    secret_b32: &str,
) -> crate::Result<Account> {
    let mut a = Account::totp(issuer, name, crate::Secret::from_base32(secret_b32)?);
    a.otp_type = crate::OtpType::Steam;
    a.digits = crate::otp::STEAM_DIGITS;
    Ok(a)
}

/// Parses an algorithm name leniently (`SHA1`, `sha-256`, `HmacSHA512`); absent or empty is
/// SHA-1, the default of every format.
pub(crate) fn algorithm(name: Option<&str>) -> crate::Result<crate::Algorithm> {
    match name.map(str::trim) {
        None | Some("") => Ok(crate::Algorithm::Sha1),
        Some(n) => n.parse(),
    }
}

/// "Issuer (name)", "Issuer" or "name": how a skipped entry is named.
pub(crate) fn display_name(issuer: &str, name: &str) -> String {
    match (issuer.is_empty(), name.is_empty()) {
        (false, false) => format!("{issuer} ({name})"),
        (false, true) => issuer.to_owned(),
        _ => name.to_owned(),
    }
}

/// Builds an Ente-format encrypted export (Argon2id with the given `memLimit` bytes and
/// `opsLimit`, XChaCha20-Poly1305 secretstream) of a plaintext Ente export. For tests and
/// benchmarks: Tessera does not offer Ente as an export format.
#[doc(hidden)]
pub fn seal_ente_for_tests(
    plain: &str,
    password: &str,
    mem_limit_bytes: u64,
    ops_limit: u32,
) -> Result<Vec<u8>> {
    ente::seal_for_tests(plain, &Password::new(password), mem_limit_bytes, ops_limit)
}
