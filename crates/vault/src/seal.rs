//! Sealed blobs: AES-256-GCM with a versioned header.
//!
//! ```text
//! magic "TSB" | version 0x01 | nonce (12 bytes) | ciphertext | tag (16 bytes)
//! ```
//! The additional data binds a blob to its vault and its place (`vault id | purpose | row`),
//! so a blob copied to another row or another vault fails to open.

use tessera_core::crypto::{self, AeadKey, CryptoError};
use zeroize::Zeroizing;

const MAGIC: &[u8; 3] = b"TSB";
const VERSION: u8 = 1;

/// Why a blob did not open. Deliberately without detail (wrong key and tampering look alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not a sealed blob of a version we know.
    Format,
    /// Authentication failed: wrong key, wrong place, or altered bytes.
    Auth,
}

/// A 256-bit key. Never printed.
#[derive(Debug)]
pub struct Key(AeadKey);

impl Key {
    pub fn from_bytes(bytes: &[u8]) -> Option<Key> {
        AeadKey::new(bytes).ok().map(Key)
    }
}

/// 32 random bytes from the OS CSPRNG.
pub fn random_key() -> Option<Zeroizing<[u8; 32]>> {
    crypto::random::<32>().ok().map(Zeroizing::new)
}

/// Random bytes from the OS CSPRNG.
pub fn random<const N: usize>() -> Option<[u8; N]> {
    crypto::random().ok()
}

pub fn seal(key: &Key, aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
    key.0.seal_framed(MAGIC, VERSION, aad, plaintext).ok()
}

pub fn open(key: &Key, aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    key.0
        .open_framed(MAGIC, VERSION, aad, blob)
        .map_err(|e| match e {
            CryptoError::Auth => OpenError::Auth,
            _ => OpenError::Format,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tag_bad_version_bad_place() {
        let k = Key::from_bytes(&[7; 32]).unwrap();
        let blob = seal(&k, b"row1", b"hello").unwrap();
        assert_eq!(&open(&k, b"row1", &blob).unwrap()[..], b"hello");
        assert_eq!(open(&k, b"row2", &blob), Err(OpenError::Auth));
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open(&k, b"row1", &flipped), Err(OpenError::Auth));
        let mut v2 = blob.clone();
        v2[3] = 2;
        assert_eq!(open(&k, b"row1", &v2), Err(OpenError::Format));
        assert_eq!(open(&k, b"row1", b"TSB"), Err(OpenError::Format));
        let other = Key::from_bytes(&[8; 32]).unwrap();
        assert_eq!(open(&other, b"row1", &blob), Err(OpenError::Auth));
    }
}
