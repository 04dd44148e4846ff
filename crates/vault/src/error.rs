//! What can go wrong with a vault. No variant ever carries a secret or an account name.

use std::path::PathBuf;

/// A vault error. Each failure to open has its own variant so that callers can say what to
/// do — and none of them is ever answered by overwriting or recreating the vault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The passphrase does not unlock this vault.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// No OS keyring could be reached (no Secret Service on the session bus, …).
    #[error("the OS keyring is not available ({0}); unlock with a passphrase file instead")]
    KeyringUnavailable(String),
    /// The keyring is there but locked, or refused access.
    #[error("the OS keyring is locked or refused access; unlock it and try again")]
    KeyringLocked,
    /// The keyring has no key for this vault (it was deleted, or this is another user/machine).
    #[error("the OS keyring has no key for this vault (id {0})")]
    KeyMissing(String),
    /// This vault is unlocked by a passphrase but none was given, or the other way round.
    #[error("this vault is unlocked by {expected}, not by {given}")]
    WrongKeySource {
        /// What the vault uses.
        expected: &'static str,
        /// What was given.
        given: &'static str,
    },
    /// The file is a Tessera vault but damaged (a bad page, a blob that fails authentication
    /// under the right key, an impossible value).
    #[error("the vault is corrupt: {0}")]
    Corrupt(String),
    /// The file exists but is not a Tessera vault (another SQLite database, or not SQLite).
    #[error("{0} is not a Tessera vault")]
    NotAVault(PathBuf),
    /// The vault was written by a newer Tessera (schema version shown).
    #[error("the vault has schema version {found}; this Tessera reads up to {supported}")]
    NewerVersion {
        /// The file's version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Creating a vault where a file already exists.
    #[error("{0} already exists")]
    AlreadyExists(PathBuf),
    /// No vault file at the path.
    #[error("no vault at {0}")]
    Missing(PathBuf),
    /// No account or item with that id.
    #[error("no account with id {0}")]
    NotFound(i64),
    /// The account is not valid.
    #[error(transparent)]
    Invalid(#[from] tessera_core::Error),
    /// Another process holds the vault locked for longer than we wait.
    #[error("the vault is busy (another Tessera is writing to it)")]
    Busy,
    /// The passphrase or KDF parameters are unacceptable.
    #[error("{0}")]
    Weak(String),
    /// A file-system error.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Any other storage failure.
    #[error("storage error: {0}")]
    Storage(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy,
            Some(ErrorCode::DatabaseCorrupt) => {
                Error::Corrupt("the database file is damaged".into())
            }
            Some(ErrorCode::NotADatabase) => Error::Corrupt("the file is not a database".into()),
            _ => Error::Storage(e.to_string()),
        }
    }
}
