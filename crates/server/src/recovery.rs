//! Recovery codes (LG-1, A0-6).
//!
//! A code is 24 characters from Crockford's base32 alphabet: 120 bits from the CSPRNG. Codes
//! that strong cannot be brute-forced offline, so a fast hash is enough to store them: SHA-256
//! with a domain prefix (a slow salted hash is for low-entropy secrets like passwords).

use zeroize::Zeroizing;

use crate::crypto::{random_bytes, sha256};
use crate::error::Result;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters per code (24 × 5 = 120 bits).
pub const CODE_LEN: usize = 24;

/// A new code.
pub fn generate() -> Result<String> {
    let bytes = Zeroizing::new(random_bytes::<CODE_LEN>()?);
    // 256 is a multiple of 32: `b % 32` is uniform.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET.get(usize::from(b % 32)).copied().unwrap_or(b'0')))
        .collect())
}

/// A set of `n` codes with their hashes.
pub fn generate_set(n: u32) -> Result<(Vec<String>, Vec<[u8; 32]>)> {
    let mut plain = Vec::new();
    let mut hashes = Vec::new();
    for _ in 0..n {
        let c = generate()?;
        hashes.push(hash(&c));
        plain.push(c);
    }
    Ok((plain, hashes))
}

/// The stored hash of a code as typed: case, spaces and dashes are ignored, and the look-alike
/// letters I, L (→ 1) and O (→ 0) are read as Crockford does.
pub fn hash(input: &str) -> [u8; 32] {
    let mut norm = Zeroizing::new(String::from("tessera-recovery-v1:"));
    for c in input.chars() {
        match c.to_ascii_uppercase() {
            ' ' | '-' => {}
            'I' | 'L' => norm.push('1'),
            'O' => norm.push('0'),
            other => norm.push(other),
        }
    }
    sha256(norm.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_distinct_and_normalized() {
        let a = generate().unwrap();
        assert_eq!(a.len(), CODE_LEN);
        assert_ne!(a, generate().unwrap());
        let spaced: String = a
            .to_ascii_lowercase()
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(hash(&a), hash(&spaced));
    }
}
