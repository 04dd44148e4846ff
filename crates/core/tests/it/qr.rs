//! QR decoding against images made by an independent encoder (`qrencode`), and our reading of
//! what they carry, cross-checked with `zbarimg`.

use std::process::Command;

use tessera_core::qr::{accounts, classify, decode_image_bytes, Payload};
use tessera_core::{migration, uri, Account, Secret};

fn qrencode_png(text: &str) -> Vec<u8> {
    let out = Command::new("qrencode")
        .args(["-o", "-", "-s", "4", "-m", "4", text])
        .output()
        .expect("qrencode is installed");
    assert!(out.status.success());
    out.stdout
}

#[test]
fn reads_a_key_uri_made_by_qrencode() {
    let a = Account::totp(
        "Example Co",
        "alice@example.com",
        Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap(),
    );
    let text = uri::to_uri(&a);
    let png = qrencode_png(&text);
    let found = decode_image_bytes(&png).unwrap();
    assert_eq!(found, vec![text.clone()]);
    let payload = classify(found.first().unwrap()).unwrap();
    assert!(matches!(payload, Payload::Account(_)));
    assert_eq!(accounts(&payload), vec![a]);

    // zbarimg reads the same text from the same image.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.png");
    std::fs::write(&path, &png).unwrap();
    let z = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(z.stdout).unwrap().trim(), text);
}

#[test]
fn reads_a_migration_batch_and_two_codes_in_one_image() {
    let accounts_in: Vec<Account> = (0..5)
        .map(|i| {
            Account::totp(
                format!("I{i}"),
                format!("n{i}"),
                Secret::from_bytes(vec![i + 1; 20]).unwrap(),
            )
        })
        .collect();
    let uris = migration::encode(&accounts_in).unwrap();
    let first = uris.first().unwrap();
    let other = "https://example.com/login?x=1";

    // Two QR codes side by side, composed with ImageMagick.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    let both = dir.path().join("both.png");
    std::fs::write(&a, qrencode_png(first)).unwrap();
    std::fs::write(&b, qrencode_png(other)).unwrap();
    let st = Command::new("convert")
        .arg(&a)
        .arg(&b)
        .arg("+append")
        .arg(&both)
        .status()
        .expect("imagemagick is installed");
    assert!(st.success());
    let mut found = decode_image_bytes(&std::fs::read(&both).unwrap()).unwrap();
    found.sort();
    let mut want = vec![first.clone(), other.to_owned()];
    want.sort();
    assert_eq!(found, want);

    let payload = classify(first).unwrap();
    assert_eq!(accounts(&payload), accounts_in);
    assert!(matches!(classify(other).unwrap(), Payload::Other(_)));
}

#[test]
fn not_an_image_is_a_clear_error() {
    let err = decode_image_bytes(b"definitely not a png").unwrap_err();
    assert!(err.to_string().contains("image"), "{err}");
}
