//! Proton Authenticator JSON export: `{version: 1, entries: [{id, content: {uri, entry_type,
//! name}, note}]}`. `uri` is an `otpauth://` Key URI (or `steam://SECRET` for Steam entries);
//! `content.name` is the name shown in the app and wins over the URI's; `note` → note.

use serde::Deserialize;

use super::{json, Format, ImportReport, Importer, InteropError, Password, Probe, Result};

/// Reads Proton Authenticator exports.
#[derive(Debug)]
pub(crate) struct Proton;

#[derive(Deserialize)]
struct File {
    version: u32,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    content: Content,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    uri: String,
    #[serde(default)]
    entry_type: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Importer for Proton {
    fn format(&self) -> Format {
        Format::Proton
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe.object().is_some_and(|o| {
            o.contains_key("version")
                && o.get("entries")
                    .and_then(serde_json::Value::as_array)
                    .is_some_and(|e| e.first().is_none_or(|e| e.get("content").is_some()))
        })
    }

    fn import(&self, bytes: &[u8], _password: Option<&Password>) -> Result<ImportReport> {
        let file: File = json::parse(Format::Proton, bytes)?;
        if file.version != 1 {
            return Err(InteropError::UnsupportedVersion {
                format: Format::Proton,
                version: file.version.to_string(),
            });
        }
        let mut report = ImportReport::new(Format::Proton);
        for (i, e) in file.entries.into_iter().enumerate() {
            let shown = e.content.name.clone().filter(|n| !n.trim().is_empty());
            let display = shown.clone().unwrap_or_else(|| format!("entry {}", i + 1));
            let uri = e.content.uri.trim();
            let steam = e
                .content
                .entry_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("steam"));
            let built = match uri.strip_prefix("steam://") {
                Some(secret) => {
                    super::steam_account("Steam", shown.clone().unwrap_or_default(), secret)
                }
                None => crate::uri::parse(uri).map(|mut a| {
                    if steam && a.otp_type != crate::OtpType::Steam {
                        a.otp_type = crate::OtpType::Steam;
                        a.digits = crate::otp::STEAM_DIGITS;
                        a.algorithm = crate::Algorithm::Sha1;
                    }
                    a
                }),
            }
            .map(|mut a| {
                if let Some(n) = shown {
                    a.name = n;
                }
                a.note = e.note.unwrap_or_default();
                a
            });
            report.push_result(|| display, built)?;
        }
        Ok(report)
    }
}
