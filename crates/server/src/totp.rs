//! The TOTP factor (IBM-7): secrets, the secret-URL template and QR codes. The window check
//! with one-time use is `tessera_core::otp::verify_totp`, the project's only one.

use std::io::Cursor;

use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qrcode::QrCode;
use tessera_core::Algorithm;
use zeroize::Zeroizing;

use crate::crypto::random_vec;
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

#[cfg(test)]
mod tests {
    use super::*;

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
