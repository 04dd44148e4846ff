//! The Auth0-shaped MFA API: /oauth/token grants, /mfa/authenticators, /mfa/associate.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::device::wire::PushState;
use tessera_core::Clock;

use super::{enrolled, error_code, oathtool, Server};

const OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

async fn org_user(s: &Server, name: &str) -> String {
    let (_, org) = s
        .admin_json(
            Method::POST,
            "/api/v2/organizations",
            Some(json!({"name": format!("org-{name}"), "require_mfa": true})),
        )
        .await;
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": name, "password": "correct horse battery", "organizations": [org["id"]]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    v["user_id"].as_str().unwrap().to_owned()
}

async fn mfa_token(s: &Server, name: &str) -> String {
    let (st, v) = s.password_grant(name, "correct horse battery").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "mfa_required");
    assert_eq!(
        v["error_description"],
        "Multifactor authentication required"
    );
    v["mfa_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn password_grant_same_answer_for_unknown_users() {
    let s = Server::start().await;
    s.create_user("amy", Some("correct horse battery")).await;
    let (st, ok) = s.password_grant("amy", "correct horse battery").await;
    assert_eq!(st, StatusCode::OK, "no MFA applies: {ok}");
    assert_eq!(ok["token_type"], "Bearer");
    assert!(ok["expires_in"].as_u64().unwrap() > 0);
    let (st1, wrong) = s.password_grant("amy", "wrong password!").await;
    let (st2, unknown) = s.password_grant("nobody", "wrong password!").await;
    assert_eq!((st1, st2), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    assert_eq!(wrong, unknown, "no user enumeration");
    assert_eq!(error_code(&wrong), "invalid_grant");
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": "password", "username": "amy"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("password"));
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": "implicit"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
    // Form encoding works as with Auth0.
    let r = s
        .client
        .post(format!("{}/oauth/token", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=amy&password=correct%20horse%20battery")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn full_auth0_flow_enroll_with_mfa_token_then_mfa_otp() {
    let s = Server::start().await;
    let id = org_user(&s, "bea").await;
    let mfa = mfa_token(&s, "bea").await;

    let (st, v) = s
        .json(Method::GET, "/mfa/authenticators", Some(&mfa), None)
        .await;
    assert_eq!((st, v.clone()), (StatusCode::OK, json!([])));
    let (st, a) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(&mfa),
            Some(json!({"authenticator_types": ["otp"], "client_id": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["authenticator_type"], "otp");
    assert_eq!(a["recovery_codes"].as_array().unwrap().len(), 1);
    let secret = a["secret"].as_str().unwrap();
    let (st, v) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(&mfa),
            Some(json!({"authenticator_types": ["oob"]})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );

    let (st, v) = s
        .json(
            Method::DELETE,
            &format!("/mfa/authenticators/{}", a["id"].as_str().unwrap()),
            Some(&mfa),
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "access_denied"),
        "an mfa_token never deletes"
    );

    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": OTP, "mfa_token": mfa, "otp": "123456"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
    let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, tok) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": OTP, "mfa_token": mfa, "otp": code})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    let access = tok["access_token"].as_str().unwrap().to_owned();

    // The mfa_token is spent.
    s.clock.advance(30);
    let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": OTP, "mfa_token": mfa, "otp": code})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );

    let (st, list) = s
        .json(Method::GET, "/mfa/authenticators", Some(&access), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|x| x["active"] == true));
    let types: Vec<&str> = list
        .iter()
        .map(|x| x["authenticator_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["otp", "recovery-code"]);
    assert_eq!(list[0]["name"], "b**");

    // Signing in again now needs MFA, and a second mfa_token may not associate (already enrolled).
    let mfa2 = mfa_token(&s, "bea").await;
    let (st, v) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(&mfa2),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );
    // …but the access token obtained with MFA may add one.
    let (st, _) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(&access),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let otp_id = list[0]["id"].as_str().unwrap();
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/mfa/authenticators/{otp_id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s
        .json(
            Method::DELETE,
            &format!("/mfa/authenticators/{otp_id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let events = s.events(&id, "delete").await;
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn scopes_are_enforced() {
    let s = Server::start().await;
    let id = s.create_user("cid", Some("correct horse battery")).await;
    let (_, tok) = s
        .json(Method::POST, "/oauth/token", None, Some(json!({"grant_type": "password", "username": "cid", "password": "correct horse battery", "scope": "openid"})))
        .await;
    let access = tok["access_token"].as_str().unwrap();
    assert_eq!(tok["scope"], "openid");
    let (st, v) = s
        .json(Method::GET, "/mfa/authenticators", Some(access), None)
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let (st, _) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(access),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            Method::DELETE,
            "/mfa/authenticators/totp%7Cdev_x",
            Some(access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let admin = s.admin.clone();
    let (st, v) = s
        .json(Method::GET, "/mfa/authenticators", Some(&admin), None)
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );
    // A user token cannot use the management API.
    let (st, v) = s
        .json(
            Method::GET,
            &format!("/api/v2/users/{id}"),
            Some(access),
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );
}

#[tokio::test]
async fn password_only_token_cannot_change_factors_once_enrolled() {
    let s = Server::start().await;
    let id = s.create_user("dee", Some("correct horse battery")).await;
    let (_, tok) = s.password_grant("dee", "correct horse battery").await;
    let weak = tok["access_token"].as_str().unwrap().to_owned();
    let (a, _) = enrolled(&s, &id).await;
    let (st, v) = s
        .json(
            Method::DELETE,
            &format!("/mfa/authenticators/{}", a["id"].as_str().unwrap()),
            Some(&weak),
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );
    let (st, _) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(&weak),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Enrolled users are asked for MFA even without an organization policy.
    let (st, v) = s.password_grant("dee", "correct horse battery").await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required"))
    );
}

#[tokio::test]
async fn an_unknown_oob_code_or_mfa_token_is_an_invalid_grant() {
    let s = Server::start().await;
    org_user(&s, "eli").await;
    let mfa = mfa_token(&s, "eli").await;
    let (st, v) = s
        .json(Method::POST, "/oauth/token", None, Some(json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-oob", "mfa_token": mfa, "oob_code": "x"})))
        .await;
    // The device factor is installed: an unknown oob_code (transaction id) is refused.
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": OTP, "mfa_token": "tsf_bogus", "otp": "123456"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": OTP, "mfa_token": mfa})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    // An expired mfa_token is refused.
    s.clock.advance(301);
    let (st, _) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": OTP, "mfa_token": mfa, "otp": "123456"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(Method::GET, "/mfa/authenticators", Some(&mfa), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn global_mfa_requirement_applies_to_everyone() {
    let s = Server::start_with(|c| c.mfa.required = true).await;
    s.create_user("fay", Some("correct horse battery")).await;
    let (st, v): (StatusCode, Value) = s.password_grant("fay", "correct horse battery").await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required"))
    );
}

/// A push of `user_id` as the device factor stores it, pending until `decide`.
fn insert_push(state: &tessera_server::AppState, tx: &str, user_id: &str, now: u64) {
    use tessera_server::device::store::PushRecord;
    state
        .devices()
        .insert_push(&PushRecord {
            transaction_id: tx.into(),
            user_id: user_id.into(),
            nonce: format!("nonce-{tx}"),
            number: 42,
            number_choices: vec![],
            context: Default::default(),
            device_networks: Default::default(),
            created_at: now,
            expires_at: now + 100,
            state: PushState::Pending,
            device_id: None,
            reason: None,
        })
        .unwrap();
}

fn decide(state: &tessera_server::AppState, tx: &str, to: PushState, now: u64) {
    use tessera_server::device::store::PushDecision;
    assert!(state
        .devices()
        .decide_push(&PushDecision {
            transaction_id: tx,
            state: to,
            device_id: Some("dev_x"),
            reason: "decided in the test",
            pause_until: None,
            now,
        })
        .unwrap());
}

#[tokio::test]
async fn an_approved_push_completes_the_oob_grant_once() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = super::t0_clock();
    let (state, admin) =
        tessera_server::open(super::config_in(tmp.path()).unwrap(), clock.clone()).unwrap();
    let s = Server::serve(state.clone(), clock, admin.unwrap()).await;
    let gil = org_user(&s, "gil").await;
    let hal = org_user(&s, "hal").await;
    let now = s.clock.now_unix();
    // The mfa-oob grant with `tx` as the oob_code: status, error code and body.
    let oob = |mfa: &str, tx: &str| {
        let body = json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-oob",
                          "mfa_token": mfa, "oob_code": tx, "binding_code": "42"});
        let s = &s;
        async move {
            let (st, v) = s.json(Method::POST, "/oauth/token", None, Some(body)).await;
            let code = v["error"].as_str().unwrap_or_default().to_owned();
            (st, code, v)
        }
    };
    let mfa = mfa_token(&s, "gil").await;
    insert_push(&state, "tx_pending", &gil, now);
    let (st, code, _) = oob(&mfa, "tx_pending").await;
    assert_eq!(
        (st, code.as_str()),
        (StatusCode::BAD_REQUEST, "authorization_pending"),
        "the user has not decided yet: poll again"
    );
    decide(&state, "tx_pending", PushState::Denied, now);
    insert_push(&state, "tx_hal", &hal, now);
    decide(&state, "tx_hal", PushState::Approved, now);
    for (tx, why) in [
        ("tx_pending", "denied"),
        ("tx_hal", "another user's approval"),
        ("tx_unknown", "no such push"),
    ] {
        let (st, code, _) = oob(&mfa, tx).await;
        assert_eq!(
            (st, code.as_str()),
            (StatusCode::FORBIDDEN, "invalid_grant"),
            "{why}"
        );
    }
    insert_push(&state, "tx_ok", &gil, now);
    decide(&state, "tx_ok", PushState::Approved, now);
    let (st, _, v) = oob(&mfa, "tx_ok").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, _) = s
        .json(Method::GET, "/api/v2/me", v["access_token"].as_str(), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = oob(&mfa, "tx_ok").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "the mfa_token is spent");
    let again = mfa_token(&s, "gil").await;
    let (st, code, _) = oob(&again, "tx_ok").await;
    assert_eq!(
        (st, code.as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant"),
        "an approval completes one sign-in only"
    );
}

#[tokio::test]
async fn one_mfa_token_completes_mfa_once_even_in_parallel() {
    let s = std::sync::Arc::new(Server::start().await);
    let id = s.create_user("hugo", Some("correct horse battery")).await;
    let (_, secret) = enrolled(&s, &id).await;
    s.clock.advance(300);
    let mfa = mfa_token(&s, "hugo").await;
    let now = s.clock.now_unix();
    // Two different codes that are both valid now (steps t and t+1, skew 1).
    let codes = [
        oathtool(&secret, "SHA1", 6, 30, now),
        oathtool(&secret, "SHA1", 6, 30, now + 30),
    ];
    let mut tasks = Vec::new();
    for code in codes {
        let (s, mfa) = (std::sync::Arc::clone(&s), mfa.clone());
        tasks.push(tokio::spawn(async move {
            s.json(
                Method::POST,
                "/oauth/token",
                None,
                Some(json!({"grant_type": OTP, "mfa_token": mfa, "otp": code})),
            )
            .await
            .0
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "exactly one access token per mfa_token");
}
