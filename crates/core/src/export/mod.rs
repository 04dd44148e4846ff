//! Exporters: accounts to formats other apps (and Tessera) read. Pure functions returning
//! bytes or text; the caller writes the files.
//!
//! # Public API
//! - [`aegis::plain`]`(accounts)` / [`aegis::encrypted`]`(accounts, password)`: Aegis vault
//!   JSON (content version 3, groups as UUIDs); encrypted with one password slot (scrypt
//!   N = 2^15, r = 8, p = 1) and AES-256-GCM, as Aegis' `docs/vault.md` documents, so Aegis
//!   imports it. [`aegis::encrypted_with`] takes other scrypt parameters.
//! - [`uri_list::to_text`]`(accounts)`: one `otpauth://` Key URI per line.
//! - [`google::export`]`(accounts)` → [`google::GoogleExport`]: Google Authenticator
//!   `otpauth-migration://` URIs, each as a QR code PNG, plus a printable self-contained HTML
//!   page ([`google::GoogleExport::html`]); accounts Google cannot carry are listed in
//!   `skipped`, never dropped silently.
//! - Tessera's encrypted backup: [`crate::backup::seal`] (and `open`, `test_restore`).
//!
//! Errors are [`crate::import::InteropError`].

pub mod aegis;
pub mod google;
pub mod uri_list;

pub use crate::import::{InteropError, Result, Skipped};

use crate::{backup, migration, Account};

/// A format we write. The stable names are the CLI's `--format` values and the app's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// One `otpauth://` URI per line (plaintext).
    UriList,
    /// Google `otpauth-migration://` URIs, one per line, each fitting one QR code (plaintext).
    Migration,
    /// Google export as a printable HTML page of QR codes (plaintext).
    MigrationHtml,
    /// Google export as QR code PNG files, one per batch (plaintext).
    MigrationPng,
    /// Aegis vault JSON, unencrypted (plaintext).
    Aegis,
    /// Aegis vault JSON, encrypted (scrypt + AES-256-GCM); needs a password.
    AegisEncrypted,
    /// Tessera's encrypted backup (Argon2id + AES-256-GCM); needs a password.
    Backup,
}

impl ExportFormat {
    /// Every format, in the order menus list them (encrypted first).
    pub const ALL: [ExportFormat; 7] = [
        ExportFormat::Backup,
        ExportFormat::AegisEncrypted,
        ExportFormat::Aegis,
        ExportFormat::UriList,
        ExportFormat::Migration,
        ExportFormat::MigrationHtml,
        ExportFormat::MigrationPng,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::UriList => "uri-list",
            ExportFormat::Migration => "migration",
            ExportFormat::MigrationHtml => "migration-html",
            ExportFormat::MigrationPng => "migration-png",
            ExportFormat::Aegis => "aegis",
            ExportFormat::AegisEncrypted => "aegis-encrypted",
            ExportFormat::Backup => "backup",
        }
    }

    /// Reads a stable name.
    pub fn parse(name: &str) -> Result<Self> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| InteropError::UnknownFormatName(crate::otp::truncate_for_message(name)))
    }

    /// A human name for menus.
    pub fn description(self) -> &'static str {
        match self {
            ExportFormat::UriList => "otpauth:// URI list (plaintext)",
            ExportFormat::Migration => "Google Authenticator migration URIs (plaintext)",
            ExportFormat::MigrationHtml => {
                "Google Authenticator QR codes, printable HTML page (plaintext)"
            }
            ExportFormat::MigrationPng => "Google Authenticator QR codes, PNG files (plaintext)",
            ExportFormat::Aegis => "Aegis JSON (plaintext)",
            ExportFormat::AegisEncrypted => "Aegis JSON, encrypted",
            ExportFormat::Backup => "Tessera encrypted backup",
        }
    }

    /// The file holds the secrets readably: callers warn before writing it.
    pub fn is_plaintext(self) -> bool {
        !self.needs_password()
    }

    /// The format is encrypted with a password.
    pub fn needs_password(self) -> bool {
        matches!(self, ExportFormat::AegisEncrypted | ExportFormat::Backup)
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::UriList | ExportFormat::Migration => "txt",
            ExportFormat::MigrationHtml => "html",
            ExportFormat::MigrationPng => "png",
            ExportFormat::Aegis | ExportFormat::AegisEncrypted => "json",
            ExportFormat::Backup => "tsbk",
        }
    }
}

/// What an export produced: one file's bytes, or (for [`ExportFormat::MigrationPng`]) one
/// PNG per QR code, plus the accounts the format cannot carry.
#[derive(Debug)]
pub struct Rendered {
    /// The contents, in order (one entry except for PNG series).
    pub files: Vec<Vec<u8>>,
    /// Accounts that were left out, with why.
    pub skipped: Vec<Skipped>,
}

/// Renders `accounts` in `format`. Encrypted formats need `password` (an empty one is refused).
pub fn render(
    format: ExportFormat,
    accounts: &[Account],
    password: Option<&str>,
) -> Result<Rendered> {
    let one = |bytes: Vec<u8>, skipped: Vec<Skipped>| Rendered {
        files: vec![bytes],
        skipped,
    };
    let password = || match password {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(InteropError::EmptyPassword),
    };
    Ok(match format {
        ExportFormat::UriList => one(uri_list::to_text(accounts).into_bytes(), Vec::new()),
        ExportFormat::Migration => {
            let mut carried: Vec<Account> = Vec::new();
            let mut skipped = Vec::new();
            for a in accounts {
                match migration::exportable(a) {
                    Ok(()) => carried.push(a.clone()),
                    Err(reason) => skipped.push(Skipped {
                        name: a.display_name(),
                        reason,
                    }),
                }
            }
            let mut text = String::new();
            for u in migration::encode(&carried)? {
                text.push_str(&u);
                text.push('\n');
            }
            one(text.into_bytes(), skipped)
        }
        ExportFormat::MigrationHtml => {
            let g = google::export(accounts)?;
            one(g.html().into_bytes(), g.skipped)
        }
        ExportFormat::MigrationPng => {
            let g = google::export(accounts)?;
            Rendered {
                files: g.pngs,
                skipped: g.skipped,
            }
        }
        ExportFormat::Aegis => one(aegis::plain(accounts)?, Vec::new()),
        ExportFormat::AegisEncrypted => one(aegis::encrypted(accounts, password()?)?, Vec::new()),
        ExportFormat::Backup => one(backup::seal(accounts, password()?)?, Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn accounts() -> Vec<Account> {
        let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        let mut odd = Account::totp("Odd", "period", secret.clone());
        odd.period = 45;
        vec![Account::totp("GitHub", "alice", secret), odd]
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for f in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(f.as_str()).unwrap(), f);
        }
        assert!(matches!(
            ExportFormat::parse("csv"),
            Err(InteropError::UnknownFormatName(_))
        ));
    }

    #[test]
    fn every_format_renders_and_reads_back() {
        let accounts = accounts();
        for f in ExportFormat::ALL {
            let out = render(f, &accounts, Some("pw")).unwrap();
            assert!(!out.files.is_empty(), "{f:?} wrote nothing");
            if f == ExportFormat::MigrationPng {
                let texts = crate::qr::decode_image_bytes(&out.files[0]).unwrap();
                assert!(texts[0].starts_with("otpauth-migration://"));
                continue;
            }
            if f == ExportFormat::MigrationHtml {
                continue;
            }
            let back = crate::import::import(&out.files[0], None, Some("pw")).unwrap();
            let expected = accounts.len() - out.skipped.len();
            assert_eq!(back.accounts.len(), expected, "{f:?}");
        }
    }

    #[test]
    fn google_formats_list_what_they_cannot_carry() {
        let out = render(ExportFormat::Migration, &accounts(), None).unwrap();
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.skipped[0].name, "Odd (period)");
    }

    #[test]
    fn encrypted_formats_need_a_password() {
        for f in [ExportFormat::Backup, ExportFormat::AegisEncrypted] {
            assert!(matches!(
                render(f, &accounts(), None),
                Err(InteropError::EmptyPassword)
            ));
            assert!(matches!(
                render(f, &accounts(), Some("")),
                Err(InteropError::EmptyPassword)
            ));
        }
    }
}
