//! The account center (`/account`, docs/account.md) in real Chromium: sent to the sign-in and
//! back, the security score, an authenticator app added with a code from `oathtool` (its backup
//! codes shown and saved), new backup codes after confirming it is you, and another session
//! ended; then (a server of its own, with a real SMTP server) a passkey made by WebDriver's
//! virtual authenticator, the desktop app enrolled by the `tessera` CLI's simulator from the
//! page's QR link while the page waits for it, and an email address confirmed by its code.
//! Screenshots `account-*.png` with `TESSERA_SCREENSHOTS=1`.

use anyhow::{Context as _, Result};
use serde_json::{json, Value};
use tessera_core::{Clock as _, SystemClock};
use tessera_e2e::browser::{english_words, with_page, with_page_in, VirtualAuthenticator};
use tessera_e2e::{oathtool, Server, START};
use tessera_server::testing::SmtpSink;

use super::cli_device::{ok, Cli};
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

        // Every control shown is named for a screen reader and reached by Tab.
        let problems = p.page.keyboard_and_label_problems().await.unwrap();
        assert!(problems.is_empty(), "{problems:#?}");

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

/// Whether `#id` is shown (not hidden by itself or a parent).
async fn shown(p: &Pages, css: &str) -> bool {
    p.page
        .js(
            "const e = document.querySelector(arguments[0]); return Boolean(e && e.offsetParent !== null);",
            vec![json!(css)],
        )
        .await
        .unwrap()
        == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_center_adds_a_passkey_the_desktop_app_and_an_email_address() {
    with_page(|page| async move {
        let dir = tempfile::tempdir().unwrap();
        let sink = SmtpSink::start(dir.path(), &[])
            .await
            .expect("python3-aiosmtpd");
        let s = Server::bare_with(
            &[],
            &format!(
                "\n[email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\n\
                 from = \"Tessera <no-reply@tessera.test>\"\n",
                sink.port
            ),
        )
        .await
        .unwrap();
        // The CLI signs its device requests with the system clock: run the server's at real time.
        s.clock.set(SystemClock.now_unix());
        s.user("acct-gil", Some(PASSWORD)).await.unwrap();
        // WebAuthn takes no IP address as relying party: the page is opened on localhost.
        let origin = format!("http://localhost:{}", s.port);
        let authenticator = page
            .add_authenticator(VirtualAuthenticator {
                resident_keys: true,
                user_verification: true,
            })
            .await
            .unwrap();
        let p = Pages::new(page, &origin);
        let ready = "return document.body.dataset.ready === '1' \
            && document.body.getAttribute('aria-busy') === 'false' ? location.pathname : null;";
        p.page.goto(&format!("{origin}/account")).await.unwrap();
        p.identify("acct-gil").await;
        p.password(PASSWORD).await;
        p.page
            .wait_js("the account page", ready, vec![])
            .await
            .unwrap();

        // A passkey: no factor yet, so no step-up; the browser's authenticator makes it.
        p.page.click("#passkey-add").await.unwrap();
        let listed =
            "return document.querySelector('#methods-list li[data-type=passkey]') !== null \
            && document.getElementById('notice').textContent;";
        let said = p
            .page
            .wait_js("the passkey listed", listed, vec![])
            .await
            .unwrap();
        assert_eq!(said, json!("The passkey is added."));
        let held = p.page.credentials(&authenticator).await.unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0]["rpId"], "localhost");
        p.page.screenshot("account-passkey").await.unwrap();

        // The desktop app: now the user has a factor and this session proved a password only,
        // so the page asks to confirm; with no code to type, the user signs in again with the
        // passkey and comes back.
        p.page.click("#device-add").await.unwrap();
        let why = p.page.wait_text("#stepup-text").await.unwrap();
        assert!(why.contains("Sign out and sign in again"), "{why}");
        p.page.click("#stepup-cancel").await.unwrap();
        p.page.click("#sign-out").await.unwrap();
        p.identify("acct-gil").await;
        p.password(PASSWORD).await;
        p.at("verify:passkey").await;
        p.page.click("#passkey-start").await.unwrap();
        p.page
            .wait_js("the account page", ready, vec![])
            .await
            .unwrap();

        p.page.click("#device-add").await.unwrap();
        let qr = "const i = document.getElementById('device-qr'); \
            return i.complete && i.naturalWidth > 0;";
        p.page
            .wait_js("the device QR code", qr, vec![])
            .await
            .unwrap();
        let waiting = p.page.text("#device-status").await.unwrap();
        assert!(waiting.starts_with("Waiting for your device"), "{waiting}");
        p.page.screenshot("account-device").await.unwrap();
        let link = p
            .page
            .attr("#device-link", "href")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(link.starts_with("tessera://enroll?"), "{link}");
        // The `tessera` CLI's device simulator enrolls from the link, as the app does.
        let out = tokio::task::spawn_blocking(move || {
            Cli::new().run(&["device", "enroll", &link, "--json", "--name", "gil-laptop"])
        })
        .await
        .unwrap();
        let enrolled: Value = serde_json::from_str(ok(&out).trim()).unwrap();
        assert_eq!(
            enrolled["user"], "acct-gil",
            "the offer is the signed-in user's"
        );
        assert_eq!(enrolled["paired_totp"], true);
        let done = "const t = document.getElementById('device-status').textContent; \
            return t.includes('gil-laptop') \
              && document.querySelector('#methods-list li[data-type=oob]') !== null ? t : null;";
        let status = p
            .page
            .wait_js("the device set up", done, vec![])
            .await
            .unwrap();
        assert_eq!(
            status,
            json!("gil-laptop is set up. It can now approve your sign-ins.")
        );
        assert_eq!(
            p.page.attr("#device-qr", "src").await.unwrap(),
            None,
            "the QR code is gone"
        );
        p.page.click("#device-cancel").await.unwrap();

        // An email address: a code to the new address (the real SMTP server), typed here.
        assert_eq!(p.page.text("#contact-email").await.unwrap(), "None");
        p.page.click("#email-add").await.unwrap();
        p.page
            .fill("#contact-value", "gil@example.com")
            .await
            .unwrap();
        p.page.click("#contact-send").await.unwrap();
        let sent = p.page.wait_text("#contact-sent").await.unwrap();
        assert!(sent.contains("gi***@example.com"), "{sent}");
        let mail = sink.mail(1).await;
        assert_eq!(mail["to"], "gil@example.com");
        let (code, _) = SmtpSink::code_and_link(&mail);
        // Pending: listed as not confirmed, with a way back to the code.
        assert!(shown(&p, "#methods-list li[data-type=oob] button.resume").await);
        p.page.screenshot("account-email").await.unwrap();
        p.page.fill("#contact-code", &code).await.unwrap();
        p.page.click("#contact-confirm").await.unwrap();
        let changed =
            "return document.getElementById('contact-email').textContent === 'gil@example.com' \
            && document.getElementById('notice').textContent;";
        let said = p
            .page
            .wait_js("the address changed", changed, vec![])
            .await
            .unwrap();
        assert_eq!(said, json!("Your email address is now gil@example.com."));
        assert!(!shown(&p, "#contact-setup").await);
        assert!(
            shown(&p, "#methods-list li[data-id^='email|']").await,
            "the address is a sign-in method"
        );
        assert!(
            !shown(&p, "#methods-list button.resume").await,
            "nothing pending"
        );
        assert!(!p.page.visible_text().await.unwrap().contains(&code));

        // 360 px wide with the new methods listed and the address form open: nothing sticks out.
        p.page.client.set_window_size(360, 800).await.unwrap();
        p.page.click("#email-add").await.unwrap();
        p.page.wait_for("#contact-value").await.unwrap();
        let overflow = p
            .page
            .js(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, json!(0), "no horizontal scrolling at 360 px");
    })
    .await;
}

/// The page's visible text without its data: the user name, the authenticators' names, a key
/// and backup codes shown once.
async fn page_words(p: &Pages) -> String {
    let v = p
        .page
        .js(
            "let t = document.body.innerText;
             const data = [...document.querySelectorAll('#account-user, #totp-secret, #codes-list li, #methods-list .name')];
             for (const e of data) if (e.innerText) t = t.split(e.innerText).join(' ');
             return t;",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

/// The account center in Japanese (`Accept-Language: ja`): no English word is left on the page,
/// in its panels, its messages or an error; the language switcher saves the user's choice,
/// which then wins over the browser's language, and switches back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_center_in_japanese_has_no_english_left_and_saves_the_language() {
    if !oathtool_ready() {
        return;
    }
    with_page_in("ja", |page| async move {
        let h = hosted();
        let origin = h.origin().to_owned();
        h.run(|s| async move { user(s, "acct-jun").await }).await;
        let p = Pages::new(page, h.origin());
        // Product and browser names, and the names of the languages in the switcher.
        let allowed = ["Tessera", "English", "SMS", "PIN", "Chrome", "Linux"];
        let no_english = |at: &'static str, text: String| {
            let left = english_words(&text, &allowed);
            assert!(left.is_empty(), "English left at {at}: {left:?} in {text}");
        };
        let ready = "return document.body.dataset.ready === '1' \
            && document.body.getAttribute('aria-busy') === 'false' ? document.documentElement.lang : null;";

        p.page.goto(&format!("{origin}/account")).await.unwrap();
        p.identify("acct-jun").await;
        p.password(PASSWORD).await;
        let lang = p.page.wait_js("the account page", ready, vec![]).await.unwrap();
        assert_eq!(lang, json!("ja"));
        let text = page_words(&p).await;
        for heading in ["セキュリティ", "サインイン方法", "バックアップコード", "最近のアクティビティ"] {
            assert!(text.contains(heading), "{heading} in {text}");
        }
        no_english("the overview", text);
        p.page.screenshot("account-ja").await.unwrap();

        // An authenticator app: its panel, then its backup codes, in Japanese.
        p.page.click("#totp-add").await.unwrap();
        let secret = p.page.wait_text("#totp-secret").await.unwrap();
        no_english("the authenticator app's panel", page_words(&p).await);
        let code = oathtool(&secret, START).unwrap();
        p.page.fill("#totp-code", &code).await.unwrap();
        p.page.click("#totp-submit").await.unwrap();
        p.page.wait_for("#codes-shown").await.unwrap();
        let said = p.page.wait_text("#notice").await.unwrap();
        assert_eq!(said, "認証アプリを追加しました。");
        no_english("the backup codes", page_words(&p).await);
        p.page.click("#codes-saved").await.unwrap();
        p.page.click("#codes-done").await.unwrap();

        // A change that needs a fresh second factor: the step-up panel, and a wrong code's
        // error, in Japanese.
        p.page.click("#device-add").await.unwrap();
        p.page.wait_for("#stepup").await.unwrap();
        p.page.fill("#stepup-code", "000000").await.unwrap();
        p.page.click("#stepup-submit").await.unwrap();
        let e = p.page.wait_text("#error").await.unwrap();
        assert!(e.contains("もう一度お試しください"), "{e}");
        no_english("the step-up and its error", page_words(&p).await);
        p.page.click("#stepup-cancel").await.unwrap();

        // The switcher saves English as the user's language: it wins over Accept-Language: ja.
        p.page.click("#languages a[data-lang='en']").await.unwrap();
        let en = "return document.documentElement.lang === 'en' \
            && document.body.dataset.ready === '1' ? document.getElementById('methods-title').textContent : null;";
        let title = p.page.wait_js("the page in English", en, vec![]).await.unwrap();
        assert_eq!(title, json!("Sign-in methods"));
        let saved = p
            .page
            .js(
                "return fetch('/account/api/overview').then((r) => r.json()).then((v) => v.user.locale);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(saved, json!("en"));
        p.page.click("#languages a[data-lang='ja']").await.unwrap();
        p.page
            .wait_js(
                "the page in Japanese again",
                "return document.documentElement.lang === 'ja' && document.body.dataset.ready === '1';",
                vec![],
            )
            .await
            .unwrap();
    })
    .await;
}
