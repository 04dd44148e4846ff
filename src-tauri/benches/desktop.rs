//! Desktop benchmarks (figures: docs/benchmarks.md):
//! - `list_1000`: the account list the UI draws at start and every period — unseal 1,000
//!   accounts and compute every current and next code.
//! - `screen_decode_1920x1080`: decoding one captured 1920×1080 frame (grey) that holds a QR
//!   code (the target for one screen scan is < 100 ms).
//! - `screen_capture_and_decode`: the whole scan, capture included, when a display is there
//!   (under Xvfb: `scripts/with-session.sh cargo bench -p tessera-desktop`).
// A benchmark's setup may unwrap: a panic there is a broken benchmark.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_core::{Account, FixedClock, Secret};
use tessera_desktop::app::{Desktop, Notifier};
use tessera_desktop::config::Paths;
use tessera_desktop::scan::{self, Frame};
use tessera_vault::{KdfParams, KeySource, Passphrase, Vault};

fn frame_with_qr(text: &str) -> Frame {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let qr = code
        .render::<image::Luma<u8>>()
        .module_dimensions(6, 6)
        .build();
    let mut img = image::RgbaImage::from_pixel(1920, 1080, image::Rgba([236, 239, 244, 255]));
    // Some structure besides the code, like a real screen: text-like stripes.
    for y in (40..1040).step_by(24) {
        for x in 40..900 {
            if (x / 7 + y / 24) % 3 == 0 {
                img.put_pixel(x, y, image::Rgba([30, 30, 30, 255]));
            }
        }
    }
    for (px, py, p) in qr.enumerate_pixels() {
        let v = p.0[0];
        img.put_pixel(1200 + px, 300 + py, image::Rgba([v, v, v, 255]));
    }
    Frame::from_rgba(1920, 1080, img.into_raw()).unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    let clock = Arc::new(FixedClock::new(1_750_000_000));
    let key = KeySource::Passphrase(Passphrase::new("bench"));
    let kdf = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };
    let mut v = Vault::create_with(&paths.vault, &key, kdf, clock.clone()).unwrap();
    let accounts: Vec<Account> = (0..1000)
        .map(|i| {
            Account::totp(
                format!("Issuer {i}"),
                format!("user{i}@example.com"),
                Secret::from_bytes(format!("bench-secret-{i:012}").into_bytes()).unwrap(),
            )
        })
        .collect();
    v.insert_many(&accounts).unwrap();
    drop(v);
    let notify: Notifier = Arc::new(|_| {});
    let d = Desktop::new(paths, clock, notify);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    d.unlock(Some("bench".into())).unwrap();

    let mut g = c.benchmark_group("desktop");
    g.sample_size(20);
    g.bench_function("list_1000", |b| {
        b.iter(|| {
            let list = d.list_accounts().unwrap();
            assert_eq!(list.accounts.len(), 1000);
        })
    });
    let frame = frame_with_qr("otpauth://totp/Bench:user?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    g.bench_function("screen_decode_1920x1080", |b| {
        b.iter(|| {
            let texts = scan::decode_frames(std::slice::from_ref(&frame)).unwrap();
            assert_eq!(texts.len(), 1);
        })
    });
    if std::env::var_os("DISPLAY").is_some() {
        g.bench_function("screen_capture_and_decode", |b| {
            b.iter(|| scan::scan_screens().unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
