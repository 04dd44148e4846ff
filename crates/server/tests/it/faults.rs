//! PostgreSQL faults (run when `TESSERA_TEST_DATABASE_URL` is set): an unreachable database at
//! start, a database of another program or of a newer server, and the database going away and
//! coming back under a running server — a clear error or 503 with `Retry-After`, never a false
//! success, and the server reconnects by itself.

use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use tessera_server::config::DatabaseConfig;

use super::{config_in, error_code, fresh_pg_database, t0_clock, Server, PG_ENV};

/// Runs `sql` with `psql` (another program than the server) on `conninfo`.
pub(super) fn psql(conninfo: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
            "-c",
            sql,
        ])
        .output()
        .expect("psql is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The database name of a `postgres://…/name?…` URL.
pub(super) fn dbname(url: &str) -> String {
    let path = url.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_owned()
}

fn open(database: DatabaseConfig) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config_in(tmp.path()).unwrap();
    config.database = database;
    tessera_server::open(config, t0_clock())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn a_database_that_is_not_ours_or_is_newer_or_is_away_is_refused_by_name() {
    let Ok(admin) = std::env::var(PG_ENV) else {
        return;
    };
    // Nothing listens there: the error names the place, never the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = open(DatabaseConfig::postgres(format!(
        "postgres://tessera:s3cret@127.0.0.1:{port}/tessera?connect_timeout=2"
    )))
    .unwrap_err();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(!e.contains("s3cret"), "{e}");

    // Another program's tables and no schema record: refused, left alone.
    let other = fresh_pg_database(&admin).unwrap();
    psql(&other, "CREATE TABLE invoices (id int)");
    let e = open(DatabaseConfig::postgres(other.clone())).unwrap_err();
    assert!(e.contains("another program"), "{e}");
    assert_eq!(
        psql(&other, "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'").trim(),
        "invoices"
    );

    // A newer server migrated it: refused with both versions, not altered.
    let newer = fresh_pg_database(&admin).unwrap();
    open(DatabaseConfig::postgres(newer.clone())).unwrap();
    psql(&newer, "UPDATE tessera_schema SET version = 999");
    let before = psql(
        &newer,
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'",
    );
    let e = open(DatabaseConfig::postgres(newer.clone())).unwrap_err();
    assert!(
        e.contains("newer than this server") && e.contains("999"),
        "{e}"
    );
    assert_eq!(
        psql(&newer, "SELECT version FROM tessera_schema").trim(),
        "999"
    );
    assert_eq!(
        psql(
            &newer,
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'"
        ),
        before
    );
}

#[tokio::test]
async fn while_the_database_is_away_requests_get_503_and_the_server_comes_back_by_itself() {
    let Ok(admin) = std::env::var(PG_ENV) else {
        return;
    };
    let s = Server::start_with(|c| c.database.pool_timeout_secs = Some(2)).await;
    let conninfo = s_database(&s);
    let name = dbname(&conninfo);
    s.create_user("before", None).await;

    // The database refuses connections and drops the ones it has (as a restart does).
    psql(
        &admin,
        &format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}';"
        ),
    );
    let r = s
        .call(Method::GET, "/api/v2/users", Some(&s.admin.clone()), None)
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), "temporarily_unavailable");
    let (st, _) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(serde_json::json!({"username": "lost"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::SERVICE_UNAVAILABLE,
        "no false success for a write"
    );
    assert_eq!(
        s.call(Method::GET, "/readyz", None, None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        s.call(Method::GET, "/healthz", None, None).await.status(),
        StatusCode::OK
    );

    // Back: the pool reconnects without a restart.
    psql(
        &admin,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
    let mut ready = false;
    for _ in 0..100 {
        if s.call(Method::GET, "/readyz", None, None).await.status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the database is back");
    let (st, v) = s.admin_json(Method::GET, "/api/v2/users", None).await;
    assert_eq!(st, StatusCode::OK);
    let names: Vec<&str> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["before"], "the refused write did not happen");
}

/// The test server's database connection string.
fn s_database(s: &Server) -> String {
    s.database.clone().expect("a PostgreSQL run")
}
