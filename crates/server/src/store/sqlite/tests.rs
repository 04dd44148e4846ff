//! One body per behaviour, run on every engine: SQLite always, PostgreSQL too when
//! `TESSERA_TEST_DATABASE_URL` names a server (scripts/pg-cluster.sh starts one).

use super::*;
use crate::model::{AuthenticatorKind, OtpParams, TokenKind};
use crate::store::pg::{self, store::PgStore, Pg};
use tessera_core::Algorithm;

/// A fresh store of each engine, named (for assertion messages); the directory keeps the
/// SQLite file alive.
fn stores() -> Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        SqliteStore::open(&dir.path().join("db.sqlite"), &StorageConfig::default()).unwrap();
    let mut out: Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> =
        vec![("sqlite", Box::new(sqlite), dir)];
    if let Some(url) = fresh_pg() {
        let pg = Pg::connect(&url, pg::PoolOptions::default()).unwrap();
        out.push((
            "postgres",
            Box::new(PgStore::new(pg)),
            tempfile::tempdir().unwrap(),
        ));
    }
    out
}

/// A new database on the test PostgreSQL server, if there is one.
fn fresh_pg() -> Option<String> {
    let admin = std::env::var("TESSERA_TEST_DATABASE_URL").ok()?;
    let name = format!("u_{}", crate::crypto::random_id("").unwrap().to_lowercase());
    Some(pg::create_database(&admin, &name).unwrap())
}

fn auth(user: &str, id: &str, kind: AuthenticatorKind, pair: Option<&str>) -> Authenticator {
    Authenticator {
        id: id.into(),
        user_id: user.into(),
        kind,
        name: "x".into(),
        active: true,
        oob_channel: None,
        pair_id: pair.map(Into::into),
        created_at: 1,
        last_used_at: None,
    }
}

fn user(s: &dyn Store, name: &str) -> User {
    s.create_user(
        NewUser {
            username: name.into(),
            ..Default::default()
        },
        1,
    )
    .unwrap()
}

fn policy(max_failures: u32) -> LockoutConfig {
    LockoutConfig {
        max_failures,
        delay_base_secs: 0,
        ..LockoutConfig::default()
    }
}

fn no_grants() -> OnSuccess {
    OnSuccess {
        revoke_token_id: None,
        issue: None,
    }
}

/// Runs the non-blocking `verify_otp` and waits for its answer.
fn verify_otp_now(
    s: &dyn Store,
    user_id: &str,
    check: OtpCheck,
    on: OnSuccess,
    now: u64,
) -> Result<VerifyOutcome> {
    let (tx, rx) = mpsc::channel();
    s.verify_otp(
        user_id,
        check,
        policy(10),
        on,
        now,
        Box::new(move |r| tx.send(r).unwrap()),
    );
    rx.recv().unwrap()
}

/// An inactive OTP authenticator for `user_id` (the check in these tests ignores the
/// secret).
fn enroll_otp(s: &dyn Store, user_id: &str, id: &str, recovery: Option<&[[u8; 32]]>) {
    s.create_otp(
        NewOtp {
            authenticator: Authenticator {
                active: false,
                ..auth(user_id, id, AuthenticatorKind::Otp, None)
            },
            params: OtpParams {
                algorithm: Algorithm::Sha1,
                digits: 6,
                period: 30,
                secret_sealed: vec![1, 2, 3],
                last_step: None,
            },
            max_enrollments: 2,
            recovery: recovery.map(|h| ("recovery-code|dev_1".to_owned(), h.to_vec())),
        },
        1,
    )
    .unwrap();
}

#[test]
fn deleting_one_of_a_pair_deletes_both() {
    for (engine, s, _dir) in stores() {
        let u = user(&*s, "p");
        s.create_authenticator(
            auth(
                &u.user_id,
                "push|dev_1",
                AuthenticatorKind::Oob,
                Some("pr1"),
            ),
            1,
        )
        .unwrap();
        s.create_authenticator(
            auth(
                &u.user_id,
                "totp|dev_1",
                AuthenticatorKind::Otp,
                Some("pr1"),
            ),
            1,
        )
        .unwrap();
        s.create_authenticator(
            auth(&u.user_id, "totp|dev_2", AuthenticatorKind::Otp, None),
            1,
        )
        .unwrap();
        let mut gone = s.delete_authenticator(&u.user_id, "totp|dev_1", 2).unwrap();
        gone.sort();
        assert_eq!(
            gone,
            vec!["push|dev_1".to_owned(), "totp|dev_1".to_owned()],
            "{engine}"
        );
        let left: Vec<_> = s
            .list_authenticators(&u.user_id)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(left, vec!["totp|dev_2".to_owned()], "{engine}");
        assert!(
            s.delete_authenticator("usr_other", "totp|dev_2", 2)
                .unwrap()
                .is_empty(),
            "{engine}: another user's authenticator cannot be deleted"
        );
    }
}

#[test]
fn migrations_are_recorded_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("db.sqlite");
    drop(SqliteStore::open(&p, &StorageConfig::default()).unwrap());
    let s = SqliteStore::open(&p, &StorageConfig::default()).unwrap();
    let c = Connection::open(&p).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, i64::from(super::super::migrations::latest()));
    assert_eq!(s.status().unwrap().schema_version, schema_version());
    if let Some(url) = fresh_pg() {
        drop(Pg::connect(&url, pg::PoolOptions::default()).unwrap());
        let s = PgStore::new(Pg::connect(&url, pg::PoolOptions::default()).unwrap());
        let st = s.status().unwrap();
        assert_eq!(
            (st.schema_version, st.schema_expected),
            (schema_version(), schema_version()),
            "postgres: a second start applies nothing and reads the recorded version"
        );
        assert!(st.readers_open >= 1, "the pool served the read: {st:?}");
    }
}

#[test]
fn conflicts_missing_organizations_and_pages() {
    for (engine, s, _dir) in stores() {
        let a = user(&*s, "ann");
        let e = s
            .create_user(
                NewUser {
                    username: "ann".into(),
                    ..Default::default()
                },
                2,
            )
            .unwrap_err();
        assert!(
            matches!(&e, Error::Conflict(m) if m == "`username` is already taken"),
            "{engine}: {e:?}"
        );
        let e = s
            .create_user(
                NewUser {
                    username: "bob".into(),
                    organizations: vec!["org_nope".into()],
                    ..Default::default()
                },
                2,
            )
            .unwrap_err();
        assert!(
            matches!(e, Error::NotFound("organization")),
            "{engine}: {e:?}"
        );
        assert!(
            s.find_user_by_username("bob").unwrap().is_none(),
            "{engine}: the failed creation left no user behind"
        );
        let org = s.create_org("acme", true).unwrap();
        let e = s.create_org("acme", false).unwrap_err();
        assert!(
            matches!(&e, Error::Conflict(m) if m == "`name` is already taken"),
            "{engine}: {e:?}"
        );
        let b = user(&*s, "bob");
        let e = s
            .update_user(
                &b.user_id,
                UserPatch {
                    username: Some("ann".into()),
                    ..Default::default()
                },
                3,
            )
            .unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{engine}: {e:?}");
        let b = s
            .update_user(
                &b.user_id,
                UserPatch {
                    organizations: Some(vec![org.id.clone()]),
                    email: Some(Some("b@example.com".into())),
                    ..Default::default()
                },
                3,
            )
            .unwrap()
            .unwrap();
        assert_eq!(b.organizations, vec![org.id.clone()], "{engine}");
        assert_eq!(b.email.as_deref(), Some("b@example.com"), "{engine}");
        assert_eq!(b.updated_at, 3, "{engine}");
        assert!(s.org_requires_mfa(&b.user_id).unwrap(), "{engine}");
        assert!(!s.org_requires_mfa(&a.user_id).unwrap(), "{engine}");
        assert!(s
            .update_user("usr_nope", UserPatch::default(), 3)
            .unwrap()
            .is_none());
        user(&*s, "cy");
        let (first, total) = s.list_users(1, 2).unwrap();
        let (second, _) = s.list_users(2, 2).unwrap();
        assert_eq!((first.len(), second.len(), total), (2, 1, 3), "{engine}");
        let mut names: Vec<_> = first.iter().chain(&second).map(|u| &u.username).collect();
        names.sort();
        assert_eq!(
            names,
            ["ann", "bob", "cy"],
            "{engine}: every user on one page"
        );
        // The audit log: filters and newest first.
        s.audit(Some(&a.user_id), "x", None, "1", 5).unwrap();
        s.audit(Some(&a.user_id), "y", None, "2", 6).unwrap();
        s.audit(None, "x", None, "3", 7).unwrap();
        let filter = |u: Option<&str>, k: Option<&str>| AuditFilter {
            user_id: u.map(Into::into),
            kind: k.map(Into::into),
            ..AuditFilter::default()
        };
        let (ev, n) = s.list_audit(filter(None, Some("x")), 1, 10).unwrap();
        let details: Vec<_> = ev.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!((details, n), (vec!["3", "1"], 2), "{engine}");
        let (ev, n) = s.list_audit(filter(Some(&a.user_id), None), 2, 1).unwrap();
        assert_eq!((ev.len(), n), (1, 2), "{engine}");
        assert_eq!(
            ev[0].detail, "1",
            "{engine}: page 2 of 1 holds the older one"
        );
        // Time range, result and type family, in SQL; the export's chunks below an id.
        s.audit(Some(&a.user_id), "verify_fail", None, "4", 100)
            .unwrap();
        s.audit(Some(&a.user_id), "push.denied", None, "5", 101)
            .unwrap();
        s.audit(Some(&a.user_id), "push.approved", None, "6", 102)
            .unwrap();
        let details = |f: AuditFilter| -> Vec<String> {
            let (ev, n) = s.list_audit(f, 1, 100).unwrap();
            assert_eq!(ev.len() as u64, n, "{engine}");
            ev.into_iter().map(|e| e.detail).collect()
        };
        let range = |from, to| AuditFilter {
            from,
            to,
            ..AuditFilter::default()
        };
        assert_eq!(
            details(range(Some(6), Some(100))),
            ["4", "3", "2"],
            "{engine}"
        );
        assert_eq!(details(range(Some(101), None)), ["6", "5"], "{engine}");
        assert_eq!(details(range(Some(5), Some(5))), ["1"], "{engine}");
        let failures = AuditFilter {
            result: Some(crate::audit::AuditResult::Failure),
            ..AuditFilter::default()
        };
        assert_eq!(details(failures), ["5", "4"], "{engine}");
        let successes = AuditFilter {
            result: Some(crate::audit::AuditResult::Success),
            from: Some(100),
            ..AuditFilter::default()
        };
        assert_eq!(details(successes), ["6"], "{engine}");
        let push = AuditFilter {
            kind_prefix: Some("push.".into()),
            ..AuditFilter::default()
        };
        assert_eq!(details(push.clone()), ["6", "5"], "{engine}");
        let first = s.scan_audit(push.clone(), None, 1).unwrap();
        let rest = s.scan_audit(push, Some(first[0].id), 10).unwrap();
        assert_eq!(
            (
                first[0].detail.as_str(),
                rest.len(),
                rest[0].detail.as_str()
            ),
            ("6", 1, "5"),
            "{engine}"
        );
        assert!(s.delete_user(&a.user_id, 8).unwrap(), "{engine}");
        assert!(!s.delete_user(&a.user_id, 8).unwrap(), "{engine}");
    }
}

#[test]
fn a_step_verifies_once_and_an_mfa_token_completes_once() {
    for (engine, s, _dir) in stores() {
        let u = user(&*s, "otto");
        enroll_otp(&*s, &u.user_id, "totp|dev_1", Some(&[[7; 32]]));
        // Accepts step 5 unless it was used (what the real check does with `after`).
        let check =
            || -> OtpCheck { Box::new(|_, p| Ok(p.last_step.is_none_or(|l| l < 5).then_some(5))) };
        let (secret, record, hash) = crate::auth::issue_token(
            TokenKind::Mfa,
            Some(u.user_id.clone()),
            Vec::new(),
            "mfa",
            Some(100),
            1,
        )
        .unwrap();
        drop(secret);
        s.insert_token(record.clone(), hash).unwrap();
        let revoke = || OnSuccess {
            revoke_token_id: Some(record.id.clone()),
            issue: None,
        };
        let out = verify_otp_now(&*s, &u.user_id, check(), revoke(), 10).unwrap();
        assert_eq!(
            out,
            VerifyOutcome::Accepted {
                authenticator_id: "totp|dev_1".into(),
                confirmed: true,
                new_recovery_codes: None
            },
            "{engine}"
        );
        assert!(
            s.list_authenticators(&u.user_id)
                .unwrap()
                .iter()
                .all(|a| a.active),
            "{engine}: confirming activates the recovery codes too"
        );
        assert_eq!(
            verify_otp_now(&*s, &u.user_id, check(), no_grants(), 11).unwrap(),
            VerifyOutcome::Rejected,
            "{engine}: a used step is refused"
        );
        let always: OtpCheck = Box::new(|_, _| Ok(Some(9)));
        let e = verify_otp_now(&*s, &u.user_id, always, revoke(), 12).unwrap_err();
        assert!(matches!(e, Error::InvalidGrant(_)), "{engine}: {e:?}");
        assert_eq!(
            s.failures(&u.user_id).unwrap(),
            vec![(
                Factor::Otp,
                FailureRow {
                    count: 1,
                    last_failure_at: 11
                }
            )],
            "{engine}: the refused mfa_token rolled the success back, the earlier failure stays"
        );
        assert_eq!(
            s.find_token(hash).unwrap().unwrap().revoked_at,
            Some(10),
            "{engine}"
        );
        let e = verify_otp_now(&*s, "usr_nope", check(), no_grants(), 12).unwrap_err();
        assert!(matches!(e, Error::NotFound("user")), "{engine}: {e:?}");
    }
}

#[test]
fn the_enrollment_cap_holds_under_concurrent_enrollments() {
    for (engine, s, _dir) in stores() {
        let u = user(&*s, "cap");
        // On PostgreSQL each call is its own pooled connection and transaction, as calls
        // from two instances would be.
        let results: Vec<_> = std::thread::scope(|scope| {
            let s = &*s;
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let user_id = u.user_id.clone();
                    scope.spawn(move || {
                        s.create_otp(
                            NewOtp {
                                authenticator: auth(
                                    &user_id,
                                    &format!("totp|dev_{i}"),
                                    AuthenticatorKind::Otp,
                                    None,
                                ),
                                params: OtpParams {
                                    algorithm: Algorithm::Sha1,
                                    digits: 6,
                                    period: 30,
                                    secret_sealed: vec![1],
                                    last_step: None,
                                },
                                max_enrollments: 2,
                                recovery: None,
                            },
                            1,
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Conflict(_))))
            .count();
        assert_eq!((ok, conflicts), (2, 6), "{engine}: {results:?}");
        assert_eq!(
            s.list_authenticators(&u.user_id).unwrap().len(),
            2,
            "{engine}"
        );
    }
}

#[test]
fn recovery_codes_count_failures_lock_and_replace_the_last() {
    for (engine, s, _dir) in stores() {
        let u = user(&*s, "rita");
        s.replace_recovery_codes(
            &u.user_id,
            "recovery-code|dev_a".into(),
            vec![[1; 32], [2; 32]],
            1,
        )
        .unwrap();
        let replacement = || {
            (
                "recovery-code|dev_b".to_owned(),
                vec![[3; 32]],
                vec!["NEWCODE".to_owned()],
            )
        };
        let try_code = |h: [u8; 32], now| {
            s.verify_recovery_code(&u.user_id, h, replacement(), policy(3), no_grants(), now)
                .unwrap()
        };
        assert_eq!(try_code([9; 32], 2), VerifyOutcome::Rejected, "{engine}");
        assert!(matches!(
            try_code([1; 32], 3),
            VerifyOutcome::Accepted {
                new_recovery_codes: None,
                ..
            }
        ));
        assert_eq!(
            try_code([1; 32], 4),
            VerifyOutcome::Rejected,
            "{engine}: used once"
        );
        assert_eq!(
            try_code([2; 32], 5),
            VerifyOutcome::Accepted {
                authenticator_id: "recovery-code|dev_a".into(),
                confirmed: false,
                new_recovery_codes: Some(vec!["NEWCODE".into()])
            },
            "{engine}: the last code brings a new set"
        );
        for now in 6..9 {
            assert_eq!(try_code([8; 32], now), VerifyOutcome::Rejected, "{engine}");
        }
        assert_eq!(
            try_code([3; 32], 9),
            VerifyOutcome::Locked,
            "{engine}: at the cap even the right code is not evaluated"
        );
        assert!(!s
            .reserve_attempt(&u.user_id, Factor::RecoveryCode, policy(3), 9)
            .unwrap());
        assert!(s.unlock(&u.user_id, 10).unwrap(), "{engine}");
        assert!(matches!(
            try_code([3; 32], 11),
            VerifyOutcome::Accepted { .. }
        ));
        assert!(s
            .reserve_attempt(&u.user_id, Factor::Password, policy(3), 12)
            .unwrap());
        assert_eq!(s.failures(&u.user_id).unwrap().len(), 1, "{engine}");
        s.reset_failures(&u.user_id, Factor::Password).unwrap();
        assert!(s.failures(&u.user_id).unwrap().is_empty(), "{engine}");
        let (events, _) = s
            .list_audit(
                AuditFilter {
                    user_id: Some(u.user_id.clone()),
                    kind: Some("lockout".into()),
                    ..AuditFilter::default()
                },
                1,
                10,
            )
            .unwrap();
        assert_eq!(events.len(), 1, "{engine}");
    }
}

#[test]
fn policy_versions_are_kept_and_a_stale_writer_loses() {
    for (engine, s, _dir) in stores() {
        let s: std::sync::Arc<dyn Store> = std::sync::Arc::from(s);
        assert_eq!(s.policy(None).unwrap(), None, "{engine}: no policy yet");
        assert!(
            matches!(s.put_policy("{}", "x", Some(3), 1), Err(Error::Conflict(_))),
            "{engine}: there is no version 3"
        );
        let v1 = s
            .put_policy(r#"{"a":1}"#, "admin (tok_1)", Some(0), 100)
            .unwrap();
        assert_eq!((v1.version, v1.created_at), (1, 100), "{engine}");
        let v2 = s
            .put_policy(r#"{"a":2}"#, "ops (tok_2)", None, 200)
            .unwrap();
        assert_eq!(
            v2.version, 2,
            "{engine}: without a precondition the change applies"
        );
        assert_eq!(s.policy(None).unwrap().as_ref(), Some(&v2), "{engine}");
        assert_eq!(s.policy(Some(1)).unwrap(), Some(v1.clone()), "{engine}");
        assert_eq!(s.policy(Some(9)).unwrap(), None, "{engine}");
        let err = s.put_policy("{}", "late", Some(1), 300).unwrap_err();
        assert!(
            err.to_string().contains("at version 2, not 1"),
            "{engine}: {err}"
        );
        // Writers racing from the same version: exactly one wins.
        let winners: usize = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let s = std::sync::Arc::clone(&s);
                    sc.spawn(move || s.put_policy(&format!("{{\"w\":{i}}}"), "racer", Some(2), 400))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join().unwrap() {
                    Ok(_) => 1,
                    Err(Error::Conflict(_)) => 0,
                    Err(other) => panic!("{engine}: {other}"),
                })
                .sum()
        });
        assert_eq!(winners, 1, "{engine}");
        let versions: Vec<u64> = s
            .policy_versions()
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(
            versions,
            vec![3, 2, 1],
            "{engine}: newest first, nothing lost"
        );
        let filter = AuditFilter {
            kind: Some("policy.updated".into()),
            ..AuditFilter::default()
        };
        let (_, audited) = s.list_audit(filter, 0, 50).unwrap();
        assert_eq!(audited, 3, "{engine}: every change audited");
    }
}

fn signing_key(kid: &str) -> crate::store::SigningKeyRow {
    crate::store::SigningKeyRow {
        kid: kid.into(),
        alg: "ES256".into(),
        private_sealed: format!("sealed {kid}").into_bytes(),
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        created_at: 0,
        retire_at: None,
    }
}

#[test]
fn racing_rotations_make_one_key_retired_keys_go_and_reseal_covers_them() {
    use crate::store::Rotation;
    for (engine, s, _dir) in stores() {
        let s: std::sync::Arc<dyn Store> = std::sync::Arc::from(s);
        assert!(s.signing_keys(0).unwrap().is_empty(), "{engine}");
        // Eight instances find no key at once, then eight find the same key due at once.
        for (round, seen) in [(1usize, None), (2, Some(()))] {
            let current =
                seen.and_then(|()| s.signing_keys(100).unwrap().first().map(|k| k.kid.clone()));
            let made: Vec<Vec<crate::store::SigningKeyRow>> = std::thread::scope(|sc| {
                let handles: Vec<_> = (0..8)
                    .map(|i| {
                        let s = std::sync::Arc::clone(&s);
                        let rotation = Rotation::IfCurrentIs(current.clone());
                        sc.spawn(move || {
                            s.rotate_signing_key(
                                signing_key(&format!("r{round}-{i}")),
                                rotation,
                                1000,
                                100,
                            )
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            let keys = s.signing_keys(100).unwrap();
            assert_eq!(keys.len(), round, "{engine}: round {round}: {keys:?}");
            assert!(
                keys[0].retire_at.is_none(),
                "{engine}: the current key first"
            );
            assert!(
                made.iter().all(|k| k[0].kid == keys[0].kid),
                "{engine}: every racer answers the one current key"
            );
        }
        let keys = s.signing_keys(100).unwrap();
        assert_eq!(keys[1].retire_at, Some(1000), "{engine}");
        // Rotation now, at 2000: the key retired at 1000 is deleted.
        let after = s
            .rotate_signing_key(signing_key("now"), Rotation::Now, 5000, 2000)
            .unwrap();
        let kids: Vec<&str> = after.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, vec!["now", keys[0].kid.as_str()], "{engine}");
        assert!(
            s.signing_keys(5000).unwrap().len() == 1,
            "{engine}: retired at 5000"
        );
        let (_, rotations) = s
            .list_audit(
                AuditFilter {
                    kind: Some("oidc.key_rotated".into()),
                    ..AuditFilter::default()
                },
                1,
                50,
            )
            .unwrap();
        assert_eq!(rotations, 3, "{engine}: one audit row per key made");

        // Master-key rotation re-seals the private keys, each under its own context.
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = std::sync::Arc::clone(&seen);
        let n = s
            .reseal(std::sync::Arc::new(move |sealed: &[u8], ctx: &[u8]| {
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(ctx).into_owned());
                Ok([b"re:".as_slice(), sealed].concat())
            }))
            .unwrap();
        assert_eq!(n, 2, "{engine}: two keys stored");
        let contexts = seen.lock().unwrap().clone();
        assert!(
            contexts
                .iter()
                .all(|c| c.starts_with("tessera-server/oidc-signing-key/")),
            "{engine}: {contexts:?}"
        );
        let resealed = s.signing_keys(2000).unwrap();
        assert!(
            resealed[0].private_sealed.starts_with(b"re:sealed "),
            "{engine}"
        );
    }
}

#[test]
fn a_code_redeems_once_even_when_redeemed_concurrently() {
    use crate::store::{AuthorizationCode, CodeRedemption, CodeRefusal, Redeemed};
    for (engine, s, _dir) in stores() {
        let s: std::sync::Arc<dyn Store> = std::sync::Arc::from(s);
        let u = user(s.as_ref(), "oidc-user");
        s.create_application(
            Application {
                client_id: "app_1".into(),
                name: "RP".into(),
                kind: crate::model::ClientKind::Public,
                redirect_uris: vec!["https://rp.example/cb".into()],
                created_at: 1,
                updated_at: 1,
            },
            None,
        )
        .unwrap();
        let grant = AuthorizationCode {
            client_id: "app_1".into(),
            redirect_uri: "https://rp.example/cb".into(),
            user_id: u.user_id.clone(),
            scope: "openid email".into(),
            nonce: Some("n".into()),
            code_challenge: "challenge".into(),
            auth_time: 5,
            amr: vec!["otp".into(), "pwd".into()],
            acr: "urn:tessera:acr:mfa".into(),
            session_id: "ses_1".into(),
            created_at: 10,
            expires_at: 70,
        };
        let code_hash = [7u8; 32];
        s.insert_code(code_hash, grant.clone(), 0).unwrap();
        let redemption = |_: u8| {
            let (_, record, hash) = crate::auth::issue_token(
                TokenKind::Access,
                None,
                Vec::new(),
                "oidc:app_1",
                Some(3600),
                20,
            )
            .unwrap();
            CodeRedemption {
                client_id: "app_1".into(),
                redirect_uri: "https://rp.example/cb".into(),
                challenge: "challenge".into(),
                token: (record, hash),
            }
        };
        let racers: Vec<CodeRedemption> = (0..8u8).map(redemption).collect();
        let hashes: std::collections::HashMap<String, [u8; 32]> = racers
            .iter()
            .map(|r| (r.token.0.id.clone(), r.token.1))
            .collect();
        let outcomes: Vec<Redeemed> = std::thread::scope(|sc| {
            let handles: Vec<_> = racers
                .into_iter()
                .map(|r| {
                    let s = std::sync::Arc::clone(&s);
                    sc.spawn(move || s.redeem_code(code_hash, r, 20).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let issued: Vec<&crate::model::TokenRecord> = outcomes
            .iter()
            .filter_map(|o| match o {
                Redeemed::Issued(b) => Some(&b.1),
                Redeemed::Refused(_) => None,
            })
            .collect();
        assert_eq!(issued.len(), 1, "{engine}: {outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            Redeemed::Issued(_) | Redeemed::Refused(CodeRefusal::Reused)
        )));
        let Some(Redeemed::Issued(b)) = outcomes.iter().find(|o| matches!(o, Redeemed::Issued(_)))
        else {
            unreachable!()
        };
        assert_eq!(b.0, grant, "{engine}: the grant as stored");
        assert_eq!(issued[0].user_id.as_deref(), Some(u.user_id.as_str()));
        assert_eq!(issued[0].scopes, vec!["openid", "email"]);
        let stored = s.find_token(hashes[&issued[0].id]).unwrap().unwrap();
        assert_eq!(
            stored.revoked_at,
            Some(20),
            "{engine}: the replays revoked the token the first redemption issued"
        );
        let tokens: Vec<_> = s
            .list_audit(
                AuditFilter {
                    kind: Some("oidc.code_reused".into()),
                    ..AuditFilter::default()
                },
                1,
                50,
            )
            .unwrap()
            .0;
        assert_eq!(tokens.len(), 7, "{engine}");

        // Unknown codes, and the purge of long-expired ones at the next insert.
        assert!(matches!(
            s.redeem_code([9u8; 32], redemption(0), 20).unwrap(),
            Redeemed::Refused(CodeRefusal::Unknown)
        ));
        s.insert_code([8u8; 32], grant.clone(), 71).unwrap();
        assert!(
            matches!(
                s.redeem_code(code_hash, redemption(0), 80).unwrap(),
                Redeemed::Refused(CodeRefusal::Unknown)
            ),
            "{engine}: purged"
        );
    }
}
