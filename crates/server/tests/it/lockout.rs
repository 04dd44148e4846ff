//! Failure counting: growing delays, the hard cap under concurrency, unlock.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_core::Clock;

use super::{config_in, enrolled, error_code, oathtool, t0_clock, Server};

#[tokio::test]
async fn delays_grow_and_a_right_code_waits_them_out() {
    let s = Server::start().await; // default: 3 free failures, then 2 s, 4 s, …
    let id = s.create_user("nia", None).await;
    let (_, secret) = enrolled(&s, &id).await;
    s.clock.advance(30);
    for _ in 0..3 {
        assert_eq!(s.verify(&id, "000000").await.0, StatusCode::FORBIDDEN);
    }
    let right = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = s.verify(&id, &right).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    s.clock.advance(2);
    let (st, v) = s.verify(&id, &right).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "the refused attempt did not void the code: {v}"
    );
    let (_, b) = s
        .admin_json(Method::GET, &format!("/api/v2/user-blocks/{id}"), None)
        .await;
    assert_eq!(b, json!({"blocked_for": []}), "success resets the counter");
}

#[tokio::test]
async fn two_hundred_parallel_wrong_codes_never_let_the_right_one_through() {
    let s = Arc::new(Server::start_with(|c| c.lockout.delay_base_secs = 0).await); // cap 10, no delays
    let id = s.create_user("oli", None).await;
    let (_, secret) = enrolled(&s, &id).await;
    s.clock.advance(30);
    let right = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let counts = wrong_codes_in_parallel(&[Arc::clone(&s)], &id, &right, 200).await;
    assert_eq!(
        counts.get(&StatusCode::FORBIDDEN),
        Some(&10),
        "exactly the cap evaluated: {counts:?}"
    );
    assert_eq!(
        counts.get(&StatusCode::TOO_MANY_REQUESTS),
        Some(&190),
        "{counts:?}"
    );
    let (st, v) = s.verify(&id, &right).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    s.clock.advance(86_400);
    assert_eq!(
        s.verify(&id, &right).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "locked until an admin unlocks"
    );
    assert_eq!(s.events(&id, "verify_fail").await.len(), 10);
    assert_eq!(s.events(&id, "lockout").await.len(), 1);

    let (_, b) = s
        .admin_json(Method::GET, &format!("/api/v2/user-blocks/{id}"), None)
        .await;
    assert_eq!(b["blocked_for"][0]["factor"], "otp");
    assert_eq!(b["blocked_for"][0]["locked"], true);
    assert_eq!(b["blocked_for"][0]["failures"], 10);
    let (st, _) = s
        .admin_json(Method::DELETE, &format!("/api/v2/user-blocks/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let fresh = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    assert_eq!(s.verify(&id, &fresh).await.0, StatusCode::OK);
    let (st, _) = s
        .admin_json(Method::DELETE, "/api/v2/user-blocks/usr_nope", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Two instances on one database (two `open`s, as two server processes would be): wrong codes
/// for one user arrive at both at once. Nothing in either process can serialise them, only
/// the database: the cap must hold exactly across the two, and a right code sent to both at
/// once must verify once.
#[tokio::test]
async fn two_instances_on_one_database_share_the_cap_and_the_one_time_step() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config_in(tmp.path()).unwrap();
    config.lockout.delay_base_secs = 0; // cap 10, no delays
    let clock = t0_clock();
    let (state_a, first) = tessera_server::open(config.clone(), clock.clone()).unwrap();
    let (state_b, again) = tessera_server::open(config, clock.clone()).unwrap();
    assert!(
        again.is_none(),
        "the second instance finds the first one's admin token"
    );
    let admin = first.unwrap();
    let a = Arc::new(Server::serve(state_a, clock.clone(), admin.clone()).await);
    let b = Arc::new(Server::serve(state_b, clock.clone(), admin).await);
    let id = a.create_user("uma", None).await;
    let (_, secret) = enrolled(&a, &id).await;
    clock.advance(30);
    let right = oathtool(&secret, "SHA1", 6, 30, clock.now_unix());

    let counts = wrong_codes_in_parallel(&[Arc::clone(&a), Arc::clone(&b)], &id, &right, 200).await;
    assert_eq!(
        counts.get(&StatusCode::FORBIDDEN),
        Some(&10),
        "exactly the cap evaluated over both instances: {counts:?}"
    );
    assert_eq!(
        counts.get(&StatusCode::TOO_MANY_REQUESTS),
        Some(&190),
        "{counts:?}"
    );
    for s in [&a, &b] {
        let (st, v) = s.verify(&id, &right).await;
        assert_eq!(
            (st, error_code(&v).as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            "the right code is refused by either instance once locked"
        );
    }
    assert_eq!(b.events(&id, "verify_fail").await.len(), 10);
    assert_eq!(a.events(&id, "lockout").await.len(), 1);

    // Unlocked by one instance; the right code sent to both at once verifies once.
    let (st, _) = b
        .admin_json(Method::DELETE, &format!("/api/v2/user-blocks/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (ra, rb) = tokio::join!(a.verify(&id, &right), b.verify(&id, &right));
    let mut got = [ra.0, rb.0];
    got.sort();
    assert_eq!(
        got,
        [StatusCode::OK, StatusCode::FORBIDDEN],
        "one instance accepts, the other finds the step used"
    );
}

#[tokio::test]
async fn a_timed_lock_ends_by_itself() {
    let s = Server::start_with(|c| {
        c.lockout.delay_base_secs = 0;
        c.lockout.max_failures = 3;
        c.lockout.lock_secs = 600;
    })
    .await;
    let id = s.create_user("pam", None).await;
    let (_, secret) = enrolled(&s, &id).await;
    for _ in 0..3 {
        s.verify(&id, "000000").await;
    }
    s.clock.advance(599);
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    assert_eq!(s.verify(&id, &code).await.0, StatusCode::TOO_MANY_REQUESTS);
    s.clock.advance(1);
    assert_eq!(s.verify(&id, &code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn password_lockout_answers_like_a_wrong_password() {
    let s = Server::start_with(|c| {
        c.lockout.delay_base_secs = 0;
        c.lockout.max_failures = 5;
    })
    .await;
    let id = s.create_user("quin", Some("correct horse battery")).await;
    for _ in 0..5 {
        assert_eq!(
            s.password_grant("quin", "wrong password!").await.0,
            StatusCode::FORBIDDEN
        );
    }
    let (st, locked) = s.password_grant("quin", "correct horse battery").await;
    let (_, wrong) = s.password_grant("nobody", "correct horse battery").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(locked, wrong, "a lock does not reveal that the user exists");
    s.admin_json(Method::DELETE, &format!("/api/v2/user-blocks/{id}"), None)
        .await;
    assert_eq!(
        s.password_grant("quin", "correct horse battery").await.0,
        StatusCode::OK
    );
}

/// Sends `n` distinct wrong codes for `id` at once, spread round-robin over `servers` (none equal
/// to `right`); how many answers of each status came back.
async fn wrong_codes_in_parallel(
    servers: &[Arc<Server>],
    id: &str,
    right: &str,
    n: u32,
) -> std::collections::HashMap<StatusCode, u32> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let s = Arc::clone(&servers[i as usize % servers.len()]);
        let (id, right) = (id.to_owned(), right.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut wrong = format!("{:06}", (i * 4999 + 17) % 1_000_000);
            if wrong == right {
                wrong = "abcdef".into();
            }
            s.verify(&id, &wrong).await.0
        }));
    }
    let mut counts = std::collections::HashMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    counts
}
