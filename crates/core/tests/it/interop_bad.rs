//! Every bad input gets its own typed error, and no error message carries a secret.

use proptest::prelude::*;
use serde_json::Value;
use tessera_core::import::{self, kdf, Format, InteropError, Password, MAX_INPUT_BYTES};
use tessera_core::{backup, Account, Algorithm, OtpType, Secret};

use super::interop_files::{password, testdata};
use super::interop_roundtrip::accounts;

const CHEAP: backup::KdfParams = backup::KdfParams {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

fn err(bytes: &[u8], pw: Option<&str>) -> InteropError {
    import::import(bytes, None, pw).unwrap_err()
}

fn json(file: &str) -> Value {
    serde_json::from_slice(&testdata(file)).unwrap()
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Flips one bit of a hex string field.
fn flip_hex(s: &str) -> String {
    let mut b = data_encoding::HEXLOWER_PERMISSIVE
        .decode(s.as_bytes())
        .unwrap();
    b[0] ^= 0x01;
    data_encoding::HEXLOWER.encode(&b)
}

#[test]
fn aegis_flipped_bits() {
    // In the content: the key check (the slot) passes, the content's tag fails.
    let mut v = json("aegis_encrypted.json");
    v["header"]["params"]["tag"] = flip_hex(v["header"]["params"]["tag"].as_str().unwrap()).into();
    assert!(matches!(
        err(&to_bytes(&v), Some("test")),
        InteropError::Corrupt { .. }
    ));
    let mut v = json("aegis_encrypted.json");
    let db = v["db"].as_str().unwrap().replacen('R', "S", 1);
    v["db"] = db.into();
    assert!(matches!(
        err(&to_bytes(&v), Some("test")),
        InteropError::Corrupt { .. }
    ));
    // In the slot's encrypted key: no slot opens, which is what a wrong password looks like.
    let mut v = json("aegis_encrypted.json");
    let slot = &mut v["header"]["slots"][0];
    slot["key"] = flip_hex(slot["key"].as_str().unwrap()).into();
    assert_eq!(
        err(&to_bytes(&v), Some("test")),
        InteropError::WrongPassword
    );
}

#[test]
fn aegis_truncated_and_trailing_garbage() {
    let bytes = testdata("aegis_encrypted.json");
    let cut = &bytes[..bytes.len() / 2];
    for format in [Some(Format::Aegis), None] {
        assert!(matches!(
            import::import(cut, format, Some("test")).unwrap_err(),
            InteropError::Truncated { .. }
        ));
    }
    let mut extra = bytes.clone();
    extra.extend_from_slice(b"\n{\"more\": 1}");
    assert_eq!(
        err(&extra, Some("test")),
        InteropError::TrailingGarbage {
            offset: bytes.len()
        }
    );
    let plain = testdata("aegis_plain.json");
    let mut extra = plain.clone();
    extra.extend_from_slice(b"garbage");
    assert!(matches!(
        import::import(&extra, Some(Format::Aegis), None).unwrap_err(),
        InteropError::TrailingGarbage { .. }
    ));
}

#[test]
fn aegis_absurd_scrypt_parameters_are_refused_before_running() {
    for (field, value, param) in [
        ("n", 1u64 << 40, "scrypt N"),
        ("r", 1 << 20, "scrypt r"),
        ("p", 1 << 20, "scrypt p"),
    ] {
        let mut v = json("aegis_encrypted.json");
        v["header"]["slots"][0][field] = value.into();
        match err(&to_bytes(&v), Some("test")) {
            InteropError::KdfParamsTooCostly {
                param: p,
                value: got,
                ..
            } => {
                assert_eq!((p, got), (param, value), "{field}")
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    // Within each cap but too much memory together: N = 2^20, r = 32 → 4 GiB.
    let mut v = json("aegis_encrypted.json");
    v["header"]["slots"][0]["n"] = (1u64 << 20).into();
    v["header"]["slots"][0]["r"] = 32.into();
    assert!(matches!(
        err(&to_bytes(&v), Some("test")),
        InteropError::KdfParamsTooCostly {
            param: "scrypt memory bytes",
            ..
        }
    ));
    // Many slots, each a scrypt run.
    let mut v = json("aegis_encrypted.json");
    let slot = v["header"]["slots"][0].clone();
    v["header"]["slots"] = Value::Array(vec![slot; kdf::MAX_PASSWORD_SLOTS + 1]);
    assert!(matches!(
        err(&to_bytes(&v), Some("test")),
        InteropError::KdfParamsTooCostly {
            param: "password slots",
            ..
        }
    ));
}

#[test]
fn aegis_versions() {
    let mut v = json("aegis_plain.json");
    v["version"] = 2.into();
    assert!(matches!(
        err(&to_bytes(&v), None),
        InteropError::UnsupportedVersion {
            format: Format::Aegis,
            ..
        }
    ));
    let mut v = json("aegis_plain.json");
    v["db"]["version"] = 4.into();
    assert!(matches!(
        err(&to_bytes(&v), None),
        InteropError::UnsupportedVersion {
            format: Format::Aegis,
            ..
        }
    ));
}

#[test]
fn aegis_types_we_lack_are_listed_by_name() {
    let mut v = json("aegis_plain.json");
    v["db"]["entries"][0]["type"] = "yandex".into();
    v["db"]["entries"][1]["type"] = "motp".into();
    let r = import::import(&to_bytes(&v), None, None).unwrap();
    assert_eq!(r.accounts.len(), 5);
    let skipped: Vec<(&str, String)> = r
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason.to_string()))
        .collect();
    assert_eq!(
        skipped[0],
        ("Deno (Mason)", "Yandex codes are not supported".to_owned())
    );
    assert_eq!(
        skipped[1],
        ("SPDX (James)", "mOTP codes are not supported".to_owned())
    );
    assert_eq!(skipped.len(), 2);
}

#[test]
fn an_invalid_entry_fails_the_whole_import_naming_it() {
    let mut v = json("aegis_plain.json");
    v["db"]["entries"][2]["info"]["secret"] = "not base32!".into();
    match err(&to_bytes(&v), None) {
        InteropError::Entry { entry, error } => {
            assert_eq!(entry, "Airbnb (Elijah)");
            assert_eq!(error.field(), Some(tessera_core::error::Field::Secret));
        }
        other => panic!("{other:?}"),
    }
    let mut v = json("aegis_plain.json");
    v["db"]["entries"][0]["info"]["digits"] = 99.into();
    let e = err(&to_bytes(&v), None);
    assert!(
        e.to_string().starts_with("Deno (Mason): invalid digits"),
        "{e}"
    );
    let list = "# a comment first\notpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\n\notpauth://totp/B:b?secret=JBSWY3DPEHPK3PXP&period=0\n";
    let e = err(list.as_bytes(), None);
    assert!(e.to_string().starts_with("line 4: invalid period"), "{e}");
    assert_eq!(
        err(b"# only a comment\n", None),
        InteropError::UnknownFormat {
            known: import::known_formats()
        }
    );
    assert_eq!(
        import::import(b"# only a comment\n", Some(Format::UriList), None).unwrap_err(),
        InteropError::Empty
    );
}

#[test]
fn aegis_groups_v2_names_and_v3_uuids() {
    let mut v = json("aegis_plain.json");
    v["db"]["version"] = 2.into();
    v["db"]["entries"][0]["group"] = "Personal".into();
    let r = import::import(&to_bytes(&v), None, None).unwrap();
    assert_eq!(r.accounts[0].groups, vec!["Personal".to_string()]);
    let mut v = json("aegis_plain.json");
    v["db"]["version"] = 3.into();
    v["db"]["groups"] =
        serde_json::json!([{"uuid": "11111111-1111-4111-8111-111111111111", "name": "Work"}]);
    v["db"]["entries"][1]["groups"] = serde_json::json!(["11111111-1111-4111-8111-111111111111"]);
    v["db"]["entries"][1]["note"] = "a note".into();
    v["db"]["entries"][1]["favorite"] = true.into();
    let r = import::import(&to_bytes(&v), None, None).unwrap();
    assert_eq!(r.accounts[1].groups, vec!["Work".to_string()]);
    assert_eq!(r.accounts[1].note, "a note");
    assert!(r.accounts[1].favourite);
}

#[test]
fn twofas_flipped_bit_and_versions() {
    let mut v = json("2fas_authenticator_encrypted_v4.2fas");
    let sealed = v["servicesEncrypted"]
        .as_str()
        .unwrap()
        .replacen('P', "Q", 1);
    v["servicesEncrypted"] = sealed.into();
    // The reference (key check) still opens: the services are damaged, the password is right.
    assert!(matches!(
        err(&to_bytes(&v), Some("test")),
        InteropError::Corrupt { .. }
    ));
    let mut v = json("2fas_authenticator_plain_v4.2fas");
    v["schemaVersion"] = 5.into();
    assert!(matches!(
        err(&to_bytes(&v), None),
        InteropError::UnsupportedVersion {
            format: Format::TwoFas,
            ..
        }
    ));
    // Schema 1: no tokenType, no groups; TOTP with defaults.
    let v1 = br#"{"schemaVersion":1,"services":[{"name":"Old","secret":"JBSWY3DPEHPK3PXP","otp":{"account":"me"}}]}"#;
    let r = import::import(v1, None, None).unwrap();
    let a = &r.accounts[0];
    assert_eq!(
        (
            a.issuer.as_str(),
            a.name.as_str(),
            a.otp_type,
            a.digits,
            a.period
        ),
        ("Old", "me", OtpType::Totp, 6, 30)
    );
}

#[test]
fn twofas_groups() {
    let mut v = json("2fas_authenticator_plain_v4.2fas");
    v["groups"] = serde_json::json!([{"id": "g1", "name": "Banks", "isExpanded": true}]);
    v["services"][0]["groupId"] = "g1".into();
    let r = import::import(&to_bytes(&v), None, None).unwrap();
    assert_eq!(r.accounts[0].groups, vec!["Banks".to_string()]);
    assert!(r.accounts[1].groups.is_empty());
}

#[test]
fn andotp_encrypted_bad_inputs() {
    let bytes = testdata("andotp_encrypted.bin");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x80;
    assert_eq!(
        err(&flipped, Some("test")),
        InteropError::WrongPasswordOrCorrupt
    );
    assert!(matches!(
        import::import(&bytes[..20], Some(Format::AndOtp), Some("test")).unwrap_err(),
        InteropError::Truncated { .. }
    ));
    let mut costly = bytes.clone();
    costly[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        import::import(&costly, Some(Format::AndOtp), Some("test")).unwrap_err(),
        InteropError::KdfParamsTooCostly {
            param: "pbkdf2 iterations",
            ..
        }
    ));
}

#[test]
fn andotp_old_encrypted_format() {
    // The old format: nonce ‖ AES-256-GCM(SHA-256(password)). Made here with RustCrypto.
    use aes_gcm::aead::{Aead, KeyInit};
    let plain = testdata("andotp_plain.json");
    let key = ring::digest::digest(&ring::digest::SHA256, b"test");
    let nonce = [7u8; 12];
    let ct = aes_gcm::Aes256Gcm::new_from_slice(key.as_ref())
        .unwrap()
        .encrypt(aes_gcm::Nonce::from_slice(&nonce), plain.as_slice())
        .unwrap();
    let mut file = nonce.to_vec();
    file.extend(ct);
    let r = import::import(&file, Some(Format::AndOtp), Some("test")).unwrap();
    assert_eq!(r.accounts.len(), 7);
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    assert_eq!(
        err(&big, None),
        InteropError::TooLarge {
            len: MAX_INPUT_BYTES + 1,
            max: MAX_INPUT_BYTES
        }
    );
    assert!(matches!(
        backup::open(&big, password()).unwrap_err(),
        InteropError::TooLarge { .. }
    ));
}

#[test]
fn deeply_nested_json_is_refused() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        err(deep.as_bytes(), None),
        InteropError::TooDeep { max: 64 }
    );
    let deep_obj = format!("{{\"services\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
    assert_eq!(
        import::import(deep_obj.as_bytes(), Some(Format::TwoFas), None).unwrap_err(),
        InteropError::TooDeep { max: 64 }
    );
    // Brackets inside strings do not count.
    let fine = format!("[{{\"secret\":\"{}\"}}]", "[".repeat(1000));
    let e = import::import(fine.as_bytes(), Some(Format::AndOtp), None).unwrap_err();
    assert!(
        matches!(e, InteropError::Entry { .. }),
        "read, then refused for its secret: {e:?}"
    );
}

#[test]
fn unknown_input() {
    assert_eq!(
        err(b"hello, world\n", None),
        InteropError::UnknownFormat {
            known: import::known_formats()
        }
    );
    assert_eq!(
        err(b"{\"what\": 1}", None),
        InteropError::UnknownFormat {
            known: import::known_formats()
        }
    );
    // An image (say, a screenshot of a QR code) is not mistaken for an encrypted andOTP file.
    let png =
        tessera_core::export::google::qr_png("otpauth://totp/A?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(import::detect(&png), None);
    assert!(matches!(
        "nope".parse::<Format>(),
        Err(InteropError::UnknownFormatName(_))
    ));
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
    }
}

#[test]
fn bitwarden_bad_entries_are_listed_and_encrypted_exports_refused() {
    let mut v = json("bitwarden.json");
    v["items"][0]["login"]["totp"] = "definitely not a secret!".into();
    assert!(
        matches!(err(&to_bytes(&v), None), InteropError::Entry { entry, .. } if entry == "Test 1")
    );
    v["encrypted"] = true.into();
    assert!(matches!(
        err(&to_bytes(&v), None),
        InteropError::Unsupported { .. }
    ));
    let ragged = b"folder,favorite,type,name,notes,fields,login_uri,login_username,login_password,login_totp\n,,login,x\n";
    assert!(matches!(
        err(ragged, None),
        InteropError::Malformed {
            format: Format::BitwardenCsv,
            ..
        }
    ));
}

fn sealed() -> Vec<u8> {
    backup::seal_with(&accounts(), password(), CHEAP).unwrap()
}

#[test]
fn backup_bad_inputs() {
    let bytes = sealed();
    assert_eq!(
        backup::open(&bytes, "nope").unwrap_err(),
        InteropError::WrongPassword
    );
    // A flipped bit in the ciphertext, and in the header (authenticated as AAD: the nonce).
    let mut flipped = bytes.clone();
    let at = backup::HEADER_LEN + 5;
    flipped[at] ^= 1;
    assert!(matches!(
        backup::open(&flipped, password()).unwrap_err(),
        InteropError::Corrupt { .. }
    ));
    let mut flipped = bytes.clone();
    flipped[14 + 2 + 12 + 16] ^= 1; // first nonce byte
    assert!(matches!(
        backup::open(&flipped, password()).unwrap_err(),
        InteropError::Corrupt { .. }
    ));
    // Truncated anywhere.
    for cut in [
        0,
        10,
        20,
        backup::HEADER_LEN - 1,
        backup::HEADER_LEN + 3,
        bytes.len() - 1,
    ] {
        let err = backup::open(&bytes[..cut], password()).unwrap_err();
        assert!(
            matches!(
                err,
                InteropError::Truncated { .. } | InteropError::Malformed { .. }
            ),
            "cut at {cut}: {err:?}"
        );
    }
    assert!(matches!(
        backup::open(&bytes[..bytes.len() - 1], password()).unwrap_err(),
        InteropError::Truncated { .. }
    ));
    let mut extra = bytes.clone();
    extra.push(0);
    assert_eq!(
        backup::open(&extra, password()).unwrap_err(),
        InteropError::TrailingGarbage {
            offset: bytes.len()
        }
    );
    // Version.
    let mut newer = bytes.clone();
    newer[14] = 2;
    assert!(matches!(
        backup::open(&newer, password()).unwrap_err(),
        InteropError::UnsupportedVersion { .. }
    ));
    // Absurd Argon2 parameters, refused before running.
    let mut costly = bytes.clone();
    costly[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        backup::open(&costly, password()).unwrap_err(),
        InteropError::KdfParamsTooCostly {
            param: "argon2 memory KiB",
            ..
        }
    ));
    let mut costly = bytes.clone();
    costly[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(matches!(
        backup::open(&costly, password()).unwrap_err(),
        InteropError::KdfParamsTooCostly {
            param: "argon2 iterations",
            ..
        }
    ));
    // Not a backup.
    assert!(matches!(
        backup::open(b"TESSERA-NOTBAK\x01", password()).unwrap_err(),
        InteropError::Malformed { .. }
    ));
    // Through the importer: a password is required.
    assert_eq!(
        err(&bytes, None),
        InteropError::PasswordRequired {
            format: Format::TesseraBackup
        }
    );
}

#[test]
fn no_error_message_carries_a_secret_or_password() {
    let secrets: Vec<String> = accounts().iter().map(|a| a.secret.to_base32()).collect();
    let pw = "hunter2-very-secret";
    let mut messages = Vec::new();
    let mut v = json("aegis_plain.json");
    v["db"]["entries"][0]["info"]["secret"] = 12345.into();
    messages.push(err(&to_bytes(&v), None).to_string());
    let mut v = json("aegis_plain.json");
    v["db"]["entries"][0]["info"]["secret"] = "4SJHB4GSD43FZBAI7C2HLRJGPQ!".into();
    messages.push(err(&to_bytes(&v), None).to_string());
    let mut v = json("aegis_plain.json");
    v["db"]["entries"][0]["info"] = serde_json::json!({"secret": ["4SJHB4GSD43FZBAI7C2HLRJGPQ"]});
    messages.push(err(&to_bytes(&v), None).to_string());
    messages.push(err(&testdata("aegis_encrypted.json"), Some(pw)).to_string());
    messages.push(backup::open(&sealed(), pw).unwrap_err().to_string());
    messages.push(format!("{:?}", Password::new(pw)));
    for m in &messages {
        assert!(!m.contains(pw), "{m}");
        for s in &secrets {
            assert!(!m.contains(s.as_str()), "{m}");
        }
        assert!(!m.contains("4SJHB4GSD43FZBAI"), "{m}");
    }
}

fn account_strategy() -> impl Strategy<Value = Account> {
    (
        "[A-Za-z0-9 .é-]{0,20}",
        "[A-Za-z0-9@+._ü-]{1,20}",
        prop::collection::vec(any::<u8>(), 1..64),
        0..3u8,
        0..3u8,
        6..=10u8,
        1..=300u32,
        any::<u64>(),
        prop::collection::vec("[A-Za-z][A-Za-z0-9 ]{0,10}", 0..3),
        "[^\u{0}-\u{1f}]{0,40}",
        any::<bool>(),
        prop::option::of("[a-z0-9-]{1,12}"),
    )
        .prop_map(
            |(issuer, name, secret, ty, alg, digits, period, counter, groups, note, fav, icon)| {
                let mut a = Account::totp(issuer, name, Secret::from_bytes(secret).unwrap());
                a.algorithm =
                    [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][usize::from(alg)];
                a.digits = digits;
                a.period = period;
                a.counter = counter;
                match ty {
                    0 => {}
                    1 => a.otp_type = OtpType::Hotp,
                    _ => {
                        a.otp_type = OtpType::Steam;
                        a.digits = 5;
                        a.algorithm = Algorithm::Sha1;
                    }
                }
                a.groups = groups;
                a.note = note;
                a.favourite = fav;
                a.icon = icon;
                a
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn backup_round_trips_any_accounts(accounts in prop::collection::vec(account_strategy(), 0..6)) {
        for a in &accounts {
            prop_assume!(a.validate().is_ok());
        }
        let pw = "p";
        let bytes = backup::seal_with(&accounts, pw, CHEAP).unwrap();
        prop_assert_eq!(backup::open(&bytes, pw).unwrap(), accounts);
    }

    #[test]
    fn importers_never_panic_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for f in Format::ALL {
            let _ = import::import(&bytes, Some(f), None);
        }
        let _ = import::import(&bytes, None, None);
    }
}
