//! The sample sign-in page in real Chromium (Debian's `chromium`, driven by `chromedriver`
//! through the fantoccini WebDriver client): password → push number shown → the virtual device
//! approves with that number → the page says signed in; and QR login from the page.
//!
//! Without chromedriver or chromium the test prints `SKIPPED: …` and passes, except in CI, where
//! it fails (`tessera_core::testing::prerequisite`). Once both are installed, any driver, session
//! or page failure fails the test with its error.

use std::net::{TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tessera_client::VirtualDevice;
use tessera_core::device::Decision;
use tessera_e2e::Server;

/// The longest wait for chromedriver to listen, and for anything to appear on the page.
const WAIT: Duration = Duration::from_secs(20);

fn on_path(bin: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(bin))
        .find(|p| p.is_file())
}

/// chromedriver on a free loopback port; killed on drop.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChromeDriver {
    async fn start(bin: &Path) -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    /// A headless Chromium session with a fresh profile in `profile`.
    async fn session(&self, chromium: &Path, profile: &Path) -> Client {
        let caps = json!({"goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", format!("--user-data-dir={}", profile.display()),
            ],
        }});
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("a JSON object literal")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("WebDriver session with {}: {e}", chromium.display()))
    }
}

/// The element matching `css` once it is on the page, waiting at most [`WAIT`]; a timeout
/// shows what the page's error line says.
async fn wait_for(browser: &Client, css: &str) -> Element {
    match browser
        .wait()
        .at_most(WAIT)
        .every(Duration::from_millis(100))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let shown = match browser.find(Locator::Id("error")).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("waiting for `{css}`: {e}; the page's error line says {shown:?}")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_in_chromium_push_and_qr_login() {
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
    if !tessera_core::testing::prerequisite(
        missing.is_empty(),
        &format!(
            "{} (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        ),
    ) {
        return;
    }
    let (driver_bin, chromium) = (driver_bin.unwrap(), chromium.unwrap());

    let s = Server::bare(&[]).await.unwrap();
    s.user_requiring_mfa("dana", "correct horse battery")
        .await
        .unwrap();
    let device = s.device("dana", "phone").await.unwrap();
    device.connect().await;

    let driver = ChromeDriver::start(&driver_bin).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.session(&chromium, profile.path()).await;
    // End the session (and the browser with it) whether or not the checks pass.
    let checked = AssertUnwindSafe(push_and_qr_login(&browser, &s, &device))
        .catch_unwind()
        .await;
    let closed = browser.close().await;
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic);
    }
    closed.unwrap();
}

async fn push_and_qr_login(browser: &Client, s: &Server, device: &VirtualDevice) {
    let page = format!("{}/signin", s.origin);

    // Username + password, then the push with the number shown.
    browser.goto(&page).await.unwrap();
    let field = |id: &'static str| browser.find(Locator::Id(id));
    field("username")
        .await
        .unwrap()
        .send_keys("dana")
        .await
        .unwrap();
    field("password")
        .await
        .unwrap()
        .send_keys("correct horse battery")
        .await
        .unwrap();
    field("signin-btn").await.unwrap().click().await.unwrap();
    let shown = wait_for(browser, "#step-push:not([hidden]) #number")
        .await
        .text()
        .await
        .unwrap();
    let number: u32 = shown
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("the page shows a number, not {shown:?}: {e}"));
    let c = device
        .next_challenge(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(c.context.application, "Tessera sample sign-in");
    device.approve(&c, number).await.unwrap();
    let outcome = wait_for(browser, "#outcome:not([hidden])")
        .await
        .text()
        .await
        .unwrap();
    assert!(outcome.contains("Signed in as dana"), "{outcome}");

    // QR login: the page shows a QR, the device approves the link it carries.
    browser.goto(&page).await.unwrap();
    field("qr-btn").await.unwrap().click().await.unwrap();
    let svg = wait_for(browser, "#step-qr:not([hidden]) #qr svg").await;
    assert_eq!(
        svg.tag_name().await.unwrap(),
        "svg",
        "the QR is an inline SVG"
    );
    let link = field("qr")
        .await
        .unwrap()
        .attr("data-link")
        .await
        .unwrap()
        .expect("the QR's link is on the page");
    device.qr_login(&link, Decision::Approve).await.unwrap();
    let outcome = wait_for(browser, "#outcome:not([hidden])")
        .await
        .text()
        .await
        .unwrap();
    assert!(outcome.contains("QR login"), "{outcome}");
}
