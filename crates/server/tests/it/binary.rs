//! The `tessera-server` binary: first start, invalid config, kill -9 and restart, no secrets
//! in logs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tessera-server")
}

struct Proc {
    child: Child,
    url: String,
    token: Option<String>,
    stderr_path: std::path::PathBuf,
}

fn start(dir: &std::path::Path, log: &str) -> Proc {
    let stderr_path = dir.join(format!("stderr-{}.log", std::process::id()));
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&stderr_path)
        .unwrap();
    let mut child = Command::new(bin())
        .args(["--listen", "127.0.0.1:0"])
        .env("XDG_DATA_HOME", dir)
        .env("HOME", dir)
        .env("TESSERA_LOG", log)
        .env_remove("TESSERA_SERVER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("tessera-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let second = lines.next().unwrap().unwrap();
    let token = if second.starts_with("First start") {
        Some(lines.next().unwrap().unwrap().trim().to_owned())
    } else {
        None
    };
    // Keep draining stdout in the background.
    std::thread::spawn(move || for _ in lines {});
    Proc {
        child,
        url,
        token,
        stderr_path,
    }
}

fn kill9(p: &mut Proc) {
    let _ = Command::new("kill")
        .args(["-9", &p.child.id().to_string()])
        .status();
    let _ = p.child.wait();
}

fn totp(secret: &str) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn first_start_kill9_restart_and_no_secrets_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path(), "tessera_server=debug,tower_http=debug");
    let admin = p
        .token
        .clone()
        .expect("the first start prints an admin token");
    let http = reqwest::Client::new();
    let user: serde_json::Value = http
        .post(format!("{}/api/v2/users", p.url))
        .bearer_auth(&admin)
        .json(&json!({"username": "kim", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap();
    let e: serde_json::Value = http
        .post(format!("{}/api/v2/users/{id}/authenticators", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = e["secret"].as_str().unwrap().to_owned();
    let code = totp(&secret);
    let verify = |url: String, code: String| {
        let http = http.clone();
        let admin = admin.clone();
        let id = id.to_owned();
        async move {
            http.post(format!("{url}/api/v2/users/{id}/otp-verification"))
                .bearer_auth(&admin)
                .json(&json!({"otp": code}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(verify(p.url.clone(), code.clone()).await, 200);
    kill9(&mut p);

    // The master key file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("tessera-server/master.key");
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let mut p2 = start(dir.path(), "tessera_server=debug");
    assert!(p2.token.is_none(), "the first token is printed once only");
    assert_eq!(
        verify(p2.url.clone(), code.clone()).await,
        403,
        "a used code stays used after kill -9"
    );
    let (_, list) = (
        0,
        http.get(format!("{}/api/v2/users/{id}/authenticators", p2.url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap(),
    );
    assert_eq!(list[0]["active"], true, "the enrollment survived kill -9");
    kill9(&mut p2);

    let logs = std::fs::read_to_string(&p.stderr_path).unwrap_or_default();
    assert!(!logs.contains(&secret), "secret in logs");
    assert!(!logs.contains(&admin), "token in logs");
    // The database holds the secret sealed, not in the clear.
    let db = std::fs::read(dir.path().join("tessera-server/tessera-server.sqlite3")).unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[test]
fn invalid_config_stops_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[totp]\ndigits = 4\n").unwrap();
    let out = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("totp.digits"), "{err}");

    let out = Command::new(bin())
        .env("XDG_DATA_HOME", dir.path())
        .env("TESSERA_SERVER_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`listen`"));
}

#[test]
fn admin_token_create_prints_a_working_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args([
            "admin",
            "token",
            "create",
            "--scopes",
            "read:users,read:logs",
        ])
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.len() >= 43);
    let out = Command::new(bin())
        .args(["admin", "token", "create", "--scopes", "everything"])
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}
