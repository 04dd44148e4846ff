//! Why an entry of a file was left out: of another app's export on import (a kind of code we
//! lack), or of ours on export (what Google's format cannot carry). Typed, with a code and
//! parameters for the app's catalogues ([`crate::notice`]) and an English `Display` for the
//! CLI. Never carries a secret.

use std::fmt;

use serde_json::Value;

use crate::error::{Error, Field};
use crate::notice::{params, Coded, Params};

/// Why an entry was not imported (or exported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A Yandex.Key entry (Aegis): Tessera has no Yandex codes.
    Yandex,
    /// An mOTP entry (Aegis, andOTP): Tessera has no mOTP codes.
    Motp,
    /// An entry type the format names that Tessera does not know or carry.
    UnsupportedType {
        /// The type as the file writes it (truncated for the message).
        kind: String,
    },
    /// An Ente entry in Ente's trash.
    InTrash,
    /// A Google migration entry with an algorithm we refuse (MD5).
    UnsupportedAlgorithm {
        /// The algorithm's name.
        algorithm: String,
    },
    /// A Google migration entry with a numeric value the format does not define.
    UnknownValue {
        /// Which field.
        field: Field,
        /// The value found.
        value: i64,
    },
    /// A Google migration entry that is not a valid account.
    InvalidEntry(Error),
    /// Export: Google Authenticator has no Steam codes.
    GoogleNoSteam,
    /// Export: Google's export carries only 30-second periods.
    GooglePeriod {
        /// The account's period.
        period: u32,
    },
    /// Export: Google's export carries only 6 or 8 digits.
    GoogleDigits {
        /// The account's number of digits.
        digits: u8,
    },
    /// Export: the HOTP counter does not fit Google's signed 64-bit field.
    GoogleCounter,
}

impl SkipReason {
    /// The reason for an entry whose type the file names but we do not carry.
    pub(crate) fn unsupported_type(kind: &str) -> Self {
        SkipReason::UnsupportedType {
            kind: crate::otp::truncate_for_message(kind),
        }
    }

    /// One reason of each kind (for [`crate::notice::catalogue`] and tests).
    pub fn samples() -> Vec<SkipReason> {
        vec![
            SkipReason::Yandex,
            SkipReason::Motp,
            SkipReason::UnsupportedType {
                kind: "PUSH".into(),
            },
            SkipReason::InTrash,
            SkipReason::UnsupportedAlgorithm {
                algorithm: "MD5".into(),
            },
            SkipReason::UnknownValue {
                field: Field::Digits,
                value: 3,
            },
            SkipReason::InvalidEntry(Error::Missing(Field::Secret)),
            SkipReason::GoogleNoSteam,
            SkipReason::GooglePeriod { period: 60 },
            SkipReason::GoogleDigits { digits: 7 },
            SkipReason::GoogleCounter,
        ]
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Yandex => f.write_str("Yandex codes are not supported"),
            SkipReason::Motp => f.write_str("mOTP codes are not supported"),
            SkipReason::UnsupportedType { kind } => write!(f, "unsupported type `{kind}`"),
            SkipReason::InTrash => f.write_str("in Ente's trash"),
            SkipReason::UnsupportedAlgorithm { algorithm } => {
                write!(f, "the {algorithm} algorithm is not supported")
            }
            SkipReason::UnknownValue { field, value } => {
                write!(f, "invalid {field}: unknown value {value}")
            }
            SkipReason::InvalidEntry(e) => e.fmt(f),
            SkipReason::GoogleNoSteam => f.write_str("Google Authenticator has no Steam codes"),
            SkipReason::GooglePeriod { period } => write!(
                f,
                "Google Authenticator's export only carries 30-second periods (this one is {period} s)"
            ),
            SkipReason::GoogleDigits { digits } => write!(
                f,
                "Google Authenticator's export only carries 6 or 8 digits (this one has {digits})"
            ),
            SkipReason::GoogleCounter => {
                f.write_str("the HOTP counter is too large for Google's format")
            }
        }
    }
}

impl Coded for SkipReason {
    fn code(&self) -> &'static str {
        match self {
            SkipReason::Yandex => "skip_yandex",
            SkipReason::Motp => "skip_motp",
            SkipReason::UnsupportedType { .. } => "skip_unsupported_type",
            SkipReason::InTrash => "skip_in_trash",
            SkipReason::UnsupportedAlgorithm { .. } => "skip_unsupported_algorithm",
            SkipReason::UnknownValue { .. } => "skip_unknown_value",
            SkipReason::InvalidEntry(_) => "skip_invalid_entry",
            SkipReason::GoogleNoSteam => "skip_google_steam",
            SkipReason::GooglePeriod { .. } => "skip_google_period",
            SkipReason::GoogleDigits { .. } => "skip_google_digits",
            SkipReason::GoogleCounter => "skip_google_counter",
        }
    }

    fn params(&self) -> Params {
        match self {
            SkipReason::Yandex
            | SkipReason::Motp
            | SkipReason::InTrash
            | SkipReason::GoogleNoSteam
            | SkipReason::GoogleCounter => Params::new(),
            SkipReason::UnsupportedType { kind } => params([("kind", Value::from(kind.as_str()))]),
            SkipReason::UnsupportedAlgorithm { algorithm } => {
                params([("algorithm", Value::from(algorithm.as_str()))])
            }
            SkipReason::UnknownValue { field, value } => params([
                ("field", Value::from(field.to_string())),
                ("value", Value::from(*value)),
            ]),
            // The field only: the English detail stays in `Display` (the CLI, logs).
            SkipReason::InvalidEntry(e) => params([(
                "field",
                Value::from(e.field().map(|f| f.to_string()).unwrap_or_default()),
            )]),
            SkipReason::GooglePeriod { period } => params([("period", Value::from(*period))]),
            SkipReason::GoogleDigits { digits } => params([("digits", Value::from(*digits))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `samples` has each variant once. A new variant fails to compile here until it is added
    /// to the match, and then this test until it has a sample (and so a code in the UI's list).
    #[test]
    fn skip_samples_cover_every_variant() {
        let mut seen = [false; 11];
        for s in SkipReason::samples() {
            let i = match s {
                SkipReason::Yandex => 0,
                SkipReason::Motp => 1,
                SkipReason::UnsupportedType { .. } => 2,
                SkipReason::InTrash => 3,
                SkipReason::UnsupportedAlgorithm { .. } => 4,
                SkipReason::UnknownValue { .. } => 5,
                SkipReason::InvalidEntry(_) => 6,
                SkipReason::GoogleNoSteam => 7,
                SkipReason::GooglePeriod { .. } => 8,
                SkipReason::GoogleDigits { .. } => 9,
                SkipReason::GoogleCounter => 10,
            };
            assert!(!seen[i], "{s:?} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }
}
