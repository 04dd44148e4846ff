//! The account center at `/account` (docs/account.md): the session cookie, the CSRF token on
//! every change, step-up before sensitive changes, backup codes, authenticator apps, sessions.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use super::signin_flow::{Browser, PW};
use super::{enrolled, error_code, oathtool, Server};

/// An account API call from `b`'s cookies, with `csrf` in `X-CSRF-Token` when given.
pub(super) async fn call(
    b: &Browser<'_>,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = b.s.client.request(method, format!("{}{}", b.s.url, path));
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !cookies.is_empty() {
        rb = rb.header(reqwest::header::COOKIE, cookies.join("; "));
    }
    if let Some(t) = csrf {
        rb = rb.header("x-csrf-token", t);
    }
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, v)
}

pub(super) async fn overview(b: &Browser<'_>) -> Value {
    let (st, v) = call(b, Method::GET, "/account/api/overview", None, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

pub(super) fn csrf(v: &Value) -> String {
    v["csrf_token"].as_str().unwrap().to_owned()
}

/// Signs in with the password and, for a user with TOTP, a code; the flow is done.
pub(super) async fn sign_in<'s>(s: &'s Server, user: &str, secret: Option<&str>) -> Browser<'s> {
    let mut b = Browser::new(s);
    let f = b.password(None, user, PW).await;
    let f = match secret {
        Some(secret) => {
            let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
            b.ok(&f, "verify", json!({"method": "totp", "code": code}))
                .await
        }
        None => f,
    };
    assert_eq!(f["step"], "done", "{f}");
    b
}

fn codes_of(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}: {v}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn without_a_session_the_page_sends_to_the_sign_in_and_the_api_refuses() {
    let s = Server::start().await;
    s.create_user("ama", Some(PW)).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(format!("{}/account", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/signin?return_to=%2Faccount");

    let anonymous = Browser::new(&s);
    let (st, v) = call(&anonymous, Method::GET, "/account/api/overview", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    // A bearer token is no way in either.
    let r = s
        .call(Method::GET, "/account/api/overview", Some(&s.admin), None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let b = sign_in(&s, "ama", None).await;
    let cookie: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let r = no_redirects
        .get(format!("{}/account", s.url))
        .header(reqwest::header::COOKIE, cookie.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("require-trusted-types-for 'script'"), "{csp}");
    assert!(r.text().await.unwrap().contains("account.js"));

    let v = overview(&b).await;
    assert_eq!(v["user"]["username"], "ama");
    assert_eq!(v["mfa"]["enrolled"], false);
    assert!(v["security"]["score"].as_u64().unwrap() < 50, "{v}");
    assert_eq!(v["security"]["suggestions"][0], "add_second_factor");
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(v["sessions"][0]["current"], true);
    assert_eq!(v["activity"][0]["type"], "signin.ok", "{v}");
    assert_eq!(csrf(&v).len(), 43);
}

#[tokio::test]
async fn every_change_needs_this_sessions_csrf_token() {
    let s = Server::start().await;
    let id = s.create_user("ben", Some(PW)).await;
    let (_, secret) = enrolled(&s, &id).await;
    s.clock.advance(30);
    let b = sign_in(&s, "ben", Some(&secret)).await;
    s.clock.advance(30);
    let other = sign_in(&s, "ben", Some(&secret)).await;
    let theirs = csrf(&overview(&other).await);
    let mine = csrf(&overview(&b).await);
    assert_ne!(mine, theirs, "the token is per session");
    let sid = overview(&other).await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["current"] == true)
        .unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/account/api/step-up".into(),
            Some(json!({"code": "123456"})),
        ),
        (
            Method::POST,
            "/account/api/authenticators/totp".into(),
            None,
        ),
        (
            Method::POST,
            "/account/api/authenticators/totp/confirm".into(),
            Some(json!({"otp": "123456"})),
        ),
        (
            Method::DELETE,
            format!("/account/api/authenticators/{id}"),
            None,
        ),
        (Method::POST, "/account/api/recovery-codes".into(), None),
        (Method::DELETE, "/account/api/sessions".into(), None),
        (Method::DELETE, format!("/account/api/sessions/{sid}"), None),
        (
            Method::PUT,
            "/account/api/notifications".into(),
            Some(json!({"channels": "none", "locale": "en"})),
        ),
    ];
    for (method, path, body) in &routes {
        for token in [None, Some("x"), Some(theirs.as_str())] {
            let (st, v) = call(&b, method.clone(), path, token, body.clone()).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{method} {path} {token:?}: {v}");
            assert_eq!(error_code(&v), "csrf_failed", "{method} {path}");
        }
    }
    // Nothing changed: both sessions live, the factor still there.
    let v = overview(&b).await;
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    assert!(v["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["authenticator_type"] == "otp"));
    // With the token, a change goes through.
    let (st, v) = call(
        &b,
        Method::DELETE,
        &format!("/account/api/sessions/{sid}"),
        Some(&mine),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (st, _) = call(&other, Method::GET, "/account/api/overview", None, None).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "the ended session no longer opens the page"
    );
}

#[tokio::test]
async fn sensitive_changes_need_a_recent_second_factor_and_old_backup_codes_stop_working() {
    let s = Server::start().await;
    let id = s.create_user("cy", Some(PW)).await;
    let (assoc, secret) = enrolled(&s, &id).await;
    let old_codes = codes_of(&assoc, "recovery_codes");
    s.clock.advance(30);
    let b = sign_in(&s, "cy", Some(&secret)).await;
    let v = overview(&b).await;
    assert_eq!(v["step_up"]["recent"], true);
    let token = csrf(&v);
    let otp_id = v["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authenticator_type"] == "otp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Eleven minutes later the TOTP of the sign-in is too old.
    s.clock.advance(660);
    assert_eq!(overview(&b).await["step_up"]["recent"], false);
    let remove = format!("/account/api/authenticators/{}", urlencode(&otp_id));
    for (method, path) in [
        (Method::DELETE, remove.as_str()),
        (Method::POST, "/account/api/recovery-codes"),
    ] {
        let (st, v) = call(&b, method, path, Some(&token), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(error_code(&v), "step_up_required");
    }
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/step-up",
        Some(&token),
        Some(json!({"code": "000000"})),
    )
    .await;
    assert!(!st.is_success(), "a wrong code: {v}");
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/step-up",
        Some(&token),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(overview(&b).await["step_up"]["recent"], true);

    // New backup codes: shown once, the old ones refused by the sign-in, the new ones work.
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/recovery-codes",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let new_codes = codes_of(&v, "recovery_codes");
    assert!(!new_codes.is_empty());
    let text = overview(&b).await.to_string();
    for c in &new_codes {
        assert!(!text.contains(c.as_str()), "a code is never served again");
    }
    let recovery_sign_in = |code: String| {
        let s = &s;
        async move {
            let mut other = Browser::new(s);
            let f = other.password(None, "cy", PW).await;
            let f = other
                .ok(&f, "choose", json!({"method": "recovery_code"}))
                .await;
            other
                .step(
                    &f,
                    "verify",
                    json!({"method": "recovery_code", "code": code}),
                )
                .await
        }
    };
    let (st, v) = recovery_sign_in(old_codes[0].clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "an old code is refused: {v}");
    let (st, v) = recovery_sign_in(new_codes[0].clone()).await;
    // Accepted: done, or (its set used up) the replacement set is shown first.
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        matches!(v["step"].as_str(), Some("done" | "recovery_codes")),
        "{v}"
    );

    // Removing the app within the window works.
    let (st, v) = call(&b, Method::DELETE, &remove, Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let v = overview(&b).await;
    assert!(!v["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["authenticator_type"] == "otp"));
    let kinds: Vec<&str> = v["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"delete"), "newest first: {kinds:?}");
    assert!(kinds.contains(&"account.step_up"), "{kinds:?}");
}

fn urlencode(s: &str) -> String {
    s.replace('|', "%7C")
}

#[tokio::test]
async fn an_authenticator_app_is_added_with_a_code_and_its_key_is_never_served_again() {
    let s = Server::start().await;
    s.create_user("dee", Some(PW)).await;
    let b = sign_in(&s, "dee", None).await;
    let token = csrf(&overview(&b).await);
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/totp",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let secret = v["secret"].as_str().unwrap().to_owned();
    assert!(v["barcode_png"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    let codes = codes_of(&v, "recovery_codes");
    assert!(!overview(&b).await.to_string().contains(&secret));

    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/totp/confirm",
        Some(&token),
        Some(json!({"otp": "000000"})),
    )
    .await;
    assert!(!st.is_success(), "{v}");
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/totp/confirm",
        Some(&token),
        Some(json!({ "otp": code })),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed"], true);
    let v = overview(&b).await;
    assert_eq!(v["mfa"]["enrolled"], true);
    assert!(v["security"]["score"].as_u64().unwrap() >= 50, "{v}");
    let text = v.to_string();
    assert!(!text.contains(&secret), "the key is never served again");
    assert!(!text.contains(&codes[0]));
    // This session proved the password only: a second app now needs a step-up.
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/totp",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(error_code(&v), "step_up_required");
}

#[tokio::test]
async fn sessions_are_listed_and_ended_one_or_all_others() {
    let s = Server::start().await;
    s.create_user("eve", Some(PW)).await;
    let a = sign_in(&s, "eve", None).await;
    s.clock.advance(5);
    let b = sign_in(&s, "eve", None).await;
    s.clock.advance(5);
    let c = sign_in(&s, "eve", None).await;
    let v = overview(&a).await;
    let token = csrf(&v);
    let list = v["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|x| x["current"] == true).count(), 1);
    let b_id = overview(&b).await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["current"] == true)
        .unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = call(
        &a,
        Method::DELETE,
        &format!("/account/api/sessions/{b_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = call(&b, Method::GET, "/account/api/overview", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = call(
        &a,
        Method::DELETE,
        "/account/api/sessions/ses_unknown",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::NOT_FOUND, "not_found".into())
    );

    let (st, v) = call(
        &a,
        Method::DELETE,
        "/account/api/sessions",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["ended"], 1);
    let (st, _) = call(&c, Method::GET, "/account/api/overview", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let v = overview(&a).await;
    assert_eq!(
        v["sessions"].as_array().unwrap().len(),
        1,
        "this one is kept"
    );

    // The notification preference, through the page's API.
    let (st, v) = call(
        &a,
        Method::PUT,
        "/account/api/notifications",
        Some(&token),
        Some(json!({"channels": "none", "locale": "ja"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(overview(&a).await["notifications"]["locale"], "ja");
}
