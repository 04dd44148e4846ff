//! A real server on 127.0.0.1 (its own runtime on its own thread, so a "restart" really drops
//! every connection), a controllable clock, a relying party and browsers over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use tessera_client::{EnrollOptions, VirtualDevice};
use tessera_core::device::wire::{EnrollOfferResponse, PushCreated, PushStatus};
use tessera_core::ManualClock;
use tessera_server::device::{
    routes, DeviceConfig, DeviceState, MemoryDirectory, SqliteDeviceStore,
};

pub const RP_TOKEN: &str = "rp-test-token-0123456789abcdef";
pub const START: u64 = 1_800_000_000;

pub struct Server {
    pub origin: String,
    pub port: u16,
    pub clock: Arc<ManualClock>,
    pub directory: Arc<MemoryDirectory>,
    pub db: PathBuf,
    pub config: DeviceConfig,
    _dir: Arc<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// A server with users alice and bob (passwords `alice-pw`, `bob-pw`).
    pub fn start() -> Result<Server> {
        Self::start_with(|_| {})
    }

    pub fn start_with(tweak: impl FnOnce(&mut DeviceConfig)) -> Result<Server> {
        let dir = Arc::new(tempfile::tempdir()?);
        let directory = Arc::new(MemoryDirectory::new());
        directory.add_user("alice", "alice-pw")?;
        directory.add_user("bob", "bob-pw")?;
        directory.add_token(RP_TOKEN)?;
        let mut config = DeviceConfig {
            push_rate_per_minute: 1000,
            ..DeviceConfig::default()
        };
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(START));
        let db = dir.path().join("server.db");
        let mut s = Server {
            origin: String::new(),
            port: 0,
            clock,
            directory,
            db,
            config,
            _dir: dir,
            stop: None,
            thread: None,
        };
        s.spawn(0)?;
        Ok(s)
    }

    fn spawn(&mut self, port: u16) -> Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<u16, String>>();
        let db = self.db.clone();
        let clock = self.clock.clone();
        let directory = self.directory.clone();
        let mut config = self.config.clone();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                let bound = (|| -> std::io::Result<tokio::net::TcpListener> {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.set_reuseaddr(true)?;
                    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
                    socket.listen(4096)
                })();
                let listener = match bound {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                config.origin = format!("http://127.0.0.1:{port}");
                let store = match SqliteDeviceStore::open(&db) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let state = match DeviceState::new(config, Arc::new(store), directory, clock) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(port));
                let app = routes(state).into_make_service_with_connect_info::<SocketAddr>();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime cancels every connection task: a hard stop.
            drop(rt);
        });
        let port = ready_rx
            .recv_timeout(Duration::from_secs(20))
            .context("server start")?
            .map_err(|e| anyhow!("server start: {e}"))?;
        self.port = port;
        self.origin = format!("http://127.0.0.1:{port}");
        self.config.origin = self.origin.clone();
        self.stop = Some(stop_tx);
        self.thread = Some(thread);
        Ok(())
    }

    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stops the server (dropping all connections) and starts it again on the same port and
    /// database.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let port = self.port;
        self.spawn(port)
    }

    pub fn rp(&self) -> Rp {
        Rp {
            origin: self.origin.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn offer(&self, user: &str) -> Result<EnrollOfferResponse> {
        let resp = reqwest::Client::new()
            .post(format!("{}/device/v1/enroll/offers", self.origin))
            .bearer_auth(RP_TOKEN)
            .json(&serde_json::json!({ "user": user }))
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "offer: {}", resp.status());
        Ok(resp.json().await?)
    }

    /// Enrolls a virtual device for `user`, using the server's clock for request timestamps.
    pub async fn device(&self, user: &str, name: &str) -> Result<VirtualDevice> {
        let offer = self.offer(user).await?;
        Ok(VirtualDevice::enroll_with(
            &offer.link,
            &EnrollOptions {
                device_name: name.into(),
                platform: "test".into(),
                ..EnrollOptions::default()
            },
            self.clock.clone(),
        )
        .await?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A relying party with the `push:create` token.
pub struct Rp {
    origin: String,
    http: reqwest::Client,
}

impl Rp {
    pub async fn push_raw(&self, user: &str, ttl: Option<u64>) -> Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}/api/v1/push", self.origin))
            .bearer_auth(RP_TOKEN)
            .json(&serde_json::json!({
                "user": user,
                "context": { "application": "Payroll", "origin": "https://payroll.example",
                             "ip": "203.0.113.9", "location": "Lisbon, PT", "user_agent": "Firefox" },
                "ttl": ttl,
            }))
            .send()
            .await?)
    }

    pub async fn push(&self, user: &str) -> Result<PushCreated> {
        let resp = self.push_raw(user, None).await?;
        anyhow::ensure!(resp.status().is_success(), "push: {}", resp.status());
        Ok(resp.json().await?)
    }

    pub async fn status(&self, tx: &str, wait: u64) -> Result<PushStatus> {
        let resp = self
            .http
            .get(format!("{}/api/v1/push/{tx}?wait={wait}", self.origin))
            .bearer_auth(RP_TOKEN)
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "status: {}", resp.status());
        Ok(resp.json().await?)
    }

    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let resp = self
            .http
            .get(format!("{}{path}", self.origin))
            .bearer_auth(RP_TOKEN)
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "{path}: {}", resp.status());
        Ok(resp.json().await?)
    }
}

/// A browser: a cookie jar of one cookie, kept by hand.
pub struct Browser {
    origin: String,
    http: reqwest::Client,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(origin: &str) -> Browser {
        Browser {
            origin: origin.to_owned(),
            http: reqwest::Client::new(),
            cookie: None,
        }
    }

    pub async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<(u16, serde_json::Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.origin));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await?;
        if let Some(set) = resp.headers().get("set-cookie") {
            let set = set.to_str()?;
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }
}

/// The server's error code from a client error.
pub fn code(e: &tessera_client::Error) -> &str {
    e.server_code().unwrap_or("(not a server error)")
}
