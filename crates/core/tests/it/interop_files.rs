//! Every real export file in tests/data/imports/ (made by the other apps; copied from the
//! project's shared test data, see its README),
//! imported and checked field by field against the seven accounts the files hold.

use std::path::PathBuf;

use tessera_core::import::{self, Format, ImportReport, InteropError};
use tessera_core::{Account, Algorithm, OtpType};

pub fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/imports")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn password() -> &'static str {
    "test"
}

/// One of the seven accounts, written out by hand from the README and plain.txt (not parsed
/// by our code, so a parser bug cannot hide in the expectation).
pub struct Want {
    pub issuer: &'static str,
    pub name: &'static str,
    pub otp_type: OtpType,
    pub secret: &'static str,
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
    pub counter: u64,
}

pub const SEVEN: [Want; 7] = [
    Want {
        issuer: "Deno",
        name: "Mason",
        otp_type: OtpType::Totp,
        secret: "4SJHB4GSD43FZBAI7C2HLRJGPQ",
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
        counter: 0,
    },
    Want {
        issuer: "SPDX",
        name: "James",
        otp_type: OtpType::Totp,
        secret: "5OM4WOOGPLQEF6UGN3CPEOOLWU",
        algorithm: Algorithm::Sha256,
        digits: 7,
        period: 20,
        counter: 0,
    },
    Want {
        issuer: "Airbnb",
        name: "Elijah",
        otp_type: OtpType::Totp,
        secret: "7ELGJSGXNCCTV3O6LKJWYFV2RA",
        algorithm: Algorithm::Sha512,
        digits: 8,
        period: 50,
        counter: 0,
    },
    Want {
        issuer: "Issuu",
        name: "James",
        otp_type: OtpType::Hotp,
        secret: "YOOMIXWS5GN6RTBPUFFWKTW5M4",
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
        counter: 1,
    },
    Want {
        issuer: "Air Canada",
        name: "Benjamin",
        otp_type: OtpType::Hotp,
        secret: "KUVJJOM753IHTNDSZVCNKL7GII",
        algorithm: Algorithm::Sha256,
        digits: 7,
        period: 30,
        counter: 50,
    },
    Want {
        issuer: "WWE",
        name: "Mason",
        otp_type: OtpType::Hotp,
        secret: "5VAML3X35THCEBVRLV24CGBKOY",
        algorithm: Algorithm::Sha512,
        digits: 8,
        period: 30,
        counter: 10300,
    },
    Want {
        issuer: "Boeing",
        name: "Sophia",
        otp_type: OtpType::Steam,
        secret: "JRZCL47CMXVOQMNPZR2F7J4RGI",
        algorithm: Algorithm::Sha1,
        digits: 5,
        period: 30,
        counter: 0,
    },
];

pub fn want(issuer: &str, name: &str) -> &'static Want {
    SEVEN
        .iter()
        .find(|w| w.issuer == issuer && w.name == name)
        .unwrap_or_else(|| panic!("no expected account {issuer}:{name}"))
}

/// Asserts every field the format carries. `counter` only matters for HOTP and `period` only
/// for TOTP/Steam, as in the other apps.
pub fn assert_account(a: &Account, w: &Want, ctx: &str) {
    let who = format!("{ctx}: {}:{}", w.issuer, w.name);
    assert_eq!(a.issuer, w.issuer, "{who} issuer");
    assert_eq!(a.name, w.name, "{who} name");
    assert_eq!(a.otp_type, w.otp_type, "{who} type");
    assert_eq!(a.secret.to_base32(), w.secret, "{who} secret");
    assert_eq!(a.algorithm, w.algorithm, "{who} algorithm");
    assert_eq!(a.digits, w.digits, "{who} digits");
    match w.otp_type {
        OtpType::Hotp => assert_eq!(a.counter, w.counter, "{who} counter"),
        OtpType::Totp | OtpType::Steam => assert_eq!(a.period, w.period, "{who} period"),
    }
    a.validate().unwrap();
}

/// Asserts the report holds exactly `keys` ("Issuer:Name", in file order), each field-checked.
fn check(report: &ImportReport, keys: &[(&str, &str)], ctx: &str) {
    assert!(
        report.skipped.is_empty(),
        "{ctx}: skipped {:?}",
        report.skipped
    );
    let got: Vec<(String, String)> = report
        .accounts
        .iter()
        .map(|a| (a.issuer.clone(), a.name.clone()))
        .collect();
    let wanted: Vec<(String, String)> = keys
        .iter()
        .map(|(i, n)| (i.to_string(), n.to_string()))
        .collect();
    assert_eq!(got, wanted, "{ctx}: accounts");
    for a in &report.accounts {
        assert_account(a, want(&a.issuer, &a.name), ctx);
    }
}

const ALL: [(&str, &str); 7] = [
    ("Deno", "Mason"),
    ("SPDX", "James"),
    ("Airbnb", "Elijah"),
    ("Issuu", "James"),
    ("Air Canada", "Benjamin"),
    ("WWE", "Mason"),
    ("Boeing", "Sophia"),
];

fn read(file: &str, format: Format, pw: Option<&str>) -> ImportReport {
    let bytes = testdata(file);
    assert_eq!(
        import::detect(&bytes),
        Some(format),
        "{file}: detected format"
    );
    let auto = import::import(&bytes, None, pw).unwrap_or_else(|e| panic!("{file}: {e}"));
    let explicit = import::import(&bytes, Some(format), pw).unwrap();
    assert_eq!(auto.accounts, explicit.accounts);
    assert_eq!(auto.format, format);
    auto
}

#[test]
fn aegis_plain() {
    let r = read("aegis_plain.json", Format::Aegis, None);
    check(&r, &ALL, "aegis plain");
}

#[test]
fn aegis_encrypted() {
    let r = read("aegis_encrypted.json", Format::Aegis, Some("test"));
    check(&r, &ALL, "aegis encrypted");
}

#[test]
fn twofas_plain_v4() {
    let r = read("2fas_authenticator_plain_v4.2fas", Format::TwoFas, None);
    // The 2FAS file holds the five accounts its maker entered (no SHA-256/512 TOTP).
    check(
        &r,
        &[
            ("Deno", "Mason"),
            ("Issuu", "James"),
            ("Air Canada", "Benjamin"),
            ("WWE", "Mason"),
            ("Boeing", "Sophia"),
        ],
        "2fas plain",
    );
}

#[test]
fn twofas_encrypted_v4() {
    let r = read(
        "2fas_authenticator_encrypted_v4.2fas",
        Format::TwoFas,
        Some("test"),
    );
    check(
        &r,
        &[
            ("Deno", "Mason"),
            ("Issuu", "James"),
            ("Air Canada", "Benjamin"),
            ("WWE", "Mason"),
            ("Boeing", "Sophia"),
        ],
        "2fas encrypted",
    );
}

#[test]
fn andotp_plain() {
    let r = read("andotp_plain.json", Format::AndOtp, None);
    check(&r, &ALL, "andotp plain");
    // andOTP's thumbnail becomes the icon hint; "Default" means none.
    assert_eq!(r.accounts[2].icon.as_deref(), Some("airbnb"));
    assert_eq!(r.accounts[0].icon, None);
}

#[test]
fn andotp_encrypted() {
    let r = read("andotp_encrypted.bin", Format::AndOtp, Some("test"));
    check(&r, &ALL, "andotp encrypted");
}

#[test]
fn bitwarden_json() {
    let r = read("bitwarden.json", Format::BitwardenJson, None);
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.accounts.len(), 4);
    for a in &r.accounts[..3] {
        assert_account(a, want(&a.issuer, &a.name), "bitwarden json");
    }
    // steam://SECRET carries no label: the item's name is the issuer.
    let steam = &r.accounts[3];
    assert_eq!(steam.issuer, "Test Steam");
    assert_eq!(steam.name, "");
    let w = want("Boeing", "Sophia");
    assert_eq!(steam.otp_type, OtpType::Steam);
    assert_eq!(steam.secret.to_base32(), w.secret);
    assert_eq!((steam.digits, steam.period), (5, 30));
}

#[test]
fn bitwarden_csv() {
    let r = read("bitwarden.csv", Format::BitwardenCsv, None);
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.accounts.len(), 4);
    for a in &r.accounts[..3] {
        assert_account(a, want(&a.issuer, &a.name), "bitwarden csv");
    }
    let steam = &r.accounts[3];
    assert_eq!(steam.issuer, "Test 4");
    assert_eq!(steam.otp_type, OtpType::Steam);
    assert_eq!(steam.secret.to_base32(), want("Boeing", "Sophia").secret);
}

#[test]
fn freeotp_plus() {
    let r = read("freeotp_plus.json", Format::FreeOtpPlus, None);
    // FreeOTP+ has no Steam; its file lists tokens newest first. Counters are stored as the
    // last one used, so 10299/49/0 in the file are 10300/50/1 next.
    check(
        &r,
        &[
            ("WWE", "Mason"),
            ("Air Canada", "Benjamin"),
            ("Issuu", "James"),
            ("Airbnb", "Elijah"),
            ("SPDX", "James"),
            ("Deno", "Mason"),
        ],
        "freeotp+",
    );
}

#[test]
fn ente_plain() {
    let r = read("ente_auth.txt", Format::Ente, None);
    check(
        &r,
        &[
            ("Air Canada", "Benjamin"),
            ("Airbnb", "Elijah"),
            ("Boeing", "Sophia"),
            ("Deno", "Mason"),
            ("Issuu", "James"),
            ("SPDX", "James"),
            ("WWE", "Mason"),
        ],
        "ente",
    );
    assert!(r
        .accounts
        .iter()
        .all(|a| !a.favourite && a.groups.is_empty()));
}

#[test]
fn proton() {
    let r = read("proton_authenticator.json", Format::Proton, None);
    check(
        &r,
        &[("Deno", "Mason"), ("SPDX", "James"), ("Airbnb", "Elijah")],
        "proton",
    );
}

#[test]
fn uri_list() {
    let r = read("plain.txt", Format::UriList, None);
    check(&r, &ALL, "uri list");
}

#[test]
fn encrypted_files_ask_for_a_password() {
    for (file, format) in [
        ("aegis_encrypted.json", Format::Aegis),
        ("2fas_authenticator_encrypted_v4.2fas", Format::TwoFas),
        ("andotp_encrypted.bin", Format::AndOtp),
    ] {
        let err = import::import(&testdata(file), None, None).unwrap_err();
        assert_eq!(err, InteropError::PasswordRequired { format }, "{file}");
    }
}

#[test]
fn wrong_passwords_are_reported_as_such() {
    let wrong = "not the password";
    let aegis = import::import(&testdata("aegis_encrypted.json"), None, Some(wrong));
    assert_eq!(aegis.unwrap_err(), InteropError::WrongPassword);
    let twofas = import::import(
        &testdata("2fas_authenticator_encrypted_v4.2fas"),
        None,
        Some(wrong),
    );
    assert_eq!(twofas.unwrap_err(), InteropError::WrongPassword);
    // andOTP has no key check: a wrong password and damage look the same.
    let andotp = import::import(&testdata("andotp_encrypted.bin"), None, Some(wrong));
    assert_eq!(andotp.unwrap_err(), InteropError::WrongPasswordOrCorrupt);
}
