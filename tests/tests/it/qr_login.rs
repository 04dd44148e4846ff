//! QR login: approve, single use, bound to the browser that asked.

use reqwest::Method;
use tessera_client::Error;
use tessera_core::device::{Decision, QrLoginLink};

use tessera_e2e::{Browser, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_login_is_redeemed_once_by_the_browser_that_asked() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let mut browser = Browser::new(&server.origin);
    let (status, session) = browser
        .send(Method::POST, "/qr-login/sessions")
        .await
        .unwrap();
    assert_eq!(status, 201);
    let cookie = browser.cookie.clone().unwrap();
    assert!(cookie.starts_with("tessera_qr_dsi="));
    let link = session["link"].as_str().unwrap();
    let lsi = session["lsi"].as_str().unwrap().to_owned();
    assert_eq!(lsi.len(), 20);
    assert!(
        !link.contains(cookie.trim_start_matches("tessera_qr_dsi=")),
        "the DSI is never in the QR"
    );
    assert_eq!(QrLoginLink::parse(link).unwrap().lsi, lsi);

    let details = device.qr_login(link, Decision::Approve).await.unwrap();
    assert_eq!(
        details.context.ip, "127.0.0.1",
        "the device is shown who asked"
    );

    // A second browser (an attacker who saw the QR) cannot learn the state or redeem it.
    let mut other = Browser::new(&server.origin);
    let (_, _) = other
        .send(Method::POST, "/qr-login/sessions")
        .await
        .unwrap();
    let (s, _) = other
        .send(Method::GET, &format!("/qr-login/sessions/{lsi}"))
        .await
        .unwrap();
    assert_eq!(s, 401);
    let (s, _) = other
        .send(Method::POST, &format!("/qr-login/sessions/{lsi}/redeem"))
        .await
        .unwrap();
    assert_eq!(s, 401);
    let mut bare = Browser::new(&server.origin);
    let (s, _) = bare
        .send(Method::POST, &format!("/qr-login/sessions/{lsi}/redeem"))
        .await
        .unwrap();
    assert_eq!(s, 401);

    let (s, st) = browser
        .send(Method::GET, &format!("/qr-login/sessions/{lsi}"))
        .await
        .unwrap();
    assert_eq!((s, st["state"].as_str()), (200, Some("approved")));
    let (s, who) = browser
        .send(Method::POST, &format!("/qr-login/sessions/{lsi}/redeem"))
        .await
        .unwrap();
    assert_eq!(s, 200);
    assert_eq!(who["username"], "alice");
    let (s, _) = browser
        .send(Method::POST, &format!("/qr-login/sessions/{lsi}/redeem"))
        .await
        .unwrap();
    assert_eq!(s, 409, "single use");

    // A device cannot approve it again either.
    let err = device.qr_login(link, Decision::Approve).await.unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_sessions_expire_and_foreign_qrs_are_refused() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let mut browser = Browser::new(&server.origin);
    let (_, session) = browser
        .send(Method::POST, "/qr-login/sessions")
        .await
        .unwrap();
    let link = session["link"].as_str().unwrap().to_owned();
    let lsi = session["lsi"].as_str().unwrap().to_owned();

    // A QR naming another server key (a look-alike server) is refused before any request.
    let mut fake = QrLoginLink::parse(&link).unwrap();
    fake.server_key = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB".into();
    let err = device
        .qr_login(&fake.to_link(), Decision::Approve)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pinning(_)), "{err}");
    let mut elsewhere = QrLoginLink::parse(&link).unwrap();
    elsewhere.origin = "https://evil.example".into();
    let err = device
        .qr_login(&elsewhere.to_link(), Decision::Approve)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pinning(_)), "{err}");

    server.clock.advance(121);
    let err = device.qr_login(&link, Decision::Approve).await.unwrap_err();
    assert_eq!(err.server_code(), Some("expired"));
    let (_, st) = browser
        .send(Method::GET, &format!("/qr-login/sessions/{lsi}"))
        .await
        .unwrap();
    assert_eq!(st["state"], "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_qr_login_cannot_be_redeemed() {
    let server = Server::start().await.unwrap();
    let device = server.device("alice", "laptop").await.unwrap();
    let mut browser = Browser::new(&server.origin);
    let (_, session) = browser
        .send(Method::POST, "/qr-login/sessions")
        .await
        .unwrap();
    let link = session["link"].as_str().unwrap().to_owned();
    let lsi = session["lsi"].as_str().unwrap().to_owned();
    device.qr_login(&link, Decision::Deny).await.unwrap();
    let (_, st) = browser
        .send(Method::GET, &format!("/qr-login/sessions/{lsi}?wait=1"))
        .await
        .unwrap();
    assert_eq!(st["state"], "denied");
    let (s, _) = browser
        .send(Method::POST, &format!("/qr-login/sessions/{lsi}/redeem"))
        .await
        .unwrap();
    assert_eq!(s, 409);
}
