//! Several `tessera-server` processes on one PostgreSQL database, as an operator runs them
//! behind a load balancer: the real binary, a `server.toml` each, one shared master key (the
//! first through `key_file`, the others through `TESSERA_SERVER_MASTER_KEY`), and one public
//! device origin (the first instance's address stands for the load balancer's).
//!
//! The PostgreSQL server comes from `TESSERA_TEST_DATABASE_URL` (scripts/pg-cluster.sh starts a
//! private one; scripts/test.sh does it for every run); each [`Instances`] gets a new database.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use tessera_server::config::MASTER_KEY_ENV;
use tessera_server::testing::{fresh_pg_database, ServerProcess, PG_ENV};

/// The PostgreSQL server for tests: `Ok(None)` when not configured outside CI (the test is
/// skipped with a note); under `CI=true` a missing server is a failure.
pub fn pg_admin_url() -> Result<Option<String>> {
    match std::env::var(PG_ENV) {
        Ok(u) => Ok(Some(u)),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            bail!(
                "{PG_ENV} is not set: scripts/test.sh starts a PostgreSQL cluster for these tests"
            )
        }
        Err(_) => {
            eprintln!("skipped: set {PG_ENV} (scripts/pg-cluster.sh start DIR) to run it");
            Ok(None)
        }
    }
}

/// The `tessera-server` binary beside the running test or bench binary
/// (`target/<profile>/tessera-server`; `cargo test --workspace` builds it).
pub fn server_bin() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("TESSERA_SERVER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("no target directory above {}", exe.display()))?;
    let bin = dir.join("tessera-server");
    if !bin.is_file() {
        bail!(
            "{} is missing: run `cargo build -p tessera-server` (cargo test --workspace builds it)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Instances on one database.
#[derive(Debug)]
pub struct Instances {
    /// The processes, the first one's address being the device origin.
    pub nodes: Vec<ServerProcess>,
    /// The first admin token (printed by the first instance on the new database).
    pub admin: String,
    /// The database's connection string.
    pub database: String,
    _dir: tempfile::TempDir,
}

/// A free loopback port (bound and released; the instance binds it right after).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Instances {
    /// Starts `n` instances on a new database of the test server; `extra` is appended to every
    /// `server.toml` (sections included). `Ok(None)` when no PostgreSQL is configured.
    pub fn start(n: usize, extra: &str) -> Result<Option<Instances>> {
        let Some(admin_url) = pg_admin_url()? else {
            return Ok(None);
        };
        let database = fresh_pg_database(&admin_url)?;
        Self::start_on(&database, n, extra, None).map(Some)
    }

    /// Starts `n` instances on `database`; the device origin is `origin` (a load balancer in
    /// front of them) or the first instance's address.
    pub fn start_on(
        database: &str,
        n: usize,
        extra: &str,
        origin: Option<&str>,
    ) -> Result<Instances> {
        let bin = server_bin()?;
        let dir = tempfile::tempdir()?;
        let key_file = dir.path().join("master.key");
        let ports = (0..n).map(|_| free_port()).collect::<Result<Vec<_>>>()?;
        let origin = match origin {
            Some(o) => o.to_owned(),
            None => format!(
                "http://127.0.0.1:{}",
                ports.first().ok_or_else(|| anyhow!("no instance"))?
            ),
        };
        let mut nodes = Vec::new();
        let mut admin = None;
        for (i, port) in ports.iter().enumerate() {
            let mut text = format!(
                "listen = \"127.0.0.1:{port}\"\nlog = \"warn\"\n[database]\nurl = {}\n",
                serde_json::to_string(database)?
            );
            if i == 0 {
                text = format!(
                    "key_file = {}\n{text}",
                    serde_json::to_string(&key_file.to_string_lossy())?
                );
            }
            text.push_str(&format!("[device]\norigin = \"{origin}\"\n"));
            text.push_str(extra);
            let config = dir.path().join(format!("server-{i}.toml"));
            std::fs::write(&config, text)?;
            let mut cmd = ServerProcess::command(&bin);
            cmd.arg("--config").arg(&config);
            if i > 0 {
                // The same key, handed over as a secret store would.
                let key = std::fs::read(&key_file).context("the first instance's key file")?;
                cmd.env(MASTER_KEY_ENV, data_encoding::HEXLOWER.encode(&key));
            }
            let node = ServerProcess::spawn(&mut cmd).with_context(|| format!("instance {i}"))?;
            admin = node.first_admin.clone().or(admin);
            nodes.push(node);
        }
        Ok(Instances {
            nodes,
            admin: admin.ok_or_else(|| anyhow!("no instance printed the first admin token"))?,
            database: database.to_owned(),
            _dir: dir,
        })
    }
}

/// A TCP load balancer in front of instances, on loopback: each new connection goes to the
/// backend [`Balancer::route`] names at that moment (a test or bench decides which instance a
/// device's connections reach while every device sees one origin).
#[derive(Debug, Clone)]
pub struct Balancer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    route: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Balancer {
    /// Listens on a free loopback port (call inside a tokio runtime); backends are set later
    /// through the returned sender (the instances need the balancer's address first).
    pub async fn start() -> Result<(Balancer, tokio::sync::watch::Sender<Vec<String>>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let route = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::watch::channel(Vec::<String>::new());
        let r = std::sync::Arc::clone(&route);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let backends = rx.borrow().clone();
                if backends.is_empty() {
                    continue;
                }
                let i = r.load(std::sync::atomic::Ordering::SeqCst) % backends.len();
                let Some(addr) = backends.get(i).cloned() else {
                    continue;
                };
                tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(addr).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        });
        Ok((Balancer { url, route }, tx))
    }

    /// Sends new connections to backend `i` (modulo their number).
    pub fn route(&self, i: usize) {
        self.route.store(i, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `host:port` of an `http://host:port` URL (a balancer backend).
pub fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}
