//! Where the vault key comes from: the OS keyring, or a passphrase through Argon2id.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The keyring service name under which vault keys are stored (user = `vault-<id>`).
pub const KEYRING_SERVICE: &str = "tessera";

/// A passphrase: the one secret-text type of the workspace ([`tessera_core::import::Password`],
/// zeroized on drop, never printed), under the name the vault's API has always used.
pub use tessera_core::import::Password as Passphrase;

/// How to unlock (or, when creating, protect) a vault.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A random key kept in the OS keyring (Secret Service on Linux).
    Keyring,
    /// A key wrapped by a key derived from this passphrase with Argon2id.
    Passphrase(Passphrase),
}

impl KeySource {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            KeySource::Keyring => "keyring",
            KeySource::Passphrase(_) => "passphrase",
        }
    }
}

/// Argon2id parameters, stored in the vault beside the wrapped key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: above OWASP's Argon2id minimum (19 MiB, 2 passes), about a
    /// quarter of a second on a laptop.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

/// Least memory accepted when creating a vault (KiB): 8 MiB. Tests use this floor.
pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
/// Most memory a stored parameter set may ask for (KiB): 4 GiB. Beyond that the file is not
/// trusted rather than run for minutes.
pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// Most passes a stored parameter set may ask for.
pub const MAX_ITERATIONS: u32 = 64;

impl KdfParams {
    /// Checks the parameters: on creation an error, on open a sign of a damaged file.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.memory_kib < MIN_MEMORY_KIB || self.memory_kib > MAX_MEMORY_KIB {
            return Err(format!(
                "Argon2 memory {} KiB is outside {MIN_MEMORY_KIB}–{MAX_MEMORY_KIB} KiB",
                self.memory_kib
            ));
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return Err(format!(
                "Argon2 passes {} is outside 1–{MAX_ITERATIONS}",
                self.iterations
            ));
        }
        if self.parallelism == 0 || self.parallelism > 16 {
            return Err(format!("Argon2 lanes {} is outside 1–16", self.parallelism));
        }
        Ok(())
    }

    /// Derives a 256-bit key-encryption key.
    pub(crate) fn derive(&self, pass: &Passphrase, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        self.check().map_err(Error::Weak)?;
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| Error::Weak(format!("Argon2 parameters: {e}")))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(pass.as_bytes(), salt, out.as_mut())
            .map_err(|e| Error::Weak(format!("Argon2: {e}")))?;
        Ok(out)
    }
}

fn entry(vault_id: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("vault-{vault_id}")).map_err(map_keyring)
}

fn map_keyring(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(_) => Error::KeyringLocked,
        keyring::Error::PlatformFailure(inner) => {
            Error::KeyringUnavailable(short(&inner.to_string()))
        }
        other => Error::KeyringUnavailable(short(&other.to_string())),
    }
}

fn short(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}

/// Stores a vault key in the keyring.
pub(crate) fn keyring_store(vault_id: &str, key: &[u8]) -> Result<()> {
    let encoded = Zeroizing::new(data_encoding::BASE64.encode(key));
    entry(vault_id)?.set_password(&encoded).map_err(map_keyring)
}

/// Reads a vault key from the keyring.
pub(crate) fn keyring_load(vault_id: &str) -> Result<Zeroizing<Vec<u8>>> {
    let text = match entry(vault_id)?.get_password() {
        Ok(t) => Zeroizing::new(t),
        Err(keyring::Error::NoEntry) => return Err(Error::KeyMissing(vault_id.to_owned())),
        Err(e) => return Err(map_keyring(e)),
    };
    data_encoding::BASE64
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| Error::Corrupt("the keyring entry for this vault is not a key".into()))
}

/// Removes a vault key from the keyring (after the vault file is gone).
pub(crate) fn keyring_delete(vault_id: &str) -> Result<()> {
    match entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_keyring(e)),
    }
}
