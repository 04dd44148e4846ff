use serde_json::json;

use super::harness::{App, PASS};

#[test]
fn first_run_creates_a_passphrase_vault_that_locks_and_unlocks() {
    let app = App::new();
    let st = app.ok("status", json!({}));
    assert_eq!(st["state"], "no_vault");
    assert!(!app.vault_path().exists());
    // Nothing works before there is a vault, and nothing creates one by accident.
    assert_eq!(app.err("list_accounts", json!({})).0, "no_vault");
    assert_eq!(app.err("unlock", json!({"passphrase": PASS})).0, "no_vault");
    assert!(!app.vault_path().exists());

    assert_eq!(
        app.err("create_vault", json!({"passphrase": ""})).0,
        "invalid"
    );
    let st = app.ok("create_vault", json!({"passphrase": PASS}));
    assert_eq!(
        (st["state"].as_str(), st["key_kind"].as_str()),
        (Some("unlocked"), Some("passphrase"))
    );
    app.ok(
        "add_uri",
        json!({"uri": "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}),
    );

    let st = app.ok("lock", json!({}));
    assert_eq!(st["state"], "locked");
    assert_eq!(app.err("list_accounts", json!({})).0, "locked");
    assert_eq!(app.err("copy_code", json!({"id": 1})).0, "locked");
    let (code, msg) = app.err("unlock", json!({"passphrase": "wrong"}));
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("wrong_passphrase", "wrong passphrase")
    );
    assert_eq!(app.err("unlock", json!({"passphrase": null})).0, "invalid");
    // A second create never replaces the vault.
    assert_eq!(
        app.err("create_vault", json!({"passphrase": "other"})).0,
        "invalid"
    );

    app.ok("unlock", json!({"passphrase": PASS}));
    assert_eq!(app.accounts().len(), 1);

    // The vault survives a restart of the app.
    let app = app.restart();
    assert_eq!(app.ok("status", json!({}))["state"], "locked");
    app.ok("unlock", json!({"passphrase": PASS}));
    assert_eq!(app.account("GitHub")["name"], "alice");
}

#[test]
fn keyring_vault_unlocks_without_a_passphrase() {
    if !tessera_core::testing::prerequisite(
        std::env::var_os("TESSERA_TEST_KEYRING").is_some(),
        "the real Secret Service (run the tests under scripts/with-session.sh)",
    ) {
        return;
    }
    let app = App::new();
    let st = app.ok("create_vault", json!({"passphrase": null}));
    assert_eq!(st["key_kind"], "keyring");
    app.ok(
        "add_uri",
        json!({"uri": "otpauth://totp/K:k?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}),
    );
    app.ok("lock", json!({}));
    assert_eq!(app.ok("status", json!({}))["key_kind"], "keyring");
    app.ok("unlock", json!({"passphrase": null}));
    assert_eq!(app.accounts().len(), 1);
    // The file alone holds neither the secret nor the name.
    let bytes = std::fs::read(app.vault_path()).unwrap();
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains("JBSWY3DPEHPK3PXP") && !hay.contains("K:k"));
}

#[test]
fn settings_are_saved_validated_and_survive_a_restart() {
    let app = App::unlocked();
    let mut s = app.ok("status", json!({}))["settings"].clone();
    assert_eq!(
        s["clipboard_clear_secs"], 30,
        "the default clears after 30 s"
    );
    s["clipboard_clear_secs"] = json!(12);
    s["theme"] = json!("dark");
    s["sort"] = json!("issuer");
    app.ok("set_settings", json!({"settings": s}));
    let mut bad = s.clone();
    bad["clipboard_clear_secs"] = json!(99999);
    let (code, msg) = app.err("set_settings", json!({"settings": bad}));
    assert_eq!(code, "invalid");
    assert!(msg.contains("clipboard"), "{msg}");
    let app = app.restart();
    let st = app.ok("status", json!({}));
    assert_eq!(st["settings"]["clipboard_clear_secs"], 12);
    assert_eq!(st["settings"]["theme"], "dark");
}

#[test]
fn the_language_setting_picks_the_locale_and_survives_a_restart() {
    let app = App::unlocked();
    let st = app.ok("status", json!({}));
    assert_eq!(
        st["settings"]["language"], "system",
        "the default follows the OS"
    );
    let mut s = st["settings"].clone();
    s["language"] = json!("ja");
    let st = app.ok("set_settings", json!({"settings": s.clone()}));
    assert_eq!(st["locale"], "ja");
    s["language"] = json!("fr");
    assert!(
        app.call("set_settings", json!({"settings": s})).is_err(),
        "only system, en and ja exist"
    );
    let app = app.restart();
    let st = app.ok("status", json!({}));
    assert_eq!(st["settings"]["language"], "ja");
    assert_eq!(st["locale"], "ja");
    let mut s = st["settings"].clone();
    s["language"] = json!("en");
    assert_eq!(
        app.ok("set_settings", json!({"settings": s}))["locale"],
        "en"
    );
}
