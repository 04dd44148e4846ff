//! Google Authenticator export: `otpauth-migration://` URIs as QR codes (PNG) and a printable
//! HTML page that embeds them (no network, no script). Google's format carries TOTP with a
//! 30-second period and HOTP, 6 or 8 digits; other accounts are listed in `skipped`.

use std::fmt::Write as _;

use qrcode::{EcLevel, QrCode};

use crate::account::Account;
use crate::import::{InteropError, Result, Skipped};

/// The QR codes of a Google export.
#[derive(Debug, Clone)]
pub struct GoogleExport {
    /// One `otpauth-migration://` URI per QR code.
    pub uris: Vec<String>,
    /// The QR codes as PNG images, in order.
    pub pngs: Vec<Vec<u8>>,
    /// The display names of each code's accounts.
    pub names: Vec<Vec<String>>,
    /// Accounts Google's format cannot carry.
    pub skipped: Vec<Skipped>,
}

/// Builds the export: every account Google can carry, in batches that fit one QR code each.
pub fn export(accounts: &[Account]) -> Result<GoogleExport> {
    let mut carried = Vec::new();
    let mut skipped = Vec::new();
    for a in accounts {
        match crate::migration::exportable(a) {
            Ok(()) => carried.push(a.clone()),
            Err(reason) => skipped.push(Skipped {
                name: a.display_name(),
                reason,
            }),
        }
    }
    let uris = if carried.is_empty() {
        Vec::new()
    } else {
        crate::migration::encode(&carried)?
    };
    let mut pngs = Vec::with_capacity(uris.len());
    let mut names = Vec::with_capacity(uris.len());
    for uri in &uris {
        pngs.push(qr_png(uri)?);
        names.push(
            crate::migration::decode(uri)?
                .iter()
                .map(Account::display_name)
                .collect(),
        );
    }
    Ok(GoogleExport {
        uris,
        pngs,
        names,
        skipped,
    })
}

/// A QR code of `text` as a greyscale PNG with a quiet zone.
pub fn qr_png(text: &str) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| InteropError::Crypto("QR encoding: data too long"))?;
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(360, 360)
        .build();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|_| InteropError::Crypto("PNG encoding"))?;
    Ok(png)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl GoogleExport {
    /// A printable, self-contained HTML page: each QR code inline as a PNG data URI, with the
    /// accounts it carries, one code per printed page.
    pub fn html(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let total = self.pngs.len();
        let mut out = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>Tessera — Google Authenticator export</title>\n<style>\n\
             body{font-family:sans-serif;margin:2em}\n\
             figure{page-break-after:always;break-after:page;text-align:center;margin:0 0 3em}\n\
             img{width:90mm;height:90mm;image-rendering:pixelated}\n\
             .warn{border:2px solid #b00;padding:.5em 1em}\n</style>\n</head>\n<body>\n\
             <h1>Google Authenticator export</h1>\n\
             <p class=\"warn\">These codes contain your secrets. Scan them with Google \
             Authenticator (Transfer accounts → Import accounts), then destroy this page.</p>\n",
        );
        for (i, png) in self.pngs.iter().enumerate() {
            let names = self.names.get(i).map(Vec::as_slice).unwrap_or_default();
            let _ = write!(
                out,
                "<figure>\n<img src=\"data:image/png;base64,{}\" alt=\"QR code {} of {}\">\n\
                 <figcaption>Code {} of {}: {}</figcaption>\n</figure>\n",
                b64.encode(png),
                i + 1,
                total,
                i + 1,
                total,
                escape(&names.join(", "))
            );
        }
        if !self.skipped.is_empty() {
            out.push_str("<h2>Not included</h2>\n<ul>\n");
            for s in &self.skipped {
                let _ = writeln!(
                    out,
                    "<li>{}: {}</li>",
                    escape(&s.name),
                    escape(&s.reason.to_string())
                );
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}
