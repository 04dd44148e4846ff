//! Randomness, hashing, password hashing and the master key that seals TOTP secrets.

use std::io::Write;
use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Random bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator failing is unrecoverable for a security server.
    if SystemRandom::new().fill(&mut b).is_err() {
        tracing::error!("the OS random number generator failed");
        std::process::abort();
    }
    b
}

/// A 256-bit bearer token, base64url.
pub fn new_token() -> String {
    data_encoding::BASE64URL_NOPAD.encode(&random_bytes::<32>())
}

/// A 128-bit identifier with a prefix (`usr_…`, `totp|dev_…`).
pub fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        data_encoding::BASE32_NOPAD
            .encode(&random_bytes::<16>())
            .to_ascii_lowercase()
    )
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Recovery-code alphabet (Crockford base32: no I, L, O, U).
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters per recovery code: 24 × 5 bits = 120 bits.
pub const RECOVERY_CODE_LEN: usize = 24;

/// A recovery code: 120 random bits as 24 Crockford base32 characters.
pub fn new_recovery_code() -> String {
    let bytes = random_bytes::<RECOVERY_CODE_LEN>();
    bytes
        .iter()
        .map(|b| {
            char::from(
                RECOVERY_ALPHABET
                    .get(usize::from(b & 31))
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}

/// Normalises a typed recovery code (case, spaces, dashes, Crockford's I/L → 1, O → 0).
pub fn normalize_recovery_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        })
        .collect()
}

/// Argon2id hash of a password (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A PHC hash of a random password: verified against when the user does not exist, so that
/// known and unknown users take the same time.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&new_token()).unwrap_or_else(|_| "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into())
    })
}

/// Checks a password against a PHC hash (constant time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The master key sealing TOTP secrets at rest.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

const SEAL_MAGIC: &[u8; 4] = b"TSS1";

impl MasterKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<MasterKey> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .ok()
            .map(|k| MasterKey(LessSafeKey::new(k)))
    }

    /// Loads the key file, or creates it (mode 0600) with a random key if absent.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, String> {
        if path.exists() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "{} is readable by others (mode {:o}); chmod 600 it",
                        path.display(),
                        mode & 0o777
                    ));
                }
            }
            let bytes = Zeroizing::new(
                std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
            );
            if bytes.len() != 32 {
                return Err(format!("{} is not a 32-byte key", path.display()));
            }
            return MasterKey::from_bytes(&bytes).ok_or_else(|| "bad master key".into());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let key = Zeroizing::new(random_bytes::<32>());
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(path)
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        f.write_all(key.as_ref())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        MasterKey::from_bytes(key.as_ref()).ok_or_else(|| "bad master key".into())
    }

    /// Seals `plain` bound to `context` (e.g. the authenticator id).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<12>();
        let mut buf = plain.to_vec();
        let ok = self.0.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        );
        if ok.is_err() {
            std::process::abort();
        }
        let mut out = Vec::with_capacity(16 + buf.len());
        out.extend_from_slice(SEAL_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        zeroize::Zeroize::zeroize(&mut buf);
        out
    }

    /// Opens a sealed value; `None` if it was altered, moved or sealed under another key.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if !sealed.starts_with(SEAL_MAGIC) || sealed.len() < 4 + 12 + 16 {
            return None;
        }
        let nonce: [u8; 12] = sealed.get(4..16)?.try_into().ok()?;
        let mut buf = Zeroizing::new(sealed.get(16..)?.to_vec());
        let n = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .ok()?
            .len();
        buf.truncate(n);
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_120_bits_and_normalise() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 24);
        assert_eq!(normalize_recovery_code("ab-cd ef oil"), "ABCDEF011");
        assert_ne!(new_recovery_code(), new_recovery_code());
    }

    #[test]
    fn seal_binds_context() {
        let k = MasterKey::from_bytes(&[1; 32]).unwrap();
        let s = k.seal("a", b"secret");
        assert_eq!(k.open("a", &s).unwrap().as_slice(), b"secret");
        assert!(k.open("b", &s).is_none());
    }

    #[test]
    fn passwords() {
        let h = hash_password("pw").unwrap();
        assert!(verify_password("pw", &h));
        assert!(!verify_password("pW", &h));
        assert!(!verify_password("pw", dummy_password_hash()));
    }
}
