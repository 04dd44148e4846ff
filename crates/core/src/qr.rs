//! Finding and reading QR codes in images, and telling what they carry.
//!
//! Shared by the CLI (`tessera scan`) and the desktop app (screen, file and clipboard scans).
//! Decoding is rqrr on a greyscale image; nothing here touches the screen or the disk.

use image::GrayImage;

use crate::account::Account;
use crate::error::{Error, Result};
use crate::{migration, uri};

/// The largest image we decode, in pixels (a 8K screen is 33 Mpx): bounds memory and time.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Decodes every QR code found in an encoded image (PNG, JPEG, GIF, BMP, WebP), in the order
/// rqrr finds them. Codes that are located but cannot be read are skipped.
pub fn decode_image_bytes(bytes: &[u8]) -> Result<Vec<String>> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| malformed(e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| malformed(e.to_string()))?;
    check_size(w, h)?;
    let img = image::load_from_memory(bytes).map_err(|e| malformed(e.to_string()))?;
    Ok(decode_gray(&img.to_luma8()))
}

/// Decodes every QR code in a greyscale image.
pub fn decode_gray(img: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_meta, text)| text))
        .collect()
}

/// Decodes every QR code in a tightly packed RGBA buffer (as screen capture returns).
pub fn decode_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<String>> {
    check_size(width, height)?;
    let img = image::RgbaImage::from_raw(width, height, rgba.to_vec())
        .ok_or_else(|| malformed("buffer size does not match the dimensions".into()))?;
    let gray = image::DynamicImage::ImageRgba8(img).to_luma8();
    Ok(decode_gray(&gray))
}

fn check_size(w: u32, h: u32) -> Result<()> {
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(Error::TooLarge {
            len: usize::try_from(u64::from(w) * u64::from(h)).unwrap_or(usize::MAX),
            max: usize::try_from(MAX_PIXELS).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

fn malformed(reason: String) -> Error {
    Error::Malformed {
        what: "image",
        reason,
    }
}

/// What a QR code's text is, for an authenticator.
#[derive(Debug)]
pub enum Payload {
    /// An `otpauth://` Key URI: one account.
    Account(Box<uri::Parsed>),
    /// An `otpauth-migration://` batch: several accounts.
    Migration(migration::Batch),
    /// Anything else (a web link, a login QR of a site, …), with the reason it is not ours.
    Other(String),
}

/// Classifies a QR code's text. An otpauth or migration URI that fails to parse is an error
/// (the user meant to add it), anything else is [`Payload::Other`].
pub fn classify(text: &str) -> Result<Payload> {
    let lower = text.get(..20).unwrap_or(text).to_ascii_lowercase();
    if lower.starts_with("otpauth-migration:") {
        Ok(Payload::Migration(migration::decode_batch(text)?))
    } else if lower.starts_with("otpauth:") {
        Ok(Payload::Account(Box::new(uri::parse_with_warnings(text)?)))
    } else {
        Ok(Payload::Other("not an authenticator code".into()))
    }
}

/// The accounts a payload carries.
pub fn accounts(payload: &Payload) -> Vec<Account> {
    match payload {
        Payload::Account(p) => vec![p.account.clone()],
        Payload::Migration(b) => b.accounts.clone(),
        Payload::Other(_) => Vec::new(),
    }
}
