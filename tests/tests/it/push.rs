//! Push approvals with number matching, and every attack of the brief's list.

use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use tessera_client::{Device, Enrollment, VirtualDevice};
use tessera_core::device::wire::PushState;
use tessera_core::device::{Decision, DeviceKey};
use tessera_core::Clock;

use tessera_e2e::{code, Server};

const T: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_with_the_number_signs_in() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    device.connect().await;
    let rp = server.rp();
    let push = rp.push("alice").await.unwrap();
    assert!((10..=99).contains(&push.number));
    assert!(push.transaction_id.len() >= 22, "≥128-bit transaction id");
    assert_eq!(
        push.expires_at,
        server.clock.now_unix() + 120,
        "default lifetime 2 min"
    );

    let c = device.next_challenge(T).await.unwrap();
    assert_eq!(c.transaction_id, push.transaction_id);
    assert_eq!(c.context.application, "Payroll");
    assert_eq!(c.context.location, "Lisbon, PT");
    assert!(
        c.number_choices.is_empty(),
        "the number is never sent to the device"
    );

    // The RP long-polls while the device answers.
    let waiting = tokio::spawn({
        let rp = server.rp();
        let tx = push.transaction_id.clone();
        async move { rp.status(&tx, 20).await }
    });
    let verdict = device.approve(&c, push.number).await.unwrap();
    assert_eq!(verdict.state, PushState::Approved);
    let seen = waiting.await.unwrap().unwrap();
    assert_eq!(seen.state, PushState::Approved);
    assert_eq!(seen.reason.as_deref(), Some("approved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_denies() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let push = server.rp().push("alice").await.unwrap();
    let c = device.next_challenge(T).await.unwrap();
    device.deny(&c).await.unwrap();
    let st = server.rp().status(&push.transaction_id, 0).await.unwrap();
    assert_eq!(st.state, PushState::Denied);
    assert_eq!(st.reason.as_deref(), Some("denied"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_number_denies() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let push = server.rp().push("alice").await.unwrap();
    let c = device.next_challenge(T).await.unwrap();
    let wrong = if push.number == 99 {
        10
    } else {
        push.number + 1
    };
    let verdict = device.approve(&c, wrong).await.unwrap();
    assert_eq!(verdict.state, PushState::Denied);
    let st = server.rp().status(&push.transaction_id, 0).await.unwrap();
    assert_eq!(st.state, PushState::Denied);
    assert_eq!(st.reason.as_deref(), Some("wrong_number"));
    // The right number afterwards is too late: decided once.
    let again = device.approve(&c, push.number).await.unwrap_err();
    assert_eq!(code(&again), "conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_wasnt_me_pauses_pushes_and_is_audited() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let rp = server.rp();
    let push = rp.push("alice").await.unwrap();
    let c = device.next_challenge(T).await.unwrap();
    device.not_me(&c).await.unwrap();
    let st = rp.status(&push.transaction_id, 0).await.unwrap();
    assert_eq!(st.state, PushState::Denied);
    assert_eq!(st.reason.as_deref(), Some("not_me"));

    let refused = rp.push_raw("alice", None).await.unwrap();
    assert_eq!(refused.status().as_u16(), 429, "pushes to alice are paused");
    // Bob is not affected.
    server.device("bob", "phone").await.unwrap();
    rp.push("bob").await.unwrap();

    // In the one audit log, under the device's push authenticator.
    let alice = server.user_id("alice").unwrap();
    let admin = server.admin.clone();
    let (st, audit) = server
        .call(
            reqwest::Method::GET,
            &format!("/api/v2/logs?user_id={alice}&type=push.not_me"),
            Some(&admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{audit}");
    let events = audit["logs"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert!(
        events[0]["authenticator_id"]
            .as_str()
            .unwrap()
            .starts_with("push|"),
        "{audit}"
    );
    // After the pause, pushes flow again.
    server.clock.advance(server.config.device.not_me_pause + 1);
    rp.push("alice").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_per_user_are_rate_limited() {
    let server = Server::start_with(&[("push_rate_per_minute", "3")])
        .await
        .unwrap();
    server.device("alice", "laptop").await.unwrap();
    let rp = server.rp();
    for _ in 0..3 {
        rp.push("alice").await.unwrap();
    }
    assert_eq!(
        rp.push_raw("alice", None).await.unwrap().status().as_u16(),
        429
    );
    server.clock.advance(61);
    rp.push("alice").await.unwrap();
    assert_eq!(
        rp.push_raw("alice", Some(301))
            .await
            .unwrap()
            .status()
            .as_u16(),
        400,
        "at most 5 min"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_challenge_cannot_be_approved() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let push = server.rp().push("alice").await.unwrap();
    let c = device.next_challenge(T).await.unwrap();
    server.clock.advance(121);
    let err = device.approve(&c, push.number).await.unwrap_err();
    assert_eq!(code(&err), "expired");
    let st = server.rp().status(&push.transaction_id, 0).await.unwrap();
    assert_eq!(st.state, PushState::Expired);
    // An expired challenge is no longer offered to the device.
    assert!(device.device().challenges().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_approval_is_refused() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let rp = server.rp();
    let push = rp.push("alice").await.unwrap();
    let c = device.next_challenge(T).await.unwrap();
    let signed = device
        .device()
        .sign_answer(&c, Decision::Approve, Some(push.number))
        .unwrap();
    device
        .device()
        .send_answer(&c.transaction_id, &signed)
        .await
        .unwrap();
    let replay = device
        .device()
        .send_answer(&c.transaction_id, &signed)
        .await
        .unwrap_err();
    assert_eq!(code(&replay), "conflict");

    // The same signed approval presented for a later transaction does not verify.
    let second = rp.push("alice").await.unwrap();
    let replay = device
        .device()
        .send_answer(&second.transaction_id, &signed)
        .await
        .unwrap_err();
    assert_eq!(code(&replay), "rejected");
    assert_eq!(
        rp.status(&second.transaction_id, 0).await.unwrap().state,
        PushState::Pending
    );
}

fn impostor(real: &VirtualDevice, key_of: &VirtualDevice) -> Device {
    // Alice's device id, origin and pinned server, but Bob's private key.
    let e = real.device().enrollment();
    let k = &key_of.device().enrollment().key;
    Device::from_enrollment(Enrollment {
        origin: e.origin.clone(),
        server_public_key: e.server_public_key.clone(),
        device_id: e.device_id.clone(),
        user_id: e.user_id.clone(),
        user: e.user.clone(),
        device_name: e.device_name.clone(),
        key: DeviceKey::from_pkcs8(k.algorithm(), k.pkcs8()).unwrap(),
        otp_uri: None,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_devices_key_or_another_users_transaction_is_refused() {
    let server = Server::start().await.unwrap();
    let alice = server.device("alice", "alice-laptop").await.unwrap();
    let bob = server.device("bob", "bob-phone").await.unwrap();
    let rp = server.rp();
    let push = rp.push("alice").await.unwrap();
    let c = alice.next_challenge(T).await.unwrap();

    // Bob's own, valid device answers Alice's transaction: wrong user.
    let err = bob.approve(&c, push.number).await.unwrap_err();
    assert_eq!(code(&err), "rejected");

    // Bob's key claims to be Alice's device: the request signature fails.
    let fake = impostor(&alice, &bob);
    let err = fake
        .answer(&c, Decision::Approve, Some(push.number))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "rejected");

    // Alice's device signs over Bob's transaction.
    let bob_push = rp.push("bob").await.unwrap();
    let bob_c = bob.next_challenge(T).await.unwrap();
    let err = alice.approve(&bob_c, bob_push.number).await.unwrap_err();
    assert_eq!(code(&err), "rejected");

    assert_eq!(
        rp.status(&push.transaction_id, 0).await.unwrap().state,
        PushState::Pending
    );
    assert_eq!(
        rp.status(&bob_push.transaction_id, 0).await.unwrap().state,
        PushState::Pending
    );
    // And the real answer still works.
    alice.approve(&c, push.number).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_answers_exactly_one_wins() {
    let server = Server::start().await.unwrap();
    let phone = server.device("alice", "phone").await.unwrap();
    let laptop = server.device("alice", "laptop").await.unwrap();
    let rp = server.rp();
    for round in 0..8 {
        let push = rp.push("alice").await.unwrap();
        let c1 = phone.next_challenge(T).await.unwrap();
        let c2 = laptop.next_challenge(T).await.unwrap();
        assert_eq!(c1.transaction_id, c2.transaction_id);
        let a = phone.device().clone();
        let b = laptop.device().clone();
        let n = push.number;
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a.answer(&c1, Decision::Approve, Some(n)).await }),
            tokio::spawn(async move { b.answer(&c2, Decision::Deny, None).await }),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(
            ra.is_ok() ^ rb.is_ok(),
            "round {round}: exactly one answer wins"
        );
        let loser = ra.as_ref().err().or(rb.as_ref().err()).unwrap();
        assert_eq!(code(loser), "conflict");
        let expect = if ra.is_ok() {
            PushState::Approved
        } else {
            PushState::Denied
        };
        assert_eq!(
            rp.status(&push.transaction_id, 0).await.unwrap().state,
            expect
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_survives_a_server_restart() {
    let mut server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    device.connect().await;
    let push = server.rp().push("alice").await.unwrap();
    let first = device.next_challenge(T).await.unwrap();
    assert_eq!(first.transaction_id, push.transaction_id);

    server.restart().await.unwrap();

    // The device's subscription reconnects by itself; a new challenge reaches it.
    let second = server.rp().push("alice").await.unwrap();
    let c = device.next_challenge(T).await.unwrap();
    assert_eq!(c.transaction_id, second.transaction_id);
    // The challenge from before the restart is still pending and can be approved.
    device.approve(&first, push.number).await.unwrap();
    assert_eq!(
        server
            .rp()
            .status(&push.transaction_id, 0)
            .await
            .unwrap()
            .state,
        PushState::Approved
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_device_gets_its_challenge_on_reconnect() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    device.connect().await;
    device.disconnect().await;
    let push = server.rp().push("alice").await.unwrap();
    // Back online: the pending challenge is delivered on connect.
    let c = device.next_challenge(T).await.unwrap();
    assert_eq!(c.transaction_id, push.transaction_id);
    device.approve(&c, push.number).await.unwrap();

    // Polling only (no event stream) works too.
    let poller = tessera_client::Device::clone(device.device());
    let mut sub = poller.subscribe(tessera_client::SubscribeOptions {
        poll_only: true,
        poll_interval: Duration::from_millis(100),
        ..Default::default()
    });
    let push = server.rp().push("alice").await.unwrap();
    let c = sub.next_challenge_within(T).await.unwrap();
    assert_eq!(c.transaction_id, push.transaction_id);
}

async fn raw_signed_get(
    server: &Server,
    device: &VirtualDevice,
    timestamp: u64,
    nonce: &str,
) -> u16 {
    let e = device.device().enrollment();
    let auth = tessera_core::device::RequestAuth {
        origin: e.origin.clone(),
        device_id: e.device_id.clone(),
        method: "GET".into(),
        path_and_query: "/device/v1/challenges".into(),
        timestamp,
        nonce: nonce.into(),
        body_sha256: tessera_core::device::message::sha256(b""),
    };
    let sig = BASE64URL_NOPAD.encode(&e.key.sign(&auth.signing_bytes()).unwrap());
    reqwest::Client::new()
        .get(format!("{}/device/v1/challenges", server.origin))
        .header("tessera-device", &e.device_id)
        .header("tessera-timestamp", timestamp.to_string())
        .header("tessera-nonce", nonce)
        .header("tessera-signature", sig)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_or_stale_signed_request_is_refused() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let now = server.clock.now_unix();
    assert_eq!(raw_signed_get(&server, &device, now, "nonce-1").await, 200);
    assert_eq!(
        raw_signed_get(&server, &device, now, "nonce-1").await,
        403,
        "same nonce twice"
    );
    assert_eq!(
        raw_signed_get(&server, &device, now - 3600, "nonce-2").await,
        403,
        "stale"
    );
    assert_eq!(
        raw_signed_get(&server, &device, now + 3600, "nonce-3").await,
        403,
        "future"
    );
    assert_eq!(
        raw_signed_get(&server, &device, now - 30, "nonce-4").await,
        200,
        "in window"
    );
}
