//! Strict percent-decoding: the one decoder for every URI and link Tessera reads
//! (`otpauth://` Key URIs, `otpauth-migration://` exports, `tessera://` enrollment and
//! QR-login links, Ente's `codeDisplay` parameter).
//!
//! RFC 3986 §2.1 defines a percent-escape as `%` followed by two hex digits (either case).
//! Lenient decoders, the `percent-encoding` crate's included, pass anything else through as
//! text, so `issuer=%G1` used to become the issuer `%G1`. Here these are errors:
//! - a `%` not followed by two hex digits (`%G1`, `%4`, a trailing `%`);
//! - a control character after decoding, whether it was escaped (`%00`, `%0D%0A`) or raw:
//!   C0 (U+0000–U+001F, TAB, CR and LF included), DEL (U+007F) and C1 (U+0080–U+009F).
//!   C1 is refused deliberately: no issuer, account name or link parameter needs it, and
//!   U+009B is a terminal's CSI, which would let a scanned code restyle `tessera list`. This
//!   is exactly [`char::is_control`], the rule [`crate::Account::validate`] applies to names.
//! - bytes that are not UTF-8 after decoding (`%FF`, a lone `%C3`).
//!
//! Errors say what is wrong but never echo the text: the component may be a secret.

use std::fmt;

use crate::error::{Error, Field, Result};

/// What a literal `+` means in the component being decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plus {
    /// `+` is a plus (a URI path, a `tessera://` link value, base64 data).
    Literal,
    /// `+` is a space (`application/x-www-form-urlencoded` query values).
    Space,
}

/// Why a component could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A control character (C0, DEL or C1), escaped or raw.
    Control(char),
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl fmt::Display for Problem {
    /// A noun phrase, so that callers can write "`issuer` contains {problem}".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BadEscape => f.write_str("a `%` not followed by two hex digits"),
            Problem::Control('\0') => f.write_str("a NUL character (%00)"),
            Problem::Control(c) => write!(f, "the control character U+{:04X}", u32::from(*c)),
            Problem::NotUtf8 => f.write_str("bytes that are not UTF-8 after percent-decoding"),
        }
    }
}

/// Decodes one URI component strictly (see the module docs for what is refused).
pub fn decode(raw: &str, plus: Plus) -> std::result::Result<String, Problem> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(Problem::BadEscape);
                };
                out.push((hi << 4) | lo);
                i += 3;
            }
            b'+' if plus == Plus::Space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(out).map_err(|_| Problem::NotUtf8)?;
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(Problem::Control(c)),
        None => Ok(text),
    }
}

/// Decodes the component that holds `field`; the error names the field.
pub fn decode_field(raw: &str, plus: Plus, field: Field) -> Result<String> {
    decode(raw, plus).map_err(|p| Error::invalid(field, format!("contains {p}")))
}

/// The `name=value` pairs of a query string, each name and value decoded strictly. Empty
/// pairs (`a=1&&b=2`) are skipped; a pair without `=` has an empty value.
///
/// A value that fails to decode is reported against `field_of(name)` when that names a
/// field (`issuer` → [`Field::Issuer`]), and otherwise as [`Field::Parameter`] with the
/// parameter's name in the reason. Names are reported as they were decoded, so a caller
/// that matches names case-insensitively lower-cases in `field_of`.
pub fn query_pairs(
    query: &str,
    plus: Plus,
    field_of: impl Fn(&str) -> Option<Field>,
) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name, plus).map_err(|p| {
            Error::invalid(Field::Parameter, format!("a parameter name contains {p}"))
        })?;
        let value = decode(raw_value, plus).map_err(|p| match field_of(&name) {
            Some(field) => Error::invalid(field, format!("contains {p}")),
            None => Error::invalid(
                Field::Parameter,
                format!("`{}` contains {p}", crate::otp::truncate_for_message(&name)),
            ),
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_in_either_case_and_plus_as_asked() {
        assert_eq!(decode("a%2Bb+c%c3%A9", Plus::Literal).unwrap(), "a+b+cé");
        assert_eq!(decode("a%2Bb+c%c3%A9", Plus::Space).unwrap(), "a+b cé");
        assert_eq!(decode("", Plus::Space).unwrap(), "");
        assert_eq!(decode("100%25", Plus::Space).unwrap(), "100%");
    }

    #[test]
    fn refuses_bad_escapes_controls_and_bad_utf8() {
        for raw in ["%", "%4", "a%G1", "%%41", "%+1", "%-1", "%é1"] {
            assert_eq!(decode(raw, Plus::Space), Err(Problem::BadEscape), "{raw}");
        }
        for (raw, c) in [
            ("%00", '\0'),
            ("a%0Db", '\r'),
            ("%0A", '\n'),
            ("\t", '\t'),
            ("a\nb", '\n'),
            ("%1B[31m", '\u{1b}'),
            ("%7F", '\u{7f}'),
            ("%C2%80", '\u{80}'),
            ("%C2%9B", '\u{9b}'),
            ("\u{85}", '\u{85}'),
        ] {
            assert_eq!(
                decode(raw, Plus::Literal),
                Err(Problem::Control(c)),
                "{raw}"
            );
        }
        // Just past C1: NBSP is text.
        assert_eq!(decode("%C2%A0", Plus::Literal).unwrap(), "\u{a0}");
        for raw in ["%FF", "%C3", "%C3%28", "%ED%A0%80", "%C0%AF"] {
            assert_eq!(decode(raw, Plus::Literal), Err(Problem::NotUtf8), "{raw}");
        }
    }

    #[test]
    fn query_errors_name_the_parameter_or_its_field() {
        let field_of = |n: &str| (n == "issuer").then_some(Field::Issuer);
        let pairs = query_pairs("a=1&&b&c=x+y", Plus::Space, field_of).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), String::new()),
                ("c".into(), "x y".into())
            ]
        );
        let err = query_pairs("issuer=%G1", Plus::Space, field_of).unwrap_err();
        assert_eq!(err.field(), Some(Field::Issuer));
        assert_eq!(
            err.to_string(),
            "invalid issuer: contains a `%` not followed by two hex digits"
        );
        let err = query_pairs("image=%0A", Plus::Space, field_of).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameter: `image` contains the control character U+000A"
        );
        let err = query_pairs("im%ZZ=1", Plus::Space, field_of).unwrap_err();
        assert_eq!(err.field(), Some(Field::Parameter));
        assert!(err.to_string().contains("parameter name"), "{err}");
    }
}
