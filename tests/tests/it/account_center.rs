//! The account center (`/account`, docs/account.md) in real Chromium: sent to the sign-in and
//! back, the security score, an authenticator app added with a code from `oathtool` (its backup
//! codes shown and saved), new backup codes after confirming it is you, and another session
//! ended. Screenshots `account-*.png` with `TESSERA_SCREENSHOTS=1`.

use anyhow::{Context as _, Result};
use serde_json::{json, Value};
use tessera_e2e::browser::with_page;
use tessera_e2e::{oathtool, START};

use super::hosted_signin::{hosted, oathtool_ready, user, Pages, PASSWORD};

/// One sign-in API call from another browser (`cookies` kept by hand); what it set and said.
async fn post(
    http: &reqwest::Client,
    url: String,
    cookies: &[String],
    body: Value,
) -> Result<(Vec<String>, Value)> {
    let r = http
        .post(url)
        .header("cookie", cookies.join("; "))
        .header("user-agent", "Other browser")
        .json(&body)
        .send()
        .await?;
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    Ok((set, r.json().await?))
}

/// Signs `name` in through the flow API, as another browser would.
async fn other_browser(origin: &str, name: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let mut cookies: Vec<String> = Vec::new();
    let (set, f) = post(
        &http,
        format!("{origin}/signin/api/flows"),
        &cookies,
        json!({}),
    )
    .await?;
    cookies.extend(set);
    let id = f["flow_id"].as_str().context("flow_id")?.to_owned();
    let flow = format!("{origin}/signin/api/flows/{id}");
    let (set, _) = post(
        &http,
        format!("{flow}/identifier"),
        &cookies,
        json!({ "identifier": name }),
    )
    .await?;
    cookies.extend(set);
    let (_, v) = post(
        &http,
        format!("{flow}/verify"),
        &cookies,
        json!({"method": "password", "password": PASSWORD}),
    )
    .await?;
    anyhow::ensure!(v["step"] == "done", "the other browser is signed in: {v}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_center_in_chromium() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let origin = h.origin().to_owned();
        h.run(|s| async move { user(s, "acct-fay").await }).await;
        let p = Pages::new(page, h.origin());

        // No session: to the sign-in, and back here once signed in.
        p.page.goto(&format!("{origin}/account")).await.unwrap();
        p.identify("acct-fay").await;
        p.password(PASSWORD).await;
        let ready = "return document.body.dataset.ready === '1' \
            && document.body.getAttribute('aria-busy') === 'false' ? location.pathname : null;";
        let at = p.page.wait_js("the account page", ready, vec![]).await.unwrap();
        assert_eq!(at, json!("/account"));
        assert_eq!(p.page.text("#account-user").await.unwrap(), "acct-fay");
        let score: u64 = p.page.text("#score-value").await.unwrap().parse().unwrap();
        assert!(score < 50, "a password alone is weak: {score}");
        let first = p
            .page
            .attr("#score-suggestions li", "data-code")
            .await
            .unwrap();
        assert_eq!(first.as_deref(), Some("add_second_factor"));
        p.page.screenshot("account-overview").await.unwrap();

        // Another browser signs in; it is listed and ended from here.
        other_browser(&origin, "acct-fay").await.unwrap();
        p.page.goto(&format!("{origin}/account")).await.unwrap();
        p.page.wait_js("the account page", ready, vec![]).await.unwrap();
        let n = p
            .page
            .js("return document.querySelectorAll('#sessions-list li').length;", vec![])
            .await
            .unwrap();
        assert_eq!(n, json!(2));
        p.page
            .click("#sessions-list li[data-current='0'] button.end")
            .await
            .unwrap();
        let one = "return document.querySelectorAll('#sessions-list li').length === 1 \
            && document.getElementById('notice').textContent;";
        p.page.wait_js("one session left", one, vec![]).await.unwrap();

        // An authenticator app: QR code and key, confirmed with a code from oathtool.
        p.page.click("#totp-add").await.unwrap();
        let secret = p.page.wait_text("#totp-secret").await.unwrap();
        let qr = p
            .page
            .wait_js(
                "the QR code",
                "const i = document.getElementById('totp-qr'); \
                 return i.complete && i.naturalWidth > 0;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(qr, json!(true));
        p.page.screenshot("account-totp").await.unwrap();
        let code = oathtool(&secret, START).unwrap();
        p.page.fill("#totp-code", &code).await.unwrap();
        p.page.click("#totp-submit").await.unwrap();
        // Its first backup codes: shown once, Done only after "I saved them".
        p.page.wait_for("#codes-shown").await.unwrap();
        let codes: Vec<String> = serde_json::from_value(
            p.page
                .js(
                    "return [...document.querySelectorAll('#codes-list li')].map((l) => l.textContent);",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(!codes.is_empty());
        assert_eq!(
            p.page.attr("#codes-done", "disabled").await.unwrap().as_deref(),
            Some("true")
        );
        p.page.click("#codes-saved").await.unwrap();
        p.page.click("#codes-done").await.unwrap();
        let enrolled = "return document.querySelector('#methods-list li[data-type=otp]') !== null \
            && Number(document.getElementById('score-value').textContent);";
        let score = p.page.wait_js("the app listed", enrolled, vec![]).await.unwrap();
        assert!(score.as_u64().unwrap() >= 50, "{score}");
        assert!(
            !p.page.visible_text().await.unwrap().contains(&secret),
            "the key is gone from the page"
        );

        // New backup codes: this session proved the password only, so the page asks for a
        // code first (a backup code here: the TOTP code of this time step is used up).
        p.page.click("#codes-regenerate").await.unwrap();
        p.page.wait_for("#stepup").await.unwrap();
        p.page.screenshot("account-step-up").await.unwrap();
        p.page.fill("#stepup-code", &codes[0]).await.unwrap();
        p.page.click("#stepup-submit").await.unwrap();
        p.page.wait_for("#codes-shown").await.unwrap();
        let fresh: Vec<String> = serde_json::from_value(
            p.page
                .js(
                    "return [...document.querySelectorAll('#codes-list li')].map((l) => l.textContent);",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(!fresh.is_empty());
        assert!(fresh.iter().all(|c| !codes.contains(c)), "a new set");
        p.page.screenshot("account-backup-codes").await.unwrap();
        p.page.click("#codes-saved").await.unwrap();
        p.page.click("#codes-done").await.unwrap();
        let gone = "return document.getElementById('codes-shown').hidden \
            && document.querySelectorAll('#codes-list li').length === 0;";
        p.page.wait_js("the codes hidden", gone, vec![]).await.unwrap();

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
        p.page.screenshot("account-narrow").await.unwrap();
    })
    .await;
}
