use std::sync::Arc;

use tessera_core::{FixedClock, OtpType};
use tessera_vault::{Error, Vault};

use super::{account, clock, pass, Tmp};

#[test]
fn insert_list_get_find_update_remove_survive_reopen() {
    let t = Tmp::new();
    let mut v = t.create();
    let ids = v
        .insert_many(&[account(0), account(1), account(2)])
        .unwrap();
    assert_eq!(ids.len(), 3);
    let mut fav = account(2);
    fav.favourite = true;
    v.update(ids[2], &fav).unwrap();
    drop(v);

    let mut v = t.open().unwrap();
    let list = v.list().unwrap();
    let order: Vec<i64> = list.iter().map(|s| s.id).collect();
    assert_eq!(
        order,
        vec![ids[2], ids[0], ids[1]],
        "favourite first, then sort order"
    );
    assert_eq!(list[1].account, account(0));
    assert_eq!(list[1].created_at, 1_700_000_000);

    assert_eq!(v.find("issuer1").unwrap().len(), 1);
    assert_eq!(v.find("ISSUER1:user1").unwrap()[0].id, ids[1]);
    assert_eq!(v.find(&format!("#{}", ids[0])).unwrap()[0].id, ids[0]);
    assert_eq!(v.find("example.com").unwrap().len(), 3);
    assert!(v.find("#999").unwrap().is_empty());

    v.remove(ids[0]).unwrap();
    assert!(matches!(v.get(ids[0]), Err(Error::NotFound(_))));
    assert!(matches!(v.remove(ids[0]), Err(Error::NotFound(_))));
    // Ids are never reused.
    let new = v.insert(&account(5)).unwrap();
    assert!(new > ids[2]);
    assert_eq!(v.duplicates_of(&account(5)).unwrap(), vec![new]);
}

#[test]
fn invalid_accounts_write_nothing() {
    let t = Tmp::new();
    let mut v = t.create();
    v.insert(&account(0)).unwrap();
    let mut bad = account(1);
    bad.digits = 3;
    let err = v.insert_many(&[account(2), bad]).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(v.list().unwrap().len(), 1, "all or nothing");
}

#[test]
fn hotp_advance_is_atomic_across_handles() {
    let t = Tmp::new();
    let mut v = t.create();
    let mut a = account(1);
    a.counter = 0;
    let id = v.insert(&a).unwrap();
    drop(v);
    let codes: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = t.path();
                s.spawn(move || {
                    let mut v = Vault::open(&path, &pass("pw"), clock()).unwrap();
                    (0..25)
                        .map(|_| v.next_hotp(id).unwrap().value)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut want: Vec<String> = (0..100)
        .map(|c| tessera_core::otp::hotp(a.secret.as_bytes(), c, 6, a.algorithm).unwrap())
        .collect();
    let mut got = codes;
    want.sort();
    got.sort();
    assert_eq!(got, want, "each counter value handed out exactly once");
    let v = t.open().unwrap();
    assert_eq!(v.get(id).unwrap().account.counter, 100);
    assert_eq!(v.get(id).unwrap().account.otp_type, OtpType::Hotp);
}

#[test]
fn totp_code_uses_the_clock_and_records_use() {
    let t = Tmp::new();
    let clock = Arc::new(FixedClock::new(59));
    let mut v = Vault::create_with(&t.path(), &pass("pw"), super::FAST, clock).unwrap();
    let a = tessera_core::Account::totp(
        "RFC",
        "6238",
        tessera_core::Secret::from_bytes(b"12345678901234567890".to_vec()).unwrap(),
    );
    let mut a8 = a.clone();
    a8.digits = 8;
    let id = v.insert(&a8).unwrap();
    assert_eq!(v.code(id).unwrap().value, "94287082");
    assert_eq!(v.get(id).unwrap().last_used_at, Some(59));
}

#[test]
fn items_are_sealed_and_bound_to_their_place() {
    let t = Tmp::new();
    let mut v = t.create();
    v.put_item("device", "dev-1", b"private key bytes 1")
        .unwrap();
    v.put_item("device", "dev-2", b"private key bytes 2")
        .unwrap();
    v.put_item("device", "dev-1", b"private key bytes 1b")
        .unwrap();
    assert_eq!(
        v.get_item("device", "dev-1").unwrap().unwrap().as_slice(),
        b"private key bytes 1b"
    );
    assert_eq!(v.list_items("device").unwrap().len(), 2);
    assert!(v.delete_item("device", "dev-2").unwrap());
    assert!(!v.delete_item("device", "dev-2").unwrap());
    assert!(v.get_item("device", "dev-2").unwrap().is_none());
    drop(v);
    assert!(!super::contains(&t.bytes(), b"private key bytes"));

    // A sealed value moved to another key fails authentication.
    let conn = rusqlite_conn(&t);
    conn.execute("UPDATE items SET key = 'dev-9' WHERE key = 'dev-1'", [])
        .unwrap();
    drop(conn);
    let v = t.open().unwrap();
    assert!(matches!(
        v.get_item("device", "dev-9"),
        Err(Error::Corrupt(_))
    ));
}

pub fn rusqlite_conn(t: &Tmp) -> rusqlite::Connection {
    rusqlite::Connection::open(t.path()).unwrap()
}

#[test]
fn the_file_reveals_no_secret_and_no_name() {
    let t = Tmp::new();
    let mut v = t.create();
    let a = account(7);
    v.insert(&a).unwrap();
    v.put_item("settings", "theme", b"dark").unwrap();
    drop(v);
    let bytes = t.bytes();
    assert!(!bytes.is_empty());
    for needle in [
        a.issuer.as_bytes(),
        a.name.as_bytes(),
        a.secret.as_bytes(),
        a.secret.to_base32().as_bytes(),
        b"example.com".as_slice(),
    ] {
        assert!(
            !super::contains(&bytes, needle),
            "found {:?}",
            String::from_utf8_lossy(needle)
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
