//! Every way opening can fail gets its own error, and none of them touches the file.

use tessera_vault::{Error, Vault};

use super::accounts::rusqlite_conn;
use super::{account, clock, pass, Tmp};

fn assert_unchanged(t: &Tmp, before: &[u8]) {
    assert_eq!(t.bytes(), before, "the vault file must not change");
}

#[test]
fn wrong_passphrase() {
    let t = Tmp::new();
    let mut v = t.create();
    v.insert(&account(1)).unwrap();
    drop(v);
    let before = t.bytes();
    let err = Vault::open(&t.path(), &pass("not it"), clock()).unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");
    assert_unchanged(&t, &before);
    assert_eq!(t.open().unwrap().list().unwrap().len(), 1);
}

#[test]
fn wrong_key_source() {
    let t = Tmp::new();
    drop(t.create());
    let err = Vault::open(&t.path(), &tessera_vault::KeySource::Keyring, clock()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongKeySource {
                expected: "passphrase",
                given: "keyring"
            }
        ),
        "{err}"
    );
}

#[test]
fn key_source_is_read_without_a_key() {
    let t = Tmp::new();
    assert!(matches!(
        Vault::key_source_of(&t.path()),
        Err(Error::Missing(_))
    ));
    drop(t.create());
    let before = t.bytes();
    assert_eq!(Vault::key_source_of(&t.path()).unwrap(), "passphrase");
    assert_eq!(t.bytes(), before, "reading the key source must not write");
    std::fs::write(t.path(), b"hello world, just text").unwrap();
    assert!(matches!(
        Vault::key_source_of(&t.path()),
        Err(Error::NotAVault(_))
    ));
}

#[test]
fn not_a_vault() {
    let t = Tmp::new();
    for content in [&b""[..], b"hello world, just text", &[0u8; 4096]] {
        std::fs::write(t.path(), content).unwrap();
        let err = t.open().unwrap_err();
        assert!(matches!(err, Error::NotAVault(_)), "{err}");
        assert_eq!(std::fs::read(t.path()).unwrap(), content);
    }
    // Another application's SQLite database.
    std::fs::remove_file(t.path()).unwrap();
    let c = rusqlite::Connection::open(t.path()).unwrap();
    c.execute_batch("CREATE TABLE x (a); INSERT INTO x VALUES (1);")
        .unwrap();
    drop(c);
    let before = std::fs::read(t.path()).unwrap();
    let err = t.open().unwrap_err();
    assert!(matches!(err, Error::NotAVault(_)), "{err}");
    assert_eq!(std::fs::read(t.path()).unwrap(), before);
}

#[test]
fn missing_file_is_not_created() {
    let t = Tmp::new();
    let err = t.open().unwrap_err();
    assert!(matches!(err, Error::Missing(_)), "{err}");
    assert!(!t.path().exists());
}

#[test]
fn create_never_overwrites() {
    let t = Tmp::new();
    std::fs::write(t.path(), b"precious").unwrap();
    let err = Vault::create_with(&t.path(), &pass("pw"), super::FAST, clock()).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    assert_eq!(std::fs::read(t.path()).unwrap(), b"precious");
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(t.dir.path()).unwrap().count(), 1);
}

#[test]
fn newer_schema_is_refused() {
    let t = Tmp::new();
    drop(t.create());
    rusqlite_conn(&t)
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = t.open().unwrap_err();
    assert!(
        matches!(err, Error::NewerVersion { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn a_tampered_account_is_corrupt_not_a_wrong_passphrase() {
    let t = Tmp::new();
    let mut v = t.create();
    let id = v.insert(&account(3)).unwrap();
    drop(v);
    let c = rusqlite_conn(&t);
    let mut blob: Vec<u8> = c
        .query_row("SELECT sealed FROM accounts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    let last = blob.len() - 1;
    blob[last] ^= 0x01;
    c.execute(
        "UPDATE accounts SET sealed = ?1 WHERE id = ?2",
        rusqlite::params![blob, id],
    )
    .unwrap();
    drop(c);
    let v = t.open().unwrap();
    let err = v.list().unwrap_err();
    assert!(
        matches!(err, Error::Corrupt(ref m) if m.contains(&format!("#{id}"))),
        "{err}"
    );
}

#[test]
fn a_damaged_file_is_corrupt() {
    let t = Tmp::new();
    let mut v = t.create();
    v.insert_many(&(0..200).map(account).collect::<Vec<_>>())
        .unwrap();
    drop(v);
    // Checkpoint so everything is in the main file, then smash pages past the header.
    rusqlite_conn(&t)
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let mut bytes = std::fs::read(t.path()).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len] {
        *b = 0xA5;
    }
    std::fs::write(t.path(), &bytes).unwrap();
    let result = t.open().and_then(|v| v.list());
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
}

#[test]
fn absurd_stored_kdf_parameters_are_refused_quickly() {
    let t = Tmp::new();
    drop(t.create());
    rusqlite_conn(&t)
        .execute(
            "UPDATE meta SET value = ?1 WHERE name = 'kdf'",
            [br#"{"memory_kib":4294967295,"iterations":1000000,"parallelism":1}"#.to_vec()],
        )
        .unwrap();
    let err = t.open().unwrap_err();
    assert!(
        matches!(err, Error::Corrupt(ref m) if m.contains("KDF")),
        "{err}"
    );
}

#[test]
fn empty_passphrase_and_weak_kdf_refused_at_creation() {
    let t = Tmp::new();
    let err = Vault::create_with(&t.path(), &pass(""), super::FAST, clock()).unwrap_err();
    assert!(matches!(err, Error::Weak(_)), "{err}");
    let weak = tessera_vault::KdfParams {
        memory_kib: 1024,
        ..super::FAST
    };
    let err = Vault::create_with(&t.path(), &pass("pw"), weak, clock()).unwrap_err();
    assert!(matches!(err, Error::Weak(_)), "{err}");
    assert!(!t.path().exists());
}
