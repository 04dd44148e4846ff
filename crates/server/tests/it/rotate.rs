//! The binary's admin commands on either engine (PostgreSQL when `TESSERA_TEST_DATABASE_URL`
//! is set): master-key rotation, and backup/restore of a PostgreSQL database with pg_dump.

use std::path::Path;
use std::process::{Command, Output};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tessera_core::{Clock, SystemClock};

use tessera_server::testing::{ServerProcess, StartError};

use super::{fresh_pg_database, oathtool, post_json, spawn_server, user_with_totp, BIN, PG_ENV};

/// The `--database` value for this run: a SQLite file in `dir`, or a new PostgreSQL database.
fn database(dir: &Path) -> String {
    match std::env::var(PG_ENV) {
        Ok(admin) => fresh_pg_database(&admin).unwrap(),
        Err(_) => dir.join("db.sqlite").display().to_string(),
    }
}

fn serve(db: &str, key: &Path) -> Result<ServerProcess, StartError> {
    spawn_server(&[
        std::ffi::OsStr::new("--database"),
        db.as_ref(),
        "--key-file".as_ref(),
        key.as_os_str(),
    ])
}

fn admin(db: &str, key: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("admin")
        .args(args)
        .args(["--database", db, "--key-file"])
        .arg(key)
        .env_remove("TESSERA_SERVER_MASTER_KEY")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn verify(
    c: &Client,
    p: &ServerProcess,
    token: &str,
    id: &str,
    secret: &str,
    at: u64,
) -> StatusCode {
    let code = oathtool(secret, "SHA1", 6, 30, at);
    post_json(
        c,
        &p.url,
        token,
        &format!("/api/v2/users/{id}/otp-verification"),
        json!({"otp": code}),
    )
    .await
    .0
}

#[tokio::test]
async fn a_rotated_key_opens_every_secret_and_the_old_one_no_longer_does() {
    let tmp = tempfile::tempdir().unwrap();
    let db = database(tmp.path());
    let (old_key, new_key) = (tmp.path().join("old.key"), tmp.path().join("new.key"));
    let p = serve(&db, &old_key).unwrap();
    let token = p.first_admin.clone().unwrap();
    let c = Client::new();
    let (id, secret) = user_with_totp(&c, &p.url, &token, "rhea").await;
    let now = SystemClock.now_unix();
    assert_eq!(
        verify(&c, &p, &token, &id, &secret, now).await,
        StatusCode::OK
    );
    drop(p);

    let out = ok(&admin(
        &db,
        &old_key,
        &[
            "rotate-key",
            "--new-key-file",
            &new_key.display().to_string(),
        ],
    ));
    // One TOTP secret and the device identity key.
    assert!(out.contains("re-sealed 2 secrets"), "{out}");
    assert_ne!(
        std::fs::read(&old_key).unwrap(),
        std::fs::read(&new_key).unwrap()
    );

    // The old key no longer opens the database's sealed data: refused at start, by name.
    let err = serve(&db, &old_key)
        .expect_err("the old key is refused")
        .to_string();
    assert!(err.contains("master key"), "{err}");
    // The new one opens everything: the secret sealed before the rotation verifies.
    let p = serve(&db, &new_key).unwrap();
    assert_eq!(
        verify(&c, &p, &token, &id, &secret, now + 30).await,
        StatusCode::OK,
        "the TOTP secret re-sealed under the new key"
    );
    // A key file that is not a key is refused before anything changes.
    drop(p);
    let junk = tmp.path().join("junk.key");
    std::fs::write(&junk, b"short").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let bad = admin(
        &db,
        &new_key,
        &["rotate-key", "--new-key-file", &junk.display().to_string()],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("32 bytes"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // Nothing changed: the new key still opens the database (its device identity).
    serve(&db, &new_key).expect("unchanged by the refused rotation");
}

#[tokio::test]
async fn a_postgres_dump_restores_the_state_it_was_taken_in() {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        return; // the SQLite backup has its own test (binary.rs); this one is pg_dump's
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = fresh_pg_database(&admin_url).unwrap();
    let key = tmp.path().join("master.key");
    let dump = tmp.path().join("tessera.dump");
    let p = serve(&db, &key).unwrap();
    let token = p.first_admin.clone().unwrap();
    let c = Client::new();
    let (id, secret) = user_with_totp(&c, &p.url, &token, "before").await;

    // While the server runs.
    let out = ok(&admin(
        &db,
        &key,
        &["backup", "--to", &dump.display().to_string()],
    ));
    assert!(out.contains("master key"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // pg_restore, an independent reader, lists the user in the dump.
    let listed = Command::new("pg_restore")
        .args(["--data-only", "--table=users", "--file=-"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("before"),
        "{} {}",
        String::from_utf8_lossy(&listed.stdout),
        String::from_utf8_lossy(&listed.stderr)
    );
    let again = admin(&db, &key, &["backup", "--to", &dump.display().to_string()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrite"));

    let (st, _) = post_json(
        &c,
        &p.url,
        &token,
        "/api/v2/users",
        json!({"username": "after"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    drop(p);

    let junk = tmp.path().join("junk.dump");
    std::fs::write(&junk, b"not a dump").unwrap();
    let bad = admin(
        &db,
        &key,
        &["restore", "--from", &junk.display().to_string()],
    );
    assert!(!bad.status.success());
    ok(&admin(
        &db,
        &key,
        &["restore", "--from", &dump.display().to_string()],
    ));

    let p = serve(&db, &key).unwrap();
    let names: Value = c
        .get(format!("{}/api/v2/users", p.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = names["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["before"], "the dump's state");
    assert_eq!(
        verify(&c, &p, &token, &id, &secret, SystemClock.now_unix()).await,
        StatusCode::OK,
        "sealed secrets open under the same key"
    );
}

/// A passkey's credential is sealed at rest like the TOTP secrets: a key rotation re-seals it,
/// and it signs in afterwards under the new key.
#[tokio::test]
async fn a_rotated_key_reseals_passkeys() {
    use tessera_server::passkey::soft::SoftKey;
    let tmp = tempfile::tempdir().unwrap();
    let db = database(tmp.path());
    let (old_key, new_key) = (tmp.path().join("old.key"), tmp.path().join("new.key"));
    let p = serve(&db, &old_key).unwrap();
    let admin_token = p.first_admin.clone().unwrap();
    let c = Client::new();
    let pw = "correct horse battery";
    let (st, _) = post_json(
        &c,
        &p.url,
        &admin_token,
        "/api/v2/users",
        json!({"username": "pat", "password": pw}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let tok: Value = c
        .post(format!("{}/oauth/token", p.url))
        .json(&json!({"grant_type": "password", "username": "pat", "password": pw}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tok["access_token"].as_str().unwrap();
    let (st, begun) = post_json(
        &c,
        &p.url,
        access,
        "/api/v2/me/authenticators",
        json!({"type": "passkey"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{begun}");
    let mut key = SoftKey::new(&p.url);
    let credential = key.create(&begun["options"]);
    let (st, v) = post_json(
        &c,
        &p.url,
        access,
        "/api/v2/me/passkey-verification",
        json!({"ceremony_id": begun["ceremony_id"], "credential": credential}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    drop(p);

    let out = ok(&admin(
        &db,
        &old_key,
        &[
            "rotate-key",
            "--new-key-file",
            &new_key.display().to_string(),
        ],
    ));
    // The passkey's credential and the device identity key.
    assert!(out.contains("re-sealed 2 secrets"), "{out}");

    // Passwordless under the new key (the page's calls, with the browser cookie).
    let p = serve(&db, &new_key).unwrap();
    // The restarted server listens on another port: another origin for the browser.
    key.origin = SoftKey::new(&p.url).origin;
    let start = c
        .post(format!("{}/signin/api/flows", p.url))
        .send()
        .await
        .unwrap();
    let cookie = start.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let flow: Value = start.json().await.unwrap();
    let path = format!(
        "{}/signin/api/flows/{}",
        p.url,
        flow["flow_id"].as_str().unwrap()
    );
    let options: Value = c
        .post(format!("{path}/passkey/options"))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = c
        .post(format!("{path}/passkey"))
        .header("cookie", &cookie)
        .json(&json!({"credential": key.get(&options["passkey"])}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(done["user"]["username"], "pat");
}
