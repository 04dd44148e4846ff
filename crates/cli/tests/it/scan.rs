//! `tessera scan`: QR codes made by an independent encoder (qrencode) and by the qrcode crate.

use std::process::Command;

use image::{GenericImage, Luma};
use qrcode::QrCode;

use super::harness::{require_tool, Env};

const URI: &str = "otpauth://totp/ACME%20Co:john@example.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";

fn render(text: &str) -> image::GrayImage {
    QrCode::new(text.as_bytes())
        .unwrap()
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .build()
}

#[test]
fn scans_a_qr_code_made_by_qrencode() {
    require_tool("qrencode", "qrencode");
    let env = Env::new();
    let png = env.path("code.png");
    let st = Command::new("qrencode")
        .args(["-s", "6", "-o"])
        .arg(&png)
        .arg(URI)
        .status()
        .unwrap();
    assert!(st.success());
    let out = env.run(&["scan", png.to_str().unwrap()]).success().stdout();
    assert!(out.contains("ACME Co (john@example.com)"), "{out}");
    let json = env
        .run(&["code", "ACME", "--at", "59", "--json"])
        .success()
        .json();
    // The same secret added by hand gives the same code: the QR carried it intact.
    let env2 = Env::new();
    env2.run(&["add", URI]).success();
    let want = env2
        .run(&["code", "ACME", "--at", "59", "--json"])
        .success()
        .json();
    assert_eq!(json["code"], want["code"]);
}

#[test]
fn several_codes_in_one_image_are_all_reported() {
    let a = render("otpauth://totp/One:a?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    let b = render("otpauth://totp/Two:b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    let c = render("https://example.com/not-an-authenticator-code");
    let (w, h) = (
        a.width() + b.width() + c.width() + 40,
        a.height().max(b.height()).max(c.height()) + 20,
    );
    let mut canvas = image::GrayImage::from_pixel(w, h, Luma([255]));
    canvas.copy_from(&a, 10, 10).unwrap();
    canvas.copy_from(&b, 20 + a.width(), 10).unwrap();
    canvas
        .copy_from(&c, 30 + a.width() + b.width(), 10)
        .unwrap();
    let env = Env::new();
    let png = env.path("three.png");
    canvas.save(&png).unwrap();

    let lines: Vec<serde_json::Value> = env
        .run(&["scan", png.to_str().unwrap(), "--json"])
        .success()
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l["kind"] == "otpauth").count(), 2);
    assert_eq!(lines.iter().filter(|l| l["kind"] == "other").count(), 1);
    let names: Vec<String> = env.accounts().into_iter().map(|(i, _)| i).collect();
    assert!(
        names.contains(&"One".into()) && names.contains(&"Two".into()),
        "{names:?}"
    );
}

#[test]
fn an_image_without_codes_says_so_and_writes_nothing() {
    let env = Env::new();
    let png = env.path("blank.png");
    image::GrayImage::from_pixel(200, 200, Luma([255]))
        .save(&png)
        .unwrap();
    let run = env.run(&["scan", png.to_str().unwrap()]).failure();
    assert!(
        run.stderr().contains("no QR code found"),
        "{}",
        run.stderr()
    );
    assert!(!env.vault().exists());
    std::fs::write(env.path("not-an-image.png"), b"hello").unwrap();
    env.run(&["scan", env.path("not-an-image.png").to_str().unwrap()])
        .failure();
}
