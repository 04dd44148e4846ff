//! Every exporter, read back by our importers; the Aegis export checked field by field against
//! Aegis' documented vault format (docs/vault.md), decrypted without our importer.

use std::io::Write;
use std::process::{Command, Stdio};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use data_encoding::HEXLOWER;
use serde_json::Value;
use tessera_core::export::{aegis, google, uri_list};
use tessera_core::import::{self, Format};
use tessera_core::{backup, Account, Algorithm, OtpType, Secret};

use super::interop_files::SEVEN;

/// The seven accounts of the test files plus two with everything Tessera keeps.
pub fn accounts() -> Vec<Account> {
    let mut out: Vec<Account> = SEVEN
        .iter()
        .map(|w| {
            let mut a = Account::totp(w.issuer, w.name, Secret::from_base32(w.secret).unwrap());
            a.otp_type = w.otp_type;
            a.algorithm = w.algorithm;
            a.digits = w.digits;
            a.period = w.period;
            a.counter = w.counter;
            a
        })
        .collect();
    let mut rich = Account::totp(
        "Ünïcødé Bank",
        "zoë+2fa@example.com",
        Secret::from_bytes((0u8..20).collect()).unwrap(),
    );
    rich.groups = vec!["Work".into(), "Finance".into()];
    rich.note = "PIN is in the safe; \"quotes\" & <tags>".into();
    rich.favourite = true;
    rich.icon = Some("bank".into());
    out.push(rich);
    let mut hotp = Account::totp(
        "Example",
        "counter",
        Secret::from_bytes(vec![0xAB; 32]).unwrap(),
    );
    hotp.otp_type = OtpType::Hotp;
    hotp.counter = 1 << 40;
    hotp.algorithm = Algorithm::Sha256;
    hotp.groups = vec!["Work".into()];
    out.push(hotp);
    out
}

/// Equality on what a format carries: the OTP parameters always; groups/note/favourite where
/// the format has them; the icon only in Tessera's backup.
fn assert_same(got: &[Account], want: &[Account], ctx: &str, groups_notes: bool) {
    assert_eq!(got.len(), want.len(), "{ctx}: count");
    for (g, w) in got.iter().zip(want) {
        let who = format!("{ctx}: {}", w.display_name());
        assert_eq!(g.issuer, w.issuer, "{who}");
        assert_eq!(g.name, w.name, "{who}");
        assert_eq!(g.otp_type, w.otp_type, "{who}");
        assert_eq!(g.secret, w.secret, "{who}");
        assert_eq!(g.algorithm, w.algorithm, "{who}");
        assert_eq!(g.digits, w.digits, "{who}");
        if w.otp_type == OtpType::Hotp {
            assert_eq!(g.counter, w.counter, "{who}");
        } else {
            assert_eq!(g.period, w.period, "{who}");
        }
        if groups_notes {
            assert_eq!(g.groups, w.groups, "{who}");
            assert_eq!(g.note, w.note, "{who}");
            assert_eq!(g.favourite, w.favourite, "{who}");
        }
    }
}

#[test]
fn aegis_plain_round_trip() {
    let bytes = aegis::plain(&accounts()).unwrap();
    assert_eq!(import::detect(&bytes), Some(Format::Aegis));
    let r = import::import(&bytes, None, None).unwrap();
    assert!(r.skipped.is_empty());
    assert_same(&r.accounts, &accounts(), "aegis plain", true);
}

#[test]
fn aegis_encrypted_round_trip() {
    let pw = "correct horse";
    let bytes = aegis::encrypted(&accounts(), pw).unwrap();
    let r = import::import(&bytes, None, Some(pw)).unwrap();
    assert_same(&r.accounts, &accounts(), "aegis encrypted", true);
}

fn hex(v: &Value) -> Vec<u8> {
    HEXLOWER.decode(v.as_str().unwrap().as_bytes()).unwrap()
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with('4')
}

/// Checks a decrypted Aegis content object against docs/vault.md and our accounts.
fn check_aegis_db(db: &Value, want: &[Account]) {
    assert_eq!(db["version"], 3, "content version 3 (groups as UUIDs)");
    let groups = db["groups"].as_array().unwrap();
    let group_name = |uuid: &Value| -> String {
        groups
            .iter()
            .find(|g| &g["uuid"] == uuid)
            .map(|g| g["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    for g in groups {
        assert!(is_uuid_v4(g["uuid"].as_str().unwrap()));
    }
    let entries = db["entries"].as_array().unwrap();
    assert_eq!(entries.len(), want.len());
    for (e, a) in entries.iter().zip(want) {
        let ty = match a.otp_type {
            OtpType::Totp => "totp",
            OtpType::Hotp => "hotp",
            OtpType::Steam => "steam",
        };
        assert_eq!(e["type"], ty);
        assert!(is_uuid_v4(e["uuid"].as_str().unwrap()));
        assert_eq!(e["name"], a.name.as_str());
        assert_eq!(e["issuer"], a.issuer.as_str());
        assert_eq!(e["note"], a.note.as_str());
        assert_eq!(e["favorite"], a.favourite);
        assert!(e["icon"].is_null());
        let info = &e["info"];
        // "The secret is encoded in Base32 without padding."
        let secret = info["secret"].as_str().unwrap();
        assert!(!secret.contains('='));
        assert_eq!(
            data_encoding::BASE32_NOPAD
                .decode(secret.as_bytes())
                .unwrap(),
            a.secret.as_bytes()
        );
        assert_eq!(info["algo"], a.algorithm.as_str());
        assert_eq!(info["digits"], a.digits);
        if a.otp_type == OtpType::Hotp {
            assert_eq!(info["counter"], a.counter);
            assert!(info.get("period").is_none());
        } else {
            assert_eq!(info["period"], a.period);
            assert!(info.get("counter").is_none());
        }
        let names: Vec<String> = e["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(group_name)
            .collect();
        assert_eq!(names, a.groups);
    }
}

#[test]
fn aegis_plain_export_follows_the_documented_format() {
    let v: Value = serde_json::from_slice(&aegis::plain(&accounts()).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    // "Setting slots and params to null indicates that the vault is not encrypted."
    assert!(v["header"]["slots"].is_null());
    assert!(v["header"]["params"].is_null());
    check_aegis_db(&v["db"], &accounts());
}

/// Decrypts our encrypted Aegis export the way docs/vault.md describes, with RustCrypto's
/// scrypt and AES-GCM directly (not our importer).
#[test]
fn aegis_encrypted_export_follows_the_documented_format() {
    let pw = "correct horse";
    let v: Value = serde_json::from_slice(&aegis::encrypted(&accounts(), pw).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    let slots = v["header"]["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 1);
    let slot = &slots[0];
    assert_eq!(slot["type"], 1, "a password slot");
    assert!(is_uuid_v4(slot["uuid"].as_str().unwrap()));
    assert_eq!(
        (slot["n"].clone(), slot["r"].clone(), slot["p"].clone()),
        (32768.into(), 8.into(), 1.into())
    );
    let salt = hex(&slot["salt"]);
    assert_eq!(salt.len(), 32, "256-bit salt");
    let slot_nonce = hex(&slot["key_params"]["nonce"]);
    let slot_tag = hex(&slot["key_params"]["tag"]);
    let mut slot_key = hex(&slot["key"]);
    assert_eq!(
        (slot_nonce.len(), slot_tag.len(), slot_key.len()),
        (12, 16, 32)
    );
    let params = &v["header"]["params"];
    let nonce = hex(&params["nonce"]);
    let tag = hex(&params["tag"]);
    assert_eq!((nonce.len(), tag.len()), (12, 16));

    let mut derived = [0u8; 32];
    scrypt::scrypt(
        b"correct horse",
        &salt,
        &scrypt::Params::new(15, 8, 1, 32).unwrap(),
        &mut derived,
    )
    .unwrap();
    slot_key.extend(slot_tag);
    let master = aes_gcm::Aes256Gcm::new_from_slice(&derived)
        .unwrap()
        .decrypt(
            aes_gcm::Nonce::from_slice(&slot_nonce),
            Payload {
                msg: &slot_key,
                aad: &[],
            },
        )
        .unwrap();
    use base64::Engine;
    let mut db = base64::engine::general_purpose::STANDARD
        .decode(v["db"].as_str().unwrap())
        .unwrap();
    db.extend(tag);
    let plain = aes_gcm::Aes256Gcm::new_from_slice(&master)
        .unwrap()
        .decrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload { msg: &db, aad: &[] },
        )
        .unwrap();
    check_aegis_db(&serde_json::from_slice(&plain).unwrap(), &accounts());
}

/// The same decryption in Python (hashlib.scrypt + cryptography's AESGCM), the tools Aegis'
/// own decrypt script uses; run when they are installed.
#[test]
fn aegis_encrypted_export_decrypts_with_python_cryptography() {
    const SCRIPT: &str = r#"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
v = json.load(sys.stdin)
slot = [s for s in v["header"]["slots"] if s["type"] == 1][0]
key = hashlib.scrypt(b"correct horse", salt=bytes.fromhex(slot["salt"]), n=slot["n"], r=slot["r"], p=slot["p"], dklen=32, maxmem=2**27)
kp = slot["key_params"]
master = AESGCM(key).decrypt(bytes.fromhex(kp["nonce"]), bytes.fromhex(slot["key"]) + bytes.fromhex(kp["tag"]), None)
p = v["header"]["params"]
db = AESGCM(master).decrypt(bytes.fromhex(p["nonce"]), base64.b64decode(v["db"]) + bytes.fromhex(p["tag"]), None)
sys.stdout.write(db.decode())
"#;
    let available = Command::new("python3")
        .args(["-c", "import cryptography, hashlib; hashlib.scrypt"])
        .status()
        .is_ok_and(|s| s.success());
    if !tessera_core::testing::prerequisite(
        available,
        "python3 with cryptography (apt-get install python3-cryptography)",
    ) {
        return;
    }
    let pw = "correct horse";
    let bytes = aegis::encrypted(&accounts(), pw).unwrap();
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    check_aegis_db(&serde_json::from_slice(&out.stdout).unwrap(), &accounts());
}

#[test]
fn uri_list_round_trip() {
    let text = uri_list::to_text(&accounts());
    assert_eq!(text.lines().count(), accounts().len());
    assert_eq!(import::detect(text.as_bytes()), Some(Format::UriList));
    let r = import::import(text.as_bytes(), None, None).unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_same(&r.accounts, &accounts(), "uri list", false);
}

#[test]
fn google_qr_round_trip_through_the_png() {
    let all = accounts();
    let export = google::export(&all).unwrap();
    // Google carries neither Steam nor other periods than 30 s nor 7 digits.
    let skipped: Vec<&str> = export.skipped.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "SPDX (James)",
            "Airbnb (Elijah)",
            "Air Canada (Benjamin)",
            "Boeing (Sophia)"
        ]
    );
    let carried: Vec<Account> = all
        .iter()
        .filter(|a| !skipped.contains(&a.display_name().as_str()))
        .cloned()
        .collect();
    assert_eq!(export.pngs.len(), export.uris.len());
    let mut lines = String::new();
    for (png, uri) in export.pngs.iter().zip(&export.uris) {
        // Read the image back, not the URI we kept.
        let found = tessera_core::qr::decode_image_bytes(png).unwrap();
        assert_eq!(found, vec![uri.clone()]);
        lines.push_str(&found[0]);
        lines.push('\n');
    }
    assert_eq!(
        import::detect(lines.as_bytes()),
        Some(Format::GoogleMigration)
    );
    let r = import::import(lines.as_bytes(), None, None).unwrap();
    assert_same(&r.accounts, &carried, "google", false);
}

#[test]
fn google_qr_png_reads_with_zbarimg() {
    let export = google::export(&accounts()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.png");
    std::fs::write(&path, &export.pngs[0]).unwrap();
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&path)
        .output()
        .expect("zbarimg is installed");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        export.uris[0]
    );
}

#[test]
fn google_html_page_is_self_contained() {
    let export = google::export(&accounts()).unwrap();
    let html = export.html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    let imgs: Vec<&str> = html.split("data:image/png;base64,").skip(1).collect();
    assert_eq!(imgs.len(), export.pngs.len());
    use base64::Engine;
    let first = imgs[0].split('"').next().unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(first)
        .unwrap();
    assert_eq!(png, export.pngs[0]);
    // Names are escaped; skipped accounts are listed.
    assert!(html.contains("Boeing (Sophia)"));
    assert!(!html.contains("<tags>"));
}

#[test]
fn tessera_backup_round_trip_keeps_every_field() {
    let pw = "backup password";
    let cheap = backup::KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };
    let bytes = backup::seal_with(&accounts(), pw, cheap).unwrap();
    assert_eq!(import::detect(&bytes), Some(Format::TesseraBackup));
    let r = import::import(&bytes, None, Some(pw)).unwrap();
    // Account's equality covers every field, icon included.
    assert_eq!(r.accounts, accounts());
    assert_eq!(backup::open(&bytes, pw).unwrap(), accounts());
}

#[test]
fn tessera_backup_default_parameters_round_trip() {
    let pw = "backup password";
    let bytes = backup::seal(&accounts()[..1], pw).unwrap();
    assert_eq!(backup::open(&bytes, pw).unwrap(), accounts()[..1].to_vec());
}

#[test]
fn test_restore_compares_without_importing() {
    let pw = "pw";
    let cheap = backup::KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };
    let all = accounts();
    let bytes = backup::seal_with(&all, pw, cheap).unwrap();
    let mut vault: Vec<Account> = all[..5].to_vec();
    vault[0].note = "edited since".into();
    vault.push(Account::totp(
        "Only",
        "in vault",
        Secret::from_bytes(vec![1; 20]).unwrap(),
    ));
    let check = backup::test_restore(&bytes, pw, &vault).unwrap();
    assert_eq!(
        check,
        backup::RestoreCheck {
            in_backup: all.len(),
            identical: 4,
            changed: 1,
            only_in_backup: all.len() - 5,
            missing_from_backup: 1,
        }
    );
}

#[test]
fn duplicates_are_found_by_secret_issuer_and_name() {
    let existing = accounts();
    let mut new = accounts()[..2].to_vec();
    new[1].digits = 8; // Same identity, other parameters: still a duplicate.
    new.push(Account::totp(
        "New",
        "one",
        Secret::from_bytes(vec![9; 20]).unwrap(),
    ));
    assert_eq!(
        import::find_duplicates(&existing, &new),
        vec![(0, 0), (1, 1)]
    );
}
