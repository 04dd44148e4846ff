//! A graceful shutdown with devices connected: the server drains and returns, and every event
//! stream ends with a `shutdown` event whose retry hint the device honours.

use std::time::Duration;

use tessera_client::{DeviceEvent, SubscribeOptions};

use tessera_e2e::Server;

/// Generous: the drain waits only for requests in flight; without the fix it never returned.
const DRAIN_LIMIT: Duration = Duration::from_secs(20);

async fn next_event(sub: &mut tessera_client::Subscription) -> DeviceEvent {
    tokio::time::timeout(Duration::from_secs(10), sub.next_event())
        .await
        .expect("an event within 10 s")
        .expect("the subscription is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_ends_device_streams_with_a_retry_hint() {
    let mut server = Server::start().await.unwrap();
    let laptop = server.device("alice", "laptop").await.unwrap();
    let phone = server.device("bob", "phone").await.unwrap();
    let mut subs = Vec::new();
    for d in [&laptop, &phone] {
        let mut sub = d.device().subscribe(SubscribeOptions::default());
        assert!(
            matches!(next_event(&mut sub).await, DeviceEvent::Connected),
            "the stream is open"
        );
        subs.push(sub);
    }

    server
        .shutdown(DRAIN_LIMIT)
        .await
        .expect("open event streams must not hold the shutdown");

    for sub in &mut subs {
        match next_event(sub).await {
            DeviceEvent::Disconnected(reason) => {
                assert_eq!(reason, "server shutting down", "told why, not cut off")
            }
            other => panic!("expected the stream to end, got {other:?}"),
        }
    }
}
