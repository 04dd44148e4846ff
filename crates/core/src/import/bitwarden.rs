//! Bitwarden exports, JSON (unencrypted) and CSV: login items with a TOTP field.
//!
//! The TOTP field is an `otpauth://` URI, `steam://SECRET`, or a bare base32 secret (TOTP,
//! SHA-1, 6 digits, 30 s). A URI's issuer and name win; without them the item's name is the
//! issuer and the login's username the name. `notes` → note, `favorite` → favourite, the
//! folder → a group. Items without a TOTP field are passwords, not accounts, and are not
//! listed. Bitwarden's encrypted JSON export is refused as unsupported.

use serde::Deserialize;

use super::{json, Format, ImportReport, Importer, InteropError, Password, Probe, Result};
use crate::account::Account;
use crate::secret::Secret;

/// Reads Bitwarden JSON exports.
#[derive(Debug)]
pub(crate) struct BitwardenJson;

/// Reads Bitwarden CSV exports.
#[derive(Debug)]
pub(crate) struct BitwardenCsv;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(default)]
    encrypted: bool,
    #[serde(default)]
    folders: Vec<Folder>,
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Folder {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    favorite: bool,
    #[serde(default)]
    folder_id: Option<String>,
    #[serde(default)]
    login: Option<Login>,
}

#[derive(Deserialize)]
struct Login {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    totp: Option<String>,
}

/// One item's fields that matter to us, from either file type.
struct Row<'a> {
    item_name: &'a str,
    username: &'a str,
    totp: &'a str,
    notes: &'a str,
    favourite: bool,
    folder: Option<&'a str>,
}

fn account(row: &Row<'_>) -> crate::Result<Account> {
    let totp = row.totp.trim();
    let mut a = if totp.len() >= 10
        && totp
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("otpauth://"))
    {
        let mut a = crate::uri::parse(totp)?;
        if a.issuer.is_empty() && a.name != row.item_name {
            a.issuer = row.item_name.to_owned();
        }
        if a.name.is_empty() {
            a.name = row.username.to_owned();
        }
        a
    } else if let Some(secret) = totp
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("steam://"))
        .and_then(|_| totp.get(8..))
    {
        super::steam_account(row.item_name, row.username, secret)?
    } else {
        Account::totp(row.item_name, row.username, Secret::from_base32(totp)?)
    };
    a.note = row.notes.to_owned();
    a.favourite = row.favourite;
    a.groups = row
        .folder
        .filter(|f| !f.trim().is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect();
    Ok(a)
}

fn push_row(report: &mut ImportReport, row: &Row<'_>) -> Result<()> {
    if row.totp.trim().is_empty() {
        return Ok(());
    }
    let built = account(row);
    let name = super::display_name(row.item_name, row.username);
    report.push_result(|| name, built)
}

impl Importer for BitwardenJson {
    fn format(&self) -> Format {
        Format::BitwardenJson
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe
            .object()
            .is_some_and(|o| o.contains_key("items") && o.contains_key("encrypted"))
    }

    fn import(&self, bytes: &[u8], _password: Option<&Password>) -> Result<ImportReport> {
        let file: File = json::parse(Format::BitwardenJson, bytes)?;
        if file.encrypted {
            return Err(InteropError::Unsupported {
                format: Format::BitwardenJson,
                what: "encrypted Bitwarden exports; export as unencrypted JSON or CSV".into(),
            });
        }
        let mut report = ImportReport::new(Format::BitwardenJson);
        for item in &file.items {
            let Some(login) = &item.login else { continue };
            let folder = item
                .folder_id
                .as_deref()
                .and_then(|id| file.folders.iter().find(|f| f.id == id))
                .map(|f| f.name.as_str());
            push_row(
                &mut report,
                &Row {
                    item_name: item.name.as_deref().unwrap_or_default(),
                    username: login.username.as_deref().unwrap_or_default(),
                    totp: login.totp.as_deref().unwrap_or_default(),
                    notes: item.notes.as_deref().unwrap_or_default(),
                    favourite: item.favorite,
                    folder,
                },
            )?;
        }
        Ok(report)
    }
}

const CSV_TOTP: &str = "login_totp";

impl Importer for BitwardenCsv {
    fn format(&self) -> Format {
        Format::BitwardenCsv
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe
            .first_line()
            .is_some_and(|l| l.split(',').any(|c| c.trim() == CSV_TOTP))
    }

    fn import(&self, bytes: &[u8], _password: Option<&Password>) -> Result<ImportReport> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
        let csv_error = |e: csv::Error| {
            let line = e.position().map(|p| p.line()).unwrap_or_default();
            match e.kind() {
                csv::ErrorKind::UnequalLengths { .. } => InteropError::malformed(
                    Format::BitwardenCsv,
                    format!("line {line} has a different number of columns than the header"),
                ),
                csv::ErrorKind::Utf8 { .. } => InteropError::malformed(
                    Format::BitwardenCsv,
                    format!("line {line} is not UTF-8"),
                ),
                _ => InteropError::malformed(
                    Format::BitwardenCsv,
                    format!("CSV error at line {line}"),
                ),
            }
        };
        let headers = reader.headers().map_err(csv_error)?.clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let totp_col = col(CSV_TOTP)
            .ok_or_else(|| InteropError::malformed(Format::BitwardenCsv, "no login_totp column"))?;
        let (name_col, user_col, notes_col, fav_col, folder_col) = (
            col("name"),
            col("login_username"),
            col("notes"),
            col("favorite"),
            col("folder"),
        );
        let mut report = ImportReport::new(Format::BitwardenCsv);
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or_default();
            push_row(
                &mut report,
                &Row {
                    item_name: get(name_col),
                    username: get(user_col),
                    totp: get(Some(totp_col)),
                    notes: get(notes_col),
                    favourite: matches!(get(fav_col).trim(), "1" | "true" | "TRUE" | "True"),
                    folder: Some(get(folder_col)),
                },
            )?;
        }
        Ok(report)
    }
}
