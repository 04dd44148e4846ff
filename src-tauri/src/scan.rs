//! Reading QR codes off the screen. On X11 the whole root window (every monitor) is fetched in
//! one `GetImage` and turned straight into the greyscale image rqrr reads; elsewhere (Wayland
//! through the desktop portal, macOS, Windows) xcap captures each monitor. Frames are decoded
//! in parallel, one thread each. Nothing captured is kept or written.

use image::GrayImage;
use tessera_core::qr;

use crate::error::{Error, Result};

/// One captured screen area, in grey.
#[derive(Debug)]
pub struct Frame(pub GrayImage);

impl Frame {
    /// From tightly packed RGBA.
    pub fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Result<Frame> {
        let img = image::RgbaImage::from_raw(width, height, rgba)
            .ok_or_else(|| Error::Scan("the captured image has the wrong size".into()))?;
        Ok(Frame(image::DynamicImage::ImageRgba8(img).to_luma8()))
    }
}

/// Captures every monitor.
pub fn capture_screens() -> Result<Vec<Frame>> {
    #[cfg(target_os = "linux")]
    if let Some(frame) = x11::capture_root()? {
        return Ok(vec![frame]);
    }
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
            Frame::from_rgba(img.width(), img.height(), img.into_raw())
        })
        .collect()
}

/// Decodes every QR code in the frames, in order, without duplicates.
pub fn decode_frames(frames: &[Frame]) -> Result<Vec<String>> {
    let results: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = frames
            .iter()
            .map(|f| s.spawn(move || qr::decode_gray(&f.0)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut texts: Vec<String> = Vec::new();
    for t in results.into_iter().flatten() {
        if !texts.contains(&t) {
            texts.push(t);
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

#[cfg(target_os = "linux")]
mod x11 {
    use image::GrayImage;
    use xcb::x::{Drawable, GetImage, ImageFormat, ImageOrder};

    use super::Frame;
    use crate::error::{Error, Result};

    fn wayland() -> bool {
        std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
            || std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland")
    }

    /// The root window as one grey frame; `None` when this is not an X11 session (or the
    /// screen has a pixel format other than 24/32-bit true colour, left to xcap).
    pub(super) fn capture_root() -> Result<Option<Frame>> {
        if wayland() || std::env::var_os("DISPLAY").is_none() {
            return Ok(None);
        }
        let x = |e: xcb::Error| Error::Scan(format!("cannot capture the screen: {e}"));
        let (conn, n) = xcb::Connection::connect(None)
            .map_err(|e| Error::Scan(format!("cannot reach the X server: {e}")))?;
        let setup = conn.get_setup();
        let Some(screen) = usize::try_from(n).ok().and_then(|n| setup.roots().nth(n)) else {
            return Ok(None);
        };
        let (w, h) = (screen.width_in_pixels(), screen.height_in_pixels());
        let reply = conn
            .wait_for_reply(conn.send_request(&GetImage {
                format: ImageFormat::ZPixmap,
                drawable: Drawable::Window(screen.root()),
                x: 0,
                y: 0,
                width: w,
                height: h,
                plane_mask: u32::MAX,
            }))
            .map_err(x)?;
        let bpp = setup
            .pixmap_formats()
            .iter()
            .find(|f| f.depth() == reply.depth())
            .map(|f| f.bits_per_pixel());
        if !matches!(reply.depth(), 24 | 32) || bpp != Some(32) {
            return Ok(None);
        }
        let lsb = setup.image_byte_order() == ImageOrder::LsbFirst;
        let gray = to_gray(reply.data(), u32::from(w), u32::from(h), lsb)
            .ok_or_else(|| Error::Scan("the X server sent an image of the wrong size".into()))?;
        Ok(Some(Frame(gray)))
    }

    /// 32-bit true-colour pixels (B, G, R, x in LSB-first order) to Rec. 709 luma, as
    /// `image`'s `to_luma8` computes it.
    pub(super) fn to_gray(data: &[u8], w: u32, h: u32, lsb: bool) -> Option<GrayImage> {
        let n = usize::try_from(u64::from(w) * u64::from(h)).ok()?;
        let pixels = data.get(..n.checked_mul(4)?)?;
        let luma: Vec<u8> = pixels
            .chunks_exact(4)
            .map(|p| {
                let (r, g, b) = match (lsb, p) {
                    (true, [b, g, r, _]) | (false, [_, r, g, b]) => (*r, *g, *b),
                    _ => (0, 0, 0),
                };
                let y = 2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b);
                u8::try_from((y + 5000) / 10_000).unwrap_or(u8::MAX)
            })
            .collect();
        GrayImage::from_raw(w, h, luma)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn converts_like_the_image_crate() {
            let bgrx: Vec<u8> = (0..=255u8)
                .flat_map(|v| [v, v.wrapping_mul(3), v.wrapping_mul(7), 0])
                .collect();
            let ours = super::to_gray(&bgrx, 16, 16, true).unwrap();
            let rgba: Vec<u8> = bgrx
                .chunks_exact(4)
                .flat_map(|p| [p[2], p[1], p[0], 255])
                .collect();
            let theirs =
                image::DynamicImage::ImageRgba8(image::RgbaImage::from_raw(16, 16, rgba).unwrap())
                    .to_luma8();
            for (a, b) in ours.pixels().zip(theirs.pixels()) {
                assert!(a.0[0].abs_diff(b.0[0]) <= 1, "{a:?} vs {b:?}");
            }
            assert!(
                super::to_gray(&bgrx[..100], 16, 16, true).is_none(),
                "short data"
            );
        }
    }
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
        let mut img = GrayImage::from_pixel(w, h, image::Luma([44]));
        for (px, py, p) in qr.enumerate_pixels() {
            img.put_pixel(x + px, y + py, *p);
        }
        Frame(img)
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
        let empty = Frame(GrayImage::new(10, 10));
        assert!(decode_frames(&[empty]).unwrap().is_empty());
    }
}
