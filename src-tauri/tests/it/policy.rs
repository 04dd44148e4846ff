use serde_json::json;

use super::harness::{App, PASS};

#[test]
fn a_policy_disables_export_and_manual_entry_and_caps_auto_lock() {
    let app = App::with_policy(Some(
        r#"{"version": 1, "organization": "Example Corp", "allowed_origins": ["https://auth.example.com"],
            "max_auto_lock_mins": 10, "disable_export": true, "disable_manual_entry": true}"#,
    ));
    let st = app.ok("create_vault", json!({"passphrase": PASS}));
    let p = &st["policy"];
    assert_eq!(
        (p["managed"].as_bool(), p["organization"].as_str()),
        (Some(true), Some("Example Corp"))
    );
    assert_eq!(
        st["settings"]["auto_lock_mins"], 5,
        "the default is within the cap"
    );

    let (code, msg) = app.err(
        "export_accounts",
        json!({"path": app.path("x.txt"), "format": "uri-list", "password": null}),
    );
    assert_eq!(code, "policy");
    assert!(msg.contains("Example Corp"), "{msg}");
    assert!(!app.path("x.txt").exists());
    let manual = json!({"issuer": "I", "name": "n", "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otp_type": null, "algorithm": null, "digits": null, "period": null, "counter": null});
    assert_eq!(
        app.err("add_manual", json!({"account": manual})).0,
        "policy"
    );
    // Scanning and URIs still work: only typing secrets is managed.
    app.ok(
        "add_uri",
        json!({"uri": "otpauth://totp/I:n?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}),
    );

    let mut s = st["settings"].clone();
    s["auto_lock_mins"] = json!(0);
    assert_eq!(app.err("set_settings", json!({"settings": s})).0, "policy");
    s["auto_lock_mins"] = json!(30);
    assert_eq!(app.err("set_settings", json!({"settings": s})).0, "policy");
    s["auto_lock_mins"] = json!(10);
    app.ok("set_settings", json!({"settings": s}));

    // Enrollment with a server the policy does not list is refused before any request.
    let link = "tessera://enroll?v=1&origin=https%3A%2F%2Fevil.example&code=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&algs=ES256&pref=ES256&sk=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&user=bob";
    let (code, msg) = app.err("enroll", json!({"link": link, "device_name": null}));
    assert_eq!(code, "policy", "{msg}");
    assert!(msg.contains("evil.example"), "{msg}");
}

#[test]
fn an_invalid_policy_is_reported_and_the_app_fails_closed() {
    let app = App::with_policy(Some(r#"{"version": 1, "disable_exports": true}"#));
    let st = app.ok("status", json!({}));
    let err = st["policy"]["error"].as_str().unwrap();
    assert!(
        err.contains("disable_exports"),
        "the error names the bad field: {err}"
    );
    app.ok("create_vault", json!({"passphrase": PASS}));
    app.ok(
        "add_uri",
        json!({"uri": "otpauth://totp/I:n?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}),
    );
    assert_eq!(
        app.err(
            "export_accounts",
            json!({"path": app.path("x.txt"), "format": "uri-list", "password": null})
        )
        .0,
        "policy"
    );
    assert_eq!(st["settings"]["auto_lock_mins"], 5);
}

#[test]
fn a_policy_language_is_the_app_language_and_locks_the_setting() {
    let app = App::with_policy(Some(r#"{"version": 1, "language": "ja"}"#));
    let st = app.ok("create_vault", json!({"passphrase": PASS}));
    assert_eq!(st["policy"]["language"], "ja");
    assert_eq!(st["settings"]["language"], "ja");
    assert_eq!(st["locale"], "ja");
    let mut s = st["settings"].clone();
    s["language"] = json!("en");
    assert_eq!(app.err("set_settings", json!({"settings": s})).0, "policy");
    s["language"] = json!("ja");
    app.ok("set_settings", json!({"settings": s}));
}
