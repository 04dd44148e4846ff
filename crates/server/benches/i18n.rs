//! Texts in English and Japanese (docs/i18n.md): a message with a variable, a page rendered in a
//! language (first request per page and language; later ones are served from memory), a mail
//! composed from the catalogue; and the factor settings (docs/server.md): applying an
//! administrator's overrides over the file's configuration and checking it (a PUT's work).
//!
//! Run: `cargo bench -p tessera-server --bench i18n`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_server::i18n::{render, render_page, text, Locale};
use tessera_server::oob::messages::{code_email, Purpose};
use tessera_server::settings::FactorSettings;
use tessera_server::Config;

const SIGNIN_HTML: &str = include_str!("../src/signin/assets/signin.html");

fn i18n(c: &mut Criterion) {
    let mut g = c.benchmark_group("i18n");
    for locale in [Locale::En, Locale::Ja] {
        let tag = locale.tag();
        g.bench_function(format!("text_with_variable_{tag}"), |b| {
            b.iter(|| {
                text(
                    black_box(locale),
                    "signin-to-continue",
                    &[("app", "Payroll")],
                )
            })
        });
        g.bench_function(format!("render_signin_page_{tag}"), |b| {
            b.iter(|| render(black_box(SIGNIN_HTML), "signin", black_box(locale)))
        });
        g.bench_function(format!("signin_page_from_memory_{tag}"), |b| {
            b.iter(|| render_page(SIGNIN_HTML, "signin", black_box(locale)))
        });
        g.bench_function(format!("compose_code_email_{tag}"), |b| {
            b.iter(|| {
                code_email(
                    black_box(locale),
                    Purpose::SignIn,
                    "hanako",
                    "123456",
                    Some("https://id.example.com/signin/link/abc"),
                    10,
                )
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("settings");
    let base = Config::default();
    let overrides: FactorSettings = serde_json::from_str(
        r#"{"totp": {"digits": 8, "period": 60}, "email": {"lifetime_minutes": 10},
            "device": {"qr_ttl": 90}}"#,
    )
    .unwrap();
    g.bench_function("apply_overrides_and_validate", |b| {
        b.iter(|| black_box(&overrides).apply(black_box(&base)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, i18n);
criterion_main!(benches);
