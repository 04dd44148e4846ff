//! The sealed form of an account: JSON inside an AES-GCM blob.

use serde::{Deserialize, Serialize};
use tessera_core::{Account, Algorithm, OtpType, Secret};
use zeroize::Zeroize;

#[derive(Serialize, Deserialize)]
pub struct Record {
    issuer: String,
    name: String,
    #[serde(rename = "type")]
    otp_type: String,
    secret: String,
    algorithm: String,
    digits: u8,
    period: u32,
    counter: u64,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    favourite: bool,
    #[serde(default)]
    icon: Option<String>,
}

impl Drop for Record {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl Record {
    pub fn from_account(a: &Account) -> Record {
        Record {
            issuer: a.issuer.clone(),
            name: a.name.clone(),
            otp_type: a.otp_type.as_str().to_owned(),
            secret: a.secret.to_base32(),
            algorithm: a.algorithm.as_str().to_owned(),
            digits: a.digits,
            period: a.period,
            counter: a.counter,
            groups: a.groups.clone(),
            note: a.note.clone(),
            favourite: a.favourite,
            icon: a.icon.clone(),
        }
    }

    pub fn to_account(&self) -> tessera_core::Result<Account> {
        let mut a = Account::totp(
            self.issuer.clone(),
            self.name.clone(),
            Secret::from_base32(&self.secret)?,
        );
        a.otp_type = self.otp_type.parse::<OtpType>()?;
        a.algorithm = self.algorithm.parse::<Algorithm>()?;
        a.digits = self.digits;
        a.period = self.period;
        a.counter = self.counter;
        a.groups = self.groups.clone();
        a.note = self.note.clone();
        a.favourite = self.favourite;
        a.icon = self.icon.clone();
        Ok(a)
    }
}
