//! The app's one error type. Every command returns [`Error`], serialised to the UI as
//! [`CommandError`] `{code, message, detail?}`: the code for the UI to branch on, the English
//! message (what the log says), and for tessera-core's errors their own code and parameters
//! (`detail`), which the UI words in the user's language.
//! Messages name what is wrong and never carry a secret (the crates below guarantee that for
//! their own errors; ours never format secrets).

use crate::wire::{CommandError, CoreText};

/// What a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The vault is locked; unlock first.
    #[error("Tessera is locked")]
    Locked,
    /// There is no vault yet.
    #[error("there is no vault yet: create one first")]
    NoVault,
    /// The vault already exists (creating twice).
    #[error("a vault already exists at {0}")]
    VaultExists(String),
    /// The passphrase is wrong.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The OS keyring could not be used.
    #[error("{0}")]
    Keyring(String),
    /// Bad input: names the field or value that is wrong.
    #[error("{0}")]
    Invalid(String),
    /// No such account, push, scan result or enrollment.
    #[error("{0}")]
    NotFound(String),
    /// The enterprise policy forbids it.
    #[error("{0}")]
    Policy(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The server could not be reached.
    #[error("{0}")]
    Network(String),
    /// The server refused.
    #[error("{0}")]
    Server(String),
    /// The push or QR login expired.
    #[error("{0}")]
    Expired(String),
    /// Screen capture failed.
    #[error("{0}")]
    Scan(String),
    /// A failure that is not the user's: storage damage, a broken invariant.
    #[error("{0}")]
    Internal(String),
    /// An error of tessera-core (a URI, an import, an export): `invalid` or `internal`, with
    /// the core's code and parameters.
    #[error("{message}")]
    Core {
        /// `invalid` or `internal`.
        code: &'static str,
        /// The core's English message.
        message: String,
        /// The core's code and parameters.
        detail: CoreText,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable code the UI sees.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Locked => "locked",
            Error::NoVault => "no_vault",
            Error::VaultExists(_) => "invalid",
            Error::WrongPassphrase => "wrong_passphrase",
            Error::Keyring(_) => "keyring",
            Error::Invalid(_) => "invalid",
            Error::NotFound(_) => "not_found",
            Error::Policy(_) => "policy",
            Error::Io(_) => "io",
            Error::Network(_) => "network",
            Error::Server(_) => "server",
            Error::Expired(_) => "expired",
            Error::Scan(_) => "scan",
            Error::Internal(_) => "internal",
            Error::Core { code, .. } => code,
        }
    }

    /// The wire form.
    pub fn to_wire(&self) -> CommandError {
        CommandError {
            code: self.code().to_owned(),
            message: self.to_string(),
            detail: match self {
                Error::Core { detail, .. } => Some(detail.clone()),
                _ => None,
            },
        }
    }
}

impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl From<tessera_vault::Error> for Error {
    fn from(e: tessera_vault::Error) -> Self {
        use tessera_vault::Error as V;
        match e {
            V::WrongPassphrase => Error::WrongPassphrase,
            V::KeyringUnavailable(_) | V::KeyringLocked | V::KeyMissing(_) => {
                Error::Keyring(e.to_string())
            }
            V::WrongKeySource { .. } | V::Weak(_) | V::Invalid(_) => Error::Invalid(e.to_string()),
            V::NotFound(_) => Error::NotFound(e.to_string()),
            V::Missing(_) => Error::NoVault,
            V::AlreadyExists(p) => Error::VaultExists(p.display().to_string()),
            V::Io { .. } => Error::Io(e.to_string()),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<tessera_core::Error> for Error {
    fn from(e: tessera_core::Error) -> Self {
        Error::Core {
            code: "invalid",
            message: e.to_string(),
            detail: CoreText::of(&e),
        }
    }
}

impl From<tessera_core::import::InteropError> for Error {
    fn from(e: tessera_core::import::InteropError) -> Self {
        use tessera_core::import::InteropError as I;
        Error::Core {
            code: if matches!(e, I::Crypto(_)) {
                "internal"
            } else {
                "invalid"
            },
            message: e.to_string(),
            detail: CoreText::of(&e),
        }
    }
}

impl From<tessera_client::Error> for Error {
    fn from(e: tessera_client::Error) -> Self {
        use tessera_client::Error as C;
        match &e {
            C::Transport(_) | C::Timeout(_) => Error::Network(e.to_string()),
            C::Server { code, .. } if code == "expired" => {
                Error::Expired("the request has expired".into())
            }
            C::Server { .. } | C::Pinning(_) | C::BadChallenge => Error::Server(e.to_string()),
            C::Core(_) | C::Invalid(_) => Error::Invalid(e.to_string()),
            C::Storage(_) => Error::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_has_code_and_message() {
        let v = serde_json::to_value(Error::WrongPassphrase).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code": "wrong_passphrase", "message": "wrong passphrase"})
        );
        let v = serde_json::to_value(Error::from(tessera_vault::Error::KeyringLocked)).unwrap();
        assert_eq!(v["code"], "keyring");
        assert!(v.get("detail").is_none());
    }

    #[test]
    fn core_errors_carry_their_code_and_parameters() {
        use tessera_core::import::{Format, InteropError};
        let v = serde_json::to_value(Error::from(InteropError::PasswordRequired {
            format: Format::Aegis,
        }))
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "code": "invalid",
                "message": "this aegis export is encrypted: a password is required",
                "detail": {"code": "import_password_required", "params": {"format": "aegis"}},
            })
        );
        let v = serde_json::to_value(Error::from(InteropError::Crypto("rng"))).unwrap();
        assert_eq!(
            (v["code"].as_str(), v["detail"]["code"].as_str()),
            (Some("internal"), Some("crypto_failure"))
        );
        let e = tessera_core::Error::Missing(tessera_core::error::Field::Secret);
        let v = serde_json::to_value(Error::from(e)).unwrap();
        assert_eq!(
            v["detail"],
            serde_json::json!({"code": "missing_field", "params": {"field": "secret"}})
        );
    }
}
