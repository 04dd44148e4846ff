//! `otpauth://` Key URIs: parse and emit.
//!
//! The format is Google Authenticator's "Key URI Format":
//! `otpauth://TYPE/LABEL?PARAMETERS`, with `TYPE` one of `totp`, `hotp` (and `steam`, which
//! Aegis and others emit for Steam Guard), `LABEL` = `issuer:account` (or just `account`).
//!
//! # Decisions
//! - **Size**: input over [`MAX_URI_BYTES`] is refused before parsing.
//! - **Percent-encoding** is decoded strictly, by [`crate::percent`]: a `%` not followed by
//!   two hex digits, a control character (escaped like `%00` or `%0D%0A`, or raw; C0, DEL and
//!   C1), or bytes that are not UTF-8 after decoding are an error naming the label, the field
//!   of a known parameter (`issuer`, `secret`, …) or the parameter by name. The type and
//!   unknown parameters are decoded too: a malformed URI is refused whole, not in part. A
//!   fragment (`#…`) is not part of the format and is dropped unread.
//! - **Label**: percent-decoded; a literal `+` stays a `+` (`alice+tag@example.com` is common),
//!   spaces must be `%20`. The issuer is split off at the first `:` (also written `%3A`), with
//!   optional spaces after it.
//! - **Query values**: percent-decoded with `+` meaning a space (form encoding, which most
//!   generators use for `issuer=Big+Corp`).
//! - **Issuer**: the `issuer` parameter wins over the label's prefix when both are present
//!   and differ; the disagreement is reported as a [`Warning`].
//! - **Secret**: base32, case-insensitive, padding and spaces allowed. A secret shorter than
//!   128 bits (RFC 4226's minimum) is **accepted and flagged** with [`Warning::WeakSecret`]:
//!   many real services still issue 80-bit secrets and refusing them would only push users to
//!   another app. An empty or non-base32 secret is an error.
//! - **Parameters**: names are case-insensitive; a known parameter given twice is an error
//!   (its meaning would be ambiguous); unknown parameters (`image`, `color`, …) are ignored and
//!   never acted on — an `image=` URL is never fetched. They are listed in
//!   [`Warning::IgnoredParameters`].
//! - **HOTP without `counter`**: accepted as counter 0, with a warning.
//! - **Steam**: `otpauth://steam/…` and `otpauth://totp/…?encoder=steam` both give a Steam
//!   account (5 characters, SHA-1, 30 s unless a period is given).

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::account::{Account, OtpType};
use crate::error::{Error, Field, Result};
use crate::otp::{self, truncate_for_message, Algorithm};
use crate::percent::{self, Plus};
use crate::secret::Secret;

/// The largest Key URI we parse, in bytes.
pub const MAX_URI_BYTES: usize = 4096;

/// What we percent-encode when emitting: everything but RFC 3986's unreserved characters and
/// `@` (harmless in a path and query value, and readable in an e-mail address).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Something about a URI that is accepted but worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The label's issuer prefix and the `issuer` parameter differ; the parameter was used.
    IssuerMismatch {
        /// The label's prefix.
        label: String,
        /// The `issuer` parameter (used).
        parameter: String,
    },
    /// The secret is shorter than RFC 4226's minimum of 128 bits.
    WeakSecret {
        /// Its length in bits.
        bits: usize,
    },
    /// Parameters we do not know were ignored.
    IgnoredParameters(Vec<String>),
    /// An HOTP URI had no `counter`; 0 was assumed.
    MissingCounter,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::IssuerMismatch { label, parameter } => write!(
                f,
                "the label says issuer `{label}` but the issuer parameter says `{parameter}`; using `{parameter}`"
            ),
            Warning::WeakSecret { bits } => write!(
                f,
                "the secret has only {bits} bits (RFC 4226 asks for at least 128)"
            ),
            Warning::IgnoredParameters(names) => {
                write!(f, "ignored unknown parameters: {}", names.join(", "))
            }
            Warning::MissingCounter => f.write_str("no counter given for HOTP; starting at 0"),
        }
    }
}

impl Warning {
    /// One warning of each kind (for [`crate::notice::catalogue`] and tests).
    pub fn samples() -> Vec<Warning> {
        vec![
            Warning::IssuerMismatch {
                label: "Old".into(),
                parameter: "New".into(),
            },
            Warning::WeakSecret { bits: 80 },
            Warning::IgnoredParameters(vec!["image".into(), "color".into()]),
            Warning::MissingCounter,
        ]
    }
}

impl crate::notice::Coded for Warning {
    fn code(&self) -> &'static str {
        match self {
            Warning::IssuerMismatch { .. } => "issuer_mismatch",
            Warning::WeakSecret { .. } => "weak_secret",
            Warning::IgnoredParameters(_) => "ignored_parameters",
            Warning::MissingCounter => "missing_counter",
        }
    }

    fn params(&self) -> crate::notice::Params {
        use serde_json::Value;
        match self {
            Warning::IssuerMismatch { label, parameter } => crate::notice::params([
                ("label", Value::from(label.as_str())),
                ("parameter", Value::from(parameter.as_str())),
            ]),
            Warning::WeakSecret { bits } => crate::notice::params([("bits", Value::from(*bits))]),
            Warning::IgnoredParameters(names) => {
                crate::notice::params([("names", Value::from(names.clone()))])
            }
            Warning::MissingCounter => crate::notice::Params::new(),
        }
    }
}

/// A parsed Key URI: the account and what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The account.
    pub account: Account,
    /// Accepted oddities.
    pub warnings: Vec<Warning>,
}

/// Parses a Key URI into an account (see [`parse_with_warnings`] for what was noticed).
pub fn parse(text: &str) -> Result<Account> {
    parse_with_warnings(text).map(|p| p.account)
}

/// Parses a Key URI, returning the account and any warnings.
pub fn parse_with_warnings(text: &str) -> Result<Parsed> {
    if text.len() > MAX_URI_BYTES {
        return Err(Error::TooLarge {
            len: text.len(),
            max: MAX_URI_BYTES,
        });
    }
    let text = text.trim();
    let rest = strip_prefix_ignore_case(text, "otpauth://").ok_or_else(|| {
        let scheme = text.split(':').next().unwrap_or_default();
        Error::invalid(
            Field::Scheme,
            format!(
                "expected otpauth://, found `{}`",
                truncate_for_message(scheme)
            ),
        )
    })?;

    let (before_query, query) = match rest.split_once('?') {
        Some((a, b)) => (a, b),
        None => (rest, ""),
    };
    // A fragment is not part of the format; it is dropped unread.
    let query = query.split('#').next().unwrap_or_default();
    let (type_text, raw_label) = match before_query.split_once('/') {
        Some((t, l)) => (t, l),
        None => (before_query, ""),
    };
    // Decoded like every other component, so a raw or encoded control character is refused
    // here too rather than trimmed away by the type's parser.
    let mut otp_type: OtpType =
        percent::decode_field(type_text, Plus::Literal, Field::Type)?.parse()?;

    let params = Params::parse(query)?;
    let mut warnings = Vec::new();

    let label = decode_label(raw_label)?;
    let issuer_param = params.get("issuer").map(str::trim).map(str::to_owned);
    let (label_issuer, name) = split_label(&label, issuer_param.as_deref());
    let issuer = match (label_issuer, issuer_param) {
        (Some(l), Some(p)) => {
            if l != p && !p.is_empty() {
                warnings.push(Warning::IssuerMismatch {
                    label: l,
                    parameter: p.clone(),
                });
                p
            } else if p.is_empty() {
                l
            } else {
                p
            }
        }
        (Some(l), None) => l,
        (None, Some(p)) => p,
        (None, None) => String::new(),
    };
    if issuer.is_empty() && name.is_empty() {
        return Err(Error::Missing(Field::Label));
    }

    let secret_text = params.get("secret").ok_or(Error::Missing(Field::Secret))?;
    let secret = Secret::from_base32(secret_text)?;
    if secret.is_weak() {
        warnings.push(Warning::WeakSecret {
            bits: secret.bits(),
        });
    }

    if let Some(encoder) = params.get("encoder") {
        if encoder.eq_ignore_ascii_case("steam") {
            otp_type = OtpType::Steam;
        }
    }

    let mut account = Account::totp(issuer, name, secret);
    account.otp_type = otp_type;
    if let Some(a) = params.get("algorithm") {
        account.algorithm = a.parse()?;
    }
    if otp_type == OtpType::Steam {
        account.digits = otp::STEAM_DIGITS;
        if account.algorithm != Algorithm::Sha1 {
            return Err(Error::invalid(Field::Algorithm, "Steam codes use SHA1"));
        }
    } else if let Some(d) = params.get("digits") {
        account.digits = parse_number::<u8>(Field::Digits, d)?;
    }
    if let Some(p) = params.get("period") {
        account.period = parse_number::<u32>(Field::Period, p)?;
    }
    match (otp_type, params.get("counter")) {
        (OtpType::Hotp, Some(c)) => account.counter = parse_number::<u64>(Field::Counter, c)?,
        (OtpType::Hotp, None) => warnings.push(Warning::MissingCounter),
        _ => {}
    }
    account.validate()?;

    let ignored = params.unknown();
    if !ignored.is_empty() {
        warnings.push(Warning::IgnoredParameters(ignored));
    }
    Ok(Parsed { account, warnings })
}

/// Emits the Key URI of an account. Only what the format carries is emitted (groups, notes,
/// favourites and icons are not part of it). `parse(to_uri(a))` gives back `a`'s type,
/// issuer, name, secret, algorithm, digits and period or counter.
pub fn to_uri(account: &Account) -> String {
    let issuer = account.issuer.as_str();
    let name = account.name.as_str();
    // With an issuer the label is always `issuer:name`: the parser splits right after the
    // `issuer` parameter's value when the label starts with it, so colons in either part
    // survive (`:name` for an issuer of ":" would read back as issuer ":" and name "").
    // Without one, a name holding a colon gets an empty issuer part: `:name`.
    let label = if issuer.is_empty() {
        if name.contains(':') {
            format!(":{}", enc(name))
        } else {
            enc(name)
        }
    } else {
        format!("{}:{}", enc(issuer), enc(name))
    };
    let mut out = format!(
        "otpauth://{}/{}?secret={}",
        account.otp_type.as_str(),
        label,
        account.secret.to_base32()
    );
    if !issuer.is_empty() {
        out.push_str("&issuer=");
        out.push_str(&enc(issuer));
    }
    if account.otp_type != OtpType::Steam {
        out.push_str("&algorithm=");
        out.push_str(account.algorithm.as_str());
        out.push_str(&format!("&digits={}", account.digits));
    }
    match account.otp_type {
        OtpType::Hotp => out.push_str(&format!("&counter={}", account.counter)),
        OtpType::Totp | OtpType::Steam => out.push_str(&format!("&period={}", account.period)),
    }
    out
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

fn decode_label(raw: &str) -> Result<String> {
    percent::decode_field(raw, Plus::Literal, Field::Label)
}

/// Splits `issuer:name`. When the `issuer` parameter is known and the label starts with it
/// followed by a colon, the split is there (so an issuer containing a colon survives).
fn split_label(label: &str, issuer_param: Option<&str>) -> (Option<String>, String) {
    if let Some(p) = issuer_param.filter(|p| !p.is_empty()) {
        if let Some(rest) = label.strip_prefix(p).and_then(|r| r.strip_prefix(':')) {
            return (Some(p.to_owned()), rest.trim().to_owned());
        }
    }
    match label.split_once(':') {
        Some((i, n)) => {
            let i = i.trim();
            let issuer = if i.is_empty() {
                None
            } else {
                Some(i.to_owned())
            };
            (issuer, n.trim().to_owned())
        }
        None => (None, label.trim().to_owned()),
    }
}

fn parse_number<T: std::str::FromStr>(field: Field, text: &str) -> Result<T> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            field,
            format!(
                "`{}` is not a non-negative integer",
                truncate_for_message(t)
            ),
        ));
    }
    t.parse::<T>()
        .map_err(|_| Error::invalid(field, format!("`{}` is too large", truncate_for_message(t))))
}

const KNOWN: &[&str] = &[
    "secret",
    "issuer",
    "algorithm",
    "digits",
    "period",
    "counter",
    "encoder",
];

/// The query parameters: known ones by name (lower-cased), unknown names kept for the warning.
struct Params {
    known: Vec<(&'static str, String)>,
    unknown: Vec<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Params> {
        let mut known: Vec<(&'static str, String)> = Vec::new();
        let mut unknown = Vec::new();
        let pairs = percent::query_pairs(query, Plus::Space, |name| {
            field_of(&name.to_ascii_lowercase())
        })?;
        for (k, v) in pairs {
            let key = k.to_ascii_lowercase();
            match KNOWN.iter().find(|n| **n == key) {
                Some(name) => {
                    if known.iter().any(|(n, _)| n == name) {
                        return Err(Error::DuplicateParameter((*name).to_owned()));
                    }
                    known.push((name, v));
                }
                None => {
                    let shown = truncate_for_message(&key);
                    if !unknown.contains(&shown) {
                        unknown.push(shown);
                    }
                }
            }
        }
        Ok(Params { known, unknown })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.known
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn unknown(&self) -> Vec<String> {
        self.unknown.clone()
    }
}

/// The field a known parameter's value is reported as when it cannot be decoded.
fn field_of(name: &str) -> Option<Field> {
    match name {
        "secret" => Some(Field::Secret),
        "issuer" => Some(Field::Issuer),
        "algorithm" => Some(Field::Algorithm),
        "digits" => Some(Field::Digits),
        "period" => Some(Field::Period),
        "counter" => Some(Field::Counter),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    /// `Warning::samples` has each variant once. A new variant fails to compile here until it
    /// is added to the match, and then this test until it has a sample (and so a code in the
    /// UI's list).
    #[test]
    fn warning_samples_cover_every_variant() {
        let mut seen = [false; 4];
        for w in Warning::samples() {
            let i = match w {
                Warning::IssuerMismatch { .. } => 0,
                Warning::WeakSecret { .. } => 1,
                Warning::IgnoredParameters(_) => 2,
                Warning::MissingCounter => 3,
            };
            assert!(!seen[i], "{w:?} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    #[test]
    fn parse_warnings_carry_their_codes() {
        use crate::notice::Coded;
        let p = parse_with_warnings(
            "otpauth://hotp/Old:bob?secret=JBSWY3DPEHPK3PXP&issuer=New&image=x",
        )
        .unwrap();
        let codes: Vec<_> = p.warnings.iter().map(Coded::code).collect();
        assert_eq!(
            codes,
            [
                "issuer_mismatch",
                "weak_secret",
                "missing_counter",
                "ignored_parameters"
            ]
        );
        assert_eq!(p.warnings[1].params()["bits"], 80);
        assert_eq!(
            p.warnings[3].params()["names"],
            serde_json::json!(["image"])
        );
        assert_eq!(p.warnings[0].params()["parameter"], "New");
    }
    use super::*;

    const S: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn google_example() {
        let p = parse_with_warnings(
            "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
        )
        .unwrap();
        assert_eq!(p.account.issuer, "Example");
        assert_eq!(p.account.name, "alice@google.com");
        assert_eq!(p.account.digits, 6);
        assert_eq!(p.account.period, 30);
        assert_eq!(p.warnings, vec![Warning::WeakSecret { bits: 80 }]);
    }

    #[test]
    fn colons_in_issuer_and_name_round_trip() {
        // Found by the emit → parse property test: issuer ":" and name ":".
        for (issuer, name) in [
            (":", ":"),
            (":", ""),
            ("a:b", "c"),
            ("a:b", "c:d"),
            ("", "x:y"),
            ("i", ":"),
        ] {
            let mut a = Account::totp(issuer, name, Secret::from_bytes(vec![7; 20]).unwrap());
            a.period = 30;
            let back = parse(&to_uri(&a)).unwrap();
            assert_eq!(
                (back.issuer.as_str(), back.name.as_str()),
                (issuer, name),
                "{}",
                to_uri(&a)
            );
        }
    }

    #[test]
    fn label_forms() {
        let a = parse(&format!(
            "otpauth://totp/ACME%20Co%3A%20john.doe%2Btag@email.com?secret={S}"
        ))
        .unwrap();
        assert_eq!(a.issuer, "ACME Co");
        assert_eq!(a.name, "john.doe+tag@email.com");
        let a = parse(&format!(
            "otpauth://totp/a+b@x.org?secret={S}&issuer=Big+Corp"
        ))
        .unwrap();
        assert_eq!(a.name, "a+b@x.org");
        assert_eq!(a.issuer, "Big Corp");
    }

    #[test]
    fn issuer_parameter_wins() {
        let p =
            parse_with_warnings(&format!("otpauth://totp/Old:bob?secret={S}&issuer=New")).unwrap();
        assert_eq!(p.account.issuer, "New");
        assert!(matches!(
            p.warnings.first(),
            Some(Warning::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn errors_name_the_field() {
        let cases: &[(&str, Option<Field>)] = &[
            ("http://totp/x?secret=JBSWY3DP", Some(Field::Scheme)),
            ("otpauth://motp/x?secret=JBSWY3DP", Some(Field::Type)),
            ("otpauth://totp/x?secret=", Some(Field::Secret)),
            ("otpauth://totp/x", Some(Field::Secret)),
            ("otpauth://totp/x?secret=01!!", Some(Field::Secret)),
            (
                "otpauth://totp/x?secret=JBSWY3DP&digits=0",
                Some(Field::Digits),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DP&digits=-6",
                Some(Field::Digits),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DP&digits=99999999999",
                Some(Field::Digits),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DP&period=0",
                Some(Field::Period),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DP&period=-30",
                Some(Field::Period),
            ),
            (
                "otpauth://hotp/x?secret=JBSWY3DP&counter=-1",
                Some(Field::Counter),
            ),
            (
                "otpauth://hotp/x?secret=JBSWY3DP&counter=18446744073709551616",
                Some(Field::Counter),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DP&algorithm=MD5",
                Some(Field::Algorithm),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DP&secret=JBSWY3DP",
                Some(Field::Parameter),
            ),
            ("otpauth://totp/?secret=JBSWY3DP", Some(Field::Label)),
        ];
        for (uri, field) in cases {
            let err = parse(uri).unwrap_err();
            assert_eq!(err.field(), *field, "{uri}: {err}");
        }
        let big = format!("otpauth://totp/x?secret={S}&pad={}", "a".repeat(5000));
        assert!(matches!(parse(&big), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn bad_percent_encoding_is_refused_naming_the_field() {
        // Issue 10: `%G1` used to be kept as the literal text `%G1`.
        let cases: &[(&str, Field, &str)] = &[
            ("otpauth://\ttotp/X:a?secret=JBSWY3DP", Field::Type, "type"),
            ("otpauth://totp%0A/X:a?secret=JBSWY3DP", Field::Type, "type"),
            (
                "otpauth://totp/X%G1:a?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            ("otpauth://totp/X:a%?secret=JBSWY3DP", Field::Label, "label"),
            (
                "otpauth://totp/X:a%4?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%00?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%0Ab?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%0D?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%09b?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%7F?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%C2%9B?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%FF?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a%C3?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a\nb?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a\u{1b}[31m?secret=JBSWY3DP",
                Field::Label,
                "label",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&issuer=%G1",
                Field::Issuer,
                "issuer",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&issuer=X%0D%0A",
                Field::Issuer,
                "issuer",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&issuer=X%00",
                Field::Issuer,
                "issuer",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&issuer=X%E9",
                Field::Issuer,
                "issuer",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&issuer=X\rY",
                Field::Issuer,
                "issuer",
            ),
            (
                "otpauth://totp/X:a?secret=JBSW%ZZY3DP",
                Field::Secret,
                "secret",
            ),
            (
                "otpauth://totp/X:a?secret=%00JBSWY3DP",
                Field::Secret,
                "secret",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP%09",
                Field::Secret,
                "secret",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&algorithm=SHA1%0A",
                Field::Algorithm,
                "algorithm",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&digits=6%00",
                Field::Digits,
                "digits",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&period=3%G0",
                Field::Period,
                "period",
            ),
            (
                "otpauth://hotp/X:a?secret=JBSWY3DP&counter=%1",
                Field::Counter,
                "counter",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&encoder=%G1",
                Field::Parameter,
                "`encoder`",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&image=%G1",
                Field::Parameter,
                "`image`",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&se%ZZ=1",
                Field::Parameter,
                "name",
            ),
            (
                "otpauth://totp/X:a?secret=JBSWY3DP&%0A=1",
                Field::Parameter,
                "name",
            ),
        ];
        for (uri, field, says) in cases {
            let Err(err) = parse(uri) else {
                panic!("{uri:?} was accepted")
            };
            assert_eq!(err.field(), Some(*field), "{uri:?}: {err}");
            let message = err.to_string();
            assert!(
                message.contains(says),
                "{uri:?}: `{message}` should name {says}"
            );
            assert!(
                !message.contains("JBSW"),
                "no part of a secret in `{message}`"
            );
        }
    }

    #[test]
    fn good_percent_encoding_still_decodes() {
        let a = parse(&format!("otpauth://totp/%c3%a9%25%2B+Co%3Ay?secret={S}")).unwrap();
        assert_eq!(
            (a.issuer.as_str(), a.name.as_str()),
            ("é%++Co", "y"),
            "label: lower-case hex is fine and `+` stays a plus"
        );
        let a = parse(&format!(
            "otpauth://totp/y?secret={S}&issuer=%C3%A9%25%2B+Co"
        ))
        .unwrap();
        assert_eq!(
            a.issuer, "é%+ Co",
            "query value: `+` is a space, `%2B` a plus"
        );
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let p = parse_with_warnings(&format!(
            "otpauth://totp/x?secret={S}&image=http%3A%2F%2Fevil.example%2Fa.png&color=red"
        ))
        .unwrap();
        assert_eq!(
            p.warnings,
            vec![Warning::IgnoredParameters(vec![
                "image".into(),
                "color".into()
            ])]
        );
    }

    #[test]
    fn steam_and_hotp() {
        let a = parse(&format!("otpauth://steam/Steam:gabe?secret={S}")).unwrap();
        assert_eq!((a.otp_type, a.digits), (OtpType::Steam, 5));
        let a = parse(&format!(
            "otpauth://totp/Steam:gabe?secret={S}&encoder=steam"
        ))
        .unwrap();
        assert_eq!(a.otp_type, OtpType::Steam);
        let p = parse_with_warnings(&format!("otpauth://hotp/x?secret={S}")).unwrap();
        assert!(p.warnings.contains(&Warning::MissingCounter));
        let a = parse(&format!(
            "otpauth://HOTP/x?SECRET={S}&Counter=18446744073709551615"
        ))
        .unwrap();
        assert_eq!(a.counter, u64::MAX);
    }

    #[test]
    fn emit_round_trip_awkward_labels() {
        let s = Secret::from_base32(S).unwrap();
        for (issuer, name) in [
            ("a:b", "c"),
            ("", "x:y"),
            ("Big Corp", "alice+tag@example.com"),
            ("é&=?#", "名前 / ok"),
            ("a:b", ""),
            ("iss", ""),
        ] {
            let a = Account::totp(issuer, name, s.clone());
            let back = parse(&to_uri(&a)).unwrap();
            assert_eq!((back.issuer.as_str(), back.name.as_str()), (issuer, name));
        }
    }
}
