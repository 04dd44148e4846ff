//! Vault benchmarks: open a vault of 10,000 accounts and compute every current code; insert
//! 10,000 accounts in one transaction. Figures: docs/benchmarks.md.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_core::{Account, FixedClock, Secret};
use tessera_vault::{KdfParams, KeySource, Passphrase, Vault};

fn accounts(n: u32) -> Vec<Account> {
    (0..n)
        .map(|i| {
            Account::totp(
                format!("Issuer {i}"),
                format!("user{i}@example.com"),
                Secret::from_bytes(format!("bench-secret-{i:012}").into_bytes())
                    .unwrap_or_else(|_| unreachable!()),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let path = dir.path().join("v.sqlite3");
    let key = KeySource::Passphrase(Passphrase::new("bench"));
    let clock = Arc::new(FixedClock::new(1_750_000_000));
    let kdf_min = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };
    let mut v =
        Vault::create_with(&path, &key, kdf_min, clock.clone()).unwrap_or_else(|_| unreachable!());
    let all = accounts(10_000);
    v.insert_many(&all).unwrap_or_else(|_| unreachable!());
    drop(v);

    let mut g = c.benchmark_group("vault");
    g.sample_size(10);
    g.bench_function(
        "open_10k_and_compute_every_code (KDF at 8 MiB floor)",
        |b| {
            b.iter(|| {
                let v = Vault::open(&path, &key, clock.clone()).unwrap_or_else(|_| unreachable!());
                let codes: Vec<String> = v
                    .list()
                    .unwrap_or_else(|_| unreachable!())
                    .iter()
                    .map(|s| {
                        s.account
                            .code_at(1_750_000_000)
                            .map(|c| c.value)
                            .unwrap_or_default()
                    })
                    .collect();
                assert_eq!(codes.len(), 10_000);
            })
        },
    );
    g.bench_function("list_and_compute_10k_codes (vault already open)", |b| {
        let v = Vault::open(&path, &key, clock.clone()).unwrap_or_else(|_| unreachable!());
        b.iter(|| {
            let n = v
                .list()
                .unwrap_or_else(|_| unreachable!())
                .iter()
                .filter_map(|s| s.account.code_at(1_750_000_000).ok())
                .count();
            assert_eq!(n, 10_000);
        })
    });
    let p2 = dir.path().join("default-kdf.sqlite3");
    drop(Vault::create(&p2, &key, clock.clone()).unwrap_or_else(|_| unreachable!()));
    g.bench_function("open_empty_with_default_argon2id (64 MiB, 3 passes)", |b| {
        b.iter(|| Vault::open(&p2, &key, clock.clone()).unwrap_or_else(|_| unreachable!()))
    });
    g.bench_function("insert_10k_one_transaction", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let p = dir.path().join(format!("ins{i}.sqlite3"));
            let mut v = Vault::create_with(&p, &key, kdf_min, clock.clone())
                .unwrap_or_else(|_| unreachable!());
            v.insert_many(&all).unwrap_or_else(|_| unreachable!());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
