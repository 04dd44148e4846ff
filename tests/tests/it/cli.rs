//! The `tessera device …` simulator (the real CLI binary) against a real server: enroll from a
//! QR image, watch, approve, QR login, remove.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use tessera_core::device::wire::PushState;
use tessera_core::{Clock, SystemClock};

use tessera_e2e::{Browser, Server};

fn tessera_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("tessera");
    let ok = Command::new(&bin)
        .args(["device", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then_some(bin)
}

struct Cli {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Cli {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env_remove("TESSERA_VAULT")
            .env_remove("TESSERA_PASSPHRASE_FILE")
            .arg("--vault")
            .arg(self.dir.path().join("vault.sqlite3"))
            .arg("--passphrase-file")
            .arg(self.dir.path().join("pass"));
        c
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.cmd().args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_simulator_enrolls_from_a_qr_watches_approves_and_logs_in() {
    let bin = tessera_bin().expect(
        "the tessera binary is built by `cargo test --workspace` (or `cargo build -p tessera-cli`)",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pass"), "correct horse battery staple\n").unwrap();
    let cli = Cli { bin, dir };
    // The CLI signs requests with the system clock: run the server's clock at real time.
    let server = Server::start().await.unwrap();
    server.clock.set(SystemClock.now_unix());

    // Enroll from a QR image made by an independent encoder (qrencode), when installed.
    let offer = server.offer("alice").await.unwrap();
    let png = cli.dir.path().join("enroll.png");
    let qrencoded = Command::new("qrencode")
        .arg("-o")
        .arg(&png)
        .arg(&offer.link)
        .status()
        .is_ok_and(|s| s.success());
    let (ok, out, err) = if qrencoded {
        cli.run(&[
            "device",
            "enroll",
            "--qr",
            png.to_str().unwrap(),
            "--name",
            "sim",
            "--json",
        ])
    } else {
        cli.run(&["device", "enroll", &offer.link, "--name", "sim", "--json"])
    };
    assert!(ok, "{err}");
    let enrolled: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let device_id = enrolled["device_id"].as_str().unwrap().to_owned();
    assert_eq!(enrolled["paired_totp"], true, "{out}");
    let (ok, accounts, _) = cli.run(&["list", "--json"]);
    assert!(ok);
    assert!(
        accounts.contains("\"type\":\"totp\""),
        "the paired TOTP is in the vault: {accounts}"
    );
    let (ok, out, _) = cli.run(&["device", "list", "--json"]);
    assert!(ok);
    assert!(out.contains(&device_id));
    // The same link a second time: single use.
    let (ok, _, err) = cli.run(&["device", "enroll", &offer.link]);
    assert!(!ok && err.starts_with("tessera: error: "), "{err}");

    // `watch --number N` answers the next push as it arrives.
    let rp = server.rp();
    let watch = cli
        .cmd()
        .args([
            "device",
            "watch",
            "--json",
            "--count",
            "1",
            "--timeout",
            "30",
            "--number",
        ])
        .arg("0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until its stream is up (the challenge would be delivered on connect anyway).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let push = rp.push("alice").await.unwrap();
    let out = tokio::task::spawn_blocking(move || watch.wait_with_output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains(&push.transaction_id), "{text}");
    assert!(text.contains("\"event\":\"answered\""), "{text}");
    let st = rp.status(&push.transaction_id, 0).await.unwrap();
    assert_eq!(
        (st.state, st.reason.as_deref()),
        (PushState::Denied, Some("wrong_number")),
        "0 is never the number"
    );

    // `approve <tx> --number N`.
    let push = rp.push("alice").await.unwrap();
    let (ok, out, err) = cli.run(&[
        "device",
        "approve",
        &push.transaction_id,
        "--number",
        &push.number.to_string(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("approved"), "{out}");
    assert_eq!(
        rp.status(&push.transaction_id, 0).await.unwrap().state,
        PushState::Approved
    );

    // `qr-login <link>` for a browser's session.
    let mut browser = Browser::new(&server.origin);
    let (_, session) = browser
        .send(reqwest::Method::POST, "/qr-login/sessions")
        .await
        .unwrap();
    let (ok, _, err) = cli.run(&["device", "qr-login", session["link"].as_str().unwrap()]);
    assert!(ok, "{err}");
    let lsi = session["lsi"].as_str().unwrap();
    let (s, _) = browser
        .send(
            reqwest::Method::POST,
            &format!("/qr-login/sessions/{lsi}/redeem"),
        )
        .await
        .unwrap();
    assert_eq!(s, 200);

    // `remove` unenrolls from the server too.
    let (ok, _, err) = cli.run(&["device", "remove", &device_id]);
    assert!(ok, "{err}");
    let list = rp.get_json("/api/v1/users/alice/devices").await.unwrap();
    assert_eq!(list, serde_json::json!([]));
}
