//! One test body, two engines: every test runs on SQLite, and on PostgreSQL too (a fresh
//! database each) when [`PG_ENV`] names a server (`scripts/pg-cluster.sh` starts one).

use super::*;
use crate::store::pg::device::PgDeviceStore;
use crate::store::pg::{Note, Pg};

/// The PostgreSQL server to run on as well, when set.
pub(crate) const PG_ENV: &str = "TESSERA_TEST_DATABASE_URL";

/// One engine's test database. [`Engine::open`] connects anew each time, so opening twice
/// proves durability: a second SQLite connection to the file, a second pool to the
/// PostgreSQL database (as a second server instance would).
pub(crate) enum Engine {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Engine {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Engine::Sqlite(_) => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }

    pub(crate) fn open(&self) -> Box<dyn DeviceStore> {
        match self {
            Engine::Sqlite(dir) => {
                Box::new(SqliteDeviceStore::open(&dir.path().join("d.db")).unwrap())
            }
            Engine::Postgres(url) => Box::new(pg_store(url)),
        }
    }
}

/// SQLite always; PostgreSQL too when [`PG_ENV`] is set. Each names itself on stderr, so a
/// failure's output says which engine failed.
pub(crate) fn engines() -> Vec<Engine> {
    let mut all = vec![Engine::Sqlite(tempfile::tempdir().unwrap())];
    all.extend(pg_database().map(Engine::Postgres));
    all
}

/// A fresh database on the [`PG_ENV`] server, if set.
pub(crate) fn pg_database() -> Option<String> {
    let admin = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
    let name = format!("t_{}", crate::crypto::random_id("").unwrap());
    Some(crate::store::pg::create_database(&admin, &name).unwrap())
}

/// A store on its own pool (one server instance).
fn pg_store(url: &str) -> PgDeviceStore {
    PgDeviceStore::new(Pg::connect(url, Default::default()).unwrap())
}

fn push(tx: &str, user: &str, now: u64) -> PushRecord {
    PushRecord {
        transaction_id: tx.into(),
        user_id: user.into(),
        nonce: "n".into(),
        number: 42,
        number_choices: vec![],
        context: PushContext::default(),
        device_networks: DeviceNetworks::new(),
        created_at: now,
        expires_at: now + 120,
        state: PushState::Pending,
        device_id: None,
        reason: None,
    }
}

fn approval(tx: &str, now: u64) -> PushDecision<'_> {
    PushDecision {
        transaction_id: tx,
        state: PushState::Approved,
        device_id: Some("dev"),
        reason: "approved",
        pause_until: None,
        now,
    }
}

/// A pending QR login `lsi`, valid from 100 to 220.
fn qr_session(lsi: &str) -> QrSession {
    QrSession {
        lsi: lsi.into(),
        dsi_hash: [3; 32],
        context: PushContext::default(),
        device_networks: DeviceNetworks::new(),
        created_at: 100,
        expires_at: 220,
        state: QrState::Pending,
        user_id: None,
        device_id: None,
    }
}

#[test]
fn an_approval_is_consumed_once_and_only_by_its_user() {
    for e in engines() {
        eprintln!("engine: {}", e.name());
        let s = e.open();
        s.insert_push(&push("t1", "u1", 100)).unwrap();
        assert!(
            !s.consume_push("t1", "u1", 101).unwrap(),
            "pending: nothing to use"
        );
        assert!(s.decide_push(&approval("t1", 102)).unwrap());
        assert!(
            !s.consume_push("t1", "u2", 103).unwrap(),
            "another user's approval"
        );
        assert!(s.consume_push("t1", "u1", 103).unwrap());
        assert!(!s.consume_push("t1", "u1", 104).unwrap(), "used once");
        let kinds: Vec<String> = s
            .audit_log(Some("u1"), 10)
            .unwrap()
            .into_iter()
            .map(|a| a.kind)
            .collect();
        assert!(kinds.iter().any(|k| k == "push.consumed"), "{kinds:?}");
    }
}

#[test]
fn push_decides_exactly_once_and_survives_reopen() {
    for e in engines() {
        eprintln!("engine: {}", e.name());
        {
            let s = e.open();
            s.insert_push(&push("t1", "u1", 100)).unwrap();
        }
        let s = e.open();
        assert_eq!(s.synchronous().unwrap(), 2, "commits are durable");
        assert_eq!(s.pending_pushes("u1", 101).unwrap().len(), 1);
        assert_eq!(s.count_pending_pushes(101).unwrap(), 1);
        assert_eq!(s.count_pushes_since("u1", 100).unwrap(), 1);
        assert_eq!(s.count_pushes_since("u1", 101).unwrap(), 0);
        assert!(s.pending_pushes("u1", 220).unwrap().is_empty(), "expired");
        assert_eq!(s.count_pending_pushes(220).unwrap(), 0);
        let d = approval("t1", 110);
        assert!(s.decide_push(&d).unwrap());
        let again = PushDecision {
            state: PushState::Denied,
            reason: "denied",
            ..d
        };
        assert!(!s.decide_push(&again).unwrap(), "second decision must lose");
        let stored = s.push("t1").unwrap().unwrap();
        assert_eq!(stored.state, PushState::Approved);
        assert_eq!(stored.device_id.as_deref(), Some("dev"));
        assert_eq!(stored.reason.as_deref(), Some("approved"));
        assert!(s.push("t2").unwrap().is_none());
        let log = s.audit_log(Some("u1"), 10).unwrap();
        assert_eq!(log[0].kind, "push.approved");
        assert_eq!(log[0].detail, "transaction t1");
        assert_eq!(
            log.iter().filter(|a| a.kind.starts_with("push.")).count(),
            2,
            "created and approved; the losing decision is not audited: {log:?}"
        );
    }
}

#[test]
fn a_push_round_trips_every_field() {
    use tessera_core::device::DeviceNetwork;
    for e in engines() {
        eprintln!("engine: {}", e.name());
        let s = e.open();
        let mut p = push("t1", "u1", 100);
        p.number = 87;
        p.number_choices = vec![12, 87, 45];
        p.context.application = "Payroll".into();
        p.context.ip = "203.0.113.9".into();
        p.device_networks.insert(
            "dev".into(),
            NetworkCheck {
                network: DeviceNetwork::Same,
                prefix: "203.0.113.0/24".into(),
            },
        );
        s.insert_push(&p).unwrap();
        assert_eq!(s.push("t1").unwrap().unwrap(), p);
        assert_eq!(s.pending_pushes("u1", 101).unwrap(), vec![p]);
    }
}

#[test]
fn not_me_pauses_and_nonces_are_single_use() {
    for e in engines() {
        eprintln!("engine: {}", e.name());
        let s = e.open();
        s.insert_push(&push("t", "u", 100)).unwrap();
        assert!(s
            .decide_push(&PushDecision {
                transaction_id: "t",
                state: PushState::Denied,
                device_id: Some("d"),
                reason: "not_me",
                pause_until: Some(1000),
                now: 101,
            })
            .unwrap());
        assert_eq!(s.paused_until("u", 500).unwrap(), Some(1000));
        assert_eq!(s.paused_until("u", 1000).unwrap(), None);
        assert_eq!(s.paused_until("other", 500).unwrap(), None);
        // A second "not me" never shortens the pause.
        s.insert_push(&push("t2", "u", 200)).unwrap();
        assert!(s
            .decide_push(&PushDecision {
                transaction_id: "t2",
                state: PushState::Denied,
                device_id: Some("d"),
                reason: "not_me",
                pause_until: Some(800),
                now: 201,
            })
            .unwrap());
        assert_eq!(s.paused_until("u", 500).unwrap(), Some(1000));
        assert!(s.remember_nonce("d", "x", 200, 100).unwrap());
        assert!(!s.remember_nonce("d", "x", 200, 150).unwrap());
        assert!(
            s.remember_nonce("d2", "x", 200, 150).unwrap(),
            "nonces are per device"
        );
        assert!(
            s.remember_nonce("d", "x", 400, 300).unwrap(),
            "old nonce swept"
        );
    }
}

/// An offer for user `u`, valid from 100 to 700, code hash `[1; 32]` when inserted.
fn offer() -> EnrollOffer {
    EnrollOffer {
        id: "o".into(),
        user_id: "u".into(),
        username: "alice".into(),
        created_at: 100,
        expires_at: 700,
        enrollment_id: None,
        challenge: None,
    }
}

/// Device `dev` of user `u`, enrolled at 102 from 198.51.100.7.
fn device_record() -> DeviceRecord {
    DeviceRecord {
        id: "dev".into(),
        user_id: "u".into(),
        name: "n".into(),
        platform: "cli".into(),
        algorithm: SignatureAlgorithm::Es256,
        public_key: vec![4; 65],
        user_verification: false,
        created_at: 102,
        last_ip: Some("198.51.100.7".into()),
    }
}

#[test]
fn offers_are_single_use() {
    for e in engines() {
        eprintln!("engine: {}", e.name());
        let s = e.open();
        s.insert_offer(&offer(), [1; 32]).unwrap();
        assert!(s
            .begin_enrollment([2; 32], "e", "c", 101)
            .unwrap()
            .is_none());
        assert!(s
            .begin_enrollment([1; 32], "e", "c", 800)
            .unwrap()
            .is_none());
        let got = s.begin_enrollment([1; 32], "e", "c", 101).unwrap().unwrap();
        assert_eq!(got.challenge.as_deref(), Some("c"));
        assert_eq!(s.find_enrollment("e", 101).unwrap(), Some(got));
        assert!(s.find_enrollment("e", 700).unwrap().is_none(), "expired");
        let dev = DeviceRecord {
            user_verification: true,
            ..device_record()
        };
        assert!(s.finish_enrollment("e", &dev, 102).unwrap());
        assert_eq!(s.device("dev").unwrap().as_ref(), Some(&dev));
        let dev2 = DeviceRecord {
            id: "dev2".into(),
            ..dev
        };
        assert!(!s.finish_enrollment("e", &dev2, 103).unwrap());
        assert!(s.find_enrollment("e", 103).unwrap().is_none(), "used");
        assert!(s
            .begin_enrollment([1; 32], "e2", "c", 104)
            .unwrap()
            .is_none());
        assert_eq!(s.devices_of("u").unwrap().len(), 1);
        assert!(s.delete_device("dev", 105).unwrap());
        assert!(!s.delete_device("dev", 106).unwrap(), "gone already");
        assert!(s.device("dev").unwrap().is_none());
        let kinds: Vec<String> = s
            .audit_log(None, 10)
            .unwrap()
            .into_iter()
            .map(|a| a.kind)
            .collect();
        assert_eq!(
            kinds,
            ["device.removed", "device.enrolled", "device.offer_created"],
            "newest first, one row per change"
        );
    }
}

#[test]
fn the_last_ip_survives_a_reopen_and_a_qr_check_is_first_wins() {
    use tessera_core::device::DeviceNetwork;
    for e in engines() {
        eprintln!("engine: {}", e.name());
        {
            let s = e.open();
            s.insert_offer(&offer(), [1; 32]).unwrap();
            s.begin_enrollment([1; 32], "e", "c", 101).unwrap().unwrap();
            let dev = device_record();
            assert!(s.finish_enrollment("e", &dev, 102).unwrap());
            s.set_last_ip("dev", "203.0.113.7").unwrap();
        }
        let s = e.open();
        assert_eq!(
            s.device("dev").unwrap().unwrap().last_ip.as_deref(),
            Some("203.0.113.7")
        );
        s.insert_qr(&qr_session("L")).unwrap();
        let first = NetworkCheck {
            network: DeviceNetwork::Different,
            prefix: "203.0.113.0/24".into(),
        };
        let later = NetworkCheck {
            network: DeviceNetwork::Same,
            prefix: "198.51.100.0/24".into(),
        };
        assert_eq!(
            s.qr_device_network("L", "dev", &first).unwrap(),
            Some(first.clone())
        );
        assert_eq!(
            s.qr_device_network("L", "dev", &later).unwrap(),
            Some(first.clone()),
            "the first check stays: the device signs what it was shown"
        );
        assert_eq!(
            s.qr_device_network("L", "dev2", &later).unwrap(),
            Some(later.clone()),
            "each device has its own"
        );
        let stored = e.open().qr("L").unwrap().unwrap();
        assert_eq!(stored.device_networks["dev"], first);
        assert_eq!(stored.device_networks["dev2"], later);
        assert_eq!(s.qr_device_network("nope", "dev", &later).unwrap(), None);
    }
}

#[test]
fn qr_sessions_redeem_once() {
    for e in engines() {
        eprintln!("engine: {}", e.name());
        let s = e.open();
        s.insert_qr(&qr_session("L")).unwrap();
        assert_eq!(s.qr("L").unwrap().unwrap(), qr_session("L"));
        assert!(s.qr("M").unwrap().is_none());
        assert!(!s.redeem_qr("L", 101).unwrap(), "not approved yet");
        assert!(s
            .decide_qr("L", QrState::Approved, Some("u"), Some("d"), 102)
            .unwrap());
        assert!(!s
            .decide_qr("L", QrState::Denied, Some("u"), Some("d"), 103)
            .unwrap());
        assert!(!s.redeem_qr("L", 220).unwrap(), "expired");
        assert!(s.redeem_qr("L", 104).unwrap());
        assert!(!s.redeem_qr("L", 105).unwrap());
        let stored = s.qr("L").unwrap().unwrap();
        assert_eq!(stored.state, QrState::Redeemed);
        assert_eq!(stored.user_id.as_deref(), Some("u"));
        assert_eq!(stored.device_id.as_deref(), Some("d"));
        let kinds: Vec<String> = s
            .audit_log(Some("u"), 10)
            .unwrap()
            .into_iter()
            .map(|a| a.kind)
            .collect();
        assert_eq!(kinds, ["qr_login.redeemed", "qr_login.approved"]);
    }
}

/// What one instance got in a round of [`two_instances_race_and_exactly_one_wins`].
#[derive(Debug)]
struct Won {
    enrolled: bool,
    nonce: bool,
    push: bool,
    consume: bool,
    check: Option<NetworkCheck>,
    qr: bool,
    redeem: bool,
}

/// Each step starts on both instances at once (the barrier), deciding differently.
fn race(s: &PgDeviceStore, go: &std::sync::Barrier, n: usize, me: &'static str) -> Won {
    let (t, c, lsi) = (format!("t{n}"), format!("c{n}"), format!("L{n}"));
    let (state, reason) = if me == "a" {
        (PushState::Approved, "approved")
    } else {
        (PushState::Denied, "denied")
    };
    go.wait();
    let device = DeviceRecord {
        id: format!("dev{n}{me}"),
        ..device_record()
    };
    let enrolled = s.finish_enrollment(&format!("e{n}"), &device, 110).unwrap();
    go.wait();
    let nonce = s.remember_nonce("dev", &format!("n{n}"), 200, 110).unwrap();
    go.wait();
    let push = s
        .decide_push(&PushDecision {
            transaction_id: &t,
            state,
            device_id: Some(me),
            reason,
            pause_until: None,
            now: 110,
        })
        .unwrap();
    go.wait();
    let consume = s.consume_push(&c, "u", 110).unwrap();
    go.wait();
    let mine = NetworkCheck {
        network: tessera_core::device::DeviceNetwork::Unknown,
        prefix: me.into(),
    };
    let check = s.qr_device_network(&lsi, "dev", &mine).unwrap();
    go.wait();
    let qr = s
        .decide_qr(&lsi, QrState::Approved, Some("u"), Some(me), 110)
        .unwrap();
    go.wait();
    let redeem = s.redeem_qr(&lsi, 111).unwrap();
    Won {
        enrolled,
        nonce,
        push,
        consume,
        check,
        qr,
        redeem,
    }
}

/// Two server instances (two pools) on one PostgreSQL database: nothing in the process
/// serialises them, only the database's conditional updates.
#[test]
fn two_instances_race_and_exactly_one_wins() {
    let Some(url) = pg_database() else {
        return; // SQLite: one file, one writer at a time; nothing to race.
    };
    let (a, b) = (pg_store(&url), pg_store(&url));
    const ROUNDS: usize = 40;
    for n in 0..ROUNDS {
        a.insert_push(&push(&format!("t{n}"), "u", 100)).unwrap();
        let c = format!("c{n}");
        a.insert_push(&push(&c, "u", 100)).unwrap();
        assert!(a.decide_push(&approval(&c, 101)).unwrap());
        a.insert_qr(&qr_session(&format!("L{n}"))).unwrap();
        let code = [u8::try_from(n).unwrap(); 32];
        let o = EnrollOffer {
            id: format!("o{n}"),
            ..offer()
        };
        a.insert_offer(&o, code).unwrap();
        let e = format!("e{n}");
        a.begin_enrollment(code, &e, "c", 101).unwrap().unwrap();
    }
    let go = std::sync::Barrier::new(2);
    let mut push_wins = [0; 2];
    for n in 0..ROUNDS {
        let (wa, wb) = std::thread::scope(|s| {
            let ha = s.spawn(|| race(&a, &go, n, "a"));
            let hb = s.spawn(|| race(&b, &go, n, "b"));
            (ha.join().unwrap(), hb.join().unwrap())
        });
        assert!(
            wa.enrolled ^ wb.enrolled,
            "round {n}: one device per offer: {wa:?} {wb:?}"
        );
        assert!(
            wa.nonce ^ wb.nonce,
            "round {n}: a nonce is used once: {wa:?} {wb:?}"
        );
        assert!(
            wa.push ^ wb.push,
            "round {n}: one decision wins: {wa:?} {wb:?}"
        );
        assert!(
            wa.consume ^ wb.consume,
            "round {n}: one consumption: {wa:?} {wb:?}"
        );
        assert!(wa.qr ^ wb.qr, "round {n}: one QR decision: {wa:?} {wb:?}");
        assert!(
            wa.redeem ^ wb.redeem,
            "round {n}: one redemption: {wa:?} {wb:?}"
        );
        push_wins[usize::from(wb.push)] += 1;
        let t = b.push(&format!("t{n}")).unwrap().unwrap();
        let (state, device) = if wa.push {
            (PushState::Approved, "a")
        } else {
            (PushState::Denied, "b")
        };
        assert_eq!((t.state, t.device_id.as_deref()), (state, Some(device)));
        let qr = a.qr(&format!("L{n}")).unwrap().unwrap();
        assert!(wa.check.is_some(), "round {n}");
        assert_eq!(
            wa.check, wb.check,
            "round {n}: both are told the first check"
        );
        assert_eq!(
            qr.device_networks.get("dev"),
            wa.check.as_ref(),
            "round {n}"
        );
        assert_eq!(qr.state, QrState::Redeemed);
        assert_eq!(qr.device_id.as_deref(), Some(if wa.qr { "a" } else { "b" }));
    }
    // Only the winners' changes are audited.
    let log = a.audit_log(Some("u"), 10_000).unwrap();
    let count = |kind: &str| log.iter().filter(|r| r.kind == kind).count();
    assert_eq!(
        count("push.approved") + count("push.denied"),
        2 * ROUNDS,
        "one decision per race plus the approvals set up for consumption"
    );
    assert_eq!(count("push.consumed"), ROUNDS);
    assert_eq!(count("qr_login.approved"), ROUNDS);
    assert_eq!(count("qr_login.redeemed"), ROUNDS);
    assert_eq!(count("device.enrolled"), ROUNDS);
    assert_eq!(a.devices_of("u").unwrap().len(), ROUNDS);
    eprintln!("push races won by a / b: {push_wins:?}");
}

/// Waits (up to a second) for the payload `want`; any other payload heard meanwhile is
/// returned in `others`.
fn hear(
    notes: &mut tokio::sync::broadcast::Receiver<Note>,
    want: &str,
    others: &mut Vec<String>,
) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        match notes.try_recv() {
            Ok(Note::Payload(p)) if &*p == want => return true,
            Ok(Note::Payload(p)) => others.push(p.to_string()),
            Ok(Note::Resync) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("notes: {e}"),
        }
    }
    false
}

/// Another instance (another pool) hears of new pushes and of decisions, from the
/// transaction that made them, and of nothing for a change that did not happen.
#[test]
fn new_pushes_and_decisions_wake_the_other_instances() {
    use crate::store::pg::notify::{decided_payload, push_payload};
    let Some(url) = pg_database() else {
        return; // SQLite: one process, nobody else to wake.
    };
    let a = pg_store(&url);
    let other = Pg::connect(&url, Default::default()).unwrap();
    let mut notes = other.notes();
    let mut others = Vec::new();
    // The other instance's listener may still be connecting: the first push it hears
    // proves it listens.
    let heard = (0..20).find(|k| {
        let t = format!("t{k}");
        a.insert_push(&push(&t, "u", 100)).unwrap();
        hear(&mut notes, &push_payload("u", &t), &mut others)
    });
    let t = format!("t{}", heard.expect("the other instance hears a new push"));
    assert!(a.decide_push(&approval(&t, 101)).unwrap());
    assert!(hear(&mut notes, &decided_payload(&t), &mut others));
    a.insert_qr(&qr_session("L")).unwrap();
    assert!(a
        .decide_qr("L", QrState::Approved, Some("u"), Some("dev"), 102)
        .unwrap());
    assert!(hear(&mut notes, &decided_payload("L"), &mut others));
    assert!(a.redeem_qr("L", 103).unwrap());
    assert!(hear(&mut notes, &decided_payload("L"), &mut others));
    // Changes that do not happen wake nobody: notifications arrive in commit order, so
    // anything sent before the marker push would be heard before it.
    others.clear();
    assert!(!a.decide_push(&approval(&t, 104)).unwrap());
    assert!(!a.redeem_qr("L", 104).unwrap());
    assert!(!a
        .decide_qr("L", QrState::Denied, Some("u"), Some("dev"), 104)
        .unwrap());
    a.insert_push(&push("marker", "u", 104)).unwrap();
    assert!(hear(&mut notes, &push_payload("u", "marker"), &mut others));
    assert!(others.is_empty(), "{others:?}");
}

/// A listener whose connection is killed (a database restart, a failover) reconnects by itself,
/// says so with [`Note::Resync`] (whoever relies on notes re-reads), and hears again.
#[test]
fn a_listener_whose_connection_dies_reconnects_resyncs_and_hears_again() {
    use crate::store::pg::notify::push_payload;
    let Some(url) = pg_database() else {
        return; // SQLite: no listener.
    };
    let a = pg_store(&url);
    let other = Pg::connect(&url, Default::default()).unwrap();
    let mut notes = other.notes();
    let mut others = Vec::new();
    let listening = (0..20).any(|k| {
        let t = format!("before{k}");
        a.insert_push(&push(&t, "u", 100)).unwrap();
        hear(&mut notes, &push_payload("u", &t), &mut others)
    });
    assert!(listening, "the listener hears before the fault");

    // Every listening connection of this database is terminated, as a restart would.
    let killed: i64 = other
        .call(|c| async move {
            Ok(c.query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%' \
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .await?
            .get(0))
        })
        .unwrap();
    assert!(killed >= 1, "a listener was connected");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut resynced = false;
    while !resynced && std::time::Instant::now() < deadline {
        match notes.try_recv() {
            Ok(Note::Resync) => resynced = true,
            Ok(Note::Payload(_)) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("notes: {e}"),
        }
    }
    assert!(resynced, "the listener reconnected and asked for a re-read");
    // Heard again (each try waits a second: a loaded machine may deliver late).
    let heard = (0..10).any(|k| {
        let t = format!("after{k}");
        a.insert_push(&push(&t, "u", 101 + k)).unwrap();
        hear(&mut notes, &push_payload("u", &t), &mut others)
    });
    assert!(heard, "heard again after reconnecting");
}
