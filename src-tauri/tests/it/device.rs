//! Enrollment, push approval with number matching, and QR login against a real tessera-server
//! on 127.0.0.1, all through the app's IPC.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tessera_server::testing::{sqlite_config_in, InProcess};

use super::harness::App;

/// A tessera-server in this process (`tessera_server::testing`), and a runtime for the calls
/// the test makes to it (the test itself is synchronous, as the app's IPC is).
struct Server {
    url: String,
    admin: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    // Before `_dir`: the server stops before its directory goes.
    _server: InProcess,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // On loopback the device origin is the address listened on: links lead back here.
        let server = rt
            .block_on(InProcess::start(
                sqlite_config_in(dir.path()),
                Arc::new(tessera_core::SystemClock),
            ))
            .unwrap();
        Server {
            url: server.url.clone(),
            admin: server.first_admin.clone().unwrap(),
            rt,
            http: reqwest::Client::new(),
            _server: server,
            _dir: dir,
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method, format!("{}{path}", self.url))
                .bearer_auth(&self.admin);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let st = resp.status().as_u16();
            (st, resp.json().await.unwrap_or(Value::Null))
        })
    }

    fn user(&self, name: &str) {
        let (st, v) = self.call(
            reqwest::Method::POST,
            "/api/v2/users",
            Some(json!({"username": name, "password": "correct horse battery"})),
        );
        assert_eq!(st, 201, "{v}");
    }

    fn offer(&self, user: &str) -> String {
        let (st, v) = self.call(
            reqwest::Method::POST,
            "/device/v1/enroll/offers",
            Some(json!({"user": user})),
        );
        assert_eq!(st, 201, "{v}");
        v["link"].as_str().unwrap().to_owned()
    }

    fn push(&self, user: &str) -> (String, u32) {
        let (st, v) = self.call(
            reqwest::Method::POST,
            "/api/v1/push",
            Some(json!({"user": user, "context": {"application": "Payroll", "origin": "https://payroll.example",
                        "ip": "203.0.113.9", "location": "Lisbon, PT", "user_agent": "Firefox"}})),
        );
        assert_eq!(st, 201, "{v}");
        (
            v["transaction_id"].as_str().unwrap().to_owned(),
            v["number"].as_u64().unwrap() as u32,
        )
    }

    /// A QR-login session as the sign-in page starts it (no cookie kept: the test only
    /// checks the device side).
    fn qr_session(&self) -> Value {
        self.rt.block_on(async {
            let resp = self
                .http
                .post(format!("{}/qr-login/sessions", self.url))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 201);
            resp.json().await.unwrap()
        })
    }

    fn push_state(&self, tx: &str) -> Value {
        let (st, v) = self.call(reqwest::Method::GET, &format!("/api/v1/push/{tx}"), None);
        assert_eq!(st, 200, "{v}");
        v
    }
}

/// Answers a push through the app's IPC.
fn answer(app: &App, tx: &str, decision: &str, number: Option<u32>) -> Result<Value, Value> {
    app.call(
        "answer_push",
        json!({"transaction_id": tx, "decision": decision, "number": number}),
    )
}

/// Waits for the app to receive the push over its event stream.
fn wait_for_push(app: &App, tx: &str) -> Value {
    let start = Instant::now();
    loop {
        let pending = app.ok("pending_pushes", json!({}));
        if let Some(p) = pending
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["transaction_id"] == tx)
        {
            return p.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the push never reached the app"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn enroll_approve_a_push_with_its_number_and_deny_a_wrong_one() {
    let server = Server::start();
    server.user("alice");
    let app = App::unlocked();
    let link = server.offer("alice");

    // The enrollment QR on a screen, scanned from an image made by qrencode.
    let png = super::harness::qrencode(app.dir.path(), "enroll.png", &link);
    let scan = app.ok("scan_image_file", json!({"path": png}));
    let found = &scan["found"][0];
    assert_eq!(found["kind"], "enroll");
    assert!(
        found["label"].as_str().unwrap().contains(&server.url),
        "{found}"
    );
    let e = app.ok(
        "enroll",
        json!({"link": found["handle"], "device_name": "Test laptop"}),
    );
    assert_eq!(
        (e["origin"].as_str(), e["user"].as_str()),
        (Some(server.url.as_str()), Some("alice"))
    );
    let list = app.ok("list_enrollments", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (st, devices) = server.call(reqwest::Method::GET, "/api/v1/users/alice/devices", None);
    assert_eq!(st, 200, "{devices}");
    assert!(
        devices.to_string().contains("Test laptop"),
        "the server lists the device: {devices}"
    );
    // The paired TOTP the server provisioned is now an account.
    assert_eq!(app.accounts().len(), 1, "paired TOTP added");
    // Enrolling twice with the same server is refused.
    let again = server.offer("alice");
    assert_eq!(
        app.err("enroll", json!({"link": again, "device_name": null}))
            .0,
        "invalid"
    );

    // A push: the app shows who asks; approving needs the number.
    let (tx, number) = server.push("alice");
    let p = wait_for_push(&app, &tx);
    assert_eq!(
        (
            p["application"].as_str(),
            p["ip"].as_str(),
            p["location"].as_str()
        ),
        (Some("Payroll"), Some("203.0.113.9"), Some("Lisbon, PT"))
    );
    // The app's channel comes from 127.0.0.1: the requester is on another network, and the
    // card gets both sides to show.
    assert_eq!(
        (
            p["device_network"].as_str(),
            p["device_network_prefix"].as_str()
        ),
        (Some("different"), Some("127.0.0.0/24")),
        "{p}"
    );
    assert_eq!(
        app.err(
            "answer_push",
            json!({"transaction_id": tx, "decision": "approve", "number": null})
        )
        .0,
        "invalid"
    );
    let outcome = app.ok(
        "answer_push",
        json!({"transaction_id": tx, "decision": "approve", "number": number}),
    );
    assert_eq!(outcome, "approved");
    assert_eq!(server.push_state(&tx)["state"], "approved");
    assert!(app
        .ok("pending_pushes", json!({}))
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        app.err(
            "answer_push",
            json!({"transaction_id": tx, "decision": "approve", "number": number})
        )
        .0,
        "not_found"
    );

    // A wrong number never approves.
    let (tx2, number2) = server.push("alice");
    wait_for_push(&app, &tx2);
    let wrong = if number2 == 10 { 11 } else { 10 };
    let outcome = answer(&app, &tx2, "approve", Some(wrong));
    assert_ne!(outcome, Ok(json!("approved")));
    assert_eq!(server.push_state(&tx2)["state"], "denied");

    // Deny.
    let (tx3, _) = server.push("alice");
    wait_for_push(&app, &tx3);
    assert_eq!(answer(&app, &tx3, "deny", None).unwrap(), "denied");
    assert_eq!(server.push_state(&tx3)["state"], "denied");

    let history = app.ok("push_history", json!({}));
    let outcomes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 3, "{history}");
    assert!(outcomes.contains(&"approved") && outcomes.contains(&"denied"));

    // The enrollment survives a lock (keys in the vault) and the channel comes back.
    app.ok("lock", json!({}));
    app.ok("unlock", json!({"passphrase": super::harness::PASS}));
    let (tx4, number4) = server.push("alice");
    wait_for_push(&app, &tx4);
    assert_eq!(
        answer(&app, &tx4, "approve", Some(number4)).unwrap(),
        "approved"
    );

    // QR login: the sign-in page's session, approved from the app.
    let session = server.qr_session();
    let qr_link = session["link"].as_str().unwrap();
    let png = super::harness::qrencode(app.dir.path(), "qr-login.png", qr_link);
    let scan = app.ok("scan_image_file", json!({"path": png}));
    let f = &scan["found"][0];
    assert_eq!(
        (f["kind"].as_str(), f["problem"].clone()),
        (Some("qr_login"), json!(null)),
        "{f}"
    );
    let details = app.ok("qr_login_details", json!({"link": f["handle"]}));
    assert_eq!(details["application"], "QR login", "{details}");
    assert_eq!(
        details["ip"], "127.0.0.1",
        "the app shows who asked: {details}"
    );
    assert_eq!(
        details["origin"], server.url,
        "the app shows where the sign-in happens"
    );
    assert_eq!(
        details["device_network"], "same",
        "the browser and the app are both on 127.0.0.1: {details}"
    );
    app.ok(
        "qr_login_answer",
        json!({"handle": details["handle"], "approve": true}),
    );
    assert_eq!(
        app.err(
            "qr_login_answer",
            json!({"handle": details["handle"], "approve": true})
        )
        .0,
        "not_found"
    );

    // Unenroll: the server forgets the device.
    let id = e["device_id"].as_str().unwrap();
    app.ok("unenroll", json!({"device_id": id, "local_only": false}));
    assert!(app
        .ok("list_enrollments", json!({}))
        .as_array()
        .unwrap()
        .is_empty());
    let (_, devices) = server.call(reqwest::Method::GET, "/api/v1/users/alice/devices", None);
    assert!(!devices.to_string().contains("Test laptop"), "{devices}");
}

#[test]
fn links_with_bad_percent_encoding_are_refused_naming_the_parameter() {
    let app = App::unlocked();
    let enroll = "tessera://enroll?v=1&origin=http%3A%2F%2F127.0.0.1%3A1&code=AAAAAAAAAAAAAAAAAAAAAAAAAAAA&algs=ES256&sk=x&user=a%G1";
    let (code, msg) = app.err("enroll", json!({"link": enroll, "device_name": null}));
    assert_eq!(code, "invalid", "{msg}");
    assert!(msg.contains("`user`"), "{msg}");
    let qr = "tessera://qr-login?v=1&origin=https%3A%2F%2Fa.example&lsi=AB%0D%0A&sk=x";
    let (code, msg) = app.err("qr_login_details", json!({"link": qr}));
    assert_eq!(code, "invalid", "{msg}");
    assert!(msg.contains("`lsi`"), "{msg}");
}

#[test]
fn a_qr_login_from_a_server_never_enrolled_with_is_refused() {
    let server = Server::start();
    let app = App::unlocked();
    let session = server.qr_session();
    let link = session["link"].as_str().unwrap();
    let png = super::harness::qrencode(app.dir.path(), "q.png", link);
    let scan = app.ok("scan_image_file", json!({"path": png}));
    assert!(scan["found"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("not enrolled"));
    assert_eq!(
        app.err("qr_login_details", json!({"link": link})).0,
        "policy"
    );
}
