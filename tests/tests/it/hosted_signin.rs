//! The hosted sign-in pages (`/signin`, docs/signin.md) in real Chromium, one test per seed
//! scenario of the sign-in policy (docs/policies.md): each drives the page as a person would —
//! typing, clicking, reading what it shows — while the test plays the administrator through the
//! management API and the phone through a virtual device.
//!
//! Most tests share one server ([`hosted`]) whose policy is set once, before any of them runs,
//! with one rule per scenario matching one application ([`SCENARIOS`]): each test starts the
//! page with `?client_id=` of its application and uses users of its own, so they run in
//! parallel, and no test changes the policy under another (a new policy version would make the
//! others' users "existing users", LG-3). Tests that move the clock (OK-5/OK-6, IBM-4) have a
//! server of their own. Without chromedriver and chromium the tests print `SKIPPED` and pass,
//! except in CI (`tessera_e2e::browser`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, ensure, Context as _, Result};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_client::{EnrollOptions, VirtualDevice};
use tessera_core::Clock as _;
use tessera_e2e::browser::{english_words, on_path, with_page, with_page_in, Page};
use tessera_e2e::{oathtool, Server, START};

/// Every test user's password.
pub(super) const PASSWORD: &str = "correct horse battery staple";

/// The shared server's rules: (scenario, the rule's `then`). Each gets an application of its
/// own, named after the scenario, that the rule matches.
const SCENARIOS: &[(&str, &str)] = &[
    ("LG-2", r#"{"mfa": {"mode": "required"}}"#),
    (
        "LG-3",
        r#"{"mfa": {"mode": "optional", "prompt": "after_registration"}}"#,
    ),
    (
        "LG-4",
        r#"{"mfa": {"mode": "optional", "prompt": "after_registration"}}"#,
    ),
    ("LG-7", r#"{"mfa": {"mode": "optional"}}"#),
    ("LG-11 required", r#"{"mfa": {"mode": "required"}}"#),
    ("LG-11 optional", r#"{"mfa": {"mode": "optional"}}"#),
    // OK-1/OK-3/OK-4: two chains; the first method chosen selects one.
    (
        "OK-1",
        r#"{"mfa": {"mode": "optional"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]},
                       {"any_of": [{"method": "totp"}, {"method": "push"}]}]},
            {"steps": [{"any_of": [{"method": "push"}]},
                       {"any_of": [{"method": "password"}]}]}]}"#,
    ),
    (
        "IBM-1",
        r#"{"mfa": {"mode": "required"}, "no_factor": "deny"}"#,
    ),
];

/// The server the tests without a clock of their own share, with its policy in force.
pub(super) struct Hosted {
    server: Server,
    // The runtime every call to `server` runs on: its HTTP client's pooled connections live on
    // the runtime that opened them, and each test has a runtime of its own that ends with it.
    runtime: tokio::runtime::Handle,
    apps: HashMap<&'static str, String>,
}

/// The shared server, started (with its applications and policy) at the first call.
pub(super) fn hosted() -> &'static Hosted {
    static HOSTED: OnceLock<Hosted> = OnceLock::new();
    HOSTED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let made = rt.block_on(async {
                let server = Server::bare(&[]).await?;
                // The server lives as long as the binary: its files go when the binary does.
                if let Some(dir) = server
                    .config
                    .database
                    .path
                    .as_ref()
                    .and_then(|p| p.parent())
                {
                    tessera_e2e::remove_at_exit(dir)?;
                }
                let mut apps = HashMap::new();
                let mut rules = Vec::new();
                for (scenario, then) in SCENARIOS {
                    let client_id = application(&server, scenario).await?;
                    let then: Value = serde_json::from_str(then)?;
                    rules.push(
                        json!({"name": scenario, "when": {"applications": [client_id]},
                                      "then": then}),
                    );
                    apps.insert(*scenario, client_id);
                }
                set_policy(
                    &server,
                    json!({"global": {"mfa": {"mode": "optional"}}, "rules": rules}),
                )
                .await?;
                anyhow::Ok((server, apps))
            });
            let _ = tx.send((rt.handle().clone(), made));
            // Keep the runtime (and the server's connections) for the rest of the binary.
            rt.block_on(std::future::pending::<()>());
        });
        let (runtime, made) = rx.recv().expect("the shared server's thread answers");
        let (server, apps) = made.unwrap_or_else(|e| panic!("the shared server: {e:#}"));
        Hosted {
            server,
            runtime,
            apps,
        }
    })
}

impl Hosted {
    /// The server's origin.
    pub(super) fn origin(&self) -> &str {
        &self.server.origin
    }

    /// The client id of the application of `scenario`'s rule.
    pub(super) fn app(&self, scenario: &str) -> &str {
        self.apps
            .get(scenario)
            .unwrap_or_else(|| panic!("no application for {scenario}"))
    }

    /// Runs `f` with the server on the server's runtime.
    pub(super) async fn run<T, F, Fut>(&'static self, f: F) -> T
    where
        F: FnOnce(&'static Server) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime
            .spawn(f(&self.server))
            .await
            .expect("the call on the shared server's runtime ends")
            .unwrap_or_else(|e| panic!("{e:#}"))
    }
}

// ---- the administrator's side: the management API

/// A management call that must answer `want`; its JSON body.
async fn admin(
    s: &Server,
    method: Method,
    path: &str,
    body: Option<Value>,
    want: u16,
) -> Result<Value> {
    let (st, v) = s.call(method.clone(), path, Some(&s.admin), body).await?;
    ensure!(st == want, "{method} {path}: {st} {v} (expected {want})");
    Ok(v)
}

/// Registers an application named after `scenario`; its client id.
async fn application(s: &Server, scenario: &str) -> Result<String> {
    let v = admin(
        s,
        Method::POST,
        "/api/v2/applications",
        Some(
            json!({"name": format!("Payroll ({scenario})"), "type": "public",
                    "redirect_uris": ["https://payroll.example/callback"]}),
        ),
        201,
    )
    .await?;
    v["client_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no client_id in {v}"))
}

/// Replaces the sign-in policy.
pub(super) async fn set_policy(s: &Server, policy: Value) -> Result<()> {
    admin(
        s,
        Method::PUT,
        "/api/v2/policies/sign-in",
        Some(policy),
        200,
    )
    .await?;
    Ok(())
}

/// A user with [`PASSWORD`]; its id.
pub(super) async fn user(s: &Server, name: &str) -> Result<String> {
    s.user(name, Some(PASSWORD)).await
}

/// A TOTP authenticator the administrator enrolled for a user and confirmed with a code of
/// `at`: its id, its secret and the backup codes it came with.
pub(super) struct Totp {
    pub id: String,
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// Enrolls a TOTP for `user_id` and confirms it with the code of `at`.
pub(super) async fn totp(s: &Server, user_id: &str, at: u64) -> Result<Totp> {
    let path = format!("/api/v2/users/{user_id}/authentication-methods");
    let v = admin(s, Method::POST, &path, Some(json!({"type": "totp"})), 201).await?;
    let secret = v["secret"].as_str().context("secret")?.to_owned();
    let code = oathtool(&secret, at)?;
    admin(
        s,
        Method::POST,
        &format!("/api/v2/users/{user_id}/otp-verification"),
        Some(json!({"otp": code})),
        200,
    )
    .await?;
    let recovery_codes = v["recovery_codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(Totp {
        id: v["id"].as_str().context("id")?.to_owned(),
        secret,
        recovery_codes,
    })
}

/// The user's authenticators (`GET …/authentication-methods`).
async fn factors(s: &Server, user_id: &str) -> Result<Vec<Value>> {
    let path = format!("/api/v2/users/{user_id}/authentication-methods");
    let v = admin(s, Method::GET, &path, None, 200).await?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

/// A connected virtual device (its push and its paired TOTP) for `user`, and the TOTP's secret.
pub(super) async fn device(s: &Server, user: &str) -> Result<(VirtualDevice, String)> {
    let device = s.device(user, "phone").await?;
    let uri = device
        .device()
        .enrollment()
        .otp_uri
        .clone()
        .context("the device's paired TOTP")?;
    let secret = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .context("secret= in the otpauth URI")?
        .to_owned();
    Ok((device, secret))
}

/// Whether oathtool is there (else the test is skipped, or fails in CI).
pub(super) fn oathtool_ready() -> bool {
    tessera_core::testing::prerequisite(
        on_path("oathtool").is_some(),
        "oathtool (apt-get install oathtool)",
    )
}

// ---- the user's side: the pages

/// The step the page shows, once no call is under way: `identifier`, `verify:<method>`,
/// `enroll:choose`, `enroll:totp`, `recovery-codes`, `done`, `signed-out`, `denied`, `expired`.
const STEP: &str = "
    if (document.body.getAttribute('aria-busy')) return null;
    const s = [...document.querySelectorAll('main > section')].find((x) => !x.hidden);
    if (!s || s.id === 'step-loading') return null;
    const n = s.id.slice(5);
    return s.dataset.detail ? n + ':' + s.dataset.detail : n;";

/// The sign-in pages of one server, in one browser.
pub(super) struct Pages {
    pub page: Page,
    origin: String,
}

impl Pages {
    pub(super) fn new(page: Page, origin: &str) -> Pages {
        Pages {
            page,
            origin: origin.to_owned(),
        }
    }

    /// Opens `/signin`, for an application or (`None`) the account pages.
    pub(super) async fn open(&self, client_id: Option<&str>) {
        let url = match client_id {
            Some(id) => format!("{}/signin?client_id={id}", self.origin),
            None => format!("{}/signin", self.origin),
        };
        self.page.goto(&url).await.unwrap();
    }

    /// The step shown, once the page is settled.
    pub(super) async fn step(&self) -> String {
        let v = self.page.wait_js("a step", STEP, vec![]).await.unwrap();
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the page shows `want`.
    pub(super) async fn at(&self, want: &str) {
        let script = format!("{STEP}\n").replace(
            "return s.dataset.detail ? n + ':' + s.dataset.detail : n;",
            "const cur = s.dataset.detail ? n + ':' + s.dataset.detail : n;
             return cur === arguments[0] ? cur : null;",
        );
        self.page
            .wait_js(&format!("the step `{want}`"), &script, vec![json!(want)])
            .await
            .unwrap();
    }

    /// Types the identifier.
    pub(super) async fn identify(&self, name: &str) {
        self.at("identifier").await;
        self.page.fill("#identifier", name).await.unwrap();
        self.page.click("#identifier-submit").await.unwrap();
    }

    /// Types the password (the page must ask for it).
    pub(super) async fn password(&self, password: &str) {
        self.at("verify:password").await;
        self.page.fill("#password", password).await.unwrap();
        self.page.click("#password-submit").await.unwrap();
    }

    /// Opens the page and signs in up to the second step: identifier and [`PASSWORD`].
    pub(super) async fn start(&self, client_id: Option<&str>, name: &str) {
        self.open(client_id).await;
        self.identify(name).await;
        self.password(PASSWORD).await;
    }

    /// The methods offered: the one asked now, then "verify another way"'s list in its order.
    pub(super) async fn offered(&self) -> Vec<String> {
        let v = self
            .page
            .js(
                "return [document.getElementById('step-verify').dataset.detail,
                    ...[...document.querySelectorAll('#other-ways-list button')]
                        .map((b) => b.dataset.method)];",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(v).unwrap()
    }

    /// "Verify another way" → `method` (nothing when it is the one asked already).
    pub(super) async fn choose(&self, method: &str) {
        if self.offered().await.first().map(String::as_str) != Some(method) {
            self.page.click("#other-ways").await.unwrap();
            self.page.click(&format!("#choose-{method}")).await.unwrap();
        }
        self.at(&format!("verify:{method}")).await;
    }

    /// Types a code (TOTP or backup code, as the page asks) and submits it.
    pub(super) async fn code(&self, code: &str) {
        self.page.fill("#code", code).await.unwrap();
        self.page.click("#code-submit").await.unwrap();
    }

    /// The push's number once the page shows it; the device's challenge for it.
    pub(super) async fn push(
        &self,
        device: &VirtualDevice,
    ) -> (u32, tessera_core::device::wire::PushChallenge) {
        self.at("verify:push").await;
        let shown = self.page.wait_text("#push-number").await.unwrap();
        let number = shown
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("the page shows a number, not {shown:?}: {e}"));
        let c = device
            .next_challenge(Duration::from_secs(10))
            .await
            .unwrap();
        (number, c)
    }

    /// The error line's text, once it shows one.
    pub(super) async fn error(&self) -> String {
        self.page.wait_text("#error").await.unwrap()
    }

    /// Chooses TOTP set-up, reads the secret the page shows, types its code at `now`; the secret.
    /// `screenshot`: the name of the set-up's screenshot ([`Page::screenshot`]).
    pub(super) async fn enroll_totp(&self, now: u64, screenshot: Option<&str>) -> String {
        self.at("enroll:choose").await;
        self.page.click("#enroll-method-totp").await.unwrap();
        self.at("enroll:totp").await;
        let secret = self
            .page
            .attr("#totp-secret", "data-secret")
            .await
            .unwrap()
            .expect("the page shows the secret");
        // The QR code is drawn from the API's SVG as an image: it must decode as one.
        let qr = self
            .page
            .js(
                "const i = document.getElementById('totp-qr');
                 return [i.src.startsWith('data:image/svg+xml;'), i.complete && i.naturalWidth > 0];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(qr, json!([true, true]), "the QR image loads");
        let shown = self.page.text("#totp-secret").await.unwrap();
        assert_eq!(
            shown.replace(' ', ""),
            secret,
            "the key shown is the secret"
        );
        if let Some(name) = screenshot {
            self.page.screenshot(name).await.unwrap();
        }
        self.page
            .fill("#totp-code", &oathtool(&secret, now).unwrap())
            .await
            .unwrap();
        self.page.click("#totp-submit").await.unwrap();
        secret
    }

    /// LG-6: the backup codes shown, downloadable, and "saved" required before continuing.
    pub(super) async fn save_codes(&self) -> Vec<String> {
        self.at("recovery-codes").await;
        let codes: Vec<String> = serde_json::from_value(
            self.page
                .js(
                    "return [...document.querySelectorAll('#recovery-codes-list li')]
                        .map((li) => li.textContent);",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(!codes.is_empty(), "backup codes are shown");
        let continue_enabled = |p: &Page| {
            let p = p.clone();
            async move {
                p.js(
                    "return !document.getElementById('recovery-codes-continue').disabled;",
                    vec![],
                )
                .await
                .unwrap()
            }
        };
        assert_eq!(
            continue_enabled(&self.page).await,
            json!(false),
            "Continue waits for the saved box"
        );
        self.page.click("#recovery-codes-download").await.unwrap();
        let file = self
            .page
            .download("tessera-backup-codes.txt")
            .await
            .unwrap();
        for c in &codes {
            assert!(file.contains(c.as_str()), "{c} is in the download: {file}");
        }
        self.page.click("#recovery-codes-saved").await.unwrap();
        assert_eq!(continue_enabled(&self.page).await, json!(true));
        codes
    }

    /// Continues after [`Pages::save_codes`].
    pub(super) async fn codes_saved(&self) {
        self.page.click("#recovery-codes-continue").await.unwrap();
    }

    /// Waits for the signed-in page; the user it names.
    pub(super) async fn signed_in(&self) -> String {
        self.at("done").await;
        self.page.text("#done-user").await.unwrap()
    }

    /// Signs out from the signed-in page.
    pub(super) async fn sign_out(&self) {
        self.page.click("#sign-out").await.unwrap();
        self.at("signed-out").await;
    }

    /// Whether the element is displayed.
    pub(super) async fn shows(&self, css: &str) -> bool {
        self.page
            .js(
                "const e = document.querySelector(arguments[0]); return Boolean(e && e.offsetParent !== null);",
                vec![json!(css)],
            )
            .await
            .unwrap()
            == json!(true)
    }
}

// ---- the scenarios

/// QR login as a method of the flow: after the password, "verify another way" → the QR code;
/// the code is read from the page's pixels by an independent decoder (`zbarimg`), the user's
/// device approves it, and the page is signed in with `qr_login` proven.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_login_shown_by_the_page_is_scanned_and_approved() {
    if !tessera_core::testing::prerequisite(
        on_path("zbarimg").is_some(),
        "zbarimg (apt-get install zbar-tools)",
    ) {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let (device, _) = h
            .run(|s| async move {
                user(s, "qr-ida").await?;
                device(s, "qr-ida").await
            })
            .await;
        let p = Pages::new(page, h.origin());
        p.start(Some(h.app("LG-7")), "qr-ida").await;
        p.step().await;
        assert!(p.offered().await.contains(&"qr_login".to_owned()));
        p.choose("qr_login").await;
        p.page
            .wait_for("#qr-img[data-link^='tessera://qr-login']")
            .await
            .unwrap();
        // Scan the screen as the app would: zbarimg decodes the page's pixels.
        let dir = tempfile::tempdir().unwrap();
        let shot = dir.path().join("page.png");
        std::fs::write(&shot, p.page.png().await.unwrap()).unwrap();
        let out = std::process::Command::new("zbarimg")
            .args(["--quiet", "--raw"])
            .arg(&shot)
            .output()
            .unwrap();
        let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(
            link.starts_with("tessera://qr-login?"),
            "zbarimg read {link:?}"
        );
        let shown = p.page.attr("#qr-img", "data-link").await.unwrap();
        assert_eq!(Some(link.clone()), shown, "the QR encodes the flow's link");
        device
            .qr_login(&link, tessera_core::device::Decision::Approve)
            .await
            .unwrap();
        assert_eq!(p.signed_in().await, "qr-ida");
    })
    .await;
}

/// LG-2 (with LG-6): MFA required, a user with no factor must set one up before getting in —
/// TOTP from the secret the page shows, then the backup codes, "saved" ticked before Continue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg2_required_mfa_forces_totp_set_up_then_backup_codes() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let id = h.run(|s| async move { user(s, "lg2-ann").await }).await;
        let p = Pages::new(page, h.origin());
        p.start(Some(h.app("LG-2")), "lg2-ann").await;
        p.at("enroll:choose").await;
        assert!(
            !p.shows("#enroll-skip").await,
            "required set-up has no Skip"
        );
        let app = p.page.text("#app").await.unwrap();
        assert!(app.contains("Payroll (LG-2)"), "{app}");
        let secret = p.enroll_totp(START, Some("signin-enroll-totp")).await;
        p.save_codes().await;
        p.page.screenshot("signin-recovery-codes").await.unwrap();
        p.codes_saved().await;
        assert_eq!(p.signed_in().await, "lg2-ann");

        // The administrator sees the authenticator the user set up, active.
        let list = h.run(move |s| async move { factors(s, &id).await }).await;
        assert!(
            list.iter()
                .any(|f| f["authenticator_type"] == "otp" && f["active"] == true),
            "an active TOTP: {list:?}"
        );
        assert!(!secret.is_empty());
    })
    .await;
}

/// The page's visible text without what is data, not the page's words: the application's and
/// the user's names, the TOTP key, the backup codes.
async fn page_words(p: &Pages) -> String {
    let v = p
        .page
        .js(
            "let t = document.body.innerText;
             for (const id of ['app', 'verify-who', 'done-user', 'totp-secret', 'recovery-codes-list']) {
               const e = document.getElementById(id);
               if (e && e.innerText) t = t.split(e.innerText).join(' ');
             }
             return t;",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

/// LG-2 in Japanese (`Accept-Language: ja`): every step the walk shows — identifier, password,
/// error, set-up, backup codes, signed in — has no English word left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg2_in_japanese_every_step_is_japanese() {
    if !oathtool_ready() {
        return;
    }
    with_page_in("ja", |page| async move {
        let h = hosted();
        h.run(|s| async move { user(s, "lg2-jun").await }).await;
        let p = Pages::new(page, h.origin());
        let no_english = |step: &'static str, text: String| {
            let left = english_words(
                &text,
                &[
                    "Tessera",
                    "TOTP",
                    "QR",
                    "JavaScript",
                    "txt",
                    "English",
                    "PIN",
                ],
            );
            assert!(
                left.is_empty(),
                "English left at {step}: {left:?} in {text}"
            );
        };
        p.open(Some(h.app("LG-2"))).await;
        p.at("identifier").await;
        assert_eq!(
            p.page
                .js("return document.documentElement.lang;", vec![])
                .await
                .unwrap(),
            json!("ja")
        );
        no_english("identifier", page_words(&p).await);
        p.identify("lg2-jun").await;
        p.at("verify:password").await;
        no_english("password", page_words(&p).await);
        // A wrong password: the error is Japanese too (the catalogue's, by its code).
        p.page.fill("#password", "not the password").await.unwrap();
        p.page.click("#password-submit").await.unwrap();
        let e = p.error().await;
        no_english("error", e.clone());
        assert!(e.contains("正しくありません"), "{e}");
        p.password(PASSWORD).await;
        p.at("enroll:choose").await;
        no_english("enroll", page_words(&p).await);
        p.page.screenshot("signin-enroll-ja").await.unwrap();
        p.page.click("#enroll-method-totp").await.unwrap();
        p.at("enroll:totp").await;
        no_english("totp", page_words(&p).await);
        let secret = p
            .page
            .attr("#totp-secret", "data-secret")
            .await
            .unwrap()
            .unwrap();
        p.page
            .fill("#totp-code", &oathtool(&secret, START).unwrap())
            .await
            .unwrap();
        p.page.click("#totp-submit").await.unwrap();
        p.at("recovery-codes").await;
        no_english("backup codes", page_words(&p).await);
        p.page.click("#recovery-codes-download").await.unwrap();
        let file = p.page.download("tessera-backup-codes.txt").await.unwrap();
        assert!(
            file.starts_with("lg2-jun の Tessera バックアップコード"),
            "{file}"
        );
        p.page.click("#recovery-codes-saved").await.unwrap();
        p.codes_saved().await;
        assert_eq!(p.signed_in().await, "lg2-jun");
        no_english("done", page_words(&p).await);
    })
    .await;
}

/// LG-3: prompt `after_registration` — not at the first sign-in, shown at the second and
/// skipped, never shown again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg3_prompt_after_registration_shown_once_then_skipped_for_good() {
    with_page(|page| async move {
        let h = hosted();
        let id = h.run(|s| async move { user(s, "lg3-bea").await }).await;
        let p = Pages::new(page, h.origin());
        let app = Some(h.app("LG-3"));

        p.start(app, "lg3-bea").await;
        assert_eq!(
            p.signed_in().await,
            "lg3-bea",
            "no prompt at the first sign-in"
        );
        p.sign_out().await;

        p.start(app, "lg3-bea").await;
        p.at("enroll:choose").await;
        assert!(p.shows("#enroll-skip").await, "the prompt can be skipped");
        p.page.click("#enroll-skip").await.unwrap();
        assert_eq!(p.signed_in().await, "lg3-bea");
        p.sign_out().await;

        p.start(app, "lg3-bea").await;
        assert_eq!(
            p.signed_in().await,
            "lg3-bea",
            "a skipped prompt is not shown again"
        );
        let v = h
            .run(move |s| async move {
                admin(s, Method::GET, &format!("/api/v2/users/{id}"), None, 200).await
            })
            .await;
        assert_eq!(v["mfa_prompt_skipped"], true, "{v}");
    })
    .await;
}

/// LG-4: the administrator resets the skipped prompt (`PATCH /api/v2/users/{id}`
/// `{"mfa_prompt_skipped": false}`) and the prompt comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg4_reset_skip_brings_the_prompt_back() {
    with_page(|page| async move {
        let h = hosted();
        let id = h.run(|s| async move { user(s, "lg4-cy").await }).await;
        let p = Pages::new(page, h.origin());
        let app = Some(h.app("LG-4"));

        p.start(app, "lg4-cy").await;
        p.signed_in().await;
        p.sign_out().await;
        p.start(app, "lg4-cy").await;
        p.at("enroll:choose").await;
        p.page.click("#enroll-skip").await.unwrap();
        p.signed_in().await;
        p.sign_out().await;

        h.run(move |s| async move {
            admin(
                s,
                Method::PATCH,
                &format!("/api/v2/users/{id}"),
                Some(json!({"mfa_prompt_skipped": false})),
                200,
            )
            .await
        })
        .await;
        p.start(app, "lg4-cy").await;
        p.at("enroll:choose").await;
        assert!(
            p.shows("#enroll-skip").await,
            "the prompt is back, skippable"
        );
    })
    .await;
}

/// LG-5: a member of an organization that requires MFA is forced to set it up (no Skip), on
/// the account pages (no application) — here with the Tessera app: the page shows the
/// enrollment QR code and link, the device enrolls with it, and the page goes on to that
/// device's first push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg5_organization_requiring_mfa_forces_its_member() {
    with_page(|page| async move {
        let h = hosted();
        h.run(|s| async move { s.user_requiring_mfa("lg5-dan", PASSWORD).await })
            .await;
        let p = Pages::new(page, h.origin());
        p.start(None, "lg5-dan").await;
        p.at("enroll:choose").await;
        assert!(
            !p.shows("#enroll-skip").await,
            "no Skip for a required set-up"
        );
        assert!(
            !p.shows("#app").await,
            "the account pages name no application"
        );
        p.page.click("#enroll-method-push").await.unwrap();
        p.at("enroll:push").await;
        let link = p
            .page
            .attr("#device-link", "data-link")
            .await
            .unwrap()
            .expect("the enrollment link is on the page");
        assert!(link.starts_with("tessera://enroll?"), "{link}");
        let device = h
            .run(move |s| async move {
                let options = EnrollOptions {
                    device_name: "laptop".into(),
                    platform: "test".into(),
                    ..EnrollOptions::default()
                };
                Ok(VirtualDevice::enroll_with(&link, &options, s.clock.clone()).await?)
            })
            .await;
        device.connect().await;
        let (number, c) = p.push(&device).await;
        device.approve(&c, number).await.unwrap();
        assert_eq!(p.signed_in().await, "lg5-dan");
    })
    .await;
}

/// LG-7/OK-7: a user with push and TOTP (one device) and backup codes is offered the method used
/// last first; "verify another way" switches; backup codes come last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg7_last_used_method_first_other_ways_switch_backup_codes_last() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let (device, secret) = h
            .run(|s| async move {
                let id = user(s, "lg7-eve").await?;
                admin(
                    s,
                    Method::POST,
                    &format!("/api/v2/users/{id}/recovery-code-regeneration"),
                    None,
                    200,
                )
                .await?;
                device(s, "lg7-eve").await
            })
            .await;
        device.connect().await;
        let p = Pages::new(page, h.origin());
        let app = Some(h.app("LG-7"));

        // Each sign-in: the offer's order, then finish with a method other than the first.
        let mut expected_first: Option<String> = None;
        let mut totp_used = false;
        for round in 0..3 {
            p.start(app, "lg7-eve").await;
            p.step().await;
            let offered = p.offered().await;
            let mut sorted = offered.clone();
            sorted.sort();
            assert_eq!(
                sorted,
                ["push", "qr_login", "recovery_code", "totp"],
                "round {round}: {offered:?}"
            );
            assert_eq!(
                offered.last().unwrap(),
                "recovery_code",
                "backup codes last: {offered:?}"
            );
            if let Some(first) = &expected_first {
                assert_eq!(
                    &offered[0], first,
                    "round {round}: the method used last comes first"
                );
            }
            if offered[0] == "push" {
                // The page asked for the push itself: take it off the device's queue.
                p.push(&device).await;
            }
            if round == 2 {
                break;
            }
            let other = if offered[0] == "push" { "totp" } else { "push" };
            p.choose(other).await;
            if other == "push" {
                let (number, c) = p.push(&device).await;
                device.approve(&c, number).await.unwrap();
            } else {
                assert!(
                    !totp_used,
                    "one TOTP code per test: the clock does not move"
                );
                totp_used = true;
                p.code(&oathtool(&secret, START).unwrap()).await;
            }
            p.signed_in().await;
            p.sign_out().await;
            expected_first = Some(other.to_owned());
        }
    })
    .await;
}

/// LG-11: the administrator removed factors. All of them under required MFA: the password, then
/// set-up at once (no Skip). Only backup codes left: a backup code, then a prompt to set up a
/// new factor, skippable where MFA is optional.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lg11_removed_factors_force_set_up_or_a_backup_code_then_a_prompt() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let p = Pages::new(page, h.origin());

        h.run(|s| async move {
            let id = user(s, "lg11-fay").await?;
            totp(s, &id, START - 30).await?;
            let path = format!("/api/v2/users/{id}/authentication-methods");
            admin(s, Method::DELETE, &path, None, 204).await?;
            Ok(())
        })
        .await;
        p.start(Some(h.app("LG-11 required")), "lg11-fay").await;
        p.at("enroll:choose").await;
        assert!(!p.shows("#enroll-skip").await, "required: no Skip");
        // "Back to sign in" from set-up.
        p.page.click("#enroll-back").await.unwrap();
        p.at("identifier").await;

        let code = h
            .run(|s| async move {
                let id = user(s, "lg11-gus").await?;
                let t = totp(s, &id, START - 30).await?;
                let path = format!("/api/v2/users/{id}/authentication-methods/{}", t.id);
                admin(s, Method::DELETE, &path, None, 204).await?;
                let left = factors(s, &id).await?;
                ensure!(
                    left.iter()
                        .all(|f| f["authenticator_type"] == "recovery-code"),
                    "only backup codes are left: {left:?}"
                );
                t.recovery_codes
                    .first()
                    .cloned()
                    .ok_or_else(|| anyhow!("the first enrollment came with backup codes"))
            })
            .await;
        p.start(Some(h.app("LG-11 optional")), "lg11-gus").await;
        p.at("verify:recovery_code").await;
        assert_eq!(
            p.offered().await,
            ["recovery_code"],
            "nothing else to offer"
        );
        assert!(!p.shows("#other-ways").await);
        p.code(&code).await;
        // The set (one code: `recovery_codes.count`) was used up and replaced: the new one is
        // shown once.
        p.save_codes().await;
        p.codes_saved().await;
        p.at("enroll:choose").await;
        assert!(
            p.shows("#enroll-skip").await,
            "optional MFA: the prompt can be skipped"
        );
        p.page.click("#enroll-skip").await.unwrap();
        assert_eq!(p.signed_in().await, "lg11-gus");
    })
    .await;
}

/// OK-1/OK-3/OK-4: two chains — password then (TOTP or push), or push then password. In a
/// browser the user never signed in from, the password comes first whatever the chains (OK-8);
/// from a known one, the first method of each chain is offered and the one chosen selects the
/// chain and its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok1_two_chains_the_first_choice_selects_the_chain() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let h = hosted();
        let (device, secret) = h
            .run(|s| async move {
                user(s, "ok1-hal").await?;
                device(s, "ok1-hal").await
            })
            .await;
        device.connect().await;
        let p = Pages::new(page, h.origin());
        let app = Some(h.app("OK-1"));

        // An unknown browser: the password only (OK-8), which selects chain 0; then any of
        // TOTP and push (OK-4).
        p.open(app).await;
        p.identify("ok1-hal").await;
        p.at("verify:password").await;
        assert_eq!(
            p.offered().await,
            ["password"],
            "an unknown browser: the password first"
        );
        p.password(PASSWORD).await;
        let step = p.step().await;
        if step == "verify:push" {
            p.push(&device).await;
        }
        let mut second = p.offered().await;
        second.sort();
        assert_eq!(
            second,
            ["push", "totp"],
            "either method satisfies the step (OK-4)"
        );
        p.choose("totp").await;
        p.code(&oathtool(&secret, START).unwrap()).await;
        p.signed_in().await;
        p.sign_out().await;

        // The browser is known now: the first method of each chain (OK-3). The push selects
        // chain 1, which goes on with the password (OK-1).
        p.open(app).await;
        p.identify("ok1-hal").await;
        let sent = if p.step().await == "verify:push" {
            Some(p.push(&device).await)
        } else {
            None
        };
        let mut first = p.offered().await;
        first.sort();
        assert_eq!(
            first,
            ["password", "push"],
            "the first method of each chain"
        );
        let (number, c) = match sent {
            Some(sent) => sent,
            None => {
                p.choose("push").await;
                p.push(&device).await
            }
        };
        device.approve(&c, number).await.unwrap();
        p.at("verify:password").await;
        assert_eq!(
            p.offered().await,
            ["password"],
            "chain 1 goes on with the password"
        );
        p.password(PASSWORD).await;
        assert_eq!(p.signed_in().await, "ok1-hal");
    })
    .await;
}

/// OK-8: an unknown identifier gets the same password page and the same error as a known user
/// with a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok8_unknown_identifier_looks_like_a_wrong_password() {
    with_page(|page| async move {
        let h = hosted();
        h.run(|s| async move { user(s, "ok8-ivy").await }).await;
        let p = Pages::new(page, h.origin());
        let section = "return document.getElementById('step-verify').innerText;";

        let mut seen = Vec::new();
        for name in ["ok8-nobody", "ok8-ivy"] {
            p.open(None).await;
            p.identify(name).await;
            p.at("verify:password").await;
            let offered = p.offered().await;
            p.page.fill("#password", "not the password").await.unwrap();
            p.page.click("#password-submit").await.unwrap();
            let error = p.error().await;
            p.at("verify:password").await;
            let text = p.page.js(section, vec![]).await.unwrap();
            let text = text.as_str().unwrap().replace(name, "NAME");
            seen.push((offered, error, text));
        }
        assert_eq!(seen[0], seen[1], "unknown and known users look the same");
    })
    .await;
}

/// IBM-1: MFA required with `no_factor: deny` — a user without a factor gets the denied page,
/// with a generic message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibm1_no_factor_deny_shows_the_denied_page() {
    with_page(|page| async move {
        let h = hosted();
        h.run(|s| async move { user(s, "ibm1-jo").await }).await;
        let p = Pages::new(page, h.origin());
        p.start(Some(h.app("IBM-1")), "ibm1-jo").await;
        p.at("denied").await;
        let message = p.page.text("#denied-message").await.unwrap();
        assert!(!message.is_empty());
        assert!(
            !message.contains("no factor enrolled"),
            "the reason stays on the server: {message}"
        );
        p.page.click("#denied-restart").await.unwrap();
        p.at("identifier").await;
    })
    .await;
}

/// A server of the test's own (its clock moves), with one application whose rule is `then`
/// per scenario; the client ids in the order given.
async fn own_server(rules: &[(&str, Value)]) -> (Server, Vec<String>) {
    let s = Server::bare(&[]).await.unwrap();
    let mut ids = Vec::new();
    let mut list = Vec::new();
    for (name, then) in rules {
        let id = application(&s, name).await.unwrap();
        list.push(json!({"name": name, "when": {"applications": [id]}, "then": then}));
        ids.push(id);
    }
    set_policy(
        &s,
        json!({"global": {"mfa": {"mode": "optional"}}, "rules": list}),
    )
    .await
    .unwrap();
    (s, ids)
}

/// OK-5/OK-6: re-authentication `after_minutes`. Within the window a second sign-in in the
/// same browser skips what the global session proved — the chain goes on at its next step
/// (OK-6), or is done (OK-5); after the window everything is asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok5_ok6_reauthentication_window_skips_then_asks_again() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let reauth = json!({"mode": "after_minutes", "minutes": 10});
        let (s, apps) = own_server(&[
            (
                "OK-5 password only",
                json!({"mfa": {"mode": "optional"}, "reauth": reauth,
                       "chains": [{"steps": [{"any_of": [{"method": "password"}]}]}]}),
            ),
            (
                "OK-6 password then TOTP",
                json!({"mfa": {"mode": "optional"}, "reauth": reauth,
                       "chains": [{"steps": [{"any_of": [{"method": "password"}]},
                                             {"any_of": [{"method": "totp"}]}]}]}),
            ),
        ])
        .await;
        let id = user(&s, "ok5-kit").await.unwrap();
        let t = totp(&s, &id, START - 30).await.unwrap();
        let p = Pages::new(page, &s.origin);

        p.start(Some(&apps[0]), "ok5-kit").await;
        assert_eq!(p.signed_in().await, "ok5-kit");

        s.clock.advance(60);
        p.open(Some(&apps[1])).await;
        let first = p.step().await;
        assert_ne!(first, "identifier", "the global session names the user");
        p.at("verify:totp").await; // OK-6: the password is not asked again
        p.code(&oathtool(&t.secret, s.clock.now_unix()).unwrap())
            .await;
        p.signed_in().await;

        s.clock.advance(60);
        p.open(Some(&apps[1])).await;
        let first = p.step().await;
        assert_ne!(first, "identifier", "the global session names the user");
        assert_eq!(
            p.signed_in().await,
            "ok5-kit",
            "OK-5: nothing asked within the window"
        );

        s.clock.advance(11 * 60);
        p.open(Some(&apps[1])).await;
        let first = p.step().await;
        assert_ne!(first, "identifier", "the global session names the user");
        p.password(PASSWORD).await; // OK-5: after the window, from the start
        p.at("verify:totp").await;
        p.code(&oathtool(&t.secret, s.clock.now_unix()).unwrap())
            .await;
        assert_eq!(p.signed_in().await, "ok5-kit");
    })
    .await;
}

/// IBM-4: at least two distinct enrollments, 14 days' grace. A user with one TOTP may skip
/// the set-up within the grace period, not after it. A flow left open past its expiry offers
/// to start again (410 `flow_expired`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibm4_min_enrollments_skippable_in_grace_then_required() {
    if !oathtool_ready() {
        return;
    }
    with_page(|page| async move {
        let (s, apps) = own_server(&[(
            "IBM-4",
            json!({"mfa": {"mode": "optional"},
                   "min_enrollments": {"count": 2, "grace_days": 14}}),
        )])
        .await;
        let app = Some(apps[0].as_str());
        let id = user(&s, "ibm4-lu").await.unwrap();
        let t = totp(&s, &id, START - 30).await.unwrap();
        let p = Pages::new(page, &s.origin);

        p.start(app, "ibm4-lu").await;
        p.at("verify:totp").await;
        p.code(&oathtool(&t.secret, s.clock.now_unix()).unwrap())
            .await;
        p.at("enroll:choose").await;
        assert!(
            p.shows("#enroll-skip").await,
            "within the grace period: skippable"
        );
        p.page.click("#enroll-skip").await.unwrap();
        p.signed_in().await;
        p.sign_out().await;

        // A flow opened now and used after the clock moved 15 days has expired.
        p.page.click("#signin-again").await.unwrap();
        p.at("identifier").await;
        s.clock.advance(15 * 86_400);
        p.page.fill("#identifier", "ibm4-lu").await.unwrap();
        p.page.click("#identifier-submit").await.unwrap();
        p.at("expired").await;
        p.page.click("#start-again").await.unwrap();

        p.identify("ibm4-lu").await;
        p.password(PASSWORD).await;
        p.at("verify:totp").await;
        p.code(&oathtool(&t.secret, s.clock.now_unix()).unwrap())
            .await;
        p.at("enroll:choose").await;
        assert!(
            !p.shows("#enroll-skip").await,
            "after the grace period: required"
        );
        p.enroll_totp(s.clock.now_unix(), None).await;
        // The user has backup codes already: no new set to show.
        assert_eq!(p.signed_in().await, "ibm4-lu");
    })
    .await;
}
