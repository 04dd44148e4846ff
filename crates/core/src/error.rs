//! Errors of the pure domain. Every variant names what is wrong; none ever carries a secret.

use std::fmt;

/// A field of an account, a Key URI or an import entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The URI scheme (`otpauth`, `otpauth-migration`).
    Scheme,
    /// The OTP type (`totp`, `hotp`, `steam`).
    Type,
    /// The label (`issuer:account`).
    Label,
    /// The issuer.
    Issuer,
    /// The account name.
    Name,
    /// The shared secret.
    Secret,
    /// The HMAC algorithm.
    Algorithm,
    /// The number of digits.
    Digits,
    /// The TOTP period in seconds.
    Period,
    /// The HOTP counter.
    Counter,
    /// A URI query parameter.
    Parameter,
    /// The `data` payload of a migration URI.
    Data,
    /// A group name.
    Group,
    /// A note.
    Note,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Scheme => "scheme",
            Field::Type => "type",
            Field::Label => "label",
            Field::Issuer => "issuer",
            Field::Name => "name",
            Field::Secret => "secret",
            Field::Algorithm => "algorithm",
            Field::Digits => "digits",
            Field::Period => "period",
            Field::Counter => "counter",
            Field::Parameter => "parameter",
            Field::Data => "data",
            Field::Group => "group",
            Field::Note => "note",
        })
    }
}

/// Everything that can be wrong with input to the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field has a value we cannot accept. `reason` describes it without repeating secrets.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field.
        field: Field,
        /// Why, in words a user can act on.
        reason: String,
    },
    /// A required field is absent.
    #[error("missing {0}")]
    Missing(Field),
    /// A query parameter appears more than once, so its meaning is ambiguous.
    #[error("duplicate parameter `{0}`")]
    DuplicateParameter(String),
    /// The input exceeds a size cap; we refuse before parsing it.
    #[error("input is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// The input's size in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A binary payload (protobuf, base64) is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: Field, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<Field> {
        match self {
            Error::Invalid { field, .. } | Error::Missing(field) => Some(*field),
            Error::DuplicateParameter(_) => Some(Field::Parameter),
            Error::TooLarge { .. } | Error::Malformed { .. } => None,
        }
    }
}

impl Error {
    /// One error of each kind (for [`crate::notice::catalogue`] and tests).
    pub fn samples() -> Vec<Error> {
        vec![
            Error::invalid(Field::Secret, "not base32"),
            Error::Missing(Field::Secret),
            Error::DuplicateParameter("digits".into()),
            Error::TooLarge {
                len: 5000,
                max: 4096,
            },
            Error::Malformed {
                what: "migration payload",
                reason: "protobuf".into(),
            },
        ]
    }
}

/// Codes for the app: the field, never the English `reason` (which stays in `Display`).
impl crate::notice::Coded for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid_field",
            Error::Missing(_) => "missing_field",
            Error::DuplicateParameter(_) => "duplicate_parameter",
            Error::TooLarge { .. } => "input_too_large",
            Error::Malformed { .. } => "malformed_input",
        }
    }

    fn params(&self) -> crate::notice::Params {
        use serde_json::Value;
        let field = |f: &Field| ("field", Value::from(f.to_string()));
        match self {
            Error::Invalid { field: f, .. } | Error::Missing(f) => {
                crate::notice::params([field(f)])
            }
            Error::DuplicateParameter(name) => {
                crate::notice::params([("name", Value::from(name.as_str()))])
            }
            Error::TooLarge { len, max } => {
                crate::notice::params([("len", Value::from(*len)), ("max", Value::from(*max))])
            }
            Error::Malformed { .. } => crate::notice::Params::new(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A new variant fails to compile here until it is matched, then this test until it has a
    /// sample (and so a code in the UI's list).
    #[test]
    fn error_samples_cover_every_variant() {
        let mut seen = [false; 5];
        for e in Error::samples() {
            let i = match e {
                Error::Invalid { .. } => 0,
                Error::Missing(_) => 1,
                Error::DuplicateParameter(_) => 2,
                Error::TooLarge { .. } => 3,
                Error::Malformed { .. } => 4,
            };
            assert!(!seen[i], "{e:?} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }
}
