//! Starting tessera-server for tests: the one in-process starter and the one process starter
//! that both test suites (this crate's `tests/`, and tessera-e2e with its benches) build their
//! harnesses on, and the per-test configuration they share. Behind the `testing` feature, which
//! only the test suites turn on (`cargo build -p tessera-server` and releases leave it out).
//!
//! - [`InProcess`]: [`bind`](crate::bind), [`open`](crate::open) and [`run`](crate::run), wired
//!   as the binary wires them, on a runtime of its own thread. [`InProcess::stop`] drops that
//!   runtime with every connection, as a killed process's; [`InProcess::shutdown`] drains, as
//!   SIGTERM does.
//! - [`ServerProcess`]: a `tessera-server` binary as a child process, ready once it has printed
//!   where it listens; SIGKILLed by [`ServerProcess::kill`] (crash tests) and on drop.
//! - [`config_in`], [`sqlite_config_in`], [`fresh_pg_database`]: a database of its own for each
//!   test — a SQLite file, or a new PostgreSQL database when [`PG_ENV`] names a server.
//!
//! The clock tests move is [`tessera_core::ManualClock`].

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tessera_core::Clock;
use tokio::sync::oneshot;

use crate::config::{DatabaseConfig, ENV_PREFIX};
use crate::{AppState, Config};

/// The PostgreSQL server tests create their databases on instead of using SQLite, when set
/// (scripts/test.sh runs the suites once on each engine; scripts/pg-cluster.sh starts a private
/// cluster).
pub const PG_ENV: &str = "TESSERA_TEST_DATABASE_URL";

/// How long a server may take to listen: a hang, not a speed target.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Why a test server did not start (or stop) as asked.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The server refused to start ([`crate::bind`], [`crate::open`]): its own error.
    #[error(transparent)]
    Server(#[from] crate::Error),
    /// The process ended before it listened: what it wrote (its log and its error).
    #[error("tessera-server ended before it listened: {0}")]
    Exited(String),
    /// Around the server: spawning it, a runtime or a pipe for it, a start or a drain that did
    /// not finish in time.
    #[error("{0}")]
    Harness(String),
}

/// A test configuration: defaults, listening on a free loopback port, the master key file in
/// `dir`, and a new database — a SQLite file in `dir`, or a new PostgreSQL database when
/// [`PG_ENV`] is set.
pub fn config_in(dir: &Path) -> crate::Result<Config> {
    let database = match std::env::var(PG_ENV) {
        Ok(admin) => DatabaseConfig::postgres(fresh_pg_database(&admin)?),
        Err(_) => DatabaseConfig::sqlite(dir.join("tessera.db")),
    };
    Ok(Config {
        database,
        ..sqlite_config_in(dir)
    })
}

/// [`config_in`] on a SQLite file whatever the engine of the run (tests of the file itself).
pub fn sqlite_config_in(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".to_owned(),
        database: DatabaseConfig::sqlite(dir.join("tessera.db")),
        key_file: Some(dir.join("master.key")),
        ..Config::default()
    }
}

/// A new, empty database on the PostgreSQL server at `admin_url`; its connection string.
pub fn fresh_pg_database(admin_url: &str) -> crate::Result<String> {
    let name = format!("t_{}", crate::crypto::random_id("")?.to_lowercase());
    crate::store::pg::create_database(admin_url, &name)
}

/// A server running in this process (stopped on drop).
#[derive(Debug)]
pub struct InProcess {
    /// `http://` (or `https://` with `http.tls_cert`) and the address it listens on.
    pub url: String,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The configuration it serves. After [`InProcess::start`] on loopback, `device.origin` is
    /// [`InProcess::url`] unless the configuration named one ([`crate::bind`]).
    pub config: Config,
    /// The first admin token, when [`InProcess::start`] created the database.
    pub first_admin: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    drain: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What [`InProcess`] serves: a configuration to open, or a state the test opened itself.
enum Serve {
    // Boxed: a configuration is far larger than a state (one pointer).
    Open(Box<Config>, Arc<dyn Clock>),
    State(AppState),
}

/// A server's start as the starting thread reports it.
type Ready = Result<(SocketAddr, Config, Option<String>), StartError>;

impl InProcess {
    /// Starts the server as the binary does: binds `config.listen`, opens the database and the
    /// key named by `config` with `clock`, and serves.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<InProcess, StartError> {
        Self::launch(Serve::Open(Box::new(config), clock)).await
    }

    /// Serves a state the test opened itself (to keep a handle on its stores, or to run two
    /// states on one database) on a free loopback port.
    pub async fn serve(state: AppState) -> Result<InProcess, StartError> {
        Self::launch(Serve::State(state)).await
    }

    async fn launch(serve: Serve) -> Result<InProcess, StartError> {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        // The graceful shutdown, as SIGTERM gives the binary (`run`'s shutdown future).
        let (drain_tx, drain_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel::<Ready>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(StartError::Harness(format!("a runtime: {e}"))));
                    return;
                }
            };
            rt.block_on(async move {
                let (listener, state, first) = match opened(serve).await {
                    Ok(o) => o,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let addr = match listener.local_addr() {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StartError::Harness(format!("address: {e}"))));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((addr, state.file_config().clone(), first)));
                tokio::select! {
                    served = crate::run(listener, state, async move {
                        let _ = drain_rx.await;
                    }) => {
                        if let Err(e) = served {
                            eprintln!("tessera-server stopped: {e}");
                        }
                    }
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime cancels every connection task: a hard stop.
            drop(rt);
        });
        let (addr, config, first_admin) = tokio::time::timeout(START_LIMIT, ready_rx)
            .await
            .map_err(|_| StartError::Harness(format!("no start within {START_LIMIT:?}")))?
            .map_err(|_| {
                StartError::Harness("the server thread ended before it was ready".into())
            })??;
        let scheme = if config.http.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        Ok(InProcess {
            url: format!("{scheme}://{addr}"),
            addr,
            config,
            first_admin,
            stop: Some(stop_tx),
            drain: Some(drain_tx),
            thread: Some(thread),
        })
    }

    /// Stops the server at once: its runtime is dropped with every connection, as a killed
    /// process's (what was committed stays; nothing drains).
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Shuts the server down gracefully, as SIGTERM does the binary: `run` stops accepting,
    /// drains and returns. Fails if it has not returned within `limit` (the drain waits for
    /// requests in flight only).
    pub async fn shutdown(&mut self, limit: Duration) -> Result<(), StartError> {
        if let Some(d) = self.drain.take() {
            let _ = d.send(());
        }
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + limit;
        while !thread.is_finished() {
            if tokio::time::Instant::now() >= deadline {
                self.thread = Some(thread);
                return Err(StartError::Harness(format!(
                    "the server did not finish its graceful shutdown within {limit:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = thread.join();
        self.stop = None;
        Ok(())
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The listener, the state and the first admin token of `serve`, on the server's runtime.
async fn opened(
    serve: Serve,
) -> Result<(tokio::net::TcpListener, AppState, Option<String>), StartError> {
    match serve {
        Serve::Open(mut config, clock) => {
            let listener = crate::bind(&mut config).await?;
            let (state, first) = crate::open(*config, clock)?;
            Ok((listener, state, first))
        }
        Serve::State(state) => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| StartError::Harness(format!("bind 127.0.0.1:0: {e}")))?;
            Ok((listener, state, None))
        }
    }
}

/// A `tessera-server` process (killed on drop). What it writes besides its start lines (its
/// log, its errors) is kept, and printed when a failing test drops it.
#[derive(Debug)]
pub struct ServerProcess {
    /// Where it said it listens (`http://127.0.0.1:<port>`).
    pub url: String,
    /// The first admin token, when this start printed one.
    pub first_admin: Option<String>,
    child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Where it listens, and the first admin token if it printed one.
type Banner = (String, Option<String>);

impl ServerProcess {
    /// What it has written besides its start lines (its log and errors), so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// The server binary at `bin` as tests run it: logging at `warn`, and none of the
    /// `TESSERA_SERVER_*` settings of the environment the tests run in (the master key, or
    /// `TESSERA_SERVER_BIN` naming the binary, which the server would refuse as an unknown
    /// setting). Add `--config`, `--listen`, `--database` or
    /// [`MASTER_KEY_ENV`](crate::config::MASTER_KEY_ENV) to it.
    pub fn command(bin: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(bin);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with(ENV_PREFIX) {
                cmd.env_remove(name);
            }
        }
        cmd.env("TESSERA_SERVER_LOG", "warn");
        cmd
    }

    /// Starts `cmd` (made by [`ServerProcess::command`]) and waits until it prints where it
    /// listens and whether it created the first admin token. [`StartError::Exited`] with what
    /// it wrote when it stops instead.
    pub fn spawn(cmd: &mut Command) -> Result<ServerProcess, StartError> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| StartError::Harness(format!("cannot start tessera-server: {e}")))?;
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            let kept = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    keep(&kept, &line);
                }
            }));
        }
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let kept = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
                let _ = tx.send(read_banner(&mut lines, &kept));
                // Keep reading so the process never blocks on a full pipe.
                for line in lines {
                    keep(&kept, &line);
                }
            }));
        }
        let banner = rx.recv_timeout(START_LIMIT);
        let mut process = ServerProcess {
            url: String::new(),
            first_admin: None,
            child,
            output,
            readers,
        };
        match banner {
            Ok(Some((url, first_admin))) => {
                process.url = url;
                process.first_admin = first_admin;
                Ok(process)
            }
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(StartError::Exited(process.finish()))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StartError::Harness(format!(
                "tessera-server did not listen within {START_LIMIT:?}; it wrote: {}",
                process.finish()
            ))),
        }
    }

    /// Kills the process with SIGKILL (no drain, no goodbye) and reaps it.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Kills and reaps the process, then returns all it wrote besides its start lines.
    fn finish(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let output = self.finish();
        if std::thread::panicking() && !output.is_empty() {
            eprintln!("tessera-server at {} wrote:\n{output}", self.url);
        }
    }
}

/// Reads a starting server's stdout up to its start lines — `tessera-server listening on
/// <url>`, then `First admin token …:` and the token, or how to create one — keeping the lines
/// around them (log lines go to stdout too). `None` when stdout ends first.
fn read_banner(lines: &mut impl Iterator<Item = String>, kept: &Mutex<String>) -> Option<Banner> {
    let mut url = None;
    let mut token_next = false;
    for line in lines {
        match url.take() {
            Some(u) if token_next => return Some((u, Some(line.trim().to_owned()))),
            Some(u) if line.starts_with("First admin token") => {
                token_next = true;
                url = Some(u);
                continue;
            }
            Some(u) if line.starts_with("Create a management token") => return Some((u, None)),
            Some(u) => url = Some(u),
            None => {
                if let Some(u) = line.strip_prefix("tessera-server listening on ") {
                    url = Some(u.trim().to_owned());
                    continue;
                }
            }
        }
        keep(kept, &line);
    }
    None
}

/// Appends `line` to what a process wrote.
fn keep(kept: &Mutex<String>, line: &str) {
    if let Ok(mut k) = kept.lock() {
        k.push_str(line);
        k.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_banner` over `stdout`: what it found, and the lines it kept.
    fn banner(stdout: &str) -> (Option<Banner>, String) {
        let kept = Mutex::new(String::new());
        let found = read_banner(&mut stdout.lines().map(str::to_owned), &kept);
        (found, kept.into_inner().unwrap())
    }

    #[test]
    fn the_start_lines_are_found_among_log_lines() {
        // The log goes to stdout too: a warning may come first (a PostgreSQL listener closing).
        let (found, kept) = banner(
            "WARN LISTEN failed\n\
             tessera-server listening on http://127.0.0.1:9\n\
             First admin token (shown once; keep it safe, it has every management scope):\n\
             tok_1\n",
        );
        assert_eq!(
            found,
            Some(("http://127.0.0.1:9".to_owned(), Some("tok_1".to_owned())))
        );
        assert_eq!(
            kept, "WARN LISTEN failed\n",
            "the log line is kept, not lost"
        );

        let (found, _) = banner(
            "tessera-server listening on https://127.0.0.1:9\n\
             Create a management token with: tessera-server admin token create --scopes …\n",
        );
        assert_eq!(found, Some(("https://127.0.0.1:9".to_owned(), None)));
        assert_eq!(banner("WARN only a log line\n").0, None, "stdout ended");
        assert_eq!(
            banner("tessera-server listening on http://127.0.0.1:9\n").0,
            None,
            "ended before saying whether it made the first admin token"
        );
    }

    #[test]
    fn a_process_that_stops_before_listening_is_an_error_with_what_it_wrote() {
        let err = ServerProcess::spawn(Command::new("sh").args([
            "-c",
            "echo 'WARN a log line'; echo 'tessera-server: the master key does not open' >&2; exit 2",
        ]))
        .expect_err("it never listened");
        let StartError::Exited(text) = &err else {
            panic!("{err:?}");
        };
        assert!(text.contains("the master key does not open"), "{text}");
        assert!(text.contains("WARN a log line"), "{text}");
    }

    #[test]
    fn a_listening_process_is_ready_and_killed_on_request() {
        let mut p = ServerProcess::spawn(Command::new("sh").args([
            "-c",
            "echo 'tessera-server listening on http://127.0.0.1:9'; \
             echo 'First admin token (shown once):'; echo tok_2; exec sleep 60",
        ]))
        .unwrap();
        assert_eq!(p.url, "http://127.0.0.1:9");
        assert_eq!(p.first_admin.as_deref(), Some("tok_2"));
        assert_eq!(p.child.try_wait().unwrap(), None, "still running");
        p.kill().unwrap();
        assert!(p.child.try_wait().unwrap().is_some(), "killed and reaped");
    }
}

/// A real SMTP server for the email tests: `tests/support/smtp_sink.py` (Debian's
/// `python3-aiosmtpd`) on a free loopback port, storing each mail it accepts as a file of the
/// directory it is given. Stops with this value (its standard input closes, and it is killed).
#[derive(Debug)]
pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    dir: std::path::PathBuf,
    _child: tokio::process::Child,
}

impl SmtpSink {
    /// Starts it, storing mail under `dir` (which the caller keeps); `extra` are the script's
    /// options (`--user U --password P`, `--cert C --key K`).
    pub async fn start(dir: &Path, extra: &[&str]) -> std::io::Result<SmtpSink> {
        use tokio::io::AsyncBufReadExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/smtp_sink.py");
        let mut child = tokio::process::Command::new("/usr/bin/python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut lines = tokio::io::BufReader::new(out).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .map_err(|_| std::io::Error::other("the SMTP server did not start"))??;
        if ready.as_deref() != Some("READY") {
            return Err(std::io::Error::other(
                "the SMTP server did not start (python3-aiosmtpd installed?)",
            ));
        }
        Ok(SmtpSink {
            port,
            dir: dir.to_owned(),
            _child: child,
        })
    }

    /// How many mails it has stored.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                })
                .count()
            })
            .unwrap_or(0)
    }

    /// The `n`-th mail (1-based), waiting up to ten seconds for it, as Python's own email
    /// package parses it: `to`, `from`, `subject`, and the decoded `text` and `html` parts;
    /// `null` when there is no such mail.
    pub async fn mail(&self, n: usize) -> serde_json::Value {
        let path = self.dir.join(format!("{n:04}.eml"));
        for _ in 0..200 {
            if path.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let out = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(
                "import email, json, sys\n\
                 from email import policy\n\
                 m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)\n\
                 print(json.dumps({'to': m['to'], 'from': m['from'], 'subject': m['subject'],\n\
                   'text': m.get_body(('plain',)).get_content(),\n\
                   'html': m.get_body(('html',)).get_content()}))",
            )
            .arg(&path)
            .output();
        match out {
            Ok(out) if out.status.success() => {
                serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
            }
            // A test reading `Null` fails at its first field, with the mail's number.
            _ => serde_json::Value::Null,
        }
    }

    /// The code (the indented line) and the magic link of a code email.
    pub fn code_and_link(mail: &serde_json::Value) -> (String, Option<String>) {
        let text = mail["text"].as_str().unwrap_or_default();
        let code = text
            .lines()
            .find_map(|l| l.strip_prefix("    "))
            .unwrap_or_default()
            .to_owned();
        let link = text
            .lines()
            .find(|l| l.starts_with("http"))
            .map(str::to_owned);
        (code, link)
    }
}
