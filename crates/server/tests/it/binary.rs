//! The binary: defaults, config errors, the admin token command, and kill -9 durability.

use std::process::Command;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tessera_core::{Clock, SystemClock};

use tessera_server::testing::ServerProcess;

use super::{oathtool, post_json, spawn_server, user_with_totp, BIN};

fn start(dir: &std::path::Path) -> ServerProcess {
    spawn_server(&[
        std::ffi::OsString::from("--database"),
        dir.join("db.sqlite").into(),
    ])
    .unwrap()
}

#[tokio::test]
async fn kill_9_loses_no_enrollment_and_no_used_code() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = start(tmp.path());
    let admin = p
        .first_admin
        .clone()
        .expect("first start prints the admin token");
    let c = Client::new();
    let (st, u) = post_json(
        &c,
        &p.url,
        &admin,
        "/api/v2/users",
        json!({"username": "sam"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let id = u["user_id"].as_str().unwrap();
    let (st, a) = post_json(
        &c,
        &p.url,
        &admin,
        &format!("/api/v2/users/{id}/authentication-methods"),
        json!({"type": "totp"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let secret = a["secret"].as_str().unwrap();
    let code = oathtool(secret, "SHA1", 6, 30, SystemClock.now_unix());
    let (st, v) = post_json(
        &c,
        &p.url,
        &admin,
        &format!("/api/v2/users/{id}/otp-verification"),
        json!({"otp": code}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    p.kill().unwrap(); // SIGKILL

    let mut p = start(tmp.path());
    assert!(
        p.first_admin.is_none(),
        "the first admin token is printed once only"
    );
    let (st, _) = post_json(
        &c,
        &p.url,
        &admin,
        &format!("/api/v2/users/{id}/otp-verification"),
        json!({"otp": code}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "used code refused after kill -9");
    let r = c
        .get(format!(
            "{}/api/v2/users/{id}/authentication-methods",
            p.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == a["id"] && x["active"] == true),
        "{list}"
    );

    // `admin token create` works against the same database while the server runs.
    let out = Command::new(BIN)
        .args([
            "admin",
            "token",
            "create",
            "--scopes",
            "read:users",
            "--database",
        ])
        .arg(tmp.path().join("db.sqlite"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let tok = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = c
        .get(format!("{}/api/v2/users", p.url))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    p.kill().unwrap();
}

#[test]
fn invalid_config_stops_with_one_line_naming_the_setting() {
    let out = Command::new(BIN)
        .env("TESSERA_SERVER_TOTP__SKEW", "99")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("totp.skew"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("c.toml");
    std::fs::write(&f, "[totp]\nuri_template = \"https://evil/\"\n").unwrap();
    let out = Command::new(BIN).arg("--config").arg(&f).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("totp.uri_template"));

    std::fs::write(&f, "[lockout]\nmax_failures = \"ten\"\n").unwrap();
    let out = Command::new(BIN).arg("--config").arg(&f).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("max_failures"));

    let out = Command::new(BIN)
        .args(["--listen", "nowhere"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().contains("`listen`"));
    let out = Command::new(BIN)
        .args(["admin", "token", "create", "--scopes", "root"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn on_loopback_the_device_origin_is_the_address_listened_on() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = start(tmp.path());
    let admin = p.first_admin.clone().unwrap();
    let c = Client::new();
    let (st, _) = post_json(
        &c,
        &p.url,
        &admin,
        "/api/v2/users",
        json!({"username": "olga"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, offer) = post_json(
        &c,
        &p.url,
        &admin,
        "/device/v1/enroll/offers",
        json!({"user": "olga"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{offer}");
    let link = tessera_core::device::EnrollLink::parse(offer["link"].as_str().unwrap()).unwrap();
    assert_eq!(
        link.origin, p.url,
        "enrollment links point back at this server"
    );
    p.kill().unwrap();
}

fn admin_cmd(db: &std::path::Path, args: &[&str], file: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .arg("admin")
        .args(args)
        .arg(file)
        .arg("--database")
        .arg(db)
        .output()
        .unwrap()
}

async fn usernames(c: &Client, url: &str, admin: &str) -> Vec<String> {
    let v: Value = c
        .get(format!("{url}/api/v2/users"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<String> = v["users"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn online_backup_then_restore_brings_back_that_state() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.sqlite");
    let backup = tmp.path().join("backup.sqlite");
    let mut p = start(tmp.path());
    let admin = p.first_admin.clone().unwrap();
    let c = Client::new();
    let (id, secret) = user_with_totp(&c, &p.url, &admin, "before").await;

    // Backed up while the server runs and writes.
    let out = admin_cmd(&db, &["backup", "--to"], &backup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("master key"),
        "reminds of the key"
    );
    // sqlite3, an independent reader, finds a sound database with the user in it.
    let check = Command::new("sqlite3")
        .arg(&backup)
        .arg("PRAGMA integrity_check; SELECT username FROM users;")
        .output()
        .expect("sqlite3 is installed (scripts/install-deps.sh)");
    assert_eq!(String::from_utf8_lossy(&check.stdout), "ok\nbefore\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup is as private as the database");
    }
    // A backup never overwrites.
    let again = admin_cmd(&db, &["backup", "--to"], &backup);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrite"));

    let (st, _) = post_json(
        &c,
        &p.url,
        &admin,
        "/api/v2/users",
        json!({"username": "after"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(usernames(&c, &p.url, &admin).await, ["after", "before"]);
    p.kill().unwrap();

    // A file that is not a backup is refused, and the database is left as it was.
    let junk = tmp.path().join("junk.sqlite");
    std::fs::write(&junk, b"not a database at all, just text").unwrap();
    let out = admin_cmd(&db, &["restore", "--from"], &junk);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.sqlite"));
    let out = admin_cmd(&db, &["restore", "--from"], &tmp.path().join("missing"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));

    let out = admin_cmd(&db, &["restore", "--from"], &backup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut p = start(tmp.path());
    assert_eq!(
        usernames(&c, &p.url, &admin).await,
        ["before"],
        "the backup's state"
    );
    // The sealed TOTP secret still opens under the same master key: the code verifies.
    let code = oathtool(&secret, "SHA1", 6, 30, SystemClock.now_unix());
    let (st, v) = post_json(
        &c,
        &p.url,
        &admin,
        &format!("/api/v2/users/{id}/otp-verification"),
        json!({"otp": code}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    p.kill().unwrap();
}

/// docs/deploy/: the example configuration loads as it is, and the systemd unit passes
/// `systemd-analyze verify` (with ExecStart pointed at this build's binary).
#[test]
fn the_deployment_examples_are_valid() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/deploy");
    let text = std::fs::read_to_string(format!("{docs}/config.toml")).unwrap();
    let config = tessera_server::Config::load(Some(&text), std::iter::empty()).unwrap();
    assert_eq!(config.storage.synchronous, "full");
    assert!(config.http.tls_cert.is_some() && config.http.tls_key.is_some());
    assert_eq!(config.device.origin, "https://auth.example.com");

    let available = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tessera_core::testing::prerequisite(available, "systemd-analyze (apt-get install systemd)")
    {
        return;
    }
    let unit = std::fs::read_to_string(format!("{docs}/tessera-server.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/tessera-server "));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("tessera-server.service");
    std::fs::write(
        &path,
        unit.replace(
            "ExecStart=/usr/local/bin/tessera-server",
            &format!("ExecStart={BIN}"),
        ),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Lines about this unit only (the host's own units may have their own complaints).
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("tessera-server.service"))
        .collect();
    assert!(out.status.success() && ours.is_empty(), "{stderr}");
}
