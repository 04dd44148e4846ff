//! The hosted sign-in page in real Chromium (Debian's `chromium`, driven by `chromedriver`
//! through fantoccini, `tessera_e2e::browser`): identifier → password → the push with the
//! number shown (refused on the device, then sent again) → the virtual device approves with that
//! number → signed in; and the TOTP path through "verify another way", a wrong code first. The page's look at 360 px, and the
//! screenshots of docs/screenshots/signin-*.png (`TESSERA_SCREENSHOTS=1`).
//!
//! Without chromedriver or chromium the tests print `SKIPPED: …` and pass, except in CI, where
//! they fail (`tessera_core::testing::prerequisite`).

use serde_json::json;
use tessera_e2e::browser::with_page;
use tessera_e2e::{oathtool, START};

use super::hosted_signin::{device, hosted, oathtool_ready, user, Pages, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_in_chromium_password_then_push() {
    with_page(|page| async move {
        let h = hosted();
        let (device, _) = h
            .run(|s| async move {
                user(s, "page-dana").await?;
                device(s, "page-dana").await
            })
            .await;
        device.connect().await;
        let p = Pages::new(page, h.origin());

        // What the server sends with the page (the real router, not only the handler).
        let r = reqwest::get(format!("{}/signin", h.origin())).await.unwrap();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-security-policy").contains("script-src 'self'"));
        assert!(!header("content-security-policy").contains("unsafe-inline"));
        assert_eq!(header("cache-control"), "no-store");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("referrer-policy"), "no-referrer");

        p.open(None).await;
        p.at("identifier").await;
        let focused = p
            .page
            .js("return document.activeElement.id;", vec![])
            .await
            .unwrap();
        assert_eq!(focused, json!("identifier"), "the first field has the focus");
        p.page.screenshot("signin-identifier").await.unwrap();
        // Every control is named for a screen reader and reached by Tab.
        let problems = p.page.keyboard_and_label_problems().await.unwrap();
        assert!(problems.is_empty(), "{problems:#?}");
        p.page
            .js("document.getElementById('identifier').focus();", vec![])
            .await
            .unwrap();
        // By keyboard: the focused field, then Enter submits (WebDriver's Enter key).
        let focused = p.page.client.active_element().await.unwrap();
        focused.send_keys("page-dana\u{E007}").await.unwrap();
        p.at("verify:password").await;
        let focused = p.page.client.active_element().await.unwrap();
        assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("password"));
        focused
            .send_keys(&format!("{PASSWORD}\u{E007}"))
            .await
            .unwrap();

        // The device's push is offered first (no method used yet): the page shows the number.
        let (_, c) = p.push(&device).await;
        assert!(!c.context.application.is_empty(), "{:?}", c.context);
        p.page.screenshot("signin-push").await.unwrap();

        // Refused on the device: the page says so and offers a new request.
        device.deny(&c).await.unwrap();
        p.page.wait_for("#push-resend").await.unwrap();
        let status = p.page.text("#push-status").await.unwrap();
        assert!(status.contains("refused"), "{status}");
        p.page.click("#push-resend").await.unwrap();
        let (number, c) = p.push(&device).await;
        device.approve(&c, number).await.unwrap();
        assert_eq!(p.signed_in().await, "page-dana");
        p.page.screenshot("signin-done").await.unwrap();

        // 360 px wide: nothing sticks out sideways.
        p.page.client.set_window_size(360, 800).await.unwrap();
        let overflow = p
            .page
            .js(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, json!(0), "no horizontal scrolling at 360 px");

        p.sign_out().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_in_chromium_totp_another_way() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let (device, secret) = h
            .run(|s| async move {
                user(s, "page-eli").await?;
                device(s, "page-eli").await
            })
            .await;
        device.connect().await;
        let p = Pages::new(page, h.origin());

        p.start(None, "page-eli").await;
        // The push went out by itself; the user picks the authenticator app instead.
        p.push(&device).await;
        p.page.click("#other-ways").await.unwrap();
        let expanded = p.page.attr("#other-ways", "aria-expanded").await.unwrap();
        assert_eq!(expanded.as_deref(), Some("true"));
        p.page.click("#choose-totp").await.unwrap();
        p.at("verify:totp").await;

        let right = oathtool(&secret, START).unwrap();
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        p.code(wrong).await;
        let error = p.error().await;
        assert!(!error.is_empty());
        let role = p.page.attr("#error", "role").await.unwrap();
        assert_eq!(role.as_deref(), Some("alert"), "errors are announced");
        p.at("verify:totp").await;

        p.code(&right).await;
        assert_eq!(p.signed_in().await, "page-eli");
    })
    .await;
}

/// Records the bodies the page sends to `…/verify` (WebDriver's scripts are not bound by the
/// page's Content-Security-Policy).
const RECORD_VERIFY: &str = "window.__verify = []; const f = window.fetch; \
    window.fetch = (u, init) => { if (String(u).endsWith('/verify')) window.__verify.push(init.body); \
    return f(u, init); }; return null;";

/// The page sends the password's typing rhythm: one dwell time per character typed and one
/// flight time fewer, whole milliseconds and nothing else; a password put in without keystrokes
/// (as a paste or a password manager does) goes without timings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_sends_typing_timings_and_never_keys() {
    with_page(|page| async move {
        let h = hosted();
        h.run(|s| async move { user(s, "page-tyra").await }).await;
        let p = Pages::new(page, h.origin());
        p.open(None).await;
        p.identify("page-tyra").await;
        p.at("verify:password").await;
        p.page.js(RECORD_VERIFY, vec![]).await.unwrap();
        let field = p.page.wait_for("#password").await.unwrap();
        field.send_keys(PASSWORD).await.unwrap();
        p.page.click("#password-submit").await.unwrap();
        assert_eq!(p.signed_in().await, "page-tyra");
        let sent = p.page.js("return window.__verify;", vec![]).await.unwrap();
        let body: serde_json::Value = serde_json::from_str(sent[0].as_str().unwrap()).unwrap();
        let typing = body["typing"].as_object().expect("timings sent");
        assert_eq!(
            typing.keys().collect::<Vec<_>>(),
            ["dwell", "flight"],
            "timings only"
        );
        let n = PASSWORD.chars().count();
        let ms = |k: &str| -> Vec<u64> {
            typing[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().expect("whole milliseconds"))
                .collect()
        };
        assert_eq!(ms("dwell").len(), n, "one per keystroke");
        assert_eq!(ms("flight").len(), n - 1);
        assert!(ms("dwell").iter().chain(&ms("flight")).all(|v| *v <= 3000));
        p.sign_out().await;

        // Filled in without keystrokes: the password goes alone.
        p.open(None).await;
        p.identify("page-tyra").await;
        p.at("verify:password").await;
        p.page.js(RECORD_VERIFY, vec![]).await.unwrap();
        p.page
            .js(
                "const f = document.getElementById('password'); f.value = arguments[0]; \
                 f.dispatchEvent(new InputEvent('input', {inputType: 'insertFromPaste'})); return null;",
                vec![json!(PASSWORD)],
            )
            .await
            .unwrap();
        p.page.click("#password-submit").await.unwrap();
        assert_eq!(p.signed_in().await, "page-tyra");
        let sent = p.page.js("return window.__verify;", vec![]).await.unwrap();
        let body: serde_json::Value = serde_json::from_str(sent[0].as_str().unwrap()).unwrap();
        assert!(body.get("typing").is_none(), "{body}");
    })
    .await;
}
