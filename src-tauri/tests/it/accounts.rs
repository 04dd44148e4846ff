use serde_json::json;

use super::harness::{oathtool_totp, App};

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[test]
fn codes_match_oathtool_for_every_algorithm() {
    let app = App::unlocked();
    for (alg, digits, period) in [("SHA1", 6, 30), ("SHA256", 8, 30), ("SHA512", 7, 60)] {
        let uri = format!(
            "otpauth://totp/{alg}:a?secret={SECRET}&algorithm={alg}&digits={digits}&period={period}"
        );
        let r = app.ok("add_uri", json!({"uri": uri}));
        assert_eq!(r["added"].as_array().unwrap().len(), 1);
    }
    let list = app.ok("list_accounts", json!({}));
    let now = list["now"].as_u64().unwrap();
    for a in list["accounts"].as_array().unwrap() {
        let alg = a["algorithm"].as_str().unwrap();
        let digits = a["digits"].as_u64().unwrap() as u8;
        let period = a["period"].as_u64().unwrap() as u32;
        let want = oathtool_totp(SECRET, alg, digits, period, now);
        assert_eq!(a["code"], want, "{alg}");
        let until = a["valid_until"].as_u64().unwrap();
        assert!(until > now && until <= now + u64::from(period));
        assert_eq!(a["valid_until"].as_u64().unwrap() % u64::from(period), 0);
        let next = oathtool_totp(SECRET, alg, digits, period, until);
        assert_eq!(a["next_code"], next, "the next code is the next period's");
    }
}

#[test]
fn duplicates_are_named_and_bad_uris_say_which_field() {
    let app = App::unlocked();
    let uri = format!("otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub");
    app.ok("add_uri", json!({"uri": uri}));
    let r = app.ok("add_uri", json!({"uri": uri}));
    assert_eq!(r["added"], json!([]));
    assert_eq!(r["duplicates"], json!(["GitHub (alice)"]));
    for (uri, says) in [
        ("otpauth://totp/X:y?secret=not*base32", "secret"),
        (
            "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            "algorithm",
        ),
        (
            "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&digits=0",
            "digits",
        ),
        ("https://example.com", "otpauth"),
        // Issue 10: malformed percent-encoding, NUL, CR/LF and invalid UTF-8 are refused.
        (
            "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&issuer=%G1",
            "invalid issuer",
        ),
        (
            "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&issuer=X%0D%0A",
            "invalid issuer",
        ),
        (
            "otpauth://totp/X:y%00?secret=JBSWY3DPEHPK3PXP",
            "invalid label",
        ),
        (
            "otpauth://totp/X:y%FF?secret=JBSWY3DPEHPK3PXP",
            "invalid label",
        ),
        (
            "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PX%",
            "invalid secret",
        ),
        ("otpauth-migration://offline?data=%G1", "invalid data"),
    ] {
        let (code, msg) = app.err("add_uri", json!({"uri": uri}));
        assert_eq!(code, "invalid", "{uri}");
        assert!(msg.to_lowercase().contains(says), "{uri}: {msg}");
        assert!(
            !msg.contains("JBSWY3DPEHPK3PXP"),
            "an error never echoes the secret"
        );
    }
    assert_eq!(app.accounts().len(), 1, "nothing malformed was stored");
}

#[test]
fn weak_secrets_are_added_with_a_warning() {
    let app = App::unlocked();
    let r = app.ok(
        "add_uri",
        json!({"uri": "otpauth://totp/Old:bob?secret=JBSWY3DPEHPK3PXP"}),
    );
    // As a code with its parameters, for the UI to word in the user's language; once.
    assert_eq!(
        r["warnings"],
        json!([{"name": "Old (bob)", "warning": {"code": "weak_secret", "params": {"bits": 80}}}])
    );
    assert_eq!(app.account("Old")["weak"], true);
    let r = app.ok(
        "add_manual",
        json!({"account": {"issuer": "Short", "name": "al", "secret": "GEZDGNBVGY3TQOJQ",
                           "otp_type": null, "algorithm": null, "digits": null, "period": null,
                           "counter": null}}),
    );
    assert_eq!(r["warnings"][0]["warning"]["code"], "weak_secret");
    assert_eq!(r["warnings"][0]["warning"]["params"]["bits"], 80);
}

#[test]
fn manual_entry_validates_like_the_cli() {
    let app = App::unlocked();
    let base = json!({"issuer": "Bank", "name": "bob", "secret": "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
                      "otp_type": "hotp", "algorithm": null, "digits": 8, "period": null, "counter": 5});
    app.ok("add_manual", json!({"account": base}));
    let a = app.account("Bank");
    assert_eq!(
        (
            a["otp_type"].as_str(),
            a["digits"].as_u64(),
            a["counter"].as_u64()
        ),
        (Some("hotp"), Some(8), Some(5))
    );
    assert_eq!(a["code"], json!(null), "HOTP shows no code until asked");
    // The next code is oathtool's for counter 5, and the counter moves on.
    let v = app.ok("next_hotp", json!({"id": a["id"]}));
    let out = std::process::Command::new("oathtool")
        .args([
            "--hotp",
            "-b",
            "--digits=8",
            "--counter=5",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        ])
        .output()
        .unwrap();
    assert_eq!(v["code"], String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(app.account("Bank")["counter"], 6);
    // Copying an HOTP account copies the code shown, without advancing again.
    assert_eq!(app.account("Bank")["code"], v["code"]);

    for (field, value, says) in [
        ("secret", json!(""), "secret"),
        ("secret", json!("1234!"), "secret"),
        ("otp_type", json!("motp"), "type"),
        ("algorithm", json!("MD5"), "algorithm"),
        ("digits", json!(3), "digits"),
        ("period", json!(0), "period"),
    ] {
        let mut input = base.clone();
        input["issuer"] = json!("Other");
        input["otp_type"] = json!("totp");
        input[field] = value;
        let (code, msg) = app.err("add_manual", json!({"account": input}));
        assert_eq!(code, "invalid", "{field}");
        assert!(msg.to_lowercase().contains(says), "{field}: {msg}");
    }
    assert_eq!(app.accounts().len(), 1);
    let (code, _) = app.err("add_manual", json!({"account": base}));
    assert_eq!(code, "invalid", "the same account twice is refused");
}

#[test]
fn edit_move_favourite_sort_and_delete() {
    let app = App::unlocked();
    for issuer in ["Charlie", "alpha", "Bravo"] {
        app.ok(
            "add_uri",
            json!({"uri": format!("otpauth://totp/{issuer}:u?secret={SECRET}&issuer={issuer}")}),
        );
    }
    let names = |app: &App| -> Vec<String> {
        app.accounts()
            .iter()
            .map(|a| a["issuer"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&app),
        ["Charlie", "alpha", "Bravo"],
        "manual order is insertion order"
    );
    let bravo = app.account("Bravo")["id"].clone();
    app.ok("move_account", json!({"id": bravo, "delta": -1}));
    assert_eq!(names(&app), ["Charlie", "Bravo", "alpha"]);
    app.ok("move_account", json!({"id": bravo, "delta": -1}));
    assert_eq!(names(&app), ["Bravo", "Charlie", "alpha"]);
    app.ok("move_account", json!({"id": bravo, "delta": -1}));
    assert_eq!(
        names(&app),
        ["Bravo", "Charlie", "alpha"],
        "the top stays the top"
    );

    let alpha = app.account("alpha")["id"].clone();
    app.ok("update_account", json!({"id": alpha, "edit": {"issuer": " Alpha ", "name": "ann", "groups": ["work", " "], "note": "n", "favourite": true}}));
    let a = app.account("Alpha");
    assert_eq!(
        (
            a["name"].as_str(),
            a["groups"].clone(),
            a["favourite"].as_bool()
        ),
        (Some("ann"), json!(["work"]), Some(true))
    );
    assert_eq!(names(&app)[0], "Alpha", "favourites first");

    let mut s = app.ok("status", json!({}))["settings"].clone();
    s["sort"] = json!("issuer");
    app.ok("set_settings", json!({"settings": s}));
    assert_eq!(names(&app), ["Alpha", "Bravo", "Charlie"]);

    app.ok("delete_account", json!({"id": bravo}));
    assert_eq!(names(&app), ["Alpha", "Charlie"]);
    assert_eq!(
        app.err("delete_account", json!({"id": bravo})).0,
        "not_found"
    );
}

#[test]
fn copy_writes_the_code_to_the_clipboard_and_records_use() {
    if !tessera_core::testing::prerequisite(
        std::env::var_os("DISPLAY").is_some(),
        "a display for the clipboard (run the tests under scripts/with-session.sh)",
    ) {
        return;
    }
    let app = App::unlocked();
    app.ok(
        "add_uri",
        json!({"uri": format!("otpauth://totp/Clip:c?secret={SECRET}")}),
    );
    let a = app.account("Clip");
    assert_eq!(a["last_used_at"], json!(null));
    let r = app.ok("copy_code", json!({"id": a["id"]}));
    assert_eq!(r["clear_after_secs"], 30);
    let code = r["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let clip = arboard::Clipboard::new().and_then(|mut c| c.get_text());
    if let Ok(text) = clip {
        assert_eq!(text, code, "the system clipboard holds the code");
    }
    assert!(app.account("Clip")["last_used_at"].as_i64().is_some());

    // Cleared after the configured time, but only while it still holds the code.
    let mut s = app.ok("status", json!({}))["settings"].clone();
    s["clipboard_clear_secs"] = json!(1);
    app.ok("set_settings", json!({"settings": s}));
    app.ok("copy_code", json!({"id": a["id"]}));
    let mut cleared = false;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = arboard::Clipboard::new()
            .and_then(|mut c| c.get_text())
            .unwrap_or_default();
        if now != code {
            cleared = true;
            break;
        }
    }
    assert!(
        cleared,
        "the clipboard still holds the code after its clear time"
    );
    app.ok("copy_code", json!({"id": a["id"]}));
    arboard::Clipboard::new()
        .unwrap()
        .set_text("something else")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1800));
    let now = arboard::Clipboard::new().unwrap().get_text().unwrap();
    assert_eq!(
        now, "something else",
        "what the user copied since is left alone"
    );
}
