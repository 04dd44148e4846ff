//! Reading QR codes off the screen: every monitor is captured (xcap) and decoded (rqrr, via
//! tessera-core) in parallel, one thread per monitor. Nothing captured is kept or written.

use tessera_core::qr;

use crate::error::{Error, Result};

/// One captured monitor.
#[derive(Debug)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Tightly packed RGBA.
    pub rgba: Vec<u8>,
}

/// Captures every monitor.
pub fn capture_screens() -> Result<Vec<Frame>> {
    let monitors =
        xcap::Monitor::all().map_err(|e| Error::Scan(format!("cannot list the screens: {e}")))?;
    if monitors.is_empty() {
        return Err(Error::Scan("no screen to capture".into()));
    }
    monitors
        .iter()
        .map(|m| {
            let img = m
                .capture_image()
                .map_err(|e| Error::Scan(format!("cannot capture the screen: {e}")))?;
            Ok(Frame {
                width: img.width(),
                height: img.height(),
                rgba: img.into_raw(),
            })
        })
        .collect()
}

/// Decodes every QR code in the frames, in monitor order, without duplicates.
pub fn decode_frames(frames: &[Frame]) -> Result<Vec<String>> {
    let results: Vec<Result<Vec<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = frames
            .iter()
            .map(|f| s.spawn(move || qr::decode_rgba(f.width, f.height, &f.rgba)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| {
                        Err(tessera_core::Error::Malformed {
                            what: "image",
                            reason: "the decoder failed".into(),
                        })
                    })
                    .map_err(Error::from)
            })
            .collect()
    });
    let mut texts: Vec<String> = Vec::new();
    for r in results {
        for t in r? {
            if !texts.contains(&t) {
                texts.push(t);
            }
        }
    }
    Ok(texts)
}

/// Captures and decodes: the texts, and a description of where they were looked for.
pub fn scan_screens() -> Result<(String, Vec<String>)> {
    let frames = capture_screens()?;
    let source = match frames.len() {
        1 => "the screen".to_owned(),
        n => format!("{n} screens"),
    };
    Ok((source, decode_frames(&frames)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with_qr(text: &str, w: u32, h: u32, x: u32, y: u32) -> Frame {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let qr = code
            .render::<image::Luma<u8>>()
            .module_dimensions(6, 6)
            .build();
        let mut img = image::RgbaImage::from_pixel(w, h, image::Rgba([40, 44, 52, 255]));
        for (px, py, p) in qr.enumerate_pixels() {
            let v = p.0[0];
            img.put_pixel(x + px, y + py, image::Rgba([v, v, v, 255]));
        }
        Frame {
            width: w,
            height: h,
            rgba: img.into_raw(),
        }
    }

    #[test]
    fn finds_codes_on_every_frame_once() {
        let a = "otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXP";
        let b = "otpauth://totp/B:two?secret=GEZDGNBVGY3TQOJQ";
        let frames = [
            frame_with_qr(a, 800, 600, 500, 300),
            frame_with_qr(b, 640, 480, 20, 20),
            frame_with_qr(a, 640, 480, 100, 100),
        ];
        assert_eq!(decode_frames(&frames).unwrap(), [a, b]);
        let empty = Frame {
            width: 10,
            height: 10,
            rgba: vec![0; 400],
        };
        assert!(decode_frames(&[empty]).unwrap().is_empty());
    }
}
