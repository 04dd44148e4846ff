//! Import of 10,000 entries per format (target: under 2 s each), and backup open.
//!
//! Run: `cargo bench -p tessera-core --bench import`. Figures: docs/benchmarks/interop.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;
use tessera_core::export::{aegis, uri_list};
use tessera_core::import::{self, Format};
use tessera_core::{backup, migration, Account, Secret};

const N: usize = 10_000;

fn accounts() -> Vec<Account> {
    (0..N)
        .map(|i| {
            let secret: Vec<u8> = (0..20u8)
                .map(|b| b.wrapping_mul(i as u8).wrapping_add(b))
                .collect();
            let mut a = Account::totp(
                format!("Issuer {i}"),
                format!("user{i}@example.com"),
                Secret::from_bytes(secret).unwrap(),
            );
            a.groups = vec![format!("Group {}", i % 10)];
            a
        })
        .collect()
}

fn inputs(accounts: &[Account]) -> Vec<(Format, &'static str, Vec<u8>)> {
    let b32: Vec<String> = accounts.iter().map(|a| a.secret.to_base32()).collect();
    let uris = uri_list::to_text(accounts);
    let ente: String = uris
        .lines()
        .map(|l| {
            format!("{l}&codeDisplay=%7B%22pinned%22%3Afalse%2C%22tags%22%3A%5B%22Work%22%5D%7D\n")
        })
        .collect();
    let twofas = json!({
        "schemaVersion": 4,
        "groups": [],
        "services": accounts.iter().zip(&b32).map(|(a, s)| json!({
            "name": a.issuer, "secret": s,
            "otp": {"account": a.name, "issuer": a.issuer, "digits": 6, "period": 30,
                    "algorithm": "SHA1", "tokenType": "TOTP"}
        })).collect::<Vec<_>>(),
    });
    let andotp: Vec<_> = accounts
        .iter()
        .zip(&b32)
        .map(|(a, s)| json!({"secret": s, "issuer": a.issuer, "label": a.name, "digits": 6,
            "type": "TOTP", "algorithm": "SHA1", "period": 30, "tags": ["Work"], "thumbnail": "Default"}))
        .collect();
    let bitwarden = json!({
        "encrypted": false, "folders": [],
        "items": uris.lines().enumerate().map(|(i, u)| json!({
            "type": 1, "name": format!("Item {i}"), "notes": null, "favorite": false,
            "login": {"username": null, "totp": u}
        })).collect::<Vec<_>>(),
    });
    let mut csv = String::from(
        "folder,favorite,type,name,notes,fields,login_uri,login_username,login_password,login_totp\n",
    );
    for (i, u) in uris.lines().enumerate() {
        csv.push_str(&format!(",,login,Item {i},,,,,,{u}\n"));
    }
    let freeotp = json!({
        "tokenOrder": [],
        "tokens": accounts.iter().map(|a| json!({
            "algo": "SHA1", "counter": 0, "digits": 6, "issuerExt": a.issuer, "issuerInt": a.issuer,
            "label": a.name, "period": 30, "type": "TOTP",
            "secret": a.secret.as_bytes().iter().map(|b| *b as i8).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let proton = json!({
        "version": 1,
        "entries": uris.lines().zip(accounts).map(|(u, a)| json!({
            "id": "x", "content": {"uri": u, "entry_type": "Totp", "name": a.name}, "note": null
        })).collect::<Vec<_>>(),
    });
    let google: String = migration::encode(accounts)
        .unwrap()
        .into_iter()
        .map(|l| l + "\n")
        .collect();
    vec![
        (Format::Aegis, "aegis", aegis::plain(accounts).unwrap()),
        (Format::TwoFas, "2fas", serde_json::to_vec(&twofas).unwrap()),
        (
            Format::AndOtp,
            "andotp",
            serde_json::to_vec(&andotp).unwrap(),
        ),
        (
            Format::BitwardenJson,
            "bitwarden-json",
            serde_json::to_vec(&bitwarden).unwrap(),
        ),
        (Format::BitwardenCsv, "bitwarden-csv", csv.into_bytes()),
        (
            Format::FreeOtpPlus,
            "freeotp-plus",
            serde_json::to_vec(&freeotp).unwrap(),
        ),
        (Format::Ente, "ente", ente.into_bytes()),
        (
            Format::Proton,
            "proton",
            serde_json::to_vec(&proton).unwrap(),
        ),
        (Format::UriList, "uri-list", uris.into_bytes()),
        (
            Format::GoogleMigration,
            "google-migration",
            google.into_bytes(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let accounts = accounts();
    let mut group = c.benchmark_group("import_10k");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for (format, name, bytes) in inputs(&accounts) {
        // Each input must really hold 10,000 accounts (and detection must find its format).
        assert_eq!(import::detect(&bytes), Some(format), "{name}");
        assert_eq!(
            import::import(&bytes, None, None).unwrap().accounts.len(),
            N,
            "{name}"
        );
        group.bench_with_input(BenchmarkId::new("plain", name), &bytes, |b, bytes| {
            b.iter(|| import::import(black_box(bytes), None, None).unwrap())
        });
    }
    let pw = "benchmark";
    let aegis_enc = aegis::encrypted(&accounts, pw).unwrap();
    group.bench_function("encrypted/aegis (scrypt 2^15,8,1)", |b| {
        b.iter(|| import::import(black_box(&aegis_enc), None, Some(pw)).unwrap())
    });
    let cheap = backup::KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };
    let sealed = backup::seal_with(&accounts, pw, cheap).unwrap();
    group.bench_function("encrypted/tessera-backup open (test KDF)", |b| {
        b.iter(|| backup::open(black_box(&sealed), pw).unwrap())
    });
    group.finish();

    let mut kdf = c.benchmark_group("kdf");
    kdf.sample_size(10);
    let one = &accounts[..1];
    let default = backup::seal(one, pw).unwrap();
    kdf.bench_function("tessera-backup open, default Argon2id (64 MiB, t=3)", |b| {
        b.iter(|| backup::open(black_box(&default), pw).unwrap())
    });
    kdf.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
