//! Ente Auth's encrypted export (Argon2id + XChaCha20-Poly1305 secretstream).
//!
//! There is no real encrypted Ente file in shared/testdata, so the independent reference is
//! libsodium itself: `FIXTURE` below was made with libsodium 1.0.18's `crypto_pwhash` and
//! `crypto_secretstream_xchacha20poly1305_push` (through Python's ctypes, with the script in
//! `LIBSODIUM`) from ente_auth.txt plus two lines exercising `codeDisplay` (tags, pinned,
//! note, trashed). When python3 and libsodium are on the machine the test also runs that
//! script live in both directions.

use std::io::Write;
use std::process::{Command, Stdio};

use tessera_core::import::{self, Format, InteropError};

use super::interop_files::{assert_account, password, testdata, want};

/// Made by libsodium (see the module doc): password "test", memLimit 64 KiB, opsLimit 2.
const FIXTURE: &str = r#"{"version": 1, "kdfParams": {"memLimit": 65536, "opsLimit": 2, "salt": "YgGKveTcckn+9GAzXZSc/g=="}, "encryptedData": "YrmiOL7jZbmD1iGjld3BrT+V+JMIGIAhFUMw79AIpMuZ1b7aeeKg8Y0yPRN6C6jc3TlK6JRC40FkiE8r4V7uslB4eAwuGR6R0b4TWh/vtqq2UYNuM8AvFHPdLz/S38w3JLwDWgXquv559w73dMCIm6Re8vwNDb/qg2J/GFzt33o8is1XbrBF4EV7QMHSU6ZWl0ez8dMN2jFuY/3DlApKU9TBgv7NNskf7YdyvfnA5XDRSfjhttoOcuL4M4FMks6Eyo0sHEiX7RTwwpvOdp8/DjwQ0MLom1T+98BK8MbN9A9zhN0z46OWDdZxUo9LpkcH9YWDW5z8RFildNvcBD45/MhB70g3v3Xs953MfsVA+i7XNIu3WM9Gq92ON+n4Hs/4fkPciegFVX910BpDrLT8HKUM6x0hWO/fO6pZjVhZ/L5Dg7NfvYlW4zjTeddS8C0SQd7C7kJtAbT8vshcgMUc5IGnum+7YIRgl31nStq+uOS4SZhZOE+ORcXgl+d3HIn+re0f1dhsOXdZq6GgEX51GEqyHahVpSMB8UReVZulpgfrjjM6K4vNzRvkUzZCC5h4G2LFJz37ux6UuoPAOi1DHr0hOBCHS+zlu9ZvgP527Vy492wx5r7xlV5aWiIsOum6m/UN67UehCvdI0QL9UylfWoA/M5Db0NgRLT4rfZbsUscKVavYwp2XChAEHwM3Pt51/lPBl7z+9KGOrL2q5bU/113yOmNxYm9BPtI5YcGiWX0uHXF0k+e3OQdrqoIpjYsXWOuFuw2ZbtG2EGMmxrOMdwgg9xqZeo+izeq1e2F8QW/JSpc13F1Rg9q3kn/rvE5PqhZFX/BtZFN7yvjixq4lcCcXmcVUqGu+368Db2LyT6Roe4ant5WlG1Ks8e7BtndeHD5HJcP0Y9ROfB7mkm9pQ8NdxcohhkQgNynudugkTCOYD2Cridv2iPHNqzXLVfUppet2Zrb9XbbHVRH24JTEhQfcJ9SdrOPf+3WklTmewwx1AUA8RCak/4qfgGWsd4+EBTxQTb5d7DW0BqH9NaYJ6FVi31Y0pvmT0bqKEaXd3+ImHsxfkN6duLm2qf6pmfVKa8qD+8SfAeGvRH71nUELtkr+zfemAenVCKxuhGb2ALKRYWG8KkgAnlZ2+1YBfDXkX0qvBLQ3k2T71jQ7OQC5aiYfYJ9cu835yMBnQ+PtpNsBuUKz9o06Cl+iFaQtYVhRHrYmYoviEr7L1ZeQbFz6RjEv6BrgUBFVq6ueFlOYF/GqCfsbsycyx6IYv4XwtlDKQ/6OjMTNQUq4DfUDQrS7xiKP2kAfryiursIqJCtqq3bOhmH/XwOtv/0MpD8zqKWuqJUeQqg2QU/vdx0MYVkKyEYBQK8G743NPcUokGQZhv9vcD8uKMIFrWbxETEOlH0hJpb8wFqMbpa4yIMTKy0GAJWHVS5IiWL6vOIozs/D84lUtQH4Wp2QyvJc7oKm5twCZEhv1WrgBX9zAz7JXlDp10l8Y27vXkqJvWWvRHsrQ7nLeJftiR3Nj8FW2dH397wyKx85EUHh1TIo7TDngT9wxpcXeDMcFnSB2P2NNr29ttaEIrnrpoVjCnhq/tC4KwqqFIdXAS8T10CasLAeEVAV3BYpzR2hzwH8ivEL9MKN7B/tx3KyxzSwvGTSPjlFgH4JfraOXTdCg27JtXoZwUieh6suMXTTt265qyhiHPsG1/t8p6KwrdWQvvHX60gIusGL/06LP5uCdROZKKN/lche9P6f6O4yjF7YVBkGKuH3k0zR2G/SF50g+SFTKhpqkR/5SqO39a5nUZCgULszxcqpWzVMNwNgu7GCvSTkw9k6G1BL5XKsOD6Yt3OkODd7e/Ih8HL9lfIAuf+HScNZPfiQv4Hz6cPuC+PzA8ppPf9axHSSlQLvfgKRmCCsSlilU0BK62ylYP4dNznDeyU707y7tZgGFUEbjKS8PbEv3k2mo5OBxQGJY33y7A90a/09q/CRhPxPhmVWhDj4Bpw7FPCx6vn55w9pxKD2ruUmaqQAorPGVeb/cEriexYWTT7vF6YSO/91eC38ScUCx5XoIb3BSoG0AnaVqec9AUuZmWBedEz7pQ0YN346br3iWkpH3S2SvpBGxw22QnlEwXsjL3Oqk3PdONlgPeLETi8wE83uOVLW3Vu+TMT5FmbckGqeNcmgScvr/UYpO8Jpuyus1BitQZwPVKEkoHxe2AI6ACABnTukRo4zkk4EZx0bRVXBNU9PgURcmQ5SHtpA10p1jDQwV5rDj5O5L1iIKr/TMRSYpae17GR1AW8wm+MQZWGrpRVz2Pl1ZMM1q1/FeRlHywEetRxHeWpONzJcMBV5ofUuOv/3xJWgU800zV+mmu2VAzfA5YQW4NWi1zFU06MNK7ZyySVd6N3ZZdea9YJi5y5+hwC+w4RR8iMzUNXiGyvOPKwm6iixozhCRoreP/U2S+0KmtunpA2if8tJxMBbUTUEnWk7VNMSgaCc1MVuW6J39OA7A9lXY9bF2LrXX0jEdvu7DDQc/0D1PQdv0aLK+OECNG0npSd1/VvQ9qLd9hCEJQfdXcH8fSMqsZ8xLmInAunJitixcEkaGTOvrfbIHmSNpzgKo9oJGrd89D1am6ddjCmFlKRhG7NTVmyBhVM3+sS9CQyoeF0a33Kryn7TLW61b7ew0uPIn/FavfRXr/QyXwgbQ7zG0nmoj8yMrIVHd1PLoM7KUve/5dS5l7lLlEtfTto8sLi82cykzOSsuHjd3gK4lXfzOSomva9NnRxw4m88SLp7gzfO6J6qulhgr5s4S0AqAbBMdLoYWV6tFbLKVEq1L7FB0a5VSE4zXUuNaTuUucZcNWuyOeHIHqdi/BIZB/NntlbH0cdMDJLpTNAyQY=", "encryptionNonce": "T5sxVvjCADky0VBbVj5mBgAwWdo68zMy"}"#;

const LIBSODIUM: &str = r#"import ctypes, base64, json, sys, os
s = ctypes.CDLL("libsodium.so.23")
assert s.sodium_init() >= 0
def derive(pw, salt, ops, mem):
    key = ctypes.create_string_buffer(32)
    r = s.crypto_pwhash(key, ctypes.c_ulonglong(32), pw, ctypes.c_ulonglong(len(pw)), salt,
                        ctypes.c_ulonglong(ops), ctypes.c_size_t(mem), ctypes.c_int(2))
    assert r == 0
    return key.raw
st = ctypes.create_string_buffer(s.crypto_secretstream_xchacha20poly1305_statebytes())
mode = sys.argv[1]
if mode == "seal":
    plain = sys.stdin.buffer.read()
    pw = sys.argv[2].encode(); ops = int(sys.argv[3]); mem = int(sys.argv[4])
    salt = os.urandom(16)
    key = derive(pw, salt, ops, mem)
    header = ctypes.create_string_buffer(24)
    assert s.crypto_secretstream_xchacha20poly1305_init_push(st, header, key) == 0
    c = ctypes.create_string_buffer(len(plain) + 17); clen = ctypes.c_ulonglong()
    assert s.crypto_secretstream_xchacha20poly1305_push(st, c, ctypes.byref(clen), plain, ctypes.c_ulonglong(len(plain)), None, ctypes.c_ulonglong(0), ctypes.c_ubyte(3)) == 0
    b = lambda x: base64.b64encode(x).decode()
    print(json.dumps({"version": 1, "kdfParams": {"memLimit": mem, "opsLimit": ops, "salt": b(salt)},
                      "encryptedData": b(c.raw[:clen.value]), "encryptionNonce": b(header.raw)}))
else:
    f = json.load(sys.stdin); pw = sys.argv[2].encode(); k = f["kdfParams"]
    key = derive(pw, base64.b64decode(k["salt"]), k["opsLimit"], k["memLimit"])
    c = base64.b64decode(f["encryptedData"])
    assert s.crypto_secretstream_xchacha20poly1305_init_pull(st, base64.b64decode(f["encryptionNonce"]), key) == 0
    m = ctypes.create_string_buffer(len(c)); mlen = ctypes.c_ulonglong(); tag = ctypes.c_ubyte()
    r = s.crypto_secretstream_xchacha20poly1305_pull(st, m, ctypes.byref(mlen), ctypes.byref(tag), c, ctypes.c_ulonglong(len(c)), None, ctypes.c_ulonglong(0))
    assert r == 0, "pull failed"
    assert tag.value == 3
    sys.stdout.buffer.write(m.raw[:mlen.value])
"#;

fn check_fixture_accounts(report: &import::ImportReport) {
    // The seven accounts of ente_auth.txt, then GitHub; the trashed "Old" is listed as skipped.
    assert_eq!(report.accounts.len(), 8, "{:?}", report.skipped);
    for a in &report.accounts[..7] {
        assert_account(a, want(&a.issuer, &a.name), "ente encrypted");
    }
    let gh = &report.accounts[7];
    assert_eq!((gh.issuer.as_str(), gh.name.as_str()), ("GitHub", "alice"));
    assert_eq!(gh.secret.to_base32(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    assert!(gh.favourite, "pinned → favourite");
    assert_eq!(gh.groups, vec!["Work".to_string(), "Dev".to_string()]);
    assert_eq!(gh.note, "recovery codes in the safe");
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].name, "Old (bob)");
    assert!(report.skipped[0].reason.to_string().contains("trash"));
}

#[test]
fn reads_an_export_sealed_by_libsodium() {
    let bytes = FIXTURE.as_bytes();
    assert_eq!(import::detect(bytes), Some(Format::Ente));
    let report = import::import(bytes, None, Some("test")).unwrap();
    check_fixture_accounts(&report);
}

#[test]
fn ente_encrypted_errors() {
    let bytes = FIXTURE.as_bytes();
    assert_eq!(
        import::import(bytes, None, None).unwrap_err(),
        InteropError::PasswordRequired {
            format: Format::Ente
        }
    );
    assert_eq!(
        import::import(bytes, None, Some("wrong")).unwrap_err(),
        InteropError::WrongPasswordOrCorrupt
    );
    // A flipped bit in the ciphertext fails the Poly1305 tag.
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let data = v["encryptedData"].as_str().unwrap().to_string();
    let mut raw = base64_decode(&data);
    raw[40] ^= 1;
    v["encryptedData"] = base64_encode(&raw).into();
    let flipped = serde_json::to_vec(&v).unwrap();
    assert_eq!(
        import::import(&flipped, None, Some("test")).unwrap_err(),
        InteropError::WrongPasswordOrCorrupt
    );
    // Absurd KDF parameters are refused before Argon2 runs (this would be 1 TiB).
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    v["kdfParams"]["memLimit"] = (1u64 << 40).into();
    let costly = serde_json::to_vec(&v).unwrap();
    assert!(matches!(
        import::import(&costly, None, Some("test")).unwrap_err(),
        InteropError::KdfParamsTooCostly {
            param: "argon2 memory KiB",
            ..
        }
    ));
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    v["kdfParams"]["opsLimit"] = 1_000_000.into();
    let costly = serde_json::to_vec(&v).unwrap();
    assert!(matches!(
        import::import(&costly, None, Some("test")).unwrap_err(),
        InteropError::KdfParamsTooCostly {
            param: "argon2 iterations",
            ..
        }
    ));
    // Unknown version.
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    v["version"] = 2.into();
    let newer = serde_json::to_vec(&v).unwrap();
    assert!(matches!(
        import::import(&newer, None, Some("test")).unwrap_err(),
        InteropError::UnsupportedVersion {
            format: Format::Ente,
            ..
        }
    ));
}

#[test]
fn our_seal_reads_back() {
    let plain = String::from_utf8(testdata("ente_auth.txt")).unwrap();
    let sealed = import::seal_ente_for_tests(&plain, password(), 65536, 2).unwrap();
    let report = import::import(&sealed, None, Some("test")).unwrap();
    assert_eq!(report.accounts.len(), 7);
    for a in &report.accounts {
        assert_account(a, want(&a.issuer, &a.name), "ente round trip");
    }
}

fn libsodium_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import ctypes; ctypes.CDLL('libsodium.so.23')"])
        .status()
        .is_ok_and(|s| s.success());
    tessera_core::testing::prerequisite(
        found,
        "python3 with libsodium.so.23 (apt-get install python3 libsodium23)",
    )
}

fn run_libsodium(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(LIBSODIUM)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "libsodium script failed");
    out.stdout
}

#[test]
fn live_cross_check_with_libsodium() {
    if !libsodium_available() {
        return;
    }
    let plain = testdata("ente_auth.txt");
    // libsodium seals, we open.
    let sealed = run_libsodium(&["seal", "test", "2", "65536"], &plain);
    let report = import::import(&sealed, None, Some("test")).unwrap();
    assert_eq!(report.accounts.len(), 7);
    // We seal, libsodium opens and gets the same bytes back.
    let text = String::from_utf8(plain.clone()).unwrap();
    let ours = import::seal_ente_for_tests(&text, password(), 65536, 2).unwrap();
    assert_eq!(run_libsodium(&["open", "test"], &ours), plain);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// libsodium pads the MAC input by `len mod 16` after the ciphertext (not to a boundary):
/// every residue must agree with it, both ways.
#[test]
fn every_length_residue_agrees_with_libsodium() {
    if !libsodium_available() {
        return;
    }
    for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100] {
        let plain = "x".repeat(len);
        let sealed = run_libsodium(&["seal", "test", "1", "8192"], plain.as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let ours = import::seal_ente_for_tests(&plain, password(), 8192, 1).unwrap();
        assert_eq!(
            run_libsodium(&["open", "test"], &ours),
            plain.as_bytes(),
            "len {len}"
        );
        // Ours opens libsodium's. "xxx…" is not a URI: it decrypts, then fails as line 1; an
        // empty export has no accounts.
        let e = import::import(&sealed, Some(Format::Ente), Some("test")).unwrap_err();
        let want = if len == 0 {
            "the file has no accounts"
        } else {
            "line 1: invalid scheme"
        };
        assert!(e.to_string().starts_with(want), "len {len}: {e}; {v}");
    }
}
