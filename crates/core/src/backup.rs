//! Tessera's own encrypted backup, and the JSON form of an account shared with the vault.
//!
//! ```text
//! magic "TSBK" | version 0x01 | Argon2id memory KiB (u32 BE) | passes (u32 BE) | lanes (u32 BE)
//! | salt (16) | nonce (12) | AES-256-GCM ciphertext of the JSON document | tag (16)
//! ```
//! The whole header (everything before the ciphertext) is the AEAD's additional data, so a
//! changed parameter, salt or version fails authentication like a changed byte of content.
//! The JSON document is `{"version":1,"accounts":[AccountRecord…]}`.
//!
//! Reading clamps the stored KDF parameters ([`MAX_MEMORY_KIB`], [`MAX_PASSES`]): a file
//! cannot make us allocate gigabytes or run for minutes.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::account::{Account, OtpType};
use crate::otp::Algorithm;
use crate::secret::Secret;

const MAGIC: &[u8; 4] = b"TSBK";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 12 + 16 + 12;

/// Largest Argon2 memory a backup may ask for, in KiB (1 GiB).
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Least Argon2 memory accepted, in KiB (8 MiB).
pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
/// Most Argon2 passes a backup may ask for.
pub const MAX_PASSES: u32 = 64;
/// Largest backup we read (64 MiB).
pub const MAX_BACKUP_BYTES: usize = 64 * 1024 * 1024;

/// Why a backup could not be written or read. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// Not a Tessera backup (wrong magic).
    #[error("not a Tessera backup")]
    NotABackup,
    /// A version we do not know.
    #[error("Tessera backup version {0} is not supported by this version of Tessera")]
    UnsupportedVersion(u8),
    /// The file ends before its header does.
    #[error("the backup is truncated")]
    Truncated,
    /// Wrong password, or the file was altered (the two cannot be told apart).
    #[error("wrong password, or the backup was altered")]
    WrongPasswordOrAltered,
    /// The KDF parameters are outside what we are willing to run.
    #[error("refusing the backup's key-derivation parameters: {0}")]
    KdfParameters(String),
    /// Decrypted, but the content is not a valid document.
    #[error("the backup's content is invalid: {0}")]
    Content(String),
    /// Over [`MAX_BACKUP_BYTES`].
    #[error("the backup is {0} bytes, over the limit")]
    TooLarge(usize),
    /// An empty password.
    #[error("the password is empty")]
    EmptyPassword,
    /// The OS random generator or the cipher failed.
    #[error("encryption failed")]
    Crypto,
}

/// Argon2id parameters of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub passes: u32,
    /// Lanes.
    pub lanes: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            passes: 3,
            lanes: 1,
        }
    }
}

impl KdfParams {
    fn check(&self) -> Result<(), BackupError> {
        if !(MIN_MEMORY_KIB..=MAX_MEMORY_KIB).contains(&self.memory_kib) {
            return Err(BackupError::KdfParameters(format!(
                "memory {} KiB is outside {MIN_MEMORY_KIB}–{MAX_MEMORY_KIB}",
                self.memory_kib
            )));
        }
        if !(1..=MAX_PASSES).contains(&self.passes) || !(1..=16).contains(&self.lanes) {
            return Err(BackupError::KdfParameters(format!(
                "{} passes / {} lanes is outside 1–{MAX_PASSES} / 1–16",
                self.passes, self.lanes
            )));
        }
        Ok(())
    }

    fn derive(&self, password: &str, salt: &[u8]) -> Result<LessSafeKey, BackupError> {
        self.check()?;
        let params = argon2::Params::new(self.memory_kib, self.passes, self.lanes, Some(32))
            .map_err(|e| BackupError::KdfParameters(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(password.as_bytes(), salt, key.as_mut())
            .map_err(|e| BackupError::KdfParameters(e.to_string()))?;
        let unbound =
            UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| BackupError::Crypto)?;
        Ok(LessSafeKey::new(unbound))
    }
}

/// An account as JSON: every field, the secret as base32. Used by backups and by the vault's
/// sealed rows; never written anywhere unencrypted by Tessera itself.
#[derive(Serialize, Deserialize)]
pub struct AccountRecord {
    issuer: String,
    name: String,
    #[serde(rename = "type")]
    otp_type: String,
    secret: String,
    algorithm: String,
    digits: u8,
    period: u32,
    counter: u64,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    favourite: bool,
    #[serde(default)]
    icon: Option<String>,
}

impl std::fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRecord")
            .field("issuer", &self.issuer)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for AccountRecord {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl AccountRecord {
    /// The record of an account.
    pub fn from_account(a: &Account) -> AccountRecord {
        AccountRecord {
            issuer: a.issuer.clone(),
            name: a.name.clone(),
            otp_type: a.otp_type.as_str().to_owned(),
            secret: a.secret.to_base32(),
            algorithm: a.algorithm.as_str().to_owned(),
            digits: a.digits,
            period: a.period,
            counter: a.counter,
            groups: a.groups.clone(),
            note: a.note.clone(),
            favourite: a.favourite,
            icon: a.icon.clone(),
        }
    }

    /// The account of a record, validated.
    pub fn to_account(&self) -> crate::Result<Account> {
        let mut a = Account::totp(
            self.issuer.clone(),
            self.name.clone(),
            Secret::from_base32(&self.secret)?,
        );
        a.otp_type = self.otp_type.parse::<OtpType>()?;
        a.algorithm = self.algorithm.parse::<Algorithm>()?;
        a.digits = self.digits;
        a.period = self.period;
        a.counter = self.counter;
        a.groups = self.groups.clone();
        a.note = self.note.clone();
        a.favourite = self.favourite;
        a.icon = self.icon.clone();
        a.validate()?;
        Ok(a)
    }
}

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    accounts: Vec<AccountRecord>,
}

/// Whether bytes look like a Tessera backup (magic only).
pub fn is_backup(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Encrypts accounts into a backup with the default KDF parameters.
pub fn seal(accounts: &[Account], password: &str) -> Result<Vec<u8>, BackupError> {
    seal_with(accounts, password, KdfParams::default())
}

/// Encrypts accounts into a backup.
pub fn seal_with(
    accounts: &[Account],
    password: &str,
    kdf: KdfParams,
) -> Result<Vec<u8>, BackupError> {
    if password.is_empty() {
        return Err(BackupError::EmptyPassword);
    }
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rng.fill(&mut salt).map_err(|_| BackupError::Crypto)?;
    rng.fill(&mut nonce).map_err(|_| BackupError::Crypto)?;
    let key = kdf.derive(password, &salt)?;

    let mut out = Vec::with_capacity(HEADER_LEN + 64 + accounts.len() * 200);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&kdf.memory_kib.to_be_bytes());
    out.extend_from_slice(&kdf.passes.to_be_bytes());
    out.extend_from_slice(&kdf.lanes.to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);

    let doc = Document {
        version: 1,
        accounts: accounts.iter().map(AccountRecord::from_account).collect(),
    };
    let mut body =
        Zeroizing::new(serde_json::to_vec(&doc).map_err(|e| BackupError::Content(e.to_string()))?);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(out.as_slice()),
            &mut body,
        )
        .map_err(|_| BackupError::Crypto)?;
    out.extend_from_slice(&body);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts a backup and returns its accounts.
pub fn open(bytes: &[u8], password: &str) -> Result<Vec<Account>, BackupError> {
    if bytes.len() > MAX_BACKUP_BYTES {
        return Err(BackupError::TooLarge(bytes.len()));
    }
    if !bytes.starts_with(MAGIC) {
        return Err(BackupError::NotABackup);
    }
    let version = *bytes.get(4).ok_or(BackupError::Truncated)?;
    if version != VERSION {
        return Err(BackupError::UnsupportedVersion(version));
    }
    if bytes.len() < HEADER_LEN + 16 {
        return Err(BackupError::Truncated);
    }
    let (header, sealed) = bytes.split_at(HEADER_LEN);
    let u32_at = |i: usize| -> Result<u32, BackupError> {
        header
            .get(i..i + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_be_bytes)
            .ok_or(BackupError::Truncated)
    };
    let kdf = KdfParams {
        memory_kib: u32_at(5)?,
        passes: u32_at(9)?,
        lanes: u32_at(13)?,
    };
    let salt = header.get(17..33).ok_or(BackupError::Truncated)?;
    let nonce: [u8; 12] = header
        .get(33..45)
        .and_then(|s| s.try_into().ok())
        .ok_or(BackupError::Truncated)?;
    let key = kdf.derive(password, salt)?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(header),
            &mut buf,
        )
        .map_err(|_| BackupError::WrongPasswordOrAltered)?;
    let doc: Document =
        serde_json::from_slice(plain).map_err(|e| BackupError::Content(e.to_string()))?;
    if doc.version != 1 {
        return Err(BackupError::Content(format!(
            "document version {} is not supported",
            doc.version
        )));
    }
    doc.accounts
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.to_account()
                .map_err(|e| BackupError::Content(format!("account {}: {e}", i + 1)))
        })
        .collect()
}

/// The result of a test restore: how a backup compares with a set of accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreCheck {
    /// Accounts in the backup.
    pub in_backup: usize,
    /// Backup accounts identical (every field) to one in the set.
    pub identical: usize,
    /// Backup accounts with the same secret, issuer and name but other fields changed.
    pub changed: usize,
    /// Backup accounts not in the set.
    pub only_in_backup: usize,
    /// Accounts in the set that the backup lacks.
    pub missing_from_backup: usize,
}

/// Decrypts a backup and compares it with `current` without importing anything.
pub fn test_restore(
    bytes: &[u8],
    password: &str,
    current: &[Account],
) -> Result<RestoreCheck, BackupError> {
    let restored = open(bytes, password)?;
    let mut check = RestoreCheck {
        in_backup: restored.len(),
        identical: 0,
        changed: 0,
        only_in_backup: 0,
        missing_from_backup: 0,
    };
    for r in &restored {
        if current.iter().any(|c| c == r) {
            check.identical += 1;
        } else if current.iter().any(|c| c.is_duplicate_of(r)) {
            check.changed += 1;
        } else {
            check.only_in_backup += 1;
        }
    }
    check.missing_from_backup = current
        .iter()
        .filter(|c| !restored.iter().any(|r| r.is_duplicate_of(c)))
        .count();
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: MIN_MEMORY_KIB,
        passes: 1,
        lanes: 1,
    };

    fn accounts() -> Vec<Account> {
        let mut a = Account::totp("A", "a", Secret::from_bytes(vec![1; 20]).unwrap());
        a.groups = vec!["Work".into()];
        a.note = "note".into();
        a.favourite = true;
        a.icon = Some("github".into());
        let mut b = Account::totp("B", "b", Secret::from_bytes(vec![2; 32]).unwrap());
        b.otp_type = OtpType::Hotp;
        b.counter = 42;
        b.algorithm = Algorithm::Sha256;
        b.digits = 8;
        vec![a, b]
    }

    #[test]
    fn round_trip_and_every_bad_input() {
        let sealed = seal_with(&accounts(), "pw", FAST).unwrap();
        assert_eq!(open(&sealed, "pw").unwrap(), accounts());
        assert_eq!(
            open(&sealed, "nope"),
            Err(BackupError::WrongPasswordOrAltered)
        );
        for i in [0usize, 4, 6, 20, 40, sealed.len() / 2, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open(&bad, "pw").is_err(), "flipped byte {i} accepted");
        }
        assert_eq!(open(&sealed[..30], "pw"), Err(BackupError::Truncated));
        let mut trailing = sealed.clone();
        trailing.extend_from_slice(b"garbage");
        assert_eq!(
            open(&trailing, "pw"),
            Err(BackupError::WrongPasswordOrAltered)
        );
        let mut absurd = sealed.clone();
        absurd[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            open(&absurd, "pw"),
            Err(BackupError::KdfParameters(_))
        ));
        assert_eq!(open(b"PK\x03\x04zip", "pw"), Err(BackupError::NotABackup));
        assert_eq!(seal(&[], ""), Err(BackupError::EmptyPassword));
    }

    #[test]
    fn test_restore_compares_without_importing() {
        let sealed = seal_with(&accounts(), "pw", FAST).unwrap();
        let mut current = accounts();
        current[1].counter = 50;
        current.push(Account::totp(
            "C",
            "c",
            Secret::from_bytes(vec![3; 20]).unwrap(),
        ));
        let check = test_restore(&sealed, "pw", &current).unwrap();
        assert_eq!(
            check,
            RestoreCheck {
                in_backup: 2,
                identical: 1,
                changed: 1,
                only_in_backup: 0,
                missing_from_backup: 1
            }
        );
    }
}
