//! SIGKILL at random instants during writes never breaks the vault nor loses a commit.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{require_tool, Env};

/// A small deterministic PRNG (xorshift64*): reproducible kill times without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn secret_for(i: u32) -> String {
    // Distinct 160-bit secrets: base32 of 20 bytes derived from i.
    let bytes: Vec<u8> = (0..20u32).map(|k| ((i * 31 + k * 7) % 251) as u8).collect();
    data_encoding_base32(&bytes)
}

fn data_encoding_base32(bytes: &[u8]) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buf = 0u64;
    let mut bits = 0;
    for b in bytes {
        buf = (buf << 8) | u64::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHA[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHA[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

#[test]
fn sigkill_during_writes_never_breaks_the_vault_or_loses_a_commit() {
    let env = Env::new();
    env.run(&["init"]).success();

    // How long one `add` takes, so kill times cover every phase (KDF, open, write, commit).
    let t0 = Instant::now();
    env.run(&["add", "--issuer", "Warmup", "--secret", &secret_for(0)])
        .success();
    let typical = t0.elapsed();

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut acknowledged = vec![("Warmup".to_owned(), String::new())];
    let rounds = 40u32;
    let mut killed = 0;
    for i in 1..=rounds {
        let name = format!("n{i}");
        let mut child = env
            .cmd()
            .args([
                "add",
                "--issuer",
                "Crash",
                "--name",
                &name,
                "--secret",
                &secret_for(i),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = typical.mul_f64((rng.next() % 1200) as f64 / 1000.0);
        std::thread::sleep(delay);
        // SIGKILL (kill -9); if it already finished, `kill` fails and wait tells us the result.
        let _ = Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        if status.success() {
            acknowledged.push(("Crash".to_owned(), name));
        } else {
            killed += 1;
        }
    }
    assert!(killed > 0, "the test must actually interrupt some writes");

    // An interrupted import of many accounts leaves all of them or none (one transaction).
    let list: String = (0..300u32)
        .map(|i| {
            format!(
                "otpauth://totp/Bulk:b{i}?secret={}\n",
                secret_for(10_000 + i)
            )
        })
        .collect();
    std::fs::write(env.path("bulk.txt"), &list).unwrap();
    let mut child = env
        .cmd()
        .args(["import", env.path("bulk.txt").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(typical + Duration::from_millis(20));
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    child.wait().unwrap();

    // The vault opens, SQLite finds it intact, and every acknowledged add is there.
    let have = env.accounts();
    for a in &acknowledged {
        assert!(
            have.contains(a),
            "acknowledged account {a:?} was lost; have {have:?}"
        );
    }
    let bulk = have.iter().filter(|(i, _)| i == "Bulk").count();
    assert!(
        bulk == 0 || bulk == 300,
        "import must be all or nothing, found {bulk} of 300"
    );
    // SQLite's own integrity check, by the sqlite3 program (not our code).
    require_tool("sqlite3", "sqlite3");
    let out = Command::new("sqlite3")
        .arg(env.vault())
        .arg("PRAGMA integrity_check;")
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}
