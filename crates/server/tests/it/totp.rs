//! TOTP enrollment and verification: oathtool codes accepted once and only once, across a
//! restart; skew; policy changes apply to new enrollments only; the QR code carries the URI.

use std::sync::Arc;

use reqwest::Method;
use tessera_core::{qr, uri, Algorithm};

use super::harness::{config, oathtool, wrong, Server, T0};

#[tokio::test]
async fn enrollment_carries_a_uri_a_qr_and_stays_inactive_until_confirmed() {
    let s = Server::start().await;
    let user = s.create_user("alice", "correct horse").await;
    let (s1, v) = s
        .admin(
            Method::POST,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    assert_eq!(s1, 201);
    let uri_text = v["barcode_uri"].as_str().unwrap();
    assert!(
        uri_text.starts_with("otpauth://totp/Tessera:alice?"),
        "{uri_text}"
    );
    let account = uri::parse(uri_text).unwrap();
    assert_eq!(account.issuer, "Tessera");
    assert_eq!(account.name, "alice");
    assert_eq!(account.secret.bits(), 160, "≥160-bit secret for SHA-1");
    assert_eq!(account.secret.to_base32(), v["secret"].as_str().unwrap());
    // The PNG QR code decodes (rqrr) to the same URI; the SVG is an SVG.
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(v["qr_png_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        qr::decode_image_bytes(&png).unwrap(),
        vec![uri_text.to_owned()]
    );
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);

    let (_, list) = s
        .admin(
            Method::GET,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    assert_eq!(list[0]["active"], false);
    assert_eq!(list[0]["authenticator_type"], "otp");

    let code = oathtool(v["secret"].as_str().unwrap(), "sha1", 6, 30, T0);
    let (st, _) = s.verify(&user, &code).await;
    assert_eq!(st, 200);
    let (_, list) = s
        .admin(
            Method::GET,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    assert_eq!(list[0]["active"], true);
    let (_, logs) = s
        .admin(
            Method::GET,
            &format!("/api/v2/logs?user_id={user}&type=confirm"),
            None,
        )
        .await;
    assert_eq!(logs["total"], 1);
}

#[tokio::test]
async fn a_code_verifies_once_only_even_after_a_restart() {
    let s = Server::start().await;
    let user = s.create_user("bob", "correct horse").await;
    let (_, secret) = s.enroll(&user).await;
    let code = oathtool(&secret, "sha1", 6, 30, T0);
    assert_eq!(s.verify(&user, &code).await.0, 200);
    let (st, v) = s.verify(&user, &code).await;
    assert_eq!(st, 403, "replay within the window: {v}");
    assert_eq!(v["error"], "invalid_grant");

    // A wrong guess does not void the next pending code.
    s.clock.advance(30);
    let next = oathtool(&secret, "sha1", 6, 30, T0 + 30);
    assert_eq!(s.verify(&user, &wrong(&next)).await.0, 403);
    assert_eq!(s.verify(&user, &next).await.0, 200);

    let s = s.restart().await;
    assert_eq!(
        s.verify(&user, &next).await.0,
        403,
        "used code after restart"
    );
    assert_eq!(
        s.verify(&user, &code).await.0,
        403,
        "older code after restart"
    );
    s.clock.advance(30);
    let third = oathtool(&secret, "sha1", 6, 30, T0 + 60);
    assert_eq!(
        s.verify(&user, &third).await.0,
        200,
        "enrollment survived the restart"
    );
}

#[tokio::test]
async fn skew_accepts_one_period_either_side_and_no_more() {
    let s = Server::start().await;
    let user = s.create_user("carol", "correct horse").await;
    let (_, secret) = s.enroll(&user).await;
    s.clock.set(T0 + 300);
    // A code from two periods ago: refused. One period ago: accepted.
    assert_eq!(
        s.verify(&user, &oathtool(&secret, "sha1", 6, 30, T0 + 240))
            .await
            .0,
        403
    );
    assert_eq!(
        s.verify(&user, &oathtool(&secret, "sha1", 6, 30, T0 + 270))
            .await
            .0,
        200
    );
    // The next period's code (clock drift the other way) is accepted after it.
    assert_eq!(
        s.verify(&user, &oathtool(&secret, "sha1", 6, 30, T0 + 330))
            .await
            .0,
        200
    );
    // And now the current one is older than the last accepted step: refused (one-time use).
    assert_eq!(
        s.verify(&user, &oathtool(&secret, "sha1", 6, 30, T0 + 300))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_policy_change_applies_to_new_enrollments_only() {
    let s = Server::start().await;
    let user = s.create_user("dave", "correct horse").await;
    let (_, old_secret) = s.enroll(&user).await;
    let clock = s.clock.clone();
    let dir = s.dir.clone();
    let mut s = s;
    s.shutdown().await;

    let mut c = config(&dir);
    c.totp.algorithm = "SHA512".into();
    c.totp.digits = 8;
    c.totp.period = 60;
    let s = Server::start_with(dir, c, clock).await;
    let (_, v) = s
        .admin(
            Method::POST,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    let new = uri::parse(v["barcode_uri"].as_str().unwrap()).unwrap();
    assert_eq!(
        (new.algorithm, new.digits, new.period),
        (Algorithm::Sha512, 8, 60)
    );
    assert_eq!(
        new.secret.bits(),
        512,
        "secret as long as the SHA-512 output"
    );
    let new_secret = v["secret"].as_str().unwrap();

    // The old enrollment still uses SHA-1/6/30, the new one SHA-512/8/60.
    assert_eq!(
        s.verify(&user, &oathtool(&old_secret, "sha1", 6, 30, T0))
            .await
            .0,
        200
    );
    assert_eq!(
        s.verify(&user, &oathtool(new_secret, "sha512", 8, 60, T0))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn twelve_digit_policy_and_enrollment_cap() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut c = config(&dir);
    c.totp.digits = 12;
    c.totp.max_enrollments = 2;
    let s = Server::start_with(dir, c, Arc::new(tessera_core::ManualClock::new(T0))).await;
    let user = s.create_user("erin", "correct horse").await;
    let (_, secret) = s.enroll(&user).await;
    s.enroll(&user).await;
    let (st, v) = s
        .admin(
            Method::POST,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    assert_eq!(st, 409, "{v}");
    // oathtool stops at 8 digits; a 12-digit code is the 31-bit value zero-padded, so its
    // last 8 digits are oathtool's 8-digit code.
    let eight = oathtool(&secret, "sha1", 8, 30, T0);
    let ours = tessera_core::otp::totp(
        tessera_core::Secret::from_base32(&secret)
            .unwrap()
            .as_bytes(),
        T0,
        30,
        12,
        Algorithm::Sha1,
    )
    .unwrap();
    assert_eq!(&ours[4..], eight);
    assert_eq!(ours.len(), 12);
    assert_eq!(s.verify(&user, &ours).await.0, 200);
}
