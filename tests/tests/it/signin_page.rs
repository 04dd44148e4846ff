//! The sample sign-in page in real Chromium (Debian's `chromium`, driven through `chromedriver`
//! over the W3C WebDriver protocol): password → push number shown → the virtual device approves
//! with that number → the page says signed in; and QR login from the page.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tessera_core::device::Decision;

use super::full_server::FullServer;

struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(bin: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
    })
}

impl Driver {
    async fn start() -> Option<Driver> {
        let driver = find("chromedriver")?;
        let chromium = find("chromium").or_else(|| find("chromium-browser"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut d = Driver {
            child,
            base,
            session: String::new(),
            http,
        };
        for _ in 0..100 {
            if d.http
                .get(format!("{}/status", d.base))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        }}}});
        let v = d.post("/session", caps).await;
        d.session = v["value"]["sessionId"].as_str()?.to_owned();
        Some(d)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn cmd(&self, path: &str, body: Value) -> Value {
        self.post(&format!("/session/{}{path}", self.session), body)
            .await["value"]
            .clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd("/url", json!({"url": url})).await;
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .cmd("/element", json!({"using": "css selector", "value": css}))
            .await;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|x| x.as_str())
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.cmd(&format!("/element/{id}/value"), json!({"text": text}))
            .await;
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.cmd(&format!("/element/{id}/click"), json!({})).await;
    }

    async fn script(&self, js: &str) -> Value {
        self.cmd("/execute/sync", json!({"script": js, "args": []}))
            .await
    }

    /// Waits until `js` returns a non-empty string.
    async fn wait_for(&self, js: &str) -> String {
        for _ in 0..200 {
            if let Some(s) = self.script(js).await.as_str() {
                if !s.is_empty() {
                    return s.to_owned();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {js}");
    }
}

impl Driver {
    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_in_chromium_push_and_qr_login() {
    let Some(driver) = Driver::start().await else {
        eprintln!("SKIPPED: chromedriver or chromium not installed");
        return;
    };
    let s = FullServer::start().await;
    s.user("dana", "correct horse battery").await;
    let device = s.enroll("dana").await;
    device.connect().await;

    // Username + password, then the push with the number shown.
    driver.goto(&format!("{}/signin", s.url)).await;
    driver.type_into("#username", "dana").await;
    driver.type_into("#password", "correct horse battery").await;
    driver.click("#signin-btn").await;
    let number = driver
        .wait_for("return document.getElementById('number').textContent")
        .await;
    let number: u32 = number.trim().parse().unwrap();
    let c = device
        .next_challenge(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(c.context.application, "Tessera sample sign-in");
    device.approve(&c, number).await.unwrap();
    let outcome = driver
        .wait_for(
            "const o = document.getElementById('outcome'); return o.hidden ? '' : o.textContent",
        )
        .await;
    assert!(outcome.contains("Signed in as dana"), "{outcome}");

    // QR login: the page shows a QR, the device approves the link it carries.
    driver.goto(&format!("{}/signin", s.url)).await;
    driver.click("#qr-btn").await;
    let link = driver
        .wait_for("return document.getElementById('qr').dataset.link || ''")
        .await;
    let svg = driver
        .wait_for("return document.querySelector('#qr svg') ? 'yes' : ''")
        .await;
    assert_eq!(svg, "yes", "the QR is an inline SVG");
    device.qr_login(&link, Decision::Approve).await.unwrap();
    let outcome = driver
        .wait_for(
            "const o = document.getElementById('outcome'); return o.hidden ? '' : o.textContent",
        )
        .await;
    assert!(outcome.contains("QR login"), "{outcome}");
    driver.quit().await;
}
