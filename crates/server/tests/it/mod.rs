//! Shared harness: a server on an ephemeral port with a clock the test moves.

mod admin;
mod binary;
mod faults;
mod hardening;
mod lockout;
mod mfa;
mod network;
mod openapi;
mod ops;
mod pg_tls;
mod policies;
mod recovery;
mod restart;
mod rotate;
mod tls;
mod totp;
mod users;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;
use tessera_server::{AppState, Config};

/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600;

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(AtomicU64);

impl TestClock {
    pub fn advance(&self, d: u64) {
        self.0.fetch_add(d, Ordering::SeqCst);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for TestClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Server {
    pub url: String,
    pub client: Client,
    pub admin: String,
    pub clock: Arc<TestClock>,
    pub dir: PathBuf,
    /// The PostgreSQL connection string, on a PostgreSQL run.
    pub database: Option<String>,
    _tmp: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The PostgreSQL server the suite runs on instead of SQLite, when set (scripts/test.sh runs
/// the suite once on each engine; scripts/pg-cluster.sh starts a private cluster).
pub const PG_ENV: &str = "TESSERA_TEST_DATABASE_URL";

/// A test configuration: defaults, key in `dir`, and a fresh database — a SQLite file in `dir`,
/// or a new PostgreSQL database when [`PG_ENV`] is set.
pub fn config_in(dir: &Path) -> Config {
    let database = match std::env::var(PG_ENV) {
        Ok(admin) => tessera_server::config::DatabaseConfig::postgres(fresh_pg_database(&admin)),
        Err(_) => tessera_server::config::DatabaseConfig::sqlite(dir.join("tessera.db")),
    };
    Config {
        database,
        key_file: Some(dir.join("master.key")),
        ..Config::default()
    }
}

/// A SQLite configuration whatever the engine of the run (tests of the file itself).
pub fn sqlite_config_in(dir: &Path) -> Config {
    Config {
        database: tessera_server::config::DatabaseConfig::sqlite(dir.join("tessera.db")),
        key_file: Some(dir.join("master.key")),
        ..Config::default()
    }
}

/// A new, empty database on the PostgreSQL server at `admin_url`; its URL.
pub fn fresh_pg_database(admin_url: &str) -> String {
    let name = format!(
        "t_{}",
        tessera_server::crypto::random_id("")
            .unwrap()
            .to_lowercase()
    );
    tessera_server::store::pg::create_database(admin_url, &name).unwrap()
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let mut config = config_in(&dir);
        tweak(&mut config);
        let clock = Arc::new(TestClock(AtomicU64::new(T0)));
        let mut s = Self::start_in(config, Arc::clone(&clock), None).await;
        s._tmp = Some(tmp);
        s.dir = dir;
        s
    }

    /// Starts on an existing directory; `admin` is the token from a previous start.
    pub async fn start_in(config: Config, clock: Arc<TestClock>, admin: Option<String>) -> Server {
        let dir = config
            .key_file
            .clone()
            .unwrap()
            .parent()
            .unwrap()
            .to_owned();
        let database = config.database.url.clone();
        let (state, first) = tessera_server::open(config, clock.clone()).unwrap();
        let admin = admin.or(first).expect("first start prints the admin token");
        let mut s = Self::serve(state, clock, admin, dir).await;
        s.database = database;
        s
    }

    pub async fn serve(
        state: AppState,
        clock: Arc<TestClock>,
        admin: String,
        dir: PathBuf,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            tessera_server::run(listener, state, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            url,
            client: Client::new(),
            admin,
            clock,
            dir,
            database: None,
            _tmp: None,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server, keeping the directory (for restart tests).
    pub async fn stop(mut self) -> (Option<tempfile::TempDir>, String) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        (self._tmp.take(), self.admin.clone())
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut rb = self.client.request(method, format!("{}{}", self.url, path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap()
    }

    /// Calls and returns status and JSON body (Null when empty).
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let r = self.call(method, path, token, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, v)
    }

    pub async fn admin_json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let admin = self.admin.clone();
        self.json(method, path, Some(&admin), body).await
    }

    pub async fn create_user(&self, username: &str, password: Option<&str>) -> String {
        let mut body = json!({"username": username, "email": format!("{username}@example.com")});
        if let Some(p) = password {
            body["password"] = json!(p);
        }
        let (s, v) = self
            .admin_json(Method::POST, "/api/v2/users", Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["user_id"].as_str().unwrap().to_owned()
    }

    /// Password grant; returns (status, body).
    pub async fn password_grant(&self, username: &str, password: &str) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            "/oauth/token",
            None,
            Some(json!({"grant_type": "password", "username": username, "password": password})),
        )
        .await
    }

    /// Enrolls a TOTP authenticator through the management API; returns the association body.
    pub async fn admin_enroll(&self, user_id: &str) -> Value {
        let (s, v) = self
            .admin_json(
                Method::POST,
                &format!("/api/v2/users/{user_id}/authentication-methods"),
                Some(json!({"type": "totp"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Checks a code through the management API.
    pub async fn verify(&self, user_id: &str, otp: &str) -> (StatusCode, Value) {
        self.admin_json(
            Method::POST,
            &format!("/api/v2/users/{user_id}/otp-verification"),
            Some(json!({"otp": otp})),
        )
        .await
    }

    /// Audit events of a user and type.
    pub async fn events(&self, user_id: &str, kind: &str) -> Vec<Value> {
        let (s, v) = self
            .admin_json(
                Method::GET,
                &format!("/api/v2/logs?user_id={user_id}&type={kind}&per_page=100"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["logs"].as_array().unwrap().clone()
    }
}

/// A code from oathtool (the independent implementation) for `at` unix seconds; oathtool stops
/// at 8 digits, so longer codes come from Python's hmac module (independent too).
pub fn oathtool(secret_b32: &str, algorithm: &str, digits: u8, period: u32, at: u64) -> String {
    if digits > 8 {
        return python_totp(secret_b32, algorithm, digits, period, at);
    }
    let alg = match algorithm {
        "SHA1" => "sha1",
        "SHA256" => "sha256",
        "SHA512" => "sha512",
        other => panic!("{other}"),
    };
    let out = Command::new("oathtool")
        .arg(format!("--totp={alg}"))
        .args([
            "-d",
            &digits.to_string(),
            "-s",
            &format!("{period}s"),
            "--now",
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

/// Reads the otpauth URI parameters of an association.
pub fn uri_param(uri: &str, name: &str) -> String {
    let q = uri.split_once('?').unwrap().1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing in {uri}"))
        .to_owned()
}

/// Asserts the one error shape and returns `error`.
pub fn error_code(v: &Value) -> String {
    assert!(v["error_description"].is_string(), "error shape: {v}");
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("error shape: {v}"))
        .to_owned()
}

/// A recovery code as a person may type it: lower case, a dash every four characters.
pub fn as_typed(code: &str) -> String {
    code.to_ascii_lowercase()
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Enrolls and confirms a TOTP authenticator for `user_id`; returns (association, secret).
pub async fn enrolled(s: &Server, user_id: &str) -> (Value, String) {
    let assoc = s.admin_enroll(user_id).await;
    let secret = assoc["secret"].as_str().unwrap().to_owned();
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.get());
    let (st, v) = s.verify(user_id, &code).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed"], true);
    (assoc, secret)
}

fn python_totp(secret_b32: &str, algorithm: &str, digits: u8, period: u32, at: u64) -> String {
    let script = "import base64,hmac,hashlib,struct,sys\n\
s=sys.argv[1]; s+='='*(-len(s)%8)\n\
k=base64.b32decode(s); alg=sys.argv[2].lower(); d=int(sys.argv[3]); t=int(sys.argv[5])//int(sys.argv[4])\n\
h=hmac.new(k,struct.pack('>Q',t),getattr(hashlib,alg)).digest(); o=h[-1]&15\n\
v=struct.unpack('>I',h[o:o+4])[0]&0x7fffffff\n\
print(str(v%10**d).zfill(d))";
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            secret_b32,
            algorithm,
            &digits.to_string(),
            &period.to_string(),
            &at.to_string(),
        ])
        .output()
        .expect("python3 is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `sql` on the PostgreSQL database at `url` (as another program would).
pub async fn pg_execute(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = driver.await;
}

/// Every table (by name, in order) and its rows of the PostgreSQL database at `url`, as text
/// (BYTEA in hex): what someone who reads the database sees.
pub async fn pg_dump_text(url: &str) -> String {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
              WHERE table_schema = current_schema() ORDER BY table_name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("table {t}\n"));
        let rows = client
            .query(&format!("SELECT t::text FROM \"{t}\" t ORDER BY 1"), &[])
            .await
            .unwrap();
        for r in rows {
            out.push_str(r.get::<_, &str>(0));
            out.push('\n');
        }
    }
    drop(client);
    let _ = driver.await;
    out
}

/// The `tessera-server` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_tessera-server");

/// A running `tessera-server` process (killed on drop).
pub struct Proc {
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The first admin token, when this start printed one.
    pub token: Option<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on 127.0.0.1 (a free port) with `args` (`--database …` and so on) and
/// waits until it listens; `Err` with its stderr when it stops instead.
pub fn spawn_server<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<Proc, String> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("TESSERA_SERVER_LOG", "warn")
        .env_remove("TESSERA_SERVER_MASTER_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(Ok(first)) = lines.next() else {
        let out = child.wait_with_output().unwrap();
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    };
    let url = first
        .strip_prefix("tessera-server listening on ")
        .unwrap()
        .to_owned();
    let second = lines.next().unwrap().unwrap();
    let token = if second.starts_with("First admin token") {
        Some(lines.next().unwrap().unwrap())
    } else {
        None
    };
    // Drain stderr so the process never blocks on a full pipe.
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    }
    Ok(Proc { child, url, token })
}

/// `POST url+path` with a bearer token and a JSON body: the status and the JSON answer.
pub async fn post_json(
    c: &Client,
    url: &str,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let r = c
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Creates `username` on the server at `url` and enrolls a TOTP authenticator (not yet
/// confirmed): the user id and the base32 secret.
pub async fn user_with_totp(
    c: &Client,
    url: &str,
    token: &str,
    username: &str,
) -> (String, String) {
    let (st, u) = post_json(
        c,
        url,
        token,
        "/api/v2/users",
        json!({"username": username}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    let id = u["user_id"].as_str().unwrap().to_owned();
    let (st, a) = post_json(
        c,
        url,
        token,
        &format!("/api/v2/users/{id}/authentication-methods"),
        json!({"type": "totp"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    (id, a["secret"].as_str().unwrap().to_owned())
}
