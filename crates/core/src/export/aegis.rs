//! Aegis vault JSON export, plaintext or encrypted, in the format of Aegis' `docs/vault.md`:
//! `{version: 1, header: {slots, params}, db}` with content version 3 (groups defined once
//! with UUIDs, entries list group UUIDs). Encrypted: a random 256-bit master key encrypts the
//! content with AES-256-GCM (`db` = base64 ciphertext, `header.params` = hex nonce and tag);
//! one password slot (type 1) holds the master key encrypted under scrypt(password, 256-bit
//! salt, N, r, p). Icons are not written (`icon: null`): Tessera's icon is a hint, not an image.

use data_encoding::HEXLOWER;

use crate::account::{Account, OtpType};
use crate::import::aegis::{Db, Entry, File, Group, Header, Info, KeyParams, Slot};
use crate::import::{kdf, InteropError, Password, Result};

/// Aegis' default scrypt parameters: N = 2^15, r = 8, p = 1.
pub const SCRYPT_N: u64 = 1 << 15;
/// scrypt r.
pub const SCRYPT_R: u32 = 8;
/// scrypt p.
pub const SCRYPT_P: u32 = 1;
/// The content version written.
pub const DB_VERSION: u32 = 3;

/// A random version-4 UUID, as Aegis gives every entry, group and slot.
fn uuid_v4() -> Result<String> {
    let mut b = kdf::random::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = HEXLOWER.encode(&b);
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default().to_owned();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    ))
}

fn db(accounts: &[Account]) -> Result<Db> {
    let mut groups: Vec<Group> = Vec::new();
    let mut entries = Vec::with_capacity(accounts.len());
    for a in accounts {
        let mut group_ids = Vec::new();
        for name in &a.groups {
            let id = match groups.iter().find(|g| &g.name == name) {
                Some(g) => g.uuid.clone(),
                None => {
                    let uuid = uuid_v4()?;
                    groups.push(Group {
                        uuid: uuid.clone(),
                        name: name.clone(),
                    });
                    uuid
                }
            };
            group_ids.push(id);
        }
        let (kind, period, counter) = match a.otp_type {
            OtpType::Totp => ("totp", Some(a.period), None),
            OtpType::Hotp => ("hotp", None, Some(a.counter)),
            OtpType::Steam => ("steam", Some(a.period), None),
        };
        entries.push(Entry {
            kind: kind.to_owned(),
            uuid: uuid_v4()?,
            name: Some(a.name.clone()),
            issuer: Some(a.issuer.clone()),
            note: Some(a.note.clone()),
            favorite: a.favourite,
            icon: None,
            group: None,
            groups: group_ids,
            info: Info {
                secret: a.secret.to_base32(),
                algo: Some(a.algorithm.as_str().to_owned()),
                digits: Some(a.digits),
                period,
                counter,
            },
        });
    }
    Ok(Db {
        version: DB_VERSION,
        entries,
        groups,
        icons_optimized: Some(true),
    })
}

fn to_json(file: &File) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(file).map_err(|_| InteropError::Crypto("JSON encoding"))
}

/// A plaintext Aegis export (`header.slots` and `header.params` null, `db` an object).
pub fn plain(accounts: &[Account]) -> Result<Vec<u8>> {
    let db =
        serde_json::to_value(db(accounts)?).map_err(|_| InteropError::Crypto("JSON encoding"))?;
    to_json(&File {
        version: 1,
        header: Header {
            slots: None,
            params: None,
        },
        db,
    })
}

/// An encrypted Aegis export with Aegis' default scrypt parameters.
pub fn encrypted(accounts: &[Account], password: &str) -> Result<Vec<u8>> {
    encrypted_with(accounts, password, SCRYPT_N, SCRYPT_R, SCRYPT_P)
}

/// An encrypted Aegis export with chosen scrypt parameters (within our caps).
pub fn encrypted_with(
    accounts: &[Account],
    password: &str,
    n: u64,
    r: u32,
    p: u32,
) -> Result<Vec<u8>> {
    let password = &Password::new(password);
    use base64::Engine;
    let content = zeroize::Zeroizing::new(
        serde_json::to_vec(&db(accounts)?).map_err(|_| InteropError::Crypto("JSON encoding"))?,
    );
    let master = zeroize::Zeroizing::new(kdf::random::<32>()?);
    let salt = kdf::random::<32>()?;
    let derived = kdf::scrypt(password, &salt, n, r, p)?;
    let slot_nonce = kdf::random::<12>()?;
    let slot_sealed = kdf::aes_gcm_seal(&derived, &slot_nonce, &*master, &[])?;
    let (slot_key, slot_tag) = slot_sealed.split_at(slot_sealed.len() - 16);
    let db_nonce = kdf::random::<12>()?;
    let db_sealed = kdf::aes_gcm_seal(&master, &db_nonce, &content, &[])?;
    let (db_ct, db_tag) = db_sealed.split_at(db_sealed.len() - 16);
    to_json(&File {
        version: 1,
        header: Header {
            slots: Some(vec![Slot {
                kind: 1,
                uuid: uuid_v4()?,
                key: HEXLOWER.encode(slot_key),
                key_params: KeyParams {
                    nonce: HEXLOWER.encode(&slot_nonce),
                    tag: HEXLOWER.encode(slot_tag),
                },
                n: Some(n),
                r: Some(r),
                p: Some(p),
                salt: Some(HEXLOWER.encode(&salt)),
                repaired: Some(true),
                is_backup: Some(false),
            }]),
            params: Some(KeyParams {
                nonce: HEXLOWER.encode(&db_nonce),
                tag: HEXLOWER.encode(db_tag),
            }),
        },
        db: serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(db_ct)),
    })
}
