//! Ente Auth exports, plaintext and encrypted.
//!
//! Plaintext: one `otpauth://` Key URI per line, each with a `codeDisplay` parameter holding
//! percent-encoded JSON `{pinned, trashed, tags, note, …}`: `tags` → groups, `pinned` →
//! favourite, `note` → note. Trashed codes are listed as skipped.
//!
//! Encrypted: `{version: 1, kdfParams: {memLimit, opsLimit, salt}, encryptedData,
//! encryptionNonce}` (base64). The key is Argon2id v1.3 (libsodium's `crypto_pwhash`:
//! `opsLimit` passes, `memLimit` bytes, one lane) of the password; the data is one
//! XChaCha20-Poly1305 secretstream message whose header is `encryptionNonce`, holding the
//! plaintext export. Parameters are read from the file and checked against our caps first.

use serde::{Deserialize, Serialize};

use super::secretstream::{self, HEADER_BYTES};
use super::uri_list::{lines, starts_with_ignore_case, text};
use super::{json, kdf, Format, ImportReport, Importer, InteropError, Password, Probe, Result};

/// Reads Ente Auth exports.
#[derive(Debug)]
pub(crate) struct Ente;

/// The encrypted export's envelope.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Encrypted {
    pub version: u32,
    pub kdf_params: KdfParams,
    pub encrypted_data: String,
    pub encryption_nonce: String,
}

/// libsodium `crypto_pwhash` parameters.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KdfParams {
    pub mem_limit: u64,
    pub ops_limit: u64,
    pub salt: String,
}

#[derive(Deserialize, Default)]
struct CodeDisplay {
    #[serde(default)]
    pinned: bool,
    #[serde(default)]
    trashed: bool,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    note: Option<String>,
}

impl Importer for Ente {
    fn format(&self) -> Format {
        Format::Ente
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        if let Some(o) = probe.object() {
            return o.contains_key("kdfParams") && o.contains_key("encryptedData");
        }
        probe
            .first_line()
            .is_some_and(|l| starts_with_ignore_case(l, "otpauth://") && l.contains("codeDisplay="))
    }

    fn import(&self, bytes: &[u8], password: Option<&Password>) -> Result<ImportReport> {
        let text = text(Format::Ente, bytes)?;
        if text.trim_start().starts_with('{') {
            let password = password.ok_or(InteropError::PasswordRequired {
                format: Format::Ente,
            })?;
            let plain = decrypt(json::parse(Format::Ente, bytes)?, password)?;
            let plain = std::str::from_utf8(&plain).map_err(|_| InteropError::Corrupt {
                what: "the decrypted export is not UTF-8".into(),
            })?;
            return read_plain(plain);
        }
        read_plain(text)
    }
}

fn read_plain(text: &str) -> Result<ImportReport> {
    let mut report = ImportReport::new(Format::Ente);
    for (number, line) in lines(text) {
        let display = code_display(line);
        match crate::uri::parse(line) {
            Ok(mut a) => {
                if display.trashed {
                    report.skip(a.display_name(), super::SkipReason::InTrash);
                    continue;
                }
                a.favourite = display.pinned;
                a.groups = display
                    .tags
                    .into_iter()
                    .filter(|t| !t.trim().is_empty())
                    .collect();
                a.note = display.note.unwrap_or_default();
                report.push(|| format!("line {number}"), a)?;
            }
            Err(error) => {
                return Err(InteropError::Entry {
                    entry: format!("line {number}"),
                    error,
                })
            }
        }
    }
    report.non_empty()
}

/// The `codeDisplay` parameter, or defaults when absent or unreadable.
fn code_display(line: &str) -> CodeDisplay {
    let Some((_, query)) = line.split_once('?') else {
        return CodeDisplay::default();
    };
    // The line already went through `uri::parse`, which refuses malformed escapes in any
    // parameter; decoding strictly again keeps one rule for every URI.
    crate::percent::query_pairs(query, crate::percent::Plus::Space, |_| None)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("codeDisplay"))
        })
        .and_then(|(_, v)| json::parse::<CodeDisplay>(Format::Ente, v.as_bytes()).ok())
        .unwrap_or_default()
}

fn base64(field: &str, text: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    let e = &base64::engine::general_purpose::STANDARD;
    e.decode(text.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text.trim()))
        .map_err(|_| InteropError::malformed(Format::Ente, format!("{field} is not base64")))
}

fn decrypt(file: Encrypted, password: &Password) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if file.version != 1 {
        return Err(InteropError::UnsupportedVersion {
            format: Format::Ente,
            version: file.version.to_string(),
        });
    }
    let memory_kib = file.kdf_params.mem_limit / 1024;
    let memory_kib = u32::try_from(memory_kib).map_err(|_| InteropError::KdfParamsTooCostly {
        param: "argon2 memory KiB",
        value: memory_kib,
        max: u64::from(kdf::MAX_ARGON2_MEMORY_KIB),
    })?;
    let ops =
        u32::try_from(file.kdf_params.ops_limit).map_err(|_| InteropError::KdfParamsTooCostly {
            param: "argon2 iterations",
            value: file.kdf_params.ops_limit,
            max: u64::from(kdf::MAX_ARGON2_ITERATIONS),
        })?;
    kdf::check_argon2(memory_kib, ops, 1)?;
    let salt = base64("kdfParams.salt", &file.kdf_params.salt)?;
    let header: [u8; HEADER_BYTES] = base64("encryptionNonce", &file.encryption_nonce)?
        .try_into()
        .map_err(|_| InteropError::malformed(Format::Ente, "encryptionNonce is not 24 bytes"))?;
    let data = base64("encryptedData", &file.encrypted_data)?;
    if data.len() < secretstream::A_BYTES {
        return Err(InteropError::Truncated {
            what: "encryptedData is shorter than its tag".into(),
        });
    }
    let key = kdf::argon2id::<32>(password, &salt, memory_kib, ops, 1)?;
    let (plain, tag) = secretstream::pull(&key, &header, &data, &[])
        .ok_or(InteropError::WrongPasswordOrCorrupt)?;
    if tag != secretstream::TAG_FINAL {
        return Err(InteropError::Unsupported {
            format: Format::Ente,
            what: "a stream of more than one message".into(),
        });
    }
    Ok(plain)
}

/// Builds an Ente encrypted export of `plain` (used by tests and benchmarks to make files the
/// way Ente does; Tessera does not offer Ente as an export format).
pub fn seal_for_tests(
    plain: &str,
    password: &Password,
    mem_limit_bytes: u64,
    ops_limit: u32,
) -> Result<Vec<u8>> {
    use base64::Engine;
    let e = &base64::engine::general_purpose::STANDARD;
    let salt = kdf::random::<16>()?;
    let header = kdf::random::<HEADER_BYTES>()?;
    let memory_kib = u32::try_from(mem_limit_bytes / 1024).unwrap_or(u32::MAX);
    let key = kdf::argon2id::<32>(password, &salt, memory_kib, ops_limit, 1)?;
    let data = secretstream::push(
        &key,
        &header,
        plain.as_bytes(),
        &[],
        secretstream::TAG_FINAL,
    );
    let file = Encrypted {
        version: 1,
        kdf_params: KdfParams {
            mem_limit: mem_limit_bytes,
            ops_limit: u64::from(ops_limit),
            salt: e.encode(salt),
        },
        encrypted_data: e.encode(data),
        encryption_nonce: e.encode(header),
    };
    serde_json::to_vec(&file).map_err(|_| InteropError::Crypto("JSON encoding"))
}
