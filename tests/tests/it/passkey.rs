//! Passkeys in real Chromium (docs/signin.md#passkeys), with WebDriver's virtual authenticator:
//! the hosted sign-in's set-up step registers one (`navigator.credentials.create`), the next
//! sign-in uses it as the second factor and the one after signs in with it alone (no name
//! typed); then the credential, private key and all, is copied into a fresh authenticator with
//! a lower signature counter — a cloned authenticator — and the page refuses it.
//!
//! The page is opened at `http://localhost:PORT`: the relying party derived from the server's
//! loopback origin is `localhost` (WebAuthn takes no IP address), a secure context for Chromium.

use anyhow::Context as _;
use reqwest::Method;
use serde_json::{json, Value};
use tessera_e2e::browser::{with_page, VirtualAuthenticator};
use tessera_e2e::Server;

use super::hosted_signin::{Pages, PASSWORD};

/// The user's authenticators (`GET …/authentication-methods`).
async fn factors(s: &Server, user_id: &str) -> Vec<Value> {
    let path = format!("/api/v2/users/{user_id}/authentication-methods");
    let (st, v) = s
        .call(Method::GET, &path, Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_set_up_used_as_second_factor_and_alone_and_its_clone_is_refused() {
    let s = Server::bare(&[]).await.unwrap();
    let origin = format!("http://localhost:{}", s.port);
    let user_id = s.user_requiring_mfa("pk-ann", PASSWORD).await.unwrap();
    with_page(|page| async move {
        let authenticator = page
            .add_authenticator(VirtualAuthenticator {
                resident_keys: true,
                user_verification: true,
            })
            .await
            .unwrap();
        let p = Pages::new(page, &origin);

        // Set-up: MFA is required and the user has no factor; the passkey is chosen.
        p.start(None, "pk-ann").await;
        p.at("enroll:choose").await;
        p.page.click("#enroll-method-passkey").await.unwrap();
        assert_eq!(p.signed_in().await, "pk-ann");
        let list = factors(&s, &user_id).await;
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["authenticator_type"], "passkey");
        assert_eq!(
            list[0]["characteristics"]["user_verification"], true,
            "{list:?}"
        );
        assert_eq!(list[0]["characteristics"]["phishing_resistant"], true);
        let held = p.page.credentials(&authenticator).await.unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0]["isResidentCredential"], true, "{held:?}");
        assert_eq!(held[0]["rpId"], "localhost");
        p.sign_out().await;

        // Second factor: the password, then the passkey (the only factor: asked directly).
        p.page.click("#signin-again").await.unwrap();
        p.identify("pk-ann").await;
        p.password(PASSWORD).await;
        p.at("verify:passkey").await;
        p.page.click("#passkey-start").await.unwrap();
        assert_eq!(p.signed_in().await, "pk-ann");
        p.sign_out().await;

        // Passwordless: no name typed; the passkey names the user.
        p.page.click("#signin-again").await.unwrap();
        p.at("identifier").await;
        p.page.click("#passkey-signin").await.unwrap();
        assert_eq!(p.signed_in().await, "pk-ann");
        let used = p.page.credentials(&authenticator).await.unwrap();
        let count = used[0]["signCount"].as_u64().context("signCount").unwrap();
        assert!(count >= 2, "two assertions counted: {used:?}");
        p.sign_out().await;

        // A clone: the same key in another authenticator whose counter is behind.
        let mut clone: Value = used[0].clone();
        clone["signCount"] = json!(0);
        p.page.remove_authenticator(&authenticator).await.unwrap();
        let copy = p
            .page
            .add_authenticator(VirtualAuthenticator {
                resident_keys: true,
                user_verification: true,
            })
            .await
            .unwrap();
        p.page.add_credential(&copy, clone).await.unwrap();
        p.page.click("#signin-again").await.unwrap();
        p.at("identifier").await;
        p.page.click("#passkey-signin").await.unwrap();
        let error = p.page.wait_text("#error").await.unwrap();
        assert!(error.contains("cloned"), "{error}");
        p.at("identifier").await;
        let (st, log) = s
            .call(
                Method::GET,
                &format!("/api/v2/logs?user_id={user_id}&type=passkey.cloned"),
                Some(&s.admin),
                None,
            )
            .await
            .unwrap();
        assert_eq!(st, 200, "{log}");
        assert!(log.to_string().contains("passkey|"), "{log}");
    })
    .await;
}
