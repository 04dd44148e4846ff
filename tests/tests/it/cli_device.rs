//! The `tessera device` simulator (the CLI binary) against the whole server: enroll from the
//! server's link, approve a push by transaction id with the number, answer pushes with
//! `device watch`, and a wrong number that denies.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

use tessera_core::{Clock, SystemClock};
use tessera_e2e::Server;

/// The `tessera` binary `cargo test --workspace` builds beside this test binary.
pub(super) fn tessera_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("tessera");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p tessera-cli` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

pub(super) struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    pub(super) fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "device sim passphrase\n").unwrap();
        Cli { dir }
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(tessera_bin());
        c.arg("--vault")
            .arg(self.dir.path().join("vault.sqlite3"))
            .arg("--passphrase-file")
            .arg(self.dir.path().join("pass"))
            .args(args);
        c
    }
    pub(super) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
}

pub(super) fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "tessera failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

async fn push(s: &Server, user: &str) -> Value {
    let admin = s.admin.clone();
    let (st, p) = s
        .call(
            reqwest::Method::POST,
            "/api/v1/push",
            Some(&admin),
            Some(json!({"user": user, "context": {"application": "Payroll"}})),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{p}");
    p
}

async fn outcome(s: &Server, tx: &str) -> Value {
    let admin = s.admin.clone();
    s.call(
        reqwest::Method::GET,
        &format!("/api/v1/push/{tx}"),
        Some(&admin),
        None,
    )
    .await
    .unwrap()
    .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_simulator_enrolls_approves_watches_and_denies() {
    let s = Server::bare(&[]).await.unwrap();
    // The CLI signs its requests with the system clock: run the server's clock at real time.
    s.clock.set(SystemClock.now_unix());
    s.user_requiring_mfa("dana", "correct horse battery")
        .await
        .unwrap();
    let admin = s.admin.clone();
    let (st, offer) = s
        .call(
            reqwest::Method::POST,
            "/device/v1/enroll/offers",
            Some(&admin),
            Some(json!({"user": "dana"})),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{offer}");
    let link = offer["link"].as_str().unwrap().to_owned();

    let cli = Cli::new();
    // (Blocking calls are fine here: the server runs on its own thread and runtime.)
    let out = cli.run(&["device", "enroll", &link, "--json", "--name", "ci-runner"]);
    let enrolled: Value = serde_json::from_str(ok(&out).trim()).unwrap();
    assert_eq!(enrolled["origin"], s.origin);
    // The enrollment credential is single-use.
    let again = Cli::new().run(&["device", "enroll", &link]);
    assert!(!again.status.success());

    let list: Value =
        serde_json::from_str(ok(&cli.run(&["device", "list", "--json"])).trim()).unwrap();
    assert_eq!(list[0]["device_id"], enrolled["device_id"]);

    // Approve by transaction id with the number shown on the sign-in screen.
    let p = push(&s, "dana").await;
    let tx = p["transaction_id"].as_str().unwrap().to_owned();
    let number = p["number"].as_u64().unwrap().to_string();
    let o = cli.run(&["device", "approve", &tx, "--number", &number]);
    ok(&o);
    assert_eq!(outcome(&s, &tx).await["state"], "approved");

    // A wrong number denies.
    let p = push(&s, "dana").await;
    let tx = p["transaction_id"].as_str().unwrap().to_owned();
    // Numbers are 10–99: a wrong one that stays in range.
    let n = p["number"].as_u64().unwrap();
    let wrong = if n == 99 { 98 } else { n + 1 }.to_string();
    let o = cli.run(&["device", "approve", &tx, "--number", &wrong]);
    let st = outcome(&s, &tx).await;
    assert_eq!(
        st["state"],
        "denied",
        "{st}; the CLI said: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    // `device watch --deny` answers the next push as it arrives.
    let watch = cli
        .cmd(&[
            "device",
            "watch",
            "--deny",
            "--count",
            "1",
            "--timeout",
            "30",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let p = push(&s, "dana").await;
    let tx = p["transaction_id"].as_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || watch.wait_with_output().unwrap())
        .await
        .unwrap();
    let text = ok(&out);
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == "challenge"
            && e["transaction_id"] == tx.as_str()
            && e["application"] == "Payroll"),
        "{text}"
    );
    assert!(events.iter().any(|e| e["event"] == "answered"), "{text}");
    assert_eq!(outcome(&s, &tx).await["state"], "denied");
}
