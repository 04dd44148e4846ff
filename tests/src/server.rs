//! A real tessera-server on 127.0.0.1, wired as the `tessera-server` binary wires it: a
//! `server.toml` loaded by [`Config::load`], then [`InProcess::start`] (`bind`, `open` on a
//! SQLite file and a key file in a temporary directory, `run`, on a runtime of its own thread,
//! so a restart really drops every connection), and a [`ManualClock`] the tests move. Users and
//! the relying party's token are created through the management API with the first admin token
//! `open` returns.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, ensure, Result};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_client::{EnrollOptions, VirtualDevice};
use tessera_core::device::wire::{EnrollOfferResponse, PushCreated, PushStatus};
use tessera_core::ManualClock;
use tessera_server::testing::InProcess;
use tessera_server::Config;

/// Where every test server's clock starts (unix seconds).
pub const START: u64 = 1_800_000_000;

/// The relying party's scopes: start pushes and read them, offer enrollments, read users'
/// devices and the device audit.
const RP_SCOPES: [&str; 2] = ["push:create", "devices:manage"];

/// `[device]` settings every test server has unless a test sets them: the tests push far more
/// often than a person would (the default is 5 a minute).
const DEVICE_DEFAULTS: [(&str, &str); 1] = [("push_rate_per_minute", "1000")];

/// A running server (stopped on drop).
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:<port>`: the device origin the server derived from its address.
    pub origin: String,
    /// The port it listens on (kept across restarts).
    pub port: u16,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
    /// The configuration as loaded from `server.toml` and bound.
    pub config: Config,
    /// The first admin token (every management scope).
    pub admin: String,
    /// The relying party's token ([`RP_SCOPES`]).
    pub rp_token: String,
    users: Mutex<HashMap<String, String>>,
    http: reqwest::Client,
    config_file: PathBuf,
    // Before `_dir`: the server stops before its directory goes.
    server: InProcess,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server with users alice and bob (no passwords).
    pub async fn start() -> Result<Server> {
        Self::start_with(&[]).await
    }

    /// [`Server::start`] with `[device]` settings of `server.toml`: (name, TOML value) pairs.
    pub async fn start_with(device: &[(&str, &str)]) -> Result<Server> {
        let s = Self::bare(device).await?;
        s.user("alice", None).await?;
        s.user("bob", None).await?;
        Ok(s)
    }

    /// A server without users: only the first admin token and the relying party's token.
    pub async fn bare(device: &[(&str, &str)]) -> Result<Server> {
        Self::bare_with(device, "").await
    }

    /// [`Server::bare`] with more of `server.toml` (whole sections, after `[device]`).
    pub async fn bare_with(device: &[(&str, &str)], more_toml: &str) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let config_file = write_config(dir.path(), device, more_toml)?;
        let clock = Arc::new(ManualClock::new(START));
        let server = InProcess::start(load(&config_file)?, clock.clone()).await?;
        let admin = server
            .first_admin
            .clone()
            .ok_or_else(|| anyhow!("a new database returns the first admin token"))?;
        let mut s = Server {
            origin: server.config.device.origin.clone(),
            port: server.addr.port(),
            clock,
            config: server.config.clone(),
            admin,
            rp_token: String::new(),
            users: Mutex::default(),
            http: reqwest::Client::new(),
            config_file,
            server,
            _dir: dir,
        };
        let admin = s.admin.clone();
        let (st, token) = s
            .call(
                Method::POST,
                "/api/v2/tokens",
                Some(&admin),
                Some(json!({"scopes": RP_SCOPES, "name": "relying party"})),
            )
            .await?;
        ensure!(st == 201, "token: {st} {token}");
        s.rp_token = token
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("token: no secret in {token}"))?
            .to_owned();
        Ok(s)
    }

    /// Stops the server: its runtime is dropped with every connection, as a killed process's.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Shuts the server down gracefully, as SIGTERM does the binary: `run` stops accepting,
    /// drains and returns. Fails if it has not returned within `limit` (a hang, not a speed
    /// target: the drain waits for requests in flight only).
    pub async fn shutdown(&mut self, limit: Duration) -> Result<()> {
        Ok(self.server.shutdown(limit).await?)
    }

    /// Stops the server and starts it again on the same port, database and key file (the
    /// binary run again with the same `server.toml` and `--listen 127.0.0.1:<port>`).
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        let mut config = load(&self.config_file)?;
        config.listen = format!("127.0.0.1:{}", self.port);
        let server = InProcess::start(config, self.clock.clone()).await?;
        ensure!(
            server.first_admin.is_none(),
            "a restarted server issues no new first admin token"
        );
        ensure!(
            server.config.device.origin == self.origin,
            "same origin after a restart"
        );
        self.config = server.config.clone();
        self.server = server;
        Ok(())
    }

    /// One request; the status and the JSON body (`null` when there is none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.origin));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// Creates a user through the management API; returns its id.
    pub async fn user(&self, name: &str, password: Option<&str>) -> Result<String> {
        self.create_user(name, json!({"username": name, "password": password}))
            .await
    }

    /// Creates a user with a password in an organization that requires MFA; returns its id.
    pub async fn user_requiring_mfa(&self, name: &str, password: &str) -> Result<String> {
        let (st, org) = self
            .call(
                Method::POST,
                "/api/v2/organizations",
                Some(&self.admin),
                Some(json!({"name": format!("org-{name}"), "require_mfa": true})),
            )
            .await?;
        ensure!(st == 201, "organization: {st} {org}");
        let org_id = org
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("organization: no id in {org}"))?;
        self.create_user(
            name,
            json!({"username": name, "password": password, "organizations": [org_id]}),
        )
        .await
    }

    pub async fn create_user(&self, name: &str, body: Value) -> Result<String> {
        let (st, v) = self
            .call(Method::POST, "/api/v2/users", Some(&self.admin), Some(body))
            .await?;
        ensure!(st == 201, "user {name}: {st} {v}");
        let id = v
            .get("user_id")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("user {name}: no user_id in {v}"))?
            .to_owned();
        self.users
            .lock()
            .map_err(|_| anyhow!("users lock"))?
            .insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The id of a user created by this harness.
    pub fn user_id(&self, name: &str) -> Result<String> {
        self.users
            .lock()
            .map_err(|_| anyhow!("users lock"))?
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("no user {name}"))
    }

    /// A relying party with [`Server::rp_token`].
    pub fn rp(&self) -> Rp {
        Rp {
            origin: self.origin.clone(),
            token: self.rp_token.clone(),
            http: self.http.clone(),
        }
    }

    /// An enrollment offer for `user`, made by the relying party.
    pub async fn offer(&self, user: &str) -> Result<EnrollOfferResponse> {
        let resp = self
            .http
            .post(format!("{}/device/v1/enroll/offers", self.origin))
            .bearer_auth(&self.rp_token)
            .json(&json!({ "user": user }))
            .send()
            .await?;
        ensure!(resp.status().is_success(), "offer: {}", resp.status());
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

/// Writes `server.toml` as an administrator would: loopback on a free port, the database and
/// key file in `dir`, and the `[device]` settings.
fn write_config(dir: &Path, device: &[(&str, &str)], more_toml: &str) -> Result<PathBuf> {
    let quoted = |name: &str| serde_json::to_string(&dir.join(name).to_string_lossy());
    let mut settings: BTreeMap<&str, &str> = DEVICE_DEFAULTS.into_iter().collect();
    settings.extend(device.iter().copied());
    let mut text = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = {}\nkey_file = {}\n\n[device]\n",
        quoted("server.db")?,
        quoted("master.key")?
    );
    for (name, value) in settings {
        writeln!(text, "{name} = {value}")?;
    }
    text.push_str(more_toml);
    let file = dir.join("server.toml");
    std::fs::write(&file, text)?;
    Ok(file)
}

/// Reads the configuration as the binary's `--config` does.
fn load(file: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(file)?;
    Ok(Config::load(
        Some(&text),
        std::iter::empty::<(String, String)>(),
    )?)
}

/// A relying party holding the server's relying-party token.
#[derive(Debug)]
pub struct Rp {
    origin: String,
    token: String,
    http: reqwest::Client,
}

impl Rp {
    /// `POST /api/v1/push` for `user` with a fixed context; the raw response.
    pub async fn push_raw(&self, user: &str, ttl: Option<u64>) -> Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}/api/v1/push", self.origin))
            .bearer_auth(&self.token)
            .json(&json!({
                "user": user,
                "context": { "application": "Payroll", "origin": "https://payroll.example",
                             "ip": "203.0.113.9", "location": "Lisbon, PT", "user_agent": "Firefox" },
                "ttl": ttl,
            }))
            .send()
            .await?)
    }

    /// A push that must be created.
    pub async fn push(&self, user: &str) -> Result<PushCreated> {
        let resp = self.push_raw(user, None).await?;
        ensure!(resp.status().is_success(), "push: {}", resp.status());
        Ok(resp.json().await?)
    }

    /// A push's outcome, long-polling up to `wait` seconds.
    pub async fn status(&self, tx: &str, wait: u64) -> Result<PushStatus> {
        self.get(&format!("/api/v1/push/{tx}?wait={wait}")).await
    }

    /// A GET with the relying party's token that must succeed.
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        self.get(path).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .http
            .get(format!("{}{path}", self.origin))
            .bearer_auth(&self.token)
            .send()
            .await?;
        ensure!(resp.status().is_success(), "{path}: {}", resp.status());
        Ok(resp.json().await?)
    }
}

/// A browser: a cookie jar of one cookie, kept by hand.
#[derive(Debug)]
pub struct Browser {
    origin: String,
    http: reqwest::Client,
    /// The last cookie the server set (`name=value`).
    pub cookie: Option<String>,
}

impl Browser {
    /// A browser with no cookie.
    pub fn new(origin: &str) -> Browser {
        Browser {
            origin: origin.to_owned(),
            http: reqwest::Client::new(),
            cookie: None,
        }
    }

    /// One request with the cookie; keeps a cookie the server sets.
    pub async fn send(&mut self, method: Method, path: &str) -> Result<(u16, Value)> {
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
        let body = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// The server's error code from a client error.
pub fn code(e: &tessera_client::Error) -> &str {
    e.server_code().unwrap_or("(not a server error)")
}
