//! Every case where an importer leaves an entry out yields its typed reason, with the code and
//! parameters the desktop app words in the user's language (`core.<code>` in its catalogues).
//! The real export files hold only kinds Tessera carries, so each case takes a real file and
//! changes one entry the way the other app would write the kind we lack.

use serde_json::{json, Value};
use tessera_core::import::{self, Format, ImportReport, SkipReason};
use tessera_core::notice::Coded;

use super::interop_files::testdata;

fn json_file(name: &str) -> Value {
    serde_json::from_slice(&testdata(name)).unwrap()
}

fn read(bytes: &[u8], format: Format) -> ImportReport {
    let r = import::import(bytes, None, None).unwrap();
    assert_eq!(r.format, format);
    r
}

/// `(name, code, params)` of each skipped entry.
fn skipped(r: &ImportReport) -> Vec<(String, &'static str, Value)> {
    r.skipped
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.reason.code(),
                Value::Object(s.reason.params()),
            )
        })
        .collect()
}

fn one(name: &str, code: &'static str, params: Value) -> (String, &'static str, Value) {
    (name.to_owned(), code, params)
}

#[test]
fn aegis_yandex_motp_and_unknown_types() {
    let mut v = json_file("aegis_plain.json");
    v["db"]["entries"][0]["type"] = "yandex".into();
    v["db"]["entries"][1]["type"] = "motp".into();
    v["db"]["entries"][2]["type"] = "push".into();
    let r = read(&serde_json::to_vec(&v).unwrap(), Format::Aegis);
    assert_eq!(r.accounts.len(), 4);
    assert_eq!(
        skipped(&r),
        vec![
            one("Deno (Mason)", "skip_yandex", json!({})),
            one("SPDX (James)", "skip_motp", json!({})),
            one(
                "Airbnb (Elijah)",
                "skip_unsupported_type",
                json!({"kind": "push"})
            ),
        ]
    );
    // The CLI's English.
    assert_eq!(
        r.skipped[0].reason.to_string(),
        "Yandex codes are not supported"
    );
    assert_eq!(r.skipped[2].reason.to_string(), "unsupported type `push`");
}

#[test]
fn andotp_motp_and_unknown_types() {
    let mut v = json_file("andotp_plain.json");
    v[0]["type"] = "MOTP".into();
    v[1]["type"] = "PUSH".into();
    let r = read(&serde_json::to_vec(&v).unwrap(), Format::AndOtp);
    assert_eq!(r.accounts.len(), 5);
    let got = skipped(&r);
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].1, &got[0].2), ("skip_motp", &json!({})));
    assert_eq!(
        (got[1].1, &got[1].2),
        ("skip_unsupported_type", &json!({"kind": "PUSH"}))
    );
    assert_eq!(got[0].0, "Deno (Mason)");
}

#[test]
fn twofas_unknown_token_type() {
    let before = read(
        &testdata("2fas_authenticator_plain_v4.2fas"),
        Format::TwoFas,
    );
    assert!(before.skipped.is_empty());
    let mut v = json_file("2fas_authenticator_plain_v4.2fas");
    v["services"][0]["otp"]["tokenType"] = "YAOTP".into();
    let r = read(&serde_json::to_vec(&v).unwrap(), Format::TwoFas);
    assert_eq!(r.accounts.len(), before.accounts.len() - 1);
    let got = skipped(&r);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].1, &got[0].2),
        ("skip_unsupported_type", &json!({"kind": "YAOTP"}))
    );
    assert!(got[0].0.contains("Deno"), "{got:?}");
}

#[test]
fn freeotp_plus_unknown_type() {
    let mut v = json_file("freeotp_plus.json");
    v["tokens"][0]["type"] = "STEAM".into();
    let r = read(&serde_json::to_vec(&v).unwrap(), Format::FreeOtpPlus);
    assert_eq!(r.accounts.len(), 5);
    assert_eq!(
        skipped(&r),
        vec![one(
            "WWE (Mason)",
            "skip_unsupported_type",
            json!({"kind": "STEAM"})
        )]
    );
}

#[test]
fn a_long_type_name_is_cut_in_the_parameter() {
    let mut v = json_file("aegis_plain.json");
    v["db"]["entries"][0]["type"] = "x".repeat(500).into();
    let r = read(&serde_json::to_vec(&v).unwrap(), Format::Aegis);
    let kind = r.skipped[0].reason.params()["kind"].as_str().unwrap().len();
    assert!(kind < 100, "{kind}");
}

#[test]
fn ente_trashed_code() {
    let text = String::from_utf8(testdata("ente_auth.txt")).unwrap();
    let first = text.lines().next().unwrap();
    let trashed = first.replace("%22trashed%22%3Afalse", "%22trashed%22%3Atrue");
    assert_ne!(trashed, first, "the fixture's first line has codeDisplay");
    let text = text.replacen(first, &trashed, 1);
    let r = read(text.as_bytes(), Format::Ente);
    assert_eq!(r.accounts.len(), 6);
    let got = skipped(&r);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].1, &got[0].2), ("skip_in_trash", &json!({})));
    assert_eq!(r.skipped[0].reason, SkipReason::InTrash);
}

/// A protobuf field: tag, wire type, payload.
fn field(number: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2, u8::try_from(value.len()).unwrap()];
    out.extend_from_slice(value);
    out
}

fn varint(number: u8, value: u8) -> Vec<u8> {
    vec![number << 3, value]
}

/// A Google Authenticator migration URI with one entry of `algorithm`, `digits` and `type`.
fn migration(algorithm: u8, digits: u8, kind: u8) -> String {
    use base64::Engine;
    let mut entry = field(1, b"Hello!\xde\xad\xbe\xef");
    entry.extend(field(2, b"alice"));
    entry.extend(field(3, b"Example"));
    entry.extend(varint(4, algorithm));
    entry.extend(varint(5, digits));
    entry.extend(varint(6, kind));
    let mut payload = field(1, &entry);
    payload.extend(varint(2, 1));
    let data = base64::engine::general_purpose::STANDARD.encode(payload);
    let data: String = data
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("otpauth-migration://offline?data={data}")
}

#[test]
fn google_migration_entries_we_cannot_read() {
    let text = [
        migration(1, 1, 2),
        migration(4, 1, 2),
        migration(7, 1, 2),
        migration(1, 3, 2),
        migration(1, 1, 5),
    ]
    .join("\n");
    let r = read(text.as_bytes(), Format::GoogleMigration);
    assert_eq!(r.accounts.len(), 1, "the first entry is a valid account");
    assert_eq!(
        skipped(&r),
        vec![
            one(
                "Example (alice)",
                "skip_unsupported_algorithm",
                json!({"algorithm": "MD5"})
            ),
            one(
                "Example (alice)",
                "skip_unknown_value",
                json!({"field": "algorithm", "value": 7})
            ),
            one(
                "Example (alice)",
                "skip_unknown_value",
                json!({"field": "digits", "value": 3})
            ),
            one(
                "Example (alice)",
                "skip_unknown_value",
                json!({"field": "type", "value": 5})
            ),
        ]
    );
}
