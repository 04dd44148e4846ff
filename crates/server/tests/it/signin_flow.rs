//! The JSON sign-in flow API (docs/signin.md) from outside, on both engines: the policy
//! applied step by step (LG-2/3/4/6/7, OK-5/6/8, IBM-1), the global session and its
//! revocation, and the flow's own errors.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use super::{error_code, oathtool, Server};

/// A browser: its own cookies, sent back on every call.
pub struct Browser<'s> {
    pub s: &'s Server,
    pub cookies: HashMap<String, String>,
}

impl<'s> Browser<'s> {
    pub fn new(s: &'s Server) -> Self {
        Browser {
            s,
            cookies: HashMap::new(),
        }
    }

    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .s
            .client
            .request(method, format!("{}{}", self.s.url, path));
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            rb = rb.header(reqwest::header::COOKIE, header.join("; "));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        for c in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
            let (kv, _) = c.split_once(';').unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = r.status();
        let text = r.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, v)
    }

    /// Starts a flow (for `client_id`, if any); its view.
    pub async fn start(&mut self, client_id: Option<&str>) -> Value {
        let body = client_id.map(|c| json!({ "client_id": c }));
        let (st, v) = self.call(Method::POST, "/signin/api/flows", body).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        v
    }

    /// A step on `flow`: `POST /signin/api/flows/{id}/{what}`.
    pub async fn step(&mut self, flow: &Value, what: &str, body: Value) -> (StatusCode, Value) {
        let id = flow["flow_id"].as_str().unwrap().to_owned();
        self.call(
            Method::POST,
            &format!("/signin/api/flows/{id}/{what}"),
            Some(body),
        )
        .await
    }

    /// A step that must succeed; the new view.
    pub async fn ok(&mut self, flow: &Value, what: &str, body: Value) -> Value {
        let (st, v) = self.step(flow, what, body).await;
        assert_eq!(st, StatusCode::OK, "{what}: {v}");
        v
    }

    /// Identifier then password; the view after them.
    pub async fn password(&mut self, client_id: Option<&str>, user: &str, password: &str) -> Value {
        let f = self.start(client_id).await;
        let f = self
            .ok(&f, "identifier", json!({ "identifier": user }))
            .await;
        assert_eq!(
            (f["step"].as_str(), f["method"].as_str()),
            (Some("verify"), Some("password")),
            "{f}"
        );
        self.ok(
            &f,
            "verify",
            json!({"method": "password", "password": password}),
        )
        .await
    }
}

pub const PW: &str = "correct horse battery";

/// Sets the sign-in policy; a missing `global.mfa` is optional MFA with no prompt.
pub async fn set_policy(s: &Server, mut policy: Value) {
    if policy["global"]["mfa"].is_null() {
        policy["global"]["mfa"] = json!({"mode": "optional", "prompt": "never"});
    }
    let (st, v) = s
        .admin_json(Method::PUT, "/api/v2/policies/sign-in", Some(policy))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// A user with a confirmed TOTP authenticator (and backup codes); (id, secret, codes).
async fn with_totp(s: &Server, name: &str) -> (String, String, Vec<String>) {
    let id = s.create_user(name, Some(PW)).await;
    let (assoc, secret) = super::enrolled(s, &id).await;
    let codes = assoc["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (id, secret, codes)
}

fn totp_now(s: &Server, secret: &str) -> String {
    oathtool(secret, "SHA1", 6, 30, s.clock.now_unix())
}

#[tokio::test]
async fn a_password_sign_in_opens_a_session_that_counts_signs_out_and_is_revocable() {
    let s = Server::start().await;
    let id = s.create_user("ana", Some(PW)).await;
    let mut b = Browser::new(&s);
    let done = b.password(None, "ana", PW).await;
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(done["user"]["username"], "ana");
    assert_eq!(done["security"]["level"], "weak", "{done}");
    assert_eq!(done["security"]["suggestions"][0], "add_second_factor");
    assert!(b.cookies.contains_key("tessera_session"));
    let (st, v) = b.call(Method::GET, "/signin/api/session", None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["username"], "ana");
    assert_eq!(v["session"]["methods"][0]["method"], "password");
    // Counted, audited, listed for the admin.
    let (_, user) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(user["sign_ins"], 1, "{user}");
    assert_eq!(s.events(&id, "signin.ok").await.len(), 1);
    let (_, list) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{id}/sessions"), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // A second browser, then the admin ends every session: both cookies stop working.
    let mut b2 = Browser::new(&s);
    assert_eq!(b2.password(None, "ana", PW).await["step"], "done");
    let (st, v) = s
        .admin_json(
            Method::DELETE,
            &format!("/api/v2/users/{id}/sessions"),
            None,
        )
        .await;
    assert_eq!((st, v["ended"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    for br in [&mut b, &mut b2] {
        let (st, _) = br.call(Method::GET, "/signin/api/session", None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    // Sign-out ends this browser's session only.
    let mut b3 = Browser::new(&s);
    assert_eq!(b3.password(None, "ana", PW).await["step"], "done");
    let (st, _) = b3
        .call(
            Method::POST,
            "/signin/api/session/sign-out",
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!b3.cookies.contains_key("tessera_session"));
    assert_eq!(s.events(&id, "session.ended").await.len(), 2);
}

#[tokio::test]
async fn ok8_known_and_unknown_names_get_the_same_answers() {
    let s = Server::start().await;
    with_totp(&s, "kim").await;
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("flow_id");
        o.remove("identifier");
        o.remove("expires_at");
        v
    };
    let mut views = Vec::new();
    let mut errors = Vec::new();
    for name in ["kim", "nobody-by-that-name"] {
        let mut b = Browser::new(&s);
        let f = b.start(None).await;
        let f = b.ok(&f, "identifier", json!({ "identifier": name })).await;
        views.push(strip(f.clone()));
        let (st, e) = b
            .step(
                &f,
                "verify",
                json!({"method": "password", "password": "wrong"}),
            )
            .await;
        errors.push((st, e));
        // A code for a method not offered is refused before anything is checked.
        let (st, e) = b
            .step(&f, "verify", json!({"method": "totp", "code": "123456"}))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    }
    assert_eq!(views[0], views[1], "the identifier step tells nothing");
    assert_eq!(views[0]["offer"], json!(["password"]));
    assert_eq!(
        errors[0], errors[1],
        "a wrong password and an unknown name answer alike"
    );
    assert_eq!(errors[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&errors[0].1), "invalid_credentials");
}

#[tokio::test]
async fn lg7_a_second_factor_follows_the_password_and_another_way_switches() {
    let s = Server::start().await;
    let (id, secret, codes) = with_totp(&s, "lee").await;
    s.clock.advance(30);
    let mut b = Browser::new(&s);
    let f = b.password(None, "lee", PW).await;
    assert_eq!(f["step"], "verify", "{f}");
    assert_eq!(f["method"], "totp");
    assert_eq!(
        f["offer"],
        json!(["totp", "recovery_code"]),
        "backup codes last"
    );
    // "Verify another way": the backup code.
    let f = b.ok(&f, "choose", json!({"method": "recovery_code"})).await;
    assert_eq!(f["method"], "recovery_code");
    let (st, e) = b.step(&f, "choose", json!({"method": "push"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "not offered: {e}");
    // A wrong code counts once; the right TOTP code signs in.
    let (st, e) = b
        .step(&f, "verify", json!({"method": "totp", "code": "000000"}))
        .await;
    if totp_now(&s, &secret) != "000000" {
        assert_eq!(
            (st, error_code(&e)),
            (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
        );
    }
    let done = b
        .ok(
            &f,
            "verify",
            json!({"method": "totp", "code": totp_now(&s, &secret)}),
        )
        .await;
    assert_eq!(done["step"], "done", "{done}");
    // The authenticator's last use is recorded (OK-7 orders by it).
    let (_, factors) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert!(factors.to_string().contains("last_used_at"), "{factors}");
    // A backup code works too, once.
    let mut b2 = Browser::new(&s);
    let f = b2.password(None, "lee", PW).await;
    let done = b2
        .ok(
            &f,
            "verify",
            json!({"method": "recovery_code", "code": codes[0]}),
        )
        .await;
    // The last unused code was used: its replacement is shown, to be confirmed as saved.
    assert_eq!(done["step"], "recovery_codes", "{done}");
    let fresh = done["recovery_codes"][0].as_str().unwrap().to_owned();
    assert_ne!(fresh, codes[0]);
    let done = b2.ok(&done, "recovery-codes/saved", json!({})).await;
    assert_eq!(done["step"], "done", "{done}");
    let mut b3 = Browser::new(&s);
    let f = b3.password(None, "lee", PW).await;
    let (st, _) = b3
        .step(
            &f,
            "verify",
            json!({"method": "recovery_code", "code": codes[0]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a backup code is usable once");
}

#[tokio::test]
async fn lg2_required_mfa_forces_set_up_and_lg6_backup_codes_must_be_confirmed() {
    let s = Server::start().await;
    let app = create_app(&s, "Payroll").await;
    set_policy(
        &s,
        json!({"rules": [{"name": "payroll", "when": {"applications": [app]},
        "then": {"mfa": {"mode": "required"}}}]}),
    )
    .await;
    let id = s.create_user("max", Some(PW)).await;
    let mut b = Browser::new(&s);
    let f = b.password(Some(&app), "max", PW).await;
    assert_eq!(f["application"]["name"], "Payroll", "{f}");
    assert_eq!(f["step"], "enroll", "{f}");
    assert_eq!(f["enroll"]["reason"], "required");
    assert_eq!(f["enroll"]["skippable"], false);
    let (st, _) = b.step(&f, "skip", json!({})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "LG-2: no skipping");
    let f = b.ok(&f, "enroll", json!({"method": "totp"})).await;
    let secret = f["enroll"]["totp"]["secret"].as_str().unwrap().to_owned();
    assert!(
        f["enroll"]["totp"]["qr_svg"]
            .as_str()
            .unwrap()
            .starts_with("<svg")
            || f["enroll"]["totp"]["qr_svg"]
                .as_str()
                .unwrap()
                .contains("<svg")
    );
    // The secret is shown once: the view does not repeat it.
    let id_ = f["flow_id"].as_str().unwrap().to_owned();
    let (_, again) = b
        .call(Method::GET, &format!("/signin/api/flows/{id_}"), None)
        .await;
    assert!(again["enroll"]["totp"].is_null(), "{again}");
    let (st, _) = b
        .step(&f, "enroll/confirm", json!({"code": "not-a-code"}))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let f = b
        .ok(&f, "enroll/confirm", json!({"code": totp_now(&s, &secret)}))
        .await;
    assert_eq!(f["step"], "recovery_codes", "{f}");
    let codes: Vec<String> = f["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert!(!codes.is_empty());
    // Until the user confirms, the flow stays here (and the codes are not shown again).
    let (_, again) = b
        .call(Method::GET, &format!("/signin/api/flows/{id_}"), None)
        .await;
    assert_eq!(again["step"], "recovery_codes");
    assert!(again["recovery_codes"].is_null(), "{again}");
    let done = b.ok(&f, "recovery-codes/saved", json!({})).await;
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(done["security"]["level"], "fair", "{done}");
    // The codes shown are the ones that work.
    let mut b2 = Browser::new(&s);
    let f = b2.password(Some(&app), "max", PW).await;
    assert_eq!(f["method"], "totp");
    let done = b2
        .ok(
            &f,
            "verify",
            json!({"method": "recovery_code", "code": codes[0]}),
        )
        .await;
    assert_eq!(
        done["step"], "recovery_codes",
        "the used code's replacement: {done}"
    );
    let done = b2.ok(&done, "recovery-codes/saved", json!({})).await;
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(s.events(&id, "signin.ok").await.len(), 2);
}

async fn create_app(s: &Server, name: &str) -> String {
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/applications",
            Some(
                json!({"name": name, "type": "public", "redirect_uris": ["https://rp.example/cb"]}),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["client_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn lg3_the_prompt_comes_at_the_second_sign_in_once_and_lg4_brings_it_back() {
    let s = Server::start().await;
    set_policy(
        &s,
        json!({"global": {"mfa": {"mode": "optional", "prompt": "after_registration"}}}),
    )
    .await;
    s.clock.advance(60);
    let id = s.create_user("noa", Some(PW)).await;
    let mut b = Browser::new(&s);
    assert_eq!(
        b.password(None, "noa", PW).await["step"],
        "done",
        "first sign-in: no prompt"
    );
    let mut b = Browser::new(&s);
    let f = b.password(None, "noa", PW).await;
    assert_eq!(
        (f["step"].as_str(), f["enroll"]["reason"].as_str()),
        (Some("enroll"), Some("prompt")),
        "{f}"
    );
    assert_eq!(f["enroll"]["skippable"], true);
    assert_eq!(b.ok(&f, "skip", json!({})).await["step"], "done");
    let mut b = Browser::new(&s);
    assert_eq!(
        b.password(None, "noa", PW).await["step"],
        "done",
        "never shown again"
    );
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"mfa_prompt_skipped": false})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut b = Browser::new(&s);
    assert_eq!(
        b.password(None, "noa", PW).await["step"],
        "enroll",
        "LG-4: the reset brings it back"
    );
}

#[tokio::test]
async fn ibm1_deny_refuses_a_user_without_a_factor() {
    let s = Server::start().await;
    let app = create_app(&s, "Vault").await;
    set_policy(
        &s,
        json!({"rules": [{"name": "vault", "when": {"applications": [app]},
        "then": {"mfa": {"mode": "required"}, "no_factor": "deny"}}]}),
    )
    .await;
    let id = s.create_user("oli", Some(PW)).await;
    let mut b = Browser::new(&s);
    let f = b.password(Some(&app), "oli", PW).await;
    assert_eq!(f["step"], "denied", "{f}");
    assert!(f["denied"]["message"]
        .as_str()
        .unwrap()
        .contains("administrator"));
    assert_eq!(s.events(&id, "signin.denied").await.len(), 1);
    // The flow is over.
    let (st, e) = b.step(&f, "back", json!({})).await;
    assert_eq!(
        (st, error_code(&e)),
        (StatusCode::CONFLICT, "flow_finished".into())
    );
}

#[tokio::test]
async fn ok5_ok6_a_method_satisfied_within_the_window_is_not_asked_again() {
    let s = Server::start().await;
    set_policy(
        &s,
        json!({"global": {"reauth": {"mode": "after_minutes", "minutes": 30}}}),
    )
    .await;
    let id = s.create_user("pat", Some(PW)).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.password(None, "pat", PW).await["step"], "done");
    // Within the window the session alone signs in (single sign-on): done at once.
    s.clock.advance(10 * 60);
    let f = b.start(None).await;
    assert_eq!(f["step"], "done", "{f}");
    // The user adds TOTP: the password is still fresh, so the chain continues at its next
    // step (OK-6).
    let (_, secret) = super::enrolled(&s, &id).await;
    let f = b.start(None).await;
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("totp")),
        "{f}"
    );
    s.clock.advance(30);
    let done = b
        .ok(
            &f,
            "verify",
            json!({"method": "totp", "code": totp_now(&s, &secret)}),
        )
        .await;
    assert_eq!(done["step"], "done");
    // After the window, the password is asked again.
    s.clock.advance(31 * 60);
    let f = b.start(None).await;
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("password")),
        "{f}"
    );
    assert_eq!(f["identifier"], "pat", "the session names the user");
    // "Back to sign in" (not you?) sets the session's user aside.
    let f = b.ok(&f, "back", json!({})).await;
    assert_eq!(f["step"], "identifier");
}

#[tokio::test]
async fn a_flow_refuses_guessed_expired_foreign_and_finished_use_with_one_error_each() {
    let s = Server::start().await;
    s.create_user("quinn", Some(PW)).await;
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    let id = f["flow_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("flw_") && id.len() == 47, "{id}");
    // Guessed (well-formed and not) ids.
    for guess in [
        format!("flw_{}", "A".repeat(43)),
        "flw_short".into(),
        "flw_%2E%2E".into(),
    ] {
        let (st, e) = b
            .call(Method::GET, &format!("/signin/api/flows/{guess}"), None)
            .await;
        assert_eq!(
            (st, error_code(&e)),
            (StatusCode::NOT_FOUND, "flow_not_found".into()),
            "{guess}"
        );
    }
    // Another browser (its own cookie, or none).
    let mut other = Browser::new(&s);
    other.start(None).await;
    for br in [&mut other, &mut Browser::new(&s)] {
        let (st, e) = br
            .step(&f, "identifier", json!({"identifier": "quinn"}))
            .await;
        assert_eq!(
            (st, error_code(&e)),
            (StatusCode::FORBIDDEN, "flow_other_browser".into())
        );
    }
    // The wrong step.
    let (st, e) = b
        .step(&f, "verify", json!({"method": "password", "password": PW}))
        .await;
    assert_eq!(
        (st, error_code(&e)),
        (StatusCode::CONFLICT, "wrong_step".into()),
        "{e}"
    );
    // Bad bodies name the field.
    let (st, e) = b.step(&f, "identifier", json!({"identifier": ""})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("identifier"),
        "{e}"
    );
    let (st, _) = b.step(&f, "identifier", json!({"name": "quinn"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // Finished: used again.
    let done = {
        let f2 = b.ok(&f, "identifier", json!({"identifier": "quinn"})).await;
        b.ok(&f2, "verify", json!({"method": "password", "password": PW}))
            .await
    };
    assert_eq!(done["step"], "done");
    let (st, e) = b
        .call(Method::GET, &format!("/signin/api/flows/{id}"), None)
        .await;
    assert_eq!(
        (st, error_code(&e)),
        (StatusCode::CONFLICT, "flow_finished".into())
    );
    // Expired.
    let f = Browser::new(&s);
    let mut f = f;
    let started = f.start(None).await;
    s.clock.advance(15 * 60);
    let (st, e) = f
        .step(&started, "identifier", json!({"identifier": "quinn"}))
        .await;
    assert_eq!(
        (st, error_code(&e)),
        (StatusCode::GONE, "flow_expired".into())
    );
}

#[tokio::test]
async fn lg11_after_an_admin_removes_factors_the_flow_follows_both_branches() {
    let s = Server::start().await;
    set_policy(&s, json!({"global": {"mfa": {"mode": "required"}}})).await;
    // None left, MFA required: in with the password alone, then set-up at once, no skipping.
    let (id, _, _) = with_totp(&s, "ria").await;
    let (st, _) = s
        .admin_json(
            Method::DELETE,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mut b = Browser::new(&s);
    let f = b.password(None, "ria", PW).await;
    assert_eq!(
        (f["step"].as_str(), f["enroll"]["reason"].as_str()),
        (Some("enroll"), Some("required")),
        "{f}"
    );
    assert_eq!(f["enroll"]["skippable"], false);

    // Backup codes left: the backup code first, then a new primary factor — skippable only
    // when MFA is not required.
    set_policy(
        &s,
        json!({"global": {"mfa": {"mode": "optional", "prompt": "never"}}}),
    )
    .await;
    let (id, _, codes) = with_totp(&s, "sam").await;
    let (_, factors) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    let totp = factors
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authenticator_type"] == "otp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = s
        .admin_json(
            Method::DELETE,
            &format!(
                "/api/v2/users/{id}/authentication-methods/{}",
                urlencode(&totp)
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mut b = Browser::new(&s);
    let f = b.password(None, "sam", PW).await;
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("recovery_code")),
        "{f}"
    );
    assert_eq!(f["offer"], json!(["recovery_code"]));
    let f = b
        .ok(
            &f,
            "verify",
            json!({"method": "recovery_code", "code": codes[0]}),
        )
        .await;
    assert_eq!(f["step"], "recovery_codes", "{f}");
    let f = b.ok(&f, "recovery-codes/saved", json!({})).await;
    assert_eq!(
        (f["step"].as_str(), f["enroll"]["reason"].as_str()),
        (Some("enroll"), Some("only_recovery_codes")),
        "{f}"
    );
    assert_eq!(f["enroll"]["skippable"], true);
    assert_eq!(b.ok(&f, "skip", json!({})).await["step"], "done");
}

fn urlencode(s: &str) -> String {
    s.replace('|', "%7C")
}

#[tokio::test]
async fn ibm4_a_minimum_of_distinct_factors_with_a_grace_period() {
    let s = Server::start().await;
    set_policy(
        &s,
        json!({"global": {"mfa": {"mode": "optional", "prompt": "never"},
        "min_enrollments": {"count": 2, "grace_days": 7}}}),
    )
    .await;
    let (_, secret, _) = with_totp(&s, "tai").await;
    s.clock.advance(30);
    let mut b = Browser::new(&s);
    let f = b.password(None, "tai", PW).await;
    let f = b
        .ok(
            &f,
            "verify",
            json!({"method": "totp", "code": totp_now(&s, &secret)}),
        )
        .await;
    assert_eq!(
        (f["step"].as_str(), f["enroll"]["reason"].as_str()),
        (Some("enroll"), Some("min_enrollments")),
        "{f}"
    );
    assert_eq!(f["enroll"]["skippable"], true, "within the grace period");
    assert_eq!(b.ok(&f, "skip", json!({})).await["step"], "done");
    // After it: the second factor must be set up now.
    s.clock.advance(8 * 86_400);
    let mut b = Browser::new(&s);
    let f = b.password(None, "tai", PW).await;
    let f = b
        .ok(
            &f,
            "verify",
            json!({"method": "totp", "code": totp_now(&s, &secret)}),
        )
        .await;
    assert_eq!(f["enroll"]["skippable"], false, "{f}");
    let (st, _) = b.step(&f, "skip", json!({})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let f = b.ok(&f, "enroll", json!({"method": "totp"})).await;
    let second = f["enroll"]["totp"]["secret"].as_str().unwrap().to_owned();
    // A code of the first authenticator does not confirm the second.
    s.clock.advance(30);
    let (st, _) = b
        .step(&f, "enroll/confirm", json!({"code": totp_now(&s, &secret)}))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let done = b
        .ok(&f, "enroll/confirm", json!({"code": totp_now(&s, &second)}))
        .await;
    assert_eq!(done["step"], "done", "two distinct factors now: {done}");
}

#[tokio::test]
async fn ok1_ok3_ok4_the_first_method_chosen_selects_the_chain() {
    let s = Server::start().await;
    let app = create_app(&s, "Chains").await;
    set_policy(
        &s,
        json!({"rules": [{"name": "chains", "when": {"applications": [app]},
        "then": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]},
                       {"any_of": [{"method": "totp"}, {"method": "recovery_code"}]}]},
            {"steps": [{"any_of": [{"method": "totp"}]}, {"any_of": [{"method": "password"}]}]}
        ]}}]}),
    )
    .await;
    let (_, secret, codes) = with_totp(&s, "uma").await;
    let mut b = Browser::new(&s);
    // First sign-in on this browser (password first: OK-8), then OK-4: a backup code
    // satisfies the step that also takes TOTP.
    let f = b.password(Some(&app), "uma", PW).await;
    assert_eq!(f["offer"], json!(["totp", "recovery_code"]), "{f}");
    let f = b
        .ok(
            &f,
            "verify",
            json!({"method": "recovery_code", "code": codes[0]}),
        )
        .await;
    let f = b.ok(&f, "recovery-codes/saved", json!({})).await;
    assert_eq!(f["step"], "done", "{f}");
    b.call(
        Method::POST,
        "/signin/api/session/sign-out",
        Some(json!({})),
    )
    .await;
    // A known browser is offered the first method of every chain (OK-3)…
    let f = b.start(Some(&app)).await;
    let f = b.ok(&f, "identifier", json!({"identifier": "uma"})).await;
    let offer: Vec<String> = f["offer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    assert!(
        offer.contains(&"password".to_owned()) && offer.contains(&"totp".to_owned()),
        "{f}"
    );
    // …and TOTP first selects the second chain: the password follows (OK-1's order).
    s.clock.advance(30);
    let f = b
        .ok(
            &f,
            "verify",
            json!({"method": "totp", "code": totp_now(&s, &secret)}),
        )
        .await;
    assert_eq!(
        (f["step"].as_str(), f["offer"].clone()),
        (Some("verify"), json!(["password"])),
        "{f}"
    );
    let done = b
        .ok(&f, "verify", json!({"method": "password", "password": PW}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
}

#[tokio::test]
async fn a0_7_a_remembered_browser_skips_the_second_factor_until_the_days_pass() {
    let s = Server::start().await;
    set_policy(
        &s,
        json!({"global": {"mfa": {"mode": "optional", "prompt": "never"},
        "remember_browser_days": 30}}),
    )
    .await;
    let (_, secret, _) = with_totp(&s, "val").await;
    s.clock.advance(30);
    let mut b = Browser::new(&s);
    let f = b.password(None, "val", PW).await;
    assert_eq!(f["remember_browser"]["offered"], true, "{f}");
    let done = b
        .ok(
            &f,
            "verify",
            json!({"method": "totp", "code": totp_now(&s, &secret), "remember_browser": true}),
        )
        .await;
    assert_eq!(done["step"], "done");
    b.call(
        Method::POST,
        "/signin/api/session/sign-out",
        Some(json!({})),
    )
    .await;
    // The password still, the second factor not.
    assert_eq!(b.password(None, "val", PW).await["step"], "done");
    // Another browser is not remembered.
    let mut other = Browser::new(&s);
    assert_eq!(other.password(None, "val", PW).await["step"], "verify");
    // After the days, the second factor is asked again.
    b.call(
        Method::POST,
        "/signin/api/session/sign-out",
        Some(json!({})),
    )
    .await;
    s.clock.advance(31 * 86_400);
    assert_eq!(b.password(None, "val", PW).await["step"], "verify");
}

#[tokio::test]
async fn one_address_may_start_only_so_many_sign_ins_a_minute() {
    let s = Server::start_with(|c| c.signin.starts_per_minute = 3).await;
    let mut b = Browser::new(&s);
    for _ in 0..3 {
        b.start(None).await;
    }
    let (st, e) = b.call(Method::POST, "/signin/api/flows", None).await;
    assert_eq!(
        (st, error_code(&e)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests".into()),
        "{e}"
    );
    // The next minute, again.
    s.clock.advance(60);
    b.start(None).await;
}
