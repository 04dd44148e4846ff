//! The sign-in policy evaluator and parser: a sign-in step evaluates the policy in force at
//! least once, and a change parses and validates the whole document.
//!
//! Run: `cargo bench -p tessera-server --bench policy`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use tessera_server::policy::{
    evaluate, Enrolled, Method, Policy, Satisfied, Subject, Traits, UserFacts,
};

const NOW: u64 = 1_800_000_000;

/// The largest policy validation allows: 200 rules of 16 chains of 16 steps.
fn largest() -> Vec<u8> {
    let methods = [
        "password",
        "passkey",
        "push",
        "qr_login",
        "totp",
        "email",
        "sms",
        "voice",
        "recovery_code",
    ];
    let chain = |c: usize| {
        // Distinct methods per chain: 9 steps of one method each, rotated per chain.
        let steps: Vec<_> = (0..methods.len())
            .map(|s| json!({"any_of": [{"method": methods[(s + c) % methods.len()]}]}))
            .collect();
        json!({ "steps": steps })
    };
    let rules: Vec<_> = (0..200)
        .map(|r| {
            json!({
                "name": format!("rule {r}"),
                "when": {"applications": [format!("app_{r}")], "groups": ["g1", "g2", "g3"]},
                "then": {
                    "mfa": {"mode": "required"},
                    "chains": (0..16).map(chain).collect::<Vec<_>>(),
                    "reauth": {"mode": "after_minutes", "minutes": 30},
                    "min_enrollments": {"count": 2, "grace_days": 7}
                }
            })
        })
        .collect();
    serde_json::to_vec(&json!({"global": {"mfa": {"mode": "optional"}}, "rules": rules})).unwrap()
}

fn subject(application: &str) -> Subject {
    let enrolled = [
        Method::Totp,
        Method::Push,
        Method::Passkey,
        Method::RecoveryCode,
    ]
    .iter()
    .enumerate()
    .map(|(i, m)| Enrolled {
        id: format!("a{i}"),
        method: *m,
        pair: None,
        traits: Traits::INTERACTION,
        last_used_at: Some(NOW - i as u64),
    })
    .collect();
    Subject {
        user: UserFacts {
            has_password: true,
            enrolled,
            groups: vec!["g3".into()],
            organizations: vec!["org_a".into()],
            created_at: NOW - 86_400,
            sign_ins: 4,
            ..UserFacts::default()
        },
        application: Some(application.into()),
        identity_provider: "local".into(),
        session: Some(vec![Satisfied {
            method: Method::Password,
            traits: Traits::INTERACTION,
            at: NOW - 60,
        }]),
        now: NOW,
        ..Subject::default()
    }
}

fn policy(c: &mut Criterion) {
    let doc = largest();
    let big = Policy::parse(&doc).unwrap();
    let default = Policy::default();
    let mut g = c.benchmark_group("policy");
    g.bench_function("evaluate_default", |b| {
        let s = subject("app_x");
        b.iter(|| evaluate(black_box(&default), black_box(&s)))
    });
    // The last of 200 rules matches: every rule's conditions are checked first.
    g.bench_function("evaluate_200_rules_16_chains_last_matches", |b| {
        let s = subject("app_199");
        b.iter(|| evaluate(black_box(&big), black_box(&s)))
    });
    g.bench_function("parse_and_validate_largest", |b| {
        b.iter(|| Policy::parse(black_box(&doc)).unwrap())
    });
    g.finish();
    eprintln!("largest policy document: {} bytes", doc.len());
}

criterion_group!(benches, policy);
criterion_main!(benches);
