//! Passkeys (WebAuthn) from outside, on both engines, with a software authenticator that
//! builds real attestations and ES256 assertions (ring): registration through the self-service
//! API and at the hosted sign-in's set-up step, the passkey as a second factor and
//! passwordless, and every refusal — wrong origin, wrong relying party, replayed and stale
//! challenges, a counter going back (a cloned authenticator), a tampered signature, another
//! user's ceremony.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_server::passkey::soft::{b64, unb64, SoftKey};

use super::signin_flow::Browser;
use super::{error_code, Server};

const PW: &str = "correct horse battery";

/// A refusal of the passkey, saying why (`reason` in its description).
#[track_caller]
fn refused(st: StatusCode, v: &Value, reason: &str) {
    assert_eq!(
        (st, error_code(v).as_str()),
        (StatusCode::BAD_REQUEST, "passkey_refused"),
        "{v}"
    );
    let d = v["error_description"].as_str().unwrap();
    assert!(d.contains(reason), "expected “{reason}”: {d}");
}

/// A user with a password and an access token from the password grant.
async fn user(s: &Server, name: &str) -> (String, String) {
    let id = s.create_user(name, Some(PW)).await;
    let (st, tok) = s.password_grant(name, PW).await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    (id, tok["access_token"].as_str().unwrap().to_owned())
}

/// Begins a self-service registration; the answer.
async fn begin(s: &Server, token: &str) -> Value {
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v2/me/authenticators",
            Some(token),
            Some(json!({"type": "passkey"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v
}

async fn finish(
    s: &Server,
    token: &str,
    ceremony: &Value,
    credential: Value,
) -> (StatusCode, Value) {
    s.json(
        Method::POST,
        "/api/v2/me/passkey-verification",
        Some(token),
        Some(json!({"ceremony_id": ceremony["ceremony_id"], "credential": credential})),
    )
    .await
}

/// A user with a registered passkey: (user id, the authenticator).
async fn with_passkey(s: &Server, name: &str) -> (String, SoftKey) {
    let (id, token) = user(s, name).await;
    let mut key = SoftKey::new(&s.url);
    let c = begin(s, &token).await;
    let (st, v) = finish(s, &token, &c, key.create(&c["options"])).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    (id, key)
}

#[tokio::test]
async fn self_service_registers_a_passkey_never_a_totp() {
    let s = Server::start().await;
    let (id, token) = user(&s, "pia").await;
    let c = begin(&s, &token).await;
    assert_eq!(c["authenticator_type"], "passkey");
    assert!(c["ceremony_id"].as_str().unwrap().starts_with("pkc_"));
    let pk = &c["options"]["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost", "{c}");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    // Nothing is created until the ceremony is finished: in particular no TOTP.
    let (_, list) = s
        .json(Method::GET, "/api/v2/me/authenticators", Some(&token), None)
        .await;
    assert_eq!(list, json!([]));

    let mut key = SoftKey::new(&s.url);
    let (st, v) = finish(&s, &token, &c, key.create(&c["options"])).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["authenticator_type"], "passkey");
    assert_eq!(v["active"], true);
    assert!(v["id"].as_str().unwrap().starts_with("passkey|dev_"));
    let traits = json!({
        "phishing_resistant": true,
        "hardware_protected": true,
        "user_interaction": true,
        "user_verification": true,
    });
    assert_eq!(v["characteristics"], traits);
    // The same ceremony cannot be finished twice.
    let (st, again) = finish(&s, &token, &c, key.create(&c["options"])).await;
    assert_eq!(
        (st, error_code(&again).as_str()),
        (StatusCode::BAD_REQUEST, "passkey_refused")
    );

    // In every list, with its characteristics; the management API's too.
    for (path, tok) in [
        ("/api/v2/me/authenticators".to_owned(), token.clone()),
        (
            format!("/api/v2/users/{id}/authentication-methods"),
            s.admin.clone(),
        ),
    ] {
        let (st, list) = s.json(Method::GET, &path, Some(&tok), None).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["authenticator_type"], "passkey");
        assert_eq!(list[0]["characteristics"], traits);
    }
    assert_eq!(s.events(&id, "enroll").await.len(), 1);

    // A synced (backup-eligible) passkey is not hardware-protected.
    let (_, token2) = user(&s, "pia2").await;
    let c = begin(&s, &token2).await;
    let mut synced = SoftKey::new(&s.url);
    synced.backup_eligible = true;
    let (st, v) = finish(&s, &token2, &c, synced.create(&c["options"])).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["characteristics"]["hardware_protected"], false);
    assert_eq!(v["characteristics"]["phishing_resistant"], true);

    // The same credential cannot be registered twice.
    let (_, token3) = user(&s, "pia3").await;
    let c = begin(&s, &token3).await;
    let (st, v) = finish(&s, &token3, &c, key.create(&c["options"])).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::CONFLICT, "conflict"),
        "{v}"
    );

    // Deleted like any factor: not with a password-only token now that a factor exists
    // (step-up), by an administrator; the credential goes with it (it can be registered again).
    let auth_id = list_ids(&s, &token).await.remove(0);
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/api/v2/me/authenticators/{auth_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .admin_json(
            Method::DELETE,
            &format!("/api/v2/users/{id}/authentication-methods/{auth_id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(list_ids(&s, &token).await.is_empty());
    let c = begin(&s, &token3).await;
    let (st, v) = finish(&s, &token3, &c, key.create(&c["options"])).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

async fn list_ids(s: &Server, token: &str) -> Vec<String> {
    let (_, list) = s
        .json(Method::GET, "/api/v2/me/authenticators", Some(token), None)
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn registrations_from_another_origin_or_relying_party_or_user_are_refused() {
    let s = Server::start().await;
    let (_, token) = user(&s, "quin").await;
    let (_, other) = user(&s, "rhea").await;

    let mut key = SoftKey::new(&s.url);
    key.origin = "http://evil.example".into();
    let c = begin(&s, &token).await;
    let (st, v) = finish(&s, &token, &c, key.create(&c["options"])).await;
    refused(st, &v, "origin");

    let mut key = SoftKey::new(&s.url);
    key.rp_id = "example.com".into();
    let c = begin(&s, &token).await;
    let (st, v) = finish(&s, &token, &c, key.create(&c["options"])).await;
    refused(st, &v, "relying party id hash");

    // Another user's ceremony: refused, and used up for its owner too.
    let mut key = SoftKey::new(&s.url);
    let c = begin(&s, &other).await;
    let cred = key.create(&c["options"]);
    let (st, v) = finish(&s, &token, &c, cred.clone()).await;
    refused(st, &v, "unknown or expired ceremony");
    let (st, v) = finish(&s, &other, &c, cred).await;
    refused(st, &v, "unknown or expired ceremony");
    assert!(list_ids(&s, &token).await.is_empty());
    assert!(list_ids(&s, &other).await.is_empty());

    // A ceremony past `passkey.ceremony_secs` is refused.
    let c = begin(&s, &token).await;
    s.clock.advance(301);
    let (st, v) = finish(&s, &token, &c, SoftKey::new(&s.url).create(&c["options"])).await;
    refused(st, &v, "unknown or expired ceremony");
}

/// Asks the flow for its ceremony's options.
async fn options(b: &mut Browser<'_>, f: &Value) -> Value {
    let v = b.ok(f, "passkey/options", json!({})).await;
    assert!(v["passkey"]["publicKey"]["challenge"].is_string(), "{v}");
    v
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_and_signs_in_without_a_password() {
    let s = Server::start().await;
    let (id, mut key) = with_passkey(&s, "sam").await;

    // Second factor: the password first on this new browser (OK-8), then the passkey.
    let mut b = Browser::new(&s);
    let f = b.password(None, "sam", PW).await;
    assert_eq!(f["step"], "verify", "{f}");
    assert_eq!(f["offer"], json!(["passkey"]), "{f}");
    let o = options(&mut b, &f).await;
    let allowed = &o["passkey"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"].as_str().unwrap(), b64(&key.cred_id), "{o}");
    let cred = key.get(&o["passkey"]);
    let done = b
        .ok(
            &f,
            "verify",
            json!({"method": "passkey", "credential": cred}),
        )
        .await;
    assert_eq!(done["step"], "done", "{done}");
    // The same answer again: the challenge was used up.
    let (st, v) = b
        .step(
            &f,
            "verify",
            json!({"method": "passkey", "credential": cred}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");

    // Passwordless on another new browser: no name typed, the passkey names the user.
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    assert_eq!(f["step"], "identifier");
    let o = options(&mut b, &f).await;
    assert!(o["passkey"]["publicKey"]["allowCredentials"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    assert!(o["passkey"]["mediation"].is_null(), "{o}");
    let done = b
        .ok(&f, "passkey", json!({"credential": key.get(&o["passkey"])}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(done["user"]["username"], "sam");
    let (st, session) = b.call(Method::GET, "/signin/api/session", None).await;
    assert_eq!(st, StatusCode::OK, "{session}");
    assert_eq!(session["session"]["user_id"], id.as_str(), "{session}");
    let signins = s.events(&id, "signin.ok").await;
    assert!(
        signins
            .iter()
            .any(|e| e["detail"].as_str().unwrap().contains("methods=passkey ")),
        "{signins:?}"
    );

    // A stale challenge: an answer signed for an earlier ceremony of the flow is refused.
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    let first = options(&mut b, &f).await;
    let _second = options(&mut b, &f).await;
    let (st, v) = b
        .step(
            &f,
            "passkey",
            json!({"credential": key.get(&first["passkey"])}),
        )
        .await;
    refused(st, &v, "challenge differs");
    // …and the ceremony it hit is used up too.
    let (st, v) = b
        .step(
            &f,
            "passkey",
            json!({"credential": key.get(&first["passkey"])}),
        )
        .await;
    refused(st, &v, "no passkey ceremony is in progress");
    // An expired one.
    let o = options(&mut b, &f).await;
    s.clock.advance(301);
    let (st, v) = b
        .step(&f, "passkey", json!({"credential": key.get(&o["passkey"])}))
        .await;
    refused(st, &v, "expired");
}

#[tokio::test]
async fn wrong_origins_relying_parties_signatures_and_counters_are_refused() {
    let s = Server::start().await;
    let (id, mut key) = with_passkey(&s, "tia").await;

    async fn attempt(s: &Server, key: &SoftKey, counter: u32, tamper: bool) -> (StatusCode, Value) {
        let mut b = Browser::new(s);
        let f = b.start(None).await;
        let o = options(&mut b, &f).await;
        let mut cred = key.assert_with(&o["passkey"], counter);
        if tamper {
            let mut sig = unb64(cred["response"]["signature"].as_str().unwrap());
            let n = sig.len();
            sig[n - 3] ^= 0x01;
            cred["response"]["signature"] = json!(b64(&sig));
        }
        b.step(&f, "passkey", json!({ "credential": cred })).await
    }

    let mut evil = key.clone();
    evil.origin = "http://localhost.evil.example".into();
    let (st, v) = attempt(&s, &evil, 1, false).await;
    refused(st, &v, "origin");

    let mut other_rp = key.clone();
    other_rp.rp_id = "example.com".into();
    let (st, v) = attempt(&s, &other_rp, 1, false).await;
    refused(st, &v, "relying party id hash");

    let (st, v) = attempt(&s, &key, 1, true).await;
    refused(st, &v, "Authentication has failed");
    // An unknown credential.
    let (st, v) = attempt(&s, &SoftKey::new(&s.url), 1, false).await;
    refused(st, &v, "not registered here");
    assert!(s.events(&id, "passkey.cloned").await.is_empty());

    // The genuine key signs in with counter 5.
    key.counter = 4;
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    let o = options(&mut b, &f).await;
    let done = b
        .ok(&f, "passkey", json!({"credential": key.get(&o["passkey"])}))
        .await;
    assert_eq!(done["step"], "done");

    // A clone that still counts 3, or 5 again: refused as cloned, audited, said plainly.
    for counter in [3, 5] {
        let (st, v) = attempt(&s, &key, counter, false).await;
        assert_eq!(
            (st, error_code(&v).as_str()),
            (StatusCode::FORBIDDEN, "passkey_cloned"),
            "{v}"
        );
        assert!(
            v["error_description"].as_str().unwrap().contains("cloned"),
            "{v}"
        );
    }
    let cloned = s.events(&id, "passkey.cloned").await;
    assert_eq!(cloned.len(), 2, "{cloned:?}");
    assert!(cloned[0]["authenticator_id"]
        .as_str()
        .unwrap()
        .starts_with("passkey|"));

    // Two sign-ins presenting one counter value at once: one wins (compare-and-set).
    let mut b1 = Browser::new(&s);
    let mut b2 = Browser::new(&s);
    let f1 = b1.start(None).await;
    let f2 = b2.start(None).await;
    let o1 = options(&mut b1, &f1).await;
    let o2 = options(&mut b2, &f2).await;
    let c1 = key.assert_with(&o1["passkey"], 9);
    let c2 = key.assert_with(&o2["passkey"], 9);
    let (r1, r2) = tokio::join!(
        b1.step(&f1, "passkey", json!({ "credential": c1 })),
        b2.step(&f2, "passkey", json!({ "credential": c2 })),
    );
    let mut codes = [r1.0, r2.0];
    codes.sort();
    assert_eq!(
        codes,
        [StatusCode::OK, StatusCode::FORBIDDEN],
        "{r1:?} {r2:?}"
    );
}

#[tokio::test]
async fn a_passkey_is_set_up_at_the_sign_in() {
    let s = Server::start().await;
    let (st, v) = s
        .admin_json(
            Method::PUT,
            "/api/v2/policies/sign-in",
            Some(json!({"global": {"mfa": {"mode": "required"}}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let id = s.create_user("val", Some(PW)).await;
    let mut b = Browser::new(&s);
    let f = b.password(None, "val", PW).await;
    assert_eq!(f["step"], "enroll", "{f}");
    assert!(f["enroll"]["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("passkey")));
    let v = b.ok(&f, "enroll", json!({"method": "passkey"})).await;
    assert_eq!(v["step"], "enroll", "{v}");
    let mut key = SoftKey::new(&s.url);
    let cred = key.create(&v["passkey"]);
    let done = b.ok(&f, "passkey", json!({ "credential": cred })).await;
    assert_eq!(done["step"], "done", "{done}");
    let (_, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert_eq!(list[0]["authenticator_type"], "passkey", "{list}");

    // The policy facts: a passkey, phishing-resistant, user-verified, device-bound.
    let (st, run) = s
        .admin_json(
            Method::POST,
            "/api/v2/policies/sign-in/dry-run",
            Some(json!({"user": "val"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{run}");
    // The first step takes the password or a user-verified passkey; a user with a password is
    // asked for it there (the passkey signs in from the identifier page).
    let first = &run["chains"][0]["steps"][0];
    assert_eq!(
        first["any_of"],
        json!([{"method": "password"}, {"method": "passkey", "requires": ["user_verification"]}]),
        "{run}"
    );
    assert_eq!(first["usable"], json!(["password"]), "{run}");
    assert_eq!(run["offer"], json!(["password"]), "{run}");

    // Next time it signs in alone (passwordless), MFA required and all.
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    let o = options(&mut b, &f).await;
    let done = b
        .ok(&f, "passkey", json!({"credential": key.get(&o["passkey"])}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
}

/// Written chains: one that starts with `passkey` signs in with the passkey alone; where no
/// chain takes a passkey first, the passwordless proof identifies the user, who then proves
/// what the chain asks (and the passkey proof still counts for a later step).
#[tokio::test]
async fn written_chains_decide_what_a_passwordless_proof_is_worth() {
    let s = Server::start().await;
    let (_, mut key) = with_passkey(&s, "wes").await;
    let put = |policy: Value| {
        let s = &s;
        async move {
            let (st, v) = s
                .admin_json(Method::PUT, "/api/v2/policies/sign-in", Some(policy))
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
        }
    };
    put(json!({"global": {"mfa": {"mode": "optional"}, "chains": [
        {"steps": [{"any_of": [{"method": "passkey", "requires": ["phishing_resistant", "user_verification"]}]}]},
        {"steps": [{"any_of": [{"method": "password"}]}, {"any_of": [{"method": "totp"}]}]}]}}))
    .await;
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    let o = options(&mut b, &f).await;
    let done = b
        .ok(&f, "passkey", json!({"credential": key.get(&o["passkey"])}))
        .await;
    assert_eq!(done["step"], "done", "{done}");

    put(json!({"global": {"mfa": {"mode": "optional"}, "chains": [
        {"steps": [{"any_of": [{"method": "password"}]}, {"any_of": [{"method": "passkey"}]}]}]}}))
    .await;
    let mut b = Browser::new(&s);
    let f = b.start(None).await;
    let o = options(&mut b, &f).await;
    let v = b
        .ok(&f, "passkey", json!({"credential": key.get(&o["passkey"])}))
        .await;
    assert_eq!(
        (v["step"].as_str(), v["method"].as_str()),
        (Some("verify"), Some("password")),
        "{v}"
    );
    assert_eq!(v["identifier"], "wes");
    let done = b
        .ok(&f, "verify", json!({"method": "password", "password": PW}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
}
