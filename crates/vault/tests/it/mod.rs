mod accounts;
mod failures;
mod keyring;

use std::path::PathBuf;
use std::sync::Arc;

use tessera_core::{Account, FixedClock, OtpType, Secret};
use tessera_vault::{KdfParams, KeySource, Passphrase, Vault};

pub const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    parallelism: 1,
};

pub fn pass(p: &str) -> KeySource {
    KeySource::Passphrase(Passphrase::new(p.to_owned()))
}

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(1_700_000_000))
}

pub struct Tmp {
    pub dir: tempfile::TempDir,
}

impl Tmp {
    pub fn new() -> Tmp {
        Tmp {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("vault.sqlite3")
    }
    pub fn create(&self) -> Vault {
        Vault::create_with(&self.path(), &pass("pw"), FAST, clock()).unwrap()
    }
    pub fn open(&self) -> tessera_vault::Result<Vault> {
        Vault::open(&self.path(), &pass("pw"), clock())
    }
    /// Every byte of the vault's files (main file, WAL), for "unchanged" and "no plaintext"
    /// checks.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for suffix in ["", "-wal"] {
            let p = PathBuf::from(format!("{}{suffix}", self.path().display()));
            out.extend(std::fs::read(p).unwrap_or_default());
        }
        out
    }
}

pub fn account(i: u32) -> Account {
    let mut a = Account::totp(
        format!("Issuer{i}"),
        format!("user{i}@example.com"),
        Secret::from_bytes(format!("secret-bytes-{i:08}").into_bytes()).unwrap(),
    );
    if i % 2 == 1 {
        a.otp_type = OtpType::Hotp;
        a.counter = u64::from(i);
    }
    a
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
