//! The account center at `/account` (docs/account.md): the session cookie, the CSRF token on
//! every change, step-up before sensitive changes, backup codes, authenticator apps, sessions.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use tessera_server::passkey::soft::SoftKey;

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

fn types_of(v: &Value) -> Vec<(String, String, bool)> {
    v["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["authenticator_type"].as_str().unwrap().to_owned(),
                a["oob_channel"].as_str().unwrap_or("").to_owned(),
                a["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_passkey_is_added_from_the_account_center_with_its_ceremony_bound_to_the_user() {
    let s = Server::start().await;
    s.create_user("pam", Some(PW)).await;
    s.create_user("pol", Some(PW)).await;
    let b = sign_in(&s, "pam", None).await;
    let other = sign_in(&s, "pol", None).await;
    let v = overview(&b).await;
    assert_eq!(v["can_add"]["passkey"], true, "{v}");
    let token = csrf(&v);

    // Without the page's token nothing begins.
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/passkey",
        None,
        None,
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "csrf_failed")
    );
    // No factor yet: the session is enough.
    let (st, begun) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/passkey",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{begun}");
    assert_eq!(begun["options"]["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(
        begun["options"]["publicKey"]["user"]["name"], "pam",
        "made for the signed-in user: {begun}"
    );
    let mut key = SoftKey::new(&s.url);
    let credential = key.create(&begun["options"]);

    // Another signed-in user cannot finish it (and it is used up by the try).
    let other_token = csrf(&overview(&other).await);
    let body = json!({"ceremony_id": begun["ceremony_id"], "credential": credential});
    let (st, v) = call(
        &other,
        Method::POST,
        "/account/api/authenticators/passkey/finish",
        Some(&other_token),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "passkey_refused"),
        "{v}"
    );
    let (st, _) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/passkey/finish",
        Some(&token),
        Some(body),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a ceremony is taken once");

    // A new ceremony, finished by its user: the passkey is listed, active.
    let (st, begun) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/passkey",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{begun}");
    let credential = key.create(&begun["options"]);
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/passkey/finish",
        Some(&token),
        Some(json!({"ceremony_id": begun["ceremony_id"], "credential": credential})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["authenticator_type"], "passkey");
    assert_eq!(v["characteristics"]["phishing_resistant"], true);
    let v = overview(&b).await;
    assert_eq!(types_of(&v), [("passkey".into(), String::new(), true)]);
    assert!(types_of(&overview(&other).await).is_empty(), "pol has none");

    // Now the user has a factor, and this session proved only a password: another passkey
    // needs a step-up first.
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/authenticators/passkey",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "step_up_required")
    );
}

#[tokio::test]
async fn an_email_address_and_a_phone_number_are_added_by_their_codes_or_the_mail_s_link() {
    use super::oob::{code_and_link, email_on, sms_receiver, Sink};
    let sink = Sink::start(&[]).await;
    let (sms_url, texts) = sms_receiver().await;
    let s = Server::start_with(|c| {
        email_on(c, &sink);
        c.sms.provider = tessera_server::oob::config::Provider::Http;
        c.sms.http_url = sms_url.clone();
    })
    .await;
    // Users with a password only: no address or number yet.
    let bare = |name: &'static str| {
        let s = &s;
        async move {
            let (st, v) = s
                .admin_json(
                    Method::POST,
                    "/api/v2/users",
                    Some(json!({"username": name, "password": PW})),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
        }
    };
    bare("em").await;
    let b = sign_in(&s, "em", None).await;
    let v = overview(&b).await;
    assert_eq!(
        (
            &v["can_add"]["email"],
            &v["can_add"]["sms"],
            &v["can_add"]["voice"]
        ),
        (&json!(true), &json!(true), &json!(false)),
        "{v}"
    );
    assert!(v["user"]["email"].is_null());
    let token = csrf(&v);

    // The page's token is required; a malformed address is refused before anything is sent.
    let email = |value: &str| Some(json!({ "value": value }));
    let (st, v) = call(
        &b,
        Method::PUT,
        "/account/api/email",
        None,
        email("em@example.com"),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "csrf_failed")
    );
    let (st, _) = call(
        &b,
        Method::PUT,
        "/account/api/email",
        Some(&token),
        email("nope"),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, sent) = call(
        &b,
        Method::PUT,
        "/account/api/email",
        Some(&token),
        email("em@example.com"),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["channel"], "email");
    assert_ne!(sent["to"], "em@example.com", "the destination is masked");
    let mail = sink.mail(1).await;
    assert_eq!(mail["to"], "em@example.com");
    let (code, _) = code_and_link(&mail);
    // Pending: listed as not confirmed, the profile unchanged.
    let v = overview(&b).await;
    assert_eq!(types_of(&v), [("oob".into(), "email".into(), false)]);
    assert!(v["user"]["email"].is_null());
    assert!(!v.to_string().contains(&code), "the code is never served");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (st, _) = call(
        &b,
        Method::POST,
        "/account/api/contact-verification",
        Some(&token),
        Some(json!({ "code": wrong })),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/contact-verification",
        Some(&token),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "em@example.com");
    let v = overview(&b).await;
    assert_eq!(v["user"]["email"], "em@example.com");
    assert_eq!(types_of(&v), [("oob".into(), "email".into(), true)]);
    assert_eq!(v["mfa"]["enrolled"], true, "the address is a factor now");

    // A phone number now needs a fresh second factor: this session proved a password only.
    let phone = Some(json!({"value": "+81 90 1111 2222"}));
    let (st, v) = call(
        &b,
        Method::PUT,
        "/account/api/phone",
        Some(&token),
        phone.clone(),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "step_up_required"),
        "{v}"
    );
    // A session that proved the email code just now may.
    let mut fresh = Browser::new(&s);
    let f = fresh.password(None, "em", PW).await;
    // Nothing is sent until the page asks for the code.
    let f = fresh.ok(&f, "choose", json!({"method": "email"})).await;
    assert_eq!(f["code_sent"]["channel"], "email", "{f}");
    let (sign_in_code, _) = code_and_link(&sink.mail(2).await);
    let f = fresh
        .ok(
            &f,
            "verify",
            json!({"method": "email", "code": sign_in_code}),
        )
        .await;
    assert_eq!(f["step"], "done", "{f}");
    let token2 = csrf(&overview(&fresh).await);
    let (st, sent) = call(
        &fresh,
        Method::PUT,
        "/account/api/phone",
        Some(&token2),
        phone,
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["channel"], "sms");
    let text = texts.lock().unwrap()[0].1["body"]
        .as_str()
        .unwrap()
        .to_owned();
    let sms_code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let (st, v) = call(
        &fresh,
        Method::POST,
        "/account/api/contact-verification",
        Some(&token2),
        Some(json!({ "code": sms_code })),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let v = overview(&fresh).await;
    assert_eq!(v["user"]["phone"], "+81 90 1111 2222", "{v}");
    assert!(
        types_of(&v).contains(&("oob".into(), "sms".into(), true)),
        "{v}"
    );

    // Another user confirms a new address by the mail's link; the page sees it.
    bare("el").await;
    let c = sign_in(&s, "el", None).await;
    let token3 = csrf(&overview(&c).await);
    let (st, _) = call(
        &c,
        Method::PUT,
        "/account/api/email",
        Some(&token3),
        email("el@example.com"),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (_, link) = code_and_link(&sink.mail(3).await);
    let link = link.expect("a link in the mail");
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Your email address is confirmed"), "{html}");
    assert!(
        html.contains(r#"href="/account""#),
        "back to the account center: {html}"
    );
    // Used: opened again (in the language the page switcher chose), it is gone.
    let again = reqwest::Client::new()
        .get(&link)
        .header("cookie", "tessera_lang=ja")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    let html = again.text().await.unwrap();
    assert!(html.contains("<html lang=\"ja\""), "{html}");
    let v = overview(&c).await;
    assert_eq!(v["user"]["email"], "el@example.com");
    assert_eq!(types_of(&v), [("oob".into(), "email".into(), true)]);
}

#[tokio::test]
async fn the_desktop_app_is_enrolled_from_an_offer_made_for_the_signed_in_user_only() {
    let s = Server::start().await;
    let dee = s.create_user("dee", Some(PW)).await;
    s.create_user("dan", Some(PW)).await;
    let b = sign_in(&s, "dee", None).await;
    let v = overview(&b).await;
    let token = csrf(&v);
    let (st, v) = call(&b, Method::POST, "/account/api/devices/offer", None, None).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "csrf_failed")
    );
    // The request names no user: a body naming another one changes nothing.
    let (st, offer) = call(
        &b,
        Method::POST,
        "/account/api/devices/offer",
        Some(&token),
        Some(json!({"user": "dan"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{offer}");
    assert!(
        offer["qr_svg"].as_str().unwrap().starts_with("<?xml"),
        "{offer}"
    );
    let link = offer["link"].as_str().unwrap();
    let parsed = tessera_core::device::EnrollLink::parse(link).unwrap();
    assert_eq!(parsed.user, "dee");
    let (st, list) = call(&b, Method::GET, "/account/api/devices", None, None).await;
    assert_eq!((st, list.clone()), (StatusCode::OK, json!([])));

    // The app enrolls from the offer's link: the device is dee's, listed here, and her
    // push and paired-OTP factors appear.
    let device = tessera_client::VirtualDevice::enroll_with(
        link,
        &tessera_client::EnrollOptions {
            device_name: "dee's laptop".into(),
            platform: "test".into(),
            ..tessera_client::EnrollOptions::default()
        },
        s.clock.clone(),
    )
    .await
    .unwrap();
    assert_eq!(device.device().enrollment().user_id, dee);
    let (_, list) = call(&b, Method::GET, "/account/api/devices", None, None).await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["user_id"], dee.as_str());
    assert_eq!(list[0]["name"], "dee's laptop");
    let v = overview(&b).await;
    let kinds = types_of(&v);
    assert!(
        kinds.contains(&("oob".into(), "push".into(), true)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("otp".into(), String::new(), true)),
        "{kinds:?}"
    );
    // The offer is used up: a second enrollment from the same link fails.
    let again = tessera_client::VirtualDevice::enroll_with(
        link,
        &tessera_client::EnrollOptions::default(),
        s.clock.clone(),
    )
    .await;
    assert!(again.is_err(), "one device per offer");
    // dan sees no device of dee's.
    let d = sign_in(&s, "dan", None).await;
    let (_, list) = call(&d, Method::GET, "/account/api/devices", None, None).await;
    assert_eq!(list, json!([]));
    // dee now has factors: a new offer needs a step-up.
    let (st, v) = call(
        &b,
        Method::POST,
        "/account/api/devices/offer",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "step_up_required")
    );
}
