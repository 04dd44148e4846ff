//! Failure counting per user and factor: growing delays, a hard cap, atomic under
//! concurrency.

use std::sync::Arc;

use reqwest::Method;

use super::harness::{config, oathtool, wrong, Server, T0};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_parallel_wrong_codes_never_let_the_right_one_through() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut c = config(&dir);
    c.lockout.max_failures = 10;
    c.lockout.free_failures = 10; // no delays: only the cap is under test here
    let s =
        Arc::new(Server::start_with(dir, c, Arc::new(tessera_core::ManualClock::new(T0))).await);
    let user = s.create_user("mallory-target", "correct horse").await;
    let (_, secret) = s.enroll(&user).await;
    let right = oathtool(&secret, "sha1", 6, 30, T0);
    let bad = wrong(&right);

    let mut tasks = Vec::new();
    for _ in 0..200 {
        let s = s.clone();
        let user = user.clone();
        let bad = bad.clone();
        tasks.push(tokio::spawn(async move { s.verify(&user, &bad).await.0 }));
    }
    let mut forbidden = 0;
    let mut locked = 0;
    for t in tasks {
        match t.await.unwrap() {
            403 => forbidden += 1,
            429 => locked += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(forbidden, 10, "exactly the cap counted as failures");
    assert_eq!(locked, 190);
    let (st, v) = s.verify(&user, &right).await;
    assert_eq!(st, 429, "the right code must not get through a lock: {v}");
    assert_eq!(v["error"], "too_many_attempts");
    let (_, logs) = s
        .admin(
            Method::GET,
            &format!("/api/v2/logs?user_id={user}&type=lockout"),
            None,
        )
        .await;
    assert_eq!(logs["total"], 1);

    // An admin reset unlocks; the pending code was never voided by the failures.
    let (st, _) = s
        .admin(
            Method::DELETE,
            &format!("/api/v2/users/{user}/lockout"),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(s.verify(&user, &right).await.0, 200);
}

#[tokio::test]
async fn delays_grow_after_the_free_failures() {
    let s = Server::start().await; // defaults: 5 free failures, then 1 s, 2 s, 4 s …
    let user = s.create_user("slow", "correct horse").await;
    let (_, secret) = s.enroll(&user).await;
    let right = oathtool(&secret, "sha1", 6, 30, T0);
    for _ in 0..5 {
        assert_eq!(s.verify(&user, &wrong(&right)).await.0, 403);
    }
    let retry = s
        .http
        .post(format!("{}/api/v2/users/{user}/otp-verification", s.url))
        .bearer_auth(&s.admin)
        .json(&serde_json::json!({"otp": right}))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status().as_u16(), 429);
    assert_eq!(retry.headers()["retry-after"], "1");
    s.clock.advance(1);
    assert_eq!(
        s.verify(&user, &right).await.0,
        200,
        "after the delay the right code works"
    );
}

#[test]
fn the_cap_cannot_be_configured_above_100() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    c.lockout.max_failures = 101;
    let e = c.check().unwrap_err();
    assert_eq!(e.setting, "lockout.max_failures");
}
