//! The client's one error type.

/// Everything that can go wrong on the device side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The link, a key or a value failed a check of tessera-core (names the field).
    #[error(transparent)]
    Core(#[from] tessera_core::Error),
    /// The network or HTTP transport failed (the server may be down).
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server answered with an error.
    #[error("server refused ({status}): {code}: {description}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Machine-readable code (`rejected`, `conflict`, `expired`, …).
        code: String,
        /// The server's text.
        description: String,
    },
    /// The server is not the one this device pinned (origin or identity key), or the link
    /// names another server.
    #[error("server identity mismatch: {0}")]
    Pinning(&'static str),
    /// A challenge did not carry a valid signature of the pinned server key.
    #[error("challenge is not signed by the enrolled server")]
    BadChallenge,
    /// The answer could not be produced (e.g. approving without a number).
    #[error("{0}")]
    Invalid(String),
    /// Stored enrollment data is unreadable.
    #[error("stored device data is unreadable: {0}")]
    Storage(String),
    /// Nothing arrived in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

/// The client's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display carries the URL but no secret (codes travel in bodies, not URLs).
        Error::Transport(e.to_string())
    }
}

impl Error {
    /// The server's error code, when the server answered with one.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            Error::Server { code, .. } => Some(code),
            _ => None,
        }
    }
}
