//! Two `tessera-server` processes on one PostgreSQL database behave as one server: a device
//! enrolled and connected through one answers pushes created through the other, the lockout
//! cap holds across both, a revocation takes effect on both at once, and `kill -9` of one
//! under load loses no acknowledged write while the other keeps serving.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::{Clock, SystemClock};
use tessera_e2e::instances::Instances;

/// `[lockout]` without delays (cap 10), pushes as often as the test makes them, and a
/// re-check of pending pushes so rare that only an announcement can deliver one in time.
const EXTRA: &str =
    "push_rate_per_minute = 1000\nrecheck_secs = 300\n[lockout]\ndelay_base_secs = 0\n";

struct Api {
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let st = resp.status();
        (st, resp.json().await.unwrap_or(Value::Null))
    }
}

/// The `tessera` binary `cargo test --workspace` builds beside this test binary.
fn tessera_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("tessera")
}

fn cli(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(tessera_bin());
    c.arg("--vault")
        .arg(dir.join("vault.sqlite3"))
        .arg("--passphrase-file")
        .arg(dir.join("pass"))
        .args(args);
    c
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "tessera failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn totp(secret: &str, at: u64) -> String {
    let out = Command::new("oathtool")
        .args([
            "--totp=sha1",
            "-d",
            "6",
            "-s",
            "30s",
            "--now",
            &format!("@{at}"),
            "-b",
            secret,
        ])
        .output()
        .expect("oathtool is installed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_behave_as_one_server() {
    let Some(mut inst) = Instances::start(2, EXTRA).unwrap() else {
        return;
    };
    let (a, b) = (inst.nodes[0].url.clone(), inst.nodes[1].url.clone());
    let admin = inst.admin.clone();
    let api = Api {
        http: reqwest::Client::new(),
    };

    // ---- the device: enrolled through A (its origin), a push made through B
    let (st, u) = api
        .call(
            Method::POST,
            &format!("{a}/api/v2/users"),
            &admin,
            Some(json!({"username": "dana"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    let (st, offer) = api
        .call(
            Method::POST,
            &format!("{b}/device/v1/enroll/offers"),
            &admin,
            Some(json!({"user": "dana"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "offer through B: {offer}");
    let link = offer["link"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pass"), "device sim passphrase\n").unwrap();
    let enrolled: Value = serde_json::from_str(
        ok(&cli(
            dir.path(),
            &["device", "enroll", &link, "--json", "--name", "ci"],
        )
        .output()
        .unwrap())
        .trim(),
    )
    .unwrap();
    assert_eq!(enrolled["origin"], a.as_str(), "the device talks to A");

    let push = |server: String| {
        let api = reqwest::Client::new();
        let admin = admin.clone();
        async move {
            let r = api
                .post(format!("{server}/api/v1/push"))
                .bearer_auth(&admin)
                .json(&json!({"user": "dana", "context": {"application": "Payroll"}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()
        }
    };
    let p = push(b.clone()).await;
    let tx = p["transaction_id"].as_str().unwrap().to_owned();
    let number = p["number"].as_u64().unwrap().to_string();
    ok(
        &cli(dir.path(), &["device", "approve", &tx, "--number", &number])
            .output()
            .unwrap(),
    );
    let (_, st) = api
        .call(Method::GET, &format!("{b}/api/v1/push/{tx}"), &admin, None)
        .await;
    assert_eq!(
        st["state"], "approved",
        "B sees the approval made through A: {st}"
    );

    // A device holding its event stream on A hears of a push made on B through the database's
    // announcement: the periodic re-check is set to 5 minutes here.
    let mut watch = cli(
        dir.path(),
        &[
            "device",
            "watch",
            "--deny",
            "--count",
            "1",
            "--timeout",
            "30",
            "--json",
        ],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let made = Instant::now();
    let p = push(b.clone()).await;
    let tx = p["transaction_id"].as_str().unwrap().to_owned();
    let mut out = String::new();
    let stdout = watch.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines
            .find(|l| l.as_ref().is_ok_and(|l| l.contains("\"challenge\"")))
            .map(Result::unwrap);
        (
            first,
            lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"),
        )
    });
    let (first, rest) = line.await.unwrap();
    let heard = made.elapsed();
    out.push_str(&rest);
    let first = first.expect("the challenge reached the device");
    assert!(first.contains(&tx), "{first}");
    assert!(
        heard < Duration::from_secs(60),
        "announced, not found by the re-check: {heard:?}"
    );
    assert!(watch.wait().unwrap().success());
    let (_, st) = api
        .call(Method::GET, &format!("{b}/api/v1/push/{tx}"), &admin, None)
        .await;
    assert_eq!(st["state"], "denied", "{st} {out}");

    // ---- 200 parallel wrong codes over both instances: exactly the cap is evaluated
    let (_, u) = api
        .call(
            Method::POST,
            &format!("{a}/api/v2/users"),
            &admin,
            Some(json!({"username": "oli"})),
        )
        .await;
    let id = u["user_id"].as_str().unwrap().to_owned();
    let (st, assoc) = api
        .call(
            Method::POST,
            &format!("{b}/api/v2/users/{id}/authentication-methods"),
            &admin,
            Some(json!({"type": "totp"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{assoc}");
    let secret = assoc["secret"].as_str().unwrap().to_owned();
    let verify = |server: &str, code: &str| {
        let url = format!("{server}/api/v2/users/{id}/otp-verification");
        let body = json!({"otp": code});
        let (http, admin) = (api.http.clone(), admin.clone());
        async move {
            http.post(url)
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let now = SystemClock.now_unix();
    assert_eq!(
        verify(&a, &totp(&secret, now)).await,
        StatusCode::OK,
        "confirms the enrollment"
    );
    // Wrong codes: none of the codes valid now or in the next minute (±1 step of skew).
    let valid: Vec<String> = (0..5).map(|k| totp(&secret, now - 30 + k * 30)).collect();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let server = if i % 2 == 0 { a.clone() } else { b.clone() };
        let mut wrong = format!("{:06}", (i * 4999 + 17) % 1_000_000);
        if valid.contains(&wrong) {
            wrong = "abcdef".into();
        }
        let v = verify(&server, &wrong);
        tasks.push(tokio::spawn(v));
    }
    let mut counts: HashMap<StatusCode, u32> = HashMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        counts.get(&StatusCode::FORBIDDEN),
        Some(&10),
        "exactly the cap: {counts:?}"
    );
    assert_eq!(
        counts.get(&StatusCode::TOO_MANY_REQUESTS),
        Some(&190),
        "{counts:?}"
    );
    let right = totp(&secret, SystemClock.now_unix());
    assert_eq!(verify(&a, &right).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(verify(&b, &right).await, StatusCode::TOO_MANY_REQUESTS);

    // ---- a revocation takes effect on both at once
    let (st, t) = api
        .call(
            Method::POST,
            &format!("{a}/api/v2/tokens"),
            &admin,
            Some(json!({"scopes": ["read:users"], "name": "short-lived"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let (token, token_id) = (
        t["token"].as_str().unwrap().to_owned(),
        t["id"].as_str().unwrap().to_owned(),
    );
    for server in [&a, &b, &a, &b] {
        let (st, _) = api
            .call(Method::GET, &format!("{server}/api/v2/users"), &token, None)
            .await;
        assert_eq!(st, StatusCode::OK, "valid on {server}");
    }
    let (st, _) = api
        .call(
            Method::DELETE,
            &format!("{a}/api/v2/tokens/{token_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for server in [&b, &a] {
        let (st, _) = api
            .call(Method::GET, &format!("{server}/api/v2/users"), &token, None)
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "revoked on {server} at once");
    }

    // ---- kill -9 of A under load: every acknowledged write is kept, B keeps serving
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for w in 0..8u32 {
        let (a, b, admin, acked) = (a.clone(), b.clone(), admin.clone(), Arc::clone(&acked));
        load.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..60u32 {
                let server = if (w + i) % 2 == 0 { &a } else { &b };
                let name = format!("load-{w}-{i}");
                let r = http
                    .post(format!("{server}/api/v2/users"))
                    .bearer_auth(&admin)
                    .json(&json!({"username": name}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                if let Ok(r) = r {
                    if r.status() == StatusCode::CREATED {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        if let Some(id) = v["user_id"].as_str() {
                            acked.lock().unwrap().push(id.to_owned());
                        }
                    }
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    inst.nodes[0].kill().unwrap();
    for t in load {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100, "{}", acked.len());
    for id in &acked {
        let (st, v) = api
            .call(Method::GET, &format!("{b}/api/v2/users/{id}"), &admin, None)
            .await;
        assert_eq!(st, StatusCode::OK, "acknowledged user {id} kept: {v}");
    }
    let (st, v) = api
        .call(
            Method::POST,
            &format!("{b}/api/v2/users"),
            &admin,
            Some(json!({"username": "after"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "B keeps serving: {v}");
}
