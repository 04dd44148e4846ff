//! Shared harness: the calls the tests make to a server started by `tessera_server::testing`
//! (in this process on an ephemeral port with a clock the test moves, or the binary itself).

mod account;
mod admin;
mod admin_console;
mod applications;
mod audit;
mod binary;
mod block;
mod faults;
mod hardening;
mod i18n;
mod lockout;
mod mfa;
mod network;
mod oidc;
mod oob;
mod openapi;
mod ops;
mod passkey;
mod pg_tls;
mod policies;
mod recovery;
mod restart;
mod rotate;
mod settings;
mod signin_flow;
mod tls;
mod totp;
mod typing;
mod users;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use tessera_core::{Clock, ManualClock};
use tessera_server::testing::{InProcess, ServerProcess, StartError};
use tessera_server::{AppState, Config};

pub use tessera_server::testing::{config_in, fresh_pg_database, sqlite_config_in, PG_ENV};

/// 2026-01-01T00:00:00Z: where the test servers' clocks start.
pub const T0: u64 = 1_767_225_600;

/// A clock at [`T0`] that the test moves.
pub fn t0_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

/// A server in this process ([`InProcess`]) with the calls the tests make to it.
pub struct Server {
    pub url: String,
    pub client: Client,
    pub admin: String,
    pub clock: Arc<ManualClock>,
    /// The directory of the master key (and of the SQLite database, on a SQLite run).
    pub dir: PathBuf,
    /// The PostgreSQL connection string, on a PostgreSQL run.
    pub database: Option<String>,
    // Before `_tmp`: the server stops before its directory goes.
    server: InProcess,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = config_in(tmp.path()).unwrap();
        tweak(&mut config);
        let mut s = Self::start_in(config, t0_clock(), None).await;
        s._tmp = Some(tmp);
        s
    }

    /// Starts on an existing directory; `admin` is the token from a previous start.
    pub async fn start_in(
        config: Config,
        clock: Arc<ManualClock>,
        admin: Option<String>,
    ) -> Server {
        let server = InProcess::start(config, clock.clone()).await.unwrap();
        let admin = admin
            .or_else(|| server.first_admin.clone())
            .expect("first start prints the admin token");
        Self::over(server, clock, admin)
    }

    /// Serves a state the test opened (and keeps).
    pub async fn serve(state: AppState, clock: Arc<ManualClock>, admin: String) -> Server {
        Self::over(InProcess::serve(state).await.unwrap(), clock, admin)
    }

    fn over(server: InProcess, clock: Arc<ManualClock>, admin: String) -> Server {
        let dir = server
            .config
            .key_file
            .as_deref()
            .and_then(std::path::Path::parent)
            .expect("the test configuration has a key file")
            .to_owned();
        Server {
            url: server.url.clone(),
            client: Client::new(),
            admin,
            clock,
            dir,
            database: server.config.database.url.clone(),
            server,
            _tmp: None,
        }
    }

    /// Stops the server at once (nothing drains), keeping the directory (for restart tests).
    pub fn stop(mut self) -> (Option<tempfile::TempDir>, String) {
        self.server.stop();
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
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
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

/// Starts this build's binary on 127.0.0.1 (a free port) with `args` (`--database …` and so
/// on) and waits until it listens; [`StartError::Exited`] with its stderr when it stops instead.
pub fn spawn_server<S: AsRef<OsStr>>(args: &[S]) -> Result<ServerProcess, StartError> {
    ServerProcess::spawn(
        ServerProcess::command(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(args),
    )
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
