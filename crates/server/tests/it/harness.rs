use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Client, Method, Response};
use serde_json::Value;
use tessera_core::ManualClock;
use tessera_server::config::Config;
use tessera_server::AppState;

pub const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

pub struct Server {
    pub url: String,
    pub admin: String,
    pub clock: Arc<ManualClock>,
    pub http: Client,
    pub dir: Arc<tempfile::TempDir>,
    #[allow(dead_code)]
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn config(dir: &tempfile::TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database: Some(dir.path().join("server.sqlite3")),
        master_key_file: Some(dir.path().join("master.key")),
        ..Config::default()
    }
}

impl Server {
    pub async fn start() -> Server {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let c = config(&dir);
        Server::start_with(dir, c, Arc::new(ManualClock::new(T0))).await
    }

    pub async fn start_with(
        dir: Arc<tempfile::TempDir>,
        config: Config,
        clock: Arc<ManualClock>,
    ) -> Server {
        let settings = config.check().unwrap();
        let state = AppState::open(settings, clock.clone()).unwrap();
        let admin = state.create_admin_token(&["admin".to_owned()]).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let task = tokio::spawn(async move {
            tessera_server::run(listener, st, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            url,
            admin,
            clock,
            http: Client::new(),
            dir,
            state,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server (the database stays) and starts a new one on the same files.
    pub async fn restart(mut self) -> Server {
        self.shutdown().await;
        let c = config(&self.dir);
        Server::start_with(self.dir.clone(), c, self.clock.clone()).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        decode(req.send().await.unwrap()).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, Some(&self.admin.clone()), body)
            .await
    }

    pub async fn create_user(&self, name: &str, password: &str) -> String {
        let (s, v) = self
            .admin(
                Method::POST,
                "/api/v2/users",
                Some(serde_json::json!({"username": name, "password": password})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Enrolls TOTP for a user through the management API; returns (authenticator id, secret).
    pub async fn enroll(&self, user: &str) -> (String, String) {
        let (s, v) = self
            .admin(
                Method::POST,
                &format!("/api/v2/users/{user}/authenticators"),
                None,
            )
            .await;
        assert_eq!(s, 201, "{v}");
        (
            v["id"].as_str().unwrap().to_owned(),
            v["secret"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn verify(&self, user: &str, otp: &str) -> (u16, Value) {
        self.admin(
            Method::POST,
            &format!("/api/v2/users/{user}/otp-verification"),
            Some(serde_json::json!({"otp": otp})),
        )
        .await
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        decode(
            self.http
                .post(format!("{}/oauth/token", self.url))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

pub async fn decode(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// A TOTP code from oathtool (independent implementation).
pub fn oathtool(secret_b32: &str, alg: &str, digits: u8, period: u32, at: u64) -> String {
    let out = std::process::Command::new("oathtool")
        .args([
            &format!("--totp={alg}"),
            "-d",
            &digits.to_string(),
            "-s",
            &format!("{period}s"),
            "-N",
            &format!("@{at}"),
            "-b",
            secret_b32,
        ])
        .output()
        .expect("oathtool is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

#[allow(dead_code)]
pub fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
