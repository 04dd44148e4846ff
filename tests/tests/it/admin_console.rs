//! The admin console (`/admin`, docs/admin.md) in real Chromium, as issue 14 walks it: the
//! administrator signs in through the hosted sign-in with an authenticator app (codes from
//! `oathtool`), creates a user, makes the sign-in policy require MFA (checked with the dry
//! run); the user signs in in another browser and must set up TOTP; the administrator sees the
//! factor and removes it, the consequences shown first (LG-11: only backup codes are left);
//! the user's next sign-in asks for a backup code, then a new factor with no Skip. The audit
//! log is exported as CSV. The same walk runs again with the browsers in Japanese, and no
//! English word may be left on the console's screens it visits (data — names, ids, scopes —
//! is marked `translate="no"` and not counted). Screenshots `admin-*.png` with
//! `TESSERA_SCREENSHOTS=1`.

use reqwest::Method;
use serde_json::{json, Value};
use tessera_e2e::browser::{with_two_pages_in, Page};
use tessera_e2e::{oathtool, Server, START};

use super::hosted_signin::{oathtool_ready, totp, Pages, PASSWORD};

/// Words the Japanese console may show in Latin letters: the product, and acronyms Japanese
/// admin consoles write so.
const ALLOWED: &[&str] = &[
    "Tessera", "TOTP", "MFA", "API", "SMS", "QR", "ID", "URI", "CSV", "emi", "root",
];

/// The console settled: its first call done, nothing under way.
pub(crate) const READY: &str = "return document.body.dataset.ready === '1' \
    && document.body.getAttribute('aria-busy') === 'false' ? location.pathname + location.hash : null;";

/// Goes to a screen of the console (a hash route) and waits until it has loaded.
pub(crate) async fn screen(page: &Page, hash: &str) {
    page.js(
        "document.body.dataset.ready = ''; location.hash = arguments[0];",
        vec![json!(hash)],
    )
    .await
    .unwrap();
    page.wait_js(&format!("the screen {hash}"), READY, vec![])
        .await
        .unwrap();
}

/// The visible text of the page outside data (`translate="no"`).
async fn words(page: &Page) -> String {
    let v = page
        .js(
            "const out = [];
             const walk = (n) => {
               if (n.nodeType === 3) { out.push(n.textContent); return; }
               if (n.nodeType !== 1) return;
               if (n.getAttribute('translate') === 'no' || n.tagName === 'SCRIPT') return;
               if (n.getClientRects().length === 0) return;
               for (const c of n.childNodes) walk(c);
             };
             walk(document.body);
             return out.join(' ');",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

/// In Japanese, no English word is left on the screen (file names like `server.md` aside).
async fn no_english(page: &Page, ja: bool, what: &str) {
    if !ja {
        return;
    }
    let text = words(page).await;
    let english: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic() && c != '.' && c != '/')
        .filter(|w| !w.ends_with(".md"))
        .flat_map(|w| w.split(['.', '/']))
        .filter(|w| w.len() >= 2 && !ALLOWED.contains(w))
        .collect();
    assert!(
        english.is_empty(),
        "{what}: English left on the Japanese page: {english:?}\n{text}"
    );
    assert!(
        text.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)),
        "{what}: the page is in Japanese: {text}"
    );
}

pub(crate) async fn admin_api(s: &Server, method: Method, path: &str) -> Value {
    let (st, v) = s.call(method, path, Some(&s.admin), None).await.unwrap();
    assert!((200..300).contains(&st), "{path}: {st} {v}");
    v
}

/// The walk; `ja`: the browsers ask for Japanese.
async fn walk(admin_page: Page, user_page: Page, ja: bool) {
    let shot = |name: &str| {
        if ja {
            format!("{name}-ja")
        } else {
            name.to_owned()
        }
    };
    let s = Server::bare(&[]).await.unwrap();
    let origin = s.origin.clone();
    // The first administrator, as `tessera-server admin user create --admin` makes one, with an
    // authenticator app (confirmed with the code of the step before START).
    let root = s
        .create_user(
            "root",
            json!({"username": "root", "password": PASSWORD, "groups": ["tessera-admins"]}),
        )
        .await
        .unwrap();
    let root_app = totp(&s, &root, START - 30).await.unwrap();

    // Not signed in: to the sign-in, which comes back to the console after the second factor.
    let a = Pages::new(admin_page, &origin);
    // Wide enough for the console's screenshots (360 px is checked at the end).
    a.page.client.set_window_size(1100, 900).await.unwrap();
    a.page.goto(&format!("{origin}/admin")).await.unwrap();
    a.identify("root").await;
    a.password(PASSWORD).await;
    a.at("verify:totp").await;
    a.code(&oathtool(&root_app.secret, START).unwrap()).await;
    let at = a.page.wait_js("the console", READY, vec![]).await.unwrap();
    assert!(at.as_str().unwrap().starts_with("/admin"), "{at}");
    assert_eq!(a.page.text("#admin-user").await.unwrap(), "root");
    let lang = a
        .page
        .js("return document.documentElement.lang;", vec![])
        .await
        .unwrap();
    assert_eq!(lang, json!(if ja { "ja" } else { "en" }));
    no_english(&a.page, ja, "users").await;

    // A new user.
    a.page.click("#users-new").await.unwrap();
    a.page.fill("#new-username", "emi").await.unwrap();
    a.page.fill("#new-password", PASSWORD).await.unwrap();
    no_english(&a.page, ja, "new user").await;
    a.page.click("#new-submit").await.unwrap();
    let hash = a
        .page
        .wait_js(
            "the new user's page",
            "return document.getElementById('user-title').textContent === 'emi' \
             && document.body.getAttribute('aria-busy') === 'false' ? location.hash : null;",
            vec![],
        )
        .await
        .unwrap();
    let emi = hash
        .as_str()
        .unwrap()
        .trim_start_matches("#user/")
        .to_owned();
    assert!(emi.starts_with("usr_"), "{emi}");

    // The policy: MFA required of everyone.
    screen(&a.page, "#policy").await;
    a.page
        .click("#p-global-mfa-mode option[value='required']")
        .await
        .unwrap();
    // A value the server refuses is marked where it was typed.
    a.page
        .click("#p-global-reauth-mode option[value='after_minutes']")
        .await
        .unwrap();
    a.page.fill("#p-global-reauth-minutes", "0").await.unwrap();
    a.page.click("#policy-save").await.unwrap();
    a.page
        .wait_for("#p-global-reauth-minutes[aria-invalid='true'] + .field-error")
        .await
        .unwrap();
    no_english(&a.page, ja, "policy field error").await;
    a.page.fill("#p-global-reauth-minutes", "15").await.unwrap();
    // A rule for the group `finance`: a chain of the password, then the authenticator app.
    a.page.click("#policy-add-rule").await.unwrap();
    a.page
        .fill("#p-rules-0-when-groups", "finance")
        .await
        .unwrap();
    a.page
        .click(".policy-block.rule .chains > button")
        .await
        .unwrap();
    a.page
        .wait_for("#p-rules-0-then-chains-0-steps-1-totp")
        .await
        .unwrap();
    let mode = a
        .page
        .js(
            "return document.getElementById('p-global-mfa-mode').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(mode, json!("required"));
    a.page.click("#policy-save").await.unwrap();
    a.page
        .wait_js(
            "version 1 saved",
            "return /1$/.test(document.getElementById('policy-version').textContent) || null;",
            vec![],
        )
        .await
        .unwrap();
    let p = admin_api(&s, Method::GET, "/api/v2/policies/sign-in").await;
    assert_eq!(p["policy"]["global"]["mfa"]["mode"], "required", "{p}");
    assert_eq!(p["policy"]["global"]["reauth"]["minutes"], 15, "{p}");
    let rule = &p["policy"]["rules"][0];
    assert_eq!(rule["when"]["groups"], json!(["finance"]), "{p}");
    assert_eq!(
        rule["then"]["chains"][0]["steps"],
        json!([{"any_of": [{"method": "password"}]}, {"any_of": [{"method": "totp"}]}]),
        "{p}"
    );
    assert!(p["author"].as_str().unwrap().starts_with("console:"), "{p}");
    no_english(&a.page, ja, "policy").await;
    a.page
        .js(
            "document.querySelector('.policy-block.rule .chains').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    a.page.screenshot(&shot("admin-policy")).await.unwrap();
    // What would emi need? MFA, and a factor set up first.
    a.page.fill("#dryrun-user", "emi").await.unwrap();
    a.page.click("#dryrun-submit").await.unwrap();
    a.page.wait_for("#dryrun-result dl").await.unwrap();
    let facts = a
        .page
        .js(
            "return [...document.querySelectorAll('#dryrun-result dd')].map((d) => d.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let yes = if ja { "はい" } else { "Yes" };
    assert_eq!(facts[1], json!(yes), "MFA required: {facts}");
    no_english(&a.page, ja, "dry run").await;
    if !ja {
        a.page.screenshot("admin-dry-run").await.unwrap();
    }

    // The user signs in (another browser) and must set up an authenticator app.
    let u = Pages::new(user_page, &origin);
    u.start(None, "emi").await;
    u.at("enroll:choose").await;
    let secret = u.enroll_totp(START, None).await;
    let codes = u.save_codes().await;
    u.codes_saved().await;
    assert_eq!(u.signed_in().await, "emi");

    // The administrator sees it, with its characteristics and last use.
    screen(&a.page, "#users").await;
    screen(&a.page, &format!("#user/{emi}")).await;
    a.page
        .wait_for("#factors-list li[data-type='otp']")
        .await
        .unwrap();
    let row = a
        .page
        .text("#factors-list li[data-type='otp']")
        .await
        .unwrap();
    let interaction = if ja {
        "ユーザー操作が必要"
    } else {
        "Needs the user to act"
    };
    assert!(row.contains(interaction), "{row}");
    assert!(!row.contains(&secret), "never the secret");
    no_english(&a.page, ja, "user").await;
    a.page
        .js(
            "document.getElementById('factors-title').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    a.page.screenshot(&shot("admin-user")).await.unwrap();

    // Removing it: what follows is shown before anything is removed.
    a.page
        .click("#factors-list li[data-type='otp'] button.remove")
        .await
        .unwrap();
    let required = a.page.wait_text("#remove-required").await.unwrap();
    let consequence = a.page.text("#remove-consequence").await.unwrap();
    if ja {
        assert!(required.contains("必須です"), "{required}");
        assert!(
            consequence.contains("バックアップコードだけが残ります"),
            "{consequence}"
        );
    } else {
        assert!(required.contains("requires MFA"), "{required}");
        assert!(
            consequence.contains("Only backup codes will be left"),
            "{consequence}"
        );
    }
    assert_eq!(
        admin_api(
            &s,
            Method::GET,
            &format!("/api/v2/users/{emi}/authentication-methods")
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["authenticator_type"] == "otp")
        .count(),
        1,
        "nothing removed before the confirmation"
    );
    no_english(&a.page, ja, "removal").await;
    a.page.screenshot(&shot("admin-remove")).await.unwrap();
    a.page.click("#remove-yes").await.unwrap();
    a.page
        .wait_js(
            "the factor gone",
            "return document.querySelector(\"#factors-list li[data-type='otp']\") === null \
             && document.getElementById('notice').textContent !== '';",
            vec![],
        )
        .await
        .unwrap();

    // LG-11: the user's next sign-in asks for a backup code, then a new factor, no Skip.
    u.sign_out().await;
    u.start(None, "emi").await;
    u.at("verify:recovery_code").await;
    u.code(&codes[0]).await;
    // The used set is replaced and shown once (saved already once: no second download).
    u.at("recovery-codes").await;
    u.page.click("#recovery-codes-saved").await.unwrap();
    u.codes_saved().await;
    u.at("enroll:choose").await;
    assert!(!u.shows("#enroll-skip").await, "MFA is required: no Skip");

    // The audit log: the removal under the administrator, exported as CSV.
    screen(&a.page, "#audit").await;
    a.page.fill("#audit-user", &emi).await.unwrap();
    a.page.click("#audit-submit").await.unwrap();
    a.page
        .wait_for("#audit-list li[data-type='delete']")
        .await
        .unwrap();
    no_english(&a.page, ja, "audit").await;
    a.page.screenshot(&shot("admin-audit")).await.unwrap();
    a.page.click("#audit-export").await.unwrap();
    let csv = a.page.download("tessera-audit.csv").await.unwrap();
    assert!(
        csv.starts_with("\"id\",\"time\",\"user_id\",\"type\""),
        "{csv}"
    );
    assert!(csv.contains("\"delete\""), "{csv}");

    // The other screens.
    for (hash, name) in [
        ("#orgs", "admin-orgs"),
        ("#groups", "admin-groups"),
        ("#apps", "admin-apps"),
        ("#tokens", "admin-tokens"),
        ("#settings", "admin-settings"),
    ] {
        screen(&a.page, hash).await;
        no_english(&a.page, ja, hash).await;
        if hash == "#settings" {
            // The factor settings in force (GET /api/v2/settings/factors), one field each.
            let n = a
                .page
                .js(
                    "return document.querySelectorAll('#settings-view [data-path]').length;",
                    vec![],
                )
                .await
                .unwrap();
            assert!(n.as_u64().unwrap() > 20, "the settings are listed: {n}");
            let digits = "#settings-view [data-path='totp.digits']";
            // A refused value is marked at its field; nothing changes.
            a.page.fill(digits, "13").await.unwrap();
            a.page.click("#settings-save").await.unwrap();
            a.page
                .wait_js(
                    "totp.digits marked invalid",
                    "const e = document.querySelector(arguments[0]);
                     return e && e.getAttribute('aria-invalid') === 'true'
                        && e.parentElement.querySelector('.field-error') ? true : null;",
                    vec![json!(digits)],
                )
                .await
                .unwrap();
            // A valid one is saved, in force, and marked as changed; then back to the file's.
            a.page.fill(digits, "8").await.unwrap();
            a.page.click("#settings-save").await.unwrap();
            a.page
                .wait_js(
                    "totp.digits saved as changed",
                    "const e = document.querySelector(arguments[0]);
                     return e && e.value === '8' && e.parentElement.querySelector('.badge') ? true : null;",
                    vec![json!(digits)],
                )
                .await
                .unwrap();
            no_english(&a.page, ja, hash).await;
            if !ja {
                a.page
                    .js(
                        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
                        vec![json!(digits)],
                    )
                    .await
                    .unwrap();
                a.page.screenshot("admin-settings").await.unwrap();
            }
            a.page.click("#settings-reset").await.unwrap();
            a.page
                .wait_js(
                    "totp.digits back to the file's value",
                    "const e = document.querySelector(arguments[0]);
                     return e && e.value === '6' && !e.parentElement.querySelector('.badge') ? true : null;",
                    vec![json!(digits)],
                )
                .await
                .unwrap();
        }
        if !ja && name == "admin-tokens" {
            a.page.screenshot(name).await.unwrap();
        }
    }

    // 360 px wide: nothing sticks out sideways.
    screen(&a.page, "#users").await;
    a.page.screenshot(&shot("admin-users")).await.unwrap();
    a.page.client.set_window_size(360, 800).await.unwrap();
    let overflow = a
        .page
        .js(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(0), "no horizontal scrolling at 360 px");
    if !ja {
        a.page.screenshot("admin-narrow").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_walk_in_english() {
    if !oathtool_ready() {
        return;
    }
    with_two_pages_in("en-US", |a, u| walk(a, u, false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_walk_in_japanese() {
    if !oathtool_ready() {
        return;
    }
    with_two_pages_in("ja", |a, u| walk(a, u, true)).await;
}
