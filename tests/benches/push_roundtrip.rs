//! Push round trip with many connected devices: the relying party creates a challenge → the
//! server sends it to the device's open event stream → the device verifies the server's
//! signature, signs its approval (ES256) and posts it → the relying party's long-poll returns
//! APPROVED. Everything over real HTTP on 127.0.0.1, against the production wiring as
//! `tessera-server` starts it (the e2e harness: SQLite file, master key, users and the relying
//! party's token made through the management API).
//!
//! `cargo bench -p tessera-e2e --bench push_roundtrip -- [devices] [rounds] [in_flight]`
//! (defaults 1000, 2000, 1). Prints p50/p90/p99/max in milliseconds.

// A measuring harness, not product code: indexing a sorted sample is its job.
#![allow(clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_client::{Device, EnrollOptions};
use tessera_core::device::wire::{PushCreated, PushState, PushStatus};
use tessera_core::device::{Decision, EnrollLink};
use tessera_core::{Clock, SystemClock};
use tessera_e2e::bench::{arg, pct};
use tessera_e2e::Server;
use tokio::sync::mpsc;

fn main() -> anyhow::Result<()> {
    let devices = arg(0, 1000);
    let rounds = arg(1, 2000);
    let in_flight = arg(2, 1).max(1);

    // The devices and the relying party: this runtime. The server runs on its own (2 workers,
    // like the 2-core machine it runs on), started by the e2e harness.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let t = Instant::now();
        // No per-user push limit: the bench pushes to each user far more often than a person.
        let server = Server::bare(&[("push_rate_per_minute", "1000000000")]).await?;
        // The server's clock follows the wall clock, which the devices sign with.
        server.clock.set(SystemClock.now_unix());
        let ticking = tokio::spawn({
            let clock = server.clock.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    clock.set(SystemClock.now_unix());
                }
            }
        });
        for i in 0..devices {
            server.user(&format!("u{i}"), None).await?;
        }
        eprintln!("created {devices} users in {:.1} s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut handles = Vec::new();
        let mut senders: Vec<mpsc::UnboundedSender<u32>> = Vec::new();
        for i in 0..devices {
            let offer = server.offer(&format!("u{i}")).await?;
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

        let origin = server.origin.clone();
        let token = server.rp_token.clone();
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
        let senders = Arc::new(senders);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = Vec::new();
        let t = Instant::now();
        for _ in 0..in_flight {
            let (http, origin, token, senders, next) = (http.clone(), origin.clone(), token.clone(), senders.clone(), next.clone());
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
                        .bearer_auth(&token)
                        .json(&serde_json::json!({"user": format!("u{i}"), "context": {"application": "bench"}}))
                        .send().await?.error_for_status()?.json().await?;
                    senders[i].send(created.number).ok();
                    let st: PushStatus = http
                        .get(format!("{origin}/api/v1/push/{}?wait=10", created.transaction_id))
                        .bearer_auth(&token)
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
        ticking.abort();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}
