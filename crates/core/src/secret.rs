//! Shared secrets as a type: zeroized on drop, never printed.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Field, Result};

/// RFC 4226 §4 requires at least 128 bits and recommends 160. Many real services still issue
/// 80-bit secrets, so shorter secrets are accepted but reported as weak (see [`Secret::is_weak`]).
pub const RECOMMENDED_MIN_BITS: usize = 128;

/// The longest secret we accept (bytes). HMAC keys longer than the block size are hashed first,
/// so nothing is gained beyond this; the cap bounds memory for untrusted input.
pub const MAX_SECRET_BYTES: usize = 1024;

/// Base32 without padding that ignores non-zero trailing bits.
fn lenient_base32() -> &'static data_encoding::Encoding {
    static ENC: std::sync::OnceLock<data_encoding::Encoding> = std::sync::OnceLock::new();
    ENC.get_or_init(|| {
        let mut spec = BASE32_NOPAD.specification();
        spec.check_trailing_bits = false;
        spec.encoding().unwrap_or_else(|_| BASE32_NOPAD.clone())
    })
}

/// A shared HMAC secret. `Debug` and `Display` never show its bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps raw bytes. Fails on an empty secret or one over [`MAX_SECRET_BYTES`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        if bytes.is_empty() {
            return Err(Error::invalid(Field::Secret, "secret is empty"));
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(Error::invalid(
                Field::Secret,
                format!("secret is longer than {MAX_SECRET_BYTES} bytes"),
            ));
        }
        Ok(Secret(bytes))
    }

    /// Parses base32 (RFC 4648) leniently: case-insensitive, spaces, hyphens and trailing `=`
    /// padding ignored. The error never echoes the input.
    pub fn from_base32(text: &str) -> Result<Self> {
        let mut cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        while cleaned.ends_with('=') {
            cleaned.pop();
        }
        if cleaned.is_empty() {
            return Err(Error::invalid(Field::Secret, "secret is empty"));
        }
        if let Some(pos) = cleaned.find(|c: char| !matches!(c, 'A'..='Z' | '2'..='7')) {
            cleaned.zeroize();
            return Err(Error::invalid(
                Field::Secret,
                format!("not base32: unexpected character at position {}", pos + 1),
            ));
        }
        // Unpadded base32 lengths of 1, 3 and 6 (mod 8) cannot occur. Non-zero trailing bits
        // are accepted (as Google Authenticator does): some issuers emit them.
        let decoded = lenient_base32().decode(cleaned.as_bytes()).map_err(|_| {
            Error::invalid(
                Field::Secret,
                "not base32: the length or the last character is impossible",
            )
        });
        cleaned.zeroize();
        Secret::from_bytes(decoded?)
    }

    /// The secret as unpadded upper-case base32, the form otpauth URIs use.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bits.
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    /// True when shorter than the 128 bits RFC 4226 requires.
    pub fn is_weak(&self) -> bool {
        self.bits() < RECOMMENDED_MIN_BITS
    }
}

impl PartialEq for Secret {
    /// Constant-time for equal lengths; lengths are not secret.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bits redacted>)", self.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_is_lenient_about_case_spaces_and_padding() {
        let a = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let b = Secret::from_base32("jbsw y3dp ehpk 3pxp").unwrap();
        let c = Secret::from_base32("JBSWY3DPEHPK3PXP====").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.as_bytes(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(a.to_base32(), "JBSWY3DPEHPK3PXP");
        // 26 characters = 16 bytes + 2 spare bits; non-zero spare bits are ignored.
        let z = Secret::from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let nz = Secret::from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAB").unwrap();
        assert_eq!(z.as_bytes().len(), 16);
        assert_eq!(z, nz);
    }

    #[test]
    fn bad_base32_names_the_field_and_hides_the_value() {
        let err = Secret::from_base32("ABCDEF1!").unwrap_err();
        assert_eq!(err.field(), Some(Field::Secret));
        assert!(!err.to_string().contains("ABCDEF"), "{err}");
        assert!(Secret::from_base32("").is_err());
        assert!(Secret::from_base32("  ==").is_err());
        // 'A' alone is 5 bits: an impossible length.
        assert!(Secret::from_base32("A").is_err());
    }

    #[test]
    fn debug_redacts() {
        let s = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("JBSW") && shown.contains("80 bits"),
            "{shown}"
        );
        assert!(s.is_weak());
        assert!(!Secret::from_bytes(vec![7; 20]).unwrap().is_weak());
    }
}
