//! 2FAS `.2fas` backup, plaintext and encrypted, schema versions 1–4.
//!
//! `{services: [...], groups: [{id, name}], schemaVersion, servicesEncrypted?, reference?}`.
//! Each service has `name` (what 2FAS shows, used as issuer), `secret` (base32) and `otp`
//! (`account`, `issuer`, `digits`, `period`, `algorithm`, `counter`, `tokenType`). Older
//! schemas lack `tokenType` (TOTP) and groups.
//!
//! Encrypted (schema ≥ 3): `servicesEncrypted` and `reference` are each
//! `base64(ciphertext‖tag):base64(salt):base64(iv)`, AES-256-GCM under
//! PBKDF2-HMAC-SHA256(password, salt, 10,000 iterations). `reference` is a fixed text 2FAS
//! encrypts as a key check: if it fails the password is wrong; if it opens but the services do
//! not, the file is damaged.

use serde::Deserialize;

use super::{json, kdf, Format, ImportReport, Importer, InteropError, Password, Probe, Result};
use crate::account::{Account, OtpType};
use crate::secret::Secret;

/// Reads 2FAS backups.
#[derive(Debug)]
pub(crate) struct TwoFas;

/// The newest schema we read.
const MAX_SCHEMA: u32 = 4;
/// 2FAS' fixed PBKDF2 iteration count (not stored in the file).
const ITERATIONS: u32 = 10_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(default)]
    services: Vec<Service>,
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(default = "one")]
    schema_version: u32,
    #[serde(default)]
    services_encrypted: Option<String>,
    #[serde(default)]
    reference: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct Group {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    #[serde(default)]
    name: Option<String>,
    secret: String,
    #[serde(default)]
    otp: Option<Otp>,
    #[serde(default)]
    group_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Otp {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    digits: Option<u8>,
    #[serde(default)]
    period: Option<u32>,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default)]
    counter: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

impl Importer for TwoFas {
    fn format(&self) -> Format {
        Format::TwoFas
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe
            .object()
            .is_some_and(|o| o.contains_key("schemaVersion") && o.contains_key("services"))
    }

    fn import(&self, bytes: &[u8], password: Option<&Password>) -> Result<ImportReport> {
        let file: File = json::parse(Format::TwoFas, bytes)?;
        if file.schema_version == 0 || file.schema_version > MAX_SCHEMA {
            return Err(InteropError::UnsupportedVersion {
                format: Format::TwoFas,
                version: file.schema_version.to_string(),
            });
        }
        let services = match file.services_encrypted.as_deref() {
            None => file.services,
            Some(sealed) => {
                let password = password.ok_or(InteropError::PasswordRequired {
                    format: Format::TwoFas,
                })?;
                decrypt(sealed, file.reference.as_deref(), password)?
            }
        };
        let mut report = ImportReport::new(Format::TwoFas);
        for s in services {
            let otp = s.otp.unwrap_or_default();
            let issuer = s
                .name
                .filter(|n| !n.trim().is_empty())
                .or(otp.issuer)
                .unwrap_or_default();
            let name = otp
                .account
                .filter(|n| !n.trim().is_empty())
                .or(otp.label)
                .unwrap_or_default();
            let display = if name.is_empty() {
                issuer.clone()
            } else {
                format!("{issuer} ({name})")
            };
            let otp_type = match otp
                .token_type
                .as_deref()
                .unwrap_or("TOTP")
                .to_ascii_uppercase()
                .as_str()
            {
                "TOTP" => OtpType::Totp,
                "HOTP" => OtpType::Hotp,
                "STEAM" => OtpType::Steam,
                other => {
                    report.skip(display, super::SkipReason::unsupported_type(other));
                    continue;
                }
            };
            let group = s
                .group_id
                .as_deref()
                .and_then(|id| file.groups.iter().find(|g| g.id == id))
                .map(|g| g.name.clone());
            let built = Secret::from_base32(&s.secret).and_then(|secret| {
                let mut a = Account::totp(issuer, name, secret);
                a.otp_type = otp_type;
                a.algorithm = super::algorithm(otp.algorithm.as_deref())?;
                a.digits = match otp_type {
                    OtpType::Steam => crate::otp::STEAM_DIGITS,
                    _ => otp.digits.unwrap_or(6),
                };
                a.period = otp.period.filter(|p| *p > 0).unwrap_or(30);
                a.counter = otp.counter.unwrap_or(0);
                a.groups = group.into_iter().collect();
                Ok(a)
            });
            report.push_result(|| display, built)?;
        }
        Ok(report)
    }
}

/// `base64(ciphertext‖tag):base64(salt):base64(iv)`.
fn split(text: &str, what: &str) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts = text.split(':');
    let mut next = || -> Result<Vec<u8>> {
        let part = parts.next().ok_or_else(|| InteropError::Truncated {
            what: format!("{what} lacks its ciphertext, salt or IV"),
        })?;
        b64.decode(part.trim()).map_err(|_| InteropError::Corrupt {
            what: format!("{what} is not base64"),
        })
    };
    let sealed = next()?;
    let salt = next()?;
    let iv = next()?;
    if parts.next().is_some() {
        return Err(InteropError::malformed(
            Format::TwoFas,
            format!("{what} has more than three parts"),
        ));
    }
    Ok((sealed, salt, iv))
}

fn decrypt(sealed: &str, reference: Option<&str>, password: &Password) -> Result<Vec<Service>> {
    let (ciphertext, salt, iv) = split(sealed, "servicesEncrypted")?;
    let key = kdf::pbkdf2_sha256(password, &salt, ITERATIONS)?;
    if let Some(reference) = reference {
        let (r_ct, r_salt, r_iv) = split(reference, "reference")?;
        let opened = if r_salt == salt {
            kdf::aes_gcm_open(&key, &r_iv, &r_ct, &[])
        } else {
            let r_key = kdf::pbkdf2_sha256(password, &r_salt, ITERATIONS)?;
            kdf::aes_gcm_open(&r_key, &r_iv, &r_ct, &[])
        };
        if opened.is_none() {
            return Err(InteropError::WrongPassword);
        }
        let plain =
            kdf::aes_gcm_open(&key, &iv, &ciphertext, &[]).ok_or(InteropError::Corrupt {
                what: "the services fail their authentication tag".into(),
            })?;
        return json::parse(Format::TwoFas, &plain);
    }
    let plain = kdf::aes_gcm_open(&key, &iv, &ciphertext, &[])
        .ok_or(InteropError::WrongPasswordOrCorrupt)?;
    json::parse(Format::TwoFas, &plain)
}
