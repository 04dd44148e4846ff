//! Push round trip with many connected devices: the relying party creates a challenge → the
//! server sends it to the device's open event stream → the device verifies the server's
//! signature, signs its approval (ES256) and posts it → the relying party's long-poll returns
//! APPROVED. Everything over real HTTP on 127.0.0.1.
//!
//! `cargo bench -p tessera-e2e --bench push_roundtrip -- [devices] [rounds] [in_flight]`
//! (defaults 1000, 2000, 1). Prints p50/p90/p99/max in milliseconds.

// A measuring harness, not product code: indexing a sorted sample is its job.
#![allow(clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_client::{Device, EnrollOptions};
use tessera_core::device::wire::{PushCreated, PushState, PushStatus};
use tessera_core::device::{Decision, EnrollLink};
use tessera_core::SystemClock;
use tessera_server::device::{
    enrollment, routes, DeviceConfig, DeviceState, MemoryDirectory, SqliteDeviceStore,
};
use tokio::sync::mpsc;

const TOKEN: &str = "bench-token-0123456789abcdef0123";

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let devices = arg(0, 1000);
    let rounds = arg(1, 2000);
    let in_flight = arg(2, 1).max(1);

    // The server: its own runtime (2 workers, like the 2-core machine it runs on).
    let dir = tempfile::tempdir()?;
    let directory = Arc::new(MemoryDirectory::new());
    directory.add_token(TOKEN)?;
    for i in 0..devices {
        directory.add_user(&format!("u{i}"), "pw")?;
    }
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let origin = format!("http://{}", listener.local_addr()?);
    let config = DeviceConfig {
        origin: origin.clone(),
        push_rate_per_minute: u64::MAX,
        ..DeviceConfig::default()
    };
    let store = SqliteDeviceStore::open(&dir.path().join("bench.db"))?;
    let state = DeviceState::new(config, Arc::new(store), directory, Arc::new(SystemClock))?;
    let app = routes::<()>(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    server_rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // The devices and the relying party: another runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let t = Instant::now();
        let mut handles = Vec::new();
        let mut senders: Vec<mpsc::UnboundedSender<u32>> = Vec::new();
        for i in 0..devices {
            let offer = enrollment::create_offer(&state, &format!("u{i}"))?;
            let link = EnrollLink::parse(&offer.link)?;
            let device = Device::enroll(&link, &EnrollOptions { device_name: format!("d{i}"), platform: "bench".into(), ..EnrollOptions::default() }).await?;
            let mut sub = device.subscribe(tessera_client::SubscribeOptions::default());
            let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
            senders.push(tx);
            handles.push(tokio::spawn(async move {
                // Each challenge is answered with the number the "user" reads off the screen.
                while let Some(c) = sub.next_challenge().await {
                    let Some(n) = rx.recv().await else { return };
                    if let Err(e) = device.answer(&c, Decision::Approve, Some(n)).await {
                        eprintln!("answer failed: {e}");
                    }
                }
            }));
        }
        eprintln!("enrolled and connected {devices} devices in {:.1} s", t.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(2)).await;

        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
        let senders = Arc::new(senders);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = Vec::new();
        let t = Instant::now();
        for _ in 0..in_flight {
            let (http, origin, senders, next) = (http.clone(), origin.clone(), senders.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if k >= rounds {
                        return Ok::<_, anyhow::Error>(times);
                    }
                    let i = k % senders.len();
                    let start = Instant::now();
                    let created: PushCreated = http
                        .post(format!("{origin}/api/v1/push"))
                        .bearer_auth(TOKEN)
                        .json(&serde_json::json!({"user": format!("u{i}"), "context": {"application": "bench"}}))
                        .send().await?.error_for_status()?.json().await?;
                    senders[i].send(created.number).ok();
                    let st: PushStatus = http
                        .get(format!("{origin}/api/v1/push/{}?wait=10", created.transaction_id))
                        .bearer_auth(TOKEN)
                        .send().await?.error_for_status()?.json().await?;
                    anyhow::ensure!(st.state == PushState::Approved, "round {k}: {:?}", st.state);
                    times.push(start.elapsed());
                }
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await??);
        }
        let wall = t.elapsed();
        all.sort();
        println!(
            "devices={devices} rounds={rounds} in_flight={in_flight}  p50={:.2} ms  p90={:.2} ms  p99={:.2} ms  max={:.2} ms  throughput={:.0}/s",
            pct(&all, 0.50), pct(&all, 0.90), pct(&all, 0.99), pct(&all, 1.0),
            rounds as f64 / wall.as_secs_f64()
        );
        for h in handles {
            h.abort();
        }
        Ok::<_, anyhow::Error>(())
    })?;
    drop(server_rt);
    Ok(())
}
