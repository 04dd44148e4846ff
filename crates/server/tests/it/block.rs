//! An administrator locks (blocks) a user on purpose (`PATCH /api/v2/users/{id}`
//! `{"blocked": true}`): every way in refuses them, with `user_blocked` only once the first
//! factor was proven; what they held ends at once; unlocking lets them in again.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use super::account::{call, overview};
use super::signin_flow::{Browser, PW};
use super::{enrolled, error_code, oathtool, Server};

async fn set_blocked(s: &Server, id: &str, blocked: bool) -> Value {
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({ "blocked": blocked })),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["blocked"], blocked, "{v}");
    v
}

/// The hosted sign-in's password step for `user`: (status, body) of `…/verify`.
async fn hosted_password(s: &Server, user: &str, password: &str) -> (StatusCode, Value) {
    let mut b = Browser::new(s);
    let f = b.start(None).await;
    let f = b.ok(&f, "identifier", json!({ "identifier": user })).await;
    // Before the password, a locked user's flow is like anyone's.
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("password")),
        "{f}"
    );
    b.step(
        &f,
        "verify",
        json!({"method": "password", "password": password}),
    )
    .await
}

#[tokio::test]
async fn a_locked_user_is_refused_everywhere_after_the_first_factor_and_unlocking_restores() {
    let s = Server::start().await;
    let ana = s.create_user("ana", Some(PW)).await;
    let (st, u) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{ana}"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (u["blocked"].clone(), u["blocked_at"].clone()),
        (json!(false), Value::Null)
    );

    // What ana holds before the lock: an account-center session, an access token.
    let mut b = Browser::new(&s);
    assert_eq!(b.password(None, "ana", PW).await["step"], "done");
    overview(&b).await;
    let (st, v) = s.password_grant("ana", PW).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let access = v["access_token"].as_str().unwrap().to_owned();
    let (st, _) = s.json(Method::GET, "/api/v2/me", Some(&access), None).await;
    assert_eq!(st, StatusCode::OK);

    // A token without update:users cannot lock.
    let (st, t) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"name": "reader", "scopes": ["read:users"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let reader = t["token"].as_str().unwrap().to_owned();
    let (st, v) = s
        .json(
            Method::PATCH,
            &format!("/api/v2/users/{ana}"),
            Some(&reader),
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(error_code(&v), "insufficient_scope");
    // The user's own access token is no management token either.
    let (st, _) = s
        .json(
            Method::PATCH,
            &format!("/api/v2/users/{ana}"),
            Some(&access),
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The lock: shown on the user and in the list, audited.
    s.clock.advance(5);
    let locked = set_blocked(&s, &ana, true).await;
    assert_eq!(locked["blocked_at"], s.clock.now_unix(), "{locked}");
    let (_, list) = s.admin_json(Method::GET, "/api/v2/users", None).await;
    let listed = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == ana.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["blocked"], true, "{listed}");
    let events = s.events(&ana, "user.blocked").await;
    assert_eq!(events.len(), 1, "{events:?}");
    // Locking again changes nothing (and writes no second event).
    set_blocked(&s, &ana, true).await;
    assert_eq!(s.events(&ana, "user.blocked").await.len(), 1);

    // Everything ana held ends at once.
    let (st, v) = call(&b, Method::GET, "/account/api/overview", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, _) = b.call(Method::GET, "/signin/api/session", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = s.json(Method::GET, "/api/v2/me", Some(&access), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");

    // The hosted sign-in: a wrong password gets the usual answer, the right one the lock.
    let (st, v) = hosted_password(&s, "ana", "not the password").await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into()),
        "{v}"
    );
    let (st, v) = hosted_password(&s, "ana", PW).await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::FORBIDDEN, "user_blocked".into()),
        "{v}"
    );
    assert_eq!(
        v["error_description"],
        "this account is locked; contact your administrator"
    );
    // The password grant alike.
    let (st, v) = s.password_grant("ana", "not the password").await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::FORBIDDEN, "invalid_grant".into())
    );
    let (st, v) = s.password_grant("ana", PW).await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::FORBIDDEN, "user_blocked".into()),
        "{v}"
    );
    assert!(v["access_token"].is_null());
    // No sign-in was counted while locked.
    let (_, u) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{ana}"), None)
        .await;
    assert_eq!(u["sign_ins"], 1, "{u}");

    // Unlocked: signs in again, audited.
    let unlocked = set_blocked(&s, &ana, false).await;
    assert!(unlocked["blocked_at"].is_null(), "{unlocked}");
    assert_eq!(s.events(&ana, "user.unblocked").await.len(), 1);
    let mut b = Browser::new(&s);
    assert_eq!(b.password(None, "ana", PW).await["step"], "done");
    overview(&b).await;
    let (st, v) = s.password_grant("ana", PW).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // An unknown user cannot be locked.
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            "/api/v2/users/usr_nobody",
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn locking_ends_a_pending_mfa_and_pushes_and_the_device_approves_nothing() {
    let s = Server::start().await;
    let bo = s.create_user("bo", Some(PW)).await;
    let (_, secret) = enrolled(&s, &bo).await;

    // A password grant half done: the mfa_token dies with the lock.
    let (st, v) = s.password_grant("bo", PW).await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::FORBIDDEN, "mfa_required".into())
    );
    let mfa_token = v["mfa_token"].as_str().unwrap().to_owned();

    // bo's desktop app, and a push pending for him.
    let (st, offer) = s
        .admin_json(
            Method::POST,
            "/device/v1/enroll/offers",
            Some(json!({"user": bo})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{offer}");
    let device = tessera_client::VirtualDevice::enroll_with(
        offer["link"].as_str().unwrap(),
        &tessera_client::EnrollOptions {
            device_name: "bo's laptop".into(),
            platform: "test".into(),
            ..tessera_client::EnrollOptions::default()
        },
        s.clock.clone(),
    )
    .await
    .unwrap();
    let push = json!({"user": bo, "context": {"action": "Sign in"}});
    let (st, created) = s
        .admin_json(Method::POST, "/api/v1/push", Some(push.clone()))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let tx = created["transaction_id"].as_str().unwrap().to_owned();
    let challenge = device
        .next_challenge(Duration::from_secs(10))
        .await
        .unwrap();

    set_blocked(&s, &bo, true).await;

    // The pending push was ended; the device can answer nothing, and no new push starts.
    let (st, status) = s
        .admin_json(Method::GET, &format!("/api/v1/push/{tx}"), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{status}");
    assert_eq!(status["state"], "denied", "{status}");
    assert_eq!(status["reason"], "user_blocked", "{status}");
    let number = u32::try_from(created["number"].as_u64().unwrap_or(0)).unwrap();
    assert!(device.approve(&challenge, number).await.is_err());
    assert!(device.device().challenges().await.is_err());
    let (st, v) = s.admin_json(Method::POST, "/api/v1/push", Some(push)).await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::FORBIDDEN, "user_blocked".into()),
        "{v}"
    );

    // The mfa_token was revoked: the right code finishes nothing.
    s.clock.advance(30);
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({
                "grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
                "mfa_token": mfa_token,
                "otp": code,
            })),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(v["access_token"].is_null(), "{v}");

    // Unlocked: the device works again and pushes start.
    set_blocked(&s, &bo, false).await;
    assert!(device.device().challenges().await.is_ok());
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v1/push",
            Some(json!({"user": bo, "context": {"action": "Sign in"}})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}
