//! TLS between the server and PostgreSQL, against the real cluster of scripts/pg-cluster.sh
//! (`ssl=on`, a throwaway CA in `TESSERA_TEST_PG_CA`); skipped when it is not set. What a
//! session is, PostgreSQL itself says (`pg_stat_ssl`), asked through the server's own pool.
//! A wrong CA or host name is refused naming the cause, never the password; the whole server,
//! its `LISTEN` connection, `create_database` and the backup tools speak TLS as the URL says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use reqwest::Method;
use tessera_server::config::DatabaseConfig;
use tessera_server::store::pg::{self, Pg, PoolOptions};

use super::faults::{dbname, psql};
use super::{config_in, t0_clock, Server, BIN, PG_ENV};

/// The CA of the test cluster's certificate (scripts/pg-cluster.sh).
const CA_ENV: &str = "TESSERA_TEST_PG_CA";

/// A password the cluster ignores (trust authentication), to see that no message repeats it.
const PASSWORD: &str = "s3cret-pw";

/// The test cluster: its admin URL without a query, and its CA.
struct Cluster {
    admin: String,
    ca: PathBuf,
}

fn cluster() -> Option<Cluster> {
    let admin = std::env::var(PG_ENV).ok()?;
    let ca = std::env::var(CA_ENV).ok()?;
    Some(Cluster {
        admin: without_query(&admin),
        ca: PathBuf::from(ca),
    })
}

fn without_query(url: &str) -> String {
    url.split('?').next().unwrap().to_owned()
}

/// `url` with `query` in place of its own.
fn with_query(url: &str, query: &str) -> String {
    format!("{}?{query}", without_query(url))
}

/// `url` (`postgres://user@…`) with [`PASSWORD`].
fn with_password(url: &str) -> String {
    url.replacen('@', &format!(":{PASSWORD}@"), 1)
}

fn verify_full(ca: &Path) -> String {
    format!("sslmode=verify-full&sslrootcert={}", ca.display())
}

impl Cluster {
    /// A new database, created over `verify-full` with the cluster's CA; its URL (which keeps
    /// those settings).
    fn fresh(&self) -> String {
        let admin = with_query(&self.admin, &verify_full(&self.ca));
        let name = format!(
            "t_{}",
            tessera_server::crypto::random_id("")
                .unwrap()
                .to_lowercase()
        );
        pg::create_database(&admin, &name).unwrap()
    }
}

/// Whether the server's pool on `url` gets an encrypted session, as PostgreSQL reports it.
fn pool_ssl(url: &str) -> Result<bool, String> {
    let pg = Pg::connect(url, PoolOptions::default()).map_err(|e| e.to_string())?;
    pg.call(|c| async move {
        let row = c
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await?;
        Ok(row.get::<_, bool>(0))
    })
    .map_err(|e| e.to_string())
}

/// Another CA than the cluster's, made by the `openssl` command.
fn other_ca(dir: &Path) -> PathBuf {
    super::tls::certificates(dir).0
}

#[test]
fn verify_full_with_the_ca_encrypts_the_servers_pool() {
    let Some(c) = cluster() else { return };
    // create_database itself connected with verify-full and the CA.
    let db = c.fresh();
    assert!(db.contains("sslmode=verify-full"), "{db}");
    assert_eq!(pool_ssl(&db), Ok(true));
    // The certificate names localhost too.
    let localhost = db.replacen("127.0.0.1", "localhost", 1);
    assert_eq!(pool_ssl(&localhost), Ok(true));
}

#[test]
fn disable_is_plain_and_the_other_modes_encrypt() {
    let Some(c) = cluster() else { return };
    let db = c.fresh();
    assert_eq!(pool_ssl(&with_query(&db, "sslmode=disable")), Ok(false));
    for mode in ["prefer", "require"] {
        assert_eq!(
            pool_ssl(&with_query(&db, &format!("sslmode={mode}"))),
            Ok(true),
            "{mode}"
        );
    }
    let verify_ca = format!("sslmode=verify-ca&sslrootcert={}", c.ca.display());
    assert_eq!(pool_ssl(&with_query(&db, &verify_ca)), Ok(true));
    // The key=value form says the same.
    let kv = format!(
        "host=127.0.0.1 port={} user={} dbname={} sslmode=verify-full sslrootcert='{}'",
        port(&db),
        user(&db),
        dbname(&db),
        c.ca.display()
    );
    assert_eq!(pool_ssl(&kv), Ok(true));
}

/// The port of a `postgres://user@host:port/…` URL.
fn port(url: &str) -> String {
    let authority = without_query(url);
    let host_port = authority
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    host_port.rsplit(':').next().unwrap().to_owned()
}

fn user(url: &str) -> String {
    let rest = url.strip_prefix("postgres://").unwrap();
    rest.split('@').next().unwrap().to_owned()
}

#[test]
fn without_sslmode_the_url_means_verify_full() {
    let Some(c) = cluster() else { return };
    let db = c.fresh();
    // The CA alone: verified and encrypted.
    let ca_only = with_query(&db, &format!("sslrootcert={}", c.ca.display()));
    assert_eq!(pool_ssl(&ca_only), Ok(true));
    // No CA: the system's bundle, which does not hold the test CA: refused, saying why.
    let e = pool_ssl(&with_password(&without_query(&db))).unwrap_err();
    assert!(
        e.contains("sslmode=verify-full (the default)") && e.contains("UnknownIssuer"),
        "{e}"
    );
    assert!(!e.contains(PASSWORD), "{e}");
}

#[test]
fn a_wrong_ca_is_refused_naming_the_cause_never_the_password() {
    let Some(c) = cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let other = other_ca(tmp.path());
    let db = with_password(&c.fresh());
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let url = with_query(
            &db,
            &format!("sslmode={mode}&sslrootcert={}", other.display()),
        );
        let e = pool_ssl(&url).unwrap_err();
        assert!(
            e.starts_with("cannot open the database")
                && e.contains(&format!("sslmode={mode}"))
                && e.contains(&format!("sslrootcert {}", other.display()))
                && e.contains("invalid peer certificate: UnknownIssuer"),
            "{mode}: {e}"
        );
        assert!(!e.contains(PASSWORD), "{e}");
    }
    // The whole server refuses to start the same way, and so does create_database.
    let e = open(with_query(&db, &verify_full(&other))).unwrap_err();
    assert!(e.contains("UnknownIssuer") && !e.contains(PASSWORD), "{e}");
    let e = pg::create_database(
        &with_password(&with_query(&c.admin, &verify_full(&other))),
        "t_never",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("UnknownIssuer") && !e.contains(PASSWORD), "{e}");
    // An unreadable CA file is named before any connection.
    let missing = tmp.path().join("missing.pem");
    let e = pool_ssl(&with_query(&db, &verify_full(&missing))).unwrap_err();
    assert!(
        e.contains("sslrootcert") && e.contains(&missing.display().to_string()),
        "{e}"
    );
}

#[test]
fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let Some(c) = cluster() else { return };
    let db = c.fresh();
    // The same server, reached at its address but named otherwise.
    let renamed = with_query(
        &db.replacen("127.0.0.1", "db.example.invalid", 1),
        &format!("hostaddr=127.0.0.1&{}", verify_full(&c.ca)),
    );
    let e = pool_ssl(&renamed).unwrap_err();
    assert!(
        e.contains("db.example.invalid") && e.contains("not valid for name"),
        "{e}"
    );
    // verify-ca checks the chain only: the same connection is accepted.
    let chain_only = renamed.replace("sslmode=verify-full", "sslmode=verify-ca");
    assert_eq!(pool_ssl(&chain_only), Ok(true));
}

fn open(url: String) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config_in(tmp.path()).unwrap();
    config.database = DatabaseConfig::postgres(url);
    tessera_server::open(config, t0_clock())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn an_unknown_sslmode_is_refused_naming_it() {
    let Some(c) = cluster() else { return };
    let url = with_password(&with_query(&c.admin, "sslmode=verify_full"));
    // By the configuration check, before anything connects...
    let mut config = config_in(tempfile::tempdir().unwrap().path()).unwrap();
    config.database = DatabaseConfig::postgres(url.clone());
    let e = config.validate().unwrap_err().to_string();
    assert!(
        e.contains("database.url") && e.contains("sslmode `verify_full`"),
        "{e}"
    );
    assert!(!e.contains(PASSWORD), "{e}");
    // ...and by the pool.
    let e = Pg::connect(&url, PoolOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("sslmode `verify_full`"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");
    // verify-ca without a CA file would trust anyone's certificate: refused.
    let e = Pg::connect(
        &with_query(&c.admin, "sslmode=verify-ca"),
        PoolOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("verify-ca needs sslrootcert"), "{e}");
}

#[test]
fn a_unix_socket_has_no_tls_whatever_sslmode_says() {
    let Some(c) = cluster() else { return };
    let (Ok(dir), Ok(port), Ok(user)) = (
        std::env::var("PGHOST"),
        std::env::var("PGPORT"),
        std::env::var("PGUSER"),
    ) else {
        return;
    };
    if !dir.starts_with('/') {
        return;
    }
    let db = dbname(&c.fresh());
    for mode in ["", " sslmode=verify-full", " sslmode=require"] {
        let kv = format!("host={dir} port={port} user={user} dbname={db}{mode}");
        assert_eq!(pool_ssl(&kv), Ok(false), "{kv}");
    }
}

#[tokio::test]
async fn a_server_on_a_tls_url_serves_and_every_connection_is_encrypted() {
    let Some(c) = cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = c.fresh();
    let mut config = config_in(tmp.path()).unwrap();
    config.database = DatabaseConfig::postgres(db.clone());
    let s = Server::start_in(config, t0_clock(), None).await;
    let id = s.create_user("over-tls", None).await;
    assert!(!id.is_empty());
    assert_eq!(
        s.call(Method::GET, "/readyz", None, None).await.status(),
        reqwest::StatusCode::OK
    );

    // Every session of the server on its database, the LISTEN one included, is encrypted.
    let name = dbname(&db);
    let admin = with_query(&c.admin, &verify_full(&c.ca));
    let sessions = |only_listen: bool| {
        let filter = if only_listen {
            " AND a.query LIKE 'LISTEN%'"
        } else {
            ""
        };
        psql(
            &admin,
            &format!(
                "SELECT count(*) || ' ' || coalesce(bool_and(s.ssl), false)
                   FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                  WHERE a.datname = '{name}'{filter}"
            ),
        )
        .trim()
        .to_owned()
    };
    let mut listen = String::new();
    for _ in 0..100 {
        listen = sessions(true);
        if listen == "1 true" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listen, "1 true", "the LISTEN connection, encrypted");
    let all = sessions(false);
    assert!(all.ends_with(" true") && !all.starts_with("0 "), "{all}");
}

/// Runs the binary's admin command `args` on `url` with `env`.
fn admin(url: &str, key: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("admin")
        .args(args)
        .args(["--database", url, "--key-file"])
        .arg(key)
        .env_remove("TESSERA_SERVER_MASTER_KEY")
        .env_remove("SSL_CERT_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn backups_speak_tls_as_the_url_says() {
    let Some(c) = cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = c.fresh();
    drop(Pg::connect(&db, PoolOptions::default()).unwrap());

    // verify-full with the CA: pg_dump verifies it and the dump reads back.
    let dump = tmp.path().join("a.dump");
    let d = pg::backup::backup(&db, &dump).unwrap();
    assert!(d.schema_version > 0);

    // Another CA: pg_dump (OpenSSL) refuses the server's certificate.
    let other_dir = tmp.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = other_ca(&other_dir);
    let e = pg::backup::backup(
        &with_password(&with_query(&db, &verify_full(&other))),
        &tmp.path().join("b.dump"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("pg_dump") && e.contains("certificate verify failed"),
        "{e}"
    );
    assert!(!e.contains(PASSWORD), "{e}");

    // Without sslrootcert, verify-full trusts the system bundle, which SSL_CERT_FILE names: the
    // server's pool and pg_dump both take the cluster's CA from there.
    let key = tmp.path().join("master.key");
    let bare = with_query(&db, "sslmode=verify-full");
    let ssl_cert_file = [("SSL_CERT_FILE", c.ca.as_path())];
    let out = admin(
        &bare,
        &key,
        &["token", "create", "--scopes", "read:users"],
        &ssl_cert_file,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let to = tmp.path().join("c.dump").display().to_string();
    let out = admin(&bare, &key, &["backup", "--to", &to], &ssl_cert_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without it, the distribution's bundle does not know the test CA.
    let out = admin(
        &bare,
        &key,
        &["token", "create", "--scopes", "read:users"],
        &[],
    );
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("UnknownIssuer"), "{e}");
}
