//! The real OS keyring (Secret Service via gnome-keyring under dbus-run-session). These run
//! when `TESSERA_TEST_KEYRING=1` (scripts/with-session.sh sets it, and CI runs the tests
//! through that script); elsewhere they say they were skipped, and in CI they fail.

use tessera_vault::{Error, KeySource, Vault};

use super::{account, clock, Tmp};

fn keyring_session() -> bool {
    tessera_core::testing::prerequisite(
        std::env::var("TESSERA_TEST_KEYRING").as_deref() == Ok("1"),
        "the real keyring session (run the tests under scripts/with-session.sh)",
    )
}

#[test]
fn keyring_vault_round_trip_and_missing_key() {
    if !keyring_session() {
        return;
    }
    let t = Tmp::new();
    let mut v = Vault::create(&t.path(), &KeySource::Keyring, clock()).unwrap();
    assert_eq!(v.key_source(), "keyring");
    v.insert(&account(4)).unwrap();
    let id = v.id().to_owned();
    drop(v);

    // The key is really in the Secret Service: secret-tool (libsecret) finds it.
    let found = std::process::Command::new("secret-tool")
        .args([
            "search",
            "service",
            "tessera",
            "username",
            &format!("vault-{id}"),
        ])
        .output();
    if let Ok(out) = found {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&format!("vault-{id}")), "{text}");
        }
    }

    let v = Vault::open(&t.path(), &KeySource::Keyring, clock()).unwrap();
    assert_eq!(v.list().unwrap()[0].account, account(4));
    drop(v);

    tessera_vault::forget_keyring_key(&id).unwrap();
    let before = t.bytes();
    let err = Vault::open(&t.path(), &KeySource::Keyring, clock()).unwrap_err();
    assert!(matches!(err, Error::KeyMissing(ref i) if *i == id), "{err}");
    assert_eq!(t.bytes(), before);
}
