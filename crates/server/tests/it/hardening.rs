//! Defects found by trying the server from outside (issue 10), each pinned by a test that
//! failed before its fix.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use super::{config_in, error_code, sqlite_config_in, t0_clock, Server};

/// The hosted sign-in's password step as a browser takes it (a fresh browser each time).
async fn signin_password(s: &Server, username: &str, password: &str) -> StatusCode {
    let mut b = super::signin_flow::Browser::new(s);
    let f = b.start(None).await;
    let f = b
        .ok(&f, "identifier", json!({ "identifier": username }))
        .await;
    b.step(
        &f,
        "verify",
        json!({"method": "password", "password": password}),
    )
    .await
    .0
}

#[tokio::test]
async fn the_sign_in_page_counts_password_failures_with_the_token_endpoint() {
    // Default policy: 3 free failures, then a 2 s delay that doubles.
    let s = Server::start().await;
    let id = s.create_user("pia", Some("correct horse battery")).await;
    for _ in 0..3 {
        assert_eq!(
            signin_password(&s, "pia", "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Inside the delay, the right password is refused on the page and on /oauth/token alike.
    assert_eq!(
        signin_password(&s, "pia", "correct horse battery").await,
        StatusCode::UNAUTHORIZED,
        "the page must apply the delay its failures earned"
    );
    let (st, _) = s.password_grant("pia", "correct horse battery").await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "the page's failures count for the password grant"
    );
    assert_eq!(
        s.events(&id, "password_fail").await.len(),
        3,
        "each failure on the page is audited (the refused attempt in the delay is not a check)"
    );
    // After the delay the right password works on the page and clears the counter.
    s.clock.advance(2);
    assert_eq!(
        signin_password(&s, "pia", "correct horse battery").await,
        StatusCode::OK
    );
    let (st, v) = s.password_grant("pia", "correct horse battery").await;
    assert_eq!(
        st,
        StatusCode::OK,
        "counter cleared by the page's success: {v}"
    );
}

#[tokio::test]
async fn an_unsupported_authenticator_type_is_refused_by_name() {
    let s = Server::start().await;
    let id = s.create_user("quin", Some("correct horse battery")).await;
    let (_, tok) = s.password_grant("quin", "correct horse battery").await;
    let access = tok["access_token"].as_str().unwrap().to_owned();
    for kind in ["passkey", "sms", ""] {
        // A passkey is registered by its user (a ceremony, tests/it/passkey.rs), never by the
        // management API, and never turns into a TOTP.
        let (st, v) = s
            .json(
                Method::POST,
                "/api/v2/me/authenticators",
                Some(&access),
                Some(json!({"type": kind})),
            )
            .await;
        if kind == "passkey" {
            assert_eq!(st, StatusCode::CREATED, "{v}");
            assert_eq!(v["authenticator_type"], "passkey", "{v}");
            assert!(v["secret"].is_null(), "{v}");
            let (st, v) = s
                .admin_json(
                    Method::POST,
                    &format!("/api/v2/users/{id}/authentication-methods"),
                    Some(json!({"type": kind})),
                )
                .await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{kind}: {v}");
            continue;
        }
        assert_eq!(st, StatusCode::BAD_REQUEST, "{kind}: {v}");
        assert_eq!(error_code(&v), "invalid_request");
        let d = v["error_description"].as_str().unwrap();
        assert!(
            d.contains("`type`") && d.contains(&format!("`{kind}`")),
            "{d}"
        );
        let (st, v) = s
            .admin_json(
                Method::POST,
                &format!("/api/v2/users/{id}/authentication-methods"),
                Some(json!({"type": kind})),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{kind}: {v}");
    }
    let (_, list) = s
        .json(
            Method::GET,
            "/api/v2/me/authenticators",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(list, json!([]), "nothing was created");
}

/// Starts a server, keeping its state (the test reads the device store).
async fn start_keeping_state(
    tweak: impl FnOnce(&mut tessera_server::Config),
) -> (Server, tessera_server::AppState, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config_in(tmp.path()).unwrap();
    tweak(&mut config);
    let clock = t0_clock();
    let (state, first) = tessera_server::open(config, clock.clone()).unwrap();
    let s = Server::serve(state.clone(), clock, first.unwrap()).await;
    (s, state, tmp)
}

async fn qr_ip(s: &Server, state: &tessera_server::AppState, xff: &str) -> String {
    let r = s
        .client
        .post(format!("{}/qr-login/sessions", s.url))
        .header("x-forwarded-for", xff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let lsi = v["lsi"].as_str().unwrap().to_owned();
    let session = state.devices().qr(&lsi).unwrap().unwrap();
    session.context.ip
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let (s, state, _tmp) = start_keeping_state(|_| {}).await;
    assert_eq!(
        qr_ip(&s, &state, "203.0.113.9").await,
        "127.0.0.1",
        "any client can write the header: without trusted proxies the peer is the requester"
    );
    let (s, state, _tmp) =
        start_keeping_state(|c| c.http.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    assert_eq!(
        qr_ip(&s, &state, "198.51.100.1, 203.0.113.9").await,
        "203.0.113.9",
        "behind a trusted proxy, the hop it reports is the requester"
    );
}

#[test]
fn a_trusted_proxy_that_is_no_address_is_refused_by_name() {
    let e = tessera_server::Config::load(
        Some("[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n"),
        Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("http.trusted_proxies[1]") && e.contains("proxy.local"),
        "{e}"
    );
}

#[tokio::test]
async fn device_tables_follow_storage_synchronous() {
    for (setting, pragma) in [("full", 2), ("normal", 1)] {
        let (_s, state, _tmp) =
            start_keeping_state(|c| c.storage.synchronous = setting.into()).await;
        assert_eq!(
            state.devices().synchronous().unwrap(),
            pragma,
            "storage.synchronous = {setting} applies to the device tables too"
        );
    }
}

#[test]
fn unknown_and_out_of_range_device_settings_stop_the_server() {
    let e = tessera_server::Config::load(Some("[device]\nqr_tll = 60\n"), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("qr_tll"),
        "an unknown [device] setting is named: {e}"
    );
    let e = tessera_server::Config::load(Some("[device]\nqr_ttl = 86400\n"), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`device.qr_ttl`") && e.contains("600"), "{e}");
    let e = tessera_server::Config::load(Some("[device]\nlsi_length = 4\n"), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`device.lsi_length`"),
        "IBM-9 settings are checked: {e}"
    );
    assert!(
        tessera_server::Config::load(Some("[device]\nqr_ttl = 600\n"), Vec::new()).is_ok(),
        "the cap itself is allowed"
    );
}

#[test]
fn a_storage_failure_at_start_keeps_its_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sqlite_config_in(tmp.path());
    // Another program left a table where the device factor's migration creates its own.
    let db = config.database.path.clone().unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE device_meta (something_else TEXT);")
        .unwrap();
    let clock = t0_clock();
    let e = tessera_server::open(config, clock).unwrap_err().to_string();
    assert!(
        e.contains("device_meta") && e.contains(&db.display().to_string()),
        "the operator learns which file and what is wrong: {e}"
    );
    assert!(!e.contains("invalid configuration"), "{e}");
}

#[test]
fn every_setting_is_in_the_settings_table_of_docs_server_md() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/server.md"))
            .unwrap();
    let value = toml::Value::try_from(tessera_server::Config::default()).unwrap();
    let mut keys = Vec::new();
    fn walk(prefix: &str, v: &toml::Value, keys: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_table() {
                    walk(&name, v, keys);
                } else {
                    keys.push(name);
                }
            }
        }
    }
    walk("", &value, &mut keys);
    // `database` and `key_file` default to None, which TOML omits.
    keys.extend(["database".to_owned(), "key_file".to_owned()]);
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !docs.contains(&format!("| `{k}`")) && !docs.contains(&format!("/ `{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "settings missing from docs/server.md: {missing:?}"
    );
}

#[test]
fn the_documented_management_scopes_are_the_issuable_ones() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/server.md"))
            .unwrap();
    let (_, rest) = docs.split_once("Management scopes: `").unwrap();
    let (list, _) = rest.split_once('`').unwrap();
    let mut documented: Vec<&str> = list.split_whitespace().collect();
    let mut issuable = tessera_server::auth::MANAGEMENT_SCOPES.to_vec();
    documented.sort();
    issuable.sort();
    assert_eq!(documented, issuable);
}

/// A token with only `push:create` starts pushes, one with only `devices:manage` manages
/// devices, and neither reaches the other's routes.
#[tokio::test]
async fn the_device_factor_scopes_can_be_issued_and_are_enforced() {
    let s = Server::start().await;
    let alice = s.create_user("alice", Some("alice-pw-1")).await;
    let mut tokens = Vec::new();
    for scope in ["push:create", "devices:manage"] {
        let (st, t) = s
            .admin_json(
                Method::POST,
                "/api/v2/tokens",
                Some(json!({"name": scope, "scopes": [scope]})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{scope}: {t}");
        tokens.push(t["token"].as_str().unwrap().to_owned());
    }
    let (push, devices) = (&tokens[0], &tokens[1]);
    let devices_path = format!("/api/v1/users/{alice}/devices");
    let body = json!({"user": alice, "context": {"action": "Sign in"}});

    let r = s
        .call(Method::GET, &devices_path, Some(devices), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "devices:manage lists devices");
    // A valid token without the scope: 403 naming the scope, as everywhere in the API.
    let r = s.call(Method::GET, &devices_path, Some(push), None).await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "push:create cannot list devices"
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "insufficient_scope");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("devices:manage"),
        "{v}"
    );
    let r = s
        .call(Method::GET, &devices_path, Some("tsm_not-a-token"), None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an unknown token");

    // Alice has no device: the push token gets past the scope check to "no device".
    let r = s
        .call(Method::POST, "/api/v1/push", Some(push), Some(body.clone()))
        .await;
    let (st, text) = (r.status(), r.text().await.unwrap());
    assert!(
        st != StatusCode::UNAUTHORIZED && st != StatusCode::FORBIDDEN,
        "{st}: {text}"
    );
    let r = s
        .call(Method::POST, "/api/v1/push", Some(devices), Some(body))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "devices:manage cannot push"
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "insufficient_scope");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("push:create"),
        "{v}"
    );
}

/// A browser past the hosted sign-in's password step (at the second factor), and its flow.
async fn signin_session<'s>(
    s: &'s Server,
    username: &str,
    password: &str,
) -> (super::signin_flow::Browser<'s>, Value) {
    let mut b = super::signin_flow::Browser::new(s);
    let f = b.password(None, username, password).await;
    assert_eq!(f["step"], "verify", "{f}");
    (b, f)
}

/// A code typed at the second factor: digits are a TOTP code, anything else a backup code.
async fn signin_code(
    b: &mut super::signin_flow::Browser<'_>,
    flow: &Value,
    code: &str,
) -> StatusCode {
    let method = if code.bytes().all(|c| c.is_ascii_digit()) {
        "totp"
    } else {
        "recovery_code"
    };
    b.step(flow, "verify", json!({"method": method, "code": code}))
        .await
        .0
}

#[tokio::test]
async fn one_wrong_code_on_the_sign_in_page_counts_one_failure() {
    // The page used to check a code as TOTP and as recovery code, each twice (with and without
    // dashes): one wrong attempt counted up to four failures and locked users out early.
    let s = Server::start().await;
    let id = s.create_user("rui", Some("correct horse battery")).await;
    let (assoc, secret) = super::enrolled(&s, &id).await;
    let recovery = assoc["recovery_codes"][0].as_str().unwrap().to_owned();
    let (mut b, flow) = signin_session(&s, "rui", "correct horse battery").await;

    let wrong_otp = if super::oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        signin_code(&mut b, &flow, wrong_otp).await,
        StatusCode::UNAUTHORIZED
    );
    let fails = s.events(&id, "verify_fail").await;
    assert_eq!(
        fails.len(),
        1,
        "one wrong TOTP code is one failure: {fails:?}"
    );
    assert_eq!(fails[0]["detail"], "otp", "{fails:?}");

    assert_eq!(
        signin_code(&mut b, &flow, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01").await,
        StatusCode::UNAUTHORIZED
    );
    let fails = s.events(&id, "verify_fail").await;
    assert_eq!(
        fails.len(),
        2,
        "one wrong recovery code is one failure: {fails:?}"
    );

    // A recovery code typed in lower case with dashes every four characters still works.
    let typed = super::as_typed(&recovery);
    assert_eq!(signin_code(&mut b, &flow, &typed).await, StatusCode::OK);
}

#[tokio::test]
async fn query_strings_and_form_bodies_are_percent_decoded_strictly() {
    // Issue 10: serde_urlencoded keeps `%G1` as text and turns bad UTF-8 into U+FFFD, so
    // `type=enroll%G1` filtered on a type that cannot exist and answered 200.
    let s = Server::start().await;
    s.create_user("amy", Some("correct horse battery")).await;
    for (query, says) in [
        ("type=enroll%G1", "`type`"),
        ("user_id=%00", "`user_id`"),
        ("user_id=a%0D%0Ab", "`user_id`"),
        ("user_id=%FF", "`user_id`"),
        ("page=1&per_page=5%", "`per_page`"),
        ("ty%ZZpe=x", "parameter name"),
    ] {
        let (st, v) = s
            .admin_json(Method::GET, &format!("/api/v2/logs?{query}"), None)
            .await;
        assert_eq!(
            (st, error_code(&v).as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{query}: {v}"
        );
        let said = v["error_description"].as_str().unwrap();
        assert!(said.contains(says), "{query}: {said}");
    }
    // The device routes use the same check (and the same error shape).
    let r = s
        .call(Method::GET, "/qr-login/sessions/abc?wait=%G1", None, None)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), "invalid_request");
    assert!(
        v["error_description"].as_str().unwrap().contains("`wait`"),
        "{v}"
    );

    let form = |body: &'static str| {
        s.client
            .post(format!("{}/oauth/token", s.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    for (body, says) in [
        (
            "grant_type=password&username=amy%G1&password=correct+horse+battery",
            "`username`",
        ),
        (
            "grant_type=password&username=amy&password=correct+horse+battery%00",
            "`password`",
        ),
        (
            "grant_type=password&username=amy&password=correct%0Ahorse",
            "`password`",
        ),
        (
            "grant_type=password&username=amy&password=correct+horse+%FF",
            "`password`",
        ),
    ] {
        let r = form(body).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(error_code(&v), "invalid_request", "{body}: {v}");
        let said = v["error_description"].as_str().unwrap();
        assert!(said.contains(says), "{body}: {said}");
        assert!(!said.contains("horse"), "never the password: {said}");
    }
    let r = form("grant_type=password&username=amy&password=correct+horse%20battery")
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a well-formed form still signs in"
    );
}
