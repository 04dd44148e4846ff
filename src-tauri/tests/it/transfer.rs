use std::path::PathBuf;

use serde_json::json;

use super::harness::App;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/core/tests/data/imports")
        .join(name)
}

#[test]
fn every_import_format_is_listed_and_every_real_file_imports() {
    let app = App::unlocked();
    let formats = app.ok("import_formats", json!({}));
    let ids: Vec<&str> = formats
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    for id in [
        "aegis",
        "2fas",
        "andotp",
        "bitwarden-json",
        "bitwarden-csv",
        "freeotp-plus",
        "ente",
        "proton",
        "uri-list",
        "google-migration",
        "tessera-backup",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    for (file, password, format) in [
        ("aegis_plain.json", None, "aegis"),
        ("aegis_encrypted.json", Some("test"), "aegis"),
        ("2fas_authenticator_plain_v4.2fas", None, "2fas"),
        ("2fas_authenticator_encrypted_v4.2fas", Some("test"), "2fas"),
        ("andotp_plain.json", None, "andotp"),
        ("andotp_encrypted.bin", Some("test"), "andotp"),
        ("bitwarden.json", None, "bitwarden-json"),
        ("bitwarden.csv", None, "bitwarden-csv"),
        ("freeotp_plus.json", None, "freeotp-plus"),
        ("ente_auth.txt", None, "ente"),
        ("proton_authenticator.json", None, "proton"),
        ("plain.txt", None, "uri-list"),
    ] {
        let p = app.ok(
            "import_preview",
            json!({"path": fixture(file), "format": null, "password": password}),
        );
        assert_eq!(p["format"], format, "{file}");
        // What the format carries (the core's importer tests check every field of each):
        // the app previews exactly that, skipping nothing silently.
        let bytes = std::fs::read(fixture(file)).unwrap();
        let core = tessera_core::import::import(&bytes, None, password).unwrap();
        assert_eq!(
            p["entries"].as_array().unwrap().len(),
            core.accounts.len(),
            "{file}"
        );
        assert_eq!(
            p["skipped"].as_array().unwrap().len(),
            core.skipped.len(),
            "{file}"
        );
        assert!(!core.accounts.is_empty(), "{file}: accounts carried");
        app.ok("import_cancel", json!({}));
    }
    assert!(app.accounts().is_empty(), "previews write nothing");
}

/// Entries another app's export holds that Tessera cannot carry reach the UI as codes with
/// parameters (`core.<code>` in its catalogues), in the preview and in the commit's result.
#[test]
fn skipped_entries_carry_their_reason_codes() {
    let app = App::unlocked();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("aegis_plain.json")).unwrap()).unwrap();
    v["db"]["entries"][0]["type"] = "yandex".into();
    v["db"]["entries"][1]["type"] = "push".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aegis.json");
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let want = json!([
        {"name": "Deno (Mason)", "reason": {"code": "skip_yandex", "params": {}}},
        {"name": "SPDX (James)", "reason": {"code": "skip_unsupported_type", "params": {"kind": "push"}}},
    ]);
    let p = app.ok(
        "import_preview",
        json!({"path": path, "format": null, "password": null}),
    );
    assert_eq!(p["skipped"], want);
    let r = app.ok("import_commit", json!({"keep_duplicates": false}));
    assert_eq!(r["skipped"], want);
    assert_eq!(r["warnings"], json!([]));
    assert_eq!(r["added"].as_array().unwrap().len(), 5);
}

#[test]
fn import_is_all_or_nothing_and_reports_duplicates() {
    let app = App::unlocked();
    let p = app.ok(
        "import_preview",
        json!({"path": fixture("aegis_plain.json"), "format": "aegis", "password": null}),
    );
    assert!(p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["duplicate"] == false));
    let r = app.ok("import_commit", json!({"keep_duplicates": false}));
    let first = r["added"].as_array().unwrap().len();
    assert_eq!(app.accounts().len(), first);
    assert_eq!(
        app.err("import_commit", json!({"keep_duplicates": false}))
            .0,
        "not_found",
        "a preview is used once"
    );

    // The same accounts from another app's export are flagged as duplicates and skipped.
    let p = app.ok(
        "import_preview",
        json!({"path": fixture("plain.txt"), "format": null, "password": null}),
    );
    let dups = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["duplicate"] == true)
        .count();
    assert!(dups >= 1, "{p}");
    let r = app.ok("import_commit", json!({"keep_duplicates": false}));
    assert_eq!(r["duplicates"].as_array().unwrap().len(), dups);
    assert_eq!(
        app.accounts().len(),
        first + r["added"].as_array().unwrap().len()
    );

    // Wrong password, wrong format, a damaged file: clear errors, nothing written.
    let before = app.accounts().len();
    let (code, msg) = app.err(
        "import_preview",
        json!({"path": fixture("aegis_encrypted.json"), "format": null, "password": "nope"}),
    );
    assert_eq!(code, "invalid");
    assert!(msg.contains("wrong password"), "{msg}");
    let (_, msg) = app.err(
        "import_preview",
        json!({"path": fixture("aegis_encrypted.json"), "format": null, "password": null}),
    );
    assert!(msg.contains("password is required"), "{msg}");
    let truncated = app.path("cut.json");
    let bytes = std::fs::read(fixture("aegis_plain.json")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(
        app.err(
            "import_preview",
            json!({"path": truncated, "format": null, "password": null})
        )
        .0,
        "invalid"
    );
    assert_eq!(
        app.err(
            "import_preview",
            json!({"path": fixture("plain.txt"), "format": "xml", "password": null})
        )
        .0,
        "invalid"
    );
    assert_eq!(app.accounts().len(), before);
}

#[test]
fn every_export_format_writes_a_file_that_reads_back() {
    let app = App::unlocked();
    app.ok(
        "import_preview",
        json!({"path": fixture("plain.txt"), "format": null, "password": null}),
    );
    app.ok("import_commit", json!({"keep_duplicates": false}));
    let n = app.accounts().len();
    let formats = app.ok("export_formats", json!({}));
    for f in formats.as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        assert_eq!(
            f["plaintext"],
            !f["needs_password"].as_bool().unwrap(),
            "{id}"
        );
        let path = app.path(&format!("out-{id}.{}", f["extension"].as_str().unwrap()));
        let password = f["needs_password"]
            .as_bool()
            .unwrap()
            .then_some("export pw");
        if password.is_some() {
            let (code, _) = app.err(
                "export_accounts",
                json!({"path": path, "format": id, "password": null}),
            );
            assert_eq!(code, "invalid", "{id} without a password");
        }
        let r = app.ok(
            "export_accounts",
            json!({"path": path, "format": id, "password": password}),
        );
        let files = r["files"].as_array().unwrap();
        assert!(!files.is_empty());
        assert_eq!(
            r["exported"].as_u64().unwrap() as usize + r["skipped"].as_array().unwrap().len(),
            n,
            "{id}"
        );
        let first = PathBuf::from(files[0].as_str().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{id}: exports are private");
        }
        if id == "backup" {
            assert_eq!(r["verified"], true, "the test restore checked the backup");
        }
        // Google's formats leave out the Steam account, the non-30-second periods and 7 digits, each
        // with its reason's code and parameters for the UI.
        let mut codes: Vec<String> = r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s["reason"]["code"].as_str().unwrap(),
                    s["reason"]["params"]
                )
            })
            .collect();
        codes.sort();
        let want: &[&str] = if id.starts_with("migration") {
            &[
                r#"skip_google_digits {"digits":7}"#,
                r#"skip_google_period {"period":20}"#,
                r#"skip_google_period {"period":50}"#,
                "skip_google_steam {}",
            ]
        } else {
            &[]
        };
        assert_eq!(codes, want, "{id}");
        if matches!(id, "migration-png" | "migration-html") {
            continue;
        }
        let bytes = std::fs::read(&first).unwrap();
        let back = tessera_core::import::import(&bytes, None, password).unwrap();
        assert_eq!(
            back.accounts.len(),
            r["exported"].as_u64().unwrap() as usize,
            "{id}"
        );
    }
}
