//! The management API: users, paging, validation, scopes, tokens, remove-all, audit,
//! OpenAPI, body limits.

use reqwest::Method;
use serde_json::json;

use super::harness::{oathtool, Server, T0};

#[tokio::test]
async fn users_crud_paging_and_validation() {
    let s = Server::start().await;
    for i in 0..7 {
        s.create_user(&format!("user{i}"), "correct horse").await;
    }
    let (st, v) = s
        .admin(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "USER3", "password": "correct horse"})),
        )
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (409, Some("conflict")),
        "usernames are case-insensitive"
    );
    let (st, v) = s
        .admin(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "short", "password": "123"})),
        )
        .await;
    assert_eq!(st, 400);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("password"));
    let (st, v) = s
        .admin(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "x", "password": "correct horse", "role": "god"})),
        )
        .await;
    assert_eq!(st, 400, "unknown fields refused: {v}");

    let (_, page) = s
        .admin(Method::GET, "/api/v2/users?page=1&per_page=3", None)
        .await;
    assert_eq!(page["total"], 7);
    let names: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user3", "user4", "user5"]);
    assert!(
        page["users"][0].get("password_hash").is_none(),
        "never serialised"
    );
    assert_eq!(
        s.admin(Method::GET, "/api/v2/users?per_page=1000", None)
            .await
            .0,
        400
    );

    let id = page["users"][0]["id"].as_str().unwrap().to_owned();
    let (st, u) = s
        .admin(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"email": "u3@example.com"})),
        )
        .await;
    assert_eq!((st, u["email"].as_str()), (200, Some("u3@example.com")));
    assert_eq!(
        s.admin(Method::DELETE, &format!("/api/v2/users/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.admin(Method::GET, &format!("/api/v2/users/{id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        s.admin(Method::DELETE, &format!("/api/v2/users/{id}"), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn tokens_are_scoped_and_revocable_at_once() {
    let s = Server::start().await;
    assert_eq!(
        s.call(Method::GET, "/api/v2/users", None, None).await.0,
        401
    );
    assert_eq!(
        s.call(Method::GET, "/api/v2/users", Some("not-a-token"), None)
            .await
            .0,
        401
    );

    let (st, t) = s
        .admin(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["read:users"]})),
        )
        .await;
    assert_eq!(st, 201);
    let reader = t["token"].as_str().unwrap().to_owned();
    assert_eq!(
        s.call(Method::GET, "/api/v2/users", Some(&reader), None)
            .await
            .0,
        200
    );
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v2/users",
            Some(&reader),
            Some(json!({"username": "a", "password": "correct horse"})),
        )
        .await;
    assert_eq!((st, v["error"].as_str()), (403, Some("insufficient_scope")));
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("write:users"));

    let (_, list) = s.admin(Method::GET, "/api/v2/tokens", None).await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scopes"] == json!(["read:users"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        list.to_string().find(&reader).is_none(),
        "tokens are never listed"
    );
    assert_eq!(
        s.admin(Method::DELETE, &format!("/api/v2/tokens/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.call(Method::GET, "/api/v2/users", Some(&reader), None)
            .await
            .0,
        401
    );
    let (st, _) = s
        .admin(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["root"]})),
        )
        .await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn remove_all_mfa_and_audit_log() {
    let s = Server::start().await;
    let user = s.create_user("victim", "correct horse").await;
    let (_, secret) = s.enroll(&user).await;
    s.enroll(&user).await;
    let code = oathtool(&secret, "sha1", 6, 30, T0);
    assert_eq!(s.verify(&user, &code).await.0, 200);
    assert_eq!(s.verify(&user, "000000").await.0, 403);
    let (_, list) = s
        .admin(
            Method::GET,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "two OTP + the recovery-code entry"
    );
    assert_eq!(
        s.admin(
            Method::DELETE,
            &format!("/api/v2/users/{user}/authenticators"),
            None
        )
        .await
        .0,
        204
    );
    let (_, list) = s
        .admin(
            Method::GET,
            &format!("/api/v2/users/{user}/authenticators"),
            None,
        )
        .await;
    assert_eq!(list, json!([]));

    let (_, logs) = s
        .admin(Method::GET, &format!("/api/v2/logs?user_id={user}"), None)
        .await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    for k in [
        "enroll",
        "confirm",
        "verify_ok",
        "verify_fail",
        "delete_all_mfa",
        "user_create",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let text = logs.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(&code),
        "no secret or code in the audit log"
    );
}

#[tokio::test]
async fn errors_have_one_shape_and_bodies_are_limited() {
    let s = Server::start().await;
    let (st, v) = s.call(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(st, 404);
    assert!(v["error"].is_string() && v["error_description"].is_string());
    let big = "x".repeat(100 * 1024);
    let r = s
        .http
        .post(format!("{}/api/v2/users", s.url))
        .bearer_auth(&s.admin)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"username\":\"{big}\",\"password\":\"correct horse\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (st, v) = s
        .http
        .post(format!("{}/api/v2/users", s.url))
        .bearer_auth(&s.admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map(|st| (st, ()))
        .unwrap();
    assert_eq!((st, v), (400, ()));
}

#[tokio::test]
async fn openapi_is_served_and_documents_every_route() {
    let s = Server::start().await;
    let (st, doc) = s.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(st, 200);
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../../../docs/openapi.json")).unwrap();
    assert_eq!(doc, file, "served document = docs/openapi.json");
    let routes = include_str!("../../src/routes/mod.rs");
    let paths = doc["paths"].as_object().unwrap();
    for line in routes.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('"').filter(|_| line.contains("\"/")) {
            let path = rest.split('"').next().unwrap();
            if path.starts_with('/') && path != "/openapi.json" && path != "/healthz" {
                assert!(
                    paths.contains_key(path),
                    "{path} is not in docs/openapi.json"
                );
            }
        }
    }
    for line in routes.lines().filter(|l| l.contains(".route(\"/")) {
        let path = line.split('"').nth(1).unwrap();
        if path != "/openapi.json" && path != "/healthz" {
            assert!(
                paths.contains_key(path),
                "{path} is not in docs/openapi.json"
            );
        }
    }
}
