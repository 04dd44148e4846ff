//! Verifying one passkey assertion: webauthn-rs's check alone (parse the credential, check the
//! client data's type, challenge and origin, the relying party id hash, the flags, and the
//! ES256 signature), and the server's whole step on the embedded SQLite store (look the
//! credential up, unseal it, that check, the counter rule, re-seal it and store the counter by
//! compare-and-set in a committed transaction).
//!
//! Run: `cargo bench -p tessera-server --bench passkey`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tessera_core::SystemClock;
use tessera_server::passkey::{self, soft::SoftKey};
use tessera_server::testing::sqlite_config_in;
use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential};

fn assertions(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (state, _) =
        tessera_server::open(sqlite_config_in(dir.path()), Arc::new(SystemClock)).unwrap();
    let user = state
        .store()
        .create_user(
            tessera_server::model::NewUser {
                username: "bench".into(),
                ..Default::default()
            },
            state.now(),
        )
        .unwrap();
    let mut key = SoftKey::new(&state.device_config().origin);
    let (options, reg) = passkey::start_registration(&state, &user).unwrap();
    passkey::finish_registration(&state, &user.user_id, &key.create(&options), &reg).unwrap();

    // webauthn-rs alone, on one assertion (the check is pure: it can be repeated).
    let (options, st): (serde_json::Value, DiscoverableAuthentication) =
        passkey::start_authentication(&state, Some(&user.user_id)).unwrap();
    let assertion = key.get(&options);
    let wa = passkey::relying_party(&state).unwrap();
    let credential: PublicKeyCredential = serde_json::from_value(assertion.clone()).unwrap();
    let row = state
        .store()
        .passkey_by_credential(&key.cred_id)
        .unwrap()
        .unwrap();
    let plain = state
        .key()
        .open(
            &row.credential_sealed,
            &tessera_server::store::passkeys::credential_context(&row.authenticator_id),
        )
        .unwrap();
    let stored: webauthn_rs::prelude::Passkey = serde_json::from_slice(&plain).unwrap();
    let mut group = c.benchmark_group("passkey");
    group.bench_function(
        "check one assertion (webauthn-rs: client data, RP id hash, ES256)",
        |b| {
            b.iter(|| {
                wa.finish_discoverable_authentication_v2(
                    black_box(&credential),
                    st.clone(),
                    &stored,
                )
                .unwrap()
            })
        },
    );

    // The server's whole step: every iteration a fresh challenge and a higher counter (made
    // outside the measurement).
    group.bench_function(
        "verify one assertion (lookup, unseal, check, counter compare-and-set, commit)",
        |b| {
            b.iter_batched(
                || {
                    let (options, st) =
                        passkey::start_authentication(&state, Some(&user.user_id)).unwrap();
                    (key.get(&options), st)
                },
                |(assertion, st)| {
                    passkey::finish_authentication(&state, Some(&user.user_id), &assertion, &st)
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        },
    );
    group.finish();
}

criterion_group!(benches, assertions);
criterion_main!(benches);
