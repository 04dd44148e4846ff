//! An authenticator account: what a user sees in the list and what every format carries.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Field, Result};
use crate::otp::{self, Algorithm};
use crate::secret::Secret;

/// Longest issuer or account name we accept, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;
/// Longest note, in bytes.
pub const MAX_NOTE_BYTES: usize = 4096;
/// Most groups per account.
pub const MAX_GROUPS: usize = 64;

/// The kind of one-time password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OtpType {
    /// Time-based (RFC 6238).
    #[default]
    Totp,
    /// Counter-based (RFC 4226).
    Hotp,
    /// Steam Guard: TOTP/SHA-1/30 s with a five-letter alphabet.
    Steam,
}

impl OtpType {
    /// The otpauth URI host: `totp`, `hotp`, `steam`.
    pub fn as_str(self) -> &'static str {
        match self {
            OtpType::Totp => "totp",
            OtpType::Hotp => "hotp",
            OtpType::Steam => "steam",
        }
    }
}

impl fmt::Display for OtpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OtpType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "totp" => Ok(OtpType::Totp),
            "hotp" => Ok(OtpType::Hotp),
            "steam" => Ok(OtpType::Steam),
            _ => Err(Error::invalid(
                Field::Type,
                format!(
                    "`{}` is not an OTP type (use totp, hotp or steam)",
                    otp::truncate_for_message(s)
                ),
            )),
        }
    }
}

/// One account. `period` matters for TOTP and Steam, `counter` for HOTP.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Who issued it ("GitHub"); may be empty.
    pub issuer: String,
    /// The account at the issuer ("alice@example.com"); may be empty only if issuer is not.
    pub name: String,
    /// TOTP, HOTP or Steam.
    pub otp_type: OtpType,
    /// The shared secret.
    pub secret: Secret,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Code length (6–10; Steam is always 5).
    pub digits: u8,
    /// TOTP/Steam period in seconds.
    pub period: u32,
    /// HOTP: the counter of the next code to show.
    pub counter: u64,
    /// Group names, in the order given.
    pub groups: Vec<String>,
    /// A free-text note.
    pub note: String,
    /// Pinned at the top.
    pub favourite: bool,
    /// A hint for the bundled icon set (usually the issuer's slug).
    pub icon: Option<String>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("issuer", &self.issuer)
            .field("name", &self.name)
            .field("otp_type", &self.otp_type)
            .field("secret", &self.secret)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

/// A code and the window in which it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code as shown.
    pub value: String,
    /// TOTP/Steam: first second the code is valid. HOTP: `None`.
    pub valid_from: Option<u64>,
    /// TOTP/Steam: first second after the code stopped being valid. HOTP: `None`.
    pub valid_until: Option<u64>,
}

impl Account {
    /// A TOTP account with the common defaults (SHA-1, 6 digits, 30 s).
    pub fn totp(issuer: impl Into<String>, name: impl Into<String>, secret: Secret) -> Self {
        Account {
            issuer: issuer.into(),
            name: name.into(),
            otp_type: OtpType::Totp,
            secret,
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            counter: 0,
            groups: Vec::new(),
            note: String::new(),
            favourite: false,
            icon: None,
        }
    }

    /// Checks every field; the error names the first one that is wrong.
    pub fn validate(&self) -> Result<()> {
        check_text(Field::Issuer, &self.issuer, MAX_LABEL_BYTES)?;
        check_text(Field::Name, &self.name, MAX_LABEL_BYTES)?;
        if self.issuer.trim().is_empty() && self.name.trim().is_empty() {
            return Err(Error::invalid(
                Field::Name,
                "an account needs an issuer or a name",
            ));
        }
        match self.otp_type {
            OtpType::Steam => {
                if self.digits != otp::STEAM_DIGITS {
                    return Err(Error::invalid(
                        Field::Digits,
                        format!("Steam codes have {} characters", otp::STEAM_DIGITS),
                    ));
                }
                if self.algorithm != Algorithm::Sha1 {
                    return Err(Error::invalid(Field::Algorithm, "Steam codes use SHA1"));
                }
                otp::check_period(self.period)?;
            }
            OtpType::Totp | OtpType::Hotp => {
                if !(otp::MIN_DIGITS..=otp::MAX_USER_DIGITS).contains(&self.digits) {
                    return Err(Error::invalid(
                        Field::Digits,
                        format!(
                            "{} is out of range ({}–{})",
                            self.digits,
                            otp::MIN_DIGITS,
                            otp::MAX_USER_DIGITS
                        ),
                    ));
                }
                if self.otp_type == OtpType::Totp {
                    otp::check_period(self.period)?;
                }
            }
        }
        if self.groups.len() > MAX_GROUPS {
            return Err(Error::invalid(
                Field::Group,
                format!("more than {MAX_GROUPS} groups"),
            ));
        }
        for g in &self.groups {
            check_text(Field::Group, g, MAX_LABEL_BYTES)?;
            if g.trim().is_empty() {
                return Err(Error::invalid(Field::Group, "a group name is empty"));
            }
        }
        if self.note.len() > MAX_NOTE_BYTES {
            return Err(Error::invalid(
                Field::Note,
                format!("longer than {MAX_NOTE_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    /// The code to show at `unix_secs` (HOTP: the code for the current counter).
    pub fn code_at(&self, unix_secs: u64) -> Result<Code> {
        let secret = self.secret.as_bytes();
        match self.otp_type {
            OtpType::Hotp => Ok(Code {
                value: otp::hotp(secret, self.counter, self.digits, self.algorithm)?,
                valid_from: None,
                valid_until: None,
            }),
            OtpType::Totp | OtpType::Steam => {
                let step = otp::time_step(unix_secs, self.period)?;
                let period = u64::from(self.period);
                let value = if self.otp_type == OtpType::Steam {
                    otp::steam(secret, unix_secs, self.period)?
                } else {
                    otp::totp(secret, unix_secs, self.period, self.digits, self.algorithm)?
                };
                Ok(Code {
                    value,
                    valid_from: Some(step.saturating_mul(period)),
                    valid_until: Some(step.saturating_add(1).saturating_mul(period)),
                })
            }
        }
    }

    /// "Issuer (name)", "Issuer" or "name": how the account is shown in one line.
    pub fn display_name(&self) -> String {
        match (self.issuer.is_empty(), self.name.is_empty()) {
            (false, false) => format!("{} ({})", self.issuer, self.name),
            (false, true) => self.issuer.clone(),
            _ => self.name.clone(),
        }
    }

    /// Same secret, issuer and name: the duplicate rule of imports.
    pub fn is_duplicate_of(&self, other: &Account) -> bool {
        self.secret == other.secret && self.issuer == other.issuer && self.name == other.name
    }
}

fn check_text(field: Field, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::invalid(field, format!("longer than {max} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "contains a control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn totp_code_window() {
        let a = Account::totp("Example", "alice", secret());
        let code = a.code_at(59).unwrap();
        assert_eq!(code.value, "287082");
        assert_eq!(code.valid_from, Some(30));
        assert_eq!(code.valid_until, Some(60));
    }

    #[test]
    fn hotp_uses_counter() {
        let mut a = Account::totp("Example", "alice", secret());
        a.otp_type = OtpType::Hotp;
        a.counter = 9;
        assert_eq!(a.code_at(0).unwrap().value, "520489");
        assert_eq!(a.code_at(0).unwrap().valid_until, None);
    }

    #[test]
    fn validation_names_the_field() {
        let mut a = Account::totp("", "", secret());
        assert_eq!(a.validate().unwrap_err().field(), Some(Field::Name));
        a.issuer = "X".into();
        a.digits = 11;
        assert_eq!(a.validate().unwrap_err().field(), Some(Field::Digits));
        a.digits = 6;
        a.period = 0;
        assert_eq!(a.validate().unwrap_err().field(), Some(Field::Period));
        a.period = 30;
        a.name = "bad\nname".into();
        assert_eq!(a.validate().unwrap_err().field(), Some(Field::Name));
        a.name = "ok".into();
        a.otp_type = OtpType::Steam;
        assert_eq!(a.validate().unwrap_err().field(), Some(Field::Digits));
        a.digits = 5;
        assert!(a.validate().is_ok());
    }
}
