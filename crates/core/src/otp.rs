//! HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard codes.
//!
//! Time is always a parameter. Codes are computed with ring's HMAC.
//!
//! # Digits and 31-bit truncation
//! RFC 4226's dynamic truncation yields a 31-bit number (at most 2,147,483,647, ten decimal
//! digits). A code of `d` digits is that number modulo 10^d, zero-padded. For 6–9 digits every
//! digit varies; at 10 the leading digit is only ever 0, 1 or 2; at 11 and 12 digits (allowed
//! for server policies, IBM-7) the code is the whole 31-bit number with one or two leading
//! zeros, so it carries no more than 31 bits however long it looks.

use std::fmt;
use std::str::FromStr;

use ring::hmac;
use subtle::ConstantTimeEq;

use crate::error::{Error, Field, Result};

/// Fewest digits a code may have (Steam Guard's 5-character codes are separate).
pub const MIN_DIGITS: u8 = 6;
/// Most digits of a code shown to a user in the app.
pub const MAX_USER_DIGITS: u8 = 10;
/// Most digits the engine computes (server policy, IBM-7).
pub const MAX_DIGITS: u8 = 12;
/// Longest TOTP period accepted, in seconds (one day).
pub const MAX_PERIOD: u32 = 86_400;
/// Steam Guard code length.
pub const STEAM_DIGITS: u8 = 5;
const STEAM_ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";

/// The HMAC hash function of an OTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// HMAC-SHA-1, RFC 4226's default and still the most common.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name otpauth URIs use: `SHA1`, `SHA256`, `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The HMAC output size in bytes (also the recommended secret size).
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Accepts `SHA1`, `sha-1`, `HmacSHA256` and the like; rejects everything else (MD5, …).
    fn from_str(s: &str) -> Result<Self> {
        let norm: String = s
            .trim()
            .to_ascii_uppercase()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect();
        match norm.strip_prefix("HMAC").unwrap_or(&norm) {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(Error::invalid(
                Field::Algorithm,
                format!(
                    "`{}` is not supported (use SHA1, SHA256 or SHA512)",
                    truncate_for_message(s)
                ),
            )),
        }
    }
}

/// Cuts user input shown in an error message to a readable length.
pub(crate) fn truncate_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(32).collect();
    if s.chars().count() > 32 {
        out.push('…');
    }
    out
}

/// Checks a digit count for the engine: 6..=12.
pub fn check_digits(digits: u8) -> Result<()> {
    if (MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        Ok(())
    } else {
        Err(Error::invalid(
            Field::Digits,
            format!("{digits} is out of range ({MIN_DIGITS}–{MAX_DIGITS})"),
        ))
    }
}

/// Checks a TOTP period: 1..=86400 seconds.
pub fn check_period(period: u32) -> Result<()> {
    if (1..=MAX_PERIOD).contains(&period) {
        Ok(())
    } else {
        Err(Error::invalid(
            Field::Period,
            format!("{period} is out of range (1–{MAX_PERIOD} seconds)"),
        ))
    }
}

/// The 31-bit dynamically truncated HMAC of `counter` (RFC 4226 §5.3).
pub fn truncated_hmac(secret: &[u8], counter: u64, algorithm: Algorithm) -> u32 {
    let key = hmac::Key::new(algorithm.ring(), secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    // The last nibble picks an offset of at most 15; every HMAC output is ≥ 20 bytes, so
    // offset+3 ≤ 18 is always in range. `get` keeps the compiler and clippy honest anyway.
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let word = mac
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .unwrap_or([0; 4]);
    u32::from_be_bytes(word) & 0x7fff_ffff
}

fn format_decimal(value: u32, digits: u8) -> String {
    let modulus = 10u64.pow(u32::from(digits));
    let v = u64::from(value) % modulus;
    format!("{v:0width$}", width = usize::from(digits))
}

/// An HOTP code (RFC 4226) of `digits` digits (6–12).
pub fn hotp(secret: &[u8], counter: u64, digits: u8, algorithm: Algorithm) -> Result<String> {
    check_digits(digits)?;
    Ok(format_decimal(
        truncated_hmac(secret, counter, algorithm),
        digits,
    ))
}

/// The TOTP time step for `unix_secs` (RFC 6238 §4.2, T0 = 0). 64-bit, so times past 2038
/// and even past 2106 work.
pub fn time_step(unix_secs: u64, period: u32) -> Result<u64> {
    check_period(period)?;
    Ok(unix_secs / u64::from(period))
}

/// A TOTP code (RFC 6238) for the given instant.
pub fn totp(
    secret: &[u8],
    unix_secs: u64,
    period: u32,
    digits: u8,
    algorithm: Algorithm,
) -> Result<String> {
    hotp(secret, time_step(unix_secs, period)?, digits, algorithm)
}

/// A Steam Guard code: TOTP with SHA-1, a 30 s period and five characters from Steam's
/// 26-letter alphabet.
pub fn steam(secret: &[u8], unix_secs: u64, period: u32) -> Result<String> {
    let mut value = truncated_hmac(secret, time_step(unix_secs, period)?, Algorithm::Sha1);
    let mut out = String::with_capacity(usize::from(STEAM_DIGITS));
    for _ in 0..STEAM_DIGITS {
        let idx = (value % STEAM_ALPHABET.len() as u32) as usize;
        out.push(char::from(STEAM_ALPHABET.get(idx).copied().unwrap_or(b'2')));
        value /= STEAM_ALPHABET.len() as u32;
    }
    Ok(out)
}

/// Verifies a TOTP code against every time step in `[step − skew, step + skew]` without an
/// early exit and with constant-time comparison. Returns the matching time step, which a
/// caller enforcing one-time use records (and refuses steps at or before it next time).
pub fn verify_totp(
    secret: &[u8],
    code: &str,
    unix_secs: u64,
    period: u32,
    digits: u8,
    algorithm: Algorithm,
    skew: u32,
) -> Result<Option<u64>> {
    let step = time_step(unix_secs, period)?;
    check_digits(digits)?;
    let mut found: Option<u64> = None;
    let lo = step.saturating_sub(u64::from(skew));
    let hi = step.saturating_add(u64::from(skew));
    let mut candidate = lo;
    loop {
        let expected = format_decimal(truncated_hmac(secret, candidate, algorithm), digits);
        let matches: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if matches && found.is_none() {
            found = Some(candidate);
        }
        if candidate >= hi {
            break;
        }
        candidate += 1;
    }
    Ok(found)
}

/// Verifies an HOTP code against counters `counter ..= counter + look_ahead` (RFC 4226 §7.4),
/// constant-time and without early exit. Returns the matching counter.
pub fn verify_hotp(
    secret: &[u8],
    code: &str,
    counter: u64,
    look_ahead: u32,
    digits: u8,
    algorithm: Algorithm,
) -> Result<Option<u64>> {
    check_digits(digits)?;
    let mut found = None;
    let hi = counter.saturating_add(u64::from(look_ahead));
    let mut candidate = counter;
    loop {
        let expected = format_decimal(truncated_hmac(secret, candidate, algorithm), digits);
        let matches: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if matches && found.is_none() {
            found = Some(candidate);
        }
        if candidate >= hi {
            break;
        }
        candidate += 1;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED20: &[u8] = b"12345678901234567890";
    const SEED32: &[u8] = b"12345678901234567890123456789012";
    const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(
                hotp(SEED20, counter as u64, 6, Algorithm::Sha1).unwrap(),
                *want,
                "counter {counter}"
            );
        }
        // Appendix D's intermediate truncated values.
        assert_eq!(truncated_hmac(SEED20, 0, Algorithm::Sha1), 1_284_755_224);
        assert_eq!(truncated_hmac(SEED20, 1, Algorithm::Sha1), 1_094_287_082);
    }

    #[test]
    fn rfc6238_appendix_b() {
        let table: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in table {
            assert_eq!(
                totp(SEED20, t, 30, 8, Algorithm::Sha1).unwrap(),
                sha1,
                "SHA1 @{t}"
            );
            assert_eq!(
                totp(SEED32, t, 30, 8, Algorithm::Sha256).unwrap(),
                sha256,
                "SHA256 @{t}"
            );
            assert_eq!(
                totp(SEED64, t, 30, 8, Algorithm::Sha512).unwrap(),
                sha512,
                "SHA512 @{t}"
            );
        }
    }

    #[test]
    fn twelve_digits_is_the_zero_padded_31_bit_value() {
        let v = truncated_hmac(SEED20, 0, Algorithm::Sha1);
        assert_eq!(
            hotp(SEED20, 0, 12, Algorithm::Sha1).unwrap(),
            format!("{v:012}")
        );
        assert!(hotp(SEED20, 0, 12, Algorithm::Sha1)
            .unwrap()
            .starts_with("00"));
        assert!(hotp(SEED20, 0, 13, Algorithm::Sha1).is_err());
        assert!(hotp(SEED20, 0, 5, Algorithm::Sha1).is_err());
    }

    #[test]
    fn period_bounds_and_far_future() {
        assert!(totp(SEED20, 59, 0, 6, Algorithm::Sha1).is_err());
        assert!(totp(SEED20, 59, MAX_PERIOD + 1, 6, Algorithm::Sha1).is_err());
        assert!(totp(SEED20, 59, 1, 6, Algorithm::Sha1).is_ok());
        // Past 2106 (u32 seconds overflow) still yields a code.
        assert_eq!(
            totp(SEED20, u64::MAX, 30, 6, Algorithm::Sha1)
                .unwrap()
                .len(),
            6
        );
    }

    #[test]
    fn steam_codes_use_the_steam_alphabet() {
        let code = steam(SEED20, 1_700_000_000, 30).unwrap();
        assert_eq!(code.len(), 5);
        assert!(code.bytes().all(|b| STEAM_ALPHABET.contains(&b)), "{code}");
        // Known value: HMAC-SHA1 over step 0 of the RFC seed gives 1284755224.
        let mut v = 1_284_755_224u32;
        let mut want = String::new();
        for _ in 0..5 {
            want.push(char::from(STEAM_ALPHABET[(v % 26) as usize]));
            v /= 26;
        }
        assert_eq!(steam(SEED20, 29, 30).unwrap(), want);
    }

    #[test]
    fn verify_window_edges() {
        let t = 1_111_111_111u64; // step 37037037
        let prev = totp(SEED20, t - 30, 30, 6, Algorithm::Sha1).unwrap();
        let prev2 = totp(SEED20, t - 60, 30, 6, Algorithm::Sha1).unwrap();
        let next = totp(SEED20, t + 30, 30, 6, Algorithm::Sha1).unwrap();
        assert_eq!(
            verify_totp(SEED20, &prev, t, 30, 6, Algorithm::Sha1, 1).unwrap(),
            Some(t / 30 - 1)
        );
        assert_eq!(
            verify_totp(SEED20, &next, t, 30, 6, Algorithm::Sha1, 1).unwrap(),
            Some(t / 30 + 1)
        );
        assert_eq!(
            verify_totp(SEED20, &prev2, t, 30, 6, Algorithm::Sha1, 1).unwrap(),
            None
        );
        assert_eq!(
            verify_totp(SEED20, &prev, t, 30, 6, Algorithm::Sha1, 0).unwrap(),
            None
        );
        // Time step 0 with skew never underflows.
        let c0 = totp(SEED20, 0, 30, 6, Algorithm::Sha1).unwrap();
        assert_eq!(
            verify_totp(SEED20, &c0, 0, 30, 6, Algorithm::Sha1, 2).unwrap(),
            Some(0)
        );
        // Codes of the wrong length never match.
        assert_eq!(
            verify_totp(SEED20, "1234", t, 30, 6, Algorithm::Sha1, 1).unwrap(),
            None
        );
    }

    #[test]
    fn verify_hotp_look_ahead() {
        let c5 = hotp(SEED20, 5, 6, Algorithm::Sha1).unwrap();
        assert_eq!(
            verify_hotp(SEED20, &c5, 3, 2, 6, Algorithm::Sha1).unwrap(),
            Some(5)
        );
        assert_eq!(
            verify_hotp(SEED20, &c5, 3, 1, 6, Algorithm::Sha1).unwrap(),
            None
        );
        let top = hotp(SEED20, u64::MAX, 6, Algorithm::Sha1).unwrap();
        assert_eq!(
            verify_hotp(SEED20, &top, u64::MAX, 10, 6, Algorithm::Sha1).unwrap(),
            Some(u64::MAX)
        );
    }

    #[test]
    fn algorithm_names() {
        for (s, a) in [
            ("SHA1", Algorithm::Sha1),
            ("sha-256", Algorithm::Sha256),
            ("HmacSHA512", Algorithm::Sha512),
        ] {
            assert_eq!(s.parse::<Algorithm>().unwrap(), a);
        }
        let err = "MD5".parse::<Algorithm>().unwrap_err();
        assert_eq!(err.field(), Some(Field::Algorithm));
    }
}
