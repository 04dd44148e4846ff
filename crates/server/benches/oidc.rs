//! The OpenID Connect provider's ID-token signing: the JWS alone (serialize the claims, ES256
//! on ring), and the token endpoint's whole signing step (read the published keys from the
//! store, unseal the current one under the master key, parse it, sign).
//!
//! Run: `cargo bench -p tessera-server --bench oidc`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_core::FixedClock;
use tessera_server::crypto::MasterKey;
use tessera_server::oidc::claims::IdToken;
use tessera_server::oidc::keys::{self, SigningKey};

const NOW: u64 = 1_800_000_000;

fn signing(c: &mut Criterion) {
    let amr = vec!["mfa".to_owned(), "otp".to_owned(), "pwd".to_owned()];
    let claims = IdToken {
        iss: "https://id.example.com",
        sub: "usr_5k2xq3v4m7n8p9r2s3t4u5v6w7",
        aud: "app_7h2jk3l4m5n6p7q8r9s2t3u4v5",
        exp: NOW + 3600,
        iat: NOW,
        auth_time: NOW - 30,
        nonce: Some("n-0S6_WzA2Mj"),
        acr: "urn:tessera:acr:mfa",
        amr: &amr,
        sid: "ses_q4r5s6t7u8v9w2x3y4z5a6b7c8",
    };
    let master = MasterKey::generate().unwrap();
    let (key, _) = SigningKey::generate(&master, NOW).unwrap();
    let jws = key.sign(&claims).unwrap();
    println!("an ID token is {} bytes", jws.len());
    c.bench_function("oidc/sign an ID token (ES256 on ring)", |b| {
        b.iter(|| key.sign(black_box(&claims)).unwrap())
    });

    let dir = tempfile::tempdir().unwrap();
    let config = tessera_server::testing::sqlite_config_in(dir.path());
    let (state, _) = tessera_server::open(config, Arc::new(FixedClock(NOW))).unwrap();
    keys::current(&state).unwrap();
    c.bench_function(
        "oidc/current key from SQLite, unsealed and parsed, then sign",
        |b| {
            b.iter(|| {
                keys::current(&state)
                    .unwrap()
                    .sign(black_box(&claims))
                    .unwrap()
            })
        },
    );
}

criterion_group!(benches, signing);
criterion_main!(benches);
