//! Aegis vault export (JSON), plaintext and encrypted.
//!
//! The file is `{version: 1, header: {slots, params}, db}`. Plaintext: `slots` and `params` are
//! null and `db` is the content object. Encrypted: `db` is base64 of AES-256-GCM ciphertext
//! under a random master key; each password slot (type 1) holds the master key encrypted with
//! a key derived by scrypt(password, salt, N, r, p). Content versions 1–3: versions 1–2 name
//! an entry's group in `group`, version 3 lists group UUIDs in `groups` and defines them in
//! `db.groups`. Icons (images) are not carried; Yandex and mOTP entries are listed as skipped.

use data_encoding::HEXLOWER_PERMISSIVE;
use serde::{Deserialize, Serialize};

use super::{json, kdf, Format, ImportReport, Importer, InteropError, Password, Probe, Result};
use crate::account::{Account, OtpType};
use crate::secret::Secret;

/// Reads Aegis exports.
#[derive(Debug)]
pub(crate) struct Aegis;

/// The newest content version we read.
pub(crate) const MAX_DB_VERSION: u32 = 3;

#[derive(Deserialize, Serialize)]
pub(crate) struct File {
    pub version: u32,
    pub header: Header,
    pub db: serde_json::Value,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct Header {
    pub slots: Option<Vec<Slot>>,
    pub params: Option<KeyParams>,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct Slot {
    #[serde(rename = "type")]
    pub kind: u8,
    pub uuid: String,
    pub key: String,
    pub key_params: KeyParams,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repaired: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_backup: Option<bool>,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct KeyParams {
    pub nonce: String,
    pub tag: String,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct Db {
    pub version: u32,
    pub entries: Vec<Entry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons_optimized: Option<bool>,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct Group {
    pub uuid: String,
    pub name: String,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct Entry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub favorite: bool,
    #[serde(default)]
    pub icon: Option<String>,
    /// Content versions 1–2: the group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Content version 3: group UUIDs.
    #[serde(default)]
    pub groups: Vec<String>,
    pub info: Info,
}

#[derive(Deserialize, Serialize)]
pub(crate) struct Info {
    pub secret: String,
    #[serde(default)]
    pub algo: Option<String>,
    #[serde(default)]
    pub digits: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
}

fn hex(field: &'static str, text: &str) -> Result<Vec<u8>> {
    HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .map_err(|_| InteropError::malformed(Format::Aegis, format!("{field} is not hex")))
}

impl Importer for Aegis {
    fn format(&self) -> Format {
        Format::Aegis
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe.object().is_some_and(|o| {
            o.contains_key("header") && o.contains_key("db") && o.contains_key("version")
        })
    }

    fn import(&self, bytes: &[u8], password: Option<&Password>) -> Result<ImportReport> {
        let file: File = json::parse(Format::Aegis, bytes)?;
        if file.version != 1 {
            return Err(InteropError::UnsupportedVersion {
                format: Format::Aegis,
                version: file.version.to_string(),
            });
        }
        let db: Db = match (&file.header.slots, &file.header.params) {
            (None, None) => json::from_value(Format::Aegis, file.db)?,
            (Some(slots), Some(params)) => {
                let password = password.ok_or(InteropError::PasswordRequired {
                    format: Format::Aegis,
                })?;
                let master = unlock(slots, password)?;
                let sealed = file
                    .db
                    .as_str()
                    .ok_or_else(|| InteropError::malformed(Format::Aegis, "db is not a string"))?;
                let mut ciphertext = base64_decode(sealed)?;
                ciphertext.extend(hex("header.params.tag", &params.tag)?);
                let nonce = hex("header.params.nonce", &params.nonce)?;
                let plain = kdf::aes_gcm_open(&master, &nonce, &ciphertext, &[]).ok_or(
                    InteropError::Corrupt {
                        what: "the vault content fails its authentication tag".into(),
                    },
                )?;
                json::parse(Format::Aegis, &plain)?
            }
            _ => {
                return Err(InteropError::malformed(
                    Format::Aegis,
                    "header has slots without params or params without slots",
                ))
            }
        };
        read_db(db)
    }
}

fn base64_decode(text: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|_| InteropError::Corrupt {
            what: "db is not valid base64".into(),
        })
}

/// Tries each password slot; the master key of the first that opens.
fn unlock(slots: &[Slot], password: &Password) -> Result<zeroize::Zeroizing<[u8; 32]>> {
    let password_slots: Vec<&Slot> = slots.iter().filter(|s| s.kind == 1).collect();
    if password_slots.is_empty() {
        return Err(InteropError::Unsupported {
            format: Format::Aegis,
            what: "the vault has no password slot (biometric or raw key only)".into(),
        });
    }
    if password_slots.len() > kdf::MAX_PASSWORD_SLOTS {
        return Err(InteropError::KdfParamsTooCostly {
            param: "password slots",
            value: password_slots.len() as u64,
            max: kdf::MAX_PASSWORD_SLOTS as u64,
        });
    }
    // Check every slot's parameters before running any KDF.
    for slot in &password_slots {
        kdf::check_scrypt(
            slot.n.unwrap_or_default(),
            slot.r.unwrap_or_default(),
            slot.p.unwrap_or_default(),
        )?;
    }
    for slot in password_slots {
        let salt = hex("slot salt", slot.salt.as_deref().unwrap_or_default())?;
        let key = kdf::scrypt(
            password,
            &salt,
            slot.n.unwrap_or_default(),
            slot.r.unwrap_or_default(),
            slot.p.unwrap_or_default(),
        )?;
        let mut sealed = hex("slot key", &slot.key)?;
        sealed.extend(hex("slot key tag", &slot.key_params.tag)?);
        let nonce = hex("slot key nonce", &slot.key_params.nonce)?;
        if let Some(master) = kdf::aes_gcm_open(&key, &nonce, &sealed, &[]) {
            let master: [u8; 32] =
                master
                    .as_slice()
                    .try_into()
                    .map_err(|_| InteropError::Corrupt {
                        what: "the master key is not 256 bits".into(),
                    })?;
            return Ok(zeroize::Zeroizing::new(master));
        }
    }
    Err(InteropError::WrongPassword)
}

fn read_db(db: Db) -> Result<ImportReport> {
    if db.version == 0 || db.version > MAX_DB_VERSION {
        return Err(InteropError::UnsupportedVersion {
            format: Format::Aegis,
            version: format!("db {}", db.version),
        });
    }
    let mut report = ImportReport::new(Format::Aegis);
    for e in db.entries {
        let issuer = e.issuer.clone().unwrap_or_default();
        let name = e.name.clone().unwrap_or_default();
        let display = if issuer.is_empty() {
            name.clone()
        } else if name.is_empty() {
            issuer.clone()
        } else {
            format!("{issuer} ({name})")
        };
        let otp_type = match e.kind.as_str() {
            "totp" => OtpType::Totp,
            "hotp" => OtpType::Hotp,
            "steam" => OtpType::Steam,
            "yandex" => {
                report.skip(display, super::SkipReason::Yandex);
                continue;
            }
            "motp" => {
                report.skip(display, super::SkipReason::Motp);
                continue;
            }
            other => {
                report.skip(display, super::SkipReason::unsupported_type(other));
                continue;
            }
        };
        let mut groups: Vec<String> = Vec::new();
        if let Some(g) = e.group.as_deref().filter(|g| !g.trim().is_empty()) {
            groups.push(g.to_owned());
        }
        for uuid in &e.groups {
            if let Some(g) = db.groups.iter().find(|g| &g.uuid == uuid) {
                if !groups.contains(&g.name) {
                    groups.push(g.name.clone());
                }
            }
        }
        let built = Secret::from_base32(&e.info.secret).and_then(|secret| {
            let mut a = Account::totp(issuer, name, secret);
            a.otp_type = otp_type;
            a.algorithm = super::algorithm(e.info.algo.as_deref())?;
            a.digits = e.info.digits.unwrap_or(match otp_type {
                OtpType::Steam => crate::otp::STEAM_DIGITS,
                _ => 6,
            });
            a.period = e.info.period.unwrap_or(30);
            a.counter = e.info.counter.unwrap_or(0);
            a.groups = groups;
            a.note = e.note.unwrap_or_default();
            a.favourite = e.favorite;
            Ok(a)
        });
        report.push_result(|| display, built)?;
    }
    Ok(report)
}
