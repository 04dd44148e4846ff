//! Errors of importing, exporting and backups. Every variant names what is wrong; none ever
//! carries a secret, a password or a piece of the file's content.

use super::Format;

/// Everything that can go wrong reading another app's export, writing one, or handling a
/// Tessera backup.
///
/// Authentication failures: formats with a separate key check (Aegis' password slots, 2FAS'
/// `reference`, Tessera's key check) tell [`WrongPassword`](InteropError::WrongPassword) from
/// [`Corrupt`](InteropError::Corrupt) (the key was right but the content fails its tag). Formats
/// with a single AEAD over the content (andOTP, Ente) cannot tell the two apart and report
/// [`WrongPasswordOrCorrupt`](InteropError::WrongPasswordOrCorrupt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteropError {
    /// No importer recognised the input.
    #[error("the file's format is not recognised (name it explicitly; known: {known})")]
    UnknownFormat {
        /// The known format names.
        known: String,
    },
    /// An entry is invalid; nothing is imported.
    #[error("{entry}: {error}")]
    Entry {
        /// The entry's name, or `line N` / `entry N`.
        entry: String,
        /// What is wrong with it (never its secret).
        error: crate::Error,
    },
    /// The file holds no entries at all.
    #[error("the file has no accounts")]
    Empty,
    /// A backup cannot be sealed with an empty password.
    #[error("the password is empty")]
    EmptyPassword,
    /// A format name we do not know.
    #[error("unknown format name `{0}`")]
    UnknownFormatName(String),
    /// The file is encrypted and no password was given.
    #[error("this {format} export is encrypted: a password is required")]
    PasswordRequired {
        /// The file's format.
        format: Format,
    },
    /// The password does not unlock the file.
    #[error("wrong password")]
    WrongPassword,
    /// Decryption failed and the format cannot tell a wrong password from a damaged file.
    #[error("wrong password, or the file is damaged")]
    WrongPasswordOrCorrupt,
    /// The password was right (the key check passed) but the content is damaged.
    #[error("the file is damaged: {what}")]
    Corrupt {
        /// What failed.
        what: String,
    },
    /// The input ends before its structure does.
    #[error("the file is truncated: {what}")]
    Truncated {
        /// What was cut off.
        what: String,
    },
    /// Bytes follow the end of the content.
    #[error("unexpected data after the end of the content, at byte {offset}")]
    TrailingGarbage {
        /// Where the extra bytes start.
        offset: usize,
    },
    /// A version of a format we do not read.
    #[error("unsupported {format} version {version}")]
    UnsupportedVersion {
        /// The format.
        format: Format,
        /// The version found in the file.
        version: String,
    },
    /// A variant of a format we do not read (e.g. Bitwarden's encrypted JSON).
    #[error("unsupported {format} file: {what}")]
    Unsupported {
        /// The format.
        format: Format,
        /// What is not supported.
        what: String,
    },
    /// A key-derivation parameter would cost too much time or memory; refused before running.
    #[error("key-derivation parameter {param} = {value} is over our limit of {max}")]
    KdfParamsTooCostly {
        /// The parameter (`scrypt N`, `argon2 memory KiB`, `pbkdf2 iterations`, …).
        param: &'static str,
        /// Its value in the file.
        value: u64,
        /// Our cap.
        max: u64,
    },
    /// The input is over the size cap; refused before parsing.
    #[error("input is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// The input's size.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// JSON nested deeper than we parse.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The cap.
        max: usize,
    },
    /// The file does not have its format's structure.
    #[error("malformed {format} file: {reason}")]
    Malformed {
        /// The format.
        format: Format,
        /// What is wrong (never the content itself).
        reason: String,
    },
    /// An account cannot be written in the chosen export format.
    #[error("cannot export {name}: {reason}")]
    Unexportable {
        /// The account's display name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The system's random number generator or a cipher failed while writing.
    #[error("cryptographic failure while writing: {0}")]
    Crypto(&'static str),
    /// A domain error (an invalid account field).
    #[error(transparent)]
    Domain(#[from] crate::Error),
}

impl InteropError {
    /// Shorthand for [`InteropError::Malformed`].
    pub fn malformed(format: Format, reason: impl Into<String>) -> Self {
        InteropError::Malformed {
            format,
            reason: reason.into(),
        }
    }
}

/// The result type of import, export and backup.
pub type Result<T, E = InteropError> = std::result::Result<T, E>;
