//! Tessera's encrypted backup: every account with every field, sealed under a password.
//!
//! # Format (version 1)
//! ```text
//! magic        14 bytes  "TESSERA-BACKUP"
//! version       1 byte   1
//! kdf           1 byte   1 = Argon2id v1.3
//! memory_kib    4 bytes  u32 BE
//! passes        4 bytes  u32 BE
//! lanes         4 bytes  u32 BE
//! salt         16 bytes
//! nonce        12 bytes  AES-256-GCM nonce
//! key_check    16 bytes  HMAC-SHA256(check key, "tessera-backup key check v1"), truncated
//! length        8 bytes  u64 BE: ciphertext length, tag included
//! ciphertext   length    AES-256-GCM(content key, nonce, content, AAD = every byte above)
//! ```
//! Argon2id gives 64 bytes: the first 32 are the content key, the last 32 the check key. The
//! key check tells a wrong password ([`InteropError::WrongPassword`]) from a damaged file
//! ([`InteropError::Corrupt`]); it gives an attacker nothing a trial decryption would not. The
//! stored length tells a truncated file and trailing bytes apart from damage. KDF parameters
//! are read from the header and refused above the caps in [`crate::import::kdf`] before the
//! KDF runs (a file cannot be decrypted with other parameters than it was sealed with, so
//! "clamping" means refusing).
//!
//! The content is JSON `{"version": 1, "accounts": [...]}` with every [`Account`] field
//! (secret as base32); it is zeroized after use.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::account::{Account, OtpType};
use crate::import::{json, kdf, Format, InteropError, Password, Result};
use crate::secret::Secret;

/// The file's first bytes.
pub const MAGIC: &[u8] = b"TESSERA-BACKUP";
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const CHECK_LEN: usize = 16;
const TAG_LEN: usize = 16;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 14 + 1 + 1 + 12 + SALT_LEN + NONCE_LEN + CHECK_LEN + 8;
const CHECK_LABEL: &[u8] = b"tessera-backup key check v1";

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

impl KdfParams {
    /// What [`seal`] uses: 64 MiB, 3 passes, 1 lane (OWASP's Argon2id guidance), about a
    /// second on a small laptop.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        passes: 3,
        lanes: 1,
    };
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::DEFAULT
    }
}

/// What a test restore found, comparing a backup with the accounts in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestoreCheck {
    /// Accounts in the backup.
    pub in_backup: usize,
    /// Backup accounts present in the vault with every field equal.
    pub identical: usize,
    /// Backup accounts present in the vault (same secret, issuer and name) but with other
    /// fields different (digits, counter, groups, note, …).
    pub changed: usize,
    /// Backup accounts not in the vault.
    pub only_in_backup: usize,
    /// Vault accounts not in the backup.
    pub missing_from_backup: usize,
}

#[derive(Serialize, Deserialize)]
struct Content {
    version: u32,
    accounts: Vec<AccountRecord>,
}

/// An account as JSON: every field, the secret as base32. Used by backups and by the vault's
/// sealed rows (so its shape is stable); never written anywhere unencrypted by Tessera.
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
        use zeroize::Zeroize;
        self.secret.zeroize();
    }
}

impl AccountRecord {
    /// The record of an account.
    pub fn from_account(a: &Account) -> Self {
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
        let otp_type: OtpType = self.otp_type.parse()?;
        let a = Account {
            issuer: self.issuer.clone(),
            name: self.name.clone(),
            otp_type,
            secret: Secret::from_base32(&self.secret)?,
            algorithm: self.algorithm.parse()?,
            digits: self.digits,
            period: self.period,
            counter: self.counter,
            groups: self.groups.clone(),
            note: self.note.clone(),
            favourite: self.favourite,
            icon: self.icon.clone(),
        };
        a.validate()?;
        Ok(a)
    }
}

/// Whether bytes look like a Tessera backup (magic only).
pub fn is_backup(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Seals accounts with [`KdfParams::DEFAULT`].
pub fn seal(accounts: &[Account], password: &str) -> Result<Vec<u8>> {
    seal_with(accounts, password, KdfParams::DEFAULT)
}

fn keys(
    password: &Password,
    salt: &[u8],
    p: KdfParams,
) -> Result<(Zeroizing<[u8; 32]>, [u8; CHECK_LEN])> {
    let okm = kdf::argon2id::<64>(password, salt, p.memory_kib, p.passes, p.lanes)?;
    let (content, check) = okm.split_at(32);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(content);
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, check),
        CHECK_LABEL,
    );
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(tag.as_ref().get(..CHECK_LEN).unwrap_or_default());
    Ok((key, out))
}

/// Seals accounts with chosen Argon2id parameters (tests use cheap ones).
/// An empty password is refused.
pub fn seal_with(accounts: &[Account], password: &str, params: KdfParams) -> Result<Vec<u8>> {
    if password.is_empty() {
        return Err(InteropError::EmptyPassword);
    }
    let password = &Password::new(password);
    let content = Content {
        version: 1,
        accounts: accounts.iter().map(AccountRecord::from_account).collect(),
    };
    let plain = Zeroizing::new(
        serde_json::to_vec(&content).map_err(|_| InteropError::Crypto("JSON encoding"))?,
    );
    let salt = kdf::random::<SALT_LEN>()?;
    let nonce = kdf::random::<NONCE_LEN>()?;
    let (key, check) = keys(password, &salt, params)?;
    let ct_len = (plain.len() + TAG_LEN) as u64;
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(KDF_ARGON2ID);
    out.extend_from_slice(&params.memory_kib.to_be_bytes());
    out.extend_from_slice(&params.passes.to_be_bytes());
    out.extend_from_slice(&params.lanes.to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&check);
    out.extend_from_slice(&ct_len.to_be_bytes());
    let sealed = kdf::aes_gcm_seal(&key, &nonce, &plain, &out)?;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// A cursor over the header.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.at.saturating_add(n);
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| InteropError::Truncated {
                what: format!("the backup ends inside its {what}"),
            })?;
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(<[u8; 4]>::try_from(b)
            .map(u32::from_be_bytes)
            .unwrap_or_default())
    }
}

/// Decrypts a backup into its accounts.
pub fn open(bytes: &[u8], password: &str) -> Result<Vec<Account>> {
    let password = &Password::new(password);
    if bytes.len() > crate::import::MAX_INPUT_BYTES {
        return Err(InteropError::TooLarge {
            len: bytes.len(),
            max: crate::import::MAX_INPUT_BYTES,
        });
    }
    let mut r = Reader { bytes, at: 0 };
    let magic = r.take(MAGIC.len(), "magic")?;
    if magic != MAGIC {
        return Err(InteropError::malformed(
            Format::TesseraBackup,
            "not a Tessera backup (wrong magic)",
        ));
    }
    let version = r.take(1, "version")?.first().copied().unwrap_or_default();
    if version != VERSION {
        return Err(InteropError::UnsupportedVersion {
            format: Format::TesseraBackup,
            version: version.to_string(),
        });
    }
    let kdf_id = r.take(1, "KDF id")?.first().copied().unwrap_or_default();
    if kdf_id != KDF_ARGON2ID {
        return Err(InteropError::Unsupported {
            format: Format::TesseraBackup,
            what: format!("KDF id {kdf_id}"),
        });
    }
    let params = KdfParams {
        memory_kib: r.u32("KDF parameters")?,
        passes: r.u32("KDF parameters")?,
        lanes: r.u32("KDF parameters")?,
    };
    kdf::check_argon2(params.memory_kib, params.passes, params.lanes)?;
    let salt = r.take(SALT_LEN, "salt")?;
    let nonce = r.take(NONCE_LEN, "nonce")?;
    let check = r.take(CHECK_LEN, "key check")?;
    let len_bytes = r.take(8, "length")?;
    let ct_len = <[u8; 8]>::try_from(len_bytes)
        .map(u64::from_be_bytes)
        .unwrap_or_default();
    let header_end = r.at;
    let available = (bytes.len() - header_end) as u64;
    if ct_len < TAG_LEN as u64 {
        return Err(InteropError::Corrupt {
            what: "the stored length is shorter than a tag".into(),
        });
    }
    if available < ct_len {
        return Err(InteropError::Truncated {
            what: format!("the ciphertext has {available} of its {ct_len} bytes"),
        });
    }
    if available > ct_len {
        return Err(InteropError::TrailingGarbage {
            offset: header_end + ct_len as usize,
        });
    }
    let (header, sealed) = bytes.split_at(header_end);
    let (key, expected) = keys(password, salt, params)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], check)) {
        return Err(InteropError::WrongPassword);
    }
    let plain = kdf::aes_gcm_open(&key, nonce, sealed, header).ok_or(InteropError::Corrupt {
        what: "the backup fails its authentication tag".into(),
    })?;
    let content: Content = json::parse(Format::TesseraBackup, &plain).map_err(|e| match e {
        InteropError::Malformed { .. } | InteropError::Truncated { .. } => InteropError::Corrupt {
            what: "the decrypted content is not a backup".into(),
        },
        other => other,
    })?;
    if content.version != 1 {
        return Err(InteropError::UnsupportedVersion {
            format: Format::TesseraBackup,
            version: format!("content {}", content.version),
        });
    }
    content
        .accounts
        .iter()
        .map(|s| s.to_account().map_err(InteropError::from))
        .collect()
}

/// Decrypts a backup and compares it with `existing` without importing anything.
pub fn test_restore(bytes: &[u8], password: &str, existing: &[Account]) -> Result<RestoreCheck> {
    let backup = open(bytes, password)?;
    let mut check = RestoreCheck {
        in_backup: backup.len(),
        ..RestoreCheck::default()
    };
    for b in &backup {
        match existing.iter().find(|e| b.is_duplicate_of(e)) {
            Some(e) if e == b => check.identical += 1,
            Some(_) => check.changed += 1,
            None => check.only_in_backup += 1,
        }
    }
    check.missing_from_backup = existing
        .iter()
        .filter(|e| !backup.iter().any(|b| b.is_duplicate_of(e)))
        .count();
    Ok(check)
}
