//! The cryptographic primitives every Tessera crate shares, one implementation each (on
//! `ring`): random values from the operating system's CSPRNG, SHA-256, and AES-256-GCM — with a
//! caller's nonce (the export formats of other apps fix theirs) or framed with a random nonce
//! behind a magic and a version (the vault's blobs, the server's sealed secrets).
//!
//! Errors say which operation failed and never carry key material or plaintext; a wrong key,
//! a wrong additional-data context and altered bytes are the same [`CryptoError::Auth`].

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// AES-GCM nonce length (96 bits).
pub const AEAD_NONCE_LEN: usize = NONCE_LEN;
/// AES-GCM tag length.
pub const AEAD_TAG_LEN: usize = 16;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The operating system's random number generator failed.
    #[error("the random number generator failed")]
    Random,
    /// A key of the wrong length.
    #[error("an AES-256 key must be 32 bytes")]
    Key,
    /// A nonce of the wrong length.
    #[error("an AES-GCM nonce must be 12 bytes")]
    Nonce,
    /// A framed blob whose magic, version or length is not ours.
    #[error("not a sealed blob of a known version")]
    Format,
    /// Authentication failed: wrong key, wrong context, or altered bytes.
    #[error("authentication failed")]
    Auth,
    /// An alphabet for random strings must have 1–256 distinct characters.
    #[error("an alphabet must have 1–256 characters")]
    Alphabet,
}

/// `N` bytes from the CSPRNG.
pub fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// `len` bytes from the CSPRNG, wiped when dropped.
pub fn random_vec(len: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling: no bias).
pub fn random_chars(len: usize, alphabet: &str) -> Result<String, CryptoError> {
    let chars: Vec<char> = alphabet.chars().collect();
    let n = chars.len();
    if n == 0 || n > 256 {
        return Err(CryptoError::Alphabet);
    }
    // The largest multiple of n not above 256: bytes at or past it are rejected.
    let limit = 256 - (256 % n);
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(len);
    let mut count = 0;
    let mut buf = [0u8; 64];
    while count < len {
        rng.fill(&mut buf).map_err(|_| CryptoError::Random)?;
        for b in buf {
            let b = usize::from(b);
            if b < limit && count < len {
                if let Some(c) = chars.get(b % n) {
                    out.push(*c);
                    count += 1;
                }
            }
        }
    }
    Ok(out)
}

/// A uniformly random integer in `lo..=hi` (rejection sampling).
pub fn random_in(lo: u32, hi: u32) -> Result<u32, CryptoError> {
    let span = u64::from(hi.saturating_sub(lo)) + 1;
    let limit = (1u64 << 32) - ((1u64 << 32) % span);
    loop {
        let v = u64::from(u32::from_be_bytes(random::<4>()?));
        if v < limit {
            // v % span < span ≤ 2^32, and lo + that ≤ hi.
            return Ok(lo.saturating_add(u32::try_from(v % span).unwrap_or(0)));
        }
    }
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// An AES-256-GCM key. Never printed.
pub struct AeadKey(LessSafeKey);

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKey(..)")
    }
}

impl AeadKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .map(|k| AeadKey(LessSafeKey::new(k)))
            .map_err(|_| CryptoError::Key)
    }

    /// `ciphertext ‖ tag` of `plain` under `nonce`, binding `aad`. The caller guarantees the
    /// nonce is never reused with this key (formats that fix their own nonce).
    pub fn seal_with(
        &self,
        nonce: &[u8],
        aad: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Nonce)?;
        let mut buf = plain.to_vec();
        let sealed = self
            .0
            .seal_in_place_append_tag(nonce, Aad::from(aad), &mut buf);
        if sealed.is_err() {
            zeroize::Zeroize::zeroize(&mut buf);
            return Err(CryptoError::Auth);
        }
        Ok(buf)
    }

    /// Opens `ciphertext ‖ tag` made under `nonce` with `aad`.
    pub fn open_with(
        &self,
        nonce: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Nonce)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Auth)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// `magic ‖ version ‖ nonce ‖ ciphertext ‖ tag`, with a fresh random nonce, binding `aad`.
    pub fn seal_framed(
        &self,
        magic: &[u8; 3],
        version: u8,
        aad: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let nonce = random::<NONCE_LEN>()?;
        let body = self.seal_with(&nonce, aad, plain)?;
        let mut out = Vec::with_capacity(4 + NONCE_LEN + body.len());
        out.extend_from_slice(magic);
        out.push(version);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a blob of [`AeadKey::seal_framed`]: [`CryptoError::Format`] when the magic,
    /// version or length is not this frame's, [`CryptoError::Auth`] when it does not open.
    pub fn open_framed(
        &self,
        magic: &[u8; 3],
        version: u8,
        aad: &[u8],
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if blob.len() < 4 + NONCE_LEN + AEAD_TAG_LEN
            || blob.get(..3) != Some(magic.as_slice())
            || blob.get(3) != Some(&version)
        {
            return Err(CryptoError::Format);
        }
        let nonce = blob.get(4..4 + NONCE_LEN).ok_or(CryptoError::Format)?;
        let body = blob.get(4 + NONCE_LEN..).ok_or(CryptoError::Format)?;
        self.open_with(nonce, aad, body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn sha256_matches_the_fips_vector() {
        // FIPS 180-2, "abc".
        assert_eq!(
            data_encoding::HEXLOWER.encode(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn aes_gcm_matches_a_published_vector_and_binds_everything() {
        // The GCM specification's test case 14 (McGrew & Viega): key 0…0 (256 bits), IV 0…0,
        // plaintext 0…0 (16 bytes), no additional data.
        let k = AeadKey::new(&[0; 32]).unwrap();
        let ct = k.seal_with(&[0; 12], b"", &[0; 16]).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&ct),
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
        );
        assert_eq!(&k.open_with(&[0; 12], b"", &ct).unwrap()[..], &[0; 16]);
        assert_eq!(k.open_with(&[0; 11], b"", &ct), Err(CryptoError::Nonce));

        let blob = k.seal_framed(b"TSX", 1, b"row1", b"hello").unwrap();
        assert_eq!(
            &k.open_framed(b"TSX", 1, b"row1", &blob).unwrap()[..],
            b"hello"
        );
        assert_eq!(
            k.open_framed(b"TSX", 1, b"row2", &blob),
            Err(CryptoError::Auth)
        );
        assert_eq!(
            k.open_framed(b"TSY", 1, b"row1", &blob),
            Err(CryptoError::Format)
        );
        assert_eq!(
            k.open_framed(b"TSX", 2, b"row1", &blob),
            Err(CryptoError::Format)
        );
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            k.open_framed(b"TSX", 1, b"row1", &flipped),
            Err(CryptoError::Auth)
        );
        assert_eq!(
            k.open_framed(b"TSX", 1, b"row1", &blob[..20]),
            Err(CryptoError::Format)
        );
        let other = AeadKey::new(&[1; 32]).unwrap();
        assert_eq!(
            other.open_framed(b"TSX", 1, b"row1", &blob),
            Err(CryptoError::Auth)
        );
        assert_ne!(
            blob,
            k.seal_framed(b"TSX", 1, b"row1", b"hello").unwrap(),
            "fresh nonce"
        );
        assert_eq!(AeadKey::new(&[0; 31]).unwrap_err(), CryptoError::Key);
    }

    #[test]
    fn random_values_have_the_asked_shape_and_range() {
        assert_ne!(random::<16>().unwrap(), random::<16>().unwrap());
        assert_eq!(random_vec(33).unwrap().len(), 33);
        let s = random_chars(40, "AB").unwrap();
        assert_eq!(s.chars().count(), 40);
        assert!(s.chars().all(|c| c == 'A' || c == 'B'));
        assert_eq!(random_chars(3, ""), Err(CryptoError::Alphabet));
        for _ in 0..1000 {
            assert!((10..=99).contains(&random_in(10, 99).unwrap()));
        }
        assert_eq!(random_in(7, 7).unwrap(), 7);
        let full = random_in(0, u32::MAX).unwrap();
        let _ = full;
    }
}
