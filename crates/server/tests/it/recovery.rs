//! Recovery codes: single use, regeneration voids the old set (A0-6), the MFA grant.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_core::Clock;

use super::{enrolled, error_code, Server};

const RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

async fn mfa_token(s: &Server, name: &str) -> String {
    let (st, v) = s.password_grant(name, "correct horse battery").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    v["mfa_token"].as_str().unwrap().to_owned()
}

async fn recover(s: &Server, mfa: &str, code: &str) -> (StatusCode, serde_json::Value) {
    s.json(
        Method::POST,
        "/oauth/token",
        None,
        Some(json!({"grant_type": RECOVERY, "mfa_token": mfa, "recovery_code": code})),
    )
    .await
}

#[tokio::test]
async fn recovery_code_is_single_use_and_replaced() {
    let s = Server::start().await;
    let id = s.create_user("gus", Some("correct horse battery")).await;
    // Before the OTP enrollment is confirmed, its recovery code is not usable.
    let a = s.admin_enroll(&id).await;
    let code = a["recovery_codes"][0].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 24);
    let (st, v) = s.admin_json(Method::POST, &format!("/api/v2/users/{id}/otp-verification"), Some(json!({"otp": super::oathtool(a["secret"].as_str().unwrap(), "SHA1", 6, 30, s.clock.now_unix())}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let mfa = mfa_token(&s, "gus").await;
    let (st, v) = recover(&s, &mfa, "AAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
    // Typed in lower case with dashes still matches.
    let typed = super::as_typed(&code);
    let (st, v) = recover(&s, &mfa, &typed).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let new_code = v["recovery_code"]
        .as_str()
        .expect("Auth0 returns a new recovery code")
        .to_owned();
    assert_ne!(new_code, code);
    assert!(v["access_token"].is_string());

    let mfa = mfa_token(&s, "gus").await;
    assert_eq!(
        recover(&s, &mfa, &code).await.0,
        StatusCode::FORBIDDEN,
        "used code refused"
    );
    assert_eq!(recover(&s, &mfa, &new_code).await.0, StatusCode::OK);
    let kinds: Vec<String> = s
        .events(&id, "verify_ok")
        .await
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kinds.iter().filter(|k| *k == "recovery-code").count() == 2,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn regeneration_voids_the_old_code() {
    let s = Server::start().await;
    let id = s.create_user("hank", Some("correct horse battery")).await;
    let (a, _) = enrolled(&s, &id).await;
    let old = a["recovery_codes"][0].as_str().unwrap().to_owned();
    let (st, v) = s
        .admin_json(
            Method::POST,
            &format!("/api/v2/users/{id}/recovery-code-regeneration"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let new = v["recovery_code"].as_str().unwrap().to_owned();
    assert_eq!(v.as_object().unwrap().len(), 1, "exactly A0-6's shape: {v}");
    let mfa = mfa_token(&s, "hank").await;
    assert_eq!(recover(&s, &mfa, &old).await.0, StatusCode::FORBIDDEN);
    assert_eq!(recover(&s, &mfa, &new).await.0, StatusCode::OK);
    assert_eq!(
        s.events(&id, "regenerate").await.len(),
        2,
        "admin + automatic replacement"
    );

    let (st, _) = s
        .admin_json(
            Method::POST,
            "/api/v2/users/usr_nope/recovery-code-regeneration",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, ro) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"scopes": ["read:users"]})),
        )
        .await;
    let (st, v) = s
        .json(
            Method::POST,
            &format!("/api/v2/users/{id}/recovery-code-regeneration"),
            ro["token"].as_str(),
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
}

#[tokio::test]
async fn sets_of_several_codes() {
    let s = Server::start_with(|c| c.recovery_codes.count = 3).await;
    let id = s.create_user("ida", Some("correct horse battery")).await;
    let (a, _) = enrolled(&s, &id).await;
    let codes: Vec<String> = a["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 3);
    let mfa = mfa_token(&s, "ida").await;
    let (st, v) = recover(&s, &mfa, &codes[0]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        v.get("recovery_code").is_none(),
        "codes remain: no replacement yet"
    );
    let mfa = mfa_token(&s, "ida").await;
    assert_eq!(recover(&s, &mfa, &codes[1]).await.0, StatusCode::OK);
    let (st, v) = s
        .admin_json(
            Method::POST,
            &format!("/api/v2/users/{id}/recovery-code-regeneration"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 3);
    let mfa = mfa_token(&s, "ida").await;
    assert_eq!(
        recover(&s, &mfa, &codes[2]).await.0,
        StatusCode::FORBIDDEN,
        "old set void"
    );
}

/// LG-11: after an admin removes the OTP factor, a user with recovery codes left must first
/// verify with one, then may set up a new primary factor.
#[tokio::test]
async fn after_admin_removes_otp_a_recovery_code_leads_back_to_enrollment() {
    let s = Server::start().await;
    let id = s.create_user("iris", Some("correct horse battery")).await;
    let (a, _) = enrolled(&s, &id).await;
    let code = a["recovery_codes"][0].as_str().unwrap().to_owned();
    let otp_path = format!(
        "/api/v2/users/{id}/authentication-methods/{}",
        a["id"].as_str().unwrap().replace('|', "%7C")
    );
    assert_eq!(
        s.admin_json(Method::DELETE, &otp_path, None).await.0,
        StatusCode::NO_CONTENT
    );

    let mfa = mfa_token(&s, "iris").await;
    let (st, _) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(&mfa),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "recovery codes left: verify with one first"
    );
    let (st, tok) = recover(&s, &mfa, &code).await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    let access = tok["access_token"].as_str().unwrap();
    let (st, v) = s
        .json(
            Method::POST,
            "/mfa/associate",
            Some(access),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}
