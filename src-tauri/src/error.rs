//! The app's one error type. Every command returns [`Error`], serialised to the UI as
//! [`CommandError`] `{code, message}`: the code for the UI to branch on, the message to show.
//! Messages name what is wrong and never carry a secret (the crates below guarantee that for
//! their own errors; ours never format secrets).

use crate::wire::CommandError;

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
        }
    }

    /// The wire form.
    pub fn to_wire(&self) -> CommandError {
        CommandError {
            code: self.code().to_owned(),
            message: self.to_string(),
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
        Error::Invalid(e.to_string())
    }
}

impl From<tessera_core::import::InteropError> for Error {
    fn from(e: tessera_core::import::InteropError) -> Self {
        use tessera_core::import::InteropError as I;
        match e {
            I::Crypto(_) => Error::Internal(e.to_string()),
            other => Error::Invalid(other.to_string()),
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
    }
}
