//! The `--json` shapes. They are a stable interface (docs/cli.md): add fields, never rename
//! or remove one. No shape ever carries a secret.

use serde::Serialize;
use tessera_core::account::Code;
use tessera_core::{Account, OtpType};
use tessera_vault::StoredAccount;

/// One account as `list --json` shows it.
#[derive(Debug, Serialize)]
pub struct AccountJson {
    pub id: i64,
    pub issuer: String,
    pub name: String,
    #[serde(rename = "type")]
    pub otp_type: &'static str,
    pub algorithm: &'static str,
    pub digits: u8,
    /// TOTP/Steam only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// HOTP only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    pub groups: Vec<String>,
    pub favourite: bool,
    pub note: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

impl AccountJson {
    pub fn from_stored(s: &StoredAccount) -> Self {
        let a = &s.account;
        AccountJson {
            id: s.id,
            issuer: a.issuer.clone(),
            name: a.name.clone(),
            otp_type: a.otp_type.as_str(),
            algorithm: a.algorithm.as_str(),
            digits: a.digits,
            period: (a.otp_type != OtpType::Hotp).then_some(a.period),
            counter: (a.otp_type == OtpType::Hotp).then_some(a.counter),
            groups: a.groups.clone(),
            favourite: a.favourite,
            note: a.note.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// A code as `code --json` shows it.
#[derive(Debug, Serialize)]
pub struct CodeJson {
    pub id: i64,
    pub issuer: String,
    pub name: String,
    pub code: String,
    /// TOTP/Steam: the first second the code is valid; HOTP: absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<u64>,
    /// TOTP/Steam: the second the code stops being valid; HOTP: absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
    /// TOTP/Steam: seconds left at the time asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// HOTP: the counter this code was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
}

impl CodeJson {
    pub fn new(id: i64, account: &Account, code: &Code, at: u64, counter: Option<u64>) -> Self {
        CodeJson {
            id,
            issuer: account.issuer.clone(),
            name: account.name.clone(),
            code: code.value.clone(),
            valid_from: code.valid_from,
            valid_until: code.valid_until,
            remaining: code.valid_until.map(|u| u.saturating_sub(at)),
            counter,
        }
    }
}

/// Prints a value as one line of JSON.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
