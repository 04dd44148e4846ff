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

impl InteropError {
    /// One error of each kind (for [`crate::notice::catalogue`] and tests).
    pub fn samples() -> Vec<InteropError> {
        vec![
            InteropError::UnknownFormat {
                known: "aegis, 2fas".into(),
            },
            InteropError::Entry {
                entry: "GitHub (alice)".into(),
                error: crate::Error::Missing(crate::error::Field::Secret),
            },
            InteropError::Empty,
            InteropError::EmptyPassword,
            InteropError::UnknownFormatName("xml".into()),
            InteropError::PasswordRequired {
                format: Format::Aegis,
            },
            InteropError::WrongPassword,
            InteropError::WrongPasswordOrCorrupt,
            InteropError::Corrupt {
                what: "a tag".into(),
            },
            InteropError::Truncated {
                what: "the header".into(),
            },
            InteropError::TrailingGarbage { offset: 12 },
            InteropError::UnsupportedVersion {
                format: Format::Aegis,
                version: "4".into(),
            },
            InteropError::Unsupported {
                format: Format::BitwardenJson,
                what: "encrypted export".into(),
            },
            InteropError::KdfParamsTooCostly {
                param: "scrypt N",
                value: 1 << 30,
                max: 1 << 20,
            },
            InteropError::TooLarge { len: 10, max: 5 },
            InteropError::TooDeep { max: 64 },
            InteropError::Malformed {
                format: Format::Aegis,
                reason: "missing db".into(),
            },
            InteropError::Unexportable {
                name: "GitHub (alice)".into(),
                reason: "no Steam".into(),
            },
            InteropError::Crypto("rng"),
            InteropError::Domain(crate::Error::Missing(crate::error::Field::Secret)),
        ]
    }
}

/// Codes for the app. Free English details (`what`, `reason`) stay in `Display` (the CLI, the
/// logs, the app's English message); the parameters are names, numbers and format ids.
/// [`InteropError::Domain`] has its inner error's code.
impl crate::notice::Coded for InteropError {
    fn code(&self) -> &'static str {
        use InteropError as I;
        match self {
            I::UnknownFormat { .. } => "import_unknown_format",
            I::Entry { .. } => "import_invalid_entry",
            I::Empty => "import_empty",
            I::EmptyPassword => "export_empty_password",
            I::UnknownFormatName(_) => "unknown_format_name",
            I::PasswordRequired { .. } => "import_password_required",
            I::WrongPassword => "import_wrong_password",
            I::WrongPasswordOrCorrupt => "import_wrong_password_or_corrupt",
            I::Corrupt { .. } => "import_corrupt",
            I::Truncated { .. } => "import_truncated",
            I::TrailingGarbage { .. } => "import_trailing_data",
            I::UnsupportedVersion { .. } => "import_unsupported_version",
            I::Unsupported { .. } => "import_unsupported",
            I::KdfParamsTooCostly { .. } => "import_kdf_too_costly",
            I::TooLarge { .. } => "import_too_large",
            I::TooDeep { .. } => "import_too_deep",
            I::Malformed { .. } => "import_malformed",
            I::Unexportable { .. } => "export_unexportable",
            I::Crypto(_) => "crypto_failure",
            I::Domain(e) => e.code(),
        }
    }

    fn params(&self) -> crate::notice::Params {
        use crate::notice::{params, Params};
        use serde_json::Value;
        use InteropError as I;
        let format = |f: &Format| ("format", Value::from(f.as_str()));
        match self {
            I::UnknownFormat { .. }
            | I::Empty
            | I::EmptyPassword
            | I::WrongPassword
            | I::WrongPasswordOrCorrupt
            | I::Corrupt { .. }
            | I::Truncated { .. }
            | I::Crypto(_) => Params::new(),
            I::Entry { entry, error } => params([
                ("entry", Value::from(entry.as_str())),
                (
                    "field",
                    Value::from(error.field().map(|f| f.to_string()).unwrap_or_default()),
                ),
            ]),
            I::UnknownFormatName(name) => params([("name", Value::from(name.as_str()))]),
            I::PasswordRequired { format: f }
            | I::Unsupported { format: f, .. }
            | I::Malformed { format: f, .. } => params([format(f)]),
            I::TrailingGarbage { offset } => params([("offset", Value::from(*offset))]),
            I::UnsupportedVersion { format: f, version } => {
                params([format(f), ("version", Value::from(version.as_str()))])
            }
            I::KdfParamsTooCostly { param, value, max } => params([
                ("param", Value::from(*param)),
                ("value", Value::from(*value)),
                ("max", Value::from(*max)),
            ]),
            I::TooLarge { len, max } => {
                params([("len", Value::from(*len)), ("max", Value::from(*max))])
            }
            I::TooDeep { max } => params([("max", Value::from(*max))]),
            I::Unexportable { name, .. } => params([("name", Value::from(name.as_str()))]),
            I::Domain(e) => e.params(),
        }
    }
}

/// The result type of import, export and backup.
pub type Result<T, E = InteropError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A new variant fails to compile here until it is matched, then this test until it has a
    /// sample (and so a code in the UI's list).
    #[test]
    fn interop_samples_cover_every_variant() {
        let mut seen = [false; 20];
        for e in InteropError::samples() {
            let i = match e {
                InteropError::UnknownFormat { .. } => 0,
                InteropError::Entry { .. } => 1,
                InteropError::Empty => 2,
                InteropError::EmptyPassword => 3,
                InteropError::UnknownFormatName(_) => 4,
                InteropError::PasswordRequired { .. } => 5,
                InteropError::WrongPassword => 6,
                InteropError::WrongPasswordOrCorrupt => 7,
                InteropError::Corrupt { .. } => 8,
                InteropError::Truncated { .. } => 9,
                InteropError::TrailingGarbage { .. } => 10,
                InteropError::UnsupportedVersion { .. } => 11,
                InteropError::Unsupported { .. } => 12,
                InteropError::KdfParamsTooCostly { .. } => 13,
                InteropError::TooLarge { .. } => 14,
                InteropError::TooDeep { .. } => 15,
                InteropError::Malformed { .. } => 16,
                InteropError::Unexportable { .. } => 17,
                InteropError::Crypto(_) => 18,
                InteropError::Domain(_) => 19,
            };
            assert!(!seen[i], "{e:?} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }
}
