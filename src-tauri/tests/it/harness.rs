//! A mock-runtime app over a temporary directory, and calls through its IPC.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;
use tessera_desktop::config::Paths;

pub struct App {
    pub app: tauri::App<MockRuntime>,
    pub webview: WebviewWindow<MockRuntime>,
    pub dir: tempfile::TempDir,
}

impl App {
    /// A fresh app: no vault, no policy, no settings.
    pub fn new() -> App {
        App::with_policy(None)
    }

    /// A fresh app with this policy file.
    pub fn with_policy(policy: Option<&str>) -> App {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        if let Some(p) = policy {
            std::fs::write(&paths.policy, p).unwrap();
        }
        App::at(dir, paths)
    }

    /// An app over an existing directory (a restart).
    pub fn at(dir: tempfile::TempDir, paths: Paths) -> App {
        let app = tessera_desktop::register(mock_builder(), paths, false)
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        App { app, webview, dir }
    }

    /// Closes this app and opens another over the same files.
    pub fn restart(self) -> App {
        let App { app, webview, dir } = self;
        drop(webview);
        drop(app);
        let paths = Paths::under(dir.path());
        App::at(dir, paths)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn vault_path(&self) -> PathBuf {
        Paths::under(self.dir.path()).vault
    }

    /// Invokes a command as the UI does; the error side is the `{code, message}` object.
    pub fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        tauri::test::get_ipc_response(&self.webview, request)
            .map(|b| b.deserialize::<Value>().unwrap())
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args.clone())
            .unwrap_or_else(|e| panic!("{cmd}({args}) failed: {e}"))
    }

    /// The error code of a call that must fail.
    pub fn err(&self, cmd: &str, args: Value) -> (String, String) {
        match self.call(cmd, args.clone()) {
            Ok(v) => panic!("{cmd}({args}) succeeded with {v}, expected an error"),
            Err(e) => (
                e["code"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            ),
        }
    }

    /// A new passphrase vault, unlocked.
    pub fn unlocked() -> App {
        let app = App::new();
        app.ok("create_vault", json!({"passphrase": PASS}));
        app
    }

    pub fn accounts(&self) -> Vec<Value> {
        self.ok("list_accounts", json!({}))["accounts"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn account(&self, issuer: &str) -> Value {
        self.accounts()
            .into_iter()
            .find(|a| a["issuer"] == issuer)
            .unwrap_or_else(|| panic!("no account of {issuer}"))
    }
}

pub const PASS: &str = "correct horse battery staple";

/// `oathtool --totp` at a given time.
pub fn oathtool_totp(
    secret_b32: &str,
    algorithm: &str,
    digits: u8,
    period: u32,
    at: u64,
) -> String {
    let out = Command::new("oathtool")
        .arg(format!("--totp={algorithm}"))
        .arg("-b")
        .arg(format!("--digits={digits}"))
        .arg(format!("--time-step-size={period}s"))
        .arg(format!("--now=@{at}"))
        .arg(secret_b32)
        .output()
        .expect("oathtool (Debian package oathtool) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A PNG of `text` made by `qrencode`.
pub fn qrencode(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let st = Command::new("qrencode")
        .args(["-s", "6", "-o"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("qrencode (Debian package qrencode) must be installed");
    assert!(st.success());
    path
}
