//! The Auth0-shaped flow: password → mfa_required → mfa-otp / mfa-recovery-code grants, and
//! the MFA API's scope rules.

use reqwest::Method;
use serde_json::json;

use super::harness::{oathtool, Server, T0};

#[tokio::test]
async fn password_grant_without_mfa_and_no_user_enumeration() {
    let s = Server::start().await;
    s.create_user("plain", "correct horse").await;
    let (st, v) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "plain"),
            ("password", "correct horse"),
        ])
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert!(
        v["access_token"].as_str().unwrap().len() >= 43,
        "≥256-bit token"
    );
    assert!(!v["scope"]
        .as_str()
        .unwrap()
        .contains("remove:authenticators"));

    let wrong_pw = s
        .token(&[
            ("grant_type", "password"),
            ("username", "plain"),
            ("password", "nope nope"),
        ])
        .await;
    let no_user = s
        .token(&[
            ("grant_type", "password"),
            ("username", "ghost"),
            ("password", "nope nope"),
        ])
        .await;
    assert_eq!(wrong_pw, no_user, "same answer for known and unknown users");
    assert_eq!(wrong_pw.0, 403);

    // JSON bodies work too; unknown grants are typed errors.
    let r = s
        .http
        .post(format!("{}/oauth/token", s.url))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let (st, v) = super::harness::decode(r).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn full_mfa_flow_with_otp_and_the_scope_rules() {
    let s = Server::start().await;
    let user = s.create_user("alice", "correct horse").await;

    // Enroll through /mfa/associate with the mfa_token an organization requirement yields.
    let (st, _) = s
        .admin(
            Method::PUT,
            "/api/v2/organizations/acme",
            Some(json!({"require_mfa": true})),
        )
        .await;
    assert_eq!(st, 200);
    s.admin(
        Method::PATCH,
        &format!("/api/v2/users/{user}"),
        Some(json!({"organizations": ["acme"]})),
    )
    .await;
    let (st, v) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "correct horse"),
        ])
        .await;
    assert_eq!(st, 403);
    assert_eq!(v["error"], "mfa_required");
    let mfa_token = v["mfa_token"].as_str().unwrap().to_owned();

    let (st, e) = s
        .call(
            Method::POST,
            "/mfa/associate",
            Some(&mfa_token),
            Some(json!({"authenticator_types": ["otp"]})),
        )
        .await;
    assert_eq!(st, 200, "{e}");
    assert_eq!(e["authenticator_type"], "otp");
    let secret = e["secret"].as_str().unwrap();
    let recovery: Vec<String> = e["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    // The mfa_token lists (inactive until confirmed) but never deletes.
    let (st, list) = s
        .call(Method::GET, "/mfa/authenticators", Some(&mfa_token), None)
        .await;
    assert_eq!(st, 200);
    let otp_entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authenticator_type"] == "otp")
        .unwrap()
        .clone();
    assert_eq!(otp_entry["active"], false);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["authenticator_type"] == "recovery-code"));
    let id = otp_entry["id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/mfa/authenticators/{id}"),
            Some(&mfa_token),
            None,
        )
        .await;
    assert_eq!(st, 403);

    // Completing MFA with an oathtool code confirms the authenticator and yields tokens.
    let code = oathtool(secret, "sha1", 6, 30, T0);
    let (st, t) = s
        .token(&[
            ("grant_type", "http://auth0.com/oauth/grant-type/mfa-otp"),
            ("mfa_token", &mfa_token),
            ("otp", &code),
            ("scope", "openid read:authenticators remove:authenticators"),
        ])
        .await;
    assert_eq!(st, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    // The mfa_token is spent.
    let (st, _) = s
        .token(&[
            ("grant_type", "http://auth0.com/oauth/grant-type/mfa-otp"),
            ("mfa_token", &mfa_token),
            ("otp", &code),
        ])
        .await;
    assert_eq!(st, 403);

    // Next sign-in: a recovery code works once.
    let (_, v) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "correct horse"),
        ])
        .await;
    let mfa2 = v["mfa_token"].as_str().unwrap().to_owned();
    let (st, r) = s
        .token(&[
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/mfa-recovery-code",
            ),
            ("mfa_token", &mfa2),
            ("recovery_code", &recovery[0].to_lowercase()),
        ])
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["recovery_code"].as_str().unwrap().len(), 24);
    let (_, v) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "correct horse"),
        ])
        .await;
    let mfa3 = v["mfa_token"].as_str().unwrap().to_owned();
    let (st, _) = s
        .token(&[
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/mfa-recovery-code",
            ),
            ("mfa_token", &mfa3),
            ("recovery_code", &recovery[1]),
        ])
        .await;
    assert_eq!(st, 403, "the old set was replaced when a code was used");

    // The access token obtained through MFA can delete.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/mfa/authenticators/{id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (_, list) = s
        .call(Method::GET, "/mfa/authenticators", Some(&access), None)
        .await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["authenticator_type"] != "otp"));
}

#[tokio::test]
async fn recovery_code_regeneration_voids_the_old_set() {
    let s = Server::start().await;
    let user = s.create_user("rc", "correct horse").await;
    let (st, v) = s
        .admin(
            Method::POST,
            &format!("/api/v2/users/{user}/recovery-code-regeneration"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let old = v["recovery_code"].as_str().unwrap().to_owned();
    assert_eq!(old.len(), 24);
    let (_, v2) = s
        .admin(
            Method::POST,
            &format!("/api/v2/users/{user}/recovery-code-regeneration"),
            None,
        )
        .await;
    let new = v2["recovery_code"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    // Recovery codes alone make MFA apply? No: only active authenticators or an org rule.
    // Use the store-level check through a sign-in that requires MFA.
    s.admin(
        Method::PUT,
        "/api/v2/organizations/o",
        Some(json!({"require_mfa": true})),
    )
    .await;
    s.admin(
        Method::PATCH,
        &format!("/api/v2/users/{user}"),
        Some(json!({"organizations": ["o"]})),
    )
    .await;
    let login = || async {
        let (_, v) = s
            .token(&[
                ("grant_type", "password"),
                ("username", "rc"),
                ("password", "correct horse"),
            ])
            .await;
        v["mfa_token"].as_str().unwrap().to_owned()
    };
    let m = login().await;
    let (st, _) = s
        .token(&[
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/mfa-recovery-code",
            ),
            ("mfa_token", &m),
            ("recovery_code", &old),
        ])
        .await;
    assert_eq!(st, 403, "old code void");
    let (st, _) = s
        .token(&[
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/mfa-recovery-code",
            ),
            ("mfa_token", &m),
            ("recovery_code", &new),
        ])
        .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn self_service_bind_confirm_unbind_and_skip_state() {
    let s = Server::start().await;
    let user = s.create_user("self", "correct horse").await;
    let (_, t) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "self"),
            ("password", "correct horse"),
        ])
        .await;
    let access = t["access_token"].as_str().unwrap().to_owned();
    let (st, e) = s
        .call(
            Method::POST,
            "/api/v2/me/authenticators",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, 201, "{e}");
    let id = e["id"].as_str().unwrap();
    let code = oathtool(e["secret"].as_str().unwrap(), "sha1", 6, 30, T0);
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/api/v2/me/authenticators/{id}/confirm"),
            Some(&access),
            Some(json!({"otp": code})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, list) = s
        .call(
            Method::GET,
            "/api/v2/me/authenticators",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(list[0]["active"], true);
    // Without MFA this token has no remove:authenticators.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/me/authenticators/{id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, 403);
    let (st, r) = s
        .call(
            Method::POST,
            "/api/v2/me/recovery-code-regeneration",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(r["recovery_codes"].as_array().unwrap().len(), 10);

    // Skipped-prompt state: set by the user, reset by the admin (LG-4) and by the user.
    assert_eq!(
        s.call(
            Method::POST,
            "/api/v2/me/mfa-prompt-skipped",
            Some(&access),
            None
        )
        .await
        .0,
        204
    );
    let (_, u) = s
        .admin(Method::GET, &format!("/api/v2/users/{user}"), None)
        .await;
    assert_eq!(u["mfa_prompt_skipped"], true);
    assert_eq!(
        s.admin(
            Method::DELETE,
            &format!("/api/v2/users/{user}/mfa-prompt-skipped"),
            None
        )
        .await
        .0,
        204
    );
    let (_, u) = s
        .admin(Method::GET, &format!("/api/v2/users/{user}"), None)
        .await;
    assert_eq!(u["mfa_prompt_skipped"], false);
}
