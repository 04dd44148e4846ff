//! Administration (LG-10, LG-4), self-service (LG-8) and the audit log.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_core::Clock;

use super::{enrolled, error_code, oathtool, Server};

#[tokio::test]
async fn admin_views_and_removes_factors() {
    let s = Server::start().await;
    let id = s.create_user("jo", None).await;
    enrolled(&s, &id).await;
    s.admin_enroll(&id).await;
    let path = format!("/api/v2/users/{id}/authentication-methods");
    let (st, list) = s.admin_json(Method::GET, &path, None).await;
    assert_eq!(st, StatusCode::OK);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3, "two OTP + recovery: {list:?}");
    let pending = list.iter().find(|x| x["active"] == false).unwrap();
    let (st, _) = s
        .admin_json(
            Method::DELETE,
            &format!(
                "{path}/{}",
                pending["id"].as_str().unwrap().replace('|', "%7C")
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .admin_json(Method::DELETE, &format!("{path}/totp%7Cdev_nope"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.admin_json(Method::DELETE, &path, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, list) = s.admin_json(Method::GET, &path, None).await;
    assert_eq!(list, json!([]));
    assert_eq!(s.events(&id, "delete_all").await.len(), 1);
    let (st, _) = s
        .admin_json(
            Method::GET,
            "/api/v2/users/usr_nope/authentication-methods",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .admin_json(
            Method::DELETE,
            "/api/v2/users/usr_nope/authentication-methods",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn skipped_prompt_state_reset_by_admin_and_self() {
    let s = Server::start().await;
    let id = s.create_user("kay", Some("correct horse battery")).await;
    let (_, tok) = s.password_grant("kay", "correct horse battery").await;
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let (st, v) = s
        .json(
            Method::PATCH,
            "/api/v2/me/logto-configs",
            Some(&access),
            Some(json!({"mfa": {"skipped": true}})),
        )
        .await;
    assert_eq!(
        (st, v.clone()),
        (StatusCode::OK, json!({"mfa": {"skipped": true}}))
    );
    let (_, me) = s.json(Method::GET, "/api/v2/me", Some(&access), None).await;
    assert_eq!(
        me["mfa"],
        json!({"enrolled": false, "required": false, "skipped": true})
    );
    // LG-9: the security score, low without a second factor, and what would raise it.
    assert_eq!(me["security"]["score"], 20, "{me}");
    assert_eq!(me["security"]["suggestions"][0], "add_second_factor");
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}/logto-configs"),
            Some(json!({"mfa": {"skipped": false}})),
        )
        .await;
    assert_eq!(
        (st, v),
        (StatusCode::OK, json!({"mfa": {"skipped": false}}))
    );
    let (_, u) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(u["mfa_prompt_skipped"], false);
    assert_eq!(s.events(&id, "mfa_prompt_reset").await.len(), 1);
    let (st, _) = s
        .admin_json(
            Method::PATCH,
            "/api/v2/users/usr_nope/logto-configs",
            Some(json!({"mfa": {"skipped": false}})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}/logto-configs"),
            Some(json!({"mfa": {}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn self_service_bind_confirm_regenerate_unbind() {
    let s = Server::start().await;
    s.create_user("lou", Some("correct horse battery")).await;
    let (_, tok) = s.password_grant("lou", "correct horse battery").await;
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let (st, a) = s
        .json(
            Method::POST,
            "/api/v2/me/authenticators",
            Some(&access),
            Some(json!({"type": "totp"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let secret = a["secret"].as_str().unwrap();
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v2/me/otp-verification",
            Some(&access),
            Some(json!({"otp": "000000"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
    let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v2/me/otp-verification",
            Some(&access),
            Some(json!({"otp": code})),
        )
        .await;
    assert_eq!((st, v["confirmed"].clone()), (StatusCode::OK, json!(true)));
    let (st, list) = s
        .json(
            Method::GET,
            "/api/v2/me/authenticators",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);

    // Now enrolled: the password-only token may no longer change factors; complete MFA.
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v2/me/recovery-code-regeneration",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, v) = s.password_grant("lou", "correct horse battery").await;
    let mfa = v["mfa_token"].as_str().unwrap();
    let (_, me_list) = s
        .json(Method::GET, "/api/v2/me/authenticators", Some(mfa), None)
        .await;
    assert_eq!(
        error_code(&me_list),
        "access_denied",
        "self-service needs an access token"
    );
    s.clock.advance(30);
    let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, tok) = s
        .json(Method::POST, "/oauth/token", None, Some(json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp", "mfa_token": mfa, "otp": code})))
        .await;
    assert_eq!(st, StatusCode::OK);
    let strong = tok["access_token"].as_str().unwrap().to_owned();
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v2/me/recovery-code-regeneration",
            Some(&strong),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["recovery_code"].as_str().unwrap().len(), 24);
    let (_, me) = s.json(Method::GET, "/api/v2/me", Some(&strong), None).await;
    assert_eq!(me["mfa"]["enrolled"], true);
    assert!(
        me["security"]["score"].as_u64().unwrap() >= 60,
        "it rises with MFA: {me}"
    );
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/api/v2/me/authenticators/{}", a["id"].as_str().unwrap()),
            Some(&strong),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/api/v2/me/authenticators/{}", a["id"].as_str().unwrap()),
            Some(&strong),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let admin = s.admin.clone();
    let (st, _) = s.json(Method::GET, "/api/v2/me", Some(&admin), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn audit_log_records_every_mfa_event_without_codes() {
    let s = Server::start().await;
    let id = s.create_user("max", Some("correct horse battery")).await;
    let (a, secret) = enrolled(&s, &id).await;
    s.verify(&id, "999999").await;
    let (_, v) = s.password_grant("max", "correct horse battery").await;
    let mfa = v["mfa_token"].as_str().unwrap();
    s.clock.advance(30);
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    s.json(Method::POST, "/oauth/token", None, Some(json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp", "mfa_token": mfa, "otp": code}))).await;
    s.admin_json(
        Method::POST,
        &format!("/api/v2/users/{id}/recovery-code-regeneration"),
        None,
    )
    .await;
    s.admin_json(
        Method::DELETE,
        &format!(
            "/api/v2/users/{id}/authentication-methods/{}",
            a["id"].as_str().unwrap().replace('|', "%7C")
        ),
        None,
    )
    .await;

    let (st, all) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/logs?user_id={id}&per_page=100"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let kinds: Vec<&str> = all["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for k in [
        "enroll",
        "confirm",
        "verify_ok",
        "verify_fail",
        "token_use",
        "token_issued",
        "regenerate",
        "delete",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let text = all.to_string();
    assert!(
        !text.contains(&code) && !text.contains(&secret) && !text.contains("999999"),
        "no codes or secrets in the log"
    );
    let (_, page) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/logs?user_id={id}&type=enroll&page=1&per_page=1"),
            None,
        )
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["logs"].as_array().unwrap().len(), 1);
    let (st, _) = s.admin_json(Method::GET, "/api/v2/logs?page=0", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, ro) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["read:users"]})),
        )
        .await;
    let (st, _) = s
        .json(Method::GET, "/api/v2/logs", ro["token"].as_str(), None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}
