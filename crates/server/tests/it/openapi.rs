//! The served OpenAPI document is docs/openapi.json and lists every route.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Server;

/// Every route of the router (method, path).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("post", "/oauth/token"),
    ("get", "/mfa/authenticators"),
    ("delete", "/mfa/authenticators/{id}"),
    ("post", "/mfa/associate"),
    ("post", "/api/v2/users"),
    ("get", "/api/v2/users"),
    ("get", "/api/v2/users/{id}"),
    ("patch", "/api/v2/users/{id}"),
    ("delete", "/api/v2/users/{id}"),
    ("get", "/api/v2/users/{id}/authentication-methods"),
    ("post", "/api/v2/users/{id}/authentication-methods"),
    ("delete", "/api/v2/users/{id}/authentication-methods"),
    (
        "delete",
        "/api/v2/users/{id}/authentication-methods/{auth_id}",
    ),
    ("post", "/api/v2/users/{id}/recovery-code-regeneration"),
    ("patch", "/api/v2/users/{id}/logto-configs"),
    ("post", "/api/v2/users/{id}/otp-verification"),
    ("get", "/api/v2/user-blocks/{id}"),
    ("delete", "/api/v2/user-blocks/{id}"),
    ("post", "/api/v2/organizations"),
    ("get", "/api/v2/organizations"),
    ("patch", "/api/v2/organizations/{id}"),
    ("post", "/api/v2/tokens"),
    ("get", "/api/v2/tokens"),
    ("delete", "/api/v2/tokens/{id}"),
    ("get", "/api/v2/logs"),
    ("get", "/api/v2/me"),
    ("get", "/api/v2/me/authenticators"),
    ("post", "/api/v2/me/authenticators"),
    ("delete", "/api/v2/me/authenticators/{id}"),
    ("post", "/api/v2/me/otp-verification"),
    ("post", "/api/v2/me/recovery-code-regeneration"),
    ("patch", "/api/v2/me/logto-configs"),
];

#[tokio::test]
async fn served_document_is_the_docs_file_and_covers_every_route() {
    let s = Server::start().await;
    let r = s.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let served = r.text().await.unwrap();
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .unwrap();
    assert_eq!(served, file);
    let doc: Value = serde_json::from_str(&served).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (path, ops) in paths {
        for (method, _) in ops.as_object().unwrap() {
            if ["get", "post", "patch", "delete", "put"].contains(&method.as_str()) {
                documented += 1;
                assert!(
                    ROUTES.contains(&(method.as_str(), path.as_str())),
                    "documented but not routed: {method} {path}"
                );
            }
        }
    }
    assert_eq!(documented, ROUTES.len(), "every route is documented");
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing from docs"
        );
        // And the router has it: no 404 route-not-found and no 405.
        let concrete = path.replace("{id}", "x").replace("{auth_id}", "y");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (st, v) = s.json(m, &concrete, None, None).await;
        assert_ne!(st, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !(st == StatusCode::NOT_FOUND && v["error_description"] == "route not found"),
            "{method} {path} not routed"
        );
    }
}
