//! The TOTP factor (IBM-7): secrets, the secret-URL template, QR codes and one-time-use checks.

use std::io::Cursor;

use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qrcode::QrCode;
use tessera_core::otp::{hotp, time_step};
use tessera_core::Algorithm;
use zeroize::Zeroizing;

use crate::crypto::{ct_eq, random_vec};
use crate::error::{Error, Result};

/// A fresh secret as long as the HMAC output (20, 32 or 64 bytes: ≥ 160 bits), from the CSPRNG.
pub fn new_secret(algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
    random_vec(algorithm.output_len())
}

/// Characters escaped in the label: everything but RFC 3986 unreserved characters and `@`
/// (allowed in a path segment, and common in user names).
const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Fills the secret-URL template. The user name is percent-encoded; the secret is base32.
pub fn build_uri(
    template: &str,
    user_name: &str,
    secret_base32: &str,
    algorithm: Algorithm,
    digits: u8,
    period: u32,
) -> String {
    let user = utf8_percent_encode(user_name, LABEL).to_string();
    template
        .replace("@USER_NAME@", &user)
        .replace("@SECRET_KEY@", secret_base32)
        .replace("@ALGORITHM@", algorithm.as_str())
        .replace("@DIGITS@", &digits.to_string())
        .replace("@PERIOD@", &period.to_string())
}

/// The QR code of `uri` as a PNG image.
pub fn qr_png(uri: &str) -> Result<Vec<u8>> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(4, 4)
        .build();
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| Error::Internal(format!("png: {e}")))?;
    Ok(out.into_inner())
}

/// The QR code of `uri` as an SVG document.
pub fn qr_svg(uri: &str) -> Result<String> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// `data:image/png;base64,…` for embedding.
pub fn png_data_url(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// Parameters of one check.
#[derive(Debug, Clone, Copy)]
pub struct CheckParams {
    /// Unix seconds now.
    pub now: u64,
    /// The enrollment's period.
    pub period: u32,
    /// The enrollment's digits.
    pub digits: u8,
    /// The enrollment's algorithm.
    pub algorithm: Algorithm,
    /// Steps accepted on either side.
    pub skew: u32,
    /// With one-time use: the last accepted step; only later steps are accepted.
    pub after: Option<u64>,
}

/// Returns the time step `code` matches within the skew window, refusing steps at or before
/// `after`. Every candidate is computed and compared in constant time, without an early exit.
pub fn match_step(secret: &[u8], code: &str, p: CheckParams) -> Result<Option<u64>> {
    let code = code.trim();
    if code.len() != usize::from(p.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let step = time_step(p.now, p.period)?;
    let lo = step.saturating_sub(u64::from(p.skew));
    let hi = step.saturating_add(u64::from(p.skew));
    let mut found = None;
    for candidate in lo..=hi {
        let expected = Zeroizing::new(hotp(secret, candidate, p.digits, p.algorithm)?);
        let fresh = p.after.is_none_or(|last| candidate > last);
        if ct_eq(expected.as_bytes(), code.as_bytes()) && fresh && found.is_none() {
            found = Some(candidate);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_one_time_use() {
        let secret = b"12345678901234567890";
        let p = |now, after| CheckParams {
            now,
            period: 30,
            digits: 8,
            algorithm: Algorithm::Sha1,
            skew: 1,
            after,
        };
        // RFC 6238 vector: T=59 → 94287082 (step 1).
        assert_eq!(
            match_step(secret, "94287082", p(59, None)).unwrap(),
            Some(1)
        );
        assert_eq!(
            match_step(secret, "94287082", p(89, None)).unwrap(),
            Some(1),
            "step−1 ok"
        );
        assert_eq!(
            match_step(secret, "94287082", p(119, None)).unwrap(),
            None,
            "step−2 refused"
        );
        assert_eq!(
            match_step(secret, "94287082", p(59, Some(1))).unwrap(),
            None,
            "used"
        );
        assert_eq!(
            match_step(secret, "9428708", p(59, None)).unwrap(),
            None,
            "length"
        );
    }

    #[test]
    fn template_is_filled() {
        let uri = build_uri(
            crate::config::DEFAULT_URI_TEMPLATE,
            "a b@x",
            "ABC",
            Algorithm::Sha256,
            8,
            60,
        );
        assert_eq!(
            uri,
            "otpauth://totp/Tessera:a%20b@x?secret=ABC&issuer=Tessera&algorithm=SHA256&digits=8&period=60"
        );
    }
}
