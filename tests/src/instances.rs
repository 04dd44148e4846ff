//! Several `tessera-server` processes on one PostgreSQL database, as an operator runs them
//! behind a load balancer: the real binary, a `server.toml` each, one shared master key (the
//! first through `key_file`, the others through `TESSERA_SERVER_MASTER_KEY`), and one public
//! device origin (the first instance's address stands for the load balancer's).
//!
//! The PostgreSQL server comes from `TESSERA_TEST_DATABASE_URL` (scripts/pg-cluster.sh starts a
//! private one; scripts/test.sh does it for every run); each [`Instances`] gets a new database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// The variable naming the PostgreSQL server tests may create databases on.
pub const PG_ENV: &str = "TESSERA_TEST_DATABASE_URL";

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

/// A new empty database on the test server; its connection string.
pub fn fresh_database(admin_url: &str) -> Result<String> {
    let name = format!(
        "e2e_{}",
        tessera_server::crypto::random_id("")
            .map_err(|e| anyhow!("{e}"))?
            .to_lowercase()
    );
    tessera_server::store::pg::create_database(admin_url, &name).map_err(|e| anyhow!("{e}"))
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

/// One running process.
#[derive(Debug)]
pub struct Instance {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
}

impl Instance {
    /// Kills the process with SIGKILL (no drain, no goodbye) and reaps it.
    pub fn kill(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Instances on one database.
#[derive(Debug)]
pub struct Instances {
    /// The processes, the first one's address being the device origin.
    pub nodes: Vec<Instance>,
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
        let database = fresh_database(&admin_url)?;
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
            let mut cmd = Command::new(&bin);
            cmd.arg("--config")
                .arg(&config)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .env_remove(tessera_server::config::MASTER_KEY_ENV);
            if i > 0 {
                // The same key, handed over as a secret store would.
                let key = std::fs::read(&key_file).context("the first instance's key file")?;
                cmd.env(
                    tessera_server::config::MASTER_KEY_ENV,
                    data_encoding::HEXLOWER.encode(&key),
                );
            }
            let mut child = cmd.spawn().context("start tessera-server")?;
            let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                let mut token_next = false;
                let mut token = None;
                while let Some(Ok(line)) = lines.next() {
                    if token_next {
                        token = Some(line.trim().to_owned());
                        token_next = false;
                    } else if line.starts_with("First admin token") {
                        token_next = true;
                    } else if line.starts_with("tessera-server listening on") {
                        continue;
                    } else if line.starts_with("Create a management token") {
                        let _ = tx.send(None);
                        break;
                    }
                    if token.is_some() {
                        let _ = tx.send(token.take());
                        break;
                    }
                }
                // Keep draining so the process never blocks on a full pipe.
                for _ in lines {}
            });
            let printed = rx
                .recv_timeout(Duration::from_secs(60))
                .with_context(|| format!("instance {i} did not start"))?;
            if let Some(t) = printed {
                admin = Some(t);
            }
            nodes.push(Instance {
                url: format!("http://127.0.0.1:{port}"),
                child,
            });
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
