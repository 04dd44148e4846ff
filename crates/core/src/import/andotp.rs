//! andOTP backup: plaintext JSON, or encrypted binary (both the new and the old format).
//!
//! Plaintext: a JSON array of `{secret, issuer, label, digits, type, algorithm, period,
//! counter, tags, thumbnail}`; `type` is TOTP, HOTP, STEAM or MOTP (skipped). `tags` become
//! groups; a `thumbnail` other than `Default` becomes the icon hint.
//!
//! Encrypted, new format: `iterations (u32 BE) ‖ salt (12) ‖ nonce (12) ‖ ciphertext ‖ tag`,
//! AES-256-GCM under PBKDF2-HMAC-SHA1(password, salt, iterations). Old format:
//! `nonce (12) ‖ ciphertext ‖ tag` under SHA-256(password). The two cannot be told apart
//! from the bytes, so the new one is tried first, then the old.

use serde::Deserialize;

use super::{json, kdf, Format, ImportReport, Importer, InteropError, Password, Probe, Result};
use crate::account::{Account, OtpType};
use crate::secret::Secret;

/// Reads andOTP backups.
#[derive(Debug)]
pub(crate) struct AndOtp;

const SALT_LEN: usize = 12;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const NEW_HEADER: usize = 4 + SALT_LEN + NONCE_LEN;

#[derive(Deserialize)]
struct Entry {
    secret: String,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    digits: Option<u8>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default)]
    period: Option<u32>,
    #[serde(default)]
    counter: Option<u64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    thumbnail: Option<String>,
}

impl Importer for AndOtp {
    fn format(&self) -> Format {
        Format::AndOtp
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        match &probe.json {
            Some(serde_json::Value::Array(items)) => items.first().is_some_and(|i| {
                i.get("secret").is_some() && i.get("type").is_some() && i.get("label").is_some()
            }),
            Some(_) => false,
            // Binary: the encrypted format has no magic; anything that is not text and is long
            // enough to hold a nonce and a tag may be one.
            // Known container magics (an image of a QR code, an archive) are not andOTP.
            None => {
                const MAGICS: [&[u8]; 8] = [
                    b"\x89PNG",
                    b"\xff\xd8\xff",
                    b"GIF8",
                    b"PK\x03\x04",
                    b"%PDF",
                    b"BM",
                    b"RIFF",
                    b"\x1f\x8b",
                ];
                probe.text.is_none()
                    && probe.bytes.len() >= NONCE_LEN + TAG_LEN
                    && !MAGICS.iter().any(|m| probe.bytes.starts_with(m))
            }
        }
    }

    fn import(&self, bytes: &[u8], password: Option<&Password>) -> Result<ImportReport> {
        let text = std::str::from_utf8(bytes).ok();
        let is_json = text.is_some_and(|t| t.trim_start().starts_with(['[', '{']));
        let entries: Vec<Entry> = if is_json {
            json::parse(Format::AndOtp, bytes)?
        } else {
            let password = password.ok_or(InteropError::PasswordRequired {
                format: Format::AndOtp,
            })?;
            let plain = decrypt(bytes, password)?;
            json::parse(Format::AndOtp, &plain)?
        };
        let mut report = ImportReport::new(Format::AndOtp);
        for e in entries {
            let issuer = e.issuer.unwrap_or_default();
            let name = e.label.unwrap_or_default();
            let display = super::display_name(&issuer, &name);
            let otp_type = match e
                .kind
                .as_deref()
                .unwrap_or("TOTP")
                .to_ascii_uppercase()
                .as_str()
            {
                "TOTP" => OtpType::Totp,
                "HOTP" => OtpType::Hotp,
                "STEAM" => OtpType::Steam,
                "MOTP" => {
                    report.skip(display, super::SkipReason::Motp);
                    continue;
                }
                other => {
                    report.skip(display, super::SkipReason::unsupported_type(other));
                    continue;
                }
            };
            let built = Secret::from_base32(&e.secret).and_then(|secret| {
                let mut a = Account::totp(issuer, name, secret);
                a.otp_type = otp_type;
                a.algorithm = super::algorithm(e.algorithm.as_deref())?;
                a.digits = match otp_type {
                    OtpType::Steam => crate::otp::STEAM_DIGITS,
                    _ => e.digits.unwrap_or(6),
                };
                a.period = e.period.filter(|p| *p > 0).unwrap_or(30);
                a.counter = e.counter.unwrap_or(0);
                a.groups = e
                    .tags
                    .into_iter()
                    .filter(|t| !t.trim().is_empty())
                    .collect();
                a.icon = e
                    .thumbnail
                    .filter(|t| !t.is_empty() && t != "Default")
                    .map(|t| t.to_ascii_lowercase());
                Ok(a)
            });
            report.push_result(|| display, built)?;
        }
        Ok(report)
    }
}

fn decrypt(bytes: &[u8], password: &Password) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return Err(InteropError::Truncated {
            what: "shorter than a nonce and a tag".into(),
        });
    }
    let mut refused = None;
    if let (Some(iter), Some(salt), Some(nonce), Some(sealed)) = (
        bytes.get(..4),
        bytes.get(4..4 + SALT_LEN),
        bytes.get(4 + SALT_LEN..NEW_HEADER),
        bytes.get(NEW_HEADER..),
    ) {
        let iterations = <[u8; 4]>::try_from(iter)
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        if sealed.len() >= TAG_LEN {
            match kdf::pbkdf2_sha1(password, salt, iterations) {
                Ok(key) => {
                    if let Some(plain) = kdf::aes_gcm_open(&key, nonce, sealed, &[]) {
                        return Ok(plain);
                    }
                }
                Err(e) => refused = Some(e),
            }
        }
    }
    // The old format: the key is SHA-256 of the password.
    let digest = ring::digest::digest(&ring::digest::SHA256, password.as_bytes());
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    key.copy_from_slice(digest.as_ref());
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    if let Some(plain) = kdf::aes_gcm_open(&key, nonce, sealed, &[]) {
        return Ok(plain);
    }
    // If the new-format header asked for a refused KDF cost, say so rather than "wrong password".
    Err(refused.unwrap_or(InteropError::WrongPasswordOrCorrupt))
}
