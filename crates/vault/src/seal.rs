//! Sealed blobs: AES-256-GCM with a versioned header.
//!
//! ```text
//! magic "TSB" | version 0x01 | nonce (12 bytes) | ciphertext | tag (16 bytes)
//! ```
//! The additional data binds a blob to its vault and its place (`vault id | purpose | row`),
//! so a blob copied to another row or another vault fails to open.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

const MAGIC: &[u8; 3] = b"TSB";
const VERSION: u8 = 1;
const HEADER: usize = 4 + NONCE_LEN;

/// Why a blob did not open. Deliberately without detail (wrong key and tampering look alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not a sealed blob of a version we know.
    Format,
    /// Authentication failed: wrong key, wrong place, or altered bytes.
    Auth,
}

/// A 256-bit key. Never printed.
pub struct Key(LessSafeKey);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn from_bytes(bytes: &[u8]) -> Option<Key> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .ok()
            .map(|k| Key(LessSafeKey::new(k)))
    }
}

/// 32 random bytes from the OS CSPRNG.
pub fn random_key() -> Option<Zeroizing<[u8; 32]>> {
    let mut k = Zeroizing::new([0u8; 32]);
    SystemRandom::new().fill(k.as_mut()).ok()?;
    Some(k)
}

/// Random bytes from the OS CSPRNG.
pub fn random<const N: usize>() -> Option<[u8; N]> {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).ok()?;
    Some(b)
}

pub fn seal(key: &Key, aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
    let nonce_bytes: [u8; NONCE_LEN] = random()?;
    let mut out = Vec::with_capacity(HEADER + plaintext.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&nonce_bytes);
    let mut buf = plaintext.to_vec();
    key.0
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad),
            &mut buf,
        )
        .ok()?;
    out.extend_from_slice(&buf);
    zeroize::Zeroize::zeroize(&mut buf);
    Some(out)
}

pub fn open(key: &Key, aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    if blob.len() < HEADER + 16 || blob.get(..3) != Some(MAGIC.as_slice()) {
        return Err(OpenError::Format);
    }
    if blob.get(3) != Some(&VERSION) {
        return Err(OpenError::Format);
    }
    let nonce: [u8; NONCE_LEN] = blob
        .get(4..HEADER)
        .and_then(|n| n.try_into().ok())
        .ok_or(OpenError::Format)?;
    let mut buf = Zeroizing::new(blob.get(HEADER..).ok_or(OpenError::Format)?.to_vec());
    let len = key
        .0
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| OpenError::Auth)?
        .len();
    buf.truncate(len);
    Ok(buf)
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
