//! Randomness, hashing and sealing at rest.
//!
//! TOTP secrets are sealed with AES-256-GCM under a 256-bit master key kept in a key file
//! (mode 0600, created on first start). A sealed blob is `b"TSS" ‖ version(1) ‖ nonce(12) ‖
//! ciphertext+tag`, and the authenticator id is bound as associated data so a blob cannot be
//! moved to another row.

use std::fmt;
use std::io::Write;
use std::path::Path;

use subtle::ConstantTimeEq;
use tessera_core::crypto::{self as core_crypto, AeadKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

const MAGIC: &[u8; 3] = b"TSS";
const VERSION: u8 = 1;
/// Length of the master key in bytes.
pub const KEY_LEN: usize = 32;

/// Fills a buffer from the operating system's CSPRNG ([`tessera_core::crypto::random`]).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    core_crypto::random().map_err(|_| Error::Crypto)
}

/// Fills a vector of `len` bytes from the CSPRNG.
pub fn random_vec(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    core_crypto::random_vec(len).map_err(|_| Error::Crypto)
}

/// A random identifier: `prefix` + 16 random bytes in lowercase base32 (128 bits).
pub fn random_id(prefix: &str) -> Result<String> {
    let bytes = random_bytes::<16>()?;
    Ok(format!("{prefix}{}", base32_lower(&bytes)))
}

/// Lowercase unpadded base32.
pub fn base32_lower(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD
        .encode(bytes)
        .to_ascii_lowercase()
}

/// SHA-256 of `data` ([`tessera_core::crypto::sha256`]).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    core_crypto::sha256(data)
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The server's master key. Debug never shows it; dropped memory is zeroed.
pub struct MasterKey {
    key: AeadKey,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(MasterKey {
            key: AeadKey::new(bytes).map_err(|_| Error::Crypto)?,
        })
    }

    /// A key written as 64 hexadecimal digits (the [`crate::config::MASTER_KEY_ENV`] variable);
    /// the error says what is wrong with the text, never repeats it.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(text.as_bytes())
                .map_err(|_| {
                    Error::Config(format!(
                        "`{}`: must be {} hexadecimal digits",
                        crate::config::MASTER_KEY_ENV,
                        KEY_LEN * 2
                    ))
                })?,
        );
        if bytes.len() != KEY_LEN {
            return Err(Error::Config(format!(
                "`{}`: must be {} hexadecimal digits",
                crate::config::MASTER_KEY_ENV,
                KEY_LEN * 2
            )));
        }
        Self::from_bytes(&bytes)
    }

    /// A fresh random key (tests, and first start).
    pub fn generate() -> Result<Self> {
        let bytes = Zeroizing::new(random_bytes::<KEY_LEN>()?);
        Self::from_bytes(bytes.as_ref())
    }

    /// Loads the key file, creating it with 32 random bytes and mode 0600 when missing. A key
    /// file readable by group or others is refused.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                check_mode(path)?;
                if bytes.len() != KEY_LEN {
                    return Err(Error::Config(format!(
                        "`key_file`: {} must hold exactly {KEY_LEN} bytes",
                        path.display()
                    )));
                }
                Self::from_bytes(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = Zeroizing::new(random_bytes::<KEY_LEN>()?);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io_config(path, &e))?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path).map_err(|e| io_config(path, &e))?;
                f.write_all(bytes.as_ref())
                    .map_err(|e| io_config(path, &e))?;
                f.sync_all().map_err(|e| io_config(path, &e))?;
                Self::from_bytes(bytes.as_ref())
            }
            Err(e) => Err(io_config(path, &e)),
        }
    }

    /// Seals `plaintext`, binding `context` (e.g. the authenticator id).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        self.key
            .seal_framed(MAGIC, VERSION, context, plaintext)
            .map_err(|_| Error::Crypto)
    }

    /// Opens a blob made by [`MasterKey::seal`] with the same `context`. Any mismatch (magic,
    /// version, tag, context) is the same opaque error.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.key
            .open_framed(MAGIC, VERSION, context, sealed)
            .map_err(|_| Error::Crypto)
    }
}

fn io_config(path: &Path, e: &std::io::Error) -> Error {
    Error::Config(format!("`key_file`: {}: {e}", path.display()))
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| io_config(path, &e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::Config(format!(
            "`key_file`: {} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_roundtrip_and_tampering_fails() {
        let k = MasterKey::generate().unwrap();
        let sealed = k.seal(b"secret", b"ctx").unwrap();
        assert_eq!(k.open(&sealed, b"ctx").unwrap().as_slice(), b"secret");
        assert!(k.open(&sealed, b"other").is_err(), "context is bound");
        let mut bad_tag = sealed.clone();
        *bad_tag.last_mut().unwrap() ^= 1;
        assert!(k.open(&bad_tag, b"ctx").is_err());
        let mut bad_version = sealed.clone();
        bad_version[3] = 2;
        assert!(k.open(&bad_version, b"ctx").is_err());
        assert!(MasterKey::generate()
            .unwrap()
            .open(&sealed, b"ctx")
            .is_err());
    }

    #[test]
    fn key_file_is_created_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let k = MasterKey::load_or_create(&p).unwrap();
        let sealed = k.seal(b"x", b"").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let k2 = MasterKey::load_or_create(&p).unwrap();
        assert_eq!(k2.open(&sealed, b"").unwrap().as_slice(), b"x");
    }
}
