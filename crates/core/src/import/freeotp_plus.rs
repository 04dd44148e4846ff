//! FreeOTP+ JSON backup: `{tokens: [...], tokenOrder: [...]}`.
//!
//! Each token has `issuerExt` (the URI's issuer), `issuerInt`, optional user edits
//! `issuerAlt`/`labelAlt`, `label`, `type` (TOTP/HOTP), `algo`, `digits`, `period`, `counter`
//! and `secret` as an array of signed bytes. FreeOTP+ stores the counter of the last code it
//! showed, so the next counter is `counter + 1`. It has no Steam type.

use serde::Deserialize;

use super::{json, Format, ImportReport, Importer, Password, Probe, Result};
use crate::account::{Account, OtpType};
use crate::secret::Secret;

/// Reads FreeOTP+ backups.
#[derive(Debug)]
pub(crate) struct FreeOtpPlus;

#[derive(Deserialize)]
struct File {
    tokens: Vec<Token>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    #[serde(default)]
    algo: Option<String>,
    #[serde(default)]
    counter: Option<u64>,
    #[serde(default)]
    digits: Option<u8>,
    #[serde(default)]
    issuer_ext: Option<String>,
    #[serde(default)]
    issuer_int: Option<String>,
    #[serde(default)]
    issuer_alt: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    label_alt: Option<String>,
    #[serde(default)]
    period: Option<u32>,
    secret: Vec<i8>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl Importer for FreeOtpPlus {
    fn format(&self) -> Format {
        Format::FreeOtpPlus
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe.object().is_some_and(|o| o.contains_key("tokens"))
    }

    fn import(&self, bytes: &[u8], _password: Option<&Password>) -> Result<ImportReport> {
        let file: File = json::parse(Format::FreeOtpPlus, bytes)?;
        let mut report = ImportReport::new(Format::FreeOtpPlus);
        for t in file.tokens {
            let issuer = non_empty(t.issuer_alt)
                .or(non_empty(t.issuer_ext))
                .or(non_empty(t.issuer_int))
                .unwrap_or_default();
            let name = non_empty(t.label_alt).or(t.label).unwrap_or_default();
            let display = super::display_name(&issuer, &name);
            let otp_type = match t
                .kind
                .as_deref()
                .unwrap_or("TOTP")
                .to_ascii_uppercase()
                .as_str()
            {
                "TOTP" => OtpType::Totp,
                "HOTP" => OtpType::Hotp,
                other => {
                    report.skip(display, super::SkipReason::unsupported_type(other));
                    continue;
                }
            };
            // Signed Java bytes to unsigned: reinterpret each one's bits.
            let bytes: Vec<u8> = t
                .secret
                .iter()
                .map(|b| u8::from_ne_bytes(b.to_ne_bytes()))
                .collect();
            let built = Secret::from_bytes(bytes).and_then(|secret| {
                let mut a = Account::totp(issuer, name, secret);
                a.otp_type = otp_type;
                a.algorithm = super::algorithm(t.algo.as_deref())?;
                a.digits = t.digits.unwrap_or(6);
                a.period = t.period.filter(|p| *p > 0).unwrap_or(30);
                if otp_type == OtpType::Hotp {
                    a.counter = t.counter.unwrap_or(0).saturating_add(1);
                }
                Ok(a)
            });
            report.push_result(|| display, built)?;
        }
        Ok(report)
    }
}
