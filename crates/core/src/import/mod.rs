//! Reading other authenticators' exports (and our own backup) into accounts.
//!
//! One file per format behind [`Importer`]; adding a format is adding a file and a line in
//! [`importers`]. [`import`] detects the format when it is not given. An import either yields
//! every account of the file or an error — callers write the result in one transaction — and
//! entries that cannot be carried are listed by name in [`ImportReport::skipped`].

mod backup;
mod uri_list;

use std::fmt;
use std::str::FromStr;

use crate::account::Account;
use crate::backup::BackupError;

/// Largest file we import (64 MiB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Lines of `otpauth://` (and `otpauth-migration://`) URIs; `#` comments and blank lines
    /// ignored.
    UriList,
    /// Google Authenticator export URIs (`otpauth-migration://`), one per line.
    GoogleMigration,
    /// Tessera's encrypted backup.
    TesseraBackup,
}

impl Format {
    /// Every format, in the order detection tries them.
    pub const ALL: &'static [Format] = &[
        Format::TesseraBackup,
        Format::GoogleMigration,
        Format::UriList,
    ];

    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::UriList => "uri-list",
            Format::GoogleMigration => "google-migration",
            Format::TesseraBackup => "tessera-backup",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ImportError;

    fn from_str(s: &str) -> Result<Self, ImportError> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .or(match s.trim().to_ascii_lowercase().as_str() {
                "migration" | "google" => Some(Format::GoogleMigration),
                "uri" | "uris" | "otpauth" => Some(Format::UriList),
                "backup" | "tessera" => Some(Format::TesseraBackup),
                _ => None,
            })
            .ok_or_else(|| ImportError::UnknownFormatName(s.chars().take(40).collect()))
    }
}

/// An entry the import could not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// How the entry is named in the file.
    pub name: String,
    /// Why it was not imported.
    pub reason: String,
}

/// What an import found.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The format read.
    pub format: Format,
    /// Every account to add, in file order.
    pub accounts: Vec<Account>,
    /// Entries we could not carry.
    pub skipped: Vec<Skipped>,
}

/// Why a file could not be imported. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// No importer recognises the file.
    #[error("the file's format is not recognised (give --format; known: {known})")]
    UnknownFormat {
        /// The known format names.
        known: String,
    },
    /// `--format` named no format we know.
    #[error("`{0}` is not a format we import")]
    UnknownFormatName(String),
    /// The file is encrypted and no password was given.
    #[error("the file is encrypted: a password is needed")]
    PasswordRequired,
    /// Over [`MAX_IMPORT_BYTES`].
    #[error("the file is {0} bytes, over the import limit of 64 MiB")]
    TooLarge(usize),
    /// Not valid UTF-8 where text is expected.
    #[error("the file is not UTF-8 text")]
    NotText,
    /// One entry is invalid; nothing is imported.
    #[error("line {line}: {error}")]
    Entry {
        /// 1-based line (or entry) number.
        line: usize,
        /// What is wrong with it.
        error: crate::Error,
    },
    /// The file has no entries at all.
    #[error("the file has no accounts")]
    Empty,
    /// A Tessera backup could not be read.
    #[error(transparent)]
    Backup(#[from] BackupError),
}

/// One import format.
pub trait Importer: Sync {
    /// Which format.
    fn format(&self) -> Format;
    /// Whether the bytes look like this format (cheap, no decryption).
    fn detect(&self, bytes: &[u8]) -> bool;
    /// Reads the file.
    fn import(&self, bytes: &[u8], password: Option<&str>) -> Result<ImportReport, ImportError>;
}

/// Every importer.
pub fn importers() -> &'static [&'static dyn Importer] {
    &[
        &backup::BackupImporter,
        &uri_list::MigrationImporter,
        &uri_list::UriListImporter,
    ]
}

/// The format of a file, if one importer recognises it.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    importers()
        .iter()
        .find(|i| i.detect(bytes))
        .map(|i| i.format())
}

/// Imports a file: with the given format, or the detected one.
pub fn import(
    bytes: &[u8],
    format: Option<Format>,
    password: Option<&str>,
) -> Result<ImportReport, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge(bytes.len()));
    }
    let format = match format {
        Some(f) => f,
        None => detect(bytes).ok_or_else(|| ImportError::UnknownFormat {
            known: Format::ALL
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?,
    };
    let importer = importers()
        .iter()
        .find(|i| i.format() == format)
        .ok_or(ImportError::UnknownFormatName(format.to_string()))?;
    importer.import(bytes, password)
}

/// Pairs `(new index, existing index)` of accounts in `new` that duplicate one in `existing`
/// (same secret, issuer and name).
pub fn find_duplicates(existing: &[Account], new: &[Account]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, n) in new.iter().enumerate() {
        if let Some(j) = existing.iter().position(|e| e.is_duplicate_of(n)) {
            out.push((i, j));
        }
    }
    out
}
