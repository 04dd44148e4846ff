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
///
/// Codes of 6–8 digits (every authenticator app's range, RFC 4226's "6 to 8") come from the
/// `totp-rs` crate; 9–12 digits, which it does not serve, from our HOTP over the time step.
/// Both truncate to 31 bits and reduce modulo 10^digits, so they agree where they overlap (a
/// test checks that over random parameters). See docs/decisions/0001-totp-rs.md.
pub fn totp(
    secret: &[u8],
    unix_secs: u64,
    period: u32,
    digits: u8,
    algorithm: Algorithm,
) -> Result<String> {
    let step = time_step(unix_secs, period)?;
    check_digits(digits)?;
    if digits > TOTP_RS_MAX_DIGITS {
        return hotp(secret, step, digits, algorithm);
    }
    let algorithm = match algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    };
    Ok(totp_rs_code(algorithm, digits, period, secret, unix_secs))
}

/// The most digits we let `totp-rs` compute (its own checked range is 6–8).
const TOTP_RS_MAX_DIGITS: u8 = 8;

/// One code from `totp-rs`. Its unchecked constructor is used because our callers have
/// already validated the parameters, and because it would refuse the short (< 128-bit) secrets
/// that real services still issue and that we accept with a warning. Its copy of the secret is
/// wiped on drop (`zeroize` feature).
fn totp_rs_code(
    algorithm: totp_rs::Algorithm,
    digits: u8,
    period: u32,
    secret: &[u8],
    unix_secs: u64,
) -> String {
    totp_rs::TOTP::new_unchecked(
        algorithm,
        usize::from(digits),
        0,
        u64::from(period),
        secret.to_vec(),
        None,
        String::new(),
    )
    .generate(unix_secs)
}

/// A Steam Guard code: TOTP with SHA-1 and five characters from Steam's 26-letter alphabet,
/// from `totp-rs`'s Steam algorithm.
pub fn steam(secret: &[u8], unix_secs: u64, period: u32) -> Result<String> {
    time_step(unix_secs, period)?;
    Ok(totp_rs_code(
        totp_rs::Algorithm::Steam,
        STEAM_DIGITS,
        period,
        secret,
        unix_secs,
    ))
}

/// One TOTP check: the instant, the enrollment's parameters, the accepted window and, with
/// one-time use, the last step already accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpCheck {
    /// Unix seconds now.
    pub unix_secs: u64,
    /// The enrollment's period in seconds.
    pub period: u32,
    /// The enrollment's number of digits.
    pub digits: u8,
    /// The enrollment's HMAC algorithm.
    pub algorithm: Algorithm,
    /// Steps accepted on either side of the current one (1 = the RFC 6238 §5.2 recommendation).
    pub skew: u32,
    /// With one-time use: the last accepted step; only later steps match.
    pub after: Option<u64>,
}

/// Verifies a TOTP code against every time step in `[step − skew, step + skew]` that is later
/// than `check.after`, computing and comparing each candidate in constant time without an
/// early exit. Returns the matching time step, which a caller enforcing one-time use records
/// and passes as `after` next time. A code of the wrong length or with a non-digit matches
/// nothing (that refusal depends only on the input, never on the secret).
///
/// This is the one TOTP window check of the project: the server's validation uses it.
pub fn verify_totp(secret: &[u8], code: &str, check: &TotpCheck) -> Result<Option<u64>> {
    let step = time_step(check.unix_secs, check.period)?;
    check_digits(check.digits)?;
    if code.len() != usize::from(check.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let mut found: Option<u64> = None;
    let lo = step.saturating_sub(u64::from(check.skew));
    let hi = step.saturating_add(u64::from(check.skew));
    let mut candidate = lo;
    loop {
        let expected = zeroize::Zeroizing::new(format_decimal(
            truncated_hmac(secret, candidate, check.algorithm),
            check.digits,
        ));
        let matches: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        let fresh = check.after.is_none_or(|last| candidate > last);
        if matches && fresh && found.is_none() {
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
    /// Steam's alphabet, written out here to check `totp-rs`'s Steam codes independently.
    const STEAM_ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";
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
        let at = |unix_secs, skew, after| TotpCheck {
            unix_secs,
            period: 30,
            digits: 6,
            algorithm: Algorithm::Sha1,
            skew,
            after,
        };
        let prev = totp(SEED20, t - 30, 30, 6, Algorithm::Sha1).unwrap();
        let prev2 = totp(SEED20, t - 60, 30, 6, Algorithm::Sha1).unwrap();
        let next = totp(SEED20, t + 30, 30, 6, Algorithm::Sha1).unwrap();
        let v = |code: &str, check| verify_totp(SEED20, code, &check).unwrap();
        assert_eq!(
            v(&prev, at(t, 1, None)),
            Some(t / 30 - 1),
            "step−1 accepted"
        );
        assert_eq!(
            v(&next, at(t, 1, None)),
            Some(t / 30 + 1),
            "step+1 accepted"
        );
        assert_eq!(v(&prev2, at(t, 1, None)), None, "step−2 refused");
        assert_eq!(v(&prev, at(t, 0, None)), None, "no skew: only the step");
        // Time step 0 with skew never underflows.
        let c0 = totp(SEED20, 0, 30, 6, Algorithm::Sha1).unwrap();
        assert_eq!(v(&c0, at(0, 2, None)), Some(0));
        // Codes of the wrong length or with non-digits never match.
        assert_eq!(v("1234", at(t, 1, None)), None);
        let mut padded = prev.clone();
        padded.push(' ');
        assert_eq!(v(&padded, at(t, 1, None)), None);
        // One-time use: a step at or before `after` is refused, a later one accepted.
        assert_eq!(v(&prev, at(t, 1, Some(t / 30 - 1))), None, "used step");
        assert_eq!(v(&next, at(t, 1, Some(t / 30 - 1))), Some(t / 30 + 1));
        assert_eq!(v(&next, at(t, 1, Some(t / 30 + 1))), None, "used step");
        // RFC 6238 Appendix B, 8 digits: T=59 → 94287082 (step 1), also accepted at T=89.
        let rfc = |unix_secs, after| TotpCheck {
            digits: 8,
            ..at(unix_secs, 1, after)
        };
        assert_eq!(v("94287082", rfc(59, None)), Some(1));
        assert_eq!(v("94287082", rfc(89, None)), Some(1), "step−1");
        assert_eq!(v("94287082", rfc(119, None)), None, "step−2");
        assert_eq!(v("94287082", rfc(59, Some(1))), None, "used");
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
