//! The typing-rhythm signal (docs/signals.md): a password proof scores the sample against the
//! user's profile (unsealing it first), and a finished sign-in updates the profile and seals it
//! again.
//!
//! Run: `cargo bench -p tessera-server --bench typing`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_server::crypto::MasterKey;
use tessera_server::signin::typing::{open, seal, Profile, Sample, TypingInput};

/// A sample of `keys` keystrokes, varied by `k`.
fn sample(keys: usize, k: usize) -> Sample {
    let v = |i: usize, base: f64| base + ((i * 13 + k * 7) % 23) as f64;
    TypingInput {
        dwell: (0..keys).map(|i| v(i, 90.0)).collect(),
        flight: (0..keys - 1).map(|i| v(i, 150.0)).collect(),
    }
    .validate()
    .unwrap()
}

fn typing(c: &mut Criterion) {
    let key = MasterKey::generate().unwrap();
    let mut g = c.benchmark_group("typing");
    for keys in [16, 128] {
        let mut profile = Profile::new(keys);
        for k in 0..30 {
            profile.learn(&sample(keys, k), k as u64);
        }
        let s = sample(keys, 99);
        let sealed = seal(&key, "usr_bench", &profile).unwrap();
        g.bench_function(format!("score_{keys}_keys"), |b| {
            b.iter(|| black_box(&profile).score(black_box(&s)))
        });
        g.bench_function(format!("update_{keys}_keys"), |b| {
            b.iter_batched(
                || profile.clone(),
                |mut p| {
                    p.learn(black_box(&s), 1);
                    p
                },
                criterion::BatchSize::SmallInput,
            )
        });
        // What a password proof and a finished sign-in do around the model: unseal and parse
        // the stored profile; learn, serialize and seal it again.
        g.bench_function(format!("unseal_and_score_{keys}_keys"), |b| {
            b.iter(|| {
                open(&key, "usr_bench", black_box(&sealed))
                    .unwrap()
                    .score(&s)
            })
        });
        g.bench_function(format!("unseal_update_seal_{keys}_keys"), |b| {
            b.iter(|| {
                let mut p = open(&key, "usr_bench", black_box(&sealed)).unwrap();
                p.learn(&s, 1);
                seal(&key, "usr_bench", &p).unwrap()
            })
        });
        eprintln!("sealed profile of {keys} keys: {} bytes", sealed.len());
    }
    g.finish();
}

criterion_group!(benches, typing);
criterion_main!(benches);
