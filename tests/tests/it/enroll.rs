//! Enrollment: offers, proof of possession, pinning, single use, expiry, removal.

use tessera_client::{EnrollOptions, Error, MemoryKeyStore, VirtualDevice};
use tessera_core::device::{EnrollLink, SignatureAlgorithm};

use tessera_e2e::{code, Server};

fn opts(alg: Option<SignatureAlgorithm>) -> EnrollOptions {
    EnrollOptions {
        device_name: "test device".into(),
        platform: "test".into(),
        algorithm: alg,
        user_verification: false,
    }
}

/// The ids of a user's push (`oob`) and OTP authenticators, as the management API lists them.
async fn authenticators(server: &Server, user: &str) -> (Vec<String>, Vec<String>) {
    let path = format!(
        "/api/v2/users/{}/authentication-methods",
        server.user_id(user).unwrap()
    );
    let (st, v) = server
        .call(reqwest::Method::GET, &path, Some(&server.admin), None)
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    let of = |kind: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["authenticator_type"] == kind)
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    (of("oob"), of("otp"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolls_both_algorithms_and_lists_the_device() {
    let server = Server::start().await.unwrap();
    let offer = server.offer("alice").await.unwrap();
    let link = EnrollLink::parse(&offer.link).unwrap();
    assert_eq!(link.origin, server.origin);
    assert_eq!(link.preferred, SignatureAlgorithm::Es256);
    assert!(link.code.len() >= 43, "256-bit code");
    assert_eq!(offer.expires_at, tessera_e2e::START + 600, "10 min default");
    assert!(offer.qr_svg.starts_with("<?xml") || offer.qr_svg.contains("<svg"));

    let es = VirtualDevice::enroll_with(&offer.link, &opts(None), server.clock.clone())
        .await
        .unwrap();
    assert_eq!(
        es.device().enrollment().key.algorithm(),
        SignatureAlgorithm::Es256
    );
    assert!(es
        .device()
        .enrollment()
        .otp_uri
        .as_deref()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let offer2 = server.offer("alice").await.unwrap();
    let ed = VirtualDevice::enroll_with(
        &offer2.link,
        &opts(Some(SignatureAlgorithm::Ed25519)),
        server.clock.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        ed.device().info().await.unwrap().algorithm,
        SignatureAlgorithm::Ed25519
    );

    let list = server
        .rp()
        .get_json("/api/v1/users/alice/devices")
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // Removing a device removes its paired TOTP too, and its key stops working.
    let id = es.device().id().to_owned();
    let (push, otp) = authenticators(&server, "alice").await;
    assert!(push.contains(&format!("push|{id}")), "{push:?}");
    assert_eq!(otp.len(), 2, "one paired TOTP per device: {otp:?}");
    es.device().unenroll().await.unwrap();
    let (push, otp) = authenticators(&server, "alice").await;
    assert!(!push.contains(&format!("push|{id}")), "{push:?}");
    assert_eq!(
        otp.len(),
        1,
        "the removed device's TOTP went with it: {otp:?}"
    );
    let err = es.device().challenges().await.unwrap_err();
    assert_eq!(code(&err), "rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_code_works_once_and_expires() {
    let server = Server::start().await.unwrap();
    let offer = server.offer("alice").await.unwrap();
    VirtualDevice::enroll_with(&offer.link, &opts(None), server.clock.clone())
        .await
        .unwrap();
    let again = VirtualDevice::enroll_with(&offer.link, &opts(None), server.clock.clone())
        .await
        .unwrap_err();
    assert_eq!(
        code(&again),
        "unauthorized",
        "a stolen, already used QR is worthless"
    );

    let late = server.offer("alice").await.unwrap();
    server.clock.advance(601);
    let err = VirtualDevice::enroll_with(&late.link, &opts(None), server.clock.clone())
        .await
        .unwrap_err();
    assert_eq!(code(&err), "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_naming_another_server_key_is_refused() {
    let server = Server::start().await.unwrap();
    let offer = server.offer("alice").await.unwrap();
    let mut link = EnrollLink::parse(&offer.link).unwrap();
    link.server_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    let err = VirtualDevice::enroll_with(&link.to_link(), &opts(None), server.clock.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pinning(_)), "{err}");
    // The code was not consumed by the refused attempt's key check: the genuine link works.
    VirtualDevice::enroll_with(&offer.link, &opts(None), server.clock.clone())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_kept_in_a_key_store_comes_back() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let mut store = MemoryKeyStore::default();
    device.save(&mut store).unwrap();
    let id = device.device().id().to_owned();
    drop(device);
    assert!(VirtualDevice::load(&store, &id).unwrap().is_some());
    let back = VirtualDevice::from_device(
        tessera_client::Device::from_enrollment_with_clock(
            tessera_client::KeyStore::load(&store, &id)
                .unwrap()
                .unwrap(),
            server.clock.clone(),
        )
        .unwrap(),
    );
    let push = server.rp().push("alice").await.unwrap();
    let c = back
        .next_challenge(std::time::Duration::from_secs(10))
        .await
        .unwrap();
    back.approve(&c, push.number).await.unwrap();
}
