//! Runs the real `tessera` binary against a vault in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.out.status.success()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(
            self.ok(),
            "tessera failed: {}\nstdout: {}",
            self.stderr(),
            self.stdout()
        );
        self
    }
    #[track_caller]
    pub fn failure(self) -> Self {
        assert!(
            !self.ok(),
            "tessera should have failed; stdout: {}",
            self.stdout()
        );
        let stderr = self.stderr();
        // Warnings may come first; the error itself is exactly one line.
        let err: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("tessera: warning: "))
            .collect();
        assert!(
            err.len() == 1 && err[0].starts_with("tessera: error: "),
            "an error is one line naming what is wrong, got: {err:?}"
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout().trim()).unwrap()
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tessera")
}

impl Env {
    /// A vault unlocked by a passphrase file (no keyring needed).
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "correct horse battery staple\n").unwrap();
        Env { dir }
    }

    pub fn vault(&self) -> PathBuf {
        self.dir.path().join("vault.sqlite3")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.env_remove("TESSERA_VAULT")
            .env_remove("TESSERA_PASSPHRASE_FILE")
            .arg("--vault")
            .arg(self.vault())
            .arg("--passphrase-file")
            .arg(self.dir.path().join("pass"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run {
            out: self.cmd().args(args).output().unwrap(),
        }
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Run {
            out: child.wait_with_output().unwrap(),
        }
    }

    /// `list --json` as (issuer, name) pairs: what a user would see.
    pub fn accounts(&self) -> Vec<(String, String)> {
        let run = self.run(&["list", "--json"]).success();
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["issuer"].as_str().unwrap().to_owned(),
                    a["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// Fails loudly when an independent tool the test relies on is missing.
pub fn require_tool(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is needed for this cross-check: apt-get install {package}"
    );
}

pub fn file_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}
