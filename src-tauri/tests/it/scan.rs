use serde_json::json;

use super::harness::{oathtool_totp, qrencode, App};

#[test]
fn a_qr_image_file_adds_its_account_and_codes_match_oathtool() {
    let app = App::unlocked();
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let uri = format!("otpauth://totp/Example%20Co:alice@example.com?secret={secret}&issuer=Example%20Co&algorithm=SHA256&digits=8");
    let png = qrencode(app.dir.path(), "enroll.png", &uri);
    let r = app.ok("scan_image_file", json!({"path": png}));
    assert_eq!(r["source"], "enroll.png");
    let found = r["found"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["kind"], "account");
    assert_eq!(found[0]["label"], "Example Co (alice@example.com)");
    assert_eq!(found[0]["problem"], json!(null));
    assert!(
        !r.to_string().contains(secret),
        "scan results never carry the secret"
    );

    let added = app.ok("add_scanned", json!({"handle": found[0]["handle"]}));
    assert_eq!(added["added"].as_array().unwrap().len(), 1);
    let list = app.ok("list_accounts", json!({}));
    let a = &list["accounts"][0];
    let now = list["now"].as_u64().unwrap();
    assert_eq!(a["code"], oathtool_totp(secret, "SHA256", 8, 30, now));
    // The same scan again finds a duplicate, not a second account.
    let again = app.ok("add_scanned", json!({"handle": found[0]["handle"]}));
    assert_eq!(
        again["duplicates"],
        json!(["Example Co (alice@example.com)"])
    );
}

#[test]
fn a_google_export_qr_adds_every_account() {
    let app = App::unlocked();
    // Made with our encoder, read back from a PNG made by qrencode (an independent encoder).
    let accounts: Vec<_> = (0..3)
        .map(|i| {
            tessera_core::Account::totp(
                format!("Svc{i}"),
                "me",
                tessera_core::Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap(),
            )
        })
        .collect();
    let uris = tessera_core::migration::encode(&accounts).unwrap();
    let png = qrencode(app.dir.path(), "google.png", &uris[0]);
    let r = app.ok("scan_image_file", json!({"path": png}));
    let f = &r["found"][0];
    assert_eq!(
        (f["kind"].as_str(), f["label"].as_str()),
        (
            Some("migration"),
            Some("3 accounts from Google Authenticator")
        )
    );
    assert_eq!(f["count"], 3, "the UI words the label from the count");
    let added = app.ok("add_scanned", json!({"handle": f["handle"]}));
    assert_eq!(added["added"].as_array().unwrap().len(), 3);
    assert_eq!(app.accounts().len(), 3);
}

#[test]
fn several_codes_are_all_reported_and_other_codes_are_never_acted_on() {
    let app = App::unlocked();
    let dir = app.dir.path();
    let a = qrencode(
        dir,
        "a.png",
        "otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    );
    let b = qrencode(dir, "b.png", "https://example.com/some/page?x=1");
    // Side by side in one image.
    let (ia, ib) = (
        image::open(&a).unwrap().to_rgba8(),
        image::open(&b).unwrap().to_rgba8(),
    );
    let mut both = image::RgbaImage::from_pixel(
        ia.width() + ib.width() + 40,
        ia.height().max(ib.height()) + 40,
        image::Rgba([255, 255, 255, 255]),
    );
    image::imageops::overlay(&mut both, &ia, 10, 10);
    image::imageops::overlay(&mut both, &ib, i64::from(ia.width()) + 30, 10);
    let bytes = {
        let mut v = Vec::new();
        both.write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Png)
            .unwrap();
        v
    };
    let r = app.ok("scan_image_bytes", json!({"bytes": bytes}));
    let kinds: Vec<&str> = r["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{r}");
    assert!(kinds.contains(&"account") && kinds.contains(&"other"));
    let other = r["found"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "other")
        .unwrap();
    assert_eq!(other["label"], "A https link to example.com");
    assert_eq!(
        (other["origin"].as_str(), other["problem_kind"].as_str()),
        (Some("https://example.com"), Some("not_ours")),
        "the UI words it from the link alone, never the rest of the text"
    );
    assert_eq!(
        app.err("add_scanned", json!({"handle": other["handle"]})).0,
        "invalid"
    );
    assert!(app.accounts().is_empty());
}

#[test]
fn no_code_and_bad_images_are_reported_clearly() {
    let app = App::unlocked();
    let blank = image::RgbaImage::from_pixel(200, 200, image::Rgba([255, 255, 255, 255]));
    let mut v = Vec::new();
    blank
        .write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Png)
        .unwrap();
    let r = app.ok("scan_image_bytes", json!({"bytes": v}));
    assert_eq!(r["found"], json!([]));
    let (code, msg) = app.err("scan_image_bytes", json!({"bytes": [1, 2, 3, 4]}));
    assert_eq!(code, "invalid");
    assert!(msg.contains("image"), "{msg}");
    let (code, _) = app.err("scan_image_file", json!({"path": app.path("missing.png")}));
    assert_eq!(code, "io");
    assert_eq!(
        app.err("add_scanned", json!({"handle": "scan-999"})).0,
        "not_found"
    );
}

#[test]
fn scan_handles_are_forgotten_when_the_vault_locks() {
    let app = App::unlocked();
    let png = qrencode(
        app.dir.path(),
        "x.png",
        "otpauth://totp/X:x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    );
    let r = app.ok("scan_image_file", json!({"path": png}));
    let handle = r["found"][0]["handle"].clone();
    app.ok("lock", json!({}));
    app.ok("unlock", json!({"passphrase": super::harness::PASS}));
    assert_eq!(
        app.err("add_scanned", json!({"handle": handle})).0,
        "not_found"
    );
}

#[test]
fn the_screen_scan_reads_a_qr_code_shown_on_the_display() {
    // Under Xvfb (scripts/with-session.sh) a QR code is put on the root window with
    // ImageMagick's `display`; the scan captures every monitor with xcap.
    if !tessera_core::testing::prerequisite(
        std::env::var_os("DISPLAY").is_some() && which("display").is_some(),
        "an X display and ImageMagick's `display` (scripts/with-session.sh; apt-get install imagemagick)",
    ) {
        return;
    }
    let app = App::unlocked();
    let uri = "otpauth://totp/Screen:shot?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Screen";
    let png = qrencode(app.dir.path(), "screen.png", uri);
    let mut shown = std::process::Command::new("display")
        .args(["-geometry", "+300+200"])
        .arg(&png)
        .spawn()
        .unwrap();
    let mut found = None;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let r = app.ok("scan_screen", json!({}));
        if let Some(f) = r["found"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "account")
        {
            found = Some(f.clone());
            break;
        }
    }
    let _ = shown.kill();
    let _ = shown.wait();
    let f = found.expect("the QR code on the screen was found");
    assert_eq!(f["label"], "Screen (shot)");
    app.ok("add_scanned", json!({"handle": f["handle"]}));
    assert_eq!(app.account("Screen")["name"], "shot");
}

fn which(bin: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    })
}
