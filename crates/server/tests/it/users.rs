//! Users, organizations and management tokens.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{error_code, Server};

#[tokio::test]
async fn user_crud_and_paging() {
    let s = Server::start().await;
    let id = s.create_user("alice", Some("correct horse battery")).await;
    let (st, v) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["username"], "alice");
    assert_eq!(v["has_password"], true);
    assert!(
        v.get("password_hash").is_none() && !v.to_string().contains("argon2"),
        "no hash leaks: {v}"
    );

    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "alice"})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(error_code(&v), "conflict");

    for n in 0..4 {
        s.create_user(&format!("u{n}"), None).await;
    }
    let (st, v) = s
        .admin_json(Method::GET, "/api/v2/users?page=2&per_page=2", None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["total"], 5);
    assert_eq!(v["users"].as_array().unwrap().len(), 2);
    let (st, v) = s
        .admin_json(Method::GET, "/api/v2/users?per_page=0", None)
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (st, _) = s
        .admin_json(Method::GET, "/api/v2/users?page=x", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"email": null, "phone": "+1 555 0100"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["email"].is_null());
    assert_eq!(v["phone"], "+1 555 0100");
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"email": "nope"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error_description"].as_str().unwrap().contains("email"));
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"password": "short"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, _) = s
        .admin_json(
            Method::PATCH,
            "/api/v2/users/usr_nobody",
            Some(json!({"phone": null})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"bogus": 1})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );

    let (st, _) = s
        .admin_json(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (st, _) = s
        .admin_json(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn organizations_and_memberships() {
    let s = Server::start().await;
    let (st, org) = s
        .admin_json(
            Method::POST,
            "/api/v2/organizations",
            Some(json!({"name": "acme", "require_mfa": true})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{org}");
    let org_id = org["id"].as_str().unwrap();
    let (st, _) = s
        .admin_json(
            Method::POST,
            "/api/v2/organizations",
            Some(json!({"name": "acme"})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "bob", "organizations": [org_id]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(v["organizations"], json!([org_id]));
    let (st, _) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "carol", "organizations": ["org_nope"]})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/organizations/{org_id}"),
            Some(json!({"require_mfa": false})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["require_mfa"], false);
    let (st, _) = s
        .admin_json(
            Method::PATCH,
            "/api/v2/organizations/org_nope",
            Some(json!({"require_mfa": false})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s
        .admin_json(Method::GET, "/api/v2/organizations", None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_are_scoped_and_revocable_at_once() {
    let s = Server::start().await;
    let (st, v) = s.json(Method::GET, "/api/v2/users", None, None).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let (st, _) = s
        .json(Method::GET, "/api/v2/users", Some("tsm_forged"), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let (st, tok) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["read:users"], "name": "ro"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{tok}");
    let secret = tok["token"].as_str().unwrap();
    assert!(secret.len() >= 40, "≥128-bit token: {secret}");
    let (st, _) = s
        .json(Method::GET, "/api/v2/users", Some(secret), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v2/users",
            Some(secret),
            Some(json!({"username": "x"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("create:users"));

    let (st, list) = s.admin_json(Method::GET, "/api/v2/tokens", None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        !list.to_string().contains(secret),
        "secrets are never listed"
    );
    assert_eq!(list.as_array().unwrap().len(), 2);

    let (st, _) = s
        .admin_json(
            Method::DELETE,
            &format!("/api/v2/tokens/{}", tok["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .json(Method::GET, "/api/v2/users", Some(secret), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "revoked at once");
    let (st, _) = s
        .admin_json(Method::DELETE, "/api/v2/tokens/tok_nope", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["root"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error_description"].as_str().unwrap().contains("scopes"));
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["read:users"], "expires_in": 10})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    s.clock.advance(10);
    let (st, _) = s
        .json(
            Method::GET,
            "/api/v2/users",
            Some(v["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "expired");
}

#[tokio::test]
async fn errors_share_one_shape_and_bodies_are_limited() {
    let s = Server::start().await;
    let (st, v) = s.json(Method::GET, "/nope", None, None).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (st, v) = s.json(Method::PUT, "/oauth/token", None, None).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let big = "x".repeat(70 * 1024);
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": big})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let r = s
        .client
        .post(format!("{}/api/v2/users", s.url))
        .bearer_auth(&s.admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), "invalid_request");
}

#[tokio::test]
async fn rejected_bodies_never_echo_values() {
    let s = Server::start().await;
    let id = s.create_user("vic", None).await;
    let (st, v) = s
        .admin_json(
            Method::POST,
            &format!("/api/v2/users/{id}/otp-verification"),
            Some(json!({"otp": 987654})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(!v.to_string().contains("987654"), "{v}");
    assert!(
        v["error_description"].as_str().unwrap().contains("otp"),
        "{v}"
    );
    let (st, v) = s
        .json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": "password", "username": "vic", "password": 12345678})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(!v.to_string().contains("12345678"), "{v}");
}
