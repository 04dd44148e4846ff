//! Push round trip across two `tessera-server` instances on one PostgreSQL database: each
//! device's event stream is held by one instance (a TCP balancer in front of both, one public
//! origin), and the relying party creates the push through the *other* instance and long-polls
//! it there. So every round crosses instances twice: the new push reaches the device's
//! instance through `LISTEN/NOTIFY`, and the approval, posted to the device's instance, wakes
//! the relying party's long-poll through it too.
//!
//! Needs `TESSERA_TEST_DATABASE_URL` (a PostgreSQL server; scripts/bench-push-instances.sh
//! starts a private one) and a release `tessera-server` beside the bench binary.
//!
//! `cargo bench -p tessera-e2e --bench push_instances -- [devices] [rounds] [in_flight]`
//! (defaults 1000, 2000, 1). Prints p50/p90/p99/max in milliseconds.

// A measuring harness, not product code: indexing a sorted sample is its job.
#![allow(clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tessera_client::{Device, DeviceEvent, EnrollOptions};
use tessera_core::device::wire::{PushCreated, PushState, PushStatus};
use tessera_core::device::{Decision, EnrollLink};
use tessera_e2e::bench::{arg, pct};
use tessera_e2e::instances::{authority, Balancer, Instances};
use tessera_server::testing::{fresh_pg_database, PG_ENV};
use tokio::sync::mpsc;

fn main() -> anyhow::Result<()> {
    let devices = arg(0, 1000);
    let rounds = arg(1, 2000);
    let in_flight = arg(2, 1).max(1);
    let admin_url = std::env::var(PG_ENV).with_context(|| format!("{PG_ENV} is not set"))?;
    let database = fresh_pg_database(&admin_url)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (balancer, backends) = Balancer::start().await?;
        let inst = Instances::start_on(
            &database,
            2,
            "push_rate_per_minute = 1000000000\n",
            Some(&balancer.url),
        )?;
        let urls: Vec<String> = inst.nodes.iter().map(|n| n.url.clone()).collect();
        backends.send_replace(urls.iter().map(|u| authority(u)).collect());
        let admin = inst.admin.clone();
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;

        let t = Instant::now();
        for i in 0..devices {
            let r = http
                .post(format!("{}/api/v2/users", urls[i % 2]))
                .bearer_auth(&admin)
                .json(&serde_json::json!({"username": format!("u{i}")}))
                .send()
                .await?;
            anyhow::ensure!(r.status() == 201, "user {i}: {}", r.status());
        }
        eprintln!("created {devices} users in {:.1} s", t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut handles = Vec::new();
        let mut senders: Vec<mpsc::UnboundedSender<u32>> = Vec::new();
        for i in 0..devices {
            // Device i's connections (enrollment, event stream) reach instance i % 2.
            balancer.route(i % 2);
            let offer: serde_json::Value = http
                .post(format!("{}/device/v1/enroll/offers", urls[i % 2]))
                .bearer_auth(&admin)
                .json(&serde_json::json!({"user": format!("u{i}")}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let link = EnrollLink::parse(offer["link"].as_str().ok_or_else(|| anyhow!("no link"))?)?;
            let device = Device::enroll(
                &link,
                &EnrollOptions { device_name: format!("d{i}"), platform: "bench".into(), ..EnrollOptions::default() },
            )
            .await?;
            let mut sub = device.subscribe(tessera_client::SubscribeOptions::default());
            loop {
                match sub.next_event().await {
                    Some(DeviceEvent::Connected) => break,
                    Some(_) => continue,
                    None => anyhow::bail!("device {i}: the stream ended"),
                }
            }
            let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
            senders.push(tx);
            handles.push(tokio::spawn(async move {
                while let Some(c) = sub.next_challenge().await {
                    let Some(n) = rx.recv().await else { return };
                    if let Err(e) = device.answer(&c, Decision::Approve, Some(n)).await {
                        eprintln!("answer failed: {e}");
                    }
                }
            }));
        }
        eprintln!(
            "enrolled and connected {devices} devices (half on each instance) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;

        let senders = Arc::new(senders);
        let urls = Arc::new(urls);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = Vec::new();
        let t = Instant::now();
        for _ in 0..in_flight {
            let (http, admin, senders, next, urls) =
                (http.clone(), admin.clone(), senders.clone(), next.clone(), urls.clone());
            workers.push(tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if k >= rounds {
                        return Ok::<_, anyhow::Error>(times);
                    }
                    let i = k % senders.len();
                    // The instance that does not hold device i's stream.
                    let other = &urls[(i + 1) % 2];
                    let start = Instant::now();
                    let created: PushCreated = http
                        .post(format!("{other}/api/v1/push"))
                        .bearer_auth(&admin)
                        .json(&serde_json::json!({"user": format!("u{i}"), "context": {"application": "bench"}}))
                        .send().await?.error_for_status()?.json().await?;
                    senders[i].send(created.number).ok();
                    let st: PushStatus = http
                        .get(format!("{other}/api/v1/push/{}?wait=10", created.transaction_id))
                        .bearer_auth(&admin)
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
            "instances=2 devices={devices} rounds={rounds} in_flight={in_flight}  p50={:.2} ms  p90={:.2} ms  p99={:.2} ms  max={:.2} ms  throughput={:.0}/s",
            pct(&all, 0.50), pct(&all, 0.90), pct(&all, 0.99), pct(&all, 1.0),
            rounds as f64 / wall.as_secs_f64()
        );
        for h in handles {
            h.abort();
        }
        drop(inst);
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}
