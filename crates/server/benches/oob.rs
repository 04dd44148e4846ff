//! Codes sent by email, SMS and voice: making a code, and the store's part of one send and its
//! redemption on the embedded SQLite store (the send limits counted, the previous code voided,
//! the row written; then the typed code checked against the sealed one, used up, audited). The
//! delivery itself (SMTP, the provider's API) is left out: it is the provider's time.
//!
//! Run: `cargo bench -p tessera-server --bench oob`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_core::SystemClock;
use tessera_server::crypto::{random_bytes, sha256};
use tessera_server::model::NewUser;
use tessera_server::oob::config::{Charset, CodeSettings};
use tessera_server::store::oob::{OobCodeRow, OobLookup, OobRedeemed, SendLimits};
use tessera_server::testing::sqlite_config_in;

fn codes(c: &mut Criterion) {
    let six = CodeSettings {
        lifetime_minutes: 5,
        code_length: 6,
        code_charset: Charset::Digits,
        retries: 3,
    };
    c.bench_function("oob: make a 6-digit code", |b| {
        b.iter(|| tessera_server::oob::generate_code(&six).unwrap())
    });

    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config_in(dir.path());
    config.email.smtp_host = "127.0.0.1".into();
    let (state, _) = tessera_server::open(config, Arc::new(SystemClock)).unwrap();
    let store = state.store();
    let user = store
        .create_user(
            NewUser {
                username: "bench".into(),
                email: Some("bench@example.com".into()),
                ..NewUser::default()
            },
            1,
        )
        .unwrap();
    let email = store
        .list_authenticators(&user.user_id)
        .unwrap()
        .into_iter()
        .find(|a| a.oob_channel.as_deref() == Some("email"))
        .unwrap();
    // A zero-second window: the limits are counted but never reached.
    let limits = SendLimits {
        window_secs: 0,
        per_user: 5,
        per_destination: 5,
    };
    let key = state.key();
    c.bench_function("oob: store a code and redeem it (SQLite)", |b| {
        b.iter(|| {
            let now = tessera_core::Clock::now_unix(&SystemClock);
            let id_hash = sha256(&random_bytes::<32>().unwrap());
            let code = tessera_server::oob::generate_code(&six).unwrap();
            let row = OobCodeRow {
                id_hash,
                user_id: user.user_id.clone(),
                authenticator_id: email.id.clone(),
                channel: "email".into(),
                purpose: "signin".into(),
                destination_hash: sha256(email.name.as_bytes()),
                flow_hash: None,
                flow_sealed: None,
                code_sealed: key.seal(code.as_bytes(), &id_hash).unwrap(),
                attempts_left: 3,
                created_at: now,
                expires_at: now + 300,
                used_at: None,
                voided: false,
            };
            store.issue_oob_code(row, limits).unwrap();
            let typed = code.clone();
            let check: tessera_server::store::oob::OobCheck = {
                let st = state.clone();
                Box::new(move |r: &OobCodeRow| {
                    let stored = st.key().open(&r.code_sealed, &r.id_hash)?;
                    Ok(tessera_server::crypto::ct_eq(&stored, typed.as_bytes()))
                })
            };
            let out = store
                .redeem_oob_code(
                    OobLookup::Latest {
                        user_id: Some(user.user_id.clone()),
                        purpose: Some("signin".into()),
                        flow_hash: None,
                    },
                    Some(check),
                    state.config().lockout.clone(),
                    now,
                )
                .unwrap();
            assert!(matches!(out, OobRedeemed::Accepted(_)));
        })
    });
}

criterion_group!(benches, codes);
criterion_main!(benches);
