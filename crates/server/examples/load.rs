//! Load generator for TOTP validation with one-time use on (used by scripts/bench-server.sh).
//!
//! Sets up `--users` users with a confirmed TOTP authenticator through the management API, then
//! keeps `--connections` requests in flight against `POST /api/v2/users/{id}/otp-verification`
//! for `--seconds`. Every request carries a code that has not been used yet (each user is asked
//! at most once per time step, so with one-time use on every request is a real, accepted
//! validation); the server should run with a short `totp.period` so a modest number of users
//! sustains the rate. Prints requests/s, p50, p99 and the count of non-200 answers.
//!
//! `--url` may list several instances, comma-separated: setup goes through the first, and each
//! in-flight request slot sticks to one instance (slots are spread over them round-robin).
//!
//! `cargo run --release -p tessera-server --example load -- --url URL[,URL…] --token TOKEN`

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tessera_core::otp::{time_step, totp};
use tessera_core::{Algorithm, Clock, SystemClock};

struct Args {
    url: String,
    urls: Vec<String>,
    token: String,
    users: usize,
    connections: usize,
    seconds: u64,
    period: u32,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        url: "http://127.0.0.1:7878".into(),
        urls: Vec::new(),
        token: String::new(),
        users: 12_000,
        connections: 256,
        seconds: 20,
        period: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => a.url = v,
            "--token" => a.token = v,
            "--users" => a.users = v.parse()?,
            "--connections" => a.connections = v.parse()?,
            "--seconds" => a.seconds = v.parse()?,
            "--period" => a.period = v.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if a.token.is_empty() {
        bail!("--token is required");
    }
    a.urls = a.url.split(',').map(str::to_owned).collect();
    a.url = a.urls.first().cloned().context("--url")?;
    Ok(a)
}

struct User {
    id: String,
    secret: Vec<u8>,
    last_step: AtomicU64,
}

async fn post(
    c: &reqwest::Client,
    a: &Args,
    path: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let r = c
        .post(format!("{}{path}", a.url))
        .bearer_auth(&a.token)
        .json(&body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn setup_user(c: &reqwest::Client, a: &Args, n: usize) -> anyhow::Result<User> {
    let (st, u) = post(
        c,
        a,
        "/api/v2/users",
        json!({"username": format!("load-{n}-{}", SystemClock.now_unix())}),
    )
    .await?;
    if st != 201 {
        bail!("create user: {st} {u}");
    }
    let id = u
        .get("user_id")
        .and_then(Value::as_str)
        .context("user_id")?
        .to_owned();
    let (st, e) = post(
        c,
        a,
        &format!("/api/v2/users/{id}/authentication-methods"),
        json!({"type": "totp"}),
    )
    .await?;
    if st != 201 {
        bail!("enroll: {st} {e}");
    }
    let secret = data_encoding::BASE32_NOPAD.decode(
        e.get("secret")
            .and_then(Value::as_str)
            .context("secret")?
            .as_bytes(),
    )?;
    let now = SystemClock.now_unix();
    let code = totp(&secret, now, a.period, 6, Algorithm::Sha1)?;
    let (st, v) = post(
        c,
        a,
        &format!("/api/v2/users/{id}/otp-verification"),
        json!({"otp": code}),
    )
    .await?;
    if st != 200 {
        bail!("confirm: {st} {v}");
    }
    Ok(User {
        id,
        secret,
        last_step: AtomicU64::new(time_step(now, a.period)?),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Arc::new(parse_args()?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .build()?;

    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (c, a, next) = (client.clone(), Arc::clone(&a), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= a.users {
                    return Ok::<_, anyhow::Error>(out);
                }
                out.push(setup_user(&c, &a, n).await?);
            }
        }));
    }
    let mut users = Vec::new();
    for t in tasks {
        users.extend(t.await??);
    }
    let users = Arc::new(users);
    eprintln!(
        "setup: {} users in {:.1}s",
        users.len(),
        t.elapsed().as_secs_f64()
    );

    let cursor = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let mut workers = Vec::new();
    for slot in 0..a.connections {
        let target = a
            .urls
            .get(slot % a.urls.len().max(1))
            .cloned()
            .unwrap_or_default();
        let (c, a, users, cursor) = (
            client.clone(),
            Arc::clone(&a),
            Arc::clone(&users),
            Arc::clone(&cursor),
        );
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut bad = 0u64;
            let mut idle_spins = 0usize;
            while Instant::now() < deadline {
                let Some(u) = users.get(cursor.fetch_add(1, Ordering::Relaxed) % users.len())
                else {
                    break;
                };
                let step = time_step(SystemClock.now_unix(), a.period)?;
                // Claim this user's current step; skip users already asked in this step.
                let last = u.last_step.load(Ordering::Relaxed);
                if last >= step
                    || u.last_step
                        .compare_exchange(last, step, Ordering::AcqRel, Ordering::Relaxed)
                        .is_err()
                {
                    idle_spins += 1;
                    if idle_spins % users.len().max(1) == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    continue;
                }
                let code = totp(
                    &u.secret,
                    step * u64::from(a.period),
                    a.period,
                    6,
                    Algorithm::Sha1,
                )?;
                let started = Instant::now();
                let r = c
                    .post(format!("{target}/api/v2/users/{}/otp-verification", u.id))
                    .bearer_auth(&a.token)
                    .json(&json!({"otp": code}))
                    .send()
                    .await?;
                let ok = r.status().as_u16() == 200;
                let _ = r.bytes().await?;
                lat.push(started.elapsed().as_micros() as u64);
                if !ok {
                    bad += 1;
                }
            }
            Ok::<_, anyhow::Error>((lat, bad))
        }));
    }
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut bad = 0;
    for w in workers {
        let (l, b) = w.await??;
        lat.extend(l);
        bad += b;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "requests={} seconds={secs:.1} req/s={:.0} p50_ms={:.2} p99_ms={:.2} non_200={bad}",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0
    );
    Ok(())
}
