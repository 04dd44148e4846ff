//! Real Chromium for the tests of the hosted pages: Debian's `chromium` driven by `chromedriver`
//! through the fantoccini WebDriver client.
//!
//! One chromedriver serves the whole test binary ([`driver`]): it starts at the first use and
//! stops when the binary exits (a shell watching its standard input kills it then, so no driver
//! outlives the tests, whatever way they end). Each test gets its own headless browser with a
//! fresh profile and download directory ([`with_page`]), closed whether or not the test passes.
//!
//! Without chromedriver or chromium, [`with_page`] prints `SKIPPED: …` and returns without
//! running the test body, except in CI, where it fails (`tessera_core::testing::prerequisite`).
//! Once both are installed, any driver, session or page failure fails the test with its error.

use std::future::Future;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// The longest wait for chromedriver to listen, and for anything to appear on a page.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// The environment variable that makes [`Page::screenshot`] write its files (unset in CI, so
/// test runs never rewrite the committed screenshots).
pub const SCREENSHOTS_ENV: &str = "TESSERA_SCREENSHOTS";

/// The browser window: a phone-sized width the page must fit without scrolling sideways.
const WINDOW: (u32, u32) = (420, 900);

/// A program on `PATH`.
pub fn on_path(bin: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(bin))
        .find(|p| p.is_file())
}

/// The test binary's chromedriver.
#[derive(Debug)]
pub struct Driver {
    url: String,
    chromium: PathBuf,
    // The watching shell: its standard input closes when this process exits, and it then
    // kills chromedriver. Kept (never written) for that.
    _watch: Mutex<(Child, ChildStdin)>,
}

/// What stops the browser tests from running here: the programs missing, named with how to
/// install them.
#[derive(Debug, Clone)]
pub struct Missing(pub String);

/// The test binary's chromedriver, started at the first call; `Ok(Err(Missing))` when
/// chromedriver or chromium is not installed.
pub fn driver() -> Result<std::result::Result<&'static Driver, Missing>> {
    type Started = std::result::Result<std::result::Result<Driver, Missing>, String>;
    static DRIVER: OnceLock<Started> = OnceLock::new();
    match DRIVER.get_or_init(|| start_driver().map_err(|e| format!("{e:#}"))) {
        Ok(Ok(d)) => Ok(Ok(d)),
        Ok(Err(missing)) => Ok(Err(missing.clone())),
        Err(e) => Err(anyhow!("chromedriver: {e}")),
    }
}

fn start_driver() -> Result<std::result::Result<Driver, Missing>> {
    let driver_bin = on_path("chromedriver");
    let chromium = on_path("chromium").or_else(|| on_path("chromium-browser"));
    let missing: Vec<&str> = [
        ("chromedriver", driver_bin.is_some()),
        ("chromium", chromium.is_some()),
    ]
    .into_iter()
    .filter(|(_, found)| !found)
    .map(|(name, _)| name)
    .collect();
    let (Some(driver_bin), Some(chromium)) = (driver_bin, chromium) else {
        return Ok(Err(Missing(format!(
            "{} (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        ))));
    };
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    // `cat` returns when this process's end of the pipe closes (the test binary exited), and
    // the shell then stops chromedriver.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" --port="$1" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill "$pid""#)
        .arg(&driver_bin)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", driver_bin.display()))?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("the watching shell's stdin"))?;
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("chromedriver did not listen on port {port} within {WAIT:?}");
        }
        std::thread::sleep(POLL);
    }
    Ok(Ok(Driver {
        url: format!("http://127.0.0.1:{port}"),
        chromium,
        _watch: Mutex::new((child, stdin)),
    }))
}

impl Driver {
    /// A headless Chromium with a fresh profile and download directory.
    pub async fn session(&self) -> Result<Session> {
        self.session_in("en-US").await
    }

    /// Like [`Driver::session`], with the browser's language (its UI and `Accept-Language`)
    /// set to `lang`, e.g. `ja`.
    pub async fn session_in(&self, lang: &str) -> Result<Session> {
        let profile = tempfile::tempdir()?;
        let downloads = profile.path().join("downloads");
        std::fs::create_dir(&downloads)?;
        let caps = json!({"goog:chromeOptions": {
            "binary": self.chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--password-store=basic",
                format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                format!("--user-data-dir={}", profile.path().join("profile").display()),
                format!("--lang={lang}"),
            ],
            "prefs": {
                "intl.accept_languages": lang,
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
                "credentials_enable_service": false,
            },
        }});
        let Value::Object(caps) = caps else {
            bail!("capabilities are a JSON object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .with_context(|| format!("a WebDriver session with {}", self.chromium.display()))?;
        Ok(Session {
            page: Page {
                client,
                downloads,
                driver: self.url.clone(),
            },
            _profile: profile,
        })
    }
}

/// The English words of a page's text: runs of three or more ASCII letters, except `allowed`
/// (product names, data the test typed). A Japanese page should have none.
pub fn english_words(text: &str, allowed: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3 && !allowed.iter().any(|a| a.eq_ignore_ascii_case(w)))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One browser; its profile is removed when it is dropped.
#[derive(Debug)]
pub struct Session {
    /// Its page.
    pub page: Page,
    _profile: tempfile::TempDir,
}

/// Runs `body` with a page of a new headless browser, and closes the browser whether or not
/// the body passes (a failure is then re-raised). Returns without running it when the browser is
/// missing outside CI.
#[allow(
    clippy::panic,
    reason = "failing the calling test is this helper's job"
)]
pub async fn with_page<F, Fut>(body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()>,
{
    with_page_in("en-US", body).await;
}

/// Like [`with_page`], in a browser whose language is `lang` (`ja`: Japanese UI and
/// `Accept-Language: ja`).
#[allow(
    clippy::panic,
    reason = "failing the calling test is this helper's job"
)]
pub async fn with_page_in<F, Fut>(lang: &str, body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()>,
{
    let driver = match driver().unwrap_or_else(|e| panic!("{e:#}")) {
        Ok(driver) => driver,
        Err(Missing(what)) => {
            // Prints `SKIPPED: …` (every test says so), or fails the test in CI.
            tessera_core::testing::prerequisite(false, &what);
            return;
        }
    };
    let session = driver
        .session_in(lang)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let checked = AssertUnwindSafe(body(session.page.clone()))
        .catch_unwind()
        .await;
    let closed = session.page.client.clone().close().await;
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic);
    }
    closed.unwrap_or_else(|e| panic!("closing the browser: {e}"));
}

/// Like [`with_page_in`] with two browsers (two people, each with their own cookies).
#[allow(
    clippy::panic,
    reason = "failing the calling test is this helper's job"
)]
pub async fn with_two_pages_in<F, Fut>(lang: &str, body: F)
where
    F: FnOnce(Page, Page) -> Fut,
    Fut: Future<Output = ()>,
{
    let driver = match driver().unwrap_or_else(|e| panic!("{e:#}")) {
        Ok(driver) => driver,
        Err(Missing(what)) => {
            tessera_core::testing::prerequisite(false, &what);
            return;
        }
    };
    let first = driver
        .session_in(lang)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let second = driver
        .session_in(lang)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let checked = AssertUnwindSafe(body(first.page.clone(), second.page.clone()))
        .catch_unwind()
        .await;
    let closed = first.page.client.clone().close().await;
    let closed_second = second.page.client.clone().close().await;
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic);
    }
    closed.unwrap_or_else(|e| panic!("closing the browser: {e}"));
    closed_second.unwrap_or_else(|e| panic!("closing the browser: {e}"));
}

/// A browser's page, with waits that say what the page showed when they time out.
#[derive(Debug, Clone)]
pub struct Page {
    /// The WebDriver client, for what the helpers do not cover.
    pub client: Client,
    downloads: PathBuf,
    /// chromedriver's URL, for the WebDriver extensions fantoccini has no call for (the
    /// virtual authenticators of WebAuthn).
    driver: String,
}

/// A virtual WebAuthn authenticator ([`Page::add_authenticator`]): its options.
#[derive(Debug, Clone, Copy)]
pub struct VirtualAuthenticator {
    /// It stores discoverable (resident) credentials.
    pub resident_keys: bool,
    /// It verifies the user (and says it did).
    pub user_verification: bool,
}

impl Page {
    /// A WebDriver extension command on this page's session (`/session/{id}/{path}`): its
    /// `value`.
    async fn session_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let id = self
            .client
            .session_id()
            .await?
            .ok_or_else(|| anyhow!("the WebDriver session has no id"))?;
        let url = format!("{}/session/{id}/{path}", self.driver);
        let mut rb = reqwest::Client::new().request(method.clone(), &url);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = r.status();
        let v: Value = r
            .json()
            .await
            .with_context(|| format!("{method} {path}: the answer"))?;
        if !status.is_success() {
            bail!("{method} {path}: {status} {v}");
        }
        Ok(v.get("value").cloned().unwrap_or(Value::Null))
    }

    /// Adds a virtual WebAuthn authenticator (CTAP2, built in, user present at once) to the
    /// browser (WebDriver's Web Authentication extension); its id.
    pub async fn add_authenticator(&self, a: VirtualAuthenticator) -> Result<String> {
        let v = self
            .session_command(
                reqwest::Method::POST,
                "webauthn/authenticator",
                Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": a.resident_keys,
                    "hasUserVerification": a.user_verification,
                    "isUserVerified": a.user_verification,
                    "isUserConsenting": true,
                    "automaticPresenceSimulation": true,
                })),
            )
            .await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the authenticator id in {v}"))
    }

    /// Removes a virtual authenticator.
    pub async fn remove_authenticator(&self, id: &str) -> Result<()> {
        self.session_command(
            reqwest::Method::DELETE,
            &format!("webauthn/authenticator/{id}"),
            None,
        )
        .await?;
        Ok(())
    }

    /// The credentials a virtual authenticator holds: `credentialId`, `isResidentCredential`,
    /// `rpId`, `privateKey` (PKCS#8, base64url), `userHandle`, `signCount`.
    pub async fn credentials(&self, id: &str) -> Result<Vec<Value>> {
        let v = self
            .session_command(
                reqwest::Method::GET,
                &format!("webauthn/authenticator/{id}/credentials"),
                None,
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Puts a credential (as [`Page::credentials`] lists them) into a virtual authenticator.
    pub async fn add_credential(&self, id: &str, credential: Value) -> Result<()> {
        self.session_command(
            reqwest::Method::POST,
            &format!("webauthn/authenticator/{id}/credential"),
            Some(credential),
        )
        .await?;
        Ok(())
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Waits until `script` returns something other than `null`, `false` or `undefined`, and
    /// returns it. `what` names the wait in the error.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.js(script, args.clone()).await? {
                Value::Null | Value::Bool(false) => {}
                v => return Ok(v),
            }
            if Instant::now() > deadline {
                return Err(self.timeout(what).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element matching `css` once it is displayed.
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if e.is_displayed().await.unwrap_or(false) {
                    return Ok(e);
                }
            }
            if Instant::now() > deadline {
                return Err(self.timeout(&format!("`{css}` displayed")).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element matching `css` once it is displayed and enabled.
    pub async fn click(&self, css: &str) -> Result<()> {
        let e = self.wait_for(css).await?;
        let deadline = Instant::now() + WAIT;
        while !e.is_enabled().await? {
            if Instant::now() > deadline {
                return Err(self.timeout(&format!("`{css}` enabled")).await);
            }
            tokio::time::sleep(POLL).await;
        }
        e.click().await.with_context(|| format!("clicking `{css}`"))
    }

    /// Replaces the text of the field matching `css`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let e = self.wait_for(css).await?;
        e.clear().await?;
        e.send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// The text of the element matching `css`, once it is displayed.
    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.wait_for(css).await?.text().await?)
    }

    /// Waits until the element matching `css` shows a non-empty text, and returns it.
    pub async fn wait_text(&self, css: &str) -> Result<String> {
        let v = self
            .wait_js(
                &format!("text in `{css}`"),
                "const e = document.querySelector(arguments[0]);
                 const t = e && e.offsetParent !== null ? e.innerText.trim() : '';
                 return t || null;",
                vec![json!(css)],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute of the element matching `css` (displayed or not).
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .client
            .find(Locator::Css(css))
            .await?
            .attr(name)
            .await?)
    }

    /// The page's visible text.
    pub async fn visible_text(&self) -> Result<String> {
        let v = self
            .js(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The visible controls (inputs, selects, text areas, buttons, links) a person cannot use
    /// by keyboard or a screen reader cannot name: each is described (`tag#id`) with what is
    /// wrong — no accessible name (no `<label for>`, wrapping label, `aria-label`,
    /// `aria-labelledby`, `title` or text), or not reached by pressing Tab from the top of the
    /// page (real key presses, so a `tabindex="-1"` or a focus trap shows).
    pub async fn keyboard_and_label_problems(&self) -> Result<Vec<String>> {
        const CONTROLS: &str = "input:not([type=hidden]), select, textarea, button, a[href]";
        let listed = self
            .js(
                r#"const out = [];
                 let n = 0;
                 for (const e of document.querySelectorAll(arguments[0])) {
                   const r = e.getBoundingClientRect();
                   if (e.disabled || r.width === 0 || r.height === 0
                       || getComputedStyle(e).visibility === 'hidden') continue;
                   e.dataset.kbd = String(n++);
                   const byFor = e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]');
                   const by = (e.getAttribute('aria-labelledby') || '').split(' ')
                     .map((i) => document.getElementById(i)).filter(Boolean)
                     .map((x) => x.textContent).join(' ');
                   const name = [byFor && byFor.textContent, e.closest('label') && e.closest('label').textContent,
                     e.getAttribute('aria-label'), by, e.getAttribute('title'),
                     ['button', 'a'].includes(e.localName) ? e.textContent : '',
                     e.type === 'submit' || e.type === 'button' ? e.value : ''].find((t) => t && t.trim());
                   out.push({ n: e.dataset.kbd, what: e.localName + (e.id ? '#' + e.id : ''), named: !!name });
                 }
                 document.activeElement && document.activeElement.blur();
                 window.scrollTo(0, 0);
                 return out;"#,
                vec![json!(CONTROLS)],
            )
            .await?;
        let listed = listed.as_array().cloned().unwrap_or_default();
        let mut problems = Vec::new();
        for c in &listed {
            if c["named"] != json!(true) {
                problems.push(format!(
                    "{}: no accessible name",
                    c["what"].as_str().unwrap_or("?")
                ));
            }
        }
        // Tab through the page once (a few more presses than controls), noting what gets focus.
        let mut reached = std::collections::BTreeSet::new();
        for _ in 0..listed.len() + 5 {
            self.client
                .active_element()
                .await?
                .send_keys("\u{E004}")
                .await?;
            let n = self
                .js(
                    "const a = document.activeElement; return a && a.dataset ? a.dataset.kbd || null : null;",
                    vec![],
                )
                .await?;
            if let Some(n) = n.as_str() {
                reached.insert(n.to_owned());
            }
        }
        for c in &listed {
            if !reached.contains(c["n"].as_str().unwrap_or("")) {
                problems.push(format!(
                    "{}: not reached by Tab",
                    c["what"].as_str().unwrap_or("?")
                ));
            }
        }
        Ok(problems)
    }

    /// A wait that timed out, with what the page shows.
    async fn timeout(&self, what: &str) -> anyhow::Error {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self.visible_text().await.unwrap_or_default();
        let text: String = text.chars().take(1500).collect();
        anyhow!("waited {WAIT:?} for {what} on {url}; the page shows:\n{text}")
    }

    /// Saves a screenshot of the page as `docs/screenshots/<name>.png` when
    /// [`SCREENSHOTS_ENV`] is set; otherwise does nothing.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        if std::env::var_os(SCREENSHOTS_ENV).is_none() {
            return Ok(());
        }
        // Let fonts and the focus ring settle.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let png = self.client.screenshot().await?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        let file = dir.join(format!("{name}.png"));
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(&png))
            .with_context(|| format!("writing {}", file.display()))
    }

    /// The page as a PNG, as the screen shows it.
    pub async fn png(&self) -> Result<Vec<u8>> {
        Ok(self.client.screenshot().await?)
    }

    /// Waits for a finished download named `name` and returns its text.
    pub async fn download(&self, name: &str) -> Result<String> {
        let file = self.downloads.join(name);
        let deadline = Instant::now() + WAIT;
        loop {
            // Chromium writes `<name>.crdownload` first and renames it when done.
            if file.is_file() {
                return Ok(std::fs::read_to_string(&file)?);
            }
            if Instant::now() > deadline {
                let present: Vec<String> = std::fs::read_dir(&self.downloads)?
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                bail!("no download {name} within {WAIT:?}; the directory holds {present:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
