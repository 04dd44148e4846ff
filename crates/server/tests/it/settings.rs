//! Factor settings changed at runtime (`/api/v2/settings/factors`, docs/server.md): checked
//! whole, in force at once here and on another instance sharing the database, kept across
//! restarts, and `{}` goes back to the file's values.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use super::{enrolled, error_code, oathtool, uri_param, Server};

const PATH: &str = "/api/v2/settings/factors";

async fn put(s: &Server, body: Value) -> (StatusCode, Value) {
    s.admin_json(Method::PUT, PATH, Some(body)).await
}

/// A new user's TOTP enrollment on `s`: (digits, period) of its URI.
async fn new_enrollment(s: &Server, name: &str) -> (String, String) {
    let id = s.create_user(name, None).await;
    let a = s.admin_enroll(&id).await;
    let uri = a["barcode_uri"].as_str().unwrap();
    (uri_param(uri, "digits"), uri_param(uri, "period"))
}

#[tokio::test]
async fn settings_are_checked_whole_apply_at_once_to_new_enrollments_and_reset() {
    let s = Server::start().await;
    let (st, v) = s.admin_json(Method::GET, PATH, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["overrides"],
        json!({"totp": {}, "email": {}, "sms": {}, "voice": {}, "device": {}})
    );
    assert_eq!(v["effective"]["totp"]["digits"], 6);
    assert_eq!(v["effective"]["device"]["qr_ttl"], 120);
    assert_eq!(v["effective"]["email"]["configured"], false);

    // A TOTP enrolled before the change keeps its parameters.
    let before = s.create_user("before", None).await;
    let (_, secret) = enrolled(&s, &before).await;

    // Invalid values are refused, naming the setting; nothing changes.
    for (body, named) in [
        (json!({"totp": {"digits": 13}}), "`totp.digits`"),
        (
            json!({"totp": {"uri_template": "https://x"}}),
            "`totp.uri_template`",
        ),
        (json!({"device": {"qr_ttl": 100000}}), "qr_ttl"),
        (json!({"totp": {"colour": 1}}), "colour"),
        (
            json!({"email": {"denied_domains": ["("]}}),
            "denied_domains",
        ),
    ] {
        let (st, e) = put(&s, body.clone()).await;
        assert_eq!(
            (st, error_code(&e).as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{body}: {e}"
        );
        let d = e["error_description"].as_str().unwrap();
        assert!(d.contains(named), "{body}: {d}");
    }
    assert_eq!(
        new_enrollment(&s, "still-six").await,
        ("6".into(), "30".into())
    );

    // A valid change applies to the next enrollment at once, and is audited.
    let (st, v) = put(
        &s,
        json!({"totp": {"digits": 8, "period": 60, "algorithm": "SHA256"},
               "email": {"lifetime_minutes": 10, "code_length": 8},
               "device": {"qr_ttl": 90}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["effective"]["totp"]["digits"], 8);
    assert_eq!(v["effective"]["email"]["code_length"], 8);
    assert_eq!(v["effective"]["device"]["qr_ttl"], 90);
    assert_eq!(
        v["overrides"]["totp"],
        json!({"digits": 8, "period": 60, "algorithm": "SHA256"})
    );
    let id = s.create_user("eight", None).await;
    let a = s.admin_enroll(&id).await;
    let uri = a["barcode_uri"].as_str().unwrap();
    assert_eq!(
        (
            uri_param(uri, "digits"),
            uri_param(uri, "period"),
            uri_param(uri, "algorithm")
        ),
        ("8".into(), "60".into(), "SHA256".into())
    );
    // oathtool, independent, agrees with the new parameters.
    let code = oathtool(
        a["secret"].as_str().unwrap(),
        "SHA256",
        8,
        60,
        s.clock.now_unix(),
    );
    let (st, v) = s.verify(&id, &code).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // The earlier authenticator still takes its 6-digit, 30-second codes.
    s.clock.advance(30);
    let (st, v) = s
        .verify(
            &before,
            &oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, log) = s
        .admin_json(Method::GET, "/api/v2/logs?type=settings.changed", None)
        .await;
    let events = log["logs"].as_array().cloned().unwrap_or_default();
    assert!(
        events.iter().any(|e| e["detail"] == "totp,email,device"),
        "{log}"
    );

    // `{}`: every setting back to the file's value.
    let (st, v) = put(&s, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["effective"]["totp"]["digits"], 6);
    assert_eq!(
        new_enrollment(&s, "six-again").await,
        ("6".into(), "30".into())
    );

    // Without the scopes: refused.
    let (st, tok) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["read:users"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{tok}");
    let (st, _) = s.json(Method::GET, PATH, tok["token"].as_str(), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_instance_applies_a_change_and_a_restart_keeps_it() {
    let s = Server::start().await;
    // A second instance on the same database (SQLite file, or PostgreSQL when the suite runs on it).
    let other = Server::start_in(
        s.server.config.clone(),
        s.clock.clone(),
        Some(s.admin.clone()),
    )
    .await;
    assert_eq!(
        new_enrollment(&other, "o-six").await,
        ("6".into(), "30".into())
    );
    let (st, v) = put(&s, json!({"totp": {"digits": 7}})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // The other instance looks every few seconds (settings::RELOAD_SECS).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    loop {
        n += 1;
        let (digits, _) = new_enrollment(&other, &format!("o-{n}")).await;
        if digits == "7" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other instance still enrolls {digits} digits"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Two administrators at once: the second, based on what it read before, is told to reload.
    let (st, v) = put(&other, json!({"totp": {"digits": 9}})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, e) = put(&s, json!({"totp": {"digits": 10}})).await;
    assert_eq!(
        (st, error_code(&e).as_str()),
        (StatusCode::CONFLICT, "conflict"),
        "{e}"
    );
    let (_, v) = s.admin_json(Method::GET, PATH, None).await;
    assert_eq!(v["effective"]["totp"]["digits"], 9);
    drop(other);

    // A restart applies the stored settings from the start.
    let config = s.server.config.clone();
    let clock = s.clock.clone();
    let (tmp, admin) = s.stop();
    let s = Server::start_in(config, clock, Some(admin)).await;
    assert_eq!(new_enrollment(&s, "after-restart").await.0, "9");
    drop(s);
    drop(tmp);
}
