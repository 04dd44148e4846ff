//! Core benchmarks: codes per second per algorithm (totp-rs, which shows codes, and our
//! ring-based HOTP, which verifies them); parsing and importing 10,000 URIs.
//! Figures and the command that produced them: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tessera_core::{import, migration, otp, uri, Account, Algorithm, Secret};

fn secret(i: u32, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i as usize * 31 + k * 7) as u8).collect()
}

fn codes(c: &mut Criterion) {
    let mut g = c.benchmark_group("codes");
    g.throughput(Throughput::Elements(1));
    for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
        let s = secret(1, alg.output_len());
        let mut t = 1_750_000_000u64;
        g.bench_function(format!("totp_{}", alg.as_str()), |b| {
            b.iter(|| {
                t += 30;
                otp::totp(&s, t, 30, 6, alg)
            })
        });
        // Our ring-based HOTP of the same step: what verification computes per candidate.
        let mut step = 1_750_000_000u64 / 30;
        g.bench_function(format!("hotp_ring_{}", alg.as_str()), |b| {
            b.iter(|| {
                step += 1;
                otp::hotp(&s, step, 6, alg)
            })
        });
    }
    g.finish();
}

fn uris(n: u32) -> String {
    let mut text = String::new();
    for i in 0..n {
        let a = Account::totp(
            format!("Issuer {i}"),
            format!("user{i}@example.com"),
            Secret::from_bytes(secret(i, 20)).unwrap_or_else(|_| unreachable!()),
        );
        text.push_str(&uri::to_uri(&a));
        text.push('\n');
    }
    text
}

fn imports(c: &mut Criterion) {
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    let text = uris(10_000);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("uri_list_10k", |b| {
        b.iter(|| {
            let r = import::import(text.as_bytes(), None, None).unwrap_or_else(|_| unreachable!());
            assert_eq!(r.accounts.len(), 10_000);
        })
    });
    let accounts = import::import(text.as_bytes(), None, None)
        .unwrap_or_else(|_| unreachable!())
        .accounts;
    let migration_text = migration::encode(&accounts)
        .unwrap_or_else(|_| unreachable!())
        .join("\n");
    g.bench_function("google_migration_10k", |b| {
        b.iter_batched(
            || migration_text.clone(),
            |t| {
                let r = import::import(t.as_bytes(), None, None).unwrap_or_else(|_| unreachable!());
                assert_eq!(r.accounts.len(), 10_000);
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, codes, imports);
criterion_main!(benches);
