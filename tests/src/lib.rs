//! tessera-e2e: the harness of the end-to-end tests (`tests/`) and the push benchmarks
//! (`benches/`): a server in this process ([`server`]) or several server processes on one
//! database ([`instances`]), with the calls the tests make to them. Both start the server through
//! `tessera_server::testing` — the production wiring, as the `tessera-server` binary does, never
//! a test double of it.

pub mod browser;
pub mod instances;
pub mod server;

pub use server::{code, Browser, Rp, Server, START};

/// Removes `dir` once this test binary has exited, however it ends: for what a `static`
/// holds for the whole binary (statics are never dropped). A shell waits for its standard input
/// — a pipe this process holds — to close, then removes the directory.
pub fn remove_at_exit(dir: &std::path::Path) -> anyhow::Result<()> {
    static HELD: std::sync::Mutex<Vec<(std::process::Child, std::process::ChildStdin)>> =
        std::sync::Mutex::new(Vec::new());
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"cat >/dev/null; rm -rf -- "$0""#)
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("the shell's stdin"))?;
    HELD.lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .push((child, stdin));
    Ok(())
}

/// The 6-digit SHA-1 TOTP code of `secret_b32` (30-second steps) at unix time `at`, from
/// `oathtool` (Debian's `oathtool`): an implementation independent of the server's.
pub fn oathtool(secret_b32: &str, at: u64) -> anyhow::Result<String> {
    let out = std::process::Command::new("oathtool")
        .args(["--totp=sha1", "-d", "6", "-s", "30s", "--now"])
        .arg(format!("@{at}"))
        .args(["-b", secret_b32])
        .output()
        .map_err(|e| anyhow::anyhow!("oathtool (apt-get install oathtool): {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// Helpers of the benches: positional arguments and percentiles.
pub mod bench {
    use std::time::Duration;

    /// The `n`-th positional argument (flags skipped) as a number, or `default`.
    pub fn arg(n: usize, default: usize) -> usize {
        std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .nth(n)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    }

    /// The `p` quantile (0–1) of a sorted, non-empty sample, in milliseconds.
    pub fn pct(sorted: &[Duration], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        // Bench sample sizes are far below 2^52: the float index is exact enough.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted
            .get(i.min(sorted.len() - 1))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }
}
