//! The device factor in the Auth0-shaped API: the `mfa-oob` grant completes MFA with an approved
//! push, and the push authenticator and its paired TOTP live and die together.

use std::time::Duration;

use serde_json::json;
use tessera_core::Clock;
use tessera_e2e::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_push_completes_the_auth0_mfa_oob_grant() {
    let s = Server::bare(&[]).await.unwrap();
    s.user_requiring_mfa("carol", "correct horse battery")
        .await
        .unwrap();
    let device = s.device("carol", "phone").await.unwrap();

    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(json!({"grant_type": "password", "username": "carol", "password": "correct horse battery"})))
        .await
        .unwrap();
    assert_eq!(
        (st, v["error"].as_str()),
        (403, Some("mfa_required")),
        "{v}"
    );
    let mfa_token = v["mfa_token"].as_str().unwrap().to_owned();

    let admin = s.admin.clone();
    let (st, push) = s
        .call(
            reqwest::Method::POST,
            "/api/v1/push",
            Some(&admin),
            Some(json!({"user": "carol", "context": {"application": "Payroll"}})),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{push}");
    let tx = push["transaction_id"].as_str().unwrap().to_owned();
    let grant = json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-oob", "mfa_token": mfa_token, "oob_code": tx});

    // Pending: Auth0's `authorization_pending`, and the mfa_token stays usable.
    let (st, v) = s
        .call(
            reqwest::Method::POST,
            "/oauth/token",
            None,
            Some(grant.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("authorization_pending")),
        "{v}"
    );

    let c = device
        .next_challenge(Duration::from_secs(10))
        .await
        .unwrap();
    device
        .approve(&c, push["number"].as_u64().unwrap() as u32)
        .await
        .unwrap();
    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(grant))
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_its_paired_totp_are_created_and_deleted_together() {
    let s = Server::bare(&[]).await.unwrap();
    let user_id = s
        .user_requiring_mfa("erin", "correct horse battery")
        .await
        .unwrap();
    let device = s.device("erin", "phone").await.unwrap();
    let otp_uri = device.device().enrollment().otp_uri.clone().unwrap();
    assert!(otp_uri.starts_with("otpauth://totp/"), "{otp_uri}");

    let admin = s.admin.clone();
    let path = format!("/api/v2/users/{user_id}/authentication-methods");
    let (st, list) = s
        .call(reqwest::Method::GET, &path, Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(st, 200, "{list}");
    let items = list.as_array().unwrap();
    let push = items
        .iter()
        .find(|a| a["authenticator_type"] == "oob")
        .expect("push listed");
    assert_eq!(push["oob_channel"], "push");
    let otp = items
        .iter()
        .find(|a| a["authenticator_type"] == "otp")
        .expect("paired TOTP listed");
    assert_eq!(otp["active"], true);

    // The paired TOTP works as a second factor on its own.
    let account = tessera_core::uri::parse(&otp_uri).unwrap();
    let now = s.clock.now_unix();
    let code = account.code_at(now).unwrap().value;
    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(json!({"grant_type": "password", "username": "erin", "password": "correct horse battery"})))
        .await
        .unwrap();
    assert_eq!(st, 403, "{v}");
    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp", "mfa_token": v["mfa_token"], "otp": code})))
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");

    // Deleting the TOTP deletes the push authenticator: the device key stops working.
    let otp_id = otp["id"].as_str().unwrap().replace('|', "%7C");
    let (st, v) = s
        .call(
            reqwest::Method::DELETE,
            &format!("{path}/{otp_id}"),
            Some(&admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(st, 204, "{v}");
    let (_, list) = s
        .call(reqwest::Method::GET, &path, Some(&admin), None)
        .await
        .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|a| a["authenticator_type"] != "oob"),
        "{list}"
    );
    let err = device.device().challenges().await.unwrap_err();
    assert_eq!(err.server_code(), Some("rejected"));
}
