//! A password for an encrypted export: zeroized on drop, never printed.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A password as the user typed it. Formats derive keys from its UTF-8 bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(text: impl Into<String>) -> Self {
        Password(text.into())
    }

    /// The password's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The password's UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
