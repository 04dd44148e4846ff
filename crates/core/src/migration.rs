//! Google Authenticator's export: `otpauth-migration://offline?data=<base64 protobuf>`.
//!
//! The payload is a protobuf `MigrationPayload` (field numbers as Google Authenticator writes
//! them), decoded and encoded with prost. Decoding is bounded: the URI is capped at
//! [`MAX_MIGRATION_URI_BYTES`] before anything is decoded, and prost checks every length
//! prefix against the bytes actually present, so an untrusted length never drives an
//! allocation. Unknown fields are skipped.
//!
//! Google's format carries 6 or 8 digits, SHA-1/256/512 (and MD5, which we do not support),
//! TOTP with a 30-second period and HOTP. Entries we cannot carry are reported by name in
//! [`Batch::skipped`], never silently dropped.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use prost::Message;

use crate::account::{Account, OtpType};
use crate::error::{Error, Field, Result};
use crate::import::SkipReason;
use crate::otp::Algorithm;
use crate::percent::{self, Plus};
use crate::secret::Secret;

/// The largest migration URI we decode, in bytes (a full QR code holds under 3 KB; a batch
/// exported as text may be longer, but not this long).
pub const MAX_MIGRATION_URI_BYTES: usize = 64 * 1024;

/// When encoding, each batch's URI is kept under this many characters so that it fits one
/// QR code that a phone camera still reads comfortably (version ≤ 30 at error level L).
pub const MAX_BATCH_URI_CHARS: usize = 1400;

const PREFIX: &str = "otpauth-migration://offline?";

/// The protobuf messages, as Google Authenticator defines them.
mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MigrationPayload {
        #[prost(message, repeated, tag = "1")]
        pub otp_parameters: Vec<OtpParameters>,
        #[prost(int32, tag = "2")]
        pub version: i32,
        #[prost(int32, tag = "3")]
        pub batch_size: i32,
        #[prost(int32, tag = "4")]
        pub batch_index: i32,
        #[prost(int32, tag = "5")]
        pub batch_id: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OtpParameters {
        #[prost(bytes = "vec", tag = "1")]
        pub secret: Vec<u8>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(string, tag = "3")]
        pub issuer: String,
        /// 0 unspecified, 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5.
        #[prost(int32, tag = "4")]
        pub algorithm: i32,
        /// 0 unspecified, 1 six, 2 eight.
        #[prost(int32, tag = "5")]
        pub digits: i32,
        /// 0 unspecified, 1 HOTP, 2 TOTP.
        #[prost(int32, tag = "6")]
        pub r#type: i32,
        #[prost(int64, tag = "7")]
        pub counter: i64,
    }
}

/// One decoded migration URI.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The accounts it carries that we can use.
    pub accounts: Vec<Account>,
    /// Entries we could not carry: (display name, reason).
    pub skipped: Vec<(String, SkipReason)>,
    /// Payload version (Google writes 1).
    pub version: i32,
    /// Number of batches in the export.
    pub batch_size: i32,
    /// This batch's index, from 0.
    pub batch_index: i32,
    /// Identifies the export the batch belongs to.
    pub batch_id: i32,
}

/// Decodes a migration URI into the accounts it carries (see [`decode_batch`] for the rest).
pub fn decode(text: &str) -> Result<Vec<Account>> {
    decode_batch(text).map(|b| b.accounts)
}

/// Decodes a migration URI.
pub fn decode_batch(text: &str) -> Result<Batch> {
    if text.len() > MAX_MIGRATION_URI_BYTES {
        return Err(Error::TooLarge {
            len: text.len(),
            max: MAX_MIGRATION_URI_BYTES,
        });
    }
    let text = text.trim();
    let query = strip_prefix_ignore_case(text, PREFIX).ok_or_else(|| {
        Error::invalid(Field::Scheme, "expected otpauth-migration://offline?data=…")
    })?;
    // Decoded strictly ([`crate::percent`]): `%G1`, `%00`, an encoded or raw control
    // character or invalid UTF-8 is an error naming `data` (or the other parameter). `+` is
    // kept: it is a base64 character.
    let pairs = percent::query_pairs(query, Plus::Literal, |name| {
        name.eq_ignore_ascii_case("data").then_some(Field::Data)
    })?;
    let mut data = None;
    for (k, v) in pairs {
        if k.eq_ignore_ascii_case("data") {
            if data.is_some() {
                return Err(Error::DuplicateParameter("data".into()));
            }
            data = Some(v);
        }
    }
    let data = data.ok_or(Error::Missing(Field::Data))?;
    // A space is a `+` whose encoding was lost on the way (some tools write `+` unescaped and
    // something downstream read it as form encoding).
    let b64: String = data
        .chars()
        .map(|c| if c == ' ' { '+' } else { c })
        .filter(|c| !c.is_whitespace())
        .collect();
    let trimmed = b64.trim_end_matches('=');
    let bytes = STANDARD
        .decode(pad(trimmed))
        .or_else(|_| URL_SAFE.decode(pad(trimmed)))
        .map_err(|_| malformed("data is not base64"))?;
    let payload = pb::MigrationPayload::decode(bytes.as_slice())
        .map_err(|e| malformed(&format!("protobuf: {e}")))?;

    let mut batch = Batch {
        version: payload.version,
        batch_size: payload.batch_size,
        batch_index: payload.batch_index,
        batch_id: payload.batch_id,
        ..Batch::default()
    };
    for p in payload.otp_parameters {
        let shown = if p.issuer.is_empty() {
            p.name.clone()
        } else {
            format!("{} ({})", p.issuer, p.name)
        };
        match to_account(p) {
            Ok(a) => batch.accounts.push(a),
            Err(why) => batch.skipped.push((shown, why)),
        }
    }
    Ok(batch)
}

fn to_account(p: pb::OtpParameters) -> Result<Account, SkipReason> {
    let secret = Secret::from_bytes(p.secret).map_err(SkipReason::InvalidEntry)?;
    // Google writes the label into `name`, sometimes as "issuer:account".
    let name = match p.name.split_once(':') {
        Some((i, n)) if !p.issuer.is_empty() && i.trim() == p.issuer.trim() => n.trim().to_owned(),
        _ => p.name,
    };
    let mut account = Account::totp(p.issuer, name, secret);
    account.algorithm = match p.algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => {
            return Err(SkipReason::UnsupportedAlgorithm {
                algorithm: "MD5".into(),
            })
        }
        n => return Err(unknown(Field::Algorithm, n)),
    };
    account.digits = match p.digits {
        0 | 1 => 6,
        2 => 8,
        n => return Err(unknown(Field::Digits, n)),
    };
    match p.r#type {
        0 | 2 => account.otp_type = OtpType::Totp,
        1 => {
            account.otp_type = OtpType::Hotp;
            account.counter = u64::try_from(p.counter).map_err(|_| {
                SkipReason::InvalidEntry(Error::invalid(Field::Counter, "negative counter"))
            })?;
        }
        n => return Err(unknown(Field::Type, n)),
    }
    account.validate().map_err(SkipReason::InvalidEntry)?;
    Ok(account)
}

fn unknown(field: Field, value: i32) -> SkipReason {
    SkipReason::UnknownValue {
        field,
        value: i64::from(value),
    }
}

/// Whether Google's format can carry an account; the reason says why not.
pub fn exportable(a: &Account) -> Result<(), SkipReason> {
    match a.otp_type {
        OtpType::Steam => Err(SkipReason::GoogleNoSteam),
        OtpType::Totp if a.period != 30 => Err(SkipReason::GooglePeriod { period: a.period }),
        _ if a.digits != 6 && a.digits != 8 => Err(SkipReason::GoogleDigits { digits: a.digits }),
        _ => i64::try_from(a.counter)
            .map(|_| ())
            .map_err(|_| SkipReason::GoogleCounter),
    }
}

/// [`exportable`] as a domain error naming the field.
pub fn check_exportable(a: &Account) -> Result<()> {
    exportable(a).map_err(|why| {
        let field = match why {
            SkipReason::GooglePeriod { .. } => Field::Period,
            SkipReason::GoogleDigits { .. } => Field::Digits,
            SkipReason::GoogleCounter => Field::Counter,
            _ => Field::Type,
        };
        Error::invalid(field, why.to_string())
    })
}

/// Encodes accounts as migration URIs, each small enough for one QR code. Fails, naming the
/// account, if one cannot be carried (see [`check_exportable`]); filter first to export the
/// rest. The batch id is derived from the content, so the same accounts give the same URIs.
pub fn encode(accounts: &[Account]) -> Result<Vec<String>> {
    let mut params = Vec::with_capacity(accounts.len());
    for a in accounts {
        check_exportable(a).map_err(|e| match e {
            Error::Invalid { field, reason } => {
                Error::invalid(field, format!("{}: {reason}", a.display_name()))
            }
            other => other,
        })?;
        params.push(to_params(a));
    }
    // Greedy packing: add entries to the current batch while its URI stays under the cap.
    let mut groups: Vec<Vec<pb::OtpParameters>> = Vec::new();
    let mut current: Vec<pb::OtpParameters> = Vec::new();
    for p in params {
        current.push(p);
        if current.len() > 1 && uri_len(&current) > MAX_BATCH_URI_CHARS {
            if let Some(last) = current.pop() {
                groups.push(std::mem::take(&mut current));
                current.push(last);
            }
        }
    }
    if !current.is_empty() || groups.is_empty() {
        groups.push(current);
    }
    let digest = crate::device::message::sha256(
        &groups
            .iter()
            .flatten()
            .flat_map(|p| p.encode_to_vec())
            .collect::<Vec<u8>>(),
    );
    let batch_id = i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & 0x7fff_ffff;
    let size =
        i32::try_from(groups.len()).map_err(|_| Error::invalid(Field::Data, "too many batches"))?;
    Ok(groups
        .into_iter()
        .enumerate()
        .map(|(i, otp_parameters)| {
            let payload = pb::MigrationPayload {
                otp_parameters,
                version: 1,
                batch_size: size,
                batch_index: i32::try_from(i).unwrap_or(i32::MAX),
                batch_id,
            };
            to_uri(&payload)
        })
        .collect())
}

fn to_params(a: &Account) -> pb::OtpParameters {
    pb::OtpParameters {
        secret: a.secret.as_bytes().to_vec(),
        name: a.name.clone(),
        issuer: a.issuer.clone(),
        algorithm: match a.algorithm {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        },
        digits: if a.digits == 8 { 2 } else { 1 },
        r#type: if a.otp_type == OtpType::Hotp { 1 } else { 2 },
        counter: i64::try_from(a.counter).unwrap_or(i64::MAX),
    }
}

fn uri_len(params: &[pb::OtpParameters]) -> usize {
    let payload = pb::MigrationPayload {
        otp_parameters: params.to_vec(),
        version: 1,
        batch_size: i32::MAX,
        batch_index: i32::MAX,
        batch_id: i32::MAX,
    };
    to_uri(&payload).len()
}

fn to_uri(payload: &pb::MigrationPayload) -> String {
    let b64 = STANDARD.encode(payload.encode_to_vec());
    format!(
        "{PREFIX}data={}",
        utf8_percent_encode(&b64, NON_ALPHANUMERIC)
    )
}

fn pad(s: &str) -> String {
    let mut out = s.to_owned();
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

fn malformed(reason: &str) -> Error {
    Error::Malformed {
        what: "migration payload",
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(i: usize) -> Account {
        let secret = Secret::from_bytes(vec![u8::try_from(i % 251).unwrap(); 20]).unwrap();
        let mut a = Account::totp(
            format!("Issuer {i}"),
            format!("user{i}@example.com"),
            secret,
        );
        if i % 3 == 1 {
            a.algorithm = Algorithm::Sha256;
            a.digits = 8;
        }
        if i % 3 == 2 {
            a.otp_type = OtpType::Hotp;
            a.counter = i as u64;
        }
        a
    }

    #[test]
    fn round_trip_in_batches() {
        let accounts: Vec<Account> = (0..100).map(acct).collect();
        let uris = encode(&accounts).unwrap();
        assert!(uris.len() > 1);
        let mut back = Vec::new();
        for (i, u) in uris.iter().enumerate() {
            assert!(u.len() <= MAX_BATCH_URI_CHARS, "{}", u.len());
            let b = decode_batch(u).unwrap();
            assert_eq!(b.batch_index, i32::try_from(i).unwrap());
            assert_eq!(b.batch_size, i32::try_from(uris.len()).unwrap());
            back.extend(b.accounts);
        }
        assert_eq!(back, accounts);
    }

    #[test]
    fn refuses_what_it_cannot_carry() {
        let mut a = acct(0);
        a.period = 60;
        let err = encode(&[a]).unwrap_err();
        assert_eq!(err.field(), Some(Field::Period));
        assert!(err.to_string().contains("Issuer 0"));
    }

    #[test]
    fn skips_md5_by_name_and_rejects_garbage() {
        let payload = pb::MigrationPayload {
            otp_parameters: vec![
                pb::OtpParameters {
                    secret: vec![1; 10],
                    name: "md5".into(),
                    issuer: "Old".into(),
                    algorithm: 4,
                    digits: 1,
                    r#type: 2,
                    counter: 0,
                },
                to_params(&acct(3)),
            ],
            version: 1,
            batch_size: 1,
            batch_index: 0,
            batch_id: 7,
        };
        let b = decode_batch(&to_uri(&payload)).unwrap();
        assert_eq!(b.accounts.len(), 1);
        assert_eq!(b.skipped.first().unwrap().0, "Old (md5)");
        let why = &b.skipped.first().unwrap().1;
        assert_eq!(
            crate::notice::Coded::code(why),
            "skip_unsupported_algorithm"
        );
        assert_eq!(crate::notice::Coded::params(why)["algorithm"], "MD5");

        assert!(decode("otpauth-migration://offline?data=!!!").is_err());
        assert!(decode("otpauth-migration://offline").is_err());
        // A length prefix claiming 2^31 bytes with nothing behind it: refused, no allocation.
        let evil = STANDARD.encode([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07]);
        assert!(decode(&format!("otpauth-migration://offline?data={evil}")).is_err());
    }

    #[test]
    fn entries_google_defines_but_we_cannot_read_are_skipped_with_their_codes() {
        use crate::notice::Coded;
        let entry = |algorithm, digits, r#type, counter, secret: Vec<u8>| pb::OtpParameters {
            secret,
            name: "x".into(),
            issuer: String::new(),
            algorithm,
            digits,
            r#type,
            counter,
        };
        let payload = pb::MigrationPayload {
            otp_parameters: vec![
                entry(9, 1, 2, 0, vec![1; 10]),
                entry(1, 5, 2, 0, vec![1; 10]),
                entry(1, 1, 7, 0, vec![1; 10]),
                entry(1, 1, 1, -4, vec![1; 10]),
                entry(1, 1, 2, 0, Vec::new()),
            ],
            version: 1,
            batch_size: 1,
            batch_index: 0,
            batch_id: 7,
        };
        let b = decode_batch(&to_uri(&payload)).unwrap();
        let got: Vec<(&str, crate::notice::Params)> = b
            .skipped
            .iter()
            .map(|(_, w)| (w.code(), w.params()))
            .collect();
        let p = |v: serde_json::Value| v.as_object().cloned().unwrap();
        assert_eq!(
            got,
            vec![
                (
                    "skip_unknown_value",
                    p(serde_json::json!({"field": "algorithm", "value": 9}))
                ),
                (
                    "skip_unknown_value",
                    p(serde_json::json!({"field": "digits", "value": 5}))
                ),
                (
                    "skip_unknown_value",
                    p(serde_json::json!({"field": "type", "value": 7}))
                ),
                (
                    "skip_invalid_entry",
                    p(serde_json::json!({"field": "counter"}))
                ),
                (
                    "skip_invalid_entry",
                    p(serde_json::json!({"field": "secret"}))
                ),
            ]
        );
    }

    #[test]
    fn what_google_cannot_carry_has_a_reason_code() {
        use crate::notice::Coded;
        let mut steam = acct(0);
        steam.otp_type = OtpType::Steam;
        let mut period = acct(3);
        period.period = 60;
        let mut digits = acct(6);
        digits.digits = 7;
        let mut counter = acct(9);
        counter.otp_type = OtpType::Hotp;
        counter.counter = u64::MAX;
        let codes: Vec<_> = [steam, period, digits, counter]
            .iter()
            .map(|a| exportable(a).unwrap_err().code())
            .collect();
        assert_eq!(
            codes,
            [
                "skip_google_steam",
                "skip_google_period",
                "skip_google_digits",
                "skip_google_counter"
            ]
        );
        assert!(exportable(&acct(12)).is_ok());
    }

    #[test]
    fn bad_percent_encoding_is_refused_naming_data() {
        let good = encode(&[acct(1)]).unwrap().remove(0);
        assert!(decode(&good).is_ok());
        let data = good.split_once("data=").unwrap().1.to_owned();
        for bad in [
            format!("otpauth-migration://offline?data=%G1{data}"),
            format!("otpauth-migration://offline?data={data}%"),
            format!("otpauth-migration://offline?data={data}%00"),
            format!("otpauth-migration://offline?data={data}%0A"),
            format!("otpauth-migration://offline?data={data}%FF"),
            format!("otpauth-migration://offline?data=\t{data}"),
        ] {
            let err = decode(&bad).unwrap_err();
            assert_eq!(err.field(), Some(Field::Data), "{bad:?}: {err}");
        }
        let err = decode(&format!("otpauth-migration://offline?data={data}&x=%ZZ")).unwrap_err();
        assert!(err.to_string().contains("`x`"), "{err}");
    }
}
