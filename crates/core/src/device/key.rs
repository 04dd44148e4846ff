//! Device key pairs (ring): ECDSA P-256 by default, Ed25519 offered.

use std::fmt;
use std::str::FromStr;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::error::{Error, Field, Result};

/// A signature algorithm a device key may use. Names follow JOSE (`ES256`, `EdDSA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SignatureAlgorithm {
    /// ECDSA over P-256 with SHA-256, fixed-length (r‖s, 64 bytes) signatures.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    Ed25519,
}

impl SignatureAlgorithm {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::Es256 => "ES256",
            SignatureAlgorithm::Ed25519 => "EdDSA",
        }
    }

    /// Every algorithm we support, preferred first.
    pub const ALL: [SignatureAlgorithm; 2] =
        [SignatureAlgorithm::Es256, SignatureAlgorithm::Ed25519];

    /// Checks that `public_key` has this algorithm's shape: an uncompressed SEC1 P-256 point
    /// (65 bytes, 0x04 prefix) or a 32-byte Ed25519 key.
    pub fn check_public_key(self, public_key: &[u8]) -> Result<()> {
        let ok = match self {
            SignatureAlgorithm::Es256 => public_key.len() == 65 && public_key.first() == Some(&4),
            SignatureAlgorithm::Ed25519 => public_key.len() == 32,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                Field::Parameter,
                format!("public key is not a valid {} key", self.as_str()),
            ))
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignatureAlgorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ES256" | "es256" => Ok(SignatureAlgorithm::Es256),
            "EdDSA" | "Ed25519" | "eddsa" | "ed25519" => Ok(SignatureAlgorithm::Ed25519),
            other => Err(Error::invalid(
                Field::Algorithm,
                format!(
                    "`{}` is not a supported signature algorithm (ES256, EdDSA)",
                    crate::otp::truncate_for_message(other)
                ),
            )),
        }
    }
}

/// A signature did not verify. Deliberately opaque: which check failed is not told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature verification failed")]
pub struct SignatureError;

/// A device's private key. Its PKCS#8 bytes are zeroized on drop and never printed.
pub struct DeviceKey {
    algorithm: SignatureAlgorithm,
    pkcs8: Zeroizing<Vec<u8>>,
    public_key: Vec<u8>,
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("algorithm", &self.algorithm)
            .field(
                "public_key",
                &data_encoding::BASE64URL_NOPAD.encode(&self.public_key),
            )
            .finish_non_exhaustive()
    }
}

fn crypto_failure(what: &str) -> Error {
    Error::Malformed {
        what: "device key",
        reason: what.to_owned(),
    }
}

impl DeviceKey {
    /// Generates a new key pair from the operating system's CSPRNG.
    pub fn generate(algorithm: SignatureAlgorithm) -> Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            SignatureAlgorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| crypto_failure("key generation failed"))?
            }
            SignatureAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| crypto_failure("key generation failed"))?,
        };
        Self::from_pkcs8(algorithm, pkcs8.as_ref())
    }

    /// Loads a key from its PKCS#8 document (as stored, sealed, in the vault).
    pub fn from_pkcs8(algorithm: SignatureAlgorithm, pkcs8: &[u8]) -> Result<Self> {
        let public_key = match algorithm {
            SignatureAlgorithm::Es256 => {
                let kp = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|_| crypto_failure("not a P-256 PKCS#8 key"))?;
                kp.public_key().as_ref().to_vec()
            }
            SignatureAlgorithm::Ed25519 => Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                .map_err(|_| crypto_failure("not an Ed25519 PKCS#8 key"))?
                .public_key()
                .as_ref()
                .to_vec(),
        };
        Ok(DeviceKey {
            algorithm,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            public_key,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The public key: SEC1 uncompressed point (ES256) or 32 raw bytes (Ed25519).
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The PKCS#8 document, for sealed storage only.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Signs `message` (always one of the canonical messages of [`crate::device::message`]).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match self.algorithm {
            SignatureAlgorithm::Es256 => {
                let rng = SystemRandom::new();
                let kp = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &self.pkcs8,
                    &rng,
                )
                .map_err(|_| crypto_failure("stored key is unusable"))?;
                kp.sign(&rng, message)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| crypto_failure("signing failed"))
            }
            SignatureAlgorithm::Ed25519 => {
                let kp = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&self.pkcs8)
                    .map_err(|_| crypto_failure("stored key is unusable"))?;
                Ok(kp.sign(message).as_ref().to_vec())
            }
        }
    }
}

/// Verifies `signature` over `message` with a registered public key and ITS algorithm (the
/// verifier never takes the algorithm from the request).
pub fn verify(
    algorithm: SignatureAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature_bytes: &[u8],
) -> std::result::Result<(), SignatureError> {
    let alg: &dyn signature::VerificationAlgorithm = match algorithm {
        SignatureAlgorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        SignatureAlgorithm::Ed25519 => &signature::ED25519,
    };
    signature::UnparsedPublicKey::new(alg, public_key)
        .verify(message, signature_bytes)
        .map_err(|_| SignatureError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_both_algorithms() {
        for alg in SignatureAlgorithm::ALL {
            let key = DeviceKey::generate(alg).unwrap();
            alg.check_public_key(key.public_key()).unwrap();
            let sig = key.sign(b"hello").unwrap();
            assert!(verify(alg, key.public_key(), b"hello", &sig).is_ok());
            assert_eq!(
                verify(alg, key.public_key(), b"hellO", &sig),
                Err(SignatureError)
            );
            // Reloaded from PKCS#8, the key is the same key.
            let again = DeviceKey::from_pkcs8(alg, key.pkcs8()).unwrap();
            assert_eq!(again.public_key(), key.public_key());
            assert!(verify(alg, key.public_key(), b"x", &again.sign(b"x").unwrap()).is_ok());
        }
    }

    #[test]
    fn the_wrong_algorithm_or_key_never_verifies() {
        let ec = DeviceKey::generate(SignatureAlgorithm::Es256).unwrap();
        let ed = DeviceKey::generate(SignatureAlgorithm::Ed25519).unwrap();
        let sig = ed.sign(b"m").unwrap();
        assert!(verify(SignatureAlgorithm::Es256, ec.public_key(), b"m", &sig).is_err());
        assert!(verify(SignatureAlgorithm::Ed25519, ec.public_key(), b"m", &sig).is_err());
        let other = DeviceKey::generate(SignatureAlgorithm::Ed25519).unwrap();
        assert!(verify(SignatureAlgorithm::Ed25519, other.public_key(), b"m", &sig).is_err());
        assert!(SignatureAlgorithm::Es256
            .check_public_key(ed.public_key())
            .is_err());
        assert!(DeviceKey::from_pkcs8(SignatureAlgorithm::Es256, b"junk").is_err());
    }

    #[test]
    fn debug_shows_no_private_key() {
        let k = DeviceKey::generate(SignatureAlgorithm::Ed25519).unwrap();
        let s = format!("{k:?}");
        assert!(!s.contains("pkcs8"), "{s}");
    }
}
