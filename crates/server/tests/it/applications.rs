//! Applications (OpenID Connect clients) through the management API: registration, redirect
//! URI checks naming the field, secrets shown once and stored hashed, rotation, scopes, audit.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{error_code, Server};

const APPS: &str = "/api/v2/applications";

/// Everything the database holds, as text (SQLite: the file and its WAL; PostgreSQL: a dump).
async fn stored(s: &Server) -> String {
    if let Some(url) = &s.database {
        return super::pg_dump_text(url).await;
    }
    let mut all = Vec::new();
    for f in ["tessera.db", "tessera.db-wal"] {
        if let Ok(b) = std::fs::read(s.dir.join(f)) {
            all.extend(b);
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn applications_are_registered_checked_and_their_secrets_kept_hashed() {
    let s = Server::start().await;
    let (st, app) = s
        .admin_json(
            Method::POST,
            APPS,
            Some(json!({"name": "Wiki", "type": "confidential",
                        "redirect_uris": ["https://wiki.example.com/callback"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{app}");
    let id = app["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("app_"), "{id}");
    let secret = app["client_secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("tsc_") && secret.len() >= 4 + 43,
        "256 random bits"
    );
    assert_eq!(app["type"], "confidential");

    let (st, spa) = s
        .admin_json(
            Method::POST,
            APPS,
            Some(json!({"name": "Dashboard", "type": "public",
                        "redirect_uris": ["https://dash.example.com/cb", "http://127.0.0.1:8700/cb"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{spa}");
    assert!(
        spa.get("client_secret").is_none(),
        "a public client has no secret"
    );

    // Read back: never the secret.
    let (st, got) = s
        .admin_json(Method::GET, &format!("{APPS}/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(got.get("client_secret").is_none(), "{got}");
    assert_eq!(
        got["redirect_uris"],
        json!(["https://wiki.example.com/callback"])
    );
    let (_, list) = s.admin_json(Method::GET, APPS, None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Dashboard", "Wiki"], "by name");

    // Rotation: a new secret, shown once; a public client has none to rotate.
    let (st, rotated) = s
        .admin_json(Method::POST, &format!("{APPS}/{id}/secret-rotation"), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let spa_id = spa["client_id"].as_str().unwrap();
    let (st, v) = s
        .admin_json(
            Method::POST,
            &format!("{APPS}/{spa_id}/secret-rotation"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    let text = stored(&s).await;
    assert!(text.contains(&id), "sanity: the row is there");
    assert!(
        !text.contains(&secret) && !text.contains(&new_secret),
        "client secrets are stored as their SHA-256 only"
    );

    // Changes, then removal; each audited.
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("{APPS}/{id}"),
            Some(json!({"name": "Team wiki", "redirect_uris": ["https://wiki.example.com/oidc"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Team wiki");
    assert_eq!(v["redirect_uris"], json!(["https://wiki.example.com/oidc"]));
    let (st, _) = s
        .admin_json(Method::DELETE, &format!("{APPS}/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .admin_json(Method::GET, &format!("{APPS}/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .admin_json(Method::DELETE, &format!("{APPS}/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, logs) = s
        .admin_json(Method::GET, "/api/v2/logs?per_page=100", None)
        .await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|k| k.starts_with("application."))
        .collect();
    for k in [
        "application.created",
        "application.secret_rotated",
        "application.updated",
        "application.deleted",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

#[tokio::test]
async fn bad_applications_are_refused_naming_the_field() {
    let s = Server::start().await;
    let cases: [(Value, &str); 8] = [
        (
            json!({"name": "", "type": "public", "redirect_uris": ["https://a.example/cb"]}),
            "`name`",
        ),
        (
            json!({"name": "A", "type": "spa", "redirect_uris": ["https://a.example/cb"]}),
            "type",
        ),
        (
            json!({"name": "A", "type": "public", "redirect_uris": []}),
            "`redirect_uris`",
        ),
        (
            json!({"name": "A", "type": "public", "redirect_uris": ["http://a.example/cb"]}),
            "`redirect_uris[0]`: `http` only on a loopback host",
        ),
        (
            json!({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb", "https://a.example/cb#x"]}),
            "`redirect_uris[1]`: a redirect URI has no fragment",
        ),
        (
            json!({"name": "A", "type": "public", "redirect_uris": ["/relative"]}),
            "`redirect_uris[0]`",
        ),
        (
            json!({"name": "A", "type": "public", "redirect_uris": ["javascript:alert(1)"]}),
            "`redirect_uris[0]`",
        ),
        (
            json!({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"], "secret": "x"}),
            "unknown field `secret`",
        ),
    ];
    for (body, want) in cases {
        let (st, v) = s.admin_json(Method::POST, APPS, Some(body.clone())).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {v}");
        let msg = v["error_description"].as_str().unwrap();
        assert!(msg.contains(want), "{body}\n  want {want}\n  got  {msg}");
    }
    let (_, list) = s.admin_json(Method::GET, APPS, None).await;
    assert_eq!(list, json!([]), "nothing stored");

    // Scopes.
    let (_, t) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"name": "reader", "scopes": ["read:applications"]})),
        )
        .await;
    let reader = t["token"].as_str().unwrap();
    let (st, _) = s.json(Method::GET, APPS, Some(reader), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .json(
            Method::POST,
            APPS,
            Some(reader),
            Some(json!({"name": "A", "type": "public", "redirect_uris": ["https://a.example/cb"]})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
}
