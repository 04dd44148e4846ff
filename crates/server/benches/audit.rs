//! The audit log over HTTP on the embedded SQLite store, with 30,000 events spread over 30
//! days: one filtered page (`GET /api/v2/logs?from=&to=&result=failure&type=push.*`, the
//! total counted) and a 10,000-row CSV export (`GET /api/v2/logs/export?from=&to=`, read from
//! the store in chunks of 1,000, quoted and neutralised, received whole).
//!
//! Run: `cargo bench -p tessera-server --bench audit`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_core::SystemClock;
use tessera_server::testing::{sqlite_config_in, InProcess};

/// Events in the log, one every `STEP` seconds from `START`.
const EVENTS: u64 = 30_000;
const STEP: u64 = 86;
const START: u64 = 1_767_225_600;

const KINDS: &[&str] = &[
    "verify_ok",
    "verify_fail",
    "signin.ok",
    "push.created",
    "push.approved",
    "push.denied",
    "oob.sent",
    "console.request",
];

fn audit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let config = sqlite_config_in(dir.path());
    let (state, admin) = tessera_server::open(config, Arc::new(SystemClock)).unwrap();
    let admin = admin.unwrap();
    let store = state.store();
    for i in 0..EVENTS {
        let kind = KINDS[(i % KINDS.len() as u64) as usize];
        let user = format!("usr_{}", i % 500);
        store
            .audit(
                Some(&user),
                kind,
                None,
                "=detail, \"quoted\"",
                START + i * STEP,
            )
            .unwrap();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(InProcess::serve(state)).unwrap();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let (client, url, admin) = (client.clone(), server.url.clone(), admin.clone());
        async move {
            let r = client
                .get(format!("{url}{path}"))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            r.text().await.unwrap()
        }
    };

    // A week in the middle of the log: ~7,000 events, ~880 of them failed pushes.
    let (from, to) = (START + 10 * 86_400, START + 17 * 86_400);
    let page =
        format!("/api/v2/logs?from={from}&to={to}&result=failure&type=push.*&page=2&per_page=50");
    let first = rt.block_on(get(page.clone()));
    assert!(first.contains("push.denied"));
    c.bench_function(
        "audit: a filtered page of 50 with its total (30k events, SQLite)",
        |b| b.iter(|| rt.block_on(get(page.clone()))),
    );

    // 10,000 consecutive events.
    let (from, to) = (START + 10_000 * STEP, START + 19_999 * STEP);
    let export = format!("/api/v2/logs/export?from={from}&to={to}");
    let csv = rt.block_on(get(export.clone()));
    assert_eq!(csv.matches("\r\n").count(), 10_001);
    let mut group = c.benchmark_group("audit");
    group.sample_size(20);
    group.bench_function("export 10,000 rows as CSV (30k events, SQLite)", |b| {
        b.iter(|| rt.block_on(get(export.clone())))
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, audit);
criterion_main!(benches);
